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
/* The number of patients of the scenario's trial (`trial.patients`, 1000 by default). */
METASIM_API unsigned long long metasim_model_trial_patients(const metasim_model_t *model);
METASIM_API unsigned metasim_model_arm(const metasim_model_t *model, const char *name);

/* The number of declared loci and the name of locus k (NULL past the end). Locus k is bit k of
 * metasim_clone_info_t.loci. */
METASIM_API size_t metasim_model_locus_count(const metasim_model_t *model);
METASIM_API const char *metasim_model_locus_name(const metasim_model_t *model, size_t k);

/* 1 when the site called `name` is the primary's regional lymph nodes (`sites.*.regional`),
 * 0 otherwise (also for an unknown name). */
METASIM_API int metasim_model_site_regional(const metasim_model_t *model, const char *name);

/* The chromosomes the karyotype module follows (0 without a `karyotype` section) and the name
 * of chromosome k (NULL past the end); metasim_clone_info_t.copies is indexed alike. */
METASIM_API size_t metasim_model_chromosome_count(const metasim_model_t *model);
METASIM_API const char *metasim_model_chromosome_name(const metasim_model_t *model, size_t k);

/* The scenario text exactly as read, for provenance; NULL if it could not be read. */
METASIM_API const char *metasim_model_source(const metasim_model_t *model);

/* ---------------------------------------------------------------- cohorts */

/* A scenario's `cohort` section makes patients differ: each patient draws a subtype (with the
 * subtypes' shares) and values of the varying parameters, from its own random stream keyed by
 * (seed, patient), so that patient K has the same values in `metasim run --patient K` and in
 * any trial (docs/trials.md, "Cohorts"). metasim_sim_create() does this itself; these functions
 * let a caller see what a patient was given. */

/* 1 when the scenario's patients differ (subtypes or varying parameters), else 0. */
METASIM_API int metasim_model_cohort_varies(const metasim_model_t *model);

/* The subtypes in declaration order (0 when there are none); for a patient's model, those of
 * its population. */
METASIM_API size_t metasim_model_subtype_count(const metasim_model_t *model);
METASIM_API const char *metasim_model_subtype_name(const metasim_model_t *model, size_t k);

/* Patient `patient`'s own model under master seed `seed`: the scenario with the patient's
 * subtype and drawn values (for a scenario whose patients do not differ, a copy of it).
 * `model` must outlive it; free it with metasim_model_destroy(). Returns 0, METASIM_E_ARG,
 * METASIM_E_NOMEM, or METASIM_E_INVALID when the drawn values break a rule of the scenario
 * (for example blood flows that add up to more than 1); *patient_model is then set all the
 * same, and metasim_model_errmsg() names the patient, its values and the rule. */
METASIM_API int metasim_model_patient(const metasim_model_t *model, unsigned long long seed,
                                      unsigned patient, metasim_model_t **patient_model);

/* A patient's subtype (NULL when the scenario has none, or for a model not made by
 * metasim_model_patient()). */
METASIM_API const char *metasim_model_patient_subtype(const metasim_model_t *model);

/* One value a patient was given: the path of the scenario field, the value in canonical units
 * and that unit ("/d", "mg", "" for pure numbers). */
typedef struct metasim_covariate {
    const char *path;
    double value;
    const char *unit;
} metasim_covariate_t;

/* A patient model's values (subtype values first, then the cohort's parameters, one entry per
 * field holding its final value); 0 for other models. */
METASIM_API size_t metasim_model_covariate_count(const metasim_model_t *model);
METASIM_API int metasim_model_covariate(const metasim_model_t *model, size_t k,
                                        metasim_covariate_t *covariate);

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
    METASIM_EVENT_CLONE = 1,        /* a new clone arose: clone, lesion, detail = its new loci */
    METASIM_EVENT_EXTINCT = 2,      /* the last tumour cell died */
    METASIM_EVENT_LESION = 3,       /* a circulating cell founded a lesion: lesion, site, clone,
                                       source_lesion (an edge of the seeding graph), detail = state */
    METASIM_EVENT_DIAGNOSIS = 4,    /* the primary (or a symptomatic lesion) was found: detail =
                                       the stage, "T2 N1 M0" */
    METASIM_EVENT_SURGERY = 5,      /* the primary and its regional nodes were removed */
    METASIM_EVENT_RELAPSE = 6,      /* the first relapse was detected: lesion = the largest found,
                                       site = its site, detail = "distant (scan)" and the like */
    METASIM_EVENT_DEATH = 7,        /* the tumour burden killed the patient: detail = the cause */
    METASIM_EVENT_BLOOD = 8,        /* a virtual blood draw at a visit (diagnosis, surgery, each
                                       scan): value = CTCs counted in 7.5 mL */
    METASIM_EVENT_THERAPY = 9,      /* treatment: the arm is assigned, or a line of therapy
                                       starts, pauses, resumes, stops or completes: detail says
                                       which ("arm adjuvant_src assigned", "line 2 (dasatinib)
                                       starts"), value = the line's number (0 for the arm) */
    METASIM_EVENT_PROGRESSION = 10, /* progressive disease at a scan (RECIST 1.1): lesion = the
                                       new lesion or the largest target, detail = why */
    METASIM_EVENT_DOSE = 11,        /* a dose is given: site = the drug, value = mg, detail =
                                       "bolus", "infusion 1 h" or "oral" */
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
    unsigned long long injected;    /* of `shed`, cells injected into the blood by the arm's
                                       schedule (arms.<name>.injections), not shed by a lesion */
} metasim_counts_t;

/* A drug's exposure at an output time, one per effect of the drug (one with effect = -1 for a
 * drug without effects), from the time an arm is assigned. Strings belong to the model. */
typedef struct metasim_exposure {
    double time;          /* d */
    const char *drug;     /* the drug's name */
    double concentration; /* mg/L in the central compartment */
    int effect;           /* index into the drug's effects, or -1 */
    const char *target;   /* "death", "division", "transition", "shedding", "factor" or "" */
    double value;         /* the effect on cells without resistance: added death rate (/d), blocked
                             fraction, or for a factor the blocked fraction (induction is not shown) */
} metasim_exposure_t;

/* Where a simulation sends its output. Any callback may be NULL. A callback returning nonzero
 * stops the run with METASIM_E_IO. */
typedef struct metasim_writer {
    void *user;
    int (*sample)(void *user, const metasim_sample_t *sample);
    int (*event)(void *user, const metasim_event_t *event);
    int (*exposure)(void *user, const metasim_exposure_t *exposure);
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

/* Creates a simulation of `model` (which must outlive it). When the scenario's patients differ
 * (`cohort`), the simulation runs patient options->patient's own model (metasim_model_patient(),
 * metasim_sim_model()); METASIM_E_INVALID then means that the patient's drawn values break a
 * rule, and metasim_model_patient() gives the message. On failure returns a negative code and
 * sets *sim to NULL. */
METASIM_API int metasim_sim_create(const metasim_model_t *model,
                                   const metasim_sim_options_t *options, metasim_sim_t **sim);

/* Advances the simulation until `t_max` (days), until `max_events` more events (0 = no
 * budget), or until a stop condition holds. Returns a METASIM_STOP_* reason, or a negative
 * code (then see metasim_sim_errmsg()). Scheduled times (the output grid, t_max) are hit
 * exactly. */
METASIM_API int metasim_sim_run(metasim_sim_t *sim, double t_max, unsigned long long max_events);

/* The model the simulation runs: the patient's own model when the scenario's patients differ,
 * else the model it was created with. Valid while the simulation lives. */
METASIM_API const metasim_model_t *metasim_sim_model(const metasim_sim_t *sim);
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
    double diagnosis;          /* time of diagnosis */
    int t_stage;               /* 1-3 from the primary's diameter at diagnosis (0 = not found) */
    int n_stage;               /* 0-3 from involved regional nodes at surgery (at diagnosis if
                                  there is no surgery) */
    int m_stage;               /* 1 when a distant lesion was detectable at diagnosis */
    double primary_diameter;   /* cm, at diagnosis */
    double surgery;            /* time of surgery */
    double relapse;            /* time the first relapse was detected */
    int relapse_local;         /* the first relapse included a lesion at the primary's site */
    int relapse_distant;       /* ... a lesion at any other non-regional site */
    const char *relapse_site;  /* site of the largest lesion of the first relapse, or NULL;
                                  the model's string, valid as long as the model */
    double death;              /* time of death from the tumour */
    double progression;        /* time of the first progression (RECIST 1.1 at a scan) */
    const char *relapse_cause; /* why the first relapse's largest lesion grew (docs/clinic.md):
                                  "acquired resistance", "pre-existing resistance", "dormancy
                                  escape", "adaptive state", "microenvironment protection",
                                  "no resistance"; NULL before a relapse; static storage */
    double assigned;           /* time the arm was assigned (surgery, or diagnosis) */
    double treatment;          /* time the first line of therapy started */
} metasim_clinical_t;

METASIM_API int metasim_sim_clinical(const metasim_sim_t *sim, metasim_clinical_t *clinical);

/* Whether the patient meets the trial's inclusion criteria (`trial.inclusion`), read once an
 * arm can be assigned: 1 when eligible, 0 when not (a screen failure; *reason, when `reason`
 * is not NULL, says why in static storage: "not diagnosed", "not assigned", "T stage",
 * "N stage", "M stage"), or METASIM_E_ARG. A patient who has not reached the point of
 * assignment is "not assigned" (or "not diagnosed"). */
METASIM_API int metasim_sim_eligible(const metasim_sim_t *sim, const char **reason);

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
    double detected; /* d: first seen on imaging (at diagnosis or a scan), NaN before */
} metasim_lesion_info_t;

/* The number of lesions ever founded (extinct ones included: they are the seeding graph). */
METASIM_API size_t metasim_sim_lesions(const metasim_sim_t *sim);

/* Fills *info for lesion `lesion`; METASIM_E_ARG when out of range. */
METASIM_API int metasim_sim_lesion_info(const metasim_sim_t *sim, size_t lesion,
                                        metasim_lesion_info_t *info);

/* Where a clone's drug resistance came from. */
typedef enum metasim_resistance {
    METASIM_RESISTANCE_NONE = 0,         /* it carries no locus that shifts an EC50 */
    METASIM_RESISTANCE_PRE_EXISTING = 1, /* its first resistance locus arose before the first
                                            line of therapy started (or none has started) */
    METASIM_RESISTANCE_ACQUIRED = 2,     /* ... arose during treatment */
} metasim_resistance_t;

/* One clone of the lineage. */
typedef struct metasim_clone_info {
    unsigned parent;                 /* index of the clone it arose from; itself for the founder */
    unsigned origin_lesion;          /* lesion where it arose */
    double born;                     /* d */
    unsigned long long loci;         /* bit k set: locus k mutated (metasim_model_locus_name()) */
    metasim_resistance_t resistance; /* provenance of its resistance (docs/therapy.md) */
    double resistant_since;          /* d: birth of the ancestor (or itself) that first carried a
                                        resistance locus or karyotype; NaN without resistance */
    const unsigned char *copies;     /* copy numbers of the model's chromosomes
                                        (metasim_model_chromosome_name()); NULL without a
                                        karyotype. Valid until the simulation next runs. */
    int aneuploid;                   /* 1 when some copy number differs from the founders' */
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
 * (schema version, metasim version, creation time, command line, seed, scenario text, trial
 * design, results digest), the arms, per patient its screening (in a trial) and what it was
 * given in a varying cohort (subtype, parameter values), and per (patient, arm): cascade
 * totals, lesions (the seeding graph), clones (the lineage as an edge list, with karyotypes),
 * events, time series on the output grid (with explicit zeros), drug exposures (concentration
 * and effect at output times), the clinical course and endpoints (time from diagnosis, status
 * 1 = event, 0 = censored, as R's survival::Surv reads them); and the trial statistics computed
 * from the endpoints and clinical courses when the database is closed (Kaplan-Meier curves,
 * tests against the reference arm, paired effects, landmarks, sites and causes of first
 * relapse).
 *
 * The arm of a row is the arm's name, or SQL NULL for no arm: an untreated patient, a patient a
 * trial did not enrol, or (paired design) the history a patient's arms share, up to the point
 * of assignment, which is written once.
 *
 * One process writes a database, through one handle used by one thread at a time. It is built
 * in `path` + ".partial" (a stale one is replaced) and renamed into place by
 * metasim_results_close(), so an interrupted or failed run never leaves a half-written file at
 * `path`. Each patient is written in one transaction; memory does not grow with the number of
 * patients. After any write failure the handle refuses further writes, and closing it removes
 * the partial file.
 *
 * Every failure sets a message naming the file (metasim_results_errmsg()), for example
 * `out/trial.db: cannot create: No such file or directory`.
 */
typedef struct metasim_results metasim_results_t;

/* Creates a results database at `path` for runs of `model`, which must outlive the handle (lesion
 * sites, states, locus and arm names are read from it). Refuses an existing file with
 * METASIM_E_EXISTS unless `overwrite`. `command_line` (may be NULL) and `seed` are recorded.
 * Returns 0 and sets *results, or a negative code: METASIM_E_ARG for a bad argument,
 * METASIM_E_EXISTS, METASIM_E_IO when the file cannot be created or written, METASIM_E_NOMEM.
 * On failure *results is a handle carrying the message (release it with
 * metasim_results_discard()), or NULL when even that could not be allocated; nothing is left on
 * disk. (A trial's database is made by metasim_trial_run().) */
METASIM_API int metasim_results_create(const char *path, const metasim_model_t *model,
                                       const char *command_line, unsigned long long seed,
                                       int overwrite, metasim_results_t **results);

/* Fills *writer with a writer that records the samples, events and exposures of patient
 * `patient` under arm `arm` (0 for no arm, k >= 1 for the model's k-th arm, as
 * metasim_sim_options_t.arm); pass it in metasim_sim_options_t.writer of that patient's
 * simulation. Samples become rows of `samples` with explicit zeros: once a (lesion, clone,
 * state) has been sampled, every later sample time of the patient has a row for it (0 when the
 * compartment is gone); a compartment sampled twice at one time keeps its first row. Sample
 * times must not decrease. Exposures become rows of `exposures`. The rows are kept in memory
 * until metasim_results_add_patient(). A callback returns nonzero (so the run
 * stops with METASIM_E_IO) when recording fails; the reason is in metasim_results_errmsg().
 *
 * The writer is valid until metasim_results_add_patient() for the same patient and arm, and
 * must not be used after that. Calling this again for the same patient and arm before then
 * gives the same writer; calling it for another patient or arm while the pending one has rows
 * but was not added is METASIM_E_STATE. Returns 0 or a negative code (METASIM_E_ARG for an arm
 * the model does not have). */
METASIM_API int metasim_results_writer(metasim_results_t *results, unsigned patient, unsigned arm,
                                       metasim_writer_t *writer);

/* Records patient `patient` under arm `arm` from its finished simulation `sim` (a simulation of
 * the handle's model): its lesions, clones (with their copy numbers), cascade totals, clinical
 * course and endpoints, the time and burden at the end, and `stop_reason`, the METASIM_STOP_*
 * value its last metasim_sim_run() returned (METASIM_STOP_TREATMENT is not an end). A patient left
 * without tumour cells is followed to the horizon: its censored endpoints end there. The first
 * time a patient is added it also gets its `screening` row (not screened: `enrolled` NULL) with
 * its subtype, and its parameter values, both from metasim_sim_model(sim); adding it under another
 * arm writes neither again. Everything is copied: `sim` may be destroyed right after. Writes the
 * patient's transaction. Each (patient, arm) is added once. Returns 0, METASIM_E_ARG (bad
 * argument, unknown arm or stop reason), METASIM_E_STATE (another patient's writer is pending, the
 * patient was added before, or the handle was opened for reading), METASIM_E_IO or
 * METASIM_E_NOMEM. */
METASIM_API int metasim_results_add_patient(metasim_results_t *results, unsigned patient,
                                            unsigned arm, const metasim_sim_t *sim,
                                            int stop_reason);

/* Finishes and releases the handle in every case. For a handle from metasim_results_create():
 * indexes the tables, computes the statistics tables from the endpoints (reading them back one
 * endpoint at a time), records the results digest (metasim_results_digest()), flushes to disk
 * and renames the database into place. Returns 0 or a negative code (then nothing is left at
 * `path` that was not there before): METASIM_E_STATE when a patient's writer was used but the
 * patient never added, METASIM_E_EXISTS when `path` appeared meanwhile and overwriting was not
 * asked for, METASIM_E_IO, or the code of an earlier failure. When `message` is not NULL it
 * receives, on failure, the message (which the caller frees with metasim_free()), else NULL:
 * the handle is gone, so metasim_results_errmsg() cannot be asked. For a handle from
 * metasim_results_open() it only releases it. NULL is allowed (returns 0). */
METASIM_API int metasim_results_close(metasim_results_t *results, char **message);

/* Releases the handle. For a handle from metasim_results_create(), everything written is
 * discarded and the partial file removed (nothing is ever written at `path`); a handle from
 * metasim_results_open() leaves its file untouched. NULL is allowed. */
METASIM_API void metasim_results_discard(metasim_results_t *results);

/* Opens an existing database for reading (export, digest, summary). Returns 0 and sets
 * *results, or a negative code and a handle carrying the message (or NULL when out of memory):
 * METASIM_E_IO for a missing or unreadable file, a file that is not an SQLite database, an
 * SQLite database that is not metasim results, a schema version other than the one this library
 * reads (older files are refused too: re-run the simulation), or a damaged file;
 * METASIM_E_NOMEM. */
METASIM_API int metasim_results_open(const char *path, metasim_results_t **results);

/* Writes every table as tidy long CSV (`<table>.csv`: a header row, RFC 4180 quoting where a
 * field needs it, numbers with 17 significant digits, NULL as an empty field, rows ordered by
 * patient, arm, then the table's natural keys) into directory `dir`, which is created if
 * missing. Existing files of those names are refused (METASIM_E_EXISTS) unless `overwrite`.
 * Each file is written under a temporary name in `dir` and renamed once all are complete; on
 * failure the temporary files are removed, and so is `dir` if this call made it. The handle
 * must come from metasim_results_open() (METASIM_E_STATE otherwise). Returns 0 or a negative
 * code. */
METASIM_API int metasim_results_export_csv(metasim_results_t *results, const char *dir,
                                           int overwrite);

/* Writes one rooted Newick tree of the clone lineage per patient and arm into directory `dir`
 * (created if missing): `patient_<K>.nwk` for a patient without arm, `patient_<K>_<ARM>.nwk`
 * under an arm. Nodes are labelled `c<clone>`, followed by `_` and the clone's mutated loci
 * joined by `+` when it has any (characters that Newick reserves become `_`); branch lengths
 * are the difference of birth times in days; the root has no length. Existing files, temporary
 * names and the handle are treated as by metasim_results_export_csv(). Returns 0 or a negative
 * code. */
METASIM_API int metasim_results_export_newick(metasim_results_t *results, const char *dir,
                                              int overwrite);

/* The results digest: a 64-bit FNV-1a hash, as 16 lowercase hex digits and a NUL, over every
 * row of the tables that hold simulated results (screening, patients, lesions, clones, events,
 * exposures, clinical, endpoints) in key order; provenance (times, command line, threads), the
 * samples (whose extent --series chooses) and the statistics (computed from the endpoints) are
 * left out. The exposures are written for the --series patients only, so the digest depends on
 * --series, which a resume and a merge require to be the same anyway. Equal results give equal
 * digests, whatever the threads, shards or interruptions that produced them (docs/trials.md). */
#define METASIM_DIGEST_SIZE 17

/* Computes the digest of an opened database into `digest` (reading every row once). When the
 * database records a digest (meta.results_digest) that differs, returns METASIM_E_IO with a
 * message (the file was changed or damaged after it was written); the computed digest is still
 * filled in. Returns 0 or a negative code. */
METASIM_API int metasim_results_digest(metasim_results_t *results,
                                       char digest[METASIM_DIGEST_SIZE]);

/* The value of provenance key `key` (a row of the meta table, docs/results.md) of an opened
 * database: 0 and *value (the caller frees it with metasim_free(); NULL for an SQL NULL), or
 * METASIM_E_ARG when there is no such key, or another negative code. */
METASIM_API int metasim_results_meta(metasim_results_t *results, const char *key, char **value);

/* A plain-text summary of an opened database's trial: the screening counts, then per endpoint
 * (but the cause-specific relapse_<site>) and arm the number of patients, events, the median
 * with its 95 % CI, the hazard ratio against the reference arm with its CI ("not estimable",
 * with the reason below the table, when an arm has no events), the log-rank p-value and the
 * difference in restricted mean survival time with its CI; the paired effects, each with the
 * restricted-mean difference unpaired and paired (with standard errors); and per arm the sites
 * and causes of first relapse. Several lines, each ending in a newline.
 * Sets *text (the caller frees it with metasim_free()). Returns 0 or a negative code. */
METASIM_API int metasim_results_summary(metasim_results_t *results, char **text);

/* Merges the shards `inputs[0..n_inputs-1]` (complete databases written by metasim_trial_run()
 * with metasim_trial_options_t.shards > 1) into one database at `path`, as if the trial had run
 * unsharded, and computes its statistics and digest. Every input must record the same scenario
 * text, seed, number of patients, design, allocation, series and metasim version, and together
 * the inputs must hold every patient exactly once; otherwise nothing is written and the message
 * says which input and which rule (for example `b.db: seed 7 differs from a.db's (5)` or
 * `patient 12 is in both a.db and c.db`). An existing `path` is refused unless `overwrite`.
 * `command_line` (may be NULL) is recorded. Returns 0 or a negative code: METASIM_E_ARG for bad
 * arguments, METASIM_E_INVALID for inputs that do not make one trial (or that are missing, not
 * metasim results, or unreadable), METASIM_E_EXISTS, METASIM_E_IO (the output cannot be
 * written), METASIM_E_NOMEM. When
 * `message` is not NULL it receives the message on failure (the caller frees it with
 * metasim_free()), else NULL. */
METASIM_API int metasim_results_merge(const char *path, const char *const *inputs, size_t n_inputs,
                                      int overwrite, const char *command_line, char **message);

/* The message of the last failure on this handle ("" when none, and for NULL). */
METASIM_API const char *metasim_results_errmsg(const metasim_results_t *results);

/* ---------------------------------------------------------------- units */

/* Parses a time as written in a scenario ("36 h", "5 y", "2 w"; a bare number is in days) into
 * days. Returns 0, or METASIM_E_ARG for text that is not a finite time. */
METASIM_API int metasim_parse_time(const char *text, double *days);

/* ---------------------------------------------------------------- CSV output */

/* A writer that appends samples as tidy CSV rows (time,lesion,site,clone,state,cells) to the
 * file at `path`, and drug exposures (time,drug,concentration,effect,target,value; concentration
 * in mg/L, effect, target and value empty for a drug without effects) to the sibling file
 * metasim_csv_exposures_path() names; it creates both, each with a header (the second has no
 * rows when nothing is given). Returns 0 and fills *writer, or METASIM_E_IO (errno says why;
 * neither file is left), METASIM_E_ARG, METASIM_E_NOMEM. Close it with
 * metasim_csv_writer_close(), which reports write errors. */
METASIM_API int metasim_csv_writer_open(const char *path, metasim_writer_t *writer);
METASIM_API int metasim_csv_writer_close(metasim_writer_t *writer);

/* The exposures file of the CSV writer for `path`: `path` without a final ".csv", then
 * "-exposures.csv" (run.csv -> run-exposures.csv). The caller frees it with metasim_free();
 * NULL for a NULL path or when out of memory. */
METASIM_API char *metasim_csv_exposures_path(const char *path);

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

/* ---------------------------------------------------------------- virtual trials */

/*
 * A virtual trial simulates patients 0 .. N-1 of a model (each patient's randomness keyed by
 * (seed, patient, arm, purpose), never by thread) and writes them to a results database in
 * patient order, then computes its statistics (docs/trials.md).
 *
 * Designs. Paired (the default): each patient's untreated history is simulated once up to the
 * point of assignment (surgery, or diagnosis without surgery) and then continued under every
 * arm from that same state, so arms differ only by treatment. Randomised: each patient is
 * assigned one arm, drawn from a stream of its own (seed, patient) with the allocation ratios,
 * and continued under that arm only. Either way a patient that never reaches the point of
 * assignment (its tumour dies out, it is not diagnosed, or dies, before it) or is not eligible
 * there (the scenario's inclusion criteria, metasim_sim_eligible()) is not enrolled: the
 * `screening` table says why, and the patient's untreated course is recorded without an arm.
 *
 * Execution. `threads` worker threads each simulate whole patients; the calling thread writes
 * finished patients strictly in patient order through a bounded reorder buffer, so memory stays
 * flat and the database (and its digest) is bit-identical for any number of threads. Each
 * patient is committed as it is written, so a run that stops (the progress callback asks it
 * to, max_patients is reached, or the process is killed) can be continued with `resume`.
 */

typedef enum metasim_trial_design {
    METASIM_DESIGN_PAIRED = 0,
    METASIM_DESIGN_RANDOMISED = 1,
} metasim_trial_design_t;

/* Progress, passed to metasim_trial_options_t.progress after each patient is written. */
typedef struct metasim_trial_progress {
    unsigned long long done;     /* patients of this run's share written so far (resumed
                                    ones included) */
    unsigned long long total;    /* patients of this run's share (the shard's, or N) */
    unsigned long long resumed;  /* of `done`, patients found in the partial file */
    unsigned long long enrolled; /* patients enrolled among those this call wrote */
    double elapsed;              /* seconds since this call started */
} metasim_trial_progress_t;

/* A trial's options. Zero-initialise, then set what differs from the defaults. */
typedef struct metasim_trial_options {
    const char *path;                /* the results database (required) */
    unsigned long long seed;         /* master seed */
    unsigned patients;               /* N, the trial's patients 0 .. N-1 (required, >= 1) */
    unsigned threads;                /* simulation threads, at most 1024; 0 means 1 */
    metasim_trial_design_t design;   /* METASIM_DESIGN_PAIRED by default */
    const double *allocation;        /* randomised design: one weight > 0 per arm, in the
                                        model's order (read during the call); NULL = equal */
    unsigned series;                 /* samples and exposures (time series) are written for
                                        patients with index < series only; events and end
                                        states for all */
    unsigned shard, shards;          /* run only the patients with index % shards == shard;
                                        shards 0 or 1 = all (merge shards with
                                        metasim_results_merge()) */
    int overwrite;                   /* replace an existing `path` */
    int resume;                      /* continue the run left in `path`.partial (same model text,
                                        seed, patients, design, allocation, series and shard, or
                                        METASIM_E_INVALID) after its last complete patient */
    const char *command_line;        /* recorded as provenance; may be NULL */
    unsigned long long max_patients; /* stop after writing this many patients in this call and
                                        keep the partial file for `resume`; 0 = no limit */
    /* Called by the calling thread after each patient is written (may be NULL). Returning
     * nonzero stops the run as max_patients does. */
    int (*progress)(void *user, const metasim_trial_progress_t *progress);
    void *user;
} metasim_trial_options_t;

/* metasim_trial_run() returns this (positive) when it stopped early at the caller's request
 * (progress callback or max_patients): `path`.partial holds every patient written so far and
 * a later call with `resume` continues it. */
#define METASIM_TRIAL_STOPPED 1

/* Runs the trial of `model` described by `options` (both read only; the model is shared by the
 * threads). On success writes `options->path` (statistics and digest included) and returns 0;
 * `digest` (may be NULL) receives the results digest (metasim_results_digest()). Returns
 * METASIM_TRIAL_STOPPED as described above, or a negative code: METASIM_E_ARG (bad options:
 * no path, no patients, a shard not below shards, more than 1024 threads, an allocation weight
 * not > 0, a model without arms), METASIM_E_EXISTS (`path` exists and overwrite is not set),
 * METASIM_E_INVALID (resume: no partial file, or one of another trial; it is left as it was),
 * METASIM_E_IO, METASIM_E_NOMEM, or a simulation's error. After a failure `path` is never written;
 * `path`.partial keeps the patients written before it (if any), so that a resume can continue
 * once the cause is fixed. When `message` is not NULL it receives a message on failure (the
 * caller frees it with metasim_free()), else NULL. */
METASIM_API int metasim_trial_run(const metasim_model_t *model,
                                  const metasim_trial_options_t *options,
                                  char digest[METASIM_DIGEST_SIZE], char **message);

#ifdef __cplusplus
}
#endif

#endif
