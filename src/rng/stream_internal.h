/* Counter-based random streams: every random number in a run comes from a stream named by
 * (seed, patient, arm, purpose), so a patient's history is the same bits whichever thread, process
 * or shard simulates it, and in whatever order streams are created (DESIGN.md, "Reproducibility").
 * A stream is Random123's Philox4x32-10 applied to successive counters; see stream.c for the
 * layout of key and counter. A stream is plain data: copy it to fork it, no allocation, and one
 * thread at a time may draw from it. */
#ifndef METASIM_STREAM_INTERNAL_H
#define METASIM_STREAM_INTERNAL_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

/* Purposes are 16 bits wide because they share a counter word with the block index; higher bits
 * are ignored, so two purposes equal modulo 2^16 would name the same stream. */
#define MS_STREAM_PURPOSE_MAX 0xffffu

/* The purposes of the streams, all in one place so that no two uses share a stream: the engine's
 * events, blood draws (never perturbing the history), the clinic's own randomness, the
 * randomised design's allocation and a patient's cohort values. The last two are keyed with arm
 * 0, so drawing them never shifts a patient's history. */
enum {
    MS_PURPOSE_ENGINE = 1,
    MS_PURPOSE_BLOOD = 2,
    MS_PURPOSE_CLINIC = 3,
    MS_PURPOSE_ALLOCATION = 16,
    MS_PURPOSE_COHORT = 17,
};

/* A stream yields 2^48 blocks of four 32-bit words (2^50 words), then repeats. */
#define MS_STREAM_BLOCK_MASK UINT64_C(0xffffffffffff)

typedef struct ms_stream {
    uint32_t key[2]; /* seed, low word first */
    uint32_t ctr[4]; /* counter template: {0, purpose << 16, patient, arm} */
    uint32_t out[4]; /* the current block's output */
    unsigned pos;    /* next word of out to hand out; 4 when out is used up */
    uint64_t block;  /* index of the next block to compute, below 2^48 */
} ms_stream;

/* Keys `s` as the stream (seed, patient, arm, purpose) and rewinds it to its first word. Only the
 * low 16 bits of `purpose` count (MS_STREAM_PURPOSE_MAX). */
void ms_stream_init(ms_stream *s, uint64_t seed, uint32_t patient, uint32_t arm, uint32_t purpose);

/* Computes the next block into s->out (stream.c). */
void ms_stream_refill(ms_stream *s);

/* The next 32-bit word. Inline: the engine draws two uniforms per event. */
static inline uint32_t ms_stream_u32(ms_stream *s)
{
    if (s->pos >= 4)
        ms_stream_refill(s);
    return s->out[s->pos++];
}

/* The next two words as one: the first word drawn is the low half. */
static inline uint64_t ms_stream_u64(ms_stream *s)
{
    /* Two statements: the order of evaluation of operands within one expression is unspecified. */
    uint64_t lo = ms_stream_u32(s);
    uint64_t hi = ms_stream_u32(s);
    return hi << 32 | lo;
}

/* A uniform double strictly inside (0,1), from one ms_stream_u64: the 2^52 values
 * {1, 3, 5, ..., 2^53 - 1} / 2^53, each equally likely, so the smallest is 2^-53.
 * Random123's u01fixedpt_open_open_64_double: (k + 0.5) 2^-52 for a 52-bit k is exact in a
 * double, so 0 and 1 are never returned (the tempting ((u >> 11) + 0.5) 2^-53 is not exact
 * above 1/2 and rounds the top value to 1.0). */
static inline double ms_stream_uniform(ms_stream *s)
{
    return ((double)(ms_stream_u64(s) >> 12) + 0.5) * 0x1p-52;
}

/* The uniform of a gsl_rng of type ms_rng_philox, without the indirect call. */
static inline double ms_rng_uniform(const gsl_rng *r)
{
    return ms_stream_uniform((ms_stream *)r->state);
}

/* A gsl_rng type whose state is an ms_stream, named "philox4x32_10", so that gsl_ran_* samplers
 * draw from keyed streams. gsl_rng_set(r, seed) keys the stream (seed, 0, 0, 0). */
extern const gsl_rng_type *const ms_rng_philox;

/* Re-keys `r`, which must have been allocated with type ms_rng_philox, as the stream
 * (seed, patient, arm, purpose), rewound to its first word. */
void ms_rng_set_stream(gsl_rng *r, uint64_t seed, uint32_t patient, uint32_t arm, uint32_t purpose);

#endif
