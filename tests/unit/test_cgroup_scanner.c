/*
 * Tests of the stateful cgroup scanner in collector/cgroup.c: pods that
 * appear, vanish, are recreated or turn malformed between scans, the
 * descriptor limit, and, where this host lets the test make cgroups, the
 * same on the real cgroup filesystem. Trees are made in a mkdtemp folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cgroup.h"
#include "err.h"
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define UID_A "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
#define UID_B "2c9f8a79-5391-454b-88cb-86190881cb96"
#define UID_C "7922aa99-d4aa-4885-a953-82976860b23a"

/* Pod folders of the systemd driver for the UIDs above. */
#define POD_A                                                                  \
        "kubepods.slice/kubepods-burstable.slice/"                             \
        "kubepods-burstable-pod1d2e3f40_5a6b_4c7d_8e9f_0a1b2c3d4e5f.slice"
#define POD_B                                                                  \
        "kubepods.slice/kubepods-burstable.slice/"                             \
        "kubepods-burstable-pod2c9f8a79_5391_454b_88cb_86190881cb96.slice"
#define POD_C                                                                  \
        "kubepods.slice/kubepods-besteffort.slice/"                            \
        "kubepods-besteffort-pod7922aa99_d4aa_4885_a953_82976860b23a.slice"

/* Walks only at the first scan unless a change is noticed. */
#define NO_PERIODIC_WALK 1000000u

struct want_pod {
        const char *uid;
        uint64_t usage_us;
};

/* Writes the cpu.stat of the folder dir below root with usage_us. */
static void
put_cpu_stat(const char *root, const char *dir, uint64_t usage_us)
{
        char rel[PATH_MAX], text[128];

        snprintf(rel, sizeof(rel), "%s/cpu.stat", dir);
        snprintf(text, sizeof(text),
                 "usage_usec %llu\nuser_usec 0\nsystem_usec 0\n",
                 (unsigned long long)usage_us);
        test_write(root, rel, text);
}

/* Makes a cgroup v2 tree with the pods A (5000 us) and B (7000 us). */
static void
make_tree(char *root, size_t size)
{
        test_make_tmpdir(root, size);
        test_write(root, "cgroup.controllers", "cpu memory\n");
        put_cpu_stat(root, "kubepods.slice", 1);
        put_cpu_stat(root, "kubepods.slice/kubepods-burstable.slice", 1);
        put_cpu_stat(root, "kubepods.slice/kubepods-besteffort.slice", 1);
        test_shell("mkdir -p '%s/system.slice/app.service'", root);
        put_cpu_stat(root, POD_A, 5000);
        put_cpu_stat(root, POD_B, 7000);
}

/* Scans once and checks the result against want, entry by entry. */
static void
check_scan(struct cl_cgroup_scanner *sc, const struct want_pod *want,
           size_t n_want)
{
        enum cl_cgroup_version version = CL_CGROUP_V1;
        const struct cl_pod_cpu *pods = NULL;
        size_t n = 99;
        cl_err rc;

        rc = cl_cgroup_scanner_scan(sc, &pods, &n, &version);
        if (rc != CL_OK)
                print_error("scan: %s\n", cl_last_error());
        assert_int_equal(rc, CL_OK);
        assert_int_equal(version, CL_CGROUP_V2);
        assert_int_equal(n, n_want);
        for (size_t i = 0; i < n && i < n_want; i++) {
                assert_string_equal(pods[i].uid, want[i].uid);
                assert_int_equal(pods[i].usage_us, want[i].usage_us);
        }
        if (n == 0)
                assert_null(pods);
}

static struct cl_cgroup_scanner *
open_scanner(const char *root, size_t max_fds, unsigned walk_every)
{
        struct cl_cgroup_scanner *sc = NULL;

        assert_int_equal(
            cl_cgroup_scanner_open(root, NULL, max_fds, walk_every, &sc),
            CL_OK);
        assert_non_null(sc);
        return sc;
}

static void
test_scanner_rereads_counters(void **state)
{
        static const struct want_pod first[] = {{UID_A, 5000}, {UID_B, 7000}};
        static const struct want_pod later[] = {{UID_A, 5600}, {UID_B, 7000}};
        struct cl_cgroup_scanner *sc;
        char root[PATH_MAX];

        (void)state;
        make_tree(root, sizeof(root));
        sc = open_scanner(root, 64, NO_PERIODIC_WALK);
        check_scan(sc, first, 2);
        assert_int_equal(cl_cgroup_scanner_open_fds(sc), 2);
        /* Rewritten in place, as the kernel does: read from offset 0. */
        put_cpu_stat(root, POD_A, 5600);
        check_scan(sc, later, 2);
        check_scan(sc, later, 2);
        assert_int_equal(cl_cgroup_scanner_open_fds(sc), 2);
        cl_cgroup_scanner_close(sc);
        test_remove_tree(root);
}

static void
test_scanner_pod_appears(void **state)
{
        static const struct want_pod first[] = {{UID_A, 5000}, {UID_B, 7000}};
        static const struct want_pod later[] = {
            {UID_A, 5000}, {UID_B, 7000}, {UID_C, 300}};
        struct cl_cgroup_scanner *sc;
        char root[PATH_MAX];

        (void)state;
        make_tree(root, sizeof(root));
        sc = open_scanner(root, 64, NO_PERIODIC_WALK);
        check_scan(sc, first, 2);
        /* The besteffort slice had no subfolder: its own count changes. */
        put_cpu_stat(root, POD_C, 300);
        check_scan(sc, later, 3);
        assert_int_equal(cl_cgroup_scanner_open_fds(sc), 3);
        cl_cgroup_scanner_close(sc);
        test_remove_tree(root);
}

static void
test_scanner_pod_vanishes(void **state)
{
        static const struct want_pod first[] = {{UID_A, 5000}, {UID_B, 7000}};
        static const struct want_pod later[] = {{UID_B, 7000}};
        struct cl_cgroup_scanner *sc;
        char root[PATH_MAX];

        (void)state;
        make_tree(root, sizeof(root));
        sc = open_scanner(root, 64, NO_PERIODIC_WALK);
        check_scan(sc, first, 2);
        test_shell("rm -rf '%s/" POD_A "'", root);
        check_scan(sc, later, 1);
        /* The descriptor of the removed pod is closed. */
        assert_int_equal(cl_cgroup_scanner_open_fds(sc), 1);
        cl_cgroup_scanner_close(sc);
        test_remove_tree(root);
}

static void
test_scanner_recreated_pod_lower(void **state)
{
        /*
         * On ext4 or tmpfs the removed file stays readable through the open
         * descriptor and the parent's link count is unchanged, so the new
         * cgroup is read at the next periodic walk (scan 3 of walk_every 2).
         */
        static const struct want_pod first[] = {{UID_A, 5000}, {UID_B, 7000}};
        static const struct want_pod later[] = {{UID_A, 40}, {UID_B, 7000}};
        enum cl_cgroup_version version;
        const struct cl_pod_cpu *pods;
        struct cl_cgroup_scanner *sc;
        char root[PATH_MAX];
        size_t n;

        (void)state;
        make_tree(root, sizeof(root));
        sc = open_scanner(root, 64, 2);
        check_scan(sc, first, 2);
        test_shell("rm -rf '%s/" POD_A "'", root);
        put_cpu_stat(root, POD_A, 40);
        assert_int_equal(cl_cgroup_scanner_scan(sc, &pods, &n, &version),
                         CL_OK);
        assert_int_equal(n, 2);
        check_scan(sc, later, 2);
        cl_cgroup_scanner_close(sc);
        test_remove_tree(root);
}

/*
 * Runs one scan with stderr sent to a file below dir and returns that
 * file's text (caller frees), with the scan's result in *pods and *n.
 */
static char *
scan_capturing_log(struct cl_cgroup_scanner *sc, const char *dir,
                   const struct cl_pod_cpu **pods, size_t *n)
{
        enum cl_cgroup_version version;
        char path[PATH_MAX], *text;
        int saved, fd;
        ssize_t len;

        snprintf(path, sizeof(path), "%s/stderr.log", dir);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
        assert_int_equal(cl_cgroup_scanner_scan(sc, pods, n, &version), CL_OK);
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

static void
test_scanner_malformed_file_appears(void **state)
{
        static const struct want_pod first[] = {{UID_A, 5000}, {UID_B, 7000}};
        static const struct want_pod fixed[] = {{UID_A, 5100}, {UID_B, 7000}};
        const struct cl_pod_cpu *pods = NULL;
        struct cl_cgroup_scanner *sc;
        char root[PATH_MAX], logdir[PATH_MAX], rel[PATH_MAX], *log;
        size_t n = 0;

        (void)state;
        make_tree(root, sizeof(root));
        test_make_tmpdir(logdir, sizeof(logdir));
        sc = open_scanner(root, 64, NO_PERIODIC_WALK);
        check_scan(sc, first, 2);
        snprintf(rel, sizeof(rel), "%s/cpu.stat", POD_A);
        test_write(root, rel, "usage_usec 5100\nuser_usec twelve\n");

        log = scan_capturing_log(sc, logdir, &pods, &n);
        assert_int_equal(n, 1);
        assert_string_equal(pods[0].uid, UID_B);
        assert_non_null(strstr(log, "event=cgroup_pod_skipped"));
        assert_non_null(strstr(log, "uid=" UID_A));
        assert_non_null(strstr(log, POD_A "/cpu.stat"));
        assert_non_null(strstr(log, "user_usec twelve"));
        free(log);

        /* The file stays tracked, so the pod returns once it is valid. */
        put_cpu_stat(root, POD_A, 5100);
        check_scan(sc, fixed, 2);
        cl_cgroup_scanner_close(sc);
        test_remove_tree(logdir);
        test_remove_tree(root);
}

static void
test_scanner_fd_limit_fallback(void **state)
{
        static const struct want_pod first[] = {
            {UID_A, 5000}, {UID_B, 7000}, {UID_C, 300}};
        static const struct want_pod later[] = {
            {UID_A, 5001}, {UID_B, 7002}, {UID_C, 303}};
        struct cl_cgroup_scanner *sc;
        char root[PATH_MAX];

        (void)state;
        make_tree(root, sizeof(root));
        put_cpu_stat(root, POD_C, 300);
        for (size_t max_fds = 0; max_fds <= 2; max_fds++) {
                print_message("max_fds %zu\n", max_fds);
                put_cpu_stat(root, POD_A, 5000);
                put_cpu_stat(root, POD_B, 7000);
                put_cpu_stat(root, POD_C, 300);
                sc = open_scanner(root, max_fds, NO_PERIODIC_WALK);
                check_scan(sc, first, 3);
                assert_int_equal(cl_cgroup_scanner_open_fds(sc), max_fds);
                /* Pods beyond the limit are opened by path at each scan. */
                put_cpu_stat(root, POD_A, 5001);
                put_cpu_stat(root, POD_B, 7002);
                put_cpu_stat(root, POD_C, 303);
                check_scan(sc, later, 3);
                assert_int_equal(cl_cgroup_scanner_open_fds(sc), max_fds);
                cl_cgroup_scanner_close(sc);
        }
        test_remove_tree(root);
}

static void
test_scanner_rejects_zero_walk_every(void **state)
{
        struct cl_cgroup_scanner *sc = (void *)1;

        (void)state;
        assert_int_equal(
            cl_cgroup_scanner_open("/nonexistent", NULL, 8, 0, &sc), CL_EINVAL);
        assert_null(sc);
}

static void
test_scanner_missing_root_retries(void **state)
{
        static const struct want_pod want[] = {{UID_A, 5000}, {UID_B, 7000}};
        enum cl_cgroup_version version;
        const struct cl_pod_cpu *pods;
        struct cl_cgroup_scanner *sc;
        char root[PATH_MAX], moved[PATH_MAX];
        size_t n;

        (void)state;
        make_tree(root, sizeof(root));
        snprintf(moved, sizeof(moved), "%s.moved", root);
        assert_int_equal(rename(root, moved), 0);
        sc = open_scanner(root, 64, NO_PERIODIC_WALK);
        assert_int_equal(cl_cgroup_scanner_scan(sc, &pods, &n, &version),
                         CL_EIO);
        assert_non_null(strstr(cl_last_error(), root));
        assert_int_equal(n, 0);
        assert_int_equal(cl_cgroup_scanner_open_fds(sc), 0);
        /* A failed walk leaves nothing open, and the next scan walks. */
        assert_int_equal(rename(moved, root), 0);
        check_scan(sc, want, 2);
        cl_cgroup_scanner_close(sc);
        test_remove_tree(root);
}

/* ---- the host's cgroup filesystem ---- */

/*
 * Makes the folder path on the cgroup filesystem. Returns false when this
 * host does not let the test make cgroups there.
 */
static bool
make_cgroup(const char *path)
{
        if (mkdir(path, 0755) == 0)
                return true;
        print_message("cannot make cgroup %s: %s\n", path, strerror(errno));
        return false;
}

/* Writes text to the cgroup file path; returns false on failure. */
static bool
write_cgroup_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        ssize_t len = (ssize_t)strlen(text);
        bool ok;

        if (fd < 0)
                return false;
        ok = write(fd, text, (size_t)len) == len;
        close(fd);
        return ok;
}

/*
 * Runs a busy child process in the cgroup pod (below top) until the
 * cgroup has counted CPU time, then moves it back to top and ends it, so
 * pod can be removed. Returns false when the child cannot be moved.
 */
static bool
burn_cpu_in(const char *top, const char *pod)
{
        char procs[PATH_MAX], pid_text[32];
        struct timespec pause = {0, 100000000L}; /* 100 ms */
        bool ok = false;
        pid_t child;

        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                for (volatile unsigned long i = 0;; i++)
                        ;
        }
        snprintf(pid_text, sizeof(pid_text), "%d\n", (int)child);
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", pod);
        if (write_cgroup_file(procs, pid_text)) {
                nanosleep(&pause, NULL);
                snprintf(procs, sizeof(procs), "%s/cgroup.procs", top);
                ok = write_cgroup_file(procs, pid_text);
        }
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        return ok;
}

/* Folder of the cgroups the test below made, for its teardown. */
static char cgroup_top[PATH_MAX];

/* Removes the test's cgroups, also after a failed assertion. */
static int
remove_test_cgroups(void **state)
{
        static const char *const below[] = {
            "/kubepods/pod" UID_A, "/kubepods/pod" UID_B, "/kubepods", ""};
        char path[PATH_MAX];

        (void)state;
        if (cgroup_top[0] == '\0')
                return 0;
        for (size_t i = 0; i < sizeof(below) / sizeof(below[0]); i++) {
                snprintf(path, sizeof(path), "%s%s", cgroup_top, below[i]);
                if (rmdir(path) != 0 && errno != ENOENT)
                        print_error("rmdir %s: %s\n", path, strerror(errno));
        }
        cgroup_top[0] = '\0';
        return 0;
}

static void
test_scanner_real_cgroupfs(void **state)
{
        /*
         * On the cgroup filesystem a read through the open descriptor of a
         * removed cgroup fails with ENODEV, even once a cgroup of the same
         * name exists again, and a new subfolder changes the parent's link
         * count but not its mtime. The test needs a writable cgroup2 mount
         * (here or at unified/, as on a hybrid host) and skips without one.
         */
        static const char *const mounts[] = {"/sys/fs/cgroup",
                                             "/sys/fs/cgroup/unified"};
        char mount[PATH_MAX] = "", top[PATH_MAX], kube[PATH_MAX];
        char pod_a[PATH_MAX], pod_b[PATH_MAX];
        enum cl_cgroup_version version;
        const struct cl_pod_cpu *pods;
        struct cl_cgroup_scanner *sc;
        uint64_t before;
        bool burned;
        size_t n;

        (void)state;
        for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
                char controllers[PATH_MAX];

                snprintf(controllers, sizeof(controllers),
                         "%s/cgroup.controllers", mounts[i]);
                if (access(controllers, F_OK) == 0 &&
                    access(mounts[i], W_OK) == 0) {
                        snprintf(mount, sizeof(mount), "%s", mounts[i]);
                        break;
                }
        }
        if (mount[0] == '\0') {
                print_message("no writable cgroup2 mount: skipped\n");
                skip();
        }
        snprintf(top, sizeof(top), "%s/cl-scanner-test-%d", mount,
                 (int)getpid());
        snprintf(kube, sizeof(kube), "%s/kubepods", top);
        snprintf(pod_a, sizeof(pod_a), "%s/pod%s", kube, UID_A);
        snprintf(pod_b, sizeof(pod_b), "%s/pod%s", kube, UID_B);
        if (!make_cgroup(top))
                skip();
        snprintf(cgroup_top, sizeof(cgroup_top), "%s", top);
        assert_true(make_cgroup(kube));
        assert_true(make_cgroup(pod_a));

        /* Every cgroup2 folder has cgroup.controllers: top is a v2 root. */
        sc = open_scanner(top, 64, NO_PERIODIC_WALK);
        assert_int_equal(cl_cgroup_scanner_scan(sc, &pods, &n, &version),
                         CL_OK);
        assert_int_equal(version, CL_CGROUP_V2);
        assert_int_equal(n, 1);
        assert_string_equal(pods[0].uid, UID_A);

        /* A pod made between scans is found through the link count. */
        assert_true(make_cgroup(pod_b));
        assert_int_equal(cl_cgroup_scanner_scan(sc, &pods, &n, &version),
                         CL_OK);
        assert_int_equal(n, 2);

        /*
         * Pod A counts CPU time, then is recreated: the parent's link count
         * is unchanged, so only the ENODEV of the old descriptor starts the
         * walk that reads the new, lower counter.
         */
        burned = burn_cpu_in(top, pod_a);
        if (!burned)
                print_message("cannot move a process into %s: the lower "
                              "counter is not checked\n",
                              pod_a);
        assert_int_equal(cl_cgroup_scanner_scan(sc, &pods, &n, &version),
                         CL_OK);
        assert_int_equal(n, 2);
        assert_string_equal(pods[0].uid, UID_A);
        before = pods[0].usage_us;
        if (burned)
                assert_true(before > 0);
        assert_int_equal(rmdir(pod_a), 0);
        assert_true(make_cgroup(pod_a));
        assert_int_equal(cl_cgroup_scanner_scan(sc, &pods, &n, &version),
                         CL_OK);
        assert_int_equal(n, 2);
        assert_string_equal(pods[0].uid, UID_A);
        if (burned)
                assert_true(pods[0].usage_us < before);

        /* A removed pod is dropped at the next scan. */
        assert_int_equal(rmdir(pod_b), 0);
        assert_int_equal(cl_cgroup_scanner_scan(sc, &pods, &n, &version),
                         CL_OK);
        assert_int_equal(n, 1);
        assert_string_equal(pods[0].uid, UID_A);
        cl_cgroup_scanner_close(sc);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_scanner_rereads_counters),
            cmocka_unit_test(test_scanner_pod_appears),
            cmocka_unit_test(test_scanner_pod_vanishes),
            cmocka_unit_test(test_scanner_recreated_pod_lower),
            cmocka_unit_test(test_scanner_malformed_file_appears),
            cmocka_unit_test(test_scanner_fd_limit_fallback),
            cmocka_unit_test(test_scanner_rejects_zero_walk_every),
            cmocka_unit_test(test_scanner_missing_root_retries),
            cmocka_unit_test_teardown(test_scanner_real_cgroupfs,
                                      remove_test_cgroups),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
