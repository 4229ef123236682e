/* The results database's handle, shared by writing (results_db.c) and export
 * (results_export.c). Only src/io/ sees SQLite. */
#ifndef METASIM_RESULTS_INTERNAL_H
#define METASIM_RESULTS_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/strbuf_internal.h"
#include "metasim/metasim.h"

/* Prepared statements, made once per handle. */
enum { ST_SAMPLE, ST_EVENT, ST_PATIENT, ST_LESION, ST_CLONE, ST_CLINICAL, ST_ENDPOINT, N_ST };

#define NO_SLOT UINT32_MAX

/* A compartment sampled for the current patient, and the sample time it was last seen at. */
typedef struct sample_key {
    uint32_t lesion, clone;
    uint32_t state, site; /* indices into names */
    uint32_t seen;        /* generation (sample time) of its last row */
} sample_key;

struct metasim_results {
    sqlite3 *db;
    char *path;
    char *partial; /* the file being built; NULL for a handle opened for reading */
    bool writing;  /* made by create (else by open) */
    const metasim_model_t *model;
    int overwrite;
    int failed; /* the first failure's code; every later write refuses */
    ms_strbuf err;
    bool in_txn;
    sqlite3_stmt *st[N_ST];

    /* The patient whose writer is in use. */
    bool pending;
    unsigned patient;
    unsigned long long pending_rows;
    bool have_time;
    double now;   /* the sample time being written */
    uint32_t gen; /* its generation: 1, 2, ... within the patient */
    sample_key *keys;
    size_t n_keys, cap_keys;
    uint32_t *slots; /* open addressing into keys; a power of two, at least 2 n_keys */
    size_t n_slots;
    char **names; /* sites and states seen, interned */
    size_t n_names, cap_names;
};

/* Every table, in export order, with the query that exports it (results_export.c). */
typedef struct ms_results_table {
    const char *name;
    const char *select;
} ms_results_table;
extern const ms_results_table ms_results_tables[];
extern const size_t ms_results_n_tables;

/* Sets the handle's message to "PATH: ..." and returns rc. */
int ms_results_error(metasim_results_t *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* a followed by b, malloc'd; NULL when out of memory. */
char *ms_results_concat(const char *a, const char *b);

#endif
