/*
 * Tests of collector/sampler.c over a copy of the two-socket fixture and a
 * real SQLite file: baselines, restarts, and each reason for a gap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "db.h"
#include "helpers.h"
#include "sampler.h"

#include <string.h>

#define SEC INT64_C(1000000000)
#define T0 (INT64_C(1773100800) * SEC)

struct fixture {
        char dir[PATH_MAX];
        char db_path[PATH_MAX];
        char sys[PATH_MAX], proc[PATH_MAX], cgroup[PATH_MAX], logs[PATH_MAX];
        struct cl_sampler_config cfg;
        sqlite3 *db;
        struct cl_sampler *sampler;
};

static int
setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        test_make_tmpdir(f->dir, sizeof(f->dir));
        test_shell("cp -a '%s/fixtures/nodes/two-socket/.' '%s/'",
                   CL_SOURCE_DIR, f->dir);
        snprintf(f->db_path, sizeof(f->db_path), "%s/test.db", f->dir);
        snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
        snprintf(f->proc, sizeof(f->proc), "%s/proc", f->dir);
        snprintf(f->cgroup, sizeof(f->cgroup), "%s/sys/fs/cgroup", f->dir);
        snprintf(f->logs, sizeof(f->logs), "%s/var/log/pods", f->dir);
        f->cfg = (struct cl_sampler_config){
            .sysfs = f->sys,
            .procfs = f->proc,
            .cgroupfs = f->cgroup,
            .pod_logs = f->logs,
            .node_name = "node-t",
            .idle_watts = 50,
            .max_watts = 200,
            .zone_max_watts = 1000,
            .max_interval_s = 300,
        };
        assert_int_equal(cl_db_open(f->db_path, CL_DB_CREATE, &f->db), CL_OK);
        assert_int_equal(cl_sampler_open(&f->cfg, f->db, &f->sampler), CL_OK);
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fixture *f = *state;

        cl_sampler_close(f->sampler);
        cl_db_close(f->db);
        test_remove_tree(f->dir);
        free(f);
        return 0;
}

static void
reopen(struct fixture *f)
{
        cl_sampler_close(f->sampler);
        f->sampler = NULL;
        assert_int_equal(cl_sampler_open(&f->cfg, f->db, &f->sampler), CL_OK);
}

/* Adds joules to package-0, whose base value is 240422366267 uJ. */
static void
set_package0(struct fixture *f, uint64_t joules_since_start)
{
        char text[64];

        snprintf(text, sizeof(text), "%llu\n",
                 (unsigned long long)(240422366267ULL +
                                      joules_since_start * 1000000ULL));
        test_write(f->dir, "sys/class/powercap/intel-rapl:0/energy_uj", text);
}

static void
set_stat(struct fixture *f, unsigned total_extra, unsigned idle_extra)
{
        char text[128];

        snprintf(text, sizeof(text), "cpu  %u 0 5000 %u 1000 0 0 0 0 0\n",
                 10000 + total_extra - idle_extra, 80000 + idle_extra);
        test_write(f->dir, "proc/stat", text);
}

static int64_t
count(struct fixture *f, const char *sql)
{
        sqlite3_stmt *st;
        int64_t n = -1;

        assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL),
                         SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return n;
}

static void
first_sample_is_baseline(void **state)
{
        struct fixture *f = *state;
        struct cl_sample_summary s;

        assert_int_equal(cl_sampler_sample(f->sampler, T0, &s), CL_OK);
        assert_string_equal(s.status, "baseline");
        assert_string_equal(s.method, "measured");
        assert_int_equal(s.n_pods, 3);
        assert_int_equal(count(f, "SELECT count(*) FROM pod WHERE name IS "
                                  "NOT NULL"),
                         3);
        assert_int_equal(count(f, "SELECT count(*) FROM zone_sample"), 5);
}

static void
interval_after_restart_is_ok(void **state)
{
        struct fixture *f = *state;
        struct cl_sample_summary s;

        assert_int_equal(cl_sampler_sample(f->sampler, T0, &s), CL_OK);
        set_package0(f, 100);
        set_stat(f, 1000, 500);
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 10 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "ok");
        assert_true(s.energy_j == 100.0);
        /* A restart takes its base from the database. */
        reopen(f);
        set_package0(f, 150);
        set_stat(f, 2000, 1000);
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 20 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "ok");
        assert_true(s.energy_j == 50.0);
        assert_true(s.elapsed_s == 10.0);
        assert_int_equal(count(f, "SELECT sum(energy_uj) FROM sample"),
                         150000000);
        assert_int_equal(count(f, "SELECT count(*) FROM sample WHERE "
                                  "energy_uj != idle_uj + system_uj + "
                                  "pods_uj"),
                         0);
}

static void
other_boot_is_gap(void **state)
{
        struct fixture *f = *state;
        struct cl_sample_summary s;

        assert_int_equal(cl_sampler_sample(f->sampler, T0, &s), CL_OK);
        test_write(f->dir, "proc/sys/kernel/random/boot_id",
                   "00000000-1111-4222-8333-444444444444\n");
        set_package0(f, 10);
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 10 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "gap");
        assert_non_null(strstr(s.gap_reason, "boot"));
        assert_int_equal(count(f, "SELECT count(*) FROM sample WHERE status "
                                  "= 'gap' AND energy_uj IS NULL AND "
                                  "gap_reason IS NOT NULL"),
                         1);
        /* The next interval has a base again. */
        set_package0(f, 20);
        set_stat(f, 1000, 500);
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 20 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "ok");
        assert_true(s.energy_j == 10.0);
}

static void
stale_base_is_gap(void **state)
{
        struct fixture *f = *state;
        struct cl_sample_summary s;

        f->cfg.max_interval_s = 10000;
        reopen(f);
        assert_int_equal(cl_sampler_sample(f->sampler, T0, &s), CL_OK);
        set_package0(f, 10);
        /* 263 s x 1000 W exceeds the 262143 J counter range. */
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 263 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "gap");
        assert_non_null(strstr(s.gap_reason, "wrap"));
}

static void
long_interval_is_gap(void **state)
{
        struct fixture *f = *state;
        struct cl_sample_summary s;

        f->cfg.max_interval_s = 30;
        reopen(f);
        assert_int_equal(cl_sampler_sample(f->sampler, T0, &s), CL_OK);
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 31 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "gap");
        assert_non_null(strstr(s.gap_reason, "longer"));
}

static void
implausible_power_is_gap(void **state)
{
        struct fixture *f = *state;
        struct cl_sample_summary s;

        assert_int_equal(cl_sampler_sample(f->sampler, T0, &s), CL_OK);
        set_package0(f, 20000); /* 2000 W over 10 s */
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 10 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "gap");
        assert_non_null(strstr(s.gap_reason, "implausible"));
}

static void
malformed_stat_stores_nothing(void **state)
{
        struct fixture *f = *state;
        struct cl_sample_summary s;

        assert_int_equal(cl_sampler_sample(f->sampler, T0, &s), CL_OK);
        test_write(f->dir, "proc/stat", "cpu  1 2 three 4 5 6 7 8\n");
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 5 * SEC, &s),
                         CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "proc/stat"));
        assert_int_equal(count(f, "SELECT count(*) FROM sample"), 1);
        /* The stored baseline stays the base. */
        set_stat(f, 1000, 500);
        set_package0(f, 30);
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 10 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "ok");
        assert_true(s.energy_j == 30.0);
}

static void
malformed_cpu_stat_skips_pod(void **state)
{
        struct fixture *f = *state;
        struct cl_sample_summary s;

        test_write(f->dir,
                   "sys/fs/cgroup/kubepods.slice/"
                   "kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a.slice/"
                   "cpu.stat",
                   "usage_usec twelve\n");
        assert_int_equal(cl_sampler_sample(f->sampler, T0, &s), CL_OK);
        assert_int_equal(s.n_pods, 2);
}

/* Writes the cpu.stat of generated pod i (UID ending in i) with usage_us. */
static void
put_generated_pod(struct fixture *f, int i, uint64_t usage_us)
{
        char rel[PATH_MAX], text[128];

        snprintf(rel, sizeof(rel),
                 "sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/"
                 "kubepods-besteffort-pod00000000_0000_4000_8000_%012d.slice/"
                 "cpu.stat",
                 i);
        snprintf(text, sizeof(text), "usage_usec %llu\nuser_usec 0\n",
                 (unsigned long long)usage_us);
        test_write(f->dir, rel, text);
}

static void
many_pods_stored_in_chunks(void **state)
{
        /*
         * 85 generated pods and the fixture's 3 make 88 rows, stored by
         * the INSERT statements of 64, 16 and 4 rows and four of 1 row.
         */
        struct fixture *f = *state;
        struct cl_sample_summary s;

        for (int i = 1; i <= 85; i++)
                put_generated_pod(f, i, 1000 + (uint64_t)i);
        assert_int_equal(cl_sampler_sample(f->sampler, T0, &s), CL_OK);
        assert_int_equal(s.n_pods, 88);
        for (int i = 1; i <= 85; i++)
                put_generated_pod(f, i, 1000 + 11 * (uint64_t)i);
        set_stat(f, 100000, 0);
        set_package0(f, 30);
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 5 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "ok");
        assert_int_equal(s.n_pods, 88);
        assert_int_equal(count(f, "SELECT count(*) FROM pod_sample WHERE "
                                  "sample_id = (SELECT max(sample_id) FROM "
                                  "sample)"),
                         88);
        /* Each generated pod's row has its own delta of 10 x i us. */
        assert_int_equal(
            count(f, "SELECT count(*) FROM pod_sample s JOIN pod p USING "
                     "(pod_id) WHERE s.sample_id = (SELECT max(sample_id) "
                     "FROM sample) AND p.uid LIKE '00000000-0000-4000-8000-%' "
                     "AND s.cpu_us = 10 * CAST(substr(p.uid, 25) AS INTEGER) "
                     "AND s.cpu_usage_us = 1000 + 11 * CAST(substr(p.uid, 25) "
                     "AS INTEGER) AND s.energy_uj IS NOT NULL"),
            85);
        assert_int_equal(count(f, "SELECT sum(cpu_us) FROM pod_sample WHERE "
                                  "sample_id = (SELECT max(sample_id) FROM "
                                  "sample)"),
                         36550);
}

static void
no_rapl_uses_power_model(void **state)
{
        struct fixture *f = *state;
        struct cl_sample_summary s;

        test_shell("rm -rf '%s/sys/class/powercap'", f->dir);
        reopen(f);
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 100 * SEC, &s),
                         CL_OK);
        /* 8000 of 16000 ticks idle: busy 0.5, P = 50 + 150 x 0.5 = 125 W. */
        set_stat(f, 16000, 8000);
        assert_int_equal(cl_sampler_sample(f->sampler, T0 + 110 * SEC, &s),
                         CL_OK);
        assert_string_equal(s.status, "ok");
        assert_string_equal(s.method, "estimated");
        assert_true(s.energy_j == 1250.0);
        assert_true(s.idle_j == 625.0);
        assert_int_equal(count(f, "SELECT count(*) FROM sample WHERE method "
                                  "= 'estimated' AND model_idle_w = 50 AND "
                                  "model_max_w = 200"),
                         2);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(first_sample_is_baseline, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(interval_after_restart_is_ok, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(other_boot_is_gap, setup, teardown),
            cmocka_unit_test_setup_teardown(stale_base_is_gap, setup, teardown),
            cmocka_unit_test_setup_teardown(long_interval_is_gap, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(implausible_power_is_gap, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(malformed_stat_stores_nothing,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(malformed_cpu_stat_skips_pod, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(many_pods_stored_in_chunks, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(no_rapl_uses_power_model, setup,
                                            teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
