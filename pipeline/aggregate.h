/*
 * Summing one period of samples into the report model: per node, per pod
 * and per clock hour. An interval that crosses the period's edge or an
 * hour is split pro rata by time, in integer microjoules, so that for
 * every node pods + idle + system = energy still holds exactly.
 */
#ifndef CL_AGGREGATE_H
#define CL_AGGREGATE_H

#include "err.h"
#include "report_model.h"

#include <sqlite3.h>

/*
 * Fills m->nodes, m->workloads, m->hours (the clock hours from
 * m->period_start_ns), m->energy_uj, m->measured_share and
 * m->has_samples from the samples overlapping [m->period_start_ns,
 * m->period_end_ns). Emissions and checks are left to the caller. Fails
 * with CL_EDB or CL_ENOMEM.
 */
cl_err cl_aggregate_period(sqlite3 *db,
                           struct cl_report_model *m) CL_MUST_CHECK;

#endif
