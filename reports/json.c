/*
 * JSON report. Energy is given in J (and kWh for totals), emissions in
 * gCO2eq, power in W, coverage as a ratio 0..1, times as UTC ISO 8601;
 * each figure's method sits beside it.
 */
#include "json_report.h"

#include "analyses_model.h"
#include "fsutil.h"
#include "render.h"
#include "timeutil.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void
put_string(json_object *o, const char *key, const char *value)
{
        json_object_object_add(o, key, json_object_new_string(value));
}

/* A non-finite value would make the document invalid JSON: it is null. */
static void
put_double(json_object *o, const char *key, double value)
{
        json_object_object_add(
            o, key, isfinite(value) ? json_object_new_double(value) : NULL);
}

static void
put_int(json_object *o, const char *key, int64_t value)
{
        json_object_object_add(o, key, json_object_new_int64(value));
}

static void
put_time(json_object *o, const char *key, int64_t ns)
{
        char buf[32];

        put_string(o, key, cl_format_utc(ns, buf, sizeof(buf)));
}

static double
joules(int64_t uj)
{
        return (double)uj / 1e6;
}

json_object *
cl_check_to_json(const struct cl_check *c)
{
        json_object *o = json_object_new_object();

        put_string(o, "check", c->check);
        json_object_object_add(o, "target",
                               c->has_target ? json_object_new_double(c->target)
                                             : NULL);
        json_object_object_add(
            o, "value", c->has_value ? json_object_new_double(c->value) : NULL);
        put_string(o, "unit", c->unit);
        put_string(o, "result", cl_status_name(c->result));
        put_string(o, "reason", c->reason);
        return o;
}

static json_object *
checks_to_json(const struct cl_check *checks, size_t n)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < n; i++)
                json_object_array_add(a, cl_check_to_json(&checks[i]));
        return a;
}

static json_object *
node_to_json(const struct cl_node_report *n)
{
        json_object *o = json_object_new_object();

        put_string(o, "name", n->name);
        put_double(o, "energy_j", joules(n->energy_uj));
        put_double(o, "idle_energy_j", joules(n->idle_uj));
        put_double(o, "system_energy_j", joules(n->system_uj));
        put_double(o, "pods_energy_j", joules(n->pods_uj));
        put_double(o, "measured_energy_j", joules(n->measured_uj));
        put_double(o, "estimated_energy_j", joules(n->estimated_uj));
        put_string(o, "method", cl_method_name(n->method));
        put_double(o, "coverage", n->coverage);
        put_double(o, "sampled_s", (double)n->sampled_ns / 1e9);
        put_double(o, "gap_s", (double)n->gap_ns / 1e9);
        put_int(o, "intervals", n->intervals);
        put_int(o, "gaps", n->gaps);
        put_int(o, "scaled_intervals", n->scaled_intervals);
        put_double(o, "mean_power_w", n->mean_w);
        put_double(o, "peak_power_w", n->peak_w);
        put_double(o, "emissions_g", n->emissions_g);
        if (n->estimated_uj > 0) {
                json_object *model = json_object_new_object();

                put_double(model, "idle_w", n->model_idle_w);
                put_double(model, "max_w", n->model_max_w);
                put_string(model, "formula",
                           "P = idle + (max - idle) x busy ratio");
                json_object_object_add(o, "power_model", model);
        }
        json_object_object_add(o, "checks",
                               checks_to_json(n->checks, n->n_checks));
        return o;
}

static json_object *
workload_to_json(const struct cl_workload_report *w)
{
        json_object *o = json_object_new_object();

        put_string(o, "node", w->node);
        put_string(o, "namespace", w->namespace_);
        put_string(o, "pod", w->pod);
        put_string(o, "pod_uid", w->pod_uid);
        put_double(o, "energy_j", joules(w->energy_uj));
        put_double(o, "cpu_s", w->cpu_s);
        put_double(o, "run_s", w->run_s);
        put_double(o, "coverage", w->coverage);
        put_double(o, "mean_power_w", w->mean_w);
        put_double(o, "peak_power_w", w->peak_w);
        put_double(o, "emissions_g", w->emissions_g);
        put_double(o, "emissions_rate_g_per_h", w->emissions_rate_g_per_h);
        put_string(o, "method", cl_method_name(w->method));
        put_string(o, "status", cl_status_name(w->status));
        json_object_object_add(o, "checks",
                               checks_to_json(w->checks, w->n_checks));
        return o;
}

static json_object *
totals_to_json(const struct cl_report_model *m)
{
        json_object *o = json_object_new_object();

        put_double(o, "energy_j", joules(m->energy_uj));
        put_double(o, "energy_kwh", m->energy_kwh);
        put_double(o, "emissions_g", m->emissions_g);
        put_double(o, "facility_emissions_g", m->facility_emissions_g);
        put_double(o, "measured_share", m->measured_share);
        put_string(o, "basis",
                   "emissions_g: IT energy x intensity; "
                   "facility_emissions_g: x PUE");
        return o;
}

/*
 * One hour: energy is null when no sample covers the hour, so an unknown
 * hour never reads as a measured zero.
 */
static void
hour_fields(json_object *o, const struct cl_hour_report *h)
{
        json_object *hourly = json_object_new_object();

        json_object_object_add(
            o, "energy_j",
            h->sampled_ns > 0 ? json_object_new_double(joules(h->energy_uj))
                              : NULL);
        put_double(o, "sampled_s", (double)h->sampled_ns / 1e9);
        put_double(o, "g_per_kwh", h->intensity_g_per_kwh);
        put_string(o, "g_per_kwh_method", cl_method_name(h->intensity_method));
        put_string(o, "g_per_kwh_source", h->intensity_source);
        json_object_object_add(o, "fell_back",
                               json_object_new_boolean(h->fell_back));
        json_object_object_add(
            o, "emissions_g",
            h->sampled_ns > 0 ? json_object_new_double(h->emissions_g) : NULL);
        json_object_object_add(
            hourly, "g_per_kwh",
            h->has_hourly ? json_object_new_double(h->hourly_g_per_kwh) : NULL);
        put_string(hourly, "basis", h->hourly_basis);
        put_string(hourly, "quality",
                   h->has_hourly ? h->hourly_quality : "missing");
        json_object_object_add(o, "time_matched", hourly);
}

static json_object *
hours_to_json(const struct cl_report_model *m)
{
        json_object *a = json_object_new_array();

        for (size_t h = 0; h < m->n_hours; h++) {
                json_object *o = json_object_new_object();
                char kst[32];

                put_time(o, "start", m->hours[h].start_ns);
                put_string(
                    o, "start_kst",
                    cl_format_kst(m->hours[h].start_ns, kst, sizeof(kst)));
                hour_fields(o, &m->hours[h]);
                json_object_array_add(a, o);
        }
        return a;
}

static json_object *
context_to_json(const struct cl_report_model *m, json_object *doc)
{
        json_object *period = json_object_new_object();
        json_object *pue = json_object_new_object();
        json_object *intensity = json_object_new_object();
        json_object *policy = json_object_new_object();

        put_string(period, "date", m->date);
        put_time(period, "start", m->period_start_ns);
        put_time(period, "end", m->period_end_ns);
        put_string(period, "timezone", m->timezone);
        json_object_object_add(doc, "period", period);

        put_double(pue, "value", m->pue);
        put_string(pue, "method", cl_method_name(m->pue_method));
        if (m->meter_intervals > 0) {
                put_double(pue, "facility_kwh", m->meter_facility_kwh);
                put_double(pue, "it_kwh", m->meter_it_kwh);
                put_int(pue, "meter_intervals", m->meter_intervals);
                put_double(pue, "meter_coverage", m->meter_coverage);
        }
        put_double(pue, "target", m->pue_target);
        put_string(pue, "target_origin", m->pue_target_origin);
        json_object_object_add(doc, "pue", pue);

        put_double(intensity, "g_per_kwh", m->intensity_g_per_kwh);
        put_string(intensity, "source", m->intensity_source);
        put_string(intensity, "label", m->intensity_label);
        put_string(intensity, "method", cl_method_name(m->intensity_method));
        put_double(intensity, "grid_reference_g_per_kwh",
                   m->grid_reference_g_per_kwh);
        put_string(intensity, "grid_reference_origin",
                   m->grid_reference_origin);
        put_string(intensity, "accounting_basis",
                   m->hourly_basis ? "hourly" : "official");
        put_double(intensity, "official_g_per_kwh", m->official_g_per_kwh);
        put_string(intensity, "hourly_source", m->hourly_source);
        put_string(intensity, "zone", m->zone);
        if (m->hourly_basis)
                put_double(intensity, "grid_loss", m->grid_loss);
        json_object_object_add(
            intensity, "time_matched_g_per_kwh",
            m->has_time_matched
                ? json_object_new_double(m->time_matched_g_per_kwh)
                : NULL);
        put_string(intensity, "time_matched_basis", m->time_matched_basis);
        put_double(intensity, "time_matched_energy_share",
                   m->time_matched_share);
        put_int(intensity, "hours_with_hourly", (int64_t)m->hours_hourly);
        put_int(intensity, "hours_fallback", (int64_t)m->hours_fallback);
        put_string(intensity, "note", m->intensity_note);
        json_object_object_add(doc, "intensity", intensity);

        put_string(policy, "name", m->policy_name);
        put_string(policy, "path", m->policy_path);
        put_double(policy, "coverage_threshold", m->coverage_threshold);
        json_object_object_add(doc, "policy", policy);
        return doc;
}

json_object *
cl_report_to_json(const struct cl_report_model *m)
{
        json_object *doc = json_object_new_object();
        json_object *nodes, *workloads, *counts;

        if (doc == NULL)
                return NULL;
        put_string(doc, "report", "carbonledger daily audit");
        put_string(doc, "program_version", m->program_version);
        put_time(doc, "generated_at", m->generated_ns);
        put_string(doc, "organisation", m->organisation);
        json_object_object_add(doc, "has_samples",
                               json_object_new_boolean(m->has_samples));
        context_to_json(m, doc);
        json_object_object_add(doc, "totals", totals_to_json(m));

        nodes = json_object_new_array();
        for (size_t i = 0; i < m->n_nodes; i++)
                json_object_array_add(nodes, node_to_json(&m->nodes[i]));
        json_object_object_add(doc, "nodes", nodes);

        workloads = json_object_new_array();
        for (size_t i = 0; i < m->n_workloads; i++)
                json_object_array_add(workloads,
                                      workload_to_json(&m->workloads[i]));
        json_object_object_add(doc, "workloads", workloads);

        counts = json_object_new_object();
        for (int s = 0; s < CL_STATUS_COUNT; s++)
                put_int(counts, cl_status_name((enum cl_status)s),
                        (int64_t)m->status_counts[s]);
        json_object_object_add(doc, "status_counts", counts);
        json_object_object_add(
            doc, "site_checks",
            checks_to_json(m->site_checks, m->n_site_checks));
        json_object_object_add(doc, "hours", hours_to_json(m));
        if (m->analyses != NULL)
                json_object_object_add(doc, "analyses",
                                       cl_analyses_to_json(m->analyses));
        return doc;
}

cl_err
cl_render_json(const struct cl_report_model *m, const char *path)
{
        locale_t c_locale, previous;
        json_object *doc;
        const char *text;
        cl_err rc;

        c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        if (c_locale == (locale_t)0)
                return cl_fail(CL_ENOMEM, "C locale for %s", path);
        previous = uselocale(c_locale);
        doc = cl_report_to_json(m);
        if (doc == NULL) {
                rc = cl_fail(CL_ENOMEM, "JSON report %s", path);
                goto out;
        }
        text = json_object_to_json_string_ext(
            doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        {
                size_t len = strlen(text);
                char *buf = malloc(len + 2);

                if (buf == NULL) {
                        rc = cl_fail(CL_ENOMEM, "JSON report %s", path);
                } else {
                        memcpy(buf, text, len);
                        buf[len] = '\n';
                        rc = cl_write_file(path, buf, len + 1);
                        free(buf);
                }
        }
        json_object_put(doc);
out:
        uselocale(previous);
        freelocale(c_locale);
        return rc;
}
