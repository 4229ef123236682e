/*
 * Engine benchmarks (docs/performance.md): exact events per second on a pure birth-death
 * process, time for the hybrid engine to grow one lesion from 1 cell to 1e6, 1e9 and 1e12,
 * and a naive Gillespie loop written here as the baseline. Single core. Medians of repeated
 * runs; one invocation reports everything so ratios come from one run.
 *
 * usage: bench_engine [repeats]
 */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metasim/metasim.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static metasim_model_t *load(const char *yaml)
{
    metasim_model_t *m = NULL;
    if (metasim_model_load_string("bench.yaml", yaml, strlen(yaml), &m) != 0) {
        fprintf(stderr, "bench: %s", metasim_model_errmsg(m));
        exit(1);
    }
    return m;
}

/* A critical process (b = d) holds its size, so the event rate stays level. */
static const char critical_yaml[] = "scenario: {name: bench_exact}\n"
                                    "time: {horizon: 1e9 d, output_interval: 1e9 d}\n"
                                    "sites: {t: {division: {cycling: 1}, death: {cycling: 1}}}\n"
                                    "primary: {site: t, initial_cells: 100000}\n"
                                    "engine: {exact_below: 1e300, max_step: 1e9 d}\n";

static const char growth_yaml[] = "scenario: {name: bench_growth}\n"
                                  "time: {horizon: 1e5 d}\n"
                                  "sites: {t: {division: {cycling: 0.2}, death: {cycling: 0.1}}}\n"
                                  "primary: {site: t}\n"
                                  "clinic: {lethal_cells: 1e15}\n";

static double bench_exact(int repeats, unsigned long long events)
{
    metasim_model_t *m = load(critical_yaml);
    double rate[64];
    for (int i = 0; i < repeats; i++) {
        metasim_sim_options_t o = {.seed = 1, .patient = (unsigned)i};
        metasim_sim_t *s = NULL;
        metasim_sim_create(m, &o, &s);
        double t0 = now();
        metasim_sim_run(s, 1e9, events);
        double dt = now() - t0;
        rate[i] = (double)metasim_sim_events(s) / dt;
        metasim_sim_destroy(s);
    }
    metasim_model_destroy(m);
    return median(rate, repeats);
}

/* The baseline: textbook Gillespie for the same process, recomputing the propensities each
 * event and drawing from GSL's default generator. */
static double naive_gillespie(gsl_rng *r, double b, double d, double n, double stop_n, double t_max,
                              unsigned long long *events)
{
    double t = 0;
    *events = 0;
    while (n > 0 && n < stop_n && t < t_max) {
        double birth = b * n, death = d * n, total = birth + death;
        t += -log(gsl_rng_uniform_pos(r)) / total;
        if (gsl_rng_uniform(r) * total < birth)
            n += 1;
        else
            n -= 1;
        ++*events;
    }
    return n;
}

static double bench_naive_rate(int repeats, unsigned long long events)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_default);
    double rate[64];
    for (int i = 0; i < repeats; i++) {
        unsigned long long done = 0;
        double t0 = now();
        /* With b = d the size stays near 1e5; the event count bounds the run. */
        double n = 100000, t = 0;
        while (done < events && n > 0) {
            double total = 2 * n;
            t += -log(gsl_rng_uniform_pos(r)) / total;
            n += gsl_rng_uniform(r) * total < n ? 1 : -1;
            done++;
        }
        rate[i] = (double)done / (now() - t0);
        if (t < 0)
            puts("");
    }
    gsl_rng_free(r);
    return median(rate, repeats);
}

/* Median time to grow from 1 cell to `size`, over surviving patients. */
static double bench_growth(int repeats, double size, double *steps)
{
    metasim_model_t *m = load(growth_yaml);
    double secs[64], events[64];
    int got = 0;
    for (unsigned patient = 0; got < repeats && patient < 100000; patient++) {
        metasim_sim_options_t o = {.seed = 7, .patient = patient, .stop_cells = size};
        metasim_sim_t *s = NULL;
        metasim_sim_create(m, &o, &s);
        double t0 = now();
        int rc = metasim_sim_run(s, 1e5, 0);
        double dt = now() - t0;
        if (rc == METASIM_STOP_SIZE) {
            secs[got] = dt;
            events[got] = (double)metasim_sim_events(s);
            got++;
        }
        metasim_sim_destroy(s);
    }
    metasim_model_destroy(m);
    if (got == 0) {
        fprintf(stderr, "bench: no run reached %g cells\n", size);
        exit(1);
    }
    *steps = median(events, got);
    return median(secs, got);
}

static double bench_naive_growth(int repeats, double size)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_default);
    double secs[64];
    int got = 0;
    while (got < repeats) {
        unsigned long long events;
        double t0 = now();
        double n = naive_gillespie(r, 0.2, 0.1, 1, size, 1e9, &events);
        double dt = now() - t0;
        if (n >= size)
            secs[got++] = dt;
    }
    gsl_rng_free(r);
    return median(secs, got);
}

/* Whole patients of a built-in scenario, from the first cell to the horizon or death, on one
 * core: the engine, the cascade and the clinic together. */
static double bench_patients(const char *scenario, unsigned patients, double *seconds)
{
    metasim_model_t *m = NULL;
    if (metasim_model_load_builtin(scenario, &m) != 0) {
        fprintf(stderr, "bench: %s", metasim_model_errmsg(m));
        exit(1);
    }
    unsigned long long seed = 0;
    metasim_model_seed(m, &seed);
    double t0 = now();
    for (unsigned p = 0; p < patients; p++) {
        metasim_sim_options_t o = {.seed = seed, .patient = p};
        metasim_sim_t *s = NULL;
        metasim_sim_create(m, &o, &s);
        metasim_sim_run(s, metasim_model_horizon(m), 0);
        metasim_sim_destroy(s);
    }
    *seconds = now() - t0;
    metasim_model_destroy(m);
    return patients / *seconds;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 11;
    if (repeats < 1 || repeats > 64)
        repeats = 11;
    printf("metasim %s engine benchmarks, median of %d runs, one core\n\n", metasim_version(),
           repeats);
    unsigned long long events = 20000000ULL;
    double exact = bench_exact(repeats, events);
    double naive = bench_naive_rate(repeats, events);
    printf("exact SSA, pure birth-death (b = d = 1, 1e5 cells), %.0e events per run\n",
           (double)events);
    printf("  metasim exact engine     %8.2f M events/s\n", exact / 1e6);
    printf("  naive Gillespie loop     %8.2f M events/s   (ratio metasim/naive %.2f)\n\n",
           naive / 1e6, exact / naive);

    printf("hybrid engine, one lesion from 1 cell (b = 0.2, d = 0.1 /d; default settings:\n"
           "exact below 1000 cells, max_step 1 d), surviving runs only\n");
    printf("  %-8s %12s %16s %20s\n", "size", "median ms", "events+leaps", "naive Gillespie ms");
    const double sizes[] = {1e6, 1e9, 1e12};
    for (int i = 0; i < 3; i++) {
        double steps;
        double t = bench_growth(repeats, sizes[i], &steps);
        if (sizes[i] <= 1e6) {
            double tn = bench_naive_growth(repeats < 5 ? repeats : 5, sizes[i]);
            printf("  %-8.0e %12.3f %16.0f %20.1f   (ratio naive/metasim %.0f)\n", sizes[i],
                   1e3 * t, steps, 1e3 * tn, tn / t);
        } else {
            printf("  %-8.0e %12.3f %16.0f %20s\n", sizes[i], 1e3 * t, steps,
                   "(not run: ~3 events per cell)");
        }
    }
    double secs;
    double rate = bench_patients("er_positive_breast", 1000, &secs);
    printf("\nwhole patients, er_positive_breast (25 years, spread, surgery, follow-up), one core\n"
           "  1000 patients in %.2f s: %.0f patients per second\n",
           secs, rate);
    return 0;
}
