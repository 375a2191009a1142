/*
 * Meter CSV import and the energy sums behind PUE. The CSV is small
 * (hourly rows), so it is read whole and parsed line by line.
 */
#include "meter.h"

#include "db.h"
#include "fsutil.h"
#include "timeutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METER_MAX_BYTES (64u << 20)
#define METER_HEADER "interval_start,interval_end,facility_kwh,it_kwh"
/* Plausibility bounds of one row: no site's PUE reaches 10, and 1 GW of
   average facility power is beyond the largest data centres. */
#define METER_MAX_PUE 10.0
#define METER_MAX_KW 1e6
#define METER_MAX_INTERVAL_NS (INT64_C(31) * 86400 * 1000000000)

struct meter_row {
        int64_t start_ns, end_ns;
        double facility_kwh, it_kwh;
        int line;
};

/* Splits line (modified in place) at commas into at most max fields. */
static int
split_fields(char *line, char **fields, int max)
{
        int n = 0;
        char *p = line;

        for (;;) {
                char *comma = strchr(p, ',');

                if (n == max)
                        return max + 1;
                fields[n++] = p;
                if (comma == NULL)
                        break;
                *comma = '\0';
                p = comma + 1;
        }
        for (int i = 0; i < n; i++) {
                char *f = fields[i], *end;

                while (*f == ' ' || *f == '"')
                        f++;
                end = f + strlen(f);
                while (end > f &&
                       (end[-1] == ' ' || end[-1] == '"' || end[-1] == '\r'))
                        *--end = '\0';
                fields[i] = f;
        }
        return n;
}

static cl_err
parse_kwh(const char *text, const char *path, int line, const char *column,
          double *out)
{
        char *end;

        /* strtod also takes hex, inf and nan, which no meter writes. */
        if (text[strspn(text, "0123456789.eE+-")] != '\0')
                return cl_fail(CL_EFORMAT,
                               "%s:%d: %s '%s' is not a decimal number", path,
                               line, column, text);
        errno = 0;
        *out = strtod(text, &end);
        if (text[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(*out))
                return cl_fail(CL_EFORMAT, "%s:%d: %s '%s' is not a number",
                               path, line, column, text);
        if (*out < 0)
                return cl_fail(CL_EFORMAT, "%s:%d: %s %s is negative", path,
                               line, column, text);
        return CL_OK;
}

static cl_err
parse_row(char *line, const char *path, int lineno, struct meter_row *row)
{
        char *f[5];
        int n = split_fields(line, f, 4);
        double hours;
        cl_err rc;

        if (n != 4)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: expected 4 columns (" METER_HEADER
                               "), found %d",
                               path, lineno, n > 4 ? 5 : n);
        rc = cl_parse_iso8601(f[0], &row->start_ns);
        if (rc == CL_OK)
                rc = cl_parse_iso8601(f[1], &row->end_ns);
        if (rc != CL_OK)
                return cl_fail(CL_EFORMAT, "%s:%d: %s", path, lineno,
                               cl_last_error());
        if (row->end_ns - row->start_ns > METER_MAX_INTERVAL_NS)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: interval %s to %s is longer than 31 "
                               "days; split it into the meter's own "
                               "intervals",
                               path, lineno, f[0], f[1]);
        if (row->end_ns <= row->start_ns)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: interval_end %s is not after "
                               "interval_start %s",
                               path, lineno, f[1], f[0]);
        rc = parse_kwh(f[2], path, lineno, "facility_kwh", &row->facility_kwh);
        if (rc == CL_OK)
                rc = parse_kwh(f[3], path, lineno, "it_kwh", &row->it_kwh);
        if (rc != CL_OK)
                return rc;
        if (row->facility_kwh < row->it_kwh)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: facility_kwh %g is below it_kwh %g; "
                               "facility energy includes IT energy",
                               path, lineno, row->facility_kwh, row->it_kwh);
        if (row->it_kwh <= 0)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: it_kwh is 0, so no PUE can be formed "
                               "for the interval",
                               path, lineno);
        if (row->facility_kwh > METER_MAX_PUE * row->it_kwh)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: facility_kwh %g is more than %.0f "
                               "times it_kwh %g, which is not a plausible "
                               "PUE",
                               path, lineno, row->facility_kwh, METER_MAX_PUE,
                               row->it_kwh);
        hours = (double)(row->end_ns - row->start_ns) / 3.6e12;
        if (row->facility_kwh / hours > METER_MAX_KW)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: facility_kwh %g over %.2f h is an "
                               "average above %.0f kW, not a plausible "
                               "site",
                               path, lineno, row->facility_kwh, hours,
                               METER_MAX_KW);
        return CL_OK;
}

static cl_err
parse_csv(char *text, const char *path, struct meter_row **rows, int *count)
{
        struct meter_row *out = NULL;
        int lineno = 0, n = 0, cap = 0;
        char *line = text;
        cl_err rc = CL_OK;

        while (line != NULL && *line != '\0') {
                char *next = strchr(line, '\n');

                if (next != NULL)
                        *next++ = '\0';
                lineno++;
                if (line[strspn(line, " \r\t")] == '\0') {
                        line = next;
                        continue;
                }
                if (lineno == 1) {
                        char header[128];

                        /* Spreadsheet exports often start with a BOM. */
                        if (strncmp(line, "\xef\xbb\xbf", 3) == 0)
                                line += 3;
                        snprintf(header, sizeof(header), "%s", line);
                        header[strcspn(header, "\r")] = '\0';
                        if (strcmp(header, METER_HEADER) != 0) {
                                rc = cl_fail(
                                    CL_EFORMAT,
                                    "%s:1: header must be '" METER_HEADER "'",
                                    path);
                                break;
                        }
                        line = next;
                        continue;
                }
                if (n == cap) {
                        int ncap = cap ? cap * 2 : 256;
                        void *grown = realloc(out, (size_t)ncap * sizeof(*out));

                        if (grown == NULL) {
                                rc = cl_fail(CL_ENOMEM, "%s", path);
                                break;
                        }
                        out = grown;
                        cap = ncap;
                }
                rc = parse_row(line, path, lineno, &out[n]);
                if (rc != CL_OK)
                        break;
                out[n].line = lineno;
                n++;
                line = next;
        }
        if (rc == CL_OK && lineno == 0)
                rc = cl_fail(CL_EFORMAT, "%s: empty file", path);
        if (rc != CL_OK) {
                free(out);
                return rc;
        }
        *rows = out;
        *count = n;
        return CL_OK;
}

static int
compare_start(const void *a, const void *b)
{
        const struct meter_row *ra = a, *rb = b;

        if (ra->start_ns != rb->start_ns)
                return ra->start_ns < rb->start_ns ? -1 : 1;
        return ra->line - rb->line;
}

/* Rejects rows of the file whose intervals overlap, naming both lines. */
static cl_err
check_file_overlaps(struct meter_row *rows, int count, const char *path)
{
        if (count > 1)
                qsort(rows, (size_t)count, sizeof(*rows), compare_start);
        for (int i = 1; i < count; i++)
                if (rows[i].start_ns < rows[i - 1].end_ns)
                        return cl_fail(CL_EFORMAT,
                                       "%s:%d: interval overlaps the one on "
                                       "line %d; energy would be counted "
                                       "twice",
                                       path, rows[i].line, rows[i - 1].line);
        return CL_OK;
}

/*
 * Rejects a row overlapping a stored interval other than the same one,
 * and counts rows that replace a stored interval exactly.
 */
static cl_err
check_stored_overlaps(sqlite3 *db, const struct meter_row *rows, int count,
                      const char *path, int *replaced)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        *replaced = 0;
        rc = cl_db_prepare(db,
                           "SELECT start_ns, end_ns, source FROM meter WHERE "
                           "start_ns < ?2 AND end_ns > ?1",
                           &st);
        if (rc != CL_OK)
                return rc;
        for (int i = 0; rc == CL_OK && i < count; i++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, rows[i].start_ns);
                sqlite3_bind_int64(st, 2, rows[i].end_ns);
                while (sqlite3_step(st) == SQLITE_ROW) {
                        int64_t s = sqlite3_column_int64(st, 0);
                        int64_t e = sqlite3_column_int64(st, 1);
                        char a[32], b[32];

                        if (s == rows[i].start_ns && e == rows[i].end_ns) {
                                (*replaced)++;
                                continue;
                        }
                        rc = cl_fail(CL_EFORMAT,
                                     "%s:%d: interval overlaps the stored "
                                     "interval %s to %s (from %s); energy "
                                     "would be counted twice",
                                     path, rows[i].line,
                                     cl_format_utc(s, a, sizeof(a)),
                                     cl_format_utc(e, b, sizeof(b)),
                                     (const char *)sqlite3_column_text(st, 2));
                        break;
                }
        }
        sqlite3_finalize(st);
        return rc;
}

cl_err
cl_meter_import(sqlite3 *db, const char *csv_path, int *rows, int *replaced)
{
        struct meter_row *parsed = NULL;
        sqlite3_stmt *st = NULL;
        char *text = NULL;
        int count = 0;
        cl_err rc;

        *rows = 0;
        *replaced = 0;
        rc = cl_read_file(csv_path, METER_MAX_BYTES, &text, NULL);
        if (rc != CL_OK)
                return rc;
        rc = parse_csv(text, csv_path, &parsed, &count);
        if (rc == CL_OK)
                rc = check_file_overlaps(parsed, count, csv_path);
        if (rc != CL_OK)
                goto out;
        rc = cl_db_exec(db, "BEGIN IMMEDIATE");
        if (rc != CL_OK)
                goto out;
        rc = check_stored_overlaps(db, parsed, count, csv_path, replaced);
        if (rc == CL_OK)
                rc = cl_db_prepare(
                    db,
                    "INSERT INTO meter (start_ns, end_ns, "
                    "facility_kwh, it_kwh, source, imported_ns) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                    "ON CONFLICT (start_ns, end_ns) DO UPDATE SET "
                    "facility_kwh = excluded.facility_kwh, "
                    "it_kwh = excluded.it_kwh, "
                    "source = excluded.source, "
                    "imported_ns = excluded.imported_ns",
                    &st);
        for (int i = 0; rc == CL_OK && i < count; i++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, parsed[i].start_ns);
                sqlite3_bind_int64(st, 2, parsed[i].end_ns);
                sqlite3_bind_double(st, 3, parsed[i].facility_kwh);
                sqlite3_bind_double(st, 4, parsed[i].it_kwh);
                sqlite3_bind_text(st, 5, csv_path, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 6, cl_now_ns());
                if (sqlite3_step(st) != SQLITE_DONE)
                        rc = cl_db_fail(db, "store meter row");
        }
        sqlite3_finalize(st);
        if (rc == CL_OK)
                rc = cl_db_exec(db, "COMMIT");
        if (rc != CL_OK) {
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                *replaced = 0;
        } else {
                *rows = count;
        }
out:
        free(parsed);
        free(text);
        return rc;
}

cl_err
cl_meter_totals(sqlite3 *db, int64_t start_ns, int64_t end_ns,
                struct cl_meter_totals *out)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        memset(out, 0, sizeof(*out));
        rc = cl_db_prepare(db,
                           "SELECT start_ns, end_ns, facility_kwh, it_kwh "
                           "FROM meter WHERE end_ns > ?1 AND start_ns < ?2",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, start_ns);
        sqlite3_bind_int64(st, 2, end_ns);
        while (sqlite3_step(st) == SQLITE_ROW) {
                int64_t s = sqlite3_column_int64(st, 0);
                int64_t e = sqlite3_column_int64(st, 1);
                int64_t lo = s > start_ns ? s : start_ns;
                int64_t hi = e < end_ns ? e : end_ns;
                double share = (double)(hi - lo) / (double)(e - s);

                out->intervals++;
                out->covered_ns += hi - lo;
                out->facility_kwh += sqlite3_column_double(st, 2) * share;
                out->it_kwh += sqlite3_column_double(st, 3) * share;
        }
        sqlite3_finalize(st);
        return CL_OK;
}
