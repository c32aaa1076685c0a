/*
 * the PBOC ED/EP purse applet (docs/purse.md, pboc-purse.md): internals
 * shared by purse.c (selection, files, PIN, balance, records, proof),
 * purse_txn.c (the financial commands) and purse_state.c (what the store
 * keeps). Everything persistent lives in the store under applet "purse";
 * only the selection, the PIN state and the open INITIALIZE are in memory.
 */
#ifndef PURSE_H
#define PURSE_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "vc_card.h"
#include "wk_purse_crypto.h"

#define PURSE_APPLET "purse"

#define PURSE_ED 0	/* P2 01 */
#define PURSE_EP 1	/* P2 02 */

#define PURSE_EF15_LEN 30
#define PURSE_EF16_LEN 39	/* PBOC 1.0 (U7) */
#define PURSE_REC_LEN 23
#define PURSE_LOG_MIN 10
#define PURSE_LOG_MAX 100
#define PURSE_SEQ_MAX 0xFFFFu
#define PURSE_LIMIT_MAX 0xFFFFFFu
#define PURSE_CEILING_MAX 0x7FFFFFFFu
#define PURSE_PIN_MIN_DIGITS 4
#define PURSE_PIN_MAX_DIGITS 12

/* key purposes, the table of common/wk_purse_crypto.h (add keys there);
 * the store names keys "key.<purpose>.<index in hex>" */
enum purse_key_purpose {
	PURSE_KEY_DLK = WK_PURSE_KEY_DLK,	/* load */
	PURSE_KEY_DPK = WK_PURSE_KEY_DPK,	/* purchase, cash withdrawal */
	PURSE_KEY_DTK = WK_PURSE_KEY_DTK,	/* TAC */
	PURSE_KEY_DULK = WK_PURSE_KEY_DULK,	/* unload */
	PURSE_KEY_DUK = WK_PURSE_KEY_DUK,	/* overdraft-limit update */
	PURSE_KEY_DAMK = WK_PURSE_KEY_DAMK,	/* application maintenance */
	PURSE_KEY_DRPK = WK_PURSE_KEY_DRPK,	/* PIN reload */
	PURSE_KEY_N = WK_PURSE_KEY_N
};

/*
 * which operations need the verified purse PIN beyond those the spec
 * fixes (every ED operation): the profile's "pin_required" (docs/purse.md
 * "PIN"), kept as "pin.ops"; a card personalised before it had the
 * setting has the default, which is what those cards always did
 */
#define PURSE_PIN_PURCHASE 0x01	/* EP purchase (INITIALIZE FOR PURCHASE) */
#define PURSE_PIN_LOAD 0x02	/* EP load (INITIALIZE FOR LOAD, LOAD REQUEST) */
#define PURSE_PIN_TRANSFER 0x04	/* card to card: SEND and REDEEM */
#define PURSE_PIN_HISTORY 0x08	/* EF 0018, the audit log's head and pages */
#define PURSE_PIN_ALL 0x0F
#define PURSE_PIN_DEFAULT (PURSE_PIN_LOAD | PURSE_PIN_TRANSFER | \
	PURSE_PIN_HISTORY)

/* consecutive wrong MAC2s / grant signatures before the application is
 * blocked (profile "mac_tries"); wrong unblock MACs while it is blocked
 * before it is blocked for good (FMCOS 8.2: three) */
#define PURSE_MAC_TRIES_DEFAULT 3
#define PURSE_MAC_TRIES_MAX 15
#define PURSE_UNBLOCK_TRIES 3

/* the last completed transaction of one purse, for GET TRANSACTION PROVE */
typedef struct purse_proof {
	bool valid;
	uint8_t type;
	uint16_t seq;		/* the seq the MACs used: before the increment */
	uint8_t mac[WK_PURSE_MAC_LEN];
	uint8_t tac[WK_PURSE_MAC_LEN];
} purse_proof;

typedef struct purse_wallet {
	uint32_t balance;	/* ED: funds + overdraft limit (section 1) */
	uint16_t online_seq;
	uint16_t offline_seq;
	purse_proof proof;
} purse_wallet;

/* the persistent state, one blob "state" */
typedef struct purse_state {
	uint8_t app_type;	/* EF 0015 byte 9: 01 ED, 02 EP, 03 both */
	purse_wallet w[2];	/* PURSE_ED, PURSE_EP */
	uint32_t limit;		/* ED overdraft limit, 3 bytes */
	uint32_t ceiling;	/* highest balance a load may reach */
	uint16_t log_cap;
	uint16_t log_count;
	uint16_t log_head;	/* slot of the newest record */
	uint8_t pin_max;
} purse_state;

typedef struct purse_key {
	uint8_t version;
	uint8_t alg;		/* WK_PURSE_ALG_3DES or WK_PURSE_ALG_SM4 */
	uint8_t key[WK_PURSE_KEY_LEN];
} purse_key;

/* the open INITIALIZE, consumed by the next command whatever it is */
enum purse_sess_kind {
	SESS_NONE = 0,
	SESS_LOAD,
	SESS_PURCHASE,		/* purchase and cash withdrawal */
	SESS_UNLOAD,
	SESS_UPDATE,
};

typedef struct purse_session {
	enum purse_sess_kind kind;
	int purse;
	uint8_t type;		/* transaction type code, section 5 */
	uint8_t key_index;
	uint32_t amount;
	uint32_t old_balance;
	uint32_t old_limit;
	uint16_t seq;
	uint8_t term_id[WK_PURSE_TERM_ID_LEN];
	uint8_t rnd[WK_PURSE_RND_LEN];
	wk_purse_skey sk;	/* load, unload, update */
} purse_session;

enum purse_df { DF_NONE = 0, DF_PSE, DF_ADF };

/* purse_wallet.c: the signed load request that opened sess;
 * purse_xfer.c: the authentication challenge and the authenticated peer */
typedef struct purse_wallet_req {
	bool valid;
	uint8_t nonce[16];
	uint8_t rnd[WK_PURSE_RND_LEN];
	bool xchal_valid;
	uint8_t xchal[16];
	bool peer_valid;
	uint8_t peer_id[8];
} purse_wallet_req;

typedef struct purse_applet {
	enum purse_df df;
	uint16_t cur_ef;	/* EF selected by file id inside the ADF, 0 = none */
	bool pin_ok;
	bool mac_spent;		/* this command already spent its MAC try */
	purse_session sess;
	purse_wallet_req wreq;
} purse_applet;

/* purse_state.c */
int purse_state_get(vc_card *card, purse_state *s);
int purse_state_put(vc_card *card, const purse_state *s);
int purse_key_get(vc_card *card, int purpose, uint8_t index, purse_key *k);
int purse_key_put(vc_card *card, int purpose, uint8_t index,
    const purse_key *k);
/* deletes every purse key, of every purpose and index, and the DTK index:
 * before the issuer's keys are installed, and when a wallet is forgotten */
int purse_keys_wipe(vc_card *card);
/* the TAC key of the application's one DTK, by the DTK's algorithm */
int purse_tac_key(vc_card *card, wk_purse_skey *ktac);
/* record n (1 = newest) of EF 0018 into rec; VC_STORE_NOT_FOUND past the end */
int purse_log_get(vc_card *card, const purse_state *s, unsigned n,
    uint8_t rec[PURSE_REC_LEN]);
/* prepends a record (overwrites the oldest when full); updates s */
int purse_log_add(vc_card *card, purse_state *s,
    const uint8_t rec[PURSE_REC_LEN]);
/* the 23-byte EF 0018 record */
void purse_record(uint8_t rec[PURSE_REC_LEN], uint16_t seq, uint32_t limit,
    uint32_t amount, uint8_t type, const uint8_t *term_id, const uint8_t *date,
    const uint8_t *time);
/* the application's one DAMK (the index kept at personalisation, else 1) */
int purse_damk_get(vc_card *card, purse_key *k);
/* the application's one DRPK, likewise ("drpk.index") */
int purse_drpk_get(vc_card *card, purse_key *k);
/* the profile's "pin_required" (PURSE_PIN_* bits), written at --init */
int purse_pin_ops_init(vc_card *card, unsigned ops);
/* whether op (one PURSE_PIN_* bit) needs the PIN on this card; true when
 * the store cannot say (fails closed) */
bool purse_pin_required(vc_card *card, unsigned op);

/*
 * the MAC try counter (docs/purse.md "Blocking"): purse_mac_spend makes a
 * try durable (vc_store_checkpoint) before a MAC2 or grant signature is
 * compared, and answers 6A81 once none is left; purse_mac_reset restores
 * the tries after a good one (in the command's transaction).
 */
enum purse_lock { PURSE_OPEN = 0, PURSE_BLOCKED, PURSE_BLOCKED_FOR_GOOD };
int purse_lock_state(vc_card *card, enum purse_lock *state);
uint16_t purse_mac_spend(vc_card *card);
int purse_mac_reset(vc_card *card);
/* gives back the try just spent (a genuine issuer signature that is not
 * this session's: not a guess, and no reason to restore the others) */
int purse_mac_refund(vc_card *card);
/* profile values, written at --init */
int purse_mac_init(vc_card *card, uint8_t max);
/* test hook: WALLETKEY_CARD_FAULT=point kills the card there (SIGKILL) */
void purse_fault_point(const char *point);

/* PIN: normalised digits in, stored as a slow hash (sealed) */
int purse_pin_set(vc_card *card, const char *digits, size_t n);
int purse_pin_check(vc_card *card, const char *digits, size_t n, bool *ok);

/* a command's session (INITIALIZE's) forgotten, its keys wiped */
static inline void
purse_session_drop(purse_applet *a)
{
	sodium_memzero(&a->sess, sizeof(a->sess));
}

/* the classes of the purse's own commands, in the clear and under
 * secure messaging (RELOAD PIN, APPLICATION UNBLOCK) */
#define PURSE_CLA 0x80
#define PURSE_CLA_SM 0x84
/* P1 of INS 5E: the issuer's RELOAD PIN script, the holder's CHANGE PIN */
#define PURSE_P1_RELOAD_PIN 0x00
#define PURSE_P1_CHANGE_PIN 0x01

/* purse_pin.c: the commands of the PIN and of blocking, each answering
 * its SW (the dispatch in purse.c has checked the class) */
/* VERIFY (00 20 00 00) in the ADF */
uint16_t purse_verify(purse_applet *a, vc_card *card, const wk_apdu *cmd);
/* INS 5E: CHANGE PIN (P1 01) or RELOAD PIN (P1 00) */
uint16_t purse_pin_command(purse_applet *a, vc_card *card,
    const wk_apdu *cmd);
/* GET CHALLENGE (00 84 00 00 04): the challenge kept for RELOAD PIN and
 * APPLICATION UNBLOCK */
uint16_t purse_get_challenge(vc_card *card, const wk_apdu *cmd,
    wk_buf *resp);
/* APPLICATION UNBLOCK (84 18 00 00 04 MAC) */
uint16_t purse_app_unblock(purse_applet *a, vc_card *card,
    const wk_apdu *cmd);

/* purse_txn.c: every INS 50/52/54/58 command */
uint16_t purse_txn_process(purse_applet *a, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp, purse_session *sess);

/* purse_wallet.c: the wallet commands, CLA 80 INS E0-EF (docs/remote-load.md) */
#define PURSE_WALLET_INS_FIRST 0xE0
#define PURSE_WALLET_INS_LAST 0xEF
#define PURSE_WALLET_INS_RECOVER 0xE4
#define PURSE_WALLET_INS_UNBLOCK_REQUEST 0xEE
#define PURSE_WALLET_INS_SESSION 0xEF
uint16_t purse_wallet_process(purse_applet *a, vc_card *card,
    const wk_apdu *cmd, wk_buf *resp, purse_session *prev);
/* purse_crl.c: the issuer's revocation list (audit sync) and the check of
 * a transfer peer's certificate: signed by the trust anchor, CN = id,
 * inside its dates, not revoked; its key into *out (the caller frees it) */
#define PURSE_PEER_CERT_MAX 2048
typedef struct evp_pkey_st EVP_PKEY;
int purse_peer_key(vc_card *card, const uint8_t *der, size_t len,
    const uint8_t id[8], EVP_PKEY **out);
/* a signed list from the issuer: 6985 older than the card's (or not
 * enrolled), 6982 signature, 6A80 malformed */
uint16_t purse_crl_put(vc_card *card, const uint8_t *data, size_t len);
/* version 8 | issued 8 | count 2 of the card's list (zeros: none) */
uint16_t purse_crl_status(vc_card *card, wk_buf *resp);

/* purse_pay.c: online payments (docs/payments.md), INS E7; the OCRA key
 * of a personalisation message of type 13 */
#define PURSE_WALLET_INS_PAYMENT 0xE7
uint16_t purse_pay_process(purse_applet *a, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp);
uint16_t purse_pay_ocra_key(vc_card *card, const uint8_t *data, size_t len);

/* purse_xfer.c: card to card, INS E8-ED */
uint16_t purse_xfer_process(purse_applet *a, vc_card *card,
    const wk_apdu *cmd, wk_buf *resp);

/* purse_state.c */
bool purse_has(const purse_state *s, int purse);
/* a new APPLICATION UNBLOCK challenge, kept in the store until the next
 * APPLICATION UNBLOCK uses it up */
int purse_challenge_new(vc_card *card, uint8_t chal[WK_PURSE_CHALLENGE_LEN]);
/* purse_pin.c, for the other applets too */
/* VERIFY of the purse PIN (8): the try counter is spent and committed
 * before the comparison; *pin_ok set on 9000. Shared with the audit applet */
uint16_t purse_pin_verify(vc_card *card, const wk_apdu *cmd, bool *pin_ok);
/*
 * the applets that ask for the holder's wallet PIN, checked with the
 * purse's counter (anon, audit): their whole state, the PIN verified since
 * the applet was selected
 */
typedef struct purse_pin_holder {
	bool pin_ok;
} purse_pin_holder;
int purse_pin_holder_new(void **state);
void purse_pin_holder_close(void **state);
/* SELECT by the applet's DF name aid: the PIN forgotten (a host that left
 * the applet selected does not hand its verified PIN to the next one),
 * the FCI with the DF name unless P2 is 0C */
uint16_t purse_pin_holder_select(void *state, const uint8_t *aid,
    size_t aid_len, const wk_apdu *cmd, wk_buf *resp);
void purse_pin_holder_deselect(void *state, vc_card *card);
/* the handler of their VERIFY row (00 20 00 00): purse_pin_verify */
vc_cmd_fn purse_pin_holder_verify;
/* that VERIFY row, the first of their command tables */
#define PURSE_PIN_HOLDER_VERIFY_ROW \
	{ 0x20, 0x00, VC_CMD_P1P2_ZERO | VC_CMD_SECRET, purse_pin_holder_verify }
/* their vc_applet: the PIN holder's state freed by close, its PIN
 * forgotten by deselect, the commands answered by their table */
#define PURSE_PIN_HOLDER_APPLET(name_, aids_, create_, open_, select_, \
    cmds_) { \
	.name = (name_), \
	VC_AIDS(aids_), \
	VC_LIFE(create_, open_, purse_pin_holder_close, select_, \
	    purse_pin_holder_deselect), \
	.cmds = (cmds_), \
}

/* purse_audit.c: the audit log record of a completed transaction, with
 * st already holding the new balance and limit (docs/audit.md) */
uint16_t purse_audit_room(vc_card *card);
int purse_audit_add(vc_card *card, const purse_state *st,
    const purse_session *s, uint16_t counter, const uint8_t *date,
    const uint8_t *time);
/* a card-to-card transfer (type 10 out, 11 in) with the peer's card id */
int purse_audit_transfer(vc_card *card, const purse_state *st, int purse,
    uint8_t type, uint32_t amount, const uint8_t peer[8], uint16_t counter);

#endif
