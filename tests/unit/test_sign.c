/*
 * Tests of reports/sign.c, pades.c, verify.c and keygen.c against the
 * verifiers a reader would use: pdfsig (poppler), qpdf --check, openssl cms
 * and an NSS database made with certutil. The PDFs come from libharu in a
 * mkdtemp folder, and every test binary fails when one of those tools is
 * missing.
 */
/* nftw() is an X/Open function. */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fsutil.h"
#include "keygen.h"
#include "sign.h"
#include "verify.h"

#include <hpdf.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* 2026-03-01T09:30:00Z in ns since the epoch. */
#define SIGNING_NS (INT64_C(1772357400) * INT64_C(1000000000))
#define OUTPUT_MAX 65536
#define TEXT_MARK "carbonledger signing test"

struct fixture {
        char dir[PATH_MAX];
        char key[PATH_MAX], cert[PATH_MAX];
        char other_key[PATH_MAX], other_cert[PATH_MAX];
        char plain[PATH_MAX], attach[PATH_MAX], pages3[PATH_MAX];
        char annots[PATH_MAX];
        char signed_plain[PATH_MAX], signed_attach[PATH_MAX];
        char signed_pages3[PATH_MAX], signed_annots[PATH_MAX];
        struct cl_signer *signer;
};

static struct fixture fx;
static char output[OUTPUT_MAX];

static void
path_in(char *buf, const char *name)
{
        int n = snprintf(buf, PATH_MAX, "%s/%s", fx.dir, name);

        assert_true(n > 0 && n < PATH_MAX);
}

/*
 * Runs a shell command (built like printf) with stderr joined to stdout,
 * keeps the output in `output` and returns the exit status, or -1 when it
 * did not exit normally.
 */
static int CL_PRINTF(1, 2) run(const char *fmt, ...)
{
        char cmd[4 * PATH_MAX + 512];
        size_t used = 0, n;
        va_list ap;
        FILE *p;
        int len, status;

        va_start(ap, fmt);
        len = vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
        va_end(ap);
        if (len < 0 || (size_t)len >= sizeof(cmd) - 8)
                return -1;
        memcpy(cmd + len, " 2>&1", 6);
        p = popen(cmd, "r");
        if (p == NULL)
                return -1;
        while ((n = fread(output + used, 1, sizeof(output) - 1 - used, p)) > 0)
                used += n;
        output[used] = '\0';
        status = pclose(p);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
read_all(const char *path, char **buf, size_t *len)
{
        assert_int_equal(cl_read_file(path, (size_t)1 << 28, buf, len), CL_OK);
}

static void
write_all(const char *path, const void *buf, size_t len)
{
        assert_int_equal(cl_write_file(path, buf, len), CL_OK);
}

static void
write_text(const char *path, const char *text)
{
        write_all(path, text, strlen(text));
}

static int
hpdf_check(HPDF_STATUS status)
{
        return status == HPDF_OK;
}

/*
 * Writes an unsigned PDF with libharu: pages pages of Helvetica text, an
 * embedded file when attach is set, a link annotation on page 1 when link.
 */
static int
make_pdf(const char *path, int pages, const char *attach, int link)
{
        HPDF_Doc pdf = HPDF_New(NULL, NULL);
        HPDF_Font font;
        int i, ok = pdf != NULL;

        font = ok ? HPDF_GetFont(pdf, "Helvetica", NULL) : NULL;
        ok = ok && font != NULL;
        for (i = 0; ok && i < pages; i++) {
                HPDF_Page page = HPDF_AddPage(pdf);

                ok = page != NULL && hpdf_check(HPDF_Page_BeginText(page)) &&
                     hpdf_check(HPDF_Page_SetFontAndSize(page, font, 14)) &&
                     hpdf_check(HPDF_Page_TextOut(page, 50, 700, TEXT_MARK)) &&
                     hpdf_check(HPDF_Page_EndText(page));
                if (ok && link && i == 0) {
                        HPDF_Rect rect = {50, 650, 250, 680};

                        ok =
                            HPDF_Page_CreateURILinkAnnot(
                                page, rect, "https://example.invalid/") != NULL;
                }
        }
        if (ok && attach != NULL)
                ok = HPDF_AttachFile(pdf, attach) != NULL;
        ok = ok && hpdf_check(HPDF_SaveToFile(pdf, path));
        if (pdf != NULL)
                HPDF_Free(pdf);
        return ok;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static cl_err
sign_with(const struct cl_signer *signer, const char *in, const char *out,
          const char *reason)
{
        struct cl_pdf_sig_info info = {
            .name = "carbonledger test",
            .reason = reason,
            .location = "Seoul",
            .signing_ns = SIGNING_NS,
        };

        return cl_sign_pdf(signer, in, out, &info);
}

static int
group_setup(void **state)
{
        static const char *const tools[] = {"pdfsig",   "qpdf",      "openssl",
                                            "certutil", "pdfdetach", "pdfinfo"};
        char tmpl[PATH_MAX], small[PATH_MAX], other[PATH_MAX];
        const char *tmpdir = getenv("TMPDIR");
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
                if (run("command -v %s", tools[i]) != 0) {
                        fprintf(stderr, "required test tool %s not found\n",
                                tools[i]);
                        return -1;
                }
        }
        snprintf(tmpl, sizeof(tmpl), "%s/cl_test_sign.XXXXXX",
                 tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
        if (mkdtemp(tmpl) == NULL)
                return -1;
        snprintf(fx.dir, sizeof(fx.dir), "%s", tmpl);
        path_in(fx.key, "id/key.pem");
        path_in(fx.cert, "id/cert.pem");
        path_in(fx.other_key, "other/key.pem");
        path_in(fx.other_cert, "other/cert.pem");
        path_in(fx.plain, "plain.pdf");
        path_in(fx.attach, "attach.pdf");
        path_in(fx.pages3, "pages3.pdf");
        path_in(fx.annots, "annots.pdf");
        path_in(fx.signed_plain, "plain.signed.pdf");
        path_in(fx.signed_attach, "attach.signed.pdf");
        path_in(fx.signed_pages3, "pages3.signed.pdf");
        path_in(fx.signed_annots, "annots.signed.pdf");
        path_in(small, "data.csv");
        path_in(other, "other");

        path_in(tmpl, "id");
        if (cl_keygen(tmpl, "carbonledger test signer") != CL_OK ||
            cl_keygen(other, "unrelated signer") != CL_OK) {
                fprintf(stderr, "keygen failed: %s\n", cl_last_error());
                return -1;
        }
        if (cl_write_file(small, "site,kWh\nA,12.5\n",
                          strlen("site,kWh\nA,12.5\n")) != CL_OK)
                return -1;
        if (!make_pdf(fx.plain, 1, NULL, 0) ||
            !make_pdf(fx.attach, 1, small, 0) ||
            !make_pdf(fx.pages3, 3, NULL, 0) ||
            !make_pdf(fx.annots, 1, NULL, 1))
                return -1;
        if (cl_signer_load(fx.key, fx.cert, &fx.signer) != CL_OK)
                return -1;
        if (sign_with(fx.signer, fx.plain, fx.signed_plain, "audit") != CL_OK ||
            sign_with(fx.signer, fx.attach, fx.signed_attach, "audit") !=
                CL_OK ||
            sign_with(fx.signer, fx.pages3, fx.signed_pages3, "audit") !=
                CL_OK ||
            sign_with(fx.signer, fx.annots, fx.signed_annots, "audit") !=
                CL_OK) {
                fprintf(stderr, "signing failed: %s\n", cl_last_error());
                return -1;
        }
        return 0;
}

static int
group_teardown(void **state)
{
        (void)state;
        cl_signer_free(fx.signer);
        if (fx.dir[0] != '\0' && getenv("CL_TEST_KEEP") == NULL)
                nftw(fx.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}

/* Byte offsets of a signed PDF's /ByteRange [0 a b c]. */
struct byte_range {
        size_t a, b, c;
};

static struct byte_range
find_byte_range(const char *buf, size_t len)
{
        static const char key[] = "/ByteRange";
        struct byte_range r = {0, 0, 0};
        const char *p = NULL;
        char *end;
        size_t i;

        for (i = len - strlen(key); i > 0; i--) {
                if (memcmp(buf + i, key, strlen(key)) == 0) {
                        p = buf + i + strlen(key);
                        break;
                }
        }
        assert_non_null(p);
        while (*p == ' ' || *p == '[')
                p++;
        assert_int_equal(strtoull(p, &end, 10), 0);
        r.a = strtoull(end, &end, 10);
        r.b = strtoull(end, &end, 10);
        r.c = strtoull(end, &end, 10);
        return r;
}

static int
hex_nibble(char c)
{
        return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/*
 * Writes the CMS of the signed PDF pdf (without the zero padding) to
 * der_path and the bytes its /ByteRange covers to ranges_path.
 */
static void
extract_cms(const char *pdf, const char *der_path, const char *ranges_path)
{
        struct byte_range r;
        unsigned char *der;
        size_t len, n, i, der_len;
        char *buf, *ranges;

        read_all(pdf, &buf, &len);
        r = find_byte_range(buf, len);
        assert_true(r.a < r.b);
        assert_int_equal(r.b + r.c, len);
        n = (r.b - r.a - 2) / 2;
        der = malloc(n);
        assert_non_null(der);
        for (i = 0; i < n; i++)
                der[i] = (unsigned char)(hex_nibble(buf[r.a + 1 + 2 * i]) * 16 +
                                         hex_nibble(buf[r.a + 2 + 2 * i]));
        /* A SEQUENCE with a two- or three-octet length. */
        assert_int_equal(der[0], 0x30);
        if (der[1] == 0x82)
                der_len = 4 + ((size_t)der[2] << 8 | der[3]);
        else
                der_len =
                    5 + ((size_t)der[2] << 16 | (size_t)der[3] << 8 | der[4]);
        assert_true(der_len <= n);
        write_all(der_path, der, der_len);
        ranges = malloc(r.a + r.c);
        assert_non_null(ranges);
        memcpy(ranges, buf, r.a);
        memcpy(ranges + r.a, buf + r.b, r.c);
        write_all(ranges_path, ranges, r.a + r.c);
        free(ranges);
        free(der);
        free(buf);
}

static void
test_keygen_key_mode_0600(void **state)
{
        struct stat st;
        size_t len;
        char *buf;

        (void)state;
        assert_int_equal(stat(fx.key, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        read_all(fx.key, &buf, &len);
        assert_non_null(strstr(buf, "-----BEGIN PRIVATE KEY-----"));
        free(buf);
}

static void
test_keygen_rejects_existing_key(void **state)
{
        char id[PATH_MAX];

        (void)state;
        path_in(id, "id");
        assert_int_equal(cl_keygen(id, "again"), CL_EINVAL);
        assert_non_null(strstr(cl_last_error(), fx.key));
}

static void
test_keygen_certificate_fields(void **state)
{
        (void)state;
        assert_int_equal(run("openssl x509 -noout -text -in '%s'", fx.cert), 0);
        assert_non_null(strstr(output, "Public-Key: (3072 bit)"));
        assert_non_null(strstr(output, "sha256WithRSAEncryption"));
        assert_non_null(strstr(output, "Version: 3"));
        assert_non_null(strstr(output, "CA:TRUE"));
        assert_non_null(strstr(output, "Digital Signature, Non Repudiation"));
        assert_null(strstr(output, "Extended Key Usage"));
        assert_non_null(strstr(output, "CN = carbonledger test signer"));
        assert_int_equal(
            run("openssl x509 -noout -checkend 31000000 -in '%s'", fx.cert), 0);
        assert_int_not_equal(
            run("openssl x509 -noout -checkend 31700000 -in '%s'", fx.cert), 0);
}

static void
test_signer_subject_one_line(void **state)
{
        (void)state;
        assert_string_equal(cl_signer_subject(fx.signer),
                            "CN=carbonledger test signer,O=carbonledger demo");
}

static void
check_pdfsig_valid(const char *path)
{
        assert_int_equal(run("pdfsig '%s'", path), 0);
        assert_non_null(strstr(output, "Signature is Valid."));
        assert_non_null(strstr(output, "Total document signed"));
        assert_non_null(strstr(output, "ETSI.CAdES.detached"));
        assert_null(strstr(output, "Signature #2"));
}

static void
test_sign_pdf_pdfsig_valid(void **state)
{
        (void)state;
        check_pdfsig_valid(fx.signed_plain);
        check_pdfsig_valid(fx.signed_attach);
        check_pdfsig_valid(fx.signed_pages3);
        check_pdfsig_valid(fx.signed_annots);
}

static void
test_sign_pdf_qpdf_check_passes(void **state)
{
        (void)state;
        assert_int_equal(run("qpdf --check '%s'", fx.signed_plain), 0);
        assert_int_equal(run("qpdf --check '%s'", fx.signed_attach), 0);
        assert_int_equal(run("qpdf --check '%s'", fx.signed_pages3), 0);
        assert_int_equal(run("qpdf --check '%s'", fx.signed_annots), 0);
        assert_null(strstr(output, "WARNING"));
}

static void
test_sign_pdf_keeps_original_bytes(void **state)
{
        char *orig, *signd;
        size_t olen, slen;

        (void)state;
        read_all(fx.plain, &orig, &olen);
        read_all(fx.signed_plain, &signd, &slen);
        assert_true(slen > olen);
        assert_memory_equal(orig, signd, olen);
        free(orig);
        free(signd);
}

static void
test_sign_pdf_keeps_attachment(void **state)
{
        (void)state;
        assert_int_equal(run("pdfdetach -list '%s'", fx.signed_attach), 0);
        assert_non_null(strstr(output, "1 embedded files"));
        assert_non_null(strstr(output, "data.csv"));
}

static void
test_sign_pdf_keeps_three_pages(void **state)
{
        (void)state;
        assert_int_equal(run("pdfinfo '%s'", fx.signed_pages3), 0);
        assert_non_null(strstr(output, "Pages:           3"));
}

/* Runs qpdf --show-object for the object number that text starts with. */
static void
show_object(const char *pdf, const char *text)
{
        long num = strtol(text, NULL, 10);

        assert_true(num > 0);
        assert_int_equal(run("qpdf --show-object=%ld '%s'", num, pdf), 0);
}

static void
test_sign_pdf_extends_page_annots(void **state)
{
        char refs[2][32], *p;
        int n = 0;

        (void)state;
        assert_int_equal(
            run("qpdf --json --json-key=pages '%s'", fx.signed_annots), 0);
        p = strstr(output, "\"object\": \"");
        assert_non_null(p);
        show_object(fx.signed_annots, p + strlen("\"object\": \""));
        /* The first page keeps its link and gains the signature widget. */
        p = strstr(output, "/Annots [");
        assert_non_null(p);
        p += strlen("/Annots [");
        while (n < 2 && *p == ' ' && p[1] >= '0' && p[1] <= '9') {
                snprintf(refs[n++], sizeof(refs[0]), "%s", p + 1);
                p = strstr(p, " R") + 2;
        }
        assert_int_equal(n, 2);
        assert_string_equal(p, " ] /Contents 6 0 R /MediaBox [ 0 0 595 841 ] "
                               "/Parent 2 0 R /Resources << /Font << /F1 4 "
                               "0 R >> /ProcSet [ /PDF /Text /ImageB /ImageC "
                               "/ImageI ] >> /Type /Page >>\n");
        show_object(fx.signed_annots, refs[0]);
        assert_non_null(strstr(output, "/Subtype /Link"));
        show_object(fx.signed_annots, refs[1]);
        assert_non_null(strstr(output, "/Subtype /Widget"));
        assert_non_null(strstr(output, "/FT /Sig"));
}

static void
test_verify_pdf_valid_untrusted(void **state)
{
        struct cl_verify_result res;

        (void)state;
        assert_int_equal(cl_verify_pdf(fx.signed_plain, NULL, &res), CL_OK);
        assert_int_equal(res.valid, 1);
        assert_int_equal(res.whole_file, 1);
        assert_int_equal(res.chain_checked, 0);
        assert_int_equal(res.trusted, 0);
        assert_string_equal(res.detail, "certificate not checked against a CA");
        assert_string_equal(res.signer,
                            "CN=carbonledger test signer,O=carbonledger demo");
}

static void
test_verify_pdf_trusted_with_ca(void **state)
{
        struct cl_verify_result res;

        (void)state;
        assert_int_equal(cl_verify_pdf(fx.signed_attach, fx.cert, &res), CL_OK);
        assert_int_equal(res.valid, 1);
        assert_int_equal(res.whole_file, 1);
        assert_int_equal(res.chain_checked, 1);
        assert_int_equal(res.trusted, 1);
        assert_string_equal(res.detail, "");
}

static void
test_verify_pdf_other_ca_untrusted(void **state)
{
        struct cl_verify_result res;

        (void)state;
        assert_int_equal(cl_verify_pdf(fx.signed_plain, fx.other_cert, &res),
                         CL_OK);
        assert_int_equal(res.valid, 1);
        assert_int_equal(res.chain_checked, 1);
        assert_int_equal(res.trusted, 0);
        assert_non_null(strstr(res.detail, "not trusted"));
}

static void
test_verify_pdf_missing_ca_file(void **state)
{
        struct cl_verify_result res;
        char ca[PATH_MAX];

        (void)state;
        path_in(ca, "no-such-ca.pem");
        assert_int_equal(cl_verify_pdf(fx.signed_plain, ca, &res), CL_EIO);
        assert_non_null(strstr(cl_last_error(), ca));
}

static void
test_verify_pdf_unsigned_is_eformat(void **state)
{
        struct cl_verify_result res;

        (void)state;
        assert_int_equal(cl_verify_pdf(fx.plain, NULL, &res), CL_EFORMAT);
        assert_int_equal(res.valid, 0);
        assert_non_null(strstr(res.detail, "no signature"));
}

static void
test_pdf_cms_attributes_pades(void **state)
{
        char der[PATH_MAX], ranges[PATH_MAX];

        (void)state;
        path_in(der, "plain.cms.der");
        path_in(ranges, "plain.ranges.bin");
        extract_cms(fx.signed_plain, der, ranges);
        assert_int_equal(
            run("openssl cms -cmsout -print -inform DER -in '%s'", der), 0);
        assert_null(strstr(output, "signingTime"));
        assert_non_null(strstr(output, "id-smime-aa-signingCertificateV2"));
        assert_non_null(strstr(output, "messageDigest"));
        assert_non_null(strstr(output, "contentType"));
        assert_non_null(strstr(output, "sha256"));
        /* Detached: the encapsulated content is absent. */
        assert_non_null(strstr(output, "eContent: <ABSENT>"));
}

static void
test_pdf_cms_verifies_with_openssl(void **state)
{
        char der[PATH_MAX], ranges[PATH_MAX];

        (void)state;
        path_in(der, "pages3.cms.der");
        path_in(ranges, "pages3.ranges.bin");
        extract_cms(fx.signed_pages3, der, ranges);
        assert_int_equal(run("openssl cms -verify -binary -inform DER -in "
                             "'%s' -content '%s' -CAfile '%s' -purpose any "
                             "-out /dev/null",
                             der, ranges, fx.cert),
                         0);
        assert_non_null(strstr(output, "Verification successful"));
}

static void
test_pdf_sig_dict_fields(void **state)
{
        char *buf;
        size_t len;

        (void)state;
        read_all(fx.signed_plain, &buf, &len);
        assert_non_null(strstr(buf, "/M (D:20260301093000+00'00')"));
        assert_non_null(strstr(buf, "/Reason (audit)"));
        assert_non_null(strstr(buf, "/Location (Seoul)"));
        assert_non_null(strstr(buf, "/SigFlags 3"));
        assert_non_null(strstr(buf, "/FT /Sig"));
        assert_non_null(strstr(buf, "/ID [<"));
        assert_non_null(strstr(buf, "/Prev "));
        free(buf);
}

static void
test_sign_pdf_korean_reason_utf16(void **state)
{
        char out[PATH_MAX], *buf;
        size_t len;

        (void)state;
        path_in(out, "korean.signed.pdf");
        /* U+C6D4 U+AC04 U+0020 U+AC10 U+C0AC and U+1F512 (a surrogate
         * pair). */
        assert_int_equal(sign_with(fx.signer, fx.plain, out,
                                   "\xEC\x9B\x94\xEA\xB0\x84 "
                                   "\xEA\xB0\x90\xEC\x82\xAC"
                                   "\xF0\x9F\x94\x92"),
                         CL_OK);
        read_all(out, &buf, &len);
        assert_non_null(
            strstr(buf, "/Reason <FEFFC6D4AC040020AC10C0ACD83DDD12>"));
        free(buf);
        check_pdfsig_valid(out);
}

static void
test_sign_pdf_invalid_utf8_rejected(void **state)
{
        char out[PATH_MAX];

        (void)state;
        path_in(out, "badutf8.signed.pdf");
        assert_int_equal(sign_with(fx.signer, fx.plain, out, "bad \xC3("),
                         CL_EINVAL);
        assert_int_equal(access(out, F_OK), -1);
}

static void
test_pdf_flipped_byte_digest_mismatch(void **state)
{
        struct cl_verify_result res;
        char path[PATH_MAX], *buf, *mark;
        size_t len;

        (void)state;
        path_in(path, "flipped.pdf");
        read_all(fx.signed_plain, &buf, &len);
        mark = strstr(buf, TEXT_MARK);
        assert_non_null(mark);
        mark[0] = 'C';
        write_all(path, buf, len);
        free(buf);
        assert_int_equal(cl_verify_pdf(path, NULL, &res), CL_OK);
        assert_int_equal(res.valid, 0);
        assert_int_equal(res.whole_file, 1);
        assert_non_null(strstr(res.detail, "does not verify"));
        assert_int_equal(run("pdfsig '%s'", path), 0);
        assert_non_null(strstr(output, "Digest Mismatch."));
}

static void
test_pdf_changed_signature_invalid(void **state)
{
        struct cl_verify_result res;
        struct byte_range r;
        char path[PATH_MAX], *buf;
        size_t len, der_hex;

        (void)state;
        path_in(path, "badsig.pdf");
        read_all(fx.signed_plain, &buf, &len);
        r = find_byte_range(buf, len);
        /* The RSA signature value ends the DER, before the zero padding. */
        der_hex = r.b - 1;
        while (buf[der_hex - 1] == '0')
                der_hex--;
        buf[der_hex - 20] = buf[der_hex - 20] == 'A' ? 'B' : 'A';
        write_all(path, buf, len);
        free(buf);
        assert_int_equal(cl_verify_pdf(path, NULL, &res), CL_OK);
        assert_int_equal(res.valid, 0);
        assert_int_equal(run("pdfsig '%s'", path), 0);
        assert_non_null(strstr(output, "Signature is Invalid."));
}

static void
test_pdf_appended_bytes_invalid(void **state)
{
        struct cl_verify_result res;
        char path[PATH_MAX], *buf, *grown;
        static const char extra[] = "\n% appended after signing\n";
        size_t len;

        (void)state;
        path_in(path, "appended.pdf");
        read_all(fx.signed_plain, &buf, &len);
        grown = realloc(buf, len + sizeof(extra));
        assert_non_null(grown);
        memcpy(grown + len, extra, sizeof(extra) - 1);
        write_all(path, grown, len + sizeof(extra) - 1);
        free(grown);
        assert_int_equal(cl_verify_pdf(path, fx.cert, &res), CL_OK);
        assert_int_equal(res.valid, 0);
        assert_int_equal(res.whole_file, 0);
        assert_non_null(strstr(res.detail, "bytes appended after the "
                                           "signature"));
        assert_int_equal(run("pdfsig '%s'", path), 0);
        assert_non_null(strstr(output, "Not total document signed"));
}

static void
test_sign_pdf_signed_input_rejected(void **state)
{
        char out[PATH_MAX];

        (void)state;
        path_in(out, "twice.pdf");
        assert_int_equal(sign_with(fx.signer, fx.signed_plain, out, NULL),
                         CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), "/AcroForm"));
        assert_non_null(strstr(cl_last_error(), fx.signed_plain));
}

static void
test_sign_pdf_same_path_rejected(void **state)
{
        (void)state;
        assert_int_equal(sign_with(fx.signer, fx.plain, fx.plain, NULL),
                         CL_EINVAL);
}

static void
test_sign_pdf_leaves_no_temp_file(void **state)
{
        char tmp[PATH_MAX];

        (void)state;
        path_in(tmp, ".plain.signed.pdf.tmp");
        assert_int_equal(access(tmp, F_OK), -1);
}

static void
expect_malformed(const char *name, const void *data, size_t len)
{
        char in[PATH_MAX], out[PATH_MAX];

        path_in(in, name);
        path_in(out, "malformed.signed.pdf");
        write_all(in, data, len);
        assert_int_equal(sign_with(fx.signer, in, out, NULL), CL_EFORMAT);
        assert_non_null(strstr(cl_last_error(), in));
        assert_int_equal(access(out, F_OK), -1);
}

static void
test_sign_pdf_malformed_eformat(void **state)
{
        static const char garbage[] = "this is not a PDF at all\n";
        static const char bad_offset[] =
            "%PDF-1.3\n1 0 obj\n<</Type /Catalog>>\nendobj\n"
            "startxref\n999999\n%%EOF\n";
        static const char bad_xref[] =
            "%PDF-1.3\nxref\n0 2\n0000000000 65535 f\r\n"
            "junk\ntrailer\n<</Size 2 /Root 1 0 R>>\nstartxref\n9\n%%EOF\n";
        static const char loop_prev[] =
            "%PDF-1.3\nxref\n0 1\n0000000000 65535 f\r\n"
            "trailer\n<</Size 1 /Root 1 0 R /Prev 9>>\nstartxref\n9\n%%EOF\n";
        static const char no_root[] =
            "%PDF-1.3\nxref\n0 1\n0000000000 65535 f\r\n"
            "trailer\n<</Size 1>>\nstartxref\n9\n%%EOF\n";
        static const char deep[] =
            "%PDF-1.3\nxref\n0 1\n0000000000 65535 f\r\n"
            "trailer\n<</Size 1 /X [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
            "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]] /Root 1 0 R>>\n"
            "startxref\n9\n%%EOF\n";
        static const char open_string[] =
            "%PDF-1.3\nxref\n0 1\n0000000000 65535 f\r\n"
            "trailer\n<</Size 1 /Root (unterminated>>\nstartxref\n9\n%%EOF\n";
        char *buf;
        size_t len;

        (void)state;
        expect_malformed("empty.pdf", "", 0);
        expect_malformed("garbage.pdf", garbage, sizeof(garbage) - 1);
        expect_malformed("bad-offset.pdf", bad_offset, sizeof(bad_offset) - 1);
        expect_malformed("bad-xref.pdf", bad_xref, sizeof(bad_xref) - 1);
        expect_malformed("loop-prev.pdf", loop_prev, sizeof(loop_prev) - 1);
        expect_malformed("no-root.pdf", no_root, sizeof(no_root) - 1);
        expect_malformed("deep.pdf", deep, sizeof(deep) - 1);
        expect_malformed("open-string.pdf", open_string,
                         sizeof(open_string) - 1);
        read_all(fx.plain, &buf, &len);
        expect_malformed("truncated-half.pdf", buf, len / 2);
        expect_malformed("truncated-tail.pdf", buf, len - 8);
        free(buf);
}

/*
 * Changes single bytes of the xref table and trailer of a valid PDF. Each
 * result is either signed or rejected as malformed, and nothing crashes
 * (this test is most telling with -DCL_SANITIZE=ON).
 */
static void
test_sign_pdf_mutations_never_crash(void **state)
{
        static const char values[] = {'0', '9', ' ', '/',  '<',
                                      '(', '[', 'R', '\n', 'x'};
        char in[PATH_MAX], out[PATH_MAX], *buf, saved;
        size_t len, start, pos, k, signed_count = 0, rejected = 0;
        cl_err rc;

        (void)state;
        path_in(in, "mutated.pdf");
        path_in(out, "mutated.signed.pdf");
        read_all(fx.attach, &buf, &len);
        /* The embedded file contains NUL bytes, so strstr() cannot search. */
        for (start = 0; start + 6 <= len; start++)
                if (memcmp(buf + start, "\nxref\n", 6) == 0)
                        break;
        assert_true(start + 6 <= len);
        for (pos = start; pos < len; pos += 3) {
                k = pos % sizeof(values);
                saved = buf[pos];
                buf[pos] = values[k];
                write_all(in, buf, len);
                rc = sign_with(fx.signer, in, out, NULL);
                if (rc != CL_OK && rc != CL_EFORMAT)
                        fail_msg("mutation at %zu: %s", pos, cl_last_error());
                if (rc == CL_OK)
                        signed_count++;
                else
                        rejected++;
                buf[pos] = saved;
        }
        free(buf);
        assert_true(signed_count > 0);
        assert_true(rejected > 0);
}

static void
test_signer_load_mismatched_key(void **state)
{
        struct cl_signer *s = NULL;

        (void)state;
        assert_int_equal(cl_signer_load(fx.other_key, fx.cert, &s), CL_ECRYPTO);
        assert_null(s);
        assert_non_null(strstr(cl_last_error(), fx.other_key));
        assert_non_null(strstr(cl_last_error(), "does not match"));
}

static void
test_signer_load_missing_key(void **state)
{
        struct cl_signer *s = NULL;
        char key[PATH_MAX];

        (void)state;
        path_in(key, "missing-key.pem");
        assert_int_equal(cl_signer_load(key, fx.cert, &s), CL_EIO);
        assert_null(s);
        assert_non_null(strstr(cl_last_error(), key));
        assert_non_null(strstr(cl_last_error(), "No such file"));
}

static void
test_signer_load_garbage_key(void **state)
{
        struct cl_signer *s = NULL;
        char key[PATH_MAX];

        (void)state;
        path_in(key, "garbage-key.pem");
        write_text(key, "not a key\n");
        assert_int_equal(cl_signer_load(key, fx.cert, &s), CL_ECRYPTO);
        assert_null(s);
        assert_non_null(strstr(cl_last_error(), key));
}

static void
test_signer_load_garbage_cert(void **state)
{
        struct cl_signer *s = NULL;
        char cert[PATH_MAX];

        (void)state;
        path_in(cert, "garbage-cert.pem");
        write_text(cert, "not a certificate\n");
        assert_int_equal(cl_signer_load(fx.key, cert, &s), CL_ECRYPTO);
        assert_null(s);
        assert_non_null(strstr(cl_last_error(), cert));
}

static void
test_signer_chain_in_signature(void **state)
{
        char chain[PATH_MAX], out[PATH_MAX], der[PATH_MAX], ranges[PATH_MAX];
        char certs[PATH_MAX];
        struct cl_signer *s = NULL;
        char *a, *b, *joined;
        size_t alen, blen;

        (void)state;
        path_in(chain, "chain.pem");
        path_in(out, "chain.signed.pdf");
        path_in(der, "chain.cms.der");
        path_in(ranges, "chain.ranges.bin");
        path_in(certs, "chain.certs.pem");
        read_all(fx.cert, &a, &alen);
        read_all(fx.other_cert, &b, &blen);
        joined = malloc(alen + blen);
        assert_non_null(joined);
        memcpy(joined, a, alen);
        memcpy(joined + alen, b, blen);
        write_all(chain, joined, alen + blen);
        free(joined);
        free(a);
        free(b);
        assert_int_equal(cl_signer_load(fx.key, chain, &s), CL_OK);
        assert_int_equal(sign_with(s, fx.plain, out, NULL), CL_OK);
        cl_signer_free(s);
        check_pdfsig_valid(out);
        extract_cms(out, der, ranges);
        assert_int_equal(run("openssl cms -verify -binary -inform DER -in "
                             "'%s' -content '%s' -noverify -certsout '%s' "
                             "-out /dev/null",
                             der, ranges, certs),
                         0);
        assert_int_equal(run("grep -c 'BEGIN CERTIFICATE' '%s'", certs), 0);
        assert_int_equal(strtol(output, NULL, 10), 2);
}

static void
test_detached_verifies_with_openssl(void **state)
{
        char content[PATH_MAX], p7s[PATH_MAX];
        struct cl_verify_result res;

        (void)state;
        path_in(content, "report.xlsx");
        path_in(p7s, "report.xlsx.p7s");
        write_text(content, "PK\x03\x04 not really a workbook");
        assert_int_equal(cl_sign_detached(fx.signer, content, p7s), CL_OK);
        assert_int_equal(run("openssl cms -verify -binary -inform DER -in "
                             "'%s' -content '%s' -CAfile '%s' -purpose any "
                             "-out /dev/null",
                             p7s, content, fx.cert),
                         0);
        assert_int_equal(cl_verify_detached(content, p7s, NULL, &res), CL_OK);
        assert_int_equal(res.valid, 1);
        assert_int_equal(res.whole_file, 1);
        assert_int_equal(res.trusted, 0);
        assert_int_equal(cl_verify_detached(content, p7s, fx.cert, &res),
                         CL_OK);
        assert_int_equal(res.valid, 1);
        assert_int_equal(res.trusted, 1);
        assert_int_equal(cl_verify_detached(content, p7s, fx.other_cert, &res),
                         CL_OK);
        assert_int_equal(res.valid, 1);
        assert_int_equal(res.trusted, 0);
        /* A detached signature may carry signing-time. */
        assert_int_equal(
            run("openssl cms -cmsout -print -inform DER -in '%s'", p7s), 0);
        assert_non_null(strstr(output, "signingTime"));
        assert_non_null(strstr(output, "id-smime-aa-signingCertificateV2"));
}

static void
test_detached_changed_content_fails(void **state)
{
        char content[PATH_MAX], p7s[PATH_MAX];
        struct cl_verify_result res;

        (void)state;
        path_in(content, "changed.xlsx");
        path_in(p7s, "changed.xlsx.p7s");
        write_text(content, "PK\x03\x04 original bytes");
        assert_int_equal(cl_sign_detached(fx.signer, content, p7s), CL_OK);
        write_text(content, "PK\x03\x04 originaL bytes");
        assert_int_not_equal(run("openssl cms -verify -binary -inform DER -in "
                                 "'%s' -content '%s' -CAfile '%s' -purpose "
                                 "any -out /dev/null",
                                 p7s, content, fx.cert),
                             0);
        assert_int_equal(cl_verify_detached(content, p7s, fx.cert, &res),
                         CL_OK);
        assert_int_equal(res.valid, 0);
        assert_int_equal(res.trusted, 0);
        assert_non_null(strstr(res.detail, "does not verify"));
}

static void
test_detached_missing_content_eio(void **state)
{
        char content[PATH_MAX], p7s[PATH_MAX];

        (void)state;
        path_in(content, "absent.xlsx");
        path_in(p7s, "absent.xlsx.p7s");
        assert_int_equal(cl_sign_detached(fx.signer, content, p7s), CL_EIO);
        assert_non_null(strstr(cl_last_error(), content));
        assert_int_equal(access(p7s, F_OK), -1);
}

static void
test_pdfsig_trusts_cert_in_nss(void **state)
{
        char nss[PATH_MAX];

        (void)state;
        path_in(nss, "nss");
        assert_int_equal(mkdir(nss, 0700), 0);
        assert_int_equal(run("certutil -N -d 'sql:%s' --empty-password", nss),
                         0);
        assert_int_equal(run("certutil -A -d 'sql:%s' -n signer -t CT,C,C "
                             "-i '%s'",
                             nss, fx.cert),
                         0);
        assert_int_equal(
            run("pdfsig -nssdir 'sql:%s' '%s'", nss, fx.signed_attach), 0);
        assert_non_null(strstr(output, "Signature is Valid."));
        assert_non_null(strstr(output, "Certificate is Trusted."));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_keygen_key_mode_0600),
            cmocka_unit_test(test_keygen_rejects_existing_key),
            cmocka_unit_test(test_keygen_certificate_fields),
            cmocka_unit_test(test_signer_subject_one_line),
            cmocka_unit_test(test_sign_pdf_pdfsig_valid),
            cmocka_unit_test(test_sign_pdf_qpdf_check_passes),
            cmocka_unit_test(test_sign_pdf_keeps_original_bytes),
            cmocka_unit_test(test_sign_pdf_keeps_attachment),
            cmocka_unit_test(test_sign_pdf_keeps_three_pages),
            cmocka_unit_test(test_sign_pdf_extends_page_annots),
            cmocka_unit_test(test_verify_pdf_valid_untrusted),
            cmocka_unit_test(test_verify_pdf_trusted_with_ca),
            cmocka_unit_test(test_verify_pdf_other_ca_untrusted),
            cmocka_unit_test(test_verify_pdf_missing_ca_file),
            cmocka_unit_test(test_verify_pdf_unsigned_is_eformat),
            cmocka_unit_test(test_pdf_cms_attributes_pades),
            cmocka_unit_test(test_pdf_cms_verifies_with_openssl),
            cmocka_unit_test(test_pdf_sig_dict_fields),
            cmocka_unit_test(test_sign_pdf_korean_reason_utf16),
            cmocka_unit_test(test_sign_pdf_invalid_utf8_rejected),
            cmocka_unit_test(test_pdf_flipped_byte_digest_mismatch),
            cmocka_unit_test(test_pdf_changed_signature_invalid),
            cmocka_unit_test(test_pdf_appended_bytes_invalid),
            cmocka_unit_test(test_sign_pdf_signed_input_rejected),
            cmocka_unit_test(test_sign_pdf_same_path_rejected),
            cmocka_unit_test(test_sign_pdf_leaves_no_temp_file),
            cmocka_unit_test(test_sign_pdf_malformed_eformat),
            cmocka_unit_test(test_sign_pdf_mutations_never_crash),
            cmocka_unit_test(test_signer_load_mismatched_key),
            cmocka_unit_test(test_signer_load_missing_key),
            cmocka_unit_test(test_signer_load_garbage_key),
            cmocka_unit_test(test_signer_load_garbage_cert),
            cmocka_unit_test(test_signer_chain_in_signature),
            cmocka_unit_test(test_detached_verifies_with_openssl),
            cmocka_unit_test(test_detached_changed_content_fails),
            cmocka_unit_test(test_detached_missing_content_eio),
            cmocka_unit_test(test_pdfsig_trusts_cert_in_nss),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
