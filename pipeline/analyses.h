/*
 * The eight analyses over the database, each a function from JSON
 * arguments to a JSON result. The query command, the MCP server and the
 * nightly report call them through this table, so their arguments,
 * validation and results are the same everywhere.
 *
 * Arguments are snake_case keys (the command line's --duration-hours 4 is
 * {"duration_hours": 4}). Every result names its period, its inputs, the
 * unit of every field and the method of every figure (measured,
 * attributed, estimated, declared, mixed). A figure derived from several
 * inputs, such as emissions from energy, intensity and PUE, takes the
 * weakest of their methods (cl_an_method_weakest). Energy and emissions
 * come from the same model as the nightly report (cl_build_period_model),
 * so a query and the report for the same day agree.
 */
#ifndef CL_ANALYSES_H
#define CL_ANALYSES_H

#include "err.h"
#include "policy.h"
#include "workloads.h"

#include <json-c/json.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Inputs of every analysis. The analysis owns none of them. */
struct cl_analysis_env {
        sqlite3 *db; /* opened CL_DB_READONLY by the callers */
        const char *db_path;
        const struct cl_policy *policy;
        const char *template_dir;              /* regions.json, factors */
        const struct cl_kubelet_pods *kubelet; /* NULL: name patterns */
        int64_t now_ns;                        /* UTC ns, for defaults */
        /* 1: messages name arguments as command-line options (--top-n);
           0: as JSON argument names (top_n), for MCP and the report. */
        int option_names;
};

enum cl_arg_type {
        CL_ARG_STRING,
        CL_ARG_NUMBER,
        CL_ARG_INTEGER,
        CL_ARG_BOOLEAN,
        CL_ARG_NUMBER_LIST, /* array of numbers; "1,2,3" on the command line */
};

/* One argument of an analysis; choices is NULL or a NULL-ended list. */
struct cl_analysis_arg {
        const char *name; /* JSON argument name, "top_n" */
        enum cl_arg_type type;
        const char *description;
        const char *const *choices;
        const char *option; /* command-line spelling, "--top-n" */
};

struct cl_analysis {
        const char *name;
        const char *description;
        const struct cl_analysis_arg *const *args; /* NULL-ended */
        const char *const *required;               /* NULL-ended, or NULL */
        cl_err (*run)(const struct cl_analysis_env *env, json_object *args,
                      json_object **out);
};

/* Returns the number of analyses (8) and the analysis at index i. */
size_t cl_analysis_count(void);
const struct cl_analysis *cl_analysis_at(size_t i);

/* Returns the analysis called name, or NULL. */
const struct cl_analysis *cl_analysis_find(const char *name);

/* Returns the argument called name of a, or NULL. */
const struct cl_analysis_arg *cl_analysis_arg_find(const struct cl_analysis *a,
                                                   const char *name);

/*
 * Returns how messages spell the argument called name: its option
 * ("--top-n") when env->option_names is set, else name itself. A name
 * that no analysis has is returned unchanged.
 */
const char *cl_analysis_arg_label(const struct cl_analysis_env *env,
                                  const char *name);

/*
 * Validates args (a JSON object, or NULL for none) against a's argument
 * table and runs it. On success *out is a new result (json_object_put).
 * Fails with CL_EINVAL for an unknown argument, a wrong type, an
 * out-of-range value or a zone or region missing from regions.json;
 * CL_ENOTFOUND for a workload, pod or namespace without data in the
 * period, or a period with no data; CL_EDB, CL_EIO, CL_EFORMAT or
 * CL_ENOMEM from the database and templates. The message names the
 * argument (spelled as env->option_names says) or input.
 */
cl_err cl_analysis_run(const struct cl_analysis_env *env,
                       const struct cl_analysis *a, json_object *args,
                       json_object **out) CL_MUST_CHECK;

/* Returns a new JSON Schema (draft 2020-12 subset) of a's arguments. */
json_object *cl_analysis_input_schema(const struct cl_analysis *a);

/* Writes result as indented "key: value" lines (the plain-text form). */
void cl_analysis_print_text(json_object *result, FILE *out);

/*
 * Returns the fraction that reductions together remove when they compose
 * multiplicatively: 1 - prod(1 - f_i). A fraction above 1 counts as 1, so
 * the result never exceeds 1 (no negative emissions); a negative fraction
 * is an increase. 0.10, 0.15 and 0.20 remove 0.388, not 0.45.
 */
double cl_compose_reductions(const double *fractions, size_t n);

/* A window of hours: its first index and mean intensity (gCO2eq/kWh). */
struct cl_window {
        size_t start;
        double mean;
};

/*
 * Finds, among the n_starts windows of duration hours starting at
 * first_start, first_start + 1, ..., the one with the lowest mean of
 * values; ties go to the earliest start. With cyclic, indices wrap modulo
 * n (a typical-day profile repeating across midnight); otherwise a window
 * must end within values[0..n). Hours with has[i] == 0 (has may be NULL)
 * make a window unusable. *now is the window at first_start. Fails with
 * CL_EINVAL when duration is 0 or longer than n, and CL_ENOTFOUND when no
 * window is complete.
 */
cl_err cl_best_window(const double *values, const int *has, size_t n,
                      int cyclic, size_t first_start, size_t n_starts,
                      size_t duration, struct cl_window *best,
                      struct cl_window *now) CL_MUST_CHECK;

#endif
