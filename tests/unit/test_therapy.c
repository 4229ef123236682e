/* Unit tests of therapy (src/bio/therapy.c, rates.c): regimens, cycles and doses by body size,
 * lines of therapy started and stopped by clinical events and by time, adaptive pauses, the
 * combination rules, and the provenance of resistance. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "fixture.h"
#include "metasim/metasim.h"
#include "unit_test.h"

/* The events of one run, kept in order. */
#define MAX_SEEN 4096
typedef struct seen {
    size_t n;
    metasim_event_kind_t kind[MAX_SEEN];
    double time[MAX_SEEN], value[MAX_SEEN];
    char detail[MAX_SEEN][96];
} seen;

static int on_event(void *user, const metasim_event_t *e)
{
    seen *s = user;
    if (s->n < MAX_SEEN) {
        s->kind[s->n] = e->kind;
        s->time[s->n] = e->time;
        s->value[s->n] = e->value;
        snprintf(s->detail[s->n], sizeof s->detail[0], "%s", e->detail ? e->detail : "");
        s->n++;
    }
    return 0;
}

/* Runs patient `patient` under arm 1 to t_max, recording events into *out. */
static metasim_sim_t *run(const metasim_model_t *m, unsigned patient, double t_max, seen *out)
{
    memset(out, 0, sizeof *out);
    static metasim_writer_t w;
    w = (metasim_writer_t){.user = out, .event = on_event};
    metasim_sim_options_t o = {.seed = 5, .patient = patient, .arm = 1, .writer = &w, .verify = 1};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    int rc = metasim_sim_run(s, t_max, 0);
    ck_assert_msg(rc > 0, "run: %s", metasim_sim_errmsg(s));
    return s;
}

/* The time of the first therapy event whose detail contains `what`, or NaN. */
static double when(const seen *s, const char *what)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->kind[i] == METASIM_EVENT_THERAPY && strstr(s->detail[i], what))
            return s->time[i];
    return NAN;
}

#define GROWING                                                                                    \
    "scenario: {name: t}\n"                                                                        \
    "sites: {p: {division: {cycling: 0.3}, death: {cycling: 0.1}}}\n"                              \
    "primary: {site: p, initial_cells: 1e5, detection_cells: 1e6}\n"                               \
    "engine: {max_step: 0.5 d}\n"

/* Cycles repeat the records; amounts follow the patient's weight and Mosteller surface. */
START_TEST(test_cycles_and_body_size)
{
    metasim_model_t *m = load_yaml(
        GROWING "time: {horizon: 200 d}\n"
                "patient: {weight: 80 kg, height: 180 cm}\n"
                "drugs: {x: {pk: {half_life: 1 d, volume: 10 L},"
                " effects: [{target: death, max_kill: 0.01 /d, ec50: 1 mg/L}]}}\n"
                "regimens: {r: {doses: [{drug: x, amount_per_m2: 50 mg/m2, infusion: 1 h},"
                " {drug: x, amount_per_kg: 1 mg/kg, start: 7 d}],"
                " cycles: 3, cycle_length: 21 d}}\n"
                "arms: {a: {lines: [{regimen: r, start: diagnosis, delay: 2 d}]}}\n");
    seen *ev = calloc(1, sizeof *ev);
    metasim_sim_t *s = run(m, 0, 200, ev);
    double assigned = when(ev, "assigned"), started = when(ev, "starts");
    ck_assert(!isnan(assigned));
    ck_assert_double_eq_tol(started, assigned + 2, 1e-9);
    /* sqrt(180 x 80 / 3600) = 2 m2: 100 mg infused; 80 kg x 1 mg/kg = 80 mg as a bolus. */
    size_t doses = 0;
    for (size_t i = 0; i < ev->n; i++) {
        if (ev->kind[i] != METASIM_EVENT_DOSE)
            continue;
        double cycle_start = started + 21.0 * (double)(doses / 2);
        bool infused = doses % 2 == 0;
        ck_assert_double_eq_tol(ev->time[i], cycle_start + (infused ? 0 : 7), 1e-9);
        ck_assert_double_eq_tol(ev->value[i], infused ? 100 : 80, 1e-9);
        ck_assert_str_eq(ev->detail[i], infused ? "infusion 1 h" : "bolus");
        doses++;
    }
    ck_assert_uint_eq(doses, 6);
    ck_assert_double_eq_tol(when(ev, "completes"), started + 42 + 7, 1e-9);
    metasim_clinical_t c;
    metasim_sim_clinical(s, &c);
    ck_assert_double_eq(c.assigned, assigned);
    ck_assert_double_eq(c.treatment, started);
    metasim_sim_destroy(s);
    free(ev);
    metasim_model_destroy(m);
}
END_TEST

/* A line stops after its duration: no dose from then on. */
START_TEST(test_stop_after)
{
    metasim_model_t *m = load_yaml(
        GROWING "time: {horizon: 100 d}\n"
                "drugs: {x: {pk: {route: oral, absorption_rate: 2 /d, half_life: 1 d,"
                " volume: 10 L}}}\n"
                "regimens: {daily: {doses: [{drug: x, amount: 10 mg, interval: 1 d,"
                " additional: 99}]}}\n"
                "arms: {a: {lines: [{regimen: daily, start: diagnosis, stop_after: 10.5 d}]}}\n");
    seen *ev = calloc(1, sizeof *ev);
    metasim_sim_t *s = run(m, 0, 100, ev);
    double started = when(ev, "starts"), stopped = when(ev, "stops: its duration is over");
    ck_assert_double_eq_tol(stopped, started + 10.5, 1e-9);
    size_t doses = 0;
    for (size_t i = 0; i < ev->n; i++)
        if (ev->kind[i] == METASIM_EVENT_DOSE) {
            ck_assert_double_lt(ev->time[i], stopped);
            ck_assert_str_eq(ev->detail[i], "oral");
            doses++;
        }
    ck_assert_uint_eq(doses, 11); /* days 0 to 10 */
    /* The drug is cleared after the stop: 60 half-lives later nothing is left. */
    ck_assert_double_lt(s->conc[0], 1e-12);
    metasim_sim_destroy(s);
    free(ev);
    metasim_model_destroy(m);
}
END_TEST

/* Adaptive therapy pauses below one burden and resumes above another, alternately. */
START_TEST(test_adaptive)
{
    metasim_model_t *m =
        load_yaml(GROWING "time: {horizon: 300 d}\n"
                          "drugs: {x: {pk: {half_life: 0.25 d, volume: 10 L},"
                          " effects: [{target: death, max_kill: 1 /d, ec50: 0.1 mg/L}]}}\n"
                          "regimens: {daily: {doses: [{drug: x, amount: 100 mg, interval: 0.5 d,"
                          " additional: 1999}]}}\n"
                          "arms: {a: {lines: [{regimen: daily, start: diagnosis, pause_below: 5e5,"
                          " resume_above: 8e5}]}}\n");
    seen *ev = calloc(1, sizeof *ev);
    metasim_sim_t *s = run(m, 0, 300, ev);
    int pauses = 0, resumes = 0;
    bool paused = false;
    for (size_t i = 0; i < ev->n; i++) {
        if (ev->kind[i] != METASIM_EVENT_THERAPY)
            continue;
        if (strstr(ev->detail[i], "pauses")) {
            ck_assert(!paused);
            paused = true;
            pauses++;
        } else if (strstr(ev->detail[i], "resumes")) {
            ck_assert(paused);
            paused = false;
            resumes++;
        }
    }
    ck_assert_int_ge(pauses, 2);
    ck_assert_int_ge(resumes, 2);
    /* No dose falls in a pause. */
    paused = false;
    for (size_t i = 0; i < ev->n; i++) {
        if (ev->kind[i] == METASIM_EVENT_THERAPY && strstr(ev->detail[i], "pauses"))
            paused = true;
        if (ev->kind[i] == METASIM_EVENT_THERAPY && strstr(ev->detail[i], "resumes"))
            paused = false;
        if (ev->kind[i] == METASIM_EVENT_DOSE)
            ck_assert(!paused);
    }
    metasim_sim_destroy(s);
    free(ev);
    metasim_model_destroy(m);
}
END_TEST

/* A progression at a scan (RECIST) stops the first line and starts the second at once. */
START_TEST(test_progression_switches_lines)
{
    metasim_model_t *m = load_yaml(
        "scenario: {name: t}\ntime: {horizon: 1 y}\n"
        "sites: {p: {division: {cycling: 0.3}, death: {cycling: 0.1}}}\n"
        "primary: {site: p, initial_cells: 1e8, detection_cells: 1e9}\n"
        "clinic: {lethal_cells: 1e14, scans: [{every: 14 d, until: 1 y}]}\n"
        "drugs: {a: {pk: {half_life: 1 d, volume: 10 L},"
        " effects: [{target: death, max_kill: 0.02 /d, ec50: 1 mg/L}]},"
        " b: {pk: {half_life: 1 d, volume: 10 L}}}\n"
        "regimens: {first: {doses: [{drug: a, amount: 10 mg, interval: 7 d, additional: 99}]},"
        " second: {doses: [{drug: b, amount: 10 mg, interval: 7 d, additional: 99}]}}\n"
        "arms: {a: {lines: [{regimen: first, start: diagnosis, stop_at: progression},"
        " {regimen: second, start: progression}]}}\n"
        "engine: {max_step: 0.5 d}\n");
    seen *ev = calloc(1, sizeof *ev);
    metasim_sim_t *s = run(m, 0, 365, ev);
    metasim_clinical_t c;
    metasim_sim_clinical(s, &c);
    ck_assert(!isnan(c.progression));
    ck_assert_double_eq(when(ev, "line 1 (first) stops: progression"), c.progression);
    ck_assert_double_eq(when(ev, "line 2 (second) starts"), c.progression);
    /* Progression is found at a scan, scans every 14 days from diagnosis. */
    double k = (c.progression - c.diagnosis) / 14;
    ck_assert_double_eq_tol(k, round(k), 1e-9);
    metasim_sim_destroy(s);
    free(ev);
    metasim_model_destroy(m);
}
END_TEST

/* A line anchored at relapse starts when the first relapse is detected (plus its delay). */
START_TEST(test_start_at_relapse)
{
    metasim_model_t *m =
        load_yaml("scenario: {name: t}\ntime: {horizon: 3 y}\n"
                  "sites: {p: {division: {cycling: 0.3}, death: {cycling: 0.1}, shedding: 1e-6},"
                  " m: {blood_flow: 1, colonisation: 0.01, division: {cycling: 0.2},"
                  " death: {cycling: 0.1}}}\n"
                  "primary: {site: p, initial_cells: 1e6, detection_cells: 1e9}\n"
                  "clinic: {surgery: {delay: 1 w}, scans: [{every: 30 d, until: 3 y}]}\n"
                  "drugs: {x: {pk: {half_life: 1 d, volume: 10 L}}}\n"
                  "regimens: {r: {doses: [{drug: x, amount: 10 mg}]}}\n"
                  "arms: {a: {lines: [{regimen: r, start: relapse, delay: 3 d}]}}\n");
    seen *ev = calloc(1, sizeof *ev);
    metasim_sim_t *s = run(m, 0, 3 * 365.25, ev);
    metasim_clinical_t c;
    metasim_sim_clinical(s, &c);
    ck_assert_msg(!isnan(c.relapse), "the test needs a relapse");
    ck_assert_double_eq_tol(when(ev, "starts"), c.relapse + 3, 1e-9);
    ck_assert_double_eq(c.treatment, c.relapse + 3);
    ck_assert_ptr_nonnull(c.relapse_cause);
    ck_assert_str_eq(c.relapse_cause, "no resistance");
    metasim_sim_destroy(s);
    free(ev);
    metasim_model_destroy(m);
}
END_TEST

#define TWO_BLOCKERS(rule)                                                                         \
    "scenario: {name: t}\ntime: {horizon: 1 y}\n"                                                  \
    "states: [tolerant]\n"                                                                         \
    "sites: {p: {division: {cycling: 1, tolerant: 1}, death: {cycling: 0.1},"                      \
    " shedding: 0.01, transitions: [{from: cycling, to: tolerant, rate: 0.2}]}}\n"                 \
    "primary: {site: p, initial_cells: 10}\n"                                                      \
    "therapy: {combination: " rule "}\n"                                                           \
    "drugs: {a: {pk: {half_life: 1 d, volume: 1 L}, effects: ["                                    \
    "{target: division, max_block: 0.5, ec50: 1 mg/L, state_resistance: {tolerant: 1e18}},"        \
    "{target: transition, from: cycling, to: tolerant, max_block: 0.5, ec50: 1 mg/L},"             \
    "{target: shedding, max_block: 0.5, ec50: 1 mg/L}]},"                                          \
    " b: {pk: {half_life: 1 d, volume: 1 L}, effects: ["                                           \
    "{target: division, max_block: 0.5, ec50: 1 mg/L},"                                            \
    "{target: transition, from: cycling, to: tolerant, max_block: 0.5, ec50: 1 mg/L},"             \
    "{target: shedding, max_block: 0.5, ec50: 1 mg/L},"                                            \
    "{target: death, max_kill: 0.3 /d, ec50: 1 mg/L, state: cycling}]}}\n"                         \
    "regimens: {r: {doses: [{drug: a, amount: 1 mg}]}}\n"                                          \
    "arms: {a: {lines: [{regimen: r, start: diagnosis}]}}\n"

/* Blocked fractions combine by Bliss (0.5 x 0.5 left) or additively (nothing left); kill rates
 * add; a state's EC50 factor shields it. Checked on the rates at saturating concentrations. */
START_TEST(test_combination_rules)
{
    for (int additive = 0; additive < 2; additive++) {
        metasim_model_t *m = load_yaml(additive ? TWO_BLOCKERS("additive") : TWO_BLOCKERS("bliss"));
        metasim_sim_options_t o = {.seed = 1, .arm = 1};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        s->treated = true;
        for (size_t q = 0; q < 2 * MS_DRUG_NODES; q++)
            s->conc[q] = 1e9; /* saturating at every node: every H = 1 to 1e-9 */
        ms_lesion *l = &s->p.lesions[0];
        ms_engine_env(s, l);
        ms_rates r;
        ms_engine_rates(s, l, 0, &r); /* the founder: cycling */
        double left = additive ? 0.0 : 0.25;
        ck_assert_double_eq_tol(r.birth_same + r.birth_mut, left, 1e-8);
        ck_assert_double_eq_tol(r.shed, 0.01 * left, 1e-8);
        ck_assert_double_eq_tol(r.out, 0.2 * left, 1e-8);
        ck_assert_double_eq_tol(r.death, 0.1 + 0.3, 1e-9);
        /* Tolerant cells: drug a's division block does not reach them (EC50 x 1e12). */
        uint32_t k = ms_lesion_comp(l, 0, 2);
        ms_lesion_set(l, k, 5);
        ms_engine_rates(s, l, k, &r);
        ck_assert_double_eq_tol(r.birth_same + r.birth_mut, 0.5, 1e-8);
        ck_assert_double_eq_tol(r.death, 0, 1e-12); /* the kill is for cycling cells only */
        ms_lesion_set(l, k, 0);
        ms_lesion_prune(l);
        /* Rates are averaged over the step's nodes: drug b alone at C = 1, 3 and 0 mg/L (H =
         * 1/2, 3/4, 0) kills at 0.3 (5/18 1/2 + 8/18 3/4 + 0), and what is left of division is
         * the node average of 1 - 0.5 H, the same under both rules with one blocker. */
        const double c_b[MS_DRUG_NODES] = {1, 3, 0}, h_b[MS_DRUG_NODES] = {0.5, 0.75, 0};
        double kill = 0, division = 0;
        for (size_t q = 0; q < MS_DRUG_NODES; q++) {
            s->conc[q] = 0;
            s->conc[MS_DRUG_NODES + q] = c_b[q];
            kill += ms_drug_weight[q] * 0.3 * h_b[q];
            division += ms_drug_weight[q] * (1 - 0.5 * h_b[q]);
        }
        ms_engine_rates(s, l, 0, &r);
        ck_assert_double_eq_tol(r.death, 0.1 + kill, 1e-12);
        ck_assert_double_eq_tol(r.birth_same + r.birth_mut, division, 1e-12);
        metasim_sim_destroy(s);
        metasim_model_destroy(m);
    }
}
END_TEST

/* Clones record whether their resistance predates treatment; a forked treated history keeps
 * its schedule. */
START_TEST(test_provenance_and_fork)
{
    metasim_model_t *m = load_yaml(
        GROWING
        "time: {horizon: 120 d}\n"
        "loci: {common: {mutation_probability: 1e-3, resistance: {x: 100}},"
        " rare: {mutation_probability: 1e-7, resistance: {x: 100}}}\n"
        "drugs: {x: {pk: {half_life: 5 d, volume: 10 L},"
        " effects: [{target: death, max_kill: 0.3 /d, ec50: 1 mg/L}]}}\n"
        "regimens: {r: {doses: [{drug: x, amount: 100 mg, interval: 7 d, additional: 20}]}}\n"
        "arms: {a: {lines: [{regimen: r, start: diagnosis}]}}\n");
    int before = 0, during = 0;
    for (unsigned patient = 0; patient < 10; patient++) {
        seen *ev = calloc(1, sizeof *ev);
        metasim_sim_t *s = run(m, patient, 60, ev);
        metasim_clinical_t c;
        metasim_sim_clinical(s, &c);
        for (size_t k = 0; k < metasim_sim_clones(s); k++) {
            metasim_clone_info_t info;
            ck_assert_int_eq(metasim_sim_clone_info(s, k, &info), 0);
            if (!(info.loci & 3)) {
                ck_assert_int_eq(info.resistance, METASIM_RESISTANCE_NONE);
                ck_assert(isnan(info.resistant_since));
                continue;
            }
            ck_assert_double_le(info.resistant_since, info.born);
            bool acquired = info.resistant_since >= c.treatment;
            ck_assert_int_eq(info.resistance, acquired ? METASIM_RESISTANCE_ACQUIRED
                                                       : METASIM_RESISTANCE_PRE_EXISTING);
            before += !acquired;
            during += acquired;
        }
        /* A fork under the same arm continues the same concentrations. */
        metasim_sim_t *copy = NULL;
        ck_assert_int_eq(metasim_sim_fork(s, 1, NULL, &copy), 0);
        ms_therapy_at(s, 61.3, 61.8);
        ms_therapy_at(copy, 61.3, 61.8);
        for (size_t q = 0; q < MS_DRUG_NODES; q++) {
            ck_assert_double_eq(copy->conc[q], s->conc[q]);
            ck_assert_double_gt(s->conc[q], 0);
        }
        /* ... and a treated history cannot switch arms. */
        metasim_sim_t *other = NULL;
        ck_assert_int_eq(metasim_sim_fork(s, 0, NULL, &other), METASIM_E_STATE);
        metasim_sim_destroy(copy);
        metasim_sim_destroy(s);
        free(ev);
    }
    /* Clones are genotypes, so a clone's provenance is that of its genotype's first cell. About
     * 1.4e6 divisions reach the detection size of 1e6 cells from 1e5: `common` (u = 1e-3)
     * arises before treatment in every patient; `rare` (u = 1e-7) in about one patient in
     * eight, but the ~2e7 divisions of 60 days of treatment give it ~2 chances per patient,
     * so some patient's `rare` clone is acquired (failure probability about e^-18). */
    ck_assert_int_gt(before, 0);
    ck_assert_int_gt(during, 0);
    metasim_model_destroy(m);
}
END_TEST

/* Inclusion criteria are read at assignment; stages outside them are screen failures. */
START_TEST(test_eligibility)
{
    const char *yaml[2] = {"scenario: {name: t}\ntime: {horizon: 100 d}\n"
                           "sites: {p: {division: {cycling: 0.3}, death: {cycling: 0.1}}}\n"
                           "primary: {site: p, initial_cells: 1e8, detection_cells: 1e9}\n"
                           "trial: {patients: 20, inclusion: {t_stages: [1, 2], m_stages: [0]}}\n",
                           "scenario: {name: t}\ntime: {horizon: 100 d}\n"
                           "sites: {p: {division: {cycling: 0.3}, death: {cycling: 0.1}}}\n"
                           "primary: {site: p, initial_cells: 1e10, detection_cells: 1e11}\n"
                           "clinic: {lethal_cells: 1e14, symptomatic_diameter: 20 cm}\n"
                           "trial: {inclusion: {t_stages: [1, 2]}}\n"};
    for (int big = 0; big < 2; big++) {
        metasim_model_t *m = load_yaml(yaml[big]);
        ck_assert_uint_eq(metasim_model_trial_patients(m), big ? 1000 : 20);
        metasim_sim_options_t o = {.seed = 2, .stop_at_treatment = 1};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        const char *why = NULL;
        ck_assert_int_eq(metasim_sim_eligible(s, &why), 0);
        ck_assert_str_eq(why, "not diagnosed");
        ck_assert_int_eq(metasim_sim_run(s, 100, 0), METASIM_STOP_TREATMENT);
        metasim_clinical_t c;
        metasim_sim_clinical(s, &c);
        /* 1e9 cells at 1e9 per cm3 are a 1.24 cm sphere (T1); 1e11 a 5.76 cm one (T3). */
        ck_assert_int_eq(c.t_stage, big ? 3 : 1);
        ck_assert_int_eq(metasim_sim_eligible(s, &why), big ? 0 : 1);
        if (big)
            ck_assert_str_eq(why, "T stage");
        else
            ck_assert_ptr_null(why);
        metasim_sim_destroy(s);
        metasim_model_destroy(m);
    }
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("therapy");
    TCase *tc = tcase_create("lines");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cycles_and_body_size);
    tcase_add_test(tc, test_stop_after);
    tcase_add_test(tc, test_adaptive);
    tcase_add_test(tc, test_progression_switches_lines);
    tcase_add_test(tc, test_start_at_relapse);
    tcase_add_test(tc, test_combination_rules);
    tcase_add_test(tc, test_provenance_and_fork);
    tcase_add_test(tc, test_eligibility);
    suite_add_tcase(s, tc);
    return s;
}
