/*
 * File helpers. Every failure names the operation and the path.
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

cl_err
cl_read_small(const char *path, char *buf, size_t size)
{
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return cl_fail_errno(CL_EIO, errno, "open %s", path);
        n = read(fd, buf, size);
        if (n < 0) {
                int saved = errno;

                close(fd);
                return cl_fail_errno(CL_EIO, saved, "read %s", path);
        }
        close(fd);
        if ((size_t)n >= size)
                return cl_fail(CL_EFORMAT, "%s: content longer than %zu bytes",
                               path, size - 1);
        buf[n] = '\0';
        return CL_OK;
}

cl_err
cl_read_file(const char *path, size_t max_bytes, char **out, size_t *len)
{
        size_t cap = 4096, used = 0;
        char *buf = NULL, *grown;
        struct stat st;
        cl_err rc = CL_OK;
        ssize_t n;
        int fd;

        *out = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return cl_fail_errno(CL_EIO, errno, "open %s", path);
        /* A FIFO or device would block or never end. */
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return cl_fail(CL_EIO, "%s is not a regular file", path);
        }
        buf = malloc(cap);
        if (buf == NULL) {
                rc = cl_fail(CL_ENOMEM, "read %s: out of memory", path);
                goto out;
        }
        for (;;) {
                if (used + 1 >= cap) {
                        if (cap > max_bytes) {
                                rc = cl_fail(CL_EFORMAT,
                                             "%s: larger than %zu bytes", path,
                                             max_bytes);
                                goto out;
                        }
                        grown = realloc(buf, cap * 2);
                        if (grown == NULL) {
                                rc = cl_fail(CL_ENOMEM,
                                             "read %s: out of memory", path);
                                goto out;
                        }
                        buf = grown;
                        cap *= 2;
                }
                n = read(fd, buf + used, cap - used - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        rc = cl_fail_errno(CL_EIO, errno, "read %s", path);
                        goto out;
                }
                if (n == 0)
                        break;
                used += (size_t)n;
        }
        if (used > max_bytes) {
                rc = cl_fail(CL_EFORMAT, "%s: larger than %zu bytes", path,
                             max_bytes);
                goto out;
        }
        buf[used] = '\0';
        *out = buf;
        buf = NULL;
        if (len != NULL)
                *len = used;
out:
        free(buf);
        close(fd);
        return rc;
}

cl_err
cl_parse_u64(const char *text, const char *what, uint64_t *out)
{
        const char *p = text;
        unsigned long long v;
        char *end;

        while (*p == ' ' || *p == '\t' || *p == '\n')
                p++;
        if (*p < '0' || *p > '9')
                return cl_fail(CL_EFORMAT,
                               "%s: not an unsigned integer: '%.40s'", what,
                               text);
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno == ERANGE)
                return cl_fail(CL_EFORMAT, "%s: out of range: '%.40s'", what,
                               text);
        while (*end == ' ' || *end == '\t' || *end == '\n')
                end++;
        if (*end != '\0')
                return cl_fail(CL_EFORMAT,
                               "%s: trailing characters after number: '%.40s'",
                               what, text);
        *out = (uint64_t)v;
        return CL_OK;
}

cl_err
cl_tmp_path(const char *final, char *buf, size_t size)
{
        const char *slash = strrchr(final, '/');
        int n;

        if (slash == NULL)
                n = snprintf(buf, size, ".%s.tmp", final);
        else
                n = snprintf(buf, size, "%.*s/.%s.tmp", (int)(slash - final),
                             final, slash + 1);
        if (n < 0 || (size_t)n >= size)
                return cl_fail(CL_EINVAL, "path too long: %s", final);
        return CL_OK;
}

cl_err
cl_write_file(const char *path, const void *data, size_t len)
{
        const char *p = data;
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return cl_fail_errno(CL_EIO, errno, "create %s", path);
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        int saved = errno;

                        if (saved == EINTR)
                                continue;
                        close(fd);
                        return cl_fail_errno(CL_EIO, saved, "write %s", path);
                }
                p += n;
                len -= (size_t)n;
        }
        if (fsync(fd) != 0) {
                int saved = errno;

                close(fd);
                return cl_fail_errno(CL_EIO, saved, "fsync %s", path);
        }
        if (close(fd) != 0)
                return cl_fail_errno(CL_EIO, errno, "close %s", path);
        return CL_OK;
}

static cl_err
fsync_path(const char *path, int flags)
{
        int fd = open(path, flags | O_CLOEXEC);

        if (fd < 0)
                return cl_fail_errno(CL_EIO, errno, "open %s", path);
        if (fsync(fd) != 0 && errno != EINVAL) {
                int saved = errno;

                close(fd);
                return cl_fail_errno(CL_EIO, saved, "fsync %s", path);
        }
        close(fd);
        return CL_OK;
}

cl_err
cl_commit_file(const char *tmp, const char *final)
{
        char dir[PATH_MAX];
        const char *slash;
        cl_err rc;

        rc = fsync_path(tmp, O_RDONLY);
        if (rc != CL_OK)
                return rc;
        if (rename(tmp, final) != 0)
                return cl_fail_errno(CL_EIO, errno, "rename %s to %s", tmp,
                                     final);
        slash = strrchr(final, '/');
        if (slash == NULL)
                snprintf(dir, sizeof(dir), ".");
        else if (slash == final)
                snprintf(dir, sizeof(dir), "/");
        else
                snprintf(dir, sizeof(dir), "%.*s", (int)(slash - final), final);
        return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

cl_err
cl_path_join(char *buf, size_t size, const char *dir, const char *name)
{
        int n = snprintf(buf, size, "%s/%s", dir, name);

        if (n < 0 || (size_t)n >= size)
                return cl_fail(CL_EINVAL, "path too long: %s/%s", dir, name);
        return CL_OK;
}
