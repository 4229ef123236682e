/*
 * The simulation engine: one patient advanced in steps. Within a step every rate is frozen at
 * its value at the step's start; compartments below the exact threshold are simulated event by
 * event (Gillespie's direct method), larger ones leap by the exact transition law of the linear
 * birth-death process (Kendall 1948; the BNB method of Mather, Hasty and Tsimring 2012), and
 * cells that leave a leaping compartment (mutant daughters, state transitions) are Poisson
 * counts on its integrated size. docs/engine.md gives the scheme, its exactness and its bounds.
 */
#ifndef METASIM_ENGINE_INTERNAL_H
#define METASIM_ENGINE_INTERNAL_H

#include <gsl/gsl_rng.h>
#include <stdbool.h>
#include <stdint.h>

#include "bio/therapy_internal.h"
#include "clinic/clinic_internal.h"
#include "core/strbuf_internal.h"
#include "metasim/metasim.h"
#include "state/patient_internal.h"

/* Gauss-Legendre nodes per step at which drug concentrations are evaluated (therapy.c). */
#define MS_DRUG_NODES 3

/* Per-cell rates of one compartment, frozen over a step (all /d). */
typedef struct ms_rates {
    double birth_same; /* divisions whose new daughter keeps the genotype */
    double birth_mut;  /* divisions whose new daughter acquires at least one locus */
    double mis;        /* divisions that missegregate: the cell leaves, two daughters of new
                          karyotypes arrive in other compartments (karyotype.c) */
    double death;
    double out;   /* state transitions out, summed */
    double shed;  /* shedding into the blood */
    double loss;  /* death + mis + out + shed: the loss rate of the compartment's own lineages */
    double total; /* every event: birth_same + birth_mut + loss */
} ms_rates;

/* Per-clone constants derived from the genotype. */
typedef struct ms_clone_traits {
    double division, death; /* products of the loci's effects */
    double no_mutation;     /* probability that a division's daughter acquires no locus */
    double shedding;        /* product of the loci's shedding factors */
    double missegregation;  /* probability that a division missegregates some chromosome */
} ms_clone_traits;

/* What a lesion's state does to its cells' rates over a step: density dependence and the
 * factor modifiers, evaluated at the step's start. Arrays live in the sim's workspace. */
typedef struct ms_env {
    double density;     /* f(N), 1 without density dependence */
    double net_limit;   /* Gompertz at a set rate: the net rate per cell lambda ln(K/N) averaged
                           over the step (/d), which caps b - d; +inf otherwise */
    double *division;   /* per state: product of the division modifiers */
    double *death;      /* per state: product of the death modifiers */
    double *transition; /* per transition of the lesion's site: its modified rate */
    double *shedding;   /* per state: product of the shedding modifiers */
    double *drug_kill;  /* per state: product of the drug_kill modifiers */
} ms_env;

/* A cell (or cells) on its way into a lesion that is not the one being stepped: a founder of
 * a new lesion, or a circulating cell returning to the primary. */
typedef struct ms_pending {
    uint32_t lesion, clone, state;
    double t;
    uint64_t count;
} ms_pending;

typedef struct ms_arrival {
    double t;
    uint32_t comp;
} ms_arrival;

/* Per-compartment step bookkeeping, indexed like the lesion's compartments. */
typedef struct ms_comp_step {
    ms_rates r;
    uint64_t end;   /* leaping compartments: count at the step's end */
    bool leaping;   /* this step, the compartment leaps (from `from`) */
    bool in_ssa;    /* counted in the SSA's total propensity */
    double from;    /* time its leap starts */
    uint64_t start; /* count at the step's start (0 for compartments new in the step) */
} ms_comp_step;

/* A resting lesion (docs/engine.md, "Resting lesions"): every cell simulated event by event, and
 * nothing that could change its rates before its next event (no factors in the model, no drug
 * acting at its site, no cells on their way to it, no event since its rates were set). By
 * memorylessness the next event's time, drawn once, stays valid while that holds, so the steps
 * before it skip the lesion. */
typedef struct ms_rest {
    double next;    /* the next event's time (may be +inf); NAN: not resting, stepped */
    uint64_t total; /* its cells when the time was drawn: a change outside a step ends it */
    double shed;    /* cells it sheds per day, for the expected circulating cells */
    double limit;   /* the longest step its cells allow (step_end), d */
} ms_rest;

struct metasim_sim {
    const metasim_model_t *model;
    metasim_model_t *own_model; /* the patient's own model (cohorts), shared by forks; or NULL */
    metasim_sim_options_t opt;
    ms_patient p;
    gsl_rng *rng;
    uint64_t events;
    uint64_t budget; /* the current run stops once events reach this */
    double next_sample;
    ms_strbuf err;
    double exact_below; /* copies of the model's engine settings */

    /* Workspaces, grown as needed and reused: no allocation per event. */
    ms_clone_traits *traits;
    size_t cap_traits;
    ms_comp_step *cs;
    size_t cap_cs;
    ms_arrival *queue;
    size_t n_queue, cap_queue; /* step.c's heap of arrivals */
    uint64_t queued;           /* arrivals queued in the step being taken */
    double extinct_at;         /* latest extinction time of a compartment during the step */
    ms_env env;                /* arrays sized for the model at creation */
    ms_pending *pending;
    size_t n_pending, cap_pending;
    double homing;   /* the primary's attraction multiplier, at the step's start */
    double env_tau;  /* the length of the step being taken, for the rates averaged over it
                        (vascular growth, rates.c); 0 outside it, where rates are read at the
                        start */
    double ctc;      /* expected circulating tumour cells in the whole blood */
    double ctc_next; /* the same at the end of the step being taken */
    metasim_counts_t counts;
    gsl_rng *blood; /* its own stream, so blood draws never perturb the history */
    ms_clinic clinic;
    double *weights;      /* per site: landing weights (spread.c workspace) */
    uint64_t *colonisers; /* per site: colonisers of one batch (step.c workspace) */
    double *gain;         /* per factor: its production modifiers (factors.c workspace) */
    ms_rest *rest;        /* per lesion: whether it rests this step, and until when */
    size_t cap_rest;
    bool *drugged;      /* per site: a drug acting on cells there in the step being taken */
    uint64_t truncated; /* lineages whose emissions were cut at the nesting limit */

    /* Therapy (therapy.c): the arm's lines of therapy, from its assignment on. */
    bool treated;              /* an arm (opt.arm >= 1) has been assigned */
    struct ms_line_run *lines; /* per line of the arm */
    size_t injected;           /* the arm's injections given so far, in order (injection.c) */
    struct ms_segment *segs;   /* every stretch of dosing so far, in order */
    size_t n_segs, cap_segs;
    /* Per drug and node: the concentrations (mg/L) at the Gauss-Legendre nodes of the step
     * being taken, conc[drug * MS_DRUG_NODES + node]; rates average the effects over them. */
    double *conc;
    unsigned keyed_arm; /* the arm part of the streams' key now */
};

/* sim.c: the longest step lesion l's cells allow, from its compartments' rates in s->cs
 * (docs/engine.md, "Steps"). */
double ms_engine_cells_limit(const metasim_sim_t *s, const ms_lesion *l);

/* sim.c: keys the engine and blood streams by (seed, patient, arm), rewound. */
void ms_engine_key_streams(metasim_sim_t *s, unsigned arm);

/* therapy.c: assigns the arm now (opt.arm; 0 is untreated): its streams take over and its lines
 * wait for their clinical events. */
int ms_therapy_assign(metasim_sim_t *s);
/* Starts, pauses, resumes and stops lines whose time or trigger has come, and reports the
 * doses given up to now. Called by the clinic at every step's end. */
int ms_therapy_update(metasim_sim_t *s);
/* Sets s->conc to the concentrations at the quadrature nodes of the step [t0, t1]. */
void ms_therapy_at(metasim_sim_t *s, double t0, double t1);
/* The quadrature weights of the nodes (summing to 1): a rate's mean over the step is
 * sum_q ms_drug_weight[q] rate(conc[drug * MS_DRUG_NODES + q]). */
extern const double ms_drug_weight[];
/* 1 when drug d has a positive concentration at some node of the step. */
bool ms_therapy_present(const metasim_sim_t *s, size_t d);
/* The next time a step must end for therapy (a dose, an infusion's end, a line's scheduled
 * start or stop), or the step limit from concentration changes; +inf when none. */
double ms_therapy_next(const metasim_sim_t *s, double t);
/* Copies the therapy state of `src` into `s` (a fork); 0 or METASIM_E_NOMEM. */
int ms_therapy_copy(metasim_sim_t *s, const metasim_sim_t *src);
/* Sends the concentrations and effects at the current time to writer->exposure. */
int ms_therapy_exposure(const metasim_sim_t *s, const metasim_writer_t *w);
void ms_therapy_free(metasim_sim_t *s);

/* rates.c: the fraction of drug effect `ef` at concentration `conc` on cells whose EC50 is
 * shifted by `shift`: H = 1 / (1 + (EC50 shift / C)^h). */
double ms_engine_occupancy(const ms_effect *ef, double conc, double shift);
/* The EC50 factor of drug `drug` for cells of `clone` in `state`'s effect `ef`. */
double ms_engine_resistance(const metasim_sim_t *s, uint32_t clone, uint32_t state, size_t drug,
                            const ms_effect *ef);
/* The rate of site transition j for compartment c of lesion l, drugs included. */
double ms_engine_transition(const metasim_sim_t *s, const ms_lesion *l, const ms_comp *c, size_t j);

/* rates.c */
int ms_engine_traits(metasim_sim_t *s, uint32_t clone);
double ms_engine_density(const ms_site *site, double n);
/* Fills s->env for lesion l at its current size and factor levels. */
void ms_engine_env(metasim_sim_t *s, const ms_lesion *l);
void ms_engine_rates(const metasim_sim_t *s, const ms_lesion *l, uint32_t comp, ms_rates *out);
/* The Hill multiplier 1 + (max_effect - 1) F^h / (ec50^h + F^h) of a modifier. */
double ms_engine_hill(const ms_modifier *mod, double level);

/* karyotype.c: the factor on division of copy numbers `k` (per-copy effects and the aneuploidy
 * cost); the probability q that a division of a cell with loci `loci` missegregates at least one
 * chromosome (0 for stable cells); the factor on drug `drug`'s EC50 from copies gained. */
double ms_karyotype_division(const metasim_model_t *m, const uint8_t *k);
double ms_karyotype_missegregation(const metasim_model_t *m, uint64_t loci);
double ms_karyotype_resistance(const metasim_model_t *m, const uint8_t *k, size_t drug);
/* Draws the chromosomes a missegregating division changes, given that at least one at index
 * first_from or later does (and none before): delta[i] is +1 when daughter A gains chromosome
 * i, -1 when it loses it (daughter B the opposite), 0 otherwise. */
void ms_karyotype_draw(metasim_sim_t *s, size_t first_from, int8_t *delta);
/* Daughter copy numbers parent + sign delta into `out`; false when they are lethal (no copy of
 * a chromosome, or more than max_copies). */
bool ms_karyotype_daughter(const metasim_model_t *m, const uint8_t *parent, const int8_t *delta,
                           int sign, uint8_t *out);

/* spread.c: `count` cells of `clone` shed by a lesion (the primary when `from_primary`, whose
 * cells may also take the lymph): how many colonise each site (colonisers[site], n_sites
 * entries), with the counters updated. */
void ms_engine_spread(metasim_sim_t *s, uint32_t clone, uint64_t count, bool from_primary,
                      uint64_t *colonisers);
/* Founds a lesion at `site` seeded by lesion `parent` with one cell of `clone`, shed in state
 * `shed_state`, at time t, in its arrival state (ms_engine_arrival_state); reports it to the
 * writer. */
int ms_engine_found_lesion(metasim_sim_t *s, uint32_t site, uint32_t parent, uint32_t clone,
                           uint32_t shed_state, double t);
/* Queues `count` cells for lesion `lesion`. */
int ms_engine_pending(metasim_sim_t *s, uint32_t lesion, uint32_t clone, uint32_t state, double t,
                      uint64_t count);
/* 1 when circulating cells landing at `site` join the primary (self-seeding). */
int ms_engine_joins_primary(const metasim_sim_t *s, uint32_t site);
/* The state a cell shed in `shed_state` starts in at `site`: that state when the circulation
 * keeps it (circulation.keep_state), else dormant with the site's probability or cycling. */
uint32_t ms_engine_arrival_state(metasim_sim_t *s, uint32_t site, uint32_t shed_state);
/* The same for n cells at once: how many start dormant (none when the circulation keeps
 * `shed_state`, else Binomial(n, the site's dormancy_on_arrival)); the others start in *awake,
 * `shed_state` when kept, else cycling. */
uint64_t ms_engine_arrivals_dormant(metasim_sim_t *s, uint32_t site, uint32_t shed_state,
                                    uint64_t n, uint32_t *awake);

/* factors.c: integral of N(u) exp(-decay (tau - u)) over a step along the path from n0 to n1. */
double ms_engine_weighted_area(double n0, double n1, double decay, double tau);
/* Adds lesion l's shedding over the step to s->ctc_next. */
void ms_engine_ctc(metasim_sim_t *s, const ms_lesion *l, double tau);

/* factors.c: advances lesion l's factor levels over [t0, t1] from its compartments' counts
 * at both ends (s->cs[k].start and comps[k].n), with the production modifiers taken at the
 * levels it holds on entry (the step's start). */
void ms_engine_factors(metasim_sim_t *s, ms_lesion *l, double tau);
/* dF/dt of factor k at lesion l now. */
double ms_engine_factor_slope(const metasim_sim_t *s, const ms_lesion *l, size_t k);
/* The mean of N(u)^(2/3) over a step along the path from n0 to n1 (exponential when both are
 * above 0, straight otherwise): the lesion's surface, which sets a factor's inhibition. */
double ms_engine_mean_surface(double n0, double n1);

/* mutation.c: the loci a new daughter of `parent` acquires, given that it acquires some. */
uint64_t ms_engine_mutate(metasim_sim_t *s, uint64_t parent);

/* step.c: room for n compartments' step bookkeeping in s->cs. */
int ms_engine_reserve_cs(metasim_sim_t *s, size_t n);

/* step.c: advances lesion `li` from t0 to t1 (rates frozen at t0), from the next event time
 * s->rest[li] holds if any; when `may_rest` (its rates cannot change before its next event)
 * and no event happened, leaves it resting until the next event drawn. Returns 0, a negative
 * code, or METASIM_STOP_SIZE / METASIM_STOP_EVENTS when the stop size or the event budget was
 * reached mid-step with nothing leaping (then s->p.t is that time and the state is exact). */
int ms_engine_step_lesion(metasim_sim_t *s, uint32_t li, double t0, double t1, bool may_rest);

/* sim.c: where clone `clone`'s resistance came from, and since when (*since, NaN for none). */
metasim_resistance_t ms_engine_provenance(const metasim_sim_t *s, uint32_t clone, double *since);
/* True when the clone's resistance comes from copies gained, not from a locus. */
bool ms_engine_resistant_by_karyotype(const metasim_sim_t *s, uint32_t clone);

/* Reports a new clone to the writer. */
int ms_engine_clone_event(metasim_sim_t *s, uint32_t clone, uint32_t lesion, double t);

#endif
