/*
 * The virtual-trial runner (metasim_trial_run(), docs/trials.md): patients 0 .. N-1 of a model,
 * each simulated whole by one of `threads` worker threads into a record (its rows in memory),
 * and written by the calling thread strictly in patient order.
 *
 * Order and memory: patients are numbered by a sequence (the shard's patients in increasing
 * order); a worker claims the next sequence number only while it is less than `slots` ahead of
 * the next one to be written, and fills the record of slot (sequence mod slots). The writer
 * waits for the slot of the next sequence number, writes it, frees the slot. So at most `slots`
 * records exist at a time (memory stays flat), rows reach the database in one order whatever
 * the threads do, and since each patient's randomness is keyed by (seed, patient, arm,
 * purpose), the database is bit-identical for any number of threads.
 *
 * Designs (per patient): paired: the untreated history runs with stop_at_treatment until the
 * point of assignment, is written once as the shared history, and is forked into every arm;
 * randomised: the same history is forked into the one arm drawn for the patient. Forking the
 * history continues it exactly as a simulation created with that arm would (the arm's streams
 * take over at the point of assignment in both cases; tests/unit/test_trial.c checks the bits),
 * and it lets the eligibility check see the patient at the point of assignment in both designs.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/strbuf_internal.h"
#include "io/patient_record_internal.h"
#include "io/results_writer_internal.h"
#include "metasim/metasim.h"
#include "rng/stream_internal.h"

/* Records in flight per thread. Most virtual patients cost microseconds (their tumour dies out)
 * and a few cost a thousand times more, so the window must be wide enough for the other
 * threads to keep working while the writer waits for a slow patient: with breast_demo on two
 * cores, 4 records per thread made two threads 1.2 times as fast as one, 64 made them 1.9
 * times (docs/performance.md). A record keeps its buffers for the next patient, so that most
 * patients allocate nothing, unless they grew beyond RECORD_KEEP_BYTES: then they are released
 * once written, and memory stays near 64 x 16 KiB per thread, whatever the number of patients
 * (at 1 MiB the resident set grew from 11 to 23 MiB between 10^3 and 10^5 patients). */
#define SLOTS_PER_THREAD 64
#define RECORD_KEEP_BYTES (16u << 10)

/* At most this many threads (a sanity bound, not a tuning knob). */
#define MAX_THREADS 1024

enum { SLOT_FREE, SLOT_BUSY, SLOT_READY };

typedef struct slot {
    ms_record rec;
    int state;
} slot;

typedef struct trial {
    const metasim_model_t *model;
    const metasim_trial_options_t *opt;
    unsigned n_arms;
    unsigned shard, shards;
    double horizon;
    double *cumulative; /* randomised: cumulative allocation shares, the last exactly 1 */
    double *shares;     /* randomised: the shares recorded in the database */

    pthread_mutex_t lock;
    pthread_cond_t ready; /* a slot became ready, or a worker failed */
    pthread_cond_t space; /* the writer freed a slot, or the run stops */
    slot *slots;
    size_t n_slots;
    unsigned long long total; /* the patients of this run's share */
    unsigned long long next_claim, next_write, end;
    bool stop;
    int error;     /* the first worker failure */
    ms_strbuf why; /* its message */
} trial;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A malloc'd copy of `text`, or NULL. */
static char *copy_text(const char *text)
{
    size_t n = strlen(text ? text : "");
    char *s = malloc(n + 1);
    if (s)
        memcpy(s, text ? text : "", n + 1);
    return s;
}

/* ------------------------------------------------------------ one patient */

/* Whether a patient at the point of assignment enters the trial: 1 when eligible, 0 when not
 * (*reason names the criterion), or a negative code. This is the one place where the inclusion
 * criteria (`trial.inclusion`, read by the simulation) apply. */
static int trial_eligible(const metasim_sim_t *sim, const char **reason)
{
    *reason = NULL;
    return metasim_sim_eligible(sim, reason);
}

/* Why a patient whose untreated history ended (stop) before the point of assignment is not
 * enrolled. */
static const char *screening_reason(const metasim_sim_t *sim, int stop)
{
    metasim_clinical_t c;
    metasim_sim_clinical(sim, &c);
    bool diagnosed = !isnan(c.diagnosis);
    if (stop == METASIM_STOP_DEATH)
        return "died_before_treatment";
    if (stop == METASIM_STOP_EXTINCT)
        return diagnosed ? "extinct_before_treatment" : "extinct";
    return diagnosed ? "not_treated_by_horizon" : "not_diagnosed";
}

/* The arm drawn for `patient` in the randomised design: a uniform from the patient's own
 * allocation stream against the cumulative shares. */
static unsigned allocate(const trial *t, unsigned patient)
{
    ms_stream s;
    ms_stream_init(&s, t->opt->seed, patient, 0, MS_PURPOSE_ALLOCATION);
    double u = ms_stream_uniform(&s);
    for (unsigned k = 0; k + 1 < t->n_arms; k++)
        if (u < t->cumulative[k])
            return k + 1;
    return t->n_arms;
}

__attribute__((format(printf, 3, 4))) static int failed(ms_strbuf *why, int rc, const char *fmt,
                                                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_strbuf_free(why);
    ms_strbuf_vprintf(why, fmt, ap);
    va_end(ap);
    return rc;
}

/* A simulation's failure: its own message, or the record's when the writer refused a row. */
static int sim_failed(ms_strbuf *why, const ms_record *rec, const metasim_sim_t *sim, int rc,
                      unsigned patient, unsigned arm)
{
    const char *text = rec->failed ? ms_record_errmsg(rec) : metasim_sim_errmsg(sim);
    return failed(why, rec->failed ? rec->failed : rc, "patient %u, arm %u: %s", patient, arm,
                  *text ? text : metasim_strerror(rc));
}

/* Runs the arm `arm` of a patient whose history `history` reached the point of assignment. */
static int run_arm(const trial *t, const metasim_sim_t *history, unsigned arm, ms_record *rec,
                   const metasim_writer_t *w, ms_strbuf *why)
{
    unsigned patient = rec->patient;
    int rc = ms_record_begin_unit(rec, arm, true);
    if (rc != 0)
        return failed(why, rc, "patient %u: %s", patient, ms_record_errmsg(rec));
    metasim_sim_t *copy = NULL;
    if ((rc = metasim_sim_fork(history, arm, w, &copy)) != 0)
        return failed(why, rc, "patient %u, arm %u: cannot fork the history: %s", patient, arm,
                      metasim_strerror(rc));
    int stop = metasim_sim_run(copy, t->horizon, 0);
    if (stop < 0) {
        rc = sim_failed(why, rec, copy, stop, patient, arm);
    } else if ((rc = ms_record_end_unit(rec, copy, stop, t->horizon)) != 0) {
        rc = failed(why, rc, "patient %u: %s", patient, ms_record_errmsg(rec));
    }
    metasim_sim_destroy(copy);
    return rc;
}

/* Simulates patient `patient` into `rec`. Returns 0 or a negative code with *why set. */
static int simulate(const trial *t, unsigned patient, ms_record *rec, ms_strbuf *why)
{
    const metasim_trial_options_t *o = t->opt;
    ms_record_reset(rec, patient, patient < o->series);
    int rc = ms_record_begin_unit(rec, 0, false);
    if (rc != 0)
        return failed(why, rc, "patient %u: %s", patient, ms_record_errmsg(rec));
    metasim_writer_t w = ms_record_writer(rec);
    metasim_sim_options_t so = {
        .seed = o->seed, .patient = patient, .writer = &w, .arm = 0, .stop_at_treatment = 1};
    metasim_sim_t *sim = NULL;
    if ((rc = metasim_sim_create(t->model, &so, &sim)) != 0) {
        if (rc != METASIM_E_INVALID)
            return failed(why, rc, "patient %u: %s", patient, metasim_strerror(rc));
        /* The patient's drawn values broke a rule: the patient's model says which. */
        metasim_model_t *own = NULL;
        metasim_model_patient(t->model, o->seed, patient, &own);
        rc = failed(why, rc, "%s", own ? metasim_model_errmsg(own) : metasim_strerror(rc));
        metasim_model_destroy(own);
        return rc;
    }
    /* What the patient was given, once for all its arms (forks share its model). */
    if ((rc = ms_record_values(rec, metasim_sim_model(sim))) != 0) {
        rc = failed(why, rc, "patient %u: %s", patient, ms_record_errmsg(rec));
        metasim_sim_destroy(sim);
        return rc;
    }
    int stop = metasim_sim_run(sim, t->horizon, 0);
    const char *reason = NULL;
    char ineligible[160] = "";
    if (stop == METASIM_STOP_TREATMENT) {
        const char *criterion = NULL;
        int eligible = trial_eligible(sim, &criterion);
        if (eligible < 0) {
            rc = failed(why, eligible, "patient %u: the eligibility check failed: %s", patient,
                        metasim_strerror(eligible));
            metasim_sim_destroy(sim);
            return rc;
        }
        if (!eligible) {
            snprintf(ineligible, sizeof ineligible, "ineligible%s%s", criterion ? ": " : "",
                     criterion ? criterion : "");
            reason = ineligible;
            /* Not enrolled: the patient's course continues untreated. */
            stop = metasim_sim_run(sim, t->horizon, 0);
        }
    } else if (stop >= 0) {
        reason = screening_reason(sim, stop);
    }
    if (stop < 0) {
        rc = sim_failed(why, rec, sim, stop, patient, 0);
    } else if (reason) {
        rc = ms_record_end_unit(rec, sim, stop, t->horizon);
        if (rc != 0)
            rc = failed(why, rc, "patient %u: %s", patient, ms_record_errmsg(rec));
        ms_record_screen(rec, false, reason);
    } else if ((rc = ms_record_end_history(rec)) != 0) {
        rc = failed(why, rc, "patient %u: %s", patient, ms_record_errmsg(rec));
    } else {
        bool paired = o->design == METASIM_DESIGN_PAIRED;
        unsigned only = paired ? 0 : allocate(t, patient);
        for (unsigned arm = 1; arm <= t->n_arms && rc == 0; arm++)
            if (paired || arm == only)
                rc = run_arm(t, sim, arm, rec, &w, why);
        ms_record_screen(rec, true, NULL);
    }
    metasim_sim_destroy(sim);
    return rc;
}

/* ------------------------------------------------------------ threads */

static unsigned patient_of(const trial *t, unsigned long long seq)
{
    return (unsigned)(t->shard + seq * t->shards);
}

static void *worker(void *arg)
{
    trial *t = arg;
    ms_strbuf why = {0};
    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (!t->stop && !t->error && t->next_claim < t->end &&
               t->next_claim >= t->next_write + t->n_slots)
            pthread_cond_wait(&t->space, &t->lock);
        if (t->stop || t->error || t->next_claim >= t->end)
            break;
        unsigned long long seq = t->next_claim++;
        slot *s = &t->slots[seq % t->n_slots];
        s->state = SLOT_BUSY;
        pthread_mutex_unlock(&t->lock);
        int rc = simulate(t, patient_of(t, seq), &s->rec, &why);
        pthread_mutex_lock(&t->lock);
        if (rc != 0) {
            /* The first failure in patient order would be nicer, but any failure ends the run,
             * and which one is reported does not change the outcome. */
            if (!t->error) {
                t->error = rc;
                ms_strbuf_free(&t->why);
                ms_strbuf_puts(&t->why, ms_strbuf_str(&why));
            }
            pthread_cond_broadcast(&t->ready);
            pthread_cond_broadcast(&t->space);
            break;
        }
        s->state = SLOT_READY;
        pthread_cond_broadcast(&t->ready);
    }
    pthread_mutex_unlock(&t->lock);
    ms_strbuf_free(&why);
    return NULL;
}

/* The writer: the calling thread. Returns 0 (all written, or stopped on request: t->stop), or a
 * negative code with *message set. */
static int write_in_order(trial *t, metasim_results_t *db, unsigned long long resumed,
                          double started, char **message)
{
    const metasim_trial_options_t *o = t->opt;
    unsigned long long enrolled = 0;
    int rc = 0;
    while (rc == 0) {
        pthread_mutex_lock(&t->lock);
        if (t->next_write >= t->end) {
            pthread_mutex_unlock(&t->lock);
            break;
        }
        slot *s = &t->slots[t->next_write % t->n_slots];
        while (s->state != SLOT_READY && !t->error)
            pthread_cond_wait(&t->ready, &t->lock);
        if (t->error) {
            rc = t->error;
            *message = ms_strbuf_take(&t->why);
            pthread_mutex_unlock(&t->lock);
            break;
        }
        pthread_mutex_unlock(&t->lock);
        rc = ms_results_write_record(db, &s->rec);
        if (rc != 0)
            *message = copy_text(metasim_results_errmsg(db));
        enrolled += s->rec.enrolled;
        if (ms_record_bytes(&s->rec) > RECORD_KEEP_BYTES) {
            ms_record_free(&s->rec);
            ms_record_init(&s->rec);
        }
        pthread_mutex_lock(&t->lock);
        s->state = SLOT_FREE;
        if (rc == 0)
            t->next_write++; /* counts the patients the database holds */
        unsigned long long done = t->next_write;
        pthread_cond_broadcast(&t->space);
        pthread_mutex_unlock(&t->lock);
        if (rc == 0 && o->progress) {
            metasim_trial_progress_t p = {.done = done,
                                          .total = t->total,
                                          .resumed = resumed,
                                          .enrolled = enrolled,
                                          .elapsed = now() - started};
            if (o->progress(o->user, &p) != 0) {
                pthread_mutex_lock(&t->lock);
                t->stop = true;
                pthread_cond_broadcast(&t->space);
                pthread_mutex_unlock(&t->lock);
                break;
            }
        }
    }
    if (rc != 0) {
        pthread_mutex_lock(&t->lock);
        t->stop = true;
        pthread_cond_broadcast(&t->space);
        pthread_mutex_unlock(&t->lock);
    }
    return rc;
}

/* ------------------------------------------------------------ the run */

/* Checks the options; fills the shard and the allocation. */
static int check_options(trial *t, char **message)
{
    const metasim_trial_options_t *o = t->opt;
    const char *bad = NULL;
    if (!t->model || metasim_model_error_count(t->model) != 0)
        bad = "the model did not load";
    else if (!o->path || !*o->path)
        bad = "no results file given";
    else if (o->patients == 0)
        bad = "a trial needs at least one patient";
    else if (metasim_model_arm_count(t->model) == 0)
        bad = "the scenario has no arms to compare";
    else if (o->design != METASIM_DESIGN_PAIRED && o->design != METASIM_DESIGN_RANDOMISED)
        bad = "unknown design";
    else if (o->shards > 1 && o->shard >= o->shards)
        bad = "the shard must be below the number of shards";
    else if (o->shards <= 1 && o->shard != 0)
        bad = "a shard without a number of shards";
    else if (o->threads > MAX_THREADS)
        bad = "too many threads";
    if (bad) {
        *message = copy_text(bad);
        return METASIM_E_ARG;
    }
    t->n_arms = (unsigned)metasim_model_arm_count(t->model);
    t->shards = o->shards > 1 ? o->shards : 1;
    t->shard = o->shard;
    t->horizon = metasim_model_horizon(t->model);
    t->total = o->patients / t->shards + (t->shard < o->patients % t->shards);
    if (o->design != METASIM_DESIGN_RANDOMISED)
        return 0;
    t->cumulative = malloc(t->n_arms * sizeof *t->cumulative);
    t->shares = malloc(t->n_arms * sizeof *t->shares);
    if (!t->cumulative || !t->shares)
        return METASIM_E_NOMEM;
    double sum = 0;
    for (unsigned k = 0; k < t->n_arms; k++) {
        double w = o->allocation ? o->allocation[k] : 1.0;
        if (!(w > 0) || !isfinite(w)) {
            char text[96];
            snprintf(text, sizeof text, "allocation weight %u must be > 0 (got %g)", k + 1, w);
            *message = copy_text(text);
            return METASIM_E_ARG;
        }
        sum += w;
    }
    double run = 0;
    for (unsigned k = 0; k < t->n_arms; k++) {
        t->shares[k] = (o->allocation ? o->allocation[k] : 1.0) / sum;
        run += t->shares[k];
        t->cumulative[k] = run;
    }
    t->cumulative[t->n_arms - 1] = 1.0;
    return 0;
}

/* The message of a results handle that failed to open, or the code's words. */
static char *handle_message(const metasim_results_t *db, int rc)
{
    const char *text = metasim_results_errmsg(db);
    return copy_text(*text ? text : metasim_strerror(rc));
}

int metasim_trial_run(const metasim_model_t *model, const metasim_trial_options_t *options,
                      char digest[METASIM_DIGEST_SIZE], char **message)
{
    char *msg = NULL;
    if (message)
        *message = NULL;
    if (digest)
        digest[0] = '\0';
    if (!options)
        return METASIM_E_ARG;
    double started = now();
    trial t = {.model = model, .opt = options};
    metasim_results_t *db = NULL;
    pthread_t *threads = NULL;
    unsigned n_threads = 0;
    bool sync = false;
    int rc = check_options(&t, &msg);
    if (rc != 0)
        goto out;
    ms_trial_info info = {.design =
                              options->design == METASIM_DESIGN_PAIRED ? "paired" : "randomised",
                          .patients = options->patients,
                          .shard = t.shard,
                          .shards = t.shards,
                          .series = options->series,
                          .allocation = t.shares};
    unsigned long long resumed = 0;
    if (options->resume)
        rc = ms_results_resume(options->path, model, options->command_line, options->seed,
                               options->overwrite, &info, &db, &resumed);
    else
        rc = ms_results_create_trial(options->path, model, options->command_line, options->seed,
                                     options->overwrite, &info, &db);
    if (rc != 0) {
        msg = handle_message(db, rc);
        goto out;
    }
    unsigned want = options->threads ? options->threads : 1;
    t.n_slots = SLOTS_PER_THREAD * (size_t)want;
    t.slots = calloc(t.n_slots, sizeof *t.slots);
    threads = calloc(want, sizeof *threads);
    if (!t.slots || !threads) {
        rc = METASIM_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < t.n_slots; i++)
        ms_record_init(&t.slots[i].rec);
    t.next_claim = t.next_write = resumed;
    t.end = t.total;
    if (options->max_patients && t.end - resumed > options->max_patients)
        t.end = resumed + options->max_patients;
    if (pthread_mutex_init(&t.lock, NULL) != 0 || pthread_cond_init(&t.ready, NULL) != 0 ||
        pthread_cond_init(&t.space, NULL) != 0) {
        rc = METASIM_E_NOMEM;
        goto out;
    }
    sync = true;
    for (; n_threads < want; n_threads++)
        if (pthread_create(&threads[n_threads], NULL, worker, &t) != 0)
            break;
    if (n_threads == 0) {
        rc = METASIM_E_NOMEM;
        msg = copy_text("cannot start a thread");
        goto out;
    }
    rc = write_in_order(&t, db, resumed, started, &msg);
    for (unsigned i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    n_threads = 0;
    if (rc != 0 && t.next_write > 0) {
        /* Keep the patients written so far for a resume once the cause is fixed. */
        ms_results_suspend(db, NULL);
        db = NULL;
        goto out;
    }
    if (rc != 0)
        goto out;
    if (t.next_write < t.total) {
        rc = ms_results_suspend(db, &msg);
        db = NULL;
        if (rc == 0)
            rc = METASIM_TRIAL_STOPPED;
        goto out;
    }
    ms_results_set_threads(db, want);
    rc = ms_results_close_digest(db, digest, &msg);
    db = NULL;
out:
    if (n_threads > 0) {
        pthread_mutex_lock(&t.lock);
        t.stop = true;
        pthread_cond_broadcast(&t.space);
        pthread_mutex_unlock(&t.lock);
        for (unsigned i = 0; i < n_threads; i++)
            pthread_join(threads[i], NULL);
    }
    metasim_results_discard(db); /* a failed resume check leaves the partial file alone */
    if (sync) {
        pthread_mutex_destroy(&t.lock);
        pthread_cond_destroy(&t.ready);
        pthread_cond_destroy(&t.space);
    }
    for (size_t i = 0; t.slots && i < t.n_slots; i++)
        ms_record_free(&t.slots[i].rec);
    free(t.slots);
    free(threads);
    free(t.cumulative);
    free(t.shares);
    ms_strbuf_free(&t.why);
    if (rc < 0 && !msg)
        msg = copy_text(metasim_strerror(rc));
    if (message && rc < 0)
        *message = msg;
    else
        free(msg);
    return rc;
}
