/* The metasim command line: the table of subcommands and options that drives parsing, help
 * and docs/cli.md. Each subcommand lives in its own cmd_<verb>.c and uses only the public API. */
#ifndef METASIM_CLI_H
#define METASIM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "metasim/metasim.h"

/* Documented exit codes (docs/cli.md). */
enum {
    CLI_OK = 0,            /* success */
    CLI_INVALID = 1,       /* the input (scenario, results) has mistakes; messages on stderr */
    CLI_USAGE = 2,         /* the command line is wrong */
    CLI_FAILURE = 3,       /* the system failed: out of memory, cannot write output */
    CLI_INTERRUPTED = 130, /* stopped by SIGINT or SIGTERM (trial: resumable) */
};

typedef struct cli_option {
    const char *name;  /* long name without dashes */
    char short_name;   /* 0 for none */
    const char *value; /* name of the option's value, NULL for a flag */
    const char *help;
} cli_option;

/* Positional arguments at most (merge takes one per shard). */
#define CLI_MAX_ARGS 4096

/* Parsed options of one invocation. */
typedef struct cli_args {
    const char *command;
    bool quiet;
    bool help;
    bool verbose;           /* --verbose */
    const char *seed;       /* --seed */
    const char *patient;    /* --patient */
    const char *until;      /* --until */
    const char *csv;        /* --csv (a FILE for run, a DIR for export) */
    const char *db;         /* --db */
    const char *arm;        /* --arm */
    const char *newick;     /* --newick */
    bool force;             /* --force */
    const char *patients;   /* --patients */
    const char *threads;    /* --threads */
    const char *shard;      /* --shard */
    const char *series;     /* --series */
    const char *design;     /* --design */
    const char *allocation; /* --allocation */
    bool resume;            /* --resume */
    bool digest;            /* --digest */
    const char *positional[CLI_MAX_ARGS];
    int n_positional;
    int argc; /* the whole command line, for provenance */
    char **argv;
} cli_args;

typedef struct cli_command {
    const char *name;
    const char *usage; /* the arguments after the command name */
    const char *summary;
    const char *description;
    const cli_option *const *options; /* NULL-terminated */
    int min_args, max_args;
    int (*run)(const cli_args *args);
} cli_command;

/* Options shared by subcommands, defined once. */
extern const cli_option cli_opt_quiet;
extern const cli_option cli_opt_help;
extern const cli_option cli_opt_seed;
extern const cli_option cli_opt_patient;
extern const cli_option cli_opt_until;
extern const cli_option cli_opt_csv;
extern const cli_option cli_opt_verbose;
extern const cli_option cli_opt_arm;
extern const cli_option cli_opt_db;
extern const cli_option cli_opt_force;
extern const cli_option cli_opt_csv_dir;
extern const cli_option cli_opt_newick;
extern const cli_option cli_opt_digest;
extern const cli_option cli_opt_patients;
extern const cli_option cli_opt_threads;
extern const cli_option cli_opt_shard;
extern const cli_option cli_opt_resume;
extern const cli_option cli_opt_series;
extern const cli_option cli_opt_design;
extern const cli_option cli_opt_allocation;
extern const cli_option cli_opt_trial_seed;
extern const cli_option cli_opt_trial_db;

int cmd_check(const cli_args *args);
int cmd_export(const cli_args *args);
int cmd_merge(const cli_args *args);
int cmd_trial(const cli_args *args);
int cmd_run(const cli_args *args);
int cmd_schema(const cli_args *args);
int cmd_version(const cli_args *args);

/* Loads SCENARIO: a file when one exists at that path, else a built-in of that name. Prints the
 * messages on failure and returns the exit code (CLI_OK on success). */
int cli_load_model(const char *command, const char *arg, metasim_model_t **model);

/* Prints "metasim CMD: " before each line of `text` on stderr. */
void cli_errors(const char *command, const char *text);

/* The command line as a shell would read it back (arguments quoted where needed), for the
 * results' provenance. The caller frees it; NULL when out of memory. */
char *cli_command_line(int argc, char **argv);

/* A whole number >= 0 in decimal, nothing else; 0, or -1 for anything else. */
int cli_parse_u64(const char *text, unsigned long long *out);

/* A seed from the system's entropy, below 2^53 (scenarios hold seeds up to 2^53), for runs
 * that set none (they print it, so they can be repeated). 0 or -1. */
int cli_draw_seed(unsigned long long *seed);

#endif
