/* The linear birth-death transition law and its exact sampler (bd_law_internal.h).
 *
 * Computing alpha and beta stably. With r = b - d, E = e^(rt) and E - 1 = expm1(rt), the
 * denominator is b E - d = b (E - 1) + r. Dividing through by r gives, with h = (E - 1)/r,
 *     alpha = d h / (1 + b h),   beta = b h / (1 + b h),
 * which is fine for r < 0 (E - 1 < 0 and r < 0, so h > 0), but for r > 0 E overflows at
 * rt > 709. Multiplying numerator and denominator by e^(-rt) instead turns h into
 * (1 - e^(-rt))/r and b into d in the denominator. Both cases are one formula in s = |r|:
 *     h = (1 - e^(-s t))/s,     w = min(b, d),
 *     alpha = d h / (1 + w h),   beta = b h / (1 + w h),
 *     1 - alpha = e^(-max(-r, 0) t) / (1 + w h),   1 - beta = e^(-max(r, 0) t) / (1 + w h).
 * Every term is non-negative, so nothing cancels; h is -expm1(-st)/s, or its Taylor series
 * t (1 - st/2 + (st)^2/6 - ...) when st < 1e-5 (so s = 0, the critical case, needs no special
 * branch: h = t gives alpha = beta = bt/(1 + bt)); and only e^(-st) <= 1 is ever formed. The
 * complements follow from 1 + w h - d h = 1 - s h = e^(-st) when r < 0 (w = b), and
 * 1 + w h - b h = e^(-st) when r > 0 (w = d). */
#include "engine/bd_law_internal.h"

#include <math.h>

#include "rng/samplers_internal.h"

/* (1 - e^(-s t))/s for s >= 0, t >= 0; t at s = 0. Below st = 1e-5 the series
 * 1 - x/2 + x^2/6 - x^3/24 (x = st) is exact to 1e-22 relative; above, expm1 is accurate. */
static double one_minus_exp_over(double s, double t)
{
    const double x = s * t;
    if (x < 1e-5)
        return t * (1 - x / 2 * (1 - x / 3 * (1 - x / 4)));
    return -expm1(-x) / s;
}

/* (e^(rt) - 1)/r for any real r, t >= 0; t at r = 0 (series below |rt| = 1e-5 as above). */
static double expm1_over(double r, double t)
{
    const double x = r * t;
    if (fabs(x) < 1e-5)
        return t * (1 + x / 2 * (1 + x / 3 * (1 + x / 4)));
    return expm1(x) / r;
}

ms_bd_law ms_bd_law_at(double b, double d, double t)
{
    const double r = b - d;
    const double s = fabs(r);
    const double h = one_minus_exp_over(s, t);
    const double den = 1 + fmin(b, d) * h;
    const double decay = exp(-s * t);
    ms_bd_law law = {
        .alpha = d * h / den,
        .beta = b * h / den,
        .one_minus_alpha = (r < 0 ? decay : 1) / den,
        .one_minus_beta = (r > 0 ? decay : 1) / den,
    };
    return law;
}

uint64_t ms_bd_sample(gsl_rng *rng, uint64_t n0, double b, double d, double t)
{
    if (n0 == 0 || !(t > 0))
        return n0;
    const ms_bd_law law = ms_bd_law_at(b, d, t);
    return ms_bd_sample_law(rng, n0, &law);
}

uint64_t ms_bd_sample_law(gsl_rng *rng, uint64_t n0, const ms_bd_law *l)
{
    if (n0 == 0)
        return 0;
    const ms_bd_law law = *l;
    /* Surviving lineages, S ~ Binomial(n0, 1 - alpha). Whichever of alpha and 1 - alpha is at
     * most 1/2 is passed to the sampler, so it never has to form the other by subtraction. */
    const uint64_t s = law.alpha <= 0.5 ? n0 - ms_ran_binomial64(rng, law.alpha, n0)
                                        : ms_ran_binomial64(rng, law.one_minus_alpha, n0);
    if (s == 0)
        return 0;
    /* Each survivor's lineage has 1 + G cells, G the failures before the first success with
     * success probability 1 - beta; the sum of S such G is NegBin(S, 1 - beta), drawn with the
     * odds beta / (1 - beta) so that 1 - beta keeps its precision. */
    const uint64_t extra = ms_ran_negbin64_odds(rng, law.beta / law.one_minus_beta, (double)s);
    return extra > UINT64_MAX - s ? UINT64_MAX : s + extra;
}

ms_bd_law ms_bd_mixed_law(double b, double d, double t, double w, double g)
{
    /* 3-point Gauss-Legendre on [0, 1] (Abramowitz and Stegun 25.4.29). */
    static const double node[3] = {0.11270166537925831, 0.5, 0.88729833462074169};
    static const double weight[3] = {5.0 / 18, 8.0 / 18, 5.0 / 18};
    /* Composite over pieces of at most a quarter of 1/max(b, d), the time over which a division
     * or a death is expected (at most MS_BD_MAX_GROUPS pieces), so that the mean stays exact to
     * the quadrature however wide the group. */
    double n = ceil(4 * fmax(b, d) * w);
    const int pieces = n <= 1 ? 1 : n >= MS_BD_MAX_GROUPS ? MS_BD_MAX_GROUPS : (int)n;
    const double piece = w / pieces;
    double total = 0, alpha = 0, survive = 0, odds = 0;
    for (int k = 0; k < pieces; k++)
        for (int q = 0; q < 3; q++) {
            double at = piece * (k + node[q]);
            double f = weight[q] * (fabs(g * w) < 1e-9 ? 1.0 : exp(g * at));
            ms_bd_law l = ms_bd_law_at(b, d, t - at);
            total += f;
            alpha += f * l.alpha;
            survive += f * l.one_minus_alpha;
            odds += f * l.one_minus_alpha * (l.beta / l.one_minus_beta);
        }
    odds = survive > 0 ? odds / survive : 0;
    return (ms_bd_law){.alpha = alpha / total,
                       .one_minus_alpha = survive / total,
                       .beta = odds / (1 + odds),
                       .one_minus_beta = 1 / (1 + odds)};
}

/* The largest variance, over s in [0, tau], of one cell's lineage s after it starts: at tau
 * when the lineage is not subcritical (the variance grows); else (b + d)/|r| x (1 - x) with
 * x = e^(r s), largest at x = 1/2 when e^(r tau) reaches it. */
static double peak_variance(double b, double d, double tau)
{
    const double r = b - d;
    if (r < 0 && r * tau < -0.69314718055994531) /* e^(r tau) < 1/2 */
        return (b + d) / (4 * -r);
    return ms_bd_variance(1, b, d, tau);
}

int ms_bd_group_count(double b, double d, double tau, uint64_t count, uint64_t n_own, double t_own)
{
    double g0 = ceil(4 * b * tau);
    g0 = g0 <= 2 ? 2 : g0 >= MS_BD_MAX_GROUPS ? MS_BD_MAX_GROUPS : g0;
    const double arrivals = (double)count * peak_variance(b, d, tau);
    const double own = ms_bd_variance(n_own, b, d, t_own);
    const double share = arrivals + own > 0 ? arrivals / (arrivals + own) : 1;
    const double groups = ceil(g0 * sqrt(share));
    return groups <= 1 ? 1 : (int)groups;
}

double ms_bd_mean(uint64_t n0, double b, double d, double t)
{
    return (double)n0 * exp((b - d) * t);
}

double ms_bd_variance(uint64_t n0, double b, double d, double t)
{
    /* n0 (b + d)/r E (E - 1) = n0 (b + d) E h with h = (E - 1)/r, which is t at r = 0. */
    const double r = b - d;
    return (double)n0 * (b + d) * exp(r * t) * expm1_over(r, t);
}

double ms_bd_extinction_ultimate(double b, double d)
{
    if (d >= b)
        return b == 0 && d == 0 ? 0 : 1;
    return d / b;
}
