/*
 * Trial benchmarks (docs/performance.md): virtual patient-arms per second of the built-in
 * breast_demo trial (paired design, every patient under both arms) on 1 and 2 threads, and the
 * peak memory (the resident set, ru_maxrss, of a child process that runs only the trial) at
 * 10^3, 10^4 and, on request, 10^5 patients, which must not grow with the number of patients.
 * Medians of repeated runs; databases go to a temporary directory and are removed.
 *
 * usage: bench_trial [repeats] [largest cohort for the memory runs, default 10000]
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

static char dir[256];

static void cleanup(const char *path)
{
    char name[600];
    const char *const suffixes[] = {"", ".partial", ".partial-wal", ".partial-shm"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

/* Runs the trial; returns seconds, and the file size and enrolled count through the pointers. */
static double trial(const metasim_model_t *m, unsigned patients, unsigned threads, double *bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bench.db", dir);
    cleanup(path);
    metasim_trial_options_t o = {
        .path = path, .seed = 20261122, .patients = patients, .threads = threads, .series = 10};
    char *message = NULL;
    double t0 = now();
    int rc = metasim_trial_run(m, &o, NULL, &message);
    double dt = now() - t0;
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
 * patients on `threads` threads; its run time through *seconds. */
static long peak_memory(unsigned patients, unsigned threads, double *seconds, double *bytes)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        metasim_model_t *m = NULL;
        if (metasim_model_load_builtin("breast_demo", &m) != 0)
            _exit(1);
        double result[3];
        result[1] = trial(m, patients, threads, &result[2]);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        result[0] = (double)ru.ru_maxrss;
        ssize_t w = write(fds[1], result, sizeof result);
        metasim_model_destroy(m);
        _exit(w == (ssize_t)sizeof result ? 0 : 1);
    }
    close(fds[1]);
    double result[3] = {-1, 0, 0};
    ssize_t got = read(fds[0], result, sizeof result);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof result || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    *seconds = result[1];
    *bytes = result[2];
    return (long)result[0];
}

int main(int argc, char **argv)
{
    long repeats = argc > 1 ? strtol(argv[1], NULL, 10) : 3;
    long largest = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
    if (repeats < 1 || repeats > 64 || largest < 1000 || largest > 10000000) {
        fprintf(stderr, "usage: bench_trial [repeats 1-64] [largest cohort >= 1000]\n");
        return 2;
    }
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/metasim-bench-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("bench_trial: mkdtemp");
        return 1;
    }
    metasim_model_t *m = NULL;
    if (metasim_model_load_builtin("breast_demo", &m) != 0) {
        fprintf(stderr, "bench_trial: %s", metasim_model_errmsg(m));
        return 1;
    }
    size_t arms = metasim_model_arm_count(m);
    enum { COHORT = 1000 };
    printf("breast_demo, paired design, %zu arms, %d patients per run, median of %ld runs\n\n",
           arms, COHORT, repeats);
    printf("%-8s %12s %16s %20s\n", "threads", "seconds", "patients/s", "patient-arms/s");
    double one = 0;
    for (unsigned threads = 1; threads <= 2; threads++) {
        double t[64];
        for (int i = 0; i < (int)repeats; i++)
            t[i] = trial(m, COHORT, threads, NULL);
        double s = median(t, (int)repeats);
        if (threads == 1)
            one = s;
        printf("%-8u %12.3f %16.0f %20.0f", threads, s, COHORT / s, (double)(COHORT * arms) / s);
        if (threads > 1)
            printf("   (x%.2f)", one / s);
        printf("\n");
    }
    metasim_model_destroy(m);

    printf("\npeak memory of a child process running the trial (2 threads)\n\n");
    printf("%-10s %12s %14s %14s\n", "patients", "seconds", "peak RSS MiB", "database MiB");
    for (unsigned n = 1000; n <= (unsigned)largest; n *= 10) {
        double seconds = 0, bytes = 0;
        long kib = peak_memory(n, 2, &seconds, &bytes);
        if (kib < 0) {
            fprintf(stderr, "bench_trial: the child running %u patients failed\n", n);
            return 1;
        }
        printf("%-10u %12.1f %14.1f %14.1f\n", n, seconds, (double)kib / 1024.0,
               bytes / (1024.0 * 1024.0));
        fflush(stdout);
    }
    rmdir(dir);
    return 0;
}
