/*
 * key=value logging to stderr. Each line is formatted in one buffer and
 * written with one fputs, so lines from one process do not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum cl_log_level min_level = CL_LOG_INFO;
static const char *program_name;

void
cl_log_set_level(enum cl_log_level level)
{
        min_level = level;
}

void
cl_log_set_program(const char *name)
{
        program_name = name;
}

static const char *
level_name(enum cl_log_level level)
{
        switch (level) {
        case CL_LOG_DEBUG:
                return "debug";
        case CL_LOG_INFO:
                return "info";
        case CL_LOG_WARN:
                return "warn";
        case CL_LOG_ERROR:
                return "error";
        }
        return "info";
}

void
cl_log(enum cl_log_level level, const char *event, const char *fmt, ...)
{
        char line[2048];
        struct timespec now;
        struct tm tm;
        size_t used;
        va_list ap;
        int n;

        if (level < min_level)
                return;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        n = snprintf(line, sizeof(line),
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000L,
                     level_name(level));
        used = (size_t)n;
        if (program_name != NULL && used < sizeof(line))
                used += (size_t)snprintf(line + used, sizeof(line) - used,
                                         " prog=%s", program_name);
        if (used < sizeof(line))
                used += (size_t)snprintf(line + used, sizeof(line) - used,
                                         " event=%s", event);
        if (fmt != NULL && fmt[0] != '\0' && used + 1 < sizeof(line)) {
                line[used++] = ' ';
                va_start(ap, fmt);
                vsnprintf(line + used, sizeof(line) - used, fmt, ap);
                va_end(ap);
        }
        used = strlen(line);
        /* One event is one line, whatever the fields contained. */
        for (size_t i = 0; i < used; i++)
                if ((unsigned char)line[i] < 0x20)
                        line[i] = ' ';
        if (used + 1 >= sizeof(line))
                used = sizeof(line) - 2;
        line[used] = '\n';
        line[used + 1] = '\0';
        fputs(line, stderr);
}

const char *
cl_log_quote(const char *value, char *buf, size_t size)
{
        size_t out = 0;
        int needs_quotes = value[0] == '\0';
        const char *p;

        for (p = value; *p != '\0'; p++)
                if (*p == ' ' || *p == '"' || *p == '=' ||
                    (unsigned char)*p < 0x20)
                        needs_quotes = 1;
        if (!needs_quotes) {
                snprintf(buf, size, "%s", value);
                return buf;
        }
        if (size < 3) {
                buf[0] = '\0';
                return buf;
        }
        buf[out++] = '"';
        for (p = value; *p != '\0' && out + 3 < size; p++) {
                if (*p == '"' || *p == '\\') {
                        buf[out++] = '\\';
                        buf[out++] = *p;
                } else if ((unsigned char)*p < 0x20) {
                        buf[out++] = ' ';
                } else {
                        buf[out++] = *p;
                }
        }
        buf[out++] = '"';
        buf[out] = '\0';
        return buf;
}
