/*
 * The collector's writes to the database: nodes, zones, pods, and one
 * transaction per interval holding its sample, zone readings and pod rows.
 * Also reads back the node's last stored reading, so a delta after a
 * restart, or between two --once runs, is taken against it.
 */
#ifndef CL_STORE_H
#define CL_STORE_H

#include "cgroup.h"
#include "err.h"
#include "podlogs.h"
#include "rapl.h"

#include <sqlite3.h>
#include <stdint.h>

struct cl_store;

/* The node's last stored reading. */
struct cl_last_reading {
        int present;
        int64_t end_ns;
        char boot_id[40];
        uint64_t cpu_total_ticks;
        uint64_t cpu_idle_ticks;
        /* Raw counters, indexed like the zones passed to cl_store_open. */
        uint64_t *zone_energy_uj;
        int *zone_present;
        /* Cumulative pod CPU usage, sorted by UID. */
        struct cl_pod_cpu *pods;
        size_t n_pods;
};

/* One pod's row of an interval. */
struct cl_pod_row {
        const char *uid;
        uint64_t usage_us; /* cumulative */
        int has_delta;
        uint64_t cpu_us;    /* CPU time in the interval */
        uint64_t energy_uj; /* attributed energy in the interval */
};

/* One interval (or baseline) to store. */
struct cl_sample_row {
        const char *boot_id;
        int64_t start_ns; /* ignored for a baseline */
        int64_t end_ns;
        const char *status;     /* "baseline", "ok" or "gap" */
        const char *method;     /* "measured" or "estimated" */
        const char *source;     /* "collector" (NULL) or "kepler" */
        const char *gap_reason; /* NULL unless status is "gap" */
        uint64_t cpu_total_ticks;
        uint64_t cpu_idle_ticks;
        long clock_ticks_hz;
        int has_interval; /* CPU deltas known */
        uint64_t cpu_total_us, cpu_idle_us, pods_cpu_us;
        int has_energy; /* status "ok" */
        uint64_t energy_uj, idle_uj, system_uj, pods_uj;
        int pods_scaled;
        int estimated; /* model parameters below apply */
        double model_idle_w, model_max_w;
        const int *zone_has_reading;    /* 0 when the zone read failed */
        const uint64_t *zone_energy_uj; /* raw, per zone */
        const int *zone_has_delta;
        const uint64_t *zone_delta_uj;
        const struct cl_pod_row *pods;
        size_t n_pods;
};

/*
 * Prepares the store for node_name on db (owned by the caller) and records
 * the zones. Fails with CL_EDB.
 */
cl_err cl_store_open(sqlite3 *db, const char *node_name,
                     const struct cl_rapl *rapl,
                     struct cl_store **out) CL_MUST_CHECK;

void cl_store_close(struct cl_store *store);

/*
 * Loads the node's last stored reading into *last (freed with
 * cl_store_free_reading). last->present is 0 when there is none.
 */
cl_err cl_store_load_last(struct cl_store *store,
                          struct cl_last_reading *last) CL_MUST_CHECK;

void cl_store_free_reading(struct cl_last_reading *last);

/*
 * Writes row in one transaction. names resolves pod UIDs to namespace and
 * name for pods stored without them; it may be NULL. Fails with CL_EDB,
 * and then nothing of the interval is stored.
 */
cl_err cl_store_write(struct cl_store *store, const struct cl_sample_row *row,
                      const struct cl_pod_name *names,
                      size_t n_names) CL_MUST_CHECK;

/*
 * Writes into buf a gap reason naming the counted zones stored for this
 * node that rapl lacks (unreadable or gone since an earlier run), or ""
 * when every stored counted zone was discovered. Energy measured without
 * one of them would be too low.
 */
cl_err cl_store_missing_counted(struct cl_store *store,
                                const struct cl_rapl *rapl, char *buf,
                                size_t size) CL_MUST_CHECK;

/* Returns 1 when the pod uid is stored with its namespace and name. */
int cl_store_pod_named(struct cl_store *store, const char *uid);

#endif
