/*
 * RAPL energy counters from the Linux powercap interface.
 *
 * Zones live under <sysfs>/class/powercap/. A folder is a zone only if it
 * has a name file. Of the zones, the node's energy is psys when present,
 * otherwise the sum of package-N and dram zones; core and uncore lie
 * inside their package, so they are read and stored but not counted.
 * intel-rapl-mmio:N is a second interface to a package counter and is
 * skipped when an intel-rapl: zone of the same name exists.
 */
#ifndef CL_RAPL_H
#define CL_RAPL_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

struct cl_rapl_zone {
        char path[64];         /* folder name, e.g. "intel-rapl:0:1" */
        char name[32];         /* e.g. "package-0", "dram", "core" */
        uint64_t max_range_uj; /* max_energy_range_uj: wrap point */
        int counted;           /* 1 when part of the node's energy */
        int fd;                /* open energy_uj, re-read with pread */
};

struct cl_rapl {
        struct cl_rapl_zone *zones;
        size_t n;
        size_t n_counted;
};

/*
 * Discovers the zones under sysfs/class/powercap and opens their energy_uj
 * files, so a daemon started as root keeps reading after dropping
 * privileges. A zone is left out, with a warning naming the file and the
 * reason, when its energy_uj cannot be opened or read (EACCES for
 * non-root readers since Linux 5.10), it has no readable
 * max_energy_range_uj (wraps could not be detected), or its enabled file
 * reads 0. A missing or empty powercap folder gives out->n == 0 and CL_OK.
 * Release with cl_rapl_close().
 */
cl_err cl_rapl_discover(const char *sysfs, struct cl_rapl *out) CL_MUST_CHECK;

/* Closes the zones' files and frees the array. */
void cl_rapl_close(struct cl_rapl *rapl);

/*
 * Reads the current energy_uj of zone. Fails with CL_EIO or CL_EFORMAT
 * naming the zone.
 */
cl_err cl_rapl_read(const struct cl_rapl_zone *zone,
                    uint64_t *energy_uj) CL_MUST_CHECK;

/*
 * Computes the energy between two readings of a counter that wraps at
 * max_range (all in uJ): cur - prev, or (max_range - prev) + cur after a
 * wrap. Returns 0 and sets *delta, or -1 when the delta is unknown: the
 * range is 0, or a reading lies above the range.
 */
int cl_rapl_delta(uint64_t cur, uint64_t prev, uint64_t max_range,
                  uint64_t *delta);

/*
 * Returns 1 when a counter of max_range_uj cannot have wrapped unseen in
 * elapsed_ns at max_watts: elapsed x max_watts < max_range. A longer
 * interval might hide a whole wrap, so its delta is unknown.
 */
int cl_rapl_base_fresh(int64_t elapsed_ns, uint64_t max_range_uj,
                       double max_watts);

#endif
