/*
 * A client of the Prometheus HTTP API (also served by Thanos, Mimir and
 * VictoriaMetrics): /api/v1/query_range and /api/v1/label/NAME/values,
 * over libcurl, decoded with json-c. Requests go only to the base URL the
 * user gave; redirects are not followed.
 */
#ifndef CL_PROM_QUERY_H
#define CL_PROM_QUERY_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* Prometheus rejects a range query of more than 11,000 points. */
#define CL_PROM_MAX_POINTS 10000

/* One series of a range query, on the query's grid of points. */
struct cl_prom_series {
        void *metric;   /* json_object of the labels, owned by the matrix */
        double *values; /* n_points values; NAN where the series is absent */
};

struct cl_prom_matrix {
        void *root; /* the decoded response */
        struct cl_prom_series *series;
        size_t n_series;
        size_t n_points;
};

/*
 * Runs query (PromQL) over the n_points instants start_ns + i * step_ns
 * (ns since the epoch; n_points at most CL_PROM_MAX_POINTS + 1). Fails
 * with CL_ENET (connection, HTTP status, or an API error, with
 * Prometheus's message), CL_EFORMAT (a response that is not a matrix) or
 * CL_ENOMEM. Free out with cl_prom_matrix_free().
 */
cl_err cl_prom_query_range(const char *base_url, const char *query,
                           int64_t start_ns, int64_t step_ns, size_t n_points,
                           struct cl_prom_matrix *out) CL_MUST_CHECK;

void cl_prom_matrix_free(struct cl_prom_matrix *m);

/* Returns the value of label name of s, or NULL. */
const char *cl_prom_series_label(const struct cl_prom_series *s,
                                 const char *name);

/*
 * Lists the values of label among series of metric in [start_ns, end_ns].
 * On success *values is a new array of *n new strings (free each, then
 * the array). Fails like cl_prom_query_range.
 */
cl_err cl_prom_label_values(const char *base_url, const char *label,
                            const char *metric, int64_t start_ns,
                            int64_t end_ns, char ***values,
                            size_t *n) CL_MUST_CHECK;

/*
 * Writes value into out as a PromQL string literal body (backslash and
 * double quote escaped). Returns 0, or -1 when it does not fit.
 */
int cl_prom_quote(const char *value, char *out, size_t size);

#endif
