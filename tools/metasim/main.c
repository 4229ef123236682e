/*
 * metasim: the command-line tool. A thin client of libmetasim: it parses arguments against
 * the command table below, dispatches, and turns library results into messages and exit
 * codes. `metasim help CMD` prints exactly what `metasim CMD` prints when arguments are
 * missing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metasim/metasim.h"

const cli_option cli_opt_quiet = {"quiet", 'q', NULL, "print nothing on success"};
const cli_option cli_opt_help = {"help", 'h', NULL, "show this help"};
const cli_option cli_opt_seed = {"seed", 's', "N",
                                 "master random seed (default: the scenario's, else drawn)"};
const cli_option cli_opt_patient = {"patient", 'p', "K",
                                    "patient index: selects its random streams (default 0)"};
const cli_option cli_opt_until = {"until", 'u', "TIME",
                                  "simulate up to TIME (e.g. 5y; default: the horizon)"};
const cli_option cli_opt_arm = {"arm", 'a', "NAME",
                                "treat the patient with this arm (its doses start at surgery)"};
const cli_option cli_opt_verbose = {"verbose", 'v', NULL,
                                    "also list every lesion founded (the seeding history)"};
const cli_option cli_opt_csv = {
    "csv", 0, "FILE", "tidy CSV: time series to FILE, drug exposures to FILE-exposures.csv"};
const cli_option cli_opt_db = {"db", 0, "FILE",
                               "also record the patient in the results database FILE (SQLite)"};
const cli_option cli_opt_force = {"force", 'f', NULL, "replace output files that exist"};
const cli_option cli_opt_csv_dir = {"csv", 0, "DIR", "write every table to DIR/TABLE.csv"};
const cli_option cli_opt_newick = {"newick", 0, "DIR",
                                   "write each patient's lineage to DIR/patient_K[_ARM].nwk"};
const cli_option cli_opt_digest = {"digest", 0, NULL,
                                   "print the results digest (and check the recorded one)"};
const cli_option cli_opt_patients = {"patients", 'n', "N",
                                     "patients 0..N-1 (default: the scenario's trial.patients, "
                                     "else 1000)"};
const cli_option cli_opt_threads = {"threads", 't', "T",
                                    "simulation threads (default: the number of processors)"};
const cli_option cli_opt_shard = {"shard", 0, "I/N",
                                  "run only patients with index % N == I (merge the shards)"};
const cli_option cli_opt_resume = {"resume", 0, NULL,
                                   "continue the interrupted run kept in FILE.partial"};
const cli_option cli_opt_series = {"series", 0, "K",
                                   "write time series for the first K patients (default 10)"};
const cli_option cli_opt_design = {"design", 0, "D",
                                   "paired (every patient under every arm; the default) or "
                                   "randomised"};
const cli_option cli_opt_allocation = {"allocation", 0, "W:W...",
                                       "randomised: allocation weights of the arms, in order "
                                       "(default equal)"};
const cli_option cli_opt_trial_seed = {"seed", 's', "N",
                                       "master random seed (default: the scenario's, else drawn)"};
const cli_option cli_opt_trial_db = {"db", 0, "FILE",
                                     "the results database (default: SCENARIO_NAME.db)"};

static int cmd_help(const cli_args *args);

static const cli_option *const help_only[] = {&cli_opt_help, NULL};
static const cli_option *const check_options[] = {&cli_opt_quiet, &cli_opt_help, NULL};
static const cli_option *const run_options[] = {
    &cli_opt_seed, &cli_opt_patient, &cli_opt_until, &cli_opt_csv,  &cli_opt_db, &cli_opt_force,
    &cli_opt_arm,  &cli_opt_verbose, &cli_opt_quiet, &cli_opt_help, NULL};
static const cli_option *const export_options[] = {
    &cli_opt_csv_dir, &cli_opt_newick, &cli_opt_digest, &cli_opt_force, &cli_opt_help, NULL};
static const cli_option *const trial_options[] = {&cli_opt_patients,
                                                  &cli_opt_threads,
                                                  &cli_opt_trial_seed,
                                                  &cli_opt_trial_db,
                                                  &cli_opt_force,
                                                  &cli_opt_shard,
                                                  &cli_opt_resume,
                                                  &cli_opt_series,
                                                  &cli_opt_design,
                                                  &cli_opt_allocation,
                                                  &cli_opt_quiet,
                                                  &cli_opt_help,
                                                  NULL};
static const cli_option *const merge_options[] = {&cli_opt_force, &cli_opt_quiet, &cli_opt_help,
                                                  NULL};

static const cli_command commands[] = {
    {"check", "SCENARIO", "validate a scenario and summarise its model",
     "Reads SCENARIO (a YAML file, or the name of a built-in scenario), checks every field\n"
     "against the scenario format and prints a summary of the model. Every mistake is\n"
     "reported as FILE:LINE:COLUMN: FIELD: RULE (got VALUE); the exit code is then 1.",
     check_options, 1, 1, cmd_check},
    {"run", "SCENARIO", "simulate one patient and print its timeline",
     "Simulates one virtual patient of SCENARIO from its first tumour cell and prints a\n"
     "timeline: sizes as the tumour passes each power of ten, new clones, diagnosis and stage,\n"
     "surgery, the first relapse, death, and the state at the end. The patient is fixed by\n"
     "the seed and the patient index, so the same command always gives the same patient.",
     run_options, 1, 1, cmd_run},
    {"trial", "SCENARIO", "run a virtual trial: a cohort under every arm, with statistics",
     "Simulates patients 0..N-1 of SCENARIO and, in the paired design, continues each one's\n"
     "untreated history at the point of assignment under every arm (randomised: under one arm\n"
     "drawn for the patient). Writes a results database (--db) with the screening, each\n"
     "patient's course per arm, and the statistics: Kaplan-Meier curves, medians, hazard\n"
     "ratios, log-rank tests, restricted mean survival and paired effects, and prints their\n"
     "summary and the results digest. Results do not depend on --threads or --shard. An\n"
     "interrupted run (Ctrl-C) keeps FILE.partial: run the same command with --resume.\n"
     "docs/trials.md describes the design.",
     trial_options, 1, 1, cmd_trial},
    {"merge", "OUT IN...", "merge the shards of a trial into one results database",
     "Merges the databases written by 'metasim trial --shard I/N' into OUT, as if the trial\n"
     "had run in one piece, and computes its statistics and digest. The inputs must come from\n"
     "the same scenario, seed, patients and design and hold every patient exactly once;\n"
     "otherwise nothing is written.",
     merge_options, 2, CLI_MAX_ARGS, cmd_merge},
    {"export", "RESULTS", "write a results database as CSV tables and Newick trees",
     "Reads RESULTS (a database written by 'metasim run --db', 'trial' or 'merge') and writes\n"
     "its tables as tidy CSV (--csv DIR: one TABLE.csv per table) and each patient's clone\n"
     "lineage as a Newick tree (--newick DIR); --digest prints its results digest.\n"
     "Existing files are refused unless --force; nothing is left half written.\n"
     "docs/results.md describes every table and column.",
     export_options, 1, 1, cmd_export},
    {"schema", "", "print the scenario format reference (Markdown)",
     "Prints the reference of every scenario field (type, unit, range, default, meaning);\n"
     "docs/scenario.md is this output.",
     help_only, 0, 0, cmd_schema},
    {"version", "", "print the version", "Prints the version of metasim and of its library.",
     help_only, 0, 0, cmd_version},
    {"help", "[COMMAND]", "show help for metasim or for one command",
     "Without COMMAND, lists the commands; with it, shows that command's help.", help_only, 0, 1,
     cmd_help},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void cli_errors(const char *command, const char *text)
{
    while (text && *text) {
        size_t n = strcspn(text, "\n");
        fprintf(stderr, "metasim %s: %.*s\n", command, (int)n, text);
        text += n + (text[n] == '\n');
    }
}

static void print_main_help(FILE *out)
{
    fprintf(out,
            "metasim %s: stochastic simulator of metastatic cancer under therapy\n\n"
            "usage: metasim COMMAND [OPTIONS] [ARGS]\n\ncommands:\n",
            metasim_version());
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nbuilt-in scenarios (usable wherever a SCENARIO file is expected):\n");
    for (size_t i = 0; metasim_builtin_name(i); i++)
        fprintf(out, "  %s\n", metasim_builtin_name(i));
    fprintf(out, "\n'metasim help COMMAND' shows a command's options.\n"
                 "exit codes: 0 success, 1 mistakes in the input, 2 wrong command line,\n"
                 "3 system failure (memory, output), 130 interrupted (trial: --resume)\n");
}

static void print_command_help(FILE *out, const cli_command *c)
{
    fprintf(out, "usage: metasim %s [OPTIONS]%s%s\n\n%s\n", c->name, *c->usage ? " " : "", c->usage,
            c->description);
    fprintf(out, "\noptions:\n");
    for (const cli_option *const *o = c->options; *o; o++) {
        char left[64];
        snprintf(left, sizeof left, "%c%c%s--%s%s%s", (*o)->short_name ? '-' : ' ',
                 (*o)->short_name ? (*o)->short_name : ' ', (*o)->short_name ? ", " : "  ",
                 (*o)->name, (*o)->value ? " " : "", (*o)->value ? (*o)->value : "");
        fprintf(out, "  %-24s %s\n", left, (*o)->help);
    }
}

static int cmd_help(const cli_args *args)
{
    if (args->n_positional == 0) {
        print_main_help(stdout);
        return CLI_OK;
    }
    const cli_command *c = find_command(args->positional[0]);
    if (!c) {
        fprintf(stderr, "metasim help: no command '%s' (see 'metasim help')\n",
                args->positional[0]);
        return CLI_USAGE;
    }
    print_command_help(stdout, c);
    return CLI_OK;
}

/* Matches argv[i] against the command's option table; sets the flag or value it names. */
/* Returns the number of following arguments consumed (0 or 1), or -1 on error. */
static int parse_option(const cli_command *c, const char *arg, const char *next, cli_args *out)
{
    for (const cli_option *const *o = c->options; *o; o++) {
        bool match = (arg[1] == '-' && strcmp(arg + 2, (*o)->name) == 0) ||
                     (arg[1] == (*o)->short_name && arg[2] == '\0' && arg[1] != '-');
        if (!match)
            continue;
        const char **value = *o == &cli_opt_arm          ? &out->arm
                             : *o == &cli_opt_seed       ? &out->seed
                             : *o == &cli_opt_trial_seed ? &out->seed
                             : *o == &cli_opt_patient    ? &out->patient
                             : *o == &cli_opt_until      ? &out->until
                             : *o == &cli_opt_csv        ? &out->csv
                             : *o == &cli_opt_csv_dir    ? &out->csv
                             : *o == &cli_opt_db         ? &out->db
                             : *o == &cli_opt_trial_db   ? &out->db
                             : *o == &cli_opt_newick     ? &out->newick
                             : *o == &cli_opt_patients   ? &out->patients
                             : *o == &cli_opt_threads    ? &out->threads
                             : *o == &cli_opt_shard      ? &out->shard
                             : *o == &cli_opt_series     ? &out->series
                             : *o == &cli_opt_design     ? &out->design
                             : *o == &cli_opt_allocation ? &out->allocation
                                                         : NULL;
        if (value) {
            if (!next) {
                fprintf(stderr, "metasim %s: option '%s' needs a value (%s)\n", c->name, arg,
                        (*o)->value);
                return -1;
            }
            *value = next;
            return 1;
        }
        if (*o == &cli_opt_quiet)
            out->quiet = true;
        else if (*o == &cli_opt_help)
            out->help = true;
        else if (*o == &cli_opt_verbose)
            out->verbose = true;
        else if (*o == &cli_opt_force)
            out->force = true;
        else if (*o == &cli_opt_resume)
            out->resume = true;
        else if (*o == &cli_opt_digest)
            out->digest = true;
        return 0;
    }
    fprintf(stderr, "metasim %s: unknown option '%s' (see 'metasim help %s')\n", c->name, arg,
            c->name);
    return -1;
}

static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
        fprintf(stderr, "metasim: cannot write output: %s\n", strerror(errno));
        return rc == CLI_OK ? CLI_FAILURE : rc;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_main_help(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    if (strcmp(name, "--version") == 0)
        name = "version";
    const cli_command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "metasim: no command '%s' (see 'metasim help')\n", argv[1]);
        return CLI_USAGE;
    }
    static cli_args args; /* large (the positional arguments): not on the stack */
    args = (cli_args){.command = c->name, .argc = argc, .argv = argv};
    bool options_done = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
        } else if (!options_done && a[0] == '-' && a[1] != '\0') {
            int used = parse_option(c, a, i + 1 < argc ? argv[i + 1] : NULL, &args);
            if (used < 0)
                return CLI_USAGE;
            i += used;
        } else if (args.n_positional < (int)(sizeof args.positional / sizeof *args.positional)) {
            args.positional[args.n_positional++] = a;
        } else {
            fprintf(stderr, "metasim %s: too many arguments\n", c->name);
            return CLI_USAGE;
        }
    }
    if (args.help)
        return finish(cmd_help(&(cli_args){.positional = {c->name}, .n_positional = 1}));
    if (args.n_positional < c->min_args) {
        print_command_help(stderr, c);
        return CLI_USAGE;
    }
    if (args.n_positional > c->max_args) {
        fprintf(stderr, "metasim %s: too many arguments (see 'metasim help %s')\n", c->name,
                c->name);
        return CLI_USAGE;
    }
    return finish(c->run(&args));
}
