/*
 * The clinic, read from the simulated lesions at the end of each step (so clinical times are
 * known to the step, at most engine.max_step; scheduled times, surgery and scans, are hit
 * exactly because steps end at them).
 *
 * - Diagnosis: when the primary reaches the patient's detection size (log-normal around
 *   primary.detection_cells), or any lesion reaches the symptomatic diameter.
 * - Staging (AJCC-like for breast): T1 <= 2 cm < T2 <= 5 cm < T3 from the primary's diameter;
 *   N0 / N1 (1-3) / N2 (4-9) / N3 (10+) involved regional node lesions (at least
 *   clinic.node_positive_cells), counted at surgery, else at diagnosis; M1 when a distant lesion
 *   is at least the imaging diameter at diagnosis.
 * - Surgery, clinic.surgery.delay after diagnosis, removes the primary and regional nodes;
 *   afterwards circulating cells that reach the primary's site found a local recurrence.
 * - Follow-up scans from surgery find the first relapse: any remaining lesion at least the
 *   imaging diameter; between scans, any lesion reaching the symptomatic diameter.
 * - Death when the total burden reaches clinic.lethal_cells or a lesion its site's lethal size.
 */
#include "clinic/clinic_internal.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "rng/stream_internal.h"

double ms_clinic_diameter(const metasim_model_t *m, double cells)
{
    const double pi = 3.14159265358979323846;
    return cbrt(6 * cells / (pi * m->cells_per_cm3));
}

void ms_clinic_init(metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    ms_clinic *c = &s->clinic;
    memset(c, 0, sizeof *c);
    c->out = (metasim_clinical_t){.diagnosis = NAN,
                                  .primary_diameter = NAN,
                                  .surgery = NAN,
                                  .relapse = NAN,
                                  .death = NAN,
                                  .progression = NAN,
                                  .assigned = NAN,
                                  .treatment = NAN};
    c->next_scan = NAN;
    c->follow_from = NAN;
    c->last_progression = NAN;
    /* The detection size comes from the clinic's own stream, keyed without the arm (it is the
     * patient's, whatever is done to them): drawing it never shifts the
     * tumour's history. */
    gsl_rng *r = s->blood;
    ms_rng_set_stream(r, s->opt.seed, s->opt.patient, 0, MS_PURPOSE_CLINIC);
    double z = m->detection_spread > 0 ? gsl_ran_gaussian(r, m->detection_spread) : 0;
    c->detection_cells = m->detection_cells * pow(10, z);
    ms_rng_set_stream(r, s->opt.seed, s->opt.patient, 0, MS_PURPOSE_BLOOD);
}

static int report(metasim_sim_t *s, metasim_event_kind_t kind, unsigned lesion, const char *site,
                  const char *detail)
{
    const metasim_writer_t *w = s->opt.writer;
    if (!w || !w->event)
        return 0;
    metasim_event_t e = {s->p.t, kind, lesion, 0, 0, lesion, site, detail, 0};
    return w->event(w->user, &e) ? METASIM_E_IO : 0;
}

/* A CellSearch-style draw of 7.5 mL at a visit, from the blood's own stream. */
static int blood_draw(metasim_sim_t *s, const char *visit)
{
    const metasim_writer_t *w = s->opt.writer;
    long long count = metasim_sim_blood_draw(s, 7.5);
    if (!w || !w->event)
        return 0;
    metasim_event_t e = {s->p.t, METASIM_EVENT_BLOOD, 0, 0, 0, 0, "", visit, (double)count};
    return w->event(w->user, &e) ? METASIM_E_IO : 0;
}

static bool is_regional(const metasim_sim_t *s, const ms_lesion *l)
{
    return s->model->sites[l->site].regional;
}

/* Involved regional node lesions now. */
static int involved_nodes(const metasim_sim_t *s)
{
    int n = 0;
    for (size_t i = 1; i < s->p.n_lesions; i++)
        n += is_regional(s, &s->p.lesions[i]) &&
             (double)s->p.lesions[i].total >= s->model->node_positive_cells;
    return n;
}

static int n_stage(int nodes)
{
    return nodes == 0 ? 0 : nodes <= 3 ? 1 : nodes <= 9 ? 2 : 3;
}

static int diagnose(metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    ms_clinic *c = &s->clinic;
    double primary = (double)s->p.lesions[0].total;
    bool symptomatic = false;
    for (size_t i = 0; i < s->p.n_lesions && !symptomatic; i++)
        symptomatic = (double)s->p.lesions[i].total >= m->symptomatic_cells;
    if (primary < c->detection_cells && !symptomatic)
        return 0;
    double d = ms_clinic_diameter(m, primary);
    c->out.diagnosis = s->p.t;
    c->out.primary_diameter = d;
    c->out.t_stage = primary == 0 ? 0 : d <= 2 ? 1 : d <= 5 ? 2 : 3;
    c->out.n_stage = n_stage(involved_nodes(s));
    for (size_t i = 1; i < s->p.n_lesions; i++) {
        const ms_lesion *l = &s->p.lesions[i];
        /* Seeds around the primary (primary.seeds_outside) are not distant disease. */
        if (!is_regional(s, l) && l->site != s->p.lesions[0].site &&
            (double)l->total >= m->imaging_cells)
            c->out.m_stage = 1;
    }
    char detail[64];
    snprintf(detail, sizeof detail, "T%d N%d M%d, primary %.2f cm%s", c->out.t_stage,
             c->out.n_stage, c->out.m_stage, d, primary < c->detection_cells ? ", symptoms" : "");
    return report(s, METASIM_EVENT_DIAGNOSIS, 0, m->sites[s->p.lesions[0].site].name, detail);
}

static void schedule_scan(metasim_sim_t *s, double after)
{
    const metasim_model_t *m = s->model;
    ms_clinic *c = &s->clinic;
    c->next_scan = NAN;
    while (c->period < m->n_scan_periods) {
        double t = after + m->scan_every[c->period];
        if (t - c->follow_from <= m->scan_until[c->period] * (1 + 1e-12)) {
            c->next_scan = t;
            return;
        }
        c->period++;
    }
}

static int operate(metasim_sim_t *s)
{
    ms_clinic *c = &s->clinic;
    unsigned long long before = s->counts.resected;
    c->out.n_stage = n_stage(involved_nodes(s));
    for (size_t i = 0; i < s->p.n_lesions; i++) {
        ms_lesion *l = &s->p.lesions[i];
        if (i != 0 && !is_regional(s, l))
            continue;
        s->counts.resected += l->total;
        for (size_t k = 0; k < l->n_comps; k++)
            ms_lesion_set(l, (uint32_t)k, 0);
        ms_lesion_prune(l);
    }
    /* Cells still on their way into the removed lesions (sent back to the primary during the
     * last step) are removed with them. */
    size_t kept = 0;
    for (size_t i = 0; i < s->n_pending; i++) {
        ms_pending p = s->pending[i];
        if (p.lesion == 0 || is_regional(s, &s->p.lesions[p.lesion]))
            s->counts.resected += p.count;
        else
            s->pending[kept++] = p;
    }
    s->n_pending = kept;
    c->resected = true;
    c->out.surgery = s->p.t;
    c->follow_from = s->p.t;
    schedule_scan(s, s->p.t);
    char detail[32];
    snprintf(detail, sizeof detail, "pN%d", c->out.n_stage);
    const metasim_writer_t *w = s->opt.writer;
    if (!w || !w->event)
        return 0;
    metasim_event_t e = {.time = s->p.t,
                         .kind = METASIM_EVENT_SURGERY,
                         .site = s->model->sites[s->p.lesions[0].site].name,
                         .detail = detail,
                         .value = (double)(s->counts.resected - before)};
    return w->event(w->user, &e) ? METASIM_E_IO : 0;
}

/* Why a relapsing lesion grew, read from its largest compartment and its history, first
 * match wins: the provenance of its clone's resistance; a founding cell that arrived dormant
 * (dormancy escape); cells in a state other than cycling and dormant (adaptive state); factor
 * modifiers that lower its cells' death (microenvironment protection); else none. */
static const char *relapse_cause(metasim_sim_t *s, const ms_lesion *l)
{
    const ms_comp *top = NULL;
    for (size_t k = 0; k < l->n_comps; k++)
        if (!top || l->comps[k].n > top->n)
            top = &l->comps[k];
    double since;
    bool karyotype = top && ms_engine_resistant_by_karyotype(s, top->clone);
    switch (top ? ms_engine_provenance(s, top->clone, &since) : METASIM_RESISTANCE_NONE) {
    case METASIM_RESISTANCE_ACQUIRED:
        return karyotype ? "acquired resistance (karyotype)" : "acquired resistance";
    case METASIM_RESISTANCE_PRE_EXISTING:
        return karyotype ? "pre-existing resistance (karyotype)" : "pre-existing resistance";
    case METASIM_RESISTANCE_NONE: break;
    }
    if (l->founder_state == MS_STATE_DORMANT)
        return "dormancy escape";
    if (top && top->state != MS_STATE_CYCLING && top->state != MS_STATE_DORMANT)
        return "adaptive state";
    if (top) {
        ms_engine_env(s, l);
        if (s->env.death[top->state] < 1.0)
            return "microenvironment protection";
    }
    return "no resistance";
}

/* The first relapse: every remaining lesion at least `threshold` cells. */
static int look_for_relapse(metasim_sim_t *s, double threshold, const char *how)
{
    const metasim_model_t *m = s->model;
    ms_clinic *c = &s->clinic;
    size_t largest = 0;
    double size = 0;
    for (size_t i = 1; i < s->p.n_lesions; i++) {
        const ms_lesion *l = &s->p.lesions[i];
        if ((double)l->total < threshold)
            continue;
        if (l->site == s->p.lesions[0].site || is_regional(s, l))
            c->out.relapse_local = 1;
        else
            c->out.relapse_distant = 1;
        if ((double)l->total > size) {
            size = (double)l->total;
            largest = i;
        }
    }
    if (size == 0)
        return 0;
    c->out.relapse = s->p.t;
    c->out.relapse_site = m->sites[s->p.lesions[largest].site].name; /* the model's string */
    c->out.relapse_cause = relapse_cause(s, &s->p.lesions[largest]);
    char detail[96];
    snprintf(detail, sizeof detail, "%s%s%s, largest %.2f cm (%s)",
             c->out.relapse_local ? "local" : "",
             c->out.relapse_local && c->out.relapse_distant ? " and " : "",
             c->out.relapse_distant ? "distant" : "", ms_clinic_diameter(m, size), how);
    return report(s, METASIM_EVENT_RELAPSE, (unsigned)largest, c->out.relapse_site, detail);
}

/* RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247), simplified as docs/clinic.md
 * says: target lesions are the largest measurable ones (diameter >= 1 cm), at most five and
 * at most two per site, chosen at the baseline; progression is a sum of their diameters at
 * least 20 % and 0.5 cm above its smallest value since the baseline, or a new lesion (one
 * first seen on imaging after the baseline). Targets of disease too small to measure at the
 * baseline are chosen at the first scan that can measure it. Non-target progression is not
 * assessed. */
enum { RECIST_TARGETS = 5, RECIST_PER_SITE = 2 };
static const double recist_measurable_cm = 1.0;

static double target_sum(const metasim_sim_t *s)
{
    const ms_clinic *c = &s->clinic;
    double sum = 0;
    for (size_t i = 0; i < c->n_targets; i++)
        sum += ms_clinic_diameter(s->model, (double)s->p.lesions[c->targets[i]].total);
    return sum;
}

void ms_clinic_baseline(metasim_sim_t *s)
{
    ms_clinic *c = &s->clinic;
    c->n_targets = 0;
    /* Largest first: pick by repeated scans, the lists are short. */
    for (size_t pick = 0; pick < RECIST_TARGETS; pick++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < s->p.n_lesions; i++) {
            const ms_lesion *l = &s->p.lesions[i];
            if (ms_clinic_diameter(s->model, (double)l->total) < recist_measurable_cm)
                continue;
            size_t same_site = 0;
            bool taken = false;
            for (size_t k = 0; k < c->n_targets; k++) {
                taken |= c->targets[k] == i;
                same_site += s->p.lesions[c->targets[k]].site == l->site;
            }
            if (taken || same_site >= RECIST_PER_SITE)
                continue;
            if (best == SIZE_MAX || l->total > s->p.lesions[best].total)
                best = i;
        }
        if (best == SIZE_MAX)
            break;
        c->targets[c->n_targets++] = (uint32_t)best;
    }
    c->has_baseline = true;
    c->baseline_time = s->p.t;
    c->nadir = target_sum(s);
}

/* Marks lesions seen on imaging now. */
static void image(metasim_sim_t *s)
{
    for (size_t i = 0; i < s->p.n_lesions; i++) {
        ms_lesion *l = &s->p.lesions[i];
        if (isnan(l->detected) && (double)l->total >= s->model->imaging_cells)
            l->detected = s->p.t;
    }
}

static int assess_response(metasim_sim_t *s)
{
    ms_clinic *c = &s->clinic;
    if (!c->has_baseline)
        return 0;
    if (c->n_targets == 0) {
        /* Disease too small to measure at the baseline: its targets are chosen once it can
         * be measured, while new lesions still count from the baseline. */
        double since = c->baseline_time;
        ms_clinic_baseline(s);
        c->baseline_time = since;
    }
    const metasim_model_t *m = s->model;
    double sum = target_sum(s);
    char detail[96] = "";
    size_t lesion = c->n_targets ? c->targets[0] : 0;
    for (size_t i = 0; i < s->p.n_lesions && !detail[0]; i++) {
        const ms_lesion *l = &s->p.lesions[i];
        if (!isnan(l->detected) && l->detected > c->baseline_time && l->total > 0) {
            snprintf(detail, sizeof detail, "new lesion in %s", m->sites[l->site].name);
            lesion = i;
        }
    }
    if (!detail[0] && c->n_targets > 0 && sum >= 1.2 * c->nadir && sum - c->nadir >= 0.5)
        snprintf(detail, sizeof detail, "sum of diameters %.1f cm, %+.0f %% over nadir %.1f cm",
                 sum, 100 * (sum / c->nadir - 1), c->nadir);
    if (!detail[0]) {
        c->nadir = fmin(c->nadir, sum);
        return 0;
    }
    if (isnan(c->out.progression))
        c->out.progression = s->p.t;
    c->last_progression = s->p.t;
    ms_clinic_baseline(s); /* the next line is judged against the disease it starts on */
    return report(s, METASIM_EVENT_PROGRESSION, (unsigned)lesion,
                  m->sites[s->p.lesions[lesion].site].name, detail);
}

static int check_death(metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    char detail[96] = "";
    if ((double)ms_patient_total(&s->p) >= m->lethal_cells)
        snprintf(detail, sizeof detail, "total burden");
    for (size_t i = 0; i < s->p.n_lesions && !detail[0]; i++) {
        const ms_lesion *l = &s->p.lesions[i];
        double lethal = m->sites[l->site].lethal_cells;
        if (lethal > 0 && (double)l->total >= lethal)
            snprintf(detail, sizeof detail, "lesion %zu in %s", i, m->sites[l->site].name);
    }
    if (!detail[0])
        return 0;
    s->clinic.out.death = s->p.t;
    int rc = report(s, METASIM_EVENT_DEATH, 0, "", detail);
    return rc ? rc : METASIM_STOP_DEATH;
}

int ms_clinic_update(metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    ms_clinic *c = &s->clinic;
    if (!isnan(c->out.death))
        return METASIM_STOP_DEATH;
    int rc = 0;
    /* An experiment's schedule (a line that starts at time_zero) assigns the arm at once. */
    if (m->assign_at_start && isnan(c->out.assigned)) {
        if ((rc = ms_therapy_assign(s)) != 0)
            return rc;
        if (s->opt.stop_at_treatment && s->opt.arm == 0)
            return METASIM_STOP_TREATMENT;
    }
    if (isnan(c->out.diagnosis)) {
        if ((rc = diagnose(s)) != 0)
            return rc;
        if (!isnan(c->out.diagnosis))
            image(s); /* staging: lesions seen at diagnosis */
        if (!isnan(c->out.diagnosis) && (rc = blood_draw(s, "diagnosis")) != 0)
            return rc;
        if (!isnan(c->out.diagnosis) && !m->surgery) {
            /* Without surgery follow-up starts at diagnosis, and the disease found then is
             * the baseline for response. */
            c->follow_from = s->p.t;
            schedule_scan(s, s->p.t);
            image(s);
            ms_clinic_baseline(s);
        }
        if (!isnan(c->out.diagnosis) && !m->assign_at_surgery) {
            if ((rc = ms_therapy_assign(s)) != 0)
                return rc;
            if (s->opt.stop_at_treatment && s->opt.arm == 0)
                return METASIM_STOP_TREATMENT;
        }
    }
    if (!isnan(c->out.diagnosis) && m->surgery && !c->resected &&
        s->p.t >= c->out.diagnosis + m->surgery_delay) {
        if ((rc = blood_draw(s, "surgery")) != 0 || (rc = operate(s)) != 0)
            return rc;
        if (m->assign_at_surgery) {
            if ((rc = ms_therapy_assign(s)) != 0)
                return rc;
            if (s->opt.stop_at_treatment && s->opt.arm == 0)
                return METASIM_STOP_TREATMENT;
        }
    }
    if (!isnan(c->next_scan) && s->p.t >= c->next_scan) {
        rc = blood_draw(s, "scan");
        image(s);
        if (rc == 0 && c->resected && isnan(c->out.relapse)) {
            rc = look_for_relapse(s, m->imaging_cells, "scan");
            if (rc == 0 && !isnan(c->out.relapse))
                ms_clinic_baseline(s);
        } else if (rc == 0) {
            rc = assess_response(s);
        }
        schedule_scan(s, c->next_scan);
        if (rc != 0)
            return rc;
    }
    if (c->resected && isnan(c->out.relapse)) {
        if ((rc = look_for_relapse(s, m->symptomatic_cells, "symptoms")) != 0)
            return rc;
        if (!isnan(c->out.relapse)) {
            image(s);
            ms_clinic_baseline(s);
        }
    }
    if ((rc = ms_therapy_update(s)) != 0)
        return rc;
    return check_death(s);
}

double ms_clinic_next(const metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    const ms_clinic *c = &s->clinic;
    double next = INFINITY;
    if (!isnan(c->out.diagnosis) && m->surgery && !c->resected)
        next = c->out.diagnosis + m->surgery_delay;
    if (!isnan(c->next_scan))
        next = fmin(next, c->next_scan);
    return next;
}
