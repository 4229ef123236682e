/* Unit tests of the virtual-trial runner (src/trial/trial.c), its results database tables and
 * statistics (src/io/results_stats.c, src/trial/trial_stats.c), merges and digests
 * (src/io/results_merge.c), on a small two-arm scenario whose patients are diagnosed, operated
 * and treated within weeks: equal digests for 1, 2 and 4 threads, for shards merged, and for a
 * run stopped and resumed; the paired and randomised designs' rows; merge refusals; the
 * statistics tables against survival.c on the same rows; the paired restricted-mean gain; and
 * the first-relapse tables against the clinical rows. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "metasim/metasim.h"
#include "trial/survival_internal.h"
#include "unit_test.h"

/* One cell that grows (b = 0.3, d = 0.1 /d: a third of the patients' tumours die out), is
 * diagnosed at 1e7 cells after about three months, operated a week later, and spreads to a
 * second site; the treated arm gives a weekly cytotoxic drug from surgery. */
static const char scenario[] =
    "scenario: {name: trialtest}\n"
    "time: {horizon: 600 d, output_interval: 20 d}\n"
    "sites:\n"
    "  p: {blood_flow: 0.5, colonisation: 2e-6, shedding: 0.01, division: {cycling: 0.3},"
    " death: {cycling: 0.1}}\n"
    "  m: {blood_flow: 0.5, colonisation: 2e-6, shedding: 0.01, division: {cycling: 0.3},"
    " death: {cycling: 0.1}}\n"
    "primary: {site: p, initial_cells: 1, detection_cells: 1e7}\n"
    "clinic: {surgery: {delay: 1 w}, scans: [{every: 30 d, until: 1 y}], lethal_cells: 1e10}\n"
    "drugs:\n"
    "  x:\n"
    "    pk: {model: one_compartment, half_life: 1 d, volume: 10 L}\n"
    "    effects: [{target: death, state: cycling, max_kill: 0.25 /d, ec50: 1 mg/L, hill: 1}]\n"
    "regimens:\n"
    "  x_weekly: {doses: [{drug: x, amount: 100 mg}], cycles: 10, cycle_length: 7 d}\n"
    "arms:\n"
    "  control: {lines: []}\n"
    "  treated: {lines: [{regimen: x_weekly, start: surgery}]}\n";

enum { SEED = 11, PATIENTS = 40 };

static metasim_model_t *load(void)
{
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("trial.yaml", scenario, strlen(scenario), &m);
    ck_assert_msg(rc == 0, "%s", metasim_model_errmsg(m));
    return m;
}

/* ------------------------------------------------------------ files */

static char tmpdir[256];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/metasim-trial-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void teardown(void)
{
    if (tmpdir[0])
        remove_tree(tmpdir);
    tmpdir[0] = '\0';
}

static const char *in_tmp(const char *name)
{
    static char path[8][512];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ------------------------------------------------------------ SQLite */

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    return db;
}

__attribute__((format(printf, 2, 3))) static double queryf(sqlite3 *db, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
    double v = NAN;
    rc = sqlite3_step(st);
    ck_assert_msg(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* ------------------------------------------------------------ running */

static metasim_trial_options_t options(const char *path, unsigned threads)
{
    return (metasim_trial_options_t){
        .path = path, .seed = SEED, .patients = PATIENTS, .threads = threads, .series = 3};
}

/* Runs a trial to completion and returns its digest (static storage, 4 in rotation). */
static const char *run(const metasim_model_t *m, const metasim_trial_options_t *o)
{
    static char digests[4][METASIM_DIGEST_SIZE];
    static int next;
    char *digest = digests[next++ % 4];
    char *message = NULL;
    int rc = metasim_trial_run(m, o, digest, &message);
    ck_assert_msg(rc == 0, "trial: %d %s", rc, message ? message : "");
    ck_assert_ptr_null(message);
    ck_assert_uint_eq(strlen(digest), 16);
    ck_assert(exists(o->path));
    char partial[600];
    snprintf(partial, sizeof partial, "%s.partial", o->path);
    ck_assert(!exists(partial));
    return digest;
}

/* The digest recomputed from the file, which must match the one recorded. */
static void check_digest(const char *path, const char *want)
{
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_open(path, &r), 0);
    char digest[METASIM_DIGEST_SIZE];
    ck_assert_msg(metasim_results_digest(r, digest) == 0, "%s", metasim_results_errmsg(r));
    ck_assert_str_eq(digest, want);
    metasim_results_close(r, NULL);
}

/* ------------------------------------------------------------ tests */

/* Threads share nothing but the output queue: 1, 2 and 4 give the same bits. */
START_TEST(test_threads_give_equal_digests)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_trial_options_t o = options(in_tmp("t1.db"), 1);
    char one[METASIM_DIGEST_SIZE];
    snprintf(one, sizeof one, "%s", run(m, &o));
    o = options(in_tmp("t2.db"), 2);
    ck_assert_str_eq(run(m, &o), one);
    o = options(in_tmp("t4.db"), 4);
    ck_assert_str_eq(run(m, &o), one);
    check_digest(in_tmp("t4.db"), one);
    metasim_model_destroy(m);
}
END_TEST

/* The paired design's rows: every patient screened; an enrolled patient's history up to the
 * point of assignment written once without an arm, then every arm in full. */
START_TEST(test_paired_rows)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_trial_options_t o = options(in_tmp("p.db"), 2);
    run(m, &o);
    sqlite3 *db = open_db(o.path);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM screening"), PATIENTS);
    double enrolled = queryf(db, "SELECT sum(enrolled) FROM screening");
    ck_assert_double_gt(enrolled, 10);
    ck_assert_double_lt(enrolled, PATIENTS);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM screening WHERE enrolled AND reason IS "
                                   "NOT NULL OR NOT enrolled AND reason IS NULL"),
                        0);
    /* Here the tumours that do not grow die out: the only reason not to enrol. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM screening WHERE reason != 'extinct'"), 0);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM arms"), 2);
    ck_assert_double_eq(queryf(db, "SELECT value = 'paired' FROM meta WHERE key = 'design'"), 1);
    /* Enrolled: one end state per arm and none without; not enrolled: one without arm. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM patients"),
                        enrolled * 2 + (PATIENTS - enrolled));
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM patients p JOIN screening s USING "
                                   "(patient) WHERE s.enrolled = (p.arm IS NULL)"),
                        0);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM clinical"),
                        enrolled * 2 + (PATIENTS - enrolled));
    /* The shared history holds the diagnosis and the surgery, once; the arms hold what came
     * after (the assignment of each arm). */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM events WHERE kind IN ('diagnosis', "
                                   "'surgery') AND arm IS NULL"),
                        2 * enrolled);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM events WHERE kind IN ('diagnosis', "
                                   "'surgery') AND arm IS NOT NULL"),
                        0);
    /* Doses, like the time series, only for the --series patients (3), enrolled ones. */
    ck_assert_double_eq(
        queryf(db, "SELECT count(DISTINCT patient) FROM events WHERE kind = "
                   "'dose' AND arm = 'treated'"),
        queryf(db, "SELECT count(*) FROM screening WHERE enrolled AND patient < 3"));
    ck_assert_double_gt(queryf(db, "SELECT count(*) FROM screening WHERE enrolled AND patient < 3"),
                        0);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM events WHERE kind = 'dose' AND arm IS "
                                   "NOT 'treated'"),
                        0);
    /* An arm's timeline continues the history: its first event is no earlier than the
     * history's last. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM (SELECT patient, max(time) AS t FROM "
                                   "events WHERE arm IS NULL GROUP BY patient) h JOIN (SELECT "
                                   "patient, min(time) AS t FROM events WHERE arm IS NOT NULL "
                                   "GROUP BY patient, arm) a USING (patient) WHERE a.t < h.t"),
                        0);
    /* Both arms share diagnosis and surgery. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM clinical a JOIN clinical b USING "
                                   "(patient) WHERE a.arm = 'control' AND b.arm = 'treated' AND "
                                   "(a.diagnosis != b.diagnosis OR a.surgery != b.surgery)"),
                        0);
    /* Time series for patients below --series only, with explicit zeros carried from the
     * history into each arm: every (lesion, clone, state) of a patient's arm timeline has a
     * row at every sample time from its first on. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM samples WHERE patient >= 3"), 0);
    ck_assert_double_gt(queryf(db, "SELECT count(*) FROM samples"), 0);
    ck_assert_double_eq(
        queryf(db,
               "WITH tl AS (SELECT s.patient, a.arm, s.time, s.lesion, s.clone, s.state FROM "
               "samples s JOIN (SELECT DISTINCT patient, arm FROM samples WHERE arm IS NOT NULL) "
               "a ON a.patient = s.patient AND (s.arm IS NULL OR s.arm = a.arm)) "
               "SELECT count(*) FROM (SELECT patient, arm, lesion, clone, state, min(time) AS "
               "t0, count(*) AS n FROM tl GROUP BY patient, arm, lesion, clone, state) k WHERE "
               "k.n != (SELECT count(DISTINCT time) FROM tl WHERE tl.patient = k.patient AND "
               "tl.arm = k.arm AND tl.time >= k.t0)"),
        0);
    /* Endpoints for every diagnosed (patient, arm): os, rfs, drfs, pfs, relapse_p, relapse_m;
     * censored at the end of follow-up, except the cause-specific relapse_<site>, censored at a
     * first relapse elsewhere or at death. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM endpoints WHERE arm IS NOT NULL"),
                        6 * 2 * enrolled);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM endpoints e JOIN clinical c USING "
                                   "(patient, arm) WHERE e.status = 0 AND abs(e.time + "
                                   "c.diagnosis - coalesce(CASE WHEN e.endpoint LIKE 'relapse%%' "
                                   "THEN coalesce(c.relapse, c.death) END, 600)) > 1e-9"),
                        0);
    /* Exposures: for the --series patients, from the assignment on, in both arms (the control
     * arm's drug concentration is 0), never in the shared history. */
    ck_assert_double_gt(queryf(db, "SELECT count(*) FROM exposures WHERE arm = 'treated' AND "
                                   "concentration > 0"),
                        0);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM exposures WHERE arm IS NULL OR patient "
                                   ">= 3 OR (arm = 'control' AND concentration != 0)"),
                        0);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM exposures x JOIN clinical c USING "
                                   "(patient, arm) WHERE x.time < c.assigned"),
                        0);
    sqlite3_close(db);
    metasim_model_destroy(m);
}
END_TEST

/* Shards merged equal the unsharded trial, whatever the order of the inputs. */
START_TEST(test_shards_merge_to_the_same_digest)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_trial_options_t o = options(in_tmp("all.db"), 2);
    char all[METASIM_DIGEST_SIZE];
    snprintf(all, sizeof all, "%s", run(m, &o));
    const char *names[3] = {in_tmp("s0.db"), in_tmp("s1.db"), in_tmp("s2.db")};
    for (unsigned i = 0; i < 3; i++) {
        o = options(names[i], 1 + i);
        o.shard = i;
        o.shards = 3;
        const char *d = run(m, &o);
        ck_assert_str_ne(d, all);
    }
    const char *inputs[3] = {names[2], names[0], names[1]};
    char *message = NULL;
    int rc = metasim_results_merge(in_tmp("merged.db"), inputs, 3, 0, "merge", &message);
    ck_assert_msg(rc == 0, "%s", message ? message : "");
    check_digest(in_tmp("merged.db"), all);
    /* The statistics are those of the whole trial. */
    sqlite3 *a = open_db(in_tmp("all.db")), *b = open_db(in_tmp("merged.db"));
    const char *const tables[] = {"km", "tests", "paired", "landmarks", "samples", "screening"};
    for (size_t t = 0; t < 6; t++) {
        double na = queryf(a, "SELECT count(*) FROM %s", tables[t]);
        ck_assert_double_eq(queryf(b, "SELECT count(*) FROM %s", tables[t]), na);
    }
    ck_assert_double_eq(queryf(a, "SELECT sum(hr * n + median_lower) FROM tests"),
                        queryf(b, "SELECT sum(hr * n + median_lower) FROM tests"));
    ck_assert_double_eq(queryf(b, "SELECT value = '3' FROM meta WHERE key = 'merged_from'"), 1);
    sqlite3_close(a);
    sqlite3_close(b);
    metasim_model_destroy(m);
}
END_TEST

static int stop_after_five(void *user, const metasim_trial_progress_t *p)
{
    int *calls = user;
    ++*calls;
    ck_assert_uint_le(p->done, p->total);
    return p->done >= 5;
}

/* A run stopped early keeps its partial file; resumed, it gives the digest of a run that was
 * never stopped. */
START_TEST(test_stop_and_resume)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_trial_options_t o = options(in_tmp("whole.db"), 2);
    char whole[METASIM_DIGEST_SIZE];
    snprintf(whole, sizeof whole, "%s", run(m, &o));

    const char *path = in_tmp("r.db");
    char partial[600];
    snprintf(partial, sizeof partial, "%s.partial", path);
    o = options(path, 3);
    o.max_patients = 7;
    char digest[METASIM_DIGEST_SIZE] = "x";
    char *message = NULL;
    ck_assert_int_eq(metasim_trial_run(m, &o, digest, &message), METASIM_TRIAL_STOPPED);
    ck_assert_ptr_null(message);
    ck_assert(!exists(path));
    ck_assert(exists(partial));
    /* Resume without the flag would start again: refused here by another stop, by the
     * progress callback this time, after 5 more patients. */
    int calls = 0;
    o = options(path, 1);
    o.resume = 1;
    o.progress = stop_after_five;
    o.user = &calls;
    ck_assert_int_eq(metasim_trial_run(m, &o, digest, &message), METASIM_TRIAL_STOPPED);
    ck_assert_int_eq(calls, 1); /* 7 patients were there: the first one written makes 8 */
    ck_assert(exists(partial));
    /* A resume of another trial is refused and leaves the partial file as it was. */
    struct stat before, after;
    ck_assert_int_eq(stat(partial, &before), 0);
    o = options(path, 2);
    o.resume = 1;
    o.seed = SEED + 1;
    ck_assert_int_eq(metasim_trial_run(m, &o, digest, &message), METASIM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(message, "seed"));
    metasim_free(message);
    message = NULL;
    o = options(path, 2);
    o.resume = 1;
    o.patients = PATIENTS + 1;
    ck_assert_int_eq(metasim_trial_run(m, &o, digest, &message), METASIM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(message, "number of patients"));
    metasim_free(message);
    message = NULL;
    o = options(path, 2);
    o.resume = 1;
    o.design = METASIM_DESIGN_RANDOMISED;
    ck_assert_int_eq(metasim_trial_run(m, &o, digest, &message), METASIM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(message, "design"));
    metasim_free(message);
    message = NULL;
    ck_assert_int_eq(stat(partial, &after), 0);
    ck_assert_int_eq(before.st_size, after.st_size);
    ck_assert_int_eq(before.st_mtime, after.st_mtime);
    /* Now to the end, with yet another number of threads. */
    o = options(path, 4);
    o.resume = 1;
    ck_assert_str_eq(run(m, &o), whole);
    check_digest(path, whole);
    /* Nothing to resume. */
    o = options(in_tmp("none.db"), 1);
    o.resume = 1;
    ck_assert_int_eq(metasim_trial_run(m, &o, digest, &message), METASIM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(message, "nothing to resume"));
    metasim_free(message);
    ck_assert(!exists(in_tmp("none.db")));
    metasim_model_destroy(m);
}
END_TEST

/* A child process killed (SIGKILL) in the middle of a trial leaves a partial file that
 * resumes to the same digest. The moment of the kill does not matter: whatever was committed
 * is complete patients. */
START_TEST(test_killed_and_resumed)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_trial_options_t o = options(in_tmp("whole.db"), 1);
    char whole[METASIM_DIGEST_SIZE];
    snprintf(whole, sizeof whole, "%s", run(m, &o));
    const char *path = in_tmp("k.db");
    for (int delay_ms = 20; delay_ms <= 60; delay_ms += 40) {
        remove_tree(path);
        remove_tree(in_tmp("k.db.partial"));
        remove_tree(in_tmp("k.db.partial-wal"));
        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
            metasim_trial_options_t co = options(path, 2);
            metasim_trial_run(m, &co, NULL, NULL);
            _exit(0);
        }
        struct timespec pause = {0, (long)delay_ms * 1000000L};
        nanosleep(&pause, NULL);
        kill(child, SIGKILL);
        int status = 0;
        waitpid(child, &status, 0);
        char partial[600];
        snprintf(partial, sizeof partial, "%s.partial", path);
        o = options(path, 2);
        o.resume = exists(partial);
        o.overwrite = 1; /* when the child finished first, run again in full */
        ck_assert_str_eq(run(m, &o), whole);
    }
    metasim_model_destroy(m);
}
END_TEST

/* Randomised: each enrolled patient under one arm, drawn from its own stream; its rows are
 * those of the same arm in the paired design, and a simulation created with that arm from the
 * start ends in the same state. */
START_TEST(test_randomised)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_trial_options_t o = options(in_tmp("paired.db"), 2);
    run(m, &o);
    o = options(in_tmp("rand.db"), 2);
    o.design = METASIM_DESIGN_RANDOMISED;
    const double weights[2] = {1, 3};
    o.allocation = weights;
    char digest[METASIM_DIGEST_SIZE];
    snprintf(digest, sizeof digest, "%s", run(m, &o));
    o = options(in_tmp("rand1.db"), 1);
    o.design = METASIM_DESIGN_RANDOMISED;
    o.allocation = weights;
    ck_assert_str_eq(run(m, &o), digest);

    sqlite3 *db = open_db(in_tmp("rand.db"));
    double enrolled = queryf(db, "SELECT sum(enrolled) FROM screening");
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM patients WHERE arm IS NOT NULL"),
                        enrolled);
    ck_assert_double_eq(queryf(db, "SELECT allocation FROM arms WHERE arm = 'treated'"), 0.75);
    double treated = queryf(db, "SELECT count(*) FROM patients WHERE arm = 'treated'");
    ck_assert_double_gt(treated, 0.5 * enrolled); /* 3:1, with 20-odd patients */
    ck_assert_double_lt(treated, enrolled);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM paired"), 0);
    /* The unpaired RMST difference has its standard error. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM tests WHERE reference_arm IS NOT NULL "
                                   "AND endpoint IN ('os', 'rfs') AND NOT rmst_diff_se > 0"),
                        0);
    /* The same rows as the paired design's for the arm drawn. */
    char sql[600];
    snprintf(sql, sizeof sql, "ATTACH DATABASE '%s' AS p", in_tmp("paired.db"));
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM endpoints r JOIN p.endpoints q USING "
                                   "(patient, arm, endpoint) WHERE r.time = q.time AND r.status "
                                   "= q.status"),
                        6 * enrolled);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM patients r JOIN p.patients q USING "
                                   "(patient, arm) WHERE r.cells = q.cells AND r.end_time = "
                                   "q.end_time AND r.shed = q.shed"),
                        enrolled);
    /* A simulation created with the arm from the start: the same end. */
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT patient, arm, cells, end_time, shed FROM "
                                        "patients WHERE arm IS NOT NULL ORDER BY patient LIMIT 6",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int checked = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        unsigned patient = (unsigned)sqlite3_column_int(st, 0);
        unsigned arm = metasim_model_arm(m, (const char *)sqlite3_column_text(st, 1));
        metasim_sim_options_t so = {.seed = SEED, .patient = patient, .arm = arm};
        metasim_sim_t *s = NULL;
        ck_assert_int_eq(metasim_sim_create(m, &so, &s), 0);
        ck_assert_int_gt(metasim_sim_run(s, metasim_model_horizon(m), 0), 0);
        metasim_counts_t n;
        metasim_sim_counts(s, &n);
        ck_assert_double_eq(metasim_sim_cells(s), sqlite3_column_double(st, 2));
        ck_assert_double_eq(metasim_sim_time(s), sqlite3_column_double(st, 3));
        ck_assert_double_eq((double)n.shed, sqlite3_column_double(st, 4));
        metasim_sim_destroy(s);
        checked++;
    }
    ck_assert_int_eq(checked, 6);
    sqlite3_finalize(st);
    sqlite3_close(db);
    metasim_model_destroy(m);
}
END_TEST

static void assert_merge_refused(const char *const *inputs, size_t n, const char *words)
{
    char *message = NULL;
    const char *out = in_tmp("refused.db");
    int rc = metasim_results_merge(out, inputs, n, 0, NULL, &message);
    ck_assert_msg(rc == METASIM_E_INVALID, "rc %d: %s", rc, message ? message : "");
    ck_assert_msg(message && strstr(message, words), "message '%s' lacks '%s'",
                  message ? message : "", words);
    metasim_free(message);
    ck_assert(!exists(out));
    char partial[600];
    snprintf(partial, sizeof partial, "%s.partial", out);
    ck_assert(!exists(partial));
}

START_TEST(test_merge_refusals)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_trial_options_t o = options(in_tmp("a0.db"), 1);
    o.shard = 0;
    o.shards = 2;
    run(m, &o);
    o = options(in_tmp("a1.db"), 1);
    o.shard = 1;
    o.shards = 2;
    run(m, &o);
    o = options(in_tmp("seed.db"), 1);
    o.shard = 1;
    o.shards = 2;
    o.seed = SEED + 1;
    run(m, &o);
    o = options(in_tmp("n.db"), 1);
    o.shard = 1;
    o.shards = 2;
    o.patients = PATIENTS + 2;
    run(m, &o);
    o = options(in_tmp("rand.db"), 1);
    o.shard = 1;
    o.shards = 2;
    o.design = METASIM_DESIGN_RANDOMISED;
    run(m, &o);
    /* Another scenario text: the same scenario with a comment. */
    char *text = malloc(sizeof scenario + 16);
    snprintf(text, sizeof scenario + 16, "# another\n%s", scenario);
    metasim_model_t *m2 = NULL;
    ck_assert_int_eq(metasim_model_load_string("t2.yaml", text, strlen(text), &m2), 0);
    free(text);
    o = options(in_tmp("text.db"), 1);
    o.shard = 1;
    o.shards = 2;
    run(m2, &o);
    metasim_model_destroy(m2);
    /* A single patient from 'metasim run --db'. */
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_create(in_tmp("run.db"), m, NULL, SEED, 0, &r), 0);
    metasim_sim_options_t so = {.seed = SEED};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &so, &s), 0);
    ck_assert_int_eq(metasim_results_add_patient(r, 0, 0, s, METASIM_STOP_TIME), 0);
    ck_assert_int_eq(metasim_results_close(r, NULL), 0);
    metasim_sim_destroy(s);

    char a0[512], a1[512], seed[512], n[512], rand[512], other[512], single[512], missing[512];
    snprintf(a0, sizeof a0, "%s", in_tmp("a0.db"));
    snprintf(a1, sizeof a1, "%s", in_tmp("a1.db"));
    snprintf(seed, sizeof seed, "%s", in_tmp("seed.db"));
    snprintf(n, sizeof n, "%s", in_tmp("n.db"));
    snprintf(rand, sizeof rand, "%s", in_tmp("rand.db"));
    snprintf(other, sizeof other, "%s", in_tmp("text.db"));
    snprintf(single, sizeof single, "%s", in_tmp("run.db"));
    snprintf(missing, sizeof missing, "%s", in_tmp("missing.db"));
    assert_merge_refused((const char *[]){a0, seed}, 2, "seed 12 differs from");
    assert_merge_refused((const char *[]){a0, n}, 2, "number of patients 42");
    assert_merge_refused((const char *[]){a0, rand}, 2, "design randomised");
    assert_merge_refused((const char *[]){a0, other}, 2, "scenario text differs");
    assert_merge_refused((const char *[]){a0, a1, a1}, 3, "patient 1 is in both");
    assert_merge_refused((const char *[]){a0}, 1, "patient 1 is in none of the inputs");
    assert_merge_refused((const char *[]){a0, single}, 2, "not a trial's results");
    assert_merge_refused((const char *[]){a0, missing}, 2, "missing.db");
    /* An existing output is refused unless asked to replace it. */
    char *message = NULL;
    const char *both[] = {a0, a1};
    ck_assert_int_eq(metasim_results_merge(a0, both, 2, 0, NULL, &message), METASIM_E_EXISTS);
    metasim_free(message);
    ck_assert_int_eq(metasim_results_merge(in_tmp("ok.db"), both, 2, 0, NULL, NULL), 0);
    ck_assert_int_eq(metasim_results_merge(NULL, both, 2, 0, NULL, NULL), METASIM_E_ARG);
    ck_assert_int_eq(metasim_results_merge(in_tmp("x.db"), both, 0, 0, NULL, NULL), METASIM_E_ARG);
    metasim_model_destroy(m);
}
END_TEST

/* ------------------------------------------------------------ statistics */

typedef struct arm_data {
    double time[2 * PATIENTS];
    int status[2 * PATIENTS];
    unsigned patient[2 * PATIENTS];
    size_t n;
} arm_data;

static void read_arm(sqlite3 *db, const char *endpoint, const char *arm, arm_data *d)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT patient, time, status FROM endpoints WHERE "
                                        "endpoint = ?1 AND arm = ?2 ORDER BY patient",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, arm, -1, SQLITE_STATIC);
    d->n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        d->patient[d->n] = (unsigned)sqlite3_column_int(st, 0);
        d->time[d->n] = sqlite3_column_double(st, 1);
        d->status[d->n++] = sqlite3_column_int(st, 2);
    }
    sqlite3_finalize(st);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The tables written at close are survival.c's numbers on the endpoint rows. */
START_TEST(test_statistics_match_survival)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_trial_options_t o = options(in_tmp("s.db"), 2);
    run(m, &o);
    sqlite3 *db = open_db(o.path);
    const char *const endpoints[] = {"os", "rfs", "drfs", "pfs", "relapse_m", "relapse_p"};
    for (size_t e = 0; e < sizeof endpoints / sizeof *endpoints; e++) {
        const char *ep = endpoints[e];
        static arm_data ref, arm;
        read_arm(db, ep, "control", &ref);
        read_arm(db, ep, "treated", &arm);
        ck_assert_uint_eq(ref.n, arm.n);
        ck_assert_uint_gt(ref.n, 10);
        /* Kaplan-Meier of the treated arm, both transforms. */
        ms_surv_data *one = NULL;
        ck_assert_int_eq(ms_surv_data_create(arm.time, arm.status, NULL, arm.n, &one, NULL), 0);
        const ms_surv_ci transforms[2] = {MS_SURV_CI_LOG, MS_SURV_CI_LOG_LOG};
        const char *names[2] = {"log", "log-log"};
        for (int t = 0; t < 2; t++) {
            ms_surv_curve km = {0};
            ck_assert_int_eq(ms_surv_km(one, 0, 0.05, transforms[t], &km), 0);
            ck_assert_double_eq(queryf(db,
                                       "SELECT count(*) FROM km WHERE arm = 'treated' AND "
                                       "endpoint = '%s' AND transform = '%s'",
                                       ep, names[t]),
                                (double)km.n_rows);
            const ms_surv_row *last = &km.rows[km.n_rows - 1];
            ck_assert_double_eq(queryf(db,
                                       "SELECT surv FROM km WHERE arm = 'treated' AND endpoint "
                                       "= '%s' AND transform = '%s' AND time = %.17g",
                                       ep, names[t], last->time),
                                last->surv);
            double lower = queryf(db,
                                  "SELECT lower FROM km WHERE arm = 'treated' AND endpoint = "
                                  "'%s' AND transform = '%s' AND time = %.17g",
                                  ep, names[t], last->time);
            ck_assert(isnan(lower) == isnan(last->lower));
            if (!isnan(lower))
                ck_assert_double_eq(lower, last->lower);
            if (t == 0) {
                ms_surv_median med;
                ck_assert_int_eq(ms_surv_curve_median(&km, &med), 0);
                double got = queryf(db,
                                    "SELECT median FROM tests WHERE arm = 'treated' AND "
                                    "endpoint = '%s'",
                                    ep);
                ck_assert(isnan(got) == isnan(med.median));
                if (!isnan(got))
                    ck_assert_double_eq(got, med.median);
            }
            ms_surv_curve_free(&km);
        }
        ms_surv_data_destroy(one);
        /* The contrast: Cox, log-rank and RMST difference on both arms' rows. */
        double time[4 * PATIENTS];
        int status[4 * PATIENTS], group[4 * PATIENTS];
        size_t n = 0;
        for (size_t i = 0; i < ref.n; i++, n++) {
            time[n] = ref.time[i];
            status[n] = ref.status[i];
            group[n] = 0;
        }
        double last_ref = 0, last_arm = 0;
        for (size_t i = 0; i < ref.n; i++)
            last_ref = fmax(last_ref, ref.time[i]);
        for (size_t i = 0; i < arm.n; i++, n++) {
            time[n] = arm.time[i];
            status[n] = arm.status[i];
            group[n] = 1;
            last_arm = fmax(last_arm, arm.time[i]);
        }
        ms_surv_data *two = NULL;
        ck_assert_int_eq(ms_surv_data_create(time, status, group, n, &two, NULL), 0);
        ms_surv_cox_fit cox;
        ms_surv_logrank_test lr;
        ms_surv_rmst_contrast rm;
        double tau = fmin(last_ref, last_arm);
        ck_assert_int_eq(ms_surv_cox(two, 0.05, &cox), 0);
        ck_assert_int_eq(ms_surv_logrank(two, &lr), 0);
        ck_assert_int_eq(ms_surv_rmst_diff(two, tau, 0.05, &rm), 0);
        ck_assert_double_eq(queryf(db,
                                   "SELECT tau FROM tests WHERE arm = 'treated' AND "
                                   "endpoint = '%s'",
                                   ep),
                            tau);
        /* The hazard ratio is stored only when both arms have events (NULL, not a number
         * from a likelihood without maximum, otherwise). */
        bool estimable = ms_surv_data_events(two, 0) > 0 && ms_surv_data_events(two, 1) > 0 &&
                         !cox.maybe_infinite;
        double hr =
            queryf(db, "SELECT hr FROM tests WHERE arm = 'treated' AND endpoint = '%s'", ep);
        ck_assert_msg(estimable ? hr == cox.hr : isnan(hr), "%s: hr %g", ep, hr);
        double hr_upper = queryf(db,
                                 "SELECT hr_upper FROM tests WHERE arm = 'treated' AND "
                                 "endpoint = '%s'",
                                 ep);
        ck_assert(estimable ? hr_upper == cox.hr_upper : isnan(hr_upper));
        ck_assert_double_eq(queryf(db,
                                   "SELECT rmst_diff_se FROM tests WHERE arm = 'treated' AND "
                                   "endpoint = '%s'",
                                   ep),
                            rm.se);
        /* Without events in either arm (relapse_p: local recurrences are rare here) the test
         * has no variance: NULL, as R's NA. */
        double lp = queryf(db,
                           "SELECT logrank_p FROM tests WHERE arm = 'treated' AND endpoint = "
                           "'%s'",
                           ep);
        ck_assert(isnan(lr.p_value) ? isnan(lp) : lp == lr.p_value);
        ck_assert_double_eq(queryf(db,
                                   "SELECT rmst_diff_lower FROM tests WHERE arm = 'treated' "
                                   "AND endpoint = '%s'",
                                   ep),
                            rm.lower);
        ck_assert_double_eq(queryf(db,
                                   "SELECT rmst FROM tests WHERE arm = 'control' AND "
                                   "endpoint = '%s'",
                                   ep),
                            rm.arm[0].rmst);
        ck_assert(isnan(queryf(db,
                               "SELECT hr FROM tests WHERE arm = 'control' AND endpoint = "
                               "'%s'",
                               ep)));
        ck_assert(isnan(queryf(db,
                               "SELECT reference_arm FROM tests WHERE arm = 'control' AND "
                               "endpoint = '%s'",
                               ep)));
        /* The paired effects: gains of the same patients, arm minus reference. */
        double gain[2 * PATIENTS], sum = 0;
        size_t up = 0, down = 0;
        for (size_t i = 0; i < arm.n; i++) {
            ck_assert_uint_eq(ref.patient[i], arm.patient[i]);
            gain[i] = arm.time[i] - ref.time[i];
            sum += gain[i];
            up += gain[i] > 0;
            down += gain[i] < 0;
        }
        qsort(gain, arm.n, sizeof *gain, by_value);
        double h = (double)(arm.n - 1) * 0.9,
               q90 = gain[(size_t)h] + (h - floor(h)) * (gain[(size_t)h + 1] - gain[(size_t)h]);
        ck_assert_double_eq(queryf(db, "SELECT n FROM paired WHERE endpoint = '%s'", ep),
                            (double)arm.n);
        ck_assert_double_eq(queryf(db, "SELECT share_gain FROM paired WHERE endpoint = '%s'", ep),
                            (double)up / (double)arm.n);
        ck_assert_double_eq(queryf(db, "SELECT share_loss FROM paired WHERE endpoint = '%s'", ep),
                            (double)down / (double)arm.n);
        ck_assert_double_eq_tol(
            queryf(db, "SELECT mean_gain FROM paired WHERE endpoint = '%s'", ep),
            sum / (double)arm.n, 1e-9);
        ck_assert_double_eq_tol(queryf(db, "SELECT gain_q90 FROM paired WHERE endpoint = '%s'", ep),
                                q90, 1e-9);
        /* The paired restricted-mean gain: the mean of differences of pseudo-observations is
         * the unpaired difference (same patients, same tau), and its standard error is that of
         * a mean of per-patient differences. */
        double *theta = malloc(2 * arm.n * sizeof *theta);
        ms_surv_curve km_ref = {0}, km_arm = {0};
        ms_surv_data *one_ref = NULL, *one_arm = NULL;
        ck_assert_int_eq(ms_surv_data_create(ref.time, ref.status, NULL, ref.n, &one_ref, NULL), 0);
        ck_assert_int_eq(ms_surv_data_create(arm.time, arm.status, NULL, arm.n, &one_arm, NULL), 0);
        ck_assert_int_eq(ms_surv_km(one_ref, 0, 0.05, MS_SURV_CI_LOG, &km_ref), 0);
        ck_assert_int_eq(ms_surv_km(one_arm, 0, 0.05, MS_SURV_CI_LOG, &km_arm), 0);
        ck_assert_int_eq(
            ms_surv_curve_rmst_pseudo(&km_ref, tau, ref.time, ref.status, ref.n, theta), 0);
        ck_assert_int_eq(
            ms_surv_curve_rmst_pseudo(&km_arm, tau, arm.time, arm.status, arm.n, theta + arm.n), 0);
        double mean = 0, ss = 0;
        for (size_t i = 0; i < arm.n; i++)
            mean += (theta[arm.n + i] - theta[i]) / (double)arm.n;
        for (size_t i = 0; i < arm.n; i++)
            ss += pow(theta[arm.n + i] - theta[i] - mean, 2);
        double se = sqrt(ss / (double)(arm.n - 1) / (double)arm.n);
        double pg = queryf(db, "SELECT rmst_gain FROM paired WHERE endpoint = '%s'", ep);
        ck_assert_double_eq_tol(pg, mean, 1e-9 * tau);
        ck_assert_double_eq_tol(pg, rm.diff, 1e-9 * tau);
        ck_assert_double_eq_tol(
            queryf(db, "SELECT rmst_gain_se FROM paired WHERE endpoint = '%s'", ep), se,
            1e-12 * tau);
        ck_assert_double_eq_tol(
            queryf(db, "SELECT rmst_gain_upper - rmst_gain FROM paired WHERE endpoint = '%s'", ep),
            1.959963984540054 * se, 1e-9 * tau);
        /* Landmarks: the share of events after 3 years is 0 within a 600-day horizon (NULL
         * for an arm without events). */
        double late = queryf(db,
                             "SELECT share_after_3y FROM landmarks WHERE arm = 'control' AND "
                             "endpoint = '%s'",
                             ep);
        ck_assert(ms_surv_data_events(one_ref, 0) > 0 ? late == 0 : isnan(late));
        ms_surv_curve_free(&km_ref);
        ms_surv_curve_free(&km_arm);
        ms_surv_data_destroy(one_ref);
        ms_surv_data_destroy(one_arm);
        ms_surv_data_destroy(two);
        free(theta);
    }
    /* The treated arm's drug delays the events; a patient's two arms are so alike (the same
     * tumour up to surgery) that the paired standard error is the smaller (here 31 against 50
     * days). */
    ck_assert_double_lt(queryf(db, "SELECT hr FROM tests WHERE arm = 'treated' AND endpoint = "
                                   "'os'"),
                        1);
    ck_assert_double_gt(queryf(db, "SELECT rmst_gain_se FROM paired WHERE endpoint = 'os'"), 0);
    ck_assert_double_lt(queryf(db, "SELECT rmst_gain_se FROM paired WHERE endpoint = 'os'"),
                        queryf(db, "SELECT rmst_diff_se FROM tests WHERE endpoint = 'os' AND arm "
                                   "= 'treated'"));
    /* The first relapses: one row per arm and site, and per arm and cause (the six of
     * docs/clinic.md), counting the clinical rows; shares of the arm's first relapses. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM relapse_sites"), 2 * 2);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM relapse_causes"), 2 * 6);
    const char *const tables[2][2] = {{"relapse_sites", "site"}, {"relapse_causes", "cause"}};
    for (int t = 0; t < 2; t++) {
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM %s x WHERE n != (SELECT count(*) FROM "
                                   "clinical c WHERE c.arm = x.arm AND c.relapse IS NOT NULL "
                                   "AND c.relapse_%s = x.%s)",
                                   tables[t][0], tables[t][1], tables[t][1]),
                            0);
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM (SELECT arm, sum(n) AS n, sum(share) "
                                   "AS s FROM %s GROUP BY arm) x WHERE abs(s - 1) > 1e-12 OR n "
                                   "!= (SELECT count(*) FROM clinical c WHERE c.arm = x.arm AND "
                                   "c.relapse IS NOT NULL)",
                                   tables[t][0]),
                            0);
    }
    ck_assert_double_gt(queryf(db, "SELECT n FROM relapse_sites WHERE arm = 'control' AND site "
                                   "= 'm'"),
                        10);
    /* The relapse_<site> endpoints count the same events. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM relapse_sites x WHERE n != (SELECT "
                                   "sum(status) FROM endpoints e WHERE e.arm = x.arm AND "
                                   "e.endpoint = 'relapse_' || x.site)"),
                        0);
    sqlite3_close(db);
    /* The summary names every endpoint and arm. */
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_open(o.path, &r), 0);
    char *text = NULL;
    ck_assert_int_eq(metasim_results_summary(r, &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "screening: 40 patients"));
    ck_assert_ptr_nonnull(strstr(text, "drfs     treated"));
    ck_assert_ptr_nonnull(strstr(text, "paired effects"));
    ck_assert_ptr_nonnull(strstr(text, "pfs      treated"));
    ck_assert_ptr_nonnull(strstr(text, "unpaired +"));
    ck_assert_ptr_nonnull(strstr(text, "paired +"));
    ck_assert_ptr_nonnull(strstr(text, "first relapse by site"));
    ck_assert_ptr_nonnull(strstr(text, "first relapse by cause"));
    ck_assert_ptr_null(strstr(text, "relapse_m")); /* the cause-specific rows stay in tables */
    metasim_free(text);
    char *value = NULL;
    ck_assert_int_eq(metasim_results_meta(r, "patients", &value), 0);
    ck_assert_str_eq(value, "40");
    metasim_free(value);
    ck_assert_int_eq(metasim_results_meta(r, "no such key", &value), METASIM_E_ARG);
    metasim_results_close(r, NULL);
    metasim_model_destroy(m);
}
END_TEST

/* In a varying cohort each patient runs its own model, which goes with its simulation before
 * the writer thread writes the patient: the record keeps its own copies of the site names
 * (a use after free that the sanitizer build catches, and the rows below otherwise). */
START_TEST(test_cohort_rows)
{
    make_tmpdir();
    char text[4096];
    snprintf(text, sizeof text, "%s%s", scenario,
             "cohort:\n  parameters:\n    - {path: sites.m.death.cycling, distribution: uniform,"
             " lower: 0.05 /d, upper: 0.15 /d}\n");
    metasim_model_t *m = NULL;
    ck_assert_msg(metasim_model_load_string("c.yaml", text, strlen(text), &m) == 0, "%s",
                  metasim_model_errmsg(m));
    ck_assert_int_eq(metasim_model_cohort_varies(m), 1);
    metasim_trial_options_t o = options(in_tmp("c.db"), 2);
    run(m, &o);
    sqlite3 *db = open_db(o.path);
    ck_assert_double_gt(queryf(db, "SELECT count(*) FROM lesions WHERE site = 'm'"), 0);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM lesions WHERE site NOT IN ('p', 'm')"), 0);
    ck_assert_double_gt(queryf(db, "SELECT count(*) FROM clinical WHERE relapse_site = 'm'"), 0);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM clinical WHERE relapse IS NOT NULL AND "
                                   "relapse_site NOT IN ('p', 'm')"),
                        0);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM clinical c JOIN endpoints e USING "
                                   "(patient, arm) WHERE e.endpoint = 'relapse_m' AND e.status "
                                   "!= (c.relapse_site IS 'm')"),
                        0);
    sqlite3_close(db);
    metasim_model_destroy(m);
}
END_TEST

/* What each patient was given and each clone's karyotype: a cohort with subtypes (one of them
 * changes the missegregation rate) and a lognormal division rate, with two chromosomes of which
 * the founders carry 2 and 3 copies. Every patient's screening row names its subtype and its
 * parameter rows are its own model's values, exactly, in order; the clones' karyotypes are
 * copy-number lists in the chromosomes' order (meta `chromosomes`), the founders' for clone 0,
 * and with the loci they tell the clones of a patient's arm apart, as the engine does. The
 * rows do not depend on the threads, and merged shards give the same digest. */
static const char values_section[] =
    "karyotype:\n"
    "  chromosomes: {c1: {}, c2: {copies: 3}}\n"
    "  missegregation: 0.01 %\n"
    "  max_copies: 4\n"
    "cohort:\n"
    "  subtypes:\n"
    "    unstable: {share: 50 %}\n"
    "    stable: {share: 50 %, parameters: [{path: karyotype.missegregation, value: 0.001 %}]}\n"
    "  parameters:\n"
    "    - {path: sites.p.division.cycling, distribution: lognormal, cv: 10 %}\n";

START_TEST(test_patient_values_and_karyotypes)
{
    make_tmpdir();
    char text[4096];
    snprintf(text, sizeof text, "%s%s", scenario, values_section);
    metasim_model_t *m = NULL;
    ck_assert_msg(metasim_model_load_string("v.yaml", text, strlen(text), &m) == 0, "%s",
                  metasim_model_errmsg(m));
    ck_assert_uint_eq(metasim_model_chromosome_count(m), 2);
    metasim_trial_options_t o = options(in_tmp("v1.db"), 1);
    char one[METASIM_DIGEST_SIZE];
    snprintf(one, sizeof one, "%s", run(m, &o));
    o = options(in_tmp("v2.db"), 2);
    ck_assert_str_eq(run(m, &o), one);
    o = options(in_tmp("v4.db"), 4);
    ck_assert_str_eq(run(m, &o), one);
    const char *shards[2] = {in_tmp("v-s0.db"), in_tmp("v-s1.db")};
    for (unsigned i = 0; i < 2; i++) {
        o = options(shards[i], 2);
        o.shard = i;
        o.shards = 2;
        run(m, &o);
    }
    char *message = NULL;
    int rc = metasim_results_merge(in_tmp("v-merged.db"), shards, 2, 0, "merge", &message);
    ck_assert_msg(rc == 0, "%s", message ? message : "");
    check_digest(in_tmp("v-merged.db"), one);

    sqlite3 *db = open_db(in_tmp("v2.db"));
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT path, value, unit FROM parameters WHERE patient = "
                                        "?1 ORDER BY rowid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t stable = 0;
    for (unsigned p = 0; p < PATIENTS; p++) {
        metasim_model_t *own = NULL;
        ck_assert_int_eq(metasim_model_patient(m, SEED, p, &own), 0);
        const char *subtype = metasim_model_patient_subtype(own);
        ck_assert_ptr_nonnull(subtype);
        stable += strcmp(subtype, "stable") == 0;
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM screening WHERE patient = %u AND "
                                   "subtype = '%s'",
                                   p, subtype),
                            1);
        /* The subtype's value first (stable only), then the drawn division rate. */
        size_t n = metasim_model_covariate_count(own);
        ck_assert_uint_eq(n, strcmp(subtype, "stable") == 0 ? 2 : 1);
        sqlite3_bind_int64(st, 1, p);
        size_t k = 0;
        for (; sqlite3_step(st) == SQLITE_ROW; k++) {
            metasim_covariate_t c;
            ck_assert_int_eq(metasim_model_covariate(own, k, &c), 0);
            ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), c.path);
            ck_assert_double_eq(sqlite3_column_double(st, 1), c.value); /* to the bit */
            ck_assert_str_eq((const char *)sqlite3_column_text(st, 2), c.unit);
        }
        sqlite3_reset(st);
        ck_assert_uint_eq(k, n);
        metasim_model_destroy(own);
    }
    sqlite3_finalize(st);
    ck_assert_uint_gt(stable, 0);
    ck_assert_uint_lt(stable, PATIENTS);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM parameters WHERE path = "
                                   "'sites.p.division.cycling' AND unit = '/d'"),
                        PATIENTS);
    ck_assert_double_gt(queryf(db, "SELECT sum(enrolled) FROM screening"), 0);

    /* Karyotypes. The founders' copies, as a simulation gives them before it runs. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM meta WHERE key = 'chromosomes' AND "
                                   "value = 'c1,c2'"),
                        1);
    metasim_sim_options_t so = {.seed = SEED, .patient = 0};
    metasim_sim_t *sim = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &so, &sim), 0);
    metasim_clone_info_t founder;
    ck_assert_int_eq(metasim_sim_clone_info(sim, 0, &founder), 0);
    ck_assert_ptr_nonnull(founder.copies);
    char founders[32];
    snprintf(founders, sizeof founders, "%u,%u", founder.copies[0], founder.copies[1]);
    ck_assert_str_eq(founders, "2,3");
    metasim_sim_destroy(sim);
    ck_assert_double_eq(queryf(db,
                               "SELECT count(*) FROM clones WHERE clone = 0 AND karyotype = "
                               "'%s'",
                               founders),
                        queryf(db, "SELECT count(*) FROM patients"));
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM clones WHERE karyotype IS NULL"), 0);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT karyotype FROM clones", -1, &st, NULL),
                     SQLITE_OK);
    size_t clones = 0, aneuploid = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *karyotype = (const char *)sqlite3_column_text(st, 0);
        unsigned a = 0, b = 0;
        int used = 0;
        ck_assert_msg(sscanf(karyotype, "%u,%u%n", &a, &b, &used) == 2 && karyotype[used] == '\0',
                      "karyotype '%s'", karyotype);
        ck_assert_msg(a >= 1 && a <= 4 && b >= 1 && b <= 4, "karyotype '%s'", karyotype);
        clones++;
        aneuploid += a != 2 || b != 3;
    }
    sqlite3_finalize(st);
    ck_assert_uint_gt(aneuploid, 0);
    ck_assert_uint_gt(clones, aneuploid);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM (SELECT count(*) AS n FROM clones GROUP "
                                   "BY patient, arm, loci, karyotype) WHERE n > 1"),
                        0);
    sqlite3_close(db);
    /* Merged shards hold every patient's values once. */
    db = open_db(in_tmp("v-merged.db"));
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM parameters"), PATIENTS + (double)stable);
    ck_assert_double_eq(queryf(db, "SELECT count(DISTINCT patient) FROM parameters"), PATIENTS);
    sqlite3_close(db);
    metasim_model_destroy(m);
}
END_TEST

/* A database changed after it was written no longer matches its recorded digest. */
START_TEST(test_digest_detects_changes)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_trial_options_t o = options(in_tmp("d.db"), 1);
    o.patients = 8;
    char digest[METASIM_DIGEST_SIZE];
    snprintf(digest, sizeof digest, "%s", run(m, &o));
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(o.path, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(db, "UPDATE events SET time = time + 1e-9 WHERE rowid = 3", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_open(o.path, &r), 0);
    char again[METASIM_DIGEST_SIZE];
    ck_assert_int_eq(metasim_results_digest(r, again), METASIM_E_IO);
    ck_assert_str_ne(again, digest);
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), "changed or damaged"));
    metasim_results_close(r, NULL);
    metasim_model_destroy(m);
}
END_TEST

/* Inclusion criteria (trial.inclusion): a patient who fails one at the point of assignment is
 * screened out with the criterion, and followed untreated, without an arm. Detection near 3e9
 * cells with a spread puts some primaries above 2 cm (T2): only T1 is enrolled here (and the
 * lethal burden is raised above the detection sizes). */
START_TEST(test_inclusion_criteria)
{
    make_tmpdir();
    char text[sizeof scenario + 256];
    const char *arms = strstr(scenario, "arms:");
    ck_assert_ptr_nonnull(arms);
    int n = snprintf(text, sizeof text, "%.*s", (int)(arms - scenario), scenario);
    snprintf(text + n, sizeof text - (size_t)n, "trial: {inclusion: {t_stages: [1]}}\n%s", arms);
    char *at = strstr(text, "detection_cells: 1e7");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "detection_cells: 3e9", 20);
    at = strstr(text, "lethal_cells: 1e10");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "lethal_cells: 1e11", 18);
    at = strstr(text, "clinic: {");
    char fixed[sizeof text + 64];
    snprintf(fixed, sizeof fixed, "%.*sclinic: {detection_spread: 0.5, %s", (int)(at - text), text,
             at + strlen("clinic: {"));
    metasim_model_t *m = NULL;
    ck_assert_msg(metasim_model_load_string("inc.yaml", fixed, strlen(fixed), &m) == 0, "%s",
                  metasim_model_errmsg(m));
    metasim_trial_options_t o = options(in_tmp("inc.db"), 2);
    run(m, &o);
    sqlite3 *db = open_db(o.path);
    double ineligible = queryf(db, "SELECT count(*) FROM screening WHERE reason = 'ineligible: "
                                   "T stage'");
    ck_assert_double_gt(ineligible, 0);
    ck_assert_double_gt(queryf(db, "SELECT sum(enrolled) FROM screening"), 0);
    /* Screened out: no arm, a T stage other than 1, followed to the horizon or death. */
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM patients p JOIN screening s USING "
                                   "(patient) JOIN clinical c USING (patient) WHERE s.reason = "
                                   "'ineligible: T stage' AND p.arm IS NULL AND c.t_stage != 1 "
                                   "AND (p.end_time = 600 OR c.death = p.end_time)"),
                        ineligible);
    ck_assert_double_eq(queryf(db, "SELECT count(*) FROM clinical WHERE arm IS NOT NULL AND "
                                   "t_stage != 1"),
                        0);
    sqlite3_close(db);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_bad_options)
{
    make_tmpdir();
    metasim_model_t *m = load();
    char *message = NULL;
    metasim_trial_options_t o = options(in_tmp("b.db"), 1);
    o.patients = 0;
    ck_assert_int_eq(metasim_trial_run(m, &o, NULL, &message), METASIM_E_ARG);
    ck_assert_ptr_nonnull(strstr(message, "at least one patient"));
    metasim_free(message);
    o = options(in_tmp("b.db"), 1);
    o.shard = 3;
    o.shards = 2;
    ck_assert_int_eq(metasim_trial_run(m, &o, NULL, &message), METASIM_E_ARG);
    ck_assert_ptr_nonnull(strstr(message, "shard"));
    metasim_free(message);
    o = options(NULL, 1);
    ck_assert_int_eq(metasim_trial_run(m, &o, NULL, &message), METASIM_E_ARG);
    metasim_free(message);
    o = options(in_tmp("b.db"), 1);
    o.design = METASIM_DESIGN_RANDOMISED;
    const double bad[2] = {1, 0};
    o.allocation = bad;
    ck_assert_int_eq(metasim_trial_run(m, &o, NULL, &message), METASIM_E_ARG);
    ck_assert_ptr_nonnull(strstr(message, "allocation weight 2"));
    metasim_free(message);
    ck_assert_int_eq(metasim_trial_run(m, NULL, NULL, NULL), METASIM_E_ARG);
    /* A scenario without arms has nothing to compare. */
    static const char plain[] = "scenario: {name: plain}\ntime: {horizon: 10 d}\n"
                                "sites: {t: {division: {cycling: 0.2}, death: {cycling: 0.1}}}\n"
                                "primary: {site: t}\n";
    metasim_model_t *p = NULL;
    ck_assert_int_eq(metasim_model_load_string("plain.yaml", plain, strlen(plain), &p), 0);
    o = options(in_tmp("b.db"), 1);
    ck_assert_int_eq(metasim_trial_run(p, &o, NULL, &message), METASIM_E_ARG);
    ck_assert_ptr_nonnull(strstr(message, "no arms"));
    metasim_free(message);
    metasim_model_destroy(p);
    /* An existing file is refused without overwrite, and left alone. */
    o = options(in_tmp("b.db"), 1);
    o.patients = 2;
    run(m, &o);
    ck_assert_int_eq(metasim_trial_run(m, &o, NULL, &message), METASIM_E_EXISTS);
    ck_assert_ptr_nonnull(strstr(message, "exists"));
    metasim_free(message);
    ck_assert(!exists(in_tmp("b.db.partial")));
    o.overwrite = 1;
    run(m, &o);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("trial");
    TCase *tc = tcase_create("trial");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_threads_give_equal_digests);
    tcase_add_test(tc, test_paired_rows);
    tcase_add_test(tc, test_cohort_rows);
    tcase_add_test(tc, test_patient_values_and_karyotypes);
    tcase_add_test(tc, test_shards_merge_to_the_same_digest);
    tcase_add_test(tc, test_stop_and_resume);
    tcase_add_test(tc, test_killed_and_resumed);
    tcase_add_test(tc, test_randomised);
    tcase_add_test(tc, test_merge_refusals);
    tcase_add_test(tc, test_statistics_match_survival);
    tcase_add_test(tc, test_digest_detects_changes);
    tcase_add_test(tc, test_inclusion_criteria);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}
