/*
 * The scenario format, described once as a table of fields. Validation, error messages and
 * the reference (`metasim schema`, docs/scenario.md) are all driven by this table.
 *
 * A field's path names its place in the file: `sites.*.capacity` is the capacity of any site
 * (`*` stands for any name in a named map) and `arms.*.doses[].drug` the drug of any dosing
 * record (`[]` stands for any item of a list). A container (section, named map, list) has an
 * entry of its own, so the table shows the whole shape of a scenario.
 */
#ifndef METASIM_SCHEMA_INTERNAL_H
#define METASIM_SCHEMA_INTERNAL_H

#include <stddef.h>

#include "model/units_internal.h"

typedef enum ms_type {
    MS_T_SECTION, /* a map with fixed keys, each a field of its own */
    MS_T_MAP,     /* a named map: any identifier as key, every value shaped alike */
    MS_T_LIST,    /* a list, every item shaped alike */
    MS_T_NUMBER,  /* a real number, with a unit when the dimension has one */
    MS_T_INTEGER, /* a whole number (1e9 is allowed), up to 2^53 */
    MS_T_STRING,  /* free text */
    MS_T_NAME,    /* an identifier; with `ref`, the name of something declared elsewhere */
    MS_T_ENUM,    /* one word of `choices` */
    MS_T_BOOL,    /* true or false */
} ms_type;

enum {
    MS_REQUIRED = 1u << 0,
    MS_LO_CLOSED = 1u << 1, /* value >= lo */
    MS_LO_OPEN = 1u << 2,   /* value > lo */
    MS_HI_CLOSED = 1u << 3, /* value <= hi */
    MS_HI_OPEN = 1u << 4,   /* value < hi */
};

typedef struct ms_field {
    const char *path;
    ms_type type;
    ms_dim dim;
    unsigned flags;
    double lo, hi;
    const char *def;     /* the default, as it would be written in a scenario; NULL for none */
    const char *choices; /* ENUM: the words, separated by '|' */
    const char *ref;     /* NAME, or MAP keys: the top-level map or list whose names are valid */
    const char *doc;
} ms_field;

extern const ms_field ms_schema[];
extern const size_t ms_schema_count;

/* The field with exactly this generic path, or NULL. */
const ms_field *ms_schema_find(const char *path, size_t len);

/* Length of the generic path of the container holding `f` ("sites.*" for "sites.*.capacity",
 * "arms.*.doses" for "arms.*.doses[]"); 0 for top-level fields. */
size_t ms_schema_parent_len(const ms_field *f);

/* The field's last path component ("capacity"); "*" or "[]" for map and list members. */
const char *ms_schema_leaf(const ms_field *f);

/* Appends the rule a value breaks when out of range ("must be > 0", "must be in [0, 1]"). */
void ms_schema_range_rule(const ms_field *f, ms_strbuf *out);

/* 1 when `x` is inside the field's range. */
int ms_schema_in_range(const ms_field *f, double x);

#endif
