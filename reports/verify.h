/*
 * Verifying the signatures that sign.h writes.
 */
#ifndef CL_VERIFY_H
#define CL_VERIFY_H

#include "err.h"

struct cl_verify_result {
        int valid;         /* 1: digest and signature verify */
        int whole_file;    /* PDF: the signed ranges cover the whole file */
        int chain_checked; /* 1 when a CA was given */
        int trusted;       /* 1: chain and validity dates verify against CA */
        char signer[256];  /* signer certificate subject */
        char detail[512];  /* why it is invalid or untrusted, else "" */
};

/*
 * Checks the last signature of the PDF at path: the ByteRange covers the
 * whole file but the /Contents hex string, the digest matches, and the CMS
 * signature verifies against the certificate it carries. With ca_path
 * (PEM), also validates the certificate chain and validity dates against
 * it. Returns CL_OK when the check ran, with the verdict in *res; CL_EIO
 * when a file cannot be read; CL_EFORMAT when the PDF has no signature
 * (res->detail says so, and res->valid is 0).
 */
cl_err cl_verify_pdf(const char *path, const char *ca_path,
                     struct cl_verify_result *res) CL_MUST_CHECK;

/*
 * Checks the detached CMS p7s_path (DER) over content_path, as above.
 */
cl_err cl_verify_detached(const char *content_path, const char *p7s_path,
                          const char *ca_path,
                          struct cl_verify_result *res) CL_MUST_CHECK;

#endif
