/*
 * The command-line options that configure the intensity sources, shared
 * by `carbonledger intensity` and the nightly run so both accept the same
 * spelling. A caller merges cl_intensity_options into its own getopt_long
 * table with cl_intensity_merge_options() and hands every option id of
 * CL_INTENSITY_OPT_FIRST or more to cl_intensity_apply_option().
 */
#ifndef CL_INTENSITY_OPTIONS_H
#define CL_INTENSITY_OPTIONS_H

#include "intensity.h"

#include <getopt.h>
#include <stddef.h>

/* Option ids; a caller's own ids must stay below CL_INTENSITY_OPT_FIRST. */
enum {
        CL_INTENSITY_OPT_FIRST = 3000,
        CL_OPT_KPX_URL = CL_INTENSITY_OPT_FIRST,
        CL_OPT_KPX_LEGACY_URL,
        CL_OPT_ELECTRICITYMAPS_URL,
        CL_OPT_WATTTIME_URL,
        CL_OPT_STATIC_FILE,
        CL_OPT_FACTOR_SET,
        CL_OPT_CA_BUNDLE,
        CL_OPT_INSECURE,
        CL_OPT_KEY_FILE,
        CL_OPT_CONNECT_TIMEOUT_MS,
        CL_OPT_TIMEOUT_MS,
        CL_OPT_MAX_ATTEMPTS,
        CL_OPT_RETRY_DELAY_MS,
        CL_OPT_MAX_CALLS_PER_DAY,
        CL_INTENSITY_OPT_END,
};

/* The long options, ending with an all-zero entry. */
extern const struct option cl_intensity_options[];

/* Usage lines of the options, for a command's --help text. */
extern const char cl_intensity_options_usage[];

/*
 * Writes own (ending with an all-zero entry) followed by
 * cl_intensity_options and the terminator into out[0..size). Fails with
 * CL_EINVAL when it does not fit.
 */
cl_err cl_intensity_merge_options(const struct option *own, struct option *out,
                                  size_t size) CL_MUST_CHECK;

/*
 * Applies option id with its argument (NULL for --insecure) to cfg; cfg
 * keeps the pointer, so arg must outlive it (argv does). Returns 1 when
 * applied, 0 when id is not an intensity option, -1 for an invalid value
 * with a cl_fail(CL_EINVAL) message naming the option, the value and the
 * accepted range.
 */
int cl_intensity_apply_option(struct cl_intensity_config *cfg, int id,
                              const char *arg);

#endif
