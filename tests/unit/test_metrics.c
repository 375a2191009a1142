/*
 * Tests of collector/metrics.c: label escaping, counters that only grow
 * across cycles and gaps, terminated pods, and the exposition text, which
 * is also read back with the strict parser of collector/promtext.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "metrics.h"
#include "promtext.h"

#include <stdlib.h>
#include <string.h>

#define S_NS INT64_C(1000000000)

static void
escape_label_special_characters(void **state)
{
        char out[32];

        (void)state;
        assert_int_equal(
            cl_metrics_escape_label("a\"b\\c\nd", out, sizeof(out)), 0);
        assert_string_equal(out, "a\\\"b\\\\c\\nd");
        assert_int_equal(cl_metrics_escape_label("abcdef", out, 4), -1);
        assert_string_equal(out, "abc");
        assert_string_equal(cl_metrics_zone_label("package-1"), "package");
        assert_string_equal(cl_metrics_zone_label("dram"), "dram");
}

static void
record(struct cl_metrics *m, int64_t end_s, const char *status,
       uint64_t energy_uj, const char *pod_uid)
{
        struct cl_metrics_zone zone = {"intel-rapl:0", "package-0", 1,
                                       energy_uj};
        struct cl_metrics_pod pod = {pod_uid, "shop", "web",         1,
                                     1000000, 1,      energy_uj / 2, 0};
        struct cl_metrics_cycle c = {
            .end_ns = end_s * S_NS,
            .elapsed_ns = 5 * S_NS,
            .status = status,
            .method = "measured",
            .source = "collector",
            .energy_uj = energy_uj,
            .idle_uj = energy_uj / 4,
            .system_uj = energy_uj / 4,
            .zones = &zone,
            .n_zones = 1,
            .pods = &pod,
            .n_pods = pod_uid != NULL ? 1 : 0,
        };

        if (strcmp(status, "ok") != 0) {
                zone.has_delta = 0;
                pod.has_energy = 0;
        }
        assert_int_equal(cl_metrics_record(m, &c), CL_OK);
}

static char *
render(struct cl_metrics *m)
{
        char *text = NULL;
        size_t len = 0;

        assert_int_equal(cl_metrics_render(m, &text, &len), CL_OK);
        assert_int_equal(strlen(text), len);
        return text;
}

static cl_err
ignore_sample(const struct cl_prom_sample *s, void *ctx)
{
        (void)s;
        (*(size_t *)ctx)++;
        return CL_OK;
}

static void
counters_grow_across_cycles(void **state)
{
        static const char uid[] = "2c9f8a79-5391-454b-88cb-86190881cb96";
        struct cl_metrics *m;
        size_t n = 0;
        char *text;

        (void)state;
        assert_int_equal(cl_metrics_new("node \"a\"", &m), CL_OK);
        record(m, 100, "baseline", 0, uid);
        record(m, 105, "ok", 2500000, uid);
        record(m, 110, "gap", 9000000, uid);
        record(m, 115, "ok", 1500000, uid);
        text = render(m);
        assert_non_null(strstr(text, "# TYPE carbonledger_node_energy_joules_"
                                     "total counter\n"));
        assert_non_null(strstr(text, "carbonledger_node_energy_joules_total{"
                                     "node_name=\"node \\\"a\\\"\",method="
                                     "\"measured\",source=\"collector\"} "
                                     "4.000000\n"));
        assert_non_null(strstr(text, "carbonledger_node_gaps_total{node_name="
                                     "\"node \\\"a\\\"\"} 1\n"));
        assert_non_null(strstr(text, "zone=\"package\",path=\"intel-rapl:0\"}"
                                     " 4.000000\n"));
        assert_non_null(strstr(text, "zone=\"all\",state=\"running\"} "
                                     "2.000000\n"));
        assert_int_equal(cl_prom_parse(text, strlen(text), ignore_sample, &n),
                         CL_OK);
        assert_true(n > 10);
        free(text);
        cl_metrics_free(m);
}

static void
pod_gone_becomes_terminated(void **state)
{
        static const char uid[] = "2c9f8a79-5391-454b-88cb-86190881cb96";
        struct cl_metrics *m;
        char *text;

        (void)state;
        assert_int_equal(cl_metrics_new("n", &m), CL_OK);
        record(m, 100, "ok", 2000000, uid);
        record(m, 105, "ok", 2000000, NULL);
        text = render(m);
        assert_non_null(strstr(text, "state=\"terminated\"} 1.000000\n"));
        free(text);
        /* Ten minutes after it was last seen the pod is dropped. */
        record(m, 100 + 601, "ok", 2000000, NULL);
        text = render(m);
        assert_null(strstr(text, uid));
        free(text);
        cl_metrics_free(m);
}

static void
kepler_terminated_pod_keeps_state(void **state)
{
        static const char uid[] = "2c9f8a79-5391-454b-88cb-86190881cb96";
        struct cl_metrics_pod pod = {uid, "shop", "web", 0, 0, 1, 1000000, 1};
        struct cl_metrics_cycle c = {
            .end_ns = 105 * S_NS,
            .elapsed_ns = 5 * S_NS,
            .status = "ok",
            .method = "measured",
            .source = "kepler",
            .energy_uj = 2000000,
            .pods = &pod,
            .n_pods = 1,
        };
        struct cl_metrics *m;
        char *text;

        (void)state;
        assert_int_equal(cl_metrics_new("n", &m), CL_OK);
        assert_int_equal(cl_metrics_record(m, &c), CL_OK);
        text = render(m);
        assert_non_null(strstr(text, "zone=\"all\",state=\"terminated\"} "
                                     "1.000000\n"));
        assert_null(strstr(text, "state=\"running\""));
        free(text);
        cl_metrics_free(m);
}

static void
render_before_first_cycle(void **state)
{
        struct cl_metrics *m;
        char *text;

        (void)state;
        assert_int_equal(cl_metrics_new("n", &m), CL_OK);
        text = render(m);
        assert_string_equal(text, "");
        free(text);
        cl_metrics_free(m);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(escape_label_special_characters),
            cmocka_unit_test(counters_grow_across_cycles),
            cmocka_unit_test(pod_gone_becomes_terminated),
            cmocka_unit_test(kepler_terminated_pod_keeps_state),
            cmocka_unit_test(render_before_first_cycle),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
