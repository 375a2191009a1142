/*
 * carbonledger: the nightly run and its companion commands.
 *
 *   carbonledger run --db PATH [--date YYYY-MM-DD] --out DIR
 *                    --sign-key KEY.pem --sign-cert CERT.pem [--policy FILE]
 *   carbonledger verify FILE [--ca CA.pem]
 *   carbonledger keygen --out DIR
 *   carbonledger import meter --db PATH FILE.csv
 *
 * Exit status: 0 success (verify: valid), 1 failure (verify: invalid or
 * tampered), 2 invalid usage (verify: also an I/O error).
 */
#include "commands.h"
#include "db.h"
#include "intensity_options.h"
#include "keygen.h"
#include "log.h"
#include "meter.h"
#include "rollup.h"
#include "run.h"
#include "timeutil.h"
#include "verify.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

static const char usage_text[] =
    "Usage: carbonledger COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  run --db PATH --out DIR --sign-key KEY.pem --sign-cert CERT.pem\n"
    "      [--date YYYY-MM-DD | --month YYYY-MM] [--policy FILE]\n"
    "      [--retention-days N] [--offline] [intensity source options]\n"
    "      Report one calendar day in KST (UTC+9; default: yesterday) as\n"
    "      signed PDF, XLSX (+ .p7s) and JSON files in DIR, and roll the\n"
    "      day up by hour; --month reports a month from the rollups;\n"
    "      --retention-days deletes rolled-up samples older than N days.\n"
    "      Hourly intensity the policy's hourly source lacks is fetched\n"
    "      first (options as for 'intensity fetch'), unless --offline.\n"
    "  verify FILE [--ca CA.pem]\n"
    "      Check a PDF's signature, or an XLSX against the .p7s beside it.\n"
    "      Without --ca the certificate is reported as untrusted.\n"
    "  keygen --out DIR\n"
    "      Write key.pem (RSA 3072) and a self-signed cert.pem for trying\n"
    "      carbonledger out.\n"
    "  import meter --db PATH FILE.csv\n"
    "      Store facility meter data (interval_start,interval_end,\n"
    "      facility_kwh,it_kwh) used for PUE.\n"
    "  import prometheus --db PATH --url URL --from START --to END\n"
    "      [--step SECONDS]\n"
    "      Store every node's collector counters from a Prometheus server.\n"
    "  merge --into PATH NODE.db...\n"
    "      Add the samples of copied per-node databases to PATH.\n"
    "  intensity fetch|show --db PATH [--source NAME] [--zone ZONE]\n"
    "      [--from YYYY-MM-DD --to YYYY-MM-DD]\n"
    "      Store or print hourly carbon intensity with its provenance.\n"
    "  query NAME --db PATH [options] [--json]\n"
    "      Run one analysis (assess_workload_compliance, get_power_hotspots,\n"
    "      calculate_optimal_schedule, ...); 'query --help' lists them.\n"
    "  mcp --db PATH [--listen ADDR:PORT [--token-file FILE]]\n"
    "      Serve the analyses as MCP tools over stdio, or Streamable HTTP.\n"
    "\n"
    "Common options:\n"
    "  --templates DIR   policy, factor and text templates (default "
    "$CARBONLEDGER_TEMPLATES\n"
    "                    or the build's templates folder)\n"
    "  --font FILE, --font-bold FILE   TrueType fonts for PDF reports\n"
    "  --help, --version\n";

enum {
        OPT_DB = 1000,
        OPT_DATE,
        OPT_OUT,
        OPT_SIGN_KEY,
        OPT_SIGN_CERT,
        OPT_POLICY,
        OPT_CA,
        OPT_TEMPLATES,
        OPT_FONT,
        OPT_FONT_BOLD,
        OPT_MONTH,
        OPT_RETENTION_DAYS,
        OPT_OFFLINE,
        OPT_HELP,
};

static const struct option long_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"date", required_argument, NULL, OPT_DATE},
    {"out", required_argument, NULL, OPT_OUT},
    {"sign-key", required_argument, NULL, OPT_SIGN_KEY},
    {"sign-cert", required_argument, NULL, OPT_SIGN_CERT},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"ca", required_argument, NULL, OPT_CA},
    {"templates", required_argument, NULL, OPT_TEMPLATES},
    {"font", required_argument, NULL, OPT_FONT},
    {"font-bold", required_argument, NULL, OPT_FONT_BOLD},
    {"month", required_argument, NULL, OPT_MONTH},
    {"retention-days", required_argument, NULL, OPT_RETENTION_DAYS},
    {"offline", no_argument, NULL, OPT_OFFLINE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

struct args {
        const char *db, *date, *out, *key, *cert, *policy, *ca;
        const char *templates, *font, *font_bold;
        const char *month, *retention_days;
        int offline;
        /* Intensity source options, as `carbonledger intensity` takes. */
        struct cl_intensity_config intensity;
        int help;
        char **rest; /* positional arguments after the command */
        int n_rest;
};

static int usage_error(const char *fmt, ...) CL_PRINTF(1, 2);

static int
usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("carbonledger: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nRun 'carbonledger --help' for usage.\n", stderr);
        return EXIT_USAGE;
}

/* Parses options after the command word; returns 0 or EXIT_USAGE. */
static int
parse_args(int argc, char **argv, struct args *a)
{
        const char *env = getenv("CARBONLEDGER_TEMPLATES");
        struct option all[sizeof(long_options) / sizeof(long_options[0]) +
                          CL_INTENSITY_OPT_END - CL_INTENSITY_OPT_FIRST + 1];
        int opt, applied;

        memset(a, 0, sizeof(*a));
        if (cl_intensity_merge_options(long_options, all,
                                       sizeof(all) / sizeof(all[0])) != CL_OK)
                return usage_error("%s", cl_last_error());
        a->templates = env != NULL && env[0] != '\0' ? env : CL_TEMPLATE_DIR;
        a->font = CL_FONT_PATH;
        a->font_bold = CL_FONT_BOLD_PATH;
        opterr = 0;
        optind = 1;
        while ((opt = getopt_long(argc, argv, "", all, NULL)) != -1) {
                applied = cl_intensity_apply_option(&a->intensity, opt, optarg);
                if (applied < 0)
                        return usage_error("%s", cl_last_error());
                if (applied > 0)
                        continue;
                switch (opt) {
                case OPT_DB:
                        a->db = optarg;
                        break;
                case OPT_DATE:
                        a->date = optarg;
                        break;
                case OPT_OUT:
                        a->out = optarg;
                        break;
                case OPT_SIGN_KEY:
                        a->key = optarg;
                        break;
                case OPT_SIGN_CERT:
                        a->cert = optarg;
                        break;
                case OPT_POLICY:
                        a->policy = optarg;
                        break;
                case OPT_CA:
                        a->ca = optarg;
                        break;
                case OPT_TEMPLATES:
                        a->templates = optarg;
                        break;
                case OPT_FONT:
                        a->font = optarg;
                        break;
                case OPT_FONT_BOLD:
                        a->font_bold = optarg;
                        break;
                case OPT_MONTH:
                        a->month = optarg;
                        break;
                case OPT_RETENTION_DAYS:
                        a->retention_days = optarg;
                        break;
                case OPT_OFFLINE:
                        a->offline = 1;
                        break;
                case OPT_HELP:
                        a->help = 1;
                        break;
                default:
                        return usage_error("unknown or incomplete option '%s'",
                                           argv[optind - 1]);
                }
        }
        a->rest = argv + optind;
        a->n_rest = argc - optind;
        a->intensity.template_dir = a->templates;
        return 0;
}

static int
require(const char *value, const char *option)
{
        if (value == NULL) {
                usage_error("%s is required", option);
                return -1;
        }
        return 0;
}

static int
cmd_run(const struct args *a)
{
        struct cl_run_options opt = {
            .db_path = a->db,
            .date = a->date,
            .out_dir = a->out,
            .key_path = a->key,
            .cert_path = a->cert,
            .policy_path = a->policy,
            .template_dir = a->templates,
            .intensity = &a->intensity,
            .offline = a->offline,
            .font_path = a->font,
            .font_bold_path = a->font_bold,
        };
        struct cl_run_result res;
        int64_t month_start, month_end;
        long retention = 0;
        char *end = NULL;
        int y, m, d;

        if (require(a->db, "--db") || require(a->out, "--out") ||
            require(a->key, "--sign-key") || require(a->cert, "--sign-cert"))
                return EXIT_USAGE;
        if (a->n_rest > 0)
                return usage_error("unexpected argument '%s'", a->rest[0]);
        if (a->date != NULL && cl_parse_date(a->date, &y, &m, &d) != CL_OK)
                return usage_error("%s", cl_last_error());
        if (a->month != NULL && a->date != NULL)
                return usage_error("--date and --month exclude each other");
        if (a->month != NULL &&
            cl_parse_month(a->month, &month_start, &month_end) != CL_OK)
                return usage_error("%s", cl_last_error());
        if (a->retention_days != NULL) {
                retention = strtol(a->retention_days, &end, 10);
                if (end == a->retention_days || *end != '\0' || retention < 1 ||
                    retention > 100000)
                        return usage_error("invalid --retention-days '%s': "
                                           "expected whole days from 1",
                                           a->retention_days);
        }
        opt.month = a->month;
        opt.retention_days = (int)retention;
        if (cl_run_nightly(&opt, &res) != CL_OK) {
                cl_error("run_failed", "error=\"%s\"", cl_last_error());
                fprintf(stderr, "carbonledger: run failed: %s\n",
                        cl_last_error());
                return 1;
        }
        printf("date: %s (KST)%s\n", res.date,
               res.has_samples ? "" : " - no samples for this day");
        printf("pdf: %s\nxlsx: %s\nxlsx signature: %s\njson: %s\n", res.pdf,
               res.xlsx, res.p7s, res.json);
        printf("workloads: %zu (COMPLIANT %zu, NON_COMPLIANT %zu, "
               "NOT_ASSESSED %zu, INSUFFICIENT_DATA %zu)\n",
               res.workloads, res.status_counts[CL_STATUS_COMPLIANT],
               res.status_counts[CL_STATUS_NON_COMPLIANT],
               res.status_counts[CL_STATUS_NOT_ASSESSED],
               res.status_counts[CL_STATUS_INSUFFICIENT_DATA]);
        printf("signed by: %s\n", res.signer);
        return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
cmd_verify(const struct args *a)
{
        struct cl_verify_result v;
        const char *file;
        char p7s[4096];
        cl_err rc;

        if (a->n_rest != 1)
                return usage_error("verify needs one FILE%s",
                                   a->n_rest > 1 ? " (more were given)" : "");
        file = a->rest[0];
        if (!ends_with(file, ".pdf") && !ends_with(file, ".xlsx"))
                return usage_error("verify checks a .pdf, or an .xlsx with "
                                   "its .xlsx.p7s beside it; '%s' is neither",
                                   file);
        if (ends_with(file, ".pdf")) {
                rc = cl_verify_pdf(file, a->ca, &v);
        } else {
                if (snprintf(p7s, sizeof(p7s), "%s.p7s", file) >=
                    (int)sizeof(p7s))
                        return usage_error("path too long: %s", file);
                rc = cl_verify_detached(file, p7s, a->ca, &v);
        }
        if (rc != CL_OK && rc != CL_EFORMAT && rc != CL_EVERIFY) {
                fprintf(stderr, "carbonledger: verify %s: %s\n", file,
                        cl_last_error());
                return EXIT_USAGE;
        }
        if (rc != CL_OK) {
                printf("%s: INVALID: %s\n", file, cl_last_error());
                return 1;
        }
        if (!v.valid) {
                printf("%s: INVALID: %s\n", file, v.detail);
                return 1;
        }
        printf("%s: VALID signature by %s\n", file, v.signer);
        if (!a->ca)
                printf("certificate: UNTRUSTED (not checked against a CA; "
                       "pass --ca CA.pem to validate the chain)\n");
        else if (v.trusted)
                printf("certificate: TRUSTED (chain and validity dates "
                       "verified against %s)\n",
                       a->ca);
        else {
                /* The detail names the CA already. */
                printf("certificate: NOT TRUSTED: %s\n", v.detail);
                return 1;
        }
        return 0;
}

static int
cmd_keygen(const struct args *a)
{
        if (require(a->out, "--out"))
                return EXIT_USAGE;
        if (a->n_rest > 0)
                return usage_error("unexpected argument '%s'", a->rest[0]);
        if (cl_keygen(a->out, "carbonledger demo signer") != CL_OK) {
                fprintf(stderr, "carbonledger: keygen failed: %s\n",
                        cl_last_error());
                return 1;
        }
        printf("key: %s/key.pem (RSA 3072, mode 0600)\n"
               "certificate: %s/cert.pem (self-signed, for trying "
               "carbonledger out; use a certificate from your CA for "
               "real reports)\n",
               a->out, a->out);
        return 0;
}

static int
cmd_import(const struct args *a)
{
        sqlite3 *db = NULL;
        int rows = 0, replaced = 0;
        cl_err rc;

        if (a->n_rest < 1 || strcmp(a->rest[0], "meter") != 0)
                return usage_error("import needs a kind: 'import meter%s'",
                                   " --db PATH FILE.csv");
        if (require(a->db, "--db"))
                return EXIT_USAGE;
        if (a->n_rest != 2)
                return usage_error("import meter needs one FILE.csv%s", "");
        rc = cl_db_open(a->db, CL_DB_WRITE, &db);
        if (rc == CL_OK)
                rc = cl_meter_import(db, a->rest[1], &rows, &replaced);
        cl_db_close(db);
        if (rc != CL_OK) {
                fprintf(stderr,
                        "carbonledger: import meter failed, nothing "
                        "stored: %s\n",
                        cl_last_error());
                return 1;
        }
        printf("imported %d meter intervals from %s", rows, a->rest[1]);
        if (replaced > 0)
                printf(" (%d replaced stored intervals of the same times)",
                       replaced);
        printf("\n");
        return 0;
}

/*
 * Commands with options of their own, each in its own file. They receive
 * argv from the command word on and return the exit status.
 */
static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
} own_commands[] = {
    {"merge", cl_cmd_merge},
    {"intensity", cl_cmd_intensity},
    {"query", cl_cmd_query},
    {"mcp", cl_cmd_mcp},
    {NULL, NULL},
};

int
main(int argc, char **argv)
{
        const char *command;
        struct args a;
        int rc;

        cl_log_set_program("carbonledger");
        if (argc < 2)
                return usage_error("%s", "a command is required");
        command = argv[1];
        if (strcmp(command, "--help") == 0 || strcmp(command, "help") == 0) {
                fputs(usage_text, stdout);
                return 0;
        }
        if (strcmp(command, "--version") == 0) {
                printf("carbonledger %s\n", CL_VERSION);
                return 0;
        }
        for (size_t i = 0; own_commands[i].name != NULL; i++)
                if (strcmp(command, own_commands[i].name) == 0)
                        return own_commands[i].run(argc - 1, argv + 1);
        if (strcmp(command, "import") == 0 && argc > 2 &&
            strcmp(argv[2], "prometheus") == 0)
                return cl_cmd_import_prometheus(argc - 2, argv + 2);
        rc = parse_args(argc - 1, argv + 1, &a);
        if (rc != 0)
                return rc;
        if (a.help) {
                fputs(usage_text, stdout);
                return 0;
        }
        if (strcmp(command, "run") == 0)
                return cmd_run(&a);
        if (strcmp(command, "verify") == 0)
                return cmd_verify(&a);
        if (strcmp(command, "keygen") == 0)
                return cmd_keygen(&a);
        if (strcmp(command, "import") == 0)
                return cmd_import(&a);
        return usage_error("unknown command '%s'", command);
}
