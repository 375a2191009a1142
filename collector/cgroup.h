/*
 * Finding Kubernetes pods in the cgroup tree and reading their CPU time.
 *
 * A pod is counted once, from its pod-level cgroup (v2 cpu.stat
 * usage_usec, v1 cpuacct.usage in ns): never also from its containers.
 * Where no pod-level cgroup exists (containerd on cgroup v1 with the
 * systemd driver names containers "...-pod<uid>.slice:cri-containerd:<id>"
 * directly below the runtime's service), the pod's time is the sum of its
 * container cgroups.
 */
#ifndef CL_CGROUP_H
#define CL_CGROUP_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* Length of a pod UID in the API form, 8-4-4-4-12 hex digits and dashes. */
#define CL_POD_UID_LEN 36

/* Kind of cgroup a path names, from cl_cgroup_parse_path(). */
enum cl_cgroup_kind {
        CL_CGROUP_OTHER,     /* no pod in the path */
        CL_CGROUP_POD,       /* the pod-level cgroup itself */
        CL_CGROUP_CONTAINER, /* a container cgroup of a pod */
};

/*
 * Parses one cgroup path, with or without the "hierarchy:controllers:"
 * prefix of a /proc/<pid>/cgroup line, in every form the kubelet and the
 * runtimes write: QoS classes burstable, besteffort and guaranteed (no
 * class in the path); the systemd driver (UID with underscores, ".slice")
 * and the cgroupfs driver ("pod<uid>"); cri-o ("crio-<id>.scope"),
 * containerd ("cri-containerd-<id>.scope", ":cri-containerd:<id>") and
 * docker ("docker-<id>.scope", bare 64-hex ids); nested trees (kind,
 * docker-in-docker), where the innermost (rightmost) pod is taken.
 *
 * Writes the UID in the API form (dashes, lower case) to uid, and the
 * container id (up to 64 hex digits, "" when none) to container_id.
 * Returns the kind; uid is "" for CL_CGROUP_OTHER.
 */
enum cl_cgroup_kind cl_cgroup_parse_path(const char *path,
                                         char uid[CL_POD_UID_LEN + 1],
                                         char container_id[65]);

/* CPU usage of one pod, cumulative since its cgroup was created. */
struct cl_pod_cpu {
        char uid[CL_POD_UID_LEN + 1];
        uint64_t usage_us;
};

/* Hierarchy the CPU accounting was read from. */
enum cl_cgroup_version {
        CL_CGROUP_V1,
        CL_CGROUP_V2,
};

/*
 * Scans the cgroup filesystem at root (a v2 mount, or the folder holding
 * the v1 controller mounts such as cpuacct or "cpu,cpuacct") for pods and
 * reads each pod's cumulative CPU usage. On a hybrid host (v1 controllers
 * plus a v2 mount at root/unified), the v1 cpuacct hierarchy is used
 * unless it has no pods and the unified one has. procfs, when not NULL, is
 * searched (<procfs>/<pid>/cgroup) for pods outside the walked tree, but
 * only when the walk finds no pods, because it reads one file per process.
 *
 * On success *pods is a new array of *n entries sorted by UID, or NULL
 * when *n is 0; the caller frees it. *version is the hierarchy that was
 * read. A root without any cgroup hierarchy gives *n = 0, CL_CGROUP_V2 as
 * a guess, and one warning per process. A UID found in several places
 * gives one entry: its pod-level cgroup (the largest usage, when a stale
 * copy exists), else the sum of its container leaves.
 *
 * One pod's failure never fails the scan. A pod whose cpu.stat or
 * cpuacct.usage is malformed (the CL_EFORMAT message names the file and
 * the line) or unreadable is left out with a cgroup_pod_skipped warning
 * that carries the message; one that vanishes during the scan (ENOENT or
 * ENODEV) is left out with a debug line, because pods end at any time.
 * The scan fails with CL_EIO, naming the path and the errno text, when
 * root, its cpuacct folder or procfs cannot be opened, and with
 * CL_ENOMEM.
 */
cl_err cl_cgroup_scan_pods(const char *root, const char *procfs,
                           struct cl_pod_cpu **pods, size_t *n,
                           enum cl_cgroup_version *version) CL_MUST_CHECK;

/*
 * A pod scanner that keeps state between scans, for a caller that scans
 * the same tree every interval: it keeps the pods' accounting files open
 * and re-reads them with pread(), and walks the tree again only when it
 * may have changed. See cgroup.c for its states.
 */
struct cl_cgroup_scanner;

/*
 * Creates a scanner of the tree at root, with the procfs fallback of
 * cl_cgroup_scan_pods() when procfs is not NULL (both strings are
 * copied). It opens nothing until its first scan. At most max_fds
 * accounting files stay open between scans (0: none); a pod beyond the
 * limit is opened and closed at every scan. A scan walks the tree when
 * walk_every scans have passed since the last walk (1: every scan), when
 * a folder seen by the walk has gained or lost a subfolder (its st_nlink
 * changed) or was replaced, or when a tracked pod's file is gone.
 *
 * NOTE: between walks, three kinds of new pods wait for the next periodic
 * walk, and their CPU time up to then is counted in that interval: pods
 * on filesystems that report a folder link count of 1 (btrfs,
 * overlayfs), pods below a folder the walk could not list, and pods found
 * only by the procfs fallback. On filesystems other than the cgroup
 * filesystem an open file of a removed pod stays readable, so a pod
 * removed and another made in the same folder between two scans leave
 * the old pod reported with its last counter until the next walk.
 *
 * Fails with CL_EINVAL when walk_every is 0 and with CL_ENOMEM. The
 * caller frees the scanner with cl_cgroup_scanner_close().
 */
cl_err cl_cgroup_scanner_open(const char *root, const char *procfs,
                              size_t max_fds, unsigned walk_every,
                              struct cl_cgroup_scanner **out) CL_MUST_CHECK;

/*
 * Scans like cl_cgroup_scan_pods(), with the same result, logging and
 * errors, but *pods points into the scanner: it stays valid until the
 * next scan or close and the caller does not free it (NULL when *n is 0).
 * A failed walk closes every descriptor, so the next scan walks again.
 */
cl_err cl_cgroup_scanner_scan(struct cl_cgroup_scanner *scanner,
                              const struct cl_pod_cpu **pods, size_t *n,
                              enum cl_cgroup_version *version) CL_MUST_CHECK;

/* Returns the number of accounting files the scanner holds open. */
size_t cl_cgroup_scanner_open_fds(const struct cl_cgroup_scanner *scanner);

/* Closes every descriptor of scanner and frees it; NULL is ignored. */
void cl_cgroup_scanner_close(struct cl_cgroup_scanner *scanner);

/*
 * Reads usage_usec from the text of a cgroup v2 cpu.stat file. Fails with
 * CL_EFORMAT naming path (used only in the message) when the key is
 * missing or a line is malformed.
 */
cl_err cl_cgroup_parse_cpu_stat(const char *text, const char *path,
                                uint64_t *usage_us) CL_MUST_CHECK;

#endif
