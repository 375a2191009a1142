/*
 * Tests of the analyses' pure calculations and of the schedule analysis:
 * multiplicative composition of reductions, the lowest-mean window over a
 * 24-hour profile (wrapping across midnight, ties to the earliest start)
 * and the schedule's handling of bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyses.h"
#include "db.h"
#include "helpers.h"
#include "policy.h"

#include <math.h>
#include <string.h>

#define TEMPLATES CL_SOURCE_DIR "/templates"

/* A typical day with known best windows, KST hours 0 to 23. */
static const double profile[24] = {380, 375, 370, 365, 370, 380, 390, 410,
                                   430, 445, 455, 460, 465, 470, 475, 470,
                                   465, 460, 450, 440, 425, 410, 400, 390};

static void
composition_of_three_reductions(void **state)
{
        const double f[] = {0.10, 0.15, 0.20};

        (void)state;
        assert_true(fabs(cl_compose_reductions(f, 3) - 0.388) < 1e-12);
}

static void
composition_never_exceeds_everything(void **state)
{
        const double big[] = {0.6, 0.7};
        const double over[] = {1.5, 0.2};

        (void)state;
        assert_true(fabs(cl_compose_reductions(big, 2) - 0.88) < 1e-12);
        assert_true(cl_compose_reductions(over, 2) <= 1.0);
        assert_true(fabs(cl_compose_reductions(over, 2) - 1.0) < 1e-12);
}

static void
composition_keeps_an_increase(void **state)
{
        const double f[] = {-0.10, 0.10};

        (void)state;
        /* 1.1 x 0.9 = 0.99 of the emissions remain. */
        assert_true(fabs(cl_compose_reductions(f, 2) - 0.01) < 1e-12);
}

static void
window_four_hours_starts_at_one(void **state)
{
        struct cl_window best, now;

        (void)state;
        assert_int_equal(
            cl_best_window(profile, NULL, 24, 1, 0, 24, 4, &best, &now), CL_OK);
        assert_int_equal(best.start, 1);
        assert_true(fabs(best.mean - 370.0) < 1e-9);
        assert_true(fabs(now.mean - 372.5) < 1e-9);
}

static void
window_one_hour_starts_at_three(void **state)
{
        struct cl_window best, now;

        (void)state;
        assert_int_equal(
            cl_best_window(profile, NULL, 24, 1, 0, 24, 1, &best, &now), CL_OK);
        assert_int_equal(best.start, 3);
        assert_true(fabs(best.mean - 365.0) < 1e-9);
}

static void
window_eight_hours_wraps_midnight(void **state)
{
        struct cl_window best, now;

        (void)state;
        assert_int_equal(
            cl_best_window(profile, NULL, 24, 1, 0, 24, 8, &best, &now), CL_OK);
        assert_int_equal(best.start, 23);
        assert_true(fabs(best.mean - 377.5) < 1e-9);
}

static void
window_tie_goes_to_earliest(void **state)
{
        double flat[24];
        struct cl_window best, now;

        (void)state;
        for (size_t i = 0; i < 24; i++)
                flat[i] = 400.0;
        assert_int_equal(
            cl_best_window(flat, NULL, 24, 1, 5, 24, 3, &best, &now), CL_OK);
        assert_int_equal(best.start, 5);
}

static void
window_longer_than_data_fails(void **state)
{
        struct cl_window best, now;

        (void)state;
        assert_int_equal(
            cl_best_window(profile, NULL, 24, 1, 0, 24, 25, &best, &now),
            CL_EINVAL);
        assert_int_equal(
            cl_best_window(profile, NULL, 24, 1, 0, 24, 0, &best, &now),
            CL_EINVAL);
}

static void
window_stays_inside_stored_hours(void **state)
{
        const double hours[6] = {500, 300, 300, 100, 100, 100};
        const int has[6] = {1, 1, 1, 1, 1, 0};
        struct cl_window best, now;

        (void)state;
        /* Not cyclic: 3-hour windows may start at 0..3; the one at 3
           reaches the hour without a value, so 2 (300,100,100) wins. */
        assert_int_equal(cl_best_window(hours, has, 6, 0, 0, 4, 3, &best, &now),
                         CL_OK);
        assert_int_equal(best.start, 2);
        assert_true(fabs(best.mean - 500.0 / 3.0) < 1e-9);
}

/* Environment for the schedule: no samples are needed. */
struct env_fixture {
        char dir[PATH_MAX];
        char db_path[PATH_MAX];
        sqlite3 *db;
        struct cl_policy policy;
        struct cl_analysis_env env;
};

static int
env_setup(void **state)
{
        struct env_fixture *f = calloc(1, sizeof(*f));

        test_make_tmpdir(f->dir, sizeof(f->dir));
        snprintf(f->db_path, sizeof(f->db_path), "%s/t.db", f->dir);
        assert_int_equal(cl_db_open(f->db_path, CL_DB_CREATE, &f->db), CL_OK);
        assert_int_equal(cl_policy_load(TEMPLATES, NULL, &f->policy), CL_OK);
        f->env.db = f->db;
        f->env.db_path = f->db_path;
        f->env.policy = &f->policy;
        f->env.template_dir = TEMPLATES;
        f->env.now_ns = INT64_C(1773100800) * 1000000000;
        *state = f;
        return 0;
}

static int
env_teardown(void **state)
{
        struct env_fixture *f = *state;

        cl_policy_free(&f->policy);
        cl_db_close(f->db);
        test_remove_tree(f->dir);
        free(f);
        return 0;
}

static json_object *
schedule_args(int duration, const char *deadline)
{
        json_object *args = json_object_new_object();
        json_object *list = json_object_new_array();

        for (size_t i = 0; i < 24; i++)
                json_object_array_add(list, json_object_new_double(profile[i]));
        json_object_object_add(args, "profile", list);
        json_object_object_add(args, "duration_hours",
                               json_object_new_int(duration));
        json_object_object_add(
            args, "earliest_start",
            json_object_new_string("2026-03-10T00:00+09:00"));
        if (deadline != NULL)
                json_object_object_add(args, "deadline",
                                       json_object_new_string(deadline));
        return args;
}

static cl_err
run_schedule(struct env_fixture *f, json_object *args, json_object **out)
{
        const struct cl_analysis *a =
            cl_analysis_find("calculate_optimal_schedule");

        assert_non_null(a);
        return cl_analysis_run(&f->env, a, args, out);
}

static const char *
best_field(json_object *r, const char *key)
{
        json_object *best, *v;

        assert_true(json_object_object_get_ex(r, "best", &best));
        assert_true(json_object_object_get_ex(best, key, &v));
        return json_object_get_string(v);
}

static double
number_field(json_object *o, const char *key)
{
        json_object *v;

        assert_true(json_object_object_get_ex(o, key, &v));
        return json_object_get_double(v);
}

static void
schedule_four_hours_at_one(void **state)
{
        struct env_fixture *f = *state;
        json_object *args = schedule_args(4, NULL), *r = NULL, *best;

        assert_int_equal(run_schedule(f, args, &r), CL_OK);
        assert_string_equal(best_field(r, "start_kst"), "2026-03-10 01:00");
        assert_true(json_object_object_get_ex(r, "best", &best));
        assert_true(fabs(number_field(best, "mean_intensity_g_per_kwh") -
                         370.0) < 1e-9);
        assert_true(fabs(number_field(r, "saving_g_per_kwh") - 2.5) < 1e-9);
        json_object_put(r);
        json_object_put(args);
}

static void
schedule_eight_hours_at_eleven_pm(void **state)
{
        struct env_fixture *f = *state;
        json_object *args = schedule_args(8, NULL), *r = NULL, *best;

        assert_int_equal(run_schedule(f, args, &r), CL_OK);
        assert_string_equal(best_field(r, "start_kst"), "2026-03-10 23:00");
        assert_string_equal(best_field(r, "end_kst"), "2026-03-11 07:00");
        assert_true(json_object_object_get_ex(r, "best", &best));
        assert_true(fabs(number_field(best, "mean_intensity_g_per_kwh") -
                         377.5) < 1e-9);
        json_object_put(r);
        json_object_put(args);
}

static void
schedule_one_hour_at_three(void **state)
{
        struct env_fixture *f = *state;
        json_object *args = schedule_args(1, NULL), *r = NULL;

        assert_int_equal(run_schedule(f, args, &r), CL_OK);
        assert_string_equal(best_field(r, "start_kst"), "2026-03-10 03:00");
        json_object_put(r);
        json_object_put(args);
}

static void
schedule_deadline_limits_starts(void **state)
{
        struct env_fixture *f = *state;
        json_object *args = schedule_args(4, "2026-03-10T04:00+09:00");
        json_object *r = NULL;

        assert_int_equal(run_schedule(f, args, &r), CL_OK);
        assert_string_equal(best_field(r, "start_kst"), "2026-03-10 00:00");
        assert_true(fabs(number_field(r, "saving_g_per_kwh")) < 1e-9);
        json_object_put(r);
        json_object_put(args);
}

static void
schedule_rejects_bad_input(void **state)
{
        struct env_fixture *f = *state;
        json_object *args, *r = NULL;

        args = schedule_args(25, NULL);
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "longer than"));
        json_object_put(args);

        args = schedule_args(0, NULL);
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        json_object_put(args);

        args = schedule_args(-3, NULL);
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        json_object_put(args);

        args = schedule_args(4, "2026-03-09T23:00+09:00");
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "deadline"));
        json_object_put(args);

        args = schedule_args(4, NULL);
        json_object_object_add(args, "zone", json_object_new_string("XX"));
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "unknown zone"));
        json_object_put(args);
        assert_null(r);
}

static void
schedule_without_hours_fails(void **state)
{
        struct env_fixture *f = *state;
        json_object *args = json_object_new_object(), *r = NULL;

        json_object_object_add(args, "duration_hours", json_object_new_int(4));
        /* KR ships no typical day and the database stores no hours. */
        assert_int_equal(run_schedule(f, args, &r), CL_ENOTFOUND);
        assert_non_null(strstr(cl_last_error(), "no hourly intensity"));
        assert_null(r);
        json_object_put(args);
}

static void
schedule_over_stored_hours(void **state)
{
        struct env_fixture *f = *state;
        json_object *args = json_object_new_object(), *r = NULL, *best;

        /* 12 stored hours from 00:00 KST at 400, with 300 at 05 and 06. */
        assert_int_equal(
            sqlite3_exec(f->db,
                         "WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT "
                         "i + 1 FROM h WHERE i < 11) INSERT INTO "
                         "intensity_hour (zone, hour_ns, source, g_per_kwh, "
                         "basis, factor_set, quality, fetched_ns, "
                         "response_sha256) SELECT 'KR', (1773068400 + i * "
                         "3600) * 1000000000, 'kpx', CASE WHEN i IN (5, 6) "
                         "THEN 300 ELSE 400 END, 'generation', 'lifecycle', "
                         "'measured', 0, '' FROM h",
                         NULL, NULL, NULL),
            SQLITE_OK);
        json_object_object_add(args, "duration_hours", json_object_new_int(2));
        json_object_object_add(
            args, "earliest_start",
            json_object_new_string("2026-03-10T00:00+09:00"));
        assert_int_equal(run_schedule(f, args, &r), CL_OK);
        assert_string_equal(best_field(r, "start_kst"), "2026-03-10 05:00");
        assert_true(json_object_object_get_ex(r, "best", &best));
        assert_true(fabs(number_field(best, "mean_intensity_g_per_kwh") -
                         300.0) < 1e-9);
        json_object_put(r);
        r = NULL;
        /* 13 hours do not fit in the 12 stored ones. */
        json_object_object_add(args, "duration_hours", json_object_new_int(13));
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "longer than the stored"));
        json_object_put(args);
}

static void
schedule_needs_duration(void **state)
{
        struct env_fixture *f = *state;
        json_object *args = json_object_new_object(), *r = NULL;

        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "duration_hours"));
        json_object_object_add(args, "duration_hours",
                               json_object_new_string("four"));
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "whole number"));
        json_object_put(args);
}

static void
profile_needs_24_values(void **state)
{
        struct env_fixture *f = *state;
        json_object *args = schedule_args(4, NULL), *r = NULL, *list;

        assert_true(json_object_object_get_ex(args, "profile", &list));
        json_object_array_del_idx(list, 0, 1);
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "24 values"));
        json_object_put(args);
}

static void
profile_values_are_bounded(void **state)
{
        static const double bad[] = {1e308, 0.0, 2000.5, -1.0};
        struct env_fixture *f = *state;
        json_object *args, *r = NULL, *list;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                args = schedule_args(4, NULL);
                assert_true(json_object_object_get_ex(args, "profile", &list));
                json_object_array_put_idx(list, 5,
                                          json_object_new_double(bad[i]));
                assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
                assert_non_null(strstr(cl_last_error(), "at most 2000"));
                assert_non_null(strstr(cl_last_error(), "KST hour 5"));
                assert_null(r);
                json_object_put(args);
        }
        args = schedule_args(4, NULL);
        assert_true(json_object_object_get_ex(args, "profile", &list));
        json_object_array_put_idx(list, 5, json_object_new_double(2000.0));
        assert_int_equal(run_schedule(f, args, &r), CL_OK);
        json_object_put(r);
        json_object_put(args);
}

static void
messages_spell_arguments_per_caller(void **state)
{
        struct env_fixture *f = *state;
        json_object *args = json_object_new_object(), *r = NULL;

        json_object_object_add(args, "duration_hours",
                               json_object_new_string("four"));
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "duration_hours must be"));
        assert_null(strstr(cl_last_error(), "--"));
        f->env.option_names = 1;
        assert_int_equal(run_schedule(f, args, &r), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), "--duration-hours must be"));
        json_object_put(args);
}

static void
option_spelling_matches_names(void **state)
{
        char want[64];

        (void)state;
        for (size_t i = 0; i < cl_analysis_count(); i++) {
                const struct cl_analysis *a = cl_analysis_at(i);

                for (size_t k = 0; a->args[k] != NULL; k++) {
                        const char *name = a->args[k]->name;
                        size_t n = strlen(name);

                        assert_true(n + 3 < sizeof(want));
                        want[0] = '-';
                        want[1] = '-';
                        for (size_t c = 0; c <= n; c++)
                                want[2 + c] = name[c] == '_' ? '-' : name[c];
                        assert_non_null(a->args[k]->option);
                        assert_string_equal(a->args[k]->option, want);
                }
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(composition_of_three_reductions),
            cmocka_unit_test(composition_never_exceeds_everything),
            cmocka_unit_test(composition_keeps_an_increase),
            cmocka_unit_test(window_four_hours_starts_at_one),
            cmocka_unit_test(window_one_hour_starts_at_three),
            cmocka_unit_test(window_eight_hours_wraps_midnight),
            cmocka_unit_test(window_tie_goes_to_earliest),
            cmocka_unit_test(window_longer_than_data_fails),
            cmocka_unit_test(window_stays_inside_stored_hours),
            cmocka_unit_test_setup_teardown(schedule_four_hours_at_one,
                                            env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(schedule_eight_hours_at_eleven_pm,
                                            env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(schedule_one_hour_at_three,
                                            env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(schedule_deadline_limits_starts,
                                            env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(schedule_rejects_bad_input,
                                            env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(schedule_without_hours_fails,
                                            env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(schedule_over_stored_hours,
                                            env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(schedule_needs_duration, env_setup,
                                            env_teardown),
            cmocka_unit_test_setup_teardown(profile_needs_24_values, env_setup,
                                            env_teardown),
            cmocka_unit_test_setup_teardown(profile_values_are_bounded,
                                            env_setup, env_teardown),
            cmocka_unit_test_setup_teardown(messages_spell_arguments_per_caller,
                                            env_setup, env_teardown),
            cmocka_unit_test(option_spelling_matches_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
