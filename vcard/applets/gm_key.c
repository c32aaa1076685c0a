/*
 * the containers' SM2 key pairs and what they do: generation on the card,
 * import of an enveloped encryption pair (GM/T 0016 7.6.12), signatures
 * with the Z value of GM/T 0009, decryption, the external-key operations
 * (7.6.14-7.6.19) and the key agreement of GM/T 0003.3 (7.6.20-7.6.22).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit_log.h"
#include "gm_int.h"
#include "wk_sm2.h"

static void
gm_key_name(char *out, size_t cap, uint8_t app, uint8_t cid, char kind,
    int which)
{
	snprintf(out, cap, "a%u.c%u.%c%d", app, cid, kind, which);
}

EVP_PKEY *
gm_key_load(vc_card *card, uint8_t app, uint8_t cid, int which)
{
	uint8_t d[WK_SM2_PRIV_LEN];
	wk_buf b;
	char key[48];
	EVP_PKEY *k = NULL;

	wk_buf_init_fixed(&b, d, sizeof(d));
	gm_key_name(key, sizeof(key), app, cid, 'k', which);
	if (vc_store_get_secret(vc_card_store(card), GM_APPLET, key, &b) ==
	    VC_STORE_OK && b.len == sizeof(d))
		k = wk_sm2_key_priv(d);
	sodium_memzero(d, sizeof(d));
	return k;
}

int
gm_key_pub(vc_card *card, uint8_t app, uint8_t cid, int which, uint8_t pub[64])
{
	wk_buf b;
	char key[48];

	wk_buf_init_fixed(&b, pub, WK_SM2_PUB_LEN);
	gm_key_name(key, sizeof(key), app, cid, 'p', which);
	if (vc_store_get(vc_card_store(card), GM_APPLET, key, &b) != VC_STORE_OK ||
	    b.len != WK_SM2_PUB_LEN)
		return -1;
	return 0;
}

/* stores a key pair in a container and drops the certificate of the old one */
static int
gm_key_save(vc_card *card, uint8_t app, uint8_t cid, int which,
    const uint8_t d[32], const uint8_t pub[64])
{
	vc_store *st = vc_card_store(card);
	char key[48];

	gm_key_name(key, sizeof(key), app, cid, 'k', which);
	if (vc_store_put_secret(st, GM_APPLET, key, d, WK_SM2_PRIV_LEN) !=
	    VC_STORE_OK)
		return -1;
	gm_key_name(key, sizeof(key), app, cid, 'p', which);
	if (vc_store_put(st, GM_APPLET, key, pub, WK_SM2_PUB_LEN) != VC_STORE_OK)
		return -1;
	gm_key_name(key, sizeof(key), app, cid, 'x', which);
	return vc_store_del(st, GM_APPLET, key) == VC_STORE_ERROR ? -1 : 0;
}

static bool
gm_user(gm_state *s, uint8_t app)
{
	gm_login *l = gm_login_of(s, app);

	return l != NULL && l->user;
}

/* P1 = application, the container in field name; the user PIN when asked */
static uint16_t
gm_cont_cmd(gm_state *s, vc_card *card, const wk_apdu *cmd,
    const wk_tlv *name, bool need_user, uint8_t *cid)
{
	uint16_t sw;

	if ((sw = gm_cont_find(card, cmd->p1, name, cid)) != WK_SW_OK)
		return sw;
	if (need_user && !gm_user(s, cmd->p1))
		return WK_SW_SECURITY_STATUS;
	return WK_SW_OK;
}

static uint16_t
gm_raw_name(const wk_apdu *cmd, wk_tlv *name)
{
	if (cmd->lc == 0)
		return WK_SW_WRONG_LENGTH;
	memset(name, 0, sizeof(*name));
	name->value = cmd->data;
	name->len = cmd->lc;
	return WK_SW_OK;
}

uint16_t
gm_key_generate(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	uint8_t d[WK_SM2_PRIV_LEN], pub[WK_SM2_PUB_LEN], cid;
	EVP_PKEY *k = NULL;
	wk_tlv name;
	uint16_t sw;

	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != WK_GM_KEY_ENC && cmd->p2 != WK_GM_KEY_SIGN)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_raw_name(cmd, &name)) != WK_SW_OK ||
	    (sw = gm_cont_cmd(s, card, cmd, &name, true, &cid)) != WK_SW_OK)
		return sw;
	sw = WK_SW_MEMORY_FAILURE;
	if ((k = wk_sm2_generate()) == NULL ||
	    wk_sm2_key_export(k, pub, d) != WK_SM2_OK)
		goto out;
	if (gm_key_save(card, cmd->p1, cid, cmd->p2, d, pub) != 0) {
		vc_store_abort(vc_card_store(card));
		goto out;
	}
	wk_buf_add(resp, pub, sizeof(pub));
	sw = WK_SW_OK;
out:
	sodium_memzero(d, sizeof(d));
	EVP_PKEY_free(k);
	return sw;
}

static int
gm_sm4_ecb_decrypt(const uint8_t key[16], const uint8_t *in, size_t n,
    uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int m = 0, r = -1;

	if (c != NULL && EVP_DecryptInit_ex(c, EVP_sm4_ecb(), NULL, key,
	    NULL) == 1 && EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
	    EVP_DecryptUpdate(c, out, &m, in, (int)n) == 1 && (size_t)m == n)
		r = 0;
	EVP_CIPHER_CTX_free(c);
	return r;
}

/* SKF_ImportECCKeyPair: an encryption pair sealed to the signing key */
uint16_t
gm_key_import(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_NAME_MAX, true },
		{ WK_GM_TAG_ALG, 4, 4, true },
		{ WK_GM_TAG_SIZE, 4, 4, true },
		{ WK_GM_TAG_ENC_PRIV, 32, 32, true },
		{ WK_GM_TAG_PUB, 64, 64, true },
		{ WK_GM_TAG_CIPHER, WK_SM2_CIPHER_OVERHEAD + 16,
		    WK_SM2_CIPHER_OVERHEAD + 16, true },
	};
	uint8_t symst[32], d[WK_SM2_PRIV_LEN], pub[WK_SM2_PUB_LEN], cid;
	wk_tlv f[6];
	wk_buf sym;
	EVP_PKEY *sk = NULL, *ek = NULL;
	uint16_t sw;

	(void)resp;
	wk_buf_init_fixed(&sym, symst, sizeof(symst));
	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, 6, f)) != WK_SW_OK)
		goto out;
	/* GM/T 0016 6.4.10: the symmetric algorithm in ECB mode; 256-bit keys */
	if (gm_be32(f[1].value) != WK_GM_SM4_ECB || gm_be32(f[2].value) != 256) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if ((sw = gm_cont_cmd(s, card, cmd, &f[0], true, &cid)) != WK_SW_OK)
		goto out;
	if ((sk = gm_key_load(card, cmd->p1, cid, WK_GM_KEY_SIGN)) == NULL) {
		sw = WK_SW_RECORD_NOT_FOUND;
		goto out;
	}
	sw = WK_SW_WRONG_DATA;
	if (wk_sm2_decrypt(sk, f[5].value, f[5].len, &sym) != WK_SM2_OK ||
	    sym.len != 16 ||
	    gm_sm4_ecb_decrypt(sym.p, f[3].value, 32, d) != 0 ||
	    (ek = wk_sm2_key_priv(d)) == NULL ||
	    wk_sm2_key_export(ek, pub, NULL) != WK_SM2_OK ||
	    sodium_memcmp(pub, f[4].value, sizeof(pub)) != 0)
		goto out;
	if (gm_key_save(card, cmd->p1, cid, WK_GM_KEY_ENC, d, pub) != 0) {
		vc_store_abort(vc_card_store(card));
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = WK_SW_OK;
out:
	sodium_memzero(d, sizeof(d));
	wk_buf_clear(&sym);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(ek);
	return sw;
}

uint16_t
gm_key_public(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	uint8_t pub[WK_SM2_PUB_LEN], cid;
	wk_tlv name;
	uint16_t sw;

	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != WK_GM_KEY_ENC && cmd->p2 != WK_GM_KEY_SIGN)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_raw_name(cmd, &name)) != WK_SW_OK ||
	    (sw = gm_cont_cmd(s, card, cmd, &name, false, &cid)) != WK_SW_OK)
		return sw;
	if (gm_key_pub(card, cmd->p1, cid, cmd->p2, pub) != 0)
		return WK_SW_RECORD_NOT_FOUND;
	wk_buf_add(resp, pub, sizeof(pub));
	return WK_SW_OK;
}

/* e from a digest (P2 00, 32 bytes) or a message and an id (P2 01) */
static uint16_t
gm_e_of(const wk_apdu *cmd, const uint8_t pub[64], const wk_tlv *data,
    const wk_tlv *id, uint8_t e[32])
{
	if (cmd->p2 == WK_GM_SIGN_DIGEST) {
		if (data->len != WK_SM2_HASH_LEN || id->value != NULL)
			return WK_SW_WRONG_DATA;
		memcpy(e, data->value, WK_SM2_HASH_LEN);
		return WK_SW_OK;
	}
	if (id->value != NULL && id->len == 0)
		return WK_SW_WRONG_DATA;
	if (wk_sm2_e(pub, id->value != NULL ? id->value :
	    (const uint8_t *)WK_SM2_DEFAULT_ID, id->value != NULL ? id->len :
	    WK_SM2_DEFAULT_ID_LEN, data->value, data->len, e) != WK_SM2_OK)
		return WK_SW_MEMORY_FAILURE;
	return WK_SW_OK;
}

/*
 * the record of a signature (docs/audit.md "Signatures and decryptions"),
 * as PIV's: type 32, the card's clock, source the container's key (kind
 * 11), target and terminal SHA-256 of the input as the host sent it (e, or
 * the message), counter the low 16 bits of the GM applet's signature count
 * ("sigs"), which rises in the same store transaction. Within the
 * command's transaction: the signature, the count and the record commit
 * together or not at all.
 */
static int
gm_audit_sign(vc_card *card, uint8_t app, uint8_t cid, const wk_tlv *cont,
    uint8_t form, const uint8_t *in, size_t n)
{
	gm_entry e[WK_GM_MAX_APPS];
	crypto_hash_sha256_state hs;
	uint8_t h[crypto_hash_sha256_BYTES], zero = 0;
	uint64_t sigs = 0;
	size_t na = 0;
	wk_arec r;
	int g;

	memset(&r, 0, sizeof(r));
	g = vc_store_get_u64(vc_card_store(card), GM_APPLET, "sigs", &sigs);
	if ((g != VC_STORE_OK && g != VC_STORE_NOT_FOUND) ||
	    vc_store_put_u64(vc_card_store(card), GM_APPLET, "sigs", sigs + 1) !=
	    VC_STORE_OK ||
	    gm_index_read(card, "apps", false, e, WK_GM_MAX_APPS, &na) != 0)
		return AUDIT_LOG_ERROR;
	r.type = WK_AREC_GM_SIGN;
	r.counter = (uint16_t)(sigs + 1);
	audit_log_stamp(&r);
	crypto_hash_sha256_init(&hs);
	for (size_t i = 0; i < na; i++)
		if (e[i].id == app)
			crypto_hash_sha256_update(&hs, e[i].name, e[i].name_len);
	crypto_hash_sha256_update(&hs, &zero, 1);
	crypto_hash_sha256_update(&hs, cont->value, cont->len);
	crypto_hash_sha256_final(&hs, h);
	r.src[0] = WK_AREC_ACCT_GM;
	r.src[1] = app;
	r.src[2] = cid;
	r.src[3] = WK_GM_KEY_SIGN;
	r.src[4] = form;
	memcpy(r.src + 5, h, 6);
	crypto_hash_sha256(h, in, n);
	r.dst[0] = WK_AREC_ACCT_DIGEST;
	memcpy(r.dst + 1, h, WK_AREC_ACCT_LEN - 1);
	memcpy(r.term_id, h + WK_AREC_ACCT_LEN - 1, sizeof(r.term_id));
	return audit_log_append(card, &r);
}

uint16_t
gm_sign(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_NAME_MAX, true },
		{ WK_GM_TAG_DATA, 0, WK_GM_DATA_MAX, true },
		{ WK_GM_TAG_ID, 1, WK_GM_ID_MAX, false },
	};
	uint8_t e[WK_SM2_HASH_LEN], pub[WK_SM2_PUB_LEN], sig[WK_SM2_SIG_LEN], cid;
	wk_tlv f[3];
	EVP_PKEY *k = NULL;
	uint16_t sw;
	int r;

	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != WK_GM_SIGN_DIGEST && cmd->p2 != WK_GM_SIGN_MESSAGE)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, 3, f)) != WK_SW_OK ||
	    (sw = gm_cont_cmd(s, card, cmd, &f[0], true, &cid)) != WK_SW_OK)
		return sw;
	if (gm_key_pub(card, cmd->p1, cid, WK_GM_KEY_SIGN, pub) != 0 ||
	    (k = gm_key_load(card, cmd->p1, cid, WK_GM_KEY_SIGN)) == NULL)
		return WK_SW_RECORD_NOT_FOUND;
	if ((sw = gm_e_of(cmd, pub, &f[1], &f[2], e)) != WK_SW_OK)
		goto out;
	/* no signature the log could not record (docs/audit.md: a full log
	 * refuses with 6A84 until the issuer acknowledges), as PIV's 9C */
	if ((r = audit_log_room(card)) != AUDIT_LOG_OK) {
		sw = r == AUDIT_LOG_FULL ? WK_SW_NO_SPACE : WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = WK_SW_MEMORY_FAILURE;
	if (wk_sm2_sign(k, e, sig) != WK_SM2_OK ||
	    gm_audit_sign(card, cmd->p1, cid, &f[0], cmd->p2, f[1].value,
	    f[1].len) != AUDIT_LOG_OK)
		goto out;
	wk_buf_add(resp, sig, sizeof(sig));
	sw = WK_SW_OK;
out:
	EVP_PKEY_free(k);
	return sw;
}

uint16_t
gm_decrypt(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_NAME_MAX, true },
		{ WK_GM_TAG_CIPHER, WK_SM2_CIPHER_OVERHEAD + 1,
		    WK_SM2_CIPHER_OVERHEAD + WK_GM_DATA_MAX, true },
	};
	wk_tlv f[2];
	EVP_PKEY *k;
	uint8_t cid;
	int r;
	uint16_t sw;

	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != WK_GM_KEY_ENC)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, 2, f)) != WK_SW_OK ||
	    (sw = gm_cont_cmd(s, card, cmd, &f[0], true, &cid)) != WK_SW_OK)
		return sw;
	if ((k = gm_key_load(card, cmd->p1, cid, WK_GM_KEY_ENC)) == NULL)
		return WK_SW_RECORD_NOT_FOUND;
	r = wk_sm2_decrypt(k, f[1].value, f[1].len, resp);
	EVP_PKEY_free(k);
	if (r == WK_SM2_DECRYPT || r == WK_SM2_BAD_INPUT)
		return WK_SW_WRONG_DATA;
	return r == WK_SM2_OK ? WK_SW_OK : WK_SW_MEMORY_FAILURE;
}

static uint16_t
gm_p1_zero(const wk_apdu *cmd, uint8_t p2max)
{
	return cmd->p1 != 0 || cmd->p2 > p2max ? WK_SW_WRONG_P1P2 : WK_SW_OK;
}

uint16_t
gm_ext_verify(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	static const gm_field spec[] = {
		{ WK_GM_TAG_PUB, 64, 64, true },
		{ WK_GM_TAG_DATA, 0, WK_GM_DATA_MAX, true },
		{ WK_GM_TAG_SIG, 64, 64, true },
		{ WK_GM_TAG_ID, 1, WK_GM_ID_MAX, false },
	};
	uint8_t e[WK_SM2_HASH_LEN];
	wk_tlv f[4];
	EVP_PKEY *k;
	int r;
	uint16_t sw;

	(void)resp;
	(void)state;
	(void)card;
	if ((sw = gm_p1_zero(cmd, WK_GM_SIGN_MESSAGE)) != WK_SW_OK ||
	    (sw = gm_parse(cmd, spec, 4, f)) != WK_SW_OK ||
	    (sw = gm_e_of(cmd, f[0].value, &f[1], &f[3], e)) != WK_SW_OK)
		return sw;
	if ((k = wk_sm2_key_pub(f[0].value)) == NULL)
		return WK_SW_WRONG_DATA;
	r = wk_sm2_verify(k, e, f[2].value);
	EVP_PKEY_free(k);
	if (r == WK_SM2_BAD_SIG)
		return GM_SW_VERIFY_FAILED;
	return r == WK_SM2_OK ? WK_SW_OK : WK_SW_MEMORY_FAILURE;
}

/* EXT ENCRYPT, SIGN, DECRYPT: P1 00, the two fields of spec, and the key
 * the first one gives (a public point, or a private scalar when priv) */
static uint16_t
gm_ext_key(const wk_apdu *cmd, const gm_field spec[2], wk_tlv f[2], bool priv,
    EVP_PKEY **k)
{
	uint16_t sw;

	if ((sw = gm_p1_zero(cmd, 0)) != WK_SW_OK ||
	    (sw = gm_parse(cmd, spec, 2, f)) != WK_SW_OK)
		return sw;
	*k = priv ? wk_sm2_key_priv(f[0].value) : wk_sm2_key_pub(f[0].value);
	return *k == NULL ? WK_SW_WRONG_DATA : WK_SW_OK;
}

uint16_t
gm_ext_encrypt(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	static const gm_field spec[] = {
		{ WK_GM_TAG_PUB, 64, 64, true },
		{ WK_GM_TAG_DATA, 1, WK_GM_DATA_MAX, true },
	};
	wk_tlv f[2];
	EVP_PKEY *k;
	int r;
	uint16_t sw;

	(void)state;
	(void)card;
	if ((sw = gm_ext_key(cmd, spec, f, false, &k)) != WK_SW_OK)
		return sw;
	r = wk_sm2_encrypt(k, f[1].value, f[1].len, resp);
	EVP_PKEY_free(k);
	return r == WK_SM2_OK ? WK_SW_OK : WK_SW_MEMORY_FAILURE;
}

uint16_t
gm_ext_sign(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	static const gm_field spec[] = {
		{ WK_GM_TAG_PRIV, 32, 32, true },
		{ WK_GM_TAG_DATA, 32, 32, true },
	};
	uint8_t sig[WK_SM2_SIG_LEN];
	wk_tlv f[2];
	EVP_PKEY *k;
	int r;
	uint16_t sw;

	(void)state;
	(void)card;
	if ((sw = gm_ext_key(cmd, spec, f, true, &k)) != WK_SW_OK)
		return sw;
	r = wk_sm2_sign(k, f[1].value, sig);
	EVP_PKEY_free(k);
	if (r != WK_SM2_OK)
		return WK_SW_MEMORY_FAILURE;
	wk_buf_add(resp, sig, sizeof(sig));
	return WK_SW_OK;
}

uint16_t
gm_ext_decrypt(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	static const gm_field spec[] = {
		{ WK_GM_TAG_PRIV, 32, 32, true },
		{ WK_GM_TAG_CIPHER, WK_SM2_CIPHER_OVERHEAD + 1,
		    WK_SM2_CIPHER_OVERHEAD + WK_GM_DATA_MAX, true },
	};
	wk_tlv f[2];
	EVP_PKEY *k;
	int r;
	uint16_t sw;

	(void)state;
	(void)card;
	if ((sw = gm_ext_key(cmd, spec, f, true, &k)) != WK_SW_OK)
		return sw;
	r = wk_sm2_decrypt(k, f[1].value, f[1].len, resp);
	EVP_PKEY_free(k);
	if (r == WK_SM2_DECRYPT || r == WK_SM2_BAD_INPUT)
		return WK_SW_WRONG_DATA;
	return r == WK_SM2_OK ? WK_SW_OK : WK_SW_MEMORY_FAILURE;
}

/* ---- key agreement (GM/T 0003.3 6.1, GM/T 0016 7.6.20-22) ---- */

/* a fresh temporary pair */
static int
gm_temp_pair(uint8_t r[32], uint8_t rpub[64])
{
	EVP_PKEY *t = wk_sm2_generate();
	int rc = -1;

	if (t != NULL && wk_sm2_key_export(t, rpub, r) == WK_SM2_OK)
		rc = 0;
	EVP_PKEY_free(t);
	return rc;
}

/* the container's encryption pair as raw d and public key */
static uint16_t
gm_enc_pair(vc_card *card, uint8_t app, uint8_t cid, uint8_t d[32],
    uint8_t pub[64])
{
	EVP_PKEY *k = gm_key_load(card, app, cid, WK_GM_KEY_ENC);
	uint16_t sw = WK_SW_RECORD_NOT_FOUND;

	if (k != NULL && gm_key_pub(card, app, cid, WK_GM_KEY_ENC, pub) == 0)
		sw = wk_sm2_key_export(k, NULL, d) == WK_SM2_OK ? WK_SW_OK :
		    WK_SW_MEMORY_FAILURE;
	EVP_PKEY_free(k);
	return sw;
}

uint16_t
gm_agree_start(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_NAME_MAX, true },
		{ WK_GM_TAG_ALG, 4, 4, true },
		{ WK_GM_TAG_ID, 1, WK_GM_ID_MAX, true },
	};
	uint8_t pub[64], d[32], cid;
	wk_tlv f[3];
	gm_obj *o;
	uint16_t sw;

	if ((sw = gm_cont_alg_cmd(card, cmd, spec, 3, f, &cid)) != WK_SW_OK)
		return sw;
	if (!gm_user(s, cmd->p1))
		return WK_SW_SECURITY_STATUS;
	sw = gm_enc_pair(card, cmd->p1, cid, d, pub);
	sodium_memzero(d, sizeof(d));
	if (sw != WK_SW_OK)
		return sw;
	if ((o = gm_obj_new(s, card, GM_OBJ_AGREE)) == NULL)
		return WK_SW_NO_SPACE;
	if (gm_temp_pair(o->r, o->rpub) != 0) {
		gm_obj_free(o);
		return WK_SW_MEMORY_FAILURE;
	}
	o->alg = gm_be32(f[1].value);
	memcpy(o->id, f[2].value, f[2].len);
	o->id_len = f[2].len;
	o->app = cmd->p1;
	o->cont = cid;
	wk_buf_be32(resp, o->handle);
	wk_buf_add(resp, o->rpub, sizeof(o->rpub));
	return WK_SW_OK;
}

uint16_t
gm_agree_respond(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_NAME_MAX, true },
		{ WK_GM_TAG_ALG, 4, 4, true },
		{ WK_GM_TAG_PUB, 64, 64, true },
		{ WK_GM_TAG_TEMP_PUB, 64, 64, true },
		{ WK_GM_TAG_ID, 1, WK_GM_ID_MAX, true },
		{ WK_GM_TAG_PEER_ID, 1, WK_GM_ID_MAX, true },
	};
	uint8_t pub[64], d[32], r[32], rpub[64], za[32], zb[32], key[16], cid;
	wk_tlv f[6];
	uint16_t sw;
	int k;

	if ((sw = gm_cont_alg_cmd(card, cmd, spec, 6, f, &cid)) != WK_SW_OK)
		return sw;
	if (!gm_user(s, cmd->p1))
		return WK_SW_SECURITY_STATUS;
	if ((sw = gm_enc_pair(card, cmd->p1, cid, d, pub)) != WK_SW_OK)
		goto out;
	sw = WK_SW_MEMORY_FAILURE;
	if (gm_temp_pair(r, rpub) != 0 ||
	    wk_sm2_z(f[2].value, f[5].value, f[5].len, za) != WK_SM2_OK ||
	    wk_sm2_z(pub, f[4].value, f[4].len, zb) != WK_SM2_OK)
		goto out;
	k = wk_sm2_kex(d, r, rpub, f[2].value, f[3].value, za, zb, key,
	    sizeof(key));
	if (k == WK_SM2_BAD_INPUT) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (k != WK_SM2_OK)
		goto out;
	if ((sw = gm_obj_new_key(s, card, gm_be32(f[1].value), key, resp)) !=
	    WK_SW_OK)
		goto out;
	wk_buf_add(resp, rpub, sizeof(rpub));
	sw = WK_SW_OK;
out:
	sodium_memzero(d, sizeof(d));
	sodium_memzero(r, sizeof(r));
	sodium_memzero(key, sizeof(key));
	return sw;
}

uint16_t
gm_agree_finish(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_HANDLE, 4, 4, true },
		{ WK_GM_TAG_PUB, 64, 64, true },
		{ WK_GM_TAG_TEMP_PUB, 64, 64, true },
		{ WK_GM_TAG_ID, 1, WK_GM_ID_MAX, true },
	};
	uint8_t pub[64], d[32], za[32], zb[32], key[16];
	wk_tlv f[4];
	gm_obj *o;
	uint16_t sw;
	int k;

	if ((sw = gm_p1_zero(cmd, 0)) != WK_SW_OK ||
	    (sw = gm_parse(cmd, spec, 4, f)) != WK_SW_OK)
		return sw;
	if ((o = gm_obj_find(s, f[0].value)) == NULL)
		return WK_SW_REF_NOT_FOUND;
	if (o->type != GM_OBJ_AGREE || o->op != 0)
		return WK_SW_CONDITIONS;
	if (!gm_user(s, o->app))
		return WK_SW_SECURITY_STATUS;
	if ((sw = gm_enc_pair(card, o->app, o->cont, d, pub)) != WK_SW_OK)
		goto out;
	sw = WK_SW_MEMORY_FAILURE;
	if (wk_sm2_z(pub, o->id, o->id_len, za) != WK_SM2_OK ||
	    wk_sm2_z(f[1].value, f[3].value, f[3].len, zb) != WK_SM2_OK)
		goto out;
	k = wk_sm2_kex(d, o->r, o->rpub, f[1].value, f[2].value, za, zb, key,
	    sizeof(key));
	if (k == WK_SM2_BAD_INPUT) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (k != WK_SM2_OK)
		goto out;
	/* one key per agreement: the temporary private key is gone */
	o->op = 1;
	sodium_memzero(o->r, sizeof(o->r));
	sw = gm_obj_new_key(s, card, o->alg, key, resp);
out:
	sodium_memzero(d, sizeof(d));
	sodium_memzero(key, sizeof(key));
	return sw;
}
