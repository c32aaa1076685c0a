/*
 * the PIV applet's internals (SP 800-73-4 card edge plus the Yubico
 * extensions, specs/piv.md); one module per command group, all sharing
 * this state and the helpers below.
 *
 * Store layout, applet "piv":
 *   pin, puk               Argon2id strings (crypto_pwhash_str)
 *   pin.left, pin.total,   try counters; pin.default/puk.default = still
 *   puk.left, puk.total    the factory value (GET METADATA tag 05)
 *   mgm (sealed)           9B: alg byte + key; mgm.default likewise
 *   key.<ref> (sealed)     alg, PIN policy, touch policy, origin + PKCS#8 DER
 *   obj.<tag>              data object content (inside 53); the
 *                          PIN-protected ones (5FC103/08/09/21) sealed
 * Decisions: touch policies "always"/"cached" are refused (6A80), not
 * faked; the attestation key F9 signs attestations only; GET VERSION says
 * 5.7.1 because MOVE/DELETE, Ed25519/X25519 and RSA-3072/4096 are here.
 */
#ifndef PIV_INT_H
#define PIV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "vc_applet.h"
#include "vc_store.h"
#include "wk_apdu.h"
#include "wk_buf.h"

#define PIV_APPLET "piv"

/* GET VERSION (piv.md 4): the Yubico firmware whose features we implement */
#define PIV_VERSION_MAJOR 5
#define PIV_VERSION_MINOR 7
#define PIV_VERSION_PATCH 1

/* largest object content (inside 53) we store; ykpiv reads up to 3063 */
#define PIV_OBJ_MAX 4096u

/* algorithm identifiers, piv.md 2.7 */
enum {
	PIV_ALG_3DES_DEFAULT = 0x00,
	PIV_ALG_3DES_ALT = 0x01,
	PIV_ALG_3DES = 0x03,
	PIV_ALG_RSA3072 = 0x05,
	PIV_ALG_RSA1024 = 0x06,
	PIV_ALG_RSA2048 = 0x07,
	PIV_ALG_AES128 = 0x08,
	PIV_ALG_AES192 = 0x0A,
	PIV_ALG_AES256 = 0x0C,
	PIV_ALG_ECCP256 = 0x11,
	PIV_ALG_ECCP384 = 0x14,
	PIV_ALG_RSA4096 = 0x16,
	PIV_ALG_ED25519 = 0xE0,
	PIV_ALG_X25519 = 0xE1,
};

/* key references */
enum {
	PIV_REF_PIN = 0x80,
	PIV_REF_PUK = 0x81,
	PIV_REF_MGM = 0x9B,
	PIV_REF_SIGN = 0x9C,	/* digital signature */
	PIV_REF_KEYMGMT = 0x9D,	/* key management */
	PIV_REF_ATTEST = 0xF9,
};

/* Yubico PIN policy values (AA) */
enum {
	PIV_PINPOL_DEFAULT = 0,
	PIV_PINPOL_NEVER = 1,
	PIV_PINPOL_ONCE = 2,
	PIV_PINPOL_ALWAYS = 3,
};

/* touch policy (AB): a virtual card has no button; only 0/1 accepted */
enum {
	PIV_TOUCH_DEFAULT = 0,
	PIV_TOUCH_NEVER = 1,
};

enum {
	PIV_ORIGIN_GENERATED = 1,
	PIV_ORIGIN_IMPORTED = 2,
};

typedef struct piv_cache piv_cache;

/* in-memory security state; dropped by deselect (reset, other AID) */
typedef struct piv_state {
	bool pin_verified;
	bool pin_always;	/* one 9C-style operation allowed (piv.md 2.6) */
	bool mgm_auth;
	uint8_t witness[16];	/* 9B mutual authentication, step 1 */
	size_t witness_len;
	uint8_t challenge[16];	/* 9B external authentication, step 1 */
	size_t challenge_len;
	/* parsed slot keys (piv_cache.c): not security state, so they
	 * survive piv_state_clear; freed at close */
	piv_cache *keys;
} piv_state;

/* a private key as loaded from the store */
typedef struct piv_key {
	uint8_t alg;
	uint8_t pin_policy;	/* as stored: 0 means the slot's default */
	uint8_t touch_policy;
	uint8_t origin;
	EVP_PKEY *pkey;
} piv_key;

/* the nonces a signing ECDSA key keeps made ahead (piv_ecdsa.c): a burst
 * of signatures whose commands come faster than the card makes one finds
 * nonces still made */
#define PIV_ECDSA_NONCES 4

/* a slot key ready for GENERAL AUTHENTICATE: the operation contexts are
 * set up at first use and kept */
typedef struct piv_cached {
	piv_key k;
	EVP_PKEY_CTX *op;	/* ECDSA sign or RSA raw decrypt */
	EVP_MD_CTX *md;		/* EdDSA, initialised, copied for each signature */
	/* Ed25519: libsodium's secret key (seed | public key), sodium_malloc'd,
	 * read-only; freed (wiped) with the entry. ed_tried: made once */
	uint8_t *ed_sk;
	bool ed_tried;
	BIGNUM *rsa_n;
	/* ECDSA (piv_ecdsa.c): OpenSSL's EC_KEY of k.pkey, and the nonces
	 * made while the card was idle (k^-1 and r; n_nonces of them, at most
	 * PIV_ECDSA_NONCES), once the key has signed */
	EC_KEY *ec;
	BIGNUM *kinv[PIV_ECDSA_NONCES], *r[PIV_ECDSA_NONCES];
	size_t n_nonces;
	bool signs;
} piv_cached;

/* piv.c */
void piv_state_clear(piv_state *s);

/* piv_util.c */
bool piv_slot_is_asym(uint8_t ref);
uint8_t piv_slot_default_policy(uint8_t ref);
/* object tag that holds a slot's certificate; 0 if none */
uint32_t piv_slot_cert_tag(uint8_t ref);
void piv_store_key_name(char *out, size_t cap, const char *prefix, uint32_t id);
size_t piv_alg_block(uint8_t alg);	/* symmetric block size or 0 */
size_t piv_alg_keylen(uint8_t alg);	/* symmetric key length or 0 */
bool piv_alg_is_asym(uint8_t alg);

/* piv_obj.c: GET DATA, PUT DATA and the factory objects */
uint16_t piv_get_data(piv_state *s, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp);
uint16_t piv_put_data(piv_state *s, vc_card *card, const wk_apdu *cmd);
/* objects only the PIN opens: biometrics, printed information, walletkey's
 * private data objects (also masked in traces) */
bool piv_tag_pin_protected(uint32_t tag);
int piv_obj_factory(vc_card *card);
int piv_obj_get(vc_card *card, uint32_t tag, wk_buf *out);
int piv_obj_put(vc_card *card, uint32_t tag, const uint8_t *v, size_t n);
/* deletes every stored object */
int piv_obj_wipe(vc_card *card);

/* piv_pin.c: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, FA */
uint16_t piv_verify(piv_state *s, vc_card *card, const wk_apdu *cmd);
uint16_t piv_change_ref(piv_state *s, vc_card *card, const wk_apdu *cmd);
uint16_t piv_reset_retry(piv_state *s, vc_card *card, const wk_apdu *cmd);
uint16_t piv_set_retries(piv_state *s, vc_card *card, const wk_apdu *cmd);
int piv_pin_factory(vc_card *card, uint8_t pin_tries, uint8_t puk_tries);
/* tries left and total for 80/81 */
int piv_pin_tries(vc_card *card, uint8_t ref, uint8_t *left, uint8_t *total);
bool piv_pin_is_default(vc_card *card, uint8_t ref);

/* piv_mgm.c: 9B authentication and SET MANAGEMENT KEY */
uint16_t piv_mgm_auth(piv_state *s, vc_card *card, const wk_apdu *cmd,
    const uint8_t *tmpl, size_t tlen, wk_buf *resp);
uint16_t piv_set_mgm(piv_state *s, vc_card *card, const wk_apdu *cmd);
int piv_mgm_factory(vc_card *card);
int piv_mgm_alg(vc_card *card, uint8_t *alg, bool *is_default);

/* piv_key.c: key records, public key encodings */
int piv_key_load(vc_card *card, uint8_t ref, piv_key *k);
/* both drop the slot's cached key first; s NULL only before the applet
 * has state (create) */
int piv_key_save(piv_state *s, vc_card *card, uint8_t ref, const piv_key *k);
int piv_key_delete(piv_state *s, vc_card *card, uint8_t ref);
void piv_key_free(piv_key *k);
/* 7F49 contents (81/82 or 86) without the 7F49 header */
int piv_key_pub_encode(const piv_key *k, wk_buf *out);
EVP_PKEY *piv_key_generate(uint8_t alg);
uint8_t piv_key_effective_policy(const piv_key *k, uint8_t ref);

/* piv_cache.c: parsed slot keys kept between commands */
int piv_cache_new(piv_cache **out);
void piv_cache_free(piv_cache **c);
/* the slot's key, loaded from the store on first use; borrowed. Only for
 * commands that write nothing to the store. */
int piv_cache_get(piv_state *s, vc_card *card, uint8_t ref, piv_cached **out);
void piv_cache_forget(piv_state *s, uint8_t ref);
/* the idle hook's step: one nonce made ahead for a key that signs; true
 * when one was made (more may follow), false when none is missing */
bool piv_cache_idle(piv_cache *c);
/* every nonce made ahead dropped (card reset, another applet selected) */
void piv_cache_drop_nonces(piv_cache *c);

/* piv_ecdsa.c: ECDSA signatures with the nonce made ahead */
uint16_t piv_ecdsa_sign(piv_cached *c, const uint8_t *in, size_t n,
    uint8_t *out, size_t cap, size_t *olen);
/* makes one more nonce for the key if it has signed and has fewer than
 * PIV_ECDSA_NONCES; true if made */
bool piv_ecdsa_precompute(piv_cached *c);
/* true when the key signs and could keep one more nonce */
bool piv_ecdsa_wants_nonce(const piv_cached *c);
void piv_ecdsa_forget_nonce(piv_cached *c);
/* the nonce and the EC_KEY freed (wiped) */
void piv_ecdsa_clear(piv_cached *c);

/* piv_gen.c: GENERATE, IMPORT, MOVE/DELETE */
uint16_t piv_generate(piv_state *s, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp);
uint16_t piv_import(piv_state *s, vc_card *card, const wk_apdu *cmd);
uint16_t piv_move_key(piv_state *s, vc_card *card, const wk_apdu *cmd);

/* piv_auth.c: GENERAL AUTHENTICATE */
uint16_t piv_general_auth(piv_state *s, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp);

/* piv_yk.c: GET VERSION, GET SERIAL, GET METADATA, RESET */
uint16_t piv_get_version(const wk_apdu *cmd, wk_buf *resp);
uint16_t piv_get_serial(vc_card *card, const wk_apdu *cmd, wk_buf *resp);
uint32_t piv_serial(vc_card *card);
uint16_t piv_metadata(piv_state *s, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp);
uint16_t piv_reset(piv_state *s, vc_card *card, const wk_apdu *cmd);

/* piv_attest.c: ATTEST and the factory attestation key */
uint16_t piv_attest(piv_state *s, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp);
int piv_attest_factory(vc_card *card);

/* piv_wallet.c: WALLET SETUP (docs/remote-load.md) */
uint16_t piv_wallet_setup(piv_state *s, vc_card *card, const wk_apdu *cmd);

#endif
