/*
 * Options of the intensity sources (see intensity_options.h). Numbers are
 * parsed strictly: the whole argument, decimal, within the stated range.
 */
#include "intensity_options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct option cl_intensity_options[] = {
    {"kpx-url", required_argument, NULL, CL_OPT_KPX_URL},
    {"kpx-legacy-url", required_argument, NULL, CL_OPT_KPX_LEGACY_URL},
    {"electricitymaps-url", required_argument, NULL,
     CL_OPT_ELECTRICITYMAPS_URL},
    {"watttime-url", required_argument, NULL, CL_OPT_WATTTIME_URL},
    {"static-file", required_argument, NULL, CL_OPT_STATIC_FILE},
    {"factor-set", required_argument, NULL, CL_OPT_FACTOR_SET},
    {"ca-bundle", required_argument, NULL, CL_OPT_CA_BUNDLE},
    {"insecure", no_argument, NULL, CL_OPT_INSECURE},
    {"key-file", required_argument, NULL, CL_OPT_KEY_FILE},
    {"connect-timeout-ms", required_argument, NULL, CL_OPT_CONNECT_TIMEOUT_MS},
    {"timeout-ms", required_argument, NULL, CL_OPT_TIMEOUT_MS},
    {"max-attempts", required_argument, NULL, CL_OPT_MAX_ATTEMPTS},
    {"retry-delay-ms", required_argument, NULL, CL_OPT_RETRY_DELAY_MS},
    {"max-calls-per-day", required_argument, NULL, CL_OPT_MAX_CALLS_PER_DAY},
    {NULL, 0, NULL, 0},
};

const char cl_intensity_options_usage[] =
    "Intensity source options:\n"
    "  --kpx-url URL            KPX portal gateway base URL (default\n"
    "                           https://apis.data.go.kr/B552115)\n"
    "  --kpx-legacy-url URL     KPX legacy host, asked when the gateway\n"
    "                           stays down; \"\" disables it\n"
    "  --electricitymaps-url URL  Electricity Maps v3 base URL\n"
    "  --watttime-url URL       WattTime base URL\n"
    "  --static-file FILE       CSV or JSON hours for source static\n"
    "  --factor-set NAME        KPX per-fuel factors: lifecycle (default)\n"
    "                           or direct (templates/kpx-fuels.json)\n"
    "  --ca-bundle FILE         CA certificates for https (default: the\n"
    "                           system store)\n"
    "  --insecure               do not verify TLS certificates (logged on\n"
    "                           every run; never for production)\n"
    "  --key-file FILE          NAME=value keys, mode 0600; default: the\n"
    "                           environment (CARBONLEDGER_KPX_KEY,\n"
    "                           CARBONLEDGER_ELECTRICITYMAPS_TOKEN,\n"
    "                           CARBONLEDGER_WATTTIME_USER and _PASSWORD)\n"
    "  --connect-timeout-ms MS  connect timeout (default 5000 ms)\n"
    "  --timeout-ms MS          total time of one request (default 30000)\n"
    "  --max-attempts N         requests per call incl. retries (default 4)\n"
    "  --retry-delay-ms MS      first retry delay, doubled each retry with\n"
    "                           jitter (default 1000 ms)\n"
    "  --max-calls-per-day N    requests per source and KST day (default "
    "80)\n";

cl_err
cl_intensity_merge_options(const struct option *own, struct option *out,
                           size_t size)
{
        size_t n = 0;

        for (const struct option *o = own; o != NULL && o->name != NULL; o++) {
                if (n + 1 >= size)
                        return cl_fail(CL_EINVAL, "option table too small");
                out[n++] = *o;
        }
        for (const struct option *o = cl_intensity_options; o->name != NULL;
             o++) {
                if (n + 1 >= size)
                        return cl_fail(CL_EINVAL, "option table too small");
                out[n++] = *o;
        }
        memset(&out[n], 0, sizeof(out[n]));
        return CL_OK;
}

static int
parse_long(const char *option, const char *arg, long min, long max, long *out)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(arg, &end, 10);
        if (arg[0] == '\0' || *end != '\0' || errno != 0 || v < min ||
            v > max) {
                cl_fail(CL_EINVAL, "invalid --%s '%s': expected %ld to %ld",
                        option, arg, min, max);
                return -1;
        }
        *out = v;
        return 1;
}

int
cl_intensity_apply_option(struct cl_intensity_config *cfg, int id,
                          const char *arg)
{
        long v = 0;
        int rc = 1;

        switch (id) {
        case CL_OPT_KPX_URL:
                cfg->kpx_url = arg;
                break;
        case CL_OPT_KPX_LEGACY_URL:
                cfg->kpx_legacy_url = arg;
                break;
        case CL_OPT_ELECTRICITYMAPS_URL:
                cfg->electricitymaps_url = arg;
                break;
        case CL_OPT_WATTTIME_URL:
                cfg->watttime_url = arg;
                break;
        case CL_OPT_STATIC_FILE:
                cfg->static_path = arg;
                break;
        case CL_OPT_FACTOR_SET:
                cfg->factor_set = arg;
                break;
        case CL_OPT_CA_BUNDLE:
                cfg->ca_bundle = arg;
                break;
        case CL_OPT_INSECURE:
                cfg->insecure = 1;
                break;
        case CL_OPT_KEY_FILE:
                cfg->key_file = arg;
                break;
        case CL_OPT_CONNECT_TIMEOUT_MS:
                rc = parse_long("connect-timeout-ms", arg, 1, 600000, &v);
                cfg->connect_timeout_ms = v;
                break;
        case CL_OPT_TIMEOUT_MS:
                rc = parse_long("timeout-ms", arg, 1, 3600000, &v);
                cfg->total_timeout_ms = v;
                break;
        case CL_OPT_MAX_ATTEMPTS:
                rc = parse_long("max-attempts", arg, 1, 10, &v);
                cfg->max_attempts = (int)v;
                break;
        case CL_OPT_RETRY_DELAY_MS:
                rc = parse_long("retry-delay-ms", arg, 1, 600000, &v);
                cfg->backoff_base_ms = v;
                break;
        case CL_OPT_MAX_CALLS_PER_DAY:
                rc = parse_long("max-calls-per-day", arg, 1, 100000, &v);
                cfg->max_calls_per_day = (int)v;
                break;
        default:
                return 0;
        }
        return rc;
}
