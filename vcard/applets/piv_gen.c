/* GENERATE ASYMMETRIC KEY PAIR, Yubico IMPORT KEY and MOVE/DELETE KEY (piv.md 2.8, 4) */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <sodium.h>

#include "piv_int.h"
#include "piv_wallet.h"
#include "wk_tlv.h"

/* optional AA (PIN policy) and AB (touch policy) elements, one byte each */
static int
piv_policies(const uint8_t *p, size_t n, uint8_t *pin, uint8_t *touch)
{
	wk_tlv t;
	int r;

	*pin = PIV_PINPOL_DEFAULT;
	*touch = PIV_TOUCH_DEFAULT;
	r = wk_tlv_find(p, n, 0xAA, &t);
	if (r == WK_TLV_OK) {
		if (t.len != 1 || t.value[0] > PIV_PINPOL_ALWAYS)
			return -1;
		*pin = t.value[0];
	} else if (r != WK_TLV_MISSING) {
		return -1;
	}
	r = wk_tlv_find(p, n, 0xAB, &t);
	if (r == WK_TLV_OK) {
		/* no touch sensor: "always" and "cached" are refused, not faked */
		if (t.len != 1 || t.value[0] > PIV_TOUCH_NEVER)
			return -1;
		*touch = t.value[0];
	} else if (r != WK_TLV_MISSING) {
		return -1;
	}
	return 0;
}

/* every element of a level is one of the allowed tags */
static bool
piv_only_tags(const uint8_t *p, size_t n, const uint8_t *allowed, size_t na)
{
	wk_cur c;
	wk_tlv t;
	bool hit;

	wk_cur_init(&c, p, n);
	while (c.len > 0) {
		if (wk_tlv_read(&c, &t) != WK_TLV_OK)
			return false;
		hit = false;
		for (size_t i = 0; i < na; i++)
			hit = hit || t.tag == allowed[i];
		if (!hit)
			return false;
	}
	return true;
}

uint16_t
piv_generate(piv_state *s, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	static const uint8_t allowed[] = { 0x80, 0xAA, 0xAB };
	piv_key k;
	wk_tlv ac, alg;
	size_t mark;
	uint16_t sw = WK_SW_UNKNOWN;

	memset(&k, 0, sizeof(k));
	if (cmd->p1 != 0x00 || !piv_slot_is_asym(cmd->p2)) {
		sw = WK_SW_WRONG_P1P2;
		goto out;
	}
	/* the enrolled wallet key stays until WALLET SETUP forgets it */
	if (!s->mgm_auth || (cmd->p2 == PIV_WALLET_SLOT && piv_wallet_locked(card))) {
		sw = WK_SW_SECURITY_STATUS;
		goto out;
	}
	if (wk_tlv_parse_one(cmd->data, cmd->lc, 0xAC, &ac) != WK_TLV_OK ||
	    !piv_only_tags(ac.value, ac.len, allowed, sizeof(allowed)) ||
	    wk_tlv_find(ac.value, ac.len, 0x80, &alg) != WK_TLV_OK ||
	    alg.len != 1 || !piv_alg_is_asym(alg.value[0]) ||
	    piv_policies(ac.value, ac.len, &k.pin_policy, &k.touch_policy) != 0) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	k.alg = alg.value[0];
	k.origin = PIV_ORIGIN_GENERATED;
	if ((k.pkey = piv_key_generate(k.alg)) == NULL) {
		sw = WK_SW_UNKNOWN;
		goto out;
	}
	mark = wk_tlv_begin(resp, 0x7F49);
	if (piv_key_pub_encode(&k, resp) != 0) {
		sw = WK_SW_UNKNOWN;
		goto out;
	}
	wk_tlv_end(resp, mark);
	if (wk_buf_failed(resp)) {
		sw = WK_SW_UNKNOWN;
		goto out;
	}
	if (piv_key_save(s, card, cmd->p2, &k) != VC_STORE_OK) {
		vc_store_abort(vc_card_store(card));
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = WK_SW_OK;
out:
	piv_key_free(&k);
	return sw;
}

static EVP_PKEY *
piv_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM *params = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		pkey = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static BIGNUM *
piv_elem_bn(const uint8_t *p, size_t n, uint32_t tag, size_t max)
{
	wk_tlv t;

	if (wk_tlv_find(p, n, tag, &t) != WK_TLV_OK || t.len == 0 || t.len > max)
		return NULL;
	return BN_bin2bn(t.value, (int)t.len, NULL);
}

/* 01 p, 02 q, 03 dP, 04 dQ, 05 qInv; e = 65537 as on a YubiKey */
static EVP_PKEY *
piv_import_rsa(const uint8_t *p, size_t n, int bits)
{
	BIGNUM *f[5] = { NULL }, *e = NULL, *nn = NULL, *d = NULL;
	BIGNUM *p1 = NULL, *q1 = NULL, *phi = NULL;
	BN_CTX *bctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	size_t half = (size_t)bits / 16;

	for (uint32_t i = 0; i < 5; i++)
		if ((f[i] = piv_elem_bn(p, n, i + 1, half)) == NULL)
			goto out;
	if ((bctx = BN_CTX_new()) == NULL || (e = BN_new()) == NULL ||
	    (nn = BN_new()) == NULL || (p1 = BN_dup(f[0])) == NULL ||
	    (q1 = BN_dup(f[1])) == NULL || (phi = BN_new()) == NULL ||
	    BN_set_word(e, 65537UL) != 1 ||
	    BN_mul(nn, f[0], f[1], bctx) != 1 || BN_num_bits(nn) != bits ||
	    BN_sub_word(p1, 1) != 1 || BN_sub_word(q1, 1) != 1 ||
	    BN_mul(phi, p1, q1, bctx) != 1 ||
	    (d = BN_mod_inverse(NULL, e, phi, bctx)) == NULL)
		goto out;
	BN_set_flags(d, BN_FLG_CONSTTIME);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, nn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, f[0]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, f[1]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, f[2]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, f[3]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, f[4]) != 1)
		goto out;
	pkey = piv_fromdata("RSA", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	for (size_t i = 0; i < 5; i++)
		BN_clear_free(f[i]);
	BN_clear_free(d);
	BN_clear_free(p1);
	BN_clear_free(q1);
	BN_clear_free(phi);
	BN_free(e);
	BN_free(nn);
	BN_CTX_free(bctx);
	return pkey;
}

static EVP_PKEY *
piv_import_ec(const uint8_t *p, size_t n, uint8_t alg)
{
	int nid = alg == PIV_ALG_ECCP256 ? NID_X9_62_prime256v1 : NID_secp384r1;
	const char *gname = alg == PIV_ALG_ECCP256 ? "prime256v1" : "secp384r1";
	size_t flen = alg == PIV_ALG_ECCP256 ? 32 : 48;
	EC_GROUP *grp = NULL;
	EC_POINT *pub = NULL;
	BIGNUM *d = NULL;
	BN_CTX *bctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t pt[97];
	size_t ptlen;

	if ((d = piv_elem_bn(p, n, 0x06, flen)) == NULL || BN_is_zero(d) ||
	    (grp = EC_GROUP_new_by_curve_name(nid)) == NULL ||
	    BN_cmp(d, EC_GROUP_get0_order(grp)) >= 0 ||
	    (bctx = BN_CTX_new()) == NULL || (pub = EC_POINT_new(grp)) == NULL ||
	    EC_POINT_mul(grp, pub, d, NULL, NULL, bctx) != 1 ||
	    (ptlen = EC_POINT_point2oct(grp, pub, POINT_CONVERSION_UNCOMPRESSED,
	    pt, sizeof(pt), bctx)) == 0)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, gname, 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen) != 1)
		goto out;
	pkey = piv_fromdata("EC", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	EC_POINT_free(pub);
	EC_GROUP_free(grp);
	BN_CTX_free(bctx);
	return pkey;
}

static EVP_PKEY *
piv_import_raw(const uint8_t *p, size_t n, uint32_t tag, int type)
{
	wk_tlv t;

	if (wk_tlv_find(p, n, tag, &t) != WK_TLV_OK || t.len != 32)
		return NULL;
	return EVP_PKEY_new_raw_private_key(type, NULL, t.value, 32);
}

static EVP_PKEY *
piv_import_pkey(const uint8_t *p, size_t n, uint8_t alg)
{
	static const uint8_t rsa_tags[] = { 1, 2, 3, 4, 5, 0xAA, 0xAB };
	static const uint8_t ec_tags[] = { 6, 0xAA, 0xAB };
	static const uint8_t ed_tags[] = { 7, 0xAA, 0xAB };
	static const uint8_t x_tags[] = { 8, 0xAA, 0xAB };

	switch (alg) {
	case PIV_ALG_RSA1024:
	case PIV_ALG_RSA2048:
	case PIV_ALG_RSA3072:
	case PIV_ALG_RSA4096:
		if (!piv_only_tags(p, n, rsa_tags, sizeof(rsa_tags)))
			return NULL;
		return piv_import_rsa(p, n, alg == PIV_ALG_RSA1024 ? 1024 :
		    alg == PIV_ALG_RSA2048 ? 2048 : alg == PIV_ALG_RSA3072 ? 3072 : 4096);
	case PIV_ALG_ECCP256:
	case PIV_ALG_ECCP384:
		if (!piv_only_tags(p, n, ec_tags, sizeof(ec_tags)))
			return NULL;
		return piv_import_ec(p, n, alg);
	case PIV_ALG_ED25519:
		if (!piv_only_tags(p, n, ed_tags, sizeof(ed_tags)))
			return NULL;
		return piv_import_raw(p, n, 7, EVP_PKEY_ED25519);
	case PIV_ALG_X25519:
		if (!piv_only_tags(p, n, x_tags, sizeof(x_tags)))
			return NULL;
		return piv_import_raw(p, n, 8, EVP_PKEY_X25519);
	default:
		return NULL;
	}
}

static bool
piv_pkey_consistent(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx;
	bool ok;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		return false;
	ok = EVP_PKEY_pairwise_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

uint16_t
piv_import(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	piv_key k;
	uint16_t sw = WK_SW_UNKNOWN;

	memset(&k, 0, sizeof(k));
	if (!piv_slot_is_asym(cmd->p2)) {
		sw = WK_SW_WRONG_P1P2;
		goto out;
	}
	/* never a host key in the slot of an enrolled wallet key */
	if (!s->mgm_auth || (cmd->p2 == PIV_WALLET_SLOT && piv_wallet_locked(card))) {
		sw = WK_SW_SECURITY_STATUS;
		goto out;
	}
	if (!piv_alg_is_asym(cmd->p1) || wk_tlv_check(cmd->data, cmd->lc) != WK_TLV_OK ||
	    piv_policies(cmd->data, cmd->lc, &k.pin_policy, &k.touch_policy) != 0 ||
	    (k.pkey = piv_import_pkey(cmd->data, cmd->lc, cmd->p1)) == NULL ||
	    !piv_pkey_consistent(k.pkey)) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	k.alg = cmd->p1;
	k.origin = PIV_ORIGIN_IMPORTED;
	if (piv_key_save(s, card, cmd->p2, &k) != VC_STORE_OK) {
		vc_store_abort(vc_card_store(card));
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = WK_SW_OK;
out:
	piv_key_free(&k);
	return sw;
}

/*
 * 00 F6 <to | FF delete> <from>; the attestation key stays put. A key never
 * moves into or out of the wallet slot 82: its attestation says it was
 * generated there, so it must never be a host-usable key elsewhere, nor a
 * key from elsewhere be taken for one generated there. Deleting it is
 * refused while the wallet is set up (WALLET SETUP forgets it instead).
 */
uint16_t
piv_move_key(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	piv_key k;
	uint8_t to = cmd->p1, from = cmd->p2;
	uint16_t sw = WK_SW_UNKNOWN;
	int r;

	memset(&k, 0, sizeof(k));
	if (!piv_slot_is_asym(from) || from == PIV_REF_ATTEST ||
	    (to != 0xFF && (!piv_slot_is_asym(to) || to == PIV_REF_ATTEST ||
	    to == from))) {
		sw = WK_SW_WRONG_P1P2;
		goto out;
	}
	if (cmd->lc != 0) {
		sw = WK_SW_WRONG_LENGTH;
		goto out;
	}
	if (!s->mgm_auth || (to != 0xFF && (from == PIV_WALLET_SLOT ||
	    to == PIV_WALLET_SLOT)) || (from == PIV_WALLET_SLOT &&
	    piv_wallet_locked(card))) {
		sw = WK_SW_SECURITY_STATUS;
		goto out;
	}
	r = piv_key_load(card, from, &k);
	if (r == VC_STORE_NOT_FOUND) {
		sw = WK_SW_FILE_NOT_FOUND;
		goto out;
	}
	if (r != VC_STORE_OK ||
	    (to != 0xFF && piv_key_save(s, card, to, &k) != VC_STORE_OK) ||
	    piv_key_delete(s, card, from) != VC_STORE_OK) {
		vc_store_abort(vc_card_store(card));
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = WK_SW_OK;
out:
	piv_key_free(&k);
	return sw;
}
