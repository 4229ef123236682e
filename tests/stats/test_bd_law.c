/* Statistical and numerical tests of the linear birth-death transition law (src/engine/bd_law.c).
 *
 * - law: alpha, beta and their complements in every regime the implementation must survive
 *   (critical, near-critical, tiny t, huge positive and negative rt, b = 0, d = 0, t = 0) against
 *   limits that hold exactly, and ms_bd_mean / ms_bd_variance / ms_bd_extinction_ultimate against
 *   their closed forms.
 * - kolmogorov: alpha and beta against a numerical solution of the Kolmogorov forward equations
 *   for p_n(t) = P(N(t) = n | N(0) = 1), to 1e-8.
 * - sample: ms_bd_sample from n0 = 1 and 10 cells in a supercritical, a critical and a subcritical
 *   case (extinction fraction, mean, variance, and for n0 = 1 the geometric law of survivors), and
 *   from n0 = 1e12 cells (mean and standard deviation).
 *
 * Tolerances are N_SE = 5 standard errors (two-sided normal tail 5.7e-7) for moments and
 * proportions, and chi-square quantiles at a false alarm rate of 1e-6 for laws; all streams have
 * fixed keys. */
#include "unit_test.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/bd_law_internal.h"
#include "rng/stream_internal.h"

enum { SEED = 19480101 };
#define N_SE 5.0
#define CHISQ_FALSE_ALARM 1e-6

static void assert_rel(double got, double want, double rel, const char *what)
{
    ck_assert_msg(fabs(got - want) <= rel * fabs(want), "%s: got %.17g, want %.17g (rel %g)", what,
                  got, want, rel);
}

/* The textbook formulas, for parameters where they are well conditioned (|rt| of order 1). */
static void naive_law(double b, double d, double t, double *alpha, double *beta)
{
    const double e = exp((b - d) * t);
    *alpha = d * (e - 1) / (b * e - d);
    *beta = b * (e - 1) / (b * e - d);
}

START_TEST(test_law_regular)
{
    static const double cases[][3] = {{1, 0.5, 2}, {0.5, 1, 1}, {2, 1, 0.3}, {0.1, 3, 0.7}};
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        const double b = cases[i][0], d = cases[i][1], t = cases[i][2];
        double alpha, beta;
        naive_law(b, d, t, &alpha, &beta);
        const ms_bd_law L = ms_bd_law_at(b, d, t);
        assert_rel(L.alpha, alpha, 1e-13, "alpha");
        assert_rel(L.beta, beta, 1e-13, "beta");
        assert_rel(L.one_minus_alpha, 1 - alpha, 1e-13, "1 - alpha");
        assert_rel(L.one_minus_beta, 1 - beta, 1e-13, "1 - beta");
        /* Bailey's closed forms for the moments, and Var(1 cell) from the law itself: with
         * P(n) = (1-alpha)(1-beta)beta^(n-1), E N = (1-alpha)/(1-beta) and
         * E N^2 = (1-alpha)(1+beta)/(1-beta)^2. */
        const double e = exp((b - d) * t);
        assert_rel(ms_bd_mean(7, b, d, t), 7 * e, 1e-14, "mean");
        assert_rel(ms_bd_variance(7, b, d, t), 7 * (b + d) / (b - d) * e * (e - 1), 1e-13, "var");
        const double m1 = (1 - alpha) / (1 - beta);
        const double m2 = (1 - alpha) * (1 + beta) / ((1 - beta) * (1 - beta));
        assert_rel(ms_bd_mean(1, b, d, t), m1, 1e-13, "mean from law");
        assert_rel(ms_bd_variance(1, b, d, t), m2 - m1 * m1, 1e-12, "var from law");
    }
}
END_TEST

/* Regimes where the textbook formulas cancel or overflow; each expected value is a limit that
 * the exact law attains to double precision there. */
START_TEST(test_law_regimes)
{
    ms_bd_law L;
    /* Critical: alpha = beta = bt/(1 + bt), 1 - alpha = 1/(1 + bt). */
    L = ms_bd_law_at(1.5, 1.5, 2);
    assert_rel(L.alpha, 3.0 / 4, 1e-15, "critical alpha");
    assert_rel(L.beta, 3.0 / 4, 1e-15, "critical beta");
    assert_rel(L.one_minus_alpha, 1.0 / 4, 1e-15, "critical 1 - alpha");
    assert_rel(L.one_minus_beta, 1.0 / 4, 1e-15, "critical 1 - beta");

    /* Near-critical, |r| = 1e-12: alpha and beta are smooth in (b, d) with derivatives of order
     * t = 1, so they move from their critical value 1/2 by O(1e-12); 1e-11 bounds that. A formula
     * that formed e^(rt) - 1 as exp(rt) - 1 would be off by ~1e-4 here. */
    L = ms_bd_law_at(1, 1 - 1e-12, 1);
    ck_assert_double_lt(fabs(L.alpha - 0.5), 1e-11);
    ck_assert_double_lt(fabs(L.beta - 0.5), 1e-11);
    L = ms_bd_law_at(1 + 1e-12, 1, 1);
    ck_assert_double_lt(fabs(L.alpha - 0.5), 1e-11);
    ck_assert_double_lt(fabs(L.beta - 0.5), 1e-11);
    assert_rel(ms_bd_variance(10, 1 + 1e-12, 1, 3), 10 * 2 * 3, 1e-10, "near-critical var");
    assert_rel(ms_bd_variance(10, 2, 2, 3), 10 * 2 * 2 * 3, 1e-15, "critical var");

    /* Tiny t: alpha = dt + O(t^2), beta = bt + O(t^2). */
    L = ms_bd_law_at(1, 0.5, 1e-12);
    assert_rel(L.alpha, 0.5e-12, 1e-11, "tiny t alpha");
    assert_rel(L.beta, 1e-12, 1e-11, "tiny t beta");

    /* rt = 1000, e^(rt) overflows: alpha = d/b, beta = 1, 1 - beta = e^(-rt) r/b underflows. */
    L = ms_bd_law_at(1, 0.5, 2000);
    assert_rel(L.alpha, 0.5, 1e-15, "big rt alpha");
    assert_rel(L.beta, 1, 1e-15, "big rt beta");
    ck_assert(L.one_minus_beta >= 0 && L.one_minus_beta < 1e-300);
    assert_rel(L.one_minus_alpha, 0.5, 1e-15, "big rt 1 - alpha");
    /* rt = 600: 1 - beta = e^(-600) r/b, far below the 1e-16 that 1 - beta could resolve. */
    L = ms_bd_law_at(1, 0.5, 1200);
    assert_rel(L.one_minus_beta, exp(-600.0) * 0.5, 1e-12, "big rt 1 - beta");
    ck_assert(isinf(ms_bd_mean(1, 1, 0.5, 2000)) || ms_bd_mean(1, 1, 0.5, 2000) > 1e300);

    /* rt = -500: alpha = 1, beta = b/d, 1 - alpha = e^(-st)/(1 + b/s) = e^(-500)/2. */
    L = ms_bd_law_at(0.5, 1, 1000);
    assert_rel(L.alpha, 1, 1e-15, "negative rt alpha");
    assert_rel(L.beta, 0.5, 1e-15, "negative rt beta");
    assert_rel(L.one_minus_alpha, exp(-500.0) / 2, 1e-12, "negative rt 1 - alpha");
    assert_rel(L.one_minus_beta, 0.5, 1e-15, "negative rt 1 - beta");

    /* Pure death: alpha = 1 - e^(-dt), beta = 0.
     * Pure birth (Yule): alpha = 0, 1 - beta = e^(-bt). */
    L = ms_bd_law_at(0, 2, 0.25);
    assert_rel(L.alpha, -expm1(-0.5), 1e-15, "pure death alpha");
    assert_rel(L.one_minus_alpha, exp(-0.5), 1e-15, "pure death 1 - alpha");
    ck_assert(L.beta == 0 && L.one_minus_beta == 1);
    L = ms_bd_law_at(2, 0, 0.25);
    ck_assert(L.alpha == 0 && L.one_minus_alpha == 1);
    assert_rel(L.beta, -expm1(-0.5), 1e-15, "pure birth beta");
    assert_rel(L.one_minus_beta, exp(-0.5), 1e-15, "pure birth 1 - beta");
    L = ms_bd_law_at(0, 0, 5);
    ck_assert(L.alpha == 0 && L.beta == 0 && L.one_minus_alpha == 1 && L.one_minus_beta == 1);

    /* t = 0. */
    L = ms_bd_law_at(1, 0.5, 0);
    ck_assert(L.alpha == 0 && L.beta == 0 && L.one_minus_alpha == 1 && L.one_minus_beta == 1);
    gsl_rng *r = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r);
    ms_rng_set_stream(r, SEED, 0, 0, 1);
    ck_assert_uint_eq(ms_bd_sample(r, 12345, 1, 0.5, 0), 12345);
    ck_assert_uint_eq(ms_bd_sample(r, 0, 1, 0.5, 3), 0);
    ck_assert_uint_eq(ms_bd_sample(r, 77, 0, 0, 3), 77);
    gsl_rng_free(r);
    ck_assert(ms_bd_mean(5, 1, 0.5, 0) == 5 && ms_bd_variance(5, 1, 0.5, 0) == 0);

    /* Ultimate extinction. */
    ck_assert(ms_bd_extinction_ultimate(1, 0.25) == 0.25);
    ck_assert(ms_bd_extinction_ultimate(0.5, 1) == 1);
    ck_assert(ms_bd_extinction_ultimate(1, 1) == 1);
    ck_assert(ms_bd_extinction_ultimate(0, 1) == 1);
    ck_assert(ms_bd_extinction_ultimate(2, 0) == 0);
    ck_assert(ms_bd_extinction_ultimate(0, 0) == 0);
}
END_TEST

/* The Kolmogorov forward equations of the linear birth-death process from one cell,
 *     p_n' = b (n-1) p_(n-1) + d (n+1) p_(n+1) - (b + d) n p_n,   p_n(0) = [n = 1],
 * truncated at n = K_MAX (births out of K_MAX leave the system). */
enum { K_MAX = 400 };

typedef struct {
    double b, d;
} kfe_rates;

static int kfe(double t, const double y[], double dydt[], void *params)
{
    (void)t;
    const kfe_rates *k = params;
    for (int n = 0; n <= K_MAX; n++) {
        double v = -(k->b + k->d) * n * y[n];
        if (n > 0)
            v += k->b * (n - 1) * y[n - 1];
        if (n < K_MAX)
            v += k->d * (n + 1) * y[n + 1];
        dydt[n] = v;
    }
    return GSL_SUCCESS;
}

/* Each case's beta is at most 0.78, so the truncated mass, about beta^K_MAX, is below 1e-40.
 * rk8pd with absolute tolerance 1e-14 per step; the error over the run stays far below the 1e-8
 * we test to. The cases cover b = d, rt = 1e-9 (near-critical), tiny t (rt = 1e-7), pure birth,
 * pure death and a long subcritical run. */
START_TEST(test_kolmogorov)
{
    static const double cases[][3] = {
        {1, 0.5, 2},    {1, 1, 1},    {0.5, 1, 1}, {1, 1 - 1e-9, 1}, {1 + 1e-12, 1, 3},
        {1, 0.5, 2e-7}, {2, 1, 0.75}, {0, 1, 1},   {1, 0, 1},        {0.5, 1, 20},
    };
    static double y[K_MAX + 1];
    for (unsigned c = 0; c < sizeof cases / sizeof *cases; c++) {
        kfe_rates rates = {cases[c][0], cases[c][1]};
        const double t_end = cases[c][2];
        gsl_odeiv2_system sys = {kfe, NULL, K_MAX + 1, &rates};
        gsl_odeiv2_driver *drv =
            gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, 1e-4, 1e-14, 0);
        ck_assert_ptr_nonnull(drv);
        for (int n = 0; n <= K_MAX; n++)
            y[n] = n == 1;
        double t = 0;
        ck_assert_int_eq(gsl_odeiv2_driver_apply(drv, &t, t_end, y), GSL_SUCCESS);
        gsl_odeiv2_driver_free(drv);

        const ms_bd_law L = ms_bd_law_at(rates.b, rates.d, t_end);
        double survive = 0;
        for (int n = 1; n <= K_MAX; n++)
            survive += y[n];
        ck_assert_msg(fabs(y[0] - L.alpha) < 1e-8, "case %u: p0 %.15g alpha %.15g", c, y[0],
                      L.alpha);
        ck_assert_msg(fabs(survive - L.one_minus_alpha) < 1e-8, "case %u: 1 - alpha", c);
        ck_assert_msg(fabs(y[1] / survive - L.one_minus_beta) < 1e-8, "case %u: 1 - beta", c);
        double pn = L.one_minus_alpha * L.one_minus_beta;
        for (int n = 1; n <= 30; n++) {
            ck_assert_msg(fabs(y[n] - pn) < 1e-8, "case %u: p_%d %.15g, law %.15g", c, n, y[n], pn);
            pn *= L.beta;
        }
    }
}
END_TEST

/* Cumulants kappa_2 and kappa_4 of N(t) from one cell, from the law itself: N = B G with
 * B ~ Bernoulli(1 - alpha) and G geometric on {1, 2, ...} with success probability 1 - beta, so
 * E N^j = (1 - alpha) E G^j; E G^j is summed numerically until the terms are negligible. From n0
 * cells the cumulants are n0 times these (independent lineages). */
static void one_cell_cumulants(const ms_bd_law *L, double *k2, double *k4)
{
    double g[5] = {0}, w = L->one_minus_beta;
    for (double n = 1; w * n * n * n * n > 1e-18 * g[4] || n < 10; n++) {
        g[1] += w * n;
        g[2] += w * n * n;
        g[3] += w * n * n * n;
        g[4] += w * n * n * n * n;
        w *= L->beta;
    }
    const double s = L->one_minus_alpha;
    const double m1 = s * g[1], m2 = s * g[2], m3 = s * g[3], m4 = s * g[4];
    const double mu2 = m2 - m1 * m1;
    const double mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1 * m1 * m1 * m1;
    *k2 = mu2;
    *k4 = mu4 - 3 * mu2 * mu2;
}

/* The standard error of the sample variance of m iid draws with cumulants k2, k4:
 * Var(s^2) = mu4/m - sigma^4 (m - 3)/(m (m - 1)), mu4 = k4 + 3 k2^2. */
static double se_sample_variance(double k2, double k4, double m)
{
    return sqrt((k4 + 3 * k2 * k2) / m - k2 * k2 * (m - 3) / (m * (m - 1)));
}

enum { M_SAMPLE = 1000000, GEO_BINS = 64 };

/* M_SAMPLE draws of N(t) from n0 cells:
 * - the fraction of zeros against P(N = 0) = alpha^n0, standard error sqrt(a (1 - a)/M);
 * - the sample mean against ms_bd_mean, standard error sqrt(var/M);
 * - the sample variance against ms_bd_variance, standard error from se_sample_variance with the
 *   law's own fourth cumulant (the sample variance is asymptotically normal with that SE);
 * - for n0 = 1, the survivors' sizes by chi-square against (1 - beta) beta^(n-1): single values
 *   while their expected count is at least max(5, survivors/100), the rest pooled into one tail
 *   bin of expected count survivors * beta^K; with B bins, B - 1 degrees of freedom (given the
 *   number of survivors they are iid geometric), limit gsl_cdf_chisq_Qinv(1e-6, B - 1). */
static void check_sample(double b, double d, double t, uint64_t n0, uint32_t purpose)
{
    const double m = M_SAMPLE, n0d = (double)n0;
    const ms_bd_law L = ms_bd_law_at(b, d, t);
    const double mean = ms_bd_mean(n0, b, d, t), var = ms_bd_variance(n0, b, d, t);
    double k2, k4;
    one_cell_cumulants(&L, &k2, &k4);
    /* The closed-form variance is the law's. */
    assert_rel(var, n0d * k2, 1e-10, "variance vs law");

    gsl_rng *r = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r);
    ms_rng_set_stream(r, SEED, (uint32_t)n0, 0, purpose);
    const double ref = floor(mean);
    double zeros = 0, s1 = 0, s2 = 0, geo[GEO_BINS] = {0};
    for (int i = 0; i < M_SAMPLE; i++) {
        const uint64_t x = ms_bd_sample(r, n0, b, d, t);
        if (x == 0)
            zeros += 1;
        else if (n0 == 1)
            geo[x < GEO_BINS ? x : GEO_BINS - 1] += 1;
        const double y = (double)x - ref;
        s1 += y;
        s2 += y * y;
    }
    gsl_rng_free(r);

    const double a = pow(L.alpha, n0d);
    const double se_a = sqrt(a * (1 - a) / m);
    ck_assert_msg(fabs(zeros / m - a) < N_SE * se_a, "b=%g d=%g n0=%g: extinct %g, want %g (SE %g)",
                  b, d, n0d, zeros / m, a, se_a);
    const double mean_off = s1 / m - (mean - ref), se_mean = sqrt(var / m);
    ck_assert_msg(fabs(mean_off) < N_SE * se_mean, "b=%g d=%g n0=%g: mean off by %g (SE %g)", b, d,
                  n0d, mean_off, se_mean);
    const double s_var = (s2 - s1 * s1 / m) / (m - 1);
    const double se_var = se_sample_variance(n0d * k2, n0d * k4, m);
    ck_assert_msg(fabs(s_var - var) < N_SE * se_var, "b=%g d=%g n0=%g: var %g, want %g (SE %g)", b,
                  d, n0d, s_var, var, se_var);

    if (n0 != 1)
        return;
    const double ms = m - zeros, e_min = fmax(5, ms / 100);
    double x2 = 0, pn = L.one_minus_beta, tail_obs = ms, tail_p = 1;
    int k = 1, nbins = 0;
    for (; k < GEO_BINS - 1 && ms * pn >= e_min && ms * (tail_p - pn) >= e_min; k++) {
        x2 += (geo[k] - ms * pn) * (geo[k] - ms * pn) / (ms * pn);
        tail_obs -= geo[k];
        tail_p -= pn;
        pn *= L.beta;
        nbins++;
    }
    x2 += (tail_obs - ms * tail_p) * (tail_obs - ms * tail_p) / (ms * tail_p);
    nbins++;
    const double limit = gsl_cdf_chisq_Qinv(CHISQ_FALSE_ALARM, nbins - 1);
    ck_assert_msg(x2 < limit, "b=%g d=%g: survivors X2 %g on %d df, limit %g", b, d, x2, nbins - 1,
                  limit);
}

START_TEST(test_sample_supercritical)
{
    check_sample(1, 0.5, 2, 1, 10);
    check_sample(1, 0.5, 2, 10, 11);
}
END_TEST

START_TEST(test_sample_critical)
{
    check_sample(1, 1, 1, 1, 20);
    check_sample(1, 1, 1, 10, 21);
}
END_TEST

START_TEST(test_sample_subcritical)
{
    check_sample(0.5, 1, 1, 1, 30);
    check_sample(0.5, 1, 1, 10, 31);
}
END_TEST

/* n0 = 1e12 cells, b = 1, d = 0.5, t = 1: mean n0 e^0.5 = 1.65e12 and standard deviation
 * sqrt(n0 1.5/0.5 e^0.5 (e^0.5 - 1)) = 1.79e6. The sample mean against the mean within 5 SE
 * (SE = sd/sqrt(M)); the sample standard deviation against sd within 5 SE, its SE from the delta
 * method, SE(s) = SE(s^2)/(2 sd). M = 2e5 draws; each costs a 64-bit BTRD, a gamma and a PTRS
 * draw. */
START_TEST(test_sample_huge)
{
    enum { M_HUGE = 200000 };
    const double b = 1, d = 0.5, t = 1, m = M_HUGE;
    const uint64_t n0 = 1000000000000;
    const ms_bd_law L = ms_bd_law_at(b, d, t);
    const double mean = ms_bd_mean(n0, b, d, t), var = ms_bd_variance(n0, b, d, t);
    const double sd = sqrt(var), ref = floor(mean);
    double k2, k4;
    one_cell_cumulants(&L, &k2, &k4);
    assert_rel(var, 1e12 * k2, 1e-10, "variance vs law");

    gsl_rng *r = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r);
    ms_rng_set_stream(r, SEED, 0, 0, 40);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < M_HUGE; i++) {
        const double y = (double)ms_bd_sample(r, n0, b, d, t) - ref;
        s1 += y;
        s2 += y * y;
    }
    gsl_rng_free(r);
    const double mean_off = s1 / m - (mean - ref), se_mean = sd / sqrt(m);
    ck_assert_msg(fabs(mean_off) < N_SE * se_mean, "huge: mean off by %g (SE %g)", mean_off,
                  se_mean);
    const double s_sd = sqrt((s2 - s1 * s1 / m) / (m - 1));
    const double se_sd = se_sample_variance(1e12 * k2, 1e12 * k4, m) / (2 * sd);
    ck_assert_msg(fabs(s_sd - sd) < N_SE * se_sd, "huge: sd %g, want %g (SE %g)", s_sd, sd, se_sd);
}
END_TEST

/* One cell's first two moments after time t, from the textbook formulas (naive_law; Bailey's
 * E N = e^(rt) and Var N = (b + d)/(b - d) e^(rt) (e^(rt) - 1)). */
static void textbook_moments(double b, double d, double t, double *m1, double *m2)
{
    const double e = exp((b - d) * t);
    *m1 = e;
    *m2 = (b + d) / (b - d) * e * (e - 1) + e * e;
}

/* Grouped arrivals (step.c's emit, docs/engine.md "Grouped arrivals"), computed, not sampled:
 * `count` cells enter a compartment over [0, tau] with density proportional to e^(g s) and grow
 * to tau; it already holds n_own cells that grow for tau. Exactly, each arrival's lineage is the
 * mixture over s of the one-cell law at tau - s (by the midpoint rule on 20000 points, far finer
 * than any error bounded here). The engine splits the arrivals multinomially over
 * G = ms_bd_group_count() equal groups (weights e^(g w j), the emission density's mass in
 * group j) and draws each group's lineages from ms_bd_mixed_law(); the cells are then i.i.d.
 * from the mixture of the groups' laws, so the arrivals' variance is count times that
 * mixture's, and the compartment's adds n_own Var(tau). Checked for every case: the mean exact
 * to 1e-8 relative (the composite quadrature; 3.3e-9 at most here), and the compartment's variance
 * low by at most 1.2 %, the bound of the rule's G0 (1.18 % for b = 1, d = 0.2 over 7 d, where G0 is
 * capped at 16; at most 1.1 % elsewhere), and never high. Cases: the flagship's primary, a fast and
 * a slow grower, a one-day step, a subcritical compartment (the variance peaks inside the step);
 * compartments empty, small, equal and large against the arrivals. */
START_TEST(test_grouped_arrivals)
{
    static const double cases[][4] = {
        /* b, d, tau, g */
        {0.26, 0.24, 7, 0.02}, {1, 0.2, 7, 0.8}, {0.26, 0.24, 1, 0},
        {0.8, 0.3, 7, 0.5},    {0.5, 0.3, 7, 0}, {0.05, 0.3, 7, -0.25},
    };
    static const double own_per_arrival[] = {0, 1e-2, 1, 1e2, 1e4};
    enum { FINE = 20000 };
    const uint64_t count = 100000;
    int fails = 0;
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        const double b = cases[i][0], d = cases[i][1], tau = cases[i][2], g = cases[i][3];
        double mass = 0, m1 = 0, m2 = 0;
        for (int q = 0; q < FINE; q++) {
            const double s = (q + 0.5) * tau / FINE, f = exp(g * s);
            double x1, x2;
            textbook_moments(b, d, tau - s, &x1, &x2);
            mass += f;
            m1 += f * x1;
            m2 += f * x2;
        }
        m1 /= mass;
        m2 /= mass;
        double own1, own2;
        textbook_moments(b, d, tau, &own1, &own2);
        const double own_var = own2 - own1 * own1;
        for (unsigned j = 0; j < sizeof own_per_arrival / sizeof *own_per_arrival; j++) {
            const uint64_t n_own = (uint64_t)(own_per_arrival[j] * (double)count);
            const int groups = ms_bd_group_count(b, d, tau, count, n_own, tau);
            ck_assert(groups >= 1 && groups <= MS_BD_MAX_GROUPS);
            const double w = tau / groups;
            double gmass = 0, g1 = 0, g2 = 0;
            for (int k = 0; k < groups; k++) {
                const double f = exp(g * w * k);
                const ms_bd_law L = ms_bd_mixed_law(b, d, tau - w * k, w, g);
                const double x1 = L.one_minus_alpha / L.one_minus_beta;
                const double x2 =
                    L.one_minus_alpha * (1 + L.beta) / (L.one_minus_beta * L.one_minus_beta);
                gmass += f;
                g1 += f * x1;
                g2 += f * x2;
            }
            g1 /= gmass;
            g2 /= gmass;
            const double exact = (double)count * (m2 - m1 * m1) + (double)n_own * own_var;
            const double grouped = (double)count * (g2 - g1 * g1) + (double)n_own * own_var;
            const double low = 1 - grouped / exact;
            printf("stats: grouped arrivals b %g d %g tau %g g %g, own/arrivals %g: %d groups, "
                   "mean rel error %.2e, variance low by %.4f %%\n",
                   b, d, tau, g, own_per_arrival[j], groups, g1 / m1 - 1, 100 * low);
            fails += !(fabs(g1 / m1 - 1) <= 1e-8 && low <= 0.012 && low >= -1e-9);
        }
    }
    ck_assert_int_eq(fails, 0);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("bd_law");

    TCase *tc = tcase_create("law");
    tcase_add_test(tc, test_law_regular);
    tcase_add_test(tc, test_law_regimes);
    tcase_add_test(tc, test_grouped_arrivals);
    suite_add_tcase(s, tc);

    tc = tcase_create("kolmogorov");
    tcase_add_test(tc, test_kolmogorov);
    suite_add_tcase(s, tc);

    tc = tcase_create("sample");
    tcase_add_test(tc, test_sample_supercritical);
    tcase_add_test(tc, test_sample_critical);
    tcase_add_test(tc, test_sample_subcritical);
    tcase_add_test(tc, test_sample_huge);
    suite_add_tcase(s, tc);
    return s;
}
