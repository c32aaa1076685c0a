/*
 * session objects in the card's memory behind 4-byte random handles:
 * SM4 session keys (GM/T 0016 7.6.24-7.6.33), CBC-MAC (7.6.38-41, no
 * padding inside, data in whole blocks) and digests (7.6.34-37, SM3 with
 * the Z value when a public key is given). Gone at reset and deselection.
 */
#include <string.h>

#include <sodium.h>

#include "gm_int.h"
#include "vc_cipher.h"
#include "wk_sm2.h"

bool
gm_sym_alg_ok(uint32_t alg)
{
	return alg == WK_GM_SM4_ECB || alg == WK_GM_SM4_CBC ||
	    alg == WK_GM_SM4_CFB || alg == WK_GM_SM4_OFB || alg == WK_GM_SM4_MAC;
}

uint16_t
gm_cont_alg_cmd(vc_card *card, const wk_apdu *cmd, const gm_field *spec,
    size_t n, wk_tlv *f, uint8_t *cid)
{
	uint16_t sw;

	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, n, f)) != WK_SW_OK)
		return sw;
	if (!gm_sym_alg_ok(gm_be32(f[1].value)))
		return WK_SW_WRONG_DATA;
	return gm_cont_find(card, cmd->p1, &f[0], cid);
}

void
gm_obj_free(gm_obj *o)
{
	EVP_CIPHER_CTX_free(o->cctx);
	EVP_MD_CTX_free(o->mctx);
	sodium_memzero(o, sizeof(*o));
}

void
gm_obj_drop_all(gm_state *s)
{
	for (size_t i = 0; i < WK_GM_MAX_OBJECTS; i++)
		gm_obj_free(&s->obj[i]);
}

gm_obj *
gm_obj_new(gm_state *s, vc_card *card, uint8_t type)
{
	gm_obj *o = NULL;
	uint8_t h[4];
	uint32_t v;

	for (size_t i = 0; i < WK_GM_MAX_OBJECTS && o == NULL; i++)
		if (s->obj[i].type == GM_OBJ_FREE)
			o = &s->obj[i];
	if (o == NULL)
		return NULL;
	/* random handles: another process has to guess one to use it */
	do {
		vc_card_random(card, h, sizeof(h));
		v = gm_be32(h);
	} while (v == 0 || gm_obj_find(s, h) != NULL);
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->handle = v;
	return o;
}

gm_obj *
gm_obj_find(gm_state *s, const uint8_t h[4])
{
	uint32_t v = gm_be32(h);

	if (v == 0)
		return NULL;
	for (size_t i = 0; i < WK_GM_MAX_OBJECTS; i++)
		if (s->obj[i].type != GM_OBJ_FREE && s->obj[i].handle == v)
			return &s->obj[i];
	return NULL;
}

uint16_t
gm_obj_new_key(gm_state *s, vc_card *card, uint32_t alg, const uint8_t key[16],
    wk_buf *resp)
{
	gm_obj *o;

	if (!gm_sym_alg_ok(alg))
		return WK_SW_WRONG_DATA;
	if ((o = gm_obj_new(s, card, GM_OBJ_KEY)) == NULL)
		return WK_SW_NO_SPACE;
	o->alg = alg;
	memcpy(o->key, key, sizeof(o->key));
	wk_buf_be32(resp, o->handle);
	return WK_SW_OK;
}

uint16_t
gm_key_set(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_ALG, 4, 4, true },
		{ WK_GM_TAG_DATA, 16, 16, true },
	};
	wk_tlv f[2];
	uint16_t sw;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, 2, f)) != WK_SW_OK)
		return sw;
	return gm_obj_new_key(s, card, gm_be32(f[0].value), f[1].value, resp);
}

/* SKF_ImportSessionKey: a key SM2-encrypted to the container's encryption key */
uint16_t
gm_key_unwrap(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_NAME_MAX, true },
		{ WK_GM_TAG_ALG, 4, 4, true },
		{ WK_GM_TAG_CIPHER, WK_SM2_CIPHER_OVERHEAD + 16,
		    WK_SM2_CIPHER_OVERHEAD + 16, true },
	};
	uint8_t keyst[32], cid;
	wk_tlv f[3];
	wk_buf key;
	EVP_PKEY *k = NULL;
	gm_login *l;
	uint16_t sw;
	int r;

	wk_buf_init_fixed(&key, keyst, sizeof(keyst));
	if ((sw = gm_cont_alg_cmd(card, cmd, spec, 3, f, &cid)) != WK_SW_OK)
		return sw;
	if ((l = gm_login_of(s, cmd->p1)) == NULL || !l->user)
		return WK_SW_SECURITY_STATUS;
	if ((k = gm_key_load(card, cmd->p1, cid, WK_GM_KEY_ENC)) == NULL)
		return WK_SW_RECORD_NOT_FOUND;
	r = wk_sm2_decrypt(k, f[2].value, f[2].len, &key);
	EVP_PKEY_free(k);
	if (r != WK_SM2_OK || key.len != 16)
		sw = r == WK_SM2_OK || r == WK_SM2_DECRYPT ||
		    r == WK_SM2_BAD_INPUT ? WK_SW_WRONG_DATA :
		    WK_SW_MEMORY_FAILURE;
	else
		sw = gm_obj_new_key(s, card, gm_be32(f[1].value), key.p, resp);
	wk_buf_clear(&key);
	return sw;
}

/* SKF_ECCExportSessionKey: a fresh key, SM2-encrypted to the caller's key */
uint16_t
gm_key_wrap(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_NAME_MAX, true },
		{ WK_GM_TAG_ALG, 4, 4, true },
		{ WK_GM_TAG_PUB, 64, 64, true },
	};
	uint8_t key[16], cid;
	wk_tlv f[3];
	EVP_PKEY *k;
	uint16_t sw;

	if ((sw = gm_cont_alg_cmd(card, cmd, spec, 3, f, &cid)) != WK_SW_OK)
		return sw;
	if ((k = wk_sm2_key_pub(f[2].value)) == NULL)
		return WK_SW_WRONG_DATA;
	vc_card_random(card, key, sizeof(key));
	sw = gm_obj_new_key(s, card, gm_be32(f[1].value), key, resp);
	if (sw == WK_SW_OK && wk_sm2_encrypt(k, key, sizeof(key), resp) !=
	    WK_SM2_OK) {
		uint8_t h[4];

		memcpy(h, resp->p, 4);
		gm_obj_free(gm_obj_find(s, h));
		sw = WK_SW_MEMORY_FAILURE;
	}
	EVP_PKEY_free(k);
	sodium_memzero(key, sizeof(key));
	return sw;
}

static const EVP_CIPHER *
gm_cipher_of(uint32_t alg)
{
	static const vc_cipher ciphers[] = {
		{ WK_GM_SM4_ECB, EVP_sm4_ecb },
		{ WK_GM_SM4_CBC, EVP_sm4_cbc },
		{ WK_GM_SM4_CFB, EVP_sm4_cfb128 },
		{ WK_GM_SM4_OFB, EVP_sm4_ofb },
	};

	return vc_cipher_of(ciphers, sizeof(ciphers) / sizeof(ciphers[0]), alg);
}

uint16_t
gm_cipher_init(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_HANDLE, 4, 4, true },
		{ WK_GM_TAG_IV, 16, 16, false },
		{ WK_GM_TAG_PADDING, 1, 1, false },
	};
	static const uint8_t zero_iv[16];
	const EVP_CIPHER *c;
	wk_tlv f[3];
	gm_obj *o, *m;
	uint8_t pad;
	uint16_t sw;

	if (cmd->p1 != 0 || cmd->p2 < WK_GM_OP_ENCRYPT || cmd->p2 > WK_GM_OP_MAC)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, 3, f)) != WK_SW_OK)
		return sw;
	pad = f[2].value != NULL ? f[2].value[0] : 0;
	if (pad > 1)
		return WK_SW_WRONG_DATA;
	if ((o = gm_obj_find(s, f[0].value)) == NULL)
		return WK_SW_REF_NOT_FOUND;
	if (o->type != GM_OBJ_KEY)
		return WK_SW_CONDITIONS;
	if (cmd->p2 == WK_GM_OP_MAC) {
		/* CBC-MAC over whole blocks; nothing padded inside (7.6.38) */
		if (pad != 0)
			return WK_SW_WRONG_DATA;
		if ((m = gm_obj_new(s, card, GM_OBJ_MAC)) == NULL)
			return WK_SW_NO_SPACE;
		m->alg = WK_GM_SM4_MAC;
		memcpy(m->key, o->key, sizeof(m->key));
		memcpy(m->mac, f[1].value != NULL ? f[1].value : zero_iv, 16);
		if ((m->cctx = EVP_CIPHER_CTX_new()) == NULL ||
		    EVP_EncryptInit_ex(m->cctx, EVP_sm4_ecb(), NULL, m->key,
		    NULL) != 1 || EVP_CIPHER_CTX_set_padding(m->cctx, 0) != 1) {
			gm_obj_free(m);
			return WK_SW_MEMORY_FAILURE;
		}
		wk_buf_be32(resp, m->handle);
		return WK_SW_OK;
	}
	if ((c = gm_cipher_of(o->alg)) == NULL)
		return WK_SW_CONDITIONS;
	/* stream modes and ECB/CBC without padding take whole data only */
	if (pad && o->alg != WK_GM_SM4_ECB && o->alg != WK_GM_SM4_CBC)
		return WK_SW_WRONG_DATA;
	if (o->alg != WK_GM_SM4_ECB && f[1].value == NULL)
		return WK_SW_WRONG_DATA;
	if (o->cctx == NULL && (o->cctx = EVP_CIPHER_CTX_new()) == NULL)
		return WK_SW_MEMORY_FAILURE;
	if (EVP_CipherInit_ex(o->cctx, c, NULL, o->key,
	    o->alg == WK_GM_SM4_ECB ? NULL : f[1].value,
	    cmd->p2 == WK_GM_OP_ENCRYPT) != 1 ||
	    EVP_CIPHER_CTX_set_padding(o->cctx, pad) != 1) {
		o->op = 0;
		return WK_SW_MEMORY_FAILURE;
	}
	o->op = cmd->p2;
	o->started = false;
	return WK_SW_OK;
}

static uint16_t
gm_run_cipher(gm_obj *o, uint8_t step, const wk_tlv *data, wk_buf *resp)
{
	uint8_t *p;
	int n = 0, m = 0;

	if (o->op != WK_GM_OP_ENCRYPT && o->op != WK_GM_OP_DECRYPT)
		return WK_SW_CONDITIONS;
	if (step == WK_GM_STEP_ONCE && o->started)
		return WK_SW_CONDITIONS;
	o->started = true;
	if ((p = wk_buf_reserve(resp, data->len + 32)) == NULL)
		return WK_SW_UNKNOWN;
	if (data->len > 0 && EVP_CipherUpdate(o->cctx, p, &n, data->value,
	    (int)data->len) != 1)
		goto fail;
	if (step != WK_GM_STEP_UPDATE) {
		if (EVP_CipherFinal_ex(o->cctx, p + n, &m) != 1)
			goto fail;
		o->op = 0;
	}
	resp->len -= data->len + 32 - (size_t)(n + m);
	return WK_SW_OK;
fail:
	/* a partial block without padding, or a padding that does not check */
	resp->len -= data->len + 32;
	o->op = 0;
	return WK_SW_WRONG_DATA;
}

static uint16_t
gm_run_mac(gm_obj *o, uint8_t step, const wk_tlv *data, wk_buf *resp)
{
	const uint8_t *p = data->value;
	size_t n = data->len;
	uint8_t blk[16], out[16];
	int m;

	if (o->op != 0)
		return WK_SW_CONDITIONS;	/* finished */
	if (step == WK_GM_STEP_ONCE && o->started)
		return WK_SW_CONDITIONS;
	o->started = true;
	while (n > 0) {
		size_t take = 16 - o->part_len < n ? 16 - o->part_len : n;

		memcpy(o->part + o->part_len, p, take);
		o->part_len += take;
		p += take;
		n -= take;
		if (o->part_len == 16) {
			for (size_t i = 0; i < 16; i++)
				blk[i] = o->mac[i] ^ o->part[i];
			if (EVP_EncryptUpdate(o->cctx, out, &m, blk, 16) != 1 ||
			    m != 16)
				return WK_SW_MEMORY_FAILURE;
			memcpy(o->mac, out, 16);
			o->part_len = 0;
		}
	}
	sodium_memzero(blk, sizeof(blk));
	if (step == WK_GM_STEP_UPDATE)
		return WK_SW_OK;
	o->op = 1;
	if (o->part_len != 0)
		return WK_SW_WRONG_LENGTH;	/* not whole blocks */
	wk_buf_add(resp, o->mac, 16);
	return WK_SW_OK;
}

static uint16_t
gm_run_hash(gm_obj *o, uint8_t step, const wk_tlv *data, wk_buf *resp)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (o->op != 0)
		return WK_SW_CONDITIONS;
	if (step == WK_GM_STEP_ONCE && o->started)
		return WK_SW_CONDITIONS;
	o->started = true;
	if (data->len > 0 && EVP_DigestUpdate(o->mctx, data->value,
	    data->len) != 1)
		return WK_SW_MEMORY_FAILURE;
	if (step == WK_GM_STEP_UPDATE)
		return WK_SW_OK;
	o->op = 1;
	if (EVP_DigestFinal_ex(o->mctx, md, &n) != 1)
		return WK_SW_MEMORY_FAILURE;
	wk_buf_add(resp, md, n);
	return WK_SW_OK;
}

uint16_t
gm_data_process(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_HANDLE, 4, 4, true },
		{ WK_GM_TAG_DATA, 0, WK_GM_DATA_MAX, false },
	};
	static const uint8_t none[1];
	wk_tlv f[2];
	gm_obj *o;
	uint16_t sw;

	(void)card;
	if (cmd->p1 != 0 || cmd->p2 > WK_GM_STEP_ONCE)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, 2, f)) != WK_SW_OK)
		return sw;
	if (f[1].value == NULL)
		f[1].value = none;
	if ((o = gm_obj_find(s, f[0].value)) == NULL)
		return WK_SW_REF_NOT_FOUND;
	switch (o->type) {
	case GM_OBJ_KEY:
		return gm_run_cipher(o, cmd->p2, &f[1], resp);
	case GM_OBJ_MAC:
		return gm_run_mac(o, cmd->p2, &f[1], resp);
	case GM_OBJ_HASH:
		return gm_run_hash(o, cmd->p2, &f[1], resp);
	default:
		return WK_SW_CONDITIONS;
	}
}

uint16_t
gm_digest_init(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_ALG, 4, 4, true },
		{ WK_GM_TAG_PUB, 64, 64, false },
		{ WK_GM_TAG_ID, 1, WK_GM_ID_MAX, false },
	};
	uint8_t z[WK_SM2_HASH_LEN];
	const EVP_MD *md;
	wk_tlv f[3];
	gm_obj *o;
	uint32_t alg;
	uint16_t sw;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, 3, f)) != WK_SW_OK)
		return sw;
	alg = gm_be32(f[0].value);
	md = alg == WK_GM_SM3 ? EVP_sm3() : alg == WK_GM_SHA1 ? EVP_sha1() :
	    alg == WK_GM_SHA256 ? EVP_sha256() : NULL;
	/* the Z value is SM3's only, and needs the public key */
	if (md == NULL || (alg != WK_GM_SM3 && f[1].value != NULL) ||
	    (f[2].value != NULL && f[1].value == NULL))
		return WK_SW_WRONG_DATA;
	if (f[1].value != NULL && wk_sm2_z(f[1].value,
	    f[2].value != NULL ? f[2].value : (const uint8_t *)WK_SM2_DEFAULT_ID,
	    f[2].value != NULL ? f[2].len : WK_SM2_DEFAULT_ID_LEN, z) !=
	    WK_SM2_OK)
		return WK_SW_WRONG_DATA;
	if ((o = gm_obj_new(s, card, GM_OBJ_HASH)) == NULL)
		return WK_SW_NO_SPACE;
	o->alg = alg;
	if ((o->mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(o->mctx, md, NULL) != 1 ||
	    (f[1].value != NULL && EVP_DigestUpdate(o->mctx, z, sizeof(z)) != 1)) {
		gm_obj_free(o);
		return WK_SW_MEMORY_FAILURE;
	}
	wk_buf_be32(resp, o->handle);
	return WK_SW_OK;
}

uint16_t
gm_close_handle(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	gm_obj *o;

	(void)resp;
	(void)card;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 4)
		return WK_SW_WRONG_LENGTH;
	if ((o = gm_obj_find(s, cmd->data)) == NULL)
		return WK_SW_REF_NOT_FOUND;
	gm_obj_free(o);
	return WK_SW_OK;
}
