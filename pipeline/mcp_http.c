/*
 * The MCP Streamable HTTP transport on libmicrohttpd: JSON-RPC POSTed to
 * /mcp, answered with application/json (no SSE streams; GET gets 405).
 *
 * Checks, in order, for every request to /mcp: on a loopback address the
 * Host header (localhost, [::1] or a 127.0.0.0/8 address, with the
 * port, else 403, against DNS rebinding), the Origin header (absent, or
 * one of the allowed origins, else 403), the bearer token when one is
 * configured (else 401), the method, Content-Type and Accept, the body
 * size (4 MiB), MCP-Protocol-Version (a supported version when present,
 * else 400) and Mcp-Session-Id. An initialize request opens a session
 * and its response carries the new Mcp-Session-Id; every later request
 * must send it (missing: 400, unknown: 404); DELETE ends it.
 *
 * libmicrohttpd runs every callback on its one internal polling thread,
 * so the sessions and the database connection are used by one thread.
 */
#include "mcp.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BODY (4u * 1024u * 1024u)
#define MAX_SESSIONS 64
#define MAX_TOKEN 512
#define MIN_TOKEN 16
#define MAX_ALLOWED_ORIGINS 24
#define CONNECTION_LIMIT 64
#define CONNECTION_TIMEOUT_S 30

struct http_session {
        int used;
        char id[33]; /* 128 random bits in hex */
        int64_t last_used;
        struct cl_mcp_session mcp;
};

struct server {
        const struct cl_analysis_env *env;
        char token[MAX_TOKEN];
        int has_token;
        char origins[MAX_ALLOWED_ORIGINS][256];
        size_t n_origins;
        /* On a loopback address, Host must name loopback with this port. */
        unsigned host_port;
        int check_host;
        struct http_session sessions[MAX_SESSIONS];
        int64_t clock; /* counts requests, for evicting the oldest session */
};

/* The body of one request, collected across callbacks. */
struct request {
        char *body;
        size_t len;
        int too_large;
};

static cl_err
parse_listen(const char *listen, struct sockaddr_in *addr)
{
        const char *colon = strrchr(listen, ':');
        char host[64];
        char *end;
        long port;

        memset(addr, 0, sizeof(*addr));
        if (colon == NULL || colon == listen ||
            (size_t)(colon - listen) >= sizeof(host))
                return cl_fail(CL_EINVAL,
                               "--listen %s: expected ADDR:PORT, e.g. "
                               "127.0.0.1:8080",
                               listen);
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        port = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
                return cl_fail(CL_EINVAL, "--listen %s: invalid port", listen);
        if (strcmp(host, "localhost") == 0)
                snprintf(host, sizeof(host), "127.0.0.1");
        addr->sin_family = AF_INET;
        addr->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &addr->sin_addr) != 1)
                return cl_fail(CL_EINVAL,
                               "--listen %s: '%s' is not an IPv4 address",
                               listen, host);
        return CL_OK;
}

static int
is_loopback(const struct sockaddr_in *addr)
{
        return (ntohl(addr->sin_addr.s_addr) >> 24) == 127;
}

/*
 * Checks the token file on the open descriptor: a regular file of the
 * user running carbonledger that no group or other user may read or
 * write, like the intensity key file.
 */
static cl_err
check_token_file(int fd, const char *path)
{
        struct stat st;

        if (fstat(fd, &st) != 0)
                return cl_fail_errno(CL_EIO, errno, "stat token file %s", path);
        if (!S_ISREG(st.st_mode))
                return cl_fail(CL_EINVAL, "token file %s is not a regular file",
                               path);
        if (st.st_uid != geteuid())
                return cl_fail(CL_EINVAL,
                               "token file %s is owned by uid %u, not by the "
                               "user running carbonledger (uid %u)",
                               path, (unsigned)st.st_uid, (unsigned)geteuid());
        if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
                return cl_fail(CL_EINVAL,
                               "token file %s has mode %04o: it must be "
                               "readable only by its owner; run chmod 600 %s",
                               path, (unsigned)(st.st_mode & 07777), path);
        return CL_OK;
}

static cl_err
read_token(const char *path, struct server *srv)
{
        size_t n = 0;
        ssize_t got = 0;
        cl_err rc;
        int fd;

        /* O_NONBLOCK: a FIFO given as the token file fails the check
           below instead of blocking the start. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return cl_fail_errno(CL_EIO, errno, "open token file %s", path);
        rc = check_token_file(fd, path);
        while (rc == CL_OK && n < sizeof(srv->token) - 1 &&
               (got = read(fd, srv->token + n, sizeof(srv->token) - 1 - n)) > 0)
                n += (size_t)got;
        if (rc == CL_OK && got < 0)
                rc = cl_fail_errno(CL_EIO, errno, "read token file %s", path);
        close(fd);
        srv->token[n] = '\0';
        if (rc != CL_OK) {
                OPENSSL_cleanse(srv->token, sizeof(srv->token));
                return rc;
        }
        if (n == sizeof(srv->token) - 1 && strcspn(srv->token, "\r\n") == n) {
                OPENSSL_cleanse(srv->token, sizeof(srv->token));
                return cl_fail(CL_EINVAL,
                               "token file %s: the first line is longer than "
                               "%d bytes",
                               path, MAX_TOKEN - 1);
        }
        n = strcspn(srv->token, "\r\n");
        srv->token[n] = '\0';
        while (n > 0 && (srv->token[n - 1] == ' ' || srv->token[n - 1] == '\t'))
                srv->token[--n] = '\0';
        if (n < MIN_TOKEN)
                return cl_fail(CL_EINVAL,
                               "token file %s: the token on its first line "
                               "must have at least %d characters",
                               path, MIN_TOKEN);
        srv->has_token = 1;
        return CL_OK;
}

static void
add_origin(struct server *srv, const char *origin)
{
        if (srv->n_origins < MAX_ALLOWED_ORIGINS)
                snprintf(srv->origins[srv->n_origins++],
                         sizeof(srv->origins[0]), "%s", origin);
}

static int
origin_allowed(const struct server *srv, const char *origin)
{
        if (origin == NULL)
                return 1; /* not a browser: curl, SDK clients */
        for (size_t i = 0; i < srv->n_origins; i++)
                if (strcasecmp(srv->origins[i], origin) == 0)
                        return 1;
        return 0;
}

/* Returns 1 for localhost, *.localhost, [::1] and 127.0.0.0/8. */
static int
is_loopback_name(const char *name)
{
        size_t len = strlen(name);
        struct in_addr a;

        if (strcasecmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0)
                return 1;
        if (len > 10 && strcasecmp(name + len - 10, ".localhost") == 0)
                return 1;
        if (inet_pton(AF_INET, name, &a) == 1)
                return (ntohl(a.s_addr) >> 24) == 127;
        return 0;
}

/*
 * Rejects a DNS-rebinding page: on loopback, Host must be a loopback name
 * or address with the bound port (no port stands for port 80).
 */
static int
host_allowed(const struct server *srv, const char *host)
{
        const char *colon, *bracket;
        char name[64];
        size_t name_len;
        unsigned long port = 80;
        char *end;

        if (!srv->check_host || host == NULL)
                return 1;
        colon = strrchr(host, ':');
        bracket = strchr(host, ']');
        if (colon != NULL && bracket != NULL && colon < bracket)
                colon = NULL;
        name_len = colon != NULL ? (size_t)(colon - host) : strlen(host);
        if (name_len == 0 || name_len >= sizeof(name))
                return 0;
        memcpy(name, host, name_len);
        name[name_len] = '\0';
        if (colon != NULL) {
                if (colon[1] < '0' || colon[1] > '9' || strlen(colon + 1) > 5)
                        return 0;
                port = strtoul(colon + 1, &end, 10);
                if (*end != '\0')
                        return 0;
        }
        return port == srv->host_port && is_loopback_name(name);
}

static int
token_matches(const struct server *srv, const char *header)
{
        size_t want = strlen(srv->token);

        if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
                return 0;
        header += 7;
        if (strlen(header) != want)
                return 0;
        return CRYPTO_memcmp(header, srv->token, want) == 0;
}

static struct http_session *
find_session(struct server *srv, const char *id)
{
        for (size_t i = 0; i < MAX_SESSIONS; i++)
                if (srv->sessions[i].used &&
                    strcmp(srv->sessions[i].id, id) == 0)
                        return &srv->sessions[i];
        return NULL;
}

/* Opens a session, evicting the least recently used when all are taken. */
static struct http_session *
new_session(struct server *srv)
{
        struct http_session *slot = &srv->sessions[0];
        unsigned char raw[16];

        for (size_t i = 0; i < MAX_SESSIONS; i++) {
                if (!srv->sessions[i].used) {
                        slot = &srv->sessions[i];
                        break;
                }
                if (srv->sessions[i].last_used < slot->last_used)
                        slot = &srv->sessions[i];
        }
        if (RAND_bytes(raw, sizeof(raw)) != 1)
                return NULL;
        if (slot->used)
                cl_info("mcp_session_evicted", "session=%s", slot->id);
        memset(slot, 0, sizeof(*slot));
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(slot->id + 2 * i, 3, "%02x", raw[i]);
        slot->used = 1;
        slot->mcp.env = srv->env;
        return slot;
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned int status, const char *type,
      const char *body, const char *session_id, const char *allow)
{
        struct MHD_Response *r;
        enum MHD_Result ret;
        size_t len = body != NULL ? strlen(body) : 0;

        r = MHD_create_response_from_buffer(len, (void *)(body ? body : ""),
                                            MHD_RESPMEM_MUST_COPY);
        if (r == NULL)
                return MHD_NO;
        if (type != NULL)
                MHD_add_response_header(r, "Content-Type", type);
        if (session_id != NULL)
                MHD_add_response_header(r, "Mcp-Session-Id", session_id);
        if (allow != NULL)
                MHD_add_response_header(r, "Allow", allow);
        if (status == MHD_HTTP_UNAUTHORIZED)
                MHD_add_response_header(r, "WWW-Authenticate",
                                        "Bearer realm=\"carbonledger\"");
        ret = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return ret;
}

/* A JSON-RPC error body for transport-level rejections. */
static enum MHD_Result
reject(struct MHD_Connection *conn, unsigned int status, const char *message)
{
        char body[512];
        json_object *o = json_object_new_object(),
                    *e = json_object_new_object();

        json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
        json_object_object_add(o, "id", NULL);
        json_object_object_add(e, "code", json_object_new_int(-32000));
        json_object_object_add(e, "message", json_object_new_string(message));
        json_object_object_add(o, "error", e);
        snprintf(body, sizeof(body), "%s",
                 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        cl_info("mcp_http_rejected", "status=%u reason=\"%s\"", status,
                message);
        return reply(conn, status, "application/json", body, NULL, NULL);
}

static const char *
header(struct MHD_Connection *conn, const char *name)
{
        return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static int
accepts_json(const char *accept)
{
        return accept == NULL || strstr(accept, "application/json") != NULL ||
               strstr(accept, "*/*") != NULL ||
               strstr(accept, "application/*") != NULL;
}

static int
is_json_type(const char *type)
{
        return type != NULL && strncasecmp(type, "application/json", 16) == 0 &&
               (type[16] == '\0' || type[16] == ';' || type[16] == ' ');
}

/* Handles a complete POST body. */
static enum MHD_Result
handle_post(struct server *srv, struct MHD_Connection *conn,
            struct request *req)
{
        const char *sid = header(conn, "Mcp-Session-Id");
        const char *version = header(conn, "MCP-Protocol-Version");
        const char *body = req->body != NULL ? req->body : "";
        enum cl_mcp_kind kind = CL_MCP_OTHER;
        struct http_session *session = NULL;
        struct cl_mcp_session scratch;
        struct cl_mcp_outcome outcome;
        char *response = NULL;
        enum MHD_Result ret;

        if (!is_json_type(header(conn, "Content-Type")))
                return reject(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                              "Content-Type must be application/json");
        if (!accepts_json(header(conn, "Accept")))
                return reject(conn, MHD_HTTP_NOT_ACCEPTABLE,
                              "Accept must include application/json");
        if (req->too_large)
                return reject(conn, MHD_HTTP_CONTENT_TOO_LARGE,
                              "request body larger than 4 MiB");
        if (version != NULL && !cl_mcp_version_supported(version))
                return reject(conn, MHD_HTTP_BAD_REQUEST,
                              "unsupported MCP-Protocol-Version");
        if (sid != NULL) {
                session = find_session(srv, sid);
                if (session == NULL)
                        return reject(conn, MHD_HTTP_NOT_FOUND,
                                      "unknown or ended Mcp-Session-Id; "
                                      "initialize a new session");
        }
        if (session == NULL) {
                kind = cl_mcp_classify(body, req->len);
                if (kind == CL_MCP_OTHER)
                        return reject(conn, MHD_HTTP_BAD_REQUEST,
                                      "missing Mcp-Session-Id: send "
                                      "initialize first");
                if (kind == CL_MCP_INITIALIZE) {
                        session = new_session(srv);
                        if (session == NULL)
                                return reject(conn,
                                              MHD_HTTP_INTERNAL_SERVER_ERROR,
                                              "no random bytes for a "
                                              "session id");
                }
        }
        /* An invalid message without a session only yields its error. */
        memset(&scratch, 0, sizeof(scratch));
        scratch.env = srv->env;
        if (cl_mcp_handle(session != NULL ? &session->mcp : &scratch, body,
                          req->len, &response, &outcome) != CL_OK)
                return reject(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "out of memory");
        if (kind == CL_MCP_INITIALIZE && !outcome.is_initialize) {
                memset(session, 0, sizeof(*session));
                session = NULL;
        } else if (kind == CL_MCP_INITIALIZE) {
                cl_info("mcp_session_opened", "session=%s protocol=%s",
                        session->id, session->mcp.protocol_version);
        }
        if (outcome.is_invalid) {
                ret = reply(conn, MHD_HTTP_BAD_REQUEST, "application/json",
                            response, NULL, NULL);
                free(response);
                return ret;
        }
        if (session != NULL)
                session->last_used = ++srv->clock;
        if (response == NULL)
                return reply(conn, MHD_HTTP_ACCEPTED, NULL, NULL, NULL, NULL);
        ret = reply(conn, MHD_HTTP_OK, "application/json", response,
                    session != NULL ? session->id : NULL, NULL);
        free(response);
        return ret;
}

static enum MHD_Result
handle_delete(struct server *srv, struct MHD_Connection *conn)
{
        const char *sid = header(conn, "Mcp-Session-Id");
        struct http_session *session;

        if (sid == NULL)
                return reject(conn, MHD_HTTP_BAD_REQUEST,
                              "missing Mcp-Session-Id");
        session = find_session(srv, sid);
        if (session == NULL)
                return reject(conn, MHD_HTTP_NOT_FOUND,
                              "unknown Mcp-Session-Id");
        cl_info("mcp_session_closed", "session=%s", session->id);
        memset(session, 0, sizeof(*session));
        return reply(conn, MHD_HTTP_OK, NULL, NULL, NULL, NULL);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **state)
{
        struct server *srv = cls;
        struct request *req = *state;

        (void)version;
        if (req == NULL) {
                req = calloc(1, sizeof(*req));
                if (req == NULL)
                        return MHD_NO;
                *state = req;
                return MHD_YES;
        }
        if (*upload_size > 0) {
                if (!req->too_large && req->len + *upload_size <= MAX_BODY) {
                        char *grown =
                            realloc(req->body, req->len + *upload_size + 1);

                        if (grown == NULL)
                                return MHD_NO;
                        memcpy(grown + req->len, upload, *upload_size);
                        req->len += *upload_size;
                        grown[req->len] = '\0';
                        req->body = grown;
                } else {
                        req->too_large = 1;
                }
                *upload_size = 0;
                return MHD_YES;
        }
        if (strcmp(url, "/mcp") != 0)
                return reject(conn, MHD_HTTP_NOT_FOUND,
                              "not found: the MCP endpoint is /mcp");
        if (!host_allowed(srv, header(conn, "Host")))
                return reject(conn, MHD_HTTP_FORBIDDEN,
                              "Host not allowed: this server answers "
                              "loopback names only");
        if (!origin_allowed(srv, header(conn, "Origin")))
                return reject(conn, MHD_HTTP_FORBIDDEN, "Origin not allowed");
        if (srv->has_token &&
            !token_matches(srv, header(conn, "Authorization")))
                return reject(conn, MHD_HTTP_UNAUTHORIZED,
                              "missing or invalid bearer token");
        if (strcmp(method, "POST") == 0)
                return handle_post(srv, conn, req);
        if (strcmp(method, "DELETE") == 0)
                return handle_delete(srv, conn);
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                     "this server answers POST with JSON and streams no "
                     "events\n",
                     NULL, "POST, DELETE");
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **state,
             enum MHD_RequestTerminationCode code)
{
        struct request *req = *state;

        (void)cls;
        (void)conn;
        (void)code;
        if (req != NULL) {
                free(req->body);
                free(req);
        }
        *state = NULL;
}

static void
log_mhd(void *cls, const char *fmt, va_list ap)
{
        char text[512];
        char quoted[600];

        (void)cls;
        vsnprintf(text, sizeof(text), fmt, ap);
        text[strcspn(text, "\n")] = '\0';
        cl_warn("mcp_http_library", "message=%s",
                cl_log_quote(text, quoted, sizeof(quoted)));
}

static cl_err
configure(const struct cl_mcp_http_options *opt, struct server *srv,
          struct sockaddr_in *addr)
{
        cl_err rc;

        rc = parse_listen(opt->listen, addr);
        if (rc != CL_OK)
                return rc;
        if (opt->token_file != NULL) {
                rc = read_token(opt->token_file, srv);
                if (rc != CL_OK)
                        return rc;
        }
        if (!is_loopback(addr) && !srv->has_token)
                return cl_fail(CL_EINVAL,
                               "--listen %s is not a loopback address: "
                               "give --token-file so clients must "
                               "authenticate",
                               opt->listen);
        for (size_t i = 0; i < opt->n_origins; i++)
                add_origin(srv, opt->origins[i]);
        return CL_OK;
}

/*
 * Allows the loopback origins of the bound port (a local browser UI), and
 * as Host any loopback name or address with the port.
 */
static void
add_loopback_origins(struct server *srv, unsigned port)
{
        static const char *const hosts[] = {"127.0.0.1", "localhost", "[::1]"};
        char origin[64];

        for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
                snprintf(origin, sizeof(origin), "http://%s:%u", hosts[i],
                         port);
                add_origin(srv, origin);
        }
        srv->host_port = port;
        srv->check_host = 1;
}

static void
wait_for_stop(void)
{
        sigset_t set;
        int sig = 0;

        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigwait(&set, &sig);
        cl_info("mcp_stopping", "signal=%d", sig);
}

int
cl_mcp_serve_http(const struct cl_analysis_env *env,
                  const struct cl_mcp_http_options *opt)
{
        struct server *srv = calloc(1, sizeof(*srv));
        const union MHD_DaemonInfo *info;
        struct MHD_Daemon *daemon;
        struct sockaddr_in addr;
        char host[INET_ADDRSTRLEN];
        sigset_t set;
        unsigned port;

        if (srv == NULL)
                return 1;
        srv->env = env;
        if (configure(opt, srv, &addr) != CL_OK) {
                fprintf(stderr, "carbonledger mcp: %s\n", cl_last_error());
                free(srv);
                return 2;
        }
        /* Block the stop signals before the server thread starts, so it
           inherits the mask and sigwait here receives them. */
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        /* The logger goes first, so libmicrohttpd logs the other options
           through it (it warns when it is not the first option). */
        daemon = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
            on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
            MHD_OPTION_END);
        if (daemon == NULL) {
                fprintf(stderr,
                        "carbonledger mcp: cannot listen on %s (address in "
                        "use or not available)\n",
                        opt->listen);
                free(srv);
                return 1;
        }
        info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
        port = info != NULL ? info->port : ntohs(addr.sin_port);
        inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host));
        if (is_loopback(&addr))
                add_loopback_origins(srv, port);
        printf("listening on http://%s:%u/mcp\n", host, port);
        fflush(stdout);
        cl_info("mcp_started", "transport=http address=%s port=%u token=%s",
                host, port, srv->has_token ? "required" : "none");
        wait_for_stop();
        MHD_stop_daemon(daemon);
        cl_info("mcp_stopped", "transport=http");
        OPENSSL_cleanse(srv->token, sizeof(srv->token));
        free(srv);
        return 0;
}
