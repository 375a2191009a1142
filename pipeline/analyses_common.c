/*
 * What the analyses share: reading arguments, the period, the report
 * model of a period with its pods grouped into workloads, selection by
 * namespace, pod or workload, sums per workload, and the frame of every
 * result (period, inputs, units).
 */
#include "analyses_internal.h"

#include "run.h"
#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A period longer than a leap year is a mistake, not a report. */
#define MAX_PERIOD_NS (INT64_C(366) * CL_NS_PER_DAY)

static json_object *
arg_value(json_object *args, const char *name)
{
        json_object *v;

        if (args == NULL || !json_object_object_get_ex(args, name, &v))
                return NULL;
        return v;
}

const char *
cl_an_str(json_object *args, const char *name, const char *def)
{
        json_object *v = arg_value(args, name);

        return v != NULL ? json_object_get_string(v) : def;
}

int
cl_an_num(json_object *args, const char *name, double *out)
{
        json_object *v = arg_value(args, name);

        if (v == NULL)
                return 0;
        *out = json_object_get_double(v);
        return 1;
}

int
cl_an_int(json_object *args, const char *name, int64_t *out)
{
        double d;

        if (!cl_an_num(args, name, &d))
                return 0;
        *out = (int64_t)d;
        return 1;
}

int
cl_an_bool(json_object *args, const char *name)
{
        json_object *v = arg_value(args, name);

        return v != NULL && json_object_get_boolean(v);
}

cl_err
cl_an_period_from_args(const struct cl_analysis_env *env, json_object *args,
                       struct cl_an_period *p)
{
        const char *date = cl_an_str(args, "date", NULL);
        const char *from = cl_an_str(args, "from", NULL);
        const char *to = cl_an_str(args, "to", NULL);
        char yesterday[11];
        int y, m, d;
        cl_err rc;

        if (date != NULL && (from != NULL || to != NULL))
                return cl_fail(CL_EINVAL,
                               "give either %s or %s and %s, not both",
                               CL_AN_ARG(env, "date"), CL_AN_ARG(env, "from"),
                               CL_AN_ARG(env, "to"));
        if ((from == NULL) != (to == NULL))
                return cl_fail(CL_EINVAL,
                               "%s and %s go together: %s is missing",
                               CL_AN_ARG(env, "from"), CL_AN_ARG(env, "to"),
                               CL_AN_ARG(env, from == NULL ? "from" : "to"));
        if (from != NULL) {
                rc = cl_parse_iso8601(from, &p->start_ns);
                if (rc == CL_OK)
                        rc = cl_parse_iso8601(to, &p->end_ns);
                if (rc != CL_OK)
                        return rc;
                if (p->end_ns <= p->start_ns)
                        return cl_fail(CL_EINVAL,
                                       "%s (%s) must be after %s (%s)",
                                       CL_AN_ARG(env, "to"), to,
                                       CL_AN_ARG(env, "from"), from);
                if (p->end_ns - p->start_ns > MAX_PERIOD_NS)
                        return cl_fail(CL_EINVAL,
                                       "period from %s to %s is longer than "
                                       "366 days",
                                       from, to);
                return CL_OK;
        }
        if (date == NULL) {
                cl_yesterday_kst(env->now_ns, yesterday);
                date = yesterday;
        }
        rc = cl_parse_date(date, &y, &m, &d);
        if (rc != CL_OK)
                return rc;
        p->start_ns = cl_kst_day_start_ns(y, m, d);
        p->end_ns = p->start_ns + CL_NS_PER_DAY;
        return CL_OK;
}

static cl_err
grow_group(struct cl_workload_set *set, const struct cl_workload_group *src,
           const size_t *members, size_t n_members)
{
        struct cl_workload_group *groups, *g;

        groups = realloc(set->groups, (set->n_groups + 1) * sizeof(*groups));
        if (groups == NULL)
                return cl_fail(CL_ENOMEM, "selected workloads");
        set->groups = groups;
        g = &groups[set->n_groups];
        *g = *src;
        g->members = calloc(n_members + 1, sizeof(*g->members));
        if (g->members == NULL)
                return cl_fail(CL_ENOMEM, "selected workloads");
        memcpy(g->members, members, n_members * sizeof(*members));
        g->n_members = n_members;
        set->n_groups++;
        return CL_OK;
}

/* Lists the distinct values of what (namespaces or workloads) for messages. */
static const char *
known_names(const struct cl_an_data *d, int workloads, char *buf, size_t size)
{
        size_t used = 0, shown = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < d->all.n_groups && used < size; i++) {
                const struct cl_workload_group *g = &d->all.groups[i];
                const char *name = workloads ? g->name : g->namespace_;
                int dup = 0, n;

                for (size_t j = 0; j < i && !workloads; j++)
                        dup |= strcmp(d->all.groups[j].namespace_, name) == 0;
                if (dup)
                        continue;
                if (shown == 12) {
                        snprintf(buf + used, size - used, ", ...");
                        break;
                }
                n = snprintf(
                    buf + used, size - used, "%s%s%s%s", shown > 0 ? ", " : "",
                    workloads ? g->namespace_ : "", workloads ? "/" : "", name);
                used += n > 0 ? (size_t)n : 0;
                shown++;
        }
        if (shown == 0)
                snprintf(buf, size, "(none)");
        return buf;
}

static cl_err
select_pod(struct cl_an_data *d, const char *ns, const char *pod, size_t *found)
{
        const struct cl_report_model *m = &d->model;
        cl_err rc;

        for (size_t i = 0; i < d->all.n_groups; i++) {
                const struct cl_workload_group *g = &d->all.groups[i];

                if (ns != NULL && strcmp(g->namespace_, ns) != 0)
                        continue;
                for (size_t k = 0; k < g->n_members; k++) {
                        const struct cl_workload_report *w =
                            &m->workloads[g->members[k]];

                        if (strcmp(w->pod, pod) != 0 &&
                            strcmp(w->pod_uid, pod) != 0)
                                continue;
                        rc = grow_group(&d->selected, g, &g->members[k], 1);
                        if (rc != CL_OK)
                                return rc;
                        (*found)++;
                }
        }
        return CL_OK;
}

static cl_err
apply_selection(const struct cl_analysis_env *env, struct cl_an_data *d,
                json_object *args)
{
        const char *ns = cl_an_str(args, "namespace", NULL);
        const char *pod = cl_an_str(args, "pod", NULL);
        const char *workload = cl_an_str(args, "workload", NULL);
        char names[1024], start[32];
        size_t found = 0;
        cl_err rc = CL_OK;

        d->selection = pod != NULL        ? "pod"
                       : workload != NULL ? "workload"
                       : ns != NULL       ? "namespace"
                                          : "cluster";
        if (pod != NULL && workload != NULL)
                return cl_fail(CL_EINVAL, "give either %s or %s, not both",
                               CL_AN_ARG(env, "pod"),
                               CL_AN_ARG(env, "workload"));
        cl_format_kst(d->period.start_ns, start, sizeof(start));
        if (pod != NULL) {
                rc = select_pod(d, ns, pod, &found);
                if (rc == CL_OK && found == 0)
                        rc = cl_fail(CL_ENOTFOUND,
                                     "pod '%s'%s%s has no samples in the "
                                     "period starting %s KST",
                                     pod, ns != NULL ? " in namespace " : "",
                                     ns != NULL ? ns : "", start);
                return rc;
        }
        for (size_t i = 0; rc == CL_OK && i < d->all.n_groups; i++) {
                const struct cl_workload_group *g = &d->all.groups[i];

                if (ns != NULL && strcmp(g->namespace_, ns) != 0)
                        continue;
                if (workload != NULL && strcmp(g->name, workload) != 0)
                        continue;
                rc = grow_group(&d->selected, g, g->members, g->n_members);
                found++;
        }
        if (rc != CL_OK)
                return rc;
        if (found == 0 && workload != NULL)
                return cl_fail(CL_ENOTFOUND,
                               "workload '%s'%s%s not found in the period "
                               "starting %s KST; workloads: %s",
                               workload, ns != NULL ? " in namespace " : "",
                               ns != NULL ? ns : "", start,
                               known_names(d, 1, names, sizeof(names)));
        if (found == 0 && ns != NULL)
                return cl_fail(CL_ENOTFOUND,
                               "namespace '%s' has no pods in the period "
                               "starting %s KST; namespaces: %s",
                               ns, start,
                               known_names(d, 0, names, sizeof(names)));
        return CL_OK;
}

cl_err
cl_an_load(const struct cl_analysis_env *env, json_object *args,
           const struct cl_an_period *p, int need_samples, struct cl_an_data *d)
{
        char from[32], to[32];
        cl_err rc;

        memset(d, 0, sizeof(*d));
        d->period = *p;
        rc = cl_build_period_model(env->db, env->policy, env->template_dir,
                                   p->start_ns, p->end_ns, env->now_ns,
                                   &d->model);
        if (rc != CL_OK)
                return rc;
        d->loaded = 1;
        if (need_samples && !d->model.has_samples)
                return cl_fail(CL_ENOTFOUND,
                               "no samples from %s to %s (UTC) in %s: "
                               "nothing to analyse",
                               cl_format_utc(p->start_ns, from, sizeof(from)),
                               cl_format_utc(p->end_ns, to, sizeof(to)),
                               env->db_path != NULL ? env->db_path
                                                    : "the database");
        rc = cl_workloads_group(&d->model, env->kubelet, &d->all);
        if (rc != CL_OK)
                return rc;
        return apply_selection(env, d, args);
}

void
cl_an_data_free(struct cl_an_data *d)
{
        cl_workload_set_free(&d->selected);
        cl_workload_set_free(&d->all);
        if (d->loaded)
                cl_report_model_free(&d->model);
        d->loaded = 0;
}

enum cl_method
cl_an_method_join(enum cl_method a, enum cl_method b)
{
        if (a == CL_METHOD_NONE)
                return b;
        if (b == CL_METHOD_NONE || a == b)
                return a;
        return CL_METHOD_MIXED;
}

/* Orders methods from the strongest evidence to the weakest. */
static int
method_rank(enum cl_method m)
{
        switch (m) {
        case CL_METHOD_MEASURED:
                return 0;
        case CL_METHOD_ATTRIBUTED:
                return 1;
        case CL_METHOD_MIXED:
                return 2;
        case CL_METHOD_ESTIMATED:
                return 3;
        case CL_METHOD_DECLARED:
                return 4;
        case CL_METHOD_NONE:
                break;
        }
        return 5;
}

enum cl_method
cl_an_method_weakest(enum cl_method a, enum cl_method b)
{
        return method_rank(a) >= method_rank(b) ? a : b;
}

enum cl_method
cl_an_model_energy_method(const struct cl_report_model *m)
{
        if (m->energy_uj == 0)
                return CL_METHOD_NONE;
        if (m->measured_share >= 1.0)
                return CL_METHOD_MEASURED;
        if (m->measured_share <= 0.0)
                return CL_METHOD_ESTIMATED;
        return CL_METHOD_MIXED;
}

enum cl_method
cl_an_emissions_method(enum cl_method energy, const struct cl_report_model *m,
                       int facility)
{
        enum cl_method method =
            cl_an_method_weakest(energy, m->intensity_method);

        return facility ? cl_an_method_weakest(method, m->pue_method) : method;
}

const char *
cl_an_intensity_basis(const struct cl_report_model *m)
{
        return m->hourly_basis ? "hourly intensity" : "official factor";
}

/* Orders statuses from best to worst for "the worst of its pods". */
static int
status_rank(enum cl_status s)
{
        switch (s) {
        case CL_STATUS_COMPLIANT:
                return 0;
        case CL_STATUS_NOT_ASSESSED:
                return 1;
        case CL_STATUS_INSUFFICIENT_DATA:
                return 2;
        case CL_STATUS_NON_COMPLIANT:
                return 3;
        }
        return 0;
}

static int64_t
node_energy(const struct cl_report_model *m, const char *node)
{
        for (size_t i = 0; i < m->n_nodes; i++)
                if (strcmp(m->nodes[i].name, node) == 0)
                        return m->nodes[i].energy_uj;
        return 0;
}

void
cl_an_totals(const struct cl_report_model *m, const struct cl_workload_group *g,
             struct cl_an_totals *t)
{
        memset(t, 0, sizeof(*t));
        t->method = CL_METHOD_NONE;
        t->status = CL_STATUS_COMPLIANT;
        for (size_t k = 0; k < g->n_members; k++) {
                const struct cl_workload_report *w =
                    &m->workloads[g->members[k]];
                int counted = 0;

                t->energy_uj += w->energy_uj;
                t->emissions_g += w->emissions_g;
                t->mean_w += w->mean_w;
                t->cpu_s += w->cpu_s;
                if (w->peak_w > t->peak_w)
                        t->peak_w = w->peak_w;
                if (w->run_s > t->run_s)
                        t->run_s = w->run_s;
                t->method = cl_an_method_join(t->method, w->method);
                if (k == 0 || status_rank(w->status) > status_rank(t->status))
                        t->status = w->status;
                /* Each node's energy once, however many pods ran on it. */
                for (size_t j = 0; j < k; j++)
                        counted |= strcmp(m->workloads[g->members[j]].node,
                                          w->node) == 0;
                if (!counted)
                        t->node_energy_uj += (double)node_energy(m, w->node);
        }
        t->rate_g_per_h =
            t->run_s > 0 ? t->emissions_g / (t->run_s / 3600.0) : 0.0;
}

void
cl_an_selected_totals(const struct cl_an_data *d, struct cl_an_totals *t)
{
        struct cl_an_totals g;

        memset(t, 0, sizeof(*t));
        t->method = CL_METHOD_NONE;
        t->status = CL_STATUS_COMPLIANT;
        for (size_t i = 0; i < d->selected.n_groups; i++) {
                cl_an_totals(&d->model, &d->selected.groups[i], &g);
                t->energy_uj += g.energy_uj;
                t->emissions_g += g.emissions_g;
                t->mean_w += g.mean_w;
                t->cpu_s += g.cpu_s;
                if (g.peak_w > t->peak_w)
                        t->peak_w = g.peak_w;
                if (g.run_s > t->run_s)
                        t->run_s = g.run_s;
                t->method = cl_an_method_join(t->method, g.method);
                if (i == 0 || status_rank(g.status) > status_rank(t->status))
                        t->status = g.status;
        }
        /* The nodes' energy, for shares: every node of the model. */
        for (size_t i = 0; i < d->model.n_nodes; i++)
                t->node_energy_uj += (double)d->model.nodes[i].energy_uj;
        t->rate_g_per_h =
            t->run_s > 0 ? t->emissions_g / (t->run_s / 3600.0) : 0.0;
}

void
cl_an_put_str(json_object *o, const char *key, const char *value)
{
        json_object_object_add(o, key, json_object_new_string(value));
}

void
cl_an_put_num(json_object *o, const char *key, double value)
{
        double rounded = round(value * 1e6) / 1e6;
        char text[64];
        size_t n;

        if (!isfinite(rounded)) {
                cl_an_put_null(o, key);
                return;
        }
        /* Serialise the rounded value as written ("2.4"), not as its
           nearest binary double ("2.3999999999999999"). */
        snprintf(text, sizeof(text), "%.6f", rounded);
        n = strlen(text);
        while (n > 2 && text[n - 1] == '0' && text[n - 2] != '.')
                text[--n] = '\0';
        json_object_object_add(o, key, json_object_new_double_s(rounded, text));
}

void
cl_an_put_int(json_object *o, const char *key, int64_t value)
{
        json_object_object_add(o, key, json_object_new_int64(value));
}

void
cl_an_put_null(json_object *o, const char *key)
{
        json_object_object_add(o, key, NULL);
}

void
cl_an_put_time(json_object *o, const char *key, int64_t ns)
{
        char buf[32];

        cl_an_put_str(o, key, cl_format_utc(ns, buf, sizeof(buf)));
}

static json_object *
units_json(void)
{
        json_object *u = json_object_new_object();

        cl_an_put_str(u, "*_j", "J (joules)");
        cl_an_put_str(u, "*_kwh", "kWh");
        cl_an_put_str(u, "*_w", "W (watts)");
        cl_an_put_str(u, "*_g", "gCO2eq");
        cl_an_put_str(u, "*_g_per_kwh", "gCO2eq/kWh");
        cl_an_put_str(u, "*_g_per_h", "gCO2eq per hour of run time");
        cl_an_put_str(u, "*_percent", "% (0 to 100)");
        cl_an_put_str(u, "*_share, coverage", "ratio 0 to 1");
        cl_an_put_str(u, "*_s", "s (seconds)");
        cl_an_put_str(u, "times", "UTC ISO 8601; *_kst fields in KST (UTC+9)");
        cl_an_put_str(u, "method",
                      "measured (RAPL or meters), attributed (a share of "
                      "measured energy by CPU time), estimated (power model "
                      "or a computed what-if), declared (a configured "
                      "value), mixed (measured in some intervals or hours, "
                      "not in others)");
        cl_an_put_str(u, "emissions_method",
                      "the weakest method of the inputs (energy, intensity "
                      "and, for facility emissions, PUE) in the order "
                      "measured, attributed, mixed, estimated, declared");
        return u;
}

json_object *
cl_an_result_new(const char *analysis, const struct cl_analysis_env *env,
                 json_object *args, const struct cl_an_period *p)
{
        json_object *r = json_object_new_object();
        json_object *inputs = json_object_new_object();
        char kst[32];

        cl_an_put_str(r, "analysis", analysis);
        if (p != NULL) {
                json_object *period = json_object_new_object();

                cl_an_put_time(period, "start", p->start_ns);
                cl_an_put_time(period, "end", p->end_ns);
                cl_an_put_str(period, "start_kst",
                              cl_format_kst(p->start_ns, kst, sizeof(kst)));
                cl_an_put_str(period, "end_kst",
                              cl_format_kst(p->end_ns, kst, sizeof(kst)));
                cl_an_put_str(period, "timezone", "Asia/Seoul");
                json_object_object_add(r, "period", period);
        }
        cl_an_put_str(inputs, "database",
                      env->db_path != NULL ? env->db_path : "");
        cl_an_put_str(inputs, "policy", env->policy->path);
        cl_an_put_str(inputs, "templates", env->template_dir);
        json_object_object_add(inputs, "arguments",
                               args != NULL ? json_object_get(args)
                                            : json_object_new_object());
        json_object_object_add(r, "inputs", inputs);
        json_object_object_add(r, "units", units_json());
        return r;
}

void
cl_an_add_grouping(json_object *result, const struct cl_analysis_env *env,
                   const struct cl_an_data *d)
{
        json_object *inputs, *g = json_object_new_object();

        if (!json_object_object_get_ex(result, "inputs", &inputs)) {
                json_object_put(g);
                return;
        }
        cl_an_put_str(g, "method",
                      env->kubelet != NULL
                          ? "kubelet pod list (ownerReferences), name "
                            "patterns for pods missing from it"
                          : "pod name patterns (no kubelet pod list given)");
        if (env->kubelet != NULL)
                cl_an_put_str(g, "pod_list", env->kubelet->path);
        cl_an_put_int(g, "pods_from_pod_list", (int64_t)d->all.from_kubelet);
        cl_an_put_int(g, "pods_from_name_pattern", (int64_t)d->all.from_name);
        json_object_object_add(inputs, "workload_grouping", g);
        cl_an_put_str(inputs, "selection", d->selection);
        {
                json_object *factor = json_object_new_object();

                cl_an_put_num(factor, "g_per_kwh",
                              d->model.intensity_g_per_kwh);
                cl_an_put_str(factor, "label", d->model.intensity_label);
                cl_an_put_str(factor, "method",
                              cl_method_name(d->model.intensity_method));
                cl_an_put_str(factor, "basis",
                              cl_an_intensity_basis(&d->model));
                json_object_object_add(inputs, "emission_factor", factor);
        }
        {
                json_object *pue = json_object_new_object();

                cl_an_put_num(pue, "value", d->model.pue);
                cl_an_put_str(pue, "method",
                              cl_method_name(d->model.pue_method));
                json_object_object_add(inputs, "pue", pue);
        }
}

json_object *
cl_an_group_json(const struct cl_report_model *m,
                 const struct cl_workload_group *g,
                 const struct cl_an_totals *t)
{
        json_object *o = json_object_new_object();
        json_object *pods = json_object_new_array();

        cl_an_put_str(o, "namespace", g->namespace_);
        cl_an_put_str(o, "workload", g->name);
        cl_an_put_str(o, "kind", cl_workload_kind_name(g->kind));
        cl_an_put_str(o, "kind_from", cl_grouping_source_name(g->source));
        for (size_t k = 0; k < g->n_members; k++)
                json_object_array_add(
                    pods,
                    json_object_new_string(m->workloads[g->members[k]].pod));
        json_object_object_add(o, "pods", pods);
        cl_an_put_num(o, "energy_j", (double)t->energy_uj / 1e6);
        cl_an_put_num(o, "mean_power_w", t->mean_w);
        cl_an_put_num(o, "peak_power_w", t->peak_w);
        cl_an_put_num(o, "emissions_g", t->emissions_g);
        cl_an_put_num(o, "emissions_rate_g_per_h", t->rate_g_per_h);
        cl_an_put_num(o, "run_s", t->run_s);
        cl_an_put_str(o, "method", cl_method_name(t->method));
        cl_an_put_str(o, "emissions_method",
                      cl_method_name(cl_an_emissions_method(t->method, m, 0)));
        cl_an_put_str(o, "status", cl_status_name(t->status));
        return o;
}

int
cl_an_kst_hour(int64_t ns)
{
        int64_t local = ns + CL_KST_OFFSET_NS;
        int64_t in_day = local % CL_NS_PER_DAY;

        if (in_day < 0)
                in_day += CL_NS_PER_DAY;
        return (int)(in_day / CL_NS_PER_HOUR);
}
