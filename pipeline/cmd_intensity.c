/*
 * The intensity command. `carbonledger intensity fetch` stores hourly
 * intensity from one source for a range of KST days. `carbonledger
 * intensity show` prints the stored hours with their provenance and a
 * summary of the api_call log. Both reject a source option that the
 * command or the chosen source does not use, so a mistyped command line
 * fails instead of being ignored.
 */
#include "commands.h"
#include "db.h"
#include "intensity.h"
#include "intensity_options.h"
#include "log.h"
#include "timeutil.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

static const char intensity_usage[] =
    "Usage: carbonledger intensity fetch --db PATH --source NAME --zone ZONE\n"
    "           --from YYYY-MM-DD --to YYYY-MM-DD [options]\n"
    "       carbonledger intensity show --db PATH [--source NAME]\n"
    "           [--zone ZONE] [--from YYYY-MM-DD --to YYYY-MM-DD] [--json]\n"
    "\n"
    "fetch stores the hours of the KST days --from to --to (inclusive) from\n"
    "one source: kpx (zone KR), gir (zone KR), electricitymaps, watttime\n"
    "(marginal rates) or static (--static-file). Hours stored with a value\n"
    "are not fetched again, except forecasts once their hour has ended.\n"
    "Hours stored as missing are fetched again when they were stored at\n"
    "least 6 hours ago. show prints what is stored, with basis, quality,\n"
    "factor set, fetch time and response hash, and the calls made.\n"
    "Options of other sources are rejected, and show takes none of them.\n"
    "\n"
    "  --templates DIR  kpx-fuels.json and emission-factors.json (default\n"
    "                   $CARBONLEDGER_TEMPLATES or the build's templates)\n";

enum {
        OPT_DB = 1000,
        OPT_SOURCE,
        OPT_ZONE,
        OPT_FROM,
        OPT_TO,
        OPT_JSON,
        OPT_TEMPLATES,
        OPT_HELP,
};

static const struct option own_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"zone", required_argument, NULL, OPT_ZONE},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"json", no_argument, NULL, OPT_JSON},
    {"templates", required_argument, NULL, OPT_TEMPLATES},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

#define N_SOURCE_OPTIONS (CL_INTENSITY_OPT_END - CL_INTENSITY_OPT_FIRST)

struct intensity_args {
        const char *db, *source, *zone, *from, *to;
        int json, help;
        int64_t from_ns, to_ns; /* [from, to) in UTC ns, 0 when not given */
        struct cl_intensity_config cfg;
        /* flags of the intensity options given, by id - FIRST */
        unsigned char given[N_SOURCE_OPTIONS];
};

enum {
        SRC_KPX = 1 << 0,
        SRC_GIR = 1 << 1,
        SRC_ELECTRICITYMAPS = 1 << 2,
        SRC_WATTTIME = 1 << 3,
        SRC_STATIC = 1 << 4,
        /* the sources that make HTTP requests */
        SRC_NETWORK = SRC_KPX | SRC_ELECTRICITYMAPS | SRC_WATTTIME,
};

static const struct {
        const char *name;
        int bit;
} sources[] = {
    {"kpx", SRC_KPX},
    {"gir", SRC_GIR},
    {"electricitymaps", SRC_ELECTRICITYMAPS},
    {"watttime", SRC_WATTTIME},
    {"static", SRC_STATIC},
};

#define N_SOURCES (sizeof(sources) / sizeof(sources[0]))

/* The sources that each intensity option configures. */
static const struct {
        int id;
        int sources;
} option_sources[] = {
    {CL_OPT_KPX_URL, SRC_KPX},
    {CL_OPT_KPX_LEGACY_URL, SRC_KPX},
    {CL_OPT_ELECTRICITYMAPS_URL, SRC_ELECTRICITYMAPS},
    {CL_OPT_WATTTIME_URL, SRC_WATTTIME},
    {CL_OPT_STATIC_FILE, SRC_STATIC},
    {CL_OPT_FACTOR_SET, SRC_KPX},
    {CL_OPT_CA_BUNDLE, SRC_NETWORK},
    {CL_OPT_INSECURE, SRC_NETWORK},
    {CL_OPT_KEY_FILE, SRC_NETWORK},
    {CL_OPT_CONNECT_TIMEOUT_MS, SRC_NETWORK},
    {CL_OPT_TIMEOUT_MS, SRC_NETWORK},
    {CL_OPT_MAX_ATTEMPTS, SRC_NETWORK},
    {CL_OPT_RETRY_DELAY_MS, SRC_NETWORK},
    {CL_OPT_MAX_CALLS_PER_DAY, SRC_NETWORK},
};

static int usage_error(const char *fmt, ...) CL_PRINTF(1, 2);

static int
usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("carbonledger intensity: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nRun 'carbonledger intensity --help' for usage.\n", stderr);
        return EXIT_USAGE;
}

static int
parse_day(const char *text, const char *option, int64_t *out)
{
        int y, m, d;

        if (cl_parse_date(text, &y, &m, &d) != CL_OK) {
                usage_error("%s: %s", option, cl_last_error());
                return -1;
        }
        *out = cl_kst_day_start_ns(y, m, d);
        return 0;
}

/* Parses argv after the subcommand word; returns 0 or EXIT_USAGE. */
static int
parse(int argc, char **argv, struct intensity_args *a)
{
        const char *env = getenv("CARBONLEDGER_TEMPLATES");
        struct option table[64];
        int opt;

        memset(a, 0, sizeof(*a));
        a->cfg.template_dir =
            env != NULL && env[0] != '\0' ? env : CL_TEMPLATE_DIR;
        if (cl_intensity_merge_options(
                own_options, table, sizeof(table) / sizeof(table[0])) != CL_OK)
                return usage_error("%s", cl_last_error());
        opterr = 0;
        optind = 1;
        while ((opt = getopt_long(argc, argv, "", table, NULL)) != -1) {
                int applied = cl_intensity_apply_option(&a->cfg, opt, optarg);

                if (applied < 0)
                        return usage_error("%s", cl_last_error());
                if (applied > 0) {
                        a->given[opt - CL_INTENSITY_OPT_FIRST] = 1;
                        continue;
                }
                switch (opt) {
                case OPT_DB:
                        a->db = optarg;
                        break;
                case OPT_SOURCE:
                        a->source = optarg;
                        break;
                case OPT_ZONE:
                        a->zone = optarg;
                        break;
                case OPT_FROM:
                        a->from = optarg;
                        break;
                case OPT_TO:
                        a->to = optarg;
                        break;
                case OPT_JSON:
                        a->json = 1;
                        break;
                case OPT_TEMPLATES:
                        a->cfg.template_dir = optarg;
                        break;
                case OPT_HELP:
                        a->help = 1;
                        break;
                default:
                        return usage_error("unknown or incomplete option '%s'",
                                           argv[optind - 1]);
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        if ((a->from == NULL) != (a->to == NULL))
                return usage_error("%s", "--from and --to go together");
        if (a->from != NULL && (parse_day(a->from, "--from", &a->from_ns) ||
                                parse_day(a->to, "--to", &a->to_ns)))
                return EXIT_USAGE;
        if (a->from != NULL) {
                a->to_ns += CL_NS_PER_DAY; /* --to is inclusive */
                if (a->to_ns <= a->from_ns)
                        return usage_error("--to %s is before --from %s", a->to,
                                           a->from);
        }
        return 0;
}

/* Returns the SRC_ bit of source name, 0 when it names none. */
static int
source_bit(const char *name)
{
        for (size_t i = 0; i < N_SOURCES; i++)
                if (strcmp(name, sources[i].name) == 0)
                        return sources[i].bit;
        return 0;
}

/* Returns 0, or EXIT_USAGE after a message when --source is unknown. */
static int
check_source(const struct intensity_args *a)
{
        if (a->source == NULL || source_bit(a->source) != 0)
                return 0;
        return usage_error("unknown source '%s': expected kpx, gir, "
                           "electricitymaps, watttime or static",
                           a->source);
}

/* Returns the long name of intensity option id, without the dashes. */
static const char *
option_name(int id)
{
        for (const struct option *o = cl_intensity_options; o->name != NULL;
             o++)
                if (o->val == id)
                        return o->name;
        return "?";
}

/* Writes the names of the sources in bits, comma-separated, into buf. */
static void
source_names(int bits, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < N_SOURCES && len < size; i++) {
                int n;

                if ((bits & sources[i].bit) == 0)
                        continue;
                n = snprintf(buf + len, size - len, "%s%s", len > 0 ? ", " : "",
                             sources[i].name);
                if (n < 0)
                        break;
                len += (size_t)n;
        }
}

/*
 * Checks that every intensity option given configures the source bit,
 * where bit 0 stands for the show subcommand, which takes none. Returns
 * 0, or EXIT_USAGE after a message naming the first option that does not.
 */
static int
check_option_scope(const struct intensity_args *a, int bit)
{
        for (size_t i = 0;
             i < sizeof(option_sources) / sizeof(option_sources[0]); i++) {
                int id = option_sources[i].id;
                char names[80];

                if (!a->given[id - CL_INTENSITY_OPT_FIRST] ||
                    (option_sources[i].sources & bit) != 0)
                        continue;
                if (bit == 0)
                        return usage_error("'--%s' does not apply to "
                                           "intensity show, which only reads "
                                           "the database",
                                           option_name(id));
                source_names(option_sources[i].sources, names, sizeof(names));
                return usage_error("'--%s' does not apply to source %s (only "
                                   "to %s)",
                                   option_name(id), a->source, names);
        }
        return 0;
}

static int
cmd_fetch(struct intensity_args *a)
{
        struct cl_fetch_summary s;
        sqlite3 *db = NULL;
        char error[512];
        cl_err rc;

        memset(&s, 0, sizeof(s));
        if (a->db == NULL || a->source == NULL || a->zone == NULL ||
            a->from == NULL)
                return usage_error("%s", "fetch needs --db, --source, --zone, "
                                         "--from and --to");
        if (check_source(a) != 0 ||
            check_option_scope(a, source_bit(a->source)) != 0)
                return EXIT_USAGE;
        if (a->json)
                return usage_error("%s", "--json applies to intensity show "
                                         "only");
        if (strcmp(a->source, "static") == 0 && a->cfg.static_path == NULL)
                return usage_error("%s", "source static needs --static-file");
        rc = cl_db_open(a->db, CL_DB_CREATE, &db);
        if (rc == CL_OK)
                rc = cl_intensity_fetch(db, &a->cfg, a->source, a->zone,
                                        a->from_ns, a->to_ns, &s);
        cl_db_close(db);
        if (rc == CL_OK || rc == CL_ENET) {
                printf("%s %s %s..%s (KST): %d hours, %d already stored, "
                       "%d stored with a value, %d stored as missing, "
                       "%d HTTP requests%s\n",
                       a->source, a->zone, a->from, a->to, s.hours_requested,
                       s.hours_already_stored, s.hours_stored, s.hours_missing,
                       s.calls, s.quota_blocked ? ", stopped by a quota" : "");
                if (s.message[0] != '\0')
                        printf("note: %s\n", s.message);
        }
        if (rc != CL_OK) {
                cl_error("intensity_fetch_failed",
                         "source=%s zone=%s stored=%d missing=%d calls=%d "
                         "quota_blocked=%d error=%s",
                         a->source, a->zone, s.hours_stored, s.hours_missing,
                         s.calls, s.quota_blocked,
                         cl_log_quote(cl_last_error(), error, sizeof(error)));
                fprintf(stderr, "carbonledger: intensity fetch failed: %s\n",
                        cl_last_error());
                return 1;
        }
        return 0;
}

static const char *
text_col(sqlite3_stmt *st, int col)
{
        const unsigned char *t = sqlite3_column_text(st, col);

        return t != NULL ? (const char *)t : "";
}

static void
bind_filters(sqlite3_stmt *st, const struct intensity_args *a)
{
        if (a->source != NULL)
                sqlite3_bind_text(st, 1, a->source, -1, SQLITE_STATIC);
        if (a->zone != NULL)
                sqlite3_bind_text(st, 2, a->zone, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, a->from != NULL ? a->from_ns : INT64_MIN);
        sqlite3_bind_int64(st, 4, a->from != NULL ? a->to_ns : INT64_MAX);
}

static cl_err
show_hours(sqlite3 *db, const struct intensity_args *a, json_object *list)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;
        int rows = 0;

        rc = cl_db_prepare(db,
                           "SELECT hour_ns, source, zone, g_per_kwh, basis, "
                           "quality, factor_set, fetched_ns, "
                           "response_sha256, detail, forecast "
                           "FROM intensity_hour WHERE (?1 IS NULL OR "
                           "source = ?1) AND (?2 IS NULL OR zone = ?2) AND "
                           "hour_ns >= ?3 AND hour_ns < ?4 "
                           "ORDER BY source, zone, hour_ns",
                           &st);
        if (rc != CL_OK)
                return rc;
        bind_filters(st, a);
        if (list == NULL)
                printf(
                    "hour (UTC)            hour (KST)        source          "
                    "zone  gCO2eq/kWh  basis        quality    factor set  "
                    "fetched (UTC)         response SHA-256  detail\n");
        while (sqlite3_step(st) == SQLITE_ROW) {
                int64_t h = sqlite3_column_int64(st, 0);
                int has = sqlite3_column_type(st, 3) != SQLITE_NULL;
                char utc[32], kst[32], fetched[32], value[32];

                cl_format_utc(h, utc, sizeof(utc));
                cl_format_kst(h, kst, sizeof(kst));
                cl_format_utc(sqlite3_column_int64(st, 7), fetched,
                              sizeof(fetched));
                rows++;
                if (list != NULL) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "hour_utc",
                                               json_object_new_string(utc));
                        json_object_object_add(o, "hour_kst",
                                               json_object_new_string(kst));
                        json_object_object_add(
                            o, "source",
                            json_object_new_string(text_col(st, 1)));
                        json_object_object_add(
                            o, "zone", json_object_new_string(text_col(st, 2)));
                        json_object_object_add(
                            o, "g_per_kwh",
                            has ? json_object_new_double(
                                      sqlite3_column_double(st, 3))
                                : NULL);
                        json_object_object_add(
                            o, "basis",
                            json_object_new_string(text_col(st, 4)));
                        json_object_object_add(
                            o, "quality",
                            json_object_new_string(text_col(st, 5)));
                        json_object_object_add(
                            o, "factor_set",
                            json_object_new_string(text_col(st, 6)));
                        json_object_object_add(o, "fetched_utc",
                                               json_object_new_string(fetched));
                        json_object_object_add(
                            o, "response_sha256",
                            json_object_new_string(text_col(st, 8)));
                        json_object_object_add(
                            o, "detail",
                            json_object_new_string(text_col(st, 9)));
                        json_object_object_add(o, "forecast",
                                               json_object_new_boolean(
                                                   sqlite3_column_int(st, 10)));
                        json_object_array_add(list, o);
                        continue;
                }
                if (has)
                        snprintf(value, sizeof(value), "%.1f",
                                 sqlite3_column_double(st, 3));
                else
                        snprintf(value, sizeof(value), "-");
                printf("%-21s %-17s %-15s %-5s %10s  %-12s %-10s %-11s %-21s "
                       "%.16s  %s%s\n",
                       utc, kst, text_col(st, 1), text_col(st, 2), value,
                       text_col(st, 4), text_col(st, 5), text_col(st, 6),
                       fetched, text_col(st, 8), text_col(st, 9),
                       sqlite3_column_int(st, 10) ? " (forecast)" : "");
        }
        if (list == NULL && rows == 0)
                printf("(no hours stored)\n");
        sqlite3_finalize(st);
        return CL_OK;
}

static cl_err
show_calls(sqlite3 *db, const struct intensity_args *a, json_object *list)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(db,
                           "SELECT source, outcome, count(*), sum(bytes), "
                           "max(called_ns), group_concat(DISTINCT "
                           "coalesce(result_code, http_status)) FROM api_call "
                           "WHERE (?1 IS NULL OR source = ?1) "
                           "GROUP BY source, outcome ORDER BY source, outcome",
                           &st);
        if (rc != CL_OK)
                return rc;
        if (a->source != NULL)
                sqlite3_bind_text(st, 1, a->source, -1, SQLITE_STATIC);
        if (list == NULL)
                printf("\napi calls:\nsource          outcome    requests  "
                       "bytes       last (UTC)            codes\n");
        while (sqlite3_step(st) == SQLITE_ROW) {
                char last[32];

                cl_format_utc(sqlite3_column_int64(st, 4), last, sizeof(last));
                if (list != NULL) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(
                            o, "source",
                            json_object_new_string(text_col(st, 0)));
                        json_object_object_add(
                            o, "outcome",
                            json_object_new_string(text_col(st, 1)));
                        json_object_object_add(
                            o, "requests",
                            json_object_new_int64(sqlite3_column_int64(st, 2)));
                        json_object_object_add(
                            o, "bytes",
                            json_object_new_int64(sqlite3_column_int64(st, 3)));
                        json_object_object_add(o, "last_utc",
                                               json_object_new_string(last));
                        json_object_object_add(
                            o, "codes",
                            json_object_new_string(text_col(st, 5)));
                        json_object_array_add(list, o);
                        continue;
                }
                printf("%-15s %-10s %8lld  %-11lld %-21s %s\n", text_col(st, 0),
                       text_col(st, 1), (long long)sqlite3_column_int64(st, 2),
                       (long long)sqlite3_column_int64(st, 3), last,
                       text_col(st, 5));
        }
        sqlite3_finalize(st);
        return CL_OK;
}

static cl_err
show_quota(sqlite3 *db, json_object *list)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(db,
                           "SELECT source, blocked_until_ns, result_code, "
                           "message FROM api_quota ORDER BY source",
                           &st);
        if (rc != CL_OK)
                return rc;
        while (sqlite3_step(st) == SQLITE_ROW) {
                int64_t until = sqlite3_column_int64(st, 1);
                char when[32], kst[32];

                cl_format_utc(until, when, sizeof(when));
                cl_format_kst(until, kst, sizeof(kst));
                if (list != NULL) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(
                            o, "source",
                            json_object_new_string(text_col(st, 0)));
                        json_object_object_add(o, "blocked_until_utc",
                                               json_object_new_string(when));
                        json_object_object_add(
                            o, "active",
                            json_object_new_boolean(until > cl_now_ns()));
                        json_object_object_add(
                            o, "result_code",
                            json_object_new_string(text_col(st, 2)));
                        json_object_object_add(
                            o, "message",
                            json_object_new_string(text_col(st, 3)));
                        json_object_array_add(list, o);
                        continue;
                }
                printf("quota: %s blocked until %s (%s KST)%s, result code "
                       "%s: %s\n",
                       text_col(st, 0), when, kst,
                       until > cl_now_ns() ? "" : ", expired", text_col(st, 2),
                       text_col(st, 3));
        }
        sqlite3_finalize(st);
        return CL_OK;
}

static int
cmd_show(struct intensity_args *a)
{
        json_object *doc = NULL, *hours = NULL, *calls = NULL, *quota = NULL;
        sqlite3 *db = NULL;
        cl_err rc;

        if (a->db == NULL)
                return usage_error("%s", "show needs --db");
        if (check_source(a) != 0 || check_option_scope(a, 0) != 0)
                return EXIT_USAGE;
        if (a->json) {
                doc = json_object_new_object();
                hours = json_object_new_array();
                calls = json_object_new_array();
                quota = json_object_new_array();
                json_object_object_add(doc, "hours", hours);
                json_object_object_add(doc, "api_calls", calls);
                json_object_object_add(doc, "quota", quota);
        }
        rc = cl_db_open(a->db, CL_DB_WRITE, &db);
        if (rc == CL_OK)
                rc = show_hours(db, a, hours);
        if (rc == CL_OK)
                rc = show_calls(db, a, calls);
        if (rc == CL_OK)
                rc = show_quota(db, quota);
        cl_db_close(db);
        if (rc == CL_OK && doc != NULL)
                printf("%s\n", json_object_to_json_string_ext(
                                   doc, JSON_C_TO_STRING_PRETTY |
                                            JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(doc);
        if (rc != CL_OK) {
                fprintf(stderr, "carbonledger: intensity show failed: %s\n",
                        cl_last_error());
                return 1;
        }
        return 0;
}

int
cl_cmd_intensity(int argc, char **argv)
{
        struct intensity_args a;
        int rc;

        if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
            strcmp(argv[1], "help") == 0) {
                fputs(intensity_usage, argc < 2 ? stderr : stdout);
                fputs(cl_intensity_options_usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? EXIT_USAGE : 0;
        }
        rc = parse(argc - 1, argv + 1, &a);
        if (rc != 0)
                return rc;
        if (a.help) {
                fputs(intensity_usage, stdout);
                fputs(cl_intensity_options_usage, stdout);
                return 0;
        }
        if (strcmp(argv[1], "fetch") == 0)
                return cmd_fetch(&a);
        if (strcmp(argv[1], "show") == 0)
                return cmd_show(&a);
        return usage_error("unknown subcommand '%s': expected fetch or show",
                           argv[1]);
}
