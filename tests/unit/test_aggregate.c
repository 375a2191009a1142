/*
 * Tests of pipeline/aggregate.c through cl_build_day_model: an interval
 * that crosses KST midnight (15:00 UTC) is split pro rata between the two
 * days and their hours, and each day still balances exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "db.h"
#include "helpers.h"
#include "policy.h"
#include "rollup.h"
#include "run.h"
#include "sampler.h"
#include "timeutil.h"

#include <string.h>

#define TEMPLATES CL_SOURCE_DIR "/templates"

struct fixture {
        char dir[PATH_MAX];
        sqlite3 *db;
        struct cl_policy policy;
};

static void
sample_at(struct cl_sampler *s, const char *when)
{
        struct cl_sample_summary sum;
        int64_t t;

        assert_int_equal(cl_parse_iso8601(when, &t), CL_OK);
        assert_int_equal(cl_sampler_sample(s, t, &sum), CL_OK);
}

/*
 * Two readings 8 s apart that straddle KST midnight: 14:59:56Z and
 * 15:00:04Z. Package-0 rises 80 J; the other zones stay, so the interval's
 * node energy is 80 J.
 */
static int
setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct cl_sampler_config cfg;
        struct cl_sampler *s;
        char path[PATH_MAX];

        test_make_tmpdir(f->dir, sizeof(f->dir));
        test_shell("cp -a '%s/fixtures/nodes/two-socket/.' '%s/'",
                   CL_SOURCE_DIR, f->dir);
        snprintf(path, sizeof(path), "%s/t.db", f->dir);
        assert_int_equal(cl_db_open(path, CL_DB_CREATE, &f->db), CL_OK);
        memset(&cfg, 0, sizeof(cfg));
        {
                static char sys[PATH_MAX], proc[PATH_MAX], cg[PATH_MAX],
                    logs[PATH_MAX];

                snprintf(sys, sizeof(sys), "%s/sys", f->dir);
                snprintf(proc, sizeof(proc), "%s/proc", f->dir);
                snprintf(cg, sizeof(cg), "%s/sys/fs/cgroup", f->dir);
                snprintf(logs, sizeof(logs), "%s/var/log/pods", f->dir);
                cfg.sysfs = sys;
                cfg.procfs = proc;
                cfg.cgroupfs = cg;
                cfg.pod_logs = logs;
        }
        cfg.node_name = "n1";
        cfg.idle_watts = 50;
        cfg.max_watts = 200;
        cfg.zone_max_watts = 1000;
        cfg.max_interval_s = 300;
        assert_int_equal(cl_sampler_open(&cfg, f->db, &s), CL_OK);
        sample_at(s, "2026-03-10T14:59:56Z");
        /* 80 J of package-0 over 8 s; 40 CPU-s of which 20 idle, and the
           burstable pod (UID 2c9f8a79-...) takes 8 CPU-s: 16 J. */
        test_write(f->dir, "sys/class/powercap/intel-rapl:0/energy_uj",
                   "240502366267\n");
        test_write(f->dir, "proc/stat",
                   "cpu  12000 0 5000 82000 1000 0 0 0 500 0\n");
        test_write(f->dir,
                   "sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/"
                   "kubepods-burstable-pod2c9f8a79_5391_454b_88cb_"
                   "86190881cb96.slice/cpu.stat",
                   "usage_usec 9000000\n");
        sample_at(s, "2026-03-10T15:00:04Z");
        cl_sampler_close(s);
        assert_int_equal(cl_policy_load(TEMPLATES, NULL, &f->policy), CL_OK);
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fixture *f = *state;

        cl_policy_free(&f->policy);
        cl_db_close(f->db);
        test_remove_tree(f->dir);
        free(f);
        return 0;
}

static void
check_day(struct fixture *f, const char *date, size_t hour)
{
        struct cl_report_model m;
        int64_t pods = 0;

        assert_int_equal(
            cl_build_day_model(f->db, &f->policy, TEMPLATES, date, 1, &m),
            CL_OK);
        assert_int_equal(m.n_nodes, 1);
        /* Half of the 8 s interval lies in each day. */
        assert_int_equal(m.nodes[0].energy_uj, 40000000);
        assert_int_equal(m.nodes[0].idle_uj, 20000000);
        assert_int_equal(m.nodes[0].sampled_ns, INT64_C(4000000000));
        assert_int_equal(m.n_hours, 24);
        assert_int_equal(m.hours[hour].energy_uj, 40000000);
        for (size_t i = 0; i < m.n_workloads; i++)
                pods += m.workloads[i].energy_uj;
        assert_int_equal(pods, m.nodes[0].pods_uj);
        assert_int_equal(m.nodes[0].idle_uj + m.nodes[0].system_uj +
                             m.nodes[0].pods_uj,
                         m.nodes[0].energy_uj);
        for (size_t i = 0; i < m.n_workloads; i++)
                if (strcmp(m.workloads[i].pod_uid,
                           "2c9f8a79-5391-454b-88cb-86190881cb96") == 0) {
                        assert_int_equal(m.workloads[i].energy_uj, 8000000);
                        assert_true(m.workloads[i].run_s == 4.0);
                }
        cl_report_model_free(&m);
}

static void
midnight_interval_split_before(void **state)
{
        /* 14:59:56Z-15:00:00Z is 23:59:56-24:00 KST on 2026-03-10. */
        check_day(*state, "2026-03-10", 23);
}

static void
midnight_interval_split_after(void **state)
{
        /* 15:00:00Z-15:00:04Z is 00:00-00:00:04 KST on 2026-03-11. */
        check_day(*state, "2026-03-11", 0);
}

static void
month_rollup_fills_hours(void **state)
{
        struct fixture *f = *state;
        struct cl_report_model m;
        /* 23:00 KST on 2026-03-10, counted from 00:00 KST on 2026-03-01. */
        const size_t hour = 9 * 24 + 23;
        int64_t pods = 0;

        assert_int_equal(cl_rollup_day(f->db, cl_kst_day_start_ns(2026, 3, 10)),
                         CL_OK);
        assert_int_equal(cl_rollup_day(f->db, cl_kst_day_start_ns(2026, 3, 11)),
                         CL_OK);
        assert_int_equal(cl_rollup_month_model(f->db, &f->policy, TEMPLATES,
                                               "2026-03", 1, &m),
                         CL_OK);
        assert_int_equal(m.n_hours, 31 * 24);
        assert_int_equal(m.hours[hour].energy_uj, 40000000);
        assert_int_equal(m.hours[hour].sampled_ns, INT64_C(4000000000));
        assert_int_equal(m.hours[hour + 1].energy_uj, 40000000);
        assert_int_equal(m.hours[hour + 1].sampled_ns, INT64_C(4000000000));
        assert_int_equal(m.hours[hour + 2].sampled_ns, 0);
        assert_int_equal(m.n_nodes, 1);
        assert_non_null(m.nodes[0].hour_uj);
        assert_int_equal(m.nodes[0].hour_uj[hour], 40000000);
        assert_int_equal(m.nodes[0].hour_uj[hour + 1], 40000000);
        assert_true(m.n_workloads > 0);
        for (size_t i = 0; i < m.n_workloads; i++) {
                assert_non_null(m.workloads[i].hour_uj);
                assert_int_equal(m.workloads[i].hour_uj[hour] +
                                     m.workloads[i].hour_uj[hour + 1],
                                 m.workloads[i].energy_uj);
                pods += m.workloads[i].energy_uj;
        }
        assert_int_equal(pods, m.nodes[0].pods_uj);
        cl_report_model_free(&m);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(midnight_interval_split_before,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(midnight_interval_split_after,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(month_rollup_fills_hours, setup,
                                            teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
