/*
 * SQL of the collector. Statements are prepared once at open. A pod's
 * database id is cached by UID in a sorted array, so an interval with 200
 * known pods costs no SQL lookups, and the lookup in the cache tries the
 * entry after the previous match first, because the sampler passes pods
 * sorted by UID. Pod rows are inserted by multi-row INSERT statements of
 * the sizes in pod_insert_sizes, which takes about half the CPU of one
 * statement per row (tests/bench/RESULTS.md gives the measurement).
 */
#include "store.h"

#include "db.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Rows per pod_sample INSERT statement, largest first; the last is 1 so
 * every count is covered. 64 rows bind 320 parameters, below SQLite's
 * default limit of 32,766 (999 before 3.32).
 */
static const size_t pod_insert_sizes[] = {64, 16, 4, 1};
#define POD_INSERT_SIZES                                                       \
        (sizeof(pod_insert_sizes) / sizeof(pod_insert_sizes[0]))

struct pod_entry {
        char uid[CL_POD_UID_LEN + 1];
        int64_t pod_id;
        int named;
};

struct cl_store {
        sqlite3 *db;
        int64_t node_id;
        size_t n_zones;
        int64_t *zone_ids;
        struct pod_entry *pods;
        size_t n_pods, cap_pods;
        size_t next_pod; /* index after the last cache hit */
        sqlite3_stmt *insert_sample;
        sqlite3_stmt *insert_zone_sample;
        /* One per pod_insert_sizes entry. */
        sqlite3_stmt *insert_pod_sample[POD_INSERT_SIZES];
        sqlite3_stmt *insert_pod;
        sqlite3_stmt *name_pod;
};

static const char insert_sample_sql[] =
    "INSERT INTO sample (node_id, boot_id, start_ns, end_ns, status, "
    "method, gap_reason, cpu_total_ticks, cpu_idle_ticks, clock_ticks_hz, "
    "cpu_total_us, cpu_idle_us, pods_cpu_us, energy_uj, idle_uj, "
    "system_uj, pods_uj, pods_scaled, model_idle_w, model_max_w, source) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
    "?15, ?16, ?17, ?18, ?19, ?20, ?21)";

/*
 * Returns the index of the first cache entry whose UID is not below uid
 * (n_pods when none), and sets *found when that entry is uid.
 */
static size_t
lower_bound_pod(const struct cl_store *store, const char *uid, int *found)
{
        size_t lo = 0, hi = store->n_pods;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(store->pods[mid].uid, uid) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = lo < store->n_pods && strcmp(store->pods[lo].uid, uid) == 0;
        return lo;
}

static struct pod_entry *
find_pod(struct cl_store *store, const char *uid)
{
        size_t next = store->next_pod, i;
        int found;

        if (next < store->n_pods && strcmp(store->pods[next].uid, uid) == 0) {
                store->next_pod = next + 1;
                return &store->pods[next];
        }
        i = lower_bound_pod(store, uid, &found);
        if (!found)
                return NULL;
        store->next_pod = i + 1;
        return &store->pods[i];
}

/*
 * Returns the SQL of an INSERT of rows pod_sample rows into buf, or NULL
 * when buf is too small.
 */
static const char *
pod_insert_sql(size_t rows, char *buf, size_t size)
{
        size_t used;
        int n;

        n = snprintf(buf, size,
                     "INSERT INTO pod_sample (sample_id, pod_id, "
                     "cpu_usage_us, cpu_us, energy_uj) VALUES ");
        if (n < 0 || (size_t)n >= size)
                return NULL;
        used = (size_t)n;
        for (size_t i = 0; i < rows; i++) {
                n = snprintf(buf + used, size - used, "%s(?,?,?,?,?)",
                             i == 0 ? "" : ",");
                if (n < 0 || (size_t)n >= size - used)
                        return NULL;
                used += (size_t)n;
        }
        return buf;
}

static cl_err
store_zones(struct cl_store *store, const struct cl_rapl *rapl)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        store->n_zones = rapl->n;
        store->zone_ids = calloc(rapl->n + 1, sizeof(*store->zone_ids));
        if (store->zone_ids == NULL)
                return cl_fail(CL_ENOMEM, "zone ids");
        rc = cl_db_prepare(
            store->db,
            "INSERT INTO zone (node_id, path, name, max_energy_range_uj, "
            "counted) VALUES (?1, ?2, ?3, ?4, ?5) "
            "ON CONFLICT (node_id, path, name) DO UPDATE SET "
            "max_energy_range_uj = excluded.max_energy_range_uj, "
            "counted = excluded.counted RETURNING zone_id",
            &st);
        if (rc != CL_OK)
                return rc;
        for (size_t i = 0; i < rapl->n; i++) {
                const struct cl_rapl_zone *z = &rapl->zones[i];

                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, store->node_id);
                sqlite3_bind_text(st, 2, z->path, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, z->name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 4, (sqlite3_int64)z->max_range_uj);
                sqlite3_bind_int(st, 5, z->counted);
                if (sqlite3_step(st) != SQLITE_ROW) {
                        rc = cl_db_fail(store->db, "store zone");
                        break;
                }
                store->zone_ids[i] = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
        return rc;
}

static cl_err
load_pods(struct cl_store *store)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(store->db,
                           "SELECT uid, pod_id, name IS NOT NULL FROM pod "
                           "WHERE node_id = ?1 ORDER BY uid",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, store->node_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
                struct pod_entry *e = NULL;

                if (store->n_pods == store->cap_pods) {
                        size_t ncap =
                            store->cap_pods ? store->cap_pods * 2 : 64;
                        void *grown =
                            realloc(store->pods, ncap * sizeof(*store->pods));

                        if (grown == NULL) {
                                rc = cl_fail(CL_ENOMEM, "pod cache");
                                break;
                        }
                        store->pods = grown;
                        store->cap_pods = ncap;
                }
                e = &store->pods[store->n_pods++];
                snprintf(e->uid, sizeof(e->uid), "%s",
                         (const char *)sqlite3_column_text(st, 0));
                e->pod_id = sqlite3_column_int64(st, 1);
                e->named = sqlite3_column_int(st, 2);
        }
        sqlite3_finalize(st);
        /* ORDER BY uses SQLite's BINARY collation, which is strcmp order. */
        return rc;
}

cl_err
cl_store_open(sqlite3 *db, const char *node_name, const struct cl_rapl *rapl,
              struct cl_store **out)
{
        struct cl_store *store;
        cl_err rc;

        *out = NULL;
        store = calloc(1, sizeof(*store));
        if (store == NULL)
                return cl_fail(CL_ENOMEM, "store");
        store->db = db;
        rc = cl_db_node_id(db, node_name, &store->node_id);
        if (rc == CL_OK)
                rc = store_zones(store, rapl);
        if (rc == CL_OK)
                rc = load_pods(store);
        if (rc == CL_OK)
                rc =
                    cl_db_prepare(db, insert_sample_sql, &store->insert_sample);
        if (rc == CL_OK)
                rc = cl_db_prepare(db,
                                   "INSERT INTO zone_sample (sample_id, "
                                   "zone_id, energy_uj, delta_uj) VALUES "
                                   "(?1, ?2, ?3, ?4)",
                                   &store->insert_zone_sample);
        for (size_t i = 0; i < POD_INSERT_SIZES && rc == CL_OK; i++) {
                char sql[4096];

                if (pod_insert_sql(pod_insert_sizes[i], sql, sizeof(sql)) ==
                    NULL)
                        rc = cl_fail(CL_EINVAL,
                                     "pod_sample INSERT of %zu "
                                     "rows is too long",
                                     pod_insert_sizes[i]);
                else
                        rc = cl_db_prepare(db, sql,
                                           &store->insert_pod_sample[i]);
        }
        if (rc == CL_OK)
                rc = cl_db_prepare(db,
                                   "INSERT INTO pod (node_id, uid, "
                                   "namespace, name) VALUES (?1, ?2, ?3, ?4) "
                                   "RETURNING pod_id",
                                   &store->insert_pod);
        if (rc == CL_OK)
                rc = cl_db_prepare(db,
                                   "UPDATE pod SET namespace = ?2, name = ?3 "
                                   "WHERE pod_id = ?1",
                                   &store->name_pod);
        if (rc != CL_OK) {
                cl_store_close(store);
                return rc;
        }
        *out = store;
        return CL_OK;
}

void
cl_store_close(struct cl_store *store)
{
        if (store == NULL)
                return;
        sqlite3_finalize(store->insert_sample);
        sqlite3_finalize(store->insert_zone_sample);
        for (size_t i = 0; i < POD_INSERT_SIZES; i++)
                sqlite3_finalize(store->insert_pod_sample[i]);
        sqlite3_finalize(store->insert_pod);
        sqlite3_finalize(store->name_pod);
        free(store->zone_ids);
        free(store->pods);
        free(store);
}

void
cl_store_free_reading(struct cl_last_reading *last)
{
        free(last->zone_energy_uj);
        free(last->zone_present);
        free(last->pods);
        memset(last, 0, sizeof(*last));
}

static cl_err
load_last_zones(struct cl_store *store, int64_t sample_id,
                struct cl_last_reading *last)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        last->zone_energy_uj =
            calloc(store->n_zones + 1, sizeof(*last->zone_energy_uj));
        last->zone_present =
            calloc(store->n_zones + 1, sizeof(*last->zone_present));
        if (last->zone_energy_uj == NULL || last->zone_present == NULL)
                return cl_fail(CL_ENOMEM, "last reading");
        rc = cl_db_prepare(store->db,
                           "SELECT zone_id, energy_uj FROM zone_sample "
                           "WHERE sample_id = ?1",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, sample_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
                int64_t zone_id = sqlite3_column_int64(st, 0);

                for (size_t i = 0; i < store->n_zones; i++)
                        if (store->zone_ids[i] == zone_id) {
                                last->zone_energy_uj[i] =
                                    (uint64_t)sqlite3_column_int64(st, 1);
                                last->zone_present[i] = 1;
                        }
        }
        sqlite3_finalize(st);
        return CL_OK;
}

static cl_err
load_last_pods(struct cl_store *store, int64_t sample_id,
               struct cl_last_reading *last)
{
        sqlite3_stmt *st = NULL;
        size_t cap = 0;
        cl_err rc;

        rc = cl_db_prepare(store->db,
                           "SELECT p.uid, s.cpu_usage_us FROM pod_sample s "
                           "JOIN pod p USING (pod_id) WHERE s.sample_id = ?1 "
                           "ORDER BY p.uid",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, sample_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
                struct cl_pod_cpu *p;

                if (last->n_pods == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        void *grown =
                            realloc(last->pods, ncap * sizeof(*last->pods));

                        if (grown == NULL) {
                                rc = cl_fail(CL_ENOMEM, "last reading");
                                break;
                        }
                        last->pods = grown;
                        cap = ncap;
                }
                p = &last->pods[last->n_pods++];
                snprintf(p->uid, sizeof(p->uid), "%s",
                         (const char *)sqlite3_column_text(st, 0));
                p->usage_us = (uint64_t)sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
        return rc;
}

cl_err
cl_store_load_last(struct cl_store *store, struct cl_last_reading *last)
{
        sqlite3_stmt *st = NULL;
        int64_t sample_id = 0;
        cl_err rc;

        memset(last, 0, sizeof(*last));
        rc = cl_db_prepare(store->db,
                           "SELECT sample_id, end_ns, boot_id, "
                           "cpu_total_ticks, cpu_idle_ticks FROM sample "
                           "WHERE node_id = ?1 ORDER BY end_ns DESC, "
                           "sample_id DESC LIMIT 1",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, store->node_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
                last->present = 1;
                sample_id = sqlite3_column_int64(st, 0);
                last->end_ns = sqlite3_column_int64(st, 1);
                snprintf(last->boot_id, sizeof(last->boot_id), "%s",
                         (const char *)sqlite3_column_text(st, 2));
                last->cpu_total_ticks = (uint64_t)sqlite3_column_int64(st, 3);
                last->cpu_idle_ticks = (uint64_t)sqlite3_column_int64(st, 4);
        }
        sqlite3_finalize(st);
        rc = load_last_zones(store, sample_id, last);
        if (rc == CL_OK && last->present)
                rc = load_last_pods(store, sample_id, last);
        if (rc != CL_OK)
                cl_store_free_reading(last);
        return rc;
}

static void
bind_u64_or_null(sqlite3_stmt *st, int index, int present, uint64_t value)
{
        if (present)
                sqlite3_bind_int64(st, index, (sqlite3_int64)value);
        else
                sqlite3_bind_null(st, index);
}

static cl_err
insert_sample(struct cl_store *store, const struct cl_sample_row *row,
              int64_t *sample_id)
{
        sqlite3_stmt *st = store->insert_sample;
        int interval = strcmp(row->status, "baseline") != 0;

        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, store->node_id);
        sqlite3_bind_text(st, 2, row->boot_id, -1, SQLITE_STATIC);
        if (interval)
                sqlite3_bind_int64(st, 3, row->start_ns);
        sqlite3_bind_int64(st, 4, row->end_ns);
        sqlite3_bind_text(st, 5, row->status, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, row->method, -1, SQLITE_STATIC);
        if (row->gap_reason != NULL)
                sqlite3_bind_text(st, 7, row->gap_reason, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)row->cpu_total_ticks);
        sqlite3_bind_int64(st, 9, (sqlite3_int64)row->cpu_idle_ticks);
        sqlite3_bind_int64(st, 10, row->clock_ticks_hz);
        bind_u64_or_null(st, 11, row->has_interval, row->cpu_total_us);
        bind_u64_or_null(st, 12, row->has_interval, row->cpu_idle_us);
        bind_u64_or_null(st, 13, row->has_interval, row->pods_cpu_us);
        bind_u64_or_null(st, 14, row->has_energy, row->energy_uj);
        bind_u64_or_null(st, 15, row->has_energy, row->idle_uj);
        bind_u64_or_null(st, 16, row->has_energy, row->system_uj);
        bind_u64_or_null(st, 17, row->has_energy, row->pods_uj);
        sqlite3_bind_int(st, 18, row->pods_scaled);
        if (row->estimated) {
                sqlite3_bind_double(st, 19, row->model_idle_w);
                sqlite3_bind_double(st, 20, row->model_max_w);
        }
        sqlite3_bind_text(st, 21,
                          row->source != NULL ? row->source : "collector", -1,
                          SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cl_db_fail(store->db, "store sample");
        *sample_id = sqlite3_last_insert_rowid(store->db);
        return CL_OK;
}

static cl_err
insert_zone_samples(struct cl_store *store, const struct cl_sample_row *row,
                    int64_t sample_id)
{
        sqlite3_stmt *st = store->insert_zone_sample;

        for (size_t i = 0; i < store->n_zones; i++) {
                if (!row->zone_has_reading[i])
                        continue;
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, sample_id);
                sqlite3_bind_int64(st, 2, store->zone_ids[i]);
                sqlite3_bind_int64(st, 3,
                                   (sqlite3_int64)row->zone_energy_uj[i]);
                bind_u64_or_null(st, 4, row->zone_has_delta[i],
                                 row->zone_delta_uj[i]);
                if (sqlite3_step(st) != SQLITE_DONE)
                        return cl_db_fail(store->db, "store zone sample");
        }
        return CL_OK;
}

static void
bind_name(sqlite3_stmt *st, int ns_index, const struct cl_pod_name *name)
{
        if (name != NULL) {
                sqlite3_bind_text(st, ns_index, name->namespace_, -1,
                                  SQLITE_STATIC);
                sqlite3_bind_text(st, ns_index + 1, name->name, -1,
                                  SQLITE_STATIC);
        } else {
                sqlite3_bind_null(st, ns_index);
                sqlite3_bind_null(st, ns_index + 1);
        }
}

/* Returns the cache entry of uid, inserting the pod when it is new. */
static cl_err
pod_entry(struct cl_store *store, const char *uid,
          const struct cl_pod_name *names, size_t n_names,
          struct pod_entry **out)
{
        const struct cl_pod_name *name = NULL;
        struct pod_entry *e = find_pod(store, uid);
        sqlite3_stmt *st;
        size_t at;
        int found;

        /* A named pod needs no name lookup. */
        if ((e == NULL || !e->named) && names != NULL)
                name = cl_podlogs_find(names, n_names, uid);
        if (e != NULL) {
                if (!e->named && name != NULL) {
                        st = store->name_pod;
                        sqlite3_reset(st);
                        sqlite3_bind_int64(st, 1, e->pod_id);
                        bind_name(st, 2, name);
                        if (sqlite3_step(st) != SQLITE_DONE)
                                return cl_db_fail(store->db, "name pod");
                        e->named = 1;
                }
                *out = e;
                return CL_OK;
        }
        if (store->n_pods == store->cap_pods) {
                size_t ncap = store->cap_pods ? store->cap_pods * 2 : 64;
                void *grown = realloc(store->pods, ncap * sizeof(*store->pods));

                if (grown == NULL)
                        return cl_fail(CL_ENOMEM, "pod cache");
                store->pods = grown;
                store->cap_pods = ncap;
        }
        st = store->insert_pod;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, store->node_id);
        sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
        bind_name(st, 3, name);
        if (sqlite3_step(st) != SQLITE_ROW)
                return cl_db_fail(store->db, "store pod");
        at = lower_bound_pod(store, uid, &found);
        memmove(&store->pods[at + 1], &store->pods[at],
                (store->n_pods - at) * sizeof(*store->pods));
        store->n_pods++;
        e = &store->pods[at];
        snprintf(e->uid, sizeof(e->uid), "%s", uid);
        e->pod_id = sqlite3_column_int64(st, 0);
        e->named = name != NULL;
        sqlite3_reset(st);
        store->next_pod = at + 1;
        *out = e;
        return CL_OK;
}

/*
 * Inserts the pod rows with the largest multi-row statements that fit,
 * binding every parameter of a statement before each step.
 */
static cl_err
insert_pod_samples(struct cl_store *store, const struct cl_sample_row *row,
                   int64_t sample_id, const struct cl_pod_name *names,
                   size_t n_names)
{
        int energy = row->has_energy;
        size_t i = 0, size = 0;

        while (i < row->n_pods) {
                sqlite3_stmt *st;
                size_t rows;

                while (pod_insert_sizes[size] > row->n_pods - i)
                        size++;
                st = store->insert_pod_sample[size];
                rows = pod_insert_sizes[size];
                sqlite3_reset(st);
                for (size_t j = 0; j < rows; j++, i++) {
                        const struct cl_pod_row *p = &row->pods[i];
                        struct pod_entry *e = NULL;
                        int base = (int)j * 5;
                        cl_err rc;

                        rc = pod_entry(store, p->uid, names, n_names, &e);
                        if (rc != CL_OK)
                                return rc;
                        sqlite3_bind_int64(st, base + 1, sample_id);
                        sqlite3_bind_int64(st, base + 2, e->pod_id);
                        sqlite3_bind_int64(st, base + 3,
                                           (sqlite3_int64)p->usage_us);
                        bind_u64_or_null(st, base + 4, p->has_delta, p->cpu_us);
                        bind_u64_or_null(st, base + 5, energy && p->has_delta,
                                         p->energy_uj);
                }
                if (sqlite3_step(st) != SQLITE_DONE)
                        return cl_db_fail(store->db, "store pod sample");
        }
        return CL_OK;
}

cl_err
cl_store_write(struct cl_store *store, const struct cl_sample_row *row,
               const struct cl_pod_name *names, size_t n_names)
{
        int64_t sample_id = 0;
        cl_err rc;

        rc = cl_db_exec(store->db, "BEGIN IMMEDIATE");
        if (rc != CL_OK)
                return rc;
        rc = insert_sample(store, row, &sample_id);
        if (rc == CL_OK)
                rc = insert_zone_samples(store, row, sample_id);
        if (rc == CL_OK)
                rc = insert_pod_samples(store, row, sample_id, names, n_names);
        if (rc == CL_OK)
                rc = cl_db_exec(store->db, "COMMIT");
        if (rc != CL_OK) {
                char saved[512];

                snprintf(saved, sizeof(saved), "%s", cl_last_error());
                sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
                /* The cache may hold pods whose insert was rolled back. */
                store->n_pods = 0;
                if (load_pods(store) != CL_OK)
                        cl_warn("pod_cache_reload_failed", "error=\"%s\"",
                                cl_last_error());
                return cl_fail(CL_EDB, "%s", saved);
        }
        return CL_OK;
}

cl_err
cl_store_missing_counted(struct cl_store *store, const struct cl_rapl *rapl,
                         char *buf, size_t size)
{
        sqlite3_stmt *st = NULL;
        size_t used = 0;
        cl_err rc;

        buf[0] = '\0';
        rc = cl_db_prepare(store->db,
                           "SELECT path, name FROM zone WHERE node_id = ?1 "
                           "AND counted = 1 ORDER BY path",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, store->node_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
                const char *path = (const char *)sqlite3_column_text(st, 0);
                const char *name = (const char *)sqlite3_column_text(st, 1);
                int found = 0;

                for (size_t i = 0; i < rapl->n; i++)
                        if (strcmp(rapl->zones[i].path, path) == 0 &&
                            strcmp(rapl->zones[i].name, name) == 0)
                                found = 1;
                if (found || used + 1 >= size)
                        continue;
                used += (size_t)snprintf(
                    buf + used, size - used, "%s%s (%s)",
                    used == 0 ? "counted RAPL zone " : ", ", path, name);
                if (used >= size)
                        used = size - 1;
        }
        sqlite3_finalize(st);
        if (used > 0 && used + 1 < size)
                snprintf(buf + used, size - used, " missing or unreadable");
        return CL_OK;
}

int
cl_store_pod_named(struct cl_store *store, const char *uid)
{
        const struct pod_entry *e = find_pod(store, uid);

        return e != NULL && e->named;
}
