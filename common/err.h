/*
 * One error type for the project's own functions.
 *
 * A failing function returns a cl_err code and records a message that names
 * the input and the reason with cl_fail(); the caller that reports the error
 * to the user prints cl_last_error(). The message buffer is per thread, so a
 * later failure overwrites an earlier one.
 */
#ifndef CL_ERR_H
#define CL_ERR_H

#define CL_MUST_CHECK __attribute__((warn_unused_result))
#define CL_PRINTF(f, a) __attribute__((format(printf, f, a)))

typedef enum cl_err {
        CL_OK = 0,
        CL_EINVAL,    /* invalid argument or input value */
        CL_EIO,       /* a system call on a file failed */
        CL_ENOMEM,    /* allocation failed */
        CL_EDB,       /* SQLite reported an error */
        CL_EFORMAT,   /* malformed file content */
        CL_ENOTFOUND, /* a named thing does not exist */
        CL_EVERSION,  /* database schema newer than this program */
        CL_ECRYPTO,   /* OpenSSL reported an error */
        CL_EVERIFY,   /* a signature or digest did not verify */
        CL_ERENDER,   /* a report library reported an error */
        CL_ENET,      /* a network request failed */
} cl_err;

/* Returns a static description of code. */
const char *cl_strerror(cl_err code);

/*
 * Records a message for code, formatted like printf, and returns code, so a
 * caller can write `return cl_fail(CL_EINVAL, "...", ...)`.
 */
cl_err cl_fail(cl_err code, const char *fmt, ...) CL_PRINTF(2, 3);

/* Like cl_fail, and appends ": " and strerror(errnum). */
cl_err cl_fail_errno(cl_err code, int errnum, const char *fmt, ...)
    CL_PRINTF(3, 4);

/*
 * Returns the message of the last failure on this thread, or the text of
 * the code when none was recorded. The pointer is valid until the next
 * cl_fail call on this thread.
 */
const char *cl_last_error(void);

/* Forgets the last recorded message. */
void cl_clear_error(void);

#endif
