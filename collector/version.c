/* Version string of the collector, for --version and the logs. */
#include "err.h"

const char *cl_collector_version(void);

const char *
cl_collector_version(void)
{
        return CL_VERSION;
}
