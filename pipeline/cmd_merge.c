/*
 * carbonledger merge --into PATH NODE.db...: adds the samples of per-node
 * databases, copied from the nodes, to one database, for sites without
 * Prometheus. SQLite's locking does not work over network file systems,
 * so the nodes' files are copied (for example with the sqlite3 shell's
 * .backup, or after the collector stops) and never opened in place on a
 * share.
 *
 * For every node of a copy, only its samples that end after the last
 * sample the target already has for that node are added, so merging a
 * newer copy of the same node again adds just what is new. Nodes are
 * matched by name, zones by path and name, pods by UID; sample ids are
 * shifted above the target's highest id. Meter rows are added unless the
 * target has the same interval. Each copy is merged in one transaction.
 * Copies are attached read-only and never changed, so a copy of another
 * schema version is rejected with its version, as is an empty file or
 * one that is not a carbonledger database.
 */
#include "commands.h"

#include "db.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char merge_usage[] =
    "Usage: carbonledger merge --into PATH NODE.db...\n"
    "\n"
    "Adds the samples of copied per-node databases to PATH (created when\n"
    "missing). Copy the node files first; never open a database on a\n"
    "network file system.\n";

/* Statements of one node, run in order with ?1 source and ?2 target id. */
static const char *const node_sql[] = {
    "INSERT INTO main.zone (node_id, path, name, max_energy_range_uj, "
    "counted) SELECT ?2, path, name, max_energy_range_uj, counted FROM "
    "src.zone WHERE node_id = ?1 ON CONFLICT (node_id, path, name) DO "
    "UPDATE SET max_energy_range_uj = excluded.max_energy_range_uj, "
    "counted = excluded.counted",
    "INSERT INTO main.pod (node_id, uid, namespace, name) SELECT ?2, uid, "
    "namespace, name FROM src.pod WHERE node_id = ?1 ON CONFLICT (node_id, "
    "uid) DO UPDATE SET namespace = coalesce(excluded.namespace, "
    "namespace), name = coalesce(excluded.name, name)",
    "DELETE FROM temp.merge_pod",
    "INSERT INTO temp.merge_pod SELECT s.pod_id, m.pod_id FROM src.pod s "
    "JOIN main.pod m ON m.node_id = ?2 AND m.uid = s.uid WHERE s.node_id = "
    "?1",
    "DELETE FROM temp.merge_zone",
    "INSERT INTO temp.merge_zone SELECT s.zone_id, m.zone_id FROM src.zone "
    "s JOIN main.zone m ON m.node_id = ?2 AND m.path = s.path AND m.name = "
    "s.name WHERE s.node_id = ?1",
    "DELETE FROM temp.merge_sample",
    "INSERT INTO temp.merge_sample SELECT s.sample_id, s.sample_id + "
    "(SELECT coalesce(max(sample_id), 0) FROM main.sample) FROM src.sample "
    "s WHERE s.node_id = ?1 AND s.end_ns > (SELECT coalesce(max(end_ns), "
    "-1) FROM main.sample WHERE node_id = ?2)",
    "INSERT INTO main.sample (sample_id, node_id, boot_id, start_ns, "
    "end_ns, status, method, gap_reason, cpu_total_ticks, cpu_idle_ticks, "
    "clock_ticks_hz, cpu_total_us, cpu_idle_us, pods_cpu_us, energy_uj, "
    "idle_uj, system_uj, pods_uj, pods_scaled, model_idle_w, model_max_w, "
    "source) SELECT m.dst, ?2, boot_id, start_ns, end_ns, status, method, "
    "gap_reason, cpu_total_ticks, cpu_idle_ticks, clock_ticks_hz, "
    "cpu_total_us, cpu_idle_us, pods_cpu_us, energy_uj, idle_uj, "
    "system_uj, pods_uj, pods_scaled, model_idle_w, model_max_w, source "
    "FROM src.sample s JOIN temp.merge_sample m ON m.src = s.sample_id",
    "INSERT INTO main.zone_sample (sample_id, zone_id, energy_uj, delta_uj) "
    "SELECT m.dst, z.dst, zs.energy_uj, zs.delta_uj FROM src.zone_sample "
    "zs JOIN temp.merge_sample m ON m.src = zs.sample_id JOIN "
    "temp.merge_zone z ON z.src = zs.zone_id",
    "INSERT INTO main.pod_sample (sample_id, pod_id, cpu_usage_us, cpu_us, "
    "energy_uj) SELECT m.dst, p.dst, ps.cpu_usage_us, ps.cpu_us, "
    "ps.energy_uj FROM temp.merge_sample m JOIN src.pod_sample ps ON "
    "ps.sample_id = m.src JOIN temp.merge_pod p ON p.src = ps.pod_id",
};

/* The statement of node_sql that inserts the samples (for the count). */
#define SAMPLE_INSERT 8

static cl_err
merge_node(sqlite3 *db, int64_t src_id, const char *name, int *added)
{
        int64_t dst_id;
        cl_err rc;

        *added = 0;
        rc = cl_db_node_id(db, name, &dst_id);
        for (size_t i = 0;
             rc == CL_OK && i < sizeof(node_sql) / sizeof(node_sql[0]); i++) {
                sqlite3_stmt *st = NULL;

                rc = cl_db_prepare(db, node_sql[i], &st);
                if (rc != CL_OK)
                        break;
                if (sqlite3_bind_parameter_count(st) >= 1)
                        sqlite3_bind_int64(st, 1, src_id);
                if (sqlite3_bind_parameter_count(st) >= 2)
                        sqlite3_bind_int64(st, 2, dst_id);
                if (sqlite3_step(st) != SQLITE_DONE)
                        rc = cl_db_fail(db, "merge node samples");
                else if (i == SAMPLE_INSERT)
                        *added = sqlite3_changes(db);
                sqlite3_finalize(st);
        }
        return rc;
}

/*
 * Checks that path is a carbonledger database of this schema version,
 * opening it read-only. Fails with CL_EIO, CL_EDB or CL_EVERSION naming
 * the file.
 */
static cl_err
check_copy(const char *path)
{
        sqlite3 *check = NULL;
        struct stat sb;
        char saved[1024];
        cl_err rc;

        if (stat(path, &sb) != 0)
                return cl_fail_errno(CL_EIO, errno, "merge source %s", path);
        if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
                return cl_fail(CL_EDB, "%s is %s, not a carbonledger database",
                               path,
                               S_ISREG(sb.st_mode) ? "empty (0 bytes)"
                                                   : "not a regular file");
        rc = cl_db_open(path, CL_DB_READONLY, &check);
        cl_db_close(check);
        if (rc == CL_EVERSION) {
                snprintf(saved, sizeof(saved), "%s", cl_last_error());
                return cl_fail(rc,
                               "%s; merge opens copies read-only and does "
                               "not migrate them: copy the database again "
                               "after the node runs this version",
                               saved);
        }
        return rc;
}

/*
 * Writes the SQLite URI that opens path read-only into uri: the absolute
 * path with '%', '?' and '#' percent-encoded. Fails with CL_EIO or
 * CL_EINVAL (too long).
 */
static cl_err
read_only_uri(const char *path, char *uri, size_t size)
{
        char abs[PATH_MAX];
        size_t n;

        if (realpath(path, abs) == NULL)
                return cl_fail_errno(CL_EIO, errno, "merge source %s", path);
        n = (size_t)snprintf(uri, size, "file:");
        for (const char *c = abs; *c != '\0' && n < size; c++) {
                if (*c == '%' || *c == '?' || *c == '#')
                        n += (size_t)snprintf(uri + n, size - n, "%%%02X",
                                              (unsigned char)*c);
                else
                        uri[n++] = *c;
        }
        if (n >= size ||
            snprintf(uri + n, size - n, "?mode=ro") >= (int)(size - n))
                return cl_fail(CL_EINVAL, "merge source path too long: %s",
                               path);
        return CL_OK;
}

/* Attaches path read-only as schema src. Fails with CL_EDB or CL_EIO. */
static cl_err
attach_copy(sqlite3 *db, const char *path)
{
        sqlite3_stmt *st = NULL;
        char uri[PATH_MAX + 32];
        cl_err rc;

        rc = read_only_uri(path, uri, sizeof(uri));
        if (rc == CL_OK)
                rc = cl_db_prepare(db, "ATTACH DATABASE ?1 AS src", &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                rc = cl_fail(CL_EDB, "attach %s: %s", path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        if (rc != CL_OK)
                return rc;
        /* Without URI filenames SQLite would open a file named "file:..."
           read-write. */
        if (sqlite3_db_readonly(db, "src") != 1) {
                sqlite3_exec(db, "DETACH DATABASE src", NULL, NULL, NULL);
                return cl_fail(CL_EDB,
                               "cannot attach %s read-only: this SQLite "
                               "library does not accept URI filenames",
                               path);
        }
        return CL_OK;
}

/* Whether path + suffix exists. */
static int
sidecar_exists(const char *path, const char *suffix)
{
        char name[PATH_MAX];
        struct stat sb;

        if (snprintf(name, sizeof(name), "%s%s", path, suffix) >=
            (int)sizeof(name))
                return 1;
        return stat(name, &sb) == 0;
}

/*
 * Removes the -wal and -shm files that reading a WAL-mode copy read-only
 * created, when the -wal file is empty, so the folder is as it was.
 */
static void
remove_sidecars(const char *path)
{
        char wal[PATH_MAX], shm[PATH_MAX];
        struct stat sb;

        if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal) ||
            snprintf(shm, sizeof(shm), "%s-shm", path) >= (int)sizeof(shm))
                return;
        if (stat(wal, &sb) != 0 || sb.st_size != 0)
                return;
        if (unlink(wal) != 0 || unlink(shm) != 0)
                cl_warn("merge_cleanup_failed", "path=%s error=\"%s\"", path,
                        strerror(errno));
}

static cl_err
merge_copy(sqlite3 *db, const char *path)
{
        sqlite3_stmt *nodes = NULL;
        int attached = 0, in_tx = 0;
        int had_sidecars =
            sidecar_exists(path, "-wal") || sidecar_exists(path, "-shm");
        cl_err rc;

        rc = check_copy(path);
        if (rc == CL_OK)
                rc = attach_copy(db, path);
        attached = rc == CL_OK;
        if (rc == CL_OK) {
                rc = cl_db_exec(db, "BEGIN IMMEDIATE");
                in_tx = rc == CL_OK;
        }
        if (rc == CL_OK)
                rc = cl_db_prepare(db,
                                   "SELECT node_id, name FROM src.node ORDER "
                                   "BY name",
                                   &nodes);
        while (rc == CL_OK && sqlite3_step(nodes) == SQLITE_ROW) {
                const char *name = (const char *)sqlite3_column_text(nodes, 1);
                int added = 0;

                rc = merge_node(db, sqlite3_column_int64(nodes, 0), name,
                                &added);
                if (rc == CL_OK)
                        printf("%s: node %s: %d samples added\n", path, name,
                               added);
        }
        sqlite3_finalize(nodes);
        if (rc == CL_OK)
                rc = cl_db_exec(db,
                                "INSERT OR IGNORE INTO main.meter (start_ns, "
                                "end_ns, facility_kwh, it_kwh, source, "
                                "imported_ns) SELECT start_ns, end_ns, "
                                "facility_kwh, it_kwh, source, imported_ns "
                                "FROM src.meter");
        if (rc == CL_OK)
                rc = cl_db_exec(db, "COMMIT");
        if (rc != CL_OK && in_tx)
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        if (attached)
                sqlite3_exec(db, "DETACH DATABASE src", NULL, NULL, NULL);
        if (!had_sidecars)
                remove_sidecars(path);
        return rc;
}

int
cl_cmd_merge(int argc, char **argv)
{
        static const struct option opts[] = {
            {"into", required_argument, NULL, 'i'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        const char *into = NULL;
        sqlite3 *db = NULL;
        int opt, status = 0;
        cl_err rc;

        opterr = 0;
        optind = 1;
        while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (opt == 'i') {
                        into = optarg;
                } else if (opt == 'h') {
                        fputs(merge_usage, stdout);
                        return 0;
                } else {
                        fprintf(stderr,
                                "carbonledger: merge: unknown or incomplete "
                                "option '%s'\n%s",
                                argv[optind - 1], merge_usage);
                        return 2;
                }
        }
        if (into == NULL || optind >= argc) {
                fprintf(stderr,
                        "carbonledger: merge needs --into PATH and at least "
                        "one NODE.db\n%s",
                        merge_usage);
                return 2;
        }
        rc = cl_db_open(into, CL_DB_CREATE, &db);
        if (rc == CL_OK)
                rc =
                    cl_db_exec(db, "CREATE TEMP TABLE merge_pod (src INTEGER "
                                   "PRIMARY KEY, dst INTEGER); CREATE TEMP "
                                   "TABLE merge_zone (src INTEGER PRIMARY KEY, "
                                   "dst INTEGER); CREATE TEMP TABLE "
                                   "merge_sample (src INTEGER PRIMARY KEY, dst "
                                   "INTEGER)");
        if (rc != CL_OK) {
                fprintf(stderr, "carbonledger: merge failed: %s\n",
                        cl_last_error());
                cl_db_close(db);
                return 1;
        }
        for (int i = optind; i < argc; i++) {
                if (strcmp(argv[i], into) == 0) {
                        fprintf(stderr,
                                "carbonledger: merge: %s is the target "
                                "itself; skipped\n",
                                argv[i]);
                        status = 1;
                        continue;
                }
                rc = merge_copy(db, argv[i]);
                if (rc != CL_OK) {
                        fprintf(stderr,
                                "carbonledger: merge of %s failed, nothing "
                                "of it stored: %s\n",
                                argv[i], cl_last_error());
                        status = 1;
                }
        }
        cl_db_close(db);
        return status;
}
