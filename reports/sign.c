/*
 * The signer (a private key, its certificate and the chain sent with every
 * signature) and the CMS SignedData builder that the PDF and the detached
 * signatures share.
 *
 * OpenSSL 3.0 always adds a signing-time attribute when it signs the
 * attributes, and PAdES baseline B-B forbids that attribute, because the
 * claimed time belongs in the signature dictionary's /M. So for the PDF the
 * builder deletes the attribute after CMS_final() and signs the DER SET OF
 * the remaining attributes again. CMS_SignerInfo_sign() cannot do that
 * second signature: it adds signing-time again when none is present.
 */
#include "cms_internal.h"
#include "fsutil.h"
#include "sign.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for the CMS structure and the signed attributes beyond the
 * certificates and the signature value, in bytes. */
#define CMS_OVERHEAD_BYTES 2048

cl_err
cl_crypto_fail(cl_err code, const char *fmt, ...)
{
        char msg[512], reason[256];
        unsigned long e = ERR_get_error();
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (e == 0)
                snprintf(reason, sizeof(reason), "no reason given by OpenSSL");
        else
                ERR_error_string_n(e, reason, sizeof(reason));
        ERR_clear_error();
        return cl_fail(code, "%s: %s", msg, reason);
}

const char *
cl_name_oneline(const X509_NAME *name, char *buf, size_t size)
{
        /* RFC 2253 with UTF-8 left as it is, so a Korean CN stays legible. */
        unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
        BIO *bio = BIO_new(BIO_s_mem());
        int n = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        if (bio == NULL)
                goto out;
        if (X509_NAME_print_ex(bio, name, 0, flags) < 0)
                goto out;
        n = BIO_read(bio, buf, (int)(size > INT_MAX ? INT_MAX : size - 1));
        if (n < 0)
                n = 0;
        /* A cut must not leave half a UTF-8 sequence at the end. */
        if ((size_t)n == size - 1) {
                while (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80)
                        n--;
                if (n > 0 && ((unsigned char)buf[n - 1] & 0x80) != 0)
                        n--;
        }
        buf[n] = '\0';
out:
        BIO_free(bio);
        ERR_clear_error();
        return buf;
}

/* Rejects every passphrase prompt: keys must be stored unencrypted. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
        (void)buf;
        (void)size;
        (void)rwflag;
        (void)u;
        return -1;
}

static cl_err
load_key(const char *path, EVP_PKEY **out)
{
        FILE *f = fopen(path, "r");
        int type;

        *out = NULL;
        if (f == NULL)
                return cl_fail_errno(CL_EIO, errno, "open private key %s",
                                     path);
        *out = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
        fclose(f);
        if (*out == NULL)
                return cl_crypto_fail(
                    CL_ECRYPTO, "%s: not an unencrypted PEM private key", path);
        type = EVP_PKEY_get_base_id(*out);
        if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
                EVP_PKEY_free(*out);
                *out = NULL;
                return cl_fail(CL_ECRYPTO,
                               "%s: key type %s is not supported, use RSA or "
                               "EC",
                               path, OBJ_nid2sn(type));
        }
        /* Below 112-bit security (RSA 2048, EC P-256) is no audit seal. */
        if ((type == EVP_PKEY_RSA && EVP_PKEY_get_bits(*out) < 2048) ||
            (type == EVP_PKEY_EC && EVP_PKEY_get_bits(*out) < 256)) {
                int bits = EVP_PKEY_get_bits(*out);

                EVP_PKEY_free(*out);
                *out = NULL;
                return cl_fail(CL_ECRYPTO,
                               "%s: %d-bit %s key is too weak; use RSA of at "
                               "least 2048 bits or EC of at least 256",
                               path, bits, OBJ_nid2sn(type));
        }
        return CL_OK;
}

/*
 * Reads the first certificate of path into *cert and the rest into *chain.
 */
static cl_err
load_certs(const char *path, X509 **cert, STACK_OF(X509) * *chain)
{
        FILE *f = fopen(path, "r");
        cl_err rc = CL_OK;
        unsigned long e;
        X509 *x;

        *cert = NULL;
        *chain = NULL;
        if (f == NULL)
                return cl_fail_errno(CL_EIO, errno, "open certificate %s",
                                     path);
        *cert = PEM_read_X509(f, NULL, NULL, NULL);
        if (*cert == NULL) {
                rc = cl_crypto_fail(CL_ECRYPTO, "%s: no PEM certificate found",
                                    path);
                goto out;
        }
        *chain = sk_X509_new_null();
        if (*chain == NULL) {
                rc = cl_crypto_fail(CL_ENOMEM, "%s: chain", path);
                goto out;
        }
        while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
                if (!sk_X509_push(*chain, x)) {
                        X509_free(x);
                        rc = cl_crypto_fail(CL_ENOMEM, "%s: chain", path);
                        goto out;
                }
        }
        /* The loop ends at the end of the file or at a broken block. */
        e = ERR_peek_last_error();
        if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
                        ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
                rc = cl_crypto_fail(CL_ECRYPTO,
                                    "%s: invalid certificate after the "
                                    "first one",
                                    path);
                goto out;
        }
        ERR_clear_error();
out:
        fclose(f);
        if (rc != CL_OK) {
                X509_free(*cert);
                sk_X509_pop_free(*chain, X509_free);
                *cert = NULL;
                *chain = NULL;
        }
        return rc;
}

void
cl_signer_free(struct cl_signer *signer)
{
        if (signer == NULL)
                return;
        EVP_PKEY_free(signer->key);
        X509_free(signer->cert);
        sk_X509_pop_free(signer->chain, X509_free);
        free(signer);
}

/* Rejects a certificate that has expired or is not valid yet. */
static cl_err
check_validity(X509 *cert, const char *path)
{
        const ASN1_TIME *from = X509_get0_notBefore(cert);
        const ASN1_TIME *until = X509_get0_notAfter(cert);
        char when[64] = "";
        BIO *b;

        if (X509_cmp_current_time(from) < 0 && X509_cmp_current_time(until) > 0)
                return CL_OK;
        b = BIO_new(BIO_s_mem());
        if (b != NULL) {
                int n;

                ASN1_TIME_print(b, X509_cmp_current_time(from) >= 0 ? from
                                                                    : until);
                n = BIO_read(b, when, (int)sizeof(when) - 1);
                when[n > 0 ? n : 0] = '\0';
                BIO_free(b);
        }
        if (X509_cmp_current_time(from) >= 0)
                return cl_fail(CL_ECRYPTO,
                               "certificate in %s is not valid before %s", path,
                               when);
        return cl_fail(CL_ECRYPTO, "certificate in %s expired on %s", path,
                       when);
}

cl_err
cl_signer_load(const char *key_path, const char *cert_path,
               struct cl_signer **out)
{
        struct cl_signer *s = NULL;
        cl_err rc;

        *out = NULL;
        s = calloc(1, sizeof(*s));
        if (s == NULL) {
                rc = cl_fail(CL_ENOMEM, "load signer %s: out of memory",
                             key_path);
                goto out;
        }
        rc = load_key(key_path, &s->key);
        if (rc != CL_OK)
                goto out;
        rc = load_certs(cert_path, &s->cert, &s->chain);
        if (rc != CL_OK)
                goto out;
        if (X509_check_private_key(s->cert, s->key) != 1) {
                rc = cl_crypto_fail(CL_ECRYPTO,
                                    "key in %s does not match the "
                                    "certificate in %s",
                                    key_path, cert_path);
                goto out;
        }
        rc = check_validity(s->cert, cert_path);
        if (rc != CL_OK)
                goto out;
        cl_name_oneline(X509_get_subject_name(s->cert), s->subject,
                        sizeof(s->subject));
        *out = s;
        s = NULL;
out:
        cl_signer_free(s);
        return rc;
}

const char *
cl_signer_subject(const struct cl_signer *signer)
{
        return signer->subject;
}

size_t
cl_cms_max_size(const struct cl_signer *signer)
{
        size_t total = CMS_OVERHEAD_BYTES;
        int i, n;

        n = i2d_X509(signer->cert, NULL);
        if (n > 0)
                total += (size_t)n;
        /* The signing-certificate-v2 attribute repeats the issuer name. */
        n = i2d_X509_NAME(X509_get_issuer_name(signer->cert), NULL);
        if (n > 0)
                total += (size_t)n;
        for (i = 0; i < sk_X509_num(signer->chain); i++) {
                n = i2d_X509(sk_X509_value(signer->chain, i), NULL);
                if (n > 0)
                        total += (size_t)n;
        }
        n = EVP_PKEY_get_size(signer->key);
        if (n > 0)
                total += (size_t)n;
        return total;
}

struct der_item {
        unsigned char *p;
        size_t len;
};

/*
 * Orders DER encodings as X.690 orders the members of a SET OF: as octet
 * strings, the shorter padded with zero octets at its end.
 */
static int
der_item_cmp(const void *a, const void *b)
{
        const struct der_item *x = a, *y = b;
        size_t n = x->len < y->len ? x->len : y->len, i;
        int c = memcmp(x->p, y->p, n);

        if (c != 0)
                return c;
        for (i = n; i < x->len; i++)
                if (x->p[i] != 0)
                        return 1;
        for (i = n; i < y->len; i++)
                if (y->p[i] != 0)
                        return -1;
        return 0;
}

/*
 * Encodes the signed attributes of si as the DER SET OF that the signature
 * covers (RFC 5652, section 5.4: tag 0x31, not the [0] of the SignerInfo).
 */
static cl_err
encode_signed_attrs(CMS_SignerInfo *si, unsigned char **out, size_t *out_len)
{
        int count = CMS_signed_get_attr_count(si), i;
        struct der_item *items = NULL;
        unsigned char *buf = NULL;
        size_t body = 0, pos = 0, hdr;
        cl_err rc = CL_OK;

        *out = NULL;
        if (count <= 0) {
                rc = cl_fail(CL_ECRYPTO, "CMS has no signed attributes");
                goto out;
        }
        items = calloc((size_t)count, sizeof(*items));
        if (items == NULL) {
                rc = cl_fail(CL_ENOMEM, "encode signed attributes");
                goto out;
        }
        for (i = 0; i < count; i++) {
                int n =
                    i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &items[i].p);

                if (n <= 0) {
                        rc = cl_crypto_fail(CL_ECRYPTO,
                                            "encode signed attribute %d", i);
                        goto out;
                }
                items[i].len = (size_t)n;
                body += (size_t)n;
        }
        qsort(items, (size_t)count, sizeof(*items), der_item_cmp);
        /* The tag, then a short length or 0x81 to 0x83 and that many
         * length octets. */
        if (body < 0x80) {
                hdr = 2;
        } else if (body < 0x100) {
                hdr = 3;
        } else if (body < 0x10000) {
                hdr = 4;
        } else if (body < 0x1000000) {
                hdr = 5;
        } else {
                rc = cl_fail(CL_ECRYPTO, "signed attributes exceed 16 MiB");
                goto out;
        }
        buf = malloc(hdr + body);
        if (buf == NULL) {
                rc = cl_fail(CL_ENOMEM, "encode signed attributes");
                goto out;
        }
        buf[pos++] = 0x31;
        if (hdr == 2) {
                buf[pos++] = (unsigned char)body;
        } else {
                size_t k;

                buf[pos++] = (unsigned char)(0x80 | (hdr - 2));
                for (k = hdr - 2; k > 0; k--)
                        buf[pos++] = (unsigned char)(body >> (8 * (k - 1)));
        }
        for (i = 0; i < count; i++) {
                memcpy(buf + pos, items[i].p, items[i].len);
                pos += items[i].len;
        }
        *out = buf;
        *out_len = pos;
        buf = NULL;
out:
        if (items != NULL)
                for (i = 0; i < count; i++)
                        OPENSSL_free(items[i].p);
        free(items);
        free(buf);
        return rc;
}

/* Removes signing-time from si and signs the remaining attributes again. */
static cl_err
drop_signing_time(CMS_SignerInfo *si, EVP_PKEY *key)
{
        unsigned char *attrs = NULL, *sig = NULL;
        size_t attrs_len = 0, sig_len = 0;
        EVP_MD_CTX *md = NULL;
        cl_err rc = CL_OK;
        int idx;

        idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
        if (idx < 0)
                goto out;
        X509_ATTRIBUTE_free(CMS_signed_delete_attr(si, idx));
        rc = encode_signed_attrs(si, &attrs, &attrs_len);
        if (rc != CL_OK)
                goto out;
        md = EVP_MD_CTX_new();
        if (md == NULL ||
            EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
            EVP_DigestSign(md, NULL, &sig_len, attrs, attrs_len) != 1) {
                rc = cl_crypto_fail(CL_ECRYPTO, "sign CMS attributes");
                goto out;
        }
        sig = OPENSSL_malloc(sig_len);
        if (sig == NULL ||
            EVP_DigestSign(md, sig, &sig_len, attrs, attrs_len) != 1 ||
            sig_len > INT_MAX ||
            !ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig,
                             (int)sig_len)) {
                rc = cl_crypto_fail(CL_ECRYPTO, "sign CMS attributes");
                goto out;
        }
        /* Checks the encoding above against OpenSSL's own. */
        if (CMS_SignerInfo_verify(si) != 1) {
                rc = cl_crypto_fail(CL_ECRYPTO,
                                    "CMS attributes signed again do not "
                                    "verify");
                goto out;
        }
out:
        EVP_MD_CTX_free(md);
        OPENSSL_free(sig);
        free(attrs);
        return rc;
}

cl_err
cl_cms_sign(const struct cl_signer *signer, BIO *data, int with_signing_time,
            unsigned char **der, size_t *der_len, const char *what)
{
        unsigned int flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY |
                             CMS_NOSMIMECAP | CMS_CADES;
        CMS_ContentInfo *cms = NULL;
        unsigned char *buf = NULL;
        CMS_SignerInfo *si;
        cl_err rc = CL_OK;
        int n;

        *der = NULL;
        *der_len = 0;
        cms = CMS_sign(NULL, NULL, signer->chain, NULL, flags);
        if (cms == NULL) {
                rc = cl_crypto_fail(CL_ECRYPTO, "sign %s: CMS_sign", what);
                goto out;
        }
        si = CMS_add1_signer(cms, signer->cert, signer->key, EVP_sha256(),
                             flags);
        if (si == NULL) {
                rc = cl_crypto_fail(CL_ECRYPTO, "sign %s: add signer", what);
                goto out;
        }
        if (CMS_final(cms, data, NULL, flags) != 1) {
                rc = cl_crypto_fail(CL_ECRYPTO, "sign %s: CMS_final", what);
                goto out;
        }
        if (!with_signing_time) {
                rc = drop_signing_time(si, signer->key);
                if (rc != CL_OK)
                        goto out;
        }
        n = i2d_CMS_ContentInfo(cms, &buf);
        if (n <= 0) {
                rc = cl_crypto_fail(CL_ECRYPTO, "sign %s: encode CMS", what);
                goto out;
        }
        *der = buf;
        *der_len = (size_t)n;
        buf = NULL;
out:
        OPENSSL_free(buf);
        CMS_ContentInfo_free(cms);
        return rc;
}

cl_err
cl_sign_detached(const struct cl_signer *signer, const char *content_path,
                 const char *p7s_path)
{
        unsigned char *der = NULL;
        char tmp[PATH_MAX];
        size_t der_len = 0;
        int tmp_written = 0;
        BIO *data = NULL;
        FILE *f = NULL;
        cl_err rc;

        rc = cl_tmp_path(p7s_path, tmp, sizeof(tmp));
        if (rc != CL_OK)
                goto out;
        f = fopen(content_path, "rb");
        if (f == NULL) {
                rc = cl_fail_errno(CL_EIO, errno, "open %s", content_path);
                goto out;
        }
        data = BIO_new_fp(f, BIO_CLOSE);
        if (data == NULL) {
                fclose(f);
                rc = cl_crypto_fail(CL_ENOMEM, "read %s", content_path);
                goto out;
        }
        rc = cl_cms_sign(signer, data, 1, &der, &der_len, content_path);
        if (rc != CL_OK)
                goto out;
        /* OpenSSL stops reading at a read error as at the end of the file,
         * which would sign only a prefix. */
        if (ferror(f)) {
                rc = cl_fail(CL_EIO, "read %s: read error", content_path);
                goto out;
        }
        tmp_written = 1;
        rc = cl_write_file(tmp, der, der_len);
        if (rc != CL_OK)
                goto out;
        rc = cl_commit_file(tmp, p7s_path);
        if (rc == CL_OK)
                tmp_written = 0;
out:
        if (tmp_written)
                unlink(tmp);
        OPENSSL_free(der);
        BIO_free(data);
        return rc;
}
