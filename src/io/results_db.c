/*
 * The results database (docs/results.md): an SQLite file with provenance, one row per patient,
 * the seeding graph, the clone lineage, timeline events, the time series with explicit zeros,
 * the clinical course and survival endpoints (results_export.c writes CSV and Newick).
 *
 * Writing: the database is built in PATH.partial and renamed to PATH by close, so PATH never
 * holds a half-written file. Since a failed build is thrown away whole, the partial file needs
 * no rollback journal and no syncs until the end (journal_mode OFF, synchronous OFF), and the
 * handle refuses every write after its first failure. Rows go through prepared statements
 * made once; each patient is one transaction, committed by metasim_results_add_patient().
 *
 * Explicit zeros: the writer remembers, for the patient being written, every (lesion, clone,
 * state) sampled so far and the sample time it was last seen at. When a sample time is
 * complete (a sample of a later time arrives, or the patient is added), each remembered key
 * not seen at that time gets a row with 0 cells. This table is per patient and reused, so
 * memory follows the largest patient, not the number of patients.
 */
#include <ctype.h>
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

/* The version of the layout below; readers refuse newer ones (docs/results.md). */
#define SCHEMA_VERSION 1

/* Every table. Types are declared so that R (RSQLite) and pandas read columns with the right
 * class; tables are not STRICT so that SQLite before 3.37 still reads the file. */
static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);\n"
    "CREATE TABLE patients(patient INTEGER PRIMARY KEY, stop_reason TEXT NOT NULL,"
    " end_time REAL NOT NULL, cells REAL NOT NULL, shed INTEGER NOT NULL, lost INTEGER NOT NULL,"
    " colonised INTEGER NOT NULL, self_seeded INTEGER NOT NULL, lesions INTEGER NOT NULL);\n"
    "CREATE TABLE lesions(patient INTEGER NOT NULL, lesion INTEGER NOT NULL, site TEXT NOT NULL,"
    " parent INTEGER, founded REAL NOT NULL, founder_clone INTEGER NOT NULL,"
    " final_cells REAL NOT NULL, PRIMARY KEY(patient, lesion));\n"
    "CREATE TABLE clones(patient INTEGER NOT NULL, clone INTEGER NOT NULL, parent INTEGER,"
    " born REAL NOT NULL, origin_lesion INTEGER NOT NULL, loci TEXT NOT NULL,"
    " PRIMARY KEY(patient, clone));\n"
    "CREATE TABLE events(patient INTEGER NOT NULL, time REAL NOT NULL, kind TEXT NOT NULL,"
    " lesion INTEGER, clone INTEGER, site TEXT, detail TEXT, value REAL);\n"
    "CREATE TABLE samples(patient INTEGER NOT NULL, time REAL NOT NULL, lesion INTEGER NOT NULL,"
    " site TEXT NOT NULL, clone INTEGER NOT NULL, state TEXT NOT NULL, cells REAL NOT NULL);\n"
    "CREATE TABLE clinical(patient INTEGER PRIMARY KEY, diagnosis REAL, t_stage INTEGER,"
    " n_stage INTEGER, m_stage INTEGER, primary_diameter REAL, surgery REAL, relapse REAL,"
    " relapse_local INTEGER NOT NULL, relapse_distant INTEGER NOT NULL, relapse_site TEXT,"
    " death REAL);\n"
    "CREATE TABLE endpoints(patient INTEGER NOT NULL, endpoint TEXT NOT NULL,"
    " time REAL NOT NULL, status INTEGER NOT NULL, PRIMARY KEY(patient, endpoint));\n";

/* Made at close, when the rows are in: lookups by patient, and the export's order. */
static const char index_sql[] = "CREATE INDEX samples_by_patient ON samples(patient, time);\n"
                                "CREATE INDEX events_by_patient ON events(patient, time);\n";

static const char *const statement_sql[N_ST] = {
    "INSERT INTO samples VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "INSERT INTO events VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    "INSERT INTO patients VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    "INSERT INTO lesions VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "INSERT INTO clones VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    "INSERT INTO clinical VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    "INSERT INTO endpoints VALUES(?1, ?2, ?3, ?4)",
};

/* ------------------------------------------------------------ messages */

__attribute__((format(printf, 2, 0))) static void set_message(metasim_results_t *r, const char *fmt,
                                                              va_list ap)
{
    ms_strbuf_free(&r->err);
    ms_strbuf_printf(&r->err, "%s: ", r->path ? r->path : "results");
    ms_strbuf_vprintf(&r->err, fmt, ap);
}

/* Sets the message to "PATH: ..." and returns rc. */
int ms_results_error(metasim_results_t *r, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(r, fmt, ap);
    va_end(ap);
    return rc;
}

/* A failure that poisons a handle being written: every later write returns the first
 * failure's code. */
__attribute__((format(printf, 3, 4))) static int fail(metasim_results_t *r, int rc, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(r, fmt, ap);
    va_end(ap);
    if (r->failed == 0)
        r->failed = rc;
    return r->failed;
}

/* An SQLite failure while writing: "PATH: WHAT: SQLITE MESSAGE". */
static int db_fail(metasim_results_t *r, int sqlite_rc, const char *what)
{
    int rc = sqlite_rc == SQLITE_NOMEM ? METASIM_E_NOMEM : METASIM_E_IO;
    return fail(r, rc, "%s: %s", what, r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(sqlite_rc));
}

const char *metasim_results_errmsg(const metasim_results_t *r)
{
    return r ? ms_strbuf_str(&r->err) : "";
}

/* ------------------------------------------------------------ statements */

static int exec(metasim_results_t *r, const char *sql, const char *what)
{
    int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(r, rc, what);
}

static int begin(metasim_results_t *r)
{
    if (r->in_txn)
        return 0;
    int rc = exec(r, "BEGIN", "starting a transaction");
    r->in_txn = rc == 0;
    return rc;
}

static int commit(metasim_results_t *r)
{
    if (!r->in_txn)
        return 0;
    r->in_txn = false;
    return exec(r, "COMMIT", "committing");
}

/* Runs a bound insert and resets it; `bound` is the OR of the bind calls' results. */
static int run(metasim_results_t *r, int which, int bound, const char *what)
{
    sqlite3_stmt *st = r->st[which];
    int rc = bound == SQLITE_OK ? sqlite3_step(st) : bound;
    int out = rc == SQLITE_DONE ? 0 : db_fail(r, rc, what);
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

/* Closes the database and removes the partial file (nothing of it is left). */
static void abandon(metasim_results_t *r)
{
    release_db(r);
    if (r->partial) {
        unlink(r->partial);
        free(r->partial);
        r->partial = NULL;
    }
}

static void release(metasim_results_t *r)
{
    abandon(r);
    free(r->path);
    free(r->keys);
    free(r->slots);
    for (size_t i = 0; i < r->n_names; i++)
        free(r->names[i]);
    free(r->names);
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

/* A new handle for `path`, or NULL when out of memory. */
static metasim_results_t *new_handle(const char *path)
{
    metasim_results_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->path = ms_results_concat(path ? path : "", "");
    if (!r->path) {
        free(r);
        return NULL;
    }
    return r;
}

static int insert_meta(metasim_results_t *r, sqlite3_stmt *st, const char *key, const char *value)
{
    int bound = bind_text(st, 1, key) | bind_text_or_null(st, 2, value);
    int rc = bound == SQLITE_OK ? sqlite3_step(st) : bound;
    int out = rc == SQLITE_DONE ? 0 : db_fail(r, rc, "writing the provenance");
    sqlite3_reset(st);
    return out;
}

/* Creates the tables and records the provenance. */
static int write_header(metasim_results_t *r, const char *command_line, unsigned long long seed)
{
    /* application_id is "MSM1" in ASCII, so that file(1) can tell metasim results apart;
     * user_version repeats the schema version for tools that read only the header. */
    int rc = exec(r,
                  "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                  " PRAGMA locking_mode = EXCLUSIVE; PRAGMA application_id = 1297304881;"
                  " PRAGMA user_version = 1",
                  "setting up");
    if (rc == 0)
        rc = begin(r);
    if (rc == 0)
        rc = exec(r, schema_sql, "creating the tables");
    if (rc != 0)
        return rc;
    char version[16], seed_text[32], created[32] = "";
    snprintf(version, sizeof version, "%d", SCHEMA_VERSION);
    snprintf(seed_text, sizeof seed_text, "%llu", seed);
    time_t now = time(NULL);
    struct tm utc;
    if (now != (time_t)-1 && gmtime_r(&now, &utc))
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
    sqlite3_stmt *st = NULL;
    int prc = sqlite3_prepare_v2(r->db, "INSERT INTO meta VALUES(?1, ?2)", -1, &st, NULL);
    if (prc != SQLITE_OK)
        return db_fail(r, prc, "writing the provenance");
    const char *const rows[][2] = {
        {"schema_version", version},
        {"metasim_version", metasim_version()},
        {"created", created},
        {"command_line", command_line},
        {"seed", seed_text},
        {"scenario_name", metasim_model_name(r->model)},
        {"scenario", metasim_model_source(r->model)},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && rc == 0; i++)
        rc = insert_meta(r, st, rows[i][0], rows[i][1]);
    sqlite3_finalize(st);
    if (rc == 0)
        rc = commit(r);
    for (int i = 0; i < N_ST && rc == 0; i++) {
        prc = sqlite3_prepare_v3(r->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->st[i],
                                 NULL);
        if (prc != SQLITE_OK)
            rc = db_fail(r, prc, "preparing statements");
    }
    return rc;
}

int metasim_results_create(const char *path, const metasim_model_t *model, const char *command_line,
                           unsigned long long seed, int overwrite, metasim_results_t **results)
{
    if (!results)
        return METASIM_E_ARG;
    metasim_results_t *r = *results = new_handle(path);
    if (!r)
        return METASIM_E_NOMEM;
    r->writing = true;
    r->model = model;
    r->overwrite = overwrite;
    if (!path || !*path)
        return fail(r, METASIM_E_ARG, "no file name given");
    if (!model || metasim_model_error_count(model) != 0 || !metasim_model_source(model))
        return fail(r, METASIM_E_ARG, "the model did not load");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fail(r, METASIM_E_IO, "is a directory");
    if (!overwrite && lstat(path, &st) == 0)
        return fail(r, METASIM_E_EXISTS, "exists");
    char *partial = ms_results_concat(path, ".partial");
    if (!partial)
        return fail(r, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
    /* A stale partial file is the leftover of a crashed run: replace it. Creating the file
     * here rather than in SQLite gives the system's reason when it cannot be made. */
    if (lstat(partial, &st) == 0 && unlink(partial) != 0) {
        int rc = fail(r, METASIM_E_IO, "cannot remove the stale %s: %s", partial, strerror(errno));
        free(partial);
        return rc;
    }
    int fd = open(partial, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) {
        int rc = fail(r, METASIM_E_IO, "cannot create %s: %s", partial, strerror(errno));
        free(partial);
        return rc;
    }
    close(fd);
    r->partial = partial;
    int rc = sqlite3_open_v2(partial, &r->db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        rc = db_fail(r, rc, "cannot open the new database");
    } else {
        rc = write_header(r, command_line, seed);
    }
    if (rc != 0)
        abandon(r);
    return rc;
}

/* ------------------------------------------------------------ the writer */

static uint32_t hash_key(uint32_t lesion, uint32_t clone, uint32_t state)
{
    uint64_t h = ((uint64_t)lesion << 32 | clone) * 0x9E3779B97F4A7C15ULL;
    h ^= (h >> 29) + state * 0xBF58476D1CE4E5B9ULL;
    h *= 0x94D049BB133111EBULL;
    return (uint32_t)(h >> 32);
}

/* The index of an interned copy of `name`, or NO_SLOT when out of memory. Sites and states
 * are few, so a scan is cheap. */
static uint32_t intern(metasim_results_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_names; i++)
        if (strcmp(r->names[i], name) == 0)
            return (uint32_t)i;
    if (r->n_names == r->cap_names) {
        size_t cap = r->cap_names ? 2 * r->cap_names : 16;
        char **names = realloc(r->names, cap * sizeof *names);
        if (!names)
            return NO_SLOT;
        r->names = names;
        r->cap_names = cap;
    }
    char *copy = ms_results_concat(name, "");
    if (!copy)
        return NO_SLOT;
    r->names[r->n_names] = copy;
    return (uint32_t)r->n_names++;
}

static void reset_slots(metasim_results_t *r)
{
    for (size_t i = 0; i < r->n_slots; i++)
        r->slots[i] = NO_SLOT;
}

static int grow_slots(metasim_results_t *r)
{
    size_t n = r->n_slots ? 2 * r->n_slots : 64;
    uint32_t *slots = realloc(r->slots, n * sizeof *slots);
    if (!slots)
        return METASIM_E_NOMEM;
    r->slots = slots;
    r->n_slots = n;
    reset_slots(r);
    for (size_t k = 0; k < r->n_keys; k++) {
        const sample_key *key = &r->keys[k];
        size_t i = hash_key(key->lesion, key->clone, key->state) & (n - 1);
        while (slots[i] != NO_SLOT)
            i = (i + 1) & (n - 1);
        slots[i] = (uint32_t)k;
    }
    return 0;
}

/* The remembered key of a compartment, added when new; NULL when out of memory. */
static sample_key *find_key(metasim_results_t *r, uint32_t lesion, uint32_t clone, uint32_t state,
                            uint32_t site)
{
    if (2 * (r->n_keys + 1) > r->n_slots && grow_slots(r) != 0)
        return NULL;
    size_t mask = r->n_slots - 1, i = hash_key(lesion, clone, state) & mask;
    for (; r->slots[i] != NO_SLOT; i = (i + 1) & mask) {
        sample_key *key = &r->keys[r->slots[i]];
        if (key->lesion == lesion && key->clone == clone && key->state == state)
            return key;
    }
    if (r->n_keys == r->cap_keys) {
        size_t cap = r->cap_keys ? 2 * r->cap_keys : 64;
        sample_key *keys = realloc(r->keys, cap * sizeof *keys);
        if (!keys)
            return NULL;
        r->keys = keys;
        r->cap_keys = cap;
    }
    r->slots[i] = (uint32_t)r->n_keys;
    r->keys[r->n_keys] = (sample_key){lesion, clone, state, site, 0};
    return &r->keys[r->n_keys++];
}

static int insert_sample(metasim_results_t *r, unsigned lesion, const char *site, unsigned clone,
                         const char *state, double cells)
{
    sqlite3_stmt *st = r->st[ST_SAMPLE];
    int bound = bind_int(st, 1, r->patient) | sqlite3_bind_double(st, 2, r->now) |
                bind_int(st, 3, lesion) | bind_text(st, 4, site) | bind_int(st, 5, clone) |
                bind_text(st, 6, state) | sqlite3_bind_double(st, 7, cells);
    r->pending_rows++;
    return run(r, ST_SAMPLE, bound, "writing samples");
}

/* Completes the current sample time: a zero row for every key not seen at it. */
static int complete_time(metasim_results_t *r)
{
    if (!r->have_time)
        return 0;
    for (size_t k = 0; k < r->n_keys; k++) {
        const sample_key *key = &r->keys[k];
        if (key->seen == r->gen)
            continue;
        int rc =
            insert_sample(r, key->lesion, r->names[key->site], key->clone, r->names[key->state], 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The writer's calls fail (so that the run stops) when the handle cannot take rows. */
static int writer_usable(metasim_results_t *r)
{
    if (r->failed)
        return r->failed;
    if (!r->pending)
        return fail(r, METASIM_E_STATE,
                    "a writer was used after its patient was added (metasim_results_add_patient)");
    return begin(r);
}

static int on_sample(void *user, const metasim_sample_t *x)
{
    metasim_results_t *r = user;
    if (writer_usable(r) != 0)
        return 1;
    if (!x || isnan(x->time) || !x->site || !x->state) {
        fail(r, METASIM_E_ARG, "patient %u: a sample without time, site or state", r->patient);
        return 1;
    }
    if (!r->have_time || x->time != r->now) {
        if (r->have_time && x->time < r->now) {
            fail(r, METASIM_E_ARG, "patient %u: sample times go back from %.17g to %.17g d",
                 r->patient, r->now, x->time);
            return 1;
        }
        if (complete_time(r) != 0)
            return 1;
        r->have_time = true;
        r->now = x->time;
        r->gen++;
    }
    uint32_t state = intern(r, x->state), site = intern(r, x->site);
    sample_key *key = NULL;
    if (state == NO_SLOT || site == NO_SLOT ||
        !(key = find_key(r, x->lesion, x->clone, state, site))) {
        fail(r, METASIM_E_NOMEM, "writing samples: %s", metasim_strerror(METASIM_E_NOMEM));
        return 1;
    }
    if (key->seen == r->gen)
        return 0; /* sampled twice at one time: the first row stands */
    key->seen = r->gen;
    return insert_sample(r, x->lesion, x->site, x->clone, x->state, x->cells) != 0;
}

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
static int on_event(void *user, const metasim_event_t *e)
{
    metasim_results_t *r = user;
    if (writer_usable(r) != 0)
        return 1;
    const char *kind = e ? kind_name(e->kind) : NULL;
    if (!kind) {
        fail(r, METASIM_E_ARG, "patient %u: an event of unknown kind %d", r->patient,
             e ? (int)e->kind : -1);
        return 1;
    }
    bool lesion = e->kind == METASIM_EVENT_CLONE || e->kind == METASIM_EVENT_LESION ||
                  e->kind == METASIM_EVENT_DIAGNOSIS || e->kind == METASIM_EVENT_SURGERY ||
                  e->kind == METASIM_EVENT_RELAPSE;
    bool clone = e->kind == METASIM_EVENT_CLONE || e->kind == METASIM_EVENT_LESION;
    sqlite3_stmt *st = r->st[ST_EVENT];
    int bound = bind_int(st, 1, r->patient) | bind_real(st, 2, e->time) | bind_text(st, 3, kind) |
                (lesion ? bind_int(st, 4, e->lesion) : sqlite3_bind_null(st, 4)) |
                (clone ? bind_int(st, 5, e->clone) : sqlite3_bind_null(st, 5)) |
                bind_text_or_null(st, 6, e->site) | bind_text_or_null(st, 7, e->detail) |
                (e->kind == METASIM_EVENT_BLOOD || e->kind == METASIM_EVENT_SURGERY
                     ? sqlite3_bind_double(st, 8, e->value)
                     : sqlite3_bind_null(st, 8));
    r->pending_rows++;
    return run(r, ST_EVENT, bound, "writing events") != 0;
}

int metasim_results_writer(metasim_results_t *r, unsigned patient, metasim_writer_t *writer)
{
    if (!r || !writer)
        return METASIM_E_ARG;
    *writer = (metasim_writer_t){0};
    if (!r->writing)
        return ms_results_error(r, METASIM_E_STATE, "opened for reading, not writing");
    if (r->failed)
        return r->failed;
    if (r->pending && r->patient != patient && r->pending_rows > 0)
        return ms_results_error(r, METASIM_E_STATE,
                                "patient %u's writer was used but the patient was not added",
                                r->patient);
    if (!r->pending || r->patient != patient) {
        r->pending = true;
        r->patient = patient;
        r->pending_rows = 0;
        r->have_time = false;
        r->gen = 0;
        r->n_keys = 0;
        reset_slots(r);
    }
    *writer = (metasim_writer_t){.user = r, .sample = on_sample, .event = on_event};
    return 0;
}

/* ------------------------------------------------------------ patients */

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

static int add_lesions(metasim_results_t *r, unsigned patient, const metasim_sim_t *sim)
{
    sqlite3_stmt *st = r->st[ST_LESION];
    for (size_t i = 0; i < metasim_sim_lesions(sim); i++) {
        metasim_lesion_info_t li;
        if (metasim_sim_lesion_info(sim, i, &li) != 0)
            return fail(r, METASIM_E_INTERNAL, "patient %u: lesion %zu unreadable", patient, i);
        int bound = bind_int(st, 1, patient) | bind_int(st, 2, (long long)i) |
                    bind_text(st, 3, li.site) |
                    (li.parent == i ? sqlite3_bind_null(st, 4) : bind_int(st, 4, li.parent)) |
                    sqlite3_bind_double(st, 5, li.founded) | bind_int(st, 6, li.founder_clone) |
                    sqlite3_bind_double(st, 7, li.cells);
        int rc = run(r, ST_LESION, bound, "writing lesions");
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int add_clones(metasim_results_t *r, unsigned patient, const metasim_sim_t *sim)
{
    sqlite3_stmt *st = r->st[ST_CLONE];
    size_t n_loci = metasim_model_locus_count(r->model);
    ms_strbuf loci = {0};
    int rc = 0;
    for (size_t c = 0; c < metasim_sim_clones(sim) && rc == 0; c++) {
        metasim_clone_info_t ci;
        if (metasim_sim_clone_info(sim, c, &ci) != 0) {
            rc = fail(r, METASIM_E_INTERNAL, "patient %u: clone %zu unreadable", patient, c);
            break;
        }
        ms_strbuf_free(&loci);
        for (size_t k = 0; k < n_loci && k < 64; k++)
            if (ci.loci >> k & 1)
                ms_strbuf_printf(&loci, "%s%s", loci.len ? "+" : "",
                                 metasim_model_locus_name(r->model, k));
        if (ms_strbuf_failed(&loci)) {
            rc = fail(r, METASIM_E_NOMEM, "writing clones: %s", metasim_strerror(METASIM_E_NOMEM));
            break;
        }
        int bound = bind_int(st, 1, patient) | bind_int(st, 2, (long long)c) |
                    (ci.parent == c ? sqlite3_bind_null(st, 3) : bind_int(st, 3, ci.parent)) |
                    sqlite3_bind_double(st, 4, ci.born) | bind_int(st, 5, ci.origin_lesion) |
                    bind_text(st, 6, ms_strbuf_str(&loci));
        rc = run(r, ST_CLONE, bound, "writing clones");
    }
    ms_strbuf_free(&loci);
    return rc;
}

static int add_endpoint(metasim_results_t *r, unsigned patient, const char *name, double time,
                        int status)
{
    sqlite3_stmt *st = r->st[ST_ENDPOINT];
    int bound = bind_int(st, 1, patient) | bind_text(st, 2, name) |
                sqlite3_bind_double(st, 3, time) | bind_int(st, 4, status);
    return run(r, ST_ENDPOINT, bound, "writing endpoints");
}

/* The survival endpoints of a diagnosed patient, in days from diagnosis (docs/results.md): an
 * event time with status 1, or the end of follow-up with status 0 (censored). */
static int add_endpoints(metasim_results_t *r, unsigned patient, const metasim_clinical_t *c,
                         double end)
{
    double dx = c->diagnosis;
    double os = c->death;
    double rfs = fmin(c->relapse, c->death); /* fmin ignores a NaN argument */
    double drfs = c->relapse_distant ? rfs : c->death;
    const struct {
        const char *name;
        double event;
    } ends[] = {{"os", os}, {"rfs", rfs}, {"drfs", drfs}};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        bool event = !isnan(ends[i].event);
        int rc = add_endpoint(r, patient, ends[i].name, (event ? ends[i].event : end) - dx, event);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int add_clinical(metasim_results_t *r, unsigned patient, const metasim_sim_t *sim)
{
    metasim_clinical_t c;
    if (metasim_sim_clinical(sim, &c) != 0)
        return fail(r, METASIM_E_INTERNAL, "patient %u: clinical course unreadable", patient);
    bool diagnosed = !isnan(c.diagnosis);
    sqlite3_stmt *st = r->st[ST_CLINICAL];
    int bound = bind_int(st, 1, patient) | bind_real(st, 2, c.diagnosis) |
                (diagnosed ? bind_int(st, 3, c.t_stage) : sqlite3_bind_null(st, 3)) |
                (diagnosed ? bind_int(st, 4, c.n_stage) : sqlite3_bind_null(st, 4)) |
                (diagnosed ? bind_int(st, 5, c.m_stage) : sqlite3_bind_null(st, 5)) |
                bind_real(st, 6, c.primary_diameter) | bind_real(st, 7, c.surgery) |
                bind_real(st, 8, c.relapse) | bind_int(st, 9, c.relapse_local != 0) |
                bind_int(st, 10, c.relapse_distant != 0) |
                bind_text_or_null(st, 11, c.relapse_site) | bind_real(st, 12, c.death);
    int rc = run(r, ST_CLINICAL, bound, "writing the clinical course");
    if (rc == 0 && diagnosed)
        rc = add_endpoints(r, patient, &c, metasim_sim_time(sim));
    return rc;
}

int metasim_results_add_patient(metasim_results_t *r, unsigned patient, const metasim_sim_t *sim,
                                int stop_reason)
{
    if (!r)
        return METASIM_E_ARG;
    if (!r->writing)
        return ms_results_error(r, METASIM_E_STATE, "opened for reading, not writing");
    if (r->failed)
        return r->failed;
    const char *stop = stop_name(stop_reason);
    if (!sim || !stop)
        return ms_results_error(r, METASIM_E_ARG, "patient %u: %s", patient,
                                sim ? "unknown stop reason" : "no simulation");
    if (r->pending && r->patient != patient && r->pending_rows > 0)
        return ms_results_error(r, METASIM_E_STATE,
                                "patient %u's writer was used but the patient was not added",
                                r->patient);
    bool own_writer = r->pending && r->patient == patient;
    int rc = begin(r);
    if (rc == 0 && own_writer)
        rc = complete_time(r);
    if (rc != 0)
        return rc;
    metasim_counts_t n;
    metasim_sim_counts(sim, &n);
    sqlite3_stmt *st = r->st[ST_PATIENT];
    int bound = bind_int(st, 1, patient) | bind_text(st, 2, stop) |
                sqlite3_bind_double(st, 3, metasim_sim_time(sim)) |
                sqlite3_bind_double(st, 4, metasim_sim_cells(sim)) | bind_count(st, 5, n.shed) |
                bind_count(st, 6, n.lost) | bind_count(st, 7, n.colonised) |
                bind_count(st, 8, n.self_seeded) | bind_count(st, 9, n.lesions);
    rc = run(r, ST_PATIENT, bound, "writing the patient (added twice?)");
    if (rc == 0)
        rc = add_lesions(r, patient, sim);
    if (rc == 0)
        rc = add_clones(r, patient, sim);
    if (rc == 0)
        rc = add_clinical(r, patient, sim);
    if (rc == 0)
        rc = commit(r);
    if (rc == 0 && own_writer) {
        r->pending = false;
        r->pending_rows = 0;
    }
    return rc;
}

/* ------------------------------------------------------------ closing */

/* Commits, indexes, closes, flushes to disk and renames into place. */
static int finish(metasim_results_t *r)
{
    if (r->pending && r->pending_rows > 0)
        return fail(r, METASIM_E_STATE,
                    "patient %u's writer was used but the patient was never added", r->patient);
    int rc = commit(r);
    if (rc == 0)
        rc = begin(r);
    if (rc == 0)
        rc = exec(r, index_sql, "indexing");
    if (rc == 0)
        rc = commit(r);
    if (rc != 0)
        return rc;
    for (int i = 0; i < N_ST; i++) {
        sqlite3_finalize(r->st[i]);
        r->st[i] = NULL;
    }
    int close_rc = sqlite3_close(r->db);
    if (close_rc != SQLITE_OK)
        return db_fail(r, close_rc, "closing");
    r->db = NULL;
    /* The file's contents reach the disk before its name does (synchronous was off). */
    int fd = open(r->partial, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        rc = fail(r, METASIM_E_IO, "cannot flush %s: %s", r->partial, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    close(fd);
    struct stat st;
    if (!r->overwrite && lstat(r->path, &st) == 0)
        return fail(r, METASIM_E_EXISTS, "exists (it appeared while the results were written)");
    if (rename(r->partial, r->path) != 0)
        return fail(r, METASIM_E_IO, "cannot rename %s into place: %s", r->partial,
                    strerror(errno));
    free(r->partial);
    r->partial = NULL;
    return 0;
}

int metasim_results_close(metasim_results_t *r, char **message)
{
    if (message)
        *message = NULL;
    if (!r)
        return 0;
    int rc = 0;
    if (r->writing)
        rc = r->failed ? r->failed : finish(r);
    if (rc != 0 && message)
        *message = ms_results_concat(ms_strbuf_str(&r->err), "");
    release(r); /* removes the partial file if it is still there */
    return rc;
}

/* ------------------------------------------------------------ reading */

/* 1 when the database has table `name`, 0 when not, or a negative SQLite code. */
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

/* Checks that an opened file is metasim results of a version this library reads. */
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
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(r->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
                                &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    char version[32] = "";
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(version, sizeof version, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ms_results_error(r, METASIM_E_IO, "cannot read: %s", sqlite3_errmsg(r->db));
    if (rc == SQLITE_DONE)
        return ms_results_error(r, METASIM_E_IO,
                                "not metasim results (meta has no schema_version)");
    char *end = NULL;
    errno = 0;
    long v = strtol(version, &end, 10);
    if (errno || end == version || *end || v < 1)
        return ms_results_error(r, METASIM_E_IO, "not metasim results (schema_version '%s')",
                                version);
    if (v > SCHEMA_VERSION)
        return ms_results_error(
            r, METASIM_E_IO,
            "schema version %ld is newer than this metasim (%s) reads (%d); use a "
            "newer metasim",
            v, metasim_version(), SCHEMA_VERSION);
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
    metasim_results_t *r = *results = new_handle(path);
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

/* ------------------------------------------------------------ export */
