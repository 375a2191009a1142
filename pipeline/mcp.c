/*
 * The MCP protocol core (JSON-RPC 2.0 dispatch, initialize, tools/list,
 * tools/call), the stdio transport and the `carbonledger mcp` command.
 *
 * Over stdio the server reads one JSON-RPC message per line from stdin
 * and writes each response as one line to stdout; logs go to stderr.
 * Empty and whitespace-only lines are skipped. A line longer than 4 MiB
 * is read to its end and discarded, and gets error -32600 with id null,
 * so the client is not left waiting. It stops at the end of input, or on
 * SIGINT or SIGTERM after the message in hand.
 *
 * A message that is not valid UTF-8 gets error -32700, so every string
 * echoed back (an id, a method name) is valid UTF-8, and error messages
 * cut at a byte limit are repaired before they are sent.
 */
#include "mcp.h"

#include "analyses_env.h"
#include "commands.h"
#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2
/* Maximum size of one message, in bytes. */
#define MAX_MESSAGE (4u * 1024u * 1024u)
#define MAX_ORIGINS 16

/* JSON-RPC 2.0 error codes. */
#define RPC_PARSE_ERROR -32700
#define RPC_INVALID_REQUEST -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS -32602

/* The versions of the official TypeScript SDK 1.32.2
   (SUPPORTED_PROTOCOL_VERSIONS), newest first. */
static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                       "2024-11-05", "2024-10-07", NULL};

int
cl_mcp_version_supported(const char *version)
{
        for (size_t i = 0; versions[i] != NULL; i++)
                if (strcmp(versions[i], version) == 0)
                        return 1;
        return 0;
}

static json_object *parse_whole(const char *text, size_t len);

/* Returns 1 when text contains only JSON whitespace (or nothing). */
static int
is_blank(const char *text, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' &&
                    text[i] != '\n')
                        return 0;
        return 1;
}

/* Returns the length of the UTF-8 sequence at s (at most n bytes), or 0
   when it is invalid: overlong, a surrogate, above U+10FFFF or cut. */
static size_t
utf8_sequence(const unsigned char *s, size_t n)
{
        unsigned c = s[0];
        size_t len;
        unsigned min, cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                min = 0x80;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                min = 0x800;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                min = 0x10000;
                cp = c & 0x07;
        } else {
                return 0;
        }
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

static int
is_utf8(const char *text, size_t len)
{
        const unsigned char *s = (const unsigned char *)text;

        for (size_t i = 0; i < len;) {
                size_t n = utf8_sequence(s + i, len - i);

                if (n == 0)
                        return 0;
                i += n;
        }
        return 1;
}

/* Replaces each byte of text that starts no valid UTF-8 sequence with
   '?', for messages that snprintf may have cut inside a character. */
static void
repair_utf8(char *text)
{
        unsigned char *s = (unsigned char *)text;
        size_t len = strlen(text);

        for (size_t i = 0; i < len;) {
                size_t n = utf8_sequence(s + i, len - i);

                if (n == 0) {
                        s[i] = '?';
                        n = 1;
                }
                i += n;
        }
}

static json_object *
response_frame(json_object *id)
{
        json_object *r = json_object_new_object();

        json_object_object_add(r, "jsonrpc", json_object_new_string("2.0"));
        json_object_object_add(r, "id",
                               id != NULL ? json_object_get(id) : NULL);
        return r;
}

static json_object *rpc_error(json_object *id, int code, const char *fmt, ...)
    CL_PRINTF(3, 4);

static json_object *
rpc_error(json_object *id, int code, const char *fmt, ...)
{
        json_object *r = response_frame(id), *e = json_object_new_object();
        char message[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        repair_utf8(message);
        json_object_object_add(e, "code", json_object_new_int(code));
        json_object_object_add(e, "message", json_object_new_string(message));
        json_object_object_add(r, "error", e);
        return r;
}

static json_object *
rpc_result(json_object *id, json_object *result)
{
        json_object *r = response_frame(id);

        json_object_object_add(r, "result", result);
        return r;
}

/* Names the JSON type of v for messages: "a number", "an object". */
static const char *
json_kind(json_object *v)
{
        switch (json_object_get_type(v)) {
        case json_type_int:
        case json_type_double:
                return "a number";
        case json_type_boolean:
                return "a boolean";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        case json_type_null:
                break;
        }
        return "null";
}

static json_object *
initialize(struct cl_mcp_session *s, json_object *id, json_object *params,
           struct cl_mcp_outcome *outcome)
{
        json_object *requested = NULL, *result, *caps, *tools, *info;
        const char *version = CL_MCP_PROTOCOL_VERSION;

        if (params == NULL ||
            !json_object_object_get_ex(params, "protocolVersion", &requested) ||
            requested == NULL)
                return rpc_error(id, RPC_INVALID_PARAMS,
                                 "initialize needs params.protocolVersion");
        if (!json_object_is_type(requested, json_type_string))
                return rpc_error(id, RPC_INVALID_PARAMS,
                                 "params.protocolVersion must be a string "
                                 "such as \"%s\", got %s",
                                 CL_MCP_PROTOCOL_VERSION, json_kind(requested));
        /* An unsupported version gets the preferred one, which the
           client may reject. */
        if (cl_mcp_version_supported(json_object_get_string(requested)))
                version = json_object_get_string(requested);
        snprintf(s->protocol_version, sizeof(s->protocol_version), "%s",
                 version);
        result = json_object_new_object();
        json_object_object_add(result, "protocolVersion",
                               json_object_new_string(version));
        caps = json_object_new_object();
        tools = json_object_new_object();
        json_object_object_add(tools, "listChanged",
                               json_object_new_boolean(0));
        json_object_object_add(caps, "tools", tools);
        json_object_object_add(result, "capabilities", caps);
        info = json_object_new_object();
        json_object_object_add(info, "name",
                               json_object_new_string("carbonledger"));
        json_object_object_add(info, "title",
                               json_object_new_string("carbonledger energy "
                                                      "and carbon analyses"));
        json_object_object_add(info, "version",
                               json_object_new_string(CL_VERSION));
        json_object_object_add(result, "serverInfo", info);
        json_object_object_add(
            result, "instructions",
            json_object_new_string(
                "Read-only analyses of a carbonledger database: energy (J, "
                "kWh), power (W) and emissions (gCO2eq) of Kubernetes pods "
                "and workloads per KST day. Every result names its period, "
                "inputs, units and the method of each figure."));
        outcome->is_initialize = 1;
        return rpc_result(id, result);
}

static json_object *
tools_list(json_object *id)
{
        json_object *result = json_object_new_object();
        json_object *list = json_object_new_array();

        for (size_t i = 0; i < cl_analysis_count(); i++) {
                const struct cl_analysis *a = cl_analysis_at(i);
                json_object *t = json_object_new_object();
                json_object *hints = json_object_new_object();

                json_object_object_add(t, "name",
                                       json_object_new_string(a->name));
                json_object_object_add(t, "description",
                                       json_object_new_string(a->description));
                json_object_object_add(t, "inputSchema",
                                       cl_analysis_input_schema(a));
                json_object_object_add(hints, "readOnlyHint",
                                       json_object_new_boolean(1));
                json_object_object_add(hints, "openWorldHint",
                                       json_object_new_boolean(0));
                json_object_object_add(t, "annotations", hints);
                json_object_array_add(list, t);
        }
        json_object_object_add(result, "tools", list);
        return rpc_result(id, result);
}

static json_object *
tool_result(json_object *structured, const char *error_text)
{
        json_object *result = json_object_new_object();
        json_object *content = json_object_new_array();
        json_object *item = json_object_new_object();
        const char *text =
            structured != NULL
                ? json_object_to_json_string_ext(
                      structured,
                      JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                : error_text;

        json_object_object_add(item, "type", json_object_new_string("text"));
        json_object_object_add(item, "text", json_object_new_string(text));
        json_object_array_add(content, item);
        json_object_object_add(result, "content", content);
        if (structured != NULL)
                json_object_object_add(result, "structuredContent", structured);
        json_object_object_add(result, "isError",
                               json_object_new_boolean(structured == NULL));
        return result;
}

static json_object *
tools_call(struct cl_mcp_session *s, json_object *id, json_object *params)
{
        json_object *name = NULL, *args = NULL, *structured = NULL;
        struct cl_analysis_env env;
        const struct cl_analysis *a;
        char message[1024];
        int64_t started = cl_monotonic_ns();
        cl_err rc;

        if (params == NULL ||
            !json_object_object_get_ex(params, "name", &name) ||
            !json_object_is_type(name, json_type_string))
                return rpc_error(id, RPC_INVALID_PARAMS,
                                 "tools/call needs params.name");
        a = cl_analysis_find(json_object_get_string(name));
        if (a == NULL)
                return rpc_error(id, RPC_INVALID_PARAMS, "Unknown tool: %.200s",
                                 json_object_get_string(name));
        json_object_object_get_ex(params, "arguments", &args);
        /* Defaults such as "yesterday" follow the clock of each call. */
        env = *s->env;
        env.now_ns = cl_now_ns();
        rc = cl_analysis_run(&env, a, args, &structured);
        cl_info("tool_called", "tool=%s ok=%d ms=%lld", a->name, rc == CL_OK,
                (long long)((cl_monotonic_ns() - started) / 1000000));
        if (rc != CL_OK) {
                snprintf(message, sizeof(message), "%s failed: %s", a->name,
                         cl_last_error());
                repair_utf8(message);
                return rpc_result(id, tool_result(NULL, message));
        }
        return rpc_result(id, tool_result(structured, NULL));
}

/* Dispatches one request or notification object. */
static json_object *
dispatch(struct cl_mcp_session *s, json_object *msg,
         struct cl_mcp_outcome *outcome)
{
        json_object *id = NULL, *method = NULL, *params = NULL, *version;
        const char *name;
        int has_id = json_object_object_get_ex(msg, "id", &id);

        if (!json_object_object_get_ex(msg, "jsonrpc", &version) ||
            !json_object_is_type(version, json_type_string) ||
            strcmp(json_object_get_string(version), "2.0") != 0)
                return rpc_error(has_id ? id : NULL, RPC_INVALID_REQUEST,
                                 "jsonrpc must be \"2.0\"");
        if (!json_object_object_get_ex(msg, "method", &method)) {
                /* A response to a server request needs no reply (this
                   server sends none); anything else is no request. */
                if (has_id && (json_object_object_get_ex(msg, "result", NULL) ||
                               json_object_object_get_ex(msg, "error", NULL)))
                        return NULL;
                return rpc_error(has_id ? id : NULL, RPC_INVALID_REQUEST,
                                 "a request needs a method (a string), a "
                                 "response a result or an error");
        }
        if (!json_object_is_type(method, json_type_string))
                return rpc_error(has_id ? id : NULL, RPC_INVALID_REQUEST,
                                 "method must be a string");
        if (has_id && !json_object_is_type(id, json_type_string) &&
            !json_object_is_type(id, json_type_int))
                return rpc_error(NULL, RPC_INVALID_REQUEST,
                                 "id must be a string or an integer");
        name = json_object_get_string(method);
        json_object_object_get_ex(msg, "params", &params);
        if (params != NULL && !json_object_is_type(params, json_type_object))
                return has_id ? rpc_error(id, RPC_INVALID_PARAMS,
                                          "params must be an object")
                              : NULL;
        if (!has_id) {
                if (strcmp(name, "notifications/initialized") == 0)
                        s->initialized = 1;
                return NULL;
        }
        outcome->is_request = 1;
        if (strcmp(name, "initialize") == 0)
                return initialize(s, id, params, outcome);
        if (strcmp(name, "ping") == 0)
                return rpc_result(id, json_object_new_object());
        if (strcmp(name, "tools/list") == 0)
                return tools_list(id);
        if (strcmp(name, "tools/call") == 0)
                return tools_call(s, id, params);
        return rpc_error(id, RPC_METHOD_NOT_FOUND, "Method not found: %.200s",
                         name);
}

cl_err
cl_mcp_handle(struct cl_mcp_session *s, const char *text, size_t len,
              char **response, struct cl_mcp_outcome *outcome)
{
        json_object *msg, *reply;
        const char *out;

        *response = NULL;
        memset(outcome, 0, sizeof(*outcome));
        msg = is_utf8(text, len) ? parse_whole(text, len) : NULL;
        if (msg == NULL && !is_utf8(text, len))
                reply = rpc_error(NULL, RPC_PARSE_ERROR,
                                  "Parse error: the message is not valid "
                                  "UTF-8");
        else if (msg == NULL)
                reply = rpc_error(NULL, RPC_PARSE_ERROR,
                                  "Parse error: the message is not one "
                                  "complete JSON value");
        else if (json_object_is_type(msg, json_type_array))
                reply = rpc_error(NULL, RPC_INVALID_REQUEST,
                                  "batches are not supported (protocol "
                                  "2025-06-18 removed them)");
        else if (!json_object_is_type(msg, json_type_object))
                reply = rpc_error(NULL, RPC_INVALID_REQUEST,
                                  "a message must be a JSON object");
        else
                reply = dispatch(s, msg, outcome);
        json_object_put(msg);
        if (reply == NULL)
                return CL_OK;
        if (!outcome->is_request)
                outcome->is_invalid = 1;
        out = json_object_to_json_string_ext(
            reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *response = strdup(out);
        json_object_put(reply);
        if (*response == NULL)
                return cl_fail(CL_ENOMEM, "MCP response");
        return CL_OK;
}

static json_object *
parse_whole(const char *text, size_t len)
{
        json_tokener *tok = json_tokener_new();
        json_object *msg = NULL;

        if (tok == NULL)
                return NULL;
        if (len <= (size_t)INT32_MAX)
                msg = json_tokener_parse_ex(tok, text, (int)len);
        /* JSON allows whitespace after the value, but nothing else. */
        if (msg != NULL &&
            (json_tokener_get_error(tok) != json_tokener_success ||
             !is_blank(text + json_tokener_get_parse_end(tok),
                       len - json_tokener_get_parse_end(tok)))) {
                json_object_put(msg);
                msg = NULL;
        }
        json_tokener_free(tok);
        return msg;
}

enum cl_mcp_kind
cl_mcp_classify(const char *text, size_t len)
{
        json_object *msg = parse_whole(text, len), *method, *id;
        enum cl_mcp_kind kind = CL_MCP_INVALID;

        if (msg != NULL && json_object_is_type(msg, json_type_object)) {
                kind = CL_MCP_OTHER;
                if (json_object_object_get_ex(msg, "id", &id) &&
                    json_object_object_get_ex(msg, "method", &method) &&
                    json_object_is_type(method, json_type_string) &&
                    strcmp(json_object_get_string(method), "initialize") == 0)
                        kind = CL_MCP_INITIALIZE;
        }
        json_object_put(msg);
        return kind;
}

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
        (void)sig;
        stop_requested = 1;
}

/*
 * Reads one line from in into buf without its newline, keeping at most
 * max bytes (buf has max + 1). The rest of a longer line is read and
 * dropped, and *too_long is set. Returns the bytes kept, or -1 when the
 * input ends (or a read fails) before any byte.
 */
static ssize_t
read_line(FILE *in, char *buf, size_t max, int *too_long)
{
        size_t len = 0;
        int c, any = 0;

        *too_long = 0;
        while ((c = getc(in)) != EOF) {
                any = 1;
                if (c == '\n')
                        break;
                if (len < max)
                        buf[len++] = (char)c;
                else
                        *too_long = 1;
        }
        if (!any)
                return -1;
        buf[len] = '\0';
        return (ssize_t)len;
}

/* Writes one response line; returns 0, or -1 after logging the error. */
static int
write_response(const char *response)
{
        if (fputs(response, stdout) == EOF || fputc('\n', stdout) == EOF ||
            fflush(stdout) != 0) {
                cl_error("mcp_write_failed", "errno=%d", errno);
                return -1;
        }
        return 0;
}

static char *
oversized_reply(void)
{
        json_object *r = rpc_error(
            NULL, RPC_INVALID_REQUEST,
            "message larger than %u bytes; it was discarded", MAX_MESSAGE);
        char *text = strdup(json_object_to_json_string_ext(
            r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

        json_object_put(r);
        return text;
}

static int
serve_stdio(const struct cl_analysis_env *env)
{
        struct cl_mcp_session s = {.env = env};
        struct sigaction sa;
        char *line = malloc(MAX_MESSAGE + 1), *response;
        ssize_t len;
        int rc = 0, too_long;

        if (line == NULL) {
                cl_error("mcp_failed",
                         "error=\"no memory for a %u-byte "
                         "message\"",
                         MAX_MESSAGE);
                return 1;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        cl_info("mcp_started", "transport=stdio");
        while (!stop_requested &&
               (len = read_line(stdin, line, MAX_MESSAGE, &too_long)) != -1) {
                struct cl_mcp_outcome outcome;

                if (too_long) {
                        cl_warn("mcp_message_rejected",
                                "reason=too_large max_bytes=%u", MAX_MESSAGE);
                        response = oversized_reply();
                } else if (is_blank(line, (size_t)len)) {
                        continue;
                } else if (cl_mcp_handle(&s, line, (size_t)len, &response,
                                         &outcome) != CL_OK) {
                        cl_error("mcp_failed", "error=\"%s\"", cl_last_error());
                        rc = 1;
                        break;
                }
                if (response == NULL && too_long) {
                        cl_error("mcp_failed", "error=\"no memory for a "
                                               "response\"");
                        rc = 1;
                        break;
                }
                if (response == NULL)
                        continue;
                rc = write_response(response) == 0 ? 0 : 1;
                free(response);
                if (rc != 0)
                        break;
        }
        free(line);
        cl_info("mcp_stopped", "transport=stdio");
        return rc;
}

static int mcp_usage_error(const char *fmt, ...) CL_PRINTF(1, 2);

static int
mcp_usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("carbonledger mcp: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nRun 'carbonledger mcp --help' for usage.\n", stderr);
        return EXIT_USAGE;
}

static const char mcp_help[] =
    "Usage: carbonledger mcp --db PATH [--listen ADDR:PORT] [options]\n"
    "\n"
    "Serves the eight analyses as MCP tools. Without --listen it speaks\n"
    "JSON-RPC over stdin and stdout, one message per line; with --listen it\n"
    "serves Streamable HTTP at http://ADDR:PORT/mcp (POST; JSON responses).\n"
    "The database is opened read-only.\n"
    "\n"
    "Options:\n"
    "  --db PATH             the carbonledger database\n"
    "  --policy FILE         compliance policy (default: the template's)\n"
    "  --templates DIR       template folder\n"
    "  --kubelet-pods FILE   the kubelet's /pods JSON, to group pods by "
    "owner\n"
    "  --listen ADDR:PORT    serve HTTP; ADDR is an IPv4 address or\n"
    "                        localhost, PORT 0 picks a free port (the\n"
    "                        address is printed); off 127.0.0.0/8 a token\n"
    "                        is required\n"
    "  --token-file FILE     clients must send 'Authorization: Bearer\n"
    "                        TOKEN' with the file's first line\n"
    "  --allow-origin ORIGIN accept requests with this Origin header\n"
    "                        (repeatable; loopback origins of the port are\n"
    "                        allowed by default; no Origin is allowed)\n";

struct mcp_args {
        struct cl_analysis_inputs in;
        struct cl_mcp_http_options http;
        const char *origins[MAX_ORIGINS + 1];
};

static int
parse_mcp(int argc, char **argv, struct mcp_args *m)
{
        for (int i = 1; i < argc; i++) {
                const char *opt = argv[i];
                const char *value = i + 1 < argc ? argv[i + 1] : NULL;

                if (strcmp(opt, "--help") == 0) {
                        fputs(mcp_help, stdout);
                        return -1;
                }
                if (value == NULL)
                        return mcp_usage_error("%s needs a value", opt);
                if (strcmp(opt, "--db") == 0)
                        m->in.db_path = value;
                else if (strcmp(opt, "--policy") == 0)
                        m->in.policy_path = value;
                else if (strcmp(opt, "--templates") == 0)
                        m->in.template_dir = value;
                else if (strcmp(opt, "--kubelet-pods") == 0)
                        m->in.kubelet_pods = value;
                else if (strcmp(opt, "--listen") == 0)
                        m->http.listen = value;
                else if (strcmp(opt, "--token-file") == 0)
                        m->http.token_file = value;
                else if (strcmp(opt, "--allow-origin") == 0) {
                        if (m->http.n_origins == MAX_ORIGINS)
                                return mcp_usage_error(
                                    "at most %d --allow-origin values",
                                    MAX_ORIGINS);
                        m->origins[m->http.n_origins++] = value;
                } else
                        return mcp_usage_error("unknown option '%s'", opt);
                i++;
        }
        if (m->in.db_path == NULL)
                return mcp_usage_error("--db is required");
        if (m->http.listen == NULL &&
            (m->http.token_file != NULL || m->http.n_origins > 0))
                return mcp_usage_error("--token-file and --allow-origin need "
                                       "--listen");
        return 0;
}

int
cl_cmd_mcp(int argc, char **argv)
{
        struct cl_analysis_session s;
        struct mcp_args m;
        int rc;

        memset(&m, 0, sizeof(m));
        m.in.template_dir = cl_default_template_dir();
        m.http.origins = m.origins;
        rc = parse_mcp(argc, argv, &m);
        if (rc != 0)
                return rc < 0 ? 0 : rc;
        if (cl_analysis_session_open(&m.in, &s) != CL_OK) {
                fprintf(stderr, "carbonledger mcp: %s\n", cl_last_error());
                return 1;
        }
        if (m.http.listen != NULL)
                rc = cl_mcp_serve_http(&s.env, &m.http);
        else
                rc = serve_stdio(&s.env);
        cl_analysis_session_close(&s);
        return rc;
}
