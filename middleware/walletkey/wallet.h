/*
 * libwalletkey: the wallet's keys and messages, the issuer client, the purse PIN's reload
 * (docs/remote-load.md).
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_WALLET_H
#define WALLETKEY_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "piv.h"
#include "purse.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif
