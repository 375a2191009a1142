/*
 * Opening the carbonledger database: the schema layer both programs share.
 *
 * Every connection runs in WAL mode with a busy timeout, so the nightly run
 * reads while the collector writes. Opening applies the embedded
 * migrations up to the program's schema version (PRAGMA user_version) in
 * one transaction; a database whose version is newer than the program's is
 * rejected with CL_EVERSION and left untouched.
 */
#ifndef CL_DB_H
#define CL_DB_H

#include "err.h"

#include <sqlite3.h>
#include <stdint.h>

enum cl_db_mode {
        CL_DB_CREATE,   /* read-write, created when missing (collector) */
        CL_DB_WRITE,    /* read-write, must exist (nightly run, import) */
        CL_DB_READONLY, /* read-only, must exist and be current (queries) */
};

/* Busy timeout of every connection, in milliseconds. */
#define CL_DB_BUSY_MS 10000

/* Returns the schema version this program writes and reads. */
int cl_db_schema_version(void);

/*
 * Opens path in mode, migrating it when the mode allows writing. On success
 * *out is a connection the caller closes with cl_db_close(). Fails with
 * CL_EIO when the file is missing or unreadable, CL_EVERSION when it is
 * newer than this program (or, read-only, older), CL_EDB otherwise; the
 * message names the path.
 */
cl_err cl_db_open(const char *path, enum cl_db_mode mode,
                  sqlite3 **out) CL_MUST_CHECK;

/* Closes db; NULL is allowed. */
void cl_db_close(sqlite3 *db);

/* Runs sql (no results), failing with CL_EDB and SQLite's message. */
cl_err cl_db_exec(sqlite3 *db, const char *sql) CL_MUST_CHECK;

/* Prepares sql, failing with CL_EDB and SQLite's message. */
cl_err cl_db_prepare(sqlite3 *db, const char *sql,
                     sqlite3_stmt **out) CL_MUST_CHECK;

/* Records a CL_EDB failure "what: <sqlite message>" and returns CL_EDB. */
cl_err cl_db_fail(sqlite3 *db, const char *what);

/*
 * Looks up the node_id of name, inserting the node when missing. Fails with
 * CL_EDB.
 */
cl_err cl_db_node_id(sqlite3 *db, const char *name, int64_t *out) CL_MUST_CHECK;

#endif
