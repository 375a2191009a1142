/*
 * A scope in which this thread formats and parses numbers in the C locale
 * (decimal point '.', no grouping) whatever LC_NUMERIC the process has.
 * The renderers enter it, because libxlsxwriter and snprintf follow the
 * current locale and a comma decimal separator corrupts their output.
 * Other categories of the current locale are kept.
 */
#ifndef CL_C_NUMERIC_H
#define CL_C_NUMERIC_H

#include "err.h"

#include <locale.h>

struct cl_c_numeric {
        locale_t numeric;  /* the locale in use inside the scope */
        locale_t previous; /* the thread's locale before entering */
};

/*
 * Makes this thread use the current locale with LC_NUMERIC "C", until
 * cl_c_numeric_leave(s). Fails with CL_ENOMEM when the locale object
 * cannot be created; then the thread's locale is unchanged and leave must
 * not be called.
 */
cl_err cl_c_numeric_enter(struct cl_c_numeric *s) CL_MUST_CHECK;

/* Restores the thread's previous locale and frees the scope's locale. */
void cl_c_numeric_leave(struct cl_c_numeric *s);

#endif
