/*
 * Therapy against theory (label stats). A saturating cytotoxic drug adds a constant kill rate
 * k to the death rate from the first dose, so a population of n0 cells with division b and
 * death d + k > b is a subcritical birth-death process: its extinction time T has
 * P(T <= t) = alpha(t)^n0 with alpha(t) = D (E - 1) / (b E - D), D = d + k, E = e^{(b - D) t}
 * (Kendall 1948). Fixed seeds; patients 0..M-1 are independent replicates.
 */
#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "unit_test.h"

enum { RUNS = 2000, N0 = 50 };
static const double B = 0.5, D = 0.1 + 1.0; /* division; death plus the drug's kill */

static double cdf(double t)
{
    double e = exp((B - D) * t);
    return pow(D * (e - 1) / (B * e - D), N0);
}

static double survival(double t, void *unused)
{
    (void)unused;
    return 1 - cdf(t);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The drug's concentration (1000 mg/L, half-life a million days) is 1e12 times its EC50, so
 * its kill is 1 /d to 1e-12 from the dose at diagnosis, which is at t = 0 (the tumour starts
 * above its detection size; there is no surgery). */
#define SCENARIO(exact_below)                                                                      \
    "scenario: {name: kill}\ntime: {horizon: 400 d}\n"                                             \
    "sites: {t: {division: {cycling: 0.5}, death: {cycling: 0.1}}}\n"                              \
    "primary: {site: t, initial_cells: 50, detection_cells: 10}\n"                                 \
    "clinic: {lethal_cells: 1e15}\n"                                                               \
    "drugs: {k: {pk: {half_life: 1e6 d, volume: 1 L},"                                             \
    " effects: [{target: death, max_kill: 1 /d, ec50: 1e-9 mg/L}]}}\n"                             \
    "regimens: {once: {doses: [{drug: k, amount: 1000 mg}]}}\n"                                    \
    "arms: {on: {lines: [{regimen: once, start: diagnosis}]}}\n"                                   \
    "engine: {exact_below: " exact_below "}\n"

START_TEST(test_eradication_time)
{
    const char *yaml[] = {SCENARIO("1e300"), SCENARIO("10")};
    const char *name[] = {"exact", "hybrid"};
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    gsl_function f = {survival, NULL};
    double mean_t, err;
    gsl_integration_qagiu(&f, 0, 1e-12, 1e-10, 1000, w, &mean_t, &err);
    gsl_integration_workspace_free(w);
    for (int e = 0; e < 2; e++) {
        metasim_model_t *m = NULL;
        ck_assert_int_eq(metasim_model_load_string("kill.yaml", yaml[e], strlen(yaml[e]), &m), 0);
        static double t[RUNS];
        double sum = 0, sum2 = 0;
        for (unsigned i = 0; i < RUNS; i++) {
            metasim_sim_options_t o = {.seed = 77 + (unsigned)e, .patient = i, .arm = 1};
            metasim_sim_t *s = NULL;
            ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
            ck_assert_int_eq(metasim_sim_run(s, 400, 0), METASIM_STOP_EXTINCT);
            t[i] = metasim_sim_time(s);
            sum += t[i];
            sum2 += t[i] * t[i];
            metasim_sim_destroy(s);
        }
        /* One-sample Kolmogorov-Smirnov against alpha(t)^n0; critical value at a false-alarm
         * rate of 1e-4: sqrt(-ln(5e-5) / 2) / sqrt(n) = 2.225 / sqrt(n). */
        qsort(t, RUNS, sizeof t[0], by_value);
        double ks = 0;
        for (int i = 0; i < RUNS; i++) {
            double c = cdf(t[i]);
            ks = fmax(ks, fmax(fabs((i + 1.0) / RUNS - c), fabs(c - (double)i / RUNS)));
        }
        double crit = sqrt(-log(5e-5) / 2) / sqrt(RUNS);
        double mean = sum / RUNS, sd = sqrt((sum2 - RUNS * mean * mean) / (RUNS - 1));
        double tol = 5 * sd / sqrt(RUNS); /* 5 SE of the sample mean */
        printf("stats: %-6s eradication time: KS %.4f (critical %.4f); mean %.4f d vs %.4f "
               "(tol %.4f)\n",
               name[e], ks, crit, mean, mean_t, tol);
        ck_assert_double_lt(ks, crit);
        ck_assert_double_le(fabs(mean - mean_t), tol);
        metasim_model_destroy(m);
    }
}
END_TEST

/* Without the drug (arm 0, untreated) the same tumour grows: the arm matters. */
START_TEST(test_untreated_grows)
{
    const char *yaml = SCENARIO("10");
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_string("kill.yaml", yaml, strlen(yaml), &m), 0);
    ck_assert_uint_eq(metasim_model_arm(m, "on"), 1);
    ck_assert_uint_eq(metasim_model_arm(m, "off"), 0);
    int grown = 0;
    for (unsigned i = 0; i < 50; i++) {
        metasim_sim_options_t o = {.seed = 5, .patient = i};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        grown += metasim_sim_run(s, 30, 0) == METASIM_STOP_TIME;
        metasim_sim_destroy(s);
    }
    /* Untreated, 50 cells at b = 0.5, d = 0.1 die out with probability 0.2^50: all grow. */
    ck_assert_int_eq(grown, 50);
    metasim_sim_options_t o = {.seed = 5, .arm = 2};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), METASIM_E_ARG); /* no second arm */
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("therapy");
    TCase *tc = tcase_create("therapy");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_eradication_time);
    tcase_add_test(tc, test_untreated_grows);
    suite_add_tcase(s, tc);
    return s;
}
