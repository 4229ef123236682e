/*
 * The `cohort` section: reading and checking it against the fields it names, and drawing one
 * patient's subtype and values (cohort_internal.h).
 *
 * Truncated normal and lognormal draws use the inverse CDF on the truncated interval, so they
 * are exact and take one uniform whatever the truncation (no rejection loop); the tail with
 * more precision is used (upper-tail probabilities when the interval lies above the mean).
 */
#include "model/cohort_internal.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "model/validate_internal.h"
#include "rng/stream_internal.h"

/* ------------------------------------------------------------ reading */

typedef struct reader {
    const ms_node *root;
    ms_diag *diag;
    const char *prefix; /* "cohort.parameters" or "cohort.subtypes.NAME.parameters" */
    int nomem;
} reader;

static void param_error(reader *r, const ms_node *at, size_t item, const char *key, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));

/* A mistake at `at`, named by the item's path ("cohort.parameters[2].lower: ..."). */
static void param_error(reader *r, const ms_node *at, size_t item, const char *key, const char *fmt,
                        ...)
{
    ms_strbuf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    ms_strbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    int line = at->key_line ? at->key_line : at->line;
    int col = at->key_line ? at->key_col : at->col;
    ms_diag_add(r->diag, line, col, NULL, "%s[%zu]%s%s: %s", r->prefix, item, key ? "." : "",
                key ? key : "", ms_strbuf_str(&msg));
    ms_strbuf_free(&msg);
}

/* Top-level sections whose numbers must be the same for every patient: they set the run itself
 * (time frame, engine, trial) or are the cohort. */
static bool fixed_section(const char *name, size_t len)
{
    static const char *const fixed[] = {"scenario", "time", "engine", "trial", "cohort"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strlen(fixed[i]) == len && memcmp(fixed[i], name, len) == 0)
            return true;
    return false;
}

/* Follows `path` ("sites.breast.division.cycling", "drugs.x.effects[0].ec50") from the root,
 * recording the child index taken at each level. Returns the node, or NULL after reporting. */
static const ms_node *resolve(reader *r, ms_cohort_param *p, size_t item, const ms_node *at)
{
    const char *s = p->path;
    const ms_node *node = r->root;
    size_t cap = 8;
    p->route = malloc(cap * sizeof *p->route);
    if (!p->route) {
        r->nomem = 1;
        return NULL;
    }
    for (size_t i = 0;;) {
        size_t len = strcspn(s + i, ".[");
        size_t index = 0;
        bool is_index = false;
        if (len == 0 && s[i] == '[') {
            char *end = NULL;
            unsigned long long k = strtoull(s + i + 1, &end, 10);
            if (end == s + i + 1 || *end != ']') {
                param_error(r, at, item, "path",
                            "'%s': expected an index in brackets, as in "
                            "`effects[0]`",
                            p->path);
                return NULL;
            }
            is_index = true;
            index = (size_t)k;
            len = (size_t)(end - (s + i)) + 1;
        } else if (len == 0) {
            param_error(r, at, item, "path", "'%s': empty name in the path", p->path);
            return NULL;
        }
        if (node == r->root && fixed_section(s + i, len)) {
            param_error(r, at, item, "path",
                        "'%s': values under `%.*s` are the same for every patient and cannot "
                        "vary",
                        p->path, (int)len, s + i);
            return NULL;
        }
        const ms_node *next = NULL;
        size_t child = 0;
        if (is_index) {
            if (node->kind != MS_NODE_LIST) {
                param_error(r, at, item, "path", "'%s': `%.*s` is not a list", p->path, (int)i, s);
                return NULL;
            }
            if (index >= node->count) {
                param_error(r, at, item, "path", "'%s': `%.*s` has %zu item%s", p->path, (int)i, s,
                            node->count, node->count == 1 ? "" : "s");
                return NULL;
            }
            next = node->items[index];
            child = index;
        } else {
            if (node->kind != MS_NODE_MAP) {
                param_error(r, at, item, "path", "'%s': `%.*s` has no named entries", p->path,
                            (int)(i ? i - 1 : 0), s);
                return NULL;
            }
            for (child = 0; child < node->count; child++)
                if (strlen(node->items[child]->key) == len &&
                    memcmp(node->items[child]->key, s + i, len) == 0)
                    break;
            if (child == node->count) {
                const char *near = ms_nearest_key(node, s + i, len);
                ms_strbuf where = {0};
                if (node == r->root)
                    ms_strbuf_puts(&where, "the scenario");
                else
                    ms_strbuf_printf(&where, "`%.*s`", (int)(i - 1), s);
                param_error(r, at, item, "path", "'%s': no `%.*s` in %s%s%s%s", p->path, (int)len,
                            s + i, ms_strbuf_str(&where), near ? "; did you mean '" : "",
                            near ? near : "", near ? "'?" : "");
                ms_strbuf_free(&where);
                return NULL;
            }
            next = node->items[child];
        }
        if (p->depth == cap) {
            size_t *grown = realloc(p->route, 2 * cap * sizeof *grown);
            if (!grown) {
                r->nomem = 1;
                return NULL;
            }
            p->route = grown;
            cap *= 2;
        }
        p->route[p->depth++] = child;
        node = next;
        i += len;
        if (s[i] == '\0')
            break;
        if (s[i] == '.')
            i++;
    }
    if (node->kind != MS_NODE_SCALAR) {
        param_error(r, at, item, "path", "'%s' is %s; name one number in it%s%s", p->path,
                    node->kind == MS_NODE_MAP ? "a map" : "a list",
                    node->kind == MS_NODE_MAP && node->count ? ", for example " : "",
                    node->kind == MS_NODE_MAP && node->count ? node->items[0]->key : "");
        return NULL;
    }
    if (!node->field || (node->field->type != MS_T_NUMBER && node->field->type != MS_T_INTEGER)) {
        param_error(r, at, item, "path", "'%s' is not a number; only numbers can vary", p->path);
        return NULL;
    }
    return node;
}

/* Reads a quantity written in the unit of the parameter's field. */
static bool quantity(reader *r, const ms_node *item_node, size_t item, const char *key,
                     const ms_cohort_param *p, double *out)
{
    const ms_field *f = p->field;
    const ms_node *n = ms_node_get(item_node, key);
    if (!n)
        return false;
    ms_strbuf why = {0};
    double x = 0;
    if (ms_units_parse(n->text, n->len, f->dim, &x, &why) != 0) {
        param_error(r, n, item, key, "%s (the unit of %s)", ms_strbuf_str(&why), p->path);
        ms_strbuf_free(&why);
        *out = NAN;
        return true;
    }
    ms_strbuf_free(&why);
    *out = x;
    return true;
}

/* The field's range rule as a phrase ("> 0", "in [0, 1]"). */
static void range_phrase(const ms_field *f, ms_strbuf *out)
{
    ms_strbuf rule = {0};
    ms_schema_range_rule(f, &rule);
    const char *s = ms_strbuf_str(&rule);
    ms_strbuf_printf(out, "%s%s", (*s == '[' || *s == '(') ? "in " : "", s);
    ms_strbuf_free(&rule);
}

/* A bound or value outside the field's own range. */
static void check_in_range(reader *r, const ms_node *item_node, size_t item, const char *key,
                           const ms_cohort_param *p, double x)
{
    const ms_field *f = p->field;
    if (isnan(x) || ms_schema_in_range(f, x))
        return;
    ms_strbuf rule = {0};
    range_phrase(f, &rule);
    param_error(r, ms_node_get(item_node, key), item, key, "must be %s, the rule of %s (got %g)",
                ms_strbuf_str(&rule), p->path, x);
    ms_strbuf_free(&rule);
}

static void read_param(reader *r, const ms_node *item_node, size_t item, ms_cohort_param *p)
{
    static const char *const names[] = {"fixed", "normal", "lognormal", "uniform"};
    p->where = item_node;
    p->path = ms_node_get(item_node, "path")->text;
    p->distribution = (ms_distribution)ms_node_get(item_node, "distribution")->number;
    p->lower = -INFINITY;
    p->upper = INFINITY;
    const ms_node *target = resolve(r, p, item, ms_node_get(item_node, "path"));
    if (!target)
        return;
    const ms_field *f = p->field = target->field;
    const char *dist = names[p->distribution];
    if (f->type == MS_T_INTEGER && p->distribution != MS_DIST_FIXED) {
        param_error(r, ms_node_get(item_node, "distribution"), item, "distribution",
                    "%s is a whole number; it can only be `fixed` (got %s)", p->path, dist);
        return;
    }
    p->has_value = quantity(r, item_node, item, "value", p, &p->value);
    const ms_node *cv = ms_node_get(item_node, "cv");
    if (cv && !cv->defaulted)
        p->cv = cv->number;
    bool has_sd = quantity(r, item_node, item, "sd", p, &p->sd);
    bool has_lower = quantity(r, item_node, item, "lower", p, &p->lower);
    bool has_upper = quantity(r, item_node, item, "upper", p, &p->upper);
    if (isnan(p->value) || isnan(p->sd) || isnan(p->lower) || isnan(p->upper))
        return; /* already reported */
    /* Which fields each distribution takes. */
    const struct {
        const char *key;
        bool given;
        bool allowed[4]; /* fixed, normal, lognormal, uniform */
    } keys[] = {
        {"value", p->has_value, {true, true, true, false}},
        {"cv", p->cv > 0, {false, true, true, false}},
        {"sd", has_sd, {false, true, false, false}},
        {"lower", has_lower, {false, true, true, true}},
        {"upper", has_upper, {false, true, true, true}},
    };
    bool ok = true;
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (keys[k].given && !keys[k].allowed[p->distribution]) {
            param_error(r, ms_node_get(item_node, keys[k].key), item, keys[k].key,
                        "not used by a %s distribution", dist);
            ok = false;
        }
    if (!ok)
        return;
    const ms_node *dn = ms_node_get(item_node, "distribution");
    switch (p->distribution) {
    case MS_DIST_FIXED:
        if (!p->has_value) {
            param_error(r, item_node, item, NULL, "a fixed parameter needs `value`");
            return;
        }
        if (f->type == MS_T_INTEGER && p->value != floor(p->value)) {
            param_error(r, ms_node_get(item_node, "value"), item, "value",
                        "must be a whole number, as %s is (got %g)", p->path, p->value);
            return;
        }
        break;
    case MS_DIST_NORMAL:
        if ((p->cv > 0) == has_sd) {
            param_error(r, dn, item, "distribution",
                        "a normal distribution needs exactly one of `cv` and `sd`");
            return;
        }
        if (has_sd && !(p->sd > 0)) {
            param_error(r, ms_node_get(item_node, "sd"), item, "sd", "must be > 0 (got %g)", p->sd);
            return;
        }
        break;
    case MS_DIST_LOGNORMAL:
        if (!(p->cv > 0)) {
            param_error(r, dn, item, "distribution", "a lognormal distribution needs `cv`");
            return;
        }
        if (p->has_value && !(p->value > 0)) {
            param_error(r, ms_node_get(item_node, "value"), item, "value",
                        "must be > 0: it is the median of a lognormal (got %g)", p->value);
            return;
        }
        break;
    case MS_DIST_UNIFORM:
        if (!has_lower || !has_upper) {
            param_error(r, dn, item, "distribution",
                        "a uniform distribution needs `lower` and `upper`");
            return;
        }
        break;
    }
    if (p->has_value)
        check_in_range(r, item_node, item, "value", p, p->value);
    if (has_lower)
        check_in_range(r, item_node, item, "lower", p, p->lower);
    if (has_upper)
        check_in_range(r, item_node, item, "upper", p, p->upper);
    if (has_lower && has_upper && !(p->lower < p->upper)) {
        param_error(r, ms_node_get(item_node, "upper"), item, "upper",
                    "must be above `lower` (%g, got %g)", p->lower, p->upper);
        return;
    }
    if (p->distribution == MS_DIST_LOGNORMAL && has_upper && !(p->upper > 0)) {
        param_error(r, ms_node_get(item_node, "upper"), item, "upper",
                    "must be > 0: a lognormal is positive (got %g)", p->upper);
        return;
    }
    /* Values must stay in the field's range: an unbounded side needs truncation. */
    ms_strbuf rule = {0};
    range_phrase(f, &rule);
    bool has_lo = f->flags & (MS_LO_CLOSED | MS_LO_OPEN);
    bool has_hi = f->flags & (MS_HI_CLOSED | MS_HI_OPEN);
    if (p->distribution == MS_DIST_NORMAL && has_lo && !has_lower)
        param_error(r, dn, item, "distribution",
                    "a normal distribution can give values outside %s's range (%s); give "
                    "`lower`, or use lognormal",
                    p->path, ms_strbuf_str(&rule));
    else if (p->distribution == MS_DIST_LOGNORMAL && has_lo && f->lo > 0 && !has_lower)
        param_error(r, dn, item, "distribution",
                    "a lognormal can give values outside %s's range (%s); give `lower`", p->path,
                    ms_strbuf_str(&rule));
    else if ((p->distribution == MS_DIST_NORMAL || p->distribution == MS_DIST_LOGNORMAL) &&
             has_hi && !has_upper)
        param_error(r, dn, item, "distribution",
                    "a %s distribution can give values outside %s's range (%s); give `upper`", dist,
                    p->path, ms_strbuf_str(&rule));
    ms_strbuf_free(&rule);
}

static bool same_route(const ms_cohort_param *a, const ms_cohort_param *b)
{
    return a->route && b->route && a->depth == b->depth &&
           memcmp(a->route, b->route, a->depth * sizeof *a->route) == 0;
}

static int read_list(reader *r, const ms_node *list, ms_cohort_param **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!list || list->count == 0)
        return 0;
    ms_cohort_param *ps = calloc(list->count, sizeof *ps);
    if (!ps)
        return METASIM_E_NOMEM;
    *out = ps;
    *n_out = list->count;
    for (size_t i = 0; i < list->count; i++) {
        read_param(r, list->items[i], i, &ps[i]);
        for (size_t j = 0; j < i; j++)
            if (same_route(&ps[i], &ps[j])) {
                param_error(r, ms_node_get(list->items[i], "path"), i, "path",
                            "'%s' already varies in %s[%zu]", ps[i].path, r->prefix, j);
                break;
            }
    }
    return r->nomem ? METASIM_E_NOMEM : 0;
}

/* The node a parameter names, in the population's tree or a copy of it. */
static ms_node *value_node(const ms_node *root, const ms_cohort_param *p)
{
    ms_node *n = root->items[p->route[0]]; /* a path has at least one step */
    for (size_t i = 1; i < p->depth; i++)
        n = n->items[p->route[i]];
    return n;
}

int ms_cohort_read(ms_cohort *c, const ms_node *root, const ms_node *cohort, ms_diag *diag)
{
    memset(c, 0, sizeof *c);
    if (!cohort)
        return 0;
    reader r = {.root = root, .diag = diag, .prefix = "cohort.parameters"};
    const ms_node *subtypes = ms_node_get(cohort, "subtypes");
    int rc;
    if (subtypes && subtypes->count > 0) {
        c->subtypes = calloc(subtypes->count, sizeof *c->subtypes);
        if (!c->subtypes)
            return METASIM_E_NOMEM;
        c->n_subtypes = subtypes->count;
        double total = 0;
        ms_strbuf prefix = {0};
        for (size_t i = 0; i < subtypes->count; i++) {
            const ms_node *s = subtypes->items[i];
            ms_subtype *st = &c->subtypes[i];
            st->name = s->key;
            st->share = ms_node_get(s, "share")->number;
            total += st->share;
            ms_strbuf_free(&prefix);
            ms_strbuf_printf(&prefix, "cohort.subtypes.%s.parameters", s->key);
            r.prefix = ms_strbuf_str(&prefix);
            if ((rc = read_list(&r, ms_node_get(s, "parameters"), &st->params, &st->n_params)) !=
                0) {
                ms_strbuf_free(&prefix);
                return rc;
            }
        }
        ms_strbuf_free(&prefix);
        /* Shares are written with a few digits; 1e-6 forgives rounding like 3 x 33.3333 %. */
        if (fabs(total - 1) > 1e-6)
            ms_diag_add(diag, subtypes->key_line, subtypes->key_col, NULL,
                        "cohort.subtypes: shares must add up to 1 (100 %%), got %.9g", total);
    }
    r.prefix = "cohort.parameters";
    if ((rc = read_list(&r, ms_node_get(cohort, "parameters"), &c->params, &c->n_params)) != 0)
        return rc;
    /* A lognormal without its own `value` takes the scenario's (or the subtype's), which must
     * be positive. */
    for (size_t i = 0; i < c->n_params; i++) {
        const ms_cohort_param *p = &c->params[i];
        if (!p->field || p->distribution != MS_DIST_LOGNORMAL || p->has_value)
            continue;
        double typical = value_node(root, p)->number;
        bool all_set = c->n_subtypes > 0;
        for (size_t s = 0; s < c->n_subtypes; s++) {
            bool set = false;
            for (size_t k = 0; k < c->subtypes[s].n_params; k++)
                if (same_route(&c->subtypes[s].params[k], p))
                    set = true;
            all_set = all_set && set;
        }
        if (!all_set && !(typical > 0)) {
            r.prefix = "cohort.parameters";
            param_error(&r, ms_node_get(p->where, "path"), i, "path",
                        "the scenario's %s is %g, and a lognormal needs a positive median; "
                        "give `value`",
                        p->path, typical);
        }
    }
    return 0;
}

static void free_params(ms_cohort_param *ps, size_t n)
{
    for (size_t i = 0; ps && i < n; i++)
        free(ps[i].route);
    free(ps);
}

void ms_cohort_free(ms_cohort *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->subtypes && i < c->n_subtypes; i++)
        free_params(c->subtypes[i].params, c->subtypes[i].n_params);
    free(c->subtypes);
    free_params(c->params, c->n_params);
    memset(c, 0, sizeof *c);
}

bool ms_cohort_varies(const ms_cohort *c)
{
    return c && (c->n_subtypes > 0 || c->n_params > 0);
}

/* ------------------------------------------------------------ drawing */

/* A standard normal truncated to [a, b] (either may be infinite) from one uniform u. Returns
 * NAN when the interval has no probability in double precision. */
static double truncated_normal(double a, double b, double u)
{
    if (a > 0) { /* above the mean: upper-tail probabilities keep their precision */
        double qa = gsl_cdf_ugaussian_Q(a), qb = gsl_cdf_ugaussian_Q(b);
        if (!(qa > qb))
            return NAN;
        return gsl_cdf_ugaussian_Qinv(qa - u * (qa - qb));
    }
    double pa = gsl_cdf_ugaussian_P(a), pb = gsl_cdf_ugaussian_P(b);
    if (!(pb > pa))
        return NAN;
    return gsl_cdf_ugaussian_Pinv(pa + u * (pb - pa));
}

static int draw_one(const ms_cohort_param *p, ms_node *n, ms_stream *st, ms_strbuf *why)
{
    double typical = p->has_value ? p->value : n->number;
    double x = typical;
    switch (p->distribution) {
    case MS_DIST_FIXED: break;
    case MS_DIST_NORMAL: {
        double sd = p->sd > 0 ? p->sd : p->cv * fabs(typical);
        double u = ms_stream_uniform(st);
        if (sd > 0) {
            double z = truncated_normal((p->lower - typical) / sd, (p->upper - typical) / sd, u);
            if (isnan(z)) {
                ms_strbuf_printf(why,
                                 "%s: a normal of mean %g and sd %g has no probability in "
                                 "[%g, %g]",
                                 p->path, typical, sd, p->lower, p->upper);
                return METASIM_E_INVALID;
            }
            x = typical + sd * z;
        }
        break;
    }
    case MS_DIST_LOGNORMAL: {
        if (!(typical > 0)) {
            ms_strbuf_printf(why, "%s: a lognormal needs a positive median (got %g)", p->path,
                             typical);
            return METASIM_E_INVALID;
        }
        /* CV of a lognormal: sqrt(exp(omega^2) - 1), so omega^2 = ln(1 + cv^2). */
        double mu = log(typical), omega = sqrt(log1p(p->cv * p->cv));
        double a = p->lower > 0 ? (log(p->lower) - mu) / omega : -INFINITY;
        double b = isfinite(p->upper) ? (log(p->upper) - mu) / omega : INFINITY;
        double z = truncated_normal(a, b, ms_stream_uniform(st));
        if (isnan(z)) {
            ms_strbuf_printf(why,
                             "%s: a lognormal of median %g and cv %g has no probability in "
                             "[%g, %g]",
                             p->path, typical, p->cv, p->lower, p->upper);
            return METASIM_E_INVALID;
        }
        x = exp(mu + omega * z);
        break;
    }
    case MS_DIST_UNIFORM: x = p->lower + ms_stream_uniform(st) * (p->upper - p->lower); break;
    }
    /* Rounding in the inverse CDF must not step outside the truncation. */
    if (x < p->lower)
        x = p->lower;
    if (x > p->upper)
        x = p->upper;
    n->number = x;
    return 0;
}

/* Keeps one covariate per value: a path drawn again (subtype, then cohort) takes the new value. */
static void record(ms_covariate *cov, size_t *n, const ms_node **nodes, const ms_cohort_param *p,
                   const ms_node *node)
{
    for (size_t i = 0; i < *n; i++)
        if (nodes[i] == node) {
            cov[i].value = node->number;
            return;
        }
    nodes[*n] = node;
    cov[(*n)++] = (ms_covariate){p->path, node->number, p->field->dim};
}

int ms_cohort_draw(const ms_cohort *c, ms_node *tree, uint64_t seed, uint32_t patient,
                   size_t *subtype, ms_covariate **out, size_t *n_out, ms_strbuf *why)
{
    *subtype = SIZE_MAX;
    *out = NULL;
    *n_out = 0;
    ms_stream st;
    ms_stream_init(&st, seed, patient, 0, MS_PURPOSE_COHORT);
    const ms_subtype *s = NULL;
    if (c->n_subtypes > 0) {
        double u = ms_stream_uniform(&st), cum = 0;
        size_t k = 0;
        for (; k + 1 < c->n_subtypes; k++) {
            cum += c->subtypes[k].share;
            if (u < cum)
                break;
        }
        *subtype = k;
        s = &c->subtypes[k];
    }
    size_t total = c->n_params + (s ? s->n_params : 0);
    if (total == 0)
        return 0;
    ms_covariate *cov = malloc(total * sizeof *cov);
    const ms_node **nodes = malloc(total * sizeof *nodes);
    if (!cov || !nodes) {
        free(cov);
        free(nodes);
        return METASIM_E_NOMEM;
    }
    size_t n = 0;
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const ms_cohort_param *ps = pass == 0 ? (s ? s->params : NULL) : c->params;
        size_t count = pass == 0 ? (s ? s->n_params : 0) : c->n_params;
        for (size_t i = 0; i < count && rc == 0; i++) {
            ms_node *node = value_node(tree, &ps[i]);
            if ((rc = draw_one(&ps[i], node, &st, why)) == 0)
                record(cov, &n, nodes, &ps[i], node);
        }
    }
    free(nodes);
    if (rc != 0) {
        free(cov);
        return rc;
    }
    *out = cov;
    *n_out = n;
    return 0;
}
