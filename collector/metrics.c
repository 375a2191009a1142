/*
 * Running totals of the collector's cycles and their rendering in the
 * Prometheus text exposition format (see metrics.h for the contract).
 *
 * State: the accumulator (struct totals in struct cl_metrics) belongs to
 * the sampling thread alone. After each cycle that thread copies it into
 * a new snapshot and swaps the published pointer under the mutex.
 * Renderers take a reference to the published snapshot under the mutex
 * and format it without the lock. Invariants: a published snapshot is
 * never written again; it is freed by whoever drops the last reference
 * (the swap drops the publisher's).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a pod that left stays exported as terminated, in ns. */
#define POD_KEEP_NS (INT64_C(600) * INT64_C(1000000000))

enum { METHOD_MEASURED, METHOD_ESTIMATED, METHOD_COUNT };

static const char *const method_names[METHOD_COUNT] = {"measured", "estimated"};

struct zone_total {
        char path[64];
        char name[32];
        uint64_t uj;
};

struct pod_total {
        char uid[40];
        char namespace_[64];
        char name[254];
        uint64_t energy_uj;
        uint64_t cpu_us;
        int64_t last_seen_ns;
        int terminated; /* marked terminated in the last cycle it was in */
        int running;
};

struct totals {
        uint64_t energy_uj[METHOD_COUNT];
        uint64_t idle_uj[METHOD_COUNT];
        uint64_t system_uj[METHOD_COUNT];
        int method_seen[METHOD_COUNT];
        uint64_t intervals, gaps, scaled, baselines;
        uint64_t sampled_ns, gap_ns;
        int64_t last_end_ns;
        char source[16];
        struct zone_total *zones;
        size_t n_zones;
        struct pod_total *pods;
        size_t n_pods;
};

struct snapshot {
        int refs;
        struct totals t;
};

struct cl_metrics {
        char node[256];
        pthread_mutex_t lock;
        struct totals acc;
        size_t cap_zones, cap_pods;
        struct snapshot *published;
};

/* A growing output buffer; on allocation failure it stays failed. */
struct buf {
        char *data;
        size_t len, cap;
        int failed;
};

static void buf_printf(struct buf *b, const char *fmt, ...) CL_PRINTF(2, 3);

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (b->failed)
                return;
        for (;;) {
                size_t room = b->cap - b->len;

                va_start(ap, fmt);
                n = vsnprintf(b->data + b->len, room, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        b->failed = 1;
                        return;
                }
                if ((size_t)n < room) {
                        b->len += (size_t)n;
                        return;
                }
                {
                        size_t ncap = (b->cap + (size_t)n + 1) * 2;
                        char *grown = realloc(b->data, ncap);

                        if (grown == NULL) {
                                b->failed = 1;
                                return;
                        }
                        b->data = grown;
                        b->cap = ncap;
                }
        }
}

int
cl_metrics_escape_label(const char *value, char *out, size_t size)
{
        size_t o = 0;

        if (size == 0)
                return -1;
        for (const char *p = value; *p != '\0'; p++) {
                const char *rep = NULL;
                char one[2] = {*p, '\0'};
                size_t n;

                if (*p == '\\')
                        rep = "\\\\";
                else if (*p == '"')
                        rep = "\\\"";
                else if (*p == '\n')
                        rep = "\\n";
                else
                        rep = one;
                n = strlen(rep);
                if (o + n >= size) {
                        out[o] = '\0';
                        return -1;
                }
                memcpy(out + o, rep, n);
                o += n;
        }
        out[o] = '\0';
        return 0;
}

const char *
cl_metrics_zone_label(const char *zone_name)
{
        if (strncmp(zone_name, "package", 7) == 0)
                return "package";
        return zone_name;
}

cl_err
cl_metrics_new(const char *node_name, struct cl_metrics **out)
{
        struct cl_metrics *m;

        *out = NULL;
        if (strlen(node_name) >= sizeof(m->node))
                return cl_fail(CL_EINVAL, "node name longer than %zu bytes",
                               sizeof(m->node) - 1);
        m = calloc(1, sizeof(*m));
        if (m == NULL)
                return cl_fail(CL_ENOMEM, "metrics");
        snprintf(m->node, sizeof(m->node), "%s", node_name);
        snprintf(m->acc.source, sizeof(m->acc.source), "collector");
        if (pthread_mutex_init(&m->lock, NULL) != 0) {
                free(m);
                return cl_fail(CL_ENOMEM, "metrics lock");
        }
        *out = m;
        return CL_OK;
}

static void
snapshot_free(struct snapshot *s)
{
        if (s == NULL)
                return;
        free(s->t.zones);
        free(s->t.pods);
        free(s);
}

/* Drops one reference; the caller holds the lock. */
static void
snapshot_release_locked(struct snapshot *s)
{
        if (s != NULL && --s->refs == 0)
                snapshot_free(s);
}

void
cl_metrics_free(struct cl_metrics *m)
{
        if (m == NULL)
                return;
        snapshot_release_locked(m->published);
        pthread_mutex_destroy(&m->lock);
        free(m->acc.zones);
        free(m->acc.pods);
        free(m);
}

static int
compare_pod_total(const void *a, const void *b)
{
        const struct pod_total *pa = a, *pb = b;

        return strcmp(pa->uid, pb->uid);
}

static struct zone_total *
zone_total(struct cl_metrics *m, const struct cl_metrics_zone *z)
{
        struct totals *t = &m->acc;

        for (size_t i = 0; i < t->n_zones; i++)
                if (strcmp(t->zones[i].path, z->path) == 0)
                        return &t->zones[i];
        if (t->n_zones == m->cap_zones) {
                size_t ncap = m->cap_zones ? m->cap_zones * 2 : 8;
                void *grown = realloc(t->zones, ncap * sizeof(*t->zones));

                if (grown == NULL)
                        return NULL;
                t->zones = grown;
                m->cap_zones = ncap;
        }
        memset(&t->zones[t->n_zones], 0, sizeof(t->zones[0]));
        snprintf(t->zones[t->n_zones].path, sizeof(t->zones[0].path), "%s",
                 z->path);
        snprintf(t->zones[t->n_zones].name, sizeof(t->zones[0].name), "%s",
                 z->name);
        return &t->zones[t->n_zones++];
}

/* Returns the total of uid, appending it unsorted when new (*added = 1). */
static struct pod_total *
pod_total(struct cl_metrics *m, size_t n_sorted, const char *uid, int *added)
{
        struct totals *t = &m->acc;
        struct pod_total key, *found;

        snprintf(key.uid, sizeof(key.uid), "%s", uid);
        found = n_sorted > 0 ? bsearch(&key, t->pods, n_sorted, sizeof(key),
                                       compare_pod_total)
                             : NULL;
        if (found != NULL)
                return found;
        for (size_t i = n_sorted; i < t->n_pods; i++)
                if (strcmp(t->pods[i].uid, uid) == 0)
                        return &t->pods[i];
        if (t->n_pods == m->cap_pods) {
                size_t ncap = m->cap_pods ? m->cap_pods * 2 : 64;
                void *grown = realloc(t->pods, ncap * sizeof(*t->pods));

                if (grown == NULL)
                        return NULL;
                t->pods = grown;
                m->cap_pods = ncap;
        }
        found = &t->pods[t->n_pods++];
        memset(found, 0, sizeof(*found));
        snprintf(found->uid, sizeof(found->uid), "%s", uid);
        *added = 1;
        return found;
}

static cl_err
add_pods(struct cl_metrics *m, const struct cl_metrics_cycle *c)
{
        struct totals *t = &m->acc;
        size_t n_sorted = t->n_pods, kept = 0;
        int added = 0;

        for (size_t i = 0; i < c->n_pods; i++) {
                const struct cl_metrics_pod *p = &c->pods[i];
                struct pod_total *pt = pod_total(m, n_sorted, p->uid, &added);

                if (pt == NULL)
                        return cl_fail(CL_ENOMEM, "pod totals");
                if (p->namespace_ != NULL)
                        snprintf(pt->namespace_, sizeof(pt->namespace_), "%s",
                                 p->namespace_);
                if (p->name != NULL)
                        snprintf(pt->name, sizeof(pt->name), "%s", p->name);
                if (p->has_cpu)
                        pt->cpu_us += p->cpu_us;
                if (p->has_energy)
                        pt->energy_uj += p->energy_uj;
                pt->last_seen_ns = c->end_ns;
                pt->terminated = p->terminated;
        }
        /* Drop pods gone for longer than POD_KEEP_NS, keeping the order. */
        for (size_t i = 0; i < t->n_pods; i++) {
                struct pod_total *pt = &t->pods[i];

                if (c->end_ns - pt->last_seen_ns > POD_KEEP_NS)
                        continue;
                pt->running = pt->last_seen_ns == c->end_ns && !pt->terminated;
                if (kept != i)
                        t->pods[kept] = *pt;
                kept++;
        }
        t->n_pods = kept;
        if (added)
                qsort(t->pods, t->n_pods, sizeof(*t->pods), compare_pod_total);
        return CL_OK;
}

static cl_err
add_cycle(struct cl_metrics *m, const struct cl_metrics_cycle *c)
{
        struct totals *t = &m->acc;
        int method = strcmp(c->method, "estimated") == 0 ? METHOD_ESTIMATED
                                                         : METHOD_MEASURED;

        t->last_end_ns = c->end_ns;
        snprintf(t->source, sizeof(t->source), "%s", c->source);
        if (strcmp(c->status, "baseline") == 0) {
                t->baselines++;
        } else if (strcmp(c->status, "ok") == 0) {
                t->method_seen[method] = 1;
                t->energy_uj[method] += c->energy_uj;
                t->idle_uj[method] += c->idle_uj;
                t->system_uj[method] += c->system_uj;
                t->intervals++;
                t->sampled_ns += (uint64_t)c->elapsed_ns;
                if (c->scaled)
                        t->scaled++;
        } else {
                t->gaps++;
                if (c->elapsed_ns > 0)
                        t->gap_ns += (uint64_t)c->elapsed_ns;
        }
        for (size_t i = 0; i < c->n_zones; i++) {
                struct zone_total *z = zone_total(m, &c->zones[i]);

                if (z == NULL)
                        return cl_fail(CL_ENOMEM, "zone totals");
                if (c->zones[i].has_delta)
                        z->uj += c->zones[i].delta_uj;
        }
        return add_pods(m, c);
}

static struct snapshot *
snapshot_of(const struct totals *t)
{
        struct snapshot *s = calloc(1, sizeof(*s));

        if (s == NULL)
                return NULL;
        s->refs = 1;
        s->t = *t;
        s->t.zones = malloc((t->n_zones + 1) * sizeof(*t->zones));
        s->t.pods = malloc((t->n_pods + 1) * sizeof(*t->pods));
        if (s->t.zones == NULL || s->t.pods == NULL) {
                snapshot_free(s);
                return NULL;
        }
        if (t->n_zones > 0)
                memcpy(s->t.zones, t->zones, t->n_zones * sizeof(*t->zones));
        if (t->n_pods > 0)
                memcpy(s->t.pods, t->pods, t->n_pods * sizeof(*t->pods));
        return s;
}

cl_err
cl_metrics_record(struct cl_metrics *m, const struct cl_metrics_cycle *c)
{
        struct snapshot *next, *old;
        cl_err rc;

        rc = add_cycle(m, c);
        if (rc != CL_OK)
                return rc;
        next = snapshot_of(&m->acc);
        if (next == NULL)
                return cl_fail(CL_ENOMEM, "metrics snapshot");
        pthread_mutex_lock(&m->lock);
        old = m->published;
        m->published = next;
        snapshot_release_locked(old);
        pthread_mutex_unlock(&m->lock);
        return CL_OK;
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
        buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Writes microjoules or microseconds as a decimal of whole units. */
static void
micro_value(struct buf *b, uint64_t micro)
{
        buf_printf(b, " %llu.%06llu\n", (unsigned long long)(micro / 1000000),
                   (unsigned long long)(micro % 1000000));
}

static void
render_node(struct buf *b, const struct totals *t, const char *node)
{
        static const struct {
                const char *name, *help;
                size_t offset;
        } energy[] = {
            {"carbonledger_node_energy_joules_total",
             "Energy of the node (psys, or the packages and dram) in "
             "intervals with known energy, J.",
             offsetof(struct totals, energy_uj)},
            {"carbonledger_node_idle_joules_total",
             "Share of the node energy attributed to idle and iowait CPU "
             "time, J.",
             offsetof(struct totals, idle_uj)},
            {"carbonledger_node_system_joules_total",
             "Share of the node energy attributed to host processes and "
             "the kernel, J.",
             offsetof(struct totals, system_uj)},
        };

        for (size_t f = 0; f < sizeof(energy) / sizeof(energy[0]); f++) {
                const uint64_t *v =
                    (const uint64_t *)((const char *)t + energy[f].offset);

                family(b, energy[f].name, "counter", energy[f].help);
                for (int k = 0; k < METHOD_COUNT; k++) {
                        if (!t->method_seen[k])
                                continue;
                        buf_printf(b,
                                   "%s{node_name=\"%s\",method=\"%s\","
                                   "source=\"%s\"}",
                                   energy[f].name, node, method_names[k],
                                   t->source);
                        micro_value(b, v[k]);
                }
        }
        family(b, "carbonledger_node_intervals_total", "counter",
               "Intervals stored with known energy.");
        buf_printf(b,
                   "carbonledger_node_intervals_total{node_name=\"%s\"} "
                   "%llu\n",
                   node, (unsigned long long)t->intervals);
        family(b, "carbonledger_node_gaps_total", "counter",
               "Intervals stored as gaps (energy unknown).");
        buf_printf(b, "carbonledger_node_gaps_total{node_name=\"%s\"} %llu\n",
                   node, (unsigned long long)t->gaps);
        family(b, "carbonledger_node_scaled_intervals_total", "counter",
               "Intervals whose pods' CPU time exceeded the busy time and "
               "was scaled down.");
        buf_printf(b,
                   "carbonledger_node_scaled_intervals_total{node_name=\"%s\"}"
                   " %llu\n",
                   node, (unsigned long long)t->scaled);
        family(b, "carbonledger_node_sampled_seconds_total", "counter",
               "Time covered by intervals with known energy, s.");
        buf_printf(b,
                   "carbonledger_node_sampled_seconds_total{node_name=\"%s\"}",
                   node);
        micro_value(b, t->sampled_ns / 1000);
        family(b, "carbonledger_node_gap_seconds_total", "counter",
               "Time covered by intervals stored as gaps, s.");
        buf_printf(b, "carbonledger_node_gap_seconds_total{node_name=\"%s\"}",
                   node);
        micro_value(b, t->gap_ns / 1000);
        family(b, "carbonledger_node_last_sample_timestamp_seconds", "gauge",
               "Time of the last stored reading, s since the Unix epoch.");
        buf_printf(b,
                   "carbonledger_node_last_sample_timestamp_seconds{node_name="
                   "\"%s\"}",
                   node);
        micro_value(b,
                    (uint64_t)(t->last_end_ns > 0 ? t->last_end_ns : 0) / 1000);
}

static void
render_zones(struct buf *b, const struct totals *t, const char *node)
{
        char path[160];

        if (t->n_zones == 0)
                return;
        family(b, "kepler_node_cpu_joules_total", "counter",
               "Energy of one RAPL zone, wrap-corrected, J. Zones overlap "
               "(core lies inside package): select one zone.");
        for (size_t i = 0; i < t->n_zones; i++) {
                cl_metrics_escape_label(t->zones[i].path, path, sizeof(path));
                buf_printf(b,
                           "kepler_node_cpu_joules_total{node_name=\"%s\","
                           "zone=\"%s\",path=\"%s\"}",
                           node, cl_metrics_zone_label(t->zones[i].name), path);
                micro_value(b, t->zones[i].uj);
        }
}

static void
pod_labels(struct buf *b, const struct pod_total *p, const char *node)
{
        char ns[160], name[520];

        cl_metrics_escape_label(p->namespace_, ns, sizeof(ns));
        cl_metrics_escape_label(p->name[0] != '\0' ? p->name : p->uid, name,
                                sizeof(name));
        buf_printf(b,
                   "{node_name=\"%s\",pod_id=\"%s\",pod_name=\"%s\","
                   "pod_namespace=\"%s\",",
                   node, p->uid, name, ns);
}

static void
render_pods(struct buf *b, const struct totals *t, const char *node)
{
        family(b, "kepler_pod_cpu_joules_total", "counter",
               "Energy attributed to a pod by its CPU time, J. zone=\"all\" "
               "is the node energy the reports use (psys, or the packages "
               "and dram).");
        for (size_t i = 0; i < t->n_pods; i++) {
                buf_printf(b, "kepler_pod_cpu_joules_total");
                pod_labels(b, &t->pods[i], node);
                buf_printf(b, "zone=\"all\",state=\"%s\"}",
                           t->pods[i].running ? "running" : "terminated");
                micro_value(b, t->pods[i].energy_uj);
        }
        family(b, "carbonledger_pod_cpu_seconds_total", "counter",
               "CPU time of a pod-level cgroup while sampled, s.");
        for (size_t i = 0; i < t->n_pods; i++) {
                buf_printf(b, "carbonledger_pod_cpu_seconds_total");
                pod_labels(b, &t->pods[i], node);
                buf_printf(b, "state=\"%s\"}",
                           t->pods[i].running ? "running" : "terminated");
                micro_value(b, t->pods[i].cpu_us);
        }
}

cl_err
cl_metrics_render(struct cl_metrics *m, char **text, size_t *len)
{
        struct buf b = {NULL, 0, 0, 0};
        struct snapshot *s;
        char node[520];

        *text = NULL;
        *len = 0;
        pthread_mutex_lock(&m->lock);
        s = m->published;
        if (s != NULL)
                s->refs++;
        pthread_mutex_unlock(&m->lock);

        cl_metrics_escape_label(m->node, node, sizeof(node));
        b.cap = 4096 + (s != NULL ? s->t.n_pods * 640 : 0);
        b.data = malloc(b.cap);
        if (b.data == NULL)
                b.failed = 1;
        else
                b.data[0] = '\0';
        if (s != NULL) {
                render_node(&b, &s->t, node);
                render_zones(&b, &s->t, node);
                render_pods(&b, &s->t, node);
        }
        pthread_mutex_lock(&m->lock);
        snapshot_release_locked(s);
        pthread_mutex_unlock(&m->lock);
        if (b.failed) {
                free(b.data);
                return cl_fail(CL_ENOMEM, "metrics text");
        }
        *text = b.data;
        *len = b.len;
        return CL_OK;
}
