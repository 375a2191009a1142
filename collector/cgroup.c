/*
 * Pod discovery in the cgroup filesystem. This file owns the parsing of
 * cgroup paths into a pod UID and a container id, the choice of the
 * hierarchy that has the CPU accounting (v2, v1 cpuacct, or hybrid), the
 * walk of that hierarchy, the reading of cpu.stat and cpuacct.usage, the
 * optional /proc/<pid>/cgroup fallback, the merge to one entry per UID,
 * and the scanner that keeps the pods' accounting files open between
 * scans.
 *
 * The collector scans every sampling interval on every node, so the walk
 * is built to cost few system calls: names are classified without
 * opening them, pod-level cgroups are read and never listed, folders
 * without subfolders are skipped by their link count, and every folder is
 * listed with one getdents64() pass into a buffer that the scanner
 * allocates once, together with its other buffers.
 *
 * Scanner states: before its first walk, or after a failed one, the
 * scanner holds no descriptors and its next scan walks. After a walk it
 * holds the cgroup root, the hierarchy root, up to max_fds open
 * accounting files (one per tracked file; the others are opened by path
 * at each read) and the (device, inode, link count) of every non-pod
 * folder the walk saw. A later scan walks again when walk_every scans
 * have passed, when a watched folder's link count or inode differs, or
 * when a tracked file is gone (ENOENT, or ENODEV from a removed kernfs
 * node); otherwise it re-reads the tracked files with pread() from offset
 * 0. Invariants: files is sorted by (uid, pod-level first) after every
 * walk; n_open is the number of files whose fd is not -1 and never
 * exceeds max_fds; every descriptor has O_CLOEXEC.
 *
 * The link count is the signal because kernfs, the cgroup filesystem,
 * keeps a folder's st_nlink at 2 plus its subfolders but does not change
 * its mtime on mkdir or rmdir (checked on Linux 6.18 for cgroup v1
 * cpuacct and cgroup2 mounts).
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

/* One accounting file found by a walk and re-read by later scans. */
struct tracked_file {
        char uid[CL_POD_UID_LEN + 1];
        bool leaf;                      /* a container leaf, summed per pod */
        bool ok;                        /* usage is from the last read */
        enum cl_cgroup_version version; /* hierarchy it was found in */
        int fd;         /* the open file, or -1 beyond max_fds */
        size_t rel;     /* arena offset of its path below the hierarchy */
        uint64_t usage; /* us on v2, ns on v1 (converted in the merge) */
};

/* A non-pod folder seen by the last walk, compared at each scan. */
struct watched_dir {
        size_t rel; /* arena offset of its path below the cgroup root */
        dev_t dev;
        ino_t ino;
        nlink_t nlink;
};

/* Key of a cgroup already read by the procfs fallback. */
struct seen_cgroup {
        char uid[CL_POD_UID_LEN + 1];
        char container_id[65]; /* "" for the pod-level cgroup */
};

/* Buffers of a scanner, allocated at once. */
struct scan_buffers {
        char dirents[WALK_MAX_DEPTH][DIRENT_BUF_SIZE];
        char path[PATH_MAX];          /* folder being listed */
        char first_skipped[PATH_MAX]; /* first folder the walk left out */
};

struct cl_cgroup_scanner {
        char *root;
        char *procfs; /* NULL: no fallback */
        size_t max_fds;
        unsigned walk_every;
        unsigned scans_since_walk;
        int rootfd; /* -1 until a walk succeeds */
        int hierfd; /* hierarchy whose files are tracked, or -1 */
        enum cl_cgroup_version version;
        char hier_path[PATH_MAX]; /* path of the hierarchy being read */
        struct scan_buffers *buf;
        struct tracked_file *files;
        size_t n_files, cap_files, n_open;
        struct watched_dir *dirs;
        size_t n_dirs, cap_dirs;
        char *arena; /* NUL-terminated relative paths */
        size_t arena_len, arena_cap;
        struct cl_pod_cpu *pods; /* result of the last scan */
        size_t n_pods, cap_pods;
};

/* State of one walk. */
struct scan {
        struct cl_cgroup_scanner *sc;
        enum cl_cgroup_version version;
        const char *acct_file; /* "cpu.stat" or "cpuacct.usage" */
        struct scan_buffers *buf;
        size_t path_len;
        size_t hier_len;     /* bytes of buf->path naming the hierarchy */
        size_t root_len;     /* bytes of the cgroup root's path */
        size_t n_found;      /* files read and parsed */
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
 * Empty lines are skipped, so the final newline is accepted. One pass over
 * the bytes: a value of more than 19 digits, or above INT64_MAX, is
 * rejected like parse_decimal() does.
 */
static enum acct_problem
parse_cpu_stat_text(const char *text, uint64_t *usage_us, const char **line,
                    size_t *line_len)
{
        const char *p = text;
        bool have_usage = false;

        while (*p != '\0') {
                const char *start = p, *key_end;
                uint64_t value = 0;
                size_t digits = 0;

                if (*p == '\n') {
                        p++;
                        continue;
                }
                while (*p != ' ' && *p != '\n' && *p != '\0')
                        p++;
                key_end = p;
                if (*p != ' ' || key_end == start) {
                        *line = start;
                        *line_len = strcspn(start, "\n");
                        return ACCT_NO_SPACE;
                }
                p++;
                while (*p >= '0' && *p <= '9') {
                        value = value * 10 + (unsigned)(*p - '0');
                        digits++;
                        p++;
                        if (digits > 19)
                                break;
                }
                if (digits == 0 || digits > 19 || (*p != '\n' && *p != '\0') ||
                    value > (uint64_t)INT64_MAX) {
                        *line = start;
                        *line_len = strcspn(start, "\n");
                        return ACCT_BAD_VALUE;
                }
                if (key_end - start == (ptrdiff_t)strlen("usage_usec") &&
                    memcmp(start, "usage_usec", strlen("usage_usec")) == 0) {
                        *usage_us = value;
                        have_usage = true;
                }
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

/* Writes the path of the tracked file f into out, for messages. */
static const char *
file_path(const struct cl_cgroup_scanner *sc, const struct tracked_file *f,
          char *out, size_t size)
{
        const char *rel = sc->arena + f->rel;
        int n = snprintf(out, size, "%s/%s", sc->hier_path, rel);

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

/*
 * Grows the array *items of *cap elements of size bytes so that it holds
 * at least need elements. Fails with CL_ENOMEM.
 */
static cl_err
grow_array(void **items, size_t *cap, size_t need, size_t size)
{
        size_t grown_cap = *cap == 0 ? 64 : *cap;
        void *grown;

        if (need <= *cap)
                return CL_OK;
        while (grown_cap < need)
                grown_cap *= 2;
        grown = realloc(*items, grown_cap * size);
        if (grown == NULL)
                return cl_fail(CL_ENOMEM, "scan cgroup pods: out of memory");
        *items = grown;
        *cap = grown_cap;
        return CL_OK;
}

/*
 * Appends "prefix/name" (or name alone when prefix_len is 0) to the
 * scanner's path arena and stores its offset in *off.
 */
static cl_err
arena_add(struct cl_cgroup_scanner *sc, const char *prefix, size_t prefix_len,
          const char *name, size_t *off)
{
        size_t name_len = strlen(name);
        size_t need = prefix_len + 1 + name_len + 1;
        char *p;
        cl_err rc;

        rc = grow_array((void **)&sc->arena, &sc->arena_cap,
                        sc->arena_len + need, 1);
        if (rc != CL_OK)
                return rc;
        *off = sc->arena_len;
        p = sc->arena + sc->arena_len;
        if (prefix_len > 0) {
                memcpy(p, prefix, prefix_len);
                p[prefix_len] = '/';
                p += prefix_len + 1;
        }
        memcpy(p, name, name_len + 1);
        sc->arena_len = (size_t)(p + name_len + 1 - sc->arena);
        return CL_OK;
}

/*
 * Records the folder name below the folder being listed (st is its stat)
 * as watched, so a later scan notices a subfolder added or removed.
 */
static cl_err
watch_dir(struct scan *s, const char *name, const struct stat *st)
{
        struct cl_cgroup_scanner *sc = s->sc;
        size_t prefix_len =
            s->path_len > s->root_len ? s->path_len - s->root_len - 1 : 0;
        struct watched_dir *d;
        cl_err rc;

        rc = grow_array((void **)&sc->dirs, &sc->cap_dirs, sc->n_dirs + 1,
                        sizeof(*sc->dirs));
        if (rc != CL_OK)
                return rc;
        d = &sc->dirs[sc->n_dirs];
        rc = arena_add(sc, s->buf->path + s->root_len + 1, prefix_len, name,
                       &d->rel);
        if (rc != CL_OK)
                return rc;
        d->dev = st->st_dev;
        d->ino = st->st_ino;
        d->nlink = st->st_nlink;
        sc->n_dirs++;
        return CL_OK;
}

/*
 * Reads the accounting file of f from fd at offset 0 and parses it into
 * f->usage, setting f->ok. Returns false when the cgroup is gone (ENOENT
 * or ENODEV). A file that cannot be read or parsed leaves f->ok false and
 * logs cgroup_pod_skipped with the file and the bad line.
 */
static bool
load_file(const struct cl_cgroup_scanner *sc, struct tracked_file *f, int fd)
{
        char text[ACCT_BUF_SIZE], path[PATH_MAX];
        enum acct_problem problem;
        const char *line = text;
        size_t line_len = 0;
        uint64_t usage = 0;
        ssize_t got;

        f->ok = false;
        got = pread(fd, text, sizeof(text), 0);
        if (got < 0 && (errno == ENOENT || errno == ENODEV))
                return false;
        if (got < 0) {
                cl_fail_errno(CL_EIO, errno, "read %s",
                              file_path(sc, f, path, sizeof(path)));
                warn_pod_skipped(f->uid);
                return true;
        }
        if ((size_t)got >= sizeof(text)) {
                cl_fail(CL_EFORMAT, "%s: longer than %d bytes",
                        file_path(sc, f, path, sizeof(path)),
                        ACCT_BUF_SIZE - 1);
                warn_pod_skipped(f->uid);
                return true;
        }
        text[got] = '\0';
        if (f->version == CL_CGROUP_V2) {
                problem = parse_cpu_stat_text(text, &usage, &line, &line_len);
        } else {
                problem = parse_cpuacct_usage_text(text, &usage);
                line_len = strcspn(text, "\n");
        }
        if (problem != ACCT_OK) {
                fail_acct(problem, file_path(sc, f, path, sizeof(path)), line,
                          line_len);
                warn_pod_skipped(f->uid);
                return true;
        }
        f->usage = usage;
        f->ok = true;
        return true;
}

/* Keeps fd open as f's descriptor while under max_fds, else closes it. */
static void
keep_or_close(struct cl_cgroup_scanner *sc, struct tracked_file *f, int fd)
{
        if (sc->n_open < sc->max_fds) {
                f->fd = fd;
                sc->n_open++;
                return;
        }
        f->fd = -1;
        close(fd);
}

/*
 * Reads the accounting file of the cgroup folder rel_dir below dirfd and
 * tracks it for uid. A pod whose file is missing (the cgroup was removed
 * after it was listed: ENOENT, or ENODEV from a removed kernfs node) is
 * left out silently; one whose file cannot be read or parsed is tracked,
 * so later scans read it again, and logged. Fails only when out of
 * memory.
 */
static cl_err
read_pod(struct scan *s, int dirfd, const char *rel_dir, const char *uid,
         bool leaf)
{
        struct cl_cgroup_scanner *sc = s->sc;
        size_t prefix_len =
            s->path_len > s->hier_len ? s->path_len - s->hier_len - 1 : 0;
        char rel[PATH_MAX], path[PATH_MAX];
        struct tracked_file *f;
        int n, fd, err;
        cl_err rc;

        n = snprintf(rel, sizeof(rel), "%s/%s", rel_dir, s->acct_file);
        if (n < 0 || (size_t)n >= sizeof(rel)) {
                cl_fail(CL_EINVAL, "cgroup path too long: %s", rel_dir);
                warn_pod_skipped(uid);
                return CL_OK;
        }
        fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
        err = fd < 0 ? errno : 0;
        if (err == ENOENT || err == ENODEV) {
                cl_debug("cgroup_pod_vanished", "uid=%s path=%s", uid,
                         full_path(s, rel, path, sizeof(path)));
                return CL_OK;
        }
        rc = grow_array((void **)&sc->files, &sc->cap_files, sc->n_files + 1,
                        sizeof(*sc->files));
        if (rc == CL_OK) {
                f = &sc->files[sc->n_files];
                rc = arena_add(sc, s->buf->path + s->hier_len + 1, prefix_len,
                               rel, &f->rel);
        }
        if (rc != CL_OK) {
                if (fd >= 0)
                        close(fd);
                return rc;
        }
        memcpy(f->uid, uid, sizeof(f->uid));
        f->leaf = leaf;
        f->ok = false;
        f->version = s->version;
        f->fd = -1;
        f->usage = 0;
        if (fd < 0) {
                cl_fail_errno(CL_EIO, err, "read %s",
                              full_path(s, rel, path, sizeof(path)));
                warn_pod_skipped(uid);
                sc->n_files++;
                return CL_OK;
        }
        if (!load_file(sc, f, fd)) {
                cl_debug("cgroup_pod_vanished", "uid=%s path=%s", uid,
                         full_path(s, rel, path, sizeof(path)));
                close(fd);
                return CL_OK;
        }
        keep_or_close(sc, f, fd);
        sc->n_files++;
        if (f->ok)
                s->n_found++;
        return CL_OK;
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
        rc = watch_dir(s, name, known);
        if (rc != CL_OK)
                return rc;
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

        struct stat st;
        cl_err rc;

        s->version = version;
        s->acct_file = version == CL_CGROUP_V2 ? "cpu.stat" : "cpuacct.usage";
        n = snprintf(s->buf->path, sizeof(s->buf->path), "%s", path);
        if (n < 0 || (size_t)n >= sizeof(s->buf->path) ||
            (size_t)n >= sizeof(s->sc->hier_path))
                return cl_fail(CL_EINVAL, "cgroup root path too long: %s",
                               path);
        memcpy(s->sc->hier_path, path, (size_t)n + 1);
        s->path_len = (size_t)n;
        s->hier_len = (size_t)n;
        /*
         * The hierarchy root itself, for a pod folder made directly below
         * it; walk_tree() watches the cgroup root.
         */
        if (s->path_len > s->root_len) {
                if (fstat(fd, &st) != 0)
                        return cl_fail_errno(CL_EIO, errno, "stat %s", path);
                s->path_len = s->root_len;
                rc = watch_dir(s, path + s->root_len + 1, &st);
                s->path_len = (size_t)n;
                if (rc != CL_OK)
                        return rc;
        }
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
        s->hier_len = s->path_len;
        snprintf(s->sc->hier_path, sizeof(s->sc->hier_path), "%s", root_path);
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
compare_files(const void *a, const void *b)
{
        const struct tracked_file *x = a, *y = b;
        int c = strcmp(x->uid, y->uid);

        if (c != 0)
                return c;
        if (x->leaf != y->leaf)
                return x->leaf ? 1 : -1; /* pod-level first */
        return 0;
}

/*
 * Merges the tracked files read without error into sc->pods, one entry
 * per UID in files' order: the pod-level cgroup when there is one (the
 * largest, if a stale copy exists elsewhere), otherwise the sum of the
 * container leaves. v1 ns become us here, after the sum.
 */
static cl_err
merge_files(struct cl_cgroup_scanner *sc)
{
        cl_err rc;

        sc->n_pods = 0;
        rc = grow_array((void **)&sc->pods, &sc->cap_pods, sc->n_files,
                        sizeof(*sc->pods));
        if (rc != CL_OK)
                return rc;
        for (size_t i = 0; i < sc->n_files;) {
                const struct tracked_file *first = &sc->files[i];
                bool have_pod = false, have_leaf = false;
                uint64_t best = 0, sum = 0, usage;
                size_t j = i;

                for (; j < sc->n_files &&
                       strcmp(sc->files[j].uid, first->uid) == 0;
                     j++) {
                        const struct tracked_file *f = &sc->files[j];

                        if (!f->ok)
                                continue;
                        if (f->leaf) {
                                sum += f->usage;
                                have_leaf = true;
                        } else if (!have_pod || f->usage > best) {
                                best = f->usage;
                                have_pod = true;
                        }
                }
                i = j;
                if (!have_pod && !have_leaf)
                        continue;
                usage = have_pod ? best : sum;
                memcpy(sc->pods[sc->n_pods].uid, first->uid,
                       sizeof(first->uid));
                sc->pods[sc->n_pods].usage_us =
                    first->version == CL_CGROUP_V1 ? usage / 1000 : usage;
                sc->n_pods++;
        }
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

/* Closes the tracked files and forgets them and the watched folders. */
static void
forget_files(struct cl_cgroup_scanner *sc)
{
        for (size_t i = 0; i < sc->n_files; i++) {
                if (sc->files[i].fd >= 0)
                        close(sc->files[i].fd);
        }
        sc->n_files = 0;
        sc->n_open = 0;
        sc->n_dirs = 0;
        sc->arena_len = 0;
        sc->n_pods = 0;
}

/* Closes every descriptor of sc: it walks at its next scan. */
static void
reset_scanner(struct cl_cgroup_scanner *sc)
{
        forget_files(sc);
        if (sc->hierfd >= 0)
                close(sc->hierfd);
        if (sc->rootfd >= 0)
                close(sc->rootfd);
        sc->hierfd = -1;
        sc->rootfd = -1;
}

/*
 * Drops the tracked files of the hierarchy that the walk did not choose
 * (a hybrid host walks v1 and then the unified mount).
 */
static void
keep_version(struct cl_cgroup_scanner *sc, enum cl_cgroup_version version)
{
        size_t k = 0;

        for (size_t i = 0; i < sc->n_files; i++) {
                struct tracked_file *f = &sc->files[i];

                if (f->version != version) {
                        if (f->fd >= 0) {
                                close(f->fd);
                                sc->n_open--;
                        }
                        continue;
                }
                sc->files[k++] = *f;
        }
        sc->n_files = k;
}

/*
 * Walks the tree anew: opens the root, chooses the hierarchy, tracks its
 * pods' accounting files and records the watched folders. On failure the
 * scanner holds nothing.
 */
static cl_err
walk_tree(struct cl_cgroup_scanner *sc)
{
        struct scan s = {.sc = sc,
                         .version = CL_CGROUP_V2,
                         .acct_file = "cpu.stat",
                         .buf = sc->buf,
                         .root_len = strlen(sc->root)};
        char hier_path[PATH_MAX] = "";
        struct stat st;
        int hierfd = -1;
        cl_err rc;

        reset_scanner(sc);
        sc->scans_since_walk = 0;
        sc->rootfd = open(sc->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sc->rootfd < 0)
                return cl_fail_errno(CL_EIO, errno, "open cgroup root %s",
                                     sc->root);
        s.path_len = s.root_len;
        snprintf(s.buf->path, sizeof(s.buf->path), "%s", sc->root);
        s.buf->first_skipped[0] = '\0';
        /* The root: a hierarchy mounted or made below it later. */
        if (fstat(sc->rootfd, &st) != 0) {
                rc = cl_fail_errno(CL_EIO, errno, "stat %s", sc->root);
                goto out;
        }
        rc = watch_dir(&s, ".", &st);
        if (rc != CL_OK)
                goto out;

        rc = walk_root(&s, sc->rootfd, sc->root, &hierfd, hier_path,
                       sizeof(hier_path));
        if (rc != CL_OK)
                goto out;
        keep_version(sc, s.version);
        snprintf(sc->hier_path, sizeof(sc->hier_path), "%s", hier_path);
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
        if (sc->procfs != NULL && s.n_found == 0 && hierfd >= 0) {
                rc = scan_procfs(&s, sc->procfs, hierfd, hier_path);
                if (rc != CL_OK)
                        goto out;
        }
        if (sc->n_files > 1)
                qsort(sc->files, sc->n_files, sizeof(sc->files[0]),
                      compare_files);
        sc->version = s.version;
        sc->hierfd = hierfd;
        hierfd = -1;
out:
        if (hierfd >= 0)
                close(hierfd);
        if (rc != CL_OK)
                reset_scanner(sc);
        return rc;
}

/* Returns whether a watched folder is gone or has another link count. */
static bool
dirs_changed(const struct cl_cgroup_scanner *sc)
{
        for (size_t i = 0; i < sc->n_dirs; i++) {
                const struct watched_dir *d = &sc->dirs[i];
                struct stat st;

                if (fstatat(sc->rootfd, sc->arena + d->rel, &st, 0) != 0 ||
                    st.st_ino != d->ino || st.st_dev != d->dev ||
                    st.st_nlink != d->nlink) {
                        cl_debug("cgroup_rewalk",
                                 "reason=folder_changed "
                                 "path=%s",
                                 sc->arena + d->rel);
                        return true;
                }
        }
        return false;
}

/*
 * Reads every tracked file again. Returns false as soon as one is gone,
 * because the tree changed and needs a walk.
 */
static bool
reread_files(struct cl_cgroup_scanner *sc)
{
        for (size_t i = 0; i < sc->n_files; i++) {
                struct tracked_file *f = &sc->files[i];
                char path[PATH_MAX];
                int fd = f->fd;

                if (fd < 0) {
                        fd = openat(sc->hierfd, sc->arena + f->rel,
                                    O_RDONLY | O_CLOEXEC);
                        if (fd < 0 && (errno == ENOENT || errno == ENODEV))
                                goto vanished;
                        if (fd < 0) {
                                f->ok = false;
                                cl_fail_errno(
                                    CL_EIO, errno, "read %s",
                                    file_path(sc, f, path, sizeof(path)));
                                warn_pod_skipped(f->uid);
                                continue;
                        }
                }
                if (!load_file(sc, f, fd)) {
                        if (f->fd < 0)
                                close(fd);
                        goto vanished;
                }
                if (f->fd < 0)
                        keep_or_close(sc, f, fd);
                continue;
        vanished:
                cl_debug("cgroup_rewalk", "reason=pod_vanished uid=%s path=%s",
                         f->uid, file_path(sc, f, path, sizeof(path)));
                return false;
        }
        return true;
}

cl_err
cl_cgroup_scanner_open(const char *root, const char *procfs, size_t max_fds,
                       unsigned walk_every, struct cl_cgroup_scanner **out)
{
        struct cl_cgroup_scanner *sc;

        *out = NULL;
        if (walk_every == 0)
                return cl_fail(CL_EINVAL, "cgroup scanner: walk_every is 0");
        sc = calloc(1, sizeof(*sc));
        if (sc == NULL)
                return cl_fail(CL_ENOMEM, "scan cgroup pods: out of memory");
        sc->rootfd = -1;
        sc->hierfd = -1;
        sc->max_fds = max_fds;
        sc->walk_every = walk_every;
        sc->version = CL_CGROUP_V2;
        sc->root = strdup(root);
        sc->procfs = procfs != NULL ? strdup(procfs) : NULL;
        sc->buf = malloc(sizeof(*sc->buf));
        if (sc->root == NULL || (procfs != NULL && sc->procfs == NULL) ||
            sc->buf == NULL) {
                cl_cgroup_scanner_close(sc);
                return cl_fail(CL_ENOMEM, "scan cgroup pods: out of memory");
        }
        *out = sc;
        return CL_OK;
}

cl_err
cl_cgroup_scanner_scan(struct cl_cgroup_scanner *sc,
                       const struct cl_pod_cpu **pods, size_t *n,
                       enum cl_cgroup_version *version)
{
        bool walk;
        cl_err rc;

        *pods = NULL;
        *n = 0;
        *version = CL_CGROUP_V2;
        walk = sc->rootfd < 0 || ++sc->scans_since_walk >= sc->walk_every ||
               dirs_changed(sc) || !reread_files(sc);
        if (walk) {
                rc = walk_tree(sc);
                if (rc != CL_OK)
                        return rc;
        }
        rc = merge_files(sc);
        if (rc != CL_OK)
                return rc;
        *pods = sc->n_pods > 0 ? sc->pods : NULL;
        *n = sc->n_pods;
        *version = sc->version;
        return CL_OK;
}

size_t
cl_cgroup_scanner_open_fds(const struct cl_cgroup_scanner *sc)
{
        return sc->n_open;
}

void
cl_cgroup_scanner_close(struct cl_cgroup_scanner *sc)
{
        if (sc == NULL)
                return;
        reset_scanner(sc);
        free(sc->files);
        free(sc->dirs);
        free(sc->arena);
        free(sc->pods);
        free(sc->buf);
        free(sc->procfs);
        free(sc->root);
        free(sc);
}

cl_err
cl_cgroup_scan_pods(const char *root, const char *procfs,
                    struct cl_pod_cpu **pods, size_t *n,
                    enum cl_cgroup_version *version)
{
        struct cl_cgroup_scanner *sc = NULL;
        const struct cl_pod_cpu *found = NULL;
        cl_err rc;

        *pods = NULL;
        *n = 0;
        *version = CL_CGROUP_V2;
        /* No descriptor outlives the call: one walk, files closed. */
        rc = cl_cgroup_scanner_open(root, procfs, 0, 1, &sc);
        if (rc != CL_OK)
                return rc;
        rc = cl_cgroup_scanner_scan(sc, &found, n, version);
        if (rc == CL_OK && *n > 0) {
                *pods = malloc(*n * sizeof(**pods));
                if (*pods == NULL) {
                        rc = cl_fail(CL_ENOMEM,
                                     "scan cgroup pods: out of memory");
                        *n = 0;
                } else {
                        memcpy(*pods, found, *n * sizeof(**pods));
                }
        }
        cl_cgroup_scanner_close(sc);
        return rc;
}
