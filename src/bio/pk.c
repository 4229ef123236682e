/*
 * Exact linear pharmacokinetics of one drug under a dosing schedule (pk_internal.h gives the
 * model). The schedule is turned into a sorted list of events, and the amounts (G, A1, A2) in the
 * gut, central and peripheral compartments are carried from one event to the next in closed form;
 * a query starts from the last event before it.
 *
 * Closed forms. Over a time u with no event, a constant infusion rate R and amounts (G, A1, A2)
 * at its start, the solution is the following (Gibaldi and Perrier 1982, chapter 1 for one
 * compartment and chapter 2 for two, bolus and first-order absorption; Rowland and Tozer 2011 on
 * constant-rate input; the matrix exponential of the two-compartment system by Sylvester's
 * formula with eigenvalues -alpha, -beta):
 *
 *     G(u)  = G e^(-ka u)
 *     A1(u) = sum_j w_j [A1 e^(-l_j u) + ka G c(l_j, ka) + R c(0, l_j)] + k21 A2 c(beta, alpha)
 *     A2(u) = A2 (w_1 e^(-beta u) + w_2 e^(-alpha u))
 *             + k12 [A1 c(beta, alpha) + ka G c(beta, alpha, ka) + R c(0, beta, alpha)]
 *
 * where the modes are l_1 = alpha, l_2 = beta with weights w_1 = (alpha - k21) / (alpha - beta),
 * w_2 = (k21 - beta) / (alpha - beta) for two compartments (the bolus response C(t) = D/V1 (w_1
 * e^(-alpha t) + w_2 e^(-beta t)) of Gibaldi and Perrier), and the single mode l_1 = k10,
 * w_1 = 1, with A2 = 0, for one compartment. c(x, y, ...) is the convolution over [0, u] of
 * e^(-x s), e^(-y s), ...:
 *
 *     c(x, y)    = (e^(-x u) - e^(-y u)) / (y - x)         (u e^(-x u) at y = x)
 *     c(x, y, z) = the second divided difference of e^(-l u) over l = x, y, z,
 *
 * and the integral of A1 over [0, u] is the same expression with one more node 0 in each
 * convolution (the integral of c(...) is c(0, ...)). Thus C(t) = F D ka / (V (ka - k)) (e^(-k t) -
 * e^(-ka t)) for one oral dose, C = R / (k V) (1 - e^(-k t)) during an infusion, and so on.
 *
 * Numerics. alpha > k21 > beta and alpha > k10 + k12 > beta (the characteristic polynomial is
 * negative at k21 and at k10 + k12), so the weights are positive, every c(...) is positive, and
 * every term above is a positive amount: nothing cancels. The c(...) are computed from the
 * smallest node with expm1 and, for the second divided difference over a span below 1, its
 * Taylor series, so they stay accurate to a few ulps when nodes coincide (ka = k10, ka = alpha)
 * or nearly do. alpha, beta and the weights' numerators are computed without subtracting close
 * numbers (the products of roots: alpha beta = k10 k21, (alpha - k10 - k12)(k10 + k12 - beta) =
 * k12 k21).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "bio/pk_internal.h"
#include "metasim/metasim.h"

typedef struct pk_state {
    double gut, central, peripheral; /* mg */
} pk_state;

typedef struct pk_event {
    double t;    /* d */
    pk_state x;  /* just after the event's doses */
    double rate; /* mg/d infused from t until the next event */
} pk_event;

struct ms_pk {
    double v1, ka, k12, k21; /* L, /d, /d, /d */
    int two;                 /* two compartments: modes alpha and beta */
    size_t n_modes;
    double lambda[2], weight[2]; /* alpha (or k10), beta; their weights in the bolus response */
    pk_event *events;            /* sorted by time, distinct times */
    size_t n_events;
    double quiet_from; /* d: the concentration stays below the drug's negligible level */
};

/* One dose's input to the schedule, before sorting and merging. */
typedef struct pk_input {
    double t;
    double gut, central, rate; /* mg, mg, mg/d */
    int active;                /* +1 at an infusion's start, -1 at its end */
    size_t order;              /* ties keep the order of the records */
} pk_input;

/* psi2(p) = integral of e^(-p s) over [0, 1] = (1 - e^(-p)) / p, for p >= 0. */
static double psi2(double p)
{
    return p < 1e-10 ? 1.0 - 0.5 * p : -expm1(-p) / p;
}

/* psi3(p, q) = the second divided difference of e^(-l) over l = 0, p, q, for 0 <= p <= q: the
 * convolution of 1, e^(-p s) and e^(-q s) over [0, 1]. For q < 1 the Taylor series
 * sum_m (-1)^m h_m(p, q) / (m + 2)!, with h_m the complete homogeneous polynomial of degree m
 * (h_m = q h_(m-1) + p^m), whose terms fall below 1e-17 of the sum within 20 terms and whose sum is
 * at least e^(-1)/2; otherwise the recurrence of divided differences, which loses at most a
 * few bits when q >= 1. */
static double psi3(double p, double q)
{
    if (q < 1.0) {
        double h = 1.0, pm = 1.0, fact = 2.0, sum = 0.5;
        for (int m = 1; m < 40; m++) {
            pm *= p;
            h = q * h + pm;
            fact *= m + 2;
            double term = h / fact;
            sum += m % 2 ? -term : term;
            if (term < 1e-18 * sum)
                break;
        }
        return sum;
    }
    return (psi2(p) - exp(-p) * psi2(q - p)) / q;
}

/* c(x, y) over [0, u]: the convolution of e^(-x s) and e^(-y s). */
static double conv2(double x, double y, double u)
{
    double lo = fmin(x, y), hi = fmax(x, y);
    double e = exp(-lo * u);
    return e == 0 ? 0 : e * u * psi2((hi - lo) * u);
}

/* Puts *a and *b in increasing order. */
static void order(double *a, double *b)
{
    if (*a > *b) {
        double swap = *a;
        *a = *b;
        *b = swap;
    }
}

/* c(x, y, z) over [0, u]: the convolution of e^(-x s), e^(-y s) and e^(-z s). */
static double conv3(double x, double y, double z, double u)
{
    order(&x, &y);
    order(&y, &z);
    order(&x, &y);
    double e = exp(-x * u);
    return e == 0 ? 0 : e * u * u * psi3((y - x) * u, (z - x) * u);
}

/* The amounts a time u >= 0 after state x, under a constant infusion rate. */
static pk_state advance(const ms_pk *pk, pk_state x, double rate, double u)
{
    pk_state y = {0, 0, 0};
    double ka_gut = pk->ka * x.gut;
    if (x.gut > 0)
        y.gut = x.gut * exp(-pk->ka * u);
    for (size_t j = 0; j < pk->n_modes; j++) {
        double l = pk->lambda[j], a = x.central * exp(-l * u);
        if (rate > 0)
            a += rate * conv2(0, l, u);
        if (x.gut > 0)
            a += ka_gut * conv2(l, pk->ka, u);
        y.central += pk->weight[j] * a;
    }
    if (pk->two) {
        double alpha = pk->lambda[0], beta = pk->lambda[1];
        double exchange = conv2(beta, alpha, u);
        y.central += pk->k21 * x.peripheral * exchange;
        double in = x.central * exchange;
        if (rate > 0)
            in += rate * conv3(0, beta, alpha, u);
        if (x.gut > 0)
            in += ka_gut * conv3(beta, alpha, pk->ka, u);
        y.peripheral =
            x.peripheral * (pk->weight[0] * exp(-beta * u) + pk->weight[1] * exp(-alpha * u)) +
            pk->k12 * in;
    }
    return y;
}

/* The integral of the central amount over [0, u] after state x, mg d. */
static double area(const ms_pk *pk, pk_state x, double rate, double u)
{
    double sum = 0;
    for (size_t j = 0; j < pk->n_modes; j++) {
        double l = pk->lambda[j], a = x.central * conv2(0, l, u);
        if (rate > 0)
            a += rate * conv3(0, 0, l, u);
        if (x.gut > 0)
            a += pk->ka * x.gut * conv3(0, l, pk->ka, u);
        sum += pk->weight[j] * a;
    }
    if (pk->two && x.peripheral > 0)
        sum += pk->k21 * x.peripheral * conv3(0, pk->lambda[1], pk->lambda[0], u);
    return sum;
}

/* The drug left in the body a time u >= 0 after the last event, over V1: a bound on every later
 * concentration, since with no input the body only eliminates. */
static double body_bound(const ms_pk *pk, double u)
{
    const pk_event *e = &pk->events[pk->n_events - 1];
    pk_state x = advance(pk, e->x, 0, u);
    return (x.gut + x.central + x.peripheral) / pk->v1;
}

/* The first time after the last event from which the concentration stays below c for ever,
 * up to a relative 1e-9 of the time since the last event (INFINITY for c <= 0). The bound
 * falls from the last event on, so a doubling search brackets it and bisection narrows it. */
static double quiet_from(const ms_pk *pk, double c)
{
    if (pk->n_events == 0)
        return -INFINITY;
    if (!(c > 0) || pk->events[pk->n_events - 1].rate > 0)
        return INFINITY;
    double last = pk->events[pk->n_events - 1].t;
    if (body_bound(pk, 0) <= c)
        return last;
    double lo = 0, hi = 1.0 / 1024;
    while (body_bound(pk, hi) > c) {
        lo = hi;
        hi *= 2;
        if (!isfinite(hi))
            return INFINITY;
    }
    while (hi - lo > 1e-9 * hi) {
        double mid = 0.5 * (lo + hi);
        if (body_bound(pk, mid) > c)
            lo = mid;
        else
            hi = mid;
    }
    return last + hi;
}

/* The number of events at or before t. */
static size_t count_until(const ms_pk *pk, double t)
{
    size_t lo = 0, hi = pk->n_events;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pk->events[mid].t <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int input_cmp(const void *a, const void *b)
{
    const pk_input *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int positive(double x)
{
    return x > 0 && isfinite(x);
}

/* Rate constants of the model; METASIM_E_INVALID for parameters outside docs/scenario.md. */
static int set_rates(ms_pk *pk, const ms_drug *drug, const char *name, ms_strbuf *why)
{
    int oral = drug->route == MS_ROUTE_ORAL;
    const char *bad = NULL;
    if (!positive(drug->half_life))
        bad = "half_life";
    else if (!positive(drug->volume))
        bad = "volume";
    else if (oral && !positive(drug->absorption_rate))
        bad = "absorption_rate";
    else if (oral && !(positive(drug->bioavailability) && drug->bioavailability <= 1))
        bad = "bioavailability";
    else if (drug->pk_model == MS_PK_TWO_COMPARTMENT && !positive(drug->peripheral_volume))
        bad = "peripheral_volume";
    else if (drug->pk_model == MS_PK_TWO_COMPARTMENT && !positive(drug->clearance_q))
        bad = "intercompartmental_clearance";
    if (bad) {
        if (why)
            ms_strbuf_printf(why, "drugs.%s.pk.%s: out of range for the PK model", name, bad);
        return METASIM_E_INVALID;
    }
    double k10 = log(2.0) / drug->half_life;
    pk->v1 = drug->volume;
    pk->ka = oral ? drug->absorption_rate : 0;
    if (drug->pk_model != MS_PK_TWO_COMPARTMENT) {
        pk->n_modes = 1;
        pk->lambda[0] = k10;
        pk->weight[0] = 1;
        return 0;
    }
    /* alpha, beta = (s +- r) / 2 with s = k10 + k12 + k21 and r = sqrt(d^2 + 4 k12 k21),
     * d = k10 + k12 - k21 (Gibaldi and Perrier, chapter 2, rearranged): beta from the product
     * of the roots, and of alpha - k21 = (d + r)/2 and k21 - beta = (r - d)/2 the one that
     * would cancel from the product k12 k21 of the two. */
    double k12 = drug->clearance_q / drug->volume,
           k21 = drug->clearance_q / drug->peripheral_volume;
    double d = k10 + k12 - k21, r = sqrt(d * d + 4 * k12 * k21);
    double alpha = 0.5 * (k10 + k12 + k21 + r), beta = k10 * k21 / alpha;
    double up = d >= 0 ? 0.5 * (d + r) : 2 * k12 * k21 / (r - d);   /* alpha - k21 */
    double down = d >= 0 ? 2 * k12 * k21 / (d + r) : 0.5 * (r - d); /* k21 - beta */
    pk->two = 1;
    pk->k12 = k12;
    pk->k21 = k21;
    pk->n_modes = 2;
    pk->lambda[0] = alpha;
    pk->lambda[1] = beta;
    pk->weight[0] = up / r;
    pk->weight[1] = down / r;
    return 0;
}

/* Checks the matching records and counts their doses and inputs. */
static int count_doses(const ms_drug *drug, const ms_dose *doses, size_t n_doses, size_t drug_index,
                       double t0, const char *name, size_t *n_inputs, ms_strbuf *why)
{
    uint64_t total = 0;
    size_t inputs = 0;
    for (size_t i = 0; i < n_doses; i++) {
        const ms_dose *ds = &doses[i];
        if (ds->drug != drug_index)
            continue;
        const char *bad = NULL;
        if (!positive(ds->amount))
            bad = "amount";
        else if (!(ds->start >= 0 && isfinite(ds->start)))
            bad = "start";
        else if (!(ds->infusion >= 0 && isfinite(ds->infusion)))
            bad = "infusion";
        else if (ds->additional > 0 && !positive(ds->interval))
            bad = "interval";
        if (bad) {
            if (why)
                ms_strbuf_printf(why, "doses[%zu].%s: out of range", i, bad);
            return METASIM_E_INVALID;
        }
        if (drug->route == MS_ROUTE_ORAL && ds->infusion > 0) {
            if (why)
                ms_strbuf_printf(why,
                                 "doses[%zu].infusion: %s is given orally, so its doses cannot "
                                 "be infused (got %g d)",
                                 i, name, ds->infusion);
            return METASIM_E_INVALID;
        }
        if (ds->additional >= MS_PK_MAX_DOSES || total + ds->additional + 1 > MS_PK_MAX_DOSES) {
            if (why)
                ms_strbuf_printf(why, "doses[%zu].additional: more than %d doses of %s", i,
                                 MS_PK_MAX_DOSES, name);
            return METASIM_E_LIMIT;
        }
        double span = ds->additional > 0 ? (double)ds->additional * ds->interval : 0;
        double last = t0 + (ds->start + span);
        if (!isfinite(last + ds->infusion)) {
            if (why)
                ms_strbuf_printf(why, "doses[%zu]: dosing time out of range", i);
            return METASIM_E_INVALID;
        }
        total += ds->additional + 1;
        inputs += (size_t)(ds->additional + 1) * (ds->infusion > 0 ? 2u : 1u);
    }
    *n_inputs = inputs;
    return 0;
}

/* The inputs of every matching dose, in record order. */
static size_t list_inputs(const ms_drug *drug, const ms_dose *doses, size_t n_doses,
                          size_t drug_index, double t0, double t_end, pk_input *in)
{
    size_t n = 0;
    for (size_t i = 0; i < n_doses; i++) {
        const ms_dose *ds = &doses[i];
        if (ds->drug != drug_index)
            continue;
        for (uint64_t j = 0; j <= ds->additional; j++) {
            double t = t0 + (ds->start + (j > 0 ? (double)j * ds->interval : 0));
            if (t >= t_end)
                break; /* a stopped schedule gives no more doses */
            double end = fmin(t + ds->infusion, t_end), rate = ds->amount / ds->infusion;
            pk_input one = {.t = t, .order = n};
            if (drug->route == MS_ROUTE_ORAL) {
                one.gut = drug->bioavailability * ds->amount;
            } else if (ds->infusion > 0 && end > t && isfinite(rate)) {
                one.rate = rate;
                one.active = 1;
                in[n++] = one;
                one = (pk_input){.t = end, .rate = -rate, .active = -1, .order = n};
            } else {
                /* A bolus, or an infusion too short to tell from one at this time. */
                one.central = ds->amount;
            }
            in[n++] = one;
        }
    }
    return n;
}

int ms_pk_create(const ms_drug *drug, const ms_dose *doses, size_t n_doses, size_t drug_index,
                 double t0, double t_end, ms_pk **out, ms_strbuf *why)
{
    const char *name = drug->name ? drug->name : "(unnamed)";
    pk_input *in = NULL;
    size_t n_inputs = 0;
    *out = NULL;
    ms_pk *pk = calloc(1, sizeof *pk);
    if (!pk)
        return METASIM_E_NOMEM;
    int rc = set_rates(pk, drug, name, why);
    if (rc == 0 && !(t_end >= t0)) {
        if (why)
            ms_strbuf_printf(why, "the schedule of %s stops before it starts", name);
        rc = METASIM_E_INVALID;
    }
    if (rc == 0 && !isfinite(t0)) {
        if (why)
            ms_strbuf_printf(why, "the schedule of %s starts at a time that is not finite", name);
        rc = METASIM_E_INVALID;
    }
    if (rc == 0)
        rc = count_doses(drug, doses, n_doses, drug_index, t0, name, &n_inputs, why);
    if (rc != 0 || n_inputs == 0)
        goto out;
    in = malloc(n_inputs * sizeof *in);
    pk->events = malloc(n_inputs * sizeof *pk->events);
    if (!in || !pk->events) {
        rc = METASIM_E_NOMEM;
        goto out;
    }
    n_inputs = list_inputs(drug, doses, n_doses, drug_index, t0, t_end, in);
    qsort(in, n_inputs, sizeof *in, input_cmp);

    /* Merge the inputs at equal times into one event each, and carry the amounts from event to
     * event. The infusion rate is reset to exactly 0 when no infusion is under way, so rounding
     * in the sum of rates cannot leave a phantom infusion running. */
    int active = 0;
    for (size_t i = 0; i < n_inputs; i++) {
        pk_event *e = &pk->events[pk->n_events];
        if (pk->n_events > 0 && e[-1].t == in[i].t) {
            e--;
        } else {
            pk_event prev = pk->n_events > 0 ? e[-1] : (pk_event){in[i].t, {0, 0, 0}, 0};
            e->t = in[i].t;
            e->x = advance(pk, prev.x, prev.rate, in[i].t - prev.t);
            e->rate = prev.rate;
            pk->n_events++;
        }
        e->x.gut += in[i].gut;
        e->x.central += in[i].central;
        e->rate += in[i].rate;
        active += in[i].active;
        if (active == 0)
            e->rate = 0;
    }
out:
    if (rc == 0)
        pk->quiet_from = quiet_from(pk, drug->negligible);
    free(in);
    if (rc != 0) {
        ms_pk_free(pk);
        return rc;
    }
    *out = pk;
    return 0;
}

void ms_pk_free(ms_pk *pk)
{
    if (!pk)
        return;
    free(pk->events);
    free(pk);
}

double ms_pk_concentration(const ms_pk *pk, double t)
{
    if (isnan(t))
        return NAN;
    size_t k = count_until(pk, t);
    if (k == 0 || isinf(t))
        return 0;
    const pk_event *e = &pk->events[k - 1];
    return advance(pk, e->x, e->rate, t - e->t).central / pk->v1;
}

double ms_pk_mean(const ms_pk *pk, double t0, double t1)
{
    if (isnan(t0) || isnan(t1))
        return NAN;
    order(&t0, &t1);
    if (t0 == t1)
        return ms_pk_concentration(pk, t0);
    if (isinf(t0) || isinf(t1))
        return 0;
    /* Piece by piece between events, each from the amounts at its own start, so the sum has only
     * positive terms and a short interval late in a long schedule loses no precision. */
    size_t k = count_until(pk, t0);
    double t = t0, sum = 0;
    pk_state x;
    if (k == 0) {
        if (pk->n_events == 0 || pk->events[0].t >= t1)
            return 0;
        t = pk->events[0].t;
        x = pk->events[0].x;
    } else {
        const pk_event *e = &pk->events[k - 1];
        x = advance(pk, e->x, e->rate, t0 - e->t);
        k--;
    }
    for (;;) {
        const pk_event *e = &pk->events[k];
        int last = k + 1 >= pk->n_events || pk->events[k + 1].t >= t1;
        double end = last ? t1 : pk->events[k + 1].t;
        sum += area(pk, x, e->rate, end - t);
        if (last)
            break;
        k++;
        t = pk->events[k].t;
        x = pk->events[k].x;
    }
    return sum / pk->v1 / (t1 - t0);
}

double ms_pk_next_event(const ms_pk *pk, double t)
{
    if (isnan(t))
        return NAN;
    size_t k = count_until(pk, t);
    return k < pk->n_events ? pk->events[k].t : INFINITY;
}

double ms_pk_quiet_from(const ms_pk *pk)
{
    return pk->quiet_from;
}

size_t ms_pk_events(const ms_pk *pk)
{
    return pk->n_events;
}
