/* Random streams on Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011), a keyed bijection of 128-bit counters. Stream (seed, patient, arm, purpose), block b
 * (0 <= b < 2^48) is
 *
 *     key     = {seed & 0xffffffff, seed >> 32}
 *     counter = {b & 0xffffffff, (b >> 32) | purpose << 16, patient, arm}
 *     block   = philox4x32_R(10, counter, key), handed out as words 0, 1, 2, 3.
 *
 * The stream's identity sits in the counter's upper words and the seed in the key, so distinct
 * streams never share a counter and no stream depends on which thread or process creates it or
 * in what order: there is no shared generator to advance, only a pure function of the name. The
 * seed goes in the key rather than the counter so that runs with different seeds are different
 * permutations altogether, not shifted views of one sequence. Stream (0, 0, 0, 0) starts with
 * Random123's first known-answer vector, which the unit test checks. */
#include "rng/stream_internal.h"

#include <Random123/philox.h>

void ms_stream_init(ms_stream *s, uint64_t seed, uint32_t patient, uint32_t arm, uint32_t purpose)
{
    s->key[0] = (uint32_t)seed;
    s->key[1] = (uint32_t)(seed >> 32);
    s->ctr[0] = 0;
    s->ctr[1] = (purpose & MS_STREAM_PURPOSE_MAX) << 16;
    s->ctr[2] = patient;
    s->ctr[3] = arm;
    for (int i = 0; i < 4; i++)
        s->out[i] = 0;
    s->pos = 4;
    s->block = 0;
}

void ms_stream_refill(ms_stream *s)
{
    philox4x32_key_t key = {{s->key[0], s->key[1]}};
    philox4x32_ctr_t ctr = {
        {(uint32_t)s->block, (uint32_t)(s->block >> 32) | s->ctr[1], s->ctr[2], s->ctr[3]}};
    philox4x32_ctr_t out = philox4x32_R(10, ctr, key);
    for (int i = 0; i < 4; i++)
        s->out[i] = out.v[i];
    s->pos = 0;
    /* Masked so that the block index can never spill into the purpose bits. */
    s->block = (s->block + 1) & MS_STREAM_BLOCK_MASK;
}

/* The gsl_rng adapter. gsl asks get_double for [0,1); (0,1) is a subset, and keeps samplers that
 * take log(u) or divide by u away from 0. get_double has 52 random bits instead of the 32 of gsl's
 * default get() / 2^32, so that per-event probabilities below 2^-32 are not lost. */
static void philox_set(void *state, unsigned long seed)
{
    ms_stream_init(state, (uint64_t)seed, 0, 0, 0);
}

static unsigned long philox_get(void *state)
{
    return ms_stream_u32(state);
}

static double philox_get_double(void *state)
{
    return ms_stream_uniform(state);
}

static const gsl_rng_type philox_type = {
    "philox4x32_10", /* name */
    0xffffffffUL,    /* max of get() */
    0,               /* min of get() */
    sizeof(ms_stream),
    philox_set,
    philox_get,
    philox_get_double,
};

const gsl_rng_type *const ms_rng_philox = &philox_type;

void ms_rng_set_stream(gsl_rng *r, uint64_t seed, uint32_t patient, uint32_t arm, uint32_t purpose)
{
    ms_stream_init(r->state, seed, patient, arm, purpose);
}
