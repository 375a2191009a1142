/*
 * The HTTP client of the intensity sources, on libcurl. It applies
 * timeouts, retries with exponential backoff and jitter, a maximum body
 * size and TLS verification, and writes one api_call row per request.
 * Its redaction keeps keys, tokens and passwords out of every log line,
 * error message and database row. API keys are loaded here too.
 */
#ifndef CL_HTTP_CLIENT_H
#define CL_HTTP_CLIENT_H

#include "err.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults of struct cl_http_options fields left 0. */
#define CL_HTTP_CONNECT_TIMEOUT_MS 5000L
#define CL_HTTP_TOTAL_TIMEOUT_MS 30000L
#define CL_HTTP_MAX_ATTEMPTS 4
#define CL_HTTP_BACKOFF_BASE_MS 1000L
#define CL_HTTP_BACKOFF_MAX_MS 60000L
#define CL_HTTP_MAX_BODY_BYTES ((size_t)8 << 20)

/* The replacement text of every secret. */
#define CL_REDACTED "REDACTED"

struct cl_http_options {
        long connect_timeout_ms; /* 0: CL_HTTP_CONNECT_TIMEOUT_MS */
        long total_timeout_ms;   /* per attempt; 0: CL_HTTP_TOTAL_TIMEOUT_MS */
        int max_attempts;        /* 0: CL_HTTP_MAX_ATTEMPTS */
        long backoff_base_ms;    /* first retry delay; 0: the default */
        long backoff_max_ms;     /* cap of one delay; 0: the default */
        size_t max_body_bytes;   /* 0: CL_HTTP_MAX_BODY_BYTES */
        const char *ca_bundle;   /* NULL: the system's CA store */
        int insecure;            /* 1 disables TLS verification */
};

/* The verdict on one response, also stored as the api_call outcome. */
enum cl_http_outcome {
        CL_HTTP_OK,
        CL_HTTP_NO_DATA,   /* the source has no rows for the request */
        CL_HTTP_TRANSIENT, /* a retry may succeed */
        CL_HTTP_PERMANENT, /* a retry cannot succeed */
        CL_HTTP_QUOTA,     /* daily quota exhausted: stop calling */
        CL_HTTP_INVALID,   /* a complete body that could not be parsed */
};

/* Returns "ok", "no_data", "transient", "permanent", "quota", "invalid". */
const char *cl_http_outcome_name(enum cl_http_outcome outcome);

struct cl_http_response {
        long status;          /* HTTP status, 0 when no response arrived */
        char *body;           /* NUL-terminated, owned, NULL when empty */
        size_t len;           /* body bytes without the NUL */
        int transport;        /* CURLcode, 0 when the transfer completed */
        long latency_ms;      /* of the last attempt */
        long retry_after_s;   /* Retry-After header, -1 when absent */
        int attempts;         /* requests made for this call */
        char sha256[65];      /* hex SHA-256 of body */
        char result_code[16]; /* set by the classifier, "" when none */
        char message[256];    /* redacted reason of the final outcome */
};

/*
 * Judges a response for the retry rule. The classifier fills
 * response->result_code and message (never with a secret) and returns the
 * outcome; ctx is the caller's. Transport failures and HTTP status are
 * already in response.
 */
typedef enum cl_http_outcome (*cl_http_classify_fn)(
    struct cl_http_response *response, void *ctx);

struct cl_http_request {
        sqlite3 *db;                /* where api_call rows go; NULL: none */
        const char *source;         /* "kpx", ... for api_call and logs */
        const char *url;            /* full URL; may contain a key */
        const char *const *headers; /* "Name: value", NULL-terminated */
        const char *basic_user;     /* HTTP Basic when not NULL */
        const char *basic_password;
        /* Extra strings to redact (tokens), NULL-terminated; may be NULL. */
        const char *const *secrets;
        cl_http_classify_fn classify; /* NULL: cl_http_classify_default */
        void *classify_ctx;
};

/*
 * Classifies by transport and status alone: transport failures (except
 * TLS verification, bad URLs and an oversized body), HTTP 429 and 5xx are
 * transient, other 4xx permanent, 2xx and 3xx ok.
 */
enum cl_http_outcome cl_http_classify_default(struct cl_http_response *r,
                                              void *ctx);

/*
 * Makes the request, retrying transient outcomes up to max_attempts with
 * exponential backoff (base x 2^(attempt-1), capped, with jitter of up to
 * half the delay, or the Retry-After of a 429 when shorter than the cap),
 * and records one api_call row per attempt. Sets *outcome to the final
 * outcome and fills *response (release with cl_http_response_free()). The
 * body is read on 4xx too. Returns CL_OK whenever a request was made,
 * whatever its outcome; CL_EINVAL for a URL libcurl or the key rule
 * rejects (a key or password over plain http to a host other than the
 * loopback), CL_ENOMEM, or CL_EDB when an api_call row cannot be written.
 */
cl_err cl_http_get(const struct cl_http_options *options,
                   const struct cl_http_request *request,
                   struct cl_http_response *response,
                   enum cl_http_outcome *outcome) CL_MUST_CHECK;

void cl_http_response_free(struct cl_http_response *response);

/*
 * Returns the delay in ms before retry number `retry` (1 for the first
 * retry): base x 2^(retry-1) capped at max_ms, minus a random jitter of up
 * to half of it. random01 is a number in [0, 1).
 */
long cl_http_backoff_ms(long base_ms, long max_ms, int retry, double random01);

/*
 * Copies text into out (size bytes, always terminated) with secrets
 * replaced by CL_REDACTED: the values of the query parameters serviceKey,
 * service_key, apikey, api_key, key, token, access_token, auth-token and
 * password (names case-insensitive), the value after "auth-token:",
 * "Authorization:" and user:password@ in a URL, and every occurrence of each
 * string in secrets (also URL-encoded). Returns out.
 */
const char *cl_redact(const char *text, const char *const *secrets, char *out,
                      size_t size);

/*
 * Percent-encodes text (every byte but A-Z a-z 0-9 - . _ ~) into out.
 * Fails with CL_EINVAL when the result does not fit in size bytes.
 */
cl_err cl_url_encode(const char *text, char *out, size_t size) CL_MUST_CHECK;

/* The keys of the sources; empty strings when not configured. */
struct cl_api_keys {
        char kpx[512];             /* data.go.kr decoding or encoding key */
        char electricitymaps[512]; /* auth-token */
        char watttime_user[256];
        char watttime_password[256];
};

/*
 * Loads keys from the environment (CARBONLEDGER_KPX_KEY,
 * CARBONLEDGER_ELECTRICITYMAPS_TOKEN, CARBONLEDGER_WATTTIME_USER,
 * CARBONLEDGER_WATTTIME_PASSWORD) and, when key_file is not NULL, from
 * that file, whose NAME=value lines use the same names and take
 * precedence; blank lines and lines starting with # are ignored. The file
 * must be a regular file owned by the effective user with no group or
 * other permission bits (mode 0600 or 0400): CL_EINVAL otherwise, naming
 * the file and its mode. CL_EIO when it cannot be read, CL_EFORMAT for a
 * line that is not NAME=value or names an unknown key (the message names
 * the line number, never the value).
 */
cl_err cl_keys_load(const char *key_file,
                    struct cl_api_keys *keys) CL_MUST_CHECK;

/* Overwrites the keys with zeros. */
void cl_keys_clear(struct cl_api_keys *keys);

/* Writes the hex SHA-256 of data into hex (65 bytes). */
void cl_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
