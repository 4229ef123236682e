/* Unit tests of the engine through the public API: factor ODEs against their closed form,
 * modifiers, stop reasons, the event budget, determinism by (seed, patient), digests and the
 * state checks. Statistical validation against theory is in tests/stats/test_engine.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "metasim/metasim.h"
#include "unit_test.h"

/* Cells that neither divide nor die produce a factor at a constant rate, so its level follows
 * F(t) = F0 e^{-kt} + (s + p N)(1 - e^{-kt}) / k exactly, whatever the steps. */
START_TEST(test_factor_closed_form)
{
    metasim_model_t *m = load_yaml("scenario: {name: f}\ntime: {horizon: 10}\n"
                                   "sites: {t: {}}\nprimary: {site: t, initial_cells: 1000}\n"
                                   "factors: {il8: {decay: 0.5 /d, source: 2 /d, initial: 7,"
                                   " production: {cycling: 0.01 /d}}}\n"
                                   "engine: {max_step: 0.37 d}\n");
    metasim_sim_t *s = start_sim(m, 1, 0);
    const double times[] = {0.5, 3, 10};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(metasim_sim_run(s, times[i], 0), METASIM_STOP_TIME);
        double t = times[i], k = 0.5;
        double want = 7 * exp(-k * t) + (2 + 0.01 * 1000) * -expm1(-k * t) / k;
        ck_assert_double_eq_tol(metasim_sim_factor(s, 0, 0), want, 1e-12 * want);
    }
    ck_assert(isnan(metasim_sim_factor(s, 0, 1)));
    ck_assert(isnan(metasim_sim_factor(s, 1, 0)));
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* A saturating modifier that multiplies death by 0 stops all deaths: with no division either,
 * the population cannot change. Without the factor, cells die. */
START_TEST(test_modifier_blocks_death)
{
    /* With a saturating level (1e6 against ec50 1e-9) deaths stop; without, cells die. */
    for (int saturated = 0; saturated < 2; saturated++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "scenario: {name: f}\ntime: {horizon: 10}\n"
                 "sites: {t: {death: {cycling: 0.5}}}\n"
                 "primary: {site: t, initial_cells: 100}\n"
                 "factors: {s100: {decay: 0, initial: %s}}\n"
                 "modifiers: [{factor: s100, rate: death, max_effect: 0, ec50: 1e-9, hill: 4}]\n",
                 saturated ? "1e6" : "0");
        metasim_model_t *m = load_yaml(yaml);
        metasim_sim_t *s = start_sim(m, 3, 0);
        metasim_sim_run(s, 10, 0);
        if (saturated)
            ck_assert_double_eq(metasim_sim_cells(s), 100);
        else /* P(all 100 alive after 10 d) = e^-500 */
            ck_assert_double_lt(metasim_sim_cells(s), 100);
        metasim_sim_destroy(s);
        metasim_model_destroy(m);
    }
}
END_TEST

static const char growth[] = "scenario: {name: g}\ntime: {horizon: 100}\n"
                             "sites: {t: {division: {cycling: 1}, death: {cycling: 0.4}}}\n"
                             "primary: {site: t, initial_cells: 5}\n"
                             "loci: {r: {mutation_probability: 1e-3}}\n"
                             "arms: {a: {lines: []}, b: {lines: []}}\n";

START_TEST(test_same_key_same_history)
{
    metasim_model_t *m = load_yaml(growth);
    unsigned long long digest[3];
    for (int i = 0; i < 3; i++) {
        metasim_sim_t *s = start_sim(m, 42, i == 2 ? 1 : 0);
        ck_assert_int_eq(metasim_sim_run(s, 12, 0), METASIM_STOP_TIME);
        digest[i] = metasim_sim_digest(s);
        metasim_sim_destroy(s);
    }
    ck_assert_uint_eq(digest[0], digest[1]);
    ck_assert_uint_ne(digest[0], digest[2]);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_stop_reasons)
{
    metasim_model_t *m = load_yaml(growth);
    metasim_sim_t *s = start_sim(m, 5, 0);
    /* The event budget stops within the exact phase, exactly at the budget. */
    ck_assert_int_eq(metasim_sim_run(s, 100, 10), METASIM_STOP_EVENTS);
    ck_assert_uint_eq(metasim_sim_events(s), 10);
    double t = metasim_sim_time(s);
    ck_assert_double_gt(t, 0);
    /* The stop size is exact while the tumour is small. */
    ck_assert_int_eq(metasim_sim_set_stop_cells(s, 50), 0);
    int rc = metasim_sim_run(s, 100, 0);
    if (rc == METASIM_STOP_SIZE) {
        ck_assert_double_eq(metasim_sim_cells(s), 50);
        ck_assert_double_gt(metasim_sim_time(s), t);
    } else {
        ck_assert_int_eq(rc, METASIM_STOP_EXTINCT);
        ck_assert_double_eq(metasim_sim_cells(s), 0);
    }
    ck_assert_int_eq(metasim_sim_set_stop_cells(s, -1), METASIM_E_ARG);
    metasim_sim_set_stop_cells(s, 0);
    rc = metasim_sim_run(s, 20, 0);
    ck_assert(rc == METASIM_STOP_TIME || rc == METASIM_STOP_EXTINCT);
    if (rc == METASIM_STOP_TIME)
        ck_assert_double_eq(metasim_sim_time(s), 20);
    /* Asking for a time already passed returns at once. */
    ck_assert_int_eq(metasim_sim_run(s, 1, 0), rc);
    ck_assert_str_eq(metasim_sim_errmsg(s), "");
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_extinction_time_is_last_death)
{
    /* Pure death from 3 cells: extinct at the last death, before the horizon. */
    metasim_model_t *m = load_yaml("scenario: {name: d}\ntime: {horizon: 1000}\n"
                                   "sites: {t: {death: {cycling: 1}}}\n"
                                   "primary: {site: t, initial_cells: 3}\n");
    for (unsigned p = 0; p < 20; p++) {
        metasim_sim_t *s = start_sim(m, 9, p);
        ck_assert_int_eq(metasim_sim_run(s, 1000, 0), METASIM_STOP_EXTINCT);
        ck_assert_double_gt(metasim_sim_time(s), 0);
        ck_assert_double_lt(metasim_sim_time(s), 1000);
        ck_assert_uint_eq(metasim_sim_events(s), 3);
        metasim_sim_destroy(s);
    }
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_clones_and_lineage)
{
    metasim_model_t *m = load_yaml(growth);
    metasim_sim_t *s = start_sim(m, 11, 0);
    metasim_sim_run(s, 25, 0);
    metasim_clone_info_t info;
    ck_assert_int_eq(metasim_sim_clone_info(s, 0, &info), 0);
    ck_assert_uint_eq(info.parent, 0);
    ck_assert_uint_eq(info.loci, 0);
    for (size_t c = 1; c < metasim_sim_clones(s); c++) {
        ck_assert_int_eq(metasim_sim_clone_info(s, c, &info), 0);
        ck_assert_uint_eq(info.loci, 1);
        ck_assert_double_le(info.born, metasim_sim_time(s));
    }
    ck_assert_int_eq(metasim_sim_clone_info(s, metasim_sim_clones(s), &info), METASIM_E_ARG);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* Every landing at the primary's site joins the primary: no new lesion, all self-seeded. */
START_TEST(test_self_seeding)
{
    metasim_model_t *m = load_yaml("scenario: {name: s}\ntime: {horizon: 30}\n"
                                   "sites: {p: {blood_flow: 1, colonisation: 0.5, shedding: 0.1,"
                                   " division: {cycling: 0.5}, death: {cycling: 0.1}}}\n"
                                   "primary: {site: p, initial_cells: 2000}\n");
    metasim_sim_t *s = start_sim(m, 4, 0);
    ck_assert_int_eq(metasim_sim_run(s, 5, 0), METASIM_STOP_TIME);
    metasim_counts_t n;
    ck_assert_int_eq(metasim_sim_counts(s, &n), 0);
    ck_assert_uint_gt(n.shed, 1000);
    ck_assert_uint_eq(n.lesions, 1);
    ck_assert_uint_eq(metasim_sim_lesions(s), 1);
    ck_assert_uint_eq(n.colonised, n.self_seeded);
    ck_assert_uint_eq(n.shed, n.lost + n.colonised);
    /* Half of the landed cells settle: 5 SE of a binomial proportion from >1000 cells. */
    ck_assert_double_lt(fabs((double)n.colonised / (double)n.shed - 0.5), 5 * 0.5 / sqrt(1000));
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* Metastases shed too: the seeding graph grows edges from lesions other than the primary, and
 * stays a tree in order of founding (checked by verify after every step). */
START_TEST(test_seeding_graph)
{
    metasim_model_t *m =
        load_yaml("scenario: {name: g}\ntime: {horizon: 60}\n"
                  "sites:\n"
                  "  p: {shedding: 0.05, division: {cycling: 0.6}, death: {cycling: 0.2}}\n"
                  "  m: {blood_flow: 1, colonisation: 0.01, shedding: 0.05,"
                  " dormancy_on_arrival: 0.3,"
                  " division: {cycling: 0.6}, death: {cycling: 0.2, dormant: 0.01}}\n"
                  "primary: {site: p, initial_cells: 1000}\n");
    metasim_sim_t *s = start_sim(m, 8, 0);
    ck_assert_int_eq(metasim_sim_run(s, 20, 0), METASIM_STOP_TIME);
    size_t from_metastases = 0;
    for (size_t i = 1; i < metasim_sim_lesions(s); i++) {
        metasim_lesion_info_t li;
        ck_assert_int_eq(metasim_sim_lesion_info(s, i, &li), 0);
        ck_assert_uint_lt(li.parent, i);
        from_metastases += li.parent > 0;
    }
    ck_assert_uint_gt(from_metastases, 0);
    metasim_counts_t n;
    metasim_sim_counts(s, &n);
    ck_assert_uint_eq(n.lesions, metasim_sim_lesions(s));
    ck_assert_uint_eq(n.colonised, n.self_seeded + n.lesions - 1);
    metasim_lesion_info_t li;
    ck_assert_int_eq(metasim_sim_lesion_info(s, metasim_sim_lesions(s), &li), METASIM_E_ARG);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

static int count_times(void *user, const metasim_sample_t *x)
{
    double *last = user; /* last[0]: last time seen, last[1]: distinct times */
    if (x->time != last[0]) {
        last[0] = x->time;
        last[1]++;
    }
    return 0;
}

/* A long run is decimated: 1000 days at 1 d with at most 11 samples gives every 100th. */
START_TEST(test_decimated_samples)
{
    metasim_model_t *m =
        load_yaml("scenario: {name: d}\n"
                  "time: {horizon: 1000 d, output_interval: 1 d, max_samples: 11}\n"
                  "sites: {t: {division: {cycling: 0.1}, death: {cycling: 0.1}}}\n"
                  "primary: {site: t, initial_cells: 1000}\n");
    double seen[2] = {-1, 0};
    metasim_writer_t w = {.user = seen, .sample = count_times};
    metasim_sim_options_t o = {.seed = 1, .writer = &w};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    /* Critical from 1000 cells: extinct by day 1000 with probability (100/101)^1000 = 5e-5. */
    ck_assert_int_eq(metasim_sim_run(s, 1000, 0), METASIM_STOP_TIME);
    ck_assert_double_eq(seen[1], 11);
    ck_assert_double_eq(seen[0], 1000);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* The paired design: a history forked into arms. The same arm gives the same continuation,
 * different arms differ, and the source is untouched. */
START_TEST(test_fork_into_arms)
{
    metasim_model_t *m = load_yaml(growth);
    metasim_sim_t *history = start_sim(m, 21, 0);
    ck_assert_int_eq(metasim_sim_run(history, 8, 0), METASIM_STOP_TIME);
    unsigned long long at_fork = metasim_sim_digest(history);
    double cells = metasim_sim_cells(history);
    metasim_sim_t *a = NULL, *a2 = NULL, *b = NULL;
    ck_assert_int_eq(metasim_sim_fork(history, 1, NULL, &a), 0);
    ck_assert_int_eq(metasim_sim_fork(history, 1, NULL, &a2), 0);
    ck_assert_int_eq(metasim_sim_fork(history, 2, NULL, &b), 0);
    ck_assert_uint_eq(metasim_sim_digest(a), at_fork);
    ck_assert_double_eq(metasim_sim_time(a), 8);
    ck_assert_double_eq(metasim_sim_cells(b), cells);
    ck_assert_uint_eq(metasim_sim_clones(a), metasim_sim_clones(history));
    metasim_sim_run(a, 14, 0);
    metasim_sim_run(a2, 14, 0);
    metasim_sim_run(b, 14, 0);
    ck_assert_uint_eq(metasim_sim_digest(a), metasim_sim_digest(a2));
    ck_assert_uint_ne(metasim_sim_digest(a), metasim_sim_digest(b));
    ck_assert_uint_eq(metasim_sim_digest(history), at_fork);
    metasim_sim_destroy(b);
    ck_assert_int_eq(metasim_sim_fork(NULL, 1, NULL, &b), METASIM_E_ARG);
    ck_assert_ptr_null(b);
    metasim_sim_destroy(a);
    metasim_sim_destroy(a2);
    metasim_sim_destroy(history);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_bad_arguments)
{
    metasim_model_t *m = load_yaml(growth);
    metasim_sim_t *s = (metasim_sim_t *)&s;
    metasim_sim_options_t o = {.stop_cells = -1};
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), METASIM_E_ARG);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(metasim_sim_create(m, NULL, &s), METASIM_E_ARG);
    ck_assert_int_eq(metasim_sim_run(NULL, 1, 0), METASIM_E_ARG);
    metasim_sim_destroy(NULL);
    metasim_model_t *bad = NULL;
    metasim_model_load_string("b.yaml", "x: 1\n", 5, &bad);
    o.stop_cells = 0;
    ck_assert_int_eq(metasim_sim_create(bad, &o, &s), METASIM_E_ARG);
    metasim_model_destroy(bad);
    metasim_model_destroy(m);
    double days = 0;
    ck_assert_int_eq(metasim_parse_time("36 h", &days), 0);
    ck_assert_double_eq(days, 1.5);
    ck_assert_int_eq(metasim_parse_time("36 kg", &days), METASIM_E_ARG);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, test_factor_closed_form);
    tcase_add_test(tc, test_modifier_blocks_death);
    tcase_add_test(tc, test_same_key_same_history);
    tcase_add_test(tc, test_stop_reasons);
    tcase_add_test(tc, test_extinction_time_is_last_death);
    tcase_add_test(tc, test_clones_and_lineage);
    tcase_add_test(tc, test_self_seeding);
    tcase_add_test(tc, test_seeding_graph);
    tcase_add_test(tc, test_decimated_samples);
    tcase_add_test(tc, test_fork_into_arms);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
