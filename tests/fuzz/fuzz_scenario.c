/*
 * libFuzzer target for the scenario loader: arbitrary bytes go through the whole load (UTF-8
 * check, YAML reader, alias expansion, schema validation, cross-field rules, summary), the way
 * htslib's test/fuzz/hts_open_fuzzer.c drives hts_open. Built only with METASIM_FUZZ (clang,
 * with AddressSanitizer and UndefinedBehaviorSanitizer); `ctest -L fuzz` runs it briefly on a
 * copy of tests/fuzz/corpus.
 *
 * Besides crashes, leaks and hangs, it aborts when the load breaks a promise of the API: a
 * failed load carries at least one message and no summary, a valid one a summary and no
 * message, every message line starts with the file name, and the model keeps the text exactly
 * as given.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every line of a load's messages starts with the file name given to the loader. */
static int lines_name_file(const char *text, const char *name)
{
    size_t nlen = strlen(name);
    while (*text) {
        if (strncmp(text, name, nlen) != 0 || text[nlen] != ':')
            return 0;
        text += strcspn(text, "\n");
        if (*text == '\n')
            text++;
    }
    return 1;
}

/* Reports a broken promise and aborts, so libFuzzer saves the input. */
static void require(int ok, const char *promise, int rc, const char *errmsg)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_scenario: broken promise: %s (rc %d)\n--- errmsg:\n%s---\n", promise, rc,
            errmsg);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char name[] = "fuzz.yaml";
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string(name, (const char *)data, size, &m);
    if (!m)
        return 0; /* out of memory before a handle existed */
    const char *errmsg = metasim_model_errmsg(m);
    const char *summary = metasim_model_summary(m);
    size_t nerr = strlen(errmsg), nsum = strlen(summary);
    size_t count = metasim_model_error_count(m);
    const char *source = metasim_model_source(m);
    (void)metasim_model_name(m);
    require(source && (size == 0 || memcmp(source, data, size) == 0),
            "the source is the text exactly as read", rc, errmsg);
    if (rc == 0)
        require(nerr == 0 && nsum != 0 && count == 0, "a valid model has a summary and no messages",
                rc, errmsg);
    else if (rc != METASIM_E_NOMEM)
        require(nerr != 0 && count != 0 && nsum == 0, "a failed load has messages and no summary",
                rc, errmsg);
    require(lines_name_file(errmsg, name), "every message line starts with the file name", rc,
            errmsg);
    metasim_model_destroy(m);
    return 0;
}
