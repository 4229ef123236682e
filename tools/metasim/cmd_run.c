/*
 * metasim run SCENARIO: simulate one patient and print its timeline. The run advances through
 * the library's resumable API, stopping at each power of ten of the tumour burden, so the
 * timeline gives the time each size is first reached (exact while the tumour is simulated
 * event by event, else at the end of the step that crossed it). With --db the patient is also
 * recorded in a results database, which appears only if everything succeeded.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metasim/metasim.h"

/* Timeline events (new clones and lesions) printed; the rest are only counted. */
#define MAX_EVENT_LINES 40
/* Lesions listed in the closing summary. */
#define MAX_LESION_LINES 20
/* Doses printed; the rest are counted (every dose is in the results database). */
#define MAX_DOSE_LINES 24

typedef struct timeline {
    const metasim_model_t *model;
    metasim_writer_t csv;
    metasim_writer_t db; /* the results database's writer, with --db */
    unsigned event_lines;
    unsigned long long events_untold;
    unsigned long long lesions_untold; /* lesion foundings, shown with --verbose */
    unsigned dose_lines;
    unsigned long long doses_untold;
    bool verbose;
    bool quiet;
} timeline;

static int on_event(void *user, const metasim_event_t *e)
{
    timeline *tl = user;
    if (tl->db.event && tl->db.event(tl->db.user, e) != 0)
        return 1;
    if (tl->quiet)
        return 0;
    switch (e->kind) {
    case METASIM_EVENT_DIAGNOSIS:
        printf("%12.2f  %10s  diagnosis: %s\n", e->time, "", e->detail);
        return 0;
    case METASIM_EVENT_SURGERY:
        printf("%12.2f  %10s  surgery: the primary and its regional nodes are removed (%s)\n",
               e->time, "", e->detail);
        return 0;
    case METASIM_EVENT_RELAPSE:
        printf("%12.2f  %10s  first relapse detected in %s: %s\n", e->time, "", e->site, e->detail);
        return 0;
    case METASIM_EVENT_DEATH:
        printf("%12.2f  %10s  death from the tumour (%s)\n", e->time, "", e->detail);
        return 0;
    case METASIM_EVENT_BLOOD:
        printf("%12.2f  %10s  blood draw at %s: %.0f CTCs in 7.5 mL\n", e->time, "", e->detail,
               e->value);
        return 0;
    case METASIM_EVENT_THERAPY:
        printf("%12.2f  %10s  therapy: %s\n", e->time, "", e->detail);
        return 0;
    case METASIM_EVENT_PROGRESSION:
        printf("%12.2f  %10s  progression (RECIST 1.1): %s\n", e->time, "", e->detail);
        return 0;
    case METASIM_EVENT_DOSE:
        if (tl->dose_lines == MAX_DOSE_LINES) {
            tl->doses_untold++;
            return 0;
        }
        tl->dose_lines++;
        printf("%12.2f  %10s  dose: %s %.4g mg, %s\n", e->time, "", e->site, e->value, e->detail);
        return 0;
    case METASIM_EVENT_EXTINCT: return 0;
    case METASIM_EVENT_CLONE:
    case METASIM_EVENT_LESION: break;
    }
    if (e->kind == METASIM_EVENT_LESION && !tl->verbose) {
        tl->lesions_untold++;
        return 0;
    }
    if (tl->event_lines == MAX_EVENT_LINES) {
        tl->events_untold++;
        return 0;
    }
    tl->event_lines++;
    if (e->kind == METASIM_EVENT_CLONE) /* loci gained ("a+b"), or copies ("+chr6 -chr12") */
        printf("%12.2f  %10s  clone %u arises from clone %u in lesion %u: %s%s\n", e->time, "",
               e->clone, e->parent_clone, e->lesion,
               e->detail[0] == '+' || e->detail[0] == '-' ? "" : "+", e->detail);
    else
        printf("%12.2f  %10s  lesion %u founded in %s by a %s cell of clone %u from lesion %u\n",
               e->time, "", e->lesion, e->site, e->detail, e->clone, e->source_lesion);
    return 0;
}

static int on_sample(void *user, const metasim_sample_t *x)
{
    timeline *tl = user;
    if (tl->db.sample && tl->db.sample(tl->db.user, x) != 0)
        return 1;
    return tl->csv.sample ? tl->csv.sample(tl->csv.user, x) : 0;
}

/* Drug concentrations and effects at output times go to the files only, not to the screen. */
static int on_exposure(void *user, const metasim_exposure_t *x)
{
    timeline *tl = user;
    if (tl->db.exposure && tl->db.exposure(tl->db.user, x) != 0)
        return 1;
    return tl->csv.exposure ? tl->csv.exposure(tl->csv.user, x) : 0;
}

/* Prints a results database failure; returns its exit code (an existing file is the user's
 * mistake, anything else a failure to write). */
static int db_error(int rc, const char *message)
{
    fprintf(stderr, "metasim run: %s%s\n", message && *message ? message : metasim_strerror(rc),
            rc == METASIM_E_EXISTS ? "; pass --force to replace it" : "");
    return rc == METASIM_E_EXISTS ? CLI_INVALID : CLI_FAILURE;
}

/* Records the finished patient and moves the database into place; returns the exit code. */
static int finish_db(metasim_results_t *db, unsigned patient, unsigned arm,
                     const metasim_sim_t *sim, int stop)
{
    int rc = metasim_results_add_patient(db, patient, arm, sim, stop);
    if (rc != 0) {
        int code = db_error(rc, metasim_results_errmsg(db));
        metasim_results_discard(db);
        return code;
    }
    char *message = NULL;
    rc = metasim_results_close(db, &message);
    int code = rc == 0 ? CLI_OK : db_error(rc, message);
    metasim_free(message);
    return code;
}

/* The state at the end: living lesions, the lineage, the cascade's totals. */
/* The patient's own subtype and values, when the scenario's patients differ (`cohort`). */
static void print_patient_values(const metasim_model_t *own)
{
    const char *subtype = metasim_model_patient_subtype(own);
    size_t n = metasim_model_covariate_count(own);
    if (subtype)
        printf("subtype %s\n", subtype);
    for (size_t k = 0; k < n; k++) {
        metasim_covariate_t c;
        if (metasim_model_covariate(own, k, &c) != 0)
            continue;
        if (strcmp(c.unit, "mg") == 0 && c.value >= 1e6) /* body weights read better in kg */
            printf("  %s = %.6g kg\n", c.path, c.value / 1e6);
        else
            printf("  %s = %.6g%s%s\n", c.path, c.value, *c.unit ? " " : "", c.unit);
    }
}

static void summarise(const metasim_sim_t *sim, const metasim_model_t *model)
{
    size_t living = 0, shown = 0;
    for (size_t i = 0; i < metasim_sim_lesions(sim); i++) {
        metasim_lesion_info_t li;
        metasim_sim_lesion_info(sim, i, &li);
        living += li.cells > 0;
    }
    printf("\nat %.2f d: %.4g cells in %zu living lesion%s, %zu clones in the lineage, %llu "
           "events\n",
           metasim_sim_time(sim), metasim_sim_cells(sim), living, living == 1 ? "" : "s",
           metasim_sim_clones(sim), metasim_sim_events(sim));
    for (size_t i = 0; i < metasim_sim_lesions(sim); i++) {
        metasim_lesion_info_t li;
        metasim_sim_lesion_info(sim, i, &li);
        if (li.cells == 0)
            continue;
        if (++shown > MAX_LESION_LINES) {
            printf("  ... and %zu more\n", living - MAX_LESION_LINES);
            break;
        }
        printf("  lesion %zu (%s): %.4g cells", i, li.site, li.cells);
        if (li.parent != i)
            printf(", seeded from lesion %u at %.2f d", li.parent, li.founded);
        printf("\n");
    }
    metasim_counts_t n;
    metasim_sim_counts(sim, &n);
    if (n.shed > 0) {
        printf("cascade: %llu cells shed", n.shed - n.injected);
        if (n.injected > 0)
            printf(" and %llu injected", n.injected);
        printf(", %llu lost in the blood or on landing, %llu colonised (%llu back into the "
               "primary), %llu lesions founded; now %.3g CTCs per 7.5 mL expected\n",
               n.lost, n.colonised, n.self_seeded, n.lesions - 1,
               metasim_sim_ctc(sim) * 7.5 / (1000 * metasim_model_blood_volume(model)));
    }
}

static const char *stop_words(int rc)
{
    switch (rc) {
    case METASIM_STOP_TIME: return "end of the simulated time";
    case METASIM_STOP_EXTINCT: return "no tumour cell is left";
    case METASIM_STOP_DEATH: return "the patient died";
    default: return "stopped";
    }
}

int cmd_run(const cli_args *args)
{
    unsigned long long seed = 0, patient = 0;
    const char *seed_from = "scenario";
    double until = 0;
    if (args->seed && cli_parse_u64(args->seed, &seed) != 0) {
        fprintf(stderr, "metasim run: --seed: expected a whole number >= 0 (got %s)\n", args->seed);
        return CLI_USAGE;
    }
    if (args->patient && (cli_parse_u64(args->patient, &patient) != 0 || patient > 0xffffffffULL)) {
        fprintf(stderr, "metasim run: --patient: expected a whole number below 2^32 (got %s)\n",
                args->patient);
        return CLI_USAGE;
    }
    if (args->until && (metasim_parse_time(args->until, &until) != 0 || until < 0)) {
        fprintf(stderr,
                "metasim run: --until: expected a time >= 0 such as 400, 36h or 5y "
                "(got %s)\n",
                args->until);
        return CLI_USAGE;
    }
    metasim_model_t *model = NULL;
    int rc = cli_load_model("run", args->positional[0], &model);
    if (rc != CLI_OK)
        return rc;
    unsigned arm = 0;
    if (args->arm && (arm = metasim_model_arm(model, args->arm)) == 0) {
        fprintf(stderr, "metasim run: --arm: %s has no arm '%s'\n", args->positional[0], args->arm);
        metasim_model_destroy(model);
        return CLI_USAGE;
    }
    if (args->seed) {
        seed_from = "--seed";
    } else if (!metasim_model_seed(model, &seed)) {
        if (cli_draw_seed(&seed) != 0) {
            fprintf(stderr, "metasim run: cannot draw a seed from /dev/urandom\n");
            metasim_model_destroy(model);
            return CLI_FAILURE;
        }
        seed_from = "drawn; pass --seed to repeat this run";
    }
    if (!args->until)
        until = metasim_model_horizon(model);

    timeline tl = {.model = model, .quiet = args->quiet, .verbose = args->verbose};
    metasim_results_t *db = NULL;
    if (args->db) {
        char *line = cli_command_line(args->argc, args->argv);
        rc = line ? metasim_results_create(args->db, model, line, seed, args->force, &db)
                  : METASIM_E_NOMEM;
        free(line);
        if (rc == 0)
            rc = metasim_results_writer(db, (unsigned)patient, arm, &tl.db);
        if (rc != 0) {
            int code = db_error(rc, metasim_results_errmsg(db));
            metasim_results_discard(db);
            metasim_model_destroy(model);
            return code;
        }
    }
    if (args->csv && metasim_csv_writer_open(args->csv, &tl.csv) != 0) {
        char *exposures = metasim_csv_exposures_path(args->csv);
        fprintf(stderr, "metasim run: --csv: cannot create %s and %s: %s\n", args->csv,
                exposures ? exposures : "its exposures file", strerror(errno));
        metasim_free(exposures);
        metasim_results_discard(db);
        metasim_model_destroy(model);
        return CLI_FAILURE;
    }
    metasim_writer_t writer = {
        .user = &tl, .sample = on_sample, .event = on_event, .exposure = on_exposure};
    metasim_sim_options_t opt = {
        .seed = seed, .patient = (unsigned)patient, .writer = &writer, .arm = arm};
    metasim_sim_t *sim = NULL;
    int exit_code = CLI_OK;
    if ((rc = metasim_sim_create(model, &opt, &sim)) != 0) {
        metasim_model_t *own = NULL;
        if (rc == METASIM_E_INVALID && metasim_model_patient(model, seed, opt.patient, &own) != 0)
            fprintf(stderr, "%s", metasim_model_errmsg(own));
        else
            fprintf(stderr, "metasim run: %s\n", metasim_strerror(rc));
        metasim_model_destroy(own);
        exit_code = CLI_FAILURE;
        goto out;
    }
    if (!args->quiet) {
        printf("scenario %s, patient %llu, seed %llu (%s)\n", metasim_model_name(model), patient,
               seed, seed_from);
        print_patient_values(metasim_sim_model(sim));
        printf("%12s  %10s  event\n", "time (d)", "cells");
        printf("%12.2f  %10.3g  the primary's founding cells\n", 0.0, metasim_sim_cells(sim));
    }
    double milestone = 10;
    while (milestone <= metasim_sim_cells(sim))
        milestone *= 10;
    for (;;) {
        metasim_sim_set_stop_cells(sim, milestone);
        rc = metasim_sim_run(sim, until, 0);
        if (rc < 0) {
            fprintf(stderr, "metasim run: %s\n", metasim_sim_errmsg(sim));
            if (*metasim_results_errmsg(db))
                fprintf(stderr, "metasim run: %s\n", metasim_results_errmsg(db));
            exit_code = rc == METASIM_E_IO ? CLI_FAILURE : CLI_FAILURE;
            goto out;
        }
        if (rc != METASIM_STOP_SIZE)
            break;
        while (milestone * 10 <= metasim_sim_cells(sim))
            milestone *= 10;
        if (!args->quiet)
            printf("%12.2f  %10.3g  the tumour reaches 1e%.0f cells\n", metasim_sim_time(sim),
                   metasim_sim_cells(sim), log10(milestone));
        milestone *= 10;
    }
    if (!args->quiet) {
        if (tl.events_untold)
            printf("%12s  %10s  (%llu more clones or lesions arose; --csv has every one)\n", "", "",
                   tl.events_untold);
        if (tl.lesions_untold)
            printf("%12s  %10s  (%llu lesions were founded; --verbose lists them)\n", "", "",
                   tl.lesions_untold);
        if (tl.doses_untold)
            printf("%12s  %10s  (%llu more doses were given; --db records every one)\n", "", "",
                   tl.doses_untold);
        printf("%12.2f  %10.3g  %s\n", metasim_sim_time(sim), metasim_sim_cells(sim),
               stop_words(rc));
        summarise(sim, model);
    }
out:
    if (metasim_csv_writer_close(&tl.csv) != 0 && exit_code == CLI_OK) {
        char *exposures = metasim_csv_exposures_path(args->csv);
        fprintf(stderr, "metasim run: --csv: error writing %s or %s\n", args->csv,
                exposures ? exposures : "its exposures file");
        metasim_free(exposures);
        exit_code = CLI_FAILURE;
    }
    if (db && exit_code == CLI_OK)
        exit_code = finish_db(db, (unsigned)patient, arm, sim, rc);
    else
        metasim_results_discard(db);
    metasim_sim_destroy(sim);
    metasim_model_destroy(model);
    return exit_code;
}
