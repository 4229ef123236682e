/*
 * Structural validation of a scenario against the field table. One recursive walk follows
 * the table's generic paths (`sites.*.capacity`) alongside the file's concrete ones
 * (`sites.bone.capacity`), so every message names the exact place the user wrote.
 * Recursion depth is bounded by the reader's nesting limit.
 */
#include "model/validate_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/schema_internal.h"

/* What ms_is_name() accepts, in words. */
#define NAME_RULE "a name is a letter followed by up to 63 letters, digits and underscores"

/* States that every scenario has; `states` lists the others. */
static const char *const builtin_states[] = {"cycling", "dormant", NULL};

typedef struct vctx {
    ms_diag *diag;
    const ms_node *root;
    ms_strbuf gen;  /* generic path of the node being checked */
    ms_strbuf path; /* concrete path of the node being checked */
    long errors;
    int nomem;
} vctx;

static void error_at(vctx *c, const ms_node *n, int use_key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void error_at(vctx *c, const ms_node *n, int use_key, const char *fmt, ...)
{
    ms_strbuf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    ms_strbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    int line = use_key && n->key_line ? n->key_line : n->line;
    int col = use_key && n->key_line ? n->key_col : n->col;
    ms_diag_add(c->diag, line, col, ms_strbuf_str(&c->path), "%s", ms_strbuf_str(&msg));
    if (ms_strbuf_failed(&msg))
        c->nomem = 1;
    ms_strbuf_free(&msg);
    c->errors++;
}

/* ------------------------------------------------------------ names and suggestions */

size_t ms_edit_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    enum { MAXW = 64 };
    if (alen >= MAXW || blen >= MAXW)
        return MAXW;
    size_t d[MAXW][MAXW];
    for (size_t i = 0; i <= alen; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= blen; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= alen; i++) {
        for (size_t j = 1; j <= blen; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[alen][blen];
}

int ms_is_name(const char *text, size_t len)
{
    if (len == 0 || len > 64 || strlen(text) != len)
        return 0;
    if (!((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < len; i++) {
        char ch = text[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return 0;
    }
    return 1;
}

/* Tracks the closest candidate to a misspelt word. A suggestion is made only when the word
 * is within a third of its length (at least 1, at most 3 edits), so nonsense gets none. */
typedef struct nearest {
    const char *word;
    size_t len;
    const char *best;
    size_t best_len;
    size_t dist;
} nearest;

static void nearest_offer(nearest *n, const char *cand, size_t cand_len)
{
    size_t d = ms_edit_distance(n->word, n->len, cand, cand_len);
    size_t limit = n->len / 3 < 1 ? 1 : (n->len / 3 > 3 ? 3 : n->len / 3);
    if (d <= limit && d < n->dist) {
        n->best = cand;
        n->best_len = cand_len;
        n->dist = d;
    }
}

const char *ms_nearest_key(const ms_node *map, const char *word, size_t len)
{
    nearest nr = {word, len, NULL, 0, (size_t)-1};
    for (size_t i = 0; map && map->kind == MS_NODE_MAP && i < map->count; i++)
        nearest_offer(&nr, map->items[i]->key, strlen(map->items[i]->key));
    return nr.best;
}

static void suggest(ms_strbuf *out, const nearest *n)
{
    if (n->best)
        ms_strbuf_printf(out, "; did you mean '%.*s'?", (int)n->best_len, n->best);
}

/* Calls `visit` on every name declared by `ref`; stops early when it returns nonzero. */
static int ref_each(const ms_node *root, const char *ref,
                    int (*visit)(void *arg, const char *name, size_t len), void *arg)
{
    if (strcmp(ref, "states") == 0)
        for (const char *const *s = builtin_states; *s; s++)
            if (visit(arg, *s, strlen(*s)))
                return 1;
    const ms_node *decl = ms_node_get(root, ref);
    if (!decl)
        return 0;
    for (size_t i = 0; i < decl->count; i++) {
        const ms_node *item = decl->items[i];
        const char *name = decl->kind == MS_NODE_MAP ? item->key : item->text;
        if (name && visit(arg, name, strlen(name)))
            return 1;
    }
    return 0;
}

static int visit_equal(void *arg, const char *name, size_t len)
{
    const char *want = arg;
    return strlen(want) == len && memcmp(want, name, len) == 0;
}

static int visit_nearest(void *arg, const char *name, size_t len)
{
    nearest_offer(arg, name, len);
    return 0;
}

int ms_ref_contains(const ms_node *root, const char *ref, const char *name)
{
    return ref_each(root, ref, visit_equal, (void *)(uintptr_t)name);
}

/* What one item of a ref is called in messages: "site" for "sites", "locus" for "loci". */
static void ref_noun(ms_strbuf *out, const char *ref)
{
    if (strcmp(ref, "loci") == 0) {
        ms_strbuf_puts(out, "locus");
        return;
    }
    size_t n = strlen(ref);
    ms_strbuf_append(out, ref, n > 1 && ref[n - 1] == 's' ? n - 1 : n);
}

static void check_ref(vctx *c, const ms_node *n, const char *ref, const char *name, int use_key)
{
    if (ms_ref_contains(c->root, ref, name))
        return;
    ms_strbuf msg = {0};
    ms_strbuf_puts(&msg, "unknown ");
    ref_noun(&msg, ref);
    ms_strbuf_printf(&msg, " '%s'", name);
    nearest nr = {name, strlen(name), NULL, 0, (size_t)-1};
    ref_each(c->root, ref, visit_nearest, &nr);
    if (nr.best)
        suggest(&msg, &nr);
    else
        ms_strbuf_printf(&msg, " (declare it under '%s')", ref);
    error_at(c, n, use_key, "%s", ms_strbuf_str(&msg));
    ms_strbuf_free(&msg);
}

/* ------------------------------------------------------------ paths */

typedef struct mark {
    size_t gen, path;
} mark;

static mark push(vctx *c, const char *gen_part, const char *path_part, const char *sep)
{
    mark m = {c->gen.len, c->path.len};
    if (c->gen.len && sep[0])
        ms_strbuf_puts(&c->gen, sep);
    ms_strbuf_puts(&c->gen, gen_part);
    if (c->path.len && sep[0])
        ms_strbuf_puts(&c->path, sep);
    ms_strbuf_puts(&c->path, path_part);
    if (ms_strbuf_failed(&c->gen) || ms_strbuf_failed(&c->path))
        c->nomem = 1;
    return m;
}

static void pop(vctx *c, mark m)
{
    if (c->gen.data)
        c->gen.data[c->gen.len = m.gen] = '\0';
    if (c->path.data)
        c->path.data[c->path.len = m.path] = '\0';
}

/* ------------------------------------------------------------ values */

static const char *kind_word(const ms_node *n)
{
    switch (n->kind) {
    case MS_NODE_MAP: return "a map";
    case MS_NODE_LIST: return "a list";
    case MS_NODE_SCALAR: return "a single value";
    }
    return "";
}

static int is_null(const ms_node *n)
{
    return n->kind == MS_NODE_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
            strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0);
}

/* Appends the value as written, escaped and cut short, for "(got ...)". */
static void got(ms_strbuf *out, const ms_node *n)
{
    ms_strbuf_puts(out, " (got ");
    size_t before = out->len;
    ms_strbuf_quote(out, n->text, n->len, 40);
    /* drop the quotes that ms_strbuf_quote adds: the value reads better bare */
    if (!ms_strbuf_failed(out) && out->len >= before + 2) {
        memmove(out->data + before, out->data + before + 1, out->len - before - 2);
        out->len -= 2;
        out->data[out->len] = '\0';
    }
    ms_strbuf_puts(out, ")");
}

static void check_scalar(vctx *c, ms_node *n, const ms_field *f)
{
    ms_strbuf why = {0};
    switch (f->type) {
    case MS_T_NUMBER:
    case MS_T_INTEGER: {
        double x = 0;
        if (ms_units_parse(n->text, n->len, f->dim, &x, &why) != 0)
            break;
        if (f->type == MS_T_INTEGER && x != floor(x)) {
            ms_strbuf_puts(&why, "must be a whole number");
            break;
        }
        /* Above 2^53 a double no longer holds every integer, so the value read might not
         * be the one written. */
        if (f->type == MS_T_INTEGER && fabs(x) >= 9007199254740992.0) {
            ms_strbuf_puts(&why, "must be below 2^53 = 9007199254740992");
            break;
        }
        if (!ms_schema_in_range(f, x)) {
            ms_strbuf rule = {0};
            ms_schema_range_rule(f, &rule);
            const char *r = ms_strbuf_str(&rule);
            ms_strbuf_printf(&why, "must be %s%s", (*r == '[' || *r == '(') ? "in " : "", r);
            ms_strbuf_free(&rule);
            break;
        }
        n->number = x;
        n->valid = true;
        break;
    }
    case MS_T_STRING:
        if (strlen(n->text) != n->len)
            ms_strbuf_puts(&why, "text must not contain NUL bytes");
        else
            n->valid = true;
        break;
    case MS_T_NAME:
        if (!ms_is_name(n->text, n->len)) {
            ms_strbuf_puts(&why, NAME_RULE);
            break;
        }
        n->valid = true;
        if (f->ref)
            check_ref(c, n, f->ref, n->text, 0);
        break;
    case MS_T_ENUM: {
        nearest nr = {n->text, n->len, NULL, 0, (size_t)-1};
        size_t index = 0;
        for (const char *p = f->choices; *p; index++) {
            size_t wl = strcspn(p, "|");
            if (wl == n->len && memcmp(p, n->text, wl) == 0) {
                n->number = (double)index;
                n->valid = true;
                break;
            }
            nearest_offer(&nr, p, wl);
            p += wl + (p[wl] == '|');
        }
        if (!n->valid) {
            ms_strbuf_puts(&why, "must be one of ");
            for (const char *p = f->choices; *p; p++)
                ms_strbuf_puts(&why, *p == '|' ? ", " : (char[]){*p, 0});
            got(&why, n);
            suggest(&why, &nr);
            error_at(c, n, 0, "%s", ms_strbuf_str(&why));
            ms_strbuf_free(&why);
            return;
        }
        break;
    }
    case MS_T_BOOL:
        if (strcmp(n->text, "true") == 0 || strcmp(n->text, "false") == 0) {
            n->number = n->text[0] == 't';
            n->valid = true;
        } else {
            ms_strbuf_puts(&why, "must be true or false");
        }
        break;
    case MS_T_SECTION:
    case MS_T_MAP:
    case MS_T_LIST: break;
    }
    if (!n->valid) {
        got(&why, n);
        error_at(c, n, 0, "%s", ms_strbuf_str(&why));
    }
    ms_strbuf_free(&why);
}

static void check_node(vctx *c, ms_node *n, const ms_field *f);

/* 1 when some direct field of section `f` is required. */
static int has_required_field(const ms_field *f)
{
    size_t len = strlen(f->path);
    for (size_t i = 0; i < ms_schema_count; i++) {
        const ms_field *g = &ms_schema[i];
        if ((g->flags & MS_REQUIRED) && ms_schema_parent_len(g) == len &&
            strncmp(g->path, f->path, len) == 0)
            return 1;
    }
    return 0;
}

/* Adds absent optional fields' defaults and reports absent required fields. */
static void complete_section(vctx *c, ms_node *n)
{
    const char *gen = ms_strbuf_str(&c->gen);
    size_t glen = c->gen.len;
    for (size_t i = 0; i < ms_schema_count; i++) {
        const ms_field *f = &ms_schema[i];
        if (ms_schema_parent_len(f) != glen || strncmp(f->path, gen, glen) != 0 ||
            (glen && f->path[glen] != '.') || strcmp(f->path + glen, "[]") == 0)
            continue;
        const char *leaf = ms_schema_leaf(f);
        if (strcmp(leaf, "*") == 0 || ms_node_get(n, leaf))
            continue;
        if (f->flags & MS_REQUIRED) {
            const char *what = f->type == MS_T_SECTION ? "section"
                               : f->type == MS_T_MAP   ? "map"
                               : f->type == MS_T_LIST  ? "list"
                                                       : "field";
            error_at(c, n, 1, "missing required %s '%s'", what, leaf);
            continue;
        }
        if (f->type == MS_T_SECTION && !has_required_field(f)) {
            /* An absent optional section with no required field is filled in with its
             * defaults, so the model reads every setting from the tree. */
            ms_node *sec = ms_node_new(MS_NODE_MAP, n->key_line ? n->key_line : n->line,
                                       n->key_line ? n->key_col : n->col);
            if (sec) {
                sec->key = strdup(leaf);
                sec->defaulted = true;
            }
            if (!sec || !sec->key || !ms_node_add(n, sec)) {
                if (sec && !sec->key)
                    ms_node_free(sec);
                c->nomem = 1;
                return;
            }
            mark m = push(c, leaf, leaf, ".");
            check_node(c, sec, f);
            pop(c, m);
            continue;
        }
        if (!f->def)
            continue;
        ms_node *d = ms_node_new(MS_NODE_SCALAR, n->key_line ? n->key_line : n->line,
                                 n->key_line ? n->key_col : n->col);
        if (d) {
            d->key = strdup(leaf);
            d->text = strdup(f->def);
            d->len = strlen(f->def);
            d->plain = true;
            d->defaulted = true;
        }
        if (!d || !d->key || !d->text) {
            ms_node_free(d);
            c->nomem = 1;
            return;
        }
        if (!ms_node_add(n, d)) {
            c->nomem = 1;
            return;
        }
        mark m = push(c, leaf, leaf, ".");
        check_node(c, d, f);
        pop(c, m);
    }
}

static void check_section(vctx *c, ms_node *n)
{
    size_t original = n->count; /* complete_section appends defaults after these */
    for (size_t i = 0; i < original; i++) {
        ms_node *child = n->items[i];
        const ms_field *cf = NULL;
        if (ms_is_name(child->key, strlen(child->key))) {
            mark probe = push(c, child->key, "", ".");
            cf = ms_schema_find(ms_strbuf_str(&c->gen), c->gen.len);
            pop(c, probe);
        }
        if (!cf) {
            nearest nr = {child->key, strlen(child->key), NULL, 0, (size_t)-1};
            const char *gen = ms_strbuf_str(&c->gen);
            size_t glen = c->gen.len;
            for (size_t k = 0; k < ms_schema_count; k++) {
                const ms_field *f = &ms_schema[k];
                if (ms_schema_parent_len(f) == glen && strncmp(f->path, gen, glen) == 0 &&
                    (glen == 0 || f->path[glen] == '.'))
                    nearest_offer(&nr, ms_schema_leaf(f), strlen(ms_schema_leaf(f)));
            }
            ms_strbuf msg = {0};
            ms_strbuf_puts(&msg, "unknown field ");
            ms_strbuf_quote(&msg, child->key, strlen(child->key), 40);
            suggest(&msg, &nr);
            if (strcmp(child->key, "<<") == 0)
                ms_strbuf_puts(&msg, ": YAML merge keys are not supported; repeat the fields, or "
                                     "alias the whole section (key: *anchor)");
            else if (!nr.best)
                ms_strbuf_puts(&msg, " (see `metasim schema` for the fields allowed here)");
            mark m = push(c, "", "", "");
            error_at(c, child, 1, "%s", ms_strbuf_str(&msg));
            pop(c, m);
            ms_strbuf_free(&msg);
            continue;
        }
        mark m = push(c, child->key, child->key, ".");
        check_node(c, child, cf);
        pop(c, m);
    }
    complete_section(c, n);
}

static void check_node(vctx *c, ms_node *n, const ms_field *f)
{
    n->field = f;
    if (c->nomem)
        return;
    if (is_null(n) && f->type != MS_T_STRING) {
        error_at(c, n, 1, "no value given (write a value, or remove the key)");
        return;
    }
    switch (f->type) {
    case MS_T_SECTION:
        if (n->kind != MS_NODE_MAP) {
            error_at(c, n, 0, "expected a section of fields, got %s", kind_word(n));
            return;
        }
        check_section(c, n);
        n->valid = true;
        return;
    case MS_T_MAP: {
        if (n->kind != MS_NODE_MAP) {
            error_at(c, n, 0, "expected a map of named entries, got %s", kind_word(n));
            return;
        }
        mark gm = push(c, "*", "", ".");
        const ms_field *item = ms_schema_find(ms_strbuf_str(&c->gen), c->gen.len);
        pop(c, gm);
        for (size_t i = 0; i < n->count && item; i++) {
            ms_node *child = n->items[i];
            bool named = ms_is_name(child->key, strlen(child->key));
            /* An invalid key stays out of the path: it is quoted, escaped, in the message. */
            mark m = push(c, "*", named ? child->key : "", named ? "." : "");
            if (!named) {
                ms_strbuf msg = {0};
                ms_strbuf_puts(&msg, NAME_RULE " (got ");
                ms_strbuf_quote(&msg, child->key, strlen(child->key), 40);
                ms_strbuf_puts(&msg, ")");
                error_at(c, child, 1, "%s", ms_strbuf_str(&msg));
                ms_strbuf_free(&msg);
            } else {
                if (f->ref)
                    check_ref(c, child, f->ref, child->key, 1);
                check_node(c, child, item);
            }
            pop(c, m);
        }
        n->valid = true;
        return;
    }
    case MS_T_LIST: {
        if (n->kind != MS_NODE_LIST) {
            error_at(c, n, 0, "expected a list, got %s", kind_word(n));
            return;
        }
        mark gm = push(c, "[]", "", "");
        const ms_field *item = ms_schema_find(ms_strbuf_str(&c->gen), c->gen.len);
        pop(c, gm);
        for (size_t i = 0; i < n->count && item; i++) {
            char index[32];
            snprintf(index, sizeof index, "[%zu]", i);
            mark m = push(c, "[]", index, "");
            check_node(c, n->items[i], item);
            pop(c, m);
        }
        n->valid = true;
        return;
    }
    default:
        if (n->kind != MS_NODE_SCALAR) {
            error_at(c, n, 0, "expected a single value, got %s", kind_word(n));
            return;
        }
        check_scalar(c, n, f);
    }
}

long ms_validate(ms_node *root, ms_diag *diag)
{
    vctx c = {.diag = diag, .root = root};
    if (root->kind != MS_NODE_MAP) {
        ms_diag_add(diag, root->line, root->col, NULL,
                    "a scenario is a map of sections (scenario, time, sites, ...), got %s",
                    kind_word(root));
        return 1;
    }
    check_section(&c, root);
    root->valid = true;
    ms_strbuf_free(&c.gen);
    ms_strbuf_free(&c.path);
    return c.nomem ? -1 : c.errors;
}
