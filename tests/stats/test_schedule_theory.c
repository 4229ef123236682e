/* An on/off dosing schedule against the theory of time-inhomogeneous birth-death processes
 * (label stats; the therapy acceptance test of issue 5, docs/therapy.md "Acceptance against
 * theory").
 *
 * The tumour is a linear birth-death population of N0 cells with constant division rate b and
 * death rate d(t) = d0 + max_kill H(C(t)), H(C) = C^h / (EC50^h + C^h), where C(t) is the
 * concentration of a drug given as 7-day infusions every 14 days (4 cycles) in a one-compartment
 * model. Two schedules: a half-life of 1 h, so that the effect is nearly on/off, and a half-life
 * of 1 d, so that the concentration rises and falls over days.
 *
 * Theory (Kendall 1948, "On the generalized birth-and-death process", Ann. Math. Stat.
 * 19:1-15): with rho(t) = integral_0^t (d(s) - b(s)) ds, one cell leaves
 *     E N(t) = e^(-rho(t)),
 *     P(N(t) = 0) = p0(t) = 1 - 1 / (e^(rho(t)) + integral_0^t b(s) e^(rho(s)) ds),
 *     Var N(t) = e^(-2 rho(t)) integral_0^t (b(s) + d(s)) e^(rho(s)) ds,
 * and N0 independent cells are extinct by t with probability p0(t)^N0. Check of the extinction
 * formula in the constant-rate case, rho = (d - b) t: the integral is b (e^rho - 1)/(d - b), so
 * p0 = 1 - (d - b)/(d e^rho - b) = d (e^rho - 1)/(d e^rho - b), which is the textbook
 * alpha(t) = d (E - 1)/(b E - d) with E = e^(-rho) = e^((b - d) t) (multiply above and below by
 * E). The variance satisfies dV/dt = 2 (b - d) V + (b + d) E N (the second-moment equation of
 * the process), whose solution from V(0) = 0 is the formula above; at constant rates it is
 * (b + d)/(b - d) E (E - 1). The identity integral_0^t (d - b) e^rho ds = e^rho(t) - 1 checks
 * the quadrature below.
 *
 * The concentration is computed here independently of the library (src/bio/pk.c), from the
 * one-compartment infusion solution (Gibaldi and Perrier, "Pharmacokinetics", 1982, ch. 1):
 * an infusion at rate R = amount / T over [ts, ts + T] contributes
 *     R / (k V) (1 - e^(-k (t - ts)))                       during it,
 *     R / (k V) (1 - e^(-k T)) e^(-k (t - ts - T))           after it,
 * with k = ln 2 / half-life, and infusions superpose. The integrals are GSL adaptive quadrature
 * (QAGS) over the pieces between dosing events, where the integrand is smooth; the inner rho(s)
 * of the outer integral is itself a QAGS integral.
 *
 * The engine averages the drug's effect over each step by three-point Gauss-Legendre quadrature
 * and ends steps at every dose and infusion end, before the effect changes the death rate by
 * more than engine.step_bound expected events per cell over the step, and after
 * engine.max_step (docs/therapy.md). The test
 * measures the error this leaves in E N(t) at step_bound 0.1 and 0.01, each with max_step 1 d
 * and 0.05 d, with the leap engine from 1e12 cells, where the relative SE of the mean is 1e-6
 * to 5e-5.
 *
 * Replicates are patients 0..R-1 of one seed per check and engine. Tolerances: the fraction
 * extinct by t is tested by the exact two-sided binomial test at a false-alarm rate of 1e-4
 * (each tail 5e-5; the printed SE is sqrt(P (1 - P)/R)); means at 5 SE from the theoretical
 * variance above (two-sided normal tail 5.7e-7). Nothing here is tuned to pass. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "unit_test.h"

#define N_SE 5.0
#define FALSE_ALARM 1e-4

/* ------------------------------------------------------------------ the model */

/* Tumour: division B, death D0 per day, N0 cells at t = 0; the drug adds MAX_KILL H(C). */
static const double B = 0.5, D0 = 0.2, MAX_KILL = 0.8;
enum { N0 = 100, CYCLES = 4 };
/* Schedule: an infusion of INFUSION days every INTERVAL days, CYCLES times, from t = 0. */
static const double INFUSION = 7, INTERVAL = 14, VOLUME = 10;

typedef struct schedule {
    const char *name;
    double half_life; /* d */
    double amount;    /* mg per infusion */
    double ec50;      /* mg/L */
    double hill;
} schedule;

/* Both reach a plateau of about 10 mg/L: amount / INFUSION / (k VOLUME). */
enum { ON_OFF, REALISTIC, N_SCHEDULES };
static const schedule SCHEDULES[N_SCHEDULES] = {
    {"on/off", 1.0 / 24, 12000, 1.0, 1.0},
    {"1 d half-life", 1.0, 500, 3.0, 2.0},
};

/* Runs per schedule and engine in checks 1 and 2. */
enum { RUNS = 10000 };

/* Times at which the population is compared with theory (d). */
enum { N_TIMES = 8 };
static const double TIMES[N_TIMES] = {7, 14, 21, 28, 35, 42, 49, 56};

/* The scenario: one site, the primary already above its detection size at t = 0 so that it is
 * diagnosed, and the arm's line of therapy starts, at once (no surgery). `engine` is the body
 * of the engine section. The output grid is beyond every run so that steps end only where the
 * engine's rules put them. */
static metasim_model_t *scenario(const schedule *sc, double n0, const char *engine)
{
    char text[4096];
    int n = snprintf(text, sizeof text,
                     "scenario: {name: schedule_stats}\n"
                     "time: {horizon: 1000 d, output_interval: 1000 d}\n"
                     "sites: {t: {division: {cycling: %.17g /d}, death: {cycling: %.17g /d}}}\n"
                     "primary: {site: t, initial_cells: %.0f, detection_cells: 1}\n"
                     "clinic: {lethal_cells: 1e15}\n"
                     "drugs: {x: {pk: {half_life: %.17g d, volume: %.17g L},"
                     " effects: [{target: death, max_kill: %.17g /d, ec50: %.17g mg/L,"
                     " hill: %.17g}]}}\n"
                     "regimens: {cycled: {doses: [{drug: x, amount: %.17g mg,"
                     " infusion: %.17g d}], cycles: %d, cycle_length: %.17g d}}\n"
                     "arms: {on: {lines: [{regimen: cycled, start: diagnosis}]}}\n"
                     "engine: {%s}\n",
                     B, D0, n0, sc->half_life, VOLUME, MAX_KILL, sc->ec50, sc->hill, sc->amount,
                     INFUSION, CYCLES, INTERVAL, engine);
    ck_assert(n > 0 && (size_t)n < sizeof text);
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("schedule.yaml", text, (size_t)n, &m);
    ck_assert_msg(rc == 0, "load failed (%s):\n%s\n%s", metasim_strerror(rc),
                  metasim_model_errmsg(m), text);
    return m;
}

/* ------------------------------------------------------------------ theory */

/* The concentration at time t (mg/L), by superposition of the infusions. */
static double concentration(const schedule *sc, double t)
{
    const double k = log(2.0) / sc->half_life, plateau = sc->amount / INFUSION / (k * VOLUME);
    double c = 0;
    for (int j = 0; j < CYCLES; j++) {
        double u = t - j * INTERVAL;
        if (u <= 0)
            break;
        c += u <= INFUSION ? plateau * -expm1(-k * u)
                           : plateau * -expm1(-k * INFUSION) * exp(-k * (u - INFUSION));
    }
    return c;
}

static double death_rate(const schedule *sc, double t)
{
    double c = concentration(sc, t);
    return c > 0 ? D0 + MAX_KILL / (1 + pow(sc->ec50 / c, sc->hill)) : D0;
}

typedef struct theory {
    const schedule *sc;
    gsl_integration_workspace *outer, *inner;
} theory;

enum { LIMIT = 1000 };

/* One QAGS integral; the quadrature must reach its tolerance. */
static double qags(double (*f)(double, void *), theory *th, gsl_integration_workspace *w, double lo,
                   double hi)
{
    gsl_function fn = {f, th};
    double r, err;
    int rc = gsl_integration_qags(&fn, lo, hi, 0, 1e-11, LIMIT, w, &r, &err);
    ck_assert_msg(rc == 0, "QAGS on [%g, %g]: %s", lo, hi, gsl_strerror(rc));
    return r;
}

/* Integral of f over [0, t] cut at the dosing events (infusion starts and ends), between which
 * f is smooth. */
static double piecewise(double (*f)(double, void *), theory *th, gsl_integration_workspace *w,
                        double t)
{
    double sum = 0, lo = 0;
    for (int j = 0; j < CYCLES; j++) {
        const double cuts[2] = {j * INTERVAL, j * INTERVAL + INFUSION};
        for (int i = 0; i < 2; i++) {
            if (cuts[i] > lo && cuts[i] < t) {
                sum += qags(f, th, w, lo, cuts[i]);
                lo = cuts[i];
            }
        }
    }
    return t > lo ? sum + qags(f, th, w, lo, t) : sum;
}

static double net_death(double t, void *p)
{
    const theory *th = p;
    return death_rate(th->sc, t) - B;
}

static double rho(theory *th, double t)
{
    return piecewise(net_death, th, th->inner, t);
}

static double b_exp_rho(double t, void *p)
{
    return B * exp(rho(p, t));
}

static double d_exp_rho(double t, void *p)
{
    theory *th = p;
    return death_rate(th->sc, t) * exp(rho(th, t));
}

typedef struct kendall {
    double rho, p0, mean, var; /* of one cell */
} kendall;

static kendall kendall_at(theory *th, double t)
{
    kendall k;
    k.rho = rho(th, t);
    double ib = piecewise(b_exp_rho, th, th->outer, t);
    double id = piecewise(d_exp_rho, th, th->outer, t);
    /* integral (d - b) e^rho = e^rho - 1: the quadratures agree with each other. */
    ck_assert_msg(fabs(id - ib - expm1(k.rho)) <= 1e-9 * (id + 1), "quadrature identity: %g vs %g",
                  id - ib, expm1(k.rho));
    k.p0 = 1 - 1 / (exp(k.rho) + ib);
    k.mean = exp(-k.rho);
    k.var = exp(-2 * k.rho) * (ib + id);
    return k;
}

static theory *theory_new(const schedule *sc)
{
    gsl_set_error_handler_off(); /* failures are returned and asserted, not aborted on */
    theory *th = malloc(sizeof *th);
    ck_assert_ptr_nonnull(th);
    th->sc = sc;
    th->outer = gsl_integration_workspace_alloc(LIMIT);
    th->inner = gsl_integration_workspace_alloc(LIMIT);
    ck_assert(th->outer && th->inner);
    return th;
}

static void theory_free(theory *th)
{
    gsl_integration_workspace_free(th->outer);
    gsl_integration_workspace_free(th->inner);
    free(th);
}

/* ------------------------------------------------------------------ checks */

/* Exact two-sided binomial test of `k` successes in `n` trials against probability p: fails
 * when either tail probability is below FALSE_ALARM / 2. */
static int binomial_ok(unsigned k, unsigned n, double p)
{
    double lower = gsl_cdf_binomial_P(k, p, n);                    /* P(X <= k) */
    double upper = k == 0 ? 1.0 : gsl_cdf_binomial_Q(k - 1, p, n); /* P(X >= k) */
    return lower >= FALSE_ALARM / 2 && upper >= FALSE_ALARM / 2;
}

/* The simulated fraction extinct and mean size at TIMES from N0 cells under schedule `sc`,
 * R runs of the engine `engine` (seed `seed`), against Kendall's formulas. Returns the number
 * of failed comparisons. */
static int check_schedule(const schedule *sc, const char *engine_name, const char *engine,
                          unsigned long long seed, unsigned R)
{
    metasim_model_t *m = scenario(sc, N0, engine);
    unsigned extinct[N_TIMES] = {0};
    double sum[N_TIMES] = {0};
    for (unsigned i = 0; i < R; i++) {
        metasim_sim_options_t o = {.seed = seed, .patient = i, .arm = 1};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
        for (int j = 0; j < N_TIMES; j++) {
            int rc = metasim_sim_run(s, TIMES[j], 0);
            ck_assert_msg(rc == METASIM_STOP_TIME || rc == METASIM_STOP_EXTINCT, "run %u: %d %s", i,
                          rc, metasim_sim_errmsg(s));
            double n = metasim_sim_cells(s);
            extinct[j] += n == 0;
            sum[j] += n;
        }
        metasim_sim_destroy(s);
    }
    metasim_model_destroy(m);

    theory *th = theory_new(sc);
    int fails = 0;
    for (int j = 0; j < N_TIMES; j++) {
        kendall k = kendall_at(th, TIMES[j]);
        double p = pow(k.p0, N0), obs = (double)extinct[j] / R;
        int ok = binomial_ok(extinct[j], R, p);
        printf("stats: %-13s %-6s t %2.0f  P(extinct) %.4f theory %.4f SE %.4f %s;"
               "  mean %8.4f theory %8.4f tol %.4f",
               sc->name, engine_name, TIMES[j], obs, p, sqrt(p * (1 - p) / R), ok ? "ok" : "FAIL",
               sum[j] / R, N0 * k.mean, N_SE * sqrt(N0 * k.var / R));
        fails += !ok;
        ok = fabs(sum[j] / R - N0 * k.mean) <= N_SE * sqrt(N0 * k.var / R);
        printf(" %s\n", ok ? "ok" : "FAIL");
        fails += !ok;
    }
    fflush(stdout);
    theory_free(th);
    return fails;
}

/* 1. Exact engine: every event simulated. RUNS runs per schedule. */
START_TEST(test_schedule_exact)
{
    int fails = 0;
    for (int c = 0; c < N_SCHEDULES; c++)
        fails +=
            check_schedule(&SCHEDULES[c], "exact", "exact_below: 1e300", 610 + (unsigned)c, RUNS);
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* 2. Hybrid engine: compartments of 20 cells or more leap (promotion at 40), so the runs cross
 * the threshold both ways. RUNS runs per schedule. */
START_TEST(test_schedule_hybrid)
{
    int fails = 0;
    for (int c = 0; c < N_SCHEDULES; c++)
        fails +=
            check_schedule(&SCHEDULES[c], "hybrid", "exact_below: 20", 620 + (unsigned)c, RUNS);
    ck_assert_int_eq(fails, 0);
}
END_TEST

/* 3. The error of averaging the drug effect over each step, as a function of
 * engine.step_bound and engine.max_step. The leap engine from N = 1e12 cells: without mutation
 * or transitions a leap draws the exact birth-death law for the frozen rates, so the only bias
 * of E N(t) is the step rule's quadrature of rho. One run's relative spread is
 * sqrt(Var N)/E N = sqrt((Ib + Id)/N) (Ib, Id the integrals of b e^rho and d e^rho), at most
 * 2e-4 here, so R = 20 runs give the relative error of the mean to about 5e-5 (its SE, from the
 * theoretical variance, is printed). The errors are a measurement for docs/therapy.md; the test
 * asserts what the other checks rely on: (a) at the default settings (step_bound 0.01, max_step
 * 1 d) the largest error over TIMES is smaller than at step_bound 0.1, so the bound controls
 * it, unless the error at the defaults is within 5 SE of zero at every time (then the runs
 * cannot see it, and a comparison would compare noise); (b) at the default settings the bias of E
 * N(t) is below a tenth of the tolerance of the mean in checks 1 and 2 at every time (5 SE at RUNS
 * runs of N0 cells), so it cannot be what those checks detect. */
START_TEST(test_step_bound)
{
    enum { R = 20, NC = 4, DEFAULT = 1, COARSE = 0 };
    static const struct {
        double step_bound, max_step;
    } config[NC] = {{0.1, 1}, {0.01, 1}, {0.1, 0.05}, {0.01, 0.05}};
    const double n0 = 1e12;
    int fails = 0;
    for (int c = 0; c < N_SCHEDULES; c++) {
        const schedule *sc = &SCHEDULES[c];
        theory *th = theory_new(sc);
        kendall k[N_TIMES];
        for (int j = 0; j < N_TIMES; j++)
            k[j] = kendall_at(th, TIMES[j]);
        theory_free(th);
        double err[NC][N_TIMES], worst[NC];
        for (int b = 0; b < NC; b++) {
            char eng[128];
            snprintf(eng, sizeof eng, "exact_below: 0, step_bound: %g, max_step: %g d",
                     config[b].step_bound, config[b].max_step);
            metasim_model_t *m = scenario(sc, n0, eng);
            double sum[N_TIMES] = {0};
            for (unsigned i = 0; i < R; i++) {
                metasim_sim_options_t o = {
                    .seed = 630 + (unsigned)(c * NC + b), .patient = i, .arm = 1};
                metasim_sim_t *s = NULL;
                ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
                for (int j = 0; j < N_TIMES; j++) {
                    ck_assert_int_eq(metasim_sim_run(s, TIMES[j], 0), METASIM_STOP_TIME);
                    sum[j] += metasim_sim_cells(s);
                }
                metasim_sim_destroy(s);
            }
            metasim_model_destroy(m);
            worst[b] = 0;
            printf("stats: %-13s step_bound %-4g max_step %-4g d: relative error of E N(t) "
                   "(SE) at t = 7, 14, ..., 56 d:\nstats:  ",
                   sc->name, config[b].step_bound, config[b].max_step);
            for (int j = 0; j < N_TIMES; j++) {
                double mean = n0 * k[j].mean;
                err[b][j] = sum[j] / R / mean - 1;
                printf(" %+.2e (%.0e)", err[b][j], sqrt(n0 * k[j].var / R) / mean);
                worst[b] = fmax(worst[b], fabs(err[b][j]));
            }
            printf("\n");
        }
        bool unseen = true;
        for (int j = 0; j < N_TIMES; j++)
            unseen &= fabs(err[DEFAULT][j]) <= 5 * sqrt(n0 * k[j].var / R) / (n0 * k[j].mean);
        int ok = worst[DEFAULT] < worst[COARSE] || unseen;
        printf("stats: %-13s (a) largest |error| %.3e at step_bound 0.01, %.3e at 0.1 (ratio "
               "%.1f)%s %s\n",
               sc->name, worst[DEFAULT], worst[COARSE], worst[COARSE] / worst[DEFAULT],
               unseen ? ", the former within 5 SE of 0 at every time" : "", ok ? "ok" : "FAIL");
        fails += !ok;
        for (int j = 0; j < N_TIMES; j++) {
            double tol = N_SE * sqrt(N0 * k[j].var / RUNS) / (N0 * k[j].mean);
            ok = fabs(err[DEFAULT][j]) <= 0.1 * tol;
            printf("stats: %-13s (b) t %2.0f bias %+.2e within a tenth of checks 1-2's relative "
                   "tolerance %.3e %s\n",
                   sc->name, TIMES[j], err[DEFAULT][j], tol, ok ? "ok" : "FAIL");
            fails += !ok;
        }
        fflush(stdout);
    }
    ck_assert_int_eq(fails, 0);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("schedule_stats");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"schedule_exact", test_schedule_exact},
        {"schedule_hybrid", test_schedule_hybrid},
        {"step_bound", test_step_bound},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}
