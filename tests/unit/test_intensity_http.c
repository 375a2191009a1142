/*
 * Tests of the HTTP client's parts that need no server: redaction of
 * keys, tokens and passwords, the key file's permission check, the
 * backoff schedule, URL encoding and the default classification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"
#include "http_client.h"

#include <curl/curl.h>
#include <string.h>
#include <sys/stat.h>

static void
redact_service_key_parameter(void **state)
{
        char out[512];

        (void)state;
        cl_redact("https://apis.data.go.kr/B552115/x?serviceKey=abc%2Bdef&"
                  "pageNo=1",
                  NULL, out, sizeof(out));
        assert_string_equal(out, "https://apis.data.go.kr/B552115/x?"
                                 "serviceKey=REDACTED&pageNo=1");
        cl_redact("http://h/x?pageNo=1&SERVICEKEY=zzz", NULL, out, sizeof(out));
        assert_null(strstr(out, "zzz"));
        cl_redact("http://h/x?token=t1&password=p1&apikey=k1", NULL, out,
                  sizeof(out));
        assert_null(strstr(out, "t1"));
        assert_null(strstr(out, "p1"));
        assert_null(strstr(out, "k1"));
}

static void
redact_known_secrets_everywhere(void **state)
{
        const char *const secrets[] = {"s3cr+t/key=", NULL};
        char out[512];

        (void)state;
        cl_redact("error: key s3cr+t/key= rejected, url x?k=s3cr%2Bt%2Fkey%3D",
                  secrets, out, sizeof(out));
        assert_null(strstr(out, "s3cr"));
        assert_non_null(strstr(out, "REDACTED rejected"));
}

static void
redact_headers_and_userinfo(void **state)
{
        char out[512];

        (void)state;
        cl_redact("auth-token: abc123\nAuthorization: Bearer tok", NULL, out,
                  sizeof(out));
        assert_null(strstr(out, "abc123"));
        assert_null(strstr(out, "tok\n"));
        assert_null(strstr(out, "Bearer tok"));
        cl_redact("https://user:hunter2@example.invalid/login", NULL, out,
                  sizeof(out));
        assert_null(strstr(out, "hunter2"));
        assert_non_null(strstr(out, "user:REDACTED@"));
}

static void
redact_truncates_safely(void **state)
{
        const char *const secrets[] = {"abcdefgh", NULL};
        char out[12];

        (void)state;
        cl_redact("xx abcdefgh yy zz", secrets, out, sizeof(out));
        assert_int_equal(strlen(out), sizeof(out) - 1);
        assert_null(strstr(out, "abcd"));
}

static void
url_encode_decoding_key(void **state)
{
        char out[64], tiny[4];

        (void)state;
        assert_int_equal(cl_url_encode("a+b/c=d", out, sizeof(out)), CL_OK);
        assert_string_equal(out, "a%2Bb%2Fc%3Dd");
        assert_int_equal(cl_url_encode("a+b/c", tiny, sizeof(tiny)), CL_EINVAL);
}

struct keyfix {
        char dir[PATH_MAX];
        char path[PATH_MAX];
};

static int
key_setup(void **state)
{
        struct keyfix *k = calloc(1, sizeof(*k));

        test_make_tmpdir(k->dir, sizeof(k->dir));
        snprintf(k->path, sizeof(k->path), "%s/keys", k->dir);
        test_write(k->dir, "keys",
                   "# carbonledger keys\n"
                   "CARBONLEDGER_KPX_KEY = file-kpx-key\n"
                   "\n"
                   "CARBONLEDGER_WATTTIME_USER=u\n"
                   "CARBONLEDGER_WATTTIME_PASSWORD=p@ss=word\n");
        unsetenv("CARBONLEDGER_KPX_KEY");
        unsetenv("CARBONLEDGER_ELECTRICITYMAPS_TOKEN");
        unsetenv("CARBONLEDGER_WATTTIME_USER");
        unsetenv("CARBONLEDGER_WATTTIME_PASSWORD");
        *state = k;
        return 0;
}

static int
key_teardown(void **state)
{
        struct keyfix *k = *state;

        test_remove_tree(k->dir);
        free(k);
        return 0;
}

static void
key_file_private_is_read(void **state)
{
        struct keyfix *k = *state;
        struct cl_api_keys keys;

        assert_int_equal(chmod(k->path, 0600), 0);
        setenv("CARBONLEDGER_ELECTRICITYMAPS_TOKEN", "env-token", 1);
        setenv("CARBONLEDGER_KPX_KEY", "env-kpx", 1);
        assert_int_equal(cl_keys_load(k->path, &keys), CL_OK);
        assert_string_equal(keys.kpx, "file-kpx-key");
        assert_string_equal(keys.electricitymaps, "env-token");
        assert_string_equal(keys.watttime_password, "p@ss=word");
        cl_keys_clear(&keys);
        assert_string_equal(keys.kpx, "");
}

static void
key_file_group_readable_rejected(void **state)
{
        static const mode_t modes[] = {0640, 0604, 0644, 0660, 0602};
        struct keyfix *k = *state;
        struct cl_api_keys keys;

        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                assert_int_equal(chmod(k->path, modes[i]), 0);
                assert_int_equal(cl_keys_load(k->path, &keys), CL_EINVAL);
                assert_non_null(strstr(cl_last_error(), "chmod 600"));
                assert_null(strstr(cl_last_error(), "file-kpx-key"));
                assert_string_equal(keys.kpx, "");
        }
}

static void
key_file_bad_line_hides_value(void **state)
{
        struct keyfix *k = *state;
        struct cl_api_keys keys;

        test_write(k->dir, "keys", "CARBONLEDGER_KPX=leaky-value\n");
        assert_int_equal(chmod(k->path, 0400), 0);
        assert_int_equal(cl_keys_load(k->path, &keys), CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), ":1:"));
        assert_null(strstr(cl_last_error(), "leaky-value"));
        test_write(k->dir, "keys2", "just-a-key\n");
        snprintf(k->path, sizeof(k->path), "%s/keys2", k->dir);
        assert_int_equal(chmod(k->path, 0600), 0);
        assert_int_equal(cl_keys_load(k->path, &keys), CL_EFORMAT);
        assert_null(strstr(cl_last_error(), "just-a-key"));
}

static void
key_file_missing_fails(void **state)
{
        struct keyfix *k = *state;
        struct cl_api_keys keys;
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/none", k->dir);
        assert_int_equal(cl_keys_load(path, &keys), CL_EIO);
        assert_non_null(strstr(cl_last_error(), "none"));
        assert_int_equal(cl_keys_load(k->dir, &keys), CL_EINVAL);
}

static void
backoff_doubles_with_jitter(void **state)
{
        (void)state;
        assert_int_equal(cl_http_backoff_ms(100, 10000, 1, 0.0), 100);
        assert_int_equal(cl_http_backoff_ms(100, 10000, 2, 0.0), 200);
        assert_int_equal(cl_http_backoff_ms(100, 10000, 3, 0.0), 400);
        assert_int_equal(cl_http_backoff_ms(100, 10000, 3, 0.5), 300);
        assert_int_equal(cl_http_backoff_ms(100, 10000, 30, 0.0), 10000);
        assert_true(cl_http_backoff_ms(100, 10000, 1, 0.999) >= 50);
}

static void
default_classification_rules(void **state)
{
        struct cl_http_response r;

        (void)state;
        memset(&r, 0, sizeof(r));
        r.status = 200;
        assert_int_equal(cl_http_classify_default(&r, NULL), CL_HTTP_OK);
        r.status = 429;
        assert_int_equal(cl_http_classify_default(&r, NULL), CL_HTTP_TRANSIENT);
        r.status = 503;
        assert_int_equal(cl_http_classify_default(&r, NULL), CL_HTTP_TRANSIENT);
        r.status = 401;
        assert_int_equal(cl_http_classify_default(&r, NULL), CL_HTTP_PERMANENT);
        r.status = 0;
        r.transport = CURLE_OPERATION_TIMEDOUT;
        assert_int_equal(cl_http_classify_default(&r, NULL), CL_HTTP_TRANSIENT);
        r.transport = CURLE_PEER_FAILED_VERIFICATION;
        assert_int_equal(cl_http_classify_default(&r, NULL), CL_HTTP_PERMANENT);
}

static void
sha256_of_empty_body(void **state)
{
        char hex[65];

        (void)state;
        cl_sha256_hex("", 0, hex);
        assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                                 "27ae41e4649b934ca495991b7852b855");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(redact_service_key_parameter),
            cmocka_unit_test(redact_known_secrets_everywhere),
            cmocka_unit_test(redact_headers_and_userinfo),
            cmocka_unit_test(redact_truncates_safely),
            cmocka_unit_test(url_encode_decoding_key),
            cmocka_unit_test_setup_teardown(key_file_private_is_read, key_setup,
                                            key_teardown),
            cmocka_unit_test_setup_teardown(key_file_group_readable_rejected,
                                            key_setup, key_teardown),
            cmocka_unit_test_setup_teardown(key_file_bad_line_hides_value,
                                            key_setup, key_teardown),
            cmocka_unit_test_setup_teardown(key_file_missing_fails, key_setup,
                                            key_teardown),
            cmocka_unit_test(backoff_doubles_with_jitter),
            cmocka_unit_test(default_classification_rules),
            cmocka_unit_test(sha256_of_empty_body),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
