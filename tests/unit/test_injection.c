/* Unit tests of injections of cells into the circulation (arms.<name>.injections;
 * src/bio/injection.c), the second source of circulating cells of the mouse experiments of Kim
 * et al., Cell 2009: the schedule (exactly at its time, once, on the arm's streams, the same
 * whether the arm is run or forked into), the injected clone, and the cascade against theory:
 * the cells that join the primary, lodge around it and found lesions elsewhere are binomial
 * with the probabilities of spread.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "metasim/metasim.h"
#include "unit_test.h"

/* Inert cells (no division, death or shedding), so what the injection brings stays as it
 * came. An injected cell survives the circulation with 0.5, lands in the breast (the
 * primary's site) with 0.2 / (0.2 + 0.3) = 0.4 and in the lung with 0.6, and colonises with
 * 0.1 and 0.05: it settles in the breast with p = 0.5 x 0.4 x 0.1 = 0.02, of which a quarter
 * lodge around the tumour (seeds_outside) and three quarters join it, 30 % of those dormant;
 * it founds a lung lesion with 0.5 x 0.6 x 0.05 = 0.015. */
static const char *inert =
    "scenario: {name: inj}\n"
    "time: {horizon: 30 d}\n"
    "states: [stem]\n"
    "sites:\n"
    "  breast: {blood_flow: 0.2, colonisation: 0.1, dormancy_on_arrival: 0.3}\n"
    "  lung: {blood_flow: 0.3, colonisation: 0.05}\n"
    "circulation: {survival: 0.5, keep_state: [stem]}\n"
    "primary: {site: breast, initial_cells: 100, seeds_outside: 0.25}\n"
    "loci: {label: {mutation_probability: 0}}\n"
    "arms:\n"
    "  none: {lines: []}\n"
    "  inj: {lines: [], injections: [{at: 10 d, cells: 10000, loci: [label], state: STATE}]}\n";

enum { CELLS = 10000 };
#define AT 10.0
#define P_JOIN (0.5 * 0.4 * 0.1 * 0.75)
#define P_AROUND (0.5 * 0.4 * 0.1 * 0.25)
#define P_LUNG (0.5 * 0.6 * 0.05)
#define P_DORMANT 0.3

static metasim_model_t *load_state(const char *state)
{
    char yaml[1024];
    const char *at = strstr(inert, "STATE");
    snprintf(yaml, sizeof yaml, "%.*s%s%s", (int)(at - inert), inert, state, at + 5);
    return load_yaml(yaml);
}

static metasim_sim_t *start_arm(const metasim_model_t *m, const char *arm, unsigned patient)
{
    metasim_sim_options_t o = {
        .seed = 7, .patient = patient, .arm = metasim_model_arm(m, arm), .verify = 1};
    ck_assert_uint_gt(o.arm, 0);
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    return s;
}

/* What the injection left: labelled cells in the primary by state, and lesions they founded. */
typedef struct outcome {
    const metasim_sim_t *sim;
    double joined, dormant, stem;
    unsigned around, lung;
} outcome;

static int on_sample(void *user, const metasim_sample_t *x)
{
    outcome *o = user;
    metasim_clone_info_t info;
    ck_assert_int_eq(metasim_sim_clone_info(o->sim, x->clone, &info), 0);
    if (x->lesion != 0 || !(info.loci & 1))
        return 0;
    o->joined += x->cells;
    o->dormant += strcmp(x->state, "dormant") == 0 ? x->cells : 0;
    o->stem += strcmp(x->state, "stem") == 0 ? x->cells : 0;
    return 0;
}

static outcome read_outcome(const metasim_sim_t *s)
{
    outcome o = {.sim = s};
    metasim_writer_t w = {.user = &o, .sample = on_sample};
    ck_assert_int_eq(metasim_sim_snapshot(s, &w), 0);
    for (size_t i = 1; i < metasim_sim_lesions(s); i++) {
        metasim_lesion_info_t l;
        ck_assert_int_eq(metasim_sim_lesion_info(s, i, &l), 0);
        metasim_clone_info_t c;
        ck_assert_int_eq(metasim_sim_clone_info(s, l.founder_clone, &c), 0);
        ck_assert_uint_eq(c.loci, 1); /* only injected cells found lesions here */
        o.around += strcmp(l.site, "breast") == 0;
        o.lung += strcmp(l.site, "lung") == 0;
    }
    return o;
}

/* Events of kind THERAPY that report an injection. */
typedef struct injections_seen {
    unsigned n;
    double t;
} injections_seen;

static int on_event(void *user, const metasim_event_t *e)
{
    injections_seen *seen = user;
    if (e->kind == METASIM_EVENT_THERAPY && strncmp(e->detail, "injection", 9) == 0) {
        seen->n++;
        seen->t = e->time;
    }
    return 0;
}

/* The injection comes exactly at its time, once, as a new clone (the founder's with the
 * label) whose cells have entered the blood; an arm without injections gets none. */
START_TEST(test_schedule)
{
    metasim_model_t *m = load_state("cycling");
    metasim_sim_t *s = NULL;
    injections_seen seen = {0};
    metasim_writer_t w = {.user = &seen, .event = on_event};
    metasim_sim_options_t o = {.seed = 7, .arm = metasim_model_arm(m, "inj"), .writer = &w};
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    ck_assert_int_eq(metasim_sim_run(s, nextafter(AT, 0), 0), METASIM_STOP_TIME);
    metasim_counts_t n;
    ck_assert_int_eq(metasim_sim_counts(s, &n), 0);
    ck_assert_uint_eq(seen.n, 0);
    ck_assert_uint_eq(n.injected, 0);
    ck_assert_uint_eq(metasim_sim_clones(s), 1);
    ck_assert_int_eq(metasim_sim_run(s, 30, 0), METASIM_STOP_TIME);
    ck_assert_uint_eq(seen.n, 1);
    ck_assert(seen.t == AT);
    ck_assert_int_eq(metasim_sim_counts(s, &n), 0);
    ck_assert_uint_eq(n.injected, CELLS);
    ck_assert_uint_eq(n.shed, CELLS); /* the cells shed none of their own */
    ck_assert_uint_eq(n.shed, n.lost + n.colonised);
    ck_assert_uint_eq(metasim_sim_clones(s), 2);
    metasim_clone_info_t c;
    ck_assert_int_eq(metasim_sim_clone_info(s, 1, &c), 0);
    ck_assert_uint_eq(c.loci, 1);
    ck_assert_uint_eq(c.parent, 0);
    ck_assert(c.born == AT);
    metasim_sim_destroy(s);

    s = start_arm(m, "none", 0);
    ck_assert_int_eq(metasim_sim_run(s, 30, 0), METASIM_STOP_TIME);
    ck_assert_int_eq(metasim_sim_counts(s, &n), 0);
    ck_assert_uint_eq(n.injected, 0);
    ck_assert_uint_eq(n.shed, 0);
    ck_assert_uint_eq(metasim_sim_clones(s), 1);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

/* The schedule draws from the arm's streams: the same patient gives the same history, whether
 * the arm is run from the start or forked into at its assignment (the paired design), and
 * another patient a different one. */
START_TEST(test_deterministic)
{
    metasim_model_t *m = load_state("cycling");
    metasim_sim_t *a = start_arm(m, "inj", 3), *b = start_arm(m, "inj", 3);
    metasim_sim_t *c = start_arm(m, "inj", 4);
    metasim_sim_options_t o = {.seed = 7, .patient = 3, .stop_at_treatment = 1};
    metasim_sim_t *h = NULL, *f = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &h), 0);
    ck_assert_int_eq(metasim_sim_run(h, 30, 0), METASIM_STOP_TREATMENT);
    ck_assert(metasim_sim_time(h) == 0);
    ck_assert_int_eq(metasim_sim_fork(h, metasim_model_arm(m, "inj"), NULL, &f), 0);
    metasim_sim_t *all[] = {a, b, c, f};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(metasim_sim_run(all[i], 30, 0), METASIM_STOP_TIME);
    ck_assert_uint_eq(metasim_sim_digest(a), metasim_sim_digest(b));
    ck_assert_uint_eq(metasim_sim_digest(a), metasim_sim_digest(f));
    ck_assert_uint_ne(metasim_sim_digest(a), metasim_sim_digest(c));
    for (int i = 0; i < 4; i++)
        metasim_sim_destroy(all[i]);
    metasim_sim_destroy(h);
    metasim_model_destroy(m);
}
END_TEST

/* Against theory, over PATIENTS independent patients: the cells that join the primary are
 * Binomial(CELLS, P_JOIN); those that lodge around it, Binomial(CELLS, P_AROUND); lung lesions,
 * Binomial(CELLS, P_LUNG) (each a marginal of one multinomial, spread.c); the joined cells'
 * dormant share is P_DORMANT. Means are checked within 5 standard errors, sqrt(n p (1 - p) /
 * PATIENTS); the sample variance of the joined cells within 5 of its standard errors,
 * sigma^2 sqrt(2 / (PATIENTS - 1)) (normal theory: the binomial's excess kurtosis, under 0.01
 * here, changes it by less than 1 %); the dormant share within 5 binomial standard errors
 * given the cells joined. A false alarm is below 6e-7 per check. */
START_TEST(test_binomial)
{
    enum { PATIENTS = 400 };
    metasim_model_t *m = load_state("cycling");
    double sum[3] = {0}, sq = 0, joined = 0, dormant = 0;
    const double p[3] = {P_JOIN, P_AROUND, P_LUNG};
    for (unsigned i = 0; i < PATIENTS; i++) {
        metasim_sim_t *s = start_arm(m, "inj", i);
        ck_assert_int_eq(metasim_sim_run(s, AT + 0.5, 0), METASIM_STOP_TIME);
        outcome o = read_outcome(s);
        metasim_counts_t n;
        ck_assert_int_eq(metasim_sim_counts(s, &n), 0);
        ck_assert_uint_eq(n.self_seeded, (unsigned long long)o.joined + o.around);
        ck_assert_uint_eq(n.lesions - 1, o.around + o.lung);
        ck_assert_uint_eq(n.colonised, (unsigned long long)o.joined + o.around + o.lung);
        ck_assert(o.stem == 0);
        sum[0] += o.joined, sum[1] += o.around, sum[2] += o.lung;
        sq += o.joined * o.joined;
        joined += o.joined, dormant += o.dormant;
        metasim_sim_destroy(s);
    }
    static const char *const what[] = {"join the primary", "lodge around it", "lung lesions"};
    for (int k = 0; k < 3; k++) {
        double mean = sum[k] / PATIENTS, expect = CELLS * p[k];
        double se = sqrt(CELLS * p[k] * (1 - p[k]) / PATIENTS);
        printf("  %s: mean %.2f, theory %.2f (SE %.2f)\n", what[k], mean, expect, se);
        ck_assert_msg(fabs(mean - expect) < 5 * se, "%s: mean %g, expected %g +- 5 x %g", what[k],
                      mean, expect, se);
    }
    double mean = sum[0] / PATIENTS;
    double var = (sq - PATIENTS * mean * mean) / (PATIENTS - 1);
    double var_expect = CELLS * P_JOIN * (1 - P_JOIN);
    double var_se = var_expect * sqrt(2.0 / (PATIENTS - 1));
    printf("  joined: variance %.1f, theory %.1f (SE %.1f)\n", var, var_expect, var_se);
    ck_assert_msg(fabs(var - var_expect) < 5 * var_se, "variance %g, expected %g", var, var_expect);
    double share = dormant / joined, share_se = sqrt(P_DORMANT * (1 - P_DORMANT) / joined);
    printf("  dormant share %.4f, theory %.4f (SE %.4f)\n", share, P_DORMANT, share_se);
    ck_assert(fabs(share - P_DORMANT) < 5 * share_se);
    metasim_model_destroy(m);
}
END_TEST

/* Injected in a state the circulation keeps, the cells arrive in it: none dormant. */
START_TEST(test_kept_state)
{
    metasim_model_t *m = load_state("stem");
    metasim_sim_t *s = start_arm(m, "inj", 1);
    ck_assert_int_eq(metasim_sim_run(s, AT + 0.5, 0), METASIM_STOP_TIME);
    outcome o = read_outcome(s);
    ck_assert(o.joined > 0);
    ck_assert(o.stem == o.joined);
    ck_assert(o.dormant == 0);
    metasim_sim_destroy(s);
    metasim_model_destroy(m);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("injection");
    TCase *tc = tcase_create("injection");
    tcase_add_test(tc, test_schedule);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_binomial);
    tcase_add_test(tc, test_kept_state);
    suite_add_tcase(s, tc);
    return s;
}
