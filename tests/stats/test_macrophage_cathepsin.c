/*
 * Macrophages and cathepsins (label stats; docs/studies/macrophages.md), after Gocheva et al.,
 * Genes Dev 2010, and Shree et al., Genes Dev 2011, on the built-in macrophage_cathepsin_breast
 * scenario: a mouse mammary carcinoma whose tumour-associated macrophages supply cathepsins
 * that raise intravasation and protect the cancer cells from paclitaxel, treated for 5 weeks
 * from the day the tumour is palpable.
 *
 * Mice 0, 1, ... of the scenario's seed are simulated until MICE have a palpable tumour (the
 * point of assignment: lines start at diagnosis). Each history is continued under the four
 * arms (the paired design, metasim_sim_fork()): vehicle, inhibitor (the cathepsin inhibitor),
 * paclitaxel and combination. Read from each continuation: the primary's macrophage level
 * EARLY days after diagnosis; at ENDPOINT days after it, the cells shed into the blood since
 * diagnosis (intravasation: lung lesions do not shed, so every one is the primary's), the
 * primary's cells, the lung metastases (lesions of at least MET_CELLS cells, a focus about
 * 0.1 mm across) and the lung's tumour burden (cells in every lung lesion).
 *
 * Claims, each one-sided at level 1e-3 (so at most 7e-3 for any of the seven, by Bonferroni);
 * each is an exact sign test, the binomial tail P(X >= wins) for X ~ Binomial(wins + losses,
 * 1/2) over the mice whose two values differ: under the null hypothesis of no effect, each
 * mouse's pair is exchangeable, so the sign of its difference is a fair coin.
 *   (a) the inhibitor reduces intravasation: fewer cells shed under the inhibitor than under
 *       vehicle in more mice than the other way round;
 *   (b) the inhibitor reduces metastasis: fewer lung metastases under the inhibitor than
 *       under vehicle;
 *   (c) the inhibitor adds to paclitaxel against the primary: the primary is smaller at the
 *       endpoint under the combination than under paclitaxel alone;
 *   (d) the inhibitor adds to paclitaxel against metastases: a smaller lung burden under the
 *       combination than under paclitaxel alone;
 *   (e) the inhibitor reduces intravasation more when combined with paclitaxel: per mouse,
 *       log(shed combination / shed paclitaxel) < log(shed inhibitor / shed vehicle);
 *   (f) the inhibitor reduces metastatic burden more when combined with paclitaxel: per
 *       mouse, with L = log(1 + lung burden), L_combination - L_paclitaxel <
 *       L_inhibitor - L_vehicle;
 *   (g) paclitaxel raises macrophage infiltration (Shree et al. 2011): EARLY days after
 *       diagnosis the primary's macrophage level is higher under paclitaxel than under
 *       vehicle.
 * The scenario's values were chosen to reproduce the directions of the papers' findings (its
 * comments say which), on a pilot with another seed; the cohort, seed, measures, thresholds
 * and levels were set before this test's figures were read. The figures are printed for the
 * study page.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metasim/metasim.h"
#include "study.h"
#include "unit_test.h"

enum { MICE = 400, ARMS = 4, VEHICLE = 0, INHIBITOR = 1, PACLITAXEL = 2, COMBINATION = 3 };
#define LEVEL 1e-3
#define EARLY 14.0    /* d after diagnosis: three doses of paclitaxel given */
#define ENDPOINT 35.0 /* d after diagnosis: the end of treatment, when the mice are examined */
#define MET_CELLS 1e3

typedef struct {
    double shed, primary, mets, burden, tam, cathepsin;
} outcome_t;

static void run_arm(const metasim_sim_t *s, unsigned arm, double t0, unsigned long long shed0,
                    outcome_t *out)
{
    metasim_sim_t *a = NULL;
    ck_assert_int_eq(metasim_sim_fork(s, arm, NULL, &a), 0);
    ck_assert_int_eq(metasim_sim_run(a, t0 + EARLY, 0), METASIM_STOP_TIME);
    size_t tam = 1, cathepsin = 2; /* factor indices in the scenario */
    out->tam = metasim_sim_factor(a, 0, tam);
    out->cathepsin = metasim_sim_factor(a, 0, cathepsin);
    ck_assert_int_eq(metasim_sim_run(a, t0 + ENDPOINT, 0), METASIM_STOP_TIME);
    metasim_counts_t counts;
    ck_assert_int_eq(metasim_sim_counts(a, &counts), 0);
    out->shed = (double)(counts.shed - shed0);
    out->mets = out->burden = 0;
    for (size_t i = 0; i < metasim_sim_lesions(a); i++) {
        metasim_lesion_info_t info;
        ck_assert_int_eq(metasim_sim_lesion_info(a, i, &info), 0);
        if (i == 0) {
            out->primary = info.cells;
        } else if (strcmp(info.site, "lung") == 0) {
            out->mets += info.cells >= MET_CELLS;
            out->burden += info.cells;
        }
    }
    metasim_sim_destroy(a);
}

START_TEST(test_macrophage_cathepsin)
{
    const char *names[ARMS] = {"vehicle", "inhibitor", "paclitaxel", "combination"};
    unsigned arms[ARMS];
    unsigned long long seed = 0;
    metasim_model_t *m = study_open("macrophage_cathepsin_breast", ARMS, names, arms, &seed);

    int n = 0;
    double diag_sum = 0, primary0_sum = 0;
    double log_shed[ARMS] = {0}, shrink[ARMS] = {0}, mets[ARMS] = {0}, log_burden[ARMS] = {0};
    double tam[ARMS] = {0}, cathepsin[ARMS] = {0};
    int with_mets[ARMS] = {0};
    tally_t ta = {0}, tb = {0}, tc = {0}, td = {0}, te = {0}, tf = {0}, tg = {0};
    unsigned p;
    for (p = 0; n < MICE && p < 10 * MICE; p++) {
        metasim_sim_t *s = study_treated(m, seed, p, NULL);
        if (!s)
            continue;
        double t0 = metasim_sim_time(s);
        metasim_counts_t counts;
        ck_assert_int_eq(metasim_sim_counts(s, &counts), 0);
        metasim_lesion_info_t info;
        ck_assert_int_eq(metasim_sim_lesion_info(s, 0, &info), 0);
        double primary0 = info.cells;
        outcome_t y[ARMS];
        for (int a = 0; a < ARMS; a++) {
            run_arm(s, arms[a], t0, counts.shed, &y[a]);
            ck_assert(y[a].shed > 0); /* every mouse sheds, so the logs below are finite */
        }
        metasim_sim_destroy(s);

        tally_count(&ta, y[INHIBITOR].shed, y[VEHICLE].shed);
        tally_count(&tb, y[INHIBITOR].mets, y[VEHICLE].mets);
        tally_count(&tc, y[COMBINATION].primary, y[PACLITAXEL].primary);
        tally_count(&td, y[COMBINATION].burden, y[PACLITAXEL].burden);
        tally_count(&te, log(y[COMBINATION].shed / y[PACLITAXEL].shed),
                    log(y[INHIBITOR].shed / y[VEHICLE].shed));
        double l[ARMS];
        for (int a = 0; a < ARMS; a++)
            l[a] = log1p(y[a].burden);
        tally_count(&tf, l[COMBINATION] - l[PACLITAXEL], l[INHIBITOR] - l[VEHICLE]);
        tally_count(&tg, y[VEHICLE].tam, y[PACLITAXEL].tam); /* claimed: vehicle's is lower */

        n++;
        diag_sum += t0;
        primary0_sum += log10(primary0);
        for (int a = 0; a < ARMS; a++) {
            log_shed[a] += log10(y[a].shed);
            shrink[a] += log10(fmax(y[a].primary, 1.0) / primary0);
            mets[a] += y[a].mets;
            with_mets[a] += y[a].mets > 0;
            log_burden[a] += log10(1 + y[a].burden);
            tam[a] += y[a].tam;
            cathepsin[a] += y[a].cathepsin;
        }
    }
    ck_assert_int_eq(n, MICE);

    printf("macrophage_cathepsin_breast, seed %llu: %d mice with a palpable tumour (of %u), "
           "%.1f d after the first cell on average, geometric mean %.3g cells\n",
           seed, n, p, diag_sum / n, pow(10, primary0_sum / n));
    for (int a = 0; a < ARMS; a++)
        printf("  %-11s day %.0f: primary macrophages %.2f a.u., cathepsin %.2f a.u.; day %.0f: "
               "cells shed since diagnosis, geometric mean %.3g; primary, mean log10 change "
               "%+.2f; lung metastases (>= %.0e cells) %.2f a mouse, %d mice with any; lung "
               "burden, mean log10(1 + cells) %.2f\n",
               names[a], EARLY, tam[a] / n, cathepsin[a] / n, ENDPOINT, pow(10, log_shed[a] / n),
               shrink[a] / n, MET_CELLS, mets[a] / n, with_mets[a], log_burden[a] / n);
    const claim_t claims[] = {
        {"(a) fewer cells shed under the inhibitor than under vehicle", ta},
        {"(b) fewer lung metastases under the inhibitor than under vehicle", tb},
        {"(c) smaller primary under the combination than under paclitaxel", tc},
        {"(d) smaller lung burden under the combination than under paclitaxel", td},
        {"(e) the inhibitor's reduction of shedding larger with paclitaxel", te},
        {"(f) the inhibitor's reduction of lung burden larger with paclitaxel", tf},
        {"(g) more primary macrophages under paclitaxel than under vehicle", tg},
    };
    claims_check(claims, 7, LEVEL);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("macrophage_cathepsin");
    TCase *tc = tcase_create("macrophage_cathepsin");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_macrophage_cathepsin);
    suite_add_tcase(s, tc);
    return s;
}
