/*
 * Pod energy from a Kepler exporter's /metrics (--source kepler).
 *
 * Kepler 0.10 and later export cumulative counters in joules:
 * kepler_node_cpu_joules_total{zone}, kepler_node_cpu_idle_joules_total
 * {zone} and kepler_pod_cpu_joules_total{pod_id,pod_name,pod_namespace,
 * state,zone}. Zones overlap (core lies inside package), so one zone is
 * selected and the others are ignored. Each cycle the collector fetches
 * the text, keeps the selected zone, and takes the increase of every
 * counter since the previous accepted reading.
 *
 * A reading is rejected as a whole (the interval becomes a gap) when a
 * counter is NaN, infinite or negative, when a counter exceeds what the
 * node could have used since it booted (uptime x the max plausible
 * power), when an increase exceeds elapsed time x that power, or when the
 * node counter went backwards (Kepler restarted). A pod counter that went
 * backwards belongs to a pod whose series started again: its energy in
 * that interval is unknown and counts as system energy. The previous
 * reading lives in memory only, so the first interval after a collector
 * restart is a gap. The first interval after rejected readings is a gap
 * too, because its increase would span the earlier gap intervals.
 */
#ifndef CL_KEPLER_H
#define CL_KEPLER_H

#include "cgroup.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

struct cl_kepler_pod {
        char uid[CL_POD_UID_LEN + 1]; /* pod_id, lower case */
        char namespace_[64];
        char name[254];
        uint64_t energy_uj; /* cumulative */
        size_t line;        /* line of the series in the text */
        int terminated;     /* the series has state="terminated" */
};

/* One parsed /metrics text, for the selected zone. */
struct cl_kepler_reading {
        int has_node;
        uint64_t node_uj; /* kepler_node_cpu_joules_total */
        int has_idle;
        uint64_t idle_uj;           /* kepler_node_cpu_idle_joules_total */
        struct cl_kepler_pod *pods; /* sorted by uid */
        size_t n_pods;
};

/*
 * Parses a Kepler /metrics text strictly (see promtext.h), keeping the
 * series of zone. max_counter_j bounds every counter (J); 0 disables the
 * bound. Fails with CL_EFORMAT naming the line: malformed text, a pod
 * series without pod_id or with an invalid one, two series of one pod in
 * the zone, a counter that is NaN, infinite, negative or above the bound,
 * or a text without the node counter of the zone. On success the caller
 * frees out->pods.
 */
cl_err cl_kepler_parse(const char *text, size_t len, const char *zone,
                       double max_counter_j,
                       struct cl_kepler_reading *out) CL_MUST_CHECK;

void cl_kepler_reading_free(struct cl_kepler_reading *r);

/*
 * Fetches url with libcurl (http or https only, no redirects, 5 s
 * timeout, at most 64 MiB). On success *body is a new NUL-terminated
 * buffer of *len bytes (caller frees). Fails with CL_ENET naming the URL
 * and the reason, including an HTTP status of 400 or above.
 */
cl_err cl_kepler_fetch(const char *url, char **body, size_t *len) CL_MUST_CHECK;

/* The increase of a reading over the previous one. */
struct cl_kepler_interval {
        uint64_t node_uj;
        uint64_t idle_uj;
        uint64_t *pod_uj; /* indexed like cur->pods; caller allocates */
        int *pod_known;   /* 0: the pod is new or its counter restarted */
};

/*
 * Computes the increases of cur over prev across elapsed_ns at most
 * max_watts (W) for any one counter. Returns NULL and fills *out, or the
 * reason the interval's energy is unknown (a static string).
 */
const char *cl_kepler_increase(const struct cl_kepler_reading *prev,
                               const struct cl_kepler_reading *cur,
                               int64_t elapsed_ns, double max_watts,
                               struct cl_kepler_interval *out);

#endif
