/*
 * The simulation handle: one patient, its random stream, the output grid and the step loop.
 * Each step ends at the earliest of: the next output time, the requested end time, max_step
 * after its start, and, for lesions with density dependence, the time in which the lesion's
 * expected relative change reaches step_bound (docs/engine.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array_internal.h"
#include "engine/engine_internal.h"
#include "rng/samplers_internal.h"
#include "rng/stream_internal.h"

static int fail(metasim_sim_t *s, int rc, const char *what)
{
    ms_strbuf_free(&s->err);
    ms_strbuf_printf(&s->err, "t = %.9g d: %s: %s", s->p.t, what, metasim_strerror(rc));
    return rc;
}

int metasim_sim_create(const metasim_model_t *model, const metasim_sim_options_t *options,
                       metasim_sim_t **sim)
{
    if (!sim)
        return METASIM_E_ARG;
    *sim = NULL;
    if (!model || !options || model->status != 0 || options->stop_cells < 0 ||
        !isfinite(options->stop_cells))
        return METASIM_E_ARG;
    /* A patient of a varying cohort runs its own model, built before anything else. */
    metasim_model_t *own = NULL;
    if (ms_cohort_varies(&model->cohort)) {
        int rc = metasim_model_patient(model, options->seed, options->patient, &own);
        if (rc != 0) {
            metasim_model_destroy(own);
            return rc;
        }
        model = own;
    }
    metasim_sim_t *s = calloc(1, sizeof *s);
    if (!s) {
        metasim_model_destroy(own);
        return METASIM_E_NOMEM;
    }
    s->model = model;
    s->own_model = own;
    s->opt = *options;
#ifndef NDEBUG
    s->opt.verify = 1; /* debug and sanitizer builds check the state after every step */
#endif
    s->exact_below = model->exact_below;
    size_t transitions = 1;
    for (size_t i = 0; i < model->n_sites; i++)
        if (model->sites[i].n_transitions > transitions)
            transitions = model->sites[i].n_transitions;
    s->env.division = malloc(model->n_states * sizeof(double));
    s->env.death = malloc(model->n_states * sizeof(double));
    s->env.transition = malloc(transitions * sizeof(double));
    s->env.shedding = malloc(model->n_states * sizeof(double));
    s->env.drug_kill = malloc(model->n_states * sizeof(double));
    s->gain = malloc((model->n_factors ? model->n_factors : 1) * sizeof *s->gain);
    s->weights = malloc(model->n_sites * sizeof *s->weights);
    s->colonisers = malloc(model->n_sites * sizeof *s->colonisers);
    s->drugged = calloc(model->n_sites, sizeof *s->drugged);
    s->rng = gsl_rng_alloc(ms_rng_philox);
    s->blood = gsl_rng_alloc(ms_rng_philox);
    s->conc = calloc(MS_DRUG_NODES * (model->n_drugs ? model->n_drugs : 1), sizeof *s->conc);
    if (options->arm > model->n_arms) {
        metasim_sim_destroy(s);
        return METASIM_E_ARG;
    }
    if (!s->rng || !s->blood || !s->conc || !s->env.division || !s->env.death ||
        !s->env.transition || !s->env.shedding || !s->env.drug_kill || !s->gain || !s->weights ||
        !s->colonisers || !s->drugged || ms_patient_init(&s->p, model) != 0 ||
        ms_engine_traits(s, 0) != 0) {
        metasim_sim_destroy(s);
        return METASIM_E_NOMEM;
    }
    /* A patient's history draws from the arm-0 streams; an arm's own streams take over when its
     * schedule starts (ms_therapy_start) or when the history is forked into it. */
    ms_engine_key_streams(s, 0);
    ms_clinic_init(s);
    s->counts.lesions = 1;
    s->homing = 1.0;
    *sim = s;
    return 0;
}

void metasim_sim_destroy(metasim_sim_t *s)
{
    if (!s)
        return;
    ms_patient_free(&s->p);
    ms_therapy_free(s);
    gsl_rng_free(s->rng);
    gsl_rng_free(s->blood);
    free(s->env.shedding);
    free(s->env.drug_kill);
    free(s->gain);
    free(s->weights);
    free(s->colonisers);
    free(s->drugged);
    free(s->rest);
    free(s->pending);
    free(s->traits);
    free(s->cs);
    free(s->queue);
    free(s->env.division);
    free(s->env.death);
    free(s->env.transition);
    ms_strbuf_free(&s->err);
    ms_model_release(s->own_model);
    free(s);
}

const metasim_model_t *metasim_sim_model(const metasim_sim_t *s)
{
    return s ? s->model : NULL;
}

int ms_engine_clone_event(metasim_sim_t *s, uint32_t clone, uint32_t lesion, double t)
{
    const metasim_writer_t *w = s->opt.writer;
    if (!w || !w->event)
        return 0;
    const ms_clone *cl = &s->p.clones[clone];
    uint64_t gained = cl->loci & ~s->p.clones[cl->parent].loci;
    char detail[512] = "";
    size_t used = 0;
    for (size_t k = 0; k < s->model->n_loci && used < sizeof detail - 70; k++) {
        if (gained >> k & 1) {
            int n = snprintf(detail + used, sizeof detail - used, "%s%s", used ? "+" : "",
                             s->model->loci[k].name);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    /* Copies gained and lost against the parent: "+chr6 -chr12". */
    const uint8_t *kc = ms_patient_karyotype(&s->p, clone);
    const uint8_t *kp = ms_patient_karyotype(&s->p, cl->parent);
    for (size_t i = 0; kc && i < s->model->n_chromosomes && used < sizeof detail - 70; i++) {
        int d = (int)kc[i] - (int)kp[i];
        for (int j = 0; j < abs(d) && used < sizeof detail - 70; j++) {
            int n = snprintf(detail + used, sizeof detail - used, "%s%c%s", used ? " " : "",
                             d > 0 ? '+' : '-', s->model->chromosomes[i].name);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    metasim_event_t e = {.time = t,
                         .kind = METASIM_EVENT_CLONE,
                         .lesion = lesion,
                         .clone = clone,
                         .parent_clone = cl->parent,
                         .source_lesion = lesion,
                         .site = s->model->sites[s->p.lesions[lesion].site].name,
                         .detail = detail};
    return w->event(w->user, &e) ? METASIM_E_IO : 0;
}

int metasim_sim_snapshot(const metasim_sim_t *s, const metasim_writer_t *w)
{
    if (!s)
        return METASIM_E_ARG;
    if (!w)
        return 0;
    const metasim_model_t *m = s->model;
    for (size_t i = 0; w->sample && i < s->p.n_lesions; i++) {
        const ms_lesion *l = &s->p.lesions[i];
        for (size_t k = 0; k < l->n_comps; k++) {
            metasim_sample_t x = {s->p.t,
                                  (unsigned)i,
                                  m->sites[l->site].name,
                                  l->comps[k].clone,
                                  m->states[l->comps[k].state],
                                  (double)l->comps[k].n};
            if (w->sample(w->user, &x) != 0)
                return METASIM_E_IO;
        }
    }
    return ms_therapy_exposure(s, w);
}

/* The smallest ec50 among the modifiers that read factor k (0 when none does). */
static double smallest_ec50(const metasim_model_t *m, size_t k)
{
    double ec50 = 0;
    for (size_t i = 0; i < m->n_modifiers; i++)
        if (m->modifiers[i].factor == k && (ec50 == 0 || m->modifiers[i].ec50 < ec50))
            ec50 = m->modifiers[i].ec50;
    return ec50;
}

static int awaited(const metasim_sim_t *s, uint32_t lesion);

/* The step's end: see the file comment. Factor levels that modulate rates may change by at
 * most step_bound (F + ec50) within a step, which bounds the relative change of their Hill
 * terms by about step_bound times the Hill coefficient; a lesion's capacity (a capacity
 * factor) by at most step_bound F, which bounds the change of ln(K/N) by step_bound. Extinct
 * lesions that no cell is on its way to are not stepped, so their frozen levels bound
 * nothing. */
static double step_end(metasim_sim_t *s, double t_max)
{
    const metasim_model_t *m = s->model;
    s->env_tau = 0; /* rates at the step's start */
    double t1 = fmin(fmin(t_max, s->next_sample), s->p.t + m->max_step);
    t1 = fmin(t1, ms_clinic_next(s));
    if (s->treated)
        t1 = fmin(t1, ms_therapy_next(s, s->p.t));
    for (size_t i = 0; i < s->p.n_lesions; i++) {
        const ms_lesion *l = &s->p.lesions[i];
        if (l->total == 0 && !awaited(s, (uint32_t)i))
            continue;
        for (size_t k = 0; k < m->n_factors; k++) {
            double ec50 = m->factors[k].capacity ? 0 : smallest_ec50(m, k);
            double slope = fabs(ms_engine_factor_slope(s, l, k));
            if ((ec50 > 0 || m->factors[k].capacity) && slope > 0)
                t1 = fmin(t1, s->p.t + m->step_bound * (l->factors[k] + ec50) / slope);
        }
        if (l->total == 0)
            continue;
        if (!isnan(s->rest[i].next)) { /* resting: its rates, and so its limit, are unchanged */
            t1 = fmin(t1, s->p.t + s->rest[i].limit);
            continue;
        }
        if (ms_engine_reserve_cs(s, l->n_comps) != 0)
            return NAN;
        ms_engine_env(s, l);
        for (uint32_t k = 0; k < l->n_comps; k++)
            ms_engine_rates(s, l, k, &s->cs[k].r);
        t1 = fmin(t1, s->p.t + ms_engine_cells_limit(s, l));
    }
    return t1;
}

double ms_engine_cells_limit(const metasim_sim_t *s, const ms_lesion *l)
{
    double net = 0, leave = 0, limit = INFINITY;
    for (uint32_t k = 0; k < l->n_comps; k++) {
        const ms_rates *r = &s->cs[k].r;
        /* A missegregating division leaves one cell and brings two. */
        net += (double)l->comps[k].n * (r->birth_same + r->birth_mut - r->loss + 2 * r->mis);
        leave = fmax(leave, r->birth_mut + r->out + 2 * r->mis);
    }
    /* A lineage grown over the step emits about `leave * tau` cells per cell: at most one
     * half keeps the generations within a step shrinking. */
    if (leave > 0)
        limit = 0.5 / leave;
    net = fabs(net) / (double)l->total;
    if (s->model->sites[l->site].growth != MS_GROWTH_EXPONENTIAL && net > 0)
        limit = fmin(limit, s->model->step_bound / net);
    return limit;
}

/* Marks the sites where a drug present in the step acts on cells (s->drugged): lesions
 * elsewhere keep their rates. Factor effects need factors, and models with factors never
 * rest. */
static void mark_drugged(metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    memset(s->drugged, 0, m->n_sites * sizeof *s->drugged);
    for (size_t d = 0; s->treated && d < m->n_drugs; d++) {
        if (!ms_therapy_present(s, d))
            continue;
        for (size_t k = 0; k < m->drugs[d].n_effects; k++) {
            const ms_effect *ef = &m->drugs[d].effects[k];
            for (size_t i = 0; i < m->n_sites; i++)
                s->drugged[i] |= ef->site == m->n_sites || ef->site == i;
        }
    }
}

/* Room for every lesion's resting state; new lesions are not resting. */
static int reserve_rest(metasim_sim_t *s)
{
    size_t had = s->cap_rest;
    if (ms_array_reserve((void **)&s->rest, &s->cap_rest, s->p.n_lesions, sizeof *s->rest, 16) != 0)
        return METASIM_E_NOMEM;
    for (size_t i = had; i < s->cap_rest; i++)
        s->rest[i] = (ms_rest){.next = NAN};
    return 0;
}

/* The primary's attraction for circulating cells: the product of the homing modifiers at the
 * primary's factor levels. */
static double homing(const metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    double h = 1.0;
    for (size_t i = 0; i < m->n_modifiers; i++)
        if (m->modifiers[i].target == MS_TARGET_HOMING)
            h *= ms_engine_hill(&m->modifiers[i], s->p.lesions[0].factors[m->modifiers[i].factor]);
    return h;
}

/* 1 when cells are on their way into lesion `lesion`. */
static int awaited(const metasim_sim_t *s, uint32_t lesion)
{
    for (size_t i = 0; i < s->n_pending; i++)
        if (s->pending[i].lesion == lesion)
            return 1;
    return 0;
}

int metasim_sim_run(metasim_sim_t *s, double t_max, unsigned long long max_events)
{
    if (!s || isnan(t_max))
        return METASIM_E_ARG;
    s->budget = max_events ? s->events + max_events : UINT64_MAX;
    const double interval = s->model->sample_interval;
    for (;;) {
        if (s->p.t >= s->next_sample) {
            int rc = metasim_sim_snapshot(s, s->opt.writer);
            if (rc != 0)
                return fail(s, rc, "writing samples");
            /* Grid times are multiples of the interval, not sums, so they never drift. */
            s->next_sample = (floor(s->p.t / interval + 1e-9) + 1) * interval;
        }
        int clinical = ms_clinic_update(s);
        if (clinical < 0)
            return fail(s, clinical, "writing a clinical event");
        if (clinical == METASIM_STOP_DEATH || clinical == METASIM_STOP_TREATMENT)
            return clinical;
        uint64_t total = ms_patient_total(&s->p);
        if (total == 0 && s->n_pending == 0)
            return METASIM_STOP_EXTINCT;
        if (s->opt.stop_cells > 0 && (double)total >= s->opt.stop_cells)
            return METASIM_STOP_SIZE;
        if (s->p.t >= t_max)
            return METASIM_STOP_TIME;
        if (s->events >= s->budget)
            return METASIM_STOP_EVENTS;
        if (reserve_rest(s) != 0)
            return fail(s, METASIM_E_NOMEM, "choosing a step");
        double t0 = s->p.t, t1 = step_end(s, t_max);
        if (isnan(t1))
            return fail(s, METASIM_E_NOMEM, "choosing a step");
        s->extinct_at = -INFINITY;
        s->homing = homing(s);
        /* Drug effects averaged over the step by quadrature (docs/therapy.md). */
        ms_therapy_at(s, t0, t1);
        mark_drugged(s);
        s->env_tau = t1 - t0; /* rates averaged over the step (vascular growth, rates.c) */
        const double clearance = log(2.0) / s->model->ctc_half_life;
        s->ctc_next = s->ctc * exp(-clearance * (t1 - t0));
        for (uint32_t i = 0; i < s->p.n_lesions; i++) {
            const ms_lesion *l = &s->p.lesions[i];
            bool coming = awaited(s, i);
            if (l->total == 0 && !coming)
                continue; /* extinct lesions stay as the seeding graph's nodes */
            if (reserve_rest(s) != 0)
                return fail(s, METASIM_E_NOMEM, "simulating a step");
            ms_rest *rest = &s->rest[i];
            bool may_rest = s->model->n_factors == 0 && !s->drugged[l->site] && !coming;
            if (!may_rest || rest->total != l->total)
                rest->next = NAN;
            if (rest->next >= t1) { /* resting through the step: only its shed cells count */
                s->ctc_next += rest->shed * ms_engine_weighted_area(1, 1, clearance, t1 - t0);
                continue;
            }
            int rc = ms_engine_step_lesion(s, i, t0, t1, may_rest);
            if (rc == METASIM_STOP_SIZE || rc == METASIM_STOP_EVENTS) {
                s->ctc = s->ctc_next; /* the only lesion stopped mid-step, at s->p.t */
                return rc;
            }
            if (rc != 0)
                return fail(s, rc, "simulating a step");
        }
        s->env_tau = 0;
        s->p.t = t1;
        s->ctc = s->ctc_next;
        if (ms_patient_total(&s->p) == 0 && s->n_pending == 0 && isfinite(s->extinct_at)) {
            s->p.t = s->extinct_at;
            const metasim_writer_t *w = s->opt.writer;
            metasim_event_t e = {s->p.t, METASIM_EVENT_EXTINCT, 0, 0, 0, 0, "", "", 0};
            if (w && w->event && w->event(w->user, &e) != 0)
                return fail(s, METASIM_E_IO, "writing an event");
        }
        if (s->opt.verify) {
            ms_strbuf why = {0};
            if (ms_patient_verify(&s->p, &why) != 0) {
                ms_strbuf_free(&s->err);
                ms_strbuf_printf(&s->err, "t = %.9g d: state check failed: %s", s->p.t,
                                 ms_strbuf_str(&why));
                ms_strbuf_free(&why);
                return METASIM_E_INTERNAL;
            }
        }
    }
}

double metasim_sim_factor(const metasim_sim_t *s, size_t lesion, size_t factor)
{
    if (!s || lesion >= s->p.n_lesions || factor >= s->model->n_factors)
        return NAN;
    return s->p.lesions[lesion].factors[factor];
}

void ms_engine_key_streams(metasim_sim_t *s, unsigned arm)
{
    ms_rng_set_stream(s->rng, s->opt.seed, s->opt.patient, arm, MS_PURPOSE_ENGINE);
    ms_rng_set_stream(s->blood, s->opt.seed, s->opt.patient, arm, MS_PURPOSE_BLOOD);
    s->keyed_arm = arm;
    /* Resting lesions draw their next events anew from the new streams, so that an arm's
     * course is the same whether its history was forked (which starts with none resting) or
     * run into it. */
    for (size_t i = 0; i < s->cap_rest; i++)
        s->rest[i].next = NAN;
}

int metasim_sim_fork(const metasim_sim_t *src, unsigned arm, const metasim_writer_t *writer,
                     metasim_sim_t **copy)
{
    if (!copy)
        return METASIM_E_ARG;
    *copy = NULL;
    if (!src)
        return METASIM_E_ARG;
    metasim_sim_options_t o = src->opt;
    o.arm = arm;
    o.writer = writer;
    metasim_sim_t *s = NULL;
    int rc = metasim_sim_create(src->model, &o, &s);
    if (rc != 0)
        return rc;
    if (src->own_model) { /* the copy shares the patient's own model */
        s->own_model = src->own_model;
        ms_model_retain(s->own_model);
    }
    /* The new streams start afresh under the arm's key; everything else is the source's. */
    if (ms_patient_copy(&s->p, &src->p) != 0 ||
        ms_array_reserve((void **)&s->traits, &s->cap_traits, src->p.n_clones, sizeof *s->traits,
                         16) != 0 ||
        ms_array_reserve((void **)&s->pending, &s->cap_pending, src->n_pending, sizeof *s->pending,
                         16) != 0) {
        metasim_sim_destroy(s);
        return METASIM_E_NOMEM;
    }
    memcpy(s->traits, src->traits, src->p.n_clones * sizeof *s->traits);
    if (src->n_pending)
        memcpy(s->pending, src->pending, src->n_pending * sizeof *s->pending);
    s->n_pending = src->n_pending;
    s->events = src->events;
    s->next_sample = src->next_sample;
    s->ctc = src->ctc;
    s->homing = src->homing;
    s->counts = src->counts;
    s->clinic = src->clinic;
    s->truncated = src->truncated;
    ms_engine_key_streams(s, arm);
    /* A treated history keeps its therapy when it is forked under its own arm; an untreated
     * one is assigned the new arm now if the point of assignment is behind it. */
    if (src->treated && arm == src->opt.arm)
        rc = ms_therapy_copy(s, src);
    else if (!src->treated && !isnan(s->clinic.out.assigned))
        rc = ms_therapy_assign(s);
    else if (src->treated)
        rc = METASIM_E_STATE; /* a treated history cannot switch arms */
    if (rc != 0) {
        metasim_sim_destroy(s);
        return rc;
    }
    *copy = s;
    return 0;
}

int metasim_sim_set_stop_cells(metasim_sim_t *s, double cells)
{
    if (!s || !(cells >= 0) || !isfinite(cells))
        return METASIM_E_ARG;
    s->opt.stop_cells = cells;
    return 0;
}

double metasim_sim_time(const metasim_sim_t *s)
{
    return s ? s->p.t : 0;
}

double metasim_sim_cells(const metasim_sim_t *s)
{
    return s ? (double)ms_patient_total(&s->p) : 0;
}

unsigned long long metasim_sim_events(const metasim_sim_t *s)
{
    return s ? s->events : 0;
}

size_t metasim_sim_clones(const metasim_sim_t *s)
{
    return s ? s->p.n_clones : 0;
}

int metasim_sim_clinical(const metasim_sim_t *s, metasim_clinical_t *clinical)
{
    if (!s || !clinical)
        return METASIM_E_ARG;
    *clinical = s->clinic.out;
    return 0;
}

int metasim_sim_eligible(const metasim_sim_t *s, const char **reason)
{
    if (!s)
        return METASIM_E_ARG;
    const metasim_model_t *m = s->model;
    const metasim_clinical_t *c = &s->clinic.out;
    const char *why = NULL;
    if (m->assign_at_start) /* an experiment: every subject is treated from time 0 */
        why = isnan(c->assigned) ? "not assigned" : NULL;
    else if (isnan(c->diagnosis))
        why = "not diagnosed";
    else if (isnan(c->assigned))
        why = "not assigned";
    else if (!(m->t_allowed >> c->t_stage & 1))
        why = "T stage";
    else if (!(m->n_allowed >> c->n_stage & 1))
        why = "N stage";
    else if (!(m->m_allowed >> c->m_stage & 1))
        why = "M stage";
    if (reason)
        *reason = why;
    return why == NULL;
}

int metasim_sim_counts(const metasim_sim_t *s, metasim_counts_t *counts)
{
    if (!s || !counts)
        return METASIM_E_ARG;
    *counts = s->counts;
    return 0;
}

double metasim_sim_ctc(const metasim_sim_t *s)
{
    return s ? s->ctc : 0;
}

long long metasim_sim_blood_draw(metasim_sim_t *s, double millilitres)
{
    if (!s || !(millilitres >= 0) || !isfinite(millilitres))
        return -1;
    double mean = s->ctc * millilitres / (1000.0 * s->model->blood_volume);
    return (long long)ms_ran_poisson64(s->blood, mean);
}

size_t metasim_sim_lesions(const metasim_sim_t *s)
{
    return s ? s->p.n_lesions : 0;
}

int metasim_sim_lesion_info(const metasim_sim_t *s, size_t lesion, metasim_lesion_info_t *info)
{
    if (!s || !info || lesion >= s->p.n_lesions)
        return METASIM_E_ARG;
    const ms_lesion *l = &s->p.lesions[lesion];
    *info = (metasim_lesion_info_t){s->model->sites[l->site].name,
                                    l->parent == MS_NONE ? (unsigned)lesion : l->parent,
                                    l->founded,
                                    l->founder_clone,
                                    (double)l->total,
                                    l->detected};
    return 0;
}

int metasim_sim_clone_info(const metasim_sim_t *s, size_t clone, metasim_clone_info_t *info)
{
    if (!s || !info || clone >= s->p.n_clones)
        return METASIM_E_ARG;
    const ms_clone *c = &s->p.clones[clone];
    *info = (metasim_clone_info_t){.parent = c->parent == MS_NONE ? (unsigned)clone : c->parent,
                                   .origin_lesion = c->origin_lesion,
                                   .born = c->born,
                                   .loci = c->loci};
    info->resistance = ms_engine_provenance(s, (uint32_t)clone, &info->resistant_since);
    const uint8_t *k = ms_patient_karyotype(&s->p, (uint32_t)clone);
    info->copies = k;
    for (size_t i = 0; k && i < s->model->n_chromosomes; i++)
        if (k[i] != s->model->chromosomes[i].copies)
            info->aneuploid = 1;
    return 0;
}

/* A bit mask of the loci that shift some drug's EC50. */
static uint64_t resistance_loci(const metasim_model_t *m)
{
    uint64_t mask = 0;
    for (size_t k = 0; k < m->n_loci; k++)
        for (size_t d = 0; d < m->n_drugs; d++)
            if (m->loci[k].resistance[d] != 1.0)
                mask |= UINT64_C(1) << k;
    return mask;
}

/* True when some copy gained shifts some drug's EC50. */
static bool karyotype_resistant(const metasim_sim_t *s, uint32_t clone)
{
    const metasim_model_t *m = s->model;
    const uint8_t *k = ms_patient_karyotype(&s->p, clone);
    for (size_t d = 0; k && d < m->n_drugs; d++)
        if (ms_karyotype_resistance(m, k, d) > 1.0)
            return true;
    return false;
}

static bool resistant(const metasim_sim_t *s, uint32_t clone, uint64_t mask)
{
    return (s->p.clones[clone].loci & mask) || karyotype_resistant(s, clone);
}

bool ms_engine_resistant_by_karyotype(const metasim_sim_t *s, uint32_t clone)
{
    return !(s->p.clones[clone].loci & resistance_loci(s->model)) && karyotype_resistant(s, clone);
}

metasim_resistance_t ms_engine_provenance(const metasim_sim_t *s, uint32_t clone, double *since)
{
    uint64_t mask = resistance_loci(s->model);
    *since = NAN;
    if (!resistant(s, clone, mask))
        return METASIM_RESISTANCE_NONE;
    /* Up the lineage to the first clone whose parent carried no resistance (locus or copies). */
    uint32_t k = clone;
    while (s->p.clones[k].parent != MS_NONE && resistant(s, s->p.clones[k].parent, mask))
        k = s->p.clones[k].parent;
    *since = s->p.clones[k].born;
    double start = s->clinic.out.treatment;
    return !isnan(start) && *since >= start ? METASIM_RESISTANCE_ACQUIRED
                                            : METASIM_RESISTANCE_PRE_EXISTING;
}

unsigned long long metasim_sim_digest(const metasim_sim_t *s)
{
    return s ? ms_patient_digest(&s->p) : 0;
}

const char *metasim_sim_errmsg(const metasim_sim_t *s)
{
    return s ? ms_strbuf_str(&s->err) : "";
}
