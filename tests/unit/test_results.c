/* Unit tests of the results database (src/io/results_db.c) through the public API: a small
 * scenario with spread and a clinic written for two patients and read back with SQLite as R or
 * pandas would (row counts, consistency with the simulation, explicit zeros, endpoints), the
 * drug exposures of a treated patient against the analytic one-compartment concentration (in
 * the database and in the CSV writer's exposures file), the refusals (existing file, corrupt or
 * foreign files, newer and older schemas, unwritable paths), discard, misuse of the writer,
 * a cohort patient's subtype and values and its clones' karyotypes, and the CSV and Newick
 * exports, including a very deep lineage. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metasim/metasim.h"
#include "unit_test.h"

/* Two sites that seed each other, a clinic with surgery and scans, two loci: a few metastases,
 * relapses and deaths within 200 days, in milliseconds. */
static const char scenario[] =
    "scenario: {name: results}\ntime: {horizon: 200 d, output_interval: 10 d}\n"
    "sites:\n"
    "  p: {blood_flow: 0.5, colonisation: 3e-7, shedding: 0.01, division: {cycling: 0.3},"
    " death: {cycling: 0.1}}\n"
    "  m: {blood_flow: 0.5, colonisation: 3e-7, shedding: 0.01, division: {cycling: 0.3},"
    " death: {cycling: 0.1}}\n"
    "primary: {site: p, initial_cells: 1e4, detection_cells: 1e7}\n"
    "loci: {a: {mutation_probability: 1e-3}, b: {mutation_probability: 1e-3}}\n"
    "clinic: {surgery: {delay: 1 w}, scans: [{every: 30 d, until: 1 y}], lethal_cells: 1e10}\n";

enum { SEED = 5 };

static metasim_model_t *load(void)
{
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("r.yaml", scenario, strlen(scenario), &m);
    ck_assert_msg(rc == 0, "%s", metasim_model_errmsg(m));
    return m;
}

static metasim_sim_t *start(const metasim_model_t *m, unsigned patient, const metasim_writer_t *w)
{
    metasim_sim_options_t o = {.seed = SEED, .patient = patient, .writer = w, .verify = 1};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    return s;
}

/* ------------------------------------------------------------ files */

static char tmpdir[256];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/metasim-results-XXXXXX", base && *base ? base : "/tmp");
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
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* The whole file as a string (caller frees). */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    char *text = malloc(cap);
    size_t got;
    while ((got = fread(text + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap)
            text = realloc(text, cap *= 2);
    }
    fclose(f);
    text[n] = '\0';
    return text;
}

/* ------------------------------------------------------------ reading back */

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

/* The first column of the first row of `sql` as a number (NaN for NULL or no row). */
static double query(sqlite3 *db, const char *sql)
{
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

__attribute__((format(printf, 2, 3))) static double queryf(sqlite3 *db, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return query(db, sql);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, err ? err : "");
    sqlite3_free(err);
}

/* ------------------------------------------------------------ writing */

typedef struct patient_run {
    unsigned patient;
    size_t lesions, clones;
    metasim_lesion_info_t *lesion; /* per lesion, as the simulation ended */
    metasim_clone_info_t *clone;   /* per clone */
    metasim_counts_t counts;
    metasim_clinical_t clinical;
    double end;
} patient_run;

/* Patients (from index 0 on) whose primary seeded a metastasis and who still have tumour cells
 * at the end: they have zeros (the primary is removed at surgery), clones and endpoints to
 * check, and the censoring rule for patients left without tumour cells does not apply. */
static void pick_patients(const metasim_model_t *m, unsigned *out, int n)
{
    int found = 0;
    for (unsigned p = 0; p < 40 && found < n; p++) {
        metasim_sim_t *s = start(m, p, NULL);
        int stop = metasim_sim_run(s, 200, 0);
        ck_assert_int_gt(stop, 0);
        if (metasim_sim_lesions(s) > 1 && stop != METASIM_STOP_EXTINCT)
            out[found++] = p;
        metasim_sim_destroy(s);
    }
    ck_assert_int_eq(found, n);
}

/* Simulates `patient` into the database and keeps what the checks compare against. */
static void record(metasim_results_t *r, const metasim_model_t *m, unsigned patient,
                   patient_run *out)
{
    metasim_writer_t w;
    ck_assert_int_eq(metasim_results_writer(r, patient, 0, &w), 0);
    metasim_sim_t *s = start(m, patient, &w);
    int stop = metasim_sim_run(s, 200, 0);
    ck_assert_msg(stop > 0, "%s / %s", metasim_sim_errmsg(s), metasim_results_errmsg(r));
    ck_assert_int_eq(metasim_results_add_patient(r, patient, 0, s, stop), 0);
    out->patient = patient;
    out->lesions = metasim_sim_lesions(s);
    out->clones = metasim_sim_clones(s);
    metasim_sim_counts(s, &out->counts);
    metasim_sim_clinical(s, &out->clinical);
    out->end = metasim_sim_time(s);
    out->lesion = malloc(out->lesions * sizeof *out->lesion);
    out->clone = malloc(out->clones * sizeof *out->clone);
    for (size_t i = 0; i < out->lesions; i++)
        ck_assert_int_eq(metasim_sim_lesion_info(s, i, &out->lesion[i]), 0);
    for (size_t i = 0; i < out->clones; i++)
        ck_assert_int_eq(metasim_sim_clone_info(s, i, &out->clone[i]), 0);
    metasim_sim_destroy(s);
}

/* Writes two patients to `path`; fills runs[2]. */
static void write_two(const metasim_model_t *m, const char *path, patient_run runs[2])
{
    unsigned patients[2];
    pick_patients(m, patients, 2);
    metasim_results_t *r = NULL;
    int rc = metasim_results_create(path, m, "metasim run r.yaml --db x.db", SEED, 0, &r);
    ck_assert_msg(rc == 0, "%s", metasim_results_errmsg(r));
    char partial[600];
    snprintf(partial, sizeof partial, "%s.partial", path);
    ck_assert(exists(partial));
    ck_assert(!exists(path));
    for (int i = 0; i < 2; i++)
        record(r, m, patients[i], &runs[i]);
    char *message = NULL;
    rc = metasim_results_close(r, &message);
    ck_assert_msg(rc == 0, "%s", message ? message : "");
    ck_assert_ptr_null(message);
    ck_assert(exists(path));
    ck_assert(!exists(partial));
}

static void free_runs(patient_run runs[2])
{
    for (int i = 0; i < 2; i++) {
        free(runs[i].lesion);
        free(runs[i].clone);
    }
}

/* The lesions and clones tables are the simulation's seeding graph and lineage, row for row. */
static void check_graph(sqlite3 *db, const patient_run *p)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT lesion, site, parent, founded, founder_clone, "
                                        "final_cells FROM lesions WHERE patient = ?1 ORDER BY "
                                        "lesion",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, p->patient);
    size_t n = 0;
    for (; sqlite3_step(st) == SQLITE_ROW; n++) {
        ck_assert_uint_lt(n, p->lesions);
        const metasim_lesion_info_t *li = &p->lesion[n];
        ck_assert_int_eq(sqlite3_column_int64(st, 0), (long long)n);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), li->site);
        if (n == 0)
            ck_assert_int_eq(sqlite3_column_type(st, 2), SQLITE_NULL);
        else
            ck_assert_int_eq(sqlite3_column_int64(st, 2), li->parent);
        ck_assert_double_eq(sqlite3_column_double(st, 3), li->founded);
        ck_assert_int_eq(sqlite3_column_int64(st, 4), li->founder_clone);
        ck_assert_double_eq(sqlite3_column_double(st, 5), li->cells);
    }
    ck_assert_uint_eq(n, p->lesions);
    sqlite3_finalize(st);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT clone, parent, born, origin_lesion FROM clones "
                                        "WHERE patient = ?1 ORDER BY clone",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, p->patient);
    for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
        ck_assert_uint_lt(n, p->clones);
        const metasim_clone_info_t *ci = &p->clone[n];
        ck_assert_int_eq(sqlite3_column_int64(st, 0), (long long)n);
        if (n == 0)
            ck_assert_int_eq(sqlite3_column_type(st, 1), SQLITE_NULL);
        else
            ck_assert_int_eq(sqlite3_column_int64(st, 1), ci->parent);
        ck_assert_double_eq(sqlite3_column_double(st, 2), ci->born);
        ck_assert_int_eq(sqlite3_column_int64(st, 3), ci->origin_lesion);
    }
    ck_assert_uint_eq(n, p->clones);
    sqlite3_finalize(st);
}

START_TEST(test_write_and_read_back)
{
    make_tmpdir();
    metasim_model_t *m = load();
    patient_run runs[2];
    const char *path = in_tmp("r.db");
    write_two(m, path, runs);
    sqlite3 *db = open_db(path);

    /* Provenance: 11 keys at creation, 3 or 4 at close (digest, finish time, elapsed time). */
    ck_assert_double_ge(query(db, "SELECT count(*) FROM meta"), 14);
    ck_assert_double_eq(query(db, "SELECT value FROM meta WHERE key = 'schema_version'"), 4);
    ck_assert_double_eq(query(db, "SELECT value = 'single' FROM meta WHERE key = 'design'"), 1);
    ck_assert_double_eq(query(db, "SELECT length(value) FROM meta WHERE key = 'results_digest'"),
                        16);
    /* Untreated patients have no arm, so no statistics (those are per arm). */
    ck_assert_double_eq(query(db, "SELECT count(*) FROM patients WHERE arm IS NOT NULL"), 0);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM km"), 0);
    ck_assert_double_eq(query(db, "SELECT value FROM meta WHERE key = 'seed'"), SEED);
    ck_assert_double_eq(query(db, "SELECT value = 'results' FROM meta WHERE key = "
                                  "'scenario_name'"),
                        1);
    ck_assert_double_eq(query(db, "SELECT length(value) FROM meta WHERE key = 'scenario'"),
                        (double)strlen(scenario));
    ck_assert_double_eq(query(db, "SELECT count(*) FROM patients"), 2);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM clinical"), 2);
    /* Outside a trial each patient has a screening row all the same, not screened; without a
     * cohort and a karyotype there is no subtype, no value and no copy number. */
    ck_assert_double_eq(query(db, "SELECT count(*) FROM screening s JOIN patients p USING "
                                  "(patient) WHERE s.enrolled IS NULL AND s.reason IS NULL AND "
                                  "s.subtype IS NULL"),
                        2);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM parameters"), 0);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM clones WHERE karyotype IS NOT NULL"), 0);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM meta WHERE key = 'chromosomes' AND value "
                                  "IS NULL"),
                        1);

    for (int i = 0; i < 2; i++) {
        const patient_run *p = &runs[i];
        unsigned k = p->patient;
        check_graph(db, p);
        /* Patients: the cascade's totals, each shed cell counted once. */
        ck_assert_double_eq(queryf(db,
                                   "SELECT shed - lost - colonised FROM patients "
                                   "WHERE patient = %u",
                                   k),
                            0);
        ck_assert_double_eq(queryf(db, "SELECT shed FROM patients WHERE patient = %u", k),
                            (double)p->counts.shed);
        ck_assert_double_eq(queryf(db, "SELECT lesions FROM patients WHERE patient = %u", k),
                            (double)p->counts.lesions);
        ck_assert_double_eq(queryf(db, "SELECT end_time FROM patients WHERE patient = %u", k),
                            p->end);
        /* Lesions: one row per lesion of the simulation, only the primary without parent,
         * every parent founded earlier. */
        ck_assert_double_eq(queryf(db, "SELECT count(*) FROM lesions WHERE patient = %u", k),
                            (double)p->lesions);
        ck_assert_double_eq(queryf(db, "SELECT max(lesion) FROM lesions WHERE patient = %u", k),
                            (double)p->lesions - 1);
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM lesions WHERE patient = %u AND "
                                   "(parent IS NULL) != (lesion = 0)",
                                   k),
                            0);
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM lesions l JOIN lesions q ON "
                                   "q.patient = l.patient AND q.lesion = l.parent WHERE "
                                   "l.patient = %u AND q.founded > l.founded",
                                   k),
                            0);
        /* Clones: an edge list whose parents come first and are born no later. */
        ck_assert_double_eq(queryf(db, "SELECT count(*) FROM clones WHERE patient = %u", k),
                            (double)p->clones);
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM clones WHERE patient = %u AND "
                                   "((parent IS NULL) != (clone = 0) OR parent >= clone)",
                                   k),
                            0);
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM clones c JOIN clones q ON "
                                   "q.patient = c.patient AND q.clone = c.parent WHERE "
                                   "c.patient = %u AND q.born > c.born",
                                   k),
                            0);
        ck_assert_double_eq(
            queryf(db, "SELECT loci = '' FROM clones WHERE patient = %u AND clone = 0", k), 1);
        /* Samples: explicit zeros. Every (lesion, clone, state) has a row at every sample time
         * from its first on, and only one. */
        ck_assert_double_gt(
            queryf(db, "SELECT count(*) FROM samples WHERE patient = %u AND cells = 0", k), 0);
        ck_assert_double_eq(
            queryf(db,
                   "SELECT count(*) FROM (SELECT lesion, clone, state, min(time) AS t0, count(*) "
                   "AS n FROM samples WHERE patient = %u GROUP BY lesion, clone, state) AS key "
                   "WHERE n != (SELECT count(DISTINCT time) FROM samples WHERE patient = %u "
                   "AND time >= key.t0)",
                   k, k),
            0);
        ck_assert_double_eq(
            queryf(db,
                   "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT time, lesion, "
                   "clone, state FROM samples WHERE patient = %u)) FROM samples WHERE patient = "
                   "%u",
                   k, k),
            0);
        /* The primary is gone after surgery: zeros from the next sample time on. */
        ck_assert(!isnan(p->clinical.surgery));
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM samples WHERE patient = %u AND "
                                   "lesion = 0 AND cells > 0 AND time > (SELECT surgery "
                                   "FROM clinical WHERE patient = %u)",
                                   k, k),
                            0);
        /* Events: one row per founded metastasis. */
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM events WHERE patient = %u AND "
                                   "kind = 'lesion'",
                                   k),
                            (double)p->lesions - 1);
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM events WHERE patient = %u AND "
                                   "kind = 'diagnosis'",
                                   k),
                            1);
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM events WHERE patient = %u AND "
                                   "kind = 'blood' AND (value IS NULL OR value < 0)",
                                   k),
                            0);
        /* Clinical course and endpoints. */
        ck_assert_double_eq(queryf(db, "SELECT diagnosis FROM clinical WHERE patient = %u", k),
                            p->clinical.diagnosis);
        /* os, rfs, drfs, pfs and relapse_<site> for the two sites. */
        ck_assert_double_eq(queryf(db, "SELECT count(*) FROM endpoints WHERE patient = %u", k), 6);
        double os =
            queryf(db, "SELECT time FROM endpoints WHERE patient = %u AND endpoint = 'os'", k);
        double want =
            (isnan(p->clinical.death) ? p->end : p->clinical.death) - p->clinical.diagnosis;
        ck_assert_double_eq_tol(os, want, 1e-9);
        ck_assert_double_eq(queryf(db,
                                   "SELECT status FROM endpoints WHERE patient = %u AND "
                                   "endpoint = 'os'",
                                   k),
                            !isnan(p->clinical.death));
    }
    ck_assert_double_eq(query(db, "SELECT count(*) FROM endpoints WHERE status NOT IN (0, 1) OR "
                                  "time < 0 OR time IS NULL"),
                        0);
    /* pfs: progression or death, whichever first; else censored at the end of follow-up (no
     * patient here dies out: pick_patients). */
    ck_assert_double_eq(query(db, "SELECT count(*) FROM patients WHERE stop_reason = 'extinct'"),
                        0);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM endpoints e JOIN clinical c USING "
                                  "(patient, arm) JOIN patients p USING (patient, arm) WHERE "
                                  "e.endpoint = 'pfs' AND (e.status != (c.progression IS NOT "
                                  "NULL OR c.death IS NOT NULL) OR abs(e.time - (coalesce("
                                  "min(c.progression, c.death), c.progression, c.death, "
                                  "p.end_time) - c.diagnosis)) > 1e-9)"),
                        0);
    /* relapse_<site>: an event when the first relapse's site is the site; otherwise censored at
     * the first relapse (elsewhere), at death, or at the end of follow-up. */
    ck_assert_double_ge(query(db, "SELECT count(*) FROM clinical WHERE relapse IS NOT NULL"), 1);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM endpoints e JOIN clinical c USING "
                                  "(patient, arm) JOIN patients p USING (patient, arm) WHERE "
                                  "e.endpoint IN ('relapse_p', 'relapse_m') AND (e.status != "
                                  "(c.relapse IS NOT NULL AND 'relapse_' || c.relapse_site = "
                                  "e.endpoint) OR abs(e.time - (coalesce(c.relapse, c.death, "
                                  "p.end_time) - c.diagnosis)) > 1e-9)"),
                        0);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM (SELECT patient, sum(status) AS n FROM "
                                  "endpoints WHERE endpoint LIKE 'relapse\\_%' ESCAPE '\\' GROUP "
                                  "BY patient) JOIN endpoints e USING (patient) WHERE "
                                  "e.endpoint = 'rfs' AND n != (e.status AND (SELECT relapse IS "
                                  "NOT NULL FROM clinical c WHERE c.patient = e.patient))"),
                        0);
    /* drfs ends no earlier than rfs, and both no later than os. */
    ck_assert_double_eq(query(db, "SELECT count(*) FROM endpoints r JOIN endpoints d ON "
                                  "d.patient = r.patient JOIN endpoints o ON o.patient = "
                                  "r.patient WHERE r.endpoint = 'rfs' AND d.endpoint = 'drfs' "
                                  "AND o.endpoint = 'os' AND (d.time < r.time OR d.time > "
                                  "o.time)"),
                        0);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM events WHERE kind NOT IN ('clone', "
                                  "'lesion', 'diagnosis', 'surgery', 'relapse', 'death', "
                                  "'blood', 'extinct')"),
                        0);
    sqlite3_close(db);
    free_runs(runs);
    metasim_model_destroy(m);
}
END_TEST

/* The zeros and refusals of the writer, on samples made by hand. */
START_TEST(test_writer_zeros_by_hand)
{
    make_tmpdir();
    metasim_model_t *m = load();
    const char *path = in_tmp("z.db");
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_create(path, m, NULL, 1, 0, &r), 0);
    metasim_writer_t w;
    ck_assert_int_eq(metasim_results_writer(r, 7, 0, &w), 0);
    const metasim_sample_t rows[] = {
        {0, 0, "p", 0, "cycling", 5}, {1, 0, "p", 0, "cycling", 6}, {1, 1, "m", 0, "cycling", 1},
        {1, 1, "m", 0, "cycling", 9}, /* a second row for one key at one time is dropped */
        {2, 1, "m", 0, "cycling", 2}, {3, 1, "m", 2, "cycling", 4},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        ck_assert_int_eq(w.sample(w.user, &rows[i]), 0);
    /* Another patient while 7 is pending is refused. */
    metasim_writer_t other;
    ck_assert_int_eq(metasim_results_writer(r, 8, 0, &other), METASIM_E_STATE);
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), "patient 7"));
    metasim_sim_t *s = start(m, 7, NULL);
    ck_assert_int_eq(metasim_results_add_patient(r, 7, 0, s, 99), METASIM_E_ARG);
    ck_assert_int_eq(metasim_results_add_patient(r, 7, 0, s, METASIM_STOP_TIME), 0);
    /* The writer is spent once its patient is added. */
    ck_assert_int_ne(w.sample(w.user, &rows[0]), 0);
    ck_assert_int_ne(metasim_results_close(r, NULL), 0);
    ck_assert(!exists(path));

    /* Again, without the misuse. */
    ck_assert_int_eq(metasim_results_create(path, m, NULL, 1, 0, &r), 0);
    ck_assert_int_eq(metasim_results_writer(r, 7, 0, &w), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        ck_assert_int_eq(w.sample(w.user, &rows[i]), 0);
    ck_assert_int_eq(metasim_results_add_patient(r, 7, 0, s, METASIM_STOP_TIME), 0);
    ck_assert_int_eq(metasim_results_close(r, NULL), 0);
    sqlite3 *db = open_db(path);
    /* time 0: (0,0); 1: (0,0) (1,0); 2: (1,0) and zero (0,0); 3: (1,2) and zeros (0,0) (1,0). */
    ck_assert_double_eq(query(db, "SELECT count(*) FROM samples"), 8);
    ck_assert_double_eq(query(db, "SELECT cells FROM samples WHERE time = 1 AND lesion = 1"), 1);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM samples WHERE cells = 0"), 3);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM samples WHERE cells = 0 AND time = 3"), 2);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM samples WHERE site = 'm' AND lesion = 0"),
                        0);
    /* Added without a run: the founder only, no diagnosis, no endpoints. */
    ck_assert_double_eq(query(db, "SELECT count(*) FROM endpoints"), 0);
    ck_assert(isnan(query(db, "SELECT diagnosis FROM clinical")));
    ck_assert(isnan(query(db, "SELECT t_stage FROM clinical")));
    sqlite3_close(db);

    /* Sample times must not go back. */
    ck_assert_int_eq(metasim_results_create(path, m, NULL, 1, 1, &r), 0);
    ck_assert_int_eq(metasim_results_writer(r, 0, 0, &w), 0);
    ck_assert_int_eq(w.sample(w.user, &rows[1]), 0);
    ck_assert_int_ne(w.sample(w.user, &rows[0]), 0);
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), "go back"));
    metasim_results_discard(r);

    /* A patient is added once. */
    ck_assert_int_eq(metasim_results_create(in_tmp("twice.db"), m, NULL, 1, 0, &r), 0);
    ck_assert_int_eq(metasim_results_add_patient(r, 3, 0, s, METASIM_STOP_TIME), 0);
    ck_assert_int_ne(metasim_results_add_patient(r, 3, 0, s, METASIM_STOP_TIME), 0);
    char *message = NULL;
    ck_assert_int_ne(metasim_results_close(r, &message), 0);
    ck_assert_ptr_nonnull(message);
    ck_assert_ptr_nonnull(strstr(message, "twice.db"));
    metasim_free(message);
    ck_assert(!exists(in_tmp("twice.db")));
    ck_assert(!exists(in_tmp("twice.db.partial")));
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_existing_file_and_overwrite)
{
    make_tmpdir();
    metasim_model_t *m = load();
    const char *path = in_tmp("old.db");
    write_file(path, "precious");
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_create(path, m, NULL, 1, 0, &r), METASIM_E_EXISTS);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), path));
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), "exists"));
    /* A failed handle refuses everything and leaves nothing. */
    metasim_writer_t w;
    ck_assert_int_ne(metasim_results_writer(r, 0, 0, &w), 0);
    ck_assert_int_eq(metasim_results_close(r, NULL), METASIM_E_EXISTS);
    char *text = read_file(path);
    ck_assert_str_eq(text, "precious");
    free(text);
    ck_assert(!exists(in_tmp("old.db.partial")));

    /* A stale partial file is replaced; overwrite replaces the file at close. */
    write_file(in_tmp("old.db.partial"), "stale");
    ck_assert_int_eq(metasim_results_create(path, m, NULL, 1, 1, &r), 0);
    text = read_file(path);
    ck_assert_str_eq(text, "precious"); /* untouched until close */
    free(text);
    metasim_sim_t *s = start(m, 0, NULL);
    ck_assert_int_eq(metasim_results_add_patient(r, 0, 0, s, METASIM_STOP_TIME), 0);
    ck_assert_int_eq(metasim_results_close(r, NULL), 0);
    ck_assert_int_eq(metasim_results_open(path, &r), 0);
    metasim_results_close(r, NULL);

    /* A directory is never replaced. */
    ck_assert_int_eq(metasim_results_create(tmpdir, m, NULL, 1, 1, &r), METASIM_E_IO);
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), "directory"));
    metasim_results_discard(r);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_unwritable_paths)
{
    make_tmpdir();
    metasim_model_t *m = load();
    metasim_results_t *r = NULL;
    /* A directory that does not exist. */
    const char *path = in_tmp("no/such/dir/r.db");
    ck_assert_int_eq(metasim_results_create(path, m, NULL, 1, 0, &r), METASIM_E_IO);
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), path));
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), "No such file or directory"));
    metasim_results_discard(r);
    ck_assert(!exists(in_tmp("no")));
    /* A path inside a regular file. */
    write_file(in_tmp("file"), "x");
    path = in_tmp("file/r.db");
    ck_assert_int_eq(metasim_results_create(path, m, NULL, 1, 1, &r), METASIM_E_IO);
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), "Not a directory"));
    metasim_results_discard(r);
    /* Bad arguments. */
    ck_assert_int_eq(metasim_results_create(NULL, m, NULL, 1, 0, &r), METASIM_E_ARG);
    metasim_results_discard(r);
    ck_assert_int_eq(metasim_results_create(in_tmp("x.db"), NULL, NULL, 1, 0, &r), METASIM_E_ARG);
    metasim_results_discard(r);
    ck_assert_int_eq(metasim_results_create(in_tmp("x.db"), m, NULL, 1, 0, NULL), METASIM_E_ARG);
    /* Only the file made by hand is left. */
    DIR *d = opendir(tmpdir);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(entries, 1);
    /* NULL is harmless. */
    metasim_results_discard(NULL);
    ck_assert_int_eq(metasim_results_close(NULL, NULL), 0);
    ck_assert_str_eq(metasim_results_errmsg(NULL), "");
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_discard_leaves_nothing)
{
    make_tmpdir();
    metasim_model_t *m = load();
    const char *path = in_tmp("d.db");
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_create(path, m, "x", 1, 0, &r), 0);
    metasim_writer_t w;
    ck_assert_int_eq(metasim_results_writer(r, 0, 0, &w), 0);
    metasim_sim_t *s = start(m, 0, &w);
    int stop = metasim_sim_run(s, 50, 0);
    ck_assert_int_gt(stop, 0);
    ck_assert_int_eq(metasim_results_add_patient(r, 0, 0, s, stop), 0);
    metasim_results_discard(r);
    ck_assert(!exists(path));
    ck_assert(!exists(in_tmp("d.db.partial")));

    /* A writer used for a patient never added: close refuses and leaves nothing. */
    ck_assert_int_eq(metasim_results_create(path, m, "x", 1, 0, &r), 0);
    ck_assert_int_eq(metasim_results_writer(r, 0, 0, &w), 0);
    metasim_sim_destroy(s);
    s = start(m, 0, &w);
    ck_assert_int_gt(metasim_sim_run(s, 50, 0), 0);
    char *message = NULL;
    ck_assert_int_eq(metasim_results_close(r, &message), METASIM_E_STATE);
    ck_assert_ptr_nonnull(strstr(message, "never added"));
    metasim_free(message);
    ck_assert(!exists(path));
    ck_assert(!exists(in_tmp("d.db.partial")));
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

static void assert_open_fails(const char *path, const char *words)
{
    metasim_results_t *r = NULL;
    int rc = metasim_results_open(path, &r);
    ck_assert_int_eq(rc, METASIM_E_IO);
    const char *msg = metasim_results_errmsg(r);
    ck_assert_msg(strstr(msg, path) && strstr(msg, words), "message '%s' lacks '%s'", msg, words);
    ck_assert_int_eq(metasim_results_export_csv(r, in_tmp("csv"), 0), METASIM_E_STATE);
    metasim_results_discard(r);
    ck_assert(exists(path) == (strstr(words, "No such") == NULL));
}

START_TEST(test_open_refuses_foreign_files)
{
    make_tmpdir();
    assert_open_fails(in_tmp("missing.db"), "No such file or directory");
    assert_open_fails(tmpdir, "directory");
    const char *garbage = in_tmp("garbage.db");
    write_file(garbage, "SQLite format 2? no: just some bytes that are not a database at all, "
                        "long enough to fill a header of one hundred bytes and more, surely.\n");
    assert_open_fails(garbage, "file is not a database");
    /* A file SQLite reads but metasim did not write. */
    const char *foreign = in_tmp("foreign.db");
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(foreign, &db), SQLITE_OK);
    exec_sql(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
    sqlite3_close(db);
    assert_open_fails(foreign, "not metasim results");
    /* A newer schema. */
    metasim_model_t *m = load();
    char newer[512]; /* in_tmp() reuses its buffers */
    snprintf(newer, sizeof newer, "%s", in_tmp("newer.db"));
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_create(newer, m, NULL, 1, 0, &r), 0);
    ck_assert_int_eq(metasim_results_close(r, NULL), 0);
    db = open_db(newer);
    exec_sql(db, "UPDATE meta SET value = '5' WHERE key = 'schema_version'");
    sqlite3_close(db);
    assert_open_fails(newer, "schema version 5 is newer");
    /* Older schemas: metasim 0.1 wrote version 1, without arms; version 2 had no exposures, no
     * pfs and relapse_<site> endpoints and no relapse statistics; version 3 had no parameters,
     * subtypes or karyotypes. */
    db = open_db(newer);
    exec_sql(db, "UPDATE meta SET value = '1' WHERE key = 'schema_version'");
    sqlite3_close(db);
    assert_open_fails(newer, "schema version 1 is older");
    db = open_db(newer);
    exec_sql(db, "UPDATE meta SET value = '2' WHERE key = 'schema_version'");
    sqlite3_close(db);
    assert_open_fails(newer, "schema version 2 is older");
    db = open_db(newer);
    exec_sql(db, "UPDATE meta SET value = '3' WHERE key = 'schema_version'");
    sqlite3_close(db);
    assert_open_fails(newer, "schema version 3 is older");
    /* Truncated: the tables are gone. */
    db = open_db(newer);
    exec_sql(db, "UPDATE meta SET value = '4' WHERE key = 'schema_version'; DROP TABLE samples");
    sqlite3_close(db);
    assert_open_fails(newer, "no table 'samples'");
    /* A handle opened for reading takes no writes, and closing it keeps the file. */
    ck_assert_int_eq(metasim_results_create(in_tmp("ok.db"), m, NULL, 1, 0, &r), 0);
    ck_assert_int_eq(metasim_results_close(r, NULL), 0);
    ck_assert_int_eq(metasim_results_open(in_tmp("ok.db"), &r), 0);
    metasim_writer_t w;
    ck_assert_int_eq(metasim_results_writer(r, 0, 0, &w), METASIM_E_STATE);
    metasim_results_discard(r);
    ck_assert(exists(in_tmp("ok.db")));
    metasim_model_destroy(m);
}
END_TEST

/* Minimal Newick check: balanced parentheses that never close below zero, one ';' at the end,
 * and the number of labels c<k> equal to `clones`. */
static void assert_newick(const char *text, size_t clones)
{
    long depth = 0, lowest = 0; /* asserting per character would be slow under Check */
    size_t labels = 0, semicolons = 0, len = strlen(text);
    for (size_t i = 0; i < len; i++) {
        depth += text[i] == '(';
        depth -= text[i] == ')';
        lowest = depth < lowest ? depth : lowest;
        semicolons += text[i] == ';';
        labels += text[i] == 'c' && (i == 0 || strchr("(),", text[i - 1]));
    }
    ck_assert_int_eq(lowest, 0);
    ck_assert_int_eq(depth, 0);
    ck_assert_uint_eq(semicolons, 1);
    ck_assert_msg(len >= 2 && text[len - 2] == ';' && text[len - 1] == '\n', "%s", text);
    ck_assert_uint_eq(labels, clones);
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

START_TEST(test_export_csv_and_newick)
{
    make_tmpdir();
    metasim_model_t *m = load();
    patient_run runs[2];
    const char *path = in_tmp("e.db");
    write_two(m, path, runs);
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_open(path, &r), 0);
    const char *csv = in_tmp("out/csv");
    ck_assert_int_eq(metasim_results_export_csv(r, csv, 0), 0);
    static const char *const tables[] = {"meta",   "patients", "lesions",  "clones",
                                         "events", "samples",  "clinical", "endpoints"};
    char file[600];
    /* The trial's tables and the exposures exist too, empty here but for their header. */
    static const char *const trial_tables[] = {"arms",          "screening",      "km",
                                               "tests",         "paired",         "landmarks",
                                               "relapse_sites", "relapse_causes", "exposures"};
    for (size_t i = 0; i < sizeof trial_tables / sizeof *trial_tables; i++) {
        snprintf(file, sizeof file, "%s/%s.csv", csv, trial_tables[i]);
        char *text = read_file(file);
        ck_assert_msg(count_lines(text) >= 1, "%s", file);
        free(text);
    }
    for (size_t i = 0; i < 8; i++) {
        snprintf(file, sizeof file, "%s/%s.csv", csv, tables[i]);
        char *text = read_file(file);
        ck_assert_msg(count_lines(text) >= 2, "%s", file);
        free(text);
        snprintf(file, sizeof file, "%s/%s.csv.partial", csv, tables[i]);
        ck_assert(!exists(file));
    }
    snprintf(file, sizeof file, "%s/patients.csv", csv);
    char *text = read_file(file);
    static const char header[] =
        "patient,arm,stop_reason,end_time,cells,shed,lost,colonised,self_seeded,lesions\n";
    ck_assert(strncmp(text, header, strlen(header)) == 0);
    ck_assert_uint_eq(count_lines(text), 3);
    free(text);
    snprintf(file, sizeof file, "%s/lesions.csv", csv);
    text = read_file(file);
    ck_assert_uint_eq(count_lines(text), 1 + runs[0].lesions + runs[1].lesions);
    free(text);
    /* The scenario text spans lines, so meta.csv quotes it. */
    snprintf(file, sizeof file, "%s/meta.csv", csv);
    text = read_file(file);
    ck_assert_ptr_nonnull(strstr(text, "\nscenario,\"scenario: {name: results}\n"));
    free(text);
    /* Existing files are refused, then replaced on request. */
    ck_assert_int_eq(metasim_results_export_csv(r, csv, 0), METASIM_E_EXISTS);
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), "meta.csv exists"));
    ck_assert_int_eq(metasim_results_export_csv(r, csv, 1), 0);
    /* An output directory that cannot be made. */
    write_file(in_tmp("plain"), "x");
    ck_assert_int_eq(metasim_results_export_csv(r, in_tmp("plain/csv"), 0), METASIM_E_IO);
    ck_assert_int_eq(metasim_results_export_newick(r, in_tmp("plain"), 0), METASIM_E_IO);

    const char *nwk = in_tmp("nwk");
    ck_assert_int_eq(metasim_results_export_newick(r, nwk, 0), 0);
    for (int i = 0; i < 2; i++) {
        snprintf(file, sizeof file, "%s/patient_%u.nwk", nwk, runs[i].patient);
        text = read_file(file);
        assert_newick(text, runs[i].clones);
        free(text);
    }
    ck_assert_int_eq(metasim_results_export_newick(r, nwk, 0), METASIM_E_EXISTS);
    ck_assert_int_eq(metasim_results_export_newick(r, nwk, 1), 0);
    metasim_results_close(r, NULL);
    free_runs(runs);

    /* Export wants a database opened for reading. */
    ck_assert_int_eq(metasim_results_create(in_tmp("w.db"), m, NULL, 1, 0, &r), 0);
    ck_assert_int_eq(metasim_results_export_csv(r, csv, 1), METASIM_E_STATE);
    ck_assert_int_eq(metasim_results_export_newick(r, nwk, 1), METASIM_E_STATE);
    metasim_results_discard(r);
    metasim_model_destroy(m);
}
END_TEST

/* The scenario above with two drugs: x, a weekly IV bolus from surgery under arm `treated`
 * (one-compartment, half-life 1 d, 10 L; a cytotoxic Emax effect), and y, given by no arm and
 * without effects. */
static const char drugs[] =
    "drugs:\n"
    "  x:\n"
    "    pk: {model: one_compartment, half_life: 1 d, volume: 10 L}\n"
    "    effects: [{target: death, state: cycling, max_kill: 0.25 /d, ec50: 1 mg/L, hill: 1}]\n"
    "  y:\n"
    "    pk: {model: one_compartment, half_life: 2 d, volume: 5 L}\n"
    "regimens:\n"
    "  x_weekly: {doses: [{drug: x, amount: 100 mg}], cycles: 10, cycle_length: 7 d}\n"
    "arms:\n"
    "  control: {lines: []}\n"
    "  treated: {lines: [{regimen: x_weekly, start: surgery}]}\n";

/* Runs `patient` under arm `arm` to 200 d into `w` (NULL for none); returns the simulation. */
static metasim_sim_t *run_arm(const metasim_model_t *m, unsigned patient, unsigned arm,
                              const metasim_writer_t *w, int *stop)
{
    metasim_sim_options_t o = {.seed = SEED, .patient = patient, .writer = w, .arm = arm};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    *stop = metasim_sim_run(s, 200, 0);
    ck_assert_msg(*stop > 0, "%s", metasim_sim_errmsg(s));
    return s;
}

/* Exposures are written at every output time from the assignment on, one row per drug and
 * effect, and the concentration is the analytic one-compartment value of the doses given:
 * C(t) = sum over doses before t of (amount / V) exp(-ln 2 (t - t_dose) / half-life). */
START_TEST(test_exposures)
{
    make_tmpdir();
    char text[4096];
    snprintf(text, sizeof text, "%s%s", scenario, drugs);
    metasim_model_t *m = NULL;
    ck_assert_msg(metasim_model_load_string("d.yaml", text, strlen(text), &m) == 0, "%s",
                  metasim_model_errmsg(m));
    /* A patient treated for two months at least (many are cured by surgery). */
    unsigned patient = 0;
    for (;; patient++) {
        ck_assert_uint_lt(patient, 40);
        int stop;
        metasim_sim_t *s = run_arm(m, patient, 2, NULL, &stop);
        metasim_clinical_t c;
        metasim_sim_clinical(s, &c);
        double end = metasim_sim_time(s);
        metasim_sim_destroy(s);
        if (!isnan(c.assigned) && end > c.assigned + 60)
            break;
    }
    const char *path = in_tmp("x.db");
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_create(path, m, NULL, SEED, 0, &r), 0);
    for (unsigned arm = 0; arm <= 2; arm += 2) {
        metasim_writer_t w;
        ck_assert_int_eq(metasim_results_writer(r, patient, arm, &w), 0);
        int stop;
        metasim_sim_t *s = run_arm(m, patient, arm, &w, &stop);
        ck_assert_int_eq(metasim_results_add_patient(r, patient, arm, s, stop), 0);
        metasim_sim_destroy(s);
    }
    ck_assert_int_eq(metasim_results_close(r, NULL), 0);

    sqlite3 *db = open_db(path);
    /* None without treatment (the untreated patient, arm NULL). */
    ck_assert_double_eq(query(db, "SELECT count(*) FROM exposures WHERE arm IS NOT 'treated'"), 0);
    double n = query(db, "SELECT count(*) FROM exposures");
    ck_assert_double_gt(n, 10);
    /* On the output grid, from the assignment on, every output time, both drugs each time. */
    ck_assert_double_eq(query(db, "SELECT count(*) FROM exposures WHERE time / 10 != "
                                  "round(time / 10) OR time < (SELECT assigned FROM clinical "
                                  "WHERE arm = 'treated')"),
                        0);
    ck_assert_double_eq(query(db, "SELECT (max(time) - min(time)) / 10 + 1 - count(DISTINCT time) "
                                  "FROM exposures"),
                        0);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM exposures WHERE drug = 'x'"), n / 2);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM exposures WHERE drug = 'x' AND (effect "
                                  "!= 0 OR target != 'death' OR value IS NULL)"),
                        0);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM exposures WHERE drug = 'y' AND (effect "
                                  "IS NOT NULL OR target IS NOT NULL OR value IS NOT NULL OR "
                                  "concentration != 0)"),
                        0);
    /* The doses, then each concentration and effect against the formula. */
    double dose_time[64], dose_mg[64];
    size_t n_doses = 0;
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT time, value FROM events WHERE kind = 'dose' AND "
                                        "site = 'x' ORDER BY time",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && n_doses < 64) {
        dose_time[n_doses] = sqlite3_column_double(st, 0);
        dose_mg[n_doses++] = sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    ck_assert_uint_ge(n_doses, 2);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT time, concentration, value FROM exposures WHERE "
                                        "drug = 'x' ORDER BY time",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t checked = 0, exposed = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double t = sqlite3_column_double(st, 0), c = sqlite3_column_double(st, 1);
        double want = 0;
        bool at_dose = false;
        for (size_t k = 0; k < n_doses; k++) {
            at_dose |= dose_time[k] == t; /* which comes first at one time is not the point */
            if (dose_time[k] < t)
                want += dose_mg[k] / 10 * exp(-log(2.0) * (t - dose_time[k]) / 1.0);
        }
        if (at_dose)
            continue;
        ck_assert_double_eq_tol(c, want, 1e-9 * fmax(1, want));
        ck_assert_double_eq_tol(sqlite3_column_double(st, 2), 0.25 * want / (want + 1.0), 1e-9);
        checked++;
        exposed += want > 0.1;
    }
    sqlite3_finalize(st);
    ck_assert_uint_ge(checked, 5);
    ck_assert_uint_ge(exposed, 2);

    /* The CSV writer puts the same rows in its exposures file. */
    char *sibling = metasim_csv_exposures_path(in_tmp("run.csv"));
    ck_assert_str_eq(sibling, in_tmp("run-exposures.csv"));
    metasim_free(sibling);
    sibling = metasim_csv_exposures_path("out/run");
    ck_assert_str_eq(sibling, "out/run-exposures.csv");
    metasim_free(sibling);
    metasim_writer_t csv;
    ck_assert_int_eq(metasim_csv_writer_open(in_tmp("run.csv"), &csv), 0);
    int stop;
    metasim_sim_destroy(run_arm(m, patient, 2, &csv, &stop));
    ck_assert_int_eq(metasim_csv_writer_close(&csv), 0);
    char *lines = read_file(in_tmp("run-exposures.csv"));
    ck_assert(strncmp(lines, "time,drug,concentration,effect,target,value\n", 44) == 0);
    ck_assert_double_eq((double)count_lines(lines), n + 1);
    ck_assert_ptr_nonnull(strstr(lines, ",y,0,,,\n"));
    free(lines);
    /* A file that cannot be made leaves neither. */
    ck_assert_int_eq(metasim_csv_writer_open(in_tmp("no/such/run.csv"), &csv), METASIM_E_IO);
    sqlite3_close(db);
    metasim_model_destroy(m);
}
END_TEST

/* A patient of a varying cohort with a karyotype, added outside a trial under two arms (as
 * `metasim run --db` adds its one patient): its subtype and values are written once, with its
 * first unit, and equal its own model's; each clone's karyotype reads back to the copy numbers
 * the simulation had, the founder's to the founders' copies. Each simulation (and with it the
 * patient's own model and the copy numbers) is destroyed right after its patient is added,
 * before the database is closed. */
START_TEST(test_values_and_karyotypes)
{
    make_tmpdir();
    static const char more[] =
        "karyotype:\n"
        "  chromosomes: {c1: {}, c2: {copies: 3}, c3: {copies: 1}}\n"
        "  missegregation: 0.05 %\n"
        "  max_copies: 5\n"
        "cohort:\n"
        "  subtypes:\n"
        "    fast: {share: 50 %, parameters: [{path: sites.m.division.cycling, value: 0.35 /d}]}\n"
        "    slow: {share: 50 %}\n"
        "  parameters:\n"
        "    - {path: sites.p.death.cycling, distribution: lognormal, cv: 20 %, upper: 0.2 /d}\n"
        "arms: {a: {lines: []}, b: {lines: []}}\n";
    char text[4096];
    snprintf(text, sizeof text, "%s%s", scenario, more);
    metasim_model_t *m = NULL;
    ck_assert_msg(metasim_model_load_string("v.yaml", text, strlen(text), &m) == 0, "%s",
                  metasim_model_errmsg(m));
    enum { N = 4, CHROMOSOMES = 3, MAX_CLONES = 4096 };
    ck_assert_uint_eq(metasim_model_chromosome_count(m), CHROMOSOMES);
    const char *path = in_tmp("v.db");
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_create(path, m, NULL, SEED, 0, &r), 0);
    /* Copy numbers per (patient, arm) and clone, as the simulation had them. */
    static unsigned char copies[N][2][MAX_CLONES][CHROMOSOMES];
    size_t clones[N][2];
    for (unsigned p = 0; p < N; p++) {
        for (unsigned arm = 1; arm <= 2; arm++) {
            metasim_writer_t w;
            ck_assert_int_eq(metasim_results_writer(r, p, arm, &w), 0);
            metasim_sim_options_t o = {.seed = SEED, .patient = p, .writer = &w, .arm = arm};
            metasim_sim_t *s = NULL;
            ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
            int stop = metasim_sim_run(s, 200, 0);
            ck_assert_int_gt(stop, 0);
            ck_assert_int_eq(metasim_results_add_patient(r, p, arm, s, stop), 0);
            size_t n = clones[p][arm - 1] = metasim_sim_clones(s);
            ck_assert_uint_le(n, MAX_CLONES);
            for (size_t c = 0; c < n; c++) {
                metasim_clone_info_t ci;
                ck_assert_int_eq(metasim_sim_clone_info(s, c, &ci), 0);
                memcpy(copies[p][arm - 1][c], ci.copies, CHROMOSOMES);
            }
            metasim_sim_destroy(s);
        }
    }
    ck_assert_int_eq(metasim_results_close(r, NULL), 0);

    sqlite3 *db = open_db(path);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM screening WHERE enrolled IS NULL"), N);
    ck_assert_double_eq(query(db, "SELECT count(*) FROM meta WHERE key = 'chromosomes' AND value "
                                  "= 'c1,c2,c3'"),
                        1);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT path, value, unit FROM parameters WHERE patient = "
                                        "?1 ORDER BY rowid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (unsigned p = 0; p < N; p++) {
        metasim_model_t *own = NULL;
        ck_assert_int_eq(metasim_model_patient(m, SEED, p, &own), 0);
        const char *subtype = metasim_model_patient_subtype(own);
        ck_assert_ptr_nonnull(subtype);
        ck_assert_double_eq(queryf(db,
                                   "SELECT count(*) FROM screening WHERE patient = %u AND "
                                   "subtype = '%s'",
                                   p, subtype),
                            1);
        size_t n = metasim_model_covariate_count(own), k = 0;
        ck_assert_uint_ge(n, 1);
        sqlite3_bind_int64(st, 1, p);
        for (; sqlite3_step(st) == SQLITE_ROW; k++) {
            metasim_covariate_t c;
            ck_assert_int_eq(metasim_model_covariate(own, k, &c), 0);
            ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), c.path);
            ck_assert_double_eq(sqlite3_column_double(st, 1), c.value);
            ck_assert_str_eq((const char *)sqlite3_column_text(st, 2), c.unit);
        }
        sqlite3_reset(st);
        ck_assert_uint_eq(k, n); /* once, although the patient has two arms */
        metasim_model_destroy(own);
    }
    sqlite3_finalize(st);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT clone, karyotype FROM clones WHERE patient = ?1 "
                                        "AND arm = ?2 ORDER BY clone",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t aneuploid = 0;
    for (unsigned p = 0; p < N; p++) {
        for (unsigned arm = 1; arm <= 2; arm++) {
            sqlite3_bind_int64(st, 1, p);
            sqlite3_bind_text(st, 2, arm == 1 ? "a" : "b", -1, SQLITE_STATIC);
            size_t c = 0;
            for (; sqlite3_step(st) == SQLITE_ROW; c++) {
                ck_assert_uint_lt(c, clones[p][arm - 1]);
                ck_assert_int_eq(sqlite3_column_int64(st, 0), (long long)c);
                const char *karyotype = (const char *)sqlite3_column_text(st, 1);
                unsigned k[CHROMOSOMES];
                int used = 0;
                ck_assert_msg(sscanf(karyotype, "%u,%u,%u%n", &k[0], &k[1], &k[2], &used) == 3 &&
                                  karyotype[used] == '\0',
                              "karyotype '%s'", karyotype);
                for (int i = 0; i < CHROMOSOMES; i++)
                    ck_assert_uint_eq(k[i], copies[p][arm - 1][c][i]);
                if (c == 0)
                    ck_assert_str_eq(karyotype, "2,3,1");
                aneuploid += strcmp(karyotype, "2,3,1") != 0;
            }
            sqlite3_reset(st);
            ck_assert_uint_eq(c, clones[p][arm - 1]);
        }
    }
    sqlite3_finalize(st);
    ck_assert_uint_gt(aneuploid, 0);
    sqlite3_close(db);

    /* The export has both: parameters.csv, and the karyotype column quoted (it holds commas). */
    ck_assert_int_eq(metasim_results_open(path, &r), 0);
    ck_assert_int_eq(metasim_results_export_csv(r, in_tmp("csv"), 0), 0);
    metasim_results_close(r, NULL);
    char *csv = read_file(in_tmp("csv/parameters.csv"));
    ck_assert(strncmp(csv, "patient,path,value,unit\n0,", 26) == 0);
    ck_assert_ptr_nonnull(strstr(csv, ",sites.p.death.cycling,"));
    free(csv);
    csv = read_file(in_tmp("csv/clones.csv"));
    ck_assert(strncmp(csv, "patient,arm,clone,parent,born,origin_lesion,loci,karyotype\n", 59) ==
              0);
    ck_assert_ptr_nonnull(strstr(csv, ",\"2,3,1\"\n"));
    free(csv);
    csv = read_file(in_tmp("csv/screening.csv"));
    ck_assert(strncmp(csv, "patient,enrolled,reason,subtype\n0,,,", 36) == 0);
    free(csv);
    metasim_model_destroy(m);
}
END_TEST

/* A lineage far deeper than any call stack: the Newick writer walks it with its own stack. */
START_TEST(test_newick_deep_chain)
{
    make_tmpdir();
    metasim_model_t *m = load();
    const char *path = in_tmp("chain.db");
    metasim_results_t *r = NULL;
    ck_assert_int_eq(metasim_results_create(path, m, NULL, 1, 0, &r), 0);
    metasim_sim_t *s = start(m, 0, NULL);
    ck_assert_int_eq(metasim_results_add_patient(r, 4, 0, s, METASIM_STOP_TIME), 0);
    ck_assert_int_eq(metasim_results_close(r, NULL), 0);
    metasim_sim_destroy(s);

    enum { DEPTH = 200000 };
    sqlite3 *db = open_db(path);
    exec_sql(db, "BEGIN; DELETE FROM clones;"
                 "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 199999)"
                 " INSERT INTO clones SELECT 4, NULL, i, CASE WHEN i = 0 THEN NULL ELSE i - 1 END,"
                 " i * 0.5, 0, CASE WHEN i % 2 THEN 'a+b' ELSE '' END, NULL FROM k;"
                 "INSERT INTO clones VALUES(4, NULL, 200000, 0, 3, 0, 'x y(z)', NULL);"
                 "COMMIT");
    sqlite3_close(db);
    ck_assert_int_eq(metasim_results_open(path, &r), 0);
    ck_assert_int_eq(metasim_results_export_newick(r, in_tmp("nwk"), 0), 0);
    char *text = read_file(in_tmp("nwk/patient_4.nwk"));
    assert_newick(text, DEPTH + 1);
    ck_assert(strncmp(text, "((((", 4) == 0);
    ck_assert_ptr_nonnull(strstr(text, "c1_a+b:0.5"));
    ck_assert_ptr_nonnull(strstr(text, ",c200000_x_y_z_:3)c0;\n"));
    free(text);

    /* A lineage that is not a tree is refused, and leaves nothing. */
    db = open_db(path);
    exec_sql(db, "UPDATE clones SET parent = 7 WHERE clone = 3");
    sqlite3_close(db);
    ck_assert_int_eq(metasim_results_export_newick(r, in_tmp("bad"), 0), METASIM_E_IO);
    ck_assert_ptr_nonnull(strstr(metasim_results_errmsg(r), "does not fit a lineage"));
    ck_assert(!exists(in_tmp("bad"))); /* made by the failed call, so removed */
    metasim_results_close(r, NULL);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("results");
    TCase *tc = tcase_create("results");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_write_and_read_back);
    tcase_add_test(tc, test_writer_zeros_by_hand);
    tcase_add_test(tc, test_existing_file_and_overwrite);
    tcase_add_test(tc, test_unwritable_paths);
    tcase_add_test(tc, test_discard_leaves_nothing);
    tcase_add_test(tc, test_open_refuses_foreign_files);
    tcase_add_test(tc, test_export_csv_and_newick);
    tcase_add_test(tc, test_exposures);
    tcase_add_test(tc, test_values_and_karyotypes);
    tcase_add_test(tc, test_newick_deep_chain);
    suite_add_tcase(s, tc);
    return s;
}
