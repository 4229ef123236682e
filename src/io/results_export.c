/*
 * Export of a results database (docs/results.md): every table as tidy long CSV, and one Newick
 * lineage tree per patient. Each output file is written under a temporary name in the target
 * directory and renamed at the end, and the temporaries are removed on failure.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/results_internal.h"

/* The tables in export order, each with the query that exports it: rows by patient, then arm
 * (NULL, no arm, first), then the table's natural key; events, exposures (within a time) and
 * endpoints in the order they happened and were written within a (patient, arm), parameters in
 * the order written within a patient (the patient model's order); meta and the statistics in
 * the order written. The results digest reads the tables marked `digest` with the same queries
 * (results_merge.c), so their order must not depend on how the file was put together. */
const ms_results_table ms_results_tables[] = {
    {"meta", "SELECT key, value FROM meta ORDER BY rowid", false},
    {"arms", "SELECT arm, number, allocation FROM arms ORDER BY number", false},
    {"screening", "SELECT patient, enrolled, reason, subtype FROM screening ORDER BY patient",
     true},
    {"parameters", "SELECT patient, path, value, unit FROM parameters ORDER BY patient, rowid",
     true},
    {"patients",
     "SELECT patient, arm, stop_reason, end_time, cells, shed, lost, colonised,"
     " self_seeded, lesions FROM patients ORDER BY patient, arm",
     true},
    {"lesions",
     "SELECT patient, arm, lesion, site, parent, founded, founder_clone, final_cells"
     " FROM lesions ORDER BY patient, arm, lesion",
     true},
    {"clones",
     "SELECT patient, arm, clone, parent, born, origin_lesion, loci, karyotype FROM clones"
     " ORDER BY patient, arm, clone",
     true},
    {"events",
     "SELECT patient, arm, time, kind, lesion, clone, site, detail, value FROM events"
     " ORDER BY patient, arm, time, rowid",
     true},
    {"samples",
     "SELECT patient, arm, time, lesion, site, clone, state, cells FROM samples"
     " ORDER BY patient, arm, time, lesion, clone, state",
     false},
    {"exposures",
     "SELECT patient, arm, time, drug, concentration, effect, target, value FROM exposures"
     " ORDER BY patient, arm, time, rowid",
     true},
    {"clinical",
     "SELECT patient, arm, diagnosis, t_stage, n_stage, m_stage, primary_diameter,"
     " surgery, relapse, relapse_local, relapse_distant, relapse_site, death,"
     " progression, relapse_cause, assigned, treatment"
     " FROM clinical ORDER BY patient, arm",
     true},
    {"endpoints",
     "SELECT patient, arm, endpoint, time, status FROM endpoints"
     " ORDER BY patient, arm, rowid",
     true},
    {"km",
     "SELECT arm, endpoint, transform, time, n_risk, n_event, n_censor, surv, lower, upper"
     " FROM km ORDER BY rowid",
     false},
    {"tests",
     "SELECT endpoint, arm, reference_arm, n, events, median, median_lower, median_upper,"
     " hr, hr_lower, hr_upper, hr_p, logrank_chisq, logrank_p, rmst, rmst_diff,"
     " rmst_diff_se, rmst_diff_lower, rmst_diff_upper, tau FROM tests ORDER BY rowid",
     false},
    {"paired",
     "SELECT endpoint, arm, reference_arm, n, share_gain, share_loss, mean_gain,"
     " median_gain, gain_q10, gain_q90, rmst_gain, rmst_gain_se, rmst_gain_lower,"
     " rmst_gain_upper FROM paired ORDER BY rowid",
     false},
    {"landmarks",
     "SELECT arm, endpoint, share_after_3y, share_after_5y, share_after_10y"
     " FROM landmarks ORDER BY rowid",
     false},
    {"relapse_sites", "SELECT arm, site, n, share FROM relapse_sites ORDER BY rowid", false},
    {"relapse_causes", "SELECT arm, cause, n, share FROM relapse_causes ORDER BY rowid", false},
};
const size_t ms_results_n_tables = sizeof ms_results_tables / sizeof ms_results_tables[0];

/* Makes directory `dir` and its missing parents. */
static int make_dirs(metasim_results_t *r, const char *dir)
{
    char *p = ms_results_concat(dir, "");
    if (!p)
        return ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        struct stat st;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            rc = ms_results_error(r, METASIM_E_IO, "cannot create directory %s: %s", p,
                                  strerror(errno));
            break;
        }
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
            int err = stat(p, &st) != 0 ? errno : ENOTDIR;
            rc = ms_results_error(r, METASIM_E_IO, "cannot create directory %s: %s", p,
                                  strerror(err));
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return rc;
}

/* Checks the handle and makes `dir`; *created says whether it had to be made (so that a failed
 * export can remove it again). */
static int check_exportable(metasim_results_t *r, const char *dir, bool *created)
{
    if (r->writing || !r->db)
        return ms_results_error(r, METASIM_E_STATE, "export needs a database opened for reading");
    if (!dir || !*dir)
        return ms_results_error(r, METASIM_E_ARG, "no output directory given");
    struct stat st;
    *created = stat(dir, &st) != 0;
    return make_dirs(r, dir);
}

/* A set of output files written under temporary names and renamed at the end. */
typedef struct outputs {
    char **final, **temp;
    size_t n, cap;
    size_t written; /* temporaries that exist */
} outputs;

static int outputs_add(outputs *o, const char *dir, const char *name)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        char **f = realloc(o->final, cap * sizeof *f);
        if (!f)
            return METASIM_E_NOMEM;
        o->final = f;
        char **t = realloc(o->temp, cap * sizeof *t);
        if (!t)
            return METASIM_E_NOMEM;
        o->temp = t;
        o->cap = cap;
    }
    ms_strbuf f = {0}, t = {0};
    ms_strbuf_printf(&f, "%s/%s", dir, name);
    ms_strbuf_printf(&t, "%s/%s.partial", dir, name);
    o->final[o->n] = ms_strbuf_take(&f);
    o->temp[o->n] = ms_strbuf_take(&t);
    o->n++;
    return o->final[o->n - 1] && o->temp[o->n - 1] ? 0 : METASIM_E_NOMEM;
}

/* Refuses existing outputs unless overwriting. */
static int outputs_check(metasim_results_t *r, const outputs *o, int overwrite)
{
    struct stat st;
    for (size_t i = 0; i < o->n; i++) {
        if (stat(o->final[i], &st) == 0 && S_ISDIR(st.st_mode))
            return ms_results_error(r, METASIM_E_IO, "cannot write %s: is a directory",
                                    o->final[i]);
        if (!overwrite && lstat(o->final[i], &st) == 0)
            return ms_results_error(r, METASIM_E_EXISTS, "%s exists", o->final[i]);
    }
    return 0;
}

/* Renames every temporary into place (rc == 0), or removes them; frees the set. */
static int outputs_finish(metasim_results_t *r, outputs *o, int rc)
{
    for (size_t i = 0; i < o->written; i++) {
        if (rc == 0 && rename(o->temp[i], o->final[i]) != 0)
            rc = ms_results_error(r, METASIM_E_IO, "cannot rename %s into place: %s", o->temp[i],
                                  strerror(errno));
        if (rc != 0)
            unlink(o->temp[i]);
    }
    for (size_t i = 0; i < o->n; i++) {
        free(o->final[i]);
        free(o->temp[i]);
    }
    free(o->final);
    free(o->temp);
    *o = (outputs){0};
    return rc;
}

/* Opens output i's temporary (replacing a stale one). */
static FILE *outputs_open(metasim_results_t *r, outputs *o, size_t i)
{
    FILE *f = fopen(o->temp[i], "w");
    if (!f)
        ms_results_error(r, METASIM_E_IO, "cannot create %s: %s", o->temp[i], strerror(errno));
    else
        o->written = i + 1;
    return f;
}

static int outputs_close(metasim_results_t *r, outputs *o, size_t i, FILE *f, int rc)
{
    int bad = ferror(f) != 0;
    int err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad && rc == 0)
        rc = ms_results_error(r, METASIM_E_IO, "cannot write %s: %s", o->temp[i], strerror(err));
    return rc;
}

/* One CSV field (RFC 4180: quoted when it holds a comma, a quote or a line break). */
static void put_field(FILE *f, sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL: return;
    case SQLITE_INTEGER: fprintf(f, "%lld", (long long)sqlite3_column_int64(st, col)); return;
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, col);
        if (isinf(v))
            fputs(v > 0 ? "Inf" : "-Inf", f);
        else
            fprintf(f, "%.17g", v);
        return;
    }
    default: break;
    }
    const char *text = (const char *)sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (!text)
        return;
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = text[i] == ',' || text[i] == '"' || text[i] == '\n' || text[i] == '\r';
    if (!quote) {
        fwrite(text, 1, n, f);
        return;
    }
    putc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '"')
            putc('"', f);
        putc(text[i], f);
    }
    putc('"', f);
}

/* Writes the rows of `select` to f with a header; returns 0 or an SQLite code. */
static int write_csv(FILE *f, sqlite3 *db, const char *select)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, select, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    int cols = sqlite3_column_count(st);
    for (int c = 0; c < cols; c++)
        fprintf(f, "%s%s", c ? "," : "", sqlite3_column_name(st, c));
    putc('\n', f);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < cols; c++) {
            if (c)
                putc(',', f);
            put_field(f, st, c);
        }
        putc('\n', f);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

int metasim_results_export_csv(metasim_results_t *r, const char *dir, int overwrite)
{
    if (!r)
        return METASIM_E_ARG;
    bool created = false;
    int rc = check_exportable(r, dir, &created);
    if (rc != 0)
        return rc;
    outputs o = {0};
    for (size_t i = 0; i < ms_results_n_tables && rc == 0; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.csv", ms_results_tables[i].name);
        if (outputs_add(&o, dir, name) != 0)
            rc = ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    }
    if (rc == 0)
        rc = outputs_check(r, &o, overwrite);
    for (size_t i = 0; i < ms_results_n_tables && rc == 0; i++) {
        FILE *f = outputs_open(r, &o, i);
        if (!f) {
            rc = METASIM_E_IO;
            break;
        }
        int src = write_csv(f, r->db, ms_results_tables[i].select);
        if (src != 0)
            rc = ms_results_error(r, src == SQLITE_NOMEM ? METASIM_E_NOMEM : METASIM_E_IO,
                                  "reading table %s: %s", ms_results_tables[i].name,
                                  sqlite3_errmsg(r->db));
        rc = outputs_close(r, &o, i, f, rc);
    }
    rc = outputs_finish(r, &o, rc);
    if (rc != 0 && created)
        rmdir(dir); /* only if empty: what was there before stays */
    return rc;
}

/* One patient's lineage, read back for the Newick writer; buffers reused across patients. */
typedef struct lineage {
    size_t n, cap;
    size_t *parent; /* the founder's is unused */
    double *born;
    size_t *loci;   /* offset of the clone's loci in text */
    size_t *first;  /* children of clone c: child[first[c] .. first[c + 1]) */
    size_t *child;  /* clones in order of their parent */
    size_t *stack;  /* the depth-first walk: clones, */
    size_t *cursor; /* and the next child of each */
    ms_strbuf text; /* the loci, NUL-separated */
} lineage;

static void lineage_free(lineage *g)
{
    free(g->parent);
    free(g->born);
    free(g->loci);
    free(g->first);
    free(g->child);
    free(g->stack);
    free(g->cursor);
    ms_strbuf_free(&g->text);
}

static int lineage_reserve(lineage *g, size_t n)
{
    if (n + 1 <= g->cap)
        return 0;
    size_t cap = g->cap ? g->cap : 64;
    while (cap < n + 1)
        cap *= 2;
#define GROW(field)                                                                                \
    do {                                                                                           \
        void *p = realloc(g->field, cap * sizeof *g->field);                                       \
        if (!p)                                                                                    \
            return METASIM_E_NOMEM;                                                                \
        g->field = p;                                                                              \
    } while (0)
    GROW(parent);
    GROW(born);
    GROW(loci);
    GROW(first);
    GROW(child);
    GROW(stack);
    GROW(cursor);
#undef GROW
    g->cap = cap;
    return 0;
}

/* Reads the clones of patient `patient` under arm `arm` (NULL for none): ids 0..n-1 with each
 * parent earlier than its child. */
static int lineage_read(metasim_results_t *r, sqlite3_stmt *st, long long patient, const char *arm,
                        lineage *g)
{
    g->n = 0;
    ms_strbuf_free(&g->text);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)patient);
    if (arm)
        sqlite3_bind_text(st, 2, arm, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(st, 0);
        bool root = sqlite3_column_type(st, 1) == SQLITE_NULL;
        long long parent = root ? -1 : sqlite3_column_int64(st, 1);
        if (id != (long long)g->n || root != (id == 0) || (!root && (parent < 0 || parent >= id))) {
            sqlite3_reset(st);
            return ms_results_error(
                r, METASIM_E_IO,
                "damaged metasim results: patient %lld's clone %lld (parent %lld) "
                "does not fit a lineage",
                patient, id, parent);
        }
        if (lineage_reserve(g, g->n + 1) != 0) {
            sqlite3_reset(st);
            return ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
        }
        const char *loci = (const char *)sqlite3_column_text(st, 3);
        g->parent[g->n] = root ? 0 : (size_t)parent;
        g->born[g->n] = sqlite3_column_double(st, 2);
        g->loci[g->n] = g->text.len;
        ms_strbuf_puts(&g->text, loci ? loci : "");
        ms_strbuf_append(&g->text, "", 1); /* keeps the NUL as a separator */
        g->n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ms_results_error(r, METASIM_E_IO, "reading clones: %s", sqlite3_errmsg(r->db));
    if (ms_strbuf_failed(&g->text))
        return ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    if (g->n == 0)
        return ms_results_error(r, METASIM_E_IO,
                                "damaged metasim results: patient %lld has no clones", patient);
    /* Children lists (counting sort by parent keeps them in order of id). */
    for (size_t c = 0; c <= g->n; c++)
        g->first[c] = 0;
    for (size_t c = 1; c < g->n; c++)
        g->first[g->parent[c] + 1]++;
    for (size_t c = 0; c < g->n; c++)
        g->first[c + 1] += g->first[c];
    for (size_t c = 0; c < g->n; c++)
        g->cursor[c] = g->first[c];
    for (size_t c = 1; c < g->n; c++)
        g->child[g->cursor[g->parent[c]]++] = c;
    return 0;
}

/* A node's label: c<id>, then _ and its loci, with Newick's reserved characters replaced. */
static void put_label(FILE *f, const lineage *g, size_t c)
{
    fprintf(f, "c%zu", c);
    const char *loci = g->text.data ? g->text.data + g->loci[c] : "";
    if (!*loci)
        return;
    putc('_', f);
    for (const char *s = loci; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        putc(ch < 0x80 && (isalnum(ch) || strchr("+-._", ch)) ? ch : '_', f);
    }
}

/* Writes the tree with an explicit stack, so a chain of any length is safe. */
static void put_newick(FILE *f, lineage *g)
{
    size_t depth = 0;
    g->stack[depth] = 0;
    g->cursor[depth++] = 0;
    if (g->first[1] > g->first[0])
        putc('(', f);
    while (depth > 0) {
        size_t node = g->stack[depth - 1], *next = &g->cursor[depth - 1];
        size_t kids = g->first[node + 1] - g->first[node];
        if (*next < kids) {
            if (*next > 0)
                putc(',', f);
            size_t c = g->child[g->first[node] + (*next)++];
            if (g->first[c + 1] > g->first[c]) {
                putc('(', f);
                g->stack[depth] = c;
                g->cursor[depth++] = 0;
                continue;
            }
            put_label(f, g, c);
            fprintf(f, ":%.17g", g->born[c] - g->born[g->parent[c]]);
            continue;
        }
        if (kids > 0)
            putc(')', f);
        put_label(f, g, node);
        if (node != 0)
            fprintf(f, ":%.17g", g->born[node] - g->born[g->parent[node]]);
        depth--;
    }
    fputs(";\n", f);
}

/* One lineage to export: a patient under an arm (NULL for none). */
typedef struct unit {
    long long patient;
    char *arm;
} unit;

/* The file name of a unit's tree: patient_K.nwk, or patient_K_ARM.nwk with the arm's characters
 * other than letters, digits and -._ replaced by _. */
static void unit_file(char *out, size_t size, const unit *u)
{
    int n = snprintf(out, size, "patient_%lld", u->patient);
    size_t at = n > 0 ? (size_t)n : 0;
    if (u->arm && at + 1 < size)
        out[at++] = '_';
    for (const char *c = u->arm; c && *c && at + 5 < size; c++) {
        unsigned char ch = (unsigned char)*c;
        out[at++] = ch < 0x80 && (isalnum(ch) || strchr("-._", ch)) ? (char)ch : '_';
    }
    snprintf(out + at, size - at, ".nwk");
}

int metasim_results_export_newick(metasim_results_t *r, const char *dir, int overwrite)
{
    if (!r)
        return METASIM_E_ARG;
    bool created = false;
    int rc = check_exportable(r, dir, &created);
    if (rc != 0)
        return rc;
    outputs o = {0};
    unit *units = NULL;
    size_t n_units = 0, cap_units = 0;
    sqlite3_stmt *list = NULL, *clones = NULL;
    lineage g = {0};
    int src = sqlite3_prepare_v2(r->db, "SELECT patient, arm FROM patients ORDER BY patient, arm",
                                 -1, &list, NULL);
    while (src == SQLITE_OK || src == SQLITE_ROW) {
        if ((src = sqlite3_step(list)) != SQLITE_ROW)
            break;
        if (n_units == cap_units) {
            size_t cap = cap_units ? 2 * cap_units : 64;
            unit *p = realloc(units, cap * sizeof *p);
            if (!p) {
                rc = ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
                break;
            }
            units = p;
            cap_units = cap;
        }
        unit *u = &units[n_units++];
        u->patient = sqlite3_column_int64(list, 0);
        const char *arm = (const char *)sqlite3_column_text(list, 1);
        u->arm = arm ? ms_results_concat(arm, "") : NULL;
        char name[160];
        unit_file(name, sizeof name, u);
        if ((arm && !u->arm) || outputs_add(&o, dir, name) != 0) {
            rc = ms_results_error(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
            break;
        }
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = ms_results_error(r, METASIM_E_IO, "reading patients: %s", sqlite3_errmsg(r->db));
    if (rc == 0)
        rc = outputs_check(r, &o, overwrite);
    if (rc == 0) {
        src = sqlite3_prepare_v2(r->db,
                                 "SELECT clone, parent, born, loci FROM clones WHERE patient = ?1"
                                 " AND arm IS ?2 ORDER BY clone",
                                 -1, &clones, NULL);
        if (src != SQLITE_OK)
            rc = ms_results_error(r, METASIM_E_IO, "reading clones: %s", sqlite3_errmsg(r->db));
    }
    for (size_t i = 0; i < n_units && rc == 0; i++) {
        if ((rc = lineage_read(r, clones, units[i].patient, units[i].arm, &g)) != 0)
            break;
        FILE *f = outputs_open(r, &o, i);
        if (!f) {
            rc = METASIM_E_IO;
            break;
        }
        put_newick(f, &g);
        rc = outputs_close(r, &o, i, f, rc);
    }
    sqlite3_finalize(list);
    sqlite3_finalize(clones);
    lineage_free(&g);
    for (size_t i = 0; i < n_units; i++)
        free(units[i].arm);
    free(units);
    rc = outputs_finish(r, &o, rc);
    if (rc != 0 && created)
        rmdir(dir); /* only if empty: what was there before stays */
    return rc;
}
