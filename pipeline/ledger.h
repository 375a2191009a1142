/*
 * The report ledger: one row per signed report file, each row's hash
 * chained to the previous row's, so an edited or removed entry shows.
 * entry_sha256 = SHA-256 of "prev_sha256|created_ns|period_start|
 * period_end|file_name|file_sha256" (decimal integers, lower-case hex).
 */
#ifndef CL_LEDGER_H
#define CL_LEDGER_H

#include "err.h"

#include <sqlite3.h>
#include <stdint.h>

/* Writes the lower-case hex SHA-256 of the file at path into hex. */
cl_err cl_sha256_file(const char *path, char hex[65]) CL_MUST_CHECK;

/*
 * Appends an entry for file_name whose content is at content_path. The
 * caller holds the transaction.
 */
cl_err cl_ledger_append(sqlite3 *db, int64_t created_ns, int64_t period_start,
                        int64_t period_end, const char *file_name,
                        const char *content_path) CL_MUST_CHECK;

/*
 * Recomputes the chain. Returns CL_OK when every entry verifies, else
 * CL_EVERIFY naming the first entry that does not.
 */
cl_err cl_ledger_verify(sqlite3 *db, int *entries) CL_MUST_CHECK;

#endif
