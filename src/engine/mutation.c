/*
 * Which loci a mutant daughter acquires. Each locus k not yet carried is acquired
 * independently with probability u_k; given that at least one is, the first acquired locus is
 * j with probability prod_{i<j}(1 - u_i) u_j / (1 - prod_i (1 - u_i)), and every later locus
 * is then acquired independently with its own u. This samples the exact conditional law with
 * one uniform per locus visited, instead of one per locus per division.
 */
#include "engine/engine_internal.h"
#include "rng/stream_internal.h"

uint64_t ms_engine_mutate(metasim_sim_t *s, uint64_t parent)
{
    const metasim_model_t *m = s->model;
    double none = 1.0; /* prod over free loci of (1 - u) */
    for (size_t k = 0; k < m->n_loci; k++)
        if (!(parent >> k & 1))
            none *= 1.0 - m->loci[k].mutation_probability;
    /* P(first acquired locus is j) = P(none before j) u_j, conditioned on some: walk the loci
     * subtracting each one's probability from a uniform scaled to 1 - none. */
    double x = gsl_rng_uniform(s->rng) * (1.0 - none);
    double before = 1.0; /* prod of (1 - u) over free loci before the current one */
    uint64_t loci = parent;
    size_t first = m->n_loci;
    size_t last_free = m->n_loci;
    for (size_t k = 0; k < m->n_loci; k++) {
        if (parent >> k & 1)
            continue;
        last_free = k;
        double pk = before * m->loci[k].mutation_probability;
        if (x < pk) {
            first = k;
            break;
        }
        x -= pk;
        before *= 1.0 - m->loci[k].mutation_probability;
    }
    if (first == m->n_loci)
        first = last_free; /* rounding left x past the end: the last free locus */
    if (first == m->n_loci)
        return parent; /* no free locus: cannot happen when 1 - none > 0 */
    loci |= UINT64_C(1) << first;
    for (size_t k = first + 1; k < m->n_loci; k++)
        if (!(parent >> k & 1) && gsl_rng_uniform(s->rng) < m->loci[k].mutation_probability)
            loci |= UINT64_C(1) << k;
    return loci;
}
