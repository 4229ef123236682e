/* Checks a scenario tree against the scenario format (src/model/schema.c): shapes, types,
 * units, ranges, names and references. Fills each node's `field`, `number` and `valid`, and
 * adds the defaults of absent optional fields as nodes of their own, so that the model is
 * read from one complete tree. Rules that span several fields live in model.c. */
#ifndef METASIM_VALIDATE_INTERNAL_H
#define METASIM_VALIDATE_INTERNAL_H

#include <stddef.h>

#include "core/diag_internal.h"
#include "model/tree_internal.h"

/* Returns the number of mistakes found (also recorded in `diag`); -1 when out of memory. */
long ms_validate(ms_node *root, ms_diag *diag);

/* Edit distance (Damerau-Levenshtein, adjacent swaps count 1) between two short words; words
 * longer than 63 bytes compare as far apart. */
size_t ms_edit_distance(const char *a, size_t alen, const char *b, size_t blen);

/* The key of `map` nearest to a misspelt word (by the rule of the "did you mean" suggestions:
 * within a third of its length, 1 to 3 edits), or NULL. */
const char *ms_nearest_key(const ms_node *map, const char *word, size_t len);

/* 1 when `text` is a valid name: a letter, then letters, digits or underscores, at most 64. */
int ms_is_name(const char *text, size_t len);

/* The nodes of the names `ref` declares ("states", "sites", "drugs"): map keys or list items. */
int ms_ref_contains(const ms_node *root, const char *ref, const char *name);

#endif
