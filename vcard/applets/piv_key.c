/* asymmetric key records: sealed PKCS#8 in the store, public key encodings (piv.md 2.8) */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "piv_int.h"
#include "wk_tlv.h"

#define PIV_KEY_HDR 4
#define PIV_KEY_MAX 4096u

void
piv_key_free(piv_key *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

static void
piv_key_name(char *out, size_t cap, uint8_t ref)
{
	piv_store_key_name(out, cap, "key", ref);
}

/* the alg id that matches a loaded key, 0 when unsupported */
static uint8_t
piv_pkey_alg(EVP_PKEY *pkey)
{
	char group[32];
	size_t glen = 0;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		switch (EVP_PKEY_get_bits(pkey)) {
		case 1024:
			return PIV_ALG_RSA1024;
		case 2048:
			return PIV_ALG_RSA2048;
		case 3072:
			return PIV_ALG_RSA3072;
		case 4096:
			return PIV_ALG_RSA4096;
		default:
			return 0;
		}
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
		    group, sizeof(group), &glen) != 1)
			return 0;
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			return PIV_ALG_ECCP256;
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
			return PIV_ALG_ECCP384;
		return 0;
	case EVP_PKEY_ED25519:
		return PIV_ALG_ED25519;
	case EVP_PKEY_X25519:
		return PIV_ALG_X25519;
	default:
		return 0;
	}
}

int
piv_key_load(vc_card *card, uint8_t ref, piv_key *k)
{
	char name[16];
	wk_buf b;
	const uint8_t *p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	int r;

	memset(k, 0, sizeof(*k));
	piv_key_name(name, sizeof(name), ref);
	wk_buf_init_heap(&b, PIV_KEY_MAX);
	r = vc_store_get_secret(vc_card_store(card), PIV_APPLET, name, &b);
	if (r != VC_STORE_OK)
		goto out;
	r = VC_STORE_CORRUPT;
	if (wk_buf_failed(&b) || b.len <= PIV_KEY_HDR)
		goto out;
	p = b.p + PIV_KEY_HDR;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)(b.len - PIV_KEY_HDR))) == NULL ||
	    (k->pkey = EVP_PKCS82PKEY(p8)) == NULL)
		goto out;
	k->alg = b.p[0];
	k->pin_policy = b.p[1];
	k->touch_policy = b.p[2];
	k->origin = b.p[3];
	if (piv_pkey_alg(k->pkey) != k->alg) {
		piv_key_free(k);
		goto out;
	}
	r = VC_STORE_OK;
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	wk_buf_clear(&b);
	return r;
}

int
piv_key_save(piv_state *s, vc_card *card, uint8_t ref, const piv_key *k)
{
	char name[16];
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	uint8_t *v = NULL, *q;
	int dlen = 0, r = VC_STORE_ERROR;
	size_t n = 0;

	piv_cache_forget(s, ref);
	piv_key_name(name, sizeof(name), ref);
	if ((p8 = EVP_PKEY2PKCS8(k->pkey)) == NULL ||
	    (dlen = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL)) <= 0 ||
	    (size_t)dlen > PIV_KEY_MAX - PIV_KEY_HDR)
		goto out;
	n = PIV_KEY_HDR + (size_t)dlen;
	if ((v = sodium_malloc(n)) == NULL)
		goto out;
	v[0] = k->alg;
	v[1] = k->pin_policy;
	v[2] = k->touch_policy;
	v[3] = k->origin;
	q = v + PIV_KEY_HDR;
	if (i2d_PKCS8_PRIV_KEY_INFO(p8, &q) != dlen)
		goto out;
	r = vc_store_put_secret(vc_card_store(card), PIV_APPLET, name, v, n);
out:
	if (v != NULL) {
		sodium_memzero(v, n);
		sodium_free(v);
	}
	PKCS8_PRIV_KEY_INFO_free(p8);
	return r;
}

int
piv_key_delete(piv_state *s, vc_card *card, uint8_t ref)
{
	char name[16];
	int r;

	piv_cache_forget(s, ref);
	piv_key_name(name, sizeof(name), ref);
	r = vc_store_del(vc_card_store(card), PIV_APPLET, name);
	return r == VC_STORE_NOT_FOUND ? VC_STORE_OK : r;
}

uint8_t
piv_key_effective_policy(const piv_key *k, uint8_t ref)
{
	if (k->pin_policy == PIV_PINPOL_DEFAULT)
		return piv_slot_default_policy(ref);
	return k->pin_policy;
}

static void
piv_put_bn(wk_buf *out, uint32_t tag, EVP_PKEY *pkey, const char *param,
    size_t pad)
{
	BIGNUM *bn = NULL;
	size_t n;
	uint8_t *p;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
		wk_buf_fail(out);
		return;
	}
	n = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
	wk_tlv_put_tag(out, tag);
	wk_tlv_put_len(out, n);
	p = wk_buf_reserve(out, n);
	if (p != NULL && BN_bn2binpad(bn, p, (int)n) != (int)n)
		wk_buf_fail(out);
	BN_free(bn);
}

int
piv_key_pub_encode(const piv_key *k, wk_buf *out)
{
	uint8_t pt[128];
	size_t n = 0;

	switch (k->alg) {
	case PIV_ALG_RSA1024:
	case PIV_ALG_RSA2048:
	case PIV_ALG_RSA3072:
	case PIV_ALG_RSA4096:
		piv_put_bn(out, 0x81, k->pkey, OSSL_PKEY_PARAM_RSA_N,
		    (size_t)EVP_PKEY_get_size(k->pkey));
		piv_put_bn(out, 0x82, k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
		break;
	case PIV_ALG_ECCP256:
	case PIV_ALG_ECCP384:
		if (EVP_PKEY_get_octet_string_param(k->pkey,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &n) != 1 ||
		    n == 0 || pt[0] != 0x04)
			return -1;
		wk_tlv_put(out, 0x86, pt, n);
		break;
	case PIV_ALG_ED25519:
	case PIV_ALG_X25519:
		n = sizeof(pt);
		if (EVP_PKEY_get_raw_public_key(k->pkey, pt, &n) != 1 || n != 32)
			return -1;
		wk_tlv_put(out, 0x86, pt, n);
		break;
	default:
		return -1;
	}
	return wk_buf_failed(out) ? -1 : 0;
}

EVP_PKEY *
piv_key_generate(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_RSA1024:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	case PIV_ALG_RSA2048:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case PIV_ALG_RSA3072:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	case PIV_ALG_RSA4096:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	case PIV_ALG_ECCP256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case PIV_ALG_ECCP384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case PIV_ALG_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case PIV_ALG_X25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	default:
		return NULL;
	}
}
