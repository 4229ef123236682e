/* Construction and lookup for the position-carrying scenario tree. */
#include "model/tree_internal.h"

#include <stdlib.h>
#include <string.h>

ms_node *ms_node_new(ms_node_kind kind, int line, int col)
{
    ms_node *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->line = line;
        n->col = col;
    }
    return n;
}

bool ms_node_add(ms_node *parent, ms_node *child)
{
    if ((parent->count & (parent->count - 1)) == 0) { /* grow at powers of two */
        size_t cap = parent->count ? parent->count * 2 : 4;
        ms_node **items = realloc(parent->items, cap * sizeof *items);
        if (!items) {
            ms_node_free(child);
            return false;
        }
        parent->items = items;
    }
    child->parent = parent;
    parent->items[parent->count++] = child;
    return true;
}

/* Iterative, so a hostile deeply nested file cannot overflow the stack here. Children are
 * popped from their parent's array as they are freed, so every node is visited once. */
void ms_node_free(ms_node *node)
{
    ms_node *stop = node ? node->parent : NULL;
    while (node && node != stop) {
        if (node->count > 0) {
            node = node->items[--node->count];
            continue;
        }
        ms_node *parent = node->parent;
        free(node->items);
        free(node->key);
        free(node->text);
        free(node);
        node = parent;
    }
}

const ms_node *ms_node_get(const ms_node *map, const char *key)
{
    if (!map || map->kind != MS_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->items[i]->key, key) == 0)
            return map->items[i];
    return NULL;
}

/* Recursive: a validated tree is at most 64 levels deep (the loader's limit). */
ms_node *ms_node_clone(const ms_node *node)
{
    ms_node *c = ms_node_new(node->kind, node->line, node->col);
    if (!c)
        return NULL;
    c->key_line = node->key_line;
    c->key_col = node->key_col;
    c->len = node->len;
    c->plain = node->plain;
    c->field = node->field;
    c->number = node->number;
    c->valid = node->valid;
    c->defaulted = node->defaulted;
    if ((node->key && !(c->key = strdup(node->key))) ||
        (node->text && !(c->text = malloc(node->len + 1)))) {
        ms_node_free(c);
        return NULL;
    }
    if (node->text)
        memcpy(c->text, node->text, node->len + 1);
    for (size_t i = 0; i < node->count; i++) {
        ms_node *child = ms_node_clone(node->items[i]);
        if (!child || !ms_node_add(c, child)) {
            ms_node_free(c);
            return NULL;
        }
    }
    return c;
}
