/* What the studies' virtual experiments share (tests/stats/test_*.c): opening a built-in study
 * with its arms, each animal's history up to treatment, and the two tests their paired claims
 * use. */
#ifndef METASIM_TESTS_STUDY_H
#define METASIM_TESTS_STUDY_H

#include <check.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>

#include "metasim/metasim.h"

/* One-sided exact sign test: P(X >= wins) for X ~ Binomial(wins + losses, 1/2). Under no effect
 * each pair's difference is as likely to go either way, so its sign is a fair coin. */
static inline double sign_test(unsigned wins, unsigned losses)
{
    return wins ? gsl_cdf_binomial_Q(wins - 1, 0.5, wins + losses) : 1.0;
}

/* A pair of counters for a sign test over animals: `wins` when the claimed direction holds. */
typedef struct tally {
    unsigned wins, losses;
} tally_t;

/* Counts one animal for a claim that `claimed` is below `other`; ties count for neither. */
static inline void tally_count(tally_t *t, double claimed, double other)
{
    t->wins += claimed < other;
    t->losses += claimed > other;
}

typedef struct claim {
    const char *what;
    tally_t t;
} claim_t;

/* Prints each claim's sign test, then asserts that each holds at `level`. */
static inline void claims_check(const claim_t *claims, int n, double level)
{
    double p[n];
    for (int c = 0; c < n; c++) {
        p[c] = sign_test(claims[c].t.wins, claims[c].t.losses);
        printf("  %s: in %u animals, the other way in %u: sign test p = %.3g\n", claims[c].what,
               claims[c].t.wins, claims[c].t.losses, p[c]);
    }
    fflush(stdout);
    for (int c = 0; c < n; c++)
        ck_assert_msg(p[c] < level, "%s: p = %g", claims[c].what, p[c]);
}

/* The Cochran-Mantel-Haenszel test over strata (animals) of 2 x 2 tables [exposed][outcome]:
 * whether lesions founded by exposed cells (a gain, an adaptive state) more often reach the
 * outcome. Lesions are compared within their own animal, so differences between animals do
 * not confound. */
typedef struct cmh {
    double observed, expected, variance; /* exposed with the outcome, its mean and variance */
    double founded[2], grew[2];          /* totals by exposure: lesions, those with the outcome */
} cmh_t;

static inline void cmh_add(cmh_t *c, const double table[2][2])
{
    double n1 = table[1][0] + table[1][1], n0 = table[0][0] + table[0][1];
    double m1 = table[0][1] + table[1][1], all = n0 + n1;
    c->founded[0] += n0, c->founded[1] += n1;
    c->grew[0] += table[0][1], c->grew[1] += table[1][1];
    if (all > 1) { /* the hypergeometric mean and variance of the exposed with the outcome */
        c->observed += table[1][1];
        c->expected += n1 * m1 / all;
        c->variance += n1 * n0 * m1 * (all - m1) / (all * all * (all - 1));
    }
}

/* One-sided p-value (exposed more often) with continuity correction; z through `z`. */
static inline double cmh_p(const cmh_t *c, double *z)
{
    *z = (c->observed - c->expected - 0.5) / sqrt(c->variance);
    return gsl_cdf_ugaussian_Q(*z);
}

/* Loads built-in scenario `name` and looks up its arms by name; the seed into *seed. */
static inline metasim_model_t *study_open(const char *name, int n_arms, const char *const *names,
                                          unsigned *arms, unsigned long long *seed)
{
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_builtin(name, &m), 0);
    ck_assert(metasim_model_seed(m, seed));
    for (int a = 0; a < n_arms; a++) {
        arms[a] = metasim_model_arm(m, names[a]);
        ck_assert_msg(arms[a] > 0, "%s has no arm %s", name, names[a]);
    }
    return m;
}

/* Animal p's history up to the start of its treatment, for continuing under each arm
 * (metasim_sim_fork); NULL when it dies or reaches the horizon first. */
static inline metasim_sim_t *study_treated(const metasim_model_t *m, unsigned long long seed,
                                           unsigned p, metasim_writer_t *writer)
{
    metasim_sim_options_t o = {
        .seed = seed, .patient = p, .stop_at_treatment = 1, .writer = writer};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    int rc = metasim_sim_run(s, metasim_model_horizon(m), 0);
    ck_assert_int_gt(rc, 0);
    if (rc == METASIM_STOP_TREATMENT)
        return s;
    metasim_sim_destroy(s);
    return NULL;
}

#endif
