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
    c->out = (metasim_clinical_t){NAN, 0, 0, 0, NAN, NAN, NAN, 0, 0, NULL, NAN};
    c->next_scan = NAN;
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
        if (!is_regional(s, l) && (double)l->total >= m->imaging_cells)
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
        if (t - c->out.surgery <= m->scan_until[c->period] * (1 + 1e-12)) {
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
    char detail[96];
    snprintf(detail, sizeof detail, "%s%s%s, largest %.2f cm (%s)",
             c->out.relapse_local ? "local" : "",
             c->out.relapse_local && c->out.relapse_distant ? " and " : "",
             c->out.relapse_distant ? "distant" : "", ms_clinic_diameter(m, size), how);
    return report(s, METASIM_EVENT_RELAPSE, (unsigned)largest, c->out.relapse_site, detail);
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
    if (isnan(c->out.diagnosis)) {
        if ((rc = diagnose(s)) != 0)
            return rc;
        if (!isnan(c->out.diagnosis) && (rc = blood_draw(s, "diagnosis")) != 0)
            return rc;
        if (!isnan(c->out.diagnosis) && !m->surgery) {
            if ((rc = ms_therapy_start(s)) != 0)
                return rc;
            if (s->opt.stop_at_treatment && s->opt.arm == 0)
                return METASIM_STOP_TREATMENT;
        }
    }
    if (!isnan(c->out.diagnosis) && m->surgery && !c->resected &&
        s->p.t >= c->out.diagnosis + m->surgery_delay) {
        if ((rc = blood_draw(s, "surgery")) != 0 || (rc = operate(s)) != 0 ||
            (rc = ms_therapy_start(s)) != 0)
            return rc;
        if (s->opt.stop_at_treatment && s->opt.arm == 0)
            return METASIM_STOP_TREATMENT;
    }
    if (c->resected && isnan(c->out.relapse)) {
        if (!isnan(c->next_scan) && s->p.t >= c->next_scan) {
            rc = blood_draw(s, "scan");
            if (rc == 0)
                rc = look_for_relapse(s, m->imaging_cells, "scan");
            schedule_scan(s, c->next_scan);
        }
        if (rc == 0 && isnan(c->out.relapse))
            rc = look_for_relapse(s, m->symptomatic_cells, "symptoms");
        if (rc != 0)
            return rc;
    }
    return check_death(s);
}

double ms_clinic_next(const metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    const ms_clinic *c = &s->clinic;
    double next = INFINITY;
    if (!isnan(c->out.diagnosis) && m->surgery && !c->resected)
        next = c->out.diagnosis + m->surgery_delay;
    if (c->resected && isnan(c->out.relapse) && !isnan(c->next_scan))
        next = fmin(next, c->next_scan);
    return next;
}
