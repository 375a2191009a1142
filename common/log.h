/*
 * Logging to stderr as one key=value line per event:
 *
 *     ts=2026-12-03T22:11:06.123Z level=info event=sample_stored pods=12
 *
 * The caller passes the fields after `event=` as a printf format. Values
 * that may contain spaces go through cl_log_quote(). Never pass a secret.
 */
#ifndef CL_LOG_H
#define CL_LOG_H

#include "err.h"

#include <stddef.h>

enum cl_log_level {
        CL_LOG_DEBUG,
        CL_LOG_INFO,
        CL_LOG_WARN,
        CL_LOG_ERROR,
};

/* Sets the lowest level written; the default is CL_LOG_INFO. */
void cl_log_set_level(enum cl_log_level level);

/* Sets the program name written as prog=NAME on every line. */
void cl_log_set_program(const char *name);

/* Writes one line at level: event is a short snake_case name. */
void cl_log(enum cl_log_level level, const char *event, const char *fmt, ...)
    CL_PRINTF(3, 4);

/*
 * Copies value into buf as a log value: unchanged when it has no space,
 * quote or control character, otherwise in double quotes with those
 * escaped. Returns buf. The result is truncated to size - 1 bytes.
 */
const char *cl_log_quote(const char *value, char *buf, size_t size);

#define cl_debug(ev, ...) cl_log(CL_LOG_DEBUG, ev, __VA_ARGS__)
#define cl_info(ev, ...) cl_log(CL_LOG_INFO, ev, __VA_ARGS__)
#define cl_warn(ev, ...) cl_log(CL_LOG_WARN, ev, __VA_ARGS__)
#define cl_error(ev, ...) cl_log(CL_LOG_ERROR, ev, __VA_ARGS__)

#endif
