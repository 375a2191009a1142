/*
 * The collector's sampling cycle: read counters, take deltas against the
 * previous reading, attribute the interval's energy and store it.
 *
 * States: without a previous reading the first sample is a baseline. Each
 * later sample closes the interval since the previous reading, which is
 * either 'ok' (energy known and attributed) or a 'gap' (energy unknown:
 * another boot, a stale base that could hide a counter wrap, a zone
 * without a base, an implausible delta, or an interval longer than the
 * limit). The previous reading is loaded from the database at open, so a
 * restart or a series of --once runs loses no interval.
 *
 * Invariants of an 'ok' interval: pods + idle + system = node energy
 * (integer uJ); no value is negative; a pod's CPU time is never also
 * counted for its containers.
 */
#ifndef CL_SAMPLER_H
#define CL_SAMPLER_H

#include "err.h"
#include "metrics.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct cl_sampler_config {
        const char *sysfs;    /* root holding class/powercap */
        const char *procfs;   /* root holding stat, sys/kernel/random */
        const char *cgroupfs; /* cgroup v2 mount or v1 controller folder */
        const char *pod_logs; /* kubelet's pod log folder */
        const char *node_name;
        double idle_watts;     /* power model at 0 % busy, W */
        double max_watts;      /* power model at 100 % busy, W */
        double zone_max_watts; /* highest plausible power of one zone, W */
        double max_interval_s; /* longer intervals are gaps, s */
        /* Totals for /metrics, fed after every stored cycle; NULL: off. */
        struct cl_metrics *metrics;
        /* Kepler /metrics URL: node and pod energy from Kepler instead of
           RAPL or the power model; NULL: off. */
        const char *kepler_url;
        const char *kepler_zone; /* the one zone used, "package" */
        double kepler_max_watts; /* highest plausible node power, W */
};

/* What one cycle stored, for the log line. */
struct cl_sample_summary {
        const char *status; /* "baseline", "ok" or "gap" */
        const char *method; /* "measured" or "estimated" */
        const char *gap_reason;
        double elapsed_s;
        double energy_j;
        double idle_j, system_j, pods_j;
        size_t n_pods;
        int scaled;
};

struct cl_sampler;

/*
 * Discovers RAPL zones, records the node and its zones on db (owned by the
 * caller, open for writing) and loads the last stored reading. Logs once
 * whether energy is measured (RAPL) or estimated (power model).
 */
cl_err cl_sampler_open(const struct cl_sampler_config *config, sqlite3 *db,
                       struct cl_sampler **out) CL_MUST_CHECK;

/*
 * Takes one sample at now_ns (ns since the epoch, UTC) and stores it in one
 * transaction. On failure nothing of the sample is stored and the previous
 * reading stays the base for the next sample.
 */
cl_err cl_sampler_sample(struct cl_sampler *sampler, int64_t now_ns,
                         struct cl_sample_summary *summary) CL_MUST_CHECK;

void cl_sampler_close(struct cl_sampler *sampler);

#endif
