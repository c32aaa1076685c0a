/*
 * the card management key 9B: mutual and external authentication, the
 * GET CHALLENGE form (piv.md 2.7 a-c) and Yubico SET MANAGEMENT KEY (4)
 */
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "piv_int.h"
#include "vc_cipher.h"
#include "wk_tlv.h"

#define PIV_MGM_MAX 32

static const uint8_t piv_factory_mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
};

typedef struct piv_mgm {
	uint8_t alg;
	uint8_t key[PIV_MGM_MAX];
	size_t len;
} piv_mgm;

static int
piv_mgm_store(vc_card *card, uint8_t alg, const uint8_t *key, size_t n,
    bool is_default)
{
	uint8_t v[1 + PIV_MGM_MAX];
	int r = -1;

	if (n > PIV_MGM_MAX)
		goto out;
	v[0] = alg;
	memcpy(v + 1, key, n);
	if (vc_store_put_secret(vc_card_store(card), PIV_APPLET, "mgm", v,
	    1 + n) != VC_STORE_OK ||
	    vc_store_put_u64(vc_card_store(card), PIV_APPLET, "mgm.default",
	    is_default) != VC_STORE_OK)
		goto out;
	r = 0;
out:
	sodium_memzero(v, sizeof(v));
	return r;
}

int
piv_mgm_factory(vc_card *card)
{
	return piv_mgm_store(card, PIV_ALG_3DES, piv_factory_mgm,
	    sizeof(piv_factory_mgm), true);
}

static int
piv_mgm_load(vc_card *card, piv_mgm *m)
{
	wk_buf b;
	int r = -1;

	wk_buf_init_heap(&b, 1 + PIV_MGM_MAX);
	if (vc_store_get_secret(vc_card_store(card), PIV_APPLET, "mgm", &b) !=
	    VC_STORE_OK || wk_buf_failed(&b) || b.len < 2)
		goto out;
	m->alg = b.p[0];
	m->len = b.len - 1;
	if (m->len != piv_alg_keylen(m->alg))
		goto out;
	memcpy(m->key, b.p + 1, m->len);
	r = 0;
out:
	wk_buf_clear(&b);
	return r;
}

int
piv_mgm_alg(vc_card *card, uint8_t *alg, bool *is_default)
{
	piv_mgm m;
	uint64_t d = 0;
	int r;

	memset(&m, 0, sizeof(m));
	r = piv_mgm_load(card, &m);
	*alg = m.alg;
	sodium_memzero(&m, sizeof(m));
	(void)vc_store_get_u64(vc_card_store(card), PIV_APPLET, "mgm.default", &d);
	*is_default = d != 0;
	return r;
}

static const EVP_CIPHER *
piv_mgm_cipher(uint8_t alg)
{
	static const vc_cipher ciphers[] = {
		{ PIV_ALG_3DES, EVP_des_ede3_ecb },
		{ PIV_ALG_AES128, EVP_aes_128_ecb },
		{ PIV_ALG_AES192, EVP_aes_192_ecb },
		{ PIV_ALG_AES256, EVP_aes_256_ecb },
	};

	return vc_cipher_of(ciphers, sizeof(ciphers) / sizeof(ciphers[0]), alg);
}

/* one block, ECB, no padding */
static int
piv_mgm_encrypt(const piv_mgm *m, const uint8_t *in, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	const EVP_CIPHER *c = piv_mgm_cipher(m->alg);
	int n = 0, r = -1;
	size_t bs = piv_alg_block(m->alg);

	if (c == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex(ctx, c, NULL, m->key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, in, (int)bs) != 1 || (size_t)n != bs)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* 7C elements 80, 81, 82; each at most once */
typedef struct piv_dyn {
	wk_tlv e[3];
	bool has[3];
} piv_dyn;

static int
piv_dyn_parse(const uint8_t *p, size_t n, piv_dyn *d)
{
	static const uint32_t tags[3] = { 0x80, 0x81, 0x82 };
	int r;

	memset(d, 0, sizeof(*d));
	if (wk_tlv_check(p, n) != WK_TLV_OK)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		r = wk_tlv_find(p, n, tags[i], &d->e[i]);
		if (r == WK_TLV_OK)
			d->has[i] = true;
		else if (r != WK_TLV_MISSING)
			return -1;
	}
	return 0;
}

static uint16_t
piv_mgm_step(piv_state *s, vc_card *card, const piv_mgm *m, const piv_dyn *d,
    wk_buf *resp)
{
	size_t bs = piv_alg_block(m->alg);
	uint8_t blk[16], out[16];
	uint16_t sw = WK_SW_WRONG_DATA;
	size_t mark;
	bool w_ok, c_ok;

	if (d->has[0] && d->e[0].len == 0 && !d->has[1] && !d->has[2]) {
		/* mutual, step 1: encrypted witness */
		s->mgm_auth = false;
		s->witness_len = 0;
		vc_card_random(card, blk, bs);
		if (piv_mgm_encrypt(m, blk, out) != 0) {
			sw = WK_SW_UNKNOWN;
			goto out;
		}
		memcpy(s->witness, blk, bs);
		s->witness_len = bs;
		mark = wk_tlv_begin(resp, 0x7C);
		wk_tlv_put(resp, 0x80, out, bs);
		wk_tlv_end(resp, mark);
		sw = WK_SW_OK;
	} else if (d->has[0] && d->has[1] && d->e[0].len == bs &&
	    d->e[1].len == bs && (!d->has[2] || d->e[2].len == 0)) {
		/* mutual, step 2: the witness is one-shot */
		w_ok = s->witness_len == bs &&
		    sodium_memcmp(s->witness, d->e[0].value, bs) == 0;
		sodium_memzero(s->witness, sizeof(s->witness));
		s->witness_len = 0;
		s->mgm_auth = false;
		if (!w_ok) {
			sw = WK_SW_SECURITY_STATUS;
			goto out;
		}
		if (piv_mgm_encrypt(m, d->e[1].value, out) != 0) {
			sw = WK_SW_UNKNOWN;
			goto out;
		}
		s->mgm_auth = true;
		mark = wk_tlv_begin(resp, 0x7C);
		wk_tlv_put(resp, 0x82, out, bs);
		wk_tlv_end(resp, mark);
		sw = WK_SW_OK;
	} else if (d->has[1] && d->e[1].len == 0 && !d->has[0] && !d->has[2]) {
		/* external step 1, also GET CHALLENGE: repeats overwrite */
		vc_card_random(card, s->challenge, bs);
		s->challenge_len = bs;
		mark = wk_tlv_begin(resp, 0x7C);
		wk_tlv_put(resp, 0x81, s->challenge, bs);
		wk_tlv_end(resp, mark);
		sw = WK_SW_OK;
	} else if (d->has[2] && d->e[2].len == bs && !d->has[0] && !d->has[1]) {
		/* external step 2 */
		c_ok = s->challenge_len == bs &&
		    piv_mgm_encrypt(m, s->challenge, blk) == 0 &&
		    sodium_memcmp(blk, d->e[2].value, bs) == 0;
		sodium_memzero(s->challenge, sizeof(s->challenge));
		s->challenge_len = 0;
		s->mgm_auth = c_ok;
		sw = c_ok ? WK_SW_OK : WK_SW_SECURITY_STATUS;
	}
out:
	sodium_memzero(blk, sizeof(blk));
	sodium_memzero(out, sizeof(out));
	return sw;
}

uint16_t
piv_mgm_auth(piv_state *s, vc_card *card, const wk_apdu *cmd,
    const uint8_t *tmpl, size_t tlen, wk_buf *resp)
{
	piv_mgm m;
	piv_dyn d;
	uint8_t alg = cmd->p1;
	uint16_t sw = WK_SW_UNKNOWN;

	memset(&m, 0, sizeof(m));
	if (piv_dyn_parse(tmpl, tlen, &d) != 0) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (piv_mgm_load(card, &m) != 0) {
		sw = WK_SW_REF_DATA_UNUSABLE;
		goto out;
	}
	/* 00 = the key's own algorithm; 01 is OpenSC's other 3DES id */
	if (alg == PIV_ALG_3DES_DEFAULT)
		alg = m.alg;
	else if (alg == PIV_ALG_3DES_ALT)
		alg = PIV_ALG_3DES;
	if (alg != m.alg) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	sw = piv_mgm_step(s, card, &m, &d, resp);
out:
	sodium_memzero(&m, sizeof(m));
	return sw;
}

/* 00 FF FF <FF|FE> Lc <alg> 9B <len> <key> */
uint16_t
piv_set_mgm(piv_state *s, vc_card *card, const wk_apdu *cmd)
{
	uint8_t alg;
	size_t klen;

	if (cmd->p1 != 0xFF || (cmd->p2 != 0xFF && cmd->p2 != 0xFE))
		return WK_SW_WRONG_P1P2;
	if (!s->mgm_auth)
		return WK_SW_SECURITY_STATUS;
	/* no touch sensor on a virtual card: refuse "touch required" */
	if (cmd->p2 == 0xFE)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc < 3)
		return WK_SW_WRONG_DATA;
	alg = cmd->data[0];
	klen = piv_alg_keylen(alg);
	if (klen == 0 || cmd->data[1] != PIV_REF_MGM || cmd->data[2] != klen ||
	    cmd->lc != 3 + klen)
		return WK_SW_WRONG_DATA;
	if (piv_mgm_store(card, alg, cmd->data + 3, klen,
	    alg == PIV_ALG_3DES && sodium_memcmp(cmd->data + 3, piv_factory_mgm,
	    sizeof(piv_factory_mgm)) == 0) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	return WK_SW_OK;
}
