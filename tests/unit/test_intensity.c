/*
 * Tests of the intensity sources' parsers and rules. They cover KPX JSON
 * and XML in every documented shape, the hourly averaging and the
 * intensity formula against a hand-computed example, Electricity Maps,
 * the WattTime unit conversion and static files. The rest test the quota
 * and hour arithmetic, the cache rule, the bound on stored values and
 * reading stored hours back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "db.h"
#include "fsutil.h"
#include "helpers.h"
#include "intensity.h"
#include "intensity_source.h"
#include "timeutil.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TEMPLATES CL_SOURCE_DIR "/templates"
#define API CL_SOURCE_DIR "/fixtures/api"
#define PWR_OP "PwrAmountByGen/getPwrAmountByGen"

/* 2025-10-22T17:00Z, which is 02:00 KST on 2025-10-23. */
#define H02 INT64_C(1761152400000000000)
#define H03 (H02 + CL_NS_PER_HOUR)

static char *
read_fixture(const char *name, size_t *len)
{
        char path[PATH_MAX];
        char *text = NULL;

        assert_true(snprintf(path, sizeof(path), "%s/%s", API, name) <
                    (int)sizeof(path));
        assert_int_equal(cl_read_file(path, 1 << 20, &text, len), CL_OK);
        return text;
}

static void
load_fuels(const char *operation, const char *set, struct cl_kpx_fuels *f)
{
        assert_int_equal(cl_kpx_fuels_load(TEMPLATES, operation, set, f),
                         CL_OK);
}

static void
parse_fixture(const char *name, const struct cl_kpx_fuels *f,
              struct cl_kpx_answer *a)
{
        size_t len;
        char *body = read_fixture(name, &len);

        assert_int_equal(cl_kpx_parse(body, len, f, a), CL_OK);
        free(body);
}

static const struct cl_source_hour *
hour_at(const struct cl_source_batch *b, int64_t hour_ns)
{
        for (size_t i = 0; i < b->n; i++)
                if (b->hours[i].hour_ns == hour_ns)
                        return &b->hours[i];
        return NULL;
}

static void
kpx_fuel_table_excludes_pumped(void **state)
{
        struct cl_kpx_fuels f;

        (void)state;
        load_fuels(NULL, NULL, &f);
        assert_string_equal(f.operation, PWR_OP);
        assert_string_equal(f.factor_set, "lifecycle");
        assert_string_equal(f.date_param, "baseDate");
        assert_int_equal(f.n_fields, 8);
        for (size_t i = 0; i < f.n_fields; i++) {
                assert_string_not_equal(f.field[i], "fuelPwr5");
                assert_string_not_equal(f.field[i], "fuelPwrTot");
        }
}

static void
kpx_unknown_factor_set_fails(void **state)
{
        struct cl_kpx_fuels f;

        (void)state;
        assert_int_equal(cl_kpx_fuels_load(TEMPLATES, NULL, "marginal", &f),
                         CL_ENOTFOUND);
        assert_non_null(strstr(cl_last_error(), "marginal"));
}

/*
 * The documented sample (fuelPwr1..9, fuelPwr5 = -1466.35 pumped storage):
 * numerator 30.7481 x 24 + 328.881 x 650 + (18204.9 + 110.121) x 820 +
 * 20113.8 x 12 + 16548.8 x 490 + 3623.07 x 230 + 0 x 45 = 24416411.5244;
 * denominator 58960.3201 MW (fuelPwrTot is 57497.9); 414.1160 g/kWh.
 * Direct factors: 20175997.646 / 58960.3201 = 342.1962 g/kWh.
 */
static void
kpx_reference_sample_intensity(void **state)
{
        struct cl_source_batch b = {0};
        struct cl_kpx_answer a;
        struct cl_kpx_fuels f;
        const struct cl_source_hour *h;

        (void)state;
        load_fuels(NULL, NULL, &f);
        parse_fixture("kpx/day-object.json", &f, &a);
        assert_string_equal(a.result_code, "00");
        assert_int_equal(a.n_samples, 1);
        assert_int_equal(cl_kpx_hourly(&a, &f, &b), CL_OK);
        h = hour_at(&b, H03);
        assert_non_null(h);
        assert_true(h->has_value);
        assert_true(fabs(h->g_per_kwh - 414.1160) < 0.001);
        assert_int_equal(h->quality, CL_QUALITY_MEASURED);
        assert_string_equal(h->factor_set, "lifecycle");
        cl_batch_free(&b);
        load_fuels(NULL, "direct", &f);
        assert_int_equal(cl_kpx_hourly(&a, &f, &b), CL_OK);
        assert_true(fabs(b.hours[0].g_per_kwh - 342.1962) < 0.001);
        assert_string_equal(b.hours[0].factor_set, "direct");
        cl_batch_free(&b);
        cl_kpx_answer_free(&a);
}

/*
 * 02:00 KST: 6 samples coal 20000, nuclear 20000, gas 10000 MW and 6 of
 * coal 10000 (as strings), nuclear 20000, gas 20000: mean MWh coal 15000,
 * nuclear 20000, gas 15000; (15000 x 820 + 20000 x 12 + 15000 x 490) /
 * 50000 = 397.8 g/kWh, whatever pumped storage (-1000, +500) does.
 */
static void
kpx_hourly_mean_of_samples(void **state)
{
        struct cl_source_batch b = {0};
        struct cl_kpx_answer a;
        struct cl_kpx_fuels f;
        const struct cl_source_hour *h;

        (void)state;
        load_fuels(NULL, NULL, &f);
        parse_fixture("kpx/day-array.json", &f, &a);
        assert_int_equal(a.n_samples, 15);
        assert_int_equal(cl_kpx_hourly(&a, &f, &b), CL_OK);
        h = hour_at(&b, H02);
        assert_non_null(h);
        assert_true(fabs(h->g_per_kwh - 397.8) < 1e-9);
        assert_non_null(strstr(h->detail, "12 of 12"));
        cl_batch_free(&b);
        cl_kpx_answer_free(&a);
}

static void
kpx_zero_and_null_are_missing(void **state)
{
        struct cl_source_batch b = {0};
        struct cl_kpx_answer a;
        struct cl_kpx_fuels f;
        const struct cl_source_hour *zero, *null;

        (void)state;
        load_fuels(NULL, NULL, &f);
        parse_fixture("kpx/day-array.json", &f, &a);
        assert_int_equal(cl_kpx_hourly(&a, &f, &b), CL_OK);
        zero = hour_at(&b, H02 + 2 * CL_NS_PER_HOUR);
        null = hour_at(&b, H02 + 3 * CL_NS_PER_HOUR);
        assert_non_null(zero);
        assert_non_null(null);
        assert_false(zero->has_value);
        assert_int_equal(zero->quality, CL_QUALITY_MISSING);
        assert_false(null->has_value);
        assert_int_equal(null->quality, CL_QUALITY_MISSING);
        cl_batch_free(&b);
        cl_kpx_answer_free(&a);
}

static void
kpx_negative_pumped_is_excluded(void **state)
{
        const char *body =
            "{\"response\":{\"header\":{\"resultCode\":\"00\"},\"body\":{"
            "\"items\":{\"item\":{\"baseDatetime\":\"20251023020000\","
            "\"fuelPwr1\":0,\"fuelPwr2\":0,\"fuelPwr3\":0,\"fuelPwr4\":"
            "1000,\"fuelPwr5\":-5000,\"fuelPwr6\":1000,\"fuelPwr7\":0,"
            "\"fuelPwr8\":0,\"fuelPwr9\":0,\"fuelPwrTot\":-3000}}}}}";
        struct cl_source_batch b = {0};
        struct cl_kpx_answer a;
        struct cl_kpx_fuels f;

        (void)state;
        load_fuels(NULL, NULL, &f);
        assert_int_equal(cl_kpx_parse(body, strlen(body), &f, &a), CL_OK);
        assert_int_equal(cl_kpx_hourly(&a, &f, &b), CL_OK);
        assert_int_equal(b.n, 1);
        /* (1000 x 12 + 1000 x 490) / 2000 = 251. */
        assert_true(fabs(b.hours[0].g_per_kwh - 251.0) < 1e-9);
        cl_batch_free(&b);
        cl_kpx_answer_free(&a);
}

static void
kpx_empty_items_no_samples(void **state)
{
        struct cl_kpx_answer a;
        struct cl_kpx_fuels f;

        (void)state;
        load_fuels(NULL, NULL, &f);
        parse_fixture("kpx/day-empty-items.json", &f, &a);
        assert_string_equal(a.result_code, "00");
        assert_int_equal(a.n_samples, 0);
        cl_kpx_answer_free(&a);
}

static void
kpx_xml_body_parses(void **state)
{
        struct cl_kpx_answer a;
        struct cl_kpx_fuels f;

        (void)state;
        load_fuels(NULL, NULL, &f);
        parse_fixture("kpx/day.xml", &f, &a);
        assert_true(a.xml);
        assert_false(a.gateway_error);
        assert_string_equal(a.result_code, "00");
        assert_int_equal(a.n_samples, 1);
        assert_true(a.samples[0].complete);
        assert_true(a.samples[0].t_ns == H03 + 45 * 60 * CL_NS_PER_S);
        cl_kpx_answer_free(&a);
}

static void
kpx_gateway_error_xml(void **state)
{
        struct cl_kpx_answer a;
        struct cl_kpx_fuels f;

        (void)state;
        load_fuels(NULL, NULL, &f);
        parse_fixture("kpx/gateway-error-30.xml", &f, &a);
        assert_true(a.gateway_error);
        assert_string_equal(a.result_code, "30");
        assert_non_null(
            strstr(a.result_msg, "SERVICE_KEY_IS_NOT_REGISTERED_ERROR"));
        assert_int_equal(cl_kpx_code_outcome(a.result_code), CL_HTTP_PERMANENT);
        cl_kpx_answer_free(&a);
}

static void
kpx_sumperfuel5m_spelling(void **state)
{
        struct cl_source_batch b = {0};
        struct cl_kpx_answer a;
        struct cl_kpx_fuels f;

        (void)state;
        load_fuels("sumperfuel5m/getSumperfuel5m", NULL, &f);
        assert_string_equal(f.date_param, "");
        parse_fixture("kpx/sumperfuel5m.json", &f, &a);
        assert_int_equal(a.n_samples, 1);
        assert_true(a.samples[0].complete);
        assert_int_equal(cl_kpx_hourly(&a, &f, &b), CL_OK);
        /* hydro 100 x 24 + coal 10000 x 820 + nuclear 20000 x 12 + gas
         * 10000 x 490 + solar 900 x 45 + wind 1000 x 11 = 13393900 over
         * 42000 MWh; pEsmw, bEmsw and pumped storage are excluded. */
        assert_int_equal(b.n, 1);
        assert_true(fabs(b.hours[0].g_per_kwh - 13393900.0 / 42000.0) < 1e-9);
        cl_batch_free(&b);
        cl_kpx_answer_free(&a);
}

static void
kpx_rejects_bad_bodies(void **state)
{
        static const char *const bodies[] = {
            "",
            "   ",
            "OK",
            "{\"response\":{\"header\":{}}}",
            "{\"response\":",
            "<response><header></header></response>",
            "<html><body>502 Bad Gateway</body></html>",
            "<not xml"};
        struct cl_kpx_answer a;
        struct cl_kpx_fuels f;

        (void)state;
        load_fuels(NULL, NULL, &f);
        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
                assert_int_equal(
                    cl_kpx_parse(bodies[i], strlen(bodies[i]), &f, &a),
                    CL_EFORMAT);
}

static void
kpx_result_code_outcomes(void **state)
{
        static const struct {
                const char *code;
                enum cl_http_outcome outcome;
        } cases[] = {
            {"00", CL_HTTP_OK},        {"03", CL_HTTP_NO_DATA},
            {"22", CL_HTTP_QUOTA},     {"01", CL_HTTP_TRANSIENT},
            {"02", CL_HTTP_TRANSIENT}, {"04", CL_HTTP_TRANSIENT},
            {"05", CL_HTTP_TRANSIENT}, {"23", CL_HTTP_TRANSIENT},
            {"99", CL_HTTP_TRANSIENT}, {"10", CL_HTTP_PERMANENT},
            {"12", CL_HTTP_PERMANENT}, {"20", CL_HTTP_PERMANENT},
            {"30", CL_HTTP_PERMANENT}, {"33", CL_HTTP_PERMANENT},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_int_equal(cl_kpx_code_outcome(cases[i].code),
                                 cases[i].outcome);
}

static void
kpx_time_is_kst(void **state)
{
        int64_t ns;

        (void)state;
        assert_int_equal(cl_kpx_parse_time("20251023020000", &ns), CL_OK);
        assert_true(ns == H02);
        assert_int_equal(cl_kpx_parse_time("20251023240000", &ns), CL_OK);
        assert_true(ns == H02 + 22 * CL_NS_PER_HOUR);
        assert_int_equal(cl_kpx_parse_time("20250230000000", &ns), CL_EFORMAT);
        assert_int_equal(cl_kpx_parse_time("2025102302", &ns), CL_EFORMAT);
}

static void
utc_hour_matches_kst(void **state)
{
        int64_t energy_ns, hour;
        char kst[32];

        (void)state;
        assert_int_equal(cl_parse_iso8601("2025-10-22T17:00:00Z", &energy_ns),
                         CL_OK);
        hour = cl_intensity_hour_start(energy_ns + 59 * 60 * CL_NS_PER_S);
        assert_true(hour == energy_ns);
        assert_string_equal(cl_format_kst(hour, kst, sizeof(kst)),
                            "2025-10-23 02:00");
        assert_true(cl_intensity_hour_start(energy_ns - 1) ==
                    energy_ns - CL_NS_PER_HOUR);
}

static void
quota_until_next_kst_midnight(void **state)
{
        int64_t now, until, want;

        (void)state;
        /* 2026-12-04 07:53 KST -> 2026-12-05 00:00 KST = 12-04T15:00Z. */
        assert_int_equal(cl_parse_iso8601("2026-12-03T22:53:00Z", &now), CL_OK);
        assert_int_equal(cl_parse_iso8601("2026-12-04T15:00:00Z", &want),
                         CL_OK);
        until = cl_next_kst_midnight_ns(now);
        assert_true(until == want);
        /* Exactly midnight KST blocks until the next one, 24 h later. */
        assert_true(cl_next_kst_midnight_ns(want) == want + CL_NS_PER_DAY);
        assert_true(cl_next_kst_midnight_ns(want - 1) == want);
}

static void
em_past_range_entries(void **state)
{
        struct cl_source_batch b = {0};
        const struct cl_source_hour *h;
        size_t len;
        char *body = read_fixture("electricitymaps/past-range.json", &len);

        (void)state;
        assert_int_equal(cl_em_parse(body, len, 0, &b), CL_OK);
        assert_int_equal(b.n, 4);
        h = hour_at(&b, H02);
        assert_true(h->has_value);
        assert_true(h->g_per_kwh == 423.0);
        assert_int_equal(h->quality, CL_QUALITY_MEASURED);
        assert_string_equal(h->factor_set, "lifecycle");
        h = hour_at(&b, H02 + CL_NS_PER_HOUR);
        assert_false(h->has_value);
        assert_int_equal(h->quality, CL_QUALITY_MISSING);
        h = hour_at(&b, H02 + 2 * CL_NS_PER_HOUR);
        assert_false(h->has_value);
        h = hour_at(&b, H02 + 3 * CL_NS_PER_HOUR);
        assert_int_equal(h->quality, CL_QUALITY_ESTIMATED);
        cl_batch_free(&b);
        free(body);
}

static void
em_latest_and_history(void **state)
{
        struct cl_source_batch b = {0};
        size_t len;
        char *body = read_fixture("electricitymaps/latest.json", &len);

        (void)state;
        assert_int_equal(cl_em_parse(body, len, 0, &b), CL_OK);
        assert_int_equal(b.n, 1);
        assert_int_equal(b.hours[0].quality, CL_QUALITY_ESTIMATED);
        free(body);
        cl_batch_free(&b);
        body = read_fixture("electricitymaps/history.json", &len);
        assert_int_equal(cl_em_parse(body, len, 1, &b), CL_OK);
        assert_int_equal(b.n, 2);
        assert_string_equal(b.hours[0].factor_set, "direct");
        assert_true(b.hours[0].forecast);
        assert_int_equal(b.hours[0].quality, CL_QUALITY_ESTIMATED);
        free(body);
        cl_batch_free(&b);
        assert_int_equal(cl_em_parse("{\"zone\":\"KR\"}", 13, 0, &b),
                         CL_EFORMAT);
}

static void
watttime_pounds_to_grams(void **state)
{
        struct cl_source_batch b = {0};
        const struct cl_source_hour *h;
        size_t len;
        char *body = read_fixture("watttime/historical.json", &len);

        (void)state;
        assert_true(fabs(911 * CL_LB_PER_MWH_TO_G_PER_KWH - 413.2) < 0.05);
        assert_int_equal(cl_watttime_parse(body, len, &b), CL_OK);
        h = hour_at(&b, H02);
        assert_non_null(h);
        assert_true(fabs(h->g_per_kwh - 413.2226) < 1e-3);
        h = hour_at(&b, H03);
        assert_true(fabs(h->g_per_kwh - 900 * 0.45359237) < 1e-9);
        h = hour_at(&b, H03 + CL_NS_PER_HOUR);
        assert_false(h->has_value);
        free(body);
        cl_batch_free(&b);
}

static void
watttime_rejects_other_units(void **state)
{
        const char *body =
            "{\"data\":[],\"meta\":{\"units\":\"g_co2_per_kwh\"}}";
        struct cl_source_batch b = {0};

        (void)state;
        assert_int_equal(cl_watttime_parse(body, strlen(body), &b), CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "g_co2_per_kwh"));
}

static void
static_csv_and_json(void **state)
{
        struct cl_source_batch b = {0};
        enum cl_intensity_basis basis;
        const struct cl_source_hour *h;
        size_t len;
        char *text = read_fixture("static/kr.csv", &len);

        (void)state;
        assert_int_equal(cl_static_parse(text, len, "kr.csv", "KR", &basis, &b),
                         CL_OK);
        assert_int_equal(basis, CL_BASIS_CONSUMPTION);
        assert_int_equal(b.n, 4);
        h = hour_at(&b, H02);
        assert_true(h->g_per_kwh == 430.5);
        assert_int_equal(h->quality, CL_QUALITY_DECLARED);
        assert_string_equal(h->factor_set, "file:kr.csv");
        assert_false(hour_at(&b, H03)->has_value);
        assert_false(hour_at(&b, H03 + CL_NS_PER_HOUR)->has_value);
        free(text);
        cl_batch_free(&b);
        text = read_fixture("static/kr.json", &len);
        assert_int_equal(
            cl_static_parse(text, len, "kr.json", "KR", &basis, &b), CL_OK);
        assert_int_equal(basis, CL_BASIS_GENERATION);
        assert_int_equal(b.n, 2);
        assert_int_equal(b.hours[0].quality, CL_QUALITY_MEASURED);
        assert_string_equal(b.hours[0].factor_set, "site measurement 2025");
        free(text);
        cl_batch_free(&b);
}

static void
static_rejects_bad_rows(void **state)
{
        static const char *const files[] = {
            "hour,zone\n",
            "hour,zone,g_per_kwh,colour\n",
            "hour,zone,g_per_kwh\n2025-10-23T02:00:00,KR,400\n",
            "hour,zone,g_per_kwh\n2025-10-23T02:30:00+09:00,KR,400\n",
            "hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,-1\n",
            "hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,abc\n",
            "hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,1\n"
            "2025-10-22T17:00:00Z,KR,2\n",
            "hour,zone,g_per_kwh,basis\n2025-10-23T02:00:00+09:00,KR,1,"
            "generation\n2025-10-23T03:00:00+09:00,KR,1,marginal\n",
        };
        enum cl_intensity_basis basis;

        (void)state;
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                struct cl_source_batch b = {0};

                assert_int_equal(cl_static_parse(files[i], strlen(files[i]),
                                                 "bad.csv", "KR", &basis, &b),
                                 CL_EFORMAT);
                assert_non_null(strstr(cl_last_error(), "bad.csv"));
                cl_batch_free(&b);
        }
}

/* Parses a static file for zone KR; returns the result code. */
static cl_err
parse_static_text(const char *text, size_t len, const char *path,
                  enum cl_intensity_basis *basis, struct cl_source_batch *b)
{
        return cl_static_parse(text, len, path, "KR", basis, b);
}

static void
static_rejects_implausible_values(void **state)
{
        static const struct {
                const char *text;
                const char *message; /* text the error must contain */
        } cases[] = {
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,1e300\n",
             "1e300"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,50000\n",
             "50000"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,2000.5\n",
             "2000"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,-1\n", "'-1'"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,1e999\n",
             "1e999"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,0x1A\n",
             "not a decimal number"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,4 3\n",
             "not a decimal number"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,1e\n",
             "not a decimal number"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,.\n",
             "not a decimal number"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,nan\n",
             "not a finite number"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,-Infinity\n",
             "not a finite number"},
            {"hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,INF\n",
             "not a finite number"},
            {"{\"hours\":[{\"hour\":\"2025-10-23T02:00:00+09:00\","
             "\"zone\":\"KR\",\"g_per_kwh\":1e308}]}",
             "entry 1"},
            {"{\"hours\":[{\"hour\":\"2025-10-23T02:00:00+09:00\","
             "\"zone\":\"KR\",\"g_per_kwh\":\"0x1A\"}]}",
             "not a decimal number"},
            {"[{\"hour\":\"2025-10-23T02:00:00+09:00\",\"zone\":\"KR\","
             "\"g_per_kwh\":\"nan\"}]",
             "not a finite number"},
            {"[{\"hour\":\"2025-10-23T02:00:00+09:00\",\"zone\":\"KR\","
             "\"g_per_kwh\":NaN}]",
             "not a finite number"},
            {"[{\"hour\":\"2025-10-23T02:00:00+09:00\",\"zone\":\"KR\","
             "\"g_per_kwh\":1e999}]",
             "not a finite number"},
            {"[{\"hour\":\"2025-10-23T02:00:00+09:00\",\"zone\":\"JP\","
             "\"g_per_kwh\":50000}]",
             "'50000'"},
        };
        enum cl_intensity_basis basis;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cl_source_batch b = {0};

                assert_int_equal(parse_static_text(cases[i].text,
                                                   strlen(cases[i].text),
                                                   "bad.csv", &basis, &b),
                                 CL_EFORMAT);
                assert_non_null(strstr(cl_last_error(), "bad.csv"));
                assert_non_null(strstr(cl_last_error(), cases[i].message));
                assert_int_equal(b.n, 0);
                cl_batch_free(&b);
        }
}

static void
static_error_names_line(void **state)
{
        const char *text = "hour,zone,g_per_kwh\n"
                           "2025-10-23T02:00:00+09:00,KR,400\n"
                           "2025-10-23T03:00:00+09:00,KR,1e300\n";
        enum cl_intensity_basis basis;
        struct cl_source_batch b = {0};

        (void)state;
        assert_int_equal(
            parse_static_text(text, strlen(text), "h.csv", &basis, &b),
            CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "h.csv: line 3"));
        assert_non_null(strstr(cl_last_error(), "gCO2eq/kWh"));
        cl_batch_free(&b);
}

static void
static_accepts_plain_decimals(void **state)
{
        const char *text = "hour,zone,g_per_kwh\n"
                           "2025-10-23T02:00:00+09:00,KR,2000\n"
                           "2025-10-23T03:00:00+09:00,KR,4.5e2\n"
                           "2025-10-23T04:00:00+09:00,KR,.5\n"
                           "2025-10-23T05:00:00+09:00,KR,0.0\n";
        enum cl_intensity_basis basis;
        struct cl_source_batch b = {0};

        (void)state;
        assert_int_equal(
            parse_static_text(text, strlen(text), "ok.csv", &basis, &b), CL_OK);
        assert_int_equal(b.n, 4);
        assert_true(hour_at(&b, H02)->g_per_kwh == 2000.0);
        assert_true(hour_at(&b, H03)->g_per_kwh == 450.0);
        assert_true(hour_at(&b, H03 + CL_NS_PER_HOUR)->g_per_kwh == 0.5);
        assert_false(hour_at(&b, H03 + 2 * CL_NS_PER_HOUR)->has_value);
        cl_batch_free(&b);
}

static void
static_rejects_nul_byte(void **state)
{
        static const char text[] = "hour,zone,g_per_kwh\n"
                                   "2025-10-23T02:00:00+09:00,KR,43\0 0.5\n";
        enum cl_intensity_basis basis;
        struct cl_source_batch b = {0};

        (void)state;
        assert_int_equal(
            parse_static_text(text, sizeof(text) - 1, "nul.csv", &basis, &b),
            CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "nul.csv: line 2"));
        assert_non_null(strstr(cl_last_error(), "NUL"));
        assert_int_equal(b.n, 0);
        cl_batch_free(&b);
}

static void
static_json_entry_basis_differs(void **state)
{
        const char *differs =
            "{\"basis\":\"generation\",\"hours\":[{\"hour\":"
            "\"2025-10-23T02:00:00+09:00\",\"zone\":\"JP\",\"g_per_kwh\":400},"
            "{\"hour\":"
            "\"2025-10-23T02:00:00+09:00\",\"zone\":\"KR\",\"g_per_kwh\":400,"
            "\"basis\":\"consumption\"}]}";
        const char *same =
            "{\"basis\":\"generation\",\"hours\":[{\"hour\":"
            "\"2025-10-23T02:00:00+09:00\",\"zone\":\"KR\",\"g_per_kwh\":400,"
            "\"basis\":\"generation\"}]}";
        const char *bare = "[{\"hour\":\"2025-10-23T02:00:00+09:00\","
                           "\"zone\":\"KR\",\"g_per_kwh\":400,"
                           "\"basis\":\"marginal\"}]";
        enum cl_intensity_basis basis;
        struct cl_source_batch b = {0};

        (void)state;
        assert_int_equal(
            parse_static_text(differs, strlen(differs), "b.json", &basis, &b),
            CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "b.json: entry 2"));
        assert_non_null(strstr(cl_last_error(), "consumption"));
        assert_non_null(strstr(cl_last_error(), "generation"));
        cl_batch_free(&b);
        assert_int_equal(
            parse_static_text(same, strlen(same), "b.json", &basis, &b), CL_OK);
        assert_int_equal(basis, CL_BASIS_GENERATION);
        cl_batch_free(&b);
        assert_int_equal(
            parse_static_text(bare, strlen(bare), "b.json", &basis, &b), CL_OK);
        assert_int_equal(basis, CL_BASIS_MARGINAL);
        cl_batch_free(&b);
}

static void
static_json_rejects_unknown_keys(void **state)
{
        static const struct {
                const char *text;
                const char *message;
        } cases[] = {
            {"{\"units\":\"g\",\"hours\":[]}", "'units'"},
            {"{\"hours\":[{\"hour\":\"2025-10-23T02:00:00+09:00\","
             "\"zone\":\"JP\",\"g_per_kwh\":400},"
             "{\"hour\":\"2025-10-23T02:00:00+09:00\",\"zone\":\"KR\","
             "\"g_per_kWh\":400}]}",
             "entry 2: unknown key 'g_per_kWh'"},
            {"[{\"hour\":\"2025-10-23T02:00:00+09:00\",\"zone\":\"KR\","
             "\"basis\":7}]",
             "entry 1: basis"},
            {"{\"basis\":1,\"hours\":[]}", "basis"},
            {"[7]", "entry 1"},
        };
        enum cl_intensity_basis basis;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cl_source_batch b = {0};

                assert_int_equal(parse_static_text(cases[i].text,
                                                   strlen(cases[i].text),
                                                   "k.json", &basis, &b),
                                 CL_EFORMAT);
                assert_non_null(strstr(cl_last_error(), "k.json"));
                assert_non_null(strstr(cl_last_error(), cases[i].message));
                cl_batch_free(&b);
        }
}

/* A database and a static file with one hour, for the cache rule. */
struct cache_fixture {
        char dir[PATH_MAX];
        char db_path[PATH_MAX];
        char csv[PATH_MAX];
        sqlite3 *db;
};

static int
cache_setup(void **state)
{
        struct cache_fixture *f = calloc(1, sizeof(*f));

        test_make_tmpdir(f->dir, sizeof(f->dir));
        snprintf(f->db_path, sizeof(f->db_path), "%s/t.db", f->dir);
        snprintf(f->csv, sizeof(f->csv), "%s/h.csv", f->dir);
        test_write(f->dir, "h.csv",
                   "hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,420\n");
        assert_int_equal(cl_db_open(f->db_path, CL_DB_CREATE, &f->db), CL_OK);
        *state = f;
        return 0;
}

static int
cache_teardown(void **state)
{
        struct cache_fixture *f = *state;

        cl_db_close(f->db);
        test_remove_tree(f->dir);
        free(f);
        return 0;
}

static void
store_missing_row(sqlite3 *db, int64_t hour_ns, int64_t fetched_ns)
{
        char sql[512];

        snprintf(sql, sizeof(sql),
                 "INSERT INTO intensity_hour (zone, hour_ns, source, "
                 "g_per_kwh, basis, factor_set, quality, fetched_ns, "
                 "response_sha256) VALUES ('KR', %lld, 'static', NULL, "
                 "'consumption', '', 'missing', %lld, '')",
                 (long long)hour_ns, (long long)fetched_ns);
        assert_int_equal(cl_db_exec(db, sql), CL_OK);
}

static void
cache_retries_missing_after_hours(void **state)
{
        struct cache_fixture *f = *state;
        struct cl_intensity_config cfg = {.template_dir = TEMPLATES};
        struct cl_fetch_summary s;
        struct cl_intensity_hour h;
        int64_t stored_ns = cl_now_ns();

        cfg.static_path = f->csv;
        store_missing_row(f->db, H02, stored_ns);
        /* One hour later the missing hour is not asked again. */
        cfg.now_ns = stored_ns + CL_NS_PER_HOUR;
        assert_int_equal(
            cl_intensity_fetch(f->db, &cfg, "static", "KR", H02, H03, &s),
            CL_OK);
        assert_int_equal(s.hours_already_stored, 1);
        assert_int_equal(s.hours_stored, 0);
        assert_int_equal(cl_intensity_load(f->db, "static", "KR", H02, 1, &h),
                         CL_OK);
        assert_false(h.has_value);
        /* After the retry interval it is, and the value replaces it. */
        cfg.now_ns = stored_ns + CL_MISSING_RETRY_NS;
        assert_int_equal(
            cl_intensity_fetch(f->db, &cfg, "static", "KR", H02, H03, &s),
            CL_OK);
        assert_int_equal(s.hours_stored, 1);
        assert_int_equal(cl_intensity_load(f->db, "static", "KR", H02, 1, &h),
                         CL_OK);
        assert_true(h.has_value);
        assert_true(h.g_per_kwh == 420.0);
        assert_int_equal(h.quality, CL_QUALITY_DECLARED);
        assert_int_equal(h.basis, CL_BASIS_CONSUMPTION);
        assert_int_equal(strlen(h.response_sha256), 64);
}

static void
cache_keeps_stored_values(void **state)
{
        struct cache_fixture *f = *state;
        struct cl_intensity_config cfg = {.template_dir = TEMPLATES};
        struct cl_fetch_summary s;
        struct cl_intensity_hour h[3];

        cfg.static_path = f->csv;
        assert_int_equal(cl_intensity_fetch(f->db, &cfg, "static", "KR",
                                            H02 - CL_NS_PER_HOUR,
                                            H02 + 2 * CL_NS_PER_HOUR, &s),
                         CL_OK);
        assert_int_equal(s.hours_requested, 3);
        assert_int_equal(s.hours_stored, 1);
        test_write(f->dir, "h.csv",
                   "hour,zone,g_per_kwh\n2025-10-23T02:00:00+09:00,KR,999\n");
        assert_int_equal(
            cl_intensity_fetch(f->db, &cfg, "static", "KR", H02, H03, &s),
            CL_OK);
        assert_int_equal(s.hours_already_stored, 1);
        assert_int_equal(cl_intensity_load(f->db, "static", "KR",
                                           H02 - CL_NS_PER_HOUR, 3, h),
                         CL_OK);
        assert_false(h[0].has_value);
        assert_string_equal(h[0].detail, "not stored");
        assert_true(h[1].g_per_kwh == 420.0);
        assert_true(h[1].hour_ns == H02);
        assert_false(h[2].has_value);
}

static void
fetch_rejects_bad_arguments(void **state)
{
        struct cache_fixture *f = *state;
        struct cl_intensity_config cfg = {.template_dir = TEMPLATES};
        struct cl_fetch_summary s;
        struct cl_intensity_hour h;

        assert_int_equal(
            cl_intensity_fetch(f->db, &cfg, "ember", "KR", H02, H03, &s),
            CL_EINVAL);
        assert_int_equal(
            cl_intensity_fetch(f->db, &cfg, "kpx", "JP", H02, H03, &s),
            CL_EINVAL);
        assert_int_equal(
            cl_intensity_fetch(f->db, &cfg, "static", "K R", H02, H03, &s),
            CL_EINVAL);
        assert_int_equal(
            cl_intensity_fetch(f->db, &cfg, "gir", "KR", H03, H02, &s),
            CL_EINVAL);
        assert_int_equal(cl_intensity_load(f->db, "gir", "KR", H02 + 1, 1, &h),
                         CL_EINVAL);
}

static void
gir_declares_factor_in_force(void **state)
{
        struct cache_fixture *f = *state;
        struct cl_intensity_config cfg = {.template_dir = TEMPLATES};
        struct cl_fetch_summary s;
        struct cl_intensity_hour h[2];
        int64_t new_year_2026;

        /* The last hour of 2025 and the first of 2026 (KST). */
        new_year_2026 = cl_kst_day_start_ns(2026, 1, 1);
        assert_int_equal(cl_intensity_fetch(f->db, &cfg, "gir", "KR",
                                            new_year_2026 - CL_NS_PER_HOUR,
                                            new_year_2026 + CL_NS_PER_HOUR, &s),
                         CL_OK);
        assert_int_equal(s.hours_stored, 2);
        assert_int_equal(cl_intensity_load(f->db, "gir", "KR",
                                           new_year_2026 - CL_NS_PER_HOUR, 2,
                                           h),
                         CL_OK);
        assert_true(fabs(h[0].g_per_kwh - 454.1) < 1e-9);
        assert_true(fabs(h[1].g_per_kwh - 433.0) < 1e-9);
        assert_int_equal(h[0].quality, CL_QUALITY_DECLARED);
        assert_int_equal(h[0].basis, CL_BASIS_CONSUMPTION);
        assert_non_null(strstr(h[1].factor_set, "2025 approval"));
}

/* Runs fn with stderr written to path, for checks of log lines. */
static cl_err
with_stderr_to(const char *path, cl_err (*fn)(void *), void *arg)
{
        int saved = dup(STDERR_FILENO);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        cl_err rc;

        assert_true(saved >= 0);
        assert_true(fd >= 0);
        fflush(stderr);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        rc = fn(arg);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(fd);
        close(saved);
        return rc;
}

struct store_call {
        struct cl_source_ctx *ctx;
        struct cl_source_batch *batch;
};

static cl_err
store_batch(void *arg)
{
        struct store_call *c = arg;

        return cl_source_store(c->ctx, H02, H03 + CL_NS_PER_HOUR, c->batch,
                               CL_BASIS_GENERATION, "", "set", "gap", 1);
}

static void
store_marks_implausible_missing(void **state)
{
        static const struct {
                const char *source;
                double g_per_kwh;
        } cases[] = {
            {"kpx", INFINITY},
            {"electricitymaps", 5000},
            /* 5000 lb/MWh, a marginal rate no plant emits. */
            {"watttime", 5000 * CL_LB_PER_MWH_TO_G_PER_KWH},
        };
        struct cache_fixture *f = *state;
        struct cl_intensity_config cfg = {.template_dir = TEMPLATES};
        const int64_t needed[] = {H02, H03};
        char log_path[PATH_MAX + 8];

        snprintf(log_path, sizeof(log_path), "%s/log", f->dir);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cl_source_hour bad = {.hour_ns = H02, .has_value = 1};
                struct cl_source_hour good = {.hour_ns = H03, .has_value = 1};
                struct cl_source_batch batch = {0};
                struct cl_fetch_summary s = {0};
                struct cl_source_ctx ctx = {
                    .db = f->db,
                    .cfg = &cfg,
                    .source = cases[i].source,
                    .zone = "KR",
                    .now_ns = cl_now_ns(),
                    .needed = needed,
                    .n_needed = 2,
                    .summary = &s,
                };
                struct store_call call = {&ctx, &batch};
                struct cl_intensity_hour h[2];
                char *log = NULL;
                size_t len;

                bad.g_per_kwh = cases[i].g_per_kwh;
                good.g_per_kwh = 400;
                assert_int_equal(cl_batch_add(&batch, &bad), CL_OK);
                assert_int_equal(cl_batch_add(&batch, &good), CL_OK);
                assert_int_equal(with_stderr_to(log_path, store_batch, &call),
                                 CL_OK);
                assert_int_equal(s.hours_stored, 1);
                assert_int_equal(s.hours_missing, 1);
                assert_int_equal(
                    cl_intensity_load(f->db, cases[i].source, "KR", H02, 2, h),
                    CL_OK);
                assert_false(h[0].has_value);
                assert_int_equal(h[0].quality, CL_QUALITY_MISSING);
                assert_non_null(strstr(h[0].detail, "2000 gCO2eq/kWh"));
                assert_true(h[1].has_value);
                assert_true(h[1].g_per_kwh == 400.0);
                assert_int_equal(cl_read_file(log_path, 1 << 16, &log, &len),
                                 CL_OK);
                assert_non_null(strstr(log, "level=warn"));
                assert_non_null(strstr(log, "event=intensity_out_of_range"));
                assert_non_null(strstr(log, cases[i].source));
                free(log);
                cl_batch_free(&batch);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(kpx_fuel_table_excludes_pumped),
            cmocka_unit_test(kpx_unknown_factor_set_fails),
            cmocka_unit_test(kpx_reference_sample_intensity),
            cmocka_unit_test(kpx_hourly_mean_of_samples),
            cmocka_unit_test(kpx_zero_and_null_are_missing),
            cmocka_unit_test(kpx_negative_pumped_is_excluded),
            cmocka_unit_test(kpx_empty_items_no_samples),
            cmocka_unit_test(kpx_xml_body_parses),
            cmocka_unit_test(kpx_gateway_error_xml),
            cmocka_unit_test(kpx_sumperfuel5m_spelling),
            cmocka_unit_test(kpx_rejects_bad_bodies),
            cmocka_unit_test(kpx_result_code_outcomes),
            cmocka_unit_test(kpx_time_is_kst),
            cmocka_unit_test(utc_hour_matches_kst),
            cmocka_unit_test(quota_until_next_kst_midnight),
            cmocka_unit_test(em_past_range_entries),
            cmocka_unit_test(em_latest_and_history),
            cmocka_unit_test(watttime_pounds_to_grams),
            cmocka_unit_test(watttime_rejects_other_units),
            cmocka_unit_test(static_csv_and_json),
            cmocka_unit_test(static_rejects_bad_rows),
            cmocka_unit_test(static_rejects_implausible_values),
            cmocka_unit_test(static_error_names_line),
            cmocka_unit_test(static_accepts_plain_decimals),
            cmocka_unit_test(static_rejects_nul_byte),
            cmocka_unit_test(static_json_entry_basis_differs),
            cmocka_unit_test(static_json_rejects_unknown_keys),
            cmocka_unit_test_setup_teardown(cache_retries_missing_after_hours,
                                            cache_setup, cache_teardown),
            cmocka_unit_test_setup_teardown(cache_keeps_stored_values,
                                            cache_setup, cache_teardown),
            cmocka_unit_test_setup_teardown(fetch_rejects_bad_arguments,
                                            cache_setup, cache_teardown),
            cmocka_unit_test_setup_teardown(gir_declares_factor_in_force,
                                            cache_setup, cache_teardown),
            cmocka_unit_test_setup_teardown(store_marks_implausible_missing,
                                            cache_setup, cache_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
