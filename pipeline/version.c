/* Version string of the pipeline, for --version and the logs. */
#include "err.h"

const char *cl_pipeline_version(void);

const char *
cl_pipeline_version(void)
{
        return CL_VERSION;
}
