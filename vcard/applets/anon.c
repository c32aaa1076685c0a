/*
 * the semi-anonymous payment applet (docs/semi-anonymous.md). It holds the
 * account's three keys, made here and never exported: the online-
 * transaction key (Ed25519), the identity key (Ed25519) and the business
 * key (X25519); the card's attestation key (PIV F9) certifies each one.
 * It builds every payment request itself from fields it checks, behind the
 * holder's wallet PIN (the purse's, with its try counter), one VERIFY per
 * payment, keeps the one payment in flight until the identity authority's
 * signed result settles it, and writes the audit record of a committed one.
 *
 *   00 20 00 00  VERIFY: the wallet PIN (purse_pin_verify)
 *   80 CA 00 00  INFO: state 1 | counter 8 | account 1+n | pending txid 32
 *   80 E0 01 00  GENERATE (PIN): the keys, once; answers the three publics
 *   80 E2 s 00   ATTEST: the attestation of key s (A0..A2); P2 01: the
 *                card's device certificate
 *   80 E4 00 00  ACCOUNT (PIN): manager statement 1+... | manager key 32
 *   80 E6 00 00  AUTHORITY (PIN): box key 32 | signing key 32 | features 32
 *   80 50 00 00  PAY (PIN): payee 1+n | amount 8 | time 8; answers the
 *                envelope
 *   80 52 00 00  RESULT: the authority's signed result; answers status 1
 *   80 54 00 00  PENDING: the pending payment's txinfo
 *   80 56 00 00  QUERY (PIN): time 8; answers a query envelope
 *
 * Why an applet of its own and not the wallet's: its keys, counter and
 * pending payment have nothing in common with the purse's PBOC state, and
 * a separate AID keeps the purse's command space (and its conformance to
 * pboc-purse.md) untouched; it shares the PIN and the audit log only.
 */
#include "vc_card.h"

#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "audit_log.h"
#include "piv_int.h"
#include "purse.h"
#include "vc_store.h"
#include "wk_anon.h"
#include "wk_attest.h"
#include "wk_hex.h"
#include "wk_tlv.h"

#define ANON_APPLET "anon"
#define K_OTK "otk"		/* sealed: Ed25519 secret 64 */
#define K_IDK "idk"		/* sealed: Ed25519 secret 64 */
#define K_BK "bk"		/* sealed: X25519 secret 32 */
#define K_PUB "pub"		/* otk 32 | idk 32 | bk 32 */
#define K_ACCT "acct"		/* account number */
#define K_MGR "mgr"		/* the manager's X25519 public 32 */
#define K_AUTH "auth"		/* box 32 | sign 32 | features 32 */
#define K_CTR "ctr"
#define K_PEND "pend"		/* the pending payment's txinfo */

#define PUB_LEN 96
#define AUTH_LEN 96

enum {
	ST_KEYS = 1,
	ST_ACCOUNT = 2,
	ST_AUTHORITY = 4,
	ST_PENDING = 8,
};

static const uint8_t anon_aid[] = { WK_ANON_AID_BYTES };

static const vc_aid anon_aids[] = {
	{ anon_aid, sizeof(anon_aid), sizeof(anon_aid) },
};

static int
get_fixed(vc_card *card, const char *key, uint8_t *out, size_t len,
    bool secret)
{
	return vc_store_get_fixed(vc_card_store(card), ANON_APPLET, key, out, len,
	    secret);
}

/* the account number, NUL-terminated; VC_STORE_NOT_FOUND when none */
static int
get_acct(vc_card *card, char acct[WK_ANON_ACCT_MAX + 1])
{
	uint8_t tmp[WK_ANON_ACCT_MAX + 1];
	wk_buf b;
	int r;

	wk_buf_init_fixed(&b, tmp, sizeof(tmp));
	r = vc_store_get(vc_card_store(card), ANON_APPLET, K_ACCT, &b);
	if (r != VC_STORE_OK)
		return r;
	if (wk_buf_failed(&b) || b.len == 0 || b.len > WK_ANON_ACCT_MAX)
		return VC_STORE_CORRUPT;
	memcpy(acct, tmp, b.len);
	acct[b.len] = '\0';
	return wk_anon_account_ok(acct) ? VC_STORE_OK : VC_STORE_CORRUPT;
}

static int
get_pending(vc_card *card, uint8_t *txinfo, size_t *len)
{
	wk_buf b;
	int r;

	wk_buf_init_fixed(&b, txinfo, WK_ANON_TXINFO_MAX);
	r = vc_store_get(vc_card_store(card), ANON_APPLET, K_PEND, &b);
	if (r == VC_STORE_OK && (wk_buf_failed(&b) || b.len == 0))
		r = VC_STORE_CORRUPT;
	*len = b.len;
	return r;
}

/* ST_* bits; -1 when the store fails */
static int
anon_state(vc_card *card)
{
	static const char *const keys[] = { K_PUB, K_ACCT, K_AUTH, K_PEND };
	static const int bits[] = { ST_KEYS, ST_ACCOUNT, ST_AUTHORITY, ST_PENDING };
	uint8_t tmp[WK_ANON_TXINFO_MAX];
	int st = 0;

	for (size_t i = 0; i < 4; i++) {
		wk_buf b;
		int r;

		wk_buf_init_fixed(&b, tmp, sizeof(tmp));
		r = vc_store_get(vc_card_store(card), ANON_APPLET, keys[i], &b);
		if (r == VC_STORE_OK)
			st |= bits[i];
		else if (r != VC_STORE_NOT_FOUND)
			return -1;
	}
	return st;
}

static int
anon_create(vc_card *card, void **state)
{
	(void)card;
	return purse_pin_holder_new(state);
}

static uint16_t
anon_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	(void)card;
	(void)which;
	return purse_pin_holder_select(state, anon_aid, sizeof(anon_aid), cmd,
	    resp);
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint16_t
info(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	char acct[WK_ANON_ACCT_MAX + 1] = "";
	uint8_t ctr8[8], txinfo[WK_ANON_TXINFO_MAX], txid[WK_ANON_TXID_LEN];
	uint64_t ctr = 0;
	size_t n = 0;
	int st, r;

	(void)state;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if ((st = anon_state(card)) < 0)
		return WK_SW_MEMORY_FAILURE;
	r = vc_store_get_u64(vc_card_store(card), ANON_APPLET, K_CTR, &ctr);
	if (r != VC_STORE_OK && r != VC_STORE_NOT_FOUND)
		return WK_SW_MEMORY_FAILURE;
	if ((st & ST_ACCOUNT) && get_acct(card, acct) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	memset(txid, 0, sizeof(txid));
	if (st & ST_PENDING) {
		if (get_pending(card, txinfo, &n) != VC_STORE_OK)
			return WK_SW_MEMORY_FAILURE;
		wk_anon_txid(txinfo, n, txid);
	}
	put64(ctr8, ctr);
	wk_buf_u8(resp, (uint8_t)st);
	wk_buf_add(resp, ctr8, 8);
	wk_buf_u8(resp, (uint8_t)strlen(acct));
	wk_buf_add(resp, acct, strlen(acct));
	wk_buf_add(resp, txid, sizeof(txid));
	return wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
}

static uint16_t
generate(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_pin_holder *a = state;
	vc_store *st = vc_card_store(card);
	uint8_t otk[64], idk[64], bk[32], pub[PUB_LEN];
	uint16_t sw = WK_SW_MEMORY_FAILURE;
	int r;

	if (cmd->p1 != 0x01 || cmd->p2 != 0x00)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (!a->pin_ok)
		return WK_SW_SECURITY_STATUS;
	/* once made the keys stay: an account is bound to them */
	r = get_fixed(card, K_PUB, pub, sizeof(pub), false);
	if (r == VC_STORE_OK) {
		wk_buf_add(resp, pub, sizeof(pub));
		return WK_SW_OK;
	}
	if (r != VC_STORE_NOT_FOUND)
		return WK_SW_MEMORY_FAILURE;
	crypto_sign_keypair(pub, otk);
	crypto_sign_keypair(pub + 32, idk);
	crypto_box_keypair(pub + 64, bk);
	if (vc_store_put_secret(st, ANON_APPLET, K_OTK, otk, sizeof(otk)) != 0 ||
	    vc_store_put_secret(st, ANON_APPLET, K_IDK, idk, sizeof(idk)) != 0 ||
	    vc_store_put_secret(st, ANON_APPLET, K_BK, bk, sizeof(bk)) != 0 ||
	    vc_store_put(st, ANON_APPLET, K_PUB, pub, sizeof(pub)) != 0 ||
	    vc_store_put_u64(st, ANON_APPLET, K_CTR, 0) != 0)
		goto out;
	wk_buf_add(resp, pub, sizeof(pub));
	sw = WK_SW_OK;
out:
	sodium_memzero(otk, sizeof(otk));
	sodium_memzero(idk, sizeof(idk));
	sodium_memzero(bk, sizeof(bk));
	return sw;
}

/* the device certificate (PIV object 5FFF01), DER */
static uint16_t
device_cert(vc_card *card, wk_buf *resp)
{
	wk_buf b;
	wk_tlv t;
	uint16_t sw = WK_SW_REF_DATA_UNUSABLE;

	wk_buf_init_heap(&b, PIV_OBJ_MAX);
	if (piv_obj_get(card, 0x5FFF01, &b) != VC_STORE_OK || wk_buf_failed(&b) ||
	    wk_tlv_find(b.p, b.len, 0x70, &t) != WK_TLV_OK)
		goto out;
	wk_buf_add(resp, t.value, t.len);
	sw = wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
out:
	wk_buf_clear(&b);
	return sw;
}

static uint16_t
attest(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t pub[PUB_LEN], serial[WK_ATTEST_SERIAL_LEN], *der = NULL;
	const uint8_t *p;
	wk_attest_key info;
	piv_key signer;
	EVP_PKEY *key = NULL;
	X509 *device = NULL, *x = NULL;
	wk_buf b;
	int dlen;
	uint16_t sw = WK_SW_UNKNOWN;

	(void)state;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (cmd->p2 == 0x01 && cmd->p1 == 0x00)
		return device_cert(card, resp);
	if (cmd->p2 != 0x00 || cmd->p1 < WK_ANON_SLOT_OTK ||
	    cmd->p1 > WK_ANON_SLOT_BK)
		return WK_SW_WRONG_P1P2;
	if (get_fixed(card, K_PUB, pub, sizeof(pub), false) != VC_STORE_OK)
		return WK_SW_REF_NOT_FOUND;
	memset(&signer, 0, sizeof(signer));
	key = EVP_PKEY_new_raw_public_key(cmd->p1 == WK_ANON_SLOT_BK ?
	    EVP_PKEY_X25519 : EVP_PKEY_ED25519, NULL,
	    pub + 32 * (size_t)(cmd->p1 - WK_ANON_SLOT_OTK), 32);
	if (key == NULL)
		goto out;
	wk_buf_init_heap(&b, PIV_OBJ_MAX);
	if (piv_key_load(card, PIV_REF_ATTEST, &signer) != VC_STORE_OK ||
	    device_cert(card, &b) != WK_SW_OK) {
		wk_buf_clear(&b);
		sw = WK_SW_REF_DATA_UNUSABLE;
		goto out;
	}
	p = b.p;
	device = d2i_X509(NULL, &p, (long)b.len);
	wk_buf_clear(&b);
	if (device == NULL) {
		sw = WK_SW_REF_DATA_UNUSABLE;
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.slot = cmd->p1;
	info.origin = WK_ATTEST_ORIGIN_GENERATED;
	info.pin_policy = PIV_PINPOL_ALWAYS;
	info.touch_policy = PIV_TOUCH_NEVER;
	info.firmware[0] = PIV_VERSION_MAJOR;
	info.firmware[1] = PIV_VERSION_MINOR;
	info.firmware[2] = PIV_VERSION_PATCH;
	info.serial = piv_serial(card);
	vc_card_random(card, serial, sizeof(serial));
	if (wk_attest_key_new(key, &info, vc_card_serial(card), signer.pkey,
	    device, serial, &x) != WK_ATTEST_OK || (dlen = i2d_X509(x, &der)) <= 0)
		goto out;
	wk_buf_add(resp, der, (size_t)dlen);
	sw = wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
out:
	OPENSSL_free(der);
	X509_free(x);
	X509_free(device);
	EVP_PKEY_free(key);
	piv_key_free(&signer);
	return sw;
}

/* the business key with manager key mgr: 0, -1 when the store fails,
 * 1 when no key can be made with mgr */
static int
business_key_with(vc_card *card, const uint8_t pub[PUB_LEN],
    const uint8_t mgr[32], uint8_t key[32])
{
	uint8_t bk[32];
	int r = -1;

	if (get_fixed(card, K_BK, bk, sizeof(bk), true) != VC_STORE_OK)
		goto out;
	r = wk_anon_business_key(bk, mgr, pub + 64, mgr, key) == WK_ANON_OK ? 0 : 1;
out:
	sodium_memzero(bk, sizeof(bk));
	return r;
}

/* the business key with the account's manager */
static int
business_key(vc_card *card, const uint8_t pub[PUB_LEN], uint8_t key[32])
{
	uint8_t mgr[32];

	if (get_fixed(card, K_MGR, mgr, sizeof(mgr), false) != VC_STORE_OK)
		return -1;
	return business_key_with(card, pub, mgr, key) == 0 ? 0 : -1;
}

static uint16_t
set_account(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_pin_holder *a = state;
	vc_store *st = vc_card_store(card);
	char acct[WK_ANON_ACCT_MAX + 1];
	uint8_t pub[PUB_LEN], card_id[8], bk_pub[32], key[32];
	size_t slen;
	int s, r;

	(void)resp;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (!a->pin_ok)
		return WK_SW_SECURITY_STATUS;
	if (cmd->lc < 1 + 32 || (slen = cmd->data[0]) + 1 + 32 != cmd->lc)
		return WK_SW_WRONG_LENGTH;
	if ((s = anon_state(card)) < 0)
		return WK_SW_MEMORY_FAILURE;
	if (!(s & ST_KEYS) || (s & ST_ACCOUNT))
		return WK_SW_CONDITIONS;
	if (get_fixed(card, K_PUB, pub, sizeof(pub), false) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	/* the manager's signature is the authority's to check; the card
	 * checks that the statement is about this card and its key */
	if (wk_anon_stmt_verify(cmd->data + 1, slen, NULL, acct, sizeof(acct),
	    card_id, bk_pub) != WK_ANON_OK ||
	    memcmp(card_id, vc_card_serial(card), 8) != 0 ||
	    memcmp(bk_pub, pub + 64, 32) != 0)
		return WK_SW_WRONG_DATA;
	/* a manager key no business key can be made with (a low-order
	 * point) is refused now, not by every payment later */
	r = business_key_with(card, pub, cmd->data + 1 + slen, key);
	sodium_memzero(key, sizeof(key));
	if (r != 0)
		return r < 0 ? WK_SW_MEMORY_FAILURE : WK_SW_WRONG_DATA;
	if (vc_store_put(st, ANON_APPLET, K_ACCT, (const uint8_t *)acct,
	    strlen(acct)) != 0 || vc_store_put(st, ANON_APPLET, K_MGR,
	    cmd->data + 1 + slen, 32) != 0)
		return WK_SW_MEMORY_FAILURE;
	return WK_SW_OK;
}

/* an X25519 public key with which a shared secret can be made */
static bool
box_key_ok(const uint8_t pk[32])
{
	uint8_t sk[32], shared[32];
	bool ok;

	randombytes_buf(sk, sizeof(sk));
	ok = crypto_scalarmult(shared, sk, pk) == 0;
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(shared, sizeof(shared));
	return ok;
}

static uint16_t
set_authority(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_pin_holder *a = state;
	int s;

	(void)resp;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (!a->pin_ok)
		return WK_SW_SECURITY_STATUS;
	if (cmd->lc != AUTH_LEN)
		return WK_SW_WRONG_LENGTH;
	if ((s = anon_state(card)) < 0)
		return WK_SW_MEMORY_FAILURE;
	/* set once: the host cannot later swap in keys of its own */
	if (!(s & ST_ACCOUNT) || (s & ST_AUTHORITY))
		return WK_SW_CONDITIONS;
	/* keys no identity credential could be sealed to (a low-order box
	 * key) or no result verified with: refused now, not at every PAY */
	if (!box_key_ok(cmd->data) ||
	    crypto_core_ed25519_is_valid_point(cmd->data + 32) != 1)
		return WK_SW_WRONG_DATA;
	if (vc_store_put(vc_card_store(card), ANON_APPLET, K_AUTH, cmd->data,
	    AUTH_LEN) != 0)
		return WK_SW_MEMORY_FAILURE;
	return WK_SW_OK;
}

static uint16_t
pay(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_pin_holder *a = state;
	vc_store *st = vc_card_store(card);
	uint8_t pub[PUB_LEN], auth[AUTH_LEN], otk[64], idk[64], key[32];
	uint8_t txinfo[WK_ANON_TXINFO_MAX], txcred[WK_ANON_SIG_LEN];
	uint8_t txid[WK_ANON_TXID_LEN], idcred[WK_ANON_IDCRED_LEN];
	uint8_t plain[WK_ANON_REQ_PLAIN_MAX], nonce[WK_ANON_AEAD_NONCE], *env;
	size_t txlen, plen, elen, n;
	wk_anon_tx tx;
	uint64_t ctr;
	int s;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (!a->pin_ok)
		return WK_SW_SECURITY_STATUS;
	if (cmd->lc < 1 || (n = cmd->data[0]) == 0 || n > WK_ANON_ACCT_MAX ||
	    cmd->lc != 1 + n + 16)
		return WK_SW_WRONG_LENGTH;
	if ((s = anon_state(card)) < 0)
		return WK_SW_MEMORY_FAILURE;
	if ((s & (ST_KEYS | ST_ACCOUNT | ST_AUTHORITY)) !=
	    (ST_KEYS | ST_ACCOUNT | ST_AUTHORITY) || (s & ST_PENDING))
		return WK_SW_CONDITIONS;
	memset(&tx, 0, sizeof(tx));
	memcpy(tx.payee, cmd->data + 1, n);
	tx.payee[n] = '\0';
	tx.amount = get64(cmd->data + 1 + n);
	tx.time = get64(cmd->data + 1 + n + 8);
	if (!wk_anon_account_ok(tx.payee) || tx.amount == 0 ||
	    tx.amount > WK_ANON_AMOUNT_MAX)
		return WK_SW_WRONG_DATA;
	if (get_acct(card, tx.payer) != VC_STORE_OK ||
	    vc_store_get_u64(st, ANON_APPLET, K_CTR, &ctr) != VC_STORE_OK ||
	    get_fixed(card, K_PUB, pub, sizeof(pub), false) != VC_STORE_OK ||
	    get_fixed(card, K_AUTH, auth, sizeof(auth), false) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (strcmp(tx.payer, tx.payee) == 0)
		return WK_SW_WRONG_DATA;
	/* one VERIFY, one payment */
	a->pin_ok = false;
	tx.counter = ctr + 1;
	vc_card_random(card, tx.nonce, sizeof(tx.nonce));
	vc_card_random(card, nonce, sizeof(nonce));
	if (wk_anon_tx_encode(&tx, txinfo, sizeof(txinfo), &txlen) != WK_ANON_OK) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	wk_anon_txid(txinfo, txlen, txid);
	if (get_fixed(card, K_OTK, otk, sizeof(otk), true) != VC_STORE_OK ||
	    get_fixed(card, K_IDK, idk, sizeof(idk), true) != VC_STORE_OK ||
	    business_key(card, pub, key) != 0)
		goto out;
	crypto_sign_detached(txcred, NULL, txinfo, txlen, otk);
	if (wk_anon_idcred_seal(txid, auth + 64, idk, auth, idcred) != WK_ANON_OK ||
	    wk_anon_req_encode(txinfo, txlen, txcred, idcred, sizeof(idcred), plain,
	    sizeof(plain), &plen) != WK_ANON_OK)
		goto out;
	if ((env = wk_buf_reserve(resp, WK_ANON_ENV_MAX)) == NULL)
		goto out;
	if (wk_anon_env_seal(WK_ANON_ENV_PAY, tx.payer, key, nonce, plain, plen,
	    env, WK_ANON_ENV_MAX, &elen) != WK_ANON_OK)
		goto out;
	resp->len -= WK_ANON_ENV_MAX - elen;
	/* the counter and the pending payment are durable with the answer */
	if (vc_store_put_u64(st, ANON_APPLET, K_CTR, tx.counter) != 0 ||
	    vc_store_put(st, ANON_APPLET, K_PEND, txinfo, txlen) != 0)
		goto out;
	sw = WK_SW_OK;
out:
	sodium_memzero(otk, sizeof(otk));
	sodium_memzero(idk, sizeof(idk));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(plain, sizeof(plain));
	return sw;
}

/* the audit record of a committed payment (docs/audit.md, type 21) */
static int
audit_payment(vc_card *card, const wk_anon_tx *tx, const wk_anon_result *r,
    const uint8_t txid[32])
{
	uint8_t h[32];
	time_t t = (time_t)r->time;
	wk_arec rec;

	memset(&rec, 0, sizeof(rec));
	rec.type = WK_AREC_ANON_PAYMENT;
	rec.counter = (uint16_t)tx->counter;
	rec.amount = (uint32_t)tx->amount;
	rec.balance = r->balance < 0 ? 0 : r->balance > 0xFFFFFFFF ? 0xFFFFFFFFu :
	    (uint32_t)r->balance;
	rec.src[0] = WK_AREC_ACCT_ANON;
	crypto_hash_sha256(h, (const uint8_t *)tx->payer, strlen(tx->payer));
	memcpy(rec.src + 1, h, WK_AREC_ACCT_LEN - 1);
	rec.dst[0] = WK_AREC_ACCT_ANON;
	crypto_hash_sha256(h, (const uint8_t *)tx->payee, strlen(tx->payee));
	memcpy(rec.dst + 1, h, WK_AREC_ACCT_LEN - 1);
	memcpy(rec.term_id, txid, 6);
	(void)wk_bcd_datetime(t, rec.date, rec.time);
	return audit_log_append(card, &rec);
}

static uint16_t
result(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	vc_store *st = vc_card_store(card);
	uint8_t auth[AUTH_LEN], txinfo[WK_ANON_TXINFO_MAX], txid[32];
	wk_anon_result r;
	wk_anon_tx tx;
	size_t txlen;
	int rc;

	(void)state;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc == 0 || cmd->lc > WK_ANON_RES_MAX)
		return WK_SW_WRONG_LENGTH;
	if (get_fixed(card, K_AUTH, auth, sizeof(auth), false) != VC_STORE_OK)
		return WK_SW_CONDITIONS;
	rc = get_pending(card, txinfo, &txlen);
	if (rc == VC_STORE_NOT_FOUND)
		return WK_SW_CONDITIONS;
	if (rc != VC_STORE_OK || wk_anon_tx_decode(txinfo, txlen, &tx) !=
	    WK_ANON_OK)
		return WK_SW_MEMORY_FAILURE;
	rc = wk_anon_result_verify(cmd->data, cmd->lc, auth + 32, &r);
	if (rc == WK_ANON_MALFORMED)
		return WK_SW_WRONG_DATA;
	if (rc != WK_ANON_OK)
		return WK_SW_SECURITY_STATUS;
	wk_anon_txid(txinfo, txlen, txid);
	/* a genuine result of another payment settles nothing here */
	if (sodium_memcmp(r.txid, txid, 32) != 0)
		return WK_SW_REF_NOT_FOUND;
	if (r.status == WK_ANON_COMMITTED) {
		if (r.amount != tx.amount)
			return WK_SW_WRONG_DATA;
		if (audit_log_room(card) != AUDIT_LOG_OK)
			return WK_SW_NO_SPACE;
		if (audit_payment(card, &tx, &r, txid) != AUDIT_LOG_OK)
			return WK_SW_MEMORY_FAILURE;
	}
	if (vc_store_del(st, ANON_APPLET, K_PEND) != 0)
		return WK_SW_MEMORY_FAILURE;
	wk_buf_u8(resp, r.status);
	return WK_SW_OK;
}

static uint16_t
pending(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t txinfo[WK_ANON_TXINFO_MAX];
	size_t n;
	int rc;

	(void)state;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	rc = get_pending(card, txinfo, &n);
	if (rc == VC_STORE_NOT_FOUND)
		return WK_SW_REF_NOT_FOUND;
	if (rc != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	wk_buf_add(resp, txinfo, n);
	return WK_SW_OK;
}

static uint16_t
query(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_pin_holder *a = state;
	char acct[WK_ANON_ACCT_MAX + 1];
	uint8_t pub[PUB_LEN], key[32], plain[WK_ANON_QUERY_LEN], q[16];
	uint8_t nonce[WK_ANON_AEAD_NONCE], *env;
	size_t elen;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (!a->pin_ok)
		return WK_SW_SECURITY_STATUS;
	if (cmd->lc != 8)
		return WK_SW_WRONG_LENGTH;
	if (get_acct(card, acct) != VC_STORE_OK)
		return WK_SW_CONDITIONS;
	if (get_fixed(card, K_PUB, pub, sizeof(pub), false) != VC_STORE_OK ||
	    business_key(card, pub, key) != 0)
		goto out;
	vc_card_random(card, q, sizeof(q));
	vc_card_random(card, nonce, sizeof(nonce));
	wk_anon_query_encode(get64(cmd->data), q, plain);
	if ((env = wk_buf_reserve(resp, WK_ANON_ENV_MAX)) == NULL ||
	    wk_anon_env_seal(WK_ANON_ENV_QUERY, acct, key, nonce, plain,
	    sizeof(plain), env, WK_ANON_ENV_MAX, &elen) != WK_ANON_OK)
		goto out;
	resp->len -= WK_ANON_ENV_MAX - elen;
	sw = WK_SW_OK;
out:
	sodium_memzero(key, sizeof(key));
	return sw;
}

static const vc_cmd anon_cmds[] = {
	PURSE_PIN_HOLDER_VERIFY_ROW,
	{ WK_ANON_INS_INFO, 0x80, 0, info },
	{ WK_ANON_INS_GENERATE, 0x80, 0, generate },
	{ WK_ANON_INS_ATTEST, 0x80, 0, attest },
	{ WK_ANON_INS_ACCOUNT, 0x80, 0, set_account },
	{ WK_ANON_INS_AUTHORITY, 0x80, 0, set_authority },
	{ WK_ANON_INS_PAY, 0x80, 0, pay },
	{ WK_ANON_INS_RESULT, 0x80, 0, result },
	{ WK_ANON_INS_PENDING, 0x80, 0, pending },
	{ WK_ANON_INS_QUERY, 0x80, 0, query },
	{ 0, 0, 0, NULL },
};

const vc_applet vc_applet_anon = PURSE_PIN_HOLDER_APPLET("anon", anon_aids,
    anon_create, anon_create, anon_select, anon_cmds);
