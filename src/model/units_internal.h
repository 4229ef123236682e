/* Numbers with units as written in scenarios ("36 h", "0.1 /d", "2 /w", "60 mg", "25 %"),
 * converted to metasim's canonical units: days, per day, mg, L, L/d, mg/L, cells, fractions. */
#ifndef METASIM_UNITS_INTERNAL_H
#define METASIM_UNITS_INTERNAL_H

#include <stddef.h>

#include "core/strbuf_internal.h"

typedef enum ms_dim {
    MS_DIM_NONE,     /* a pure number, no unit allowed */
    MS_DIM_FRACTION, /* a pure number, or a percentage "25 %" */
    MS_DIM_CELLS,    /* a count of cells, "1e9" or "1e9 cells" */
    MS_DIM_TIME,     /* canonical: d */
    MS_DIM_RATE,     /* canonical: /d */
    MS_DIM_MASS,     /* canonical: mg */
    MS_DIM_VOLUME,   /* canonical: L */
    MS_DIM_FLOW,     /* canonical: L/d (clearance) */
    MS_DIM_CONC,     /* canonical: mg/L */
    MS_DIM_LENGTH,   /* canonical: cm */
    MS_DIM_PER_KG,   /* a dose per body weight, canonical: mg/kg */
    MS_DIM_PER_M2,   /* a dose per body surface area, canonical: mg/m2 */
} ms_dim;

/* Parses `text` as a finite number followed by an optional unit of dimension `dim` and stores
 * the value in canonical units. A bare number is taken in canonical units. Returns 0, or -1
 * with the reason appended to `why` (e.g. "unit 'kg' is not a time unit (use s, min, ...)"). */
int ms_units_parse(const char *text, size_t len, ms_dim dim, double *value, ms_strbuf *why);

/* The canonical unit of a dimension as shown in docs ("d", "/d", "mg", ...; "" for none). */
const char *ms_units_canonical(ms_dim dim);

/* The units accepted for a dimension, for docs and messages ("s, min, h, d, w, mo, y"). */
const char *ms_units_accepted(ms_dim dim);

#endif
