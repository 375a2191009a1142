/*
 * The analyses section of the nightly report: runs the analyses over the
 * report's day and reduces each result to the rows of the report model's
 * analyses part (reports/analyses_model.h).
 */
#ifndef CL_ANALYSES_REPORT_H
#define CL_ANALYSES_REPORT_H

#include "analyses.h"
#include "analyses_model.h"

/*
 * Runs every analysis for the KST day date ("YYYY-MM-DD") and sets *out
 * to a new report part (cl_analyses_report_free). An analysis that fails
 * on the day's data (no hourly intensity, no samples) becomes a section
 * with its message, not a failure. Fails only with CL_ENOMEM.
 */
cl_err cl_analyses_report_build(const struct cl_analysis_env *env,
                                const char *date,
                                struct cl_analyses_report **out) CL_MUST_CHECK;

/*
 * Builds the part for the nightly run of date over db with the run's
 * policy and templates (pods grouped by name patterns). A date that is
 * not a day ("YYYY-MM" for a month) sets *out to NULL, so the report has
 * no analyses section. Fails only with CL_ENOMEM.
 */
cl_err cl_analyses_report_for_day(
    sqlite3 *db, const char *db_path, const struct cl_policy *policy,
    const char *template_dir, const char *date, int64_t now_ns,
    struct cl_analyses_report **out) CL_MUST_CHECK;

#endif
