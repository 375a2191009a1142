/*
 * Tests of common/timeutil.c: ISO 8601 parsing, KST days and formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "timeutil.h"

static void
iso8601_offsets(void **state)
{
        int64_t a, b, c;

        (void)state;
        assert_int_equal(cl_parse_iso8601("2025-10-22T17:00:00Z", &a), CL_OK);
        assert_int_equal(cl_parse_iso8601("2025-10-23T02:00:00+09:00", &b),
                         CL_OK);
        assert_int_equal(cl_parse_iso8601("2025-10-23T02:00+0900", &c), CL_OK);
        assert_int_equal(a, b);
        assert_int_equal(a, c);
        assert_int_equal(a, INT64_C(1761152400) * CL_NS_PER_S);
        assert_int_equal(cl_parse_iso8601("2025-10-22T17:00:00.25Z", &a),
                         CL_OK);
        assert_int_equal(a % CL_NS_PER_S, 250000000);
}

static void
iso8601_rejects(void **state)
{
        static const char *const bad[] = {
            "2025-10-22T17:00:00", "2025-13-01T00:00Z", "2025-02-29T00:00Z",
            "2025-10-22 25:00Z",   "yesterday",         "2025-10-22T17:00:00Zx",
        };
        int64_t t;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(cl_parse_iso8601(bad[i], &t), CL_EINVAL);
}

/* Energy at 17:00 UTC belongs to 02:00 KST of the next day. */
static void
kst_hour_of_utc(void **state)
{
        char buf[32];
        int64_t t;

        (void)state;
        assert_int_equal(cl_parse_iso8601("2025-10-22T17:00:00Z", &t), CL_OK);
        assert_string_equal(cl_format_kst(t, buf, sizeof(buf)),
                            "2025-10-23 02:00");
        assert_true(t >= cl_kst_day_start_ns(2025, 10, 23));
        assert_true(t < cl_kst_day_start_ns(2025, 10, 23) + CL_NS_PER_DAY);
        assert_string_equal(
            cl_format_utc(cl_kst_day_start_ns(2025, 10, 23), buf, sizeof(buf)),
            "2025-10-22T15:00:00Z");
}

static void
civil_round_trip(void **state)
{
        (void)state;
        for (int64_t d = -1000; d < 40000; d += 7) {
                int y, m, day;

                cl_civil_from_days(d, &y, &m, &day);
                assert_int_equal(cl_days_from_civil(y, m, day), d);
        }
}

static void
parse_date_checks_month(void **state)
{
        int y, m, d;

        (void)state;
        assert_int_equal(cl_parse_date("2024-02-29", &y, &m, &d), CL_OK);
        assert_int_equal(cl_parse_date("2025-02-29", &y, &m, &d), CL_EINVAL);
        assert_int_equal(cl_parse_date("2025-1-01", &y, &m, &d), CL_EINVAL);
        assert_int_equal(cl_parse_date("2025-01-011", &y, &m, &d), CL_EINVAL);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(iso8601_offsets),
            cmocka_unit_test(iso8601_rejects),
            cmocka_unit_test(kst_hour_of_utc),
            cmocka_unit_test(civil_round_trip),
            cmocka_unit_test(parse_date_checks_month),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
