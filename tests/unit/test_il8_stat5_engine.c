/* Unit tests of the two engine features the IL-8/JAK2/STAT5 study needed (docs/studies/
 * il8_stat5.md): shedding that differs by cell state (`sites.<name>.state_shedding`, in
 * src/engine/rates.c, and its bound for the drug step rule in src/model/model.c), and a drug
 * effect that raises a factor's production by a fold (`max_fold`, src/engine/factors.c). The
 * loader's refusals are in tests/bad-scenarios. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "fixture.h"
#include "metasim/metasim.h"
#include "unit_test.h"

#define SHEDDING                                                                                   \
    "scenario: {name: t}\ntime: {horizon: 1 y}\n"                                                  \
    "states: [stat5]\n"                                                                            \
    "sites: {p: {shedding: 0.01 /d, state_shedding: {stat5: 4},"                                   \
    " division: {cycling: 0.1, stat5: 0.1}, death: {cycling: 0.1, stat5: 0.1}},"                   \
    " q: {shedding: 0.02 /d, blood_flow: 50 %, colonisation: 1e-3}}\n"                             \
    "primary: {site: p, initial_cells: 10}\n"                                                      \
    "loci: {invasive: {mutation_probability: 0, shedding: 3}}\n"                                   \
    "factors: {f: {decay: 0 /d, initial: 1}}\n"                                                    \
    "modifiers: [{factor: f, rate: shedding, state: stat5, max_effect: 0.5, ec50: 1}]\n"           \
    "drugs: {a: {pk: {half_life: 1 d, volume: 1 L}, effects: ["                                    \
    "{target: shedding, max_block: 0.5, ec50: 1 mg/L},"                                            \
    " {target: shedding, state: cycling, max_block: 0.5, ec50: 1 mg/L}]}}\n"                       \
    "regimens: {r: {doses: [{drug: a, amount: 1 mg}]}}\n"                                          \
    "arms: {a: {lines: [{regimen: r, start: diagnosis}]}}\n"

/* Per-cell shedding is the site's rate times the state's factor (1 for states not listed),
 * times the clone's locus factors and the state's modifiers, and what drugs leave of it:
 * cycling 0.01, stat5 0.01 x 4 x (1 - 0.5/2) = 0.03, dormant 0.01; a clone carrying
 * `invasive` three times that; under the first effect at H = 1/2, 3/4 of it. */
START_TEST(test_state_shedding_rates)
{
    metasim_model_t *m = load_yaml(SHEDDING);
    metasim_sim_t *s = start_sim(m, 1, 0);
    ms_lesion *l = &s->p.lesions[0];
    uint32_t stat5 = ms_lesion_comp(l, 0, 2), dormant = ms_lesion_comp(l, 0, MS_STATE_DORMANT);
    ms_lesion_set(l, stat5, 5);
    ms_lesion_set(l, dormant, 5);
    ms_rates r;
    ms_engine_env(s, l);
    ms_engine_rates(s, l, 0, &r);
    ck_assert_double_eq_tol(r.shed, 0.01, 1e-15);
    ms_engine_rates(s, l, stat5, &r);
    ck_assert_double_eq_tol(r.shed, 0.03, 1e-15);
    ms_engine_rates(s, l, dormant, &r);
    ck_assert_double_eq_tol(r.shed, 0.01, 1e-15);
    /* The same states in a clone carrying `invasive`. */
    s->traits[0].shedding = 3;
    ms_engine_rates(s, l, stat5, &r);
    ck_assert_double_eq_tol(r.shed, 0.09, 1e-15);
    s->traits[0].shedding = 1;
    /* Drug a at 1 mg/L on every node: each effect blocks 1/4. Stat5 cells meet the first,
     * cycling cells both (Bliss: (3/4)^2). */
    s->treated = true;
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        s->conc[q] = 1;
    ms_engine_rates(s, l, stat5, &r);
    ck_assert_double_eq_tol(r.shed, 0.03 * 0.75, 1e-15);
    ms_engine_rates(s, l, 0, &r);
    ck_assert_double_eq_tol(r.shed, 0.01 * 0.75 * 0.75, 1e-15);
    /* The step rule's bound for each effect: max_block times the largest shedding rate it can
     * block, the state's factor included (0.04 at p for every state; 0.02 at q for cycling). */
    ck_assert_double_eq_tol(m->drugs[0].effects[0].rate_scale, 0.5 * 0.04, 1e-15);
    ck_assert_double_eq_tol(m->drugs[0].effects[1].rate_scale, 0.5 * 0.02, 1e-15);
    ms_lesion_set(l, stat5, 0);
    ms_lesion_set(l, dormant, 0);
    ms_lesion_prune(l);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* End to end: 1e4 cells that neither divide nor die, all in a state that sheds 4 times the
 * site's 1e-3 /d, for 10 days. Each cell leaves by day 10 with probability
 * P = 1 - exp(-0.004 x 10) = 0.0392, independently, so the count shed is Binomial(1e4, P):
 * mean 392.1, SE sqrt(1e4 P (1 - P)) = 19.4. Checked within 5 SE (a false alarm about once
 * in 1.7 million seeds); the site's own rate alone would give 99.5. */
START_TEST(test_state_shedding_counts)
{
    metasim_model_t *m =
        load_yaml("scenario: {name: t}\ntime: {horizon: 1 y}\n"
                  "states: [stat5]\n"
                  "sites: {p: {shedding: 1e-3 /d, state_shedding: {stat5: 4}}}\n"
                  "primary: {site: p, initial_cells: 10000, initial_state: stat5}\n");
    metasim_sim_t *s = start_sim(m, 7, 0);
    ck_assert_int_eq(metasim_sim_run(s, 10, 0), METASIM_STOP_TIME);
    metasim_counts_t c;
    ck_assert_int_eq(metasim_sim_counts(s, &c), 0);
    double p = -expm1(-0.004 * 10), mean = 1e4 * p, se = sqrt(1e4 * p * (1 - p));
    printf("state_shedding: %llu shed, expected %.1f (SE %.1f)\n", c.shed, mean, se);
    ck_assert_double_le(fabs((double)c.shed - mean), 5 * se);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

#define FOLD(extra)                                                                                \
    "scenario: {name: f}\ntime: {horizon: 10}\n" extra "sites: {t: {}}\n"                          \
    "primary: {site: t, initial_cells: 100}\n"                                                     \
    "factors: {tnf: {decay: 0 /d, initial: 1},"                                                    \
    " il8: {decay: 0.5 /d, source: 1 /d, production: {cycling: 0.02 /d}}}\n"                       \
    "modifiers: [{factor: tnf, rate: production, of: il8, max_effect: 3, ec50: 1}]\n"              \
    "drugs: {p: {pk: {half_life: 1 d, volume: 1 L}, effects: ["                                    \
    "{target: factor, factor: il8, max_fold: 5, ec50: 1 mg/L},"                                    \
    " {target: factor, factor: il8, max_block: 0.6, max_induction: 2, ec50: 2 mg/L}]},"            \
    " q: {pk: {half_life: 1 d, volume: 1 L}, effects: ["                                           \
    "{target: factor, factor: il8, max_fold: 3, max_block: 0.5, ec50: 1 mg/L}]}}\n"                \
    "regimens: {r: {doses: [{drug: p, amount: 1 mg}, {drug: q, amount: 1 mg}]}}\n"                 \
    "arms: {a: {lines: [{regimen: r, start: diagnosis}]}}\n"

/* One step of ms_engine_factors with the drugs at set concentrations on the quadrature nodes,
 * against the closed form F = (left G (source + p N) + induced) (1 - e^{-k tau}) / k from
 * F0 = 0, where at each node the folds 1 + (max_fold - 1) H multiply what the blocks leave,
 * and `left` and `induced` are the node averages. */
static void check_fold(const char *yaml, bool additive)
{
    metasim_model_t *m = load_yaml(yaml);
    metasim_sim_t *s = start_sim(m, 1, 0);
    s->treated = true;
    /* Drug p at 0, 1 and 3 mg/L, drug q at 1, 1 and 0 mg/L on the three nodes. */
    const double cp[MS_DRUG_NODES] = {0, 1, 3}, cq[MS_DRUG_NODES] = {1, 1, 0};
    double left = 0, induced = 0;
    for (size_t q = 0; q < MS_DRUG_NODES; q++) {
        s->conc[q] = cp[q];
        s->conc[MS_DRUG_NODES + q] = cq[q];
        double h1 = cp[q] / (1 + cp[q]), h2 = cp[q] / (2 + cp[q]), h3 = cq[q] / (1 + cq[q]);
        double kept =
            additive ? fmax(0.0, 1 - 0.6 * h2 - 0.5 * h3) : (1 - 0.6 * h2) * (1 - 0.5 * h3);
        left += ms_drug_weight[q] * kept * (1 + 4 * h1) * (1 + 2 * h3);
        induced += ms_drug_weight[q] * 2 * h2;
    }
    ms_lesion *l = &s->p.lesions[0];
    s->cs = calloc(1, sizeof *s->cs);
    ck_assert_ptr_nonnull(s->cs);
    s->cap_cs = 1;
    s->cs[0].start = l->comps[0].n;
    const double k = 0.5, tau = 0.3, g = 2; /* the tnf gain at level 1: 1 + 2 x 1/2 */
    ck_assert_double_eq_tol(ms_engine_factor_slope(s, l, 1), left * g * (1 + 0.02 * 100) + induced,
                            1e-12);
    ms_engine_factors(s, l, tau);
    double want = (left * g * (1 + 0.02 * 100) + induced) * -expm1(-k * tau) / k;
    ck_assert_double_eq_tol(l->factors[1], want, 1e-12 * want);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}

START_TEST(test_fold_bliss)
{
    check_fold(FOLD(""), false);
}
END_TEST

START_TEST(test_fold_additive)
{
    check_fold(FOLD("therapy: {combination: additive}\n"), true);
}
END_TEST

/* Over a whole run under a constant concentration (a 1e9 mg bolus with a 1e6-day half-life,
 * H = 1 - 1e-9): cells that neither divide nor die raise the level to the steady state
 * max_fold p N / k, five times that of the untreated arm. */
START_TEST(test_fold_steady_state)
{
    const char *yaml = "scenario: {name: f}\ntime: {horizon: 100}\nsites: {t: {}}\n"
                       "primary: {site: t, initial_cells: 1000, detection_cells: 1000}\n"
                       "factors: {il8: {decay: 2 /d, production: {cycling: 1e-3 /d}}}\n"
                       "drugs: {p: {pk: {half_life: 1e6 d, volume: 1 L}, effects: ["
                       "{target: factor, factor: il8, max_fold: 5, ec50: 1 mg/L}]}}\n"
                       "regimens: {r: {doses: [{drug: p, amount: 1e9 mg}]}}\n"
                       "arms: {none: {lines: []}, p: {lines: [{regimen: r, start: diagnosis}]}}\n";
    metasim_model_t *m = load_yaml(yaml);
    for (unsigned arm = 1; arm <= 2; arm++) {
        metasim_sim_options_t o = {.seed = 1, .arm = arm, .verify = 1};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        ck_assert_int_gt(metasim_sim_run(s, 30, 0), 0);
        double want = (arm == 2 ? 1 + 4 * (1 - 1e-9) : 1) * 1e-3 * 1000 / 2;
        ck_assert_double_eq_tol(metasim_sim_factor(s, 0, 0), want, 1e-9 * want);
        metasim_sim_destroy(s);
    }
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("il8_stat5_engine");
    TCase *tc = tcase_create("il8_stat5_engine");
    tcase_add_test(tc, test_state_shedding_rates);
    tcase_add_test(tc, test_state_shedding_counts);
    tcase_add_test(tc, test_fold_bliss);
    tcase_add_test(tc, test_fold_additive);
    tcase_add_test(tc, test_fold_steady_state);
    suite_add_tcase(s, tc);
    return s;
}
