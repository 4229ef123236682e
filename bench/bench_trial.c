/*
 * Trial benchmarks (docs/performance.md): virtual patient-arms per second of the flagship trial,
 * the built-in adjuvant_src_breast (paired design, every enrolled patient under both arms), on
 * 1 and 2 threads; where a patient's time goes (its untreated history, then each arm), from
 * per-phase CPU clocks of the simulation API; and the peak memory (the resident set,
 * ru_maxrss, of a child process that runs only the trial) at 10^3, 10^4 and, on request, 10^5
 * patients, which must not grow with the number of patients. Medians of repeated runs;
 * databases go to a temporary directory and are removed. Any built-in scenario with arms can be
 * measured instead (breast_demo was the benchmark before the flagship existed).
 *
 * Every run reports the process's CPU time (all threads) beside the elapsed time: on a machine
 * shared with other jobs the elapsed time says more about the others than about metasim, and
 * CPU seconds divided by the threads is what the run takes on free cores.
 *
 * usage: bench_trial [repeats] [largest cohort for the memory runs, default 10000] [scenario]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "metasim/metasim.h"

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void)
{
    return clock_seconds(CLOCK_MONOTONIC);
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

static char dir[256];
static const char *scenario = "adjuvant_src_breast";
static unsigned long long seed = 20261122;

static metasim_model_t *load(void)
{
    metasim_model_t *m = NULL;
    if (metasim_model_load_builtin(scenario, &m) != 0) {
        fprintf(stderr, "bench_trial: %s: %s", scenario,
                m ? metasim_model_errmsg(m) : "no such built-in scenario\n");
        metasim_model_destroy(m);
        exit(1);
    }
    return m;
}

static void cleanup(const char *path)
{
    char name[600];
    const char *const suffixes[] = {"", ".partial", ".partial-wal", ".partial-shm"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

/* Runs the trial; returns elapsed seconds, the process's CPU seconds (all threads) through
 * *cpu and the file size through *bytes (either may be NULL). */
static double trial(const metasim_model_t *m, unsigned patients, unsigned threads, double *cpu,
                    double *bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bench.db", dir);
    cleanup(path);
    metasim_trial_options_t o = {
        .path = path, .seed = seed, .patients = patients, .threads = threads, .series = 10};
    char *message = NULL;
    double t0 = now(), c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    int rc = metasim_trial_run(m, &o, NULL, &message);
    double dt = now() - t0;
    if (cpu)
        *cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (rc != 0) {
        fprintf(stderr, "bench_trial: %s\n", message ? message : metasim_strerror(rc));
        exit(1);
    }
    struct stat st;
    if (bytes)
        *bytes = stat(path, &st) == 0 ? (double)st.st_size : 0;
    cleanup(path);
    return dt;
}

/* Peak resident set (KiB) of a child that loads the model and runs a trial of `patients`
 * patients on `threads` threads; its elapsed and CPU seconds through *seconds and *cpu. */
static long peak_memory(unsigned patients, unsigned threads, double *seconds, double *cpu,
                        double *bytes)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        metasim_model_t *m = load();
        double result[4];
        result[1] = trial(m, patients, threads, &result[3], &result[2]);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        result[0] = (double)ru.ru_maxrss;
        ssize_t w = write(fds[1], result, sizeof result);
        metasim_model_destroy(m);
        _exit(w == (ssize_t)sizeof result ? 0 : 1);
    }
    close(fds[1]);
    double result[4] = {-1, 0, 0, 0};
    ssize_t got = read(fds[0], result, sizeof result);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof result || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    *seconds = result[1];
    *bytes = result[2];
    *cpu = result[3];
    return (long)result[0];
}

/* ------------------------------------------------------------ where the time goes */

enum { MAX_ARMS = 16 };

typedef struct phase {
    double cpu;              /* s of this thread's CPU time */
    unsigned long long runs; /* simulations that went through the phase */
    unsigned long long events, doses;
    unsigned long long assigned, lesions; /* history: patients who reached assignment, and their
                                             living lesions then */
} phase;

static int count_dose(void *user, const metasim_event_t *e)
{
    if (e->kind == METASIM_EVENT_DOSE)
        (*(unsigned long long *)user)++;
    return 0;
}

static unsigned long long living_lesions(const metasim_sim_t *s)
{
    unsigned long long n = 0;
    metasim_lesion_info_t info;
    for (size_t k = 0; k < metasim_sim_lesions(s); k++)
        if (metasim_sim_lesion_info(s, k, &info) == 0 && info.cells > 0)
            n++;
    return n;
}

static void check(int rc, const metasim_sim_t *s)
{
    if (rc < 0) {
        fprintf(stderr, "bench_trial: %s\n", s ? metasim_sim_errmsg(s) : metasim_strerror(rc));
        exit(1);
    }
}

/* Simulates patients 0 .. n-1 as the paired design does (metasim_trial_run() without its
 * writer): each patient's untreated history up to the point of assignment; an enrolled
 * patient's continuation under every arm; a patient who is not enrolled continued untreated.
 * Each phase is timed by the thread's CPU clock, so other processes on the machine do not
 * inflate it. phases[0] is the history, phases[a] arm a, phases[arms + 1] the untreated
 * continuations. */
static void breakdown(const metasim_model_t *m, unsigned n, size_t arms, phase *phases)
{
    const double horizon = metasim_model_horizon(m);
    for (unsigned p = 0; p < n; p++) {
        metasim_sim_options_t o = {.seed = seed, .patient = p, .stop_at_treatment = 1};
        metasim_sim_t *s = NULL;
        check(metasim_sim_create(m, &o, &s), s);
        double t0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
        int why = metasim_sim_run(s, horizon, 0);
        phases[0].cpu += clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
        check(why, s);
        phases[0].runs++;
        phases[0].events += metasim_sim_events(s);
        if (why == METASIM_STOP_TREATMENT) {
            phases[0].assigned++;
            phases[0].lesions += living_lesions(s);
        }
        if (why == METASIM_STOP_TREATMENT && metasim_sim_eligible(s, NULL) == 1) {
            for (size_t a = 1; a <= arms; a++) {
                unsigned long long doses = 0;
                metasim_writer_t w = {.user = &doses, .event = count_dose};
                metasim_sim_t *c = NULL;
                check(metasim_sim_fork(s, (unsigned)a, &w, &c), NULL);
                unsigned long long e0 = metasim_sim_events(c);
                t0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
                check(metasim_sim_run(c, horizon, 0), c);
                phases[a].cpu += clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
                phases[a].runs++;
                phases[a].events += metasim_sim_events(c) - e0;
                phases[a].doses += doses;
                metasim_sim_destroy(c);
            }
        } else if (why == METASIM_STOP_TREATMENT) {
            unsigned long long e0 = metasim_sim_events(s);
            t0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
            check(metasim_sim_run(s, horizon, 0), s);
            phases[arms + 1].cpu += clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
            phases[arms + 1].runs++;
            phases[arms + 1].events += metasim_sim_events(s) - e0;
        }
        metasim_sim_destroy(s);
    }
}

static void print_phase(const char *name, const phase *ph, unsigned n)
{
    if (ph->runs == 0)
        return;
    double runs = (double)ph->runs;
    printf("%-28s %8llu %12.2f %12.3f %14.0f %10.0f\n", name, ph->runs, 1e3 * ph->cpu / runs,
           ph->cpu / n * 1e3, (double)ph->events / runs, (double)ph->doses / runs);
}

int main(int argc, char **argv)
{
    long repeats = argc > 1 ? strtol(argv[1], NULL, 10) : 3;
    long largest = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
    if (argc > 3)
        scenario = argv[3];
    if (repeats < 1 || repeats > 64 || largest < 1000 || largest > 10000000 || argc > 4) {
        fprintf(stderr, "usage: bench_trial [repeats 1-64] [largest cohort >= 1000] [scenario]\n");
        return 2;
    }
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/metasim-bench-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("bench_trial: mkdtemp");
        return 1;
    }
    metasim_model_t *m = load();
    metasim_model_seed(m, &seed); /* the scenario's seed, as `metasim trial` uses it */
    size_t arms = metasim_model_arm_count(m);
    if (arms == 0 || arms >= MAX_ARMS) {
        fprintf(stderr, "bench_trial: %s has %zu arms (1 to %d needed)\n", scenario, arms,
                MAX_ARMS - 1);
        return 1;
    }
    enum { COHORT = 1000, PROFILED = 200 };
    printf("%s, paired design, %zu arms, seed %llu, %d patients per run, median of %ld runs\n\n",
           scenario, arms, seed, COHORT, repeats);
    printf("%-8s %10s %10s %16s %16s %20s\n", "threads", "seconds", "CPU s", "patients/s",
           "patient-arms/s", "patient-arms/CPU s");
    double one = 0, one_cpu = 0;
    for (unsigned threads = 1; threads <= 2; threads++) {
        double t[64], c[64];
        for (int i = 0; i < (int)repeats; i++)
            t[i] = trial(m, COHORT, threads, &c[i], NULL);
        double s = median(t, (int)repeats), cpu = median(c, (int)repeats);
        if (threads == 1) {
            one = s;
            one_cpu = cpu;
        }
        printf("%-8u %10.2f %10.2f %16.0f %16.0f %20.0f", threads, s, cpu, COHORT / s,
               (double)(COHORT * arms) / s, (double)(COHORT * arms) / cpu);
        if (threads > 1)
            printf("   (speed-up x%.2f)", one / s);
        printf("\n");
        fflush(stdout);
    }

    /* A patient-arm counts every patient once per arm, enrolled or not, as the trial's size
     * is quoted; the breakdown shows that the enrolled ones cost almost everything. */
    phase phases[MAX_ARMS + 1];
    memset(phases, 0, sizeof phases);
    double t0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
    breakdown(m, PROFILED, arms, phases);
    double total = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
    printf("\nwhere the time goes: patients 0-%d simulated without a database, one thread, "
           "CPU time\n\n",
           PROFILED - 1);
    printf("%-28s %8s %12s %12s %14s %10s\n", "phase", "runs", "ms per run", "ms/patient",
           "events per run", "doses");
    print_phase("history to assignment", &phases[0], PROFILED);
    for (size_t a = 1; a <= arms; a++) {
        char name[64];
        snprintf(name, sizeof name, "arm %zu%s", a, a == 1 ? " (reference)" : "");
        print_phase(name, &phases[a], PROFILED);
    }
    print_phase("not enrolled, untreated", &phases[arms + 1], PROFILED);
    printf("%-28s %8s %12s %12.3f   (the trial on 1 thread, with its database: %.3f CPU ms)\n",
           "all", "", "", 1e3 * total / PROFILED, 1e3 * one_cpu / COHORT);
    if (phases[0].assigned > 0)
        printf("living lesions at the point of assignment: %.1f per patient who reached it\n",
               (double)phases[0].lesions / (double)phases[0].assigned);
    metasim_model_destroy(m);

    printf("\npeak memory of a child process running the trial (2 threads)\n\n");
    printf("%-10s %10s %10s %16s %14s %14s\n", "patients", "seconds", "CPU s", "patient-arms/s",
           "peak RSS MiB", "database MiB");
    for (unsigned n = 1000; n <= (unsigned)largest; n *= 10) {
        double seconds = 0, cpu = 0, bytes = 0;
        long kib = peak_memory(n, 2, &seconds, &cpu, &bytes);
        if (kib < 0) {
            fprintf(stderr, "bench_trial: the child running %u patients failed\n", n);
            return 1;
        }
        printf("%-10u %10.1f %10.1f %16.0f %14.1f %14.1f\n", n, seconds, cpu,
               (double)n * (double)arms / seconds, (double)kib / 1024.0, bytes / (1024.0 * 1024.0));
        fflush(stdout);
    }
    rmdir(dir);
    return 0;
}
