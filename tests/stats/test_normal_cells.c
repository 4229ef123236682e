/*
 * Untransformed cells seed the lung (label stats; docs/studies/normal_cells.md), after
 * Podsypanina et al., Science 2008, on the built-in normal_cells_lung scenario: mammary cells
 * with a doxycycline-inducible oncogene, injected into the tail vein, under three arms: no
 * doxycycline, doxycycline from the injection, doxycycline from 6 weeks after it (8 weeks
 * each). MICE mice per arm, mouse i of arm a being patient i of the scenario's seed under arm a
 * (the arm is assigned at time 0, so the arms are independent groups).
 *
 * Per mouse: the untransformed cells alive in the lung at 6 weeks (the late arm's start), and
 * at 16 weeks the lung tumours, lesions of at least TUMOUR cells (about 0.1 mm^3).
 *
 * Claims:
 *   (a) without doxycycline no mouse has a tumour: the oncogene never turns on, so any tumour
 *       is an error (exact);
 *   (b) untransformed cells persist: without doxycycline the mean number alive in the lung
 *       at 6 weeks equals N0 c e^{-delta t} (N0 injected, c the lung's colonisation, delta
 *       their death rate, t = 42 d), within 5 standard errors of the mean (the sample SD over
 *       MICE mice / sqrt(MICE); two-sided normal false-alarm rate 6e-7);
 *   (c) doxycycline from the injection: more mice with tumours than without, Fisher's exact
 *       test one-sided p < 1e-4;
 *   (d) doxycycline from 6 weeks after the injection, when the cells have sat untransformed in
 *       the lung for 6 weeks: the same, p < 1e-4 (the paper's finding);
 *   (e) fewer tumours per mouse after the wait (cells died untransformed meanwhile): the
 *       difference of the arms' means exceeds 5 standard errors of the difference
 *       (sqrt(s1^2/n1 + s2^2/n2)).
 * The figures are printed for the study page. Nothing is tuned to pass.
 */
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metasim/metasim.h"
#include "unit_test.h"

enum { MICE = 150, ARMS = 3 };
#define LEVEL 1e-4
#define TUMOUR 1e5
#define WAIT 42.0 /* d: 6 weeks */
/* The scenario's values (scenarios/normal_cells_lung.yaml), for claim (b). */
#define INJECTED 20000.0
#define COLONISATION 0.005
#define NORMAL_DEATH 5e-3

/* Lung lesions of at least `cells` cells. */
static int lung_lesions(const metasim_sim_t *s, double cells)
{
    int n = 0;
    for (size_t i = 0; i < metasim_sim_lesions(s); i++) {
        metasim_lesion_info_t info;
        ck_assert_int_eq(metasim_sim_lesion_info(s, i, &info), 0);
        n += strcmp(info.site, "lung") == 0 && info.cells >= cells;
    }
    return n;
}

/* One-sided Fisher exact test: P(X >= x) for the first group's x of n1 with events, given
 * the margins (x + y events over n1 + n2). */
static double fisher_greater(unsigned x, unsigned n1, unsigned y, unsigned n2)
{
    double p = 0;
    for (unsigned k = x; k <= x + y && k <= n1; k++)
        p += gsl_ran_hypergeometric_pdf(k, n1, n2, x + y);
    return p;
}

START_TEST(test_normal_cells)
{
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_builtin("normal_cells_lung", &m), 0);
    unsigned long long seed = 0;
    ck_assert(metasim_model_seed(m, &seed));
    double horizon = metasim_model_horizon(m);
    static const char *const names[ARMS] = {"no_dox", "dox_at_injection", "dox_after_6_weeks"};
    unsigned with[ARMS] = {0}; /* mice with a tumour */
    double tumours[ARMS] = {0}, tumours2[ARMS] = {0}, normal = 0, normal2 = 0;
    for (int a = 0; a < ARMS; a++) {
        unsigned arm = metasim_model_arm(m, names[a]);
        ck_assert_uint_gt(arm, 0);
        for (unsigned i = 0; i < MICE; i++) {
            metasim_sim_options_t o = {.seed = seed, .patient = i, .arm = arm};
            metasim_sim_t *s = NULL;
            ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
            ck_assert_int_eq(metasim_sim_run(s, WAIT, 0), METASIM_STOP_TIME);
            if (a == 0) {
                double alive = lung_lesions(s, 1);
                normal += alive;
                normal2 += alive * alive;
            }
            int rc = metasim_sim_run(s, horizon, 0);
            ck_assert_msg(rc == METASIM_STOP_TIME || rc == METASIM_STOP_DEATH ||
                              rc == METASIM_STOP_EXTINCT,
                          "%s mouse %u: %d", names[a], i, rc);
            double t = lung_lesions(s, TUMOUR);
            with[a] += t > 0;
            tumours[a] += t;
            tumours2[a] += t * t;
            metasim_sim_destroy(s);
        }
    }
    double mean[ARMS], sd[ARMS];
    for (int a = 0; a < ARMS; a++) {
        mean[a] = tumours[a] / MICE;
        sd[a] = sqrt((tumours2[a] - MICE * mean[a] * mean[a]) / (MICE - 1));
    }
    double normal_mean = normal / MICE;
    double normal_se = sqrt((normal2 - MICE * normal_mean * normal_mean) / (MICE - 1) / MICE);
    double expected = INJECTED * COLONISATION * exp(-NORMAL_DEATH * WAIT);
    double pc = fisher_greater(with[1], MICE, with[0], MICE);
    double pd = fisher_greater(with[2], MICE, with[0], MICE);
    double se_e = sqrt(sd[1] * sd[1] / MICE + sd[2] * sd[2] / MICE);
    printf("normal_cells_lung, seed %llu, %d mice per arm; tumours are lung lesions of at least "
           "%.0e cells at %.0f d\n",
           seed, MICE, TUMOUR, horizon);
    for (int a = 0; a < ARMS; a++)
        printf("  %-18s mice with tumours %3u/%d, tumours per mouse %.2f (sd %.2f)\n", names[a],
               with[a], MICE, mean[a], sd[a]);
    printf("  (a) without doxycycline: %u mice with a tumour\n", with[0]);
    printf("  (b) untransformed cells alive in the lung at %.0f d: %.2f per mouse (SE %.2f), "
           "theory %.2f (%.2f SE)\n",
           WAIT, normal_mean, normal_se, expected, (normal_mean - expected) / normal_se);
    printf("  (c) doxycycline from the injection against none: Fisher one-sided p = %.3g\n", pc);
    printf("  (d) doxycycline from 6 weeks against none: Fisher one-sided p = %.3g\n", pd);
    printf("  (e) tumours per mouse, from the injection minus from 6 weeks: %.2f (SE %.2f, "
           "%.1f SE); ratio %.3f\n",
           mean[1] - mean[2], se_e, (mean[1] - mean[2]) / se_e, mean[2] / mean[1]);
    fflush(stdout);
    ck_assert_uint_eq(with[0], 0);
    ck_assert_msg(fabs(normal_mean - expected) < 5 * normal_se, "(b): %g SE",
                  (normal_mean - expected) / normal_se);
    ck_assert_msg(pc < LEVEL, "(c): p = %g", pc);
    ck_assert_msg(pd < LEVEL, "(d): p = %g", pd);
    ck_assert_msg(mean[1] - mean[2] > 5 * se_e, "(e): %g SE", (mean[1] - mean[2]) / se_e);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("normal_cells");
    TCase *tc = tcase_create("normal_cells");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_normal_cells);
    suite_add_tcase(s, tc);
    return s;
}
