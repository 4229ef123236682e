/*
 * The results database (docs/results.md): an SQLite file with provenance, the arms, per patient
 * its screening (in a trial), subtype and parameter values, per (patient, arm) the cascade
 * totals, seeding graph, clone lineage with karyotypes, timeline events, time series with
 * explicit zeros, drug exposures, clinical course and survival endpoints, and the trial
 * statistics computed at close (results_stats.c).
 * results_export.c writes CSV and Newick, results_merge.c merges shards and computes digests.
 *
 * Writing: the database is built in PATH.partial and renamed to PATH when it is finished, so
 * PATH never holds a half-written file. Each patient is one transaction of prepared inserts,
 * written from a record (patient_record_internal.h) that buffered the patient's rows while it
 * was simulated. The partial file is in WAL mode, so that a run killed at any moment leaves
 * every committed patient intact for a resume (ms_results_resume()); commits are not synced
 * (a killed process loses nothing the kernel has; only a crash of the machine can lose the
 * last patients, which a resume then simply simulates again). The finished file is switched
 * back to a rollback journal, so it is one self-contained file.
 *
 * Indexes are made at close, when the rows are in, except the unique key of `patients`, which
 * refuses a (patient, arm) added twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/results_internal.h"
#include "model/model_internal.h"

/* "MSM1" in ASCII, so that file(1) can tell metasim results apart. */
#define APPLICATION_ID 1297304881

/* Every table. Types are declared so that R (RSQLite) and pandas read columns with the right
 * class; tables are not STRICT so that SQLite before 3.37 still reads the file. */
static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);\n"
    "CREATE TABLE arms(arm TEXT PRIMARY KEY, number INTEGER NOT NULL, allocation REAL);\n"
    "CREATE TABLE screening(patient INTEGER PRIMARY KEY, enrolled INTEGER, reason TEXT,"
    " subtype TEXT);\n"
    "CREATE TABLE parameters(patient INTEGER NOT NULL, path TEXT NOT NULL, value REAL NOT NULL,"
    " unit TEXT NOT NULL);\n"
    "CREATE TABLE patients(patient INTEGER NOT NULL, arm TEXT, stop_reason TEXT NOT NULL,"
    " end_time REAL NOT NULL, cells REAL NOT NULL, shed INTEGER NOT NULL, lost INTEGER NOT NULL,"
    " colonised INTEGER NOT NULL, self_seeded INTEGER NOT NULL, lesions INTEGER NOT NULL);\n"
    "CREATE UNIQUE INDEX patients_key ON patients(patient, ifnull(arm, ''));\n"
    "CREATE TABLE lesions(patient INTEGER NOT NULL, arm TEXT, lesion INTEGER NOT NULL,"
    " site TEXT NOT NULL, parent INTEGER, founded REAL NOT NULL, founder_clone INTEGER NOT NULL,"
    " final_cells REAL NOT NULL);\n"
    "CREATE TABLE clones(patient INTEGER NOT NULL, arm TEXT, clone INTEGER NOT NULL,"
    " parent INTEGER, born REAL NOT NULL, origin_lesion INTEGER NOT NULL, loci TEXT NOT NULL,"
    " karyotype TEXT);\n"
    "CREATE TABLE events(patient INTEGER NOT NULL, arm TEXT, time REAL NOT NULL,"
    " kind TEXT NOT NULL, lesion INTEGER, clone INTEGER, site TEXT, detail TEXT, value REAL);\n"
    "CREATE TABLE samples(patient INTEGER NOT NULL, arm TEXT, time REAL NOT NULL,"
    " lesion INTEGER NOT NULL, site TEXT NOT NULL, clone INTEGER NOT NULL, state TEXT NOT NULL,"
    " cells REAL NOT NULL);\n"
    "CREATE TABLE exposures(patient INTEGER NOT NULL, arm TEXT, time REAL NOT NULL,"
    " drug TEXT NOT NULL, concentration REAL NOT NULL, effect INTEGER, target TEXT,"
    " value REAL);\n"
    "CREATE TABLE clinical(patient INTEGER NOT NULL, arm TEXT, diagnosis REAL, t_stage INTEGER,"
    " n_stage INTEGER, m_stage INTEGER, primary_diameter REAL, surgery REAL, relapse REAL,"
    " relapse_local INTEGER NOT NULL, relapse_distant INTEGER NOT NULL, relapse_site TEXT,"
    " death REAL, progression REAL, relapse_cause TEXT, assigned REAL, treatment REAL);\n"
    "CREATE TABLE endpoints(patient INTEGER NOT NULL, arm TEXT, endpoint TEXT NOT NULL,"
    " time REAL NOT NULL, status INTEGER NOT NULL);\n"
    "CREATE TABLE km(arm TEXT NOT NULL, endpoint TEXT NOT NULL, transform TEXT NOT NULL,"
    " time REAL NOT NULL, n_risk INTEGER NOT NULL, n_event INTEGER NOT NULL,"
    " n_censor INTEGER NOT NULL, surv REAL NOT NULL, lower REAL, upper REAL);\n"
    "CREATE TABLE tests(endpoint TEXT NOT NULL, arm TEXT NOT NULL, reference_arm TEXT,"
    " n INTEGER NOT NULL, events INTEGER NOT NULL, median REAL, median_lower REAL,"
    " median_upper REAL, hr REAL, hr_lower REAL, hr_upper REAL, hr_p REAL, logrank_chisq REAL,"
    " logrank_p REAL, rmst REAL, rmst_diff REAL, rmst_diff_se REAL, rmst_diff_lower REAL,"
    " rmst_diff_upper REAL, tau REAL);\n"
    "CREATE TABLE paired(endpoint TEXT NOT NULL, arm TEXT NOT NULL, reference_arm TEXT NOT NULL,"
    " n INTEGER NOT NULL, share_gain REAL, share_loss REAL, mean_gain REAL, median_gain REAL,"
    " gain_q10 REAL, gain_q90 REAL, rmst_gain REAL, rmst_gain_se REAL, rmst_gain_lower REAL,"
    " rmst_gain_upper REAL);\n"
    "CREATE TABLE landmarks(arm TEXT NOT NULL, endpoint TEXT NOT NULL, share_after_3y REAL,"
    " share_after_5y REAL, share_after_10y REAL);\n"
    "CREATE TABLE relapse_sites(arm TEXT NOT NULL, site TEXT NOT NULL, n INTEGER NOT NULL,"
    " share REAL);\n"
    "CREATE TABLE relapse_causes(arm TEXT NOT NULL, cause TEXT NOT NULL, n INTEGER NOT NULL,"
    " share REAL);\n";

/* Made at close, when the rows are in: lookups by patient and arm, and the export's order. */
static const char index_sql[] =
    "CREATE INDEX parameters_key ON parameters(patient);\n"
    "CREATE INDEX lesions_key ON lesions(patient, arm, lesion);\n"
    "CREATE INDEX clones_key ON clones(patient, arm, clone);\n"
    "CREATE INDEX events_key ON events(patient, arm, time);\n"
    "CREATE INDEX samples_key ON samples(patient, arm, time);\n"
    "CREATE INDEX exposures_key ON exposures(patient, arm, time);\n"
    "CREATE INDEX clinical_key ON clinical(patient, arm);\n"
    "CREATE INDEX endpoints_key ON endpoints(patient, arm);\n"
    "CREATE INDEX endpoints_by_endpoint ON endpoints(endpoint, patient);\n";

static const char *const statement_sql[N_ST] = {
    "INSERT INTO samples VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    "INSERT INTO events VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    "INSERT INTO patients VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    "INSERT INTO lesions VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    "INSERT INTO clones VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    ("INSERT INTO clinical VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
     " ?15, ?16, ?17)"),
    "INSERT INTO endpoints VALUES(?1, ?2, ?3, ?4, ?5)",
    "INSERT INTO screening VALUES(?1, ?2, ?3, ?4)",
    "INSERT INTO exposures VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* A patient outside a trial: not screened; its row is made by its first unit. */
    "INSERT OR IGNORE INTO screening VALUES(?1, NULL, NULL, ?2)",
    "INSERT INTO parameters VALUES(?1, ?2, ?3, ?4)",
};

/* ------------------------------------------------------------ messages */

__attribute__((format(printf, 2, 0))) static void set_message(metasim_results_t *r, const char *fmt,
                                                              va_list ap)
{
    ms_strbuf_free(&r->err);
    ms_strbuf_printf(&r->err, "%s: ", r->path ? r->path : "results");
    ms_strbuf_vprintf(&r->err, fmt, ap);
}

int ms_results_error(metasim_results_t *r, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(r, fmt, ap);
    va_end(ap);
    return rc;
}

int ms_results_fail(metasim_results_t *r, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(r, fmt, ap);
    va_end(ap);
    if (r->failed == 0)
        r->failed = rc;
    return r->failed;
}

int ms_results_db_fail(metasim_results_t *r, int sqlite_rc, const char *what)
{
    int rc = sqlite_rc == SQLITE_NOMEM ? METASIM_E_NOMEM : METASIM_E_IO;
    return ms_results_fail(r, rc, "%s: %s", what,
                           r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(sqlite_rc));
}

const char *metasim_results_errmsg(const metasim_results_t *r)
{
    return r ? ms_strbuf_str(&r->err) : "";
}

double ms_results_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------ statements */

int ms_results_exec(metasim_results_t *r, const char *sql, const char *what)
{
    int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : ms_results_db_fail(r, rc, what);
}

int ms_results_begin(metasim_results_t *r)
{
    if (r->in_txn)
        return 0;
    int rc = ms_results_exec(r, "BEGIN", "starting a transaction");
    r->in_txn = rc == 0;
    return rc;
}

int ms_results_commit(metasim_results_t *r)
{
    if (!r->in_txn)
        return 0;
    r->in_txn = false;
    return ms_results_exec(r, "COMMIT", "committing");
}

/* Runs a bound insert and resets it; `bound` is the OR of the bind calls' results. */
static int run(metasim_results_t *r, int which, int bound, const char *what)
{
    sqlite3_stmt *st = r->st[which];
    int rc = bound == SQLITE_OK ? sqlite3_step(st) : bound;
    int out = rc == SQLITE_DONE ? 0 : ms_results_db_fail(r, rc, what);
    sqlite3_reset(st);
    return out;
}

static int bind_int(sqlite3_stmt *st, int i, long long v)
{
    return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/* Counts that could pass 2^63 are stored as REAL beyond it rather than wrapped. */
static int bind_count(sqlite3_stmt *st, int i, unsigned long long v)
{
    return v <= (unsigned long long)INT64_MAX ? sqlite3_bind_int64(st, i, (sqlite3_int64)v)
                                              : sqlite3_bind_double(st, i, (double)v);
}

/* NaN (a time that has not come) is NULL. */
static int bind_real(sqlite3_stmt *st, int i, double v)
{
    return isnan(v) ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

/* The text is read by the step that follows, before the caller's string can change. */
static int bind_text(sqlite3_stmt *st, int i, const char *text)
{
    return sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

/* NULL and "" are NULL. */
static int bind_text_or_null(sqlite3_stmt *st, int i, const char *text)
{
    return text && *text ? bind_text(st, i, text) : sqlite3_bind_null(st, i);
}

/* ------------------------------------------------------------ handles */

static void release_db(metasim_results_t *r)
{
    for (int i = 0; i < N_ST; i++) {
        sqlite3_finalize(r->st[i]);
        r->st[i] = NULL;
    }
    if (r->db)
        sqlite3_close_v2(r->db);
    r->db = NULL;
    r->in_txn = false;
}

/* Removes `partial` and the journals SQLite may have left next to it. */
static void remove_partial(const char *partial)
{
    const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char *name = ms_results_concat(partial, suffixes[i]);
        if (name)
            unlink(name);
        free(name);
    }
}

/* Closes the database and removes the partial file (nothing of it is left). */
static void abandon(metasim_results_t *r)
{
    release_db(r);
    if (r->partial) {
        remove_partial(r->partial);
        free(r->partial);
        r->partial = NULL;
    }
}

static void release(metasim_results_t *r)
{
    abandon(r);
    free(r->path);
    free(r->arm_names);
    if (r->relapse_endpoints)
        for (size_t k = 0; k < r->n_sites; k++)
            free(r->relapse_endpoints[k]);
    free(r->relapse_endpoints);
    ms_record_free(&r->rec);
    ms_strbuf_free(&r->err);
    free(r);
}

void metasim_results_discard(metasim_results_t *r)
{
    if (r)
        release(r);
}

char *ms_results_concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (s) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return s;
}

metasim_results_t *ms_results_new_handle(const char *path)
{
    metasim_results_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    ms_record_init(&r->rec);
    r->path = ms_results_concat(path ? path : "", "");
    if (!r->path) {
        free(r);
        return NULL;
    }
    r->started = ms_results_now();
    return r;
}

/* ------------------------------------------------------------ meta */

int ms_results_get_meta(metasim_results_t *r, const char *key, char **value)
{
    *value = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(r->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 1, key);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int out = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (out == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *value = ms_results_concat((const char *)sqlite3_column_text(st, 0), "");
        if (!*value)
            out = ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    }
    if (out == -1)
        out = ms_results_error(r, rc == SQLITE_NOMEM ? METASIM_E_NOMEM : METASIM_E_IO,
                               "cannot read meta: %s", sqlite3_errmsg(r->db));
    sqlite3_finalize(st);
    return out;
}

int ms_results_set_meta(metasim_results_t *r, const char *key, const char *value)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(r->db, "INSERT OR REPLACE INTO meta VALUES(?1, ?2)", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 1, key) | bind_text_or_null(st, 2, value);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ms_results_db_fail(r, rc, "writing the provenance");
}

int metasim_results_meta(metasim_results_t *r, const char *key, char **value)
{
    if (!r || !key || !value)
        return METASIM_E_ARG;
    *value = NULL;
    if (!r->db)
        return ms_results_error(r, METASIM_E_STATE, "not open");
    int rc = ms_results_get_meta(r, key, value);
    if (rc == 0)
        return ms_results_error(r, METASIM_E_ARG, "meta has no key '%s'", key);
    return rc < 0 ? rc : 0;
}

static void utc_now(char out[32])
{
    out[0] = '\0';
    time_t now = time(NULL);
    struct tm utc;
    if (now != (time_t)-1 && gmtime_r(&now, &utc))
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &utc);
}

/* ------------------------------------------------------------ creating */

/* The names of the model's arms, by number, and the endpoint of first relapse at each site,
 * `relapse_<site>`. The public API names arms only by number (metasim_model_arm()) and has no
 * sites, so they come from the frozen model itself. */
static int load_arm_names(metasim_results_t *r)
{
    r->n_arms = r->model->n_arms;
    r->n_sites = r->model->n_sites;
    if (r->n_arms > 0 && !(r->arm_names = calloc(r->n_arms, sizeof *r->arm_names)))
        return ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    for (size_t k = 0; k < r->n_arms; k++)
        r->arm_names[k] = r->model->arms[k].name;
    if (r->n_sites > 0 && !(r->relapse_endpoints = calloc(r->n_sites, sizeof(char *))))
        return ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    for (size_t k = 0; k < r->n_sites; k++)
        if (!(r->relapse_endpoints[k] = ms_results_concat("relapse_", r->model->sites[k].name)))
            return ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    return 0;
}

int ms_results_create_partial(metasim_results_t *r)
{
    struct stat st;
    if (stat(r->path, &st) == 0 && S_ISDIR(st.st_mode))
        return ms_results_fail(r, METASIM_E_IO, "is a directory");
    if (!r->overwrite && lstat(r->path, &st) == 0)
        return ms_results_fail(r, METASIM_E_EXISTS, "exists");
    char *partial = ms_results_concat(r->path, ".partial");
    if (!partial)
        return ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    /* A stale partial file is the leftover of a crashed run: replace it, journals included
     * (SQLite would otherwise replay a stale WAL into the new file). Creating the file here
     * rather than in SQLite gives the system's reason when it cannot be made. */
    if (lstat(partial, &st) == 0 && unlink(partial) != 0) {
        int rc = ms_results_fail(r, METASIM_E_IO, "cannot remove the stale %s: %s", partial,
                                 strerror(errno));
        free(partial);
        return rc;
    }
    remove_partial(partial);
    int fd = open(partial, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) {
        int rc = ms_results_fail(r, METASIM_E_IO, "cannot create %s: %s", partial, strerror(errno));
        free(partial);
        return rc;
    }
    close(fd);
    r->partial = partial;
    r->writing = true;
    int rc = sqlite3_open_v2(partial, &r->db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK)
        return ms_results_db_fail(r, rc, "cannot open the new database");
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;"
             " PRAGMA synchronous = NORMAL; PRAGMA application_id = %d; PRAGMA user_version = %d",
             APPLICATION_ID, MS_RESULTS_SCHEMA_VERSION);
    rc = ms_results_exec(r, pragmas, "setting up");
    if (rc == 0)
        rc = ms_results_begin(r);
    if (rc == 0)
        rc = ms_results_exec(r, schema_sql, "creating the tables");
    return rc;
}

int ms_results_prepare(metasim_results_t *r)
{
    for (int i = 0; i < N_ST; i++) {
        int prc = sqlite3_prepare_v3(r->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                     &r->st[i], NULL);
        if (prc != SQLITE_OK)
            return ms_results_db_fail(r, prc, "preparing statements");
    }
    return 0;
}

/* Records the provenance and the arms. */
static int write_header(metasim_results_t *r, const char *command_line, unsigned long long seed,
                        const ms_trial_info *info)
{
    char version[16], seed_text[32], created[32], patients[16] = "", shard[32] = "",
                                                  series[16] = "";
    snprintf(version, sizeof version, "%d", MS_RESULTS_SCHEMA_VERSION);
    snprintf(seed_text, sizeof seed_text, "%llu", seed);
    utc_now(created);
    if (info) {
        snprintf(patients, sizeof patients, "%u", info->patients);
        snprintf(shard, sizeof shard, "%u/%u", info->shard, info->shards);
        snprintf(series, sizeof series, "%u", info->series);
    }
    /* The names that clones.karyotype's copy numbers follow, in the same order. Names are
     * letters, digits and underscores, so a comma separates them unambiguously. */
    ms_strbuf chromosomes = {0};
    size_t n_chromosomes = metasim_model_chromosome_count(r->model);
    for (size_t k = 0; k < n_chromosomes; k++)
        ms_strbuf_printf(&chromosomes, "%s%s", k ? "," : "",
                         metasim_model_chromosome_name(r->model, k));
    if (ms_strbuf_failed(&chromosomes)) {
        ms_strbuf_free(&chromosomes);
        return ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    }
    const char *const rows[][2] = {
        {"schema_version", version},
        {"metasim_version", metasim_version()},
        {"created", created},
        {"command_line", command_line},
        {"seed", seed_text},
        {"scenario_name", metasim_model_name(r->model)},
        {"scenario", metasim_model_source(r->model)},
        {"design", info ? info->design : "single"},
        {"patients", patients},
        {"shard", shard},
        {"series", series},
        {"chromosomes", n_chromosomes ? ms_strbuf_str(&chromosomes) : NULL},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && rc == 0; i++)
        rc = ms_results_set_meta(r, rows[i][0], rows[i][1]);
    ms_strbuf_free(&chromosomes);
    sqlite3_stmt *st = NULL;
    if (rc == 0) {
        int prc = sqlite3_prepare_v2(r->db, "INSERT INTO arms VALUES(?1, ?2, ?3)", -1, &st, NULL);
        if (prc != SQLITE_OK)
            rc = ms_results_db_fail(r, prc, "writing the arms");
    }
    for (size_t k = 0; k < r->n_arms && rc == 0; k++) {
        int bound = bind_text(st, 1, r->arm_names[k]) | bind_int(st, 2, (long long)k + 1) |
                    (info && info->allocation ? sqlite3_bind_double(st, 3, info->allocation[k])
                                              : sqlite3_bind_null(st, 3));
        int src = bound == SQLITE_OK ? sqlite3_step(st) : bound;
        if (src != SQLITE_DONE)
            rc = ms_results_db_fail(r, src, "writing the arms");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == 0)
        rc = ms_results_commit(r);
    return rc;
}

int ms_results_create_trial(const char *path, const metasim_model_t *model,
                            const char *command_line, unsigned long long seed, int overwrite,
                            const ms_trial_info *info, metasim_results_t **results)
{
    if (!results)
        return METASIM_E_ARG;
    metasim_results_t *r = *results = ms_results_new_handle(path);
    if (!r)
        return METASIM_E_NOMEM;
    r->writing = true;
    r->model = model;
    r->overwrite = overwrite;
    if (!path || !*path)
        return ms_results_fail(r, METASIM_E_ARG, "no file name given");
    if (!model || metasim_model_error_count(model) != 0 || !metasim_model_source(model))
        return ms_results_fail(r, METASIM_E_ARG, "the model did not load");
    int rc = load_arm_names(r);
    if (rc == 0)
        rc = ms_results_create_partial(r);
    if (rc == 0)
        rc = write_header(r, command_line, seed, info);
    if (rc == 0)
        rc = ms_results_prepare(r);
    if (rc != 0)
        abandon(r);
    return rc;
}

int metasim_results_create(const char *path, const metasim_model_t *model, const char *command_line,
                           unsigned long long seed, int overwrite, metasim_results_t **results)
{
    return ms_results_create_trial(path, model, command_line, seed, overwrite, NULL, results);
}

/* ------------------------------------------------------------ resuming */

/* Compares meta key `key` with `want`; a mismatch is METASIM_E_INVALID naming the field. */
static int check_meta(metasim_results_t *r, const char *key, const char *want, const char *what)
{
    char *have = NULL;
    int rc = ms_results_get_meta(r, key, &have);
    if (rc < 0)
        return rc;
    bool same = rc == 1 && have && want && strcmp(have, want) == 0;
    if (!same) {
        bool brief = have && want && strlen(have) < 40 && !strchr(have, '\n');
        rc = brief ? ms_results_error(r, METASIM_E_INVALID,
                                      "belongs to another trial: its %s is %s, not %s", what, have,
                                      want)
                   : ms_results_error(r, METASIM_E_INVALID,
                                      "belongs to another trial: its %s differs", what);
    } else {
        rc = 0;
    }
    free(have);
    return rc;
}

/* The arms table must list the model's arms with the same allocation. */
static int check_arms(metasim_results_t *r, const ms_trial_info *info)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(r->db, "SELECT arm, number, allocation FROM arms ORDER BY number",
                                 -1, &st, NULL);
    size_t k = 0;
    int rc = 0;
    while (rc == 0 && src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        src = SQLITE_OK;
        const char *name = (const char *)sqlite3_column_text(st, 0);
        bool null = sqlite3_column_type(st, 2) == SQLITE_NULL;
        double share = sqlite3_column_double(st, 2);
        if (k >= r->n_arms || !name || strcmp(name, r->arm_names[k]) != 0 ||
            sqlite3_column_int64(st, 1) != (long long)k + 1)
            rc =
                ms_results_error(r, METASIM_E_INVALID, "belongs to another trial: its arms differ");
        else if (null != !info->allocation || (!null && share != info->allocation[k]))
            rc = ms_results_error(r, METASIM_E_INVALID,
                                  "belongs to another trial: its allocation differs");
        k++;
    }
    sqlite3_finalize(st);
    if (rc == 0 && src != SQLITE_DONE && src != SQLITE_OK)
        rc = ms_results_error(r, METASIM_E_IO, "cannot read the arms: %s", sqlite3_errmsg(r->db));
    if (rc == 0 && k != r->n_arms)
        rc = ms_results_error(r, METASIM_E_INVALID, "belongs to another trial: its arms differ");
    return rc;
}

/* The patients the partial file holds must be the shard's first `count`. */
static int check_progress(metasim_results_t *r, const ms_trial_info *info, unsigned long long *done)
{
    sqlite3_stmt *st = NULL;
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*), max(patient), sum(patient %% %u != %u) FROM screening", info->shards,
             info->shard);
    int src = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        sqlite3_finalize(st);
        return ms_results_error(r, METASIM_E_IO, "cannot read the screening: %s",
                                sqlite3_errmsg(r->db));
    }
    long long count = sqlite3_column_int64(st, 0), last = sqlite3_column_int64(st, 1),
              stray = sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    if (count > 0 &&
        (stray != 0 || last != (long long)info->shard + (count - 1) * (long long)info->shards ||
         last >= (long long)info->patients))
        return ms_results_error(r, METASIM_E_INVALID,
                                "damaged: its %lld patients are not the first of shard %u/%u",
                                count, info->shard, info->shards);
    *done = (unsigned long long)count;
    return 0;
}

/* 1 when the database has table `name`, 0 when not, or a negative SQLite code. */
static int has_table(sqlite3 *db, const char *name);

int ms_results_resume(const char *path, const metasim_model_t *model, const char *command_line,
                      unsigned long long seed, int overwrite, const ms_trial_info *info,
                      metasim_results_t **results, unsigned long long *done)
{
    if (!results || !done || !info)
        return METASIM_E_ARG;
    *done = 0;
    metasim_results_t *r = *results = ms_results_new_handle(path);
    if (!r)
        return METASIM_E_NOMEM;
    r->model = model;
    r->overwrite = overwrite;
    if (!path || !*path)
        return ms_results_fail(r, METASIM_E_ARG, "no file name given");
    if (!model || metasim_model_error_count(model) != 0 || !metasim_model_source(model))
        return ms_results_fail(r, METASIM_E_ARG, "the model did not load");
    int rc = load_arm_names(r);
    if (rc != 0)
        return rc;
    struct stat st;
    if (!overwrite && lstat(path, &st) == 0)
        return ms_results_error(r, METASIM_E_EXISTS, "exists (the trial is complete)");
    char *partial = ms_results_concat(path, ".partial");
    if (!partial)
        return ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    if (stat(partial, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = ms_results_error(r, METASIM_E_INVALID, "nothing to resume: no %s", partial);
        free(partial);
        return rc;
    }
    int src = sqlite3_open_v2(partial, &r->db, SQLITE_OPEN_READWRITE, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_exec(r->db,
                           "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;"
                           " PRAGMA synchronous = NORMAL",
                           NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        rc = ms_results_error(r, METASIM_E_INVALID, "cannot resume %s: %s", partial,
                              r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(src));
        free(partial);
        release_db(r);
        return rc;
    }
    /* A run killed while it created the file left no header: there is nothing in it to keep,
     * so the trial starts afresh. */
    if (has_table(r->db, "meta") == 0) {
        release_db(r);
        free(partial);
        metasim_results_discard(r);
        return ms_results_create_trial(path, model, command_line, seed, overwrite, info, results);
    }
    r->partial = partial; /* from here on a failure must not remove it: see below */
    char want[32];
    snprintf(want, sizeof want, "%d", MS_RESULTS_SCHEMA_VERSION);
    rc = check_meta(r, "schema_version", want, "schema version");
    if (rc == 0)
        rc = check_meta(r, "scenario", metasim_model_source(model), "scenario text");
    snprintf(want, sizeof want, "%llu", seed);
    if (rc == 0)
        rc = check_meta(r, "seed", want, "seed");
    if (rc == 0)
        rc = check_meta(r, "design", info->design, "design");
    snprintf(want, sizeof want, "%u", info->patients);
    if (rc == 0)
        rc = check_meta(r, "patients", want, "number of patients");
    snprintf(want, sizeof want, "%u/%u", info->shard, info->shards);
    if (rc == 0)
        rc = check_meta(r, "shard", want, "shard");
    snprintf(want, sizeof want, "%u", info->series);
    if (rc == 0)
        rc = check_meta(r, "series", want, "series");
    if (rc == 0)
        rc = check_arms(r, info);
    if (rc == 0)
        rc = check_progress(r, info, done);
    char *elapsed = NULL;
    if (rc == 0 && ms_results_get_meta(r, "elapsed_seconds", &elapsed) == 1 && elapsed)
        r->elapsed_before = strtod(elapsed, NULL);
    free(elapsed);
    if (rc == 0)
        rc = ms_results_prepare(r);
    if (rc != 0) {
        /* The partial file is someone's work: leave it as it was. */
        release_db(r);
        free(r->partial);
        r->partial = NULL;
        if (rc != METASIM_E_INVALID && rc != METASIM_E_NOMEM)
            rc = METASIM_E_INVALID;
        return rc;
    }
    r->writing = true;
    return 0;
}

/* ------------------------------------------------------------ writing records */

static const char *kind_name(metasim_event_kind_t kind)
{
    switch (kind) {
    case METASIM_EVENT_CLONE: return "clone";
    case METASIM_EVENT_EXTINCT: return "extinct";
    case METASIM_EVENT_LESION: return "lesion";
    case METASIM_EVENT_DIAGNOSIS: return "diagnosis";
    case METASIM_EVENT_SURGERY: return "surgery";
    case METASIM_EVENT_RELAPSE: return "relapse";
    case METASIM_EVENT_DEATH: return "death";
    case METASIM_EVENT_BLOOD: return "blood";
    case METASIM_EVENT_THERAPY: return "therapy";
    case METASIM_EVENT_PROGRESSION: return "progression";
    case METASIM_EVENT_DOSE: return "dose";
    }
    return NULL;
}

/* Which columns mean something for each kind of event (docs/results.md); the others are NULL. */
static int write_event(metasim_results_t *r, const ms_record *rec, const char *arm,
                       const ms_rec_event *e)
{
    const char *kind = kind_name(e->kind);
    if (!kind)
        return ms_results_fail(r, METASIM_E_ARG, "patient %u: an event of unknown kind %d",
                               rec->patient, (int)e->kind);
    bool lesion = e->kind == METASIM_EVENT_CLONE || e->kind == METASIM_EVENT_LESION ||
                  e->kind == METASIM_EVENT_DIAGNOSIS || e->kind == METASIM_EVENT_SURGERY ||
                  e->kind == METASIM_EVENT_RELAPSE || e->kind == METASIM_EVENT_PROGRESSION;
    bool clone = e->kind == METASIM_EVENT_CLONE || e->kind == METASIM_EVENT_LESION;
    bool value = e->kind == METASIM_EVENT_BLOOD || e->kind == METASIM_EVENT_SURGERY ||
                 e->kind == METASIM_EVENT_THERAPY || e->kind == METASIM_EVENT_DOSE;
    sqlite3_stmt *st = r->st[ST_EVENT];
    int bound = bind_int(st, 1, rec->patient) | bind_text_or_null(st, 2, arm) |
                bind_real(st, 3, e->time) | bind_text(st, 4, kind) |
                (lesion ? bind_int(st, 5, e->lesion) : sqlite3_bind_null(st, 5)) |
                (clone ? bind_int(st, 6, e->clone) : sqlite3_bind_null(st, 6)) |
                bind_text_or_null(st, 7, ms_record_text(rec, e->site)) |
                bind_text_or_null(st, 8, ms_record_text(rec, e->detail)) |
                (value ? sqlite3_bind_double(st, 9, e->value) : sqlite3_bind_null(st, 9));
    return run(r, ST_EVENT, bound, "writing events");
}

static int write_exposure(metasim_results_t *r, const ms_record *rec, const char *arm,
                          const ms_rec_exposure *x)
{
    sqlite3_stmt *st = r->st[ST_EXPOSURE];
    bool effect = x->target != MS_REC_NO_NAME;
    int bound =
        bind_int(st, 1, rec->patient) | bind_text_or_null(st, 2, arm) |
        sqlite3_bind_double(st, 3, x->time) | bind_text(st, 4, ms_record_name(rec, x->drug)) |
        sqlite3_bind_double(st, 5, x->concentration) |
        (effect ? bind_int(st, 6, x->effect) : sqlite3_bind_null(st, 6)) |
        (effect ? bind_text(st, 7, ms_record_name(rec, x->target)) : sqlite3_bind_null(st, 7)) |
        bind_real(st, 8, x->value);
    return run(r, ST_EXPOSURE, bound, "writing exposures");
}

static int write_sample(metasim_results_t *r, const ms_record *rec, const char *arm,
                        const ms_rec_sample *x)
{
    sqlite3_stmt *st = r->st[ST_SAMPLE];
    int bound = bind_int(st, 1, rec->patient) | bind_text_or_null(st, 2, arm) |
                sqlite3_bind_double(st, 3, x->time) | bind_int(st, 4, x->lesion) |
                bind_text(st, 5, ms_record_name(rec, x->site)) | bind_int(st, 6, x->clone) |
                bind_text(st, 7, ms_record_name(rec, x->state)) |
                sqlite3_bind_double(st, 8, x->cells);
    return run(r, ST_SAMPLE, bound, "writing samples");
}

static const char *stop_name(int stop_reason)
{
    switch (stop_reason) {
    case METASIM_STOP_TIME: return "time";
    case METASIM_STOP_EVENTS: return "events";
    case METASIM_STOP_EXTINCT: return "extinct";
    case METASIM_STOP_SIZE: return "size";
    case METASIM_STOP_DEATH: return "death";
    default: return NULL;
    }
}

static int write_lesions(metasim_results_t *r, const ms_record *rec, const char *arm,
                         const ms_rec_unit *u)
{
    sqlite3_stmt *st = r->st[ST_LESION];
    for (size_t i = 0; i < u->n_lesions; i++) {
        const metasim_lesion_info_t *li = &rec->lesions[u->first_lesion + i];
        int bound = bind_int(st, 1, rec->patient) | bind_text_or_null(st, 2, arm) |
                    bind_int(st, 3, (long long)i) | bind_text(st, 4, li->site) |
                    (li->parent == i ? sqlite3_bind_null(st, 5) : bind_int(st, 5, li->parent)) |
                    sqlite3_bind_double(st, 6, li->founded) | bind_int(st, 7, li->founder_clone) |
                    sqlite3_bind_double(st, 8, li->cells);
        int rc = run(r, ST_LESION, bound, "writing lesions");
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A clone's loci joined by `+`, and its copy numbers joined by `,` in the model's order of
 * chromosomes (meta `chromosomes`), both into the caller's buffers. */
static void clone_texts(const metasim_results_t *r, const ms_record *rec, size_t i, ms_strbuf *loci,
                        ms_strbuf *karyotype)
{
    const metasim_clone_info_t *ci = &rec->clones[i];
    size_t n_loci = metasim_model_locus_count(r->model);
    ms_strbuf_free(loci);
    ms_strbuf_free(karyotype);
    for (size_t k = 0; k < n_loci && k < 64; k++)
        if (ci->loci >> k & 1)
            ms_strbuf_printf(loci, "%s%s", loci->len ? "+" : "",
                             metasim_model_locus_name(r->model, k));
    const unsigned char *copies = ms_record_copies(rec, i);
    for (size_t k = 0; copies && k < rec->n_chromosomes; k++)
        ms_strbuf_printf(karyotype, "%s%u", k ? "," : "", copies[k]);
}

static int write_clones(metasim_results_t *r, const ms_record *rec, const char *arm,
                        const ms_rec_unit *u)
{
    sqlite3_stmt *st = r->st[ST_CLONE];
    ms_strbuf loci = {0}, karyotype = {0};
    int rc = 0;
    for (size_t c = 0; c < u->n_clones && rc == 0; c++) {
        const metasim_clone_info_t *ci = &rec->clones[u->first_clone + c];
        clone_texts(r, rec, u->first_clone + c, &loci, &karyotype);
        if (ms_strbuf_failed(&loci) || ms_strbuf_failed(&karyotype)) {
            rc = ms_results_fail(r, METASIM_E_NOMEM, "writing clones: %s",
                                 metasim_strerror(METASIM_E_NOMEM));
            break;
        }
        int bound = bind_int(st, 1, rec->patient) | bind_text_or_null(st, 2, arm) |
                    bind_int(st, 3, (long long)c) |
                    (ci->parent == c ? sqlite3_bind_null(st, 4) : bind_int(st, 4, ci->parent)) |
                    sqlite3_bind_double(st, 5, ci->born) | bind_int(st, 6, ci->origin_lesion) |
                    bind_text(st, 7, ms_strbuf_str(&loci)) |
                    (rec->n_chromosomes ? bind_text(st, 8, ms_strbuf_str(&karyotype))
                                        : sqlite3_bind_null(st, 8));
        rc = run(r, ST_CLONE, bound, "writing clones");
    }
    ms_strbuf_free(&loci);
    ms_strbuf_free(&karyotype);
    return rc;
}

static int write_endpoint(metasim_results_t *r, const ms_record *rec, const char *arm,
                          const char *name, double time, bool event)
{
    sqlite3_stmt *st = r->st[ST_ENDPOINT];
    int bound = bind_int(st, 1, rec->patient) | bind_text_or_null(st, 2, arm) |
                bind_text(st, 3, name) | sqlite3_bind_double(st, 4, time) | bind_int(st, 5, event);
    return run(r, ST_ENDPOINT, bound, "writing endpoints");
}

/* The survival endpoints of a diagnosed patient, in days from diagnosis (docs/results.md): an
 * event time with status 1, or a censoring time with status 0, the end of follow-up unless a
 * competing event comes first. */
static int write_endpoints(metasim_results_t *r, const ms_record *rec, const char *arm,
                           const ms_rec_unit *u)
{
    const metasim_clinical_t *c = &u->clinical;
    double dx = c->diagnosis;
    double rfs = fmin(c->relapse, c->death); /* fmin ignores a NaN argument */
    const struct {
        const char *name;
        double event;
    } ends[] = {{"os", c->death},
                {"rfs", rfs},
                {"drfs", c->relapse_distant ? rfs : c->death},
                {"pfs", fmin(c->progression, c->death)}};
    int rc = 0;
    for (size_t i = 0; i < sizeof ends / sizeof ends[0] && rc == 0; i++) {
        bool event = !isnan(ends[i].event);
        double time = (event ? ends[i].event : u->follow_up) - dx;
        rc = write_endpoint(r, rec, arm, ends[i].name, time, event);
    }
    /* Cause-specific first relapse at each site: a first relapse elsewhere, or death before
     * any relapse, ends the patient's time at risk (censored there). */
    double stop = isnan(rfs) ? u->follow_up : rfs;
    for (size_t k = 0; k < r->n_sites && rc == 0; k++) {
        bool event = !isnan(c->relapse) && c->relapse_site &&
                     strcmp(c->relapse_site, r->model->sites[k].name) == 0;
        rc = write_endpoint(r, rec, arm, r->relapse_endpoints[k], stop - dx, event);
    }
    return rc;
}

static int write_clinical(metasim_results_t *r, const ms_record *rec, const char *arm,
                          const ms_rec_unit *u)
{
    const metasim_clinical_t *c = &u->clinical;
    bool diagnosed = !isnan(c->diagnosis);
    sqlite3_stmt *st = r->st[ST_CLINICAL];
    int bound = bind_int(st, 1, rec->patient) | bind_text_or_null(st, 2, arm) |
                bind_real(st, 3, c->diagnosis) |
                (diagnosed ? bind_int(st, 4, c->t_stage) : sqlite3_bind_null(st, 4)) |
                (diagnosed ? bind_int(st, 5, c->n_stage) : sqlite3_bind_null(st, 5)) |
                (diagnosed ? bind_int(st, 6, c->m_stage) : sqlite3_bind_null(st, 6)) |
                bind_real(st, 7, c->primary_diameter) | bind_real(st, 8, c->surgery) |
                bind_real(st, 9, c->relapse) | bind_int(st, 10, c->relapse_local != 0) |
                bind_int(st, 11, c->relapse_distant != 0) |
                bind_text_or_null(st, 12, c->relapse_site) | bind_real(st, 13, c->death) |
                bind_real(st, 14, c->progression) | bind_text_or_null(st, 15, c->relapse_cause) |
                bind_real(st, 16, c->assigned) | bind_real(st, 17, c->treatment);
    int rc = run(r, ST_CLINICAL, bound, "writing the clinical course");
    if (rc == 0 && diagnosed)
        rc = write_endpoints(r, rec, arm, u);
    return rc;
}

/* The unit's end state: the patient row first, whose unique key refuses a (patient, arm)
 * written twice. */
static int write_end_state(metasim_results_t *r, const ms_record *rec, const char *arm,
                           const ms_rec_unit *u)
{
    const char *stop = stop_name(u->stop_reason);
    if (!stop)
        return ms_results_fail(r, METASIM_E_ARG, "patient %u: unknown stop reason %d", rec->patient,
                               u->stop_reason);
    sqlite3_stmt *st = r->st[ST_PATIENT];
    const metasim_counts_t *n = &u->counts;
    int bound = bind_int(st, 1, rec->patient) | bind_text_or_null(st, 2, arm) |
                bind_text(st, 3, stop) | sqlite3_bind_double(st, 4, u->end_time) |
                sqlite3_bind_double(st, 5, u->cells) | bind_count(st, 6, n->shed) |
                bind_count(st, 7, n->lost) | bind_count(st, 8, n->colonised) |
                bind_count(st, 9, n->self_seeded) | bind_count(st, 10, n->lesions);
    int rc = bound == SQLITE_OK ? sqlite3_step(st) : bound;
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT)
        return ms_results_fail(r, METASIM_E_STATE, "patient %u (%s%s) was added before",
                               rec->patient, arm ? "arm " : "no arm", arm ? arm : "");
    if (rc != SQLITE_DONE)
        return ms_results_db_fail(r, rc, "writing the patient");
    rc = write_lesions(r, rec, arm, u);
    if (rc == 0)
        rc = write_clones(r, rec, arm, u);
    if (rc == 0)
        rc = write_clinical(r, rec, arm, u);
    return rc;
}

/* The patient's values, one row per value in the order the patient model lists them. */
static int write_parameters(metasim_results_t *r, const ms_record *rec)
{
    sqlite3_stmt *st = r->st[ST_PARAMETER];
    int rc = 0;
    for (size_t k = 0; k < rec->n_values && rc == 0; k++) {
        const ms_rec_value *v = &rec->values[k];
        int bound = bind_int(st, 1, rec->patient) | bind_text(st, 2, ms_record_name(rec, v->path)) |
                    sqlite3_bind_double(st, 3, v->value) |
                    bind_text(st, 4, ms_record_name(rec, v->unit));
        rc = run(r, ST_PARAMETER, bound, "writing the parameters");
    }
    return rc;
}

/* The patient's row of `screening` and its parameters, both once per patient. A trial's record
 * is screened, and its row is new (a patient screened twice is refused). A patient added
 * outside a trial (metasim_results_add_patient()) was not screened: its first unit makes its
 * row, with its subtype, and writes its parameters; a later unit of the same patient (another
 * arm) finds the row and writes neither again. */
static int write_patient_values(metasim_results_t *r, const ms_record *rec)
{
    const char *subtype = rec->subtype == MS_REC_NO_NAME ? NULL : ms_record_name(rec, rec->subtype);
    if (!rec->screened) {
        sqlite3_stmt *st = r->st[ST_UNSCREENED];
        int bound = bind_int(st, 1, rec->patient) | bind_text_or_null(st, 2, subtype);
        int rc = run(r, ST_UNSCREENED, bound, "writing the patient");
        if (rc != 0 || sqlite3_changes(r->db) == 0)
            return rc;
        return write_parameters(r, rec);
    }
    sqlite3_stmt *st = r->st[ST_SCREENING];
    int bound = bind_int(st, 1, rec->patient) | bind_int(st, 2, rec->enrolled) |
                bind_text_or_null(st, 3, rec->enrolled ? NULL : rec->reason) |
                bind_text_or_null(st, 4, subtype);
    int rc = bound == SQLITE_OK ? sqlite3_step(st) : bound;
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT)
        return ms_results_fail(r, METASIM_E_STATE, "patient %u was screened before", rec->patient);
    if (rc != SQLITE_DONE)
        return ms_results_db_fail(r, rc, "writing the screening");
    return write_parameters(r, rec);
}

int ms_results_write_record(metasim_results_t *r, const ms_record *rec)
{
    if (!r || !rec)
        return METASIM_E_ARG;
    if (!r->writing || !r->db)
        return ms_results_error(r, METASIM_E_STATE, "opened for reading, not writing");
    if (r->failed)
        return r->failed;
    if (rec->failed)
        return ms_results_fail(r, rec->failed, "%s", ms_record_errmsg(rec));
    int rc = ms_results_begin(r);
    for (size_t i = 0; i < rec->n_units && rc == 0; i++) {
        const ms_rec_unit *u = &rec->units[i];
        if (u->arm > r->n_arms || !u->finished) {
            rc = ms_results_fail(r, METASIM_E_ARG, "patient %u: %s", rec->patient,
                                 u->finished ? "unknown arm" : "an unfinished unit");
            break;
        }
        const char *arm = u->arm ? r->arm_names[u->arm - 1] : NULL;
        for (size_t k = 0; k < u->n_events && rc == 0; k++)
            rc = write_event(r, rec, arm, &rec->events[u->first_event + k]);
        for (size_t k = 0; k < u->n_samples && rc == 0; k++)
            rc = write_sample(r, rec, arm, &rec->samples[u->first_sample + k]);
        for (size_t k = 0; k < u->n_exposures && rc == 0; k++)
            rc = write_exposure(r, rec, arm, &rec->exposures[u->first_exposure + k]);
        if (rc == 0 && !u->history)
            rc = write_end_state(r, rec, arm, u);
    }
    if (rc == 0 && (rec->screened || rec->valued))
        rc = write_patient_values(r, rec);
    if (rc == 0)
        rc = ms_results_commit(r);
    return rc;
}

/* ------------------------------------------------------------ one patient at a time */

static bool pending_rows(const metasim_results_t *r)
{
    return r->pending && (r->rec.n_events > 0 || r->rec.n_samples > 0 || r->rec.n_exposures > 0);
}

static int other_pending(metasim_results_t *r)
{
    return ms_results_error(r, METASIM_E_STATE,
                            "patient %u's writer was used but the patient was not added",
                            r->patient);
}

/* The handle's writer passes rows to the pending record, and refuses them once the patient has
 * been added. */
static int usable(metasim_results_t *r)
{
    if (r->failed)
        return r->failed;
    if (!r->pending)
        return ms_results_fail(
            r, METASIM_E_STATE,
            "a writer was used after its patient was added (metasim_results_add_patient)");
    return 0;
}

/* The outcome of a callback passed on to the record: its failure becomes the handle's. */
static int forwarded(metasim_results_t *r, int rc)
{
    if (rc == 0)
        return 0;
    ms_results_fail(r, r->rec.failed, "%s", ms_record_errmsg(&r->rec));
    return 1;
}

static int on_sample(void *user, const metasim_sample_t *x)
{
    metasim_results_t *r = user;
    if (usable(r) != 0)
        return 1;
    metasim_writer_t w = ms_record_writer(&r->rec);
    return forwarded(r, w.sample(w.user, x));
}

static int on_event(void *user, const metasim_event_t *e)
{
    metasim_results_t *r = user;
    if (usable(r) != 0)
        return 1;
    metasim_writer_t w = ms_record_writer(&r->rec);
    return forwarded(r, w.event(w.user, e));
}

static int on_exposure(void *user, const metasim_exposure_t *x)
{
    metasim_results_t *r = user;
    if (usable(r) != 0)
        return 1;
    metasim_writer_t w = ms_record_writer(&r->rec);
    return forwarded(r, w.exposure(w.user, x));
}

/* Starts the record of (patient, arm). */
static int start_pending(metasim_results_t *r, unsigned patient, unsigned arm)
{
    r->pending = true;
    r->patient = patient;
    r->arm = arm;
    ms_record_reset(&r->rec, patient, true);
    int rc = ms_record_begin_unit(&r->rec, arm, false);
    return rc ? ms_results_fail(r, rc, "%s", ms_record_errmsg(&r->rec)) : 0;
}

int metasim_results_writer(metasim_results_t *r, unsigned patient, unsigned arm,
                           metasim_writer_t *writer)
{
    if (!r || !writer)
        return METASIM_E_ARG;
    *writer = (metasim_writer_t){0};
    if (!r->writing)
        return ms_results_error(r, METASIM_E_STATE, "opened for reading, not writing");
    if (r->failed)
        return r->failed;
    if (arm > r->n_arms)
        return ms_results_error(r, METASIM_E_ARG, "the model has no arm %u", arm);
    bool same = r->pending && r->patient == patient && r->arm == arm;
    if (!same && pending_rows(r))
        return other_pending(r);
    if (!same) {
        int rc = start_pending(r, patient, arm);
        if (rc != 0)
            return rc;
    }
    *writer = (metasim_writer_t){
        .user = r, .sample = on_sample, .event = on_event, .exposure = on_exposure};
    return 0;
}

int metasim_results_add_patient(metasim_results_t *r, unsigned patient, unsigned arm,
                                const metasim_sim_t *sim, int stop_reason)
{
    if (!r)
        return METASIM_E_ARG;
    if (!r->writing)
        return ms_results_error(r, METASIM_E_STATE, "opened for reading, not writing");
    if (r->failed)
        return r->failed;
    if (!sim || !stop_name(stop_reason) || arm > r->n_arms)
        return ms_results_error(r, METASIM_E_ARG, "patient %u: %s", patient,
                                !sim              ? "no simulation"
                                : arm > r->n_arms ? "unknown arm"
                                                  : "unknown stop reason");
    bool same = r->pending && r->patient == patient && r->arm == arm;
    if (!same && pending_rows(r))
        return other_pending(r);
    int rc = same ? 0 : start_pending(r, patient, arm);
    if (rc == 0 && ((rc = ms_record_end_unit(&r->rec, sim, stop_reason,
                                             metasim_model_horizon(r->model))) != 0 ||
                    (rc = ms_record_values(&r->rec, metasim_sim_model(sim))) != 0))
        rc = ms_results_fail(r, rc, "%s", ms_record_errmsg(&r->rec));
    if (rc == 0)
        rc = ms_results_write_record(r, &r->rec);
    r->pending = false;
    return rc;
}

/* ------------------------------------------------------------ closing */

void ms_results_set_threads(metasim_results_t *r, unsigned threads)
{
    if (r)
        r->threads = threads;
}

/* Commits, indexes, computes the statistics and the digest, closes, flushes to disk and renames
 * into place. */
int ms_results_finish(metasim_results_t *r)
{
    if (pending_rows(r))
        return ms_results_fail(r, METASIM_E_STATE,
                               "patient %u's writer was used but the patient was never added",
                               r->patient);
    int rc = ms_results_commit(r);
    if (rc == 0)
        rc = ms_results_begin(r);
    if (rc == 0)
        rc = ms_results_exec(r, index_sql, "indexing");
    if (rc == 0)
        rc = ms_results_compute_stats(r);
    if (rc == 0)
        rc = ms_results_compute_digest(r, r->digest);
    char finished[32], elapsed[32], threads[16];
    utc_now(finished);
    snprintf(elapsed, sizeof elapsed, "%.3f", r->elapsed_before + ms_results_now() - r->started);
    snprintf(threads, sizeof threads, "%u", r->threads);
    if (rc == 0)
        rc = ms_results_set_meta(r, "results_digest", r->digest);
    if (rc == 0)
        rc = ms_results_set_meta(r, "finished", finished);
    if (rc == 0)
        rc = ms_results_set_meta(r, "elapsed_seconds", elapsed);
    if (rc == 0 && r->threads)
        rc = ms_results_set_meta(r, "threads", threads);
    if (rc == 0)
        rc = ms_results_commit(r);
    /* Back to a rollback journal: the WAL is folded in and removed, one file remains. */
    if (rc == 0)
        rc = ms_results_exec(r, "PRAGMA journal_mode = DELETE", "finishing");
    if (rc != 0)
        return rc;
    for (int i = 0; i < N_ST; i++) {
        sqlite3_finalize(r->st[i]);
        r->st[i] = NULL;
    }
    int close_rc = sqlite3_close(r->db);
    if (close_rc != SQLITE_OK)
        return ms_results_db_fail(r, close_rc, "closing");
    r->db = NULL;
    /* The file's contents reach the disk before its name does. */
    int fd = open(r->partial, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        rc = ms_results_fail(r, METASIM_E_IO, "cannot flush %s: %s", r->partial, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    close(fd);
    struct stat st;
    if (!r->overwrite && lstat(r->path, &st) == 0)
        return ms_results_fail(r, METASIM_E_EXISTS,
                               "exists (it appeared while the results were written)");
    if (rename(r->partial, r->path) != 0)
        return ms_results_fail(r, METASIM_E_IO, "cannot rename %s into place: %s", r->partial,
                               strerror(errno));
    free(r->partial);
    r->partial = NULL;
    return 0;
}

int ms_results_close_digest(metasim_results_t *r, char digest[METASIM_DIGEST_SIZE], char **message)
{
    if (message)
        *message = NULL;
    if (!r)
        return 0;
    int rc = 0;
    if (r->writing)
        rc = r->failed ? r->failed : ms_results_finish(r);
    if (rc != 0 && message)
        *message = ms_results_concat(ms_strbuf_str(&r->err), "");
    if (rc == 0 && digest)
        memcpy(digest, r->digest, METASIM_DIGEST_SIZE);
    release(r); /* removes the partial file if it is still there */
    return rc;
}

int metasim_results_close(metasim_results_t *r, char **message)
{
    return ms_results_close_digest(r, NULL, message);
}

int ms_results_suspend(metasim_results_t *r, char **message)
{
    if (message)
        *message = NULL;
    if (!r)
        return 0;
    int rc = 0;
    if (r->writing && r->db) {
        char elapsed[32];
        snprintf(elapsed, sizeof elapsed, "%.3f",
                 r->elapsed_before + ms_results_now() - r->started);
        if (r->failed) {
            /* The failed patient's transaction goes; the patients before it stay. */
            sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
            r->in_txn = false;
        } else {
            rc = ms_results_commit(r);
            if (rc == 0)
                rc = ms_results_set_meta(r, "elapsed_seconds", elapsed);
        }
    }
    if (rc != 0 && message)
        *message = ms_results_concat(ms_strbuf_str(&r->err), "");
    release_db(r); /* closing folds the WAL into the file */
    free(r->partial);
    r->partial = NULL; /* kept on disk */
    release(r);
    return rc;
}

/* ------------------------------------------------------------ reading */

static int has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -(rc ? rc : 1);
}

/* Checks that an opened file is metasim results of the version this library reads. */
static int check_schema(metasim_results_t *r)
{
    int has = has_table(r->db, "meta");
    if (has < 0) {
        int code = -has;
        if (code == SQLITE_NOTADB)
            return ms_results_error(r, METASIM_E_IO,
                                    "not an SQLite database (file is not a database)");
        return ms_results_error(r, code == SQLITE_NOMEM ? METASIM_E_NOMEM : METASIM_E_IO,
                                "cannot read: %s", sqlite3_errmsg(r->db));
    }
    if (!has)
        return ms_results_error(
            r, METASIM_E_IO, "an SQLite database, but not metasim results (it has no meta table)");
    char *version = NULL;
    int rc = ms_results_get_meta(r, "schema_version", &version);
    if (rc < 0)
        return rc;
    if (rc == 0 || !version) {
        free(version);
        return ms_results_error(r, METASIM_E_IO,
                                "not metasim results (meta has no schema_version)");
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(version, &end, 10);
    bool bad = errno || end == version || *end || v < 1;
    if (bad) {
        rc =
            ms_results_error(r, METASIM_E_IO, "not metasim results (schema_version '%s')", version);
        free(version);
        return rc;
    }
    free(version);
    if (v > MS_RESULTS_SCHEMA_VERSION)
        return ms_results_error(
            r, METASIM_E_IO,
            "schema version %ld is newer than this metasim (%s) reads (%d); use a "
            "newer metasim",
            v, metasim_version(), MS_RESULTS_SCHEMA_VERSION);
    if (v < MS_RESULTS_SCHEMA_VERSION)
        return ms_results_error(r, METASIM_E_IO,
                                "schema version %ld is older than this metasim (%s) reads (%d); "
                                "simulate again to write it anew",
                                v, metasim_version(), MS_RESULTS_SCHEMA_VERSION);
    for (size_t i = 0; i < ms_results_n_tables; i++) {
        has = has_table(r->db, ms_results_tables[i].name);
        if (has <= 0)
            return ms_results_error(r, METASIM_E_IO, "damaged metasim results: no table '%s'",
                                    ms_results_tables[i].name);
    }
    return 0;
}

int metasim_results_open(const char *path, metasim_results_t **results)
{
    if (!results)
        return METASIM_E_ARG;
    metasim_results_t *r = *results = ms_results_new_handle(path);
    if (!r)
        return METASIM_E_NOMEM;
    if (!path || !*path)
        return ms_results_error(r, METASIM_E_ARG, "no file name given");
    struct stat st;
    if (stat(path, &st) != 0)
        return ms_results_error(r, METASIM_E_IO, "cannot open: %s", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return ms_results_error(r, METASIM_E_IO, "cannot open: is a directory");
    int rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        rc =
            ms_results_error(r, rc == SQLITE_NOMEM ? METASIM_E_NOMEM : METASIM_E_IO,
                             "cannot open: %s", r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
    } else {
        rc = check_schema(r);
    }
    if (rc != 0)
        release_db(r);
    return rc;
}
