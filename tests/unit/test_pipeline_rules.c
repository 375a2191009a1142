/*
 * Tests of the nightly run's rules: energy-weighted PUE from meter data,
 * the policy and factor tables, compliance statuses, and the schema
 * version guard.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "compliance.h"
#include "db.h"
#include "helpers.h"
#include "meter.h"
#include "policy.h"
#include "timeutil.h"

#include <math.h>
#include <string.h>

#define TEMPLATES CL_SOURCE_DIR "/templates"

struct fixture {
        char dir[PATH_MAX];
        char db_path[PATH_MAX];
        sqlite3 *db;
};

static int
setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        test_make_tmpdir(f->dir, sizeof(f->dir));
        snprintf(f->db_path, sizeof(f->db_path), "%s/t.db", f->dir);
        assert_int_equal(cl_db_open(f->db_path, CL_DB_CREATE, &f->db), CL_OK);
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fixture *f = *state;

        cl_db_close(f->db);
        test_remove_tree(f->dir);
        free(f);
        return 0;
}

static int64_t
meter_rows(struct fixture *f)
{
        sqlite3_stmt *st;
        int64_t n = -1;

        sqlite3_prepare_v2(f->db, "SELECT count(*) FROM meter", -1, &st, NULL);
        if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return n;
}

static const char good_csv[] =
    "interval_start,interval_end,facility_kwh,it_kwh\n"
    "2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,200,100\n"
    "2025-10-22T16:00:00Z,2025-10-22T17:00:00Z,360,300\n";

/* IT 100 / facility 200 then IT 300 / facility 360: 560 / 400 = 1.40. */
static void
pue_is_ratio_of_sums(void **state)
{
        struct fixture *f = *state;
        struct cl_meter_totals t;
        char path[PATH_MAX];
        int rows, replaced;

        test_write(f->dir, "m.csv", good_csv);
        snprintf(path, sizeof(path), "%s/m.csv", f->dir);
        assert_int_equal(cl_meter_import(f->db, path, &rows, &replaced), CL_OK);
        assert_int_equal(rows, 2);
        assert_int_equal(cl_meter_totals(f->db,
                                         cl_kst_day_start_ns(2025, 10, 23),
                                         cl_kst_day_start_ns(2025, 10, 24), &t),
                         CL_OK);
        assert_int_equal(t.intervals, 2);
        assert_true(fabs(t.facility_kwh / t.it_kwh - 1.40) < 1e-12);
        assert_true(fabs(t.facility_kwh - 560.0) < 1e-9);
        assert_int_equal(replaced, 0);
        /* Importing the same file again replaces, not duplicates. */
        assert_int_equal(cl_meter_import(f->db, path, &rows, &replaced), CL_OK);
        assert_int_equal(replaced, 2);
        assert_int_equal(meter_rows(f), 2);
}

static void
meter_partial_overlap_pro_rata(void **state)
{
        struct fixture *f = *state;
        struct cl_meter_totals t;
        char path[PATH_MAX];
        int rows, replaced;

        test_write(f->dir, "m.csv",
                   "interval_start,interval_end,facility_kwh,it_kwh\n"
                   "2025-10-23T23:30:00+09:00,2025-10-24T00:30:00+09:00,"
                   "100,80\n");
        snprintf(path, sizeof(path), "%s/m.csv", f->dir);
        assert_int_equal(cl_meter_import(f->db, path, &rows, &replaced), CL_OK);
        assert_int_equal(cl_meter_totals(f->db,
                                         cl_kst_day_start_ns(2025, 10, 23),
                                         cl_kst_day_start_ns(2025, 10, 24), &t),
                         CL_OK);
        assert_true(fabs(t.facility_kwh - 50.0) < 1e-9);
        assert_true(fabs(t.it_kwh - 40.0) < 1e-9);
}

static void
meter_bad_rows_store_nothing(void **state)
{
        static const struct {
                const char *body;
                const char *message;
        } cases[] = {
            {"2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,abc,1\n",
             ":3: facility_kwh 'abc' is not a decimal number"},
            {"2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,1\n",
             ":3: expected 4 columns"},
            {"2025-10-23T01:00:00+09:00,2025-10-23T00:00:00+09:00,2,1\n",
             ":3: interval_end"},
            {"2025-10-23T00:00:00,2025-10-23T01:00:00+09:00,2,1\n",
             "no UTC offset"},
            {"2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,1,2\n",
             "is below it_kwh"},
            {"2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,2,-1\n",
             "negative"},
            {"2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,1e300,"
             "1e-300\n",
             "not a plausible PUE"},
            {"2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,4,0\n",
             "it_kwh is 0"},
            {"2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,0x10,1\n",
             "not a decimal number"},
            {"2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,2e9,1e9\n",
             "not a plausible site"},
            {"2020-01-01T00:00:00+09:00,2030-01-01T00:00:00+09:00,2,1\n",
             "longer than 31 days"},
            {"2025-10-22T00:30:00Z,2025-10-22T01:30:00Z,2,1\n",
             "overlaps the one on line 2"},
        };
        struct fixture *f = *state;
        char path[PATH_MAX], text[512];
        int rows = 7, replaced = 7;

        snprintf(path, sizeof(path), "%s/bad.csv", f->dir);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                snprintf(text, sizeof(text),
                         "interval_start,interval_end,facility_kwh,it_kwh\n"
                         "2025-10-22T00:00:00Z,2025-10-22T01:00:00Z,2,1\n%s",
                         cases[i].body);
                test_write(f->dir, "bad.csv", text);
                assert_int_equal(cl_meter_import(f->db, path, &rows, &replaced),
                                 CL_EFORMAT);
                assert_int_equal(rows, 0);
                assert_non_null(strstr(cl_last_error(), "bad.csv"));
                if (strstr(cl_last_error(), cases[i].message) == NULL)
                        fail_msg("case %zu: '%s' lacks '%s'", i,
                                 cl_last_error(), cases[i].message);
                assert_int_equal(meter_rows(f), 0);
        }
        test_write(f->dir, "bad.csv", "start,end,f,i\n");
        assert_int_equal(cl_meter_import(f->db, path, &rows, &replaced),
                         CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "header"));
}

static void
meter_overlap_with_stored(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX];
        int rows, replaced;

        test_write(f->dir, "m.csv", good_csv);
        snprintf(path, sizeof(path), "%s/m.csv", f->dir);
        assert_int_equal(cl_meter_import(f->db, path, &rows, &replaced), CL_OK);
        test_write(f->dir, "late.csv",
                   "interval_start,interval_end,facility_kwh,it_kwh\n"
                   "2025-10-23T00:30:00+09:00,2025-10-23T00:45:00+09:00,"
                   "10,5\n");
        snprintf(path, sizeof(path), "%s/late.csv", f->dir);
        assert_int_equal(cl_meter_import(f->db, path, &rows, &replaced),
                         CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "late.csv:2"));
        assert_non_null(strstr(cl_last_error(), "overlaps the stored"));
        assert_int_equal(meter_rows(f), 2);
}

static void
meter_header_with_bom(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX];
        int rows, replaced;

        test_write(f->dir, "bom.csv",
                   "\xef\xbb\xbfinterval_start,interval_end,facility_kwh,"
                   "it_kwh\r\n"
                   "2025-10-23T00:00:00+09:00,2025-10-23T01:00:00+09:00,2,1"
                   "\r\n");
        snprintf(path, sizeof(path), "%s/bom.csv", f->dir);
        assert_int_equal(cl_meter_import(f->db, path, &rows, &replaced), CL_OK);
        assert_int_equal(rows, 1);
}

static void
policy_defaults_load(void **state)
{
        struct cl_policy p;
        double budget;

        (void)state;
        assert_int_equal(cl_policy_load(TEMPLATES, NULL, &p), CL_OK);
        assert_true(p.grid_reference_g_per_kwh == 424.0);
        assert_true(p.pue_target == 1.4);
        assert_true(p.coverage_threshold == 0.9);
        assert_string_equal(p.factor_notice, "");
        assert_false(cl_policy_budget(&p, "shop", "web", &budget));
        cl_policy_free(&p);
}

static void
policy_user_overrides(void **state)
{
        struct fixture *f = *state;
        struct cl_policy p;
        char path[PATH_MAX];
        double b = 0;

        test_write(f->dir, "p.json",
                   "{\"organisation\": \"한국 데이터센터\","
                   " \"coverage_threshold\": 0.5,"
                   " \"budgets_g_per_hour\": {\"default\": 3,"
                   " \"namespaces\": {\"shop\": 2},"
                   " \"pods\": {\"shop/web-0\": 1.5}}}");
        snprintf(path, sizeof(path), "%s/p.json", f->dir);
        assert_int_equal(cl_policy_load(TEMPLATES, path, &p), CL_OK);
        assert_string_equal(p.organisation, "한국 데이터센터");
        assert_true(p.coverage_threshold == 0.5);
        assert_true(p.pue_target == 1.4);
        assert_true(cl_policy_budget(&p, "shop", "web-0", &b));
        assert_true(b == 1.5);
        assert_true(cl_policy_budget(&p, "shop", "web-1", &b));
        assert_true(b == 2.0);
        assert_true(cl_policy_budget(&p, "batch", "x", &b));
        assert_true(b == 3.0);
        cl_policy_free(&p);
}

static void
policy_rejects_bad_files(void **state)
{
        static const struct {
                const char *json;
                const char *message;
        } cases[] = {
            {"{\"coverage_treshold\": 0.9}", "unknown key 'coverage_treshold'"},
            {"{\"coverage_threshold\": 1.5}", "expected 0 to 1"},
            {"{\"pue\": {\"target\": \"1.4\"}}",
             "'pue.target' must be a number"},
            {"{\"budgets_g_per_hour\": {\"pods\": {\"a/b\": -1}}}",
             "budgets_g_per_hour.pods.a/b"},
            {"{\"grid_reference\": 424}", "must be an object"},
            {"{\"name\": \"x\",}", "invalid JSON"},
            {"[1, 2]", "expected a JSON object"},
        };
        struct fixture *f = *state;
        struct cl_policy p;
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/p.json", f->dir);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                test_write(f->dir, "p.json", cases[i].json);
                assert_int_equal(cl_policy_load(TEMPLATES, path, &p),
                                 CL_EFORMAT);
                assert_non_null(strstr(cl_last_error(), "p.json"));
                assert_non_null(strstr(cl_last_error(), cases[i].message));
        }
        assert_int_equal(cl_policy_load(TEMPLATES, "/nonexistent/p.json", &p),
                         CL_EIO);
}

static void
factor_in_force_by_year(void **state)
{
        struct cl_emission_factor e;

        (void)state;
        assert_int_equal(cl_factor_select(TEMPLATES, 2026, "", &e), CL_OK);
        assert_true(e.t_per_mwh == 0.4330);
        assert_int_equal(cl_factor_select(TEMPLATES, 2031, "", &e), CL_OK);
        assert_true(e.t_per_mwh == 0.4330);
        assert_int_equal(cl_factor_select(TEMPLATES, 2025, "", &e), CL_OK);
        assert_true(e.t_per_mwh == 0.4541);
        assert_int_equal(cl_factor_select(TEMPLATES, 2023, "", &e), CL_OK);
        assert_false(e.confirmed);
        assert_int_equal(cl_factor_select(TEMPLATES, 2010, "", &e),
                         CL_ENOTFOUND);
        assert_non_null(strstr(cl_last_error(), "2010"));
        assert_int_equal(cl_factor_select(TEMPLATES, 2030, "2018 approval", &e),
                         CL_OK);
        assert_true(e.t_per_mwh == 0.4594);
}

/* A model of one node fully covered and three pods. */
static void
make_model(struct cl_report_model *m)
{
        memset(m, 0, sizeof(*m));
        m->period_start_ns = 0;
        m->period_end_ns = CL_NS_PER_DAY;
        m->intensity_g_per_kwh = 433.0;
        snprintf(m->intensity_source, sizeof(m->intensity_source), "gir");
        m->grid_reference_g_per_kwh = 424.0;
        m->pue = 1.5;
        m->pue_method = CL_METHOD_DECLARED;
        m->pue_target = 1.4;
        m->coverage_threshold = 0.9;
        m->energy_uj = INT64_C(36000000000000); /* 10 kWh */
        m->n_nodes = 1;
        m->nodes = calloc(1, sizeof(*m->nodes));
        snprintf(m->nodes[0].name, sizeof(m->nodes[0].name), "n1");
        m->nodes[0].energy_uj = m->energy_uj;
        m->nodes[0].coverage = 0.95;
        m->n_workloads = 3;
        m->workloads = calloc(3, sizeof(*m->workloads));
        for (int i = 0; i < 3; i++) {
                struct cl_workload_report *w = &m->workloads[i];

                snprintf(w->node, sizeof(w->node), "n1");
                snprintf(w->namespace_, sizeof(w->namespace_), "shop");
                snprintf(w->pod, sizeof(w->pod), "web-%d", i);
                /* 1 kWh over 10 h: 433 g, 43.3 g/h. */
                w->energy_uj = INT64_C(3600000000000);
                w->run_s = 36000;
                w->span_s = 36000;
                w->coverage = 1.0;
        }
        m->workloads[2].coverage = 0.5;
}

static void
compliance_statuses(void **state)
{
        struct fixture *f = *state;
        struct cl_report_model m;
        struct cl_policy p;
        char path[PATH_MAX];

        test_write(f->dir, "p.json",
                   "{\"budgets_g_per_hour\": {\"pods\": {\"shop/web-0\": 50,"
                   " \"shop/web-2\": 50}, \"namespaces\": {\"x\": 1}}}");
        snprintf(path, sizeof(path), "%s/p.json", f->dir);
        assert_int_equal(cl_policy_load(TEMPLATES, path, &p), CL_OK);
        make_model(&m);
        m.workloads[1].energy_uj *= 2;
        cl_compliance_apply(&m, &p);

        assert_true(fabs(m.emissions_g - 4330.0) < 1e-6);
        assert_true(fabs(m.facility_emissions_g - 6495.0) < 1e-6);
        assert_true(fabs(m.workloads[0].emissions_rate_g_per_h - 43.3) < 1e-9);
        assert_int_equal(m.workloads[0].status, CL_STATUS_COMPLIANT);
        assert_int_equal(m.workloads[1].status, CL_STATUS_NOT_ASSESSED);
        assert_int_equal(m.workloads[2].status, CL_STATUS_INSUFFICIENT_DATA);
        assert_int_equal(m.status_counts[CL_STATUS_COMPLIANT], 1);

        /* A tighter budget makes web-0 non-compliant, with the reason. */
        cl_policy_free(&p);
        test_write(f->dir, "p.json",
                   "{\"budgets_g_per_hour\": {\"default\": 40}}");
        assert_int_equal(cl_policy_load(TEMPLATES, path, &p), CL_OK);
        cl_compliance_apply(&m, &p);
        assert_int_equal(m.workloads[0].status, CL_STATUS_NON_COMPLIANT);
        assert_non_null(strstr(m.workloads[0].checks[2].reason, "above"));
        assert_true(m.workloads[0].checks[2].target == 40.0);
        cl_report_model_free(&m);
        cl_policy_free(&p);
}

static void
node_coverage_makes_insufficient(void **state)
{
        struct cl_report_model m;
        struct cl_policy p;

        (void)state;
        assert_int_equal(cl_policy_load(TEMPLATES, NULL, &p), CL_OK);
        make_model(&m);
        m.nodes[0].coverage = 0.5;
        cl_compliance_apply(&m, &p);
        for (size_t i = 0; i < m.n_workloads; i++)
                assert_int_equal(m.workloads[i].status,
                                 CL_STATUS_INSUFFICIENT_DATA);
        assert_int_equal(m.nodes[0].checks[0].result,
                         CL_STATUS_INSUFFICIENT_DATA);
        cl_report_model_free(&m);
        cl_policy_free(&p);
}

static void
site_checks_grid_and_pue(void **state)
{
        struct cl_report_model m;
        struct cl_policy p;

        (void)state;
        assert_int_equal(cl_policy_load(TEMPLATES, NULL, &p), CL_OK);
        make_model(&m);
        cl_compliance_apply(&m, &p);
        assert_int_equal(m.n_site_checks, 2);
        assert_string_equal(m.site_checks[0].check, "grid_intensity");
        /* The official factor is consumption-side: not compared. */
        assert_int_equal(m.site_checks[0].result, CL_STATUS_NOT_ASSESSED);
        assert_false(m.site_checks[0].has_value);
        /* A time-matched generation-side value is. */
        m.has_time_matched = 1;
        m.time_matched_g_per_kwh = 430.0;
        cl_compliance_apply(&m, &p);
        assert_int_equal(m.site_checks[0].result, CL_STATUS_NON_COMPLIANT);
        assert_true(m.site_checks[0].value == 430.0);
        m.time_matched_g_per_kwh = 410.0;
        cl_compliance_apply(&m, &p);
        assert_int_equal(m.site_checks[0].result, CL_STATUS_COMPLIANT);
        assert_string_equal(m.site_checks[1].check, "pue");
        /* A declared PUE is not evidence against the target. */
        assert_int_equal(m.site_checks[1].result, CL_STATUS_NOT_ASSESSED);
        m.pue = 1.35;
        m.pue_method = CL_METHOD_MEASURED;
        cl_compliance_apply(&m, &p);
        assert_int_equal(m.site_checks[1].result, CL_STATUS_COMPLIANT);
        m.pue = 1.45;
        cl_compliance_apply(&m, &p);
        assert_int_equal(m.site_checks[1].result, CL_STATUS_NON_COMPLIANT);
        cl_report_model_free(&m);
        cl_policy_free(&p);
}

static void
db_newer_schema_rejected(void **state)
{
        struct fixture *f = *state;
        sqlite3 *db;

        assert_int_equal(cl_db_exec(f->db, "PRAGMA user_version = 99"), CL_OK);
        assert_int_equal(cl_db_open(f->db_path, CL_DB_WRITE, &db), CL_EVERSION);
        assert_non_null(strstr(cl_last_error(), "newer"));
        assert_int_equal(cl_db_open(f->db_path, CL_DB_CREATE, &db),
                         CL_EVERSION);
        assert_int_equal(meter_rows(f), 0);
}

static void
db_missing_or_not_database(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX];
        sqlite3 *db;

        snprintf(path, sizeof(path), "%s/none.db", f->dir);
        assert_int_equal(cl_db_open(path, CL_DB_WRITE, &db), CL_EIO);
        assert_non_null(strstr(cl_last_error(), "none.db"));
        test_write(f->dir, "text.db", "this is not a database, just text\n");
        snprintf(path, sizeof(path), "%s/text.db", f->dir);
        assert_int_equal(cl_db_open(path, CL_DB_WRITE, &db), CL_EDB);
        assert_non_null(strstr(cl_last_error(), "not a carbonledger"));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(pue_is_ratio_of_sums, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(meter_partial_overlap_pro_rata,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(meter_bad_rows_store_nothing, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(meter_overlap_with_stored, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(meter_header_with_bom, setup,
                                            teardown),
            cmocka_unit_test(policy_defaults_load),
            cmocka_unit_test_setup_teardown(policy_user_overrides, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(policy_rejects_bad_files, setup,
                                            teardown),
            cmocka_unit_test(factor_in_force_by_year),
            cmocka_unit_test_setup_teardown(compliance_statuses, setup,
                                            teardown),
            cmocka_unit_test(node_coverage_makes_insufficient),
            cmocka_unit_test(site_checks_grid_and_pue),
            cmocka_unit_test_setup_teardown(db_newer_schema_rejected, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(db_missing_or_not_database, setup,
                                            teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
