/*
 * Calendar arithmetic without the C library's time zone state, so reports
 * do not depend on TZ: days-from-civil after H. Hinnant's public-domain
 * algorithm description.
 */
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
cl_now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * CL_NS_PER_S + ts.tv_nsec;
}

int64_t
cl_monotonic_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * CL_NS_PER_S + ts.tv_nsec;
}

int64_t
cl_days_from_civil(int year, int month, int day)
{
        int64_t y = year - (month <= 2);
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t mp = (month + 9) % 12;
        int64_t doy = (153 * mp + 2) / 5 + day - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        return era * 146097 + doe - 719468;
}

void
cl_civil_from_days(int64_t days, int *year, int *month, int *day)
{
        int64_t z = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1;
        int64_t m = mp < 10 ? mp + 3 : mp - 9;

        *year = (int)(yoe + era * 400 + (m <= 2));
        *month = (int)m;
        *day = (int)d;
}

static int
days_in_month(int year, int month)
{
        static const int days[] = {31, 28, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

        return month == 2 && leap ? 29 : days[month - 1];
}

static int
parse_digits(const char *p, int count, int *out)
{
        int v = 0;

        for (int i = 0; i < count; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                v = v * 10 + (p[i] - '0');
        }
        *out = v;
        return 0;
}

static int
parse_ymd(const char *p, int *year, int *month, int *day)
{
        if (parse_digits(p, 4, year) != 0 || p[4] != '-' ||
            *year < CL_MIN_YEAR || *year > CL_MAX_YEAR ||
            parse_digits(p + 5, 2, month) != 0 || p[7] != '-' ||
            parse_digits(p + 8, 2, day) != 0)
                return -1;
        if (*month < 1 || *month > 12 || *day < 1 ||
            *day > days_in_month(*year, *month))
                return -1;
        return 0;
}

cl_err
cl_parse_date(const char *text, int *year, int *month, int *day)
{
        if (strlen(text) != 10 || parse_ymd(text, year, month, day) != 0)
                return cl_fail(CL_EINVAL,
                               "invalid date '%s': expected YYYY-MM-DD "
                               "from %d to %d",
                               text, CL_MIN_YEAR, CL_MAX_YEAR);
        return CL_OK;
}

cl_err
cl_parse_iso8601(const char *text, int64_t *out_ns)
{
        int year, month, day, hour, minute, second = 0, oh = 0, om = 0;
        int64_t frac_ns = 0, scale = 100000000, offset_s = 0;
        const char *p = text;
        int sign = 1;

        if (strlen(text) < 16 || parse_ymd(p, &year, &month, &day) != 0)
                goto bad;
        p += 10;
        if (*p != 'T' && *p != 't' && *p != ' ')
                goto bad;
        p++;
        if (parse_digits(p, 2, &hour) != 0 || p[2] != ':' ||
            parse_digits(p + 3, 2, &minute) != 0)
                goto bad;
        p += 5;
        if (*p == ':') {
                if (parse_digits(p + 1, 2, &second) != 0)
                        goto bad;
                p += 3;
                if (*p == '.' || *p == ',') {
                        p++;
                        if (*p < '0' || *p > '9')
                                goto bad;
                        for (; *p >= '0' && *p <= '9'; p++) {
                                frac_ns += (*p - '0') * scale;
                                scale /= 10;
                        }
                }
        }
        if (hour > 23 || minute > 59 || second > 60)
                goto bad;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                sign = *p == '-' ? -1 : 1;
                p++;
                if (parse_digits(p, 2, &oh) != 0)
                        goto bad;
                p += 2;
                if (*p == ':')
                        p++;
                if (parse_digits(p, 2, &om) != 0)
                        goto bad;
                p += 2;
                if (oh > 23 || om > 59)
                        goto bad;
                offset_s = sign * (oh * 3600 + om * 60);
        } else {
                return cl_fail(CL_EINVAL,
                               "time '%s' has no UTC offset: add Z or +09:00",
                               text);
        }
        if (*p != '\0')
                goto bad;
        *out_ns = (cl_days_from_civil(year, month, day) * 86400 + hour * 3600 +
                   minute * 60 + second - offset_s) *
                      CL_NS_PER_S +
                  frac_ns;
        return CL_OK;
bad:
        return cl_fail(CL_EINVAL,
                       "invalid time '%s': expected ISO 8601 such as "
                       "2025-10-23T02:00:00+09:00, years %d to %d",
                       text, CL_MIN_YEAR, CL_MAX_YEAR);
}

static const char *
format_parts(int64_t ns, char *buf, size_t size, int kst)
{
        int64_t s = ns / CL_NS_PER_S - (ns % CL_NS_PER_S < 0);
        int64_t days, rem;
        int y, m, d;

        if (kst)
                s += CL_KST_OFFSET_NS / CL_NS_PER_S;
        days = s / 86400 - (s % 86400 < 0);
        rem = s - days * 86400;
        cl_civil_from_days(days, &y, &m, &d);
        if (kst)
                snprintf(buf, size, "%04d-%02d-%02d %02d:%02d", y, m, d,
                         (int)(rem / 3600), (int)(rem / 60 % 60));
        else
                snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
                         (int)(rem / 3600), (int)(rem / 60 % 60),
                         (int)(rem % 60));
        return buf;
}

const char *
cl_format_utc(int64_t ns, char *buf, size_t size)
{
        return format_parts(ns, buf, size, 0);
}

const char *
cl_format_kst(int64_t ns, char *buf, size_t size)
{
        return format_parts(ns, buf, size, 1);
}

int64_t
cl_kst_day_start_ns(int year, int month, int day)
{
        return cl_days_from_civil(year, month, day) * CL_NS_PER_DAY -
               CL_KST_OFFSET_NS;
}
