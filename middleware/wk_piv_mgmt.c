/* PIV card management key 9B: authenticate (piv.md 2.7 a/b) and set (FF) */
#include "wk_piv_internal.h"

#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "wk_tlv.h"

#define INS_AUTH 0x87
#define INS_SET_MGMT 0xFF
#define BLOCK_MAX 16

static const EVP_CIPHER *
cipher_of(uint8_t alg, size_t *block)
{
	*block = 16;
	switch (alg) {
	case WK_PIV_ALG_3DES:
		*block = 8;
		return EVP_des_ede3_ecb();
	case WK_PIV_ALG_AES128:
		return EVP_aes_128_ecb();
	case WK_PIV_ALG_AES192:
		return EVP_aes_192_ecb();
	case WK_PIV_ALG_AES256:
		return EVP_aes_256_ecb();
	default:
		return NULL;
	}
}

/* one block, ECB, no padding */
static int
block_crypt(uint8_t alg, const uint8_t *key, const uint8_t *in,
    uint8_t *out, bool encrypt)
{
	EVP_CIPHER_CTX *ctx = NULL;
	const EVP_CIPHER *c;
	size_t block;
	int n = 0, rc = WK_ERR_CRYPTO;

	if ((c = cipher_of(alg, &block)) == NULL)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(ctx, c, NULL, key, NULL, encrypt ? 1 : 0) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)block) != 1 ||
	    (size_t)n != block)
		goto out;
	rc = WK_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* a wrong key shows as 6A80 or 6982 (piv.md 2.7 a) */
static int
auth_rc(int rc)
{
	if (rc == WK_ERR_BAD_DATA || rc == WK_ERR_AUTH_REQUIRED)
		return WK_ERR_AUTH_FAILED;
	return rc;
}

static int
step(wk_piv *piv, uint8_t alg, const uint8_t *cmd, size_t len,
    uint32_t tag, uint8_t *val, size_t block)
{
	uint8_t resp[64];
	const uint8_t *v;
	size_t rlen = sizeof(resp), vlen;
	int rc;

	rc = wk_piv_cmd(piv, INS_AUTH, alg, WK_PIV_SLOT_MGMT, cmd, len, resp,
	    &rlen);
	if (rc != WK_OK)
		goto out;
	if ((rc = wk_piv_parse_auth(resp, rlen, tag, &v, &vlen)) != WK_OK)
		goto out;
	if (vlen != block) {
		rc = WK_ERR_CARD_MALFORMED;
		goto out;
	}
	memcpy(val, v, block);
out:
	sodium_memzero(resp, sizeof(resp));
	return rc;
}

static int
mutual(wk_piv *piv, uint8_t alg, const uint8_t *key, size_t block)
{
	static const uint8_t ask[] = { 0x7C, 0x02, 0x80, 0x00 };
	uint8_t enc[BLOCK_MAX], witness[BLOCK_MAX], chal[BLOCK_MAX];
	uint8_t mine[BLOCK_MAX], theirs[BLOCK_MAX], cmd[4 + 4 * BLOCK_MAX];
	wk_buf b;
	int rc;

	if ((rc = auth_rc(step(piv, alg, ask, sizeof(ask), 0x80, enc,
	    block))) != WK_OK)
		goto out;
	if ((rc = block_crypt(alg, key, enc, witness, false)) != WK_OK)
		goto out;
	randombytes_buf(chal, block);
	wk_buf_init_fixed(&b, cmd, sizeof(cmd));
	wk_tlv_put_tag(&b, 0x7C);
	wk_tlv_put_len(&b, 4 + 2 * block);
	wk_tlv_put(&b, 0x80, witness, block);
	wk_tlv_put(&b, 0x81, chal, block);
	if (wk_buf_failed(&b)) {
		rc = WK_ERR_INTERNAL;
		goto out;
	}
	if ((rc = auth_rc(step(piv, alg, cmd, b.len, 0x82, theirs,
	    block))) != WK_OK)
		goto out;
	if ((rc = block_crypt(alg, key, chal, mine, true)) != WK_OK)
		goto out;
	/* the card must prove it holds the same key */
	rc = sodium_memcmp(mine, theirs, block) == 0 ? WK_OK :
	    WK_ERR_AUTH_FAILED;
out:
	sodium_memzero(witness, sizeof(witness));
	sodium_memzero(chal, sizeof(chal));
	sodium_memzero(mine, sizeof(mine));
	sodium_memzero(cmd, sizeof(cmd));
	return rc;
}

static int
external(wk_piv *piv, uint8_t alg, const uint8_t *key, size_t block)
{
	static const uint8_t ask[] = { 0x7C, 0x02, 0x81, 0x00 };
	uint8_t chal[BLOCK_MAX], enc[BLOCK_MAX], cmd[4 + BLOCK_MAX];
	wk_buf b;
	int rc;

	if ((rc = auth_rc(step(piv, alg, ask, sizeof(ask), 0x81, chal,
	    block))) != WK_OK)
		goto out;
	if ((rc = block_crypt(alg, key, chal, enc, true)) != WK_OK)
		goto out;
	wk_buf_init_fixed(&b, cmd, sizeof(cmd));
	wk_tlv_put_tag(&b, 0x7C);
	wk_tlv_put_len(&b, 2 + block);
	wk_tlv_put(&b, 0x82, enc, block);
	if (wk_buf_failed(&b)) {
		rc = WK_ERR_INTERNAL;
		goto out;
	}
	rc = auth_rc(wk_piv_cmd(piv, INS_AUTH, alg, WK_PIV_SLOT_MGMT, cmd,
	    b.len, NULL, NULL));
out:
	sodium_memzero(enc, sizeof(enc));
	sodium_memzero(cmd, sizeof(cmd));
	return rc;
}

int
wk_piv_authenticate(wk_piv *piv, uint8_t alg, const uint8_t *key,
    size_t len, bool mutual_auth)
{
	wk_piv_metadata md;
	size_t block;
	bool began = false;
	int rc = WK_ERR_ARG;

	if (piv == NULL || key == NULL)
		goto out;
	if ((rc = wk_card_begin(piv->card)) != WK_OK)
		goto out;
	began = true;
	if (alg == 0) {
		/* new ykpiv's way: ask the card, 3DES when it cannot say */
		alg = WK_PIV_ALG_3DES;
		if (wk_piv_get_metadata(piv, WK_PIV_SLOT_MGMT, &md) == WK_OK)
			alg = md.alg;
	}
	rc = WK_ERR_ARG;
	if (cipher_of(alg, &block) == NULL || wk_piv_mgmt_key_len(alg) != len)
		goto out;
	rc = mutual_auth ? mutual(piv, alg, key, block) :
	    external(piv, alg, key, block);
out:
	if (began)
		(void)wk_card_end(piv->card);
	return rc;
}

int
wk_piv_set_mgmt_key(wk_piv *piv, uint8_t alg, const uint8_t *key,
    size_t len, bool touch)
{
	uint8_t data[3 + WK_PIV_MGMT_KEY_MAX];
	int rc = WK_ERR_ARG;

	if (piv == NULL || key == NULL || wk_piv_mgmt_key_len(alg) == 0 ||
	    wk_piv_mgmt_key_len(alg) != len)
		goto out;
	data[0] = alg;
	data[1] = WK_PIV_SLOT_MGMT;
	data[2] = (uint8_t)len;
	memcpy(data + 3, key, len);
	rc = wk_piv_cmd(piv, INS_SET_MGMT, 0xFF, touch ? 0xFE : 0xFF, data,
	    3 + len, NULL, NULL);
out:
	sodium_memzero(data, sizeof(data));
	return rc;
}
