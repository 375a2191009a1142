/*
 * Tests of collector/procstat.c: the aggregate cpu line, guest time, and
 * malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"
#include "procstat.h"

#include <string.h>

static void
procstat_sums_eight_states(void **state)
{
        struct cl_cpu_times t;

        (void)state;
        assert_int_equal(cl_procstat_parse("cpu  1 2 3 4 5 6 7 8 900 1000\n"
                                           "cpu0 1 2 3 4 5 6 7 8 9 10\n",
                                           "stat", &t),
                         CL_OK);
        /* guest (900) and guest_nice (1000) are inside user and nice. */
        assert_int_equal(t.total, 36);
        assert_int_equal(t.idle, 9);
}

static void
procstat_finds_line_after_others(void **state)
{
        struct cl_cpu_times t;

        (void)state;
        assert_int_equal(
            cl_procstat_parse("intr 5\ncpu  10 0 10 70 10 0 0 0\n", "stat", &t),
            CL_OK);
        assert_int_equal(t.total, 100);
        assert_int_equal(t.idle, 80);
}

static void
procstat_rejects_malformed(void **state)
{
        static const char *const bad[] = {
            "",
            "cpu0 1 2 3 4 5 6 7 8\n",
            "cpu  1 2 3 4\n",
            "cpu  1 2 x 4 5 6 7 8\n",
            "cpu  1 2 3 4 5 6 7 -8\n",
            "cpu  1 2 3 4 5 6 7 8x 9\n",
            "cpu  99999999999999999999999 2 3 4 5 6 7 8\n",
        };
        struct cl_cpu_times t;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(cl_procstat_parse(bad[i], "/x/stat", &t),
                                 CL_EFORMAT);
                assert_non_null(strstr(cl_last_error(), "/x/stat"));
        }
}

static void
procstat_reads_fixture(void **state)
{
        struct cl_cpu_times t;
        char boot[40];

        (void)state;
        assert_int_equal(cl_procstat_read(CL_SOURCE_DIR
                                          "/fixtures/nodes/two-socket/proc",
                                          &t),
                         CL_OK);
        assert_int_equal(t.total, 96000);
        assert_int_equal(t.idle, 81000);
        assert_int_equal(cl_read_boot_id(CL_SOURCE_DIR
                                         "/fixtures/nodes/two-socket/proc",
                                         boot),
                         CL_OK);
        assert_string_equal(boot, "4f1e2a3b-5c6d-4e7f-8a9b-0c1d2e3f4a5b");
}

static void
procstat_missing_file(void **state)
{
        struct cl_cpu_times t;

        (void)state;
        assert_int_equal(cl_procstat_read("/nonexistent-proc", &t), CL_EIO);
        assert_non_null(strstr(cl_last_error(), "/nonexistent-proc/stat"));
        assert_non_null(strstr(cl_last_error(), "No such file"));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(procstat_sums_eight_states),
            cmocka_unit_test(procstat_finds_line_after_others),
            cmocka_unit_test(procstat_rejects_malformed),
            cmocka_unit_test(procstat_reads_fixture),
            cmocka_unit_test(procstat_missing_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
