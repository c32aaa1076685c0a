/*
 * the GM applet through the real APDU layer and store (docs/gm.md):
 * every command's good path against OpenSSL computing the same thing on
 * its own (SM2 signatures checked with OpenSSL's SM2 and its own Z value,
 * SM4 against EVP), and the refusals: CLA, P1/P2, lengths, unknown and
 * repeated tags, PINs and their counters across a restart, rights.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "audit_log.h"
#include "piv_harness.h"
#include "vc_card.h"
#include "vc_store.h"
#include "wk_gm.h"
#include "wk_sm2.h"
#include "wk_tlv.h"

extern const vc_applet vc_applet_gm;
static const vc_applet *const gm_list[] = { &vc_applet_gm };

#define PIN "12345678"
#define RESP_MAX 70000

static uint8_t resp[RESP_MAX];
static size_t rlen;

/* one command: header, then TLV fields given as (tag, ptr, len) triples
 * ending with tag 0; raw data instead when tag is -1 */
static uint16_t
cmdv(piv_h *h, uint8_t ins, uint8_t p1, uint8_t p2, va_list ap)
{
	static uint8_t apdu[RESP_MAX];
	uint8_t data[RESP_MAX];
	wk_buf b;
	int tag;
	size_t n = 0;

	wk_buf_init_fixed(&b, data, sizeof(data));
	while ((tag = va_arg(ap, int)) != 0) {
		const void *v = va_arg(ap, const void *);
		size_t len = va_arg(ap, size_t);

		if (tag < 0)
			wk_buf_add(&b, v, len);
		else
			wk_tlv_put(&b, (uint32_t)tag, v, len);
	}
	assert_false(wk_buf_failed(&b));
	apdu[n++] = WK_GM_CLA;
	apdu[n++] = ins;
	apdu[n++] = p1;
	apdu[n++] = p2;
	if (b.len > 0) {
		apdu[n++] = 0;
		apdu[n++] = (uint8_t)(b.len >> 8);
		apdu[n++] = (uint8_t)b.len;
		memcpy(apdu + n, b.p, b.len);
		n += b.len;
		apdu[n++] = 0;
		apdu[n++] = 0;
	} else {
		apdu[n++] = 0;
		apdu[n++] = 0;
		apdu[n++] = 0;
	}
	return ph_txb(h, apdu, n, resp, sizeof(resp), &rlen);
}

static uint16_t
cmd(piv_h *h, uint8_t ins, uint8_t p1, unsigned p2, ...)
{
	va_list ap;
	uint16_t sw;

	/* p2 is unsigned, not uint8_t: va_start's last named parameter must
	 * not be one that undergoes default argument promotion */
	va_start(ap, p2);
	sw = cmdv(h, ins, p1, (uint8_t)p2, ap);
	va_end(ap);
	return sw;
}

#define RAW(p, n) -1, (const void *)(p), (size_t)(n)
#define F(t, p, n) (int)(t), (const void *)(p), (size_t)(n)
#define S(t, str) (int)(t), (const void *)(str), strlen(str)

static piv_h *
card(void)
{
	piv_h *h = ph_new_with(gm_list, 1);

	assert_int_equal(ph_tx(h, "00A4040008F0574B474D534B46", NULL, 0, NULL),
	    0x9000);
	return h;
}

static uint8_t
app_id(piv_h *h, const char *name)
{
	assert_int_equal(cmd(h, WK_GM_INS_APP_OPEN, 0, 0, RAW(name,
	    strlen(name)), 0), 0x9000);
	assert_int_equal(rlen, 1);
	return resp[0];
}

static void
login(piv_h *h, uint8_t app)
{
	assert_int_equal(cmd(h, WK_GM_INS_VERIFY, app, WK_GM_PIN_USER,
	    RAW(PIN, 8), 0), 0x9000);
}

static void
dev_auth(piv_h *h, const uint8_t key[16])
{
	uint8_t chal[16] = { 0 }, ct[16];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n;

	assert_int_equal(ph_tx(h, "8084000008", chal, sizeof(chal), &rlen),
	    0x9000);
	assert_int_equal(rlen, 8);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_sm4_ecb(), NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_EncryptUpdate(c, ct, &n, chal, 16), 1);
	EVP_CIPHER_CTX_free(c);
	assert_int_equal(cmd(h, WK_GM_INS_DEV_AUTH, 0, 0, RAW(ct, 16), 0),
	    0x9000);
}

static void
test_info_and_apps(void **st)
{
	piv_h *h = card();

	(void)st;
	assert_int_equal(cmd(h, WK_GM_INS_INFO, 0, 0, 0), 0x9000);
	assert_int_equal(rlen, WK_GM_INFO_LEN);
	assert_string_equal((const char *)resp + 10, "walletkey");
	assert_int_equal(cmd(h, WK_GM_INS_APP_LIST, 0, 0, 0), 0x9000);
	assert_int_equal(rlen, 2 + strlen(WK_GM_FACTORY_APP));
	assert_memory_equal(resp + 2, WK_GM_FACTORY_APP, resp[1]);
	app_id(h, WK_GM_FACTORY_APP);
	assert_int_equal(cmd(h, WK_GM_INS_APP_OPEN, 0, 0, RAW("nope", 4), 0),
	    0x6A82);
	/* the layer's strictness */
	assert_int_equal(ph_tx(h, "00CA000000", NULL, 0, NULL), 0x6E00);
	assert_int_equal(ph_tx(h, "80CA010000", NULL, 0, NULL), 0x6A86);
	assert_int_equal(ph_tx(h, "80CA00000101", NULL, 0, NULL), 0x6700);
	assert_int_equal(ph_tx(h, "80FF000000", NULL, 0, NULL), 0x6D00);
	/* creating an application takes the device key */
	assert_int_equal(cmd(h, WK_GM_INS_APP_CREATE, 0, 0, S(0x80, "bank"),
	    S(0x81, "87654321"), F(0x83, "\x05", 1), S(0x82, "11223344"),
	    F(0x84, "\x05", 1), F(0x85, "\0\0\0\x10", 4), 0), 0x6982);
	dev_auth(h, (const uint8_t *)WK_GM_FACTORY_DEV_KEY);
	/* unknown tag, repeated tag, bad tries */
	assert_int_equal(cmd(h, WK_GM_INS_APP_CREATE, 0, 0, S(0x80, "bank"),
	    S(0x81, "87654321"), F(0x83, "\x05", 1), S(0x82, "11223344"),
	    F(0x84, "\x05", 1), F(0x85, "\0\0\0\x10", 4), F(0x99, "x", 1), 0),
	    0x6A80);
	assert_int_equal(cmd(h, WK_GM_INS_APP_CREATE, 0, 0, S(0x80, "bank"),
	    S(0x80, "bank"), S(0x81, "87654321"), F(0x83, "\x05", 1),
	    S(0x82, "11223344"), F(0x84, "\x05", 1), F(0x85, "\0\0\0\x10", 4),
	    0), 0x6A80);
	assert_int_equal(cmd(h, WK_GM_INS_APP_CREATE, 0, 0, S(0x80, "bank"),
	    S(0x81, "87654321"), F(0x83, "\x10", 1), S(0x82, "11223344"),
	    F(0x84, "\x05", 1), F(0x85, "\0\0\0\x10", 4), 0), 0x6A80);
	assert_int_equal(cmd(h, WK_GM_INS_APP_CREATE, 0, 0, S(0x80, "bank"),
	    S(0x81, "87654321"), F(0x83, "\x05", 1), S(0x82, "11223344"),
	    F(0x84, "\x05", 1), F(0x85, "\0\0\0\x10", 4), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_APP_CREATE, 0, 0, S(0x80, "bank"),
	    S(0x81, "87654321"), F(0x83, "\x05", 1), S(0x82, "11223344"),
	    F(0x84, "\x05", 1), F(0x85, "\0\0\0\x10", 4), 0), 0x6A89);
	assert_int_equal(cmd(h, WK_GM_INS_PIN_INFO, app_id(h, "bank"), 1, 0),
	    0x9000);
	assert_int_equal(resp[0], 5);
	assert_int_equal(resp[2], 0);	/* not a factory PIN */
	assert_int_equal(cmd(h, WK_GM_INS_APP_DELETE, 0, 0, RAW("bank", 4), 0),
	    0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_APP_OPEN, 0, 0, RAW("bank", 4), 0),
	    0x6A82);
	/* a reset forgets the device authentication */
	ph_reset(h);
	assert_int_equal(ph_tx(h, "00A4040C08F0574B474D534B46", NULL, 0, NULL),
	    0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_SET_LABEL, 0, 0, RAW("x", 1), 0),
	    0x6982);
	/* a wrong answer costs a try; no answer without a challenge */
	assert_int_equal(cmd(h, WK_GM_INS_DEV_AUTH, 0, 0,
	    RAW("0123456789abcdef", 16), 0), 0x6985);
	assert_int_equal(ph_tx(h, "8084000008", NULL, 0, NULL), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_DEV_AUTH, 0, 0,
	    RAW("0123456789abcdef", 16), 0), 0x63C9);
	ph_free(&h);
}

static void
test_pins(void **st)
{
	piv_h *h = card();
	uint8_t app = app_id(h, WK_GM_FACTORY_APP);

	(void)st;
	assert_int_equal(cmd(h, WK_GM_INS_VERIFY, app, 1, 0), 0x63CA);
	assert_int_equal(cmd(h, WK_GM_INS_VERIFY, app, 1, RAW("00000000", 8), 0),
	    0x63C9);
	/* the counter is in the store: a restart keeps it */
	ph_reopen(h);
	assert_int_equal(ph_tx(h, "00A4040C08F0574B474D534B46", NULL, 0, NULL),
	    0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PIN_INFO, app, 1, 0), 0x9000);
	assert_int_equal(resp[0], 10);
	assert_int_equal(resp[1], 9);
	assert_int_equal(resp[2], 1);
	/* too short or too long: refused before any try */
	assert_int_equal(cmd(h, WK_GM_INS_VERIFY, app, 1, RAW("12345", 5), 0),
	    0x6700);
	assert_int_equal(cmd(h, WK_GM_INS_VERIFY, app, 2, RAW(PIN, 8), 0),
	    0x6A86);
	assert_int_equal(cmd(h, WK_GM_INS_VERIFY, 0x77, 1, RAW(PIN, 8), 0),
	    0x6A88);
	login(h, app);
	assert_int_equal(cmd(h, WK_GM_INS_PIN_INFO, app, 1, 0), 0x9000);
	assert_int_equal(resp[1], 10);
	/* block the user PIN, unblock it with the admin PIN */
	for (int i = 9; i >= 0; i--)
		assert_int_equal(cmd(h, WK_GM_INS_VERIFY, app, 1,
		    RAW("00000000", 8), 0), 0x63C0 | i);
	assert_int_equal(cmd(h, WK_GM_INS_VERIFY, app, 1, RAW(PIN, 8), 0),
	    0x6983);
	assert_int_equal(cmd(h, WK_GM_INS_UNBLOCK, app, 1, S(0x81, "99999999"),
	    S(0x82, "13572468"), 0), 0x63C9);
	assert_int_equal(cmd(h, WK_GM_INS_UNBLOCK, app, 1, S(0x81, PIN),
	    S(0x82, "13572468"), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_VERIFY, app, 1, RAW("13572468", 8), 0),
	    0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_CHANGE_PIN, app, 1, S(0x81, "13572468"),
	    S(0x82, "24681357"), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PIN_INFO, app, 1, 0), 0x9000);
	assert_int_equal(resp[2], 0);
	assert_int_equal(cmd(h, WK_GM_INS_LOGOUT, app, 0, 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_VERIFY, app, 1, 0), 0x63CA);
	ph_free(&h);
}

static void
test_files(void **st)
{
	piv_h *h = card();
	uint8_t app = app_id(h, WK_GM_FACTORY_APP);
	static const uint8_t sz[4] = { 0, 0, 0, 100 }, any[4] = { 0, 0, 0, 0xFF },
	    user[4] = { 0, 0, 0, 0x10 }, off[4] = { 0, 0, 0, 10 },
	    n20[4] = { 0, 0, 0, 20 };

	(void)st;
	/* the factory application wants the user PIN to create files */
	assert_int_equal(cmd(h, WK_GM_INS_FILE_CREATE, app, 0, S(0x80, "f1"),
	    F(0x87, sz, 4), F(0x85, any, 4), F(0x86, user, 4), 0), 0x6982);
	login(h, app);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_CREATE, app, 0, S(0x80, "f1"),
	    F(0x87, sz, 4), F(0x85, any, 4), F(0x86, user, 4), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_CREATE, app, 0, S(0x80, "f1"),
	    F(0x87, sz, 4), F(0x85, any, 4), F(0x86, user, 4), 0), 0x6A89);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_WRITE, app, 0, S(0x80, "f1"),
	    F(0x88, off, 4), S(0x89, "hello"), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_READ, app, 0, S(0x80, "f1"),
	    F(0x88, off, 4), F(0x87, n20, 4), 0), 0x9000);
	assert_int_equal(rlen, 20);
	assert_memory_equal(resp, "hello", 5);
	/* past the end */
	assert_int_equal(cmd(h, WK_GM_INS_FILE_WRITE, app, 0, S(0x80, "f1"),
	    F(0x88, "\0\0\0\x60", 4), S(0x89, "hello"), 0), 0x6A84);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_INFO, app, 0, RAW("f1", 2), 0),
	    0x9000);
	assert_int_equal(rlen, 12);
	/* write takes the user PIN, read does not */
	assert_int_equal(cmd(h, WK_GM_INS_LOGOUT, app, 0, 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_WRITE, app, 0, S(0x80, "f1"),
	    F(0x88, off, 4), S(0x89, "x"), 0), 0x6982);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_READ, app, 0, S(0x80, "f1"),
	    F(0x88, off, 4), F(0x87, n20, 4), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_LIST, app, 0, 0), 0x9000);
	assert_int_equal(rlen, 3);
	login(h, app);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_DELETE, app, 0, RAW("f1", 2), 0),
	    0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_FILE_INFO, app, 0, RAW("f1", 2), 0),
	    0x6A82);
	ph_free(&h);
}

/* the card's SM2 signature, verified by OpenSSL with its own Z value */
static void
openssl_verify(const uint8_t pub[64], const char *id, const char *msg,
    const uint8_t sig[64])
{
	EVP_PKEY *k = wk_sm2_key_pub(pub);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);
	uint8_t st[80];
	wk_buf der;

	wk_buf_init_fixed(&der, st, sizeof(st));
	assert_int_equal(wk_sm2_sig_to_der(sig, &der), 0);
	assert_int_equal(EVP_PKEY_CTX_set1_id(pc, id, (int)strlen(id)), 1);
	EVP_MD_CTX_set_pkey_ctx(md, pc);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, k), 1);
	assert_int_equal(EVP_DigestVerify(md, der.p, der.len,
	    (const uint8_t *)msg, strlen(msg)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(k);
}

static void
make_container(piv_h *h, uint8_t app, const char *name)
{
	assert_int_equal(cmd(h, WK_GM_INS_CONT_CREATE, app, 0, RAW(name,
	    strlen(name)), 0), 0x9000);
}

static void
test_sign(void **st)
{
	piv_h *h = card();
	uint8_t app = app_id(h, WK_GM_FACTORY_APP), pub[64], sig[64], e[32];

	(void)st;
	assert_int_equal(cmd(h, WK_GM_INS_CONT_CREATE, app, 0, RAW("c", 1), 0),
	    0x6982);
	login(h, app);
	make_container(h, app, "c");
	assert_int_equal(cmd(h, WK_GM_INS_CONT_CREATE, app, 0, RAW("c", 1), 0),
	    0x6A89);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 1, S(0x80, "c"),
	    S(0x89, "abc"), 0), 0x6A83);
	assert_int_equal(cmd(h, WK_GM_INS_GENERATE, app, 1, RAW("c", 1), 0),
	    0x9000);
	assert_int_equal(rlen, 64);
	memcpy(pub, resp, 64);
	assert_int_equal(cmd(h, WK_GM_INS_PUBLIC_KEY, app, 1, RAW("c", 1), 0),
	    0x9000);
	assert_memory_equal(resp, pub, 64);
	assert_int_equal(cmd(h, WK_GM_INS_CONT_INFO, app, 0, RAW("c", 1), 0),
	    0x9000);
	assert_int_equal(resp[0], 2);
	assert_int_equal(resp[1], 1);
	/* message form with the default id, and with another id */
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 1, S(0x80, "c"),
	    S(0x89, "message"), 0), 0x9000);
	memcpy(sig, resp, 64);
	openssl_verify(pub, WK_SM2_DEFAULT_ID, "message", sig);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 1, S(0x80, "c"),
	    S(0x89, "message"), S(0x8C, "alice@example"), 0), 0x9000);
	openssl_verify(pub, "alice@example", "message", resp);
	/* digest form: e computed outside */
	assert_int_equal(wk_sm2_e(pub, (const uint8_t *)"1234567812345678", 16,
	    (const uint8_t *)"digest", 6, e), 0);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 0, S(0x80, "c"),
	    F(0x89, e, 32), 0), 0x9000);
	openssl_verify(pub, WK_SM2_DEFAULT_ID, "digest", resp);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 0, S(0x80, "c"),
	    F(0x89, e, 31), 0), 0x6A80);
	/* the card verifies too */
	assert_int_equal(cmd(h, WK_GM_INS_EXT_VERIFY, 0, 1, F(0x8B, pub, 64),
	    S(0x89, "message"), F(0x90, sig, 64), 0), 0x9000);
	sig[5] ^= 1;
	assert_int_equal(cmd(h, WK_GM_INS_EXT_VERIFY, 0, 1, F(0x8B, pub, 64),
	    S(0x89, "message"), F(0x90, sig, 64), 0), 0x6300);
	/* a point off the curve */
	pub[10] ^= 1;
	assert_int_equal(cmd(h, WK_GM_INS_EXT_VERIFY, 0, 1, F(0x8B, pub, 64),
	    S(0x89, "message"), F(0x90, sig, 64), 0), 0x6A80);
	/* no PIN, no signature */
	assert_int_equal(cmd(h, WK_GM_INS_LOGOUT, app, 0, 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 1, S(0x80, "c"),
	    S(0x89, "message"), 0), 0x6982);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 1, S(0x80, "zz"),
	    S(0x89, "message"), 0), 0x6A82);
	ph_free(&h);
}

static wk_arec
newest_record(piv_h *h, uint64_t *head)
{
	uint8_t raw[WK_AREC_LEN];
	unsigned n = 0;
	uint64_t first = 0;
	audit_state s;
	wk_arec r;
	wk_buf b;

	assert_int_equal(audit_log_state(ph_card(h), &s), AUDIT_LOG_OK);
	*head = s.head_seq;
	memset(&r, 0, sizeof(r));
	if (s.head_seq == 0)
		return r;
	wk_buf_init_fixed(&b, raw, sizeof(raw));
	assert_int_equal(audit_log_read(ph_card(h), s.head_seq, 1, &b, &n,
	    &first), AUDIT_LOG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(wk_arec_decode(raw, sizeof(raw), &r), WK_AREC_OK);
	return r;
}

/*
 * docs/audit.md "Signatures and decryptions": every SIGN is a record of
 * type 32 in its own commit (the container, the hash of the input, the
 * GM signature count); a refused SIGN writes nothing; a full log refuses
 * (6A84) and changes nothing
 */
static void
test_audit(void **st)
{
	piv_h *h = card();
	uint8_t app = app_id(h, WK_GM_FACTORY_APP), e[32], d[32], before[32],
	    after[32], zero = 0;
	crypto_hash_sha256_state hs;
	uint64_t head, h0;
	wk_arec r;

	(void)st;
	login(h, app);
	make_container(h, app, "c");
	assert_int_equal(cmd(h, WK_GM_INS_GENERATE, app, 1, RAW("c", 1), 0),
	    0x9000);
	(void)newest_record(h, &h0);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 1, S(0x80, "c"),
	    S(0x89, "contract"), 0), 0x9000);
	r = newest_record(h, &head);
	assert_int_equal(head, h0 + 1);
	assert_int_equal(r.type, WK_AREC_GM_SIGN);
	assert_int_equal(r.counter, 1);
	assert_int_equal(r.src[0], WK_AREC_ACCT_GM);
	assert_int_equal(r.src[1], app);
	assert_int_equal(r.src[3], 1);
	assert_int_equal(r.src[4], 1);
	crypto_hash_sha256_init(&hs);
	crypto_hash_sha256_update(&hs, (const uint8_t *)"walletkey", 9);
	crypto_hash_sha256_update(&hs, &zero, 1);
	crypto_hash_sha256_update(&hs, (const uint8_t *)"c", 1);
	crypto_hash_sha256_final(&hs, d);
	assert_memory_equal(r.src + 5, d, 6);
	crypto_hash_sha256(d, (const uint8_t *)"contract", 8);
	assert_int_equal(r.dst[0], WK_AREC_ACCT_DIGEST);
	assert_memory_equal(r.dst + 1, d, 10);
	assert_memory_equal(r.term_id, d + 10, 6);
	assert_int_equal(r.amount, 0);
	assert_int_equal(r.balance, 0);
	assert_true(r.date[0] == 0x20);
	/* the digest form: the hash of e */
	memset(e, 0x5A, sizeof(e));
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 0, S(0x80, "c"),
	    F(0x89, e, 32), 0), 0x9000);
	r = newest_record(h, &head);
	assert_int_equal(head, h0 + 2);
	assert_int_equal(r.counter, 2);
	assert_int_equal(r.src[4], 0);
	crypto_hash_sha256(d, e, sizeof(e));
	assert_memory_equal(r.dst + 1, d, 10);
	/* refused: nothing written, the count unchanged */
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 0, S(0x80, "c"),
	    F(0x89, e, 31), 0), 0x6A80);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 1, S(0x80, "zz"),
	    S(0x89, "x"), 0), 0x6A82);
	(void)newest_record(h, &head);
	assert_int_equal(head, h0 + 2);
	/* a full log (capacity 1, nothing acknowledged): refused, unchanged */
	assert_int_equal(vc_store_begin(vc_card_store(ph_card(h))), VC_STORE_OK);
	assert_int_equal(audit_log_create(ph_card(h), 1), AUDIT_LOG_OK);
	assert_int_equal(vc_store_commit(vc_card_store(ph_card(h))), VC_STORE_OK);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 1, S(0x80, "c"),
	    S(0x89, "one"), 0), 0x9000);
	r = newest_record(h, &head);
	assert_int_equal(head, 1);
	assert_int_equal(r.counter, 3);
	ph_store_digest(h, before);
	assert_int_equal(cmd(h, WK_GM_INS_SIGN, app, 1, S(0x80, "c"),
	    S(0x89, "two"), 0), 0x6A84);
	ph_store_digest(h, after);
	assert_memory_equal(before, after, 32);
	ph_free(&h);
}

static void
sm4(const EVP_CIPHER *c, const uint8_t key[16], const uint8_t *iv, int pad,
    const uint8_t *in, size_t n, uint8_t *out, size_t *on)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int a = 0, b = 0;

	assert_int_equal(EVP_EncryptInit_ex(x, c, NULL, key, iv), 1);
	EVP_CIPHER_CTX_set_padding(x, pad);
	assert_int_equal(EVP_EncryptUpdate(x, out, &a, in, (int)n), 1);
	assert_int_equal(EVP_EncryptFinal_ex(x, out + a, &b), 1);
	*on = (size_t)(a + b);
	EVP_CIPHER_CTX_free(x);
}

static void
test_sessions(void **st)
{
	piv_h *h = card();
	static const uint8_t key[16] = "0123456789abcdef", iv[16] = "fedcba9876543210";
	uint8_t hk[4], hm[4], want[128], data[64];
	size_t wn;
	static const uint8_t cbc[4] = { 0, 0, 4, 2 }, ecb[4] = { 0, 0, 4, 1 };

	(void)st;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(cmd(h, WK_GM_INS_KEY_SET, 0, 0, F(0x8A, cbc, 4),
	    F(0x89, key, 16), 0), 0x9000);
	memcpy(hk, resp, 4);
	assert_int_equal(cmd(h, WK_GM_INS_CIPHER_INIT, 0, 1, F(0x8D, hk, 4),
	    F(0x8E, iv, 16), F(0x8F, "\x01", 1), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 2, F(0x8D, hk, 4),
	    F(0x89, data, 37), 0), 0x9000);
	sm4(EVP_sm4_cbc(), key, iv, 1, data, 37, want, &wn);
	assert_int_equal(rlen, wn);
	assert_memory_equal(resp, want, wn);
	/* a finished operation needs a new init */
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 0, F(0x8D, hk, 4),
	    F(0x89, data, 16), 0), 0x6985);
	/* decrypt in two parts */
	assert_int_equal(cmd(h, WK_GM_INS_CIPHER_INIT, 0, 2, F(0x8D, hk, 4),
	    F(0x8E, iv, 16), F(0x8F, "\x01", 1), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 0, F(0x8D, hk, 4),
	    F(0x89, want, 20), 0), 0x9000);
	assert_int_equal(rlen, 16);
	assert_memory_equal(resp, data, 16);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 1, F(0x8D, hk, 4),
	    F(0x89, want + 20, wn - 20), 0), 0x9000);
	assert_int_equal(rlen, 21);
	assert_memory_equal(resp, data + 16, 21);
	/* no padding: whole blocks only */
	assert_int_equal(cmd(h, WK_GM_INS_CIPHER_INIT, 0, 1, F(0x8D, hk, 4),
	    F(0x8E, iv, 16), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 2, F(0x8D, hk, 4),
	    F(0x89, data, 17), 0), 0x6A80);
	/* MAC: CBC-MAC, the last block */
	assert_int_equal(cmd(h, WK_GM_INS_CIPHER_INIT, 0, 3, F(0x8D, hk, 4),
	    F(0x8E, iv, 16), 0), 0x9000);
	memcpy(hm, resp, 4);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 0, F(0x8D, hm, 4),
	    F(0x89, data, 7), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 1, F(0x8D, hm, 4),
	    F(0x89, data + 7, 41), 0), 0x9000);
	sm4(EVP_sm4_cbc(), key, iv, 0, data, 48, want, &wn);
	assert_int_equal(rlen, 16);
	assert_memory_equal(resp, want + 32, 16);
	assert_int_equal(cmd(h, WK_GM_INS_CLOSE, 0, 0, RAW(hm, 4), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_CLOSE, 0, 0, RAW(hm, 4), 0), 0x6A88);
	/* ECB */
	assert_int_equal(cmd(h, WK_GM_INS_KEY_SET, 0, 0, F(0x8A, ecb, 4),
	    F(0x89, key, 16), 0), 0x9000);
	memcpy(hk, resp, 4);
	assert_int_equal(cmd(h, WK_GM_INS_CIPHER_INIT, 0, 1, F(0x8D, hk, 4), 0),
	    0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 2, F(0x8D, hk, 4),
	    F(0x89, data, 32), 0), 0x9000);
	sm4(EVP_sm4_ecb(), key, NULL, 0, data, 32, want, &wn);
	assert_memory_equal(resp, want, 32);
	/* SM3 */
	assert_int_equal(cmd(h, WK_GM_INS_DIGEST_INIT, 0, 0,
	    F(0x8A, "\0\0\0\x01", 4), 0), 0x9000);
	memcpy(hk, resp, 4);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 2, F(0x8D, hk, 4),
	    S(0x89, "abc"), 0), 0x9000);
	assert_int_equal(rlen, 32);
	/* GB/T 32905 A.1 */
	assert_memory_equal(resp,
	    "\x66\xc7\xf0\xf4\x62\xee\xed\xd9\xd1\xf2\xd4\x6b\xdc\x10\xe4\xe2"
	    "\x41\x67\xc4\x87\x5c\xf2\xf7\xa2\x29\x7d\xa0\x2b\x8f\x4b\xa8\xe0",
	    32);
	/* a reset drops every session object */
	ph_reset(h);
	assert_int_equal(ph_tx(h, "00A4040C08F0574B474D534B46", NULL, 0, NULL),
	    0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_CLOSE, 0, 0, RAW(hk, 4), 0), 0x6A88);
	ph_free(&h);
}

static void
test_encrypt_and_envelope(void **st)
{
	piv_h *h = card();
	uint8_t app = app_id(h, WK_GM_FACTORY_APP), spub[64], epub[64], d[32],
	    sym[16], encd[32], ct[200];
	EVP_PKEY *ek, *sk;
	wk_buf c;
	size_t n;
	static const uint8_t ecb[4] = { 0, 0, 4, 1 }, bits[4] = { 0, 0, 1, 0 };

	(void)st;
	login(h, app);
	make_container(h, app, "c");
	/* no signing key yet: the envelope has nothing to open it */
	assert_int_equal(cmd(h, WK_GM_INS_GENERATE, app, 1, RAW("c", 1), 0),
	    0x9000);
	memcpy(spub, resp, 64);
	/* the envelope, as a CA builds it: d under SM4-ECB, the SM4 key
	 * SM2-encrypted to the container's signing key */
	ek = wk_sm2_generate();
	assert_int_equal(wk_sm2_key_export(ek, epub, d), 0);
	randombytes_buf(sym, sizeof(sym));
	sm4(EVP_sm4_ecb(), sym, NULL, 0, d, 32, encd, &n);
	sk = wk_sm2_key_pub(spub);
	wk_buf_init_fixed(&c, ct, sizeof(ct));
	assert_int_equal(wk_sm2_encrypt(sk, sym, 16, &c), 0);
	assert_int_equal(c.len, 112);
	/* a public key that does not match d is refused */
	epub[63] ^= 1;
	assert_int_equal(cmd(h, WK_GM_INS_IMPORT_KEY, app, 0, S(0x80, "c"),
	    F(0x8A, ecb, 4), F(0x87, bits, 4), F(0x93, encd, 32),
	    F(0x8B, epub, 64), F(0x91, ct, c.len), 0), 0x6A80);
	epub[63] ^= 1;
	assert_int_equal(cmd(h, WK_GM_INS_IMPORT_KEY, app, 0, S(0x80, "c"),
	    F(0x8A, ecb, 4), F(0x87, bits, 4), F(0x93, encd, 32),
	    F(0x8B, epub, 64), F(0x91, ct, c.len), 0), 0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PUBLIC_KEY, app, 0, RAW("c", 1), 0),
	    0x9000);
	assert_memory_equal(resp, epub, 64);
	/* encrypt to it outside, decrypt on the card */
	wk_buf_init_fixed(&c, ct, sizeof(ct));
	assert_int_equal(wk_sm2_encrypt(ek, (const uint8_t *)"secret!", 7, &c), 0);
	assert_int_equal(cmd(h, WK_GM_INS_DECRYPT, app, 0, S(0x80, "c"),
	    F(0x91, ct, c.len), 0), 0x9000);
	assert_int_equal(rlen, 7);
	assert_memory_equal(resp, "secret!", 7);
	ct[100] ^= 1;
	assert_int_equal(cmd(h, WK_GM_INS_DECRYPT, app, 0, S(0x80, "c"),
	    F(0x91, ct, c.len), 0), 0x6A80);
	/* the card encrypts; OpenSSL decrypts its DER form */
	assert_int_equal(cmd(h, WK_GM_INS_EXT_ENCRYPT, 0, 0, F(0x8B, epub, 64),
	    S(0x89, "to the card"), 0), 0x9000);
	wk_buf_init_fixed(&c, ct, sizeof(ct));
	assert_int_equal(wk_sm2_decrypt(ek, resp, rlen, &c), 0);
	assert_int_equal(c.len, 11);
	/* session key import (SKF_ImportSessionKey) */
	wk_buf_init_fixed(&c, ct, sizeof(ct));
	assert_int_equal(wk_sm2_encrypt(ek, sym, 16, &c), 0);
	assert_int_equal(cmd(h, WK_GM_INS_KEY_UNWRAP, app, 0, S(0x80, "c"),
	    F(0x8A, ecb, 4), F(0x91, ct, c.len), 0), 0x9000);
	assert_int_equal(rlen, 4);
	EVP_PKEY_free(ek);
	EVP_PKEY_free(sk);
	sodium_memzero(d, sizeof(d));
	ph_free(&h);
}

static void
test_agreement(void **st)
{
	piv_h *h = card();
	uint8_t app = app_id(h, WK_GM_FACTORY_APP), pa[64], pb[64], ra[64],
	    rb[64], ha[4], hka[4], hkb[4], out1[16], out2[16];
	static const uint8_t ecb[4] = { 0, 0, 4, 1 };

	(void)st;
	login(h, app);
	make_container(h, app, "a");
	make_container(h, app, "b");
	assert_int_equal(cmd(h, WK_GM_INS_AGREE_START, app, 0, S(0x80, "a"),
	    F(0x8A, ecb, 4), S(0x8C, "alice"), 0), 0x6A83);
	assert_int_equal(cmd(h, WK_GM_INS_GENERATE, app, 0, RAW("a", 1), 0),
	    0x9000);
	memcpy(pa, resp, 64);
	assert_int_equal(cmd(h, WK_GM_INS_GENERATE, app, 0, RAW("b", 1), 0),
	    0x9000);
	memcpy(pb, resp, 64);
	assert_int_equal(cmd(h, WK_GM_INS_AGREE_START, app, 0, S(0x80, "a"),
	    F(0x8A, ecb, 4), S(0x8C, "alice"), 0), 0x9000);
	assert_int_equal(rlen, 68);
	memcpy(ha, resp, 4);
	memcpy(ra, resp + 4, 64);
	assert_int_equal(cmd(h, WK_GM_INS_AGREE_RESPOND, app, 0, S(0x80, "b"),
	    F(0x8A, ecb, 4), F(0x8B, pa, 64), F(0x94, ra, 64), S(0x8C, "bob"),
	    S(0x95, "alice"), 0), 0x9000);
	memcpy(hkb, resp, 4);
	memcpy(rb, resp + 4, 64);
	assert_int_equal(cmd(h, WK_GM_INS_AGREE_FINISH, 0, 0, F(0x8D, ha, 4),
	    F(0x8B, pb, 64), F(0x94, rb, 64), S(0x8C, "bob"), 0), 0x9000);
	memcpy(hka, resp, 4);
	assert_int_equal(cmd(h, WK_GM_INS_AGREE_FINISH, 0, 0, F(0x8D, ha, 4),
	    F(0x8B, pb, 64), F(0x94, rb, 64), S(0x8C, "bob"), 0), 0x6985);
	/* both keys encrypt alike */
	assert_int_equal(cmd(h, WK_GM_INS_CIPHER_INIT, 0, 1, F(0x8D, hka, 4), 0),
	    0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 2, F(0x8D, hka, 4),
	    S(0x89, "0123456789abcdef"), 0), 0x9000);
	memcpy(out1, resp, 16);
	assert_int_equal(cmd(h, WK_GM_INS_CIPHER_INIT, 0, 1, F(0x8D, hkb, 4), 0),
	    0x9000);
	assert_int_equal(cmd(h, WK_GM_INS_PROCESS, 0, 2, F(0x8D, hkb, 4),
	    S(0x89, "0123456789abcdef"), 0), 0x9000);
	memcpy(out2, resp, 16);
	assert_memory_equal(out1, out2, 16);
	ph_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_and_apps),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_encrypt_and_envelope),
		cmocka_unit_test(test_agreement),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
