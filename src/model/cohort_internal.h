/*
 * Between-patient variation (the scenario's `cohort` section, docs/trials.md "Cohorts"):
 * categorical subtypes with their own values, and parameters drawn per patient from fixed,
 * normal, lognormal or uniform distributions with optional truncation.
 *
 * A patient's model is the population's scenario tree, copied, with the drawn numbers written
 * into it, then read by the same code that reads every scenario (model.c). So any number a
 * scenario holds can vary, and every rule that spans several fields is checked again for the
 * patient's own values.
 */
#ifndef METASIM_COHORT_INTERNAL_H
#define METASIM_COHORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag_internal.h"
#include "model/schema_internal.h"
#include "model/tree_internal.h"

typedef enum ms_distribution {
    MS_DIST_FIXED,
    MS_DIST_NORMAL,
    MS_DIST_LOGNORMAL,
    MS_DIST_UNIFORM,
} ms_distribution;

/* One varying parameter, checked against the field it names. */
typedef struct ms_cohort_param {
    const char *path;     /* as written in the scenario */
    const ms_node *where; /* the item of the `parameters` list, for messages */
    size_t *route;        /* child indices from the tree's root to the value's node */
    size_t depth;
    const ms_field *field; /* the field at `path` */
    ms_distribution distribution;
    bool has_value;      /* `value` written; otherwise the typical value is the tree's */
    double value;        /* canonical units */
    double cv;           /* 0 when not given */
    double sd;           /* canonical units; 0 when not given */
    double lower, upper; /* canonical units; -inf and inf when not given */
} ms_cohort_param;

typedef struct ms_subtype {
    const char *name;
    double share;
    ms_cohort_param *params;
    size_t n_params;
} ms_subtype;

typedef struct ms_cohort {
    ms_subtype *subtypes; /* in file order */
    size_t n_subtypes;
    ms_cohort_param *params;
    size_t n_params;
} ms_cohort;

/* One value a patient was given (subtype or drawn), for its record. */
typedef struct ms_covariate {
    const char *path; /* points into the population's tree */
    double value;     /* canonical units */
    ms_dim dim;
} ms_covariate;

/* Reads and checks the `cohort` section of a validated tree (`cohort` may be NULL). Mistakes go
 * to `diag`. Returns 0, or METASIM_E_NOMEM. An empty cohort has no subtypes and no parameters. */
int ms_cohort_read(ms_cohort *c, const ms_node *root, const ms_node *cohort, ms_diag *diag);

void ms_cohort_free(ms_cohort *c);

/* True when patients differ. */
bool ms_cohort_varies(const ms_cohort *c);

/* Draws patient `patient`'s subtype and values from its own stream (seed, patient, 0,
 * MS_PURPOSE_COHORT) and writes them into `tree`, a copy of the population's tree. Sets
 * *subtype (SIZE_MAX without subtypes) and the covariates (*out, *n_out; the caller frees
 * *out), one per distinct path in the order first drawn, holding the final value. Returns 0,
 * METASIM_E_NOMEM, or METASIM_E_INVALID with the reason in `why` (a typical value that a
 * lognormal cannot have, a truncation interval with no probability). */
int ms_cohort_draw(const ms_cohort *c, ms_node *tree, uint64_t seed, uint32_t patient,
                   size_t *subtype, ms_covariate **out, size_t *n_out, ms_strbuf *why);

#endif
