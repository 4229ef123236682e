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
 * is (b - d) f in every case. Gompertz growth at a set rate lambda (sites.S.gompertz_rate) has
 * the net rate min(b - d, lambda ln(K/N)) instead (Hahnfeldt et al. 1999), where K may be the
 * lesion's level of a capacity factor (its vascular capacity), averaged over the step (below).
 * Compartments that do not grow (dormant cells) keep their rates.
 * Factor modifiers (Hill terms) multiply division, death and transition rates first; drug
 * effects act after them, and a drug_kill modifier multiplies the death rate drugs add.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "core/array_internal.h"
#include "engine/engine_internal.h"

int ms_engine_traits(metasim_sim_t *s, uint32_t clone)
{
    if (ms_array_reserve((void **)&s->traits, &s->cap_traits, (size_t)clone + 1, sizeof *s->traits,
                         16) != 0)
        return METASIM_E_NOMEM;
    const metasim_model_t *m = s->model;
    uint64_t loci = s->p.clones[clone].loci;
    ms_clone_traits t = {1.0, 1.0, 1.0, 1.0, ms_karyotype_missegregation(m, loci)};
    if (m->n_chromosomes)
        t.division = ms_karyotype_division(m, ms_patient_karyotype(&s->p, clone));
    for (size_t k = 0; k < m->n_loci; k++) {
        if (loci >> k & 1) {
            t.division *= m->loci[k].division_effect;
            t.death *= m->loci[k].death_effect;
            t.shedding *= m->loci[k].shedding;
        } else {
            t.no_mutation *= 1.0 - m->loci[k].mutation_probability;
        }
    }
    s->traits[clone] = t;
    return 0;
}

double ms_engine_density(const ms_site *site, double n)
{
    switch (site->growth) {
    case MS_GROWTH_LOGISTIC: return 1.0 - n / site->capacity;
    case MS_GROWTH_GOMPERTZ:
        if (site->capacity <= 1.0)
            return n < 1.0 ? 1.0 : 0.0;
        return n <= 1.0 ? 1.0 : log(site->capacity / n) / log(site->capacity);
    case MS_GROWTH_EXPONENTIAL: break;
    }
    return 1.0;
}

/* Gompertz growth at a set rate lambda (sites.S.gompertz_rate): the net rate per cell lambda u,
 * u = ln(K/N), with K the lesion's capacity (the level of the site's capacity factor, or its
 * fixed capacity); dV/dt = -lambda1 V ln(V/K) of Hahnfeldt et al., Cancer Res 1999. Within a
 * step of length tau it is averaged over the lesion's expected path, on which ln N grows at
 * lambda u and ln K at its present relative rate g = K'/K, so that du/dt = g - lambda u and the
 * mean of lambda u over the step is
 *     g + (lambda u0 - g) (1 - e^{-x}) / x,   x = lambda tau.
 * Outside a step (tau = 0) it is lambda u0, the rate now. */
static double vascular_rate(const metasim_sim_t *s, const ms_lesion *l, const ms_site *site)
{
    const double lambda = site->gompertz_rate, n = fmax((double)l->total, 1.0);
    const bool factor = site->capacity_factor < s->model->n_factors;
    const double k = factor ? l->factors[site->capacity_factor] : site->capacity;
    const double u0 = log(fmax(k, DBL_MIN) / n), x = lambda * s->env_tau;
    if (!(x > 0))
        return lambda * u0;
    double g = factor && k > 0 ? ms_engine_factor_slope(s, l, site->capacity_factor) / k : 0;
    return g + (lambda * u0 - g) * (x < 1e-8 ? 1.0 - 0.5 * x : -expm1(-x) / x);
}

double ms_engine_hill(const ms_modifier *mod, double level)
{
    if (level <= 0)
        return 1.0;
    /* F^h / (ec50^h + F^h) written as 1 / (1 + (ec50/F)^h), safe for huge or tiny ratios. */
    double occupancy = 1.0 / (1.0 + pow(mod->ec50 / level, mod->hill));
    return 1.0 + (mod->max_effect - 1.0) * occupancy;
}

void ms_engine_env(metasim_sim_t *s, const ms_lesion *l)
{
    const metasim_model_t *m = s->model;
    const ms_site *site = &m->sites[l->site];
    ms_env *env = &s->env;
    env->density = site->gompertz_rate > 0 ? 1.0 : ms_engine_density(site, (double)l->total);
    env->net_limit = site->gompertz_rate > 0 ? vascular_rate(s, l, site) : INFINITY;
    for (size_t k = 0; k < m->n_states; k++)
        env->division[k] = env->death[k] = env->shedding[k] = env->drug_kill[k] = 1.0;
    for (size_t j = 0; j < site->n_transitions; j++)
        env->transition[j] = site->transitions[j].rate;
    for (size_t i = 0; i < m->n_modifiers; i++) {
        const ms_modifier *mod = &m->modifiers[i];
        if (mod->target == MS_TARGET_HOMING || mod->target == MS_TARGET_PRODUCTION)
            continue; /* read by the sim from the primary, and by factors.c */
        double x = ms_engine_hill(mod, l->factors[mod->factor]);
        if (mod->target == MS_TARGET_TRANSITION) {
            for (size_t j = 0; j < site->n_transitions; j++)
                if (site->transitions[j].from == mod->from && site->transitions[j].to == mod->to)
                    env->transition[j] *= x;
            continue;
        }
        double *per_state = mod->target == MS_TARGET_DIVISION   ? env->division
                            : mod->target == MS_TARGET_DEATH    ? env->death
                            : mod->target == MS_TARGET_SHEDDING ? env->shedding
                                                                : env->drug_kill;
        for (size_t k = 0; k < m->n_states; k++)
            if (mod->state == m->n_states || mod->state == k)
                per_state[k] *= x;
    }
}

double ms_engine_occupancy(const ms_effect *ef, double conc, double shift)
{
    if (conc <= 0)
        return 0;
    /* C^h / (EC50^h + C^h) written as 1 / (1 + (EC50/C)^h), safe for huge or tiny ratios. */
    return 1.0 / (1.0 + pow(ef->ec50 * shift / conc, ef->hill));
}

double ms_engine_resistance(const metasim_sim_t *s, uint32_t clone, uint32_t state, size_t drug,
                            const ms_effect *ef)
{
    const metasim_model_t *m = s->model;
    double shift = ef->state_resistance[state];
    uint64_t loci = s->p.clones[clone].loci;
    for (size_t k = 0; loci && k < m->n_loci; k++)
        if (loci >> k & 1)
            shift *= m->loci[k].resistance[drug];
    if (m->n_chromosomes)
        shift *= ms_karyotype_resistance(m, ms_patient_karyotype(&s->p, clone), drug);
    return shift;
}

/* 1 when effect `ef` acts on compartment c of lesion l (site and state restrictions). */
static bool acts_on(const metasim_model_t *m, const ms_effect *ef, const ms_lesion *l,
                    const ms_comp *c)
{
    return (ef->site == m->n_sites || ef->site == l->site) &&
           (ef->state == m->n_states || ef->state == c->state);
}

/* Effect `ef` of drug `dr` averaged over the step's quadrature nodes. */
static double mean_occupancy(const metasim_sim_t *s, size_t dr, const ms_effect *ef, double shift)
{
    double h = 0;
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        h += ms_drug_weight[q] * ms_engine_occupancy(ef, s->conc[dr * MS_DRUG_NODES + q], shift);
    return h;
}

/* The death rate added by every drug, averaged over the step: kill rates add (independent
 * hazards). */
static double drug_kill(const metasim_sim_t *s, const ms_lesion *l, const ms_comp *c)
{
    const metasim_model_t *m = s->model;
    double kill = 0;
    for (size_t dr = 0; dr < m->n_drugs; dr++) {
        if (!ms_therapy_present(s, dr))
            continue;
        for (size_t k = 0; k < m->drugs[dr].n_effects; k++) {
            const ms_effect *ef = &m->drugs[dr].effects[k];
            if (ef->target != MS_EFFECT_DEATH || !acts_on(m, ef, l, c))
                continue;
            double shift = ms_engine_resistance(s, c->clone, c->state, dr, ef);
            kill += ef->max * mean_occupancy(s, dr, ef, shift);
        }
    }
    return kill;
}

/* What is left of a rate after the blocking effects on `target` (for transitions, site
 * transition j), averaged over the step: prod(1 - b_i) under Bliss independence,
 * max(0, 1 - sum b_i) when additive, combined at each node and then averaged. */
static double drug_factor(const metasim_sim_t *s, const ms_lesion *l, const ms_comp *c,
                          ms_effect_target target, size_t j)
{
    const metasim_model_t *m = s->model;
    const ms_transition *tr =
        target == MS_EFFECT_TRANSITION ? &m->sites[l->site].transitions[j] : NULL;
    double product[MS_DRUG_NODES], sum[MS_DRUG_NODES];
    bool any = false;
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        product[q] = 1, sum[q] = 0;
    for (size_t dr = 0; dr < m->n_drugs; dr++) {
        if (!ms_therapy_present(s, dr))
            continue;
        for (size_t k = 0; k < m->drugs[dr].n_effects; k++) {
            const ms_effect *ef = &m->drugs[dr].effects[k];
            if (ef->target != target)
                continue;
            if (tr ? (ef->from != tr->from || ef->to != tr->to ||
                      (ef->site != m->n_sites && ef->site != l->site))
                   : !acts_on(m, ef, l, c))
                continue;
            double shift = ms_engine_resistance(s, c->clone, c->state, dr, ef);
            any = true;
            for (size_t q = 0; q < MS_DRUG_NODES; q++) {
                double b =
                    ef->max * ms_engine_occupancy(ef, s->conc[dr * MS_DRUG_NODES + q], shift);
                product[q] *= 1 - b;
                sum[q] += b;
            }
        }
    }
    if (!any)
        return 1;
    double left = 0;
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        left += ms_drug_weight[q] * (m->additive ? fmax(0.0, 1.0 - sum[q]) : product[q]);
    return left;
}

/* The rate that drugs add to site transition j for compartment c of lesion l, averaged over
 * the step: inductions add, each at the cell's own EC50. */
static double drug_induced(const metasim_sim_t *s, const ms_lesion *l, const ms_comp *c, size_t j)
{
    const metasim_model_t *m = s->model;
    const ms_transition *tr = &m->sites[l->site].transitions[j];
    double rate = 0;
    for (size_t dr = 0; dr < m->n_drugs; dr++) {
        if (!ms_therapy_present(s, dr))
            continue;
        for (size_t k = 0; k < m->drugs[dr].n_effects; k++) {
            const ms_effect *ef = &m->drugs[dr].effects[k];
            if (ef->target != MS_EFFECT_TRANSITION || ef->rate == 0 || ef->from != tr->from ||
                ef->to != tr->to || (ef->site != m->n_sites && ef->site != l->site))
                continue;
            double shift = ms_engine_resistance(s, c->clone, c->state, dr, ef);
            rate += ef->rate * mean_occupancy(s, dr, ef, shift);
        }
    }
    return rate;
}

double ms_engine_transition(const metasim_sim_t *s, const ms_lesion *l, const ms_comp *c, size_t j)
{
    double rate = s->env.transition[j];
    if (!s->treated)
        return rate;
    if (rate > 0)
        rate *= drug_factor(s, l, c, MS_EFFECT_TRANSITION, j);
    return rate + drug_induced(s, l, c, j);
}

void ms_engine_rates(const metasim_sim_t *s, const ms_lesion *l, uint32_t comp, ms_rates *out)
{
    const metasim_model_t *m = s->model;
    const ms_site *site = &m->sites[l->site];
    const ms_comp *c = &l->comps[comp];
    const ms_clone_traits *tr = &s->traits[c->clone];
    const ms_env *env = &s->env;
    double b = site->division[c->state] * tr->division * env->division[c->state];
    double d = site->death[c->state] * tr->death * env->death[c->state];
    double shed =
        site->shedding * site->state_shedding[c->state] * tr->shedding * env->shedding[c->state];
    if (c->state == MS_STATE_DORMANT) {
        uint64_t loci = s->p.clones[c->clone].loci;
        for (size_t k = 0; loci && k < m->n_loci; k++)
            if (loci >> k & 1)
                d *= m->loci[k].dormant_death[l->site];
    }
    /* At a set Gompertz rate the lesion's net rate after shedding is lambda ln(K/N): the rate
     * fitted to observed volumes includes the cells lost to the blood. */
    double limit = env->net_limit + shed;
    if (b > d && (env->density != 1.0 || b - d > limit)) {
        double scaled = d + fmin((b - d) * env->density, limit);
        b = scaled > 0 ? scaled : 0;
        d = scaled > 0 ? d : d - scaled;
    }
    if (s->treated) {
        b *= drug_factor(s, l, c, MS_EFFECT_DIVISION, 0);
        shed *= drug_factor(s, l, c, MS_EFFECT_SHEDDING, 0);
        d += drug_kill(s, l, c) * env->drug_kill[c->state];
    }
    double out_rate = 0;
    for (size_t k = 0; k < site->n_transitions; k++)
        if (site->transitions[k].from == c->state)
            out_rate += ms_engine_transition(s, l, c, k);
    double mis = b * tr->missegregation;
    b -= mis;
    out->birth_same = b * tr->no_mutation;
    out->birth_mut = b - out->birth_same;
    out->mis = mis;
    out->death = d;
    out->out = out_rate;
    out->shed = shed;
    out->loss = d + mis + out_rate + shed;
    out->total = b + out->loss;
}
