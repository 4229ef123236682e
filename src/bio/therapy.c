/*
 * Therapy of one patient: the assigned arm's lines of therapy, each a regimen given from a
 * clinical event on (diagnosis, surgery, the first relapse, a progression), stopped by rule
 * (after a duration, at relapse or progression, when its cycles are done) or paused and resumed
 * on the tumour burden (adaptive therapy), with exact pharmacokinetics (pk.c) and effects on
 * per-cell rates (rates.c, factors.c).
 *
 * Every stretch of dosing is a segment: a line's regimen started at t0, expanded over its cycles,
 * cut at t_end when the line stops or pauses. Drug amounts superpose linearly, so a drug's
 * concentration is the sum over segments. Within a step the effects on rates are averaged over
 * the step by three-point Gauss-Legendre quadrature; steps end at every dose and infusion end, at
 * scheduled starts and stops, and before the effects change a rate by more than
 * engine.step_bound expected events per cell over the step (docs/therapy.md). Triggers on
 * clinical events and on the burden
 * are read at the end of each step, so they act at most engine.max_step late.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio/injection_internal.h"
#include "bio/pk_internal.h"
#include "bio/therapy_internal.h"
#include "core/array_internal.h"
#include "engine/engine_internal.h"

static const char *const anchor_names[] = {"diagnosis", "surgery", "relapse", "progression",
                                           "time zero"};

static const ms_arm *arm_of(const metasim_sim_t *s)
{
    return &s->model->arms[s->opt.arm - 1];
}

static int report(metasim_sim_t *s, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A METASIM_EVENT_THERAPY event; `line` counts from 1 (0 for the arm). */
static int report(metasim_sim_t *s, size_t line, const char *fmt, ...)
{
    const metasim_writer_t *w = s->opt.writer;
    if (!w || !w->event)
        return 0;
    char detail[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    metasim_event_t e = {.time = s->p.t,
                         .kind = METASIM_EVENT_THERAPY,
                         .site = "",
                         .detail = detail,
                         .value = (double)line};
    return w->event(w->user, &e) != 0 ? METASIM_E_IO : 0;
}

int ms_therapy_assign(metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    if (isnan(s->clinic.out.assigned))
        s->clinic.out.assigned = s->p.t;
    if (s->treated || s->opt.arm == 0 || s->opt.arm > m->n_arms)
        return 0;
    const ms_arm *arm = arm_of(s);
    s->treated = true;
    if (s->keyed_arm != s->opt.arm)
        ms_engine_key_streams(s, s->opt.arm); /* the arm's own streams from now on */
    s->lines = calloc(arm->n_lines ? arm->n_lines : 1, sizeof *s->lines);
    if (!s->lines)
        return METASIM_E_NOMEM;
    for (size_t k = 0; k < arm->n_lines; k++)
        s->lines[k] = (ms_line_run){.status = MS_LINE_WAITING, .start = NAN, .segment = SIZE_MAX};
    s->injected = 0; /* injections count from time zero; any already due are given at once */
    int rc = report(s, 0, "arm %s assigned", arm->name);
    return rc ? rc : ms_therapy_update(s);
}

/* The dosing records of `reg` over all its cycles, with amounts in mg for this patient. */
static ms_dose *expand(const metasim_model_t *m, const ms_regimen *reg, size_t *n)
{
    size_t total = reg->n_doses * (size_t)reg->cycles;
    ms_dose *out = malloc((total ? total : 1) * sizeof *out);
    if (!out)
        return NULL;
    for (uint64_t c = 0; c < reg->cycles; c++) {
        for (size_t k = 0; k < reg->n_doses; k++) {
            ms_dose d = reg->doses[k];
            d.start += (double)c * reg->cycle_length;
            d.amount *= d.basis == MS_DOSE_PER_KG   ? m->weight
                        : d.basis == MS_DOSE_PER_M2 ? m->surface
                                                    : 1.0;
            d.basis = MS_DOSE_FLAT;
            out[c * reg->n_doses + k] = d;
        }
    }
    *n = total;
    return out;
}

static int dose_cmp(const void *a, const void *b)
{
    const ms_dose_given *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* Builds segment `g`'s schedules (one per drug the regimen gives), cut at g->t_end, and its list
 * of doses in time order. */
static int build_segment(metasim_sim_t *s, ms_segment *g)
{
    const metasim_model_t *m = s->model;
    const ms_regimen *reg = &m->regimens[arm_of(s)->lines[g->line].regimen];
    size_t n = 0;
    ms_dose *doses = expand(m, reg, &n);
    if (!doses)
        return METASIM_E_NOMEM;
    int rc = 0;
    for (size_t d = 0; d < m->n_drugs; d++) {
        ms_pk_free(g->pk[d]);
        g->pk[d] = NULL;
    }
    /* The model caps a regimen at 1e6 records; pk.c caps the doses of each. */
    uint64_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += doses[i].additional + 1;
    if (count > (uint64_t)MS_PK_MAX_DOSES * (m->n_drugs ? m->n_drugs : 1)) {
        ms_strbuf_free(&s->err);
        ms_strbuf_printf(&s->err, "regimens.%s: more than %d doses per drug", reg->name,
                         MS_PK_MAX_DOSES);
        rc = METASIM_E_LIMIT;
        goto out;
    }
    free(g->given);
    g->given = malloc((count ? (size_t)count : 1) * sizeof *g->given);
    if (!g->given) {
        rc = METASIM_E_NOMEM;
        goto out;
    }
    g->n_given = 0;
    g->finish = g->t0;
    for (size_t i = 0; i < n; i++) {
        const ms_dose *d = &doses[i];
        for (uint64_t j = 0; j <= d->additional; j++) {
            double t = g->t0 + (d->start + (double)j * d->interval);
            if (t >= g->t_end)
                break;
            g->given[g->n_given++] = (ms_dose_given){t, d->drug, d->amount, d->infusion};
            g->finish = fmax(g->finish, fmin(t + d->infusion, g->t_end));
        }
    }
    qsort(g->given, g->n_given, sizeof *g->given, dose_cmp);
    for (size_t d = 0; d < m->n_drugs; d++) {
        bool given = false;
        for (size_t k = 0; k < reg->n_doses; k++)
            given |= reg->doses[k].drug == d;
        if (!given)
            continue;
        ms_strbuf why = {0};
        rc = ms_pk_create(&m->drugs[d], doses, n, d, g->t0, g->t_end, &g->pk[d], &why);
        if (rc != 0) {
            ms_strbuf_free(&s->err);
            ms_strbuf_printf(&s->err, "regimens.%s.%s", reg->name, ms_strbuf_str(&why));
        }
        ms_strbuf_free(&why);
        if (rc != 0)
            goto out;
    }
out:
    free(doses);
    return rc;
}

static int start_segment(metasim_sim_t *s, size_t line)
{
    if (ms_array_reserve((void **)&s->segs, &s->cap_segs, s->n_segs + 1, sizeof *s->segs, 4) != 0)
        return METASIM_E_NOMEM;
    ms_segment *g = &s->segs[s->n_segs];
    *g = (ms_segment){.line = line, .t0 = s->p.t, .t_end = INFINITY};
    g->pk = calloc(s->model->n_drugs ? s->model->n_drugs : 1, sizeof *g->pk);
    if (!g->pk)
        return METASIM_E_NOMEM;
    s->n_segs++;
    s->lines[line].segment = s->n_segs - 1;
    return build_segment(s, g);
}

/* Ends the line's running segment now: later doses are not given. */
static int cut_segment(metasim_sim_t *s, size_t line)
{
    ms_line_run *run = &s->lines[line];
    if (run->segment == SIZE_MAX)
        return 0;
    ms_segment *g = &s->segs[run->segment];
    run->segment = SIZE_MAX;
    if (g->t_end <= s->p.t || g->finish <= s->p.t)
        return 0; /* nothing left to cut */
    g->t_end = s->p.t;
    size_t done = g->next_given;
    int rc = build_segment(s, g);
    g->next_given = done < g->n_given ? done : g->n_given;
    return rc;
}

/* When line k's event has happened: its time, else NaN. */
static double anchor_time(const metasim_sim_t *s, size_t k)
{
    const ms_clinic *c = &s->clinic;
    const ms_line *ln = &arm_of(s)->lines[k];
    switch (ln->start) {
    case MS_ANCHOR_DIAGNOSIS: return c->out.diagnosis;
    case MS_ANCHOR_SURGERY: return c->out.surgery;
    case MS_ANCHOR_RELAPSE: return c->out.relapse;
    case MS_ANCHOR_TIME_ZERO: return 0.0;
    case MS_ANCHOR_PROGRESSION: {
        /* The first progression after the previous line started (after assignment for the
         * first line): lines are updated at every step's end, so the last is the first. */
        double after = k == 0 ? c->out.assigned : s->lines[k - 1].start;
        if (k > 0 && s->lines[k - 1].status < MS_LINE_ON)
            return NAN;
        return c->last_progression > after ? c->last_progression : NAN;
    }
    }
    return NAN;
}

/* Why line k must stop now, or NULL. */
static const char *stop_reason(const metasim_sim_t *s, size_t k)
{
    const ms_line *ln = &arm_of(s)->lines[k];
    const ms_line_run *run = &s->lines[k];
    const ms_clinic *c = &s->clinic;
    if (s->p.t >= run->start + ln->stop_after)
        return "its duration is over";
    if (ln->stop_at == MS_LINE_STOP_RELAPSE && c->out.relapse >= run->start)
        return "relapse";
    if (ln->stop_at == MS_LINE_STOP_PROGRESSION && c->last_progression > run->start)
        return "progression";
    return NULL;
}

/* Reports the doses given up to now. */
static int report_doses(metasim_sim_t *s)
{
    const metasim_writer_t *w = s->opt.writer;
    for (size_t i = 0; i < s->n_segs; i++) {
        ms_segment *g = &s->segs[i];
        for (; g->next_given < g->n_given && g->given[g->next_given].t <= s->p.t; g->next_given++) {
            const ms_dose_given *d = &g->given[g->next_given];
            if (!w || !w->event)
                continue;
            const ms_drug *drug = &s->model->drugs[d->drug];
            char how[48];
            if (drug->route == MS_ROUTE_ORAL)
                snprintf(how, sizeof how, "oral");
            else if (d->infusion > 0)
                snprintf(how, sizeof how, "infusion %.3g h", 24 * d->infusion);
            else
                snprintf(how, sizeof how, "bolus");
            metasim_event_t e = {.time = d->t,
                                 .kind = METASIM_EVENT_DOSE,
                                 .site = drug->name,
                                 .detail = how,
                                 .value = d->amount};
            if (w->event(w->user, &e) != 0)
                return METASIM_E_IO;
        }
    }
    return 0;
}

int ms_therapy_update(metasim_sim_t *s)
{
    if (!s->treated)
        return 0;
    const metasim_model_t *m = s->model;
    const ms_arm *arm = arm_of(s);
    double burden = (double)ms_patient_total(&s->p);
    int rc = 0;
    for (size_t k = 0; k < arm->n_lines && rc == 0; k++) {
        const ms_line *ln = &arm->lines[k];
        ms_line_run *run = &s->lines[k];
        const char *regimen = m->regimens[ln->regimen].name;
        if (run->status == MS_LINE_WAITING) {
            double a = anchor_time(s, k);
            if (isnan(a))
                continue;
            run->status = MS_LINE_SCHEDULED;
            run->start = fmax(a + ln->delay, s->p.t);
        }
        if (run->status == MS_LINE_SCHEDULED) {
            if (s->p.t < run->start)
                continue;
            run->start = s->p.t;
            run->status = MS_LINE_ON;
            if (isnan(s->clinic.out.treatment))
                s->clinic.out.treatment = s->p.t;
            ms_clinic_baseline(s); /* response is judged from the line's start */
            if ((rc = start_segment(s, k)) != 0 ||
                (rc = report(s, k + 1, "line %zu (%s) starts, %s%s", k + 1, regimen,
                             anchor_names[ln->start], ln->delay > 0 ? " + delay" : "")) != 0)
                break;
        }
        if (run->status == MS_LINE_ON || run->status == MS_LINE_PAUSED) {
            const char *why = stop_reason(s, k);
            if (why) {
                run->status = MS_LINE_DONE;
                if ((rc = cut_segment(s, k)) == 0)
                    rc = report(s, k + 1, "line %zu (%s) stops: %s", k + 1, regimen, why);
                continue;
            }
        }
        bool adaptive = ln->resume_above > 0;
        if (run->status == MS_LINE_ON && adaptive && burden < ln->pause_below) {
            run->status = MS_LINE_PAUSED;
            if ((rc = cut_segment(s, k)) == 0)
                rc = report(s, k + 1, "line %zu (%s) pauses: burden %.3g < %.3g cells", k + 1,
                            regimen, burden, ln->pause_below);
        } else if (run->status == MS_LINE_PAUSED && burden > ln->resume_above) {
            run->status = MS_LINE_ON;
            if ((rc = start_segment(s, k)) == 0)
                rc = report(s, k + 1, "line %zu (%s) resumes: burden %.3g > %.3g cells", k + 1,
                            regimen, burden, ln->resume_above);
        } else if (run->status == MS_LINE_ON && !adaptive &&
                   s->p.t >= s->segs[run->segment].finish) {
            run->status = MS_LINE_DONE;
            run->segment = SIZE_MAX;
            if ((rc = report_doses(s)) == 0) /* its last dose first */
                rc = report(s, k + 1, "line %zu (%s) completes", k + 1, regimen);
        }
    }
    if (rc == 0)
        rc = ms_injection_update(s);
    return rc ? rc : report_doses(s);
}

/* Three-point Gauss-Legendre on [0, 1]: nodes 1/2 -+ sqrt(3/5)/2, weights 5/18, 8/18, 5/18;
 * exact for polynomials of degree 5 (Abramowitz and Stegun 25.4.29). */
static const double node_at[MS_DRUG_NODES] = {0.11270166537925831, 0.5, 0.88729833462074169};
const double ms_drug_weight[MS_DRUG_NODES] = {5.0 / 18, 8.0 / 18, 5.0 / 18};

/* Whether segment g's schedule of drug d can still have an effect at time t or later: a
 * schedule whose drug has decayed below the negligible level (ms_drug) for good is dropped, so
 * that years of follow-up after the last dose do not compute drug effects at every step. */
static bool acting(const ms_segment *g, size_t d, double t)
{
    return g->pk[d] && t < ms_pk_quiet_from(g->pk[d]);
}

/* The concentration of drug d at time t that can act: the sum over segments (linear
 * superposition) of those still acting. */
static double concentration(const metasim_sim_t *s, size_t d, double t)
{
    double c = 0;
    for (size_t i = 0; i < s->n_segs; i++)
        if (acting(&s->segs[i], d, t))
            c += ms_pk_concentration(s->segs[i].pk[d], t);
    return c;
}

void ms_therapy_at(metasim_sim_t *s, double t0, double t1)
{
    for (size_t d = 0; d < s->model->n_drugs; d++)
        for (size_t q = 0; q < MS_DRUG_NODES; q++)
            s->conc[d * MS_DRUG_NODES + q] =
                s->n_segs ? concentration(s, d, t0 + node_at[q] * (t1 - t0)) : 0;
}

bool ms_therapy_present(const metasim_sim_t *s, size_t d)
{
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        if (s->conc[d * MS_DRUG_NODES + q] > 0)
            return true;
    return false;
}

/* The largest change of occupancy between concentrations a and b over every EC50 from e_min up,
 * Hill coefficient h. H depends on log C - log EC50 only, so the change is largest for the EC50
 * at the geometric mean of a and b, or at e_min when that lies below it. */
static double worst_change(double a, double b, double e_min, double h)
{
    if (a > b) {
        double x = a;
        a = b;
        b = x;
    }
    if (b <= 0)
        return 0;
    double e = fmax(sqrt(a * b), e_min);
    double ha = a > 0 ? 1.0 / (1.0 + pow(e / a, h)) : 0;
    return 1.0 / (1.0 + pow(e / b, h)) - ha;
}

/* Points within a step at which the variation of an effect is measured: its ends and the
 * quadrature nodes. */
enum { N_PROBES = MS_DRUG_NODES + 2 };

/* The longest step from t, at most tau, over which every effect of drug d changes a rate by
 * `bound` in expected events per cell (a factor's loss rate, for the loss a factor effect adds:
 * its relative change): sum over effects of rate_scale x the variation of H
 * over the step x the step, at most step_bound. The variation is taken at N_PROBES points, for
 * the worst EC50 a cell can have; halving the step until the bound holds ends, since the
 * variation at N_PROBES points is at most N_PROBES - 1. */
static double effect_step(const metasim_sim_t *s, size_t d, double t, double tau)
{
    const metasim_model_t *m = s->model;
    const ms_drug *drug = &m->drugs[d];
    double c[N_PROBES];
    c[0] = concentration(s, d, t);
    for (int halvings = 0; halvings < 60; halvings++, tau *= 0.5) {
        for (size_t q = 0; q < MS_DRUG_NODES; q++)
            c[q + 1] = concentration(s, d, t + node_at[q] * tau);
        c[N_PROBES - 1] = concentration(s, d, t + tau);
        double change = 0;
        for (size_t k = 0; k < drug->n_effects; k++) {
            const ms_effect *ef = &drug->effects[k];
            if (ef->rate_scale == 0) /* factor effects but a loss of the level (max_loss) */
                continue;
            double variation = 0;
            for (size_t p = 1; p < N_PROBES; p++)
                variation += worst_change(c[p - 1], c[p], ef->ec50_floor, ef->hill);
            change += ef->rate_scale * variation;
        }
        if (change * tau <= m->step_bound)
            break;
    }
    return tau;
}

double ms_therapy_next(const metasim_sim_t *s, double t)
{
    if (!s->treated)
        return INFINITY;
    const metasim_model_t *m = s->model;
    const ms_arm *arm = arm_of(s);
    double next = INFINITY;
    for (size_t k = 0; k < arm->n_lines; k++) {
        const ms_line_run *run = &s->lines[k];
        if (run->status == MS_LINE_SCHEDULED)
            next = fmin(next, run->start);
        if (run->status == MS_LINE_ON || run->status == MS_LINE_PAUSED)
            next = fmin(next, run->start + arm->lines[k].stop_after);
        if (run->status == MS_LINE_ON && s->segs[run->segment].finish > t)
            next = fmin(next, s->segs[run->segment].finish);
    }
    const double lines_next = fmin(next, t + m->max_step);
    for (size_t d = 0; d < m->n_drugs; d++) {
        /* The drug's concentration is smooth up to its next dosing event. */
        double smooth = lines_next;
        bool any = false;
        for (size_t i = 0; i < s->n_segs; i++)
            if (acting(&s->segs[i], d, t)) {
                any = true;
                smooth = fmin(smooth, ms_pk_next_event(s->segs[i].pk[d], t));
            }
        if (!any)
            continue;
        next = fmin(next, smooth);
        if (m->drugs[d].n_effects == 0)
            continue;
        next = fmin(next, t + effect_step(s, d, t, smooth - t));
        /* Factor effects act through the factor's own dynamics, bounded as factor levels are
         * (sim.c): C may change by at most step_bound (C + EC50) within a step. */
        double ec50 = INFINITY;
        for (size_t k = 0; k < m->drugs[d].n_effects; k++)
            if (m->drugs[d].effects[k].target == MS_EFFECT_FACTOR)
                ec50 = fmin(ec50, m->drugs[d].effects[k].ec50);
        if (isinf(ec50))
            continue;
        /* The concentration is smooth between events: a one-sided difference gives its slope. */
        const double h = 1e-6;
        double c = concentration(s, d, t), slope = (concentration(s, d, t + h) - c) / h;
        if (slope != 0)
            next = fmin(next, t + m->step_bound * (c + ec50) / fabs(slope));
    }
    return fmin(next, ms_injection_next(s)); /* a step ends at each injection */
}

int ms_therapy_exposure(const metasim_sim_t *s, const metasim_writer_t *w)
{
    if (!s->treated || !w || !w->exposure)
        return 0;
    const metasim_model_t *m = s->model;
    static const char *const targets[] = {"death", "division", "transition", "shedding", "factor"};
    for (size_t d = 0; d < m->n_drugs; d++) {
        double c = 0;
        for (size_t i = 0; i < s->n_segs; i++)
            if (s->segs[i].pk[d])
                c += ms_pk_concentration(s->segs[i].pk[d], s->p.t);
        const ms_drug *drug = &m->drugs[d];
        metasim_exposure_t x = {
            .time = s->p.t, .drug = drug->name, .concentration = c, .effect = -1, .target = ""};
        if (drug->n_effects == 0 && w->exposure(w->user, &x) != 0)
            return METASIM_E_IO;
        for (size_t k = 0; k < drug->n_effects; k++) {
            const ms_effect *ef = &drug->effects[k];
            x.effect = (int)k;
            x.target = targets[ef->target];
            x.value = c > 0 ? ef->max * ms_engine_occupancy(ef, c, 1.0) : 0;
            if (w->exposure(w->user, &x) != 0)
                return METASIM_E_IO;
        }
    }
    return 0;
}

int ms_therapy_copy(metasim_sim_t *s, const metasim_sim_t *src)
{
    /* A fork copies a history before assignment (the paired design) or a treated one. */
    s->treated = src->treated;
    if (!src->treated)
        return 0;
    size_t n_lines = arm_of(src)->n_lines;
    s->injected = src->injected;
    s->lines = malloc((n_lines ? n_lines : 1) * sizeof *s->lines);
    if (!s->lines)
        return METASIM_E_NOMEM;
    memcpy(s->lines, src->lines, n_lines * sizeof *s->lines);
    for (size_t i = 0; i < src->n_segs; i++) {
        const ms_segment *from = &src->segs[i];
        if (ms_array_reserve((void **)&s->segs, &s->cap_segs, i + 1, sizeof *s->segs, 4) != 0)
            return METASIM_E_NOMEM;
        ms_segment *g = &s->segs[i];
        *g = (ms_segment){.line = from->line, .t0 = from->t0, .t_end = from->t_end};
        g->pk = calloc(s->model->n_drugs ? s->model->n_drugs : 1, sizeof *g->pk);
        if (!g->pk)
            return METASIM_E_NOMEM;
        s->n_segs = i + 1;
        int rc = build_segment(s, g);
        if (rc != 0)
            return rc;
        g->next_given = from->next_given;
    }
    return 0;
}

void ms_therapy_free(metasim_sim_t *s)
{
    for (size_t i = 0; i < s->n_segs; i++) {
        for (size_t d = 0; d < s->model->n_drugs; d++)
            ms_pk_free(s->segs[i].pk[d]);
        free(s->segs[i].pk);
        free(s->segs[i].given);
    }
    free(s->segs);
    free(s->lines);
    free(s->conc);
    s->segs = NULL;
    s->lines = NULL;
    s->conc = NULL;
    s->n_segs = 0;
}
