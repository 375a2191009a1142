/*
 * One sampling cycle of the collector (see sampler.h for the states).
 * The reads come in this order: boot id, /proc/stat, RAPL zones, pod
 * cgroups. They are not simultaneous, so attribution scales pods down
 * when their CPU time exceeds the node's busy time.
 */
#include "sampler.h"

#include "attribution.h"
#include "cgroup.h"
#include "fsutil.h"
#include "kepler.h"
#include "log.h"
#include "podlogs.h"
#include "procstat.h"
#include "rapl.h"
#include "store.h"
#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Pod names are looked up again at most this often while one is missing. */
#define NAME_REFRESH_NS (INT64_C(60) * CL_NS_PER_S)

/*
 * The cgroup scanner walks the tree at least every this many cycles (one
 * minute at the default 5 s interval), besides the walks its change
 * checks start; between walks it re-reads the pods' open files.
 */
#define CGROUP_WALK_EVERY 12

/* Most pod accounting files kept open, whatever the descriptor limit. */
#define CGROUP_FDS_MAX 8192

/* Per-pod arrays of one cycle, kept and grown between cycles. */
struct cycle_buffers {
        struct cl_pod_row *rows;
        uint64_t *pod_us;
        uint64_t *pod_uj;
        int *pod_known;
        struct cl_pod_name *knames;
        size_t cap;
};

struct cl_sampler {
        struct cl_sampler_config cfg;
        struct cl_rapl rapl;
        struct cl_store *store;
        struct cl_cgroup_scanner *scanner;
        struct cl_last_reading last;
        size_t cap_last_pods; /* elements allocated at last.pods */
        struct cycle_buffers cycle;
        long clock_ticks_hz;
        struct cl_pod_name *names;
        size_t n_names;
        int64_t names_read_ns;
        /* Per-zone scratch of one cycle. */
        uint64_t *zone_now;
        uint64_t *zone_delta;
        int *zone_has_delta;
        int *zone_has_reading;
        /* Last accepted Kepler reading (--source kepler), in memory. */
        struct cl_kepler_reading kepler_last;
        int kepler_has_last;
        int64_t kepler_last_ns; /* time of kepler_last, ns since the epoch */
        char kepler_why[512];   /* gap reason of the last Kepler failure */
        /* Gap reason naming counted zones stored for this node that
           discovery did not find; "" when none is missing. */
        char missing_zones[256];
};

/* The reading of one cycle, before it is compared with the last one. */
struct reading {
        int64_t now_ns;
        char boot_id[40];
        struct cl_cpu_times cpu;
        const struct cl_pod_cpu *pods; /* owned by the scanner */
        size_t n_pods;
        int zones_ok;
        char zone_error[256];
};

static void
read_names(struct cl_sampler *s, int64_t now_ns)
{
        struct cl_pod_name *names = NULL;
        size_t n = 0;

        s->names_read_ns = now_ns;
        if (cl_podlogs_read(s->cfg.pod_logs, &names, &n) != CL_OK) {
                cl_warn("pod_names_unavailable", "dir=%s error=\"%s\"",
                        s->cfg.pod_logs, cl_last_error());
                return;
        }
        free(s->names);
        s->names = names;
        s->n_names = n;
}

/*
 * Returns how many pod accounting files may stay open: half of the soft
 * descriptor limit above 128, so SQLite, the /metrics server and Kepler
 * fetches keep the rest, and at most CGROUP_FDS_MAX.
 */
static size_t
cgroup_fd_budget(void)
{
        struct rlimit lim;
        rlim_t budget;

        if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur <= 128)
                return 0;
        if (lim.rlim_cur == RLIM_INFINITY)
                return CGROUP_FDS_MAX;
        budget = (lim.rlim_cur - 128) / 2;
        return budget < CGROUP_FDS_MAX ? (size_t)budget : CGROUP_FDS_MAX;
}

/* Grows the per-pod arrays of a cycle to hold n + 1 entries. */
static cl_err
grow_cycle(struct cycle_buffers *b, size_t n, int kepler)
{
        size_t cap = b->cap == 0 ? 64 : b->cap;
        void *p;

        if (n + 1 <= b->cap && (!kepler || b->knames != NULL))
                return CL_OK;
        while (cap < n + 1)
                cap *= 2;
        p = realloc(b->rows, cap * sizeof(*b->rows));
        if (p == NULL)
                goto fail;
        b->rows = p;
        p = realloc(b->pod_us, cap * sizeof(*b->pod_us));
        if (p == NULL)
                goto fail;
        b->pod_us = p;
        p = realloc(b->pod_uj, cap * sizeof(*b->pod_uj));
        if (p == NULL)
                goto fail;
        b->pod_uj = p;
        p = realloc(b->pod_known, cap * sizeof(*b->pod_known));
        if (p == NULL)
                goto fail;
        b->pod_known = p;
        if (kepler) {
                p = realloc(b->knames, cap * sizeof(*b->knames));
                if (p == NULL)
                        goto fail;
                b->knames = p;
        }
        b->cap = cap;
        return CL_OK;
fail:
        return cl_fail(CL_ENOMEM, "sample of %zu pods", n);
}

cl_err
cl_sampler_open(const struct cl_sampler_config *config, sqlite3 *db,
                struct cl_sampler **out)
{
        struct cl_sampler *s;
        size_t n;
        cl_err rc;

        *out = NULL;
        s = calloc(1, sizeof(*s));
        if (s == NULL)
                return cl_fail(CL_ENOMEM, "sampler");
        s->cfg = *config;
        s->clock_ticks_hz = sysconf(_SC_CLK_TCK);
        if (s->clock_ticks_hz <= 0)
                s->clock_ticks_hz = 100;
        rc = cl_rapl_discover(config->sysfs, &s->rapl);
        if (rc != CL_OK)
                goto fail;
        n = s->rapl.n + 1;
        s->zone_now = calloc(n, sizeof(*s->zone_now));
        s->zone_delta = calloc(n, sizeof(*s->zone_delta));
        s->zone_has_delta = calloc(n, sizeof(*s->zone_has_delta));
        s->zone_has_reading = calloc(n, sizeof(*s->zone_has_reading));
        if (s->zone_now == NULL || s->zone_delta == NULL ||
            s->zone_has_delta == NULL || s->zone_has_reading == NULL) {
                rc = cl_fail(CL_ENOMEM, "sampler");
                goto fail;
        }
        if (config->kepler_url != NULL) {
                cl_info("energy_source",
                        "method=measured source=kepler zone=%s "
                        "max_watts=%.1f",
                        config->kepler_zone, config->kepler_max_watts);
        } else if (s->rapl.n_counted > 0) {
                for (size_t i = 0; i < s->rapl.n; i++)
                        cl_info(
                            "rapl_zone",
                            "zone=%s name=%s counted=%d "
                            "max_energy_range_uj=%llu",
                            s->rapl.zones[i].path, s->rapl.zones[i].name,
                            s->rapl.zones[i].counted,
                            (unsigned long long)s->rapl.zones[i].max_range_uj);
                cl_info("energy_source",
                        "method=measured zones=%zu "
                        "counted=%zu",
                        s->rapl.n, s->rapl.n_counted);
        } else {
                cl_warn("energy_source",
                        "method=estimated reason=\"no usable RAPL zone under "
                        "%s/class/powercap\" model=\"P = idle + (max - idle) "
                        "x busy ratio\" idle_w=%.1f max_w=%.1f",
                        config->sysfs, config->idle_watts, config->max_watts);
        }
        rc = cl_store_open(db, config->node_name, &s->rapl, &s->store);
        if (rc != CL_OK)
                goto fail;
        rc = cl_store_missing_counted(s->store, &s->rapl, s->missing_zones,
                                      sizeof(s->missing_zones));
        if (rc != CL_OK)
                goto fail;
        if (s->missing_zones[0] != '\0')
                cl_warn("rapl_zone_missing",
                        "reason=\"%s\" effect=\"intervals are gaps until the "
                        "zone is readable again\"",
                        s->missing_zones);
        rc = cl_store_load_last(s->store, &s->last);
        if (rc != CL_OK)
                goto fail;
        s->cap_last_pods = s->last.n_pods;
        rc = cl_cgroup_scanner_open(config->cgroupfs, config->procfs,
                                    cgroup_fd_budget(), CGROUP_WALK_EVERY,
                                    &s->scanner);
        if (rc != CL_OK)
                goto fail;
        read_names(s, cl_now_ns());
        *out = s;
        return CL_OK;
fail:
        cl_sampler_close(s);
        return rc;
}

void
cl_sampler_close(struct cl_sampler *s)
{
        if (s == NULL)
                return;
        cl_store_free_reading(&s->last);
        cl_store_close(s->store);
        cl_cgroup_scanner_close(s->scanner);
        free(s->cycle.rows);
        free(s->cycle.pod_us);
        free(s->cycle.pod_uj);
        free(s->cycle.pod_known);
        free(s->cycle.knames);
        cl_rapl_close(&s->rapl);
        free(s->names);
        free(s->zone_now);
        free(s->zone_delta);
        free(s->zone_has_delta);
        free(s->zone_has_reading);
        cl_kepler_reading_free(&s->kepler_last);
        free(s);
}

static cl_err
take_reading(struct cl_sampler *s, int64_t now_ns, struct reading *r)
{
        enum cl_cgroup_version version;
        cl_err rc;

        memset(r, 0, sizeof(*r));
        r->now_ns = now_ns;
        rc = cl_read_boot_id(s->cfg.procfs, r->boot_id);
        if (rc != CL_OK)
                return rc;
        rc = cl_procstat_read(s->cfg.procfs, &r->cpu);
        if (rc != CL_OK)
                return rc;
        r->zones_ok = 1;
        for (size_t i = 0; i < s->rapl.n; i++) {
                s->zone_has_reading[i] =
                    cl_rapl_read(&s->rapl.zones[i], &s->zone_now[i]) == CL_OK;
                if (!s->zone_has_reading[i] && s->rapl.zones[i].counted &&
                    r->zones_ok) {
                        r->zones_ok = 0;
                        snprintf(r->zone_error, sizeof(r->zone_error), "%s",
                                 cl_last_error());
                }
        }
        return cl_cgroup_scanner_scan(s->scanner, &r->pods, &r->n_pods,
                                      &version);
}

/*
 * Computes the zone deltas against the last reading. Returns NULL when the
 * counted zones give a known energy (*energy_uj), else the gap reason.
 */
static const char *
zone_deltas(struct cl_sampler *s, const struct reading *r, int64_t elapsed_ns,
            uint64_t *energy_uj)
{
        const char *reason = NULL;

        *energy_uj = 0;
        if (!r->zones_ok)
                reason = "a counted RAPL zone could not be read";
        else if (s->missing_zones[0] != '\0')
                reason = s->missing_zones;
        for (size_t i = 0; i < s->rapl.n; i++) {
                const struct cl_rapl_zone *z = &s->rapl.zones[i];
                const char *zone_reason = NULL;

                s->zone_has_delta[i] = 0;
                if (!s->zone_has_reading[i])
                        continue;
                if (!s->last.zone_present[i])
                        zone_reason = "no previous reading of a zone";
                else if (!cl_rapl_base_fresh(elapsed_ns, z->max_range_uj,
                                             s->cfg.zone_max_watts))
                        zone_reason = "interval long enough to hide a "
                                      "counter wrap";
                else if (cl_rapl_delta(s->zone_now[i],
                                       s->last.zone_energy_uj[i],
                                       z->max_range_uj, &s->zone_delta[i]) != 0)
                        zone_reason = "counter above its range";
                else if ((double)s->zone_delta[i] / 1e6 /
                             ((double)elapsed_ns / 1e9) >
                         s->cfg.zone_max_watts)
                        zone_reason = "implausible power (counter fault or "
                                      "reset)";
                if (zone_reason == NULL) {
                        s->zone_has_delta[i] = 1;
                        if (z->counted)
                                *energy_uj += s->zone_delta[i];
                } else if (z->counted && reason == NULL) {
                        reason = zone_reason;
                }
        }
        return reason;
}

static uint64_t
ticks_to_us(uint64_t ticks, long hz)
{
        return (uint64_t)((unsigned __int128)ticks * 1000000u / (uint64_t)hz);
}

/* Returns the pod uid of the n pods sorted by UID, or NULL. */
static const struct cl_pod_cpu *
find_pod_cpu(const struct cl_pod_cpu *pods, size_t n, const char *uid)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(pods[mid].uid, uid);

                if (c == 0)
                        return &pods[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/*
 * Fills the pods' CPU deltas; returns their sum. Both pod lists are sorted
 * by UID, so the last reading's pod after the previous match is tried
 * before a binary search.
 */
static uint64_t
pod_deltas(const struct cl_last_reading *last, const struct reading *r,
           int same_boot, struct cl_pod_row *rows, uint64_t *pod_us)
{
        uint64_t sum = 0;
        size_t next = 0;

        for (size_t i = 0; i < r->n_pods; i++) {
                const struct cl_pod_cpu *prev = NULL;

                rows[i].uid = r->pods[i].uid;
                rows[i].usage_us = r->pods[i].usage_us;
                rows[i].has_delta = same_boot;
                pod_us[i] = 0;
                if (!same_boot)
                        continue;
                if (next < last->n_pods &&
                    strcmp(last->pods[next].uid, r->pods[i].uid) == 0)
                        prev = &last->pods[next];
                else
                        prev = find_pod_cpu(last->pods, last->n_pods,
                                            r->pods[i].uid);
                if (prev != NULL)
                        next = (size_t)(prev - last->pods) + 1;
                /*
                 * A pod not in the last reading started within the interval,
                 * and a counter below its last value belongs to a cgroup
                 * created again: in both cases all its usage is new.
                 */
                if (prev != NULL && r->pods[i].usage_us >= prev->usage_us)
                        pod_us[i] = r->pods[i].usage_us - prev->usage_us;
                else
                        pod_us[i] = r->pods[i].usage_us;
                rows[i].cpu_us = pod_us[i];
                sum += pod_us[i];
        }
        return sum;
}

static uint64_t
model_energy_uj(const struct cl_sampler_config *cfg, uint64_t total_us,
                uint64_t idle_us, int64_t elapsed_ns)
{
        double busy = total_us > 0
                          ? (double)(total_us - idle_us) / (double)total_us
                          : 0.0;
        double watts =
            cfg->idle_watts + (cfg->max_watts - cfg->idle_watts) * busy;

        return (uint64_t)llround(watts * ((double)elapsed_ns / 1e9) * 1e6);
}

/* Replaces the last reading by r, whose pods the last reading takes. */
static void
advance(struct cl_sampler *s, struct reading *r)
{
        s->last.present = 1;
        s->last.end_ns = r->now_ns;
        snprintf(s->last.boot_id, sizeof(s->last.boot_id), "%s", r->boot_id);
        s->last.cpu_total_ticks = r->cpu.total;
        s->last.cpu_idle_ticks = r->cpu.idle;
        for (size_t i = 0; i < s->rapl.n; i++) {
                s->last.zone_present[i] = s->zone_has_reading[i];
                s->last.zone_energy_uj[i] = s->zone_now[i];
        }
        /* reserve_last_pods() made room before the store was written. */
        if (r->n_pods > 0)
                memcpy(s->last.pods, r->pods, r->n_pods * sizeof(*r->pods));
        s->last.n_pods = r->n_pods;
}

/*
 * Grows last.pods to hold the n pods of this cycle, so advance() cannot
 * fail after the interval is stored.
 */
static cl_err
reserve_last_pods(struct cl_sampler *s, size_t n)
{
        size_t cap = s->cap_last_pods == 0 ? 64 : s->cap_last_pods;
        void *grown;

        if (n <= s->cap_last_pods && s->last.pods != NULL)
                return CL_OK;
        while (cap < n)
                cap *= 2;
        grown = realloc(s->last.pods, cap * sizeof(*s->last.pods));
        if (grown == NULL)
                return cl_fail(CL_ENOMEM, "sample of %zu pods", n);
        s->last.pods = grown;
        s->cap_last_pods = cap;
        return CL_OK;
}

static int
names_missing(struct cl_sampler *s, const struct reading *r)
{
        for (size_t i = 0; i < r->n_pods; i++)
                if (!cl_store_pod_named(s->store, r->pods[i].uid) &&
                    cl_podlogs_find(s->names, s->n_names, r->pods[i].uid) ==
                        NULL)
                        return 1;
        return 0;
}

static const char *
interval_gap_reason(const struct cl_sampler *s, const struct reading *r,
                    int64_t elapsed_ns)
{
        if (strcmp(r->boot_id, s->last.boot_id) != 0)
                return "another boot since the previous reading";
        if (elapsed_ns <= 0)
                return "clock did not advance since the previous reading";
        if ((double)elapsed_ns / 1e9 > s->cfg.max_interval_s)
                return "interval longer than the maximum";
        if (r->cpu.total < s->last.cpu_total_ticks ||
            r->cpu.idle < s->last.cpu_idle_ticks)
                return "CPU counters went backwards";
        return NULL;
}

/* Seconds since boot from procfs/uptime, or 0 when it cannot be read. */
static double
uptime_s(const char *procfs)
{
        char path[4096], text[128];
        double v = 0;

        if (snprintf(path, sizeof(path), "%s/uptime", procfs) >=
                (int)sizeof(path) ||
            cl_read_small(path, text, sizeof(text)) != CL_OK ||
            sscanf(text, "%lf", &v) != 1 || !(v > 0))
                return 0;
        return v;
}

/*
 * Fetches and parses Kepler's counters into *k. Returns NULL, or the gap
 * reason written to why.
 */
static const char *
read_kepler(struct cl_sampler *s, struct cl_kepler_reading *k, char *why,
            size_t size)
{
        double bound = uptime_s(s->cfg.procfs) * s->cfg.kepler_max_watts;
        char *body = NULL;
        size_t len = 0;
        cl_err rc;

        rc = cl_kepler_fetch(s->cfg.kepler_url, &body, &len);
        if (rc == CL_OK)
                rc = cl_kepler_parse(body, len, s->cfg.kepler_zone, bound, k);
        free(body);
        if (rc == CL_OK)
                return NULL;
        snprintf(why, size, "Kepler metrics rejected: %s", cl_last_error());
        cl_warn("kepler_rejected", "url=%s error=\"%s\"", s->cfg.kepler_url,
                cl_last_error());
        return why;
}

/*
 * Fills the pod rows and names of a Kepler cycle: one row per Kepler pod,
 * with the CPU time of its cgroup when the scan found it.
 */
static void
kepler_rows(struct cl_sampler *s, const struct cl_kepler_reading *k,
            const struct reading *r, int same_boot, struct cl_pod_row *rows,
            struct cl_pod_name *names)
{
        for (size_t i = 0; i < k->n_pods; i++) {
                const struct cl_kepler_pod *kp = &k->pods[i];
                const struct cl_pod_cpu *now, *prev;

                now = find_pod_cpu(r->pods, r->n_pods, kp->uid);
                rows[i].uid = kp->uid;
                rows[i].usage_us = now != NULL ? now->usage_us : 0;
                prev = find_pod_cpu(s->last.pods, s->last.n_pods, kp->uid);
                rows[i].has_delta = same_boot && now != NULL && prev != NULL &&
                                    now->usage_us >= prev->usage_us;
                if (rows[i].has_delta)
                        rows[i].cpu_us = now->usage_us - prev->usage_us;
                snprintf(names[i].uid, sizeof(names[i].uid), "%s", kp->uid);
                snprintf(names[i].namespace_, sizeof(names[i].namespace_), "%s",
                         kp->namespace_);
                snprintf(names[i].name, sizeof(names[i].name), "%s",
                         kp->name[0] != '\0' ? kp->name : kp->uid);
        }
}

/*
 * Splits a Kepler interval: node energy and idle from Kepler's node
 * counters, each pod its own increase, system the rest. When the pods
 * and idle exceed the node energy (the counters are not read at one
 * instant), the pods are scaled down to what idle leaves and system is 0.
 */
static const char *
kepler_split(struct cl_sampler *s, const struct cl_kepler_reading *k,
             int64_t elapsed_ns, struct cl_pod_row *rows, uint64_t *pod_uj,
             int *known, struct cl_attribution *split, uint64_t *energy_uj)
{
        struct cl_kepler_interval inc = {0, 0, pod_uj, known};
        uint64_t pods = 0, room;
        const char *gap;

        gap = cl_kepler_increase(&s->kepler_last, k, elapsed_ns,
                                 s->cfg.kepler_max_watts, &inc);
        if (gap != NULL)
                return gap;
        *energy_uj = inc.node_uj;
        split->idle_uj = inc.idle_uj < inc.node_uj ? inc.idle_uj : inc.node_uj;
        room = inc.node_uj - split->idle_uj;
        for (size_t i = 0; i < k->n_pods; i++)
                pods += pod_uj[i];
        if (pods > room) {
                uint64_t scaled = 0;

                for (size_t i = 0; i < k->n_pods; i++) {
                        pod_uj[i] = (uint64_t)((unsigned __int128)pod_uj[i] *
                                               room / pods);
                        scaled += pod_uj[i];
                }
                pods = scaled;
                split->scaled = 1;
        }
        for (size_t i = 0; i < k->n_pods; i++)
                rows[i].energy_uj = pod_uj[i];
        split->pods_uj = pods;
        split->system_uj = inc.node_uj - split->idle_uj - pods;
        return NULL;
}

/*
 * Feeds a stored cycle to the /metrics totals. kepler is the cycle's
 * Kepler reading, whose pods match row->pods by index, or NULL.
 */
static void
publish_metrics(struct cl_sampler *s, const struct cl_sample_row *row,
                int64_t elapsed_ns, const struct cl_pod_name *names,
                size_t n_names, const struct cl_kepler_reading *kepler)
{
        struct cl_metrics_zone *zones;
        struct cl_metrics_pod *pods;
        struct cl_metrics_cycle c = {
            .end_ns = row->end_ns,
            .elapsed_ns = elapsed_ns,
            .status = row->status,
            .method = row->method,
            .source = row->source != NULL ? row->source : "collector",
            .energy_uj = row->energy_uj,
            .idle_uj = row->idle_uj,
            .system_uj = row->system_uj,
            .scaled = row->pods_scaled,
        };

        zones = calloc(s->rapl.n + 1, sizeof(*zones));
        pods = calloc(row->n_pods + 1, sizeof(*pods));
        if (zones == NULL || pods == NULL) {
                cl_warn("metrics_update_failed", "error=\"out of memory\"");
                goto out;
        }
        for (size_t i = 0; i < s->rapl.n && row->source == NULL; i++) {
                zones[c.n_zones].path = s->rapl.zones[i].path;
                zones[c.n_zones].name = s->rapl.zones[i].name;
                zones[c.n_zones].has_delta = s->zone_has_delta[i];
                zones[c.n_zones].delta_uj = s->zone_delta[i];
                c.n_zones++;
        }
        for (size_t i = 0; i < row->n_pods; i++) {
                const struct cl_pod_row *p = &row->pods[i];
                const struct cl_pod_name *n =
                    cl_podlogs_find(names, n_names, p->uid);

                pods[i].uid = p->uid;
                pods[i].namespace_ = n != NULL ? n->namespace_ : NULL;
                pods[i].name = n != NULL ? n->name : NULL;
                pods[i].has_cpu = p->has_delta;
                pods[i].cpu_us = p->cpu_us;
                pods[i].has_energy = row->has_energy;
                pods[i].energy_uj = p->energy_uj;
                pods[i].terminated = kepler != NULL && i < kepler->n_pods &&
                                     kepler->pods[i].terminated;
        }
        c.zones = zones;
        c.pods = pods;
        c.n_pods = row->n_pods;
        if (cl_metrics_record(s->cfg.metrics, &c) != CL_OK)
                cl_warn("metrics_update_failed", "error=\"%s\"",
                        cl_last_error());
out:
        free(zones);
        free(pods);
}

cl_err
cl_sampler_sample(struct cl_sampler *s, int64_t now_ns,
                  struct cl_sample_summary *sum)
{
        struct cl_sample_row row;
        struct cl_attribution split;
        struct cl_pod_row *rows = NULL;
        struct cl_pod_name *knames = NULL;
        struct cl_kepler_reading k;
        uint64_t *pod_us = NULL, *pod_uj = NULL, energy_uj = 0;
        int *pod_known = NULL;
        int64_t elapsed_ns = 0;
        const char *gap = NULL, *kepler_gap = NULL;
        const struct cl_pod_name *names = s->names;
        size_t n_names = s->n_names, n_rows;
        int same_boot = 0, kepler = s->cfg.kepler_url != NULL;
        int measured = kepler || s->rapl.n_counted > 0;
        struct reading r;
        cl_err rc;

        memset(sum, 0, sizeof(*sum));
        memset(&row, 0, sizeof(row));
        memset(&split, 0, sizeof(split));
        memset(&k, 0, sizeof(k));
        memset(&r, 0, sizeof(r));
        if (s->last.present && now_ns <= s->last.end_ns) {
                char now_text[32], last_text[32];

                rc = cl_fail(CL_EINVAL,
                             "sample time %s is not after the last stored "
                             "reading at %s; nothing stored",
                             cl_format_utc(now_ns, now_text, sizeof(now_text)),
                             cl_format_utc(s->last.end_ns, last_text,
                                           sizeof(last_text)));
                goto out;
        }
        rc = take_reading(s, now_ns, &r);
        if (rc != CL_OK)
                goto out;
        if (kepler)
                kepler_gap =
                    read_kepler(s, &k, s->kepler_why, sizeof(s->kepler_why));
        n_rows = kepler ? k.n_pods : r.n_pods;
        rc = grow_cycle(&s->cycle, n_rows, kepler);
        if (rc == CL_OK)
                rc = reserve_last_pods(s, r.n_pods);
        if (rc != CL_OK)
                goto out;
        rows = s->cycle.rows;
        pod_us = s->cycle.pod_us;
        pod_uj = s->cycle.pod_uj;
        pod_known = s->cycle.pod_known;
        knames = kepler ? s->cycle.knames : NULL;
        memset(rows, 0, (n_rows + 1) * sizeof(*rows));
        memset(pod_us, 0, (n_rows + 1) * sizeof(*pod_us));
        memset(pod_uj, 0, (n_rows + 1) * sizeof(*pod_uj));
        memset(pod_known, 0, (n_rows + 1) * sizeof(*pod_known));
        if (kepler)
                memset(knames, 0, (n_rows + 1) * sizeof(*knames));
        if (!kepler && names_missing(s, &r) &&
            now_ns - s->names_read_ns >= NAME_REFRESH_NS)
                read_names(s, now_ns);

        row.boot_id = r.boot_id;
        row.end_ns = now_ns;
        row.method = measured ? "measured" : "estimated";
        row.source = kepler ? "kepler" : NULL;
        row.cpu_total_ticks = r.cpu.total;
        row.cpu_idle_ticks = r.cpu.idle;
        row.clock_ticks_hz = s->clock_ticks_hz;
        row.zone_has_reading = s->zone_has_reading;
        row.zone_energy_uj = s->zone_now;
        row.zone_has_delta = s->zone_has_delta;
        row.zone_delta_uj = s->zone_delta;
        row.estimated = !measured;
        row.model_idle_w = s->cfg.idle_watts;
        row.model_max_w = s->cfg.max_watts;
        for (size_t i = 0; i < s->rapl.n; i++)
                s->zone_has_delta[i] = 0;

        if (!s->last.present) {
                row.status = "baseline";
        } else {
                elapsed_ns = now_ns - s->last.end_ns;
                row.start_ns = s->last.end_ns;
                gap = interval_gap_reason(s, &r, elapsed_ns);
                same_boot = strcmp(r.boot_id, s->last.boot_id) == 0 &&
                            r.cpu.total >= s->last.cpu_total_ticks &&
                            r.cpu.idle >= s->last.cpu_idle_ticks;
                if (gap == NULL && kepler && kepler_gap != NULL)
                        gap = kepler_gap;
                else if (gap == NULL && kepler && !s->kepler_has_last)
                        gap = "no previous Kepler reading (collector "
                              "restarted)";
                else if (gap == NULL && kepler &&
                         s->kepler_last_ns != s->last.end_ns)
                        gap = "Kepler readings were rejected since the "
                              "last accepted one, so its increase spans "
                              "earlier gap intervals";
                else if (gap == NULL && measured && !kepler)
                        gap = zone_deltas(s, &r, elapsed_ns, &energy_uj);
                row.status = gap == NULL ? "ok" : "gap";
                row.gap_reason = gap;
        }
        if (kepler) {
                kepler_rows(s, &k, &r, same_boot, rows, knames);
                names = knames;
                n_names = k.n_pods;
                for (size_t i = 0; i < k.n_pods; i++)
                        row.pods_cpu_us +=
                            rows[i].has_delta ? rows[i].cpu_us : 0;
        } else {
                row.pods_cpu_us =
                    pod_deltas(&s->last, &r, same_boot, rows, pod_us);
        }
        if (same_boot) {
                row.has_interval = 1;
                row.cpu_total_us = ticks_to_us(
                    r.cpu.total - s->last.cpu_total_ticks, s->clock_ticks_hz);
                row.cpu_idle_us = ticks_to_us(
                    r.cpu.idle - s->last.cpu_idle_ticks, s->clock_ticks_hz);
        }
        if (gap == NULL && s->last.present && kepler) {
                gap = kepler_split(s, &k, elapsed_ns, rows, pod_uj, pod_known,
                                   &split, &energy_uj);
                row.status = gap == NULL ? "ok" : "gap";
                row.gap_reason = gap;
        } else if (gap == NULL && s->last.present) {
                if (!measured)
                        energy_uj =
                            model_energy_uj(&s->cfg, row.cpu_total_us,
                                            row.cpu_idle_us, elapsed_ns);
                cl_attribute(energy_uj, row.cpu_total_us, row.cpu_idle_us,
                             pod_us, r.n_pods, pod_uj, &split);
                for (size_t i = 0; i < r.n_pods; i++)
                        rows[i].energy_uj = pod_uj[i];
        }
        if (gap == NULL && s->last.present) {
                row.has_energy = 1;
                row.energy_uj = energy_uj;
                row.idle_uj = split.idle_uj;
                row.system_uj = split.system_uj;
                row.pods_uj = split.pods_uj;
                row.pods_scaled = split.scaled;
        }
        row.pods = rows;
        row.n_pods = n_rows;
        rc = cl_store_write(s->store, &row, names, n_names);
        if (rc != CL_OK)
                goto out;
        if (s->cfg.metrics != NULL)
                publish_metrics(s, &row, elapsed_ns, names, n_names,
                                kepler ? &k : NULL);

        sum->status = row.status;
        sum->method = row.method;
        sum->gap_reason = gap;
        sum->elapsed_s = (double)elapsed_ns / 1e9;
        sum->energy_j = (double)row.energy_uj / 1e6;
        sum->idle_j = (double)split.idle_uj / 1e6;
        sum->system_j = (double)split.system_uj / 1e6;
        sum->pods_j = (double)split.pods_uj / 1e6;
        sum->n_pods = n_rows;
        sum->scaled = split.scaled;
        if (!r.zones_ok && !kepler)
                cl_warn("rapl_read_failed", "error=\"%s\"", r.zone_error);
        if (kepler && kepler_gap == NULL) {
                cl_kepler_reading_free(&s->kepler_last);
                s->kepler_last = k;
                s->kepler_has_last = 1;
                s->kepler_last_ns = now_ns;
                memset(&k, 0, sizeof(k));
        }
        advance(s, &r);
out:
        cl_kepler_reading_free(&k);
        return rc;
}
