/*
 * Per-cell rates of a compartment at a lesion: the site's base rates for the state, times the
 * clone's locus effects, with density dependence. Density dependence scales the net growth
 * rate of compartments that grow (division above death) by f(N), so that the mean lesion
 * follows the logistic or Gompertz law exactly:
 *
 *     logistic  f(N) = 1 - N/K            (Verhulst)
 *     Gompertz  f(N) = ln(K/N) / ln(K)    (f(1) = 1, f(K) = 0; Norton and Simon 1977)
 *
 * division' = max(0, d + (b - d) f) and death' = d + max(0, -(d + (b - d) f)), so the net rate
 * is (b - d) f in every case. Compartments that do not grow (dormant cells) keep their rates.
 */
#include <math.h>
#include <stdlib.h>

#include "engine/engine_internal.h"

int ms_engine_traits(metasim_sim_t *s, uint32_t clone)
{
    if (clone >= s->cap_traits) {
        size_t cap = s->cap_traits ? s->cap_traits : 16;
        while (cap <= clone)
            cap *= 2;
        ms_clone_traits *grown = realloc(s->traits, cap * sizeof *grown);
        if (!grown)
            return METASIM_E_NOMEM;
        s->traits = grown;
        s->cap_traits = cap;
    }
    const metasim_model_t *m = s->model;
    uint64_t loci = s->p.clones[clone].loci;
    ms_clone_traits t = {1.0, 1.0, 1.0};
    for (size_t k = 0; k < m->n_loci; k++) {
        if (loci >> k & 1) {
            t.division *= m->loci[k].division_effect;
            t.death *= m->loci[k].death_effect;
        } else {
            t.no_mutation *= 1.0 - m->loci[k].mutation_probability;
        }
    }
    s->traits[clone] = t;
    return 0;
}

double ms_engine_density(const metasim_model_t *m, const ms_site *site, double n)
{
    (void)m;
    switch (site->growth) {
    case MS_GROWTH_LOGISTIC:
        return 1.0 - n / site->capacity;
    case MS_GROWTH_GOMPERTZ:
        if (site->capacity <= 1.0)
            return n < 1.0 ? 1.0 : 0.0;
        return n <= 1.0 ? 1.0 : log(site->capacity / n) / log(site->capacity);
    case MS_GROWTH_EXPONENTIAL:
        break;
    }
    return 1.0;
}

void ms_engine_rates(const metasim_sim_t *s, const ms_lesion *l, uint32_t comp, double density,
                     ms_rates *out)
{
    const metasim_model_t *m = s->model;
    const ms_site *site = &m->sites[l->site];
    const ms_comp *c = &l->comps[comp];
    const ms_clone_traits *tr = &s->traits[c->clone];
    double b = site->division[c->state] * tr->division;
    double d = site->death[c->state] * tr->death;
    if (b > d && density != 1.0) {
        double scaled = d + (b - d) * density;
        b = scaled > 0 ? scaled : 0;
        d = scaled > 0 ? d : d - scaled;
    }
    double out_rate = 0;
    for (size_t k = 0; k < site->n_transitions; k++)
        if (site->transitions[k].from == c->state)
            out_rate += site->transitions[k].rate;
    out->birth_same = b * tr->no_mutation;
    out->birth_mut = b - out->birth_same;
    out->death = d;
    out->out = out_rate;
    out->total = b + d + out_rate;
}
