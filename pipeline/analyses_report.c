/*
 * The analyses of the nightly report. Each analysis runs with arguments
 * fixed for a daily report (the day, the top five, the policy's PUE
 * target, a 4-hour job from the day's start, a 7-day trend), and a
 * function per analysis picks the figures the PDF and XLSX show from its
 * JSON result.
 */
#include "analyses_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows kept per section, so a large cluster keeps the report short. */
#define MAX_ROWS 40
#define TOP 5

struct builder {
        struct cl_analysis_section *s;
        cl_err rc;
};

static json_object *
at(json_object *o, const char *path)
{
        char key[96];

        while (o != NULL && *path != '\0') {
                size_t n = strcspn(path, ".");

                if (n >= sizeof(key))
                        return NULL;
                memcpy(key, path, n);
                key[n] = '\0';
                if (json_object_is_type(o, json_type_array))
                        o = json_object_array_get_idx(o,
                                                      strtoul(key, NULL, 10));
                else if (!json_object_object_get_ex(o, key, &o))
                        return NULL;
                path += n;
                if (*path == '.')
                        path++;
        }
        return o;
}

static struct cl_analysis_row *
new_row(struct builder *b, const char *item, const char *unit,
        const char *method)
{
        struct cl_analysis_row *rows, *r;

        if (b->rc != CL_OK || b->s->n_rows >= MAX_ROWS)
                return NULL;
        rows = realloc(b->s->rows, (b->s->n_rows + 1) * sizeof(*rows));
        if (rows == NULL) {
                b->rc = cl_fail(CL_ENOMEM, "analyses rows");
                return NULL;
        }
        b->s->rows = rows;
        r = &rows[b->s->n_rows++];
        memset(r, 0, sizeof(*r));
        snprintf(r->item, sizeof(r->item), "%s", item);
        snprintf(r->unit, sizeof(r->unit), "%s", unit);
        snprintf(r->method, sizeof(r->method), "%s", method ? method : "");
        return r;
}

/* Adds the number at path of result times scale; skips it when absent
   or null. */
static void
add_scaled(struct builder *b, json_object *result, const char *path,
           double scale, const char *item, const char *unit, const char *method)
{
        json_object *v = at(result, path);
        struct cl_analysis_row *r;

        if (v == NULL || !(json_object_is_type(v, json_type_double) ||
                           json_object_is_type(v, json_type_int)))
                return;
        r = new_row(b, item, unit, method);
        if (r == NULL)
                return;
        r->has_number = 1;
        r->number = json_object_get_double(v) * scale;
}

static void
add_num(struct builder *b, json_object *result, const char *path,
        const char *item, const char *unit, const char *method)
{
        add_scaled(b, result, path, 1.0, item, unit, method);
}

static void
add_text(struct builder *b, const char *item, const char *text,
         const char *method)
{
        struct cl_analysis_row *r = new_row(b, item, "", method);

        if (r != NULL)
                snprintf(r->text, sizeof(r->text), "%s", text ? text : "");
}

static const char *
str_at(json_object *o, const char *path)
{
        json_object *v = at(o, path);

        return v != NULL ? json_object_get_string(v) : "";
}

/* Every energy row is in kWh, so the rows compare at a glance. */
static void
rows_summary(struct builder *b, json_object *r)
{
        const double kwh_per_j = 1.0 / 3.6e6;
        const char *m = str_at(r, "cluster.energy_method");
        const char *pods = strcmp(m, "measured") == 0 ? "attributed" : m;
        char label[96];

        add_num(b, r, "cluster.energy_kwh", "cluster energy", "kWh", m);
        add_scaled(b, r, "cluster.pods_energy_j", kwh_per_j, "pods energy",
                   "kWh", pods);
        add_scaled(b, r, "cluster.idle_energy_j", kwh_per_j, "idle energy",
                   "kWh", m);
        add_scaled(b, r, "cluster.system_energy_j", kwh_per_j, "system energy",
                   "kWh", m);
        add_num(b, r, "cluster.measured_share", "measured share", "ratio",
                "measured");
        snprintf(label, sizeof(label), "emissions (IT energy x %s)",
                 str_at(r, "cluster.factor_basis"));
        add_num(b, r, "cluster.emissions_g", label, "gCO2eq",
                str_at(r, "cluster.emissions_method"));
        snprintf(label, sizeof(label),
                 "facility emissions (IT energy x %s x PUE)",
                 str_at(r, "cluster.factor_basis"));
        add_num(b, r, "cluster.facility_emissions_g", label, "gCO2eq",
                str_at(r, "cluster.facility_emissions_method"));
        add_num(b, r, "coverage.min_node_coverage", "lowest node coverage",
                "ratio", "measured");
}

/* A workload row's label: "namespace/name (Kind)". */
static void
workload_label(json_object *w, const char *prefix, char *buf, size_t size)
{
        snprintf(buf, size, "%s%s/%s (%s)", prefix, str_at(w, "namespace"),
                 str_at(w, "workload"), str_at(w, "kind"));
}

/*
 * The counts are of grouped workloads, while the report's status table
 * counts pods, so each row names the pods its workloads contain.
 */
static void
rows_list(struct builder *b, json_object *r)
{
        static const char *const statuses[] = {
            "NON_COMPLIANT", "INSUFFICIENT_DATA", "NOT_ASSESSED", "COMPLIANT"};
        char path[64], label[320], text[320];

        snprintf(text, sizeof(text),
                 "%lld workloads containing %lld pods; the pods of one "
                 "Deployment, StatefulSet, DaemonSet, Job or CronJob count "
                 "once, with their worst status",
                 (long long)json_object_get_int64(at(r, "workloads")),
                 (long long)json_object_get_int64(at(r, "pods")));
        add_text(b, "counted", text, "");
        for (size_t i = 0; i < 4; i++) {
                snprintf(path, sizeof(path), "pod_counts.%s", statuses[i]);
                snprintf(label, sizeof(label),
                         "%s (grouped workloads, %lld pods)", statuses[i],
                         (long long)json_object_get_int64(at(r, path)));
                snprintf(path, sizeof(path), "counts.%s", statuses[i]);
                add_num(b, r, path, label, "workloads", "");
        }
        for (size_t i = 0; i < 2; i++) {
                json_object *list;

                snprintf(path, sizeof(path), "workloads_by_status.%s",
                         statuses[i]);
                list = at(r, path);
                for (size_t k = 0; list && k < json_object_array_length(list);
                     k++) {
                        json_object *w = json_object_array_get_idx(list, k);

                        workload_label(w, "", label, sizeof(label));
                        add_text(b, label, statuses[i], "");
                }
        }
}

static void
rows_hotspots(struct builder *b, json_object *r)
{
        json_object *list = at(r, "hotspots");
        char label[320];

        for (size_t k = 0; list && k < json_object_array_length(list); k++) {
                json_object *w = json_object_array_get_idx(list, k);
                const char *m = str_at(w, "method");

                workload_label(w, "", label, sizeof(label));
                add_num(b, w, "mean_power_w", label, "W", m);
                workload_label(w, "share of node energy: ", label,
                               sizeof(label));
                add_num(b, w, "share_of_node_energy", label, "ratio", m);
        }
}

static void
rows_assess(struct builder *b, json_object *r)
{
        json_object *recs = at(r, "recommendations");
        char label[320];

        workload_label(at(r, "workload"), "", label, sizeof(label));
        add_text(b, label, str_at(r, "status"), "");
        add_num(b, r, "figures.emissions_rate_g_per_h", "emissions rate",
                "gCO2eq/h", str_at(r, "figures.emissions_method"));
        for (size_t k = 0; recs && k < json_object_array_length(recs); k++)
                add_text(
                    b, "recommendation",
                    json_object_get_string(json_object_array_get_idx(recs, k)),
                    "");
}

static void
rows_compare(struct builder *b, json_object *r)
{
        add_num(b, r, "before.facility_emissions_g", "facility emissions now",
                "gCO2eq", str_at(r, "before.facility_emissions_method"));
        add_num(b, r, "combined.reduction_percent",
                str_at(r, "effects.0.parameter"), "%", "estimated");
        add_num(b, r, "combined.facility_emissions_after_g",
                "facility emissions after", "gCO2eq", "estimated");
}

static void
rows_regional(struct builder *b, json_object *r)
{
        json_object *list = at(r, "regions");
        char label[160];

        add_num(b, r, "current_region.facility_emissions_g",
                "current region (KR)", "gCO2eq", "estimated");
        for (size_t k = 0;
             list && k < json_object_array_length(list) && k < TOP; k++) {
                json_object *g = json_object_array_get_idx(list, k);

                snprintf(label, sizeof(label), "%s (%s)", str_at(g, "name"),
                         str_at(g, "region"));
                add_num(b, g, "facility_emissions_g", label, "gCO2eq",
                        "estimated");
        }
}

static void
rows_schedule(struct builder *b, json_object *r)
{
        add_text(b, "best start (KST)", str_at(r, "best.start_kst"),
                 "estimated");
        add_num(b, r, "best.mean_intensity_g_per_kwh", "mean intensity",
                "gCO2eq/kWh", "estimated");
        add_num(b, r, "saving_percent", "saving against the earliest start",
                "%", "estimated");
}

static void
rows_trend(struct builder *b, json_object *r)
{
        json_object *days = at(r, "days");
        size_t outliers = 0;
        char text[64];

        add_num(b, r, "trend.slope_j_per_day", "slope", "J/day", "estimated");
        add_num(b, r, "trend.change_percent", "change over the days", "%",
                "estimated");
        add_num(b, r, "trend.gap_days", "days without samples", "days", "");
        for (size_t k = 0; days && k < json_object_array_length(days); k++)
                outliers +=
                    json_object_get_boolean(
                        at(json_object_array_get_idx(days, k), "outlier")) != 0;
        snprintf(text, sizeof(text), "%zu", outliers);
        add_text(b, "outlier days (|energy - median| > 3 x 1.4826 x MAD)", text,
                 "estimated");
}

struct plan {
        const char *analysis;
        const char *title;
        void (*rows)(struct builder *b, json_object *result);
};

static const struct plan plans[] = {
    {"get_cluster_carbon_summary", "Cluster carbon summary", rows_summary},
    {"list_workloads_by_compliance",
     "Workloads by compliance status (pods grouped by owner)", rows_list},
    {"get_power_hotspots", "Power hotspots", rows_hotspots},
    {"assess_workload_compliance", "Compliance of the top power hotspot",
     rows_assess},
    {"compare_optimization_impact", "PUE improvement to the policy target",
     rows_compare},
    {"get_regional_comparison", "The day's energy in other regions",
     rows_regional},
    {"calculate_optimal_schedule",
     "Best start of a 4-hour job from the day's start", rows_schedule},
    {"analyze_workload_power_trend", "Cluster energy over 7 days", rows_trend},
};

/* Builds the arguments of plan i for date; NULL skips it with a reason. */
static json_object *
arguments(const struct cl_analysis_env *env, size_t i, const char *date,
          const char *top_workload, char *why, size_t why_size)
{
        json_object *a = json_object_new_object();
        const char *name = plans[i].analysis;
        char start[40];

        if (strcmp(name, "calculate_optimal_schedule") == 0) {
                snprintf(start, sizeof(start), "%sT00:00+09:00", date);
                json_object_object_add(a, "duration_hours",
                                       json_object_new_int(4));
                json_object_object_add(a, "earliest_start",
                                       json_object_new_string(start));
                return a;
        }
        json_object_object_add(a, "date", json_object_new_string(date));
        if (strcmp(name, "get_power_hotspots") == 0)
                json_object_object_add(a, "top_n", json_object_new_int(TOP));
        if (strcmp(name, "analyze_workload_power_trend") == 0)
                json_object_object_add(a, "days", json_object_new_int(7));
        if (strcmp(name, "compare_optimization_impact") == 0)
                json_object_object_add(
                    a, "pue", json_object_new_double(env->policy->pue_target));
        if (strcmp(name, "assess_workload_compliance") == 0) {
                if (top_workload == NULL) {
                        snprintf(why, why_size,
                                 "no workload has samples on "
                                 "the day");
                        json_object_put(a);
                        return NULL;
                }
                json_object_object_add(a, "workload",
                                       json_object_new_string(top_workload));
        }
        return a;
}

static cl_err
run_plan(const struct cl_analysis_env *env, size_t i, const char *date,
         json_object **hotspots, struct cl_analysis_section *s)
{
        const char *top = NULL, *ns = NULL;
        struct builder b = {.s = s, .rc = CL_OK};
        json_object *args, *result = NULL;

        memset(s, 0, sizeof(*s));
        snprintf(s->analysis, sizeof(s->analysis), "%s", plans[i].analysis);
        snprintf(s->title, sizeof(s->title), "%s", plans[i].title);
        if (*hotspots != NULL) {
                top = json_object_get_string(
                    at(*hotspots, "hotspots.0.workload"));
                ns = json_object_get_string(
                    at(*hotspots, "hotspots.0.namespace"));
        }
        args = arguments(env, i, date, top, s->message, sizeof(s->message));
        if (args == NULL)
                return CL_OK;
        if (ns != NULL &&
            strcmp(plans[i].analysis, "assess_workload_compliance") == 0)
                json_object_object_add(args, "namespace",
                                       json_object_new_string(ns));
        snprintf(s->arguments, sizeof(s->arguments), "%s",
                 json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
        if (cl_analysis_run(env, cl_analysis_find(plans[i].analysis), args,
                            &result) != CL_OK) {
                snprintf(s->message, sizeof(s->message), "%s", cl_last_error());
                cl_clear_error();
                json_object_put(args);
                return CL_OK;
        }
        json_object_put(args);
        s->ok = 1;
        plans[i].rows(&b, result);
        if (strcmp(plans[i].analysis, "get_power_hotspots") == 0)
                *hotspots = result;
        else
                json_object_put(result);
        return b.rc;
}

cl_err
cl_analyses_report_build(const struct cl_analysis_env *env, const char *date,
                         struct cl_analyses_report **out)
{
        size_t n = sizeof(plans) / sizeof(plans[0]);
        struct cl_analyses_report *a = calloc(1, sizeof(*a));
        json_object *hotspots = NULL;
        cl_err rc = CL_OK;

        *out = NULL;
        if (a == NULL ||
            (a->sections = calloc(n, sizeof(*a->sections))) == NULL) {
                free(a);
                return cl_fail(CL_ENOMEM, "analyses section");
        }
        for (size_t i = 0; rc == CL_OK && i < n; i++) {
                rc = run_plan(env, i, date, &hotspots, &a->sections[i]);
                a->n_sections++;
        }
        json_object_put(hotspots);
        if (rc != CL_OK) {
                cl_analyses_report_free(a);
                return rc;
        }
        *out = a;
        return CL_OK;
}

cl_err
cl_analyses_report_for_day(sqlite3 *db, const char *db_path,
                           const struct cl_policy *policy,
                           const char *template_dir, const char *date,
                           int64_t now_ns, struct cl_analyses_report **out)
{
        struct cl_analysis_env env = {
            .db = db,
            .db_path = db_path,
            .policy = policy,
            .template_dir = template_dir,
            .kubelet = NULL,
            .now_ns = now_ns,
        };

        *out = NULL;
        if (strlen(date) != 10)
                return CL_OK;
        return cl_analyses_report_build(&env, date, out);
}
