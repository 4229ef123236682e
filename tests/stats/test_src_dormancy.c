/*
 * Src and latent bone metastasis (label stats, slow; docs/studies/src.md), after Zhang et al.,
 * Cancer Cell 2009, on the built-in src_bone_dormancy scenario: patients of two subtypes,
 * `src_high` and `src_low`, each enrolled patient's history continued at surgery under both
 * arms, `surgery_alone` and `src_inhibitor` (the paired design, metasim_sim_fork()).
 *
 * Patients 0, 1, ... of the scenario's seed are simulated until COHORT have reached surgery
 * (the point of assignment) eligible. For each: its subtype; the bone lesions founded before
 * surgery (arrivals in bone that colonised: homing); and under each arm, whether its first
 * relapse is in bone and comes more than 5 years after surgery (a late bone relapse).
 *
 * Claims:
 *   (a) under surgery alone, late bone relapse is more frequent in Src-high than in Src-low
 *       patients: Fisher's exact test, one-sided, p < 0.01;
 *   (b) homing is unchanged: the mean number of bone lesions founded before surgery differs
 *       between the subtypes by less than 5 standard errors of the difference
 *       (sqrt(s1^2/n1 + s2^2/n2); two-sided normal false-alarm rate 6e-7);
 *   (c) in Src-high patients the Src inhibitor reduces late bone relapse: exact McNemar test
 *       on the discordant pairs (relapse under one arm only), one-sided, p < 0.01.
 * The figures are printed for the study page. Nothing is tuned to pass.
 */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metasim/metasim.h"
#include "unit_test.h"

enum { COHORT = 400 };
#define LEVEL 0.01
#define LATE (5 * 365.25)

/* 1 when the first relapse is in bone, more than 5 years after surgery. */
static int late_bone(const metasim_sim_t *s)
{
    metasim_clinical_t k;
    metasim_sim_clinical(s, &k);
    return !isnan(k.relapse) && k.relapse_distant && k.relapse_site &&
           strcmp(k.relapse_site, "bone") == 0 && k.relapse - k.surgery > LATE;
}

START_TEST(test_src_dormancy)
{
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_builtin("src_bone_dormancy", &m), 0);
    unsigned long long seed = 0;
    ck_assert(metasim_model_seed(m, &seed));
    double horizon = metasim_model_horizon(m);
    unsigned alone = metasim_model_arm(m, "surgery_alone");
    unsigned inhibitor = metasim_model_arm(m, "src_inhibitor");
    ck_assert(alone && inhibitor);
    int n[2] = {0, 0}, late_alone[2] = {0, 0}, late_inhibitor[2] = {0, 0};
    int only_alone = 0, only_inhibitor = 0; /* discordant pairs, Src-high */
    double homing[2] = {0, 0}, homing2[2] = {0, 0};
    for (unsigned p = 0; n[0] + n[1] < COHORT && p < 40 * COHORT; p++) {
        metasim_sim_options_t o = {.seed = seed, .patient = p, .stop_at_treatment = 1};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        int rc = metasim_sim_run(s, horizon, 0);
        ck_assert_int_gt(rc, 0);
        if (rc != METASIM_STOP_TREATMENT || metasim_sim_eligible(s, NULL) != 1) {
            metasim_sim_destroy(s);
            continue;
        }
        int g = strcmp(metasim_model_patient_subtype(metasim_sim_model(s)), "src_high") == 0;
        double bone = 0;
        for (size_t i = 1; i < metasim_sim_lesions(s); i++) {
            metasim_lesion_info_t info;
            ck_assert_int_eq(metasim_sim_lesion_info(s, i, &info), 0);
            bone += strcmp(info.site, "bone") == 0;
        }
        int late[2];
        unsigned arms[2] = {alone, inhibitor};
        for (int a = 0; a < 2; a++) {
            metasim_sim_t *arm = NULL;
            ck_assert_int_eq(metasim_sim_fork(s, arms[a], NULL, &arm), 0);
            ck_assert_int_gt(metasim_sim_run(arm, horizon, 0), 0);
            late[a] = late_bone(arm);
            metasim_sim_destroy(arm);
        }
        n[g]++;
        homing[g] += bone;
        homing2[g] += bone * bone;
        late_alone[g] += late[0];
        late_inhibitor[g] += late[1];
        if (g) {
            only_alone += late[0] && !late[1];
            only_inhibitor += late[1] && !late[0];
        }
        metasim_sim_destroy(s);
    }
    ck_assert_int_eq(n[0] + n[1], COHORT);

    /* (a) Fisher: P(X >= late_alone[high]) for X hypergeometric with the table's margins. */
    unsigned k_total = (unsigned)(late_alone[0] + late_alone[1]);
    double pa = 0;
    for (unsigned x = (unsigned)late_alone[1]; x <= k_total && x <= (unsigned)n[1]; x++)
        pa += gsl_ran_hypergeometric_pdf(x, (unsigned)n[1], (unsigned)n[0], k_total);
    /* (b) homing: difference of means against its standard error. */
    double mean[2], var[2];
    for (int g = 0; g < 2; g++) {
        mean[g] = homing[g] / n[g];
        var[g] = (homing2[g] - n[g] * mean[g] * mean[g]) / (n[g] - 1);
    }
    double se = sqrt(var[0] / n[0] + var[1] / n[1]);
    /* (c) exact McNemar: P(X >= only_alone), X ~ Binomial(discordant, 1/2). */
    unsigned discordant = (unsigned)(only_alone + only_inhibitor);
    double pc =
        only_alone > 0 ? gsl_cdf_binomial_Q((unsigned)(only_alone - 1), 0.5, discordant) : 1.0;
    printf("src_bone_dormancy, seed %llu, %d patients enrolled at surgery:\n", seed, COHORT);
    for (int g = 1; g >= 0; g--)
        printf("  %-8s %3d patients: bone lesions founded before surgery %.2f (sd %.2f); late "
               "bone relapse (> 5 y after surgery) %d under surgery alone, %d with the Src "
               "inhibitor\n",
               g ? "src_high" : "src_low", n[g], mean[g], sqrt(var[g]), late_alone[g],
               late_inhibitor[g]);
    printf("  (a) late bone relapse, Src-high against Src-low, surgery alone: Fisher one-sided "
           "p = %.3g\n",
           pa);
    printf("  (b) homing: difference of mean bone lesions %.3f, SE %.3f (%.2f SE)\n",
           mean[1] - mean[0], se, se > 0 ? (mean[1] - mean[0]) / se : 0.0);
    printf("  (c) Src-high, inhibitor against surgery alone: late bone relapse under surgery "
           "alone only %d, under the inhibitor only %d; exact McNemar one-sided p = %.3g\n",
           only_alone, only_inhibitor, pc);
    fflush(stdout);
    ck_assert_msg(pa < LEVEL, "(a): p = %g", pa);
    ck_assert_msg(fabs(mean[1] - mean[0]) < 5 * se, "(b): %g SE", (mean[1] - mean[0]) / se);
    ck_assert_msg(pc < LEVEL, "(c): p = %g", pc);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("src_dormancy");
    TCase *tc = tcase_create("src_dormancy");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_src_dormancy);
    suite_add_tcase(s, tc);
    return s;
}
