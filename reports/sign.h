/*
 * Signing reports with an RSA or EC key and its X.509 certificate.
 *
 * PDF: a PAdES baseline B-B signature (SubFilter ETSI.CAdES.detached,
 * SHA-256, signed attributes content-type, message-digest and ESS
 * signing-certificate-v2, no signing-time attribute) appended to the file
 * as an incremental update, covering the whole file.
 * XLSX and other files: a detached CMS SignedData in DER beside the file,
 * which `openssl cms -verify -binary -inform DER -content FILE` accepts.
 */
#ifndef CL_SIGN_H
#define CL_SIGN_H

#include "err.h"

#include <stdint.h>

struct cl_signer;

/*
 * Loads a PEM private key and a PEM certificate file (the signer's
 * certificate first, then any chain certificates, which are included in
 * every signature). Fails with CL_EIO when a file is missing or
 * unreadable, CL_ECRYPTO when it does not parse or the key does not match
 * the certificate; the message names the file. *out is freed with
 * cl_signer_free().
 */
cl_err cl_signer_load(const char *key_path, const char *cert_path,
                      struct cl_signer **out) CL_MUST_CHECK;

void cl_signer_free(struct cl_signer *signer);

/*
 * Returns the signer certificate's subject as one line, for logs and
 * reports. Owned by signer.
 */
const char *cl_signer_subject(const struct cl_signer *signer);

/* Text of the PDF signature dictionary. UTF-8; NULL fields are left out. */
struct cl_pdf_sig_info {
        const char *name;     /* /Name */
        const char *reason;   /* /Reason */
        const char *location; /* /Location */
        int64_t signing_ns;   /* /M, claimed signing time, ns since epoch */
};

/*
 * Reads the unsigned PDF in_path (as written by libharu: one classic xref
 * table, no object streams), appends a signature field on its first page
 * and writes the signed file to out_path. in_path and out_path must
 * differ. Fails with CL_EFORMAT when the PDF cannot be parsed, CL_ECRYPTO
 * when signing fails, CL_EIO on file errors.
 */
cl_err cl_sign_pdf(const struct cl_signer *signer, const char *in_path,
                   const char *out_path,
                   const struct cl_pdf_sig_info *info) CL_MUST_CHECK;

/*
 * Writes a detached CMS signature (DER) over the bytes of content_path to
 * p7s_path.
 */
cl_err cl_sign_detached(const struct cl_signer *signer,
                        const char *content_path,
                        const char *p7s_path) CL_MUST_CHECK;

#endif
