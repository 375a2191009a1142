/*
 * Verification of the signatures that sign.c and pades.c write: the CMS
 * signature and digest, then, with a CA file, the signer's certificate
 * chain and validity dates at the current time.
 *
 * For a PDF only the last signature counts. Its dictionary is found by the
 * last "/ByteRange" in the file, its /Contents by the byte range itself:
 * the gap between the two ranges must be exactly one hexadecimal string
 * that follows the /Contents key. A signature whose ranges do not reach
 * the end of the file is reported as invalid, because the bytes after it
 * (a later update) are not covered.
 */
#include "cms_internal.h"
#include "fsutil.h"
#include "verify.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest PDF read, in bytes, as for signing. */
#define VERIFY_PDF_MAX_BYTES ((size_t)512 << 20)
/* Largest detached signature read, in bytes. */
#define VERIFY_P7S_MAX_BYTES ((size_t)1 << 20)

static void CL_PRINTF(2, 3)
    set_detail(struct cl_verify_result *res, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
        va_end(ap);
}

/* Records OpenSSL's oldest queued reason after text, then clears it. */
static void
set_crypto_detail(struct cl_verify_result *res, const char *text)
{
        char reason[256];
        unsigned long e = ERR_get_error();

        if (e == 0)
                snprintf(reason, sizeof(reason), "no reason given");
        else
                ERR_error_string_n(e, reason, sizeof(reason));
        ERR_clear_error();
        set_detail(res, "%s: %s", text, reason);
}

/* Finds the certificate in certs that the first SignerInfo names. */
static X509 *
find_signer_cert(CMS_ContentInfo *cms, STACK_OF(X509) * certs)
{
        STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
        CMS_SignerInfo *si;
        int i;

        if (infos == NULL || sk_CMS_SignerInfo_num(infos) < 1)
                return NULL;
        si = sk_CMS_SignerInfo_value(infos, 0);
        for (i = 0; i < sk_X509_num(certs); i++) {
                X509 *x = sk_X509_value(certs, i);

                if (CMS_SignerInfo_cert_cmp(si, x) == 0)
                        return x;
        }
        return NULL;
}

static cl_err
load_ca(const char *ca_path, X509_STORE **out)
{
        X509_STORE *store = NULL;
        cl_err rc = CL_OK;

        *out = NULL;
        if (access(ca_path, R_OK) != 0) {
                rc = cl_fail_errno(CL_EIO, errno, "open CA file %s", ca_path);
                goto out;
        }
        store = X509_STORE_new();
        if (store == NULL || X509_STORE_load_file(store, ca_path) != 1) {
                rc = cl_crypto_fail(
                    CL_ECRYPTO, "%s: no PEM CA certificate loaded", ca_path);
                goto out;
        }
        *out = store;
        store = NULL;
out:
        X509_STORE_free(store);
        return rc;
}

/*
 * Validates signer's chain against the CAs of ca_path, taking the CMS's
 * other certificates as intermediates, for any purpose.
 */
static cl_err
check_chain(X509 *signer, STACK_OF(X509) * certs, const char *ca_path,
            struct cl_verify_result *res)
{
        X509_STORE_CTX *ctx = NULL;
        X509_STORE *store = NULL;
        cl_err rc;

        res->chain_checked = 1;
        rc = load_ca(ca_path, &store);
        if (rc != CL_OK)
                goto out;
        ctx = X509_STORE_CTX_new();
        if (ctx == NULL ||
            X509_STORE_CTX_init(ctx, store, signer, certs) != 1 ||
            X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY) != 1) {
                rc = cl_crypto_fail(CL_ECRYPTO, "%s: set up chain check",
                                    ca_path);
                goto out;
        }
        /* NOTE: validity dates are checked at the current time, because a
         * PAdES B-B signature has no trusted signing time. A report signed
         * with a certificate that has expired since reads as untrusted. */
        if (X509_verify_cert(ctx) == 1) {
                res->trusted = 1;
        } else {
                int err = X509_STORE_CTX_get_error(ctx);

                set_detail(res, "certificate not trusted by %s: %s", ca_path,
                           X509_verify_cert_error_string(err));
                ERR_clear_error();
        }
out:
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        return rc;
}

/*
 * Verifies the DER CMS over content and fills res. Returns CL_OK when the
 * check ran; an unreadable or unparsable CA file is an error.
 */
static cl_err
verify_cms(const unsigned char *der, size_t der_len, BIO *content,
           const char *ca_path, struct cl_verify_result *res)
{
        unsigned int flags =
            CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY;
        const unsigned char *p = der;
        STACK_OF(X509) *certs = NULL;
        CMS_ContentInfo *cms = NULL;
        cl_err rc = CL_OK;
        X509 *signer;
        size_t i;

        if (der_len > LONG_MAX ||
            (cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len)) == NULL) {
                set_crypto_detail(res, "signature is not a DER CMS");
                goto out;
        }
        /* Only zero padding may follow the CMS (it fills /Contents). */
        for (i = (size_t)(p - der); i < der_len; i++) {
                if (der[i] != 0) {
                        set_detail(res, "data after the CMS signature");
                        goto out;
                }
        }
        if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
            CMS_is_detached(cms) != 1) {
                set_detail(res, "CMS is not a detached SignedData");
                goto out;
        }
        certs = CMS_get1_certs(cms);
        signer = certs == NULL ? NULL : find_signer_cert(cms, certs);
        if (signer == NULL) {
                set_detail(res, "signer certificate not in the CMS");
                goto out;
        }
        cl_name_oneline(X509_get_subject_name(signer), res->signer,
                        sizeof(res->signer));
        /* The signature and the message-digest attribute over content. */
        if (CMS_verify(cms, NULL, NULL, content, NULL, flags) != 1) {
                set_crypto_detail(res, "CMS signature does not verify");
                goto out;
        }
        res->valid = 1;
        if (ca_path == NULL) {
                set_detail(res, "certificate not checked against a CA");
                goto out;
        }
        rc = check_chain(signer, certs, ca_path, res);
out:
        ERR_clear_error();
        sk_X509_pop_free(certs, X509_free);
        CMS_ContentInfo_free(cms);
        return rc;
}

/*
 * Finds the last "/ByteRange" in buf; returns 0 when none.
 * NOTE: this is a text search, not a walk of the xref chain, so the text
 * "/ByteRange" inside a stream written after the signature is taken for
 * the signature dictionary. The result is still valid only when those
 * ranges and their /Contents verify over the whole file but the gap.
 */
static int
find_last_byte_range(const char *buf, size_t len, size_t *at)
{
        static const char key[] = "/ByteRange";
        size_t klen = sizeof(key) - 1, i;

        if (len < klen)
                return 0;
        for (i = len - klen + 1; i-- > 0;) {
                if (buf[i] == '/' && memcmp(buf + i, key, klen) == 0) {
                        *at = i;
                        return 1;
                }
        }
        return 0;
}

static int
is_pdf_ws(char c)
{
        return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' ||
               c == '\0';
}

/*
 * Parses "[0 a b c]" at *pos into range[4]. Returns 0 when the text is no
 * array of four non-negative integers.
 */
static int
parse_byte_range(const char *buf, size_t len, size_t pos, uint64_t range[4])
{
        int i;

        while (pos < len && is_pdf_ws(buf[pos]))
                pos++;
        if (pos >= len || buf[pos++] != '[')
                return 0;
        for (i = 0; i < 4; i++) {
                size_t digits = 0;

                range[i] = 0;
                while (pos < len && is_pdf_ws(buf[pos]))
                        pos++;
                while (pos < len && buf[pos] >= '0' && buf[pos] <= '9') {
                        /* 15 digits: far beyond any file read here. */
                        if (++digits > 15)
                                return 0;
                        range[i] = range[i] * 10 + (uint64_t)(buf[pos] - '0');
                        pos++;
                }
                if (digits == 0)
                        return 0;
        }
        while (pos < len && is_pdf_ws(buf[pos]))
                pos++;
        return pos < len && buf[pos] == ']';
}

static int
hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/*
 * Checks that buf[a..b) is "<hex>" after a /Contents key and decodes it
 * into *der. Returns 0 with res->detail set when it is not.
 */
static int
decode_contents(const char *buf, size_t a, size_t b, unsigned char **der,
                size_t *der_len, struct cl_verify_result *res)
{
        static const char key[] = "/Contents";
        size_t klen = sizeof(key) - 1, k = a, i, n;
        unsigned char *out;

        *der = NULL;
        if (buf[a] != '<' || buf[b - 1] != '>' || (b - a) % 2 != 0) {
                set_detail(res, "gap between the byte ranges is not a "
                                "hexadecimal string");
                return 0;
        }
        while (k > 0 && is_pdf_ws(buf[k - 1]))
                k--;
        if (k < klen || memcmp(buf + k - klen, key, klen) != 0) {
                set_detail(res, "gap between the byte ranges is not the "
                                "/Contents value");
                return 0;
        }
        n = (b - a - 2) / 2;
        out = malloc(n > 0 ? n : 1);
        if (out == NULL) {
                set_detail(res, "out of memory");
                return 0;
        }
        for (i = 0; i < n; i++) {
                int hi = hex_digit(buf[a + 1 + 2 * i]);
                int lo = hex_digit(buf[a + 2 + 2 * i]);

                if (hi < 0 || lo < 0) {
                        free(out);
                        set_detail(res, "/Contents holds a non-hexadecimal "
                                        "character");
                        return 0;
                }
                out[i] = (unsigned char)(hi * 16 + lo);
        }
        *der = out;
        *der_len = n;
        return 1;
}

cl_err
cl_verify_pdf(const char *path, const char *ca_path,
              struct cl_verify_result *res)
{
        unsigned char *der = NULL;
        uint64_t range[4];
        size_t len = 0, at, a, b, der_len = 0;
        BIO *content = NULL;
        char *buf = NULL;
        cl_err rc;

        memset(res, 0, sizeof(*res));
        rc = cl_read_file(path, VERIFY_PDF_MAX_BYTES, &buf, &len);
        if (rc != CL_OK)
                goto out;
        if (!find_last_byte_range(buf, len, &at)) {
                set_detail(res, "no signature (no /ByteRange) in %s", path);
                rc = cl_fail(CL_EFORMAT, "%s: no signature found", path);
                goto out;
        }
        if (!parse_byte_range(buf, len, at + strlen("/ByteRange"), range)) {
                set_detail(res, "invalid /ByteRange");
                goto out;
        }
        if (range[0] != 0 || range[1] >= range[2] || range[2] > len ||
            range[3] > len - range[2]) {
                set_detail(res,
                           "/ByteRange [%" PRIu64 " %" PRIu64 " %" PRIu64
                           " %" PRIu64 "] does not fit the file of %zu bytes",
                           range[0], range[1], range[2], range[3], len);
                goto out;
        }
        a = (size_t)range[1];
        b = (size_t)range[2];
        res->whole_file = b + range[3] == len;
        if (!decode_contents(buf, a, b, &der, &der_len, res))
                goto out;
        content = BIO_new(BIO_s_mem());
        if (content == NULL || a > INT_MAX || range[3] > INT_MAX ||
            BIO_write(content, buf, (int)a) != (int)a ||
            BIO_write(content, buf + b, (int)range[3]) != (int)range[3]) {
                rc =
                    cl_crypto_fail(CL_ENOMEM, "%s: buffer signed ranges", path);
                goto out;
        }
        rc = verify_cms(der, der_len, content, ca_path, res);
        if (rc != CL_OK)
                goto out;
        if (!res->whole_file) {
                res->valid = 0;
                set_detail(res,
                           "bytes appended after the signature: %zu of "
                           "%zu bytes not signed",
                           len - b - (size_t)range[3], len);
        }
out:
        BIO_free(content);
        free(der);
        free(buf);
        return rc;
}

cl_err
cl_verify_detached(const char *content_path, const char *p7s_path,
                   const char *ca_path, struct cl_verify_result *res)
{
        BIO *content = NULL;
        size_t der_len = 0;
        char *der = NULL;
        FILE *f = NULL;
        cl_err rc;

        memset(res, 0, sizeof(*res));
        rc = cl_read_file(p7s_path, VERIFY_P7S_MAX_BYTES, &der, &der_len);
        if (rc != CL_OK)
                goto out;
        f = fopen(content_path, "rb");
        if (f == NULL) {
                rc = cl_fail_errno(CL_EIO, errno, "open %s", content_path);
                goto out;
        }
        content = BIO_new_fp(f, BIO_NOCLOSE);
        if (content == NULL) {
                rc = cl_crypto_fail(CL_ENOMEM, "read %s", content_path);
                goto out;
        }
        rc = verify_cms((const unsigned char *)der, der_len, content, ca_path,
                        res);
        if (rc != CL_OK)
                goto out;
        if (ferror(f)) {
                res->valid = 0;
                rc = cl_fail(CL_EIO, "read %s: read error", content_path);
                goto out;
        }
        /* A detached signature covers its content file whole. */
        res->whole_file = res->valid;
out:
        BIO_free(content);
        if (f != NULL)
                fclose(f);
        free(der);
        return rc;
}
