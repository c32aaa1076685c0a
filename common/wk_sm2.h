/*
 * SM2 and SM3 for the card and the host, on OpenSSL 3 (no cryptography of
 * our own): raw key and signature forms of GM/T 0016, the Z value of
 * GM/T 0009 (5.4.1 of GM/T 0003.2), the DER forms of GM/T 0009, and the
 * key agreement of GM/T 0003.3 (6.1) composed from OpenSSL's EC point
 * arithmetic, SM3 and its X9.63 KDF (the SM2 KDF is X9.63 with SM3).
 *
 * Raw forms: a public key is x || y (64 bytes), a private key d (32), a
 * signature r || s (64), a ciphertext C1 || C3 || C2 (x || y || SM3 hash ||
 * the message xored with the key stream), the order GM/T 0009 uses.
 */
#ifndef WK_SM2_H
#define WK_SM2_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "wk_buf.h"

#define WK_SM2_PUB_LEN 64
#define WK_SM2_PRIV_LEN 32
#define WK_SM2_SIG_LEN 64
#define WK_SM2_HASH_LEN 32
#define WK_SM2_CIPHER_OVERHEAD 96	/* C1 (x || y) and C3 */
/* GM/T 0009 6.1.4: the user id when none is agreed */
#define WK_SM2_DEFAULT_ID "1234567812345678"
#define WK_SM2_DEFAULT_ID_LEN 16
/* ENTL is 16 bits of bit length; we take far less */
#define WK_SM2_ID_MAX 256

enum {
	WK_SM2_OK = 0,
	WK_SM2_ERROR = -1,	/* the library failed */
	WK_SM2_BAD_INPUT = -2,	/* a point off the curve, a length out of range */
	WK_SM2_BAD_SIG = -3,	/* the signature does not verify */
	WK_SM2_DECRYPT = -4,	/* the ciphertext does not decrypt (C3 mismatch) */
};

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) */
int wk_sm2_z(const uint8_t pub[WK_SM2_PUB_LEN], const uint8_t *id,
    size_t id_len, uint8_t z[WK_SM2_HASH_LEN]);
/* e = SM3(Z || M), what SKF_ECCSignData signs */
int wk_sm2_e(const uint8_t pub[WK_SM2_PUB_LEN], const uint8_t *id,
    size_t id_len, const uint8_t *msg, size_t len, uint8_t e[WK_SM2_HASH_LEN]);

/* keys: each returns NULL on failure (off-curve point, d out of [1, n-2]) */
EVP_PKEY *wk_sm2_key_pub(const uint8_t pub[WK_SM2_PUB_LEN]);
EVP_PKEY *wk_sm2_key_priv(const uint8_t d[WK_SM2_PRIV_LEN]);
EVP_PKEY *wk_sm2_generate(void);
/* pub and d may be NULL; d needs a private key */
int wk_sm2_key_export(const EVP_PKEY *k, uint8_t pub[WK_SM2_PUB_LEN],
    uint8_t d[WK_SM2_PRIV_LEN]);

/* signs / verifies the 32-byte e */
int wk_sm2_sign(EVP_PKEY *k, const uint8_t e[WK_SM2_HASH_LEN],
    uint8_t sig[WK_SM2_SIG_LEN]);
int wk_sm2_verify(EVP_PKEY *k, const uint8_t e[WK_SM2_HASH_LEN],
    const uint8_t sig[WK_SM2_SIG_LEN]);

/* raw ciphertext C1 || C3 || C2 appended to out; m of 1..max bytes */
int wk_sm2_encrypt(EVP_PKEY *k, const uint8_t *m, size_t n, wk_buf *out);
int wk_sm2_decrypt(EVP_PKEY *k, const uint8_t *c, size_t n, wk_buf *out);

/* DER forms of GM/T 0009 (SEQUENCE { r, s } and SEQUENCE { x, y, C3, C2 }) */
int wk_sm2_sig_to_der(const uint8_t sig[WK_SM2_SIG_LEN], wk_buf *der);
int wk_sm2_sig_from_der(const uint8_t *der, size_t len,
    uint8_t sig[WK_SM2_SIG_LEN]);
int wk_sm2_cipher_to_der(const uint8_t *raw, size_t len, wk_buf *der);
int wk_sm2_cipher_from_der(const uint8_t *der, size_t len, wk_buf *raw);

/*
 * GM/T 0003.3 6.1 key agreement, one side, without the optional S1/S2
 * confirmation (SKF has none): d and its public key are this side's static
 * pair, r and rpub its temporary pair, ppub and prpub the peer's. za is the
 * sponsor's Z, zb the responder's, whichever side this is. klen bytes of key.
 */
int wk_sm2_kex(const uint8_t d[WK_SM2_PRIV_LEN],
    const uint8_t r[WK_SM2_PRIV_LEN], const uint8_t rpub[WK_SM2_PUB_LEN],
    const uint8_t ppub[WK_SM2_PUB_LEN], const uint8_t prpub[WK_SM2_PUB_LEN],
    const uint8_t za[WK_SM2_HASH_LEN], const uint8_t zb[WK_SM2_HASH_LEN],
    uint8_t *key, size_t klen);

#endif
