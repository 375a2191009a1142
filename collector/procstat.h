/*
 * Node CPU time from /proc/stat and the boot identity from procfs.
 */
#ifndef CL_PROCSTAT_H
#define CL_PROCSTAT_H

#include "err.h"

#include <stdint.h>

/* Cumulative CPU time of all CPUs, in clock ticks (USER_HZ). */
struct cl_cpu_times {
        uint64_t total; /* user + nice + system + idle + iowait + irq +
                           softirq + steal; guest time is already inside
                           user and nice, so it is not added */
        uint64_t idle;  /* idle + iowait */
};

/*
 * Parses the aggregate "cpu " line of /proc/stat text. path names the file
 * in messages. Fails with CL_EFORMAT naming path and the line when it is
 * missing, has fewer than eight numeric fields or a field that is not a
 * number.
 */
cl_err cl_procstat_parse(const char *text, const char *path,
                         struct cl_cpu_times *out) CL_MUST_CHECK;

/* Reads and parses procfs/stat. */
cl_err cl_procstat_read(const char *procfs,
                        struct cl_cpu_times *out) CL_MUST_CHECK;

/*
 * Reads procfs/sys/kernel/random/boot_id (a UUID that changes at every
 * boot) into buf without the newline.
 */
cl_err cl_read_boot_id(const char *procfs, char buf[40]) CL_MUST_CHECK;

#endif
