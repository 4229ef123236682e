/* Exact Poisson, binomial and negative binomial samplers with 64-bit counts (samplers_internal.h).
 *
 * Sources:
 * - Poisson, mu >= 10: W. Hörmann, "The transformed rejection method for generating Poisson random
 *   variables", Insurance: Mathematics and Economics 12 (1993) 39-45, algorithm PTRS.
 * - Binomial, (n+1) p >= 11: W. Hörmann, "The generation of binomial random variates", Journal of
 *   Statistical Computation and Simulation 46 (1993) 101-110, algorithm BTRD (steps 0-3.4).
 * - Binomial, (n+1) p < 11: inversion by sequential search (chop-down) from 0; L. Devroye,
 *   "Non-Uniform Random Variate Generation" (1986), chapter III, section 2.
 * - Log-probabilities for the final acceptance tests: C. Loader, "Fast and accurate computation of
 *   binomial probabilities" (2000), the saddle-point form with stirlerr() and bd0().
 * - Negative binomial as a gamma mixture of Poissons: Devroye (1986), chapter X.
 *
 * Why not the textbook acceptance tests: PTRS as published compares against
 * -mu + k log(mu) - lgamma(k+1), and BTRD step 3.4 against (n+1) log(nm/nk) + (k+0.5) log(...).
 * Both are differences of terms of size mu log(mu) or n that cancel to O(1); at mu = 1e15 an ulp of
 * the terms is 4, so acceptance probabilities would be off by factors up to e^4. Loader's
 * form computes the same log-probability from bd0(x, np) = x log(x/np) + np - x, evaluated by a
 * series that never subtracts large numbers, and stays accurate to ~1e-15 absolute at any size.
 * It also avoids lgamma(), which writes the global signgam and so is not thread-safe.
 *
 * Likewise the proposals k = floor(G(u) + mu) are formed as floor(mu) + floor(G(u) + frac(mu)),
 * so that rounding at the scale of mu (an ulp of 1e15 is 0.125) cannot move the cut points of the
 * transformed-rejection hat. */
#include "rng/samplers_internal.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>

/* log(sqrt(2 pi)) and log(2 pi). */
#define LN_SQRT_2PI 0.918938533204672741780329736406
#define LN_2PI 1.837877066409345483560659472811

/* A double that is a non-negative integer below 2^64, as uint64_t; beyond, UINT64_MAX. */
/* Up to this many successes, a negative binomial is drawn as a sum of geometric draws. */
enum { GEOMETRIC_SUM_MAX = 4 };

static uint64_t to_count(double k)
{
    return k < 0x1p64 ? (uint64_t)k : UINT64_MAX;
}

/* stirlerr(n) = log(n!) - log(sqrt(2 pi n) (n/e)^n), the error of Stirling's formula, for
 * integers n >= 1 (Loader 2000, section 2). Up to 15 from the exact log-factorial, where the
 * subtraction loses at most a few ulps of log(15!) ~ 28; above 15 from the asymptotic series
 * 1/(12n) - 1/(360n^3) + 1/(1260n^5) - 1/(1680n^7) + 1/(1188n^9), whose next term is below
 * 1e-16 at n = 16. */
static double stirlerr(double n)
{
    if (n <= 15)
        return gsl_sf_lnfact((unsigned)n) - (n + 0.5) * log(n) + n - LN_SQRT_2PI;
    const double nn = n * n;
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - 1.0 / 1188 / nn) / nn) / nn) / nn) /
           n;
}

/* bd0(x, np) = x log(x/np) + np - x >= 0, the deviance term of Loader (2000), for x >= 1,
 * np > 0. Near x = np it is the series sum over j >= 0 of 2x v^(2j+1)/(2j+1) - (x-np) v with
 * v = (x-np)/(x+np), which has no cancellation; |v| < 0.1 there, so it converges to a relative
 * 1e-16 within 8 terms. */
static double bd0(double x, double np)
{
    const double diff = x - np;
    if (fabs(diff) < 0.1 * (x + np)) {
        double v = diff / (x + np);
        double s = diff * v;
        double ej = 2 * x * v;
        v *= v;
        for (int j = 1; j < 100; j++) {
            ej *= v;
            const double s1 = s + ej / (2 * j + 1);
            if (s1 == s)
                return s1;
            s = s1;
        }
        return s;
    }
    return x * log(x / np) - diff;
}

/* Loader 2000, dpois_raw. */
double ms_ran_log_poisson_pmf(double k, double mu)
{
    if (k == 0)
        return -mu;
    return -stirlerr(k) - bd0(k, mu) - 0.5 * (LN_2PI + log(k));
}

/* log P(X = k) for X ~ Binomial(n, p), 0 <= k <= n, 0 < p < 1, q = 1 - p given separately
 * (Loader 2000, dbinom_raw). */
static double log_binomial_pmf(double k, double n, double p, double q)
{
    if (k == 0)
        return n * log1p(-p);
    if (k == n)
        return n * log(p);
    const double lc =
        stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, n * p) - bd0(n - k, n * q);
    return lc - 0.5 * (LN_2PI + log(k) + log1p(-k / n));
}

double ms_ran_log_binomial_pmf(double k, double n, double p)
{
    return log_binomial_pmf(k, n, p, 1 - p);
}

/* PTRS (Hörmann 1993, table 2), for mu >= 10. Expected number of trials below 1.3 for all mu;
 * the constants a, b, 1/alpha, v_r are the paper's. The paper's final test is
 * log(V / alpha / (a / us^2 + b)) <= log f(k); f is evaluated by ms_ran_log_poisson_pmf. */
static double poisson_ptrs(gsl_rng *r, double mu)
{
    const double slam = sqrt(mu);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double log_inv_alpha = log(1.1239 + 1.1328 / (b - 3.4));
    const double vr = 0.9277 - 3.6224 / (b - 2);
    const double mu_int = floor(mu);
    const double mu_frac = mu - mu_int + 0.43; /* exact: mu - floor(mu) is exact, and < 1.43 */

    for (;;) {
        const double u = gsl_rng_uniform(r) - 0.5;
        const double v = gsl_rng_uniform(r);
        const double us = 0.5 - fabs(u);
        const double k = mu_int + floor((2 * a / us + b) * u + mu_frac);
        if (us >= 0.07 && v <= vr)
            return k;
        if (k < 0 || (us < 0.013 && v > us))
            continue;
        if (log(v) + log_inv_alpha - log(a / (us * us) + b) <= ms_ran_log_poisson_pmf(k, mu))
            return k;
    }
}

uint64_t ms_ran_poisson64(gsl_rng *r, double mu)
{
    if (!(mu > 0))
        return 0;
    /* gsl_ran_poisson's direct method (product of uniforms against e^-mu) is exact and takes
     * mu + 1 uniforms on average, so below 10 it is cheap; it returns below 2^32 surely here. */
    if (mu < 10)
        return gsl_ran_poisson(r, mu);
    return to_count(poisson_ptrs(r, mu));
}

/* Chop-down inversion from 0 (Devroye 1986, chapter III), for p <= 1/2 and (n+1) p < 11, so
 * about np + 1 < 12 steps on average. f(0) = q^n >= e^(-1.39 np) > e^-16 here (as
 * log(1-p) >= -2p log 2 for p <= 1/2), so nothing underflows in the region that matters; if
 * rounding leaves u beyond the sum of all representable f(k) (probability ~1e-16) the draw is
 * restarted, which keeps the result in [0, n] and changes the law only at that rounding level. */
static double binomial_inversion(gsl_rng *r, double p, double n)
{
    const double q = 1 - p;
    const double s = p / q;
    const double a = (n + 1) * s;
    const double f0 = exp(n * log1p(-p));
    for (;;) {
        double u = gsl_rng_uniform(r);
        double k = 0, f = f0;
        while (u > f && f > 0) {
            u -= f;
            k += 1;
            if (k > n)
                break;
            f *= a / k - s; /* f(k)/f(k-1) = (n-k+1)/k * p/q */
        }
        if (u <= f && k <= n)
            return k;
    }
}

/* BTRD (Hörmann 1993, section 3), for p <= 1/2 and m = floor((n+1) p) >= 11. Steps are numbered
 * as in the paper. Step 3.3-3.4's closed form for log(f(k)/f(m)) is replaced by Loader's
 * log-probabilities (see the top of this file); they are the same quantity. */
static double binomial_btrd(gsl_rng *r, double p, double n)
{
    /* Step 0: setup. */
    const double q = 1 - p;
    const double m = floor((n + 1) * p);
    const double rr = p / q;
    const double nr = (n + 1) * rr;
    const double npq = n * p * q;
    const double sqrt_npq = sqrt(npq);
    const double b = 1.15 + 2.53 * sqrt_npq;
    const double a = -0.0873 + 0.0248 * b + 0.01 * p;
    const double c = n * p + 0.5;
    const double c_int = floor(c);
    const double c_frac = c - c_int;
    const double alpha = (2.83 + 5.1 / b) * sqrt_npq;
    const double vr = 0.92 - 4.2 / b;
    const double urvr = 0.86 * vr;
    double log_fm = NAN; /* log f(m), computed when first needed */

    for (;;) {
        /* Step 1: the central region, accepted without a test. */
        double v = gsl_rng_uniform(r);
        double u;
        if (v <= urvr) {
            u = v / vr - 0.43;
            return c_int + floor((2 * a / (0.5 - fabs(u)) + b) * u + c_frac);
        }
        /* Step 2: a point under the hat outside the central region. */
        if (v >= vr) {
            u = gsl_rng_uniform(r) - 0.5;
        } else {
            u = v / vr - 0.93;
            u = (u < 0 ? -0.5 : 0.5) - u;
            v = gsl_rng_uniform(r) * vr;
        }
        /* Step 3.0. */
        const double us = 0.5 - fabs(u);
        const double k = c_int + floor((2 * a / us + b) * u + c_frac);
        if (k < 0 || k > n)
            continue;
        v = v * alpha / (a / (us * us) + b);
        const double km = fabs(k - m);
        if (km <= 15) {
            /* Step 3.1: f(k)/f(m) by the recursion f(i)/f(i-1) = (n+1-i)/i * p/q. */
            double f = 1;
            if (m < k) {
                for (double i = m + 1; i <= k; i++)
                    f *= nr / i - rr;
            } else if (m > k) {
                for (double i = k + 1; i <= m; i++)
                    v *= nr / i - rr;
            }
            if (v <= f)
                return k;
            continue;
        }
        /* Step 3.2: squeeze on log(f(k)/f(m)). */
        v = log(v);
        const double rho = (km / npq) * (((km / 3 + 0.625) * km + 1.0 / 6) / npq + 0.5);
        const double t = -km * km / (2 * npq);
        if (v < t - rho)
            return k;
        if (v > t + rho)
            continue;
        /* Steps 3.3-3.4: the exact test. */
        if (isnan(log_fm))
            log_fm = log_binomial_pmf(m, n, p, q);
        if (v <= log_binomial_pmf(k, n, p, q) - log_fm)
            return k;
    }
}

/* Binomial(n, p) for 0 < p <= 1/2 as a double. */
static double binomial_lower(gsl_rng *r, double p, double n)
{
    if (floor((n + 1) * p) < 11)
        return binomial_inversion(r, p, n);
    return binomial_btrd(r, p, n);
}

uint64_t ms_ran_binomial64(gsl_rng *r, double p, uint64_t n)
{
    if (n == 0 || !(p > 0))
        return 0;
    if (p >= 1)
        return n;
    if (n == 1) /* a Bernoulli trial: P(U < p) = p for U uniform on [0, 1) */
        return gsl_rng_uniform(r) < p;
    /* By symmetry, X ~ Binomial(n, p) is n - Binomial(n, 1-p); 1-p is exact for p >= 1/2. */
    const int flip = p > 0.5;
    const double k = binomial_lower(r, flip ? 1 - p : p, (double)n);
    uint64_t x = to_count(k);
    if (x > n) /* only if n > 2^53 was rounded up to a double */
        x = n;
    return flip ? n - x : x;
}

/* Failures before the first success, success probability 1/(1 + odds), by inversion: P(X >= k)
 * = f^k with f = odds/(1 + odds), so X = floor(log U / log f) for U uniform on (0, 1]; log f is
 * formed as -log1p(1/odds), which keeps its precision for small and large odds alike. */
static double geometric_odds(gsl_rng *r, double odds)
{
    return floor(log(gsl_rng_uniform_pos(r)) / -log1p(1 / odds));
}

uint64_t ms_ran_negbin64_odds(gsl_rng *r, double odds, double n)
{
    if (!(n > 0) || !(odds > 0))
        return 0;
    if (isinf(odds))
        return UINT64_MAX;
    /* A few successes: the sum of as many geometric draws, cheaper than a gamma and a Poisson
     * draw (the birth-death sampler's usual case: the lineages of one to a few survivors). */
    if (n <= GEOMETRIC_SUM_MAX && n == floor(n)) {
        double x = 0;
        for (double i = 0; i < n; i++)
            x += geometric_odds(r, odds);
        return to_count(x);
    }
    /* If L ~ Gamma(n, scale odds) and X | L ~ Poisson(L), X is negative binomial with n successes
     * and success probability 1/(1 + odds) (Devroye 1986, chapter X). gsl_ran_gamma is Marsaglia
     * and Tsang's exact rejection method, constant time in n. */
    return ms_ran_poisson64(r, gsl_ran_gamma(r, n, odds));
}

uint64_t ms_ran_negbin64(gsl_rng *r, double p, double n)
{
    if (!(n > 0) || p >= 1)
        return 0;
    if (!(p > 0))
        return UINT64_MAX;
    return ms_ran_negbin64_odds(r, (1 - p) / p, n);
}
