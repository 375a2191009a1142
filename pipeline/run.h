/*
 * The nightly run: one KST day from the database to signed reports.
 *
 * Steps: load the policy and the signing key (so a bad key fails before
 * any work), build the report model, write the JSON, XLSX, its detached
 * signature and the PDF (which embeds the XLSX) under temporary names,
 * sign the PDF, verify both signatures, then record the files in the
 * report ledger and rename them to their final names in one database
 * transaction. On any failure every temporary file is removed and no file
 * is left under a final name by this run.
 */
#ifndef CL_RUN_H
#define CL_RUN_H

#include "err.h"
#include "intensity.h"
#include "policy.h"
#include "report_model.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>

struct cl_run_options {
        const char *db_path;
        const char *date; /* "YYYY-MM-DD" (KST), NULL: yesterday */
        const char *out_dir;
        const char *key_path;
        const char *cert_path;
        const char *policy_path; /* NULL: the template's defaults */
        const char *template_dir;
        const char *font_path;
        const char *font_bold_path;
        int64_t now_ns;     /* generation time; 0 reads the clock */
        const char *month;  /* "YYYY-MM": report that KST month instead */
        int retention_days; /* > 0: delete rolled-up samples older */
        /* Hourly intensity: fetched for the period before reporting from
           the policy's hourly source unless offline. */
        const struct cl_intensity_config *intensity;
        int offline;
};

struct cl_run_result {
        char date[11];
        char pdf[PATH_MAX];
        char xlsx[PATH_MAX];
        char p7s[PATH_MAX];
        char json[PATH_MAX];
        size_t workloads;
        size_t status_counts[CL_STATUS_COUNT];
        int has_samples;
        char signer[256];
};

/*
 * Runs the nightly job. Fails with the code of the failing step and a
 * message naming its input.
 */
cl_err cl_run_nightly(const struct cl_run_options *opt,
                      struct cl_run_result *res) CL_MUST_CHECK;

/*
 * Builds the report model of the KST day date ("YYYY-MM-DD") from db:
 * samples, the official factor in force, PUE from meter data or the
 * policy, and compliance. m is freed with cl_report_model_free().
 */
cl_err cl_build_day_model(sqlite3 *db, const struct cl_policy *policy,
                          const char *template_dir, const char *date,
                          int64_t now_ns,
                          struct cl_report_model *m) CL_MUST_CHECK;

/*
 * Builds the report model of [start_ns, end_ns) (UTC ns) the same way,
 * with one hour row per clock hour. m->date is the KST date of the start.
 */
cl_err cl_build_period_model(sqlite3 *db, const struct cl_policy *policy,
                             const char *template_dir, int64_t start_ns,
                             int64_t end_ns, int64_t now_ns,
                             struct cl_report_model *m) CL_MUST_CHECK;

/* Writes the KST date of the day before now_ns as "YYYY-MM-DD". */
void cl_yesterday_kst(int64_t now_ns, char date[11]);

#endif
