/*
 * The metastatic cascade between lesions (DESIGN.md section 1, "Dissemination"). A shed cell
 * survives the circulation with probability circulation.survival, lands at site j with
 * probability w_j / sum(w), where w_j = blood_flow_j times the clone's tropism for j (times the
 * primary's homing for the primary's site), and colonises with probability colonisation_j
 * times the clone's colonisation factor for j, capped at 1. Only colonisers go on (thinning);
 * the others are counted as lost. Landing at the primary's site joins the primary
 * (self-seeding; Kim et al., Cell 2009); anywhere else a coloniser founds a lesion, an edge of
 * the seeding graph.
 */
#include "core/array_internal.h"
#include "engine/engine_internal.h"
#include "rng/samplers_internal.h"

/* Lesions are kept for the seeding graph even when extinct; this bounds a runaway scenario. */
#define MAX_LESIONS 1000000

/* The chance that a cell of `clone` landing at site j settles. */
static double settles(const metasim_sim_t *s, uint64_t loci, size_t j)
{
    const metasim_model_t *m = s->model;
    double p = m->sites[j].colonisation;
    for (size_t k = 0; p > 0 && k < m->n_loci; k++)
        if (loci >> k & 1)
            p *= m->loci[k].colonisation[j];
    return p < 1 ? p : 1;
}

void ms_engine_spread(metasim_sim_t *s, uint32_t clone, uint64_t count, bool from_primary,
                      uint64_t *colonisers)
{
    const metasim_model_t *m = s->model;
    uint64_t loci = s->p.clones[clone].loci;
    double total = 0;
    for (size_t j = 0; j < m->n_sites; j++) {
        double w = m->sites[j].blood_flow;
        for (size_t k = 0; w > 0 && k < m->n_loci; k++)
            if (loci >> k & 1)
                w *= m->loci[k].tropism[j];
        if (ms_engine_joins_primary(s, (uint32_t)j))
            w *= s->homing;
        s->weights[j] = w;
        total += w;
        colonisers[j] = 0;
    }
    s->counts.shed += count;
    uint64_t settled = 0, blood = count;
    /* The primary's cells that take the lymph reach its regional nodes directly. */
    for (size_t j = 0; from_primary && j < m->n_sites && blood > 0; j++) {
        double share = m->sites[j].lymph_flow;
        if (share <= 0)
            continue;
        uint64_t here = ms_ran_binomial64(s->rng, share, count);
        here = here < blood ? here : blood;
        blood -= here;
        colonisers[j] = ms_ran_binomial64(s->rng, settles(s, loci, j), here);
        settled += colonisers[j];
    }
    uint64_t landed = total > 0 ? ms_ran_binomial64(s->rng, m->ctc_survival, blood) : 0;
    /* Multinomial over sites as a chain of binomials. */
    for (size_t j = 0; j < m->n_sites && landed > 0; j++) {
        double w = s->weights[j];
        uint64_t here = w >= total ? landed : ms_ran_binomial64(s->rng, w / total, landed);
        total -= w;
        landed -= here;
        uint64_t more = ms_ran_binomial64(s->rng, settles(s, loci, j), here);
        colonisers[j] += more;
        settled += more;
    }
    s->counts.colonised += settled;
    s->counts.lost += count - settled;
}

int ms_engine_joins_primary(const metasim_sim_t *s, uint32_t site)
{
    return site == s->p.lesions[0].site && !s->clinic.resected;
}

uint64_t ms_engine_arrivals_dormant(metasim_sim_t *s, uint32_t site, uint32_t shed_state,
                                    uint64_t n, uint32_t *awake)
{
    const bool kept = s->model->keep_state[shed_state];
    *awake = kept ? shed_state : MS_STATE_CYCLING;
    double p = kept ? 0 : s->model->sites[site].dormancy_on_arrival;
    return p > 0 && n > 0 ? ms_ran_binomial64(s->rng, p, n) : 0;
}

uint32_t ms_engine_arrival_state(metasim_sim_t *s, uint32_t site, uint32_t shed_state)
{
    if (s->model->keep_state[shed_state])
        return shed_state;
    double p = s->model->sites[site].dormancy_on_arrival;
    return p > 0 && gsl_rng_uniform(s->rng) < p ? MS_STATE_DORMANT : MS_STATE_CYCLING;
}

int ms_engine_pending(metasim_sim_t *s, uint32_t lesion, uint32_t clone, uint32_t state, double t,
                      uint64_t count)
{
    if (ms_array_reserve((void **)&s->pending, &s->cap_pending, s->n_pending + 1,
                         sizeof *s->pending, 16) != 0)
        return METASIM_E_NOMEM;
    s->pending[s->n_pending++] = (ms_pending){lesion, clone, state, t, count};
    return 0;
}

int ms_engine_found_lesion(metasim_sim_t *s, uint32_t site, uint32_t parent, uint32_t clone,
                           uint32_t shed_state, double t)
{
    if (s->p.n_lesions >= MAX_LESIONS)
        return METASIM_E_LIMIT;
    uint32_t id = ms_patient_add_lesion(&s->p, site, parent, t, clone);
    if (id == MS_NONE)
        return METASIM_E_NOMEM;
    uint32_t state = ms_engine_arrival_state(s, site, shed_state);
    s->p.lesions[id].founder_state = state;
    s->counts.lesions++;
    int rc = ms_engine_pending(s, id, clone, state, t, 1);
    const metasim_writer_t *w = s->opt.writer;
    if (rc == 0 && w && w->event) {
        metasim_event_t e = {.time = t,
                             .kind = METASIM_EVENT_LESION,
                             .lesion = id,
                             .clone = clone,
                             .parent_clone = s->p.clones[clone].parent,
                             .source_lesion = parent,
                             .site = s->model->sites[site].name,
                             .detail = s->model->states[state]};
        if (e.parent_clone == MS_NONE)
            e.parent_clone = clone;
        rc = w->event(w->user, &e) ? METASIM_E_IO : 0;
    }
    return rc;
}
