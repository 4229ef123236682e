/* Reads YAML text into the scenario tree (src/model/tree_internal.h). The only file that sees
 * libfyaml, so the rest of the library is independent of the YAML library. */
#ifndef METASIM_SCENARIO_YAML_INTERNAL_H
#define METASIM_SCENARIO_YAML_INTERNAL_H

#include <stddef.h>

#include "core/diag_internal.h"
#include "model/tree_internal.h"

/* Upper bound on nodes in one scenario, aliases expanded: stops "billion laughs" files. */
#define MS_YAML_MAX_NODES 200000

/* Parses one YAML document. Returns 0 and sets *root (caller frees with ms_node_free), or
 * METASIM_E_SYNTAX / METASIM_E_LIMIT / METASIM_E_NOMEM with the reasons recorded in `diag`. */
int ms_yaml_read(const char *text, size_t len, ms_diag *diag, ms_node **root);

#endif
