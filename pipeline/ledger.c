/*
 * Hash-chained ledger of signed reports, in the same database as the
 * samples. The chain starts from 64 zeros.
 */
#include "ledger.h"

#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char zero_hash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static void
to_hex(const unsigned char *md, unsigned int len, char *hex)
{
        for (unsigned int i = 0; i < len; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

cl_err
cl_sha256_file(const char *path, char hex[65])
{
        unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        EVP_MD_CTX *ctx;
        cl_err rc = CL_OK;
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return cl_fail_errno(CL_EIO, errno, "open %s", path);
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                rc = cl_fail(CL_ECRYPTO, "SHA-256 of %s", path);
                goto out;
        }
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                EVP_DigestUpdate(ctx, buf, (size_t)n);
        if (n < 0) {
                rc = cl_fail_errno(CL_EIO, errno, "read %s", path);
                goto out;
        }
        EVP_DigestFinal_ex(ctx, md, &md_len);
        to_hex(md, md_len, hex);
out:
        EVP_MD_CTX_free(ctx);
        close(fd);
        return rc;
}

static void
entry_hash(const char *prev, int64_t created, int64_t start, int64_t end,
           const char *name, const char *file_hash, char hex[65])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        char text[1024];
        int n;

        n = snprintf(text, sizeof(text), "%s|%lld|%lld|%lld|%s|%s", prev,
                     (long long)created, (long long)start, (long long)end, name,
                     file_hash);
        if (n < 0 || (size_t)n >= sizeof(text))
                n = (int)sizeof(text) - 1;
        EVP_Digest(text, (size_t)n, md, &md_len, EVP_sha256(), NULL);
        to_hex(md, md_len, hex);
}

static cl_err
last_hash(sqlite3 *db, char hex[65])
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        snprintf(hex, 65, "%s", zero_hash);
        rc = cl_db_prepare(db,
                           "SELECT entry_sha256 FROM report_ledger ORDER BY "
                           "entry_id DESC LIMIT 1",
                           &st);
        if (rc != CL_OK)
                return rc;
        if (sqlite3_step(st) == SQLITE_ROW)
                snprintf(hex, 65, "%s",
                         (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return CL_OK;
}

cl_err
cl_ledger_append(sqlite3 *db, int64_t created_ns, int64_t period_start,
                 int64_t period_end, const char *file_name,
                 const char *content_path)
{
        char prev[65], file_hash[65], hash[65];
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_sha256_file(content_path, file_hash);
        if (rc == CL_OK)
                rc = last_hash(db, prev);
        if (rc != CL_OK)
                return rc;
        entry_hash(prev, created_ns, period_start, period_end, file_name,
                   file_hash, hash);
        rc = cl_db_prepare(db,
                           "INSERT INTO report_ledger (created_ns, "
                           "period_start, period_end, file_name, "
                           "file_sha256, prev_sha256, entry_sha256) VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, created_ns);
        sqlite3_bind_int64(st, 2, period_start);
        sqlite3_bind_int64(st, 3, period_end);
        sqlite3_bind_text(st, 4, file_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, file_hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, prev, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                rc = cl_db_fail(db, "append to the report ledger");
        sqlite3_finalize(st);
        return rc;
}

cl_err
cl_ledger_verify(sqlite3 *db, int *entries)
{
        char prev[65], hash[65];
        sqlite3_stmt *st = NULL;
        cl_err rc;

        *entries = 0;
        snprintf(prev, sizeof(prev), "%s", zero_hash);
        rc = cl_db_prepare(db,
                           "SELECT entry_id, created_ns, period_start, "
                           "period_end, file_name, file_sha256, prev_sha256, "
                           "entry_sha256 FROM report_ledger ORDER BY entry_id",
                           &st);
        if (rc != CL_OK)
                return rc;
        while (sqlite3_step(st) == SQLITE_ROW) {
                const char *stored_prev =
                    (const char *)sqlite3_column_text(st, 6);
                const char *stored = (const char *)sqlite3_column_text(st, 7);

                entry_hash(prev, sqlite3_column_int64(st, 1),
                           sqlite3_column_int64(st, 2),
                           sqlite3_column_int64(st, 3),
                           (const char *)sqlite3_column_text(st, 4),
                           (const char *)sqlite3_column_text(st, 5), hash);
                if (strcmp(stored_prev, prev) != 0 ||
                    strcmp(stored, hash) != 0) {
                        rc = cl_fail(CL_EVERIFY,
                                     "report ledger entry %lld (%s) does not "
                                     "match the chain",
                                     (long long)sqlite3_column_int64(st, 0),
                                     (const char *)sqlite3_column_text(st, 4));
                        break;
                }
                snprintf(prev, sizeof(prev), "%s", hash);
                (*entries)++;
        }
        sqlite3_finalize(st);
        return rc;
}
