/*
 * One patient's output buffered in memory (patient_record_internal.h): the events, samples,
 * drug exposures and end states of its units, the explicit zeros of the samples, and what the
 * patient was given (subtype and parameter values).
 *
 * Explicit zeros: the record remembers, for the timeline being written, every (lesion, clone,
 * state) sampled so far and the sample time it was last seen at. When a sample time is complete
 * (a sample of a later time arrives, or the unit ends), each remembered key not seen at that
 * time gets a row with 0 cells. At the end of the shared history the table is saved, and every
 * arm's timeline starts from a copy of it, so an arm's rows continue the history's.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array_internal.h"
#include "io/patient_record_internal.h"

#define NO_SLOT UINT32_MAX

void ms_record_init(ms_record *rec)
{
    memset(rec, 0, sizeof *rec);
}

void ms_record_free(ms_record *rec)
{
    if (!rec)
        return;
    free(rec->units);
    free(rec->events);
    free(rec->samples);
    free(rec->exposures);
    free(rec->lesions);
    free(rec->clones);
    free(rec->karyotypes);
    free(rec->values);
    ms_strbuf_free(&rec->text);
    for (size_t i = 0; i < rec->n_names; i++)
        free(rec->names[i]);
    free(rec->names);
    free(rec->keys);
    free(rec->fork_keys);
    free(rec->slots);
    ms_strbuf_free(&rec->error);
    memset(rec, 0, sizeof *rec);
}

__attribute__((format(printf, 3, 4))) static int fail(ms_record *rec, int rc, const char *fmt, ...)
{
    if (rec->failed)
        return rec->failed;
    va_list ap;
    va_start(ap, fmt);
    ms_strbuf_free(&rec->error);
    ms_strbuf_vprintf(&rec->error, fmt, ap);
    va_end(ap);
    rec->failed = rc;
    return rc;
}

static int nomem(ms_record *rec)
{
    return fail(rec, METASIM_E_NOMEM, "%s", metasim_strerror(METASIM_E_NOMEM));
}

size_t ms_record_bytes(const ms_record *rec)
{
    return rec->cap_units * sizeof *rec->units + rec->cap_events * sizeof *rec->events +
           rec->cap_samples * sizeof *rec->samples + rec->cap_exposures * sizeof *rec->exposures +
           rec->cap_lesions * sizeof *rec->lesions + rec->cap_clones * sizeof *rec->clones +
           rec->cap_karyotypes + rec->cap_values * sizeof *rec->values + rec->text.cap +
           (rec->cap_keys + rec->cap_fork_keys) * sizeof *rec->keys +
           rec->n_slots * sizeof *rec->slots;
}

const char *ms_record_errmsg(const ms_record *rec)
{
    return ms_strbuf_str(&rec->error);
}

void ms_record_reset(ms_record *rec, unsigned patient, bool keep_samples)
{
    rec->patient = patient;
    rec->keep_samples = keep_samples;
    rec->n_units = rec->n_events = rec->n_samples = rec->n_exposures = 0;
    rec->n_lesions = rec->n_clones = 0;
    rec->n_chromosomes = 0;
    ms_strbuf_free(&rec->text);
    rec->screened = rec->enrolled = false;
    rec->reason[0] = '\0';
    rec->valued = false;
    rec->subtype = MS_REC_NO_NAME;
    rec->n_values = 0;
    rec->tl = rec->fork_tl = (ms_rec_timeline){0};
    rec->failed = 0;
    ms_strbuf_free(&rec->error);
}

const char *ms_record_text(const ms_record *rec, size_t offset)
{
    return offset == MS_REC_NONE || !rec->text.data ? NULL : rec->text.data + offset;
}

const char *ms_record_name(const ms_record *rec, uint32_t i)
{
    return i < rec->n_names ? rec->names[i] : "";
}

const unsigned char *ms_record_copies(const ms_record *rec, size_t i)
{
    return rec->n_chromosomes && i < rec->n_clones ? rec->karyotypes + i * rec->n_chromosomes
                                                   : NULL;
}

/* ------------------------------------------------------------ interning and keys */

/* The index of an interned copy of `name`, or NO_SLOT when out of memory. Sites, states and drugs
 * are few, so a scan is cheap. */
static uint32_t intern(ms_record *rec, const char *name)
{
    for (size_t i = 0; i < rec->n_names; i++)
        if (strcmp(rec->names[i], name) == 0)
            return (uint32_t)i;
    if (ms_array_reserve((void **)&rec->names, &rec->cap_names, rec->n_names + 1,
                         sizeof *rec->names, 16) != 0)
        return NO_SLOT;
    size_t n = strlen(name);
    char *copy = malloc(n + 1);
    if (!copy)
        return NO_SLOT;
    memcpy(copy, name, n + 1);
    rec->names[rec->n_names] = copy;
    return (uint32_t)rec->n_names++;
}

static uint32_t hash_key(uint32_t lesion, uint32_t clone, uint32_t state)
{
    uint64_t h = ((uint64_t)lesion << 32 | clone) * 0x9E3779B97F4A7C15ULL;
    h ^= (h >> 29) + state * 0xBF58476D1CE4E5B9ULL;
    h *= 0x94D049BB133111EBULL;
    return (uint32_t)(h >> 32);
}

/* Rebuilds the hash slots for the current keys, with at least `n` slots. */
static int rebuild_slots(ms_record *rec, size_t n)
{
    if (n > rec->n_slots) {
        uint32_t *slots = realloc(rec->slots, n * sizeof *slots);
        if (!slots)
            return METASIM_E_NOMEM;
        rec->slots = slots;
        rec->n_slots = n;
    }
    n = rec->n_slots;
    for (size_t i = 0; i < n; i++)
        rec->slots[i] = NO_SLOT;
    for (size_t k = 0; k < rec->tl.n_keys; k++) {
        const ms_rec_key *key = &rec->keys[k];
        size_t i = hash_key(key->lesion, key->clone, key->state) & (n - 1);
        while (rec->slots[i] != NO_SLOT)
            i = (i + 1) & (n - 1);
        rec->slots[i] = (uint32_t)k;
    }
    return 0;
}

/* The remembered key of a compartment, added when new; NULL when out of memory. */
static ms_rec_key *find_key(ms_record *rec, uint32_t lesion, uint32_t clone, uint32_t state,
                            uint32_t site)
{
    if (2 * (rec->tl.n_keys + 1) > rec->n_slots &&
        rebuild_slots(rec, rec->n_slots ? 2 * rec->n_slots : 64) != 0)
        return NULL;
    size_t mask = rec->n_slots - 1, i = hash_key(lesion, clone, state) & mask;
    for (; rec->slots[i] != NO_SLOT; i = (i + 1) & mask) {
        ms_rec_key *key = &rec->keys[rec->slots[i]];
        if (key->lesion == lesion && key->clone == clone && key->state == state)
            return key;
    }
    if (ms_array_reserve((void **)&rec->keys, &rec->cap_keys, rec->tl.n_keys + 1, sizeof *rec->keys,
                         64) != 0)
        return NULL;
    rec->slots[i] = (uint32_t)rec->tl.n_keys;
    rec->keys[rec->tl.n_keys] = (ms_rec_key){lesion, clone, state, site, 0};
    return &rec->keys[rec->tl.n_keys++];
}

/* ------------------------------------------------------------ the writer */

static int push_sample(ms_record *rec, uint32_t lesion, uint32_t clone, uint32_t site,
                       uint32_t state, double cells)
{
    if (ms_array_reserve((void **)&rec->samples, &rec->cap_samples, rec->n_samples + 1,
                         sizeof *rec->samples, 256) != 0)
        return nomem(rec);
    rec->samples[rec->n_samples++] =
        (ms_rec_sample){rec->tl.now, lesion, clone, site, state, cells};
    return 0;
}

/* Completes the current sample time: a zero row for every key not seen at it. */
static int complete_time(ms_record *rec)
{
    if (!rec->tl.have_time)
        return 0;
    for (size_t k = 0; k < rec->tl.n_keys; k++) {
        const ms_rec_key *key = &rec->keys[k];
        if (key->seen == rec->tl.gen)
            continue;
        int rc = push_sample(rec, key->lesion, key->clone, key->site, key->state, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The writer's calls fail (so that the run stops) when the record cannot take rows. */
static int usable(ms_record *rec)
{
    if (rec->failed)
        return rec->failed;
    if (rec->n_units == 0 || rec->units[rec->n_units - 1].finished)
        return fail(rec, METASIM_E_STATE, "patient %u: output after its unit ended", rec->patient);
    return 0;
}

static int on_sample(void *user, const metasim_sample_t *x)
{
    ms_record *rec = user;
    if (usable(rec) != 0)
        return 1;
    if (!rec->keep_samples)
        return 0;
    if (!x || isnan(x->time) || !x->site || !x->state) {
        fail(rec, METASIM_E_ARG, "patient %u: a sample without time, site or state", rec->patient);
        return 1;
    }
    if (!rec->tl.have_time || x->time != rec->tl.now) {
        if (rec->tl.have_time && x->time < rec->tl.now) {
            fail(rec, METASIM_E_ARG, "patient %u: sample times go back from %.17g to %.17g d",
                 rec->patient, rec->tl.now, x->time);
            return 1;
        }
        if (complete_time(rec) != 0)
            return 1;
        rec->tl.have_time = true;
        rec->tl.now = x->time;
        rec->tl.gen++;
    }
    uint32_t state = intern(rec, x->state), site = intern(rec, x->site);
    ms_rec_key *key = NULL;
    if (state == NO_SLOT || site == NO_SLOT ||
        !(key = find_key(rec, x->lesion, x->clone, state, site))) {
        nomem(rec);
        return 1;
    }
    if (key->seen == rec->tl.gen)
        return 0; /* sampled twice at one time: the first row stands */
    key->seen = rec->tl.gen;
    return push_sample(rec, x->lesion, x->clone, site, state, x->cells) != 0;
}

/* Copies `text` (NULL and "" are no string) into the record's text; MS_REC_NONE for none, or
 * SIZE_MAX - 1 when out of memory. */
static size_t copy_text(ms_record *rec, const char *text)
{
    if (!text || !*text)
        return MS_REC_NONE;
    size_t at = rec->text.len;
    ms_strbuf_append(&rec->text, text, strlen(text) + 1); /* keeps the NUL as a separator */
    return ms_strbuf_failed(&rec->text) ? SIZE_MAX - 1 : at;
}

static int on_event(void *user, const metasim_event_t *e)
{
    ms_record *rec = user;
    if (usable(rec) != 0)
        return 1;
    if (!e) {
        fail(rec, METASIM_E_ARG, "patient %u: no event", rec->patient);
        return 1;
    }
    /* Doses follow the schedule, so they are kept with the time series: a daily pill for two
     * years would otherwise be most of a trial's database. */
    if (e->kind == METASIM_EVENT_DOSE && !rec->keep_samples)
        return 0;
    if (ms_array_reserve((void **)&rec->events, &rec->cap_events, rec->n_events + 1,
                         sizeof *rec->events, 64) != 0) {
        nomem(rec);
        return 1;
    }
    size_t site = copy_text(rec, e->site), detail = copy_text(rec, e->detail);
    if (site == SIZE_MAX - 1 || detail == SIZE_MAX - 1) {
        nomem(rec);
        return 1;
    }
    rec->events[rec->n_events++] =
        (ms_rec_event){e->time, e->kind, e->lesion, e->clone, site, detail, e->value};
    return 0;
}

/* Exposures are time series like samples, kept with them; the engine sends them at output
 * times only, so they need no bookkeeping of their own. */
static int on_exposure(void *user, const metasim_exposure_t *x)
{
    ms_record *rec = user;
    if (usable(rec) != 0)
        return 1;
    if (!rec->keep_samples)
        return 0;
    if (!x || isnan(x->time) || !x->drug) {
        fail(rec, METASIM_E_ARG, "patient %u: an exposure without time or drug", rec->patient);
        return 1;
    }
    bool effect = x->effect >= 0 && x->target && *x->target;
    uint32_t drug = intern(rec, x->drug), target = effect ? intern(rec, x->target) : MS_REC_NO_NAME;
    if (drug == NO_SLOT || (effect && target == NO_SLOT) ||
        ms_array_reserve((void **)&rec->exposures, &rec->cap_exposures, rec->n_exposures + 1,
                         sizeof *rec->exposures, 64) != 0) {
        nomem(rec);
        return 1;
    }
    rec->exposures[rec->n_exposures++] = (ms_rec_exposure){
        x->time, drug, target, effect ? x->effect : -1, x->concentration, effect ? x->value : NAN};
    return 0;
}

metasim_writer_t ms_record_writer(ms_record *rec)
{
    return (metasim_writer_t){
        .user = rec, .sample = on_sample, .event = on_event, .exposure = on_exposure};
}

/* ------------------------------------------------------------ units */

int ms_record_begin_unit(ms_record *rec, unsigned arm, bool continue_history)
{
    if (rec->failed)
        return rec->failed;
    if (ms_array_reserve((void **)&rec->units, &rec->cap_units, rec->n_units + 1,
                         sizeof *rec->units, 4) != 0)
        return nomem(rec);
    rec->units[rec->n_units++] = (ms_rec_unit){.arm = arm,
                                               .first_event = rec->n_events,
                                               .first_sample = rec->n_samples,
                                               .first_exposure = rec->n_exposures,
                                               .first_lesion = rec->n_lesions,
                                               .first_clone = rec->n_clones};
    if (!continue_history) {
        rec->tl = (ms_rec_timeline){0};
        return rebuild_slots(rec, rec->n_slots) != 0 ? nomem(rec) : 0;
    }
    if (ms_array_reserve((void **)&rec->keys, &rec->cap_keys, rec->fork_tl.n_keys,
                         sizeof *rec->keys, 64) != 0)
        return nomem(rec);
    rec->tl = rec->fork_tl;
    if (rec->tl.n_keys)
        memcpy(rec->keys, rec->fork_keys, rec->tl.n_keys * sizeof *rec->keys);
    size_t slots = rec->n_slots ? rec->n_slots : 64;
    while (slots < 2 * rec->tl.n_keys)
        slots *= 2;
    return rebuild_slots(rec, slots) != 0 ? nomem(rec) : 0;
}

/* Closes the current unit's ranges of events, samples and exposures. */
static ms_rec_unit *close_ranges(ms_record *rec)
{
    ms_rec_unit *u = &rec->units[rec->n_units - 1];
    u->n_events = rec->n_events - u->first_event;
    u->n_samples = rec->n_samples - u->first_sample;
    u->n_exposures = rec->n_exposures - u->first_exposure;
    return u;
}

int ms_record_end_history(ms_record *rec)
{
    if (usable(rec) != 0)
        return rec->failed;
    if (complete_time(rec) != 0)
        return rec->failed;
    if (ms_array_reserve((void **)&rec->fork_keys, &rec->cap_fork_keys, rec->tl.n_keys,
                         sizeof *rec->fork_keys, 64) != 0)
        return nomem(rec);
    if (rec->tl.n_keys)
        memcpy(rec->fork_keys, rec->keys, rec->tl.n_keys * sizeof *rec->keys);
    rec->fork_tl = rec->tl;
    ms_rec_unit *u = close_ranges(rec);
    u->finished = true;
    u->history = true;
    return 0;
}

int ms_record_end_unit(ms_record *rec, const metasim_sim_t *sim, int stop_reason, double horizon)
{
    if (usable(rec) != 0)
        return rec->failed;
    if (!sim)
        return fail(rec, METASIM_E_ARG, "patient %u: no simulation", rec->patient);
    if (complete_time(rec) != 0)
        return rec->failed;
    size_t n_lesions = metasim_sim_lesions(sim), n_clones = metasim_sim_clones(sim);
    size_t n_chromosomes = metasim_model_chromosome_count(metasim_sim_model(sim));
    if (rec->n_clones > 0 && n_chromosomes != rec->n_chromosomes)
        return fail(rec, METASIM_E_INTERNAL,
                    "patient %u: %zu chromosomes in one unit, %zu in another", rec->patient,
                    rec->n_chromosomes, n_chromosomes);
    rec->n_chromosomes = n_chromosomes;
    if (ms_array_reserve((void **)&rec->lesions, &rec->cap_lesions, rec->n_lesions + n_lesions,
                         sizeof *rec->lesions, 64) != 0 ||
        ms_array_reserve((void **)&rec->clones, &rec->cap_clones, rec->n_clones + n_clones,
                         sizeof *rec->clones, 64) != 0 ||
        (n_chromosomes &&
         ms_array_reserve((void **)&rec->karyotypes, &rec->cap_karyotypes,
                          (rec->n_clones + n_clones) * n_chromosomes, 1, 256) != 0))
        return nomem(rec);
    ms_rec_unit *u = close_ranges(rec);
    /* Site names belong to the simulation's model, which is the patient's own in a varying
     * cohort and goes with the simulation, before the record is written: keep copies. */
    for (size_t i = 0; i < n_lesions; i++) {
        metasim_lesion_info_t *li = &rec->lesions[rec->n_lesions + i];
        if (metasim_sim_lesion_info(sim, i, li) != 0)
            return fail(rec, METASIM_E_INTERNAL, "patient %u: lesion %zu unreadable", rec->patient,
                        i);
        uint32_t site = intern(rec, li->site);
        if (site == NO_SLOT)
            return nomem(rec);
        li->site = rec->names[site];
    }
    /* Copy numbers are the simulation's, valid until it next runs or goes: keep copies too. */
    for (size_t i = 0; i < n_clones; i++) {
        metasim_clone_info_t *ci = &rec->clones[rec->n_clones + i];
        if (metasim_sim_clone_info(sim, i, ci) != 0 || (n_chromosomes && !ci->copies))
            return fail(rec, METASIM_E_INTERNAL, "patient %u: clone %zu unreadable", rec->patient,
                        i);
        if (n_chromosomes)
            memcpy(rec->karyotypes + (rec->n_clones + i) * n_chromosomes, ci->copies,
                   n_chromosomes);
        ci->copies = NULL;
    }
    if (metasim_sim_clinical(sim, &u->clinical) != 0 || metasim_sim_counts(sim, &u->counts) != 0)
        return fail(rec, METASIM_E_INTERNAL, "patient %u: state unreadable", rec->patient);
    if (u->clinical.relapse_site) {
        uint32_t site = intern(rec, u->clinical.relapse_site);
        if (site == NO_SLOT)
            return nomem(rec);
        u->clinical.relapse_site = rec->names[site];
    }
    u->first_lesion = rec->n_lesions;
    u->n_lesions = n_lesions;
    u->first_clone = rec->n_clones;
    u->n_clones = n_clones;
    rec->n_lesions += n_lesions;
    rec->n_clones += n_clones;
    u->stop_reason = stop_reason;
    u->end_time = metasim_sim_time(sim);
    u->cells = metasim_sim_cells(sim);
    /* Without tumour cells nothing can happen any more (the model has no other cause of
     * death), so follow-up runs to the horizon. */
    u->follow_up = stop_reason == METASIM_STOP_EXTINCT ? fmax(u->end_time, horizon) : u->end_time;
    u->finished = true;
    return 0;
}

void ms_record_screen(ms_record *rec, bool enrolled, const char *reason)
{
    rec->screened = true;
    rec->enrolled = enrolled;
    snprintf(rec->reason, sizeof rec->reason, "%s", reason && !enrolled ? reason : "");
}

/* Paths, units and subtypes are interned like site names: a cohort has few of them, so the
 * names stay few across patients. */
int ms_record_values(ms_record *rec, const metasim_model_t *own)
{
    if (rec->failed)
        return rec->failed;
    if (!own)
        return fail(rec, METASIM_E_ARG, "patient %u: no model", rec->patient);
    if (rec->valued)
        return fail(rec, METASIM_E_STATE, "patient %u: values recorded twice", rec->patient);
    const char *subtype = metasim_model_patient_subtype(own);
    rec->subtype = MS_REC_NO_NAME;
    if (subtype && (rec->subtype = intern(rec, subtype)) == NO_SLOT)
        return nomem(rec);
    size_t n = metasim_model_covariate_count(own);
    if (ms_array_reserve((void **)&rec->values, &rec->cap_values, n, sizeof *rec->values, 8) != 0)
        return nomem(rec);
    for (size_t k = 0; k < n; k++) {
        metasim_covariate_t c;
        if (metasim_model_covariate(own, k, &c) != 0 || !c.path)
            return fail(rec, METASIM_E_INTERNAL, "patient %u: value %zu unreadable", rec->patient,
                        k);
        uint32_t path = intern(rec, c.path), unit = intern(rec, c.unit ? c.unit : "");
        if (path == NO_SLOT || unit == NO_SLOT)
            return nomem(rec);
        rec->values[k] = (ms_rec_value){path, unit, c.value};
    }
    rec->n_values = n;
    rec->valued = true;
    return 0;
}
