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
#include <stdint.h>

/*
 * Fills m->nodes, m->workloads, m->hours (the clock hours from
 * m->period_start_ns), m->energy_uj, m->measured_share and
 * m->has_samples from the samples overlapping [m->period_start_ns,
 * m->period_end_ns). Emissions and checks are left to the caller. Fails
 * with CL_EDB or CL_ENOMEM.
 */
cl_err cl_aggregate_period(sqlite3 *db,
                           struct cl_report_model *m) CL_MUST_CHECK;

/*
 * Returns the part of value (of an interval of whole_ns) that falls in
 * part_ns of it, rounded down, computed without overflow. The daily
 * aggregation and the rollups split intervals with this one rule.
 */
int64_t cl_pro_rata(int64_t value, int64_t part_ns, int64_t whole_ns);

/*
 * Returns the method of a figure made of measured and estimated
 * intervals: when_measured, CL_METHOD_ESTIMATED, CL_METHOD_MIXED, or
 * CL_METHOD_NONE when there are none.
 */
enum cl_method cl_method_of(int64_t measured, int64_t estimated,
                            enum cl_method when_measured);

#endif
