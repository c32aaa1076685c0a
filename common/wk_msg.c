#include "wk_msg.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include "wk_payment.h"
#include "wk_tlv.h"

enum {
	F_VERSION = 0x80, F_TYPE = 0x81, F_CARD = 0x82, F_SEQ = 0x83,
	F_NONCE = 0x84, F_AMOUNT = 0x85, F_BALANCE = 0x86, F_KEYVER = 0x87,
	F_ALG = 0x88, F_RANDOM = 0x89, F_TERM = 0x8A, F_MAC1 = 0x8B,
	F_LOAD = 0x8C, F_DATE = 0x8D, F_TIME = 0x8E, F_MAC2 = 0x8F,
	F_TAC = 0x90, F_REASON = 0x91, F_PAN = 0x92, F_TTYPE = 0x93,
	F_POINT = 0x94, F_SEALED = 0x95, F_PEER = 0x96, F_SCOPE = 0x97,
	/* payments: two-byte tags, the one-byte ones left for the rest */
	F_NAME = 0x9F20, F_ORDER = 0x9F21, F_DESC = 0x9F22,
	F_CURRENCY = 0x9F23, F_EXPIRY = 0x9F24, F_DIGEST = 0x9F25,
	F_DECISION = 0x9F26, F_COUNTER = 0x9F27,
};

#define T_MSG 0xE0
#define T_BODY 0xE1
#define T_SIG 0x9E
#define MAX_FIELDS 16

/* the one table: which fields each type carries, in wire order */
static const uint16_t layout[WK_MSG_TYPE_MAX + 1][MAX_FIELDS] = {
	[WK_MSG_LOAD_REQUEST] = { F_CARD, F_NONCE, F_PAN, F_BALANCE, F_AMOUNT,
	    F_SEQ, F_KEYVER, F_ALG, F_TTYPE, F_RANDOM, F_TERM, F_MAC1 },
	[WK_MSG_LOAD_GRANT] = { F_CARD, F_NONCE, F_SEQ, F_LOAD, F_AMOUNT,
	    F_TTYPE, F_TERM, F_DATE, F_TIME, F_MAC2 },
	[WK_MSG_LOAD_RECEIPT] = { F_CARD, F_NONCE, F_SEQ, F_LOAD, F_AMOUNT,
	    F_BALANCE, F_DATE, F_TIME, F_TAC },
	[WK_MSG_LOAD_REFUSAL] = { F_CARD, F_NONCE, F_SEQ, F_LOAD, F_REASON },
	[WK_MSG_LOAD_PROOF] = { F_CARD, F_NONCE, F_SEQ, F_LOAD, F_BALANCE,
	    F_TAC },
	[WK_MSG_LOAD_NEVER] = { F_CARD, F_NONCE, F_SEQ, F_LOAD, F_BALANCE },
	[WK_MSG_PERSO] = { F_CARD, F_NONCE, F_KEYVER, F_POINT, F_SEALED },
	[WK_MSG_XFER_AUTH] = { F_CARD, F_PEER, F_NONCE },
	[WK_MSG_XFER_TOKEN] = { F_CARD, F_PEER, F_NONCE, F_LOAD, F_AMOUNT,
	    F_BALANCE },
	[WK_MSG_UNBLOCK_REQUEST] = { F_CARD, F_NONCE, F_RANDOM },
	[WK_MSG_PSAM_KEYS] = { F_CARD, F_NONCE, F_TERM, F_KEYVER, F_POINT,
	    F_SEALED },
	[WK_MSG_PAY_REQUEST] = { F_CARD, F_LOAD, F_PAN, F_TERM, F_NAME,
	    F_ORDER, F_DESC, F_AMOUNT, F_CURRENCY, F_EXPIRY },
	[WK_MSG_PAY_CONFIRM] = { F_CARD, F_LOAD, F_PAN, F_TERM, F_DIGEST,
	    F_AMOUNT, F_CURRENCY, F_EXPIRY, F_DECISION, F_COUNTER },
	[WK_MSG_OCRA_KEY] = { F_CARD, F_NONCE, F_KEYVER, F_POINT, F_SEALED },
	[WK_MSG_SESSION_AUTH] = { F_CARD, F_NONCE, F_SCOPE },
};

const char *
wk_msg_type_name(int type)
{
	static const char *const names[WK_MSG_TYPE_MAX + 1] = {
		[WK_MSG_LOAD_REQUEST] = "load-request",
		[WK_MSG_LOAD_GRANT] = "load-grant",
		[WK_MSG_LOAD_RECEIPT] = "load-receipt",
		[WK_MSG_LOAD_REFUSAL] = "load-refusal",
		[WK_MSG_LOAD_PROOF] = "load-proof",
		[WK_MSG_LOAD_NEVER] = "load-never-credited",
		[WK_MSG_PERSO] = "personalisation",
		[WK_MSG_XFER_AUTH] = "transfer-auth",
		[WK_MSG_XFER_TOKEN] = "transfer-token",
		[WK_MSG_PSAM_KEYS] = "psam-keys",
		[WK_MSG_UNBLOCK_REQUEST] = "unblock-request",
		[WK_MSG_PAY_REQUEST] = "payment-request",
		[WK_MSG_PAY_CONFIRM] = "payment-confirmation",
		[WK_MSG_OCRA_KEY] = "ocra-key",
		[WK_MSG_SESSION_AUTH] = "session-auth",
	};

	return type >= 1 && type <= WK_MSG_TYPE_MAX && names[type] != NULL ?
	    names[type] : "?";
}

const char *
wk_msg_strerror(int rc)
{
	switch (rc) {
	case WK_MSG_OK: return "ok";
	case WK_MSG_MALFORMED: return "malformed message";
	case WK_MSG_UNSUPPORTED: return "unsupported message version or type";
	case WK_MSG_BAD_SIGNATURE: return "signature does not verify";
	case WK_MSG_CRYPTO: return "cryptographic failure";
	case WK_MSG_ARG: return "bad argument";
	default: return "unknown error";
	}
}

static void
put_text(wk_buf *b, uint16_t tag, const char *s, size_t cap, size_t min)
{
	size_t n = strnlen(s, cap);

	if (n < min || n >= cap || !wk_payment_text_ok(s, n))
		wk_buf_fail(b);
	wk_tlv_put(b, tag, s, n);
}

static void
put_field(wk_buf *b, const wk_msg *m, uint16_t tag)
{
	uint8_t v[8];

	switch (tag) {
	case F_CARD: wk_tlv_put(b, tag, m->card_id, sizeof(m->card_id)); break;
	case F_PEER: wk_tlv_put(b, tag, m->peer_id, sizeof(m->peer_id)); break;
	case F_SEQ:
		v[0] = (uint8_t)(m->seq >> 8);
		v[1] = (uint8_t)m->seq;
		wk_tlv_put(b, tag, v, 2);
		break;
	case F_NONCE: wk_tlv_put(b, tag, m->nonce, sizeof(m->nonce)); break;
	case F_AMOUNT:
	case F_BALANCE: {
		uint32_t x = tag == F_AMOUNT ? m->amount : m->balance;

		v[0] = (uint8_t)(x >> 24);
		v[1] = (uint8_t)(x >> 16);
		v[2] = (uint8_t)(x >> 8);
		v[3] = (uint8_t)x;
		wk_tlv_put(b, tag, v, 4);
		break;
	}
	case F_KEYVER: wk_tlv_put(b, tag, &m->key_version, 1); break;
	case F_ALG: wk_tlv_put(b, tag, &m->alg_id, 1); break;
	case F_RANDOM: wk_tlv_put(b, tag, m->card_random, 4); break;
	case F_TERM: wk_tlv_put(b, tag, m->terminal_id, 6); break;
	case F_MAC1: wk_tlv_put(b, tag, m->mac1, 4); break;
	case F_LOAD: wk_tlv_put(b, tag, m->load_id, sizeof(m->load_id)); break;
	case F_DATE: wk_tlv_put(b, tag, m->host_date, 4); break;
	case F_TIME: wk_tlv_put(b, tag, m->host_time, 3); break;
	case F_MAC2: wk_tlv_put(b, tag, m->mac2, 4); break;
	case F_TAC: wk_tlv_put(b, tag, m->tac, 4); break;
	case F_REASON:
		v[0] = (uint8_t)(m->reason >> 8);
		v[1] = (uint8_t)m->reason;
		wk_tlv_put(b, tag, v, 2);
		break;
	case F_TTYPE: wk_tlv_put(b, tag, &m->trans_type, 1); break;
	case F_SCOPE:
		if (m->scope != WK_MSG_SCOPE_CARD && m->scope != WK_MSG_SCOPE_HOLDER)
			wk_buf_fail(b);
		wk_tlv_put(b, tag, &m->scope, 1);
		break;
	case F_PAN: {
		size_t n = strnlen(m->pan, sizeof(m->pan));

		if (n == 0 || n > WK_MSG_PAN_MAX)
			wk_buf_fail(b);
		wk_tlv_put(b, tag, m->pan, n);
		break;
	}
	case F_POINT: wk_tlv_put(b, tag, m->eph_point, sizeof(m->eph_point)); break;
	case F_SEALED:
		if (m->sealed_len < 17 || m->sealed_len > sizeof(m->sealed))
			wk_buf_fail(b);
		wk_tlv_put(b, tag, m->sealed, m->sealed_len);
		break;
	case F_NAME: put_text(b, tag, m->payee_name, sizeof(m->payee_name), 1); break;
	case F_ORDER: put_text(b, tag, m->order_id, sizeof(m->order_id), 1); break;
	case F_DESC: put_text(b, tag, m->description, sizeof(m->description), 0); break;
	case F_CURRENCY:
		if (!wk_payment_currency_ok(m->currency, strnlen(m->currency, 4)))
			wk_buf_fail(b);
		wk_tlv_put(b, tag, m->currency, 3);
		break;
	case F_EXPIRY:
		for (int i = 0; i < 8; i++)
			v[i] = (uint8_t)(m->expiry >> (56 - 8 * i));
		wk_tlv_put(b, tag, v, 8);
		break;
	case F_DIGEST: wk_tlv_put(b, tag, m->digest, sizeof(m->digest)); break;
	case F_DECISION:
		if (m->decision != WK_MSG_DECLINED && m->decision != WK_MSG_ACCEPTED)
			wk_buf_fail(b);
		wk_tlv_put(b, tag, &m->decision, 1);
		break;
	case F_COUNTER:
		v[0] = (uint8_t)(m->counter >> 24);
		v[1] = (uint8_t)(m->counter >> 16);
		v[2] = (uint8_t)(m->counter >> 8);
		v[3] = (uint8_t)m->counter;
		wk_tlv_put(b, tag, v, 4);
		break;
	default:
		wk_buf_fail(b);
	}
}

int
wk_msg_encode_body(const wk_msg *m, wk_buf *b)
{
	uint8_t ver = WK_MSG_VERSION;
	size_t mark;

	if (m->type < 1 || m->type > WK_MSG_TYPE_MAX || layout[m->type][0] == 0)
		return WK_MSG_ARG;
	mark = wk_tlv_begin(b, T_BODY);
	wk_tlv_put(b, F_VERSION, &ver, 1);
	wk_tlv_put(b, F_TYPE, &m->type, 1);
	for (size_t i = 0; i < MAX_FIELDS && layout[m->type][i] != 0; i++)
		put_field(b, m, layout[m->type][i]);
	wk_tlv_end(b, mark);
	return wk_buf_failed(b) ? WK_MSG_ARG : WK_MSG_OK;
}

static int
get_text(const wk_tlv *t, char *out, size_t cap, size_t min)
{
	if (t->constructed || t->len < min || t->len >= cap)
		return WK_MSG_MALFORMED;
	if (t->len > 0 && (memchr(t->value, 0, t->len) != NULL ||
	    !wk_payment_text_ok((const char *)t->value, t->len)))
		return WK_MSG_MALFORMED;
	if (t->len > 0)
		memcpy(out, t->value, t->len);
	out[t->len] = '\0';
	return WK_MSG_OK;
}

static int
get_field(wk_msg *m, const wk_tlv *t)
{
	const uint8_t *v = t->value;
	size_t want;

	switch (t->tag) {
	case F_NAME: return get_text(t, m->payee_name, sizeof(m->payee_name), 1);
	case F_ORDER: return get_text(t, m->order_id, sizeof(m->order_id), 1);
	case F_DESC: return get_text(t, m->description, sizeof(m->description), 0);
	case F_CURRENCY:
		if (t->constructed || !wk_payment_currency_ok((const char *)v, t->len))
			return WK_MSG_MALFORMED;
		memcpy(m->currency, v, 3);
		m->currency[3] = '\0';
		return WK_MSG_OK;
	case F_EXPIRY: want = 8; break;
	case F_DIGEST: want = sizeof(m->digest); break;
	case F_DECISION: want = 1; break;
	case F_COUNTER: want = 4; break;
	case F_CARD: case F_PEER: want = sizeof(m->card_id); break;
	case F_SEQ: case F_REASON: want = 2; break;
	case F_NONCE: want = sizeof(m->nonce); break;
	case F_AMOUNT: case F_BALANCE: case F_RANDOM: case F_MAC1: case F_DATE:
	case F_MAC2: case F_TAC: want = 4; break;
	case F_KEYVER: case F_ALG: case F_TTYPE: want = 1; break;
	case F_SCOPE:
		if (t->len != 1 || t->constructed || (v[0] != WK_MSG_SCOPE_CARD &&
		    v[0] != WK_MSG_SCOPE_HOLDER))
			return WK_MSG_MALFORMED;
		m->scope = v[0];
		return WK_MSG_OK;
	case F_TERM: want = 6; break;
	case F_LOAD: want = sizeof(m->load_id); break;
	case F_TIME: want = 3; break;
	case F_POINT: want = sizeof(m->eph_point); break;
	case F_PAN:
		if (t->len < 1 || t->len > WK_MSG_PAN_MAX)
			return WK_MSG_MALFORMED;
		for (size_t i = 0; i < t->len; i++)
			if (v[i] < '0' || v[i] > '9')
				return WK_MSG_MALFORMED;
		memcpy(m->pan, v, t->len);
		m->pan[t->len] = '\0';
		return WK_MSG_OK;
	case F_SEALED:
		if (t->len < 17 || t->len > sizeof(m->sealed))
			return WK_MSG_MALFORMED;
		memcpy(m->sealed, v, t->len);
		m->sealed_len = t->len;
		return WK_MSG_OK;
	default:
		return WK_MSG_MALFORMED;
	}
	if (t->len != want || t->constructed)
		return WK_MSG_MALFORMED;
	switch (t->tag) {
	case F_CARD: memcpy(m->card_id, v, want); break;
	case F_PEER: memcpy(m->peer_id, v, want); break;
	case F_SEQ: m->seq = (uint16_t)((v[0] << 8) | v[1]); break;
	case F_REASON: m->reason = (uint16_t)((v[0] << 8) | v[1]); break;
	case F_NONCE: memcpy(m->nonce, v, want); break;
	case F_AMOUNT:
	case F_BALANCE: {
		uint32_t x = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
		    (uint32_t)v[2] << 8 | v[3];

		if (t->tag == F_AMOUNT)
			m->amount = x;
		else
			m->balance = x;
		break;
	}
	case F_RANDOM: memcpy(m->card_random, v, want); break;
	case F_MAC1: memcpy(m->mac1, v, want); break;
	case F_DATE: memcpy(m->host_date, v, want); break;
	case F_MAC2: memcpy(m->mac2, v, want); break;
	case F_TAC: memcpy(m->tac, v, want); break;
	case F_KEYVER: m->key_version = v[0]; break;
	case F_ALG: m->alg_id = v[0]; break;
	case F_TTYPE: m->trans_type = v[0]; break;
	case F_TERM: memcpy(m->terminal_id, v, want); break;
	case F_LOAD: memcpy(m->load_id, v, want); break;
	case F_TIME: memcpy(m->host_time, v, want); break;
	case F_POINT: memcpy(m->eph_point, v, want); break;
	case F_EXPIRY:
		m->expiry = 0;
		for (int i = 0; i < 8; i++)
			m->expiry = (m->expiry << 8) | v[i];
		break;
	case F_DIGEST: memcpy(m->digest, v, want); break;
	case F_DECISION:
		if (v[0] != WK_MSG_DECLINED && v[0] != WK_MSG_ACCEPTED)
			return WK_MSG_MALFORMED;
		m->decision = v[0];
		break;
	case F_COUNTER:
		m->counter = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
		    (uint32_t)v[2] << 8 | v[3];
		break;
	}
	return WK_MSG_OK;
}

int
wk_msg_parse(const uint8_t *buf, size_t len, wk_msg *m, wk_cur *body,
    wk_cur *sig)
{
	wk_tlv outer, tb, ts, t;
	wk_cur c, f;
	const uint8_t *body_start;
	int rc;

	memset(m, 0, sizeof(*m));
	if (buf == NULL || len > WK_MSG_MAX)
		return WK_MSG_MALFORMED;
	if (wk_tlv_parse_one(buf, len, T_MSG, &outer) != WK_TLV_OK)
		return WK_MSG_MALFORMED;
	wk_cur_init(&c, outer.value, outer.len);
	body_start = c.p;
	if (wk_tlv_read(&c, &tb) != WK_TLV_OK || tb.tag != T_BODY)
		return WK_MSG_MALFORMED;
	if (body != NULL)
		wk_cur_init(body, body_start, (size_t)(c.p - body_start));
	if (wk_tlv_read(&c, &ts) != WK_TLV_OK || ts.tag != T_SIG ||
	    ts.len == 0 || c.len != 0)
		return WK_MSG_MALFORMED;
	if (sig != NULL)
		wk_cur_init(sig, ts.value, ts.len);

	wk_cur_init(&f, tb.value, tb.len);
	if (wk_tlv_read(&f, &t) != WK_TLV_OK || t.tag != F_VERSION || t.len != 1)
		return WK_MSG_MALFORMED;
	if (t.value[0] != WK_MSG_VERSION)
		return WK_MSG_UNSUPPORTED;
	if (wk_tlv_read(&f, &t) != WK_TLV_OK || t.tag != F_TYPE || t.len != 1)
		return WK_MSG_MALFORMED;
	if (t.value[0] < 1 || t.value[0] > WK_MSG_TYPE_MAX ||
	    layout[t.value[0]][0] == 0)
		return WK_MSG_UNSUPPORTED;
	m->type = t.value[0];
	for (size_t i = 0; i < MAX_FIELDS && layout[m->type][i] != 0; i++) {
		if (wk_tlv_read(&f, &t) != WK_TLV_OK || t.tag != layout[m->type][i])
			goto bad;
		if ((rc = get_field(m, &t)) != WK_MSG_OK)
			goto bad;
	}
	if (f.len != 0)
		goto bad;
	return WK_MSG_OK;
bad:
	memset(m, 0, sizeof(*m));
	return WK_MSG_MALFORMED;
}

int
wk_msg_sign(const wk_msg *m, EVP_PKEY *key, wk_buf *b)
{
	EVP_MD_CTX *md = NULL;
	wk_buf body;
	uint8_t sig[128];
	size_t siglen = sizeof(sig), mark;
	int rc = WK_MSG_ARG;

	wk_buf_init_heap(&body, WK_MSG_MAX);
	if (key == NULL || wk_msg_encode_body(m, &body) != WK_MSG_OK)
		goto out;
	rc = WK_MSG_CRYPTO;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, body.p, body.len) != 1)
		goto out;
	mark = wk_tlv_begin(b, T_MSG);
	wk_buf_add(b, body.p, body.len);
	wk_tlv_put(b, T_SIG, sig, siglen);
	wk_tlv_end(b, mark);
	rc = wk_buf_failed(b) ? WK_MSG_ARG : WK_MSG_OK;
out:
	EVP_MD_CTX_free(md);
	wk_buf_clear(&body);
	return rc;
}

int
wk_msg_verify(const uint8_t *buf, size_t len, EVP_PKEY *pub, wk_msg *m)
{
	EVP_MD_CTX *md = NULL;
	wk_cur body, sig;
	wk_msg tmp;
	int rc;

	if (pub == NULL)
		return WK_MSG_ARG;
	if ((rc = wk_msg_parse(buf, len, &tmp, &body, &sig)) != WK_MSG_OK)
		return rc;
	rc = WK_MSG_CRYPTO;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) != 1)
		goto out;
	if (EVP_DigestVerify(md, sig.p, sig.len, body.p, body.len) != 1) {
		rc = WK_MSG_BAD_SIGNATURE;
		goto out;
	}
	*m = tmp;
	rc = WK_MSG_OK;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static int
perso_key(const uint8_t *secret, size_t slen, const wk_msg *m, uint8_t key[32])
{
	static const char label[] = "walletkey perso v1";
	uint8_t info[sizeof(label) - 1 + WK_MSG_CARD_ID_LEN + 1];
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5];
	int rc = WK_MSG_CRYPTO;

	memcpy(info, label, sizeof(label) - 1);
	memcpy(info + sizeof(label) - 1, m->card_id, WK_MSG_CARD_ID_LEN);
	info[sizeof(info) - 1] = m->key_version;
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, slen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)m->nonce, sizeof(m->nonce));
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    info, sizeof(info));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, key, 32, params) == 1)
		rc = WK_MSG_OK;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

static int
ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *secret, size_t *slen)
{
	EVP_PKEY_CTX *ctx;
	int rc = WK_MSG_CRYPTO;

	if ((ctx = EVP_PKEY_CTX_new(priv, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
	    EVP_PKEY_derive(ctx, secret, slen) == 1)
		rc = WK_MSG_OK;
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static EVP_PKEY *
point_to_key(const uint8_t *point, size_t len)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k = NULL;
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)"P-256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)point, len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static int
gcm(bool enc, const uint8_t key[32], const wk_msg *m, const uint8_t *in,
    size_t inlen, uint8_t *out)
{
	EVP_CIPHER_CTX *c;
	uint8_t aad[WK_MSG_CARD_ID_LEN + 1];
	int n, rc = WK_MSG_CRYPTO;

	memcpy(aad, m->card_id, WK_MSG_CARD_ID_LEN);
	aad[WK_MSG_CARD_ID_LEN] = m->key_version;
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, m->nonce,
	    enc ? 1 : 0) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)sizeof(aad)) != 1)
		goto out;
	if (enc) {
		if (EVP_CipherUpdate(c, out, &n, in, (int)inlen) != 1 ||
		    EVP_CipherFinal_ex(c, out + n, &n) != 1 ||
		    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16,
		    out + inlen) != 1)
			goto out;
	} else {
		if (EVP_CipherUpdate(c, out, &n, in, (int)(inlen - 16)) != 1 ||
		    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
		    (void *)(in + inlen - 16)) != 1 ||
		    EVP_CipherFinal_ex(c, out + n, &n) != 1)
			goto out;
	}
	rc = WK_MSG_OK;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int
wk_msg_seal_keys(EVP_PKEY *card_pub, wk_msg *m, const uint8_t *keys,
    size_t key_len)
{
	EVP_PKEY *eph = NULL;
	uint8_t secret[32], key[32];
	size_t slen = sizeof(secret), plen;
	int rc = WK_MSG_ARG;

	if (card_pub == NULL || key_len == 0 || key_len > WK_MSG_PERSO_KEYS_MAX)
		return rc;
	rc = WK_MSG_CRYPTO;
	if ((eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY,
	    m->eph_point, sizeof(m->eph_point), &plen) != 1 ||
	    plen != sizeof(m->eph_point))
		goto out;
	randombytes_buf(m->nonce, sizeof(m->nonce));
	if (ecdh(eph, card_pub, secret, &slen) != WK_MSG_OK ||
	    perso_key(secret, slen, m, key) != WK_MSG_OK ||
	    gcm(true, key, m, keys, key_len, m->sealed) != WK_MSG_OK)
		goto out;
	m->sealed_len = key_len + 16;
	rc = WK_MSG_OK;
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(key, sizeof(key));
	EVP_PKEY_free(eph);
	return rc;
}

int
wk_msg_open_keys(EVP_PKEY *card_priv, const wk_msg *m, uint8_t *keys,
    size_t cap, size_t *key_len)
{
	EVP_PKEY *eph = NULL;
	uint8_t secret[32], key[32];
	size_t slen = sizeof(secret);
	int rc = WK_MSG_ARG;

	if (card_priv == NULL || m->sealed_len < 17 ||
	    m->sealed_len > sizeof(m->sealed) || cap < m->sealed_len - 16)
		return rc;
	rc = WK_MSG_CRYPTO;
	if ((eph = point_to_key(m->eph_point, sizeof(m->eph_point))) == NULL ||
	    ecdh(card_priv, eph, secret, &slen) != WK_MSG_OK ||
	    perso_key(secret, slen, m, key) != WK_MSG_OK ||
	    gcm(false, key, m, m->sealed, m->sealed_len, keys) != WK_MSG_OK) {
		sodium_memzero(keys, cap);
		goto out;
	}
	*key_len = m->sealed_len - 16;
	rc = WK_MSG_OK;
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(key, sizeof(key));
	EVP_PKEY_free(eph);
	return rc;
}
