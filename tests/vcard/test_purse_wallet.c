/*
 * the wallet commands (vcard/applets/purse_wallet.c, piv_wallet.c) through
 * the card runtime, with an in-process issuer (a CA key, the purse keys):
 * WALLET SETUP and its access rule, personalisation, the load request, the
 * grant (receipt, replay, every flipped byte), recovery, bad lengths and
 * parameters; every refusal leaves the balance where it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "perso_fixture.h"
#include "applets/purse.h"
#include "vc_card.h"
#include "vc_perso.h"
#include "vc_store.h"
#include "wk_attest.h"
#include "wk_arec.h"
#include "wk_hex.h"
#include "wk_msg.h"
#include "wk_purse_crypto.h"
#include "wk_tlv.h"

extern const vc_applet vc_applet_piv;
extern const vc_applet vc_applet_purse;
extern const vc_applet vc_applet_audit;

static const vc_applet *const applets[] = { &vc_applet_piv, &vc_applet_purse,
    &vc_applet_audit };

#define PAN "6222000000000001"
#define MGM_DEFAULT "010203040506070801020304050607080102030405060708"

typedef struct tcard {
	char dir[64];
	char path[128];
	vc_store *st;
	vc_card *card;
	uint8_t r[4096];
	size_t rlen;
	EVP_PKEY *card_pub;
	EVP_PKEY *ca;
	uint8_t point[65];
	uint8_t keys[WK_PURSE_KEY_N][16];	/* the issuer's, by key id */
	uint8_t algs[WK_PURSE_KEY_N];	/* and their algorithms (0: 3DES) */
	char mfg_path[128];		/* the manufacturer CA key file, if any */
	X509 *mfg_cert;
} tcard;

static uint16_t
txb(tcard *t, const uint8_t *apdu, size_t n)
{
	size_t len = 0;

	assert_int_equal(vc_card_apdu(t->card, apdu, n, t->r, sizeof(t->r), &len),
	    VC_CARD_OK);
	assert_true(len >= 2);
	t->rlen = len - 2;
	return (uint16_t)((t->r[len - 2] << 8) | t->r[len - 1]);
}

static uint16_t
txf(tcard *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static uint16_t
txf(tcard *t, const char *fmt, ...)
{
	char hex[4096], clean[4096];
	uint8_t apdu[2048];
	size_t j = 0;
	long n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hex, sizeof(hex), fmt, ap);
	va_end(ap);
	for (size_t i = 0; hex[i] != '\0'; i++)
		if (hex[i] != ' ')
			clean[j++] = hex[i];
	clean[j] = '\0';
	n = wk_hex_decode(clean, apdu, sizeof(apdu));
	assert_true(n > 0);
	return txb(t, apdu, (size_t)n);
}

/* CLA INS P1 P2 Lc data: short, extended above 255 bytes */
static uint16_t
cmd(tcard *t, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc)
{
	uint8_t apdu[WK_MSG_MAX + 16];

	assert_true(lc <= WK_MSG_MAX);
	if (lc > 255) {
		apdu[0] = cla;
		apdu[1] = ins;
		apdu[2] = p1;
		apdu[3] = p2;
		apdu[4] = 0;
		apdu[5] = (uint8_t)(lc >> 8);
		apdu[6] = (uint8_t)lc;
		memcpy(apdu + 7, data, lc);
		apdu[7 + lc] = 0;
		apdu[8 + lc] = 0;
		return txb(t, apdu, 9 + lc);
	}
	apdu[0] = cla;
	apdu[1] = ins;
	apdu[2] = p1;
	apdu[3] = p2;
	if (lc == 0)
		return txb(t, apdu, 4);
	if (lc > 255) {
		apdu[4] = 0x00;
		apdu[5] = (uint8_t)(lc >> 8);
		apdu[6] = (uint8_t)lc;
		memcpy(apdu + 7, data, lc);
		apdu[7 + lc] = 0x00;
		apdu[8 + lc] = 0x00;
		return txb(t, apdu, 9 + lc);
	}
	apdu[4] = (uint8_t)lc;
	memcpy(apdu + 5, data, lc);
	apdu[5 + lc] = 0x00;
	return txb(t, apdu, 6 + lc);
}

static void
hexs(const uint8_t *p, size_t n, char *out)
{
	wk_hex_encode(p, n, out);
}

static void
des3(const uint8_t *key, const uint8_t *in, uint8_t *out, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	assert_int_equal(EVP_CipherInit_ex(c, EVP_des_ede3_ecb(), NULL, key, NULL,
	    enc), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_CipherUpdate(c, out, &n, in, 8), 1);
	EVP_CIPHER_CTX_free(c);
}

static void
select_piv(tcard *t)
{
	assert_int_equal(txf(t, "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00"),
	    0x9000);
}

static void
select_purse(tcard *t)
{
	assert_int_equal(txf(t, "00 A4 04 00 08 F0 57 4B 50 55 52 53 45"),
	    0x9000);
}

/* 9B mutual authentication, default 3DES key */
static void
mgm_auth(tcard *t)
{
	uint8_t key[24], w[8], c[8], wh[20], ch[20];

	assert_int_equal(wk_hex_decode(MGM_DEFAULT, key, sizeof(key)), 24);
	assert_int_equal(txf(t, "00 87 03 9B 04 7C 02 80 00"), 0x9000);
	des3(key, t->r + 4, w, 0);
	memset(c, 0x5A, sizeof(c));
	hexs(w, 8, (char *)wh);
	hexs(c, 8, (char *)ch);
	assert_int_equal(txf(t, "00 87 03 9B 16 7C 14 80 08 %s 81 08 %s",
	    (char *)wh, (char *)ch), 0x9000);
}

static void
setup_wallet(tcard *t)
{
	uint8_t data[100];
	size_t n = 0;

	select_piv(t);
	mgm_auth(t);
	/* GENERATE 82, P-256 */
	assert_int_equal(txf(t, "00 47 00 82 05 AC 03 80 01 11 00"), 0x9000);
	assert_int_equal(t->r[0], 0x7F);
	assert_int_equal(t->r[1], 0x49);
	assert_int_equal(t->r[3], 0x86);
	assert_int_equal(t->r[4], 0x41);
	memcpy(t->point, t->r + 5, 65);
	t->card_pub = pub_from_point(t->point);
	/* WALLET SETUP: anchor + PAN */
	n = wallet_setup_data(t->ca, PAN, data, n);
	assert_int_equal(cmd(t, 0x80, 0xE8, 0, 0, data, n), 0x9000);
}

static tcard *
tcard_new(bool demo, bool mfg)
{
	tcard *t = calloc(1, sizeof(*t));
	vc_card_opts o = { .init = true, .applets = applets, .n_applets = 3,
	    .demo = demo };

	assert_non_null(t);
	card_scratch_new("wk-wallet", t->dir, t->path);
	if (mfg) {
		snprintf(t->mfg_path, sizeof(t->mfg_path), "%s/mfg.pem", t->dir);
		t->mfg_cert = write_mfg_ca(t->mfg_path);
		o.attest_ca_path = t->mfg_path;
	}
	card_and_issuer_new(t->path, &o, &t->st, &t->card, &t->ca, t->keys,
	    sizeof(t->keys));
	return t;
}

static int
setup(void **state)
{
	*state = tcard_new(false, false);
	return 0;
}

/* a card from a factory: its attestation certified by a manufacturer CA,
 * the purse with the public demo keys */
static int
setup_factory(void **state)
{
	*state = tcard_new(true, true);
	return 0;
}

static int
teardown(void **state)
{
	tcard *t = *state;
	char p[200];

	card_and_issuer_free(&t->st, &t->card, &t->card_pub, &t->ca);
	X509_free(t->mfg_cert);
	if (t->mfg_path[0] != '\0')
		unlink(t->mfg_path);
	snprintf(p, sizeof(p), "%s-wal", t->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", t->path);
	unlink(p);
	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

/* the sealed key list of a personalisation: n entries (id, algorithm,
 * key) from the table, id i taken as ids[i] */
static size_t
perso_keys(tcard *t, const uint8_t *ids, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		out[18 * i] = ids[i];
		out[18 * i + 1] = t->algs[ids[i] % WK_PURSE_KEY_N];
		memcpy(out + 18 * i + 2, t->keys[ids[i] % WK_PURSE_KEY_N], 16);
	}
	return 18 * n;
}

static void
perso_msg_with(tcard *t, const uint8_t *ids, size_t n, wk_buf *b)
{
	uint8_t keys[WK_MSG_PERSO_KEYS_MAX];
	wk_msg m = { 0 };
	size_t len = perso_keys(t, ids, n, keys);

	m.type = WK_MSG_PERSO;
	memcpy(m.card_id, vc_card_serial(t->card), 8);
	m.key_version = 1;
	assert_int_equal(wk_msg_seal_keys(t->card_pub, &m, keys, len), WK_MSG_OK);
	assert_int_equal(wk_msg_sign(&m, t->ca, b), WK_MSG_OK);
}

/* the issuer's personalisation message for this card: every key */
static void
perso_msg(tcard *t, wk_buf *b)
{
	uint8_t ids[WK_PURSE_KEY_N];

	for (size_t i = 0; i < WK_PURSE_KEY_N; i++)
		ids[i] = (uint8_t)(WK_PURSE_KEY_N - 1 - i);	/* any order */
	perso_msg_with(t, ids, WK_PURSE_KEY_N, b);
}

static void
personalise(tcard *t)
{
	uint8_t buf[WK_MSG_MAX];
	wk_buf b;

	wk_buf_init_fixed(&b, buf, sizeof(buf));
	perso_msg(t, &b);
	select_purse(t);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, b.p, b.len), 0x9000);
}

static uint32_t
balance(tcard *t)
{
	assert_int_equal(txf(t, "80 5C 00 02 04"), 0x9000);
	return ((uint32_t)t->r[0] << 24) | ((uint32_t)t->r[1] << 16) |
	    ((uint32_t)t->r[2] << 8) | t->r[3];
}

static void
verify_pin(tcard *t)
{
	assert_int_equal(txf(t, "00 20 00 00 03 12 34 56"), 0x9000);
}

/* LOAD REQUEST; m gets the verified request */
static void
request(tcard *t, uint32_t amount, wk_msg *m)
{
	uint8_t d[11] = { 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };
	uint8_t mac1[4];
	wk_purse_skey sk;

	d[1] = (uint8_t)(amount >> 24);
	d[2] = (uint8_t)(amount >> 16);
	d[3] = (uint8_t)(amount >> 8);
	d[4] = (uint8_t)amount;
	verify_pin(t);
	assert_int_equal(cmd(t, 0x80, 0xE0, 0x00, 0x02, d, sizeof(d)), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, m), WK_MSG_OK);
	assert_int_equal(m->type, WK_MSG_LOAD_REQUEST);
	assert_memory_equal(m->card_id, vc_card_serial(t->card), 8);
	assert_string_equal(m->pan, PAN);
	assert_int_equal(m->amount, amount);
	/* the request names the DLK's algorithm (docs/purse.md "SM4") */
	assert_int_equal(m->alg_id, t->algs[WK_PURSE_KEY_DLK]);
	assert_int_equal(wk_purse_session_key_online(t->algs[WK_PURSE_KEY_DLK],
	    t->keys[WK_PURSE_KEY_DLK], m->card_random, m->seq, &sk), 0);
	assert_int_equal(wk_purse_load_mac1(&sk, m->balance, m->amount,
	    m->trans_type, m->terminal_id, mac1), 0);
	assert_memory_equal(mac1, m->mac1, 4);
}

static void
grant_for(tcard *t, const wk_msg *q, wk_buf *b)
{
	static const uint8_t date[4] = { 0x20, 0x26, 0x11, 0x22 };
	static const uint8_t tim[3] = { 0x01, 0x02, 0x03 };
	wk_msg g = { 0 };
	wk_purse_skey sk;

	g.type = WK_MSG_LOAD_GRANT;
	memcpy(g.card_id, q->card_id, 8);
	memcpy(g.nonce, q->nonce, 16);
	g.seq = q->seq;
	randombytes_buf(g.load_id, sizeof(g.load_id));
	g.amount = q->amount;
	g.trans_type = q->trans_type;
	memcpy(g.terminal_id, q->terminal_id, 6);
	memcpy(g.host_date, date, 4);
	memcpy(g.host_time, tim, 3);
	assert_int_equal(wk_purse_session_key_online(t->algs[WK_PURSE_KEY_DLK],
	    t->keys[WK_PURSE_KEY_DLK], q->card_random, q->seq, &sk), 0);
	assert_int_equal(wk_purse_load_mac2(&sk, g.amount, g.trans_type,
	    g.terminal_id, g.host_date, g.host_time, g.mac2), 0);
	assert_int_equal(wk_msg_sign(&g, t->ca, b), WK_MSG_OK);
}

static void
enrolled(tcard *t)
{
	setup_wallet(t);
	personalise(t);
}

static void
test_setup_rules(void **state)
{
	tcard *t = *state;
	uint8_t bad[80];

	select_piv(t);
	/* no 9B: refused */
	memset(bad, 0, sizeof(bad));
	bad[0] = 0x01;
	bad[1] = 65;
	bad[2] = 0x04;
	bad[67] = 0x02;
	bad[68] = 1;
	bad[69] = '1';
	assert_int_equal(cmd(t, 0x80, 0xE8, 0, 0, bad, 70), 0x6982);
	mgm_auth(t);
	/* not a point on the curve */
	assert_int_equal(cmd(t, 0x80, 0xE8, 0, 0, bad, 70), 0x6A80);
	assert_int_equal(cmd(t, 0x80, 0xE8, 0, 1, bad, 70), 0x6A86);
	setup_wallet(t);
	/* slot 82 no longer signs for the host */
	select_piv(t);
	assert_int_equal(txf(t, "00 20 00 80 08 31 32 33 34 35 36 FF FF"), 0x9000);
	assert_int_equal(txf(t, "00 87 11 82 26 7C 24 82 00 81 20"
	    " 0000000000000000000000000000000000000000000000000000000000000000"),
	    0x6982);
}

static void
test_personalise(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX];
	wk_buf b;

	setup_wallet(t);
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	perso_msg(t, &b);
	select_purse(t);
	/* every flipped byte: refused */
	for (size_t i = 0; i < b.len; i++) {
		uint16_t sw;

		buf[i] ^= 0x01;
		sw = cmd(t, 0x80, 0xE6, 0, 0, buf, b.len);
		assert_true(sw == 0x6982 || sw == 0x6A80);
		buf[i] ^= 0x01;
	}
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 1, buf, b.len), 0x6A86);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, buf, b.len), 0x9000);
}

static void
test_load(void **state)
{
	tcard *t = *state;
	uint8_t gbuf[WK_MSG_MAX];
	wk_buf g;
	wk_msg q, r;
	uint8_t tac[4];
	wk_purse_skey ktac;

	enrolled(t);
	assert_int_equal(balance(t), 0);
	request(t, 10000, &q);
	wk_buf_init_fixed(&g, gbuf, sizeof(gbuf));
	grant_for(t, &q, &g);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r), WK_MSG_OK);
	assert_int_equal(r.type, WK_MSG_LOAD_RECEIPT);
	assert_int_equal(r.balance, 10000);
	assert_int_equal(r.seq, q.seq);
	assert_int_equal(wk_purse_tac_key(t->algs[WK_PURSE_KEY_DTK],
	    t->keys[WK_PURSE_KEY_DTK], &ktac), 0);
	assert_int_equal(wk_purse_load_tac(&ktac, 10000, q.seq, 10000, q.trans_type,
	    q.terminal_id, r.host_date, r.host_time, tac), 0);
	assert_memory_equal(tac, r.tac, 4);
	assert_int_equal(balance(t), 10000);
	/* the same grant again: nothing credited, nothing signed; with no
	 * session a grant needs the PIN before the card even looks at it */
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x6982);
	verify_pin(t);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x6985);
	assert_int_equal(balance(t), 10000);
	/* the proof of that seq */
	{
		uint8_t d[18];

		memcpy(d, r.load_id, 16);
		d[16] = (uint8_t)(q.seq >> 8);
		d[17] = (uint8_t)q.seq;
		assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, sizeof(d)), 0x9000);
		assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r),
		    WK_MSG_OK);
		assert_int_equal(r.type, WK_MSG_LOAD_PROOF);
		assert_memory_equal(r.tac, tac, 4);
		assert_int_equal(r.balance, 10000);
		/* a seq beyond the counter: neither */
		d[17] = (uint8_t)(q.seq + 5);
		assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, sizeof(d)), 0x6A88);
		assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, 17), 0x6700);
		assert_int_equal(cmd(t, 0x80, 0xE4, 0, 3, d, sizeof(d)), 0x6A86);
	}
}

static void
test_grant_flips(void **state)
{
	tcard *t = *state;
	uint8_t gbuf[WK_MSG_MAX];
	wk_buf g;
	wk_msg q, r;
	size_t len;

	uint32_t want = 0;

	enrolled(t);
	request(t, 500, &q);
	wk_buf_init_fixed(&g, gbuf, sizeof(gbuf));
	grant_for(t, &q, &g);
	len = g.len;
	for (size_t i = 0; i < len; i++) {
		uint16_t sw;
		uint16_t seq_before;

		request(t, 500, &q);
		seq_before = q.seq;
		/* a DER signature's length varies: sign until it is the same */
		for (int k = 0; k < 64; k++) {
			wk_buf_reset(&g);
			grant_for(t, &q, &g);
			if (g.len == len)
				break;
		}
		assert_int_equal(g.len, len);
		gbuf[i] ^= 0x80;
		sw = cmd(t, 0x80, 0xE2, 0, 0, gbuf, len);
		if (sw == 0x9000) {
			assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r),
			    WK_MSG_OK);
			assert_int_equal(r.type, WK_MSG_LOAD_REFUSAL);
			assert_int_equal(r.seq, seq_before);
		} else {
			assert_true(sw == 0x6A80 || sw == 0x6985);
		}
		assert_int_equal(balance(t), want);
		/* a wrong grant spent a MAC try: a right one restores them,
		 * so that the purse does not block (test_mac_block) */
		request(t, 500, &q);
		wk_buf_reset(&g);
		grant_for(t, &q, &g);
		assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x9000);
		want += 500;
		assert_int_equal(balance(t), want);
	}
	/* a grant for a session the card no longer has is refused */
	request(t, 500, &q);
	wk_buf_reset(&g);
	grant_for(t, &q, &g);
	assert_int_equal(balance(t), want);	/* consumes the session */
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r), WK_MSG_OK);
	assert_int_equal(r.type, WK_MSG_LOAD_REFUSAL);
	assert_int_equal(r.reason, 0x6901);
	assert_int_equal(balance(t), want);
}

static void
test_never_credited(void **state)
{
	tcard *t = *state;
	uint8_t gbuf[WK_MSG_MAX], d[18];
	wk_buf g;
	wk_msg q, r;

	enrolled(t);
	request(t, 700, &q);
	wk_buf_init_fixed(&g, gbuf, sizeof(gbuf));
	grant_for(t, &q, &g);
	memset(d, 0xAB, 16);
	d[16] = (uint8_t)(q.seq >> 8);
	d[17] = (uint8_t)q.seq;
	assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, sizeof(d)), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r), WK_MSG_OK);
	assert_int_equal(r.type, WK_MSG_LOAD_NEVER);
	assert_int_equal(r.seq, q.seq);
	assert_int_equal(r.balance, 0);
	/* the grant arriving late cannot be credited: its seq is burnt */
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x6982);
	verify_pin(t);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x6985);
	assert_int_equal(balance(t), 0);
	/* the statement again (the first may have been lost): the same answer */
	assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, sizeof(d)), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r), WK_MSG_OK);
	assert_int_equal(r.type, WK_MSG_LOAD_NEVER);
	assert_int_equal(r.seq, q.seq);
	/* the next request names the next seq */
	request(t, 700, &r);
	assert_int_equal(r.seq, q.seq + 1);
	/* a refused grant: its seq can be stated never credited afterwards */
	{
		wk_msg q2 = r, ref;

		wk_buf_reset(&g);
		grant_for(t, &q2, &g);
		gbuf[g.len - 3] ^= 0x01;	/* signature */
		assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x9000);
		assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &ref),
		    WK_MSG_OK);
		assert_int_equal(ref.type, WK_MSG_LOAD_REFUSAL);
		d[16] = (uint8_t)(q2.seq >> 8);
		d[17] = (uint8_t)q2.seq;
		assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, sizeof(d)), 0x9000);
		assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &ref),
		    WK_MSG_OK);
		assert_int_equal(ref.type, WK_MSG_LOAD_NEVER);
		assert_int_equal(ref.seq, q2.seq);
		assert_int_equal(balance(t), 0);
	}
}

static void
test_bad_commands(void **state)
{
	tcard *t = *state;
	uint8_t d[11] = { 0x01, 0, 0, 0, 100, 0, 0, 0, 0, 0, 1 };

	/* not enrolled: no PAN, no anchor */
	select_purse(t);
	verify_pin(t);
	assert_int_equal(cmd(t, 0x80, 0xE0, 0, 2, d, sizeof(d)), 0x6985);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, d, sizeof(d)), 0x6985);
	enrolled(t);
	/* no PIN */
	assert_int_equal(cmd(t, 0x80, 0xE0, 0, 2, d, sizeof(d)), 0x6985);
	verify_pin(t);
	assert_int_equal(cmd(t, 0x80, 0xE0, 0, 2, d, 10), 0x6700);
	assert_int_equal(cmd(t, 0x80, 0xE0, 1, 2, d, sizeof(d)), 0x6A86);
	assert_int_equal(cmd(t, 0x80, 0xE0, 0, 3, d, sizeof(d)), 0x6A86);
	assert_int_equal(cmd(t, 0x00, 0xE0, 0, 2, d, sizeof(d)), 0x6D00);
	assert_int_equal(cmd(t, 0x80, 0xE1, 0, 2, d, sizeof(d)), 0x6D00);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, d, sizeof(d)), 0x6A80);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, NULL, 0), 0x6A80);
	assert_int_equal(cmd(t, 0x80, 0xE2, 1, 0, d, sizeof(d)), 0x6A86);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, d, sizeof(d)), 0x6A80);
	/* zero amount */
	memset(d + 1, 0, 4);
	assert_int_equal(cmd(t, 0x80, 0xE0, 0, 2, d, sizeof(d)), 0x6A80);
	assert_int_equal(balance(t), 0);
}


/* ---- card to card ---- */

/* a certificate for t's wallet key, CN = its card id, signed by signer,
 * valid from now + nb to now + na seconds */
static size_t
make_cert_dates(tcard *t, EVP_PKEY *signer, long nb, long na, uint8_t *out,
    size_t cap)
{
	X509 *x = X509_new();
	char cn[17];
	unsigned char *der = NULL;
	int n;

	wk_hex_encode(vc_card_serial(t->card), 8, cn);
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), nb);
	X509_gmtime_adj(X509_getm_notAfter(x), na);
	assert_int_equal(X509_set_pubkey(x, t->card_pub), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"test CA", -1, -1, 0);
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0 && (size_t)n <= cap);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	X509_free(x);
	return (size_t)n;
}

static size_t
make_cert(tcard *t, EVP_PKEY *signer, uint8_t *out, size_t cap)
{
	return make_cert_dates(t, signer, -60, 86400, out, cap);
}

/* 01 cert 02 msg as an extended-length APDU */
static uint16_t
cmd_cert_msg(tcard *t, uint8_t ins, const uint8_t *cert, size_t cl,
    const uint8_t *msg, size_t ml)
{
	uint8_t apdu[4096], data[4000];
	size_t n = 7;
	wk_buf b;

	wk_buf_init_fixed(&b, data, sizeof(data));
	wk_tlv_put(&b, 0x01, cert, cl);
	wk_tlv_put(&b, 0x02, msg, ml);
	assert_false(wk_buf_failed(&b));
	apdu[0] = 0x80;
	apdu[1] = ins;
	apdu[2] = 0;
	apdu[3] = 0;
	apdu[4] = 0;
	apdu[5] = (uint8_t)(b.len >> 8);
	apdu[6] = (uint8_t)b.len;
	memcpy(apdu + n, b.p, b.len);
	n += b.len;
	apdu[n++] = 0;
	apdu[n++] = 0;
	return txb(t, apdu, n);
}

typedef struct pair {
	tcard *a, *b;
	uint8_t ca_cert[2048], cb_cert[2048];
	size_t ca_len, cb_len;
} pair;

static int
setup_pair(void **state)
{
	pair *p = calloc(1, sizeof(*p));
	void *s;

	assert_non_null(p);
	setup(&s);
	p->a = s;
	setup(&s);
	p->b = s;
	EVP_PKEY_free(p->b->ca);
	p->b->ca = p->a->ca;
	EVP_PKEY_up_ref(p->a->ca);
	enrolled(p->a);
	enrolled(p->b);
	p->ca_len = make_cert(p->a, p->a->ca, p->ca_cert, sizeof(p->ca_cert));
	p->cb_len = make_cert(p->b, p->a->ca, p->cb_cert, sizeof(p->cb_cert));
	*state = p;
	return 0;
}

static int
teardown_pair(void **state)
{
	pair *p = *state;
	void *s = p->a;

	teardown(&s);
	s = p->b;
	teardown(&s);
	free(p);
	return 0;
}

/* load amount onto t through the wallet commands */
static void
load(tcard *t, uint32_t amount)
{
	uint8_t gbuf[WK_MSG_MAX];
	wk_buf g;
	wk_msg q;

	request(t, amount, &q);
	wk_buf_init_fixed(&g, gbuf, sizeof(gbuf));
	grant_for(t, &q, &g);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x9000);
}

/* a authenticates b: a's challenge signed by b */
static uint16_t
authenticate(pair *p, tcard *v, tcard *s, const uint8_t *s_cert, size_t s_len)
{
	uint8_t chal[16], d[24], m[WK_MSG_MAX];
	size_t ml;

	assert_int_equal(txf(v, "80 E8 00 00"), 0x9000);
	memcpy(chal, v->r, 16);
	memcpy(d, chal, 16);
	memcpy(d + 16, vc_card_serial(v->card), 8);
	assert_int_equal(cmd(s, 0x80, 0xE9, 0, 0, d, sizeof(d)), 0x9000);
	ml = s->rlen;
	memcpy(m, s->r, ml);
	(void)p;
	return cmd_cert_msg(v, 0xEA, s_cert, s_len, m, ml);
}

static void
test_transfer(void **state)
{
	pair *p = *state;
	uint8_t rchal[16], d[28], tok[WK_MSG_MAX];
	size_t tl;
	wk_msg m;

	load(p->a, 5000);
	/* b takes value only from a peer it authenticated */
	assert_int_equal(txf(p->b, "80 E8 01 00"), 0x6982);
	/* a only sends to a peer it authenticated */
	memset(rchal, 0x33, sizeof(rchal));
	memcpy(d, vc_card_serial(p->b->card), 8);
	memcpy(d + 8, rchal, 16);
	memcpy(d + 24, "\x00\x00\x03\xE8", 4);	/* 10.00 */
	assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, sizeof(d)), 0x6982);
	/* a certificate the anchor did not sign: refused */
	{
		EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		uint8_t bad[2048];
		size_t bl = make_cert(p->b, other, bad, sizeof(bad));

		assert_int_equal(authenticate(p, p->a, p->b, bad, bl), 0x6982);
		EVP_PKEY_free(other);
	}
	/* b's certificate with a's signature: refused */
	assert_int_equal(authenticate(p, p->a, p->b, p->ca_cert, p->ca_len), 0x6982);
	assert_int_equal(authenticate(p, p->a, p->b, p->cb_cert, p->cb_len), 0x9000);
	assert_int_equal(authenticate(p, p->b, p->a, p->ca_cert, p->ca_len), 0x9000);
	assert_int_equal(txf(p->b, "80 E8 01 00"), 0x9000);
	memcpy(rchal, p->b->r, 16);
	memcpy(d + 8, rchal, 16);
	assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, 27), 0x6700);
	/* value leaves a card only after its holder's PIN */
	assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, sizeof(d)), 0x6985);
	assert_int_equal(balance(p->a), 5000);
	verify_pin(p->a);
	assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, sizeof(d)), 0x9000);
	tl = p->a->rlen;
	memcpy(tok, p->a->r, tl);
	assert_int_equal(wk_msg_verify(tok, tl, p->a->card_pub, &m), WK_MSG_OK);
	assert_int_equal(m.type, WK_MSG_XFER_TOKEN);
	assert_int_equal(m.amount, 1000);
	assert_int_equal(m.balance, 4000);
	assert_int_equal(balance(p->a), 4000);
	/* the same challenge again: the same token, nothing more debited */
	assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, sizeof(d)), 0x9000);
	assert_int_equal(p->a->rlen, tl);
	assert_memory_equal(p->a->r, tok, tl);
	assert_int_equal(balance(p->a), 4000);
	/* and from the card's memory of it */
	assert_int_equal(cmd(p->a, 0x80, 0xEC, 0, 0, rchal, 16), 0x9000);
	assert_memory_equal(p->a->r, tok, tl);
	/* redeem: PIN first */
	select_purse(p->b);
	assert_int_equal(cmd_cert_msg(p->b, 0xED, p->ca_cert, p->ca_len, tok, tl),
	    0x6985);
	verify_pin(p->b);
	/* every flipped byte of the token: refused, nothing credited */
	for (size_t i = 0; i < tl; i++) {
		uint16_t sw;

		tok[i] ^= 0x04;
		sw = cmd_cert_msg(p->b, 0xED, p->ca_cert, p->ca_len, tok, tl);
		assert_true(sw == 0x6982 || sw == 0x6A80 || sw == 0x6985);
		tok[i] ^= 0x04;
	}
	assert_int_equal(balance(p->b), 0);
	verify_pin(p->b);
	/* the sender's certificate must be the token's signer's */
	assert_int_equal(cmd_cert_msg(p->b, 0xED, p->cb_cert, p->cb_len, tok, tl),
	    0x6982);
	assert_int_equal(cmd_cert_msg(p->b, 0xED, p->ca_cert, p->ca_len, tok, tl),
	    0x9000);
	assert_int_equal(p->b->rlen, 4);
	assert_int_equal(balance(p->b), 1000);
	/* once */
	verify_pin(p->b);
	assert_int_equal(cmd_cert_msg(p->b, 0xED, p->ca_cert, p->ca_len, tok, tl),
	    0x6984);
	assert_int_equal(balance(p->b), 1000);
	assert_int_equal(balance(p->a), 4000);
	/* a token addressed to a is not b's... and a cannot redeem its own */
	verify_pin(p->a);
	assert_int_equal(cmd_cert_msg(p->a, 0xED, p->ca_cert, p->ca_len, tok, tl),
	    0x6982);
	assert_int_equal(cmd(p->a, 0x80, 0xEC, 0, 0, d, 16), 0x6A88);
	/* a void token (amount 0) needs no authentication, moves nothing and
	 * closes the receiver's challenge; that challenge then carries no value */
	assert_int_equal(txf(p->b, "80 E8 01 00"), 0x9000);
	memcpy(d + 8, p->b->r, 16);
	memset(d + 24, 0, 4);
	assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, sizeof(d)), 0x9000);
	tl = p->a->rlen;
	memcpy(tok, p->a->r, tl);
	memcpy(d + 24, "\x00\x00\x00\x01", 4);
	assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, sizeof(d)), 0x9000);
	assert_int_equal(p->a->rlen, tl);
	assert_memory_equal(p->a->r, tok, tl);
	assert_int_equal(balance(p->a), 4000);
	verify_pin(p->b);
	assert_int_equal(cmd_cert_msg(p->b, 0xED, p->ca_cert, p->ca_len, tok, tl),
	    0x9000);
	assert_int_equal(balance(p->b), 1000);
	/* one verification, one send: the next transfer needs the PIN again */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(authenticate(p, p->a, p->b, p->cb_cert,
		    p->cb_len), 0x9000);
		assert_int_equal(authenticate(p, p->b, p->a, p->ca_cert,
		    p->ca_len), 0x9000);
		assert_int_equal(txf(p->b, "80 E8 01 00"), 0x9000);
		memcpy(d + 8, p->b->r, 16);
		memcpy(d + 24, "\x00\x00\x00\x64", 4);
		if (i == 0)
			verify_pin(p->a);
		assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, sizeof(d)),
		    i == 0 ? 0x9000 : 0x6985);
	}
	assert_int_equal(balance(p->a), 3900);
}


/* ---- the card protects itself (docs/security.md) ---- */

/* the online counter, as the next load request names it */
static uint16_t
online_seq(tcard *t)
{
	wk_msg q;

	request(t, 1, &q);
	assert_int_equal(balance(t), balance(t));	/* drops the session */
	return q.seq;
}

/* a grant signed by signer for the card's request q (MAC2 right) */
static void
grant_signed_by(tcard *t, const wk_msg *q, EVP_PKEY *signer, wk_buf *b)
{
	EVP_PKEY *ca = t->ca;

	t->ca = signer;
	grant_for(t, q, b);
	t->ca = ca;
}

/* UNBLOCK REQUEST, then APPLICATION UNBLOCK under key: the unblock's SW */
static uint16_t
unblock(tcard *t, const uint8_t key[16])
{
	uint8_t mac[4];
	wk_msg m;

	assert_int_equal(cmd(t, 0x80, 0xEE, 0, 0, NULL, 0), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &m), WK_MSG_OK);
	assert_int_equal(m.type, WK_MSG_UNBLOCK_REQUEST);
	assert_memory_equal(m.card_id, vc_card_serial(t->card), 8);
	assert_int_equal(wk_purse_unblock_mac(t->algs[WK_PURSE_KEY_DAMK], key,
	    m.card_random, mac), 0);
	return cmd(t, 0x84, 0x18, 0, 0, mac, 4);
}

static void
test_grant_signatures_block(void **state)
{
	tcard *t = *state;
	uint8_t gbuf[WK_MSG_MAX], forged_key[16];
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	wk_buf g;
	wk_msg q, r;

	enrolled(t);
	wk_buf_init_fixed(&g, gbuf, sizeof(gbuf));
	/* three grants the issuer did not sign: refused, and the purse blocks */
	for (int i = 0; i < 3; i++) {
		request(t, 100, &q);
		wk_buf_reset(&g);
		grant_signed_by(t, &q, other, &g);
		assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x9000);
		assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r),
		    WK_MSG_OK);
		assert_int_equal(r.type, WK_MSG_LOAD_REFUSAL);
		assert_int_equal(r.reason, 0x6982);
	}
	/* the issuer's own grant is refused now: nothing is even started */
	verify_pin(t);
	{
		uint8_t d[11] = { 0x01, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0x01 };

		assert_int_equal(cmd(t, 0x80, 0xE0, 0x00, 0x02, d, sizeof(d)),
		    0x6A81);
	}
	assert_int_equal(txf(t, "80 5C 00 02 04"), 0x6A81);
	assert_int_equal(txf(t, "00 A4 04 00 08 F0 57 4B 50 55 52 53 45"), 0x6A81);
	/* a blocked purse still opens an issuer session: the audit log must
	 * sync, and the session moves no value */
	{
		uint8_t chal[16];
		wk_msg m;

		memset(chal, 0x5A, sizeof(chal));
		assert_int_equal(cmd(t, 0x80, 0xEF, 0, 0, chal, 16), 0x9000);
		assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &m),
		    WK_MSG_OK);
		assert_int_equal(m.type, WK_MSG_SESSION_AUTH);
	}
	/* a forged script (another key) and a script replayed: refused */
	memset(forged_key, 0x11, sizeof(forged_key));
	assert_int_equal(unblock(t, forged_key), 0x6988);
	{
		uint8_t mac[4];
		wk_msg m;

		assert_int_equal(cmd(t, 0x80, 0xEE, 0, 0, NULL, 0), 0x9000);
		assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &m),
		    WK_MSG_OK);
		assert_int_equal(wk_purse_unblock_mac(t->algs[WK_PURSE_KEY_DAMK],
		    t->keys[WK_PURSE_KEY_DAMK], m.card_random, mac), 0);
		assert_int_equal(cmd(t, 0x84, 0x18, 0, 0, mac, 4), 0x9000);
		/* the same script again: its challenge is used up */
		assert_int_equal(cmd(t, 0x84, 0x18, 0, 0, mac, 4), 0x6982);
	}
	/* the DAMK sealed at enrolment opened it: loads work again */
	select_purse(t);
	assert_int_equal(balance(t), 0);
	load(t, 100);
	assert_int_equal(balance(t), 100);
	EVP_PKEY_free(other);
}

/* a plain INIT FOR LOAD and CREDIT with a guessed MAC2 (malware with the
 * PIN); the CREDIT's SW */
static uint16_t
guess_mac2(tcard *t)
{
	uint8_t d[11] = { 0x01, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0x01 };
	uint8_t c[11] = { 0x20, 0x26, 0x01, 0x01, 0x12, 0x00, 0x00 };

	verify_pin(t);
	assert_int_equal(cmd(t, 0x80, 0x50, 0x00, 0x02, d, sizeof(d)), 0x9000);
	randombytes_buf(c + 7, 4);
	return cmd(t, 0x80, 0x52, 0x00, 0x00, c, sizeof(c));
}

/* only a credit restores the MAC tries: a genuine grant replayed in
 * another session (refused) must not reset the count between guesses */
static void
test_replayed_grant_no_reset(void **state)
{
	tcard *t = *state;
	uint8_t gbuf[WK_MSG_MAX];
	wk_buf g;
	wk_msg q, r;

	enrolled(t);
	request(t, 100, &q);
	wk_buf_init_fixed(&g, gbuf, sizeof(gbuf));
	grant_for(t, &q, &g);
	assert_int_equal(guess_mac2(t), 0x9302);
	assert_int_equal(guess_mac2(t), 0x9302);
	/* the issuer's grant, from a session the card no longer has */
	verify_pin(t);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r), WK_MSG_OK);
	assert_int_equal(r.type, WK_MSG_LOAD_REFUSAL);
	/* so the third guess blocks the purse */
	assert_int_equal(guess_mac2(t), 0x9302);
	verify_pin(t);
	{
		uint8_t d[11] = { 0x01, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0x01 };

		assert_int_equal(cmd(t, 0x80, 0x50, 0x00, 0x02, d, sizeof(d)),
		    0x6A81);
	}
	/* and a right load after two guesses restores them all */
	assert_int_equal(unblock(t, t->keys[WK_PURSE_KEY_DAMK]), 0x9000);
	select_purse(t);
	assert_int_equal(guess_mac2(t), 0x9302);
	assert_int_equal(guess_mac2(t), 0x9302);
	load(t, 100);
	assert_int_equal(guess_mac2(t), 0x9302);
	assert_int_equal(guess_mac2(t), 0x9302);
	load(t, 100);
	assert_int_equal(balance(t), 200);
}

/* ISSUER SESSION (80 EF): the card signs the issuer's challenge in a
 * session proof it builds itself; holder scope only after the PIN */
static void
test_issuer_session(void **state)
{
	tcard *t = *state;
	uint8_t chal[16];
	wk_msg m;

	memset(chal, 0xC3, sizeof(chal));
	/* not enrolled: no issuer to open a session with */
	select_purse(t);
	assert_int_equal(cmd(t, 0x80, 0xEF, 0, 0, chal, 16), 0x6985);
	enrolled(t);
	select_purse(t);
	assert_int_equal(cmd(t, 0x80, 0xEF, 0, 0, chal, 16), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &m), WK_MSG_OK);
	assert_int_equal(m.type, WK_MSG_SESSION_AUTH);
	assert_int_equal(m.scope, WK_MSG_SCOPE_CARD);
	assert_memory_equal(m.nonce, chal, 16);
	assert_memory_equal(m.card_id, vc_card_serial(t->card), 8);
	/* the holder's scope needs the PIN of this selection */
	assert_int_equal(cmd(t, 0x80, 0xEF, 1, 0, chal, 16), 0x6982);
	verify_pin(t);
	assert_int_equal(cmd(t, 0x80, 0xEF, 1, 0, chal, 16), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &m), WK_MSG_OK);
	assert_int_equal(m.scope, WK_MSG_SCOPE_HOLDER);
	/* not used up: a second proof with the same verification */
	assert_int_equal(cmd(t, 0x80, 0xEF, 1, 0, chal, 16), 0x9000);
	/* a new selection drops it */
	select_piv(t);
	select_purse(t);
	assert_int_equal(cmd(t, 0x80, 0xEF, 1, 0, chal, 16), 0x6982);
	/* bad parameters and lengths */
	assert_int_equal(cmd(t, 0x80, 0xEF, 2, 0, chal, 16), 0x6A86);
	assert_int_equal(cmd(t, 0x80, 0xEF, 0, 1, chal, 16), 0x6A86);
	assert_int_equal(cmd(t, 0x80, 0xEF, 0, 0, chal, 15), 0x6700);
	assert_int_equal(cmd(t, 0x80, 0xEF, 0, 0, NULL, 0), 0x6700);
}

/* a host process without the PIN cannot burn online sequence numbers */
static void
test_seq_burn_needs_pin(void **state)
{
	tcard *t = *state;
	uint8_t gbuf[WK_MSG_MAX], d[18];
	wk_buf g;
	wk_msg q, r;
	uint16_t seq;

	enrolled(t);
	request(t, 300, &q);
	wk_buf_init_fixed(&g, gbuf, sizeof(gbuf));
	grant_for(t, &q, &g);
	/* the session is lost (another applet selected), the PIN with it */
	select_piv(t);
	select_purse(t);
	seq = q.seq;
	memset(d, 0xAB, 16);
	d[16] = (uint8_t)(seq >> 8);
	d[17] = (uint8_t)seq;
	for (int i = 0; i < 50; i++) {
		/* the issuer's own grant for the current seq, no session */
		assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x6982);
		/* a never-credited statement for the current seq */
		assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, sizeof(d)), 0x6982);
	}
	assert_int_equal(online_seq(t), seq);
	/* with the PIN: one seq burnt, and the PIN used up */
	select_piv(t);
	select_purse(t);
	verify_pin(t);
	assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, sizeof(d)), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r), WK_MSG_OK);
	assert_int_equal(r.type, WK_MSG_LOAD_NEVER);
	d[16] = (uint8_t)((seq + 1) >> 8);
	d[17] = (uint8_t)(seq + 1);
	assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, sizeof(d)), 0x6982);
	/* the statement for the burnt seq again: no PIN needed, nothing burnt */
	d[16] = (uint8_t)(seq >> 8);
	d[17] = (uint8_t)seq;
	assert_int_equal(cmd(t, 0x80, 0xE4, 0, 2, d, sizeof(d)), 0x9000);
	assert_int_equal(online_seq(t), seq + 1);
	/* a refused grant for no session, with the PIN: burns one, uses it up */
	request(t, 300, &q);
	wk_buf_reset(&g);
	grant_for(t, &q, &g);
	assert_int_equal(balance(t), 0);	/* drops the session */
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r), WK_MSG_OK);
	assert_int_equal(r.type, WK_MSG_LOAD_REFUSAL);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x6982);
	assert_int_equal(online_seq(t), seq + 2);
	/* a forged grant for no session, with the PIN: a MAC try, no burn */
	{
		EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

		request(t, 300, &q);
		wk_buf_reset(&g);
		grant_signed_by(t, &q, other, &g);
		assert_int_equal(balance(t), 0);
		assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x6982);
		assert_int_equal(online_seq(t), seq + 2);
		EVP_PKEY_free(other);
	}
}

static void
test_send_needs_pin(void **state)
{
	pair *p = *state;
	uint8_t d[28];

	load(p->a, 2000);
	assert_int_equal(authenticate(p, p->a, p->b, p->cb_cert, p->cb_len), 0x9000);
	assert_int_equal(authenticate(p, p->b, p->a, p->ca_cert, p->ca_len), 0x9000);
	verify_pin(p->b);
	assert_int_equal(txf(p->b, "80 E8 01 00"), 0x9000);
	memcpy(d, vc_card_serial(p->b->card), 8);
	memcpy(d + 8, p->b->r, 16);
	memcpy(d + 24, "\x00\x00\x01\xF4", 4);	/* 5.00 */
	/* a host process sends without the PIN: refused */
	assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, sizeof(d)), 0x6985);
	/* the holder's PIN blocked (three wrong): sending stays refused */
	for (int i = 2; i >= 0; i--)
		assert_int_equal(txf(p->a, "00 20 00 00 03 99 99 99"),
		    0x63C0 | i);
	assert_int_equal(txf(p->a, "00 20 00 00 03 12 34 56"), 0x6983);
	assert_int_equal(cmd(p->a, 0x80, 0xEB, 0, 2, d, sizeof(d)), 0x6985);
	assert_int_equal(balance(p->a), 2000);
	assert_int_equal(cmd(p->a, 0x80, 0xEC, 0, 0, d + 8, 16), 0x6A88);
}

/* the issuer's revocation list, signed by signer, into out */
static size_t
crl(EVP_PKEY *signer, uint64_t version, uint64_t issued,
    const uint8_t (*ids)[8], uint16_t n, uint8_t *out, size_t cap)
{
	wk_arec_crl l = { .version = version, .issued = issued, .count = n };
	size_t len = WK_AREC_CRL_HDR + (size_t)n * 8, sl = 0;

	assert_true(len + WK_AREC_SIG_MAX <= cap);
	wk_arec_crl_header(&l, out);
	for (uint16_t i = 0; i < n; i++)
		memcpy(out + WK_AREC_CRL_HDR + 8 * (size_t)i, ids[i], 8);
	assert_int_equal(wk_arec_sign(signer, out, len, out + len, cap - len,
	    &sl), WK_AREC_OK);
	return len + sl;
}

/* REVOCATION LIST on the audit applet (extended length) */
static uint16_t
put_crl(tcard *t, const uint8_t *l, size_t n)
{
	uint8_t apdu[4096];

	assert_int_equal(txf(t, "00 A4 04 00 08 F0 57 4B 41 55 44 49 54"), 0x9000);
	apdu[0] = 0x80;
	apdu[1] = 0xE8;
	apdu[2] = 0x00;
	apdu[3] = 0x00;
	apdu[4] = 0x00;
	apdu[5] = (uint8_t)(n >> 8);
	apdu[6] = (uint8_t)n;
	memcpy(apdu + 7, l, n);
	return txb(t, apdu, 7 + n);
}

static uint64_t
crl_version(tcard *t)
{
	uint64_t v = 0;

	assert_int_equal(txf(t, "00 A4 04 00 08 F0 57 4B 41 55 44 49 54"), 0x9000);
	assert_int_equal(txf(t, "80 E8 01 00 12"), 0x9000);
	assert_int_equal(t->rlen, 18);
	for (int i = 0; i < 8; i++)
		v = (v << 8) | t->r[i];
	return v;
}

static void
test_peer_certificates(void **state)
{
	pair *p = *state;
	uint8_t cert[2048], l[4096], old[4096], ids[3][8];
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t cl, ln, on;
	uint64_t now = (uint64_t)time(NULL);

	/* expired, and not valid yet: refused at authentication */
	cl = make_cert_dates(p->b, p->a->ca, -86400 * 10, -86400, cert,
	    sizeof(cert));
	assert_int_equal(authenticate(p, p->a, p->b, cert, cl), 0x6982);
	cl = make_cert_dates(p->b, p->a->ca, 86400, 86400 * 10, cert,
	    sizeof(cert));
	assert_int_equal(authenticate(p, p->a, p->b, cert, cl), 0x6982);
	assert_int_equal(authenticate(p, p->a, p->b, p->cb_cert, p->cb_len),
	    0x9000);
	/* a list that names b among others, signed by the issuer */
	memset(ids, 0, sizeof(ids));
	memcpy(ids[1], vc_card_serial(p->b->card), 8);
	memset(ids[2], 0xFF, 8);
	assert_true(memcmp(ids[0], ids[1], 8) < 0 && memcmp(ids[1], ids[2], 8) < 0);
	on = crl(p->a->ca, 1, now, (const uint8_t (*)[8])ids, 0, old, sizeof(old));
	ln = crl(p->a->ca, 2, now, (const uint8_t (*)[8])ids, 3, l, sizeof(l));
	assert_int_equal(put_crl(p->a, old, on), 0x9000);
	assert_int_equal(crl_version(p->a), 1);
	/* a list the issuer did not sign, or one byte changed: refused */
	{
		uint8_t forged[4096];
		size_t fn = crl(other, 9, now, (const uint8_t (*)[8])ids, 1,
		    forged, sizeof(forged));

		assert_int_equal(put_crl(p->a, forged, fn), 0x6982);
		memcpy(forged, l, ln);
		forged[WK_AREC_CRL_HDR + 3] ^= 0x01;
		assert_int_equal(put_crl(p->a, forged, ln), 0x6982);
		/* ids out of order, though signed: malformed */
		{
			uint8_t swapped[3][8];

			memcpy(swapped[0], ids[1], 8);
			memcpy(swapped[1], ids[0], 8);
			memcpy(swapped[2], ids[2], 8);
			fn = crl(p->a->ca, 9, now,
			    (const uint8_t (*)[8])swapped, 3, forged,
			    sizeof(forged));
			assert_int_equal(put_crl(p->a, forged, fn), 0x6A80);
		}
		assert_int_equal(put_crl(p->a, forged, WK_AREC_CRL_HDR - 1),
		    0x6700);
	}
	assert_int_equal(crl_version(p->a), 1);
	assert_int_equal(put_crl(p->a, l, ln), 0x9000);
	assert_int_equal(crl_version(p->a), 2);
	select_purse(p->a);
	assert_int_equal(authenticate(p, p->a, p->b, p->cb_cert, p->cb_len),
	    0x6982);
	/* the old list replayed cannot replace the newer one */
	assert_int_equal(put_crl(p->a, old, on), 0x6985);
	assert_int_equal(crl_version(p->a), 2);
	/* the same version again: accepted, nothing changes */
	assert_int_equal(put_crl(p->a, l, ln), 0x9000);
	select_purse(p->a);
	assert_int_equal(authenticate(p, p->a, p->b, p->cb_cert, p->cb_len),
	    0x6982);
	/* b still takes a's certificate (a is not revoked, b has no list) */
	assert_int_equal(authenticate(p, p->b, p->a, p->ca_cert, p->ca_len),
	    0x9000);
	/* a redeem from a revoked sender is refused too */
	verify_pin(p->a);
	{
		uint8_t tok[WK_MSG_MAX];
		wk_buf b;
		wk_msg m = { 0 };

		wk_buf_init_fixed(&b, tok, sizeof(tok));
		m.type = WK_MSG_XFER_TOKEN;
		memcpy(m.card_id, vc_card_serial(p->b->card), 8);
		memcpy(m.peer_id, vc_card_serial(p->a->card), 8);
		m.amount = 100;
		assert_int_equal(wk_msg_sign(&m, p->b->ca, &b), WK_MSG_OK);
		assert_int_equal(cmd_cert_msg(p->a, 0xED, p->cb_cert, p->cb_len,
		    b.p, b.len), 0x6982);
	}
	/* the card's clock is never before the newest list's issue time: a's
	 * certificate ends in a day, and the issuer spoke two days ahead */
	on = crl(p->a->ca, 1, now + 2 * 86400, (const uint8_t (*)[8])ids, 0,
	    old, sizeof(old));
	assert_int_equal(put_crl(p->b, old, on), 0x9000);
	select_purse(p->b);
	assert_int_equal(authenticate(p, p->b, p->a, p->ca_cert, p->ca_len),
	    0x6982);
	EVP_PKEY_free(other);
}


/* ---- slot 82 and attestation (piv_wallet.c, piv_gen.c, piv_attest.c) ---- */

/* GENERATE P-256 in slot (9B authenticated); the point to pt (may be NULL) */
static uint16_t
gen_p256(tcard *t, uint8_t slot, uint8_t pt[65])
{
	uint16_t sw = txf(t, "00 47 00 %02X 05 AC 03 80 01 11 00", slot);

	if (sw == 0x9000 && pt != NULL)
		memcpy(pt, t->r + 5, 65);
	return sw;
}

/* IMPORT a random P-256 key into slot (9B authenticated) */
static uint16_t
import_p256(tcard *t, uint8_t slot)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIGNUM *d = NULL;
	uint8_t priv[32];
	char h[65];
	uint16_t sw;

	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_bn_param(k, "priv", &d), 1);
	assert_int_equal(BN_bn2binpad(d, priv, 32), 32);
	hexs(priv, 32, h);
	sw = txf(t, "00 FE 11 %02X 22 06 20 %s", slot, h);
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(h, sizeof(h));
	BN_clear_free(d);
	EVP_PKEY_free(k);
	return sw;
}

/* ATTEST slot: the DER certificate into der */
static uint16_t
attest(tcard *t, uint8_t slot, uint8_t *der, size_t *len)
{
	uint16_t sw = txf(t, "00 F9 %02X 00 00 00 00", slot);

	if (sw == 0x9000) {
		assert_true(t->rlen <= *len);
		memcpy(der, t->r, t->rlen);
		*len = t->rlen;
	}
	return sw;
}

/* the device certificate (5FFF01: 53 { 70 cert 71 01 00 FE 00 }) */
static void
device_cert(tcard *t, uint8_t *der, size_t *len)
{
	wk_tlv o, c;

	assert_int_equal(txf(t, "00 CB 3F FF 00 00 05 5C 03 5F FF 01 00 00"),
	    0x9000);
	assert_int_equal(wk_tlv_parse_one(t->r, t->rlen, 0x53, &o), WK_TLV_OK);
	assert_int_equal(wk_tlv_find(o.value, o.len, 0x70, &c), WK_TLV_OK);
	assert_true(c.len <= *len);
	memcpy(der, c.value, c.len);
	*len = c.len;
}

static int
verify_chain(X509 *anchor, const uint8_t *leaf, size_t leaf_len,
    const uint8_t *dev, size_t dev_len, const uint8_t *card_id, uint8_t slot,
    EVP_PKEY *pub, wk_attest_facts *f)
{
	const uint8_t *der[2] = { leaf, dev };
	size_t len[2] = { leaf_len, dev_len };
	X509_STORE *store = X509_STORE_new();
	char why[256];
	int rc;

	assert_non_null(store);
	assert_int_equal(X509_STORE_add_cert(store, anchor), 1);
	rc = wk_attest_verify(store, der, len, 2, card_id, slot, pub, f, why,
	    sizeof(why));
	if (rc != WK_ATTEST_OK)
		assert_true(why[0] != '\0');
	X509_STORE_free(store);
	return rc;
}

static X509 *
der_x509(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	assert_non_null(x);
	return x;
}

static void
test_attestation(void **state)
{
	tcard *t = *state;
	uint8_t leaf[2048], dev[2048], leaf9a[2048], pt[65];
	size_t leaf_len = sizeof(leaf), dev_len = sizeof(dev);
	size_t l9 = sizeof(leaf9a);
	uint8_t other_id[8];
	wk_attest_facts f;
	EVP_PKEY *pub, *soft;
	X509 *rogue;

	select_piv(t);
	mgm_auth(t);
	assert_int_equal(gen_p256(t, 0x82, pt), 0x9000);
	pub = pub_from_point(pt);
	assert_int_equal(attest(t, 0x82, leaf, &leaf_len), 0x9000);
	device_cert(t, dev, &dev_len);
	/* the genuine chain: manufacturer CA, the card's F9, its slot-82 key */
	memset(&f, 0, sizeof(f));
	assert_int_equal(verify_chain(t->mfg_cert, leaf, leaf_len, dev, dev_len,
	    vc_card_serial(t->card), 0x82, pub, &f), WK_ATTEST_OK);
	assert_memory_equal(f.card_id, vc_card_serial(t->card), 8);
	assert_int_equal(f.slot, 0x82);
	assert_int_equal(f.origin, WK_ATTEST_ORIGIN_GENERATED);
	assert_int_equal(f.depth, 3);
	/* it names this card only, this key only */
	memcpy(other_id, vc_card_serial(t->card), 8);
	other_id[7] ^= 0x01;
	assert_int_equal(verify_chain(t->mfg_cert, leaf, leaf_len, dev, dev_len,
	    other_id, 0x82, pub, NULL), WK_ATTEST_WRONG_CARD);
	soft = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_int_equal(verify_chain(t->mfg_cert, leaf, leaf_len, dev, dev_len,
	    vc_card_serial(t->card), 0x82, soft, NULL), WK_ATTEST_WRONG_KEY);
	/* by a CA the verifier does not trust */
	rogue = write_mfg_ca("/dev/null");
	assert_int_equal(verify_chain(rogue, leaf, leaf_len, dev, dev_len,
	    vc_card_serial(t->card), 0x82, pub, NULL), WK_ATTEST_UNTRUSTED);
	/* the device certificate trusted directly is not a manufacturer */
	{
		X509 *d = der_x509(dev, dev_len);

		assert_int_equal(verify_chain(d, leaf, leaf_len, dev, dev_len,
		    vc_card_serial(t->card), 0x82, pub, NULL), WK_ATTEST_UNTRUSTED);
		X509_free(d);
	}
	/* the chain the wrong way round, or the device certificate twice */
	assert_int_not_equal(verify_chain(t->mfg_cert, dev, dev_len, leaf,
	    leaf_len, vc_card_serial(t->card), 0x82, pub, NULL), WK_ATTEST_OK);
	assert_int_not_equal(verify_chain(t->mfg_cert, dev, dev_len, dev, dev_len,
	    vc_card_serial(t->card), 0x82, pub, NULL), WK_ATTEST_OK);
	/* a key generated in another slot is not a wallet key */
	assert_int_equal(gen_p256(t, 0x9A, NULL), 0x9000);
	assert_int_equal(attest(t, 0x9A, leaf9a, &l9), 0x9000);
	assert_int_equal(verify_chain(t->mfg_cert, leaf9a, l9, dev, dev_len,
	    vc_card_serial(t->card), 0x82, NULL, NULL), WK_ATTEST_WRONG_SLOT);
	/* imported keys are never attested (6A80, as a YubiKey) */
	assert_int_equal(import_p256(t, 0x83), 0x9000);
	assert_int_equal(txf(t, "00 F9 83 00 00"), 0x6A80);
	assert_int_equal(import_p256(t, 0x82), 0x9000);
	assert_int_equal(txf(t, "00 F9 82 00 00"), 0x6A80);
	X509_free(rogue);
	EVP_PKEY_free(soft);
	EVP_PKEY_free(pub);
}

/* a card made without a manufacturer CA: its F9 certificate is its own */
static void
test_attestation_self_signed(void **state)
{
	tcard *t = *state;
	uint8_t leaf[2048], dev[2048], pt[65];
	size_t leaf_len = sizeof(leaf), dev_len = sizeof(dev);
	X509 *d, *rogue;
	EVP_PKEY *pub;

	select_piv(t);
	mgm_auth(t);
	assert_int_equal(gen_p256(t, 0x82, pt), 0x9000);
	pub = pub_from_point(pt);
	assert_int_equal(attest(t, 0x82, leaf, &leaf_len), 0x9000);
	device_cert(t, dev, &dev_len);
	d = der_x509(dev, dev_len);
	assert_int_equal(X509_check_issued(d, d), X509_V_OK);
	rogue = write_mfg_ca("/dev/null");
	assert_int_equal(verify_chain(rogue, leaf, leaf_len, dev, dev_len,
	    vc_card_serial(t->card), 0x82, pub, NULL), WK_ATTEST_UNTRUSTED);
	assert_int_equal(verify_chain(d, leaf, leaf_len, dev, dev_len,
	    vc_card_serial(t->card), 0x82, pub, NULL), WK_ATTEST_UNTRUSTED);
	X509_free(rogue);
	X509_free(d);
	EVP_PKEY_free(pub);
}

static void
test_slot82_locked(void **state)
{
	tcard *t = *state;
	uint8_t pt[65];

	select_piv(t);
	mgm_auth(t);
	/* a key never moves into or out of slot 82 */
	assert_int_equal(gen_p256(t, 0x82, NULL), 0x9000);
	assert_int_equal(gen_p256(t, 0x9A, NULL), 0x9000);
	assert_int_equal(txf(t, "00 F6 9A 82"), 0x6982);
	assert_int_equal(txf(t, "00 F6 82 9A"), 0x6982);
	assert_int_equal(txf(t, "00 F6 83 9A"), 0x9000);
	/* before the wallet is set up the host may still delete it */
	assert_int_equal(txf(t, "00 F6 FF 82"), 0x9000);
	assert_int_equal(txf(t, "00 F7 00 82"), 0x6A82);
	setup_wallet(t);
	select_piv(t);
	mgm_auth(t);
	/* enrolled: no GENERATE, IMPORT, DELETE or MOVE on slot 82 */
	assert_int_equal(gen_p256(t, 0x82, NULL), 0x6982);
	assert_int_equal(import_p256(t, 0x82), 0x6982);
	assert_int_equal(txf(t, "00 F6 FF 82"), 0x6982);
	assert_int_equal(txf(t, "00 F6 84 82"), 0x6982);
	assert_int_equal(txf(t, "00 F6 82 83"), 0x6982);
	/* the key is the one set up */
	assert_int_equal(txf(t, "00 F7 00 82"), 0x9000);
	{
		wk_tlv k, p;

		assert_int_equal(wk_tlv_find(t->r, t->rlen, 0x04, &k), WK_TLV_OK);
		assert_int_equal(wk_tlv_find(k.value, k.len, 0x86, &p), WK_TLV_OK);
		assert_int_equal(p.len, 65);
		assert_memory_equal(p.value, t->point, 65);
	}
	/* other slots are as before */
	assert_int_equal(gen_p256(t, 0x84, pt), 0x9000);
	assert_int_equal(txf(t, "00 F6 FF 84"), 0x9000);
	/* WALLET SETUP without data forgets it: then the slot is free again */
	assert_int_equal(txf(t, "80 E8 00 00"), 0x9000);
	assert_int_equal(txf(t, "00 F7 00 82"), 0x6A82);
	assert_int_equal(gen_p256(t, 0x82, NULL), 0x9000);
}

/* the purse answers INITIALIZE FOR LOAD (key index 1) with this SW */
static uint16_t
init_load(tcard *t)
{
	select_purse(t);
	verify_pin(t);
	return txf(t, "80 50 00 02 0B 01 00000064 000000000001 10");
}

static void
test_resetup_forgets(void **state)
{
	tcard *t = *state;
	uint8_t data[100], ca_pt[65];
	size_t n = 0, l = 0;
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	enrolled(t);
	assert_int_equal(init_load(t), 0x9000);
	load(t, 700);
	assert_int_equal(balance(t), 700);
	/* a new anchor over an enrolled wallet: the old key and every purse
	 * key go first */
	assert_int_equal(EVP_PKEY_get_octet_string_param(other,
	    "encoded-pub-key", ca_pt, sizeof(ca_pt), &l), 1);
	data[n++] = 0x01;
	data[n++] = 65;
	memcpy(data + n, ca_pt, 65);
	n += 65;
	data[n++] = 0x02;
	data[n++] = 1;
	data[n++] = '9';
	select_piv(t);
	mgm_auth(t);
	assert_int_equal(cmd(t, 0x80, 0xE8, 0, 0, data, n), 0x9000);
	assert_int_equal(txf(t, "00 F7 00 82"), 0x6A82);
	assert_int_equal(init_load(t), 0x9403);
	assert_int_equal(balance(t), 700);
	/* the new anchor stays: slot 82 is closed until the wallet is
	 * forgotten */
	select_piv(t);
	mgm_auth(t);
	assert_int_equal(gen_p256(t, 0x82, NULL), 0x6982);
	assert_int_equal(txf(t, "80 E8 00 00"), 0x9000);
	/* a new wallet never takes over the value of the old one: the new
	 * keys are refused while the purse holds it */
	EVP_PKEY_free(t->card_pub);
	t->card_pub = NULL;
	setup_wallet(t);
	{
		uint8_t buf[WK_MSG_MAX];
		wk_buf b;

		wk_buf_init_fixed(&b, buf, sizeof(buf));
		perso_msg(t, &b);
		select_purse(t);
		assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, b.p, b.len), 0x6985);
	}
	assert_int_equal(init_load(t), 0x9403);
	assert_int_equal(balance(t), 700);
	EVP_PKEY_free(other);
}

/* forgetting an enrolled wallet (WALLET SETUP without data, or PIV RESET)
 * wipes its purse keys */
static void
test_forget_wipes(void **state)
{
	tcard *t = *state;

	enrolled(t);
	assert_int_equal(init_load(t), 0x9000);
	select_piv(t);
	mgm_auth(t);
	assert_int_equal(txf(t, "80 E8 00 00"), 0x9000);
	assert_int_equal(init_load(t), 0x9403);
	/* PIV RESET (PIN and PUK blocked) forgets the wallet too */
	EVP_PKEY_free(t->card_pub);
	t->card_pub = NULL;
	setup_wallet(t);
	personalise(t);
	assert_int_equal(init_load(t), 0x9000);
	select_piv(t);
	for (int i = 0; i < 3; i++)
		(void)txf(t, "00 20 00 80 08 30 30 30 30 30 30 FF FF");
	for (int i = 0; i < 3; i++)
		(void)txf(t, "00 2C 00 80 10 3030303030303030 3131313131313131");
	assert_int_equal(txf(t, "00 FB 00 00"), 0x9000);
	assert_int_equal(init_load(t), 0x9403);
	select_piv(t);
	mgm_auth(t);
	assert_int_equal(gen_p256(t, 0x82, NULL), 0x9000);
}

/* INITIALIZE FOR UPDATE + UPDATE OVERDRAW LIMIT with a DUK (key index 1);
 * returns the last SW */
static uint16_t
update_limit(tcard *t, const uint8_t duk[16], uint32_t new_limit)
{
	uint8_t rnd[4], mac[4];
	wk_purse_skey sk;
	uint8_t date[4] = { 0x20, 0x26, 0x11, 0x24 }, tim[3] = { 0x10, 0, 0 };
	uint8_t tid[6] = { 0, 0, 0, 0, 0, 0x42 };
	char mh[9];
	uint16_t seq, sw;

	select_purse(t);
	verify_pin(t);
	if ((sw = txf(t, "80 50 04 01 07 01 000000000042 13")) != 0x9000)
		return sw;
	seq = (uint16_t)((t->r[4] << 8) | t->r[5]);
	memcpy(rnd, t->r + 11, 4);
	/* the algorithm of the card's DUK, as INITIALIZE answers it */
	assert_int_equal(wk_purse_session_key_online(t->r[10], duk, rnd, seq,
	    &sk), 0);
	assert_int_equal(wk_purse_update_mac2(&sk, new_limit, tid, date, tim,
	    mac), 0);
	hexs(mac, 4, mh);
	return txf(t, "80 58 00 00 0E %06X 20261124 100000 %s 04", new_limit, mh);
}

static uint32_t
ed_balance(tcard *t)
{
	select_purse(t);
	verify_pin(t);
	assert_int_equal(txf(t, "80 5C 00 01 04"), 0x9000);
	return ((uint32_t)t->r[0] << 24) | ((uint32_t)t->r[1] << 16) |
	    ((uint32_t)t->r[2] << 8) | t->r[3];
}

static void
test_demo_keys_replaced(void **state)
{
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX], demo_duk[16];
	uint8_t ids[WK_PURSE_KEY_N + 1];
	char err[200];
	vc_perso *p = NULL;
	wk_buf b;

	/* the public demo keys of this card, as anyone can compute them */
	assert_int_equal(vc_perso_load(NULL, true, &p, err, sizeof(err)),
	    VC_PERSO_OK);
	assert_int_equal(vc_perso_finish(p, vc_card_serial(t->card)),
	    VC_PERSO_OK);
	for (size_t i = 0; i < p->n_keys; i++)
		if (p->keys[i].purpose == WK_PURSE_KEY_DUK)
			memcpy(demo_duk, p->keys[i].key, 16);
	vc_perso_free(&p);
	/* before enrolment the demo DUK raises the overdraft limit: what the
	 * attack did on an enrolled card */
	assert_int_equal(update_limit(t, demo_duk, 0x000100), 0x9000);
	assert_int_equal(ed_balance(t), 0x100);
	setup_wallet(t);
	/* the purse holds value made with the demo keys (the overdraft
	 * limit): the issuer's keys are refused until it is gone */
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	perso_msg(t, &b);
	select_purse(t);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, b.p, b.len), 0x6985);
	assert_int_equal(update_limit(t, demo_duk, 0), 0x9000);
	assert_int_equal(ed_balance(t), 0);
	/* a personalisation that leaves out a key, names one twice or names
	 * one the card does not know: refused, nothing installed */
	for (size_t i = 0; i < WK_PURSE_KEY_N; i++)
		ids[i] = (uint8_t)i;
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	perso_msg_with(t, ids, WK_PURSE_KEY_N - 1, &b);
	select_purse(t);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, b.p, b.len), 0x6A80);
	ids[WK_PURSE_KEY_N - 1] = 0;
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	perso_msg_with(t, ids, WK_PURSE_KEY_N, &b);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, b.p, b.len), 0x6A80);
	ids[WK_PURSE_KEY_N - 1] = WK_PURSE_KEY_N;
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	perso_msg_with(t, ids, WK_PURSE_KEY_N, &b);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, b.p, b.len), 0x6A80);
	ids[WK_PURSE_KEY_N - 1] = WK_PURSE_KEY_N - 1;
	ids[WK_PURSE_KEY_N] = WK_PURSE_KEY_N;
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	perso_msg_with(t, ids, WK_PURSE_KEY_N + 1, &b);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, b.p, b.len), 0x6A80);
	/* the demo keys are still the card's */
	assert_int_equal(update_limit(t, demo_duk, 0), 0x9000);
	/* enrolled: every purse key is the issuer's; the demo DUK is refused
	 * and the limit stays */
	personalise(t);
	assert_int_equal(update_limit(t, demo_duk, 0xFFFFFF), 0x9302);
	assert_int_equal(ed_balance(t), 0);
	assert_int_equal(update_limit(t, t->keys[WK_PURSE_KEY_DUK], 0x000300),
	    0x9000);
	assert_int_equal(ed_balance(t), 0x300);
}

/* docs/purse.md "SM4": the issuer's keys of both algorithms, each entry of
 * the personalisation naming its own; remote load, TAC, overdraft update
 * and the unblock script each with its key's algorithm */
static void
test_sm4_keys(void **state)
{
	static const uint8_t mixed[WK_PURSE_KEY_N] = { WK_PURSE_ALG_SM4,
	    WK_PURSE_ALG_3DES, WK_PURSE_ALG_SM4, WK_PURSE_ALG_3DES,
	    WK_PURSE_ALG_SM4, WK_PURSE_ALG_SM4 };
	tcard *t = *state;
	uint8_t buf[WK_MSG_MAX], gbuf[WK_MSG_MAX], tac[4], forged[16];
	wk_purse_skey ktac;
	wk_buf b, g;
	wk_msg q, r;

	memcpy(t->algs, mixed, sizeof(mixed));
	setup_wallet(t);
	/* an algorithm id the card does not compute with: refused, and
	 * nothing of the message installed */
	t->algs[WK_PURSE_KEY_DPK] = 0x01;
	wk_buf_init_fixed(&b, buf, sizeof(buf));
	perso_msg(t, &b);
	select_purse(t);
	assert_int_equal(cmd(t, 0x80, 0xE6, 0, 0, b.p, b.len), 0x6A80);
	t->algs[WK_PURSE_KEY_DPK] = WK_PURSE_ALG_3DES;
	personalise(t);

	request(t, 10000, &q);
	assert_int_equal(q.alg_id, WK_PURSE_ALG_SM4);
	wk_buf_init_fixed(&g, gbuf, sizeof(gbuf));
	grant_for(t, &q, &g);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, g.p, g.len), 0x9000);
	assert_int_equal(wk_msg_verify(t->r, t->rlen, t->card_pub, &r), WK_MSG_OK);
	assert_int_equal(r.type, WK_MSG_LOAD_RECEIPT);
	assert_int_equal(wk_purse_tac_key(WK_PURSE_ALG_SM4,
	    t->keys[WK_PURSE_KEY_DTK], &ktac), 0);
	assert_int_equal(wk_purse_load_tac(&ktac, 10000, q.seq, 10000,
	    q.trans_type, q.terminal_id, r.host_date, r.host_time, tac), 0);
	assert_memory_equal(tac, r.tac, 4);
	assert_int_equal(balance(t), 10000);

	/* the DUK is SM4: update_limit takes the algorithm from the card */
	assert_int_equal(update_limit(t, t->keys[WK_PURSE_KEY_DUK], 0x000300),
	    0x9000);
	assert_int_equal(ed_balance(t), 0x300);
	/* the SM4 DAMK's script opens; the same key's 3DES script does not */
	select_purse(t);
	assert_int_equal(unblock(t, t->keys[WK_PURSE_KEY_DAMK]), 0x9000);
	t->algs[WK_PURSE_KEY_DAMK] = WK_PURSE_ALG_3DES;
	assert_int_equal(unblock(t, t->keys[WK_PURSE_KEY_DAMK]), 0x6988);
	t->algs[WK_PURSE_KEY_DAMK] = WK_PURSE_ALG_SM4;
	memset(forged, 0x5A, sizeof(forged));
	assert_int_equal(unblock(t, forged), 0x6988);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_setup_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_personalise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_flips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_credited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transfer, setup_pair,
		    teardown_pair),
		cmocka_unit_test_setup_teardown(test_attestation, setup_factory,
		    teardown),
		cmocka_unit_test_setup_teardown(test_attestation_self_signed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_slot82_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resetup_forgets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_forget_wipes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_demo_keys_replaced,
		    setup_factory, teardown),
		cmocka_unit_test_setup_teardown(test_sm4_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_signatures_block, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_issuer_session, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_seq_burn_needs_pin, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replayed_grant_no_reset, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_send_needs_pin, setup_pair,
		    teardown_pair),
		cmocka_unit_test_setup_teardown(test_peer_certificates, setup_pair,
		    teardown_pair),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
