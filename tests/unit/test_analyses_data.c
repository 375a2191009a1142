/*
 * Tests of the analyses over a small database built here with SQL: one
 * node sampled every hour, 100 W of node energy of which the pods draw
 * 67 W and idle 20 W, so system is 13 W:
 *
 *   web/nginx-light-7d9c8b5f4-x2x7k   30 W  Deployment nginx-light
 *   web/nginx-light-7d9c8b5f4-q8w9z   10 W
 *   data/db-0                         20 W  StatefulSet db
 *   batch/backup-29012345-bcd2f        5 W  CronJob backup
 *   kube-system/fluentd-x7k2p          2 W  DaemonSet or Job fluentd
 *
 * 2026-03-10 (KST) is a full day at these powers. 2026-03-01 to 03-07
 * scale them by 1.0, 1.1, 1.2, (no samples), 1.4, 1.5 and 3.0 for the
 * trend. The policy budgets namespace web at 10 gCO2eq/h: at the 2026
 * factor of 433 gCO2eq/kWh, 30 W emits 12.99 g/h (over budget) and 10 W
 * 4.33 g/h (within).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyses.h"
#include "analyses_report.h"
#include "db.h"
#include "helpers.h"
#include "policy.h"
#include "timeutil.h"

#include <math.h>
#include <string.h>

#define TEMPLATES CL_SOURCE_DIR "/templates"
#define UJ_PER_WH (INT64_C(3600) * 1000000)
#define DAY_S 86400.0

struct pod_def {
        const char *uid, *ns, *name;
        int watts;
};

static const struct pod_def pods[] = {
    {"u-1", "web", "nginx-light-7d9c8b5f4-x2x7k", 30},
    {"u-2", "web", "nginx-light-7d9c8b5f4-q8w9z", 10},
    {"u-3", "data", "db-0", 20},
    {"u-4", "batch", "backup-29012345-bcd2f", 5},
    {"u-5", "kube-system", "fluentd-x7k2p", 2},
};
#define N_PODS (sizeof(pods) / sizeof(pods[0]))

struct fixture {
        char dir[PATH_MAX];
        char db_path[PATH_MAX];
        char templates[PATH_MAX];
        sqlite3 *db;
        struct cl_policy policy;
        struct cl_analysis_env env;
};

static void
exec_sql(sqlite3 *db, const char *sql)
{
        char *err = NULL;

        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql, err);
}

/* One hour of samples at scale x the pods' powers. */
static void
insert_hour(sqlite3 *db, int64_t start, double scale)
{
        int64_t end = start + CL_NS_PER_HOUR, pods_uj = 0, sample_id;
        int64_t energy = (int64_t)(100 * UJ_PER_WH * scale);
        int64_t idle = (int64_t)(20 * UJ_PER_WH * scale);
        char sql[1024];

        for (size_t i = 0; i < N_PODS; i++)
                pods_uj += (int64_t)(pods[i].watts * UJ_PER_WH * scale);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO sample (node_id, boot_id, start_ns, end_ns, "
                 "status, method, cpu_total_ticks, cpu_idle_ticks, "
                 "clock_ticks_hz, cpu_total_us, cpu_idle_us, pods_cpu_us, "
                 "energy_uj, idle_uj, system_uj, pods_uj) VALUES (1, 'b', "
                 "%lld, %lld, 'ok', 'measured', 0, 0, 100, 3600000000, "
                 "720000000, 2412000000, %lld, %lld, %lld, %lld)",
                 (long long)start, (long long)end, (long long)energy,
                 (long long)idle, (long long)(energy - idle - pods_uj),
                 (long long)pods_uj);
        exec_sql(db, sql);
        sample_id = sqlite3_last_insert_rowid(db);
        for (size_t i = 0; i < N_PODS; i++) {
                snprintf(sql, sizeof(sql),
                         "INSERT INTO pod_sample VALUES (%lld, %zu, 0, "
                         "36000000, %lld)",
                         (long long)sample_id, i + 1,
                         (long long)(pods[i].watts * UJ_PER_WH * scale));
                exec_sql(db, sql);
        }
}

static void
insert_day(sqlite3 *db, int y, int m, int d, double scale)
{
        int64_t start = cl_kst_day_start_ns(y, m, d);

        for (int h = 0; h < 24; h++)
                insert_hour(db, start + h * CL_NS_PER_HOUR, scale);
}

static const char regions_json[] =
    "{\"sources\": {\"t\": \"test values\"}, \"regions\": ["
    "{\"code\": \"KR\", \"name\": \"Korea\", \"g_per_kwh\": 500, "
    "\"intensity_source\": \"t\", \"pue\": 1.5, \"pue_source\": \"t\"},"
    "{\"code\": \"XX\", \"name\": \"Test\", \"g_per_kwh\": 400, "
    "\"intensity_source\": \"t\", \"pue\": 1.2, \"pue_source\": \"t\"}]}\n";

static int
setup(void **state)
{
        static const double trend[7] = {1.0, 1.1, 1.2, 0, 1.4, 1.5, 3.0};
        struct fixture *f = calloc(1, sizeof(*f));
        char sql[512];

        test_make_tmpdir(f->dir, sizeof(f->dir));
        snprintf(f->db_path, sizeof(f->db_path), "%s/t.db", f->dir);
        snprintf(f->templates, sizeof(f->templates), "%s/templates", f->dir);
        test_shell("cp -r '%s' '%s'", TEMPLATES, f->templates);
        test_write(f->templates, "regions.json", regions_json);
        test_write(f->dir, "policy.json",
                   "{\"budgets_g_per_hour\": {\"namespaces\": "
                   "{\"web\": 10}}}\n");
        assert_int_equal(cl_db_open(f->db_path, CL_DB_CREATE, &f->db), CL_OK);
        exec_sql(f->db, "INSERT INTO node (node_id, name) VALUES (1, "
                        "'node-a')");
        for (size_t i = 0; i < N_PODS; i++) {
                snprintf(sql, sizeof(sql),
                         "INSERT INTO pod VALUES (%zu, 1, '%s', '%s', '%s')",
                         i + 1, pods[i].uid, pods[i].ns, pods[i].name);
                exec_sql(f->db, sql);
        }
        exec_sql(f->db, "BEGIN");
        insert_day(f->db, 2026, 3, 10, 1.0);
        for (int d = 0; d < 7; d++)
                if (trend[d] > 0)
                        insert_day(f->db, 2026, 3, 1 + d, trend[d]);
        exec_sql(f->db, "COMMIT");
        snprintf(sql, sizeof(sql), "%s/policy.json", f->dir);
        assert_int_equal(cl_policy_load(f->templates, sql, &f->policy), CL_OK);
        f->env.db = f->db;
        f->env.db_path = f->db_path;
        f->env.policy = &f->policy;
        f->env.template_dir = f->templates;
        f->env.now_ns = cl_kst_day_start_ns(2026, 3, 11);
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

/* Runs name with args given as JSON text; *out is NULL on failure. */
static cl_err
run(struct fixture *f, const char *name, const char *args_text,
    json_object **out)
{
        const struct cl_analysis *a = cl_analysis_find(name);
        json_object *args = json_tokener_parse(args_text);
        cl_err rc;

        assert_non_null(a);
        assert_non_null(args);
        rc = cl_analysis_run(&f->env, a, args, out);
        json_object_put(args);
        if (rc != CL_OK)
                assert_null(*out);
        return rc;
}

/* Returns the value at a dotted path; array items by index. */
static json_object *
at(json_object *o, const char *path)
{
        char key[128];

        while (*path != '\0') {
                size_t n = strcspn(path, ".");

                assert_true(n < sizeof(key));
                memcpy(key, path, n);
                key[n] = '\0';
                if (json_object_is_type(o, json_type_array)) {
                        o = json_object_array_get_idx(o, (size_t)atoi(key));
                } else if (!json_object_object_get_ex(o, key, &o)) {
                        fail_msg("no %s in %s", key, path);
                }
                assert_non_null(o);
                path += n;
                if (*path == '.')
                        path++;
        }
        return o;
}

static double
num(json_object *o, const char *path)
{
        return json_object_get_double(at(o, path));
}

static const char *
str(json_object *o, const char *path)
{
        return json_object_get_string(at(o, path));
}

#define assert_near(a, b) assert_true(fabs((a) - (b)) < 1e-6 * (1 + fabs(b)))

static void
assess_workload_over_budget(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "assess_workload_compliance",
                             "{\"date\": \"2026-03-10\", \"workload\": "
                             "\"nginx-light\"}",
                             &r),
                         CL_OK);
        assert_string_equal(str(r, "status"), "NON_COMPLIANT");
        assert_string_equal(str(r, "workload.kind"), "Deployment");
        assert_string_equal(str(r, "workload.kind_from"), "name_pattern");
        assert_int_equal(json_object_array_length(at(r, "workload.pods")), 2);
        assert_near(num(r, "figures.energy_j"), 40 * DAY_S);
        assert_near(num(r, "figures.mean_power_w"), 40.0);
        assert_near(num(r, "figures.peak_power_w"), 30.0);
        assert_near(num(r, "figures.emissions_g"), 0.96 * 433.0);
        assert_string_equal(str(r, "figures.energy_method"), "attributed");
        assert_string_equal(str(r, "period.start"), "2026-03-09T15:00:00Z");
        assert_true(json_object_array_length(at(r, "recommendations")) > 0);
        assert_non_null(strstr(str(r, "recommendations.0"), "budget"));
        json_object_put(r);
}

static void
assess_pod_without_budget(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "assess_workload_compliance",
                             "{\"date\": \"2026-03-10\", \"pod\": \"db-0\"}",
                             &r),
                         CL_OK);
        assert_string_equal(str(r, "status"), "NOT_ASSESSED");
        assert_string_equal(str(r, "workload.kind"), "StatefulSet");
        assert_string_equal(str(r, "workload.workload"), "db");
        assert_near(num(r, "figures.energy_j"), 20 * DAY_S);
        assert_string_equal(str(r, "checks.0.checks.2.check"),
                            "emissions_rate");
        json_object_put(r);
}

static void
assess_rejects_bad_selection(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "assess_workload_compliance",
                             "{\"date\": \"2026-03-10\", \"workload\": "
                             "\"nope\"}",
                             &r),
                         CL_ENOTFOUND);
        assert_non_null(strstr(cl_last_error(), "workload 'nope'"));
        assert_int_equal(run(f, "assess_workload_compliance",
                             "{\"date\": \"2026-03-10\"}", &r),
                         CL_EINVAL);
        assert_int_equal(run(f, "assess_workload_compliance",
                             "{\"date\": \"2026-01-01\", \"pod\": \"db-0\"}",
                             &r),
                         CL_ENOTFOUND);
        assert_non_null(strstr(cl_last_error(), "no samples"));
        assert_int_equal(run(f, "assess_workload_compliance",
                             "{\"date\": \"2026-02-30\", \"pod\": \"db-0\"}",
                             &r),
                         CL_EINVAL);
}

static void
list_groups_by_status(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "list_workloads_by_compliance",
                             "{\"date\": \"2026-03-10\", \"sort_by\": "
                             "\"power\"}",
                             &r),
                         CL_OK);
        assert_int_equal(json_object_get_int(at(r, "counts.NON_COMPLIANT")), 1);
        assert_int_equal(json_object_get_int(at(r, "counts.NOT_ASSESSED")), 3);
        assert_int_equal(json_object_get_int(at(r, "counts.COMPLIANT")), 0);
        assert_string_equal(
            str(r, "workloads_by_status.NON_COMPLIANT.0.workload"),
            "nginx-light");
        assert_string_equal(
            str(r, "workloads_by_status.NOT_ASSESSED.0.workload"), "db");
        assert_string_equal(str(r, "workloads_by_status.NOT_ASSESSED.2.kind"),
                            "DaemonSet|Job");
        json_object_put(r);
}

static void
list_unknown_namespace_fails(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "list_workloads_by_compliance",
                             "{\"date\": \"2026-03-10\", \"namespace\": "
                             "\"shop\"}",
                             &r),
                         CL_ENOTFOUND);
        assert_non_null(strstr(cl_last_error(), "namespace 'shop'"));
        assert_int_equal(run(f, "list_workloads_by_compliance",
                             "{\"date\": \"2026-03-10\", \"sort_by\": "
                             "\"size\"}",
                             &r),
                         CL_EINVAL);
}

static void
compare_composes_three_effects(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;
        double before;

        /* Declared PUE 1.5 to 1.275 removes 15 %; KR 500 to XX 400 20 %. */
        assert_int_equal(run(f, "compare_optimization_impact",
                             "{\"date\": \"2026-03-10\", \"workload\": "
                             "\"nginx-light\", \"rightsizing_percent\": 10, "
                             "\"pue\": 1.275, \"region\": \"XX\"}",
                             &r),
                         CL_OK);
        before = num(r, "before.facility_emissions_g");
        assert_near(before, 0.96 * 433.0 * 1.5);
        assert_int_equal(json_object_array_length(at(r, "effects")), 3);
        assert_near(num(r, "effects.0.reduction_percent"), 10.0);
        assert_near(num(r, "effects.1.reduction_percent"), 20.0);
        assert_near(num(r, "effects.2.reduction_percent"), 15.0);
        assert_near(num(r, "combined.reduction_percent"), 38.8);
        assert_near(num(r, "combined.facility_emissions_after_g"),
                    before * 0.612);
        assert_near(num(r, "combined.sum_of_single_effects_percent"), 45.0);
        json_object_put(r);
}

static void
compare_rejects_bad_effects(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "compare_optimization_impact",
                             "{\"date\": \"2026-03-10\"}", &r),
                         CL_EINVAL);
        assert_int_equal(run(f, "compare_optimization_impact",
                             "{\"date\": \"2026-03-10\", "
                             "\"rightsizing_percent\": 150}",
                             &r),
                         CL_EINVAL);
        assert_int_equal(run(f, "compare_optimization_impact",
                             "{\"date\": \"2026-03-10\", \"pue\": 0.9}", &r),
                         CL_EINVAL);
        assert_int_equal(run(f, "compare_optimization_impact",
                             "{\"date\": \"2026-03-10\", \"region\": "
                             "\"ZZ\"}",
                             &r),
                         CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "unknown region 'ZZ'"));
}

static void
compare_shift_uses_profile(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        /* db-0 ran all 24 hours, so the best window is the whole day
           and moving it saves nothing. */
        assert_int_equal(
            run(f, "compare_optimization_impact",
                "{\"date\": \"2026-03-10\", \"pod\": \"db-0\", "
                "\"shift_to_best_window\": true, \"profile\": [400, 400, "
                "300, 300, 400, 400, 400, 400, 400, 400, 400, 400, 400, "
                "400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400]}",
                &r),
            CL_OK);
        assert_string_equal(str(r, "effects.0.effect"), "shift_to_best_window");
        assert_near(num(r, "effects.0.reduction_percent"), 0.0);
        json_object_put(r);

        /* Over 00:00-02:00 it met 400 gCO2eq/kWh; 02:00-04:00 has 300. */
        assert_int_equal(
            run(f, "compare_optimization_impact",
                "{\"from\": \"2026-03-10T00:00+09:00\", \"to\": "
                "\"2026-03-10T02:00+09:00\", \"pod\": \"db-0\", "
                "\"shift_to_best_window\": true, \"profile\": [400, 400, "
                "300, 300, 400, 400, 400, 400, 400, 400, 400, 400, 400, "
                "400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400]}",
                &r),
            CL_OK);
        assert_near(num(r, "effects.0.reduction_percent"), 25.0);
        assert_non_null(strstr(str(r, "effects.0.parameter"), "2-hour"));
        json_object_put(r);
}

static void
regional_ranks_lowest_first(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;
        double kwh = 40 * DAY_S / 3.6e6;

        assert_int_equal(run(f, "get_regional_comparison",
                             "{\"date\": \"2026-03-10\", \"workload\": "
                             "\"nginx-light\"}",
                             &r),
                         CL_OK);
        assert_string_equal(str(r, "regions.0.region"), "XX");
        assert_near(num(r, "regions.0.facility_emissions_g"), kwh * 400 * 1.2);
        assert_near(num(r, "regions.1.facility_emissions_g"), kwh * 500 * 1.5);
        assert_near(num(r, "regions.0.change_percent"), -36.0);
        assert_string_equal(str(r, "regions.0.pue_source"), "test values");
        json_object_put(r);
        assert_int_equal(run(f, "get_regional_comparison",
                             "{\"date\": \"2026-03-10\", "
                             "\"current_region\": \"ZZ\"}",
                             &r),
                         CL_EINVAL);
}

static void
hotspots_rank_by_power(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "get_power_hotspots",
                             "{\"date\": \"2026-03-10\", \"top_n\": 2}", &r),
                         CL_OK);
        assert_int_equal(json_object_array_length(at(r, "hotspots")), 2);
        assert_string_equal(str(r, "hotspots.0.workload"), "nginx-light");
        assert_near(num(r, "hotspots.0.share_of_node_energy"), 0.4);
        assert_string_equal(str(r, "hotspots.1.workload"), "db");
        assert_non_null(strstr(str(r, "hotspots.0.reason"), "rank 1"));
        json_object_put(r);
        assert_int_equal(run(f, "get_power_hotspots",
                             "{\"date\": \"2026-03-10\", \"threshold_w\": "
                             "4.5}",
                             &r),
                         CL_OK);
        assert_int_equal(json_object_get_int(at(r, "listed")), 3);
        json_object_put(r);
}

static void
hotspots_reject_bad_threshold(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "get_power_hotspots",
                             "{\"date\": \"2026-03-10\", \"threshold_w\": "
                             "\"abc\"}",
                             &r),
                         CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "must be a number"));
        assert_int_equal(run(f, "get_power_hotspots",
                             "{\"date\": \"2026-03-10\", \"threshold_w\": "
                             "-1}",
                             &r),
                         CL_EINVAL);
        assert_int_equal(run(f, "get_power_hotspots",
                             "{\"date\": \"2026-03-10\", \"top_n\": 0}", &r),
                         CL_EINVAL);
        assert_int_equal(run(f, "get_power_hotspots",
                             "{\"date\": \"2026-03-10\", \"colour\": 1}", &r),
                         CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "unknown argument"));
}

static void
trend_fits_and_flags_outlier(void **state)
{
        struct fixture *f = *state;
        const double day_j = 100 * DAY_S;
        json_object *r = NULL;

        assert_int_equal(run(f, "analyze_workload_power_trend",
                             "{\"date\": \"2026-03-07\", \"days\": 7}", &r),
                         CL_OK);
        assert_int_equal(json_object_array_length(at(r, "days")), 7);
        assert_near(num(r, "days.0.energy_j"), day_j);
        assert_true(json_object_is_type(at(r, "days.3"), json_type_object));
        assert_null(json_object_object_get(at(r, "days.3"), "energy_j"));
        assert_non_null(strstr(str(r, "days.3.gap"), "no samples"));
        assert_int_equal(json_object_get_int(at(r, "trend.gap_days")), 1);
        /* x = 0 1 2 4 5 6, y = 1.0 1.1 1.2 1.4 1.5 3.0 days: 0.25/day. */
        assert_near(num(r, "trend.slope_j_per_day"), 0.25 * day_j);
        assert_near(num(r, "trend.slope_j_per_week"), 1.75 * day_j);
        assert_true(json_object_get_boolean(at(r, "days.6.outlier")));
        assert_false(json_object_get_boolean(at(r, "days.5.outlier")));
        json_object_put(r);
}

static void
trend_of_one_workload(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "analyze_workload_power_trend",
                             "{\"date\": \"2026-03-07\", \"days\": 7, "
                             "\"workload\": \"nginx-light\"}",
                             &r),
                         CL_OK);
        assert_near(num(r, "days.1.energy_j"), 40 * DAY_S * 1.1);
        json_object_put(r);
        assert_int_equal(run(f, "analyze_workload_power_trend",
                             "{\"date\": \"2026-03-07\", \"workload\": "
                             "\"nope\"}",
                             &r),
                         CL_ENOTFOUND);
        assert_int_equal(run(f, "analyze_workload_power_trend",
                             "{\"date\": \"2026-03-07\", \"days\": 1}", &r),
                         CL_EINVAL);
}

static void
summary_totals_and_shares(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "get_cluster_carbon_summary",
                             "{\"date\": \"2026-03-10\"}", &r),
                         CL_OK);
        assert_near(num(r, "cluster.energy_j"), 100 * DAY_S);
        assert_near(num(r, "cluster.idle_energy_j"), 20 * DAY_S);
        assert_near(num(r, "cluster.system_energy_j"), 13 * DAY_S);
        assert_near(num(r, "cluster.measured_share"), 1.0);
        assert_near(num(r, "namespaces.web.energy_j"), 40 * DAY_S);
        assert_int_equal(json_object_get_int(at(r, "namespaces.web.pods")), 2);
        assert_string_equal(str(r, "top_consumers.0.workload"), "nginx-light");
        assert_near(num(r, "coverage.min_node_coverage"), 1.0);
        assert_string_equal(str(r, "nodes.0.energy_method"), "measured");
        json_object_put(r);
}

static void
summary_of_empty_period_fails(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "get_cluster_carbon_summary",
                             "{\"date\": \"2026-03-04\"}", &r),
                         CL_ENOTFOUND);
        assert_int_equal(run(f, "get_cluster_carbon_summary",
                             "{\"from\": \"2026-03-10T00:00+09:00\"}", &r),
                         CL_EINVAL);
}

static void
result_names_period_and_inputs(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "get_cluster_carbon_summary",
                             "{\"from\": \"2026-03-10T06:00+09:00\", \"to\": "
                             "\"2026-03-10T12:00+09:00\"}",
                             &r),
                         CL_OK);
        assert_string_equal(str(r, "period.start_kst"), "2026-03-10 06:00");
        assert_string_equal(str(r, "inputs.database"), f->db_path);
        assert_string_equal(str(r, "inputs.workload_grouping.method"),
                            "pod name patterns (no kubelet pod list given)");
        assert_near(num(r, "cluster.energy_j"), 100 * 6 * 3600.0);
        assert_non_null(at(r, "units"));
        json_object_put(r);
}

static void
compare_rejects_pue_above_current(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        /* The declared PUE of the period is 1.5. */
        assert_int_equal(run(f, "compare_optimization_impact",
                             "{\"date\": \"2026-03-10\", \"pue\": 2}", &r),
                         CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "above the period's PUE"));
        assert_int_equal(run(f, "compare_optimization_impact",
                             "{\"date\": \"2026-03-10\", \"pue\": 1.5}", &r),
                         CL_OK);
        assert_near(num(r, "effects.0.reduction_percent"), 0.0);
        json_object_put(r);
}

static void
list_counts_pods_per_status(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        assert_int_equal(run(f, "list_workloads_by_compliance",
                             "{\"date\": \"2026-03-10\"}", &r),
                         CL_OK);
        assert_int_equal(json_object_get_int(at(r, "workloads")), 4);
        assert_int_equal(json_object_get_int(at(r, "pods")), 5);
        assert_int_equal(json_object_get_int(at(r, "pod_counts.NON_COMPLIANT")),
                         2);
        assert_int_equal(json_object_get_int(at(r, "pod_counts.NOT_ASSESSED")),
                         3);
        assert_non_null(strstr(str(r, "counted"), "count once"));
        json_object_put(r);
}

static void
summary_methods_official_basis(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        /* Measured energy, the declared GIR factor and a declared PUE. */
        assert_int_equal(run(f, "get_cluster_carbon_summary",
                             "{\"date\": \"2026-03-10\"}", &r),
                         CL_OK);
        assert_string_equal(str(r, "cluster.energy_method"), "measured");
        assert_string_equal(str(r, "cluster.factor_basis"), "official factor");
        assert_string_equal(str(r, "cluster.emissions_method"), "declared");
        assert_string_equal(str(r, "cluster.facility_emissions_method"),
                            "declared");
        assert_string_equal(str(r, "nodes.0.emissions_method"), "declared");
        assert_string_equal(str(r, "top_consumers.0.method"), "attributed");
        assert_string_equal(str(r, "top_consumers.0.emissions_method"),
                            "declared");
        json_object_put(r);
}

static const struct cl_analysis_row *
find_row(const struct cl_analyses_report *a, const char *analysis,
         const char *item_prefix)
{
        for (size_t i = 0; i < a->n_sections; i++) {
                const struct cl_analysis_section *s = &a->sections[i];

                if (strcmp(s->analysis, analysis) != 0)
                        continue;
                for (size_t k = 0; k < s->n_rows; k++)
                        if (strncmp(s->rows[k].item, item_prefix,
                                    strlen(item_prefix)) == 0)
                                return &s->rows[k];
        }
        fail_msg("no row '%s' in %s", item_prefix, analysis);
        return NULL;
}

/* Switches f to the hourly basis with 12 of the day's 24 hours stored as
   measured consumption-side values; the other hours fall back. */
static void
use_hourly_basis(struct fixture *f)
{
        char sql[512], path[PATH_MAX + 16];
        int64_t start = cl_kst_day_start_ns(2026, 3, 10);

        test_write(f->dir, "hourly.json",
                   "{\"budgets_g_per_hour\": {\"namespaces\": "
                   "{\"web\": 10}}, \"accounting\": {\"basis\": "
                   "\"hourly\", \"hourly_source\": \"electricitymaps\", "
                   "\"zone\": \"KR\"}}\n");
        for (int h = 0; h < 12; h++) {
                snprintf(sql, sizeof(sql),
                         "INSERT INTO intensity_hour (zone, hour_ns, source, "
                         "g_per_kwh, basis, factor_set, quality, fetched_ns, "
                         "response_sha256) VALUES ('KR', %lld, "
                         "'electricitymaps', 400, 'consumption', 'test', "
                         "'measured', 0, '')",
                         (long long)(start + h * CL_NS_PER_HOUR));
                exec_sql(f->db, sql);
        }
        cl_policy_free(&f->policy);
        snprintf(path, sizeof(path), "%s/hourly.json", f->dir);
        assert_int_equal(cl_policy_load(f->templates, path, &f->policy), CL_OK);
}

static void
summary_methods_hourly_basis(void **state)
{
        struct fixture *f = *state;
        json_object *r = NULL;

        use_hourly_basis(f);
        assert_int_equal(run(f, "get_cluster_carbon_summary",
                             "{\"date\": \"2026-03-10\"}", &r),
                         CL_OK);
        assert_string_equal(str(r, "cluster.factor_basis"), "hourly intensity");
        assert_string_equal(str(r, "cluster.factor_method"), "mixed");
        assert_string_equal(str(r, "cluster.emissions_method"), "mixed");
        assert_string_equal(str(r, "cluster.facility_emissions_method"),
                            "declared");
        json_object_put(r);
}

static void
report_rows_name_methods_honestly(void **state)
{
        struct fixture *f = *state;
        struct cl_analyses_report *a = NULL;
        const struct cl_analysis_row *row;

        use_hourly_basis(f);
        assert_int_equal(cl_analyses_report_build(&f->env, "2026-03-10", &a),
                         CL_OK);
        assert_non_null(a);
        row = find_row(a, "get_cluster_carbon_summary", "emissions (");
        assert_string_equal(row->item, "emissions (IT energy x hourly "
                                       "intensity)");
        assert_string_equal(row->method, "mixed");
        assert_null(strstr(row->item, "declared factor"));
        row = find_row(a, "get_cluster_carbon_summary", "pods energy");
        assert_string_equal(row->unit, "kWh");
        row = find_row(a, "compare_optimization_impact",
                       "facility emissions now");
        assert_string_equal(row->method, "declared");
        row = find_row(a, "list_workloads_by_compliance", "counted");
        assert_non_null(strstr(row->text, "4 workloads containing 5 pods"));
        row = find_row(a, "list_workloads_by_compliance", "NOT_ASSESSED");
        assert_string_equal(row->item,
                            "NOT_ASSESSED (grouped workloads, 3 pods)");
        assert_near(row->number, 3.0);
        cl_analyses_report_free(a);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(assess_workload_over_budget),
            cmocka_unit_test(assess_pod_without_budget),
            cmocka_unit_test(assess_rejects_bad_selection),
            cmocka_unit_test(list_groups_by_status),
            cmocka_unit_test(list_unknown_namespace_fails),
            cmocka_unit_test(compare_composes_three_effects),
            cmocka_unit_test(compare_rejects_bad_effects),
            cmocka_unit_test(compare_shift_uses_profile),
            cmocka_unit_test(regional_ranks_lowest_first),
            cmocka_unit_test(hotspots_rank_by_power),
            cmocka_unit_test(hotspots_reject_bad_threshold),
            cmocka_unit_test(trend_fits_and_flags_outlier),
            cmocka_unit_test(trend_of_one_workload),
            cmocka_unit_test(summary_totals_and_shares),
            cmocka_unit_test(summary_of_empty_period_fails),
            cmocka_unit_test(result_names_period_and_inputs),
            cmocka_unit_test(compare_rejects_pue_above_current),
            cmocka_unit_test(list_counts_pods_per_status),
            cmocka_unit_test(summary_methods_official_basis),
            /* These change the policy and the stored hours, so each gets
               a fixture of its own. */
            cmocka_unit_test_setup_teardown(summary_methods_hourly_basis, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(report_rows_name_methods_honestly,
                                            setup, teardown),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
