/*
 * The CXCL1/2 paracrine loop (label stats; docs/studies/cxcl1.md), after Acharyya et al., Cell
 * 2012, on the built-in cxcl1_breast_lung scenario: neoadjuvant AC with or without a CXCR2
 * antagonist, surgery 16 weeks after diagnosis, lung metastasis.
 *
 * Patients 0, 1, ... of the scenario's seed are simulated until COHORT have been diagnosed (the
 * point of assignment: lines start at diagnosis). Each history is continued under the three
 * arms (the paired design, metasim_sim_fork()): surgery_alone, chemotherapy (AC) and
 * chemotherapy_cxcr2i (AC with the CXCR2 antagonist). Read from each continuation: the
 * myeloid level of every lung lesion 3 days after diagnosis, the primary's cells at the end of
 * AC (84 days after diagnosis), and the lung lesions of at least MET_CELLS cells (about 1 mm3)
 * two years after diagnosis.
 *
 * Claims, each one-sided at level 1e-3 (a normal statistic beyond 3.09 standard errors):
 *   (a) the antagonist adds to AC's shrinkage of the primary: in more patients the primary is
 *       smaller at the end of AC with it than without it than the other way round; exact sign
 *       test on the patients whose two sizes differ (binomial tail, p = 1/2);
 *   (b) the antagonist adds to AC's effect on lung metastasis: in more patients there are
 *       fewer lung metastases at 2 years with it than without it than the other way round;
 *       exact sign test as (a);
 *   (c) the loop raises colonisation: under surgery alone, a lung lesion founded by a
 *       cxcl1_gain cell (5 times the CXCL1/2) grows into a metastasis more often than one
 *       founded by a cell without it. Cochran-Mantel-Haenszel test over patients as strata
 *       (lesions are independent given the patient's history; the strata absorb what differs
 *       between patients: size and timing of the primary), Z = (sum a - sum E[a] - 1/2) /
 *       sqrt(sum Var a) with the hypergeometric mean and variance of each patient's 2x2 table;
 *   (d) chemotherapy amplifies the loop (through TNF-alpha): 3 days after diagnosis the myeloid
 *       level of a lung lesion of at least 100 cells is higher under AC than under surgery
 *       alone; exact sign test over such lesions (pooled: each lesion's two levels differ only
 *       by the arm).
 * The scenario's values were chosen to reproduce the directions of the paper's findings (its
 * comments say which); the cohort, seed, thresholds and levels were set before this test's
 * figures were read. The figures are printed for the study page.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "study.h"
#include "unit_test.h"

enum { COHORT = 400, ARMS = 3 };
#define LEVEL 1e-3
#define EARLY 3.0      /* d after diagnosis: TNF-alpha up, few cells killed yet */
#define END_OF_AC 84.0 /* d after diagnosis: four 21-day cycles */
#define FOLLOW_UP 730.0
#define MET_CELLS 1e6
#define SMALLEST 100.0 /* cells of a lung lesion at diagnosis for claim (d) */

static int is_lung(const metasim_sim_t *s, size_t lesion, metasim_lesion_info_t *info)
{
    ck_assert_int_eq(metasim_sim_lesion_info(s, lesion, info), 0);
    return strcmp(info->site, "lung") == 0;
}

START_TEST(test_cxcl1_loop)
{
    const char *names[ARMS] = {"surgery_alone", "chemotherapy", "chemotherapy_cxcr2i"};
    unsigned arms[ARMS];
    unsigned long long seed = 0;
    metasim_model_t *m = study_open("cxcl1_breast_lung", ARMS, names, arms, &seed);
    size_t myeloid = 2, gain_bit = 0; /* factor and locus indices in the scenario */
    ck_assert_str_eq(metasim_model_locus_name(m, gain_bit), "cxcl1_gain");

    int n = 0;
    double diag_sum = 0, shrink[ARMS] = {0}, mets[ARMS] = {0};
    int with_mets[ARMS] = {0};
    unsigned smaller = 0, larger = 0, fewer = 0, more = 0, raised = 0, lowered = 0;
    cmh_t cmh = {0};
    double *early = NULL;
    size_t cap_early = 0;
    unsigned p;
    for (p = 0; n < COHORT && p < 10 * COHORT; p++) {
        metasim_sim_t *s = study_treated(m, seed, p, NULL);
        if (!s)
            continue;
        double t0 = metasim_sim_time(s), primary0 = 0, primary[ARMS];
        size_t lesions0 = metasim_sim_lesions(s);
        metasim_lesion_info_t info;
        ck_assert_int_eq(metasim_sim_lesion_info(s, 0, &info), 0);
        primary0 = info.cells;
        if (lesions0 > cap_early) {
            cap_early = lesions0;
            early = realloc(early, 2 * cap_early * sizeof *early);
            ck_assert_ptr_nonnull(early);
        }
        double count[ARMS];
        for (int a = 0; a < ARMS; a++) {
            metasim_sim_t *arm = NULL;
            ck_assert_int_eq(metasim_sim_fork(s, arms[a], NULL, &arm), 0);
            ck_assert_int_gt(metasim_sim_run(arm, t0 + EARLY, 0), 0);
            for (size_t i = 1; a < 2 && i < lesions0; i++)
                early[2 * i + (size_t)a] = metasim_sim_factor(arm, i, myeloid);
            ck_assert_int_gt(metasim_sim_run(arm, t0 + END_OF_AC, 0), 0);
            ck_assert_int_eq(metasim_sim_lesion_info(arm, 0, &info), 0);
            primary[a] = info.cells;
            ck_assert_int_gt(metasim_sim_run(arm, t0 + FOLLOW_UP, 0), 0);
            count[a] = 0;
            double table[2][2] = {{0, 0}, {0, 0}}; /* [gain][grew] */
            for (size_t i = 1; i < metasim_sim_lesions(arm); i++) {
                if (!is_lung(arm, i, &info))
                    continue;
                int big = info.cells >= MET_CELLS;
                count[a] += big;
                if (a == 0) {
                    metasim_clone_info_t clone;
                    ck_assert_int_eq(metasim_sim_clone_info(arm, info.founder_clone, &clone), 0);
                    table[clone.loci >> gain_bit & 1][big] += 1;
                }
            }
            if (a == 0)
                cmh_add(&cmh, table);
            metasim_sim_destroy(arm);
        }
        for (size_t i = 1; i < lesions0; i++) {
            if (!is_lung(s, i, &info) || info.cells < SMALLEST)
                continue;
            raised += early[2 * i + 1] > early[2 * i];
            lowered += early[2 * i + 1] < early[2 * i];
        }
        n++;
        diag_sum += t0;
        smaller += primary[2] < primary[1];
        larger += primary[2] > primary[1];
        fewer += count[2] < count[1];
        more += count[2] > count[1];
        for (int a = 0; a < ARMS; a++) {
            shrink[a] += log10(fmax(primary[a], 1.0) / primary0);
            mets[a] += count[a];
            with_mets[a] += count[a] > 0;
        }
        metasim_sim_destroy(s);
    }
    free(early);
    ck_assert_int_eq(n, COHORT);

    double pa = sign_test(smaller, larger), pb = sign_test(fewer, more);
    double z, pc = cmh_p(&cmh, &z);
    double pd = sign_test(raised, lowered);
    printf("cxcl1_breast_lung, seed %llu: %d patients diagnosed (of %u), at %.2f y after the "
           "first cell on average\n",
           seed, n, p, diag_sum / n / 365.25);
    for (int a = 0; a < ARMS; a++)
        printf("  %-19s primary at the end of AC, mean log10 of its change %+.2f; lung "
               "metastases (>= %.0e cells) at 2 y: %.3f a patient, %d patients with any\n",
               names[a], shrink[a] / n, MET_CELLS, mets[a] / n, with_mets[a]);
    printf("  (a) primary smaller with the antagonist in %u patients, larger in %u: sign test "
           "p = %.3g\n",
           smaller, larger, pa);
    printf("  (b) fewer lung metastases with the antagonist in %u patients, more in %u: sign "
           "test p = %.3g\n",
           fewer, more, pb);
    printf("  (c) surgery alone, lung lesions growing to metastases: %.0f of %.0f founded by "
           "cxcl1_gain cells (%.2f %%), %.0f of %.0f by others (%.2f %%); CMH over patients "
           "%.0f observed, %.1f expected, SE %.2f, z = %.2f, p = %.3g\n",
           cmh.grew[1], cmh.founded[1], 100 * cmh.grew[1] / cmh.founded[1], cmh.grew[0],
           cmh.founded[0], 100 * cmh.grew[0] / cmh.founded[0], cmh.observed, cmh.expected,
           sqrt(cmh.variance), z, pc);
    printf("  (d) lung lesions of >= %.0f cells at diagnosis, myeloid level 3 d later higher "
           "under AC than under surgery alone in %u, lower in %u: sign test p = %.3g\n",
           SMALLEST, raised, lowered, pd);
    fflush(stdout);
    ck_assert_msg(pa < LEVEL, "(a): p = %g", pa);
    ck_assert_msg(pb < LEVEL, "(b): p = %g", pb);
    ck_assert_msg(pc < LEVEL, "(c): p = %g", pc);
    ck_assert_msg(pd < LEVEL, "(d): p = %g", pd);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("cxcl1_loop");
    TCase *tc = tcase_create("cxcl1_loop");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_cxcl1_loop);
    suite_add_tcase(s, tc);
    return s;
}
