/* Exact samplers for counts beyond 32 bits. gsl_ran_poisson and gsl_ran_binomial take and return
 * `unsigned int`, but cell counts reach 1e12-1e15, so the leap engine (DESIGN.md section 2) needs
 * Poisson, binomial and negative binomial draws whose parameters and results are 64-bit. Each
 * sampler takes constant expected time whatever its mean, and is exact: its output has the stated
 * law up to the rounding of double arithmetic in its acceptance tests, not an approximation such
 * as a normal one. "Exact" below means that.
 *
 * All draws come from `r`, normally of type ms_rng_philox (stream_internal.h); any gsl_rng works.
 * The samplers keep no state of their own, so they are thread-safe as long as each thread draws
 * from its own `r`. */
#ifndef METASIM_SAMPLERS_INTERNAL_H
#define METASIM_SAMPLERS_INTERNAL_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

/* The largest mean for which ms_ran_poisson64 is exact: a draw then stays below 2^53 (with
 * overwhelming probability), where every integer is a double, so no count is rounded. */
#define MS_RAN_EXACT_MAX 0x1p52

/* A Poisson(mu) draw. Exact for 0 <= mu <= MS_RAN_EXACT_MAX: the direct method of gsl_ran_poisson
 * below mu = 10, Hörmann's PTRS above. Above MS_RAN_EXACT_MAX the draw is still PTRS in double
 * arithmetic but is only as fine as the doubles near mu (relative error below 2^-52); it
 * saturates at UINT64_MAX. mu <= 0 or NaN gives 0. */
uint64_t ms_ran_poisson64(gsl_rng *r, double mu);

/* A Binomial(n, p) draw. Exact for n <= 2^53 and 0 <= p <= 1: inversion when min(p, 1-p) (n+1)
 * is below 11, Hörmann's BTRD otherwise. p <= 0 or NaN gives 0, p >= 1 gives n; n = 0 gives 0.
 * Above 2^53 the result is still in [0, n] but n is rounded to a double. */
uint64_t ms_ran_binomial64(gsl_rng *r, double p, uint64_t n);

/* A negative binomial draw: the number of failures before the n-th success in Bernoulli trials
 * with success probability p (gsl_ran_negative_binomial's convention; n need not be an integer),
 * mean n (1-p)/p. Drawn as the gamma-Poisson mixture Poisson(Gamma(n, (1-p)/p)), so exact while
 * the mean is well below MS_RAN_EXACT_MAX. n <= 0 or NaN gives 0; p >= 1 gives 0; p <= 0 (or NaN)
 * gives UINT64_MAX, the saturated infinite count. */
uint64_t ms_ran_negbin64(gsl_rng *r, double p, double n);

/* The same law as ms_ran_negbin64 with the odds (1-p)/p given instead of p, for callers that know
 * 1-p more accurately than p would carry it (p within 1e-6 of 1, say). odds <= 0 gives 0,
 * odds = +inf gives UINT64_MAX. */
uint64_t ms_ran_negbin64_odds(gsl_rng *r, double odds, double n);

/* log P(X = k) for X ~ Poisson(mu), for integers k >= 0 and mu > 0; and for X ~ Binomial(n, p),
 * for integers 0 <= k <= n <= 2^53 and 0 < p < 1. These are the acceptance tests'
 * log-probabilities, in Loader's saddle-point form, accurate to about 1e-14 absolute even where
 * the textbook k log(mu) - mu - lgamma(k+1) loses everything to cancellation (at mu = 1e15 an ulp
 * of its terms is 4). They are exported for tests and for likelihoods. */
double ms_ran_log_poisson_pmf(double k, double mu);
double ms_ran_log_binomial_pmf(double k, double n, double p);

#endif
