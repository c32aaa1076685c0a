/* public keys on P-256 from the uncompressed points the formats carry */
#ifndef WK_EC_H
#define WK_EC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define WK_EC_P256_POINT_LEN 65	/* 04 || X || Y */

/* the key of the uncompressed P-256 point pt (len bytes), checked by
 * EVP_PKEY_public_check (on the curve, not the point at infinity); NULL
 * for anything else. The caller frees it. */
EVP_PKEY *wk_ec_p256_point(const uint8_t *pt, size_t len);

#endif
