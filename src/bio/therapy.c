/*
 * Therapy of one patient: the arm's dosing schedule (exact pharmacokinetics, pk.c) and its
 * effects on per-cell rates (pharmacodynamics, rates.c). An arm's schedule starts at surgery,
 * or at diagnosis when the scenario has no surgery; dose times are relative to that start.
 * Within a step the effects are evaluated at the concentrations of the step's midpoint, and
 * steps end at every dose and infusion end, and before any concentration that an effect reads
 * changes by more than engine.step_bound (C + EC50) (docs/therapy.md).
 */
#include <math.h>
#include <stdlib.h>

#include "bio/pk_internal.h"
#include "engine/engine_internal.h"

int ms_therapy_start(metasim_sim_t *s)
{
    const metasim_model_t *m = s->model;
    if (s->treated || s->opt.arm == 0 || s->opt.arm > m->n_arms)
        return 0;
    const ms_arm *arm = &m->arms[s->opt.arm - 1];
    s->treated = true;
    if (s->keyed_arm != s->opt.arm)
        ms_engine_key_streams(s, s->opt.arm); /* the arm's own streams from now on */
    for (size_t d = 0; d < m->n_drugs; d++) {
        bool given = false;
        for (size_t k = 0; k < arm->n_doses; k++)
            given |= arm->doses[k].drug == d;
        if (!given)
            continue;
        ms_strbuf why = {0};
        int rc = ms_pk_create(&m->drugs[d], arm->doses, arm->n_doses, d, s->p.t, &s->pk[d], &why);
        if (rc != 0) {
            ms_strbuf_free(&s->err);
            ms_strbuf_printf(&s->err, "arms.%s.%s", arm->name, ms_strbuf_str(&why));
            ms_strbuf_free(&why);
            return rc;
        }
        ms_strbuf_free(&why);
    }
    const metasim_writer_t *w = s->opt.writer;
    if (w && w->event) {
        metasim_event_t e = {.time = s->p.t, .kind = METASIM_EVENT_THERAPY, .detail = arm->name};
        if (w->event(w->user, &e) != 0)
            return METASIM_E_IO;
    }
    return 0;
}

void ms_therapy_at(metasim_sim_t *s, double t)
{
    for (size_t d = 0; d < s->model->n_drugs; d++)
        s->conc[d] = s->pk[d] ? ms_pk_concentration(s->pk[d], t) : 0;
}

double ms_therapy_next(const metasim_sim_t *s, double t)
{
    const metasim_model_t *m = s->model;
    double next = INFINITY;
    for (size_t d = 0; d < m->n_drugs; d++) {
        if (!s->pk[d] || m->drugs[d].n_effects == 0)
            continue;
        next = fmin(next, ms_pk_next_event(s->pk[d], t));
        double ec50 = INFINITY;
        for (size_t k = 0; k < m->drugs[d].n_effects; k++)
            ec50 = fmin(ec50, m->drugs[d].effects[k].ec50);
        /* The concentration is smooth between events: a one-sided difference gives its slope. */
        const double h = 1e-6;
        double c = ms_pk_concentration(s->pk[d], t);
        double slope = fabs(ms_pk_concentration(s->pk[d], t + h) - c) / h;
        if (slope > 0)
            next = fmin(next, t + m->step_bound * (c + ec50) / slope);
    }
    return next;
}

void ms_therapy_free(metasim_sim_t *s)
{
    for (size_t d = 0; s->pk && d < s->model->n_drugs; d++)
        ms_pk_free(s->pk[d]);
    free(s->pk);
    free(s->conc);
    s->pk = NULL;
    s->conc = NULL;
}
