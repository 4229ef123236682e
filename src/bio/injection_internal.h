/* Injections of cells into the circulation by an arm's schedule (injection.c). */
#ifndef METASIM_INJECTION_INTERNAL_H
#define METASIM_INJECTION_INTERNAL_H

#include "metasim/metasim.h"

/* Gives every injection of the assigned arm whose time has come and that has not been given,
 * in the order written. Called by ms_therapy_update() at every step's end, after the lines.
 * Returns 0 or a negative METASIM_E_* code (with s's message set for a limit). */
int ms_injection_update(metasim_sim_t *s);

/* The time of the assigned arm's next injection not yet given; +inf when none. */
double ms_injection_next(const metasim_sim_t *s);

#endif
