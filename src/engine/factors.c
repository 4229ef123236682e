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
 * drugs leave of it or raise it to (PI3K/mTOR inhibitors raising IL-8 secretion); what drugs
 * induce is added unscaled. The expected number of circulating
 * tumour cells follows the same kind of equation, with the shedding rate as production and
 * ln 2 / half-life as decay.
 *
 * A factor may also be lost at a rate that grows with the lesion, inhibition N^(2/3) (the
 * endogenous inhibitors of angiogenesis, from the tumour's surface: d V^(2/3) K of Hahnfeldt
 * et al., Cancer Res 1999), and at a rate drugs add (max_loss H(C): anti-angiogenic drugs,
 * e K g(t) of the same model). Both join the decay over a step, as their means over it: the
 * surface along the lesion's exponential path through its sizes at both ends, the drugs at the
 * step's quadrature nodes, so the closed form above holds with the decay they sum to.
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
 * node and multiplied there by the folds of the effects that raise it (1 + (max_fold - 1) H
 * each: a drug that makes cells secrete more), and the induced production (level/d; inductions
 * add). They act on the whole lesion, so no clone's resistance applies. */
static void factor_drugs(const metasim_sim_t *s, const ms_lesion *l, size_t k, double *left,
                         double *induced, double *loss)
{
    const metasim_model_t *m = s->model;
    double product[MS_DRUG_NODES], sum[MS_DRUG_NODES], fold[MS_DRUG_NODES];
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        product[q] = 1, sum[q] = 0, fold[q] = 1;
    *induced = *loss = 0;
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
                fold[q] *= 1 + (ef->fold - 1) * h;
                *induced += ms_drug_weight[q] * ef->induction * h;
                *loss += ms_drug_weight[q] * ef->loss * h;
            }
        }
    }
    *left = 0;
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        *left += ms_drug_weight[q] * (m->additive ? fmax(0.0, 1.0 - sum[q]) : product[q]) * fold[q];
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

double ms_engine_mean_surface(double n0, double n1)
{
    const double third = 2.0 / 3.0;
    if (n0 > 0 && n1 > 0) {
        /* N = n0 e^{g u}: the mean of n0^(2/3) e^{(2/3) g u} is (n1^(2/3) - n0^(2/3)) / x,
         * x = (2/3) ln(n1/n0), written with relax() to stay exact as x goes to 0. */
        double x = third * log(n1 / n0);
        return pow(n1, third) * relax(x);
    }
    /* A straight line from n0 to n1: (3/5) (n1^(5/3) - n0^(5/3)) / (n1 - n0). */
    if (n0 == n1)
        return pow(n0, third);
    return 0.6 * (pow(n1, 5.0 / 3.0) - pow(n0, 5.0 / 3.0)) / (n1 - n0);
}

/* The surface term of factor k's loss over the step: inhibition times the mean of N^(2/3) of
 * lesion l, from its size at the step's start (the compartments' starts) to its size now. */
static double surface_loss(const metasim_sim_t *s, const ms_lesion *l, size_t k)
{
    double inhibition = s->model->factors[k].inhibition, n0 = 0;
    if (!(inhibition > 0))
        return 0;
    for (size_t i = 0; i < l->n_comps; i++)
        n0 += (double)s->cs[i].start;
    return inhibition * ms_engine_mean_surface(n0, (double)l->total);
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
        double left, induced, loss;
        factor_drugs(s, l, k, &left, &induced, &loss);
        left *= s->gain[k];
        double decay = f->decay + surface_loss(s, l, k) + loss, e = exp(-decay * tau);
        double level = l->factors[k] * e + (f->source * left + induced) * tau * relax(decay * tau);
        for (size_t i = 0; i < l->n_comps; i++) {
            double p = production(s, &l->comps[i], k) * left;
            if (p > 0)
                level += p * ms_engine_weighted_area((double)s->cs[i].start, (double)l->comps[i].n,
                                                     decay, tau);
        }
        l->factors[k] = level > 0 ? level : 0;
    }
}

double ms_engine_factor_slope(const metasim_sim_t *s, const ms_lesion *l, size_t k)
{
    const ms_factor *f = &s->model->factors[k];
    double left, induced, loss;
    factor_drugs(s, l, k, &left, &induced, &loss);
    left *= gain(s->model, l, k);
    double decay = f->decay + loss;
    if (f->inhibition > 0)
        decay += f->inhibition * pow((double)l->total, 2.0 / 3.0);
    double slope = f->source * left + induced - decay * l->factors[k];
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
