/* GENERAL AUTHENTICATE: 9B, signatures, RSA private operations, key agreement (piv.md 2.7) */
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "audit_log.h"
#include "piv_int.h"
#include "piv_wallet.h"
#include "wk_tlv.h"

#define PIV_OUT_MAX 512

/* raw m^d mod n, input exactly modulus-length and below n */
static uint16_t
piv_rsa_raw(piv_cached *c, const uint8_t *in, size_t n, uint8_t *out,
    size_t *olen)
{
	BIGNUM *m = NULL;
	size_t klen = (size_t)EVP_PKEY_get_size(c->k.pkey), len = PIV_OUT_MAX;
	uint16_t sw = WK_SW_UNKNOWN;

	if (c->rsa_n == NULL && EVP_PKEY_get_bn_param(c->k.pkey,
	    OSSL_PKEY_PARAM_RSA_N, &c->rsa_n) != 1)
		goto out;
	sw = WK_SW_WRONG_DATA;
	if (n != klen || (m = BN_bin2bn(in, (int)n, NULL)) == NULL ||
	    BN_cmp(m, c->rsa_n) >= 0)
		goto out;
	sw = WK_SW_UNKNOWN;
	if (c->op == NULL &&
	    ((c->op = EVP_PKEY_CTX_new_from_pkey(NULL, c->k.pkey, NULL)) == NULL ||
	    EVP_PKEY_decrypt_init(c->op) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c->op, RSA_NO_PADDING) != 1))
		goto fail;
	if (EVP_PKEY_decrypt(c->op, out, &len, in, n) != 1 || len > klen)
		goto fail;
	/* left-pad to the modulus length */
	if (len < klen) {
		memmove(out + (klen - len), out, len);
		memset(out, 0, klen - len);
	}
	*olen = klen;
	sw = WK_SW_OK;
	goto out;
fail:
	/* set up again next time rather than trust a context that failed */
	EVP_PKEY_CTX_free(c->op);
	c->op = NULL;
out:
	BN_clear_free(m);
	return sw;
}

/*
 * PureEdDSA over the whole message (RFC 8032: deterministic, the same
 * signature from any correct implementation). libsodium's
 * crypto_sign_detached signs in half the time OpenSSL's EVP Ed25519 takes
 * here (bench/sign.sh, issue 17): its secret key (seed | public key) is
 * made from the slot's key at first use, kept in guarded memory that is
 * read-only between signatures and wiped when the cache entry goes
 * (piv_cache.c), and checked against the key's public half. OpenSSL's
 * one-shot context is what signs if that key cannot be made.
 */
static uint8_t *
piv_eddsa_key(const piv_key *k)
{
	uint8_t seed[32], pub[32], pk[crypto_sign_PUBLICKEYBYTES], *sk;
	size_t sl = sizeof(seed), pl = sizeof(pub);

	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		return NULL;
	if (EVP_PKEY_get_raw_private_key(k->pkey, seed, &sl) != 1 ||
	    sl != sizeof(seed) ||
	    EVP_PKEY_get_raw_public_key(k->pkey, pub, &pl) != 1 ||
	    pl != sizeof(pub) || crypto_sign_seed_keypair(pk, sk, seed) != 0 ||
	    sodium_memcmp(pk, pub, sizeof(pub)) != 0) {
		sodium_memzero(seed, sizeof(seed));
		sodium_free(sk);	/* wipes */
		return NULL;
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_mprotect_readonly(sk);
	return sk;
}

static uint16_t
piv_eddsa(piv_cached *c, const uint8_t *in, size_t n, uint8_t *out,
    size_t *olen)
{
	EVP_MD_CTX *md = NULL;
	size_t len = PIV_OUT_MAX;
	uint16_t sw = WK_SW_UNKNOWN;

	if (c->ed_sk == NULL && !c->ed_tried) {
		c->ed_tried = true;
		c->ed_sk = piv_eddsa_key(&c->k);
	}
	if (c->ed_sk != NULL) {
		unsigned long long sl = 0;

		if (crypto_sign_detached(out, &sl, in, n, c->ed_sk) != 0 ||
		    sl != crypto_sign_BYTES)
			return WK_SW_UNKNOWN;
		*olen = (size_t)sl;
		return WK_SW_OK;
	}
	if (c->md == NULL &&
	    ((c->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(c->md, NULL, NULL, NULL, NULL, c->k.pkey,
	    NULL) != 1)) {
		EVP_MD_CTX_free(c->md);
		c->md = NULL;
		goto out;
	}
	/* a one-shot context is used once: each signature works on a copy */
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_MD_CTX_copy_ex(md, c->md) != 1 ||
	    EVP_DigestSign(md, out, &len, in, n) != 1)
		goto out;
	*olen = len;
	sw = WK_SW_OK;
out:
	EVP_MD_CTX_free(md);
	return sw;
}

static EVP_PKEY *
piv_peer(uint8_t alg, const uint8_t *pt, size_t n)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer = NULL;
	OSSL_PARAM params[3];
	char *group = alg == PIV_ALG_ECCP256 ? "prime256v1" : "secp384r1";
	size_t want = alg == PIV_ALG_ECCP256 ? 65 : 97;

	if (alg == PIV_ALG_X25519)
		return n == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519,
		    NULL, pt, n) : NULL;
	if (n != want || pt[0] != 0x04)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)(uintptr_t)pt, n);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		peer = NULL;
	EVP_PKEY_CTX_free(ctx);
	return peer;
}

/* ECDH (X coordinate) and X25519 */
static uint16_t
piv_derive(const piv_key *k, const uint8_t *pt, size_t n, uint8_t *out,
    size_t *olen)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer = NULL;
	size_t len = PIV_OUT_MAX;
	uint16_t sw = WK_SW_WRONG_DATA;

	if ((peer = piv_peer(k->alg, pt, n)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, out, &len) != 1)
		goto out;
	*olen = len;
	sw = WK_SW_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return sw;
}

static bool
piv_is_rsa(uint8_t alg)
{
	return alg == PIV_ALG_RSA1024 || alg == PIV_ALG_RSA2048 ||
	    alg == PIV_ALG_RSA3072 || alg == PIV_ALG_RSA4096;
}

static bool
piv_is_ec(uint8_t alg)
{
	return alg == PIV_ALG_ECCP256 || alg == PIV_ALG_ECCP384;
}

static uint16_t
piv_key_op(piv_cached *c, const wk_tlv *chal, const wk_tlv *exp,
    uint8_t *out, size_t *olen)
{
	const piv_key *k = &c->k;

	if (chal != NULL && piv_is_rsa(k->alg))
		return piv_rsa_raw(c, chal->value, chal->len, out, olen);
	if (chal != NULL && piv_is_ec(k->alg))
		return piv_ecdsa_sign(c, chal->value, chal->len, out,
		    PIV_OUT_MAX, olen);
	if (chal != NULL && k->alg == PIV_ALG_ED25519)
		return piv_eddsa(c, chal->value, chal->len, out, olen);
	if (exp != NULL && (piv_is_ec(k->alg) || k->alg == PIV_ALG_X25519))
		return piv_derive(k, exp->value, exp->len, out, olen);
	return WK_SW_WRONG_DATA;
}

/* 7C { 82 00, 81 <data> | 85 <point> } */
static int
piv_parse_op(const uint8_t *p, size_t n, wk_tlv *chal, wk_tlv *exp,
    bool *has_chal, bool *has_exp)
{
	wk_tlv resp;
	wk_cur c;
	wk_tlv t;
	int r1, r5;

	wk_cur_init(&c, p, n);
	while (c.len > 0) {
		if (wk_tlv_read(&c, &t) != WK_TLV_OK)
			return -1;
		if (t.tag != 0x81 && t.tag != 0x82 && t.tag != 0x85)
			return -1;
	}
	if (wk_tlv_find(p, n, 0x82, &resp) != WK_TLV_OK || resp.len != 0)
		return -1;
	r1 = wk_tlv_find(p, n, 0x81, chal);
	r5 = wk_tlv_find(p, n, 0x85, exp);
	if ((r1 != WK_TLV_OK && r1 != WK_TLV_MISSING) ||
	    (r5 != WK_TLV_OK && r5 != WK_TLV_MISSING))
		return -1;
	*has_chal = r1 == WK_TLV_OK;
	*has_exp = r5 == WK_TLV_OK;
	return *has_chal != *has_exp ? 0 : -1;
}

/* 9C and 9D: every private-key operation is a record of the audit log */
static bool
piv_audited(uint8_t slot)
{
	return slot == PIV_REF_SIGN || slot == PIV_REF_KEYMGMT;
}

/*
 * the record (docs/audit.md "Signatures and decryptions"): type signature
 * or decryption (RSA decryption on 9D, and key agreement); source the key
 * (slot, algorithm, 81 challenge or 85 exponentiation), target the first 10
 * bytes of SHA-256 of the input, the terminal field bytes 10-15 of it; the
 * card's clock (UTC) as date and time; no amount. In the command's
 * transaction, so the log and the answer go together.
 */
static int
piv_audit(vc_card *card, uint8_t slot, uint8_t alg, bool exp,
    const uint8_t *in, size_t n)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	wk_arec r;

	memset(&r, 0, sizeof(r));
	r.type = exp || (slot == PIV_REF_KEYMGMT && piv_is_rsa(alg)) ?
	    WK_AREC_PIV_DECRYPT : WK_AREC_PIV_SIGN;
	audit_log_stamp(&r);
	r.src[0] = WK_AREC_ACCT_PIV;
	r.src[1] = slot;
	r.src[2] = alg;
	r.src[3] = exp ? 0x85 : 0x81;
	crypto_hash_sha256(h, in, n);
	r.dst[0] = WK_AREC_ACCT_DIGEST;
	memcpy(r.dst + 1, h, WK_AREC_ACCT_LEN - 1);
	memcpy(r.term_id, h + WK_AREC_ACCT_LEN - 1, sizeof(r.term_id));
	return audit_log_append(card, &r);
}

uint16_t
piv_general_auth(piv_state *s, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	piv_cached *c = NULL;
	wk_tlv tmpl, chal, exp;
	bool has_chal = false, has_exp = false;
	uint8_t out[PIV_OUT_MAX];
	size_t olen = 0, mark;
	uint8_t policy;
	uint16_t sw = WK_SW_UNKNOWN;
	int r;

	if (wk_tlv_parse_one(cmd->data, cmd->lc, 0x7C, &tmpl) != WK_TLV_OK) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (cmd->p2 == PIV_REF_MGM) {
		sw = piv_mgm_auth(s, card, cmd, tmpl.value, tmpl.len, resp);
		goto out;
	}
	if (!piv_slot_is_asym(cmd->p2)) {
		sw = WK_SW_WRONG_P1P2;
		goto out;
	}
	/* the attestation key signs attestations only: a raw signature from it
	 * could vouch for a key that was never generated on the card */
	if (cmd->p2 == PIV_REF_ATTEST ||
	    (cmd->p2 == PIV_WALLET_SLOT && piv_wallet_locked(card))) {
		sw = WK_SW_SECURITY_STATUS;
		goto out;
	}
	if (piv_parse_op(tmpl.value, tmpl.len, &chal, &exp, &has_chal,
	    &has_exp) != 0) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	/* GENERAL AUTHENTICATE writes nothing but its audit record (9C,
	 * 9D), which leaves the keys as they are, so it may fill the cache */
	r = piv_cache_get(s, card, cmd->p2, &c);
	if (r == VC_STORE_NOT_FOUND) {
		sw = WK_SW_WRONG_P1P2;
		goto out;
	}
	if (r != VC_STORE_OK) {
		sw = WK_SW_REF_DATA_UNUSABLE;
		goto out;
	}
	if (c->k.alg != cmd->p1) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	policy = piv_key_effective_policy(&c->k, cmd->p2);
	if ((policy == PIV_PINPOL_ONCE && !s->pin_verified) ||
	    (policy == PIV_PINPOL_ALWAYS && !(s->pin_verified && s->pin_always))) {
		sw = WK_SW_SECURITY_STATUS;
		goto out;
	}
	/* no signature the log could not record (docs/audit.md: a full log
	 * refuses with 6A84 until the issuer acknowledges) */
	if (piv_audited(cmd->p2) && (r = audit_log_room(card)) != AUDIT_LOG_OK) {
		sw = r == AUDIT_LOG_FULL ? WK_SW_NO_SPACE : WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = piv_key_op(c, has_chal ? &chal : NULL, has_exp ? &exp : NULL,
	    out, &olen);
	if (sw != WK_SW_OK)
		goto out;
	if (piv_audited(cmd->p2) && piv_audit(card, cmd->p2, c->k.alg, has_exp,
	    has_exp ? exp.value : chal.value, has_exp ? exp.len : chal.len) !=
	    AUDIT_LOG_OK) {
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	/* PIN-always: one operation per VERIFY (piv.md 2.6) */
	if (policy == PIV_PINPOL_ALWAYS)
		s->pin_always = false;
	mark = wk_tlv_begin(resp, 0x7C);
	wk_tlv_put(resp, 0x82, out, olen);
	wk_tlv_end(resp, mark);
	if (wk_buf_failed(resp))
		sw = WK_SW_UNKNOWN;
out:
	sodium_memzero(out, sizeof(out));
	return sw;
}
