/* metasim version: the tool's and the library's versions (they differ only when a stale
 * shared library is picked up at run time). */
#include <stdio.h>

#include "cli.h"
#include "metasim/metasim.h"

int cmd_version(const cli_args *args)
{
    (void)args;
    printf("metasim %s (library %s)\n", METASIM_VERSION_STRING, metasim_version());
    return CLI_OK;
}
