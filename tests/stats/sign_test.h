/* The exact sign test shared by the studies' paired experiments (tests/stats/test_*.c). */
#ifndef METASIM_TESTS_SIGN_TEST_H
#define METASIM_TESTS_SIGN_TEST_H

#include <gsl/gsl_cdf.h>

/* One-sided exact sign test: P(X >= wins) for X ~ Binomial(wins + losses, 1/2). Under no effect
 * each pair's difference is as likely to go either way, so its sign is a fair coin. */
static inline double sign_test(unsigned wins, unsigned losses)
{
    return wins ? gsl_cdf_binomial_Q(wins - 1, 0.5, wins + losses) : 1.0;
}

#endif
