/* Unit tests of the pharmacokinetics (src/bio/pk.c) against textbook closed forms (Gibaldi and
 * Perrier, "Pharmacokinetics", 2nd ed., 1982; Rowland and Tozer, "Clinical Pharmacokinetics and
 * Pharmacodynamics", 4th ed., 2011), against a high-accuracy numerical integration of the ODEs
 * (GSL rk8pd) and, for means, against adaptive quadrature (GSL qag) of the concentration. The
 * acceptance is a relative error of 1e-6 for concentrations and 1e-8 for means; with
 * METASIM_TEST_VERBOSE set each test prints the largest relative error it measured. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio/pk_internal.h"
#include "metasim/metasim.h"
#include "unit_test.h"

/* ---------------------------------------------------------------- helpers */

static ms_drug one_compartment(double half_life, double volume)
{
    return (ms_drug){.name = "d",
                     .pk_model = MS_PK_ONE_COMPARTMENT,
                     .route = MS_ROUTE_IV,
                     .half_life = half_life,
                     .volume = volume,
                     .bioavailability = 1};
}

static ms_drug two_compartment(double half_life, double v1, double v2, double q)
{
    ms_drug d = one_compartment(half_life, v1);
    d.pk_model = MS_PK_TWO_COMPARTMENT;
    d.peripheral_volume = v2;
    d.clearance_q = q;
    return d;
}

static ms_drug oral(ms_drug d, double ka, double f)
{
    d.route = MS_ROUTE_ORAL;
    d.absorption_rate = ka;
    d.bioavailability = f;
    return d;
}

static ms_pk *make(const ms_drug *d, const ms_dose *doses, size_t n, double t0)
{
    ms_strbuf why = {0};
    ms_pk *pk = NULL;
    int rc = ms_pk_create(d, doses, n, 0, t0, INFINITY, &pk, &why);
    ck_assert_msg(rc == 0, "ms_pk_create: %d %s", rc, ms_strbuf_str(&why));
    ck_assert_ptr_nonnull(pk);
    ms_strbuf_free(&why);
    return pk;
}

/* Asserts |got - want| <= tol |want| and keeps the largest relative error in *worst; want = 0
 * must be met exactly. */
static void near(double got, double want, double tol, double *worst, const char *what)
{
    if (want == 0) {
        ck_assert_msg(got == 0, "%s: got %.17g, want 0", what, got);
        return;
    }
    double err = fabs(got - want) / fabs(want);
    ck_assert_msg(err <= tol, "%s: got %.17g, want %.17g (relative error %.3g)", what, got, want,
                  err);
    if (err > *worst)
        *worst = err;
}

static void report(const char *test, double worst)
{
    if (getenv("METASIM_TEST_VERBOSE"))
        printf("%s: largest relative error %.3g\n", test, worst);
}

/* ---------------------------------------------------------------- reference ODE solution */

typedef struct ref_sys {
    double ka, k10, k12, k21, rate;
} ref_sys;

static int ref_rhs(double t, const double y[], double dydt[], void *params)
{
    (void)t;
    const ref_sys *p = params;
    dydt[0] = -p->ka * y[0];
    dydt[1] = p->ka * y[0] + p->rate - (p->k10 + p->k12) * y[1] + p->k21 * y[2];
    dydt[2] = p->k12 * y[1] - p->k21 * y[2];
    return GSL_SUCCESS;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The central concentration at time `at` by integrating the gut-central-peripheral ODEs with
 * rk8pd at tolerances 1e-13, from the dosing records of drug 0 expanded here independently of
 * pk.c: impulses at dose times, a piecewise-constant infusion rate between breakpoints. */
static double ref_concentration(const ms_drug *d, const ms_dose *doses, size_t n, double t0,
                                double at)
{
    enum { MAX_BP = 1024 };
    double bp[MAX_BP];
    size_t nb = 0;
    bp[nb++] = at;
    for (size_t i = 0; i < n; i++)
        for (uint64_t j = 0; doses[i].drug == 0 && j <= doses[i].additional; j++) {
            double ts = t0 + doses[i].start + (double)j * doses[i].interval;
            ck_assert(nb + 2 <= MAX_BP);
            if (ts <= at)
                bp[nb++] = ts;
            if (doses[i].infusion > 0 && ts + doses[i].infusion < at)
                bp[nb++] = ts + doses[i].infusion;
        }
    qsort(bp, nb, sizeof bp[0], cmp_double);
    size_t m = 0;
    for (size_t i = 0; i < nb; i++)
        if (m == 0 || bp[i] != bp[m - 1])
            bp[m++] = bp[i];

    int two = d->pk_model == MS_PK_TWO_COMPARTMENT;
    ref_sys p = {.ka = d->route == MS_ROUTE_ORAL ? d->absorption_rate : 0,
                 .k10 = log(2.0) / d->half_life,
                 .k12 = two ? d->clearance_q / d->volume : 0,
                 .k21 = two ? d->clearance_q / d->peripheral_volume : 0};
    gsl_odeiv2_system sys = {ref_rhs, NULL, 3, &p};
    gsl_odeiv2_driver *drv =
        gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, 1e-6, 1e-13, 1e-13);
    double y[3] = {0, 0, 0}, t = bp[0];
    for (size_t b = 0; b < m; b++) {
        if (bp[b] > t) {
            double mid = 0.5 * (t + bp[b]);
            p.rate = 0;
            for (size_t i = 0; i < n; i++)
                for (uint64_t j = 0; doses[i].drug == 0 && j <= doses[i].additional; j++) {
                    double ts = t0 + doses[i].start + (double)j * doses[i].interval;
                    if (doses[i].infusion > 0 && ts <= mid && mid < ts + doses[i].infusion)
                        p.rate += doses[i].amount / doses[i].infusion;
                }
            gsl_odeiv2_driver_reset(drv);
            ck_assert_int_eq(gsl_odeiv2_driver_apply(drv, &t, bp[b], y), GSL_SUCCESS);
            t = bp[b];
        }
        for (size_t i = 0; i < n; i++)
            for (uint64_t j = 0; doses[i].drug == 0 && j <= doses[i].additional; j++) {
                double ts = t0 + doses[i].start + (double)j * doses[i].interval;
                if (ts != bp[b])
                    continue;
                if (d->route == MS_ROUTE_ORAL)
                    y[0] += d->bioavailability * doses[i].amount;
                else if (doses[i].infusion == 0)
                    y[1] += doses[i].amount;
            }
    }
    gsl_odeiv2_driver_free(drv);
    return y[1] / d->volume;
}

/* ---------------------------------------------------------------- one compartment */

/* One IV bolus: C(t) = D/V e^(-k t) (Gibaldi and Perrier, chapter 1); 0 before the dose. */
START_TEST(test_bolus_decay)
{
    ms_drug d = one_compartment(0.5, 10);
    ms_dose dose = {.drug = 0, .amount = 100, .start = 1};
    ms_pk *pk = make(&d, &dose, 1, 2);
    double k = log(2.0) / 0.5, worst = 0;
    ck_assert_double_eq(ms_pk_concentration(pk, 2.999), 0);
    ck_assert_double_eq(ms_pk_concentration(pk, -INFINITY), 0);
    ck_assert_double_eq(ms_pk_concentration(pk, INFINITY), 0);
    ck_assert(isnan(ms_pk_concentration(pk, NAN)));
    for (double u = 0; u <= 10; u += 0.25)
        near(ms_pk_concentration(pk, 3 + u), 10 * exp(-k * u), 1e-6, &worst, "bolus");
    report("bolus decay", worst);
    ms_pk_free(pk);
}
END_TEST

/* n boluses every tau: just after the n-th, C = D/V (1 - e^(-n k tau)) / (1 - e^(-k tau)); at
 * steady state Cmax,ss = D/V / (1 - e^(-k tau)) and Cmin,ss = Cmax,ss e^(-k tau) (Gibaldi and
 * Perrier, chapter 3). Two records of 60% and 40% of the dose at the same times, listed in
 * either order, give the same curve. */
START_TEST(test_repeated_bolus)
{
    const double dose = 100, v = 10, half = 1, tau = 0.8, t0 = 5;
    const uint64_t n = 120;
    ms_drug d = one_compartment(half, v);
    ms_dose rec = {.drug = 0, .amount = dose, .start = 0, .interval = tau, .additional = n - 1};
    ms_pk *pk = make(&d, &rec, 1, t0);
    double k = log(2.0) / half, r = exp(-k * tau), worst = 0;
    for (uint64_t i = 1; i <= n; i++) {
        double ti = t0 + (double)(i - 1) * tau;
        double peak = dose / v * (1 - pow(r, (double)i)) / (1 - r);
        near(ms_pk_concentration(pk, ti), peak, 1e-6, &worst, "peak after dose i");
        near(ms_pk_concentration(pk, ti + 0.3 * tau), peak * exp(-k * 0.3 * tau), 1e-6, &worst,
             "within interval i");
    }
    double cmax = dose / v / (1 - r), last = t0 + (double)(n - 1) * tau;
    near(ms_pk_concentration(pk, last), cmax, 1e-6, &worst, "Cmax,ss");
    near(ms_pk_concentration(pk, last + tau), cmax * r, 1e-6, &worst, "Cmin,ss");

    ms_dose parts[2] = {{.drug = 0, .amount = 0.6 * dose, .interval = tau, .additional = n - 1},
                        {.drug = 0, .amount = 0.4 * dose, .interval = tau, .additional = n - 1}};
    ms_dose swapped[2] = {parts[1], parts[0]};
    ms_pk *split = make(&d, parts, 2, t0), *other = make(&d, swapped, 2, t0);
    ck_assert_uint_eq(ms_pk_events(split), n);
    for (double t = t0; t < last + 2; t += 0.37) {
        near(ms_pk_concentration(split, t), ms_pk_concentration(pk, t), 1e-12, &worst,
             "two part doses");
        ck_assert_double_eq(ms_pk_concentration(other, t), ms_pk_concentration(split, t));
    }
    ms_pk_free(other);
    report("repeated bolus", worst);
    ms_pk_free(split);
    ms_pk_free(pk);
}
END_TEST

static double minus_concentration(double t, void *pk)
{
    return -ms_pk_concentration(pk, t);
}

/* (1 - e^(-x)) / x by its Taylor series, for |x| < 1e-6 (error below x^3/24). */
static double relax_series(double x)
{
    return 1 - x / 2 + x * x / 6;
}

/* The oral curve C(t) = F D ka / (V (ka - k)) (e^(-k t) - e^(-ka t)) (Gibaldi and Perrier,
 * chapter 1), its peak at tmax = ln(ka/k) / (ka - k) with Cmax = F D/V e^(-k tmax),
 * tmax located here by Brent's method on -C; and the ka = k limit F D/V k t e^(-k t). With ka a
 * relative 1e-9 away from k, where the textbook form loses half its digits, the reference is
 * F D ka/V t e^(-k t) (1 - e^(-x))/x with x = (ka - k) t, by its Taylor series. */
START_TEST(test_oral_curve)
{
    const double dose = 200, v = 20, f = 0.8, ka = 3, half = 0.7, t0 = 0.5;
    ms_drug d = oral(one_compartment(half, v), ka, f);
    ms_dose rec = {.drug = 0, .amount = dose};
    ms_pk *pk = make(&d, &rec, 1, t0);
    double k = log(2.0) / half, worst = 0;
    ck_assert_double_eq(ms_pk_concentration(pk, t0), 0);
    for (double u = 0.01; u <= 12; u *= 1.3)
        near(ms_pk_concentration(pk, t0 + u),
             f * dose * ka / (v * (ka - k)) * (exp(-k * u) - exp(-ka * u)), 1e-6, &worst,
             "oral curve");

    double tmax = log(ka / k) / (ka - k);
    near(ms_pk_concentration(pk, t0 + tmax), f * dose / v * exp(-k * tmax), 1e-6, &worst, "Cmax");
    gsl_set_error_handler_off();
    gsl_min_fminimizer *s = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
    gsl_function fn = {minus_concentration, pk};
    ck_assert_int_eq(gsl_min_fminimizer_set(s, &fn, t0 + 0.8 * tmax, t0 + 0.01, t0 + 5), 0);
    for (int it = 0; it < 200; it++) {
        gsl_min_fminimizer_iterate(s);
        if (gsl_min_test_interval(gsl_min_fminimizer_x_lower(s), gsl_min_fminimizer_x_upper(s),
                                  1e-12, 0) == GSL_SUCCESS)
            break;
    }
    near(gsl_min_fminimizer_x_minimum(s) - t0, tmax, 1e-6, &worst, "tmax");
    gsl_min_fminimizer_free(s);
    ms_pk_free(pk);

    for (int nearly = 0; nearly < 2; nearly++) {
        double kk = log(2.0) / half;
        ms_drug e = oral(one_compartment(half, v), nearly ? kk * (1 + 1e-9) : kk, f);
        pk = make(&e, &rec, 1, t0);
        double kb = e.absorption_rate;
        for (double u = 0.01; u <= 12; u *= 1.3)
            near(ms_pk_concentration(pk, t0 + u),
                 f * dose / v * kb * u * exp(-kk * u) * relax_series((kb - kk) * u), 1e-12, &worst,
                 nearly ? "ka near k" : "ka == k");
        ms_pk_free(pk);
    }
    report("oral curve", worst);
}
END_TEST

/* A zero-order infusion of rate R = D/T: C = R/(k V) (1 - e^(-k t)) during it, C(T) e^(-k (t - T))
 * after it (Rowland and Tozer, constant-rate input), and the plateau R/(k V) of a long one. */
START_TEST(test_infusion)
{
    const double v = 15, half = 0.5, t0 = 3;
    ms_drug d = one_compartment(half, v);
    double k = log(2.0) / half, worst = 0;
    ms_dose rec = {.drug = 0, .amount = 500, .start = 1, .infusion = 2};
    ms_pk *pk = make(&d, &rec, 1, t0);
    double r = 500 / 2.0, start = t0 + 1, plateau = r / (k * v);
    ck_assert_double_eq(ms_pk_concentration(pk, start), 0);
    for (double u = 0.01; u < 2; u += 0.07)
        near(ms_pk_concentration(pk, start + u), plateau * -expm1(-k * u), 1e-6, &worst,
             "during infusion");
    double end = plateau * -expm1(-k * 2);
    for (double u = 0; u < 8; u += 0.13)
        near(ms_pk_concentration(pk, start + 2 + u), end * exp(-k * u), 1e-6, &worst,
             "after infusion");
    ck_assert_double_eq(ms_pk_next_event(pk, start), start + 2);
    ms_pk_free(pk);

    ms_dose long_one = {.drug = 0, .amount = 100 * r, .infusion = 100};
    pk = make(&d, &long_one, 1, t0);
    for (double u = 40; u < 100; u += 5)
        near(ms_pk_concentration(pk, t0 + u), plateau, 1e-6, &worst, "plateau");
    report("infusion", worst);
    ms_pk_free(pk);
}
END_TEST

/* ---------------------------------------------------------------- two compartments */

/* One bolus into the central compartment: C = D/V1 ((alpha - k21) e^(-alpha t) + (k21 - beta)
 * e^(-beta t)) / (alpha - beta) with alpha, beta = (s +- sqrt(s^2 - 4 k10 k21))/2, s = k10 + k12 +
 * k21 (Gibaldi and Perrier, chapter 2), and the ODEs integrated numerically. */
START_TEST(test_two_compartment_bolus)
{
    const double half = 0.3, v1 = 12, v2 = 30, q = 20, t0 = 1;
    ms_drug d = two_compartment(half, v1, v2, q);
    ms_dose rec = {.drug = 0, .amount = 250};
    ms_pk *pk = make(&d, &rec, 1, t0);
    double k10 = log(2.0) / half, k12 = q / v1, k21 = q / v2, s = k10 + k12 + k21;
    double alpha = (s + sqrt(s * s - 4 * k10 * k21)) / 2,
           beta = (s - sqrt(s * s - 4 * k10 * k21)) / 2;
    double worst = 0;
    for (double u = 0; u <= 20; u += 0.4) {
        double want = 250 / v1 * ((alpha - k21) * exp(-alpha * u) + (k21 - beta) * exp(-beta * u)) /
                      (alpha - beta);
        near(ms_pk_concentration(pk, t0 + u), want, 1e-6, &worst, "textbook");
        near(ms_pk_concentration(pk, t0 + u), ref_concentration(&d, &rec, 1, t0, t0 + u), 1e-6,
             &worst, "ODE");
    }
    report("two-compartment bolus", worst);
    ms_pk_free(pk);
}
END_TEST

/* Schedules of every route under two compartments, against the ODEs: repeated boluses,
 * overlapping infusions, oral doses with ka equal to alpha, to beta and to neither, and a nearly
 * degenerate model (k12 tiny, k10 = k21: alpha - beta = 7e-4 alpha). */
START_TEST(test_two_compartment_schedules)
{
    const double half = 0.6, v1 = 8, v2 = 25, q = 6, t0 = 2;
    double k10 = log(2.0) / half, k12 = q / v1, k21 = q / v2, s = k10 + k12 + k21;
    double alpha = (s + sqrt(s * s - 4 * k10 * k21)) / 2, beta = k10 * k21 / alpha;
    double worst = 0;
    ms_dose iv[3] = {
        {.drug = 0, .amount = 100, .start = 0, .interval = 1.5, .additional = 6},
        {.drug = 0, .amount = 300, .start = 0.5, .interval = 3, .additional = 2, .infusion = 2},
        {.drug = 0, .amount = 50, .start = 1.7, .infusion = 4}};
    ms_dose po = {.drug = 0, .amount = 80, .start = 0.25, .interval = 1, .additional = 7};
    struct {
        ms_drug d;
        const ms_dose *doses;
        size_t n;
        const char *what;
    } cases[] = {
        {two_compartment(half, v1, v2, q), iv, 3, "IV bolus and infusions"},
        {oral(two_compartment(half, v1, v2, q), 2.5, 0.6), &po, 1, "oral"},
        {oral(two_compartment(half, v1, v2, q), alpha, 0.6), &po, 1, "oral, ka = alpha"},
        {oral(two_compartment(half, v1, v2, q), beta, 0.6), &po, 1, "oral, ka = beta"},
        {two_compartment(0.5, 10, 1e-6 * 0.5 / log(2.0), 1e-6), iv, 3, "nearly degenerate"},
        {oral(two_compartment(0.5, 10, 1e-6 * 0.5 / log(2.0), 1e-6), log(2.0) / 0.5, 1), &po, 1,
         "nearly degenerate, oral, ka = k10"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ms_pk *pk = make(&cases[c].d, cases[c].doses, cases[c].n, t0);
        for (double u = 0.05; u <= 16; u += 0.35)
            near(ms_pk_concentration(pk, t0 + u),
                 ref_concentration(&cases[c].d, cases[c].doses, cases[c].n, t0, t0 + u), 1e-6,
                 &worst, cases[c].what);
        ms_pk_free(pk);
    }
    report("two-compartment schedules", worst);
}
END_TEST

/* ---------------------------------------------------------------- means */

static double concentration_fn(double t, void *pk)
{
    return ms_pk_concentration(pk, t);
}

/* The mean over [a, b] by GSL qag (61-point Gauss-Kronrod, relative tolerance 1e-12), piece by
 * piece between the schedule's events, where C jumps (boluses) or has a kink (infusions). */
static double quadrature_mean(const ms_pk *pk, double a, double b)
{
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    gsl_function fn = {concentration_fn, (void *)(uintptr_t)pk};
    double sum = 0;
    for (double lo = a; lo < b;) {
        double hi = fmin(ms_pk_next_event(pk, lo), b), r = 0, err = 0;
        int rc = gsl_integration_qag(&fn, lo, hi, 0, 1e-12, 1000, GSL_INTEG_GAUSS61, w, &r, &err);
        ck_assert_msg(rc == 0 || (rc == GSL_EROUND && err <= 1e-11 * fabs(r)), "qag: %d", rc);
        sum += r;
        lo = hi;
    }
    gsl_integration_workspace_free(w);
    return sum / (b - a);
}

START_TEST(test_mean)
{
    gsl_set_error_handler_off();
    const double t0 = 10;
    ms_dose iv[2] = {
        {.drug = 0, .amount = 100, .interval = 3, .additional = 4},
        {.drug = 0, .amount = 300, .start = 1, .interval = 3, .additional = 4, .infusion = 0.5}};
    ms_dose po = {.drug = 0, .amount = 50, .start = 0.2, .interval = 1, .additional = 19};
    struct {
        ms_drug d;
        const ms_dose *doses;
        size_t n;
    } cases[] = {
        {one_compartment(0.8, 12), iv, 2},
        {two_compartment(0.4, 10, 40, 15), iv, 2},
        {oral(two_compartment(0.4, 10, 40, 15), 2, 0.7), &po, 1},
        {oral(one_compartment(0.4, 10), log(2.0) / 0.4, 0.7), &po, 1},
    };
    const double spans[][2] = {
        {5, 50},    {10, 11},    {10.25, 10.75}, {11.2, 11.3}, {23.0001, 23.0002},
        {13, 28.5}, {9.5, 10.2}, {0, 40}};
    double worst = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ms_pk *pk = make(&cases[c].d, cases[c].doses, cases[c].n, t0);
        for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
            double a = spans[i][0], b = spans[i][1], want = quadrature_mean(pk, a, b);
            near(ms_pk_mean(pk, a, b), want, 1e-8, &worst, "mean");
            near(ms_pk_mean(pk, b, a), want, 1e-8, &worst, "mean, reversed");
        }
        ck_assert_double_eq(ms_pk_mean(pk, 0, 9.99), 0);
        ck_assert_double_eq(ms_pk_mean(pk, 12.5, 12.5), ms_pk_concentration(pk, 12.5));
        ck_assert_double_eq(ms_pk_mean(pk, 12.5, INFINITY), 0);
        ck_assert(isnan(ms_pk_mean(pk, NAN, 1)));
        ms_pk_free(pk);
    }
    report("mean", worst);
}
END_TEST

/* ---------------------------------------------------------------- schedules and errors */

/* Events are the doses and the infusions' ends of this drug only, coincident ones merged. */
START_TEST(test_next_event)
{
    ms_drug d = one_compartment(1, 10);
    ms_dose doses[3] = {
        {.drug = 0, .amount = 10, .start = 1, .interval = 7, .additional = 2, .infusion = 0.5},
        {.drug = 1, .amount = 99, .start = 2},
        {.drug = 0, .amount = 5, .start = 8}};
    ms_pk *pk = make(&d, doses, 3, 100);
    const double want[] = {101, 101.5, 108, 108.5, 115, 115.5};
    ck_assert_uint_eq(ms_pk_events(pk), 6);
    double t = -INFINITY;
    for (size_t i = 0; i < 6; i++) {
        t = ms_pk_next_event(pk, t);
        ck_assert_double_eq(t, want[i]);
    }
    ck_assert(isinf(ms_pk_next_event(pk, t)));
    ck_assert_double_eq(ms_pk_next_event(pk, 101.2), 101.5);
    ck_assert_double_eq(ms_pk_next_event(pk, 0), 101);
    ck_assert(isnan(ms_pk_next_event(pk, NAN)));

    /* The other drug's dose changes nothing. */
    ms_dose own[2] = {doses[0], doses[2]};
    ms_pk *alone = make(&d, own, 2, 100);
    for (double u = 100; u < 130; u += 0.7)
        ck_assert_double_eq(ms_pk_concentration(pk, u), ms_pk_concentration(alone, u));
    ms_pk_free(alone);
    ms_pk_free(pk);
}
END_TEST

START_TEST(test_empty_schedule)
{
    ms_drug d = two_compartment(1, 10, 20, 5);
    ms_dose other = {.drug = 3, .amount = 10};
    ms_pk *pk = make(&d, &other, 1, 0);
    ck_assert_uint_eq(ms_pk_events(pk), 0);
    ck_assert_double_eq(ms_pk_concentration(pk, 0), 0);
    ck_assert_double_eq(ms_pk_concentration(pk, 1e6), 0);
    ck_assert_double_eq(ms_pk_mean(pk, 0, 100), 0);
    ck_assert(isinf(ms_pk_next_event(pk, -1)));
    ms_pk_free(pk);
    pk = make(&d, NULL, 0, 0);
    ck_assert(isinf(ms_pk_next_event(pk, 0)));
    ms_pk_free(pk);
    ms_pk_free(NULL);
}
END_TEST

/* The time from which a schedule's concentration stays below the drug's negligible level: exact
 * for one compartment (the body holds only the central amount, so the bound is the
 * concentration), and for two compartments and oral dosing never early (the concentration is
 * below the level at and after it) and no later than where the whole body's drug reaches it. */
START_TEST(test_quiet_from)
{
    const double half = 0.5, v = 10, c = 1e-20;
    ms_drug d = one_compartment(half, v);
    d.negligible = c;
    ms_dose bolus = {.drug = 0, .amount = 100, .start = 1, .interval = 2, .additional = 3};
    ms_pk *pk = make(&d, &bolus, 1, 10);
    double last = 10 + 1 + 3 * 2,
           want = last + log(ms_pk_concentration(pk, last) / c) * half / log(2.0);
    double worst = 0;
    near(ms_pk_quiet_from(pk), want, 1e-8, &worst, "one compartment");
    ms_pk_free(pk);

    /* Below the level already at the last dose: quiet from there. */
    d.negligible = 1e3;
    pk = make(&d, &bolus, 1, 10);
    ck_assert_double_eq(ms_pk_quiet_from(pk), last);
    ms_pk_free(pk);

    ms_drug forms[2] = {two_compartment(0.3, 12, 30, 20),
                        oral(two_compartment(2, 12, 300, 20), 3, 0.6)};
    for (size_t i = 0; i < 2; i++) {
        forms[i].negligible = c;
        ms_dose infusion = {
            .drug = 0, .amount = 500, .interval = 21, .additional = 3, .infusion = i ? 0 : 0.1};
        pk = make(&forms[i], &infusion, 1, 0);
        double q = ms_pk_quiet_from(pk);
        ck_assert(isfinite(q) && q > 63);
        for (double u = 0; u <= 1000; u += 0.25)
            ck_assert_msg(ms_pk_concentration(pk, q + u) <= c, "form %zu: C(%g) above the level", i,
                          q + u);
        /* Not late: a little earlier the body still holds more than V1 c. */
        ck_assert(ms_pk_concentration(pk, q) > 1e-3 * c);
        ms_pk_free(pk);
    }

    /* No level: never quiet; no doses: quiet from the start. */
    d.negligible = 0;
    pk = make(&d, &bolus, 1, 0);
    ck_assert(isinf(ms_pk_quiet_from(pk)) && ms_pk_quiet_from(pk) > 0);
    ms_pk_free(pk);
    d.negligible = c;
    pk = make(&d, NULL, 0, 0);
    ck_assert(isinf(ms_pk_quiet_from(pk)) && ms_pk_quiet_from(pk) < 0);
    ms_pk_free(pk);
    report("quiet from", worst);
}
END_TEST

static int create_fails(const ms_drug *d, const ms_dose *doses, size_t n, const char *needle)
{
    ms_strbuf why = {0};
    ms_pk *pk = (ms_pk *)1;
    int rc = ms_pk_create(d, doses, n, 0, 0, INFINITY, &pk, &why);
    ck_assert_ptr_null(pk);
    ck_assert_msg(strstr(ms_strbuf_str(&why), needle), "message '%s' lacks '%s'",
                  ms_strbuf_str(&why), needle);
    ms_strbuf_free(&why);
    return rc;
}

START_TEST(test_errors)
{
    ms_drug po = oral(one_compartment(1, 10), 2, 0.5);
    ms_dose infused = {.drug = 0, .amount = 10, .infusion = 0.1};
    ck_assert_int_eq(create_fails(&po, &infused, 1, "given orally, so its doses cannot be infused"),
                     METASIM_E_INVALID);
    infused.drug = 1; /* another drug's record is not looked at */
    ms_pk *pk = make(&po, &infused, 1, 0);
    ms_pk_free(pk);

    ms_drug iv = one_compartment(1, 10);
    ms_dose many = {.drug = 0, .amount = 1, .interval = 1, .additional = MS_PK_MAX_DOSES};
    ck_assert_int_eq(create_fails(&iv, &many, 1, "more than"), METASIM_E_LIMIT);
    many.additional = UINT64_MAX;
    ck_assert_int_eq(create_fails(&iv, &many, 1, "more than"), METASIM_E_LIMIT);

    ms_dose one = {.drug = 0, .amount = 1};
    ms_drug bad = one_compartment(-1, 10);
    ck_assert_int_eq(create_fails(&bad, &one, 1, "half_life"), METASIM_E_INVALID);
    bad = oral(one_compartment(1, 10), 0, 1);
    ck_assert_int_eq(create_fails(&bad, &one, 1, "absorption_rate"), METASIM_E_INVALID);
    bad = two_compartment(1, 10, 0, 1);
    ck_assert_int_eq(create_fails(&bad, &one, 1, "peripheral_volume"), METASIM_E_INVALID);
    one.amount = 0;
    ck_assert_int_eq(create_fails(&iv, &one, 1, "amount"), METASIM_E_INVALID);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("pk");
    TCase *tc = tcase_create("pk");
    tcase_add_test(tc, test_bolus_decay);
    tcase_add_test(tc, test_repeated_bolus);
    tcase_add_test(tc, test_oral_curve);
    tcase_add_test(tc, test_infusion);
    tcase_add_test(tc, test_two_compartment_bolus);
    tcase_add_test(tc, test_two_compartment_schedules);
    tcase_add_test(tc, test_mean);
    tcase_add_test(tc, test_next_event);
    tcase_add_test(tc, test_empty_schedule);
    tcase_add_test(tc, test_quiet_from);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}
