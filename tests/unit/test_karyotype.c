/* Unit tests of karyotypes (src/engine/karyotype.c, src/state/patient.c): clones told apart by
 * copy numbers, fitness and EC50 shifts from copies, instability only in carriers of the CIN
 * locus, lethal daughters, forks, and the clone information the API gives. The distribution
 * of copy numbers over time is tested against theory in tests/stats/test_karyotype_theory.c. */
#include <math.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "metasim/metasim.h"
#include "unit_test.h"

static const char yaml[] =
    "scenario: {name: k}\n"
    "time: {horizon: 1 y}\n"
    "sites: {lung: {division: {cycling: 0.3 /d}, death: {cycling: 0.2 /d}}}\n"
    "primary: {site: lung, initial_cells: 1000}\n"
    "loci: {mad2: {mutation_probability: 0.01}}\n"
    "drugs:\n"
    "  kras_off:\n"
    "    pk: {half_life: 1 d, volume: 1 L}\n"
    "    effects: [{target: death, max_kill: 1 /d, ec50: 1 mg/L}]\n"
    "karyotype:\n"
    "  chromosomes:\n"
    "    chr6: {division_per_copy: 1.5, resistance: {kras_off: 10}}\n"
    "    chr12: {copies: 3}\n"
    "  missegregation: 2 %\n"
    "  cin_locus: mad2\n"
    "  aneuploidy_cost: 10 %\n"
    "  max_copies: 4\n";

static metasim_model_t *load(void)
{
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("k.yaml", yaml, strlen(yaml), &m);
    ck_assert_msg(rc == 0, "%s", metasim_model_errmsg(m));
    return m;
}

START_TEST(test_traits_from_copies)
{
    metasim_model_t *m = load();
    ck_assert_uint_eq(metasim_model_chromosome_count(m), 2);
    ck_assert_str_eq(metasim_model_chromosome_name(m, 1), "chr12");
    metasim_sim_options_t o = {.seed = 1};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    /* The founders: 2 copies of chr6, 3 of chr12 (their own reference), stable. */
    metasim_clone_info_t info;
    ck_assert_int_eq(metasim_sim_clone_info(s, 0, &info), 0);
    ck_assert_uint_eq(info.copies[0], 2);
    ck_assert_uint_eq(info.copies[1], 3);
    ck_assert_int_eq(info.aneuploid, 0);
    ck_assert_double_eq(s->traits[0].division, 1.0);
    ck_assert_double_eq(s->traits[0].missegregation, 0.0);
    /* A mad2 carrier with two extra chr6 and one chr12 lost. */
    uint8_t k[2] = {4, 2};
    uint32_t c = ms_patient_clone(&s->p, 1, k, 0, 1.0, 0);
    ck_assert_uint_eq(c, 1);
    ck_assert_int_eq(ms_engine_traits(s, c), 0);
    /* 1.5^2 for the copies, 0.9^2 for two aneuploid chromosomes. */
    ck_assert_double_eq_tol(s->traits[c].division, 2.25 * 0.81, 1e-15);
    /* q = 1 - 0.98^2 for two chromosomes. */
    ck_assert_double_eq_tol(s->traits[c].missegregation, 1 - 0.98 * 0.98, 1e-15);
    /* EC50 shift 10 per copy of chr6 gained: 100. */
    const ms_effect *ef = &m->drugs[0].effects[0];
    ck_assert_double_eq_tol(ms_engine_resistance(s, c, 0, 0, ef), 100.0, 1e-12);
    ck_assert_double_eq(ms_engine_resistance(s, 0, 0, 0, ef), 1.0);
    /* Same loci and copies: the same clone; other copies: another. */
    ck_assert_uint_eq(ms_patient_clone(&s->p, 1, k, 0, 2.0, 0), c);
    k[1] = 3;
    ck_assert_uint_eq(ms_patient_clone(&s->p, 1, k, 0, 2.0, 0), 2);
    ck_assert_uint_eq(ms_patient_clone(&s->p, 0, k, 0, 2.0, 0), 3);
    ck_assert_int_eq(metasim_sim_clone_info(s, c, &info), 0);
    ck_assert_int_eq(info.aneuploid, 1);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_daughters)
{
    metasim_model_t *m = load();
    const uint8_t parent[2] = {4, 1};
    uint8_t out[2];
    int8_t gain6[2] = {1, 0}, lose12[2] = {0, -1};
    /* A daughter with 5 copies (over max_copies 4) or none dies; its sister lives. */
    ck_assert(!ms_karyotype_daughter(m, parent, gain6, 1, out));
    ck_assert(ms_karyotype_daughter(m, parent, gain6, -1, out));
    ck_assert_uint_eq(out[0], 3);
    ck_assert(!ms_karyotype_daughter(m, parent, lose12, 1, out));
    ck_assert(ms_karyotype_daughter(m, parent, lose12, -1, out));
    ck_assert_uint_eq(out[1], 2);
    metasim_model_destroy(m);
}
END_TEST

/* Growth with instability: only mad2 carriers change karyotype, every clone's copies are
 * viable (verify runs after every step), and a fork carries the karyotypes. */
START_TEST(test_only_carriers_missegregate)
{
    metasim_model_t *m = load();
    metasim_sim_options_t o = {.seed = 7, .verify = 1};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    ck_assert_int_ge(metasim_sim_run(s, 45, 0), 0);
    size_t aneuploid = 0;
    for (size_t c = 0; c < metasim_sim_clones(s); c++) {
        metasim_clone_info_t info;
        ck_assert_int_eq(metasim_sim_clone_info(s, c, &info), 0);
        if (!info.aneuploid)
            continue;
        aneuploid++;
        ck_assert_uint_eq(info.loci & 1, 1); /* an aneuploid clone descends from a carrier */
        ck_assert(info.copies[0] >= 1 && info.copies[0] <= 4);
        ck_assert(info.copies[1] >= 1 && info.copies[1] <= 4);
    }
    /* 1000 cells grow to about 1e5 in 45 d; mad2 arises at 1 % of divisions, and its carriers
     * missegregate at 4 % of theirs: aneuploid clones are certain. */
    ck_assert_uint_gt(aneuploid, 0);
    metasim_sim_t *copy = NULL;
    ck_assert_int_eq(metasim_sim_fork(s, 0, NULL, &copy), 0);
    ck_assert_uint_eq(metasim_sim_digest(copy), metasim_sim_digest(s));
    metasim_clone_info_t a, b;
    size_t last = metasim_sim_clones(s) - 1;
    ck_assert_int_eq(metasim_sim_clone_info(s, last, &a), 0);
    ck_assert_int_eq(metasim_sim_clone_info(copy, last, &b), 0);
    ck_assert_mem_eq(a.copies, b.copies, 2);
    metasim_sim_destroy(copy);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("karyotype");
    TCase *tc = tcase_create("karyotype");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_traits_from_copies);
    tcase_add_test(tc, test_daughters);
    tcase_add_test(tc, test_only_carriers_missegregate);
    suite_add_tcase(s, tc);
    return s;
}
