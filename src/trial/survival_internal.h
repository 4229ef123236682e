/* Survival statistics of a virtual trial: Kaplan-Meier curves with Greenwood confidence
 * intervals, median survival with its confidence interval, restricted mean survival time, the
 * log-rank test and a Cox model for the arm, each computed the way R's survival package
 * computes it (Therneau, survival 3.x: survfit, print.survfit, survdiff, coxph), so that a
 * trial's numbers can be checked against R to rounding error (tests/unit/test_survival.c).
 *
 * Input is one record per patient: time >= 0, status 1 for an event and 0 for censoring, and
 * optionally an arm 0 or 1. ms_surv_data_create() sorts the records once and keeps only the
 * table of distinct times with the events and censorings of each arm there, so every statistic
 * afterwards costs O(number of distinct times) and nothing is quadratic.
 *
 * Times are compared exactly: unlike R (survfit and coxph apply timefix = TRUE, which merges
 * times that differ by less than about 1e-8 relative), two times that differ in the last bit
 * are two distinct times. Undefined values (R's NA) are NaN.
 *
 * Nothing here prints or keeps global state; a table is immutable once made and may be read by
 * any number of threads at once. */
#ifndef METASIM_SURVIVAL_INTERNAL_H
#define METASIM_SURVIVAL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Selects the pooled data (both arms) where a function takes an arm. */
#define MS_SURV_POOLED (-1)

/* The table of distinct times of one data set (opaque). */
typedef struct ms_surv_data ms_surv_data;

/* Makes the table from `n` records: time[i] finite and >= 0, status[i] 0 or 1 (1 = event),
 * group[i] 0 or 1 or `group` NULL when there is a single arm (all records in arm 0). The arrays
 * are only read during the call. Returns 0 and sets *out (free with ms_surv_data_destroy()), or
 * METASIM_E_ARG for a NULL pointer or an invalid record (when `bad` is not NULL it receives the
 * index of the first invalid record), or METASIM_E_NOMEM. n = 0 gives an empty table. */
int ms_surv_data_create(const double *time, const int *status, const int *group, size_t n,
                        ms_surv_data **out, size_t *bad);
void ms_surv_data_destroy(ms_surv_data *d);

/* Records and events of arm 0 or 1, or of both with MS_SURV_POOLED; 0 for any other arm. */
size_t ms_surv_data_n(const ms_surv_data *d, int arm);
size_t ms_surv_data_events(const ms_surv_data *d, int arm);

/* ---------------------------------------------------------------- Kaplan-Meier */

/* The transform under which the pointwise confidence interval of S(t) is symmetric. With
 * z = Phi^-1(1 - alpha/2) and se = sqrt(sum_{t_i <= t} d_i / (n_i (n_i - d_i))) (the Greenwood
 * sum: the standard error of log S, R's survfit()$std.err), as in survival's survfit_confint():
 *   LOG:     S exp(-z se), min(1, S exp(z se)); NaN where S = 0.      R conf.type = "log"
 *   LOG_LOG: exp(-exp(log(-log S) - z se / log S)) and the same with +z se;
 *            NaN where S = 0 or S = 1.                                   R conf.type = "log-log"
 * (For LOG_LOG, se / log S is negative, so the first expression is the lower bound.) */
typedef enum ms_surv_ci { MS_SURV_CI_LOG, MS_SURV_CI_LOG_LOG } ms_surv_ci;

/* One row per distinct time at which the arm has an event or a censoring, as in survfit()'s
 * object and summary(fit, censored = TRUE); rows with n_event = 0 are censor-only times (where a
 * plot puts its ticks) and carry the previous row's estimate. A patient censored at t is at risk
 * at t: n_risk counts everyone with time >= t. */
typedef struct ms_surv_row {
    double time;
    size_t n_risk, n_event, n_censor;
    double surv;         /* prod_{t_i <= t} (1 - d_i / n_i) */
    double se_log;       /* Greenwood standard error of log S (above); +inf once S = 0 */
    double std_err;      /* Greenwood standard error of S: S se_log, as summary.survfit prints it
                            (NaN once S = 0, as in R: 0 times inf) */
    double lower, upper; /* confidence interval at level 1 - alpha (NaN where R gives NA) */
} ms_surv_row;

typedef struct ms_surv_curve {
    ms_surv_row *rows; /* n_rows rows by increasing time; owned, see ms_surv_curve_free() */
    size_t n_rows;
    size_t n;      /* records in the arm */
    size_t events; /* their events */
    double alpha;
    ms_surv_ci ci;
} ms_surv_curve;

/* Fills *km with the Kaplan-Meier estimate of arm 0 or 1 or MS_SURV_POOLED (R: survfit(Surv(time,
 * status) ~ group, conf.int = 1 - alpha, conf.type = ...), one stratum). alpha in (0, 1). Returns
 * 0, METASIM_E_ARG or METASIM_E_NOMEM; on failure *km is left empty (safe to free). */
int ms_surv_km(const ms_surv_data *d, int arm, double alpha, ms_surv_ci ci, ms_surv_curve *km);
/* Frees the rows and empties *km; km NULL or empty is fine. */
void ms_surv_curve_free(ms_surv_curve *km);

/* The median and its confidence interval as print.survfit() computes them (survival's
 * survmean(), internal function minmin): each is the first time at which the curve (for the
 * median), the lower bound (for the lower limit) or the upper bound (for the upper limit) is
 * < 0.5 + sqrt(DBL_EPSILON), ignoring NaN bounds; when the value there is 0.5 within that
 * tolerance and the curve later drops below it, the result is the midpoint between that time and
 * the time of the drop. NaN where the curve or bound never gets to 0.5 (R's NA). */
typedef struct ms_surv_median {
    double median, lower, upper;
} ms_surv_median;

int ms_surv_curve_median(const ms_surv_curve *km, ms_surv_median *out);

/* Restricted mean survival time up to tau, the area under the Kaplan-Meier curve on [0, tau]
 * (the curve is carried flat past its last time), and its standard error as print.survfit(fit,
 * rmean = tau) computes them (survival's survmean()):
 *   se^2 = sum_{t_i <= tau} A_i^2 d_i / (n_i (n_i - d_i)),  A_i = integral_{t_i}^{tau} S(u) du,
 * a term being 0 where n_i = d_i. survRM2's rmst1() uses the same formula. NaN for an empty arm. */
typedef struct ms_surv_rmst {
    double tau, rmst, se;
} ms_surv_rmst;

/* tau finite and > 0. Returns 0 or METASIM_E_ARG. */
int ms_surv_curve_rmst(const ms_surv_curve *km, double tau, ms_surv_rmst *out);

/* Pseudo-observations of the restricted mean up to tau (Andersen, Hansen & Klein, Lifetime Data
 * Anal 10:335 (2004); Andersen & Perme, Stat Methods Med Res 19:71 (2010)) in their
 * infinitesimal-jackknife form (Efron, The Jackknife, the Bootstrap and Other Resampling Plans,
 * SIAM 1982, ch. 6): theta_i = mu + n dmu/dw_i, where mu is the restricted mean of `km` and
 * dmu/dw_i its derivative with respect to the weight of record i at weights 1. Differentiating
 * S = prod (1 - d_j / Y_j) under the integral gives, with A_j = integral_{t_j}^{tau} S(u) du,
 *   dmu/dw_i = sum_{t_j <= min(T_i, tau)} A_j d_j / (Y_j (Y_j - d_j))
 *              - status_i [T_i <= tau] A(T_i) / (Y(T_i) - d(T_i)),
 * terms with Y_j = d_j being 0 (A_j is 0 there). The theta_i average to mu exactly; without
 * censoring before tau the estimate is the mean of min(T_i, tau), so theta_i = min(T_i, tau);
 * with censoring they are the censoring-weighted values whose sample variance over n is the
 * variance of mu (to first order, as Greenwood's). `time` and `status` are the n records the
 * curve was made from (each time must be one of its rows' times). tau finite and > 0. Returns 0,
 * METASIM_E_ARG or METASIM_E_NOMEM. */
int ms_surv_curve_rmst_pseudo(const ms_surv_curve *km, double tau, const double *time,
                              const int *status, size_t n, double *theta);

/* ---------------------------------------------------------------- two arms */

/* The two-arm functions below return METASIM_E_ARG when an arm has no records. */

/* The log-rank test, R's survdiff(Surv(time, status) ~ group) with rho = 0 (Mantel-Haenszel):
 * observed and expected events per arm, the hypergeometric variance
 *   V = sum_t d (n0 / n) (n1 / n) (n - d) / (n - 1)        (terms with n = 1 are 0),
 * chisq = (O1 - E1)^2 / V on 1 degree of freedom and its upper-tail p-value. chisq and p_value are
 * NaN when V = 0 (no informative event). */
typedef struct ms_surv_logrank_test {
    double observed[2], expected[2];
    double variance, chisq, p_value;
} ms_surv_logrank_test;

int ms_surv_logrank(const ms_surv_data *d, ms_surv_logrank_test *out);

/* The Cox proportional-hazards model h(t) = h0(t) exp(beta x) with x = arm (0 or 1), Efron's
 * approximation for tied event times, fitted as R's coxph(Surv(time, status) ~ group, ties =
 * "efron") fits it (survival's coxfit6.c): Newton-Raphson from beta = 0, stopping when the
 * log partial likelihood changes by at most 1e-9 relative, at most 20 iterations, with R's step
 * halving when the likelihood decreases. The hazard ratio is arm 1 against arm 0.
 *   se = 1 / sqrt(I(beta)); CI exp(beta -+ z se), z = Phi^-1(1 - alpha/2); Wald p = 2 Q(|beta|/se)
 *   lr_chisq = 2 (loglik - loglik0);   score_chisq = U(0)^2 / I(0)   (coxph's "score (logrank)"
 *   test: with ties it differs slightly from survdiff's, as the information is Efron's).
 * maybe_infinite repeats coxph's warning "coefficient may be infinite" (an arm without events):
 * the final Newton step |U/I| exceeds both 1e-9 and sqrt(1e-9) |beta|. Without an event while
 * both arms are at risk, beta is not identified (R reports NA): loglik0 is set, every other
 * number is NaN and converged is false. */
typedef struct ms_surv_cox_fit {
    double beta, se, z, p_wald;
    double hr, hr_lower, hr_upper;
    double loglik0, loglik; /* log partial likelihood at beta = 0 and at beta */
    double lr_chisq, p_lr;
    double score_chisq, p_score;
    int iterations;
    bool converged;
    bool maybe_infinite;
} ms_surv_cox_fit;

/* alpha in (0, 1). Returns 0 or METASIM_E_ARG. */
int ms_surv_cox(const ms_surv_data *d, double alpha, ms_surv_cox_fit *out);

/* The difference in restricted mean survival time up to tau, arm 1 minus arm 0, as survRM2's
 * rmst2() reports it unadjusted: diff +- z se with se^2 the sum of the arms' variances
 * (ms_surv_curve_rmst()), and the two-sided normal p-value. Unlike rmst2(), which refuses a tau
 * beyond the last time of either arm, a curve is carried flat to tau as print.survfit() does;
 * the caller chooses a tau both arms reach. tau finite and > 0; alpha in (0, 1). Returns 0,
 * METASIM_E_ARG or METASIM_E_NOMEM. */
typedef struct ms_surv_rmst_contrast {
    ms_surv_rmst arm[2];
    double diff, se, lower, upper, p_value;
} ms_surv_rmst_contrast;

int ms_surv_rmst_diff(const ms_surv_data *d, double tau, double alpha, ms_surv_rmst_contrast *out);

#endif
