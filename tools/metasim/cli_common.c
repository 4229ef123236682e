/* Helpers shared by the subcommands: the command line as provenance, whole numbers, seeds. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

char *cli_command_line(int argc, char **argv)
{
    size_t size = 1;
    for (int i = 0; i < argc; i++)
        size += 3 + 4 * strlen(argv[i]); /* each ' becomes '\'' inside quotes */
    char *text = malloc(size), *p = text;
    if (!text)
        return NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool plain = *a != '\0';
        for (const char *c = a; *c && plain; c++)
            plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                           "_@%+=:,./-",
                           *c) != NULL;
        if (i)
            *p++ = ' ';
        if (plain) {
            size_t n = strlen(a);
            memcpy(p, a, n);
            p += n;
            continue;
        }
        *p++ = '\'';
        for (const char *c = a; *c; c++) {
            if (*c == '\'') {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *c;
            }
        }
        *p++ = '\'';
    }
    *p = '\0';
    return text;
}

int cli_parse_u64(const char *text, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    if (!text || !*text || *text == '-' || *text == '+' || *text == ' ')
        return -1;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cli_draw_seed(unsigned long long *seed)
{
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f)
        return -1;
    size_t got = fread(seed, sizeof *seed, 1, f);
    fclose(f);
    *seed &= (1ULL << 53) - 1; /* scenarios hold seeds up to 2^53 */
    return got == 1 ? 0 : -1;
}
