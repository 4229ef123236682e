/* Unit tests for unit parsing (src/model/units.c): conversions to canonical units and the
 * YAML traps (booleans, infinities, hex, underscores) that must never read as numbers. */
#include "unit_test.h"
#include <math.h>
#include <string.h>

#include "model/units_internal.h"

static double parse_ok(const char *text, ms_dim dim)
{
    ms_strbuf why = {0};
    double x = -12345;
    int rc = ms_units_parse(text, strlen(text), dim, &x, &why);
    ck_assert_msg(rc == 0, "'%s' rejected: %s", text, ms_strbuf_str(&why));
    ms_strbuf_free(&why);
    return x;
}

static void parse_bad(const char *text, ms_dim dim, const char *reason)
{
    ms_strbuf why = {0};
    double x = -12345;
    int rc = ms_units_parse(text, strlen(text), dim, &x, &why);
    ck_assert_msg(rc != 0, "'%s' accepted as %g", text, x);
    ck_assert_msg(strstr(ms_strbuf_str(&why), reason) != NULL, "'%s': got '%s', want '%s'", text,
                  ms_strbuf_str(&why), reason);
    ck_assert_double_eq(x, -12345); /* untouched on failure */
    ms_strbuf_free(&why);
}

#define ck_assert_close(a, b) ck_assert_double_eq_tol((a), (b), 1e-12 * fabs((double)(b)))

START_TEST(test_numbers)
{
    ck_assert_double_eq(parse_ok("1e-6", MS_DIM_NONE), 1e-6);
    ck_assert_double_eq(parse_ok("3.5E9", MS_DIM_NONE), 3.5e9);
    ck_assert_double_eq(parse_ok("-0.25", MS_DIM_NONE), -0.25);
    ck_assert_double_eq(parse_ok("+.5", MS_DIM_NONE), 0.5);
    ck_assert_double_eq(parse_ok("7.", MS_DIM_NONE), 7.0);
    ck_assert_double_eq(parse_ok("1e-400", MS_DIM_NONE), 0.0); /* underflow is zero */
    parse_bad("yes", MS_DIM_NONE, "yes/no");
    parse_bad("off", MS_DIM_TIME, "yes/no");
    parse_bad("True", MS_DIM_NONE, "yes/no");
    parse_bad(".inf", MS_DIM_NONE, "finite");
    parse_bad(".nan", MS_DIM_NONE, "finite");
    parse_bad("nan", MS_DIM_RATE, "finite");
    parse_bad("1e999", MS_DIM_NONE, "too large");
    parse_bad("0x1F", MS_DIM_NONE, "hexadecimal");
    parse_bad("1_000", MS_DIM_NONE, "digit separators");
    parse_bad("", MS_DIM_NONE, "got nothing");
    parse_bad("e5", MS_DIM_NONE, "expected a number");
    parse_bad(".", MS_DIM_NONE, "expected a number");
    parse_bad("1e", MS_DIM_NONE, "expected a number");
    parse_bad("5 d", MS_DIM_NONE, "plain number");
}
END_TEST

START_TEST(test_times)
{
    ck_assert_double_eq(parse_ok("36 h", MS_DIM_TIME), 1.5);
    ck_assert_double_eq(parse_ok("36h", MS_DIM_TIME), 1.5);
    ck_assert_double_eq(parse_ok("5 y", MS_DIM_TIME), 5 * 365.25);
    ck_assert_double_eq(parse_ok("2 w", MS_DIM_TIME), 14);
    ck_assert_double_eq(parse_ok("3 days", MS_DIM_TIME), 3);
    ck_assert_double_eq(parse_ok("12", MS_DIM_TIME), 12); /* bare: canonical days */
    ck_assert_close(parse_ok("6 mo", MS_DIM_TIME), 365.25 / 2);
    ck_assert_close(parse_ok("90 min", MS_DIM_TIME), 90.0 / 1440);
    ck_assert_close(parse_ok("86400 s", MS_DIM_TIME), 1.0);
    parse_bad("5 kg", MS_DIM_TIME, "not a time unit (use s, min, h, d, w, mo, y)");
    parse_bad("5 /d", MS_DIM_TIME, "not a time unit");
    parse_bad("5 D", MS_DIM_TIME, "not a time unit"); /* units are case-sensitive */
}
END_TEST

START_TEST(test_rates)
{
    ck_assert_double_eq(parse_ok("0.1 /d", MS_DIM_RATE), 0.1);
    ck_assert_close(parse_ok("2 /w", MS_DIM_RATE), 2.0 / 7);
    ck_assert_close(parse_ok("2/w", MS_DIM_RATE), 2.0 / 7);
    ck_assert_double_eq(parse_ok("1 /h", MS_DIM_RATE), 24);
    ck_assert_close(parse_ok("0.5 1/y", MS_DIM_RATE), 0.5 / 365.25);
    ck_assert_double_eq(parse_ok("3 per day", MS_DIM_RATE), 3);
    ck_assert_double_eq(parse_ok("0.3", MS_DIM_RATE), 0.3);
    parse_bad("0.1 d", MS_DIM_RATE, "not a rate unit");
    parse_bad("0.1 /kg", MS_DIM_RATE, "not a rate unit");
    parse_bad("0.1 /", MS_DIM_RATE, "not a rate unit");
}
END_TEST

START_TEST(test_other_dimensions)
{
    ck_assert_double_eq(parse_ok("60 mg", MS_DIM_MASS), 60);
    ck_assert_double_eq(parse_ok("1.5 g", MS_DIM_MASS), 1500);
    ck_assert_double_eq(parse_ok("500 ug", MS_DIM_MASS), 0.5);
    ck_assert_double_eq(parse_ok("250 mL", MS_DIM_VOLUME), 0.25);
    ck_assert_double_eq(parse_ok("5 L", MS_DIM_VOLUME), 5);
    ck_assert_double_eq(parse_ok("50 L/h", MS_DIM_FLOW), 1200);
    ck_assert_close(parse_ok("100 mL/min", MS_DIM_FLOW), 144);
    ck_assert_double_eq(parse_ok("2 ug/mL", MS_DIM_CONC), 2);
    ck_assert_close(parse_ok("300 ng/mL", MS_DIM_CONC), 0.3);
    ck_assert_double_eq(parse_ok("1e9 cells", MS_DIM_CELLS), 1e9);
    ck_assert_double_eq(parse_ok("25 %", MS_DIM_FRACTION), 0.25);
    ck_assert_double_eq(parse_ok("0.25", MS_DIM_FRACTION), 0.25);
    parse_bad("5 mg", MS_DIM_VOLUME, "not a volume unit");
    parse_bad("5 L", MS_DIM_FLOW, "not a clearance unit");
    parse_bad("5 kg", MS_DIM_FRACTION, "not a fraction unit");
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("units");
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_times);
    tcase_add_test(tc, test_rates);
    tcase_add_test(tc, test_other_dimensions);
    suite_add_tcase(s, tc);
    return s;
}
