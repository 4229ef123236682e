/*
 * The statistics tables of a results database (docs/results.md: km, tests, paired, landmarks,
 * relapse_sites, relapse_causes), computed when the database is closed from its endpoint and
 * clinical rows, and the plain-text summary of a trial that `metasim trial` and `metasim merge`
 * print. The rows are read back from SQLite one endpoint at a time, so memory holds the
 * endpoint arrays of one endpoint, never the whole trial; the survival statistics themselves
 * are src/trial/trial_stats.c's, the relapse tables plain counts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array_internal.h"
#include "io/results_internal.h"
#include "trial/trial_stats_internal.h"

/* The confidence level of every interval: 95 %. */
#define ALPHA 0.05

/* A list of names: the arms of a database by number (1-based in the table, 0-based here), the
 * sites or causes of first relapse. */
typedef struct name_list {
    char **name;
    size_t n;
} name_list;

static void names_free(name_list *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->name[i]);
    free(a->name);
    *a = (name_list){0};
}

/* The index of `name` in `l`, appended when new; -1 when out of memory. */
static long name_index(name_list *l, size_t *cap, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->name[i], name) == 0)
            return (long)i;
    char *copy = ms_results_concat(name, "");
    if (!copy || ms_array_reserve((void **)&l->name, cap, l->n + 1, sizeof *l->name, 8) != 0) {
        free(copy);
        return -1;
    }
    l->name[l->n] = copy;
    return (long)l->n++;
}

static int read_arms(metasim_results_t *r, name_list *a)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = sqlite3_prepare_v2(r->db, "SELECT arm FROM arms ORDER BY number", -1, &st, NULL);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        if ((rc = sqlite3_step(st)) != SQLITE_ROW)
            break;
        char *name = ms_results_concat((const char *)sqlite3_column_text(st, 0), "");
        if (!name || ms_array_reserve((void **)&a->name, &cap, a->n + 1, sizeof *a->name, 4)) {
            free(name);
            sqlite3_finalize(st);
            return ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
        }
        a->name[a->n++] = name;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ms_results_db_fail(r, rc, "reading the arms");
}

/* ------------------------------------------------------------ computing */

enum { KM, TEST, PAIRED, LANDMARK, N_STATS };

static const char *const stats_sql[N_STATS] = {
    "INSERT INTO km VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    ("INSERT INTO tests VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
     " ?16, ?17, ?18, ?19, ?20)"),
    ("INSERT INTO paired VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
     " ?14)"),
    "INSERT INTO landmarks VALUES(?1, ?2, ?3, ?4, ?5)",
};

typedef struct stats_ctx {
    metasim_results_t *r;
    const name_list *arms;
    const char *endpoint;
    sqlite3_stmt *st[N_STATS];
} stats_ctx;

static int bind_real(sqlite3_stmt *st, int i, double v)
{
    return isfinite(v) ? sqlite3_bind_double(st, i, v) : sqlite3_bind_null(st, i);
}

static int step(stats_ctx *c, int which, int bound)
{
    sqlite3_stmt *st = c->st[which];
    int rc = bound == SQLITE_OK ? sqlite3_step(st) : bound;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : ms_results_db_fail(c->r, rc, "writing the statistics");
}

static int on_km(void *user, size_t arm, ms_surv_ci transform, const ms_surv_row *row)
{
    stats_ctx *c = user;
    sqlite3_stmt *st = c->st[KM];
    int bound = sqlite3_bind_text(st, 1, c->arms->name[arm], -1, SQLITE_STATIC) |
                sqlite3_bind_text(st, 2, c->endpoint, -1, SQLITE_STATIC) |
                sqlite3_bind_text(st, 3, transform == MS_SURV_CI_LOG ? "log" : "log-log", -1,
                                  SQLITE_STATIC) |
                sqlite3_bind_double(st, 4, row->time) |
                sqlite3_bind_int64(st, 5, (sqlite3_int64)row->n_risk) |
                sqlite3_bind_int64(st, 6, (sqlite3_int64)row->n_event) |
                sqlite3_bind_int64(st, 7, (sqlite3_int64)row->n_censor) |
                sqlite3_bind_double(st, 8, row->surv) | bind_real(st, 9, row->lower) |
                bind_real(st, 10, row->upper);
    return step(c, KM, bound);
}

static int on_test(void *user, const ms_stats_test_row *t)
{
    stats_ctx *c = user;
    sqlite3_stmt *st = c->st[TEST];
    int bound = sqlite3_bind_text(st, 1, c->endpoint, -1, SQLITE_STATIC) |
                sqlite3_bind_text(st, 2, c->arms->name[t->arm], -1, SQLITE_STATIC) |
                (t->reference ? sqlite3_bind_null(st, 3)
                              : sqlite3_bind_text(st, 3, c->arms->name[0], -1, SQLITE_STATIC)) |
                sqlite3_bind_int64(st, 4, (sqlite3_int64)t->n) |
                sqlite3_bind_int64(st, 5, (sqlite3_int64)t->events) |
                bind_real(st, 6, t->median.median) | bind_real(st, 7, t->median.lower) |
                bind_real(st, 8, t->median.upper) | bind_real(st, 9, t->hr) |
                bind_real(st, 10, t->hr_lower) | bind_real(st, 11, t->hr_upper) |
                bind_real(st, 12, t->hr_p) | bind_real(st, 13, t->logrank_chisq) |
                bind_real(st, 14, t->logrank_p) | bind_real(st, 15, t->rmst) |
                bind_real(st, 16, t->rmst_diff) | bind_real(st, 17, t->rmst_diff_se) |
                bind_real(st, 18, t->rmst_diff_lower) | bind_real(st, 19, t->rmst_diff_upper) |
                bind_real(st, 20, t->tau);
    return step(c, TEST, bound);
}

static int on_paired(void *user, const ms_stats_paired_row *p)
{
    stats_ctx *c = user;
    sqlite3_stmt *st = c->st[PAIRED];
    int bound = sqlite3_bind_text(st, 1, c->endpoint, -1, SQLITE_STATIC) |
                sqlite3_bind_text(st, 2, c->arms->name[p->arm], -1, SQLITE_STATIC) |
                sqlite3_bind_text(st, 3, c->arms->name[0], -1, SQLITE_STATIC) |
                sqlite3_bind_int64(st, 4, (sqlite3_int64)p->n) | bind_real(st, 5, p->share_gain) |
                bind_real(st, 6, p->share_loss) | bind_real(st, 7, p->mean_gain) |
                bind_real(st, 8, p->median_gain) | bind_real(st, 9, p->gain_q10) |
                bind_real(st, 10, p->gain_q90) | bind_real(st, 11, p->rmst_gain) |
                bind_real(st, 12, p->rmst_gain_se) | bind_real(st, 13, p->rmst_gain_lower) |
                bind_real(st, 14, p->rmst_gain_upper);
    return step(c, PAIRED, bound);
}

static int on_landmark(void *user, const ms_stats_landmark_row *l)
{
    stats_ctx *c = user;
    sqlite3_stmt *st = c->st[LANDMARK];
    int bound = sqlite3_bind_text(st, 1, c->arms->name[l->arm], -1, SQLITE_STATIC) |
                sqlite3_bind_text(st, 2, c->endpoint, -1, SQLITE_STATIC);
    for (int k = 0; k < MS_STATS_LANDMARKS; k++)
        bound |= bind_real(st, 3 + k, l->share_after[k]);
    return step(c, LANDMARK, bound);
}

/* One endpoint's rows, reused from endpoint to endpoint. */
typedef struct endpoint_rows {
    uint32_t *patient, *arm;
    double *time;
    int *status;
    size_t n, cap;
} endpoint_rows;

static void rows_free(endpoint_rows *e)
{
    free(e->patient);
    free(e->arm);
    free(e->time);
    free(e->status);
}

static int rows_reserve(endpoint_rows *e, size_t need)
{
    if (need <= e->cap)
        return 0;
    size_t cap = e->cap ? 2 * e->cap : 1024;
    while (cap < need)
        cap *= 2;
    uint32_t *p = realloc(e->patient, cap * sizeof *p);
    if (p)
        e->patient = p;
    uint32_t *a = realloc(e->arm, cap * sizeof *a);
    if (a)
        e->arm = a;
    double *t = realloc(e->time, cap * sizeof *t);
    if (t)
        e->time = t;
    int *s = realloc(e->status, cap * sizeof *s);
    if (s)
        e->status = s;
    if (!p || !a || !t || !s)
        return METASIM_E_NOMEM;
    e->cap = cap;
    return 0;
}

/* Reads the enrolled rows (those with an arm) of endpoint `name`, by patient then arm. */
static int read_endpoint(metasim_results_t *r, sqlite3_stmt *st, const char *name, endpoint_rows *e)
{
    e->n = 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (rows_reserve(e, e->n + 1) != 0) {
            sqlite3_reset(st);
            return ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
        }
        sqlite3_int64 patient = sqlite3_column_int64(st, 0), number = sqlite3_column_int64(st, 1);
        double time = sqlite3_column_double(st, 2);
        sqlite3_int64 status = sqlite3_column_int64(st, 3);
        if (patient < 0 || patient > UINT32_MAX || number < 1 || !(time >= 0) ||
            (status != 0 && status != 1)) {
            sqlite3_reset(st);
            return ms_results_fail(r, METASIM_E_IO,
                                   "damaged metasim results: endpoint %s of patient %lld", name,
                                   (long long)patient);
        }
        e->patient[e->n] = (uint32_t)patient;
        e->arm[e->n] = (uint32_t)(number - 1);
        e->time[e->n] = time;
        e->status[e->n] = (int)status;
        e->n++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : ms_results_db_fail(r, rc, "reading the endpoints");
}

/* ------------------------------------------------------------ first relapses */

/* The causes of docs/clinic.md in its order: every arm lists them all, zeros included. */
static const char *const relapse_causes[] = {
    "acquired resistance", "pre-existing resistance",     "dormancy escape",
    "adaptive state",      "microenvironment protection", "no resistance"};

/* First relapses of each arm with patients, by the value of `column` of `clinical`. */
typedef struct relapse_counts {
    size_t n_arms;
    long long *patients, *relapses; /* per arm (number - 1); patients 0: no rows */
    long long *count;               /* per arm and key: count[arm * cap_keys + key] */
    size_t cap_keys;
} relapse_counts;

/* Reads the patients and first relapses of each arm. */
static int read_relapse_totals(metasim_results_t *r, relapse_counts *c)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(r->db,
                                "SELECT a.number, count(*), sum(c.relapse IS NOT NULL) FROM"
                                " clinical c JOIN arms a ON a.arm = c.arm GROUP BY a.number",
                                -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 number = sqlite3_column_int64(st, 0);
        if (number >= 1 && (size_t)number <= c->n_arms) {
            c->patients[number - 1] = sqlite3_column_int64(st, 1);
            c->relapses[number - 1] = sqlite3_column_int64(st, 2);
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ms_results_db_fail(r, rc, "reading the first relapses");
}

/* Fills table `table` (relapse_sites, relapse_causes) with, for each arm with patients and each
 * key (the listed ones first, then any other the clinical rows hold), the arm's first relapses
 * whose `column` is the key and their share of the arm's first relapses (NULL without any). */
static int relapse_table(metasim_results_t *r, const name_list *arms, relapse_counts *c,
                         name_list *keys, size_t *cap, const char *column, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT a.number, c.%s, count(*) FROM clinical c JOIN arms a ON a.arm = c.arm"
             " WHERE c.relapse IS NOT NULL AND c.%s IS NOT NULL GROUP BY a.number, c.%s",
             column, column, column);
    /* The keys the database adds are few (a model's sites, the causes): a generous bound
     * keeps the counts one array. */
    c->cap_keys = keys->n + 64;
    free(c->count);
    c->count = calloc(c->n_arms * c->cap_keys, sizeof *c->count);
    if (!c->count)
        return ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    sqlite3_stmt *st = NULL;
    int rc = 0, src = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
    while (rc == 0 && src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        src = SQLITE_OK;
        sqlite3_int64 number = sqlite3_column_int64(st, 0);
        long key = name_index(keys, cap, (const char *)sqlite3_column_text(st, 1));
        if (key < 0)
            rc = ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
        else if ((size_t)key >= c->cap_keys)
            rc = ms_results_fail(r, METASIM_E_IO, "damaged metasim results: too many %ss", column);
        else if (number >= 1 && (size_t)number <= c->n_arms)
            c->count[(size_t)(number - 1) * c->cap_keys + (size_t)key] =
                sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc == 0 && src != SQLITE_DONE)
        rc = ms_results_db_fail(r, src, "reading the first relapses");
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES(?1, ?2, ?3, ?4)", table);
    st = NULL;
    src = rc == 0 ? sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) : SQLITE_OK;
    if (rc == 0 && src != SQLITE_OK)
        rc = ms_results_db_fail(r, src, "writing the first relapses");
    for (size_t a = 0; a < arms->n && rc == 0; a++) {
        if (c->patients[a] == 0)
            continue;
        for (size_t k = 0; k < keys->n && rc == 0; k++) {
            long long n = c->count[a * c->cap_keys + k], all = c->relapses[a];
            int bound = sqlite3_bind_text(st, 1, arms->name[a], -1, SQLITE_STATIC) |
                        sqlite3_bind_text(st, 2, keys->name[k], -1, SQLITE_STATIC) |
                        sqlite3_bind_int64(st, 3, n) |
                        (all > 0 ? sqlite3_bind_double(st, 4, (double)n / (double)all)
                                 : sqlite3_bind_null(st, 4));
            src = bound == SQLITE_OK ? sqlite3_step(st) : bound;
            sqlite3_reset(st);
            if (src != SQLITE_DONE)
                rc = ms_results_db_fail(r, src, "writing the first relapses");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* The relapse_sites and relapse_causes tables; `sites` lists the model's sites in its order
 * (from the endpoints' names). */
static int compute_relapses(metasim_results_t *r, const name_list *arms, name_list *sites,
                            size_t *cap_sites)
{
    relapse_counts c = {.n_arms = arms->n};
    name_list causes = {0};
    size_t cap_causes = 0;
    int rc = 0;
    c.patients = calloc(arms->n, sizeof *c.patients);
    c.relapses = calloc(arms->n, sizeof *c.relapses);
    if (!c.patients || !c.relapses)
        rc = ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    for (size_t k = 0; k < sizeof relapse_causes / sizeof *relapse_causes && rc == 0; k++)
        if (name_index(&causes, &cap_causes, relapse_causes[k]) < 0)
            rc = ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    if (rc == 0)
        rc = read_relapse_totals(r, &c);
    if (rc == 0)
        rc = relapse_table(r, arms, &c, sites, cap_sites, "relapse_site", "relapse_sites");
    if (rc == 0)
        rc = relapse_table(r, arms, &c, &causes, &cap_causes, "relapse_cause", "relapse_causes");
    free(c.patients);
    free(c.relapses);
    free(c.count);
    names_free(&causes);
    return rc;
}

int ms_results_compute_stats(metasim_results_t *r)
{
    name_list arms = {0}, sites = {0};
    size_t cap_sites = 0;
    endpoint_rows rows = {0};
    stats_ctx c = {.r = r, .arms = &arms};
    sqlite3_stmt *names = NULL, *select = NULL;
    char *design = NULL, *endpoint = NULL;
    int rc = read_arms(r, &arms);
    if (rc != 0 || arms.n == 0)
        goto out;
    if ((rc = ms_results_get_meta(r, "design", &design)) < 0)
        goto out;
    rc = 0;
    bool paired = design && strcmp(design, "paired") == 0;
    for (int i = 0; i < N_STATS && rc == 0; i++) {
        int prc = sqlite3_prepare_v2(r->db, stats_sql[i], -1, &c.st[i], NULL);
        if (prc != SQLITE_OK)
            rc = ms_results_db_fail(r, prc, "preparing the statistics");
    }
    int prc = sqlite3_prepare_v2(r->db,
                                 "SELECT endpoint FROM endpoints GROUP BY endpoint"
                                 " ORDER BY min(rowid)",
                                 -1, &names, NULL);
    if (prc == SQLITE_OK)
        prc = sqlite3_prepare_v2(r->db,
                                 "SELECT e.patient, a.number, e.time, e.status FROM endpoints e"
                                 " JOIN arms a ON a.arm = e.arm WHERE e.endpoint = ?1"
                                 " ORDER BY e.patient, a.number",
                                 -1, &select, NULL);
    if (rc == 0 && prc != SQLITE_OK)
        rc = ms_results_db_fail(r, prc, "preparing the statistics");
    ms_stats_sink sink = {&c, on_km, on_test, on_paired, on_landmark};
    while (rc == 0) {
        int src = sqlite3_step(names);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = ms_results_db_fail(r, src, "reading the endpoints");
            break;
        }
        free(endpoint);
        endpoint = ms_results_concat((const char *)sqlite3_column_text(names, 0), "");
        if (!endpoint) {
            rc = ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
            break;
        }
        c.endpoint = endpoint;
        if (strncmp(endpoint, "relapse_", 8) == 0 && endpoint[8] &&
            name_index(&sites, &cap_sites, endpoint + 8) < 0) {
            rc = ms_results_fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
            break;
        }
        if ((rc = read_endpoint(r, select, endpoint, &rows)) != 0)
            break;
        ms_stats_data d = {rows.n, rows.patient, rows.arm, rows.time, rows.status};
        int src2 = ms_stats_endpoint(&d, arms.n, paired, ALPHA, &sink);
        if (src2 != 0 && !r->failed)
            rc = ms_results_fail(r, src2, "computing the statistics of %s: %s", endpoint,
                                 metasim_strerror(src2));
        else
            rc = src2 ? r->failed : 0;
    }
    if (rc == 0)
        rc = compute_relapses(r, &arms, &sites, &cap_sites);
out:
    for (int i = 0; i < N_STATS; i++)
        sqlite3_finalize(c.st[i]);
    sqlite3_finalize(names);
    sqlite3_finalize(select);
    free(design);
    free(endpoint);
    rows_free(&rows);
    names_free(&arms);
    names_free(&sites);
    return rc;
}

/* ------------------------------------------------------------ the summary */

/* "12.34" (with `sign`, "+12.34") in years from days, or "NA". */
static void years(char *out, size_t size, double days, bool sign)
{
    double y = days / MS_STATS_DAYS_PER_YEAR;
    if (!isfinite(days))
        snprintf(out, size, "NA");
    else if (sign)
        snprintf(out, size, "%+.2f", y);
    else
        snprintf(out, size, "%.2f", y);
}

/* A hazard ratio ("0.731") or a p-value ("0.0123"), or "NA". */
static void number(char *out, size_t size, double v, bool p_value)
{
    if (!isfinite(v))
        snprintf(out, size, "NA");
    else if (p_value)
        snprintf(out, size, "%.3g", v);
    else
        snprintf(out, size, "%.3f", v);
}

static double col(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void summary_screening(metasim_results_t *r, ms_strbuf *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT count(*), sum(enrolled) FROM screening", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) == 0) {
        sqlite3_finalize(st);
        return;
    }
    long long n = sqlite3_column_int64(st, 0), enrolled = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    ms_strbuf_printf(out, "screening: %lld patients, %lld enrolled (%.1f %%)", n, enrolled,
                     100.0 * (double)enrolled / (double)n);
    st = NULL;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT reason, count(*) FROM screening WHERE NOT enrolled"
                           " GROUP BY reason ORDER BY count(*) DESC, reason",
                           -1, &st, NULL) == SQLITE_OK) {
        for (int i = 0; sqlite3_step(st) == SQLITE_ROW; i++)
            ms_strbuf_printf(out, "%s %s %lld",
                             i ? "," : "; not enrolled:", (const char *)sqlite3_column_text(st, 0),
                             (long long)sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
    ms_strbuf_puts(out, "\n");
}

/* Why a hazard ratio was not estimated, from the events of the arm and of the reference. */
static void hr_note(ms_strbuf *notes, const char *endpoint, int width, const char *arm,
                    long long events, const char *reference, long long ref_events)
{
    if (!notes->len)
        ms_strbuf_puts(notes, "\nhazard ratios not estimable (an arm without events has no "
                              "finite Cox estimate; stored as NULL):\n");
    ms_strbuf_printf(notes, "%-8s %-*s: ", endpoint, width, arm);
    if (!reference)
        ms_strbuf_puts(notes, "the reference arm has no patients\n");
    else if (events == 0 && ref_events == 0)
        ms_strbuf_puts(notes, "no events in either arm\n");
    else if (events == 0 || ref_events == 0)
        ms_strbuf_printf(notes, "no events in %s\n", events == 0 ? arm : reference);
    else
        ms_strbuf_puts(notes, "the partial likelihood has no finite maximum\n");
}

/* One line per endpoint and arm: n, events, median, hazard ratio, log-rank p, RMST
 * difference. The cause-specific relapse_<site> endpoints are left to the tables (the
 * first-relapse block sums them up). */
static int summary_tests(metasim_results_t *r, ms_strbuf *out, int width)
{
    sqlite3_stmt *st = NULL;
    ms_strbuf notes = {0};
    int rc = sqlite3_prepare_v2(r->db,
                                "SELECT t.endpoint, t.arm, t.reference_arm, t.n, t.events,"
                                " t.median, t.median_lower, t.median_upper, t.hr, t.hr_lower,"
                                " t.hr_upper, t.logrank_p, t.rmst_diff, t.rmst_diff_lower,"
                                " t.rmst_diff_upper, t.tau, f.events, f.arm FROM tests t"
                                " LEFT JOIN tests f ON f.endpoint = t.endpoint AND"
                                " f.reference_arm IS NULL AND t.reference_arm IS NOT NULL"
                                " WHERE substr(t.endpoint, 1, 8) != 'relapse_' ORDER BY t.rowid",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        ms_strbuf_printf(out, "%s%-8s %-*s %7s %7s  %-24s %-22s %-10s %-26s %s\n",
                         out->len ? "\n" : "", "endpoint", width, "arm", "n", "events",
                         "median, y (95% CI)", "HR (95% CI)", "log-rank p", "RMST diff, y (95% CI)",
                         "tau, y");
    while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        char med[3][24], hr[3][24], p[24], rm[3][24], tau[24], a[96], b[96], cdiff[96];
        years(med[0], sizeof med[0], col(st, 5), false);
        years(med[1], sizeof med[1], col(st, 6), false);
        years(med[2], sizeof med[2], col(st, 7), false);
        bool reference = sqlite3_column_type(st, 2) == SQLITE_NULL;
        number(hr[0], sizeof hr[0], col(st, 8), false);
        number(hr[1], sizeof hr[1], col(st, 9), false);
        number(hr[2], sizeof hr[2], col(st, 10), false);
        number(p, sizeof p, col(st, 11), true);
        years(rm[0], sizeof rm[0], col(st, 12), true);
        years(rm[1], sizeof rm[1], col(st, 13), true);
        years(rm[2], sizeof rm[2], col(st, 14), true);
        years(tau, sizeof tau, col(st, 15), false);
        snprintf(a, sizeof a, "%s (%s-%s)", med[0], med[1], med[2]);
        const char *endpoint = (const char *)sqlite3_column_text(st, 0);
        const char *arm = (const char *)sqlite3_column_text(st, 1);
        long long events = (long long)sqlite3_column_int64(st, 4);
        if (reference) {
            snprintf(b, sizeof b, "reference");
            p[0] = '\0';
            cdiff[0] = '\0';
        } else {
            if (isnan(col(st, 8))) {
                snprintf(b, sizeof b, "not estimable");
                hr_note(&notes, endpoint, width, arm, events,
                        (const char *)sqlite3_column_text(st, 17),
                        (long long)sqlite3_column_int64(st, 16));
            } else {
                snprintf(b, sizeof b, "%s (%s-%s)", hr[0], hr[1], hr[2]);
            }
            snprintf(cdiff, sizeof cdiff, "%s (%s to %s)", rm[0], rm[1], rm[2]);
        }
        ms_strbuf_printf(out, "%-8s %-*s %7lld %7lld  %-24s %-22s %-10s %-26s %s\n", endpoint,
                         width, arm, (long long)sqlite3_column_int64(st, 3), events, a, b, p, cdiff,
                         tau);
    }
    sqlite3_finalize(st);
    ms_strbuf_puts(out, ms_strbuf_str(&notes));
    ms_strbuf_free(&notes);
    return rc;
}

/* The paired effects, each with the restricted-mean difference unpaired and paired. */
static void summary_paired(metasim_results_t *r, ms_strbuf *out, int width)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT p.endpoint, p.arm, p.n, p.share_gain, p.share_loss,"
                           " p.mean_gain, p.gain_q10, p.gain_q90, p.rmst_gain, p.rmst_gain_se,"
                           " p.rmst_gain_lower, p.rmst_gain_upper, t.rmst_diff, t.rmst_diff_se,"
                           " t.rmst_diff_lower, t.rmst_diff_upper, t.tau FROM paired p"
                           " LEFT JOIN tests t ON t.endpoint = p.endpoint AND t.arm = p.arm"
                           " WHERE substr(p.endpoint, 1, 8) != 'relapse_' ORDER BY p.rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return;
    }
    for (int i = 0; sqlite3_step(st) == SQLITE_ROW; i++) {
        char mean[24], q10[24], q90[24], v[8][24], tau[24];
        years(mean, sizeof mean, col(st, 5), true);
        years(q10, sizeof q10, col(st, 6), true);
        years(q90, sizeof q90, col(st, 7), true);
        /* paired: gain, SE, lower, upper; unpaired: the same from tests. The standard errors
         * get three digits, so that the two can be told apart. */
        for (int k = 0; k < 4; k++) {
            years(v[k], sizeof v[k], col(st, 8 + k), k != 1);
            years(v[4 + k], sizeof v[4 + k], col(st, 12 + k), k != 1);
        }
        for (int k = 1; k < 8; k += 4)
            if (isfinite(col(st, k == 1 ? 9 : 13)))
                snprintf(v[k], sizeof v[k], "%.3g",
                         col(st, k == 1 ? 9 : 13) / MS_STATS_DAYS_PER_YEAR);
        years(tau, sizeof tau, col(st, 16), false);
        if (i == 0)
            ms_strbuf_puts(out, "\npaired effects (each patient under an arm against the "
                                "same patient under the reference):\n");
        ms_strbuf_printf(out,
                         "%-8s %-*s %7lld patients: %.1f %% gain, %.1f %% lose; mean gain "
                         "%s y (10-90 %%: %s to %s)\n",
                         (const char *)sqlite3_column_text(st, 0), width,
                         (const char *)sqlite3_column_text(st, 1),
                         (long long)sqlite3_column_int64(st, 2), 100 * col(st, 3), 100 * col(st, 4),
                         mean, q10, q90);
        ms_strbuf_printf(out,
                         "%-8s RMST difference to %s y, unpaired %s (SE %s, %s to %s), paired %s "
                         "(SE %s, %s to %s)\n",
                         "", tau, v[4], v[5], v[6], v[7], v[0], v[1], v[2], v[3]);
    }
    sqlite3_finalize(st);
}

/* A first-relapse table (relapse_sites or relapse_causes) with the arms as columns: n and the
 * share of the arm's first relapses; keys without a relapse in any arm are left out. Returns 0
 * or METASIM_E_NOMEM. */
static int summary_relapses(metasim_results_t *r, ms_strbuf *out, int width, const char *table,
                            const char *key, const char *title)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT arm, %s, n, share FROM %s ORDER BY rowid", key, table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    name_list arms = {0}, keys = {0};
    size_t cap_arms = 0, cap_keys = 0, n_rows = 0, cap_rows = 0;
    struct cell {
        long arm, key;
        long long n;
        double share;
    } *rows = NULL;
    bool failed = false;
    while (!failed && sqlite3_step(st) == SQLITE_ROW) {
        long a = name_index(&arms, &cap_arms, (const char *)sqlite3_column_text(st, 0));
        long k = name_index(&keys, &cap_keys, (const char *)sqlite3_column_text(st, 1));
        failed = a < 0 || k < 0 ||
                 ms_array_reserve((void **)&rows, &cap_rows, n_rows + 1, sizeof *rows, 64) != 0;
        if (!failed)
            rows[n_rows++] = (struct cell){a, k, sqlite3_column_int64(st, 2), col(st, 3)};
    }
    sqlite3_finalize(st);
    long long *all = NULL;
    if (failed || n_rows == 0)
        goto out;
    int cw = width > 16 ? width : 16;
    int kw = (int)strlen(key);
    for (size_t k = 0; k < keys.n; k++)
        kw = (int)strlen(keys.name[k]) > kw ? (int)strlen(keys.name[k]) : kw;
    ms_strbuf_printf(out, "\n%s (n and share of the arm's first relapses):\n%-*s", title, kw, key);
    for (size_t a = 0; a < arms.n; a++)
        ms_strbuf_printf(out, "  %-*s", a + 1 < arms.n ? cw : 0, arms.name[a]);
    ms_strbuf_puts(out, "\n");
    all = calloc(arms.n, sizeof *all);
    failed = !all;
    for (size_t k = 0; k < keys.n && all; k++) {
        bool any = false;
        for (size_t i = 0; i < n_rows; i++)
            any |= rows[i].key == (long)k && rows[i].n > 0;
        if (!any)
            continue;
        ms_strbuf_printf(out, "%-*s", kw, keys.name[k]);
        for (size_t a = 0; a < arms.n; a++) {
            char cell[48] = "";
            for (size_t i = 0; i < n_rows; i++) {
                if (rows[i].key != (long)k || rows[i].arm != (long)a)
                    continue;
                all[a] += rows[i].n;
                if (rows[i].n > 0 && isfinite(rows[i].share))
                    snprintf(cell, sizeof cell, "%lld (%.1f %%)", rows[i].n, 100 * rows[i].share);
                else
                    snprintf(cell, sizeof cell, "%lld", rows[i].n);
            }
            ms_strbuf_printf(out, "  %-*s", a + 1 < arms.n ? cw : 0, cell);
        }
        ms_strbuf_puts(out, "\n");
    }
    if (all) {
        ms_strbuf_printf(out, "%-*s", kw, "all");
        for (size_t a = 0; a < arms.n; a++)
            ms_strbuf_printf(out, "  %-*lld", a + 1 < arms.n ? cw : 0, all[a]);
        ms_strbuf_puts(out, "\n");
    }
out:
    free(all);
    free(rows);
    names_free(&arms);
    names_free(&keys);
    return failed ? METASIM_E_NOMEM : 0;
}

int metasim_results_summary(metasim_results_t *r, char **text)
{
    if (!r || !text)
        return METASIM_E_ARG;
    *text = NULL;
    if (!r->db)
        return ms_results_error(r, METASIM_E_STATE, "not open");
    ms_strbuf out = {0};
    summary_screening(r, &out);
    int width = 3;
    sqlite3_stmt *w = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT max(length(arm)) FROM arms", -1, &w, NULL) == SQLITE_OK &&
        sqlite3_step(w) == SQLITE_ROW && sqlite3_column_int(w, 0) > width)
        width = sqlite3_column_int(w, 0);
    sqlite3_finalize(w);
    int rc = summary_tests(r, &out, width), nomem = 0;
    if (rc == SQLITE_OK)
        summary_paired(r, &out, width);
    /* First relapses: the tables, or one line when no arm has any. */
    sqlite3_stmt *q = NULL;
    double relapses = NAN;
    if (rc == SQLITE_OK &&
        sqlite3_prepare_v2(r->db, "SELECT sum(n) FROM relapse_sites", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        relapses = col(q, 0);
    sqlite3_finalize(q);
    if (relapses == 0)
        ms_strbuf_puts(&out, "\nno first relapse in any arm\n");
    if (relapses > 0)
        nomem = summary_relapses(r, &out, width, "relapse_sites", "site", "first relapse by site");
    if (relapses > 0 && nomem == 0)
        nomem =
            summary_relapses(r, &out, width, "relapse_causes", "cause", "first relapse by cause");
    if (nomem || ms_strbuf_failed(&out)) {
        ms_strbuf_free(&out);
        return ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    }
    if (rc != SQLITE_OK) {
        ms_strbuf_free(&out);
        return ms_results_error(r, METASIM_E_IO, "cannot read the statistics: %s",
                                sqlite3_errmsg(r->db));
    }
    *text = out.len ? ms_strbuf_take(&out) : ms_results_concat("", "");
    return *text ? 0
                 : ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
}
