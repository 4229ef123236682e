/*
 * Tropism and kinetics of the cascade (label stats, slow; docs/studies/tropism.md): the
 * built-in breast, lung, prostate and colorectal scenarios send their first distant
 * metastases to the organs each cancer prefers, and lung cancer metastasises within months of
 * diagnosis while breast cancer does so over years (MSK Metastasis Research Center; Nguyen,
 * Bos and Massague, Nat Rev Cancer 2009).
 *
 * For each scenario, patients 0, 1, ... of its seed are simulated to the horizon until COHORT
 * have been diagnosed. A patient's first distant metastasis is the distant lesion first seen on
 * imaging (at diagnosis, a scan or a relapse with symptoms: metasim_lesion_info_t.detected),
 * at any site that is neither the primary's nor regional; its delay is the time from diagnosis
 * to that imaging (0 for metastases found at diagnosis).
 *
 * Checks, each a one-sided test at level 1e-4 on counts (exact binomial tails from GSL):
 * - each cancer's preferred organ takes more first metastases than the next most frequent
 *   organ, tested as a binomial share above 1/2 among the patients whose first site is either;
 *   for prostate the preferred organ (bone) takes more than 70 % of all first metastases;
 * - among patients with a distant metastasis, the share found within 1 year of diagnosis is
 *   higher in lung cancer than in breast cancer, by the two-proportion z test (pooled SE), and
 *   at least half of breast cancer's first metastases come more than 2 years after diagnosis.
 * The figures are printed for docs/studies/tropism.md. Nothing is tuned to pass.
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "metasim/metasim.h"
#include "unit_test.h"

enum { COHORT = 400, MAX_SITES = 16 };
#define LEVEL 1e-4

typedef struct tally {
    const char *name;
    int diagnosed, metastatic, synchronous, within_1y, after_2y;
    const char *site[MAX_SITES];
    int first[MAX_SITES];
    int n_sites;
} tally;

static void count_site(tally *t, const char *site)
{
    for (int i = 0; i < t->n_sites; i++)
        if (strcmp(t->site[i], site) == 0) {
            t->first[i]++;
            return;
        }
    if (t->n_sites < MAX_SITES) {
        t->site[t->n_sites] = site; /* the model's string: the model outlives the tally */
        t->first[t->n_sites++] = 1;
    }
}

static int site_count(const tally *t, const char *site)
{
    for (int i = 0; i < t->n_sites; i++)
        if (strcmp(t->site[i], site) == 0)
            return t->first[i];
    return 0;
}

static void simulate(const char *scenario, tally *t, metasim_model_t **model)
{
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_builtin(scenario, &m), 0);
    *model = m;
    memset(t, 0, sizeof *t);
    t->name = scenario;
    unsigned long long seed = 0;
    ck_assert(metasim_model_seed(m, &seed));
    const char *primary = NULL;
    for (unsigned p = 0; t->diagnosed < COHORT && p < 40 * COHORT; p++) {
        metasim_sim_options_t o = {.seed = seed, .patient = p};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        ck_assert_int_gt(metasim_sim_run(s, metasim_model_horizon(m), 0), 0);
        metasim_clinical_t k;
        metasim_sim_clinical(s, &k);
        if (isnan(k.diagnosis)) {
            metasim_sim_destroy(s);
            continue;
        }
        t->diagnosed++;
        metasim_lesion_info_t info;
        ck_assert_int_eq(metasim_sim_lesion_info(s, 0, &info), 0);
        primary = info.site;
        double first = INFINITY;
        const char *where = NULL;
        for (size_t i = 1; i < metasim_sim_lesions(s); i++) {
            ck_assert_int_eq(metasim_sim_lesion_info(s, i, &info), 0);
            if (strcmp(info.site, primary) == 0 || isnan(info.detected) ||
                metasim_model_site_regional(m, info.site))
                continue;
            if (info.detected < first) {
                first = info.detected;
                where = info.site;
            }
        }
        if (where) {
            double delay = first - k.diagnosis;
            t->metastatic++;
            t->synchronous += delay <= 0;
            t->within_1y += delay <= 365.25;
            t->after_2y += delay > 2 * 365.25;
            count_site(t, where);
        }
        metasim_sim_destroy(s);
    }
    ck_assert_int_eq(t->diagnosed, COHORT);
    printf("%s: %d diagnosed, %d with a distant metastasis (%d at diagnosis); of these %d "
           "within 1 y of diagnosis, %d after 2 y; first sites:",
           scenario, t->diagnosed, t->metastatic, t->synchronous, t->within_1y, t->after_2y);
    for (int i = 0; i < t->n_sites; i++)
        printf(" %s %d", t->site[i], t->first[i]);
    printf("\n");
    fflush(stdout);
}

/* P(X >= k) for X ~ Binomial(n, 1/2): the preferred organ beats the runner-up; when `top`, no
 * organ takes more first metastases than the preferred one. */
static void check_preferred(const tally *t, const char *preferred, const char *runner_up, bool top)
{
    int a = site_count(t, preferred), b = site_count(t, runner_up);
    double p = a > 0 ? gsl_cdf_binomial_Q((unsigned)(a - 1), 0.5, (unsigned)(a + b)) : 1;
    printf("  %s: %s %d against %s %d, one-sided p = %.3g\n", t->name, preferred, a, runner_up, b,
           p);
    ck_assert_msg(p < LEVEL, "%s: %s (%d) does not beat %s (%d): p = %g", t->name, preferred, a,
                  runner_up, b, p);
    fflush(stdout);
    for (int i = 0; top && i < t->n_sites; i++)
        ck_assert_msg(strcmp(t->site[i], preferred) == 0 || t->first[i] <= a,
                      "%s: %s (%d) is more frequent than %s", t->name, t->site[i], t->first[i],
                      preferred);
}

START_TEST(test_tropism_and_kinetics)
{
    tally breast, lung, prostate, colorectal;
    metasim_model_t *mb, *ml, *mp, *mc;
    simulate("er_positive_breast", &breast, &mb);
    simulate("nsclc_lung", &lung, &ml);
    simulate("prostate", &prostate, &mp);
    simulate("colorectal", &colorectal, &mc);

    check_preferred(&breast, "bone", "lung", true);
    check_preferred(&prostate, "bone", "lung", true);
    check_preferred(&colorectal, "liver", "lung", true);
    check_preferred(&colorectal, "lung", "bone", false);
    /* Prostate: bone above 70 % of first metastases, exact binomial tail. */
    int bone = site_count(&prostate, "bone");
    double p = gsl_cdf_binomial_Q((unsigned)(bone - 1), 0.7, (unsigned)prostate.metastatic);
    printf("  prostate: bone %d of %d first metastases, P(>= this | 70 %%) = %.3g\n", bone,
           prostate.metastatic, p);
    fflush(stdout);
    ck_assert_msg(p < LEVEL, "prostate: bone %d of %d", bone, prostate.metastatic);

    /* Kinetics: share of first metastases found within 1 year of diagnosis, lung > breast. */
    double pl = (double)lung.within_1y / lung.metastatic;
    double pb = (double)breast.within_1y / breast.metastatic;
    double pooled =
        (double)(lung.within_1y + breast.within_1y) / (lung.metastatic + breast.metastatic);
    double se = sqrt(pooled * (1 - pooled) * (1.0 / lung.metastatic + 1.0 / breast.metastatic));
    double z = (pl - pb) / se, pz = gsl_cdf_ugaussian_Q(z);
    printf("  within 1 y of diagnosis: lung %.3f (%d/%d), breast %.3f (%d/%d), z = %.2f, "
           "one-sided p = %.3g\n",
           pl, lung.within_1y, lung.metastatic, pb, breast.within_1y, breast.metastatic, z, pz);
    fflush(stdout);
    ck_assert_msg(pz < LEVEL, "lung is not faster than breast: z = %g", z);
    /* Breast: more than half of first metastases after 2 years (binomial, against 1/2). */
    double pa =
        gsl_cdf_binomial_Q((unsigned)(breast.after_2y - 1), 0.5, (unsigned)breast.metastatic);
    printf("  breast: %d of %d first metastases after 2 y, one-sided p = %.3g\n", breast.after_2y,
           breast.metastatic, pa);
    fflush(stdout);
    ck_assert_msg(pa < LEVEL, "breast: %d of %d after 2 y", breast.after_2y, breast.metastatic);
    metasim_model_destroy(mb);
    metasim_model_destroy(ml);
    metasim_model_destroy(mp);
    metasim_model_destroy(mc);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("tropism");
    TCase *tc = tcase_create("tropism");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_tropism_and_kinetics);
    suite_add_tcase(s, tc);
    return s;
}
