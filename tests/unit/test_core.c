/* Unit tests for src/core: version, the error table, strings and diagnostics. */
#include "unit_test.h"
#include <stdlib.h>
#include <string.h>

#include "core/diag_internal.h"
#include "core/strbuf_internal.h"
#include "metasim/metasim.h"

START_TEST(test_version)
{
    ck_assert_str_eq(metasim_version(), METASIM_VERSION_STRING);
    ck_assert_int_eq(metasim_version_number(), METASIM_VERSION_NUMBER);
    ck_assert_int_eq(METASIM_VERSION_NUMBER, METASIM_VERSION_MAJOR * 10000 +
                                                 METASIM_VERSION_MINOR * 100 +
                                                 METASIM_VERSION_PATCH);
}
END_TEST

START_TEST(test_strerror_table)
{
    /* Every code in the table is negative, distinct and described. */
    static const int codes[] = {
#define CODE(name, value, text) METASIM_E_##name,
        METASIM_ERROR_MAP(CODE)
#undef CODE
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_lt(codes[i], 0);
        ck_assert_str_ne(metasim_strerror(codes[i]), "unknown error");
        for (size_t k = 0; k < i; k++)
            ck_assert_int_ne(codes[i], codes[k]);
    }
    ck_assert_str_eq(metasim_strerror(METASIM_OK), "success");
    ck_assert_str_eq(metasim_strerror(-9999), "unknown error");
    ck_assert_str_eq(metasim_strerror(42), "unknown error");
}
END_TEST

START_TEST(test_null_is_safe)
{
    metasim_free(NULL);
    metasim_model_destroy(NULL);
    ck_assert_str_eq(metasim_model_errmsg(NULL), "");
    ck_assert_uint_eq(metasim_model_error_count(NULL), 0);
    ck_assert_str_eq(metasim_model_summary(NULL), "");
    ck_assert_ptr_null(metasim_model_source(NULL));
    ck_assert_int_eq(metasim_model_load_file("x.yaml", NULL), METASIM_E_ARG);
    metasim_model_t *m = (metasim_model_t *)&m;
    ck_assert_int_eq(metasim_model_load_file(NULL, &m), METASIM_E_ARG);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_strbuf)
{
    ms_strbuf sb = {0};
    ck_assert_str_eq(ms_strbuf_str(&sb), "");
    ms_strbuf_printf(&sb, "%d-%s", 12, "ab");
    ms_strbuf_puts(&sb, "!");
    ck_assert_str_eq(ms_strbuf_str(&sb), "12-ab!");
    for (int i = 0; i < 1000; i++)
        ms_strbuf_puts(&sb, "xyz");
    ck_assert_uint_eq(sb.len, 6 + 3000);
    ms_strbuf_free(&sb);

    ms_strbuf_quote(&sb, "a\nb\x01\\", 5, 100);
    ck_assert_str_eq(ms_strbuf_str(&sb), "'a\\nb\\x01\\\\'");
    ms_strbuf_free(&sb);
    ms_strbuf_quote(&sb, "abcdef", 6, 3);
    ck_assert_str_eq(ms_strbuf_str(&sb), "'abc...'");
    char *taken = ms_strbuf_take(&sb);
    ck_assert_str_eq(taken, "'abc...'");
    free(taken);
    taken = ms_strbuf_take(&sb); /* an empty buffer gives "" the caller owns */
    ck_assert_str_eq(taken, "");
    free(taken);
}
END_TEST

START_TEST(test_diag_sorted_and_capped)
{
    ms_diag d = {.file = "f.yaml"};
    ms_diag_add(&d, 9, 1, "b", "second");
    ms_diag_add(&d, 2, 5, "a", "first %d", 1);
    ms_diag_add(&d, 0, 0, NULL, "whole file");
    ms_strbuf sb = {0};
    ms_diag_format(&d, &sb);
    ck_assert_str_eq(ms_strbuf_str(&sb),
                     "f.yaml: whole file\nf.yaml:2:5: a: first 1\nf.yaml:9:1: b: second\n");
    ms_strbuf_free(&sb);
    for (int i = 0; i < 100; i++)
        ms_diag_add(&d, i + 10, 1, "x", "many");
    ck_assert_uint_eq(d.count, MS_DIAG_MAX_KEPT);
    ck_assert_uint_eq(d.total, 103);
    ms_diag_format(&d, &sb);
    ck_assert_ptr_nonnull(strstr(ms_strbuf_str(&sb), "53 more mistakes not shown"));
    ms_strbuf_free(&sb);
    ms_diag_free(&d);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_strerror_table);
    tcase_add_test(tc, test_null_is_safe);
    tcase_add_test(tc, test_strbuf);
    tcase_add_test(tc, test_diag_sorted_and_capped);
    suite_add_tcase(s, tc);
    return s;
}
