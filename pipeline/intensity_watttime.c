/*
 * Source "watttime": WattTime API v3 marginal operating emissions rate
 * (signal co2_moer). A login with HTTP Basic at /login returns a token
 * valid for 30 minutes; /v3/historical then returns 5-minute points in
 * lb CO2/MWh, averaged per UTC hour and converted to gCO2eq/kWh
 * (x 0.45359237). The values are stored with basis marginal, so no caller
 * can add them to average-based totals by mistake.
 *
 * cl_source_store stores an hour above 2000 gCO2eq/kWh (about 4409
 * lb/MWh) as missing. A coal unit on the margin emits about 1000 g/kWh
 * (about 2205 lb/MWh), and a marginal rate is that of one unit, so a
 * larger mean is an error in the response rather than a dirty hour.
 */
#include "intensity_source.h"

#include "log.h"
#include "timeutil.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATTTIME_DEFAULT_URL "https://api.watttime.org"
/* A token is valid 30 min; log in again after 25 min to be safe. */
#define TOKEN_REUSE_NS (INT64_C(25) * 60 * CL_NS_PER_S)
/* NOTE: the longest historical window per request is assumed, not taken
 * from WattTime's documentation: 30 days per call. */
#define HISTORICAL_MAX_HOURS (30 * 24)

struct hour_mean {
        int64_t hour_ns;
        double sum;
        int points, nulls;
};

static cl_err
check_units(json_object *doc)
{
        json_object *meta, *units;
        const char *u;

        if (!json_object_object_get_ex(doc, "meta", &meta) ||
            !json_object_object_get_ex(meta, "units", &units) || units == NULL)
                return CL_OK;
        u = json_object_get_string(units);
        if (u == NULL || strcmp(u, "lbs_co2_per_mwh") != 0)
                return cl_fail(CL_EFORMAT,
                               "WattTime answer: units '%.40s', expected "
                               "lbs_co2_per_mwh",
                               u != NULL ? u : "");
        return CL_OK;
}

/* Adds one point to its hour in means[0..*n) (at most cap hours). */
static cl_err
add_point(json_object *p, struct hour_mean *means, size_t *n, size_t cap)
{
        json_object *t, *v;
        int64_t ns, hour;
        double value;
        size_t i;

        if (!json_object_object_get_ex(p, "point_time", &t) ||
            !json_object_is_type(t, json_type_string) ||
            cl_parse_iso8601(json_object_get_string(t), &ns) != CL_OK)
                return cl_fail(CL_EFORMAT,
                               "WattTime answer: a point has no valid "
                               "point_time");
        hour = cl_intensity_hour_start(ns);
        for (i = 0; i < *n && means[i].hour_ns != hour; i++)
                ;
        if (i == *n) {
                if (*n == cap)
                        return cl_fail(CL_EFORMAT,
                                       "WattTime answer: too many points");
                memset(&means[i], 0, sizeof(means[i]));
                means[i].hour_ns = hour;
                (*n)++;
        }
        json_object_object_get_ex(p, "value", &v);
        if (cl_json_number(v, &value)) {
                means[i].sum += value;
                means[i].points++;
        } else {
                means[i].nulls++;
        }
        return CL_OK;
}

cl_err
cl_watttime_parse(const char *body, size_t len, struct cl_source_batch *out)
{
        struct hour_mean *means = NULL;
        json_object *doc = NULL, *data;
        size_t n = 0, cap;
        cl_err rc;

        rc = cl_json_parse(body != NULL ? body : "", len, "WattTime answer",
                           &doc);
        if (rc != CL_OK)
                return rc;
        rc = check_units(doc);
        if (rc != CL_OK)
                goto out;
        if (!json_object_object_get_ex(doc, "data", &data) ||
            !json_object_is_type(data, json_type_array)) {
                rc = cl_fail(CL_EFORMAT, "WattTime answer: no 'data' array");
                goto out;
        }
        cap = json_object_array_length(data);
        means = calloc(cap > 0 ? cap : 1, sizeof(*means));
        if (means == NULL) {
                rc = cl_fail(CL_ENOMEM, "WattTime points");
                goto out;
        }
        for (size_t i = 0; rc == CL_OK && i < cap; i++)
                rc = add_point(json_object_array_get_idx(data, i), means, &n,
                               cap);
        for (size_t i = 0; rc == CL_OK && i < n; i++) {
                struct cl_source_hour h;
                double lb =
                    means[i].points ? means[i].sum / means[i].points : 0;

                memset(&h, 0, sizeof(h));
                h.hour_ns = means[i].hour_ns;
                snprintf(h.factor_set, sizeof(h.factor_set), "co2_moer");
                /* NOTE: a MOER of 0 can be real (renewables on the margin),
                 * but the schema keeps 0 for missing, as for other sources. */
                if (means[i].points == 0 || lb <= 0) {
                        h.quality = CL_QUALITY_MISSING;
                        snprintf(h.detail, sizeof(h.detail),
                                 "%d points, %d null, mean %.1f lb/MWh",
                                 means[i].points, means[i].nulls, lb);
                } else {
                        h.has_value = 1;
                        h.g_per_kwh = lb * CL_LB_PER_MWH_TO_G_PER_KWH;
                        h.quality = CL_QUALITY_MEASURED;
                        snprintf(h.detail, sizeof(h.detail),
                                 "mean of %d points: %.1f lb/MWh",
                                 means[i].points, lb);
                }
                rc = cl_batch_add(out, &h);
        }
out:
        free(means);
        json_object_put(doc);
        return rc;
}

struct wt_ctx {
        struct cl_source_batch batch;
        char token[1024];
        int login;
};

static enum cl_http_outcome
wt_classify(struct cl_http_response *r, void *opaque)
{
        struct wt_ctx *c = opaque;
        enum cl_http_outcome o = cl_http_classify_default(r, NULL);
        json_object *doc = NULL, *tok;

        cl_batch_free(&c->batch);
        if (o != CL_HTTP_OK)
                return o;
        if (!c->login) {
                if (cl_watttime_parse(r->body, r->len, &c->batch) != CL_OK) {
                        snprintf(r->message, sizeof(r->message), "%s",
                                 cl_last_error());
                        return CL_HTTP_INVALID;
                }
                snprintf(r->message, sizeof(r->message), "%zu hours",
                         c->batch.n);
                return CL_HTTP_OK;
        }
        if (cl_json_parse(r->body != NULL ? r->body : "", r->len,
                          "WattTime login", &doc) != CL_OK ||
            !json_object_object_get_ex(doc, "token", &tok) ||
            !json_object_is_type(tok, json_type_string) ||
            (size_t)json_object_get_string_len(tok) >= sizeof(c->token)) {
                json_object_put(doc);
                snprintf(r->message, sizeof(r->message),
                         "login answer has no token string");
                return CL_HTTP_INVALID;
        }
        snprintf(c->token, sizeof(c->token), "%s", json_object_get_string(tok));
        json_object_put(doc);
        snprintf(r->message, sizeof(r->message), "logged in");
        return CL_HTTP_OK;
}

static const char *
base_url(const struct cl_source_ctx *ctx)
{
        return ctx->cfg->watttime_url != NULL ? ctx->cfg->watttime_url
                                              : WATTTIME_DEFAULT_URL;
}

static const char *
slash(const char *base)
{
        return base[0] && base[strlen(base) - 1] == '/' ? "" : "/";
}

static cl_err
login(struct cl_source_ctx *ctx, struct wt_ctx *wc)
{
        struct cl_http_request req = {
            .db = ctx->db,
            .source = ctx->source,
            .basic_user = ctx->keys.watttime_user,
            .basic_password = ctx->keys.watttime_password,
            .classify = wt_classify,
            .classify_ctx = wc,
        };
        struct cl_http_response resp = {0};
        enum cl_http_outcome outcome;
        char url[512];
        cl_err rc;

        rc = cl_source_may_call(ctx);
        if (rc != CL_OK)
                return rc;
        if (snprintf(url, sizeof(url), "%s%slogin", base_url(ctx),
                     slash(base_url(ctx))) >= (int)sizeof(url))
                return cl_fail(CL_EINVAL, "watttime: URL too long");
        req.url = url;
        wc->login = 1;
        wc->token[0] = '\0';
        rc = cl_http_get(&ctx->http, &req, &resp, &outcome);
        wc->login = 0;
        ctx->summary->calls += resp.attempts;
        if (rc == CL_OK && outcome != CL_HTTP_OK) {
                cl_source_note(ctx, "watttime login: %s answer: %s",
                               cl_http_outcome_name(outcome), resp.message);
                cl_error("watttime_login_failed", "outcome=%s attempts=%d",
                         cl_http_outcome_name(outcome), resp.attempts);
                rc = cl_fail(CL_ENET, "%s", ctx->summary->message);
        }
        cl_http_response_free(&resp);
        return rc;
}

static cl_err
historical(struct cl_source_ctx *ctx, struct wt_ctx *wc, int64_t from_ns,
           int64_t to_ns)
{
        char header[1100], url[1024], region[100], start[32], end[32];
        const char *headers[] = {header, NULL};
        const char *secrets[] = {wc->token, NULL};
        struct cl_http_request req = {
            .db = ctx->db,
            .source = ctx->source,
            .headers = headers,
            .secrets = secrets,
            .classify = wt_classify,
            .classify_ctx = wc,
        };
        struct cl_http_response resp = {0};
        enum cl_http_outcome outcome;
        cl_err rc;

        rc = cl_source_may_call(ctx);
        if (rc != CL_OK)
                return rc;
        rc = cl_url_encode(ctx->zone, region, sizeof(region));
        if (rc != CL_OK)
                return rc;
        if (snprintf(url, sizeof(url),
                     "%s%sv3/historical?region=%s&start=%s&end=%s"
                     "&signal_type=co2_moer",
                     base_url(ctx), slash(base_url(ctx)), region,
                     cl_format_utc(from_ns, start, sizeof(start)),
                     cl_format_utc(to_ns, end, sizeof(end))) >=
            (int)sizeof(url))
                return cl_fail(CL_EINVAL, "watttime: URL too long");
        snprintf(header, sizeof(header), "Authorization: Bearer %s", wc->token);
        req.url = url;
        rc = cl_http_get(&ctx->http, &req, &resp, &outcome);
        memset(header, 0, sizeof(header));
        ctx->summary->calls += resp.attempts;
        if (rc == CL_OK && outcome == CL_HTTP_OK) {
                rc = cl_source_store(ctx, from_ns, to_ns, &wc->batch,
                                     CL_BASIS_MARGINAL, resp.sha256, "co2_moer",
                                     "no point for this hour in the answer", 1);
        } else if (rc == CL_OK) {
                cl_source_note(ctx, "watttime historical: %s answer: %s",
                               cl_http_outcome_name(outcome), resp.message);
                cl_error("watttime_failed",
                         "outcome=%s attempts=%d "
                         "stored=nothing",
                         cl_http_outcome_name(outcome), resp.attempts);
                rc = cl_fail(CL_ENET, "%s", ctx->summary->message);
        }
        cl_http_response_free(&resp);
        cl_batch_free(&wc->batch);
        return rc;
}

cl_err
cl_source_watttime_fetch(struct cl_source_ctx *ctx)
{
        struct wt_ctx wc;
        int64_t logged_in = 0;
        cl_err rc = CL_OK;

        if (ctx->keys.watttime_user[0] == '\0' ||
            ctx->keys.watttime_password[0] == '\0')
                return cl_fail(CL_EINVAL,
                               "watttime: no login: set "
                               "CARBONLEDGER_WATTTIME_USER and "
                               "CARBONLEDGER_WATTTIME_PASSWORD or give "
                               "--key-file");
        memset(&wc, 0, sizeof(wc));
        for (size_t i = 0; rc == CL_OK && i < ctx->n_needed;) {
                int64_t start = ctx->needed[i], end = start;

                while (i < ctx->n_needed &&
                       ctx->needed[i] <
                           start + HISTORICAL_MAX_HOURS * CL_NS_PER_HOUR)
                        end = ctx->needed[i++];
                if (logged_in == 0 ||
                    cl_monotonic_ns() - logged_in > TOKEN_REUSE_NS) {
                        rc = login(ctx, &wc);
                        if (rc != CL_OK)
                                break;
                        logged_in = cl_monotonic_ns();
                }
                rc = historical(ctx, &wc, start, end + CL_NS_PER_HOUR);
        }
        memset(wc.token, 0, sizeof(wc.token));
        cl_batch_free(&wc.batch);
        return rc;
}
