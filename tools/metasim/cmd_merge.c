/* metasim merge OUT IN...: merge the shards of a trial (metasim trial --shard I/N) into one
 * results database, refusing inputs that do not make one trial (docs/trials.md). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "metasim/metasim.h"

int cmd_merge(const cli_args *args)
{
    const char *out = args->positional[0];
    char *line = cli_command_line(args->argc, args->argv);
    char *message = NULL;
    int rc =
        line ? metasim_results_merge(out, args->positional + 1, (size_t)(args->n_positional - 1),
                                     args->force, line, &message)
             : METASIM_E_NOMEM;
    free(line);
    if (rc != 0) {
        fprintf(stderr, "metasim merge: %s%s\n", message ? message : metasim_strerror(rc),
                rc == METASIM_E_EXISTS ? "; pass --force to replace it" : "");
        metasim_free(message);
        return rc == METASIM_E_INVALID || rc == METASIM_E_EXISTS ? CLI_INVALID : CLI_FAILURE;
    }
    if (args->quiet)
        return CLI_OK;
    metasim_results_t *results = NULL;
    char *text = NULL, digest[METASIM_DIGEST_SIZE];
    rc = metasim_results_open(out, &results);
    if (rc == 0)
        rc = metasim_results_summary(results, &text);
    if (rc == 0)
        rc = metasim_results_digest(results, digest);
    if (rc != 0) {
        fprintf(stderr, "metasim merge: %s\n", metasim_results_errmsg(results));
        metasim_results_discard(results);
        return CLI_FAILURE;
    }
    printf("merged %d databases into %s\n\n%s\nresults digest %s\n", args->n_positional - 1, out,
           text, digest);
    metasim_free(text);
    metasim_results_close(results, NULL);
    return CLI_OK;
}
