/* Growable arrays (array_internal.h). */
#include "core/array_internal.h"

#include <stdint.h>
#include <stdlib.h>

#include "metasim/metasim.h"

int ms_array_reserve(void **items, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t grown = *cap ? *cap : (first ? first : 1);
    while (grown < need) {
        if (grown > SIZE_MAX / 2 / size)
            return METASIM_E_NOMEM;
        grown *= 2;
    }
    void *moved = realloc(*items, grown * size);
    if (!moved)
        return METASIM_E_NOMEM;
    *items = moved;
    *cap = grown;
    return 0;
}
