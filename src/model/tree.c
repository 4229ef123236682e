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
