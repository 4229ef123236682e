/*
 * Self-seeding by injected cells (label stats; docs/studies/self_seeding.md), after Kim et al.,
 * "Tumor self-seeding by circulating cancer cells", Cell 2009;139:1315, on the built-in
 * self_seeding_mouse scenario: mice bearing a tumour of unlabelled parental cells in the
 * mammary fat pad receive, at day 14, 5e5 labelled cells into the tail vein, of an aggressive
 * (LM2-like) subline or of the parental line, or no injection; the read-out is at day 56.
 *
 * Mice 0, 1, ..., MICE - 1 of the scenario's seed. Each is assigned at time 0 (an arm with
 * injections is an experiment's schedule) and its history continued under the three arms (the
 * paired design, metasim_sim_fork(); before time 0 there is nothing to share, so the arms
 * differ by their own streams and their injections). Read from each continuation at day 56:
 * the labelled cells in the tumour (lesion 0 cells whose clone carries `label`), the tumour's
 * cells, and the lung lesions founded.
 *
 * Claims, stated before the figures were read:
 *   (a) enrichment, the aggressive cells are the better self-seeders: more labelled cells in
 *       the tumour after an injection of aggressive cells than after the same number of
 *       parental cells;
 *   (b) acceleration: the tumour is larger after an injection of aggressive cells than after
 *       one of parental cells,
 *   (c) and than without an injection.
 * Each is one-sided at level 1e-3 (at most 3e-3 together, by Bonferroni), by the exact sign
 * test, the binomial tail P(X >= wins) for X ~ Binomial(wins + losses, 1/2) over the mice whose
 * two values differ (ties count for neither): under no effect each mouse's pair is
 * exchangeable, so the sign of its difference is a fair coin. The tests can fail: with the
 * aggressive locus's colonisation factor at 1 and its production factor at 1, (a) to (c) have
 * no effect to find (the scenario's comments give each value and whether it is an
 * assumption). The figures (medians and the sign tests) are printed for the study page; also
 * printed, not asserted: the tumour after parental cells against no injection, for which the
 * scenario implies no effect, and lung lesions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "study.h"
#include "unit_test.h"

enum { MICE = 200, ARMS = 3, AGGRESSIVE = 0, PARENTAL = 1, NONE = 2 };
#define LEVEL 1e-3

typedef struct readout {
    const metasim_sim_t *sim;
    uint64_t label; /* the label locus's bit */
    double labelled, tumour;
    unsigned lung;
} readout;

static int on_sample(void *user, const metasim_sample_t *x)
{
    readout *r = user;
    if (x->lesion != 0)
        return 0;
    metasim_clone_info_t info;
    if (metasim_sim_clone_info(r->sim, x->clone, &info) != 0)
        return 1;
    r->tumour += x->cells;
    if (info.loci & r->label)
        r->labelled += x->cells;
    return 0;
}

static readout read_out(const metasim_sim_t *s, uint64_t label)
{
    readout r = {.sim = s, .label = label};
    metasim_writer_t w = {.user = &r, .sample = on_sample};
    ck_assert_int_eq(metasim_sim_snapshot(s, &w), 0);
    for (size_t i = 1; i < metasim_sim_lesions(s); i++) {
        metasim_lesion_info_t l;
        ck_assert_int_eq(metasim_sim_lesion_info(s, i, &l), 0);
        r.lung += strcmp(l.site, "lung") == 0;
    }
    return r;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, size_t n)
{
    qsort(x, n, sizeof *x, by_value);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

START_TEST(test_self_seeding_mouse)
{
    static const char *const names[ARMS] = {"aggressive_iv", "parental_iv", "no_injection"};
    unsigned arms[ARMS];
    unsigned long long seed = 0;
    metasim_model_t *m = study_open("self_seeding_mouse", ARMS, names, arms, &seed);
    uint64_t label = 0;
    for (size_t k = 0; k < metasim_model_locus_count(m); k++)
        if (strcmp(metasim_model_locus_name(m, k), "label") == 0)
            label = UINT64_C(1) << k;
    ck_assert(label != 0);
    const double horizon = metasim_model_horizon(m);
    static double labelled[ARMS][MICE], tumour[ARMS][MICE], lung[ARMS][MICE];
    claim_t claims[] = {
        {"(a) more labelled cells in the tumour after aggressive than parental cells", {0, 0}},
        {"(b) a larger tumour after aggressive than parental cells", {0, 0}},
        {"(c) a larger tumour after aggressive cells than without an injection", {0, 0}},
    };
    tally_t parental_vs_none = {0, 0};
    for (unsigned p = 0; p < MICE; p++) {
        metasim_sim_t *h = study_treated(m, seed, p, NULL);
        ck_assert_ptr_nonnull(h);
        for (int a = 0; a < ARMS; a++) {
            metasim_sim_t *s = NULL;
            ck_assert_int_eq(metasim_sim_fork(h, arms[a], NULL, &s), 0);
            ck_assert_int_eq(metasim_sim_run(s, horizon, 0), METASIM_STOP_TIME);
            readout r = read_out(s, label);
            labelled[a][p] = r.labelled;
            tumour[a][p] = r.tumour;
            lung[a][p] = r.lung;
            metasim_sim_destroy(s);
        }
        metasim_sim_destroy(h);
        tally_count(&claims[0].t, labelled[PARENTAL][p], labelled[AGGRESSIVE][p]);
        tally_count(&claims[1].t, tumour[PARENTAL][p], tumour[AGGRESSIVE][p]);
        tally_count(&claims[2].t, tumour[NONE][p], tumour[AGGRESSIVE][p]);
        tally_count(&parental_vs_none, tumour[NONE][p], tumour[PARENTAL][p]);
    }
    printf("self_seeding_mouse, seed %llu, %d mice, medians at day %.0f:\n", seed, MICE, horizon);
    for (int a = 0; a < ARMS; a++) {
        double l = median(labelled[a], MICE), t = median(tumour[a], MICE);
        double g = median(lung[a], MICE);
        printf("  %-14s labelled cells in the tumour %9.0f (share %.2e), tumour %.3e cells "
               "(%.0f mm^3), lung lesions %.0f\n",
               names[a], l, l / t, t, t / 1e6, g);
    }
    printf("  (printed only) a larger tumour after parental cells than without an injection: in "
           "%u mice, the other way in %u: sign test p = %.3g\n",
           parental_vs_none.wins, parental_vs_none.losses,
           sign_test(parental_vs_none.wins, parental_vs_none.losses));
    claims_check(claims, 3, LEVEL);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("self_seeding_mouse");
    TCase *tc = tcase_create("self_seeding_mouse");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_self_seeding_mouse);
    suite_add_tcase(s, tc);
    return s;
}
