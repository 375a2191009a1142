/*
 * Integer attribution of interval energy. Products of energy (up to about
 * 1e13 uJ) and CPU time (up to about 1e10 us) overflow 64 bits, so they
 * are formed in unsigned __int128.
 */
#include "attribution.h"

#include <string.h>

typedef unsigned __int128 u128;

void
cl_attribute(uint64_t energy_uj, uint64_t total_us, uint64_t idle_us,
             const uint64_t *pod_us, size_t n_pods, uint64_t *pod_uj,
             struct cl_attribution *out)
{
        uint64_t busy_us, pods_cpu = 0, assigned = 0;

        memset(out, 0, sizeof(*out));
        if (total_us == 0) {
                for (size_t i = 0; i < n_pods; i++)
                        pod_uj[i] = 0;
                out->system_uj = energy_uj;
                return;
        }
        if (idle_us > total_us)
                idle_us = total_us;
        busy_us = total_us - idle_us;
        out->idle_uj = (uint64_t)((u128)energy_uj * idle_us / total_us);
        for (size_t i = 0; i < n_pods; i++)
                pods_cpu += pod_us[i];

        if (pods_cpu <= busy_us) {
                for (size_t i = 0; i < n_pods; i++) {
                        pod_uj[i] =
                            (uint64_t)((u128)energy_uj * pod_us[i] / total_us);
                        assigned += pod_uj[i];
                }
                out->pods_uj = assigned;
                out->system_uj = energy_uj - out->idle_uj - assigned;
                return;
        }

        /* Scale: the pods together get exactly the busy share. */
        uint64_t active_uj = energy_uj - out->idle_uj;

        for (size_t i = 0; i < n_pods; i++) {
                pod_uj[i] = (uint64_t)((u128)active_uj * pod_us[i] / pods_cpu);
                assigned += pod_uj[i];
        }
        /* Floors lose less than one uJ per pod; hand them out in order. */
        for (size_t i = 0; assigned < active_uj && n_pods > 0; i++) {
                if (pod_us[i % n_pods] == 0)
                        continue;
                pod_uj[i % n_pods]++;
                assigned++;
        }
        out->pods_uj = assigned;
        out->system_uj = 0;
        out->scaled = 1;
}
