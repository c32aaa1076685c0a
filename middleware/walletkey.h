/*
 * libwalletkey: the host side of walletkey. The one installed header; the
 * internals live in wk_internal.h. Only this library talks to PC/SC.
 *
 * Conventions: functions return int, WK_OK (0) or a negative wk_rc;
 * status words travel in their own out-parameter; objects are created with
 * _new/_open and released with _free(T **), which sets the pointer to NULL.
 */
#ifndef WALLETKEY_H
#define WALLETKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wk_rc {
	WK_OK = 0,
	WK_ERR_ARG = -1,		/* a bad argument from the caller */
	WK_ERR_MEMORY = -2,
	WK_ERR_PCSC = -3,		/* PC/SC service unavailable or failing */
	WK_ERR_NO_READER = -4,
	WK_ERR_NO_CARD = -5,
	WK_ERR_CARD_REMOVED = -6,
	WK_ERR_TRANSPORT = -7,		/* the exchange with the card failed */
	WK_ERR_CARD_MALFORMED = -8,	/* the card's answer does not parse */
	WK_ERR_SW = -9,			/* an unexpected status word; see the sw out-parameter */
	WK_ERR_WRONG_PIN = -10,
	WK_ERR_PIN_BLOCKED = -11,
	WK_ERR_AUTH_REQUIRED = -12,	/* security status not satisfied: VERIFY or authenticate first */
	WK_ERR_NOT_FOUND = -13,		/* object, key, file or application not on the card */
	WK_ERR_NOT_SUPPORTED = -14,
	WK_ERR_BAD_DATA = -15,		/* the card refused the data field */
	WK_ERR_CONDITIONS = -16,	/* conditions of use not satisfied */
	WK_ERR_NO_SPACE = -17,
	WK_ERR_BAD_PARAMS = -18,	/* the card refused P1/P2 */
	WK_ERR_WRONG_LENGTH = -19,
	WK_ERR_INVALID_STATE = -20,	/* command out of sequence */
	WK_ERR_MAC = -21,		/* a purse MAC did not verify */
	WK_ERR_FUNDS = -22,		/* insufficient funds */
	WK_ERR_LIMIT = -23,		/* counter or balance limit reached */
	WK_ERR_KEY_NOT_FOUND = -24,	/* no purse key of that index (card) or algorithm (SAM, PSAM) */
	WK_ERR_AUTH_FAILED = -25,	/* management key or signature check failed */
	WK_ERR_CRYPTO = -26,		/* host-side cryptography failed */
	WK_ERR_NETWORK = -27,		/* the issuer could not be reached */
	WK_ERR_ISSUER = -28,		/* the issuer refused the request */
	WK_ERR_IO = -29,		/* a host file could not be read or written */
	WK_ERR_INTERNAL = -30,
	WK_ERR_PURSE_BLOCKED = -31,	/* the purse application is blocked (6A81/9303) */
	WK_ERR_CANCELLED = -32,		/* the holder (a flow's confirmation) said no */
	WK_ERR_LAST = WK_ERR_CANCELLED,	/* the lowest code */
} wk_rc;

const char *wk_strerror(int rc);

/* the library's debug trace on stderr: PC/SC calls and APDUs, with PINs,
 * keys, MACs and secret answers masked; off by default */
enum {
	WK_TRACE_APDU = 1u << 0,
	WK_TRACE_LINK = 1u << 1,
	WK_TRACE_ALL = 0xFFFFu,
};
void wk_set_trace(unsigned categories);
/* the one translation of a status word into a wk_rc (WK_OK for 9000/61xx) */
int wk_rc_from_sw(uint16_t sw);

typedef struct wk_ctx wk_ctx;
typedef struct wk_card wk_card;

int wk_ctx_new(wk_ctx **out);
void wk_ctx_free(wk_ctx **ctx);

typedef struct wk_reader_info {
	char name[128];
	bool card_present;
	uint8_t atr[33];
	size_t atr_len;
	bool walletkey;		/* the ATR is a walletkey card's */
} wk_reader_info;

/* lists readers; *out is freed with free() */
int wk_list_readers(wk_ctx *ctx, wk_reader_info **out, size_t *n);

/* waits until a reader or a card comes or goes (SCardGetStatusChange with
 * the PnP notification), at most timeout_ms; *changed tells whether one
 * did. WK_ERR_PCSC when pcscd is gone (make a new context) */
int wk_wait_readers(wk_ctx *ctx, unsigned timeout_ms, bool *changed);

/* connects to the reader named (exactly, or by unique prefix), or with NULL to
 * the first reader holding a walletkey card, else the first holding any card */
int wk_card_open(wk_ctx *ctx, const char *reader, wk_card **out);
void wk_card_free(wk_card **card);
const char *wk_card_reader(const wk_card *card);
int wk_card_atr(const wk_card *card, uint8_t *atr, size_t *len);
bool wk_card_is_walletkey(const wk_card *card);

/* what the card-information applet tells about a walletkey card */
#define WK_CARD_LABEL_MAX 32
typedef struct wk_card_info {
	uint8_t serial[8];
	uint8_t version[3];	/* major, minor, patch */
	char label[WK_CARD_LABEL_MAX + 1];	/* the holder's name for it, UTF-8; "" none */
} wk_card_info;

/* selects the card-information applet (this deselects any other applet) and
 * reads serial, version and label; WK_ERR_NOT_FOUND on a card that is not a
 * walletkey */
int wk_card_get_info(wk_card *card, wk_card_info *out);
/* the label the card keeps (docs/holder.md "Naming the key"): 0-32 bytes of
 * UTF-8 without control characters (WK_ERR_ARG otherwise; the card checks
 * too, WK_ERR_BAD_DATA); len 0 removes it */
int wk_card_set_label(wk_card *card, const char *label, size_t len);

/* exclusive access around multi-APDU operations; nests */
int wk_card_begin(wk_card *card);
int wk_card_end(wk_card *card);

/*
 * one command through the APDU client: extended length when the card
 * supports it, else command chaining (CLA | 0x10) for data over 255 bytes;
 * 61xx answered with GET RESPONSE, 6Cxx with a resend. le == 0 sends no Le
 * field (le 1..65536 otherwise). *resp_len is the capacity on entry and the
 * data length on return (WK_ERR_ARG when the answer does not fit). Returns
 * WK_OK when the exchange happened, whatever *sw is.
 */
int wk_card_apdu(wk_card *card, uint8_t cla, uint8_t ins, uint8_t p1,
    uint8_t p2, const uint8_t *data, size_t lc, size_t le, uint8_t *resp,
    size_t *resp_len, uint16_t *sw);
/* one raw exchange, no chaining or GET RESPONSE (walletkey apdu) */
int wk_card_transmit(wk_card *card, const uint8_t *apdu, size_t len,
    uint8_t *resp, size_t *resp_len);

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
/* ==== end of PIV client ================================================= */
/* ==== electronic purse and software SAM (pboc-purse.md); purse/SAM block ==== */

#define WK_PURSE_SERIAL_LEN 10	/* application serial number, BCD (EF 0015) */
#define WK_PURSE_RECORDS_MAX 100	/* the largest cyclic EF 0018 walletkey-card keeps */

typedef enum wk_purse_kind {
	WK_PURSE_ED = 1,	/* electronic deposit (needs the PIN for everything) */
	WK_PURSE_EP = 2,	/* electronic purse */
} wk_purse_kind;

/* EF 0015, public application basic data (section 7.3) */
typedef struct wk_purse_app {
	uint8_t issuer[8];
	uint8_t app_type;	/* 01 ED, 02 EP, 03 both */
	uint8_t app_version;
	uint8_t serial[WK_PURSE_SERIAL_LEN];
	uint8_t start[4];	/* BCD YYYYMMDD */
	uint8_t expiry[4];
	uint8_t custom[2];
} wk_purse_app;

/* EF 0016, cardholder data (39 or 55 bytes) */
typedef struct wk_purse_holder {
	uint8_t card_type;
	uint8_t staff;
	char name[21];		/* trailing 00/FF/space removed, NUL-terminated */
	char id_number[33];
	uint8_t id_type;
} wk_purse_holder;

/* one 23-byte record of EF 0018 */
typedef struct wk_purse_record {
	uint16_t seq;
	uint32_t overdraft;	/* 3 bytes on the card */
	uint32_t amount;
	uint8_t type;		/* pboc-purse.md section 5 */
	uint8_t terminal[6];
	uint8_t date[4];	/* BCD YYYYMMDD */
	uint8_t time[3];	/* BCD hhmmss */
} wk_purse_record;

typedef enum wk_purse_txn_state {
	WK_PURSE_TXN_NONE = 0,
	WK_PURSE_TXN_PREPARED,	/* INIT answered, MACs ready, final command not sent */
	WK_PURSE_TXN_SENT,	/* DEBIT/CREDIT sent, answer lost: outcome unknown */
	WK_PURSE_TXN_DONE,	/* confirmed by the card, TAC verified */
	WK_PURSE_TXN_NOT_DONE,	/* the card proved it did not happen */
} wk_purse_txn_state;

/* everything public about one load or purchase, enough to recover it later */
typedef struct wk_purse_txn {
	wk_purse_txn_state state;
	uint8_t type;		/* 01/02 load, 05/06 purchase */
	uint8_t key_index;
	uint32_t amount;
	uint8_t serial[WK_PURSE_SERIAL_LEN];
	uint8_t terminal[6];
	uint8_t term_seq[4];	/* purchase only */
	uint8_t date[4];
	uint8_t time[3];
	uint32_t old_balance;
	uint16_t card_seq;	/* online (load) or offline (purchase) seq before the increment */
	uint8_t key_version;
	uint8_t alg;
	uint8_t random[4];
	uint8_t mac1[4];
	uint8_t mac2[4];
	uint8_t tac[4];
} wk_purse_txn;

typedef struct wk_sam wk_sam;

/* "12.30" -> 1230 fen: digits, at most 2 decimals, > 0, fits 32 bits;
 * no sign, no exponent, no floating point. WK_ERR_ARG otherwise */
int wk_purse_amount_parse(const char *s, uint32_t *fen);
/* 1230 -> "12.30"; out holds at least 16 bytes */
void wk_purse_amount_format(uint32_t fen, char *out, size_t cap);

/* selects the purse: PSE 1PAY.SYS.DDF01 (when present), then the ADF by aid
 * (aid == NULL: by file id 1001); reads EF 0015 into app (may be NULL).
 * WK_ERR_PURSE_BLOCKED: the ADF is selected but blocked (6A81); only the
 * unblock commands, VERIFY and wk_wallet_recover work then */
int wk_purse_select(wk_card *card, const uint8_t *aid, size_t aid_len,
    wk_purse_app *app);
int wk_purse_read_app(wk_card *card, wk_purse_app *app);
int wk_purse_read_holder(wk_card *card, wk_purse_holder *holder);
/* VERIFY with the PIN as ASCII digits (4-12, packed BCD, F-padded);
 * *tries_left is set on WK_ERR_WRONG_PIN when tries_left != NULL */
int wk_purse_verify_pin(wk_card *card, const char *pin, size_t pin_len,
    int *tries_left);
/* CHANGE PIN (docs/purse.md "PIN"): old and new as ASCII digits (4-12).
 * WK_ERR_WRONG_PIN (*tries_left set when tries_left != NULL) costs a try
 * as VERIFY does; WK_ERR_PIN_BLOCKED when none is left. The verification
 * is cleared either way */
int wk_purse_change_pin(wk_card *card, const char *old_pin, size_t old_len,
    const char *new_pin, size_t new_len, int *tries_left);
/* VERIFY without data (ISO 7816-4 11.5.6): *verified when this selection
 * holds a verified PIN, else *tries_left (0: blocked); spends nothing */
int wk_purse_pin_status(wk_card *card, int *tries_left, bool *verified);
int wk_purse_balance(wk_card *card, wk_purse_kind kind, uint32_t *balance);
/* reads EF 0018 newest first, skipping all-zero records; *n records out */
int wk_purse_records(wk_card *card, wk_purse_record *out, size_t cap,
    size_t *n);

/*
 * a full purchase or local load with a software SAM, inside one card
 * transaction, after wk_purse_select() (app: its EF 0015, whose serial
 * diversifies the keys). pin may be NULL (no VERIFY).
 * On WK_OK txn->state is WK_PURSE_TXN_DONE (MAC2/TAC verified). When the
 * answer to DEBIT/CREDIT is lost the result is the transport error and
 * txn->state is WK_PURSE_TXN_SENT: call wk_purse_recover(). The SAM file
 * records txn before the final command is sent (wk_sam_last()).
 * WK_ERR_AUTH_FAILED: the card's MAC1/MAC2/TAC did not verify.
 */
int wk_purse_purchase(wk_card *card, wk_sam *sam, const wk_purse_app *app,
    wk_purse_kind kind, uint32_t amount, const char *pin, size_t pin_len,
    wk_purse_txn *txn);
int wk_purse_load(wk_card *card, wk_sam *sam, const wk_purse_app *app,
    wk_purse_kind kind, uint32_t amount, const char *pin, size_t pin_len,
    wk_purse_txn *txn);
/* GET TRANSACTION PROVE: MAC(4) || TAC(4) for (type, seq) */
int wk_purse_prove(wk_card *card, uint8_t type, uint16_t seq, uint8_t mac[4],
    uint8_t tac[4]);
/* after a lost answer: selects the purse, asks for the proof (seq N+1, then N)
 * and verifies it with the SAM; sets txn->state to DONE or NOT_DONE */
int wk_purse_recover(wk_card *card, wk_sam *sam, wk_purse_txn *txn);

/*
 * software SAM (PSAM role): master keys (each with the algorithm of the
 * cards' keys it makes), terminal id and the terminal transaction counter
 * in one JSON file (docs/wallet.md), rewritten write-temp-fsync-rename
 * before a block of counter values is used and at close, write-temp-rename
 * for each purchase ("The terminal counter"). A card whose load or
 * purchase key has another algorithm than the SAM's master gets
 * WK_ERR_KEY_NOT_FOUND.
 */
int wk_sam_open(const char *path, wk_sam **out);
void wk_sam_free(wk_sam **sam);
/* creates a SAM file (refuses to overwrite) from a master-key file */
int wk_sam_create(const char *path, const char *master_keys_path,
    const uint8_t terminal[6]);
void wk_sam_terminal(const wk_sam *sam, uint8_t terminal[6]);
uint32_t wk_sam_counter(const wk_sam *sam);
/* the purse key index the SAM's keys are for (default 1) */
uint8_t wk_sam_key_index(const wk_sam *sam);
/* the last transaction recorded before its final command was sent */
int wk_sam_last(const wk_sam *sam, wk_purse_txn *txn);
/* records the outcome (DONE / NOT_DONE) of the last transaction (durable
 * at close) */
int wk_sam_settle(wk_sam *sam, const wk_purse_txn *txn);
/* purchase: takes the next terminal sequence number (its block reserved
 * durably first), records txn as the last transaction, then MAC1 into txn */
int wk_sam_purchase_mac1(wk_sam *sam, wk_purse_txn *txn);
/* load: verifies the card's MAC1, then MAC2 into txn (recorded durably) */
int wk_sam_load_mac2(wk_sam *sam, wk_purse_txn *txn);
/* verifies the card's answer: MAC2 (purchase; for a load's proof the host
 * MAC2 it verified, docs/purse.md U2) and TAC, constant time; mac may be
 * NULL to check the TAC only. WK_ERR_AUTH_FAILED on mismatch */
int wk_sam_check(wk_sam *sam, const wk_purse_txn *txn, const uint8_t *mac,
    const uint8_t tac[4]);
/* the algorithm of a purse key (docs/purse.md "SM4"): the id INITIALIZE
 * answers, as common/wk_purse_crypto.h */
#define WK_PURSE_ALG_3DES 0x00
#define WK_PURSE_ALG_SM4 0x04
/* derives the 16-byte card key named "dlk", "dpk", "dtk", "dulk" or "duk"
 * of algorithm alg from a master key for an application serial (section
 * 4.4; SM4: docs/purse.md "SM4") */
int wk_purse_derive_key(uint8_t alg, const uint8_t mk[16],
    const uint8_t serial[WK_PURSE_SERIAL_LEN], uint8_t dk[16]);
/* reads a master-key file {"dlk":..,"dpk":..,"dtk":..,"dulk":..,"duk":..,
 * "algorithms": {"dpk": "sm4", ...}} (the object optional, each key "3des"
 * when it does not name it); keys is 5 x 16 bytes in that order, wiped by
 * the caller, algs the 5 algorithm ids */
int wk_purse_read_master_keys(const char *path, uint8_t keys[5][16],
    uint8_t algs[5]);

/*
 * the PSAM (docs/wallet.md "The PSAM"): a terminal's purchase SAM on a
 * walletkey card (AID F0574B5053414D). It holds only the issuer's purchase
 * master keys (DPK; one per algorithm, 3DES and SM4), computes MAC1 and
 * checks MAC2 inside with the algorithm of the card's DPK, keeps the
 * terminal transaction counter and exports no key.
 */
#define WK_PSAM_AID_BYTES 0xF0, 0x57, 0x4B, 0x50, 0x53, 0x41, 0x4D
#define WK_PSAM_POINT_LEN 65
/* GET INFO: state, key version, terminal, counter, point, algorithms (a
 * PSAM made before SM4 answers without the last byte) */
#define WK_PSAM_INFO_LEN (1 + 1 + 6 + 4 + WK_PSAM_POINT_LEN + 1)
/* wk_psam_info.algorithms: which purchase master keys it holds */
#define WK_PSAM_ALG_3DES 0x01
#define WK_PSAM_ALG_SM4 0x02

enum { WK_PSAM_EMPTY = 0, WK_PSAM_KEY = 1, WK_PSAM_INSTALLED = 2 };

typedef struct wk_psam_info {
	int state;		/* WK_PSAM_EMPTY, _KEY (key made), _INSTALLED */
	uint8_t key_version;	/* of the DPK, once installed */
	uint8_t terminal[6];	/* its terminal id, once installed */
	uint32_t counter;	/* the last terminal transaction number used */
	uint8_t point[WK_PSAM_POINT_LEN];	/* its P-256 key (state >= KEY) */
	uint8_t algorithms;	/* WK_PSAM_ALG_* of the masters it holds */
} wk_psam_info;

/* selects the PSAM applet; WK_ERR_NOT_FOUND on a card without one */
int wk_psam_select(wk_card *card);
int wk_psam_get_info(wk_card *card, wk_psam_info *info);
/* makes the PSAM's key pair on the card; anchor: the issuer CA's P-256
 * point, which must sign what is installed. WK_ERR_CONDITIONS once
 * installed */
int wk_psam_generate(wk_card *card, const uint8_t anchor[WK_PSAM_POINT_LEN],
    uint8_t point[WK_PSAM_POINT_LEN]);
/* the issuer's psam-keys message (walletkey-issuer psam-issue);
 * WK_ERR_AUTH_REQUIRED when the card refuses its signature or seal */
int wk_psam_install(wk_card *card, const uint8_t *msg, size_t len);
/* INIT SAM FOR PURCHASE: from txn's card serial, random, card seq, amount,
 * type, date, time, key version and algorithm, the PSAM's next terminal
 * number into txn->term_seq and MAC1 into txn->mac1 */
int wk_psam_purchase_mac1(wk_card *card, wk_purse_txn *txn);
/* CREDIT SAM FOR PURCHASE: MAC2 of the PSAM's last purchase since it
 * started; WK_ERR_AUTH_FAILED when it does not verify */
int wk_psam_check_mac2(wk_card *card, const uint8_t mac2[4]);
/*
 * a SAM whose keys and counter are a PSAM card's: the host keeps only the
 * terminal journal at path ("walletkey-terminal" JSON: terminal id, PSAM
 * card, the last transaction), created when missing. Purchases, recovery
 * and settlement work as with a SAM file; loads are refused
 * (WK_ERR_NOT_SUPPORTED: loads are remote). psam stays the caller's.
 */
int wk_sam_open_psam(wk_card *psam, const char *path, wk_sam **out);

/* ==== end of the purse/SAM block ==== */

/* ==== wallet: enrolment and remote load (docs/remote-load.md) ============
 * owner: branch remote (middleware/wk_wallet.c, wk_issuer.c). Messages are
 * the signed wk_msg TLVs of docs/issuer.md, at most WK_WALLET_MSG_MAX bytes;
 * the card builds and signs them with its wallet key in PIV slot 82. */
#define WK_WALLET_SLOT 0x82
#define WK_WALLET_MSG_MAX 1024
#define WK_WALLET_POINT_LEN 65
#define WK_WALLET_LOAD_ID_LEN 16

/* PIV WALLET SETUP (needs 9B): the issuer CA's P-256 point (04||X||Y) as
 * the card's trust anchor, and the account PAN the card signs. pan NULL
 * and point NULL: forget the wallet and delete the slot-82 key */
int wk_wallet_setup(wk_piv *piv, const uint8_t *point, const char *pan);
/* the P-256 point (65 bytes) of a DER certificate's key, for the anchor */
int wk_wallet_cert_point(const uint8_t *der, size_t len,
    uint8_t point[WK_WALLET_POINT_LEN]);

/* after wk_purse_select() and VERIFY: INITIALIZE FOR LOAD and the card's
 * signed load request (*len: capacity in, length out) */
int wk_wallet_load_request(wk_card *card, wk_purse_kind kind,
    uint8_t key_index, uint32_t amount, const uint8_t terminal[6],
    uint8_t *msg, size_t *len);
/* the issuer's grant in; the card's receipt or refusal out; *refused tells
 * which. Must directly follow wk_wallet_load_request on the same card */
int wk_wallet_load_grant(wk_card *card, const uint8_t *grant, size_t glen,
    uint8_t *msg, size_t *len, bool *refused);
/* the card's proof that (kind, seq) was credited, or its statement that it
 * never was (then seq is burnt); *credited tells which.
 * WK_ERR_NOT_FOUND: the card can say neither. WK_ERR_AUTH_REQUIRED: the
 * statement would burn seq, which needs the purse PIN (verify, then ask
 * again; the verification is used up) */
int wk_wallet_recover(wk_card *card, wk_purse_kind kind,
    const uint8_t load_id[WK_WALLET_LOAD_ID_LEN], uint16_t seq, uint8_t *msg,
    size_t *len, bool *credited);
/* the issuer's personalisation message: the card opens and installs its
 * purse keys (DLK, DTK, DPK and, when sent, the DAMK); or its OCRA key
 * message (type 13, docs/payments.md), which it installs beside them */
int wk_wallet_personalise(wk_card *card, const uint8_t *msg, size_t len);
/* the fields of a message, unverified (for display and bookkeeping) */
typedef struct wk_wallet_msg_info {
	int type;			/* 1 request ... 7 perso */
	uint8_t card_id[8];
	uint16_t seq;
	uint32_t amount;
	uint32_t balance;
	uint8_t load_id[WK_WALLET_LOAD_ID_LEN];
	uint8_t tac[4];
	uint16_t reason;
	char pan[20];
	uint8_t challenge[4];		/* an unblock request's */
} wk_wallet_msg_info;
int wk_wallet_msg_info_get(const uint8_t *msg, size_t len,
    wk_wallet_msg_info *info);

/*
 * a blocked purse (docs/purse.md "Blocking": wrong MAC2s or grant
 * signatures; wk_purse_select answers WK_ERR_PURSE_BLOCKED and leaves it
 * selected) is opened by an issuer script: the card signs an unblock
 * request with a fresh challenge it keeps (for walletkey-issuer
 * purse-unblock), and APPLICATION UNBLOCK delivers the script's MAC, once.
 * *sw gets the status word: 6988 a wrong script (WK_ERR_AUTH_FAILED),
 * 6982 no challenge pending (WK_ERR_INVALID_STATE), 9303 blocked for good
 * (WK_ERR_PURSE_BLOCKED)
 */
#define WK_WALLET_UNBLOCK_MAC_LEN 4
int wk_wallet_unblock_request(wk_card *card, uint8_t *msg, size_t *len);
int wk_wallet_unblock(wk_card *card, const uint8_t mac[WK_WALLET_UNBLOCK_MAC_LEN],
    uint16_t *sw);

/*
 * the purse PIN reloaded by the issuer (docs/purse.md "RELOAD PIN"): after
 * an operator's order (walletkey-issuer pin-unblock), the card's next
 * signed unblock request (wk_wallet_unblock_request) gets a one-time
 * script: RELOAD PIN's data (PIN, MAC, SM-MAC), which sets the PIN the
 * bank told the holder. *sw (may be NULL) gets the status word: 6988 or
 * 9302 a wrong script (WK_ERR_AUTH_FAILED), 6982 no challenge pending
 * (WK_ERR_INVALID_STATE), 6A88 a card without a PIN reload key
 * (WK_ERR_NOT_FOUND)
 */
#define WK_WALLET_PIN_SCRIPT_MAX 14
int wk_wallet_pin_reload(wk_card *card, const uint8_t *script, size_t len,
    uint16_t *sw);

/* card to card (purse selected on both cards). A challenge for
 * authentication lives in the card's memory; one to receive is kept in the
 * receiving card's store until a token for it is redeemed. */
#define WK_WALLET_CHALLENGE_LEN 16
int wk_wallet_xfer_challenge(wk_card *card, bool receive,
    uint8_t chal[WK_WALLET_CHALLENGE_LEN]);
/* the card signs the peer's challenge (a transfer-auth message) */
int wk_wallet_xfer_auth_sign(wk_card *card,
    const uint8_t chal[WK_WALLET_CHALLENGE_LEN], const uint8_t peer_id[8],
    uint8_t *msg, size_t *len);
/* the card checks the peer's certificate (issuer-signed) and its signature
 * over the card's last authentication challenge. WK_ERR_AUTH_REQUIRED:
 * refused */
int wk_wallet_xfer_auth_verify(wk_card *card, const uint8_t *cert,
    size_t cert_len, const uint8_t *msg, size_t len);
/* the sending card (its purse PIN verified, wk_purse_verify_pin: else
 * WK_ERR_CONDITIONS) debits and signs a token for the receiver's
 * challenge; the verification is used up. The same challenge again
 * returns the same token (nothing more debited, no PIN). amount 0: a void
 * token (no PIN), which lets the receiver drop the challenge */
int wk_wallet_xfer_send(wk_card *card, const uint8_t peer_id[8],
    const uint8_t chal[WK_WALLET_CHALLENGE_LEN], uint32_t amount,
    uint8_t *token, size_t *len);
/* the token the sending card keeps for a challenge; WK_ERR_NOT_FOUND: it
 * never sent one */
int wk_wallet_xfer_token(wk_card *card,
    const uint8_t chal[WK_WALLET_CHALLENGE_LEN], uint8_t *token, size_t *len);
/* the receiving card (PIN verified) credits the token once; *already is set
 * (and WK_OK returned) when it had redeemed it before */
int wk_wallet_xfer_redeem(wk_card *card, const uint8_t *cert, size_t cert_len,
    const uint8_t *token, size_t len, uint32_t *balance, bool *already);

/* the issuer's HTTP API (issuer/openapi.yaml) over libcurl */
typedef struct wk_issuer wk_issuer;
int wk_issuer_new(const char *base_url, wk_issuer **out);
void wk_issuer_free(wk_issuer **is);
/* the HTTP status and the issuer's error code and message of the last call */
long wk_issuer_http_status(const wk_issuer *is);
const char *wk_issuer_error_code(const wk_issuer *is);
const char *wk_issuer_error_message(const wk_issuer *is);
/* the batch entry (0-based) the last error is about, e.g. the settlement
 * proof beyond its card's float; -1 when the issuer named none */
long wk_issuer_error_index(const wk_issuer *is);
/* POST /v1/transfers: the sending card's transfer token, so the issuer
 * moves its float to the receiver's (docs/remote-load.md "Reporting a
 * transfer"). WK_OK also when it was reported before; WK_ERR_ISSUER with
 * code float_short while the sender's own incoming transfers are not */
int wk_issuer_transfer_report(wk_issuer *is, const uint8_t *token,
    size_t len);

typedef struct wk_issuer_enrolment {
	uint8_t cert[2048];
	size_t cert_len;
	uint8_t ca[2048];
	size_t ca_len;
	uint8_t perso[WK_WALLET_MSG_MAX];
	size_t perso_len;
	bool existing;		/* the same enrolment again */
	/* the sealed OCRA key of online payments (docs/payments.md); 0: none */
	uint8_t ocra[WK_WALLET_MSG_MAX];
	size_t ocra_len;
	/* the algorithm of each purse key the personalisation holds, as the
	 * issuer says ("dlk=sm4,dpk=3des,..."; empty from an issuer before
	 * SM4: all 3DES); the card computes with what the keys say */
	char key_algorithms[96];
} wk_issuer_enrolment;
/* POST /v1/enrolments: the card's CSR and its attestation chain, DER: the
 * key's attestation, the card's device certificate (docs/attestation.md) */
int wk_issuer_enrol(wk_issuer *is, const char *pan, const char *password,
    const char *card_id_hex, const uint8_t *csr, size_t csr_len,
    const uint8_t *const *attestation, const size_t *attestation_len,
    size_t n_attestation, wk_issuer_enrolment *out);

/* POST /v1/pin-reloads: the card's signed unblock request in, the
 * one-time RELOAD PIN script out. WK_ERR_ISSUER with code no_pin_reload
 * when the bank ordered none (wk_issuer_error_code) */
typedef struct wk_issuer_pin_script {
	char card_id[17];
	long long order;
	uint8_t challenge[4];
	uint8_t script[WK_WALLET_PIN_SCRIPT_MAX];
	size_t script_len;
} wk_issuer_pin_script;
int wk_issuer_pin_reload(wk_issuer *is, const uint8_t *req, size_t len,
    wk_issuer_pin_script *out);

/* the steps of wk_wallet_pin_unblock, in order */
typedef enum wk_pin_unblock_step {
	WK_PIN_UNBLOCK_STEP_REQUEST = 1,	/* the card signed a new challenge */
	WK_PIN_UNBLOCK_STEP_SCRIPT,		/* the issuer's script received */
	WK_PIN_UNBLOCK_STEP_RELOADED,		/* the card set the reset PIN */
	WK_PIN_UNBLOCK_STEP_CHANGED,		/* and changed it to new_pin */
} wk_pin_unblock_step;
typedef void (*wk_pin_unblock_progress_fn)(void *arg, wk_pin_unblock_step step,
    const char *card_id_hex);
/*
 * the holder's side of a PIN reload, with the purse selected: the card's
 * unblock request to the issuer, its script to the card. With new_pin
 * (4-12 digits) the PIN is then changed from the bank's reset PIN to it in
 * the same card transaction, so the reset PIN never leaves the library;
 * without, the PIN is the reset PIN the bank told the holder. progress
 * (may be NULL) hears each step. The issuer's refusal is WK_ERR_ISSUER
 * (no_pin_reload: nothing ordered); the card's, as wk_wallet_pin_reload
 */
int wk_wallet_pin_unblock(wk_card *card, wk_issuer *is, const char *new_pin,
    size_t new_len, wk_pin_unblock_progress_fn progress, void *arg);

/* ==== flows: the wallet's money flows, one call each =====================
 * (docs/DEVELOPING.md "Flows"). A flow that moves money keeps what it has
 * in flight (its pending record) in a state store before every step that
 * can change money, so that a crash at any instant leaves a record its
 * recovery settles with the card's own proof. Each flow reports its steps
 * to a progress callback and asks the holder through a confirmation
 * callback; the store is the caller's, or today's files.
 *
 * A store keeps records by name ("load-<card id hex>",
 * "xfer-<sender hex>-<challenge hex>"): bytes the flow wrote (a JSON
 * object today) and reads back unchanged. save is durable when it returns
 * 0 (written whole or not at all); remove is durable too, and a missing
 * record is no error for it; load gives *data NULL (and 0) when there is
 * no record, else bytes the caller frees with free(); list calls fn with
 * the name of every record starting with prefix (fn's non-zero return
 * stops it). Each returns 0, or -1 on failure. */
typedef struct wk_state_store {
	int (*load)(void *arg, const char *name, char **data, size_t *len);
	int (*save)(void *arg, const char *name, const char *data, size_t len);
	int (*remove)(void *arg, const char *name);
	int (*list)(void *arg, const char *prefix,
	    int (*fn)(void *fn_arg, const char *name), void *fn_arg);
	void *arg;
} wk_state_store;

/* the wallet's state directory (docs/remote-load.md): opt, else
 * $WALLETKEY_STATE_DIR, else $XDG_STATE_HOME/walletkey, else
 * ~/.local/state/walletkey, created (mode 0700) when missing. WK_ERR_IO:
 * none of them is usable */
int wk_state_dir(const char *opt, char *out, size_t cap);
/* the default store: the files <dir>/<name>.json, each written to a
 * temporary file, fsync'ed, renamed over the old one, then the directory
 * fsync'ed. dir is kept by pointer: it must outlive the store */
void wk_state_files(const char *dir, wk_state_store *out);


/* ---- enrolment (docs/remote-load.md, docs/attestation.md): wk_wallet_enrol ---- */

/* the steps of wk_wallet_enrol, in order, reported as each is done */
typedef enum wk_enrol_step {
	WK_ENROL_STEP_CARD = 1,		/* the card id read */
	WK_ENROL_STEP_KEY,		/* a wallet key generated in slot 82 */
	WK_ENROL_STEP_ATTESTED,		/* the card's attestation of it read */
	WK_ENROL_STEP_CSR,		/* the CSR signed by the card; sending it */
	WK_ENROL_STEP_ISSUED,		/* the issuer's certificate has the key */
	WK_ENROL_STEP_ANCHOR,		/* certificate, trust anchor, PAN stored */
	WK_ENROL_STEP_KEYS,		/* the purse keys installed in the card */
	WK_ENROL_STEP_RECORD,		/* the card's record kept in the store */
} wk_enrol_step;
typedef void (*wk_enrol_progress_fn)(void *arg, wk_enrol_step step,
    const char *card_id_hex);

typedef struct wk_wallet_enrolment {
	char card_id[17];	/* hex */
	bool existing;		/* the issuer had enrolled this key before */
	char key_algorithms[96];	/* as wk_issuer_enrolment's */
} wk_wallet_enrolment;

/* what an enrolment asks the holder */
typedef enum wk_enrol_ask {
	WK_ENROL_ASK_REPLACE = 1,	/* slot 82 holds a wallet certificate:
					 * replace the card's wallet key (its
					 * old wallet and purse keys go)? */
} wk_enrol_ask;
typedef struct wk_enrol_question {
	wk_enrol_ask ask;
	const char *card_id;	/* hex */
} wk_enrol_question;
/* true to go on; false refuses (WK_ERR_CONDITIONS, nothing changed) */
typedef bool (*wk_enrol_confirm_fn)(void *arg, const wk_enrol_question *q);

typedef struct wk_enrol_opts {
	const uint8_t *mgmt_key;	/* the PIV management key (the
					 * algorithm as the card says) */
	size_t mgmt_key_len;
	const char *pan;		/* the account */
	const char *password;		/* its password */
	/* the issuer's URL as the card's record keeps it; NULL: the URL
	 * the issuer handle was made with */
	const char *issuer_url;
	/* where the card's record goes (card-<card id hex>: card id, issuer
	 * URL, PAN; what the load shows and the transfer reports use); NULL:
	 * wk_state_files(state_dir), state_dir NULL: wk_state_dir(NULL) */
	const wk_state_store *store;
	const char *state_dir;
} wk_enrol_opts;

/*
 * enrols the card with the issuer. Reads the card id; refuses with
 * WK_ERR_INVALID_STATE a purse that holds value from before (loaded with
 * other keys: the card never takes the issuer's keys over it); when slot
 * 82 holds a certificate asks the holder (confirm, WK_ENROL_ASK_REPLACE;
 * NULL or no: WK_ERR_CONDITIONS); forgets any old wallet, generates the
 * wallet key in slot 82, reads the card's attestation of it, has the card
 * sign the CSR, posts both with the account password, checks that the
 * certificate carries the key, stores it, runs WALLET SETUP with the
 * issuer CA's key and the PAN, installs the purse keys the issuer sealed
 * to the card, and keeps the card's record in the store (WK_ERR_IO: the
 * card is enrolled, its record could not be kept: enrol again).
 * WK_ERR_AUTH_FAILED: a wrong management key (or a certificate without
 * the card's key). The issuer's refusal is WK_ERR_ISSUER (its code and
 * message: wk_issuer_error_code/_message). progress (may be NULL) hears
 * each step.
 */
int wk_wallet_enrol(wk_card *card, wk_issuer *is, const wk_enrol_opts *o,
    wk_enrol_confirm_fn confirm, wk_enrol_progress_fn progress, void *arg,
    wk_wallet_enrolment *out);

typedef struct wk_issuer_load {
	char load_id[2 * WK_WALLET_LOAD_ID_LEN + 1];
	char status[16];	/* pending, complete, reversed */
	uint16_t seq;
	uint32_t amount;
	uint8_t grant[WK_WALLET_MSG_MAX];
	size_t grant_len;
	bool has_balance;
	uint32_t balance;
} wk_issuer_load;
/* POST /v1/loads: WK_ERR_ISSUER when refused (see the error code) */
int wk_issuer_load_start(wk_issuer *is, const uint8_t *req, size_t len,
    wk_issuer_load *out);
/* POST /v1/loads/{id}/receipt, /refusal or /recover (what: "receipt",
 * "refusal", "proof") */
int wk_issuer_load_close(wk_issuer *is, const char *load_id, const char *what,
    const uint8_t *msg, size_t len, wk_issuer_load *out);
int wk_issuer_load_get(wk_issuer *is, const char *load_id, wk_issuer_load *out);
/* any other call of the API: path ("/v1/..."), a JSON body (NULL: GET);
 * *resp gets the JSON answer of a 200 (the caller frees it) */
int wk_issuer_request(wk_issuer *is, const char *path, const char *body,
    char **resp);
/* the base URL the handle was made with (without trailing slashes) */
const char *wk_issuer_url(const wk_issuer *is);

/* ---- the remote load (docs/remote-load.md): wk_wallet_load ---- */

/* the steps of the load and of its recovery, in order */
typedef enum wk_load_step {
	WK_LOAD_STEP_PIN = 1,	/* the purse PIN verified */
	WK_LOAD_STEP_REQUEST,	/* the card signed the request; it is kept */
	WK_LOAD_STEP_GRANT,	/* the issuer debited the account and granted
				 * ev->load_id (ev->seq); kept */
	WK_LOAD_STEP_CREDIT,	/* the card answered the grant: credited, or
				 * refused (ev->refused); not kept yet */
	WK_LOAD_STEP_ANSWER,	/* the card's answer is kept */
	WK_LOAD_STEP_CLOSE,	/* the issuer closed the load (ev->status);
				 * the record is removed */
	/* the recovery of a record left by a crash */
	WK_LOAD_STEP_RECOVER,	/* a load was left unfinished; settling it */
	WK_LOAD_STEP_RECOVER_ASK,	/* a request the issuer may never have
					 * seen, sent again: it answers the
					 * same grant (ev->load_id) */
	WK_LOAD_STEP_RECOVER_NONE,	/* the issuer never granted the request
					 * (ev->error): nothing to settle */
	WK_LOAD_STEP_RECOVER_SESSION,	/* the card's issuer session opened */
	WK_LOAD_STEP_RECOVER_READ,	/* the issuer's state of the load read
					 * (ev->status) */
	WK_LOAD_STEP_RECOVER_DONE,	/* the load was already ev->status */
	WK_LOAD_STEP_RECOVER_SAVED,	/* sending the card's saved answer
					 * (ev->what: "receipt", "refusal") */
	WK_LOAD_STEP_RECOVER_PIN,	/* the card needs the purse PIN to state
					 * that ev->seq was never credited */
	WK_LOAD_STEP_RECOVER_PROOF,	/* the card's proof: ev->credited */
	WK_LOAD_STEP_RECOVER_CLOSE,	/* the issuer settled it: ev->status */
	/* the issuer had granted the card's sequence number in a load no
	 * record names (lost): settled with the card's proof, ev->status */
	WK_LOAD_STEP_ORPHAN,
	/* the step ev->failed did not happen: ev->rc; for the issuer's
	 * steps its HTTP status, code and message; for the PIN the tries
	 * left. A store that failed is WK_ERR_IO (errno as the store left
	 * it); a record that does not parse WK_ERR_BAD_DATA at RECOVER */
	WK_LOAD_STEP_FAILED,
} wk_load_step;

typedef struct wk_load_event {
	wk_load_step step;
	wk_load_step failed;	/* FAILED: the step that failed */
	int rc;			/* FAILED */
	const char *card_id;	/* hex */
	const char *record;	/* the pending record's name */
	const char *load_id;	/* from GRANT on, hex; else NULL */
	const char *status;	/* pending, complete, reversed */
	uint16_t seq;
	bool refused;		/* CREDIT, ANSWER, CLOSE */
	bool credited;		/* RECOVER_PROOF */
	const char *what;	/* RECOVER_SAVED */
	int tries_left;		/* FAILED at PIN or RECOVER_PROOF, wrong PIN */
	long http_status;	/* FAILED at an issuer's step; 0: not reached */
	const char *error;	/* the issuer's code ("" none) */
	const char *message;	/* and message */
	double ms;		/* PIN ... CLOSE: the step's time */
} wk_load_event;
typedef void (*wk_load_progress_fn)(void *arg, const wk_load_event *ev);

/* what a load asks the holder */
typedef enum wk_load_ask {
	WK_LOAD_ASK_LOAD = 1,	/* the load (q->amount onto q->card_id) and
				 * the purse PIN to make it */
	WK_LOAD_ASK_PIN,	/* the purse PIN alone: the card's statement
				 * that q->seq was never credited burns it */
} wk_load_ask;
typedef struct wk_load_question {
	wk_load_ask ask;
	const char *card_id;	/* hex */
	wk_purse_kind kind;
	uint32_t amount;	/* fen */
	uint16_t seq;
} wk_load_question;
/* true with the PIN in pin (at most cap bytes, *pin_len) to go on; false
 * to stop (the load: WK_ERR_CANCELLED, nothing was done) */
typedef bool (*wk_load_confirm_fn)(void *arg, const wk_load_question *q,
    char *pin, size_t cap, size_t *pin_len);

typedef struct wk_load_opts {
	wk_purse_kind kind;	/* WK_PURSE_EP (0: EP) or WK_PURSE_ED */
	uint32_t amount;	/* fen, more than 0 */
	/* the issuer's URL as the record keeps it (its recovery talks to
	 * it); NULL: the URL the issuer handle was made with */
	const char *issuer_url;
	/* the store of the pending record; NULL: wk_state_files(state_dir),
	 * state_dir NULL: wk_state_dir(NULL) */
	const wk_state_store *store;
	const char *state_dir;
} wk_load_opts;

typedef struct wk_load_result {
	char card_id[17];	/* hex */
	char load_id[2 * WK_WALLET_LOAD_ID_LEN + 1];
	char status[16];	/* complete, or reversed (the card refused) */
	uint16_t seq;
	bool refused;		/* the card refused the grant */
	bool recovered;		/* a load left unfinished was settled first */
	uint32_t balance;	/* the purse's balance after a credit */
	/* the time of the steps PIN, REQUEST, GRANT, CREDIT+ANSWER, CLOSE */
	double step_ms[5];
} wk_load_result;

/*
 * the remote load, whole: reads the card id, settles a load a crash left
 * unfinished (as wk_wallet_load_recover), asks the holder (confirm: the
 * load and the PIN; nothing is sent before), verifies the PIN, has the card
 * sign the load request, keeps it in the store, posts it to the issuer
 * (which debits the account and grants), keeps the grant, gives it to the
 * card (which credits, or refuses), keeps the card's answer, sends it to
 * the issuer, which closes the load, and removes the record. Each step is
 * reported to progress (may be NULL). A store that fails stops the flow
 * before the next step moves money. WK_OK: credited (out->refused false);
 * a card's refusal is WK_ERR_AUTH_FAILED with out->status "reversed".
 * WK_ERR_PIN_BLOCKED before anything is asked: the purse PIN is blocked
 * (wk_wallet_pin_unblock). An issuer's refusal of the request
 * (WK_ERR_ISSUER) removes the record: nothing was debited; seq_used (a
 * load no record names holds the card's sequence number) settles that load
 * with the card's proof (ORPHAN), and the caller may load again.
 */
int wk_wallet_load(wk_card *card, wk_issuer *is, const wk_load_opts *o,
    wk_load_confirm_fn confirm, wk_load_progress_fn progress, void *arg,
    wk_load_result *out);
/*
 * the recovery alone: when the store holds a load record for this card,
 * settles it with the issuer the record names: a request never granted
 * closes it; a grant with the card's saved answer sends that; else the
 * card's proof that it credited the sequence number, or its statement
 * that it never did (which burns the number and needs the purse PIN:
 * confirm, WK_LOAD_ASK_PIN). The record is removed once the issuer's load
 * is closed. *settled (may be NULL) tells whether there was one. A blocked
 * purse still settles. The purse is selected on return. o->amount and
 * o->kind are not used.
 */
int wk_wallet_load_recover(wk_card *card, const wk_load_opts *o,
    wk_load_confirm_fn confirm, wk_load_progress_fn progress, void *arg,
    bool *settled);

/* ---- card to card (docs/remote-load.md): wk_wallet_transfer ---- */

/* the steps of a transfer and of its recovery */
typedef enum wk_xfer_step {
	WK_XFER_STEP_CARDS = 1,	/* both cards' ids and wallet certificates
				 * read, their purses selected */
	/* the recovery of a transfer a crash left unfinished */
	WK_XFER_STEP_RECOVER,	/* ev->record: settling it */
	WK_XFER_STEP_VOIDED,	/* the sending card never sent a token: it
				 * signed a void one, which moves nothing */
	WK_XFER_STEP_HELD,	/* the sending card still holds its token */
	WK_XFER_STEP_REDEEM,	/* the token (kept) goes to the receiver */
	WK_XFER_STEP_TO_PIN,	/* the receiving card's PIN verified */
	WK_XFER_STEP_QUEUED,	/* the receiver credited; the token is queued
				 * for the issuer (report-<token id>) */
	WK_XFER_STEP_SETTLED,	/* the record removed: ev->amount (0: void)
				 * credited, ev->balance, or ev->already */
	/* the transfer */
	WK_XFER_STEP_CHALLENGES,	/* each card signed the other's challenge */
	WK_XFER_STEP_AUTH,	/* the cards authenticated each other */
	WK_XFER_STEP_CHALLENGE,	/* the receiving card's challenge, kept */
	WK_XFER_STEP_FROM_PIN,	/* the sending card's PIN verified */
	WK_XFER_STEP_SENT,	/* it debited and signed the token; not kept */
	WK_XFER_STEP_TOKEN,	/* the token kept */
	WK_XFER_STEP_DONE,	/* the transfer complete */
	/* the step ev->failed did not happen: ev->rc (at CARDS, ev->sender
	 * tells which card and ev->what what: "card id", "certificate",
	 * "purse"); WK_ERR_IO: the store; WK_ERR_BAD_DATA at RECOVER: a
	 * record that does not parse */
	WK_XFER_STEP_FAILED,
} wk_xfer_step;

typedef struct wk_xfer_event {
	wk_xfer_step step;
	wk_xfer_step failed;	/* FAILED */
	int rc;			/* FAILED */
	bool sender;		/* which card, where it matters */
	bool recovering;	/* a step of the recovery */
	const char *from;	/* hex */
	const char *to;
	const char *record;	/* the record's name, when there is one */
	const char *what;
	uint32_t amount;	/* fen */
	uint32_t balance;	/* SETTLED: the receiver's */
	bool already;		/* SETTLED: it had redeemed the token before */
	int tries_left;		/* FAILED at a PIN: after a wrong one */
} wk_xfer_event;
typedef void (*wk_xfer_progress_fn)(void *arg, const wk_xfer_event *ev);

typedef enum wk_xfer_ask {
	WK_XFER_ASK_TRANSFER = 1,	/* q->amount from q->from to q->to */
	WK_XFER_ASK_PIN,		/* the purse PIN of one card (q->sender) */
} wk_xfer_ask;
typedef struct wk_xfer_question {
	wk_xfer_ask ask;
	bool sender;
	const char *from;	/* hex */
	const char *to;
	uint32_t amount;
} wk_xfer_question;
/* true to go on (with the PIN in pin, at most cap bytes, for ASK_PIN);
 * false stops the flow: WK_ERR_CANCELLED */
typedef bool (*wk_xfer_confirm_fn)(void *arg, const wk_xfer_question *q,
    char *pin, size_t cap, size_t *pin_len);

typedef struct wk_xfer_opts {
	uint32_t amount;	/* fen, more than 0 (not used by the recovery) */
	/* as wk_load_opts: the store needs list */
	const wk_state_store *store;
	const char *state_dir;
} wk_xfer_opts;

typedef struct wk_xfer_result {
	char from[17];		/* hex */
	char to[17];
	unsigned recovered;	/* unfinished transfers settled first */
	uint32_t balance;	/* the receiver's balance after */
} wk_xfer_result;

/*
 * the transfer, whole: reads both cards' ids and wallet certificates,
 * settles what a crash left between them (as wk_wallet_transfer_recover),
 * asks the holder (confirm, WK_XFER_ASK_TRANSFER), has the cards
 * authenticate each other, verifies the receiving card's PIN (ASK_PIN),
 * keeps its receive challenge in the store (xfer-<from>-<challenge>),
 * verifies the sending card's PIN, has it debit and sign the token, keeps
 * the token, has the receiving card redeem it, queues the token for the
 * issuer (report-<token id>, docs/remote-load.md "Reporting a transfer";
 * reporting it is the caller's: wk_wallet_transfer_reports) and removes
 * the record. A sending PIN
 * refused, or a debit the card refuses (funds), closes the receiving
 * card's challenge with a void token: nothing moves. A store that fails
 * stops the flow before the next step moves money.
 */
int wk_wallet_transfer(wk_card *from, wk_card *to, const wk_xfer_opts *o,
    wk_xfer_confirm_fn confirm, wk_xfer_progress_fn progress, void *arg,
    wk_xfer_result *out);
/*
 * the recovery alone: every record of an unfinished transfer from -> to is
 * settled: the token from the record, else from the sending card, else
 * (never sent) a void token the sending card signs; the receiving card
 * (its PIN asked once) redeems it once, the token is queued for the issuer
 * and the record removed. out->recovered: the records found; the first
 * error is returned after the others were tried
 */
int wk_wallet_transfer_recover(wk_card *from, wk_card *to,
    const wk_xfer_opts *o, wk_xfer_confirm_fn confirm,
    wk_xfer_progress_fn progress, void *arg, wk_xfer_result *out);

/* ---- transfer reports (docs/remote-load.md "Reporting a transfer"):
 * wk_wallet_transfer_reports. The tokens the transfer flow queued
 * (report-<token id>) go to the issuer, which moves the sender's float to
 * the receiver's; a record goes once the issuer took its token (it answers
 * a token it had with the same answer and moves nothing again). */
typedef enum wk_report_step {
	WK_REPORT_STEP_SENDING = 1,	/* ev->token_id about to be posted */
	WK_REPORT_STEP_REPORTED,	/* the issuer took it; the record gone */
	/* not reported yet, the record stays: ev->rc; ev->issuer when the
	 * issuer refused (its status, code and message: float_short while
	 * the sender's own incoming transfers are not reported); WK_ERR_ARG
	 * no issuer known for its cards; WK_ERR_IO the record stayed after
	 * the issuer took it (posted again next time) */
	WK_REPORT_STEP_LEFT,
	WK_REPORT_STEP_DAMAGED,		/* ev->record holds no transfer token */
} wk_report_step;

typedef struct wk_report_event {
	wk_report_step step;
	const char *record;	/* the record's name */
	const char *token_id;	/* hex, from SENDING on */
	const char *from;	/* the cards, hex */
	const char *to;
	uint32_t amount;	/* fen */
	const char *issuer_url;
	int rc;			/* LEFT */
	bool issuer;		/* LEFT: the issuer answered */
	long http_status;
	const char *error;
	const char *message;
} wk_report_event;
typedef void (*wk_report_progress_fn)(void *arg, const wk_report_event *ev);

typedef struct wk_report_opts {
	const char *card_hex;	/* only the tokens naming this card; NULL all */
	/* NULL: the issuer the sender was enrolled with (its record
	 * card-<id>), else the receiver's */
	const char *issuer_url;
	/* as wk_load_opts: the store needs list */
	const wk_state_store *store;
	const char *state_dir;
} wk_report_opts;

/*
 * posts every queued token (of o->card_hex's transfers) to the issuer, in
 * passes until a pass takes none (a token refused because its sender's
 * own incoming transfer was not reported may go through once that one
 * is); progress hears each token. *reported (may be NULL): the tokens
 * taken; *left (may be NULL): those that stay after the last pass. A
 * token that cannot be reported now is no error: WK_OK, it stays for the
 * next call; WK_ERR_IO the store could not list its records.
 */
int wk_wallet_transfer_reports(const wk_report_opts *o,
    wk_report_progress_fn progress, void *arg, unsigned *reported,
    unsigned *left);

/* ==== online payments confirmed on the card (docs/payments.md) ========
 * A merchant asks the issuer for a payment; the issuer signs a payment
 * request for the payer's card; the relay (walletkey confirm) shows it,
 * the holder accepts or declines with the purse PIN, the card checks the
 * issuer's signature and signs its own confirmation (or answers an OCRA
 * response, RFC 6287), and the relay posts that to the issuer. */
#define WK_PAY_ID_HEX 33
#define WK_PAY_OCRA_DIGITS 8

/* a request as the card will sign it: every field from the issuer's
 * signed bytes (msg), never from anything else the issuer said */
typedef struct wk_pay_request {
	char id[WK_PAY_ID_HEX];		/* hex */
	char card_id[17];		/* hex */
	char payer[20];			/* the account PAN */
	char payee[13];			/* the merchant's id, hex */
	char payee_name[65];
	char order_id[65];
	char description[201];
	uint32_t amount;		/* fen */
	char currency[4];
	int64_t expires;		/* unix seconds */
	uint8_t msg[WK_WALLET_MSG_MAX];
	size_t msg_len;
} wk_pay_request;

/* the fields of an issuer's payment request (type 11), unverified: the
 * card checks the signature. WK_ERR_BAD_DATA: not a payment request */
int wk_pay_request_parse(const uint8_t *msg, size_t len, wk_pay_request *out);

/*
 * the card (purse selected, wk_purse_verify_pin for a new answer: else
 * WK_ERR_AUTH_REQUIRED; the verification is used up): its signed
 * confirmation (type 12) of req with the holder's decision. The same
 * request again returns the same answer, without the PIN; the other
 * decision is refused (WK_ERR_CONDITIONS, as for a request the card finds
 * expired). WK_ERR_AUTH_FAILED (6988): not signed by the card's issuer;
 * WK_ERR_BAD_DATA: another card's or account's request; WK_ERR_NO_SPACE:
 * the audit log is full. *len: capacity in, length out. *sw (may be NULL)
 * gets the status word.
 */
int wk_pay_card_confirm(wk_card *card, const uint8_t *req, size_t len,
    bool accept, uint8_t *conf, size_t *conf_len, uint16_t *sw);
/* the OCRA variant (acceptance only): the card's 8 digits and the time
 * step (minutes since the epoch) it used. WK_ERR_NOT_FOUND: the card has
 * no OCRA key */
int wk_pay_card_ocra(wk_card *card, const uint8_t *req, size_t len,
    char digits[WK_PAY_OCRA_DIGITS + 1], uint64_t *t, uint16_t *sw);
/* the answer the card gave req before (no PIN): WK_ERR_NOT_FOUND when it
 * gave none (or forgot it after 64 newer ones) */
int wk_pay_card_answer(wk_card *card, const uint8_t *req, size_t len,
    bool ocra, uint8_t *ans, size_t *ans_len, uint16_t *sw);

/* the issuer's answer to a confirmation */
typedef struct wk_pay_result {
	char id[WK_PAY_ID_HEX];
	char status[16];	/* paid, declined, expired, failed, cancelled */
	char error[40];		/* the issuer's code when refused, else "" */
	char message[256];
	uint32_t amount;
} wk_pay_result;

/* GET /v1/cards/{card}/payments?wait=S: the card's open requests (at most
 * cap), waiting up to wait seconds (0-20) for one */
int wk_issuer_pay_pending(wk_issuer *is, const char *card_id_hex, int wait,
    wk_pay_request *out, size_t cap, size_t *n);
/* POST /v1/payments/{id}/confirmation: the card's signed confirmation,
 * its OCRA response (digits, t), or (conf and digits NULL) a decline
 * without the card. WK_OK with out filled also for a refusal the issuer
 * closed the payment with (out->status "failed", out->error its code) */
int wk_issuer_pay_answer(wk_issuer *is, const char *id, const uint8_t *conf,
    size_t conf_len, const char *digits, uint64_t t, wk_pay_result *out);

/* the flow of walletkey confirm */
typedef enum wk_pay_step {
	WK_PAY_STEP_LIST = 1,	/* the open requests (ev->list, ev->n) */
	WK_PAY_STEP_ASK,	/* ev->req is about to be put to the holder */
	WK_PAY_STEP_SKIPPED,	/* the holder gave no answer in time */
	WK_PAY_STEP_PIN_WRONG,	/* ev->tries_left */
	WK_PAY_STEP_SIGNED,	/* the card answered ev->req */
	WK_PAY_STEP_POSTING,	/* its answer is kept in the store; posting it */
	WK_PAY_STEP_REFUSED,	/* the card refused ev->req (ev->rc, ev->sw) */
	WK_PAY_STEP_ANSWERED,	/* the issuer's final answer (ev->result) */
	WK_PAY_STEP_WAITING,	/* the issuer or the card is away (ev->rc,
				 * ev->what); trying again in ev->retry_in s */
	WK_PAY_STEP_BACK,	/* ev->what is back */
	WK_PAY_STEP_STOPPED,	/* the issuer refused the relay itself (the
				 * card's session: a revoked card, ...):
				 * ev->error, ev->message; it returns */
} wk_pay_step;

typedef struct wk_pay_event {
	wk_pay_step step;
	const wk_pay_request *req;
	const wk_pay_request *list;
	size_t n;
	const wk_pay_result *result;
	int rc;
	uint16_t sw;
	int tries_left;
	const char *what;	/* "issuer" or "card" */
	int retry_in;
	const char *error;	/* the issuer's code and message (STOPPED) */
	const char *message;
} wk_pay_event;

typedef enum wk_pay_decision {
	WK_PAY_SKIP = 0,	/* no answer: the request stays open */
	WK_PAY_ACCEPT,
	WK_PAY_DECLINE,
} wk_pay_decision;

/* asks the holder about req: the decision, and for an answer from the
 * card the purse PIN into pin (at most cap bytes, *pin_len) */
typedef wk_pay_decision (*wk_pay_confirm_fn)(void *arg,
    const wk_pay_request *req, char *pin, size_t cap, size_t *pin_len);
typedef void (*wk_pay_progress_fn)(void *arg, const wk_pay_event *ev);

typedef struct wk_pay_relay_opts {
	const char *reader;	/* NULL: the first walletkey card */
	const char *issuer_url;
	/* the default store's directory (NULL: wk_state_dir(NULL)) */
	const char *state_dir;
	bool watch;		/* keep going; outlive the issuer and the card */
	bool ocra;		/* answer with OCRA responses */
	int wait;		/* seconds to wait for a first request (0-20) */
	/* set (by a signal handler) to stop a watch; may be NULL */
	const volatile int *stop;
	/* where an answer waits to be posted (its list too is needed); NULL:
	 * wk_state_files(state_dir) */
	const wk_state_store *store;
} wk_pay_relay_opts;

/*
 * the relay: finds the card, asks the issuer for the card's open requests,
 * puts each to the holder (confirm), has the card answer, posts the
 * answer, and reports each step (progress). An answer the card gave
 * before (a relay killed after the card signed) is posted without asking
 * again; one not yet posted waits in the store (the record "pay-<id>":
 * by default the file pay-<id>.json of the state directory, one compact
 * JSON object) until the issuer has it, and is posted first at the next
 * pass. A store that cannot save the card's answer stops the relay
 * (WK_ERR_IO) before it is posted. Without watch: one pass, then WK_OK, or
 * the error that stopped it. With watch: until *stop, waiting out the
 * issuer or card going away.
 */
int wk_pay_relay(wk_ctx *ctx, const wk_pay_relay_opts *o,
    wk_pay_confirm_fn confirm, wk_pay_progress_fn progress, void *arg);
/* ==== issuer sessions (docs/issuer.md "Sessions") =======================
 * The issuer's doors that read or change a card's data (its audit history
 * and loads, record uploads and acknowledgements, a load's state) want a
 * short-lived bearer token of that card. The card earns one by signing the
 * issuer's fresh, single-use challenge with its wallet key (PIV slot 82) in
 * a session proof it builds itself (ISSUER SESSION, wk_msg type 17): no
 * other signature of the card is one, and the host cannot make the card
 * sign bytes of its choosing. */
#define WK_ISSUER_CHALLENGE_LEN 16
#define WK_ISSUER_TOKEN_MAX 64
typedef enum wk_issuer_scope {
	/* the card is present: upload records, acknowledge, read a load */
	WK_ISSUER_SCOPE_CARD = 1,
	/* and its holder gave the purse PIN: also read the history and the
	 * ledger's loads of the card */
	WK_ISSUER_SCOPE_HOLDER = 2,
} wk_issuer_scope;
typedef struct wk_issuer_session {
	char token[WK_ISSUER_TOKEN_MAX + 1];	/* "Authorization: Bearer" */
	char card_id[17];			/* hex */
	wk_issuer_scope scope;
	long expires_in;			/* seconds, from the issuer */
} wk_issuer_session;

/* the purse selected (a blocked purse answers too): the card's session
 * proof over the issuer's challenge. WK_ERR_AUTH_REQUIRED: scope HOLDER
 * without wk_purse_verify_pin in this selection; WK_ERR_CONDITIONS: the
 * card is not enrolled. *len: capacity in, length out */
int wk_wallet_session_proof(wk_card *card, wk_issuer_scope scope,
    const uint8_t challenge[WK_ISSUER_CHALLENGE_LEN], uint8_t *msg,
    size_t *len);
/* POST /v1/cards/{card}/challenges: a fresh challenge for the card */
int wk_issuer_challenge(wk_issuer *is, const char *card_id_hex,
    uint8_t challenge[WK_ISSUER_CHALLENGE_LEN]);
/* POST /v1/sessions: the token for the card's proof; is sends it from
 * now on (wk_issuer_set_token) */
int wk_issuer_session_start(wk_issuer *is, const uint8_t *proof, size_t len,
    wk_issuer_session *out);
/* the bearer token every later call of is sends; NULL: none. The token is
 * a secret for its few minutes: is wipes it when replaced or freed */
int wk_issuer_set_token(wk_issuer *is, const char *token);
/*
 * the whole flow, in one card transaction: reads the card id, selects the
 * purse, verifies pin when pin != NULL (then the session has the holder's
 * scope, else the card's), asks the issuer for a challenge, has the card
 * sign it, opens the session and installs its token in is. *tries_left
 * (may be NULL) on WK_ERR_WRONG_PIN. The issuer's refusal is
 * WK_ERR_ISSUER (wk_issuer_error_code: card_revoked, ...). out may be NULL.
 */
int wk_issuer_session_open(wk_card *card, wk_issuer *is, const char *pin,
    size_t pin_len, int *tries_left, wk_issuer_session *out);

/* ==== end of the wallet block ==== */

/* ==== audit client (docs/audit.md) =====================================
 * owner: branch audit (middleware/wk_audit.c). The audit applet keeps the
 * card's hash-chained transaction log; it answers only after the purse PIN
 * and exports records only sealed to a recipient's X25519 key (the record
 * and page formats are common/wk_arec.h).
 */
typedef struct wk_audit_status {
	uint32_t capacity;	/* records the card keeps at most */
	uint32_t count;		/* records it keeps now */
	uint64_t base_seq;	/* checkpoint: last record dropped (0: none) */
	uint64_t head_seq;	/* newest record (0: none) */
	uint64_t acked;		/* highest seq the issuer acknowledged */
} wk_audit_status;

typedef struct wk_audit_head {
	uint64_t base_seq;
	uint8_t base_hash[32];
	uint64_t head_seq;
	uint8_t head_hash[32];
	uint8_t nonce[16];
	uint8_t sig[80];	/* DER ECDSA P-256, wallet key (PIV slot 82) */
	size_t sig_len;
} wk_audit_head;

/* selects the audit applet (this deselects any other applet) */
int wk_audit_select(wk_card *card);
int wk_audit_get_status(wk_card *card, wk_audit_status *st);
/* the purse PIN (ASCII digits); *tries_left on WK_ERR_WRONG_PIN */
int wk_audit_verify_pin(wk_card *card, const char *pin, size_t pin_len,
    int *tries_left);
/* the chain head signed over a fresh nonce; WK_ERR_NOT_FOUND without a
 * wallet key in slot 82 */
int wk_audit_get_head(wk_card *card, const uint8_t nonce[16],
    wk_audit_head *head);
/* one sealed page of at most max (1-255) records from seq cursor on;
 * *len is out's capacity on entry, the page's length on return */
int wk_audit_get_page(wk_card *card, const uint8_t recipient[32],
    uint64_t cursor, unsigned max, uint8_t *out, size_t *len);

/*
 * the whole log from seq from_seq on (0: the oldest the card keeps), in one
 * card transaction: the audit applet selected, VERIFY with pin (NULL: none,
 * for a card whose profile does not ask it for the history; then
 * WK_ERR_AUTH_REQUIRED when it does), the head signed over a fresh nonce
 * when the card has a wallet key (*have_head), then every page sealed to a
 * fresh X25519 key and opened here; cb gets each record (WK_AUDIT_RECORD_LEN
 * raw bytes, oldest first; a non-zero return stops the export with
 * WK_ERR_INTERNAL). *tries_left on WK_ERR_WRONG_PIN. head and have_head
 * may be NULL.
 */
#define WK_AUDIT_RECORD_LEN 86
typedef int (*wk_audit_record_fn)(void *arg, const uint8_t *raw);
int wk_audit_export(wk_card *card, const char *pin, size_t pin_len,
    uint64_t from_seq, wk_audit_record_fn cb, void *arg, wk_audit_head *head,
    bool *have_head, int *tries_left);

/*
 * the bank's records of the account (docs/audit.md "The bank's records"):
 * deposits, online payments, settlements and reversals the card did not
 * see, signed by the issuer for this card; the card checks them with its
 * trust anchor and chains them into its log, each once (by its event
 * number), all of a batch or none. No PIN. The audit applet selected.
 */
#define WK_AUDIT_BANK_BATCH_MAX (23 + 64 * 86 + 72)
/* the last event number the card stored (0: none) */
int wk_audit_bank_last(wk_card *card, uint64_t *last);
/* a batch in (wk_arec.h WKAUDIT-ISS/1): *stored records were new, *last is
 * the card's last event number now. *sw: 6982 not the issuer's signature
 * (WK_ERR_AUTH_REQUIRED), 6985 the card is not enrolled, 6A80 another
 * card's or malformed, 6A84 the log is full (WK_ERR_NO_SPACE): each refusal
 * changes nothing */
int wk_audit_bank_put(wk_card *card, const uint8_t *batch, size_t len,
    unsigned *stored, uint64_t *last, uint16_t *sw);
/* GET /v1/audit/{card}/bank/{after} with the holder's session (an
 * is with wk_issuer_session_open's token): a batch of the records after
 * event number after (*len 0: none), *more when there are more */
int wk_issuer_bank_records(wk_issuer *is, const char *card_id_hex,
    uint64_t after, uint8_t *batch, size_t *len, bool *more);
/*
 * the whole download: from the card's last event number on, every batch
 * the issuer has, into the card; *stored (may be NULL) counts the records
 * the card took. The issuer's session must be the holder's for this card.
 * progress (may be NULL) hears each batch: records so far.
 */
typedef void (*wk_audit_bank_progress_fn)(void *arg, unsigned stored);
int wk_audit_bank_sync(wk_card *card, wk_issuer *is,
    wk_audit_bank_progress_fn progress, void *arg, unsigned *stored);

/* the issuer's signed acknowledgement (docs/audit.md "Sync with the
 * issuer"): records up to seq, the newest hashing to hash, are synced.
 * No PIN. WK_ERR_AUTH_REQUIRED (6982) for a signature the card's trust
 * anchor refuses; the card changes nothing then */
int wk_audit_ack(wk_card *card, uint64_t seq, const uint8_t hash[32],
    const uint8_t *sig, size_t sig_len, uint16_t *sw);

/* the issuer's signed revocation list (docs/audit.md "Revocation list",
 * common/wk_arec.h WKAUDIT-CRL/1), delivered beside its acknowledgement;
 * the card refuses transfer peers it names. No PIN. WK_ERR_AUTH_REQUIRED
 * (6982): not the issuer's signature; WK_ERR_CONDITIONS (6985): older than
 * the card's list (or the card is not enrolled). The card changes nothing
 * then. WK_ERR_ARG: list does not parse */
int wk_audit_revocation_list(wk_card *card, const uint8_t *list, size_t len,
    uint16_t *sw);
typedef struct wk_audit_revocations {
	uint64_t version;	/* 0: the card holds no list */
	uint64_t issued;	/* unix seconds */
	uint16_t count;
} wk_audit_revocations;
int wk_audit_revocation_status(wk_card *card, wk_audit_revocations *st);

/* ---- the audit sync (docs/audit.md "Sync with the issuer"): wk_audit_sync
 * The card's records go to the issuer sealed to its key, the issuer's
 * CA-signed acknowledgement (and its revocation list) to the card. No state
 * store: the issuer's newest stored record is the cursor a sync resumes
 * from, and the card drops nothing before it took the acknowledgement. */
typedef enum wk_sync_step {
	WK_SYNC_STEP_KEY = 1,	/* the issuer's audit key read */
	WK_SYNC_STEP_CARD,	/* the card id read (ev->serial), its log
				 * selected; nothing sent to the issuer yet */
	WK_SYNC_STEP_SESSION,	/* the holder's issuer session opened */
	WK_SYNC_STEP_BANK,	/* the bank's records: ev->count new on the card */
	WK_SYNC_STEP_PIN,	/* the audit log's PIN verified */
	WK_SYNC_STEP_HEAD,	/* the card's signed head read (ev->seq) */
	WK_SYNC_STEP_EMPTY,	/* the card's log is empty: nothing to do */
	WK_SYNC_STEP_PAGE,	/* a page stored at the issuer: ev->done of
				 * ev->total records, ev->count pages so far */
	WK_SYNC_STEP_LOST,	/* the card was lost at ev->seq: connecting
				 * again (opts->reconnect) */
	WK_SYNC_STEP_ACKED,	/* the issuer acknowledged up to ev->seq; the
				 * card has not taken it yet */
	WK_SYNC_STEP_CARD_ACKED,	/* the card took the acknowledgement */
	WK_SYNC_STEP_CRL,	/* the card took the revocation list (ev->seq
				 * its version, ev->count its cards) */
	/* the step ev->failed did not happen: ev->rc; ev->issuer when the
	 * issuer's side failed (its status, code and message);
	 * WK_ERR_BAD_DATA: the issuer's answer is malformed (at PAGE: it
	 * stored nothing from ev->seq); at CARD_ACKED and CRL ev->sw */
	WK_SYNC_STEP_FAILED,
} wk_sync_step;

typedef struct wk_sync_event {
	wk_sync_step step;
	wk_sync_step failed;	/* FAILED */
	int rc;			/* FAILED */
	bool issuer;		/* FAILED: on the issuer's side */
	const char *serial;	/* hex, from CARD on */
	uint64_t seq;
	uint64_t done, total;	/* PAGE */
	unsigned count;
	uint16_t sw;
	int tries_left;		/* FAILED at PIN: after a wrong one */
	long http_status;	/* FAILED on the issuer's side */
	const char *error;
	const char *message;
} wk_sync_event;
typedef void (*wk_sync_progress_fn)(void *arg, const wk_sync_event *ev);
/* the purse PIN (4-12 digits) that opens the audit log and the holder's
 * session; false stops the sync (WK_ERR_CANCELLED) */
typedef bool (*wk_sync_confirm_fn)(void *arg, char *pin, size_t cap,
    size_t *pin_len);

typedef struct wk_sync_opts {
	unsigned page_max;	/* records per page (1-255; 0: 255) */
	/* after a lost link (the card or pcscd restarted): a new connection
	 * to the same card into *card (the old handle is the callback's to
	 * free), tried for up to 30 s; NULL: a lost link stops the sync */
	int (*reconnect)(void *arg, wk_card **card);
} wk_sync_opts;

typedef struct wk_sync_result {
	char serial[17];
	bool empty;		/* the card's log was empty */
	uint64_t head;		/* the card's head seq */
	uint64_t uploaded;	/* records uploaded */
	uint64_t missing;	/* records the issuer lacked, first..last */
	uint64_t missing_first, missing_last;
	uint64_t acked;		/* acknowledged up to */
	bool crl;		/* a revocation list was taken */
	uint64_t crl_version;
	unsigned revoked;
	unsigned bank;		/* the bank's records new on the card */
	unsigned bank_later;	/* of them, those that reach the issuer next time */
	bool bank_complete;	/* false: the log is full, the newest wait */
	double total_ms, card_ms, issuer_ms;	/* where the time went */
} wk_sync_result;

/*
 * the sync, whole: the issuer's audit key, the PIN (confirm), the card's
 * log (inside one card transaction), the holder's session, the bank's
 * records the card did not see (into its log before the upload), every
 * record the issuer lacks uploaded page by page from its cursor (again from
 * its acknowledged seq when it refuses an acknowledgement, 409, up to 3
 * rounds), the card's signed head to the issuer, its acknowledgement and
 * revocation list to the card. *card may be replaced (reconnect); *card
 * NULL: the flow connects with opts->reconnect after the PIN.
 * WK_ERR_PIN_BLOCKED: the holder's session cannot open (the caller may
 * deliver the bank's PIN reload); WK_ERR_CONDITIONS: the card is not
 * enrolled.
 */
int wk_audit_sync(wk_card **card, wk_issuer *is, const wk_sync_opts *o,
    wk_sync_confirm_fn confirm, wk_sync_progress_fn progress, void *arg,
    wk_sync_result *out);

/* ---- a card's log against the issuer's books (docs/audit.md "Verify"):
 * wk_audit_verify_issuer ---- */
typedef struct wk_audit_log_view {
	uint8_t serial[8];		/* the card's id */
	const uint8_t *records;	/* n raw records of 86 bytes, by seq */
	size_t n;
	const wk_audit_head *head;	/* the card's signed head, or NULL */
	const char *cert_pem;	/* the wallet certificate (slot 82), or NULL */
} wk_audit_log_view;
/* one discrepancy, in words */
typedef void (*wk_audit_fault_fn)(void *arg, const char *fault);

/*
 * compares a card's log (an export's records, head and certificate) with
 * the issuer's: the wallet certificate issued by the issuer's CA; the
 * issuer's CA-signed history of the card (each page signed for this card,
 * its chain linked) record by record against the card's (one that
 * differs, one missing on either side, a checkpoint that is not the
 * issuer's record); the issuer's CA-signed list of the card's completed
 * remote loads against the remote-load records (a load in no record, a
 * balance after it that differs, a remote load the ledger does not hold).
 * is carries the holder's session of that card (wk_issuer_session_open
 * with the PIN: the issuer shows a history to its card only). Each
 * discrepancy goes to fault and is added to *faults. WK_OK: compared;
 * else the comparison could not be made: why (may be NULL) says how when
 * the issuer's answer was malformed or missing a part, else the issuer's
 * status, code and message are in is.
 */
int wk_audit_verify_issuer(wk_issuer *is, const wk_audit_log_view *log,
    wk_audit_fault_fn fault, void *arg, size_t *faults, char *why,
    size_t why_cap);

/* ==== end of the audit block ==== */

/* ==== GM client: SM2/SM3/SM4 and the SKF object model (docs/gm.md) ====
 * owner: branch gm (middleware/wk_gm.c). A wk_gm is a session with the GM
 * applet on one wk_card; every call selects the applet and runs inside one
 * card transaction, so another process's applet selection between two
 * calls cannot redirect a command. Status words map through
 * wk_rc_from_sw; wk_gm_last_sw() keeps the last one (6A89: the name
 * exists; 6A83: no such key or certificate in the container; 6A88: no
 * such application or session handle). Keys are raw: public x || y (64
 * bytes), private d (32), signatures r || s (64), ciphertexts
 * C1 || C3 || C2 (GM/T 0009 order). Applications are named by the number
 * wk_gm_app_open() returns; session objects by 32-bit handles.
 */
#define WK_GM_PIN_ADMIN 0
#define WK_GM_PIN_USER 1
#define WK_GM_RIGHT_NEVER 0x00u
#define WK_GM_RIGHT_ADMIN 0x01u
#define WK_GM_RIGHT_USER 0x10u
#define WK_GM_RIGHT_ANYONE 0xFFu
#define WK_GM_SM4_ECB 0x00000401u
#define WK_GM_SM4_CBC 0x00000402u
#define WK_GM_SM4_CFB 0x00000404u
#define WK_GM_SM4_OFB 0x00000408u
#define WK_GM_SM4_MAC 0x00000410u
#define WK_GM_SM2_1 0x00020100u
#define WK_GM_SM2_2 0x00020200u
#define WK_GM_SM2_3 0x00020400u
#define WK_GM_SM3 0x00000001u
#define WK_GM_SHA1 0x00000002u
#define WK_GM_SHA256 0x00000004u
#define WK_GM_OP_ENCRYPT 1
#define WK_GM_OP_DECRYPT 2
#define WK_GM_OP_MAC 3
#define WK_GM_STEP_UPDATE 0
#define WK_GM_STEP_FINAL 1
#define WK_GM_STEP_ONCE 2
#define WK_GM_PIN_MIN 6
#define WK_GM_PIN_MAX 16
#define WK_GM_NAME_MAX 64
#define WK_GM_APP_NAME_MAX 32
#define WK_GM_FILE_NAME_MAX 31
#define WK_GM_TRIES_MAX 15
#define WK_GM_CERT_MAX 4096u
#define WK_GM_DATA_MAX 8192u
#define WK_GM_ID_MAX 128
#define WK_GM_LABEL_MAX 31
#define WK_GM_MAX_APPS 8
#define WK_GM_MAX_FILES 32
#define WK_GM_MAX_CONTAINERS 16
#define WK_GM_DEV_KEY_LEN 16

typedef struct wk_gm wk_gm;

typedef struct wk_gm_info {
	uint8_t version[2];
	uint8_t serial[8];
	char label[WK_GM_LABEL_MAX + 1];
	uint32_t sym_cap;
	uint32_t asym_cap;
	uint32_t hash_cap;
	uint32_t dev_auth_alg;
	uint32_t total_space;
	uint32_t free_space;
	uint32_t max_data;
	unsigned dev_tries_left;
	bool dev_key_default;
} wk_gm_info;

/* a name from a list: an application (with its number), file or container */
typedef struct wk_gm_name {
	uint8_t id;
	char name[WK_GM_NAME_MAX + 1];
} wk_gm_name;

/* container flags of wk_gm_cont_info */
#define WK_GM_CONT_SIGN_KEY 0x01u
#define WK_GM_CONT_ENC_KEY 0x02u
#define WK_GM_CONT_SIGN_CERT 0x04u
#define WK_GM_CONT_ENC_CERT 0x08u

/* selects the GM applet on card; the wk_gm borrows card */
int wk_gm_open(wk_card *card, wk_gm **out);
void wk_gm_free(wk_gm **gm);
wk_card *wk_gm_card(const wk_gm *gm);
uint16_t wk_gm_last_sw(const wk_gm *gm);

/* device */
int wk_gm_get_info(wk_gm *gm, wk_gm_info *info);
/* card randomness; the first 16 bytes (or fewer, zero-padded) of the last
 * call are the challenge the next wk_gm_dev_auth_answer() answers */
int wk_gm_random(wk_gm *gm, uint8_t *out, size_t len);
/* the answer to the challenge: SM4-ECB under the device key */
int wk_gm_dev_auth_answer(wk_gm *gm, const uint8_t answer[16],
    unsigned *tries_left);
/* both steps with the key itself (the CLI's way) */
int wk_gm_dev_auth(wk_gm *gm, const uint8_t *key, size_t len,
    unsigned *tries_left);
/* forgets the device authentication (SKF_DisConnectDev does this) */
int wk_gm_dev_logout(wk_gm *gm);
int wk_gm_set_dev_key(wk_gm *gm, const uint8_t *key, size_t len);
int wk_gm_set_label(wk_gm *gm, const char *label);

/* applications */
int wk_gm_app_create(wk_gm *gm, const char *name, const uint8_t *admin_pin,
    size_t admin_len, unsigned admin_tries, const uint8_t *user_pin,
    size_t user_len, unsigned user_tries, uint32_t create_rights,
    uint8_t *app);
int wk_gm_app_list(wk_gm *gm, wk_gm_name *out, size_t cap, size_t *n);
int wk_gm_app_delete(wk_gm *gm, const char *name);
int wk_gm_app_open(wk_gm *gm, const char *name, uint8_t *app);

/* PINs of an application; tries_left (may be NULL) is set on
 * WK_ERR_WRONG_PIN, and to 0 on WK_ERR_PIN_BLOCKED */
int wk_gm_verify_pin(wk_gm *gm, uint8_t app, int type, const uint8_t *pin,
    size_t len, unsigned *tries_left);
/* verified now, else the tries left */
int wk_gm_pin_status(wk_gm *gm, uint8_t app, int type, bool *verified,
    unsigned *tries_left);
int wk_gm_change_pin(wk_gm *gm, uint8_t app, int type, const uint8_t *old,
    size_t old_len, const uint8_t *new_pin, size_t new_len,
    unsigned *tries_left);
int wk_gm_pin_info(wk_gm *gm, uint8_t app, int type, unsigned *max_tries,
    unsigned *tries_left, bool *is_default);
/* with the admin PIN: a new user PIN and its counter restored; tries_left
 * is the admin PIN's */
int wk_gm_unblock_pin(wk_gm *gm, uint8_t app, const uint8_t *admin_pin,
    size_t admin_len, const uint8_t *new_pin, size_t new_len,
    unsigned *tries_left);
int wk_gm_logout(wk_gm *gm, uint8_t app);

/* files */
int wk_gm_file_create(wk_gm *gm, uint8_t app, const char *name,
    uint32_t size, uint32_t read_rights, uint32_t write_rights);
int wk_gm_file_delete(wk_gm *gm, uint8_t app, const char *name);
int wk_gm_file_list(wk_gm *gm, uint8_t app, wk_gm_name *out, size_t cap,
    size_t *n);
int wk_gm_file_info(wk_gm *gm, uint8_t app, const char *name, uint32_t *size,
    uint32_t *read_rights, uint32_t *write_rights);
/* *len: bytes wanted in, read out (fewer at the end of the file) */
int wk_gm_file_read(wk_gm *gm, uint8_t app, const char *name,
    uint32_t offset, uint8_t *out, size_t *len);
int wk_gm_file_write(wk_gm *gm, uint8_t app, const char *name,
    uint32_t offset, const uint8_t *data, size_t len);

/* containers, their keys and certificates (sign: the signing pair, else
 * the encryption pair) */
int wk_gm_cont_create(wk_gm *gm, uint8_t app, const char *name);
int wk_gm_cont_delete(wk_gm *gm, uint8_t app, const char *name);
int wk_gm_cont_list(wk_gm *gm, uint8_t app, wk_gm_name *out, size_t cap,
    size_t *n);
/* type: 0 empty, 2 SM2 (SKF_GetContainerType); flags WK_GM_CONT_* */
int wk_gm_cont_info(wk_gm *gm, uint8_t app, const char *name, int *type,
    unsigned *flags);
int wk_gm_cert_import(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    const uint8_t *der, size_t len);
/* *len: capacity in, length out (WK_ERR_ARG and the size when too small) */
int wk_gm_cert_export(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t *der, size_t *len);
int wk_gm_generate(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64]);
/* SKF_ImportECCKeyPair: the encryption pair, d under SM4-ECB (sym_alg)
 * with a key SM2-encrypted to the container's signing key */
int wk_gm_import_enveloped(wk_gm *gm, uint8_t app, const char *cont,
    uint32_t sym_alg, uint32_t bits, const uint8_t enc_priv[32],
    const uint8_t pub[64], const uint8_t *cipher, size_t cipher_len);
int wk_gm_public_key(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64]);
/* SM2 signature of e (32 bytes), or of a message with its Z value (id NULL:
 * the default 1234567812345678) */
int wk_gm_sign(wk_gm *gm, uint8_t app, const char *cont, const uint8_t e[32],
    uint8_t sig[64]);
int wk_gm_sign_message(wk_gm *gm, uint8_t app, const char *cont,
    const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len,
    uint8_t sig[64]);
/* with the encryption key; *out_len: capacity in, length out */
int wk_gm_decrypt(wk_gm *gm, uint8_t app, const char *cont,
    const uint8_t *cipher, size_t len, uint8_t *out, size_t *out_len);

/* with keys the caller gives: WK_ERR_AUTH_FAILED on a bad signature */
int wk_gm_verify(wk_gm *gm, const uint8_t pub[64], const uint8_t e[32],
    const uint8_t sig[64]);
int wk_gm_verify_message(wk_gm *gm, const uint8_t pub[64],
    const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len,
    const uint8_t sig[64]);
int wk_gm_encrypt(wk_gm *gm, const uint8_t pub[64], const uint8_t *in,
    size_t len, uint8_t *out, size_t *out_len);
int wk_gm_ext_sign(wk_gm *gm, const uint8_t d[32], const uint8_t e[32],
    uint8_t sig[64]);
int wk_gm_ext_decrypt(wk_gm *gm, const uint8_t d[32], const uint8_t *cipher,
    size_t len, uint8_t *out, size_t *out_len);

/* session objects (gone at reset, or when another applet is selected) */
int wk_gm_key_set(wk_gm *gm, uint32_t alg, const uint8_t key[16],
    uint32_t *handle);
int wk_gm_key_unwrap(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t *cipher, size_t len, uint32_t *handle);
/* a fresh key SM2-encrypted to pub: cipher is 96 + 16 bytes */
int wk_gm_key_wrap(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t pub[64], uint8_t cipher[112], uint32_t *handle);
/* op WK_GM_OP_*; iv NULL for ECB; for a MAC *mac_handle gets a new handle */
int wk_gm_cipher_init(wk_gm *gm, uint32_t handle, int op, const uint8_t *iv,
    size_t iv_len, bool padding, uint32_t *mac_handle);
/* step WK_GM_STEP_*; data of any length (sent in pieces);
 * *out_len: capacity in, length out */
int wk_gm_process(wk_gm *gm, uint32_t handle, int step, const uint8_t *in,
    size_t len, uint8_t *out, size_t *out_len);
/* alg WK_GM_SM3/SHA1/SHA256; pub (SM3 only) adds the Z value */
int wk_gm_digest_init(wk_gm *gm, uint32_t alg, const uint8_t *pub,
    const uint8_t *id, size_t id_len, uint32_t *handle);
int wk_gm_close(wk_gm *gm, uint32_t handle);
/* SM2 key agreement (GM/T 0003.3) with the containers' encryption keys */
int wk_gm_agree_start(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t *id, size_t id_len, uint32_t *handle, uint8_t temp_pub[64]);
int wk_gm_agree_respond(wk_gm *gm, uint8_t app, const char *cont,
    uint32_t alg, const uint8_t sponsor_pub[64],
    const uint8_t sponsor_temp[64], const uint8_t *id, size_t id_len,
    const uint8_t *sponsor_id, size_t sponsor_id_len, uint32_t *key,
    uint8_t temp_pub[64]);
int wk_gm_agree_finish(wk_gm *gm, uint32_t handle, const uint8_t pub[64],
    const uint8_t temp_pub[64], const uint8_t *id, size_t id_len,
    uint32_t *key);

/* raw forms to and from DER (GM/T 0009): SubjectPublicKeyInfo of an SM2
 * key, SEQUENCE { r, s }, and the ciphertext SEQUENCE { x, y, C3, C2 };
 * *len: capacity in, length out */
int wk_gm_pub_to_spki(const uint8_t pub[64], uint8_t *der, size_t *len);
int wk_gm_pub_from_cert(const uint8_t *der, size_t len, uint8_t pub[64]);
int wk_gm_sig_to_der(const uint8_t sig[64], uint8_t *der, size_t *len);
int wk_gm_sig_from_der(const uint8_t *der, size_t len, uint8_t sig[64]);
int wk_gm_cipher_to_der(const uint8_t *raw, size_t raw_len, uint8_t *der,
    size_t *len);
int wk_gm_cipher_from_der(const uint8_t *der, size_t der_len, uint8_t *raw,
    size_t *len);
/* the Z value and e = SM3(Z || M) on the host */
int wk_gm_digest_e(const uint8_t pub[64], const uint8_t *id, size_t id_len,
    const uint8_t *msg, size_t len, uint8_t e[32]);
/* ==== end of the GM block ==== */

/* ==== semi-anonymous payments (docs/semi-anonymous.md) ==================
 * The card's anon applet holds the account's online-transaction, identity
 * and business keys and builds every payment request itself; these calls
 * carry its messages between the card, the account manager (the holder's
 * bank) and, through it, the identity authority. PINs are the purse PIN.
 */
#define WK_ANON_ACCOUNT_MAX 40
typedef struct wk_anon_info {
	bool keys;		/* the three keys are on the card */
	bool account;		/* an account manager's account is set */
	bool authority;		/* registered with the identity authority */
	bool pending;		/* a payment waits for its signed result */
	uint64_t counter;	/* payments built so far */
	char account_id[WK_ANON_ACCOUNT_MAX + 1];
	char pending_txid[65];	/* hex, when pending */
} wk_anon_info;
/* selects the anon applet and reads its state */
int wk_anon_get_info(wk_card *card, wk_anon_info *out);

typedef enum wk_anon_step {
	WK_ANON_STEP_PIN = 1,		/* the PIN verified */
	WK_ANON_STEP_KEYS,		/* the keys made (or found) on the card */
	WK_ANON_STEP_ATTESTED,		/* the card's attestations read */
	WK_ANON_STEP_ACCOUNT,		/* the manager opened the account */
	WK_ANON_STEP_REGISTERED,	/* the authority registered the keys */
	WK_ANON_STEP_REQUEST,		/* the card built the payment request */
	WK_ANON_STEP_SENT,		/* the manager answered */
	WK_ANON_STEP_RESULT,		/* the card took the signed result */
} wk_anon_step;
typedef void (*wk_anon_progress_fn)(void *arg, wk_anon_step step,
    const char *detail);

/* the party's refusal of the last call: its HTTP status, code, message */
typedef struct wk_anon_error {
	long http_status;
	char code[64];
	char message[256];
} wk_anon_error;

/*
 * enrols the card for semi-anonymous payments: makes its three keys (once),
 * opens an account at the manager with the business key's attestation,
 * stores the account in the card, registers the online-transaction and
 * identity keys with the authority under the holder's one-time code (from
 * walletkey-issuer person-add), and stores the authority's keys and the
 * holder's features commitment in the card. account gets the account
 * number. A refusal is WK_ERR_ISSUER with err filled.
 */
int wk_anon_enrol(wk_card *card, const char *pin, size_t pin_len,
    const char *manager_url, const char *authority_url, const char *code,
    wk_anon_progress_fn progress, void *arg,
    char account[WK_ANON_ACCOUNT_MAX + 1], wk_anon_error *err);

typedef struct wk_anon_payment {
	char txid[65];
	int status;		/* 1 committed, 2 refused, 3 void; 0 unknown */
	char reason[128];
	char payee[WK_ANON_ACCOUNT_MAX + 1];
	char alias[33];		/* what the payee saw of the payer */
	uint64_t amount;
	int64_t balance;	/* the payer's, after */
	/* where the time went, ms */
	double card_ms, manager_ms, authority_ms, payee_manager_ms, total_ms;
} wk_anon_payment;

/*
 * one payment: the card builds the request (PIN), the manager checks and
 * forwards it, the authority moves the currency rights, the card takes the
 * signed result and writes its audit record. When the manager refuses, the
 * payment is voided at the authority and the card cleared; WK_ERR_ISSUER
 * with err filled. WK_ERR_NETWORK leaves the payment pending on the card
 * (wk_anon_recover). A payment the authority refused is WK_ERR_ISSUER too,
 * out->status 2. request_out (may be NULL): the card's envelope is only
 * built and written there (cap *request_len), not sent.
 */
int wk_anon_pay(wk_card *card, const char *pin, size_t pin_len,
    const char *manager_url, const char *payee, uint64_t amount,
    wk_anon_progress_fn progress, void *arg, uint8_t *request_out,
    size_t *request_len, wk_anon_payment *out, wk_anon_error *err);
/* sends an envelope built before (tests, a retry) and, when the answer is
 * the card's pending payment's result, hands it to the card */
int wk_anon_submit(wk_card *card, const char *manager_url,
    const uint8_t *request, size_t len, wk_anon_payment *out,
    wk_anon_error *err);
/* settles the card's pending payment with the authority's result (through
 * the manager): committed, refused or void. WK_ERR_NOT_FOUND: none pending */
int wk_anon_recover(wk_card *card, const char *manager_url,
    wk_anon_payment *out, wk_anon_error *err);
/* the account's payments at its manager (the card signs a fresh query,
 * PIN): *json_out is the manager's answer as JSON text, free() it */
int wk_anon_history(wk_card *card, const char *pin, size_t pin_len,
    const char *manager_url, char **json_out, wk_anon_error *err);

#ifdef __cplusplus
}
#endif

#endif
