/* PIV asymmetric keys: generate, import, and GENERAL AUTHENTICATE with them */
#include "wk_piv_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_tlv.h"

#define INS_AUTH 0x87
#define INS_GENERATE 0x47
#define INS_IMPORT 0xFE
#define RESULT_MAX (WK_PIV_SIG_MAX + 16)

static bool
key_slot(uint8_t slot)
{
	return slot == WK_PIV_SLOT_AUTH || slot == WK_PIV_SLOT_SIGN ||
	    slot == WK_PIV_SLOT_KEYMGMT || slot == WK_PIV_SLOT_CARDAUTH ||
	    (slot >= WK_PIV_SLOT_RETIRED1 && slot <= WK_PIV_SLOT_RETIRED20);
}

static bool
asym_alg(uint8_t alg)
{
	return wk_piv_alg_bytes(alg) != 0;
}

int
wk_piv_generate(wk_piv *piv, uint8_t slot, uint8_t alg, uint8_t pin_policy,
    uint8_t touch_policy, uint8_t *spki, size_t *spki_len)
{
	uint8_t cmd[16], resp[1024];
	size_t rlen = sizeof(resp);
	wk_buf b;
	size_t mark;
	int rc = WK_ERR_ARG;

	if (piv == NULL || spki == NULL || spki_len == NULL ||
	    !key_slot(slot) || !asym_alg(alg) ||
	    pin_policy > WK_PIV_PIN_POLICY_ALWAYS ||
	    touch_policy > WK_PIV_TOUCH_POLICY_CACHED)
		goto out;
	wk_buf_init_fixed(&b, cmd, sizeof(cmd));
	mark = wk_tlv_begin(&b, 0xAC);
	wk_tlv_put(&b, 0x80, &alg, 1);
	if (pin_policy != WK_PIV_PIN_POLICY_DEFAULT)
		wk_tlv_put(&b, 0xAA, &pin_policy, 1);
	if (touch_policy != WK_PIV_TOUCH_POLICY_DEFAULT)
		wk_tlv_put(&b, 0xAB, &touch_policy, 1);
	wk_tlv_end(&b, mark);
	if (wk_buf_failed(&b)) {
		rc = WK_ERR_INTERNAL;
		goto out;
	}
	rc = wk_piv_cmd(piv, INS_GENERATE, 0x00, slot, cmd, b.len, resp,
	    &rlen);
	if (rc != WK_OK)
		goto out;
	rc = wk_piv_parse_generate(alg, resp, rlen, spki, spki_len);
out:
	return rc;
}

int
wk_piv_import_parts(wk_piv *piv, uint8_t slot, uint8_t alg,
    const wk_piv_key_parts *parts, uint8_t pin_policy, uint8_t touch_policy)
{
	wk_buf b;
	int rc = WK_ERR_ARG;

	wk_buf_init_heap(&b, 2048);
	if (piv == NULL || !key_slot(slot) || !asym_alg(alg))
		goto out;
	rc = wk_piv_build_import(alg, parts, pin_policy, touch_policy, &b);
	if (rc != WK_OK)
		goto out;
	rc = wk_piv_cmd(piv, INS_IMPORT, alg, slot, b.p, b.len, NULL, NULL);
out:
	wk_buf_clear(&b);
	return rc;
}

/* a big number into a wiped buffer, big-endian, minimal length */
static int
bn_param(const EVP_PKEY *pkey, const char *name, uint8_t *out, size_t cap,
    size_t *len)
{
	BIGNUM *bn = NULL;
	int n, rc = WK_ERR_ARG;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		goto out;
	n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > cap)
		goto out;
	if (BN_bn2bin(bn, out) != n)
		goto out;
	*len = (size_t)n;
	rc = WK_OK;
out:
	BN_clear_free(bn);
	return rc;
}

static int
alg_of(const EVP_PKEY *pkey, uint8_t *alg)
{
	char group[32];
	BIGNUM *e = NULL;
	int bits, rc = WK_ERR_ARG;

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*alg = WK_PIV_ALG_ED25519;
	} else if (EVP_PKEY_is_a(pkey, "X25519")) {
		*alg = WK_PIV_ALG_X25519;
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    NULL) != 1)
			goto out;
		if (strcmp(group, "prime256v1") == 0)
			*alg = WK_PIV_ALG_ECCP256;
		else if (strcmp(group, "secp384r1") == 0)
			*alg = WK_PIV_ALG_ECCP384;
		else
			goto out;
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits == 1024)
			*alg = WK_PIV_ALG_RSA1024;
		else if (bits == 2048)
			*alg = WK_PIV_ALG_RSA2048;
		else if (bits == 3072)
			*alg = WK_PIV_ALG_RSA3072;
		else if (bits == 4096)
			*alg = WK_PIV_ALG_RSA4096;
		else
			goto out;
		/* the import format carries no exponent: cards assume 65537 */
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
		    !BN_is_word(e, 65537))
			goto out;
	} else {
		goto out;
	}
	rc = WK_OK;
out:
	BN_free(e);
	return rc;
}

int
wk_piv_import_key(wk_piv *piv, uint8_t slot, const uint8_t *der, size_t len,
    uint8_t pin_policy, uint8_t touch_policy, uint8_t *alg_out)
{
	static const char *const rsa_names[5] = {
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	enum { part_cap = 256 };
	uint8_t mem[5 * part_cap];
	const unsigned char *p = der;
	EVP_PKEY *pkey = NULL;
	wk_piv_key_parts parts;
	uint8_t alg;
	size_t n;
	int rc = WK_ERR_ARG;

	memset(&parts, 0, sizeof(parts));
	if (piv == NULL || der == NULL || len == 0 || len > 16384 ||
	    !key_slot(slot))
		goto out;
	if ((pkey = d2i_AutoPrivateKey(NULL, &p, (long)len)) == NULL)
		goto out;
	if ((rc = alg_of(pkey, &alg)) != WK_OK)
		goto out;
	rc = WK_ERR_ARG;
	if (wk_piv_alg_is_rsa(alg)) {
		for (size_t i = 0; i < 5; i++) {
			if (bn_param(pkey, rsa_names[i], mem + i * part_cap,
			    part_cap, &parts.part_len[i]) != WK_OK)
				goto out;
			parts.part[i] = mem + i * part_cap;
		}
	} else if (wk_piv_alg_is_ec(alg)) {
		if (bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, mem, part_cap,
		    &parts.part_len[0]) != WK_OK)
			goto out;
		parts.part[0] = mem;
	} else {
		n = 32;
		if (EVP_PKEY_get_raw_private_key(pkey, mem, &n) != 1 || n != 32)
			goto out;
		parts.part[0] = mem;
		parts.part_len[0] = 32;
	}
	rc = wk_piv_import_parts(piv, slot, alg, &parts, pin_policy,
	    touch_policy);
	if (rc == WK_OK && alg_out != NULL)
		*alg_out = alg;
out:
	sodium_memzero(mem, sizeof(mem));
	EVP_PKEY_free(pkey);
	return rc;
}

/* GENERAL AUTHENTICATE 7C { 82 00, <tag> in } -> 7C { 82 result } */
static int
private_op(wk_piv *piv, uint8_t slot, uint8_t alg, uint32_t tag,
    const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
	uint8_t *resp = NULL;
	const uint8_t *v;
	size_t rlen = RESULT_MAX, vlen, mark;
	wk_buf b;
	int rc = WK_ERR_ARG;

	wk_buf_init_heap(&b, 8 + 2 * 6 + 65536);
	if (piv == NULL || in == NULL || in_len == 0 || out == NULL ||
	    out_len == NULL || !key_slot(slot) || !asym_alg(alg))
		goto out;
	mark = wk_tlv_begin(&b, 0x7C);
	wk_tlv_put(&b, 0x82, NULL, 0);
	wk_tlv_put(&b, tag, in, in_len);
	wk_tlv_end(&b, mark);
	if (wk_buf_failed(&b))
		goto out;
	rc = WK_ERR_MEMORY;
	if ((resp = malloc(rlen)) == NULL)
		goto out;
	rc = wk_piv_cmd(piv, INS_AUTH, alg, slot, b.p, b.len, resp, &rlen);
	if (rc != WK_OK)
		goto out;
	if ((rc = wk_piv_parse_auth(resp, rlen, 0x82, &v, &vlen)) != WK_OK)
		goto out;
	if (vlen == 0) {
		rc = WK_ERR_CARD_MALFORMED;
		goto out;
	}
	if (vlen > *out_len) {
		*out_len = vlen;
		rc = WK_ERR_ARG;
		goto out;
	}
	memcpy(out, v, vlen);
	*out_len = vlen;
	rc = WK_OK;
out:
	if (resp != NULL) {
		/* decrypted data and shared secrets pass through here */
		sodium_memzero(resp, RESULT_MAX);
		free(resp);
	}
	wk_buf_clear(&b);
	return rc;
}

int
wk_piv_sign(wk_piv *piv, uint8_t slot, uint8_t alg, const uint8_t *in,
    size_t in_len, uint8_t *out, size_t *out_len)
{
	size_t n = in_len;

	if (alg == WK_PIV_ALG_X25519)
		return WK_ERR_ARG;
	if (wk_piv_alg_is_rsa(alg) && in_len != wk_piv_alg_bytes(alg))
		return WK_ERR_ARG;
	/* ECDSA: the leftmost field-size bytes of a longer hash (FIPS 186-4 6.4) */
	if (wk_piv_alg_is_ec(alg) && n > wk_piv_alg_bytes(alg))
		n = wk_piv_alg_bytes(alg);
	return private_op(piv, slot, alg, 0x81, in, n, out, out_len);
}

int
wk_piv_decrypt(wk_piv *piv, uint8_t slot, uint8_t alg, const uint8_t *in,
    size_t in_len, uint8_t *out, size_t *out_len)
{
	if (!wk_piv_alg_is_rsa(alg) || in_len != wk_piv_alg_bytes(alg))
		return WK_ERR_ARG;
	return private_op(piv, slot, alg, 0x81, in, in_len, out, out_len);
}

int
wk_piv_derive(wk_piv *piv, uint8_t slot, uint8_t alg, const uint8_t *peer,
    size_t peer_len, uint8_t *out, size_t *out_len)
{
	if (wk_piv_alg_is_ec(alg)) {
		if (peer == NULL ||
		    peer_len != 1 + 2 * wk_piv_alg_bytes(alg) ||
		    peer[0] != 0x04)
			return WK_ERR_ARG;
	} else if (alg == WK_PIV_ALG_X25519) {
		if (peer_len != 32)
			return WK_ERR_ARG;
	} else {
		return WK_ERR_ARG;
	}
	return private_op(piv, slot, alg, 0x85, peer, peer_len, out, out_len);
}
