/* Lookup of the built-in scenarios (the table itself is generated at build time). */
#include <string.h>

#include "metasim/metasim.h"
#include "model/builtin_internal.h"

const char *metasim_builtin_name(size_t i)
{
    for (size_t k = 0; ms_builtins[k].name; k++)
        if (k == i)
            return ms_builtins[k].name;
    return NULL;
}

const char *metasim_builtin_text(const char *name, size_t *length)
{
    for (size_t k = 0; name && ms_builtins[k].name; k++) {
        if (strcmp(ms_builtins[k].name, name) == 0) {
            if (length)
                *length = ms_builtins[k].length;
            return ms_builtins[k].text;
        }
    }
    return NULL;
}
