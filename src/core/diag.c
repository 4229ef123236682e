/* Collects load diagnostics and formats them as FILE:LINE:COLUMN: PATH: MESSAGE lines. */
#include "core/diag_internal.h"

#include <stdarg.h>
#include <stdlib.h>

void ms_diag_add(ms_diag *d, int line, int col, const char *path, const char *fmt, ...)
{
    d->total++;
    if (d->count >= MS_DIAG_MAX_KEPT)
        return;
    if (d->count % 8 == 0) {
        ms_diag_entry *grown = realloc(d->entries, (d->count + 8) * sizeof *grown);
        if (!grown) {
            d->nomem = 1;
            return;
        }
        d->entries = grown;
    }
    ms_strbuf sb = {0};
    if (path && *path)
        ms_strbuf_printf(&sb, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    ms_strbuf_vprintf(&sb, fmt, ap);
    va_end(ap);
    char *text = ms_strbuf_take(&sb);
    if (!text) {
        d->nomem = 1;
        return;
    }
    d->entries[d->count] = (ms_diag_entry){line, col, d->total, text};
    d->count++;
}

static int by_position(const void *a, const void *b)
{
    const ms_diag_entry *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void ms_diag_format(ms_diag *d, ms_strbuf *out)
{
    if (d->count > 1)
        qsort(d->entries, d->count, sizeof *d->entries, by_position);
    const char *file = d->file ? d->file : "<scenario>";
    for (size_t i = 0; i < d->count; i++) {
        const ms_diag_entry *e = &d->entries[i];
        if (e->line > 0)
            ms_strbuf_printf(out, "%s:%d:%d: %s\n", file, e->line, e->col, e->text);
        else
            ms_strbuf_printf(out, "%s: %s\n", file, e->text);
    }
    if (d->total > d->count)
        ms_strbuf_printf(out, "%s: %zu more mistakes not shown\n", file, d->total - d->count);
    if (d->nomem)
        ms_strbuf_printf(out, "%s: out of memory while recording mistakes\n", file);
}

void ms_diag_free(ms_diag *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->entries[i].text);
    free(d->entries);
    d->entries = NULL;
    d->count = d->total = 0;
}
