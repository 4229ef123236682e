/*
 * Factor levels per lesion: dF/dt = source + sum_c p_c N_c(t) - decay F, a linear ODE solved
 * exactly over a step given each compartment's path. With E = exp(-decay tau):
 *
 *     F(t1) = F(t0) E + source (1 - E) / decay + sum_c p_c I_c,
 *     I_c   = integral over the step of N_c(u) exp(-decay (t1 - u)) du.
 *
 * I_c is taken along the exponential path through the compartment's counts at both ends, the
 * path the leaps use for emissions (exact for constant counts and deterministic growth), or
 * along a straight line when either end is zero. p_c is the state's production times the
 * clone's locus factors. Production by cells and the source are multiplied by the factor's
 * production modifiers (Hill terms of other factors' levels: TNF-alpha raising CXCL1, CXCL1
 * raising myeloid recruitment), taken at the step's start like every modifier, and by what
 * drugs leave of it; what drugs induce is added unscaled. The expected number of circulating
 * tumour cells follows the same kind of equation, with the shedding rate as production and
 * ln 2 / half-life as decay.
 */
#include <math.h>

#include "engine/engine_internal.h"

/* (1 - exp(-x)) / x, with its limit 1 at x = 0. */
static double relax(double x)
{
    return fabs(x) < 1e-8 ? 1.0 - 0.5 * x : -expm1(-x) / x;
}

static double production(const metasim_sim_t *s, const ms_comp *c, size_t k)
{
    const metasim_model_t *m = s->model;
    double p = m->factors[k].production[c->state];
    uint64_t loci = s->p.clones[c->clone].loci;
    for (size_t j = 0; p > 0 && j < m->n_loci; j++)
        if (loci >> j & 1)
            p *= m->loci[j].production[k];
    return p;
}

/* The product of factor k's production modifiers (rate: production, of: k) at lesion l's
 * levels now. */
static double gain(const metasim_model_t *m, const ms_lesion *l, size_t k)
{
    double g = 1.0;
    for (size_t i = 0; i < m->n_modifiers; i++) {
        const ms_modifier *mod = &m->modifiers[i];
        if (mod->target == MS_TARGET_PRODUCTION && mod->of == k)
            g *= ms_engine_hill(mod, l->factors[mod->factor]);
    }
    return g;
}

/* Drugs acting on factor k at lesion l, averaged over the step's quadrature nodes: the share of
 * production (cells and source) left after blocking, combined like other blocked rates at each
 * node, and the induced production (level/d; inductions add). They act on the host tissue, so
 * no clone's resistance applies. */
static void factor_drugs(const metasim_sim_t *s, const ms_lesion *l, size_t k, double *left,
                         double *induced)
{
    const metasim_model_t *m = s->model;
    double product[MS_DRUG_NODES], sum[MS_DRUG_NODES];
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        product[q] = 1, sum[q] = 0;
    *induced = 0;
    for (size_t dr = 0; s->treated && dr < m->n_drugs; dr++) {
        if (!ms_therapy_present(s, dr))
            continue;
        for (size_t j = 0; j < m->drugs[dr].n_effects; j++) {
            const ms_effect *ef = &m->drugs[dr].effects[j];
            if (ef->target != MS_EFFECT_FACTOR || ef->factor != k ||
                (ef->site != m->n_sites && ef->site != l->site))
                continue;
            for (size_t q = 0; q < MS_DRUG_NODES; q++) {
                double h = ms_engine_occupancy(ef, s->conc[dr * MS_DRUG_NODES + q], 1.0);
                product[q] *= 1 - ef->max * h;
                sum[q] += ef->max * h;
                *induced += ms_drug_weight[q] * ef->induction * h;
            }
        }
    }
    *left = 0;
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        *left += ms_drug_weight[q] * (m->additive ? fmax(0.0, 1.0 - sum[q]) : product[q]);
}

/* Integral of N(u) exp(-decay (tau - u)) over [0, tau] for the path from n0 to n1. */
double ms_engine_weighted_area(double n0, double n1, double decay, double tau)
{
    double a = tau * relax(decay * tau); /* integral of exp(-decay (tau - u)) */
    if (n0 > 0 && n1 > 0) {
        double g = log(n1 / n0) / tau, x = (g + decay) * tau;
        /* n0 E (e^{(g + decay) tau} - 1) / (g + decay), rewritten to stay finite. */
        return n1 * tau * relax(x);
    }
    /* Straight line: n0 a + (n1 - n0) b / tau with b the integral of u exp(-decay (tau - u)). */
    double b = decay * tau < 1e-8 ? tau * tau / 2 : (tau - a) / decay;
    return n0 * a + (n1 - n0) * b / tau;
}

void ms_engine_factors(metasim_sim_t *s, ms_lesion *l, double tau)
{
    const metasim_model_t *m = s->model;
    if (tau <= 0)
        return;
    /* Every gain first, from the levels at the step's start, before any level moves. */
    for (size_t k = 0; k < m->n_factors; k++)
        s->gain[k] = gain(m, l, k);
    for (size_t k = 0; k < m->n_factors; k++) {
        const ms_factor *f = &m->factors[k];
        double e = exp(-f->decay * tau), left, induced;
        factor_drugs(s, l, k, &left, &induced);
        left *= s->gain[k];
        double level =
            l->factors[k] * e + (f->source * left + induced) * tau * relax(f->decay * tau);
        for (size_t i = 0; i < l->n_comps; i++) {
            double p = production(s, &l->comps[i], k) * left;
            if (p > 0)
                level += p * ms_engine_weighted_area((double)s->cs[i].start, (double)l->comps[i].n,
                                                     f->decay, tau);
        }
        l->factors[k] = level > 0 ? level : 0;
    }
}

double ms_engine_factor_slope(const metasim_sim_t *s, const ms_lesion *l, size_t k)
{
    const ms_factor *f = &s->model->factors[k];
    double left, induced;
    factor_drugs(s, l, k, &left, &induced);
    left *= gain(s->model, l, k);
    double slope = f->source * left + induced - f->decay * l->factors[k];
    for (size_t i = 0; i < l->n_comps; i++)
        slope += production(s, &l->comps[i], k) * left * (double)l->comps[i].n;
    return slope;
}

void ms_engine_ctc(metasim_sim_t *s, const ms_lesion *l, double tau)
{
    if (tau <= 0)
        return;
    double clearance = log(2.0) / s->model->ctc_half_life;
    for (size_t i = 0; i < l->n_comps; i++)
        if (s->cs[i].r.shed > 0)
            s->ctc_next +=
                s->cs[i].r.shed * ms_engine_weighted_area((double)s->cs[i].start,
                                                          (double)l->comps[i].n, clearance, tau);
}
