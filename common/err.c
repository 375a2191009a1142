/*
 * The project's error codes and the per-thread message of the last failure.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[1024];

/*
 * Makes msg safe inside a quoted key=value log field: control characters
 * (a newline from file content would forge a log line) become spaces and
 * double quotes become single quotes.
 */
static void
sanitise(char *msg)
{
        for (char *p = msg; *p != '\0'; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
                else if (*p == '"')
                        *p = '\'';
        }
}

const char *
cl_strerror(cl_err code)
{
        switch (code) {
        case CL_OK:
                return "success";
        case CL_EINVAL:
                return "invalid input";
        case CL_EIO:
                return "I/O error";
        case CL_ENOMEM:
                return "out of memory";
        case CL_EDB:
                return "database error";
        case CL_EFORMAT:
                return "malformed content";
        case CL_ENOTFOUND:
                return "not found";
        case CL_EVERSION:
                return "unsupported version";
        case CL_ECRYPTO:
                return "cryptography error";
        case CL_EVERIFY:
                return "verification failed";
        case CL_ERENDER:
                return "report rendering failed";
        case CL_ENET:
                return "network request failed";
        }
        return "unknown error";
}

/*
 * Arguments may include cl_last_error() itself, so the message is formatted
 * into a scratch buffer and copied.
 */
cl_err
cl_fail(cl_err code, const char *fmt, ...)
{
        char scratch[sizeof(last_message)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(scratch, sizeof(scratch), fmt, ap);
        va_end(ap);
        sanitise(scratch);
        memcpy(last_message, scratch, sizeof(last_message));
        return code;
}

cl_err
cl_fail_errno(cl_err code, int errnum, const char *fmt, ...)
{
        char scratch[sizeof(last_message)];
        va_list ap;
        size_t used;

        va_start(ap, fmt);
        vsnprintf(scratch, sizeof(scratch), fmt, ap);
        va_end(ap);
        used = strlen(scratch);
        snprintf(scratch + used, sizeof(scratch) - used, ": %s",
                 strerror(errnum));
        sanitise(scratch);
        memcpy(last_message, scratch, sizeof(last_message));
        return code;
}

const char *
cl_last_error(void)
{
        return last_message[0] != '\0' ? last_message : "unknown error";
}

void
cl_clear_error(void)
{
        last_message[0] = '\0';
}
