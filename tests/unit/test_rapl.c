/*
 * Tests of collector/rapl.c: the wrap vectors, the freshness rule and zone
 * discovery on fixture trees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"
#include "rapl.h"

#include <string.h>
#include <sys/wait.h>

#define TWO_SOCKET CL_SOURCE_DIR "/fixtures/nodes/two-socket"

static void
delta_vectors(void **state)
{
        static const struct {
                uint64_t cur, prev, max;
                int known;
                uint64_t delta;
        } cases[] = {
            {25, 20, 100, 1, 5},
            {10, 90, 100, 1, 20},
            {10, 20, 0, 0, 0},
            {2, 8, 10, 1, 4},
            {10, 100, 100, 1, 10},
            {0, 100, 100, 1, 0},
            {56671150, 262100000000, 262143328850, 1, 100000000},
            {101, 5, 100, 0, 0},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint64_t d = 12345;
                int rc = cl_rapl_delta(cases[i].cur, cases[i].prev,
                                       cases[i].max, &d);

                assert_int_equal(rc, cases[i].known ? 0 : -1);
                if (cases[i].known)
                        assert_int_equal(d, cases[i].delta);
        }
}

static void
fresh_base_limits(void **state)
{
        (void)state;
        /* 262143 J at 1000 W is reached after 262.1 s. */
        assert_true(cl_rapl_base_fresh(INT64_C(5) * 1000000000, 262143328850ULL,
                                       1000.0));
        assert_true(cl_rapl_base_fresh(INT64_C(262) * 1000000000,
                                       262143328850ULL, 1000.0));
        assert_false(cl_rapl_base_fresh(INT64_C(263) * 1000000000,
                                        262143328850ULL, 1000.0));
        /* AMD's 65.5 kJ range at 280 W wraps in about 234 s. */
        assert_false(cl_rapl_base_fresh(INT64_C(240) * 1000000000,
                                        65532610987ULL, 280.0));
        assert_false(cl_rapl_base_fresh(-1, 65532610987ULL, 280.0));
}

static const struct cl_rapl_zone *
zone_named(const struct cl_rapl *r, const char *path)
{
        for (size_t i = 0; i < r->n; i++)
                if (strcmp(r->zones[i].path, path) == 0)
                        return &r->zones[i];
        return NULL;
}

static void
discover_two_socket(void **state)
{
        const struct cl_rapl_zone *z;
        struct cl_rapl r;
        uint64_t e;

        (void)state;
        assert_int_equal(cl_rapl_discover(TWO_SOCKET "/sys", &r), CL_OK);
        assert_int_equal(r.n, 5);
        assert_int_equal(r.n_counted, 4);
        assert_null(zone_named(&r, "intel-rapl-mmio:0"));
        z = zone_named(&r, "intel-rapl:0:0");
        assert_non_null(z);
        assert_string_equal(z->name, "core");
        assert_false(z->counted);
        z = zone_named(&r, "intel-rapl:0");
        assert_non_null(z);
        assert_true(z->counted);
        assert_int_equal(z->max_range_uj, 262143328850ULL);
        assert_int_equal(cl_rapl_read(z, &e), CL_OK);
        assert_int_equal(e, 240422366267ULL);
        z = zone_named(&r, "intel-rapl:1:0");
        assert_non_null(z);
        assert_string_equal(z->name, "dram");
        assert_true(z->counted);
        cl_rapl_close(&r);
}

static void
make_zone(const char *root, const char *dir, const char *name,
          const char *energy, const char *range)
{
        char path[PATH_MAX], text[64];

        snprintf(path, sizeof(path), "class/powercap/%s/name", dir);
        snprintf(text, sizeof(text), "%s\n", name);
        test_write(root, path, text);
        snprintf(path, sizeof(path), "class/powercap/%s/energy_uj", dir);
        test_write(root, path, energy);
        if (range != NULL) {
                snprintf(path, sizeof(path),
                         "class/powercap/%s/max_energy_range_uj", dir);
                test_write(root, path, range);
        }
}

static void
discover_psys_only_counted(void **state)
{
        char dir[PATH_MAX];
        struct cl_rapl r;

        (void)state;
        test_make_tmpdir(dir, sizeof(dir));
        make_zone(dir, "intel-rapl:0", "package-0", "100\n", "1000\n");
        make_zone(dir, "intel-rapl:0:1", "dram", "100\n", "1000\n");
        make_zone(dir, "intel-rapl:1", "psys", "100\n", "1000\n");
        assert_int_equal(cl_rapl_discover(dir, &r), CL_OK);
        assert_int_equal(r.n, 3);
        assert_int_equal(r.n_counted, 1);
        assert_string_equal(zone_named(&r, "intel-rapl:1")->name, "psys");
        assert_true(zone_named(&r, "intel-rapl:1")->counted);
        assert_false(zone_named(&r, "intel-rapl:0")->counted);
        cl_rapl_close(&r);
        test_remove_tree(dir);
}

static void
discover_empty_powercap(void **state)
{
        char dir[PATH_MAX];
        struct cl_rapl r;

        (void)state;
        test_make_tmpdir(dir, sizeof(dir));
        test_shell("mkdir -p '%s/class/powercap/intel-rapl'", dir);
        assert_int_equal(cl_rapl_discover(dir, &r), CL_OK);
        assert_int_equal(r.n, 0);
        assert_int_equal(r.n_counted, 0);
        cl_rapl_close(&r);
        /* No powercap folder at all, as on most VMs. */
        assert_int_equal(cl_rapl_discover("/nonexistent-sysfs", &r), CL_OK);
        assert_int_equal(r.n, 0);
        test_remove_tree(dir);
}

static void
discover_skips_zone_without_range(void **state)
{
        char dir[PATH_MAX];
        struct cl_rapl r;

        (void)state;
        test_make_tmpdir(dir, sizeof(dir));
        make_zone(dir, "intel-rapl:0", "package-0", "100\n", "1000\n");
        make_zone(dir, "intel-rapl:1", "package-1", "100\n", NULL);
        make_zone(dir, "intel-rapl:2", "package-2", "100\n", "0\n");
        assert_int_equal(cl_rapl_discover(dir, &r), CL_OK);
        assert_int_equal(r.n, 1);
        assert_string_equal(r.zones[0].name, "package-0");
        cl_rapl_close(&r);
        test_remove_tree(dir);
}

static void
discover_skips_unreadable_zone(void **state)
{
        char dir[PATH_MAX];
        struct cl_rapl r;

        (void)state;
        test_make_tmpdir(dir, sizeof(dir));
        make_zone(dir, "intel-rapl:0", "package-0", "100\n", "1000\n");
        make_zone(dir, "intel-rapl:1", "package-1", "100\n", "1000\n");
        /* A folder in place of energy_uj opens but cannot be read. */
        test_shell("rm '%s/class/powercap/intel-rapl:1/energy_uj' && "
                   "mkdir '%s/class/powercap/intel-rapl:1/energy_uj'",
                   dir, dir);
        assert_int_equal(cl_rapl_discover(dir, &r), CL_OK);
        assert_int_equal(r.n, 1);
        assert_string_equal(r.zones[0].name, "package-0");
        cl_rapl_close(&r);
        test_remove_tree(dir);
}

/*
 * energy_uj is mode 0400 since Linux 5.10: a reader that is not root gets
 * EACCES. A child that drops to nobody sees the other zone only.
 */
static void
discover_eacces_as_non_root(void **state)
{
        char dir[PATH_MAX];
        int status;
        pid_t pid;

        (void)state;
        if (geteuid() != 0)
                skip();
        test_make_tmpdir(dir, sizeof(dir));
        make_zone(dir, "intel-rapl:0", "package-0", "100\n", "1000\n");
        make_zone(dir, "intel-rapl:1", "package-1", "100\n", "1000\n");
        test_shell("chmod 755 '%s' && chmod -R a+rX '%s' && "
                   "chmod 0400 '%s/class/powercap/intel-rapl:1/energy_uj'",
                   dir, dir, dir);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct cl_rapl r;

                if (setgid(65534) != 0 || setuid(65534) != 0)
                        _exit(90);
                if (cl_rapl_discover(dir, &r) != CL_OK)
                        _exit(91);
                _exit(r.n == 1 && strcmp(r.zones[0].name, "package-0") == 0
                          ? 0
                          : 92);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        test_remove_tree(dir);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(delta_vectors),
            cmocka_unit_test(fresh_base_limits),
            cmocka_unit_test(discover_two_socket),
            cmocka_unit_test(discover_psys_only_counted),
            cmocka_unit_test(discover_empty_powercap),
            cmocka_unit_test(discover_skips_zone_without_range),
            cmocka_unit_test(discover_skips_unreadable_zone),
            cmocka_unit_test(discover_eacces_as_non_root),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
