/*
 * The model handle: reads a scenario (file, string or built-in), validates it, applies the
 * rules that span several fields, and freezes the result into typed structs. A failed load
 * still returns a handle so the caller can read every message.
 */
#include "model/model_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/scenario_yaml_internal.h"
#include "model/validate_internal.h"

/* ------------------------------------------------------------ reading typed values */

static const ms_node *get(const ms_node *map, const char *key)
{
    return ms_node_get(map, key);
}

static double num(const ms_node *section, const char *key)
{
    const ms_node *n = get(section, key);
    return n ? n->number : 0.0;
}

static int written(const ms_node *section, const char *key)
{
    const ms_node *n = get(section, key);
    return n && !n->defaulted;
}

static void rule_error(metasim_model_t *m, const ms_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a broken cross-field rule at `n` (its key's position when it has one). */
static void rule_error(metasim_model_t *m, const ms_node *n, const char *fmt, ...)
{
    ms_strbuf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    ms_strbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    int line = n->key_line ? n->key_line : n->line;
    int col = n->key_line ? n->key_col : n->col;
    ms_diag_add(&m->diag, line, col, NULL, "%s", ms_strbuf_str(&msg));
    ms_strbuf_free(&msg);
}

static int build_states(metasim_model_t *m, const ms_node *list)
{
    size_t extra = list ? list->count : 0;
    m->states = calloc(2 + extra, sizeof *m->states);
    if (!m->states)
        return METASIM_E_NOMEM;
    m->states[MS_STATE_CYCLING] = "cycling";
    m->states[MS_STATE_DORMANT] = "dormant";
    m->n_states = 2;
    for (size_t i = 0; i < extra; i++) {
        const ms_node *item = list->items[i];
        size_t k = 0;
        while (k < m->n_states && strcmp(m->states[k], item->text) != 0)
            k++;
        if (k < 2)
            continue; /* cycling and dormant may be listed for clarity */
        if (k < m->n_states) {
            rule_error(m, item, "states[%zu]: state '%s' is listed twice", i, item->text);
            continue;
        }
        m->states[m->n_states++] = item->text;
    }
    return 0;
}

static size_t state_index(const metasim_model_t *m, const char *name)
{
    for (size_t k = 0; k < m->n_states; k++)
        if (strcmp(m->states[k], name) == 0)
            return k;
    return m->n_states;
}

/* Values of a map keyed by state names, one per state, `fill` for those not listed. */
static int read_per_state(metasim_model_t *m, const ms_node *map, double fill, double **out)
{
    *out = malloc(m->n_states * sizeof **out);
    if (!*out)
        return METASIM_E_NOMEM;
    for (size_t k = 0; k < m->n_states; k++)
        (*out)[k] = fill;
    for (size_t i = 0; map && i < map->count; i++) {
        size_t k = state_index(m, map->items[i]->key);
        if (k < m->n_states)
            (*out)[k] = map->items[i]->number;
    }
    return 0;
}

static int build_transitions(metasim_model_t *m, const ms_node *s, ms_site *site)
{
    const ms_node *list = get(s, "transitions");
    site->n_transitions = list ? list->count : 0;
    site->transitions =
        calloc(site->n_transitions ? site->n_transitions : 1, sizeof *site->transitions);
    if (!site->transitions)
        return METASIM_E_NOMEM;
    for (size_t k = 0; k < site->n_transitions; k++) {
        const ms_node *t = list->items[k];
        ms_transition *tr = &site->transitions[k];
        tr->from = state_index(m, get(t, "from")->text);
        tr->to = state_index(m, get(t, "to")->text);
        tr->rate = num(t, "rate");
        if (tr->from == tr->to)
            rule_error(m, get(t, "to"),
                       "sites.%s.transitions[%zu].to: a transition must change the state", s->key,
                       k);
        for (size_t j = 0; j < k; j++)
            if (site->transitions[j].from == tr->from && site->transitions[j].to == tr->to)
                rule_error(m, t,
                           "sites.%s.transitions[%zu]: %s to %s is already declared as "
                           "transitions[%zu]",
                           s->key, k, m->states[tr->from], m->states[tr->to], j);
    }
    return 0;
}

static int build_sites(metasim_model_t *m, const ms_node *sites)
{
    m->n_sites = sites->count;
    m->sites = calloc(m->n_sites ? m->n_sites : 1, sizeof *m->sites);
    if (!m->sites)
        return METASIM_E_NOMEM;
    double flow = 0, lymph = 0;
    for (size_t i = 0; i < m->n_sites; i++) {
        const ms_node *s = sites->items[i];
        ms_site *site = &m->sites[i];
        site->name = s->key;
        site->blood_flow = num(s, "blood_flow");
        site->colonisation = num(s, "colonisation");
        site->dormancy_on_arrival = num(s, "dormancy_on_arrival");
        site->shedding = num(s, "shedding");
        site->regional = num(s, "regional") != 0;
        site->lymph_flow = num(s, "lymph_flow");
        lymph += site->lymph_flow;
        if (site->lymph_flow > 0 && !site->regional)
            rule_error(
                m, get(s, "lymph_flow"),
                "sites.%s.lymph_flow: lymph reaches only regional sites (set regional: true)",
                s->key);
        site->growth = (ms_growth)num(s, "growth");
        site->capacity = num(s, "capacity");
        site->lethal_cells = num(s, "lethal_cells");
        flow += site->blood_flow;
        if (site->growth != MS_GROWTH_EXPONENTIAL && !written(s, "capacity") &&
            !get(s, "capacity_factor"))
            rule_error(m, get(s, "growth"), "sites.%s.growth: %s growth needs a 'capacity'", s->key,
                       get(s, "growth")->text);
        if (site->growth == MS_GROWTH_EXPONENTIAL && written(s, "capacity"))
            rule_error(m, get(s, "capacity"),
                       "sites.%s.capacity: has no effect with exponential growth (set growth "
                       "to logistic or gompertz, or remove capacity)",
                       s->key);
        if (read_per_state(m, get(s, "division"), 0.0, &site->division) != 0 ||
            read_per_state(m, get(s, "death"), 0.0, &site->death) != 0 ||
            read_per_state(m, get(s, "state_shedding"), 1.0, &site->state_shedding) != 0 ||
            build_transitions(m, s, site) != 0)
            return METASIM_E_NOMEM;
    }
    /* Shares are fractions of one circulation; allow for rounding in hand-written decimals. */
    if (flow > 1.0 + 1e-9)
        rule_error(m, sites, "sites: blood_flow shares add up to %.6g, more than 1", flow);
    if (lymph > 1.0 + 1e-9)
        rule_error(m, sites, "sites: lymph_flow shares add up to %.6g, more than 1", lymph);
    return 0;
}

static size_t factor_index(const metasim_model_t *m, const char *name)
{
    for (size_t k = 0; k < m->n_factors; k++)
        if (strcmp(m->factors[k].name, name) == 0)
            return k;
    return m->n_factors;
}

/* Vascular capacity (docs/model.md): each site's capacity factor and Gompertz rate, and the
 * primary's initial levels, once sites and factors are built. A capacity factor needs Gompertz
 * growth at a set rate (the normalised law's ln(K) would move with K) and a level above 0 in
 * every new lesion, since ln(K/N) has no meaning at K = 0. */
static void build_vascular(metasim_model_t *m, const ms_node *root)
{
    const ms_node *sites = get(root, "sites"), *factors = get(root, "factors");
    const ms_node *levels = get(get(root, "primary"), "initial_levels");
    for (size_t k = 0; k < m->n_factors; k++) {
        const ms_node *level = get(levels, m->factors[k].name);
        m->factors[k].primary_initial = level ? level->number : m->factors[k].initial;
    }
    for (size_t i = 0; i < m->n_sites; i++) {
        const ms_node *s = sites->items[i];
        ms_site *site = &m->sites[i];
        const ms_node *cf = get(s, "capacity_factor");
        site->capacity_factor = cf ? factor_index(m, cf->text) : m->n_factors;
        site->gompertz_rate = num(s, "gompertz_rate");
        if (written(s, "gompertz_rate") && site->growth != MS_GROWTH_GOMPERTZ)
            rule_error(m, get(s, "gompertz_rate"),
                       "sites.%s.gompertz_rate: applies only to Gompertz growth (set growth: "
                       "gompertz)",
                       s->key);
        if (!cf || site->capacity_factor >= m->n_factors) /* unknown names: validation */
            continue;
        ms_factor *f = &m->factors[site->capacity_factor];
        f->capacity = true;
        if (site->growth != MS_GROWTH_GOMPERTZ || !written(s, "gompertz_rate"))
            rule_error(m, cf,
                       "sites.%s.capacity_factor: a capacity factor needs Gompertz growth with "
                       "'gompertz_rate' (the rate lambda of dN/dt = lambda N ln(K/N))",
                       s->key);
        if (written(s, "capacity"))
            rule_error(m, get(s, "capacity"),
                       "sites.%s.capacity: the capacity is the level of factor '%s' "
                       "(capacity_factor); remove capacity",
                       s->key, f->name);
        const ms_node *fn = get(factors, f->name);
        if (!(f->initial > 0))
            rule_error(m, written(fn, "initial") ? get(fn, "initial") : fn,
                       "factors.%s.initial: the capacity of sites.%s must start above 0 in a new "
                       "lesion (got %g)",
                       f->name, s->key, f->initial);
        if (i == m->primary_site && !(f->primary_initial > 0) && get(levels, f->name))
            rule_error(m, get(levels, f->name),
                       "primary.initial_levels.%s: the capacity of sites.%s must start above 0 "
                       "(got %g)",
                       f->name, s->key, f->primary_initial);
    }
}

/* Values of a map keyed by factor names, one per factor, `fill` for those not listed. */
static int read_per_factor(metasim_model_t *m, const ms_node *map, double fill, double **out)
{
    *out = malloc((m->n_factors ? m->n_factors : 1) * sizeof **out);
    if (!*out)
        return METASIM_E_NOMEM;
    for (size_t k = 0; k < m->n_factors; k++)
        (*out)[k] = fill;
    for (size_t i = 0; map && i < map->count; i++) {
        size_t k = factor_index(m, map->items[i]->key);
        if (k < m->n_factors)
            (*out)[k] = map->items[i]->number;
    }
    return 0;
}

static int build_factors(metasim_model_t *m, const ms_node *factors)
{
    m->n_factors = factors ? factors->count : 0;
    m->factors = calloc(m->n_factors ? m->n_factors : 1, sizeof *m->factors);
    if (!m->factors)
        return METASIM_E_NOMEM;
    for (size_t i = 0; i < m->n_factors; i++) {
        const ms_node *f = factors->items[i];
        ms_factor *fa = &m->factors[i];
        fa->name = f->key;
        fa->decay = num(f, "decay");
        fa->source = num(f, "source");
        fa->initial = num(f, "initial");
        fa->inhibition = num(f, "inhibition");
        if (read_per_state(m, get(f, "production"), 0.0, &fa->production) != 0)
            return METASIM_E_NOMEM;
    }
    return 0;
}

static int build_modifiers(metasim_model_t *m, const ms_node *list)
{
    m->n_modifiers = list ? list->count : 0;
    m->modifiers = calloc(m->n_modifiers ? m->n_modifiers : 1, sizeof *m->modifiers);
    if (!m->modifiers)
        return METASIM_E_NOMEM;
    for (size_t i = 0; i < m->n_modifiers; i++) {
        const ms_node *n = list->items[i];
        ms_modifier *mod = &m->modifiers[i];
        mod->factor = factor_index(m, get(n, "factor")->text);
        mod->target = (ms_target)num(n, "rate");
        mod->state = get(n, "state") ? state_index(m, get(n, "state")->text) : m->n_states;
        mod->from = get(n, "from") ? state_index(m, get(n, "from")->text) : m->n_states;
        mod->to = get(n, "to") ? state_index(m, get(n, "to")->text) : m->n_states;
        mod->of = get(n, "of") ? factor_index(m, get(n, "of")->text) : m->n_factors;
        mod->max_effect = num(n, "max_effect");
        mod->ec50 = num(n, "ec50");
        mod->hill = num(n, "hill");
        if (mod->target == MS_TARGET_TRANSITION) {
            if (!get(n, "from") || !get(n, "to"))
                rule_error(m, get(n, "rate"),
                           "modifiers[%zu].rate: a transition modifier needs 'from' and 'to'", i);
            if (get(n, "state"))
                rule_error(m, get(n, "state"),
                           "modifiers[%zu].state: use 'from' to select a transition", i);
            bool declared = false;
            for (size_t s = 0; s < m->n_sites && !declared; s++)
                for (size_t k = 0; k < m->sites[s].n_transitions; k++)
                    declared |= m->sites[s].transitions[k].from == mod->from &&
                                m->sites[s].transitions[k].to == mod->to;
            if (get(n, "from") && get(n, "to") && !declared)
                rule_error(m, n, "modifiers[%zu]: no site declares a transition from %s to %s", i,
                           get(n, "from")->text, get(n, "to")->text);
        } else if (mod->target == MS_TARGET_HOMING &&
                   (get(n, "state") || get(n, "from") || get(n, "to"))) {
            rule_error(m, get(n, "rate"),
                       "modifiers[%zu].rate: homing acts on the primary as a whole: no 'state', "
                       "'from' or 'to'",
                       i);
        } else if (mod->target == MS_TARGET_PRODUCTION) {
            /* `of` naming the modifier's own factor is refused: it is most likely a slip for
             * another factor, and a level amplifying its own production (autocrine runaway)
             * is not part of the model (docs/model.md); loops pass through two factors. */
            if (!get(n, "of"))
                rule_error(m, get(n, "rate"),
                           "modifiers[%zu].rate: a production modifier needs 'of' (the factor "
                           "whose production it multiplies)",
                           i);
            else if (mod->of == mod->factor)
                rule_error(m, get(n, "of"),
                           "modifiers[%zu].of: '%s' is the modifier's own factor; a factor "
                           "cannot scale its own production",
                           i, get(n, "of")->text);
            else if (get(n, "state") || get(n, "from") || get(n, "to")) {
                const char *key = get(n, "state") ? "state" : get(n, "from") ? "from" : "to";
                rule_error(m, get(n, key),
                           "modifiers[%zu].%s: a production modifier acts on the factor as a "
                           "whole: no 'state', 'from' or 'to'",
                           i, key);
            }
        } else if (get(n, "of")) {
            rule_error(m, get(n, "of"), "modifiers[%zu].of: only production modifiers name 'of'",
                       i);
        } else if (get(n, "from") || get(n, "to")) {
            rule_error(m, get(n, get(n, "from") ? "from" : "to"),
                       "modifiers[%zu].%s: only transition modifiers name 'from' and 'to'", i,
                       get(n, "from") ? "from" : "to");
        }
    }
    return 0;
}

/* Factors of a map keyed by site names, one per site, 1 for sites not listed. */
static int read_per_site(metasim_model_t *m, const ms_node *map, double **out)
{
    *out = malloc((m->n_sites ? m->n_sites : 1) * sizeof **out);
    if (!*out)
        return METASIM_E_NOMEM;
    for (size_t k = 0; k < m->n_sites; k++)
        (*out)[k] = 1.0;
    for (size_t i = 0; map && i < map->count; i++)
        for (size_t k = 0; k < m->n_sites; k++)
            if (strcmp(m->sites[k].name, map->items[i]->key) == 0)
                (*out)[k] = map->items[i]->number;
    return 0;
}

/* Factors of a map keyed by drug names, one per drug, 1 for drugs not listed. */
static int read_per_drug(metasim_model_t *m, const ms_node *map, double **out)
{
    *out = malloc((m->n_drugs ? m->n_drugs : 1) * sizeof **out);
    if (!*out)
        return METASIM_E_NOMEM;
    for (size_t k = 0; k < m->n_drugs; k++)
        (*out)[k] = 1.0;
    for (size_t i = 0; map && i < map->count; i++)
        for (size_t k = 0; k < m->n_drugs; k++)
            if (strcmp(m->drugs[k].name, map->items[i]->key) == 0)
                (*out)[k] = map->items[i]->number;
    return 0;
}

static int build_loci(metasim_model_t *m, const ms_node *loci)
{
    m->n_loci = loci ? loci->count : 0;
    m->loci = calloc(m->n_loci ? m->n_loci : 1, sizeof *m->loci);
    if (!m->loci)
        return METASIM_E_NOMEM;
    for (size_t i = 0; i < m->n_loci; i++) {
        const ms_node *l = loci->items[i];
        ms_locus *lo = &m->loci[i];
        *lo = (ms_locus){.name = l->key,
                         .mutation_probability = num(l, "mutation_probability"),
                         .division_effect = num(l, "division_effect"),
                         .death_effect = num(l, "death_effect"),
                         .shedding = num(l, "shedding")};
        if (read_per_factor(m, get(l, "production"), 1.0, &lo->production) != 0 ||
            read_per_site(m, get(l, "tropism"), &lo->tropism) != 0 ||
            read_per_site(m, get(l, "colonisation"), &lo->colonisation) != 0 ||
            read_per_site(m, get(l, "dormant_death"), &lo->dormant_death) != 0 ||
            read_per_drug(m, get(l, "resistance"), &lo->resistance) != 0)
            return METASIM_E_NOMEM;
    }
    return 0;
}

static int build_karyotype(metasim_model_t *m, const ms_node *k)
{
    m->cin_locus = m->n_loci;
    if (!k)
        return 0;
    const ms_node *chromosomes = get(k, "chromosomes");
    m->n_chromosomes = chromosomes->count;
    m->chromosomes = calloc(m->n_chromosomes ? m->n_chromosomes : 1, sizeof *m->chromosomes);
    if (!m->chromosomes)
        return METASIM_E_NOMEM;
    m->missegregation = num(k, "missegregation");
    m->aneuploidy_cost = num(k, "aneuploidy_cost");
    m->max_copies = (unsigned)num(k, "max_copies");
    if (m->max_copies > 250)
        rule_error(m, get(k, "max_copies"), "karyotype.max_copies: must be <= 250 (got %u)",
                   m->max_copies);
    const ms_node *cin = get(k, "cin_locus");
    for (size_t i = 0; cin && i < m->n_loci; i++)
        if (strcmp(m->loci[i].name, cin->text) == 0)
            m->cin_locus = i;
    if (m->n_chromosomes > 64)
        rule_error(m, chromosomes, "karyotype.chromosomes: at most 64 chromosomes (got %zu)",
                   m->n_chromosomes);
    for (size_t i = 0; i < m->n_chromosomes; i++) {
        const ms_node *c = chromosomes->items[i];
        ms_chromosome *ch = &m->chromosomes[i];
        *ch = (ms_chromosome){.name = c->key,
                              .copies = (unsigned)num(c, "copies"),
                              .division_per_copy = num(c, "division_per_copy")};
        if (ch->copies > m->max_copies)
            rule_error(m, get(c, "copies"),
                       "karyotype.chromosomes.%s.copies: must be <= karyotype.max_copies (%u, "
                       "got %u)",
                       c->key, m->max_copies, ch->copies);
        if (read_per_drug(m, get(c, "resistance"), &ch->resistance) != 0)
            return METASIM_E_NOMEM;
    }
    return 0;
}

static size_t site_index(const metasim_model_t *m, const char *name)
{
    for (size_t k = 0; k < m->n_sites; k++)
        if (strcmp(m->sites[k].name, name) == 0)
            return k;
    return m->n_sites;
}

/* Which amounts an effect on each target names: `need` must be written (one of them, for a
 * factor), the others not. */
static void check_effect_amounts(metasim_model_t *m, const ms_node *d, size_t k, const ms_node *e,
                                 ms_effect_target target)
{
    static const char *const amounts[] = {"max_kill", "max_block", "max_induction",
                                          "max_rate", "max_fold",  "max_loss"};
    const char *tname = get(e, "target")->text;
    bool allowed[6] = {target == MS_EFFECT_DEATH,  target != MS_EFFECT_DEATH,
                       target == MS_EFFECT_FACTOR, target == MS_EFFECT_TRANSITION,
                       target == MS_EFFECT_FACTOR, target == MS_EFFECT_FACTOR};
    bool any = false;
    for (size_t i = 0; i < 6; i++) {
        if (written(e, amounts[i]) && !allowed[i])
            rule_error(m, get(e, amounts[i]), "drugs.%s.effects[%zu].%s: not used by a %s effect",
                       d->key, k, amounts[i], tname);
        any |= written(e, amounts[i]) && allowed[i];
    }
    if (!any)
        rule_error(m, get(e, "target"), "drugs.%s.effects[%zu].target: %s needs '%s'", d->key, k,
                   tname,
                   target == MS_EFFECT_DEATH        ? "max_kill"
                   : target == MS_EFFECT_FACTOR     ? "max_block', 'max_fold', 'max_induction' or "
                                                      "'max_loss"
                   : target == MS_EFFECT_TRANSITION ? "max_block' or 'max_rate"
                                                    : "max_block");
    /* Fields that only some targets read. */
    struct {
        const char *key;
        bool used;
    } only[] = {
        {"state",
         target == MS_EFFECT_DEATH || target == MS_EFFECT_DIVISION || target == MS_EFFECT_SHEDDING},
        {"from", target == MS_EFFECT_TRANSITION},
        {"to", target == MS_EFFECT_TRANSITION},
        {"factor", target == MS_EFFECT_FACTOR},
    };
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
        if (get(e, only[i].key) && !only[i].used)
            rule_error(m, get(e, only[i].key), "drugs.%s.effects[%zu].%s: not used by a %s effect",
                       d->key, k, only[i].key, tname);
    if (target == MS_EFFECT_TRANSITION && (!get(e, "from") || !get(e, "to")))
        rule_error(m, get(e, "target"),
                   "drugs.%s.effects[%zu].target: a transition effect needs 'from' and 'to'",
                   d->key, k);
    if (target == MS_EFFECT_FACTOR && !get(e, "factor"))
        rule_error(m, get(e, "target"),
                   "drugs.%s.effects[%zu].target: a factor effect needs "
                   "'factor'",
                   d->key, k);
}

static int build_effects(metasim_model_t *m, const ms_node *d, ms_drug *drug)
{
    const ms_node *list = get(d, "effects");
    drug->n_effects = list ? list->count : 0;
    drug->effects = calloc(drug->n_effects ? drug->n_effects : 1, sizeof *drug->effects);
    if (!drug->effects)
        return METASIM_E_NOMEM;
    for (size_t k = 0; k < drug->n_effects; k++) {
        const ms_node *e = list->items[k];
        ms_effect *ef = &drug->effects[k];
        ef->target = (ms_effect_target)num(e, "target");
        ef->state = get(e, "state") ? state_index(m, get(e, "state")->text) : m->n_states;
        ef->site = get(e, "site") ? site_index(m, get(e, "site")->text) : m->n_sites;
        ef->from = get(e, "from") ? state_index(m, get(e, "from")->text) : m->n_states;
        ef->to = get(e, "to") ? state_index(m, get(e, "to")->text) : m->n_states;
        ef->factor = get(e, "factor") ? factor_index(m, get(e, "factor")->text) : m->n_factors;
        ef->max = num(e, ef->target == MS_EFFECT_DEATH ? "max_kill" : "max_block");
        ef->induction = num(e, "max_induction");
        ef->fold = get(e, "max_fold") ? num(e, "max_fold") : 1.0;
        ef->loss = num(e, "max_loss");
        ef->rate = num(e, "max_rate");
        ef->ec50 = num(e, "ec50");
        ef->hill = num(e, "hill");
        ef->state_resistance = malloc(m->n_states * sizeof *ef->state_resistance);
        if (!ef->state_resistance)
            return METASIM_E_NOMEM;
        for (size_t i = 0; i < m->n_states; i++)
            ef->state_resistance[i] = 1.0;
        const ms_node *sr = get(e, "state_resistance");
        for (size_t i = 0; sr && i < sr->count; i++) {
            size_t st = state_index(m, sr->items[i]->key);
            if (st < m->n_states)
                ef->state_resistance[st] = sr->items[i]->number;
        }
        check_effect_amounts(m, d, k, e, ef->target);
        if (ef->target == MS_EFFECT_TRANSITION && ef->from < m->n_states && ef->to < m->n_states) {
            bool declared = false;
            for (size_t i = 0; i < m->n_sites && !declared; i++)
                for (size_t j = 0; j < m->sites[i].n_transitions; j++)
                    declared |= m->sites[i].transitions[j].from == ef->from &&
                                m->sites[i].transitions[j].to == ef->to;
            if (!declared)
                rule_error(m, e,
                           "drugs.%s.effects[%zu]: no site declares a transition from %s to %s",
                           d->key, k, get(e, "from")->text, get(e, "to")->text);
        }
    }
    return 0;
}

static int build_drugs(metasim_model_t *m, const ms_node *drugs)
{
    m->n_drugs = drugs ? drugs->count : 0;
    m->drugs = calloc(m->n_drugs ? m->n_drugs : 1, sizeof *m->drugs);
    if (!m->drugs)
        return METASIM_E_NOMEM;
    for (size_t i = 0; i < m->n_drugs; i++) {
        const ms_node *d = drugs->items[i];
        const ms_node *pk = get(d, "pk");
        ms_drug *drug = &m->drugs[i];
        drug->name = d->key;
        drug->pk_model = (ms_pk_model)num(pk, "model");
        drug->route = (ms_route)num(pk, "route");
        drug->half_life = num(pk, "half_life");
        drug->volume = num(pk, "volume");
        drug->absorption_rate = num(pk, "absorption_rate");
        drug->bioavailability = num(pk, "bioavailability");
        drug->peripheral_volume = num(pk, "peripheral_volume");
        drug->clearance_q = num(pk, "intercompartmental_clearance");
        if (build_effects(m, d, drug) != 0)
            return METASIM_E_NOMEM;
        const char *oral_only[] = {"absorption_rate", "bioavailability"};
        const char *two_only[] = {"peripheral_volume", "intercompartmental_clearance"};
        for (size_t k = 0; k < 2; k++) {
            int oral = drug->route == MS_ROUTE_ORAL;
            if (oral && k == 0 && !written(pk, oral_only[k]))
                rule_error(m, get(pk, "route"), "drugs.%s.pk.route: oral dosing needs '%s'", d->key,
                           oral_only[k]);
            if (!oral && written(pk, oral_only[k]))
                rule_error(m, get(pk, oral_only[k]),
                           "drugs.%s.pk.%s: applies only to the oral route", d->key, oral_only[k]);
            int two = drug->pk_model == MS_PK_TWO_COMPARTMENT;
            if (two && !written(pk, two_only[k]))
                rule_error(m, get(pk, "model"), "drugs.%s.pk.model: two compartments need '%s'",
                           d->key, two_only[k]);
            if (!two && written(pk, two_only[k]))
                rule_error(m, get(pk, two_only[k]),
                           "drugs.%s.pk.%s: applies only to two-compartment models", d->key,
                           two_only[k]);
        }
    }
    return 0;
}

static size_t drug_index(const metasim_model_t *m, const char *name)
{
    for (size_t k = 0; k < m->n_drugs; k++)
        if (strcmp(m->drugs[k].name, name) == 0)
            return k;
    return m->n_drugs;
}

/* The largest rate (/d) that effect `ef` changes per unit of its occupancy H: max_kill, or
 * max_block times the largest rate it blocks (a site's division, shedding with the states'
 * factors, or transition rate, with the locus effects that raise division), plus an induced
 * transition's max_rate; for a factor effect, the loss rate of the level it adds (max_loss),
 * its other terms acting through the factor's production. */
static double effect_rate_scale(const metasim_model_t *m, const ms_effect *ef)
{
    if (ef->target == MS_EFFECT_DEATH)
        return ef->max;
    if (ef->target == MS_EFFECT_FACTOR) /* the loss rate of the level it adds, max_loss */
        return ef->loss;
    double rate = 0, raise = 1;
    for (size_t i = 0; i < m->n_sites; i++) {
        const ms_site *site = &m->sites[i];
        if (ef->site != m->n_sites && ef->site != i)
            continue;
        for (size_t k = 0; ef->target == MS_EFFECT_SHEDDING && k < m->n_states; k++)
            if (ef->state == m->n_states || ef->state == k)
                rate = fmax(rate, site->shedding * site->state_shedding[k]);
        for (size_t k = 0; ef->target == MS_EFFECT_DIVISION && k < m->n_states; k++)
            if (ef->state == m->n_states || ef->state == k)
                rate = fmax(rate, site->division[k]);
        for (size_t j = 0; ef->target == MS_EFFECT_TRANSITION && j < site->n_transitions; j++)
            if (site->transitions[j].from == ef->from && site->transitions[j].to == ef->to)
                rate = fmax(rate, site->transitions[j].rate);
    }
    for (size_t k = 0; ef->target == MS_EFFECT_DIVISION && k < m->n_loci; k++)
        raise *= fmax(1.0, m->loci[k].division_effect);
    return ef->max * rate * raise + (ef->target == MS_EFFECT_TRANSITION ? ef->rate : 0);
}

/* The smallest EC50 of effect `ef` of drug d that any cell can have: the factors below 1 that
 * loci, states and gained chromosomes can give, all at once. */
static double effect_ec50_floor(const metasim_model_t *m, size_t d, const ms_effect *ef)
{
    double shift = 1;
    for (size_t k = 0; k < m->n_loci; k++)
        shift *= fmin(1.0, m->loci[k].resistance[d]);
    double state = 1;
    for (size_t k = 0; ef->state_resistance && k < m->n_states; k++)
        state = fmin(state, ef->state_resistance[k]);
    shift *= state;
    for (size_t c = 0; c < m->n_chromosomes; c++) {
        double r = m->chromosomes[c].resistance ? m->chromosomes[c].resistance[d] : 1;
        if (r < 1 && m->max_copies > m->chromosomes[c].copies)
            shift *= pow(r, (double)(m->max_copies - m->chromosomes[c].copies));
    }
    return ef->ec50 * shift;
}

/* The concentration below which effect `ef` moves its rate, or its factor's production, by
 * less than MS_DRUG_NEGLIGIBLE for every cell: H(C) <= (C / EC50)^h, so EC50 (eps / scale)^(1/h)
 * with the smallest EC50 a cell can have. INFINITY for an effect that moves nothing. */
static double effect_negligible(const ms_effect *ef)
{
    double scale = ef->target == MS_EFFECT_FACTOR
                       ? fmax(fmax(fmax(ef->induction, ef->max), fabs(ef->fold - 1)), ef->loss)
                       : ef->rate_scale;
    if (!(scale > 0))
        return INFINITY;
    return ef->ec50_floor * pow(MS_DRUG_NEGLIGIBLE / scale, 1.0 / ef->hill);
}

/* Each effect's bounds for the drug step rule (therapy.c), once loci and karyotype are built,
 * and each drug's negligible concentration. */
static void bound_effects(metasim_model_t *m)
{
    for (size_t d = 0; d < m->n_drugs; d++) {
        ms_drug *drug = &m->drugs[d];
        drug->negligible = INFINITY;
        for (size_t k = 0; k < drug->n_effects; k++) {
            ms_effect *ef = &drug->effects[k];
            ef->rate_scale = effect_rate_scale(m, ef);
            ef->ec50_floor = effect_ec50_floor(m, d, ef);
            drug->negligible = fmin(drug->negligible, effect_negligible(ef));
        }
        /* A drug without effects matters only through its reported concentration. */
        if (isinf(drug->negligible))
            drug->negligible = 0;
    }
}

static int build_regimens(metasim_model_t *m, const ms_node *regimens)
{
    m->n_regimens = regimens ? regimens->count : 0;
    m->regimens = calloc(m->n_regimens ? m->n_regimens : 1, sizeof *m->regimens);
    if (!m->regimens)
        return METASIM_E_NOMEM;
    static const char *const bases[] = {"amount", "amount_per_kg", "amount_per_m2"};
    for (size_t i = 0; i < m->n_regimens; i++) {
        const ms_node *r = regimens->items[i];
        const ms_node *doses = get(r, "doses");
        ms_regimen *reg = &m->regimens[i];
        reg->name = r->key;
        reg->cycles = (uint64_t)num(r, "cycles");
        reg->cycle_length = num(r, "cycle_length");
        reg->n_doses = doses ? doses->count : 0;
        reg->doses = calloc(reg->n_doses ? reg->n_doses : 1, sizeof *reg->doses);
        if (!reg->doses)
            return METASIM_E_NOMEM;
        double span = 0; /* the end of one cycle's last dose */
        for (size_t k = 0; k < reg->n_doses; k++) {
            const ms_node *d = doses->items[k];
            ms_dose *dose = &reg->doses[k];
            dose->drug = drug_index(m, get(d, "drug")->text);
            int n_bases = 0;
            for (int b = 0; b < 3; b++) {
                if (!get(d, bases[b]))
                    continue;
                if (n_bases++ > 0)
                    rule_error(m, get(d, bases[b]),
                               "regimens.%s.doses[%zu].%s: give one of amount, amount_per_kg "
                               "and amount_per_m2",
                               r->key, k, bases[b]);
                dose->basis = (ms_dose_basis)b;
                dose->amount = num(d, bases[b]);
            }
            if (n_bases == 0)
                rule_error(m, d,
                           "regimens.%s.doses[%zu]: needs an amount (amount, amount_per_kg "
                           "or amount_per_m2)",
                           r->key, k);
            dose->start = num(d, "start");
            dose->interval = num(d, "interval");
            dose->infusion = num(d, "infusion");
            dose->additional = (uint64_t)num(d, "additional");
            if (dose->additional > 0 && !written(d, "interval"))
                rule_error(m, get(d, "additional"),
                           "regimens.%s.doses[%zu].additional: repeated doses need an 'interval'",
                           r->key, k);
            if (dose->additional == 0 && written(d, "interval"))
                rule_error(m, get(d, "interval"),
                           "regimens.%s.doses[%zu].interval: has no effect without 'additional' "
                           "doses",
                           r->key, k);
            if (dose->drug < m->n_drugs && m->drugs[dose->drug].route == MS_ROUTE_ORAL &&
                dose->infusion > 0)
                rule_error(m, get(d, "infusion"),
                           "regimens.%s.doses[%zu].infusion: %s is taken by mouth, not infused",
                           r->key, k, m->drugs[dose->drug].name);
            if (dose->additional > 0 && dose->infusion > dose->interval && dose->interval > 0)
                rule_error(m, get(d, "infusion"),
                           "regimens.%s.doses[%zu].infusion: longer than the dosing interval",
                           r->key, k);
            double end = dose->start + (double)dose->additional * dose->interval + dose->infusion;
            span = fmax(span, end);
        }
        if (reg->cycles > 1 && !written(r, "cycle_length"))
            rule_error(m, get(r, "cycles"),
                       "regimens.%s.cycles: several cycles need a "
                       "'cycle_length'",
                       r->key);
        if (reg->cycles == 1 && written(r, "cycle_length"))
            rule_error(m, get(r, "cycle_length"),
                       "regimens.%s.cycle_length: has no effect with one cycle", r->key);
        if (reg->cycles > 1 && reg->cycle_length > 0 && reg->cycle_length < span)
            rule_error(m, get(r, "cycle_length"),
                       "regimens.%s.cycle_length: shorter than one cycle's doses (%g d)", r->key,
                       span);
        if ((double)reg->cycles * (double)reg->n_doses > 1e6)
            rule_error(m, get(r, "cycles"), "regimens.%s.cycles: more than 1e6 dosing records",
                       r->key);
    }
    return 0;
}

static size_t regimen_index(const metasim_model_t *m, const char *name)
{
    for (size_t k = 0; k < m->n_regimens; k++)
        if (strcmp(m->regimens[k].name, name) == 0)
            return k;
    return m->n_regimens;
}

/* Rules of a line that need the clinic, which is built after the arms. */
static void check_lines(metasim_model_t *m, const ms_node *arms)
{
    static const char *const anchors[] = {"diagnosis", "surgery", "relapse", "progression",
                                          "time_zero"};
    for (size_t i = 0; i < m->n_arms; i++) {
        const ms_node *lines = get(arms->items[i], "lines");
        for (size_t k = 0; k < m->arms[i].n_lines; k++) {
            const ms_line *ln = &m->arms[i].lines[k];
            const ms_node *n = lines->items[k];
            if (ln->start == MS_ANCHOR_SURGERY && !m->surgery)
                rule_error(m, get(n, "start"),
                           "arms.%s.lines[%zu].start: surgery needs a clinic.surgery section",
                           m->arms[i].name, k);
            bool detected = ln->start == MS_ANCHOR_RELAPSE || ln->start == MS_ANCHOR_PROGRESSION;
            bool follow_up = detected || ln->stop_at != MS_LINE_STOP_NONE;
            if (follow_up && m->n_scan_periods == 0)
                rule_error(m, get(n, detected ? "start" : "stop_at"),
                           "arms.%s.lines[%zu].%s: %s is detected at follow-up scans: add "
                           "clinic.scans",
                           m->arms[i].name, k, detected ? "start" : "stop_at",
                           detected                              ? anchors[ln->start]
                           : ln->stop_at == MS_LINE_STOP_RELAPSE ? "relapse"
                                                                 : "progression");
        }
    }
}

static size_t locus_index(const metasim_model_t *m, const char *name)
{
    for (size_t k = 0; k < m->n_loci; k++)
        if (strcmp(m->loci[k].name, name) == 0)
            return k;
    return m->n_loci;
}

/* An arm's injections of cells into the circulation (src/bio/injection.c). Unknown loci and
 * states are reported by validation (the fields' refs); the rules here span fields. */
static int build_injections(metasim_model_t *m, const ms_node *a, ms_arm *arm)
{
    const ms_node *list = get(a, "injections");
    arm->n_injections = list ? list->count : 0;
    arm->injections = calloc(arm->n_injections ? arm->n_injections : 1, sizeof *arm->injections);
    if (!arm->injections)
        return METASIM_E_NOMEM;
    for (size_t k = 0; k < arm->n_injections; k++) {
        const ms_node *n = list->items[k];
        ms_injection *inj = &arm->injections[k];
        inj->at = num(n, "at");
        inj->cells = (uint64_t)num(n, "cells");
        inj->state = state_index(m, get(n, "state")->text);
        if (inj->at >= m->horizon)
            rule_error(m, get(n, "at"),
                       "arms.%s.injections[%zu].at: must be before time.horizon (%g d; got %g d)",
                       a->key, k, m->horizon, inj->at);
        if (k > 0 && inj->at < arm->injections[k - 1].at)
            rule_error(m, get(n, "at"),
                       "arms.%s.injections[%zu].at: must not be earlier than injections[%zu].at",
                       a->key, k, k - 1);
        const ms_node *loci = get(n, "loci");
        for (size_t j = 0; loci && j < loci->count; j++) {
            size_t locus = locus_index(m, loci->items[j]->text);
            if (locus >= m->n_loci || locus >= 64)
                continue; /* reported by validation, or by the limit on loci */
            if (inj->loci >> locus & 1)
                rule_error(m, loci->items[j],
                           "arms.%s.injections[%zu].loci[%zu]: '%s' is listed twice", a->key, k, j,
                           loci->items[j]->text);
            inj->loci |= UINT64_C(1) << locus;
        }
    }
    return 0;
}

static int build_arms(metasim_model_t *m, const ms_node *arms)
{
    m->n_arms = arms ? arms->count : 0;
    m->arms = calloc(m->n_arms ? m->n_arms : 1, sizeof *m->arms);
    if (!m->arms)
        return METASIM_E_NOMEM;
    for (size_t i = 0; i < m->n_arms; i++) {
        const ms_node *a = arms->items[i];
        const ms_node *lines = get(a, "lines");
        ms_arm *arm = &m->arms[i];
        arm->name = a->key;
        arm->n_lines = lines ? lines->count : 0;
        arm->lines = calloc(arm->n_lines ? arm->n_lines : 1, sizeof *arm->lines);
        if (!arm->lines)
            return METASIM_E_NOMEM;
        for (size_t k = 0; k < arm->n_lines; k++) {
            const ms_node *n = lines->items[k];
            ms_line *ln = &arm->lines[k];
            ln->regimen = regimen_index(m, get(n, "regimen")->text);
            ln->start = (ms_anchor)num(n, "start");
            ln->delay = num(n, "delay");
            ln->stop_after = get(n, "stop_after") ? num(n, "stop_after") : INFINITY;
            ln->stop_at = (ms_line_stop)num(n, "stop_at");
            ln->pause_below = num(n, "pause_below");
            ln->resume_above = num(n, "resume_above");
            if (!get(n, "pause_below") != !get(n, "resume_above"))
                rule_error(m, get(n, get(n, "pause_below") ? "pause_below" : "resume_above"),
                           "arms.%s.lines[%zu].%s: adaptive therapy needs both pause_below and "
                           "resume_above",
                           a->key, k, get(n, "pause_below") ? "pause_below" : "resume_above");
            else if (get(n, "pause_below") && ln->pause_below >= ln->resume_above)
                rule_error(m, get(n, "pause_below"),
                           "arms.%s.lines[%zu].pause_below: must be below resume_above (%g cells)",
                           a->key, k, ln->resume_above);
        }
        if (build_injections(m, a, arm) != 0)
            return METASIM_E_NOMEM;
    }
    return 0;
}

/* Diameter d (cm) to cells of a sphere: (pi / 6) d^3 cells_per_cm3. */
static double sphere_cells(const metasim_model_t *m, double diameter)
{
    const double pi = 3.14159265358979323846;
    return pi / 6 * diameter * diameter * diameter * m->cells_per_cm3;
}

static int build_clinic(metasim_model_t *m, const ms_node *c)
{
    m->cells_per_cm3 = num(c, "cells_per_cm3");
    m->detection_spread = num(c, "detection_spread");
    m->symptomatic_cells = sphere_cells(m, num(c, "symptomatic_diameter"));
    m->imaging_cells = sphere_cells(m, num(c, "imaging_diameter"));
    m->node_positive_cells = num(c, "node_positive_cells");
    m->lethal_cells = num(c, "lethal_cells");
    const ms_node *surgery = get(c, "surgery");
    m->surgery = surgery != NULL;
    m->surgery_delay = num(surgery, "delay");
    const ms_node *scans = get(c, "scans");
    m->n_scan_periods = scans ? scans->count : 0;
    m->scan_every = calloc(m->n_scan_periods + 1, sizeof(double));
    m->scan_until = calloc(m->n_scan_periods + 1, sizeof(double));
    if (!m->scan_every || !m->scan_until)
        return METASIM_E_NOMEM;
    for (size_t i = 0; i < m->n_scan_periods; i++) {
        m->scan_every[i] = num(scans->items[i], "every");
        m->scan_until[i] = num(scans->items[i], "until");
        if (i > 0 && m->scan_until[i] <= m->scan_until[i - 1])
            rule_error(m, get(scans->items[i], "until"),
                       "clinic.scans[%zu].until: must be later than clinic.scans[%zu].until", i,
                       i - 1);
    }
    return 0;
}

static int build(metasim_model_t *m)
{
    const ms_node *root = m->tree;
    const ms_node *scenario = get(root, "scenario");
    const ms_node *time = get(root, "time");
    const ms_node *primary = get(root, "primary");
    m->name = get(scenario, "name")->text;
    m->description = get(scenario, "description")->text;
    m->has_seed = get(scenario, "seed") != NULL;
    m->seed = (uint64_t)num(scenario, "seed");
    m->horizon = num(time, "horizon");
    m->output_interval = num(time, "output_interval");
    /* Decimation: every k-th output time, so the horizon holds at most max_samples of them. */
    double k = ceil(m->horizon / m->output_interval / (num(time, "max_samples") - 1) - 1e-12);
    m->sample_interval = m->output_interval * (k > 1 ? k : 1);
    int rc;
    if ((rc = build_states(m, get(root, "states"))) != 0 ||
        (rc = build_sites(m, get(root, "sites"))) != 0 ||
        (rc = build_factors(m, get(root, "factors"))) != 0 ||
        (rc = build_modifiers(m, get(root, "modifiers"))) != 0 ||
        (rc = build_drugs(m, get(root, "drugs"))) != 0 ||
        (rc = build_loci(m, get(root, "loci"))) != 0 ||
        (rc = build_karyotype(m, get(root, "karyotype"))) != 0 ||
        (rc = build_regimens(m, get(root, "regimens"))) != 0 ||
        (rc = build_arms(m, get(root, "arms"))) != 0)
        return rc;
    bound_effects(m);
    m->additive = num(get(root, "therapy"), "combination") == 1;
    const ms_node *trial = get(root, "trial");
    m->trial_patients = (uint64_t)num(trial, "patients");
    const ms_node *inclusion = get(trial, "inclusion");
    const char *lists[] = {"t_stages", "n_stages", "m_stages"};
    unsigned *allowed[] = {&m->t_allowed, &m->n_allowed, &m->m_allowed};
    for (size_t i = 0; i < 3; i++) {
        const ms_node *list = get(inclusion, lists[i]);
        *allowed[i] = list ? 0u : ~0u;
        for (size_t j = 0; list && j < list->count; j++)
            *allowed[i] |= 1u << (unsigned)list->items[j]->number;
    }
    const ms_node *patient = get(root, "patient");
    m->weight = num(patient, "weight") / 1e6;                     /* mg to kg */
    m->surface = sqrt(num(patient, "height") * m->weight / 3600); /* Mosteller 1987 */
    for (m->primary_site = 0; m->primary_site < m->n_sites; m->primary_site++)
        if (strcmp(m->sites[m->primary_site].name, get(primary, "site")->text) == 0)
            break;
    build_vascular(m, root);
    if ((rc = build_clinic(m, get(root, "clinic"))) != 0)
        return rc;
    check_lines(m, get(root, "arms"));
    /* Arms are assigned at surgery unless a line starts at diagnosis (neoadjuvant), and at
     * time 0 when a line starts then (an experiment's schedule). */
    m->assign_at_surgery = m->surgery;
    for (size_t i = 0; i < m->n_arms; i++)
        for (size_t j = 0; j < m->arms[i].n_lines; j++) {
            if (m->arms[i].lines[j].start == MS_ANCHOR_DIAGNOSIS)
                m->assign_at_surgery = false;
            if (m->arms[i].lines[j].start == MS_ANCHOR_TIME_ZERO)
                m->assign_at_start = true;
        }
    /* Injections are an experiment's schedule from time zero too. */
    bool injects = false;
    for (size_t i = 0; i < m->n_arms; i++)
        injects |= m->arms[i].n_injections > 0;
    m->assign_at_start |= injects;
    if (m->assign_at_start && (m->t_allowed & m->n_allowed & m->m_allowed) != ~0u)
        rule_error(m, inclusion,
                   "trial.inclusion: criteria are read at diagnosis, but %s assigns the arms at "
                   "time 0",
                   injects ? "an injection" : "a line starting at time_zero");
    if (m->sites[m->primary_site].regional)
        rule_error(m, get(primary, "site"), "primary.site: the primary cannot be a regional site");
    const ms_node *circulation = get(root, "circulation");
    m->ctc_survival = num(circulation, "survival");
    m->ctc_half_life = num(circulation, "half_life");
    m->blood_volume = num(circulation, "blood_volume");
    const ms_node *engine = get(root, "engine");
    m->exact_below = num(engine, "exact_below");
    m->step_bound = num(engine, "step_bound");
    m->max_step = num(engine, "max_step");
    if (m->n_loci > 64)
        rule_error(m, get(root, "loci"), "loci: at most 64 loci (got %zu)", m->n_loci);
    m->initial_cells = (uint64_t)num(primary, "initial_cells");
    m->initial_state = state_index(m, get(primary, "initial_state")->text);
    if (m->initial_state >= m->n_states) /* reported by validation */
        m->initial_state = MS_STATE_CYCLING;
    m->keep_state = calloc(m->n_states, sizeof *m->keep_state);
    if (!m->keep_state)
        return METASIM_E_NOMEM;
    const ms_node *keep = get(circulation, "keep_state");
    for (size_t i = 0; keep && i < keep->count; i++) {
        size_t st = state_index(m, keep->items[i]->text);
        if (st < m->n_states)
            m->keep_state[st] = true;
    }
    m->detection_cells = num(primary, "detection_cells");
    m->seeds_outside = num(primary, "seeds_outside");
    /* A patient's model is read from a tree that already holds its drawn values. */
    if (!m->population)
        return ms_cohort_read(&m->cohort, root, get(root, "cohort"), &m->diag);
    return 0;
}

/* ------------------------------------------------------------ summary */

static void describe(metasim_model_t *m)
{
    ms_strbuf sb = {0};
    ms_strbuf_printf(&sb, "scenario %s", m->name);
    if (*m->description)
        ms_strbuf_printf(&sb, ": %.*s", (int)strcspn(m->description, "\n"), m->description);
    ms_strbuf_printf(&sb, "\n  horizon %.6g d (%.3g y), time series every %.6g d, ", m->horizon,
                     m->horizon / 365.25, m->sample_interval);
    if (m->has_seed)
        ms_strbuf_printf(&sb, "seed %llu\n", (unsigned long long)m->seed);
    else
        ms_strbuf_puts(&sb, "seed drawn at run time\n");
    ms_strbuf_printf(&sb, "  states (%zu):", m->n_states);
    for (size_t i = 0; i < m->n_states; i++)
        ms_strbuf_printf(&sb, " %s", m->states[i]);
    static const char *const growth[] = {"exponential", "logistic", "gompertz"};
    ms_strbuf_printf(&sb, "\n  sites (%zu):", m->n_sites);
    for (size_t i = 0; i < m->n_sites; i++) {
        const ms_site *s = &m->sites[i];
        ms_strbuf_printf(&sb, "%s %s (%s%s", i ? "," : "", s->name,
                         i == m->primary_site ? "primary, " : "", growth[s->growth]);
        if (s->blood_flow > 0)
            ms_strbuf_printf(&sb, ", blood flow %.3g", s->blood_flow);
        if (s->capacity_factor < m->n_factors)
            ms_strbuf_printf(&sb, ", capacity %s", m->factors[s->capacity_factor].name);
        ms_strbuf_puts(&sb, ")");
    }
    ms_strbuf_printf(&sb, "\n  primary: %s, %llu founding cell%s, detected at %.3g cells\n",
                     m->sites[m->primary_site].name, (unsigned long long)m->initial_cells,
                     m->initial_cells == 1 ? "" : "s", m->detection_cells);
    ms_strbuf_printf(&sb, "  loci (%zu):", m->n_loci);
    for (size_t i = 0; i < m->n_loci; i++)
        ms_strbuf_printf(&sb, "%s %s (u = %.3g)", i ? "," : "", m->loci[i].name,
                         m->loci[i].mutation_probability);
    if (m->n_chromosomes) {
        ms_strbuf_printf(&sb,
                         "\n  karyotype (%zu chromosomes, missegregation %.3g per "
                         "chromosome per division%s%s):",
                         m->n_chromosomes, m->missegregation,
                         m->cin_locus < m->n_loci ? " in carriers of " : "",
                         m->cin_locus < m->n_loci ? m->loci[m->cin_locus].name : "");
        for (size_t i = 0; i < m->n_chromosomes; i++)
            ms_strbuf_printf(&sb, " %s", m->chromosomes[i].name);
    }
    ms_strbuf_printf(&sb, "\n  factors (%zu):", m->n_factors);
    for (size_t i = 0; i < m->n_factors; i++)
        ms_strbuf_printf(&sb, "%s %s", i ? "," : "", m->factors[i].name);
    if (m->n_modifiers)
        ms_strbuf_printf(&sb, "; %zu modifier%s", m->n_modifiers, m->n_modifiers == 1 ? "" : "s");
    ms_strbuf_printf(&sb, "\n  drugs (%zu):", m->n_drugs);
    for (size_t i = 0; i < m->n_drugs; i++)
        ms_strbuf_printf(&sb, "%s %s (%s, %s, half-life %.3g d)", i ? "," : "", m->drugs[i].name,
                         m->drugs[i].pk_model == MS_PK_ONE_COMPARTMENT ? "1-cpt" : "2-cpt",
                         m->drugs[i].route == MS_ROUTE_IV ? "iv" : "oral", m->drugs[i].half_life);
    ms_strbuf_printf(&sb, "\n  arms (%zu):", m->n_arms);
    for (size_t i = 0; i < m->n_arms; i++) {
        const ms_arm *a = &m->arms[i];
        ms_strbuf_printf(&sb, "%s %s (", i ? "," : "", a->name);
        for (size_t k = 0; k < a->n_lines; k++)
            ms_strbuf_printf(&sb, "%s%s", k ? " then " : "", m->regimens[a->lines[k].regimen].name);
        ms_strbuf_puts(&sb, a->n_lines ? "" : "untreated");
        for (size_t k = 0; k < a->n_injections; k++)
            ms_strbuf_printf(&sb, "; %.3g cells injected at %.3g d", (double)a->injections[k].cells,
                             a->injections[k].at);
        ms_strbuf_puts(&sb, ")");
    }
    const ms_cohort *c = &m->cohort;
    if (ms_cohort_varies(c)) {
        ms_strbuf_puts(&sb, "\n  cohort:");
        for (size_t i = 0; i < c->n_subtypes; i++)
            ms_strbuf_printf(&sb, "%s %s %.3g %%", i ? "," : " subtypes", c->subtypes[i].name,
                             100 * c->subtypes[i].share);
        static const char *const dist[] = {"fixed", "normal", "lognormal", "uniform"};
        for (size_t i = 0; i < c->n_params; i++)
            ms_strbuf_printf(&sb, "%s %s (%s)",
                             i ? "," : (c->n_subtypes ? "; varying" : " varying"),
                             c->params[i].path, dist[c->params[i].distribution]);
    }
    ms_strbuf_puts(&sb, "\n");
    m->summary = ms_strbuf_take(&sb);
}

/* ------------------------------------------------------------ loading */

/* The first byte that is not valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), or `len` when all are. libfyaml would reject most such input too, but a
 * binary file deserves a plain message, and libfyaml 0.7.12 loops forever on some overlong
 * forms in a directive (found by the fuzzer). */
static size_t invalid_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80                   ? 1
                   : (c >= 0xC2 && c <= 0xDF) ? 2
                   : (c >> 4) == 0xE          ? 3
                   : (c >= 0xF0 && c <= 0xF4) ? 4
                                              : 0;
        if (n == 0 || c == 0 || i + n > len)
            return i;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        unsigned char c1 = n > 1 ? s[i + 1] : 0;
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
            (c == 0xF4 && c1 >= 0x90))
            return i;
        i += n;
    }
    return len;
}

static void position_of(const char *text, size_t offset, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

static metasim_model_t *model_new(const char *name)
{
    metasim_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->source_name = strdup(name ? name : "<scenario>");
    if (!m->source_name) {
        free(m);
        return NULL;
    }
    m->diag.file = m->source_name;
    m->subtype = SIZE_MAX;
    return m;
}

/* Formats the messages; the status stays whatever the load decided. */
static int finish(metasim_model_t *m, int status)
{
    if (status == 0 && m->diag.total > 0)
        status = METASIM_E_INVALID;
    if (status == 0 && m->diag.nomem)
        status = METASIM_E_NOMEM;
    m->status = status;
    ms_strbuf sb = {0};
    ms_diag_format(&m->diag, &sb);
    if (status != 0 && m->diag.total == 0 && !m->diag.nomem)
        ms_strbuf_printf(&sb, "%s: %s\n", m->source_name, metasim_strerror(status));
    m->errmsg = ms_strbuf_take(&sb);
    if (status == 0)
        describe(m);
    if (!m->errmsg || (status == 0 && !m->summary))
        m->status = status = METASIM_E_NOMEM;
    return status;
}

static int load_text(metasim_model_t *m, const char *text, size_t len)
{
    m->text = malloc(len + 1);
    if (!m->text)
        return METASIM_E_NOMEM;
    if (len)
        memcpy(m->text, text, len);
    m->text[len] = '\0';
    m->text_len = len;
    if (len > METASIM_MAX_SCENARIO_BYTES) {
        ms_diag_add(&m->diag, 0, 0, NULL, "larger than %d bytes; a scenario is a short text",
                    METASIM_MAX_SCENARIO_BYTES);
        return METASIM_E_LIMIT;
    }
    size_t bad = invalid_utf8((const unsigned char *)m->text, len);
    if (bad < len) {
        int line, col;
        position_of(m->text, bad, &line, &col);
        ms_diag_add(&m->diag, line, col, NULL,
                    "%s byte 0x%02x: a scenario is UTF-8 text, this looks like a binary file",
                    m->text[bad] ? "invalid UTF-8" : "NUL", (unsigned char)m->text[bad]);
        return METASIM_E_SYNTAX;
    }
    int rc = ms_yaml_read(m->text, len, &m->diag, &m->tree);
    if (rc != 0)
        return rc;
    long errors = ms_validate(m->tree, &m->diag);
    if (errors < 0)
        return METASIM_E_NOMEM;
    if (errors > 0)
        return METASIM_E_INVALID;
    return build(m);
}

int metasim_model_load_string(const char *name, const char *text, size_t length,
                              metasim_model_t **model)
{
    if (!model)
        return METASIM_E_ARG;
    *model = NULL;
    if (!text && length > 0)
        return METASIM_E_ARG;
    metasim_model_t *m = model_new(name);
    if (!m)
        return METASIM_E_NOMEM;
    *model = m;
    return finish(m, load_text(m, text ? text : "", length));
}

int metasim_model_load_builtin(const char *name, metasim_model_t **model)
{
    if (!model)
        return METASIM_E_ARG;
    *model = NULL;
    size_t length = 0;
    const char *text = metasim_builtin_text(name, &length);
    if (!text) {
        metasim_model_t *m = model_new(name);
        if (!m)
            return METASIM_E_NOMEM;
        *model = m;
        ms_diag_add(&m->diag, 0, 0, NULL, "no built-in scenario of this name");
        return finish(m, METASIM_E_NOTFOUND);
    }
    ms_strbuf label = {0};
    ms_strbuf_printf(&label, "%s.yaml", name);
    int rc = metasim_model_load_string(ms_strbuf_str(&label), text, length, model);
    ms_strbuf_free(&label);
    return rc;
}

/* Reads a whole file, refusing directories and anything over the size limit. */
static int read_file(metasim_model_t *m, const char *path, char **out, size_t *out_len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ms_diag_add(&m->diag, 0, 0, NULL, "cannot open: %s", strerror(errno));
        return METASIM_E_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ms_diag_add(&m->diag, 0, 0, NULL, "cannot read: %s", strerror(errno));
        close(fd);
        return METASIM_E_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        ms_diag_add(&m->diag, 0, 0, NULL, "is a directory, not a scenario file");
        close(fd);
        return METASIM_E_IO;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        if (len == cap) {
            if (cap > METASIM_MAX_SCENARIO_BYTES) {
                ms_diag_add(&m->diag, 0, 0, NULL,
                            "larger than %d bytes; a scenario is a short text",
                            METASIM_MAX_SCENARIO_BYTES);
                rc = METASIM_E_LIMIT;
                break;
            }
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                rc = METASIM_E_NOMEM;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ms_diag_add(&m->diag, 0, 0, NULL, "cannot read: %s", strerror(errno));
            rc = METASIM_E_IO;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!buf)
        return METASIM_E_NOMEM;
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int metasim_model_load_file(const char *path, metasim_model_t **model)
{
    if (!model)
        return METASIM_E_ARG;
    *model = NULL;
    if (!path)
        return METASIM_E_ARG;
    metasim_model_t *m = model_new(path);
    if (!m)
        return METASIM_E_NOMEM;
    *model = m;
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(m, path, &text, &len);
    if (rc == 0)
        rc = load_text(m, text, len);
    free(text);
    return finish(m, rc);
}

void metasim_model_destroy(metasim_model_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->sites && i < m->n_sites; i++) {
        free(m->sites[i].division);
        free(m->sites[i].death);
        free(m->sites[i].state_shedding);
        free(m->sites[i].transitions);
    }
    for (size_t i = 0; m->arms && i < m->n_arms; i++) {
        free(m->arms[i].lines);
        free(m->arms[i].injections);
    }
    for (size_t i = 0; m->regimens && i < m->n_regimens; i++)
        free(m->regimens[i].doses);
    for (size_t i = 0; m->loci && i < m->n_loci; i++) {
        free(m->loci[i].production);
        free(m->loci[i].tropism);
        free(m->loci[i].colonisation);
        free(m->loci[i].dormant_death);
        free(m->loci[i].resistance);
    }
    for (size_t i = 0; m->drugs && i < m->n_drugs; i++) {
        for (size_t k = 0; m->drugs[i].effects && k < m->drugs[i].n_effects; k++)
            free(m->drugs[i].effects[k].state_resistance);
        free(m->drugs[i].effects);
    }
    for (size_t i = 0; m->factors && i < m->n_factors; i++)
        free(m->factors[i].production);
    free(m->factors);
    free(m->modifiers);
    free(m->scan_every);
    free(m->scan_until);
    free(m->sites);
    free(m->loci);
    for (size_t i = 0; m->chromosomes && i < m->n_chromosomes; i++)
        free(m->chromosomes[i].resistance);
    free(m->chromosomes);
    free(m->drugs);
    free(m->arms);
    free(m->regimens);
    free(m->states);
    free(m->keep_state);
    ms_cohort_free(&m->cohort);
    free(m->covariates);
    ms_node_free(m->tree);
    ms_diag_free(&m->diag);
    free(m->errmsg);
    free(m->summary);
    free(m->text);
    free(m->source_name);
    free(m);
}

const char *metasim_model_errmsg(const metasim_model_t *m)
{
    return m && m->errmsg ? m->errmsg : "";
}

size_t metasim_model_error_count(const metasim_model_t *m)
{
    if (!m)
        return 0;
    return m->diag.total > 0 ? m->diag.total : (m->status != 0);
}

const char *metasim_model_summary(const metasim_model_t *m)
{
    return m && m->status == 0 && m->summary ? m->summary : "";
}

const char *metasim_model_name(const metasim_model_t *m)
{
    return m && m->status == 0 ? m->name : "";
}

double metasim_model_horizon(const metasim_model_t *m)
{
    return m && m->status == 0 ? m->horizon : 0;
}

double metasim_model_blood_volume(const metasim_model_t *m)
{
    return m && m->status == 0 ? m->blood_volume : 0;
}

int metasim_model_seed(const metasim_model_t *m, unsigned long long *seed)
{
    if (!m || m->status != 0 || !m->has_seed)
        return 0;
    if (seed)
        *seed = m->seed;
    return 1;
}

unsigned long long metasim_model_trial_patients(const metasim_model_t *m)
{
    return m && m->status == 0 ? m->trial_patients : 0;
}

size_t metasim_model_arm_count(const metasim_model_t *m)
{
    return m && m->status == 0 ? m->n_arms : 0;
}

unsigned metasim_model_arm(const metasim_model_t *m, const char *name)
{
    for (size_t i = 0; m && m->status == 0 && name && i < m->n_arms; i++)
        if (strcmp(m->arms[i].name, name) == 0)
            return (unsigned)(i + 1);
    return 0;
}

size_t metasim_model_locus_count(const metasim_model_t *m)
{
    return m && m->status == 0 ? m->n_loci : 0;
}

const char *metasim_model_locus_name(const metasim_model_t *m, size_t k)
{
    return m && m->status == 0 && k < m->n_loci ? m->loci[k].name : NULL;
}

int metasim_model_site_regional(const metasim_model_t *m, const char *name)
{
    for (size_t i = 0; m && m->status == 0 && name && i < m->n_sites; i++)
        if (strcmp(m->sites[i].name, name) == 0)
            return m->sites[i].regional;
    return 0;
}

size_t metasim_model_chromosome_count(const metasim_model_t *m)
{
    return m && m->status == 0 ? m->n_chromosomes : 0;
}

const char *metasim_model_chromosome_name(const metasim_model_t *m, size_t k)
{
    return k < metasim_model_chromosome_count(m) ? m->chromosomes[k].name : NULL;
}

const char *metasim_model_source(const metasim_model_t *m)
{
    if (m && m->population)
        return m->population->text;
    return m ? m->text : NULL;
}

/* ------------------------------------------------------------ patients of a cohort */

int metasim_model_patient(const metasim_model_t *model, unsigned long long seed, unsigned patient,
                          metasim_model_t **patient_model)
{
    if (!patient_model)
        return METASIM_E_ARG;
    *patient_model = NULL;
    if (!model || model->status != 0 || model->population)
        return METASIM_E_ARG;
    metasim_model_t *m = model_new(model->source_name);
    if (!m)
        return METASIM_E_NOMEM;
    *patient_model = m;
    m->population = model;
    m->refs = 1;
    ms_strbuf why = {0};
    int rc = 0;
    if (!(m->tree = ms_node_clone(model->tree)))
        rc = METASIM_E_NOMEM;
    else
        rc = ms_cohort_draw(&model->cohort, m->tree, seed, patient, &m->subtype, &m->covariates,
                            &m->n_covariates, &why);
    if (rc == 0 && (rc = build(m)) == 0 && m->diag.nomem)
        rc = METASIM_E_NOMEM;
    if (rc == 0 && m->diag.total > 0)
        rc = METASIM_E_INVALID;
    m->status = rc;
    if (rc != 0) {
        /* Which values broke which rule: the drawn values, then the rules as for a file. */
        ms_strbuf sb = {0};
        ms_strbuf_printf(&sb, "%s: patient %u", m->source_name, patient);
        if (m->subtype != SIZE_MAX)
            ms_strbuf_printf(&sb, " (subtype %s)", model->cohort.subtypes[m->subtype].name);
        for (size_t i = 0; i < m->n_covariates; i++)
            ms_strbuf_printf(&sb, "%s %s = %.6g%s%s", i ? "," : ", drawn", m->covariates[i].path,
                             m->covariates[i].value,
                             *ms_units_canonical(m->covariates[i].dim) ? " " : "",
                             ms_units_canonical(m->covariates[i].dim));
        ms_strbuf_puts(&sb, ":\n");
        if (ms_strbuf_str(&why)[0])
            ms_strbuf_printf(&sb, "%s: %s\n", m->source_name, ms_strbuf_str(&why));
        else if (m->diag.total > 0)
            ms_diag_format(&m->diag, &sb);
        else
            ms_strbuf_printf(&sb, "%s: %s\n", m->source_name, metasim_strerror(rc));
        m->errmsg = ms_strbuf_take(&sb);
    }
    ms_strbuf_free(&why);
    return rc;
}

int metasim_model_cohort_varies(const metasim_model_t *m)
{
    return m && m->status == 0 && ms_cohort_varies(&m->cohort);
}

size_t metasim_model_subtype_count(const metasim_model_t *m)
{
    if (m && m->population)
        m = m->population;
    return m && m->status == 0 ? m->cohort.n_subtypes : 0;
}

const char *metasim_model_subtype_name(const metasim_model_t *m, size_t k)
{
    if (m && m->population)
        m = m->population;
    return k < metasim_model_subtype_count(m) ? m->cohort.subtypes[k].name : NULL;
}

const char *metasim_model_patient_subtype(const metasim_model_t *m)
{
    return m && m->population && m->subtype != SIZE_MAX
               ? m->population->cohort.subtypes[m->subtype].name
               : NULL;
}

size_t metasim_model_covariate_count(const metasim_model_t *m)
{
    return m ? m->n_covariates : 0;
}

int metasim_model_covariate(const metasim_model_t *m, size_t k, metasim_covariate_t *out)
{
    if (!m || !out || k >= m->n_covariates)
        return METASIM_E_ARG;
    *out = (metasim_covariate_t){m->covariates[k].path, m->covariates[k].value,
                                 ms_units_canonical(m->covariates[k].dim)};
    return 0;
}

void ms_model_retain(metasim_model_t *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
}

void ms_model_release(metasim_model_t *m)
{
    if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
        metasim_model_destroy(m);
}
