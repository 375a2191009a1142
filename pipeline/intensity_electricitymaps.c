/*
 * Source "electricitymaps": Electricity Maps API v3 carbon intensity,
 * gCO2eq/kWh per UTC hour, authenticated with the auth-token header.
 *
 * The endpoint follows the hours still needed, to spend as few calls as
 * possible. Hours that have ended go to `history` (one call for the last
 * 24 hours) when all of them lie within that window, otherwise to
 * `past-range` (start, end) in chunks. The current hour goes to `latest`,
 * and later hours to `forecast`, whose values are stored as estimated
 * forecasts and replaced once the hour has passed. A null or 0
 * carbonIntensity is stored as missing; isEstimated marks the value
 * estimated; emissionFactorType (lifecycle or direct) is the factor set.
 * cl_source_store stores a value above 2000 gCO2eq/kWh as missing.
 */
#include "intensity_source.h"

#include "log.h"
#include "timeutil.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define EM_DEFAULT_URL "https://api.electricitymap.org/v3"
/* NOTE: 10 days per past-range call is an assumed limit, not one taken
 * from Electricity Maps' documentation. */
#define EM_PAST_RANGE_MAX_HOURS 240

static cl_err
em_entry(json_object *e, int forecast, struct cl_source_batch *out)
{
        struct cl_source_hour h;
        json_object *v;
        int64_t t;
        double g;

        if (!json_object_is_type(e, json_type_object) ||
            !json_object_object_get_ex(e, "datetime", &v) ||
            !json_object_is_type(v, json_type_string))
                return cl_fail(CL_EFORMAT,
                               "Electricity Maps answer: an entry has no "
                               "datetime string");
        if (cl_parse_iso8601(json_object_get_string(v), &t) != CL_OK)
                return cl_fail(CL_EFORMAT, "Electricity Maps answer: %s",
                               cl_last_error());
        memset(&h, 0, sizeof(h));
        h.hour_ns = cl_intensity_hour_start(t);
        h.forecast = forecast;
        snprintf(h.factor_set, sizeof(h.factor_set), "unspecified");
        if (json_object_object_get_ex(e, "emissionFactorType", &v) &&
            json_object_is_type(v, json_type_string))
                snprintf(h.factor_set, sizeof(h.factor_set), "%s",
                         json_object_get_string(v));
        h.quality = forecast ? CL_QUALITY_ESTIMATED : CL_QUALITY_MEASURED;
        if (json_object_object_get_ex(e, "isEstimated", &v) &&
            json_object_get_boolean(v))
                h.quality = CL_QUALITY_ESTIMATED;
        if (!json_object_object_get_ex(e, "carbonIntensity", &v) || v == NULL) {
                h.quality = CL_QUALITY_MISSING;
                snprintf(h.detail, sizeof(h.detail), "carbonIntensity is null");
        } else if (!cl_json_number(v, &g)) {
                return cl_fail(CL_EFORMAT, "Electricity Maps answer: "
                                           "carbonIntensity is not a number");
        } else if (g <= 0) {
                h.quality = CL_QUALITY_MISSING;
                snprintf(h.detail, sizeof(h.detail),
                         "carbonIntensity %g treated as missing", g);
        } else {
                h.has_value = 1;
                h.g_per_kwh = g;
                if (json_object_object_get_ex(e, "estimationMethod", &v) &&
                    json_object_is_type(v, json_type_string))
                        snprintf(h.detail, sizeof(h.detail),
                                 "%sestimationMethod %s",
                                 forecast ? "forecast, " : "",
                                 json_object_get_string(v));
                else if (forecast)
                        snprintf(h.detail, sizeof(h.detail), "forecast");
        }
        return cl_batch_add(out, &h);
}

cl_err
cl_em_parse(const char *body, size_t len, int forecast,
            struct cl_source_batch *out)
{
        static const char *const lists[] = {"history", "data", "forecast",
                                            NULL};
        json_object *doc = NULL, *list = NULL;
        cl_err rc;

        rc = cl_json_parse(body != NULL ? body : "", len,
                           "Electricity Maps answer", &doc);
        if (rc != CL_OK)
                return rc;
        if (!json_object_is_type(doc, json_type_object)) {
                rc = cl_fail(CL_EFORMAT,
                             "Electricity Maps answer: not a JSON object");
                goto out;
        }
        for (const char *const *l = lists; *l != NULL && list == NULL; l++)
                if (!json_object_object_get_ex(doc, *l, &list) ||
                    !json_object_is_type(list, json_type_array))
                        list = NULL;
        if (list != NULL) {
                for (size_t i = 0;
                     rc == CL_OK && i < json_object_array_length(list); i++)
                        rc = em_entry(json_object_array_get_idx(list, i),
                                      forecast, out);
        } else if (json_object_object_get_ex(doc, "carbonIntensity", NULL)) {
                rc = em_entry(doc, forecast, out);
        } else {
                rc = cl_fail(CL_EFORMAT,
                             "Electricity Maps answer: neither "
                             "carbonIntensity nor a history, data or "
                             "forecast array");
        }
out:
        json_object_put(doc);
        return rc;
}

struct em_classify_ctx {
        struct cl_source_batch batch;
        int forecast;
};

static enum cl_http_outcome
em_classify(struct cl_http_response *r, void *opaque)
{
        struct em_classify_ctx *c = opaque;
        enum cl_http_outcome o = cl_http_classify_default(r, NULL);

        cl_batch_free(&c->batch);
        if (o != CL_HTTP_OK)
                return o;
        if (cl_em_parse(r->body, r->len, c->forecast, &c->batch) != CL_OK) {
                snprintf(r->message, sizeof(r->message), "%s", cl_last_error());
                cl_batch_free(&c->batch);
                return CL_HTTP_INVALID;
        }
        snprintf(r->message, sizeof(r->message), "%zu entries", c->batch.n);
        return CL_HTTP_OK;
}

/* Makes one call and stores its hours of [from_ns, to_ns). */
static cl_err
em_call(struct cl_source_ctx *ctx, const char *endpoint, int64_t from_ns,
        int64_t to_ns, int with_range, int *stop)
{
        const char *base = ctx->cfg->electricitymaps_url != NULL
                               ? ctx->cfg->electricitymaps_url
                               : EM_DEFAULT_URL;
        struct em_classify_ctx cc = {.forecast =
                                         strcmp(endpoint, "forecast") == 0};
        char header[600], url[1024], zone[100], start[32], end[32], gap[96];
        const char *headers[] = {header, NULL};
        struct cl_http_request req = {
            .db = ctx->db,
            .source = ctx->source,
            .headers = headers,
            .classify = em_classify,
            .classify_ctx = &cc,
        };
        struct cl_http_response resp = {0};
        enum cl_http_outcome outcome;
        cl_err rc;
        int n;

        *stop = 0;
        rc = cl_source_may_call(ctx);
        if (rc != CL_OK) {
                *stop = 1;
                return rc;
        }
        rc = cl_url_encode(ctx->zone, zone, sizeof(zone));
        if (rc != CL_OK)
                return rc;
        cl_format_utc(from_ns, start, sizeof(start));
        cl_format_utc(to_ns, end, sizeof(end));
        n = snprintf(
            url, sizeof(url), "%s%scarbon-intensity/%s?zone=%s%s%s%s%s", base,
            base[0] && base[strlen(base) - 1] == '/' ? "" : "/", endpoint, zone,
            with_range ? "&start=" : "", with_range ? start : "",
            with_range ? "&end=" : "", with_range ? end : "");
        if (n < 0 || (size_t)n >= sizeof(url))
                return cl_fail(CL_EINVAL, "electricitymaps: URL too long");
        snprintf(header, sizeof(header), "auth-token: %s",
                 ctx->keys.electricitymaps);
        req.url = url;
        rc = cl_http_get(&ctx->http, &req, &resp, &outcome);
        memset(header, 0, sizeof(header));
        ctx->summary->calls += resp.attempts;
        if (rc == CL_OK && outcome == CL_HTTP_OK) {
                snprintf(gap, sizeof(gap),
                         "no entry for this hour in the %s answer", endpoint);
                rc = cl_source_store(ctx, from_ns, to_ns, &cc.batch,
                                     CL_BASIS_GENERATION, resp.sha256,
                                     "unspecified", gap, !cc.forecast);
        } else if (rc == CL_OK) {
                cl_source_note(ctx, "electricitymaps %s: %s answer: %s",
                               endpoint, cl_http_outcome_name(outcome),
                               resp.message);
                cl_error("electricitymaps_failed",
                         "endpoint=%s outcome=%s attempts=%d stored=nothing",
                         endpoint, cl_http_outcome_name(outcome),
                         resp.attempts);
                *stop = outcome != CL_HTTP_INVALID;
                rc = cl_fail(CL_ENET, "%s", ctx->summary->message);
        }
        cl_http_response_free(&resp);
        cl_batch_free(&cc.batch);
        return rc;
}

cl_err
cl_source_em_fetch(struct cl_source_ctx *ctx)
{
        int64_t now_hour = cl_intensity_hour_start(ctx->now_ns);
        int64_t oldest_past = INT64_MAX, last_past = 0;
        int past = 0, current = 0, future = 0, stop = 0;
        cl_err rc = CL_OK, first = CL_OK;

        if (ctx->keys.electricitymaps[0] == '\0')
                return cl_fail(CL_EINVAL,
                               "electricitymaps: no token: set "
                               "CARBONLEDGER_ELECTRICITYMAPS_TOKEN or give "
                               "--key-file");
        for (size_t i = 0; i < ctx->n_needed; i++) {
                int64_t h = ctx->needed[i];

                if (h < now_hour) {
                        past++;
                        if (h < oldest_past)
                                oldest_past = h;
                        last_past = h;
                } else if (h == now_hour) {
                        current = 1;
                } else {
                        future = 1;
                }
        }
        if (past > 0 && oldest_past >= now_hour - 24 * CL_NS_PER_HOUR) {
                rc = em_call(ctx, "history", now_hour - 24 * CL_NS_PER_HOUR,
                             now_hour, 0, &stop);
                if (first == CL_OK)
                        first = rc;
        } else if (past > 0) {
                for (size_t i = 0; !stop && i < ctx->n_needed &&
                                   ctx->needed[i] <= last_past;) {
                        int64_t start = ctx->needed[i], end = start;

                        while (
                            i < ctx->n_needed && ctx->needed[i] <= last_past &&
                            ctx->needed[i] < start + EM_PAST_RANGE_MAX_HOURS *
                                                         CL_NS_PER_HOUR)
                                end = ctx->needed[i++];
                        rc = em_call(ctx, "past-range", start,
                                     end + CL_NS_PER_HOUR, 1, &stop);
                        if (first == CL_OK)
                                first = rc;
                }
        }
        if (current && !stop) {
                rc = em_call(ctx, "latest", now_hour, now_hour + CL_NS_PER_HOUR,
                             0, &stop);
                if (first == CL_OK)
                        first = rc;
        }
        if (future && !stop) {
                rc = em_call(ctx, "forecast", now_hour + CL_NS_PER_HOUR,
                             ctx->needed[ctx->n_needed - 1] + CL_NS_PER_HOUR, 0,
                             &stop);
                if (first == CL_OK)
                        first = rc;
        }
        return first;
}
