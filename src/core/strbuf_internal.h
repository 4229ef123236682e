/* A growable NUL-terminated string. Allocation failure is sticky: after one, every append is a
 * no-op and ms_strbuf_failed() says so, so callers check once at the end instead of per call. */
#ifndef METASIM_STRBUF_INTERNAL_H
#define METASIM_STRBUF_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct ms_strbuf {
    char *data; /* NUL-terminated, NULL until the first append */
    size_t len;
    size_t cap;
    bool failed;
} ms_strbuf;

void ms_strbuf_append(ms_strbuf *sb, const char *text, size_t len);
void ms_strbuf_puts(ms_strbuf *sb, const char *text);
void ms_strbuf_printf(ms_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ms_strbuf_vprintf(ms_strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
bool ms_strbuf_failed(const ms_strbuf *sb);
/* The text so far ("" when empty); owned by the buffer. */
const char *ms_strbuf_str(const ms_strbuf *sb);
/* Hands the text to the caller (who frees it) and resets the buffer; NULL after a failure. */
char *ms_strbuf_take(ms_strbuf *sb);
void ms_strbuf_free(ms_strbuf *sb);

/* Appends `text` (length `len`) for display inside a message: quotes it, escapes control and
 * non-ASCII bytes, and cuts it at `max` bytes with "..." so garbage input stays readable. */
void ms_strbuf_quote(ms_strbuf *sb, const char *text, size_t len, size_t max);

#endif
