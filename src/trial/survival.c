/* Survival statistics of a virtual trial (survival_internal.h): Kaplan-Meier with Greenwood
 * confidence intervals, medians, restricted means, the log-rank test and a one-covariate Cox
 * model, replicating R's survival package formula by formula. Every function works on the
 * table of distinct times made by ms_surv_data_create(), the only place that sorts.
 *
 * References: Kaplan & Meier, JASA 53:457 (1958); Greenwood, Rep. Public Health Med. Subj. 33
 * (1926); Mantel, Cancer Chemother. Rep. 50:163 (1966); Cox, JRSS B 34:187 (1972); Efron, JASA
 * 72:557 (1977); Therneau & Grambsch, Modeling Survival Data (2000), ch. 2-3; the R sources
 * survfitKM.R and survfit_confint (survfit CIs), survmean() in print.survfit (medians and
 * restricted means), survdiff2.c (log-rank) and coxfit6.c (Cox). */
#include "trial/survival_internal.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>

#include "metasim/metasim.h"

struct ms_surv_data {
    size_t m;          /* distinct times */
    double *time;      /* m times, increasing */
    size_t *event[2];  /* events of each arm at each time */
    size_t *censor[2]; /* censorings of each arm at each time */
    size_t n[2], events[2];
};

/* One input record while sorting. */
typedef struct surv_rec {
    double time;
    unsigned char status, group;
} surv_rec;

static int rec_cmp(const void *pa, const void *pb)
{
    double a = ((const surv_rec *)pa)->time, b = ((const surv_rec *)pb)->time;
    return (a > b) - (a < b);
}

int ms_surv_data_create(const double *time, const int *status, const int *group, size_t n,
                        ms_surv_data **out, size_t *bad)
{
    if (!out)
        return METASIM_E_ARG;
    *out = NULL;
    if (n > 0 && (!time || !status))
        return METASIM_E_ARG;
    for (size_t i = 0; i < n; i++) {
        bool ok = isfinite(time[i]) && time[i] >= 0 && (status[i] == 0 || status[i] == 1) &&
                  (!group || group[i] == 0 || group[i] == 1);
        if (!ok) {
            if (bad)
                *bad = i;
            return METASIM_E_ARG;
        }
    }

    int rc = METASIM_E_NOMEM;
    surv_rec *rec = NULL;
    ms_surv_data *d = calloc(1, sizeof *d);
    if (!d || n > SIZE_MAX / sizeof *rec)
        goto out;
    rec = malloc((n ? n : 1) * sizeof *rec);
    if (!rec)
        goto out;
    for (size_t i = 0; i < n; i++) {
        rec[i].time = time[i];
        rec[i].status = (unsigned char)status[i];
        rec[i].group = (unsigned char)(group ? group[i] : 0);
    }
    qsort(rec, n, sizeof *rec, rec_cmp);

    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += i == 0 || rec[i].time != rec[i - 1].time;
    d->m = m;
    d->time = malloc((m ? m : 1) * sizeof *d->time);
    d->event[0] = calloc(4 * (m ? m : 1), sizeof(size_t));
    if (!d->time || !d->event[0])
        goto out;
    d->event[1] = d->event[0] + m;
    d->censor[0] = d->event[1] + m;
    d->censor[1] = d->censor[0] + m;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && rec[i].time != rec[i - 1].time)
            j++;
        d->time[j] = rec[i].time;
        unsigned g = rec[i].group;
        d->n[g]++;
        if (rec[i].status) {
            d->event[g][j]++;
            d->events[g]++;
        } else {
            d->censor[g][j]++;
        }
    }
    *out = d;
    d = NULL;
    rc = 0;
out:
    free(rec);
    ms_surv_data_destroy(d);
    return rc;
}

void ms_surv_data_destroy(ms_surv_data *d)
{
    if (!d)
        return;
    free(d->time);
    free(d->event[0]);
    free(d);
}

size_t ms_surv_data_n(const ms_surv_data *d, int arm)
{
    if (!d)
        return 0;
    if (arm == MS_SURV_POOLED)
        return d->n[0] + d->n[1];
    return arm == 0 || arm == 1 ? d->n[arm] : 0;
}

size_t ms_surv_data_events(const ms_surv_data *d, int arm)
{
    if (!d)
        return 0;
    if (arm == MS_SURV_POOLED)
        return d->events[0] + d->events[1];
    return arm == 0 || arm == 1 ? d->events[arm] : 0;
}

/* Events and censorings of `arm` (or both) at distinct time j. */
static size_t events_at(const ms_surv_data *d, int arm, size_t j)
{
    return arm == MS_SURV_POOLED ? d->event[0][j] + d->event[1][j] : d->event[arm][j];
}

static size_t censored_at(const ms_surv_data *d, int arm, size_t j)
{
    return arm == MS_SURV_POOLED ? d->censor[0][j] + d->censor[1][j] : d->censor[arm][j];
}

static bool valid_alpha(double alpha)
{
    return alpha > 0 && alpha < 1;
}

/* Phi^-1(1 - alpha/2), as R's qnorm(1 - (1 - conf.int)/2). */
static double z_two_sided(double alpha)
{
    return gsl_cdf_ugaussian_Pinv(1 - alpha / 2);
}

/* The upper tail of chi-square on 1 degree of freedom, R's pchisq(x, 1, lower.tail = FALSE). */
static double chisq1_q(double x)
{
    return isnan(x) ? NAN : gsl_cdf_chisq_Q(x, 1.0);
}

/* ---------------------------------------------------------------- Kaplan-Meier */

/* The pointwise interval of survfit_confint() (survival 3.x) with scale = 1 ("usual" lower
 * limit); se is the standard error of log S. */
static void km_interval(double s, double se, double z, ms_surv_ci ci, double *lower, double *upper)
{
    if (ci == MS_SURV_CI_LOG) {
        if (s == 0) {
            *lower = *upper = NAN;
            return;
        }
        *lower = exp(log(s) - z * se);
        *upper = fmin(exp(log(s) + z * se), 1.0);
        return;
    }
    if (s == 0 || s == 1) {
        *lower = *upper = NAN;
        return;
    }
    double se2 = z * se / log(s);
    *lower = exp(-exp(log(-log(s)) - se2));
    *upper = exp(-exp(log(-log(s)) + se2));
}

int ms_surv_km(const ms_surv_data *d, int arm, double alpha, ms_surv_ci ci, ms_surv_curve *km)
{
    if (!km)
        return METASIM_E_ARG;
    *km = (ms_surv_curve){.alpha = alpha, .ci = ci};
    if (!d || (arm != MS_SURV_POOLED && arm != 0 && arm != 1) || !valid_alpha(alpha) ||
        (ci != MS_SURV_CI_LOG && ci != MS_SURV_CI_LOG_LOG))
        return METASIM_E_ARG;

    size_t rows = 0;
    for (size_t j = 0; j < d->m; j++)
        rows += events_at(d, arm, j) + censored_at(d, arm, j) > 0;
    km->rows = malloc((rows ? rows : 1) * sizeof *km->rows);
    if (!km->rows)
        return METASIM_E_NOMEM;

    double z = z_two_sided(alpha);
    size_t risk = ms_surv_data_n(d, arm);
    km->n = risk;
    km->events = ms_surv_data_events(d, arm);
    double s = 1, greenwood = 0;
    size_t r = 0;
    for (size_t j = 0; j < d->m; j++) {
        size_t e = events_at(d, arm, j), c = censored_at(d, arm, j);
        if (e + c == 0)
            continue;
        if (e > 0) {
            /* survfitkm.c: S *= (n - d) / n; var(log S) += d / (n (n - d)), infinite once
             * everyone at risk has had the event. */
            double nr = (double)risk, de = (double)e;
            s *= (nr - de) / nr;
            greenwood = risk > e ? greenwood + de / (nr * (nr - de)) : INFINITY;
        }
        ms_surv_row *row = &km->rows[r++];
        row->time = d->time[j];
        row->n_risk = risk;
        row->n_event = e;
        row->n_censor = c;
        row->surv = s;
        row->se_log = sqrt(greenwood);
        row->std_err = s * row->se_log;
        km_interval(s, row->se_log, z, ci, &row->lower, &row->upper);
        risk -= e + c;
    }
    km->n_rows = r;
    return 0;
}

void ms_surv_curve_free(ms_surv_curve *km)
{
    if (!km)
        return;
    free(km->rows);
    km->rows = NULL;
    km->n_rows = 0;
}

enum { KM_SURV, KM_LOWER, KM_UPPER };

static double km_value(const ms_surv_row *row, int which)
{
    return which == KM_SURV ? row->surv : which == KM_LOWER ? row->lower : row->upper;
}

/* survmean()'s minmin(y, x) over one column of the curve (see ms_surv_curve_median()). */
static double km_minmin(const ms_surv_curve *km, int which)
{
    const double tol = sqrt(DBL_EPSILON); /* R: .Machine$double.eps^0.5 */
    size_t first = km->n_rows;
    for (size_t i = 0; i < km->n_rows; i++) {
        double y = km_value(&km->rows[i], which);
        if (!isnan(y) && y < 0.5 + tol) {
            first = i;
            break;
        }
    }
    if (first == km->n_rows)
        return NAN;
    double y1 = km_value(&km->rows[first], which), x1 = km->rows[first].time;
    if (fabs(y1 - 0.5) < tol) {
        for (size_t i = first + 1; i < km->n_rows; i++) {
            double y = km_value(&km->rows[i], which);
            if (!isnan(y) && y < y1)
                return (x1 + km->rows[i].time) / 2;
        }
    }
    return x1;
}

int ms_surv_curve_median(const ms_surv_curve *km, ms_surv_median *out)
{
    if (!km || !out || (km->n_rows > 0 && !km->rows))
        return METASIM_E_ARG;
    out->median = km_minmin(km, KM_SURV);
    out->lower = km_minmin(km, KM_LOWER);
    out->upper = km_minmin(km, KM_UPPER);
    return 0;
}

int ms_surv_curve_rmst(const ms_surv_curve *km, double tau, ms_surv_rmst *out)
{
    if (!km || !out || !isfinite(tau) || !(tau > 0) || (km->n_rows > 0 && !km->rows))
        return METASIM_E_ARG;
    out->tau = tau;
    if (km->n == 0) {
        out->rmst = out->se = NAN;
        return 0;
    }
    /* survmean() with start.time 0: rectangles between the curve's times up to tau (tau
     * appended), the first at height 1; then the variance sums, from the last time back, the
     * squared area to the right of t_i times the Greenwood term d_i / (n_i (n_i - d_i)). */
    size_t k = 0;
    while (k < km->n_rows && km->rows[k].time <= tau)
        k++;
    const ms_surv_row *row = km->rows;
    double mean = k ? row[0].time : tau;
    for (size_t i = 0; i < k; i++)
        mean += ((i + 1 < k ? row[i + 1].time : tau) - row[i].time) * row[i].surv;
    double right = 0, var = 0;
    for (size_t i = k; i-- > 0;) {
        right += ((i + 1 < k ? row[i + 1].time : tau) - row[i].time) * row[i].surv;
        size_t nr = row[i].n_risk, e = row[i].n_event;
        if (nr > e)
            var += right * right * ((double)e / ((double)nr * (double)(nr - e)));
    }
    out->rmst = mean;
    out->se = sqrt(var);
    return 0;
}

int ms_surv_curve_rmst_pseudo(const ms_surv_curve *km, double tau, const double *time,
                              const int *status, size_t n, double *theta)
{
    if (!km || !isfinite(tau) || !(tau > 0) || (km->n_rows > 0 && !km->rows) || n != km->n ||
        (n > 0 && (!time || !status || !theta)))
        return METASIM_E_ARG;
    if (n == 0)
        return 0;
    ms_surv_rmst rm;
    int rc = ms_surv_curve_rmst(km, tau, &rm);
    if (rc != 0)
        return rc;
    size_t k = 0;
    while (k < km->n_rows && km->rows[k].time <= tau)
        k++;
    /* area[j] = A_j; cum[j] = the sum over rows 0..j of A d / (Y (Y - d)). */
    double *area = malloc((k ? k : 1) * sizeof *area), *cum = malloc((k ? k : 1) * sizeof *cum);
    if (!area || !cum) {
        free(area);
        free(cum);
        return METASIM_E_NOMEM;
    }
    const ms_surv_row *row = km->rows;
    double right = 0;
    for (size_t j = k; j-- > 0;) {
        right += ((j + 1 < k ? row[j + 1].time : tau) - row[j].time) * row[j].surv;
        area[j] = right;
    }
    double sum = 0;
    for (size_t j = 0; j < k; j++) {
        double y = (double)row[j].n_risk, d = (double)row[j].n_event;
        if (d > 0 && y > d)
            sum += area[j] * d / (y * (y - d));
        cum[j] = sum;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* The last row at or before min(T_i, tau), by bisection. */
        double t = fmin(time[i], tau);
        size_t lo = 0, hi = k;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (row[mid].time <= t)
                lo = mid + 1;
            else
                hi = mid;
        }
        double deriv = 0;
        if (lo > 0) {
            size_t j = lo - 1;
            deriv = cum[j];
            if (status[i] && time[i] <= tau) {
                if (row[j].time != time[i]) {
                    rc = METASIM_E_ARG; /* not a record of this curve */
                    break;
                }
                double y = (double)row[j].n_risk, d = (double)row[j].n_event;
                if (y > d)
                    deriv -= area[j] / (y - d);
            }
        }
        theta[i] = rm.rmst + (double)n * deriv;
    }
    free(area);
    free(cum);
    return rc;
}

/* ---------------------------------------------------------------- two arms */

static bool two_arms(const ms_surv_data *d)
{
    return d && d->n[0] > 0 && d->n[1] > 0;
}

int ms_surv_logrank(const ms_surv_data *d, ms_surv_logrank_test *out)
{
    if (!out || !two_arms(d))
        return METASIM_E_ARG;
    /* survdiff2.c with rho = 0: at each event time, E_g += d n_g / n and the hypergeometric
     * variance of arm 1's events, d (n - d) / (n (n - 1)) n1 (1 - n1 / n). */
    double risk[2] = {(double)d->n[0], (double)d->n[1]};
    double expected[2] = {0, 0}, var = 0;
    for (size_t j = 0; j < d->m; j++) {
        double e0 = (double)d->event[0][j], e1 = (double)d->event[1][j];
        double deaths = e0 + e1, nr = risk[0] + risk[1];
        if (deaths > 0) {
            expected[0] += deaths * risk[0] / nr;
            expected[1] += deaths * risk[1] / nr;
            if (nr > 1) {
                double tmp = deaths * risk[1] * (nr - deaths) / (nr * (nr - 1));
                var += tmp - tmp * risk[1] / nr;
            }
        }
        risk[0] -= e0 + (double)d->censor[0][j];
        risk[1] -= e1 + (double)d->censor[1][j];
    }
    out->observed[0] = (double)d->events[0];
    out->observed[1] = (double)d->events[1];
    out->expected[0] = expected[0];
    out->expected[1] = expected[1];
    out->variance = var;
    double diff = out->observed[1] - expected[1];
    out->chisq = var > 0 ? diff * diff / var : NAN;
    out->p_value = chisq1_q(out->chisq);
    return 0;
}

/* One pass of coxfit6_iter() for x = arm: the Efron log partial likelihood at beta, its first
 * derivative (*u) and the information (*imat). Walks the times from the last so the risk sets
 * accumulate; a tied set of k deaths contributes k terms in which the dying are counted with
 * weights 1/k, 2/k, ..., 1 (Efron 1977). With binary x, the risk-weighted sum of x^2 equals that
 * of x, so the variance term is mean (1 - mean). */
static double cox_iter(const ms_surv_data *d, double beta, double *u, double *imat)
{
    double r = exp(beta), denom = 0, a = 0, loglik = 0, score = 0, info = 0;
    for (size_t j = d->m; j-- > 0;) {
        double c0 = (double)d->censor[0][j], c1 = (double)d->censor[1][j];
        double e0 = (double)d->event[0][j], e1 = (double)d->event[1][j];
        denom += c0 + c1 * r;
        a += c1 * r;
        if (e0 + e1 == 0)
            continue;
        double deaths = e0 + e1, denom2 = e0 + e1 * r, a2 = e1 * r;
        loglik += e1 * beta;
        score += e1;
        size_t k = d->event[0][j] + d->event[1][j];
        for (size_t i = 0; i < k; i++) {
            denom += denom2 / deaths;
            a += a2 / deaths;
            loglik -= log(denom);
            double mean = a / denom;
            score -= mean;
            info += (a - mean * a) / denom;
        }
    }
    *u = score;
    *imat = info;
    return loglik;
}

int ms_surv_cox(const ms_surv_data *d, double alpha, ms_surv_cox_fit *out)
{
    if (!out || !two_arms(d) || !valid_alpha(alpha))
        return METASIM_E_ARG;
    *out = (ms_surv_cox_fit){0};
    out->beta = out->se = out->z = out->p_wald = out->hr = out->hr_lower = out->hr_upper = NAN;
    out->loglik0 = out->loglik = out->lr_chisq = out->p_lr = out->score_chisq = NAN;
    out->p_score = NAN;

    /* coxfit6.c: eps 1e-9 on the relative change of the log likelihood, iter.max 20
     * (coxph.control()); a step that lowers the likelihood is pulled back towards the best
     * beta so far, harder each time. */
    const double eps = 1e-9;
    const int max_iter = 20;
    double u, imat;
    double loglik0 = cox_iter(d, 0, &u, &imat);
    out->loglik0 = loglik0;
    if (!(imat > 0) || !isfinite(loglik0))
        return 0; /* no event with both arms at risk: beta is not identified (R gives NA) */
    out->score_chisq = u * u / imat;
    out->p_score = chisq1_q(out->score_chisq);

    double beta = 0, best = loglik0, newbeta = u / imat, halving = 0, loglik = loglik0;
    int iter;
    bool converged = false;
    for (iter = 1; iter <= max_iter; iter++) {
        double newlk = cox_iter(d, newbeta, &u, &imat);
        bool finite = isfinite(u) && isfinite(imat) && isfinite(newlk);
        if (finite && fabs(1 - best / newlk) <= eps) {
            beta = newbeta;
            loglik = newlk;
            converged = true;
            break;
        }
        if (!finite || newlk < best) {
            halving++;
            newbeta = (newbeta + halving * beta) / (halving + 1.0);
        } else {
            halving = 0;
            best = newlk;
            beta = newbeta;
            newbeta = beta + u / imat;
        }
    }
    if (!converged) {
        iter = max_iter;
        loglik = cox_iter(d, beta, &u, &imat);
    }

    double var = 1 / imat, step = fabs(u * var);
    out->iterations = iter;
    out->converged = converged;
    /* coxph.fit's checks behind "coefficient may be infinite" (toler.inf = sqrt(eps)); when the
     * iterations ran out, R looks at the linear predictor instead (> 500). */
    out->maybe_infinite = converged ? !isfinite(u) || (step > eps && step > sqrt(eps) * fabs(beta))
                                    : !isfinite(step) || fabs(beta) > 500;
    out->beta = beta;
    out->se = sqrt(var);
    out->z = beta / out->se;
    out->p_wald = 2 * gsl_cdf_ugaussian_Q(fabs(out->z));
    double zq = z_two_sided(alpha);
    out->hr = exp(beta);
    out->hr_lower = exp(beta - zq * out->se);
    out->hr_upper = exp(beta + zq * out->se);
    out->loglik = loglik;
    out->lr_chisq = 2 * (loglik - loglik0);
    out->p_lr = chisq1_q(out->lr_chisq);
    return 0;
}

int ms_surv_rmst_diff(const ms_surv_data *d, double tau, double alpha, ms_surv_rmst_contrast *out)
{
    if (!out || !two_arms(d) || !isfinite(tau) || !(tau > 0) || !valid_alpha(alpha))
        return METASIM_E_ARG;
    for (int g = 0; g < 2; g++) {
        ms_surv_curve km;
        int rc = ms_surv_km(d, g, alpha, MS_SURV_CI_LOG, &km);
        if (rc == 0)
            rc = ms_surv_curve_rmst(&km, tau, &out->arm[g]);
        ms_surv_curve_free(&km);
        if (rc)
            return rc;
    }
    double z = z_two_sided(alpha);
    out->diff = out->arm[1].rmst - out->arm[0].rmst;
    out->se = sqrt(out->arm[0].se * out->arm[0].se + out->arm[1].se * out->arm[1].se);
    out->lower = out->diff - z * out->se;
    out->upper = out->diff + z * out->se;
    /* survRM2: pnorm(-|diff| / se) * 2; with se = 0 that is 0, or NaN for a zero difference. */
    if (out->se > 0)
        out->p_value = 2 * gsl_cdf_ugaussian_Q(fabs(out->diff) / out->se);
    else
        out->p_value = out->diff != 0 ? 0 : NAN;
    return 0;
}
