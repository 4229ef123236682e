/* Unit tests of the clinic (src/clinic): diagnosis and staging, surgery, follow-up, local
 * recurrence by self-seeding, death; through the public API. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "metasim/metasim.h"
#include "unit_test.h"

static int on_surgery(void *user, const metasim_event_t *e)
{
    if (e->kind == METASIM_EVENT_SURGERY)
        *(double *)user = e->value;
    return 0;
}

/* Without shedding nothing outlives surgery: the patient is diagnosed, operated and cured. */
START_TEST(test_no_spread_no_relapse)
{
    metasim_model_t *m =
        load_yaml("scenario: {name: c}\ntime: {horizon: 2 y}\n"
                  "sites: {p: {division: {cycling: 1}, death: {cycling: 0.1}}}\n"
                  "primary: {site: p, initial_cells: 1000, detection_cells: 1e6}\n"
                  "clinic: {surgery: {delay: 1 w}, scans: [{every: 30 d, until: 1 y}]}\n");
    for (unsigned patient = 0; patient < 5; patient++) {
        metasim_sim_t *s = start_sim(m, 31, patient);
        /* To the horizon: surgery removes every cell, and nothing comes back. */
        metasim_sim_run(s, 730.5, 0);
        metasim_clinical_t c;
        ck_assert_int_eq(metasim_sim_clinical(s, &c), 0);
        metasim_counts_t n;
        metasim_sim_counts(s, &n);
        ck_assert_double_eq(metasim_sim_cells(s), 0);
        ck_assert_uint_gt(n.resected, 1000000); /* the primary, past its detection size */
        metasim_sim_destroy(s);
        /* Cells are conserved through surgery: the event reports what it removed, the same
         * number the counters hold, and nothing is left. */
        double removed = -1;
        metasim_writer_t w = {.user = &removed, .event = on_surgery};
        metasim_sim_options_t o = {.seed = 31, .patient = patient, .writer = &w};
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        ck_assert_int_eq(metasim_sim_run(s, 730.5, 0), METASIM_STOP_EXTINCT);
        metasim_sim_counts(s, &n);
        ck_assert_double_eq(removed, (double)n.resected);
        ck_assert(!isnan(c.diagnosis));
        ck_assert_double_eq_tol(c.surgery, c.diagnosis + 7, 1e-9);
        ck_assert_double_eq_tol(metasim_sim_time(s), c.surgery, 1e-9);
        ck_assert(isnan(c.relapse));
        ck_assert(isnan(c.death));
        /* Diagnosed at (just past) 1e6 cells: diameter of 1e6 cells at 1e9 per cm^3. */
        double d6 = cbrt(6e6 / (3.14159265358979323846 * 1e9));
        ck_assert_double_ge(c.primary_diameter, d6);
        ck_assert_double_lt(c.primary_diameter, 1.5 * d6);
        ck_assert_int_eq(c.t_stage, 1);
        ck_assert_int_eq(c.n_stage, 0);
        ck_assert_int_eq(c.m_stage, 0);
        metasim_sim_destroy(s);
    }
    metasim_model_destroy(m);
}
END_TEST

/* Metastases shed after surgery; cells landing at the primary's site then found local
 * recurrences (before surgery they join the primary). */
START_TEST(test_local_recurrence_by_self_seeding)
{
    /* About ten metastases at m by surgery (2e6 cells shed, half to m, colonisation 1e-5);
     * they shed in turn, and half of what they shed reaches the primary's site. */
    metasim_model_t *m =
        load_yaml("scenario: {name: c}\ntime: {horizon: 150 d}\n"
                  "sites:\n"
                  "  p: {blood_flow: 0.5, colonisation: 1e-5, shedding: 0.01,"
                  " division: {cycling: 0.3}, death: {cycling: 0.1}}\n"
                  "  m: {blood_flow: 0.5, colonisation: 1e-5, shedding: 0.01,"
                  " division: {cycling: 0.3}, death: {cycling: 0.1}}\n"
                  "primary: {site: p, initial_cells: 1e4, detection_cells: 1e7}\n"
                  "clinic: {surgery: {delay: 1 w}, scans: [{every: 30 d, until: 1 y}]}\n");
    metasim_sim_t *s = start_sim(m, 31, 0);
    metasim_sim_run(s, 150, 0);
    metasim_clinical_t c;
    metasim_sim_clinical(s, &c);
    ck_assert(!isnan(c.surgery));
    size_t local = 0;
    for (size_t i = 1; i < metasim_sim_lesions(s); i++) {
        metasim_lesion_info_t li;
        metasim_sim_lesion_info(s, i, &li);
        if (strcmp(li.site, "p") == 0) {
            ck_assert_double_ge(li.founded, c.surgery); /* before: they joined the primary */
            local++;
        }
    }
    ck_assert_uint_gt(local, 0);
    ck_assert(!isnan(c.relapse));
    ck_assert_int_eq(c.relapse_local || c.relapse_distant, 1);
    metasim_counts_t n;
    metasim_sim_counts(s, &n);
    ck_assert_uint_gt(n.self_seeded, 0);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* Nodal status counts involved regional lesions: none without lymphatic colonisation, N3 when
 * every lymphatic cell settles. */
START_TEST(test_nodal_stage)
{
#define NODES_YAML(col)                                                                            \
    "scenario: {name: c}\ntime: {horizon: 30 d}\n"                                                 \
    "sites:\n"                                                                                     \
    "  p: {shedding: 0.01, division: {cycling: 1}, death: {cycling: 0.1}}\n"                       \
    "  nodes: {regional: true, lymph_flow: 0.5, colonisation: " col ","                            \
    " division: {cycling: 1}, death: {cycling: 0.1}}\n"                                            \
    "primary: {site: p, initial_cells: 1e4, detection_cells: 1e6}\n"                               \
    "clinic: {surgery: {delay: 0 d}, node_positive_cells: 1}\n"
    /* About 5600 cells take the lymph before surgery: with colonisation 0.01, some 56 node
     * lesions (N3); with 0, none. */
    const char *yamls[] = {NODES_YAML("0"), NODES_YAML("0.01")};
    const int want[] = {0, 3};
    for (int i = 0; i < 2; i++) {
        metasim_model_t *m = load_yaml(yamls[i]);
        metasim_sim_t *s = start_sim(m, 31, 0);
        metasim_sim_run(s, 30, 0);
        metasim_clinical_t c;
        metasim_sim_clinical(s, &c);
        ck_assert(!isnan(c.surgery));
        ck_assert_int_eq(c.n_stage, want[i]);
        /* Surgery removed the nodes too: no regional lesion holds cells afterwards. */
        for (size_t l = 1; l < metasim_sim_lesions(s); l++) {
            metasim_lesion_info_t li;
            metasim_sim_lesion_info(s, l, &li);
            if (strcmp(li.site, "nodes") == 0 && li.founded <= c.surgery)
                ck_assert_double_eq(li.cells, 0);
        }
        metasim_sim_destroy(s);
        metasim_model_destroy(m);
    }
}
END_TEST

START_TEST(test_death_at_lethal_burden)
{
    metasim_model_t *m = load_yaml("scenario: {name: c}\ntime: {horizon: 1 y}\n"
                                   "sites: {p: {division: {cycling: 1}, death: {cycling: 0.1}}}\n"
                                   "primary: {site: p, initial_cells: 100}\n"
                                   "clinic: {lethal_cells: 1e5}\n");
    metasim_sim_t *s = start_sim(m, 31, 2);
    ck_assert_int_eq(metasim_sim_run(s, 365.25, 0), METASIM_STOP_DEATH);
    metasim_clinical_t c;
    metasim_sim_clinical(s, &c);
    ck_assert_double_eq(c.death, metasim_sim_time(s));
    ck_assert_double_ge(metasim_sim_cells(s), 1e5);
    ck_assert(isnan(c.surgery)); /* no surgery declared */
    ck_assert_int_eq(metasim_sim_run(s, 365.25, 0), METASIM_STOP_DEATH);
    ck_assert_int_eq(metasim_sim_clinical(s, NULL), METASIM_E_ARG);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("clinic");
    TCase *tc = tcase_create("clinic");
    tcase_add_test(tc, test_no_spread_no_relapse);
    tcase_add_test(tc, test_local_recurrence_by_self_seeding);
    tcase_add_test(tc, test_nodal_stage);
    tcase_add_test(tc, test_death_at_lethal_burden);
    suite_add_tcase(s, tc);
    return s;
}
