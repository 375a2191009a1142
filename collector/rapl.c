/*
 * RAPL zone discovery and counter arithmetic. Discovery runs once at
 * start; each interval then costs one pread per zone.
 */
#include "rapl.h"

#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAPL_PREFIX "intel-rapl:"
#define RAPL_MMIO_PREFIX "intel-rapl-mmio:"

static int
starts_with(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
compare_zone_path(const void *a, const void *b)
{
        const struct cl_rapl_zone *za = a, *zb = b;

        return strcmp(za->path, zb->path);
}

static void
trim_newline(char *s)
{
        size_t len = strlen(s);

        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
                s[--len] = '\0';
}

/*
 * Opens and checks one zone folder. Returns 1 when the zone is usable
 * (*zone filled, fd open), 0 when it is not a zone or is left out.
 */
static int
probe_zone(const char *base, const char *entry, struct cl_rapl_zone *zone)
{
        char path[PATH_MAX], buf[64];
        uint64_t value;
        cl_err rc;

        memset(zone, 0, sizeof(*zone));
        zone->fd = -1;
        if (cl_path_join(path, sizeof(path), base, entry) != CL_OK ||
            strlen(path) + 32 >= sizeof(path))
                return 0;
        snprintf(path, sizeof(path), "%s/%s/name", base, entry);
        if (cl_read_small(path, buf, sizeof(buf)) != CL_OK)
                return 0; /* no name file: not a zone */
        trim_newline(buf);
        if (strlen(buf) >= sizeof(zone->name))
                return 0;
        memcpy(zone->name, buf, strlen(buf) + 1);
        snprintf(zone->path, sizeof(zone->path), "%s", entry);

        snprintf(path, sizeof(path), "%s/%s/enabled", base, entry);
        if (cl_read_small(path, buf, sizeof(buf)) == CL_OK &&
            cl_parse_u64(buf, path, &value) == CL_OK && value == 0) {
                cl_warn("rapl_zone_skipped", "zone=%s name=%s reason=disabled",
                        entry, zone->name);
                return 0;
        }
        snprintf(path, sizeof(path), "%s/%s/max_energy_range_uj", base, entry);
        rc = cl_read_small(path, buf, sizeof(buf));
        if (rc == CL_OK)
                rc = cl_parse_u64(buf, path, &zone->max_range_uj);
        if (rc == CL_OK && zone->max_range_uj == 0)
                rc = cl_fail(CL_EFORMAT, "%s is 0", path);
        if (rc != CL_OK) {
                cl_warn("rapl_zone_skipped",
                        "zone=%s name=%s reason=\"no usable "
                        "max_energy_range_uj, wraps cannot be detected\" "
                        "error=\"%s\"",
                        entry, zone->name, cl_last_error());
                return 0;
        }
        snprintf(path, sizeof(path), "%s/%s/energy_uj", base, entry);
        zone->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (zone->fd < 0) {
                cl_warn("rapl_zone_skipped",
                        "zone=%s name=%s file=%s reason=\"open failed: %s\"",
                        entry, zone->name, path, strerror(errno));
                return 0;
        }
        if (cl_rapl_read(zone, &value) != CL_OK) {
                cl_warn("rapl_zone_skipped", "zone=%s name=%s reason=\"%s\"",
                        entry, zone->name, cl_last_error());
                close(zone->fd);
                zone->fd = -1;
                return 0;
        }
        return 1;
}

/* Drops mmio zones that duplicate an intel-rapl: zone of the same name. */
static void
drop_mmio_duplicates(struct cl_rapl *rapl)
{
        size_t out = 0;

        for (size_t i = 0; i < rapl->n; i++) {
                struct cl_rapl_zone *z = &rapl->zones[i];
                int duplicate = 0;

                if (starts_with(z->path, RAPL_MMIO_PREFIX))
                        for (size_t j = 0; j < rapl->n; j++)
                                if (starts_with(rapl->zones[j].path,
                                                RAPL_PREFIX) &&
                                    strcmp(rapl->zones[j].name, z->name) == 0)
                                        duplicate = 1;
                if (duplicate) {
                        cl_info("rapl_zone_skipped",
                                "zone=%s name=%s reason=\"same counter as "
                                "an intel-rapl zone\"",
                                z->path, z->name);
                        close(z->fd);
                        continue;
                }
                rapl->zones[out++] = *z;
        }
        rapl->n = out;
}

static void
mark_counted(struct cl_rapl *rapl)
{
        int has_psys = 0;

        for (size_t i = 0; i < rapl->n; i++)
                if (strcmp(rapl->zones[i].name, "psys") == 0)
                        has_psys = 1;
        rapl->n_counted = 0;
        for (size_t i = 0; i < rapl->n; i++) {
                struct cl_rapl_zone *z = &rapl->zones[i];

                if (has_psys)
                        z->counted = strcmp(z->name, "psys") == 0;
                else
                        z->counted = starts_with(z->name, "package-") ||
                                     strcmp(z->name, "dram") == 0;
                rapl->n_counted += (size_t)z->counted;
        }
}

cl_err
cl_rapl_discover(const char *sysfs, struct cl_rapl *out)
{
        char base[PATH_MAX];
        struct dirent *de;
        size_t cap = 0;
        cl_err rc = CL_OK;
        DIR *dir;

        memset(out, 0, sizeof(*out));
        if (snprintf(base, sizeof(base), "%s/class/powercap", sysfs) >=
            (int)sizeof(base))
                return cl_fail(CL_EINVAL, "sysfs path too long: %s", sysfs);
        dir = opendir(base);
        if (dir == NULL) {
                cl_info("rapl_absent", "path=%s reason=\"%s\"", base,
                        strerror(errno));
                return CL_OK;
        }
        while ((de = readdir(dir)) != NULL) {
                struct cl_rapl_zone zone;

                if (!starts_with(de->d_name, RAPL_PREFIX) &&
                    !starts_with(de->d_name, RAPL_MMIO_PREFIX))
                        continue;
                if (!probe_zone(base, de->d_name, &zone))
                        continue;
                if (out->n == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        void *grown =
                            realloc(out->zones, ncap * sizeof(*out->zones));

                        if (grown == NULL) {
                                close(zone.fd);
                                rc = cl_fail(CL_ENOMEM, "RAPL zones");
                                break;
                        }
                        out->zones = grown;
                        cap = ncap;
                }
                out->zones[out->n++] = zone;
        }
        closedir(dir);
        if (rc != CL_OK) {
                cl_rapl_close(out);
                return rc;
        }
        drop_mmio_duplicates(out);
        if (out->n > 1)
                qsort(out->zones, out->n, sizeof(*out->zones),
                      compare_zone_path);
        mark_counted(out);
        return CL_OK;
}

void
cl_rapl_close(struct cl_rapl *rapl)
{
        for (size_t i = 0; i < rapl->n; i++)
                if (rapl->zones[i].fd >= 0)
                        close(rapl->zones[i].fd);
        free(rapl->zones);
        memset(rapl, 0, sizeof(*rapl));
}

cl_err
cl_rapl_read(const struct cl_rapl_zone *zone, uint64_t *energy_uj)
{
        char buf[32], what[96];
        ssize_t n;

        n = pread(zone->fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
                return cl_fail_errno(CL_EIO, errno, "read %s/energy_uj",
                                     zone->path);
        buf[n] = '\0';
        snprintf(what, sizeof(what), "%s/energy_uj", zone->path);
        return cl_parse_u64(buf, what, energy_uj);
}

int
cl_rapl_delta(uint64_t cur, uint64_t prev, uint64_t max_range, uint64_t *delta)
{
        if (max_range == 0 || cur > max_range || prev > max_range)
                return -1;
        if (cur >= prev)
                *delta = cur - prev;
        else
                *delta = (max_range - prev) + cur;
        return 0;
}

int
cl_rapl_base_fresh(int64_t elapsed_ns, uint64_t max_range_uj, double max_watts)
{
        /* W x s = J; J x 1e6 = uJ. */
        double reach_uj = max_watts * ((double)elapsed_ns / 1e9) * 1e6;

        return elapsed_ns >= 0 && reach_uj < (double)max_range_uj;
}
