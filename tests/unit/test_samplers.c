/* Unit tests for the 64-bit samplers (src/rng/samplers.c): each sampler against its exact law by a
 * chi-square goodness-of-fit test, for parameters that reach every algorithm branch; mean and
 * variance for parameters too large for that; and the edge cases.
 *
 * The exact laws are computed here independently of the samplers: from the mode outwards by the
 * ratio f(k+1)/f(k) of consecutive probabilities (a rational function of k for all three laws),
 * normalised by summation, so no log-gamma or Stirling series is shared with the code under test.
 * The walk stops where f falls below 1e-17 of the mode's value, so the mass left out is below
 * 1e-12 for every law here; over M = 2e5 draws that is an expected 2e-7 draws, and draws outside
 * the walked range fall into the end bins anyway.
 *
 * Chi-square: bins are consecutive values pooled until the expected count is at least
 * max(5, M/100), so at most ~100 bins, each with expected count >= 5 as the chi-square
 * approximation needs; a short last bin is merged into the one before. With B bins the statistic
 * has B - 1 degrees of freedom (no parameter is estimated), and the test fails when it exceeds
 * gsl_cdf_chisq_Qinv(1e-6, B - 1): a false alarm rate of 1e-6 per test. All streams have fixed
 * keys, so the outcome is reproducible. */
#include "unit_test.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "rng/samplers_internal.h"
#include "rng/stream_internal.h"

enum { SEED = 20250611, M_GOF = 200000, M_MOMENTS = 400000, MAX_BINS = 128 };

/* False alarm rate of each chi-square test, and the number of standard errors of each moment test
 * (two-sided normal tail 5.7e-7). */
#define CHISQ_FALSE_ALARM 1e-6
#define N_SE 5.0

typedef enum { POISSON, BINOMIAL, NEGBIN } family;

/* A law: family and parameters (Poisson mu = a; binomial p = a, n = n; negative binomial p = a,
 * n = n, failures before the n-th success). */
typedef struct law {
    family fam;
    double a;
    uint64_t n;
} law;

static uint64_t draw(gsl_rng *r, const law *L)
{
    switch (L->fam) {
    case POISSON: return ms_ran_poisson64(r, L->a);
    case BINOMIAL: return ms_ran_binomial64(r, L->a, L->n);
    case NEGBIN: return ms_ran_negbin64(r, L->a, (double)L->n);
    }
    return 0;
}

/* f(k+1)/f(k). */
static double ratio(const law *L, double k)
{
    const double n = (double)L->n;
    switch (L->fam) {
    case POISSON: return L->a / (k + 1);
    case BINOMIAL: return (n - k) / (k + 1) * (L->a / (1 - L->a));
    case NEGBIN: return (k + n) / (k + 1) * (1 - L->a);
    }
    return 0;
}

static double support_max(const law *L)
{
    return L->fam == BINOMIAL ? (double)L->n : INFINITY;
}

static double mode(const law *L)
{
    const double n = (double)L->n, p = L->a;
    switch (L->fam) {
    case POISSON: return floor(L->a);
    case BINOMIAL: return fmin(floor((n + 1) * p), n);
    case NEGBIN: return n > 1 ? floor((n - 1) * (1 - p) / p) : 0;
    }
    return 0;
}

static double law_mean(const law *L)
{
    const double n = (double)L->n, p = L->a;
    switch (L->fam) {
    case POISSON: return L->a;
    case BINOMIAL: return n * p;
    case NEGBIN: return n * (1 - p) / p;
    }
    return 0;
}

/* Second and fourth cumulants. Poisson: kappa_j = mu. Binomial: npq and npq (1 - 6pq).
 * Negative binomial (q = 1-p): nq/p^2 and nq (1 + 4q + q^2)/p^4, from the cumulant generating
 * function n log p - n log(1 - q e^s). */
static void law_cumulants(const law *L, double *k2, double *k4)
{
    const double n = (double)L->n, p = L->a, q = 1 - p;
    switch (L->fam) {
    case POISSON: *k2 = *k4 = L->a; return;
    case BINOMIAL:
        *k2 = n * p * q;
        *k4 = n * p * q * (1 - 6 * p * q);
        return;
    case NEGBIN:
        *k2 = n * q / (p * p);
        *k4 = n * q * (1 + 4 * q + q * q) / (p * p * p * p);
        return;
    }
}

typedef struct bins {
    int count;
    double start[MAX_BINS]; /* bin j holds [start[j], start[j+1]); bin 0 and the last are open */
    double prob[MAX_BINS];
} bins;

/* Pools the law's values into bins of expected count >= e_min out of m draws. */
static void make_bins(const law *L, double m, double e_min, bins *B)
{
    const double tiny = 1e-17, top = support_max(L), k0 = mode(L);
    /* Pass 1: f relative to f(k0), down to the lower end and up to the upper end; the sum. */
    double f = 1, sum = 1, k = k0;
    while (k > 0 && f >= tiny) {
        f /= ratio(L, k - 1);
        k -= 1;
        sum += f;
    }
    const double k_lo = k, f_lo = f;
    f = 1;
    k = k0;
    while (k < top && f >= tiny) {
        f *= ratio(L, k);
        k += 1;
        sum += f;
    }
    const double k_hi = k;
    /* Pass 2: from k_lo upwards, closing a bin whenever it holds e_min expected draws. */
    B->count = 0;
    B->start[0] = -INFINITY;
    double acc = 0;
    f = f_lo;
    for (k = k_lo; k <= k_hi; k++) {
        acc += f / sum;
        if (acc * m >= e_min && k < k_hi) {
            ck_assert_int_lt(B->count, MAX_BINS - 1);
            B->prob[B->count++] = acc;
            B->start[B->count] = k + 1;
            acc = 0;
        }
        f *= ratio(L, k);
    }
    if (acc * m >= e_min || B->count == 0) {
        B->prob[B->count++] = acc;
    } else {
        B->prob[B->count - 1] += acc;
    }
}

static int find_bin(const bins *B, double k)
{
    int lo = 0, hi = B->count - 1; /* start[lo] <= k always (start[0] = -inf) */
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (B->start[mid] <= k)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Draws M_GOF values of L from stream `purpose`, checks them by chi-square against the exact law
 * and checks the sample mean within N_SE standard errors sqrt(var/M). */
static void check_gof(const law *L, uint32_t purpose)
{
    const double m = M_GOF;
    bins B;
    make_bins(L, m, fmax(5, m / 100), &B);
    ck_assert_msg(B.count >= 2, "one bin for law %d (%g, %llu)", L->fam, L->a,
                  (unsigned long long)L->n);

    double observed[MAX_BINS] = {0};
    gsl_rng *r = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r);
    ms_rng_set_stream(r, SEED, 0, 0, purpose);
    const double mu = law_mean(L), top = support_max(L);
    double shift_sum = 0;
    int outside = 0; /* counted, not asserted per draw: each ck_assert costs a write() */
    for (int i = 0; i < M_GOF; i++) {
        const uint64_t x = draw(r, L);
        const double k = (double)x;
        outside += k > top;
        observed[find_bin(&B, k)] += 1;
        shift_sum += k - mu;
    }
    gsl_rng_free(r);
    ck_assert_int_eq(outside, 0);

    double x2 = 0;
    for (int j = 0; j < B.count; j++) {
        const double e = m * B.prob[j];
        x2 += (observed[j] - e) * (observed[j] - e) / e;
    }
    const double df = B.count - 1;
    const double limit = gsl_cdf_chisq_Qinv(CHISQ_FALSE_ALARM, df);
    ck_assert_msg(x2 < limit, "family %d a=%g n=%llu: X2 = %g on %g df, limit %g", (int)L->fam,
                  L->a, (unsigned long long)L->n, x2, df, limit);

    double k2 = 0, k4 = 0;
    law_cumulants(L, &k2, &k4);
    const double se = sqrt(k2 / m);
    ck_assert_msg(fabs(shift_sum / m) < N_SE * se, "family %d a=%g n=%llu: mean off by %g, SE %g",
                  (int)L->fam, L->a, (unsigned long long)L->n, shift_sum / m, se);
}

/* Mean and variance of M_MOMENTS draws against the law's. The sample mean has standard error
 * sigma/sqrt(M). The sample variance s^2 has variance mu4/M - sigma^4 (M-3)/(M(M-1)) with
 * mu4 = kappa4 + 3 sigma^4 (the standard result for s^2 of iid draws); both within N_SE standard
 * errors. Draws are accumulated as offsets from the (integer-rounded) mean, which are exact in
 * double, so that values near 1e15 lose nothing in the sums of squares. */
static void check_moments(const law *L, uint32_t purpose)
{
    const double m = M_MOMENTS;
    const double mu = law_mean(L), ref = floor(mu);
    double k2 = 0, k4 = 0;
    law_cumulants(L, &k2, &k4);

    gsl_rng *r = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r);
    ms_rng_set_stream(r, SEED, 1, 0, purpose);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < M_MOMENTS; i++) {
        const double y = (double)draw(r, L) - ref;
        s1 += y;
        s2 += y * y;
    }
    gsl_rng_free(r);

    const double mean_off = s1 / m - (mu - ref);
    const double var = (s2 - s1 * s1 / m) / (m - 1);
    const double se_mean = sqrt(k2 / m);
    const double se_var = sqrt((k4 + 3 * k2 * k2) / m - k2 * k2 * (m - 3) / (m * (m - 1)));
    ck_assert_msg(fabs(mean_off) < N_SE * se_mean, "family %d a=%g n=%llu: mean off by %g, SE %g",
                  (int)L->fam, L->a, (unsigned long long)L->n, mean_off, se_mean);
    ck_assert_msg(fabs(var - k2) < N_SE * se_var, "family %d a=%g n=%llu: var %g, want %g, SE %g",
                  (int)L->fam, L->a, (unsigned long long)L->n, var, k2, se_var);
}

/* Poisson: the direct method (mu < 10), PTRS from its threshold mu = 10 up to 1e12. At 1e12 the
 * exact law is walked over ~1.8e7 values, which takes a few tens of milliseconds. */
START_TEST(test_poisson_gof)
{
    static const double mus[] = {0.5, 3.5, 9.99, 10, 27.3, 1234.5, 2.5e6, 1e12};
    for (unsigned i = 0; i < sizeof mus / sizeof *mus; i++) {
        const law L = {POISSON, mus[i], 0};
        check_gof(&L, 100 + i);
    }
}
END_TEST

/* Binomial: inversion ((n+1) min(p, q) < 11) and BTRD, for p below and above 1/2, p near 0 and
 * near 1, small n, n < 2^31 and n > 2^31 up to 2^53. BTRD's two acceptance paths (|k - m| <= 15
 * by recursion, beyond by squeeze and log-probabilities) are both taken when npq is small, the
 * second almost always when it is large. (0.5, 21) has m = 11, BTRD's smallest case. */
START_TEST(test_binomial_gof)
{
    static const struct {
        double p;
        uint64_t n;
    } sets[] = {
        /* a Bernoulli trial */
        {0.3, 1},
        {0.8, 1},
        /* small n */
        {0.3, 20},
        {0.7, 20},
        {0.5, 21},
        {0.5, 100},
        {0.02, 1000},
        {0.99, 1000},
        {0.97, 1000},
        /* n < 2^31 */
        {1e-8, 2000000000},
        {0.5, 2000000000},
        /* n > 2^31 */
        {1e-9, 5000000000},
        {4e-9, 5000000000},
        {0.5, 10000000000},
        {0.999, 10000000000000},
        {0.3, 10000000000000},
        {2.5e-14, UINT64_C(1) << 53},
    };
    for (unsigned i = 0; i < sizeof sets / sizeof *sets; i++) {
        const law L = {BINOMIAL, sets[i].p, sets[i].n};
        check_gof(&L, 200 + i);
    }
}
END_TEST

/* Negative binomial: geometric (n = 1) and sums of up to four geometric draws (n <= 4, p near 0
 * and near 1), small and non-integer n (gamma shape below 1), p near 1, and large means that put
 * the Poisson draw into PTRS. */
START_TEST(test_negbin_gof)
{
    static const struct {
        double p;
        uint64_t n;
    } sets[] = {
        {0.5, 1},       {0.1, 3},      {1e-4, 2},
        {0.95, 4},      {0.1, 5},      {0.9, 20},
        {0.5, 1000000}, {1e-3, 10000}, {0.999, 1000000000000},
    };
    for (unsigned i = 0; i < sizeof sets / sizeof *sets; i++) {
        const law L = {NEGBIN, sets[i].p, sets[i].n};
        check_gof(&L, 300 + i);
    }
}
END_TEST

/* A non-integer number of successes, n = 0.5, p = 0.3, which the integer-parameter law table
 * above cannot describe: P(X = k) = Gamma(k + n)/(k! Gamma(n)) p^n q^k, so f(0) = p^n and
 * f(k+1)/f(k) = (k + n) q/(k + 1). Same chi-square test. */
START_TEST(test_negbin_fractional)
{
    const double n = 0.5, p = 0.3, q = 1 - p, m = M_GOF;
    /* Bins, pooled as in make_bins; the tail beyond K_MAX has mass q^K_MAX-ish < 1e-60. */
    enum { K_MAX = 400 };
    double f = pow(p, n), acc = 0, start[MAX_BINS], prob[MAX_BINS];
    int count = 0;
    for (int k = 0; k <= K_MAX; k++) {
        acc += f;
        if (acc * m >= fmax(5, m / 100) && k < K_MAX) {
            prob[count] = acc;
            start[++count] = k + 1;
            acc = 0;
        }
        f *= (k + n) * q / (k + 1);
    }
    prob[count - 1] += acc;
    start[0] = -INFINITY;

    double observed[MAX_BINS] = {0};
    gsl_rng *r = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r);
    ms_rng_set_stream(r, SEED, 0, 0, 350);
    for (int i = 0; i < M_GOF; i++) {
        const double k = (double)ms_ran_negbin64(r, p, n);
        int j = count - 1;
        while (start[j] > k)
            j--;
        observed[j] += 1;
    }
    gsl_rng_free(r);
    double x2 = 0;
    for (int j = 0; j < count; j++)
        x2 += (observed[j] - m * prob[j]) * (observed[j] - m * prob[j]) / (m * prob[j]);
    ck_assert_double_lt(x2, gsl_cdf_chisq_Qinv(CHISQ_FALSE_ALARM, count - 1));
}
END_TEST

/* The log-probabilities of the acceptance tests. No feasible number of draws can see an error of
 * a few units in log f(k) that changes pseudo-randomly from one k to the next (it averages out in
 * every bin), so their accuracy is tested directly:
 * - against gsl_ran_poisson_pdf / gsl_ran_binomial_pdf for small parameters, 1e-12 relative
 *   (GSL's own accuracy is ~1e-14 there);
 * - at mu = 1e15 and n = 2^53, where the textbook formula's terms have an ulp of 4 or more,
 *   against two facts: near the mode, log f = -log(2 pi sigma^2)/2 up to O(1/sigma^2) and
 *   (k - mean)/sigma^2 terms, all below 1e-14 here; and consecutive ratios
 *   f(k+1)/f(k) = mu/(k+1), resp. (n-k)/(k+1) p/q, whose logs are computed to ~1e-15 absolute.
 *   Tolerance 1e-12 absolute. */
START_TEST(test_log_pmf)
{
    for (unsigned k = 0; k <= 40; k++) {
        const double want = log(gsl_ran_poisson_pdf(k, 7.25));
        ck_assert_double_le(fabs(ms_ran_log_poisson_pmf(k, 7.25) - want), 1e-12 * fabs(want));
    }
    for (unsigned k = 0; k <= 60; k++) {
        const double want = log(gsl_ran_binomial_pdf(k, 0.35, 60));
        ck_assert_double_le(fabs(ms_ran_log_binomial_pmf(k, 60, 0.35) - want), 1e-12 * fabs(want));
        const double want_hi = log(gsl_ran_binomial_pdf(k, 0.9, 60));
        ck_assert_double_le(fabs(ms_ran_log_binomial_pmf(k, 60, 0.9) - want_hi),
                            1e-12 * fabs(want_hi));
    }

    const double mu = 1e15;
    ck_assert_double_le(fabs(ms_ran_log_poisson_pmf(mu, mu) + 0.5 * log(2 * M_PI * mu)), 1e-12);
    for (int j = -6; j <= 6; j++) {
        const double k = mu + j * 1e7; /* sd = 3.2e7 */
        const double step = ms_ran_log_poisson_pmf(k + 1, mu) - ms_ran_log_poisson_pmf(k, mu);
        const double want = log1p((mu - k - 1) / (k + 1));
        ck_assert_double_le(fabs(step - want), 1e-12);
    }

    const double n = 0x1p53, p = 0.3, q = 0.7, m = floor((n + 1) * p);
    ck_assert_double_le(fabs(ms_ran_log_binomial_pmf(m, n, p) + 0.5 * log(2 * M_PI * n * p * q)),
                        1e-12);
    for (int j = -6; j <= 6; j++) {
        const double k = m + j * 1e7; /* sd = 4.3e7 */
        const double step = ms_ran_log_binomial_pmf(k + 1, n, p) - ms_ran_log_binomial_pmf(k, n, p);
        const double want = log((n - k) / (k + 1)) + log(p / q);
        ck_assert_double_le(fabs(step - want), 1e-12);
    }
}
END_TEST

/* Parameters whose laws are too wide to tabulate: mean and variance only. */
START_TEST(test_huge_moments)
{
    static const law sets[] = {
        {POISSON, 1e12, 0},
        {POISSON, 1e15, 0},
        {BINOMIAL, 0.3, 10000000000000},
        {BINOMIAL, 0.5, UINT64_C(1) << 53},
        {BINOMIAL, 1e-9, UINT64_C(1) << 53},
        {NEGBIN, 0.5, 1000000000000},
    };
    for (unsigned i = 0; i < sizeof sets / sizeof *sets; i++)
        check_moments(&sets[i], 400 + i);
}
END_TEST

START_TEST(test_edges)
{
    gsl_rng *r = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r);
    ms_rng_set_stream(r, SEED, 0, 0, 500);
    const uint64_t big = UINT64_C(1) << 53;
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_eq(ms_ran_poisson64(r, 0), 0);
        ck_assert_uint_eq(ms_ran_poisson64(r, -1), 0);
        ck_assert_uint_eq(ms_ran_poisson64(r, NAN), 0);
        /* P(X > 0) = 1e-300. */
        ck_assert_uint_eq(ms_ran_poisson64(r, 1e-300), 0);

        ck_assert_uint_eq(ms_ran_binomial64(r, 0.3, 0), 0);
        ck_assert_uint_eq(ms_ran_binomial64(r, 0, big), 0);
        ck_assert_uint_eq(ms_ran_binomial64(r, -0.5, big), 0);
        ck_assert_uint_eq(ms_ran_binomial64(r, NAN, big), 0);
        ck_assert_uint_eq(ms_ran_binomial64(r, 1, big), big);
        ck_assert_uint_eq(ms_ran_binomial64(r, 1, UINT64_MAX), UINT64_MAX);
        ck_assert_uint_eq(ms_ran_binomial64(r, 2, 17), 17);
        ck_assert_uint_le(ms_ran_binomial64(r, 0.5, 1), 1);
        ck_assert_uint_le(ms_ran_binomial64(r, 1 - 0x1p-53, 3), 3);

        ck_assert_uint_eq(ms_ran_negbin64(r, 0.5, 0), 0);
        ck_assert_uint_eq(ms_ran_negbin64(r, 0.5, -2), 0);
        ck_assert_uint_eq(ms_ran_negbin64(r, 1, 1e12), 0);
        ck_assert_uint_eq(ms_ran_negbin64(r, 0, 3), UINT64_MAX);
        ck_assert_uint_eq(ms_ran_negbin64_odds(r, 0, 3), 0);
        ck_assert_uint_eq(ms_ran_negbin64_odds(r, INFINITY, 3), UINT64_MAX);
    }
    /* Bernoulli: n = 1 with p = 0.25, mean within 5 SE = 5 sqrt(pq/N). */
    double sum = 0;
    for (int i = 0; i < 100000; i++)
        sum += (double)ms_ran_binomial64(r, 0.25, 1);
    ck_assert_double_lt(fabs(sum / 1e5 - 0.25), N_SE * sqrt(0.25 * 0.75 / 1e5));
    gsl_rng_free(r);
}
END_TEST

/* Equal streams give equal draws, whatever the branch. */
START_TEST(test_reproducible)
{
    gsl_rng *r1 = gsl_rng_alloc(ms_rng_philox), *r2 = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r1);
    ck_assert_ptr_nonnull(r2);
    ms_rng_set_stream(r1, SEED, 3, 1, 600);
    ms_rng_set_stream(r2, SEED, 3, 1, 600);
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_eq(ms_ran_poisson64(r1, 1e9), ms_ran_poisson64(r2, 1e9));
        ck_assert_uint_eq(ms_ran_binomial64(r1, 0.4, 1000000), ms_ran_binomial64(r2, 0.4, 1000000));
        ck_assert_uint_eq(ms_ran_negbin64(r1, 0.2, 50), ms_ran_negbin64(r2, 0.2, 50));
    }
    gsl_rng_free(r1);
    gsl_rng_free(r2);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("samplers");

    TCase *tc = tcase_create("gof");
    tcase_add_test(tc, test_poisson_gof);
    tcase_add_test(tc, test_binomial_gof);
    tcase_add_test(tc, test_negbin_gof);
    tcase_add_test(tc, test_negbin_fractional);
    suite_add_tcase(s, tc);

    tc = tcase_create("log_pmf");
    tcase_add_test(tc, test_log_pmf);
    suite_add_tcase(s, tc);

    tc = tcase_create("moments");
    tcase_add_test(tc, test_huge_moments);
    suite_add_tcase(s, tc);

    tc = tcase_create("edges");
    tcase_add_test(tc, test_edges);
    tcase_add_test(tc, test_reproducible);
    suite_add_tcase(s, tc);
    return s;
}
