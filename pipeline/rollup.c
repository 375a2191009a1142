/*
 * Hourly rollups, retention and rollup-based period reports (see
 * rollup.h). Rolling up a day is one pass over its samples joined with
 * their pod rows, like the daily aggregation, with every interval split
 * at clock hours pro rata by time in integer microjoules. Memory is one
 * accumulator per node-hour and per pod-hour of the day.
 */
#include "rollup.h"

#include "aggregate.h"
#include "db.h"
#include "log.h"
#include "run.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOURS_PER_DAY 24

struct node_hour {
        int64_t energy_uj, idle_uj, pods_uj, measured_uj, estimated_uj;
        int64_t sampled_ns, gap_ns;
        int intervals, gaps, scaled, measured_n, estimated_n;
        double peak_w, model_idle_w, model_max_w;
        int used;
};

struct pod_hour {
        int64_t energy_uj, cpu_us, run_ns, first_ns, last_ns;
        double peak_w;
        int measured_n, estimated_n;
        int used;
};

struct day_acc {
        int64_t start_ns;
        int64_t *node_ids;
        struct node_hour *nodes; /* n_nodes x 24 */
        size_t n_nodes;
        int64_t *pod_ids;
        struct pod_hour *pods; /* n_pods x 24 */
        size_t n_pods, cap_pods;
        size_t last_pod; /* index hint: rows come ordered by pod */
};

static size_t
node_slot(struct day_acc *a, int64_t node_id)
{
        for (size_t i = 0; i < a->n_nodes; i++)
                if (a->node_ids[i] == node_id)
                        return i;
        return a->n_nodes;
}

static cl_err
load_day_nodes(sqlite3 *db, struct day_acc *a)
{
        sqlite3_stmt *st = NULL;
        size_t n = 0;
        cl_err rc;

        rc = cl_db_prepare(db, "SELECT count(*) FROM node", &st);
        if (rc != CL_OK)
                return rc;
        if (sqlite3_step(st) == SQLITE_ROW)
                n = (size_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        a->node_ids = calloc(n + 1, sizeof(*a->node_ids));
        a->nodes = calloc((n + 1) * HOURS_PER_DAY, sizeof(*a->nodes));
        if (a->node_ids == NULL || a->nodes == NULL)
                return cl_fail(CL_ENOMEM, "rollup of %zu nodes", n);
        rc = cl_db_prepare(db, "SELECT node_id FROM node", &st);
        if (rc != CL_OK)
                return rc;
        while (a->n_nodes < n && sqlite3_step(st) == SQLITE_ROW)
                a->node_ids[a->n_nodes++] = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return CL_OK;
}

static struct pod_hour *
pod_hours(struct day_acc *a, int64_t pod_id)
{
        if (a->last_pod < a->n_pods && a->pod_ids[a->last_pod] == pod_id)
                return &a->pods[a->last_pod * HOURS_PER_DAY];
        for (size_t i = 0; i < a->n_pods; i++)
                if (a->pod_ids[i] == pod_id) {
                        a->last_pod = i;
                        return &a->pods[i * HOURS_PER_DAY];
                }
        if (a->n_pods == a->cap_pods) {
                size_t ncap = a->cap_pods ? a->cap_pods * 2 : 256;
                int64_t *ids = realloc(a->pod_ids, ncap * sizeof(*ids));
                struct pod_hour *hours;

                if (ids == NULL)
                        return NULL;
                a->pod_ids = ids;
                hours = realloc(a->pods, ncap * HOURS_PER_DAY * sizeof(*hours));
                if (hours == NULL)
                        return NULL;
                memset(hours + a->cap_pods * HOURS_PER_DAY, 0,
                       (ncap - a->cap_pods) * HOURS_PER_DAY * sizeof(*hours));
                a->pods = hours;
                a->cap_pods = ncap;
        }
        a->pod_ids[a->n_pods] = pod_id;
        a->last_pod = a->n_pods;
        return &a->pods[a->n_pods++ * HOURS_PER_DAY];
}

/* The sample a joined row belongs to. */
struct part {
        int64_t sample_id;
        size_t node;
        int64_t start_ns, end_ns, lo, hi;
        int ok, measured;
};

static double
power_w(int64_t energy_uj, int64_t dur_ns)
{
        return dur_ns > 0 ? (double)energy_uj / 1e6 / ((double)dur_ns / 1e9)
                          : 0.0;
}

static void
add_node_sample(struct day_acc *a, const struct part *s, sqlite3_stmt *st)
{
        int64_t dur = s->end_ns - s->start_ns;
        int64_t energy = sqlite3_column_int64(st, 6);
        int64_t idle = sqlite3_column_int64(st, 7);
        double peak = power_w(energy, dur);
        int64_t t = s->lo;

        while (t < s->hi) {
                int h = (int)((t - a->start_ns) / CL_NS_PER_HOUR);
                int64_t seg = a->start_ns + (int64_t)(h + 1) * CL_NS_PER_HOUR;
                struct node_hour *n;
                int64_t part, e;

                if (seg > s->hi)
                        seg = s->hi;
                part = seg - t;
                if (h < 0 || h >= HOURS_PER_DAY)
                        break;
                n = &a->nodes[s->node * HOURS_PER_DAY + (size_t)h];
                n->used = 1;
                if (!s->ok) {
                        n->gap_ns += part;
                        if (seg == s->hi)
                                n->gaps++;
                        t = seg;
                        continue;
                }
                e = cl_pro_rata(energy, part, dur);
                n->energy_uj += e;
                n->idle_uj += cl_pro_rata(idle, part, dur);
                n->sampled_ns += part;
                if (s->measured) {
                        n->measured_uj += e;
                        n->measured_n++;
                } else {
                        n->estimated_uj += e;
                        n->estimated_n++;
                        n->model_idle_w = sqlite3_column_double(st, 9);
                        n->model_max_w = sqlite3_column_double(st, 10);
                }
                if (seg == s->hi) {
                        n->intervals++;
                        n->scaled += sqlite3_column_int(st, 8) != 0;
                }
                if (peak > n->peak_w)
                        n->peak_w = peak;
                t = seg;
        }
}

static cl_err
add_pod_row(struct day_acc *a, const struct part *s, sqlite3_stmt *st)
{
        int64_t dur = s->end_ns - s->start_ns;
        struct pod_hour *hours = pod_hours(a, sqlite3_column_int64(st, 11));
        int has_energy = sqlite3_column_type(st, 13) != SQLITE_NULL;
        int64_t energy = sqlite3_column_int64(st, 13);
        int64_t cpu = sqlite3_column_int64(st, 12);
        int64_t t = s->lo;

        if (hours == NULL)
                return cl_fail(CL_ENOMEM, "pod rollup");
        while (t < s->hi) {
                int h = (int)((t - a->start_ns) / CL_NS_PER_HOUR);
                int64_t seg = a->start_ns + (int64_t)(h + 1) * CL_NS_PER_HOUR;
                struct pod_hour *p;

                if (seg > s->hi)
                        seg = s->hi;
                if (h < 0 || h >= HOURS_PER_DAY)
                        break;
                p = &hours[h];
                if (!p->used) {
                        p->used = 1;
                        p->first_ns = t;
                }
                p->last_ns = seg;
                if (s->ok && has_energy) {
                        p->energy_uj += cl_pro_rata(energy, seg - t, dur);
                        p->cpu_us += cl_pro_rata(cpu, seg - t, dur);
                        p->run_ns += seg - t;
                        if (s->measured)
                                p->measured_n++;
                        else
                                p->estimated_n++;
                        if (power_w(energy, dur) > p->peak_w)
                                p->peak_w = power_w(energy, dur);
                }
                t = seg;
        }
        return CL_OK;
}

static const char day_scan_sql[] =
    "SELECT s.sample_id, s.node_id, s.start_ns, s.end_ns, s.status, "
    "s.method, s.energy_uj, s.idle_uj, s.pods_scaled, s.model_idle_w, "
    "s.model_max_w, p.pod_id, p.cpu_us, p.energy_uj "
    "FROM sample s LEFT JOIN pod_sample p ON p.sample_id = s.sample_id "
    "WHERE s.end_ns > ?1 AND s.start_ns < ?2 AND s.status != 'baseline' "
    "AND s.sample_id > ?3 ORDER BY s.sample_id";

/* Scans the day's samples above after_id (0: all of them). */
static cl_err
scan_day(sqlite3 *db, struct day_acc *a, int64_t after_id)
{
        struct part s = {.sample_id = -1};
        int64_t end = a->start_ns + CL_NS_PER_DAY;
        sqlite3_stmt *st = NULL;
        cl_err rc;
        int step;

        rc = cl_db_prepare(db, day_scan_sql, &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, a->start_ns);
        sqlite3_bind_int64(st, 2, end);
        sqlite3_bind_int64(st, 3, after_id);
        while (rc == CL_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
                int64_t id = sqlite3_column_int64(st, 0);

                if (id != s.sample_id) {
                        s.sample_id = id;
                        s.node = node_slot(a, sqlite3_column_int64(st, 1));
                        s.start_ns = sqlite3_column_int64(st, 2);
                        s.end_ns = sqlite3_column_int64(st, 3);
                        s.lo =
                            s.start_ns > a->start_ns ? s.start_ns : a->start_ns;
                        s.hi = s.end_ns < end ? s.end_ns : end;
                        s.ok = strcmp((const char *)sqlite3_column_text(st, 4),
                                      "ok") == 0;
                        s.measured =
                            strcmp((const char *)sqlite3_column_text(st, 5),
                                   "measured") == 0;
                        if (s.node < a->n_nodes && s.hi > s.lo)
                                add_node_sample(a, &s, st);
                }
                if (s.node >= a->n_nodes || s.hi <= s.lo ||
                    sqlite3_column_type(st, 11) == SQLITE_NULL)
                        continue;
                rc = add_pod_row(a, &s, st);
        }
        if (rc == CL_OK && step != SQLITE_DONE)
                rc = cl_db_fail(db, "read samples for the rollup");
        sqlite3_finalize(st);
        return rc;
}

static cl_err
delete_day(sqlite3 *db, int64_t day_start)
{
        static const char *const sql[] = {
            "DELETE FROM rollup_node_hour WHERE hour_start_ns >= ?1 AND "
            "hour_start_ns < ?2",
            "DELETE FROM rollup_pod_hour WHERE hour_start_ns >= ?1 AND "
            "hour_start_ns < ?2",
        };
        cl_err rc = CL_OK;

        for (size_t i = 0; rc == CL_OK && i < 2; i++) {
                sqlite3_stmt *st = NULL;

                rc = cl_db_prepare(db, sql[i], &st);
                if (rc != CL_OK)
                        break;
                sqlite3_bind_int64(st, 1, day_start);
                sqlite3_bind_int64(st, 2, day_start + CL_NS_PER_DAY);
                if (sqlite3_step(st) != SQLITE_DONE)
                        rc = cl_db_fail(db, "delete earlier rollup");
                sqlite3_finalize(st);
        }
        return rc;
}

static cl_err
write_nodes(sqlite3 *db, const struct day_acc *a, size_t *rows)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(
            db,
            "INSERT INTO rollup_node_hour VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
            "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) ON CONFLICT "
            "DO UPDATE SET energy_uj = energy_uj + excluded.energy_uj, "
            "idle_uj = idle_uj + excluded.idle_uj, pods_uj = pods_uj + "
            "excluded.pods_uj, measured_uj = measured_uj + "
            "excluded.measured_uj, estimated_uj = estimated_uj + "
            "excluded.estimated_uj, sampled_ns = sampled_ns + "
            "excluded.sampled_ns, gap_ns = gap_ns + excluded.gap_ns, "
            "intervals = intervals + excluded.intervals, gaps = gaps + "
            "excluded.gaps, scaled_intervals = scaled_intervals + "
            "excluded.scaled_intervals, measured_n = measured_n + "
            "excluded.measured_n, estimated_n = estimated_n + "
            "excluded.estimated_n, peak_w = max(peak_w, excluded.peak_w), "
            "model_idle_w = coalesce(excluded.model_idle_w, model_idle_w), "
            "model_max_w = coalesce(excluded.model_max_w, model_max_w)",
            &st);
        for (size_t i = 0; rc == CL_OK && i < a->n_nodes; i++)
                for (int h = 0; rc == CL_OK && h < HOURS_PER_DAY; h++) {
                        const struct node_hour *n =
                            &a->nodes[i * HOURS_PER_DAY + (size_t)h];

                        if (!n->used)
                                continue;
                        sqlite3_reset(st);
                        sqlite3_bind_int64(st, 1, a->node_ids[i]);
                        sqlite3_bind_int64(
                            st, 2, a->start_ns + (int64_t)h * CL_NS_PER_HOUR);
                        sqlite3_bind_int64(st, 3, n->energy_uj);
                        sqlite3_bind_int64(st, 4, n->idle_uj);
                        sqlite3_bind_int64(st, 5, n->pods_uj);
                        sqlite3_bind_int64(st, 6, n->measured_uj);
                        sqlite3_bind_int64(st, 7, n->estimated_uj);
                        sqlite3_bind_int64(st, 8, n->sampled_ns);
                        sqlite3_bind_int64(st, 9, n->gap_ns);
                        sqlite3_bind_int(st, 10, n->intervals);
                        sqlite3_bind_int(st, 11, n->gaps);
                        sqlite3_bind_int(st, 12, n->scaled);
                        sqlite3_bind_int(st, 13, n->measured_n);
                        sqlite3_bind_int(st, 14, n->estimated_n);
                        sqlite3_bind_double(st, 15, n->peak_w);
                        if (n->estimated_n > 0) {
                                sqlite3_bind_double(st, 16, n->model_idle_w);
                                sqlite3_bind_double(st, 17, n->model_max_w);
                        } else {
                                sqlite3_bind_null(st, 16);
                                sqlite3_bind_null(st, 17);
                        }
                        if (sqlite3_step(st) != SQLITE_DONE)
                                rc = cl_db_fail(db, "store node rollup");
                        (*rows)++;
                }
        sqlite3_finalize(st);
        return rc;
}

static cl_err
write_pods(sqlite3 *db, const struct day_acc *a, size_t *rows)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(db,
                           "INSERT INTO rollup_pod_hour VALUES (?1, ?2, ?3, "
                           "?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO "
                           "UPDATE SET energy_uj = energy_uj + "
                           "excluded.energy_uj, cpu_us = cpu_us + "
                           "excluded.cpu_us, run_ns = run_ns + "
                           "excluded.run_ns, first_ns = min(first_ns, "
                           "excluded.first_ns), last_ns = max(last_ns, "
                           "excluded.last_ns), peak_w = max(peak_w, "
                           "excluded.peak_w), measured_n = measured_n + "
                           "excluded.measured_n, estimated_n = estimated_n "
                           "+ excluded.estimated_n",
                           &st);
        for (size_t i = 0; rc == CL_OK && i < a->n_pods; i++)
                for (int h = 0; rc == CL_OK && h < HOURS_PER_DAY; h++) {
                        const struct pod_hour *p =
                            &a->pods[i * HOURS_PER_DAY + (size_t)h];

                        if (!p->used)
                                continue;
                        sqlite3_reset(st);
                        sqlite3_bind_int64(st, 1, a->pod_ids[i]);
                        sqlite3_bind_int64(
                            st, 2, a->start_ns + (int64_t)h * CL_NS_PER_HOUR);
                        sqlite3_bind_int64(st, 3, p->energy_uj);
                        sqlite3_bind_int64(st, 4, p->cpu_us);
                        sqlite3_bind_int64(st, 5, p->run_ns);
                        sqlite3_bind_int64(st, 6, p->first_ns);
                        sqlite3_bind_int64(st, 7, p->last_ns);
                        sqlite3_bind_double(st, 8, p->peak_w);
                        sqlite3_bind_int(st, 9, p->measured_n);
                        sqlite3_bind_int(st, 10, p->estimated_n);
                        if (sqlite3_step(st) != SQLITE_DONE)
                                rc = cl_db_fail(db, "store pod rollup");
                        (*rows)++;
                }
        sqlite3_finalize(st);
        return rc;
}

/* Adds the pods' energy of each hour to their node's hour. */
static cl_err
sum_pods_into_nodes(sqlite3 *db, struct day_acc *a)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc =
            cl_db_prepare(db, "SELECT node_id FROM pod WHERE pod_id = ?1", &st);
        for (size_t i = 0; rc == CL_OK && i < a->n_pods; i++) {
                size_t node;

                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, a->pod_ids[i]);
                if (sqlite3_step(st) != SQLITE_ROW)
                        continue;
                node = node_slot(a, sqlite3_column_int64(st, 0));
                if (node >= a->n_nodes)
                        continue;
                for (int h = 0; h < HOURS_PER_DAY; h++)
                        a->nodes[node * HOURS_PER_DAY + (size_t)h].pods_uj +=
                            a->pods[i * HOURS_PER_DAY + (size_t)h].energy_uj;
        }
        sqlite3_finalize(st);
        return rc;
}

static cl_err
mark_day(sqlite3 *db, int64_t day_start)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(db,
                           "INSERT INTO rollup_day (day_start_ns, "
                           "max_sample_id, rolled_ns) VALUES (?1, (SELECT "
                           "coalesce(max(sample_id), 0) FROM sample), ?2) "
                           "ON CONFLICT DO UPDATE SET max_sample_id = "
                           "excluded.max_sample_id, rolled_ns = "
                           "excluded.rolled_ns",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, day_start);
        sqlite3_bind_int64(st, 2, cl_now_ns());
        if (sqlite3_step(st) != SQLITE_DONE)
                rc = cl_db_fail(db, "record rolled-up day");
        sqlite3_finalize(st);
        return rc;
}

/*
 * Sets *after_id to the day's max_sample_id when retention deleted samples
 * of it (the rollup is then only added to), else to 0.
 * NOTE: samples that replace older ones of such a day (import prometheus
 * of the same period again) are added on top, so they count twice.
 */
static cl_err
pruned_after(sqlite3 *db, int64_t day_start, int64_t *after_id)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        *after_id = 0;
        rc = cl_db_prepare(db,
                           "SELECT max_sample_id FROM rollup_day WHERE "
                           "day_start_ns = ?1 AND raw_deleted = 1",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, day_start);
        if (sqlite3_step(st) == SQLITE_ROW)
                *after_id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return CL_OK;
}

/* Rolls up one day inside the caller's transaction. */
static cl_err
rollup_day_locked(sqlite3 *db, int64_t day_start, size_t *rows)
{
        struct day_acc a;
        int64_t after_id = 0;
        cl_err rc;

        memset(&a, 0, sizeof(a));
        a.start_ns = day_start;
        rc = pruned_after(db, day_start, &after_id);
        if (rc == CL_OK)
                rc = load_day_nodes(db, &a);
        if (rc == CL_OK)
                rc = scan_day(db, &a, after_id);
        if (rc == CL_OK)
                rc = sum_pods_into_nodes(db, &a);
        if (rc == CL_OK && after_id == 0)
                rc = delete_day(db, day_start);
        if (rc == CL_OK)
                rc = write_nodes(db, &a, rows);
        if (rc == CL_OK)
                rc = write_pods(db, &a, rows);
        if (rc == CL_OK)
                rc = mark_day(db, day_start);
        free(a.node_ids);
        free(a.nodes);
        free(a.pod_ids);
        free(a.pods);
        return rc;
}

cl_err
cl_rollup_day(sqlite3 *db, int64_t day_start_ns)
{
        size_t rows = 0;
        cl_err rc;

        rc = cl_db_exec(db, "BEGIN IMMEDIATE");
        if (rc != CL_OK)
                return rc;
        rc = rollup_day_locked(db, day_start_ns, &rows);
        if (rc == CL_OK)
                rc = cl_db_exec(db, "COMMIT");
        if (rc != CL_OK)
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
}

/* KST day start of t, in SQL: the samples' days for retention. */
#define SQL_DAY(t)                                                             \
        "((" t " + 32400000000000) / 86400000000000 * 86400000000000 - "       \
        "32400000000000)"

/*
 * Samples deletable under retention: before ?1, in rolled-up days, and not
 * the newest sample, which stays so that SQLite never hands out a deleted
 * sample_id again (rollup_day.max_sample_id relies on growing ids).
 */
#define DELETABLE_SQL                                                          \
        "SELECT s.sample_id FROM sample s WHERE s.end_ns <= ?1"                \
        " AND s.sample_id < (SELECT max(sample_id) FROM sample)"               \
        " AND EXISTS (SELECT 1 FROM rollup_day d WHERE d.day_start_ns "        \
        "= " SQL_DAY("s.end_ns - 1") " AND s.sample_id <= d.max_sample_id)"    \
                                     " AND (s.start_ns IS NULL OR EXISTS "     \
                                     "(SELECT 1 FROM rollup_day d"             \
                                     " WHERE d.day_start_ns = " SQL_DAY(       \
                                         "s.start_ns") " AND s.sample_id <= "  \
                                                       "d.max_sample_id))"

/* Rolls up the days of (from, cutoff] that are missing or outdated. */
static cl_err
rollup_stale_days(sqlite3 *db, int64_t from, int64_t cutoff, size_t *rows)
{
        sqlite3_stmt *st = NULL;
        int64_t *days = NULL;
        size_t n = 0, cap = 0;
        cl_err rc;

        rc = cl_db_prepare(
            db,
            "SELECT DISTINCT " SQL_DAY(
                "s.end_ns - 1") " AS day FROM sample s WHERE s.end_ns <= ?1 "
                                "AND s.end_ns > ?2 "
                                "AND s.status != 'baseline' AND NOT EXISTS "
                                "(SELECT 1 FROM rollup_day d WHERE "
                                "d.day_start_ns = " SQL_DAY(
                                    "s.end_ns - 1") " AND s.sample_id <= "
                                                    "d.max_sample_id)",
            &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, cutoff);
        sqlite3_bind_int64(st, 2, from);
        while (rc == CL_OK && sqlite3_step(st) == SQLITE_ROW) {
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        int64_t *grown = realloc(days, ncap * sizeof(*days));

                        if (grown == NULL) {
                                rc = cl_fail(CL_ENOMEM, "days to roll up");
                                break;
                        }
                        days = grown;
                        cap = ncap;
                }
                days[n++] = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
        for (size_t i = 0; rc == CL_OK && i < n; i++)
                rc = rollup_day_locked(db, days[i], rows);
        free(days);
        return rc;
}

/* Marks the rolled-up days that retention is about to delete from. */
static cl_err
mark_pruned(sqlite3 *db, int64_t cutoff)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(db,
                           "UPDATE rollup_day SET raw_deleted = 1 WHERE "
                           "day_start_ns IN (SELECT " SQL_DAY(
                               "s.end_ns - 1") " FROM sample s WHERE "
                                               "s.sample_id IN "
                                               "(" DELETABLE_SQL "))",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, cutoff);
        if (sqlite3_step(st) != SQLITE_DONE)
                rc = cl_db_fail(db, "mark days past retention");
        sqlite3_finalize(st);
        return rc;
}

static cl_err
apply_retention(sqlite3 *db, int retention_days, int64_t now_ns, size_t *rows,
                int *deleted)
{
        static const char *const sql[] = {
            "DELETE FROM pod_sample WHERE sample_id IN (" DELETABLE_SQL ")",
            "DELETE FROM zone_sample WHERE sample_id IN (" DELETABLE_SQL ")",
            "DELETE FROM sample WHERE sample_id IN (" DELETABLE_SQL ")",
        };
        int64_t today = (now_ns + CL_KST_OFFSET_NS) / CL_NS_PER_DAY;
        int64_t cutoff =
            (today - retention_days) * CL_NS_PER_DAY - CL_KST_OFFSET_NS;
        cl_err rc;

        rc = rollup_stale_days(db, INT64_MIN, cutoff, rows);
        if (rc == CL_OK)
                rc = mark_pruned(db, cutoff);
        for (size_t i = 0; rc == CL_OK && i < 3; i++) {
                sqlite3_stmt *st = NULL;

                rc = cl_db_prepare(db, sql[i], &st);
                if (rc != CL_OK)
                        break;
                sqlite3_bind_int64(st, 1, cutoff);
                if (sqlite3_step(st) != SQLITE_DONE)
                        rc = cl_db_fail(db, "delete samples past retention");
                else if (i == 2)
                        *deleted = sqlite3_changes(db);
                sqlite3_finalize(st);
        }
        return rc;
}

cl_err
cl_rollup_nightly(sqlite3 *db, const char *date, int retention_days,
                  int64_t now_ns)
{
        size_t rows = 0;
        int y, m, d, deleted = 0;
        cl_err rc;

        rc = cl_parse_date(date, &y, &m, &d);
        if (rc != CL_OK)
                return rc;
        rc = cl_db_exec(db, "BEGIN IMMEDIATE");
        if (rc != CL_OK)
                return rc;
        rc = rollup_day_locked(db, cl_kst_day_start_ns(y, m, d), &rows);
        if (rc == CL_OK && retention_days > 0)
                rc = apply_retention(db, retention_days, now_ns, &rows,
                                     &deleted);
        if (rc == CL_OK)
                rc = cl_db_exec(db, "COMMIT");
        if (rc != CL_OK) {
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                return rc;
        }
        cl_info("rollup_written",
                "date=%s rows=%zu retention_days=%d samples_deleted=%d", date,
                rows, retention_days, deleted);
        return CL_OK;
}

/* Returns 1 when retention deleted raw samples of the day at day_start. */
static int
day_pruned(sqlite3 *db, int64_t day_start)
{
        sqlite3_stmt *st = NULL;
        int pruned = 0;

        if (cl_db_prepare(db,
                          "SELECT 1 FROM rollup_day WHERE day_start_ns = ?1 "
                          "AND raw_deleted = 1",
                          &st) != CL_OK)
                return 0;
        sqlite3_bind_int64(st, 1, day_start);
        pruned = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        return pruned;
}

int
cl_rollup_covers(sqlite3 *db, int64_t start_ns, int64_t end_ns)
{
        sqlite3_stmt *st = NULL;
        int64_t missing = -1;

        if (end_ns - start_ns < CL_NS_PER_DAY ||
            (end_ns - start_ns) % CL_NS_PER_DAY != 0 ||
            (start_ns + CL_KST_OFFSET_NS) % CL_NS_PER_DAY != 0)
                return 0;
        /* One day comes from its rollup only once its samples are gone. */
        if (end_ns - start_ns == CL_NS_PER_DAY && !day_pruned(db, start_ns))
                return 0;
        /* Covered: no interval ends in the period outside a rollup. The
           sample table has one row per node and interval, so this range
           scan is small next to the pod rows it saves reading. */
        if (cl_db_prepare(db,
                          "SELECT count(*) FROM sample s WHERE s.end_ns > ?1 "
                          "AND s.end_ns <= ?2 AND s.status != 'baseline' AND "
                          "NOT EXISTS (SELECT 1 FROM rollup_day d WHERE "
                          "d.day_start_ns = " SQL_DAY(
                              "s.end_ns - 1") " AND s.sample_id <= "
                                              "d.max_sample_id)",
                          &st) != CL_OK)
                return 0;
        sqlite3_bind_int64(st, 1, start_ns);
        sqlite3_bind_int64(st, 2, end_ns);
        if (sqlite3_step(st) == SQLITE_ROW)
                missing = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return missing == 0;
}

static const char node_sum_sql[] =
    "SELECT n.name, sum(r.energy_uj), sum(r.idle_uj), sum(r.measured_uj), "
    "sum(r.estimated_uj), sum(r.sampled_ns), sum(r.gap_ns), "
    "sum(r.intervals), sum(r.gaps), sum(r.scaled_intervals), "
    "sum(r.measured_n), sum(r.estimated_n), max(r.peak_w), "
    "max(r.model_idle_w), max(r.model_max_w) FROM rollup_node_hour r JOIN "
    "node n USING (node_id) WHERE r.hour_start_ns >= ?1 AND "
    "r.hour_start_ns < ?2 GROUP BY r.node_id ORDER BY n.name";

static cl_err
rollup_nodes(sqlite3 *db, struct cl_report_model *m, int64_t *measured_n,
             int64_t *estimated_n, size_t cap)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(db, node_sum_sql, &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, m->period_start_ns);
        sqlite3_bind_int64(st, 2, m->period_end_ns);
        while (m->n_nodes < cap && sqlite3_step(st) == SQLITE_ROW) {
                struct cl_node_report *n = &m->nodes[m->n_nodes];

                memset(n, 0, sizeof(*n));
                snprintf(n->name, sizeof(n->name), "%s",
                         (const char *)sqlite3_column_text(st, 0));
                n->energy_uj = sqlite3_column_int64(st, 1);
                n->idle_uj = sqlite3_column_int64(st, 2);
                n->measured_uj = sqlite3_column_int64(st, 3);
                n->estimated_uj = sqlite3_column_int64(st, 4);
                n->sampled_ns = sqlite3_column_int64(st, 5);
                n->gap_ns = sqlite3_column_int64(st, 6);
                n->intervals = sqlite3_column_int(st, 7);
                n->gaps = sqlite3_column_int(st, 8);
                n->scaled_intervals = sqlite3_column_int(st, 9);
                measured_n[m->n_nodes] = sqlite3_column_int64(st, 10);
                estimated_n[m->n_nodes] = sqlite3_column_int64(st, 11);
                n->peak_w = sqlite3_column_double(st, 12);
                n->model_idle_w = sqlite3_column_double(st, 13);
                n->model_max_w = sqlite3_column_double(st, 14);
                m->n_nodes++;
        }
        sqlite3_finalize(st);
        return CL_OK;
}

static const char pod_sum_sql[] =
    "SELECT n.name, p.uid, p.namespace, p.name, sum(r.energy_uj), "
    "sum(r.cpu_us), sum(r.run_ns), min(r.first_ns), max(r.last_ns), "
    "max(r.peak_w), sum(r.measured_n), sum(r.estimated_n), r.pod_id FROM "
    "rollup_pod_hour r JOIN pod p USING (pod_id) JOIN node n ON n.node_id "
    "= p.node_id WHERE r.hour_start_ns >= ?1 AND r.hour_start_ns < ?2 "
    "GROUP BY r.pod_id ORDER BY n.name, p.namespace, p.name, p.uid, "
    "r.pod_id";

/* The hour rows of the pods, in the order of pod_sum_sql. */
static const char pod_hour_sql[] =
    "SELECT r.pod_id, r.hour_start_ns, r.energy_uj FROM rollup_pod_hour r "
    "JOIN pod p USING (pod_id) JOIN node n ON n.node_id = p.node_id WHERE "
    "r.hour_start_ns >= ?1 AND r.hour_start_ns < ?2 ORDER BY n.name, "
    "p.namespace, p.name, p.uid, r.pod_id";

/* Fills m->workloads and *pod_ids (their pod_id, caller frees). */
static cl_err
rollup_workloads(sqlite3 *db, struct cl_report_model *m, int64_t **pod_ids)
{
        sqlite3_stmt *st = NULL;
        size_t cap = 0;
        cl_err rc;

        rc = cl_db_prepare(db, pod_sum_sql, &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, m->period_start_ns);
        sqlite3_bind_int64(st, 2, m->period_end_ns);
        while (rc == CL_OK && sqlite3_step(st) == SQLITE_ROW) {
                struct cl_workload_report *w;
                const char *ns = (const char *)sqlite3_column_text(st, 2);
                const char *name = (const char *)sqlite3_column_text(st, 3);

                if (m->n_workloads == cap) {
                        size_t ncap = cap ? cap * 2 : 256;
                        void *grown =
                            realloc(m->workloads, ncap * sizeof(*m->workloads));

                        if (grown == NULL) {
                                rc = cl_fail(CL_ENOMEM, "workloads");
                                break;
                        }
                        m->workloads = grown;
                        grown = realloc(*pod_ids, ncap * sizeof(**pod_ids));
                        if (grown == NULL) {
                                rc = cl_fail(CL_ENOMEM, "workloads");
                                break;
                        }
                        *pod_ids = grown;
                        cap = ncap;
                }
                (*pod_ids)[m->n_workloads] = sqlite3_column_int64(st, 12);
                w = &m->workloads[m->n_workloads++];
                memset(w, 0, sizeof(*w));
                snprintf(w->node, sizeof(w->node), "%s",
                         (const char *)sqlite3_column_text(st, 0));
                snprintf(w->pod_uid, sizeof(w->pod_uid), "%s",
                         (const char *)sqlite3_column_text(st, 1));
                snprintf(w->namespace_, sizeof(w->namespace_), "%s",
                         ns != NULL ? ns : "");
                snprintf(w->pod, sizeof(w->pod), "%s",
                         name != NULL ? name : w->pod_uid);
                w->energy_uj = sqlite3_column_int64(st, 4);
                w->cpu_s = (double)sqlite3_column_int64(st, 5) / 1e6;
                w->run_s = (double)sqlite3_column_int64(st, 6) / 1e9;
                w->span_s = (double)(sqlite3_column_int64(st, 8) -
                                     sqlite3_column_int64(st, 7)) /
                            1e9;
                w->coverage = w->span_s > 0 ? w->run_s / w->span_s : 0.0;
                w->mean_w =
                    w->run_s > 0 ? (double)w->energy_uj / 1e6 / w->run_s : 0;
                w->peak_w = sqlite3_column_double(st, 9);
                w->method = cl_method_of(sqlite3_column_int64(st, 10),
                                         sqlite3_column_int64(st, 11),
                                         CL_METHOD_ATTRIBUTED);
        }
        sqlite3_finalize(st);
        return rc;
}

static cl_err
rollup_hours(sqlite3 *db, struct cl_report_model *m)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(db,
                           "SELECT hour_start_ns, sum(energy_uj), "
                           "sum(sampled_ns) FROM rollup_node_hour WHERE "
                           "hour_start_ns >= ?1 AND hour_start_ns < ?2 "
                           "GROUP BY hour_start_ns",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, m->period_start_ns);
        sqlite3_bind_int64(st, 2, m->period_end_ns);
        while (sqlite3_step(st) == SQLITE_ROW) {
                int64_t h = (sqlite3_column_int64(st, 0) - m->period_start_ns) /
                            CL_NS_PER_HOUR;

                if (h >= 0 && h < (int64_t)m->n_hours) {
                        m->hours[h].energy_uj = sqlite3_column_int64(st, 1);
                        m->hours[h].sampled_ns = sqlite3_column_int64(st, 2);
                }
        }
        sqlite3_finalize(st);
        return CL_OK;
}

/*
 * Fills each node's hour_uj from its rows of rollup_node_hour. The nodes
 * of m are those of rollup_nodes, so every row's node has a report.
 */
static cl_err
rollup_node_hours(sqlite3 *db, struct cl_report_model *m)
{
        sqlite3_stmt *st = NULL;
        size_t node = 0;
        cl_err rc;

        for (size_t i = 0; i < m->n_nodes; i++) {
                m->nodes[i].hour_uj =
                    calloc(m->n_hours + 1, sizeof(*m->nodes[i].hour_uj));
                if (m->nodes[i].hour_uj == NULL)
                        return cl_fail(CL_ENOMEM, "node hours");
        }
        rc = cl_db_prepare(db,
                           "SELECT n.name, r.hour_start_ns, r.energy_uj FROM "
                           "rollup_node_hour r JOIN node n USING (node_id) "
                           "WHERE r.hour_start_ns >= ?1 AND r.hour_start_ns "
                           "< ?2 ORDER BY n.name",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, m->period_start_ns);
        sqlite3_bind_int64(st, 2, m->period_end_ns);
        while (sqlite3_step(st) == SQLITE_ROW) {
                const char *name = (const char *)sqlite3_column_text(st, 0);
                int64_t h = (sqlite3_column_int64(st, 1) - m->period_start_ns) /
                            CL_NS_PER_HOUR;

                /* Rows come in the nodes' order, so the index only grows. */
                while (node < m->n_nodes &&
                       strcmp(m->nodes[node].name, name) != 0)
                        node++;
                if (node == m->n_nodes)
                        break;
                if (h >= 0 && h < (int64_t)m->n_hours)
                        m->nodes[node].hour_uj[h] +=
                            sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
        return CL_OK;
}

/*
 * Fills each workload's hour_uj from its rows of rollup_pod_hour.
 * pod_ids[w] is the pod_id of m->workloads[w].
 */
static cl_err
rollup_workload_hours(sqlite3 *db, struct cl_report_model *m,
                      const int64_t *pod_ids)
{
        sqlite3_stmt *st = NULL;
        size_t w = 0;
        cl_err rc;

        for (size_t i = 0; i < m->n_workloads; i++) {
                m->workloads[i].hour_uj =
                    calloc(m->n_hours + 1, sizeof(*m->workloads[i].hour_uj));
                if (m->workloads[i].hour_uj == NULL)
                        return cl_fail(CL_ENOMEM, "workload hours");
        }
        rc = cl_db_prepare(db, pod_hour_sql, &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, m->period_start_ns);
        sqlite3_bind_int64(st, 2, m->period_end_ns);
        while (sqlite3_step(st) == SQLITE_ROW) {
                int64_t pod_id = sqlite3_column_int64(st, 0);
                int64_t h = (sqlite3_column_int64(st, 1) - m->period_start_ns) /
                            CL_NS_PER_HOUR;

                /* Rows come in the workloads' order, so w only grows. */
                while (w < m->n_workloads && pod_ids[w] != pod_id)
                        w++;
                if (w == m->n_workloads)
                        break;
                if (h >= 0 && h < (int64_t)m->n_hours)
                        m->workloads[w].hour_uj[h] +=
                            sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
        return CL_OK;
}

cl_err
cl_rollup_aggregate(sqlite3 *db, struct cl_report_model *m)
{
        int64_t period = m->period_end_ns - m->period_start_ns;
        int64_t *measured_n = NULL, *estimated_n = NULL, measured = 0;
        int64_t *pod_ids = NULL;
        sqlite3_stmt *st = NULL;
        size_t cap = 0;
        cl_err rc;

        m->n_hours = (size_t)((period + CL_NS_PER_HOUR - 1) / CL_NS_PER_HOUR);
        free(m->hours);
        m->hours = calloc(m->n_hours + 1, sizeof(*m->hours));
        if (m->hours == NULL)
                return cl_fail(CL_ENOMEM, "%zu hours", m->n_hours);
        for (size_t h = 0; h < m->n_hours; h++)
                m->hours[h].start_ns =
                    m->period_start_ns + (int64_t)h * CL_NS_PER_HOUR;
        rc = cl_db_prepare(db, "SELECT count(*) FROM node", &st);
        if (rc != CL_OK)
                return rc;
        if (sqlite3_step(st) == SQLITE_ROW)
                cap = (size_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        m->nodes = calloc(cap + 1, sizeof(*m->nodes));
        measured_n = calloc(cap + 1, sizeof(*measured_n));
        estimated_n = calloc(cap + 1, sizeof(*estimated_n));
        if (m->nodes == NULL || measured_n == NULL || estimated_n == NULL) {
                rc = cl_fail(CL_ENOMEM, "nodes");
                goto out;
        }
        rc = rollup_nodes(db, m, measured_n, estimated_n, cap);
        if (rc == CL_OK)
                rc = rollup_workloads(db, m, &pod_ids);
        if (rc == CL_OK)
                rc = rollup_hours(db, m);
        if (rc == CL_OK)
                rc = rollup_node_hours(db, m);
        if (rc == CL_OK)
                rc = rollup_workload_hours(db, m, pod_ids);
        if (rc != CL_OK)
                goto out;
        for (size_t i = 0; i < m->n_nodes; i++) {
                struct cl_node_report *n = &m->nodes[i];

                for (size_t w = 0; w < m->n_workloads; w++)
                        if (strcmp(m->workloads[w].node, n->name) == 0)
                                n->pods_uj += m->workloads[w].energy_uj;
                n->system_uj = n->energy_uj - n->idle_uj - n->pods_uj;
                n->method = cl_method_of(measured_n[i], estimated_n[i],
                                         CL_METHOD_MEASURED);
                n->coverage = (double)n->sampled_ns / (double)period;
                n->mean_w = n->sampled_ns > 0
                                ? (double)n->energy_uj / 1e6 /
                                      ((double)n->sampled_ns / 1e9)
                                : 0.0;
                m->energy_uj += n->energy_uj;
                measured += n->measured_uj;
                m->has_samples = 1;
        }
        m->measured_share =
            m->energy_uj > 0 ? (double)measured / (double)m->energy_uj : 0.0;
out:
        free(measured_n);
        free(estimated_n);
        free(pod_ids);
        return rc;
}

cl_err
cl_parse_month(const char *text, int64_t *start_ns, int64_t *end_ns)
{
        char day[16];
        int y, m, d;

        if (strlen(text) != 7 ||
            snprintf(day, sizeof(day), "%s-01", text) >= (int)sizeof(day) ||
            cl_parse_date(day, &y, &m, &d) != CL_OK)
                return cl_fail(CL_EINVAL,
                               "invalid month '%s': expected YYYY-MM", text);
        *start_ns = cl_kst_day_start_ns(y, m, 1);
        *end_ns = m == 12 ? cl_kst_day_start_ns(y + 1, 1, 1)
                          : cl_kst_day_start_ns(y, m + 1, 1);
        return CL_OK;
}

cl_err
cl_rollup_month_model(sqlite3 *db, const struct cl_policy *policy,
                      const char *template_dir, const char *month,
                      int64_t now_ns, struct cl_report_model *m)
{
        int64_t start, end;
        size_t rows = 0;
        cl_err rc;

        memset(m, 0, sizeof(*m));
        rc = cl_parse_month(month, &start, &end);
        if (rc != CL_OK)
                return rc;
        /* Days with samples newer than their rollup are rolled up first,
           so the month comes from the rollups alone. */
        rc = cl_db_exec(db, "BEGIN IMMEDIATE");
        if (rc != CL_OK)
                return rc;
        rc = rollup_stale_days(db, start, end, &rows);
        if (rc == CL_OK)
                rc = cl_db_exec(db, "COMMIT");
        if (rc != CL_OK) {
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                return rc;
        }
        rc = cl_build_period_model(db, policy, template_dir, start, end, now_ns,
                                   m);
        if (rc == CL_OK)
                snprintf(m->date, sizeof(m->date), "%s", month);
        return rc;
}
