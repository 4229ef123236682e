/*
 * metasim: a stochastic simulator of metastatic cancer under therapy.
 *
 * This header is the whole public API and its specification. Conventions:
 *
 * - Functions that can fail return int: 0 (METASIM_OK) on success or a negative METASIM_E_*
 *   code from the table below; metasim_strerror() describes a code in words.
 * - Objects are opaque handles made by a create/load function and released by the matching
 *   destroy function; destroy(NULL) does nothing.
 * - A handle whose creation failed may still be returned so that it can carry the message
 *   (metasim_model_errmsg()); destroy it like any other.
 * - Strings returned as `const char *` belong to the handle (or are static) and live as long
 *   as it does. Strings returned as `char *` belong to the caller, who frees them with
 *   metasim_free().
 * - The library holds no global mutable state, never prints and never exits. A loaded model is
 *   immutable: any number of threads may read one model at the same time.
 */
#ifndef METASIM_METASIM_H
#define METASIM_METASIM_H

#include <stddef.h>

#include "metasim/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(METASIM_BUILDING_LIBRARY) && defined(__GNUC__)
#define METASIM_API __attribute__((visibility("default")))
#else
#define METASIM_API
#endif

/* ---------------------------------------------------------------- version */

/* The library's version as "MAJOR.MINOR.PATCH"; compare with METASIM_VERSION_STRING to detect
 * a header/library mismatch. */
METASIM_API const char *metasim_version(void);

/* The library's METASIM_VERSION_NUMBER. */
METASIM_API int metasim_version_number(void);

/* ---------------------------------------------------------------- errors */

/* Every error code, once: X(NAME, value, description). */
#define METASIM_ERROR_MAP(X)                                                                       \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(IO, -2, "cannot read the file")                                                              \
    X(SYNTAX, -3, "the scenario is not well-formed YAML")                                          \
    X(INVALID, -4, "the scenario breaks a rule of the scenario format")                            \
    X(ARG, -5, "invalid argument")                                                                 \
    X(NOTFOUND, -6, "no such built-in scenario")                                                   \
    X(LIMIT, -7, "the input exceeds a size limit")                                                 \
    X(STATE, -8, "the call does not fit the object's state")                                       \
    X(INTERNAL, -9, "an internal consistency check failed (a bug: please report it)")              \
    X(EXISTS, -10, "the output file exists and replacing it was not asked for")

enum {
    METASIM_OK = 0,
#define METASIM_ERROR_ENUM(name, value, text) METASIM_E_##name = (value),
    METASIM_ERROR_MAP(METASIM_ERROR_ENUM)
#undef METASIM_ERROR_ENUM
};

/* A static description of `code` ("unknown error" for codes not in the table). */
METASIM_API const char *metasim_strerror(int code);

/* Releases memory the library handed to the caller as `char *`. NULL is allowed. */
METASIM_API void metasim_free(void *ptr);

/* ---------------------------------------------------------------- model */

/*
 * A model is a scenario file read, validated against the scenario format (see
 * metasim_schema_reference() and docs/scenario.md), converted to canonical units (days, cells,
 * milligrams, litres) and frozen. Every mistake found is reported, not only the first, each as
 * one line of the form
 *
 *     FILE:LINE:COLUMN: FIELD.PATH: RULE (got VALUE)
 *
 * for example `breast.yaml:14:9: drugs.doxorubicin.pk.half_life: must be > 0 (got -1)`.
 */
typedef struct metasim_model metasim_model_t;

/* Loads the scenario in the file at `path`. On success returns 0 and sets *model. On failure
 * returns a negative code and sets *model to a handle carrying the messages (or to NULL when
 * even that could not be allocated): METASIM_E_IO when the file cannot be read (missing,
 * directory, unreadable), METASIM_E_SYNTAX for malformed YAML, METASIM_E_INVALID for a
 * well-formed file that breaks the format's rules, METASIM_E_LIMIT when the file is larger
 * than METASIM_MAX_SCENARIO_BYTES or nested deeper than METASIM_MAX_SCENARIO_DEPTH. */
METASIM_API int metasim_model_load_file(const char *path, metasim_model_t **model);

/* As metasim_model_load_file(), from `length` bytes at `text` (which need not end in NUL).
 * `name` is the file name used in messages (for example "breast.yaml"). */
METASIM_API int metasim_model_load_string(const char *name, const char *text, size_t length,
                                          metasim_model_t **model);

/* As metasim_model_load_file(), for a scenario that ships inside the library (see
 * metasim_builtin_name()). Returns METASIM_E_NOTFOUND for an unknown name. */
METASIM_API int metasim_model_load_builtin(const char *name, metasim_model_t **model);

/* Releases a model. NULL is allowed. */
METASIM_API void metasim_model_destroy(metasim_model_t *model);

/* The load's messages, one per line, in file order; "" for a model that loaded cleanly. */
METASIM_API const char *metasim_model_errmsg(const metasim_model_t *model);

/* How many mistakes the load found (0 for a valid model). */
METASIM_API size_t metasim_model_error_count(const metasim_model_t *model);

/* A short human-readable description of a valid model (name, sites, drugs, arms, horizon),
 * several lines ending in a newline; "" for a model that failed to load. */
METASIM_API const char *metasim_model_summary(const metasim_model_t *model);

/* The scenario's `scenario.name`; "" for a model that failed to load. */
METASIM_API const char *metasim_model_name(const metasim_model_t *model);

/* The follow-up horizon (`time.horizon`) in days; 0 for a model that failed to load. */
METASIM_API double metasim_model_horizon(const metasim_model_t *model);

/* The blood volume (`circulation.blood_volume`) in litres; 0 for a failed model. */
METASIM_API double metasim_model_blood_volume(const metasim_model_t *model);

/* The scenario's master seed (`scenario.seed`): returns 1 and sets *seed when the scenario
 * sets one, else 0. */
METASIM_API int metasim_model_seed(const metasim_model_t *model, unsigned long long *seed);

/* The arms in declaration order: their number, and the arm number (1-based, as
 * metasim_sim_options_t.arm) of the arm called `name`, or 0 when there is none. */
METASIM_API size_t metasim_model_arm_count(const metasim_model_t *model);
METASIM_API unsigned metasim_model_arm(const metasim_model_t *model, const char *name);

/* The number of declared loci and the name of locus k (NULL past the end). Locus k is bit k of
 * metasim_clone_info_t.loci. */
METASIM_API size_t metasim_model_locus_count(const metasim_model_t *model);
METASIM_API const char *metasim_model_locus_name(const metasim_model_t *model, size_t k);

/* The scenario text exactly as read, for provenance; NULL if it could not be read. */
METASIM_API const char *metasim_model_source(const metasim_model_t *model);

/* Size limits of a scenario file. */
#define METASIM_MAX_SCENARIO_BYTES (16 * 1024 * 1024)
#define METASIM_MAX_SCENARIO_DEPTH 64

/* ---------------------------------------------------------------- simulation */

/*
 * A simulation is one virtual patient evolving under a model, from the founding cells of the
 * primary at time 0 (days). It is resumable: metasim_sim_run() advances it to a time or by an
 * event budget and returns why it stopped; call it again to continue. A simulation handle is
 * used by one thread at a time; any number of simulations may share one model.
 *
 * Its random numbers come from counter-based streams keyed by (seed, patient index, arm,
 * purpose), so a patient's history depends only on those, never on threads or on the order in
 * which patients are simulated.
 */
typedef struct metasim_sim metasim_sim_t;

/* Why metasim_sim_run() returned (positive, unlike error codes). */
enum {
    METASIM_STOP_TIME = 1,      /* reached the requested time */
    METASIM_STOP_EVENTS = 2,    /* used up the event budget (exactly while every compartment is
                                   simulated event by event, else at the end of a step) */
    METASIM_STOP_EXTINCT = 3,   /* no tumour cells are left */
    METASIM_STOP_SIZE = 4,      /* the total burden reached metasim_sim_options_t.stop_cells */
    METASIM_STOP_DEATH = 5,     /* the patient died of the tumour burden */
    METASIM_STOP_TREATMENT = 6, /* the point where treatment is assigned (surgery, or diagnosis
                                   when the scenario has no surgery) was reached by a
                                   simulation with metasim_sim_options_t.stop_at_treatment */
};

/* One compartment's size at an output time. Strings belong to the model. */
typedef struct metasim_sample {
    double time;     /* d */
    unsigned lesion; /* index, in order of founding */
    const char *site;
    unsigned clone; /* index into the lineage, 0 = founder */
    const char *state;
    double cells; /* an integer count, as a double so R and Python read it as is */
} metasim_sample_t;

typedef enum metasim_event_kind {
    METASIM_EVENT_CLONE = 1,     /* a new clone arose: clone, lesion, detail = its new loci */
    METASIM_EVENT_EXTINCT = 2,   /* the last tumour cell died */
    METASIM_EVENT_LESION = 3,    /* a circulating cell founded a lesion: lesion, site, clone,
                                    source_lesion (an edge of the seeding graph), detail = state */
    METASIM_EVENT_DIAGNOSIS = 4, /* the primary (or a symptomatic lesion) was found: detail =
                                    the stage, "T2 N1 M0" */
    METASIM_EVENT_SURGERY = 5,   /* the primary and its regional nodes were removed */
    METASIM_EVENT_RELAPSE = 6,   /* the first relapse was detected: lesion = the largest found,
                                    site = its site, detail = "distant (scan)" and the like */
    METASIM_EVENT_DEATH = 7,     /* the tumour burden killed the patient: detail = the cause */
    METASIM_EVENT_BLOOD = 8,     /* a virtual blood draw at a visit (diagnosis, surgery, each
                                    scan): value = CTCs counted in 7.5 mL */
    METASIM_EVENT_THERAPY = 9,   /* the arm's dosing schedule starts: detail = the arm */
} metasim_event_kind_t;

/* A timeline event. Strings are valid only during the callback. */
typedef struct metasim_event {
    double time;
    metasim_event_kind_t kind;
    unsigned lesion;
    unsigned clone;
    unsigned parent_clone;
    unsigned source_lesion;
    const char *site;
    const char *detail;
    double value; /* METASIM_EVENT_BLOOD: the count; else 0 */
} metasim_event_t;

/* Running totals of the metastatic cascade of one simulation. Every shed cell is counted once:
 * shed = lost + colonised, and colonised = self_seeded + (lesions - 1). */
typedef struct metasim_counts {
    unsigned long long shed;        /* cells that entered the blood */
    unsigned long long lost;        /* died in the circulation or failed to colonise */
    unsigned long long colonised;   /* survived and settled */
    unsigned long long self_seeded; /* of those, joined the primary */
    unsigned long long lesions;     /* lesions founded, the primary included */
    unsigned long long resected;    /* cells removed by surgery */
} metasim_counts_t;

/* Where a simulation sends its output. Either callback may be NULL. A callback returning
 * nonzero stops the run with METASIM_E_IO. */
typedef struct metasim_writer {
    void *user;
    int (*sample)(void *user, const metasim_sample_t *sample);
    int (*event)(void *user, const metasim_event_t *event);
} metasim_writer_t;

typedef struct metasim_sim_options {
    unsigned long long seed;        /* master seed */
    unsigned patient;               /* patient index: selects the patient's random streams */
    const metasim_writer_t *writer; /* NULL for no output; the writer must outlive the sim */
    double stop_cells;              /* stop when the total burden reaches this; 0 = never */
    int verify;                     /* check every invariant after each step (tests, debugging) */
    unsigned arm;          /* 0: untreated; k >= 1: the scenario's k-th arm, whose doses start at
                              surgery (at diagnosis without surgery). The history up to that start
                              draws from the streams of arm 0, so every arm treats the same patient;
                              from the start on, the arm's own streams take over. */
    int stop_at_treatment; /* with arm 0: metasim_sim_run() returns METASIM_STOP_TREATMENT once,
                              at the point where an arm would be assigned (surgery, or
                              diagnosis without surgery), so that the caller can fork the
                              history into every arm (the paired design) */
} metasim_sim_options_t;

/* Continues a patient under another arm (the paired trial design): *copy is a new simulation
 * in exactly the state of `sim` (time, lesions, clones, factors, clinic, counters), under arm
 * `arm` (as metasim_sim_options_t.arm), whose random streams from now on are keyed by `arm`
 * (so each arm's continuation is its own, reproducible stream, and arms differ only by what is
 * done to them), writing to `writer` (may be NULL). If the arm's start (surgery, or diagnosis
 * without surgery) has passed, its schedule starts at the fork. `sim` is not changed. Returns
 * 0 or a negative code (*copy NULL). */
METASIM_API int metasim_sim_fork(const metasim_sim_t *sim, unsigned arm,
                                 const metasim_writer_t *writer, metasim_sim_t **copy);

/* Changes the stop size (metasim_sim_options_t.stop_cells) of a running simulation, so that a
 * caller can stop at successive sizes. 0 removes it. */
METASIM_API int metasim_sim_set_stop_cells(metasim_sim_t *sim, double cells);

/* Creates a simulation of `model` (which must outlive it). On failure returns a negative code
 * and sets *sim to NULL. */
METASIM_API int metasim_sim_create(const metasim_model_t *model,
                                   const metasim_sim_options_t *options, metasim_sim_t **sim);

/* Advances the simulation until `t_max` (days), until `max_events` more events (0 = no
 * budget), or until a stop condition holds. Returns a METASIM_STOP_* reason, or a negative
 * code (then see metasim_sim_errmsg()). Scheduled times (the output grid, t_max) are hit
 * exactly. */
METASIM_API int metasim_sim_run(metasim_sim_t *sim, double t_max, unsigned long long max_events);

METASIM_API double metasim_sim_time(const metasim_sim_t *sim);               /* d */
METASIM_API double metasim_sim_cells(const metasim_sim_t *sim);              /* tumour cells */
METASIM_API unsigned long long metasim_sim_events(const metasim_sim_t *sim); /* so far */
METASIM_API size_t metasim_sim_clones(const metasim_sim_t *sim);             /* lineage size */

/* The level of factor `factor` (in declaration order) at lesion `lesion`; NaN when either
 * index is out of range. */
METASIM_API double metasim_sim_factor(const metasim_sim_t *sim, size_t lesion, size_t factor);

/* The patient's clinical course so far (docs/clinic.md). Times in days from the first tumour
 * cell; a time is NaN when the event has not happened. */
typedef struct metasim_clinical {
    double diagnosis;         /* time of diagnosis */
    int t_stage;              /* 1-3 from the primary's diameter at diagnosis (0 = not found) */
    int n_stage;              /* 0-3 from involved regional nodes at surgery (at diagnosis if
                                 there is no surgery) */
    int m_stage;              /* 1 when a distant lesion was detectable at diagnosis */
    double primary_diameter;  /* cm, at diagnosis */
    double surgery;           /* time of surgery */
    double relapse;           /* time the first relapse was detected */
    int relapse_local;        /* the first relapse included a lesion at the primary's site */
    int relapse_distant;      /* ... a lesion at any other non-regional site */
    const char *relapse_site; /* site of the largest lesion of the first relapse, or NULL;
                                 the model's string, valid as long as the model */
    double death;             /* time of death from the tumour */
} metasim_clinical_t;

METASIM_API int metasim_sim_clinical(const metasim_sim_t *sim, metasim_clinical_t *clinical);

/* The cascade's running totals (see metasim_counts_t). */
METASIM_API int metasim_sim_counts(const metasim_sim_t *sim, metasim_counts_t *counts);

/* The expected number of circulating tumour cells in the whole blood now: the solution of
 * dC/dt = (cells shed per day) - (ln 2 / circulation.half_life) C. */
METASIM_API double metasim_sim_ctc(const metasim_sim_t *sim);

/* A virtual blood draw of `millilitres` (7.5 for the CellSearch standard): a Poisson count with
 * mean metasim_sim_ctc() times millilitres over the blood volume. Draws come from a stream of
 * their own, so taking them never changes the simulated history. Returns the count, or -1 for
 * a bad argument. */
METASIM_API long long metasim_sim_blood_draw(metasim_sim_t *sim, double millilitres);

/* One lesion: its site, the lesion that seeded it (itself for the primary), when, with which
 * clone, and its size now. */
typedef struct metasim_lesion_info {
    const char *site;
    unsigned parent;
    double founded;
    unsigned founder_clone;
    double cells;
} metasim_lesion_info_t;

/* The number of lesions ever founded (extinct ones included: they are the seeding graph). */
METASIM_API size_t metasim_sim_lesions(const metasim_sim_t *sim);

/* Fills *info for lesion `lesion`; METASIM_E_ARG when out of range. */
METASIM_API int metasim_sim_lesion_info(const metasim_sim_t *sim, size_t lesion,
                                        metasim_lesion_info_t *info);

/* One clone of the lineage. */
typedef struct metasim_clone_info {
    unsigned parent;         /* index of the clone it arose from; itself for the founder */
    unsigned origin_lesion;  /* lesion where it arose */
    double born;             /* d */
    unsigned long long loci; /* bit k set: locus k mutated (metasim_model_locus_name()) */
} metasim_clone_info_t;

/* Fills *info for clone `clone` (0 <= clone < metasim_sim_clones()); METASIM_E_ARG otherwise. */
METASIM_API int metasim_sim_clone_info(const metasim_sim_t *sim, size_t clone,
                                       metasim_clone_info_t *info);

/* Sends the current state to writer->sample, one call per compartment (time = now). Returns 0
 * or METASIM_E_IO when the callback fails. */
METASIM_API int metasim_sim_snapshot(const metasim_sim_t *sim, const metasim_writer_t *writer);

/* A digest of the current state: equal states give equal digests on any machine. */
METASIM_API unsigned long long metasim_sim_digest(const metasim_sim_t *sim);

/* A message describing the last error ("" when none). */
METASIM_API const char *metasim_sim_errmsg(const metasim_sim_t *sim);

/* Releases a simulation. NULL is allowed. */
METASIM_API void metasim_sim_destroy(metasim_sim_t *sim);

/* ---------------------------------------------------------------- results database */

/*
 * Results go to an SQLite database (docs/results.md has the schema, with units): provenance
 * (schema version, metasim version, creation time, command line, seed, scenario text),
 * patients, lesions (the seeding graph), clones (the lineage as an edge list), events, time
 * series on the output grid (with explicit zeros), the clinical course, and endpoints (time
 * from diagnosis, status 1 = event, 0 = censored, as R's survival::Surv reads them).
 *
 * One process writes a database, through one handle used by one thread at a time. It is built
 * in `path` + ".partial" (a stale one is replaced) and renamed into place by
 * metasim_results_close(), so an interrupted or failed run never leaves a half-written file at
 * `path`. Each patient is written in one transaction, with prepared statements reused; memory
 * does not grow with the number of patients. After any write failure the handle refuses
 * further writes, and closing it removes the partial file.
 *
 * Every failure sets a message naming the file (metasim_results_errmsg()), for example
 * `out/trial.db: cannot create: No such file or directory`.
 */
typedef struct metasim_results metasim_results_t;

/* Creates a results database at `path` for runs of `model`, which must outlive the handle (lesion
 * sites, states and locus names are read from it). Refuses an existing file with
 * METASIM_E_EXISTS unless `overwrite`. `command_line` (may be NULL) and `seed` are recorded.
 * Returns 0 and sets *results, or a negative code: METASIM_E_ARG for a bad argument,
 * METASIM_E_EXISTS, METASIM_E_IO when the file cannot be created or written, METASIM_E_NOMEM.
 * On failure *results is a handle carrying the message (release it with
 * metasim_results_discard()), or NULL when even that could not be allocated; nothing is left on
 * disk. */
METASIM_API int metasim_results_create(const char *path, const metasim_model_t *model,
                                       const char *command_line, unsigned long long seed,
                                       int overwrite, metasim_results_t **results);

/* Fills *writer with a writer that records patient `patient`'s samples and events; pass it in
 * metasim_sim_options_t.writer of that patient's simulation. Samples become rows of `samples`
 * with explicit zeros: once a (lesion, clone, state) has been sampled, every later sample time
 * of the patient has a row for it (0 when the compartment is gone); a compartment sampled twice
 * at one time keeps its first row. Sample times must not decrease. A callback returns nonzero
 * (so the run stops with METASIM_E_IO) when writing fails; the reason is in
 * metasim_results_errmsg().
 *
 * The writer is valid until metasim_results_add_patient() for the same patient (which completes
 * its time series), and must not be used after that. Calling this again for the same patient
 * before then gives the same writer; calling it for another patient while the pending one has
 * rows but was not added is METASIM_E_STATE. Returns 0 or a negative code. */
METASIM_API int metasim_results_writer(metasim_results_t *results, unsigned patient,
                                       metasim_writer_t *writer);

/* Records a finished patient from its simulation `sim` (a simulation of the handle's model):
 * its lesions, clones, cascade totals, clinical course and endpoints, the time and burden at
 * the end, and `stop_reason`, the METASIM_STOP_* value its last metasim_sim_run() returned.
 * Commits the patient's transaction. Each patient is added once. Returns 0,
 * METASIM_E_ARG (bad argument, unknown stop reason), METASIM_E_STATE (another patient's writer
 * is pending, or the handle was opened for reading), METASIM_E_IO or METASIM_E_NOMEM. */
METASIM_API int metasim_results_add_patient(metasim_results_t *results, unsigned patient,
                                            const metasim_sim_t *sim, int stop_reason);

/* Finishes and releases the handle in every case. For a handle from metasim_results_create():
 * commits, indexes, flushes to disk and renames the database into place. Returns 0 or a
 * negative code (then nothing is left at `path` that was not there before):
 * METASIM_E_STATE when a patient's writer was used but the patient never added, METASIM_E_EXISTS
 * when `path` appeared meanwhile and overwriting was not asked for, METASIM_E_IO, or the code
 * of an earlier failure. When `message` is not NULL it receives, on failure, the message
 * (which the caller frees with metasim_free()), else NULL: the handle is gone, so
 * metasim_results_errmsg() cannot be asked. For a handle from metasim_results_open() it only
 * releases it. NULL is allowed (returns 0). */
METASIM_API int metasim_results_close(metasim_results_t *results, char **message);

/* Releases the handle. For a handle from metasim_results_create(), everything written is
 * discarded and the partial file removed (nothing is ever written at `path`); a handle from
 * metasim_results_open() leaves its file untouched. NULL is allowed. */
METASIM_API void metasim_results_discard(metasim_results_t *results);

/* Opens an existing database for reading (export). Returns 0 and sets *results, or a negative
 * code and a handle carrying the message (or NULL when out of memory): METASIM_E_IO for a
 * missing or unreadable file, a file that is not an SQLite database, an SQLite database that
 * is not metasim results, a schema version newer than this library reads, or a damaged file;
 * METASIM_E_NOMEM. */
METASIM_API int metasim_results_open(const char *path, metasim_results_t **results);

/* Writes every table as tidy long CSV (`<table>.csv`: a header row, RFC 4180 quoting where a
 * field needs it, numbers with 17 significant digits, NULL as an empty field, rows ordered by
 * patient then the table's natural keys) into directory `dir`, which is created if missing.
 * Existing files of those names are refused (METASIM_E_EXISTS) unless `overwrite`. Each file
 * is written under a temporary name in `dir` and renamed once all are complete; on failure the
 * temporary files are removed, and so is `dir` if this call made it. The handle must come from
 * metasim_results_open() (METASIM_E_STATE otherwise). Returns 0 or a negative code. */
METASIM_API int metasim_results_export_csv(metasim_results_t *results, const char *dir,
                                           int overwrite);

/* Writes one rooted Newick tree of the clone lineage per patient, `patient_<K>.nwk`, into
 * directory `dir` (created if missing). Nodes are labelled `c<clone>`, followed by `_` and the
 * clone's mutated loci joined by `+` when it has any (characters that Newick reserves become
 * `_`); branch lengths are the difference of birth times in days; the root has no length.
 * Existing files, temporary names and the handle are treated as by
 * metasim_results_export_csv(). Returns 0 or a negative code. */
METASIM_API int metasim_results_export_newick(metasim_results_t *results, const char *dir,
                                              int overwrite);

/* The message of the last failure on this handle ("" when none, and for NULL). */
METASIM_API const char *metasim_results_errmsg(const metasim_results_t *results);

/* ---------------------------------------------------------------- units */

/* Parses a time as written in a scenario ("36 h", "5 y", "2 w"; a bare number is in days) into
 * days. Returns 0, or METASIM_E_ARG for text that is not a finite time. */
METASIM_API int metasim_parse_time(const char *text, double *days);

/* ---------------------------------------------------------------- CSV output */

/* A writer that appends samples as tidy CSV rows (time,lesion,site,clone,state,cells) to the
 * file at `path`, which it creates with a header. Returns 0 and fills *writer, or
 * METASIM_E_IO. Close it with metasim_csv_writer_close(), which reports write errors. */
METASIM_API int metasim_csv_writer_open(const char *path, metasim_writer_t *writer);
METASIM_API int metasim_csv_writer_close(metasim_writer_t *writer);

/* ---------------------------------------------------------------- built-in scenarios */

/* The name of the i-th built-in scenario (0-based, in alphabetical order), or NULL when `i` is
 * past the end. */
METASIM_API const char *metasim_builtin_name(size_t i);

/* The YAML text of a built-in scenario and its length, or NULL for an unknown name. The text is
 * static and NUL-terminated. */
METASIM_API const char *metasim_builtin_text(const char *name, size_t *length);

/* ---------------------------------------------------------------- scenario format */

/* The reference of the scenario format as Markdown: every field with its type, unit, allowed
 * range, default and meaning, plus the rules for units and names. docs/scenario.md is this text.
 * Returns a string the caller frees with metasim_free(), or NULL when out of memory. */
METASIM_API char *metasim_schema_reference(void);

#ifdef __cplusplus
}
#endif

#endif
