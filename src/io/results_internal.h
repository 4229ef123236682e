/* The results database's handle, shared by writing (results_db.c), statistics
 * (results_stats.c), digests and merges (results_merge.c) and export (results_export.c). Only
 * src/io/ sees SQLite; the trial runner reaches the database through
 * results_writer_internal.h. */
#ifndef METASIM_RESULTS_INTERNAL_H
#define METASIM_RESULTS_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/strbuf_internal.h"
#include "io/patient_record_internal.h"
#include "io/results_writer_internal.h"
#include "metasim/metasim.h"

/* The version of the layout (docs/results.md); readers refuse other versions. 3 added the
 * exposures, the pfs and relapse_<site> endpoints and the relapse statistics; 4 the parameters
 * table, screening.subtype (and a screening row for every patient outside a trial too),
 * clones.karyotype and the chromosomes meta row. */
#define MS_RESULTS_SCHEMA_VERSION 4

/* Prepared statements, made once per handle. */
enum {
    ST_SAMPLE,
    ST_EVENT,
    ST_PATIENT,
    ST_LESION,
    ST_CLONE,
    ST_CLINICAL,
    ST_ENDPOINT,
    ST_SCREENING,
    ST_EXPOSURE,
    ST_UNSCREENED,
    ST_PARAMETER,
    N_ST
};

struct metasim_results {
    sqlite3 *db;
    char *path;
    char *partial;                /* the file being built; NULL for a handle opened for reading */
    bool writing;                 /* made by create, resume or merge (else by open) */
    const metasim_model_t *model; /* NULL for a merge */
    int overwrite;
    int failed; /* the first failure's code; every later write refuses */
    ms_strbuf err;
    bool in_txn;
    sqlite3_stmt *st[N_ST];
    const char **arm_names; /* arm k (1-based) is arm_names[k - 1]; from the model */
    size_t n_arms;
    char **relapse_endpoints; /* "relapse_<site>" per site of the model, in its order; owned */
    size_t n_sites;
    double started;        /* monotonic seconds at create or resume, for the elapsed time */
    double elapsed_before; /* seconds spent by earlier runs of a resumed database */
    unsigned threads;      /* recorded at close, when set */
    char digest[METASIM_DIGEST_SIZE]; /* computed at close */

    /* The patient whose writer is in use (metasim_results_writer()). */
    bool pending;
    unsigned patient, arm;
    ms_record rec;
};

/* Every exported table, in export order, with the query that exports it (results_export.c). */
typedef struct ms_results_table {
    const char *name;
    const char *select;
    bool digest; /* part of the results digest */
} ms_results_table;
extern const ms_results_table ms_results_tables[];
extern const size_t ms_results_n_tables;

/* Sets the handle's message to "PATH: ..." and returns rc. */
int ms_results_error(metasim_results_t *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As ms_results_error(), and poisons a handle being written: every later write returns the
 * first failure's code, which this returns. */
int ms_results_fail(metasim_results_t *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An SQLite failure while writing: "PATH: WHAT: SQLITE MESSAGE"; poisons the handle. */
int ms_results_db_fail(metasim_results_t *r, int sqlite_rc, const char *what);

/* Runs `sql` (several statements allowed); 0 or ms_results_db_fail(). */
int ms_results_exec(metasim_results_t *r, const char *sql, const char *what);

/* a followed by b, malloc'd; NULL when out of memory. */
char *ms_results_concat(const char *a, const char *b);

/* The value of meta key `key` as a malloc'd string in *value (NULL for SQL NULL); 1 when the
 * key exists, 0 when not, or a negative code (message set). */
int ms_results_get_meta(metasim_results_t *r, const char *key, char **value);

/* Sets meta key `key` (inserted or replaced); 0 or a negative code. */
int ms_results_set_meta(metasim_results_t *r, const char *key, const char *value);

/* Computes the statistics tables from the endpoints (results_stats.c). The tables must be
 * empty. 0 or a negative code. */
int ms_results_compute_stats(metasim_results_t *r);

/* Computes the results digest of the handle's database into `digest` (results_merge.c).
 * 0 or a negative code. */
int ms_results_compute_digest(metasim_results_t *r, char digest[METASIM_DIGEST_SIZE]);

/* The finishing steps of a database being written: index, statistics, digest, provenance,
 * flush and rename (results_db.c). */
int ms_results_finish(metasim_results_t *r);

/* A new, empty handle for `path`, or NULL when out of memory. */
metasim_results_t *ms_results_new_handle(const char *path);

/* Creates `path`.partial (replacing a stale one) with the schema; the header rows are the
 * caller's. Sets r->partial and r->db. 0 or a negative code (nothing left on disk). */
int ms_results_create_partial(metasim_results_t *r);

/* Prepares the insert statements. 0 or a negative code. */
int ms_results_prepare(metasim_results_t *r);

/* Begins and commits a transaction. */
int ms_results_begin(metasim_results_t *r);
int ms_results_commit(metasim_results_t *r);

/* Monotonic seconds. */
double ms_results_now(void);

#endif
