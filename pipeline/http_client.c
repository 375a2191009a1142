/*
 * HTTP GET on libcurl for the intensity sources (see http_client.h), the
 * redaction of secrets, API key loading and SHA-256 of bodies.
 *
 * A call is a loop of attempts. Each attempt performs one transfer into a
 * bounded buffer, lets the classifier judge it, writes one api_call row
 * with the redacted URL, and logs one line. Only a transient outcome with
 * attempts left sleeps and tries again. Redirects are never followed, so a
 * key in a URL cannot be carried to another host, and only http and https
 * are allowed.
 */
#include "http_client.h"

#include "db.h"
#include "log.h"
#include "membuf.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_FILE_MAX_BYTES 65536
/* Bound of a redacted URL or message kept for a row or a log line. */
#define REDACTED_MAX 2048

const char *
cl_http_outcome_name(enum cl_http_outcome outcome)
{
        switch (outcome) {
        case CL_HTTP_OK:
                return "ok";
        case CL_HTTP_NO_DATA:
                return "no_data";
        case CL_HTTP_TRANSIENT:
                return "transient";
        case CL_HTTP_PERMANENT:
                return "permanent";
        case CL_HTTP_QUOTA:
                return "quota";
        case CL_HTTP_INVALID:
                return "invalid";
        }
        return "invalid";
}

void
cl_sha256_hex(const void *data, size_t len, char hex[65])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;

        hex[0] = '\0';
        if (EVP_Digest(data != NULL ? data : "", len, md, &n, EVP_sha256(),
                       NULL) != 1)
                return;
        for (unsigned int i = 0; i < n && i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* --- Redaction ------------------------------------------------------ */

/* A growable string for the redaction passes; failed is set on ENOMEM. */
struct text {
        char *s;
        size_t len, cap;
        int failed;
};

static void
text_append(struct text *t, const char *s, size_t n)
{
        if (t->failed)
                return;
        if (t->len + n + 1 > t->cap) {
                size_t cap = (t->len + n + 1) * 2;
                char *grown = realloc(t->s, cap);

                if (grown == NULL) {
                        t->failed = 1;
                        return;
                }
                t->s = grown;
                t->cap = cap;
        }
        memcpy(t->s + t->len, s, n);
        t->len += n;
        t->s[t->len] = '\0';
}

/* Percent-encodes s (all but unreserved characters) into out. */
static void
percent_encode(const char *s, char *out, size_t size)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t o = 0;

        for (; *s != '\0' && o + 4 < size; s++) {
                unsigned char c = (unsigned char)*s;

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_' || c == '~') {
                        out[o++] = (char)c;
                } else {
                        out[o++] = '%';
                        out[o++] = hex[c >> 4];
                        out[o++] = hex[c & 15];
                }
        }
        out[o] = '\0';
}

cl_err
cl_url_encode(const char *text, char *out, size_t size)
{
        percent_encode(text, out, size);
        if (strlen(out) + 4 >= size && strlen(text) > 0) {
                size_t need = 0;

                for (const char *p = text; *p != '\0'; p++)
                        need += strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
                                       "mnopqrstuvwxyz0123456789-._~",
                                       *p) != NULL
                                    ? 1
                                    : 3;
                if (need + 1 > size)
                        return cl_fail(CL_EINVAL,
                                       "value longer than %zu bytes once "
                                       "URL-encoded",
                                       size - 1);
        }
        return CL_OK;
}

/* Returns a new string with every occurrence of needle replaced. */
static char *
replace_all(char *text, const char *needle)
{
        size_t n = strlen(needle);
        struct text t = {0};
        const char *p = text, *hit;

        if (n == 0 || strstr(text, needle) == NULL)
                return text;
        while ((hit = strstr(p, needle)) != NULL) {
                text_append(&t, p, (size_t)(hit - p));
                text_append(&t, CL_REDACTED, strlen(CL_REDACTED));
                p = hit + n;
        }
        text_append(&t, p, strlen(p));
        if (t.failed) {
                /* Rather lose the text than keep the secret. */
                free(t.s);
                text[0] = '\0';
                return text;
        }
        free(text);
        return t.s;
}

static int
is_value_end(char c)
{
        return c == '\0' || c == '&' || c == ' ' || c == '"' || c == '#' ||
               c == '\'' || c == '\n' || c == '\r' || c == ';' || c == '<';
}

/* Replaces the value of every NAME= parameter of the listed names. */
static char *
redact_parameters(char *text)
{
        static const char *const names[] = {
            "servicekey", "service_key",  "apikey",     "api_key",  "key",
            "token",      "access_token", "auth-token", "password", NULL};
        struct text t = {0};
        const char *p = text;

        while (*p != '\0') {
                const char *name_start = p;
                size_t matched = 0;

                if (p == text || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ' ||
                    p[-1] == ';') {
                        for (const char *const *n = names; *n != NULL; n++) {
                                size_t len = strlen(*n);

                                if (strncasecmp(p, *n, len) == 0 &&
                                    p[len] == '=') {
                                        matched = len + 1;
                                        break;
                                }
                        }
                }
                if (matched == 0) {
                        text_append(&t, p, 1);
                        p++;
                        continue;
                }
                text_append(&t, name_start, matched);
                p += matched;
                while (!is_value_end(*p))
                        p++;
                text_append(&t, CL_REDACTED, strlen(CL_REDACTED));
        }
        if (t.failed || t.s == NULL) {
                free(t.s);
                return text;
        }
        free(text);
        return t.s;
}

/* Replaces what follows "auth-token:" or "Authorization:" on its line. */
static char *
redact_headers(char *text)
{
        static const char *const names[] = {
            "auth-token:", "authorization:", NULL};
        struct text t = {0};
        const char *p = text;

        while (*p != '\0') {
                size_t matched = 0;

                for (const char *const *n = names; *n != NULL; n++)
                        if (strncasecmp(p, *n, strlen(*n)) == 0)
                                matched = strlen(*n);
                if (matched == 0) {
                        text_append(&t, p, 1);
                        p++;
                        continue;
                }
                text_append(&t, p, matched);
                text_append(&t, " " CL_REDACTED, strlen(CL_REDACTED) + 1);
                p += matched;
                while (*p != '\0' && *p != '\n' && *p != '\r')
                        p++;
        }
        if (t.failed || t.s == NULL) {
                free(t.s);
                return text;
        }
        free(text);
        return t.s;
}

/* Replaces the password of scheme://user:password@host. */
static char *
redact_userinfo(char *text)
{
        char *scheme = strstr(text, "://");
        char *at, *colon, *slash, *out;
        size_t pre;

        if (scheme == NULL)
                return text;
        at = strchr(scheme + 3, '@');
        slash = strchr(scheme + 3, '/');
        if (at == NULL || (slash != NULL && slash < at))
                return text;
        colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
        if (colon == NULL)
                return text;
        pre = (size_t)(colon + 1 - text);
        out = malloc(pre + strlen(CL_REDACTED) + strlen(at) + 1);
        if (out == NULL) {
                text[0] = '\0';
                return text;
        }
        memcpy(out, text, pre);
        memcpy(out + pre, CL_REDACTED, strlen(CL_REDACTED));
        memcpy(out + pre + strlen(CL_REDACTED), at, strlen(at) + 1);
        free(text);
        return out;
}

const char *
cl_redact(const char *text, const char *const *secrets, char *out, size_t size)
{
        char *work;

        if (size == 0)
                return out;
        out[0] = '\0';
        if (text == NULL)
                return out;
        work = strdup(text);
        if (work == NULL)
                return out;
        for (size_t i = 0; secrets != NULL && secrets[i] != NULL; i++) {
                char encoded[2048];

                if (secrets[i][0] == '\0')
                        continue;
                work = replace_all(work, secrets[i]);
                percent_encode(secrets[i], encoded, sizeof(encoded));
                work = replace_all(work, encoded);
        }
        work = redact_parameters(work);
        work = redact_headers(work);
        work = redact_userinfo(work);
        snprintf(out, size, "%s", work);
        free(work);
        return out;
}

/* --- Keys ----------------------------------------------------------- */

void
cl_keys_clear(struct cl_api_keys *keys)
{
        volatile unsigned char *p = (volatile unsigned char *)keys;

        for (size_t i = 0; i < sizeof(*keys); i++)
                p[i] = 0;
}

/* Returns the field of keys that name sets, or NULL. */
static char *
key_field(struct cl_api_keys *keys, const char *name, size_t *size)
{
        static const struct {
                const char *name;
                size_t offset, size;
        } fields[] = {
            {"CARBONLEDGER_KPX_KEY", offsetof(struct cl_api_keys, kpx),
             sizeof(((struct cl_api_keys *)0)->kpx)},
            {"CARBONLEDGER_ELECTRICITYMAPS_TOKEN",
             offsetof(struct cl_api_keys, electricitymaps),
             sizeof(((struct cl_api_keys *)0)->electricitymaps)},
            {"CARBONLEDGER_WATTTIME_USER",
             offsetof(struct cl_api_keys, watttime_user),
             sizeof(((struct cl_api_keys *)0)->watttime_user)},
            {"CARBONLEDGER_WATTTIME_PASSWORD",
             offsetof(struct cl_api_keys, watttime_password),
             sizeof(((struct cl_api_keys *)0)->watttime_password)},
        };

        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                if (strcmp(name, fields[i].name) == 0) {
                        *size = fields[i].size;
                        return (char *)keys + fields[i].offset;
                }
        return NULL;
}

static cl_err
set_key(struct cl_api_keys *keys, const char *name, const char *value,
        const char *origin, int line)
{
        size_t size = 0;
        char *field = key_field(keys, name, &size);

        if (field == NULL)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: unknown key name '%.64s'; expected "
                               "CARBONLEDGER_KPX_KEY, "
                               "CARBONLEDGER_ELECTRICITYMAPS_TOKEN, "
                               "CARBONLEDGER_WATTTIME_USER or "
                               "CARBONLEDGER_WATTTIME_PASSWORD",
                               origin, line, name);
        if (strlen(value) >= size)
                return cl_fail(CL_EFORMAT,
                               "%s:%d: the value of %s is longer than %zu "
                               "bytes",
                               origin, line, name, size - 1);
        snprintf(field, size, "%s", value);
        return CL_OK;
}

/* Reads the key file after checking its owner and mode on the open file. */
static cl_err
read_key_file(const char *path, char **out)
{
        struct stat st;
        ssize_t n;
        size_t used = 0;
        char *buf = NULL;
        cl_err rc = CL_OK;
        int fd;

        *out = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return cl_fail_errno(CL_EIO, errno, "open key file %s", path);
        if (fstat(fd, &st) != 0) {
                rc = cl_fail_errno(CL_EIO, errno, "stat key file %s", path);
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                rc = cl_fail(CL_EINVAL, "key file %s is not a regular file",
                             path);
                goto out;
        }
        if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
                rc = cl_fail(CL_EINVAL,
                             "key file %s has mode %04o: it must be readable "
                             "only by its owner; run chmod 600 %s",
                             path, (unsigned)(st.st_mode & 07777), path);
                goto out;
        }
        if (st.st_uid != geteuid()) {
                rc = cl_fail(CL_EINVAL,
                             "key file %s is owned by uid %u, not by the "
                             "user running carbonledger (uid %u)",
                             path, (unsigned)st.st_uid, (unsigned)geteuid());
                goto out;
        }
        buf = malloc(KEY_FILE_MAX_BYTES + 1);
        if (buf == NULL) {
                rc = cl_fail(CL_ENOMEM, "key file %s", path);
                goto out;
        }
        while ((n = read(fd, buf + used, KEY_FILE_MAX_BYTES - used)) > 0)
                used += (size_t)n;
        if (n < 0) {
                rc = cl_fail_errno(CL_EIO, errno, "read key file %s", path);
                goto out;
        }
        if (used == KEY_FILE_MAX_BYTES) {
                rc = cl_fail(CL_EFORMAT, "key file %s is larger than %d bytes",
                             path, KEY_FILE_MAX_BYTES - 1);
                goto out;
        }
        buf[used] = '\0';
        *out = buf;
        buf = NULL;
out:
        if (buf != NULL) {
                memset(buf, 0, KEY_FILE_MAX_BYTES + 1);
                free(buf);
        }
        close(fd);
        return rc;
}

static char *
trim(char *s)
{
        char *end;

        while (*s == ' ' || *s == '\t')
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
                           end[-1] == '\r' || end[-1] == '\n'))
                *--end = '\0';
        return s;
}

static cl_err
parse_key_file(char *text, const char *path, struct cl_api_keys *keys)
{
        char *line = text;
        int lineno = 0;
        cl_err rc = CL_OK;

        while (rc == CL_OK && line != NULL && *line != '\0') {
                char *next = strchr(line, '\n'), *eq, *name;

                if (next != NULL)
                        *next++ = '\0';
                lineno++;
                name = trim(line);
                if (name[0] == '\0' || name[0] == '#') {
                        line = next;
                        continue;
                }
                eq = strchr(name, '=');
                if (eq == NULL) {
                        rc = cl_fail(CL_EFORMAT, "%s:%d: expected NAME=value",
                                     path, lineno);
                        break;
                }
                *eq = '\0';
                rc = set_key(keys, trim(name), trim(eq + 1), path, lineno);
                line = next;
        }
        return rc;
}

cl_err
cl_keys_load(const char *key_file, struct cl_api_keys *keys)
{
        static const char *const names[] = {
            "CARBONLEDGER_KPX_KEY", "CARBONLEDGER_ELECTRICITYMAPS_TOKEN",
            "CARBONLEDGER_WATTTIME_USER", "CARBONLEDGER_WATTTIME_PASSWORD",
            NULL};
        char *text = NULL;
        cl_err rc = CL_OK;

        memset(keys, 0, sizeof(*keys));
        for (const char *const *n = names; *n != NULL && rc == CL_OK; n++) {
                const char *v = getenv(*n);

                if (v != NULL && v[0] != '\0')
                        rc = set_key(keys, *n, v, "environment", 0);
        }
        if (rc == CL_OK && key_file != NULL) {
                rc = read_key_file(key_file, &text);
                if (rc == CL_OK)
                        rc = parse_key_file(text, key_file, keys);
        }
        if (text != NULL) {
                memset(text, 0, strlen(text));
                free(text);
        }
        if (rc != CL_OK)
                cl_keys_clear(keys);
        return rc;
}

/* --- Transfers ------------------------------------------------------ */

enum cl_http_outcome
cl_http_classify_default(struct cl_http_response *r, void *ctx)
{
        (void)ctx;
        if (r->transport != CURLE_OK) {
                switch (r->transport) {
                case CURLE_WRITE_ERROR:
                case CURLE_URL_MALFORMAT:
                case CURLE_UNSUPPORTED_PROTOCOL:
                case CURLE_PEER_FAILED_VERIFICATION:
                case CURLE_SSL_CACERT_BADFILE:
                case CURLE_SSL_CERTPROBLEM:
                        return CL_HTTP_PERMANENT;
                default:
                        return CL_HTTP_TRANSIENT;
                }
        }
        if (r->status == 429 || r->status >= 500) {
                snprintf(r->message, sizeof(r->message), "HTTP %ld", r->status);
                return CL_HTTP_TRANSIENT;
        }
        if (r->status >= 400) {
                snprintf(r->message, sizeof(r->message), "HTTP %ld", r->status);
                return CL_HTTP_PERMANENT;
        }
        return CL_HTTP_OK;
}

long
cl_http_backoff_ms(long base_ms, long max_ms, int retry, double random01)
{
        long delay = base_ms;

        for (int i = 1; i < retry && delay < max_ms; i++)
                delay *= 2;
        if (delay > max_ms)
                delay = max_ms;
        if (random01 < 0)
                random01 = 0;
        if (random01 >= 1)
                random01 = 0.999999;
        return delay - (long)((double)(delay / 2) * random01);
}

static double
jitter01(void)
{
        static uint64_t state;

        if (state == 0)
                state = (uint64_t)cl_monotonic_ns() ^ (uint64_t)getpid() ^
                        UINT64_C(0x9e3779b97f4a7c15);
        /* xorshift64: jitter only spreads retries, it protects nothing. */
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return (double)(state >> 11) / (double)(UINT64_C(1) << 53);
}

static void
sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
}

static int
is_loopback(const char *host)
{
        return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 ||
               strcmp(host, "[::1]") == 0 || strcasecmp(host, "localhost") == 0;
}

/*
 * Rejects URLs libcurl cannot parse, schemes other than http and https,
 * and a secret sent over plain http to a host other than the loopback.
 */
static cl_err
check_url(const struct cl_http_request *req, const char *redacted,
          int carries_secret)
{
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL;
        cl_err rc = CL_OK;

        if (u == NULL)
                return cl_fail(CL_ENOMEM, "parse URL");
        if (curl_url_set(u, CURLUPART_URL, req->url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
                rc = cl_fail(CL_EINVAL, "%s: invalid URL %s", req->source,
                             redacted);
                goto out;
        }
        if (strcasecmp(scheme, "https") != 0 &&
            strcasecmp(scheme, "http") != 0) {
                rc = cl_fail(CL_EINVAL,
                             "%s: URL %s: only http and https are allowed",
                             req->source, redacted);
                goto out;
        }
        if (carries_secret && strcasecmp(scheme, "http") == 0 &&
            !is_loopback(host))
                rc = cl_fail(CL_EINVAL,
                             "%s: URL %s would send a key unencrypted to %s; "
                             "use https",
                             req->source, redacted, host);
out:
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
        return rc;
}

static cl_err
record_call(const struct cl_http_request *req, const char *url,
            const struct cl_http_response *r, int attempt,
            enum cl_http_outcome outcome, int64_t called_ns)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        if (req->db == NULL)
                return CL_OK;
        rc = cl_db_prepare(req->db,
                           "INSERT INTO api_call (called_ns, source, url, "
                           "http_status, result_code, bytes, latency_ms, "
                           "attempt, outcome, message) VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_int64(st, 1, called_ns);
        sqlite3_bind_text(st, 2, req->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, url, -1, SQLITE_STATIC);
        if (r->status > 0)
                sqlite3_bind_int64(st, 4, r->status);
        if (r->result_code[0] != '\0')
                sqlite3_bind_text(st, 5, r->result_code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)r->len);
        sqlite3_bind_int64(st, 7, r->latency_ms);
        sqlite3_bind_int(st, 8, attempt);
        sqlite3_bind_text(st, 9, cl_http_outcome_name(outcome), -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 10, r->message, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                rc = cl_db_fail(req->db, "record api_call");
        sqlite3_finalize(st);
        return rc;
}

static void
global_init(void)
{
        static int done;

        if (!done) {
                curl_global_init(CURL_GLOBAL_DEFAULT);
                done = 1;
        }
}

/* Performs one attempt into r; the caller classifies it. */
static cl_err
perform(CURL *curl, const struct cl_http_options *o,
        const struct cl_http_request *req, struct curl_slist *headers,
        struct cl_http_response *r)
{
        struct cl_membuf b = {.max = o->max_body_bytes};
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_off_t retry_after = -1;
        int64_t t0;
        CURLcode cc;

        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, req->url);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                         o->connect_timeout_ms);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "carbonledger/" CL_VERSION);
        curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cl_membuf_curl_write);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
        if (o->ca_bundle != NULL)
                curl_easy_setopt(curl, CURLOPT_CAINFO, o->ca_bundle);
        if (headers != NULL)
                curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        if (req->basic_user != NULL) {
                curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(curl, CURLOPT_USERNAME, req->basic_user);
                curl_easy_setopt(
                    curl, CURLOPT_PASSWORD,
                    req->basic_password != NULL ? req->basic_password : "");
        }
        t0 = cl_monotonic_ns();
        cc = curl_easy_perform(curl);
        r->latency_ms = (long)((cl_monotonic_ns() - t0) / 1000000);
        r->transport = (int)cc;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
        if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) ==
            CURLE_OK)
                r->retry_after_s = (long)retry_after;
        if (cc == CURLE_WRITE_ERROR && !b.too_large) {
                free(b.data);
                return cl_fail(CL_ENOMEM, "%s: response body", req->source);
        }
        r->body = b.data;
        r->len = b.len;
        cl_sha256_hex(r->body, r->len, r->sha256);
        if (b.too_large)
                snprintf(r->message, sizeof(r->message),
                         "response body exceeds the maximum of %zu bytes",
                         o->max_body_bytes);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
                snprintf(r->message, sizeof(r->message),
                         "timed out after %ld ms (connect timeout %ld ms, "
                         "total %ld ms)",
                         r->latency_ms, o->connect_timeout_ms,
                         o->total_timeout_ms);
        else if (cc != CURLE_OK)
                snprintf(r->message, sizeof(r->message), "%s",
                         errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
        return CL_OK;
}

static void
reset_response(struct cl_http_response *r)
{
        free(r->body);
        memset(r, 0, sizeof(*r));
        r->retry_after_s = -1;
}

void
cl_http_response_free(struct cl_http_response *response)
{
        free(response->body);
        response->body = NULL;
        response->len = 0;
}

static void
resolve_options(const struct cl_http_options *in, struct cl_http_options *o)
{
        *o = *in;
        if (o->connect_timeout_ms <= 0)
                o->connect_timeout_ms = CL_HTTP_CONNECT_TIMEOUT_MS;
        if (o->total_timeout_ms <= 0)
                o->total_timeout_ms = CL_HTTP_TOTAL_TIMEOUT_MS;
        if (o->max_attempts <= 0)
                o->max_attempts = CL_HTTP_MAX_ATTEMPTS;
        if (o->backoff_base_ms <= 0)
                o->backoff_base_ms = CL_HTTP_BACKOFF_BASE_MS;
        if (o->backoff_max_ms <= 0)
                o->backoff_max_ms = CL_HTTP_BACKOFF_MAX_MS;
        if (o->max_body_bytes == 0)
                o->max_body_bytes = CL_HTTP_MAX_BODY_BYTES;
}

/* Collects the secrets of req: extra strings, header values, password. */
static size_t
collect_secrets(const struct cl_http_request *req, const char **out, size_t max)
{
        size_t n = 0;

        for (size_t i = 0; req->secrets != NULL && req->secrets[i] != NULL; i++)
                if (n + 1 < max)
                        out[n++] = req->secrets[i];
        for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL;
             i++) {
                const char *colon = strchr(req->headers[i], ':');

                if (colon != NULL && n + 1 < max) {
                        colon++;
                        while (*colon == ' ')
                                colon++;
                        out[n++] = colon;
                }
        }
        if (req->basic_password != NULL && n + 1 < max)
                out[n++] = req->basic_password;
        out[n] = NULL;
        return n;
}

cl_err
cl_http_get(const struct cl_http_options *options,
            const struct cl_http_request *req, struct cl_http_response *r,
            enum cl_http_outcome *outcome)
{
        cl_http_classify_fn classify =
            req->classify != NULL ? req->classify : cl_http_classify_default;
        struct curl_slist *headers = NULL;
        const char *secrets[16];
        char url[REDACTED_MAX], msg[512], quoted[REDACTED_MAX + 64];
        struct cl_http_options o;
        CURL *curl = NULL;
        size_t n_secrets;
        cl_err rc = CL_OK;

        memset(r, 0, sizeof(*r));
        r->retry_after_s = -1;
        *outcome = CL_HTTP_PERMANENT;
        resolve_options(options, &o);
        n_secrets = collect_secrets(req, secrets, 16);
        cl_redact(req->url, secrets, url, sizeof(url));
        rc = check_url(req, url,
                       n_secrets > 0 || strcmp(url, req->url) != 0 ||
                           req->basic_user != NULL);
        if (rc != CL_OK)
                return rc;
        global_init();
        curl = curl_easy_init();
        if (curl == NULL)
                return cl_fail(CL_ENOMEM, "%s: curl_easy_init", req->source);
        for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL;
             i++) {
                struct curl_slist *next =
                    curl_slist_append(headers, req->headers[i]);

                if (next == NULL) {
                        rc = cl_fail(CL_ENOMEM, "%s: headers", req->source);
                        goto out;
                }
                headers = next;
        }
        for (int attempt = 1; attempt <= o.max_attempts; attempt++) {
                int64_t called_ns = cl_now_ns();
                long delay;

                reset_response(r);
                rc = perform(curl, &o, req, headers, r);
                if (rc != CL_OK)
                        goto out;
                r->attempts = attempt;
                *outcome = classify(r, req->classify_ctx);
                /* The classifier may quote the body: redact once more. */
                cl_redact(r->message, secrets, msg, sizeof(msg));
                snprintf(r->message, sizeof(r->message), "%s", msg);
                rc = record_call(req, url, r, attempt, *outcome, called_ns);
                if (rc != CL_OK)
                        goto out;
                cl_log(*outcome == CL_HTTP_OK || *outcome == CL_HTTP_NO_DATA
                           ? CL_LOG_INFO
                           : CL_LOG_WARN,
                       "api_call",
                       "source=%s url=%s status=%ld result_code=%s "
                       "outcome=%s attempt=%d/%d bytes=%zu latency_ms=%ld "
                       "message=%s",
                       req->source, cl_log_quote(url, quoted, sizeof(quoted)),
                       r->status, r->result_code[0] ? r->result_code : "-",
                       cl_http_outcome_name(*outcome), attempt, o.max_attempts,
                       r->len, r->latency_ms,
                       cl_log_quote(r->message, msg, sizeof(msg)));
                if (*outcome != CL_HTTP_TRANSIENT || attempt == o.max_attempts)
                        break;
                delay = cl_http_backoff_ms(o.backoff_base_ms, o.backoff_max_ms,
                                           attempt, jitter01());
                if (r->status == 429 && r->retry_after_s >= 0 &&
                    r->retry_after_s * 1000 <= o.backoff_max_ms &&
                    r->retry_after_s * 1000 > delay)
                        delay = r->retry_after_s * 1000;
                cl_warn("api_retry", "source=%s attempt=%d delay_ms=%ld",
                        req->source, attempt + 1, delay);
                sleep_ms(delay);
        }
out:
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
        if (rc != CL_OK)
                reset_response(r);
        return rc;
}
