/*
 * Compliance rules. Each check records its target, its value, its unit and
 * one sentence of reason, so a reader can see why without the policy.
 */
#include "compliance.h"

#include <stdio.h>
#include <string.h>

/* Joules per kWh x 1e6: microjoules per kilowatt-hour. */
#define UJ_PER_KWH 3.6e12

double
cl_emissions_g(int64_t energy_uj, double g_per_kwh)
{
        return (double)energy_uj / UJ_PER_KWH * g_per_kwh;
}

/*
 * Returns the emissions of a figure from its energy per hour and each
 * hour's applied intensity, or, for a model without hours (built by hand),
 * from its energy and the model's intensity.
 */
static double
emissions_by_hour(const struct cl_report_model *m, const int64_t *hour_uj,
                  int64_t energy_uj)
{
        double g = 0.0;

        if (hour_uj == NULL || m->n_hours == 0)
                return cl_emissions_g(energy_uj, m->intensity_g_per_kwh);
        for (size_t h = 0; h < m->n_hours; h++)
                g +=
                    cl_emissions_g(hour_uj[h], m->hours[h].intensity_g_per_kwh);
        return g;
}

static struct cl_check *
add_check(struct cl_check *checks, size_t *n, const char *name,
          const char *unit)
{
        struct cl_check *c;

        if (*n >= CL_MAX_CHECKS)
                return NULL;
        c = &checks[(*n)++];
        memset(c, 0, sizeof(*c));
        snprintf(c->check, sizeof(c->check), "%s", name);
        snprintf(c->unit, sizeof(c->unit), "%s", unit);
        return c;
}

static void
coverage_check(struct cl_check *c, double coverage, double threshold,
               const char *what)
{
        c->has_target = 1;
        c->target = threshold * 100.0;
        c->has_value = 1;
        c->value = coverage * 100.0;
        if (coverage + 1e-12 >= threshold) {
                c->result = CL_STATUS_COMPLIANT;
                snprintf(c->reason, sizeof(c->reason),
                         "Samples cover %.1f %% of %s, at least the "
                         "required %.1f %%.",
                         c->value, what, c->target);
        } else {
                c->result = CL_STATUS_INSUFFICIENT_DATA;
                snprintf(c->reason, sizeof(c->reason),
                         "Samples cover %.1f %% of %s, below the required "
                         "%.1f %%.",
                         c->value, what, c->target);
        }
}

/*
 * The grid reference is a generation-side annual average, so it is
 * compared with the time-matched hourly intensity of the energy, never
 * with the consumption-side official factor.
 */
static void
grid_check(struct cl_check *c, const struct cl_report_model *m)
{
        c->has_target = 1;
        c->target = m->grid_reference_g_per_kwh;
        if (!m->has_time_matched) {
                c->result = CL_STATUS_NOT_ASSESSED;
                snprintf(c->reason, sizeof(c->reason),
                         "No time-matched hourly intensity for the period "
                         "(%s); the official factor is a consumption-side "
                         "multi-year average and is not compared with the "
                         "grid reference of %.1f gCO2eq/kWh.",
                         m->intensity_note[0] ? m->intensity_note
                                              : "none stored",
                         c->target);
                return;
        }
        c->has_value = 1;
        c->value = m->time_matched_g_per_kwh;
        c->result = c->value <= c->target ? CL_STATUS_COMPLIANT
                                          : CL_STATUS_NON_COMPLIANT;
        snprintf(c->reason, sizeof(c->reason),
                 "Time-matched hourly intensity of the energy %.1f "
                 "gCO2eq/kWh (%s, %s side, %.0f %% of the energy) is %s the "
                 "organisation's grid reference of %.1f gCO2eq/kWh.",
                 c->value, m->hourly_source, m->time_matched_basis,
                 m->time_matched_share * 100.0,
                 c->value <= c->target ? "at or below" : "above", c->target);
}

static void
pue_check(struct cl_check *c, const struct cl_report_model *m)
{
        c->has_target = 1;
        c->target = m->pue_target;
        c->has_value = 1;
        c->value = m->pue;
        if (m->pue_method != CL_METHOD_MEASURED) {
                c->result = CL_STATUS_NOT_ASSESSED;
                if (m->meter_intervals > 0)
                        snprintf(c->reason, sizeof(c->reason),
                                 "PUE %.2f is declared by the policy: meter "
                                 "data covers %.2f %% of the period, below "
                                 "the required %.1f %%, so it is not "
                                 "compared with the target of %.2f.",
                                 c->value, m->meter_coverage * 100.0,
                                 m->coverage_threshold * 100.0, c->target);
                else
                        snprintf(c->reason, sizeof(c->reason),
                                 "PUE %.2f is declared by the policy, not "
                                 "measured: no facility meter data for the "
                                 "period, so it is not compared with the "
                                 "target of %.2f.",
                                 c->value, c->target);
                return;
        }
        c->result = c->value <= c->target ? CL_STATUS_COMPLIANT
                                          : CL_STATUS_NON_COMPLIANT;
        snprintf(c->reason, sizeof(c->reason),
                 "Measured PUE %.3f (facility %.3f kWh / IT %.3f kWh) is %s "
                 "the target of %.2f.",
                 c->value, m->meter_facility_kwh, m->meter_it_kwh,
                 c->value <= c->target ? "at or below" : "above", c->target);
}

static void
apply_nodes(struct cl_report_model *m)
{
        for (size_t i = 0; i < m->n_nodes; i++) {
                struct cl_node_report *n = &m->nodes[i];
                struct cl_check *c;

                n->emissions_g = emissions_by_hour(m, n->hour_uj, n->energy_uj);
                n->n_checks = 0;
                c = add_check(n->checks, &n->n_checks, "coverage", "%");
                coverage_check(c, n->coverage, m->coverage_threshold,
                               "the period on this node");
        }
}

static const struct cl_node_report *
node_of(const struct cl_report_model *m, const char *name)
{
        for (size_t i = 0; i < m->n_nodes; i++)
                if (strcmp(m->nodes[i].name, name) == 0)
                        return &m->nodes[i];
        return NULL;
}

static void
budget_check(struct cl_check *c, const struct cl_workload_report *w,
             const struct cl_policy *policy)
{
        double budget;

        c->has_value = w->run_s > 0;
        c->value = w->emissions_rate_g_per_h;
        if (!cl_policy_budget(policy, w->namespace_, w->pod, &budget)) {
                c->result = CL_STATUS_NOT_ASSESSED;
                snprintf(c->reason, sizeof(c->reason),
                         "No emissions budget applies to %s/%s in the "
                         "policy; the rate was %.3f gCO2eq/h.",
                         w->namespace_, w->pod, c->value);
                return;
        }
        c->has_target = 1;
        c->target = budget;
        c->result =
            c->value <= budget ? CL_STATUS_COMPLIANT : CL_STATUS_NON_COMPLIANT;
        snprintf(c->reason, sizeof(c->reason),
                 "Emissions rate %.3f gCO2eq/h over %.2f h of run time is %s "
                 "the budget of %.3f gCO2eq/h.",
                 c->value, w->run_s / 3600.0,
                 c->value <= budget ? "within" : "above", budget);
}

static void
apply_workload(struct cl_report_model *m, struct cl_workload_report *w,
               const struct cl_policy *policy)
{
        const struct cl_node_report *node = node_of(m, w->node);
        struct cl_check *cov, *pod_cov, *budget;
        int insufficient;

        w->emissions_g = emissions_by_hour(m, w->hour_uj, w->energy_uj);
        w->emissions_rate_g_per_h =
            w->run_s > 0 ? w->emissions_g / (w->run_s / 3600.0) : 0.0;
        w->n_checks = 0;
        cov = add_check(w->checks, &w->n_checks, "node_coverage", "%");
        coverage_check(cov, node != NULL ? node->coverage : 0.0,
                       m->coverage_threshold, "the period on the pod's node");
        pod_cov = add_check(w->checks, &w->n_checks, "pod_coverage", "%");
        coverage_check(pod_cov, w->coverage, m->coverage_threshold,
                       "the time the pod ran");
        budget =
            add_check(w->checks, &w->n_checks, "emissions_rate", "gCO2eq/h");
        budget_check(budget, w, policy);

        insufficient = cov->result == CL_STATUS_INSUFFICIENT_DATA ||
                       pod_cov->result == CL_STATUS_INSUFFICIENT_DATA;
        w->status = insufficient ? CL_STATUS_INSUFFICIENT_DATA : budget->result;
}

void
cl_compliance_apply(struct cl_report_model *m, const struct cl_policy *policy)
{
        struct cl_check *c;

        m->energy_kwh = (double)m->energy_uj / UJ_PER_KWH;
        if (m->n_hours == 0) {
                m->emissions_g =
                    cl_emissions_g(m->energy_uj, m->intensity_g_per_kwh);
        } else {
                m->emissions_g = 0.0;
                for (size_t h = 0; h < m->n_hours; h++) {
                        struct cl_hour_report *hr = &m->hours[h];

                        hr->emissions_g = cl_emissions_g(
                            hr->energy_uj, hr->intensity_g_per_kwh);
                        m->emissions_g += hr->emissions_g;
                }
        }
        m->facility_emissions_g = m->emissions_g * m->pue;
        apply_nodes(m);
        memset(m->status_counts, 0, sizeof(m->status_counts));
        for (size_t i = 0; i < m->n_workloads; i++) {
                apply_workload(m, &m->workloads[i], policy);
                m->status_counts[m->workloads[i].status]++;
        }
        m->n_site_checks = 0;
        c = add_check(m->site_checks, &m->n_site_checks, "grid_intensity",
                      "gCO2eq/kWh");
        grid_check(c, m);
        c = add_check(m->site_checks, &m->n_site_checks, "pue", "ratio");
        pue_check(c, m);
}
