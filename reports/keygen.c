/*
 * A demo signing identity: an RSA 3072 key and a self-signed certificate
 * that verifiers can also take as its own trust anchor.
 *
 * The certificate has basicConstraints CA:TRUE and keyCertSign, so that
 * it can be its own trust anchor. `openssl cms -verify -CAfile cert.pem
 * -purpose any` (OpenSSL 3.0) accepts CA:FALSE as well, but pdfsig
 * (poppler 22.12) with the certificate trusted "CT,C,C" in an NSS
 * database reports "Certificate issuer is unknown." for CA:FALSE and
 * "Certificate is Trusted." for CA:TRUE. It has no extendedKeyUsage,
 * because pdfsig reports "Unknown issue with Certificate" for a
 * certificate whose only extended key usage is documentSigning.
 */
#include "cms_internal.h"
#include "fsutil.h"
#include "keygen.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYGEN_RSA_BITS 3072
#define KEYGEN_VALID_DAYS 365
/* Bytes of the random serial number; the top bit is cleared. */
#define KEYGEN_SERIAL_BYTES 16

/* Creates dir and its missing parents with mode 0700. */
static cl_err
make_dirs(const char *dir)
{
        char path[PATH_MAX];
        size_t i, len = strlen(dir);

        if (len == 0 || len >= sizeof(path))
                return cl_fail(CL_EINVAL, "invalid key folder '%s'", dir);
        memcpy(path, dir, len + 1);
        for (i = 1; i <= len; i++) {
                if (path[i] != '/' && path[i] != '\0')
                        continue;
                path[i] = '\0';
                if (mkdir(path, 0700) != 0 && errno != EEXIST)
                        return cl_fail_errno(CL_EIO, errno, "create folder %s",
                                             path);
                path[i] = i < len ? '/' : '\0';
        }
        return CL_OK;
}

/* Writes the bytes of the memory BIO mem to a new file at path, mode 0600. */
static cl_err
write_private(const char *path, BIO *mem)
{
        char *data = NULL;
        long len = BIO_get_mem_data(mem, &data);
        size_t left = len > 0 ? (size_t)len : 0;
        cl_err rc = CL_OK;
        int fd;

        /* A stale temporary file from an interrupted run is replaced. */
        if (unlink(path) != 0 && errno != ENOENT)
                return cl_fail_errno(CL_EIO, errno, "remove %s", path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0)
                return cl_fail_errno(CL_EIO, errno, "create %s", path);
        /* The umask may only clear bits, so fchmod sets the exact mode. */
        if (fchmod(fd, 0600) != 0) {
                rc = cl_fail_errno(CL_EIO, errno, "chmod %s", path);
                goto out;
        }
        while (left > 0) {
                ssize_t n = write(fd, data, left);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        rc = cl_fail_errno(CL_EIO, errno, "write %s", path);
                        goto out;
                }
                data += n;
                left -= (size_t)n;
        }
out:
        if (close(fd) != 0 && rc == CL_OK)
                rc = cl_fail_errno(CL_EIO, errno, "close %s", path);
        return rc;
}

static cl_err
add_ext(X509 *cert, int nid, const char *value)
{
        X509V3_CTX ctx;
        X509_EXTENSION *ext;
        int ok;

        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (ext == NULL)
                return cl_crypto_fail(CL_ECRYPTO, "certificate extension %s",
                                      OBJ_nid2sn(nid));
        ok = X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
        if (!ok)
                return cl_crypto_fail(CL_ECRYPTO, "certificate extension %s",
                                      OBJ_nid2sn(nid));
        return CL_OK;
}

static cl_err
set_serial(X509 *cert)
{
        unsigned char raw[KEYGEN_SERIAL_BYTES];
        ASN1_INTEGER *serial = NULL;
        BIGNUM *bn = NULL;
        cl_err rc = CL_OK;

        if (RAND_bytes(raw, sizeof(raw)) != 1) {
                rc = cl_crypto_fail(CL_ECRYPTO, "random serial number");
                goto out;
        }
        /* Positive, and never zero or shorter than 16 bytes. */
        raw[0] = (unsigned char)((raw[0] & 0x7F) | 0x40);
        bn = BN_bin2bn(raw, sizeof(raw), NULL);
        serial = bn == NULL ? NULL : BN_to_ASN1_INTEGER(bn, NULL);
        if (serial == NULL || X509_set_serialNumber(cert, serial) != 1)
                rc = cl_crypto_fail(CL_ECRYPTO, "set serial number");
out:
        ASN1_INTEGER_free(serial);
        BN_free(bn);
        return rc;
}

/* Builds the self-signed certificate of key. */
static cl_err
make_cert(EVP_PKEY *key, const char *common_name, X509 **out)
{
        const unsigned char *cn = (const unsigned char *)common_name;
        const unsigned char *org = (const unsigned char *)"carbonledger demo";
        X509_NAME *name;
        X509 *cert = NULL;
        cl_err rc = CL_OK;

        *out = NULL;
        cert = X509_new();
        if (cert == NULL || X509_set_version(cert, X509_VERSION_3) != 1) {
                rc = cl_crypto_fail(CL_ENOMEM, "new certificate");
                goto out;
        }
        rc = set_serial(cert);
        if (rc != CL_OK)
                goto out;
        if (X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
            X509_gmtime_adj(X509_getm_notAfter(cert),
                            (long)KEYGEN_VALID_DAYS * 86400) == NULL) {
                rc = cl_crypto_fail(CL_ECRYPTO, "set validity dates");
                goto out;
        }
        /* O first, so that the RFC 2253 form reads "CN=...,O=...". */
        name = X509_get_subject_name(cert);
        if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, org, -1, -1,
                                       0) != 1 ||
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1,
                                       0) != 1 ||
            X509_set_issuer_name(cert, name) != 1 ||
            X509_set_pubkey(cert, key) != 1) {
                rc = cl_crypto_fail(CL_ECRYPTO, "certificate subject CN '%s'",
                                    common_name);
                goto out;
        }
        rc = add_ext(cert, NID_basic_constraints, "critical,CA:TRUE");
        if (rc == CL_OK)
                rc = add_ext(cert, NID_key_usage,
                             "critical,digitalSignature,nonRepudiation,"
                             "keyCertSign");
        if (rc == CL_OK)
                rc = add_ext(cert, NID_subject_key_identifier, "hash");
        if (rc == CL_OK)
                rc =
                    add_ext(cert, NID_authority_key_identifier, "keyid:always");
        if (rc != CL_OK)
                goto out;
        if (X509_sign(cert, key, EVP_sha256()) <= 0) {
                rc = cl_crypto_fail(CL_ECRYPTO, "sign certificate");
                goto out;
        }
        *out = cert;
        cert = NULL;
out:
        X509_free(cert);
        return rc;
}

cl_err
cl_keygen(const char *dir, const char *common_name)
{
        char key_path[PATH_MAX], cert_path[PATH_MAX];
        char key_tmp[PATH_MAX], cert_tmp[PATH_MAX];
        int key_written = 0, cert_written = 0;
        BIO *key_pem = NULL, *cert_pem = NULL;
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        struct stat st;
        char *data;
        long len;
        cl_err rc;

        if (common_name == NULL || common_name[0] == '\0') {
                rc = cl_fail(CL_EINVAL, "keygen: empty common name");
                goto out;
        }
        rc = cl_path_join(key_path, sizeof(key_path), dir, "key.pem");
        if (rc == CL_OK)
                rc =
                    cl_path_join(cert_path, sizeof(cert_path), dir, "cert.pem");
        if (rc == CL_OK)
                rc = cl_tmp_path(key_path, key_tmp, sizeof(key_tmp));
        if (rc == CL_OK)
                rc = cl_tmp_path(cert_path, cert_tmp, sizeof(cert_tmp));
        if (rc != CL_OK)
                goto out;
        if (lstat(key_path, &st) == 0) {
                rc = cl_fail(CL_EINVAL,
                             "%s exists; remove it to generate a new key",
                             key_path);
                goto out;
        }
        if (errno != ENOENT) {
                rc = cl_fail_errno(CL_EIO, errno, "stat %s", key_path);
                goto out;
        }
        rc = make_dirs(dir);
        if (rc != CL_OK)
                goto out;

        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)KEYGEN_RSA_BITS);
        if (key == NULL) {
                rc = cl_crypto_fail(CL_ECRYPTO, "generate RSA key");
                goto out;
        }
        rc = make_cert(key, common_name, &cert);
        if (rc != CL_OK)
                goto out;
        /* Secure memory is cleared when freed. */
        key_pem = BIO_new(BIO_s_secmem());
        cert_pem = BIO_new(BIO_s_mem());
        if (key_pem == NULL || cert_pem == NULL ||
            PEM_write_bio_PrivateKey(key_pem, key, NULL, NULL, 0, NULL, NULL) !=
                1 ||
            PEM_write_bio_X509(cert_pem, cert) != 1) {
                rc = cl_crypto_fail(CL_ECRYPTO, "encode key and certificate");
                goto out;
        }

        /* The certificate goes first: if the key's rename fails, no
         * key.pem exists and a later run may start again. */
        cert_written = 1;
        len = BIO_get_mem_data(cert_pem, &data);
        rc = cl_write_file(cert_tmp, data, len > 0 ? (size_t)len : 0);
        if (rc != CL_OK)
                goto out;
        key_written = 1;
        rc = write_private(key_tmp, key_pem);
        if (rc != CL_OK)
                goto out;
        rc = cl_commit_file(cert_tmp, cert_path);
        if (rc != CL_OK)
                goto out;
        cert_written = 0;
        rc = cl_commit_file(key_tmp, key_path);
        if (rc != CL_OK)
                goto out;
        key_written = 0;
out:
        if (cert_written)
                unlink(cert_tmp);
        if (key_written)
                unlink(key_tmp);
        BIO_free(key_pem);
        BIO_free(cert_pem);
        X509_free(cert);
        EVP_PKEY_free(key);
        return rc;
}
