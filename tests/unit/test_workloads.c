/*
 * Tests of pipeline/workloads.c: the controllers' pod-name patterns, the
 * kubelet pod list with ownerReferences, and grouping a model's pods.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"
#include "workloads.h"

#include <string.h>

static void
expect_name(const char *pod, enum cl_workload_kind kind, const char *name)
{
        char out[254];

        assert_int_equal(cl_workload_from_name(pod, out, sizeof(out)), kind);
        assert_string_equal(out, name);
}

static void
deployment_pod_name(void **state)
{
        (void)state;
        expect_name("nginx-light-7d9c8b5f4-x2x7k", CL_KIND_DEPLOYMENT,
                    "nginx-light");
        expect_name("api-5b8d7c9f6d-q8w9z", CL_KIND_DEPLOYMENT, "api");
}

static void
statefulset_pod_name(void **state)
{
        (void)state;
        expect_name("db-0", CL_KIND_STATEFULSET, "db");
        expect_name("kafka-broker-12", CL_KIND_STATEFULSET, "kafka-broker");
}

static void
cronjob_pod_name(void **state)
{
        (void)state;
        expect_name("backup-29012345-bcd2f", CL_KIND_CRONJOB, "backup");
}

static void
daemonset_or_job_pod_name(void **state)
{
        (void)state;
        expect_name("fluentd-x7k2p", CL_KIND_DAEMONSET_OR_JOB, "fluentd");
}

static void
unmatched_pod_name(void **state)
{
        (void)state;
        /* Vowels are not in the suffix alphabet; no dash; empty parts. */
        expect_name("nginx-light", CL_KIND_POD, "nginx-light");
        expect_name("standalone", CL_KIND_POD, "standalone");
        expect_name("web-", CL_KIND_POD, "web-");
        expect_name("-0", CL_KIND_POD, "-0");
}

static const char pod_list[] =
    "{\"kind\": \"PodList\", \"apiVersion\": \"v1\", \"items\": ["
    "{\"metadata\": {\"name\": \"web-abc\", \"namespace\": \"shop\", "
    "\"uid\": \"u-1\", \"ownerReferences\": [{\"kind\": \"ReplicaSet\", "
    "\"name\": \"web-7d9c8b5f4\", \"controller\": true}]}},"
    "{\"metadata\": {\"name\": \"nightly-29012345-zz\", \"namespace\": "
    "\"shop\", \"uid\": \"u-2\", \"ownerReferences\": [{\"kind\": \"Job\", "
    "\"name\": \"nightly-29012345\", \"controller\": true}]}},"
    "{\"metadata\": {\"name\": \"agent-q\", \"namespace\": \"ops\", "
    "\"uid\": \"u-3\", \"ownerReferences\": [{\"kind\": \"DaemonSet\", "
    "\"name\": \"agent\", \"controller\": true}]}},"
    "{\"metadata\": {\"name\": \"etcd-node-a\", \"namespace\": "
    "\"kube-system\", \"uid\": \"u-4\", \"ownerReferences\": [{\"kind\": "
    "\"Node\", \"name\": \"node-a\", \"controller\": true}]}},"
    "{\"metadata\": {\"name\": \"migrate-x\", \"namespace\": \"shop\", "
    "\"uid\": \"u-5\", \"ownerReferences\": [{\"kind\": \"Job\", "
    "\"name\": \"migrate\", \"controller\": true}]}}]}";

static void
kubelet_list_maps_owners(void **state)
{
        struct cl_kubelet_pods k;
        char dir[PATH_MAX], path[PATH_MAX];

        (void)state;
        test_make_tmpdir(dir, sizeof(dir));
        test_write(dir, "pods.json", pod_list);
        snprintf(path, sizeof(path), "%s/pods.json", dir);
        assert_int_equal(cl_kubelet_pods_load(path, &k), CL_OK);
        assert_int_equal(k.n_pods, 5);
        assert_int_equal(k.pods[0].kind, CL_KIND_DEPLOYMENT);
        assert_string_equal(k.pods[0].workload, "web");
        assert_int_equal(k.pods[1].kind, CL_KIND_CRONJOB);
        assert_string_equal(k.pods[1].workload, "nightly");
        assert_int_equal(k.pods[2].kind, CL_KIND_DAEMONSET);
        assert_string_equal(k.pods[2].workload, "agent");
        assert_int_equal(k.pods[3].kind, CL_KIND_POD);
        assert_int_equal(k.pods[4].kind, CL_KIND_JOB);
        assert_string_equal(k.pods[4].workload, "migrate");
        cl_kubelet_pods_free(&k);
        test_remove_tree(dir);
}

static void
kubelet_list_rejects_other_json(void **state)
{
        struct cl_kubelet_pods k;
        char dir[PATH_MAX], path[PATH_MAX];

        (void)state;
        test_make_tmpdir(dir, sizeof(dir));
        test_write(dir, "pods.json", "{\"kind\": \"Pod\"}");
        snprintf(path, sizeof(path), "%s/pods.json", dir);
        assert_int_equal(cl_kubelet_pods_load(path, &k), CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "items"));
        test_write(dir, "pods.json", "not json");
        assert_int_equal(cl_kubelet_pods_load(path, &k), CL_EFORMAT);
        snprintf(path, sizeof(path), "%s/missing.json", dir);
        assert_int_equal(cl_kubelet_pods_load(path, &k), CL_EIO);
        test_remove_tree(dir);
}

static void
grouping_prefers_kubelet_owner(void **state)
{
        struct cl_workload_report pods_[3];
        struct cl_report_model m;
        struct cl_kubelet_pod kp = {.uid = "u-9",
                                    .namespace_ = "shop",
                                    .name = "odd-name",
                                    .kind = CL_KIND_STATEFULSET,
                                    .workload = "cache"};
        struct cl_kubelet_pods k = {.pods = &kp, .n_pods = 1};
        struct cl_workload_set set;

        (void)state;
        memset(&m, 0, sizeof(m));
        memset(pods_, 0, sizeof(pods_));
        snprintf(pods_[0].namespace_, sizeof(pods_[0].namespace_), "shop");
        snprintf(pods_[0].pod, sizeof(pods_[0].pod), "api-7d9c8b5f4-x2x7k");
        snprintf(pods_[1].namespace_, sizeof(pods_[1].namespace_), "shop");
        snprintf(pods_[1].pod, sizeof(pods_[1].pod), "api-7d9c8b5f4-q8w9z");
        snprintf(pods_[2].namespace_, sizeof(pods_[2].namespace_), "shop");
        snprintf(pods_[2].pod, sizeof(pods_[2].pod), "odd-name");
        snprintf(pods_[2].pod_uid, sizeof(pods_[2].pod_uid), "u-9");
        m.workloads = pods_;
        m.n_workloads = 3;
        assert_int_equal(cl_workloads_group(&m, &k, &set), CL_OK);
        assert_int_equal(set.n_groups, 2);
        assert_string_equal(set.groups[0].name, "api");
        assert_int_equal(set.groups[0].n_members, 2);
        assert_int_equal(set.groups[0].source, CL_GROUPING_NAME_PATTERN);
        assert_string_equal(set.groups[1].name, "cache");
        assert_int_equal(set.groups[1].kind, CL_KIND_STATEFULSET);
        assert_int_equal(set.groups[1].source, CL_GROUPING_KUBELET);
        assert_int_equal(set.from_kubelet, 1);
        assert_int_equal(set.from_name, 2);
        cl_workload_set_free(&set);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(deployment_pod_name),
            cmocka_unit_test(statefulset_pod_name),
            cmocka_unit_test(cronjob_pod_name),
            cmocka_unit_test(daemonset_or_job_pod_name),
            cmocka_unit_test(unmatched_pod_name),
            cmocka_unit_test(kubelet_list_maps_owners),
            cmocka_unit_test(kubelet_list_rejects_other_json),
            cmocka_unit_test(grouping_prefers_kubelet_owner),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
