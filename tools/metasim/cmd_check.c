/* metasim check SCENARIO: validate a scenario and summarise the model it defines. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "metasim/metasim.h"

/* A SCENARIO argument is a file when one exists at that path; otherwise a bare name (no '/')
 * that matches a built-in scenario selects it. Files win so a user's breast.yaml is never
 * shadowed. */
int cli_load_model(const char *command, const char *arg, metasim_model_t **model)
{
    struct stat st;
    int rc;
    if (stat(arg, &st) != 0 && !strchr(arg, '/') && metasim_builtin_text(arg, NULL))
        rc = metasim_model_load_builtin(arg, model);
    else
        rc = metasim_model_load_file(arg, model);
    if (rc == 0)
        return CLI_OK;
    if (*model)
        cli_errors(command, metasim_model_errmsg(*model));
    else
        fprintf(stderr, "metasim %s: %s: %s\n", command, arg, metasim_strerror(rc));
    size_t n = metasim_model_error_count(*model);
    if (rc == METASIM_E_INVALID || rc == METASIM_E_SYNTAX)
        fprintf(stderr, "metasim %s: %s: %zu mistake%s\n", command, arg, n, n == 1 ? "" : "s");
    metasim_model_destroy(*model);
    *model = NULL;
    return rc == METASIM_E_NOMEM ? CLI_FAILURE : CLI_INVALID;
}

int cmd_check(const cli_args *args)
{
    metasim_model_t *model = NULL;
    int rc = cli_load_model("check", args->positional[0], &model);
    if (rc != CLI_OK)
        return rc;
    if (!args->quiet)
        printf("%s: ok\n%s", args->positional[0], metasim_model_summary(model));
    metasim_model_destroy(model);
    return CLI_OK;
}
