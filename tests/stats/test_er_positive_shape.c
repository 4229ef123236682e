/*
 * The built-in er_positive_breast scenario (surgery alone) gives the clinical shape of
 * ER-positive early breast cancer (label slow): most patients diagnosed without detectable
 * metastases, distant relapses spread over years after surgery, bone the commonest first site,
 * some relapses more than ten years after surgery. Patients 0, 1, ... of the scenario's seed are
 * simulated until COHORT have been diagnosed.
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metasim/metasim.h"
#include "unit_test.h"

enum { COHORT = 800, MAX_SITES = 16 };

typedef struct cohort {
    int diagnosed, m0, relapsed, distant;
    int late;  /* first distant relapse more than 10 years after surgery */
    int early; /* within 5 years */
    const char *site[MAX_SITES];
    int first_site[MAX_SITES];
    int n_sites;
} cohort;

static void count_site(cohort *c, const char *site)
{
    for (int i = 0; i < c->n_sites; i++) {
        if (strcmp(c->site[i], site) == 0) {
            c->first_site[i]++;
            return;
        }
    }
    if (c->n_sites < MAX_SITES) {
        c->site[c->n_sites] = site; /* owned by the model, which outlives the cohort */
        c->first_site[c->n_sites++] = 1;
    }
}

START_TEST(test_clinical_shape)
{
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_builtin("er_positive_breast", &m), 0);
    unsigned long long seed = 0;
    ck_assert(metasim_model_seed(m, &seed));
    cohort c = {0};
    for (unsigned patient = 0; c.diagnosed < COHORT && patient < 20 * COHORT; patient++) {
        metasim_sim_options_t o = {.seed = seed, .patient = patient};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        int rc = metasim_sim_run(s, metasim_model_horizon(m), 0);
        ck_assert_int_gt(rc, 0);
        metasim_clinical_t k;
        metasim_sim_clinical(s, &k);
        if (!isnan(k.diagnosis)) {
            c.diagnosed++;
            c.m0 += k.m_stage == 0;
            if (!isnan(k.relapse)) {
                c.relapsed++;
                if (k.relapse_distant) {
                    double years = (k.relapse - k.surgery) / 365.25;
                    c.distant++;
                    c.late += years > 10;
                    c.early += years <= 5;
                    count_site(&c, k.relapse_site);
                }
            }
        }
        metasim_sim_destroy(s);
    }
    printf("shape: %d diagnosed, %d M0, %d relapsed, %d distant (%d within 5 y, %d after 10 y)\n",
           c.diagnosed, c.m0, c.relapsed, c.distant, c.early, c.late);
    int bone = 0, other_max = 0;
    for (int i = 0; i < c.n_sites; i++) {
        printf("shape: first distant relapse in %-8s %d\n", c.site[i], c.first_site[i]);
        if (strcmp(c.site[i], "bone") == 0)
            bone = c.first_site[i];
        else if (c.first_site[i] > other_max)
            other_max = c.first_site[i];
    }
    ck_assert_int_eq(c.diagnosed, COHORT);
    /* Most are diagnosed M0: at least 80 %. */
    ck_assert_int_ge(c.m0, COHORT * 8 / 10);
    /* Bone is the commonest first site: among first relapses in bone or the next commonest
     * site, bone's share exceeds 1/2 with a one-sided binomial p-value below 1e-3. */
    double p = gsl_cdf_binomial_Q((unsigned)bone - 1, 0.5, (unsigned)(bone + other_max));
    printf("shape: bone %d vs next %d, one-sided p = %.3g\n", bone, other_max, p);
    ck_assert_int_gt(bone, other_max);
    ck_assert_double_lt(p, 1e-3);
    /* Relapses spread over years: some within 5 years, some after 10. */
    ck_assert_int_gt(c.early, 0);
    ck_assert_int_gt(c.late, 0);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("er_positive_shape");
    TCase *tc = tcase_create("shape");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, test_clinical_shape);
    suite_add_tcase(s, tc);
    return s;
}
