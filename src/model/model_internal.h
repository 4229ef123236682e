/* The frozen model: a validated scenario read into typed values in canonical units (days,
 * per day, cells, mg, L). Engine and trial code read these structs; names point into the
 * scenario tree, which the model keeps. */
#ifndef METASIM_MODEL_INTERNAL_H
#define METASIM_MODEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag_internal.h"
#include "metasim/metasim.h"
#include "model/cohort_internal.h"
#include "model/tree_internal.h"

typedef enum ms_growth { MS_GROWTH_EXPONENTIAL, MS_GROWTH_LOGISTIC, MS_GROWTH_GOMPERTZ } ms_growth;
typedef enum ms_pk_model { MS_PK_ONE_COMPARTMENT, MS_PK_TWO_COMPARTMENT } ms_pk_model;
typedef enum ms_route { MS_ROUTE_IV, MS_ROUTE_ORAL } ms_route;

/* State indices 0 and 1 are always cycling and dormant. */
enum { MS_STATE_CYCLING = 0, MS_STATE_DORMANT = 1 };

typedef struct ms_transition {
    size_t from, to; /* state indices */
    double rate;     /* /d */
} ms_transition;

typedef struct ms_site {
    const char *name;
    double blood_flow, colonisation, dormancy_on_arrival;
    ms_growth growth;
    double capacity;     /* cells; 0 for exponential growth */
    double *division;    /* per state, /d */
    double *death;       /* per state, /d */
    double lethal_cells; /* 0 when the site has no lethal size of its own */
    double shedding;     /* /d per cell */
    bool regional;       /* the primary's regional lymph nodes */
    double lymph_flow;   /* share of the primary's shed cells reaching it by lymph */
    /* Per state: a factor on shedding (1 for states not listed). */
    double *state_shedding;
    ms_transition *transitions;
    size_t n_transitions;
    /* Vascular capacity (docs/model.md): the factor whose level is a lesion's capacity, or
     * n_factors for the fixed `capacity`; and lambda of Gompertz growth at a set rate
     * (sites.S.gompertz_rate, /d), 0 for the normalised law. */
    size_t capacity_factor;
    double gompertz_rate;
} ms_site;

typedef struct ms_locus {
    const char *name;
    double mutation_probability, division_effect, death_effect;
    double *production; /* per factor: factor on the carriers' production */
    double shedding;    /* factor on the carriers' shedding */
    double *tropism, *colonisation, *dormant_death; /* per site: factors */
    double *resistance;                             /* per drug: factor on EC50 */
} ms_locus;

/* A chromosome followed by the karyotype module (docs/karyotype.md). */
typedef struct ms_chromosome {
    const char *name;
    unsigned copies;          /* in the founding cells */
    double division_per_copy; /* factor on division per copy above `copies` */
    double *resistance;       /* per drug: factor on EC50 per copy gained */
} ms_chromosome;

typedef struct ms_factor {
    const char *name;
    double decay, source, initial; /* /d, level/d, level */
    double *production;            /* per state: level per cell per day */
    double inhibition;      /* /d per cell^(2/3): loss inhibition N^(2/3) F (Hahnfeldt 1999) */
    double primary_initial; /* the primary's level at time 0 (primary.initial_levels) */
    bool capacity;          /* some site's lesions take this level as their capacity */
} ms_factor;

typedef enum ms_target {
    MS_TARGET_DIVISION,
    MS_TARGET_DEATH,
    MS_TARGET_TRANSITION,
    MS_TARGET_SHEDDING,
    MS_TARGET_HOMING,
    MS_TARGET_PRODUCTION, /* another factor's production (cells and source) */
    MS_TARGET_DRUG_KILL,  /* the death rate added by drugs */
} ms_target;

typedef struct ms_modifier {
    size_t factor;
    ms_target target;
    size_t state;    /* division/death/shedding/drug_kill: the state acted on, or n_states */
    size_t from, to; /* transitions */
    size_t of;       /* production: the factor whose production it multiplies */
    double max_effect, ec50, hill;
} ms_modifier;

typedef enum ms_effect_target {
    MS_EFFECT_DEATH,
    MS_EFFECT_DIVISION,
    MS_EFFECT_TRANSITION,
    MS_EFFECT_SHEDDING,
    MS_EFFECT_FACTOR,
} ms_effect_target;

typedef struct ms_effect {
    ms_effect_target target;
    size_t state;     /* death, division, shedding: the state acted on, or n_states for all */
    size_t site;      /* the site acted on, or n_sites for all */
    size_t from, to;  /* transition: the states */
    size_t factor;    /* factor: its index */
    double max;       /* max_kill (/d) or max_block (fraction) */
    double induction; /* factor: induced production at saturation (level/d) */
    double fold;      /* factor: fold of production at saturation (1: none) */
    double loss;      /* factor: loss rate of the level added at saturation (/d) */
    double rate;      /* transition: induced rate at saturation (/d) */
    /* For the drug step rule (therapy.c): the largest rate (/d) the effect moves per unit of
     * occupancy, and the smallest EC50 any cell can have (loci, states, gained copies). */
    double rate_scale, ec50_floor;
    double ec50, hill;
    double *state_resistance; /* per state: factor on the EC50 */
} ms_effect;

typedef struct ms_drug {
    const char *name;
    ms_pk_model pk_model;
    ms_route route;
    double half_life, volume;              /* d, L */
    double absorption_rate;                /* /d; 0 unless oral */
    double bioavailability;                /* fraction */
    double peripheral_volume, clearance_q; /* L, L/d; 0 unless two compartments */
    ms_effect *effects;
    size_t n_effects;
    /* mg/L: below this concentration no effect moves a rate (or a factor's production) by
     * MS_DRUG_NEGLIGIBLE or more, for any cell; 0 when not computed. */
    double negligible;
} ms_drug;

/* /d: a drug effect smaller than this is treated as absent (therapy.c), so that a drug decaying
 * for years after its last dose does not keep its effects computed at every step. Over 100 years
 * it moves fewer than 4e-15 expected events per cell. */
#define MS_DRUG_NEGLIGIBLE 1e-30

typedef enum ms_dose_basis { MS_DOSE_FLAT, MS_DOSE_PER_KG, MS_DOSE_PER_M2 } ms_dose_basis;

typedef struct ms_dose {
    size_t drug;                              /* index into drugs */
    double amount, start, interval, infusion; /* mg (per kg, per m2), d, d, d */
    uint64_t additional;
    ms_dose_basis basis; /* what `amount` is per */
} ms_dose;

typedef struct ms_regimen {
    const char *name;
    ms_dose *doses; /* one cycle's records */
    size_t n_doses;
    uint64_t cycles;
    double cycle_length; /* d; 0 with one cycle */
} ms_regimen;

typedef enum ms_anchor {
    MS_ANCHOR_DIAGNOSIS,
    MS_ANCHOR_SURGERY,
    MS_ANCHOR_RELAPSE,
    MS_ANCHOR_PROGRESSION,
    MS_ANCHOR_TIME_ZERO, /* the start of the simulation: an experiment's schedule */
} ms_anchor;

typedef enum ms_line_stop {
    MS_LINE_STOP_NONE,
    MS_LINE_STOP_RELAPSE,
    MS_LINE_STOP_PROGRESSION
} ms_line_stop;

typedef struct ms_line {
    size_t regimen;
    ms_anchor start;
    double delay, stop_after; /* d; stop_after INFINITY when the line runs its cycles */
    ms_line_stop stop_at;
    double pause_below, resume_above; /* cells; 0 when the line is not adaptive */
} ms_line;

/* Cells injected into the circulation at a set time, as in mouse experiments (labelled cells
 * into the tail vein; Kim et al., Cell 2009): a clone of their own, carrying `loci`, that
 * lands and colonises like shed cells (src/bio/injection.c). */
typedef struct ms_injection {
    double at;      /* d from time zero, the start of the simulation */
    uint64_t cells; /* injected */
    uint64_t loci;  /* bit k set: the cells carry locus k */
    size_t state;   /* the state they are injected in */
} ms_injection;

typedef struct ms_arm {
    const char *name;
    ms_line *lines;
    size_t n_lines;
    ms_injection *injections; /* in the order written */
    size_t n_injections;
} ms_arm;

struct metasim_model {
    /* Load outcome. */
    int status;
    char *source_name;
    char *text; /* the scenario as read, NUL-terminated */
    size_t text_len;
    ms_diag diag;
    char *errmsg;
    char *summary;
    ms_node *tree;

    /* The model (valid only when status == 0). */
    const char *name, *description;
    bool has_seed;
    uint64_t seed;
    double horizon, output_interval; /* d */
    double sample_interval;          /* d: output_interval times the decimation factor */
    const char **states;
    size_t n_states;
    ms_site *sites;
    size_t n_sites;
    size_t primary_site;
    uint64_t initial_cells;
    size_t initial_state; /* the founding cells' state */
    double detection_cells;
    double seeds_outside; /* share of self-seeding cells that found lesions around the primary */
    ms_locus *loci;
    size_t n_loci;
    /* The karyotype (none when n_chromosomes is 0). */
    ms_chromosome *chromosomes;
    size_t n_chromosomes;
    double missegregation;  /* per chromosome per division of an unstable cell */
    size_t cin_locus;       /* carriers of this locus are unstable; n_loci: every cell */
    double aneuploidy_cost; /* fraction of division lost per aneuploid chromosome */
    unsigned max_copies;    /* more copies, or none, is lethal */
    ms_factor *factors;
    size_t n_factors;
    ms_modifier *modifiers;
    size_t n_modifiers;
    ms_drug *drugs;
    size_t n_drugs;
    ms_regimen *regimens;
    size_t n_regimens;
    ms_arm *arms;
    size_t n_arms;
    bool additive;          /* therapy.combination: blocked fractions add (else Bliss) */
    bool assign_at_surgery; /* arms are assigned at surgery (else at diagnosis) */
    bool assign_at_start;   /* a line starts at time_zero, or an arm injects cells: arms are
                               assigned at time 0 */
    bool *keep_state;       /* per state: shed cells settle in it (circulation.keep_state) */
    /* The trial (docs/trials.md). */
    uint64_t trial_patients;
    unsigned t_allowed, n_allowed, m_allowed; /* bit k: stage k enrolled */
    double weight, surface;                   /* the patient's kg and m2 (Mosteller) */
    /* The clinic (docs/clinic.md). */
    double cells_per_cm3, detection_spread, symptomatic_cells, imaging_cells;
    double node_positive_cells, lethal_cells;
    bool surgery;
    double surgery_delay;
    double *scan_every, *scan_until; /* periods of follow-up, since surgery */
    size_t n_scan_periods;
    /* The circulation. */
    double ctc_survival, ctc_half_life, blood_volume; /* fraction, d, L */
    /* Engine settings (docs/engine.md). */
    double exact_below, step_bound, max_step;
    /* Between-patient variation (cohort_internal.h). A population model with a varying cohort
     * gives each patient a model of its own (metasim_model_patient()): `population` points
     * back, `subtype` and `covariates` record the patient's values, and `refs` counts the
     * simulations sharing it (forks of one patient). */
    ms_cohort cohort;
    const metasim_model_t *population; /* NULL for a model loaded from a scenario */
    size_t subtype;                    /* index into population->cohort.subtypes, or SIZE_MAX */
    ms_covariate *covariates;
    size_t n_covariates;
    unsigned refs;
};

/* A simulation's hold on a patient model: ms_model_retain() for each sharer, ms_model_release()
 * destroys it when the last lets go. Thread-safe. */
void ms_model_retain(metasim_model_t *m);
void ms_model_release(metasim_model_t *m);

#endif
