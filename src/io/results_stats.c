/*
 * The statistics tables of a results database (docs/results.md: km, tests, paired, landmarks),
 * computed when the database is closed from its endpoint rows, and the plain-text summary of a
 * trial that `metasim trial` and `metasim merge` print. The rows are read back from SQLite one
 * endpoint at a time, so memory holds the endpoint arrays of one endpoint, never the whole
 * trial; the statistics themselves are src/trial/trial_stats.c's.
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

/* The arms of a database, by number (1-based in the table, 0-based here). */
typedef struct arm_list {
    char **name;
    size_t n;
} arm_list;

static void arms_free(arm_list *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->name[i]);
    free(a->name);
    *a = (arm_list){0};
}

static int read_arms(metasim_results_t *r, arm_list *a)
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
    "INSERT INTO tests VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
    " ?16, ?17, ?18, ?19)",
    "INSERT INTO paired VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    "INSERT INTO landmarks VALUES(?1, ?2, ?3, ?4, ?5)",
};

typedef struct stats_ctx {
    metasim_results_t *r;
    const arm_list *arms;
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
                bind_real(st, 16, t->rmst_diff) | bind_real(st, 17, t->rmst_diff_lower) |
                bind_real(st, 18, t->rmst_diff_upper) | bind_real(st, 19, t->tau);
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
                bind_real(st, 10, p->gain_q90);
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

int ms_results_compute_stats(metasim_results_t *r)
{
    arm_list arms = {0};
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
out:
    for (int i = 0; i < N_STATS; i++)
        sqlite3_finalize(c.st[i]);
    sqlite3_finalize(names);
    sqlite3_finalize(select);
    free(design);
    free(endpoint);
    rows_free(&rows);
    arms_free(&arms);
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

int metasim_results_summary(metasim_results_t *r, char **text)
{
    if (!r || !text)
        return METASIM_E_ARG;
    *text = NULL;
    if (!r->db)
        return ms_results_error(r, METASIM_E_STATE, "not open");
    ms_strbuf out = {0};
    summary_screening(r, &out);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(r->db,
                                "SELECT endpoint, arm, reference_arm, n, events, median,"
                                " median_lower, median_upper, hr, hr_lower, hr_upper,"
                                " logrank_p, rmst_diff, rmst_diff_lower, rmst_diff_upper, tau"
                                " FROM tests ORDER BY rowid",
                                -1, &st, NULL);
    int width = 3;
    sqlite3_stmt *w = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT max(length(arm)) FROM arms", -1, &w, NULL) == SQLITE_OK &&
        sqlite3_step(w) == SQLITE_ROW && sqlite3_column_int(w, 0) > width)
        width = sqlite3_column_int(w, 0);
    sqlite3_finalize(w);
    if (rc == SQLITE_OK)
        ms_strbuf_printf(&out, "%s%-8s %-*s %7s %7s  %-24s %-22s %-10s %-26s %s\n",
                         out.len ? "\n" : "", "endpoint", width, "arm", "n", "events",
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
        if (reference) {
            snprintf(b, sizeof b, "reference");
            p[0] = '\0';
            cdiff[0] = '\0';
        } else {
            snprintf(b, sizeof b, "%s (%s-%s)", hr[0], hr[1], hr[2]);
            snprintf(cdiff, sizeof cdiff, "%s (%s to %s)", rm[0], rm[1], rm[2]);
        }
        ms_strbuf_printf(&out, "%-8s %-*s %7lld %7lld  %-24s %-22s %-10s %-26s %s\n",
                         (const char *)sqlite3_column_text(st, 0), width,
                         (const char *)sqlite3_column_text(st, 1),
                         (long long)sqlite3_column_int64(st, 3),
                         (long long)sqlite3_column_int64(st, 4), a, b, p, cdiff, tau);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT endpoint, arm, reference_arm, n, share_gain, share_loss,"
                           " mean_gain, median_gain, gain_q10, gain_q90 FROM paired"
                           " ORDER BY rowid",
                           -1, &st, NULL) == SQLITE_OK) {
        for (int i = 0; sqlite3_step(st) == SQLITE_ROW; i++) {
            char mean[24], q10[24], q90[24];
            years(mean, sizeof mean, col(st, 6), true);
            years(q10, sizeof q10, col(st, 8), true);
            years(q90, sizeof q90, col(st, 9), true);
            if (i == 0)
                ms_strbuf_puts(&out, "\npaired effects (each patient under an arm against the "
                                     "same patient under the reference):\n");
            ms_strbuf_printf(&out,
                             "%-8s %-*s %7lld patients: %.1f %% gain, %.1f %% lose; mean gain "
                             "%s y (10-90 %%: %s to %s)\n",
                             (const char *)sqlite3_column_text(st, 0), width,
                             (const char *)sqlite3_column_text(st, 1),
                             (long long)sqlite3_column_int64(st, 3), 100 * col(st, 4),
                             100 * col(st, 5), mean, q10, q90);
        }
    }
    sqlite3_finalize(st);
    if (ms_strbuf_failed(&out)) {
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
