/* The scenarios that ship inside the library, generated from the YAML files in scenarios/. */
#ifndef METASIM_BUILTIN_INTERNAL_H
#define METASIM_BUILTIN_INTERNAL_H

#include <stddef.h>

typedef struct ms_builtin {
    const char *name; /* file name without .yaml */
    const char *text; /* NUL-terminated */
    size_t length;
} ms_builtin;

/* Terminated by an entry whose name is NULL; sorted by name. */
extern const ms_builtin ms_builtins[];

#endif
