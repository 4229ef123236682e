/* metasim export RESULTS: write a results database (docs/results.md) as tidy CSV tables and
 * Newick lineage trees, for R, pandas and phylogenetics tools, or print its results digest. */
#include <stdio.h>

#include "cli.h"
#include "metasim/metasim.h"

/* Prints the handle's message; returns the exit code (an existing output file is the user's
 * mistake, like a bad RESULTS file; anything else is a failure to write). */
static int export_error(metasim_results_t *results, int rc, const char *option)
{
    const char *message = metasim_results_errmsg(results);
    fprintf(stderr, "metasim export: %s: %s%s\n", option, *message ? message : metasim_strerror(rc),
            rc == METASIM_E_EXISTS ? "; pass --force to replace it" : "");
    return rc == METASIM_E_EXISTS ? CLI_INVALID : CLI_FAILURE;
}

int cmd_export(const cli_args *args)
{
    if (!args->csv && !args->newick && !args->digest) {
        fprintf(stderr, "metasim export: nothing to do: pass --csv DIR, --newick DIR or --digest "
                        "(see 'metasim help export')\n");
        return CLI_USAGE;
    }
    metasim_results_t *results = NULL;
    int rc = metasim_results_open(args->positional[0], &results);
    if (rc != 0) {
        const char *message = metasim_results_errmsg(results);
        fprintf(stderr, "metasim export: %s\n", *message ? message : metasim_strerror(rc));
        metasim_results_discard(results);
        return rc == METASIM_E_NOMEM ? CLI_FAILURE : CLI_INVALID;
    }
    int code = CLI_OK;
    if (args->csv && (rc = metasim_results_export_csv(results, args->csv, args->force)) != 0)
        code = export_error(results, rc, "--csv");
    if (code == CLI_OK && args->newick &&
        (rc = metasim_results_export_newick(results, args->newick, args->force)) != 0)
        code = export_error(results, rc, "--newick");
    if (code == CLI_OK && args->digest) {
        char digest[METASIM_DIGEST_SIZE];
        rc = metasim_results_digest(results, digest);
        if (rc == 0) {
            printf("%s\n", digest);
        } else {
            fprintf(stderr, "metasim export: --digest: %s\n", metasim_results_errmsg(results));
            code = rc == METASIM_E_IO ? CLI_INVALID : CLI_FAILURE;
        }
    }
    metasim_results_close(results, NULL);
    return code;
}
