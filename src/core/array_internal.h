/* Growable arrays: one reserve function for every array that grows by doubling. */
#ifndef METASIM_ARRAY_INTERNAL_H
#define METASIM_ARRAY_INTERNAL_H

#include <stddef.h>

/* Makes *items (of *cap elements of `size` bytes) hold at least `need` elements, doubling from
 * at least `first`. Returns 0, or METASIM_E_NOMEM leaving *items and *cap unchanged. */
int ms_array_reserve(void **items, size_t *cap, size_t need, size_t size, size_t first);

#endif
