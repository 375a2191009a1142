/*
 * libmicrohttpd serving of /metrics (see metrics_http.h). The daemon runs
 * its own polling thread with a connection limit and an idle timeout, so
 * a client that stalls occupies one slot for at most the timeout. Clients
 * beyond the limit wait in the listen backlog until a slot frees, so the
 * limit is well above the few scrapers of a node, and the timeout short:
 * one scrape is a single request that libmicrohttpd answers in
 * milliseconds, and Prometheus opens a new connection when one closed.
 */
#include "metrics_http.h"

#include "log.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/*
 * Simultaneous connections, and the idle timeout of one in seconds. In
 * tests/e2e/test_metrics_http.sh, 40 idle TCP connections delayed a
 * scrape by 20 s with a limit of 16 and a 10 s timeout, and by under
 * 10 ms with these values. 64 connections fit in the 128 descriptors the
 * sampler leaves outside its cgroup file budget (cgroup_fd_budget).
 */
#define HTTP_CONNECTION_LIMIT 64
#define HTTP_TIMEOUT_S 2

struct cl_metrics_http {
        struct MHD_Daemon *daemon;
        struct cl_metrics *metrics;
};

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";

int
cl_metrics_split_listen(const char *listen, char *host, size_t host_size,
                        char *port, size_t port_size)
{
        const char *colon, *host_start = listen;
        size_t host_len;
        char *end;
        long number;

        if (listen[0] == '[') {
                const char *close = strchr(listen, ']');

                if (close == NULL || close[1] != ':')
                        goto bad;
                host_start = listen + 1;
                host_len = (size_t)(close - host_start);
                colon = close + 1;
        } else {
                colon = strrchr(listen, ':');
                if (colon == NULL)
                        goto bad;
                host_len = (size_t)(colon - listen);
                if (memchr(listen, ':', host_len) != NULL)
                        goto bad;
        }
        if (host_len == 0 || host_len >= host_size)
                goto bad;
        number = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end != '\0' || number < 1 || number > 65535)
                goto bad;
        memcpy(host, host_start, host_len);
        host[host_len] = '\0';
        snprintf(port, port_size, "%ld", number);
        return 0;
bad:
        cl_fail(CL_EINVAL,
                "invalid listen address '%s': expected ADDR:PORT with a "
                "numeric address, for example 127.0.0.1:9464 or [::1]:9464",
                listen);
        return -1;
}

static enum MHD_Result
queue_text(struct MHD_Connection *connection, unsigned int status,
           const char *text)
{
        struct MHD_Response *response;
        enum MHD_Result r;

        response = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                   MHD_RESPMEM_PERSISTENT);
        if (response == NULL)
                return MHD_NO;
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; charset=utf-8");
        r = MHD_queue_response(connection, status, response);
        MHD_destroy_response(response);
        return r;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *connection, const char *url,
       const char *method, const char *version, const char *upload_data,
       size_t *upload_data_size, void **request_state)
{
        struct cl_metrics_http *http = cls;
        struct MHD_Response *response;
        enum MHD_Result r;
        char *text = NULL;
        size_t len = 0;

        (void)version;
        (void)upload_data;
        (void)upload_data_size;
        (void)request_state;
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
            strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                return queue_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
                                  "only GET /metrics is served\n");
        if (strcmp(url, "/metrics") != 0)
                return queue_text(connection, MHD_HTTP_NOT_FOUND,
                                  "not found: metrics are at /metrics\n");
        if (cl_metrics_render(http->metrics, &text, &len) != CL_OK) {
                cl_warn("metrics_render_failed", "error=\"%s\"",
                        cl_last_error());
                return queue_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                  "out of memory\n");
        }
        response =
            MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (response == NULL) {
                free(text);
                return MHD_NO;
        }
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type);
        r = MHD_queue_response(connection, MHD_HTTP_OK, response);
        MHD_destroy_response(response);
        return r;
}

cl_err
cl_metrics_http_start(const char *listen, struct cl_metrics *metrics,
                      struct cl_metrics_http **out)
{
        struct addrinfo hints, *ai = NULL;
        struct cl_metrics_http *http = NULL;
        unsigned int flags =
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
        char host[128], port[8];
        int gai;
        cl_err rc = CL_OK;

        *out = NULL;
        if (cl_metrics_split_listen(listen, host, sizeof(host), port,
                                    sizeof(port)) != 0)
                return CL_EINVAL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
        gai = getaddrinfo(host, port, &hints, &ai);
        if (gai != 0) {
                rc = cl_fail(CL_EINVAL,
                             "invalid listen address '%s': %s (use a "
                             "numeric address)",
                             listen, gai_strerror(gai));
                goto out;
        }
        http = calloc(1, sizeof(*http));
        if (http == NULL) {
                rc = cl_fail(CL_ENOMEM, "metrics server");
                goto out;
        }
        http->metrics = metrics;
        if (ai->ai_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        http->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, handle, http, MHD_OPTION_SOCK_ADDR,
            ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned int)HTTP_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned int)HTTP_TIMEOUT_S, MHD_OPTION_END);
        if (http->daemon == NULL) {
                rc = cl_fail(CL_EIO,
                             "cannot listen on %s for metrics (address in "
                             "use or not local?)",
                             listen);
                goto out;
        }
        cl_info("metrics_listening", "address=%s path=/metrics", listen);
        *out = http;
        http = NULL;
out:
        if (ai != NULL)
                freeaddrinfo(ai);
        free(http);
        return rc;
}

void
cl_metrics_http_stop(struct cl_metrics_http *http)
{
        if (http == NULL)
                return;
        MHD_stop_daemon(http->daemon);
        free(http);
}
