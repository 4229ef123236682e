/*
 * YAML to scenario tree, through libfyaml.
 *
 * libfyaml 0.7.12 (Debian 12) has no fy_node_get_start_mark, so positions come from tokens: a
 * scalar's own token, and for maps and lists the token of their first scalar (or of the key
 * that names them). Its diagnostics are collected, not printed, and turned into our messages.
 * Aliases are expanded into copies, within a node budget, so anchors can share parameter
 * blocks without letting an exponential file exhaust memory.
 */
#include "io/scenario_yaml_internal.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"

typedef struct reader {
    ms_diag *diag;
    size_t nodes;
    int status;
} reader;

static void token_position(struct fy_token *tok, int *line, int *col)
{
    const struct fy_mark *m = tok ? fy_token_start_mark(tok) : NULL;
    *line = m ? m->line + 1 : 0;
    *col = m ? m->column + 1 : 0;
}

static void fail(reader *r, int status)
{
    if (r->status == 0)
        r->status = status;
}

static char *copy_text(const char *text, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        if (len)
            memcpy(s, text, len);
        s[len] = '\0';
    }
    return s;
}

/* Position of a node: its scalar token, or the first position found inside it. */
static void node_position(struct fy_node *fyn, int *line, int *col)
{
    *line = *col = 0;
    for (int guard = 0; fyn && guard < METASIM_MAX_SCENARIO_DEPTH + 2; guard++) {
        if (fy_node_is_alias(fyn) || fy_node_get_type(fyn) == FYNT_SCALAR) {
            token_position(fy_node_get_scalar_token(fyn), line, col);
            return;
        }
        void *it = NULL;
        if (fy_node_get_type(fyn) == FYNT_MAPPING) {
            struct fy_node_pair *p = fy_node_mapping_iterate(fyn, &it);
            fyn = p ? fy_node_pair_key(p) : NULL;
        } else {
            fyn = fy_node_sequence_iterate(fyn, &it);
        }
    }
}

static ms_node *convert(reader *r, struct fy_node *fyn, int depth, int fallback_line,
                        int fallback_col);

static ms_node *convert_children(reader *r, struct fy_node *fyn, ms_node *out, int depth)
{
    void *it = NULL;
    if (out->kind == MS_NODE_LIST) {
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(fyn, &it)) != NULL) {
            ms_node *child = convert(r, item, depth + 1, out->line, out->col);
            if (!child || !ms_node_add(out, child)) {
                fail(r, METASIM_E_NOMEM);
                return out;
            }
            if (r->status)
                return out;
        }
        return out;
    }
    struct fy_node_pair *pair;
    while ((pair = fy_node_mapping_iterate(fyn, &it)) != NULL) {
        struct fy_node *key = fy_node_pair_key(pair);
        int kl = 0, kc = 0;
        node_position(key, &kl, &kc);
        if (!key || fy_node_is_alias(key) || fy_node_get_type(key) != FYNT_SCALAR) {
            ms_diag_add(r->diag, kl, kc, NULL, "keys must be plain names, not lists or maps");
            fail(r, METASIM_E_SYNTAX);
            return out;
        }
        size_t klen = 0;
        const char *ktext = fy_node_get_scalar(key, &klen);
        if (ktext && memchr(ktext, '\0', klen)) {
            /* Keys are names; a "\0" escape would silently cut one short. */
            ms_diag_add(r->diag, kl, kc, NULL, "a key must not contain a NUL byte");
            fail(r, METASIM_E_SYNTAX);
            return out;
        }
        ms_node *child = convert(r, fy_node_pair_value(pair), depth + 1, kl, kc);
        if (!child) {
            fail(r, METASIM_E_NOMEM);
            return out;
        }
        child->key = copy_text(ktext ? ktext : "", ktext ? klen : 0);
        child->key_line = kl;
        child->key_col = kc;
        if (!child->key || !ms_node_add(out, child)) {
            if (!child->key)
                ms_node_free(child);
            fail(r, METASIM_E_NOMEM);
            return out;
        }
        if (r->status)
            return out;
    }
    return out;
}

static ms_node *convert(reader *r, struct fy_node *fyn, int depth, int fallback_line,
                        int fallback_col)
{
    int line = 0, col = 0;
    node_position(fyn, &line, &col);
    if (line == 0) { /* empty map or list, or a null value: use the key's position */
        line = fallback_line;
        col = fallback_col;
    }
    if (++r->nodes > MS_YAML_MAX_NODES) {
        ms_diag_add(r->diag, line, col, NULL, "more than %d values (aliases expanded)",
                    MS_YAML_MAX_NODES);
        fail(r, METASIM_E_LIMIT);
        return ms_node_new(MS_NODE_SCALAR, line, col);
    }
    if (depth > METASIM_MAX_SCENARIO_DEPTH) {
        ms_diag_add(r->diag, line, col, NULL, "nested more than %d levels deep",
                    METASIM_MAX_SCENARIO_DEPTH);
        fail(r, METASIM_E_LIMIT);
        return ms_node_new(MS_NODE_SCALAR, line, col);
    }
    if (fyn && fy_node_is_alias(fyn)) {
        struct fy_node *target = fy_node_resolve_alias(fyn);
        if (!target) {
            ms_diag_add(r->diag, line, col, NULL, "alias names no anchor defined before it");
            fail(r, METASIM_E_SYNTAX);
            return ms_node_new(MS_NODE_SCALAR, line, col);
        }
        return convert(r, target, depth + 1, line, col);
    }
    if (fyn && fy_node_get_tag_token(fyn)) {
        ms_diag_add(r->diag, line, col, NULL, "YAML tags (!name) are not used in scenarios");
        fail(r, METASIM_E_SYNTAX);
        return ms_node_new(MS_NODE_SCALAR, line, col);
    }
    enum fy_node_type type = fyn ? fy_node_get_type(fyn) : FYNT_SCALAR;
    if (type == FYNT_MAPPING || type == FYNT_SEQUENCE) {
        ms_node *out = ms_node_new(type == FYNT_MAPPING ? MS_NODE_MAP : MS_NODE_LIST, line, col);
        return out ? convert_children(r, fyn, out, depth) : NULL;
    }
    ms_node *out = ms_node_new(MS_NODE_SCALAR, line, col);
    if (!out)
        return NULL;
    size_t len = 0;
    const char *text = fyn ? fy_node_get_scalar(fyn, &len) : NULL;
    out->text = copy_text(text ? text : "", text ? len : 0);
    out->len = text ? len : 0;
    out->plain = !fyn || fy_node_get_style(fyn) == FYNS_PLAIN;
    if (!out->text) {
        ms_node_free(out);
        return NULL;
    }
    return out;
}

/* Turns libfyaml's collected errors into our diagnostics. */
static void report_parse_errors(struct fy_diag *fd, ms_diag *diag)
{
    void *it = NULL;
    struct fy_diag_error *err;
    size_t n = 0;
    while ((err = fy_diag_errors_iterate(fd, &it)) != NULL) {
        if (err->type < FYET_ERROR)
            continue;
        /* Unlike token marks, collected errors carry 1-based lines and columns. */
        size_t tlen = 0;
        const char *tok = err->fyt ? fy_token_get_text(err->fyt, &tlen) : NULL;
        ms_strbuf near = {0};
        if (tok && tlen > 0) {
            /* Escaped and cut short: a token may span lines, and a message is one line. */
            ms_strbuf_puts(&near, " (at ");
            ms_strbuf_quote(&near, tok, tlen, 30);
            ms_strbuf_puts(&near, ")");
        }
        ms_diag_add(diag, err->line, err->column, NULL, "YAML syntax: %s%s",
                    err->msg ? err->msg : "malformed input", ms_strbuf_str(&near));
        ms_strbuf_free(&near);
        n++;
    }
    if (n == 0)
        ms_diag_add(diag, 0, 0, NULL, "YAML syntax: malformed input");
}

int ms_yaml_read(const char *text, size_t len, ms_diag *diag, ms_node **root)
{
    *root = NULL;
    reader r = {diag, 0, 0};
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = NULL;
    dcfg.colorize = false;
    struct fy_diag *fd = fy_diag_create(&dcfg);
    if (!fd)
        return METASIM_E_NOMEM;
    fy_diag_set_collect_errors(fd, true);

    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG |
                                        FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE,
                               .diag = fd};
    struct fy_parser *fyp = fy_parser_create(&cfg);
    struct fy_document *doc = NULL, *extra = NULL;
    if (!fyp) {
        fail(&r, METASIM_E_NOMEM);
        goto out;
    }
    if (fy_parser_set_string(fyp, len ? text : "", len) != 0) {
        fail(&r, METASIM_E_NOMEM);
        goto out;
    }
    doc = fy_parse_load_document(fyp);
    if (!doc || fy_diag_got_error(fd)) {
        if (!doc && !fy_diag_got_error(fd)) {
            ms_diag_add(diag, 0, 0, NULL, "the file is empty (no YAML document)");
        } else {
            report_parse_errors(fd, diag);
        }
        fail(&r, METASIM_E_SYNTAX);
        goto out;
    }
    extra = fy_parse_load_document(fyp);
    if (extra || fy_diag_got_error(fd)) {
        if (extra) {
            int line = 0, col = 0;
            node_position(fy_document_root(extra), &line, &col);
            ms_diag_add(diag, line, col, NULL,
                        "a second YAML document ('---'): a scenario is one document");
        } else {
            report_parse_errors(fd, diag);
        }
        fail(&r, METASIM_E_SYNTAX);
        goto out;
    }
    struct fy_node *top = fy_document_root(doc);
    if (!top) {
        ms_diag_add(diag, 0, 0, NULL, "the file is empty (no YAML document)");
        fail(&r, METASIM_E_SYNTAX);
        goto out;
    }
    *root = convert(&r, top, 0, 1, 1);
    if (!*root)
        fail(&r, METASIM_E_NOMEM);

out:
    if (r.status && *root) {
        ms_node_free(*root);
        *root = NULL;
    }
    if (extra)
        fy_parse_document_destroy(fyp, extra);
    if (doc)
        fy_parse_document_destroy(fyp, doc);
    fy_parser_destroy(fyp);
    fy_diag_destroy(fd);
    return r.status;
}
