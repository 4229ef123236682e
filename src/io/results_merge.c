/*
 * The results digest and the merge of shards (docs/trials.md).
 *
 * Digest: a 64-bit FNV-1a hash (Fowler, Noll and Vo; the parameters of
 * http://www.isthe.com/chongo/tech/comp/fnv/) over the rows of the tables that hold simulated
 * results, read with the export's queries, which order every table by its key, so that the
 * digest depends on the rows only, never on the order in which threads, shards or resumed runs
 * stored them. Each value is fed in a canonical form: a type byte, then an integer or the bits
 * of a double as 8 little-endian bytes, or a text as its 8-byte length and its bytes.
 *
 * Merge: every input is checked (same scenario text, seed, patients, design, allocation,
 * series and metasim version; together every patient exactly once) before anything is written,
 * then the rows are copied input by input into a new database, whose statistics and digest are
 * computed as for an unsharded run. Row order in the file does not matter: every reader orders
 * by key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/results_internal.h"

/* ------------------------------------------------------------ digest */

typedef struct fnv {
    uint64_t h;
} fnv;

static void fnv_bytes(fnv *f, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = f->h;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    f->h = h;
}

static void fnv_u64(fnv *f, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    fnv_bytes(f, b, sizeof b);
}

static void fnv_value(fnv *f, sqlite3_stmt *st, int col)
{
    int type = sqlite3_column_type(st, col);
    unsigned char tag = (unsigned char)type;
    fnv_bytes(f, &tag, 1);
    switch (type) {
    case SQLITE_INTEGER: fnv_u64(f, (uint64_t)sqlite3_column_int64(st, col)); return;
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, col);
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        fnv_u64(f, bits);
        return;
    }
    case SQLITE_NULL: return;
    default: {
        const void *p = type == SQLITE_BLOB ? sqlite3_column_blob(st, col)
                                            : (const void *)sqlite3_column_text(st, col);
        size_t n = (size_t)sqlite3_column_bytes(st, col);
        fnv_u64(f, n);
        if (p)
            fnv_bytes(f, p, n);
    }
    }
}

int ms_results_compute_digest(metasim_results_t *r, char digest[METASIM_DIGEST_SIZE])
{
    fnv f = {UINT64_C(0xcbf29ce484222325)};
    for (size_t t = 0; t < ms_results_n_tables; t++) {
        if (!ms_results_tables[t].digest)
            continue;
        fnv_bytes(&f, ms_results_tables[t].name, strlen(ms_results_tables[t].name) + 1);
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(r->db, ms_results_tables[t].select, -1, &st, NULL);
        int cols = rc == SQLITE_OK ? sqlite3_column_count(st) : 0;
        while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            fnv_bytes(&f, "R", 1);
            for (int c = 0; c < cols; c++)
                fnv_value(&f, st, c);
            rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return ms_results_error(r, rc == SQLITE_NOMEM ? METASIM_E_NOMEM : METASIM_E_IO,
                                    "reading table %s for the digest: %s",
                                    ms_results_tables[t].name, sqlite3_errmsg(r->db));
    }
    snprintf(digest, METASIM_DIGEST_SIZE, "%016llx", (unsigned long long)f.h);
    return 0;
}

int metasim_results_digest(metasim_results_t *r, char digest[METASIM_DIGEST_SIZE])
{
    if (!r || !digest)
        return METASIM_E_ARG;
    digest[0] = '\0';
    if (!r->db || r->writing)
        return ms_results_error(r, METASIM_E_STATE,
                                "the digest needs a database opened for "
                                "reading");
    int rc = ms_results_compute_digest(r, digest);
    if (rc != 0)
        return rc;
    char *recorded = NULL;
    rc = ms_results_get_meta(r, "results_digest", &recorded);
    if (rc < 0)
        return rc;
    rc = 0;
    if (recorded && strcmp(recorded, digest) != 0)
        rc = ms_results_error(r, METASIM_E_IO,
                              "its rows give digest %s, not the %s recorded when it was written "
                              "(changed or damaged since)",
                              digest, recorded);
    free(recorded);
    return rc;
}

/* ------------------------------------------------------------ merge */

/* What every input must agree on, with the words that name it in a message. */
static const char *const same_keys[][2] = {
    {"scenario", "scenario text"}, {"seed", "seed"},     {"patients", "number of patients"},
    {"design", "design"},          {"series", "series"}, {"metasim_version", "metasim version"},
};
enum { N_SAME = sizeof same_keys / sizeof same_keys[0] };

/* Provenance that belongs to each run, not to the merged trial. */
static const char merged_meta_sql[] =
    "INSERT INTO main.meta SELECT key, value FROM s.meta WHERE key NOT IN ('created',"
    " 'command_line', 'shard', 'results_digest', 'finished', 'elapsed_seconds', 'threads',"
    " 'resumed') ORDER BY rowid";

/* The per-patient tables, copied input by input. */
static const char *const copied_tables[] = {"screening", "parameters", "patients", "lesions",
                                            "clones",    "events",     "samples",  "exposures",
                                            "clinical",  "endpoints"};

typedef struct merge_state {
    metasim_results_t *out; /* carries the messages */
    char *first[N_SAME];    /* the first input's values */
    char *arms;             /* the first input's arms and allocation, as text */
    unsigned long long patients;
    uint32_t *owner; /* per patient: 1 + the input that holds it, 0 for none */
} merge_state;

/* The arms table as one text, to compare inputs. */
static int arms_text(metasim_results_t *in, char **text)
{
    ms_strbuf sb = {0};
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(in->db, "SELECT arm, number, allocation FROM arms ORDER BY number",
                                -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ms_strbuf_printf(&sb, "%s|%lld|%.17g\n", (const char *)sqlite3_column_text(st, 0),
                         (long long)sqlite3_column_int64(st, 1),
                         sqlite3_column_type(st, 2) == SQLITE_NULL ? -1.0
                                                                   : sqlite3_column_double(st, 2));
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        ms_strbuf_free(&sb);
        return ms_results_error(in, METASIM_E_IO, "cannot read the arms: %s",
                                sqlite3_errmsg(in->db));
    }
    *text = ms_strbuf_take(&sb);
    if (!*text)
        *text = ms_results_concat("", "");
    return *text ? 0
                 : ms_results_error(in, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
}

/* Checks input `i` (opened as `in`) against the first, and claims its patients. */
static int check_input(merge_state *m, size_t i, const char *const *inputs, metasim_results_t *in)
{
    metasim_results_t *out = m->out;
    int rc = 0;
    char *value[N_SAME] = {0};
    for (size_t k = 0; k < N_SAME && rc == 0; k++) {
        int got = ms_results_get_meta(in, same_keys[k][0], &value[k]);
        if (got < 0)
            rc = ms_results_error(out, METASIM_E_IO, "%s", metasim_results_errmsg(in));
        else if (got == 0 || !value[k])
            rc = ms_results_error(out, METASIM_E_INVALID, "%s: has no %s: not a trial's results",
                                  inputs[i], same_keys[k][1]);
    }
    if (rc == 0 && strcmp(value[3], "paired") != 0 && strcmp(value[3], "randomised") != 0)
        rc = ms_results_error(out, METASIM_E_INVALID,
                              "%s: not a trial's results (written by 'metasim run')", inputs[i]);
    char *arms = NULL;
    if (rc == 0 && arms_text(in, &arms) != 0)
        rc = ms_results_error(out, METASIM_E_IO, "%s", metasim_results_errmsg(in));
    if (rc == 0 && i == 0) {
        for (size_t k = 0; k < N_SAME; k++) {
            m->first[k] = value[k];
            value[k] = NULL;
        }
        m->arms = arms;
        arms = NULL;
        char *end = NULL;
        m->patients = strtoull(m->first[2], &end, 10);
        if (*end || m->patients == 0 || m->patients > UINT32_MAX)
            rc = ms_results_error(out, METASIM_E_INVALID, "%s: damaged: patients '%s'", inputs[0],
                                  m->first[2]);
        else if (!(m->owner = calloc(m->patients, sizeof *m->owner)))
            rc = ms_results_error(out, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    }
    for (size_t k = 0; k < N_SAME && rc == 0 && i > 0; k++) {
        if (strcmp(value[k], m->first[k]) == 0)
            continue;
        bool brief = strlen(value[k]) < 40 && !strchr(value[k], '\n') && strlen(m->first[k]) < 40 &&
                     !strchr(m->first[k], '\n');
        rc = brief ? ms_results_error(out, METASIM_E_INVALID, "%s: %s %s differs from %s's (%s)",
                                      inputs[i], same_keys[k][1], value[k], inputs[0], m->first[k])
                   : ms_results_error(out, METASIM_E_INVALID, "%s: %s differs from %s's", inputs[i],
                                      same_keys[k][1], inputs[0]);
    }
    if (rc == 0 && i > 0 && strcmp(arms, m->arms) != 0)
        rc = ms_results_error(out, METASIM_E_INVALID, "%s: arms or allocation differ from %s's",
                              inputs[i], inputs[0]);
    sqlite3_stmt *st = NULL;
    int src = rc == 0 ? sqlite3_prepare_v2(in->db, "SELECT patient FROM screening ORDER BY patient",
                                           -1, &st, NULL)
                      : SQLITE_OK;
    while (rc == 0 && src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 p = sqlite3_column_int64(st, 0);
        src = SQLITE_OK;
        if (p < 0 || (unsigned long long)p >= m->patients)
            rc = ms_results_error(out, METASIM_E_INVALID,
                                  "%s: patient %lld is outside the trial's %llu patients",
                                  inputs[i], (long long)p, m->patients);
        else if (m->owner[p])
            rc = ms_results_error(out, METASIM_E_INVALID, "patient %lld is in both %s and %s",
                                  (long long)p, inputs[m->owner[p] - 1], inputs[i]);
        else
            m->owner[p] = (uint32_t)(i + 1);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = ms_results_error(out, METASIM_E_IO, "%s: cannot read the screening: %s", inputs[i],
                              sqlite3_errmsg(in->db));
    sqlite3_finalize(st);
    for (size_t k = 0; k < N_SAME; k++)
        free(value[k]);
    free(arms);
    return rc;
}

/* Copies input `name` into the new database. */
static int copy_input(metasim_results_t *r, const char *name, bool header)
{
    sqlite3_stmt *st = NULL;
    int rc = ms_results_commit(r); /* ATTACH is refused inside a transaction */
    int src =
        rc == 0 ? sqlite3_prepare_v2(r->db, "ATTACH DATABASE ?1 AS s", -1, &st, NULL) : SQLITE_OK;
    if (rc == 0 && src == SQLITE_OK)
        src = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (rc == 0 && src == SQLITE_OK)
        src = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == 0 && src != SQLITE_DONE)
        return ms_results_db_fail(r, src, name);
    if (rc == 0)
        rc = ms_results_begin(r);
    if (rc == 0 && header)
        rc = ms_results_exec(r, merged_meta_sql, "copying the provenance");
    if (rc == 0 && header)
        rc = ms_results_exec(r, "INSERT INTO main.arms SELECT * FROM s.arms ORDER BY number",
                             "copying the arms");
    for (size_t t = 0; t < sizeof copied_tables / sizeof *copied_tables && rc == 0; t++) {
        char sql[160];
        snprintf(sql, sizeof sql, "INSERT INTO main.%s SELECT * FROM s.%s ORDER BY rowid",
                 copied_tables[t], copied_tables[t]);
        rc = ms_results_exec(r, sql, name);
    }
    if (rc == 0)
        rc = ms_results_commit(r);
    if (rc == 0)
        rc = ms_results_exec(r, "DETACH DATABASE s", name);
    return rc;
}

int metasim_results_merge(const char *path, const char *const *inputs, size_t n_inputs,
                          int overwrite, const char *command_line, char **message)
{
    if (message)
        *message = NULL;
    if (!path || !*path || !inputs || n_inputs == 0 || n_inputs > UINT32_MAX - 1)
        return METASIM_E_ARG;
    for (size_t i = 0; i < n_inputs; i++)
        if (!inputs[i])
            return METASIM_E_ARG;
    merge_state m = {0};
    metasim_results_t *r = m.out = ms_results_new_handle(path);
    if (!r)
        return METASIM_E_NOMEM;
    r->overwrite = overwrite;
    int rc = 0;
    /* First every input is checked; nothing is written until all pass. */
    for (size_t i = 0; i < n_inputs && rc == 0; i++) {
        metasim_results_t *in = NULL;
        rc = metasim_results_open(inputs[i], &in);
        if (rc != 0) {
            const char *why = in ? metasim_results_errmsg(in) : metasim_strerror(rc);
            ms_results_error(r, rc, "%s", why);
            rc = rc == METASIM_E_NOMEM ? rc : METASIM_E_INVALID;
        } else {
            rc = check_input(&m, i, inputs, in);
        }
        metasim_results_close(in, NULL);
    }
    for (unsigned long long p = 0; p < m.patients && rc == 0; p++) {
        if (m.owner[p])
            continue;
        unsigned long long missing = 0;
        for (unsigned long long q = p; q < m.patients; q++)
            missing += m.owner[q] == 0;
        rc = ms_results_error(r, METASIM_E_INVALID,
                              "patient %llu is in none of the inputs (%llu of the %llu patients "
                              "are missing: a shard is missing or incomplete)",
                              p, missing, m.patients);
    }
    if (rc == 0)
        rc = ms_results_create_partial(r);
    for (size_t i = 0; i < n_inputs && rc == 0; i++)
        rc = copy_input(r, inputs[i], i == 0);
    char created[32] = "", count[32];
    time_t now = time(NULL);
    struct tm utc;
    if (now != (time_t)-1 && gmtime_r(&now, &utc))
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
    snprintf(count, sizeof count, "%zu", n_inputs);
    if (rc == 0)
        rc = ms_results_begin(r);
    if (rc == 0)
        rc = ms_results_set_meta(r, "created", created);
    if (rc == 0)
        rc = ms_results_set_meta(r, "command_line", command_line);
    if (rc == 0)
        rc = ms_results_set_meta(r, "shard", "0/1");
    if (rc == 0)
        rc = ms_results_set_meta(r, "merged_from", count);
    if (rc == 0)
        rc = ms_results_finish(r);
    if (rc != 0 && message)
        *message = ms_results_concat(ms_strbuf_str(&r->err), "");
    for (size_t k = 0; k < N_SAME; k++)
        free(m.first[k]);
    free(m.arms);
    free(m.owner);
    metasim_results_discard(r); /* removes the partial file if it is still there */
    return rc;
}
