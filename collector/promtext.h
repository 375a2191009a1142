/*
 * A strict parser of the Prometheus text exposition format (version
 * 0.0.4), for reading another exporter's /metrics.
 *
 * Accepted: "# HELP name text" and "# TYPE name type" (counter, gauge,
 * histogram, summary, untyped), other "#" comments, empty lines, and
 * samples "name{label="value",...} value [timestamp]" with the label
 * escapes \\, \" and \n, a trailing comma in the label set, values as
 * decimal or exponent floats, NaN, +Inf, -Inf or Inf, and an optional
 * integer timestamp in ms. Rejected, with CL_EFORMAT naming the line: any
 * other escape, a bad metric or label name, a repeated label, a missing
 * or unparsable value or timestamp, trailing text, a second TYPE or HELP
 * for a name, a TYPE after samples of its name, and a series (name and
 * label set) that appears twice.
 */
#ifndef CL_PROMTEXT_H
#define CL_PROMTEXT_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define CL_PROM_MAX_LABELS 32

struct cl_prom_label {
        const char *name;
        const char *value; /* unescaped */
};

/* One sample line; strings are valid only during the callback. */
struct cl_prom_sample {
        const char *name;
        const struct cl_prom_label *labels;
        size_t n_labels;
        double value;
        int has_timestamp;
        int64_t timestamp_ms;
        size_t line; /* 1-based */
};

/*
 * Receives each sample. Returns CL_OK to go on; any other code stops the
 * parse and is returned (the callback records its message, which should
 * name s->line).
 */
typedef cl_err (*cl_prom_sample_fn)(const struct cl_prom_sample *s, void *ctx);

/*
 * Parses len bytes of text, calling fn for every sample in order. Fails
 * with CL_EFORMAT ("line N: ...") on the first malformed line, with
 * CL_ENOMEM, or with the code fn returned.
 */
cl_err cl_prom_parse(const char *text, size_t len, cl_prom_sample_fn fn,
                     void *ctx) CL_MUST_CHECK;

/* Returns the value of label name in s, or NULL. */
const char *cl_prom_label(const struct cl_prom_sample *s, const char *name);

#endif
