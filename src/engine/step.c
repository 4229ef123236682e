/*
 * One step of one lesion, from t0 to t1, with every rate frozen at its value at t0.
 *
 * 1. Compartments of at least `exact_below` cells leap: their size at t1 is drawn from the
 *    exact transition law of a linear birth-death process (bd_law.c). Cells they emit (mutant
 *    daughters, state transitions) are Poisson counts on the integrated size, taken along the
 *    exponential path through the two end sizes, at times drawn from that path.
 * 2. The other compartments run Gillespie's direct method, event by event, together with the
 *    arrivals emitted in step 1. One that reaches twice the threshold leaps from that moment to
 *    t1, which is exact because the process is Markov.
 * 3. A cell that enters a leaping compartment at time te founds a lineage grown to t1 by the
 *    same exact law. More than AGGREGATE_ABOVE cells into one compartment are grown in
 *    at most AGGREGATE_BINS groups by the law averaged over each group's arrival times, and emit
 *    from the middle of its sub-interval.
 *
 * Lineages founded within a step emit too (recursively), so every departure is simulated;
 * what remains approximate is the frozen rates, the exponential path used for the integrated
 * size, and the aggregation above. docs/engine.md lists every approximation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array_internal.h"
#include "engine/bd_law_internal.h"
#include "engine/engine_internal.h"
#include "rng/samplers_internal.h"
#include "rng/stream_internal.h"

#define AGGREGATE_ABOVE 64
/* Nesting limit of lineages founded and grown within one step. Each generation is expected to
 * be smaller than the last (step_end), so this is a guard, counted in sim->truncated. */
#define MAX_GENERATIONS 64
/* At most this many groups; fewer while the groups stay short against division (group_count). */
#define AGGREGATE_BINS MS_BD_MAX_GROUPS
/* The SSA's total propensity is updated incrementally and recomputed this often, so that
 * rounding cannot accumulate. */
#define REFRESH_EVERY 4096

typedef struct step_ctx {
    metasim_sim_t *s;
    uint32_t li;
    double t0, t1;
    double now;        /* the SSA's clock */
    double propensity; /* sum over SSA compartments of n * total rate */
    size_t n_leaping;
    unsigned depth;   /* generations of lineages grown within this step, nested */
    double first;     /* the first SSA event's time, drawn in an earlier step; NAN: draw it */
    double overshoot; /* the SSA's last draw, the next event's time after t1 (or +inf) */
} step_ctx;

static ms_lesion *lesion(step_ctx *c)
{
    return &c->s->p.lesions[c->li];
}

int ms_engine_reserve_cs(metasim_sim_t *s, size_t n)
{
    return ms_array_reserve((void **)&s->cs, &s->cap_cs, n, sizeof *s->cs, 16);
}

/* Time of extinction of n0 cells' lineages, given that all are extinct `tau` after the start:
 * P(T <= s) = alpha(s)^n0, inverted at a uniform fraction of alpha(tau)^n0. With
 * m = min(b, d) and r = |b - d|, alpha(s) = d h / (1 + m h) where h = (1 - e^(-r s)) / r
 * (bd_law.c), so h = a / (d - m a) and s = -log1p(-r h) / r, without cancellation. */
static double extinction_time(metasim_sim_t *s, uint64_t n0, const ms_rates *r, double tau)
{
    double b = r->birth_same, d = r->loss;
    ms_bd_law law = ms_bd_law_at(b, d, tau);
    /* alpha(s) = alpha(tau) U^(1/n0): written so that alpha^n0 never underflows. */
    double a = law.alpha * exp(log(gsl_rng_uniform_pos(s->rng)) / (double)n0);
    double m = b < d ? b : d, rate = fabs(b - d);
    double h = a / (d - m * a);
    double t = rate * h < 1e-300 ? h : -log1p(-rate * h) / rate;
    return t < tau ? t : tau;
}

/* The compartment (clone, state) of this lesion, set up for the step when it is new. */
static int comp_for(step_ctx *c, uint32_t clone, uint32_t state, uint32_t *out)
{
    ms_lesion *l = lesion(c);
    size_t before = l->n_comps;
    uint32_t k = ms_lesion_comp(l, clone, state);
    if (k == MS_NONE || ms_engine_reserve_cs(c->s, l->n_comps) != 0)
        return METASIM_E_NOMEM;
    if (l->n_comps > before) {
        ms_comp_step *cs = &c->s->cs[k];
        ms_engine_rates(c->s, l, k, &cs->r);
        cs->start = 0;
        /* With a threshold of 0 everything leaps, new compartments too. */
        cs->leaping = c->s->exact_below <= 0;
        cs->in_ssa = false;
        cs->end = 0;
        cs->from = c->now;
        c->n_leaping += cs->leaping;
    }
    *out = k;
    return 0;
}

/* The clone with genotype `loci` and karyotype `karyotype`, created and reported when new. */
static int clone_for(step_ctx *c, uint64_t loci, const uint8_t *karyotype, uint32_t parent,
                     double t, uint32_t *out)
{
    metasim_sim_t *s = c->s;
    size_t before = s->p.n_clones;
    uint32_t id = ms_patient_clone(&s->p, loci, karyotype, parent, t, c->li);
    if (id == MS_NONE)
        return METASIM_E_NOMEM;
    if (s->p.n_clones > before) {
        int rc = ms_engine_traits(s, id);
        if (rc == 0)
            rc = ms_engine_clone_event(s, id, c->li, t);
        if (rc != 0)
            return rc;
    }
    *out = id;
    return 0;
}

/* The cells on their way to this lesion's event-by-event compartments within the step: a
 * binary min-heap on the arrival time (arrivals are drawn in random order, so keeping them
 * sorted would cost a shift of half the queue for each). */
static int queue_push(metasim_sim_t *s, double t, uint32_t comp)
{
    if (ms_array_reserve((void **)&s->queue, &s->cap_queue, s->n_queue + 1, sizeof *s->queue, 64) !=
        0)
        return METASIM_E_NOMEM;
    s->queued++;
    size_t i = s->n_queue++;
    while (i > 0 && s->queue[(i - 1) / 2].t > t) {
        s->queue[i] = s->queue[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->queue[i] = (ms_arrival){t, comp};
    return 0;
}

/* Removes the earliest arrival and returns its compartment. */
static uint32_t queue_pop(metasim_sim_t *s)
{
    const uint32_t comp = s->queue[0].comp;
    const ms_arrival last = s->queue[--s->n_queue];
    size_t i = 0, n = s->n_queue;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && s->queue[child + 1].t < s->queue[child].t)
            child++;
        if (!(s->queue[child].t < last.t))
            break;
        s->queue[i] = s->queue[child];
        i = child;
    }
    if (n > 0)
        s->queue[i] = last;
    return comp;
}

static int grow(step_ctx *c, uint32_t k, uint64_t n0, double from);
static int grow_by(step_ctx *c, uint32_t k, uint64_t n0, double from, const ms_bd_law *law);
static int leap(step_ctx *c, uint32_t k, double from);
static int enter_now(step_ctx *c, uint32_t k);

/* One cell enters compartment k at time te (te >= the SSA clock). */
static int deliver_one(step_ctx *c, uint32_t k, double te)
{
    if (c->s->cs[k].leaping)
        return grow(c, k, 1, te);
    return queue_push(c->s, te, k);
}

/* A time in [from, t1] drawn with density proportional to exp(g (t - from)). */
static double place(step_ctx *c, double from, double g)
{
    double tau = c->t1 - from, u = gsl_rng_uniform(c->s->rng);
    if (fabs(g * tau) < 1e-9)
        return from + u * tau;
    double t = from + log1p(u * expm1(g * tau)) / g;
    return t < c->t1 ? t : c->t1;
}

/* The earliest of m independent place() draws: its CDF is 1 - (1 - F)^m, so F = 1 - U^(1/m)
 * inverted through the emission CDF F(t) = expm1(g (t - from)) / expm1(g tau). */
static double place_first(step_ctx *c, double from, double g, uint64_t m)
{
    double tau = c->t1 - from;
    double f = -expm1(log(gsl_rng_uniform_pos(c->s->rng)) / (double)m);
    if (fabs(g * tau) < 1e-9)
        return from + f * tau;
    double t = from + log1p(f * expm1(g * tau)) / g;
    return t < c->t1 ? t : c->t1;
}

/* Groups for `count` cells entering compartment k over a time tau (ms_bd_group_count): the
 * cells already in k are those its leap started with, grown from its start to t1. */
static int group_count(const step_ctx *c, uint32_t k, double tau, uint64_t count)
{
    const ms_comp_step *cs = &c->s->cs[k];
    return ms_bd_group_count(cs->r.birth_same, cs->r.loss, tau, count,
                             c->s->p.lesions[c->li].comps[k].n, c->t1 - cs->from);
}

/* `count` cells enter compartment k over [from, t1], emitted along exp(g t). */
static int emit(step_ctx *c, uint32_t k, uint64_t count, double from, double g)
{
    if (count == 0)
        return 0;
    if (count <= AGGREGATE_ABOVE) {
        for (uint64_t i = 0; i < count; i++) {
            int rc = deliver_one(c, k, place(c, from, g));
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    int rc = c->s->cs[k].leaping ? 0 : leap(c, k, from);
    if (rc != 0)
        return rc;
    /* Multinomial split over equal sub-intervals, weights along exp(g t); each group grown by
     * its mixed law. */
    double tau = c->t1 - from;
    int groups = group_count(c, k, tau, count);
    double width = tau / groups, w[AGGREGATE_BINS], left = 0;
    for (int j = 0; j < groups; j++)
        left += w[j] = fabs(g * tau) < 1e-9 ? 1.0 : exp(g * width * j);
    uint64_t rest = count;
    for (int j = 0; j < groups && rest > 0 && rc == 0; j++) {
        uint64_t here = j == groups - 1 ? rest : ms_ran_binomial64(c->s->rng, w[j] / left, rest);
        left -= w[j];
        rest -= here;
        if (here == 0)
            continue;
        const ms_rates *r = &c->s->cs[k].r;
        ms_bd_law law = ms_bd_mixed_law(r->birth_same, r->loss, c->t1 - from - width * j, width, g);
        rc = grow_by(c, k, here, from + width * (j + 0.5), &law);
    }
    return rc;
}

/* `count` mutant daughters of compartment `src`, grouped by genotype exactly: the first
 * acquired locus is multinomial over the free loci; those that acquire later loci too (a
 * binomial share) are drawn one by one. */
static int emit_mutants(step_ctx *c, uint32_t src, uint64_t count, double from, double g)
{
    metasim_sim_t *s = c->s;
    const metasim_model_t *m = s->model;
    ms_comp parent = lesion(c)->comps[src];
    uint64_t loci = s->p.clones[parent.clone].loci;
    uint8_t karyotype[64];
    if (m->n_chromosomes)
        memcpy(karyotype, ms_patient_karyotype(&s->p, parent.clone), m->n_chromosomes);
    int rc = 0;
    if (count <= AGGREGATE_ABOVE) {
        for (uint64_t i = 0; i < count && rc == 0; i++) {
            uint32_t clone, k;
            double te = place(c, from, g);
            if ((rc = clone_for(c, ms_engine_mutate(s, loci), karyotype, parent.clone, te,
                                &clone)) == 0 &&
                (rc = comp_for(c, clone, parent.state, &k)) == 0)
                rc = deliver_one(c, k, te);
        }
        return rc;
    }
    double none = s->traits[parent.clone].no_mutation, before = 1.0, left = 1.0 - none;
    uint64_t rest = count;
    for (size_t j = 0; j < m->n_loci && rest > 0 && rc == 0; j++) {
        if (loci >> j & 1)
            continue;
        double pj = before * m->loci[j].mutation_probability;
        before *= 1.0 - m->loci[j].mutation_probability;
        uint64_t here = pj >= left ? rest : ms_ran_binomial64(s->rng, pj / left, rest);
        left -= pj;
        rest -= here;
        if (here == 0)
            continue;
        /* Of these, the ones that also acquire some later free locus. */
        double later_none = 1.0;
        for (size_t i = j + 1; i < m->n_loci; i++)
            if (!(loci >> i & 1))
                later_none *= 1.0 - m->loci[i].mutation_probability;
        uint64_t more = ms_ran_binomial64(s->rng, 1.0 - later_none, here);
        uint64_t head = (UINT64_C(2) << j) - 1; /* loci 0..j */
        uint64_t mask = head & ~loci;
        uint32_t clone, k;
        for (uint64_t i = 0; i < more && rc == 0; i++) {
            double te = place(c, from, g);
            uint64_t got = (ms_engine_mutate(s, loci | mask) & ~mask) | UINT64_C(1) << j;
            if ((rc = clone_for(c, got, karyotype, parent.clone, te, &clone)) == 0 &&
                (rc = comp_for(c, clone, parent.state, &k)) == 0)
                rc = deliver_one(c, k, te);
        }
        if (rc == 0 && here > more) {
            /* The clone's birth time is the first of these arrivals: the minimum of
             * here - more draws from the emission density. */
            double first = place_first(c, from, g, here - more);
            if ((rc = clone_for(c, loci | UINT64_C(1) << j, karyotype, parent.clone, first,
                                &clone)) == 0 &&
                (rc = comp_for(c, clone, parent.state, &k)) == 0)
                rc = emit(c, k, here - more, from, g);
        }
    }
    return rc;
}

/* The two daughters of one missegregating division of compartment `src`'s cell at time te,
 * with the chromosomes changed by `delta` (karyotype.c); a lethal daughter dies at birth. */
static int deliver_daughters(step_ctx *c, ms_comp parent, const int8_t *delta, double te)
{
    metasim_sim_t *s = c->s;
    const metasim_model_t *m = s->model;
    uint8_t parent_k[64], daughter[64];
    memcpy(parent_k, ms_patient_karyotype(&s->p, parent.clone), m->n_chromosomes);
    int rc = 0;
    for (int sign = 1; sign >= -1 && rc == 0; sign -= 2) {
        uint32_t clone, k;
        if (!ms_karyotype_daughter(m, parent_k, delta, sign, daughter))
            continue;
        uint64_t loci = s->p.clones[parent.clone].loci;
        if ((rc = clone_for(c, loci, daughter, parent.clone, te, &clone)) == 0 &&
            (rc = comp_for(c, clone, parent.state, &k)) == 0)
            rc = deliver_one(c, k, te);
    }
    return rc;
}

/* The daughters of `count` missegregating divisions of compartment `src` over [from, t1]
 * along exp(g t). Few are drawn one by one; many are grouped exactly as emit_mutants groups
 * mutants: the first missegregating chromosome is multinomial, the divisions that change
 * only that chromosome give one gaining and one losing daughter each (each group emitted
 * along the path, the two groups' times drawn independently), and those that change later
 * chromosomes too are drawn one by one. */
static int emit_missegregations(step_ctx *c, uint32_t src, uint64_t count, double from, double g)
{
    metasim_sim_t *s = c->s;
    const metasim_model_t *m = s->model;
    const size_t n = m->n_chromosomes;
    ms_comp parent = lesion(c)->comps[src];
    int8_t delta[64];
    int rc = 0;
    if (count <= AGGREGATE_ABOVE) {
        for (uint64_t i = 0; i < count && rc == 0; i++) {
            ms_karyotype_draw(s, 0, delta);
            rc = deliver_daughters(c, parent, delta, place(c, from, g));
        }
        return rc;
    }
    const double p = m->missegregation;
    double left = -expm1((double)n * log1p(-p)), before = 1.0;
    uint64_t rest = count;
    uint8_t parent_k[64], daughter[64];
    memcpy(parent_k, ms_patient_karyotype(&s->p, parent.clone), n);
    for (size_t j = 0; j < n && rest > 0 && rc == 0; j++) {
        double pj = before * p;
        before *= 1.0 - p;
        uint64_t here =
            pj >= left || j + 1 == n ? rest : ms_ran_binomial64(s->rng, pj / left, rest);
        left -= pj;
        rest -= here;
        if (here == 0)
            continue;
        double later_none = exp((double)(n - j - 1) * log1p(-p));
        uint64_t more = ms_ran_binomial64(s->rng, 1.0 - later_none, here);
        for (uint64_t i = 0; i < more && rc == 0; i++) {
            ms_karyotype_draw(s, j + 1, delta);
            delta[j] = ms_rng_uniform(s->rng) < 0.5 ? 1 : -1;
            rc = deliver_daughters(c, parent, delta, place(c, from, g));
        }
        for (size_t i = 0; i < n; i++)
            delta[i] = 0;
        delta[j] = 1;
        for (int sign = 1; sign >= -1 && rc == 0 && here > more; sign -= 2) {
            uint32_t clone, k;
            if (!ms_karyotype_daughter(m, parent_k, delta, sign, daughter))
                continue;
            double first = place_first(c, from, g, here - more);
            if ((rc = clone_for(c, s->p.clones[parent.clone].loci, daughter, parent.clone, first,
                                &clone)) == 0 &&
                (rc = comp_for(c, clone, parent.state, &k)) == 0)
                rc = emit(c, k, here - more, from, g);
        }
    }
    return rc;
}

/* `count` cells of `clone` shed in `state` by this lesion over [from, t1] along exp(g t), or
 * all at `from` when `at_once`: colonisers found lesions, or join the primary (self-seeding). */
static int disseminate(step_ctx *c, uint32_t clone, uint32_t state, uint64_t count, double from,
                       double g, bool at_once)
{
    metasim_sim_t *s = c->s;
    if (count == 0)
        return 0;
    ms_engine_spread(s, clone, count, c->li == 0 && !s->clinic.resected, s->colonisers);
    int rc = 0;
    for (uint32_t j = 0; j < s->model->n_sites && rc == 0; j++) {
        uint64_t n = s->colonisers[j];
        if (n == 0)
            continue;
        if (!ms_engine_joins_primary(s, j)) {
            for (uint64_t i = 0; i < n && rc == 0; i++)
                rc = ms_engine_found_lesion(s, j, c->li, clone, state,
                                            at_once ? from : place(c, from, g));
            continue;
        }
        s->counts.self_seeded += n;
        /* Seeds that lodge around the tumour rather than in it found lesions of their own. */
        uint64_t outside =
            s->model->seeds_outside > 0 ? ms_ran_binomial64(s->rng, s->model->seeds_outside, n) : 0;
        for (uint64_t i = 0; i < outside && rc == 0; i++)
            rc = ms_engine_found_lesion(s, j, c->li, clone, state,
                                        at_once ? from : place(c, from, g));
        n -= outside;
        if (n == 0 || rc != 0)
            continue;
        uint32_t awake;
        uint64_t dormant = ms_engine_arrivals_dormant(s, j, state, n, &awake);
        for (uint32_t arrival = 0; arrival < 2 && rc == 0; arrival++) {
            uint64_t here = arrival == MS_STATE_DORMANT ? dormant : n - dormant;
            uint32_t into = arrival == MS_STATE_DORMANT ? MS_STATE_DORMANT : awake, k;
            if (here == 0)
                continue;
            if (c->li != 0) /* the primary has been stepped: it takes them at its next step */
                rc = ms_engine_pending(s, 0, clone, into, from, here);
            else if ((rc = comp_for(c, clone, into, &k)) == 0)
                rc = at_once ? enter_now(c, k) : emit(c, k, here, from, g);
        }
    }
    return rc;
}

/* Grows n0 cells of leaping compartment k from `from` to t1 by the exact birth-death law, adds
 * the survivors to its end count, and emits the cells that leave their lineages on the way
 * (mutant daughters, state transitions): Poisson counts on the lineages' integrated size along
 * the exponential path through (from, n0) and (t1, n1), or the mean path after extinction.
 * Emitted cells found lineages grown the same way, so second-generation departures within the
 * step are simulated too; step_end keeps each generation smaller than the last. */
static int grow(step_ctx *c, uint32_t k, uint64_t n0, double from)
{
    return grow_by(c, k, n0, from, NULL);
}

/* grow(), with the lineages' sizes at t1 drawn from `law` when it is not NULL (mixed_law). */
static int grow_by(step_ctx *c, uint32_t k, uint64_t n0, double from, const ms_bd_law *law)
{
    metasim_sim_t *s = c->s;
    if (n0 == 0)
        return 0;
    const ms_rates r = s->cs[k].r;
    double tau = c->t1 - from;
    uint64_t n1 = law ? ms_bd_sample_law(s->rng, n0, law)
                      : ms_bd_sample(s->rng, n0, r.birth_same, r.loss, tau);
    s->cs[k].end += n1;
    if (n1 == 0) {
        double te = from + extinction_time(s, n0, &r, tau);
        if (te > s->extinct_at)
            s->extinct_at = te;
    }
    if ((r.birth_mut == 0 && r.mis == 0 && r.out == 0 && r.shed == 0) || tau <= 0)
        return 0;
    if (c->depth >= MAX_GENERATIONS) {
        s->truncated++;
        return 0;
    }
    c->depth++;
    double g = n1 > 0 ? log((double)n1 / (double)n0) / tau : r.birth_same - r.loss;
    double area = fabs(g * tau) < 1e-9 ? (double)n0 * tau : (double)n0 * expm1(g * tau) / g;
    int rc = 0;
    const ms_comp src = lesion(c)->comps[k];
    if (r.birth_mut > 0)
        rc = emit_mutants(c, k, ms_ran_poisson64(s->rng, r.birth_mut * area), from, g);
    if (r.mis > 0 && rc == 0)
        rc = emit_missegregations(c, k, ms_ran_poisson64(s->rng, r.mis * area), from, g);
    if (r.shed > 0 && rc == 0)
        rc = disseminate(c, src.clone, src.state, ms_ran_poisson64(s->rng, r.shed * area), from, g,
                         false);
    const ms_site *site = &s->model->sites[lesion(c)->site];
    for (size_t j = 0; j < site->n_transitions && rc == 0; j++) {
        const ms_transition *tr = &site->transitions[j];
        if (tr->from != src.state)
            continue;
        double rate = ms_engine_transition(s, lesion(c), &src, j);
        if (rate == 0)
            continue;
        uint32_t target;
        uint64_t count = ms_ran_poisson64(s->rng, rate * area);
        if (count > 0 && (rc = comp_for(c, src.clone, (uint32_t)tr->to, &target)) == 0)
            rc = emit(c, target, count, from, g);
    }
    c->depth--;
    return rc;
}

/* Compartment k leaps from `from` (its current count) to t1. */
static int leap(step_ctx *c, uint32_t k, double from)
{
    metasim_sim_t *s = c->s;
    ms_comp_step *cs = &s->cs[k];
    uint64_t n0 = lesion(c)->comps[k].n;
    if (cs->in_ssa) {
        c->propensity -= (double)n0 * cs->r.total;
        cs->in_ssa = false;
    }
    if (!cs->leaping)
        c->n_leaping++;
    cs->leaping = true;
    cs->from = from;
    s->events++;
    return grow(c, k, n0, from);
}

/* One cell enters SSA compartment k now, or its grown lineage if k leaps. */
static int enter_now(step_ctx *c, uint32_t k)
{
    ms_comp_step *cs = &c->s->cs[k];
    if (cs->leaping)
        return grow(c, k, 1, c->now);
    ms_lesion_add(lesion(c), k, 1);
    cs->in_ssa = true;
    c->propensity += cs->r.total;
    return 0;
}

static void refresh_propensity(step_ctx *c)
{
    const ms_lesion *l = lesion(c);
    double a = 0;
    for (size_t i = 0; i < l->n_comps; i++)
        if (c->s->cs[i].in_ssa)
            a += (double)l->comps[i].n * c->s->cs[i].r.total;
    c->propensity = a;
}

/* Applies one SSA event of compartment k; y is uniform on [0, total rate). */
static int fire(step_ctx *c, uint32_t k, double y)
{
    metasim_sim_t *s = c->s;
    const ms_rates r = s->cs[k].r;
    ms_comp src = lesion(c)->comps[k];
    if (y < r.birth_same) {
        ms_lesion_add(lesion(c), k, 1);
        c->propensity += r.total;
        double promote = 2 * s->exact_below;
        if (promote > 0 && (double)src.n + 1 >= promote)
            return leap(c, k, c->now);
        return 0;
    }
    y -= r.birth_same;
    if (y < r.birth_mut) {
        uint32_t clone, target;
        uint64_t loci = ms_engine_mutate(s, s->p.clones[src.clone].loci);
        uint8_t karyotype[64]; /* a copy: a new clone may move the table */
        if (s->model->n_chromosomes)
            memcpy(karyotype, ms_patient_karyotype(&s->p, src.clone), s->model->n_chromosomes);
        int rc = clone_for(c, loci, karyotype, src.clone, c->now, &clone);
        if (rc == 0)
            rc = comp_for(c, clone, src.state, &target);
        return rc ? rc : enter_now(c, target);
    }
    y -= r.birth_mut;
    ms_lesion_add(lesion(c), k, -1);
    c->propensity -= r.total;
    if (src.n == 1)
        s->cs[k].in_ssa = false;
    /* A compartment's last cell leaving: the extinction time if nothing else lives. */
    if (src.n == 1 && c->now > s->extinct_at)
        s->extinct_at = c->now;
    if (y < r.death || (r.mis == 0 && r.out == 0 && r.shed == 0))
        return 0;
    y -= r.death;
    if (y < r.mis || (r.out == 0 && r.shed == 0)) {
        int8_t delta[64];
        ms_karyotype_draw(s, 0, delta);
        return deliver_daughters(c, src, delta, c->now);
    }
    y -= r.mis;
    if (y < r.shed || r.out == 0)
        return disseminate(c, src.clone, src.state, 1, c->now, 0, true);
    y -= r.shed;
    const ms_site *site = &s->model->sites[lesion(c)->site];
    size_t last = site->n_transitions;
    for (size_t j = 0; j < site->n_transitions; j++) {
        const ms_transition *tr = &site->transitions[j];
        if (tr->from != src.state)
            continue;
        double rate = ms_engine_transition(s, lesion(c), &src, j);
        if (rate == 0)
            continue;
        last = j;
        if (y < rate)
            break;
        y -= rate;
    }
    uint32_t target;
    int rc = comp_for(c, src.clone, (uint32_t)site->transitions[last].to, &target);
    return rc ? rc : enter_now(c, target);
}

/* Gillespie's direct method over the lesion's small compartments, from t0 to t1. */
static int ssa(step_ctx *c)
{
    metasim_sim_t *s = c->s;
    refresh_propensity(c);
    unsigned since_refresh = 0;
    for (;;) {
        double next_arrival = s->n_queue > 0 ? s->queue[0].t : INFINITY;
        double dt;
        if (!isnan(c->first)) { /* a resting lesion's next event, drawn at the same rates */
            dt = c->first - c->now;
            c->first = NAN;
        } else {
            dt = c->propensity > 0 ? -log(ms_rng_uniform(s->rng)) / c->propensity : INFINITY;
        }
        if (c->now + dt >= next_arrival || c->now + dt >= c->t1) {
            if (next_arrival < c->t1 && next_arrival <= c->now + dt) {
                /* Memorylessness: the waiting time is drawn afresh after the arrival. */
                c->now = next_arrival;
                uint32_t k = queue_pop(s);
                int rc = enter_now(c, k);
                if (rc != 0)
                    return rc;
                double promote = 2 * s->exact_below;
                if (!s->cs[k].leaping && promote > 0 && (double)lesion(c)->comps[k].n >= promote &&
                    (rc = leap(c, k, c->now)) != 0)
                    return rc;
                continue;
            }
            c->overshoot = c->now + dt;
            c->now = c->t1;
            return 0;
        }
        c->now += dt;
        double x = ms_rng_uniform(s->rng) * c->propensity;
        const ms_lesion *l = lesion(c);
        uint32_t k = MS_NONE;
        for (size_t i = 0; i < l->n_comps; i++) {
            if (!s->cs[i].in_ssa)
                continue;
            k = (uint32_t)i;
            double a = (double)l->comps[i].n * s->cs[i].r.total;
            if (x < a)
                break;
            x -= a;
        }
        if (k == MS_NONE) { /* rounding left a positive propensity with no cells: recompute */
            refresh_propensity(c);
            continue;
        }
        double y = x / (double)l->comps[k].n;
        if (y >= s->cs[k].r.total)
            y = nextafter(s->cs[k].r.total, 0);
        int rc = fire(c, k, y);
        if (rc != 0)
            return rc;
        s->events++;
        if (++since_refresh == REFRESH_EVERY) {
            since_refresh = 0;
            refresh_propensity(c);
        }
        /* Stops within a step keep the state exact only while nothing leaps. */
        if (c->n_leaping == 0 && s->p.n_lesions == 1) {
            if (s->opt.stop_cells > 0 && (double)lesion(c)->total >= s->opt.stop_cells) {
                s->p.t = c->now;
                return METASIM_STOP_SIZE;
            }
            if (s->events >= s->budget) {
                s->p.t = c->now;
                return METASIM_STOP_EVENTS;
            }
        }
    }
}

/* Delivers the cells waiting for this lesion: those due within the step arrive at their time;
 * those due before it (sent by a lesion stepped later in the previous step) join at t0. */
static int take_pending(step_ctx *c)
{
    metasim_sim_t *s = c->s;
    size_t kept = 0;
    int rc = 0;
    for (size_t i = 0; i < s->n_pending; i++) {
        ms_pending p = s->pending[i];
        if (p.lesion != c->li || rc != 0) {
            s->pending[kept++] = p;
            continue;
        }
        uint32_t k;
        if ((rc = comp_for(c, p.clone, p.state, &k)) != 0)
            break;
        if (p.t <= c->t0) {
            if (s->cs[k].leaping)
                rc = grow(c, k, p.count, c->t0);
            else
                ms_lesion_add(lesion(c), k, (int64_t)p.count);
        } else {
            rc = p.count == 1 ? deliver_one(c, k, p.t) : emit(c, k, p.count, p.t, 0);
        }
    }
    s->n_pending = kept;
    return rc;
}

int ms_engine_step_lesion(metasim_sim_t *s, uint32_t li, double t0, double t1, bool may_rest)
{
    ms_lesion *l = &s->p.lesions[li];
    if (ms_engine_reserve_cs(s, l->n_comps) != 0)
        return METASIM_E_NOMEM;
    ms_rest *rest = &s->rest[li];
    step_ctx c = {s, li, t0, t1, t0, 0, 0, 0, rest->next, INFINITY};
    rest->next = NAN;
    const uint64_t events = s->events;
    ms_engine_env(s, l);
    size_t n = l->n_comps;
    for (uint32_t k = 0; k < n; k++) {
        ms_comp_step *cs = &s->cs[k];
        ms_engine_rates(s, l, k, &cs->r);
        cs->start = l->comps[k].n;
        cs->end = 0;
        cs->leaping = false;
        cs->in_ssa = false;
        cs->from = t0;
    }
    s->n_queue = 0;
    s->queued = 0;
    int rc = 0;
    for (uint32_t k = 0; k < n && rc == 0; k++) {
        bool large = (double)s->p.lesions[li].comps[k].n >= s->exact_below;
        if (large && !s->cs[k].leaping)
            rc = leap(&c, k, t0);
    }
    if (rc == 0)
        rc = take_pending(&c);
    if (rc == 0) {
        for (uint32_t k = 0; k < lesion(&c)->n_comps; k++)
            if (!s->cs[k].leaping && lesion(&c)->comps[k].n > 0)
                s->cs[k].in_ssa = true;
        rc = ssa(&c);
    }
    if (rc < 0)
        return rc;
    l = lesion(&c);
    if (rc == METASIM_STOP_SIZE || rc == METASIM_STOP_EVENTS) {
        /* Mid-step, with no leaping compartment: the state is exact at s->p.t. */
        ms_engine_factors(s, l, s->p.t - t0);
        ms_engine_ctc(s, l, s->p.t - t0);
        ms_lesion_prune(l);
        return rc;
    }
    for (uint32_t k = 0; k < l->n_comps; k++)
        if (s->cs[k].leaping)
            ms_lesion_set(l, k, s->cs[k].end);
    ms_engine_factors(s, l, t1 - t0);
    ms_engine_ctc(s, l, t1 - t0);
    /* Nothing happened at rates that will not change: the lesion rests until the next event
     * the SSA drew (memorylessness keeps that draw valid), at the same rates. */
    if (may_rest && s->events == events && c.n_leaping == 0 && s->queued == 0 && l->total > 0) {
        rest->next = c.overshoot;
        rest->total = l->total;
        rest->shed = 0;
        for (uint32_t k = 0; k < l->n_comps; k++)
            rest->shed += (double)l->comps[k].n * s->cs[k].r.shed;
        rest->limit = ms_engine_cells_limit(s, l);
    }
    ms_lesion_prune(l);
    return 0;
}
