/*
 * Pod names from the kubelet's log folder (/var/log/pods by default). The
 * kubelet creates one folder per pod named <namespace>_<pod-name>_<uid>;
 * this file parses and validates those names and looks them up by UID.
 * The namespace is a DNS label and the name a DNS subdomain (RFC 1123,
 * as Kubernetes validates them), so neither contains '_' and a name has
 * exactly two.
 */
#include "podlogs.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool
is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * Returns whether the len bytes at s are a DNS label (max_len 63) or, with
 * dots allowed, a DNS subdomain (max_len 253): lower-case letters, digits,
 * '-' and '.', starting and ending with a letter or digit.
 */
static bool
is_dns_name(const char *s, size_t len, size_t max_len, bool allow_dots)
{
        if (len == 0 || len > max_len)
                return false;
        if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
                return false;
        for (size_t i = 0; i < len; i++) {
                if (is_lower_alnum(s[i]) || s[i] == '-')
                        continue;
                if (allow_dots && s[i] == '.')
                        continue;
                return false;
        }
        return true;
}

/*
 * Copies a UID in the API form (8-4-4-4-12 hex digits with dashes) of len
 * bytes at s to uid in lower case. Returns false on any other form.
 */
static bool
copy_api_uid(const char *s, size_t len, char uid[CL_POD_UID_LEN + 1])
{
        if (len != CL_POD_UID_LEN)
                return false;
        for (size_t i = 0; i < CL_POD_UID_LEN; i++) {
                char c = s[i];

                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (c != '-')
                                return false;
                } else if (c >= 'A' && c <= 'F') {
                        c = (char)(c - 'A' + 'a');
                } else if (!((c >= '0' && c <= '9') ||
                             (c >= 'a' && c <= 'f'))) {
                        return false;
                }
                uid[i] = c;
        }
        uid[CL_POD_UID_LEN] = '\0';
        return true;
}

/* Parses the folder name into *out; returns false when it is not a pod's. */
static bool
parse_folder_name(const char *folder, struct cl_pod_name *out)
{
        const char *first = strchr(folder, '_'), *second;
        size_t ns_len, name_len;

        if (first == NULL)
                return false;
        second = strchr(first + 1, '_');
        if (second == NULL)
                return false;
        ns_len = (size_t)(first - folder);
        name_len = (size_t)(second - first - 1);
        if (!is_dns_name(folder, ns_len, sizeof(out->namespace_) - 1, false) ||
            !is_dns_name(first + 1, name_len, sizeof(out->name) - 1, true) ||
            !copy_api_uid(second + 1, strlen(second + 1), out->uid))
                return false;
        memcpy(out->namespace_, folder, ns_len);
        out->namespace_[ns_len] = '\0';
        memcpy(out->name, first + 1, name_len);
        out->name[name_len] = '\0';
        return true;
}

/* Returns whether the entry d of dir is a folder; symlinks are not. */
static bool
is_folder(DIR *dir, const struct dirent *d)
{
        struct stat st;

        if (d->d_type != DT_UNKNOWN)
                return d->d_type == DT_DIR;
        if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                return false;
        return S_ISDIR(st.st_mode);
}

static void
log_skipped(const char *dir, const char *entry)
{
        char quoted_dir[PATH_MAX + 8], quoted_entry[NAME_MAX * 4 + 8];

        cl_debug("podlogs_entry_skipped", "dir=%s entry=%s",
                 cl_log_quote(dir, quoted_dir, sizeof(quoted_dir)),
                 cl_log_quote(entry, quoted_entry, sizeof(quoted_entry)));
}

static int
compare_names(const void *a, const void *b)
{
        const struct cl_pod_name *x = a, *y = b;
        int c = strcmp(x->uid, y->uid);

        if (c == 0)
                c = strcmp(x->namespace_, y->namespace_);
        if (c == 0)
                c = strcmp(x->name, y->name);
        return c;
}

/*
 * Sorts names by UID and keeps the first of entries that share a UID,
 * which only a tampered folder produces, so that cl_podlogs_find()
 * returns the same entry every time. Returns the new count.
 */
static size_t
sort_unique(struct cl_pod_name *names, size_t n)
{
        size_t kept = 0;

        if (n == 0)
                return 0;
        qsort(names, n, sizeof(names[0]), compare_names);
        for (size_t i = 1; i < n; i++) {
                if (strcmp(names[i].uid, names[kept].uid) == 0) {
                        cl_warn("podlogs_duplicate_uid",
                                "uid=%s kept=%s/%s ignored=%s/%s", names[i].uid,
                                names[kept].namespace_, names[kept].name,
                                names[i].namespace_, names[i].name);
                        continue;
                }
                kept++;
                if (kept != i)
                        names[kept] = names[i];
        }
        return kept + 1;
}

cl_err
cl_podlogs_read(const char *dir, struct cl_pod_name **names, size_t *n)
{
        struct cl_pod_name *list = NULL, *grown;
        size_t count = 0, cap = 0;
        struct dirent *d;
        cl_err rc = CL_OK;
        DIR *folder;

        *names = NULL;
        *n = 0;
        folder = opendir(dir);
        if (folder == NULL) {
                if (errno == ENOENT)
                        return CL_OK;
                return cl_fail_errno(CL_EIO, errno, "open pod log folder %s",
                                     dir);
        }
        for (;;) {
                errno = 0;
                d = readdir(folder);
                if (d == NULL) {
                        if (errno != 0)
                                rc = cl_fail_errno(CL_EIO, errno,
                                                   "list pod log folder %s",
                                                   dir);
                        break;
                }
                if (!is_folder(folder, d))
                        continue;
                if (count == cap) {
                        cap = cap == 0 ? 64 : cap * 2;
                        grown = realloc(list, cap * sizeof(*list));
                        if (grown == NULL) {
                                rc = cl_fail(CL_ENOMEM,
                                             "read pod log folder %s: out of "
                                             "memory",
                                             dir);
                                goto out;
                        }
                        list = grown;
                }
                if (parse_folder_name(d->d_name, &list[count]))
                        count++;
                else
                        log_skipped(dir, d->d_name);
        }
        if (rc != CL_OK)
                goto out;
        count = sort_unique(list, count);
        if (count == 0) {
                free(list);
                list = NULL;
        }
        *names = list;
        *n = count;
        list = NULL;
out:
        free(list);
        closedir(folder);
        return rc;
}

static int
compare_uid_key(const void *key, const void *entry)
{
        const struct cl_pod_name *name = entry;

        return strcmp(key, name->uid);
}

const struct cl_pod_name *
cl_podlogs_find(const struct cl_pod_name *names, size_t n, const char *uid)
{
        if (names == NULL || n == 0 || uid == NULL)
                return NULL;
        return bsearch(uid, names, n, sizeof(names[0]), compare_uid_key);
}
