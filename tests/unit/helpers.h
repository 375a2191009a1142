/*
 * Helpers shared by the unit tests: a private temporary folder per test
 * and copies of fixture trees into it. Included after cmocka.h.
 */
#ifndef CL_TEST_HELPERS_H
#define CL_TEST_HELPERS_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a new folder under $TMPDIR (or /tmp) into buf. */
static inline void
test_make_tmpdir(char *buf, size_t size)
{
        const char *base = getenv("TMPDIR");

        if (base == NULL || base[0] == '\0')
                base = "/tmp";
        assert_true(snprintf(buf, size, "%s/cl-test-XXXXXX", base) < (int)size);
        assert_non_null(mkdtemp(buf));
}

/* Runs a shell command built like printf and asserts it exits 0. */
static inline void test_shell(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static inline void
test_shell(const char *fmt, ...)
{
        char cmd[4096];
        va_list ap;

        va_start(ap, fmt);
        assert_true(vsnprintf(cmd, sizeof(cmd), fmt, ap) < (int)sizeof(cmd));
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

/* Removes a folder made by test_make_tmpdir. */
static inline void
test_remove_tree(const char *dir)
{
        if (dir[0] != '\0')
                test_shell("rm -rf '%s'", dir);
}

/* Writes text to dir/name, creating parent folders. */
static inline void
test_write(const char *dir, const char *name, const char *text)
{
        char path[PATH_MAX];
        FILE *f;

        assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) <
                    (int)sizeof(path));
        test_shell("mkdir -p \"$(dirname '%s')\"", path);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

#endif
