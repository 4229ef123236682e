/*
 * The metastatic cascade against theory (label stats). Fixed seeds; patients 0..M-1 are
 * independent replicates. Tolerances are 5 standard errors at the stated sample size, or
 * chi-square critical values at a false-alarm rate of 1e-4.
 */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "metasim/metasim.h"
#include "unit_test.h"

static void report(const char *what, double observed, double expected, double tol)
{
    printf("stats: %-52s observed %-12.6g expected %-12.6g tol %-10.4g %s\n", what, observed,
           expected, tol, fabs(observed - expected) <= tol ? "ok" : "FAIL");
}

/*
 * CTCs are an immigration-death process: cells enter the blood at eta N(t) per day and leave
 * at k = ln 2 / half-life, so E C(t) = eta N0 (1 - e^{-kt}) / k for a constant N0, and a draw
 * of v mL from V L of blood is Poisson with mean C v / (1000 V). Division balances shedding
 * (b = eta, d = 0), so E N(t) = N0; from 1e8 cells the relative spread of N is 1.4e-5, far
 * below the tolerances used.
 */
START_TEST(test_ctc_immigration_death)
{
    metasim_model_t *m = load_yaml("scenario: {name: ctc}\ntime: {horizon: 10}\n"
                                   "sites: {t: {shedding: 0.01 /d, division: {cycling: 0.01 /d}}}\n"
                                   "circulation: {half_life: 2 h, blood_volume: 5 L}\n"
                                   "primary: {site: t, initial_cells: 1e8}\n");
    const double eta = 0.01, n0 = 1e8, k = log(2.0) / (2.0 / 24), t = 0.75;
    const double want = eta * n0 * -expm1(-k * t) / k;
    const int runs = 10;
    double sum = 0, sum2 = 0;
    metasim_sim_t *keep = NULL;
    for (int i = 0; i < runs; i++) {
        metasim_sim_options_t o = {.seed = 101, .patient = (unsigned)i};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        ck_assert_int_eq(metasim_sim_run(s, t, 0), METASIM_STOP_TIME);
        double c = metasim_sim_ctc(s);
        sum += c;
        sum2 += c * c;
        if (i == 0)
            keep = s;
        else
            metasim_sim_destroy(s);
    }
    double mean = sum / runs, sd = sqrt((sum2 - runs * mean * mean) / (runs - 1));
    /* The spread over runs comes from N's fluctuations only (about 1e-5 relative); the
     * tolerance is 5 SE of the mean, floored at 1e-9 relative for rounding. */
    double tol = fmax(5 * sd / sqrt(runs), 1e-9 * want);
    report("1 E C(0.75 d), critical 1e8 cells (10 runs)", mean, want, tol);
    ck_assert_double_le(fabs(mean - want), tol);

    /* 4000 draws of 7.5 mL: mean within 5 Poisson SE, and dispersion sum (x - mean)^2 / mean
     * against chi-square with n - 1 degrees of freedom at 1e-4 in each tail. */
    const int draws = 4000;
    double lambda = metasim_sim_ctc(keep) * 7.5 / 5000, dsum = 0, dsum2 = 0;
    for (int i = 0; i < draws; i++) {
        long long x = metasim_sim_blood_draw(keep, 7.5);
        ck_assert_int_ge(x, 0);
        dsum += (double)x;
        dsum2 += (double)x * (double)x;
    }
    double dmean = dsum / draws;
    double tol_draw = 5 * sqrt(lambda / draws);
    report("1 mean CTCs per 7.5 mL draw (4000 draws)", dmean, lambda, tol_draw);
    ck_assert_double_le(fabs(dmean - lambda), tol_draw);
    double disp = (dsum2 - draws * dmean * dmean) / dmean;
    double lo = gsl_cdf_chisq_Pinv(1e-4, draws - 1), hi = gsl_cdf_chisq_Qinv(1e-4, draws - 1);
    printf("stats: 1 draw dispersion chi2 %.1f in [%.1f, %.1f]\n", disp, lo, hi);
    ck_assert(disp > lo && disp < hi);
    /* Draws come from their own stream: taking them does not change the history. */
    ck_assert_int_eq(metasim_sim_blood_draw(keep, -1), -1);
    metasim_sim_destroy(keep);
    metasim_model_destroy(m);
}
END_TEST

typedef struct survival_args {
    double r, b, d, T;
} survival_args;

/* e^{r u} (1 - alpha_m(T - u)): the density of lesions founded at u still alive at T. */
static double alive_density(double u, void *p)
{
    const survival_args *a = p;
    double tau = a->T - u, e = exp((a->b - a->d) * tau);
    double alpha = a->d * (e - 1) / (a->b * e - a->d);
    return exp(a->r * u) * (1 - alpha);
}

/*
 * Lesions founded by a primary growing at fixed rates: colonisers arise at eta s c N(u) with
 * N(u) = N0 e^{ru}, r = b - d - eta, so the number founded by T is Poisson with mean
 * eta s c N0 (e^{rT} - 1) / r (given the primary's path, which is deterministic to 1e-3 from
 * 1e5 cells); those still alive at T are Poisson with mean eta s c N0 times the integral of
 * e^{ru} (1 - alpha_m(T - u)) over [0, T], alpha_m the extinction law at the site.
 */
START_TEST(test_metastases_poisson)
{
    metasim_model_t *m =
        load_yaml("scenario: {name: mets}\ntime: {horizon: 100}\n"
                  "sites:\n"
                  "  p: {shedding: 0.01 /d, division: {cycling: 0.3}, death: "
                  "{cycling: 0.1}}\n"
                  "  m: {blood_flow: 50 %, colonisation: 1e-3, division: {cycling: "
                  "0.5}, death: {cycling: 0.3}}\n"
                  "circulation: {survival: 0.1}\n"
                  "primary: {site: p, initial_cells: 1e5}\n");
    const double eta = 0.01, s = 0.1, c = 1e-3, n0 = 1e5, r = 0.3 - 0.1 - eta, T = 10;
    const double want_founded = eta * s * c * n0 * expm1(r * T) / r;
    survival_args a = {r, 0.5, 0.3, T};
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    gsl_function f = {alive_density, &a};
    double integral, err;
    gsl_integration_qag(&f, 0, T, 1e-12, 1e-10, 1000, GSL_INTEG_GAUSS61, w, &integral, &err);
    gsl_integration_workspace_free(w);
    const double want_alive = eta * s * c * n0 * integral;

    const int runs = 20000;
    enum { MAXK = 40 };
    double hist[MAXK + 1] = {0}, sum_f = 0, sum_f2 = 0, sum_a = 0;
    for (int i = 0; i < runs; i++) {
        metasim_sim_options_t o = {.seed = 202, .patient = (unsigned)i};
        metasim_sim_t *sim = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &sim), 0);
        ck_assert_int_eq(metasim_sim_run(sim, T, 0), METASIM_STOP_TIME);
        metasim_counts_t n;
        metasim_sim_counts(sim, &n);
        ck_assert_uint_eq(n.shed, n.lost + n.colonised);
        ck_assert_uint_eq(n.colonised, n.self_seeded + n.lesions - 1);
        ck_assert_uint_eq(n.self_seeded, 0);
        double founded = (double)(n.lesions - 1), alive = 0;
        for (size_t l = 1; l < metasim_sim_lesions(sim); l++) {
            metasim_lesion_info_t li;
            metasim_sim_lesion_info(sim, l, &li);
            ck_assert_str_eq(li.site, "m");
            ck_assert_uint_eq(li.parent, 0);
            alive += li.cells > 0;
        }
        sum_f += founded;
        sum_f2 += founded * founded;
        sum_a += alive;
        hist[founded < MAXK ? (int)founded : MAXK]++;
        metasim_sim_destroy(sim);
    }
    /* Poisson: SE of the mean is sqrt(mean / runs). */
    double mean_f = sum_f / runs, tol_f = 5 * sqrt(want_founded / runs);
    report("2 E lesions founded by 10 d (20000 runs)", mean_f, want_founded, tol_f);
    ck_assert_double_le(fabs(mean_f - want_founded), tol_f);
    double mean_a = sum_a / runs, tol_a = 5 * sqrt(want_alive / runs);
    report("2 E lesions alive at 10 d", mean_a, want_alive, tol_a);
    ck_assert_double_le(fabs(mean_a - want_alive), tol_a);
    /* The founded count against the Poisson pmf: chi-square over bins pooled to expected
     * counts of at least 5, threshold at 1e-4. */
    double chi2 = 0, exp_acc = 0, obs_acc = 0;
    int df = -1;
    for (int k = 0; k <= MAXK; k++) {
        double e = runs * (k < MAXK ? gsl_ran_poisson_pdf((unsigned)k, want_founded)
                                    : gsl_cdf_poisson_Q(MAXK - 1, want_founded));
        exp_acc += e;
        obs_acc += hist[k];
        double rest = runs * gsl_cdf_poisson_Q((unsigned)k, want_founded);
        if (exp_acc >= 5 && (rest >= 5 || k == MAXK)) {
            chi2 += (obs_acc - exp_acc) * (obs_acc - exp_acc) / exp_acc;
            df++;
            exp_acc = obs_acc = 0;
        } else if (k == MAXK && exp_acc > 0) {
            chi2 += (obs_acc - exp_acc) * (obs_acc - exp_acc) / exp_acc;
            df++;
        }
    }
    double crit = gsl_cdf_chisq_Qinv(1e-4, df);
    printf("stats: 2 founded ~ Poisson: chi2 %.2f on %d df, critical %.2f\n", chi2, df, crit);
    ck_assert_double_lt(chi2, crit);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("cascade");
    TCase *tc = tcase_create("cascade");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_ctc_immigration_death);
    tcase_add_test(tc, test_metastases_poisson);
    suite_add_tcase(s, tc);
    return s;
}
