/* Unit tests of cohorts (src/model/cohort.c): each patient's subtype and drawn values against
 * their distributions, the values reaching the patient's model, reproducibility per patient,
 * forks sharing the patient's model, and a patient whose values break a rule.
 *
 * Distributions are checked by the one-sample Kolmogorov-Smirnov statistic of N = 4000 patients
 * against the exact (truncated) CDF, at the critical value of false alarm rate 1e-4: the limit
 * law P(sqrt(N) D > x) ~ 2 exp(-2 x^2) gives x = sqrt(ln(2 / 1e-4) / 2) = 2.2255, so the bound
 * is 2.2255 / sqrt(N) = 0.0352. Subtype shares are checked to 5 binomial standard errors,
 * sqrt(p (1 - p) / N) (two-sided normal tail 5.7e-7). Seeds are fixed. */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "model/model_internal.h"
#include "unit_test.h"

#define N_PATIENTS 4000

static const char base[] = "scenario: {name: cohort, seed: 3}\n"
                           "time: {horizon: 2 y}\n"
                           "sites:\n"
                           "  breast:\n"
                           "    growth: gompertz\n"
                           "    capacity: 1e12\n"
                           "    division: {cycling: 0.25 /d}\n"
                           "    death: {cycling: 0.24 /d}\n"
                           "  bone:\n"
                           "    blood_flow: 5 %\n"
                           "    colonisation: 2e-7\n"
                           "    division: {cycling: 0.2 /d}\n"
                           "    death: {cycling: 0.19 /d, dormant: 0.0005 /d}\n"
                           "  lung:\n"
                           "    blood_flow: 60 %\n"
                           "    colonisation: 1e-7\n"
                           "    division: {cycling: 0.2 /d}\n"
                           "    death: {cycling: 0.19 /d}\n"
                           "primary: {site: breast}\n";

static metasim_model_t *load(const char *cohort)
{
    size_t len = strlen(base) + strlen(cohort) + 1;
    char *text = malloc(len);
    ck_assert_ptr_nonnull(text);
    snprintf(text, len, "%s%s", base, cohort);
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("cohort.yaml", text, strlen(text), &m);
    ck_assert_msg(rc == 0, "%s", metasim_model_errmsg(m));
    free(text);
    return m;
}

/* The value of `path` that patient model `pm` was given (NAN when it has none). */
static double covariate(const metasim_model_t *pm, const char *path)
{
    for (size_t k = 0; k < metasim_model_covariate_count(pm); k++) {
        metasim_covariate_t c;
        ck_assert_int_eq(metasim_model_covariate(pm, k, &c), 0);
        if (strcmp(c.path, path) == 0)
            return c.value;
    }
    return NAN;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sup |F_n - F| of a sample (sorted here) against a continuous CDF. */
static double ks(double *x, size_t n, double (*cdf)(double, const double *), const double *theta)
{
    qsort(x, n, sizeof *x, by_value);
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double f = cdf(x[i], theta);
        double lo = f - (double)i / (double)n, hi = (double)(i + 1) / (double)n - f;
        d = fmax(d, fmax(lo, hi));
    }
    return d;
}

static const double ks_bound = 2.2255 / 63.245553203367585; /* 2.2255 / sqrt(4000) */

/* theta: {median, omega, lower, upper} of a lognormal truncated to [lower, upper]. */
static double lognormal_cdf(double x, const double *t)
{
    double a = t[2] > 0 ? gsl_cdf_lognormal_P(t[2], log(t[0]), t[1]) : 0;
    double b = isfinite(t[3]) ? gsl_cdf_lognormal_P(t[3], log(t[0]), t[1]) : 1;
    return (gsl_cdf_lognormal_P(x, log(t[0]), t[1]) - a) / (b - a);
}

/* theta: {mean, sd, lower, upper} of a normal truncated to [lower, upper]. */
static double normal_cdf(double x, const double *t)
{
    double a = gsl_cdf_gaussian_P(t[2] - t[0], t[1]), b = gsl_cdf_gaussian_P(t[3] - t[0], t[1]);
    return (gsl_cdf_gaussian_P(x - t[0], t[1]) - a) / (b - a);
}

static double uniform_cdf(double x, const double *t)
{
    return (x - t[0]) / (t[1] - t[0]);
}

START_TEST(test_distributions)
{
    metasim_model_t *m = load(
        "patient: {weight: 70 kg}\n"
        "cohort:\n"
        "  subtypes:\n"
        "    fast: {share: 30 %, parameters: [{path: sites.breast.division.cycling, value: 0.3 "
        "/d}]}\n"
        "    slow: {share: 70 %}\n"
        "  parameters:\n"
        "    - {path: patient.weight, distribution: lognormal, cv: 20 %, lower: 50 kg}\n"
        "    - {path: sites.bone.colonisation, distribution: uniform, lower: 1e-7, upper: 4e-7}\n"
        "    - {path: sites.breast.division.cycling, distribution: normal, cv: 10 %, lower: 0.24 "
        "/d, upper: 0.34 /d}\n"
        "    - {path: sites.lung.colonisation, distribution: lognormal, value: 1e-6, cv: 150 %, "
        "upper: 2e-6}\n");
    ck_assert_int_eq(metasim_model_cohort_varies(m), 1);
    ck_assert_uint_eq(metasim_model_subtype_count(m), 2);
    ck_assert_str_eq(metasim_model_subtype_name(m, 1), "slow");
    static double weight[N_PATIENTS], bone[N_PATIENTS], lung[N_PATIENTS];
    static double fast[N_PATIENTS], slow[N_PATIENTS];
    size_t n_fast = 0, n_slow = 0;
    for (unsigned p = 0; p < N_PATIENTS; p++) {
        metasim_model_t *pm = NULL;
        ck_assert_int_eq(metasim_model_patient(m, 11, p, &pm), 0);
        ck_assert_uint_eq(metasim_model_covariate_count(pm), 4);
        weight[p] = covariate(pm, "patient.weight");
        bone[p] = covariate(pm, "sites.bone.colonisation");
        lung[p] = covariate(pm, "sites.lung.colonisation");
        double division = covariate(pm, "sites.breast.division.cycling");
        /* The drawn values are the patient model's own. */
        ck_assert_double_eq(pm->sites[0].division[0], division);
        ck_assert_double_eq(pm->sites[1].colonisation, bone[p]);
        ck_assert_double_eq_tol(pm->weight, weight[p] / 1e6, 1e-12 * pm->weight);
        if (strcmp(metasim_model_patient_subtype(pm), "fast") == 0)
            fast[n_fast++] = division;
        else
            slow[n_slow++] = division;
        metasim_model_destroy(pm);
    }
    /* Weight: lognormal of median 70 kg, omega^2 = ln(1 + 0.2^2), truncated below at 50 kg. */
    double w[] = {70e6, sqrt(log1p(0.04)), 50e6, INFINITY};
    ck_assert_double_le(ks(weight, N_PATIENTS, lognormal_cdf, w), ks_bound);
    double u[] = {1e-7, 4e-7};
    ck_assert_double_le(ks(bone, N_PATIENTS, uniform_cdf, u), ks_bound);
    double l[] = {1e-6, sqrt(log1p(2.25)), 0, 2e-6};
    ck_assert_double_le(ks(lung, N_PATIENTS, lognormal_cdf, l), ks_bound);
    /* Subtypes: share 0.3 to 5 SE; each subtype's division is a normal around its own typical
     * value (the subtype's 0.3 /d, or the scenario's 0.25 /d), sd 10 % of it, truncated. */
    double se = sqrt(0.3 * 0.7 / N_PATIENTS);
    ck_assert_double_le(fabs((double)n_fast / N_PATIENTS - 0.3), 5 * se);
    double tf[] = {0.3, 0.03, 0.24, 0.34}, ts[] = {0.25, 0.025, 0.24, 0.34};
    ck_assert_double_le(ks(fast, n_fast, normal_cdf, tf), 2.2255 / sqrt((double)n_fast));
    ck_assert_double_le(ks(slow, n_slow, normal_cdf, ts), 2.2255 / sqrt((double)n_slow));
    metasim_model_destroy(m);
}
END_TEST

/* A patient's values depend on (seed, patient) only; a simulation runs them, and its forks
 * share them after the original is gone. */
START_TEST(test_patient_model_in_simulations)
{
    metasim_model_t *m = load("arms: {control: {lines: []}}\n"
                              "cohort:\n"
                              "  parameters:\n"
                              "    - {path: sites.breast.death.cycling, distribution: uniform, "
                              "lower: 0.1 /d, upper: 0.2 /d}\n");
    metasim_model_t *a = NULL, *b = NULL, *c = NULL;
    ck_assert_int_eq(metasim_model_patient(m, 5, 7, &a), 0);
    ck_assert_int_eq(metasim_model_patient(m, 5, 7, &b), 0);
    ck_assert_int_eq(metasim_model_patient(m, 5, 8, &c), 0);
    double va = covariate(a, "sites.breast.death.cycling");
    ck_assert_double_eq(va, covariate(b, "sites.breast.death.cycling"));
    ck_assert_double_ne(va, covariate(c, "sites.breast.death.cycling"));
    ck_assert_ptr_null(metasim_model_patient_subtype(a));
    /* A patient model is not itself a population. */
    metasim_model_t *d = NULL;
    ck_assert_int_eq(metasim_model_patient(a, 5, 7, &d), METASIM_E_ARG);
    ck_assert_ptr_null(d);

    metasim_sim_options_t o = {.seed = 5, .patient = 7, .verify = 1};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    const metasim_model_t *own = metasim_sim_model(s);
    ck_assert_ptr_ne(own, m);
    ck_assert_double_eq(covariate(own, "sites.breast.death.cycling"), va);
    ck_assert_double_eq(own->sites[0].death[0], va);
    ck_assert_int_ge(metasim_sim_run(s, 30, 0), 0);
    metasim_sim_t *copy = NULL;
    ck_assert_int_eq(metasim_sim_fork(s, 1, NULL, &copy), 0);
    ck_assert_ptr_eq(metasim_sim_model(copy), own);
    metasim_sim_destroy(s); /* the copy keeps the patient's model alive */
    ck_assert_int_ge(metasim_sim_run(copy, 60, 0), 0);
    ck_assert_double_eq(metasim_sim_model(copy)->sites[0].death[0], va);
    metasim_sim_destroy(copy);
    metasim_model_destroy(a);
    metasim_model_destroy(b);
    metasim_model_destroy(c);
    metasim_model_destroy(m);
}
END_TEST

/* A scenario whose patients do not differ runs the population's model itself. */
START_TEST(test_no_cohort)
{
    metasim_model_t *m = load("");
    ck_assert_int_eq(metasim_model_cohort_varies(m), 0);
    metasim_sim_options_t o = {.seed = 5, .patient = 7};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    ck_assert_ptr_eq(metasim_sim_model(s), m);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* Blood flows of bone and lung that may add up to more than 1: a patient whose draw does is
 * refused with the patient, its values and the rule; the others run. */
START_TEST(test_patient_breaks_rule)
{
    metasim_model_t *m = load("cohort:\n"
                              "  parameters:\n"
                              "    - {path: sites.lung.blood_flow, distribution: uniform, "
                              "lower: 50 %, upper: 100 %}\n");
    unsigned refused = 0, accepted = 0;
    for (unsigned p = 0; p < 40; p++) {
        metasim_model_t *pm = NULL;
        int rc = metasim_model_patient(m, 1, p, &pm);
        ck_assert_ptr_nonnull(pm);
        double lung = covariate(pm, "sites.lung.blood_flow");
        if (lung + 0.05 > 1 + 1e-9) {
            ck_assert_int_eq(rc, METASIM_E_INVALID);
            const char *msg = metasim_model_errmsg(pm);
            ck_assert_msg(strstr(msg, "patient") && strstr(msg, "sites.lung.blood_flow = ") &&
                              strstr(msg, "blood"),
                          "%s", msg);
            metasim_sim_options_t o = {.seed = 1, .patient = p};
            metasim_sim_t *s = NULL;
            ck_assert_int_eq(metasim_sim_create(m, &o, &s), METASIM_E_INVALID);
            ck_assert_ptr_null(s);
            refused++;
        } else {
            ck_assert_int_eq(rc, 0);
            accepted++;
        }
        metasim_model_destroy(pm);
    }
    /* P(refused) = 0.1 per patient: both kinds occur among 40 (each fails with p < 0.015). */
    ck_assert_uint_gt(refused, 0);
    ck_assert_uint_gt(accepted, 0);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("cohort");
    TCase *tc = tcase_create("cohort");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_distributions);
    tcase_add_test(tc, test_patient_model_in_simulations);
    tcase_add_test(tc, test_no_cohort);
    tcase_add_test(tc, test_patient_breaks_rule);
    suite_add_tcase(s, tc);
    return s;
}
