/* Growable strings for building messages, summaries and reports. */
#include "core/strbuf_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(ms_strbuf *sb, size_t extra)
{
    if (sb->failed)
        return false;
    if (sb->len + extra + 1 <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            sb->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *data = realloc(sb->data, cap);
    if (!data) {
        sb->failed = true;
        return false;
    }
    sb->data = data;
    sb->cap = cap;
    return true;
}

void ms_strbuf_append(ms_strbuf *sb, const char *text, size_t len)
{
    if (!reserve(sb, len))
        return;
    if (len)
        memcpy(sb->data + sb->len, text, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void ms_strbuf_puts(ms_strbuf *sb, const char *text)
{
    ms_strbuf_append(sb, text, strlen(text));
}

void ms_strbuf_vprintf(ms_strbuf *sb, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        sb->failed = true;
        return;
    }
    if (!reserve(sb, (size_t)n))
        return;
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void ms_strbuf_printf(ms_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
}

bool ms_strbuf_failed(const ms_strbuf *sb)
{
    return sb->failed;
}

const char *ms_strbuf_str(const ms_strbuf *sb)
{
    return sb->data && !sb->failed ? sb->data : "";
}

char *ms_strbuf_take(ms_strbuf *sb)
{
    char *data = NULL;
    if (!sb->failed) {
        data = sb->data ? sb->data : calloc(1, 1);
        sb->data = NULL;
    }
    ms_strbuf_free(sb);
    return data;
}

void ms_strbuf_free(ms_strbuf *sb)
{
    free(sb->data);
    *sb = (ms_strbuf){0};
}

void ms_strbuf_quote(ms_strbuf *sb, const char *text, size_t len, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    ms_strbuf_append(sb, "'", 1);
    size_t n = len < max ? len : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            ms_strbuf_append(sb, (const char *)&text[i], 1);
        } else if (c == '\n') {
            ms_strbuf_append(sb, "\\n", 2);
        } else if (c == '\t') {
            ms_strbuf_append(sb, "\\t", 2);
        } else if (c == '\\') {
            ms_strbuf_append(sb, "\\\\", 2);
        } else {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            ms_strbuf_append(sb, esc, 4);
        }
    }
    if (n < len)
        ms_strbuf_append(sb, "...", 3);
    ms_strbuf_append(sb, "'", 1);
}
