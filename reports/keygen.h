/*
 * A key and self-signed certificate for trying carbonledger out.
 */
#ifndef CL_KEYGEN_H
#define CL_KEYGEN_H

#include "err.h"

/*
 * Writes dir/key.pem (RSA 3072, PKCS#8 PEM, mode 0600) and dir/cert.pem
 * (self-signed X.509 v3, SHA-256, valid for one year, subject CN
 * common_name, key usage digitalSignature and nonRepudiation), each under
 * a temporary name first. Creates dir when missing. Refuses to overwrite
 * an existing key.pem (CL_EINVAL).
 */
cl_err cl_keygen(const char *dir, const char *common_name) CL_MUST_CHECK;

#endif
