/*
 * The statistics tables of a virtual trial (trial_stats_internal.h): which arm is compared with
 * which, over which patients and up to which time. The formulas are survival.c's, checked
 * against R there; the paired effects and landmarks are plain counts and order statistics, and
 * the paired restricted-mean gain a mean of per-patient differences of pseudo-observations.
 */
#include "trial/trial_stats_internal.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>

#include "metasim/metasim.h"

const double ms_stats_landmark_years[MS_STATS_LANDMARKS] = {3, 5, 10};

/* One arm's rows, copied out of the endpoint's. */
typedef struct arm_rows {
    double *time;
    int *status;
    size_t n;
} arm_rows;

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's quantile(type = 7) of sorted v[0..n-1], n >= 1. */
static double quantile7(const double *v, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

/* Sends an arm's curves under both transforms, and fills in its median (log transform) and its
 * restricted mean up to tau. */
static int emit_curves(const ms_surv_data *sd, size_t arm, double alpha, const ms_stats_sink *sink,
                       ms_stats_test_row *row)
{
    const ms_surv_ci transforms[] = {MS_SURV_CI_LOG, MS_SURV_CI_LOG_LOG};
    int rc = 0;
    for (size_t t = 0; t < 2 && rc == 0; t++) {
        ms_surv_curve km = {0};
        rc = ms_surv_km(sd, 0, alpha, transforms[t], &km);
        for (size_t i = 0; i < km.n_rows && rc == 0; i++)
            if (sink->km)
                rc = sink->km(sink->user, arm, transforms[t], &km.rows[i]);
        if (rc == 0 && transforms[t] == MS_SURV_CI_LOG)
            rc = ms_surv_curve_median(&km, &row->median);
        if (rc == 0 && transforms[t] == MS_SURV_CI_LOG && row->tau > 0 && isfinite(row->tau)) {
            ms_surv_rmst rm;
            rc = ms_surv_curve_rmst(&km, row->tau, &rm);
            row->rmst = rm.rmst;
        }
        ms_surv_curve_free(&km);
    }
    return rc;
}

/* The contrast of `arm` against the reference: Cox, log-rank, RMST difference. */
static int contrast(const arm_rows *ref, const arm_rows *arm, double tau, double alpha,
                    ms_stats_test_row *row)
{
    size_t n = ref->n + arm->n;
    double *time = malloc(n * sizeof *time);
    int *status = malloc(n * sizeof *status), *group = malloc(n * sizeof *group);
    ms_surv_data *sd = NULL;
    int rc = METASIM_E_NOMEM;
    if (!time || !status || !group)
        goto out;
    for (size_t i = 0; i < n; i++) {
        bool r = i < ref->n;
        size_t k = r ? i : i - ref->n;
        time[i] = r ? ref->time[k] : arm->time[k];
        status[i] = r ? ref->status[k] : arm->status[k];
        group[i] = !r;
    }
    if ((rc = ms_surv_data_create(time, status, group, n, &sd, NULL)) != 0)
        goto out;
    ms_surv_cox_fit cox;
    ms_surv_logrank_test lr;
    ms_surv_rmst_contrast rm;
    if ((rc = ms_surv_cox(sd, alpha, &cox)) != 0 || (rc = ms_surv_logrank(sd, &lr)) != 0 ||
        (rc = ms_surv_rmst_diff(sd, tau, alpha, &rm)) != 0)
        goto out;
    /* An arm without events makes the partial likelihood monotone: coxph() reports a huge or
     * tiny ratio with a warning ("coefficient may be infinite"); no number is stored instead. */
    bool estimable =
        ms_surv_data_events(sd, 0) > 0 && ms_surv_data_events(sd, 1) > 0 && !cox.maybe_infinite;
    if (estimable) {
        row->hr = cox.hr;
        row->hr_lower = cox.hr_lower;
        row->hr_upper = cox.hr_upper;
        row->hr_p = cox.p_wald;
    }
    row->logrank_chisq = lr.chisq;
    row->logrank_p = lr.p_value;
    row->rmst_diff = rm.diff;
    row->rmst_diff_se = rm.se;
    row->rmst_diff_lower = rm.lower;
    row->rmst_diff_upper = rm.upper;
out:
    ms_surv_data_destroy(sd);
    free(time);
    free(status);
    free(group);
    return rc;
}

/* The pseudo-observations of the restricted mean up to tau of one arm's n records. */
static int pseudo_values(const double *time, const int *status, size_t n, double tau, double alpha,
                         double *theta)
{
    ms_surv_data *sd = NULL;
    ms_surv_curve km = {0};
    int rc = ms_surv_data_create(time, status, NULL, n, &sd, NULL);
    if (rc == 0)
        rc = ms_surv_km(sd, 0, alpha, MS_SURV_CI_LOG, &km);
    if (rc == 0)
        rc = ms_surv_curve_rmst_pseudo(&km, tau, time, status, n, theta);
    ms_surv_curve_free(&km);
    ms_surv_data_destroy(sd);
    return rc;
}

/* The paired restricted-mean gain (trial_stats_internal.h): the mean of the differences of
 * pseudo-observations, with the standard error of a mean of n independent patients. */
static int rmst_gain(const arm_rows *ref, const arm_rows *arm, double tau, double alpha,
                     ms_stats_paired_row *row)
{
    size_t n = ref->n;
    if (!(tau > 0) || !isfinite(tau) || n == 0)
        return 0;
    double *theta_ref = malloc(n * sizeof *theta_ref), *theta_arm = malloc(n * sizeof *theta_arm);
    int rc = theta_ref && theta_arm ? 0 : METASIM_E_NOMEM;
    if (rc == 0)
        rc = pseudo_values(ref->time, ref->status, n, tau, alpha, theta_ref);
    if (rc == 0)
        rc = pseudo_values(arm->time, arm->status, n, tau, alpha, theta_arm);
    if (rc == 0) {
        double mean = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            mean += (theta_arm[i] - theta_ref[i]) / (double)n;
        for (size_t i = 0; i < n; i++) {
            double e = theta_arm[i] - theta_ref[i] - mean;
            ss += e * e;
        }
        double se = n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : NAN;
        double z = gsl_cdf_ugaussian_Pinv(1 - alpha / 2);
        row->rmst_gain = mean;
        row->rmst_gain_se = se;
        row->rmst_gain_lower = mean - z * se;
        row->rmst_gain_upper = mean + z * se;
    }
    free(theta_ref);
    free(theta_arm);
    return rc;
}

/* The paired effects of arm `a` against arm 0: rows are sorted by patient, so one pass pairs a
 * patient's two rows. */
static int paired_effects(const ms_stats_data *d, size_t a, double tau, double alpha,
                          const ms_stats_sink *sink)
{
    size_t cap = d->n ? d->n : 1;
    double *gain = malloc(cap * sizeof *gain);
    arm_rows ref = {malloc(cap * sizeof *ref.time), malloc(cap * sizeof *ref.status), 0};
    arm_rows arm = {malloc(cap * sizeof *arm.time), malloc(cap * sizeof *arm.status), 0};
    int rc = METASIM_E_NOMEM;
    if (!gain || !ref.time || !ref.status || !arm.time || !arm.status)
        goto out;
    size_t n = 0, up = 0, down = 0;
    double sum = 0;
    for (size_t i = 0; i < d->n;) {
        size_t j = i, k_ref = SIZE_MAX, k_arm = SIZE_MAX;
        for (; j < d->n && d->patient[j] == d->patient[i]; j++) {
            if (d->arm[j] == 0)
                k_ref = j;
            else if (d->arm[j] == a)
                k_arm = j;
        }
        i = j;
        if (k_ref == SIZE_MAX || k_arm == SIZE_MAX)
            continue;
        ref.time[n] = d->time[k_ref];
        ref.status[n] = d->status[k_ref];
        arm.time[n] = d->time[k_arm];
        arm.status[n] = d->status[k_arm];
        double g = arm.time[n] - ref.time[n];
        gain[n++] = g;
        sum += g;
        up += g > 0;
        down += g < 0;
    }
    ref.n = arm.n = n;
    rc = 0;
    if (n > 0 && sink->paired) {
        qsort(gain, n, sizeof *gain, by_value);
        ms_stats_paired_row row = {.arm = a,
                                   .n = n,
                                   .share_gain = (double)up / (double)n,
                                   .share_loss = (double)down / (double)n,
                                   .mean_gain = sum / (double)n,
                                   .median_gain = quantile7(gain, n, 0.5),
                                   .gain_q10 = quantile7(gain, n, 0.1),
                                   .gain_q90 = quantile7(gain, n, 0.9),
                                   .rmst_gain = NAN,
                                   .rmst_gain_se = NAN,
                                   .rmst_gain_lower = NAN,
                                   .rmst_gain_upper = NAN};
        rc = rmst_gain(&ref, &arm, tau, alpha, &row);
        if (rc == 0)
            rc = sink->paired(sink->user, &row);
    }
out:
    free(gain);
    free(ref.time);
    free(ref.status);
    free(arm.time);
    free(arm.status);
    return rc;
}

static int landmarks(const arm_rows *rows, size_t a, const ms_stats_sink *sink)
{
    ms_stats_landmark_row row = {.arm = a};
    size_t after[MS_STATS_LANDMARKS] = {0};
    for (size_t i = 0; i < rows->n; i++) {
        if (!rows->status[i])
            continue;
        row.events++;
        for (size_t k = 0; k < MS_STATS_LANDMARKS; k++)
            after[k] += rows->time[i] > ms_stats_landmark_years[k] * MS_STATS_DAYS_PER_YEAR;
    }
    for (size_t k = 0; k < MS_STATS_LANDMARKS; k++)
        row.share_after[k] = row.events ? (double)after[k] / (double)row.events : NAN;
    return sink->landmark ? sink->landmark(sink->user, &row) : 0;
}

int ms_stats_endpoint(const ms_stats_data *d, size_t n_arms, bool paired, double alpha,
                      const ms_stats_sink *sink)
{
    if (!d || !sink || n_arms == 0 || !(alpha > 0 && alpha < 1))
        return METASIM_E_ARG;
    for (size_t i = 0; i < d->n; i++)
        if (d->arm[i] >= n_arms || (i > 0 && d->patient[i] < d->patient[i - 1]))
            return METASIM_E_ARG;
    int rc = METASIM_E_NOMEM;
    arm_rows *rows = calloc(n_arms, sizeof *rows);
    if (!rows)
        return rc;
    size_t *count = calloc(n_arms, sizeof *count);
    if (!count)
        goto out;
    for (size_t i = 0; i < d->n; i++)
        count[d->arm[i]]++;
    for (size_t a = 0; a < n_arms; a++) {
        rows[a].time = malloc((count[a] ? count[a] : 1) * sizeof *rows[a].time);
        rows[a].status = malloc((count[a] ? count[a] : 1) * sizeof *rows[a].status);
        if (!rows[a].time || !rows[a].status)
            goto out;
    }
    for (size_t i = 0; i < d->n; i++) {
        arm_rows *r = &rows[d->arm[i]];
        r->time[r->n] = d->time[i];
        r->status[r->n++] = d->status[i];
    }
    /* tau: the earliest of the arms' last times. */
    double tau = INFINITY;
    for (size_t a = 0; a < n_arms; a++) {
        double last = -INFINITY;
        for (size_t i = 0; i < rows[a].n; i++)
            last = fmax(last, rows[a].time[i]);
        if (rows[a].n)
            tau = fmin(tau, last);
    }
    rc = 0;
    for (size_t a = 0; a < n_arms && rc == 0; a++) {
        if (rows[a].n == 0)
            continue;
        ms_surv_data *sd = NULL;
        rc = ms_surv_data_create(rows[a].time, rows[a].status, NULL, rows[a].n, &sd, NULL);
        ms_stats_test_row row = {.arm = a,
                                 .reference = a == 0,
                                 .n = rows[a].n,
                                 .hr = NAN,
                                 .hr_lower = NAN,
                                 .hr_upper = NAN,
                                 .hr_p = NAN,
                                 .logrank_chisq = NAN,
                                 .logrank_p = NAN,
                                 .rmst = NAN,
                                 .rmst_diff = NAN,
                                 .rmst_diff_se = NAN,
                                 .rmst_diff_lower = NAN,
                                 .rmst_diff_upper = NAN,
                                 .tau = tau};
        if (rc == 0) {
            row.events = ms_surv_data_events(sd, 0);
            rc = emit_curves(sd, a, alpha, sink, &row);
        }
        ms_surv_data_destroy(sd);
        if (rc == 0 && a > 0 && rows[0].n > 0 && tau > 0)
            rc = contrast(&rows[0], &rows[a], tau, alpha, &row);
        if (rc == 0 && sink->test)
            rc = sink->test(sink->user, &row);
        if (rc == 0 && paired && a > 0)
            rc = paired_effects(d, a, tau, alpha, sink);
        if (rc == 0)
            rc = landmarks(&rows[a], a, sink);
    }
out:
    for (size_t a = 0; a < n_arms; a++) {
        free(rows[a].time);
        free(rows[a].status);
    }
    free(rows);
    free(count);
    return rc;
}
