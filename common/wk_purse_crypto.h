/*
 * PBOC ED/EP purse cryptography (pboc-purse.md section 4): the one
 * implementation, used by the card applet, the host software SAM and the
 * issuer alike.
 *
 * Conventions:
 *   - application keys (DLK, DPK, DTK, DULK, DUK, DAMK) are 16 bytes, each
 *     with its algorithm id (the byte INITIALIZE answers): WK_PURSE_ALG_3DES,
 *     2-key 3DES (EDE with K1 K2 K1), whose session keys and TAC key are 8
 *     bytes of single DES; or WK_PURSE_ALG_SM4, whose session keys and TAC
 *     key are 16-byte SM4 keys (docs/purse.md "SM4", the choices where
 *     pboc-purse.md is silent);
 *   - session and TAC keys travel as a wk_purse_skey, which carries its
 *     algorithm, so a MAC is computed the way its key was made;
 *   - MACs and TACs are 4 bytes (the left of the last CBC block);
 *   - amounts, balances and limits are host integers, written big-endian
 *     into the MAC input (amount and balance 4 bytes, limit 3 bytes);
 *   - dates are 4 bytes BCD YYYYMMDD, times 3 bytes BCD hhmmss, the terminal
 *     id 6 bytes, the terminal sequence number 4 bytes, all passed as bytes;
 *   - sequence numbers are the values before the increment (section 4.2).
 *
 * Every function returns WK_PURSE_CRYPTO_OK or a negative code; outputs are
 * untouched on failure except that they may have been zeroed. Internal key
 * material is wiped before return; the caller wipes what it passed in.
 */
#ifndef WK_PURSE_CRYPTO_H
#define WK_PURSE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WK_PURSE_KEY_LEN 16	/* application key, 2-key 3DES or SM4 */
#define WK_PURSE_SKEY_MAX 16	/* session key and TAC key: SM4 16, DES 8 */
#define WK_PURSE_MAC_LEN 4	/* MAC1, MAC2, MAC3, TAC */
#define WK_PURSE_RND_LEN 4	/* card pseudo-random number */
#define WK_PURSE_TERM_ID_LEN 6
#define WK_PURSE_TERM_SEQ_LEN 4
#define WK_PURSE_DATE_LEN 4
#define WK_PURSE_TIME_LEN 3

enum {
	WK_PURSE_CRYPTO_OK = 0,
	WK_PURSE_CRYPTO_ERROR = -1,	/* the cipher library failed */
	WK_PURSE_CRYPTO_BAD_INPUT = -2,	/* a length or value out of range */
};

/*
 * the algorithm id of a key entry (docs/purse.md "SM4"): 00 3DES, as the
 * Huada card answers (pboc-purse.md U5); 04 SM4. No other value is taken.
 */
#define WK_PURSE_ALG_3DES 0x00
#define WK_PURSE_ALG_SM4 0x04

/* true for WK_PURSE_ALG_3DES and WK_PURSE_ALG_SM4 */
bool wk_purse_alg_valid(uint8_t alg);
/* "3des", "sm4"; NULL for any other id */
const char *wk_purse_alg_name(uint8_t alg);
/* "3des" or "sm4" (any case) into *alg; -1 for anything else */
int wk_purse_alg_parse(const char *name, uint8_t *alg);

/* a session key or the TAC key, with the algorithm of the key it came
 * from: 3DES uses k[0..7] (single DES), SM4 all 16 bytes */
typedef struct wk_purse_skey {
	uint8_t alg;
	uint8_t k[WK_PURSE_SKEY_MAX];
} wk_purse_skey;

/* how a host finds the purse on a walletkey card (docs/purse.md): the PSE by
 * name, then the ADF by this AID (proprietary RID F0, "WKPURSE") or by FID 1001 */
#define WK_PURSE_PSE_NAME "1PAY.SYS.DDF01"
#define WK_PURSE_AID_BYTES 0xF0, 0x57, 0x4B, 0x50, 0x55, 0x52, 0x53, 0x45
#define WK_PURSE_AID_LEN 8
#define WK_PURSE_ADF_FID 0x1001

/*
 * the purse's application keys: the one table for the card's key store, its
 * personalisation profile, the issuer's master keys and the personalisation
 * message of enrolment (docs/issuer.md), whose key ids are these values. A
 * key added here is personalised by every enrolment; append, never reorder.
 */
enum wk_purse_key {
	WK_PURSE_KEY_DLK = 0,	/* load */
	WK_PURSE_KEY_DPK,	/* purchase, cash withdrawal */
	WK_PURSE_KEY_DTK,	/* TAC */
	WK_PURSE_KEY_DULK,	/* unload */
	WK_PURSE_KEY_DUK,	/* overdraft-limit update */
	WK_PURSE_KEY_DAMK,	/* application maintenance: APPLICATION UNBLOCK */
	WK_PURSE_KEY_DRPK,	/* PIN reload: RELOAD PIN (docs/purse.md "PIN") */
	WK_PURSE_KEY_N
};
/* "dlk", "dpk", "dtk", "dulk", "duk", "damk", "drpk": profile and store
 * names */
extern const char *const wk_purse_key_names[WK_PURSE_KEY_N];

/* transaction type identifiers, pboc-purse.md section 5 */
enum {
	WK_PURSE_TT_ED_LOAD = 0x01,
	WK_PURSE_TT_EP_LOAD = 0x02,
	WK_PURSE_TT_UNLOAD = 0x03,
	WK_PURSE_TT_ED_CASH = 0x04,
	WK_PURSE_TT_ED_PURCHASE = 0x05,
	WK_PURSE_TT_EP_PURCHASE = 0x06,
	WK_PURSE_TT_ED_UPDATE = 0x07,
	WK_PURSE_TT_CAPP = 0x09,
};

/* ---- primitives ---- */

/* 3DES-ECB encryption (EDE, K1 K2 K1) of len bytes, len a multiple of 8;
 * in and out may be the same buffer */
int wk_purse_3des_ecb(const uint8_t key[WK_PURSE_KEY_LEN], const uint8_t *in,
    size_t len, uint8_t *out);

/* SM4-ECB encryption (GB/T 32907) of len bytes, len a multiple of 16; in
 * and out may be the same buffer */
int wk_purse_sm4_ecb(const uint8_t key[WK_PURSE_KEY_LEN], const uint8_t *in,
    size_t len, uint8_t *out);

/* MAC_s: ISO 9797-1 MAC algorithm 1, zero IV, padding method 2 (80 00..,
 * a whole block when len is a multiple of the block), left 4 bytes; with
 * single DES (8-byte blocks) for a 3DES key, with SM4 (16-byte blocks,
 * GB/T 15852.1) for an SM4 key */
int wk_purse_mac(const wk_purse_skey *key, const uint8_t *data, size_t len,
    uint8_t mac[WK_PURSE_MAC_LEN]);

/* secure-messaging MAC: ISO 9797-1 MAC algorithm 3 (retail MAC) with a
 * 16-byte key, padding method 2, IV = iv (GET CHALLENGE value || 00000000
 * for a 4-byte challenge), left 4 bytes; data = CLA INS P1 P2 Lc payload */
int wk_purse_sm_mac(const uint8_t key[WK_PURSE_KEY_LEN], const uint8_t iv[8],
    const uint8_t *data, size_t len, uint8_t mac[WK_PURSE_MAC_LEN]);

/* APPLICATION UNBLOCK (84 18 00 00 04 MAC) under the application
 * maintenance key DAMK, over 84 18 00 00 04, IV = the 4-byte GET CHALLENGE
 * value then zeros (FMCOS 8.2, spec 4.1): a 3DES DAMK takes the retail MAC
 * above (IV challenge || 00000000); an SM4 DAMK ISO 9797-1 MAC algorithm 1
 * with SM4, IV challenge || 12 zero bytes, padding method 2, left 4 bytes */
#define WK_PURSE_CHALLENGE_LEN 4
int wk_purse_unblock_mac(uint8_t alg, const uint8_t damk[WK_PURSE_KEY_LEN],
    const uint8_t challenge[WK_PURSE_CHALLENGE_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN]);

/*
 * RELOAD PIN (pboc-purse.md section 2 and the table of 4.3): data =
 * new PIN (2-6 bytes BCD, as sent) || MAC, the MAC being MAC_s under
 * DRPK[0..7] XOR DRPK[8..15] over the PIN bytes (a 3DES DRPK; an SM4 DRPK:
 * MAC_s with SM4 under the DRPK itself, as the TAC key, docs/purse.md
 * "SM4").
 */
#define WK_PURSE_PIN_BCD_MIN 2
#define WK_PURSE_PIN_BCD_MAX 6
int wk_purse_reload_pin_mac(uint8_t alg, const uint8_t drpk[WK_PURSE_KEY_LEN],
    const uint8_t *pin, size_t pin_len, uint8_t mac[WK_PURSE_MAC_LEN]);
/*
 * the one-time RELOAD PIN script walletkey cards accept (docs/purse.md
 * "RELOAD PIN"): the command under line protection (spec 4.1, as
 * APPLICATION UNBLOCK), 84 5E 00 00 Lc || PIN || MAC || SM-MAC with
 * Lc = pin_len + 8, SM-MAC under the DAMK as APPLICATION UNBLOCK's (3DES:
 * the retail MAC with IV = challenge || 00000000; SM4: ISO 9797-1 MAC
 * algorithm 1 with IV = challenge || 12 zero bytes) over
 * 84 5E 00 00 Lc PIN MAC. Each key with its own algorithm. The command's
 * data (pin_len + 8 bytes) goes into data; *len gets its length.
 */
#define WK_PURSE_RELOAD_DATA_MAX (WK_PURSE_PIN_BCD_MAX + 2 * WK_PURSE_MAC_LEN)
int wk_purse_reload_pin_script(uint8_t damk_alg,
    const uint8_t damk[WK_PURSE_KEY_LEN], uint8_t drpk_alg,
    const uint8_t drpk[WK_PURSE_KEY_LEN],
    const uint8_t challenge[WK_PURSE_CHALLENGE_LEN], const uint8_t *pin,
    size_t pin_len, uint8_t data[WK_PURSE_RELOAD_DATA_MAX], size_t *len);

/* the line protection (spec 4.1) of a command under a key of algorithm
 * alg, as APPLICATION UNBLOCK's above: data = CLA INS P1 P2 Lc payload
 * (Lc counting the 4 MAC bytes), the 4-byte challenge as IV then zeros */
int wk_purse_line_mac(uint8_t alg, const uint8_t key[WK_PURSE_KEY_LEN],
    const uint8_t challenge[WK_PURSE_CHALLENGE_LEN], const uint8_t *data,
    size_t len, uint8_t mac[WK_PURSE_MAC_LEN]);

/* ---- keys ---- */

/* the TAC key of a DTK of algorithm alg: 3DES K_TAC = DTK[0..7] XOR
 * DTK[8..15] (section 4.1); SM4 the DTK itself (docs/purse.md "SM4") */
int wk_purse_tac_key(uint8_t alg, const uint8_t dtk[WK_PURSE_KEY_LEN],
    wk_purse_skey *ktac);

/* load, unload, overdraft update: 3DES(key, rnd || online_seq || 8000);
 * SM4(key, rnd || online_seq || 80 00 .. 00), one 16-byte block */
int wk_purse_session_key_online(uint8_t alg,
    const uint8_t key[WK_PURSE_KEY_LEN], const uint8_t rnd[WK_PURSE_RND_LEN],
    uint16_t online_seq, wk_purse_skey *sk);

/* purchase, cash withdrawal, CAPP: 3DES(DPK, rnd || offline_seq ||
 * term_seq[2..3]); SM4(DPK, the same 8 bytes || 80 00 .. 00) */
int wk_purse_session_key_purchase(uint8_t alg,
    const uint8_t dpk[WK_PURSE_KEY_LEN], const uint8_t rnd[WK_PURSE_RND_LEN],
    uint16_t offline_seq, const uint8_t term_seq[WK_PURSE_TERM_SEQ_LEN],
    wk_purse_skey *sk);

/* section 4.4: f = the right 8 bytes of factor (left-padded with 00 when
 * factor_len < 8; factor_len >= 1); 3DES DK = 3DES(MK, f) || 3DES(MK,
 * NOT f), SM4 DK = SM4(MK, f || NOT f), one block (docs/purse.md "SM4").
 * For walletkey the factor is the 10-byte BCD application serial number
 * (EF 0015 bytes 11-20), so f is its right 8 bytes. */
int wk_purse_diversify(uint8_t alg, const uint8_t mk[WK_PURSE_KEY_LEN],
    const uint8_t *factor, size_t factor_len, uint8_t dk[WK_PURSE_KEY_LEN]);

/* ---- load (types 01 ED, 02 EP), section 4.3 ---- */

/* card: SESLK over oldBal amount type termID */
int wk_purse_load_mac1(const wk_purse_skey *sk, uint32_t old_balance,
    uint32_t amount, uint8_t type, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN]);
/* host: SESLK over amount type termID date time */
int wk_purse_load_mac2(const wk_purse_skey *sk, uint32_t amount,
    uint8_t type, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN]);
/* card: K_TAC over newBal onlineSeq(before +1) amount type termID date time */
int wk_purse_load_tac(const wk_purse_skey *ktac, uint32_t new_balance,
    uint16_t online_seq, uint32_t amount, uint8_t type,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t tac[WK_PURSE_MAC_LEN]);

/* ---- purchase (05 ED, 06 EP), cash withdrawal (04), CAPP (09) ---- */

/* terminal/PSAM: SESPK over amount type termID date time */
int wk_purse_purchase_mac1(const wk_purse_skey *sk, uint32_t amount,
    uint8_t type, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN]);
/* card: SESPK over amount */
int wk_purse_purchase_mac2(const wk_purse_skey *sk, uint32_t amount,
    uint8_t mac[WK_PURSE_MAC_LEN]);
/* card: K_TAC over amount type termID termSeq date time */
int wk_purse_purchase_tac(const wk_purse_skey *ktac, uint32_t amount,
    uint8_t type, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t term_seq[WK_PURSE_TERM_SEQ_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t tac[WK_PURSE_MAC_LEN]);

/* ---- unload (type 03, ED only): session key SESULK from the DULK ---- */

int wk_purse_unload_mac1(const wk_purse_skey *sk,
    uint32_t old_balance, uint32_t amount,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN], uint8_t mac[WK_PURSE_MAC_LEN]);
int wk_purse_unload_mac2(const wk_purse_skey *sk, uint32_t amount,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN]);
/* the response MAC3: SESULK (not K_TAC) over newBal onlineSeq(before +1)
 * amount 03 termID date time */
int wk_purse_unload_mac3(const wk_purse_skey *sk,
    uint32_t new_balance, uint16_t online_seq, uint32_t amount,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN]);

/* ---- overdraft-limit update (type 07, ED only): SESUK from the DUK ---- */

/* card: SESUK over bal oldLimit(3) 07 termID */
int wk_purse_update_mac1(const wk_purse_skey *sk, uint32_t balance,
    uint32_t old_limit, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN]);
/* host: SESUK over newLimit(3) 07 termID date time */
int wk_purse_update_mac2(const wk_purse_skey *sk, uint32_t new_limit,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN]);
/* card: K_TAC (DTK left XOR right, the U3 choice in docs/purse.md) over
 * newBal onlineSeq(before +1) newLimit(3) 07 termID date time */
int wk_purse_update_tac(const wk_purse_skey *ktac,
    uint32_t new_balance, uint16_t online_seq, uint32_t new_limit,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t tac[WK_PURSE_MAC_LEN]);

#endif
