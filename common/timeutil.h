/*
 * Time as the database stores it: int64 nanoseconds since the Unix epoch,
 * UTC. Reports show Korea Standard Time (UTC+9, no daylight saving time).
 */
#ifndef CL_TIMEUTIL_H
#define CL_TIMEUTIL_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define CL_NS_PER_S INT64_C(1000000000)
#define CL_NS_PER_HOUR (INT64_C(3600) * CL_NS_PER_S)
#define CL_NS_PER_DAY (INT64_C(86400) * CL_NS_PER_S)
/* Offset of KST from UTC, in nanoseconds. */
#define CL_KST_OFFSET_NS (INT64_C(9) * CL_NS_PER_HOUR)

/*
 * Years the parsers accept: int64 nanoseconds since 1970 reach 2262, and
 * no sample predates the Unix epoch.
 */
#define CL_MIN_YEAR 1970
#define CL_MAX_YEAR 2200

/* Returns the wall-clock time in ns since the epoch. */
int64_t cl_now_ns(void);

/* Returns the monotonic clock in ns, for measuring elapsed time. */
int64_t cl_monotonic_ns(void);

/* Returns the days since 1970-01-01 of a proleptic Gregorian date. */
int64_t cl_days_from_civil(int year, int month, int day);

/* Splits days since 1970-01-01 into a Gregorian date. */
void cl_civil_from_days(int64_t days, int *year, int *month, int *day);

/*
 * Parses "YYYY-MM-DD" into its parts, checking the day against the month.
 * Fails with CL_EINVAL naming the text.
 */
cl_err cl_parse_date(const char *text, int *year, int *month,
                     int *day) CL_MUST_CHECK;

/*
 * Parses ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.fff]]" followed by "Z" or
 * "+HH:MM" / "-HH:MM" (also "+HHMM") into ns since the epoch. A time
 * without an offset is rejected, because it is ambiguous.
 */
cl_err cl_parse_iso8601(const char *text, int64_t *out_ns) CL_MUST_CHECK;

/* Formats ns as "YYYY-MM-DDTHH:MM:SSZ" (UTC, whole seconds) into buf. */
const char *cl_format_utc(int64_t ns, char *buf, size_t size);

/* Formats ns as "YYYY-MM-DD HH:MM" in KST into buf. */
const char *cl_format_kst(int64_t ns, char *buf, size_t size);

/*
 * Returns the UTC start (ns) of the KST calendar day year-month-day; the
 * day ends 24 hours later (exclusive).
 */
int64_t cl_kst_day_start_ns(int year, int month, int day);

#endif
