/* metasim schema: print the scenario format reference (docs/scenario.md is this output). */
#include <stdio.h>

#include "cli.h"
#include "metasim/metasim.h"

int cmd_schema(const cli_args *args)
{
    (void)args;
    char *text = metasim_schema_reference();
    if (!text) {
        fprintf(stderr, "metasim schema: %s\n", metasim_strerror(METASIM_E_NOMEM));
        return CLI_FAILURE;
    }
    fputs(text, stdout);
    metasim_free(text);
    return CLI_OK;
}
