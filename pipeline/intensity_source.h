/*
 * Internal interface between the intensity sources and the dispatcher in
 * intensity.c: the fetch context, the batch of parsed hours a source
 * returns, the storage call, and each source's parser. The parsers are
 * declared here so the unit tests reach them. Not for use outside the
 * intensity modules.
 */
#ifndef CL_INTENSITY_SOURCE_H
#define CL_INTENSITY_SOURCE_H

#include "http_client.h"
#include "intensity.h"

struct json_object;

/* One hour parsed from a response, before it is stored. */
struct cl_source_hour {
        int64_t hour_ns; /* UTC start of the hour */
        int has_value;
        double g_per_kwh; /* gCO2eq/kWh; > 0 when has_value */
        enum cl_intensity_quality quality;
        int forecast;
        char factor_set[48];
        char detail[128];
};

/* A growable array of parsed hours; release with cl_batch_free(). */
struct cl_source_batch {
        struct cl_source_hour *hours;
        size_t n, cap;
};

/* Appends a copy of hour; fails with CL_ENOMEM. */
cl_err cl_batch_add(struct cl_source_batch *b,
                    const struct cl_source_hour *hour) CL_MUST_CHECK;

void cl_batch_free(struct cl_source_batch *b);

/* State of one cl_intensity_fetch call, passed to the source. */
struct cl_source_ctx {
        sqlite3 *db;
        const struct cl_intensity_config *cfg;
        const char *template_dir;
        const char *source;
        const char *zone;
        struct cl_http_options http;
        struct cl_api_keys keys;
        int64_t now_ns;
        /* UTC hour starts to fetch, ascending: not stored, or missing and
         * due for a retry, or a forecast of an hour that has passed. */
        const int64_t *needed;
        size_t n_needed;
        struct cl_fetch_summary *summary;
};

/*
 * Parses text as one strict JSON document (no trailing content) into
 * *out (release with json_object_put). what names the input in the
 * CL_EFORMAT message, which gives the byte offset and never the text.
 */
cl_err cl_json_parse(const char *text, size_t len, const char *what,
                     struct json_object **out) CL_MUST_CHECK;

/*
 * Reads a number that may arrive as a JSON number or a numeric string.
 * Returns 1 and sets *out, or 0 for null, "", a missing value or text.
 */
int cl_json_number(struct json_object *v, double *out);

/* Returns 1 when hour_ns is one of ctx->needed. */
int cl_source_is_needed(const struct cl_source_ctx *ctx, int64_t hour_ns);

/*
 * Stores the needed hours of [from_ns, to_ns) from one response in one
 * transaction: the hours of batch with their values, and, when
 * store_gaps, every other needed hour of the window as missing with
 * gap_detail. sha256 is the raw response's hash. A row already stored is
 * replaced only when it is missing or a forecast, and never by a missing
 * hour when it has a value. Counts into ctx->summary. Fails with CL_EDB.
 */
cl_err cl_source_store(struct cl_source_ctx *ctx, int64_t from_ns,
                       int64_t to_ns, const struct cl_source_batch *batch,
                       enum cl_intensity_basis basis, const char *sha256,
                       const char *gap_factor_set, const char *gap_detail,
                       int store_gaps) CL_MUST_CHECK;

/*
 * Checks that one more request to ctx->source is allowed: not blocked by
 * a recorded quota and within cfg->max_calls_per_day for the current KST
 * day. Fails with CL_ENET naming the block and when it ends.
 */
cl_err cl_source_may_call(struct cl_source_ctx *ctx) CL_MUST_CHECK;

/* Records that ctx->source refuses calls until until_ns (UTC ns). */
cl_err cl_source_block(struct cl_source_ctx *ctx, const char *result_code,
                       const char *message, int64_t until_ns) CL_MUST_CHECK;

/* Sets ctx->summary->message (bounded, printf-like). */
void cl_source_note(struct cl_source_ctx *ctx, const char *fmt, ...)
    CL_PRINTF(2, 3);

/* Each source's fetch of ctx->needed; CL_ENET when hours stay unfetched. */
cl_err cl_source_kpx_fetch(struct cl_source_ctx *ctx) CL_MUST_CHECK;
cl_err cl_source_gir_fetch(struct cl_source_ctx *ctx) CL_MUST_CHECK;
cl_err cl_source_em_fetch(struct cl_source_ctx *ctx) CL_MUST_CHECK;
cl_err cl_source_watttime_fetch(struct cl_source_ctx *ctx) CL_MUST_CHECK;
cl_err cl_source_static_fetch(struct cl_source_ctx *ctx) CL_MUST_CHECK;

/* --- KPX ------------------------------------------------------------ */

#define CL_KPX_MAX_FIELDS 24
#define CL_KPX_MAX_FUELS 16

/*
 * The fuel table of one KPX operation and one factor set, loaded from
 * templates/kpx-fuels.json.
 */
struct cl_kpx_fuels {
        char operation[96]; /* "PwrAmountByGen/getPwrAmountByGen" */
        char legacy_path[128];
        char date_param[32]; /* "baseDate", "" when the operation has none */
        int rows_per_day;    /* numOfRows asked for one day */
        char factor_set[48]; /* "lifecycle" */
        size_t n_fields;     /* included fuel fields */
        char field[CL_KPX_MAX_FIELDS][24];
        double g_per_kwh[CL_KPX_MAX_FIELDS]; /* factor of each field */
        char fuel[CL_KPX_MAX_FIELDS][32];
};

/*
 * Loads the operation (NULL: the file's default_operation) and factor set
 * (NULL: the file's default_factor_set) from template_dir/kpx-fuels.json.
 * Fails with CL_EIO, or CL_EFORMAT / CL_ENOTFOUND naming the file and key
 * (an unknown set or operation, a field mapped to a fuel without a factor).
 */
cl_err cl_kpx_fuels_load(const char *template_dir, const char *operation,
                         const char *factor_set,
                         struct cl_kpx_fuels *out) CL_MUST_CHECK;

/* One 5-minute sample: MW of every included field. */
struct cl_kpx_sample {
        int64_t t_ns; /* UTC */
        double mw[CL_KPX_MAX_FIELDS];
        int complete; /* 1 when every field had a number */
};

/* A parsed KPX response. */
struct cl_kpx_answer {
        char result_code[16]; /* "00", "03", ...; "" when none was found */
        char result_msg[128];
        int xml;           /* 1 when the body was XML */
        int gateway_error; /* 1 for an OpenAPI_ServiceResponse body */
        struct cl_kpx_sample *samples;
        size_t n_samples;
        size_t n_bad_items; /* items without a usable time stamp */
};

/*
 * Parses a KPX body, JSON or XML by its first non-space character, into
 * the envelope's resultCode (or the gateway error's returnReasonCode) and
 * the items. It accepts item as one object or an array, items as an empty
 * string, numbers as strings and the time field spelled baseDatetime or
 * baseDateTime. Fails with CL_EFORMAT describing what is wrong (never
 * quoting more than a short prefix of the body). Release with
 * cl_kpx_answer_free().
 */
cl_err cl_kpx_parse(const char *body, size_t len,
                    const struct cl_kpx_fuels *fuels,
                    struct cl_kpx_answer *out) CL_MUST_CHECK;

void cl_kpx_answer_free(struct cl_kpx_answer *a);

/*
 * Averages the complete samples of each UTC hour to MWh per field (mean
 * MW over the hour's 5-minute samples, one per 5-minute slot) and turns
 * them into gCO2eq/kWh: sum(MWh_f x EF_f) / sum(MWh_f) over the included
 * fields. An hour whose included total is 0 MWh is missing. Appends one
 * hour per hour with samples to out.
 */
cl_err cl_kpx_hourly(const struct cl_kpx_answer *a,
                     const struct cl_kpx_fuels *fuels,
                     struct cl_source_batch *out) CL_MUST_CHECK;

/* Parses KST "YYYYMMDDHHMMSS" into UTC ns; CL_EFORMAT otherwise. */
cl_err cl_kpx_parse_time(const char *text, int64_t *out_ns) CL_MUST_CHECK;

/*
 * Returns the outcome of a KPX result code: "00" ok; "03" no data; "22"
 * quota; "01", "02", "04", "05", "23", "99" transient; any other
 * permanent.
 */
enum cl_http_outcome cl_kpx_code_outcome(const char *code);

/* --- Electricity Maps, WattTime, static ----------------------------- */

/*
 * Parses an Electricity Maps v3 carbon-intensity body: one object
 * (latest) or an array under "history", "data" or "forecast". null or 0
 * carbonIntensity is missing; isEstimated marks estimated; forecast sets
 * forecast and estimated. Fails with CL_EFORMAT.
 */
cl_err cl_em_parse(const char *body, size_t len, int forecast,
                   struct cl_source_batch *out) CL_MUST_CHECK;

/* Pounds per MWh to grams per kWh: x 453.59237 g/lb / 1000 kWh/MWh. */
#define CL_LB_PER_MWH_TO_G_PER_KWH 0.45359237

/*
 * Parses a WattTime v3 historical body ({"data":[{"point_time","value"}],
 * "meta":{"units":"lbs_co2_per_mwh"}}) and averages its points per UTC
 * hour, converted to gCO2eq/kWh. Fails with CL_EFORMAT, also for units
 * other than lb/MWh.
 */
cl_err cl_watttime_parse(const char *body, size_t len,
                         struct cl_source_batch *out) CL_MUST_CHECK;

/*
 * Parses a static file (CSV with the header hour,zone,g_per_kwh and the
 * optional columns basis and quality, or JSON) for zone. Sets *basis from
 * the file (consumption when it names none). Fails with CL_EFORMAT naming
 * the path and line.
 */
cl_err cl_static_parse(const char *text, size_t len, const char *path,
                       const char *zone, enum cl_intensity_basis *basis,
                       struct cl_source_batch *out) CL_MUST_CHECK;

/* Parses "generation", "consumption" or "marginal"; -1 otherwise. */
int cl_intensity_basis_parse(const char *name);

/* Parses a quality name; -1 otherwise. */
int cl_intensity_quality_parse(const char *name);

#endif
