/* Error codes and their descriptions, generated from the one table in metasim.h. */
#include <stdlib.h>

#include "metasim/metasim.h"

const char *metasim_strerror(int code)
{
    switch (code) {
    case METASIM_OK: return "success";
#define METASIM_ERROR_CASE(name, value, text)                                                      \
    case METASIM_E_##name: return text;
        METASIM_ERROR_MAP(METASIM_ERROR_CASE)
#undef METASIM_ERROR_CASE
    default: return "unknown error";
    }
}

void metasim_free(void *ptr)
{
    free(ptr);
}
