/* Small scenarios written inline in a test: loading one and starting a patient on it. */
#ifndef METASIM_TESTS_FIXTURE_H
#define METASIM_TESTS_FIXTURE_H

#include <check.h>
#include <string.h>

#include "metasim/metasim.h"

/* The scenario in `yaml` (named t.yaml in messages); the test fails with the loader's message
 * if it is refused. */
static inline metasim_model_t *load_yaml(const char *yaml)
{
    metasim_model_t *m = NULL;
    int rc = metasim_model_load_string("t.yaml", yaml, strlen(yaml), &m);
    ck_assert_msg(rc == 0, "%s", metasim_model_errmsg(m));
    return m;
}

/* Patient `patient` of `seed` on m, with the engine's invariants verified at every step. */
static inline metasim_sim_t *start_sim(const metasim_model_t *m, unsigned long long seed,
                                       unsigned patient)
{
    metasim_sim_options_t o = {.seed = seed, .patient = patient, .verify = 1};
    metasim_sim_t *s = NULL;
    ck_assert_int_eq(metasim_sim_create(m, &o, &s), 0);
    return s;
}

#endif
