/*
 * The table of analyses and their arguments, argument validation, the
 * input JSON Schema of each analysis, the plain-text form of a result,
 * and the two pure calculations the analyses share: multiplicative
 * composition of reductions and the lowest-mean window of hours.
 */
#include "analyses.h"

#include "analyses_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const sort_choices[] = {"emissions", "power", NULL};
static const char *const source_choices[] = {"kpx", "electricitymaps",
                                             "watttime", "static", NULL};
static const char *const status_choices[] = {
    "COMPLIANT", "NON_COMPLIANT", "NOT_ASSESSED", "INSUFFICIENT_DATA", NULL};

static const struct cl_analysis_arg arg_date = {
    "date", CL_ARG_STRING,
    "KST calendar day YYYY-MM-DD to analyse (default: yesterday in KST)", NULL,
    "--date"};
static const struct cl_analysis_arg arg_from = {
    "from", CL_ARG_STRING,
    "Period start, ISO 8601 with an offset, e.g. 2026-03-10T00:00+09:00 "
    "(with to; instead of date)",
    NULL, "--from"};
static const struct cl_analysis_arg arg_to = {
    "to", CL_ARG_STRING, "Period end (exclusive), ISO 8601 with an offset",
    NULL, "--to"};
static const struct cl_analysis_arg arg_namespace = {
    "namespace", CL_ARG_STRING, "Kubernetes namespace to select", NULL,
    "--namespace"};
static const struct cl_analysis_arg arg_pod = {
    "pod", CL_ARG_STRING, "Pod name to select", NULL, "--pod"};
static const struct cl_analysis_arg arg_workload = {
    "workload", CL_ARG_STRING,
    "Workload name to select: a Deployment, StatefulSet, DaemonSet, Job or "
    "CronJob, e.g. nginx-light for pods nginx-light-7d9c8b5f4-x2x7k",
    NULL, "--workload"};
static const struct cl_analysis_arg arg_sort_by = {
    "sort_by", CL_ARG_STRING,
    "Order of rows: emissions (gCO2eq) or power (mean W), highest first",
    sort_choices, "--sort-by"};
static const struct cl_analysis_arg arg_status = {
    "status", CL_ARG_STRING, "List only workloads with this status",
    status_choices, "--status"};
static const struct cl_analysis_arg arg_top_n = {
    "top_n", CL_ARG_INTEGER, "Number of rows to return, 1 to 1000", NULL,
    "--top-n"};
static const struct cl_analysis_arg arg_threshold_w = {
    "threshold_w", CL_ARG_NUMBER,
    "List only workloads whose mean power is at least this many watts", NULL,
    "--threshold-w"};
static const struct cl_analysis_arg arg_rightsizing = {
    "rightsizing_percent", CL_ARG_NUMBER,
    "Energy removed by rightsizing, in percent (0 to 100)", NULL,
    "--rightsizing-percent"};
static const struct cl_analysis_arg arg_shift = {
    "shift_to_best_window", CL_ARG_BOOLEAN,
    "Include moving the work to the lowest-intensity window of the zone's "
    "hourly data",
    NULL, "--shift-to-best-window"};
static const struct cl_analysis_arg arg_region = {
    "region", CL_ARG_STRING,
    "Region code of templates/regions.json to move the work to, e.g. SE", NULL,
    "--region"};
static const struct cl_analysis_arg arg_current_region = {
    "current_region", CL_ARG_STRING,
    "Region code the work runs in now (default KR)", NULL, "--current-region"};
static const struct cl_analysis_arg arg_pue = {
    "pue", CL_ARG_NUMBER,
    "Improved PUE of the site: at least 1.0 and not above the period's PUE",
    NULL, "--pue"};
static const struct cl_analysis_arg arg_duration = {
    "duration_hours", CL_ARG_INTEGER,
    "Length of the job in whole hours (at least 1)", NULL, "--duration-hours"};
static const struct cl_analysis_arg arg_zone = {
    "zone", CL_ARG_STRING,
    "Grid zone: a region code of templates/regions.json (default KR)", NULL,
    "--zone"};
static const struct cl_analysis_arg arg_earliest = {
    "earliest_start", CL_ARG_STRING,
    "Earliest start, ISO 8601 with an offset (default: the next full hour)",
    NULL, "--earliest-start"};
static const struct cl_analysis_arg arg_deadline = {
    "deadline", CL_ARG_STRING,
    "Time by which the job must end, ISO 8601 with an offset", NULL,
    "--deadline"};
static const struct cl_analysis_arg arg_source = {
    "intensity_source", CL_ARG_STRING,
    "Source of stored hourly intensity to use (kpx, electricitymaps, "
    "watttime, static; default: the first with stored hours)",
    source_choices, "--intensity-source"};
static const struct cl_analysis_arg arg_profile = {
    "profile", CL_ARG_NUMBER_LIST,
    "Typical day to use instead of stored hours: 24 values in gCO2eq/kWh "
    "for the KST hours 0 to 23, each above 0 and at most 2000",
    NULL, "--profile"};
static const struct cl_analysis_arg arg_days = {
    "days", CL_ARG_INTEGER,
    "Number of KST days ending with date (2 to 366, default 14)", NULL,
    "--days"};

#define PERIOD_ARGS &arg_date, &arg_from, &arg_to
#define SELECT_ARGS &arg_namespace, &arg_pod, &arg_workload

static const struct cl_analysis_arg *const assess_args[] = {PERIOD_ARGS,
                                                            SELECT_ARGS, NULL};
static const struct cl_analysis_arg *const list_args[] = {
    PERIOD_ARGS, &arg_namespace, &arg_sort_by, &arg_status, NULL};
static const struct cl_analysis_arg *const compare_args[] = {
    PERIOD_ARGS,  SELECT_ARGS, &arg_rightsizing,
    &arg_shift,   &arg_region, &arg_current_region,
    &arg_pue,     &arg_zone,   &arg_source,
    &arg_profile, NULL};
static const struct cl_analysis_arg *const regional_args[] = {
    PERIOD_ARGS, SELECT_ARGS, &arg_current_region, NULL};
static const struct cl_analysis_arg *const schedule_args[] = {
    &arg_duration, &arg_zone,    &arg_earliest, &arg_deadline,
    &arg_source,   &arg_profile, NULL};
static const struct cl_analysis_arg *const hotspot_args[] = {
    PERIOD_ARGS, &arg_namespace, &arg_top_n, &arg_threshold_w, NULL};
static const struct cl_analysis_arg *const trend_args[] = {
    &arg_date, SELECT_ARGS, &arg_days, NULL};
static const struct cl_analysis_arg *const summary_args[] = {PERIOD_ARGS,
                                                             &arg_top_n, NULL};

static const char *const schedule_required[] = {"duration_hours", NULL};

static const struct cl_analysis analyses[] = {
    {"assess_workload_compliance",
     "Compliance of one pod or workload over a period: energy, mean and "
     "peak power, emissions, each check with target, value and reason, "
     "and recommendations.",
     assess_args, NULL, cl_an_assess_compliance},
    {"list_workloads_by_compliance",
     "Workloads of the cluster or a namespace grouped by compliance status, "
     "with counts, sorted by emissions or power.",
     list_args, NULL, cl_an_list_by_compliance},
    {"compare_optimization_impact",
     "Emissions before and after rightsizing, shifting to the best window, "
     "moving region and improving PUE: each effect alone and combined "
     "multiplicatively.",
     compare_args, NULL, cl_an_compare_impact},
    {"get_regional_comparison",
     "The same energy under each region's annual grid intensity and typical "
     "PUE, from templates/regions.json.",
     regional_args, NULL, cl_an_regional},
    {"calculate_optimal_schedule",
     "The start hour that minimises the mean grid intensity over a job's "
     "duration, with the saving against starting at the earliest start.",
     schedule_args, schedule_required, cl_an_schedule},
    {"get_power_hotspots",
     "Workloads ranked by mean power and emissions, each with its share of "
     "its nodes' energy and the reason it is listed.",
     hotspot_args, NULL, cl_an_hotspots},
    {"analyze_workload_power_trend",
     "Energy per KST day over a number of days, the least-squares slope per "
     "day and per week, percentage change, outlier days and gaps.",
     trend_args, NULL, cl_an_trend},
    {"get_cluster_carbon_summary",
     "Totals per cluster, node and namespace: energy, idle and system "
     "energy, emissions, coverage, the top consumers and the measured "
     "share.",
     summary_args, NULL, cl_an_cluster_summary},
};

#define N_ANALYSES (sizeof(analyses) / sizeof(analyses[0]))

size_t
cl_analysis_count(void)
{
        return N_ANALYSES;
}

const struct cl_analysis *
cl_analysis_at(size_t i)
{
        return i < N_ANALYSES ? &analyses[i] : NULL;
}

const struct cl_analysis *
cl_analysis_find(const char *name)
{
        for (size_t i = 0; i < N_ANALYSES; i++)
                if (strcmp(analyses[i].name, name) == 0)
                        return &analyses[i];
        return NULL;
}

const struct cl_analysis_arg *
cl_analysis_arg_find(const struct cl_analysis *a, const char *name)
{
        for (size_t i = 0; a->args[i] != NULL; i++)
                if (strcmp(a->args[i]->name, name) == 0)
                        return a->args[i];
        return NULL;
}

const char *
cl_analysis_arg_label(const struct cl_analysis_env *env, const char *name)
{
        if (env == NULL || !env->option_names)
                return name;
        for (size_t i = 0; i < N_ANALYSES; i++) {
                const struct cl_analysis_arg *arg =
                    cl_analysis_arg_find(&analyses[i], name);

                if (arg != NULL)
                        return arg->option;
        }
        return name;
}

static void
arg_names(const struct cl_analysis *a, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; a->args[i] != NULL && used < size; i++) {
                int n = snprintf(buf + used, size - used, "%s%s",
                                 i > 0 ? ", " : "", a->args[i]->name);

                if (n < 0)
                        break;
                used += (size_t)n;
        }
}

static int
is_number(json_object *v)
{
        return json_object_is_type(v, json_type_double) ||
               json_object_is_type(v, json_type_int);
}

/*
 * Writes a short rendering of v for messages: "abc" or 12. json-c stores
 * an integer beyond 64 bits as the nearest 64-bit limit, so such a limit
 * is described, not shown as if it had been sent.
 */
static const char *
shown(json_object *v, char *buf, size_t size)
{
        if (json_object_is_type(v, json_type_int) &&
            (json_object_get_uint64(v) == UINT64_MAX ||
             json_object_get_int64(v) == INT64_MIN ||
             json_object_get_int64(v) == INT64_MAX)) {
                snprintf(buf, size,
                         "a number at or beyond the 64-bit "
                         "integer range");
                return buf;
        }
        snprintf(buf, size, "%.80s",
                 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        return buf;
}

static cl_err
check_choice(const struct cl_analysis_arg *arg, const char *label,
             json_object *v)
{
        const char *s = json_object_get_string(v);
        char list[256] = "";
        size_t used = 0;

        for (size_t i = 0; arg->choices[i] != NULL; i++) {
                if (strcmp(arg->choices[i], s) == 0)
                        return CL_OK;
                if (used < sizeof(list)) {
                        int n =
                            snprintf(list + used, sizeof(list) - used, "%s%s",
                                     i > 0 ? ", " : "", arg->choices[i]);
                        used += n > 0 ? (size_t)n : 0;
                }
        }
        return cl_fail(CL_EINVAL,
                       "%s: invalid value \"%s\"; expected one of %s", label, s,
                       list);
}

/* Checks v against the type of arg; messages call it label. */
static cl_err
check_type(const struct cl_analysis_arg *arg, const char *label, json_object *v)
{
        char buf[96];

        switch (arg->type) {
        case CL_ARG_STRING:
                if (!json_object_is_type(v, json_type_string))
                        return cl_fail(CL_EINVAL, "%s must be a string, got %s",
                                       label, shown(v, buf, sizeof(buf)));
                return arg->choices != NULL ? check_choice(arg, label, v)
                                            : CL_OK;
        case CL_ARG_NUMBER:
                if (!is_number(v) || !isfinite(json_object_get_double(v)))
                        return cl_fail(CL_EINVAL, "%s must be a number, got %s",
                                       label, shown(v, buf, sizeof(buf)));
                return CL_OK;
        case CL_ARG_INTEGER: {
                double d = json_object_get_double(v);

                if (!is_number(v) || !isfinite(d) || d != floor(d))
                        return cl_fail(CL_EINVAL,
                                       "%s must be a whole number, got %s",
                                       label, shown(v, buf, sizeof(buf)));
                /* Beyond 1e15 a double cannot represent every integer. */
                if (fabs(d) > 1e15)
                        return cl_fail(CL_EINVAL,
                                       "%s is out of range (at most 15 "
                                       "digits), got %s",
                                       label, shown(v, buf, sizeof(buf)));
                return CL_OK;
        }
        case CL_ARG_BOOLEAN:
                if (!json_object_is_type(v, json_type_boolean))
                        return cl_fail(CL_EINVAL,
                                       "%s must be true or false, got %s",
                                       label, shown(v, buf, sizeof(buf)));
                return CL_OK;
        case CL_ARG_NUMBER_LIST:
                if (!json_object_is_type(v, json_type_array))
                        return cl_fail(CL_EINVAL,
                                       "%s must be a list of numbers, got %s",
                                       label, shown(v, buf, sizeof(buf)));
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *e = json_object_array_get_idx(v, i);

                        if (!is_number(e) ||
                            !isfinite(json_object_get_double(e)))
                                return cl_fail(CL_EINVAL,
                                               "%s: item %zu must be a number, "
                                               "got %s",
                                               label, i + 1,
                                               shown(e, buf, sizeof(buf)));
                }
                return CL_OK;
        }
        return CL_OK;
}

static cl_err
validate(const struct cl_analysis_env *env, const struct cl_analysis *a,
         json_object *args)
{
        char names[512];
        cl_err rc;

        if (args != NULL && !json_object_is_type(args, json_type_object))
                return cl_fail(CL_EINVAL, "arguments of %s must be an object",
                               a->name);
        if (args != NULL) {
                json_object_object_foreach(args, key, value)
                {
                        const struct cl_analysis_arg *arg =
                            cl_analysis_arg_find(a, key);

                        if (arg == NULL) {
                                arg_names(a, names, sizeof(names));
                                return cl_fail(CL_EINVAL,
                                               "unknown argument '%s' for %s; "
                                               "accepted: %s",
                                               key, a->name, names);
                        }
                        if (value == NULL)
                                continue;
                        rc = check_type(
                            arg, cl_analysis_arg_label(env, arg->name), value);
                        if (rc != CL_OK)
                                return rc;
                }
        }
        for (size_t i = 0; a->required != NULL && a->required[i] != NULL; i++) {
                json_object *v;

                if (args == NULL ||
                    !json_object_object_get_ex(args, a->required[i], &v) ||
                    v == NULL)
                        return cl_fail(
                            CL_EINVAL, "%s needs the argument %s", a->name,
                            cl_analysis_arg_label(env, a->required[i]));
        }
        return CL_OK;
}

cl_err
cl_analysis_run(const struct cl_analysis_env *env, const struct cl_analysis *a,
                json_object *args, json_object **out)
{
        cl_err rc;

        *out = NULL;
        rc = validate(env, a, args);
        if (rc != CL_OK)
                return rc;
        return a->run(env, args, out);
}

static const char *
schema_type(enum cl_arg_type type)
{
        switch (type) {
        case CL_ARG_NUMBER:
                return "number";
        case CL_ARG_INTEGER:
                return "integer";
        case CL_ARG_BOOLEAN:
                return "boolean";
        case CL_ARG_NUMBER_LIST:
                return "array";
        case CL_ARG_STRING:
                break;
        }
        return "string";
}

json_object *
cl_analysis_input_schema(const struct cl_analysis *a)
{
        json_object *schema = json_object_new_object();
        json_object *props = json_object_new_object();
        json_object *required = json_object_new_array();

        json_object_object_add(schema, "type",
                               json_object_new_string("object"));
        for (size_t i = 0; a->args[i] != NULL; i++) {
                const struct cl_analysis_arg *arg = a->args[i];
                json_object *p = json_object_new_object();

                json_object_object_add(
                    p, "type", json_object_new_string(schema_type(arg->type)));
                json_object_object_add(
                    p, "description", json_object_new_string(arg->description));
                if (arg->type == CL_ARG_NUMBER_LIST) {
                        json_object *items = json_object_new_object();

                        json_object_object_add(
                            items, "type", json_object_new_string("number"));
                        json_object_object_add(p, "items", items);
                        json_object_object_add(p, "minItems",
                                               json_object_new_int(24));
                        json_object_object_add(p, "maxItems",
                                               json_object_new_int(24));
                }
                if (arg->choices != NULL) {
                        json_object *e = json_object_new_array();

                        for (size_t c = 0; arg->choices[c] != NULL; c++)
                                json_object_array_add(
                                    e, json_object_new_string(arg->choices[c]));
                        json_object_object_add(p, "enum", e);
                }
                json_object_object_add(props, arg->name, p);
        }
        json_object_object_add(schema, "properties", props);
        for (size_t i = 0; a->required != NULL && a->required[i] != NULL; i++)
                json_object_array_add(required,
                                      json_object_new_string(a->required[i]));
        json_object_object_add(schema, "required", required);
        json_object_object_add(schema, "additionalProperties",
                               json_object_new_boolean(0));
        return schema;
}

static void
print_indent(FILE *out, int indent)
{
        for (int i = 0; i < indent; i++)
                fputc(' ', out);
}

static int
is_scalar(json_object *v)
{
        return v == NULL || (!json_object_is_type(v, json_type_object) &&
                             !json_object_is_type(v, json_type_array));
}

static void
print_scalar(FILE *out, json_object *v)
{
        if (v == NULL)
                fputs("-", out);
        else if (json_object_is_type(v, json_type_string))
                fputs(json_object_get_string(v), out);
        else
                fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                      out);
}

static void print_node(FILE *out, const char *key, json_object *v, int indent);

static void
print_array(FILE *out, json_object *v, int indent)
{
        size_t n = json_object_array_length(v);
        int scalars = 1;

        for (size_t i = 0; i < n; i++)
                scalars &= is_scalar(json_object_array_get_idx(v, i));
        if (scalars) {
                for (size_t i = 0; i < n; i++) {
                        fputs(i > 0 ? ", " : " ", out);
                        print_scalar(out, json_object_array_get_idx(v, i));
                }
                fputc('\n', out);
                return;
        }
        fputc('\n', out);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);

                print_indent(out, indent + 2);
                fprintf(out, "- [%zu]", i + 1);
                if (is_scalar(e)) {
                        fputc(' ', out);
                        print_scalar(out, e);
                        fputc('\n', out);
                        continue;
                }
                fputc('\n', out);
                json_object_object_foreach(e, k, child)
                    print_node(out, k, child, indent + 4);
        }
}

static void
print_node(FILE *out, const char *key, json_object *v, int indent)
{
        print_indent(out, indent);
        fprintf(out, "%s:", key);
        if (is_scalar(v)) {
                fputc(' ', out);
                print_scalar(out, v);
                fputc('\n', out);
        } else if (json_object_is_type(v, json_type_array)) {
                print_array(out, v, indent);
        } else {
                fputc('\n', out);
                json_object_object_foreach(v, k, child)
                    print_node(out, k, child, indent + 2);
        }
}

void
cl_analysis_print_text(json_object *result, FILE *out)
{
        json_object_object_foreach(result, key, value)
            print_node(out, key, value, 0);
}

double
cl_compose_reductions(const double *fractions, size_t n)
{
        double remaining = 1.0;

        for (size_t i = 0; i < n; i++) {
                double f = fractions[i];

                /* An increase (f < 0) stays; nothing removes over 100 %. */
                if (!isfinite(f))
                        f = 0.0;
                if (f > 1.0)
                        f = 1.0;
                remaining *= 1.0 - f;
        }
        return 1.0 - remaining;
}

/* Mean of the window at start; 0 when an hour in it has no value. */
static int
window_mean(const double *values, const int *has, size_t n, int cyclic,
            size_t start, size_t duration, double *mean)
{
        double sum = 0.0;

        if (!cyclic && (start >= n || duration > n - start))
                return 0;
        for (size_t k = 0; k < duration; k++) {
                size_t i = cyclic ? (start + k) % n : start + k;

                if (has != NULL && !has[i])
                        return 0;
                sum += values[i];
        }
        *mean = sum / (double)duration;
        return 1;
}

cl_err
cl_best_window(const double *values, const int *has, size_t n, int cyclic,
               size_t first_start, size_t n_starts, size_t duration,
               struct cl_window *best, struct cl_window *now)
{
        int found = 0;

        if (duration == 0)
                return cl_fail(CL_EINVAL, "duration must be at least 1 hour");
        if (duration > n)
                return cl_fail(CL_EINVAL,
                               "duration of %zu hours is longer than the %zu "
                               "hours of intensity data",
                               duration, n);
        now->start = first_start;
        now->mean = NAN;
        for (size_t k = 0; k < n_starts; k++) {
                size_t start = first_start + k;
                double mean;

                if (!window_mean(values, has, n, cyclic, start, duration,
                                 &mean))
                        continue;
                if (k == 0)
                        now->mean = mean;
                /* Strictly lower, so a tie keeps the earlier start. */
                if (!found || mean < best->mean - 1e-9) {
                        best->start = start;
                        best->mean = mean;
                        found = 1;
                }
        }
        if (!found)
                return cl_fail(CL_ENOTFOUND,
                               "no complete window of %zu hours in the "
                               "intensity data",
                               duration);
        return CL_OK;
}
