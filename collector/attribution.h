/*
 * Splitting one interval's node energy between pods, idle and system.
 *
 * pod_i = E x pod_cpu_i / total_cpu; idle = E x idle_cpu / total_cpu;
 * system (host processes and kernel) = the rest, so
 * sum(pods) + idle + system = E exactly, in integer microjoules, with the
 * rounding remainders going to system. The CPU readings are not
 * simultaneous, so when the pods' CPU time exceeds the busy time
 * (total - idle), the pods are scaled down to exactly the busy share,
 * system is 0 and the remainders go to the pods.
 */
#ifndef CL_ATTRIBUTION_H
#define CL_ATTRIBUTION_H

#include <stddef.h>
#include <stdint.h>

struct cl_attribution {
        uint64_t idle_uj;
        uint64_t system_uj;
        uint64_t pods_uj;
        int scaled; /* 1 when the pods were scaled down to the busy time */
};

/*
 * Attributes energy_uj of an interval. total_us and idle_us are the node's
 * CPU time in the interval (idle includes iowait), pod_us[i] each pod's.
 * Writes each pod's energy to pod_uj[i] and the split to *out. With
 * total_us == 0 all energy goes to system. idle_us above total_us is
 * clamped to total_us.
 */
void cl_attribute(uint64_t energy_uj, uint64_t total_us, uint64_t idle_us,
                  const uint64_t *pod_us, size_t n_pods, uint64_t *pod_uj,
                  struct cl_attribution *out);

#endif
