/*
 * Helpers shared by the analyses' files: argument access, the period,
 * loading the report model and its workloads for a period, selection by
 * namespace, pod or workload, per-workload totals, the regions table and
 * the JSON result frame. Internal to pipeline/analyses*.c.
 */
#ifndef CL_ANALYSES_INTERNAL_H
#define CL_ANALYSES_INTERNAL_H

#include "analyses.h"
#include "report_model.h"
#include "workloads.h"

/* The period of a result: [start_ns, end_ns) in UTC ns. */
struct cl_an_period {
        int64_t start_ns;
        int64_t end_ns;
};

/* The model of one period, its workloads and the selected ones. */
struct cl_an_data {
        struct cl_an_period period;
        struct cl_report_model model;
        struct cl_workload_set all;
        struct cl_workload_set selected;
        const char *selection; /* "cluster", "namespace", "pod", "workload" */
        int loaded;
};

/* Sums over the pods of one workload group. */
struct cl_an_totals {
        int64_t energy_uj;
        double emissions_g; /* IT basis, the model's factor */
        double mean_w;      /* sum of the pods' mean power */
        double peak_w;      /* highest interval power of one pod */
        double run_s;       /* longest run time of one pod */
        double cpu_s;
        double rate_g_per_h;   /* emissions_g / (run_s / 3600) */
        double node_energy_uj; /* energy of the nodes its pods ran on */
        enum cl_method method; /* of the energy: attributed, estimated,
                                  mixed or none */
        enum cl_status status; /* the worst status of its pods */
};

/* Argument access; the types were checked by cl_analysis_run. */
const char *cl_an_str(json_object *args, const char *name, const char *def);
int cl_an_num(json_object *args, const char *name, double *out);
int cl_an_int(json_object *args, const char *name, int64_t *out);
int cl_an_bool(json_object *args, const char *name);

/*
 * Reads the period from "date" (a KST day) or "from" and "to" (ISO 8601),
 * defaulting to yesterday in KST. Fails with CL_EINVAL naming the value.
 */
cl_err cl_an_period_from_args(const struct cl_analysis_env *env,
                              json_object *args,
                              struct cl_an_period *p) CL_MUST_CHECK;

/*
 * Builds the model of p, groups its pods and applies the selection in
 * args ("namespace", "pod", "workload"). With need_samples, a period
 * without samples fails with CL_ENOTFOUND. An unknown namespace, pod or
 * workload fails with CL_ENOTFOUND listing what exists. Release with
 * cl_an_data_free() (also after a failure).
 */
cl_err cl_an_load(const struct cl_analysis_env *env, json_object *args,
                  const struct cl_an_period *p, int need_samples,
                  struct cl_an_data *d) CL_MUST_CHECK;

void cl_an_data_free(struct cl_an_data *d);

/* Sums the pods of g in m. */
void cl_an_totals(const struct cl_report_model *m,
                  const struct cl_workload_group *g, struct cl_an_totals *t);

/* Sums every selected group into one total. */
void cl_an_selected_totals(const struct cl_an_data *d, struct cl_an_totals *t);

/* Returns the combined method of a and b (none is neutral). */
enum cl_method cl_an_method_join(enum cl_method a, enum cl_method b);

/*
 * Returns the method of a figure computed from inputs of methods a and b:
 * the weaker of the two in the order measured, attributed, mixed,
 * estimated, declared. An input without data (none) gives none. So
 * measured energy times a declared factor is declared, and estimated
 * energy times a measured hourly intensity is estimated.
 */
enum cl_method cl_an_method_weakest(enum cl_method a, enum cl_method b);

/* Returns the method of the energy of every node of m: measured,
   estimated, mixed (by the measured share) or none. */
enum cl_method cl_an_model_energy_method(const struct cl_report_model *m);

/*
 * Returns the method of emissions from energy of method energy and the
 * intensity of m (official factor or hourly values) and, with facility,
 * also the PUE of m (cl_an_method_weakest of the inputs).
 */
enum cl_method cl_an_emissions_method(enum cl_method energy,
                                      const struct cl_report_model *m,
                                      int facility);

/* Describes the intensity the emissions of m use, for labels:
   "official factor" or "hourly intensity". */
const char *cl_an_intensity_basis(const struct cl_report_model *m);

/* Shorthand for cl_analysis_arg_label in messages. */
#define CL_AN_ARG(env, name) cl_analysis_arg_label((env), (name))

/*
 * Returns a new result object with "analysis", "period" (when p is not
 * NULL), "inputs" (database, policy, templates, arguments) and "units".
 */
json_object *cl_an_result_new(const char *analysis,
                              const struct cl_analysis_env *env,
                              json_object *args, const struct cl_an_period *p);

/* Adds inputs.workload_grouping and inputs.selection from d. */
void cl_an_add_grouping(json_object *result, const struct cl_analysis_env *env,
                        const struct cl_an_data *d);

/* Returns a new object describing g and its totals: "method" is the
   energy's, "emissions_method" that of the emissions. */
json_object *cl_an_group_json(const struct cl_report_model *m,
                              const struct cl_workload_group *g,
                              const struct cl_an_totals *t);

/* JSON setters; numbers are rounded to 6 decimals. */
void cl_an_put_str(json_object *o, const char *key, const char *value);
void cl_an_put_num(json_object *o, const char *key, double value);
void cl_an_put_int(json_object *o, const char *key, int64_t value);
void cl_an_put_null(json_object *o, const char *key);
void cl_an_put_time(json_object *o, const char *key, int64_t ns);

/* A region of templates/regions.json. */
struct cl_region {
        char code[16];
        char name[96];
        double g_per_kwh;
        char intensity_source[256];
        int has_ember;
        double ember_g_per_kwh;
        char ember_source[256];
        double pue;
        char pue_source[256];
        int has_profile; /* a 24-hour typical day, index = KST hour */
        double profile[24];
        char profile_source[256];
};

struct cl_regions {
        char path[512];
        struct cl_region *regions;
        size_t n_regions;
};

/*
 * Loads template_dir/regions.json. Fails with CL_EIO or CL_EFORMAT
 * naming the file and the region. Release with cl_regions_free().
 */
cl_err cl_regions_load(const char *template_dir,
                       struct cl_regions *out) CL_MUST_CHECK;
void cl_regions_free(struct cl_regions *r);

/* Returns the region whose code is code (case-insensitive), or NULL. */
const struct cl_region *cl_region_find(const struct cl_regions *r,
                                       const char *code);

/* Writes the codes of r as "KR, JP, ..." into buf. */
const char *cl_region_codes(const struct cl_regions *r, char *buf, size_t size);

/* The analyses, one per file group. */
cl_err cl_an_assess_compliance(const struct cl_analysis_env *env,
                               json_object *args, json_object **out);
cl_err cl_an_list_by_compliance(const struct cl_analysis_env *env,
                                json_object *args, json_object **out);
cl_err cl_an_compare_impact(const struct cl_analysis_env *env,
                            json_object *args, json_object **out);
cl_err cl_an_regional(const struct cl_analysis_env *env, json_object *args,
                      json_object **out);
cl_err cl_an_schedule(const struct cl_analysis_env *env, json_object *args,
                      json_object **out);
cl_err cl_an_hotspots(const struct cl_analysis_env *env, json_object *args,
                      json_object **out);
cl_err cl_an_trend(const struct cl_analysis_env *env, json_object *args,
                   json_object **out);
cl_err cl_an_cluster_summary(const struct cl_analysis_env *env,
                             json_object *args, json_object **out);

/*
 * Hourly intensity for the schedule and the time-shift effect: 24 values
 * from the "profile" argument (declared), stored hours of the zone, or the
 * zone's typical day in regions.json.
 */
struct cl_an_hourly {
        int cyclic;       /* 1: a 24-hour profile by KST hour */
        int64_t start_ns; /* first hour, when not cyclic */
        size_t n;
        double *values; /* gCO2eq/kWh */
        int *has;
        char source[320];
        const char *method; /* "declared", "measured", "estimated", ... */
};

/*
 * Loads hourly intensity for zone over [from_ns, to_ns) (stored hours) or
 * a profile. Fails with CL_EINVAL for a zone missing from regions.json or
 * a profile that is not 24 numbers above 0 and at most 2000 gCO2eq/kWh,
 * and CL_ENOTFOUND when there is no data.
 */
cl_err cl_an_hourly_load(const struct cl_analysis_env *env, json_object *args,
                         const char *zone, int64_t from_ns, int64_t to_ns,
                         struct cl_an_hourly *h) CL_MUST_CHECK;
void cl_an_hourly_free(struct cl_an_hourly *h);

/* Returns the KST hour of day (0..23) of ns. */
int cl_an_kst_hour(int64_t ns);

#endif
