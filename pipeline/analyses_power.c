/*
 * get_power_hotspots, analyze_workload_power_trend and
 * get_cluster_carbon_summary: rankings, daily series and totals over the
 * report model's nodes and pods.
 */
#include "analyses_internal.h"

#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UJ_PER_KWH 3.6e12
#define DEFAULT_TOP 10
#define DEFAULT_SUMMARY_TOP 5
#define MAX_TOP 1000
#define DEFAULT_DAYS 14
#define MAX_DAYS 366
/* Outlier rule: distance from the median above this many scaled MADs. */
#define OUTLIER_MADS 3.0
/* MAD x 1.4826 estimates the standard deviation of normal data. */
#define MAD_SCALE 1.4826
#define MIN_OUTLIER_POINTS 4

struct ranked {
        const struct cl_workload_group *group;
        struct cl_an_totals totals;
};

static int
compare_power(const void *a, const void *b)
{
        const struct ranked *x = a, *y = b;

        if (x->totals.mean_w != y->totals.mean_w)
                return x->totals.mean_w < y->totals.mean_w ? 1 : -1;
        if (x->totals.emissions_g != y->totals.emissions_g)
                return x->totals.emissions_g < y->totals.emissions_g ? 1 : -1;
        return strcmp(x->group->name, y->group->name);
}

static int
compare_energy(const void *a, const void *b)
{
        const struct ranked *x = a, *y = b;

        if (x->totals.energy_uj != y->totals.energy_uj)
                return x->totals.energy_uj < y->totals.energy_uj ? 1 : -1;
        return strcmp(x->group->name, y->group->name);
}

/* Ranks the selected groups of d; *out is freed by the caller. */
static cl_err
rank_groups(const struct cl_an_data *d, int (*cmp)(const void *, const void *),
            struct ranked **out)
{
        struct ranked *rows = calloc(d->selected.n_groups + 1, sizeof(*rows));

        if (rows == NULL)
                return cl_fail(CL_ENOMEM, "ranked workloads");
        for (size_t i = 0; i < d->selected.n_groups; i++) {
                rows[i].group = &d->selected.groups[i];
                cl_an_totals(&d->model, rows[i].group, &rows[i].totals);
        }
        qsort(rows, d->selected.n_groups, sizeof(*rows), cmp);
        *out = rows;
        return CL_OK;
}

static cl_err
read_top(const struct cl_analysis_env *env, json_object *args, int64_t def,
         int64_t *top)
{
        *top = def;
        if (cl_an_int(args, "top_n", top) && (*top < 1 || *top > MAX_TOP))
                return cl_fail(CL_EINVAL, "%s must be 1 to %d, got %lld",
                               CL_AN_ARG(env, "top_n"), MAX_TOP,
                               (long long)*top);
        return CL_OK;
}

static void
put_share(json_object *o, const struct cl_an_totals *t)
{
        if (t->node_energy_uj > 0)
                cl_an_put_num(o, "share_of_node_energy",
                              (double)t->energy_uj / t->node_energy_uj);
        else
                cl_an_put_null(o, "share_of_node_energy");
}

cl_err
cl_an_hotspots(const struct cl_analysis_env *env, json_object *args,
               json_object **out)
{
        struct ranked *rows = NULL;
        struct cl_an_period p;
        struct cl_an_data d;
        double threshold = 0.0;
        int has_threshold;
        int64_t top, listed = 0;
        json_object *r, *list;
        cl_err rc;

        memset(&d, 0, sizeof(d));
        has_threshold = cl_an_num(args, "threshold_w", &threshold);
        if (has_threshold && threshold < 0.0)
                return cl_fail(CL_EINVAL, "%s must be 0 W or more, got %g",
                               CL_AN_ARG(env, "threshold_w"), threshold);
        rc = read_top(env, args, DEFAULT_TOP, &top);
        if (rc == CL_OK)
                rc = cl_an_period_from_args(env, args, &p);
        if (rc == CL_OK)
                rc = cl_an_load(env, args, &p, 1, &d);
        if (rc == CL_OK)
                rc = rank_groups(&d, compare_power, &rows);
        if (rc != CL_OK)
                goto out;
        r = cl_an_result_new("get_power_hotspots", env, args, &p);
        cl_an_add_grouping(r, env, &d);
        list = json_object_new_array();
        for (size_t i = 0; i < d.selected.n_groups && listed < top; i++) {
                const struct cl_an_totals *t = &rows[i].totals;
                json_object *o;
                char reason[512];

                if (has_threshold && t->mean_w < threshold)
                        continue;
                o = cl_an_group_json(&d.model, rows[i].group, t);
                put_share(o, t);
                listed++;
                cl_an_put_int(o, "rank", listed);
                snprintf(reason, sizeof(reason),
                         "rank %zu of %zu workloads by mean power (%.2f W); "
                         "%.1f %% of the energy of the nodes it ran on%s",
                         i + 1, d.selected.n_groups, t->mean_w,
                         t->node_energy_uj > 0
                             ? 100.0 * (double)t->energy_uj / t->node_energy_uj
                             : 0.0,
                         has_threshold ? "; at or above the threshold" : "");
                cl_an_put_str(o, "reason", reason);
                json_object_array_add(list, o);
        }
        json_object_object_add(r, "hotspots", list);
        cl_an_put_int(r, "workloads_considered", (int64_t)d.selected.n_groups);
        cl_an_put_int(r, "listed", listed);
        if (has_threshold)
                cl_an_put_num(r, "threshold_w", threshold);
        else
                cl_an_put_null(r, "threshold_w");
        cl_an_put_str(r, "rule",
                      "ranked by mean power, then emissions; listed when "
                      "among the top_n and, with threshold_w, at or above "
                      "it; share_of_node_energy = energy / energy of the "
                      "nodes its pods ran on");
        *out = r;
out:
        free(rows);
        cl_an_data_free(&d);
        return rc;
}

/* One day of a trend; has 0 marks a gap. */
struct day {
        int64_t start_ns;
        int has;
        double energy_j;
        double coverage;
        enum cl_method method;
        const char *gap_reason;
};

static double
median_of(double *v, size_t n)
{
        /* Insertion sort: at most 366 values. */
        for (size_t i = 1; i < n; i++)
                for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
                        double t = v[k];

                        v[k] = v[k - 1];
                        v[k - 1] = t;
                }
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Loads one day; a missing selection or no samples make it a gap. */
static cl_err
load_day(const struct cl_analysis_env *env, json_object *args, struct day *day,
         int *seen)
{
        struct cl_an_period p = {day->start_ns, day->start_ns + CL_NS_PER_DAY};
        struct cl_an_totals t;
        struct cl_an_data d;
        double coverage = 0.0;
        cl_err rc;

        rc = cl_an_load(env, args, &p, 0, &d);
        if (rc == CL_ENOTFOUND) {
                day->gap_reason = "the selection has no pods on this day";
                cl_an_data_free(&d);
                cl_clear_error();
                return CL_OK;
        }
        if (rc != CL_OK) {
                cl_an_data_free(&d);
                return rc;
        }
        if (!d.model.has_samples) {
                day->gap_reason = "no samples on this day";
        } else {
                *seen = 1;
                day->has = 1;
                for (size_t i = 0; i < d.model.n_nodes; i++)
                        coverage += d.model.nodes[i].coverage;
                day->coverage = d.model.n_nodes > 0
                                    ? coverage / (double)d.model.n_nodes
                                    : 0.0;
                if (strcmp(d.selection, "cluster") == 0) {
                        day->energy_j = (double)d.model.energy_uj / 1e6;
                        day->method = d.model.measured_share >= 1.0
                                          ? CL_METHOD_MEASURED
                                      : d.model.measured_share <= 0.0
                                          ? CL_METHOD_ESTIMATED
                                          : CL_METHOD_MIXED;
                } else {
                        cl_an_selected_totals(&d, &t);
                        day->energy_j = (double)t.energy_uj / 1e6;
                        day->method = t.method;
                }
        }
        cl_an_data_free(&d);
        return CL_OK;
}

struct fit {
        size_t n;
        double slope, intercept;
        double median, mad;
};

static void
fit_days(const struct day *days, size_t n_days, struct fit *f)
{
        double sx = 0, sy = 0, sxx = 0, sxy = 0, v[MAX_DAYS], dev[MAX_DAYS];

        memset(f, 0, sizeof(*f));
        for (size_t i = 0; i < n_days; i++) {
                if (!days[i].has)
                        continue;
                sx += (double)i;
                sy += days[i].energy_j;
                sxx += (double)i * (double)i;
                sxy += (double)i * days[i].energy_j;
                v[f->n++] = days[i].energy_j;
        }
        if (f->n >= 2) {
                double denom = (double)f->n * sxx - sx * sx;

                /* Distinct x values, so denom > 0 for n >= 2. */
                f->slope = ((double)f->n * sxy - sx * sy) / denom;
                f->intercept = (sy - f->slope * sx) / (double)f->n;
        }
        if (f->n > 0) {
                f->median = median_of(v, f->n);
                for (size_t i = 0; i < f->n; i++)
                        dev[i] = fabs(v[i] - f->median);
                f->mad = median_of(dev, f->n);
        }
}

static json_object *
days_json(const struct day *days, size_t n_days, const struct fit *f)
{
        json_object *list = json_object_new_array();
        double limit = OUTLIER_MADS * MAD_SCALE * f->mad;

        for (size_t i = 0; i < n_days; i++) {
                json_object *o = json_object_new_object();
                char kst[32];

                cl_format_kst(days[i].start_ns, kst, sizeof(kst));
                kst[10] = '\0';
                cl_an_put_str(o, "date", kst);
                if (!days[i].has) {
                        cl_an_put_null(o, "energy_j");
                        cl_an_put_str(o, "gap", days[i].gap_reason);
                        json_object_array_add(list, o);
                        continue;
                }
                cl_an_put_num(o, "energy_j", days[i].energy_j);
                cl_an_put_num(o, "energy_kwh", days[i].energy_j / 3.6e6);
                cl_an_put_str(o, "method", cl_method_name(days[i].method));
                cl_an_put_num(o, "node_coverage", days[i].coverage);
                json_object_object_add(
                    o, "outlier",
                    json_object_new_boolean(f->n >= MIN_OUTLIER_POINTS &&
                                            fabs(days[i].energy_j - f->median) >
                                                limit));
                json_object_array_add(list, o);
        }
        return list;
}

static json_object *
trend_json(const struct day *days, size_t n_days, const struct fit *f)
{
        json_object *o = json_object_new_object();
        size_t first = n_days, last = 0;

        cl_an_put_int(o, "days_with_data", (int64_t)f->n);
        cl_an_put_int(o, "gap_days", (int64_t)(n_days - f->n));
        for (size_t i = 0; i < n_days; i++) {
                if (!days[i].has)
                        continue;
                if (first == n_days)
                        first = i;
                last = i;
        }
        if (f->n < 2) {
                cl_an_put_null(o, "slope_j_per_day");
                cl_an_put_null(o, "slope_j_per_week");
                cl_an_put_null(o, "change_percent");
                cl_an_put_str(o, "note",
                              "a slope needs at least 2 days with "
                              "data");
                return o;
        }
        {
                double a = f->intercept + f->slope * (double)first;
                double b = f->intercept + f->slope * (double)last;

                cl_an_put_num(o, "slope_j_per_day", f->slope);
                cl_an_put_num(o, "slope_j_per_week", f->slope * 7.0);
                if (a > 0)
                        cl_an_put_num(o, "change_percent", 100.0 * (b - a) / a);
                else
                        cl_an_put_null(o, "change_percent");
        }
        cl_an_put_str(o, "slope_rule",
                      "ordinary least squares of energy_j on the day "
                      "number over days with data; gaps are left out, not "
                      "counted as 0");
        cl_an_put_str(o, "change_rule",
                      "fitted value on the last day with data against the "
                      "first, in percent");
        cl_an_put_num(o, "median_j", f->median);
        cl_an_put_num(o, "mad_j", f->mad);
        cl_an_put_str(o, "outlier_rule",
                      "a day is an outlier when |energy - median| > 3 x "
                      "1.4826 x MAD (median absolute deviation) of the days "
                      "with data; needs at least 4 such days");
        cl_an_put_str(o, "method", "estimated: a fit of the daily energy");
        return o;
}

cl_err
cl_an_trend(const struct cl_analysis_env *env, json_object *args,
            json_object **out)
{
        struct day days[MAX_DAYS];
        struct cl_an_period last, p;
        struct fit f;
        int64_t n_days = DEFAULT_DAYS;
        int seen = 0;
        json_object *r;
        cl_err rc;

        if (cl_an_int(args, "days", &n_days) &&
            (n_days < 2 || n_days > MAX_DAYS))
                return cl_fail(CL_EINVAL, "%s must be 2 to %d, got %lld",
                               CL_AN_ARG(env, "days"), MAX_DAYS,
                               (long long)n_days);
        rc = cl_an_period_from_args(env, args, &last);
        if (rc != CL_OK)
                return rc;
        memset(days, 0, sizeof(days));
        p.end_ns = last.end_ns;
        p.start_ns = last.start_ns - (n_days - 1) * CL_NS_PER_DAY;
        for (int64_t i = 0; rc == CL_OK && i < n_days; i++) {
                days[i].start_ns = p.start_ns + i * CL_NS_PER_DAY;
                rc = load_day(env, args, &days[i], &seen);
        }
        if (rc != CL_OK)
                return rc;
        if (!seen)
                return cl_fail(CL_ENOTFOUND,
                               "no data for the selection in the %lld days "
                               "ending with the period's day",
                               (long long)n_days);
        fit_days(days, (size_t)n_days, &f);
        r = cl_an_result_new("analyze_workload_power_trend", env, args, &p);
        cl_an_put_str(json_object_object_get(r, "inputs"), "selection",
                      cl_an_str(args, "pod", NULL)         ? "pod"
                      : cl_an_str(args, "workload", NULL)  ? "workload"
                      : cl_an_str(args, "namespace", NULL) ? "namespace"
                                                           : "cluster");
        json_object_object_add(r, "days", days_json(days, (size_t)n_days, &f));
        json_object_object_add(r, "trend",
                               trend_json(days, (size_t)n_days, &f));
        *out = r;
        return CL_OK;
}

static json_object *
nodes_json(const struct cl_report_model *m, double *min_cov, double *mean_cov)
{
        json_object *list = json_object_new_array();

        *min_cov = m->n_nodes > 0 ? 1.0 : 0.0;
        *mean_cov = 0.0;
        for (size_t i = 0; i < m->n_nodes; i++) {
                const struct cl_node_report *n = &m->nodes[i];
                json_object *o = json_object_new_object();

                cl_an_put_str(o, "node", n->name);
                cl_an_put_num(o, "energy_j", (double)n->energy_uj / 1e6);
                cl_an_put_str(o, "energy_method", cl_method_name(n->method));
                cl_an_put_num(o, "measured_energy_j",
                              (double)n->measured_uj / 1e6);
                cl_an_put_num(o, "estimated_energy_j",
                              (double)n->estimated_uj / 1e6);
                cl_an_put_num(o, "pods_energy_j", (double)n->pods_uj / 1e6);
                cl_an_put_num(o, "idle_energy_j", (double)n->idle_uj / 1e6);
                cl_an_put_num(o, "system_energy_j", (double)n->system_uj / 1e6);
                cl_an_put_num(o, "emissions_g", n->emissions_g);
                cl_an_put_str(
                    o, "emissions_method",
                    cl_method_name(cl_an_emissions_method(n->method, m, 0)));
                cl_an_put_num(o, "coverage", n->coverage);
                cl_an_put_num(o, "mean_power_w", n->mean_w);
                cl_an_put_num(o, "peak_power_w", n->peak_w);
                json_object_array_add(list, o);
                if (n->coverage < *min_cov)
                        *min_cov = n->coverage;
                *mean_cov += n->coverage / (double)m->n_nodes;
        }
        return list;
}

struct ns_sum {
        const char *name;
        int64_t energy_uj;
        double emissions_g;
        int64_t workloads, pods;
        enum cl_method method;
};

static json_object *
namespaces_json(const struct cl_an_data *d)
{
        struct ns_sum *sums = calloc(d->all.n_groups + 1, sizeof(*sums));
        json_object *map = json_object_new_object();
        size_t n = 0;

        if (sums == NULL)
                return map;
        for (size_t i = 0; i < d->all.n_groups; i++) {
                const struct cl_workload_group *g = &d->all.groups[i];
                const char *ns =
                    g->namespace_[0] ? g->namespace_ : "(unresolved)";
                struct cl_an_totals t;
                size_t k = 0;

                while (k < n && strcmp(sums[k].name, ns) != 0)
                        k++;
                if (k == n) {
                        sums[n].name = ns;
                        sums[n].method = CL_METHOD_NONE;
                        n++;
                }
                cl_an_totals(&d->model, g, &t);
                sums[k].energy_uj += t.energy_uj;
                sums[k].emissions_g += t.emissions_g;
                sums[k].workloads++;
                sums[k].pods += (int64_t)g->n_members;
                sums[k].method = cl_an_method_join(sums[k].method, t.method);
        }
        for (size_t k = 0; k < n; k++) {
                json_object *o = json_object_new_object();

                cl_an_put_num(o, "energy_j", (double)sums[k].energy_uj / 1e6);
                cl_an_put_str(o, "energy_method",
                              cl_method_name(sums[k].method));
                cl_an_put_num(o, "emissions_g", sums[k].emissions_g);
                cl_an_put_str(o, "emissions_method",
                              cl_method_name(cl_an_emissions_method(
                                  sums[k].method, &d->model, 0)));
                cl_an_put_int(o, "workloads", sums[k].workloads);
                cl_an_put_int(o, "pods", sums[k].pods);
                json_object_object_add(map, sums[k].name, o);
        }
        free(sums);
        return map;
}

static json_object *
totals_json(const struct cl_report_model *m)
{
        json_object *o = json_object_new_object();
        int64_t idle = 0, system = 0, pods = 0;
        enum cl_method energy = cl_an_model_energy_method(m);

        for (size_t i = 0; i < m->n_nodes; i++) {
                idle += m->nodes[i].idle_uj;
                system += m->nodes[i].system_uj;
                pods += m->nodes[i].pods_uj;
        }
        cl_an_put_int(o, "nodes", (int64_t)m->n_nodes);
        cl_an_put_int(o, "pods", (int64_t)m->n_workloads);
        cl_an_put_num(o, "energy_j", (double)m->energy_uj / 1e6);
        cl_an_put_num(o, "energy_kwh", (double)m->energy_uj / UJ_PER_KWH);
        cl_an_put_str(o, "energy_method", cl_method_name(energy));
        cl_an_put_num(o, "pods_energy_j", (double)pods / 1e6);
        cl_an_put_num(o, "idle_energy_j", (double)idle / 1e6);
        cl_an_put_num(o, "system_energy_j", (double)system / 1e6);
        cl_an_put_num(o, "measured_share", m->measured_share);
        cl_an_put_str(o, "measured_share_rule",
                      "energy read from RAPL / all node energy; the rest "
                      "is estimated by the power model");
        cl_an_put_num(o, "emissions_g", m->emissions_g);
        cl_an_put_str(o, "emissions_method",
                      cl_method_name(cl_an_emissions_method(energy, m, 0)));
        cl_an_put_num(o, "facility_emissions_g", m->facility_emissions_g);
        cl_an_put_str(o, "facility_emissions_method",
                      cl_method_name(cl_an_emissions_method(energy, m, 1)));
        cl_an_put_str(o, "factor_basis", cl_an_intensity_basis(m));
        cl_an_put_num(o, "factor_g_per_kwh", m->intensity_g_per_kwh);
        cl_an_put_str(o, "factor_label", m->intensity_label);
        cl_an_put_str(o, "factor_method", cl_method_name(m->intensity_method));
        cl_an_put_num(o, "pue", m->pue);
        cl_an_put_str(o, "pue_method", cl_method_name(m->pue_method));
        return o;
}

cl_err
cl_an_cluster_summary(const struct cl_analysis_env *env, json_object *args,
                      json_object **out)
{
        struct ranked *rows = NULL;
        struct cl_an_period p;
        struct cl_an_data d;
        double min_cov, mean_cov;
        int64_t top;
        json_object *r, *cov, *list;
        cl_err rc;

        memset(&d, 0, sizeof(d));
        rc = read_top(env, args, DEFAULT_SUMMARY_TOP, &top);
        if (rc == CL_OK)
                rc = cl_an_period_from_args(env, args, &p);
        if (rc == CL_OK)
                rc = cl_an_load(env, args, &p, 1, &d);
        if (rc == CL_OK)
                rc = rank_groups(&d, compare_energy, &rows);
        if (rc != CL_OK)
                goto out;
        r = cl_an_result_new("get_cluster_carbon_summary", env, args, &p);
        cl_an_add_grouping(r, env, &d);
        json_object_object_add(r, "cluster", totals_json(&d.model));
        json_object_object_add(r, "nodes",
                               nodes_json(&d.model, &min_cov, &mean_cov));
        cov = json_object_new_object();
        cl_an_put_num(cov, "min_node_coverage", min_cov);
        cl_an_put_num(cov, "mean_node_coverage", mean_cov);
        cl_an_put_num(cov, "threshold", d.model.coverage_threshold);
        json_object_object_add(r, "coverage", cov);
        json_object_object_add(r, "namespaces", namespaces_json(&d));
        list = json_object_new_array();
        for (size_t i = 0; i < d.selected.n_groups && (int64_t)i < top; i++) {
                json_object *o =
                    cl_an_group_json(&d.model, rows[i].group, &rows[i].totals);

                put_share(o, &rows[i].totals);
                json_object_array_add(list, o);
        }
        json_object_object_add(r, "top_consumers", list);
        *out = r;
out:
        free(rows);
        cl_an_data_free(&d);
        return rc;
}
