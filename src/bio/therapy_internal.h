/* The running state of therapy in one simulation (therapy.c): lines of the assigned arm and
 * the segments of dosing they have given. */
#ifndef METASIM_THERAPY_INTERNAL_H
#define METASIM_THERAPY_INTERNAL_H

#include <stddef.h>

struct ms_pk;

typedef enum ms_line_status {
    MS_LINE_WAITING,   /* its clinical event has not happened */
    MS_LINE_SCHEDULED, /* starts at `start` */
    MS_LINE_ON,        /* dosing */
    MS_LINE_PAUSED,    /* adaptive therapy: paused on a low burden */
    MS_LINE_DONE,      /* stopped or completed */
} ms_line_status;

typedef struct ms_line_run {
    ms_line_status status;
    double start;   /* d: when the line starts or started; NaN while waiting */
    size_t segment; /* index of the running segment, SIZE_MAX when none */
} ms_line_run;

/* One dose as given: time, drug, mg, infusion time. */
typedef struct ms_dose_given {
    double t;
    size_t drug;
    double amount, infusion;
} ms_dose_given;

typedef struct ms_segment {
    size_t line;          /* index into the arm's lines */
    double t0, t_end;     /* d: the first cycle's start; no doses from t_end on */
    double finish;        /* d: the end of the last dose given (infusions included) */
    struct ms_pk **pk;    /* per drug; NULL when the regimen does not give it */
    ms_dose_given *given; /* the doses, in time order */
    size_t n_given;
    size_t next_given; /* doses before this one have been reported */
} ms_segment;

#endif
