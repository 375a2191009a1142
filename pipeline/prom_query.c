/*
 * The Prometheus HTTP API client (see prom_query.h): URL building with
 * escaped parameters, a bounded GET, and the decoding of matrix and
 * label-value responses onto a fixed grid of instants.
 */
#include "prom_query.h"

#include "membuf.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESPONSE_MAX_BYTES (512u * 1024u * 1024u)
#define REQUEST_TIMEOUT_S 120L
#define URL_MAX 8192

int
cl_prom_quote(const char *value, char *out, size_t size)
{
        size_t o = 0;

        for (const char *p = value; *p != '\0'; p++) {
                int esc = *p == '\\' || *p == '"';

                if (o + 1 + (size_t)esc >= size)
                        return -1;
                if (esc)
                        out[o++] = '\\';
                out[o++] = *p;
        }
        if (o >= size)
                return -1;
        out[o] = '\0';
        return 0;
}

/*
 * GETs base_url + path + "?" + query_string and decodes the JSON of a
 * "success" response into *root. Prometheus answers errors with HTTP 400
 * or 422 and a JSON body naming the error, which is reported.
 */
static cl_err
get_json(const char *base_url, const char *path, const char *query_string,
         json_object **root)
{
        struct cl_membuf b = {.max = RESPONSE_MAX_BYTES};
        char url[URL_MAX], errbuf[CURL_ERROR_SIZE] = "";
        size_t base_len = strlen(base_url);
        CURL *curl = NULL;
        json_object *doc = NULL, *status = NULL, *error = NULL;
        long http = 0;
        CURLcode cc;
        cl_err rc = CL_OK;

        *root = NULL;
        while (base_len > 0 && base_url[base_len - 1] == '/')
                base_len--;
        if (snprintf(url, sizeof(url), "%.*s%s?%s", (int)base_len, base_url,
                     path, query_string) >= (int)sizeof(url))
                return cl_fail(CL_EINVAL, "request URL longer than %d bytes",
                               URL_MAX);
        curl = curl_easy_init();
        if (curl == NULL)
                return cl_fail(CL_ENOMEM, "curl handle");
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cl_membuf_curl_write);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "carbonledger/" CL_VERSION);
        cc = curl_easy_perform(curl);
        if (cc != CURLE_OK) {
                rc = cl_fail(CL_ENET, "GET %.*s%s failed: %s", (int)base_len,
                             base_url, path,
                             b.too_large ? "response larger than 512 MiB"
                             : errbuf[0] != '\0' ? errbuf
                                                 : curl_easy_strerror(cc));
                goto out;
        }
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
        doc = b.data != NULL ? json_tokener_parse(b.data) : NULL;
        if (doc == NULL || !json_object_object_get_ex(doc, "status", &status)) {
                rc = cl_fail(http >= 400 ? CL_ENET : CL_EFORMAT,
                             "GET %.*s%s: HTTP status %ld, response is not "
                             "Prometheus API JSON",
                             (int)base_len, base_url, path, http);
                goto out;
        }
        if (strcmp(json_object_get_string(status), "success") != 0) {
                json_object_object_get_ex(doc, "error", &error);
                rc = cl_fail(CL_ENET, "GET %.*s%s: HTTP status %ld: %s",
                             (int)base_len, base_url, path, http,
                             error != NULL ? json_object_get_string(error)
                                           : "status is not success");
                goto out;
        }
        *root = doc;
        doc = NULL;
out:
        json_object_put(doc);
        free(b.data);
        curl_easy_cleanup(curl);
        return rc;
}

static cl_err
escaped(CURL *curl, const char *value, char **out)
{
        *out = curl_easy_escape(curl, value, 0);
        return *out != NULL ? CL_OK : cl_fail(CL_ENOMEM, "URL escape");
}

/* Stores one [time, "value"] pair of a series onto the grid. */
static cl_err
put_point(json_object *pair, int64_t start_ns, int64_t step_ns,
          struct cl_prom_series *s, size_t n_points)
{
        json_object *t, *v;
        double secs, value;
        int64_t ns, idx;
        char *end;

        if (!json_object_is_type(pair, json_type_array) ||
            json_object_array_length(pair) != 2)
                return cl_fail(CL_EFORMAT, "range query point is not "
                                           "[time, value]");
        t = json_object_array_get_idx(pair, 0);
        v = json_object_array_get_idx(pair, 1);
        secs = json_object_get_double(t);
        ns = llround(secs * 1e3) * INT64_C(1000000);
        if ((ns - start_ns) % step_ns != 0)
                return cl_fail(CL_EFORMAT,
                               "range query point at %.3f s is off the "
                               "grid",
                               secs);
        idx = (ns - start_ns) / step_ns;
        if (idx < 0 || idx >= (int64_t)n_points)
                return cl_fail(CL_EFORMAT,
                               "range query point at %.3f s is outside the "
                               "range",
                               secs);
        value = strtod(json_object_get_string(v), &end);
        if (*end != '\0')
                return cl_fail(CL_EFORMAT,
                               "range query value '%.40s' is "
                               "not a number",
                               json_object_get_string(v));
        s->values[idx] = value;
        return CL_OK;
}

static cl_err
decode_matrix(json_object *root, int64_t start_ns, int64_t step_ns,
              size_t n_points, struct cl_prom_matrix *out)
{
        json_object *data, *type, *result;
        size_t n;

        if (!json_object_object_get_ex(root, "data", &data) ||
            !json_object_object_get_ex(data, "resultType", &type) ||
            strcmp(json_object_get_string(type), "matrix") != 0 ||
            !json_object_object_get_ex(data, "result", &result) ||
            !json_object_is_type(result, json_type_array))
                return cl_fail(CL_EFORMAT, "range query result is not a "
                                           "matrix");
        n = json_object_array_length(result);
        out->series = calloc(n + 1, sizeof(*out->series));
        if (out->series == NULL)
                return cl_fail(CL_ENOMEM, "%zu series", n);
        for (size_t i = 0; i < n; i++) {
                json_object *item = json_object_array_get_idx(result, i);
                json_object *metric, *values;
                struct cl_prom_series *s = &out->series[i];
                cl_err rc;

                if (!json_object_object_get_ex(item, "metric", &metric) ||
                    !json_object_object_get_ex(item, "values", &values) ||
                    !json_object_is_type(values, json_type_array))
                        return cl_fail(CL_EFORMAT, "range query series "
                                                   "without metric or "
                                                   "values");
                s->metric = metric;
                s->values = malloc(n_points * sizeof(*s->values));
                if (s->values == NULL)
                        return cl_fail(CL_ENOMEM, "series values");
                out->n_series++;
                for (size_t k = 0; k < n_points; k++)
                        s->values[k] = NAN;
                for (size_t k = 0; k < json_object_array_length(values); k++) {
                        rc = put_point(json_object_array_get_idx(values, k),
                                       start_ns, step_ns, s, n_points);
                        if (rc != CL_OK)
                                return rc;
                }
        }
        return CL_OK;
}

static void
format_seconds(int64_t ns, char *buf, size_t size)
{
        snprintf(buf, size, "%lld.%03lld", (long long)(ns / 1000000000),
                 (long long)(ns % 1000000000 / 1000000));
}

cl_err
cl_prom_query_range(const char *base_url, const char *query, int64_t start_ns,
                    int64_t step_ns, size_t n_points,
                    struct cl_prom_matrix *out)
{
        char qs[URL_MAX], start[32], end[32], step[32];
        CURL *curl = NULL;
        char *q = NULL;
        json_object *root = NULL;
        cl_err rc;

        memset(out, 0, sizeof(*out));
        if (n_points == 0 || n_points > CL_PROM_MAX_POINTS + 1 ||
            step_ns < 1000000 || step_ns % 1000000 != 0)
                return cl_fail(CL_EINVAL,
                               "range query of %zu points at a step of "
                               "%lld ns",
                               n_points, (long long)step_ns);
        curl = curl_easy_init();
        if (curl == NULL)
                return cl_fail(CL_ENOMEM, "curl handle");
        rc = escaped(curl, query, &q);
        if (rc != CL_OK)
                goto out;
        format_seconds(start_ns, start, sizeof(start));
        format_seconds(start_ns + (int64_t)(n_points - 1) * step_ns, end,
                       sizeof(end));
        format_seconds(step_ns, step, sizeof(step));
        if (snprintf(qs, sizeof(qs), "query=%s&start=%s&end=%s&step=%s", q,
                     start, end, step) >= (int)sizeof(qs)) {
                rc = cl_fail(CL_EINVAL, "query longer than %d bytes", URL_MAX);
                goto out;
        }
        rc = get_json(base_url, "/api/v1/query_range", qs, &root);
        if (rc != CL_OK)
                goto out;
        out->root = root;
        out->n_points = n_points;
        rc = decode_matrix(root, start_ns, step_ns, n_points, out);
        if (rc != CL_OK) {
                char saved[512];

                snprintf(saved, sizeof(saved), "%s", cl_last_error());
                cl_prom_matrix_free(out);
                rc = cl_fail(rc, "query %s: %s", query, saved);
        }
out:
        curl_free(q);
        curl_easy_cleanup(curl);
        return rc;
}

void
cl_prom_matrix_free(struct cl_prom_matrix *m)
{
        for (size_t i = 0; i < m->n_series; i++)
                free(m->series[i].values);
        free(m->series);
        json_object_put(m->root);
        memset(m, 0, sizeof(*m));
}

const char *
cl_prom_series_label(const struct cl_prom_series *s, const char *name)
{
        json_object *v;

        if (!json_object_object_get_ex(s->metric, name, &v))
                return NULL;
        return json_object_get_string(v);
}

cl_err
cl_prom_label_values(const char *base_url, const char *label,
                     const char *metric, int64_t start_ns, int64_t end_ns,
                     char ***values, size_t *n)
{
        char path[256], qs[URL_MAX], start[32], end[32];
        json_object *root = NULL, *data;
        CURL *curl = NULL;
        char *m = NULL;
        size_t count;
        cl_err rc;

        *values = NULL;
        *n = 0;
        snprintf(path, sizeof(path), "/api/v1/label/%s/values", label);
        curl = curl_easy_init();
        if (curl == NULL)
                return cl_fail(CL_ENOMEM, "curl handle");
        rc = escaped(curl, metric, &m);
        if (rc != CL_OK)
                goto out;
        format_seconds(start_ns, start, sizeof(start));
        format_seconds(end_ns, end, sizeof(end));
        snprintf(qs, sizeof(qs), "match%%5B%%5D=%s&start=%s&end=%s", m, start,
                 end);
        rc = get_json(base_url, path, qs, &root);
        if (rc != CL_OK)
                goto out;
        if (!json_object_object_get_ex(root, "data", &data) ||
            !json_object_is_type(data, json_type_array)) {
                rc = cl_fail(CL_EFORMAT, "label values are not a list");
                goto out;
        }
        count = json_object_array_length(data);
        *values = calloc(count + 1, sizeof(**values));
        if (*values == NULL) {
                rc = cl_fail(CL_ENOMEM, "label values");
                goto out;
        }
        for (size_t i = 0; i < count; i++) {
                (*values)[i] = strdup(
                    json_object_get_string(json_object_array_get_idx(data, i)));
                if ((*values)[i] == NULL) {
                        rc = cl_fail(CL_ENOMEM, "label values");
                        goto out;
                }
                (*n)++;
        }
out:
        if (rc != CL_OK && *values != NULL) {
                for (size_t i = 0; i < *n; i++)
                        free((*values)[i]);
                free(*values);
                *values = NULL;
                *n = 0;
        }
        json_object_put(root);
        curl_free(m);
        curl_easy_cleanup(curl);
        return rc;
}
