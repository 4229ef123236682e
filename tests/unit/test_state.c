/* Unit tests of the patient state (src/state): the clone index, compartments, pruning,
 * verify, print, copies and the order-independent digest. */
#include <string.h>

#include "metasim/metasim.h"
#include "model/model_internal.h"
#include "state/patient_internal.h"
#include "unit_test.h"

static const char yaml[] =
    "scenario: {name: s}\ntime: {horizon: 1}\n"
    "states: [stem]\n"
    "sites: {breast: {}, bone: {}}\n"
    "primary: {site: breast, initial_cells: 7}\n"
    "loci: {a: {mutation_probability: 0.1}, b: {mutation_probability: 0.1}}\n"
    "factors: {il8: {decay: 1, initial: 2.5}}\n";

static metasim_model_t *model(void)
{
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_string("s.yaml", yaml, strlen(yaml), &m), 0);
    return m;
}

START_TEST(test_init_and_clones)
{
    metasim_model_t *m = model();
    ms_patient p;
    ck_assert_int_eq(ms_patient_init(&p, m), 0);
    ck_assert_uint_eq(p.n_lesions, 1);
    ck_assert_uint_eq(p.lesions[0].total, 7);
    ck_assert_uint_eq(p.lesions[0].site, 0);
    ck_assert_double_eq(p.lesions[0].factors[0], 2.5);
    ck_assert_uint_eq(ms_patient_total(&p), 7);
    /* Genotypes index clones: asking twice gives the same clone; many clones rehash. */
    uint32_t a = ms_patient_clone(&p, 1, NULL, 0, 1.0, 0);
    ck_assert_uint_eq(a, 1);
    ck_assert_uint_eq(ms_patient_clone(&p, 1, NULL, 0, 2.0, 0), a);
    ck_assert_double_eq(p.clones[a].born, 1.0); /* the first origin is kept */
    ck_assert_uint_eq(ms_patient_clone(&p, 3, NULL, a, 3.0, 0), 2);
    ck_assert_uint_eq(ms_patient_clone(&p, 0, NULL, MS_NONE, 0, 0), 0);
    ms_strbuf why = {0};
    ck_assert_msg(ms_patient_verify(&p, &why) == 0, "%s", ms_strbuf_str(&why));
    ms_patient_free(&p);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_compartments_and_verify)
{
    metasim_model_t *m = model();
    ms_patient p;
    ms_patient_init(&p, m);
    ms_lesion *l = &p.lesions[0];
    uint32_t c = ms_lesion_comp(l, 0, MS_STATE_DORMANT);
    ck_assert_uint_eq(c, 1);
    ck_assert_uint_eq(ms_lesion_comp(l, 0, MS_STATE_DORMANT), c);
    ms_lesion_add(l, c, 5);
    ck_assert_uint_eq(l->total, 12);
    ms_lesion_set(l, 0, 0);
    ck_assert_uint_eq(l->total, 5);
    ms_lesion_prune(l);
    ck_assert_uint_eq(l->n_comps, 1);
    ck_assert_uint_eq(l->comps[0].state, MS_STATE_DORMANT);
    ms_strbuf why = {0};
    ck_assert_int_eq(ms_patient_verify(&p, &why), 0);
    /* Corruptions verify must catch. */
    l->total = 6;
    ck_assert_int_eq(ms_patient_verify(&p, &why), -1);
    ck_assert_ptr_nonnull(strstr(ms_strbuf_str(&why), "total 6"));
    l->total = 5;
    l->comps[0].state = 99;
    ms_strbuf_free(&why);
    ck_assert_int_eq(ms_patient_verify(&p, &why), -1);
    l->comps[0].state = MS_STATE_DORMANT;
    l->factors[0] = -1;
    ms_strbuf_free(&why);
    ck_assert_int_eq(ms_patient_verify(&p, &why), -1);
    ck_assert_ptr_nonnull(strstr(ms_strbuf_str(&why), "il8"));
    ms_strbuf_free(&why);
    ms_patient_free(&p);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_digest_copy_print)
{
    metasim_model_t *m = model();
    ms_patient p, q = {0};
    ms_patient_init(&p, m);
    ms_lesion *l = &p.lesions[0];
    uint32_t x = ms_patient_clone(&p, 2, NULL, 0, 1, 0);
    ms_lesion_add(l, ms_lesion_comp(l, x, 2), 3);
    ms_lesion_add(l, ms_lesion_comp(l, 0, 1), 4);
    uint64_t before = ms_patient_digest(&p);
    ck_assert_int_eq(ms_patient_copy(&q, &p), 0);
    ck_assert_uint_eq(ms_patient_digest(&q), before);
    /* Reordering compartments leaves the digest unchanged; changing a count does not. */
    ms_comp tmp = l->comps[0];
    l->comps[0] = l->comps[2];
    l->comps[2] = tmp;
    ck_assert_uint_eq(ms_patient_digest(&p), before);
    ms_lesion_add(l, 0, 1);
    ck_assert_uint_ne(ms_patient_digest(&p), before);
    /* The copy is independent of the original. */
    ck_assert_uint_eq(ms_patient_digest(&q), before);
    ck_assert_uint_eq(ms_patient_add_lesion(&q, 1, 0, 5.0, x), 1);
    ck_assert_uint_eq(p.n_lesions, 1);
    ms_strbuf out = {0};
    ms_patient_print(&q, &out);
    ck_assert_ptr_nonnull(strstr(ms_strbuf_str(&out), "lesion 1 at bone: 0 cells"));
    ck_assert_ptr_nonnull(strstr(ms_strbuf_str(&out), "clone 1 stem: 3"));
    ms_strbuf_free(&out);
    ms_patient_free(&p);
    ms_patient_free(&q);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("state");
    tcase_add_test(tc, test_init_and_clones);
    tcase_add_test(tc, test_compartments_and_verify);
    tcase_add_test(tc, test_digest_copy_print);
    suite_add_tcase(s, tc);
    return s;
}
