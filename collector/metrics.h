/*
 * The collector's readings as Prometheus counters, for /metrics.
 *
 * The sampling thread feeds each stored cycle to cl_metrics_record(),
 * which adds it to running totals and publishes an immutable snapshot of
 * them. Any thread renders the latest snapshot with cl_metrics_render()
 * in the Prometheus text exposition format (version 0.0.4). The two
 * sides share only a mutex held for a pointer swap or a reference count,
 * so a slow HTTP client never delays a cycle and never sees a half-updated
 * cycle.
 *
 * Counters start at 0 when the process starts and only grow: a RAPL
 * counter wrap is already corrected in the deltas fed in, and intervals
 * recorded as gaps add nothing to the energy counters. They are not
 * seeded from the database, so a restart looks like a counter reset,
 * which rate() and increase() handle. The interval that a restarted
 * collector closes across the restart is counted after the reset.
 */
#ifndef CL_METRICS_H
#define CL_METRICS_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

struct cl_metrics;

/* One RAPL zone of a cycle. */
struct cl_metrics_zone {
        const char *path; /* sysfs folder name, "intel-rapl:0" */
        const char *name; /* zone name, "package-0", "dram" */
        int has_delta;
        uint64_t delta_uj; /* wrap-corrected energy of the interval */
};

/* One pod of a cycle. */
struct cl_metrics_pod {
        const char *uid;        /* API form, lower case */
        const char *namespace_; /* NULL when unresolved */
        const char *name;       /* NULL when unresolved */
        int has_cpu;
        uint64_t cpu_us; /* CPU time in the interval */
        int has_energy;
        uint64_t energy_uj; /* attributed energy in the interval */
        int terminated;     /* Kepler reports the pod as terminated */
};

/* One stored cycle: a baseline, an 'ok' interval or a gap. */
struct cl_metrics_cycle {
        int64_t end_ns;                         /* ns since the epoch, UTC */
        int64_t elapsed_ns;                     /* 0 for a baseline */
        const char *status;                     /* "baseline", "ok" or "gap" */
        const char *method;                     /* "measured" or "estimated" */
        const char *source;                     /* "collector" or "kepler" */
        uint64_t energy_uj, idle_uj, system_uj; /* 'ok' only */
        int scaled; /* pods scaled down to the busy time */
        const struct cl_metrics_zone *zones;
        size_t n_zones;
        const struct cl_metrics_pod *pods;
        size_t n_pods;
};

/*
 * Creates the totals of node_name (copied). Fails with CL_ENOMEM or
 * CL_EINVAL when node_name is longer than 255 bytes. Free with
 * cl_metrics_free().
 */
cl_err cl_metrics_new(const char *node_name,
                      struct cl_metrics **out) CL_MUST_CHECK;

/* Frees m. No render may be running. NULL is allowed. */
void cl_metrics_free(struct cl_metrics *m);

/*
 * Adds cycle c to the totals and publishes a new snapshot. Called by one
 * thread only (the sampling loop). Pods absent from a cycle, or marked
 * terminated in it, are exported with state="terminated"; absent pods are
 * dropped 10 minutes after they were last seen. Fails with CL_ENOMEM, leaving
 * the previous snapshot published.
 */
cl_err cl_metrics_record(struct cl_metrics *m,
                         const struct cl_metrics_cycle *c) CL_MUST_CHECK;

/*
 * Renders the latest snapshot. On success *text is a new NUL-terminated
 * buffer of *len bytes that the caller frees. Safe from any thread while
 * cl_metrics_record() runs. Fails with CL_ENOMEM.
 */
cl_err cl_metrics_render(struct cl_metrics *m, char **text,
                         size_t *len) CL_MUST_CHECK;

/*
 * Writes value into out as the inside of a quoted label value: backslash,
 * double quote and newline escaped as \\, \" and \n. Returns 0, or -1 when
 * it does not fit in size bytes (out is then truncated and terminated).
 */
int cl_metrics_escape_label(const char *value, char *out, size_t size);

/*
 * Maps a RAPL zone name to Kepler's zone label: "package-N" to "package";
 * other names ("core", "uncore", "dram", "psys") unchanged.
 */
const char *cl_metrics_zone_label(const char *zone_name);

#endif
