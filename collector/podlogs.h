/*
 * Pod names and namespaces from the kubelet's log folder, which holds one
 * folder per pod named <namespace>_<pod-name>_<pod-uid>. Neither names nor
 * namespaces may contain '_', so the split is unambiguous.
 */
#ifndef CL_PODLOGS_H
#define CL_PODLOGS_H

#include "cgroup.h"
#include "err.h"

#include <stddef.h>

struct cl_pod_name {
        char uid[CL_POD_UID_LEN + 1];
        char namespace_[64]; /* DNS label, at most 63 characters */
        char name[254];      /* DNS subdomain, at most 253 characters */
};

/*
 * Reads the folder names under dir. On success *names is a new array of
 * *n entries sorted by UID, with UIDs in lower case, or NULL when *n is 0
 * (caller frees). Entries that are not folders or do not have the
 * three-part form are skipped. Of folders that share a UID, only the first
 * in sort order is kept. A missing dir gives *n = 0 and CL_OK, since a
 * host without a kubelet has no pods to name; another failure to read it
 * is CL_EIO naming dir.
 */
cl_err cl_podlogs_read(const char *dir, struct cl_pod_name **names,
                       size_t *n) CL_MUST_CHECK;

/*
 * Returns the entry of names (sorted by UID, as cl_podlogs_read() returns
 * them) for uid in the API form (lower case), or NULL.
 */
const struct cl_pod_name *cl_podlogs_find(const struct cl_pod_name *names,
                                          size_t n, const char *uid);

#endif
