/*
 * libwalletkey: the PIV client (SP 800-73-4 card edge and Yubico extensions).
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_PIV_H
#define WALLETKEY_PIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== PIV client (SP 800-73-4 card edge + Yubico extensions) ============
 * owner: branch pivhost (middleware/wk_piv*.c); see docs/piv.md.
 * A wk_piv is a session with the PIV application on one wk_card: it selects
 * the application when opened and wraps each multi-APDU operation in a card
 * transaction. Status words are mapped through wk_rc_from_sw; the last one
 * is kept for callers that need it (wk_piv_last_sw). PINs, PUKs and keys are
 * (ptr, len) pairs, copied only into buffers that are wiped.
 */

/* algorithm identifiers, SP 800-78-4 table 6-2 and Yubico's additions */
enum {
	WK_PIV_ALG_3DES = 0x03,
	WK_PIV_ALG_AES128 = 0x08,
	WK_PIV_ALG_AES192 = 0x0A,
	WK_PIV_ALG_AES256 = 0x0C,
	WK_PIV_ALG_RSA1024 = 0x06,
	WK_PIV_ALG_RSA2048 = 0x07,
	WK_PIV_ALG_RSA3072 = 0x05,
	WK_PIV_ALG_RSA4096 = 0x16,
	WK_PIV_ALG_ECCP256 = 0x11,
	WK_PIV_ALG_ECCP384 = 0x14,
	WK_PIV_ALG_ED25519 = 0xE0,
	WK_PIV_ALG_X25519 = 0xE1,
};

/* key references; 82..95 are the retired key-management slots */
enum {
	WK_PIV_SLOT_AUTH = 0x9A,
	WK_PIV_SLOT_MGMT = 0x9B,
	WK_PIV_SLOT_SIGN = 0x9C,
	WK_PIV_SLOT_KEYMGMT = 0x9D,
	WK_PIV_SLOT_CARDAUTH = 0x9E,
	WK_PIV_SLOT_RETIRED1 = 0x82,
	WK_PIV_SLOT_RETIRED20 = 0x95,
	WK_PIV_SLOT_ATTEST = 0xF9,
	WK_PIV_REF_PIN = 0x80,
	WK_PIV_REF_PUK = 0x81,
};

/* policies as GENERATE/IMPORT take them and GET METADATA reports them */
enum {
	WK_PIV_PIN_POLICY_DEFAULT = 0,
	WK_PIV_PIN_POLICY_NEVER = 1,
	WK_PIV_PIN_POLICY_ONCE = 2,
	WK_PIV_PIN_POLICY_ALWAYS = 3,
	WK_PIV_TOUCH_POLICY_DEFAULT = 0,
	WK_PIV_TOUCH_POLICY_NEVER = 1,
	WK_PIV_TOUCH_POLICY_ALWAYS = 2,
	WK_PIV_TOUCH_POLICY_CACHED = 3,
	WK_PIV_ORIGIN_GENERATED = 1,
	WK_PIV_ORIGIN_IMPORTED = 2,
};

/* data object tags (GET/PUT DATA, 5C) */
#define WK_PIV_OBJ_DISCOVERY 0x7Eu
#define WK_PIV_OBJ_CCC 0x5FC107u
#define WK_PIV_OBJ_CHUID 0x5FC102u
#define WK_PIV_OBJ_KEY_HISTORY 0x5FC10Cu
#define WK_PIV_OBJ_PRINTED 0x5FC109u
#define WK_PIV_OBJ_SECURITY 0x5FC106u
#define WK_PIV_OBJ_ADMIN_DATA 0x5FFF00u
#define WK_PIV_OBJ_ATTEST_CERT 0x5FFF01u

/* sizes callers can use for buffers */
#define WK_PIV_OBJ_MAX 16384	/* largest data object this client reads */
#define WK_PIV_SPKI_MAX 800	/* DER SubjectPublicKeyInfo, RSA-4096 included */
#define WK_PIV_SIG_MAX 512	/* RSA-4096 result; DER ECDSA P-384 is 104 */
#define WK_PIV_PIN_MAX 8
#define WK_PIV_MGMT_KEY_MAX 32
/* factory management key (3DES), PIN and PUK, piv.md 3.3 */
#define WK_PIV_DEFAULT_MGMT_KEY \
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, \
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, \
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08

typedef struct wk_piv wk_piv;

/* selects the PIV application on card; the wk_piv borrows card */
int wk_piv_open(wk_card *card, wk_piv **out);
void wk_piv_free(wk_piv **piv);
wk_card *wk_piv_card(const wk_piv *piv);
/* selects again (e.g. after another applet was used on the same card) */
int wk_piv_select(wk_piv *piv);
/* status word of the last command (0 when none reached the card) */
uint16_t wk_piv_last_sw(const wk_piv *piv);

/* Yubico GET VERSION (FD) and GET SERIAL (F8) */
int wk_piv_get_version(wk_piv *piv, uint8_t version[3]);
int wk_piv_get_serial(wk_piv *piv, uint32_t *serial);
/* GENERAL AUTHENTICATE challenge form (piv.md 2.7 c), repeated until len
 * bytes of card randomness are in out */
int wk_piv_get_challenge(wk_piv *piv, uint8_t *out, size_t len);

/* data objects: the content inside the 53 wrapper (7E: the whole
 * discovery template). *len is out's capacity on entry (WK_ERR_ARG when
 * too small, and then *len holds the size needed). WK_ERR_NOT_FOUND when
 * the object is absent; put with len 0 deletes. put needs the management key. */
int wk_piv_get_data(wk_piv *piv, uint32_t tag, uint8_t *out, size_t *len);
int wk_piv_put_data(wk_piv *piv, uint32_t tag, const uint8_t *data,
    size_t len);

/* certificate object of a key slot (9A->5FC105, 9C->5FC10A, 9D->5FC10B,
 * 9E->5FC101, 82..95->5FC10D.., F9->5FFF01); WK_ERR_ARG for other slots */
int wk_piv_cert_object(uint8_t slot, uint32_t *tag);
/* DER certificate of a slot (70/71/FE layout, uncompressed); *len as above */
int wk_piv_read_cert(wk_piv *piv, uint8_t slot, uint8_t *der, size_t *len);
int wk_piv_write_cert(wk_piv *piv, uint8_t slot, const uint8_t *der,
    size_t len);
int wk_piv_delete_cert(wk_piv *piv, uint8_t slot);

/* PIN and PUK. tries_left, when not NULL, is set on WK_ERR_WRONG_PIN (and
 * to 0 on WK_ERR_PIN_BLOCKED). PINs are 1..8 bytes, padded with FF here. */
int wk_piv_verify_pin(wk_piv *piv, const uint8_t *pin, size_t len,
    unsigned *tries_left);
/* VERIFY status query: verified now, else the tries left (0 = blocked) */
int wk_piv_pin_status(wk_piv *piv, bool *verified, unsigned *tries_left);
/* VERIFY P1=FF: forget the verified PIN */
int wk_piv_logout(wk_piv *piv);
/* ref is WK_PIV_REF_PIN or WK_PIV_REF_PUK */
int wk_piv_change_reference(wk_piv *piv, uint8_t ref, const uint8_t *old,
    size_t old_len, const uint8_t *new_value, size_t new_len,
    unsigned *tries_left);
/* RESET RETRY COUNTER: tries_left is the PUK's */
int wk_piv_unblock_pin(wk_piv *piv, const uint8_t *puk, size_t puk_len,
    const uint8_t *new_pin, size_t new_len, unsigned *tries_left);
/* Yubico SET PIN RETRIES (FA): needs the management key and the PIN, and
 * resets PIN and PUK to their defaults */
int wk_piv_set_pin_retries(wk_piv *piv, uint8_t pin_tries, uint8_t puk_tries);

/* management key (9B). alg 0 asks the card (GET METADATA 9B) and falls back
 * to 3DES. mutual: the card proves it knows the key too (piv.md 2.7 a),
 * else external authentication (2.7 b). WK_ERR_AUTH_FAILED on a wrong key. */
int wk_piv_authenticate(wk_piv *piv, uint8_t alg, const uint8_t *key,
    size_t len, bool mutual);
/* Yubico SET MANAGEMENT KEY (FF); needs authentication first */
int wk_piv_set_mgmt_key(wk_piv *piv, uint8_t alg, const uint8_t *key,
    size_t len, bool touch);
/* 24 for 3DES and AES192, 16 for AES128, 32 for AES256, 0 otherwise */
size_t wk_piv_mgmt_key_len(uint8_t alg);

/* GENERATE ASYMMETRIC KEY PAIR; the public key as DER SubjectPublicKeyInfo
 * (*spki_len: capacity in, length out; WK_PIV_SPKI_MAX always suffices).
 * Needs the management key. */
int wk_piv_generate(wk_piv *piv, uint8_t slot, uint8_t alg,
    uint8_t pin_policy, uint8_t touch_policy, uint8_t *spki,
    size_t *spki_len);

/* IMPORT ASYMMETRIC KEY (FE) from a DER private key (PKCS#8, or
 * traditional RSA/EC); the algorithm follows from the key. *alg_out, when
 * not NULL, receives it. Needs the management key. */
int wk_piv_import_key(wk_piv *piv, uint8_t slot, const uint8_t *der,
    size_t len, uint8_t pin_policy, uint8_t touch_policy, uint8_t *alg_out);
/* the same from raw parts, for PKCS#11 C_CreateObject: RSA p, q, dP, dQ,
 * qInv (big-endian, any length up to half the modulus); EC: d; Ed25519:
 * the 32-byte seed; X25519: the 32-byte private scalar */
typedef struct wk_piv_key_parts {
	const uint8_t *part[5];
	size_t part_len[5];
} wk_piv_key_parts;
int wk_piv_import_parts(wk_piv *piv, uint8_t slot, uint8_t alg,
    const wk_piv_key_parts *parts, uint8_t pin_policy, uint8_t touch_policy);

/*
 * GENERAL AUTHENTICATE with a private key; the PIN must be verified as the
 * slot's policy asks. *out_len: capacity in, length out.
 *   RSA: in is exactly the modulus length (padding already applied on the
 *        host); out is the raw result, modulus length.
 *   ECDSA: in is the hash (truncated to the field size here if longer);
 *        out is DER SEQUENCE { r, s } as the card returns it.
 *   Ed25519: in is the message; out the 64-byte signature.
 * wk_piv_decrypt is the RSA raw private operation under its own name.
 */
int wk_piv_sign(wk_piv *piv, uint8_t slot, uint8_t alg, const uint8_t *in,
    size_t in_len, uint8_t *out, size_t *out_len);
int wk_piv_decrypt(wk_piv *piv, uint8_t slot, uint8_t alg,
    const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);
/* ECDH (P-256/384: peer = 04||X||Y, out = X) and X25519 (32 bytes each) */
int wk_piv_derive(wk_piv *piv, uint8_t slot, uint8_t alg,
    const uint8_t *peer, size_t peer_len, uint8_t *out, size_t *out_len);
/* DER ECDSA-Sig-Value to raw r||s, each left-padded to field_len bytes
 * (PKCS#11 CKM_ECDSA output); out holds 2 * field_len bytes */
int wk_piv_ecdsa_der_to_raw(const uint8_t *der, size_t der_len,
    size_t field_len, uint8_t *out);

/* Yubico GET METADATA (F7) of a key slot, 9B, the PIN (80) or the PUK (81);
 * a has_* flag is false when the card did not send that element */
typedef struct wk_piv_metadata {
	uint8_t alg;			/* 01 */
	bool has_policy;		/* 02 */
	uint8_t pin_policy;
	uint8_t touch_policy;
	uint8_t origin;			/* 03; 0 when not sent */
	bool has_default;		/* 05 (80, 81, 9B) */
	bool is_default;
	bool has_retries;		/* 06 (80, 81) */
	uint8_t retries_total;
	uint8_t retries_left;
	size_t spki_len;		/* 04, as DER SPKI; 0 when not sent */
	uint8_t spki[WK_PIV_SPKI_MAX];
} wk_piv_metadata;
int wk_piv_get_metadata(wk_piv *piv, uint8_t slot, wk_piv_metadata *md);

/* Yubico ATTEST (F9): DER X.509 certificate for the slot's key, signed by
 * the attestation key F9; *len: capacity in, length out */
int wk_piv_attest(wk_piv *piv, uint8_t slot, uint8_t *der, size_t *len);

/* Yubico RESET (FB): only when PIN and PUK are blocked (WK_ERR_CONDITIONS
 * otherwise); wipes keys and objects, restores the factory PIN, PUK and 9B */
int wk_piv_reset(wk_piv *piv);

/* names as the CLI and yubico-piv-tool write them: "eccp256", "rsa2048",
 * "ed25519", "x25519", "3des", "aes128", ...; slots "9a", "9c", "82".
 * The *_from_name functions return WK_ERR_ARG for an unknown name. */
const char *wk_piv_alg_name(uint8_t alg);
int wk_piv_alg_from_name(const char *name, uint8_t *alg);
int wk_piv_slot_from_name(const char *name, uint8_t *slot);
/* key size in bits (RSA modulus, EC field), 0 for symmetric/unknown */
unsigned wk_piv_alg_bits(uint8_t alg);
bool wk_piv_alg_is_rsa(uint8_t alg);
bool wk_piv_alg_is_ec(uint8_t alg);	/* P-256, P-384 */

#ifdef __cplusplus
}
#endif

#endif
