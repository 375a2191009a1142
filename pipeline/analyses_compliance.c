/*
 * assess_workload_compliance and list_workloads_by_compliance. Both read
 * the statuses and checks that compliance.c set on each pod of the report
 * model; a workload's status is the worst of its pods' (NON_COMPLIANT,
 * then INSUFFICIENT_DATA, then NOT_ASSESSED, then COMPLIANT).
 */
#include "analyses_internal.h"

#include "json_report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rejects a workload name found in more than one namespace or kind. */
static cl_err
require_one_group(const struct cl_analysis_env *env, const struct cl_an_data *d,
                  const char *what)
{
        char list[512] = "";
        size_t used = 0;

        if (d->selected.n_groups <= 1 || strcmp(d->selection, "pod") == 0)
                return CL_OK;
        for (size_t i = 0; i < d->selected.n_groups && used < sizeof(list);
             i++) {
                const struct cl_workload_group *g = &d->selected.groups[i];
                int n =
                    snprintf(list + used, sizeof(list) - used, "%s%s/%s (%s)",
                             i > 0 ? ", " : "", g->namespace_, g->name,
                             cl_workload_kind_name(g->kind));

                used += n > 0 ? (size_t)n : 0;
        }
        return cl_fail(CL_EINVAL, "%s '%s' matches %zu workloads: %s; give %s",
                       what, what, d->selected.n_groups, list,
                       CL_AN_ARG(env, "namespace"));
}

static void add_recommendation(json_object *list, const char *fmt, ...)
    CL_PRINTF(2, 3);

static void
add_recommendation(json_object *list, const char *fmt, ...)
{
        char text[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        json_object_array_add(list, json_object_new_string(text));
}

static const struct cl_check *
find_check(const struct cl_workload_report *w, const char *name)
{
        for (size_t i = 0; i < w->n_checks; i++)
                if (strcmp(w->checks[i].check, name) == 0)
                        return &w->checks[i];
        return NULL;
}

/* Concrete next steps from the checks, the method and the power profile. */
static json_object *
recommendations(const struct cl_report_model *m,
                const struct cl_workload_group *g, const struct cl_an_totals *t)
{
        json_object *list = json_object_new_array();
        int budget_missing = 0;

        for (size_t k = 0; k < g->n_members; k++) {
                const struct cl_workload_report *w =
                    &m->workloads[g->members[k]];
                const struct cl_check *rate = find_check(w, "emissions_rate");
                const struct cl_check *node = find_check(w, "node_coverage");
                const struct cl_check *pod = find_check(w, "pod_coverage");

                if (node != NULL && node->result == CL_STATUS_INSUFFICIENT_DATA)
                        add_recommendation(
                            list,
                            "Samples on node %s cover %.1f %% of the period "
                            "(%.1f %% required): keep the collector running "
                            "on it for the whole period, then assess again.",
                            w->node, node->value, node->target);
                if (pod != NULL && pod->result == CL_STATUS_INSUFFICIENT_DATA)
                        add_recommendation(
                            list,
                            "Pod %s is sampled for %.1f %% of the time it ran "
                            "(%.1f %% required): look for gaps in the "
                            "collector's log on node %s.",
                            w->pod, pod->value, pod->target, w->node);
                if (rate != NULL && rate->result == CL_STATUS_NON_COMPLIANT &&
                    rate->value > 0)
                        add_recommendation(
                            list,
                            "Pod %s emits %.3f gCO2eq/h against a budget of "
                            "%.3f gCO2eq/h: cut its energy by %.1f %% "
                            "(rightsizing CPU requests and limits, fewer "
                            "idle replicas) to meet the budget.",
                            w->pod, rate->value, rate->target,
                            100.0 * (1.0 - rate->target / rate->value));
                if (rate != NULL && rate->result == CL_STATUS_NOT_ASSESSED)
                        budget_missing = 1;
        }
        if (budget_missing)
                add_recommendation(
                    list,
                    "No emissions budget applies to %s/%s: set one under "
                    "budgets_g_per_hour (pods \"%s/POD\", namespaces \"%s\" "
                    "or default) in the policy; its current rate is %.3f "
                    "gCO2eq/h.",
                    g->namespace_, g->name, g->namespace_, g->namespace_,
                    t->rate_g_per_h);
        if (t->method == CL_METHOD_ESTIMATED || t->method == CL_METHOD_MIXED)
                add_recommendation(
                    list,
                    "Energy is %s by the collector's power model: run it on "
                    "hosts with RAPL, or set --idle-watts and --max-watts "
                    "from a measurement of the hardware.",
                    t->method == CL_METHOD_ESTIMATED ? "estimated"
                                                     : "partly estimated");
        if (t->mean_w > 0 && t->peak_w > 3.0 * t->mean_w)
                add_recommendation(
                    list,
                    "Peak power %.2f W is %.1f times the mean of %.2f W: the "
                    "load is bursty, so CPU limits near the mean would cut "
                    "the peaks.",
                    t->peak_w, t->peak_w / t->mean_w, t->mean_w);
        if (json_object_array_length(list) == 0)
                add_recommendation(list, "No action needed: every check passed "
                                         "for the period.");
        return list;
}

static json_object *
pod_checks(const struct cl_report_model *m, const struct cl_workload_group *g)
{
        json_object *list = json_object_new_array();

        for (size_t k = 0; k < g->n_members; k++) {
                const struct cl_workload_report *w =
                    &m->workloads[g->members[k]];
                json_object *o = json_object_new_object();
                json_object *checks = json_object_new_array();

                cl_an_put_str(o, "pod", w->pod);
                cl_an_put_str(o, "node", w->node);
                cl_an_put_str(o, "status", cl_status_name(w->status));
                for (size_t c = 0; c < w->n_checks; c++)
                        json_object_array_add(checks,
                                              cl_check_to_json(&w->checks[c]));
                json_object_object_add(o, "checks", checks);
                json_object_array_add(list, o);
        }
        return list;
}

cl_err
cl_an_assess_compliance(const struct cl_analysis_env *env, json_object *args,
                        json_object **out)
{
        const char *target = cl_an_str(args, "workload", NULL);
        struct cl_an_period p;
        struct cl_an_totals t;
        struct cl_an_data d;
        json_object *r = NULL, *o;
        const struct cl_workload_group *g;
        cl_err rc;

        memset(&d, 0, sizeof(d));
        if (target == NULL && cl_an_str(args, "pod", NULL) == NULL)
                return cl_fail(
                    CL_EINVAL, "assess_workload_compliance needs %s or %s",
                    CL_AN_ARG(env, "pod"), CL_AN_ARG(env, "workload"));
        rc = cl_an_period_from_args(env, args, &p);
        if (rc == CL_OK)
                rc = cl_an_load(env, args, &p, 1, &d);
        if (rc == CL_OK)
                rc =
                    require_one_group(env, &d, target != NULL ? target : "pod");
        if (rc != CL_OK)
                goto out;
        g = &d.selected.groups[0];
        cl_an_totals(&d.model, g, &t);
        r = cl_an_result_new("assess_workload_compliance", env, args, &p);
        cl_an_add_grouping(r, env, &d);
        o = cl_an_group_json(&d.model, g, &t);
        json_object_object_add(r, "workload", o);
        o = json_object_new_object();
        cl_an_put_num(o, "energy_j", (double)t.energy_uj / 1e6);
        cl_an_put_num(o, "energy_kwh", (double)t.energy_uj / 3.6e12);
        cl_an_put_str(o, "energy_method", cl_method_name(t.method));
        cl_an_put_num(o, "mean_power_w", t.mean_w);
        cl_an_put_str(o, "mean_power_rule",
                      "sum over its pods of energy / time sampled while "
                      "running");
        cl_an_put_num(o, "peak_power_w", t.peak_w);
        cl_an_put_str(o, "peak_power_rule",
                      "highest interval power of one pod");
        cl_an_put_num(o, "emissions_g", t.emissions_g);
        cl_an_put_num(o, "facility_emissions_g", t.emissions_g * d.model.pue);
        cl_an_put_str(
            o, "emissions_method",
            cl_method_name(cl_an_emissions_method(t.method, &d.model, 0)));
        cl_an_put_str(
            o, "facility_emissions_method",
            cl_method_name(cl_an_emissions_method(t.method, &d.model, 1)));
        cl_an_put_str(o, "emissions_rule",
                      d.model.hourly_basis
                          ? "energy of each hour x the hour's intensity; "
                            "facility_emissions_g also x PUE"
                          : "energy x the official emission factor; "
                            "facility_emissions_g also x PUE");
        cl_an_put_num(o, "emissions_rate_g_per_h", t.rate_g_per_h);
        json_object_object_add(r, "figures", o);
        cl_an_put_str(r, "status", cl_status_name(t.status));
        json_object_object_add(r, "checks", pod_checks(&d.model, g));
        json_object_object_add(r, "recommendations",
                               recommendations(&d.model, g, &t));
        *out = r;
out:
        cl_an_data_free(&d);
        return rc;
}

struct row {
        const struct cl_workload_group *group;
        struct cl_an_totals totals;
};

static int
compare_values(double vx, double vy, const struct row *x, const struct row *y)
{
        if (vx != vy)
                return vx < vy ? 1 : -1;
        return strcmp(x->group->name, y->group->name);
}

static int
compare_by_power(const void *a, const void *b)
{
        const struct row *x = a, *y = b;

        return compare_values(x->totals.mean_w, y->totals.mean_w, x, y);
}

static int
compare_by_emissions(const void *a, const void *b)
{
        const struct row *x = a, *y = b;

        return compare_values(x->totals.emissions_g, y->totals.emissions_g, x,
                              y);
}

cl_err
cl_an_list_by_compliance(const struct cl_analysis_env *env, json_object *args,
                         json_object **out)
{
        const char *sort = cl_an_str(args, "sort_by", "emissions");
        const char *only = cl_an_str(args, "status", NULL);
        size_t counts[CL_STATUS_COUNT] = {0}, pods[CL_STATUS_COUNT] = {0};
        size_t n_pods = 0;
        struct row *rows = NULL;
        struct cl_an_period p;
        struct cl_an_data d;
        json_object *r, *groups, *c;
        int by_power;
        cl_err rc;

        memset(&d, 0, sizeof(d));
        rc = cl_an_period_from_args(env, args, &p);
        if (rc == CL_OK)
                rc = cl_an_load(env, args, &p, 1, &d);
        if (rc != CL_OK)
                goto out;
        rows = calloc(d.selected.n_groups + 1, sizeof(*rows));
        if (rows == NULL) {
                rc = cl_fail(CL_ENOMEM, "workload rows");
                goto out;
        }
        for (size_t i = 0; i < d.selected.n_groups; i++) {
                rows[i].group = &d.selected.groups[i];
                cl_an_totals(&d.model, rows[i].group, &rows[i].totals);
                counts[rows[i].totals.status]++;
                pods[rows[i].totals.status] += rows[i].group->n_members;
                n_pods += rows[i].group->n_members;
        }
        by_power = strcmp(sort, "power") == 0;
        qsort(rows, d.selected.n_groups, sizeof(*rows),
              by_power ? compare_by_power : compare_by_emissions);

        r = cl_an_result_new("list_workloads_by_compliance", env, args, &p);
        cl_an_add_grouping(r, env, &d);
        cl_an_put_str(r, "sorted_by",
                      by_power ? "mean_power_w, highest first"
                               : "emissions_g, highest first");
        c = json_object_new_object();
        for (int s = 0; s < CL_STATUS_COUNT; s++)
                cl_an_put_int(c, cl_status_name((enum cl_status)s),
                              (int64_t)counts[s]);
        json_object_object_add(r, "counts", c);
        c = json_object_new_object();
        for (int s = 0; s < CL_STATUS_COUNT; s++)
                cl_an_put_int(c, cl_status_name((enum cl_status)s),
                              (int64_t)pods[s]);
        json_object_object_add(r, "pod_counts", c);
        cl_an_put_int(r, "workloads", (int64_t)d.selected.n_groups);
        cl_an_put_int(r, "pods", (int64_t)n_pods);
        cl_an_put_str(r, "counted",
                      "counts are of workloads: the pods of one Deployment, "
                      "StatefulSet, DaemonSet, Job or CronJob count once, "
                      "with the worst status of its pods; pod_counts gives "
                      "the pods they contain");
        groups = json_object_new_object();
        for (int s = 0; s < CL_STATUS_COUNT; s++) {
                const char *name = cl_status_name((enum cl_status)s);
                json_object *list = json_object_new_array();

                if (only != NULL && strcmp(only, name) != 0) {
                        json_object_put(list);
                        continue;
                }
                for (size_t i = 0; i < d.selected.n_groups; i++)
                        if ((int)rows[i].totals.status == s)
                                json_object_array_add(
                                    list,
                                    cl_an_group_json(&d.model, rows[i].group,
                                                     &rows[i].totals));
                json_object_object_add(groups, name, list);
        }
        json_object_object_add(r, "workloads_by_status", groups);
        *out = r;
out:
        free(rows);
        cl_an_data_free(&d);
        return rc;
}
