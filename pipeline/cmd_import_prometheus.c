/*
 * carbonledger import prometheus: stores a period of every node's
 * collector counters, read back from a Prometheus server, as samples in
 * the same tables the collector writes, so one nightly run reports the
 * whole cluster.
 *
 * The period is cut into steps of --step seconds on a grid from --from.
 * For each node (label node_name of carbonledger_node_energy_joules_total)
 * and step, the increase of every counter is its value at the step's end
 * minus its value at the start, or the value at the end alone when the
 * counter went down (a collector restart resets it to 0). A counter absent
 * at either end of a step gives no increase: as in Prometheus's
 * increase(), the first value of a series is its base, so the energy a
 * restarted collector used before its first scrape is not imported.
 * Series that differ only in job, instance or pod state are one counter
 * (their maximum is taken), so a pod whose state changes keeps its count.
 *
 * Each step with a known node energy becomes an 'ok' sample covering the
 * time the collector sampled in it, followed by a 'gap' sample for the
 * time it recorded as gaps. A step is one 'gap' sample, with the reason,
 * when a counter value at either end is negative, not finite or above
 * COUNTER_MAX (a scrape fault), or when an energy increase is above the
 * step length x --max-watts. Samples are marked source 'prometheus'.
 * Importing a period again replaces the imported samples in it; a node
 * that has samples of its own collector in the period is rejected, since
 * its energy would count twice. The whole import is one transaction.
 */
#include "commands.h"

#include "db.h"
#include "log.h"
#include "prom_query.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_STEP_S 60

/* The collector's default bound on Kepler power (--kepler-max-watts). */
#define DEFAULT_MAX_WATTS 2000.0

/*
 * Largest counter value accepted, in J or s: 9e12 x 1e6 still fits in
 * int64 microunits, and 9e12 J is 2 kW for over 140 years.
 */
#define COUNTER_MAX 9e12

struct import_options {
        const char *db, *url, *from, *to;
        int64_t from_ns, to_ns, step_ns;
        double max_watts;
};

/* One counter of a node: the series with one key combined. */
struct counter {
        char key[64];        /* method, pod UID, or "" */
        char namespace_[64]; /* pods only */
        char name[254];      /* pods only */
        double *values;      /* n_points, NAN where absent */
        int64_t pod_id;
};

struct counters {
        struct counter *items;
        size_t n;
};

static void
counters_free(struct counters *c)
{
        for (size_t i = 0; i < c->n; i++)
                free(c->items[i].values);
        free(c->items);
        memset(c, 0, sizeof(*c));
}

static struct counter *
counter_of(struct counters *c, const char *key, size_t n_points)
{
        struct counter *grown, *item;

        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->items[i].key, key) == 0)
                        return &c->items[i];
        grown = realloc(c->items, (c->n + 1) * sizeof(*c->items));
        if (grown == NULL)
                return NULL;
        c->items = grown;
        item = &c->items[c->n];
        memset(item, 0, sizeof(*item));
        snprintf(item->key, sizeof(item->key), "%s", key);
        item->values = malloc(n_points * sizeof(*item->values));
        if (item->values == NULL)
                return NULL;
        for (size_t k = 0; k < n_points; k++)
                item->values[k] = NAN;
        c->n++;
        return item;
}

/*
 * Runs query and combines its series by the value of key_label (NULL: all
 * into one counter), taking the maximum where several are present.
 */
static cl_err
fetch_counters(const struct import_options *o, const char *query,
               const char *key_label, int64_t start_ns, size_t n_points,
               struct counters *out)
{
        struct cl_prom_matrix m;
        cl_err rc;

        memset(out, 0, sizeof(*out));
        rc = cl_prom_query_range(o->url, query, start_ns, o->step_ns, n_points,
                                 &m);
        if (rc != CL_OK)
                return rc;
        for (size_t i = 0; i < m.n_series; i++) {
                const struct cl_prom_series *s = &m.series[i];
                const char *key =
                    key_label != NULL ? cl_prom_series_label(s, key_label) : "";
                const char *ns = cl_prom_series_label(s, "pod_namespace");
                const char *name = cl_prom_series_label(s, "pod_name");
                struct counter *c;

                if (key == NULL)
                        continue;
                c = counter_of(out, key, n_points);
                if (c == NULL) {
                        rc = cl_fail(CL_ENOMEM, "counters");
                        break;
                }
                if (ns != NULL)
                        snprintf(c->namespace_, sizeof(c->namespace_), "%s",
                                 ns);
                if (name != NULL)
                        snprintf(c->name, sizeof(c->name), "%s", name);
                for (size_t k = 0; k < n_points; k++)
                        if (!isnan(s->values[k]) &&
                            (isnan(c->values[k]) ||
                             s->values[k] > c->values[k]))
                                c->values[k] = s->values[k];
        }
        cl_prom_matrix_free(&m);
        if (rc != CL_OK)
                counters_free(out);
        return rc;
}

/* Whether v can be a value of a counter in J, s or intervals. */
static int
counter_valid(double v)
{
        return isfinite(v) && v >= 0 && v <= COUNTER_MAX;
}

/*
 * Returns the increase over step k (points k - 1 to k), or NAN when a
 * point is absent or not a valid counter value. A value below the one
 * before is a counter reset, so the increase is that value.
 */
static double
increase(const double *v, size_t k)
{
        if (!counter_valid(v[k - 1]) || !counter_valid(v[k]))
                return NAN;
        return v[k] >= v[k - 1] ? v[k] - v[k - 1] : v[k];
}

/* Converts units (J or s) to integer micro-units, 0 for NAN or <= 0. */
static int64_t
micro(double units)
{
        if (!(units > 0))
                return 0;
        if (units >= COUNTER_MAX)
                return (int64_t)(COUNTER_MAX * 1e6);
        return (int64_t)llround(units * 1e6);
}

/* Converts seconds, capped at cap_ns, to nanoseconds. */
static int64_t
nanos_capped(double seconds, int64_t cap_ns)
{
        if (!(seconds > 0))
                return 0;
        if (seconds * 1e9 >= (double)cap_ns)
                return cap_ns;
        return (int64_t)llround(seconds * 1e9);
}

/* The node's counters over one chunk of the grid. */
struct node_chunk {
        struct counters energy, idle, sampled, gap, scaled, pods, pod_cpu;
};

static void
node_chunk_free(struct node_chunk *c)
{
        counters_free(&c->energy);
        counters_free(&c->idle);
        counters_free(&c->sampled);
        counters_free(&c->gap);
        counters_free(&c->scaled);
        counters_free(&c->pods);
        counters_free(&c->pod_cpu);
}

static cl_err
fetch_node_chunk(const struct import_options *o, const char *node,
                 int64_t start_ns, size_t n_points, struct node_chunk *c)
{
        static const struct {
                const char *metric, *extra, *key;
                size_t offset;
        } queries[] = {
            {"carbonledger_node_energy_joules_total", "", "method",
             offsetof(struct node_chunk, energy)},
            {"carbonledger_node_idle_joules_total", "", "method",
             offsetof(struct node_chunk, idle)},
            {"carbonledger_node_sampled_seconds_total", "", NULL,
             offsetof(struct node_chunk, sampled)},
            {"carbonledger_node_gap_seconds_total", "", NULL,
             offsetof(struct node_chunk, gap)},
            {"carbonledger_node_scaled_intervals_total", "", NULL,
             offsetof(struct node_chunk, scaled)},
            {"kepler_pod_cpu_joules_total", ",zone=\"all\"", "pod_id",
             offsetof(struct node_chunk, pods)},
            {"carbonledger_pod_cpu_seconds_total", "", "pod_id",
             offsetof(struct node_chunk, pod_cpu)},
        };
        char quoted[512], query[1024];
        cl_err rc = CL_OK;

        memset(c, 0, sizeof(*c));
        if (cl_prom_quote(node, quoted, sizeof(quoted)) != 0)
                return cl_fail(CL_EINVAL, "node name too long: %.60s", node);
        for (size_t i = 0;
             rc == CL_OK && i < sizeof(queries) / sizeof(*queries); i++) {
                struct counters *out =
                    (struct counters *)((char *)c + queries[i].offset);

                snprintf(query, sizeof(query), "%s{node_name=\"%s\"%s}",
                         queries[i].metric, quoted, queries[i].extra);
                rc = fetch_counters(o, query, queries[i].key, start_ns,
                                    n_points, out);
        }
        if (rc != CL_OK)
                node_chunk_free(c);
        return rc;
}

/* Prepared statements of the import. */
struct writer {
        sqlite3 *db;
        int64_t node_id;
        const char *node; /* name of node_id */
        sqlite3_stmt *sample, *pod_sample, *pod;
        size_t samples, pod_rows, rejected;
};

static cl_err
writer_open(sqlite3 *db, struct writer *w)
{
        cl_err rc;

        memset(w, 0, sizeof(*w));
        w->db = db;
        rc = cl_db_prepare(
            db,
            "INSERT INTO sample (node_id, boot_id, start_ns, end_ns, status, "
            "method, gap_reason, cpu_total_ticks, cpu_idle_ticks, "
            "clock_ticks_hz, energy_uj, idle_uj, system_uj, pods_uj, "
            "pods_scaled, source) VALUES (?1, 'prometheus', ?2, ?3, ?4, ?5, "
            "?6, 0, 0, 100, ?7, ?8, ?9, ?10, ?11, 'prometheus')",
            &w->sample);
        if (rc == CL_OK)
                rc = cl_db_prepare(db,
                                   "INSERT INTO pod_sample (sample_id, pod_id, "
                                   "cpu_usage_us, cpu_us, energy_uj) VALUES "
                                   "(?1, ?2, ?3, ?4, ?5)",
                                   &w->pod_sample);
        if (rc == CL_OK)
                rc = cl_db_prepare(
                    db,
                    "INSERT INTO pod (node_id, uid, namespace, name) VALUES "
                    "(?1, ?2, nullif(?3, ''), nullif(?4, '')) ON CONFLICT "
                    "(node_id, uid) DO UPDATE SET namespace = "
                    "coalesce(excluded.namespace, namespace), name = "
                    "coalesce(excluded.name, name) RETURNING pod_id",
                    &w->pod);
        return rc;
}

static void
writer_close(struct writer *w)
{
        sqlite3_finalize(w->sample);
        sqlite3_finalize(w->pod_sample);
        sqlite3_finalize(w->pod);
}

static cl_err
pod_ids(struct writer *w, struct counters *pods)
{
        for (size_t i = 0; i < pods->n; i++) {
                struct counter *p = &pods->items[i];

                sqlite3_reset(w->pod);
                sqlite3_bind_int64(w->pod, 1, w->node_id);
                sqlite3_bind_text(w->pod, 2, p->key, -1, SQLITE_STATIC);
                sqlite3_bind_text(w->pod, 3, p->namespace_, -1, SQLITE_STATIC);
                sqlite3_bind_text(w->pod, 4, p->name, -1, SQLITE_STATIC);
                if (sqlite3_step(w->pod) != SQLITE_ROW)
                        return cl_db_fail(w->db, "store pod");
                p->pod_id = sqlite3_column_int64(w->pod, 0);
        }
        sqlite3_reset(w->pod);
        return CL_OK;
}

/* Inserts one sample. A NULL gap_reason stores the collector's reason. */
static cl_err
insert_sample(struct writer *w, int64_t start_ns, int64_t end_ns, int ok,
              const char *method, const int64_t split[4], int scaled,
              const char *gap_reason, int64_t *sample_id)
{
        sqlite3_stmt *st = w->sample;

        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, w->node_id);
        sqlite3_bind_int64(st, 2, start_ns);
        sqlite3_bind_int64(st, 3, end_ns);
        sqlite3_bind_text(st, 4, ok ? "ok" : "gap", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, method, -1, SQLITE_STATIC);
        if (!ok)
                sqlite3_bind_text(st, 6,
                                  gap_reason != NULL
                                      ? gap_reason
                                      : "recorded as a gap by the node's "
                                        "collector",
                                  -1, SQLITE_TRANSIENT);
        for (int i = 0; ok && i < 4; i++)
                sqlite3_bind_int64(st, 7 + i, split[i]);
        sqlite3_bind_int(st, 11, scaled);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cl_db_fail(w->db, "store imported sample");
        *sample_id = sqlite3_last_insert_rowid(w->db);
        w->samples++;
        return CL_OK;
}

static const struct counter *
find_counter(const struct counters *c, const char *key)
{
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->items[i].key, key) == 0)
                        return &c->items[i];
        return NULL;
}

static double
sum_increase(const struct counters *c, size_t k, int *known,
             const char **largest)
{
        double sum = 0, best = -1;

        *known = 0;
        for (size_t i = 0; i < c->n; i++) {
                double inc = increase(c->items[i].values, k);

                if (isnan(inc))
                        continue;
                *known = 1;
                sum += inc;
                if (largest != NULL && inc > best) {
                        best = inc;
                        *largest = c->items[i].key;
                }
        }
        return sum;
}

static cl_err
write_pod_rows(struct writer *w, const struct node_chunk *c, size_t k,
               int64_t sample_id, int64_t *pods_uj)
{
        sqlite3_stmt *st = w->pod_sample;

        *pods_uj = 0;
        for (size_t i = 0; i < c->pods.n; i++) {
                const struct counter *p = &c->pods.items[i];
                const struct counter *cpu = find_counter(&c->pod_cpu, p->key);
                double e = increase(p->values, k);
                double u = cpu != NULL ? increase(cpu->values, k) : NAN;

                if (isnan(p->values[k]))
                        continue;
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, sample_id);
                sqlite3_bind_int64(st, 2, p->pod_id);
                sqlite3_bind_int64(st, 3,
                                   cpu != NULL && !isnan(cpu->values[k])
                                       ? micro(cpu->values[k])
                                       : 0);
                if (isnan(u))
                        sqlite3_bind_null(st, 4);
                else
                        sqlite3_bind_int64(st, 4, micro(u));
                if (isnan(e)) {
                        sqlite3_bind_null(st, 5);
                } else {
                        sqlite3_bind_int64(st, 5, micro(e));
                        *pods_uj += micro(e);
                }
                if (sqlite3_step(st) != SQLITE_DONE)
                        return cl_db_fail(w->db, "store imported pod sample");
                w->pod_rows++;
        }
        return CL_OK;
}

/* Returns the pods' energy over step k, in uJ, as write_pod_rows stores it. */
static int64_t
pods_increase(const struct node_chunk *c, size_t k)
{
        int64_t sum = 0;

        for (size_t i = 0; i < c->pods.n; i++) {
                double e = increase(c->pods.items[i].values, k);

                if (!isnan(e))
                        sum += micro(e);
        }
        return sum;
}

/* A counter family of a node chunk, for the checks of a step. */
struct family {
        const char *metric;
        size_t offset;
        int energy; /* in J, so bounded by --max-watts */
        int summed; /* series are parts (methods) of one node figure */
};

static const struct family families[] = {
    {"carbonledger_node_energy_joules_total",
     offsetof(struct node_chunk, energy), 1, 1},
    {"carbonledger_node_idle_joules_total", offsetof(struct node_chunk, idle),
     1, 1},
    {"carbonledger_node_sampled_seconds_total",
     offsetof(struct node_chunk, sampled), 0, 0},
    {"carbonledger_node_gap_seconds_total", offsetof(struct node_chunk, gap), 0,
     0},
    {"carbonledger_node_scaled_intervals_total",
     offsetof(struct node_chunk, scaled), 0, 0},
    {"kepler_pod_cpu_joules_total", offsetof(struct node_chunk, pods), 1, 0},
    {"carbonledger_pod_cpu_seconds_total", offsetof(struct node_chunk, pod_cpu),
     0, 0},
};

/*
 * Checks the counters of step k, which starts at t0. Returns 0 when they
 * can be stored, else 1 with the text in reason: a value that is present
 * but negative, not finite or above COUNTER_MAX, or an energy increase
 * (one counter, or the node's methods together) above max_j.
 */
static int
step_rejected(const struct node_chunk *c, size_t k, int64_t t0, int64_t step_ns,
              double max_j, char *reason, size_t size)
{
        char at[32];

        for (size_t f = 0; f < sizeof(families) / sizeof(*families); f++) {
                const struct counters *set =
                    (const struct counters *)((const char *)c +
                                              families[f].offset);
                double sum = 0;

                for (size_t i = 0; i < set->n; i++) {
                        const double *v = set->items[i].values;
                        double inc;

                        for (size_t p = k - 1; p <= k; p++) {
                                if (isnan(v[p]) || counter_valid(v[p]))
                                        continue;
                                cl_format_utc(t0 + (int64_t)(p - (k - 1)) *
                                                       step_ns,
                                              at, sizeof(at));
                                snprintf(reason, size,
                                         "invalid Prometheus counter: %s is "
                                         "%g at %s (negative, not finite or "
                                         "above %g)",
                                         families[f].metric, v[p], at,
                                         COUNTER_MAX);
                                return 1;
                        }
                        inc = increase(v, k);
                        if (!families[f].energy || isnan(inc))
                                continue;
                        sum = families[f].summed ? sum + inc : inc;
                        if (sum <= max_j)
                                continue;
                        cl_format_utc(t0, at, sizeof(at));
                        snprintf(reason, size,
                                 "implausible Prometheus counter: %s rose "
                                 "by %.6g J in the %lld s from %s, above "
                                 "--max-watts x step (%.6g J)",
                                 families[f].metric, sum,
                                 (long long)(step_ns / CL_NS_PER_S), at, max_j);
                        return 1;
                }
        }
        return 0;
}

/* Writes the samples of step k (grid points k - 1 and k). */
static cl_err
write_step(struct writer *w, const struct node_chunk *c, size_t k, int64_t t0,
           int64_t step_ns, double max_watts)
{
        const char *method = "measured";
        int64_t split[4], sample_id = 0, ok_ns, gap_ns, pods_uj = 0;
        int known, known_x;
        double energy, idle, sampled, gap, scaled;
        char reason[512];
        cl_err rc = CL_OK;

        if (step_rejected(c, k, t0, step_ns, max_watts * (double)step_ns / 1e9,
                          reason, sizeof(reason))) {
                memset(split, 0, sizeof(split));
                w->rejected++;
                cl_warn("prometheus_step_rejected", "node=%s error=\"%s\"",
                        w->node, reason);
                return insert_sample(w, t0, t0 + step_ns, 0, method, split, 0,
                                     reason, &sample_id);
        }
        energy = sum_increase(&c->energy, k, &known, &method);
        if (!known)
                return CL_OK;
        idle = sum_increase(&c->idle, k, &known_x, NULL);
        sampled = sum_increase(&c->sampled, k, &known_x, NULL);
        gap = sum_increase(&c->gap, k, &known_x, NULL);
        scaled = sum_increase(&c->scaled, k, &known_x, NULL);
        ok_ns = nanos_capped(sampled, step_ns);
        gap_ns = nanos_capped(gap, step_ns - ok_ns);
        /* Energy without sampled time: the step's counters disagree, so
           the energy is kept and spread over the step. */
        if (ok_ns <= 0 && micro(energy) > 0)
                ok_ns = step_ns - gap_ns;
        if (ok_ns > 0) {
                split[0] = micro(energy);
                split[1] = micro(idle);
                split[3] = pods_increase(c, k);
                split[2] = split[0] - split[1] - split[3];
                if (split[2] < 0)
                        split[2] = 0;
                rc = insert_sample(w, t0, t0 + ok_ns, 1, method, split,
                                   scaled > 0, NULL, &sample_id);
                if (rc == CL_OK)
                        rc = write_pod_rows(w, c, k, sample_id, &pods_uj);
        }
        if (rc == CL_OK && gap_ns > 0) {
                memset(split, 0, sizeof(split));
                rc = insert_sample(w, t0 + ok_ns, t0 + ok_ns + gap_ns, 0,
                                   method, split, 0, NULL, &sample_id);
        }
        return rc;
}

/* Rejects a node whose own collector stored samples in the period. */
static cl_err
check_no_collector_rows(struct writer *w, const char *node,
                        const struct import_options *o)
{
        sqlite3_stmt *st = NULL;
        int64_t n = 0;
        cl_err rc;

        rc = cl_db_prepare(w->db,
                           "SELECT count(*) FROM sample WHERE node_id = ?1 "
                           "AND source != 'prometheus' AND end_ns > ?2 AND "
                           "coalesce(start_ns, end_ns) < ?3",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, w->node_id);
        sqlite3_bind_int64(st, 2, o->from_ns);
        sqlite3_bind_int64(st, 3, o->to_ns);
        if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (n > 0)
                return cl_fail(CL_EINVAL,
                               "node %s already has %lld samples of its own "
                               "collector in the period; importing would "
                               "count its energy twice (import into a "
                               "database without them)",
                               node, (long long)n);
        return CL_OK;
}

/* Deletes the samples an earlier import stored for the node in the period. */
static cl_err
delete_previous(struct writer *w, const struct import_options *o)
{
        static const char *const sql[] = {
            "DELETE FROM pod_sample WHERE sample_id IN (SELECT sample_id FROM "
            "sample WHERE node_id = ?1 AND source = 'prometheus' AND end_ns "
            "> ?2 AND start_ns < ?3)",
            "DELETE FROM sample WHERE node_id = ?1 AND source = 'prometheus' "
            "AND end_ns > ?2 AND start_ns < ?3",
        };
        cl_err rc = CL_OK;

        for (size_t i = 0; rc == CL_OK && i < 2; i++) {
                sqlite3_stmt *st = NULL;

                rc = cl_db_prepare(w->db, sql[i], &st);
                if (rc != CL_OK)
                        break;
                sqlite3_bind_int64(st, 1, w->node_id);
                sqlite3_bind_int64(st, 2, o->from_ns);
                sqlite3_bind_int64(st, 3, o->to_ns);
                if (sqlite3_step(st) != SQLITE_DONE)
                        rc = cl_db_fail(w->db, "delete earlier import");
                sqlite3_finalize(st);
        }
        return rc;
}

static cl_err
import_node(struct writer *w, const struct import_options *o, const char *node)
{
        int64_t total = (o->to_ns - o->from_ns) / o->step_ns;
        cl_err rc;

        w->node = node;
        rc = cl_db_node_id(w->db, node, &w->node_id);
        if (rc == CL_OK)
                rc = check_no_collector_rows(w, node, o);
        if (rc == CL_OK)
                rc = delete_previous(w, o);
        /* Chunks share their edge point, so no step is lost between them. */
        for (int64_t first = 0; rc == CL_OK && first < total;
             first += CL_PROM_MAX_POINTS) {
                int64_t steps = total - first < CL_PROM_MAX_POINTS
                                    ? total - first
                                    : CL_PROM_MAX_POINTS;
                int64_t start = o->from_ns + first * o->step_ns;
                struct node_chunk c;

                rc = fetch_node_chunk(o, node, start, (size_t)steps + 1, &c);
                if (rc != CL_OK)
                        break;
                rc = pod_ids(w, &c.pods);
                for (int64_t k = 1; rc == CL_OK && k <= steps; k++)
                        rc = write_step(w, &c, (size_t)k,
                                        start + (k - 1) * o->step_ns,
                                        o->step_ns, o->max_watts);
                node_chunk_free(&c);
        }
        return rc;
}

/* Removes the database file db_path and its journals, which this run created.
 */
static void
remove_created(const char *db_path)
{
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        char path[4096];

        for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
                if (snprintf(path, sizeof(path), "%s%s", db_path,
                             suffixes[i]) >= (int)sizeof(path))
                        continue;
                if (unlink(path) != 0 && errno != ENOENT)
                        cl_warn("import_cleanup_failed", "path=%s error=\"%s\"",
                                path, strerror(errno));
        }
}

static cl_err
run_import(const struct import_options *o, size_t *n_nodes, size_t *samples,
           size_t *pod_rows, size_t *rejected)
{
        struct writer w;
        sqlite3 *db = NULL;
        char **nodes = NULL;
        size_t n = 0;
        int writer_ready = 0, created = 0;
        cl_err rc;

        rc = cl_prom_label_values(o->url, "node_name",
                                  "carbonledger_node_energy_joules_total",
                                  o->from_ns, o->to_ns, &nodes, &n);
        if (rc != CL_OK)
                goto out;
        if (n == 0) {
                rc = cl_fail(CL_ENOTFOUND,
                             "no carbonledger_node_energy_joules_total "
                             "series at %s in the period; is Prometheus "
                             "scraping the collectors' --metrics-listen?",
                             o->url);
                goto out;
        }
        created = access(o->db, F_OK) != 0 && errno == ENOENT;
        rc = cl_db_open(o->db, CL_DB_CREATE, &db);
        if (rc == CL_OK)
                rc = writer_open(db, &w);
        writer_ready = rc == CL_OK;
        if (rc == CL_OK)
                rc = cl_db_exec(db, "BEGIN IMMEDIATE");
        for (size_t i = 0; rc == CL_OK && i < n; i++) {
                rc = import_node(&w, o, nodes[i]);
                if (rc == CL_OK)
                        cl_info("node_imported", "node=%s samples=%zu",
                                nodes[i], w.samples);
        }
        if (rc == CL_OK)
                rc = cl_db_exec(db, "COMMIT");
        else if (writer_ready) {
                char saved[1024];

                snprintf(saved, sizeof(saved), "%s", cl_last_error());
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                cl_fail(rc, "%s", saved);
        }
        *n_nodes = n;
        if (writer_ready) {
                *samples = w.samples;
                *pod_rows = w.pod_rows;
                *rejected = w.rejected;
                writer_close(&w);
        }
out:
        for (size_t i = 0; i < n; i++)
                free(nodes[i]);
        free(nodes);
        cl_db_close(db);
        /* A failed import leaves no database file that it created. */
        if (rc != CL_OK && created)
                remove_created(o->db);
        return rc;
}

static const char import_usage[] =
    "Usage: carbonledger import prometheus --db PATH --url URL\n"
    "           --from START --to END [--step SECONDS] [--max-watts W]\n"
    "\n"
    "Stores the increases of every node's carbonledger-collector counters,\n"
    "read from the Prometheus HTTP API at URL (for example\n"
    "http://127.0.0.1:9090), as samples in PATH (created when missing).\n"
    "START and END are KST dates (YYYY-MM-DD: from the start of START's\n"
    "day to the end of END's day) or ISO 8601 times with an offset.\n"
    "--step sets the length of one imported interval (default 60 s).\n"
    "--max-watts sets the highest plausible power of a node or pod, in W\n"
    "(default 2000, as the collector's --kepler-max-watts): a step whose\n"
    "energy increase is above step x W, or whose counters are negative,\n"
    "not finite or above 9e12, is stored as a gap with the reason.\n";

static int
parse_bound(const char *text, int end, int64_t *out)
{
        int y, m, d;

        if (strlen(text) == 10 && cl_parse_date(text, &y, &m, &d) == CL_OK) {
                *out = cl_kst_day_start_ns(y, m, d) + (end ? CL_NS_PER_DAY : 0);
                return 0;
        }
        return cl_parse_iso8601(text, out) == CL_OK ? 0 : -1;
}

static int
usage_error(const char *what, const char *value)
{
        fprintf(stderr, "carbonledger: import prometheus: %s%s%s\n%s", what,
                value != NULL ? ": " : "", value != NULL ? value : "",
                import_usage);
        return 2;
}

/* Parses the options; returns -1 to print help, 0 to run, else 2. */
static int
parse_import_options(int argc, char **argv, struct import_options *o)
{
        static const struct option opts[] = {
            {"db", required_argument, NULL, 'd'},
            {"url", required_argument, NULL, 'u'},
            {"from", required_argument, NULL, 'f'},
            {"to", required_argument, NULL, 't'},
            {"step", required_argument, NULL, 's'},
            {"max-watts", required_argument, NULL, 'w'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        long step_s = DEFAULT_STEP_S;
        char *end;
        int opt;

        memset(o, 0, sizeof(*o));
        o->max_watts = DEFAULT_MAX_WATTS;
        opterr = 0;
        optind = 1;
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (opt) {
                case 'd':
                        o->db = optarg;
                        break;
                case 'u':
                        o->url = optarg;
                        break;
                case 'f':
                        o->from = optarg;
                        break;
                case 't':
                        o->to = optarg;
                        break;
                case 's':
                        errno = 0;
                        step_s = strtol(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end != '\0' ||
                            step_s < 1 || step_s > 86400)
                                return usage_error("invalid --step (whole "
                                                   "seconds, 1 to 86400)",
                                                   optarg);
                        break;
                case 'w':
                        errno = 0;
                        o->max_watts = strtod(optarg, &end);
                        if (errno != 0 || end == optarg || *end != '\0' ||
                            !(o->max_watts > 0) || o->max_watts > 1e6)
                                return usage_error("invalid --max-watts (W, "
                                                   "above 0, at most 1e6)",
                                                   optarg);
                        break;
                case 'h':
                        return -1;
                default:
                        return usage_error("unknown or incomplete option",
                                           argv[optind - 1]);
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument", argv[optind]);
        if (o->db == NULL || o->url == NULL || o->from == NULL || o->to == NULL)
                return usage_error("--db, --url, --from and --to are required",
                                   NULL);
        if (parse_bound(o->from, 0, &o->from_ns) != 0)
                return usage_error("invalid --from", o->from);
        if (parse_bound(o->to, 1, &o->to_ns) != 0)
                return usage_error("invalid --to", o->to);
        o->step_ns = (int64_t)step_s * CL_NS_PER_S;
        if (o->to_ns <= o->from_ns)
                return usage_error("--to is not after --from", o->to);
        if (o->to_ns - o->from_ns < o->step_ns)
                return usage_error("the period is shorter than one --step",
                                   NULL);
        /* The grid ends at the last whole step within the period. */
        o->to_ns =
            o->from_ns + (o->to_ns - o->from_ns) / o->step_ns * o->step_ns;
        return 0;
}

int
cl_cmd_import_prometheus(int argc, char **argv)
{
        struct import_options o;
        size_t nodes = 0, samples = 0, pod_rows = 0, rejected = 0;
        int parsed = parse_import_options(argc, argv, &o);
        cl_err rc;

        if (parsed < 0) {
                fputs(import_usage, stdout);
                return 0;
        }
        if (parsed != 0)
                return parsed;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
                fputs("carbonledger: libcurl initialisation failed\n", stderr);
                return 1;
        }
        rc = run_import(&o, &nodes, &samples, &pod_rows, &rejected);
        curl_global_cleanup();
        if (rc != CL_OK) {
                fprintf(stderr,
                        "carbonledger: import prometheus failed, nothing "
                        "stored: %s\n",
                        cl_last_error());
                return 1;
        }
        printf("imported %zu nodes: %zu samples, %zu pod rows from %s\n", nodes,
               samples, pod_rows, o.url);
        if (rejected > 0)
                printf("%zu steps stored as gaps: their counters were "
                       "invalid or implausible (see the samples' "
                       "gap_reason)\n",
                       rejected);
        return 0;
}
