/*
 * Database connections and migrations. Migration i takes user_version i to
 * i + 1; all pending migrations run in one IMMEDIATE transaction, so two
 * programs opening a new database at once cannot both migrate it.
 */
#include "db.h"

#include "migrations.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int
cl_db_schema_version(void)
{
        return cl_migration_count;
}

cl_err
cl_db_fail(sqlite3 *db, const char *what)
{
        return cl_fail(CL_EDB, "%s: %s", what,
                       db != NULL ? sqlite3_errmsg(db) : "no connection");
}

cl_err
cl_db_exec(sqlite3 *db, const char *sql)
{
        char *msg = NULL;

        if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
                cl_err rc = cl_fail(CL_EDB, "SQL failed: %s",
                                    msg != NULL ? msg : sqlite3_errmsg(db));

                sqlite3_free(msg);
                return rc;
        }
        return CL_OK;
}

cl_err
cl_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
        if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK)
                return cl_fail(CL_EDB, "prepare failed: %s: %.60s",
                               sqlite3_errmsg(db), sql);
        return CL_OK;
}

static cl_err
read_user_version(sqlite3 *db, const char *path, int *out)
{
        sqlite3_stmt *st;
        cl_err rc = CL_OK;

        if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
            SQLITE_OK)
                return cl_fail(CL_EDB, "%s: %s", path, sqlite3_errmsg(db));
        if (sqlite3_step(st) == SQLITE_ROW)
                *out = sqlite3_column_int(st, 0);
        else
                rc = cl_fail(CL_EDB, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return rc;
}

/* Returns 1 when a database without a schema version has tables. */
static int
has_foreign_tables(sqlite3 *db)
{
        sqlite3_stmt *st;
        int found = 0;

        if (sqlite3_prepare_v2(db,
                               "SELECT 1 FROM sqlite_master WHERE type = "
                               "'table' LIMIT 1",
                               -1, &st, NULL) != SQLITE_OK)
                return 0;
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        return found;
}

static cl_err
migrate(sqlite3 *db, const char *path)
{
        char sql[64];
        int version;
        cl_err rc;

        rc = cl_db_exec(db, "BEGIN IMMEDIATE");
        if (rc != CL_OK)
                return cl_fail(CL_EDB, "%s: cannot lock for migration: %s",
                               path, sqlite3_errmsg(db));
        rc = read_user_version(db, path, &version);
        if (rc != CL_OK)
                goto fail;
        if (version > cl_migration_count) {
                rc = cl_fail(CL_EVERSION,
                             "%s: schema version %d is newer than this "
                             "program's %d; upgrade carbonledger",
                             path, version, cl_migration_count);
                goto fail;
        }
        for (int i = version; i < cl_migration_count; i++) {
                rc = cl_db_exec(db, cl_migrations[i]);
                if (rc != CL_OK) {
                        rc = cl_fail(CL_EDB, "%s: migration %d failed: %s",
                                     path, i + 1, sqlite3_errmsg(db));
                        goto fail;
                }
        }
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
                 cl_migration_count);
        rc = cl_db_exec(db, sql);
        if (rc != CL_OK)
                goto fail;
        rc = cl_db_exec(db, "COMMIT");
        if (rc == CL_OK)
                return CL_OK;
fail:
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
}

cl_err
cl_db_open(const char *path, enum cl_db_mode mode, sqlite3 **out)
{
        int flags = SQLITE_OPEN_READWRITE;
        sqlite3 *db = NULL;
        int version;
        cl_err rc;

        *out = NULL;
        if (mode != CL_DB_CREATE && access(path, F_OK) != 0)
                return cl_fail_errno(CL_EIO, errno, "database %s", path);
        if (mode == CL_DB_CREATE)
                flags |= SQLITE_OPEN_CREATE;
        if (mode == CL_DB_READONLY)
                flags = SQLITE_OPEN_READONLY;
        if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
                rc = cl_fail(CL_EIO, "cannot open database %s: %s", path,
                             db != NULL ? sqlite3_errmsg(db) : "out of memory");
                goto fail;
        }
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_timeout(db, CL_DB_BUSY_MS);
        /* Reading the schema proves the file is a database at all. */
        rc = read_user_version(db, path, &version);
        if (rc != CL_OK) {
                if ((sqlite3_errcode(db) & 0xff) == SQLITE_NOTADB)
                        rc = cl_fail(CL_EDB,
                                     "%s is not a carbonledger database: %s",
                                     path, sqlite3_errmsg(db));
                else
                        rc = cl_fail(CL_EDB, "cannot read database %s: %s",
                                     path, sqlite3_errmsg(db));
                goto fail;
        }
        if (version == 0 && has_foreign_tables(db)) {
                rc = cl_fail(CL_EDB,
                             "%s holds another program's tables and no "
                             "carbonledger schema; use a new file",
                             path);
                goto fail;
        }
        if (mode == CL_DB_READONLY) {
                if (version != cl_migration_count) {
                        rc = cl_fail(CL_EVERSION,
                                     "%s: schema version %d, this program "
                                     "reads version %d",
                                     path, version, cl_migration_count);
                        goto fail;
                }
        } else {
                rc = cl_db_exec(db, "PRAGMA journal_mode = WAL");
                if (rc == CL_OK)
                        rc = cl_db_exec(db, "PRAGMA synchronous = NORMAL");
                if (rc != CL_OK) {
                        rc = cl_fail(rc, "database %s: %s", path,
                                     cl_last_error());
                        goto fail;
                }
                rc = migrate(db, path);
                if (rc != CL_OK)
                        goto fail;
        }
        rc = cl_db_exec(db, "PRAGMA foreign_keys = ON");
        if (rc != CL_OK)
                goto fail;
        *out = db;
        return CL_OK;
fail:
        sqlite3_close(db);
        return rc;
}

void
cl_db_close(sqlite3 *db)
{
        if (db != NULL)
                sqlite3_close(db);
}

cl_err
cl_db_node_id(sqlite3 *db, const char *name, int64_t *out)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(db,
                           "INSERT INTO node (name) VALUES (?1) "
                           "ON CONFLICT (name) DO UPDATE SET name = name "
                           "RETURNING node_id",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
                *out = sqlite3_column_int64(st, 0);
        else
                rc = cl_db_fail(db, "store node");
        sqlite3_finalize(st);
        return rc;
}
