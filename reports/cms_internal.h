/*
 * Internals shared by sign.c, pades.c, verify.c and keygen.c: the loaded
 * signer, the CMS SignedData builder and OpenSSL error text. Not part of
 * the reports library's public interface.
 */
#ifndef CL_CMS_INTERNAL_H
#define CL_CMS_INTERNAL_H

#include "err.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stddef.h>

struct cl_signer {
        EVP_PKEY *key;
        X509 *cert;
        STACK_OF(X509) * chain; /* certificates after the first, maybe empty */
        char subject[256];      /* RFC 2253 one-line subject, maybe cut */
};

/*
 * Records a message like cl_fail and appends ": " and the reason of the
 * oldest error in OpenSSL's error queue, then empties the queue. Returns
 * code.
 */
cl_err cl_crypto_fail(cl_err code, const char *fmt, ...) CL_PRINTF(2, 3);

/*
 * Builds a detached CMS SignedData over everything readable from data:
 * SHA-256, the signer's certificate and chain, signed attributes
 * content-type, message-digest and ESS signing-certificate-v2, plus
 * signing-time when with_signing_time is 1. On success *der (free with
 * OPENSSL_free) contains *der_len bytes of DER. what names the signed file
 * in error messages. Fails with CL_ECRYPTO.
 */
cl_err cl_cms_sign(const struct cl_signer *signer, BIO *data,
                   int with_signing_time, unsigned char **der, size_t *der_len,
                   const char *what) CL_MUST_CHECK;

/*
 * Returns an upper bound in bytes for the DER of a cl_cms_sign() result
 * of this signer: the certificates, the signature and a fixed allowance
 * for the attributes and the SignedData structure.
 */
size_t cl_cms_max_size(const struct cl_signer *signer);

/*
 * Writes the RFC 2253 one-line form of name into buf (cut to size - 1
 * bytes). Returns buf.
 */
const char *cl_name_oneline(const X509_NAME *name, char *buf, size_t size);

#endif
