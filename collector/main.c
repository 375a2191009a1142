/*
 * carbonledger-collector: the node daemon. Parses options, opens the
 * database, and runs the sampling cycle every --interval seconds until
 * SIGTERM or SIGINT, which end the loop after a closing sample so the last
 * partial interval is stored too. Exits 0 on a signal or after --once, 1
 * when start-up or a sample fails in --once mode, 2 for invalid usage.
 * After start-up a failing sample is logged and the loop goes on.
 */
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "sampler.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* Power model defaults: CPU packages and DRAM of a typical one-socket
   server, idle and fully busy. Override them with a measurement. */
#define DEFAULT_IDLE_WATTS 50.0
#define DEFAULT_MAX_WATTS 200.0
#define DEFAULT_ZONE_MAX_WATTS 1000.0
#define DEFAULT_MAX_INTERVAL_S 300.0
/* Kepler's zone counters are summed over sockets, so its bound is a
   whole node's: a large two-socket server stays below 2 kW. */
#define DEFAULT_KEPLER_MAX_WATTS 2000.0

static volatile sig_atomic_t stop_requested;

static void
on_signal(int signo)
{
        (void)signo;
        stop_requested = 1;
}

static void
usage(FILE *out)
{
        fputs("Usage: carbonledger-collector --db PATH [options]\n"
              "\n"
              "Samples the node's RAPL energy counters and its pods' CPU "
              "time and\n"
              "appends one SQLite transaction per interval.\n"
              "\n"
              "  --db PATH            database file (created when missing)\n"
              "  --interval SECONDS   time between samples, fractions "
              "allowed (default 5)\n"
              "  --once               take one sample, commit, exit\n"
              "  --timestamp TIME     with --once: store the sample at this "
              "ISO 8601 time\n"
              "                       instead of the clock (replaying "
              "recorded trees)\n"
              "  --sysfs DIR          sysfs root (default /sys)\n"
              "  --procfs DIR         procfs root (default /proc)\n"
              "  --cgroupfs DIR       cgroup v2 mount, or the folder of the "
              "v1 controller\n"
              "                       mounts (default /sys/fs/cgroup)\n"
              "  --pod-logs DIR       kubelet pod log folder, for pod names "
              "(default\n"
              "                       /var/log/pods)\n"
              "  --node-name NAME     node name (default: the host name)\n"
              "  --idle-watts W       power model without RAPL: power at 0 % "
              "busy (default 50)\n"
              "  --max-watts W        power model without RAPL: power at "
              "100 % busy (default 200)\n"
              "  --zone-max-watts W   highest plausible power of one RAPL "
              "zone (default 1000)\n"
              "  --max-interval SECONDS  longer intervals are stored as gaps "
              "(default 300)\n"
              "  --metrics-listen ADDR:PORT  serve Prometheus metrics at "
              "/metrics on this\n"
              "                       numeric address, e.g. 127.0.0.1:9464 "
              "(default: off)\n"
              "  --source local|kepler  energy from this node's RAPL or "
              "power model (local,\n"
              "                       the default) or from a Kepler "
              "exporter\n"
              "  --kepler-url URL     Kepler's /metrics URL (with --source "
              "kepler)\n"
              "  --kepler-zone ZONE   the one Kepler zone used (default "
              "package)\n"
              "  --kepler-max-watts W highest plausible node power for "
              "Kepler counters\n"
              "                       (default 2000)\n"
              "  --verbose            log every sample at info level\n"
              "  --help, --version\n",
              out);
}

static int
parse_double(const char *text, const char *option, double min, double *out)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(text, &end);
        if (errno != 0 || end == text || *end != '\0' || !isfinite(v) ||
            v < min) {
                fprintf(stderr,
                        "carbonledger-collector: invalid %s '%s': expected "
                        "a number of at least %g\n",
                        option, text, min);
                return -1;
        }
        *out = v;
        return 0;
}

struct options {
        const char *db_path;
        double interval_s;
        int once;
        int verbose;
        const char *timestamp;
        int64_t timestamp_ns;
        const char *metrics_listen;
        const char *source;
        struct cl_sampler_config sampler;
        char host[256];
};

enum {
        OPT_DB = 1000,
        OPT_INTERVAL,
        OPT_ONCE,
        OPT_TIMESTAMP,
        OPT_SYSFS,
        OPT_PROCFS,
        OPT_CGROUPFS,
        OPT_POD_LOGS,
        OPT_NODE_NAME,
        OPT_IDLE_WATTS,
        OPT_MAX_WATTS,
        OPT_ZONE_MAX_WATTS,
        OPT_MAX_INTERVAL,
        OPT_VERBOSE,
        OPT_METRICS_LISTEN,
        OPT_SOURCE,
        OPT_KEPLER_URL,
        OPT_KEPLER_ZONE,
        OPT_KEPLER_MAX_WATTS,
        OPT_HELP,
        OPT_VERSION,
};

static const struct option long_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"once", no_argument, NULL, OPT_ONCE},
    {"timestamp", required_argument, NULL, OPT_TIMESTAMP},
    {"sysfs", required_argument, NULL, OPT_SYSFS},
    {"procfs", required_argument, NULL, OPT_PROCFS},
    {"cgroupfs", required_argument, NULL, OPT_CGROUPFS},
    {"pod-logs", required_argument, NULL, OPT_POD_LOGS},
    {"node-name", required_argument, NULL, OPT_NODE_NAME},
    {"idle-watts", required_argument, NULL, OPT_IDLE_WATTS},
    {"max-watts", required_argument, NULL, OPT_MAX_WATTS},
    {"zone-max-watts", required_argument, NULL, OPT_ZONE_MAX_WATTS},
    {"max-interval", required_argument, NULL, OPT_MAX_INTERVAL},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"kepler-url", required_argument, NULL, OPT_KEPLER_URL},
    {"kepler-zone", required_argument, NULL, OPT_KEPLER_ZONE},
    {"kepler-max-watts", required_argument, NULL, OPT_KEPLER_MAX_WATTS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Kubernetes node names are DNS subdomains: at most 253 characters. */
static int
valid_node_name(const char *name)
{
        size_t len = strlen(name);

        if (len == 0 || len > 253)
                return 0;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)name[i] <= 0x20 || name[i] == 0x7f ||
                    name[i] == '"')
                        return 0;
        return 1;
}

/*
 * Takes an exclusive lock on the database file, so that a second collector
 * on the same file fails instead of storing overlapping intervals. Returns
 * the descriptor holding the lock, to be closed after the database: closing
 * any descriptor of the file would drop SQLite's own POSIX locks.
 */
static int
lock_database(const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0) {
                cl_fail_errno(CL_EIO, errno, "open %s for locking", path);
                return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
                if (errno == EWOULDBLOCK)
                        cl_fail(CL_EINVAL,
                                "database %s is in use by another "
                                "carbonledger-collector; run one collector "
                                "per database",
                                path);
                else
                        cl_fail_errno(CL_EIO, errno, "lock %s", path);
                close(fd);
                return -1;
        }
        return fd;
}

/* Returns -1 to exit 2, 1 to exit 0 (help, version), 0 to run. */
static int
parse_options(int argc, char **argv, struct options *o)
{
        struct cl_sampler_config *c = &o->sampler;
        int opt, bad = 0;

        memset(o, 0, sizeof(*o));
        o->interval_s = 5.0;
        c->sysfs = "/sys";
        c->procfs = "/proc";
        c->cgroupfs = "/sys/fs/cgroup";
        c->pod_logs = "/var/log/pods";
        c->idle_watts = DEFAULT_IDLE_WATTS;
        c->max_watts = DEFAULT_MAX_WATTS;
        c->zone_max_watts = DEFAULT_ZONE_MAX_WATTS;
        c->max_interval_s = DEFAULT_MAX_INTERVAL_S;
        c->kepler_zone = "package";
        c->kepler_max_watts = DEFAULT_KEPLER_MAX_WATTS;
        o->source = "local";
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
                switch (opt) {
                case OPT_DB:
                        o->db_path = optarg;
                        break;
                case OPT_INTERVAL:
                        bad |= parse_double(optarg, "--interval", 0.01,
                                            &o->interval_s);
                        break;
                case OPT_ONCE:
                        o->once = 1;
                        break;
                case OPT_TIMESTAMP:
                        o->timestamp = optarg;
                        break;
                case OPT_SYSFS:
                        c->sysfs = optarg;
                        break;
                case OPT_PROCFS:
                        c->procfs = optarg;
                        break;
                case OPT_CGROUPFS:
                        c->cgroupfs = optarg;
                        break;
                case OPT_POD_LOGS:
                        c->pod_logs = optarg;
                        break;
                case OPT_NODE_NAME:
                        c->node_name = optarg;
                        break;
                case OPT_IDLE_WATTS:
                        bad |= parse_double(optarg, "--idle-watts", 0,
                                            &c->idle_watts);
                        break;
                case OPT_MAX_WATTS:
                        bad |= parse_double(optarg, "--max-watts", 0,
                                            &c->max_watts);
                        break;
                case OPT_ZONE_MAX_WATTS:
                        bad |= parse_double(optarg, "--zone-max-watts", 1,
                                            &c->zone_max_watts);
                        break;
                case OPT_MAX_INTERVAL:
                        bad |= parse_double(optarg, "--max-interval", 0.01,
                                            &c->max_interval_s);
                        break;
                case OPT_VERBOSE:
                        o->verbose = 1;
                        break;
                case OPT_METRICS_LISTEN:
                        o->metrics_listen = optarg;
                        break;
                case OPT_SOURCE:
                        o->source = optarg;
                        break;
                case OPT_KEPLER_URL:
                        c->kepler_url = optarg;
                        break;
                case OPT_KEPLER_ZONE:
                        c->kepler_zone = optarg;
                        break;
                case OPT_KEPLER_MAX_WATTS:
                        bad |= parse_double(optarg, "--kepler-max-watts", 1,
                                            &c->kepler_max_watts);
                        break;
                case OPT_HELP:
                        usage(stdout);
                        return 1;
                case OPT_VERSION:
                        printf("carbonledger-collector %s\n", CL_VERSION);
                        return 1;
                default:
                        fprintf(stderr,
                                "carbonledger-collector: unknown or "
                                "incomplete option '%s'\n",
                                argv[optind - 1]);
                        bad = -1;
                }
        }
        if (bad)
                return -1;
        if (optind < argc) {
                fprintf(stderr,
                        "carbonledger-collector: unexpected argument '%s'\n",
                        argv[optind]);
                return -1;
        }
        if (o->db_path == NULL) {
                fputs("carbonledger-collector: --db PATH is required\n",
                      stderr);
                return -1;
        }
        if (c->max_watts < c->idle_watts) {
                fprintf(stderr,
                        "carbonledger-collector: --max-watts %g is below "
                        "--idle-watts %g\n",
                        c->max_watts, c->idle_watts);
                return -1;
        }
        if (o->timestamp != NULL && !o->once) {
                fputs("carbonledger-collector: --timestamp needs --once\n",
                      stderr);
                return -1;
        }
        if (o->timestamp != NULL &&
            cl_parse_iso8601(o->timestamp, &o->timestamp_ns) != CL_OK) {
                fprintf(stderr, "carbonledger-collector: --timestamp: %s\n",
                        cl_last_error());
                return -1;
        }
        if (strcmp(o->source, "local") != 0 &&
            strcmp(o->source, "kepler") != 0) {
                fprintf(stderr,
                        "carbonledger-collector: invalid --source '%s': "
                        "expected local or kepler\n",
                        o->source);
                return -1;
        }
        if ((strcmp(o->source, "kepler") == 0) != (c->kepler_url != NULL)) {
                fputs("carbonledger-collector: --source kepler and "
                      "--kepler-url URL go together\n",
                      stderr);
                return -1;
        }
        if (o->metrics_listen != NULL && o->once) {
                fputs("carbonledger-collector: --metrics-listen serves the "
                      "sampling loop and cannot be used with --once\n",
                      stderr);
                return -1;
        }
        if (c->node_name == NULL) {
                if (gethostname(o->host, sizeof(o->host) - 1) != 0)
                        snprintf(o->host, sizeof(o->host), "localhost");
                c->node_name = o->host;
        }
        if (!valid_node_name(c->node_name)) {
                fprintf(stderr,
                        "carbonledger-collector: invalid --node-name '%.80s': "
                        "expected 1 to 253 printable characters\n",
                        c->node_name);
                return -1;
        }
        return 0;
}

static cl_err
sample_once(struct cl_sampler *sampler, int64_t now_ns, int verbose)
{
        struct cl_sample_summary s;
        cl_err rc;

        rc = cl_sampler_sample(sampler, now_ns, &s);
        if (rc != CL_OK) {
                cl_error("sample_failed", "error=\"%s\"", cl_last_error());
                return rc;
        }
        if (strcmp(s.status, "gap") == 0)
                cl_warn("sample_gap", "elapsed_s=%.3f reason=\"%s\" pods=%zu",
                        s.elapsed_s, s.gap_reason, s.n_pods);
        else
                cl_log(verbose ? CL_LOG_INFO : CL_LOG_DEBUG, "sample_stored",
                       "status=%s method=%s elapsed_s=%.3f energy_j=%.3f "
                       "pods_j=%.3f idle_j=%.3f system_j=%.3f pods=%zu "
                       "scaled=%d",
                       s.status, s.method, s.elapsed_s, s.energy_j, s.pods_j,
                       s.idle_j, s.system_j, s.n_pods, s.scaled);
        if (s.scaled)
                cl_info("pods_scaled",
                        "reason=\"pods' CPU time exceeded the node's busy "
                        "time\" pods=%zu",
                        s.n_pods);
        return CL_OK;
}

static void
sleep_until(int64_t deadline_ns)
{
        struct timespec ts = {
            .tv_sec = (time_t)(deadline_ns / CL_NS_PER_S),
            .tv_nsec = (long)(deadline_ns % CL_NS_PER_S),
        };

        while (!stop_requested &&
               clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
                   EINTR)
                ;
}

static int
run_loop(struct cl_sampler *sampler, const struct options *o)
{
        int64_t step = (int64_t)llround(o->interval_s * 1e9);
        int64_t deadline = cl_monotonic_ns();
        unsigned long samples = 0, failures = 0;

        cl_info("collector_started", "interval_s=%.3f node=%s", o->interval_s,
                o->sampler.node_name);
        while (!stop_requested) {
                if (sample_once(sampler, cl_now_ns(), o->verbose) != CL_OK)
                        failures++;
                samples++;
                deadline += step;
                /* After a stall, skip the missed deadlines, not the work. */
                if (deadline < cl_monotonic_ns())
                        deadline = cl_monotonic_ns() + step;
                sleep_until(deadline);
        }
        /* Close the partial interval so a stop loses no time. */
        if (sample_once(sampler, cl_now_ns(), o->verbose) != CL_OK)
                failures++;
        samples++;
        cl_info("collector_stopped", "samples=%lu failures=%lu", samples,
                failures);
        return 0;
}

int
main(int argc, char **argv)
{
        struct cl_sampler *sampler = NULL;
        struct cl_metrics *metrics = NULL;
        struct cl_metrics_http *http = NULL;
        struct sigaction sa;
        struct options o;
        sqlite3 *db = NULL;
        int64_t now_ns;
        int status = 1, parsed, lock_fd = -1;

        cl_log_set_program("carbonledger-collector");
        parsed = parse_options(argc, argv, &o);
        if (parsed != 0)
                return parsed < 0 ? 2 : 0;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        /*
         * Only this thread uses the database connection (the /metrics
         * thread reads cl_metrics under its own lock), so SQLite needs no
         * per-connection mutex, which took a lock in every bind and step.
         * Memory statistics are off for the same reason: they take a lock
         * per allocation and nothing reads them. Both must be set before
         * SQLite initialises; a failure only keeps the defaults.
         */
#ifdef __GLIBC__
        /*
         * SQLite allocates about 85 KB when each transaction begins and
         * frees it at the commit; with glibc's default 128 KB trim
         * threshold the heap top was given back and grown again (two brk
         * calls and about 20 page faults) every cycle. Keeping up to 1 MB
         * of free heap makes the block reused.
         */
        if (mallopt(M_TRIM_THRESHOLD, 1024 * 1024) != 1)
                cl_warn("mallopt_failed", "option=M_TRIM_THRESHOLD");
#endif
        if (sqlite3_config(SQLITE_CONFIG_MULTITHREAD) != SQLITE_OK ||
            sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
                cl_warn("sqlite_config_failed",
                        "effect=\"SQLite keeps its serialized mode\"");

        if (o.sampler.kepler_url != NULL &&
            curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
                cl_error("start_failed", "error=\"libcurl initialisation "
                                         "failed\"");
                goto out;
        }
        if (o.metrics_listen != NULL) {
                if (cl_metrics_new(o.sampler.node_name, &metrics) != CL_OK ||
                    cl_metrics_http_start(o.metrics_listen, metrics, &http) !=
                        CL_OK) {
                        cl_error("start_failed", "error=\"%s\"",
                                 cl_last_error());
                        goto out;
                }
                o.sampler.metrics = metrics;
        }
        if (cl_db_open(o.db_path, CL_DB_CREATE, &db) != CL_OK) {
                cl_error("start_failed", "error=\"%s\"", cl_last_error());
                goto out;
        }
        lock_fd = lock_database(o.db_path);
        if (lock_fd < 0) {
                cl_error("start_failed", "error=\"%s\"", cl_last_error());
                goto out;
        }
        if (cl_sampler_open(&o.sampler, db, &sampler) != CL_OK) {
                cl_error("start_failed", "error=\"%s\"", cl_last_error());
                goto out;
        }
        if (o.once) {
                now_ns = o.timestamp != NULL ? o.timestamp_ns : cl_now_ns();
                status = sample_once(sampler, now_ns, 1) == CL_OK ? 0 : 1;
                goto out;
        }
        status = run_loop(sampler, &o);
out:
        cl_metrics_http_stop(http);
        cl_metrics_free(metrics);
        cl_sampler_close(sampler);
        cl_db_close(db);
        if (lock_fd >= 0)
                close(lock_fd);
        return status;
}
