/* What the trial runner (src/trial/trial.c) asks of the results database, without SQLite:
 * create a trial's database or reopen a partial one to resume it, write finished patients
 * (patient_record_internal.h), and close it, either finished (statistics, digest, rename) or
 * suspended (kept as PATH.partial for a later resume). */
#ifndef METASIM_RESULTS_WRITER_INTERNAL_H
#define METASIM_RESULTS_WRITER_INTERNAL_H

#include <stdbool.h>

#include "io/patient_record_internal.h"
#include "metasim/metasim.h"

/* A trial's identity, recorded in meta and checked on resume. */
typedef struct ms_trial_info {
    const char *design;     /* "paired" or "randomised" */
    unsigned patients;      /* N */
    unsigned shard, shards; /* shards >= 1 */
    unsigned series;
    const double *allocation; /* one share per arm summing to 1 (randomised), or NULL */
} ms_trial_info;

/* Creates the database of a trial (as metasim_results_create(), plus the trial's meta rows and
 * the arms' allocation). Returns 0 or a negative code, with *results set as
 * metasim_results_create() sets it. */
int ms_results_create_trial(const char *path, const metasim_model_t *model,
                            const char *command_line, unsigned long long seed, int overwrite,
                            const ms_trial_info *info, metasim_results_t **results);

/* Reopens `path`.partial to continue a trial: checks that it records the same scenario text,
 * seed and trial identity, and returns in *done the number of patients it holds (they must be
 * the shard's first *done patients, so the next is the shard's (*done)-th). A partial file
 * without a header (a run killed while it created the file) is replaced by a new database, as
 * ms_results_create_trial() makes it with `command_line`, and *done is 0. An existing `path`
 * is METASIM_E_EXISTS unless `overwrite`. Returns 0, METASIM_E_INVALID (no partial file, or
 * another trial's: the message says which field differs), METASIM_E_IO, METASIM_E_NOMEM;
 * *results as metasim_results_create() sets it, and a failed check leaves the partial file as
 * it was. */
int ms_results_resume(const char *path, const metasim_model_t *model, const char *command_line,
                      unsigned long long seed, int overwrite, const ms_trial_info *info,
                      metasim_results_t **results, unsigned long long *done);

/* Writes a finished record (every unit ended) in one transaction. Returns 0 or a negative
 * code (the handle's message says why, and the handle refuses further writes). */
int ms_results_write_record(metasim_results_t *results, const ms_record *rec);

/* Records the number of threads in the provenance at close. */
void ms_results_set_threads(metasim_results_t *results, unsigned threads);

/* Closes the handle without finishing and leaves `path`.partial for a resume: commits, or after
 * a failure rolls the failed patient back (the patients before it stay). Releases the handle.
 * Returns 0 or a negative code (with *message as metasim_results_close() sets it). */
int ms_results_suspend(metasim_results_t *results, char **message);

/* As metasim_results_close(), and copies the digest recorded at close into `digest` (may be
 * NULL) on success. */
int ms_results_close_digest(metasim_results_t *results, char digest[METASIM_DIGEST_SIZE],
                            char **message);

#endif
