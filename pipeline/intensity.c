/*
 * Hourly intensity: the dispatch of a fetch to its source, the cache rule,
 * storage in intensity_hour, the quota and call-budget checks, and reading
 * stored hours back (see intensity.h).
 *
 * Cache rule: an hour stored with a value is never fetched again from the
 * same source, except a forecast once its hour has ended. An hour stored
 * as missing (the source's response had no value) is fetched again when
 * it was stored at least CL_MISSING_RETRY_NS (6 h) ago. A late
 * publication is then picked up by a later nightly run at the cost of at
 * most one call per source day every 6 h. Hours that have not ended are
 * not requested from sources of reported values (KPX, WattTime), and
 * Electricity Maps serves them from its forecast. A source failure stores
 * nothing for the hours it left without a response, so the next run
 * requests them again.
 *
 * Plausibility: a value above CL_INTENSITY_MAX_G_PER_KWH from any source is
 * stored as missing, with the value in its detail and a warning in the log.
 * Such a value comes from a unit or parsing error of the source, and it would
 * otherwise reach signed reports.
 */
#include "intensity.h"

#include "db.h"
#include "intensity_source.h"
#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The maximum range of one fetch, in hours (about 13 months). */
#define MAX_FETCH_HOURS (400 * 24)

const char *
cl_intensity_basis_name(enum cl_intensity_basis basis)
{
        switch (basis) {
        case CL_BASIS_GENERATION:
                return "generation";
        case CL_BASIS_CONSUMPTION:
                return "consumption";
        case CL_BASIS_MARGINAL:
                return "marginal";
        }
        return "generation";
}

const char *
cl_intensity_quality_name(enum cl_intensity_quality quality)
{
        switch (quality) {
        case CL_QUALITY_MEASURED:
                return "measured";
        case CL_QUALITY_ESTIMATED:
                return "estimated";
        case CL_QUALITY_FALLBACK:
                return "fallback";
        case CL_QUALITY_MISSING:
                return "missing";
        case CL_QUALITY_DECLARED:
                return "declared";
        }
        return "missing";
}

int
cl_intensity_basis_parse(const char *name)
{
        for (int b = CL_BASIS_GENERATION; b <= CL_BASIS_MARGINAL; b++)
                if (strcmp(name, cl_intensity_basis_name(b)) == 0)
                        return b;
        return -1;
}

int
cl_intensity_quality_parse(const char *name)
{
        for (int q = CL_QUALITY_MEASURED; q <= CL_QUALITY_DECLARED; q++)
                if (strcmp(name, cl_intensity_quality_name(q)) == 0)
                        return q;
        return -1;
}

int64_t
cl_intensity_hour_start(int64_t t_ns)
{
        int64_t h = t_ns / CL_NS_PER_HOUR;

        if (t_ns % CL_NS_PER_HOUR < 0)
                h--;
        return h * CL_NS_PER_HOUR;
}

int64_t
cl_next_kst_midnight_ns(int64_t now_ns)
{
        int64_t kst = now_ns + CL_KST_OFFSET_NS;
        int64_t day = kst / CL_NS_PER_DAY;

        if (kst % CL_NS_PER_DAY < 0)
                day--;
        return (day + 1) * CL_NS_PER_DAY - CL_KST_OFFSET_NS;
}

cl_err
cl_batch_add(struct cl_source_batch *b, const struct cl_source_hour *hour)
{
        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                void *grown = realloc(b->hours, cap * sizeof(*b->hours));

                if (grown == NULL)
                        return cl_fail(CL_ENOMEM, "intensity hours");
                b->hours = grown;
                b->cap = cap;
        }
        b->hours[b->n++] = *hour;
        return CL_OK;
}

void
cl_batch_free(struct cl_source_batch *b)
{
        free(b->hours);
        memset(b, 0, sizeof(*b));
}

void
cl_source_note(struct cl_source_ctx *ctx, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx->summary->message, sizeof(ctx->summary->message), fmt,
                  ap);
        va_end(ap);
}

int
cl_source_is_needed(const struct cl_source_ctx *ctx, int64_t hour_ns)
{
        size_t lo = 0, hi = ctx->n_needed;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (ctx->needed[mid] == hour_ns)
                        return 1;
                if (ctx->needed[mid] < hour_ns)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return 0;
}

static const struct cl_source_hour *
find_hour(const struct cl_source_batch *b, int64_t hour_ns)
{
        for (size_t i = 0; b != NULL && i < b->n; i++)
                if (b->hours[i].hour_ns == hour_ns)
                        return &b->hours[i];
        return NULL;
}

/* Returns 1 when h has a value above CL_INTENSITY_MAX_G_PER_KWH, NaN included.
 */
static int
is_implausible(const struct cl_source_hour *h)
{
        return h->has_value && !(h->g_per_kwh <= CL_INTENSITY_MAX_G_PER_KWH);
}

/* Copies h into out as a missing hour whose detail gives the value. */
static void
mark_implausible(const struct cl_source_hour *h, struct cl_source_hour *out)
{
        *out = *h;
        out->has_value = 0;
        out->quality = CL_QUALITY_MISSING;
        snprintf(out->detail, sizeof(out->detail),
                 "%.6g is above the plausible maximum of %.0f gCO2eq/kWh; "
                 "source detail: %.40s",
                 h->g_per_kwh, CL_INTENSITY_MAX_G_PER_KWH, h->detail);
}

static cl_err
store_one(struct cl_source_ctx *ctx, sqlite3_stmt *st,
          const struct cl_source_hour *h, enum cl_intensity_basis basis,
          const char *sha256)
{
        int has_value = h->has_value && h->g_per_kwh > 0;

        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, ctx->zone, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, h->hour_ns);
        sqlite3_bind_text(st, 3, ctx->source, -1, SQLITE_STATIC);
        if (has_value)
                sqlite3_bind_double(st, 4, h->g_per_kwh);
        else
                sqlite3_bind_null(st, 4);
        sqlite3_bind_text(st, 5, cl_intensity_basis_name(basis), -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 6, h->factor_set, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7,
                          cl_intensity_quality_name(
                              has_value ? h->quality : CL_QUALITY_MISSING),
                          -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, cl_now_ns());
        sqlite3_bind_text(st, 9, sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, h->detail, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 11, h->forecast ? 1 : 0);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cl_db_fail(ctx->db, "store intensity hour");
        if (sqlite3_changes(ctx->db) > 0) {
                if (has_value)
                        ctx->summary->hours_stored++;
                else
                        ctx->summary->hours_missing++;
        }
        return CL_OK;
}

cl_err
cl_source_store(struct cl_source_ctx *ctx, int64_t from_ns, int64_t to_ns,
                const struct cl_source_batch *batch,
                enum cl_intensity_basis basis, const char *sha256,
                const char *gap_factor_set, const char *gap_detail,
                int store_gaps)
{
        sqlite3_stmt *st = NULL;
        int implausible = 0;
        int64_t first_ns = 0;
        double first_value = 0;
        char when[32];
        cl_err rc;

        rc = cl_db_exec(ctx->db, "BEGIN IMMEDIATE");
        if (rc != CL_OK)
                return rc;
        rc = cl_db_prepare(
            ctx->db,
            "INSERT INTO intensity_hour (zone, hour_ns, source, g_per_kwh, "
            "basis, factor_set, quality, fetched_ns, response_sha256, "
            "detail, forecast) VALUES "
            "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
            "ON CONFLICT (zone, hour_ns, source) DO UPDATE SET "
            "g_per_kwh = excluded.g_per_kwh, basis = excluded.basis, "
            "factor_set = excluded.factor_set, quality = excluded.quality, "
            "fetched_ns = excluded.fetched_ns, "
            "response_sha256 = excluded.response_sha256, "
            "detail = excluded.detail, forecast = excluded.forecast "
            "WHERE (intensity_hour.g_per_kwh IS NULL "
            "OR intensity_hour.forecast = 1) "
            "AND (excluded.g_per_kwh IS NOT NULL "
            "OR intensity_hour.g_per_kwh IS NULL)",
            &st);
        for (int64_t h = from_ns; rc == CL_OK && h < to_ns;
             h += CL_NS_PER_HOUR) {
                const struct cl_source_hour *found = find_hour(batch, h);
                struct cl_source_hour gap, capped;

                if (!cl_source_is_needed(ctx, h))
                        continue;
                if (found == NULL) {
                        if (!store_gaps)
                                continue;
                        memset(&gap, 0, sizeof(gap));
                        gap.hour_ns = h;
                        gap.quality = CL_QUALITY_MISSING;
                        snprintf(gap.factor_set, sizeof(gap.factor_set), "%s",
                                 gap_factor_set);
                        snprintf(gap.detail, sizeof(gap.detail), "%s",
                                 gap_detail);
                        found = &gap;
                } else if (is_implausible(found)) {
                        if (implausible++ == 0) {
                                first_ns = h;
                                first_value = found->g_per_kwh;
                        }
                        mark_implausible(found, &capped);
                        found = &capped;
                }
                rc = store_one(ctx, st, found, basis, sha256);
        }
        sqlite3_finalize(st);
        if (rc == CL_OK)
                rc = cl_db_exec(ctx->db, "COMMIT");
        if (rc != CL_OK)
                sqlite3_exec(ctx->db, "ROLLBACK", NULL, NULL, NULL);
        if (rc == CL_OK && implausible > 0)
                cl_warn("intensity_out_of_range",
                        "source=%s zone=%s hours=%d first_hour=%s value=%g "
                        "max=%.0f stored=missing",
                        ctx->source, ctx->zone, implausible,
                        cl_format_utc(first_ns, when, sizeof(when)),
                        first_value, CL_INTENSITY_MAX_G_PER_KWH);
        return rc;
}

cl_err
cl_source_block(struct cl_source_ctx *ctx, const char *result_code,
                const char *message, int64_t until_ns)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;

        rc = cl_db_prepare(ctx->db,
                           "INSERT INTO api_quota (source, blocked_until_ns, "
                           "result_code, recorded_ns, message) VALUES "
                           "(?1, ?2, ?3, ?4, ?5) ON CONFLICT (source) DO "
                           "UPDATE SET blocked_until_ns = "
                           "excluded.blocked_until_ns, result_code = "
                           "excluded.result_code, recorded_ns = "
                           "excluded.recorded_ns, message = excluded.message",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_text(st, 1, ctx->source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, until_ns);
        sqlite3_bind_text(st, 3, result_code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, ctx->now_ns);
        sqlite3_bind_text(st, 5, message, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                rc = cl_db_fail(ctx->db, "record quota block");
        sqlite3_finalize(st);
        return rc;
}

static cl_err
query_int64(sqlite3 *db, const char *sql, const char *text, int64_t arg,
            int64_t *out, int *found)
{
        sqlite3_stmt *st = NULL;
        cl_err rc;
        int step;

        *found = 0;
        rc = cl_db_prepare(db, sql, &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, arg);
        step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
                *out = sqlite3_column_int64(st, 0);
                *found = 1;
        } else if (step != SQLITE_DONE) {
                rc = cl_db_fail(db, "read api state");
        }
        sqlite3_finalize(st);
        return rc;
}

cl_err
cl_source_may_call(struct cl_source_ctx *ctx)
{
        int64_t until = 0, calls = 0;
        char when[32];
        int found, limit = ctx->cfg->max_calls_per_day > 0
                               ? ctx->cfg->max_calls_per_day
                               : CL_DEFAULT_MAX_CALLS_PER_DAY;
        cl_err rc;

        rc = query_int64(ctx->db,
                         "SELECT blocked_until_ns FROM api_quota "
                         "WHERE source = ?1 AND blocked_until_ns > ?2",
                         ctx->source, ctx->now_ns, &until, &found);
        if (rc != CL_OK)
                return rc;
        if (found) {
                ctx->summary->quota_blocked = 1;
                cl_source_note(ctx,
                               "%s: daily quota exhausted; no calls until "
                               "%s KST",
                               ctx->source,
                               cl_format_kst(until, when, sizeof(when)));
                return cl_fail(CL_ENET, "%s", ctx->summary->message);
        }
        rc = query_int64(ctx->db,
                         "SELECT count(*) FROM api_call WHERE source = ?1 "
                         "AND called_ns >= ?2",
                         ctx->source,
                         cl_next_kst_midnight_ns(ctx->now_ns) - CL_NS_PER_DAY,
                         &calls, &found);
        if (rc != CL_OK)
                return rc;
        if (calls >= limit) {
                ctx->summary->quota_blocked = 1;
                cl_source_note(ctx,
                               "%s: %lld calls made today (KST), the limit "
                               "is %d; the remaining hours are fetched "
                               "after midnight KST",
                               ctx->source, (long long)calls, limit);
                return cl_fail(CL_ENET, "%s", ctx->summary->message);
        }
        return CL_OK;
}

static const struct {
        const char *name;
        cl_err (*fetch)(struct cl_source_ctx *ctx);
        int network;      /* needs keys and HTTP */
        int only_ended;   /* requests only hours that have ended */
        const char *zone; /* the only zone it serves, NULL: any */
} sources[] = {
    {"kpx", cl_source_kpx_fetch, 1, 1, "KR"},
    {"gir", cl_source_gir_fetch, 0, 0, "KR"},
    {"electricitymaps", cl_source_em_fetch, 1, 0, NULL},
    {"watttime", cl_source_watttime_fetch, 1, 1, NULL},
    {"static", cl_source_static_fetch, 0, 0, NULL},
};

static int
valid_zone(const char *zone)
{
        size_t n = strlen(zone);

        if (n == 0 || n > 32)
                return 0;
        for (const char *p = zone; *p != '\0'; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                        return 0;
        return 1;
}

/* Lists the hours of [from_ns, to_ns) that the cache rule fetches. */
static cl_err
list_needed(sqlite3 *db, const char *source, const char *zone, int64_t from_ns,
            int64_t to_ns, int64_t now_ns, int only_ended, int64_t *needed,
            size_t *n_needed, int *not_ended)
{
        sqlite3_stmt *st = NULL;
        size_t n = 0;
        cl_err rc;

        *not_ended = 0;
        rc = cl_db_prepare(db,
                           "SELECT g_per_kwh IS NULL, fetched_ns, forecast "
                           "FROM intensity_hour WHERE zone = ?1 AND "
                           "hour_ns = ?2 AND source = ?3",
                           &st);
        if (rc != CL_OK)
                return rc;
        for (int64_t h = from_ns; h < to_ns; h += CL_NS_PER_HOUR) {
                int need = 1, step;

                if (only_ended && h + CL_NS_PER_HOUR > now_ns) {
                        (*not_ended)++;
                        continue;
                }
                sqlite3_reset(st);
                sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, h);
                sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
                step = sqlite3_step(st);
                if (step == SQLITE_ROW) {
                        int missing = sqlite3_column_int(st, 0);
                        int64_t fetched = sqlite3_column_int64(st, 1);
                        int forecast = sqlite3_column_int(st, 2);

                        if (missing)
                                need = fetched + CL_MISSING_RETRY_NS <= now_ns;
                        else
                                need = forecast && h + CL_NS_PER_HOUR <= now_ns;
                } else if (step != SQLITE_DONE) {
                        rc = cl_db_fail(db, "read stored intensity");
                        break;
                }
                if (need)
                        needed[n++] = h;
        }
        sqlite3_finalize(st);
        *n_needed = n;
        return rc;
}

static void
init_http(const struct cl_intensity_config *cfg, struct cl_http_options *h)
{
        memset(h, 0, sizeof(*h));
        h->connect_timeout_ms = cfg->connect_timeout_ms;
        h->total_timeout_ms = cfg->total_timeout_ms;
        h->max_attempts = cfg->max_attempts;
        h->backoff_base_ms = cfg->backoff_base_ms;
        h->ca_bundle = cfg->ca_bundle;
        h->insecure = cfg->insecure;
}

cl_err
cl_intensity_fetch(sqlite3 *db, const struct cl_intensity_config *cfg,
                   const char *source, const char *zone, int64_t from_ns,
                   int64_t to_ns, struct cl_fetch_summary *summary)
{
        struct cl_source_ctx ctx;
        int64_t *needed = NULL;
        size_t source_index = sizeof(sources) / sizeof(sources[0]);
        int64_t hours;
        int not_ended = 0;
        cl_err rc;

        memset(summary, 0, sizeof(*summary));
        for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
                if (strcmp(source, sources[i].name) == 0)
                        source_index = i;
        if (source_index == sizeof(sources) / sizeof(sources[0]))
                return cl_fail(CL_EINVAL,
                               "unknown intensity source '%s': expected kpx, "
                               "gir, electricitymaps, watttime or static",
                               source);
        if (!valid_zone(zone))
                return cl_fail(CL_EINVAL,
                               "invalid zone '%.40s': expected letters, "
                               "digits, '-' or '_' (such as KR)",
                               zone);
        if (sources[source_index].zone != NULL &&
            strcmp(zone, sources[source_index].zone) != 0)
                return cl_fail(CL_EINVAL,
                               "source %s serves only zone %s, not '%s'",
                               source, sources[source_index].zone, zone);
        from_ns = cl_intensity_hour_start(from_ns);
        to_ns = cl_intensity_hour_start(to_ns + CL_NS_PER_HOUR - 1);
        hours = (to_ns - from_ns) / CL_NS_PER_HOUR;
        if (hours <= 0 || hours > MAX_FETCH_HOURS)
                return cl_fail(CL_EINVAL,
                               "invalid range for %s: %lld hours (expected "
                               "1 to %d)",
                               source, (long long)hours, MAX_FETCH_HOURS);
        memset(&ctx, 0, sizeof(ctx));
        ctx.db = db;
        ctx.cfg = cfg;
        ctx.template_dir =
            cfg->template_dir != NULL ? cfg->template_dir : CL_TEMPLATE_DIR;
        ctx.source = sources[source_index].name;
        ctx.zone = zone;
        ctx.now_ns = cfg->now_ns != 0 ? cfg->now_ns : cl_now_ns();
        ctx.summary = summary;
        init_http(cfg, &ctx.http);
        summary->hours_requested = (int)hours;
        if (cfg->insecure && sources[source_index].network)
                cl_warn("tls_verification_disabled",
                        "source=%s reason=\"--insecure was given: TLS "
                        "certificates are not checked\"",
                        source);
        needed = calloc((size_t)hours, sizeof(*needed));
        if (needed == NULL)
                return cl_fail(CL_ENOMEM, "intensity hours");
        rc = list_needed(db, ctx.source, zone, from_ns, to_ns, ctx.now_ns,
                         sources[source_index].only_ended, needed,
                         &ctx.n_needed, &not_ended);
        if (rc != CL_OK)
                goto out;
        ctx.needed = needed;
        summary->hours_already_stored =
            (int)hours - not_ended - (int)ctx.n_needed;
        if (not_ended > 0)
                cl_source_note(&ctx,
                               "%d hours have not ended yet and were not "
                               "requested",
                               not_ended);
        if (ctx.n_needed == 0) {
                cl_info("intensity_cached",
                        "source=%s zone=%s hours=%lld stored=%d", source, zone,
                        (long long)hours, summary->hours_already_stored);
                goto out;
        }
        if (sources[source_index].network) {
                rc = cl_keys_load(cfg->key_file, &ctx.keys);
                if (rc != CL_OK)
                        goto out;
        }
        rc = sources[source_index].fetch(&ctx);
        /* A failure is logged once, by the caller with its error, so a
         * failed fetch never reads as a fetched one. */
        if (rc == CL_OK)
                cl_info("intensity_fetched",
                        "source=%s zone=%s hours=%d already_stored=%d "
                        "stored=%d missing=%d calls=%d quota_blocked=%d",
                        source, zone, summary->hours_requested,
                        summary->hours_already_stored, summary->hours_stored,
                        summary->hours_missing, summary->calls,
                        summary->quota_blocked);
out:
        cl_keys_clear(&ctx.keys);
        free(needed);
        return rc;
}

cl_err
cl_intensity_load(sqlite3 *db, const char *source, const char *zone,
                  int64_t from_ns, size_t n_hours,
                  struct cl_intensity_hour *hours)
{
        int basis = CL_BASIS_GENERATION;
        sqlite3_stmt *st = NULL;
        int64_t to_ns;
        cl_err rc;
        int step;

        if (cl_intensity_hour_start(from_ns) != from_ns)
                return cl_fail(CL_EINVAL,
                               "intensity load: %lld ns is not the start of "
                               "a UTC hour",
                               (long long)from_ns);
        if (strcmp(source, "gir") == 0 || strcmp(source, "static") == 0)
                basis = CL_BASIS_CONSUMPTION;
        else if (strcmp(source, "watttime") == 0)
                basis = CL_BASIS_MARGINAL;
        to_ns = from_ns + (int64_t)n_hours * CL_NS_PER_HOUR;
        for (size_t i = 0; i < n_hours; i++) {
                memset(&hours[i], 0, sizeof(hours[i]));
                hours[i].hour_ns = from_ns + (int64_t)i * CL_NS_PER_HOUR;
                hours[i].basis = (enum cl_intensity_basis)basis;
                hours[i].quality = CL_QUALITY_MISSING;
                snprintf(hours[i].source, sizeof(hours[i].source), "%s",
                         source);
                snprintf(hours[i].detail, sizeof(hours[i].detail),
                         "not stored");
        }
        rc = cl_db_prepare(db,
                           "SELECT hour_ns, g_per_kwh, basis, quality, "
                           "factor_set, fetched_ns, response_sha256, detail, "
                           "forecast FROM intensity_hour WHERE source = ?1 "
                           "AND zone = ?2 AND hour_ns >= ?3 AND hour_ns < ?4",
                           &st);
        if (rc != CL_OK)
                return rc;
        sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, zone, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, from_ns);
        sqlite3_bind_int64(st, 4, to_ns);
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
                int64_t h = sqlite3_column_int64(st, 0);
                struct cl_intensity_hour *out;
                int b, q;

                if ((h - from_ns) % CL_NS_PER_HOUR != 0)
                        continue;
                out = &hours[(h - from_ns) / CL_NS_PER_HOUR];
                out->has_value = sqlite3_column_type(st, 1) != SQLITE_NULL;
                out->g_per_kwh =
                    out->has_value ? sqlite3_column_double(st, 1) : 0;
                b = cl_intensity_basis_parse(
                    (const char *)sqlite3_column_text(st, 2));
                q = cl_intensity_quality_parse(
                    (const char *)sqlite3_column_text(st, 3));
                out->basis =
                    b >= 0 ? (enum cl_intensity_basis)b : CL_BASIS_GENERATION;
                out->quality =
                    q >= 0 ? (enum cl_intensity_quality)q : CL_QUALITY_MISSING;
                snprintf(out->factor_set, sizeof(out->factor_set), "%s",
                         (const char *)sqlite3_column_text(st, 4));
                out->fetched_ns = sqlite3_column_int64(st, 5);
                snprintf(out->response_sha256, sizeof(out->response_sha256),
                         "%s", (const char *)sqlite3_column_text(st, 6));
                snprintf(out->detail, sizeof(out->detail), "%s",
                         (const char *)sqlite3_column_text(st, 7));
                out->forecast = sqlite3_column_int(st, 8);
        }
        if (step != SQLITE_DONE)
                rc = cl_db_fail(db, "read intensity hours");
        sqlite3_finalize(st);
        return rc;
}

cl_err
cl_json_parse(const char *text, size_t len, const char *what,
              struct json_object **out)
{
        enum json_tokener_error jerr;
        json_tokener *tok;
        size_t end;
        cl_err rc = CL_OK;

        *out = NULL;
        if (len > INT32_MAX)
                return cl_fail(CL_EFORMAT, "%s: too large", what);
        tok = json_tokener_new();
        if (tok == NULL)
                return cl_fail(CL_ENOMEM, "%s", what);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        *out = json_tokener_parse_ex(tok, text, (int)len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        while (end < len && (text[end] == ' ' || text[end] == '\n' ||
                             text[end] == '\r' || text[end] == '\t'))
                end++;
        if (*out == NULL || jerr != json_tokener_success || end < len) {
                rc = cl_fail(CL_EFORMAT,
                             "%s: invalid JSON at byte %zu of %zu: %s", what,
                             json_tokener_get_parse_end(tok), len,
                             jerr == json_tokener_continue
                                 ? "the document ends early (truncated)"
                             : jerr != json_tokener_success
                                 ? json_tokener_error_desc(jerr)
                                 : "unexpected content after the document");
                json_object_put(*out);
                *out = NULL;
        }
        json_tokener_free(tok);
        return rc;
}

int
cl_json_number(struct json_object *v, double *out)
{
        const char *s;
        char *end;
        double d;

        if (v == NULL)
                return 0;
        if (json_object_is_type(v, json_type_int) ||
            json_object_is_type(v, json_type_double)) {
                d = json_object_get_double(v);
        } else if (json_object_is_type(v, json_type_string)) {
                s = json_object_get_string(v);
                while (*s == ' ')
                        s++;
                if (*s == '\0')
                        return 0;
                errno = 0;
                d = strtod(s, &end);
                while (*end == ' ')
                        end++;
                if (*end != '\0' || errno != 0)
                        return 0;
        } else {
                return 0;
        }
        if (!isfinite(d))
                return 0;
        *out = d;
        return 1;
}
