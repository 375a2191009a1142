/*
 * /proc/stat parsing. Only the aggregate "cpu " line is read; its fields
 * are user nice system idle iowait irq softirq steal guest guest_nice.
 */
#include "procstat.h"

#include "fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cl_err
cl_procstat_parse(const char *text, const char *path, struct cl_cpu_times *out)
{
        uint64_t field[8];
        const char *line = text, *p;
        size_t line_len;

        while (line != NULL && strncmp(line, "cpu ", 4) != 0) {
                line = strchr(line, '\n');
                if (line != NULL)
                        line++;
        }
        if (line == NULL)
                return cl_fail(CL_EFORMAT, "%s: no aggregate 'cpu' line", path);
        p = strchr(line, '\n');
        line_len = p != NULL ? (size_t)(p - line) : strlen(line);
        p = line + 4;
        for (int i = 0; i < 8; i++) {
                unsigned long long v;
                char *end;

                while (*p == ' ')
                        p++;
                if (*p < '0' || *p > '9')
                        return cl_fail(CL_EFORMAT,
                                       "%s: malformed cpu line (field %d is "
                                       "not a number): '%.*s'",
                                       path, i + 1, (int)line_len, line);
                errno = 0;
                v = strtoull(p, &end, 10);
                if (errno == ERANGE ||
                    (*end != ' ' && *end != '\n' && *end != '\0'))
                        return cl_fail(CL_EFORMAT,
                                       "%s: malformed cpu line (field %d): "
                                       "'%.*s'",
                                       path, i + 1, (int)line_len, line);
                field[i] = v;
                p = end;
        }
        out->total = 0;
        for (int i = 0; i < 8; i++) {
                /* Eight fields below 2^60 cannot overflow the sum. */
                if (field[i] >= UINT64_C(1) << 60)
                        return cl_fail(CL_EFORMAT,
                                       "%s: cpu line field %d out of range: "
                                       "'%.*s'",
                                       path, i + 1, (int)line_len, line);
                out->total += field[i];
        }
        out->idle = field[3] + field[4];
        return CL_OK;
}

cl_err
cl_procstat_read(const char *procfs, struct cl_cpu_times *out)
{
        char path[PATH_MAX], buf[8192];
        cl_err rc;

        rc = cl_path_join(path, sizeof(path), procfs, "stat");
        if (rc != CL_OK)
                return rc;
        /* The aggregate line comes first, so a cut-off tail is harmless. */
        rc = cl_read_small(path, buf, sizeof(buf));
        if (rc == CL_EFORMAT) {
                FILE *f = fopen(path, "r");

                if (f == NULL)
                        return cl_fail_errno(CL_EIO, errno, "open %s", path);
                if (fgets(buf, sizeof(buf), f) == NULL)
                        buf[0] = '\0';
                fclose(f);
                rc = CL_OK;
        }
        if (rc != CL_OK)
                return rc;
        return cl_procstat_parse(buf, path, out);
}

cl_err
cl_read_boot_id(const char *procfs, char buf[40])
{
        char path[PATH_MAX];
        size_t len;
        cl_err rc;

        rc = cl_path_join(path, sizeof(path), procfs,
                          "sys/kernel/random/boot_id");
        if (rc != CL_OK)
                return rc;
        rc = cl_read_small(path, buf, 40);
        if (rc != CL_OK)
                return rc;
        len = strlen(buf);
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                buf[--len] = '\0';
        if (len == 0)
                return cl_fail(CL_EFORMAT, "%s: empty", path);
        return CL_OK;
}
