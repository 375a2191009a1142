/*
 * The project's error codes and the per-thread message of the last failure.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[1024];

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

cl_err
cl_fail(cl_err code, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(last_message, sizeof(last_message), fmt, ap);
        va_end(ap);
        return code;
}

cl_err
cl_fail_errno(cl_err code, int errnum, const char *fmt, ...)
{
        va_list ap;
        size_t used;

        va_start(ap, fmt);
        vsnprintf(last_message, sizeof(last_message), fmt, ap);
        va_end(ap);
        used = strlen(last_message);
        snprintf(last_message + used, sizeof(last_message) - used, ": %s",
                 strerror(errnum));
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
