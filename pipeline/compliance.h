/*
 * Emissions and compliance checks over an aggregated report model.
 *
 * A workload's status comes from what it controls: its emissions rate
 * (IT basis, gCO2eq per hour of the time it ran) against its budget.
 * INSUFFICIENT_DATA when the samples cover less of the period than the
 * policy's threshold for its node, or less of the time it ran for the pod;
 * NOT_ASSESSED when no budget applies. Grid intensity against the
 * reference and PUE against the target are node and site checks.
 */
#ifndef CL_COMPLIANCE_H
#define CL_COMPLIANCE_H

#include "policy.h"
#include "report_model.h"

/*
 * Sets emissions of totals, nodes, workloads and hours from
 * m->intensity_g_per_kwh and m->pue, then every check and status and
 * m->status_counts.
 */
void cl_compliance_apply(struct cl_report_model *m,
                         const struct cl_policy *policy);

/* Returns the emissions in gCO2eq of energy_uj at g_per_kwh. */
double cl_emissions_g(int64_t energy_uj, double g_per_kwh);

#endif
