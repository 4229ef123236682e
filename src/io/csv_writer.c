/* Time series as tidy long CSV, readable by R's read.csv and pandas.read_csv as is: the samples
 * (one row per compartment per output time) in the named file, and the drug exposures (one row
 * per drug and effect per output time) in a sibling file, `<name>-exposures.csv`, because they
 * are another kind of observation with other columns. Timeline events are not part of these
 * files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"

typedef struct csv_files {
    FILE *samples, *exposures;
} csv_files;

static int write_sample(void *user, const metasim_sample_t *x)
{
    /* %.17g keeps times exact; names are identifiers, so they need no quoting. */
    return fprintf(((csv_files *)user)->samples, "%.17g,%u,%s,%u,%s,%.17g\n", x->time, x->lesion,
                   x->site, x->clone, x->state, x->cells) < 0;
}

/* A drug without effects has one row with empty effect, target and value. */
static int write_exposure(void *user, const metasim_exposure_t *x)
{
    FILE *f = ((csv_files *)user)->exposures;
    if (x->effect < 0 || !x->target || !*x->target)
        return fprintf(f, "%.17g,%s,%.17g,,,\n", x->time, x->drug, x->concentration) < 0;
    return fprintf(f, "%.17g,%s,%.17g,%d,%s,%.17g\n", x->time, x->drug, x->concentration, x->effect,
                   x->target, x->value) < 0;
}

char *metasim_csv_exposures_path(const char *path)
{
    if (!path)
        return NULL;
    size_t n = strlen(path);
    if (n >= 4 && strcmp(path + n - 4, ".csv") == 0)
        n -= 4;
    char *out = malloc(n + sizeof "-exposures.csv");
    if (out) {
        memcpy(out, path, n);
        memcpy(out + n, "-exposures.csv", sizeof "-exposures.csv");
    }
    return out;
}

/* Creates `path` with `header`; NULL (errno set) on failure, leaving no file. */
static FILE *create(const char *path, const char *header)
{
    FILE *f = fopen(path, "w");
    if (f && fputs(header, f) < 0) {
        int err = errno;
        fclose(f);
        remove(path);
        errno = err;
        return NULL;
    }
    return f;
}

int metasim_csv_writer_open(const char *path, metasim_writer_t *writer)
{
    if (!path || !writer)
        return METASIM_E_ARG;
    *writer = (metasim_writer_t){0};
    char *sibling = metasim_csv_exposures_path(path);
    csv_files *files = calloc(1, sizeof *files);
    if (!sibling || !files) {
        free(sibling);
        free(files);
        return METASIM_E_NOMEM;
    }
    files->samples = create(path, "time,lesion,site,clone,state,cells\n");
    if (files->samples)
        files->exposures = create(sibling, "time,drug,concentration,effect,target,value\n");
    if (!files->exposures) {
        int err = errno;
        if (files->samples) {
            fclose(files->samples);
            remove(path);
        }
        free(sibling);
        free(files);
        errno = err;
        return METASIM_E_IO;
    }
    free(sibling);
    writer->user = files;
    writer->sample = write_sample;
    writer->exposure = write_exposure;
    return 0;
}

int metasim_csv_writer_close(metasim_writer_t *writer)
{
    if (!writer || !writer->user)
        return 0;
    csv_files *files = writer->user;
    int bad = 0;
    FILE *f[2] = {files->samples, files->exposures};
    for (int i = 0; i < 2; i++) {
        bad |= ferror(f[i]) != 0;
        bad |= fclose(f[i]) != 0;
    }
    free(files);
    *writer = (metasim_writer_t){0};
    return bad ? METASIM_E_IO : 0;
}
