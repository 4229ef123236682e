/*
 * Pharmacokinetics of one drug under a dosing schedule, exact: the concentration in the central
 * compartment at any time and its mean over any interval, for the engine's drug effects
 * (DESIGN.md section 1, "Drugs").
 *
 * The models are the linear one- and two-compartment models with elimination from the central
 * compartment, dosed by IV bolus, zero-order IV infusion, or oral first-order absorption from a
 * gut depot (Gibaldi and Perrier, "Pharmacokinetics", 2nd ed., 1982, chapters 1-3; Rowland and
 * Tozer, "Clinical Pharmacokinetics and Pharmacodynamics", 4th ed., 2011):
 *
 *     gut:        dG/dt  = -ka G                              (an oral dose D adds F D to G)
 *     central:    dA1/dt =  ka G + R(t) - (k10 + k12) A1 + k21 A2   (a bolus adds D to A1)
 *     peripheral: dA2/dt =  k12 A1 - k21 A2
 *     C(t) = A1(t) / V1,
 *
 * with k10 = ln 2 / half_life (so for two compartments the half-life is that of k10, not the
 * terminal one, as docs/scenario.md says), k12 = Q / V1, k21 = Q / V2, and R(t) the sum of the
 * rates D / T of the infusions under way. Every response is a closed form in exponentials of the
 * macro-rate constants alpha > beta (the roots of l^2 - (k10 + k12 + k21) l + k10 k21) and ka,
 * written so that no term cancels another (pk.c explains how); ka equal to alpha, beta or k10
 * gives the t exp(-k t) limits without special cases.
 *
 * By linearity the state at any time is the superposition of the responses to every earlier
 * dose. ms_pk_create() evaluates that superposition once, at every dosing event (a dose, or an
 * infusion's end), and keeps the state (G, A1, A2) there; a query then propagates the state of
 * the last event before it in closed form. A query costs O(log n) for n events plus, for
 * ms_pk_mean(), O(1) per event inside the interval; it allocates nothing.
 *
 * The handle is immutable after ms_pk_create(), so it may be shared by threads.
 */
#ifndef METASIM_PK_INTERNAL_H
#define METASIM_PK_INTERNAL_H

#include <stddef.h>

#include "core/strbuf_internal.h"
#include "model/model_internal.h"

/* At most this many doses per drug and schedule (ms_pk_create() refuses more): a dose a day for
 * more than 2700 years. */
#define MS_PK_MAX_DOSES 1000000

/* One drug's schedule. */
typedef struct ms_pk ms_pk;

/*
 * Builds the schedule of drug `drug` (index `drug_index` in the model) from the dosing records
 * `doses[0..n_doses)` whose .drug is drug_index (the others are ignored): record i gives a dose
 * of .amount mg at t0 + .start + j .interval for j = 0, ..., .additional; a dose with .infusion
 * > 0 is infused at a constant rate over that many days, otherwise it is a bolus (IV) or swallowed
 * (oral). The schedule stops at t_end (INFINITY for none): no dose is given at or after it, and
 * an infusion under way then ends there. No matching record gives an empty schedule, whose
 * concentration is 0 for ever.
 *
 * Returns 0 and sets *out (free with ms_pk_free()), or a negative code with *out = NULL and the
 * reason appended to `why` (which may be NULL) as "doses[I].FIELD: ..." (I indexes `doses`; the
 * caller prefixes "arms.NAME.") or "drugs.NAME.pk.FIELD: ...": METASIM_E_INVALID for an oral dose
 * with an infusion time, or PK parameters or dosing records outside the ranges of docs/scenario.md
 * (the model loader has already refused those, so this is a second line of defence);
 * METASIM_E_LIMIT for more than MS_PK_MAX_DOSES doses; METASIM_E_NOMEM.
 */
int ms_pk_create(const ms_drug *drug, const ms_dose *doses, size_t n_doses, size_t drug_index,
                 double t0, double t_end, ms_pk **out, ms_strbuf *why);

/* Releases the schedule; NULL is a no-op. */
void ms_pk_free(ms_pk *pk);

/* The concentration in the central compartment at time t, mg/L: 0 before the first dose and at
 * t = +INFINITY, NaN for NaN. A dose at exactly t is included (a bolus gives its peak). */
double ms_pk_concentration(const ms_pk *pk, double t);

/* The mean concentration over [t0, t1], mg/L: the exact integral of the closed forms divided by
 * t1 - t0 (the arguments may come in either order); ms_pk_concentration(t0) when t0 == t1, and
 * 0 when one end is infinite and the other finite. */
double ms_pk_mean(const ms_pk *pk, double t0, double t1);

/* The time from which the concentration stays below the drug's `negligible` level (ms_drug)
 * for ever: at the last dosing event or after it, found by bounding the concentration with all
 * the drug left in the body over V1, which cannot grow without input. -INFINITY for an empty
 * schedule; INFINITY when `negligible` is 0. */
double ms_pk_quiet_from(const ms_pk *pk);

/* The first dosing event strictly after t: a dose, or the end of an infusion; INFINITY when there
 * is none. The concentration is smooth between consecutive events. */
double ms_pk_next_event(const ms_pk *pk, double t);

/* The number of distinct event times (doses and infusion ends) of the schedule. */
size_t ms_pk_events(const ms_pk *pk);

#endif
