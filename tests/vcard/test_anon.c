/*
 * the semi-anonymous payment applet (vcard/applets/anon.c) through the card
 * runtime and a real store, with the parties played here: a manager (its
 * X25519 key, its statement) and an authority (its box and signing keys).
 * PIN gating, one payment pending, the counter, the result's signature,
 * txid and amount, the audit record in the same commit as the settled
 * payment, a full log, a power cycle with a payment pending, and malformed
 * APDUs: each gets its status word and changes nothing in the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "perso_fixture.h"
#include "applets/audit_log.h"
#include "vc_card.h"
#include "vc_perso.h"
#include "vc_store.h"
#include "wk_anon.h"
#include "wk_arec.h"
#include "wk_attest.h"
#include "wk_hex.h"
#include "wk_vpcd.h"

extern const vc_applet vc_applet_piv;
extern const vc_applet vc_applet_purse;
extern const vc_applet vc_applet_audit;
extern const vc_applet vc_applet_anon;

static const vc_applet *const applets[] = { &vc_applet_piv,
    &vc_applet_purse, &vc_applet_audit, &vc_applet_anon };

#define CAP 10
#define PAYEE "am2-fedcba9876543210"
#define SW_PIN_WRONG(n) (0x63C0 | (n))

static struct {
	char dir[256], path[300], perso[300], mfg[300];
	vc_store *st;
	vc_card *card;
	uint8_t resp[70000];
	size_t rlen;
	X509 *mfg_cert;
	/* the parties */
	uint8_t mgr_pk[32], mgr_sk[32];		/* the manager's X25519 */
	uint8_t mgr_sign_pk[32], mgr_sign_sk[64];
	uint8_t box_pk[32], box_sk[32];		/* the authority's */
	uint8_t auth_pk[32], auth_sk[64];
	uint8_t features[32];
	/* the card's publics after GENERATE: otk | idk | bk */
	uint8_t pub[96];
	char acct[WK_ANON_ACCT_MAX + 1];
} fx;

/* ---- the APDU layer ---- */

static uint16_t
txb(const uint8_t *apdu, size_t n)
{
	assert_int_equal(vc_card_apdu(fx.card, apdu, n, fx.resp, sizeof(fx.resp),
	    &fx.rlen), VC_CARD_OK);
	assert_true(fx.rlen >= 2);
	fx.rlen -= 2;
	return (uint16_t)(fx.resp[fx.rlen] << 8 | fx.resp[fx.rlen + 1]);
}

static uint16_t
hx(const char *hexcmd)
{
	uint8_t cmd[4096];
	char clean[8192];
	size_t j = 0;
	long n;

	for (size_t i = 0; hexcmd[i] != '\0'; i++)
		if (hexcmd[i] != ' ')
			clean[j++] = hexcmd[i];
	clean[j] = '\0';
	n = wk_hex_decode(clean, cmd, sizeof(cmd));
	assert_true(n > 0);
	return txb(cmd, (size_t)n);
}

/* CLA INS P1 P2 [Lc data] Le: extended, so any answer fits */
static uint16_t
cmd(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
    size_t lc)
{
	uint8_t apdu[8 + 65536];
	size_t n = 0;

	apdu[n++] = cla;
	apdu[n++] = ins;
	apdu[n++] = p1;
	apdu[n++] = p2;
	apdu[n++] = 0;
	if (lc > 0) {
		apdu[n++] = (uint8_t)(lc >> 8);
		apdu[n++] = (uint8_t)lc;
		memcpy(apdu + n, data, lc);
		n += lc;
	}
	apdu[n++] = 0;
	apdu[n++] = 0;
	return txb(apdu, n);
}

static uint16_t
anon(uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc)
{
	return cmd(0x80, ins, p1, p2, data, lc);
}

static void
select_anon(void)
{
	assert_int_equal(hx("00 A4 04 00 07 F0 57 4B 41 4E 4F 4E 00"), 0x9000);
}

static void
verify_pin(void)
{
	assert_int_equal(hx("00 20 00 00 03 12 34 56"), 0x9000);
}

static void
digest(uint8_t out[32])
{
	vc_store_digest(fx.st, out);
}

#define ASSERT_UNCHANGED(before) do { \
	uint8_t after_[32]; \
	digest(after_); \
	assert_memory_equal((before), after_, 32); \
} while (0)

/* ---- fixtures ---- */

static void
card_open(bool init)
{
	vc_card_opts o = { .applets = applets, .n_applets = 4, .init = init,
	    .perso_path = fx.perso, .attest_ca_path = fx.mfg };

	if (init)
		assert_int_equal(vc_store_create(fx.path, NULL, &fx.st), VC_STORE_OK);
	else
		assert_int_equal(vc_store_open(fx.path, NULL, &fx.st), VC_STORE_OK);
	assert_int_equal(vc_card_new(fx.st, &o, &fx.card), VC_CARD_OK);
}

static void
card_close(void)
{
	vc_card_free(&fx.card);
	vc_store_free(&fx.st);
}

static int
setup(void **unused)
{
	const char *tmp = getenv("TMPDIR");

	(void)unused;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "%s/test_anon.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/card.db", fx.dir);
	snprintf(fx.perso, sizeof(fx.perso), "%s/perso.json", fx.dir);
	snprintf(fx.mfg, sizeof(fx.mfg), "%s/mfg.pem", fx.dir);
	/* the demo profile (PIN 123456) with a small audit log */
	write_demo_profile(fx.perso, CAP);
	fx.mfg_cert = write_mfg_ca(fx.mfg);
	card_open(true);
	crypto_box_keypair(fx.mgr_pk, fx.mgr_sk);
	crypto_sign_keypair(fx.mgr_sign_pk, fx.mgr_sign_sk);
	crypto_box_keypair(fx.box_pk, fx.box_sk);
	crypto_sign_keypair(fx.auth_pk, fx.auth_sk);
	randombytes_buf(fx.features, sizeof(fx.features));
	snprintf(fx.acct, sizeof(fx.acct), "am1-0011223344556677");
	return 0;
}

static int
teardown(void **unused)
{
	char c[600];

	(void)unused;
	card_close();
	X509_free(fx.mfg_cert);
	snprintf(c, sizeof(c), "rm -rf '%s'", fx.dir);
	assert_int_equal(system(c), 0);
	return 0;
}

/* ---- the parties' messages ---- */

static size_t
statement(const char *acct, const uint8_t card_id[8], const uint8_t bk[32],
    uint8_t *out, size_t cap)
{
	size_t n;

	assert_int_equal(wk_anon_stmt_sign(acct, card_id, bk, fx.mgr_sign_sk, out,
	    cap, &n), WK_ANON_OK);
	return n;
}

/* ACCOUNT data: statement 1+n | manager key 32 */
static size_t
account_data(const char *acct, const uint8_t card_id[8], const uint8_t bk[32],
    const uint8_t mgr[32], uint8_t *out)
{
	size_t n = statement(acct, card_id, bk, out + 1, 255);

	out[0] = (uint8_t)n;
	memcpy(out + 1 + n, mgr, 32);
	return 1 + n + 32;
}

static void
generate(void)
{
	verify_pin();
	assert_int_equal(anon(WK_ANON_INS_GENERATE, 1, 0, NULL, 0), 0x9000);
	assert_int_equal(fx.rlen, 96);
	memcpy(fx.pub, fx.resp, 96);
}

/* GENERATE, ACCOUNT, AUTHORITY: an enrolled card */
static void
enrol(void)
{
	uint8_t d[300], auth[96];
	size_t n;

	select_anon();
	generate();
	n = account_data(fx.acct, vc_card_serial(fx.card), fx.pub + 64, fx.mgr_pk,
	    d);
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n), 0x9000);
	memcpy(auth, fx.box_pk, 32);
	memcpy(auth + 32, fx.auth_pk, 32);
	memcpy(auth + 64, fx.features, 32);
	assert_int_equal(anon(WK_ANON_INS_AUTHORITY, 0, 0, auth, sizeof(auth)),
	    0x9000);
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static size_t
pay_data(const char *payee, uint64_t amount, uint64_t t, uint8_t *d)
{
	size_t n = strlen(payee);

	d[0] = (uint8_t)n;
	memcpy(d + 1, payee, n);
	put64(d + 1 + n, amount);
	put64(d + 1 + n + 8, t);
	return 1 + n + 16;
}

typedef struct opened {
	wk_anon_tx tx;
	uint8_t txinfo[WK_ANON_TXINFO_MAX];
	size_t txlen;
	uint8_t txid[32];
} opened;

/* the manager's and the authority's checks of an envelope from PAY */
static void
open_payment(const uint8_t *env, size_t len, opened *o)
{
	uint8_t key[32], plain[WK_ANON_REQ_PLAIN_MAX], feat[32];
	const uint8_t *txinfo, *txcred, *idcred;
	char acct[WK_ANON_ACCT_MAX + 1];
	size_t pl, idlen;
	uint8_t kind;

	assert_int_equal(wk_anon_env_peek(env, len, &kind, acct, sizeof(acct)),
	    WK_ANON_OK);
	assert_int_equal(kind, WK_ANON_ENV_PAY);
	assert_string_equal(acct, fx.acct);
	assert_int_equal(wk_anon_business_key(fx.mgr_sk, fx.pub + 64, fx.pub + 64,
	    fx.mgr_pk, key), WK_ANON_OK);
	assert_int_equal(wk_anon_env_open(env, len, key, plain, sizeof(plain), &pl),
	    WK_ANON_OK);
	assert_int_equal(wk_anon_req_decode(plain, pl, &txinfo, &o->txlen, &txcred,
	    &idcred, &idlen), WK_ANON_OK);
	memcpy(o->txinfo, txinfo, o->txlen);
	assert_int_equal(wk_anon_tx_decode(txinfo, o->txlen, &o->tx), WK_ANON_OK);
	assert_string_equal(o->tx.payer, fx.acct);
	wk_anon_txid(txinfo, o->txlen, o->txid);
	/* the online-transaction key signed it; the identity key did not */
	assert_int_equal(crypto_sign_verify_detached(txcred, txinfo, o->txlen,
	    fx.pub), 0);
	assert_int_not_equal(crypto_sign_verify_detached(txcred, txinfo, o->txlen,
	    fx.pub + 32), 0);
	/* the identity credential opens at the authority only, names this
	 * payment and the registered person */
	assert_int_equal(wk_anon_idcred_open(idcred, idlen, fx.box_pk, fx.box_sk,
	    fx.pub + 32, o->txid, feat), WK_ANON_OK);
	assert_memory_equal(feat, fx.features, 32);
	assert_int_equal(wk_anon_idcred_open(idcred, idlen, fx.mgr_pk, fx.mgr_sk,
	    fx.pub + 32, o->txid, feat), WK_ANON_CRYPTO);
}

/* VERIFY, PAY: the opened payment */
static void
pay(const char *payee, uint64_t amount, opened *o)
{
	uint8_t d[64];

	verify_pin();
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, pay_data(payee, amount,
	    1790000000, d)), 0x9000);
	open_payment(fx.resp, fx.rlen, o);
}

static size_t
result_msg(const uint8_t txid[32], uint8_t status, uint64_t amount,
    int64_t balance, const uint8_t sk[64], uint8_t *out)
{
	wk_anon_result r;
	size_t n;

	memset(&r, 0, sizeof(r));
	memcpy(r.txid, txid, 32);
	r.status = status;
	r.amount = amount;
	r.balance = balance;
	r.time = 1790000005;
	if (status != WK_ANON_COMMITTED)
		strcpy(r.reason, "insufficient funds");
	assert_int_equal(wk_anon_result_sign(&r, sk, out, WK_ANON_RES_MAX, &n),
	    WK_ANON_OK);
	return n;
}

static void
info(uint8_t *state, uint64_t *counter, uint8_t txid[32])
{
	assert_int_equal(anon(WK_ANON_INS_INFO, 0, 0, NULL, 0), 0x9000);
	assert_true(fx.rlen >= 10 + 32);
	*state = fx.resp[0];
	*counter = 0;
	for (int i = 0; i < 8; i++)
		*counter = *counter << 8 | fx.resp[1 + i];
	assert_int_equal(fx.rlen, 10 + fx.resp[9] + 32);
	memcpy(txid, fx.resp + 10 + fx.resp[9], 32);
}

static unsigned
audit_records(void)
{
	audit_state s;

	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	return (unsigned)(s.head_seq - s.base_seq);
}

static void
audit_last(wk_arec *r)
{
	audit_state s;
	uint8_t raw[WK_AREC_LEN + 8];
	unsigned count;
	uint64_t first;
	wk_buf b;

	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	wk_buf_init_fixed(&b, raw, sizeof(raw));
	assert_int_equal(audit_log_read(fx.card, s.head_seq, 1, &b, &count,
	    &first), AUDIT_LOG_OK);
	assert_int_equal(count, 1);
	assert_int_equal(wk_arec_decode(raw, WK_AREC_LEN, r), WK_AREC_OK);
}

/* ---- tests ---- */

static void
test_select_info(void **unused)
{
	uint8_t st, txid[32], zero[32] = { 0 };
	uint64_t ctr;

	(void)unused;
	assert_int_equal(hx("00 A4 04 00 07 F0 57 4B 41 4E 4F 4E 00"), 0x9000);
	assert_true(fx.rlen >= 11);
	assert_int_equal(fx.resp[0], 0x6F);
	assert_int_equal(fx.resp[2], 0x84);
	assert_int_equal(fx.resp[3], 7);
	assert_memory_equal(fx.resp + 4, "\xF0WKANON", 7);
	/* P2 0C: no FCI */
	assert_int_equal(hx("00 A4 04 0C 07 F0 57 4B 41 4E 4F 4E"), 0x9000);
	assert_int_equal(fx.rlen, 0);
	info(&st, &ctr, txid);
	assert_int_equal(st, 0);
	assert_int_equal(ctr, 0);
	assert_int_equal(fx.resp[9], 0);
	assert_memory_equal(txid, zero, 32);
	/* INFO needs no PIN and writes nothing */
	enrol();
	info(&st, &ctr, txid);
	assert_int_equal(st, 1 | 2 | 4);
	assert_int_equal(fx.resp[9], strlen(fx.acct));
	assert_memory_equal(fx.resp + 10, fx.acct, strlen(fx.acct));
}

static void
test_pin_gating(void **unused)
{
	uint8_t d[300], before[32], auth[96] = { 0 };
	uint16_t sw;
	opened o;

	(void)unused;
	memset(d, 0, sizeof(d));
	select_anon();
	/* every command that makes or uses a key wants the PIN */
	digest(before);
	assert_int_equal(anon(WK_ANON_INS_GENERATE, 1, 0, NULL, 0), 0x6982);
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, 33), 0x6982);
	assert_int_equal(anon(WK_ANON_INS_AUTHORITY, 0, 0, auth, 96), 0x6982);
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, pay_data(PAYEE, 1, 0, d)),
	    0x6982);
	assert_int_equal(anon(WK_ANON_INS_QUERY, 0, 0, d, 8), 0x6982);
	ASSERT_UNCHANGED(before);
	/* the purse PIN and its try counter: a wrong PIN costs one try, here
	 * and in the purse */
	assert_int_equal(hx("00 20 00 00"), SW_PIN_WRONG(3));
	assert_int_equal(hx("00 20 00 00 03 65 43 21"), SW_PIN_WRONG(2));
	assert_int_equal(hx("00 20 00 00"), SW_PIN_WRONG(2));
	assert_int_equal(anon(WK_ANON_INS_GENERATE, 1, 0, NULL, 0), 0x6982);
	assert_int_equal(hx("00 A4 04 00 08 F0 57 4B 50 55 52 53 45"), 0x9000);
	assert_int_equal(hx("00 20 00 00"), SW_PIN_WRONG(2));
	select_anon();
	verify_pin();
	assert_int_equal(hx("00 20 00 00"), 0x9000);
	/* a right PIN gives the tries back */
	assert_int_equal(hx("00 A4 04 00 08 F0 57 4B 50 55 52 53 45"), 0x9000);
	assert_int_equal(hx("00 20 00 00"), SW_PIN_WRONG(3));
	/* SELECT drops the PIN, whichever applet it selects */
	select_anon();
	verify_pin();
	select_anon();
	assert_int_equal(anon(WK_ANON_INS_GENERATE, 1, 0, NULL, 0), 0x6982);
	verify_pin();
	assert_int_equal(hx("00 A4 04 00 08 F0 57 4B 41 55 44 49 54"), 0x9000);
	select_anon();
	assert_int_equal(anon(WK_ANON_INS_GENERATE, 1, 0, NULL, 0), 0x6982);
	/* a power cycle too */
	verify_pin();
	assert_int_equal(vc_card_control(fx.card, WK_VPCD_RESET, NULL, 0,
	    &fx.rlen), VC_CARD_OK);
	select_anon();
	assert_int_equal(anon(WK_ANON_INS_GENERATE, 1, 0, NULL, 0), 0x6982);
	/* one VERIFY, one payment */
	enrol();
	pay(PAYEE, 10, &o);
	{
		uint8_t r[WK_ANON_RES_MAX];
		size_t n = result_msg(o.txid, WK_ANON_COMMITTED, 10, 90, fx.auth_sk, r);

		/* RESULT needs no PIN: it is the authority's signature */
		assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x9000);
	}
	digest(before);
	sw = anon(WK_ANON_INS_PAY, 0, 0, d, pay_data(PAYEE, 10, 0, d));
	assert_int_equal(sw, 0x6982);
	ASSERT_UNCHANGED(before);
	/* three wrong PINs block it: 6983, and a right one no longer helps */
	assert_int_equal(hx("00 20 00 00 03 65 43 21"), SW_PIN_WRONG(2));
	assert_int_equal(hx("00 20 00 00 03 65 43 21"), SW_PIN_WRONG(1));
	assert_int_equal(hx("00 20 00 00 03 65 43 21"), SW_PIN_WRONG(0));
	assert_int_equal(hx("00 20 00 00 03 12 34 56"), 0x6983);
	digest(before);
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, pay_data(PAYEE, 10, 0, d)),
	    0x6982);
	ASSERT_UNCHANGED(before);
}

static void
test_generate_attest(void **unused)
{
	uint8_t pub2[96], before[32];
	uint8_t *der[2] = { NULL, NULL };
	size_t len[2];
	X509_STORE *store = X509_STORE_new();
	wk_attest_facts f;
	char why[200];

	(void)unused;
	select_anon();
	/* no keys yet: nothing to attest */
	assert_int_equal(anon(WK_ANON_INS_ATTEST, WK_ANON_SLOT_OTK, 0, NULL, 0),
	    0x6A88);
	generate();
	/* once made, the keys stay: GENERATE answers the same publics */
	memcpy(pub2, fx.pub, 96);
	verify_pin();
	digest(before);
	assert_int_equal(anon(WK_ANON_INS_GENERATE, 1, 0, NULL, 0), 0x9000);
	assert_int_equal(fx.rlen, 96);
	assert_memory_equal(pub2, fx.resp, 96);
	ASSERT_UNCHANGED(before);
	assert_memory_not_equal(fx.pub, fx.pub + 32, 32);
	/* the device certificate, then each key's attestation, checked as the
	 * parties check it: a chain to the manufacturer, this card, the slot,
	 * the key, generated on the card */
	assert_non_null(store);
	assert_int_equal(X509_STORE_add_cert(store, fx.mfg_cert), 1);
	assert_int_equal(anon(WK_ANON_INS_ATTEST, 0, 1, NULL, 0), 0x9000);
	len[1] = fx.rlen;
	der[1] = malloc(len[1]);
	memcpy(der[1], fx.resp, len[1]);
	for (uint8_t slot = WK_ANON_SLOT_OTK; slot <= WK_ANON_SLOT_BK; slot++) {
		const uint8_t *pk = fx.pub + 32 * (size_t)(slot - WK_ANON_SLOT_OTK);
		EVP_PKEY *k = EVP_PKEY_new_raw_public_key(slot == WK_ANON_SLOT_BK ?
		    EVP_PKEY_X25519 : EVP_PKEY_ED25519, NULL, pk, 32);
		EVP_PKEY *wrong = EVP_PKEY_new_raw_public_key(slot ==
		    WK_ANON_SLOT_BK ? EVP_PKEY_X25519 : EVP_PKEY_ED25519, NULL,
		    fx.pub + 32 * (size_t)((slot - WK_ANON_SLOT_OTK + 1) % 2), 32);

		assert_int_equal(anon(WK_ANON_INS_ATTEST, slot, 0, NULL, 0), 0x9000);
		len[0] = fx.rlen;
		der[0] = malloc(len[0]);
		memcpy(der[0], fx.resp, len[0]);
		assert_int_equal(wk_attest_verify(store, (const uint8_t *const *)der,
		    len, 2, vc_card_serial(fx.card), slot, k, &f, why, sizeof(why)),
		    WK_ATTEST_OK);
		assert_int_equal(f.slot, slot);
		assert_int_equal(f.origin, WK_ATTEST_ORIGIN_GENERATED);
		/* another slot, another key: refused */
		assert_int_not_equal(wk_attest_verify(store,
		    (const uint8_t *const *)der, len, 2, vc_card_serial(fx.card),
		    slot == WK_ANON_SLOT_BK ? WK_ANON_SLOT_OTK : slot + 1, k, NULL,
		    NULL, 0), WK_ATTEST_OK);
		if (slot != WK_ANON_SLOT_BK)
			assert_int_not_equal(wk_attest_verify(store,
			    (const uint8_t *const *)der, len, 2,
			    vc_card_serial(fx.card), slot, wrong, NULL, NULL, 0),
			    WK_ATTEST_OK);
		free(der[0]);
		EVP_PKEY_free(k);
		EVP_PKEY_free(wrong);
	}
	free(der[1]);
	X509_STORE_free(store);
	/* other slots and parameters; ATTEST takes no data */
	digest(before);
	assert_int_equal(anon(WK_ANON_INS_ATTEST, 0x9F, 0, NULL, 0), 0x6A86);
	assert_int_equal(anon(WK_ANON_INS_ATTEST, 0xA3, 0, NULL, 0), 0x6A86);
	assert_int_equal(anon(WK_ANON_INS_ATTEST, WK_ANON_SLOT_OTK, 2, NULL, 0),
	    0x6A86);
	assert_int_equal(anon(WK_ANON_INS_ATTEST, 1, 1, NULL, 0), 0x6A86);
	assert_int_equal(anon(WK_ANON_INS_ATTEST, WK_ANON_SLOT_OTK, 0,
	    (const uint8_t *)"x", 1), 0x6700);
	ASSERT_UNCHANGED(before);
}

static void
test_account_authority(void **unused)
{
	uint8_t d[300], before[32], auth[96], other_id[8], other_bk[32];
	uint8_t zero[32] = { 0 }, other_sk[64];
	uint8_t st, txid[32];
	uint64_t ctr;
	size_t n;

	(void)unused;
	select_anon();
	verify_pin();
	/* before GENERATE: no account */
	n = account_data(fx.acct, vc_card_serial(fx.card), zero, fx.mgr_pk, d);
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n), 0x6985);
	generate();
	digest(before);
	/* a statement about another card, another business key */
	memcpy(other_id, vc_card_serial(fx.card), 8);
	other_id[7] ^= 1;
	n = account_data(fx.acct, other_id, fx.pub + 64, fx.mgr_pk, d);
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n), 0x6A80);
	randombytes_buf(other_bk, 32);
	n = account_data(fx.acct, vc_card_serial(fx.card), other_bk, fx.mgr_pk, d);
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n), 0x6A80);
	/* a malformed statement; lengths that do not add up */
	n = account_data(fx.acct, vc_card_serial(fx.card), fx.pub + 64, fx.mgr_pk,
	    d);
	d[1] ^= 0x40;
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n), 0x6A80);
	d[1] ^= 0x40;
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n - 1), 0x6700);
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, 32), 0x6700);
	d[0]++;
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n), 0x6700);
	d[0]--;
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 1, 0, d, n), 0x6A86);
	/* a manager key that is a low-order point: no business key could ever
	 * be made with it, so the card refuses it now rather than fail every
	 * payment later */
	n = account_data(fx.acct, vc_card_serial(fx.card), fx.pub + 64, zero, d);
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n), 0x6A80);
	/* AUTHORITY before ACCOUNT */
	memcpy(auth, fx.box_pk, 32);
	memcpy(auth + 32, fx.auth_pk, 32);
	memcpy(auth + 64, fx.features, 32);
	assert_int_equal(anon(WK_ANON_INS_AUTHORITY, 0, 0, auth, 96), 0x6985);
	ASSERT_UNCHANGED(before);
	n = account_data(fx.acct, vc_card_serial(fx.card), fx.pub + 64, fx.mgr_pk,
	    d);
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n), 0x9000);
	/* once only: a host cannot move the card to another account */
	digest(before);
	n = account_data("am9-0011223344556677", vc_card_serial(fx.card),
	    fx.pub + 64, fx.mgr_pk, d);
	assert_int_equal(anon(WK_ANON_INS_ACCOUNT, 0, 0, d, n), 0x6985);
	/* AUTHORITY: lengths, parameters, keys that cannot be used */
	assert_int_equal(anon(WK_ANON_INS_AUTHORITY, 0, 0, auth, 95), 0x6700);
	assert_int_equal(anon(WK_ANON_INS_AUTHORITY, 0, 1, auth, 96), 0x6A86);
	memcpy(d, auth, 96);
	memset(d, 0, 32);
	assert_int_equal(anon(WK_ANON_INS_AUTHORITY, 0, 0, d, 96), 0x6A80);
	memcpy(d, auth, 96);
	memset(d + 32, 0, 32);
	assert_int_equal(anon(WK_ANON_INS_AUTHORITY, 0, 0, d, 96), 0x6A80);
	/* PAY before AUTHORITY */
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, pay_data(PAYEE, 1, 0, d)),
	    0x6985);
	ASSERT_UNCHANGED(before);
	verify_pin();
	assert_int_equal(anon(WK_ANON_INS_AUTHORITY, 0, 0, auth, 96), 0x9000);
	/* set once: the host cannot swap in keys of its own afterwards */
	digest(before);
	memcpy(d, auth, 96);
	crypto_sign_keypair(d + 32, other_sk);
	assert_int_equal(anon(WK_ANON_INS_AUTHORITY, 0, 0, d, 96), 0x6985);
	ASSERT_UNCHANGED(before);
	info(&st, &ctr, txid);
	assert_int_equal(st, 7);
}

static void
test_pay_commit(void **unused)
{
	uint8_t r[WK_ANON_RES_MAX], before[32], st, txid[32], h[32];
	uint8_t osk[64], opk[32], d[64];
	unsigned records;
	uint64_t ctr, version;
	wk_arec rec;
	opened o;
	size_t n;

	(void)unused;
	enrol();
	records = audit_records();
	pay(PAYEE, 1234, &o);
	assert_string_equal(o.tx.payee, PAYEE);
	assert_int_equal(o.tx.amount, 1234);
	assert_int_equal(o.tx.time, 1790000000);
	assert_int_equal(o.tx.counter, 1);
	/* pending: INFO names it, PENDING gives its txinfo */
	info(&st, &ctr, txid);
	assert_int_equal(st, 1 | 2 | 4 | 8);
	assert_int_equal(ctr, 1);
	assert_memory_equal(txid, o.txid, 32);
	assert_int_equal(anon(WK_ANON_INS_PENDING, 0, 0, NULL, 0), 0x9000);
	assert_int_equal(fx.rlen, o.txlen);
	assert_memory_equal(fx.resp, o.txinfo, o.txlen);
	/* one payment pending: no second one, PIN or not */
	verify_pin();
	digest(before);
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, pay_data(PAYEE, 5, 0, d)),
	    0x6985);
	ASSERT_UNCHANGED(before);
	/* results that settle nothing, each leaving the store as it was:
	 * another key, a flipped byte, another payment, another amount,
	 * malformed */
	crypto_sign_keypair(opk, osk);
	n = result_msg(o.txid, WK_ANON_COMMITTED, 1234, 100, osk, r);
	assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x6982);
	n = result_msg(o.txid, WK_ANON_COMMITTED, 1234, 100, fx.auth_sk, r);
	for (size_t i = 0; i < n; i++) {
		uint16_t sw;

		r[i] ^= 0x04;
		sw = anon(WK_ANON_INS_RESULT, 0, 0, r, n);
		assert_true(sw == 0x6982 || sw == 0x6A80);
		r[i] ^= 0x04;
	}
	assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n - 1), 0x6A80);
	memcpy(h, o.txid, 32);
	h[0] ^= 1;
	n = result_msg(h, WK_ANON_COMMITTED, 1234, 100, fx.auth_sk, r);
	assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x6A88);
	n = result_msg(o.txid, WK_ANON_COMMITTED, 1235, 100, fx.auth_sk, r);
	assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x6A80);
	ASSERT_UNCHANGED(before);
	assert_int_equal(audit_records(), records);
	/* the authority's result: the audit record and the settled payment
	 * in one commit of the store */
	version = vc_store_version(fx.st);
	n = result_msg(o.txid, WK_ANON_COMMITTED, 1234, 98766, fx.auth_sk, r);
	assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x9000);
	assert_int_equal(fx.rlen, 1);
	assert_int_equal(fx.resp[0], WK_ANON_COMMITTED);
	assert_int_equal(vc_store_version(fx.st), version + 1);
	assert_int_equal(audit_records(), records + 1);
	info(&st, &ctr, txid);
	assert_int_equal(st, 7);
	assert_int_equal(ctr, 1);
	audit_last(&rec);
	assert_int_equal(rec.type, WK_AREC_ANON_PAYMENT);
	assert_int_equal(rec.amount, 1234);
	assert_int_equal(rec.balance, 98766);
	assert_int_equal(rec.counter, 1);
	assert_int_equal(rec.src[0], WK_AREC_ACCT_ANON);
	crypto_hash_sha256(h, (const uint8_t *)fx.acct, strlen(fx.acct));
	assert_memory_equal(rec.src + 1, h, WK_AREC_ACCT_LEN - 1);
	assert_int_equal(rec.dst[0], WK_AREC_ACCT_ANON);
	crypto_hash_sha256(h, (const uint8_t *)PAYEE, strlen(PAYEE));
	assert_memory_equal(rec.dst + 1, h, WK_AREC_ACCT_LEN - 1);
	assert_memory_equal(rec.term_id, o.txid, 6);
	/* 1790000005 is 2026-09-21 14:13:25 UTC */
	assert_memory_equal(rec.date, "\x20\x26\x09\x21", 4);
	assert_memory_equal(rec.time, "\x14\x13\x25", 3);
	/* the same result again: nothing pending, nothing written twice */
	digest(before);
	assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x6985);
	ASSERT_UNCHANGED(before);
	assert_int_equal(anon(WK_ANON_INS_PENDING, 0, 0, NULL, 0), 0x6A88);
	/* the counter goes on: the next payment is number 2 */
	pay(PAYEE, 1, &o);
	assert_int_equal(o.tx.counter, 2);
	assert_memory_not_equal(o.txid, txid, 32);
}

static void
test_pay_refused_void(void **unused)
{
	uint8_t r[WK_ANON_RES_MAX], st, txid[32], zero[32] = { 0 };
	unsigned records;
	uint64_t ctr, version;
	opened o;
	size_t n;

	(void)unused;
	enrol();
	records = audit_records();
	for (uint8_t status = WK_ANON_REFUSED; status <= WK_ANON_VOID; status++) {
		pay(PAYEE, 500, &o);
		version = vc_store_version(fx.st);
		/* a refusal or a void names no amount: it clears the payment
		 * without an audit record */
		n = result_msg(o.txid, status, status == WK_ANON_VOID ? 0 : 500, 0,
		    fx.auth_sk, r);
		assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x9000);
		assert_int_equal(fx.resp[0], status);
		assert_int_equal(vc_store_version(fx.st), version + 1);
		assert_int_equal(audit_records(), records);
		info(&st, &ctr, txid);
		assert_int_equal(st, 7);
		assert_memory_equal(txid, zero, 32);
	}
	/* refused and void payments spent their counters: a request is never
	 * built twice with one */
	pay(PAYEE, 1, &o);
	assert_int_equal(o.tx.counter, 3);
}

static void
test_pay_malformed(void **unused)
{
	static const struct {
		const char *payee;
		uint64_t amount;
		uint16_t sw;
	} bad[] = {
		{ "AM2-FEDCBA9876543210", 1, 0x6A80 },
		{ "am2-fedcba987654321", 1, 0x6A80 },
		{ "am2 fedcba9876543210", 1, 0x6A80 },
		{ PAYEE, 0, 0x6A80 },
		{ PAYEE, (uint64_t)WK_ANON_AMOUNT_MAX + 1, 0x6A80 },
		{ PAYEE, UINT64_MAX, 0x6A80 },
		{ "am1-0011223344556677", 1, 0x6A80 },	/* oneself */
	};
	uint8_t d[300], before[32];
	uint64_t ctr;
	uint8_t st, txid[32];
	size_t n;

	(void)unused;
	enrol();
	digest(before);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		verify_pin();
		digest(before);
		assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, pay_data(bad[i].payee,
		    bad[i].amount, 0, d)), bad[i].sw);
		ASSERT_UNCHANGED(before);
	}
	verify_pin();
	digest(before);
	n = pay_data(PAYEE, 10, 0, d);
	/* lengths: none, payee length 0, over the maximum, not adding up */
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, NULL, 0), 0x6700);
	d[0] = 0;
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, n), 0x6700);
	d[0] = WK_ANON_ACCT_MAX + 1;
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, n), 0x6700);
	n = pay_data(PAYEE, 10, 0, d);
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, n - 1), 0x6700);
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, n + 1), 0x6700);
	assert_int_equal(anon(WK_ANON_INS_PAY, 1, 0, d, n), 0x6A86);
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 1, d, n), 0x6A86);
	/* a NUL inside the payee */
	d[5] = 0;
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, n), 0x6A80);
	ASSERT_UNCHANGED(before);
	info(&st, &ctr, txid);
	assert_int_equal(ctr, 0);
	assert_int_equal(st, 7);
}

/* every other malformed command: its status word, nothing changed */
static void
test_malformed_apdus(void **unused)
{
	static const struct {
		const char *apdu;
		uint16_t sw;
	} cases[] = {
		{ "00 CA 00 00 00", 0x6E00 },		/* CLA 00 */
		{ "80 80 00 00 00", 0x6D00 },		/* unknown INS */
		{ "80 CA 01 00 00", 0x6A86 },		/* INFO P1 */
		{ "80 CA 00 01 00", 0x6A86 },
		{ "80 CA 00 00 01 00 00", 0x6700 },	/* INFO with data */
		{ "80 E0 02 00 00", 0x6A86 },		/* GENERATE P1 */
		{ "80 E0 01 01 00", 0x6A86 },
		{ "80 E0 01 00 01 00 00", 0x6700 },
		{ "80 E4 00 00 01 00", 0x6700 },	/* ACCOUNT */
		{ "80 E6 00 00 01 00", 0x6700 },	/* AUTHORITY */
		{ "80 52 00 00 00", 0x6700 },		/* RESULT, no data */
		{ "80 52 00 00", 0x6700 },
		{ "80 52 00 00 01 00", 0x6985 },	/* nothing pending */
		{ "80 52 01 00 01 00", 0x6A86 },
		{ "80 54 00 00 00", 0x6A88 },		/* PENDING, none */
		{ "80 54 00 00 01 00 00", 0x6700 },
		{ "80 54 01 00 00", 0x6A86 },
		{ "80 56 00 00 07 00 00 00 00 00 00 00", 0x6700 },	/* QUERY */
		{ "80 56 00 00 09 00 00 00 00 00 00 00 00 00", 0x6700 },
		{ "80 56 01 00 08 00 00 00 00 00 00 00 00", 0x6A86 },
		{ "80 20 00 00 03 12 34 56", 0x6E00 },	/* VERIFY, CLA 80 */
		{ "00 20 01 00 03 12 34 56", 0x6A86 },
		{ "00 20 00 81 03 12 34 56", 0x6A88 },
		{ "00 20 00 00 01 12", 0x6700 },
		{ "00 20 00 00 07 12 34 56 78 90 12 34", 0x6700 },
		{ "00 20 00 00 03 12 34 5A", 0x6A80 },	/* not BCD */
	};
	uint8_t before[32], big[WK_ANON_RES_MAX + 1];
	opened o;

	(void)unused;
	enrol();
	for (int pending = 0; pending < 2; pending++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint16_t want = cases[i].sw;

			/* with a payment pending, RESULT wants a result and
			 * PENDING has one */
			if (pending && strcmp(cases[i].apdu, "80 52 00 00 01 00") == 0)
				want = 0x6A80;
			if (pending && strcmp(cases[i].apdu, "80 54 00 00 00") == 0)
				continue;
			verify_pin();
			digest(before);
			assert_int_equal(hx(cases[i].apdu), want);
			ASSERT_UNCHANGED(before);
		}
		digest(before);
		memset(big, 0, sizeof(big));
		assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, big, sizeof(big)),
		    0x6700);
		ASSERT_UNCHANGED(before);
		if (!pending)
			pay(PAYEE, 7, &o);
	}
	/* a PIN that is not BCD spent no try: still 3 */
	assert_int_equal(hx("00 20 00 00 03 12 34 5A"), 0x6A80);
	assert_int_equal(hx("00 A4 04 00 08 F0 57 4B 50 55 52 53 45"), 0x9000);
	assert_int_equal(hx("00 20 00 00"), SW_PIN_WRONG(3));
}

/* a full audit log refuses the committed result: the payment stays
 * pending, nothing is written, and once there is room it settles */
static void
test_audit_full(void **unused)
{
	uint8_t r[WK_ANON_RES_MAX], before[32], st, txid[32];
	uint64_t ctr;
	unsigned i;
	opened o;
	size_t n;

	(void)unused;
	enrol();
	pay(PAYEE, 300, &o);
	for (i = audit_records(); i < CAP; i++) {
		wk_arec rec;

		memset(&rec, 0, sizeof(rec));
		rec.type = WK_AREC_EP_PURCHASE;
		rec.amount = 1;
		assert_int_equal(vc_store_begin(fx.st), VC_STORE_OK);
		assert_int_equal(audit_log_append(fx.card, &rec), AUDIT_LOG_OK);
		assert_int_equal(vc_store_commit(fx.st), VC_STORE_OK);
	}
	assert_int_equal(audit_log_room(fx.card), AUDIT_LOG_FULL);
	n = result_msg(o.txid, WK_ANON_COMMITTED, 300, 700, fx.auth_sk, r);
	digest(before);
	assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x6A84);
	ASSERT_UNCHANGED(before);
	info(&st, &ctr, txid);
	assert_memory_equal(txid, o.txid, 32);
	/* the issuer acknowledges the records as synced: room again */
	assert_int_equal(vc_store_begin(fx.st), VC_STORE_OK);
	assert_int_equal(audit_log_ack(fx.card, CAP), AUDIT_LOG_OK);
	assert_int_equal(vc_store_commit(fx.st), VC_STORE_OK);
	assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x9000);
	info(&st, &ctr, txid);
	assert_int_equal(st, 7);
	{
		wk_arec rec;

		audit_last(&rec);
		assert_int_equal(rec.type, WK_AREC_ANON_PAYMENT);
		assert_int_equal(rec.amount, 300);
	}
}

/* the card goes away (power, process) with a payment pending: it comes
 * back with the payment and its counter, the PIN forgotten */
static void
test_restart_pending(void **unused)
{
	uint8_t r[WK_ANON_RES_MAX], d[64], st, txid[32];
	uint64_t ctr;
	opened o;
	size_t n;

	(void)unused;
	enrol();
	pay(PAYEE, 42, &o);
	verify_pin();
	card_close();
	card_open(false);
	select_anon();
	info(&st, &ctr, txid);
	assert_int_equal(st, 15);
	assert_int_equal(ctr, 1);
	assert_memory_equal(txid, o.txid, 32);
	assert_int_equal(anon(WK_ANON_INS_PAY, 0, 0, d, pay_data(PAYEE, 5, 0, d)),
	    0x6982);
	n = result_msg(o.txid, WK_ANON_COMMITTED, 42, 58, fx.auth_sk, r);
	assert_int_equal(anon(WK_ANON_INS_RESULT, 0, 0, r, n), 0x9000);
	info(&st, &ctr, txid);
	assert_int_equal(st, 7);
}

static void
test_query(void **unused)
{
	uint8_t t8[8], key[32], plain[64], nonce1[16], nonce2[16], before[32];
	char acct[WK_ANON_ACCT_MAX + 1];
	uint64_t t;
	size_t pl;
	uint8_t kind;

	(void)unused;
	select_anon();
	verify_pin();
	put64(t8, 1790000000);
	/* no account yet */
	assert_int_equal(anon(WK_ANON_INS_QUERY, 0, 0, t8, 8), 0x6985);
	enrol();
	verify_pin();
	digest(before);
	assert_int_equal(anon(WK_ANON_INS_QUERY, 0, 0, t8, 8), 0x9000);
	/* a query writes nothing */
	ASSERT_UNCHANGED(before);
	assert_int_equal(wk_anon_env_peek(fx.resp, fx.rlen, &kind, acct,
	    sizeof(acct)), WK_ANON_OK);
	assert_int_equal(kind, WK_ANON_ENV_QUERY);
	assert_string_equal(acct, fx.acct);
	assert_int_equal(wk_anon_business_key(fx.mgr_sk, fx.pub + 64, fx.pub + 64,
	    fx.mgr_pk, key), WK_ANON_OK);
	assert_int_equal(wk_anon_env_open(fx.resp, fx.rlen, key, plain,
	    sizeof(plain), &pl), WK_ANON_OK);
	assert_int_equal(wk_anon_query_decode(plain, pl, &t, nonce1), WK_ANON_OK);
	assert_true(t == 1790000000);
	/* each query is fresh */
	assert_int_equal(anon(WK_ANON_INS_QUERY, 0, 0, t8, 8), 0x9000);
	assert_int_equal(wk_anon_env_open(fx.resp, fx.rlen, key, plain,
	    sizeof(plain), &pl), WK_ANON_OK);
	assert_int_equal(wk_anon_query_decode(plain, pl, &t, nonce2), WK_ANON_OK);
	assert_memory_not_equal(nonce1, nonce2, 16);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_select_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_gating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_attest, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_account_authority, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pay_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pay_refused_void, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pay_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_apdus, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_pending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
