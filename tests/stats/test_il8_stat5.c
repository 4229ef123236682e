/*
 * PI3K/mTOR inhibition, IL-8 and JAK2/STAT5 (label stats; docs/studies/il8_stat5.md), after
 * Britschgi et al., Cancer Cell 2012, on the built-in il8_stat5_tnbc scenario: a TNBC xenograft
 * treated from about 1e8 cells with nothing, a PI3K/mTOR inhibitor, or the same with a JAK2
 * inhibitor; the primary stays; lung metastasis; death at the lethal burden.
 *
 * Mice 0, 1, ... of the scenario's seed are simulated until COHORT have reached the start of
 * treatment (the point of assignment: lines start at diagnosis). Each history is continued
 * under the three arms (the paired design, metasim_sim_fork()): control, pi3k_mtor and
 * combination. Read from each continuation: the share of STAT5-active cells in the primary
 * EARLY days after the start, the primary's cells at GROWTH days, the lung lesions of at least
 * MET_CELLS cells (about 0.1 mm3) at METS days, and the time of death up to FOLLOW_UP days. A
 * mouse that dies earlier is read at its death.
 *
 * Claims, each one-sided at level 1e-3 (a normal statistic beyond 3.09 standard errors):
 *   (a) the JAK2 inhibitor adds to the PI3K/mTOR inhibitor's effect on tumour growth: in more
 *       mice the primary is smaller at GROWTH days under the combination than under the
 *       PI3K/mTOR inhibitor alone than the other way round; exact sign test on the mice whose
 *       two sizes differ (binomial tail, p = 1/2: under no effect the two continuations of
 *       one history are exchangeable);
 *   (b) ... on metastasis: in more mice there are fewer lung metastases at METS days under the
 *       combination than under the PI3K/mTOR inhibitor alone than the other way round; exact
 *       sign test as (a);
 *   (c) ... on survival: in more mice the combination outlives the PI3K/mTOR inhibitor alone
 *       than the other way round; exact sign test on the mice with at least one death up to
 *       FOLLOW_UP days and different times (both continuations censored at the same time, so
 *       exchangeable under no effect);
 *   (d) the PI3K/mTOR inhibitor enriches STAT5-active cells: the share of them in the primary
 *       EARLY days after the start is higher under the inhibitor than in the control in more
 *       mice than the other way round; exact sign test;
 *   (e) the JAK2 inhibitor undoes it: the share is lower under the combination than under the
 *       PI3K/mTOR inhibitor alone in more mice than the other way round; exact sign test;
 *   (f) STAT5-active cells are the tumour-initiating ones: under the PI3K/mTOR inhibitor, a
 *       lung lesion founded by a STAT5-active cell (up to FOUNDED days after the start of
 *       treatment, earlier ones included) is a metastasis at METS days more often than one
 *       founded by a bulk cell. Cochran-Mantel-Haenszel test over mice as strata (lesions are
 *       independent given the mouse's history; the strata absorb what differs between mice),
 *       Z = (sum a - sum E[a] - 1/2) / sqrt(sum Var a) with the hypergeometric mean and
 *       variance of each mouse's 2x2 table.
 * The scenario's values were chosen to reproduce the directions of the paper's findings (its
 * comments say which); the cohort, seed, times, thresholds and levels were set before this
 * test's figures were read. The figures are printed for the study page.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "study.h"
#include "unit_test.h"

enum { COHORT = 400, ARMS = 3, MAX_LESIONS = 1 << 16 };
#define LEVEL 1e-3
#define EARLY 14.0      /* d after the start of treatment: enrichment */
#define GROWTH 28.0     /* d: the primary's size */
#define FOUNDED 28.0    /* d: lung lesions founded up to then, for claim (f) */
#define METS 56.0       /* d: lung metastases */
#define FOLLOW_UP 112.0 /* d: 16 weeks */
#define MET_CELLS 1e5

/* The state of each lesion's founding cell, from the writer's lesion events. */
typedef struct founders {
    signed char stat5[MAX_LESIONS]; /* 1 STAT5-active, 0 bulk, -1 not seen */
} founders_t;

static int on_event(void *user, const metasim_event_t *e)
{
    founders_t *f = user;
    if (e->kind == METASIM_EVENT_LESION) {
        ck_assert_uint_lt(e->lesion, MAX_LESIONS);
        f->stat5[e->lesion] = strcmp(e->detail, "stat5_active") == 0;
    }
    return 0;
}

typedef struct census {
    double stat5, all;
} census_t;

static int on_sample(void *user, const metasim_sample_t *x)
{
    census_t *c = user;
    if (x->lesion == 0) {
        c->all += x->cells;
        if (strcmp(x->state, "stat5_active") == 0)
            c->stat5 += x->cells;
    }
    return 0;
}

/* The share of STAT5-active cells in the primary now (0 for an empty primary). */
static double stat5_share(const metasim_sim_t *s)
{
    census_t c = {0, 0};
    metasim_writer_t w = {.user = &c, .sample = on_sample};
    ck_assert_int_eq(metasim_sim_snapshot(s, &w), 0);
    return c.all > 0 ? c.stat5 / c.all : 0;
}

/* Runs an arm on to t unless its mouse has died; records the death. */
static void run_to(metasim_sim_t *s, double t, double t0, double *death)
{
    if (isfinite(*death))
        return;
    int rc = metasim_sim_run(s, t, 0);
    ck_assert_int_gt(rc, 0);
    if (rc == METASIM_STOP_DEATH)
        *death = metasim_sim_time(s) - t0;
}

START_TEST(test_il8_stat5)
{
    const char *names[ARMS] = {"control", "pi3k_mtor", "combination"};
    unsigned arms[ARMS];
    unsigned long long seed = 0;
    metasim_model_t *m = study_open("il8_stat5_tnbc", ARMS, names, arms, &seed);
    const size_t il8 = 0; /* the scenario's only factor */
    founders_t *founders = malloc(sizeof *founders);
    ck_assert_ptr_nonnull(founders);
    metasim_writer_t w = {.user = founders, .event = on_event};

    int n = 0;
    double start_sum = 0, start_cells = 0, share0 = 0;
    double share[ARMS] = {0}, il8_per_1e8[ARMS] = {0}, growth[ARMS] = {0}, mets[ARMS] = {0};
    int with_mets[ARMS] = {0}, deaths[ARMS] = {0};
    double death_sum[ARMS] = {0};
    unsigned smaller = 0, larger = 0, fewer = 0, more = 0, outlives = 0, outlived = 0;
    unsigned enriched = 0, depleted = 0, undone = 0, not_undone = 0;
    cmh_t cmh = {0}; /* claim (f) */
    unsigned p;
    for (p = 0; n < COHORT && p < 10 * COHORT; p++) {
        memset(founders->stat5, -1, sizeof founders->stat5);
        metasim_sim_t *s = study_treated(m, seed, p, &w);
        if (!s)
            continue;
        double t0 = metasim_sim_time(s);
        metasim_lesion_info_t info;
        ck_assert_int_eq(metasim_sim_lesion_info(s, 0, &info), 0);
        double cells0 = info.cells;
        share0 += stat5_share(s);
        double fraction[ARMS], size[ARMS], count[ARMS], death[ARMS];
        for (int a = 0; a < ARMS; a++) {
            metasim_sim_t *arm = NULL;
            /* Only the PI3K/mTOR arm's lesion events are recorded, for claim (f). */
            ck_assert_int_eq(metasim_sim_fork(s, arms[a], a == 1 ? &w : NULL, &arm), 0);
            death[a] = INFINITY;
            run_to(arm, t0 + EARLY, t0, &death[a]);
            fraction[a] = stat5_share(arm);
            ck_assert_int_eq(metasim_sim_lesion_info(arm, 0, &info), 0);
            il8_per_1e8[a] += metasim_sim_factor(arm, 0, il8) / fmax(info.cells / 1e8, 1e-8);
            run_to(arm, t0 + GROWTH, t0, &death[a]);
            ck_assert_int_eq(metasim_sim_lesion_info(arm, 0, &info), 0);
            size[a] = info.cells;
            run_to(arm, t0 + METS, t0, &death[a]);
            count[a] = 0;
            double table[2][2] = {{0, 0}, {0, 0}}; /* [stat5 founder][metastasis] */
            for (size_t i = 1; i < metasim_sim_lesions(arm); i++) {
                ck_assert_int_eq(metasim_sim_lesion_info(arm, i, &info), 0);
                ck_assert_str_eq(info.site, "lung");
                int big = info.cells >= MET_CELLS;
                count[a] += big;
                if (a == 1 && info.founded <= t0 + FOUNDED) {
                    ck_assert_int_ge(founders->stat5[i], 0);
                    table[founders->stat5[i]][big] += 1;
                }
            }
            if (a == 1)
                cmh_add(&cmh, table);
            run_to(arm, t0 + FOLLOW_UP, t0, &death[a]);
            metasim_sim_destroy(arm);
        }
        n++;
        start_sum += t0;
        start_cells += log10(cells0);
        smaller += size[2] < size[1];
        larger += size[2] > size[1];
        fewer += count[2] < count[1];
        more += count[2] > count[1];
        outlives += death[2] > death[1];
        outlived += death[2] < death[1];
        enriched += fraction[1] > fraction[0];
        depleted += fraction[1] < fraction[0];
        undone += fraction[2] < fraction[1];
        not_undone += fraction[2] > fraction[1];
        for (int a = 0; a < ARMS; a++) {
            share[a] += fraction[a];
            growth[a] += log10(fmax(size[a], 1.0) / cells0);
            mets[a] += count[a];
            with_mets[a] += count[a] > 0;
            if (isfinite(death[a])) {
                deaths[a]++;
                death_sum[a] += death[a];
            }
        }
        metasim_sim_destroy(s);
    }
    free(founders);
    ck_assert_int_eq(n, COHORT);

    double pa = sign_test(smaller, larger), pb = sign_test(fewer, more);
    double pc = sign_test(outlives, outlived), pd = sign_test(enriched, depleted);
    double pe = sign_test(undone, not_undone);
    double z, pf = cmh_p(&cmh, &z);
    printf("il8_stat5_tnbc, seed %llu: %d mice treated (of %u), from %.1f d after the injection "
           "on average, at 10^%.2f cells; STAT5-active share then %.4f\n",
           seed, n, p, start_sum / n, start_cells / n, share0 / n);
    for (int a = 0; a < ARMS; a++)
        printf("  %-11s day %.0f: STAT5-active share %.4f, IL-8 %.3f a.u. per 1e8 primary cells; "
               "day %.0f: primary log10 change %+.2f; day %.0f: lung metastases (>= %.0e cells) "
               "%.3f a mouse, %d mice with any; deaths by day %.0f: %d (mean day %.1f)\n",
               names[a], EARLY, share[a] / n, il8_per_1e8[a] / n, GROWTH, growth[a] / n, METS,
               MET_CELLS, mets[a] / n, with_mets[a], FOLLOW_UP, deaths[a],
               deaths[a] ? death_sum[a] / deaths[a] : NAN);
    printf("  (a) primary smaller under the combination in %u mice, larger in %u: sign test "
           "p = %.3g\n",
           smaller, larger, pa);
    printf("  (b) fewer lung metastases under the combination in %u mice, more in %u: sign test "
           "p = %.3g\n",
           fewer, more, pb);
    printf("  (c) the combination outlives the PI3K/mTOR inhibitor in %u mice, the other way in "
           "%u: sign test p = %.3g\n",
           outlives, outlived, pc);
    printf("  (d) STAT5-active share higher under the PI3K/mTOR inhibitor than in the control in "
           "%u mice, lower in %u: sign test p = %.3g\n",
           enriched, depleted, pd);
    printf("  (e) STAT5-active share lower under the combination than under the PI3K/mTOR "
           "inhibitor in %u mice, higher in %u: sign test p = %.3g\n",
           undone, not_undone, pe);
    printf("  (f) PI3K/mTOR inhibitor, lung lesions founded by day %.0f that are metastases on "
           "day %.0f: %.0f of %.0f founded by STAT5-active cells (%.1f %%), %.0f of %.0f by bulk "
           "cells (%.1f %%); CMH over mice %.0f observed, %.1f expected, SE %.2f, z = %.2f, "
           "p = %.3g\n",
           FOUNDED, METS, cmh.grew[1], cmh.founded[1], 100 * cmh.grew[1] / cmh.founded[1],
           cmh.grew[0], cmh.founded[0], 100 * cmh.grew[0] / cmh.founded[0], cmh.observed,
           cmh.expected, sqrt(cmh.variance), z, pf);
    fflush(stdout);
    ck_assert_msg(pa < LEVEL, "(a): p = %g", pa);
    ck_assert_msg(pb < LEVEL, "(b): p = %g", pb);
    ck_assert_msg(pc < LEVEL, "(c): p = %g", pc);
    ck_assert_msg(pd < LEVEL, "(d): p = %g", pd);
    ck_assert_msg(pe < LEVEL, "(e): p = %g", pe);
    ck_assert_msg(pf < LEVEL, "(f): p = %g", pf);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("il8_stat5");
    TCase *tc = tcase_create("il8_stat5");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_il8_stat5);
    suite_add_tcase(s, tc);
    return s;
}
