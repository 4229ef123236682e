/*
 * Unit parsing. A value is a number in strict decimal syntax (so YAML 1.1 traps such as `yes`,
 * `0x1F`, `1_000` or `.inf` are never numbers) followed by optional spaces and a unit. Months
 * and years are calendar averages: 1 y = 365.25 d, 1 mo = 1 y / 12.
 */
#include "model/units_internal.h"

#include "metasim/metasim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit {
    const char *name;
    double factor; /* value in canonical units of one of this unit */
} unit;

static const unit time_units[] = {{"s", 1.0 / 86400},
                                  {"sec", 1.0 / 86400},
                                  {"second", 1.0 / 86400},
                                  {"seconds", 1.0 / 86400},
                                  {"min", 1.0 / 1440},
                                  {"minute", 1.0 / 1440},
                                  {"minutes", 1.0 / 1440},
                                  {"h", 1.0 / 24},
                                  {"hour", 1.0 / 24},
                                  {"hours", 1.0 / 24},
                                  {"d", 1},
                                  {"day", 1},
                                  {"days", 1},
                                  {"w", 7},
                                  {"week", 7},
                                  {"weeks", 7},
                                  {"mo", 365.25 / 12},
                                  {"month", 365.25 / 12},
                                  {"months", 365.25 / 12},
                                  {"y", 365.25},
                                  {"yr", 365.25},
                                  {"year", 365.25},
                                  {"years", 365.25},
                                  {NULL, 0}};
static const unit mass_units[] = {{"ng", 1e-6}, {"ug", 1e-3}, {"mg", 1},
                                  {"g", 1e3},   {"kg", 1e6},  {NULL, 0}};
static const unit volume_units[] = {{"uL", 1e-6}, {"mL", 1e-3}, {"ml", 1e-3}, {"dL", 0.1},
                                    {"L", 1},     {"l", 1},     {NULL, 0}};
static const unit conc_units[] = {{"ng/mL", 1e-3}, {"ug/L", 1e-3}, {"ug/mL", 1}, {"mg/L", 1},
                                  {"mg/mL", 1e3},  {"g/L", 1e3},   {NULL, 0}};
static const unit length_units[] = {{"um", 1e-4}, {"mm", 0.1}, {"cm", 1}, {NULL, 0}};
static const unit per_kg_units[] = {{"ug/kg", 1e-3}, {"mg/kg", 1}, {"g/kg", 1e3}, {NULL, 0}};
static const unit per_m2_units[] = {{"ug/m2", 1e-3}, {"mg/m2", 1}, {"g/m2", 1e3}, {NULL, 0}};
static const unit cell_units[] = {{"cells", 1}, {"cell", 1}, {NULL, 0}};
static const unit fraction_units[] = {{"%", 0.01}, {NULL, 0}};

const char *ms_units_canonical(ms_dim dim)
{
    switch (dim) {
    case MS_DIM_TIME: return "d";
    case MS_DIM_RATE: return "/d";
    case MS_DIM_MASS: return "mg";
    case MS_DIM_VOLUME: return "L";
    case MS_DIM_FLOW: return "L/d";
    case MS_DIM_CONC: return "mg/L";
    case MS_DIM_LENGTH: return "cm";
    case MS_DIM_PER_KG: return "mg/kg";
    case MS_DIM_PER_M2: return "mg/m2";
    case MS_DIM_CELLS: return "cells";
    case MS_DIM_FRACTION:
    case MS_DIM_NONE: return "";
    }
    return "";
}

const char *ms_units_accepted(ms_dim dim)
{
    switch (dim) {
    case MS_DIM_TIME: return "s, min, h, d, w, mo, y";
    case MS_DIM_RATE: return "/s, /min, /h, /d, /w, /mo, /y";
    case MS_DIM_MASS: return "ng, ug, mg, g, kg";
    case MS_DIM_VOLUME: return "uL, mL, dL, L";
    case MS_DIM_FLOW: return "mL/min, mL/h, L/h, L/d";
    case MS_DIM_CONC: return "ng/mL, ug/L, ug/mL, mg/L, mg/mL, g/L";
    case MS_DIM_LENGTH: return "um, mm, cm";
    case MS_DIM_PER_KG: return "ug/kg, mg/kg, g/kg";
    case MS_DIM_PER_M2: return "ug/m2, mg/m2, g/m2";
    case MS_DIM_CELLS: return "cells";
    case MS_DIM_FRACTION: return "%";
    case MS_DIM_NONE: return "none";
    }
    return "";
}

static const char *dim_word(ms_dim dim)
{
    switch (dim) {
    case MS_DIM_TIME: return "time";
    case MS_DIM_RATE: return "rate";
    case MS_DIM_MASS: return "mass";
    case MS_DIM_VOLUME: return "volume";
    case MS_DIM_FLOW: return "clearance";
    case MS_DIM_CONC: return "concentration";
    case MS_DIM_LENGTH: return "length";
    case MS_DIM_PER_KG: return "dose per body weight";
    case MS_DIM_PER_M2: return "dose per body surface area";
    case MS_DIM_CELLS: return "cell count";
    case MS_DIM_FRACTION: return "fraction";
    case MS_DIM_NONE: return "plain number";
    }
    return "";
}

static int lookup(const unit *table, const char *name, size_t len, double *factor)
{
    for (const unit *u = table; u->name; u++) {
        if (strlen(u->name) == len && memcmp(u->name, name, len) == 0) {
            *factor = u->factor;
            return 0;
        }
    }
    return -1;
}

/* Rates: "/X", "1/X" or "per X" with X a time unit; the factor converts per-X to per-day. */
static int rate_factor(const char *u, size_t len, double *factor)
{
    size_t skip = 0;
    if (len > 1 && u[0] == '/')
        skip = 1;
    else if (len > 2 && u[0] == '1' && u[1] == '/')
        skip = 2;
    else if (len > 4 && memcmp(u, "per ", 4) == 0)
        skip = 4;
    else
        return -1;
    while (skip < len && u[skip] == ' ')
        skip++;
    double per;
    if (lookup(time_units, u + skip, len - skip, &per) != 0)
        return -1;
    *factor = 1.0 / per;
    return 0;
}

/* Clearances: a volume unit, "/", a time unit. */
static int flow_factor(const char *u, size_t len, double *factor)
{
    const char *slash = memchr(u, '/', len);
    if (!slash)
        return -1;
    double vol, per;
    size_t vlen = (size_t)(slash - u);
    if (lookup(volume_units, u, vlen, &vol) != 0 ||
        lookup(time_units, slash + 1, len - vlen - 1, &per) != 0)
        return -1;
    *factor = vol / per;
    return 0;
}

static int unit_factor(ms_dim dim, const char *u, size_t len, double *factor)
{
    switch (dim) {
    case MS_DIM_TIME: return lookup(time_units, u, len, factor);
    case MS_DIM_RATE: return rate_factor(u, len, factor);
    case MS_DIM_MASS: return lookup(mass_units, u, len, factor);
    case MS_DIM_VOLUME: return lookup(volume_units, u, len, factor);
    case MS_DIM_FLOW: return flow_factor(u, len, factor);
    case MS_DIM_CONC: return lookup(conc_units, u, len, factor);
    case MS_DIM_LENGTH: return lookup(length_units, u, len, factor);
    case MS_DIM_PER_KG: return lookup(per_kg_units, u, len, factor);
    case MS_DIM_PER_M2: return lookup(per_m2_units, u, len, factor);
    case MS_DIM_CELLS: return lookup(cell_units, u, len, factor);
    case MS_DIM_FRACTION: return lookup(fraction_units, u, len, factor);
    case MS_DIM_NONE: return -1;
    }
    return -1;
}

static size_t digits(const char *s, size_t i, size_t len)
{
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i - start;
}

/* Length of the strict decimal number at the start of s, or 0 if there is none. */
static size_t number_length(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t whole = digits(s, i, len);
    i += whole;
    size_t frac = 0;
    if (i < len && s[i] == '.') {
        frac = digits(s, i + 1, len);
        if (whole == 0 && frac == 0)
            return 0;
        i += 1 + frac;
    }
    if (whole == 0 && frac == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < len && (s[j] == '+' || s[j] == '-'))
            j++;
        size_t exp = digits(s, j, len);
        if (exp == 0)
            return 0;
        i = j + exp;
    }
    return i;
}

static int is_word(const char *text, size_t len, const char *const *words)
{
    for (; *words; words++)
        if (strlen(*words) == len && memcmp(*words, text, len) == 0)
            return 1;
    return 0;
}

int ms_units_parse(const char *text, size_t len, ms_dim dim, double *value, ms_strbuf *why)
{
    static const char *const bool_words[] = {
        "yes", "no", "on", "off", "true", "false", "Yes", "No", "On", "Off", "True", "False",
        "YES", "NO", "ON", "OFF", "TRUE", "FALSE", "y",   "n",  "Y",  "N",   NULL};
    static const char *const special_words[] = {
        ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".nan",     ".NaN",     ".NAN", "inf",
        "-inf", "nan",   "NaN",   "Inf",  "-Inf", "infinity", "Infinity", NULL};
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len == 0) {
        ms_strbuf_puts(why, "expected a number, got nothing");
        return -1;
    }
    if (is_word(text, len, bool_words)) {
        ms_strbuf_puts(why, "expected a number, got a yes/no word (YAML 1.1 booleans are not "
                            "numbers)");
        return -1;
    }
    if (is_word(text, len, special_words)) {
        ms_strbuf_puts(why, "must be a finite number");
        return -1;
    }
    size_t n = number_length(text, len);
    if (n > 0 && n < len && (text[n] == 'x' || text[n] == 'X' || text[n] == 'o') &&
        text[n - 1] == '0' && n <= 2) {
        ms_strbuf_puts(why, "hexadecimal and octal numbers are not allowed: write it in decimal");
        return -1;
    }
    if (n > 0 && n < len && text[n] == '_') {
        ms_strbuf_puts(why, "digit separators (_) are not allowed: write 1000, or 1e3");
        return -1;
    }
    if (n == 0) {
        ms_strbuf_puts(why, "expected a number");
        if (dim != MS_DIM_NONE && dim != MS_DIM_FRACTION && dim != MS_DIM_CELLS)
            ms_strbuf_printf(why, " with an optional unit (%s)", ms_units_accepted(dim));
        return -1;
    }
    char buf[64];
    if (n >= sizeof buf) {
        ms_strbuf_puts(why, "number has too many digits");
        return -1;
    }
    memcpy(buf, text, n);
    buf[n] = '\0';
    errno = 0;
    double x = strtod(buf, NULL);
    if (errno == ERANGE && fabs(x) > 1.0) {
        ms_strbuf_puts(why, "number too large for a double");
        return -1;
    }
    if (errno == ERANGE)
        x = 0.0 * x; /* underflow to (signed) zero is harmless: keep it */
    if (!isfinite(x)) {
        ms_strbuf_puts(why, "must be a finite number");
        return -1;
    }
    size_t i = n;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    double factor = 1.0;
    if (i < len) {
        if (unit_factor(dim, text + i, len - i, &factor) != 0) {
            ms_strbuf_puts(why, "unit ");
            ms_strbuf_quote(why, text + i, len - i, 24);
            if (dim == MS_DIM_NONE)
                ms_strbuf_puts(why, " not allowed: this field is a plain number");
            else
                ms_strbuf_printf(why, " is not a %s unit (use %s)", dim_word(dim),
                                 ms_units_accepted(dim));
            return -1;
        }
    }
    x *= factor;
    if (!isfinite(x)) {
        ms_strbuf_puts(why, "number too large after unit conversion");
        return -1;
    }
    *value = x;
    return 0;
}

int metasim_parse_time(const char *text, double *days)
{
    if (!text || !days)
        return METASIM_E_ARG;
    ms_strbuf why = {0};
    double x = 0;
    int rc = ms_units_parse(text, strlen(text), MS_DIM_TIME, &x, &why);
    ms_strbuf_free(&why);
    if (rc != 0)
        return METASIM_E_ARG;
    *days = x;
    return 0;
}
