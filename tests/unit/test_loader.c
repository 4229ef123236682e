/* Unit tests for the scenario loader: the built-in scenarios, typed values in canonical units,
 * defaults, messages, cross-field rules, the field table's own consistency, and that
 * docs/scenario.md is the reference the table generates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"
#include "model/model_internal.h"
#include "model/schema_internal.h"
#include "unit_test.h"

static const char minimal[] = "scenario: {name: tiny}\n"
                              "time: {horizon: 1 y}\n"
                              "sites:\n"
                              "  breast: {division: {cycling: 0.3 /d}, death: {cycling: 0.1}}\n"
                              "primary: {site: breast}\n";

static metasim_model_t *load_ok(const char *text)
{
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("t.yaml", text, strlen(text), &m);
    ck_assert_msg(rc == 0, "load failed (%s):\n%s", metasim_strerror(rc), metasim_model_errmsg(m));
    return m;
}

/* Loads a broken scenario and returns its messages (caller frees with the model). */
static metasim_model_t *load_bad(const char *text, int want_rc, const char *want_msg)
{
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("t.yaml", text, strlen(text), &m);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(rc == want_rc, "rc %d (%s), want %d; messages:\n%s", rc, metasim_strerror(rc),
                  want_rc, metasim_model_errmsg(m));
    ck_assert_msg(strstr(metasim_model_errmsg(m), want_msg) != NULL, "want '%s' in:\n%s", want_msg,
                  metasim_model_errmsg(m));
    ck_assert_str_eq(metasim_model_summary(m), "");
    ck_assert_str_eq(metasim_model_name(m), "");
    return m;
}

START_TEST(test_builtins_load)
{
    size_t n = 0;
    for (; metasim_builtin_name(n); n++) {
        metasim_model_t *m = NULL;
        int rc = metasim_model_load_builtin(metasim_builtin_name(n), &m);
        ck_assert_msg(rc == 0, "%s: %s", metasim_builtin_name(n), metasim_model_errmsg(m));
        ck_assert_str_eq(metasim_model_errmsg(m), "");
        ck_assert_uint_eq(metasim_model_error_count(m), 0);
        metasim_model_destroy(m);
    }
    ck_assert_uint_ge(n, 1);
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_builtin("no_such_scenario", &m), METASIM_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(metasim_model_errmsg(m), "no built-in scenario"));
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_breast_demo_values)
{
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_builtin("breast_demo", &m), 0);
    ck_assert_str_eq(metasim_model_name(m), "breast_demo");
    ck_assert_double_eq(m->horizon, 20 * 365.25);
    ck_assert_double_eq(m->output_interval, 30);
    ck_assert(m->has_seed);
    ck_assert_uint_eq(m->seed, 20261122);
    ck_assert_uint_eq(m->n_sites, 6);
    ck_assert_str_eq(m->sites[m->primary_site].name, "breast");
    const ms_site *bone = &m->sites[2];
    ck_assert_str_eq(bone->name, "bone");
    ck_assert_double_eq(bone->blood_flow, 0.05);
    ck_assert_int_eq(bone->growth, MS_GROWTH_GOMPERTZ);
    ck_assert_double_eq(bone->death[MS_STATE_DORMANT], 0.0005);
    ck_assert_double_eq(bone->division[MS_STATE_DORMANT], 0); /* not listed: no division */
    ck_assert_uint_eq(m->n_drugs, 1);
    ck_assert_double_eq(m->drugs[0].half_life, 1.25);
    ck_assert_double_eq(m->drugs[0].clearance_q, 1200);
    ck_assert_int_eq(m->drugs[0].pk_model, MS_PK_TWO_COMPARTMENT);
    ck_assert_uint_eq(m->n_arms, 2);
    ck_assert_uint_eq(m->arms[0].n_lines, 0);
    ck_assert_uint_eq(m->arms[1].n_lines, 1);
    ck_assert_int_eq(m->arms[1].lines[0].start, MS_ANCHOR_SURGERY);
    ck_assert_double_eq(m->arms[1].lines[0].delay, 28);
    const ms_regimen *reg = &m->regimens[m->arms[1].lines[0].regimen];
    ck_assert_uint_eq(reg->cycles, 4);
    ck_assert_double_eq(reg->cycle_length, 21);
    ck_assert_int_eq(reg->doses[0].basis, MS_DOSE_PER_M2);
    ck_assert_double_eq(reg->doses[0].amount, 60);
    ck_assert_double_eq_tol(reg->doses[0].infusion, 15.0 / 1440, 1e-15);
    /* Mosteller: sqrt(170 cm x 70 kg / 3600) = 1.8181 m2, the defaults. */
    ck_assert_double_eq_tol(m->surface, sqrt(170.0 * 70 / 3600), 1e-12);
    ck_assert_ptr_nonnull(strstr(metasim_model_summary(m), "breast_demo"));
    ck_assert_ptr_nonnull(strstr(metasim_model_source(m), "name: breast_demo"));
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_defaults)
{
    metasim_model_t *m = load_ok(minimal);
    ck_assert_double_eq(m->output_interval, 30);
    ck_assert(!m->has_seed);
    ck_assert_uint_eq(m->n_states, 2);
    ck_assert_int_eq(m->sites[0].growth, MS_GROWTH_EXPONENTIAL);
    ck_assert_double_eq(m->sites[0].colonisation, 0);
    ck_assert_double_eq(m->sites[0].division[MS_STATE_CYCLING], 0.3);
    ck_assert_uint_eq(m->initial_cells, 1);
    ck_assert_double_eq(m->detection_cells, 1e9);
    ck_assert_uint_eq(m->n_drugs + m->n_arms + m->n_loci, 0);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_all_mistakes_reported_in_order)
{
    const char *text = "scenario: {name: tiny}\n"
                       "time: {horizon: -1 y}\n"
                       "sites:\n"
                       "  breast: {colonization: 0.1, growth: logistik}\n"
                       "primary: {site: brest}\n";
    metasim_model_t *m =
        load_bad(text, METASIM_E_INVALID, "t.yaml:2:17: time.horizon: must be > 0 (got -1 y)");
    const char *msg = metasim_model_errmsg(m);
    ck_assert_uint_eq(metasim_model_error_count(m), 4);
    const char *a = strstr(
        msg,
        "t.yaml:4:12: sites.breast: unknown field 'colonization'; did you mean 'colonisation'?");
    const char *b = strstr(msg, "t.yaml:4:39: sites.breast.growth: must be one of exponential, "
                                "logistic, gompertz (got logistik); did you mean 'logistic'?");
    const char *c =
        strstr(msg, "t.yaml:5:17: primary.site: unknown site 'brest'; did you mean 'breast'?");
    ck_assert_msg(a && b && c && a < b && b < c, "messages:\n%s", msg);
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_cross_field_rules)
{
    metasim_model_destroy(load_bad(
        "scenario: {name: a}\ntime: {horizon: 1}\nsites: {b: {growth: gompertz}}\n"
        "primary: {site: b}\n",
        METASIM_E_INVALID, "t.yaml:3:13: sites.b.growth: gompertz growth needs a 'capacity'"));
    metasim_model_destroy(
        load_bad("scenario: {name: a}\ntime: {horizon: 1}\nsites: {b: {capacity: 1e9}}\n"
                 "primary: {site: b}\n",
                 METASIM_E_INVALID, "sites.b.capacity: has no effect with exponential growth"));
    metasim_model_destroy(
        load_bad("scenario: {name: a}\ntime: {horizon: 1}\n"
                 "sites: {b: {blood_flow: 0.7}, c: {blood_flow: 40 %}}\nprimary: {site: b}\n",
                 METASIM_E_INVALID, "sites: blood_flow shares add up to 1.1, more than 1"));
    metasim_model_destroy(
        load_bad("scenario: {name: a}\ntime: {horizon: 1}\nsites: {b: {}}\nprimary: {site: b}\n"
                 "drugs: {x: {pk: {route: oral, half_life: 1 d, volume: 1 L}}}\n",
                 METASIM_E_INVALID, "drugs.x.pk.route: oral dosing needs 'absorption_rate'"));
    metasim_model_destroy(load_bad(
        "scenario: {name: a}\ntime: {horizon: 1}\nsites: {b: {}}\nprimary: {site: b}\n"
        "drugs: {x: {pk: {half_life: 1 d, volume: 1 L}}}\n"
        "regimens: {a: {doses: [{drug: x, amount: 5 mg, additional: 2}]}}\n",
        METASIM_E_INVALID, "regimens.a.doses[0].additional: repeated doses need an 'interval'"));
    metasim_model_destroy(
        load_bad("scenario: {name: a}\ntime: {horizon: 1}\nstates: [stem, stem]\nsites: {b: {}}\n"
                 "primary: {site: b}\n",
                 METASIM_E_INVALID, "states[1]: state 'stem' is listed twice"));
}
END_TEST

START_TEST(test_shapes_and_traps)
{
    metasim_model_destroy(load_bad("- a\n- b\n", METASIM_E_INVALID, "a scenario is a map"));
    metasim_model_destroy(load_bad("", METASIM_E_SYNTAX, "the file is empty"));
    metasim_model_destroy(load_bad("a: [\n", METASIM_E_SYNTAX, "YAML syntax"));
    metasim_model_destroy(
        load_bad("a: 1\na: 2\n", METASIM_E_SYNTAX, "t.yaml:2:1: YAML syntax: duplicate key"));
    metasim_model_destroy(load_bad("scenario: {name: a, seed: 1.5}\n", METASIM_E_INVALID,
                                   "scenario.seed: must be a whole number (got 1.5)"));
    metasim_model_destroy(
        load_bad("scenario: {name: a, seed: yes}\n", METASIM_E_INVALID, "yes/no word"));
    metasim_model_destroy(load_bad("scenario: {name: 'two words'}\n", METASIM_E_INVALID,
                                   "scenario.name: a name is a letter followed by"));
    metasim_model_destroy(load_bad("scenario:\n  name:\n", METASIM_E_INVALID,
                                   "t.yaml:2:3: scenario.name: no value given"));
    metasim_model_destroy(load_bad("scenario: [a]\n", METASIM_E_INVALID,
                                   "scenario: expected a section of fields, got a list"));
    metasim_model_destroy(load_bad("sites: {'bad name': {}}\n", METASIM_E_INVALID,
                                   "t.yaml:1:10: sites: a name is a letter followed by up to 63 "
                                   "letters, digits and underscores (got 'bad name')"));
    metasim_model_destroy(load_bad("a: !!str 5\n", METASIM_E_SYNTAX, "YAML tags"));
    const char nul[] = "scenario: {name: a}\0garbage";
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_string("t.yaml", nul, sizeof nul - 1, &m),
                     METASIM_E_SYNTAX);
    ck_assert_ptr_nonnull(strstr(metasim_model_errmsg(m), "t.yaml:1:20: NUL byte"));
    metasim_model_destroy(m);
}
END_TEST

START_TEST(test_aliases_expand_within_budget)
{
    /* Anchors share blocks of parameters... */
    metasim_model_t *m = load_ok("scenario: {name: a}\ntime: {horizon: 1}\n"
                                 "sites:\n  b: &tissue {division: {cycling: 0.2}}\n  c: *tissue\n"
                                 "primary: {site: b}\n");
    ck_assert_double_eq(m->sites[1].division[MS_STATE_CYCLING], 0.2);
    metasim_model_destroy(m);
    /* ...but an exponential expansion stops at the node budget. */
    char text[2048] = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 9; i++) {
        char line[128];
        snprintf(line, sizeof line,
                 "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
                 i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        strcat(text, line);
    }
    metasim_model_destroy(load_bad(text, METASIM_E_LIMIT, "more than 200000 values"));
}
END_TEST

START_TEST(test_files)
{
    metasim_model_t *m = NULL;
    ck_assert_int_eq(metasim_model_load_file("/nonexistent/dir/x.yaml", &m), METASIM_E_IO);
    ck_assert_str_eq(metasim_model_errmsg(m),
                     "/nonexistent/dir/x.yaml: cannot open: No such file or directory\n");
    ck_assert_ptr_null(metasim_model_source(m));
    metasim_model_destroy(m);
    ck_assert_int_eq(metasim_model_load_file("/", &m), METASIM_E_IO);
    ck_assert_ptr_nonnull(strstr(metasim_model_errmsg(m), "is a directory"));
    metasim_model_destroy(m);
    const char *src = getenv("METASIM_SOURCE_DIR");
    ck_assert_ptr_nonnull(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/scenarios/breast_demo.yaml", src);
    ck_assert_int_eq(metasim_model_load_file(path, &m), 0);
    ck_assert_str_eq(metasim_model_name(m), "breast_demo");
    metasim_model_destroy(m);
}
END_TEST

/* The table itself: containers exist for every field, defaults obey their own rules, and
 * required fields have no default (a default would make "required" meaningless). */
START_TEST(test_schema_consistent)
{
    for (size_t i = 0; i < ms_schema_count; i++) {
        const ms_field *f = &ms_schema[i];
        size_t plen = ms_schema_parent_len(f);
        if (plen > 0) {
            const ms_field *parent = ms_schema_find(f->path, plen);
            ck_assert_msg(parent != NULL, "%s: no parent entry", f->path);
            const char *leaf = ms_schema_leaf(f);
            ms_type want = strcmp(leaf, "*") == 0    ? MS_T_MAP
                           : strcmp(leaf, "[]") == 0 ? MS_T_LIST
                                                     : MS_T_SECTION;
            ck_assert_msg(parent->type == want, "%s: parent has the wrong type", f->path);
        }
        for (size_t k = 0; k < i; k++)
            ck_assert_str_ne(f->path, ms_schema[k].path);
        ck_assert_msg(!(f->def && (f->flags & MS_REQUIRED)), "%s: required with default", f->path);
        ck_assert_msg(f->doc && *f->doc, "%s: undocumented", f->path);
        if (f->ref)
            ck_assert_msg(ms_schema_find(f->ref, strlen(f->ref)) != NULL, "%s: bad ref", f->path);
        if (f->def && (f->type == MS_T_NUMBER || f->type == MS_T_INTEGER)) {
            ms_strbuf why = {0};
            double x = 0;
            ck_assert_msg(ms_units_parse(f->def, strlen(f->def), f->dim, &x, &why) == 0,
                          "%s: default: %s", f->path, ms_strbuf_str(&why));
            ck_assert_msg(ms_schema_in_range(f, x), "%s: default out of range", f->path);
            ms_strbuf_free(&why);
        }
        if (f->def && f->type == MS_T_ENUM) {
            size_t n = strlen(f->def);
            const char *p = strstr(f->choices, f->def);
            ck_assert_msg(p && (p == f->choices || p[-1] == '|') && (p[n] == '|' || !p[n]),
                          "%s: default not a choice", f->path);
        }
    }
}
END_TEST

START_TEST(test_reference_matches_docs)
{
    char *ref = metasim_schema_reference();
    ck_assert_ptr_nonnull(ref);
    const char *src = getenv("METASIM_SOURCE_DIR");
    ck_assert_ptr_nonnull(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/scenario.md", src);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t cap = strlen(ref) + 2, len = 0;
    char *doc = calloc(1, cap + 1);
    len = fread(doc, 1, cap, f);
    fclose(f);
    doc[len] = '\0';
    ck_assert_msg(strcmp(doc, ref) == 0,
                  "docs/scenario.md differs from `metasim schema`; regenerate it with "
                  "`make docs` (or build/tools/metasim/metasim schema > docs/scenario.md)");
    free(doc);
    metasim_free(ref);
}
END_TEST

Suite *suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("loader");
    tcase_add_test(tc, test_builtins_load);
    tcase_add_test(tc, test_breast_demo_values);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_all_mistakes_reported_in_order);
    tcase_add_test(tc, test_cross_field_rules);
    tcase_add_test(tc, test_shapes_and_traps);
    tcase_add_test(tc, test_aliases_expand_within_budget);
    tcase_add_test(tc, test_files);
    tcase_add_test(tc, test_schema_consistent);
    tcase_add_test(tc, test_reference_matches_docs);
    suite_add_tcase(s, tc);
    return s;
}
