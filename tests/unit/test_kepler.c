/*
 * Tests of collector/promtext.c and collector/kepler.c: the strict text
 * format rules, the zone filter, the plausibility bounds and the
 * increases between two readings, on fixtures/kepler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fsutil.h"
#include "helpers.h"
#include "kepler.h"
#include "promtext.h"
#include "timeutil.h"

#include <math.h>
#include <string.h>

#define KEPLER CL_SOURCE_DIR "/fixtures/kepler"

struct seen {
        size_t n;
        double last_value;
        char last_label[64];
        int has_timestamp;
        int64_t timestamp_ms;
};

static cl_err
count_sample(const struct cl_prom_sample *s, void *ctx)
{
        struct seen *seen = ctx;
        const char *v = cl_prom_label(s, "v");

        seen->n++;
        seen->last_value = s->value;
        seen->has_timestamp = s->has_timestamp;
        seen->timestamp_ms = s->timestamp_ms;
        snprintf(seen->last_label, sizeof(seen->last_label), "%s",
                 v != NULL ? v : "");
        return CL_OK;
}

static cl_err
parse_text(const char *text, struct seen *seen)
{
        memset(seen, 0, sizeof(*seen));
        return cl_prom_parse(text, strlen(text), count_sample, seen);
}

static void
promtext_accepts_escapes_and_specials(void **state)
{
        struct seen s;

        (void)state;
        assert_int_equal(parse_text("# a comment\n\nm{v=\"a\\\\b\\\"c\\nd\"} "
                                    "1.5e3 1700000000000\n",
                                    &s),
                         CL_OK);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.last_label, "a\\b\"c\nd");
        assert_true(s.last_value == 1500.0);
        assert_true(s.has_timestamp);
        assert_true(s.timestamp_ms == INT64_C(1700000000000));
        assert_int_equal(
            parse_text("m NaN\nn +Inf\no -Inf\np{v=\"x\",} 2\n", &s), CL_OK);
        assert_int_equal(s.n, 4);
        assert_string_equal(s.last_label, "x");
}

static void
promtext_rejects_bad_lines(void **state)
{
        static const struct {
                const char *text;
                const char *message;
        } cases[] = {
            {"m{v=\"a\\tb\"} 1\n", "line 1: invalid escape"},
            {"ok 1\nm{v=\"a\"} one\n", "line 2: invalid value"},
            {"m{v=\"a\"} 1 soon\n", "line 1: invalid timestamp"},
            {"m{v=\"a\"} 1 2 3\n", "line 1: text after the timestamp"},
            {"m{v=\"a\",v=\"b\"} 1\n", "line 1: label v repeated"},
            {"m{v=\"a\"} 1\nm{v=\"a\"} 2\n", "line 2: duplicate series"},
            {"m 1\n# TYPE m counter\n", "line 2: TYPE for m after"},
            {"# TYPE m counter\n# TYPE m gauge\n", "line 2: second TYPE"},
            {"# TYPE m meter\n", "line 1: unknown type"},
            {"m{v=\"a} 1\n", "line 1: unterminated label value"},
            {"9m 1\n", "line 1: invalid metric name"},
            {"m 0x10\n", "line 1: invalid value"},
            {"m 1\r\n", "line 1: carriage return"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct seen s;

                assert_int_equal(parse_text(cases[i].text, &s), CL_EFORMAT);
                if (strstr(cl_last_error(), cases[i].message) == NULL)
                        fail_msg("case %zu: '%s' lacks '%s'", i,
                                 cl_last_error(), cases[i].message);
        }
}

static void
read_fixture(const char *name, char **text, size_t *len)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", KEPLER, name);
        assert_int_equal(cl_read_file(path, 1 << 20, text, len), CL_OK);
}

static void
kepler_parse_keeps_one_zone(void **state)
{
        struct cl_kepler_reading r;
        size_t len;
        char *text;

        (void)state;
        read_fixture("metrics-1.txt", &text, &len);
        assert_int_equal(cl_kepler_parse(text, len, "package", 0, &r), CL_OK);
        assert_true(r.has_node);
        assert_true(r.node_uj == UINT64_C(10000000000));
        assert_true(r.has_idle);
        assert_true(r.idle_uj == UINT64_C(4000000000));
        assert_int_equal(r.n_pods, 3);
        assert_string_equal(r.pods[0].uid,
                            "0043435f-1854-4327-b76b-730f681a781d");
        assert_string_equal(r.pods[0].name, "report \"nightly\"");
        assert_true(r.pods[1].energy_uj == UINT64_C(1200000000));
        assert_string_equal(r.pods[1].namespace_, "shop");
        cl_kepler_reading_free(&r);
        assert_int_equal(cl_kepler_parse(text, len, "dram", 0, &r), CL_OK);
        assert_true(r.node_uj == UINT64_C(1234500000));
        assert_int_equal(r.n_pods, 1);
        cl_kepler_reading_free(&r);
        free(text);
}

static void
kepler_parse_rejects_fault_counter(void **state)
{
        struct cl_kepler_reading r;
        size_t len;
        char *text;

        (void)state;
        read_fixture("metrics-fault.txt", &text, &len);
        assert_int_equal(cl_kepler_parse(text, len, "package", 0, &r),
                         CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "line 18:"));
        assert_non_null(strstr(cl_last_error(), "fault"));
        free(text);
        /* One hour of uptime at 2 kW bounds every counter at 7.2 MJ. */
        read_fixture("metrics-1.txt", &text, &len);
        assert_int_equal(
            cl_kepler_parse(text, len, "package", 3600 * 2000.0, &r), CL_OK);
        cl_kepler_reading_free(&r);
        assert_int_equal(cl_kepler_parse(text, len, "package", 10 * 500.0, &r),
                         CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "since boot"));
        free(text);
}

static void
kepler_parse_rejects_two_pod_series(void **state)
{
        static const char text[] =
            "kepler_node_cpu_joules_total{zone=\"package\"} 10\n"
            "kepler_pod_cpu_joules_total{pod_id=\"2c9f8a79-5391-454b-88cb-"
            "86190881cb96\",state=\"running\",zone=\"package\"} 1\n"
            "kepler_pod_cpu_joules_total{pod_id=\"2C9F8A79-5391-454b-88cb-"
            "86190881cb96\",state=\"terminated\",zone=\"package\"} 1\n";
        struct cl_kepler_reading r;

        (void)state;
        assert_int_equal(cl_kepler_parse(text, strlen(text), "package", 0, &r),
                         CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "line 3: second"));
}

static void
kepler_parse_needs_node_counter(void **state)
{
        static const char text[] =
            "kepler_node_cpu_joules_total{zone=\"dram\"} 10\n";
        struct cl_kepler_reading r;

        (void)state;
        assert_int_equal(cl_kepler_parse(text, strlen(text), "package", 0, &r),
                         CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "no kepler_node_cpu_joules"));
        assert_non_null(strstr(cl_last_error(), "package"));
}

static void
kepler_parse_keeps_pod_state(void **state)
{
        static const char text[] =
            "kepler_node_cpu_joules_total{zone=\"package\"} 10\n"
            "kepler_pod_cpu_joules_total{pod_id=\"2c9f8a79-5391-454b-88cb-"
            "86190881cb96\",state=\"terminated\",zone=\"package\"} 2\n"
            "kepler_pod_cpu_joules_total{pod_id=\"7922aa99-d4aa-4885-a953-"
            "82976860b23a\",state=\"running\",zone=\"package\"} 3\n";
        struct cl_kepler_reading r;

        (void)state;
        assert_int_equal(cl_kepler_parse(text, strlen(text), "package", 0, &r),
                         CL_OK);
        assert_int_equal(r.n_pods, 2);
        assert_true(r.pods[0].terminated);
        assert_false(r.pods[1].terminated);
        cl_kepler_reading_free(&r);
}

static void
kepler_increase_between_readings(void **state)
{
        struct cl_kepler_reading a, b;
        uint64_t pod_uj[4];
        int known[4];
        struct cl_kepler_interval inc = {0, 0, pod_uj, known};
        size_t len;
        char *text;

        (void)state;
        read_fixture("metrics-1.txt", &text, &len);
        assert_int_equal(cl_kepler_parse(text, len, "package", 0, &a), CL_OK);
        free(text);
        read_fixture("metrics-2.txt", &text, &len);
        assert_int_equal(cl_kepler_parse(text, len, "package", 0, &b), CL_OK);
        free(text);
        assert_null(cl_kepler_increase(&a, &b, 10 * CL_NS_PER_S, 2000, &inc));
        assert_true(inc.node_uj == UINT64_C(500000000));
        assert_true(inc.idle_uj == UINT64_C(200000000));
        assert_true(pod_uj[1] == UINT64_C(150000000));
        assert_true(pod_uj[2] == UINT64_C(100000000));
        assert_true(pod_uj[0] == 0);
        assert_true(known[0]);
        /* 500 J in 0.1 s is 5 kW, above the 2 kW bound. */
        assert_non_null(
            cl_kepler_increase(&a, &b, CL_NS_PER_S / 10, 2000, &inc));
        /* The other way round the node counter went backwards. */
        assert_non_null(
            cl_kepler_increase(&b, &a, 10 * CL_NS_PER_S, 2000, &inc));
        cl_kepler_reading_free(&a);
        cl_kepler_reading_free(&b);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(promtext_accepts_escapes_and_specials),
            cmocka_unit_test(promtext_rejects_bad_lines),
            cmocka_unit_test(kepler_parse_keeps_one_zone),
            cmocka_unit_test(kepler_parse_rejects_fault_counter),
            cmocka_unit_test(kepler_parse_rejects_two_pod_series),
            cmocka_unit_test(kepler_parse_needs_node_counter),
            cmocka_unit_test(kepler_parse_keeps_pod_state),
            cmocka_unit_test(kepler_increase_between_readings),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
