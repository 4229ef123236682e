/*
 * Karyotypes (docs/karyotype.md): what a clone's copy numbers do to its cells, and which
 * chromosomes a missegregating division changes.
 *
 * At a division of an unstable cell each followed chromosome missegregates independently with
 * probability p: one daughter gains a copy and the other loses it, which daughter gains being
 * a fair coin per chromosome. A division missegregates at least one chromosome with
 * probability q = 1 - (1 - p)^C. Such a division replaces its cell by two daughters of new
 * karyotypes (the engine counts it as a loss from the parent's compartment with two
 * emissions); a daughter with no copy of some chromosome, or more than max_copies, dies at
 * birth.
 */
#include <math.h>

#include "engine/engine_internal.h"
#include "rng/stream_internal.h"

double ms_karyotype_division(const metasim_model_t *m, const uint8_t *k)
{
    double f = 1.0;
    for (size_t i = 0; i < m->n_chromosomes; i++) {
        int d = (int)k[i] - (int)m->chromosomes[i].copies;
        if (d == 0)
            continue;
        f *= pow(m->chromosomes[i].division_per_copy, d) * (1.0 - m->aneuploidy_cost);
    }
    return f;
}

double ms_karyotype_missegregation(const metasim_model_t *m, uint64_t loci)
{
    if (m->n_chromosomes == 0 || m->missegregation <= 0)
        return 0;
    if (m->cin_locus < m->n_loci && !(loci >> m->cin_locus & 1))
        return 0;
    return -expm1((double)m->n_chromosomes * log1p(-m->missegregation));
}

double ms_karyotype_resistance(const metasim_model_t *m, const uint8_t *k, size_t drug)
{
    double f = 1.0;
    for (size_t i = 0; k && i < m->n_chromosomes; i++) {
        int gained = (int)k[i] - (int)m->chromosomes[i].copies;
        if (gained > 0 && m->chromosomes[i].resistance[drug] != 1.0)
            f *= pow(m->chromosomes[i].resistance[drug], gained);
    }
    return f;
}

void ms_karyotype_draw(metasim_sim_t *s, size_t first_from, int8_t *delta)
{
    const metasim_model_t *m = s->model;
    size_t n = m->n_chromosomes;
    double p = m->missegregation;
    for (size_t i = 0; i < n; i++)
        delta[i] = 0;
    if (first_from >= n)
        return;
    /* The first missegregating chromosome at or after first_from, given that there is one:
     * P(j) = (1 - p)^(j - first_from) p / (1 - (1 - p)^(n - first_from)), by inversion. */
    double none = exp((double)(n - first_from) * log1p(-p));
    double u = ms_rng_uniform(s->rng) * (1.0 - none);
    size_t j = first_from;
    double before = 1.0;
    for (; j + 1 < n; j++) {
        double pj = before * p;
        if (u < pj)
            break;
        u -= pj;
        before *= 1.0 - p;
    }
    delta[j] = ms_rng_uniform(s->rng) < 0.5 ? 1 : -1;
    for (size_t i = j + 1; i < n; i++)
        if (ms_rng_uniform(s->rng) < p)
            delta[i] = ms_rng_uniform(s->rng) < 0.5 ? 1 : -1;
}

bool ms_karyotype_daughter(const metasim_model_t *m, const uint8_t *parent, const int8_t *delta,
                           int sign, uint8_t *out)
{
    for (size_t i = 0; i < m->n_chromosomes; i++) {
        int c = (int)parent[i] + sign * delta[i];
        if (c <= 0 || c > (int)m->max_copies)
            return false;
        out[i] = (uint8_t)c;
    }
    return true;
}
