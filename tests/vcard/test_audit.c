/*
 * the audit log (vcard/applets/audit_log.c) and the audit applet
 * (vcard/applets/audit.c) through the card runtime and a real store: the
 * chain, capacity and refusal, checkpoints after acknowledged drops, the
 * purse refusing a transaction the log could not record, PIN gating, the
 * signed head, sealed pages and every status word; bad input changes nothing.
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
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include "perso_fixture.h"
#include "applets/audit_log.h"
#include "applets/piv_int.h"
#include "applets/piv_wallet.h"
#include "vc_card.h"
#include "vc_perso.h"
#include "vc_store.h"
#include "wk_arec.h"
#include "wk_hex.h"

extern const vc_applet vc_applet_purse;
extern const vc_applet vc_applet_audit;
extern const vc_applet vc_applet_piv;

static const vc_applet *const applets[] = { &vc_applet_piv,
    &vc_applet_purse, &vc_applet_audit };

#define CAP 10

static struct {
	char dir[256], path[300], perso[300];
	vc_store *st;
	vc_card *card;
	uint8_t resp[70000];
	size_t rlen;
} fx;

/*
 * a sealed page opened the way docs/audit.md writes it down, with OpenSSL's
 * HKDF (EVP_KDF) rather than the code under test: eph_pk 32 | nonce 24 |
 * XChaCha20-Poly1305(key, ad = serial), key = HKDF-SHA256(X25519(sk,
 * eph_pk), salt = eph_pk | pk, info = "walletkey-audit-page/1" | serial)
 */
static void
seal_known_answer(const uint8_t pk[32], const uint8_t sk[32],
    const uint8_t serial[8], const uint8_t *sealed, size_t n,
    const uint8_t *want, size_t want_len)
{
	static const char info_label[] = "walletkey-audit-page/1";
	uint8_t shared[32], key[32], salt[64], info[sizeof(info_label) - 1 + 8];
	uint8_t *m;
	unsigned long long mlen = 0;
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[5];

	assert_true(n > WK_AREC_SEAL_OVERHEAD);
	assert_int_equal(crypto_scalarmult(shared, sk, sealed), 0);
	memcpy(salt, sealed, 32);
	memcpy(salt + 32, pk, 32);
	memcpy(info, info_label, sizeof(info_label) - 1);
	memcpy(info + sizeof(info_label) - 1, serial, 8);
	assert_non_null(kdf = EVP_KDF_fetch(NULL, "HKDF", NULL));
	assert_non_null(kctx = EVP_KDF_CTX_new(kdf));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    shared, 32);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    salt, sizeof(salt));
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    info, sizeof(info));
	params[4] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kctx, key, sizeof(key), params), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	assert_non_null(m = malloc(n));
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen,
	    NULL, sealed + 56, n - 56, serial, 8, sealed + 32, key), 0);
	assert_int_equal(mlen, want_len);
	assert_memory_equal(m, want, want_len);
	free(m);
}

static uint16_t
apdu(const char *hexcmd)
{
	uint8_t cmd[4096];
	long n = wk_hex_decode(hexcmd, cmd, sizeof(cmd));

	assert_true(n > 0);
	assert_int_equal(vc_card_apdu(fx.card, cmd, (size_t)n, fx.resp,
	    sizeof(fx.resp), &fx.rlen), VC_CARD_OK);
	assert_true(fx.rlen >= 2);
	fx.rlen -= 2;
	return (uint16_t)(fx.resp[fx.rlen] << 8 | fx.resp[fx.rlen + 1]);
}

static int
setup(void **unused)
{
	const char *tmp = getenv("TMPDIR");
	vc_card_opts o = { .applets = applets, .n_applets = 3, .init = true };

	(void)unused;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "%s/test_audit.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/card.db", fx.dir);
	snprintf(fx.perso, sizeof(fx.perso), "%s/perso.json", fx.dir);
	/* the demo profile (PIN 123456) with a small audit log */
	write_demo_profile(fx.perso, CAP);
	o.perso_path = fx.perso;
	assert_int_equal(vc_store_create(fx.path, NULL, &fx.st), VC_STORE_OK);
	assert_int_equal(vc_card_new(fx.st, &o, &fx.card), VC_CARD_OK);
	return 0;
}

static int
teardown(void **unused)
{
	char cmd[600];

	(void)unused;
	vc_card_free(&fx.card);
	vc_store_free(&fx.st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* one record through the internal API, in its own store transaction */
static int
append(uint32_t amount)
{
	wk_arec r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.type = WK_AREC_EP_PURCHASE;
	r.amount = amount;
	r.balance = 100000 - amount;
	memcpy(r.date, "\x20\x26\x11\x22", 4);
	assert_int_equal(vc_store_begin(fx.st), VC_STORE_OK);
	rc = audit_log_append(fx.card, &r);
	if (rc == AUDIT_LOG_OK)
		assert_int_equal(vc_store_commit(fx.st), VC_STORE_OK);
	else
		vc_store_abort(fx.st);
	return rc;
}

static int
ack(uint64_t seq)
{
	int rc;

	assert_int_equal(vc_store_begin(fx.st), VC_STORE_OK);
	rc = audit_log_ack(fx.card, seq);
	if (rc == AUDIT_LOG_OK)
		assert_int_equal(vc_store_commit(fx.st), VC_STORE_OK);
	else
		vc_store_abort(fx.st);
	return rc;
}

static void
test_chain(void **unused)
{
	audit_state s;
	wk_buf b;
	unsigned n = 0;
	uint64_t first = 0;
	uint8_t h[32], zero[32] = { 0 };
	wk_arec r;

	(void)unused;
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.cap, CAP);
	assert_int_equal(s.head_seq, 0);
	for (uint32_t i = 1; i <= 5; i++)
		assert_int_equal(append(i), AUDIT_LOG_OK);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.head_seq, 5);
	wk_buf_init_heap(&b, 10 * WK_AREC_LEN);
	assert_int_equal(audit_log_read(fx.card, 1, 255, &b, &n, &first),
	    AUDIT_LOG_OK);
	assert_int_equal(n, 5);
	assert_int_equal(first, 1);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(wk_arec_decode(b.p + i * WK_AREC_LEN,
		    WK_AREC_LEN, &r), WK_AREC_OK);
		assert_int_equal(r.seq, i + 1);
		assert_int_equal(r.amount, i + 1);
		assert_memory_equal(r.prev, i == 0 ? zero : h, 32);
		wk_arec_hash(b.p + i * WK_AREC_LEN, h);
	}
	assert_memory_equal(s.head_hash, h, 32);
	/* a page from the middle */
	wk_buf_reset(&b);
	assert_int_equal(audit_log_read(fx.card, 4, 255, &b, &n, &first),
	    AUDIT_LOG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(first, 4);
	wk_buf_clear(&b);
}

static void
test_full_then_checkpoint(void **unused)
{
	audit_state s, s2;
	wk_buf b;
	unsigned n = 0;
	uint64_t first = 0;
	uint8_t rec1[WK_AREC_LEN], h1[32];

	(void)unused;
	for (uint32_t i = 1; i <= CAP; i++)
		assert_int_equal(append(i), AUDIT_LOG_OK);
	assert_int_equal(audit_log_room(fx.card), AUDIT_LOG_FULL);
	memset(&s, 0, sizeof(s));
	memset(&s2, 0, sizeof(s2));
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(append(99), AUDIT_LOG_FULL);
	assert_int_equal(audit_log_state(fx.card, &s2), AUDIT_LOG_OK);
	assert_memory_equal(&s, &s2, sizeof(s));

	/* the purse refuses a transaction the log could not record */
	assert_int_equal(apdu("00a4040008f0574b5055525345"), 0x9000);
	assert_int_equal(apdu("805001020b0100000001000000000001"), 0x6A84);

	/* the issuer acknowledges 3: one record may go, leaving a checkpoint */
	assert_int_equal(ack(CAP + 1), AUDIT_LOG_ERROR);
	assert_int_equal(ack(3), AUDIT_LOG_OK);
	assert_int_equal(ack(2), AUDIT_LOG_OK);	/* never lowers */
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.acked, 3);
	wk_buf_init_heap(&b, 20 * WK_AREC_LEN);
	assert_int_equal(audit_log_read(fx.card, 1, 1, &b, &n, &first),
	    AUDIT_LOG_OK);
	memcpy(rec1, b.p, WK_AREC_LEN);
	wk_arec_hash(rec1, h1);
	assert_int_equal(audit_log_room(fx.card), AUDIT_LOG_OK);
	assert_int_equal(append(11), AUDIT_LOG_OK);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.base_seq, 1);
	assert_memory_equal(s.base_hash, h1, 32);
	assert_int_equal(s.head_seq, CAP + 1);
	wk_buf_reset(&b);
	assert_int_equal(audit_log_read(fx.card, 1, 255, &b, &n, &first),
	    AUDIT_LOG_OK);
	assert_int_equal(first, 2);
	assert_int_equal(n, CAP);
	/* the first kept record links to the checkpoint */
	assert_memory_equal(b.p + 54, h1, 32);
	assert_int_equal(append(12), AUDIT_LOG_OK);
	assert_int_equal(append(13), AUDIT_LOG_OK);
	/* 1..3 acknowledged and dropped: full again */
	assert_int_equal(append(14), AUDIT_LOG_FULL);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.base_seq, 3);
	wk_buf_clear(&b);
}

static void
wallet_key(EVP_PKEY **pub)
{
	piv_key k;

	memset(&k, 0, sizeof(k));
	k.alg = PIV_ALG_ECCP256;
	k.origin = PIV_ORIGIN_GENERATED;
	assert_non_null(k.pkey = piv_key_generate(PIV_ALG_ECCP256));
	assert_int_equal(vc_store_begin(fx.st), VC_STORE_OK);
	assert_int_equal(piv_key_save(NULL, fx.card, PIV_WALLET_SLOT, &k), 0);
	assert_int_equal(vc_store_commit(fx.st), VC_STORE_OK);
	EVP_PKEY_up_ref(k.pkey);
	*pub = k.pkey;
	piv_key_free(&k);
}

#define SELECT "00a4040008f0574b4155444954"
#define VERIFY_OK "0020000003123456"
#define HEAD "80e40000100102030405060708090a0b0c0d0e0f10"

static void
page_cmd(char *out, size_t cap, const uint8_t pk[32], uint64_t cursor,
    unsigned max)
{
	char h[65];

	wk_hex_encode(pk, 32, h);
	snprintf(out, cap, "80e20000000029%s%016llx%02x0000", h,
	    (unsigned long long)cursor, max);
}

static void
test_applet(void **unused)
{
	uint8_t pk[32], sk[32], nonce[16], tbs[WK_AREC_HEAD_TBS_LEN];
	uint8_t st_before[64];
	char cmd[256];
	EVP_PKEY *pub = NULL;
	EVP_MD_CTX *md;
	audit_state s;
	wk_arec_page pg;
	wk_buf pt;
	size_t st_len;

	(void)unused;
	for (uint32_t i = 1; i <= 7; i++)
		assert_int_equal(append(i * 100), AUDIT_LOG_OK);
	crypto_box_keypair(pk, sk);
	assert_int_equal(apdu(SELECT), 0x9000);
	assert_int_equal(apdu("80ca000020"), 0x9000);
	assert_int_equal(fx.rlen, WK_AUDIT_STATUS_LEN);
	assert_int_equal(fx.resp[3], CAP);
	assert_int_equal(fx.resp[7], 7);
	memcpy(st_before, fx.resp, fx.rlen);
	st_len = fx.rlen;

	/* without the PIN */
	page_cmd(cmd, sizeof(cmd), pk, 1, 255);
	assert_int_equal(apdu(cmd), 0x6982);
	assert_int_equal(apdu(HEAD), 0x6982);
	assert_int_equal(apdu("0020000000"), 0x63C3);
	assert_int_equal(apdu("0020000003999999"), 0x63C2);
	assert_int_equal(apdu("0020000000"), 0x63C2);
	assert_int_equal(apdu("00200000021aff"), 0x6A80);	/* not BCD: no try spent */
	assert_int_equal(apdu("002000000112"), 0x6700);
	assert_int_equal(apdu("0020000000"), 0x63C2);
	assert_int_equal(apdu("0020000103123456"), 0x6A88);
	assert_int_equal(apdu(VERIFY_OK), 0x9000);
	assert_int_equal(apdu("0020000000"), 0x9000);

	/* no wallet key yet */
	assert_int_equal(apdu(HEAD), 0x6A88);
	wallet_key(&pub);
	assert_int_equal(apdu(HEAD), 0x9000);
	assert_true(fx.rlen > 80);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_memory_equal(fx.resp + 48, s.head_hash, 32);
	assert_int_equal(fx.resp[47], 7);
	for (int i = 0; i < 16; i++)
		nonce[i] = (uint8_t)(i + 1);
	wk_arec_head_tbs(vc_card_serial(fx.card), 0, s.base_hash, 7,
	    s.head_hash, nonce, tbs);
	assert_non_null(md = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL,
	    pub, NULL), 1);
	assert_int_equal(EVP_DigestVerify(md, fx.resp + 80, fx.rlen - 80, tbs,
	    sizeof(tbs)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);

	/* pages: sealed to pk, resumable from any cursor */
	page_cmd(cmd, sizeof(cmd), pk, 1, 3);
	assert_int_equal(apdu(cmd), 0x9000);
	wk_buf_init_heap(&pt, 70000);
	assert_int_equal(wk_arec_open(pk, sk, vc_card_serial(fx.card), fx.resp,
	    fx.rlen, &pt), WK_AREC_OK);
	assert_int_equal(wk_arec_page_parse(pt.p, pt.len, &pg), WK_AREC_OK);
	assert_int_equal(pg.first_seq, 1);
	assert_int_equal(pg.count, 3);
	assert_int_equal(pg.next_seq, 4);
	assert_true(pg.more);
	/* the seal as docs/audit.md defines it, with OpenSSL's HKDF */
	seal_known_answer(pk, sk, vc_card_serial(fx.card), fx.resp, fx.rlen,
	    pt.p, pt.len);
	/* another key does not open it; a changed byte does not either */
	{
		uint8_t pk2[32], sk2[32];
		wk_buf p2;

		crypto_box_keypair(pk2, sk2);
		wk_buf_init_heap(&p2, 70000);
		assert_int_equal(wk_arec_open(pk2, sk2, vc_card_serial(fx.card),
		    fx.resp, fx.rlen, &p2), WK_AREC_CRYPTO);
		fx.resp[fx.rlen / 2] ^= 1;
		assert_int_equal(wk_arec_open(pk, sk, vc_card_serial(fx.card),
		    fx.resp, fx.rlen, &p2), WK_AREC_CRYPTO);
		assert_int_equal(p2.len, 0);
		wk_buf_clear(&p2);
	}
	page_cmd(cmd, sizeof(cmd), pk, 6, 255);
	assert_int_equal(apdu(cmd), 0x9000);
	wk_buf_reset(&pt);
	assert_int_equal(wk_arec_open(pk, sk, vc_card_serial(fx.card), fx.resp,
	    fx.rlen, &pt), WK_AREC_OK);
	assert_int_equal(wk_arec_page_parse(pt.p, pt.len, &pg), WK_AREC_OK);
	assert_int_equal(pg.first_seq, 6);
	assert_int_equal(pg.count, 2);
	assert_false(pg.more);
	page_cmd(cmd, sizeof(cmd), pk, 8, 255);	/* head + 1: empty, done */
	assert_int_equal(apdu(cmd), 0x9000);
	wk_buf_clear(&pt);

	/* bad input */
	page_cmd(cmd, sizeof(cmd), pk, 9, 255);
	assert_int_equal(apdu(cmd), 0x6A80);
	page_cmd(cmd, sizeof(cmd), pk, 0, 255);
	assert_int_equal(apdu(cmd), 0x6A80);
	page_cmd(cmd, sizeof(cmd), pk, 1, 0);
	assert_int_equal(apdu(cmd), 0x6A80);
	memset(pk, 0, sizeof(pk));	/* low order: no shared secret */
	page_cmd(cmd, sizeof(cmd), pk, 1, 1);
	assert_int_equal(apdu(cmd), 0x6A80);
	assert_int_equal(apdu("80e2000000000801020304050607080000"), 0x6700);
	assert_int_equal(apdu("80e401001001020304050607080910111213141516"), 0x6A86);
	assert_int_equal(apdu("80e400000401020304"), 0x6700);
	assert_int_equal(apdu("00ca000020"), 0x6E00);
	assert_int_equal(apdu("80ca000100"), 0x6A86);
	assert_int_equal(apdu("80ca00000101"), 0x6700);
	assert_int_equal(apdu("80b0000000"), 0x6D00);
	assert_int_equal(apdu("80200000"), 0x6E00);
	/* nothing changed */
	assert_int_equal(apdu("80ca000020"), 0x9000);
	assert_memory_equal(fx.resp, st_before, st_len);

	/* every SELECT drops the PIN */
	assert_int_equal(apdu(SELECT), 0x9000);
	page_cmd(cmd, sizeof(cmd), pk, 1, 1);
	assert_int_equal(apdu(HEAD), 0x6982);
	/* a blocked PIN */
	assert_int_equal(apdu("0020000003999999"), 0x63C2);
	assert_int_equal(apdu("0020000003999999"), 0x63C1);
	assert_int_equal(apdu("0020000003999999"), 0x63C0);
	assert_int_equal(apdu(VERIFY_OK), 0x6983);
	assert_int_equal(apdu(HEAD), 0x6982);
}


/* the issuer's CA key as the wallet's trust anchor (what WALLET SETUP stores) */
static EVP_PKEY *
anchor(void)
{
	uint8_t pt[65];
	size_t l = 0;
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(ca);
	assert_int_equal(EVP_PKEY_get_octet_string_param(ca, "encoded-pub-key",
	    pt, sizeof(pt), &l), 1);
	assert_int_equal(l, 65);
	assert_int_equal(vc_store_begin(fx.st), VC_STORE_OK);
	assert_int_equal(vc_store_put(fx.st, PIV_APPLET, "wallet.anchor", pt, 65),
	    VC_STORE_OK);
	assert_int_equal(vc_store_commit(fx.st), VC_STORE_OK);
	return ca;
}

/* ACKNOWLEDGE for seq with hash, signed by key; the APDU's status word */
static uint16_t
ack_apdu(EVP_PKEY *key, uint64_t seq, const uint8_t hash[32], int flip)
{
	uint8_t tbs[WK_AREC_ACK_TBS_LEN], sig[WK_AREC_SIG_MAX], data[112];
	char hex[2 * sizeof(data) + 16], *o = hex;
	size_t sig_len = 0;

	wk_arec_ack_tbs(vc_card_serial(fx.card), seq, hash, tbs);
	assert_int_equal(wk_arec_sign(key, tbs, sizeof(tbs), sig, sizeof(sig),
	    &sig_len), WK_AREC_OK);
	for (int i = 0; i < 8; i++)
		data[i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(data + 8, hash, 32);
	memcpy(data + 40, sig, sig_len);
	if (flip >= 0)
		data[flip] ^= 0x01;
	o += sprintf(o, "80e60000%02x", (unsigned)(40 + sig_len));
	wk_hex_encode(data, 40 + sig_len, o);
	return apdu(hex);
}

static void
record_hash(uint64_t seq, uint8_t h[32])
{
	uint8_t raw[WK_AREC_LEN];
	unsigned n = 0;
	uint64_t first = 0;
	wk_buf b;

	wk_buf_init_fixed(&b, raw, sizeof(raw));
	assert_int_equal(audit_log_read(fx.card, seq, 1, &b, &n, &first),
	    AUDIT_LOG_OK);
	assert_int_equal(n, 1);
	wk_arec_hash(raw, h);
}

static void
test_ack(void **unused)
{
	uint8_t h3[32], h5[32], zero[32] = { 0 };
	EVP_PKEY *ca, *other;
	audit_state s, s0;

	(void)unused;
	for (uint32_t i = 1; i <= CAP; i++)
		assert_int_equal(append(i), AUDIT_LOG_OK);
	record_hash(3, h3);
	record_hash(5, h5);
	other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(other);
	assert_int_equal(apdu(SELECT), 0x9000);
	/* not enrolled: no anchor to check the issuer's signature with */
	assert_int_equal(ack_apdu(other, 3, h3, -1), 0x6985);
	ca = anchor();
	assert_int_equal(audit_log_state(fx.card, &s0), AUDIT_LOG_OK);
	/* refused, each changing nothing */
	assert_int_equal(ack_apdu(other, 3, h3, -1), 0x6982);	/* another key */
	assert_int_equal(ack_apdu(ca, 3, h3, 3), 0x6982);	/* seq changed */
	assert_int_equal(ack_apdu(ca, 3, h3, 20), 0x6982);	/* hash changed */
	assert_int_equal(ack_apdu(ca, 3, h3, 50), 0x6982);	/* signature */
	assert_int_equal(ack_apdu(ca, 3, h5, -1), 0x6A80);	/* other record */
	assert_int_equal(ack_apdu(ca, CAP + 1, zero, -1), 0x6A80);	/* past head */
	assert_int_equal(ack_apdu(ca, 0, zero, -1), 0x6A80);
	assert_int_equal(apdu("80e6000100"), 0x6A86);
	assert_int_equal(apdu("80e6000008" "0000000000000003"), 0x6700);
	assert_int_equal(apdu("00e6000008" "0000000000000003"), 0x6E00);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.acked, s0.acked);
	assert_int_equal(s.base_seq, s0.base_seq);
	assert_int_equal(s.head_seq, s0.head_seq);
	/* full, nothing acknowledged: refused */
	assert_int_equal(append(99), AUDIT_LOG_FULL);
	/* the issuer's acknowledgement up to 3: no PIN needed */
	assert_int_equal(ack_apdu(ca, 3, h3, -1), 0x9000);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.acked, 3);
	/* again, and an older one: accepted, no change */
	assert_int_equal(ack_apdu(ca, 3, h3, -1), 0x9000);
	record_hash(2, h5);
	assert_int_equal(ack_apdu(ca, 2, h5, -1), 0x9000);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.acked, 3);
	/* now the full log drops the acknowledged records, one at a time */
	for (int i = 0; i < 3; i++)
		assert_int_equal(append(100 + (uint32_t)i), AUDIT_LOG_OK);
	assert_int_equal(append(200), AUDIT_LOG_FULL);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.base_seq, 3);
	assert_memory_equal(s.base_hash, h3, 32);
	/* an acknowledgement of the checkpoint itself: checked against its hash */
	assert_int_equal(ack_apdu(ca, 3, h3, -1), 0x9000);
	assert_int_equal(ack_apdu(ca, 3, zero, -1), 0x6A80);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ca);
}

/* the issuer's signed batch (WKAUDIT-ISS/1) of records with the given
 * event numbers, for serial, signed by key; flip: a byte to change after
 * signing (-1: none) */
static size_t
iss_batch(EVP_PKEY *key, const uint8_t serial[8], const uint64_t *events,
    size_t n, uint8_t type, int flip, uint8_t *out)
{
	size_t len = WK_AREC_ISS_HDR, sl = 0;

	wk_arec_iss_header(serial, (uint16_t)n, out);
	for (size_t i = 0; i < n; i++) {
		wk_arec r;

		memset(&r, 0, sizeof(r));
		r.type = type;
		memcpy(r.date, "\x20\x26\x12\x01", 4);
		memcpy(r.time, "\x09\x30\x00", 3);
		r.amount = 1000 * (uint32_t)(i + 1);
		r.balance = 50000 + r.amount;
		r.src[0] = WK_AREC_ACCT_OUTSIDE;
		r.dst[0] = WK_AREC_ACCT_ACCOUNT;
		wk_arec_iss_set_event(&r, events[i]);
		wk_arec_encode(&r, out + len);
		len += WK_AREC_LEN;
	}
	assert_int_equal(wk_arec_sign(key, out, len, out + len, WK_AREC_SIG_MAX,
	    &sl), WK_AREC_OK);
	len += sl;
	if (flip >= 0)
		out[flip] ^= 0x01;
	return len;
}

static void
same_state(const audit_state *a, const audit_state *b)
{
	assert_int_equal(a->cap, b->cap);
	assert_int_equal(a->base_seq, b->base_seq);
	assert_int_equal(a->head_seq, b->head_seq);
	assert_int_equal(a->acked, b->acked);
	assert_memory_equal(a->base_hash, b->base_hash, WK_AREC_HASH_LEN);
	assert_memory_equal(a->head_hash, b->head_hash, WK_AREC_HASH_LEN);
}

static uint16_t
iss_apdu(const uint8_t *batch, size_t len)
{
	static char hex[2 * 8000 + 32];
	int o;

	assert_true(len < 8000);
	o = sprintf(hex, "80ea000000%04x", (unsigned)len);
	wk_hex_encode(batch, len, hex + o);
	return apdu(hex);
}

static uint64_t
iss_last(void)
{
	assert_int_equal(apdu("80ea010000"), 0x9000);
	assert_int_equal(fx.rlen, 10);
	return (uint64_t)fx.resp[8] << 8 | fx.resp[9];
}

/* the issuer's records: checked with the anchor, for this card, chained as
 * the card's own, each once; everything refused changes nothing */
static void
test_issuer_records(void **unused)
{
	static const uint64_t ev12[] = { 1, 2 }, ev235[] = { 2, 3, 5 };
	static const uint64_t ev9[] = { 9 }, ev_down[] = { 7, 6 };
	uint8_t batch[8000], other_serial[8], raw[WK_AREC_LEN];
	EVP_PKEY *ca, *other;
	audit_state s0, s;
	wk_arec r;
	size_t n;

	(void)unused;
	assert_int_equal(append(10), AUDIT_LOG_OK);
	assert_int_equal(apdu(SELECT), 0x9000);
	other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(other);
	n = iss_batch(other, vc_card_serial(fx.card), ev12, 2,
	    WK_AREC_ISS_DEPOSIT, -1, batch);
	/* not enrolled: no anchor to believe the issuer with */
	assert_int_equal(iss_apdu(batch, n), 0x6985);
	ca = anchor();
	assert_int_equal(audit_log_state(fx.card, &s0), AUDIT_LOG_OK);
	/* forged: another key, a changed byte of a record, of the signature */
	assert_int_equal(iss_apdu(batch, n), 0x6982);
	n = iss_batch(ca, vc_card_serial(fx.card), ev12, 2, WK_AREC_ISS_DEPOSIT,
	    WK_AREC_ISS_HDR + 20, batch);
	assert_int_equal(iss_apdu(batch, n), 0x6982);
	n = iss_batch(ca, vc_card_serial(fx.card), ev12, 2, WK_AREC_ISS_DEPOSIT,
	    (int)(WK_AREC_ISS_HDR + 2 * WK_AREC_LEN + 10), batch);
	assert_int_equal(iss_apdu(batch, n), 0x6982);
	/* the issuer's signature on another card's batch */
	memcpy(other_serial, vc_card_serial(fx.card), 8);
	other_serial[7] ^= 0x55;
	n = iss_batch(ca, other_serial, ev12, 2, WK_AREC_ISS_DEPOSIT, -1, batch);
	assert_int_equal(iss_apdu(batch, n), 0x6A80);
	/* malformed even when signed: a card type passed off as the bank's,
	 * events not ascending, a short command */
	n = iss_batch(ca, vc_card_serial(fx.card), ev12, 2, WK_AREC_EP_LOAD, -1,
	    batch);
	assert_int_equal(iss_apdu(batch, n), 0x6A80);
	n = iss_batch(ca, vc_card_serial(fx.card), ev_down, 2,
	    WK_AREC_ISS_DEPOSIT, -1, batch);
	assert_int_equal(iss_apdu(batch, n), 0x6A80);
	assert_int_equal(apdu("80ea00000003414243"), 0x6700);
	assert_int_equal(apdu("80ea020000"), 0x6A86);
	assert_int_equal(iss_last(), 0);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	same_state(&s, &s0);
	/* the real one: two records chained after the card's own */
	n = iss_batch(ca, vc_card_serial(fx.card), ev12, 2, WK_AREC_ISS_DEPOSIT,
	    -1, batch);
	assert_int_equal(iss_apdu(batch, n), 0x9000);
	assert_int_equal(fx.rlen, 10);
	assert_int_equal(fx.resp[1], 2);
	assert_int_equal(iss_last(), 2);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.head_seq, s0.head_seq + 2);
	{
		uint8_t h[32];
		unsigned cnt = 0;
		uint64_t first = 0;
		wk_buf b;

		record_hash(s0.head_seq, h);
		wk_buf_init_fixed(&b, raw, sizeof(raw));
		assert_int_equal(audit_log_read(fx.card, s0.head_seq + 1, 1, &b,
		    &cnt, &first), AUDIT_LOG_OK);
		assert_int_equal(wk_arec_decode(raw, sizeof(raw), &r), WK_AREC_OK);
		assert_int_equal(r.seq, s0.head_seq + 1);
		assert_memory_equal(r.prev, h, 32);
		assert_true(wk_arec_is_issuer(r.type));
		assert_int_equal(wk_arec_iss_event(&r), 1);
		assert_int_equal(r.amount, 1000);
	}
	/* the same batch replayed, and an overlapping one: only 3 and 5 new */
	assert_int_equal(iss_apdu(batch, n), 0x9000);
	assert_int_equal(fx.resp[1], 0);
	n = iss_batch(ca, vc_card_serial(fx.card), ev235, 3, WK_AREC_ISS_DEPOSIT,
	    -1, batch);
	assert_int_equal(iss_apdu(batch, n), 0x9000);
	assert_int_equal(fx.resp[1], 2);
	assert_int_equal(iss_last(), 5);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	assert_int_equal(s.head_seq, s0.head_seq + 4);
	/* a full log takes none of a batch (all or nothing): 6A84 */
	for (uint64_t i = s.head_seq; i < CAP; i++)
		assert_int_equal(append(1), AUDIT_LOG_OK);
	assert_int_equal(audit_log_state(fx.card, &s0), AUDIT_LOG_OK);
	n = iss_batch(ca, vc_card_serial(fx.card), ev9, 1, WK_AREC_ISS_REVERSAL,
	    -1, batch);
	assert_int_equal(iss_apdu(batch, n), 0x6A84);
	assert_int_equal(iss_last(), 5);
	assert_int_equal(audit_log_state(fx.card, &s), AUDIT_LOG_OK);
	same_state(&s, &s0);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_then_checkpoint, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_applet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issuer_records, setup,
		    teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
