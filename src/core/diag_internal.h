/* Diagnostics: the mistakes found while loading a scenario, each tied to a position and a field
 * path, kept so that all of them can be reported at once, in file order. */
#ifndef METASIM_DIAG_INTERNAL_H
#define METASIM_DIAG_INTERNAL_H

#include <stddef.h>

#include "core/strbuf_internal.h"

/* Past this many, further mistakes are counted but not kept: a corrupt file should give a
 * readable screen of messages, not thousands. */
#define MS_DIAG_MAX_KEPT 50

typedef struct ms_diag_entry {
    int line; /* 1-based; 0 when the mistake concerns the whole file */
    int col;  /* 1-based; 0 when unknown */
    size_t seq;
    char *text; /* "field.path: rule (got value)" */
} ms_diag_entry;

typedef struct ms_diag {
    const char *file; /* name used in messages; not owned */
    ms_diag_entry *entries;
    size_t count; /* kept entries */
    size_t total; /* all reported, including those not kept */
    int nomem;    /* set when a message could not be stored */
} ms_diag;

/* Records a mistake. `path` may be NULL or "" for mistakes that concern no field. */
void ms_diag_add(ms_diag *d, int line, int col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Formats all kept mistakes, sorted by position, one per line, into `out`. */
void ms_diag_format(ms_diag *d, ms_strbuf *out);

void ms_diag_free(ms_diag *d);

#endif
