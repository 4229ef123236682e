/*
 * The scenario format: every field a scenario may hold, with its type, unit, allowed range,
 * default and meaning. Adding a model feature starts here; validation, messages and the
 * reference in docs/scenario.md follow from this table.
 */
#include "model/schema_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metasim/metasim.h"

/* Range shorthands. */
#define POSITIVE .flags = MS_LO_OPEN, .lo = 0
#define NONNEGATIVE .flags = MS_LO_CLOSED, .lo = 0
#define UNIT_INTERVAL .flags = MS_LO_CLOSED | MS_HI_CLOSED, .lo = 0, .hi = 1
#define AT_LEAST(x) .flags = MS_LO_CLOSED, .lo = (x)
#define REQUIRED_POSITIVE .flags = MS_REQUIRED | MS_LO_OPEN, .lo = 0

const ms_field ms_schema[] = {
    /* ------------------------------------------------------------ scenario */
    {"scenario", MS_T_SECTION, .flags = MS_REQUIRED,
     .doc = "What this scenario is: name, description and master seed."},
    {"scenario.name", MS_T_NAME, .flags = MS_REQUIRED,
     .doc = "Short identifier, recorded with every result (letters, digits, underscores)."},
    {"scenario.description", MS_T_STRING, .def = "",
     .doc = "Free text describing the scenario and its sources."},
    {"scenario.seed", MS_T_INTEGER, .flags = MS_LO_CLOSED, .lo = 0,
     .doc = "Master random seed. When absent, a run draws one, prints it and stores it with "
            "its results."},

    /* ------------------------------------------------------------ time */
    {"time", MS_T_SECTION, .flags = MS_REQUIRED, .doc = "Time frame of a simulated patient."},
    {"time.horizon", MS_T_NUMBER, MS_DIM_TIME, REQUIRED_POSITIVE,
     .doc = "Follow-up horizon after the first tumour cell; every patient alive then is "
            "censored."},
    {"time.output_interval", MS_T_NUMBER, MS_DIM_TIME, POSITIVE, .def = "30 d",
     .doc = "Spacing of the sampled time series (sizes per lesion and clone)."},
    {"time.max_samples", MS_T_INTEGER, MS_DIM_NONE, AT_LEAST(2), .def = "1000",
     .doc = "Most sample times per patient: a longer run is decimated by sampling every k-th "
            "output time, k the smallest whole number that keeps the horizon within this many "
            "samples."},

    /* ------------------------------------------------------------ states */
    {"states", MS_T_LIST,
     .doc = "Non-genetic, reversible cell states besides `cycling` and `dormant`, which "
            "always exist (for example `stat5_active`, `stem`)."},
    {"states[]", MS_T_NAME, .doc = "A state name."},

    /* ------------------------------------------------------------ sites */
    {"sites", MS_T_MAP, .flags = MS_REQUIRED,
     .doc = "Organ sites by name (for example `breast`, `bone`, `lung`, `liver`, `brain`, "
            "`regional_nodes`). Lesions live at sites."},
    {"sites.*", MS_T_SECTION, .doc = "One site."},
    {"sites.*.blood_flow", MS_T_NUMBER, MS_DIM_FRACTION, UNIT_INTERVAL, .def = "0",
     .doc = "Share of the circulation reaching the site; circulating cells land in proportion "
            "to it times the clone's tropism. Shares over all sites add up to at most 1."},
    {"sites.*.colonisation", MS_T_NUMBER, MS_DIM_FRACTION, UNIT_INTERVAL, .def = "0",
     .doc = "Probability that a cell landing at the site survives to found a lesion (about "
            "one in 6e7 disseminated cells forms a metastasis; Coumans 2013)."},
    {"sites.*.dormancy_on_arrival", MS_T_NUMBER, MS_DIM_FRACTION, UNIT_INTERVAL, .def = "0",
     .doc = "Probability that a founding cell starts in the `dormant` state."},
    {"sites.*.growth", MS_T_ENUM, .def = "exponential", .choices = "exponential|logistic|gompertz",
     .doc = "Density dependence of lesions at the site: none, logistic or Gompertz. For a "
            "compartment whose division rate b exceeds its death rate d, the net rate b - d is "
            "scaled by 1 - N/K (logistic) or ln(K/N)/ln(K) (Gompertz), N the lesion's size and "
            "K its capacity (docs/engine.md)."},
    {"sites.*.capacity", MS_T_NUMBER, MS_DIM_CELLS, POSITIVE,
     .doc = "Carrying capacity of one lesion; required for logistic and Gompertz growth."},
    {"sites.*.capacity_factor", MS_T_NAME, .ref = "factors",
     .doc = "With Gompertz growth and `gompertz_rate`: the lesion's level of this factor is its "
            "capacity K, in cells, instead of `capacity`. A vascular capacity that the "
            "lesion's cells raise by angiogenic stimulation and that its size and drugs "
            "inhibit (Hahnfeldt et al. 1999; docs/model.md, \"Vascular capacity\")."},
    {"sites.*.gompertz_rate", MS_T_NUMBER, MS_DIM_RATE, POSITIVE,
     .doc = "With Gompertz growth: the net rate per cell of a compartment that grows is "
            "min(b - d, rate ln(K/N)) instead of (b - d) ln(K/N)/ln(K), the Gompertz law "
            "dN/dt = rate N ln(K/N) (lambda1 of Hahnfeldt et al. 1999) capped at the cells' "
            "own net rate. Required with `capacity_factor`."},
    {"sites.*.division", MS_T_MAP, .ref = "states",
     .doc = "Per-cell division rate by state; states not listed do not divide."},
    {"sites.*.division.*", MS_T_NUMBER, MS_DIM_RATE, NONNEGATIVE,
     .doc = "Division rate of cells in this state."},
    {"sites.*.death", MS_T_MAP, .ref = "states",
     .doc = "Per-cell death rate by state; states not listed do not die."},
    {"sites.*.death.*", MS_T_NUMBER, MS_DIM_RATE, NONNEGATIVE,
     .doc = "Death rate of cells in this state."},
    {"sites.*.transitions", MS_T_LIST,
     .doc = "State transitions of cells at this site (for example cycling to dormant)."},
    {"sites.*.transitions[]", MS_T_SECTION, .doc = "One transition."},
    {"sites.*.transitions[].from", MS_T_NAME, .flags = MS_REQUIRED, .ref = "states",
     .doc = "State the cell leaves."},
    {"sites.*.transitions[].to", MS_T_NAME, .flags = MS_REQUIRED, .ref = "states",
     .doc = "State the cell enters."},
    {"sites.*.transitions[].rate", MS_T_NUMBER, MS_DIM_RATE, .flags = MS_REQUIRED | MS_LO_CLOSED,
     .lo = 0, .doc = "Per-cell transition rate."},
    {"sites.*.shedding", MS_T_NUMBER, MS_DIM_RATE, NONNEGATIVE, .def = "0",
     .doc = "Per-cell rate at which lesions here shed cells into the blood (about 3.5e-3 /d: "
            "3-4e6 cells per gram of tumour per day, Butler and Gullino 1975)."},
    {"sites.*.state_shedding", MS_T_MAP, .ref = "states",
     .doc = "Factors on the shedding rate of cells in the named states (for example "
            "STAT5-active, tumour-initiating cells that shed more; Britschgi et al. 2012); 1 "
            "for states not listed."},
    {"sites.*.state_shedding.*", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE,
     .doc = "Factor on the shedding of cells in this state."},
    {"sites.*.regional", MS_T_BOOL, .def = "false",
     .doc = "The site is the primary's regional lymph nodes: reached through the lymph "
            "(`lymph_flow`), resected with the primary, and read for nodal status (N)."},
    {"sites.*.lymph_flow", MS_T_NUMBER, MS_DIM_FRACTION, UNIT_INTERVAL, .def = "0",
     .doc = "For a regional site: the share of the primary's shed cells that travel through "
            "the lymph to it (they skip the blood; the rest enter the blood)."},
    {"sites.*.lethal_cells", MS_T_NUMBER, MS_DIM_CELLS, POSITIVE,
     .doc = "Size of the burden at this site that kills the patient (brain lower than "
            "others); absent: only the total burden can be lethal."},

    /* ------------------------------------------------------------ primary */
    {"primary", MS_T_SECTION, .flags = MS_REQUIRED, .doc = "The primary tumour."},
    {"primary.site", MS_T_NAME, .flags = MS_REQUIRED, .ref = "sites",
     .doc = "Site of the primary tumour."},
    {"primary.initial_cells", MS_T_INTEGER, MS_DIM_CELLS, AT_LEAST(1), .def = "1",
     .doc = "Cells of the founding clone at time 0."},
    {"primary.initial_state", MS_T_NAME, .ref = "states", .def = "cycling",
     .doc = "State of the founding cells (for example an untransformed `normal` state whose "
            "cells do not divide until a drug induces the oncogene; Podsypanina et al., "
            "Science 2008)."},
    {"primary.initial_levels", MS_T_MAP, .ref = "factors",
     .doc = "Levels of the primary's factors at time 0, for an experiment that starts from an "
            "established tumour (its vascular capacity, for example); factors not listed start "
            "at their `initial`."},
    {"primary.initial_levels.*", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE,
     .doc = "The primary's level of this factor at time 0."},
    {"primary.detection_cells", MS_T_NUMBER, MS_DIM_CELLS, POSITIVE, .def = "1e9",
     .doc = "Median size at which the primary is diagnosed (clinical detection near 1e9 cells, "
            "about 1 cm^3); each patient's own size is drawn around it "
            "(`clinic.detection_spread`)."},
    {"primary.seeds_outside", MS_T_NUMBER, MS_DIM_FRACTION, UNIT_INTERVAL, .def = "0",
     .doc = "Share of the circulating cells that return to the primary's organ (self-seeding) "
            "which lodge in the tissue around the tumour, beyond the surgical margin, rather "
            "than in it: each founds a lesion of its own at the primary's site, which surgery "
            "leaves behind (the residual seeds that cause local recurrence, Kim et al., Cell "
            "2009)."},

    /* ------------------------------------------------------------ loci */
    {"loci", MS_T_MAP,
     .doc = "Mutable loci by name. At each division the new daughter acquires a locus with "
            "its mutation probability; the parent keeps its genotype."},
    {"loci.*", MS_T_SECTION, .doc = "One locus."},
    {"loci.*.mutation_probability", MS_T_NUMBER, MS_DIM_NONE,
     .flags = MS_REQUIRED | MS_LO_CLOSED | MS_HI_CLOSED, .lo = 0, .hi = 1,
     .doc = "Probability per division that the new daughter acquires the mutation."},
    {"loci.*.division_effect", MS_T_NUMBER, MS_DIM_NONE, POSITIVE, .def = "1",
     .doc = "Factor on the division rate of carriers."},
    {"loci.*.death_effect", MS_T_NUMBER, MS_DIM_NONE, POSITIVE, .def = "1",
     .doc = "Factor on the death rate of carriers."},
    {"loci.*.shedding", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE, .def = "1",
     .doc = "Factor on the carriers' shedding rate (invasiveness)."},
    {"loci.*.tropism", MS_T_MAP, .ref = "sites",
     .doc = "Factors on the carriers' landing weight at named sites (organ tropism)."},
    {"loci.*.tropism.*", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE,
     .doc = "Factor on the landing weight at this site."},
    {"loci.*.colonisation", MS_T_MAP, .ref = "sites",
     .doc = "Factors on the carriers' colonisation probability at named sites (capped at 1)."},
    {"loci.*.colonisation.*", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE,
     .doc = "Factor on the colonisation probability at this site."},
    {"loci.*.dormant_death", MS_T_MAP, .ref = "sites",
     .doc = "Factors on the death rate of the carriers' dormant cells at named sites (below 1 "
            "protects, as Src activity protects dormant breast cancer cells in bone marrow; "
            "Zhang et al. 2009)."},
    {"loci.*.dormant_death.*", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE,
     .doc = "Factor on dormant death at this site."},
    {"loci.*.resistance", MS_T_MAP, .ref = "drugs",
     .doc = "Fold shifts of the EC50 of named drugs in carriers (resistance; several loci "
            "multiply, so cross-resistance is one locus naming several drugs)."},
    {"loci.*.resistance.*", MS_T_NUMBER, MS_DIM_NONE, POSITIVE,
     .doc = "Factor on this drug's EC50 in carriers."},
    {"loci.*.production", MS_T_MAP, .ref = "factors",
     .doc = "Factors on the carriers' production of named factors (for example a 4q21 gain "
            "raising CXCL1/2 secretion)."},
    {"loci.*.production.*", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE,
     .doc = "Factor on the production of this factor."},

    /* ------------------------------------------------------------ karyotype */
    {"karyotype", MS_T_SECTION,
     .doc = "Chromosomal instability (docs/karyotype.md): copy numbers of the declared "
            "chromosomes per clone, changed by missegregation at division. Without this "
            "section cells carry no karyotype."},
    {"karyotype.chromosomes", MS_T_MAP, .flags = MS_REQUIRED,
     .doc = "The chromosomes followed, by name (for example `chr6`, `chr12`); others are not "
            "modelled."},
    {"karyotype.chromosomes.*", MS_T_SECTION, .doc = "One chromosome."},
    {"karyotype.chromosomes.*.copies", MS_T_INTEGER, MS_DIM_NONE, AT_LEAST(1), .def = "2",
     .doc = "Copies in the founding cells: the euploid reference of fitness."},
    {"karyotype.chromosomes.*.division_per_copy", MS_T_NUMBER, MS_DIM_NONE, POSITIVE, .def = "1",
     .doc = "Factor on division per copy above the founders' (its inverse per copy below): "
            "above 1 for a chromosome carrying oncogenes, below 1 for one carrying tumour "
            "suppressors."},
    {"karyotype.chromosomes.*.resistance", MS_T_MAP, .ref = "drugs",
     .doc = "Fold shift of named drugs' EC50 per copy gained above the founders' (for example "
            "gains that bypass oncogene addiction)."},
    {"karyotype.chromosomes.*.resistance.*", MS_T_NUMBER, MS_DIM_NONE, POSITIVE,
     .doc = "Factor on this drug's EC50 per copy gained."},
    {"karyotype.missegregation", MS_T_NUMBER, MS_DIM_FRACTION,
     .flags = MS_REQUIRED | MS_LO_CLOSED | MS_HI_CLOSED, .lo = 0, .hi = 0.5,
     .doc = "Probability that a chromosome missegregates at a division of an unstable cell: "
            "one daughter gains a copy, the other loses one (0.2-2 % per chromosome in CIN "
            "cancer cell lines, Thompson and Compton 2008)."},
    {"karyotype.cin_locus", MS_T_NAME, .ref = "loci",
     .doc = "Only carriers of this locus are unstable (for example `mad2`); default: every "
            "cell."},
    {"karyotype.aneuploidy_cost", MS_T_NUMBER, MS_DIM_FRACTION, .flags = MS_LO_CLOSED | MS_HI_OPEN,
     .lo = 0, .hi = 1, .def = "0",
     .doc = "Division is multiplied by (1 - cost) for each chromosome whose copies differ from "
            "the founders' (the fitness cost of aneuploidy, Torres et al. 2007)."},
    {"karyotype.max_copies", MS_T_INTEGER, MS_DIM_NONE, AT_LEAST(2), .def = "6",
     .doc = "A daughter with more copies of a chromosome than this, or with none (nullisomy), "
            "dies at birth."},

    /* ------------------------------------------------------------ factors */
    {"factors", MS_T_MAP,
     .doc = "Secreted signals and recruited host cells by name (for example `cxcl1`, `il8`, "
            "`myeloid`), each a well-mixed level per lesion following a linear ODE: "
            "dF/dt = source + sum over cells of their production - decay F."},
    {"factors.*", MS_T_SECTION, .doc = "One factor."},
    {"factors.*.decay", MS_T_NUMBER, MS_DIM_RATE, .flags = MS_REQUIRED | MS_LO_CLOSED, .lo = 0,
     .doc = "First-order decay (or clearance) rate of the level."},
    {"factors.*.source", MS_T_NUMBER, MS_DIM_RATE, NONNEGATIVE, .def = "0",
     .doc = "Constant production per lesion (level per day), for example by stroma."},
    {"factors.*.initial", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE, .def = "0",
     .doc = "Level when a lesion is founded."},
    {"factors.*.inhibition", MS_T_NUMBER, MS_DIM_RATE, NONNEGATIVE, .def = "0",
     .doc = "Loss of the level in proportion to the lesion's size to the power 2/3 (its "
            "surface): dF/dt gains - inhibition N^(2/3) F, per day per cell^(2/3). The "
            "endogenous inhibitors a tumour releases, which prune its vasculature (d V^(2/3) K "
            "of Hahnfeldt et al. 1999)."},
    {"factors.*.production", MS_T_MAP, .ref = "states",
     .doc = "Production per tumour cell by state (level per cell per day); states not listed "
            "produce none. Loci scale it per clone (`loci.<name>.production`)."},
    {"factors.*.production.*", MS_T_NUMBER, MS_DIM_RATE, NONNEGATIVE,
     .doc = "Production per cell in this state."},

    /* ------------------------------------------------------------ modifiers */
    {"modifiers", MS_T_LIST,
     .doc = "Hill terms by which factor levels modulate per-cell rates and the production of "
            "other factors. Each multiplies its target rate by "
            "1 + (max_effect - 1) F^h / (ec50^h + F^h), F the lesion's level at the step's "
            "start; several on one rate multiply."},
    {"modifiers[]", MS_T_SECTION, .doc = "One modifier."},
    {"modifiers[].factor", MS_T_NAME, .flags = MS_REQUIRED, .ref = "factors",
     .doc = "The factor whose level acts."},
    {"modifiers[].rate", MS_T_ENUM, .flags = MS_REQUIRED,
     .choices = "division|death|transition|shedding|homing|production|drug_kill",
     .doc = "The rate it acts on: per-cell division, death (the baseline rate, before drugs), "
            "a transition, shedding into the blood, homing (the primary's attraction for "
            "circulating cells, read from the primary's level: self-seeding, Kim et al. 2009), "
            "production (of factor `of`: its production by cells and its source, not what "
            "drugs induce; TNF-alpha raising CXCL1, CXCL1 raising myeloid recruitment) or "
            "drug_kill (the death rate added by drugs: S100A8/9 protecting from "
            "chemotherapy; Acharyya et al. 2012)."},
    {"modifiers[].state", MS_T_NAME, .ref = "states",
     .doc = "For division, death, shedding and drug_kill: only cells in this state (default: "
            "all)."},
    {"modifiers[].from", MS_T_NAME, .ref = "states",
     .doc = "For transitions: the transition's start state (required with rate: transition)."},
    {"modifiers[].to", MS_T_NAME, .ref = "states",
     .doc = "For transitions: the transition's end state (required with rate: transition)."},
    {"modifiers[].of", MS_T_NAME, .ref = "factors",
     .doc = "For production: the factor whose production it multiplies (required with rate: "
            "production; not the modifier's own factor)."},
    {"modifiers[].max_effect", MS_T_NUMBER, MS_DIM_NONE, .flags = MS_REQUIRED | MS_LO_CLOSED,
     .lo = 0, .doc = "Fold change of the rate at saturating level (below 1 inhibits)."},
    {"modifiers[].ec50", MS_T_NUMBER, MS_DIM_NONE, REQUIRED_POSITIVE,
     .doc = "Level giving half the maximal effect."},
    {"modifiers[].hill", MS_T_NUMBER, MS_DIM_NONE, POSITIVE, .def = "1",
     .doc = "Hill coefficient (steepness)."},

    /* ------------------------------------------------------------ circulation */
    {"circulation", MS_T_SECTION,
     .doc = "The blood: what happens to shed cells between leaving a lesion and landing."},
    {"circulation.survival", MS_T_NUMBER, MS_DIM_FRACTION, UNIT_INTERVAL, .def = "1",
     .doc = "Probability that a shed cell survives the circulation and lands at a site (its "
            "chance to colonise is then the site's `colonisation`)."},
    {"circulation.half_life", MS_T_NUMBER, MS_DIM_TIME, POSITIVE, .def = "1.5 h",
     .doc = "Half-life of circulating tumour cells (1 to 2.4 h; Meng et al. 2004), which "
            "sets the CTC count in the blood."},
    {"circulation.blood_volume", MS_T_NUMBER, MS_DIM_VOLUME, POSITIVE, .def = "5 L",
     .doc = "Blood volume of the patient, to turn CTC numbers into counts per blood draw."},
    {"circulation.keep_state", MS_T_LIST,
     .doc = "States that shed cells keep when they settle: a cell shed in one of these "
            "states arrives in it, instead of `dormant` or `cycling` by the site's "
            "`dormancy_on_arrival` (untransformed cells that lodge in the lung as they are; "
            "docs/studies/normal_cells.md). Default: none."},
    {"circulation.keep_state[]", MS_T_NAME, .ref = "states", .doc = "A state."},

    /* ------------------------------------------------------------ clinic */
    {"clinic", MS_T_SECTION,
     .doc = "Diagnosis, staging, surgery, follow-up and death. Without `clinic.surgery` the "
            "primary is never removed."},
    {"clinic.cells_per_cm3", MS_T_NUMBER, MS_DIM_CELLS, POSITIVE, .def = "1e9",
     .doc = "Tumour cells per cubic centimetre, to turn sizes into diameters of spheres "
            "(10^8 to 10^9)."},
    {"clinic.detection_spread", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE, .def = "0",
     .doc = "Standard deviation of log10 of the patient's detection size around "
            "`primary.detection_cells` (log-normal between patients)."},
    {"clinic.symptomatic_diameter", MS_T_NUMBER, MS_DIM_LENGTH, POSITIVE, .def = "3 cm",
     .doc = "Any lesion this large causes symptoms and is found at once, between scans or "
            "before diagnosis."},
    {"clinic.imaging_diameter", MS_T_NUMBER, MS_DIM_LENGTH, POSITIVE, .def = "5 mm",
     .doc = "Smallest lesion a scan detects (staging at diagnosis, follow-up scans)."},
    {"clinic.node_positive_cells", MS_T_NUMBER, MS_DIM_CELLS, POSITIVE, .def = "200",
     .doc = "Cells in a regional node lesion for the node to count as involved at surgery "
            "(about a 0.2 mm deposit)."},
    {"clinic.surgery", MS_T_SECTION, .doc = "Removal of the primary and its regional nodes."},
    {"clinic.surgery.delay", MS_T_NUMBER, MS_DIM_TIME, .flags = MS_REQUIRED | MS_LO_CLOSED, .lo = 0,
     .doc = "Time from diagnosis to surgery."},
    {"clinic.scans", MS_T_LIST,
     .doc = "Follow-up imaging after surgery, as successive periods (for example every 6 "
            "months for 5 years, then yearly to 10 years)."},
    {"clinic.scans[]", MS_T_SECTION, .doc = "One period of follow-up."},
    {"clinic.scans[].every", MS_T_NUMBER, MS_DIM_TIME, REQUIRED_POSITIVE,
     .doc = "Interval between scans."},
    {"clinic.scans[].until", MS_T_NUMBER, MS_DIM_TIME, REQUIRED_POSITIVE,
     .doc = "End of the period, as time since surgery."},
    {"clinic.lethal_cells", MS_T_NUMBER, MS_DIM_CELLS, POSITIVE, .def = "1e12",
     .doc = "Total tumour burden that kills the patient (near 1e12 cells); organ-specific "
            "limits are `sites.<name>.lethal_cells`."},

    /* ------------------------------------------------------------ drugs */
    {"drugs", MS_T_MAP,
     .doc = "Drugs by name, with their pharmacokinetics and effects. A patient receives the "
            "doses of the arm it is simulated under (docs/therapy.md)."},
    {"drugs.*", MS_T_SECTION, .doc = "One drug."},
    {"drugs.*.pk", MS_T_SECTION, .flags = MS_REQUIRED, .doc = "Pharmacokinetic model."},
    {"drugs.*.pk.model", MS_T_ENUM, .def = "one_compartment",
     .choices = "one_compartment|two_compartment",
     .doc = "Number of compartments (linear elimination from the central one)."},
    {"drugs.*.pk.route", MS_T_ENUM, .def = "iv", .choices = "iv|oral",
     .doc = "Intravenous (bolus, or infusion when a dose has an infusion time) or oral "
            "with first-order absorption."},
    {"drugs.*.pk.half_life", MS_T_NUMBER, MS_DIM_TIME, REQUIRED_POSITIVE,
     .doc = "Elimination half-life from the central compartment, ln 2 / k10."},
    {"drugs.*.pk.volume", MS_T_NUMBER, MS_DIM_VOLUME, REQUIRED_POSITIVE,
     .doc = "Volume of the central compartment."},
    {"drugs.*.pk.absorption_rate", MS_T_NUMBER, MS_DIM_RATE, POSITIVE,
     .doc = "First-order absorption rate ka; required for the oral route."},
    {"drugs.*.pk.bioavailability", MS_T_NUMBER, MS_DIM_FRACTION, .flags = MS_LO_OPEN | MS_HI_CLOSED,
     .lo = 0, .hi = 1, .def = "1", .doc = "Fraction of an oral dose that reaches the circulation."},
    {"drugs.*.pk.peripheral_volume", MS_T_NUMBER, MS_DIM_VOLUME, POSITIVE,
     .doc = "Volume of the peripheral compartment; required for two compartments."},
    {"drugs.*.pk.intercompartmental_clearance", MS_T_NUMBER, MS_DIM_FLOW, POSITIVE,
     .doc = "Clearance Q between central and peripheral compartments; required for two "
            "compartments."},
    {"drugs.*.effects", MS_T_LIST,
     .doc = "Pharmacodynamics: Hill effects of the central concentration C on per-cell rates, "
            "H(C) = C^h / (EC50^h + C^h). Effects on one target combine by "
            "`therapy.combination` (docs/therapy.md)."},
    {"drugs.*.effects[]", MS_T_SECTION, .doc = "One effect."},
    {"drugs.*.effects[].target", MS_T_ENUM, .flags = MS_REQUIRED,
     .choices = "death|division|transition|shedding|factor",
     .doc = "death: an added death rate max_kill H(C); division, transition (`from` -> `to`), "
            "shedding: a blocked fraction max_block H(C) of that rate, and for a transition an "
            "induced rate max_rate H(C); factor: a blocked fraction of the factor's production "
            "(cells, loci and source), a fold on it 1 + (max_fold - 1) H(C), an induced "
            "production max_induction H(C) and an added loss of the level max_loss H(C)."},
    {"drugs.*.effects[].state", MS_T_NAME, .ref = "states",
     .doc = "Death, division and shedding effects: only cells in this state (for example "
            "cycling, for a drug that spares dormant cells); default: all states."},
    {"drugs.*.effects[].site", MS_T_NAME, .ref = "sites",
     .doc = "Only at lesions of this site (for example bone); default: every site."},
    {"drugs.*.effects[].from", MS_T_NAME, .ref = "states",
     .doc = "Transition effects: the state the blocked transition leaves."},
    {"drugs.*.effects[].to", MS_T_NAME, .ref = "states",
     .doc = "Transition effects: the state the blocked transition enters."},
    {"drugs.*.effects[].factor", MS_T_NAME, .ref = "factors",
     .doc = "Factor effects: the factor acted on."},
    {"drugs.*.effects[].max_kill", MS_T_NUMBER, MS_DIM_RATE, NONNEGATIVE,
     .doc = "For target death: the added death rate at saturating concentration."},
    {"drugs.*.effects[].max_block", MS_T_NUMBER, MS_DIM_FRACTION, UNIT_INTERVAL,
     .doc = "For targets division, transition, shedding and factor: the fraction of the rate "
            "blocked at saturation."},
    {"drugs.*.effects[].max_rate", MS_T_NUMBER, MS_DIM_RATE, NONNEGATIVE,
     .doc = "For target transition: a per-cell rate added to the transition at saturation, "
            "max_rate H(C) (a drug that induces it: doxycycline switching on an inducible "
            "oncogene). Some site must declare the transition, with rate 0 if it happens only "
            "under the drug."},
    {"drugs.*.effects[].max_induction", MS_T_NUMBER, MS_DIM_NONE, NONNEGATIVE,
     .doc = "For target factor: production induced at saturation, in factor level per day "
            "(for example stromal TNF-alpha induced by chemotherapy)."},
    {"drugs.*.effects[].max_fold", MS_T_NUMBER, MS_DIM_NONE, AT_LEAST(1),
     .doc = "For target factor: the fold by which the factor's production (cells, loci and "
            "source) rises at saturation, 1 + (max_fold - 1) H(C) (a drug that makes cancer "
            "cells secrete more: PI3K/mTOR inhibitors raising IL-8 secretion; Britschgi et al. "
            "2012)."},
    {"drugs.*.effects[].max_loss", MS_T_NUMBER, MS_DIM_RATE, NONNEGATIVE,
     .doc = "For target factor: a first-order loss of the level added at saturation, "
            "max_loss H(C) (an anti-angiogenic drug pruning vasculature, the e K g(t) of "
            "Hahnfeldt et al. 1999; a compound that makes a protein degraded, such as an Id "
            "antagonist)."},
    {"drugs.*.effects[].ec50", MS_T_NUMBER, MS_DIM_CONC, REQUIRED_POSITIVE,
     .doc = "Concentration of half the maximal effect, for cells without resistance loci."},
    {"drugs.*.effects[].hill", MS_T_NUMBER, MS_DIM_NONE, POSITIVE, .def = "1",
     .doc = "Hill coefficient."},
    {"drugs.*.effects[].state_resistance", MS_T_MAP, .ref = "states",
     .doc = "Factors on the EC50 of cells in the named states (adaptive resistance, for "
            "example a drug-tolerant state); 1 for states not listed."},
    {"drugs.*.effects[].state_resistance.*", MS_T_NUMBER, MS_DIM_NONE, POSITIVE,
     .doc = "EC50 factor for cells in this state."},

    /* ------------------------------------------------------------ therapy */
    {"therapy", MS_T_SECTION, .doc = "Rules that apply to every regimen."},
    {"therapy.combination", MS_T_ENUM, .def = "bliss", .choices = "bliss|additive",
     .doc = "How blocked fractions b_i of one rate combine: bliss, 1 - prod(1 - b_i) (Bliss "
            "independence); additive, min(1, sum b_i). Kill rates always add: independent "
            "hazards, which is Bliss independence in continuous time."},

    /* ------------------------------------------------------------ patient */
    {"patient", MS_T_SECTION,
     .doc = "Covariates of the virtual patient, for doses by body weight or surface area."},
    {"patient.weight", MS_T_NUMBER, MS_DIM_MASS, POSITIVE, .def = "70 kg", .doc = "Body weight."},
    {"patient.height", MS_T_NUMBER, MS_DIM_LENGTH, POSITIVE, .def = "170 cm",
     .doc = "Height; with the weight it gives the body surface area by Mosteller's formula, "
            "sqrt(height[cm] weight[kg] / 3600) m2."},

    /* ------------------------------------------------------------ engine */
    {"engine", MS_T_SECTION,
     .doc = "Numerical settings of the simulation engine (docs/engine.md)."},
    {"engine.exact_below", MS_T_NUMBER, MS_DIM_CELLS, NONNEGATIVE, .def = "1000",
     .doc = "Compartments smaller than this are simulated event by event (exact SSA); larger "
            "ones leap by the exact birth-death transition law. A small compartment that "
            "grows to twice this size switches to leaping within the step. 0 leaps "
            "everything; 1e300 simulates everything exactly."},
    {"engine.step_bound", MS_T_NUMBER, MS_DIM_NONE, .flags = MS_LO_OPEN | MS_HI_CLOSED, .lo = 0,
     .hi = 1, .def = "0.01",
     .doc = "Largest expected relative change of a density-dependent lesion within one step; "
            "bounds the error of freezing its rates over the step."},
    {"engine.max_step", MS_T_NUMBER, MS_DIM_TIME, POSITIVE, .def = "1 d",
     .doc = "Longest step. Bounds the error of treating lineages that arise within a step "
            "as not mutating again before its end."},

    /* ------------------------------------------------------------ trial */
    {"trial", MS_T_SECTION,
     .doc = "A virtual trial of this scenario (`metasim trial`, docs/trials.md)."},
    {"trial.patients", MS_T_INTEGER, MS_DIM_NONE, AT_LEAST(1), .def = "1000",
     .doc = "Patients simulated (before screening); `metasim trial --patients` overrides it."},
    {"trial.inclusion", MS_T_SECTION,
     .doc = "Inclusion criteria, read at the point of assignment (surgery, or diagnosis): a "
            "patient who fails one is a screen failure, counted but not enrolled."},
    {"trial.inclusion.t_stages", MS_T_LIST, .doc = "T stages enrolled (1-3); default: all."},
    {"trial.inclusion.t_stages[]", MS_T_INTEGER, MS_DIM_NONE, .flags = MS_LO_CLOSED | MS_HI_CLOSED,
     .lo = 0, .hi = 3, .doc = "A T stage."},
    {"trial.inclusion.n_stages", MS_T_LIST, .doc = "N stages enrolled (0-3); default: all."},
    {"trial.inclusion.n_stages[]", MS_T_INTEGER, MS_DIM_NONE, .flags = MS_LO_CLOSED | MS_HI_CLOSED,
     .lo = 0, .hi = 3, .doc = "An N stage."},
    {"trial.inclusion.m_stages", MS_T_LIST, .doc = "M stages enrolled (0-1); default: all."},
    {"trial.inclusion.m_stages[]", MS_T_INTEGER, MS_DIM_NONE, .flags = MS_LO_CLOSED | MS_HI_CLOSED,
     .lo = 0, .hi = 1, .doc = "An M stage."},

    /* ------------------------------------------------------------ cohort */
    {"cohort", MS_T_SECTION,
     .doc = "Between-patient variation (docs/trials.md, \"Cohorts\"): subtypes drawn with their "
            "shares, then per-patient parameter values drawn from distributions. Each patient's "
            "values come from its own random stream, so `metasim run --patient K` and a trial "
            "give patient K the same values."},
    {"cohort.subtypes", MS_T_MAP,
     .doc = "Categorical subtypes by name (for example `luminal_a`, `src_high`); each patient "
            "belongs to one, drawn with the subtypes' shares, which add up to 1."},
    {"cohort.subtypes.*", MS_T_SECTION, .doc = "One subtype."},
    {"cohort.subtypes.*.share", MS_T_NUMBER, MS_DIM_FRACTION,
     .flags = MS_REQUIRED | MS_LO_OPEN | MS_HI_CLOSED, .lo = 0, .hi = 1,
     .doc = "Share of patients of this subtype."},
    {"cohort.subtypes.*.parameters", MS_T_LIST,
     .doc = "The subtype's own values: applied first, so that `cohort.parameters` vary around "
            "them. Items are shaped as in `cohort.parameters`."},
    {"cohort.subtypes.*.parameters[]", MS_T_SECTION, .doc = "One parameter of the subtype."},
    {"cohort.subtypes.*.parameters[].path", MS_T_STRING, .flags = MS_REQUIRED,
     .doc = "As in `cohort.parameters[].path`."},
    {"cohort.subtypes.*.parameters[].distribution", MS_T_ENUM,
     .choices = "fixed|normal|lognormal|uniform", .def = "fixed",
     .doc = "As in `cohort.parameters[].distribution`."},
    {"cohort.subtypes.*.parameters[].value", MS_T_STRING,
     .doc = "As in `cohort.parameters[].value`."},
    {"cohort.subtypes.*.parameters[].cv", MS_T_NUMBER, MS_DIM_FRACTION, POSITIVE,
     .doc = "As in `cohort.parameters[].cv`."},
    {"cohort.subtypes.*.parameters[].sd", MS_T_STRING, .doc = "As in `cohort.parameters[].sd`."},
    {"cohort.subtypes.*.parameters[].lower", MS_T_STRING,
     .doc = "As in `cohort.parameters[].lower`."},
    {"cohort.subtypes.*.parameters[].upper", MS_T_STRING,
     .doc = "As in `cohort.parameters[].upper`."},
    {"cohort.parameters", MS_T_LIST,
     .doc = "Parameters that vary between patients, each drawn independently for every "
            "patient, in list order."},
    {"cohort.parameters[]", MS_T_SECTION, .doc = "One varying parameter."},
    {"cohort.parameters[].path", MS_T_STRING, .flags = MS_REQUIRED,
     .doc = "The scenario value that varies, by its path in the file: for example "
            "`sites.breast.division.cycling`, `patient.weight`, "
            "`drugs.dasatinib.effects[0].ec50`. It must be a number the scenario holds "
            "(written or defaulted), outside `scenario`, `time`, `engine`, `trial` and "
            "`cohort`."},
    {"cohort.parameters[].distribution", MS_T_ENUM, .choices = "fixed|normal|lognormal|uniform",
     .def = "fixed",
     .doc = "fixed: `value` for every patient; normal: mean `value`, standard deviation `sd` "
            "or `cv` times the mean; lognormal: median `value` (the pharmacometric typical "
            "value), log-scale variance ln(1 + cv^2); uniform: between `lower` and `upper`. "
            "Normal and lognormal are truncated to [`lower`, `upper`] when given, by "
            "inverse-CDF sampling (exact, no rejection)."},
    {"cohort.parameters[].value", MS_T_STRING,
     .doc = "The fixed or typical value, in the unit of the field at `path` (for example "
            "`0.3 /d`); default: the value the scenario (or the patient's subtype) gives it. "
            "Required for `fixed`."},
    {"cohort.parameters[].cv", MS_T_NUMBER, MS_DIM_FRACTION, POSITIVE,
     .doc = "Coefficient of variation (normal, lognormal), for example `20 %`."},
    {"cohort.parameters[].sd", MS_T_STRING,
     .doc = "Standard deviation of a normal distribution, in the unit of the field; instead "
            "of `cv`."},
    {"cohort.parameters[].lower", MS_T_STRING,
     .doc = "Lower bound, in the unit of the field: truncation (normal, lognormal) or the "
            "uniform's low end. A distribution that could leave the field's allowed range "
            "must be truncated inside it."},
    {"cohort.parameters[].upper", MS_T_STRING,
     .doc = "Upper bound, in the unit of the field (as `lower`)."},

    /* ------------------------------------------------------------ regimens */
    {"regimens", MS_T_MAP,
     .doc = "Named regimens: dosing records in the pharmacometrics idiom, repeated in "
            "cycles. Lines of therapy of the arms give them (docs/therapy.md)."},
    {"regimens.*", MS_T_SECTION, .doc = "One regimen."},
    {"regimens.*.doses", MS_T_LIST, .flags = MS_REQUIRED,
     .doc = "The dosing records of one cycle, times from the cycle's start."},
    {"regimens.*.doses[]", MS_T_SECTION, .doc = "One dosing record."},
    {"regimens.*.doses[].drug", MS_T_NAME, .flags = MS_REQUIRED, .ref = "drugs",
     .doc = "The drug given."},
    {"regimens.*.doses[].amount", MS_T_NUMBER, MS_DIM_MASS, POSITIVE,
     .doc = "Amount per dose. Exactly one of amount, amount_per_kg and amount_per_m2."},
    {"regimens.*.doses[].amount_per_kg", MS_T_NUMBER, MS_DIM_PER_KG, POSITIVE,
     .doc = "Amount per dose per kg of `patient.weight`."},
    {"regimens.*.doses[].amount_per_m2", MS_T_NUMBER, MS_DIM_PER_M2, POSITIVE,
     .doc = "Amount per dose per m2 of body surface area (from `patient`)."},
    {"regimens.*.doses[].start", MS_T_NUMBER, MS_DIM_TIME, NONNEGATIVE, .def = "0",
     .doc = "Time of the first dose after the cycle starts."},
    {"regimens.*.doses[].interval", MS_T_NUMBER, MS_DIM_TIME, POSITIVE,
     .doc = "Time between doses (NONMEM II); required when `additional` > 0."},
    {"regimens.*.doses[].additional", MS_T_INTEGER, MS_DIM_NONE, NONNEGATIVE, .def = "0",
     .doc = "Doses after the first (NONMEM ADDL)."},
    {"regimens.*.doses[].infusion", MS_T_NUMBER, MS_DIM_TIME, NONNEGATIVE, .def = "0",
     .doc = "Infusion duration; 0 gives a bolus."},
    {"regimens.*.cycles", MS_T_INTEGER, MS_DIM_NONE, AT_LEAST(1), .def = "1",
     .doc = "Number of cycles: the doses repeat every `cycle_length`, this many times."},
    {"regimens.*.cycle_length", MS_T_NUMBER, MS_DIM_TIME, POSITIVE,
     .doc = "Time from one cycle's start to the next; required when `cycles` > 1."},

    /* ------------------------------------------------------------ arms */
    {"arms", MS_T_MAP,
     .doc = "Treatment arms by name, each a sequence of lines of therapy; `metasim run --arm "
            "NAME` simulates one, `metasim trial` all. An arm is assigned at surgery (at "
            "diagnosis when there is no surgery; at time 0 when a line starts at time_zero or "
            "an arm injects cells)."},
    {"arms.*", MS_T_SECTION, .doc = "One arm."},
    {"arms.*.lines", MS_T_LIST, .flags = MS_REQUIRED,
     .doc = "Lines of therapy; an empty list is an untreated control arm."},
    {"arms.*.lines[]", MS_T_SECTION, .doc = "One line of therapy."},
    {"arms.*.lines[].regimen", MS_T_NAME, .flags = MS_REQUIRED, .ref = "regimens",
     .doc = "The regimen given."},
    {"arms.*.lines[].start", MS_T_ENUM, .flags = MS_REQUIRED,
     .choices = "diagnosis|surgery|relapse|progression|time_zero",
     .doc = "The clinical event the line starts from: diagnosis, surgery, the first relapse, "
            "or the first progression (RECIST 1.1, docs/clinic.md) detected after the "
            "previous line started; or time_zero, the start of the simulation (an experiment's "
            "schedule: `delay` is then the time from the first cell, or from an injection), "
            "which assigns the arm at time 0."},
    {"arms.*.lines[].delay", MS_T_NUMBER, MS_DIM_TIME, NONNEGATIVE, .def = "0",
     .doc = "Time from that event to the first cycle."},
    {"arms.*.lines[].stop_after", MS_T_NUMBER, MS_DIM_TIME, POSITIVE,
     .doc = "Stop this long after the line started (for example 2 y of adjuvant therapy); "
            "default: when the regimen's cycles are done."},
    {"arms.*.lines[].stop_at", MS_T_ENUM, .def = "none", .choices = "none|relapse|progression",
     .doc = "Stop at the first relapse, or at the first progression, detected after the line "
            "started."},
    {"arms.*.lines[].pause_below", MS_T_NUMBER, MS_DIM_CELLS, POSITIVE,
     .doc = "Adaptive therapy: pause dosing when the tumour burden falls below this; needs "
            "`resume_above`."},
    {"arms.*.lines[].resume_above", MS_T_NUMBER, MS_DIM_CELLS, POSITIVE,
     .doc = "Adaptive therapy: while paused, restart the regimen from its first cycle when "
            "the burden rises above this."},
    {"arms.*.injections", MS_T_LIST,
     .doc = "Cells injected into the circulation at set times, as in mouse experiments "
            "(labelled cells into the tail vein; Kim et al., Cell 2009). Injected cells are a "
            "clone of their own, the founder's with the named loci, and go through the "
            "circulation like shed cells: they survive it (`circulation.survival`), land in "
            "proportion to blood flow times tropism, colonise with the site's and their loci's "
            "probability, join the primary when they land at its site (or lodge around it, "
            "`primary.seeds_outside`) and found lesions elsewhere. An arm with injections is "
            "assigned at time 0 (docs/therapy.md, \"Injections\")."},
    {"arms.*.injections[]", MS_T_SECTION, .doc = "One injection."},
    {"arms.*.injections[].at", MS_T_NUMBER, MS_DIM_TIME, .flags = MS_REQUIRED | MS_LO_CLOSED,
     .lo = 0,
     .doc = "Time of the injection after time zero, the start of the simulation; before "
            "`time.horizon`, and not earlier than the arm's previous injection."},
    {"arms.*.injections[].cells", MS_T_INTEGER, MS_DIM_CELLS, .flags = MS_REQUIRED | MS_LO_CLOSED,
     .lo = 1, .doc = "Cells injected."},
    {"arms.*.injections[].loci", MS_T_LIST,
     .doc = "Loci the injected cells carry, each at most once; default: none (the founder's "
            "genotype). A locus without effects can label them, as GFP or luciferase does, so "
            "that they can be told apart from the tumour's own cells."},
    {"arms.*.injections[].loci[]", MS_T_NAME, .ref = "loci", .doc = "A locus."},
    {"arms.*.injections[].state", MS_T_NAME, .ref = "states", .def = "cycling",
     .doc = "State of the injected cells; they arrive in it where `circulation.keep_state` "
            "keeps it, otherwise in the state shed cells arrive in (dormant with the site's "
            "`dormancy_on_arrival`, else cycling)."},
};

const size_t ms_schema_count = sizeof ms_schema / sizeof ms_schema[0];

const ms_field *ms_schema_find(const char *path, size_t len)
{
    for (size_t i = 0; i < ms_schema_count; i++)
        if (strlen(ms_schema[i].path) == len && memcmp(ms_schema[i].path, path, len) == 0)
            return &ms_schema[i];
    return NULL;
}

size_t ms_schema_parent_len(const ms_field *f)
{
    size_t n = strlen(f->path);
    if (n >= 2 && strcmp(f->path + n - 2, "[]") == 0)
        return n - 2;
    const char *dot = strrchr(f->path, '.');
    return dot ? (size_t)(dot - f->path) : 0;
}

const char *ms_schema_leaf(const ms_field *f)
{
    size_t p = ms_schema_parent_len(f);
    return p == 0 ? f->path : f->path + p + (f->path[p] == '.');
}

int ms_schema_in_range(const ms_field *f, double x)
{
    if ((f->flags & MS_LO_CLOSED) && !(x >= f->lo))
        return 0;
    if ((f->flags & MS_LO_OPEN) && !(x > f->lo))
        return 0;
    if ((f->flags & MS_HI_CLOSED) && !(x <= f->hi))
        return 0;
    if ((f->flags & MS_HI_OPEN) && !(x < f->hi))
        return 0;
    return 1;
}

void ms_schema_range_rule(const ms_field *f, ms_strbuf *out)
{
    unsigned lo = f->flags & (MS_LO_CLOSED | MS_LO_OPEN);
    unsigned hi = f->flags & (MS_HI_CLOSED | MS_HI_OPEN);
    if (lo && hi)
        ms_strbuf_printf(out, "%s%.15g, %.15g%s", lo == MS_LO_CLOSED ? "[" : "(", f->lo, f->hi,
                         hi == MS_HI_CLOSED ? "]" : ")");
    else if (lo)
        ms_strbuf_printf(out, "%s %.15g", lo == MS_LO_CLOSED ? ">=" : ">", f->lo);
    else if (hi)
        ms_strbuf_printf(out, "%s %.15g", hi == MS_HI_CLOSED ? "<=" : "<", f->hi);
}

/* ------------------------------------------------------------ the reference */

static const char *type_word(const ms_field *f)
{
    switch (f->type) {
    case MS_T_SECTION: return "section";
    case MS_T_MAP: return "named map";
    case MS_T_LIST: return "list";
    case MS_T_NUMBER: return "number";
    case MS_T_INTEGER: return "integer";
    case MS_T_STRING: return "text";
    case MS_T_NAME: return "name";
    case MS_T_ENUM: return "one of";
    case MS_T_BOOL: return "true/false";
    }
    return "";
}

/* Writes a path for readers: `*` becomes `<name>`. */
static void reader_path(ms_strbuf *out, const char *path)
{
    for (const char *p = path; *p; p++) {
        if (*p == '*')
            ms_strbuf_puts(out, "<name>");
        else
            ms_strbuf_append(out, p, 1);
    }
}

char *metasim_schema_reference(void)
{
    ms_strbuf sb = {0};
    ms_strbuf_printf(
        &sb,
        "# Scenario format reference\n\n"
        "Generated by `metasim schema` (metasim %s) from the table in `src/model/schema.c`;\n"
        "do not edit by hand. A test fails when this file and the table differ.\n\n"
        "A scenario is one YAML document. `<name>` stands for a name you choose (letters,\n"
        "digits and underscores, starting with a letter) and `[]` for any item of a list.\n"
        "Unknown keys are errors. A field marked *required* must be present; any other field\n"
        "takes its default when absent, and a field with neither is off unless stated.\n\n"
        "## Numbers and units\n\n"
        "Numbers are decimal (`0.25`, `1e-6`, `3.5E9`); `yes`, `no`, `on`, `off`, `.inf` and\n"
        "`.nan` are never numbers; whole numbers (integers) are below 2^53. A value may carry a "
        "unit after the number (`36 h`, `5 y`,\n"
        "`0.1 /d`, `2 /w`, `60 mg`, `25 %%`) and is converted to the canonical unit shown\n"
        "below; a bare number is taken in the canonical unit. A unit of the wrong kind is an\n"
        "error. A month is 365.25/12 days and a year 365.25 days.\n\n"
        "| kind | canonical | accepted |\n|---|---|---|\n",
        METASIM_VERSION_STRING);
    static const ms_dim dims[] = {MS_DIM_TIME,   MS_DIM_RATE,  MS_DIM_MASS,    MS_DIM_VOLUME,
                                  MS_DIM_FLOW,   MS_DIM_CONC,  MS_DIM_LENGTH,  MS_DIM_PER_KG,
                                  MS_DIM_PER_M2, MS_DIM_CELLS, MS_DIM_FRACTION};
    static const char *const dim_names[] = {"time",
                                            "rate",
                                            "mass",
                                            "volume",
                                            "clearance",
                                            "concentration",
                                            "length",
                                            "dose per weight",
                                            "dose per surface area",
                                            "cells",
                                            "fraction"};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        ms_strbuf_printf(&sb, "| %s | %s | %s |\n", dim_names[i],
                         *ms_units_canonical(dims[i]) ? ms_units_canonical(dims[i]) : "1",
                         ms_units_accepted(dims[i]));
    ms_strbuf_puts(&sb, "\n## Fields\n\n| field | type | unit | range | default | meaning |\n"
                        "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < ms_schema_count; i++) {
        const ms_field *f = &ms_schema[i];
        ms_strbuf_puts(&sb, "| `");
        reader_path(&sb, f->path);
        ms_strbuf_printf(&sb, "` | %s", type_word(f));
        if (f->type == MS_T_ENUM) {
            ms_strbuf_puts(&sb, " ");
            for (const char *c = f->choices; *c; c++)
                ms_strbuf_puts(&sb, *c == '|' ? ", " : (char[]){*c, 0});
        }
        if (f->ref)
            ms_strbuf_printf(&sb, " (of `%s`)", f->ref);
        ms_strbuf_printf(&sb, " | %s | ", ms_units_canonical(f->dim));
        ms_schema_range_rule(f, &sb);
        ms_strbuf_printf(&sb, " | %s | %s |\n",
                         (f->flags & MS_REQUIRED) ? "*required*" : (f->def ? f->def : ""), f->doc);
    }
    ms_strbuf_puts(
        &sb,
        "\n## Rules across fields\n\n"
        "- `primary.site` names a declared site; `regimens.<name>.doses[].drug` a declared drug;\n"
        "  the keys of `sites.<name>.division` and `sites.<name>.death` declared states.\n"
        "- `sites.<name>.capacity` is required when the site's growth is logistic or Gompertz,\n"
        "  unless the site names a `capacity_factor`, which needs Gompertz growth and\n"
        "  `gompertz_rate` (and then `capacity` is refused); `gompertz_rate` needs Gompertz\n"
        "  growth. A capacity factor starts above 0 in every lesion (`initial`, and the\n"
        "  primary's `initial_levels`).\n"
        "- The `blood_flow` shares of all sites add up to at most 1.\n"
        "- `drugs.<name>.pk.absorption_rate` is required for the oral route;\n"
        "  `peripheral_volume` and `intercompartmental_clearance` for two compartments.\n"
        "- `regimens.<name>.doses[].interval` is required when `additional` is above 0, and\n"
        "  infusions are shorter than the interval; a dose names exactly one of `amount`,\n"
        "  `amount_per_kg` and `amount_per_m2`; `cycle_length` is required for several cycles\n"
        "  and is at least as long as one cycle's doses.\n"
        "- A line starting at surgery needs `clinic.surgery`; a line starting or stopping at\n"
        "  relapse or progression needs `clinic.scans`; `pause_below` and `resume_above` come\n"
        "  together, with `pause_below` < `resume_above`.\n"
        "- State names are unique; `cycling` and `dormant` always exist.\n"
        "- A transition goes between two different states, and each pair appears once per site.\n"
        "- At most 64 loci.\n"
        "- A modifier of division, death, shedding or drug_kill names no `from`/`to`; one of a\n"
        "  transition names `from` and `to` (a transition declared at some site) and no `state`;\n"
        "  one of homing names none of them; one of production names `of` (another factor than\n"
        "  its own) and no `state`, `from` or `to`. Only production modifiers name `of`.\n"
        "- `clinic.scans` periods follow each other: each `until` is later than the one before.\n"
        "- Lymph flows only to regional sites, and their shares add up to at most 1.\n"
        "- A death effect names max_kill; division, transition and shedding effects name\n"
        "  max_block; a factor effect names one or more of max_block, max_fold, max_induction\n"
        "  and max_loss; a transition effect names `from` and `to` (a declared transition), a\n"
        "  factor effect `factor`.\n"
        "- Circulating cells land at a site with probability proportional to its `blood_flow`\n"
        "  times the clone's tropism; landing at the primary's site joins the primary\n"
        "  (self-seeding).\n"
        "- An arm's injections come before `time.horizon`, in time order, and list each locus\n"
        "  once; a scenario with injections assigns its arms at time 0, so it cannot have\n"
        "  `trial.inclusion` criteria (read at diagnosis).\n");
    return ms_strbuf_take(&sb);
}
