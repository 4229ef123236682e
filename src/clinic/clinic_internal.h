/* The clinic of one patient: diagnosis and staging, surgery, follow-up scans, relapse and
 * death, read from the simulated lesions (docs/clinic.md). */
#ifndef METASIM_CLINIC_INTERNAL_H
#define METASIM_CLINIC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "metasim/metasim.h"

struct metasim_sim;

typedef struct ms_clinic {
    metasim_clinical_t out; /* what the API reports */
    double detection_cells; /* this patient's size at diagnosis of the primary */
    bool resected;          /* the primary and regional nodes are gone */
    size_t period;          /* current follow-up period (index into the model's scans) */
    double next_scan;       /* NaN when no scan is due */
    double follow_from;     /* start of follow-up: surgery, or diagnosis without surgery */
    /* RECIST 1.1 (docs/clinic.md): the target lesions chosen at the last baseline, their sum
     * of diameters at its smallest since then (cm), and the baseline's time. */
    bool has_baseline;
    double baseline_time, nadir;
    uint32_t targets[5];
    size_t n_targets;
    double last_progression; /* NaN before the first */
} ms_clinic;

/* Takes a new RECIST baseline now (at relapse, at progression, when a line starts). */
void ms_clinic_baseline(struct metasim_sim *s);

/* Sets up the clinic of a new patient; draws its detection size from `rng`'s own stream. */
void ms_clinic_init(struct metasim_sim *s);

/* Applies whatever is due at the current time: diagnosis, surgery, a scan, symptomatic
 * detection, death. Returns 0, METASIM_STOP_DEATH, or a negative code (writer failure). */
int ms_clinic_update(struct metasim_sim *s);

/* The next time the clinic needs a step to end at (surgery, a scan), or +inf. */
double ms_clinic_next(const struct metasim_sim *s);

/* Diameter in cm of a lesion of `cells` cells (a sphere at clinic.cells_per_cm3). */
double ms_clinic_diameter(const metasim_model_t *m, double cells);

#endif
