/*
 * Grouping pods into workloads (Deployment, StatefulSet, DaemonSet, Job,
 * CronJob). The owner comes from the kubelet's pod list when one is given
 * (the JSON of the kubelet's /pods endpoint, with ownerReferences),
 * otherwise from the names the controllers give their pods:
 *
 *   Deployment   NAME-HASH-XXXXX  (ReplicaSet pod-template-hash, 6 to 10
 *                                  characters, and a 5-character suffix)
 *   CronJob      NAME-NNNNNNNN-XXXXX  (the Job's scheduled time in minutes,
 *                                      8 or more digits)
 *   StatefulSet  NAME-N           (an ordinal)
 *   DaemonSet or Job  NAME-XXXXX  (the two are alike by name)
 *
 * where X is a character of the alphabet Kubernetes draws random names
 * from ("bcdfghjklmnpqrstvwxz2456789"). A pod matching no pattern is its
 * own workload of kind Pod. Every group says which source named it.
 */
#ifndef CL_WORKLOADS_H
#define CL_WORKLOADS_H

#include "err.h"
#include "report_model.h"

#include <stddef.h>

enum cl_workload_kind {
        CL_KIND_DEPLOYMENT,
        CL_KIND_REPLICASET, /* owned by a ReplicaSet with no Deployment */
        CL_KIND_STATEFULSET,
        CL_KIND_DAEMONSET,
        CL_KIND_JOB,
        CL_KIND_CRONJOB,
        CL_KIND_DAEMONSET_OR_JOB, /* name pattern only */
        CL_KIND_POD,              /* no controller, or no pattern matched */
};

enum cl_grouping_source {
        CL_GROUPING_KUBELET,      /* ownerReferences in the pod list */
        CL_GROUPING_NAME_PATTERN, /* the pod name */
};

/* Returns "Deployment", "StatefulSet", ..., "DaemonSet|Job", "Pod". */
const char *cl_workload_kind_name(enum cl_workload_kind kind);

/* Returns "kubelet_pod_list" or "name_pattern". */
const char *cl_grouping_source_name(enum cl_grouping_source source);

/* One pod of the kubelet's list and the workload that owns it. */
struct cl_kubelet_pod {
        char uid[40];
        char namespace_[128];
        char name[254];
        enum cl_workload_kind kind;
        char workload[254];
};

struct cl_kubelet_pods {
        char path[512];
        struct cl_kubelet_pod *pods;
        size_t n_pods;
};

/*
 * Reads a kubelet pod list ({"kind": "PodList", "items": [...]}) from
 * path. Fails with CL_EIO (unreadable), CL_EFORMAT (not a pod list, or an
 * item without metadata.name) naming the file. Release with
 * cl_kubelet_pods_free().
 */
cl_err cl_kubelet_pods_load(const char *path,
                            struct cl_kubelet_pods *out) CL_MUST_CHECK;

void cl_kubelet_pods_free(struct cl_kubelet_pods *pods);

/*
 * Derives the workload of a pod from its name. Writes the workload name
 * into name (size bytes) and returns its kind; CL_KIND_POD with the pod's
 * own name when no pattern matches.
 */
enum cl_workload_kind cl_workload_from_name(const char *pod, char *name,
                                            size_t size);

/* Pods of one workload, as indices into the model's workloads array. */
struct cl_workload_group {
        char namespace_[128];
        char name[254];
        enum cl_workload_kind kind;
        enum cl_grouping_source source;
        size_t *members;
        size_t n_members;
};

struct cl_workload_set {
        struct cl_workload_group *groups;
        size_t n_groups;
        /* Pods named from the kubelet list and from their names. */
        size_t from_kubelet;
        size_t from_name;
};

/*
 * Groups the pods of m (one cl_workload_report per pod) by namespace,
 * kind and workload name. A pod found in kubelet (by UID, else by
 * namespace and name) takes its owner from there; kubelet may be NULL.
 * Groups are sorted by namespace, name and kind. Fails with CL_ENOMEM.
 * Release with cl_workload_set_free().
 */
cl_err cl_workloads_group(const struct cl_report_model *m,
                          const struct cl_kubelet_pods *kubelet,
                          struct cl_workload_set *out) CL_MUST_CHECK;

void cl_workload_set_free(struct cl_workload_set *set);

#endif
