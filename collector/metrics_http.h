/*
 * The HTTP endpoint of --metrics-listen: GET /metrics serves the latest
 * metrics snapshot from libmicrohttpd's own thread, so requests never run
 * on the sampling thread. Every other path answers 404 and every other
 * method 405.
 */
#ifndef CL_METRICS_HTTP_H
#define CL_METRICS_HTTP_H

#include "err.h"
#include "metrics.h"

struct cl_metrics_http;

/*
 * Parses "ADDR:PORT" or "[IPV6]:PORT" (numeric addresses only, so no name
 * lookup runs; port 1-65535) and starts serving metrics (owned by the
 * caller, which keeps it alive until cl_metrics_http_stop) there. Fails
 * with CL_EINVAL for a malformed address and CL_EIO when the socket cannot
 * be bound, naming the address.
 */
cl_err cl_metrics_http_start(const char *listen, struct cl_metrics *metrics,
                             struct cl_metrics_http **out) CL_MUST_CHECK;

/* Stops the server and waits for its thread. NULL is allowed. */
void cl_metrics_http_stop(struct cl_metrics_http *http);

/*
 * Splits listen into a host and a port for cl_metrics_http_start. Returns
 * 0, or -1 with a CL_EINVAL message when it is malformed.
 */
int cl_metrics_split_listen(const char *listen, char *host, size_t host_size,
                            char *port, size_t port_size);

#endif
