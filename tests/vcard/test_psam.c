/*
 * the PSAM applet (vcard/applets/psam.c) through the card runtime, with an
 * in-process issuer (a CA key, a purchase master key): provisioning
 * (GENERATE, INSTALL and every flipped byte of the issuer's message), MAC1
 * recomputed here with OpenSSL's 3DES and SM4 alone (docs/purse.md "SM4"),
 * the terminal counter, MAC2, state across a restart, and no key in the
 * answers or in the store file.
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
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "vc_card.h"
#include "vc_store.h"
#include "wk_apdu.h"
#include "wk_msg.h"

extern const vc_applet vc_applet_psam;

static const vc_applet *const applets[] = { &vc_applet_psam };

static const uint8_t TERM[6] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x42 };

typedef struct tcard {
	char dir[64];
	char path[128];
	vc_store *st;
	vc_card *card;
	uint8_t r[1024];
	size_t rlen;
	EVP_PKEY *ca;
	uint8_t anchor[65];
	uint8_t point[65];	/* the PSAM's key */
	uint8_t dpk[16];	/* the issuer's purchase master key, 3DES */
	uint8_t dpk4[16];	/* and its SM4 one */
	uint8_t algs;		/* which of them the next psam-keys message has:
				 * bit 0 3DES, bit 1 SM4, bit 2 a 16-byte key
				 * alone (before SM4), bit 3 an unknown id */
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

/* CLA INS P1 P2 [Lc data] Le 00: short, or extended above 255 bytes */
static uint16_t
cmd(tcard *t, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc)
{
	wk_apdu a = { .cla = cla, .ins = ins, .p1 = p1, .p2 = p2, .data = data,
	    .lc = lc, .has_le = true, .le = lc > 255 ? 65536 : 256 };
	uint8_t apdu[1100];
	wk_buf b;

	assert_true(lc <= sizeof(apdu) - 10);
	wk_buf_init_fixed(&b, apdu, sizeof(apdu));
	assert_int_equal(wk_apdu_encode(&a, false, &b), WK_APDU_OK);
	return txb(t, apdu, b.len);
}

static void
select_psam(tcard *t)
{
	static const uint8_t aid[] = { 0xF0, 0x57, 0x4B, 0x50, 0x53, 0x41, 0x4D };

	assert_int_equal(cmd(t, 0x00, 0xA4, 0x04, 0x00, aid, sizeof(aid)), 0x9000);
}

/* ---- an independent purse computation: OpenSSL's 3DES only ---- */

static void
ede(const uint8_t *key16, const uint8_t in[8], uint8_t out[8])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t k24[24];
	int n = 0;

	memcpy(k24, key16, 16);
	memcpy(k24 + 16, key16, 8);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_des_ede3_ecb(), NULL, k24,
	    NULL), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, 8), 1);
	EVP_CIPHER_CTX_free(c);
}

/* single DES as EDE with K1 = K2 */
static void
des1(const uint8_t k8[8], const uint8_t in[8], uint8_t out[8])
{
	uint8_t k16[16];

	memcpy(k16, k8, 8);
	memcpy(k16 + 8, k8, 8);
	ede(k16, in, out);
}

/* SM4-ECB of one block */
static void
sm4(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	assert_int_equal(EVP_EncryptInit_ex(c, EVP_sm4_ecb(), NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, 16), 1);
	EVP_CIPHER_CTX_free(c);
}

/* ISO 9797-1 MAC algorithm 1, padding 2, left 4 bytes, with the block
 * cipher enc of bs-byte blocks under k (single DES or SM4) */
static void
mac4_with(void (*enc)(const uint8_t *, const uint8_t *, uint8_t *),
    size_t bs, const uint8_t *k, const uint8_t *d, size_t n, uint8_t out[4])
{
	uint8_t buf[64] = { 0 }, x[16] = { 0 };
	size_t m = n + 1;

	assert_true(n < sizeof(buf) - bs && bs <= sizeof(x));
	memcpy(buf, d, n);
	buf[n] = 0x80;
	while (m % bs != 0)
		m++;
	for (size_t i = 0; i < m; i += bs) {
		for (size_t j = 0; j < bs; j++)
			x[j] ^= buf[i + j];
		enc(k, x, x);
	}
	memcpy(out, x, 4);
}

/* with single DES, an 8-byte key */
static void
mac4(const uint8_t k8[8], const uint8_t *d, size_t n, uint8_t out[4])
{
	mac4_with(des1, 8, k8, d, n, out);
}

/* with SM4, a 16-byte key */
static void
mac4_sm4(const uint8_t k[16], const uint8_t *d, size_t n, uint8_t out[4])
{
	mac4_with(sm4, 16, k, d, n, out);
}

/* the session key's input: rnd (4) | seq (2) | ts[2..3] */
static void
session_input(const uint8_t rnd[4], uint16_t seq, uint32_t ts, uint8_t in[8])
{
	memcpy(in, rnd, 4);
	in[4] = (uint8_t)(seq >> 8);
	in[5] = (uint8_t)seq;
	in[6] = (uint8_t)(ts >> 8);
	in[7] = (uint8_t)ts;
}

/* MAC1's input: amount (4) | type (1) | terminal (6) | date and time (7);
 * MAC2's is its first 4 bytes */
static void
mac_input(uint32_t amount, uint8_t type, const uint8_t dt[7], uint8_t d[18])
{
	d[0] = (uint8_t)(amount >> 24);
	d[1] = (uint8_t)(amount >> 16);
	d[2] = (uint8_t)(amount >> 8);
	d[3] = (uint8_t)amount;
	d[4] = type;
	memcpy(d + 5, TERM, 6);
	memcpy(d + 11, dt, 7);
}

/* SM4: DK = SM4(MK, f || NOT f); SESPK = SM4(DK, rnd seq ts[2..3] 80 0..) */
static void
expected_sm4(const uint8_t mk[16], const uint8_t serial[8],
    const uint8_t rnd[4], uint16_t seq, uint32_t ts, uint32_t amount,
    uint8_t type, const uint8_t dt[7], uint8_t mac1[4], uint8_t mac2[4])
{
	uint8_t in[16] = { 0 }, dk[16], sk[16], d[18];

	memcpy(in, serial, 8);
	for (int i = 0; i < 8; i++)
		in[8 + i] = (uint8_t)~serial[i];
	sm4(mk, in, dk);
	memset(in, 0, sizeof(in));
	session_input(rnd, seq, ts, in);
	in[8] = 0x80;
	sm4(dk, in, sk);
	mac_input(amount, type, dt, d);
	mac4_sm4(sk, d, 18, mac1);
	mac4_sm4(sk, d, 4, mac2);
}

/* DK = 3DES(MK, f) || 3DES(MK, NOT f); SESPK = 3DES(DK, rnd seq ts[2..3]) */
static void
expected(const uint8_t mk[16], const uint8_t serial[8], const uint8_t rnd[4],
    uint16_t seq, uint32_t ts, uint32_t amount, uint8_t type,
    const uint8_t dt[7], uint8_t mac1[4], uint8_t mac2[4])
{
	uint8_t nf[8], dk[16], in[8], sk[8], d[18];

	for (int i = 0; i < 8; i++)
		nf[i] = (uint8_t)~serial[i];
	ede(mk, serial, dk);
	ede(mk, nf, dk + 8);
	session_input(rnd, seq, ts, in);
	ede(dk, in, sk);
	mac_input(amount, type, dt, d);
	mac4(sk, d, 18, mac1);
	mac4(sk, d, 4, mac2);
}

/* ---- fixtures ---- */

static void
open_card(tcard *t, bool init)
{
	vc_card_opts o = { .init = init, .applets = applets, .n_applets = 1 };

	if (init)
		assert_int_equal(vc_store_create(t->path, NULL, &t->st), VC_STORE_OK);
	else
		assert_int_equal(vc_store_open(t->path, NULL, &t->st), VC_STORE_OK);
	assert_int_equal(vc_card_new(t->st, &o, &t->card), VC_CARD_OK);
}

static void
close_card(tcard *t)
{
	vc_card_free(&t->card);
	vc_store_free(&t->st);
}

static int
setup(void **state)
{
	tcard *t = calloc(1, sizeof(*t));
	size_t n = 0;

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/wk-psam-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/card.db", t->dir);
	open_card(t, true);
	assert_non_null(t->ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	assert_int_equal(EVP_PKEY_get_octet_string_param(t->ca,
	    OSSL_PKEY_PARAM_PUB_KEY, t->anchor, sizeof(t->anchor), &n), 1);
	randombytes_buf(t->dpk, sizeof(t->dpk));
	randombytes_buf(t->dpk4, sizeof(t->dpk4));
	t->algs = 3;
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	tcard *t = *state;
	char cmdline[200];

	close_card(t);
	EVP_PKEY_free(t->ca);
	snprintf(cmdline, sizeof(cmdline), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmdline), 0);
	free(t);
	return 0;
}

static EVP_PKEY *
point_pkey(const uint8_t pt[65])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;
	OSSL_PARAM p[3];

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)"P-256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pt, 65);
	p[2] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* the issuer's psam-keys message (what walletkey-issuer psam-issue makes) */
static size_t
psam_keys(tcard *t, EVP_PKEY *signer, const uint8_t card_id[8],
    const uint8_t term[6], uint8_t keyver, uint8_t *out)
{
	EVP_PKEY *pub = point_pkey(t->point);
	uint8_t keys[64];
	size_t kn = 0;
	wk_msg m;
	wk_buf b;
	size_t n;

	memset(&m, 0, sizeof(m));
	m.type = WK_MSG_PSAM_KEYS;
	memcpy(m.card_id, card_id, 8);
	memcpy(m.terminal_id, term, 6);
	m.key_version = keyver;
	/* entries algorithm(1) master(16), as walletkey-issuer psam-issue */
	if (t->algs & 4) {
		memcpy(keys, t->dpk, 16);
		kn = 16;
	}
	if (t->algs & 2) {
		keys[kn] = 0x04;
		memcpy(keys + kn + 1, t->dpk4, 16);
		kn += 17;
	}
	if (t->algs & 1) {
		keys[kn] = 0x00;
		memcpy(keys + kn + 1, t->dpk, 16);
		kn += 17;
	}
	if (t->algs & 8) {
		keys[kn] = 0x01;
		memcpy(keys + kn + 1, t->dpk, 16);
		kn += 17;
	}
	assert_int_equal(wk_msg_seal_keys(pub, &m, keys, kn), WK_MSG_OK);
	wk_buf_init_heap(&b, WK_MSG_MAX);
	assert_int_equal(wk_msg_sign(&m, signer, &b), WK_MSG_OK);
	memcpy(out, b.p, b.len);
	n = b.len;
	wk_buf_clear(&b);
	EVP_PKEY_free(pub);
	return n;
}

static void
generate(tcard *t)
{
	select_psam(t);
	assert_int_equal(cmd(t, 0x80, 0xE0, 0, 0, t->anchor, 65), 0x9000);
	assert_int_equal(t->rlen, 65);
	memcpy(t->point, t->r, 65);
}

static void
install(tcard *t)
{
	uint8_t msg[WK_MSG_MAX];
	size_t n;

	generate(t);
	n = psam_keys(t, t->ca, vc_store_serial(t->st), TERM, 1, msg);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, msg, n), 0x9000);
}

/* INIT SAM FOR PURCHASE data for one purchase */
static size_t
init_data(uint8_t d[28], const uint8_t serial[8], const uint8_t rnd[4],
    uint16_t seq, uint32_t amount, uint8_t type, const uint8_t dt[7],
    uint8_t keyver)
{
	memcpy(d, rnd, 4);
	d[4] = (uint8_t)(seq >> 8);
	d[5] = (uint8_t)seq;
	d[6] = (uint8_t)(amount >> 24);
	d[7] = (uint8_t)(amount >> 16);
	d[8] = (uint8_t)(amount >> 8);
	d[9] = (uint8_t)amount;
	d[10] = type;
	memcpy(d + 11, dt, 7);
	d[18] = keyver;
	d[19] = 0x00;
	memcpy(d + 20, serial, 8);
	return 28;
}

/* GET INFO: the state; its last byte, which masters it holds */
static uint8_t
info_state(tcard *t)
{
	assert_int_equal(cmd(t, 0x80, 0xCA, 0, 0, NULL, 0), 0x9000);
	assert_int_equal(t->rlen, 78);
	assert_true((t->r[0] == 2) == (t->r[77] != 0));
	return t->r[0];
}

/* ---- tests ---- */

static void
test_empty(void **state)
{
	tcard *t = *state;
	uint8_t d[28], z[8] = { 0 }, dt[7] = { 0x20, 0x26, 0x01, 0x01, 0x12, 0, 0 };
	uint8_t msg[WK_MSG_MAX];

	select_psam(t);
	assert_int_equal(info_state(t), 0);
	init_data(d, z, z, 0, 100, 0x06, dt, 1);
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x6985);
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, z, 4), 0x6985);
	assert_int_equal(cmd(t, 0x00, 0xB0, 0x96, 0, NULL, 0), 0x6A82);
	assert_int_equal(cmd(t, 0x00, 0xB0, 0x95, 0, NULL, 0), 0x9000);
	assert_int_equal(t->rlen, 10);
	assert_memory_equal(t->r + 2, vc_store_serial(t->st), 8);
	/* no key yet: nothing to install */
	memset(t->point, 0, sizeof(t->point));
	{
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		size_t n = 0;

		assert_int_equal(EVP_PKEY_get_octet_string_param(k,
		    OSSL_PKEY_PARAM_PUB_KEY, t->point, 65, &n), 1);
		n = psam_keys(t, t->ca, vc_store_serial(t->st), TERM, 1, msg);
		assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, msg, n), 0x6985);
		EVP_PKEY_free(k);
	}
	/* bad anchors, lengths, parameters, classes */
	memset(d, 0x04, sizeof(d));
	assert_int_equal(cmd(t, 0x80, 0xE0, 0, 0, t->anchor, 64), 0x6700);
	{
		uint8_t bad[65];

		memcpy(bad, t->anchor, 65);
		bad[64] ^= 1;		/* off the curve */
		assert_int_equal(cmd(t, 0x80, 0xE0, 0, 0, bad, 65), 0x6A80);
	}
	assert_int_equal(cmd(t, 0x80, 0xE0, 1, 0, t->anchor, 65), 0x6A86);
	assert_int_equal(cmd(t, 0x84, 0xE0, 0, 0, t->anchor, 65), 0x6E00);
	assert_int_equal(cmd(t, 0x80, 0x99, 0, 0, NULL, 0), 0x6D00);
	assert_int_equal(cmd(t, 0x80, 0xCA, 0, 1, NULL, 0), 0x6A86);
	assert_int_equal(info_state(t), 0);
}

static void
test_provision(void **state)
{
	tcard *t = *state;
	uint8_t msg[WK_MSG_MAX], copy[WK_MSG_MAX], other[8];
	EVP_PKEY *mallory;
	size_t n;

	generate(t);
	assert_int_equal(info_state(t), 1);
	assert_memory_equal(t->r + 12, t->point, 65);
	/* a new key replaces one not yet used */
	generate(t);
	assert_int_equal(info_state(t), 1);
	assert_memory_equal(t->r + 12, t->point, 65);
	n = psam_keys(t, t->ca, vc_store_serial(t->st), TERM, 1, msg);
	/* every flipped byte is refused and changes nothing */
	for (size_t i = 0; i < n; i++) {
		uint16_t sw;

		memcpy(copy, msg, n);
		copy[i] ^= 0x01;
		sw = cmd(t, 0x80, 0xE2, 0, 0, copy, n);
		assert_true(sw == 0x6A80 || sw == 0x6982);
		assert_int_equal(info_state(t), 1);
	}
	/* signed by another key; for another card */
	assert_non_null(mallory = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	n = psam_keys(t, mallory, vc_store_serial(t->st), TERM, 1, copy);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, copy, n), 0x6982);
	memcpy(other, vc_store_serial(t->st), 8);
	other[7] ^= 1;
	n = psam_keys(t, t->ca, other, TERM, 1, copy);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, copy, n), 0x6982);
	/* a personalisation is not a psam-keys message */
	{
		wk_msg m;
		wk_buf b;

		memset(&m, 0, sizeof(m));
		m.type = WK_MSG_PERSO;
		memcpy(m.card_id, vc_store_serial(t->st), 8);
		m.key_version = 1;
		{
			EVP_PKEY *pub = point_pkey(t->point);

			assert_int_equal(wk_msg_seal_keys(pub, &m, t->dpk, 16), 0);
			EVP_PKEY_free(pub);
		}
		wk_buf_init_heap(&b, WK_MSG_MAX);
		assert_int_equal(wk_msg_sign(&m, t->ca, &b), 0);
		assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, b.p, b.len), 0x6A80);
		wk_buf_clear(&b);
	}
	assert_int_equal(info_state(t), 1);
	/* the genuine one */
	n = psam_keys(t, t->ca, vc_store_serial(t->st), TERM, 1, msg);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, msg, n), 0x9000);
	assert_int_equal(info_state(t), 2);
	assert_int_equal(t->r[1], 1);
	assert_memory_equal(t->r + 2, TERM, 6);
	assert_int_equal(cmd(t, 0x00, 0xB0, 0x96, 0, NULL, 0), 0x9000);
	assert_int_equal(t->rlen, 6);
	assert_memory_equal(t->r, TERM, 6);
	/* the same again; a new key version for the same terminal; never
	 * another terminal, never a new key once installed */
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, msg, n), 0x9000);
	n = psam_keys(t, t->ca, vc_store_serial(t->st), TERM, 2, msg);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, msg, n), 0x9000);
	assert_int_equal(info_state(t), 2);
	assert_int_equal(t->r[1], 2);
	{
		uint8_t term2[6] = { 0, 0, 0, 0, 0, 0x43 };

		n = psam_keys(t, t->ca, vc_store_serial(t->st), term2, 2, copy);
		assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, copy, n), 0x6985);
	}
	assert_int_equal(cmd(t, 0x80, 0xE0, 0, 0, t->anchor, 65), 0x6985);
	assert_int_equal(info_state(t), 2);
	assert_memory_equal(t->r + 2, TERM, 6);
	EVP_PKEY_free(mallory);
}

/* CREDIT SAM FOR PURCHASE P1 01 data: MAC2 and the session */
static void
credit_session(uint8_t *cs, const uint8_t mac2[4], const uint8_t serial[8],
    const uint8_t rnd[4], uint16_t seq, uint32_t ts, uint32_t amount)
{
	uint8_t m[4];

	memcpy(m, mac2, 4);
	memcpy(cs, m, 4);
	memcpy(cs + 4, serial, 8);
	memcpy(cs + 12, rnd, 4);
	cs[16] = (uint8_t)(seq >> 8);
	cs[17] = (uint8_t)seq;
	cs[18] = (uint8_t)(ts >> 24);
	cs[19] = (uint8_t)(ts >> 16);
	cs[20] = (uint8_t)(ts >> 8);
	cs[21] = (uint8_t)ts;
	cs[22] = (uint8_t)(amount >> 24);
	cs[23] = (uint8_t)(amount >> 16);
	cs[24] = (uint8_t)(amount >> 8);
	cs[25] = (uint8_t)amount;
}

static void
test_purchase(void **state)
{
	tcard *t = *state;
	uint8_t d[28], serial[8] = { 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x90,
	    0x12 }, rnd[4] = { 0xCA, 0xFE, 0xBA, 0xBE }, mac1[4], mac2[4],
	    dt[7] = { 0x20, 0x26, 0x11, 0x22, 0x10, 0x15, 0x30 };

	install(t);
	/* the first purchase gets terminal number 1; MAC1 as computed here */
	init_data(d, serial, rnd, 7, 1230, 0x06, dt, 1);
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9000);
	assert_int_equal(t->rlen, 8);
	expected(t->dpk, serial, rnd, 7, 1, 1230, 0x06, dt, mac1, mac2);
	assert_memory_equal(t->r, "\x00\x00\x00\x01", 4);
	assert_memory_equal(t->r + 4, mac1, 4);
	/* MAC2 of that session: right (again and again), wrong */
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 4), 0x9000);
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 4), 0x9000);
	mac2[0] ^= 1;
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 4), 0x9302);
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 3), 0x6700);
	/* the next purchase: number 2, ED */
	init_data(d, serial, rnd, 8, 5, 0x05, dt, 2);
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9403);
	init_data(d, serial, rnd, 8, 5, 0x05, dt, 1);
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9000);
	expected(t->dpk, serial, rnd, 8, 2, 5, 0x05, dt, mac1, mac2);
	assert_memory_equal(t->r, "\x00\x00\x00\x02", 4);
	assert_memory_equal(t->r + 4, mac1, 4);
	/* refusals change nothing (the counter stays at 2) */
	init_data(d, serial, rnd, 8, 5, 0x02, dt, 1);	/* a load */
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x6A80);
	init_data(d, serial, rnd, 8, 5, 0x06, dt, 1);
	d[19] = 0x01;					/* algorithm */
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9403);
	d[19] = 0x00;
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 27), 0x6700);
	{
		uint8_t d36[36];

		memcpy(d36, d, 28);
		memset(d36 + 28, 0, 8);
		assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d36, 36), 0x6700);
	}
	assert_int_equal(cmd(t, 0x80, 0x70, 1, 0, d, 28), 0x6A86);
	assert_int_equal(cmd(t, 0x00, 0x70, 0, 0, d, 28), 0x6D00);
	assert_int_equal(info_state(t), 2);
	assert_memory_equal(t->r + 8, "\x00\x00\x00\x02", 4);
	/* the last session is still there */
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 4), 0x9000);

	/* the session restated (P1 01): right, wrong, a number never given
	 * out, bad lengths */
	{
		uint8_t cs[26];

		credit_session(cs, mac2, serial, rnd, 8, 2, 5);
		assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 26), 0x9000);
		cs[0] ^= 1;
		assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 26), 0x9302);
		credit_session(cs, mac2, serial, rnd, 8, 3, 5);
		assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 26), 0x6A80);
		credit_session(cs, mac2, serial, rnd, 8, 0, 5);
		assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 26), 0x6A80);
		assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 25), 0x6700);
		assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, mac2, 4), 0x6700);
		assert_int_equal(cmd(t, 0x80, 0x72, 2, 0, cs, 26), 0x6A86);
		/* the first purchase's session, though not the last one */
		expected(t->dpk, serial, rnd, 7, 1, 1230, 0x06, dt, mac1, cs);
		credit_session(cs, cs, serial, rnd, 7, 1, 1230);
		assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 26), 0x9000);
	}
	/* the numbers are reserved a block at a time: one commit for many */
	{
		uint64_t ctr = 0;

		assert_int_equal(vc_store_get_u64(t->st, "psam", "ctr", &ctr),
		    VC_STORE_OK);
		assert_int_equal(ctr, 100);
	}

	/* kill and restart: the rest of the block is skipped, no number is
	 * given twice; the last session is gone from RAM, the terminal
	 * restates it */
	close_card(t);
	open_card(t, false);
	select_psam(t);
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 4), 0x6985);
	{
		uint8_t cs[26];

		expected(t->dpk, serial, rnd, 8, 2, 5, 0x05, dt, mac1, mac2);
		credit_session(cs, mac2, serial, rnd, 8, 2, 5);
		assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 26), 0x9000);
	}
	assert_int_equal(info_state(t), 2);
	assert_memory_equal(t->r + 8, "\x00\x00\x00\x64", 4);
	init_data(d, serial, rnd, 9, 1, 0x06, dt, 1);
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9000);
	assert_memory_equal(t->r, "\x00\x00\x00\x65", 4);
	expected(t->dpk, serial, rnd, 9, 101, 1, 0x06, dt, mac1, mac2);
	assert_memory_equal(t->r + 4, mac1, 4);
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 4), 0x9000);
	/* the last number */
	close_card(t);
	open_card(t, false);
	assert_int_equal(vc_store_put_u64(t->st, "psam", "ctr", 0xFFFFFFFEu),
	    VC_STORE_OK);
	close_card(t);
	open_card(t, false);
	select_psam(t);
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9000);
	assert_memory_equal(t->r, "\xFF\xFF\xFF\xFF", 4);
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9402);
	close_card(t);
	open_card(t, false);
	select_psam(t);
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9402);
}

/* runs of purchases of every length around the block, each ended by a
 * restart (the RAM lost as by kill -9: the applet writes nothing when it
 * closes): the next number is always above every number an answer
 * carried. The real kill -9 is tests/e2e/purse_counter_crash.sh */
static void
test_counter_crash(void **state)
{
	tcard *t = *state;
	uint8_t d[28], serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, rnd[4] = { 0 },
	    dt[7] = { 0x20, 0x26, 0x11, 0x22, 0x10, 0x15, 0x30 };
	uint32_t seen = 0;

	install(t);
	init_data(d, serial, rnd, 0, 1, 0x06, dt, 1);
	for (int round = 0; round < 12; round++) {
		int n = 1 + (round * 37) % 150;

		for (int i = 0; i < n; i++) {
			uint32_t got;

			assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9000);
			got = (uint32_t)t->r[0] << 24 | (uint32_t)t->r[1] << 16 |
			    (uint32_t)t->r[2] << 8 | t->r[3];
			assert_true(got > seen);
			seen = got;
		}
		close_card(t);		/* RAM gone, as with kill -9 */
		open_card(t, false);
		select_psam(t);
	}
}

/* docs/purse.md "SM4": a card whose DPK is SM4 gets its MAC1 and MAC2
 * from the SM4 master; a PSAM without one answers 9403 and uses no number;
 * a psam-keys message with a bad entry list is refused */
static void
test_purchase_sm4(void **state)
{
	tcard *t = *state;
	uint8_t d[28], serial[8] = { 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x90,
	    0x12 }, rnd[4] = { 0xCA, 0xFE, 0xBA, 0xBE }, mac1[4], mac2[4],
	    m3[4], m4[4], dt[7] = { 0x20, 0x26, 0x11, 0x22, 0x10, 0x15, 0x30 };
	uint8_t msg[WK_MSG_MAX], cs[28] = { 0 };
	size_t n;

	generate(t);
	/* not an entry list: a bare key (the form before SM4), an id the
	 * purse does not know, the same algorithm twice */
	for (int i = 0; i < 3; i++) {
		t->algs = i == 0 ? 4 : i == 1 ? 8 | 1 : 1;
		n = psam_keys(t, t->ca, vc_store_serial(t->st), TERM, 1, msg);
		if (i == 2) {
			/* a second 3DES entry after the first */
			EVP_PKEY *pub = point_pkey(t->point);
			uint8_t keys[34];
			wk_msg m;
			wk_buf b;

			keys[0] = 0x00;
			memcpy(keys + 1, t->dpk, 16);
			keys[17] = 0x00;
			memcpy(keys + 18, t->dpk4, 16);
			memset(&m, 0, sizeof(m));
			m.type = WK_MSG_PSAM_KEYS;
			memcpy(m.card_id, vc_store_serial(t->st), 8);
			memcpy(m.terminal_id, TERM, 6);
			m.key_version = 1;
			assert_int_equal(wk_msg_seal_keys(pub, &m, keys, 34), 0);
			wk_buf_init_heap(&b, WK_MSG_MAX);
			assert_int_equal(wk_msg_sign(&m, t->ca, &b), 0);
			memcpy(msg, b.p, b.len);
			n = b.len;
			wk_buf_clear(&b);
			EVP_PKEY_free(pub);
		}
		assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, msg, n), 0x6A80);
		assert_int_equal(info_state(t), 1);
	}
	/* the SM4 master alone */
	t->algs = 2;
	n = psam_keys(t, t->ca, vc_store_serial(t->st), TERM, 1, msg);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, msg, n), 0x9000);
	assert_int_equal(info_state(t), 2);
	assert_int_equal(t->r[77], 0x02);
	init_data(d, serial, rnd, 7, 1230, 0x06, dt, 1);
	d[19] = 0x04;
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9000);
	expected_sm4(t->dpk4, serial, rnd, 7, 1, 1230, 0x06, dt, mac1, mac2);
	assert_memory_equal(t->r, "\x00\x00\x00\x01", 4);
	assert_memory_equal(t->r + 4, mac1, 4);
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 4), 0x9000);
	/* a 3DES card: no master for it, no number used */
	d[19] = 0x00;
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9403);
	assert_int_equal(info_state(t), 2);
	assert_memory_equal(t->r + 8, "\x00\x00\x00\x01", 4);
	/* both masters (as the issuer sends them): each card its own */
	t->algs = 3;
	n = psam_keys(t, t->ca, vc_store_serial(t->st), TERM, 1, msg);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, msg, n), 0x9000);
	assert_int_equal(info_state(t), 2);
	assert_int_equal(t->r[77], 0x03);
	init_data(d, serial, rnd, 8, 99, 0x05, dt, 1);
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9000);
	expected(t->dpk, serial, rnd, 8, 2, 99, 0x05, dt, m3, mac2);
	assert_memory_equal(t->r + 4, m3, 4);
	d[19] = 0x04;
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9000);
	expected_sm4(t->dpk4, serial, rnd, 8, 3, 99, 0x05, dt, m4, mac2);
	assert_memory_equal(t->r + 4, m4, 4);
	assert_memory_not_equal(m3, m4, 4);
	/* the last session (RAM) is an SM4 one */
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 4), 0x9000);
	/* restated (P1 01) with the algorithm byte, after a restart too; the
	 * 26-byte form is 3DES and does not check an SM4 session; an
	 * algorithm id the purse does not know is 6A80 */
	credit_session(cs, mac2, serial, rnd, 8, 3, 99);
	cs[26] = 0x04;
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 27), 0x9000);
	close_card(t);
	open_card(t, false);
	select_psam(t);
	assert_int_equal(cmd(t, 0x80, 0x72, 0, 0, mac2, 4), 0x6985);
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 27), 0x9000);
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 26), 0x9302);
	cs[26] = 0x08;
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 27), 0x6A80);
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 28), 0x6700);
	/* the 3DES purchase (number 2) restated in both forms */
	expected(t->dpk, serial, rnd, 8, 2, 99, 0x05, dt, m3, m4);
	credit_session(cs, m4, serial, rnd, 8, 2, 99);
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 26), 0x9000);
	cs[26] = 0x00;
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 27), 0x9000);
	cs[26] = 0x04;
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 27), 0x9302);
	/* the 3DES master alone again: the SM4 one is gone, and a session
	 * with it cannot be checked any more (no MAC answer either way) */
	t->algs = 1;
	n = psam_keys(t, t->ca, vc_store_serial(t->st), TERM, 1, msg);
	assert_int_equal(cmd(t, 0x80, 0xE2, 0, 0, msg, n), 0x9000);
	assert_int_equal(info_state(t), 2);
	assert_int_equal(t->r[77], 0x01);
	credit_session(cs, mac2, serial, rnd, 8, 3, 99);
	cs[26] = 0x04;
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 27), 0x6985);
	cs[0] ^= 1;
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 27), 0x6985);
	d[19] = 0x04;
	assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9403);
	/* the SM4 session in the 3DES form: checked (and refused) under the
	 * 3DES master */
	cs[0] ^= 1;
	assert_int_equal(cmd(t, 0x80, 0x72, 1, 0, cs, 26), 0x9302);
}

/* no answer and no byte of the store file holds the purchase key */
static void
test_no_key_out(void **state)
{
	tcard *t = *state;
	uint8_t d[28], serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, rnd[4] = { 0 },
	    dt[7] = { 0x20, 0x26, 0x11, 0x22, 0x10, 0x15, 0x30 };
	uint8_t *file;
	char p[200];
	FILE *f;
	size_t n;

	install(t);
	init_data(d, serial, rnd, 0, 1, 0x06, dt, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cmd(t, 0x80, 0x70, 0, 0, d, 28), 0x9000);
		assert_null(memmem(t->r, t->rlen, t->dpk, 8));
		assert_null(memmem(t->r, t->rlen, t->dpk4, 8));
	}
	assert_int_equal(cmd(t, 0x80, 0xCA, 0, 0, NULL, 0), 0x9000);
	assert_null(memmem(t->r, t->rlen, t->dpk, 8));
	close_card(t);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, i == 0 ? "" : i == 1 ?
		    "-wal" : "-shm");
		if ((f = fopen(p, "rb")) == NULL)
			continue;
		assert_non_null(file = malloc(1 << 22));
		n = fread(file, 1, 1 << 22, f);
		fclose(f);
		assert_null(memmem(file, n, t->dpk, 8));
		assert_null(memmem(file, n, t->dpk + 8, 8));
		assert_null(memmem(file, n, t->dpk4, 8));
		assert_null(memmem(file, n, t->dpk4 + 8, 8));
		free(file);
	}
	open_card(t, false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_crash, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_purchase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purchase_sm4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_key_out, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
