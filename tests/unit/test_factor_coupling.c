/* Unit tests of the factor couplings (src/engine/factors.c, rates.c): modifiers of another
 * factor's production (`rate: production`, `of`) against the factor ODE's closed form, taken at
 * the step's start, and modifiers of the death rate drugs add (`rate: drug_kill`) on the
 * per-cell rates. The loader's refusals of bad couplings are in tests/bad-scenarios. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "fixture.h"
#include "metasim/metasim.h"
#include "unit_test.h"

/* The Hill term 1 + (max - 1) F^h / (ec50^h + F^h). */
static double hill(double max, double ec50, double h, double level)
{
    return 1 + (max - 1) * pow(level, h) / (pow(ec50, h) + pow(level, h));
}

/* Cells that neither divide nor die, and constant modifying levels (decay 0, no production),
 * so that every gain is constant and each level follows the closed form of docs/model.md
 * with its production multiplied by the gain G:
 *     F(t) = F0 e^{-kt} + G (source + p N) (1 - e^{-kt}) / k.
 * cxcl1's production (cells and source) is raised by tnf and lowered by il10 (two modifiers
 * multiply). cxcl1 starts at its steady state G (s + p N) / k, so it stays constant too, and
 * myeloid, whose source cxcl1 raises, follows the closed form with the gain at that level.
 * Steps are 0.37 d at most, so each checked time lies several steps in. */
START_TEST(test_production_closed_form)
{
    const double n = 1000, k = 0.5, src = 2, p = 0.01, tnf = 3, il10 = 0.5;
    const double g = hill(4, 1, 2, tnf) * hill(0.5, 1, 1, il10);
    const double c_ss = g * (src + p * n) / k;
    const double km = 0.2, sm = 0.3, m0 = 1.5, gm = hill(10, 20, 1.5, c_ss);
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "scenario: {name: f}\ntime: {horizon: 20}\n"
             "sites: {t: {}}\nprimary: {site: t, initial_cells: %.0f}\n"
             "factors: {tnf: {decay: 0 /d, initial: %g},"
             " il10: {decay: 0 /d, initial: %g},"
             " cxcl1: {decay: %g /d, source: %g /d, initial: %.17g,"
             " production: {cycling: %g /d}},"
             " myeloid: {decay: %g /d, source: %g /d, initial: %g}}\n"
             "modifiers: [{factor: tnf, rate: production, of: cxcl1, max_effect: 4, ec50: 1,"
             " hill: 2},"
             " {factor: il10, rate: production, of: cxcl1, max_effect: 0.5, ec50: 1},"
             " {factor: cxcl1, rate: production, of: myeloid, max_effect: 10, ec50: 20,"
             " hill: 1.5}]\n"
             "engine: {max_step: 0.37 d}\n",
             n, tnf, il10, k, src, c_ss, p, km, sm, m0);
    metasim_model_t *m = load_yaml(yaml);
    metasim_sim_t *s = start_sim(m, 1, 0);
    const double times[] = {0.5, 3, 10, 20};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(metasim_sim_run(s, times[i], 0), METASIM_STOP_TIME);
        double t = times[i];
        ck_assert_double_eq(metasim_sim_factor(s, 0, 0), tnf);
        ck_assert_double_eq_tol(metasim_sim_factor(s, 0, 2), c_ss, 1e-12 * c_ss);
        double want = m0 * exp(-km * t) + gm * sm * -expm1(-km * t) / km;
        ck_assert_double_eq_tol(metasim_sim_factor(s, 0, 3), want, 1e-12 * want);
    }
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* Over one step, the gain is the Hill term at the modifying level of the step's start, even
 * when that level moves during the step and is declared (and so advanced) first: tnf decays
 * from 2 at 1 /d, and cxcl1 over a step of 0.25 d follows the closed form with G(tnf(0)) = 3,
 * not G(tnf(0.25)) = 2.75. Checked again on a second step, from tnf(0.25). */
START_TEST(test_production_at_step_start)
{
    metasim_model_t *m = load_yaml(
        "scenario: {name: f}\ntime: {horizon: 10}\n"
        "sites: {t: {}}\nprimary: {site: t, initial_cells: 100}\n"
        "factors: {tnf: {decay: 1 /d, initial: 2},"
        " cxcl1: {decay: 0.5 /d, source: 1 /d, initial: 4, production: {cycling: 0.02 /d}}}\n"
        "modifiers: [{factor: tnf, rate: production, of: cxcl1, max_effect: 5, ec50: 2}]\n"
        "engine: {max_step: 0.25 d, step_bound: 1}\n");
    metasim_sim_t *s = start_sim(m, 1, 0);
    double tnf = 2, c = 4, k = 0.5, tau = 0.25;
    for (int step = 1; step <= 2; step++) {
        ck_assert_int_eq(metasim_sim_run(s, step * tau, 0), METASIM_STOP_TIME);
        double g = hill(5, 2, 1, tnf);
        c = c * exp(-k * tau) + g * (1 + 0.02 * 100) * -expm1(-k * tau) / k;
        tnf *= exp(-tau);
        ck_assert_double_eq_tol(metasim_sim_factor(s, 0, 0), tnf, 1e-12 * tnf);
        ck_assert_double_eq_tol(metasim_sim_factor(s, 0, 1), c, 1e-12 * c);
    }
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* A drug blocking the factor and one inducing it: the gain multiplies what the block leaves of
 * production (cells and source), and the induced production is added unscaled. Checked on
 * ms_engine_factors directly at saturating concentrations (H = 1 to 1e-9). */
START_TEST(test_production_with_drugs)
{
    metasim_model_t *m = load_yaml(
        "scenario: {name: f}\ntime: {horizon: 10}\n"
        "sites: {t: {}}\nprimary: {site: t, initial_cells: 100}\n"
        "factors: {tnf: {decay: 0 /d, initial: 1},"
        " myeloid: {decay: 0.5 /d, source: 1 /d, production: {cycling: 0.02 /d}}}\n"
        "modifiers: [{factor: tnf, rate: production, of: myeloid, max_effect: 3, ec50: 1}]\n"
        "drugs: {b: {pk: {half_life: 1 d, volume: 1 L}, effects: ["
        "{target: factor, factor: myeloid, max_block: 0.75, max_induction: 5, ec50: 1 "
        "mg/L}]}}\n"
        "regimens: {r: {doses: [{drug: b, amount: 1 mg}]}}\n"
        "arms: {a: {lines: [{regimen: r, start: diagnosis}]}}\n");
    metasim_sim_t *s = start_sim(m, 1, 0);
    s->treated = true;
    for (size_t q = 0; q < MS_DRUG_NODES; q++)
        s->conc[q] = 1e9;
    ms_lesion *l = &s->p.lesions[0];
    /* The step's workspace, as step.c grows it; the count is constant over the step. */
    s->cs = calloc(1, sizeof *s->cs);
    ck_assert_ptr_nonnull(s->cs);
    s->cap_cs = 1;
    s->cs[0].start = l->comps[0].n;
    double tau = 0.3, k = 0.5, g = hill(3, 1, 1, 1);
    ms_engine_factors(s, l, tau);
    double want = (g * 0.25 * (1 + 0.02 * 100) + 5) * -expm1(-k * tau) / k;
    ck_assert_double_eq_tol(l->factors[1], want, 1e-8 * want);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

#define PROTECTED                                                                                  \
    "scenario: {name: t}\ntime: {horizon: 1 y}\n"                                                  \
    "states: [tolerant]\n"                                                                         \
    "sites: {p: {division: {cycling: 1, tolerant: 1}, death: {cycling: 0.1, tolerant: 0.2}}}\n"    \
    "primary: {site: p, initial_cells: 10}\n"                                                      \
    "factors: {s100: {decay: 0 /d, initial: 2}}\n"                                                 \
    "modifiers: [{factor: s100, rate: death, max_effect: 0.5, ec50: 1},"                           \
    " {factor: s100, rate: drug_kill, max_effect: 0.2, ec50: 1, hill: 2},"                         \
    " {factor: s100, rate: drug_kill, state: tolerant, max_effect: 0, ec50: 2}]\n"                 \
    "drugs: {a: {pk: {half_life: 1 d, volume: 1 L}, effects: ["                                    \
    "{target: death, max_kill: 0.3 /d, ec50: 1 mg/L}]},"                                           \
    " b: {pk: {half_life: 1 d, volume: 1 L}, effects: ["                                           \
    "{target: death, max_kill: 0.6 /d, ec50: 2 mg/L, state: cycling}]}}\n"                         \
    "regimens: {r: {doses: [{drug: a, amount: 1 mg}]}}\n"                                          \
    "arms: {a: {lines: [{regimen: r, start: diagnosis}]}}\n"

/* A drug_kill modifier multiplies the death rate that drugs add, after the death modifier has
 * multiplied the baseline: death = d0 H_death(F) + H_kill(F) sum_drugs kill. Several drug_kill
 * modifiers multiply, and `state` restricts one to a state. With s100 at 2:
 * H_death = 1 - 0.5 (2/3) = 2/3, H_kill = 1 - 0.8 (4/5) = 0.36, and for tolerant cells also
 * 1 - 1/2 = 1/2. Concentrations are set per drug and quadrature node. */
START_TEST(test_drug_kill_modifier)
{
    metasim_model_t *m = load_yaml(PROTECTED);
    metasim_sim_t *s = start_sim(m, 1, 0);
    ms_lesion *l = &s->p.lesions[0];
    const double h_death = 2.0 / 3, h_kill = 0.36, h_tolerant = 0.5;
    ms_rates r;
    /* Untreated: the baseline death modifier only. */
    ms_engine_env(s, l);
    ms_engine_rates(s, l, 0, &r);
    ck_assert_double_eq_tol(r.death, 0.1 * h_death, 1e-15);
    /* Drug a at 1, 3 and 0 mg/L on the nodes (H = 1/2, 3/4, 0) and b at 2 mg/L (H = 1/2). */
    s->treated = true;
    const double c_a[MS_DRUG_NODES] = {1, 3, 0}, h_a[MS_DRUG_NODES] = {0.5, 0.75, 0};
    double kill_a = 0;
    for (size_t q = 0; q < MS_DRUG_NODES; q++) {
        s->conc[q] = c_a[q];
        s->conc[MS_DRUG_NODES + q] = 2;
        kill_a += ms_drug_weight[q] * 0.3 * h_a[q];
    }
    ms_engine_env(s, l);
    ms_engine_rates(s, l, 0, &r); /* the founder: cycling, killed by a and b */
    ck_assert_double_eq_tol(r.death, 0.1 * h_death + h_kill * (kill_a + 0.6 * 0.5), 1e-12);
    /* Tolerant cells: b spares them; both drug_kill modifiers apply. */
    uint32_t k = ms_lesion_comp(l, 0, 2);
    ms_lesion_set(l, k, 5);
    ms_engine_env(s, l);
    ms_engine_rates(s, l, k, &r);
    ck_assert_double_eq_tol(r.death, 0.2 * h_death + h_kill * h_tolerant * kill_a, 1e-12);
    ms_lesion_set(l, k, 0);
    ms_lesion_prune(l);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* Without drugs present, a drug_kill modifier changes nothing, whatever its level. */
START_TEST(test_drug_kill_without_drugs)
{
    metasim_model_t *m = load_yaml(PROTECTED);
    metasim_sim_t *s = start_sim(m, 1, 0);
    s->treated = true; /* assigned, but every concentration 0 */
    ms_lesion *l = &s->p.lesions[0];
    ms_engine_env(s, l);
    ms_rates r;
    ms_engine_rates(s, l, 0, &r);
    ck_assert_double_eq_tol(r.death, 0.1 * 2.0 / 3, 1e-15);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("factor_coupling");
    TCase *tc = tcase_create("factor_coupling");
    tcase_add_test(tc, test_production_closed_form);
    tcase_add_test(tc, test_production_at_step_start);
    tcase_add_test(tc, test_production_with_drugs);
    tcase_add_test(tc, test_drug_kill_modifier);
    tcase_add_test(tc, test_drug_kill_without_drugs);
    suite_add_tcase(s, tc);
    return s;
}
