/*
 * The Model Context Protocol server: JSON-RPC 2.0 messages in, the eight
 * analyses as tools, over stdio (one message per line) or Streamable HTTP
 * (mcp_http.c). The server only reads the database.
 *
 * Methods: initialize, notifications/initialized, ping, tools/list,
 * tools/call. An unknown method gets error -32601, an unknown tool
 * -32602; invalid arguments, or an analysis failing on its data, give a
 * tool result with isError true and the message. A successful call
 * returns the same JSON as `carbonledger query NAME --json`, as
 * structuredContent and as one text content item.
 */
#ifndef CL_MCP_H
#define CL_MCP_H

#include "analyses.h"

#include <stddef.h>

/* The version this server prefers, and the ones it accepts. */
#define CL_MCP_PROTOCOL_VERSION "2025-06-18"

/* State of one client connection (stdio) or HTTP session. */
struct cl_mcp_session {
        const struct cl_analysis_env *env;
        char protocol_version[16]; /* negotiated; "" before initialize */
        int initialized;           /* notifications/initialized seen */
};

/* Kind of a handled message, for the HTTP transport. */
struct cl_mcp_outcome {
        int is_request;    /* 1: a request with an id (a response follows) */
        int is_initialize; /* 1: an initialize request that succeeded */
        int is_invalid;    /* 1: not JSON, or not a JSON-RPC message */
};

enum cl_mcp_kind {
        CL_MCP_INVALID,    /* not one JSON object */
        CL_MCP_INITIALIZE, /* a request whose method is initialize */
        CL_MCP_OTHER,
};

/* Classifies a message before it is handled, for session checks. */
enum cl_mcp_kind cl_mcp_classify(const char *text, size_t len);

/* Returns 1 when version is one this server speaks. */
int cl_mcp_version_supported(const char *version);

/*
 * Handles one JSON-RPC message of len bytes. Sets *response to a new
 * NUL-terminated one-line JSON text (free()), or NULL when the message
 * needs no response (a notification or a client's response). Fails only
 * with CL_ENOMEM; protocol errors are JSON-RPC error responses.
 */
cl_err cl_mcp_handle(struct cl_mcp_session *s, const char *text, size_t len,
                     char **response,
                     struct cl_mcp_outcome *outcome) CL_MUST_CHECK;

/* Options of the HTTP transport. */
struct cl_mcp_http_options {
        const char *listen;         /* "ADDR:PORT"; port 0 picks a free one */
        const char *token_file;     /* bearer token; required off loopback */
        const char *const *origins; /* allowed Origin values, NULL-ended */
        size_t n_origins;
};

/*
 * Serves Streamable HTTP on opt->listen until SIGINT or SIGTERM, printing
 * "listening on http://ADDR:PORT/mcp" to stdout once bound. Returns 0 on
 * a clean stop, 1 when the server cannot start, 2 for invalid options.
 */
int cl_mcp_serve_http(const struct cl_analysis_env *env,
                      const struct cl_mcp_http_options *opt);

#endif
