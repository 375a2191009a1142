/*
 * Tests of collector/podlogs.c over fixtures/pod-logs/var-log-pods, a
 * kubelet log folder with four pod folders and entries of other forms,
 * and over folders built in a mkdtemp directory.
 */
#define _XOPEN_SOURCE 700 /* nftw() */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "podlogs.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POD_LOGS CL_SOURCE_DIR "/fixtures/pod-logs/var-log-pods"

static char *
make_tmpdir(void)
{
        const char *base = getenv("TMPDIR");
        char template[PATH_MAX];
        char *dir;

        if (base == NULL || base[0] == '\0')
                base = "/tmp";
        assert_true(snprintf(template, sizeof(template), "%s/cl-podlogs-XXXXXX",
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
make_folder(const char *dir, const char *name)
{
        char path[PATH_MAX];

        assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) <
                    (int)sizeof(path));
        assert_int_equal(mkdir(path, 0755), 0);
}

static void
test_podlogs_read_fixture_folder(void **state)
{
        struct cl_pod_name *names = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(cl_podlogs_read(POD_LOGS, &names, &n), CL_OK);
        assert_int_equal(n, 4);
        assert_non_null(names);

        /* Sorted by UID. */
        assert_string_equal(names[0].uid,
                            "0043435f-1854-4327-b76b-730f681a781d");
        assert_string_equal(names[0].namespace_, "monitoring");
        assert_string_equal(names[0].name, "node-exporter.v2-abc");

        assert_string_equal(names[1].uid,
                            "2c9f8a79-5391-454b-88cb-86190881cb96");
        assert_string_equal(names[1].namespace_, "kube-system");
        assert_string_equal(names[1].name, "coredns-5d78c9869d-qx7lp");

        /* An upper-case UID in the folder name is stored in lower case. */
        assert_string_equal(names[2].uid,
                            "51b64565-2b17-4d46-83ac-22e398f2f7fb");
        assert_string_equal(names[2].namespace_, "ingress-nginx");
        assert_string_equal(names[2].name, "controller-7f9c");

        assert_string_equal(names[3].uid,
                            "7922aa99-d4aa-4885-a953-82976860b23a");
        assert_string_equal(names[3].namespace_, "default");
        assert_string_equal(names[3].name, "web-0");
        free(names);
}

static void
test_podlogs_skips_bad_entries(void **state)
{
        /*
         * UIDs of the fixture entries that are not pod folders: an
         * upper-case namespace, a '_' in the name, a leading '-', a plain
         * file and a symlink.
         */
        static const char *const skipped[] = {
            "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            "a3f1c2d4-0b9e-4f6a-8c7d-112233445566",
            "b4e2d3c5-1a0f-4a7b-9d8e-223344556677",
            "c5f3e4d6-2b1a-4b8c-ae9f-334455667788",
            "d6a4f5e7-3c2b-4c9d-bf0a-445566778899",
        };
        struct cl_pod_name *names = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(cl_podlogs_read(POD_LOGS, &names, &n), CL_OK);
        for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
                print_message("uid %s\n", skipped[i]);
                assert_null(cl_podlogs_find(names, n, skipped[i]));
        }
        for (size_t i = 0; i < n; i++) {
                assert_string_not_equal(names[i].name, "no-uid");
                assert_string_not_equal(names[i].name, "just-one-part");
        }
        free(names);
}

static void
test_podlogs_find_hits_and_misses(void **state)
{
        struct cl_pod_name *names = NULL;
        const struct cl_pod_name *hit;
        size_t n = 0;

        (void)state;
        assert_int_equal(cl_podlogs_read(POD_LOGS, &names, &n), CL_OK);
        for (size_t i = 0; i < n; i++) {
                hit = cl_podlogs_find(names, n, names[i].uid);
                assert_ptr_equal(hit, &names[i]);
        }
        hit = cl_podlogs_find(names, n, "7922aa99-d4aa-4885-a953-82976860b23a");
        assert_non_null(hit);
        assert_string_equal(hit->name, "web-0");
        assert_null(
            cl_podlogs_find(names, n, "00000000-0000-0000-0000-000000000000"));
        assert_null(
            cl_podlogs_find(names, n, "ffffffff-ffff-ffff-ffff-ffffffffffff"));
        assert_null(cl_podlogs_find(names, n, ""));
        assert_null(
            cl_podlogs_find(NULL, 0, "7922aa99-d4aa-4885-a953-82976860b23a"));
        free(names);
}

static void
test_podlogs_missing_folder_is_empty(void **state)
{
        char *tmp = make_tmpdir(), dir[PATH_MAX];
        struct cl_pod_name *names = (void *)1;
        size_t n = 7;

        (void)state;
        snprintf(dir, sizeof(dir), "%s/absent", tmp);
        assert_int_equal(cl_podlogs_read(dir, &names, &n), CL_OK);
        assert_int_equal(n, 0);
        assert_null(names);

        /* An empty folder also gives no names. */
        assert_int_equal(cl_podlogs_read(tmp, &names, &n), CL_OK);
        assert_int_equal(n, 0);
        assert_null(names);
        remove_tmpdir(tmp);
}

static void
test_podlogs_file_in_place_fails(void **state)
{
        char *tmp = make_tmpdir(), path[PATH_MAX];
        struct cl_pod_name *names;
        FILE *f;
        size_t n;

        (void)state;
        snprintf(path, sizeof(path), "%s/pods", tmp);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(cl_podlogs_read(path, &names, &n), CL_EIO);
        assert_non_null(strstr(cl_last_error(), path));
        assert_non_null(strstr(cl_last_error(), strerror(ENOTDIR)));
        remove_tmpdir(tmp);
}

static void
test_podlogs_name_length_limits(void **state)
{
        char *tmp = make_tmpdir(), folder[NAME_MAX + 1], ns[80];
        struct cl_pod_name *names = NULL;
        size_t n = 0;

        (void)state;
        /* A 63-character namespace is a DNS label. 64 characters are too many.
         */
        memset(ns, 'a', 63);
        ns[63] = '\0';
        snprintf(folder, sizeof(folder),
                 "%s_p_11111111-2222-4333-8444-555555555555", ns);
        make_folder(tmp, folder);
        memset(ns, 'b', 64);
        ns[64] = '\0';
        snprintf(folder, sizeof(folder),
                 "%s_p_22222222-3333-4444-8555-666666666666", ns);
        make_folder(tmp, folder);
        /* Empty parts, a trailing dot and an extra part. */
        make_folder(tmp, "_p_33333333-4444-4555-8666-777777777777");
        make_folder(tmp, "ns__44444444-5555-4666-8777-888888888888");
        make_folder(tmp, "ns_p._55555555-6666-4777-8888-999999999999");
        make_folder(tmp, "ns_p_66666666-7777-4888-8999-aaaaaaaaaaaa_x");
        make_folder(tmp, "ns_p_77777777-8888-4999-8aaa-bbbbbbbbbbbb");

        assert_int_equal(cl_podlogs_read(tmp, &names, &n), CL_OK);
        assert_int_equal(n, 2);
        assert_string_equal(names[0].uid,
                            "11111111-2222-4333-8444-555555555555");
        assert_int_equal(strlen(names[0].namespace_), 63);
        assert_string_equal(names[1].uid,
                            "77777777-8888-4999-8aaa-bbbbbbbbbbbb");
        assert_string_equal(names[1].namespace_, "ns");
        assert_string_equal(names[1].name, "p");
        free(names);
        remove_tmpdir(tmp);
}

static void
test_podlogs_duplicate_uid_kept_once(void **state)
{
        char *tmp = make_tmpdir();
        struct cl_pod_name *names = NULL;
        size_t n = 0;

        (void)state;
        make_folder(tmp, "b-ns_web_11111111-2222-4333-8444-555555555555");
        make_folder(tmp, "a-ns_web_11111111-2222-4333-8444-555555555555");
        assert_int_equal(cl_podlogs_read(tmp, &names, &n), CL_OK);
        assert_int_equal(n, 1);
        assert_string_equal(names[0].namespace_, "a-ns");
        free(names);
        remove_tmpdir(tmp);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_podlogs_read_fixture_folder),
            cmocka_unit_test(test_podlogs_skips_bad_entries),
            cmocka_unit_test(test_podlogs_find_hits_and_misses),
            cmocka_unit_test(test_podlogs_missing_folder_is_empty),
            cmocka_unit_test(test_podlogs_file_in_place_fails),
            cmocka_unit_test(test_podlogs_name_length_limits),
            cmocka_unit_test(test_podlogs_duplicate_uid_kept_once),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
