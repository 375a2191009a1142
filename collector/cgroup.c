/*
 * Pod discovery in the cgroup filesystem. This file owns the parsing of
 * cgroup paths into a pod UID and a container id, the choice of the
 * hierarchy that has the CPU accounting (v2, v1 cpuacct, or hybrid), the
 * walk of that hierarchy, the reading of cpu.stat and cpuacct.usage, the
 * optional /proc/<pid>/cgroup fallback, and the merge to one entry per
 * UID.
 *
 * The collector scans every sampling interval on every node, so the walk
 * is built to cost few system calls: names are classified without
 * opening them, pod-level cgroups are read and never listed, folders
 * without subfolders are skipped by their link count, and every folder is
 * listed with one getdents64() pass into a buffer that the scan allocates
 * once, together with its other buffers.
 */
#define _GNU_SOURCE /* getdents64() and struct dirent64 */

#include "cgroup.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Folders listed below the hierarchy root, so pod cgroups are found up to
 * this depth. The nested layouts in fixtures/cgroup have pods at depth 3
 * to 6.
 */
#define WALK_MAX_DEPTH 16

/* Bytes of one getdents64() buffer. Each walk level has its own. */
#define DIRENT_BUF_SIZE 4096

/*
 * Largest cpu.stat, cpuacct.usage or /proc/<pid>/cgroup read. cpu.stat
 * has 4 to 10 short lines, for example 75 bytes at the root of a Linux
 * 6.18 v2 mount without controllers.
 */
#define ACCT_BUF_SIZE 4096

/* Characters of a bad line quoted in an error message. */
#define QUOTE_MAX 80

/* Kind of one path component, from classify_component(). */
enum component_kind {
        COMPONENT_NONE,
        COMPONENT_POD,  /* a pod-level cgroup */
        COMPONENT_LEAF, /* "...-pod<uid>.slice:<runtime>:<id>", a container */
};

/* Reason a cpu.stat or cpuacct.usage text was rejected. */
enum acct_problem {
        ACCT_OK,
        ACCT_NO_SPACE,  /* a line without "key value" */
        ACCT_BAD_VALUE, /* a value that is not an unsigned decimal */
        ACCT_NO_USAGE,  /* cpu.stat without usage_usec */
};

/* One accounting file read during a scan, before the merge per UID. */
struct pod_usage {
        char uid[CL_POD_UID_LEN + 1];
        bool leaf;      /* a container leaf, summed per pod */
        uint64_t usage; /* us on v2, ns on v1 (converted in the merge) */
};

/* Key of a cgroup already read by the procfs fallback. */
struct seen_cgroup {
        char uid[CL_POD_UID_LEN + 1];
        char container_id[65]; /* "" for the pod-level cgroup */
};

/* Buffers of one scan, allocated at once. */
struct scan_buffers {
        char dirents[WALK_MAX_DEPTH][DIRENT_BUF_SIZE];
        char path[PATH_MAX];          /* folder being listed */
        char first_skipped[PATH_MAX]; /* first folder the walk left out */
};

struct scan {
        enum cl_cgroup_version version;
        const char *acct_file; /* "cpu.stat" or "cpuacct.usage" */
        struct scan_buffers *buf;
        size_t path_len;
        struct pod_usage *found;
        size_t n_found;
        size_t cap_found;
        size_t n_unreadable; /* folders that failed to open or list */
        size_t n_too_deep;   /* folders with subfolders at the depth limit */
};

static bool
is_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
               (c >= 'A' && c <= 'F');
}

static char
lower_hex(char c)
{
        if (c >= 'A' && c <= 'F')
                return (char)(c - 'A' + 'a');
        return c;
}

static bool
has_suffix(const char *s, size_t len, const char *suffix)
{
        size_t n = strlen(suffix);

        return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static bool
has_prefix(const char *s, size_t len, const char *prefix)
{
        size_t n = strlen(prefix);

        return len >= n && memcmp(s, prefix, n) == 0;
}

/*
 * Copies the 36 characters at s, a UID whose groups are separated by sep,
 * to uid in the API form (dashes, lower case). Returns false unless s has
 * 8-4-4-4-12 hex digits.
 */
static bool
copy_uid(const char *s, char sep, char uid[CL_POD_UID_LEN + 1])
{
        for (size_t i = 0; i < CL_POD_UID_LEN; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != sep)
                                return false;
                        uid[i] = '-';
                        continue;
                }
                if (!is_hex(s[i]))
                        return false;
                uid[i] = lower_hex(s[i]);
        }
        uid[CL_POD_UID_LEN] = '\0';
        return true;
}

/*
 * Returns whether the len bytes at p name the kubelet's kubepods slice
 * with the systemd driver: a last dash-separated segment "kubepods",
 * optionally followed by the QoS class ("kubepods-burstable"). A prefix
 * such as "kubelet-" comes from a nested kubelet.
 */
static bool
is_kubepods_slice(const char *p, size_t len)
{
        if (has_suffix(p, len, "-burstable"))
                len -= strlen("-burstable");
        else if (has_suffix(p, len, "-besteffort"))
                len -= strlen("-besteffort");
        if (!has_suffix(p, len, "kubepods"))
                return false;
        len -= strlen("kubepods");
        return len == 0 || p[len - 1] == '-';
}

/*
 * Classifies the component c of len bytes: "pod<uid>" (cgroupfs driver,
 * UID with dashes), "<kubepods slice>-pod<uid>.slice" (systemd driver,
 * UID with underscores), or that slice name followed by ":<runtime>:<id>"
 * (containerd on v1). On a match uid receives the UID in the API form; on
 * COMPONENT_LEAF *id and *id_len delimit the container id.
 */
static enum component_kind
classify_component(const char *c, size_t len, char uid[CL_POD_UID_LEN + 1],
                   const char **id, size_t *id_len)
{
        const size_t pod_len = strlen("-pod") + CL_POD_UID_LEN;
        const char *colon, *runtime_end, *pod;
        size_t slice_len;

        if (len == strlen("pod") + CL_POD_UID_LEN && has_prefix(c, len, "pod"))
                return copy_uid(c + 3, '-', uid) ? COMPONENT_POD
                                                 : COMPONENT_NONE;

        colon = memchr(c, ':', len);
        slice_len = colon != NULL ? (size_t)(colon - c) : len;
        if (!has_suffix(c, slice_len, ".slice"))
                return COMPONENT_NONE;
        slice_len -= strlen(".slice");
        if (slice_len <= pod_len)
                return COMPONENT_NONE;
        pod = c + slice_len - pod_len;
        if (memcmp(pod, "-pod", 4) != 0 ||
            !is_kubepods_slice(c, (size_t)(pod - c)) ||
            !copy_uid(pod + 4, '_', uid))
                return COMPONENT_NONE;
        if (colon == NULL)
                return COMPONENT_POD;

        runtime_end = memchr(colon + 1, ':', len - (size_t)(colon + 1 - c));
        if (runtime_end == NULL || runtime_end == colon + 1)
                return COMPONENT_NONE;
        for (const char *r = colon + 1; r < runtime_end; r++) {
                if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') ||
                      *r == '-'))
                        return COMPONENT_NONE;
        }
        *id = runtime_end + 1;
        *id_len = len - (size_t)(*id - c);
        return COMPONENT_LEAF;
}

/*
 * Copies the container id of the component c of len bytes to out: 1 to 64
 * hex digits, bare or in "crio-<id>", "cri-containerd-<id>" or
 * "docker-<id>", with or without ".scope". Writes "" for other names, such
 * as cri-o's "crio-conmon-<id>.scope".
 */
static void
copy_container_id(const char *c, size_t len, char out[65])
{
        static const char *const prefixes[] = {"crio-", "cri-containerd-",
                                               "docker-"};

        out[0] = '\0';
        if (has_suffix(c, len, ".scope"))
                len -= strlen(".scope");
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                if (has_prefix(c, len, prefixes[i])) {
                        c += strlen(prefixes[i]);
                        len -= strlen(prefixes[i]);
                        break;
                }
        }
        if (len == 0 || len > 64)
                return;
        for (size_t i = 0; i < len; i++) {
                if (!is_hex(c[i]))
                        return;
        }
        for (size_t i = 0; i < len; i++)
                out[i] = lower_hex(c[i]);
        out[len] = '\0';
}

/*
 * Returns the path part of a /proc/<pid>/cgroup line
 * "hierarchy-id:controllers:path", or path itself when it has no such
 * prefix.
 */
static const char *
skip_proc_prefix(const char *path)
{
        const char *p = path;

        if (*p < '0' || *p > '9')
                return path;
        while (*p >= '0' && *p <= '9')
                p++;
        if (*p != ':')
                return path;
        p++;
        while (*p != ':' && *p != '/' && *p != '\0' && *p != '\n')
                p++;
        if (*p != ':')
                return path;
        return p + 1;
}

/*
 * Parses the len bytes of path (no /proc prefix) like
 * cl_cgroup_parse_path(). On a pod match *pod_end receives the length of
 * the path up to the end of the pod component, which is the pod-level
 * cgroup or, for COMPONENT_LEAF, the container leaf itself; *leaf says
 * which.
 */
static enum cl_cgroup_kind
parse_path(const char *path, size_t len, char uid[CL_POD_UID_LEN + 1],
           char container_id[65], size_t *pod_end, bool *leaf)
{
        size_t end = len;

        uid[0] = '\0';
        container_id[0] = '\0';
        /* Innermost first: components from the right. */
        while (end > 0) {
                size_t start = end, next, next_end;
                enum component_kind kind;
                const char *id;
                size_t id_len;

                while (start > 0 && path[start - 1] != '/')
                        start--;
                kind = classify_component(path + start, end - start, uid, &id,
                                          &id_len);
                if (kind == COMPONENT_LEAF) {
                        copy_container_id(id, id_len, container_id);
                        *pod_end = end;
                        *leaf = true;
                        return CL_CGROUP_CONTAINER;
                }
                if (kind == COMPONENT_POD) {
                        *pod_end = end;
                        *leaf = false;
                        next = end;
                        while (next < len && path[next] == '/')
                                next++;
                        if (next == len)
                                return CL_CGROUP_POD;
                        next_end = next;
                        while (next_end < len && path[next_end] != '/')
                                next_end++;
                        copy_container_id(path + next, next_end - next,
                                          container_id);
                        return CL_CGROUP_CONTAINER;
                }
                if (start == 0)
                        break;
                end = start - 1;
        }
        uid[0] = '\0';
        return CL_CGROUP_OTHER;
}

enum cl_cgroup_kind
cl_cgroup_parse_path(const char *path, char uid[CL_POD_UID_LEN + 1],
                     char container_id[65])
{
        size_t pod_end;
        bool leaf;

        path = skip_proc_prefix(path);
        return parse_path(path, strcspn(path, "\n"), uid, container_id,
                          &pod_end, &leaf);
}

/*
 * Parses the unsigned decimal of len bytes at s into *out. Returns false
 * when s is empty, contains a non-digit or exceeds INT64_MAX, the largest
 * integer SQLite stores.
 */
static bool
parse_decimal(const char *s, size_t len, uint64_t *out)
{
        uint64_t v = 0;

        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned digit;

                if (s[i] < '0' || s[i] > '9')
                        return false;
                digit = (unsigned)(s[i] - '0');
                if (v > ((uint64_t)INT64_MAX - digit) / 10)
                        return false;
                v = v * 10 + digit;
        }
        *out = v;
        return true;
}

/*
 * Checks every line of the cpu.stat text ("key value", one space) and
 * reads usage_usec. On a problem *line and *line_len delimit the bad line.
 * Empty lines are skipped, so the final newline is accepted.
 */
static enum acct_problem
parse_cpu_stat_text(const char *text, uint64_t *usage_us, const char **line,
                    size_t *line_len)
{
        const char *p = text;
        bool have_usage = false;

        while (*p != '\0') {
                size_t len = strcspn(p, "\n");
                const char *space = memchr(p, ' ', len);
                uint64_t value;

                *line = p;
                *line_len = len;
                if (len > 0) {
                        size_t key_len;

                        if (space == NULL || space == p)
                                return ACCT_NO_SPACE;
                        key_len = (size_t)(space - p);
                        if (!parse_decimal(space + 1, len - key_len - 1,
                                           &value))
                                return ACCT_BAD_VALUE;
                        if (key_len == strlen("usage_usec") &&
                            memcmp(p, "usage_usec", key_len) == 0) {
                                *usage_us = value;
                                have_usage = true;
                        }
                }
                p += len;
                if (*p == '\n')
                        p++;
        }
        if (!have_usage)
                return ACCT_NO_USAGE;
        return ACCT_OK;
}

/* Parses cpuacct.usage: one decimal number of ns and white space. */
static enum acct_problem
parse_cpuacct_usage_text(const char *text, uint64_t *usage_ns)
{
        size_t len = strlen(text);

        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' ||
                           text[len - 1] == '\t'))
                len--;
        if (!parse_decimal(text, len, usage_ns))
                return ACCT_BAD_VALUE;
        return ACCT_OK;
}

/* Records the CL_EFORMAT message for problem in the accounting file path. */
static cl_err
fail_acct(enum acct_problem problem, const char *path, const char *line,
          size_t line_len)
{
        int quoted = line_len > QUOTE_MAX ? QUOTE_MAX : (int)line_len;

        switch (problem) {
        case ACCT_NO_SPACE:
                return cl_fail(CL_EFORMAT,
                               "%s: malformed line '%.*s': expected a key and "
                               "a value separated by one space",
                               path, quoted, line);
        case ACCT_BAD_VALUE:
                return cl_fail(CL_EFORMAT,
                               "%s: malformed line '%.*s': the value is not "
                               "an unsigned decimal integer",
                               path, quoted, line);
        case ACCT_NO_USAGE:
                return cl_fail(CL_EFORMAT, "%s: no usage_usec line", path);
        case ACCT_OK:
                break;
        }
        return CL_OK;
}

cl_err
cl_cgroup_parse_cpu_stat(const char *text, const char *path, uint64_t *usage_us)
{
        enum acct_problem problem;
        const char *line = text;
        size_t line_len = 0;
        uint64_t usage = 0;

        problem = parse_cpu_stat_text(text, &usage, &line, &line_len);
        if (problem != ACCT_OK)
                return fail_acct(problem, path, line, line_len);
        *usage_us = usage;
        return CL_OK;
}

/*
 * Reads the file rel below dirfd into buf and terminates it. Returns 0 or
 * an errno value, EFBIG when the file fills buf. One read() is taken as
 * the whole file: cgroup and proc files of this size return their full
 * content in the first read.
 */
static int
read_at(int dirfd, const char *rel, char *buf, size_t size)
{
        ssize_t got;
        int fd, err = 0;

        fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno;
        got = read(fd, buf, size);
        if (got < 0)
                err = errno;
        else if ((size_t)got >= size)
                err = EFBIG;
        else
                buf[got] = '\0';
        close(fd);
        return err;
}

/* Writes the path of rel below the folder being listed into out. */
static const char *
full_path(const struct scan *s, const char *rel, char *out, size_t size)
{
        int n =
            snprintf(out, size, "%.*s/%s", (int)s->path_len, s->buf->path, rel);

        if (n < 0 || (size_t)n >= size)
                snprintf(out, size, "%s", rel);
        return out;
}

/* Logs that the pod uid is left out of this scan, with the last error. */
static void
warn_pod_skipped(const char *uid)
{
        char quoted[1200];

        cl_warn("cgroup_pod_skipped", "uid=%s error=%s", uid,
                cl_log_quote(cl_last_error(), quoted, sizeof(quoted)));
}

static cl_err
add_found(struct scan *s, const char *uid, bool leaf, uint64_t usage)
{
        struct pod_usage *entry;

        if (s->n_found == s->cap_found) {
                size_t cap = s->cap_found == 0 ? 64 : s->cap_found * 2;
                struct pod_usage *grown;

                grown = realloc(s->found, cap * sizeof(*grown));
                if (grown == NULL)
                        return cl_fail(CL_ENOMEM,
                                       "scan cgroup pods: out of memory");
                s->found = grown;
                s->cap_found = cap;
        }
        entry = &s->found[s->n_found++];
        memcpy(entry->uid, uid, sizeof(entry->uid));
        entry->leaf = leaf;
        entry->usage = usage;
        return CL_OK;
}

/*
 * Reads the accounting file of the cgroup folder rel_dir below dirfd and
 * records it for uid. A pod whose file is missing (the cgroup was removed
 * after it was listed: ENOENT, or ENODEV from a removed kernfs node) is
 * left out silently; one whose file cannot be read or parsed is left out
 * with a warning. Fails only when out of memory.
 */
static cl_err
read_pod(struct scan *s, int dirfd, const char *rel_dir, const char *uid,
         bool leaf)
{
        char rel[PATH_MAX], text[ACCT_BUF_SIZE], path[PATH_MAX];
        enum acct_problem problem;
        const char *line = text;
        size_t line_len = 0;
        uint64_t usage = 0;
        int n, err;

        n = snprintf(rel, sizeof(rel), "%s/%s", rel_dir, s->acct_file);
        if (n < 0 || (size_t)n >= sizeof(rel)) {
                cl_fail(CL_EINVAL, "cgroup path too long: %s", rel_dir);
                warn_pod_skipped(uid);
                return CL_OK;
        }
        err = read_at(dirfd, rel, text, sizeof(text));
        if (err == ENOENT || err == ENODEV) {
                cl_debug("cgroup_pod_vanished", "uid=%s path=%s", uid,
                         full_path(s, rel, path, sizeof(path)));
                return CL_OK;
        }
        if (err == EFBIG) {
                cl_fail(CL_EFORMAT, "%s: longer than %d bytes",
                        full_path(s, rel, path, sizeof(path)),
                        ACCT_BUF_SIZE - 1);
                warn_pod_skipped(uid);
                return CL_OK;
        }
        if (err != 0) {
                cl_fail_errno(CL_EIO, err, "read %s",
                              full_path(s, rel, path, sizeof(path)));
                warn_pod_skipped(uid);
                return CL_OK;
        }

        if (s->version == CL_CGROUP_V2) {
                problem = parse_cpu_stat_text(text, &usage, &line, &line_len);
        } else {
                problem = parse_cpuacct_usage_text(text, &usage);
                line_len = strcspn(text, "\n");
        }
        if (problem != ACCT_OK) {
                fail_acct(problem, full_path(s, rel, path, sizeof(path)), line,
                          line_len);
                warn_pod_skipped(uid);
                return CL_OK;
        }
        return add_found(s, uid, leaf, usage);
}

/* Counts a folder the walk could not list and keeps the first one. */
static void
note_skipped(struct scan *s, const char *name, bool too_deep)
{
        if (too_deep)
                s->n_too_deep++;
        else
                s->n_unreadable++;
        if (s->n_too_deep + s->n_unreadable == 1)
                full_path(s, name, s->buf->first_skipped,
                          sizeof(s->buf->first_skipped));
}

static cl_err walk(struct scan *s, int dirfd, unsigned depth);

/*
 * Lists the folder name below dirfd, depth levels below the hierarchy
 * root, unless it has no subfolders. known is its lstat result, or NULL.
 * Folders that vanish are skipped silently.
 */
static cl_err
descend(struct scan *s, int dirfd, const char *name, unsigned depth,
        const struct stat *known)
{
        size_t name_len = strlen(name), saved_len = s->path_len;
        struct stat st;
        cl_err rc;
        int fd;

        if (known == NULL) {
                if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                        return CL_OK;
                known = &st;
        }
        /*
         * A folder's link count is 2 plus its subfolders on kernfs (the
         * cgroup filesystem), ext4, xfs and tmpfs; btrfs and overlayfs
         * report 1, which never matches. A leaf has no pods below it.
         */
        if (known->st_nlink == 2)
                return CL_OK;
        if (depth >= WALK_MAX_DEPTH) {
                note_skipped(s, name, true);
                return CL_OK;
        }
        if (saved_len + 1 + name_len >= sizeof(s->buf->path)) {
                note_skipped(s, name, false);
                return CL_OK;
        }
        fd = openat(dirfd, name,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                /* ENOTDIR and ELOOP: replaced by a file or a symlink. */
                if (errno != ENOENT && errno != ENODEV && errno != ENOTDIR &&
                    errno != ELOOP)
                        note_skipped(s, name, false);
                return CL_OK;
        }
        s->buf->path[s->path_len] = '/';
        memcpy(s->buf->path + s->path_len + 1, name, name_len);
        s->path_len += 1 + name_len;
        rc = walk(s, fd, depth);
        s->path_len = saved_len;
        close(fd);
        return rc;
}

/* Handles one entry of the folder dirfd, depth levels below the root. */
static cl_err
visit(struct scan *s, int dirfd, const struct dirent64 *d, unsigned depth)
{
        char uid[CL_POD_UID_LEN + 1];
        const struct stat *known = NULL;
        enum component_kind kind;
        const char *id;
        size_t id_len;
        struct stat st;

        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                return CL_OK;
        if (d->d_type == DT_UNKNOWN) {
                if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                    !S_ISDIR(st.st_mode))
                        return CL_OK;
                known = &st;
        } else if (d->d_type != DT_DIR) {
                return CL_OK; /* files, and symlinks, which are not followed */
        }

        kind =
            classify_component(d->d_name, strlen(d->d_name), uid, &id, &id_len);
        if (kind == COMPONENT_POD)
                return read_pod(s, dirfd, d->d_name, uid, false);
        if (kind == COMPONENT_LEAF)
                return read_pod(s, dirfd, d->d_name, uid, true);
        return descend(s, dirfd, d->d_name, depth + 1, known);
}

/*
 * Lists the folder dirfd, at depth below the hierarchy root, and visits
 * its entries. Pod-level cgroups are read, never listed, because their
 * subfolders are containers whose time the pod's file already counts.
 */
static cl_err
walk(struct scan *s, int dirfd, unsigned depth)
{
        char *buf = s->buf->dirents[depth];
        cl_err rc = CL_OK;

        for (;;) {
                ssize_t got = getdents64(dirfd, buf, DIRENT_BUF_SIZE);

                if (got < 0) {
                        if (errno != ENOENT && errno != ENODEV)
                                note_skipped(s, ".", false);
                        break;
                }
                if (got == 0)
                        break;
                for (ssize_t off = 0; off < got;) {
                        const struct dirent64 *d = (void *)(buf + off);

                        rc = visit(s, dirfd, d, depth);
                        if (rc != CL_OK)
                                goto out;
                        off += d->d_reclen;
                }
        }
out:
        return rc;
}

/* Walks the hierarchy at fd, whose path is path, as version. */
static cl_err
walk_hierarchy(struct scan *s, int fd, const char *path,
               enum cl_cgroup_version version)
{
        int n;

        s->version = version;
        s->acct_file = version == CL_CGROUP_V2 ? "cpu.stat" : "cpuacct.usage";
        n = snprintf(s->buf->path, sizeof(s->buf->path), "%s", path);
        if (n < 0 || (size_t)n >= sizeof(s->buf->path))
                return cl_fail(CL_EINVAL, "cgroup root path too long: %s",
                               path);
        s->path_len = (size_t)n;
        return walk(s, fd, 0);
}

/*
 * Opens the folder name below rootfd into *fd, or sets *fd to -1 when it
 * does not exist. Symlinks are followed: systemd links "cpuacct" to
 * "cpu,cpuacct".
 */
static cl_err
open_optional_dir(int rootfd, const char *root, const char *name, int *fd)
{
        *fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (*fd >= 0 || errno == ENOENT || errno == ENOTDIR)
                return CL_OK;
        return cl_fail_errno(CL_EIO, errno, "open %s/%s", root, name);
}

/* Returns whether name exists below dirfd; fails on errors but ENOENT. */
static cl_err
file_exists(int dirfd, const char *dir, const char *name, bool *exists)
{
        *exists = faccessat(dirfd, name, F_OK, 0) == 0;
        if (*exists || errno == ENOENT || errno == ENOTDIR)
                return CL_OK;
        return cl_fail_errno(CL_EIO, errno, "access %s/%s", dir, name);
}

static int
compare_seen(const void *a, const void *b)
{
        const struct seen_cgroup *x = a, *y = b;
        int c = strcmp(x->uid, y->uid);

        return c != 0 ? c : strcmp(x->container_id, y->container_id);
}

/*
 * Inserts key into the sorted set *seen of *n entries. Sets *is_new to
 * false when it was already there.
 */
static cl_err
insert_seen(struct seen_cgroup **seen, size_t *n, size_t *cap,
            const struct seen_cgroup *key, bool *is_new)
{
        size_t lo = 0, hi = *n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = compare_seen(key, &(*seen)[mid]);

                if (c == 0) {
                        *is_new = false;
                        return CL_OK;
                }
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        if (*n == *cap) {
                size_t grown_cap = *cap == 0 ? 64 : *cap * 2;
                struct seen_cgroup *grown;

                grown = realloc(*seen, grown_cap * sizeof(*grown));
                if (grown == NULL)
                        return cl_fail(CL_ENOMEM,
                                       "scan cgroup pods: out of memory");
                *seen = grown;
                *cap = grown_cap;
        }
        memmove(&(*seen)[lo + 1], &(*seen)[lo], (*n - lo) * sizeof(**seen));
        (*seen)[lo] = *key;
        (*n)++;
        *is_new = true;
        return CL_OK;
}

/*
 * Returns the cgroup path of the /proc/<pid>/cgroup line (len bytes) for
 * the hierarchy version, with *path_len, or NULL when the line is for
 * another hierarchy. v1 lines count when their controllers include
 * cpuacct.
 */
static const char *
line_path(const char *line, size_t len, enum cl_cgroup_version version,
          size_t *path_len)
{
        const char *controllers = memchr(line, ':', len), *path, *p;

        if (controllers == NULL)
                return NULL;
        controllers++;
        path = memchr(controllers, ':', len - (size_t)(controllers - line));
        if (path == NULL)
                return NULL;
        path++;
        *path_len = len - (size_t)(path - line);
        if (version == CL_CGROUP_V2)
                return path - line == 3 && memcmp(line, "0::", 3) == 0 ? path
                                                                       : NULL;
        for (p = controllers; p < path - 1;) {
                size_t n = strcspn(p, ",:");

                if (n == strlen("cpuacct") && memcmp(p, "cpuacct", n) == 0)
                        return path;
                p += n + 1;
        }
        return NULL;
}

/* Reads the pod of one /proc/<pid>/cgroup path unless already read. */
static cl_err
read_proc_path(struct scan *s, int hierfd, const char *path, size_t len,
               struct seen_cgroup **seen, size_t *n_seen, size_t *cap_seen)
{
        char rel_dir[PATH_MAX];
        struct seen_cgroup key;
        size_t pod_end;
        bool leaf, is_new;
        cl_err rc;

        if (len == 0 || path[0] != '/' || len >= sizeof(rel_dir))
                return CL_OK;
        /*
         * A path outside the reader's cgroup namespace starts with "/..";
         * it does not lie below the hierarchy root.
         */
        for (size_t start = 1; start < len;) {
                size_t end = start;

                while (end < len && path[end] != '/')
                        end++;
                if (end - start == 2 && memcmp(path + start, "..", 2) == 0)
                        return CL_OK;
                start = end + 1;
        }
        if (parse_path(path, len, key.uid, key.container_id, &pod_end, &leaf) ==
            CL_CGROUP_OTHER)
                return CL_OK;
        if (!leaf)
                key.container_id[0] = '\0';
        rc = insert_seen(seen, n_seen, cap_seen, &key, &is_new);
        if (rc != CL_OK || !is_new)
                return rc;
        memcpy(rel_dir, path + 1, pod_end - 1);
        rel_dir[pod_end - 1] = '\0';
        return read_pod(s, hierfd, rel_dir, key.uid, leaf);
}

/*
 * Reads /proc/<pid>/cgroup of every process under procfs and records the
 * pods named there, reading their accounting below hierfd (the hierarchy
 * root walked, at root_path). Processes that exit meanwhile are skipped.
 */
static cl_err
scan_procfs(struct scan *s, const char *procfs, int hierfd,
            const char *root_path)
{
        char *buf = s->buf->dirents[0];
        struct seen_cgroup *seen = NULL;
        size_t n_seen = 0, cap_seen = 0;
        char text[ACCT_BUF_SIZE];
        cl_err rc = CL_OK;
        int procfd, n;

        n = snprintf(s->buf->path, sizeof(s->buf->path), "%s", root_path);
        s->path_len = n > 0 && (size_t)n < sizeof(s->buf->path) ? (size_t)n : 0;
        procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (procfd < 0)
                return cl_fail_errno(CL_EIO, errno, "open %s", procfs);
        for (;;) {
                ssize_t got = getdents64(procfd, buf, DIRENT_BUF_SIZE);

                if (got < 0) {
                        rc = cl_fail_errno(CL_EIO, errno, "list %s", procfs);
                        goto out;
                }
                if (got == 0)
                        break;
                for (ssize_t off = 0; off < got;) {
                        const struct dirent64 *d = (void *)(buf + off);
                        char rel[NAME_MAX + 16];
                        int err;

                        off += d->d_reclen;
                        if (d->d_name[0] < '0' || d->d_name[0] > '9' ||
                            d->d_name[strspn(d->d_name, "0123456789")] != '\0')
                                continue;
                        snprintf(rel, sizeof(rel), "%s/cgroup", d->d_name);
                        /* EFBIG: the complete lines read so far are used. */
                        err = read_at(procfd, rel, text, sizeof(text));
                        if (err == EFBIG)
                                text[sizeof(text) - 1] = '\0';
                        else if (err != 0)
                                continue;
                        for (const char *line = text; *line != '\0';) {
                                size_t len = strcspn(line, "\n"), path_len;
                                const char *path;

                                if (line[len] != '\n')
                                        break; /* cut by the buffer */
                                path =
                                    line_path(line, len, s->version, &path_len);
                                if (path != NULL) {
                                        rc = read_proc_path(s, hierfd, path,
                                                            path_len, &seen,
                                                            &n_seen, &cap_seen);
                                        if (rc != CL_OK)
                                                goto out;
                                }
                                line += len + 1;
                        }
                }
        }
out:
        free(seen);
        close(procfd);
        return rc;
}

static int
compare_found(const void *a, const void *b)
{
        const struct pod_usage *x = a, *y = b;
        int c = strcmp(x->uid, y->uid);

        if (c != 0)
                return c;
        if (x->leaf != y->leaf)
                return x->leaf ? 1 : -1; /* pod-level first */
        if (x->usage != y->usage)
                return x->usage > y->usage ? -1 : 1; /* largest first */
        return 0;
}

/*
 * Merges s->found into one entry per UID, sorted: the pod-level cgroup
 * when there is one (the largest, if a stale copy exists elsewhere),
 * otherwise the sum of the container leaves. v1 ns become us here, after
 * the sum.
 */
static cl_err
merge_found(struct scan *s, struct cl_pod_cpu **pods, size_t *n)
{
        struct cl_pod_cpu *out;
        size_t groups = 0, k = 0;

        if (s->n_found == 0)
                return CL_OK;
        qsort(s->found, s->n_found, sizeof(s->found[0]), compare_found);
        for (size_t i = 0; i < s->n_found; i++) {
                if (i == 0 || strcmp(s->found[i].uid, s->found[i - 1].uid) != 0)
                        groups++;
        }
        out = malloc(groups * sizeof(*out));
        if (out == NULL)
                return cl_fail(CL_ENOMEM, "scan cgroup pods: out of memory");
        for (size_t i = 0; i < s->n_found;) {
                const struct pod_usage *first = &s->found[i];
                uint64_t usage = first->usage;
                size_t j = i + 1;

                while (j < s->n_found &&
                       strcmp(s->found[j].uid, first->uid) == 0) {
                        if (first->leaf)
                                usage += s->found[j].usage;
                        j++;
                }
                memcpy(out[k].uid, first->uid, sizeof(out[k].uid));
                out[k].usage_us =
                    s->version == CL_CGROUP_V1 ? usage / 1000 : usage;
                k++;
                i = j;
        }
        *pods = out;
        *n = groups;
        return CL_OK;
}

/*
 * Logs, once per process, that root contains no cgroup hierarchy. The flag is
 * not synchronized: two threads scanning at once may both log it.
 */
static void
warn_hierarchy_missing(const char *root)
{
        static bool warned;
        char quoted[PATH_MAX + 8];

        if (warned)
                return;
        warned = true;
        cl_warn("cgroup_hierarchy_missing",
                "root=%s reason=\"no cgroup.controllers, cpuacct or unified "
                "folder\"",
                cl_log_quote(root, quoted, sizeof(quoted)));
}

/*
 * Walks the hierarchy that has the CPU accounting below rootfd and leaves in
 * *hierfd (and hier_path) the one whose pods were read, for the procfs
 * fallback; *hierfd is -1 when root contains no hierarchy.
 */
static cl_err
walk_root(struct scan *s, int rootfd, const char *root, int *hierfd,
          char *hier_path, size_t hier_size)
{
        static const char *const v1_names[] = {"cpuacct", "cpu,cpuacct",
                                               "cpuacct,cpu"};
        char unified_path[PATH_MAX];
        bool is_v2, has_unified;
        int v1fd = -1, unifiedfd = -1;
        cl_err rc;

        *hierfd = -1;
        rc = file_exists(rootfd, root, "cgroup.controllers", &is_v2);
        if (rc != CL_OK)
                goto out;
        if (is_v2) {
                *hierfd = dup(rootfd);
                if (*hierfd < 0) {
                        rc = cl_fail_errno(CL_EIO, errno, "dup %s", root);
                        goto out;
                }
                snprintf(hier_path, hier_size, "%s", root);
                rc = walk_hierarchy(s, rootfd, root, CL_CGROUP_V2);
                goto out;
        }

        for (size_t i = 0; i < sizeof(v1_names) / sizeof(v1_names[0]); i++) {
                rc = open_optional_dir(rootfd, root, v1_names[i], &v1fd);
                if (rc != CL_OK)
                        goto out;
                if (v1fd >= 0) {
                        snprintf(hier_path, hier_size, "%s/%s", root,
                                 v1_names[i]);
                        break;
                }
        }
        rc = file_exists(rootfd, root, "unified/cgroup.controllers",
                         &has_unified);
        if (rc != CL_OK)
                goto out;

        if (v1fd >= 0) {
                rc = walk_hierarchy(s, v1fd, hier_path, CL_CGROUP_V1);
                if (rc != CL_OK || s->n_found > 0 || !has_unified) {
                        *hierfd = v1fd;
                        v1fd = -1;
                        goto out;
                }
        }
        if (has_unified) {
                /*
                 * The v1 tree has no pods: the kubelet may use the unified
                 * mount. Its cpu.stat exists without controllers enabled.
                 */
                rc = open_optional_dir(rootfd, root, "unified", &unifiedfd);
                if (rc != CL_OK || unifiedfd < 0)
                        goto out;
                snprintf(unified_path, sizeof(unified_path), "%s/unified",
                         root);
                rc = walk_hierarchy(s, unifiedfd, unified_path, CL_CGROUP_V2);
                if (rc != CL_OK)
                        goto out;
                if (s->n_found > 0 || v1fd < 0) {
                        snprintf(hier_path, hier_size, "%s", unified_path);
                        *hierfd = unifiedfd;
                        unifiedfd = -1;
                        goto out;
                }
                /*
                 * Neither has pods: report the v1 tree, which has the cpu
                 * accounting on a hybrid host.
                 */
                s->version = CL_CGROUP_V1;
                s->acct_file = "cpuacct.usage";
                *hierfd = v1fd;
                v1fd = -1;
                goto out;
        }

        warn_hierarchy_missing(root);
        s->version = CL_CGROUP_V2;
out:
        if (v1fd >= 0)
                close(v1fd);
        if (unifiedfd >= 0)
                close(unifiedfd);
        return rc;
}

cl_err
cl_cgroup_scan_pods(const char *root, const char *procfs,
                    struct cl_pod_cpu **pods, size_t *n,
                    enum cl_cgroup_version *version)
{
        struct scan s = {.version = CL_CGROUP_V2, .acct_file = "cpu.stat"};
        char hier_path[PATH_MAX] = "";
        int rootfd, hierfd = -1;
        cl_err rc;

        *pods = NULL;
        *n = 0;
        *version = CL_CGROUP_V2;
        rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return cl_fail_errno(CL_EIO, errno, "open cgroup root %s",
                                     root);
        s.buf = malloc(sizeof(*s.buf));
        if (s.buf == NULL) {
                rc = cl_fail(CL_ENOMEM, "scan cgroup pods: out of memory");
                goto out;
        }
        s.buf->first_skipped[0] = '\0';

        rc = walk_root(&s, rootfd, root, &hierfd, hier_path, sizeof(hier_path));
        if (rc != CL_OK)
                goto out;
        if (s.n_unreadable > 0 || s.n_too_deep > 0) {
                char quoted[PATH_MAX + 8];

                cl_warn(
                    "cgroup_walk_incomplete",
                    "unreadable=%zu too_deep=%zu first=%s", s.n_unreadable,
                    s.n_too_deep,
                    cl_log_quote(s.buf->first_skipped, quoted, sizeof(quoted)));
        }

        /*
         * The procfs fallback runs only when the walk found no pods. It
         * reads one file per process, which on a busy node costs many
         * times the walk. When the walk finds any pod, the kubelet's
         * kubepods tree is within reach and contains all of its pods.
         */
        if (procfs != NULL && s.n_found == 0 && hierfd >= 0) {
                rc = scan_procfs(&s, procfs, hierfd, hier_path);
                if (rc != CL_OK)
                        goto out;
        }
        rc = merge_found(&s, pods, n);
        if (rc == CL_OK)
                *version = s.version;
out:
        if (hierfd >= 0)
                close(hierfd);
        close(rootfd);
        free(s.found);
        free(s.buf);
        return rc;
}
