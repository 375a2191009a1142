/*
 * Hourly rollups of the samples, raw-sample retention, and reports of
 * periods longer than a day from the rollups.
 *
 * The nightly run rolls up its KST day into rollup_node_hour and
 * rollup_pod_hour (replacing earlier rows of that day) and records the
 * day in rollup_day. With a retention of N days it then rolls up every
 * older day that is not rolled up yet. It deletes the raw samples that
 * ended before the start of the KST day N days before today, but only
 * those in rolled-up days that existed when their day was rolled up. A
 * month report then reads about 744 rows per node and per pod instead of
 * every sample.
 */
#ifndef CL_ROLLUP_H
#define CL_ROLLUP_H

#include "err.h"
#include "policy.h"
#include "report_model.h"

#include <sqlite3.h>
#include <stdint.h>

/*
 * Rolls up the KST day date ("YYYY-MM-DD") and, when retention_days > 0,
 * applies the retention relative to now_ns (ns since the epoch), in one
 * transaction. Logs the rows written and the samples deleted. Fails with
 * CL_EINVAL (bad date), CL_EDB or CL_ENOMEM, and then changes nothing.
 */
cl_err cl_rollup_nightly(sqlite3 *db, const char *date, int retention_days,
                         int64_t now_ns) CL_MUST_CHECK;

/* Rolls up the KST day starting at day_start_ns. Fails like above. */
cl_err cl_rollup_day(sqlite3 *db, int64_t day_start_ns) CL_MUST_CHECK;

/*
 * Returns 1 when [start_ns, end_ns) is whole KST days, more than one or a
 * day whose raw samples retention deleted, and every interval that ends
 * in it lies in a day rolled up after the interval was stored, else 0
 * (also on a database error).
 */
int cl_rollup_covers(sqlite3 *db, int64_t start_ns, int64_t end_ns);

/*
 * Fills the same fields as cl_aggregate_period from the rollups of the
 * hours in [m->period_start_ns, m->period_end_ns), including the hours
 * and each node's and workload's hour_uj. Fails with CL_EDB or
 * CL_ENOMEM.
 */
cl_err cl_rollup_aggregate(sqlite3 *db,
                           struct cl_report_model *m) CL_MUST_CHECK;

/*
 * Builds the report model of the KST month "YYYY-MM" (see
 * cl_build_period_model), from the rollups when they cover it; m->date is
 * set to "YYYY-MM". Fails with CL_EINVAL for a bad month.
 */
cl_err cl_rollup_month_model(sqlite3 *db, const struct cl_policy *policy,
                             const char *template_dir, const char *month,
                             int64_t now_ns,
                             struct cl_report_model *m) CL_MUST_CHECK;

/* Parses "YYYY-MM" into the KST start and end of that month (UTC ns). */
cl_err cl_parse_month(const char *text, int64_t *start_ns,
                      int64_t *end_ns) CL_MUST_CHECK;

#endif
