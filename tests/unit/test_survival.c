/* Unit tests of the survival statistics (src/trial/survival.c): textbook data sets with their
 * published values, hand-checkable corner cases (R's median midpoint rule, NA bounds, an
 * infinite Cox coefficient), the restricted mean's pseudo-observations against their
 * definition, input checks, a 10^6-patient run, and a cross-check against R's survival package
 * on generated trials, run at test time through Rscript.
 *
 * The cross-check needs Rscript and the survival package (scripts/install-deps.sh installs
 * r-base-core and r-cran-survival); without them it fails, unless METASIM_NO_R=1, which skips
 * it with a notice. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/strbuf_internal.h"
#include "metasim/metasim.h"
#include "trial/survival_internal.h"
#include "unit_test.h"

static ms_surv_data *make(const double *time, const int *status, const int *group, size_t n)
{
    ms_surv_data *d = NULL;
    ck_assert_int_eq(ms_surv_data_create(time, status, group, n, &d, NULL), 0);
    return d;
}

/* |got - want| <= rel |want|, with NaN equal to NaN and infinities equal to themselves. */
static double rel_diff(double got, double want)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want) ? 0 : INFINITY;
    if (isinf(got) || isinf(want))
        return got == want ? 0 : INFINITY;
    if (got == want)
        return 0;
    return fabs(got - want) / fmax(fabs(want), DBL_MIN);
}

#define ck_near(got, want, rel)                                                                    \
    do {                                                                                           \
        double got_ = (got), want_ = (want);                                                       \
        ck_assert_msg(rel_diff(got_, want_) <= (rel), "%s = %.17g, want %.17g (rel %g)", #got,     \
                      got_, want_, (double)(rel));                                                 \
    } while (0)

/* ---------------------------------------------------------------- Freireich et al. 1963 */

/* Remission times in weeks of 42 children with acute leukaemia (Freireich et al., Blood
 * 21:699, 1963; MASS::gehan): arm 0 took 6-mercaptopurine, arm 1 placebo. */
static const double gehan_time[42] = {6,  6,  6,  7,  10, 13, 16, 22, 23, 6,  9,  10, 11, 17,
                                      19, 20, 25, 32, 32, 34, 35, 1,  1,  2,  2,  3,  4,  4,
                                      5,  5,  8,  8,  8,  8,  11, 11, 12, 12, 15, 17, 22, 23};
static const int gehan_status[42] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const int gehan_group[42] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

static const ms_surv_row *row_at(const ms_surv_curve *km, double t)
{
    for (size_t i = 0; i < km->n_rows; i++)
        if (km->rows[i].time == t)
            return &km->rows[i];
    ck_abort_msg("no row at time %g", t);
    return NULL;
}

/* The 6-MP curve by hand, and as tabulated by Kleinbaum & Klein, Survival Analysis: A
 * Self-Learning Text (3rd ed. 2012), ch. 2, and printed by summary(survfit()) (std.err and the
 * log interval). A patient censored at 6 weeks is at risk at 6 weeks: n = 21 there, 17 at 7. */
START_TEST(test_gehan_km)
{
    ms_surv_data *d = make(gehan_time, gehan_status, gehan_group, 42);
    ck_assert_uint_eq(ms_surv_data_n(d, 0), 21);
    ck_assert_uint_eq(ms_surv_data_events(d, 0), 9);
    ck_assert_uint_eq(ms_surv_data_events(d, MS_SURV_POOLED), 30);
    ms_surv_curve km;
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, MS_SURV_CI_LOG, &km), 0);
    ck_assert_uint_eq(km.n_rows, 16); /* 7 event times and 9 censor-only times */

    const double t[7] = {6, 7, 10, 13, 16, 22, 23};
    const size_t n[7] = {21, 17, 15, 12, 11, 7, 6}, e[7] = {3, 1, 1, 1, 1, 1, 1};
    const double book[7] = {.8571, .8067, .7529, .6902, .6275, .5378, .4482};
    const double se[7] = {0.0764, 0.0869, 0.0963, 0.1068, 0.1141, 0.1282, 0.1346};
    const double lo[7] = {0.720, 0.653, 0.586, 0.510, 0.439, 0.337, 0.249};
    const double hi[7] = {1.000, 0.996, 0.968, 0.935, 0.896, 0.858, 0.807};
    double s = 1, v = 0, z = 1.959963984540054;
    for (int i = 0; i < 7; i++) {
        const ms_surv_row *r = row_at(&km, t[i]);
        ck_assert_uint_eq(r->n_risk, n[i]);
        ck_assert_uint_eq(r->n_event, e[i]);
        s *= (double)(n[i] - e[i]) / (double)n[i];
        v += (double)e[i] / (double)(n[i] * (n[i] - e[i]));
        ck_near(r->surv, s, 1e-15);
        ck_near(r->se_log, sqrt(v), 1e-15);
        ck_near(r->std_err, s * sqrt(v), 1e-15);
        ck_near(r->lower, s * exp(-z * sqrt(v)), 1e-14);
        ck_near(r->upper, fmin(1, s * exp(z * sqrt(v))), 1e-14);
        ck_assert_double_eq_tol(r->surv, book[i], 5e-5);
        ck_assert_double_eq_tol(r->std_err, se[i], 5e-5);
        ck_assert_double_eq_tol(r->lower, lo[i], 5e-4);
        ck_assert_double_eq_tol(r->upper, hi[i], 5e-4);
    }
    const ms_surv_row *c = row_at(&km, 9); /* censor-only: carries the 7-week estimate */
    ck_assert_uint_eq(c->n_event, 0);
    ck_assert_uint_eq(c->n_censor, 1);
    ck_assert_uint_eq(c->n_risk, 16);
    ck_assert_double_eq(c->surv, row_at(&km, 7)->surv);
    ck_assert_uint_eq(row_at(&km, 6)->n_censor, 1);
    ck_assert_uint_eq(row_at(&km, 32)->n_censor, 2);

    /* print(survfit(...), rmean = 10): median 23 (16, NA); rmean 9.28 (se 0.327). */
    ms_surv_median med;
    ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
    ck_assert_double_eq(med.median, 23);
    ck_assert_double_eq(med.lower, 16);
    ck_assert(isnan(med.upper));
    ms_surv_rmst rm;
    ck_assert_int_eq(ms_surv_curve_rmst(&km, 10, &rm), 0);
    ck_assert_double_eq_tol(rm.rmst, 9.28, 5e-3);
    ck_assert_double_eq_tol(rm.se, 0.327, 5e-4);
    /* By hand: 6 + 1 * 18/21 + 3 * S(7) */
    ck_near(rm.rmst, 6 + 18.0 / 21 + 3 * (18.0 / 21 * 16 / 17), 1e-15);
    ms_surv_curve_free(&km);

    /* Placebo: all relapse; S = 0 at 23 weeks, where R prints std.err NaN and NA bounds. */
    ck_assert_int_eq(ms_surv_km(d, 1, 0.05, MS_SURV_CI_LOG, &km), 0);
    ck_assert_uint_eq(km.n_rows, 12);
    const ms_surv_row *last = &km.rows[11];
    ck_assert_double_eq(last->surv, 0);
    ck_assert(isinf(last->se_log) && isnan(last->std_err));
    ck_assert(isnan(last->lower) && isnan(last->upper));
    ck_assert_double_eq_tol(row_at(&km, 8)->surv, 8.0 / 21, 1e-15);
    ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
    ck_assert_double_eq(med.median, 8);
    ck_assert_double_eq(med.lower, 4);
    ck_assert_double_eq(med.upper, 12);
    ck_assert_int_eq(ms_surv_curve_rmst(&km, 10, &rm), 0);
    ck_assert_double_eq_tol(rm.rmst, 6.62, 5e-3);
    ck_assert_double_eq_tol(rm.se, 0.733, 5e-4);
    ms_surv_curve_free(&km);

    /* conf.type = "log-log": 6-MP 23 (13, NA), placebo 8 (4, 11). */
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, MS_SURV_CI_LOG_LOG, &km), 0);
    ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
    ck_assert_double_eq(med.median, 23);
    ck_assert_double_eq(med.lower, 13);
    ck_assert(isnan(med.upper));
    ck_assert(!isnan(row_at(&km, 35)->upper));
    ms_surv_curve_free(&km);
    ck_assert_int_eq(ms_surv_km(d, 1, 0.05, MS_SURV_CI_LOG_LOG, &km), 0);
    ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
    ck_assert_double_eq(med.median, 8);
    ck_assert_double_eq(med.lower, 4);
    ck_assert_double_eq(med.upper, 11);
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(d);
}
END_TEST

/* Log-rank chi-square 16.79 (Kleinbaum & Klein ch. 2; survdiff prints 16.8, p = 4e-05) with
 * O = 9, E = 19.25 for 6-MP; the Cox model (Efron) as coxph prints it: coef 1.5721, se 0.4124,
 * HR 4.817 (2.147, 10.81), p 0.000138, likelihood ratio 16.35, Wald 14.53, score 17.25. The log
 * likelihoods are R's at full precision. */
START_TEST(test_gehan_tests)
{
    ms_surv_data *d = make(gehan_time, gehan_status, gehan_group, 42);
    ms_surv_logrank_test lr;
    ck_assert_int_eq(ms_surv_logrank(d, &lr), 0);
    ck_assert_double_eq(lr.observed[0], 9);
    ck_assert_double_eq(lr.observed[1], 21);
    ck_assert_double_eq_tol(lr.expected[0], 19.25, 5e-3);
    ck_assert_double_eq_tol(lr.expected[1], 10.75, 5e-3);
    ck_near(lr.expected[0] + lr.expected[1], 30, 1e-14);
    ck_assert_double_eq_tol(lr.chisq, 16.79, 5e-3);
    ck_assert_double_eq_tol(lr.p_value, 4.17e-5, 5e-7);

    ms_surv_cox_fit cx;
    ck_assert_int_eq(ms_surv_cox(d, 0.05, &cx), 0);
    ck_assert(cx.converged && !cx.maybe_infinite);
    ck_assert_double_eq_tol(cx.beta, 1.5721, 5e-5);
    ck_assert_double_eq_tol(cx.se, 0.4124, 5e-5);
    ck_assert_double_eq_tol(cx.hr, 4.8169, 5e-5);
    ck_assert_double_eq_tol(cx.hr_lower, 2.147, 5e-4);
    ck_assert_double_eq_tol(cx.hr_upper, 10.81, 5e-3);
    ck_assert_double_eq_tol(cx.z, 3.812, 5e-4);
    ck_assert_double_eq_tol(cx.p_wald, 0.000138, 5e-7);
    ck_assert_double_eq_tol(cx.lr_chisq, 16.35, 5e-3);
    ck_assert_double_eq_tol(cx.z * cx.z, 14.53, 5e-3);
    ck_assert_double_eq_tol(cx.score_chisq, 17.25, 5e-3);
    ck_near(cx.loglik0, -93.1842699968477, 1e-13);
    ck_near(cx.loglik, -85.0084245773717, 1e-13);
    ck_near(cx.beta, 1.57212514882907, 1e-9);

    ms_surv_rmst_contrast rd;
    ck_assert_int_eq(ms_surv_rmst_diff(d, 10, 0.05, &rd), 0);
    ck_near(rd.diff, rd.arm[1].rmst - rd.arm[0].rmst, 1e-15);
    ck_assert_double_eq_tol(rd.diff, 6.62 - 9.28, 1e-2);
    ck_near(rd.se, hypot(rd.arm[0].se, rd.arm[1].se), 1e-15);
    ck_assert_double_lt(rd.upper, 0);
    ms_surv_data_destroy(d);
}
END_TEST

/* R's survival::aml (Miller 1981): maintained (arm 0) against non-maintained chemotherapy.
 * survdiff chisq and coxph's coefficient, se, log likelihoods and score test, from R 4.2 with
 * survival 3.5-3, printed there as 3.4, 0.9155, 0.5119, LR 3.38, score 3.42. */
START_TEST(test_aml)
{
    const double time[23] = {9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5,
                             5, 8,  8,  12, 16, 23, 27, 30, 33, 43, 45};
    const int status[23] = {1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1};
    int group[23];
    for (int i = 0; i < 23; i++)
        group[i] = i >= 11;
    ms_surv_data *d = make(time, status, group, 23);
    ms_surv_logrank_test lr;
    ck_assert_int_eq(ms_surv_logrank(d, &lr), 0);
    ck_near(lr.chisq, 3.3963886989776, 1e-12);
    ms_surv_cox_fit cx;
    ck_assert_int_eq(ms_surv_cox(d, 0.05, &cx), 0);
    ck_near(cx.beta, 0.915532575014718, 1e-9);
    ck_near(cx.se, 0.511934275172005, 1e-9);
    ck_near(cx.loglik0, -42.7248392627602, 1e-13);
    ck_near(cx.loglik, -41.0326155964584, 1e-12);
    ck_near(cx.score_chisq, 3.4167343955173, 1e-12);
    ck_assert_double_eq_tol(cx.lr_chisq, 3.38, 5e-3);
    ms_surv_data_destroy(d);
}
END_TEST

/* ---------------------------------------------------------------- corner cases by hand */

/* Times 1..4, all events: S = .75, .5, .25, 0. S hits 0.5 exactly at 2 and drops at 3, so R's
 * median is the midpoint 2.5; the upper bound never drops below 0.5 before S = 0 (NA there), so
 * the upper limit is NA. RMST to 3 is 1 + .75 + .5 = 2.25 with se^2 = 1.25^2 / 12 + .5^2 / 6
 * (print(fit, rmean = 3): 2.25, 0.4146). */
START_TEST(test_median_midpoint_and_rmst)
{
    const double t4[4] = {1, 2, 3, 4};
    const int all[6] = {1, 1, 1, 1, 1, 1}, half[4] = {1, 1, 0, 0};
    ms_surv_data *d = make(t4, all, NULL, 4);
    ms_surv_curve km;
    ck_assert_int_eq(ms_surv_km(d, MS_SURV_POOLED, 0.05, MS_SURV_CI_LOG, &km), 0);
    ms_surv_median med;
    ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
    ck_assert_double_eq(med.median, 2.5);
    ck_assert_double_eq(med.lower, 1);
    ck_assert(isnan(med.upper));
    ms_surv_rmst rm;
    ck_assert_int_eq(ms_surv_curve_rmst(&km, 3, &rm), 0);
    ck_near(rm.rmst, 2.25, 1e-15);
    ck_near(rm.se, sqrt(1.5625 / 12 + 0.25 / 6), 1e-15);
    ck_near(rm.se, 0.414578098794425, 1e-14);
    /* Before the first time the area is tau and the variance 0; past the last, the curve is
     * carried flat (here at 0). */
    ck_assert_int_eq(ms_surv_curve_rmst(&km, 0.5, &rm), 0);
    ck_assert_double_eq(rm.rmst, 0.5);
    ck_assert_double_eq(rm.se, 0);
    ck_assert_int_eq(ms_surv_curve_rmst(&km, 100, &rm), 0);
    ck_near(rm.rmst, 2.5, 1e-15);
    ck_assert_int_eq(ms_surv_curve_rmst(&km, 0, &rm), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_curve_rmst(&km, INFINITY, &rm), METASIM_E_ARG);
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(d);

    /* The curve stays at 0.5 to the end (times 3 and 4 censored): the median is 2. */
    d = make(t4, half, NULL, 4);
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, MS_SURV_CI_LOG, &km), 0);
    ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
    ck_assert_double_eq(med.median, 2);
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(d);

    /* Six deaths: S(3) = 5/6 4/5 3/4 is 0.5 up to rounding; print(survfit) gives 3.5 (2, NA). */
    const double t6[6] = {6, 5, 4, 3, 2, 1};
    d = make(t6, all, NULL, 6);
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, MS_SURV_CI_LOG, &km), 0);
    ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
    ck_assert_double_eq(med.median, 3.5);
    ck_assert_double_eq(med.lower, 2);
    ck_assert(isnan(med.upper));
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(d);
}
END_TEST

/* The log-log interval is NA where S = 1 (a censoring before any event) and where S = 0; the log
 * interval is [1, 1] at S = 1. Censorings tied with an event count in that event's risk set. */
/* The restricted mean's pseudo-observations: min(T, tau) exactly without censoring; with
 * censoring their mean is the restricted mean, and theta_i - mu is n times the derivative of mu
 * with respect to record i's weight, checked by finite differences: each record copied M times
 * is the same curve, and one more copy of record i raises its weight by 1/M. */
static double rmst_of(const double *time, const int *status, size_t n, double tau)
{
    ms_surv_data *d = make(time, status, NULL, n);
    ms_surv_curve km = {0};
    ms_surv_rmst rm;
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, MS_SURV_CI_LOG, &km), 0);
    ck_assert_int_eq(ms_surv_curve_rmst(&km, tau, &rm), 0);
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(d);
    return rm.rmst;
}

static void pseudo_of(const double *time, const int *status, size_t n, double tau, double *theta)
{
    ms_surv_data *d = make(time, status, NULL, n);
    ms_surv_curve km = {0};
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, MS_SURV_CI_LOG_LOG, &km), 0);
    ck_assert_int_eq(ms_surv_curve_rmst_pseudo(&km, tau, time, status, n, theta), 0);
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(d);
}

START_TEST(test_rmst_pseudo)
{
    /* Placebo arm of Freireich et al.: every time an event. */
    const double *t1 = gehan_time + 21;
    const int *s1 = gehan_status + 21;
    double theta[21];
    for (double tau = 0.5; tau < 30; tau += 4.25) {
        pseudo_of(t1, s1, 21, tau, theta);
        for (size_t i = 0; i < 21; i++)
            ck_near(theta[i], fmin(t1[i], tau), 1e-13);
    }
    /* 6-MP arm: 12 of 21 censored. */
    const double *t0 = gehan_time;
    const int *s0 = gehan_status;
    enum { M = 4000 };
    static double big_time[21 * M + 1];
    static int big_status[21 * M + 1];
    for (size_t k = 0; k < 21 * M; k++) {
        big_time[k] = t0[k % 21];
        big_status[k] = s0[k % 21];
    }
    for (double tau = 8; tau < 36; tau += 9) {
        double mu = rmst_of(t0, s0, 21, tau), mean = 0;
        ck_near(rmst_of(big_time, big_status, 21 * M, tau), mu, 1e-12);
        pseudo_of(t0, s0, 21, tau, theta);
        for (size_t i = 0; i < 21; i++) {
            mean += theta[i] / 21;
            big_time[21 * M] = t0[i];
            big_status[21 * M] = s0[i];
            double step = rmst_of(big_time, big_status, 21 * M + 1, tau) - mu;
            /* The finite difference errs by O(1/M) of the curve's scale (tau). */
            ck_assert_msg(fabs(21.0 * M * step - (theta[i] - mu)) < tau / M,
                          "tau %g, record %zu: %.9g against %.9g", tau, i, 21.0 * M * step,
                          theta[i] - mu);
        }
        ck_near(mean, mu, 1e-12);
    }
    /* An event time that is not one of the curve's, a bad tau, another number of records. */
    ms_surv_data *d = make(t0, s0, NULL, 21);
    ms_surv_curve km = {0};
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, MS_SURV_CI_LOG, &km), 0);
    double other[21];
    memcpy(other, t0, sizeof other);
    other[0] = 6.5;
    ck_assert_int_eq(ms_surv_curve_rmst_pseudo(&km, 20, other, s0, 21, theta), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_curve_rmst_pseudo(&km, 0, t0, s0, 21, theta), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_curve_rmst_pseudo(&km, 20, t0, s0, 20, theta), METASIM_E_ARG);
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(d);
}
END_TEST

START_TEST(test_interval_edges)
{
    const double t[6] = {0.5, 1, 2, 2, 3, 3};
    const int s[6] = {0, 1, 1, 0, 1, 1};
    ms_surv_data *d = make(t, s, NULL, 6);
    ms_surv_curve km;
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, MS_SURV_CI_LOG_LOG, &km), 0);
    ck_assert_uint_eq(km.n_rows, 4);
    ck_assert(isnan(km.rows[0].lower) && isnan(km.rows[0].upper));
    ck_assert_uint_eq(km.rows[2].n_risk, 4);
    ck_assert_uint_eq(km.rows[2].n_censor, 1);
    ck_near(km.rows[2].surv, 0.8 * 0.75, 1e-15);
    ck_assert(km.rows[2].lower < km.rows[2].surv && km.rows[2].surv < km.rows[2].upper);
    ck_assert(isnan(km.rows[3].lower) && isnan(km.rows[3].upper));
    ms_surv_curve_free(&km);
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, MS_SURV_CI_LOG, &km), 0);
    ck_assert_double_eq(km.rows[0].lower, 1);
    ck_assert_double_eq(km.rows[0].upper, 1);
    ck_assert_double_eq(km.rows[1].upper, 1);
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(d);
}
END_TEST

/* An arm without events: coxph runs its 20 iterations to beta = -20.6585439371716 and warns
 * "coefficient may be infinite"; replicating its iteration gives the same beta. */
START_TEST(test_cox_infinite)
{
    const double t[8] = {1, 2, 3, 4, 5, 1.5, 2.5, 3.5};
    const int s[8] = {1, 1, 1, 1, 1, 0, 0, 0}, g[8] = {0, 0, 0, 0, 0, 1, 1, 1};
    ms_surv_data *d = make(t, s, g, 8);
    ms_surv_cox_fit cx;
    ck_assert_int_eq(ms_surv_cox(d, 0.05, &cx), 0);
    ck_assert(cx.converged);
    ck_assert(cx.maybe_infinite);
    ck_assert_int_eq(cx.iterations, 20);
    ck_near(cx.beta, -20.6585439371716, 1e-9);
    ck_near(cx.loglik0, -5.95064255258773, 1e-13);
    ck_near(cx.score_chisq, 1.42587601078167, 1e-13);
    ms_surv_data_destroy(d);

    /* No events at all: nothing is estimable. */
    const int none[8] = {0};
    d = make(t, none, g, 8);
    ck_assert_int_eq(ms_surv_cox(d, 0.05, &cx), 0);
    ck_assert(!cx.converged && isnan(cx.beta) && isnan(cx.hr));
    ck_assert_double_eq(cx.loglik0, 0);
    ms_surv_logrank_test lr;
    ck_assert_int_eq(ms_surv_logrank(d, &lr), 0);
    ck_assert(isnan(lr.chisq) && isnan(lr.p_value));
    ms_surv_data_destroy(d);
}
END_TEST

START_TEST(test_invalid_input)
{
    const double t[3] = {1, 2, 3}, neg[3] = {1, -1, 3}, nan_t[3] = {1, NAN, 3};
    const double inf_t[3] = {1, 2, INFINITY};
    const int s[3] = {1, 0, 1}, s2[3] = {1, 2, 1}, g[3] = {0, 1, 0}, g2[3] = {0, 1, -1};
    const int g0[3] = {0, 0, 0};
    ms_surv_data *d = NULL;
    size_t bad = 99;
    ck_assert_int_eq(ms_surv_data_create(neg, s, NULL, 3, &d, &bad), METASIM_E_ARG);
    ck_assert_uint_eq(bad, 1);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(ms_surv_data_create(nan_t, s, NULL, 3, &d, &bad), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_data_create(inf_t, s, NULL, 3, &d, &bad), METASIM_E_ARG);
    ck_assert_uint_eq(bad, 2);
    ck_assert_int_eq(ms_surv_data_create(t, s2, NULL, 3, &d, &bad), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_data_create(t, s, g2, 3, &d, &bad), METASIM_E_ARG);
    ck_assert_uint_eq(bad, 2);
    ck_assert_int_eq(ms_surv_data_create(NULL, s, NULL, 3, &d, NULL), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_data_create(t, s, NULL, 3, NULL, NULL), METASIM_E_ARG);
    ms_surv_data_destroy(NULL);
    ms_surv_curve_free(NULL);

    /* An empty table is valid; its curve has no rows and no median. */
    ck_assert_int_eq(ms_surv_data_create(NULL, NULL, NULL, 0, &d, NULL), 0);
    ms_surv_curve km;
    ck_assert_int_eq(ms_surv_km(d, MS_SURV_POOLED, 0.05, MS_SURV_CI_LOG, &km), 0);
    ck_assert_uint_eq(km.n_rows, 0);
    ms_surv_median med;
    ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
    ck_assert(isnan(med.median));
    ms_surv_rmst rm;
    ck_assert_int_eq(ms_surv_curve_rmst(&km, 1, &rm), 0);
    ck_assert(isnan(rm.rmst));
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(d);

    d = make(t, s, g, 3);
    ck_assert_int_eq(ms_surv_km(d, 2, 0.05, MS_SURV_CI_LOG, &km), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_km(d, 0, 0, MS_SURV_CI_LOG, &km), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_km(d, 0, 1, MS_SURV_CI_LOG, &km), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_km(d, 0, NAN, MS_SURV_CI_LOG, &km), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_km(d, 0, 0.05, (ms_surv_ci)7, &km), METASIM_E_ARG);
    ms_surv_curve_free(&km);
    ms_surv_cox_fit cx;
    ck_assert_int_eq(ms_surv_cox(d, 1.5, &cx), METASIM_E_ARG);
    ms_surv_rmst_contrast rd;
    ck_assert_int_eq(ms_surv_rmst_diff(d, -1, 0.05, &rd), METASIM_E_ARG);
    ms_surv_data_destroy(d);

    /* A single arm has no comparison. */
    d = make(t, s, g0, 3);
    ms_surv_logrank_test lr;
    ck_assert_int_eq(ms_surv_logrank(d, &lr), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_cox(d, 0.05, &cx), METASIM_E_ARG);
    ck_assert_int_eq(ms_surv_rmst_diff(d, 1, 0.05, &rd), METASIM_E_ARG);
    ck_assert_uint_eq(ms_surv_data_n(d, 1), 0);
    ck_assert_uint_eq(ms_surv_data_n(d, 5), 0);
    ms_surv_data_destroy(d);
}
END_TEST

/* ---------------------------------------------------------------- generated trials */

/* splitmix64 (Steele, Lea & Flood 2014): a fixed, self-contained generator for test data. */
static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *state) /* in (0, 1) */
{
    return ((double)(splitmix(state) >> 11) + 0.5) / 9007199254740992.0;
}

typedef struct trial {
    double *time;
    int *status, *group;
    size_t n;
} trial;

/* n patients alternating between arms with exponential event times (hazard rate[arm]) and
 * uniform censoring on (0, cmax); times are rounded up to multiples of `grain` (0 keeps them
 * continuous), which makes ties, including events tied with censorings. */
static trial make_trial(size_t n, uint64_t seed, const double rate[2], double cmax, double grain)
{
    trial tr = {malloc(n * sizeof(double)), malloc(n * sizeof(int)), malloc(n * sizeof(int)), n};
    ck_assert(tr.time && tr.status && tr.group);
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        int g = (int)(i % 2);
        double e = -log(uniform01(&st)) / rate[g], c = cmax * uniform01(&st);
        double t = fmin(e, c);
        if (grain > 0)
            t = ceil(t / grain) * grain;
        tr.time[i] = t;
        tr.status[i] = e <= c;
        tr.group[i] = g;
    }
    return tr;
}

static void free_trial(trial *tr)
{
    free(tr->time);
    free(tr->status);
    free(tr->group);
}

/* 10^6 patients in one table: the statistics are O(n) after one sort, so this takes well under
 * a second. With true hazard ratio 0.7, beta lies within 5 standard errors of log 0.7, and the
 * Efron and Mantel-Haenszel tests agree closely at this size. */
START_TEST(test_million)
{
    const double rate[2] = {0.1, 0.07};
    for (int pass = 0; pass < 2; pass++) {
        trial tr = make_trial(1000000, 2024 + (uint64_t)pass, rate, 30, pass ? 0 : 0.01);
        ms_surv_data *d = make(tr.time, tr.status, tr.group, tr.n);
        ms_surv_curve km;
        ck_assert_int_eq(ms_surv_km(d, 1, 0.05, MS_SURV_CI_LOG_LOG, &km), 0);
        ck_assert_uint_gt(km.n_rows, 0);
        for (size_t i = 1; i < km.n_rows; i++)
            ck_assert(km.rows[i].surv <= km.rows[i - 1].surv);
        ms_surv_median med;
        ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
        ms_surv_curve_free(&km);
        ms_surv_logrank_test lr;
        ck_assert_int_eq(ms_surv_logrank(d, &lr), 0);
        ms_surv_cox_fit cx;
        ck_assert_int_eq(ms_surv_cox(d, 0.05, &cx), 0);
        ck_assert(cx.converged);
        ck_assert_double_lt(fabs(cx.beta - log(0.7)), 5 * cx.se);
        ck_near(cx.score_chisq, lr.chisq, 1e-3);
        ms_surv_rmst_contrast rd;
        ck_assert_int_eq(ms_surv_rmst_diff(d, 20, 0.05, &rd), 0);
        ck_assert_double_gt(rd.lower, 0);
        ms_surv_data_destroy(d);
        free_trial(&tr);
    }
}
END_TEST

/* ---------------------------------------------------------------- against R */

/* Prints, for the data in args[1] at confidence args[2] and each tau in args[3...], every
 * number the C code computes, at 17 significant digits (enough to round-trip a double). */
static const char r_script[] =
    "suppressPackageStartupMessages(library(survival))\n"
    "args <- commandArgs(TRUE)\n"
    "d <- read.csv(args[1])\n"
    "conf <- as.numeric(args[2]); taus <- as.numeric(args[-(1:2)])\n"
    "g <- function(x) sprintf('%.17g', as.numeric(x))\n"
    "out <- function(...) cat(paste(c(...), collapse = ' '), '\\n', sep = '')\n"
    "for (ct in c('log', 'log-log')) for (arm in c(-1, 0, 1)) {\n"
    "  dd <- if (arm < 0) d else d[d$group == arm, ]\n"
    "  f <- survfit(Surv(time, status) ~ 1, data = dd, conf.type = ct, conf.int = conf)\n"
    "  for (i in seq_along(f$time))\n"
    "    out('km', ct, arm, g(c(f$time[i], f$n.risk[i], f$n.event[i], f$n.censor[i],\n"
    "        f$surv[i], f$std.err[i], f$lower[i], f$upper[i])))\n"
    "  for (k in seq_along(taus)) {\n"
    "    tab <- summary(f, rmean = taus[k])$table\n"
    "    out('sum', ct, arm, k - 1, g(c(tab['median'], tab[paste0(conf, 'LCL')],\n"
    "        tab[paste0(conf, 'UCL')], tab['rmean'], tab['se(rmean)'])))\n"
    "  }\n"
    "}\n"
    "sd <- survdiff(Surv(time, status) ~ group, data = d)\n"
    "out('lr', g(c(sd$obs, sd$exp, sd$var[2, 2], sd$chisq, pchisq(sd$chisq, 1, lower.tail = "
    "FALSE))))\n"
    "cx <- coxph(Surv(time, status) ~ group, data = d, ties = 'efron')\n"
    "s <- summary(cx, conf.int = conf)\n"
    "out('cox', g(c(coef(cx), sqrt(vcov(cx)[1, 1]), cx$loglik, cx$score, s$coefficients[1, 4:5],\n"
    "    s$conf.int[1, 3:4], s$logtest['test'], s$logtest['pvalue'], s$sctest['pvalue'],\n"
    "    cx$iter)))\n"
    "for (k in seq_along(taus)) {\n"
    "  r <- sapply(0:1, function(a) summary(survfit(Surv(time, status) ~ 1,\n"
    "       data = d[d$group == a, ]), rmean = taus[k])$table[c('rmean', 'se(rmean)')])\n"
    "  diff <- r[1, 2] - r[1, 1]; se <- sqrt(r[2, 1]^2 + r[2, 2]^2); z <- qnorm(1 - (1 - conf)/2)\n"
    "  out('rdiff', k - 1, g(c(diff, se, diff - z * se, diff + z * se, 2 * pnorm(-abs(diff) / "
    "se))))\n"
    "}\n";

/* Largest relative differences from R seen so far, by kind (printed by the test). */
typedef struct worst {
    double km, summary, logrank, cox;
} worst;

static void compare(const char *what, size_t line, double got, double want, double tol,
                    double *worst_seen)
{
    double r = rel_diff(got, want);
    ck_assert_msg(r <= tol, "line %zu: %s = %.17g, R %.17g (relative difference %g > %g)", line,
                  what, got, want, r, tol);
    if (r > *worst_seen)
        *worst_seen = r;
}

/* Splits a line of R's output at spaces into at most `max` tokens. */
static int split(char *line, char **tok, int max)
{
    int k = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t && k < max; t = strtok_r(NULL, " ", &save))
        tok[k++] = t;
    return k;
}

/* A number printed by R's sprintf("%.17g"): NA becomes NaN; strtod reads NaN, Inf, -Inf. */
static double r_number(const char *tok)
{
    if (strcmp(tok, "NA") == 0)
        return NAN;
    char *end;
    double x = strtod(tok, &end);
    ck_assert_msg(*end == '\0' && end != tok, "unparsable number from R: '%s'", tok);
    return x;
}

static bool r_available(void)
{
    return system("Rscript --vanilla -e 'suppressPackageStartupMessages(library(survival))' "
                  ">/dev/null 2>&1") == 0;
}

/* Writes the trial and the script to a fresh temporary directory, runs Rscript and returns its
 * output (freed by the caller). */
static char *run_r(const trial *tr, double conf, const double *taus, int ntaus)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600], script[600], cmd[2048];
    snprintf(dir, sizeof dir, "%s/metasim-surv-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(dir) != NULL, "cannot make a temporary directory");
    snprintf(path, sizeof path, "%s/trial.csv", dir);
    snprintf(script, sizeof script, "%s/check.R", dir);
    FILE *f = fopen(path, "w");
    ck_assert(f);
    fprintf(f, "time,status,group\n");
    for (size_t i = 0; i < tr->n; i++)
        fprintf(f, "%.17g,%d,%d\n", tr->time[i], tr->status[i], tr->group[i]);
    ck_assert_int_eq(fclose(f), 0);
    f = fopen(script, "w");
    ck_assert(f);
    fputs(r_script, f);
    ck_assert_int_eq(fclose(f), 0);

    int len = snprintf(cmd, sizeof cmd, "Rscript --vanilla '%s' '%s' %.17g", script, path, conf);
    for (int k = 0; k < ntaus; k++)
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %.17g", taus[k]);
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "cannot run Rscript");
    ms_strbuf sb = {0};
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0)
        ms_strbuf_append(&sb, buf, got);
    int status = pclose(p);
    remove(path);
    remove(script);
    rmdir(dir);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "Rscript failed (status %d)",
                  status);
    ck_assert(!ms_strbuf_failed(&sb));
    return ms_strbuf_take(&sb);
}

/* A small integer printed by R (arm -1, 0, 1 or a tau index). */
static int atoi_arm(const char *tok)
{
    char *end;
    long v = strtol(tok, &end, 10);
    ck_assert_msg(*end == '\0' && end != tok && v >= -1 && v < 100, "bad index from R: '%s'", tok);
    return (int)v;
}

/* Runs R on one trial and compares every number: 1e-9 relative for the Kaplan-Meier curves,
 * medians, restricted means and the log-rank test (closed forms), 1e-6 for Cox (iterative). */
static void check_against_r(const trial *tr, double conf, const double *taus, int ntaus, worst *w)
{
    const double tol = 1e-9, tol_cox = 1e-6;
    double alpha = 1 - conf;
    ms_surv_data *d = make(tr->time, tr->status, tr->group, tr->n);
    ms_surv_curve km[2][3];
    size_t next[2][3] = {{0}};
    for (int c = 0; c < 2; c++)
        for (int a = 0; a < 3; a++)
            ck_assert_int_eq(
                ms_surv_km(d, a - 1, alpha, c ? MS_SURV_CI_LOG_LOG : MS_SURV_CI_LOG, &km[c][a]), 0);

    char *text = run_r(tr, conf, taus, ntaus);
    size_t line = 0, n_km = 0, n_sum = 0, n_lr = 0, n_cox = 0, n_rdiff = 0;
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        line++;
        char *tok[24];
        int nt = split(ln, tok, 24);
        double x[20];
        ck_assert_int_gt(nt, 0);
        const char *kind = tok[0];
        /* km and sum lines: kind, conf.type, arm (-1 pooled), [tau index], numbers. */
        int head = strcmp(kind, "km") == 0 ? 3 : strcmp(kind, "sum") == 0 ? 4 : 1;
        ck_assert_int_ge(nt, head);
        for (int i = head; i < nt; i++)
            x[i - head] = r_number(tok[i]);
        int nx = nt - head;
        int c = head > 1 && strcmp(tok[1], "log-log") == 0;
        int arm = head > 1 ? atoi_arm(tok[2]) : 0;
        if (strcmp(kind, "km") == 0) {
            ck_assert_int_eq(nx, 8);
            ms_surv_curve *k = &km[c][arm + 1];
            size_t i = next[c][arm + 1]++;
            ck_assert_msg(i < k->n_rows, "R has more rows than the C curve");
            const ms_surv_row *r = &k->rows[i];
            /* Equal unless R's reading of the CSV rounds differently in the last bit. */
            ck_assert_msg(rel_diff(r->time, x[0]) <= 4 * DBL_EPSILON,
                          "row %zu: time %.17g, R %.17g", i, r->time, x[0]);
            ck_assert_msg((double)r->n_risk == x[1] && (double)r->n_event == x[2] &&
                              (double)r->n_censor == x[3],
                          "row %zu: counts differ from R", i);
            compare("surv", line, r->surv, x[4], tol, &w->km);
            compare("se_log", line, r->se_log, x[5], tol, &w->km);
            compare("lower", line, r->lower, x[6], tol, &w->km);
            compare("upper", line, r->upper, x[7], tol, &w->km);
            n_km++;
        } else if (strcmp(kind, "sum") == 0) {
            ck_assert_int_eq(nx, 5);
            int k = atoi_arm(tok[3]);
            ck_assert(k >= 0 && k < ntaus);
            ms_surv_median med;
            ms_surv_rmst rm;
            ck_assert_int_eq(ms_surv_curve_median(&km[c][arm + 1], &med), 0);
            ck_assert_int_eq(ms_surv_curve_rmst(&km[c][arm + 1], taus[k], &rm), 0);
            compare("median", line, med.median, x[0], tol, &w->summary);
            compare("median lower", line, med.lower, x[1], tol, &w->summary);
            compare("median upper", line, med.upper, x[2], tol, &w->summary);
            compare("rmean", line, rm.rmst, x[3], tol, &w->summary);
            compare("se(rmean)", line, rm.se, x[4], tol, &w->summary);
            n_sum++;
        } else if (strcmp(kind, "lr") == 0) {
            ck_assert_int_eq(nx, 7);
            ms_surv_logrank_test lr;
            ck_assert_int_eq(ms_surv_logrank(d, &lr), 0);
            compare("observed 0", line, lr.observed[0], x[0], 0, &w->logrank);
            compare("observed 1", line, lr.observed[1], x[1], 0, &w->logrank);
            compare("expected 0", line, lr.expected[0], x[2], tol, &w->logrank);
            compare("expected 1", line, lr.expected[1], x[3], tol, &w->logrank);
            compare("variance", line, lr.variance, x[4], tol, &w->logrank);
            compare("chisq", line, lr.chisq, x[5], tol, &w->logrank);
            compare("p", line, lr.p_value, x[6], tol, &w->logrank);
            n_lr++;
        } else if (strcmp(kind, "cox") == 0) {
            ck_assert_int_eq(nx, 13);
            ms_surv_cox_fit cx;
            ck_assert_int_eq(ms_surv_cox(d, alpha, &cx), 0);
            ck_assert(cx.converged && !cx.maybe_infinite);
            compare("beta", line, cx.beta, x[0], tol_cox, &w->cox);
            compare("se", line, cx.se, x[1], tol_cox, &w->cox);
            compare("loglik0", line, cx.loglik0, x[2], tol, &w->cox);
            compare("loglik", line, cx.loglik, x[3], tol_cox, &w->cox);
            compare("score", line, cx.score_chisq, x[4], tol, &w->cox);
            compare("z", line, cx.z, x[5], tol_cox, &w->cox);
            compare("p wald", line, cx.p_wald, x[6], tol_cox, &w->cox);
            compare("hr lower", line, cx.hr_lower, x[7], tol_cox, &w->cox);
            compare("hr upper", line, cx.hr_upper, x[8], tol_cox, &w->cox);
            compare("lr chisq", line, cx.lr_chisq, x[9], tol_cox, &w->cox);
            compare("p lr", line, cx.p_lr, x[10], tol_cox, &w->cox);
            compare("p score", line, cx.p_score, x[11], tol, &w->cox);
            ck_assert_int_eq(cx.iterations, (int)x[12]);
            n_cox++;
        } else if (strcmp(kind, "rdiff") == 0) {
            ck_assert_int_eq(nx, 6);
            int k = (int)x[0];
            ck_assert(k >= 0 && k < ntaus);
            ms_surv_rmst_contrast rd;
            ck_assert_int_eq(ms_surv_rmst_diff(d, taus[k], alpha, &rd), 0);
            compare("rmst diff", line, rd.diff, x[1], tol, &w->summary);
            compare("rmst diff se", line, rd.se, x[2], tol, &w->summary);
            compare("rmst diff lower", line, rd.lower, x[3], tol, &w->summary);
            compare("rmst diff upper", line, rd.upper, x[4], tol, &w->summary);
            compare("rmst diff p", line, rd.p_value, x[5], tol, &w->summary);
            n_rdiff++;
        } else {
            ck_abort_msg("unexpected line %zu from R: %s", line, kind);
        }
    }
    free(text);
    for (int c = 0; c < 2; c++)
        for (int a = 0; a < 3; a++) {
            ck_assert_uint_eq(next[c][a], km[c][a].n_rows);
            ms_surv_curve_free(&km[c][a]);
        }
    ck_assert_uint_gt(n_km, 100);
    ck_assert_uint_eq(n_sum, 6 * (size_t)ntaus);
    ck_assert_uint_eq(n_lr, 1);
    ck_assert_uint_eq(n_cox, 1);
    ck_assert_uint_eq(n_rdiff, (size_t)ntaus);
    ms_surv_data_destroy(d);
}

START_TEST(test_against_r)
{
    const char *no_r = getenv("METASIM_NO_R");
    if (no_r && strcmp(no_r, "1") == 0) {
        printf("test_survival: METASIM_NO_R=1: skipping the cross-check against R\n");
        return;
    }
    ck_assert_msg(r_available(), "the cross-check needs Rscript with R's survival package: run "
                                 "scripts/install-deps.sh (or set METASIM_NO_R=1 to skip it)");
    worst w = {0, 0, 0, 0};
    /* 300 patients, times on a 0.1 grid; 500 patients on whole days (heavy ties, Efron at
     * work); 200 continuous times. Each at one tau inside follow-up and one past its end. */
    const double rate_a[2] = {0.10, 0.06}, rate_b[2] = {0.15, 0.10}, rate_c[2] = {0.05, 0.05};
    trial a = make_trial(300, 11, rate_a, 40, 0.1);
    trial b = make_trial(500, 12, rate_b, 25, 1);
    trial c = make_trial(200, 13, rate_c, 30, 0);
    const double tau_a[2] = {15, 1000}, tau_b[2] = {12, 60}, tau_c[2] = {10.5, 45};
    check_against_r(&a, 0.95, tau_a, 2, &w);
    check_against_r(&b, 0.90, tau_b, 2, &w);
    check_against_r(&c, 0.95, tau_c, 2, &w);
    free_trial(&a);
    free_trial(&b);
    free_trial(&c);
    printf("test_survival: largest relative differences from R: Kaplan-Meier %.2g, medians and "
           "restricted means %.2g, log-rank %.2g, Cox %.2g\n",
           w.km, w.summary, w.logrank, w.cox);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("survival");
    TCase *tc = tcase_create("survival");
    tcase_add_test(tc, test_gehan_km);
    tcase_add_test(tc, test_gehan_tests);
    tcase_add_test(tc, test_aml);
    tcase_add_test(tc, test_median_midpoint_and_rmst);
    tcase_add_test(tc, test_interval_edges);
    tcase_add_test(tc, test_rmst_pseudo);
    tcase_add_test(tc, test_cox_infinite);
    tcase_add_test(tc, test_invalid_input);
    tcase_add_test(tc, test_million);
    tcase_add_test(tc, test_against_r);
    suite_add_tcase(s, tc);
    return s;
}
