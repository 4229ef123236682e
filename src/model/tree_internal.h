/* The scenario as a tree of maps, lists and scalars with source positions, independent of the
 * YAML library: src/io/ builds it, src/model/ validates it and reads the model from it. */
#ifndef METASIM_TREE_INTERNAL_H
#define METASIM_TREE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum ms_node_kind { MS_NODE_SCALAR, MS_NODE_MAP, MS_NODE_LIST } ms_node_kind;

struct ms_field;

typedef struct ms_node {
    ms_node_kind kind;
    int line, col;         /* 1-based position of the value */
    int key_line, key_col; /* position of the key naming this node in a map (0 otherwise) */
    char *key;             /* the key in the parent map, or NULL */
    char *text;            /* scalar text, NUL-terminated (may hold NUL bytes before len) */
    size_t len;
    bool plain;             /* an unquoted scalar: only plain scalars can be numbers */
    struct ms_node *parent; /* NULL for the root */
    struct ms_node **items; /* map entries (in file order) or list items */
    size_t count;
    /* Filled in by validation. */
    const struct ms_field *field; /* the schema field this node matched, or NULL */
    double number;                /* numbers in canonical units; integers; enum index; bool */
    bool valid;                   /* the value passed its field's rules */
    bool defaulted;               /* added by validation: the user did not write it */
} ms_node;

ms_node *ms_node_new(ms_node_kind kind, int line, int col);
/* Appends `child` to a map or list; returns false when out of memory (child is then freed). */
bool ms_node_add(ms_node *parent, ms_node *child);
void ms_node_free(ms_node *node);

/* A deep copy of `node` and everything under it, validation results included (its parent is
 * NULL); NULL when out of memory. */
ms_node *ms_node_clone(const ms_node *node);

/* The entry of `map` with key `key`, or NULL. */
const ms_node *ms_node_get(const ms_node *map, const char *key);

#endif
