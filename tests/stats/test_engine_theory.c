/* Statistical validation of the simulation engine (DESIGN.md section 2): the exact engine, the
 * leap engine and the hybrid against the theory of birth-death processes, and against each other.
 *
 * Every check runs whole simulations through the public API on scenarios written below as YAML,
 * one site `t`, rates in /d. Engines, selected by the scenario's `engine` section:
 *     exact   exact_below: 1e300   every event simulated (Gillespie's direct method)
 *     leap    exact_below: 0       every compartment leaps by the BNB law (Mather et al. 2012)
 *     hybrid  exact_below: small   event by event below the threshold, leaps above, so that the
 *                                  runs cross it (promotion at twice the threshold)
 * Replicates are patients 0..M-1 of a fixed seed (independent random streams), one seed per check
 * and engine, so that the engines' samples are independent of each other (as the two-sample tests
 * assume) and every outcome is reproducible. Sample sizes are stated where they are used, and
 * every tolerance is derived in a comment from the standard error at that size: 5 SE for means,
 * variances and proportions (two-sided normal tail 5.7e-7), or a chi-square / Kolmogorov-Smirnov
 * critical value at a false alarm rate of 1e-4. Where an engine has a known, bounded bias (a stop
 * observed only at step ends) the bound is derived and added to the tolerance explicitly. Nothing
 * here is tuned to pass.
 *
 * The theory is computed here from textbook formulas, independently of the engine's own law code
 * (src/engine/bd_law.c): for a linear birth-death process with birth rate b and death rate d,
 * r = b - d and E = e^(rt), one cell leaves after time t (Kendall 1948; Bailey, "The Elements of
 * Stochastic Processes", 1964, ch. 8)
 *     P(N = 0) = alpha = d (E - 1)/(b E - d),   P(N = n) = (1 - alpha)(1 - beta) beta^(n-1),
 *     beta = b (E - 1)/(b E - d),   E N = E,   Var N = (b + d)/(b - d) E (E - 1).
 *
 * Each check prints one summary line per assertion to stdout ("stats: ..."), with the observed
 * value, the expected value and the tolerance, so results can be quoted. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "unit_test.h"

/* Number of standard errors of every moment or proportion check, and the false alarm rate of
 * every chi-square and Kolmogorov-Smirnov check. */
#define N_SE 5.0
#define FALSE_ALARM 1e-4

/* ------------------------------------------------------------------ scenarios and runs */

typedef struct engine_def {
    const char *name;
    const char *yaml; /* the scenario's engine section, without braces */
} engine_def;

enum { EXACT, LEAP, HYBRID, N_ENGINES };

static const engine_def ENGINES[N_ENGINES] = {
    {"exact", "exact_below: 1e300"},
    {"leap", "exact_below: 0"},
    {"hybrid", "exact_below: 20"},
};

/* A one-site scenario: `site` is the flow mapping of site t, `engine` the engine settings and
 * `extra` more top-level YAML (loci), or "". The output grid is pushed beyond every run so that
 * steps end only at max_step, step_bound and the requested times. */
static metasim_model_t *scenario(const char *site, unsigned long long initial, const char *engine,
                                 const char *extra)
{
    char text[4096];
    int n = snprintf(text, sizeof text,
                     "scenario: {name: engine_stats}\n"
                     "time: {horizon: 1000 y, output_interval: 1000 y}\n"
                     "sites:\n"
                     "  t: %s\n"
                     "primary: {site: t, initial_cells: %llu}\n"
                     "engine: {%s}\n"
                     "%s",
                     site, initial, engine, extra);
    ck_assert(n > 0 && (size_t)n < sizeof text);
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("stats.yaml", text, (size_t)n, &m);
    ck_assert_msg(rc == 0, "load failed (%s):\n%s\n%s", metasim_strerror(rc),
                  metasim_model_errmsg(m), text);
    return m;
}

static metasim_sim_t *sim_new(const metasim_model_t *m, unsigned long long seed, unsigned patient,
                              double stop_cells)
{
    metasim_sim_options_t o = {.seed = seed, .patient = patient, .stop_cells = stop_cells};
    metasim_sim_t *s = NULL;
    int rc = metasim_sim_create(m, &o, &s);
    ck_assert_msg(rc == 0, "sim_create: %s", metasim_strerror(rc));
    return s;
}

/* Runs to t_max or a stop condition; returns the METASIM_STOP_* reason. */
static int sim_run(metasim_sim_t *s, double t_max)
{
    int rc = metasim_sim_run(s, t_max, 0);
    ck_assert_msg(rc > 0, "run failed (%s): %s", metasim_strerror(rc), metasim_sim_errmsg(s));
    return rc;
}

/* ------------------------------------------------------------------ reporting */

/* Prints one summary line; returns 1 when the check failed. Failures are counted, not asserted
 * at once, so that every line of a check is printed before the test fails. */
static int check_close(const char *what, const char *eng, double observed, double expected,
                       double tol)
{
    int ok = fabs(observed - expected) <= tol;
    printf("stats: %-44s %-6s observed %-12.6g expected %-12.6g tol %-10.4g %s\n", what, eng,
           observed, expected, tol, ok ? "ok" : "FAIL");
    fflush(stdout);
    return !ok;
}

/* As check_close() for a statistic that must not exceed a critical value. */
static int check_below(const char *what, const char *eng, double observed, double critical)
{
    int ok = observed <= critical;
    printf("stats: %-44s %-6s observed %-12.6g expected <= %-10.6g %s\n", what, eng, observed,
           critical, ok ? "ok" : "FAIL");
    fflush(stdout);
    return !ok;
}

/* ------------------------------------------------------------------ theory and statistics */

/* The one-cell law of a linear birth-death process (b != d) after time t, from the formula in
 * the file comment with E - 1 = expm1(rt), so that it is accurate for small rt and for r < 0. */
static void bd_law(double b, double d, double t, double *alpha, double *beta)
{
    double r = b - d, em1 = expm1(r * t), den = b * em1 + r; /* b E - d */
    *alpha = d * em1 / den;
    *beta = b * em1 / den;
}

/* Mean, variance and fourth central moment of the one-cell law after time t, by summation over
 * the law. The terms decay like beta^n, so stopping where a term is below 1e-30 of the sum leaves
 * nothing that matters; the variance is checked against its closed form. */
static void bd_moments(double b, double d, double t, double *mean, double *var, double *mu4)
{
    double alpha, beta;
    bd_law(b, d, t, &alpha, &beta);
    const double E = exp((b - d) * t);
    *mean = E;
    *var = (b + d) / (b - d) * E * (E - 1);
    double m4 = alpha * pow(E, 4), v = alpha * E * E;
    for (double n = 1, pn = (1 - alpha) * (1 - beta);; n++, pn *= beta) {
        double c = n - E, term = pn * c * c * c * c;
        m4 += term;
        v += pn * c * c;
        if (n > E && term < 1e-30 * m4)
            break;
    }
    ck_assert_msg(fabs(v - *var) < 1e-9 * *var, "variance by summation %g, closed %g", v, *var);
    *mu4 = m4;
}

static double mean_of(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s / (double)n;
}

/* Sample variance (divisor n - 1), two-pass. */
static double var_of(const double *x, size_t n)
{
    double m = mean_of(x, n), s = 0;
    for (size_t i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    return s / (double)(n - 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The standard error of the sample variance s^2 of n draws from a law with variance var and
 * fourth central moment mu4: Var(s^2) = mu4/n - var^2 (n - 3)/(n (n - 1)) (exact; e.g. Cramer,
 * "Mathematical Methods of Statistics", 1946, eq. 27.4.2). */
static double se_variance(double var, double mu4, size_t n)
{
    double nn = (double)n;
    return sqrt(mu4 / nn - var * var * (nn - 3) / (nn * (nn - 1)));
}

/* Kolmogorov-Smirnov critical value of sqrt(n_eff) D at false alarm rate a: the limit law
 * P(sqrt(n) D > x) = 2 sum_k (-1)^(k-1) exp(-2 k^2 x^2) (Kolmogorov 1933), whose first term alone
 * gives x = sqrt(ln(2/a)/2); the next term changes the rate by less than 1e-15 at a = 1e-4.
 * For discrete data the test is conservative (the true rate is lower). */
static double ks_critical(double a)
{
    return sqrt(log(2 / a) / 2);
}

/* Two-sample KS statistic sup |F1 - F2| of sorted samples, ties handled (both empirical CDFs are
 * evaluated after all copies of a value). */
static double ks_two_sample(const double *x, size_t n, const double *y, size_t m)
{
    size_t i = 0, j = 0;
    double d = 0;
    while (i < n && j < m) {
        double v = x[i] < y[j] ? x[i] : y[j];
        while (i < n && x[i] <= v)
            i++;
        while (j < m && y[j] <= v)
            j++;
        double diff = fabs((double)i / (double)n - (double)j / (double)m);
        if (diff > d)
            d = diff;
    }
    return d;
}

/* One-sample KS statistic of a sorted sample against a continuous CDF. */
static double ks_one_sample(const double *x, size_t n, double (*cdf)(double, const void *),
                            const void *arg)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double f = cdf(x[i], arg);
        double lo = f - (double)i / (double)n, hi = (double)(i + 1) / (double)n - f;
        if (lo > d)
            d = lo;
        if (hi > d)
            d = hi;
    }
    return d;
}

/* ================================================================== 1. linear birth-death */

/* b = 1, d = 0.5 from one cell, under each engine. */
#define B1 1.0
#define D1 0.5
static const char SITE_BD[] = "{division: {cycling: 1 /d}, death: {cycling: 0.5 /d}}";

/* 1a. Ultimate extinction probability d/b. A run ends at extinction or at 1000 cells; a lineage
 * that reached 1000 cells dies out later with probability (d/b)^1000 = 1e-301, so the fraction
 * extinct estimates d/b. M = 10000 runs per engine: SE = sqrt(p (1 - p)/M) = 0.005, tol 5 SE =
 * 0.025. */
START_TEST(test_bd_extinction)
{
    enum { M = 10000 };
    const double p = D1 / B1;
    const double tol = N_SE * sqrt(p * (1 - p) / M);
    int fails = 0;
    for (int e = 0; e < N_ENGINES; e++) {
        metasim_model_t *m = scenario(SITE_BD, 1, ENGINES[e].yaml, "");
        unsigned extinct = 0;
        for (unsigned i = 0; i < M; i++) {
            metasim_sim_t *s = sim_new(m, 110 + (unsigned)e, i, 1000);
            int why = sim_run(s, 1e4);
            ck_assert_msg(why == METASIM_STOP_EXTINCT || why == METASIM_STOP_SIZE,
                          "%s run %u: stop %d", ENGINES[e].name, i, why);
            extinct += why == METASIM_STOP_EXTINCT;
            metasim_sim_destroy(s);
        }
        fails +=
            check_close("1a P(ultimate extinction)", ENGINES[e].name, (double)extinct / M, p, tol);
        metasim_model_destroy(m);
    }
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* 1b, 1c. N(t) at t = 4 from one cell. M = 20000 runs per engine.
 * - Mean e^(rt) = 7.389; SE = sqrt(Var N / M) with Var N = 141.6 (file comment): 0.084.
 * - Variance: SE of the sample variance from the law's exact fourth central moment (summed over
 *   the law, see se_variance()).
 * - P(N(t) = 0) = alpha = 0.4637: SE = sqrt(alpha (1 - alpha)/M) = 0.0035.
 * All at 5 SE.
 * - Given survival, N(t) is geometric on {1, 2, ...} with parameter beta: chi-square over
 *   consecutive values pooled until the expected count is >= 5 (a short last bin, the open
 *   tail, merged into the one before); B bins give B - 1 degrees of freedom (the survivor count
 *   is conditioned on, nothing estimated); critical value gsl_cdf_chisq_Qinv(1e-4, B - 1). */
START_TEST(test_bd_size_law)
{
    enum { M = 20000, MAX_BINS = 256 };
    const double t = 4;
    double alpha, beta;
    bd_law(B1, D1, t, &alpha, &beta);
    double mean, var, mu4;
    bd_moments(B1, D1, t, &mean, &var, &mu4);
    const double se_var = se_variance(var, mu4, M);

    double *x = malloc(M * sizeof *x);
    ck_assert_ptr_nonnull(x);
    int fails = 0;
    for (int e = 0; e < N_ENGINES; e++) {
        metasim_model_t *m = scenario(SITE_BD, 1, ENGINES[e].yaml, "");
        unsigned zeros = 0;
        for (unsigned i = 0; i < M; i++) {
            metasim_sim_t *s = sim_new(m, 120 + (unsigned)e, i, 0);
            int why = sim_run(s, t);
            ck_assert(why == METASIM_STOP_TIME || why == METASIM_STOP_EXTINCT);
            x[i] = metasim_sim_cells(s);
            zeros += x[i] == 0;
            metasim_sim_destroy(s);
        }
        const char *en = ENGINES[e].name;
        fails += check_close("1b E N(4)", en, mean_of(x, M), mean, N_SE * sqrt(var / M));
        fails += check_close("1b Var N(4)", en, var_of(x, M), var, N_SE * se_var);
        fails += check_close("1b P(N(4) = 0)", en, (double)zeros / M, alpha,
                             N_SE * sqrt(alpha * (1 - alpha) / M));

        /* 1c: chi-square of the survivors against the geometric law. */
        const double S = (double)(M - zeros);
        double lo[MAX_BINS], expect[MAX_BINS], obs[MAX_BINS] = {0};
        size_t nb = 0;
        double v = 1, tail = S; /* expected count at values >= v */
        while (tail >= 5 && nb < MAX_BINS) {
            double got = 0;
            lo[nb] = v;
            while (got < 5 && tail - got > 0) {
                got += S * (1 - beta) * pow(beta, v - 1);
                v++;
            }
            expect[nb++] = got;
            tail -= got;
            if (tail < 5) { /* the open tail joins the last bin */
                expect[nb - 1] += tail;
                break;
            }
        }
        ck_assert(tail < 5); /* the bins covered the law */
        for (unsigned i = 0; i < M; i++) {
            if (x[i] == 0)
                continue;
            size_t j = nb - 1;
            while (x[i] < lo[j])
                j--;
            obs[j]++;
        }
        double chi2 = 0;
        for (size_t j = 0; j < nb; j++)
            chi2 += (obs[j] - expect[j]) * (obs[j] - expect[j]) / expect[j];
        char what[64];
        snprintf(what, sizeof what, "1c chi2 N(4) | N(4) > 0 (df %zu)", nb - 1);
        fails += check_below(what, en, chi2, gsl_cdf_chisq_Qinv(FALSE_ALARM, (double)(nb - 1)));
        metasim_model_destroy(m);
    }
    free(x);
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* 1e. Leaps at scale. From n0 = 500 cells to t = 4: the lineages are independent, so
 * E N = 500 e^(rt) = 3694.5 and Var N = 500 Var_1 = 70813 (sd 266), and the fourth central moment
 * is 500 kappa4_1 + 3 Var N^2 with kappa4_1 = mu4_1 - 3 Var_1^2 of the one-cell law. Here a leap
 * draws a binomial of ~10^3 trials and a negative binomial of shape ~10^3, with small alpha and
 * odds when the step is short: the regime of the samplers' rejection algorithms (BTRD, PTRS,
 * gamma mixture), which the one-cell checks above hardly reach, and where an error of a sampler
 * compounds over many steps. Three configurations: leap with max_step 1 d (4 steps), leap with
 * max_step 0.02 d (200 steps), and hybrid with exact_below 1000 and max_step 0.05 d (event by
 * event from 500 cells until promoted at 2000, then leaps). M = 4000 runs each: SE of the mean
 * 4.2 (0.11 %), SE of the variance from the fourth moment (about 2.2 %); both at 5 SE. */
START_TEST(test_bd_leap_scale)
{
    enum { M = 4000 };
    const double t = 4, n0 = 500;
    double m1, v1, mu4_1;
    bd_moments(B1, D1, t, &m1, &v1, &mu4_1);
    const double mean = n0 * m1, var = n0 * v1;
    const double mu4 = n0 * (mu4_1 - 3 * v1 * v1) + 3 * var * var;
    static const char *const eng[3] = {"exact_below: 0, max_step: 1 d",
                                       "exact_below: 0, max_step: 0.02 d",
                                       "exact_below: 1000, max_step: 0.05 d"};
    static const char *const name[3] = {"leap1", "leap.02", "hyb1e3"};
    double *x = malloc(M * sizeof *x);
    ck_assert_ptr_nonnull(x);
    int fails = 0;
    for (int e = 0; e < 3; e++) {
        metasim_model_t *m = scenario(SITE_BD, (unsigned long long)n0, eng[e], "");
        for (unsigned i = 0; i < M; i++) {
            metasim_sim_t *s = sim_new(m, 140 + (unsigned)e, i, 0);
            sim_run(s, t);
            x[i] = metasim_sim_cells(s);
            metasim_sim_destroy(s);
        }
        fails +=
            check_close("1e E N(4) from 500", name[e], mean_of(x, M), mean, N_SE * sqrt(var / M));
        fails += check_close("1e Var N(4) from 500", name[e], var_of(x, M), var,
                             N_SE * se_variance(var, mu4, M));
        metasim_model_destroy(m);
    }
    free(x);
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* 1d. The time to reach N = 100 cells, given that it is reached.
 *
 * Theory. Conditioned on reaching N before 0, the process is the Doob h-transform of the
 * birth-death chain with h(k) = P_k(reach N before 0) = (1 - (d/b)^k)/(1 - (d/b)^N): rates
 * lam_k = b k h(k+1)/h(k) up and mu_k = d k h(k-1)/h(k) down (mu_1 = 0). The passage time T_k
 * from k to k+1 is a holding time H ~ Exp(nu), nu = lam_k + mu_k, followed with probability
 * q = mu_k/nu by a step down, after which it takes T_{k-1} + T_k' (independent copies):
 *     T_k = H + B (T_{k-1} + T_k'),   B ~ Bernoulli(q).
 * Taking the m-th moment and moving the one term in E T_k^m to the left,
 *     E T_k^m (1 - q) = (1 - q) E H^m
 *                       + q sum_{i+j+l=m, l<m} m!/(i! j! l!) E H^i E T_{k-1}^j E T_k^l,
 * with E H^i = i!/nu^i. For m = 1 this is E_k = (1 + mu_k E_{k-1})/lam_k, and for m = 2
 *     S_k (1 - q) = 2/nu^2 + 2 q (E_{k-1} + E_k)/nu + q (S_{k-1} + 2 E_{k-1} E_k).
 * The passage times T_1, ..., T_{N-1} are independent (strong Markov property), so the cumulants
 * of the total add: mean, variance and the fourth cumulant (for the SE of the sample variance).
 *
 * Bias of the leap and hybrid engines. Once a compartment leaps, the stop is checked only at
 * step ends (every max_step = delta = 0.005 d here), so they report G, the first step end at
 * which N >= 100, not T, the first passage. After T the process (now unconditioned) leaves 100
 * downwards D times; its embedded chain is a random walk with up-probability b/(b+d), so from
 * 101 it returns to 100 with probability d/b and from 99 (almost surely), and D is geometric on
 * {0, 1, ...} with continuation probability d/b: E D = m = d/(b-d) (= 1 here), E D(D-1) = 2 m^2.
 * Each excursion below 100 lasts an independent copy of T_{N-1} (the h-transformed passage from
 * 99). An excursion of length L covers at most L/delta + 1 step ends, so with A the total time
 * below 100 after T,
 *     0 <= G - T <= delta (1 + D) + A,   E A = m E_{N-1},   E A^2 = m S_{N-1} + 2 m^2 E_{N-1}^2.
 * Hence the mean is biased by at most bias_mean = delta (1 + m) + m E_{N-1} (= 0.030 d here), and
 * by Minkowski the sd by at most bias_sd = delta sqrt(E (1 + D)^2) + sqrt(E A^2) with
 * E (1 + D)^2 = 1 + 3 m + 2 m^2 (= 0.063 d here). Note that max_step alone would not be a bound:
 * the process can cross 100 and fall back before the step ends. These are added to the 5 SE
 * tolerances of the leap and hybrid engines; the exact engine stops at the event itself.
 *
 * M = 8000 runs per engine, about 4000 of which reach 100 (n, counted). SE of the mean =
 * sd/sqrt(n) (about 0.04 d); SE of the sd = SE(s^2)/(2 sd) from the exact fourth cumulant. */
START_TEST(test_bd_passage_time)
{
    enum { M = 8000, N = 100 };
    const double delta = 0.005;
    /* h(k) for k = 0..N, then the moments of each passage time. */
    double h[N + 1];
    for (int k = 0; k <= N; k++)
        h[k] = -expm1(k * log(D1 / B1)) / -expm1(N * log(D1 / B1));
    double prev[5] = {1, 0, 0, 0, 0}; /* raw moments of T_{k-1}; unused for k = 1 (q = 0) */
    double mean = 0, var = 0, k4 = 0, e_last = 0, s_last = 0;
    for (int k = 1; k < N; k++) {
        double lam = B1 * k * h[k + 1] / h[k], mu = D1 * k * h[k - 1] / h[k];
        double nu = lam + mu, q = mu / nu;
        double eh[5] = {1, 1 / nu, 2 / (nu * nu), 6 / (nu * nu * nu), 24 / pow(nu, 4)};
        static const double fact[5] = {1, 1, 2, 6, 24};
        double cur[5] = {1, 0, 0, 0, 0};
        for (int mm = 1; mm <= 4; mm++) {
            double sum = 0;
            for (int l = 0; l < mm; l++)
                for (int i = 0; i <= mm - l; i++) {
                    int j = mm - l - i;
                    sum += fact[mm] / (fact[i] * fact[j] * fact[l]) * eh[i] * prev[j] * cur[l];
                }
            cur[mm] = eh[mm] + q / (1 - q) * sum;
        }
        double m1 = cur[1], m2 = cur[2], m3 = cur[3], m4 = cur[4];
        /* The second-moment recursion above, as a check of the general one. */
        double s_check =
            (2 / (nu * nu) + 2 * q * (prev[1] + m1) / nu + q * (prev[2] + 2 * prev[1] * m1)) /
            (1 - q);
        ck_assert_msg(fabs(s_check - m2) <= 1e-12 * m2, "k %d: S %g vs %g", k, m2, s_check);
        mean += m1;
        var += m2 - m1 * m1;
        k4 += m4 - 4 * m3 * m1 - 3 * m2 * m2 + 12 * m2 * m1 * m1 - 6 * pow(m1, 4);
        e_last = m1;
        s_last = m2;
        memcpy(prev, cur, sizeof prev);
    }
    const double sd = sqrt(var), mu4 = k4 + 3 * var * var;
    const double mD = D1 / (B1 - D1);
    const double bias_mean = delta * (1 + mD) + mD * e_last;
    const double bias_sd =
        delta * sqrt(1 + 3 * mD + 2 * mD * mD) + sqrt(mD * s_last + 2 * mD * mD * e_last * e_last);
    printf("stats: 1d theory: E T = %.6g, sd T = %.6g, kurtosis %.4g; step-end bias bounds: mean "
           "%.4g, sd %.4g\n",
           mean, sd, mu4 / (var * var), bias_mean, bias_sd);

    double *x = malloc(M * sizeof *x);
    ck_assert_ptr_nonnull(x);
    int fails = 0;
    char eng[128];
    for (int e = 0; e < N_ENGINES; e++) {
        snprintf(eng, sizeof eng, "%s, max_step: %g d", ENGINES[e].yaml, delta);
        metasim_model_t *m = scenario(SITE_BD, 1, eng, "");
        size_t n = 0;
        for (unsigned i = 0; i < M; i++) {
            metasim_sim_t *s = sim_new(m, 130 + (unsigned)e, i, N);
            int why = sim_run(s, 1e4);
            ck_assert(why == METASIM_STOP_EXTINCT || why == METASIM_STOP_SIZE);
            if (why == METASIM_STOP_SIZE)
                x[n++] = metasim_sim_time(s);
            metasim_sim_destroy(s);
        }
        double bm = e == EXACT ? 0 : bias_mean, bs = e == EXACT ? 0 : bias_sd;
        double se_sd = se_variance(var, mu4, n) / (2 * sd);
        const char *en = ENGINES[e].name;
        fails += check_close("1d E T(100) | reached", en, mean_of(x, n), mean,
                             N_SE * sd / sqrt((double)n) + bm);
        fails +=
            check_close("1d sd T(100) | reached", en, sqrt(var_of(x, n)), sd, N_SE * se_sd + bs);
        metasim_model_destroy(m);
    }
    free(x);
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* ================================================================== 2. Luria-Delbrueck */

/* Resistant cells of a run: compartments whose clone carries locus 0. */
typedef struct mutant_count {
    const metasim_sim_t *sim;
    double resistant;
} mutant_count;

static int count_resistant(void *user, const metasim_sample_t *x)
{
    mutant_count *c = user;
    metasim_clone_info_t info;
    if (metasim_sim_clone_info(c->sim, x->clone, &info) != 0)
        return 1;
    if (info.loci & 1)
        c->resistant += x->cells;
    return 0;
}

/* The Luria-Delbrueck distribution for a birth-death process: a neutral locus r acquired by the
 * new daughter of a division with probability u, b = 1, d = 0.5, from one cell until the total
 * first reaches M = 10000 cells; runs that die out are discarded.
 *
 * Theory (Luria and Delbrueck 1943, with the birth-death lineage law of Kendall 1948; cf. Kessler
 * and Levine, PNAS 2013). Looking back from the stop, the wild type is taken as deterministic,
 * N(s) = M e^(-r (T - s)). Mutant lineages then arise as a Poisson process at rate u b N(s), and
 * one founded tau before the stop has the one-cell law (alpha(tau), beta(tau)) at the stop. So the
 * count X is compound Poisson: with lambda(y) the intensity of lineages of final size y >= 1,
 *     lambda(y) = u b M int_0^tmax e^(-r tau) (1 - alpha)(1 - beta) beta^(y-1) dtau,
 * tmax = ln(M)/r (the wild type's single founder). Its pmf follows by Panjer's recursion (Panjer
 * 1981), g(0) = exp(-sum_y lambda(y)), g(n) = (1/n) sum_{y=1}^n y lambda(y) g(n - y).
 * P(X = 0) in closed form: e^(-r tau) (1 - alpha(tau)) = r/(b x - d) with x = e^(r tau), and
 * int_1^X dx/(x (b x - d)) = (1/d) ln((b - d/X)/(b - d)), so
 *     sum_y lambda(y) = u M (b/d) ln((b - d/M)/(b - d))  ->  u M (b/d) ln(b/(b - d))  (M -> inf),
 * which the quadrature reproduces (checked below).
 * Approximations, all negligible here: (1) the wild type's path is random, not deterministic:
 * looking back from the stop, its relative fluctuation at size N is of order N^(-1/2), so it
 * matters only early, when the wild type was small; the time before it reached N carries a
 * fraction ~ N/M of the mutation intensity, and the fluctuation mostly rescales the early (large)
 * lineages by a random factor, to which the scale-free tail P(X > k) ~ u b M/(r k) is
 * insensitive. (2) The wild type grows at
 * b (1 - u) - d, not r: a relative change of u b/r = 1.6e-4 in the exponent. (3) The stop fires
 * on the total, wild type plus mutants, so the wild type stops at M - X, not M: E X =
 * u b M ln(M)/r = 14.7 (median 2) against M = 10000, a relative change of the intensity of
 * 1.5e-3 on average, that is about 1.5e-3 P0 |ln P0| = 6e-4 in P(X = 0), against a tolerance of
 * 0.037.
 *
 * u = 8e-5 gives P0 = 0.330. R = 4000 runs that reach M per engine (patients 0, 1, ... until
 * R have reached it). P(X = 0) and P(X > k) at k = 3, 30, 300: binomial SE sqrt(p (1 - p)/R)
 * from the theoretical p, 5 SE. Median: if m is the sample median then F_R(m) >= 1/2 >
 * F_R(m - 1), and at each fixed point |F_R - F| has SE <= 1/(2 sqrt R), so the check is
 * F(m) >= 1/2 - 5 SE and F(m - 1) <= 1/2 + 5 SE (a distribution-free order-statistic bound).
 *
 * Engines: exact, and hybrid with exact_below 20. The hybrid's stop is observed at step ends once
 * the wild type leaps, so it stops at a total M' >= M: with max_step delta = 0.005 d the
 * expected overshoot is below e^(r delta) - 1 = 0.25 % (plus a step's noise, sd < 1 % of that),
 * which raises the intensity by at most that factor. The bias this puts into a probability p is
 * taken as |p(M (1 + 1.01 (e^(r delta) - 1))) - p(M)|, from the theory at both sizes, and added
 * to the hybrid's tolerances (at most 0.0008 here). */
#define LD_M 10000.0
#define LD_U 8e-5

typedef struct ld_theory {
    double *cdf; /* cdf[n] = P(X <= n), n = 0..kmax */
    double p0_closed;
} ld_theory;

/* Luria-Delbrueck theory for a stop at `M` cells (see above): Simpson's rule over tau with
 * 4096 intervals; beta^(y-1) summed by repeated multiplication. */
static ld_theory ld_compute(double M, int kmax)
{
    enum { NQ = 4096 };
    const double b = B1, d = D1, r = b - d, u = LD_U, tmax = log(M) / r, hq = tmax / NQ;
    double *lam = calloc((size_t)kmax + 1, sizeof *lam);
    ld_theory th = {calloc((size_t)kmax + 1, sizeof(double)), 0};
    ck_assert(lam && th.cdf);
    double total = 0;
    for (int iq = 0; iq <= NQ; iq++) {
        double tau = iq * hq, alpha, beta;
        double w = (iq == 0 || iq == NQ) ? 1 : (iq % 2 ? 4 : 2);
        w *= hq / 3 * u * b * M;
        if (tau == 0) {
            alpha = 0;
            beta = 0;
        } else {
            bd_law(b, d, tau, &alpha, &beta);
        }
        double base = w * exp(-r * tau) * (1 - alpha);
        total += base;
        double pk = base * (1 - beta); /* P(y = 1) part */
        for (int y = 1; y <= kmax; y++, pk *= beta)
            lam[y] += pk;
    }
    th.p0_closed = exp(-u * M * (b / d) * log((b - d / M) / (b - d)));
    double *g = malloc(((size_t)kmax + 1) * sizeof *g);
    ck_assert_ptr_nonnull(g);
    g[0] = exp(-total);
    double acc = g[0];
    th.cdf[0] = acc;
    for (int n = 1; n <= kmax; n++) {
        double s = 0;
        for (int y = 1; y <= n; y++)
            s += y * lam[y] * g[n - y];
        g[n] = s / n;
        acc += g[n];
        th.cdf[n] = acc;
    }
    free(g);
    free(lam);
    return th;
}

START_TEST(test_luria_delbrueck)
{
    enum { R = 4000, KMAX = 400 };
    static const int ks[] = {3, 30, 300};
    const double delta = 0.005;
    ld_theory th = ld_compute(LD_M, KMAX);
    /* The theory at the hybrid's largest expected stop size, for its bias allowance. */
    const double grow = expm1((B1 - D1) * delta) * 1.01;
    ld_theory th_hi = ld_compute(LD_M * (1 + grow), KMAX);
    printf("stats: 2 theory: P0 closed form %.6g (M -> inf: %.6g), by quadrature %.6g; "
           "P(X>3) %.5g, P(X>30) %.5g, P(X>300) %.5g\n",
           th.p0_closed, exp(-LD_U * LD_M * (B1 / D1) * log(B1 / (B1 - D1))), th.cdf[0],
           1 - th.cdf[3], 1 - th.cdf[30], 1 - th.cdf[300]);
    ck_assert_msg(fabs(th.cdf[0] - th.p0_closed) < 1e-7, "quadrature P0 %.10g vs closed %.10g",
                  th.cdf[0], th.p0_closed);
    int med = 0;
    while (th.cdf[med] < 0.5)
        med++;

    char loci[128], eng[128];
    snprintf(loci, sizeof loci, "loci:\n  r: {mutation_probability: %g}\n", LD_U);
    double *x = malloc(R * sizeof *x);
    ck_assert_ptr_nonnull(x);
    int fails = 0;
    const int engines[] = {EXACT, HYBRID};
    for (size_t ie = 0; ie < 2; ie++) {
        int e = engines[ie];
        snprintf(eng, sizeof eng, "%s, max_step: %g d", ENGINES[e].yaml, delta);
        metasim_model_t *m = scenario(SITE_BD, 1, eng, loci);
        size_t n = 0;
        double overshoot = 0;
        for (unsigned i = 0; n < R; i++) {
            metasim_sim_t *s = sim_new(m, 200 + (unsigned)e, i, LD_M);
            int why = sim_run(s, 1e4);
            ck_assert(why == METASIM_STOP_EXTINCT || why == METASIM_STOP_SIZE);
            if (why == METASIM_STOP_SIZE) {
                mutant_count c = {s, 0};
                metasim_writer_t w = {.user = &c, .sample = count_resistant};
                ck_assert_int_eq(metasim_sim_snapshot(s, &w), 0);
                x[n++] = c.resistant;
                overshoot += metasim_sim_cells(s) / LD_M - 1;
            }
            metasim_sim_destroy(s);
        }
        const char *en = ENGINES[e].name;
        printf("stats: 2 %s: mean relative overshoot of the stop size %.3g\n", en, overshoot / R);
        qsort(x, R, sizeof *x, cmp_double);
        /* Allowance for the hybrid's overshoot (see above); 0 for the exact engine. */
#define LD_BIAS(k) (e == EXACT ? 0 : fabs(th_hi.cdf[k] - th.cdf[k]))
        double p0 = th.cdf[0];
        size_t zeros = 0;
        while (zeros < R && x[zeros] == 0)
            zeros++;
        fails += check_close("2 P(X = 0)", en, (double)zeros / R, p0,
                             N_SE * sqrt(p0 * (1 - p0) / R) + LD_BIAS(0));
        for (size_t j = 0; j < sizeof ks / sizeof *ks; j++) {
            int k = ks[j];
            double p = 1 - th.cdf[k];
            size_t above = 0;
            for (size_t i = 0; i < R; i++)
                above += x[i] > k;
            char what[64];
            snprintf(what, sizeof what, "2 P(X > %d)", k);
            fails += check_close(what, en, (double)above / R, p,
                                 N_SE * sqrt(p * (1 - p) / R) + LD_BIAS(k));
        }
        /* The lower sample median m = x_(R/2), for which F_R(m) >= 1/2 > F_R(m - 1). */
        double mhat = x[R / 2 - 1];
        double tolm = N_SE * 0.5 / sqrt((double)R);
        int mi = mhat < KMAX ? (int)mhat : KMAX; /* the median is ~2; KMAX only guards the table */
        double f_at = th.cdf[mi], f_below = mi >= 1 ? th.cdf[mi - 1] : 0;
        int ok = f_at >= 0.5 - tolm - LD_BIAS(mi) &&
                 f_below <= 0.5 + tolm + LD_BIAS(mi > 0 ? mi - 1 : 0);
        printf("stats: %-44s %-6s observed %-12.6g expected %-12d F(m) %.4f F(m-1) %.4f tol %.4g "
               "%s\n",
               "2 median X", en, mhat, med, f_at, f_below, tolm, ok ? "ok" : "FAIL");
        fails += !ok;
#undef LD_BIAS
        metasim_model_destroy(m);
    }
    free(x);
    free(th.cdf);
    free(th_hi.cdf);
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* ================================================================== 3. hybrid against exact */

/* 3a. Final size at t = 8 of b = 1, d = 0.8 from one cell: P(N(7) >= 20) = 7.5 %, so some 8 %
 * of the runs hold 20 cells or more at a step start (and leap) or reach 40 within a step (and
 * are promoted): the hybrid with exact_below 20 crosses its threshold. n = 50000 runs per
 * engine.
 * - Two-sample KS, exact against hybrid: reject when D > c sqrt(2/n) = 0.0141,
 *   c = ks_critical(1e-4) = 2.225 (the asymptotic law; conservative for discrete data).
 * - Each engine against the exact law (file comment) by a chi-square over pooled bins (expected
 *   >= 5, df = bins - 1), critical value at 1e-4. */
START_TEST(test_hybrid_final_size)
{
    enum { N = 50000, MAX_BINS = 512 };
    const double t = 8, b = 1, d = 0.8;
    double alpha, beta;
    bd_law(b, d, t, &alpha, &beta);
    const char *site = "{division: {cycling: 1 /d}, death: {cycling: 0.8 /d}}";
    double *x[2];
    const int engines[] = {EXACT, HYBRID};
    int fails = 0;
    for (int ie = 0; ie < 2; ie++) {
        int e = engines[ie];
        x[ie] = malloc(N * sizeof(double));
        ck_assert_ptr_nonnull(x[ie]);
        metasim_model_t *m = scenario(site, 1, ENGINES[e].yaml, "");
        for (unsigned i = 0; i < N; i++) {
            metasim_sim_t *s = sim_new(m, 310 + (unsigned)e, i, 0);
            sim_run(s, t);
            x[ie][i] = metasim_sim_cells(s);
            metasim_sim_destroy(s);
        }
        metasim_model_destroy(m);
        qsort(x[ie], N, sizeof(double), cmp_double);

        /* Chi-square against the law: value 0, then pooled values >= 1. */
        double lo[MAX_BINS], expect[MAX_BINS], obs[MAX_BINS] = {0};
        size_t nb = 0;
        lo[nb] = 0;
        expect[nb++] = N * alpha;
        double v = 1, tail = N * (1 - alpha);
        while (tail >= 5 && nb < MAX_BINS) {
            double got = 0;
            lo[nb] = v;
            while (got < 5 && tail - got > 0) {
                got += N * (1 - alpha) * (1 - beta) * pow(beta, v - 1);
                v++;
            }
            expect[nb++] = got;
            tail -= got;
            if (tail < 5) {
                expect[nb - 1] += tail;
                break;
            }
        }
        ck_assert(tail < 5);
        for (unsigned i = 0; i < N; i++) {
            size_t j = nb - 1;
            while (x[ie][i] < lo[j])
                j--;
            obs[j]++;
        }
        double chi2 = 0;
        for (size_t j = 0; j < nb; j++)
            chi2 += (obs[j] - expect[j]) * (obs[j] - expect[j]) / expect[j];
        char what[64];
        snprintf(what, sizeof what, "3a chi2 N(8) vs law (df %zu)", nb - 1);
        fails += check_below(what, ENGINES[e].name, chi2,
                             gsl_cdf_chisq_Qinv(FALSE_ALARM, (double)(nb - 1)));
    }
    double D = ks_two_sample(x[0], N, x[1], N);
    fails += check_below("3a KS exact vs hybrid N(8)", "both", D,
                         ks_critical(FALSE_ALARM) * sqrt(2.0 / N));
    free(x[0]);
    free(x[1]);
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* 3b. Extinction time from n0 = 100 cells, b = 0.9, d = 1 (subcritical): the lineages are
 * independent, so P(T <= t) = alpha(t)^100. The hybrid (exact_below 20) leaps while the count is
 * above 20 at a step start, sampling the conditional extinction time when a leap ends at 0; the
 * leap engine does so throughout. n = 10000 runs per engine.
 * - One-sample KS of each engine against alpha(t)^100: reject when D > c/sqrt(n) = 0.0223,
 *   c = 2.225 (false alarm 1e-4; continuous law, so the level is the nominal one).
 * - Two-sample KS, exact against hybrid: D > c sqrt(2/n) = 0.0315. */
typedef struct ext_law {
    double b, d;
    double n0;
} ext_law;

static double ext_cdf(double t, const void *arg)
{
    const ext_law *L = arg;
    double alpha, beta;
    if (t <= 0)
        return 0;
    bd_law(L->b, L->d, t, &alpha, &beta);
    return exp(L->n0 * log(alpha));
}

START_TEST(test_extinction_time)
{
    enum { N = 10000 };
    const ext_law law = {0.9, 1.0, 100};
    const char *site = "{division: {cycling: 0.9 /d}, death: {cycling: 1 /d}}";
    double *x[N_ENGINES];
    int fails = 0;
    const double crit1 = ks_critical(FALSE_ALARM) / sqrt((double)N);
    for (int e = 0; e < N_ENGINES; e++) {
        x[e] = malloc(N * sizeof(double));
        ck_assert_ptr_nonnull(x[e]);
        metasim_model_t *m = scenario(site, 100, ENGINES[e].yaml, "");
        for (unsigned i = 0; i < N; i++) {
            metasim_sim_t *s = sim_new(m, 320 + (unsigned)e, i, 0);
            int why = sim_run(s, 1e5);
            ck_assert_int_eq(why, METASIM_STOP_EXTINCT);
            x[e][i] = metasim_sim_time(s);
            metasim_sim_destroy(s);
        }
        metasim_model_destroy(m);
        qsort(x[e], N, sizeof(double), cmp_double);
        fails += check_below("3b KS T_ext vs alpha(t)^100", ENGINES[e].name,
                             ks_one_sample(x[e], N, ext_cdf, &law), crit1);
    }
    fails +=
        check_below("3b KS T_ext exact vs hybrid", "both", ks_two_sample(x[EXACT], N, x[HYBRID], N),
                    ks_critical(FALSE_ALARM) * sqrt(2.0 / N));
    for (int e = 0; e < N_ENGINES; e++)
        free(x[e]);
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* ================================================================== 4. cycling <-> dormant */

/* A two-type linear process: cycling cells divide (b = 0.3), die (dc = 0.1) and go dormant
 * (kappa = 0.05); dormant cells die (dd = 0.01) and wake (rho = 0.02). The mean m = (C, D)
 * follows m' = A m with A = [[b - dc - kappa, rho], [kappa, -(dd + rho)]], and the covariance V
 * (linear rates, so the moment equations close) follows V' = A V + V A^T + Q(m), Q = sum over
 * event types of (rate at m) (jump)(jump)^T (e.g. Gardiner, "Stochastic Methods", 4th ed.,
 * sec. 7.2; exact for linear propensities). Both are integrated with GSL's rk8pd to 1e-12
 * relative; the mean is checked against the closed form e^(At) m0 (2x2 matrix exponential by
 * Sylvester's formula over the two real eigenvalues). */
#define CD_B 0.3
#define CD_DC 0.1
#define CD_KAPPA 0.05
#define CD_DD 0.01
#define CD_RHO 0.02

static int cd_rhs(double t, const double y[], double f[], void *params)
{
    (void)t;
    (void)params;
    const double a11 = CD_B - CD_DC - CD_KAPPA, a12 = CD_RHO, a21 = CD_KAPPA,
                 a22 = -(CD_DD + CD_RHO);
    const double c = y[0], dm = y[1], vcc = y[2], vcd = y[3], vdd = y[4];
    f[0] = a11 * c + a12 * dm;
    f[1] = a21 * c + a22 * dm;
    f[2] = 2 * (a11 * vcc + a12 * vcd) + (CD_B + CD_DC + CD_KAPPA) * c + CD_RHO * dm;
    f[3] = a11 * vcd + a12 * vdd + a21 * vcc + a22 * vcd - CD_KAPPA * c - CD_RHO * dm;
    f[4] = 2 * (a21 * vcd + a22 * vdd) + CD_KAPPA * c + (CD_DD + CD_RHO) * dm;
    return GSL_SUCCESS;
}

/* Mean and variances at t from n0 cycling cells: out = {E C, E D, Var C, Cov, Var D}. */
static void cd_theory(double n0, double t, double out[5])
{
    gsl_odeiv2_system sys = {cd_rhs, NULL, 5, NULL};
    gsl_odeiv2_driver *drv =
        gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, 1e-3, 0, 1e-12);
    double y[5] = {n0, 0, 0, 0, 0}, t0 = 0;
    ck_assert_int_eq(gsl_odeiv2_driver_apply(drv, &t0, t, y), GSL_SUCCESS);
    gsl_odeiv2_driver_free(drv);
    /* Closed-form mean: e^(At) = (e^(l1 t)(A - l2 I) - e^(l2 t)(A - l1 I))/(l1 - l2). */
    const double a11 = CD_B - CD_DC - CD_KAPPA, a12 = CD_RHO, a21 = CD_KAPPA,
                 a22 = -(CD_DD + CD_RHO);
    double tr = a11 + a22, det = a11 * a22 - a12 * a21, disc = sqrt(tr * tr / 4 - det);
    double l1 = tr / 2 + disc, l2 = tr / 2 - disc, e1 = exp(l1 * t), e2 = exp(l2 * t);
    double c = n0 * (e1 * (a11 - l2) - e2 * (a11 - l1)) / (l1 - l2);
    double dm = n0 * (e1 * a21 - e2 * a21) / (l1 - l2);
    ck_assert_msg(fabs(c - y[0]) < 1e-9 * c && fabs(dm - y[1]) < 1e-9 * dm,
                  "ODE mean (%.12g, %.12g) vs closed form (%.12g, %.12g)", y[0], y[1], c, dm);
    memcpy(out, y, sizeof y);
}

typedef struct cd_count {
    double cycling, dormant;
} cd_count;

static int count_states(void *user, const metasim_sample_t *x)
{
    cd_count *c = user;
    if (strcmp(x->state, "cycling") == 0)
        c->cycling += x->cells;
    else if (strcmp(x->state, "dormant") == 0)
        c->dormant += x->cells;
    else
        return 1;
    return 0;
}

/* Runs `runs` replicates and checks both means against the theory at 5 SE, SE = sqrt(Var/runs)
 * from the theoretical variances. */
static int cd_check(const char *label, const char *eng_name, const char *eng_yaml, double n0,
                    double t, unsigned runs, unsigned long long seed)
{
    static const char site[] =
        "{division: {cycling: 0.3 /d}, death: {cycling: 0.1 /d, dormant: 0.01 /d},"
        " transitions: [{from: cycling, to: dormant, rate: 0.05 /d},"
        " {from: dormant, to: cycling, rate: 0.02 /d}]}";
    double th[5];
    cd_theory(n0, t, th);
    printf("stats: %s theory E C %.6g (sd %.4g), E D %.6g (sd %.4g), %u runs\n", label, th[0],
           sqrt(th[2]), th[1], sqrt(th[4]), runs);
    metasim_model_t *m = scenario(site, (unsigned long long)n0, eng_yaml, "");
    double sc = 0, sd = 0;
    for (unsigned i = 0; i < runs; i++) {
        metasim_sim_t *s = sim_new(m, seed, i, 0);
        sim_run(s, t);
        cd_count c = {0, 0};
        metasim_writer_t w = {.user = &c, .sample = count_states};
        ck_assert_int_eq(metasim_sim_snapshot(s, &w), 0);
        sc += c.cycling;
        sd += c.dormant;
        metasim_sim_destroy(s);
    }
    metasim_model_destroy(m);
    char what[96];
    int fails = 0;
    snprintf(what, sizeof what, "%s E cycling / theory", label);
    fails += check_close(what, eng_name, sc / runs / th[0], 1, N_SE * sqrt(th[2] / runs) / th[0]);
    snprintf(what, sizeof what, "%s E dormant / theory", label);
    fails += check_close(what, eng_name, sd / runs / th[1], 1, N_SE * sqrt(th[4] / runs) / th[1]);
    return fails;
}

/* 4a. 1000 cycling cells, t = 10 d, exact, leap and hybrid (exact_below 200, so the dormant
 * compartment starts event by event and is promoted at 400); default max_step (1 d). M = 1000
 * runs per engine: E C = 4616, sd C = 219 per run, so the relative SE of the mean is 0.150 %;
 * E D = 1056, sd D = 45.7, relative SE 0.137 %. Printed as ratios to the theory, tol 5 SE. */
START_TEST(test_dormancy_small)
{
    enum { M = 1000 };
    static const char *const eng[N_ENGINES] = {"exact_below: 1e300", "exact_below: 0",
                                               "exact_below: 200"};
    int fails = 0;
    for (int e = 0; e < N_ENGINES; e++)
        fails +=
            cd_check("4a n0 1e3 t 10:", ENGINES[e].name, eng[e], 1000, 10, M, 410 + (unsigned)e);
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* 4b. 1e6 cycling cells, t = 20 d, leap engine (default max_step 1 d). M = 200 runs:
 * E C = 2.175e7 with sd 3.57e4 per run, relative SE of the mean 0.0116 %; E D = 5.734e6 with
 * sd 8709, relative SE 0.0107 %; tol 5 SE. At these sizes the noise is small enough to show the
 * leap's approximations: cells that change state within a step are grown to its end without
 * changing state again (docs: bounded by max_step), and emissions are placed along the
 * exponential path through the step's end counts. */
START_TEST(test_dormancy_large)
{
    enum { M = 200 };
    ck_assert_int_eq(cd_check("4b n0 1e6 t 20:", "leap", "exact_below: 0", 1e6, 20, M, 420), 0);
}
END_TEST

/* ================================================================== 5. Gompertz convergence */

/* Gompertz growth, K = 1e9, b = 0.3, d = 0.1, from N0 = 1e6 (leaping throughout), t = 60 d. The
 * engine scales the net rate by ln(K/N)/ln(K) (src/engine/rates.c), so the mean follows
 * N' = (b - d) N ln(K/N)/ln K, whose solution is
 *     N(t) = K exp(ln(N0/K) exp(-(b - d) t/ln K))  (= 2.09e7 here).
 * Freezing the rates over a step makes an error that step_bound controls (first order in it).
 * For step_bound in {0.1, 0.03, 0.01, 0.003} (max_step 100 d, so that step_bound alone sets the
 * steps), R = 100 runs each: the relative error of the mean final size and its SE (sample sd over
 * sqrt R, as the variance has no closed form under density dependence; the relative sd of a run
 * is about 0.15 %, so the SE about 1.5e-4) are printed, and the error at 0.003 must be within
 * 5 SE of 0 or at least 10 times smaller than at 0.1.
 * The stochastic mean differs from the ODE because the growth function g(N) = N ln(K/N) is
 * concave: E g(N) - g(E N) ~ g''(N) Var N/2 = -Var N/(2 N), a relative change of the growth rate
 * of Var N/(2 N^2 ln(K/N)) <= (b + d)/((b - d) N0)/(2 ln(K/N)) = 2e-6/(2 ln(K/N)) < 3e-7 (the
 * relative variance of a run is at most that of pure growth from N0, (b + d)/((b - d) N0)).
 * Over the ln(N(60)/N0) = 3 units of log-growth of the run this shifts the mean by ~1e-6
 * relative: negligible against the SE. */
START_TEST(test_gompertz_convergence)
{
    enum { R = 100, NB = 4 };
    static const double bounds[NB] = {0.1, 0.03, 0.01, 0.003};
    const double K = 1e9, N0 = 1e6, b = 0.3, d = 0.1, t = 60;
    const double ode = K * exp(log(N0 / K) * exp(-(b - d) * t / log(K)));
    const char *site = "{growth: gompertz, capacity: 1e9, division: {cycling: 0.3 /d},"
                       " death: {cycling: 0.1 /d}}";
    double err[NB], se[NB], x[R];
    printf("stats: 5 Gompertz N(60) ODE %.8g; step_bound, relative error of the mean, SE:\n", ode);
    for (int j = 0; j < NB; j++) {
        char eng[128];
        snprintf(eng, sizeof eng, "exact_below: 0, max_step: 100 d, step_bound: %g", bounds[j]);
        metasim_model_t *m = scenario(site, (unsigned long long)N0, eng, "");
        for (unsigned i = 0; i < R; i++) {
            metasim_sim_t *s = sim_new(m, 500, i, 0);
            sim_run(s, t);
            x[i] = metasim_sim_cells(s) / ode - 1;
            metasim_sim_destroy(s);
        }
        metasim_model_destroy(m);
        err[j] = mean_of(x, R);
        se[j] = sqrt(var_of(x, R) / R);
        printf("stats: 5   %-6g %+.4e  %.2e\n", bounds[j], err[j], se[j]);
    }
    int ok = fabs(err[NB - 1]) <= N_SE * se[NB - 1] || fabs(err[NB - 1]) * 10 <= fabs(err[0]);
    printf("stats: %-44s %-6s observed %-12.4g expected 0 tol 5 SE = %.4g or |err(0.1)|/10 = "
           "%.4g %s\n",
           "5 Gompertz rel. error at step_bound 0.003", "leap", err[NB - 1], N_SE * se[NB - 1],
           fabs(err[0]) / 10, ok ? "ok" : "FAIL");
    ck_assert(ok);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("engine_stats");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"bd_extinction", test_bd_extinction},
        {"bd_size_law", test_bd_size_law},
        {"bd_passage_time", test_bd_passage_time},
        {"bd_leap_scale", test_bd_leap_scale},
        {"luria_delbrueck", test_luria_delbrueck},
        {"hybrid_final_size", test_hybrid_final_size},
        {"extinction_time", test_extinction_time},
        {"dormancy_small", test_dormancy_small},
        {"dormancy_large", test_dormancy_large},
        {"gompertz_convergence", test_gompertz_convergence},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}
