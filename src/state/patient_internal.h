/*
 * The state of one virtual patient: lesions at sites, each a set of compartments (clone x
 * state) with integer cell counts, and the clone table that holds the lineage shared by all
 * lesions. Clones are identified by genotype (the set of mutated loci) and karyotype (copy
 * numbers of the model's chromosomes, when it follows any): two events that produce the same
 * genotype and karyotype feed the same clone, whose parent is the clone it first arose from.
 * Extinct compartments are removed from lesions; clones stay in the table as lineage.
 *
 * A patient is used by one thread at a time. Memory grows only when a new clone or compartment
 * appears, never per event.
 */
#ifndef METASIM_PATIENT_INTERNAL_H
#define METASIM_PATIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strbuf_internal.h"
#include "model/model_internal.h"

#define MS_NONE UINT32_MAX

typedef struct ms_comp {
    uint32_t clone;
    uint32_t state;
    uint64_t n; /* cells */
} ms_comp;

typedef struct ms_lesion {
    uint32_t site;
    uint32_t parent; /* the lesion that seeded this one, or MS_NONE */
    uint32_t founder_clone;
    double founded;         /* d */
    double detected;        /* d: first seen on imaging by the clinic, NaN before */
    uint32_t founder_state; /* the state its founding cell arrived in */
    ms_comp *comps;
    size_t n_comps, cap_comps;
    uint64_t total;  /* sum of comps[].n, kept in step by every update */
    double *factors; /* level of each of the model's factors */
} ms_lesion;

typedef struct ms_clone {
    uint32_t parent; /* MS_NONE for the founder */
    uint32_t origin_lesion;
    double born;   /* d */
    uint64_t loci; /* bit k set: locus k mutated */
} ms_clone;

typedef struct ms_patient {
    const metasim_model_t *model;
    double t;
    ms_clone *clones;
    size_t n_clones, cap_clones;
    ms_lesion *lesions;
    size_t n_lesions, cap_lesions;
    uint32_t *by_genotype; /* open-addressing index of clones by loci and karyotype */
    size_t index_cap;      /* a power of two, at least twice n_clones */
    size_t n_chromosomes;  /* the model's; 0 when karyotypes are not followed */
    uint8_t *karyotypes;   /* clone c's copy numbers at c * n_chromosomes */
    size_t cap_karyotypes; /* in clones */
} ms_patient;

/* Clone c's copy numbers (n_chromosomes of them; NULL without karyotypes). */
static inline const uint8_t *ms_patient_karyotype(const ms_patient *p, uint32_t clone)
{
    return p->n_chromosomes ? p->karyotypes + (size_t)clone * p->n_chromosomes : NULL;
}

/* Sets up a patient at time 0 with the primary lesion holding the founder clone's initial
 * cells in the cycling state. Returns 0 or METASIM_E_NOMEM. */
int ms_patient_init(ms_patient *p, const metasim_model_t *model);
void ms_patient_free(ms_patient *p);

/* Copies `src` into `dst` (freed first), for continuing one history under several arms. */
int ms_patient_copy(ms_patient *dst, const ms_patient *src);

/* The clone with genotype `loci` and karyotype `karyotype` (n_chromosomes copy numbers; NULL
 * without karyotypes), created (with the given parent, birth time and lesion) when absent.
 * Returns its index, or MS_NONE when out of memory. `karyotype` must not point into the
 * patient's own table, which a new clone may move. */
uint32_t ms_patient_clone(ms_patient *p, uint64_t loci, const uint8_t *karyotype, uint32_t parent,
                          double born, uint32_t lesion);

/* Adds a lesion; returns its index or MS_NONE when out of memory. */
uint32_t ms_patient_add_lesion(ms_patient *p, uint32_t site, uint32_t parent, double founded,
                               uint32_t founder_clone);

/* Index of the compartment (clone, state) in lesion `l`, created empty when absent; MS_NONE
 * when out of memory. Indices stay valid until ms_lesion_prune(). */
uint32_t ms_lesion_comp(ms_lesion *l, uint32_t clone, uint32_t state);

/* Changes a compartment's count by `delta`, keeping the lesion total in step. */
static inline void ms_lesion_add(ms_lesion *l, uint32_t comp, int64_t delta)
{
    l->comps[comp].n = (uint64_t)((int64_t)l->comps[comp].n + delta);
    l->total = (uint64_t)((int64_t)l->total + delta);
}

/* Sets a compartment's count, keeping the lesion total in step. */
static inline void ms_lesion_set(ms_lesion *l, uint32_t comp, uint64_t n)
{
    l->total = l->total - l->comps[comp].n + n;
    l->comps[comp].n = n;
}

/* Removes empty compartments (this renumbers them). */
void ms_lesion_prune(ms_lesion *l);

/* Total cells over all lesions. */
uint64_t ms_patient_total(const ms_patient *p);

/* Checks every invariant (totals, indices, no duplicate compartments, lineage order). Returns
 * 0, or -1 with a description appended to `why`. Run after each step in debug and test builds. */
int ms_patient_verify(const ms_patient *p, ms_strbuf *why);

/* A human-readable dump of the state, for debugging. */
void ms_patient_print(const ms_patient *p, ms_strbuf *out);

/* A digest of the state that does not depend on the order of lesions' compartments: equal
 * states give equal digests, whatever path or thread produced them. */
uint64_t ms_patient_digest(const ms_patient *p);

#endif
