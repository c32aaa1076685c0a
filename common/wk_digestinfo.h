/*
 * The DER DigestInfo prefixes of EMSA-PKCS1-v1_5 (RFC 8017 9.2, note 1)
 * and MGF1 (RFC 8017 B.2.1) of EMSA-PSS and OAEP: the one copy, for the
 * PKCS#11 module's and the CLI's RSA padding.
 */
#ifndef WK_DIGESTINFO_H
#define WK_DIGESTINFO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/*
 * the prefix for the digest of OpenSSL NID nid (NID_sha1, NID_sha224,
 * NID_sha256, NID_sha384, NID_sha512): *len its length; NULL and *len 0
 * for another digest
 */
const uint8_t *wk_digest_info(int nid, size_t *len);

/* MGF1 with md: mask ^= MGF1(seed), len bytes; 0, or -1 when OpenSSL
 * fails */
int wk_mgf1_xor(const EVP_MD *md, const uint8_t *seed, size_t seed_len,
    uint8_t *mask, size_t len);

#endif
