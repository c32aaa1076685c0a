/*
 * The DER DigestInfo prefixes of EMSA-PKCS1-v1_5 (RFC 8017 9.2, note 1):
 * the one copy, for the PKCS#11 module's and the CLI's RSA padding.
 */
#ifndef WK_DIGESTINFO_H
#define WK_DIGESTINFO_H

#include <stddef.h>
#include <stdint.h>

/*
 * the prefix for the digest of OpenSSL NID nid (NID_sha1, NID_sha224,
 * NID_sha256, NID_sha384, NID_sha512): *len its length; NULL and *len 0
 * for another digest
 */
const uint8_t *wk_digest_info(int nid, size_t *len);

#endif
