/*
 * Thread-local switch of LC_NUMERIC with newlocale and uselocale, so no
 * other thread sees a change (setlocale would change the whole process).
 */
#include "c_numeric.h"

#include <errno.h>

cl_err
cl_c_numeric_enter(struct cl_c_numeric *s)
{
        locale_t base;

        base = duplocale(uselocale((locale_t)0));
        if (base == (locale_t)0)
                return cl_fail_errno(CL_ENOMEM, errno,
                                     "cannot copy the current locale");
        /* On success newlocale reuses base, on failure base is still ours. */
        s->numeric = newlocale(LC_NUMERIC_MASK, "C", base);
        if (s->numeric == (locale_t)0) {
                int saved = errno;

                freelocale(base);
                return cl_fail_errno(CL_ENOMEM, saved,
                                     "cannot create a locale with "
                                     "LC_NUMERIC C");
        }
        s->previous = uselocale(s->numeric);
        return CL_OK;
}

void
cl_c_numeric_leave(struct cl_c_numeric *s)
{
        uselocale(s->previous);
        freelocale(s->numeric);
        s->numeric = (locale_t)0;
}
