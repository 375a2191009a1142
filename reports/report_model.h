/*
 * The report model: plain structs that the pipeline fills for one period
 * and the renderers (JSON, PDF, XLSX) read. Renderers never query the
 * database, so each can be tested from a model built in a test.
 *
 * Units are in the field names: _uj microjoules, _j joules, _kwh
 * kilowatt-hours, _g grams CO2eq, _w watts, _ns nanoseconds since the Unix
 * epoch (UTC), _s seconds. Every figure carries a method (enum cl_method).
 */
#ifndef CL_REPORT_MODEL_H
#define CL_REPORT_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct cl_analyses_report;

/* Origin of a number. */
enum cl_method {
        CL_METHOD_MEASURED,   /* read from RAPL counters or a meter */
        CL_METHOD_ATTRIBUTED, /* a share of measured energy by CPU time */
        CL_METHOD_ESTIMATED,  /* the power model, or a share of it */
        CL_METHOD_DECLARED,   /* a value the user configured */
        CL_METHOD_MIXED,      /* measured in some intervals, estimated in
                                 others (see the measured share) */
        CL_METHOD_NONE,       /* no data */
};

/* Compliance status of a workload, and result of one check. */
enum cl_status {
        CL_STATUS_COMPLIANT,
        CL_STATUS_NON_COMPLIANT,
        CL_STATUS_NOT_ASSESSED,
        CL_STATUS_INSUFFICIENT_DATA,
};
#define CL_STATUS_COUNT 4

/* Returns "measured", "attributed", ... as used in JSON and reports. */
const char *cl_method_name(enum cl_method method);

/* Returns "COMPLIANT", "NON_COMPLIANT", ... */
const char *cl_status_name(enum cl_status status);

/*
 * One compliance check. target and value are in unit; has_target and
 * has_value are 0 when there is none (for example no budget configured).
 */
struct cl_check {
        char check[40]; /* "emissions_rate", "coverage", "grid_intensity",
                           "pue" */
        char unit[24];  /* "gCO2eq/h", "%", "gCO2eq/kWh", "ratio" */
        int has_target;
        double target;
        int has_value;
        double value;
        enum cl_status result;
        char reason[320]; /* one English sentence with target and value */
};

#define CL_MAX_CHECKS 4

struct cl_node_report {
        char name[128];
        int64_t energy_uj;     /* node energy (package + dram, or psys) */
        int64_t idle_uj;       /* share of idle + iowait CPU time */
        int64_t system_uj;     /* host processes and kernel */
        int64_t pods_uj;       /* sum over the node's pods */
        int64_t measured_uj;   /* part of energy_uj from RAPL */
        int64_t estimated_uj;  /* part of energy_uj from the power model */
        enum cl_method method; /* measured, estimated or mixed */
        double coverage;       /* sampled time / period, 0..1 */
        int64_t sampled_ns;    /* time covered by intervals with energy */
        int64_t gap_ns;        /* time of intervals recorded as gaps */
        int intervals;         /* intervals with energy */
        int gaps;              /* intervals recorded as gaps */
        int scaled_intervals;  /* intervals whose pods were scaled down */
        double mean_w;         /* energy / sampled time */
        double peak_w;         /* highest interval power */
        double model_idle_w;   /* power model, when any estimated */
        double model_max_w;
        double emissions_g; /* IT basis */
        int64_t *hour_uj;   /* energy per hour of the period, or NULL */
        struct cl_check checks[CL_MAX_CHECKS];
        size_t n_checks;
};

struct cl_workload_report {
        char node[128];
        char namespace_[128]; /* "" when unresolved */
        char pod[254];        /* pod name, or the UID when unresolved */
        char pod_uid[40];
        int64_t energy_uj;
        double cpu_s;       /* CPU time in the period */
        double run_s;       /* time covered by samples it appeared in */
        double span_s;      /* first appearance to last, in period */
        double coverage;    /* run_s / span_s, 0..1 */
        double mean_w;      /* energy / run_s */
        double peak_w;      /* highest interval power */
        double emissions_g; /* IT basis */
        double emissions_rate_g_per_h; /* emissions_g / (run_s / 3600) */
        enum cl_method method;         /* attributed, estimated or mixed */
        int64_t *hour_uj; /* energy per hour of the period, or NULL */
        enum cl_status status;
        struct cl_check checks[CL_MAX_CHECKS];
        size_t n_checks;
};

/* Energy and emissions of one clock hour (UTC start). */
struct cl_hour_report {
        int64_t start_ns;
        int64_t energy_uj;
        int64_t sampled_ns;         /* 0: no samples, energy unknown */
        double intensity_g_per_kwh; /* applied (consumption side) */
        enum cl_method intensity_method;
        char intensity_source[24]; /* source of the applied value */
        int fell_back;             /* hourly basis, no hourly value */
        int has_hourly;            /* a time-matched hourly value exists */
        double hourly_g_per_kwh;   /* as the source gives it */
        char hourly_basis[16];     /* "generation" or "consumption" */
        char hourly_quality[16];   /* measured, estimated, declared, ... */
        double emissions_g;
};

struct cl_report_model {
        /* Identity of the report. */
        char organisation[200];
        char date[11];           /* KST calendar day "YYYY-MM-DD" */
        int64_t period_start_ns; /* inclusive */
        int64_t period_end_ns;   /* exclusive */
        const char *timezone;    /* "Asia/Seoul" */
        int64_t generated_ns;
        char program_version[32];
        char policy_name[200];
        char policy_path[512];

        /* Totals over all nodes, IT basis unless named facility. */
        int64_t energy_uj;
        double energy_kwh;
        double emissions_g;          /* IT energy x intensity */
        double facility_emissions_g; /* emissions_g x PUE */
        double measured_share;       /* measured energy / energy, 0..1 */

        /* PUE: from meter data (measured) or the policy (declared). */
        double pue;
        enum cl_method pue_method;
        double meter_facility_kwh; /* sums over the period, when measured */
        double meter_it_kwh;
        int meter_intervals;
        double meter_coverage; /* share of the period metered, 0..1 */
        double pue_target;
        char pue_target_origin[256];

        /* Intensity used for the totals. */
        double intensity_g_per_kwh;
        enum cl_method intensity_method;
        char intensity_source[64]; /* "gir" */
        char intensity_label[256]; /* "GIR 2025 approval (2025-12), ..." */
        double grid_reference_g_per_kwh;
        char grid_reference_origin[256];
        int hourly_basis;          /* 0: official factor, 1: hourly */
        double official_g_per_kwh; /* the official factor in force */
        char hourly_source[24];    /* source of the time-matched values */
        char zone[16];
        double grid_loss; /* hourly basis conversion, 0..0.5 */
        char grid_loss_origin[256];
        /* Time-matched hourly intensity of the energy, as the source gives
           it: sum(E_h x CI_h) / sum(E_h) over hours with a value. */
        int has_time_matched;
        double time_matched_g_per_kwh;
        char time_matched_basis[16];
        double time_matched_share; /* energy share of those hours, 0..1 */
        size_t hours_hourly;       /* hours with a time-matched value */
        size_t hours_fallback;     /* hourly basis: official factor used */
        char intensity_note[256];  /* why hourly data is absent, or "" */

        /* Policy thresholds. */
        double coverage_threshold; /* 0..1 */

        struct cl_node_report *nodes;
        size_t n_nodes;
        struct cl_workload_report *workloads;
        size_t n_workloads;
        struct cl_hour_report *hours; /* clock hours of the period */
        size_t n_hours;

        /* Site checks (PUE, grid intensity) shown in the summary. */
        struct cl_check site_checks[CL_MAX_CHECKS];
        size_t n_site_checks;

        size_t status_counts[CL_STATUS_COUNT];
        int has_samples; /* 0: the day has no samples at all */

        /* The analyses section (analyses_model.h); NULL: none. */
        const struct cl_analyses_report *analyses;
};

/* Frees the arrays of m (not m itself) and zeroes it. */
void cl_report_model_free(struct cl_report_model *m);

#endif
