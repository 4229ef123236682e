/* One patient's output, buffered in memory between the thread that simulates the patient and
 * the one that writes the results database (docs/trials.md). A record holds the patient's
 * *units*: a unit is what one arm (or no arm) did to the patient, with its timeline events, its
 * samples and drug exposures on the output grid, and, once the unit is finished, its end state
 * (cascade totals, lesions, clones, clinical course). In the paired design a record holds the
 * shared history (arm 0, events and samples only, up to the point of assignment) followed by one
 * finished unit per arm; otherwise it holds one finished unit. The record also carries the
 * patient's screening outcome (enrolled or why not) and what the patient was given: its subtype
 * and parameter values in a varying cohort (ms_record_values()), which belong to the patient,
 * not to a unit.
 *
 * Strings the simulation hands out (site names, paths, subtypes) and the clones' copy numbers
 * belong to the simulation or to the patient's own model, which go with the simulation before
 * the record is written: the record keeps copies of all of them.
 *
 * Samples follow the database's explicit-zero rule (docs/results.md): once a (lesion, clone,
 * state) has been sampled, every later sample time of the same timeline has a row for it. An
 * arm's timeline is the shared history followed by the arm's rows, so the compartments seen by
 * the end of the history are carried into every arm (ms_record_end_history()).
 *
 * A record is used by one thread at a time and reused from patient to patient, so its buffers
 * follow the largest patient, not the number of patients. No SQLite here: results_db.c writes a
 * finished record (ms_results_write_record()). */
#ifndef METASIM_PATIENT_RECORD_INTERNAL_H
#define METASIM_PATIENT_RECORD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strbuf_internal.h"
#include "metasim/metasim.h"

/* No string (SQL NULL) in an event's offsets. */
#define MS_REC_NONE SIZE_MAX

typedef struct ms_rec_event {
    double time;
    metasim_event_kind_t kind;
    unsigned lesion, clone;
    size_t site, detail; /* offsets into the record's text, or MS_REC_NONE */
    double value;
} ms_rec_event;

typedef struct ms_rec_sample {
    double time;
    uint32_t lesion, clone;
    uint32_t site, state; /* indices into the record's names */
    double cells;
} ms_rec_sample;

/* A drug's exposure at an output time (metasim_exposure_t), one per effect of the drug. */
typedef struct ms_rec_exposure {
    double time;
    uint32_t drug;   /* index into the record's names */
    uint32_t target; /* index into the record's names; MS_REC_NO_NAME for a drug without effects */
    int effect;      /* index into the drug's effects, or -1 */
    double concentration, value;
} ms_rec_exposure;

/* No name (SQL NULL) in an exposure's target. */
#define MS_REC_NO_NAME UINT32_MAX

/* One value the patient was given (metasim_covariate_t), its path and unit interned. */
typedef struct ms_rec_value {
    uint32_t path, unit; /* indices into the record's names */
    double value;        /* in canonical units */
} ms_rec_value;

typedef struct ms_rec_unit {
    unsigned arm;  /* 0: no arm (untreated history); k >= 1: the model's k-th arm */
    bool finished; /* ended: no more rows */
    bool history;  /* the shared history of a paired patient: events and samples, no end
                      state (the fields below are unset) */
    size_t first_event, n_events;
    size_t first_sample, n_samples;
    size_t first_exposure, n_exposures;
    /* The end state. */
    int stop_reason;
    double end_time, cells;
    double follow_up; /* when follow-up ends: end_time, or the horizon for a patient without
                         tumour cells left (nothing can happen to them any more) */
    metasim_counts_t counts;
    size_t first_lesion, n_lesions;
    size_t first_clone, n_clones;
    metasim_clinical_t clinical; /* relapse_site is one of the record's names, or NULL */
} ms_rec_unit;

/* A compartment sampled in the current timeline, and the sample time it was last seen at. */
typedef struct ms_rec_key {
    uint32_t lesion, clone, state, site;
    uint32_t seen; /* generation (sample time) of its last row */
} ms_rec_key;

/* The explicit-zero bookkeeping of a timeline (a value: copy it to save it). */
typedef struct ms_rec_timeline {
    bool have_time;
    double now;   /* the sample time being written */
    uint32_t gen; /* its generation: 1, 2, ... within the timeline */
    size_t n_keys;
} ms_rec_timeline;

typedef struct ms_record {
    unsigned patient;
    bool keep_samples; /* false: samples and exposures are dropped (only events and end states
                          are kept) */

    ms_rec_unit *units;
    size_t n_units, cap_units;
    ms_rec_event *events;
    size_t n_events, cap_events;
    ms_rec_sample *samples;
    size_t n_samples, cap_samples;
    ms_rec_exposure *exposures;
    size_t n_exposures, cap_exposures;
    metasim_lesion_info_t *lesions; /* site is one of `names` */
    size_t n_lesions, cap_lesions;
    metasim_clone_info_t *clones; /* copies is NULL: see karyotypes */
    size_t n_clones, cap_clones;
    /* The clones' copy numbers, n_chromosomes per clone in the order of rec->clones (clone i's
     * at karyotypes + i * n_chromosomes); none when the model has no karyotype. */
    unsigned char *karyotypes;
    size_t n_chromosomes, cap_karyotypes;
    ms_strbuf text; /* event strings, NUL-separated */

    /* Screening (trials only). */
    bool screened, enrolled;
    char reason[160]; /* why not enrolled; "" when enrolled */

    /* What the patient was given (ms_record_values()). */
    bool valued;
    uint32_t subtype; /* index into the record's names, or MS_REC_NO_NAME */
    ms_rec_value *values;
    size_t n_values, cap_values;

    /* Sites, states, drugs and effect targets, interned (kept across patients: they are few). */
    char **names;
    size_t n_names, cap_names;

    /* Explicit zeros of the unit being written, and the state saved at the end of the shared
     * history, which every arm's timeline continues. */
    ms_rec_timeline tl, fork_tl;
    ms_rec_key *keys, *fork_keys;
    size_t cap_keys, cap_fork_keys;
    uint32_t *slots; /* open addressing into keys; a power of two, at least 2 n_keys */
    size_t n_slots;

    int failed;      /* the first failure's code; the record refuses further rows */
    ms_strbuf error; /* its message */
} ms_record;

/* Makes an empty record (free with ms_record_free()). */
void ms_record_init(ms_record *rec);
void ms_record_free(ms_record *rec);

/* The bytes the record's buffers hold (capacity, not use). */
size_t ms_record_bytes(const ms_record *rec);

/* Empties the record for patient `patient`, keeping its buffers; without `keep_samples` the
 * writer drops samples and exposures (the time series of a trial's first --series patients
 * only). */
void ms_record_reset(ms_record *rec, unsigned patient, bool keep_samples);

/* Starts a new unit for arm `arm` (0 for none); its events, samples and exposures go through the
 * writer ms_record_writer() returns. With `continue_history`, its timeline continues the shared
 * history saved by ms_record_end_history(); otherwise it starts empty. Returns 0 or
 * METASIM_E_NOMEM. */
int ms_record_begin_unit(ms_record *rec, unsigned arm, bool continue_history);

/* The writer of the current unit: pass it in metasim_sim_options_t.writer or
 * metasim_sim_fork(). Its callbacks return nonzero once the record has failed. */
metasim_writer_t ms_record_writer(ms_record *rec);

/* Ends the current unit as the shared history: completes its last sample time and saves the
 * timeline that the arms continue. Returns 0 or the record's failure code. */
int ms_record_end_history(ms_record *rec);

/* Ends the current unit with the end state of `sim` (which wrote it), whose last
 * metasim_sim_run() returned `stop_reason`; `horizon` is the model's follow-up horizon (d).
 * Returns 0 or a negative code (the record's message says why). */
int ms_record_end_unit(ms_record *rec, const metasim_sim_t *sim, int stop_reason, double horizon);

/* Records the screening outcome: enrolled, or not with a reason (copied, cut to fit). */
void ms_record_screen(ms_record *rec, bool enrolled, const char *reason);

/* Records what the patient was given: the subtype and values of `own`, the model its simulation
 * runs (metasim_sim_model(); in a varying cohort the patient's own model, otherwise the
 * scenario's, which has neither). Copies every string, so `own` may go before the record is
 * written. Once per patient. Returns 0 or the record's failure code. */
int ms_record_values(ms_record *rec, const metasim_model_t *own);

/* An event's string at `offset` (NULL for MS_REC_NONE). */
const char *ms_record_text(const ms_record *rec, size_t offset);

/* The copy numbers of the record's clone `i` (an index into rec->clones), rec->n_chromosomes of
 * them; NULL when the model has no karyotype. */
const unsigned char *ms_record_copies(const ms_record *rec, size_t i);

/* The name of interned index `i`. */
const char *ms_record_name(const ms_record *rec, uint32_t i);

/* The record's failure message ("" when none). */
const char *ms_record_errmsg(const ms_record *rec);

#endif
