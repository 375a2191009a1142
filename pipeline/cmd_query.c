/*
 * carbonledger query NAME [options] [--json]: runs one analysis over the
 * database and prints its result as plain text or JSON. An analysis's
 * arguments are options in kebab case (--duration-hours 4 is the argument
 * duration_hours = 4); values are converted by the argument's type and
 * validated by the analysis, so the command line and the MCP server
 * reject the same input with the same message.
 *
 * Exit status: 0 success, 1 the analysis failed on its data (unknown
 * workload, no samples, ...), 2 invalid usage or arguments.
 */
#include "analyses_env.h"
#include "commands.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

struct query_options {
        struct cl_analysis_inputs in;
        int json;
        json_object *args;
};

static int query_usage_error(const char *fmt, ...) CL_PRINTF(1, 2);

static int
query_usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("carbonledger query: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nRun 'carbonledger query --help' for usage.\n", stderr);
        return EXIT_USAGE;
}

static const char *
type_hint(enum cl_arg_type type)
{
        switch (type) {
        case CL_ARG_NUMBER:
                return " NUMBER";
        case CL_ARG_INTEGER:
                return " INTEGER";
        case CL_ARG_BOOLEAN:
                return "";
        case CL_ARG_NUMBER_LIST:
                return " N,N,...";
        case CL_ARG_STRING:
                break;
        }
        return " TEXT";
}

static void
print_option_name(FILE *out, const char *snake)
{
        fputs("--", out);
        for (const char *c = snake; *c != '\0'; c++)
                fputc(*c == '_' ? '-' : *c, out);
}

static void
print_help(FILE *out)
{
        fputs("Usage: carbonledger query NAME --db PATH [options] [--json]\n"
              "\n"
              "Common options:\n"
              "  --db PATH            the carbonledger database (opened "
              "read-only)\n"
              "  --policy FILE        compliance policy (default: the "
              "template's)\n"
              "  --templates DIR      template folder (default "
              "$CARBONLEDGER_TEMPLATES or the build's)\n"
              "  --kubelet-pods FILE  the kubelet's /pods JSON, to group "
              "pods by their owners\n"
              "                       (default: by pod name patterns)\n"
              "  --json               print the result as JSON (default: "
              "plain text)\n"
              "\n"
              "Analyses and their options:\n",
              out);
        for (size_t i = 0; i < cl_analysis_count(); i++) {
                const struct cl_analysis *a = cl_analysis_at(i);

                fprintf(out, "\n  %s\n      %s\n", a->name, a->description);
                for (size_t k = 0; a->args[k] != NULL; k++) {
                        fputs("    ", out);
                        print_option_name(out, a->args[k]->name);
                        fprintf(out, "%s\n        %s\n",
                                type_hint(a->args[k]->type),
                                a->args[k]->description);
                }
        }
}

/* Returns 1 when text is a number as JSON writes one (no hex, no
   leading '+' or spaces), so it can be serialised as given. */
static int
is_json_number(const char *p)
{
        if (*p == '-')
                p++;
        if (*p < '0' || *p > '9')
                return 0;
        while (*p >= '0' && *p <= '9')
                p++;
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return 0;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (*p < '0' || *p > '9')
                        return 0;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        return *p == '\0';
}

/*
 * A number when text is one, otherwise the text, which validation names.
 * A number that is no exact integer keeps its text, so a message shows
 * the value as typed (99999999999999999999, not 1e+20).
 */
static json_object *
number_or_text(const char *text)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(text, &end);
        if (text[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v))
                return json_object_new_string(text);
        if (v == floor(v) && fabs(v) < 1e15)
                return json_object_new_int64((int64_t)v);
        if (is_json_number(text))
                return json_object_new_double_s(v, text);
        return json_object_new_double(v);
}

static json_object *
number_list(const char *text)
{
        json_object *list = json_object_new_array();
        char item[64];
        const char *p = text;

        while (*p != '\0') {
                size_t len = strcspn(p, ",");

                snprintf(item, sizeof(item), "%.*s", (int)len, p);
                json_object_array_add(list, number_or_text(item));
                p += len;
                if (*p == ',')
                        p++;
        }
        return list;
}

static json_object *
convert(const struct cl_analysis_arg *arg, const char *text)
{
        switch (arg->type) {
        case CL_ARG_NUMBER:
        case CL_ARG_INTEGER:
                return number_or_text(text);
        case CL_ARG_NUMBER_LIST:
                return number_list(text);
        case CL_ARG_BOOLEAN:
                if (strcmp(text, "true") == 0)
                        return json_object_new_boolean(1);
                if (strcmp(text, "false") == 0)
                        return json_object_new_boolean(0);
                return json_object_new_string(text);
        case CL_ARG_STRING:
                break;
        }
        return json_object_new_string(text);
}

/* Turns --some-name into some_name in buf; returns 0 when not an option. */
static int
option_to_arg(const char *option, char *buf, size_t size)
{
        size_t n;

        if (strncmp(option, "--", 2) != 0 || option[2] == '\0')
                return 0;
        n = strcspn(option + 2, "=");
        if (n >= size)
                return 0;
        for (size_t i = 0; i < n; i++)
                buf[i] = option[2 + i] == '-' ? '_' : option[2 + i];
        buf[n] = '\0';
        return 1;
}

static int
common_option(const char *name, const char *value, struct query_options *q)
{
        if (strcmp(name, "db") == 0)
                q->in.db_path = value;
        else if (strcmp(name, "policy") == 0)
                q->in.policy_path = value;
        else if (strcmp(name, "templates") == 0)
                q->in.template_dir = value;
        else if (strcmp(name, "kubelet_pods") == 0)
                q->in.kubelet_pods = value;
        else
                return 0;
        return 1;
}

/* Parses argv[2..]; returns 0 or EXIT_USAGE after printing the reason. */
static int
parse_query(const struct cl_analysis *a, int argc, char **argv,
            struct query_options *q)
{
        char name[64];

        for (int i = 2; i < argc; i++) {
                const char *opt = argv[i], *eq = strchr(opt, '=');
                const struct cl_analysis_arg *arg;
                const char *value = NULL;

                if (!option_to_arg(opt, name, sizeof(name)))
                        return query_usage_error("unexpected argument '%s'",
                                                 opt);
                if (strcmp(name, "json") == 0 && eq == NULL) {
                        q->json = 1;
                        continue;
                }
                arg = cl_analysis_arg_find(a, name);
                /* "--date --db q.db" lacks the date: an option is never
                   taken as the value of the one before it. */
                if (eq != NULL)
                        value = eq + 1;
                else if (arg != NULL && arg->type == CL_ARG_BOOLEAN)
                        value = "true";
                else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                        value = argv[++i];
                else
                        return query_usage_error("%s needs a value", opt);
                if (common_option(name, value, q))
                        continue;
                if (arg == NULL)
                        return query_usage_error(
                            "unknown option '%s' for %s (see --help)", opt,
                            a->name);
                json_object_object_add(q->args, name, convert(arg, value));
        }
        if (q->in.db_path == NULL)
                return query_usage_error("--db is required");
        return 0;
}

static int
run_query(const struct cl_analysis *a, struct query_options *q)
{
        struct cl_analysis_session s;
        json_object *result = NULL;
        cl_err rc;

        rc = cl_analysis_session_open(&q->in, &s);
        if (rc != CL_OK) {
                fprintf(stderr, "carbonledger query %s: %s\n", a->name,
                        cl_last_error());
                return rc == CL_EINVAL || rc == CL_EFORMAT ? EXIT_USAGE : 1;
        }
        s.env.option_names = 1;
        rc = cl_analysis_run(&s.env, a, q->args, &result);
        cl_analysis_session_close(&s);
        if (rc != CL_OK) {
                fprintf(stderr, "carbonledger query %s: %s\n", a->name,
                        cl_last_error());
                return rc == CL_EINVAL ? EXIT_USAGE : 1;
        }
        if (q->json)
                printf("%s\n", json_object_to_json_string_ext(
                                   result, JSON_C_TO_STRING_PRETTY |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
        else
                cl_analysis_print_text(result, stdout);
        json_object_put(result);
        return fflush(stdout) == 0 ? 0 : 1;
}

int
cl_cmd_query(int argc, char **argv)
{
        struct query_options q;
        const struct cl_analysis *a;
        int rc;

        if (argc < 2)
                return query_usage_error("an analysis NAME is required");
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                print_help(stdout);
                return 0;
        }
        a = cl_analysis_find(argv[1]);
        if (a == NULL)
                return query_usage_error("unknown analysis '%s' (see --help)",
                                         argv[1]);
        memset(&q, 0, sizeof(q));
        q.in.template_dir = cl_default_template_dir();
        q.args = json_object_new_object();
        if (q.args == NULL)
                return 1;
        for (int i = 2; i < argc; i++)
                if (strcmp(argv[i], "--help") == 0) {
                        print_help(stdout);
                        json_object_put(q.args);
                        return 0;
                }
        rc = parse_query(a, argc, argv, &q);
        if (rc == 0)
                rc = run_query(a, &q);
        json_object_put(q.args);
        return rc;
}
