/* Unit tests of vascular capacity (docs/model.md, "Vascular capacity"; src/engine/rates.c,
 * factors.c): Gompertz growth at a set rate against its closed form, the capacity factor's
 * stimulation and surface inhibition against the closed form of its ODE, the loss drugs add,
 * the rates over a step (the cap at b - d, shedding inside the net rate, the average along the
 * expected path), the primary's initial levels, and the coupled model of Hahnfeldt et al.
 * (Cancer Res 1999) against a numerical solution. The loader's refusals are in
 * tests/bad-scenarios. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "fixture.h"
#include "metasim/metasim.h"
#include "unit_test.h"

static double primary_cells(const metasim_sim_t *s)
{
    metasim_lesion_info_t info;
    ck_assert_int_eq(metasim_sim_lesion_info(s, 0, &info), 0);
    return info.cells;
}

/* Gompertz growth at rate lambda with a fixed capacity K: the mean lesion follows
 * ln N(t) = ln K - ln(K/N0) e^{-lambda t}. The cap b - d = 2.8 /d lies above lambda ln(K/N0)
 * = 0.88 /d, so it never binds. Within a step the rate is averaged along this path, so the
 * engine's mean is exact and only the leaps' noise remains: from 1e11 cells its relative SD is
 * below sqrt((b + d)/(b - d) / N0) = 3.5e-6, and the tolerance 1e-4 is about 30 SD. */
START_TEST(test_gompertz_rate_closed_form)
{
    metasim_model_t *m =
        load_yaml("scenario: {name: g}\ntime: {horizon: 30}\n"
                  "sites: {s: {growth: gompertz, gompertz_rate: 0.192 /d, capacity: 1e13,"
                  " division: {cycling: 3 /d}, death: {cycling: 0.2 /d}}}\n"
                  "primary: {site: s, initial_cells: 100000000000, detection_cells: 1e14}\n"
                  "clinic: {lethal_cells: 1e14}\n");
    metasim_sim_t *s = start_sim(m, 1, 0);
    const double times[] = {0.5, 2, 8, 30}, k = 1e13, n0 = 1e11, lambda = 0.192;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(metasim_sim_run(s, times[i], 0), METASIM_STOP_TIME);
        double want = exp(log(k) - log(k / n0) * exp(-lambda * times[i]));
        ck_assert_double_eq_tol(primary_cells(s), want, 1e-4 * want);
    }
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

#define STILL                                                                                      \
    "scenario: {name: v}\ntime: {horizon: 30}\n"                                                   \
    "sites: {s: {growth: gompertz, gompertz_rate: 0.2 /d, capacity_factor: v,"                     \
    " division: {cycling: 0 /d}, death: {cycling: 0 /d}}}\n"                                       \
    "primary: {site: s, initial_cells: 1000000, initial_levels: {v: 3e6}}\n"

/* Cells that neither divide nor die (N = 1e6) and a capacity factor with production p per
 * cell, decay k and surface inhibition d: dK/dt = p N - (k + d N^(2/3)) K has the closed form
 * K(t) = K* + (K0 - K*) e^{-D t}, D = k + d N^(2/3), K* = p N / D, from the primary's initial
 * level K0 = 3e6 (not the factor's `initial`). Exact in the engine: 1e-12. */
START_TEST(test_capacity_closed_form)
{
    metasim_model_t *m =
        load_yaml(STILL "factors: {v: {decay: 0.05 /d, production: {cycling: 2 /d},"
                        " inhibition: 1e-5 /d, initial: 7}}\n");
    metasim_sim_t *s = start_sim(m, 1, 0);
    const double n = 1e6, dd = 0.05 + 1e-5 * pow(n, 2.0 / 3.0), ks = 2 * n / dd, k0 = 3e6;
    ck_assert_double_eq(metasim_sim_factor(s, 0, 0), k0);
    const double times[] = {0.3, 1, 5, 30};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(metasim_sim_run(s, times[i], 0), METASIM_STOP_TIME);
        double want = ks + (k0 - ks) * exp(-dd * times[i]);
        ck_assert_double_eq_tol(metasim_sim_factor(s, 0, 0), want, 1e-12 * want);
    }
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* A drug that adds the loss max_loss H(C): over one step the loss joins the decay as its mean
 * at the quadrature nodes, K1 = K0 e^{-tau sum_q w_q L H(c_q)} (no production, no decay, no
 * inhibition here), checked on ms_engine_factors directly to 1e-12. Then a bolus of a drug
 * with half-life ln 2 / kc, C(t) = C0 e^{-kc t}, over whole runs: K(t) = K0 exp(-(L / kc)
 * ln((EC50 + C0) / (EC50 + C(t)))), exact but for the quadrature within steps that the drug
 * step rule bounds; the tolerance 1e-5 is the rule's first-order error at step_bound 1e-3
 * (docs/therapy.md: 3.0e-4 at 0.01 for a switching effect, far less for a smooth one). */
START_TEST(test_capacity_drug_loss)
{
    const char *yaml = STILL "factors: {v: {decay: 0 /d, initial: 7}}\n"
                             "drugs: {x: {pk: {half_life: 0.5 d, volume: 1 L}, effects: ["
                             "{target: factor, factor: v, max_loss: 3 /d, ec50: 2 mg/L}]}}\n"
                             "regimens: {r: {doses: [{drug: x, amount: 10 mg}]}}\n"
                             "arms: {a: {lines: [{regimen: r, start: time_zero}]}}\n"
                             "engine: {step_bound: 1e-3}\n";
    metasim_model_t *m = load_yaml(yaml);
    metasim_sim_t *s = start_sim(m, 1, 0);
    s->treated = true;
    const double c[MS_DRUG_NODES] = {1, 4, 0.5};
    double loss = 0;
    for (size_t q = 0; q < MS_DRUG_NODES; q++) {
        s->conc[q] = c[q];
        loss += ms_drug_weight[q] * 3 * c[q] / (2 + c[q]);
    }
    ms_lesion *l = &s->p.lesions[0];
    s->cs = calloc(1, sizeof *s->cs);
    ck_assert_ptr_nonnull(s->cs);
    s->cap_cs = 1;
    s->cs[0].start = l->comps[0].n;
    ms_engine_factors(s, l, 0.4);
    ck_assert_double_eq_tol(l->factors[0], 3e6 * exp(-0.4 * loss), 1e-12 * 3e6);
    metasim_sim_destroy(s);

    metasim_sim_options_t o = {.seed = 1, .verify = 1, .arm = 1};
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    const double kc = log(2.0) / 0.5, c0 = 10;
    const double times[] = {0.1, 0.5, 2, 10};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(metasim_sim_run(s, times[i], 0), METASIM_STOP_TIME);
        double ct = c0 * exp(-kc * times[i]);
        double want = 3e6 * exp(-3 / kc * log((2 + c0) / (2 + ct)));
        ck_assert_double_eq_tol(metasim_sim_factor(s, 0, 0), want, 1e-5 * want);
    }
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

#define GROWING                                                                                    \
    "scenario: {name: v}\ntime: {horizon: 30}\n"                                                   \
    "sites: {s: {growth: gompertz, gompertz_rate: 0.25 /d, capacity_factor: v,"                    \
    " division: {cycling: 1.5 /d}, death: {cycling: 0.3 /d}, shedding: 0.01 /d}}\n"                \
    "primary: {site: s, initial_cells: 1000000, initial_levels: {v: 5e6}}\n"                       \
    "factors: {v: {decay: 0.1 /d, production: {cycling: 4 /d}, inhibition: 2e-4 /d,"               \
    " initial: 1e3}}\n"

/* The rates of a growing compartment: with u = ln(K/N), the net rate after shedding is
 * lambda u, birth_same - loss = lambda u (no mutation, no transition); when lambda u exceeds
 * the cells' own b - d - eta, the cells keep their rates. Over a step of length tau the rate
 * is averaged along the expected path, g + (lambda u0 - g) (1 - e^{-lambda tau})/(lambda tau)
 * with g = K'/K (test of the formula in rates.c, computed here from the ODE's right side). */
START_TEST(test_vascular_rates)
{
    metasim_model_t *m = load_yaml(GROWING);
    metasim_sim_t *s = start_sim(m, 1, 0);
    ms_lesion *l = &s->p.lesions[0];
    const double lambda = 0.25, n = 1e6, k = 5e6, u0 = log(k / n);
    ms_rates r;
    ms_engine_env(s, l);
    ms_engine_rates(s, l, 0, &r);
    ck_assert_double_eq_tol(r.birth_same + r.birth_mut - r.loss, lambda * u0, 1e-14);
    ck_assert_double_eq_tol(r.shed, 0.01, 1e-15);

    /* Averaged over a step of 0.7 d. */
    const double tau = 0.7, x = lambda * tau;
    double g = (4 * n - (0.1 + 2e-4 * pow(n, 2.0 / 3.0)) * k) / k;
    s->env_tau = tau;
    ms_engine_env(s, l);
    ms_engine_rates(s, l, 0, &r);
    double want = g + (lambda * u0 - g) * -expm1(-x) / x;
    ck_assert_double_eq_tol(r.birth_same + r.birth_mut - r.loss, want, 1e-13);
    s->env_tau = 0;

    /* The cap: a capacity e^20 times the lesion (lambda u = 5 /d) leaves the rates alone. */
    l->factors[0] = n * exp(20);
    ms_engine_env(s, l);
    ms_engine_rates(s, l, 0, &r);
    ck_assert_double_eq_tol(r.birth_same + r.birth_mut, 1.5, 1e-15);
    ck_assert_double_eq_tol(r.death, 0.3, 1e-15);

    /* Past capacity the lesion shrinks at lambda u < 0. */
    l->factors[0] = n / 2;
    ms_engine_env(s, l);
    ms_engine_rates(s, l, 0, &r);
    ck_assert_double_eq_tol(r.birth_same + r.birth_mut - r.loss, lambda * log(0.5), 1e-14);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* A new lesion starts at the factor's `initial` (the capacity of pre-existing vessels), the
 * primary at its `initial_levels`. Cells shed by the primary found lung lesions at once; the
 * capacity does not move (no production, decay or inhibition). */
START_TEST(test_new_lesion_capacity)
{
    metasim_model_t *m =
        load_yaml("scenario: {name: v}\ntime: {horizon: 30}\n"
                  "sites: {s: {growth: gompertz, gompertz_rate: 0.2 /d, capacity_factor: v,"
                  " division: {cycling: 0 /d}, death: {cycling: 0 /d}, shedding: 1 /d},"
                  " lung: {blood_flow: 1, colonisation: 1, growth: gompertz, gompertz_rate: 0.2 /d,"
                  " capacity_factor: v, division: {cycling: 0 /d}, death: {cycling: 0 /d}}}\n"
                  "primary: {site: s, initial_cells: 100, initial_levels: {v: 5e4}}\n"
                  "factors: {v: {decay: 0 /d, initial: 250}}\n");
    metasim_sim_t *s = start_sim(m, 1, 0);
    ck_assert_int_eq(metasim_sim_run(s, 0.5, 0), METASIM_STOP_TIME);
    ck_assert_uint_gt(metasim_sim_lesions(s), 1);
    ck_assert_double_eq(metasim_sim_factor(s, 0, 0), 5e4);
    for (size_t i = 1; i < metasim_sim_lesions(s); i++)
        ck_assert_double_eq(metasim_sim_factor(s, i, 0), 250);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* Hahnfeldt et al.'s model in cells (1e6 cells per mm^3): dN/dt = lambda1 N ln(K/N),
 * dK/dt = b N - d' N^(2/3) K with lambda1 = 0.192 /d, b = 5.85 /d, d' = 0.00873 (1e6)^(-2/3)
 * /d, N(0) = 1.8e8, K(0) = 6.25e8, against GSL's rk8pd (relative error 1e-12) at days 1 to 19.
 * The cap b - d = 0.8 /d stays above lambda1 ln(K/N) (at most 0.38 /d). Tolerance 1e-3: the
 * step rule's error at the default step_bound, measured below 1e-5 on this curve, plus the
 * leaps' noise, a relative SD below sqrt((b + d)/(b - d) / N(0)) = 1e-4. */
static int hahnfeldt(double t, const double y[], double dy[], void *params)
{
    (void)t;
    (void)params;
    dy[0] = 0.192 * y[0] * log(y[1] / y[0]);
    dy[1] = 5.85 * y[0] - 8.73e-7 * pow(y[0], 2.0 / 3.0) * y[1];
    return GSL_SUCCESS;
}

START_TEST(test_hahnfeldt_ode)
{
    metasim_model_t *m = load_yaml(
        "scenario: {name: h}\ntime: {horizon: 19}\n"
        "sites: {s: {growth: gompertz, gompertz_rate: 0.192 /d, capacity_factor: v,"
        " division: {cycling: 1 /d}, death: {cycling: 0.2 /d}}}\n"
        "primary: {site: s, initial_cells: 180000000, detection_cells: 1e12,"
        " initial_levels: {v: 6.25e8}}\n"
        "factors: {v: {decay: 0 /d, production: {cycling: 5.85 /d}, inhibition: 8.73e-7 /d,"
        " initial: 1e6}}\n"
        "clinic: {lethal_cells: 1e13}\n");
    metasim_sim_t *s = start_sim(m, 1, 0);
    gsl_odeiv2_system sys = {hahnfeldt, NULL, 2, NULL};
    gsl_odeiv2_driver *dr =
        gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, 1e-6, 1e-12, 1e-12);
    double y[2] = {1.8e8, 6.25e8}, t = 0;
    for (int day = 1; day <= 19; day++) {
        ck_assert_int_eq(gsl_odeiv2_driver_apply(dr, &t, day, y), GSL_SUCCESS);
        ck_assert_int_eq(metasim_sim_run(s, day, 0), METASIM_STOP_TIME);
        ck_assert_double_eq_tol(primary_cells(s), y[0], 1e-3 * y[0]);
        ck_assert_double_eq_tol(metasim_sim_factor(s, 0, 0), y[1], 1e-3 * y[1]);
    }
    gsl_odeiv2_driver_free(dr);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("vasculature");
    TCase *tc = tcase_create("vasculature");
    tcase_add_test(tc, test_gompertz_rate_closed_form);
    tcase_add_test(tc, test_capacity_closed_form);
    tcase_add_test(tc, test_capacity_drug_loss);
    tcase_add_test(tc, test_vascular_rates);
    tcase_add_test(tc, test_new_lesion_capacity);
    tcase_add_test(tc, test_hahnfeldt_ode);
    suite_add_tcase(s, tc);
    return s;
}
