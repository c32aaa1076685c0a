/* internals of the PIV client (wk_piv*.c), visible to its unit tests */
#ifndef WK_PIV_INTERNAL_H
#define WK_PIV_INTERNAL_H

#include "walletkey.h"
#include "wk_buf.h"

struct wk_piv {
	wk_card *card;
	uint16_t sw;
};

/* one command to the PIV application: sw kept in piv->sw and mapped with
 * wk_rc_from_sw; resp may be NULL (then no data is expected) */
int wk_piv_cmd(wk_piv *piv, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc, uint8_t *resp, size_t *resp_len);

/* byte length of an ECC field or RSA modulus for alg, 0 if neither */
size_t wk_piv_alg_bytes(uint8_t alg);

/* public key content (RSA: 81 n 82 e; EC/25519: 86 point), the value of
 * 7F49 or of metadata tag 04, as DER SPKI. WK_ERR_CARD_MALFORMED when the
 * elements are missing, duplicated or do not fit alg. */
int wk_piv_pubkey_to_spki(uint8_t alg, const uint8_t *p, size_t len,
    uint8_t *spki, size_t *spki_len);
/* the whole GENERATE response (7F 49 L ...) as DER SPKI */
int wk_piv_parse_generate(uint8_t alg, const uint8_t *resp, size_t len,
    uint8_t *spki, size_t *spki_len);
/* GET METADATA response */
int wk_piv_parse_metadata(const uint8_t *resp, size_t len,
    wk_piv_metadata *md);
/* 7C response holding exactly one element of tag; *val aliases resp */
int wk_piv_parse_auth(const uint8_t *resp, size_t len, uint32_t tag,
    const uint8_t **val, size_t *val_len);
/* GET DATA response: 53 (7E for discovery) whose length consumes it all */
int wk_piv_parse_object(uint32_t tag, const uint8_t *resp, size_t len,
    const uint8_t **val, size_t *val_len);
/* certificate object content (70 cert, 71 info, FE lrc) to the DER cert;
 * compressed certificates are WK_ERR_NOT_SUPPORTED */
int wk_piv_parse_cert_object(const uint8_t *obj, size_t len,
    const uint8_t **der, size_t *der_len);
/* IMPORT ASYMMETRIC KEY data field */
int wk_piv_build_import(uint8_t alg, const wk_piv_key_parts *parts,
    uint8_t pin_policy, uint8_t touch_policy, wk_buf *out);
/* a PIN padded with FF to 8 bytes; WK_ERR_ARG when empty or longer than 8 */
int wk_piv_pad_pin(const uint8_t *pin, size_t len, uint8_t out[8]);

#endif
