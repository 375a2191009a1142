/*
 * Reading Kepler's counters (rules in kepler.h): the zone filter and the
 * plausibility bounds on top of the strict text parser, the libcurl fetch,
 * and the increases between two readings.
 */
#include "kepler.h"

#include "membuf.h"

#include "promtext.h"

#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_MAX_BYTES (64u * 1024u * 1024u)
#define FETCH_TIMEOUT_S 5L

/* Counters above this many J do not fit in int64 microjoules. */
#define COUNTER_MAX_J 9.2e12

struct extract {
        const char *zone;
        double max_counter_j;
        struct cl_kepler_reading *out;
        size_t cap_pods;
};

static cl_err
to_uj(const struct cl_prom_sample *s, double max_j, uint64_t *uj)
{
        if (isnan(s->value) || isinf(s->value) || s->value < 0)
                return cl_fail(CL_EFORMAT,
                               "line %zu: %s is %g, not a plausible energy "
                               "counter",
                               s->line, s->name, s->value);
        if ((max_j > 0 && s->value > max_j) || s->value > COUNTER_MAX_J)
                return cl_fail(CL_EFORMAT,
                               "line %zu: %s of %.6g J exceeds %.6g J, the "
                               "most the node could have used since boot; "
                               "the exporter reports a fault, not energy",
                               s->line, s->name, s->value,
                               max_j > 0 ? max_j : COUNTER_MAX_J);
        *uj = (uint64_t)llround(s->value * 1e6);
        return CL_OK;
}

static int
valid_uid(const char *uid, char out[CL_POD_UID_LEN + 1])
{
        if (strlen(uid) != CL_POD_UID_LEN)
                return 0;
        for (size_t i = 0; i < CL_POD_UID_LEN; i++) {
                char c = (char)tolower((unsigned char)uid[i]);
                int dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? c != '-' : !isxdigit((unsigned char)c))
                        return 0;
                out[i] = c;
        }
        out[CL_POD_UID_LEN] = '\0';
        return 1;
}

static cl_err
add_pod(struct extract *x, const struct cl_prom_sample *s, uint64_t uj)
{
        struct cl_kepler_reading *r = x->out;
        const char *uid = cl_prom_label(s, "pod_id");
        const char *ns = cl_prom_label(s, "pod_namespace");
        const char *name = cl_prom_label(s, "pod_name");
        const char *pod_state = cl_prom_label(s, "state");
        struct cl_kepler_pod *p;

        if (uid == NULL)
                return cl_fail(CL_EFORMAT, "line %zu: %s without pod_id",
                               s->line, s->name);
        if (r->n_pods == x->cap_pods) {
                size_t ncap = x->cap_pods ? x->cap_pods * 2 : 64;
                void *grown = realloc(r->pods, ncap * sizeof(*r->pods));

                if (grown == NULL)
                        return cl_fail(CL_ENOMEM, "Kepler pods");
                r->pods = grown;
                x->cap_pods = ncap;
        }
        p = &r->pods[r->n_pods];
        memset(p, 0, sizeof(*p));
        if (!valid_uid(uid, p->uid))
                return cl_fail(CL_EFORMAT,
                               "line %zu: pod_id '%.40s' is not a pod UID",
                               s->line, uid);
        snprintf(p->namespace_, sizeof(p->namespace_), "%s",
                 ns != NULL ? ns : "");
        snprintf(p->name, sizeof(p->name), "%s", name != NULL ? name : "");
        p->energy_uj = uj;
        p->line = s->line;
        p->terminated =
            pod_state != NULL && strcmp(pod_state, "terminated") == 0;
        r->n_pods++;
        return CL_OK;
}

static cl_err
on_sample(const struct cl_prom_sample *s, void *ctx)
{
        struct extract *x = ctx;
        const char *zone = cl_prom_label(s, "zone");
        int node = strcmp(s->name, "kepler_node_cpu_joules_total") == 0;
        int idle = strcmp(s->name, "kepler_node_cpu_idle_joules_total") == 0;
        int pod = strcmp(s->name, "kepler_pod_cpu_joules_total") == 0;
        uint64_t uj = 0;
        cl_err rc;

        if (!node && !idle && !pod)
                return CL_OK;
        if (zone == NULL)
                return cl_fail(CL_EFORMAT, "line %zu: %s without a zone label",
                               s->line, s->name);
        if (strcmp(zone, x->zone) != 0)
                return CL_OK;
        rc = to_uj(s, x->max_counter_j, &uj);
        if (rc != CL_OK)
                return rc;
        /* Several sockets give one series per path in the same zone. */
        if (node) {
                x->out->has_node = 1;
                x->out->node_uj += uj;
                return CL_OK;
        }
        if (idle) {
                x->out->has_idle = 1;
                x->out->idle_uj += uj;
                return CL_OK;
        }
        return add_pod(x, s, uj);
}

static int
compare_pod(const void *a, const void *b)
{
        const struct cl_kepler_pod *pa = a, *pb = b;
        int c = strcmp(pa->uid, pb->uid);

        if (c != 0)
                return c;
        return pa->line < pb->line ? -1 : pa->line > pb->line;
}

void
cl_kepler_reading_free(struct cl_kepler_reading *r)
{
        free(r->pods);
        memset(r, 0, sizeof(*r));
}

cl_err
cl_kepler_parse(const char *text, size_t len, const char *zone,
                double max_counter_j, struct cl_kepler_reading *out)
{
        struct extract x = {zone, max_counter_j, out, 0};
        cl_err rc;

        memset(out, 0, sizeof(*out));
        rc = cl_prom_parse(text, len, on_sample, &x);
        if (rc == CL_OK && !out->has_node)
                rc = cl_fail(CL_EFORMAT,
                             "no kepler_node_cpu_joules_total series with "
                             "zone=\"%s\"",
                             zone);
        if (rc == CL_OK && out->n_pods > 1) {
                qsort(out->pods, out->n_pods, sizeof(*out->pods), compare_pod);
                for (size_t i = 1; i < out->n_pods; i++) {
                        const struct cl_kepler_pod *a = &out->pods[i - 1];
                        const struct cl_kepler_pod *b = &out->pods[i];

                        if (strcmp(a->uid, b->uid) != 0)
                                continue;
                        rc = cl_fail(CL_EFORMAT,
                                     "line %zu: second "
                                     "kepler_pod_cpu_joules_total series of "
                                     "pod %s in zone %s (first at line %zu)",
                                     a->line > b->line ? a->line : b->line,
                                     b->uid, zone,
                                     a->line < b->line ? a->line : b->line);
                        break;
                }
        }
        if (rc != CL_OK)
                cl_kepler_reading_free(out);
        return rc;
}

cl_err
cl_kepler_fetch(const char *url, char **body, size_t *len)
{
        struct cl_membuf b = {.max = FETCH_MAX_BYTES};
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *curl = curl_easy_init();
        long status = 0;
        CURLcode cc;
        cl_err rc = CL_OK;

        *body = NULL;
        *len = 0;
        if (curl == NULL)
                return cl_fail(CL_ENOMEM, "curl handle");
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, FETCH_TIMEOUT_S);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cl_membuf_curl_write);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "carbonledger/" CL_VERSION);
        cc = curl_easy_perform(curl);
        if (cc != CURLE_OK) {
                rc = cl_fail(CL_ENET, "GET %s failed: %s", url,
                             b.too_large         ? "response larger than 64 MiB"
                             : errbuf[0] != '\0' ? errbuf
                                                 : curl_easy_strerror(cc));
                goto out;
        }
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 400) {
                rc = cl_fail(CL_ENET, "GET %s failed: HTTP status %ld", url,
                             status);
                goto out;
        }
        if (b.data == NULL) {
                b.data = calloc(1, 1);
                if (b.data == NULL) {
                        rc = cl_fail(CL_ENOMEM, "response");
                        goto out;
                }
        }
        *body = b.data;
        *len = b.len;
        b.data = NULL;
out:
        free(b.data);
        curl_easy_cleanup(curl);
        return rc;
}

static const struct cl_kepler_pod *
find_pod(const struct cl_kepler_reading *r, const char *uid)
{
        size_t lo = 0, hi = r->n_pods;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(r->pods[mid].uid, uid);

                if (c == 0)
                        return &r->pods[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

const char *
cl_kepler_increase(const struct cl_kepler_reading *prev,
                   const struct cl_kepler_reading *cur, int64_t elapsed_ns,
                   double max_watts, struct cl_kepler_interval *out)
{
        double max_uj = max_watts * ((double)elapsed_ns / 1e9) * 1e6;

        if (cur->node_uj < prev->node_uj)
                return "Kepler node counter went backwards (Kepler "
                       "restarted)";
        out->node_uj = cur->node_uj - prev->node_uj;
        if ((double)out->node_uj > max_uj)
                return "implausible Kepler node energy for the elapsed time";
        out->idle_uj = 0;
        if (cur->has_idle && prev->has_idle) {
                if (cur->idle_uj < prev->idle_uj)
                        return "Kepler idle counter went backwards (Kepler "
                               "restarted)";
                out->idle_uj = cur->idle_uj - prev->idle_uj;
        }
        for (size_t i = 0; i < cur->n_pods; i++) {
                const struct cl_kepler_pod *p =
                    find_pod(prev, cur->pods[i].uid);

                out->pod_uj[i] = 0;
                out->pod_known[i] =
                    p != NULL && cur->pods[i].energy_uj >= p->energy_uj;
                if (!out->pod_known[i])
                        continue;
                out->pod_uj[i] = cur->pods[i].energy_uj - p->energy_uj;
                if ((double)out->pod_uj[i] > max_uj)
                        return "implausible Kepler pod energy for the "
                               "elapsed time (counter fault)";
        }
        return NULL;
}
