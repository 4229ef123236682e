/* The statistics tables of a virtual trial (docs/trials.md, docs/results.md): for one endpoint,
 * the Kaplan-Meier curve of every arm under both confidence transforms, a test row per arm
 * (size, events, median with its CI, and against the reference arm the Cox hazard ratio, the
 * log-rank test and the difference in restricted mean survival time), per-patient paired
 * effects with the paired restricted-mean gain (paired design), and the share of events after
 * 3, 5 and 10 years. Everything is
 * computed by survival.c; this file chooses what is compared with what and hands rows to a
 * sink, so it knows nothing of SQLite (src/io/results_stats.c stores the rows).
 *
 * The reference arm is arm 0 (the scenario's first arm, the control). */
#ifndef METASIM_TRIAL_STATS_INTERNAL_H
#define METASIM_TRIAL_STATS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trial/survival_internal.h"

/* One endpoint's rows: time from diagnosis (d) and status (1 event, 0 censored) of each
 * (patient, arm), sorted by patient; a patient has at most one row per arm. */
typedef struct ms_stats_data {
    size_t n;
    const uint32_t *patient;
    const uint32_t *arm; /* 0 .. n_arms - 1 */
    const double *time;
    const int *status;
} ms_stats_data;

/* Landmarks: the share of events later than these many years after diagnosis. */
#define MS_STATS_LANDMARKS 3
extern const double ms_stats_landmark_years[MS_STATS_LANDMARKS];

/* Days per year in the landmarks and in printed summaries (Julian years). */
#define MS_STATS_DAYS_PER_YEAR 365.25

typedef struct ms_stats_test_row {
    size_t arm;
    bool reference; /* this is the reference arm: the contrast fields are NaN */
    size_t n, events;
    ms_surv_median median;               /* with the CI of the log transform (R's default) */
    double hr, hr_lower, hr_upper, hr_p; /* Cox (Efron), arm against the reference; Wald p; NaN
                                            when not estimable: an arm without events, or a
                                            partial likelihood without finite maximum */
    double logrank_chisq, logrank_p;
    double rmst;                    /* the arm's restricted mean up to tau */
    double rmst_diff, rmst_diff_se; /* arm minus reference */
    double rmst_diff_lower, rmst_diff_upper;
    double tau;
} ms_stats_test_row;

/* Per-patient effects of an arm against the reference, over the patients that have both. The
 * gain of a patient is the difference of the observed times, arm minus reference: in the
 * paired design both arms of a patient share diagnosis and end of follow-up, so a censored time
 * is the same follow-up in both arms and the gain is the difference in event-free time within
 * follow-up (min(T_arm, C) - min(T_ref, C)), exact for every patient without imputation.
 *
 * The paired restricted-mean gain at tau (the tests' tau) is the mean over the patients of
 * d_i = theta_i(arm) - theta_i(ref), the difference of the patient's pseudo-observations of the
 * restricted mean in each arm (ms_surv_curve_rmst_pseudo()): d_i = min(T_arm, tau) -
 * min(T_ref, tau) when no patient is censored before tau, a censoring-weighted value otherwise.
 * Its mean is the unpaired RMST difference over the same patients; its standard error sd(d) /
 * sqrt(n) keeps the correlation of a patient's arms, which the unpaired one ignores. */
typedef struct ms_stats_paired_row {
    size_t arm;
    size_t n;
    double share_gain, share_loss;                     /* gain > 0, gain < 0 */
    double mean_gain, median_gain, gain_q10, gain_q90; /* quantiles as R's type 7 */
    /* The paired restricted-mean gain with its CI; NaN without a tau. */
    double rmst_gain, rmst_gain_se, rmst_gain_lower, rmst_gain_upper;
} ms_stats_paired_row;

typedef struct ms_stats_landmark_row {
    size_t arm;
    size_t events;
    double share_after[MS_STATS_LANDMARKS]; /* NaN without events */
} ms_stats_landmark_row;

/* Where the rows go. A callback returning nonzero stops the computation with that code. */
typedef struct ms_stats_sink {
    void *user;
    int (*km)(void *user, size_t arm, ms_surv_ci transform, const ms_surv_row *row);
    int (*test)(void *user, const ms_stats_test_row *row);
    int (*paired)(void *user, const ms_stats_paired_row *row);
    int (*landmark)(void *user, const ms_stats_landmark_row *row);
} ms_stats_sink;

/* Computes every table of one endpoint over `n_arms` arms at confidence level 1 - alpha and
 * sends the rows to `sink`, arm by arm in order. Arms without rows get no rows. tau, the
 * horizon of the restricted means, is the smallest over the arms with rows of the arm's
 * largest time, so that every curve reaches it. `paired` adds the paired effects. Returns 0,
 * METASIM_E_ARG (invalid rows), METASIM_E_NOMEM or a callback's code. */
int ms_stats_endpoint(const ms_stats_data *d, size_t n_arms, bool paired, double alpha,
                      const ms_stats_sink *sink);

#endif
