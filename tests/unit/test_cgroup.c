/*
 * Tests of collector/cgroup.c: path parsing for every kubelet and runtime
 * layout, and cpu.stat parsing. The scans run over the fixture trees in
 * fixtures/cgroup, whose README lists the expected values, over copies of
 * them changed in a mkdtemp folder, and over the host's /sys/fs/cgroup.
 */
#define _XOPEN_SOURCE 700 /* nftw() */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cgroup.h"
#include "err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIXTURES CL_SOURCE_DIR "/fixtures/cgroup"

#define H64A "a09343ca97901516c25036e2b954421254f8c68b384b536064e8999f0c4ed18d"
#define H64B "65d752a38e1db784d521f48c3f1956f4f9a74ebb923377144f253f3aca9fa028"
#define H64C "01fd96f7ad292b02a8317cde4ecb8c7ef3cc06ffdd113f13410e0837eb2b2a20"

/* ---- helpers ---- */

struct expected_pod {
        const char *uid;
        uint64_t usage_us;
};

static char *
make_tmpdir(void)
{
        const char *base = getenv("TMPDIR");
        char template[PATH_MAX];
        char *dir;

        if (base == NULL || base[0] == '\0')
                base = "/tmp";
        assert_true(snprintf(template, sizeof(template), "%s/cl-cgroup-XXXXXX",
                             base) < (int)sizeof(template));
        dir = mkdtemp(template);
        assert_non_null(dir);
        return strdup(dir);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static void
remove_tmpdir(char *dir)
{
        assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        free(dir);
}

static void
write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

/* mkdir -p for path, relative to base. */
static void
make_dirs(const char *base, const char *rel)
{
        char path[PATH_MAX];
        int n = snprintf(path, sizeof(path), "%s/%s", base, rel);

        assert_true(n > 0 && n < (int)sizeof(path));
        for (char *p = path + strlen(base) + 1; *p != '\0'; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
                *p = '/';
        }
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* Writes text to base/rel, creating the folders above it. */
static void
put_file(const char *base, const char *rel, const char *text)
{
        char dir[PATH_MAX], path[PATH_MAX];
        const char *slash = strrchr(rel, '/');

        if (slash != NULL) {
                snprintf(dir, sizeof(dir), "%.*s", (int)(slash - rel), rel);
                make_dirs(base, dir);
        }
        snprintf(path, sizeof(path), "%s/%s", base, rel);
        write_text(path, text);
}

static void
put_cpu_stat(const char *base, const char *dir, uint64_t usage_us)
{
        char rel[PATH_MAX], text[256];

        snprintf(rel, sizeof(rel), "%s/cpu.stat", dir);
        snprintf(text, sizeof(text),
                 "usage_usec %llu\nuser_usec 0\nsystem_usec 0\n",
                 (unsigned long long)usage_us);
        put_file(base, rel, text);
}

/* Copies the tree src to dst (created), keeping symlinks as symlinks. */
static void
copy_tree(const char *src, const char *dst)
{
        char from[PATH_MAX], to[PATH_MAX], link[PATH_MAX];
        struct dirent *d;
        struct stat st;
        DIR *dir;

        assert_true(mkdir(dst, 0755) == 0 || errno == EEXIST);
        dir = opendir(src);
        assert_non_null(dir);
        while ((d = readdir(dir)) != NULL) {
                if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                        continue;
                snprintf(from, sizeof(from), "%s/%s", src, d->d_name);
                snprintf(to, sizeof(to), "%s/%s", dst, d->d_name);
                assert_int_equal(lstat(from, &st), 0);
                if (S_ISDIR(st.st_mode)) {
                        copy_tree(from, to);
                } else if (S_ISLNK(st.st_mode)) {
                        ssize_t n = readlink(from, link, sizeof(link) - 1);

                        assert_true(n > 0);
                        link[n] = '\0';
                        assert_int_equal(symlink(link, to), 0);
                } else {
                        char *text;
                        FILE *f = fopen(from, "r");
                        size_t len;

                        assert_non_null(f);
                        text = calloc(1, 65536);
                        assert_non_null(text);
                        len = fread(text, 1, 65535, f);
                        assert_int_equal(fclose(f), 0);
                        text[len] = '\0';
                        write_text(to, text);
                        free(text);
                }
        }
        closedir(dir);
}

/* Copies the fixture tree name into a new folder below tmp. */
static void
copy_fixture(const char *name, const char *tmp, char *out, size_t size)
{
        char src[PATH_MAX];

        snprintf(src, sizeof(src), "%s/%s", FIXTURES, name);
        assert_true(snprintf(out, size, "%s/%s", tmp, name) < (int)size);
        copy_tree(src, out);
}

/* Scans root and checks the result against want, entry by entry. */
static void
check_scan(const char *root, const char *procfs,
           enum cl_cgroup_version want_version, const struct expected_pod *want,
           size_t n_want)
{
        enum cl_cgroup_version version = CL_CGROUP_V1;
        struct cl_pod_cpu *pods = NULL;
        size_t n = 99;
        cl_err rc;

        rc = cl_cgroup_scan_pods(root, procfs, &pods, &n, &version);
        if (rc != CL_OK)
                print_error("scan %s: %s\n", root, cl_last_error());
        assert_int_equal(rc, CL_OK);
        assert_int_equal(version, want_version);
        assert_int_equal(n, n_want);
        for (size_t i = 0; i < n && i < n_want; i++) {
                assert_string_equal(pods[i].uid, want[i].uid);
                assert_int_equal(pods[i].usage_us, want[i].usage_us);
        }
        if (n == 0)
                assert_null(pods);
        free(pods);
}

/*
 * Runs the scan with stderr sent to a file below tmp and returns that
 * file's text (caller frees), so a test can check the log lines.
 */
static char *
scan_capturing_log(const char *root, struct cl_pod_cpu **pods, size_t *n,
                   const char *tmp)
{
        enum cl_cgroup_version version;
        char path[PATH_MAX], *text;
        int saved, fd;
        ssize_t len;

        snprintf(path, sizeof(path), "%s/stderr.log", tmp);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
        assert_int_equal(cl_cgroup_scan_pods(root, NULL, pods, n, &version),
                         CL_OK);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);

        text = calloc(1, 65536);
        assert_non_null(text);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        len = read(fd, text, 65535);
        assert_true(len >= 0);
        close(fd);
        return text;
}

/* ---- cl_cgroup_parse_path ---- */

struct path_case {
        const char *path;
        enum cl_cgroup_kind kind;
        const char *uid;
        const char *container_id;
};

static const struct path_case path_cases[] = {
    /* cri-o, systemd driver, burstable: the real example. */
    {"0::/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod2c9f8a79_5391_454b_88cb_86190881cb96.slice/"
     "crio-" H64A ".scope",
     CL_CGROUP_CONTAINER, "2c9f8a79-5391-454b-88cb-86190881cb96", H64A},
    /* Its parent, the pod-level cgroup. */
    {"/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod2c9f8a79_5391_454b_88cb_86190881cb96.slice",
     CL_CGROUP_POD, "2c9f8a79-5391-454b-88cb-86190881cb96", ""},
    /* containerd on v1, systemd driver: a container leaf. */
    {"13:memory:/system.slice/containerd.service/"
     "kubepods-besteffort-pod0043435f_1854_4327_b76b_730f681a781d.slice:"
     "cri-containerd:" H64C,
     CL_CGROUP_CONTAINER, "0043435f-1854-4327-b76b-730f681a781d", H64C},
    /* Guaranteed, cgroupfs driver, docker-style bare id. */
    {"0::/kubepods/pod51b64565-2b17-4d46-83ac-22e398f2f7fb/" H64B,
     CL_CGROUP_CONTAINER, "51b64565-2b17-4d46-83ac-22e398f2f7fb", H64B},
    {"/kubepods/pod51b64565-2b17-4d46-83ac-22e398f2f7fb", CL_CGROUP_POD,
     "51b64565-2b17-4d46-83ac-22e398f2f7fb", ""},
    /* Guaranteed, systemd driver. */
    {"0::/kubepods.slice/"
     "kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a.slice/crio-" H64B
     ".scope",
     CL_CGROUP_CONTAINER, "7922aa99-d4aa-4885-a953-82976860b23a", H64B},
    {"/kubepods.slice/kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a.slice",
     CL_CGROUP_POD, "7922aa99-d4aa-4885-a953-82976860b23a", ""},
    /* cgroupfs driver, burstable and besteffort. */
    {"/kubepods/burstable/pod2c9f8a79-5391-454b-88cb-86190881cb96/" H64A,
     CL_CGROUP_CONTAINER, "2c9f8a79-5391-454b-88cb-86190881cb96", H64A},
    {"/kubepods/besteffort/pod0043435f-1854-4327-b76b-730f681a781d",
     CL_CGROUP_POD, "0043435f-1854-4327-b76b-730f681a781d", ""},
    /* cgroupfs driver with cri-o's "crio-<id>" names. */
    {"/kubepods/besteffort/pod0043435f-1854-4327-b76b-730f681a781d/crio-" H64C,
     CL_CGROUP_CONTAINER, "0043435f-1854-4327-b76b-730f681a781d", H64C},
    /* containerd and docker, systemd driver, v2. */
    {"/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod2c9f8a79_5391_454b_88cb_86190881cb96.slice/"
     "cri-containerd-" H64A ".scope",
     CL_CGROUP_CONTAINER, "2c9f8a79-5391-454b-88cb-86190881cb96", H64A},
    {"/kubepods.slice/kubepods-besteffort.slice/"
     "kubepods-besteffort-pod0043435f_1854_4327_b76b_730f681a781d.slice/"
     "docker-" H64C ".scope",
     CL_CGROUP_CONTAINER, "0043435f-1854-4327-b76b-730f681a781d", H64C},
    /* cri-o's conmon scope is inside the pod but names no container. */
    {"/kubepods.slice/kubepods-besteffort.slice/"
     "kubepods-besteffort-pod0043435f_1854_4327_b76b_730f681a781d.slice/"
     "crio-conmon-" H64C ".scope",
     CL_CGROUP_CONTAINER, "0043435f-1854-4327-b76b-730f681a781d", ""},
    /* kind: the kubelet's slices nested below kubelet.slice. */
    {"0::/kubelet.slice/kubelet-kubepods.slice/"
     "kubelet-kubepods-besteffort.slice/"
     "kubelet-kubepods-besteffort-pod0043435f_1854_4327_b76b_730f681a781d."
     "slice/cri-containerd-" H64C ".scope",
     CL_CGROUP_CONTAINER, "0043435f-1854-4327-b76b-730f681a781d", H64C},
    /* docker-in-docker with the cgroupfs driver. */
    {"/docker/" H64B "/kubepods/burstable/"
     "pod51b64565-2b17-4d46-83ac-22e398f2f7fb/" H64A,
     CL_CGROUP_CONTAINER, "51b64565-2b17-4d46-83ac-22e398f2f7fb", H64A},
    /* Upper-case hex gives the lower-case API form. */
    {"/kubepods/burstable/pod2C9F8A79-5391-454B-88CB-86190881CB96/" H64A,
     CL_CGROUP_CONTAINER, "2c9f8a79-5391-454b-88cb-86190881cb96", H64A},
    {"/kubepods.slice/kubepods-pod7922AA99_D4AA_4885_A953_82976860B23A.slice",
     CL_CGROUP_POD, "7922aa99-d4aa-4885-a953-82976860b23a", ""},
    /* A trailing newline, as in a /proc/<pid>/cgroup line. */
    {"0::/kubepods/pod51b64565-2b17-4d46-83ac-22e398f2f7fb\n", CL_CGROUP_POD,
     "51b64565-2b17-4d46-83ac-22e398f2f7fb", ""},
};

static void
test_parse_path_known_forms(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
             i++) {
                const struct path_case *c = &path_cases[i];
                char uid[CL_POD_UID_LEN + 1], cid[65];
                enum cl_cgroup_kind kind;

                memset(uid, 'x', sizeof(uid));
                memset(cid, 'x', sizeof(cid));
                kind = cl_cgroup_parse_path(c->path, uid, cid);
                print_message("case %zu: %s\n", i, c->path);
                assert_int_equal(kind, c->kind);
                assert_string_equal(uid, c->uid);
                assert_string_equal(cid, c->container_id);
        }
}

static const char *const not_pod_paths[] = {
    "/",
    "",
    "0::/",
    "/kubepods.slice",
    "/kubepods.slice/kubepods-burstable.slice",
    "/kubepods/burstable",
    "/system.slice/podman-xyz.scope",
    "/machine.slice/podman-xyz",
    "/system.slice/containerd.service",
    /* UID too short, too long, not hex, wrong groups, wrong separator. */
    "/kubepods/pod2c9f8a79-5391-454b-88cb-86190881cb9",
    "/kubepods/pod2c9f8a79-5391-454b-88cb-86190881cb966",
    "/kubepods/pod2c9f8a79-5391-454b-88cb-86190881cbzz",
    "/kubepods/pod2c9f8a795-391-454b-88cb-86190881cb96",
    "/kubepods/pod2c9f8a79_5391_454b_88cb_86190881cb96",
    "/kubepods.slice/"
    "kubepods-pod7922aa99-d4aa-4885-a953-82976860b23a.slice",
    "/kubepods.slice/kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a",
    /* A slice whose parent is not the kubepods slice. */
    "/machine.slice/machine-pod7922aa99_d4aa_4885_a953_82976860b23a.slice",
    "/kubepods.slice/podkubepods-pod7922aa99_d4aa_4885_a953.slice",
    "/kubepods/notpod51b64565-2b17-4d46-83ac-22e398f2f7fb",
};

static void
test_parse_path_rejects_non_pods(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(not_pod_paths) / sizeof(not_pod_paths[0]);
             i++) {
                char uid[CL_POD_UID_LEN + 1], cid[65];

                memset(uid, 'x', sizeof(uid));
                memset(cid, 'x', sizeof(cid));
                print_message("case %zu: %s\n", i, not_pod_paths[i]);
                assert_int_equal(
                    cl_cgroup_parse_path(not_pod_paths[i], uid, cid),
                    CL_CGROUP_OTHER);
                assert_string_equal(uid, "");
                assert_string_equal(cid, "");
        }
}

static void
test_parse_path_innermost_pod_wins(void **state)
{
        char uid[CL_POD_UID_LEN + 1], cid[65];

        (void)state;
        assert_int_equal(
            cl_cgroup_parse_path(
                "/kubepods/burstable/pod2c9f8a79-5391-454b-88cb-86190881cb96/"
                "kubepods/pod51b64565-2b17-4d46-83ac-22e398f2f7fb/" H64B,
                uid, cid),
            CL_CGROUP_CONTAINER);
        assert_string_equal(uid, "51b64565-2b17-4d46-83ac-22e398f2f7fb");
        assert_string_equal(cid, H64B);

        assert_int_equal(
            cl_cgroup_parse_path(
                "/kubepods.slice/"
                "kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a.slice/"
                "kubepods/besteffort/pod0043435f-1854-4327-b76b-730f681a781d",
                uid, cid),
            CL_CGROUP_POD);
        assert_string_equal(uid, "0043435f-1854-4327-b76b-730f681a781d");
        assert_string_equal(cid, "");
}

static void
test_parse_path_proc_line_prefixes(void **state)
{
        static const char *const prefixes[] = {
            "0::", "13:memory:", "2:cpu,cpuacct:", "1:name=systemd:", ""};
        const char *tail = "/kubepods/burstable/"
                           "pod2c9f8a79-5391-454b-88cb-86190881cb96/" H64A;

        (void)state;
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                char line[512], uid[CL_POD_UID_LEN + 1], cid[65];

                snprintf(line, sizeof(line), "%s%s", prefixes[i], tail);
                print_message("prefix '%s'\n", prefixes[i]);
                assert_int_equal(cl_cgroup_parse_path(line, uid, cid),
                                 CL_CGROUP_CONTAINER);
                assert_string_equal(uid,
                                    "2c9f8a79-5391-454b-88cb-86190881cb96");
                assert_string_equal(cid, H64A);
        }
}

/* ---- cl_cgroup_parse_cpu_stat ---- */

static void
test_parse_cpu_stat_good(void **state)
{
        uint64_t usage = 0;

        (void)state;
        assert_int_equal(cl_cgroup_parse_cpu_stat(
                             "usage_usec 123456789\nuser_usec 100\n"
                             "system_usec 23\ncore_sched.force_idle_usec 0\n"
                             "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"
                             "nr_bursts 0\nburst_usec 0\n",
                             "x/cpu.stat", &usage),
                         CL_OK);
        assert_int_equal(usage, 123456789);

        /* usage_usec need not come first, and the final newline is optional. */
        assert_int_equal(cl_cgroup_parse_cpu_stat("user_usec 1\nusage_usec 42",
                                                  "x/cpu.stat", &usage),
                         CL_OK);
        assert_int_equal(usage, 42);

        /* INT64_MAX is the largest value SQLite stores; above is an error. */
        assert_int_equal(cl_cgroup_parse_cpu_stat("usage_usec "
                                                  "9223372036854775807\n",
                                                  "x/cpu.stat", &usage),
                         CL_OK);
        assert_int_equal(usage, INT64_MAX);
        assert_int_equal(cl_cgroup_parse_cpu_stat("usage_usec "
                                                  "9223372036854775808\n",
                                                  "x/cpu.stat", &usage),
                         CL_EFORMAT);
}

struct bad_stat_case {
        const char *text;
        const char *message_part; /* the bad line, or the missing key */
};

static void
test_parse_cpu_stat_malformed(void **state)
{
        static const struct bad_stat_case cases[] = {
            {"usage_usec 5\nuser_usec\n", "'user_usec'"},
            {"usage_usec abc\n", "'usage_usec abc'"},
            {"usage_usec 12a\n", "'usage_usec 12a'"},
            {"usage_usec -5\n", "'usage_usec -5'"},
            {"usage_usec  5\n", "'usage_usec  5'"},
            {"usage_usec 5 \n", "'usage_usec 5 '"},
            {" usage_usec 5\n", "' usage_usec 5'"},
            {"usage_usec \n", "'usage_usec '"},
            {"usage_usec 18446744073709551616\n", "18446744073709551616"},
            {"user_usec 1\nsystem_usec 2\n", "no usage_usec"},
            {"", "no usage_usec"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint64_t usage = 7;

                cl_clear_error();
                print_message("case %zu: '%s'\n", i, cases[i].text);
                assert_int_equal(cl_cgroup_parse_cpu_stat(
                                     cases[i].text, "/cg/pod/cpu.stat", &usage),
                                 CL_EFORMAT);
                assert_int_equal(usage, 7);
                assert_non_null(strstr(cl_last_error(), "/cg/pod/cpu.stat"));
                assert_non_null(strstr(cl_last_error(), cases[i].message_part));
        }
}

/* ---- scans over the fixture trees ---- */

static void
test_scan_v2_systemd_tree(void **state)
{
        /* Pod-level usage only: never the kubepods slices or containers. */
        static const struct expected_pod want[] = {
            {"1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f", 2500},
            {"2c9f8a79-5391-454b-88cb-86190881cb96", 5000000},
            {"7922aa99-d4aa-4885-a953-82976860b23a", 42000000},
            {"a3f1c2d4-0b9e-4f6a-8c7d-112233445566", 64000},
        };

        (void)state;
        check_scan(FIXTURES "/v2-systemd", NULL, CL_CGROUP_V2, want, 4);
}

static void
test_scan_v2_cgroupfs_tree(void **state)
{
        static const struct expected_pod want[] = {
            {"51b64565-2b17-4d46-83ac-22e398f2f7fb", 31000000},
            {"b4e2d3c5-1a0f-4a7b-9d8e-223344556677", 11000},
            {"c5f3e4d6-2b1a-4b8c-ae9f-334455667788", 2900},
        };

        (void)state;
        check_scan(FIXTURES "/v2-cgroupfs", NULL, CL_CGROUP_V2, want, 3);
}

static void
test_scan_v1_converts_ns_to_us(void **state)
{
        /* 7000123456 ns and 999 ns, truncated to whole us. */
        static const struct expected_pod want[] = {
            {"d6a4f5e7-3c2b-4c9d-bf0a-445566778899", 7000123},
            {"e7b5a6f8-4d3c-4dae-8c1b-5566778899aa", 0},
        };

        (void)state;
        check_scan(FIXTURES "/v1-cpuacct", NULL, CL_CGROUP_V1, want, 2);
}

static void
test_scan_v1_combined_symlinked_mount(void **state)
{
        char *tmp = make_tmpdir(), *log;
        struct cl_pod_cpu *pods = NULL;
        size_t n = 0;

        (void)state;
        log = scan_capturing_log(FIXTURES "/v1-combined", &pods, &n, tmp);
        assert_int_equal(n, 1);
        assert_string_equal(pods[0].uid,
                            "f8c6b7a9-5e4d-4ebf-9d2c-66778899aabb");
        assert_int_equal(pods[0].usage_us, 2500000);
        /*
         * Following the "loop" symlink (to the QoS slice's parent) would
         * recurse to the depth limit and log cgroup_walk_incomplete.
         */
        assert_null(strstr(log, "cgroup_walk_incomplete"));
        free(log);
        free(pods);
        remove_tmpdir(tmp);
}

static void
test_scan_v1_combined_without_symlinks(void **state)
{
        static const struct expected_pod want[] = {
            {"f8c6b7a9-5e4d-4ebf-9d2c-66778899aabb", 2500000},
        };
        char *tmp = make_tmpdir(), root[PATH_MAX], link[PATH_MAX];

        (void)state;
        copy_fixture("v1-combined", tmp, root, sizeof(root));
        snprintf(link, sizeof(link), "%s/cpu", root);
        assert_int_equal(unlink(link), 0);
        snprintf(link, sizeof(link), "%s/cpuacct", root);
        assert_int_equal(unlink(link), 0);
        check_scan(root, NULL, CL_CGROUP_V1, want, 1);
        remove_tmpdir(tmp);
}

static void
test_scan_hybrid_prefers_v1(void **state)
{
        /* unified/ has the same pod with usage_usec 1: not used. */
        static const struct expected_pod want[] = {
            {"0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3", 3000000},
        };

        (void)state;
        check_scan(FIXTURES "/hybrid", NULL, CL_CGROUP_V1, want, 1);
}

static void
test_scan_hybrid_falls_back_to_unified(void **state)
{
        static const struct expected_pod want[] = {
            {"0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3", 1},
        };
        char *tmp = make_tmpdir(), root[PATH_MAX], pods[PATH_MAX];

        (void)state;
        copy_fixture("hybrid", tmp, root, sizeof(root));
        snprintf(pods, sizeof(pods), "%s/cpu,cpuacct/kubepods.slice", root);
        assert_int_equal(nftw(pods, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        check_scan(root, NULL, CL_CGROUP_V2, want, 1);
        remove_tmpdir(tmp);
}

static void
test_scan_hybrid_without_pods(void **state)
{
        char *tmp = make_tmpdir(), root[PATH_MAX], pods[PATH_MAX];

        (void)state;
        copy_fixture("hybrid", tmp, root, sizeof(root));
        snprintf(pods, sizeof(pods), "%s/cpu,cpuacct/kubepods.slice", root);
        assert_int_equal(nftw(pods, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        snprintf(pods, sizeof(pods), "%s/unified/kubepods.slice", root);
        assert_int_equal(nftw(pods, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        check_scan(root, NULL, CL_CGROUP_V1, NULL, 0);
        remove_tmpdir(tmp);
}

static void
test_scan_kind_nested_tree(void **state)
{
        static const struct expected_pod want[] = {
            {"11111111-2222-4333-8444-555555555555", 4100},
            {"22222222-3333-4444-8555-666666666666", 8200},
            {"33333333-4444-4555-8666-777777777777", 16300},
            {"44444444-5555-4666-8777-888888888888", 32400},
        };

        (void)state;
        check_scan(FIXTURES "/kind-nested", NULL, CL_CGROUP_V2, want, 4);
}

static void
test_scan_containerd_v1_sums_leaves(void **state)
{
        static const struct expected_pod want[] = {
            /* 1500000600 + 500000700 ns, summed before the division. */
            {"0043435f-1854-4327-b76b-730f681a781d", 2000001},
            {"12121212-3434-4565-8787-909090909090", 3000000},
            /* The pod-level cgroup, not its leaf of 1000000 us. */
            {"56565656-7878-4909-8a1a-2b2b2b2b2b2b", 9000000},
        };

        (void)state;
        check_scan(FIXTURES "/v1-containerd", NULL, CL_CGROUP_V1, want, 3);
}

static void
test_scan_skips_malformed_pod(void **state)
{
        static const struct expected_pod want[] = {
            {"1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f", 2500},
            {"7922aa99-d4aa-4885-a953-82976860b23a", 42000000},
            {"a3f1c2d4-0b9e-4f6a-8c7d-112233445566", 64000},
        };
        char *tmp = make_tmpdir(), root[PATH_MAX], file[PATH_MAX], *log;
        struct cl_pod_cpu *pods = NULL;
        size_t n = 0;

        (void)state;
        copy_fixture("v2-systemd", tmp, root, sizeof(root));
        snprintf(file, sizeof(file),
                 "%s/kubepods.slice/kubepods-burstable.slice/"
                 "kubepods-burstable-pod2c9f8a79_5391_454b_88cb_86190881cb96."
                 "slice/cpu.stat",
                 root);
        write_text(file, "usage_usec 5000000\nuser_usec twelve\n");

        log = scan_capturing_log(root, &pods, &n, tmp);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n && i < 3; i++) {
                assert_string_equal(pods[i].uid, want[i].uid);
                assert_int_equal(pods[i].usage_us, want[i].usage_us);
        }
        assert_non_null(strstr(log, "event=cgroup_pod_skipped"));
        assert_non_null(
            strstr(log, "uid=2c9f8a79-5391-454b-88cb-86190881cb96"));
        assert_non_null(strstr(log, file));
        assert_non_null(strstr(log, "user_usec twelve"));
        free(log);
        free(pods);
        remove_tmpdir(tmp);
}

static void
test_scan_skips_malformed_v1_pod(void **state)
{
        static const struct expected_pod want[] = {
            {"e7b5a6f8-4d3c-4dae-8c1b-5566778899aa", 0},
        };
        char *tmp = make_tmpdir(), root[PATH_MAX], file[PATH_MAX];

        (void)state;
        copy_fixture("v1-cpuacct", tmp, root, sizeof(root));
        snprintf(file, sizeof(file),
                 "%s/cpuacct/kubepods/burstable/"
                 "podd6a4f5e7-3c2b-4c9d-bf0a-445566778899/cpuacct.usage",
                 root);
        write_text(file, "7000123456 ns\n");
        check_scan(root, NULL, CL_CGROUP_V1, want, 1);
        assert_non_null(strstr(cl_last_error(), file));
        assert_non_null(strstr(cl_last_error(), "7000123456 ns"));
        remove_tmpdir(tmp);
}

static void
test_scan_skips_vanished_pod(void **state)
{
        /*
         * A pod folder without cpu.stat stands for one removed between the
         * listing and the read: every cgroup v2 folder has cpu.stat.
         */
        static const struct expected_pod want[] = {
            {"1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f", 2500},
            {"2c9f8a79-5391-454b-88cb-86190881cb96", 5000000},
            {"7922aa99-d4aa-4885-a953-82976860b23a", 42000000},
        };
        char *tmp = make_tmpdir(), root[PATH_MAX], file[PATH_MAX], *log;
        struct cl_pod_cpu *pods = NULL;
        size_t n = 0;

        (void)state;
        copy_fixture("v2-systemd", tmp, root, sizeof(root));
        snprintf(file, sizeof(file),
                 "%s/kubepods.slice/kubepods-besteffort.slice/"
                 "kubepods-besteffort-poda3f1c2d4_0b9e_4f6a_8c7d_112233445566."
                 "slice/cpu.stat",
                 root);
        assert_int_equal(unlink(file), 0);

        log = scan_capturing_log(root, &pods, &n, tmp);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n && i < 3; i++) {
                assert_string_equal(pods[i].uid, want[i].uid);
                assert_int_equal(pods[i].usage_us, want[i].usage_us);
        }
        /* Silent at the default level: no warning. */
        assert_null(strstr(log, "level=warn"));
        free(log);
        free(pods);
        remove_tmpdir(tmp);
}

static void
test_scan_duplicate_pod_counted_once(void **state)
{
        /*
         * One UID with a stale cgroupfs-driver folder and a live
         * systemd-driver one: one entry, the larger usage.
         */
        static const struct expected_pod want[] = {
            {"2c9f8a79-5391-454b-88cb-86190881cb96", 9000},
        };
        char *tmp = make_tmpdir();

        (void)state;
        put_file(tmp, "cgroup.controllers", "cpu\n");
        put_cpu_stat(tmp,
                     "kubepods/burstable/"
                     "pod2c9f8a79-5391-454b-88cb-86190881cb96",
                     4000);
        put_cpu_stat(tmp,
                     "kubepods.slice/kubepods-burstable.slice/"
                     "kubepods-burstable-pod2c9f8a79_5391_454b_88cb_"
                     "86190881cb96.slice",
                     9000);
        check_scan(tmp, NULL, CL_CGROUP_V2, want, 1);
        remove_tmpdir(tmp);
}

static void
test_scan_pod_children_not_listed(void **state)
{
        /*
         * A kubelet running inside pod 2c9f8a79 (kind in a pod) has its own
         * pods below that pod's container. Their time is part of the outer
         * pod's usage, so only the outer pod is reported.
         */
        static const struct expected_pod want[] = {
            {"2c9f8a79-5391-454b-88cb-86190881cb96", 70000},
        };
        char *tmp = make_tmpdir();

        (void)state;
        put_file(tmp, "cgroup.controllers", "cpu\n");
        put_cpu_stat(tmp,
                     "kubepods/burstable/"
                     "pod2c9f8a79-5391-454b-88cb-86190881cb96",
                     70000);
        put_cpu_stat(tmp,
                     "kubepods/burstable/"
                     "pod2c9f8a79-5391-454b-88cb-86190881cb96/" H64A
                     "/kubepods/pod51b64565-2b17-4d46-83ac-22e398f2f7fb",
                     60000);
        check_scan(tmp, NULL, CL_CGROUP_V2, want, 1);
        remove_tmpdir(tmp);
}

/* Writes a v2 tree with one pod below more folders than the walk lists. */
static void
put_deep_pod(const char *root, char *pod_path, size_t size)
{
        char rel[PATH_MAX] = "";
        size_t used = 0;

        put_file(root, "cgroup.controllers", "cpu\n");
        for (int i = 0; i < 20; i++)
                used += (size_t)snprintf(rel + used, sizeof(rel) - used,
                                         "%sn%d", i == 0 ? "" : "/", i);
        snprintf(pod_path, size,
                 "/%s/kubepods/pod51b64565-2b17-4d46-83ac-22e398f2f7fb", rel);
        put_cpu_stat(root, pod_path + 1, 31000);
}

static void
test_scan_depth_limit_boundary(void **state)
{
        /* Pods 16 levels below the root are found, pods 17 levels not. */
        static const struct expected_pod want[] = {
            {"2c9f8a79-5391-454b-88cb-86190881cb96", 16},
        };
        char *tmp = make_tmpdir(), rel[PATH_MAX] = "";
        size_t used = 0;

        (void)state;
        put_file(tmp, "cgroup.controllers", "cpu\n");
        for (int i = 1; i <= 15; i++)
                used +=
                    (size_t)snprintf(rel + used, sizeof(rel) - used, "d%d/", i);
        snprintf(rel + used, sizeof(rel) - used,
                 "pod2c9f8a79-5391-454b-88cb-86190881cb96");
        put_cpu_stat(tmp, rel, 16);
        snprintf(rel + used, sizeof(rel) - used,
                 "d16/pod51b64565-2b17-4d46-83ac-22e398f2f7fb");
        put_cpu_stat(tmp, rel, 17);
        check_scan(tmp, NULL, CL_CGROUP_V2, want, 1);
        remove_tmpdir(tmp);
}

static void
test_scan_procfs_finds_outside_pod(void **state)
{
        static const struct expected_pod want[] = {
            {"51b64565-2b17-4d46-83ac-22e398f2f7fb", 31000},
        };
        char *tmp = make_tmpdir(), root[PATH_MAX], proc[PATH_MAX],
             pod[PATH_MAX], line[PATH_MAX * 2];

        (void)state;
        snprintf(root, sizeof(root), "%s/cg", tmp);
        snprintf(proc, sizeof(proc), "%s/proc", tmp);
        make_dirs(tmp, "cg");
        make_dirs(tmp, "proc");
        put_deep_pod(root, pod, sizeof(pod));

        /* Two processes of the pod: read once. */
        snprintf(line, sizeof(line), "0::%s/%s\n", pod, H64B);
        put_file(proc, "100/cgroup", line);
        snprintf(line, sizeof(line), "12:pids:/x\n1:name=systemd:/y\n0::%s\n",
                 pod);
        put_file(proc, "101/cgroup", line);
        /* Not pods, or not a process. */
        put_file(proc, "102/cgroup", "0::/system.slice/sshd.service\n");
        put_file(proc, "self/cgroup", "0::/\n");
        put_file(proc, "meminfo", "MemTotal: 1 kB\n");
        /* A path outside the root ("/.." from another namespace). */
        put_cpu_stat(tmp, "outside/pod2c9f8a79-5391-454b-88cb-86190881cb96", 5);
        put_file(proc, "103/cgroup",
                 "0::/../outside/pod2c9f8a79-5391-454b-88cb-86190881cb96\n");

        check_scan(root, NULL, CL_CGROUP_V2, NULL, 0);
        check_scan(root, proc, CL_CGROUP_V2, want, 1);
        remove_tmpdir(tmp);
}

static void
test_scan_procfs_v1_cpuacct_line(void **state)
{
        static const struct expected_pod want[] = {
            {"0043435f-1854-4327-b76b-730f681a781d", 2000001},
            {"51b64565-2b17-4d46-83ac-22e398f2f7fb", 31},
        };
        char *tmp = make_tmpdir(), root[PATH_MAX], proc[PATH_MAX],
             line[PATH_MAX];

        (void)state;
        snprintf(root, sizeof(root), "%s/cg", tmp);
        snprintf(proc, sizeof(proc), "%s/proc", tmp);
        make_dirs(tmp, "cg/cpu,cpuacct");
        make_dirs(tmp, "proc");
        /* Both pods sit below a symlink, which the walk does not follow. */
        put_file(tmp,
                 "elsewhere/kubepods/pod51b64565-2b17-4d46-83ac-"
                 "22e398f2f7fb/cpuacct.usage",
                 "31000\n");
        put_file(tmp,
                 "elsewhere/kubepods-besteffort-pod0043435f_1854_4327_b76b_"
                 "730f681a781d.slice:cri-containerd:" H64C "/cpuacct.usage",
                 "1500000600\n");
        put_file(tmp,
                 "elsewhere/kubepods-besteffort-pod0043435f_1854_4327_b76b_"
                 "730f681a781d.slice:cri-containerd:" H64A "/cpuacct.usage",
                 "500000700\n");
        snprintf(line, sizeof(line), "%s/elsewhere", tmp);
        snprintf(root + strlen(root), sizeof(root) - strlen(root),
                 "/cpu,cpuacct/nested");
        assert_int_equal(symlink(line, root), 0);
        snprintf(root, sizeof(root), "%s/cg", tmp);

        /* Lines of hierarchies without cpuacct are not read. */
        put_file(tmp,
                 "elsewhere/kubepods/pod2c9f8a79-5391-454b-88cb-"
                 "86190881cb96/cpuacct.usage",
                 "5000\n");
        put_file(proc, "200/cgroup",
                 "4:memory:/nested/kubepods/pod2c9f8a79-5391-454b-88cb-"
                 "86190881cb96\n"
                 "0::/nested/kubepods/pod2c9f8a79-5391-454b-88cb-"
                 "86190881cb96\n"
                 "3:cpu,cpuacct:/nested/kubepods/pod51b64565-2b17-4d46-83ac-"
                 "22e398f2f7fb\n");
        put_file(proc, "201/cgroup",
                 "3:cpu,cpuacct:/nested/kubepods-besteffort-pod0043435f_1854_"
                 "4327_b76b_730f681a781d.slice:cri-containerd:" H64C "\n");
        /* A second process of the same leaf is not counted twice. */
        put_file(proc, "202/cgroup",
                 "3:cpu,cpuacct:/nested/kubepods-besteffort-pod0043435f_1854_"
                 "4327_b76b_730f681a781d.slice:cri-containerd:" H64C "\n");
        put_file(proc, "203/cgroup",
                 "3:cpu,cpuacct:/nested/kubepods-besteffort-pod0043435f_1854_"
                 "4327_b76b_730f681a781d.slice:cri-containerd:" H64A "\n");

        check_scan(root, NULL, CL_CGROUP_V1, NULL, 0);
        check_scan(root, proc, CL_CGROUP_V1, want, 2);
        remove_tmpdir(tmp);
}

static void
test_scan_procfs_skipped_after_walk(void **state)
{
        /*
         * The walk finds the fixture's pods, so the pod that only the
         * process list names is not read.
         */
        static const struct expected_pod want[] = {
            {"1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f", 2500},
            {"2c9f8a79-5391-454b-88cb-86190881cb96", 5000000},
            {"7922aa99-d4aa-4885-a953-82976860b23a", 42000000},
            {"a3f1c2d4-0b9e-4f6a-8c7d-112233445566", 64000},
        };
        char *tmp = make_tmpdir(), root[PATH_MAX], proc[PATH_MAX],
             pod[PATH_MAX], line[PATH_MAX];

        (void)state;
        copy_fixture("v2-systemd", tmp, root, sizeof(root));
        put_deep_pod(root, pod, sizeof(pod));
        snprintf(proc, sizeof(proc), "%s/proc", tmp);
        make_dirs(tmp, "proc");
        snprintf(line, sizeof(line), "0::%s\n", pod);
        put_file(proc, "100/cgroup", line);
        check_scan(root, proc, CL_CGROUP_V2, want, 4);
        remove_tmpdir(tmp);
}

static void
test_scan_empty_root_gives_nothing(void **state)
{
        char *tmp = make_tmpdir();

        (void)state;
        put_file(tmp, "README", "not a cgroup mount\n");
        check_scan(tmp, NULL, CL_CGROUP_V2, NULL, 0);
        remove_tmpdir(tmp);
}

static void
test_scan_missing_root_fails(void **state)
{
        char *tmp = make_tmpdir(), root[PATH_MAX];
        enum cl_cgroup_version version;
        struct cl_pod_cpu *pods = (void *)1;
        size_t n = 5;

        (void)state;
        snprintf(root, sizeof(root), "%s/absent", tmp);
        assert_int_equal(cl_cgroup_scan_pods(root, NULL, &pods, &n, &version),
                         CL_EIO);
        assert_null(pods);
        assert_int_equal(n, 0);
        assert_non_null(strstr(cl_last_error(), root));
        assert_non_null(strstr(cl_last_error(), strerror(ENOENT)));

        /* A file in place of the folder. */
        put_file(tmp, "file", "x\n");
        snprintf(root, sizeof(root), "%s/file", tmp);
        assert_int_equal(cl_cgroup_scan_pods(root, NULL, &pods, &n, &version),
                         CL_EIO);
        assert_non_null(strstr(cl_last_error(), strerror(ENOTDIR)));
        remove_tmpdir(tmp);
}

/*
 * Scans root and returns 0 when it fails with CL_EIO naming root and the
 * EACCES text, or the number of the first condition that does not hold.
 */
static int
unreadable_root_condition(const char *root)
{
        enum cl_cgroup_version version;
        struct cl_pod_cpu *pods;
        size_t n;

        if (cl_cgroup_scan_pods(root, NULL, &pods, &n, &version) != CL_EIO)
                return 10;
        if (strstr(cl_last_error(), root) == NULL)
                return 11;
        if (strstr(cl_last_error(), strerror(EACCES)) == NULL)
                return 12;
        return 0;
}

static void
test_scan_unreadable_root_fails(void **state)
{
        char *tmp = make_tmpdir(), root[PATH_MAX];
        int status;
        pid_t pid;

        (void)state;
        copy_fixture("v2-systemd", tmp, root, sizeof(root));
        assert_int_equal(chmod(tmp, 0755), 0);
        if (geteuid() != 0) {
                assert_int_equal(chmod(root, 0), 0);
                assert_int_equal(unreadable_root_condition(root), 0);
                assert_int_equal(chmod(root, 0755), 0);
                remove_tmpdir(tmp);
                return;
        }
        /* root bypasses permission bits, so a child drops to nobody. */
        assert_int_equal(chmod(root, 0700), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (setgid(65534) != 0 || setuid(65534) != 0)
                        _exit(20);
                _exit(unreadable_root_condition(root));
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        /* 10: not CL_EIO, 11: path missing, 12: EACCES text missing. */
        assert_int_equal(WEXITSTATUS(status), 0);
        remove_tmpdir(tmp);
}

static void
test_scan_host_cgroup_root(void **state)
{
        enum cl_cgroup_version version;
        struct cl_pod_cpu *pods = NULL;
        struct stat st;
        size_t n = 99;
        cl_err rc;

        (void)state;
        if (stat("/sys/fs/cgroup", &st) != 0)
                skip();
        rc = cl_cgroup_scan_pods("/sys/fs/cgroup", NULL, &pods, &n, &version);
        if (rc != CL_OK)
                print_error("%s\n", cl_last_error());
        assert_int_equal(rc, CL_OK);
        /* This test host runs no kubelet. */
        assert_int_equal(n, 0);
        assert_null(pods);
        free(pods);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_path_known_forms),
            cmocka_unit_test(test_parse_path_rejects_non_pods),
            cmocka_unit_test(test_parse_path_innermost_pod_wins),
            cmocka_unit_test(test_parse_path_proc_line_prefixes),
            cmocka_unit_test(test_parse_cpu_stat_good),
            cmocka_unit_test(test_parse_cpu_stat_malformed),
            cmocka_unit_test(test_scan_v2_systemd_tree),
            cmocka_unit_test(test_scan_v2_cgroupfs_tree),
            cmocka_unit_test(test_scan_v1_converts_ns_to_us),
            cmocka_unit_test(test_scan_v1_combined_symlinked_mount),
            cmocka_unit_test(test_scan_v1_combined_without_symlinks),
            cmocka_unit_test(test_scan_hybrid_prefers_v1),
            cmocka_unit_test(test_scan_hybrid_falls_back_to_unified),
            cmocka_unit_test(test_scan_hybrid_without_pods),
            cmocka_unit_test(test_scan_kind_nested_tree),
            cmocka_unit_test(test_scan_containerd_v1_sums_leaves),
            cmocka_unit_test(test_scan_skips_malformed_pod),
            cmocka_unit_test(test_scan_skips_malformed_v1_pod),
            cmocka_unit_test(test_scan_skips_vanished_pod),
            cmocka_unit_test(test_scan_duplicate_pod_counted_once),
            cmocka_unit_test(test_scan_pod_children_not_listed),
            cmocka_unit_test(test_scan_depth_limit_boundary),
            cmocka_unit_test(test_scan_procfs_finds_outside_pod),
            cmocka_unit_test(test_scan_procfs_v1_cpuacct_line),
            cmocka_unit_test(test_scan_procfs_skipped_after_walk),
            cmocka_unit_test(test_scan_empty_root_gives_nothing),
            cmocka_unit_test(test_scan_missing_root_fails),
            cmocka_unit_test(test_scan_unreadable_root_fails),
            cmocka_unit_test(test_scan_host_cgroup_root),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
