/*
 * metasim: a stochastic simulator of metastatic cancer under therapy.
 *
 * This header is the whole public API and its specification. Conventions:
 *
 * - Functions that can fail return int: 0 (METASIM_OK) on success or a negative METASIM_E_*
 *   code from the table below; metasim_strerror() describes a code in words.
 * - Objects are opaque handles made by a create/load function and released by the matching
 *   destroy function; destroy(NULL) does nothing.
 * - A handle whose creation failed may still be returned so that it can carry the message
 *   (metasim_model_errmsg()); destroy it like any other.
 * - Strings returned as `const char *` belong to the handle (or are static) and live as long
 *   as it does. Strings returned as `char *` belong to the caller, who frees them with
 *   metasim_free().
 * - The library holds no global mutable state, never prints and never exits. A loaded model is
 *   immutable: any number of threads may read one model at the same time.
 */
#ifndef METASIM_METASIM_H
#define METASIM_METASIM_H

#include <stddef.h>

#include "metasim/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(METASIM_BUILDING_LIBRARY) && defined(__GNUC__)
#define METASIM_API __attribute__((visibility("default")))
#else
#define METASIM_API
#endif

/* ---------------------------------------------------------------- version */

/* The library's version as "MAJOR.MINOR.PATCH"; compare with METASIM_VERSION_STRING to detect
 * a header/library mismatch. */
METASIM_API const char *metasim_version(void);

/* The library's METASIM_VERSION_NUMBER. */
METASIM_API int metasim_version_number(void);

/* ---------------------------------------------------------------- errors */

/* Every error code, once: X(NAME, value, description). */
#define METASIM_ERROR_MAP(X)                                                        \
    X(NOMEM, -1, "out of memory")                                                  \
    X(IO, -2, "cannot read the file")                                              \
    X(SYNTAX, -3, "the scenario is not well-formed YAML")                          \
    X(INVALID, -4, "the scenario breaks a rule of the scenario format")            \
    X(ARG, -5, "invalid argument")                                                 \
    X(NOTFOUND, -6, "no such built-in scenario")                                   \
    X(LIMIT, -7, "the input exceeds a size limit")

enum {
    METASIM_OK = 0,
#define METASIM_ERROR_ENUM(name, value, text) METASIM_E_##name = (value),
    METASIM_ERROR_MAP(METASIM_ERROR_ENUM)
#undef METASIM_ERROR_ENUM
};

/* A static description of `code` ("unknown error" for codes not in the table). */
METASIM_API const char *metasim_strerror(int code);

/* Releases memory the library handed to the caller as `char *`. NULL is allowed. */
METASIM_API void metasim_free(void *ptr);

/* ---------------------------------------------------------------- model */

/*
 * A model is a scenario file read, validated against the scenario format (see
 * metasim_schema_reference() and docs/scenario.md), converted to canonical units (days, cells,
 * milligrams, litres) and frozen. Every mistake found is reported, not only the first, each as
 * one line of the form
 *
 *     FILE:LINE:COLUMN: FIELD.PATH: RULE (got VALUE)
 *
 * for example `breast.yaml:14:9: drugs.doxorubicin.pk.half_life: must be > 0 (got -1)`.
 */
typedef struct metasim_model metasim_model_t;

/* Loads the scenario in the file at `path`. On success returns 0 and sets *model. On failure
 * returns a negative code and sets *model to a handle carrying the messages (or to NULL when
 * even that could not be allocated): METASIM_E_IO when the file cannot be read (missing,
 * directory, unreadable), METASIM_E_SYNTAX for malformed YAML, METASIM_E_INVALID for a
 * well-formed file that breaks the format's rules, METASIM_E_LIMIT when the file is larger
 * than METASIM_MAX_SCENARIO_BYTES or nested deeper than METASIM_MAX_SCENARIO_DEPTH. */
METASIM_API int metasim_model_load_file(const char *path, metasim_model_t **model);

/* As metasim_model_load_file(), from `length` bytes at `text` (which need not end in NUL).
 * `name` is the file name used in messages (for example "breast.yaml"). */
METASIM_API int metasim_model_load_string(const char *name, const char *text, size_t length,
                                          metasim_model_t **model);

/* As metasim_model_load_file(), for a scenario that ships inside the library (see
 * metasim_builtin_name()). Returns METASIM_E_NOTFOUND for an unknown name. */
METASIM_API int metasim_model_load_builtin(const char *name, metasim_model_t **model);

/* Releases a model. NULL is allowed. */
METASIM_API void metasim_model_destroy(metasim_model_t *model);

/* The load's messages, one per line, in file order; "" for a model that loaded cleanly. */
METASIM_API const char *metasim_model_errmsg(const metasim_model_t *model);

/* How many mistakes the load found (0 for a valid model). */
METASIM_API size_t metasim_model_error_count(const metasim_model_t *model);

/* A short human-readable description of a valid model (name, sites, drugs, arms, horizon),
 * several lines ending in a newline; "" for a model that failed to load. */
METASIM_API const char *metasim_model_summary(const metasim_model_t *model);

/* The scenario's `scenario.name`; "" for a model that failed to load. */
METASIM_API const char *metasim_model_name(const metasim_model_t *model);

/* The scenario text exactly as read, for provenance; NULL if it could not be read. */
METASIM_API const char *metasim_model_source(const metasim_model_t *model);

/* Size limits of a scenario file. */
#define METASIM_MAX_SCENARIO_BYTES (16 * 1024 * 1024)
#define METASIM_MAX_SCENARIO_DEPTH 64

/* ---------------------------------------------------------------- built-in scenarios */

/* The name of the i-th built-in scenario (0-based, in alphabetical order), or NULL when `i` is
 * past the end. */
METASIM_API const char *metasim_builtin_name(size_t i);

/* The YAML text of a built-in scenario and its length, or NULL for an unknown name. The text is
 * static and NUL-terminated. */
METASIM_API const char *metasim_builtin_text(const char *name, size_t *length);

/* ---------------------------------------------------------------- scenario format */

/* The reference of the scenario format as Markdown: every field with its type, unit, allowed
 * range, default and meaning, plus the rules for units and names. docs/scenario.md is this text.
 * Returns a string the caller frees with metasim_free(), or NULL when out of memory. */
METASIM_API char *metasim_schema_reference(void);

#ifdef __cplusplus
}
#endif

#endif
