/* Unit tests for the keyed random streams (src/rng/stream.c): Philox4x32-10 known answers, the
 * documented key and counter layout, reproducibility whatever the creation and drawing order, the
 * gsl_rng adapter, and a statistical smoke test that neighbouring keys give unrelated streams.
 * Some tests are white-box: they set a stream's block index or output buffer directly, to reach
 * counters and words that drawing alone would take up to 2^50 draws to reach. */
#include "unit_test.h"
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>

#include <Random123/philox.h>

#include "rng/stream_internal.h"

/* Random123 kat_vectors, philox4x32 rounds=10: counter, key, expected output. */
static const struct {
    uint32_t ctr[4], key[2], out[4];
} kat[3] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

/* The block the documented layout (stream.c) says stream (seed, patient, arm, purpose) has at
 * index `block`, computed with Random123 directly. */
static philox4x32_ctr_t expected_block(uint64_t seed, uint32_t patient, uint32_t arm,
                                       uint32_t purpose, uint64_t block)
{
    philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t ctr = {
        {(uint32_t)block, (uint32_t)(block >> 32) | purpose << 16, patient, arm}};
    return philox4x32_R(10, ctr, key);
}

static void assert_next_block(ms_stream *s, philox4x32_ctr_t want)
{
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(ms_stream_u32(s), want.v[i]);
}

START_TEST(test_kat_raw)
{
    for (int k = 0; k < 3; k++) {
        philox4x32_ctr_t ctr = {{kat[k].ctr[0], kat[k].ctr[1], kat[k].ctr[2], kat[k].ctr[3]}};
        philox4x32_key_t key = {{kat[k].key[0], kat[k].key[1]}};
        philox4x32_ctr_t r10 = philox4x32_R(10, ctr, key);
        philox4x32_ctr_t dflt = philox4x32(ctr, key);
        for (int i = 0; i < 4; i++) {
            ck_assert_uint_eq(r10.v[i], kat[k].out[i]);
            ck_assert_uint_eq(dflt.v[i], kat[k].out[i]);
        }
    }
}
END_TEST

/* Each known-answer vector, read back as the stream whose key and counter it is. */
START_TEST(test_kat_stream)
{
    ms_stream s;
    ms_stream_init(&s, 0, 0, 0, 0);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(ms_stream_u32(&s), kat[0].out[i]);

    /* All ones: seed 2^64-1, purpose 0xffff, patient and arm 2^32-1, the last block 2^48-1. */
    ms_stream_init(&s, UINT64_MAX, 0xffffffff, 0xffffffff, 0xffff);
    s.block = MS_STREAM_BLOCK_MASK;
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(ms_stream_u32(&s), kat[1].out[i]);

    /* Counter word 1 = 0x85a308d3 is purpose 0x85a3 and block bits 32..47 = 0x08d3. */
    ms_stream_init(&s, UINT64_C(0x299f31d0a4093822), 0x13198a2e, 0x03707344, 0x85a3);
    s.block = UINT64_C(0x08d3243f6a88);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(ms_stream_u32(&s), kat[2].out[i]);
}
END_TEST

START_TEST(test_layout)
{
    const uint64_t seed = UINT64_C(0x0123456789abcdef);
    const uint32_t patient = 4711, arm = 2, purpose = 0x1234;
    ms_stream s;

    /* The first blocks, in order, and u64 = low word first. */
    ms_stream_init(&s, seed, patient, arm, purpose);
    for (uint64_t b = 0; b < 3; b++)
        assert_next_block(&s, expected_block(seed, patient, arm, purpose, b));
    philox4x32_ctr_t b3 = expected_block(seed, patient, arm, purpose, 3);
    ck_assert_uint_eq(ms_stream_u64(&s), (uint64_t)b3.v[1] << 32 | b3.v[0]);
    ck_assert_uint_eq(ms_stream_u64(&s), (uint64_t)b3.v[3] << 32 | b3.v[2]);

    /* The block index carries from counter word 0 into the low half of word 1. */
    s.block = UINT64_C(0xffffffff);
    s.pos = 4;
    assert_next_block(&s, expected_block(seed, patient, arm, purpose, UINT64_C(0xffffffff)));
    assert_next_block(&s, expected_block(seed, patient, arm, purpose, UINT64_C(0x100000000)));

    /* After block 2^48-1 the stream wraps to block 0 and keeps its purpose. */
    s.block = MS_STREAM_BLOCK_MASK;
    s.pos = 4;
    assert_next_block(&s, expected_block(seed, patient, arm, purpose, MS_STREAM_BLOCK_MASK));
    assert_next_block(&s, expected_block(seed, patient, arm, purpose, 0));

    /* Purpose bits above 16 are ignored, as documented. */
    ms_stream t;
    ms_stream_init(&s, seed, patient, arm, 5);
    ms_stream_init(&t, seed, patient, arm, 0x10005);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(ms_stream_u32(&s), ms_stream_u32(&t));
}
END_TEST

START_TEST(test_equal_keys)
{
    ms_stream a, b;
    ms_stream_init(&a, 20240611, 17, 1, 3);
    ms_stream_init(&b, 20240611, 17, 1, 3);
    for (int i = 0; i < 10000; i++) {
        switch (i % 3) {
        case 0: ck_assert_uint_eq(ms_stream_u32(&a), ms_stream_u32(&b)); break;
        case 1: ck_assert_uint_eq(ms_stream_u64(&a), ms_stream_u64(&b)); break;
        default: ck_assert(ms_stream_uniform(&a) == ms_stream_uniform(&b));
        }
    }
}
END_TEST

/* Three streams drawn one after another, then re-created in reverse order and drawn round-robin
 * with a fresh, unrelated stream in between: each stream's words are the same both times. */
START_TEST(test_order_independent)
{
    enum { N = 1000 };
    static const uint32_t patients[3] = {0, 1, 999};
    uint32_t seq[3][N];
    ms_stream s[3];

    for (int j = 0; j < 3; j++) {
        ms_stream_init(&s[j], 42, patients[j], 0, 7);
        for (int i = 0; i < N; i++)
            seq[j][i] = ms_stream_u32(&s[j]);
    }
    ms_stream other;
    for (int j = 2; j >= 0; j--)
        ms_stream_init(&s[j], 42, patients[j], 0, 7);
    ms_stream_init(&other, 42, 5, 0, 7);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 3; j++) {
            ck_assert_uint_eq(ms_stream_u32(&s[j]), seq[j][i]);
            (void)ms_stream_u32(&other);
        }
    }
}
END_TEST

START_TEST(test_gsl_adapter)
{
    gsl_rng *r = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(gsl_rng_name(r), "philox4x32_10");
    ck_assert_uint_eq(gsl_rng_max(r), 0xffffffffUL);
    ck_assert_uint_eq(gsl_rng_min(r), 0);

    ms_stream s;
    ms_rng_set_stream(r, 99, 12, 1, 4);
    ms_stream_init(&s, 99, 12, 1, 4);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(gsl_rng_get(r), ms_stream_u32(&s));
    for (int i = 0; i < 1000; i++)
        ck_assert(gsl_rng_uniform(r) == ms_stream_uniform(&s));

    /* gsl_rng_set keys stream (seed, 0, 0, 0); seed 0 gives the first known-answer vector. */
    gsl_rng_set(r, 0);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(gsl_rng_get(r), kat[0].out[i]);
    gsl_rng_set(r, 12345);
    ms_stream_init(&s, 12345, 0, 0, 0);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(gsl_rng_get(r), ms_stream_u32(&s));

    /* The state is plain data, so a clone continues exactly where the original was. */
    (void)gsl_rng_get(r);
    gsl_rng *c = gsl_rng_clone(r);
    ck_assert_ptr_nonnull(c);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(gsl_rng_get(c), gsl_rng_get(r));
    gsl_rng_free(c);
    gsl_rng_free(r);
}
END_TEST

/* gsl_ran_poisson's two methods (direct below mu = 10, gamma splitting above) on the adapter. The
 * sample mean of n draws has standard error sqrt(mu / n); accept within 5 SE. */
START_TEST(test_gsl_poisson)
{
    enum { N = 100000 };
    static const double mus[2] = {3.5, 40.0};
    gsl_rng *r = gsl_rng_alloc(ms_rng_philox);
    ck_assert_ptr_nonnull(r);
    for (int m = 0; m < 2; m++) {
        ms_rng_set_stream(r, 2024, 0, 0, (uint32_t)m);
        double sum = 0;
        for (int i = 0; i < N; i++)
            sum += gsl_ran_poisson(r, mus[m]);
        double se = sqrt(mus[m] / N);
        ck_assert_double_lt(fabs(sum / N - mus[m]), 5 * se);
    }
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_uniform_open)
{
    ms_stream s;
    ms_stream_init(&s, 7, 0, 0, 0);
    for (int i = 0; i < 100000; i++) {
        double u = ms_stream_uniform(&s);
        ck_assert(u > 0 && u < 1);
    }
    /* The extremes, by planting the words: all zero bits and all one bits. */
    s.out[0] = s.out[1] = 0;
    s.out[2] = s.out[3] = 0xffffffff;
    s.pos = 0;
    ck_assert(ms_stream_uniform(&s) == 0x1p-53);
    ck_assert(ms_stream_uniform(&s) == 1 - 0x1p-53);
}
END_TEST

enum { SMOKE_N = 1 << 16, SMOKE_BINS = 64 };

static void draw_uniforms(double *u, uint64_t seed, uint32_t patient, uint32_t arm,
                          uint32_t purpose)
{
    ms_stream s;
    ms_stream_init(&s, seed, patient, arm, purpose);
    for (int i = 0; i < SMOKE_N; i++)
        u[i] = ms_stream_uniform(&s);
}

static double chi_square(const double *u)
{
    double count[SMOKE_BINS] = {0};
    for (int i = 0; i < SMOKE_N; i++)
        count[(int)(u[i] * SMOKE_BINS)] += 1;
    double expect = (double)SMOKE_N / SMOKE_BINS, x2 = 0;
    for (int b = 0; b < SMOKE_BINS; b++)
        x2 += (count[b] - expect) * (count[b] - expect) / expect;
    return x2;
}

static double correlation(const double *x, const double *y)
{
    double mx = 0, my = 0;
    for (int i = 0; i < SMOKE_N; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= SMOKE_N;
    my /= SMOKE_N;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < SMOKE_N; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxy / sqrt(sxx * syy);
}

/* A base stream and four neighbours, each differing in one of seed, patient, arm, purpose by one.
 * n = 2^16 uniforms per stream, fixed keys.
 * - Uniformity: Pearson chi-square over 64 equal bins has 63 degrees of freedom, mean 63 and
 *   standard deviation sqrt(2 * 63) = 11.2; accept |X2 - 63| < 5 SD, i.e. 6.9 < X2 < 119.1
 *   (the upper tail beyond 119.1 has probability 2.5e-5, as chi-square is right-skewed).
 * - Independence: the sample correlation of two independent streams has standard error
 *   1 / sqrt(n) = 1/256; accept |r| < 5 SE for the base against each neighbour, drawn in step. */
START_TEST(test_neighbour_keys_independent)
{
    static double base[SMOKE_N], other[SMOKE_N];
    static const struct {
        uint64_t seed;
        uint32_t patient, arm, purpose;
    } keys[4] = {
        {1001, 500, 1, 9},
        {1000, 501, 1, 9},
        {1000, 500, 2, 9},
        {1000, 500, 1, 10},
    };
    const double sd = sqrt(2.0 * (SMOKE_BINS - 1));
    const double se_r = 1 / sqrt((double)SMOKE_N);

    draw_uniforms(base, 1000, 500, 1, 9);
    ck_assert_double_lt(fabs(chi_square(base) - (SMOKE_BINS - 1)), 5 * sd);
    for (int k = 0; k < 4; k++) {
        draw_uniforms(other, keys[k].seed, keys[k].patient, keys[k].arm, keys[k].purpose);
        double x2 = chi_square(other), r = correlation(base, other);
        ck_assert_msg(fabs(x2 - (SMOKE_BINS - 1)) < 5 * sd, "neighbour %d: chi-square %g", k, x2);
        ck_assert_msg(fabs(r) < 5 * se_r, "neighbour %d: correlation %g", k, r);
    }
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("rng");

    TCase *tc = tcase_create("kat");
    tcase_add_test(tc, test_kat_raw);
    tcase_add_test(tc, test_kat_stream);
    tcase_add_test(tc, test_layout);
    suite_add_tcase(s, tc);

    tc = tcase_create("reproducible");
    tcase_add_test(tc, test_equal_keys);
    tcase_add_test(tc, test_order_independent);
    suite_add_tcase(s, tc);

    tc = tcase_create("gsl");
    tcase_add_test(tc, test_gsl_adapter);
    tcase_add_test(tc, test_gsl_poisson);
    suite_add_tcase(s, tc);

    tc = tcase_create("stats");
    tcase_add_test(tc, test_uniform_open);
    tcase_add_test(tc, test_neighbour_keys_independent);
    suite_add_tcase(s, tc);

    return s;
}
