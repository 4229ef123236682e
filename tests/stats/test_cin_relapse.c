/*
 * The virtual experiment of Sotillo, Benezra et al. (Nature 2010) on the built-in kras_cin_lung
 * scenario (docs/studies/cin.md; label stats): Kras withdrawal makes lung tumours regress
 * whether or not they had Mad2-induced chromosomal instability (CIN), but CIN tumours relapse
 * far more often, and their relapses are aneuploid.
 *
 * Mice 0, 1, ..., PATIENTS - 1 of the scenario's seed are simulated through the public API.
 * Each draws its subtype (`mad2` or `control`, half each) from the scenario's cohort; a mouse
 * whose tumour dies out before diagnosis is not counted. At diagnosis the history is forked into
 * the `withdrawal` arm, whose line switches Kras off at once (time t_w, burden B_w); the burden
 * is then read every week for FOLLOW_UP weeks.
 *
 * Definitions, fixed before this seed was run (other seeds served to explore the scenario):
 *   regression  the burden falls to at most 1 % of B_w at one of the weekly readings of weeks
 *               1 to REGRESSION_WEEKS (a fall of at least 99 %);
 *   relapse     after regression, the burden grows back to at least B_w (the tumour is as large
 *               as when it was found) at a weekly reading within FOLLOW_UP weeks; death from
 *               the tumour counts as relapse (it cannot happen without regrowth);
 *   relapse clone  the clone holding most cells of the tumour at that reading.
 *
 * Claims and their tests:
 *   (a) relapse is more frequent in mad2 than in control mice: one-sided Fisher exact test
 *       (hypergeometric tail given the margins), p < 0.01;
 *   (b) regression is as frequent in both: |share_mad2 - share_control| <= 5 SE, with
 *       SE = sqrt(s1 (1 - s1) / n1 + s2 (1 - s2) / n2) and each share s floored at 1 / n (one
 *       event) in the SE only, so that two shares of 100 % still have a positive SE; 5 SE is a
 *       two-sided normal false-alarm rate of 6e-7;
 *   (c) relapses are aneuploid: the relapse clone has metasim_clone_info_t.aneuploid == 1 in at
 *       least 90 % of mad2 relapses (a statement about this sample).
 * Nothing here is tuned: the seed is the scenario's, and the thresholds are those above.
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metasim/metasim.h"
#include "unit_test.h"

enum {
    PATIENTS = 300,
    REGRESSION_WEEKS = 3,
    FOLLOW_UP = 26, /* weeks after withdrawal */
    MAX_CLONES = 4096,
    MAX_CHROMOSOMES = 16,
    MAX_COMBINED = 8, /* chromosomes told apart in the combinations printed */
};

typedef struct group {
    int mice, regressed, relapsed, aneuploid, extinct, died;
    int gains[MAX_CHROMOSOMES + 1];     /* relapse clones by number of pathway copies gained */
    int combination[1 << MAX_COMBINED]; /* ... by the set of chromosomes gained (bit k: k-th) */
    double weeks_sum;                   /* weeks from withdrawal to relapse, summed */
    int pre_existing, acquired;         /* provenance of the relapse clones' resistance */
} group;

/* Cells per clone of the (single) lesion, from a snapshot. */
typedef struct census {
    double cells[MAX_CLONES];
} census;

static int on_sample(void *user, const metasim_sample_t *smp)
{
    census *c = user;
    if (smp->clone < MAX_CLONES)
        c->cells[smp->clone] += smp->cells;
    return 0;
}

/* Number of copies gained of chromosomes that shift the EC50 of Kras withdrawal (the pathway
 * chromosomes of the scenario: every chromosome but chr4), and in *set the chromosomes gained
 * (bit k for the k-th). */
static int pathway_gains(const metasim_model_t *m, const metasim_clone_info_t *info, unsigned *set)
{
    int g = 0;
    *set = 0;
    for (size_t k = 0; k < metasim_model_chromosome_count(m); k++) {
        if (strcmp(metasim_model_chromosome_name(m, k), "chr4") == 0 || info->copies[k] <= 2)
            continue;
        g += info->copies[k] - 2;
        if (k < MAX_COMBINED)
            *set |= 1u << k;
    }
    return g;
}

/* The relapse clone of `sim`: the one holding most cells. */
static void relapse_clone(metasim_sim_t *sim, group *g)
{
    static census c;
    memset(&c, 0, sizeof c);
    metasim_writer_t w = {.user = &c, .sample = on_sample};
    ck_assert_int_eq(metasim_sim_snapshot(sim, &w), 0);
    size_t n = metasim_sim_clones(sim), top = 0;
    ck_assert_uint_le(n, MAX_CLONES);
    for (size_t k = 1; k < n; k++)
        if (c.cells[k] > c.cells[top])
            top = k;
    metasim_clone_info_t info;
    ck_assert_int_eq(metasim_sim_clone_info(sim, top, &info), 0);
    ck_assert_ptr_nonnull(info.copies);
    g->aneuploid += info.aneuploid;
    unsigned set;
    int gained = pathway_gains(metasim_sim_model(sim), &info, &set);
    g->gains[gained < MAX_CHROMOSOMES ? gained : MAX_CHROMOSOMES]++;
    g->combination[set]++;
    g->pre_existing += info.resistance == METASIM_RESISTANCE_PRE_EXISTING;
    g->acquired += info.resistance == METASIM_RESISTANCE_ACQUIRED;
}

/* One mouse: returns 0 when its tumour died out before diagnosis, else 1 with *g updated. */
static int one_mouse(const metasim_model_t *m, unsigned long long seed, unsigned patient,
                     unsigned arm, group *mad2, group *control)
{
    metasim_sim_options_t o = {.seed = seed, .patient = patient, .stop_at_treatment = 1};
    metasim_sim_t *pre = NULL, *sim = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &pre), 0);
    int rc = metasim_sim_run(pre, metasim_model_horizon(m), 0);
    ck_assert_msg(rc > 0, "%s", metasim_sim_errmsg(pre));
    if (rc != METASIM_STOP_TREATMENT) {
        ck_assert_int_eq(rc, METASIM_STOP_EXTINCT);
        metasim_sim_destroy(pre);
        return 0;
    }
    const char *subtype = metasim_model_patient_subtype(metasim_sim_model(pre));
    ck_assert_ptr_nonnull(subtype);
    group *g = strcmp(subtype, "mad2") == 0 ? mad2 : control;
    ck_assert_int_eq(metasim_sim_fork(pre, arm, NULL, &sim), 0);
    metasim_sim_destroy(pre);
    g->mice++;
    double t_w = metasim_sim_time(sim), b_w = metasim_sim_cells(sim);
    int regressed = 0;
    for (int week = 1; week <= FOLLOW_UP; week++) {
        rc = metasim_sim_run(sim, t_w + 7.0 * week, 0);
        ck_assert_msg(rc > 0, "%s", metasim_sim_errmsg(sim));
        double b = metasim_sim_cells(sim);
        if (rc == METASIM_STOP_EXTINCT) {
            g->extinct++;
            break;
        }
        if (week <= REGRESSION_WEEKS && b <= 0.01 * b_w)
            regressed = 1;
        int died = rc == METASIM_STOP_DEATH;
        g->died += died;
        if (regressed && (b >= b_w || died)) {
            g->relapsed++;
            g->weeks_sum += week;
            relapse_clone(sim, g);
            break;
        }
        if (died) /* without a regression first: not a relapse */
            break;
        ck_assert_int_eq(rc, METASIM_STOP_TIME);
    }
    g->regressed += regressed;
    metasim_sim_destroy(sim);
    return 1;
}

static double share(int k, int n)
{
    return n > 0 ? (double)k / n : NAN;
}

static void print_group(const metasim_model_t *m, const char *name, const group *g)
{
    printf("cin: %-7s %3d mice: regressed %3d (%.3f), relapsed %3d (%.3f), extinct %3d, "
           "died %d; relapse clone aneuploid %d of %d",
           name, g->mice, g->regressed, share(g->regressed, g->mice), g->relapsed,
           share(g->relapsed, g->mice), g->extinct, g->died, g->aneuploid, g->relapsed);
    if (g->relapsed > 0)
        printf(", mean %.1f weeks to relapse", g->weeks_sum / g->relapsed);
    printf("\ncin: %-7s relapse clones by pathway copies gained:", name);
    for (int k = 0; k <= MAX_CHROMOSOMES; k++)
        if (g->gains[k])
            printf(" %d: %d", k, g->gains[k]);
    printf("; resistance pre-existing %d, acquired %d\n", g->pre_existing, g->acquired);
    for (unsigned set = 0; set < 1u << MAX_COMBINED; set++) {
        if (!g->combination[set])
            continue;
        printf("cin: %-7s relapse clones gaining", name);
        for (size_t k = 0; k < MAX_COMBINED && k < metasim_model_chromosome_count(m); k++)
            if (set >> k & 1)
                printf(" +%s", metasim_model_chromosome_name(m, k));
        printf("%s: %d\n", set ? "" : " none", g->combination[set]);
    }
}

START_TEST(test_cin_relapse)
{
    clock_t start = clock();
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_builtin("kras_cin_lung", &m), 0);
    unsigned long long seed = 0;
    ck_assert(metasim_model_seed(m, &seed));
    unsigned arm = metasim_model_arm(m, "withdrawal");
    ck_assert_uint_eq(arm, 1);
    group mad2 = {0}, control = {0};
    int undiagnosed = 0;
    for (unsigned patient = 0; patient < PATIENTS; patient++)
        undiagnosed += !one_mouse(m, seed, patient, arm, &mad2, &control);
    printf("cin: seed %llu, %d mice, %d without a tumour at diagnosis, %d weeks of follow-up\n",
           seed, PATIENTS, undiagnosed, FOLLOW_UP);
    print_group(m, "mad2", &mad2);
    print_group(m, "control", &control);

    /* (a) One-sided Fisher exact test: given the margins, the number of mad2 relapses is
     * hypergeometric; p = P(X >= observed). */
    unsigned relapses = (unsigned)(mad2.relapsed + control.relapsed);
    unsigned others = (unsigned)(mad2.mice + control.mice) - relapses;
    double p_fisher = mad2.relapsed == 0
                          ? 1.0
                          : gsl_cdf_hypergeometric_Q((unsigned)mad2.relapsed - 1, relapses, others,
                                                     (unsigned)mad2.mice);
    printf("cin: (a) relapse %.3f (mad2) vs %.3f (control), one-sided Fisher exact p = %.3g\n",
           share(mad2.relapsed, mad2.mice), share(control.relapsed, control.mice), p_fisher);

    /* (b) Regression shares within 5 SE. */
    double s1 = share(mad2.regressed, mad2.mice), s2 = share(control.regressed, control.mice);
    double f1 = fmin(fmax(s1, 1.0 / mad2.mice), 1.0 - 1.0 / mad2.mice);
    double f2 = fmin(fmax(s2, 1.0 / control.mice), 1.0 - 1.0 / control.mice);
    double se = sqrt(f1 * (1 - f1) / mad2.mice + f2 * (1 - f2) / control.mice);
    printf("cin: (b) regression >= 99 %% within %d weeks: %.3f (mad2) vs %.3f (control), "
           "difference %+.3f, SE %.3f, tolerance 5 SE = %.3f\n",
           REGRESSION_WEEKS, s1, s2, s1 - s2, se, 5 * se);

    /* (c) Aneuploid relapses. */
    double aneuploid = share(mad2.aneuploid, mad2.relapsed);
    printf("cin: (c) mad2 relapse clones aneuploid: %d of %d (%.3f)\n", mad2.aneuploid,
           mad2.relapsed, aneuploid);
    printf("cin: %.1f s of CPU\n", (double)(clock() - start) / CLOCKS_PER_SEC);

    ck_assert_int_ge(mad2.mice, PATIENTS / 3);
    ck_assert_int_ge(control.mice, PATIENTS / 3);
    ck_assert_double_lt(p_fisher, 0.01);
    ck_assert_int_gt(mad2.relapsed, control.relapsed * mad2.mice / control.mice);
    ck_assert_double_le(fabs(s1 - s2), 5 * se);
    ck_assert_int_gt(mad2.relapsed, 0);
    ck_assert_double_ge(aneuploid, 0.9);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("cin_relapse");
    TCase *tc = tcase_create("experiment");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, test_cin_relapse);
    suite_add_tcase(s, tc);
    return s;
}
