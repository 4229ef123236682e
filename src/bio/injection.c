/*
 * Injections of cells into the circulation (arms.<name>.injections): the second source of
 * circulating cells of the mouse experiments on tumour self-seeding (Kim, Oskarsson, Acharyya,
 * Nguyen, Zhang, Norton and Massague, "Tumor self-seeding by circulating cancer cells", Cell
 * 2009;139:1315), where labelled cells injected into the tail vein of a mouse that bears a
 * tumour of unlabelled cells are later found in that tumour.
 *
 * An injection of n cells at time t makes (or finds) the clone with the founder's karyotype
 * and the injection's loci (born at t, its parent the founder: injected lines derive from the
 * same cells, as LM2 derives from MDA-MB-231) and sends the n cells through the cascade of
 * spread.c exactly as cells shed into the blood: each survives the circulation with
 * probability circulation.survival, lands at site j with probability w_j / sum(w) (w_j the
 * site's blood flow times the clone's tropism, times the primary's homing at the primary's
 * site) and colonises with the site's colonisation times its loci's factors. So the number that
 * settles at the primary's site is Binomial(n, survival x w_primary / sum(w) x colonisation);
 * of those, a share primary.seeds_outside found lesions of their own around the tumour, the
 * rest join the primary (self-seeding), in their arrival state. Cells settling elsewhere found
 * lesions. The draws come from the engine stream, which is the arm's own from its assignment
 * on (an arm with injections is assigned at time 0), so the schedule is deterministic for a
 * (seed, patient, arm).
 *
 * The seeding graph has one root, the primary: lesions founded by injected cells record it as
 * their source; their founder clone (carrying the injection's loci) tells them apart.
 *
 * Injections are in time order (model.c checks it), so s->injected, the number given, is all
 * the state they need; a fork copies it with the arm's therapy.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio/injection_internal.h"
#include "engine/engine_internal.h"
#include "rng/samplers_internal.h"

static const ms_arm *arm_of(const metasim_sim_t *s)
{
    return &s->model->arms[s->opt.arm - 1];
}

/* The clone of the injected cells, created and reported when new. */
static int injected_clone(metasim_sim_t *s, uint64_t loci, uint32_t *out)
{
    size_t n = s->p.n_chromosomes;
    uint8_t *karyotype = NULL;
    if (n) { /* the founder's copies; ms_patient_clone must not read the table it may move */
        karyotype = malloc(n);
        if (!karyotype)
            return METASIM_E_NOMEM;
        memcpy(karyotype, ms_patient_karyotype(&s->p, 0), n);
    }
    size_t before = s->p.n_clones;
    uint32_t id = ms_patient_clone(&s->p, loci, karyotype, 0, s->p.t, 0);
    free(karyotype);
    if (id == MS_NONE)
        return METASIM_E_NOMEM;
    int rc = 0;
    if (s->p.n_clones > before && (rc = ms_engine_traits(s, id)) == 0)
        rc = ms_engine_clone_event(s, id, 0, s->p.t);
    *out = id;
    return rc;
}

/* Injection k: its cells through the circulation, now. */
static int give(metasim_sim_t *s, size_t k)
{
    const metasim_model_t *m = s->model;
    const ms_injection *inj = &arm_of(s)->injections[k];
    const double t = s->p.t;
    uint32_t clone;
    int rc = injected_clone(s, inj->loci, &clone);
    if (rc != 0)
        return rc;
    uint64_t *colonisers = s->colonisers; /* step.c's workspace, free between steps */
    ms_engine_spread(s, clone, inj->cells, false, colonisers);
    s->counts.injected += inj->cells;
    s->ctc += (double)inj->cells; /* in the blood now, cleared at the circulation's rate */
    uint64_t joined = 0, around = 0, elsewhere = 0;
    const uint32_t state = (uint32_t)inj->state;
    for (uint32_t j = 0; j < m->n_sites && rc == 0; j++) {
        uint64_t n = colonisers[j];
        if (n == 0)
            continue;
        if (!ms_engine_joins_primary(s, j)) {
            for (uint64_t i = 0; i < n && rc == 0; i++)
                rc = ms_engine_found_lesion(s, j, 0, clone, state, t);
            elsewhere += n;
            continue;
        }
        /* As shed cells that return (step.c, disseminate): some lodge around the tumour. */
        s->counts.self_seeded += n;
        uint64_t outside =
            m->seeds_outside > 0 ? ms_ran_binomial64(s->rng, m->seeds_outside, n) : 0;
        for (uint64_t i = 0; i < outside && rc == 0; i++)
            rc = ms_engine_found_lesion(s, j, 0, clone, state, t);
        around += outside;
        n -= outside;
        joined += n;
        /* In their arrival states; the primary takes them at its next step. */
        uint32_t awake;
        uint64_t dormant = ms_engine_arrivals_dormant(s, j, state, n, &awake);
        if (rc == 0 && dormant > 0)
            rc = ms_engine_pending(s, 0, clone, MS_STATE_DORMANT, t, dormant);
        if (rc == 0 && n - dormant > 0)
            rc = ms_engine_pending(s, 0, clone, awake, t, n - dormant);
    }
    const metasim_writer_t *w = s->opt.writer;
    if (rc != 0 || !w || !w->event)
        return rc;
    char detail[160];
    snprintf(detail, sizeof detail,
             "injection %zu: %.6g cells into the blood; %llu join the primary, %llu lodge around "
             "it, %llu found lesions elsewhere",
             k + 1, (double)inj->cells, (unsigned long long)joined, (unsigned long long)around,
             (unsigned long long)elsewhere);
    metasim_event_t e = {.time = t,
                         .kind = METASIM_EVENT_THERAPY,
                         .clone = clone,
                         .site = "",
                         .detail = detail,
                         .value = 0};
    return w->event(w->user, &e) != 0 ? METASIM_E_IO : 0;
}

int ms_injection_update(metasim_sim_t *s)
{
    if (!s->treated)
        return 0;
    const ms_arm *arm = arm_of(s);
    while (s->injected < arm->n_injections && arm->injections[s->injected].at <= s->p.t) {
        int rc = give(s, s->injected++);
        if (rc != 0)
            return rc;
    }
    return 0;
}

double ms_injection_next(const metasim_sim_t *s)
{
    if (!s->treated)
        return INFINITY;
    const ms_arm *arm = arm_of(s);
    return s->injected < arm->n_injections ? arm->injections[s->injected].at : INFINITY;
}
