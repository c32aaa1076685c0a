/*
 * the signed messages of the issuer protocol (docs/issuer.md), defined once
 * for the card, the CLI and the issuer.
 *
 * wire form, strict BER-TLV (wk_tlv.h):
 *
 *   E0 L                       signed message
 *      E1 L <fields>           body: the signed bytes are this whole TLV
 *      9E L <signature>        ECDSA P-256 / SHA-256, DER Ecdsa-Sig-Value
 *
 * the body holds exactly the fields its type lists (wk_msg.c, one table),
 * each once, in that order, each with its fixed length; anything else is
 * malformed. Field tags:
 *
 *   80 version (1, = 1)       81 type (1)              82 card id (8)
 *   83 online seq (2)         84 nonce (16)            85 amount (4)
 *   86 balance (4)            87 key version (1)       88 algorithm id (1)
 *   89 card random (4)        8A terminal id (6)       8B MAC1 (4)
 *   8C load id (16)           8D host date (4, BCD)    8E host time (3, BCD)
 *   8F MAC2 (4)               90 TAC (4)               91 reason (2, an SW)
 *   92 account PAN (1-19 ASCII digits)                 93 transaction type (1)
 *   94 ephemeral P-256 point (65, uncompressed)        95 sealed keys (17-255)
 *   96 peer card id (8): card to card, the other card
 *   97 session scope (1): 01 the card, 02 the card and its holder's PIN
 *
 * numbers are big-endian.
 */
#ifndef WK_MSG_H
#define WK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_buf.h"

typedef struct evp_pkey_st EVP_PKEY;

#define WK_MSG_VERSION 1
#define WK_MSG_CARD_ID_LEN 8
#define WK_MSG_NONCE_LEN 16
#define WK_MSG_LOAD_ID_LEN 16
#define WK_MSG_PAN_MAX 19
#define WK_MSG_POINT_LEN 65
#define WK_MSG_SEALED_MAX 255
#define WK_MSG_MAX 1024		/* no signed message is longer */
/*
 * what a personalisation seals: one entry per purse key of the table in
 * wk_purse_crypto.h, key id (enum wk_purse_key, 1 byte), its algorithm id
 * (WK_PURSE_ALG_3DES or _SM4, 1 byte), then the card's 16-byte key, each
 * id once; the card takes it only when it names every key of its own table
 * with an algorithm it knows
 */
#define WK_MSG_PERSO_ENTRY_LEN 18
#define WK_MSG_PERSO_KEYS_MAX 200	/* wk_msg_seal_keys' limit */

enum wk_msg_type {
	WK_MSG_LOAD_REQUEST = 1,	/* card -> issuer, after INITIALIZE FOR LOAD */
	WK_MSG_LOAD_GRANT = 2,		/* issuer -> card, carries MAC2 */
	WK_MSG_LOAD_RECEIPT = 3,	/* card -> issuer, after CREDIT FOR LOAD: TAC */
	WK_MSG_LOAD_REFUSAL = 4,	/* card -> issuer: the grant was not credited */
	WK_MSG_LOAD_PROOF = 5,		/* card -> issuer, recovery: seq was credited (TAC) */
	WK_MSG_LOAD_NEVER = 6,		/* card -> issuer, recovery: seq never credited */
	WK_MSG_PERSO = 7,		/* issuer -> card at enrolment: sealed purse keys */
	WK_MSG_XFER_AUTH = 8,		/* card -> card: signs the peer's challenge */
	WK_MSG_XFER_TOKEN = 9,		/* card -> card: value bound to the receiver's challenge */
	/* card -> issuer operator: the card's pending APPLICATION UNBLOCK
	 * challenge (89, 4 bytes), for a one-time unblock script */
	WK_MSG_PSAM_KEYS = 10,		/* issuer -> PSAM: the sealed purchase master key */
	WK_MSG_UNBLOCK_REQUEST = 16,
	/* card -> issuer: signs the issuer's session challenge (84) with the
	 * scope (97) the card vouches for: an issuer session's proof
	 * (docs/issuer.md "Sessions"); built only by the card's ISSUER
	 * SESSION command, so no other signature of the card is one */
	WK_MSG_SESSION_AUTH = 17,
	WK_MSG_TYPE_MAX = 17,
};

/* the scopes of an issuer session (tag 97) */
enum wk_msg_scope {
	WK_MSG_SCOPE_CARD = 1,		/* the card is present */
	WK_MSG_SCOPE_HOLDER = 2,	/* and its holder gave the purse PIN */
};

enum {
	WK_MSG_OK = 0,
	WK_MSG_MALFORMED = -1,		/* does not parse, or a field is missing, extra or mis-sized */
	WK_MSG_UNSUPPORTED = -2,	/* unknown version or type */
	WK_MSG_BAD_SIGNATURE = -3,
	WK_MSG_CRYPTO = -4,		/* the crypto library failed, or a seal did not open */
	WK_MSG_ARG = -5,
};

typedef struct wk_msg {
	uint8_t type;
	uint8_t card_id[WK_MSG_CARD_ID_LEN];
	uint16_t seq;
	uint8_t nonce[WK_MSG_NONCE_LEN];
	uint32_t amount;
	uint32_t balance;	/* request: before the load; receipt/proof: after; never: now */
	uint8_t key_version;
	uint8_t alg_id;
	uint8_t card_random[4];
	uint8_t terminal_id[6];
	uint8_t mac1[4];
	uint8_t load_id[WK_MSG_LOAD_ID_LEN];
	uint8_t host_date[4];
	uint8_t host_time[3];
	uint8_t mac2[4];
	uint8_t tac[4];
	uint16_t reason;
	uint8_t trans_type;
	char pan[WK_MSG_PAN_MAX + 1];	/* NUL-terminated */
	uint8_t eph_point[WK_MSG_POINT_LEN];
	uint8_t sealed[WK_MSG_SEALED_MAX];
	size_t sealed_len;
	uint8_t peer_id[WK_MSG_CARD_ID_LEN];
	uint8_t scope;		/* enum wk_msg_scope */
} wk_msg;

const char *wk_msg_type_name(int type);
const char *wk_msg_strerror(int rc);

/* appends the body TLV (E1) of m to b */
int wk_msg_encode_body(const wk_msg *m, wk_buf *b);
/* appends the whole signed message (E0), signed with key, to b */
int wk_msg_sign(const wk_msg *m, EVP_PKEY *key, wk_buf *b);
/*
 * parses a signed message without checking its signature; on success body
 * and sig (either may be NULL) point into buf at the signed bytes and the
 * signature. m is zeroed first.
 */
int wk_msg_parse(const uint8_t *buf, size_t len, wk_msg *m, wk_cur *body,
    wk_cur *sig);
/* parses and checks the signature with pub; m is filled only on success */
int wk_msg_verify(const uint8_t *buf, size_t len, EVP_PKEY *pub, wk_msg *m);

/*
 * personalisation: seals keys (key_len <= WK_MSG_PERSO_KEYS_MAX) to the card's P-256 public
 * key: ECDH with a fresh ephemeral key, HKDF-SHA256 (salt = nonce, info =
 * "walletkey perso v1" || card id || key version) to an AES-256-GCM key,
 * nonce[0..11] as the GCM nonce, the card id and key version as AAD; the
 * tag follows the ciphertext. Fills m->eph_point, m->nonce, m->sealed(_len);
 * m->card_id and m->key_version must be set.
 */
int wk_msg_seal_keys(EVP_PKEY *card_pub, wk_msg *m, const uint8_t *keys,
    size_t key_len);
/* the card's side (the wallet applet for a personalisation, the PSAM
 * applet for a psam-keys message): opens m->sealed with its private key
 * into keys */
int wk_msg_open_keys(EVP_PKEY *card_priv, const wk_msg *m, uint8_t *keys,
    size_t cap, size_t *key_len);

#endif
