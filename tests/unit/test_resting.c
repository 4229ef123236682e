/* Unit tests of resting lesions (docs/engine.md, "Resting lesions"; src/engine/sim.c, step.c):
 * a lesion whose rates cannot change before its next event keeps the event's time drawn once and
 * is skipped until then; the event happens at that time; a drug acting at its site, and a new
 * arm's streams, end the rest; the times are exponential whatever the steps. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "fixture.h"
#include "metasim/metasim.h"
#include "unit_test.h"

/* One dormant cell that dies at 0.02 /d or wakes at 0.01 /d into a cycling cell that does
 * nothing: one event, at an exponential time of rate 0.03 /d. Steps of 0.5 d. */
static const char *one_cell =
    "scenario: {name: r}\ntime: {horizon: 3000 d}\n"
    "sites: {t: {death: {dormant: 0.02 /d},"
    " transitions: [{from: dormant, to: cycling, rate: 0.01 /d}]},"
    " u: {blood_flow: 0.5}}\n"
    "primary: {site: t, initial_state: dormant, detection_cells: 1e9}\n"
    "drugs: {x: {pk: {half_life: 1 d, volume: 10 L},"
    " effects: [{target: death, site: SITE, max_kill: 0.5 /d, ec50: 1 mg/L}]}}\n"
    "regimens: {daily: {doses: [{drug: x, amount: 100 mg, interval: 1 d, additional: 9}]}}\n"
    "arms: {dosed: {lines: [{regimen: daily, start: time_zero, delay: 5 d}]}}\n"
    "engine: {max_step: 0.5 d}\n";

static metasim_model_t *load_at(const char *site)
{
    char yaml[1024];
    const char *at = strstr(one_cell, "SITE");
    snprintf(yaml, sizeof yaml, "%.*s%s%s", (int)(at - one_cell), one_cell, site, at + 4);
    return load_yaml(yaml);
}

static uint64_t cells(const metasim_sim_t *s)
{
    return s->p.lesions[0].total;
}

/* The lesion rests from its first step on, keeps its drawn time through the steps before it,
 * and its one event happens exactly then. */
START_TEST(test_rests_until_its_event)
{
    metasim_model_t *m = load_at("u");
    int checked = 0;
    for (unsigned patient = 0; checked < 5 && patient < 50; patient++) {
        metasim_sim_t *s = start_sim(m, 7, patient);
        int rc = metasim_sim_run(s, 1.0, 0);
        double at = s->rest[0].next;
        if (rc != METASIM_STOP_TIME || cells(s) != 1 || !(at > 20)) { /* an event in the first
                                                                          day, or too soon */
            metasim_sim_destroy(s);
            continue;
        }
        ck_assert(isfinite(at));
        ck_assert_int_eq(metasim_sim_run(s, at - 1e-6, 0), METASIM_STOP_TIME);
        ck_assert_uint_eq(cells(s), 1);
        ck_assert_double_eq(s->rest[0].next, at); /* the same draw, many steps later */
        ck_assert_uint_eq(s->events, 0);
        rc = metasim_sim_run(s, at + 1.0, 0);
        if (rc == METASIM_STOP_EXTINCT) { /* death: the patient's time is the cell's */
            ck_assert_double_eq(metasim_sim_time(s), at);
        } else { /* woken: a cycling cell that does nothing rests for ever */
            ck_assert_int_eq(rc, METASIM_STOP_TIME);
            ck_assert_uint_eq(cells(s), 1);
            ck_assert_uint_eq(s->p.lesions[0].comps[0].state, MS_STATE_CYCLING);
            ck_assert(isinf(s->rest[0].next));
        }
        ck_assert_uint_eq(s->events, 1);
        metasim_sim_destroy(s);
        checked++;
    }
    ck_assert_int_eq(checked, 5);
    metasim_model_destroy(m);
}
END_TEST

/* Under the arm, a drug acting at the lesion's site ends its rest while it is present; a drug
 * acting at another site does not. The arm's own streams draw its times anew. */
START_TEST(test_drug_at_its_site_wakes_it)
{
    const char *sites[2] = {"t", "u"};
    for (int i = 0; i < 2; i++) {
        metasim_model_t *m = load_at(sites[i]);
        unsigned arm = metasim_model_arm(m, "dosed");
        ck_assert_uint_gt(arm, 0);
        int checked = 0;
        for (unsigned patient = 0; checked < 3 && patient < 50; patient++) {
            metasim_sim_options_t o = {.seed = 11, .patient = patient, .arm = arm, .verify = 1};
            metasim_sim_t *s = NULL;
            ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
            /* Day 6: dosed since day 5 (the drug present), the cell still there. */
            ck_assert_int_gt(metasim_sim_run(s, 6.0, 0), 0);
            if (cells(s) == 1 && s->events == 0) {
                if (i == 0)
                    ck_assert(isnan(s->rest[0].next));
                else
                    ck_assert(!isnan(s->rest[0].next));
                checked++;
            }
            metasim_sim_destroy(s);
        }
        ck_assert_int_eq(checked, 3);
        metasim_model_destroy(m);
    }
}
END_TEST

/* The time of the one event and its kind over many patients: exponential with rate 0.03 /d, a
 * death with probability 2/3, although each time is drawn once and kept over about 66 steps.
 * Tolerances 5 SE: the mean of n = 4000 exponentials has SE (1/0.03)/sqrt(n) = 0.53 d, the
 * share of deaths sqrt((2/3)(1/3)/n) = 0.0075; at 5 SE a false alarm is below 6e-7. */
START_TEST(test_rest_times_are_exponential)
{
    metasim_model_t *m = load_at("u");
    const int n = 4000;
    double sum = 0;
    int deaths = 0;
    for (int patient = 0; patient < n; patient++) {
        metasim_sim_t *s = start_sim(m, 13, (unsigned)patient);
        double t = 0;
        while (s->events == 0) {
            t += 50;
            ck_assert_int_gt(metasim_sim_run(s, t, 0), 0);
        }
        if (cells(s) == 0) { /* a death: the run stopped at the cell's time */
            deaths++;
            sum += metasim_sim_time(s);
        }
        metasim_sim_destroy(s);
    }
    /* Deaths happen at the first event, whose time is independent of its kind: their mean time
     * is 1/0.03 d too, with SE (1/0.03)/sqrt(deaths). */
    double mean = sum / deaths, want = 1 / 0.03, se = want / sqrt((double)deaths);
    double share = (double)deaths / n, se_share = sqrt(2.0 / 9.0 / n);
    printf("resting: %d deaths of %d (share %.4f, want 0.6667 +- %.4f); their mean time %.2f d "
           "(want %.2f +- %.2f)\n",
           deaths, n, share, 5 * se_share, mean, want, 5 * se);
    ck_assert_double_le(fabs(share - 2.0 / 3.0), 5 * se_share);
    ck_assert_double_le(fabs(mean - want), 5 * se);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("resting");
    TCase *tc = tcase_create("resting");
    tcase_add_test(tc, test_rests_until_its_event);
    tcase_add_test(tc, test_drug_at_its_site_wakes_it);
    tcase_add_test(tc, test_rest_times_are_exponential);
    suite_add_tcase(s, tc);
    return s;
}
