/*
 * common/wk_anon.c: every build, parse, verify, seal and open of the
 * semi-anonymous payment formats (docs/semi-anonymous.md). What encodes
 * decodes to the same fields; every flipped byte, wrong key, truncation and
 * trailing byte is refused with the right code; nothing reads past its input
 * (the buffers handed over are exactly as long as the message).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "wk_anon.h"

#define PAYER "am1-0123456789abcdef"
#define PAYEE "am2-fedcba9876543210"

/* a copy of p on the heap, exactly n bytes: ASan sees a read past it */
static uint8_t *
dup(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n > 0 ? n : 1);

	assert_non_null(q);
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

static void
sample_tx(wk_anon_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	strcpy(tx->payer, PAYER);
	strcpy(tx->payee, PAYEE);
	tx->amount = 1234;
	tx->time = 1790000000;
	tx->counter = 7;
	for (int i = 0; i < WK_ANON_NONCE_LEN; i++)
		tx->nonce[i] = (uint8_t)(0xA0 + i);
}

/* ---- account numbers ---- */

static void
test_account_names(void **unused)
{
	static const char *const good[] = { PAYER, "a-0000000000000000",
	    "abcdefghijklmnop-ffffffffffffffff", "0-0123456789abcdef" };
	static const char *const bad[] = { "", "-0123456789abcdef",
	    "am1-0123456789abcde", "am1-0123456789abcdef0", "AM1-0123456789abcdef",
	    "am1-0123456789ABCDEF", "am1_0123456789abcdef", "am1-0123456789abcdeg",
	    "abcdefghijklmnopq-0123456789abcdef", "am 1-0123456789abcdef",
	    "am1--123456789abcdef", "am1-0123456789abcde-", "am1" };
	char m[WK_ANON_MANAGER_MAX + 1];

	(void)unused;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(wk_anon_account_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(wk_anon_account_ok(bad[i]));
	assert_false(wk_anon_account_ok(NULL));
	assert_int_equal(wk_anon_account_manager(PAYER, m, sizeof(m)), WK_ANON_OK);
	assert_string_equal(m, "am1");
	assert_int_equal(wk_anon_account_manager("abcdefghijklmnop-ffffffffffffffff",
	    m, sizeof(m)), WK_ANON_OK);
	assert_string_equal(m, "abcdefghijklmnop");
	/* too small an output, a malformed account */
	assert_int_equal(wk_anon_account_manager(PAYER, m, 3), WK_ANON_ARG);
	assert_int_equal(wk_anon_account_manager("am1-x", m, sizeof(m)),
	    WK_ANON_MALFORMED);
	assert_true(wk_anon_manager_ok("am1"));
	assert_true(wk_anon_manager_ok("abcdefghijklmnop"));
	assert_false(wk_anon_manager_ok("abcdefghijklmnopq"));
	assert_false(wk_anon_manager_ok(""));
	assert_false(wk_anon_manager_ok("am-1"));
	assert_false(wk_anon_manager_ok("Am1"));
	assert_false(wk_anon_manager_ok(NULL));
}

/* ---- txinfo ---- */

static void
test_tx_roundtrip(void **unused)
{
	uint8_t out[WK_ANON_TXINFO_MAX], *p, id1[32], id2[32];
	wk_anon_tx tx, back;
	size_t n;

	(void)unused;
	sample_tx(&tx);
	assert_int_equal(wk_anon_tx_encode(&tx, out, sizeof(out), &n), WK_ANON_OK);
	assert_int_equal(n, 11 + 1 + strlen(PAYER) + 1 + strlen(PAYEE) + 8 + 8 +
	    8 + 16);
	assert_memory_equal(out, WK_ANON_TX_MAGIC, 11);
	p = dup(out, n);
	assert_int_equal(wk_anon_tx_decode(p, n, &back), WK_ANON_OK);
	assert_string_equal(back.payer, PAYER);
	assert_string_equal(back.payee, PAYEE);
	assert_int_equal(back.amount, 1234);
	assert_int_equal(back.time, 1790000000);
	assert_int_equal(back.counter, 7);
	assert_memory_equal(back.nonce, tx.nonce, 16);
	/* big-endian, as the format says: the amount's last byte is 0xD2 */
	assert_int_equal(p[11 + 1 + strlen(PAYER) + 1 + strlen(PAYEE) + 7], 0xD2);
	/* the txid is SHA-256 of the bytes, and changes with any of them */
	wk_anon_txid(p, n, id1);
	crypto_hash_sha256(id2, p, n);
	assert_memory_equal(id1, id2, 32);
	p[n - 1] ^= 1;
	wk_anon_txid(p, n, id2);
	assert_memory_not_equal(id1, id2, 32);
	free(p);
	/* the longest accounts fit WK_ANON_TXINFO_MAX; one byte less does not */
	strcpy(tx.payer, "abcdefghijklmnop-0123456789abcdef");
	strcpy(tx.payee, "ponmlkjihgfedcba-0123456789abcdef");
	assert_int_equal(wk_anon_tx_encode(&tx, out, sizeof(out), &n), WK_ANON_OK);
	assert_int_equal(wk_anon_tx_decode(out, n, &back), WK_ANON_OK);
	assert_int_equal(wk_anon_tx_encode(&tx, out, n - 1, &n), WK_ANON_ARG);
}

static void
test_tx_encode_refuses(void **unused)
{
	uint8_t out[WK_ANON_TXINFO_MAX];
	wk_anon_tx tx;
	size_t n = 99;

	(void)unused;
	sample_tx(&tx);
	tx.amount = 0;
	assert_int_equal(wk_anon_tx_encode(&tx, out, sizeof(out), &n), WK_ANON_ARG);
	tx.amount = (uint64_t)WK_ANON_AMOUNT_MAX + 1;
	assert_int_equal(wk_anon_tx_encode(&tx, out, sizeof(out), &n), WK_ANON_ARG);
	tx.amount = WK_ANON_AMOUNT_MAX;
	assert_int_equal(wk_anon_tx_encode(&tx, out, sizeof(out), &n), WK_ANON_OK);
	strcpy(tx.payee, "not an account");
	assert_int_equal(wk_anon_tx_encode(&tx, out, sizeof(out), &n), WK_ANON_ARG);
	/* what the decoder refuses the encoder never makes: payer = payee */
	sample_tx(&tx);
	strcpy(tx.payee, PAYER);
	assert_int_equal(wk_anon_tx_encode(&tx, out, sizeof(out), &n), WK_ANON_ARG);
	/* a buffer too small for it */
	sample_tx(&tx);
	assert_int_equal(wk_anon_tx_encode(&tx, out, 20, &n), WK_ANON_ARG);
}

/* patch the n-th byte of a good txinfo; decoding refuses it */
static void
test_tx_decode_refuses(void **unused)
{
	uint8_t good[WK_ANON_TXINFO_MAX], bad[WK_ANON_TXINFO_MAX + 8], *p;
	size_t n, am_at;
	wk_anon_tx tx, back;

	(void)unused;
	sample_tx(&tx);
	assert_int_equal(wk_anon_tx_encode(&tx, good, sizeof(good), &n), WK_ANON_OK);
	/* every truncation, and one byte too many */
	for (size_t i = 0; i < n; i++) {
		p = dup(good, i);
		assert_int_equal(wk_anon_tx_decode(p, i, &back), WK_ANON_MALFORMED);
		free(p);
	}
	memcpy(bad, good, n);
	bad[n] = 0;
	assert_int_equal(wk_anon_tx_decode(bad, n + 1, &back), WK_ANON_MALFORMED);
	/* the magic */
	memcpy(bad, good, n);
	bad[3] ^= 0x20;
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_MALFORMED);
	/* a string length of 0, of more than the account maximum */
	memcpy(bad, good, n);
	bad[11] = 0;
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_MALFORMED);
	bad[11] = WK_ANON_ACCT_MAX + 1;
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_MALFORMED);
	/* a NUL inside an account, a malformed account */
	memcpy(bad, good, n);
	bad[13] = 0;
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_MALFORMED);
	memcpy(bad, good, n);
	bad[12 + 5] = 'X';
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_MALFORMED);
	/* amount 0, over the maximum */
	am_at = 11 + 1 + strlen(PAYER) + 1 + strlen(PAYEE);
	memcpy(bad, good, n);
	memset(bad + am_at, 0, 8);
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_MALFORMED);
	bad[am_at + 3] = 0x80;
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_MALFORMED);
	memset(bad + am_at, 0, 8);
	bad[am_at + 4] = 0x80;
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_MALFORMED);
	memset(bad + am_at, 0, 8);
	memset(bad + am_at + 4, 0xFF, 4);
	bad[am_at + 4] = 0x7F;
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_OK);
	assert_int_equal(back.amount, WK_ANON_AMOUNT_MAX);
	/* a payment to oneself */
	sample_tx(&tx);
	memcpy(bad, good, n);
	memcpy(bad + 12 + strlen(PAYER) + 1, PAYER, strlen(PAYER));
	assert_int_equal(wk_anon_tx_decode(bad, n, &back), WK_ANON_MALFORMED);
	assert_int_equal(wk_anon_tx_decode(NULL, 0, &back), WK_ANON_MALFORMED);
}

/* ---- the request ---- */

static void
test_request(void **unused)
{
	uint8_t tx[WK_ANON_TXINFO_MAX], cred[64], idc[WK_ANON_IDCRED_LEN];
	uint8_t out[WK_ANON_REQ_PLAIN_MAX], *p;
	const uint8_t *a, *b, *c;
	size_t tl, n, la, lc;
	wk_anon_tx t;

	(void)unused;
	sample_tx(&t);
	assert_int_equal(wk_anon_tx_encode(&t, tx, sizeof(tx), &tl), WK_ANON_OK);
	memset(cred, 0xC5, sizeof(cred));
	randombytes_buf(idc, sizeof(idc));
	assert_int_equal(wk_anon_req_encode(tx, tl, cred, idc, sizeof(idc), out,
	    sizeof(out), &n), WK_ANON_OK);
	assert_int_equal(n, 2 + tl + 64 + 2 + WK_ANON_IDCRED_LEN);
	p = dup(out, n);
	assert_int_equal(wk_anon_req_decode(p, n, &a, &la, &b, &c, &lc),
	    WK_ANON_OK);
	assert_int_equal(la, tl);
	assert_memory_equal(a, tx, tl);
	assert_ptr_equal(a, p + 2);
	assert_memory_equal(b, cred, 64);
	assert_int_equal(lc, WK_ANON_IDCRED_LEN);
	assert_memory_equal(c, idc, lc);
	/* every truncation; a trailing byte */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(wk_anon_req_decode(p, i, &a, &la, &b, &c, &lc),
		    WK_ANON_MALFORMED);
	free(p);
	p = malloc(n + 1);
	memcpy(p, out, n);
	p[n] = 0;
	assert_int_equal(wk_anon_req_decode(p, n + 1, &a, &la, &b, &c, &lc),
	    WK_ANON_MALFORMED);
	/* a txinfo length beyond the maximum; an identity credential length
	 * other than the one it has */
	memcpy(p, out, n);
	p[0] = 0x01;
	p[1] = 0x00;
	assert_int_equal(wk_anon_req_decode(p, n, &a, &la, &b, &c, &lc),
	    WK_ANON_MALFORMED);
	memcpy(p, out, n);
	p[2 + tl + 64 + 1] ^= 1;
	assert_int_equal(wk_anon_req_decode(p, n, &a, &la, &b, &c, &lc),
	    WK_ANON_MALFORMED);
	free(p);
	/* the encoder refuses what the decoder would: an identity credential
	 * of another length, a txinfo over the maximum, a small buffer */
	assert_int_equal(wk_anon_req_encode(tx, tl, cred, idc, sizeof(idc) - 1, out,
	    sizeof(out), &n), WK_ANON_ARG);
	assert_int_equal(wk_anon_req_encode(tx, WK_ANON_TXINFO_MAX + 1, cred, idc,
	    sizeof(idc), out, sizeof(out), &n), WK_ANON_ARG);
	assert_int_equal(wk_anon_req_encode(tx, tl, cred, idc, sizeof(idc), out,
	    100, &n), WK_ANON_ARG);
}

/* ---- the business key and the envelope ---- */

static void
keys_x25519(uint8_t pk[32], uint8_t sk[32])
{
	crypto_box_keypair(pk, sk);
}

static void
test_business_key(void **unused)
{
	uint8_t cpk[32], csk[32], mpk[32], msk[32], k1[32], k2[32], k3[32];
	uint8_t zero[32] = { 0 }, opk[32], osk[32];

	(void)unused;
	keys_x25519(cpk, csk);
	keys_x25519(mpk, msk);
	keys_x25519(opk, osk);
	/* the card and the manager agree */
	assert_int_equal(wk_anon_business_key(csk, mpk, cpk, mpk, k1), WK_ANON_OK);
	assert_int_equal(wk_anon_business_key(msk, cpk, cpk, mpk, k2), WK_ANON_OK);
	assert_memory_equal(k1, k2, 32);
	/* the publics are bound in: swapped order, another card's public */
	assert_int_equal(wk_anon_business_key(csk, mpk, mpk, cpk, k3), WK_ANON_OK);
	assert_memory_not_equal(k1, k3, 32);
	assert_int_equal(wk_anon_business_key(csk, mpk, opk, mpk, k3), WK_ANON_OK);
	assert_memory_not_equal(k1, k3, 32);
	/* another manager's key gives another key */
	assert_int_equal(wk_anon_business_key(csk, opk, cpk, opk, k3), WK_ANON_OK);
	assert_memory_not_equal(k1, k3, 32);
	/* a low-order point: no shared secret */
	assert_int_equal(wk_anon_business_key(csk, zero, cpk, zero, k3),
	    WK_ANON_CRYPTO);
}

static void
test_envelope(void **unused)
{
	uint8_t key[32], other[32], nonce[24], plain[300], env[WK_ANON_ENV_MAX];
	uint8_t back[WK_ANON_REQ_PLAIN_MAX], *p;
	char acct[WK_ANON_ACCT_MAX + 1];
	size_t n, pl;
	uint8_t kind;

	(void)unused;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(plain, sizeof(plain));
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_PAY, PAYER, key, nonce, plain,
	    sizeof(plain), env, sizeof(env), &n), WK_ANON_OK);
	assert_int_equal(n, 12 + 1 + 1 + strlen(PAYER) + 24 + sizeof(plain) + 16);
	p = dup(env, n);
	assert_int_equal(wk_anon_env_peek(p, n, &kind, acct, sizeof(acct)),
	    WK_ANON_OK);
	assert_int_equal(kind, WK_ANON_ENV_PAY);
	assert_string_equal(acct, PAYER);
	assert_int_equal(wk_anon_env_open(p, n, key, back, sizeof(back), &pl),
	    WK_ANON_OK);
	assert_int_equal(pl, sizeof(plain));
	assert_memory_equal(back, plain, pl);
	/* the wrong key */
	assert_int_equal(wk_anon_env_open(p, n, other, back, sizeof(back), &pl),
	    WK_ANON_CRYPTO);
	/* every flipped byte: the header is authenticated too. Bytes of the
	 * header that make it malformed are MALFORMED, the rest CRYPTO; an
	 * account changed into another well-formed one does not open */
	for (size_t i = 0; i < n; i++) {
		int rc;

		p[i] ^= 0x01;
		rc = wk_anon_env_open(p, n, key, back, sizeof(back), &pl);
		assert_true(rc == WK_ANON_CRYPTO || rc == WK_ANON_MALFORMED);
		p[i] ^= 0x01;
	}
	/* the kind changed from payment to query: the header is the AAD */
	p[12] = WK_ANON_ENV_QUERY;
	assert_int_equal(wk_anon_env_peek(p, n, &kind, acct, sizeof(acct)),
	    WK_ANON_OK);
	assert_int_equal(wk_anon_env_open(p, n, key, back, sizeof(back), &pl),
	    WK_ANON_CRYPTO);
	p[12] = 3;
	assert_int_equal(wk_anon_env_peek(p, n, &kind, acct, sizeof(acct)),
	    WK_ANON_MALFORMED);
	p[12] = WK_ANON_ENV_PAY;
	/* every truncation: malformed while the header or tag is cut, else
	 * the tag does not verify */
	for (size_t i = 0; i < n; i++) {
		uint8_t *q = dup(p, i);
		int rc = wk_anon_env_open(q, i, key, back, sizeof(back), &pl);

		assert_true(rc == WK_ANON_MALFORMED || rc == WK_ANON_CRYPTO);
		if (i < 12 + 1 + 1 + strlen(PAYER) + 24 + 16)
			assert_int_equal(rc, WK_ANON_MALFORMED);
		free(q);
	}
	/* an output too small for the plain text */
	assert_int_equal(wk_anon_env_open(p, n, key, back, sizeof(plain) - 1, &pl),
	    WK_ANON_MALFORMED);
	/* peek wants room for any account */
	assert_int_equal(wk_anon_env_peek(p, n, &kind, acct, 10), WK_ANON_ARG);
	free(p);
	/* the sealer refuses a bad kind, a bad account, a too long plain text,
	 * a small buffer */
	assert_int_equal(wk_anon_env_seal(3, PAYER, key, nonce, plain,
	    sizeof(plain), env, sizeof(env), &n), WK_ANON_ARG);
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_PAY, "x", key, nonce, plain,
	    sizeof(plain), env, sizeof(env), &n), WK_ANON_ARG);
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_PAY, PAYER, key, nonce, back,
	    WK_ANON_REQ_PLAIN_MAX + 1, env, sizeof(env), &n), WK_ANON_ARG);
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_PAY, PAYER, key, nonce, plain,
	    sizeof(plain), env, 100, &n), WK_ANON_ARG);
	/* an empty plain text seals and opens */
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_QUERY, PAYER, key, nonce,
	    plain, 0, env, sizeof(env), &n), WK_ANON_OK);
	assert_int_equal(wk_anon_env_open(env, n, key, back, sizeof(back), &pl),
	    WK_ANON_OK);
	assert_int_equal(pl, 0);
	/* the largest plain text fits WK_ANON_ENV_MAX with the longest account */
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_PAY,
	    "abcdefghijklmnop-0123456789abcdef", key, nonce, back,
	    WK_ANON_REQ_PLAIN_MAX, env, sizeof(env), &n), WK_ANON_OK);
	assert_true(n <= WK_ANON_ENV_MAX);
}

/* ---- the identity credential ---- */

static void
test_idcred(void **unused)
{
	uint8_t idk_pk[32], idk_sk[64], o_pk[32], o_sk[64];
	uint8_t box_pk[32], box_sk[32], b2_pk[32], b2_sk[32];
	uint8_t txid[32], txid2[32], feat[32], got[32], cred[WK_ANON_IDCRED_LEN];
	uint8_t plain[WK_ANON_IDPLAIN_LEN], forged[WK_ANON_IDCRED_LEN], *p;
	size_t tbs = WK_ANON_IDPLAIN_LEN - 64;

	(void)unused;
	crypto_sign_keypair(idk_pk, idk_sk);
	crypto_sign_keypair(o_pk, o_sk);
	crypto_box_keypair(box_pk, box_sk);
	crypto_box_keypair(b2_pk, b2_sk);
	randombytes_buf(txid, 32);
	randombytes_buf(txid2, 32);
	randombytes_buf(feat, 32);
	assert_int_equal(wk_anon_idcred_seal(txid, feat, idk_sk, box_pk, cred),
	    WK_ANON_OK);
	p = dup(cred, sizeof(cred));
	assert_int_equal(wk_anon_idcred_open(p, sizeof(cred), box_pk, box_sk,
	    idk_pk, txid, got), WK_ANON_OK);
	assert_memory_equal(got, feat, 32);
	/* sealed: the features and the signature are not in the clear */
	for (size_t i = 0; i + 32 <= sizeof(cred); i++)
		assert_memory_not_equal(cred + i, feat, 32);
	/* another authority's key, another identity key, another payment */
	assert_int_equal(wk_anon_idcred_open(p, sizeof(cred), b2_pk, b2_sk, idk_pk,
	    txid, got), WK_ANON_CRYPTO);
	assert_int_equal(wk_anon_idcred_open(p, sizeof(cred), box_pk, box_sk, o_pk,
	    txid, got), WK_ANON_CRYPTO);
	assert_int_equal(wk_anon_idcred_open(p, sizeof(cred), box_pk, box_sk,
	    idk_pk, txid2, got), WK_ANON_CRYPTO);
	/* every flipped byte */
	for (size_t i = 0; i < sizeof(cred); i++) {
		p[i] ^= 0x80;
		assert_int_equal(wk_anon_idcred_open(p, sizeof(cred), box_pk, box_sk,
		    idk_pk, txid, got), WK_ANON_CRYPTO);
		p[i] ^= 0x80;
	}
	free(p);
	/* every other length */
	for (size_t i = 0; i < sizeof(cred) + 2; i++) {
		uint8_t big[WK_ANON_IDCRED_LEN + 2];

		if (i == sizeof(cred))
			continue;
		memcpy(big, cred, sizeof(cred));
		big[sizeof(cred)] = big[sizeof(cred) + 1] = 0;
		p = dup(big, i);
		assert_int_equal(wk_anon_idcred_open(p, i, box_pk, box_sk, idk_pk,
		    txid, got), WK_ANON_MALFORMED);
		free(p);
	}
	/* sealed right but signed over other features than it carries: the
	 * manager (which never sees it) or a host cannot swap the person */
	memcpy(plain, WK_ANON_ID_MAGIC, 11);
	memcpy(plain + 11, txid, 32);
	memcpy(plain + 43, feat, 32);
	crypto_sign_detached(plain + tbs, NULL, plain, tbs, idk_sk);
	plain[43] ^= 1;
	assert_int_equal(crypto_box_seal(forged, plain, sizeof(plain), box_pk), 0);
	assert_int_equal(wk_anon_idcred_open(forged, sizeof(forged), box_pk, box_sk,
	    idk_pk, txid, got), WK_ANON_CRYPTO);
	/* signed by another key */
	plain[43] ^= 1;
	crypto_sign_detached(plain + tbs, NULL, plain, tbs, o_sk);
	assert_int_equal(crypto_box_seal(forged, plain, sizeof(plain), box_pk), 0);
	assert_int_equal(wk_anon_idcred_open(forged, sizeof(forged), box_pk, box_sk,
	    idk_pk, txid, got), WK_ANON_CRYPTO);
	/* another magic, signed as such: malformed */
	memcpy(plain, "WKANON-XX/1", 11);
	crypto_sign_detached(plain + tbs, NULL, plain, tbs, idk_sk);
	assert_int_equal(crypto_box_seal(forged, plain, sizeof(plain), box_pk), 0);
	assert_int_equal(wk_anon_idcred_open(forged, sizeof(forged), box_pk, box_sk,
	    idk_pk, txid, got), WK_ANON_MALFORMED);
	/* a low-order authority key seals nothing */
	memset(b2_pk, 0, 32);
	assert_int_equal(wk_anon_idcred_seal(txid, feat, idk_sk, b2_pk, cred),
	    WK_ANON_CRYPTO);
}

static void
test_features(void **unused)
{
	uint8_t salt[16], salt2[16], a[32], b[32];

	(void)unused;
	memset(salt, 1, 16);
	memset(salt2, 2, 16);
	wk_anon_features(salt, "Zhang Wei", "1101", a);
	wk_anon_features(salt, "Zhang Wei", "1101", b);
	assert_memory_equal(a, b, 32);
	/* salted per person: the same person under another salt differs */
	wk_anon_features(salt2, "Zhang Wei", "1101", b);
	assert_memory_not_equal(a, b, 32);
	/* the separator: moving a character between the fields changes it */
	wk_anon_features(salt, "Zhang Wei1", "101", b);
	assert_memory_not_equal(a, b, 32);
	wk_anon_features(salt, "Zhang Wei", "1102", b);
	assert_memory_not_equal(a, b, 32);
}

/* ---- the authority's result ---- */

static void
sample_result(wk_anon_result *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 32; i++)
		r->txid[i] = (uint8_t)i;
	r->status = WK_ANON_COMMITTED;
	r->amount = 1234;
	r->balance = 98766;
	r->time = 1790000001;
	strcpy(r->reason, "");
}

static void
test_result(void **unused)
{
	uint8_t pk[32], sk[64], opk[32], osk[64], out[WK_ANON_RES_MAX + 8], *p;
	wk_anon_result r, back;
	size_t n;

	(void)unused;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(opk, osk);
	sample_result(&r);
	assert_int_equal(wk_anon_result_sign(&r, sk, out, sizeof(out), &n),
	    WK_ANON_OK);
	assert_int_equal(n, 12 + 32 + 1 + 8 + 8 + 8 + 1 + 64);
	p = dup(out, n);
	assert_int_equal(wk_anon_result_verify(p, n, pk, &back), WK_ANON_OK);
	assert_memory_equal(back.txid, r.txid, 32);
	assert_int_equal(back.status, WK_ANON_COMMITTED);
	assert_int_equal(back.amount, 1234);
	assert_int_equal(back.balance, 98766);
	assert_int_equal(back.time, 1790000001);
	assert_string_equal(back.reason, "");
	/* another key */
	assert_int_equal(wk_anon_result_verify(p, n, opk, &back), WK_ANON_CRYPTO);
	/* every flipped byte; a status flipped to another valid one too */
	for (size_t i = 0; i < n; i++) {
		int rc;

		p[i] ^= 0x02;
		rc = wk_anon_result_verify(p, n, pk, &back);
		assert_true(rc == WK_ANON_CRYPTO || rc == WK_ANON_MALFORMED);
		p[i] ^= 0x02;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *q = dup(p, i);

		assert_int_equal(wk_anon_result_verify(q, i, pk, &back),
		    WK_ANON_MALFORMED);
		free(q);
	}
	free(p);
	/* a refusal with its reason, the longest reason, a negative balance */
	r.status = WK_ANON_REFUSED;
	r.balance = -5;
	memset(r.reason, 'x', WK_ANON_REASON_MAX);
	r.reason[WK_ANON_REASON_MAX] = '\0';
	assert_int_equal(wk_anon_result_sign(&r, sk, out, sizeof(out), &n),
	    WK_ANON_OK);
	assert_true(n <= WK_ANON_RES_MAX);
	assert_int_equal(wk_anon_result_verify(out, n, pk, &back), WK_ANON_OK);
	assert_int_equal(back.status, WK_ANON_REFUSED);
	assert_int_equal(back.balance, -5);
	assert_int_equal(strlen(back.reason), WK_ANON_REASON_MAX);
	assert_string_equal(wk_anon_status_name(back.status), "refused");
	/* decode alone (no key) takes it; a trailing byte does not */
	assert_int_equal(wk_anon_result_decode(out, n, &back), WK_ANON_OK);
	out[n] = 0;
	assert_int_equal(wk_anon_result_decode(out, n + 1, &back),
	    WK_ANON_MALFORMED);
	/* the signer refuses what the parser refuses: a status out of range,
	 * a reason too long or not printable ASCII (a card could never take
	 * such a result and its payment would stay pending for ever) */
	sample_result(&r);
	r.status = 0;
	assert_int_equal(wk_anon_result_sign(&r, sk, out, sizeof(out), &n),
	    WK_ANON_ARG);
	r.status = 4;
	assert_int_equal(wk_anon_result_sign(&r, sk, out, sizeof(out), &n),
	    WK_ANON_ARG);
	sample_result(&r);
	strcpy(r.reason, "payee: line\nbreak");
	assert_int_equal(wk_anon_result_sign(&r, sk, out, sizeof(out), &n),
	    WK_ANON_ARG);
	strcpy(r.reason, "caf\xc3\xa9");
	assert_int_equal(wk_anon_result_sign(&r, sk, out, sizeof(out), &n),
	    WK_ANON_ARG);
	sample_result(&r);
	assert_int_equal(wk_anon_result_sign(&r, sk, out, 50, &n), WK_ANON_ARG);
	/* a result with a status byte out of range, signed as such */
	sample_result(&r);
	assert_int_equal(wk_anon_result_sign(&r, sk, out, sizeof(out), &n),
	    WK_ANON_OK);
	out[44] = 9;
	crypto_sign_detached(out + n - 64, NULL, out, n - 64, sk);
	assert_int_equal(wk_anon_result_verify(out, n, pk, &back),
	    WK_ANON_MALFORMED);
	/* a reason with a control byte, signed as such */
	strcpy(r.reason, "ok");
	assert_int_equal(wk_anon_result_sign(&r, sk, out, sizeof(out), &n),
	    WK_ANON_OK);
	assert_int_equal(out[12 + 32 + 1 + 24], 2);
	out[12 + 32 + 1 + 24 + 1] = 0x07;
	crypto_sign_detached(out + n - 64, NULL, out, n - 64, sk);
	assert_int_equal(wk_anon_result_verify(out, n, pk, &back),
	    WK_ANON_MALFORMED);
	assert_string_equal(wk_anon_status_name(WK_ANON_COMMITTED), "committed");
	assert_string_equal(wk_anon_status_name(WK_ANON_VOID), "void");
	assert_string_equal(wk_anon_status_name(0), "unknown");
}

/* ---- the manager's statement ---- */

static void
test_statement(void **unused)
{
	uint8_t pk[32], sk[64], opk[32], osk[64], bk[32], id[8], out[256], *p;
	uint8_t id2[8], bk2[32];
	char acct[WK_ANON_ACCT_MAX + 1];
	size_t n;

	(void)unused;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(opk, osk);
	randombytes_buf(bk, 32);
	memcpy(id, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(wk_anon_stmt_sign(PAYER, id, bk, sk, out, sizeof(out), &n),
	    WK_ANON_OK);
	assert_int_equal(n, 13 + 1 + strlen(PAYER) + 8 + 32 + 64);
	assert_true(n <= WK_ANON_STMT_MAX);
	p = dup(out, n);
	assert_int_equal(wk_anon_stmt_verify(p, n, pk, acct, sizeof(acct), id2, bk2),
	    WK_ANON_OK);
	assert_string_equal(acct, PAYER);
	assert_memory_equal(id2, id, 8);
	assert_memory_equal(bk2, bk, 32);
	/* parse only (the card: the manager's key is the authority's to check) */
	assert_int_equal(wk_anon_stmt_verify(p, n, NULL, acct, sizeof(acct), id2,
	    bk2), WK_ANON_OK);
	assert_int_equal(wk_anon_stmt_verify(p, n, opk, acct, sizeof(acct), id2,
	    bk2), WK_ANON_CRYPTO);
	for (size_t i = 0; i < n; i++) {
		int rc;

		p[i] ^= 0x10;
		rc = wk_anon_stmt_verify(p, n, pk, acct, sizeof(acct), id2, bk2);
		assert_true(rc == WK_ANON_CRYPTO || rc == WK_ANON_MALFORMED);
		p[i] ^= 0x10;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *q = dup(p, i);

		assert_int_equal(wk_anon_stmt_verify(q, i, pk, acct, sizeof(acct),
		    id2, bk2), WK_ANON_MALFORMED);
		free(q);
	}
	assert_int_equal(wk_anon_stmt_verify(p, n, pk, acct, 10, id2, bk2),
	    WK_ANON_ARG);
	free(p);
	assert_int_equal(wk_anon_stmt_sign("bad", id, bk, sk, out, sizeof(out), &n),
	    WK_ANON_ARG);
	assert_int_equal(wk_anon_stmt_sign(PAYER, id, bk, sk, out, 60, &n),
	    WK_ANON_ARG);
}

/* ---- the query ---- */

static void
test_query(void **unused)
{
	uint8_t nonce[16], back[16], q[WK_ANON_QUERY_LEN], *p;
	uint64_t t;

	(void)unused;
	randombytes_buf(nonce, 16);
	wk_anon_query_encode(0x0102030405060708ULL, nonce, q);
	assert_memory_equal(q, WK_ANON_Q_MAGIC, 10);
	assert_memory_equal(q + 10, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	p = dup(q, sizeof(q));
	assert_int_equal(wk_anon_query_decode(p, sizeof(q), &t, back), WK_ANON_OK);
	assert_true(t == 0x0102030405060708ULL);
	assert_memory_equal(back, nonce, 16);
	for (size_t i = 0; i < sizeof(q); i++) {
		uint8_t *r = dup(p, i);

		assert_int_equal(wk_anon_query_decode(r, i, &t, back),
		    WK_ANON_MALFORMED);
		free(r);
	}
	p[0] ^= 1;
	assert_int_equal(wk_anon_query_decode(p, sizeof(q), &t, back),
	    WK_ANON_MALFORMED);
	free(p);
}

/*
 * the whole payment as the card builds it and the authority checks it:
 * a replayed request keeps its txid (the counter is inside), a new one
 * with the same fields gets another nonce, hence another txid
 */
static void
test_payment_chain(void **unused)
{
	uint8_t otk_pk[32], otk_sk[64], idk_pk[32], idk_sk[64], box_pk[32];
	uint8_t box_sk[32], cpk[32], csk[32], mpk[32], msk[32], ck[32], mk[32];
	uint8_t tx[WK_ANON_TXINFO_MAX], tx2[WK_ANON_TXINFO_MAX], cred[64];
	uint8_t txid[32], txid2[32], feat[32], got[32], idc[WK_ANON_IDCRED_LEN];
	uint8_t req[WK_ANON_REQ_PLAIN_MAX], env[WK_ANON_ENV_MAX], nonce[24];
	uint8_t plain[WK_ANON_REQ_PLAIN_MAX];
	const uint8_t *a, *b, *c;
	size_t tl, tl2, rl, el, pl, la, lc;
	wk_anon_tx t, back;

	(void)unused;
	crypto_sign_keypair(otk_pk, otk_sk);
	crypto_sign_keypair(idk_pk, idk_sk);
	crypto_box_keypair(box_pk, box_sk);
	crypto_box_keypair(cpk, csk);
	crypto_box_keypair(mpk, msk);
	randombytes_buf(feat, 32);
	randombytes_buf(nonce, 24);
	sample_tx(&t);
	assert_int_equal(wk_anon_tx_encode(&t, tx, sizeof(tx), &tl), WK_ANON_OK);
	wk_anon_txid(tx, tl, txid);
	crypto_sign_detached(cred, NULL, tx, tl, otk_sk);
	assert_int_equal(wk_anon_idcred_seal(txid, feat, idk_sk, box_pk, idc),
	    WK_ANON_OK);
	assert_int_equal(wk_anon_req_encode(tx, tl, cred, idc, sizeof(idc), req,
	    sizeof(req), &rl), WK_ANON_OK);
	assert_int_equal(wk_anon_business_key(csk, mpk, cpk, mpk, ck), WK_ANON_OK);
	assert_int_equal(wk_anon_env_seal(WK_ANON_ENV_PAY, PAYER, ck, nonce, req,
	    rl, env, sizeof(env), &el), WK_ANON_OK);
	assert_true(el <= WK_ANON_ENV_MAX);
	/* the manager */
	assert_int_equal(wk_anon_business_key(msk, cpk, cpk, mpk, mk), WK_ANON_OK);
	assert_int_equal(wk_anon_env_open(env, el, mk, plain, sizeof(plain), &pl),
	    WK_ANON_OK);
	assert_int_equal(wk_anon_req_decode(plain, pl, &a, &la, &b, &c, &lc),
	    WK_ANON_OK);
	assert_int_equal(wk_anon_tx_decode(a, la, &back), WK_ANON_OK);
	/* the authority */
	assert_int_equal(crypto_sign_verify_detached(b, a, la, otk_pk), 0);
	assert_int_equal(wk_anon_idcred_open(c, lc, box_pk, box_sk, idk_pk, txid,
	    got), WK_ANON_OK);
	assert_memory_equal(got, feat, 32);
	/* the transaction credential of another account does not verify */
	assert_int_not_equal(crypto_sign_verify_detached(b, a, la, idk_pk), 0);
	/* the same payment again with a new nonce: another txid, and the old
	 * identity credential does not fit it */
	t.nonce[0] ^= 1;
	assert_int_equal(wk_anon_tx_encode(&t, tx2, sizeof(tx2), &tl2), WK_ANON_OK);
	wk_anon_txid(tx2, tl2, txid2);
	assert_memory_not_equal(txid, txid2, 32);
	assert_int_equal(wk_anon_idcred_open(c, lc, box_pk, box_sk, idk_pk, txid2,
	    got), WK_ANON_CRYPTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_names),
		cmocka_unit_test(test_tx_roundtrip),
		cmocka_unit_test(test_tx_encode_refuses),
		cmocka_unit_test(test_tx_decode_refuses),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_business_key),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_idcred),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_result),
		cmocka_unit_test(test_statement),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_payment_chain),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
