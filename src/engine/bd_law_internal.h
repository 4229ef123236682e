/* The transition law of the linear birth-death process: every cell divides at rate b and dies at
 * rate d, independently, with b and d constant over the interval. This is what makes leaps exact
 * (DESIGN.md section 2): over a step of length t the population can be drawn in one go, at a cost
 * that does not depend on the number of cells.
 *
 * From one cell (Kendall 1948; Bailey, "The Elements of Stochastic Processes", 1964, chapter 8):
 *     P(N(t) = 0) = alpha,    P(N(t) = n) = (1 - alpha) (1 - beta) beta^(n-1)  for n >= 1,
 * with r = b - d and E = e^(rt):
 *     alpha = d (E - 1) / (b E - d),    beta = b (E - 1) / (b E - d),
 * and at b = d the limits alpha = beta = b t / (1 + b t). From n0 cells the lineages are
 * independent, so N(t) is a Binomial(n0, 1 - alpha) number S of surviving lineages, each of
 * geometric size: N = S + NegBin(S, 1 - beta). This is the BNB step of Mather, Hasty and Tsimring,
 * "Fast stochastic algorithm for simulating evolutionary population dynamics", Bioinformatics 28
 * (2012) 1230-1238.
 *
 * Validity for every function here: b >= 0, d >= 0 and t >= 0, all finite. Results for other
 * arguments are unspecified. The functions are pure (ms_bd_sample draws from `r` only), so they are
 * thread-safe given one `r` per thread. */
#ifndef METASIM_BD_LAW_INTERNAL_H
#define METASIM_BD_LAW_INTERNAL_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

/* The one-cell law at time t. one_minus_alpha and one_minus_beta are 1 - alpha and 1 - beta
 * computed directly, not by subtraction, so they keep full relative precision when alpha or beta
 * is close to 1: a subcritical lineage surviving a long step (1 - alpha ~ e^(rt)), or a
 * supercritical one growing by e^(rt) (1 - beta ~ e^(-rt)). Use them rather than 1 - alpha. */
typedef struct ms_bd_law {
    double alpha, beta;
    double one_minus_alpha, one_minus_beta;
} ms_bd_law;

/* The one-cell law after time t. Stable for every valid (b, d, t): no cancellation when rt is
 * tiny, when |b - d| is tiny relative to b, or when b or d is 0, and no overflow when rt is large
 * (E is never formed; e^(-|r| t) is). t = 0 gives alpha = beta = 0. */
ms_bd_law ms_bd_law_at(double b, double d, double t);

/* A draw of N(t) given N(0) = n0: S ~ Binomial(n0, 1 - alpha) surviving lineages, then
 * N = S + NegBin(S, 1 - beta), with the exact 64-bit samplers of src/rng/samplers_internal.h.
 * Exact while n0 <= 2^53 and the mean of N is well below 2^52; the result saturates at
 * UINT64_MAX. t = 0 or n0 = 0 returns n0 without drawing. Constant expected time. */
uint64_t ms_bd_sample(gsl_rng *r, uint64_t n0, double b, double d, double t);

/* The same draw from a given one-cell law: S ~ Binomial(n0, 1 - alpha) surviving lineages and
 * N = S + NegBin(S, 1 - beta). ms_bd_sample() is this with ms_bd_law_at(b, d, t); a caller may
 * pass a law that mixes several times (step.c groups arrivals so). n0 = 0 returns 0. */
uint64_t ms_bd_sample_law(gsl_rng *r, uint64_t n0, const ms_bd_law *law);

/* The one-cell law at the end of a group of arrivals (step.c): a cell enters at a time s in
 * [0, w] drawn with density proportional to e^(g s) and grows for t - s (t >= w). The mixture
 * over s, with S ~ Binomial(n, 1 - mean alpha) survivors exactly, and the survivors' sizes
 * geometric with the mixture's mean survivor size (1 + the mean of beta / (1 - beta) weighted
 * by 1 - alpha). So the mean at the end, n e^(r (t - s)) averaged, is exact to the quadrature
 * (3-point Gauss-Legendre, composite over pieces of at most 1/(4 max(b, d)), at most
 * MS_BD_MAX_GROUPS of them: error of order (piece x rate)^6); what the single geometric misses is
 * the spread of survivors' mean sizes within the group, which lowers the variance (docs/engine.md,
 * "Grouped arrivals"). */
ms_bd_law ms_bd_mixed_law(double b, double d, double t, double w, double g);

/* At most this many groups of arrivals (ms_bd_group_count). */
#define MS_BD_MAX_GROUPS 16

/* How many equal groups `count` cells entering a compartment over a time tau are grown in, each
 * by its ms_bd_mixed_law, when the compartment also holds n_own cells grown for t_own (docs/
 * engine.md, "Grouped arrivals"). G0 = 4 b tau rounded up (2 at least, MS_BD_MAX_GROUPS at
 * most) has each group span at most a quarter of the mean division time 1/b, where the
 * variance the mixed law misses is about 1 % of the arrivals' at most. That error falls as
 * 1/G^2 (the spread of a smooth function over a width w is of order w^2), and what matters is
 * the compartment's variance, of which the arrivals are a share: its own cells grow
 * independently. So G = G0 sqrt(share) rounded up, at least 1, bounds the error of the
 * compartment's variance as G0 bounds the arrivals'. The share is over-estimated (each arrival
 * as variable as the most variable lineage over tau), which errs towards more groups. */
int ms_bd_group_count(double b, double d, double tau, uint64_t count, uint64_t n_own, double t_own);

/* E N(t) = n0 e^(rt). */
double ms_bd_mean(uint64_t n0, double b, double d, double t);

/* Var N(t) = n0 (b + d)/(b - d) e^(rt) (e^(rt) - 1), with the limit 2 n0 b t at b = d
 * (Bailey 1964, chapter 8). */
double ms_bd_variance(uint64_t n0, double b, double d, double t);

/* The probability that one cell's lineage dies out eventually: min(1, d/b); 1 when b = 0 < d, and
 * 0 when b = d = 0 (the cell then lives for ever). */
double ms_bd_extinction_ultimate(double b, double d);

#endif
