/*
 * metasim trial SCENARIO: a virtual trial through metasim_trial_run(), with a progress bar on a
 * terminal, Ctrl-C as a clean stop that keeps the partial database for --resume, and the
 * statistics' summary and the results digest at the end (docs/trials.md).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "metasim/metasim.h"

/* Time series for this many patients by default. */
#define DEFAULT_SERIES 10
/* At most this many threads (the library's bound). */
#define MAX_THREADS 1024

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct progress {
    bool draw;   /* stderr is a terminal and not --quiet */
    double last; /* elapsed time of the last drawing */
    bool drawn;
} progress;

/* A duration as "42s", "3m07s" or "2h05m". */
static void duration(char *out, size_t size, double seconds)
{
    long s = (long)(seconds + 0.5);
    if (s < 60)
        snprintf(out, size, "%lds", s);
    else if (s < 3600)
        snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(out, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
}

/* The bar: "[=====>      ]  45 %  450/1000 patients, 36 enrolled, 12s, ETA 15s". Redrawn at
 * most ten times a second, and at the end. */
static int on_progress(void *user, const metasim_trial_progress_t *p)
{
    progress *bar = user;
    if (interrupted)
        return 1;
    if (!bar->draw || (p->done < p->total && p->elapsed - bar->last < 0.1))
        return 0;
    bar->last = p->elapsed;
    bar->drawn = true;
    double share = p->total ? (double)p->done / (double)p->total : 1;
    enum { WIDTH = 30 };
    char line[WIDTH + 1];
    int full = (int)(share * WIDTH);
    for (int i = 0; i < WIDTH; i++)
        line[i] = i < full ? '=' : i == full ? '>' : ' ';
    line[WIDTH] = '\0';
    unsigned long long new_done = p->done - p->resumed, left = p->total - p->done;
    char elapsed[32], eta[48] = "";
    duration(elapsed, sizeof elapsed, p->elapsed);
    if (new_done > 0 && left > 0) {
        char rest[32];
        duration(rest, sizeof rest, p->elapsed / (double)new_done * (double)left);
        snprintf(eta, sizeof eta, ", ETA %s", rest);
    }
    fprintf(stderr, "\r[%s] %3.0f %%  %llu/%llu patients, %llu enrolled, %s%s\033[K", line,
            100 * share, p->done, p->total, p->enrolled, elapsed, eta);
    fflush(stderr);
    return 0;
}

/* "I/N" with N >= 1 and I < N. */
static int parse_shard(const char *text, unsigned *shard, unsigned *shards)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    if (!slash)
        return -1;
    char left[32];
    size_t n = (size_t)(slash - text);
    if (n == 0 || n >= sizeof left)
        return -1;
    memcpy(left, text, n);
    left[n] = '\0';
    unsigned long long i, k;
    if (cli_parse_u64(left, &i) != 0 || cli_parse_u64(slash + 1, &k) != 0 || k == 0 || i >= k ||
        k > 0xffffffffULL)
        return -1;
    *shard = (unsigned)i;
    *shards = (unsigned)k;
    return 0;
}

/* "W:W:..." with one weight > 0 per arm. Returns the count, or -1. */
static int parse_allocation(const char *text, double *weights, int max)
{
    int n = 0;
    const char *p = text;
    while (p && *p) {
        char *end = NULL;
        errno = 0;
        double w = strtod(p, &end);
        if (end == p || errno || !(w > 0) || !isfinite(w) || n == max)
            return -1;
        weights[n++] = w;
        if (*end == ':')
            end++;
        else if (*end != '\0')
            return -1;
        p = end;
    }
    return n > 0 && text[strlen(text) - 1] != ':' ? n : -1;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "metasim trial: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'metasim help trial')\n");
    va_end(ap);
    return CLI_USAGE;
}

/* The exit code of a library failure (docs/cli.md). */
static int exit_code(int rc)
{
    switch (rc) {
    case METASIM_E_EXISTS:
    case METASIM_E_INVALID:
    case METASIM_E_ARG: return CLI_INVALID;
    default: return CLI_FAILURE;
    }
}

/* Prints the summary of the finished database and its digest. */
static int report(const char *path, const char *digest)
{
    metasim_results_t *results = NULL;
    char *text = NULL;
    int rc = metasim_results_open(path, &results);
    if (rc == 0)
        rc = metasim_results_summary(results, &text);
    if (rc != 0) {
        fprintf(stderr, "metasim trial: %s\n", metasim_results_errmsg(results));
        metasim_results_discard(results);
        return CLI_FAILURE;
    }
    fputs(text, stdout);
    printf("\nresults digest %s (docs/trials.md: equal for any --threads, --shard, --resume)\n",
           digest);
    metasim_free(text);
    metasim_results_close(results, NULL);
    return CLI_OK;
}

int cmd_trial(const cli_args *args)
{
    unsigned long long patients = 0, threads = 0, series = DEFAULT_SERIES, seed = 0;
    unsigned shard = 0, shards = 1;
    metasim_trial_design_t design = METASIM_DESIGN_PAIRED;
    double weights[64];
    int n_weights = 0;
    if (args->patients && (cli_parse_u64(args->patients, &patients) != 0 || patients == 0 ||
                           patients > 0xffffffffULL))
        return usage_error("--patients: expected a whole number from 1 to 2^32 - 1 (got %s)",
                           args->patients);
    if (args->threads &&
        (cli_parse_u64(args->threads, &threads) != 0 || threads == 0 || threads > MAX_THREADS))
        return usage_error("--threads: expected a whole number from 1 to 1024 (got %s)",
                           args->threads);
    if (args->series && (cli_parse_u64(args->series, &series) != 0 || series > 0xffffffffULL))
        return usage_error("--series: expected a whole number >= 0 (got %s)", args->series);
    if (args->seed && cli_parse_u64(args->seed, &seed) != 0)
        return usage_error("--seed: expected a whole number >= 0 (got %s)", args->seed);
    if (args->shard && parse_shard(args->shard, &shard, &shards) != 0)
        return usage_error("--shard: expected I/N with 0 <= I < N, such as 0/4 (got %s)",
                           args->shard);
    if (args->design) {
        if (strcmp(args->design, "paired") == 0)
            design = METASIM_DESIGN_PAIRED;
        else if (strcmp(args->design, "randomised") == 0 || strcmp(args->design, "randomized") == 0)
            design = METASIM_DESIGN_RANDOMISED;
        else
            return usage_error("--design: expected paired or randomised (got %s)", args->design);
    }
    if (args->allocation) {
        if (design != METASIM_DESIGN_RANDOMISED)
            return usage_error("--allocation %s: only with --design randomised", args->allocation);
        n_weights = parse_allocation(args->allocation, weights, 64);
        if (n_weights < 0)
            return usage_error("--allocation: expected weights > 0 separated by ':', such as 1:2 "
                               "(got %s)",
                               args->allocation);
    }
    if (!args->threads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (unsigned long long)(cpus < MAX_THREADS ? cpus : MAX_THREADS) : 1;
    }

    metasim_model_t *model = NULL;
    int rc = cli_load_model("trial", args->positional[0], &model);
    if (rc != CLI_OK)
        return rc;
    int code = CLI_OK;
    char *db = NULL, *line = NULL, *message = NULL;
    size_t arms = metasim_model_arm_count(model);
    if (arms == 0) {
        fprintf(stderr,
                "metasim trial: %s: the scenario has no arms to compare (add an 'arms' "
                "section)\n",
                args->positional[0]);
        code = CLI_INVALID;
        goto out;
    }
    if (n_weights > 0 && (size_t)n_weights != arms) {
        fprintf(stderr, "metasim trial: --allocation: %d weights for the %zu arms of %s\n",
                n_weights, arms, args->positional[0]);
        code = CLI_USAGE;
        goto out;
    }
    if (!args->patients)
        patients = metasim_model_trial_patients(model); /* trial.patients, 1000 by default */
    if (patients == 0 || patients > 0xffffffffULL) {
        fprintf(stderr,
                "metasim trial: %s: trial.patients %llu is more than this metasim runs "
                "(2^32 - 1)\n",
                args->positional[0], patients);
        code = CLI_INVALID;
        goto out;
    }
    const char *seed_from = "--seed";
    if (!args->seed) {
        seed_from = "scenario";
        if (!metasim_model_seed(model, &seed)) {
            if (args->resume) {
                fprintf(stderr,
                        "metasim trial: --resume needs --seed: %s sets no seed (the "
                        "trial printed the seed it drew when it started)\n",
                        args->positional[0]);
                code = CLI_USAGE;
                goto out;
            }
            if (cli_draw_seed(&seed) != 0) {
                fprintf(stderr, "metasim trial: cannot draw a seed from /dev/urandom\n");
                code = CLI_FAILURE;
                goto out;
            }
            seed_from = "drawn; pass --seed to repeat or resume this trial";
        }
    }
    if (args->db) {
        size_t n = strlen(args->db) + 1;
        db = malloc(n);
        if (db)
            memcpy(db, args->db, n);
    } else {
        const char *name = metasim_model_name(model);
        db = malloc(strlen(name) + 4);
        if (db)
            snprintf(db, strlen(name) + 4, "%s.db", name);
    }
    line = cli_command_line(args->argc, args->argv);
    if (!db || !line) {
        fprintf(stderr, "metasim trial: %s\n", metasim_strerror(METASIM_E_NOMEM));
        code = CLI_FAILURE;
        goto out;
    }
    if (!args->quiet)
        printf("trial %s: %llu patients, %s design, %zu arms, seed %llu (%s), %llu thread%s%s%s, "
               "results in %s\n",
               metasim_model_name(model), patients,
               design == METASIM_DESIGN_PAIRED ? "paired" : "randomised", arms, seed, seed_from,
               threads, threads == 1 ? "" : "s", args->shard ? ", shard " : "",
               args->shard ? args->shard : "", db);
    fflush(stdout);

    progress bar = {.draw = !args->quiet && isatty(fileno(stderr))};
    metasim_trial_options_t opt = {.path = db,
                                   .seed = seed,
                                   .patients = (unsigned)patients,
                                   .threads = (unsigned)threads,
                                   .design = design,
                                   .allocation = n_weights ? weights : NULL,
                                   .series = (unsigned)series,
                                   .shard = shard,
                                   .shards = shards,
                                   .overwrite = args->force,
                                   .resume = args->resume,
                                   .command_line = line,
                                   .progress = on_progress,
                                   .user = &bar};
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESTART; /* the writer's system calls go on; the callback stops the run */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    char digest[METASIM_DIGEST_SIZE];
    rc = metasim_trial_run(model, &opt, digest, &message);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (bar.drawn)
        fputs("\n", stderr);
    if (rc == METASIM_TRIAL_STOPPED) {
        fprintf(stderr,
                "metasim trial: interrupted; %s.partial keeps every patient written: run the "
                "same command with --resume to continue\n",
                db);
        code = CLI_INTERRUPTED;
    } else if (rc != 0) {
        fprintf(stderr, "metasim trial: %s%s\n", message ? message : metasim_strerror(rc),
                rc == METASIM_E_EXISTS ? "; pass --force to replace it" : "");
        code = exit_code(rc);
    } else if (!args->quiet) {
        code = report(db, digest);
    }
out:
    metasim_free(message);
    free(db);
    free(line);
    metasim_model_destroy(model);
    return code;
}
