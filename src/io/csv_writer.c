/* Time series as tidy long CSV (one row per compartment per output time), readable by R's
 * read.csv and pandas.read_csv as is. Timeline events are not part of this file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "metasim/metasim.h"

static int write_sample(void *user, const metasim_sample_t *x)
{
    /* %.17g keeps times exact; names are identifiers, so they need no quoting. */
    return fprintf((FILE *)user, "%.17g,%u,%s,%u,%s,%.17g\n", x->time, x->lesion, x->site, x->clone,
                   x->state, x->cells) < 0;
}

int metasim_csv_writer_open(const char *path, metasim_writer_t *writer)
{
    if (!path || !writer)
        return METASIM_E_ARG;
    *writer = (metasim_writer_t){0};
    FILE *f = fopen(path, "w");
    if (!f)
        return METASIM_E_IO;
    if (fputs("time,lesion,site,clone,state,cells\n", f) < 0) {
        fclose(f);
        return METASIM_E_IO;
    }
    writer->user = f;
    writer->sample = write_sample;
    return 0;
}

int metasim_csv_writer_close(metasim_writer_t *writer)
{
    if (!writer || !writer->user)
        return 0;
    FILE *f = writer->user;
    int bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    *writer = (metasim_writer_t){0};
    return bad ? METASIM_E_IO : 0;
}
