/* Chromosomal instability against the theory of multi-type branching processes (label stats;
 * docs/karyotype.md, "Acceptance against theory").
 *
 * Two chromosomes A and B start at 2 copies each in N0 founding cells. Every cell of karyotype
 * x = (a, b) divides at rate beta f(x) and dies at rate delta, with
 *     f(x) = 1.2^(a - 2) 0.95^(number of chromosomes whose copies differ from 2)
 * (division_per_copy 1.2 for A, 1 for B, aneuploidy_cost 5 %). At a division each chromosome
 * missegregates independently with probability p: one daughter gains a copy, the other loses
 * it, the gaining daughter a fair coin per chromosome. A daughter with 0 or more than 4 copies
 * (max_copies 4) dies at birth.
 *
 * Theory: the expected counts m_y(t) of a multi-type branching process solve the linear system
 * (Harris 1963, "The Theory of Branching Processes", ch. 2)
 *     dm_y/dt = beta f(y) (1 - q) m_y - (delta + beta f(y) q) m_y
 *               + sum_x beta f(x) m_x sum_s P(s) [1(x + s = y) + 1(x - s = y)],
 * where q = 1 - (1 - p)^2 and the changes s in {-1, 0, 1}^2 \ {0} have probability
 * P(s) = prod_i (p / 2 if s_i != 0, else 1 - p); lethal daughters are left out of the sum.
 * The system (16 states, copies 1-4) is integrated here by classical Runge-Kutta with step
 * 1e-4 d, whose error (order dt^4) is far below the tolerances.
 *
 * The same counts are simulated with the exact engine (every event; N0 = 100, t = 4 d) and the
 * leap engine (everything leaps, so emissions are grouped as in step.c; N0 = 1e5, t = 3 d with
 * steps of at most 0.25 d), R = 2000 patients each. Each state's mean is tested at 5 standard
 * errors of the simulated mean (sample sd / sqrt(R); two-sided normal tail 5.7e-7), plus, for
 * states whose expected count is below 1, half the theoretical value's Poisson SE so that
 * states almost never reached do not test on a handful of cells. Nothing here is tuned. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "unit_test.h"

#define BETA 1.0
#define DELTA 0.5
#define P_MIS 0.05
#define MAX_COPIES 4
#define N_STATES (MAX_COPIES * MAX_COPIES) /* copies 1..4 of A and of B */
#define R 2000
#define N_SE 5.0

static int state_of(int a, int b)
{
    return (a - 1) * MAX_COPIES + (b - 1);
}

static double fitness(int a, int b)
{
    double f = pow(1.2, a - 2);
    if (a != 2)
        f *= 0.95;
    if (b != 2)
        f *= 0.95;
    return f;
}

/* dm/dt of the mean system above. */
static void derivative(const double *m, double *dm)
{
    double q = 1 - (1 - P_MIS) * (1 - P_MIS);
    for (int y = 0; y < N_STATES; y++)
        dm[y] = 0;
    for (int a = 1; a <= MAX_COPIES; a++)
        for (int b = 1; b <= MAX_COPIES; b++) {
            int x = state_of(a, b);
            double birth = BETA * fitness(a, b);
            dm[x] += (birth * (1 - q) - DELTA - birth * q) * m[x];
            for (int sa = -1; sa <= 1; sa++)
                for (int sb = -1; sb <= 1; sb++) {
                    if (sa == 0 && sb == 0)
                        continue;
                    double ps = (sa ? P_MIS / 2 : 1 - P_MIS) * (sb ? P_MIS / 2 : 1 - P_MIS);
                    for (int sign = -1; sign <= 1; sign += 2) {
                        int ya = a + sign * sa, yb = b + sign * sb;
                        if (ya < 1 || ya > MAX_COPIES || yb < 1 || yb > MAX_COPIES)
                            continue; /* lethal daughter */
                        dm[state_of(ya, yb)] += birth * ps * m[x];
                    }
                }
        }
}

static void theory(double n0, double t, double *m)
{
    for (int y = 0; y < N_STATES; y++)
        m[y] = 0;
    m[state_of(2, 2)] = n0;
    const double h = 1e-4;
    int steps = (int)lround(t / h);
    double k1[N_STATES], k2[N_STATES], k3[N_STATES], k4[N_STATES], tmp[N_STATES];
    for (int i = 0; i < steps; i++) {
        derivative(m, k1);
        for (int y = 0; y < N_STATES; y++)
            tmp[y] = m[y] + 0.5 * h * k1[y];
        derivative(tmp, k2);
        for (int y = 0; y < N_STATES; y++)
            tmp[y] = m[y] + 0.5 * h * k2[y];
        derivative(tmp, k3);
        for (int y = 0; y < N_STATES; y++)
            tmp[y] = m[y] + h * k3[y];
        derivative(tmp, k4);
        for (int y = 0; y < N_STATES; y++)
            m[y] += h / 6 * (k1[y] + 2 * k2[y] + 2 * k3[y] + k4[y]);
    }
}

typedef struct counts {
    const metasim_sim_t *sim;
    double m[N_STATES];
} counts;

static int on_sample(void *user, const metasim_sample_t *smp)
{
    counts *c = user;
    metasim_clone_info_t info;
    if (metasim_sim_clone_info(c->sim, smp->clone, &info) != 0 || !info.copies)
        return 1;
    c->m[state_of(info.copies[0], info.copies[1])] += smp->cells;
    return 0;
}

static void check_engine(const char *label, const char *engine, double n0, double t,
                         unsigned long long seed)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "scenario: {name: cin_theory}\n"
             "time: {horizon: 10 d, output_interval: 10 d}\n"
             "sites:\n"
             "  lung:\n"
             "    division: {cycling: %g /d}\n"
             "    death: {cycling: %g /d}\n"
             "primary: {site: lung, initial_cells: %.0f}\n"
             "karyotype:\n"
             "  chromosomes:\n"
             "    A: {division_per_copy: 1.2}\n"
             "    B: {}\n"
             "  missegregation: %g\n"
             "  aneuploidy_cost: 5 %%\n"
             "  max_copies: %d\n"
             "engine: %s\n",
             BETA, DELTA, n0, P_MIS, MAX_COPIES, engine);
    metasim_model_t *model = NULL;
    int rc = metasim_model_load_string("cin_theory.yaml", yaml, strlen(yaml), &model);
    ck_assert_msg(rc == 0, "%s", metasim_model_errmsg(model));
    double expected[N_STATES], sum[N_STATES] = {0}, sum2[N_STATES] = {0};
    theory(n0, t, expected);
    for (unsigned patient = 0; patient < R; patient++) {
        metasim_sim_options_t o = {.seed = seed, .patient = patient};
        metasim_sim_t *sim = NULL;
        ck_assert_int_eq(metasim_sim_create(model, &o, &sim), 0);
        rc = metasim_sim_run(sim, t, 0);
        ck_assert_msg(rc >= 0, "%s", metasim_sim_errmsg(sim));
        counts c = {.sim = sim};
        metasim_writer_t w = {.user = &c, .sample = on_sample};
        ck_assert_int_eq(metasim_sim_snapshot(sim, &w), 0);
        for (int y = 0; y < N_STATES; y++) {
            sum[y] += c.m[y];
            sum2[y] += c.m[y] * c.m[y];
        }
        metasim_sim_destroy(sim);
    }
    printf("%s (N0 = %g, t = %g d, %d patients):\n  copies   theory        simulated     SE\n",
           label, n0, t, R);
    for (int a = 1; a <= MAX_COPIES; a++)
        for (int b = 1; b <= MAX_COPIES; b++) {
            int y = state_of(a, b);
            double mean = sum[y] / R;
            double var = fmax(0, (sum2[y] - R * mean * mean) / (R - 1));
            double se = sqrt(var / R);
            double floor_se = expected[y] < 1 ? 0.5 * sqrt(expected[y] / R) : 0;
            printf("  (%d, %d)   %-12.6g  %-12.6g  %.3g\n", a, b, expected[y], mean, se);
            ck_assert_msg(fabs(mean - expected[y]) <= N_SE * (se + floor_se),
                          "%s: copies (%d, %d): mean %g, theory %g, SE %g", label, a, b, mean,
                          expected[y], se);
        }
    metasim_model_destroy(model);
}

START_TEST(test_exact_engine)
{
    check_engine("exact engine", "{exact_below: 1e15}", 100, 4, 101);
}
END_TEST

START_TEST(test_leap_engine)
{
    check_engine("leap engine", "{exact_below: 0, max_step: 0.25 d}", 1e5, 3, 202);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("karyotype_theory");
    TCase *tc = tcase_create("means");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_exact_engine);
    tcase_add_test(tc, test_leap_engine);
    suite_add_tcase(s, tc);
    return s;
}
