/* Eradication probabilities of targeted therapy against multi-type branching-process theory,
 * after Bozic et al., "Evolutionary dynamics of cancer in response to targeted combination
 * therapy", eLife 2013;2:e00747 (label stats; the therapy acceptance test of issue 5,
 * docs/therapy.md "Acceptance against theory").
 *
 * The model, scaled down so that the exact engine can run it. A tumour grows from one
 * sensitive cell with division b and death d per day. Two loci, ra and rb, make a cell
 * resistant to drug a or drug b (the drug's EC50 times 1e9, so a resistant cell feels 1e-7 of
 * its effect: unaffected for all purposes, and the theory below includes even that); at each
 * division the new daughter acquires each locus it lacks independently with probability u (the
 * parent keeps its genotype; docs/model.md). There is no fitness cost. Untreated until a fixed
 * time T, the tumour is then treated by one of three arms:
 *     single        drug a from T on;
 *     simultaneous  drugs a and b from T on: only cells carrying both loci escape;
 *     sequential    drug a from T to T + DA, then drug b.
 * Each drug is a constant-rate infusion with a half-life of 1 h, so its concentration reaches
 * its plateau (and, when stopped, vanishes) within hours, and adds max_kill H(C) to the death
 * rate of the cells it does not spare, which then shrink (death above division). Treatment
 * starts at a fixed time, not at a detection size, so that the population at its start is a
 * multi-type branching process observed at a fixed time, whose law the generating-function
 * equations below give exactly; its size is random (about geometric given survival, with mean
 * (b/r) e^(r T), r = b - d), much as sizes at detection vary between patients. The outcome is
 * eradication by the horizon TH: no tumour cell left at TH.
 *
 * Theory (exact). Types i = 0 (sensitive), A, B, AB (bit 0: ra, bit 1: rb). A type-i cell
 * divides at rate b and dies at rate d_i(t) = d + sum over drugs k of max_kill H(C_k(t), EC50
 * times 1e9 if i carries locus k); a division adds a daughter of type j with probability p_ij,
 * the product over the loci i lacks of u (acquired) or 1 - u (not). Let Q_i(s) be the
 * probability that one type-i cell alive at time s has no descendants at TH. Conditioning on
 * the first event in [s, s + ds] gives the backward Kolmogorov equations of the branching
 * process (Harris, "The Theory of Branching Processes", 1963; Athreya and Ney, "Branching
 * Processes", 1972):
 *     -dQ_i/ds = b (Q_i sum_j p_ij Q_j - Q_i) + d_i(s) (1 - Q_i),     Q_i(TH) = 0,
 * and the same equations with terminal values F_j(T) = z_j give the probability generating
 * function F_i(0; z) = E[prod_j z_j^(N_j(T))] of the four type counts at T from one type-i cell at
 * time 0. The process is Markov and cells are independent, so
 *     P(eradicated by TH) = E[prod_j Q_j(T)^(N_j(T))] = F_0(0; Q(T)),
 * and conditioning on survival to T (the runs that die out untreated are left out):
 * (F_0(0; Q(T)) - alpha(T)) / (1 - alpha(T)) with alpha(T) = F_0(0; 0) = d (E - 1)/(b E - d),
 * E = e^(r T), the textbook extinction probability (which the solver reproduces; asserted).
 * The equations are integrated with GSL's rk8pd (relative and absolute error 1e-12),
 * restarting at every start and stop of an infusion, with the concentrations computed here from
 * the one-compartment infusion solution (Gibaldi and Perrier, "Pharmacokinetics", 1982, ch. 1),
 * independently of the library's src/bio/pk.c. Ultimate eradication (TH -> infinity, the drugs
 * given for ever) is printed for comparison.
 *
 * One drug: pre-existing and acquired resistance (resistant: carrying ra).
 *     P(resistance pre-exists at T)   = 1 - F_0(0; z_A = z_AB = 0, others 1),
 *     P(no pre-existing escape)       = F_0(0; z_A = Q_A, z_AB = Q_AB, others 1),
 *     P(no acquired escape)           = F_0(0; z_0 = Q_0, z_B = Q_B, others 1),
 * (each conditioned on survival to T as above) and P(eradicated | no resistant cell at T), in
 * which every failure is resistance acquired during treatment. docs/therapy.md derives the
 * closed forms of Bozic et al. 2013 and Iwasa, Nowak and Michor (Genetics 2006;172:2557-2566)
 * that approximate these, and compares them with the exact values printed here.
 *
 * What is compared, per arm and engine, over the runs alive at T (patients 0..R-1 of a fixed
 * seed; one seed per arm and engine, so the arms' samples are independent):
 *   - the fraction that die out before T against alpha(T), and the fraction eradicated by TH
 *     against the theory: exact two-sided binomial tests at a false-alarm rate of 1e-4;
 *   - the treatment phase given the state at T: sum of the outcomes X against the sum of
 *     p = prod_j Q_j(T)^(n_j) over the runs' own type counts n_j at T (taken by a snapshot), z =
 *     (sum X - sum p)/sqrt(sum p (1 - p)) within 5 (normal tail 5.7e-7);
 *   - the growth phase: the mean of p over runs against F_0(0; Q(T)) conditioned on survival, at
 *     5 SE of the sample mean;
 *   - single drug: the fraction with resistance pre-existing at T, and the fraction eradicated
 *     among runs with and without it, by exact binomial tests; the two escape components by
 *     their Rao-Blackwell estimates (means of prod Q_j^(n_j) over the resistant or the sensitive
 *     types) at 5 SE;
 *   - the ordering simultaneous > sequential > single: each observed difference larger than 5
 *     SE of the difference of two independent proportions.
 *
 * Stopping runs early. A run in which the cells that no drug of the last phase affects (ra
 * carriers for single, double resistant for simultaneous, rb carriers for sequential) number at
 * least ESCAPED = 40, checked daily from one day into the last phase, is counted as not
 * eradicated and stopped: each such cell's lineage dies out by TH with probability at most
 * (d + max_kill 1e-7)/b < 0.41 (the drugs' H for it is below 1e-7), so the error is below
 * 0.41^40 = 3e-16 per run. Without this an escaped tumour would grow to 1e9 cells by TH, too
 * many for the exact engine.
 *
 * The engine is exact here but in one respect: drug effects are frozen within a step at the
 * concentration of its midpoint, which matters only in the hours in which an infusion starts or
 * stops (its effect on eradication is far below the binomial SE). */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "unit_test.h"

#define N_SE 5.0
#define FALSE_ALARM 1e-4

/* ------------------------------------------------------------------ the model */

static const double B = 0.5, D = 0.2; /* division and death per day */
static const double U = 5e-4;         /* mutation probability per division, per locus */
static const double T_TREAT = 23;     /* treatment starts (d) */
static const double DA = 15;          /* sequential: drug a for this long, then drug b */
static const double TH = 98;          /* horizon: T_TREAT + DA + 60 d */
/* Drugs a and b alike: one-compartment PK, infused at a constant rate giving PLATEAU. */
static const double HALF_LIFE = 1.0 / 24, VOLUME = 10, PLATEAU = 10; /* d, L, mg/L */
static const double MAX_KILL = 0.6, EC50 = 0.1, RESISTANCE = 1e9;    /* /d, mg/L, fold */
/* Infusions run this long unless stopped: beyond every horizon used here. */
static const double INFUSION = 1000;
enum { N_TYPES = 4, N_DRUGS = 2, ESCAPED = 40 };
/* Patients per arm and engine. */
enum { R = 10000 };

enum { SINGLE, SIMULTANEOUS, SEQUENTIAL, N_ARMS };

/* The infusion window [on, off) of each drug under an arm (off = on for a drug not given). */
typedef struct arm_def {
    const char *name;
    double on[N_DRUGS], off[N_DRUGS];
    double last_phase; /* start of the arm's last phase */
    unsigned escape;   /* the types that no drug of the last phase affects, as a bit set */
} arm_def;

static arm_def arm_of(int a)
{
    const double t = T_TREAT, forever = T_TREAT + INFUSION;
    switch (a) {
    case SINGLE: return (arm_def){"single", {t, 0}, {forever, 0}, t, 1u << 1 | 1u << 3};
    case SIMULTANEOUS: return (arm_def){"simultaneous", {t, t}, {forever, forever}, t, 1u << 3};
    default:
        return (arm_def){
            "sequential", {t, t + DA}, {t + DA, t + DA + INFUSION}, t + DA, 1u << 2 | 1u << 3};
    }
}

/* The scenario. The primary starts at its detection size (1 cell), so diagnosis, and the
 * assignment of the arm, happen at t = 0; each line then starts `delay` later. `engine` is the
 * body of the engine section. */
static metasim_model_t *scenario(const char *engine)
{
    const double k = log(2.0) / HALF_LIFE, amount = PLATEAU * k * VOLUME * INFUSION;
    char text[8192];
    int n =
        snprintf(text, sizeof text,
                 "scenario: {name: bozic_stats}\n"
                 "time: {horizon: 1000 d, output_interval: 1000 d}\n"
                 "sites: {t: {division: {cycling: %.17g /d}, death: {cycling: %.17g /d}}}\n"
                 "primary: {site: t, initial_cells: 1, detection_cells: 1}\n"
                 "clinic: {lethal_cells: 1e15}\n"
                 "loci:\n"
                 "  ra: {mutation_probability: %.17g, resistance: {a: %.17g}}\n"
                 "  rb: {mutation_probability: %.17g, resistance: {b: %.17g}}\n"
                 "drugs:\n"
                 "  a: {pk: {half_life: %.17g d, volume: %.17g L},"
                 " effects: [{target: death, max_kill: %.17g /d, ec50: %.17g mg/L}]}\n"
                 "  b: {pk: {half_life: %.17g d, volume: %.17g L},"
                 " effects: [{target: death, max_kill: %.17g /d, ec50: %.17g mg/L}]}\n"
                 "regimens:\n"
                 "  a_only: {doses: [{drug: a, amount: %.17g mg, infusion: %.17g d}]}\n"
                 "  b_only: {doses: [{drug: b, amount: %.17g mg, infusion: %.17g d}]}\n"
                 "  both: {doses: [{drug: a, amount: %.17g mg, infusion: %.17g d},"
                 " {drug: b, amount: %.17g mg, infusion: %.17g d}]}\n"
                 "arms:\n"
                 "  single: {lines: [{regimen: a_only, start: diagnosis, delay: %.17g d}]}\n"
                 "  simultaneous: {lines: [{regimen: both, start: diagnosis, delay: %.17g d}]}\n"
                 "  sequential: {lines: [{regimen: a_only, start: diagnosis, delay: %.17g d,"
                 " stop_after: %.17g d}, {regimen: b_only, start: diagnosis, delay: %.17g d}]}\n"
                 "engine: {%s}\n",
                 B, D, U, RESISTANCE, U, RESISTANCE, HALF_LIFE, VOLUME, MAX_KILL, EC50, HALF_LIFE,
                 VOLUME, MAX_KILL, EC50, amount, INFUSION, amount, INFUSION, amount, INFUSION,
                 amount, INFUSION, T_TREAT, T_TREAT, T_TREAT, DA, T_TREAT + DA, engine);
    ck_assert(n > 0 && (size_t)n < sizeof text);
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("bozic.yaml", text, (size_t)n, &m);
    ck_assert_msg(rc == 0, "load failed (%s):\n%s\n%s", metasim_strerror(rc),
                  metasim_model_errmsg(m), text);
    return m;
}

/* ------------------------------------------------------------------ theory */

/* Drug k's concentration at time t under arm `a` (mg/L): the infusion's rise to PLATEAU from
 * `on`, and its decay after `off`. */
static double concentration(const arm_def *a, int k, double t)
{
    const double rate = log(2.0) / HALF_LIFE;
    if (!(a->off[k] > a->on[k]) || t <= a->on[k])
        return 0;
    if (t <= a->off[k])
        return PLATEAU * -expm1(-rate * (t - a->on[k]));
    return PLATEAU * -expm1(-rate * (a->off[k] - a->on[k])) * exp(-rate * (t - a->off[k]));
}

static double death_rate(const arm_def *a, unsigned type, double t)
{
    double d = D;
    for (int k = 0; k < N_DRUGS; k++) {
        double c = concentration(a, k, t);
        if (c > 0)
            d += MAX_KILL / (1 + EC50 * (type >> k & 1 ? RESISTANCE : 1) / c);
    }
    return d;
}

/* The probability that a daughter of a type-i cell is of type j. */
static double p_daughter(unsigned i, unsigned j)
{
    if ((i & j) != i)
        return 0;
    double p = 1;
    for (int k = 0; k < N_DRUGS; k++)
        if (!(i >> k & 1))
            p *= j >> k & 1 ? U : 1 - U;
    return p;
}

/* The backward equations (file comment), in forward time s. */
static int backward_rhs(double s, const double q[], double dq[], void *arg)
{
    const arm_def *a = arg;
    for (unsigned i = 0; i < N_TYPES; i++) {
        double offspring = 0;
        for (unsigned j = 0; j < N_TYPES; j++)
            offspring += p_daughter(i, j) * q[j];
        double di = death_rate(a, i, s);
        dq[i] = (B + di) * q[i] - di - B * q[i] * offspring;
    }
    return GSL_SUCCESS;
}

/* Integrates q from time t1 back to t0 <= t1 under arm `a` (NULL: untreated), restarting at the
 * infusions' starts and stops, where the rates have kinks. */
static void backward(const arm_def *a, double t0, double t1, double q[N_TYPES])
{
    arm_def arm = a ? *a : (arm_def){"untreated", {0, 0}, {0, 0}, 0, 0};
    a = &arm;
    gsl_odeiv2_system sys = {backward_rhs, NULL, N_TYPES, &arm};
    double t = t1;
    while (t > t0) {
        double next = t0;
        for (int k = 0; k < N_DRUGS; k++) {
            if (a->on[k] < t && a->on[k] > next)
                next = a->on[k];
            if (a->off[k] < t && a->off[k] > next)
                next = a->off[k];
        }
        gsl_odeiv2_driver *dr =
            gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, -1e-3, 1e-12, 1e-12);
        ck_assert_ptr_nonnull(dr);
        int rc = gsl_odeiv2_driver_apply(dr, &t, next, q);
        gsl_odeiv2_driver_free(dr);
        ck_assert_msg(rc == GSL_SUCCESS, "ODE: %s", gsl_strerror(rc));
        t = next;
    }
}

/* F_0(0; z): the generating function of the type counts at T_TREAT from one sensitive cell. */
static double pgf(const double z[N_TYPES])
{
    double q[N_TYPES];
    memcpy(q, z, sizeof q);
    backward(NULL, 0, T_TREAT, q);
    return q[0];
}

typedef struct theory {
    double alpha;      /* P(extinct before T) */
    double q[N_TYPES]; /* Q_j(T): one type-j cell at T leaves nobody at TH */
    double erad;       /* P(eradicated by TH | alive at T) */
    double ultimate;   /* the same for TH -> infinity */
    double pre, erad_none, erad_pre, no_pre_escape, no_acq_escape; /* single drug */
} theory;

static theory theory_of(const arm_def *a)
{
    theory th = {0};
    double zero[N_TYPES] = {0, 0, 0, 0};
    th.alpha = pgf(zero);
    const double E = exp((B - D) * T_TREAT), alpha = D * (E - 1) / (B * E - D);
    ck_assert_msg(fabs(th.alpha - alpha) < 1e-10, "alpha(T) %.12g, closed form %.12g", th.alpha,
                  alpha);
    const double alive = 1 - th.alpha;
    backward(a, T_TREAT, TH, th.q);
    th.erad = (pgf(th.q) - th.alpha) / alive;
    /* Ultimate: from 800 d into the last phase, where the rates are constant and Q has
     * converged to its fixed point (its slowest mode decays like e^(-0.29 t)). */
    double qu[N_TYPES] = {0, 0, 0, 0};
    backward(a, T_TREAT, a->last_phase + 800, qu);
    th.ultimate = (pgf(qu) - th.alpha) / alive;

    /* Single drug: ra carriers (types A and AB) are the resistant ones. */
    double none[N_TYPES] = {1, 0, 1, 0}, erad_none[N_TYPES] = {th.q[0], 0, th.q[2], 0};
    double pre_esc[N_TYPES] = {1, th.q[1], 1, th.q[3]}, acq_esc[N_TYPES] = {th.q[0], 1, th.q[2], 1};
    double f_none = pgf(none), f_erad_none = pgf(erad_none), f_erad = pgf(th.q);
    th.pre = 1 - (f_none - th.alpha) / alive;
    th.erad_none = (f_erad_none - th.alpha) / (f_none - th.alpha);
    th.erad_pre = (f_erad - f_erad_none) / (1 - f_none);
    th.no_pre_escape = (pgf(pre_esc) - th.alpha) / alive;
    th.no_acq_escape = (pgf(acq_esc) - th.alpha) / alive;
    return th;
}

/* The leading-order closed forms of docs/therapy.md, for comparison only (nothing is asserted
 * about them). Given survival to T, N(T) is geometric with parameter beta = b (E - 1)/(b E - d)
 * (Kendall 1948). If, given N(T), the lineages that escape are about Poisson with mean c N(T),
 * then P(no escape) = G(e^(-c)) with G(x) = (1 - beta) x/(1 - beta x), the geometric
 * generating function; c is an expected number of escaping lineages per cell of N(T):
 *     pre-existing surviving resistant lineages      u            (Iwasa et al. 2006)
 *     resistant cells present at all                  u (b/d) ln(b/r)
 *     acquired under one drug (Bozic et al. 2013)     u r/(d1 - b)
 * with d1 = d + max_kill H(plateau) the death rate under one drug and d2 = d + 2 max_kill H
 * under two; and for two drugs the sums over the routes to double resistance in
 * docs/therapy.md. For the sequential arm the Poisson assumption fails (resistant cells come in
 * Luria-Delbrueck clones, and one clone escapes at most once), so a second form counts clones:
 * clones of resistant cells founded during growth at rate u b N(s) each escape with probability
 * 1 - phi_tau(e^(-kappa)), phi_tau the generating function of one clone's size after tau
 * (Kendall 1948) and kappa the escape probability per resistant cell at T. */
typedef struct approx {
    double erad[N_ARMS], pre, no_pre_escape, no_acq_escape, sequential_clones;
} approx;

typedef struct clone_arg {
    double kappa;
} clone_arg;

/* u b e^(-r tau) (1 - phi_tau(e^(-kappa))): escaping clones founded tau before T, per cell of
 * N(T) (the tumour had N(T) e^(-r tau) cells then). */
static double clone_escape(double tau, void *arg)
{
    const double kappa = ((const clone_arg *)arg)->kappa, r = B - D, em1 = expm1(r * tau);
    const double alpha = D * em1 / (B * em1 + r), beta = B * em1 / (B * em1 + r);
    const double x = exp(-kappa);
    return U * B * exp(-r * tau) * (1 - (alpha + (1 - alpha) * (1 - beta) * x / (1 - beta * x)));
}

static double clone_rate(double kappa)
{
    clone_arg arg = {kappa};
    gsl_function f = {clone_escape, &arg};
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(200);
    ck_assert_ptr_nonnull(w);
    double result, err;
    int rc = gsl_integration_qags(&f, 0, T_TREAT, 0, 1e-10, 200, w, &result, &err);
    gsl_integration_workspace_free(w);
    ck_assert_msg(rc == 0, "QAGS: %s", gsl_strerror(rc));
    return result;
}

static approx approximations(void)
{
    const double r = B - D, E = exp(r * T_TREAT), beta = B * (E - 1) / (B * E - D);
    const double h = PLATEAU / (PLATEAU + EC50), d1 = D + MAX_KILL * h, d2 = D + 2 * MAX_KILL * h;
    const double u2 = U * U, T = T_TREAT, e_da = exp(r * DA), decline = exp(-(d1 - B) * DA);
#define G(c) ((1 - beta) * exp(-(c)) / (1 - beta * exp(-(c))))
    approx a;
    a.pre = 1 - G(U * (B / D) * log(B / r));
    a.no_pre_escape = G(U);
    a.no_acq_escape = G(U * r / (d1 - B));
    a.erad[SINGLE] = G(U * (1 + r / (d1 - B)));
    /* Double resistance: pre-existing (both orders of the two hits, and both at once), from
     * single resistant cells present at T, and from sensitive cells during treatment. */
    const double pre_ab = u2 * (2 * B * (T - 1 / r) + 1);
    a.erad[SIMULTANEOUS] = G(pre_ab + u2 * (2 * B * T * r / (d1 - B) +
                                            2 * B * r / ((d2 - B) * (d1 - B)) + r / (d2 - B)));
    /* Sequential. Per ra cell at T: it grows for DA and gains rb, and its e^(r DA) descendants
     * gain rb while drug b kills them (kappa_a); per rb cell at T: it survives drug a's phase
     * and escapes (kappa_b). Per sensitive cell at T: ra daughters during drug a's phase that do
     * the same, rb daughters then, and survival of drug a's phase. */
    const double kappa_a = U * (e_da - 1 + e_da * r / (d1 - B)), kappa_b = decline * r / B;
    const double from_sensitive =
        u2 * B * e_da / (d1 - B + r) * (1 + r / (d1 - B)) + U * r * decline * (DA + 1 / (d1 - B));
    a.erad[SEQUENTIAL] = G(pre_ab + U * B * T * (kappa_a + kappa_b) + from_sensitive);
    a.sequential_clones = G(pre_ab + clone_rate(kappa_a) + clone_rate(kappa_b) + from_sensitive);
#undef G
    return a;
}

/* ------------------------------------------------------------------ simulation */

typedef struct counter {
    const metasim_sim_t *sim;
    unsigned long long bit[N_DRUGS]; /* the loci's bits in metasim_clone_info_t.loci */
    double n[N_TYPES];
} counter;

static int count_sample(void *user, const metasim_sample_t *x)
{
    counter *c = user;
    metasim_clone_info_t info;
    if (metasim_sim_clone_info(c->sim, x->clone, &info) != 0)
        return 1;
    unsigned type = 0;
    for (int k = 0; k < N_DRUGS; k++)
        type |= info.loci & c->bit[k] ? 1u << k : 0;
    c->n[type] += x->cells;
    return 0;
}

/* The cells of each type now. */
static void census(counter *c, const metasim_sim_t *s)
{
    metasim_writer_t w = {.user = c, .sample = count_sample};
    c->sim = s;
    memset(c->n, 0, sizeof c->n);
    ck_assert_int_eq(metasim_sim_snapshot(s, &w), 0);
}

typedef struct outcome {
    bool alive;        /* alive at T */
    bool eradicated;   /* no cell at TH (stopped early: false) */
    double n[N_TYPES]; /* type counts at T */
} outcome;

static outcome simulate(const metasim_model_t *m, const arm_def *a, unsigned arm,
                        unsigned long long seed, unsigned patient, counter *c)
{
    outcome o = {0};
    metasim_sim_options_t opt = {.seed = seed, .patient = patient, .arm = arm};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &opt, &s), 0);
    int rc = metasim_sim_run(s, T_TREAT, 0);
    ck_assert_msg(rc == METASIM_STOP_TIME || rc == METASIM_STOP_EXTINCT, "%d: %s", rc,
                  metasim_sim_errmsg(s));
    o.alive = rc == METASIM_STOP_TIME;
    if (o.alive) {
        census(c, s);
        memcpy(o.n, c->n, sizeof o.n);
        /* To the last phase at once, then day by day, watching for an escape. */
        double t = a->last_phase + 1;
        for (;;) {
            rc = metasim_sim_run(s, fmin(t, TH), 0);
            ck_assert_msg(rc == METASIM_STOP_TIME || rc == METASIM_STOP_EXTINCT, "%d: %s", rc,
                          metasim_sim_errmsg(s));
            if (rc == METASIM_STOP_EXTINCT || t >= TH) {
                o.eradicated = metasim_sim_cells(s) == 0;
                break;
            }
            census(c, s);
            double escaped = 0;
            for (unsigned j = 0; j < N_TYPES; j++)
                escaped += a->escape >> j & 1 ? c->n[j] : 0;
            if (escaped >= ESCAPED)
                break;
            t += 1;
        }
    }
    metasim_sim_destroy(s);
    return o;
}

/* ------------------------------------------------------------------ checks */

/* Exact two-sided binomial test of k successes in n trials against p, at FALSE_ALARM. */
static int binomial_check(const char *what, const char *eng, unsigned k, unsigned n, double p)
{
    double lower = gsl_cdf_binomial_P(k, p, n);
    double upper = k == 0 ? 1.0 : gsl_cdf_binomial_Q(k - 1, p, n);
    int ok = lower >= FALSE_ALARM / 2 && upper >= FALSE_ALARM / 2;
    printf("stats: %-46s %-6s observed %.4f (%u/%u) theory %.4f SE %.4f %s\n", what, eng,
           n ? (double)k / n : NAN, k, n, p, sqrt(p * (1 - p) / n), ok ? "ok" : "FAIL");
    return !ok;
}

static int close_check(const char *what, const char *eng, double observed, double expected,
                       double se)
{
    int ok = fabs(observed - expected) <= N_SE * se;
    printf("stats: %-46s %-6s observed %.4f theory %.4f SE %.4f %s\n", what, eng, observed,
           expected, se, ok ? "ok" : "FAIL");
    return !ok;
}

typedef struct arm_result {
    unsigned alive, eradicated;
} arm_result;

/* Runs `runs` patients of every arm under `engine` and compares them with theory. */
static int check_engine(const char *eng, const char *engine, unsigned long long seed, unsigned runs,
                        arm_result res[N_ARMS])
{
    gsl_set_error_handler_off(); /* failures are returned and asserted, not aborted on */
    metasim_model_t *m = scenario(engine);
    const approx ap = approximations();
    counter c = {0};
    for (int k = 0; k < N_DRUGS; k++) {
        const char *name = k == 0 ? "ra" : "rb";
        for (size_t j = 0; j < metasim_model_locus_count(m); j++)
            if (strcmp(metasim_model_locus_name(m, j), name) == 0)
                c.bit[k] = 1ull << j;
        ck_assert(c.bit[k] != 0);
    }
    int fails = 0;
    for (int ai = 0; ai < N_ARMS; ai++) {
        const arm_def a = arm_of(ai);
        unsigned arm = metasim_model_arm(m, a.name);
        ck_assert_uint_ne(arm, 0);
        const theory th = theory_of(&a);
        unsigned alive = 0, erad = 0, pre = 0, erad_pre = 0, erad_none = 0;
        double sp = 0, sp2 = 0, spq = 0, s_pre = 0, s_pre2 = 0, s_acq = 0, s_acq2 = 0;
        for (unsigned i = 0; i < runs; i++) {
            outcome o = simulate(m, &a, arm, seed + (unsigned)ai, i, &c);
            if (!o.alive)
                continue;
            alive++;
            erad += o.eradicated;
            /* p: eradication given the state at T; its resistant and sensitive factors. */
            double p_pre = pow(th.q[1], o.n[1]) * pow(th.q[3], o.n[3]);
            double p_acq = pow(th.q[0], o.n[0]) * pow(th.q[2], o.n[2]), p = p_pre * p_acq;
            sp += p;
            sp2 += p * p;
            spq += p * (1 - p);
            s_pre += p_pre;
            s_pre2 += p_pre * p_pre;
            s_acq += p_acq;
            s_acq2 += p_acq * p_acq;
            bool resistant = o.n[1] + o.n[3] > 0;
            pre += resistant;
            erad_pre += resistant && o.eradicated;
            erad_none += !resistant && o.eradicated;
        }
        res[ai] = (arm_result){alive, erad};
        char what[96];
        printf("stats: %s: theory P(eradicated by %g d | alive at %g d) = %.5f, ultimate %.5f, "
               "leading-order closed form %.5f; Q(T) = %.6f %.6f %.6f %.6f\n",
               a.name, TH, T_TREAT, th.erad, th.ultimate, ap.erad[ai], th.q[0], th.q[1], th.q[2],
               th.q[3]);
        if (ai == SEQUENTIAL)
            printf("stats: sequential: counting resistant clones, the closed form is %.5f\n",
                   ap.sequential_clones);
        if (ai == SINGLE)
            printf("stats: single: theory P(resistance at T) %.5f, P(no pre-existing escape) "
                   "%.5f, P(no acquired escape) %.5f; closed forms %.5f, %.5f, %.5f\n",
                   th.pre, th.no_pre_escape, th.no_acq_escape, ap.pre, ap.no_pre_escape,
                   ap.no_acq_escape);
        snprintf(what, sizeof what, "%s: P(extinct before treatment)", a.name);
        fails += binomial_check(what, eng, runs - alive, runs, th.alpha);
        snprintf(what, sizeof what, "%s: P(eradicated | alive at T)", a.name);
        fails += binomial_check(what, eng, erad, alive, th.erad);
        double z = ((double)erad - sp) / sqrt(spq);
        int ok = fabs(z) <= N_SE;
        snprintf(what, sizeof what, "%s: treatment given the state at T", a.name);
        printf("stats: %-46s %-6s sum X %u sum p %.1f z %+.2f (|z| <= 5) %s\n", what, eng, erad, sp,
               z, ok ? "ok" : "FAIL");
        fails += !ok;
        double mean = sp / alive, se = sqrt((sp2 / alive - mean * mean) / (alive - 1));
        snprintf(what, sizeof what, "%s: growth phase, mean of p", a.name);
        fails += close_check(what, eng, mean, th.erad, se);
        if (ai == SINGLE) {
            fails +=
                binomial_check("single: P(resistance pre-exists at T)", eng, pre, alive, th.pre);
            fails += binomial_check("single: P(eradicated | none pre-exists)", eng, erad_none,
                                    alive - pre, th.erad_none);
            fails += binomial_check("single: P(eradicated | resistance pre-exists)", eng, erad_pre,
                                    pre, th.erad_pre);
            mean = s_pre / alive;
            se = sqrt((s_pre2 / alive - mean * mean) / (alive - 1));
            fails +=
                close_check("single: P(no pre-existing escape)", eng, mean, th.no_pre_escape, se);
            mean = s_acq / alive;
            se = sqrt((s_acq2 / alive - mean * mean) / (alive - 1));
            fails += close_check("single: P(no acquired escape)", eng, mean, th.no_acq_escape, se);
        }
        fflush(stdout);
    }
    metasim_model_destroy(m);

    /* The ordering simultaneous > sequential > single, each step significant at 5 SE. */
    for (int k = 0; k < 2; k++) {
        const arm_result *hi = &res[k == 0 ? SIMULTANEOUS : SEQUENTIAL];
        const arm_result *lo = &res[k == 0 ? SEQUENTIAL : SINGLE];
        double p1 = (double)hi->eradicated / hi->alive, p2 = (double)lo->eradicated / lo->alive;
        double se = sqrt(p1 * (1 - p1) / hi->alive + p2 * (1 - p2) / lo->alive);
        int ok = p1 - p2 > N_SE * se;
        printf("stats: %-46s %-6s %.4f - %.4f = %.4f > 5 SE = %.4f %s\n",
               k == 0 ? "order: simultaneous > sequential" : "order: sequential > single", eng, p1,
               p2, p1 - p2, N_SE * se, ok ? "ok" : "FAIL");
        fails += !ok;
    }
    fflush(stdout);
    return fails;
}

/* 1. The exact engine: R patients per arm (about 60 % survive to T). */
START_TEST(test_bozic_exact)
{
    arm_result res[N_ARMS];
    ck_assert_int_eq(check_engine("exact", "exact_below: 1e300", 710, R, res), 0);
}
END_TEST

/* 2. The hybrid engine: compartments of 100 cells or more leap (from 200 on, by promotion), so
 * the growth phase and the sensitive cells' decline under treatment leap, and the resistant
 * lineages start event by event. R patients per arm. */
START_TEST(test_bozic_hybrid)
{
    arm_result res[N_ARMS];
    ck_assert_int_eq(check_engine("hybrid", "exact_below: 100", 720, R, res), 0);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("bozic_stats");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"bozic_exact", test_bozic_exact},
        {"bozic_hybrid", test_bozic_hybrid},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}
