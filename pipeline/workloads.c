/*
 * Pods to workloads: the name patterns of the Kubernetes controllers, the
 * kubelet's pod list with its ownerReferences, and the grouping of the
 * report model's pods (see workloads.h for the patterns).
 */
#include "workloads.h"

#include "fsutil.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A kubelet pod list of 64 MiB is far above any node's pod count. */
#define MAX_POD_LIST_BYTES (64u * 1024u * 1024u)

/* Characters of Kubernetes' random name suffixes and template hashes. */
static const char name_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

const char *
cl_workload_kind_name(enum cl_workload_kind kind)
{
        switch (kind) {
        case CL_KIND_DEPLOYMENT:
                return "Deployment";
        case CL_KIND_REPLICASET:
                return "ReplicaSet";
        case CL_KIND_STATEFULSET:
                return "StatefulSet";
        case CL_KIND_DAEMONSET:
                return "DaemonSet";
        case CL_KIND_JOB:
                return "Job";
        case CL_KIND_CRONJOB:
                return "CronJob";
        case CL_KIND_DAEMONSET_OR_JOB:
                return "DaemonSet|Job";
        case CL_KIND_POD:
                break;
        }
        return "Pod";
}

const char *
cl_grouping_source_name(enum cl_grouping_source source)
{
        return source == CL_GROUPING_KUBELET ? "kubelet_pod_list"
                                             : "name_pattern";
}

/* Returns 1 when s[0..len) is len characters of the name alphabet. */
static int
is_random(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (s[i] == '\0' || strchr(name_alphabet, s[i]) == NULL)
                        return 0;
        return 1;
}

static int
is_digits(const char *s, size_t len)
{
        if (len == 0)
                return 0;
        for (size_t i = 0; i < len; i++)
                if (s[i] < '0' || s[i] > '9')
                        return 0;
        return 1;
}

/* Splits at the last '-': *head_len is the part before it, *tail after. */
static int
split_last(const char *s, size_t len, size_t *head_len, const char **tail,
           size_t *tail_len)
{
        for (size_t i = len; i > 0; i--) {
                if (s[i - 1] == '-') {
                        if (i - 1 == 0 || i == len)
                                return 0;
                        *head_len = i - 1;
                        *tail = s + i;
                        *tail_len = len - i;
                        return 1;
                }
        }
        return 0;
}

static void
copy_part(char *dst, size_t size, const char *src, size_t len)
{
        snprintf(dst, size, "%.*s", (int)len, src);
}

enum cl_workload_kind
cl_workload_from_name(const char *pod, char *name, size_t size)
{
        size_t len = strlen(pod), head, mid_head, tail_len, mid_len;
        const char *tail, *mid;

        snprintf(name, size, "%s", pod);
        if (!split_last(pod, len, &head, &tail, &tail_len))
                return CL_KIND_POD;
        if (is_digits(tail, tail_len)) {
                copy_part(name, size, pod, head);
                return CL_KIND_STATEFULSET;
        }
        if (tail_len != 5 || !is_random(tail, 5))
                return CL_KIND_POD;
        if (split_last(pod, head, &mid_head, &mid, &mid_len)) {
                if (mid_len >= 8 && is_digits(mid, mid_len)) {
                        copy_part(name, size, pod, mid_head);
                        return CL_KIND_CRONJOB;
                }
                if (mid_len >= 6 && mid_len <= 10 && is_random(mid, mid_len)) {
                        copy_part(name, size, pod, mid_head);
                        return CL_KIND_DEPLOYMENT;
                }
        }
        copy_part(name, size, pod, head);
        return CL_KIND_DAEMONSET_OR_JOB;
}

/* Maps a controller ownerReference to the workload it stands for. */
static void
owner_workload(const char *kind, const char *owner, struct cl_kubelet_pod *p)
{
        size_t len = strlen(owner), head, tail_len;
        const char *tail;

        snprintf(p->workload, sizeof(p->workload), "%s", owner);
        if (strcmp(kind, "ReplicaSet") == 0) {
                p->kind = CL_KIND_REPLICASET;
                if (split_last(owner, len, &head, &tail, &tail_len) &&
                    tail_len >= 6 && tail_len <= 10 &&
                    is_random(tail, tail_len)) {
                        p->kind = CL_KIND_DEPLOYMENT;
                        copy_part(p->workload, sizeof(p->workload), owner,
                                  head);
                }
        } else if (strcmp(kind, "StatefulSet") == 0) {
                p->kind = CL_KIND_STATEFULSET;
        } else if (strcmp(kind, "DaemonSet") == 0) {
                p->kind = CL_KIND_DAEMONSET;
        } else if (strcmp(kind, "Job") == 0) {
                p->kind = CL_KIND_JOB;
                /* A CronJob names its Jobs NAME-<scheduled minute>. */
                if (split_last(owner, len, &head, &tail, &tail_len) &&
                    tail_len >= 8 && is_digits(tail, tail_len)) {
                        p->kind = CL_KIND_CRONJOB;
                        copy_part(p->workload, sizeof(p->workload), owner,
                                  head);
                }
        } else {
                /* Static pods (owner Node) and unknown controllers. */
                p->kind = CL_KIND_POD;
        }
}

static const char *
get_string(json_object *o, const char *key)
{
        json_object *v;

        if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static void
read_owner(json_object *meta, struct cl_kubelet_pod *p)
{
        json_object *refs;

        p->kind = CL_KIND_POD;
        snprintf(p->workload, sizeof(p->workload), "%s", p->name);
        if (!json_object_object_get_ex(meta, "ownerReferences", &refs) ||
            !json_object_is_type(refs, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(refs); i++) {
                json_object *ref = json_object_array_get_idx(refs, i);
                json_object *controller;
                const char *kind = get_string(ref, "kind");
                const char *name = get_string(ref, "name");

                if (kind == NULL || name == NULL)
                        continue;
                if (json_object_object_get_ex(ref, "controller", &controller) &&
                    !json_object_get_boolean(controller))
                        continue;
                owner_workload(kind, name, p);
                return;
        }
}

static cl_err
parse_items(const char *path, json_object *items, struct cl_kubelet_pods *out)
{
        size_t n = json_object_array_length(items);

        out->pods = calloc(n + 1, sizeof(*out->pods));
        if (out->pods == NULL)
                return cl_fail(CL_ENOMEM, "pod list %s", path);
        for (size_t i = 0; i < n; i++) {
                json_object *meta;
                struct cl_kubelet_pod *p = &out->pods[out->n_pods];
                const char *name, *ns, *uid;

                if (!json_object_object_get_ex(
                        json_object_array_get_idx(items, i), "metadata",
                        &meta) ||
                    (name = get_string(meta, "name")) == NULL)
                        return cl_fail(CL_EFORMAT,
                                       "pod list %s: item %zu has no "
                                       "metadata.name",
                                       path, i);
                ns = get_string(meta, "namespace");
                uid = get_string(meta, "uid");
                snprintf(p->name, sizeof(p->name), "%s", name);
                snprintf(p->namespace_, sizeof(p->namespace_), "%s",
                         ns != NULL ? ns : "");
                snprintf(p->uid, sizeof(p->uid), "%s", uid != NULL ? uid : "");
                read_owner(meta, p);
                out->n_pods++;
        }
        return CL_OK;
}

cl_err
cl_kubelet_pods_load(const char *path, struct cl_kubelet_pods *out)
{
        json_object *doc = NULL, *items;
        char *text = NULL;
        size_t len;
        cl_err rc;

        memset(out, 0, sizeof(*out));
        snprintf(out->path, sizeof(out->path), "%s", path);
        rc = cl_read_file(path, MAX_POD_LIST_BYTES, &text, &len);
        if (rc != CL_OK)
                return rc;
        doc = json_tokener_parse(text);
        if (doc == NULL) {
                rc = cl_fail(CL_EFORMAT, "pod list %s is not valid JSON", path);
                goto out;
        }
        if (!json_object_object_get_ex(doc, "items", &items) ||
            !json_object_is_type(items, json_type_array)) {
                rc = cl_fail(CL_EFORMAT,
                             "pod list %s has no \"items\" array (expected "
                             "the kubelet's /pods PodList)",
                             path);
                goto out;
        }
        rc = parse_items(path, items, out);
out:
        if (rc != CL_OK)
                cl_kubelet_pods_free(out);
        json_object_put(doc);
        free(text);
        return rc;
}

void
cl_kubelet_pods_free(struct cl_kubelet_pods *pods)
{
        free(pods->pods);
        pods->pods = NULL;
        pods->n_pods = 0;
}

static const struct cl_kubelet_pod *
find_kubelet_pod(const struct cl_kubelet_pods *k,
                 const struct cl_workload_report *w)
{
        if (k == NULL)
                return NULL;
        for (size_t i = 0; i < k->n_pods; i++)
                if (k->pods[i].uid[0] != '\0' &&
                    strcmp(k->pods[i].uid, w->pod_uid) == 0)
                        return &k->pods[i];
        for (size_t i = 0; i < k->n_pods; i++)
                if (strcmp(k->pods[i].namespace_, w->namespace_) == 0 &&
                    strcmp(k->pods[i].name, w->pod) == 0)
                        return &k->pods[i];
        return NULL;
}

static struct cl_workload_group *
find_group(struct cl_workload_set *set, const char *ns, const char *name,
           enum cl_workload_kind kind)
{
        for (size_t i = 0; i < set->n_groups; i++) {
                struct cl_workload_group *g = &set->groups[i];

                if (g->kind == kind && strcmp(g->namespace_, ns) == 0 &&
                    strcmp(g->name, name) == 0)
                        return g;
        }
        return NULL;
}

static int
compare_groups(const void *a, const void *b)
{
        const struct cl_workload_group *x = a, *y = b;
        int c = strcmp(x->namespace_, y->namespace_);

        if (c == 0)
                c = strcmp(x->name, y->name);
        if (c == 0)
                c = (int)x->kind - (int)y->kind;
        return c;
}

cl_err
cl_workloads_group(const struct cl_report_model *m,
                   const struct cl_kubelet_pods *kubelet,
                   struct cl_workload_set *out)
{
        cl_err rc = CL_OK;

        memset(out, 0, sizeof(*out));
        /* At most one group per pod, plus one so calloc never gets 0. */
        out->groups = calloc(m->n_workloads + 1, sizeof(*out->groups));
        if (out->groups == NULL)
                return cl_fail(CL_ENOMEM, "workload groups");
        for (size_t i = 0; i < m->n_workloads; i++) {
                const struct cl_workload_report *w = &m->workloads[i];
                const struct cl_kubelet_pod *k = find_kubelet_pod(kubelet, w);
                enum cl_grouping_source source = CL_GROUPING_NAME_PATTERN;
                struct cl_workload_group *g;
                enum cl_workload_kind kind;
                char name[254];
                size_t *grown;

                if (k != NULL) {
                        kind = k->kind;
                        snprintf(name, sizeof(name), "%s", k->workload);
                        source = CL_GROUPING_KUBELET;
                        out->from_kubelet++;
                } else {
                        kind =
                            cl_workload_from_name(w->pod, name, sizeof(name));
                        out->from_name++;
                }
                g = find_group(out, w->namespace_, name, kind);
                if (g == NULL) {
                        g = &out->groups[out->n_groups++];
                        snprintf(g->namespace_, sizeof(g->namespace_), "%s",
                                 w->namespace_);
                        snprintf(g->name, sizeof(g->name), "%s", name);
                        g->kind = kind;
                        g->source = source;
                }
                grown = realloc(g->members,
                                (g->n_members + 1) * sizeof(*g->members));
                if (grown == NULL) {
                        rc = cl_fail(CL_ENOMEM, "workload members");
                        break;
                }
                g->members = grown;
                g->members[g->n_members++] = i;
        }
        if (rc != CL_OK) {
                cl_workload_set_free(out);
                return rc;
        }
        if (out->n_groups > 1)
                qsort(out->groups, out->n_groups, sizeof(*out->groups),
                      compare_groups);
        return CL_OK;
}

void
cl_workload_set_free(struct cl_workload_set *set)
{
        for (size_t i = 0; i < set->n_groups; i++)
                free(set->groups[i].members);
        free(set->groups);
        memset(set, 0, sizeof(*set));
}
