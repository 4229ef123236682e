/* Patients, lesions, compartments and the clone table (see patient_internal.h). */
#include "state/patient_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array_internal.h"
#include "metasim/metasim.h"

/* SplitMix64 finaliser: a cheap, well-mixing hash of a 64-bit key. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* A clone's key for hashing: its loci, mixed with its copy numbers when there are any (so that
 * without karyotypes the key is the loci alone, as before karyotypes existed). */
static uint64_t clone_key(const ms_patient *p, uint64_t loci, const uint8_t *karyotype)
{
    uint64_t h = 0;
    for (size_t i = 0; i < p->n_chromosomes; i++)
        h = mix64(h ^ ((uint64_t)karyotype[i] << 8 | i));
    return loci ^ h;
}

static int rebuild_index(ms_patient *p, size_t cap)
{
    uint32_t *index = malloc(cap * sizeof *index);
    if (!index)
        return METASIM_E_NOMEM;
    for (size_t i = 0; i < cap; i++)
        index[i] = MS_NONE;
    for (size_t c = 0; c < p->n_clones; c++) {
        uint64_t key = clone_key(p, p->clones[c].loci, ms_patient_karyotype(p, (uint32_t)c));
        size_t h = (size_t)mix64(key) & (cap - 1);
        while (index[h] != MS_NONE)
            h = (h + 1) & (cap - 1);
        index[h] = (uint32_t)c;
    }
    free(p->by_genotype);
    p->by_genotype = index;
    p->index_cap = cap;
    return 0;
}

uint32_t ms_patient_clone(ms_patient *p, uint64_t loci, const uint8_t *karyotype, uint32_t parent,
                          double born, uint32_t lesion)
{
    size_t nc = p->n_chromosomes;
    size_t h = (size_t)mix64(clone_key(p, loci, karyotype)) & (p->index_cap - 1);
    while (p->by_genotype[h] != MS_NONE) {
        uint32_t c = p->by_genotype[h];
        if (p->clones[c].loci == loci &&
            (nc == 0 || memcmp(ms_patient_karyotype(p, c), karyotype, nc) == 0))
            return c;
        h = (h + 1) & (p->index_cap - 1);
    }
    if (p->n_clones >= MS_NONE - 1 || ms_array_reserve((void **)&p->clones, &p->cap_clones,
                                                       p->n_clones + 1, sizeof *p->clones, 16) != 0)
        return MS_NONE;
    if (nc > 0) {
        if (ms_array_reserve((void **)&p->karyotypes, &p->cap_karyotypes, p->n_clones + 1, nc,
                             16) != 0)
            return MS_NONE;
        memcpy(p->karyotypes + p->n_clones * nc, karyotype, nc);
    }
    uint32_t id = (uint32_t)p->n_clones++;
    p->clones[id] = (ms_clone){parent, lesion, born, loci};
    if (2 * p->n_clones > p->index_cap) {
        if (rebuild_index(p, p->index_cap * 2) != 0) {
            p->n_clones--;
            return MS_NONE;
        }
    } else {
        p->by_genotype[h] = id;
    }
    return id;
}

uint32_t ms_patient_add_lesion(ms_patient *p, uint32_t site, uint32_t parent, double founded,
                               uint32_t founder_clone)
{
    if (ms_array_reserve((void **)&p->lesions, &p->cap_lesions, p->n_lesions + 1,
                         sizeof *p->lesions, 4) != 0)
        return MS_NONE;
    const metasim_model_t *m = p->model;
    double *factors = malloc((m->n_factors ? m->n_factors : 1) * sizeof *factors);
    if (!factors)
        return MS_NONE;
    for (size_t k = 0; k < m->n_factors; k++)
        factors[k] = m->factors[k].initial;
    uint32_t id = (uint32_t)p->n_lesions++;
    p->lesions[id] = (ms_lesion){.site = site,
                                 .parent = parent,
                                 .founder_clone = founder_clone,
                                 .founded = founded,
                                 .detected = NAN,
                                 .factors = factors};
    return id;
}

uint32_t ms_lesion_comp(ms_lesion *l, uint32_t clone, uint32_t state)
{
    for (size_t i = 0; i < l->n_comps; i++)
        if (l->comps[i].clone == clone && l->comps[i].state == state)
            return (uint32_t)i;
    if (ms_array_reserve((void **)&l->comps, &l->cap_comps, l->n_comps + 1, sizeof *l->comps, 4) !=
        0)
        return MS_NONE;
    l->comps[l->n_comps] = (ms_comp){clone, state, 0};
    return (uint32_t)l->n_comps++;
}

void ms_lesion_prune(ms_lesion *l)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n_comps; i++)
        if (l->comps[i].n > 0)
            l->comps[k++] = l->comps[i];
    l->n_comps = k;
}

int ms_patient_init(ms_patient *p, const metasim_model_t *model)
{
    *p = (ms_patient){.model = model, .n_chromosomes = model->n_chromosomes};
    if (rebuild_index(p, 16) != 0)
        return METASIM_E_NOMEM;
    uint8_t founders[64];
    for (size_t i = 0; i < model->n_chromosomes; i++)
        founders[i] = (uint8_t)model->chromosomes[i].copies;
    uint32_t founder = ms_patient_clone(p, 0, founders, MS_NONE, 0.0, 0);
    uint32_t lesion = founder == MS_NONE ? MS_NONE
                                         : ms_patient_add_lesion(p, (uint32_t)model->primary_site,
                                                                 MS_NONE, 0.0, founder);
    uint32_t comp = lesion == MS_NONE ? MS_NONE
                                      : ms_lesion_comp(&p->lesions[lesion], founder,
                                                       (uint32_t)model->initial_state);
    if (comp == MS_NONE) {
        ms_patient_free(p);
        return METASIM_E_NOMEM;
    }
    ms_lesion_set(&p->lesions[lesion], comp, model->initial_cells);
    /* The primary's own levels at time 0 (primary.initial_levels; each factor's initial
     * unless given). */
    for (size_t k = 0; k < model->n_factors; k++)
        p->lesions[lesion].factors[k] = model->factors[k].primary_initial;
    return 0;
}

void ms_patient_free(ms_patient *p)
{
    for (size_t i = 0; i < p->n_lesions; i++) {
        free(p->lesions[i].comps);
        free(p->lesions[i].factors);
    }
    free(p->lesions);
    free(p->clones);
    free(p->by_genotype);
    free(p->karyotypes);
    *p = (ms_patient){0};
}

int ms_patient_copy(ms_patient *dst, const ms_patient *src)
{
    ms_patient_free(dst);
    ms_patient p = *src;
    p.clones = malloc(src->cap_clones * sizeof *p.clones);
    p.lesions = calloc(src->cap_lesions ? src->cap_lesions : 1, sizeof *p.lesions);
    p.by_genotype = malloc(src->index_cap * sizeof *p.by_genotype);
    p.karyotypes = NULL;
    if (src->n_chromosomes && !(p.karyotypes = malloc(src->cap_karyotypes * src->n_chromosomes)))
        goto fail;
    if (!p.clones || !p.lesions || !p.by_genotype)
        goto fail;
    if (p.karyotypes)
        memcpy(p.karyotypes, src->karyotypes, src->n_clones * src->n_chromosomes);
    memcpy(p.clones, src->clones, src->n_clones * sizeof *p.clones);
    memcpy(p.by_genotype, src->by_genotype, src->index_cap * sizeof *p.by_genotype);
    for (size_t i = 0; i < src->n_lesions; i++) {
        size_t nf = src->model->n_factors ? src->model->n_factors : 1;
        p.lesions[i] = src->lesions[i];
        p.lesions[i].comps =
            malloc((src->lesions[i].cap_comps ? src->lesions[i].cap_comps : 1) * sizeof(ms_comp));
        p.lesions[i].factors = malloc(nf * sizeof(double));
        if (!p.lesions[i].comps || !p.lesions[i].factors) {
            free(p.lesions[i].comps);
            free(p.lesions[i].factors);
            p.n_lesions = i;
            goto fail;
        }
        memcpy(p.lesions[i].comps, src->lesions[i].comps,
               src->lesions[i].n_comps * sizeof(ms_comp));
        memcpy(p.lesions[i].factors, src->lesions[i].factors, nf * sizeof(double));
    }
    *dst = p;
    return 0;
fail:
    ms_patient_free(&p);
    return METASIM_E_NOMEM;
}

uint64_t ms_patient_total(const ms_patient *p)
{
    uint64_t total = 0;
    for (size_t i = 0; i < p->n_lesions; i++)
        total += p->lesions[i].total;
    return total;
}

int ms_patient_verify(const ms_patient *p, ms_strbuf *why)
{
    const metasim_model_t *m = p->model;
    for (size_t c = 0; c < p->n_clones; c++) {
        const ms_clone *cl = &p->clones[c];
        if (c > 0 && (cl->parent == MS_NONE || cl->parent >= c)) {
            ms_strbuf_printf(why, "clone %zu: parent %u is not an earlier clone", c, cl->parent);
            return -1;
        }
        if (c > 0 && cl->born < p->clones[cl->parent].born) {
            ms_strbuf_printf(why, "clone %zu: born before its parent", c);
            return -1;
        }
        if (m->n_loci < 64 && (cl->loci >> m->n_loci) != 0) {
            ms_strbuf_printf(why, "clone %zu: undeclared locus bit", c);
            return -1;
        }
        const uint8_t *k = ms_patient_karyotype(p, (uint32_t)c);
        for (size_t i = 0; i < p->n_chromosomes; i++)
            if (k[i] == 0 || k[i] > m->max_copies) {
                ms_strbuf_printf(why, "clone %zu: %u copies of %s are lethal", c, k[i],
                                 m->chromosomes[i].name);
                return -1;
            }
    }
    for (size_t i = 0; i < p->n_lesions; i++) {
        const ms_lesion *l = &p->lesions[i];
        uint64_t total = 0;
        /* The seeding graph is a tree rooted at the primary, in order of founding. */
        if ((i == 0) != (l->parent == MS_NONE) || (i > 0 && l->parent >= i) ||
            (i > 0 && l->founded < p->lesions[l->parent].founded) ||
            l->founder_clone >= p->n_clones) {
            ms_strbuf_printf(why, "lesion %zu: not a node of the seeding tree (parent %u)", i,
                             l->parent);
            return -1;
        }
        if (l->site >= m->n_sites) {
            ms_strbuf_printf(why, "lesion %zu: site %u out of range", i, l->site);
            return -1;
        }
        for (size_t k = 0; k < l->n_comps; k++) {
            const ms_comp *c = &l->comps[k];
            if (c->clone >= p->n_clones || c->state >= m->n_states) {
                ms_strbuf_printf(why, "lesion %zu comp %zu: clone %u or state %u out of range", i,
                                 k, c->clone, c->state);
                return -1;
            }
            for (size_t j = 0; j < k; j++) {
                if (l->comps[j].clone == c->clone && l->comps[j].state == c->state) {
                    ms_strbuf_printf(why, "lesion %zu: compartment (%u, %u) twice", i, c->clone,
                                     c->state);
                    return -1;
                }
            }
            if (c->n > (UINT64_C(1) << 60)) {
                ms_strbuf_printf(why, "lesion %zu comp %zu: count %llu wrapped below zero", i, k,
                                 (unsigned long long)c->n);
                return -1;
            }
            total += c->n;
        }
        for (size_t k = 0; k < m->n_factors; k++) {
            if (!(l->factors[k] >= 0) || !isfinite(l->factors[k])) {
                ms_strbuf_printf(why, "lesion %zu: factor %s has level %g", i, m->factors[k].name,
                                 l->factors[k]);
                return -1;
            }
        }
        if (total != l->total) {
            ms_strbuf_printf(why, "lesion %zu: total %llu but compartments sum to %llu", i,
                             (unsigned long long)l->total, (unsigned long long)total);
            return -1;
        }
    }
    return 0;
}

void ms_patient_print(const ms_patient *p, ms_strbuf *out)
{
    const metasim_model_t *m = p->model;
    ms_strbuf_printf(out, "t = %.6g d, %zu clones, %zu lesions\n", p->t, p->n_clones, p->n_lesions);
    for (size_t i = 0; i < p->n_lesions; i++) {
        const ms_lesion *l = &p->lesions[i];
        ms_strbuf_printf(out, "  lesion %zu at %s: %llu cells\n", i, m->sites[l->site].name,
                         (unsigned long long)l->total);
        for (size_t k = 0; k < l->n_comps; k++)
            ms_strbuf_printf(out, "    clone %u %s: %llu\n", l->comps[k].clone,
                             m->states[l->comps[k].state], (unsigned long long)l->comps[k].n);
    }
}

uint64_t ms_patient_digest(const ms_patient *p)
{
    uint64_t digest = mix64((uint64_t)p->n_lesions);
    for (size_t i = 0; i < p->n_lesions; i++) {
        const ms_lesion *l = &p->lesions[i];
        uint64_t lesion = mix64(i ^ ((uint64_t)l->site << 32));
        for (size_t k = 0; k < l->n_comps; k++) {
            const ms_comp *c = &l->comps[k];
            if (c->n == 0)
                continue;
            /* Summing per-compartment hashes makes the digest independent of their order. */
            uint64_t key =
                clone_key(p, p->clones[c->clone].loci, ms_patient_karyotype(p, c->clone));
            digest += mix64(lesion ^ mix64(key ^ mix64(c->state)) ^
                            mix64(c->n + UINT64_C(0x9e3779b97f4a7c15)));
        }
        for (size_t k = 0; k < p->model->n_factors; k++) {
            uint64_t bits;
            memcpy(&bits, &l->factors[k], sizeof bits);
            digest += mix64(lesion ^ mix64(bits ^ mix64(k + UINT64_C(0x51ed27))));
        }
    }
    return digest;
}
