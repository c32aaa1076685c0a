/* the GM client, its keys and cryptography (docs/gm.md): containers,
 * certificates, key pairs, signatures, encryption, the session objects
 * (keys, ciphers, digests, agreement); wk_gm.c the device, applications,
 * PINs and files */
#include "wk_gm_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_buf.h"
#include "wk_gm.h"
#include "wk_sm2.h"
#include "wk_tlv.h"

/* ---- containers ---- */

int
wk_gm_cont_create(wk_gm *gm, uint8_t app, const char *name)
{
	return wk_gm_name_cmd(gm, WK_GM_INS_CONT_CREATE, app, 0, name, WK_GM_NAME_MAX,
	    NULL, NULL);
}

int
wk_gm_cont_delete(wk_gm *gm, uint8_t app, const char *name)
{
	return wk_gm_name_cmd(gm, WK_GM_INS_CONT_DELETE, app, 0, name, WK_GM_NAME_MAX,
	    NULL, NULL);
}

int
wk_gm_cont_list(wk_gm *gm, uint8_t app, wk_gm_name *out, size_t cap, size_t *n)
{
	return wk_gm_list_cmd(gm, WK_GM_INS_CONT_LIST, app, false, out, cap, n);
}

int
wk_gm_cont_info(wk_gm *gm, uint8_t app, const char *name, int *type,
    unsigned *flags)
{
	uint8_t r[4];
	size_t n = sizeof(r);
	int rc;

	if ((rc = wk_gm_name_cmd(gm, WK_GM_INS_CONT_INFO, app, 0, name,
	    WK_GM_NAME_MAX, r, &n)) != WK_OK)
		return rc;
	if (n != 2)
		return WK_ERR_CARD_MALFORMED;
	if (type != NULL)
		*type = r[0];
	if (flags != NULL)
		*flags = r[1];
	return WK_OK;
}

int
wk_gm_cert_import(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    const uint8_t *der, size_t len)
{
	wk_buf b;
	int rc;

	if (gm == NULL || !wk_gm_name_ok(cont, WK_GM_NAME_MAX) || der == NULL ||
	    len == 0 || len > WK_GM_CERT_MAX)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_CERT_MAX + 128);
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_tlv_put(&b, WK_GM_TAG_DATA, der, len);
	rc = wk_gm_cmd(gm, WK_GM_INS_CERT_IMPORT, app, sign, &b, NULL, NULL, false);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_cert_export(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t *der, size_t *len)
{
	uint8_t *r;
	size_t n = WK_GM_CERT_MAX + 16;
	int rc;

	if (len == NULL)
		return WK_ERR_ARG;
	if ((r = malloc(n)) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_gm_name_cmd(gm, WK_GM_INS_CERT_EXPORT, app, sign, cont,
	    WK_GM_NAME_MAX, r, &n)) != WK_OK)
		goto out;
	if (der == NULL || *len < n) {
		*len = n;
		rc = der == NULL ? WK_OK : WK_ERR_ARG;
		goto out;
	}
	memcpy(der, r, n);
	*len = n;
out:
	free(r);
	return rc;
}

/* a public key or signature answer: exactly 64 bytes */
static int
sig_answer(int rc, const uint8_t *r, size_t n, uint8_t sig[64])
{
	if (rc != WK_OK)
		return rc;
	if (n != 64)
		return WK_ERR_CARD_MALFORMED;
	memcpy(sig, r, 64);
	return WK_OK;
}

/* GENERATE or PUBLIC KEY of a container's key pair: its public key */
static int
pub_cmd(wk_gm *gm, uint8_t ins, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64])
{
	uint8_t r[80];
	size_t n = sizeof(r);
	int rc;

	if (pub == NULL)
		return WK_ERR_ARG;
	rc = wk_gm_name_cmd(gm, ins, app, sign, cont, WK_GM_NAME_MAX, r, &n);
	return sig_answer(rc, r, n, pub);
}

int
wk_gm_generate(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64])
{
	return pub_cmd(gm, WK_GM_INS_GENERATE, app, cont, sign, pub);
}

int
wk_gm_public_key(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64])
{
	return pub_cmd(gm, WK_GM_INS_PUBLIC_KEY, app, cont, sign, pub);
}

int
wk_gm_import_enveloped(wk_gm *gm, uint8_t app, const char *cont,
    uint32_t sym_alg, uint32_t bits, const uint8_t enc_priv[32],
    const uint8_t pub[64], const uint8_t *cipher, size_t cipher_len)
{
	uint8_t st[512];
	wk_buf b;
	int rc;

	if (gm == NULL || !wk_gm_name_ok(cont, WK_GM_NAME_MAX) || enc_priv == NULL ||
	    pub == NULL || cipher == NULL || cipher_len != 96 + 16)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_gm_put32(&b, WK_GM_TAG_ALG, sym_alg);
	wk_gm_put32(&b, WK_GM_TAG_SIZE, bits);
	wk_tlv_put(&b, WK_GM_TAG_ENC_PRIV, enc_priv, 32);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_CIPHER, cipher, cipher_len);
	rc = wk_gm_cmd(gm, WK_GM_INS_IMPORT_KEY, app, 0, &b, NULL, NULL, true);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_sign(wk_gm *gm, uint8_t app, const char *cont, const uint8_t e[32],
    uint8_t sig[64])
{
	int gm_rc;
	uint8_t st[128], r[80];
	size_t n = sizeof(r);
	wk_buf b;

	if (gm == NULL || !wk_gm_name_ok(cont, WK_GM_NAME_MAX) || e == NULL ||
	    sig == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_tlv_put(&b, WK_GM_TAG_DATA, e, 32);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_SIGN, app, WK_GM_SIGN_DIGEST, &b,
	    r, &n, false);
	return sig_answer(gm_rc, r, n, sig);
}

int
wk_gm_sign_message(wk_gm *gm, uint8_t app, const char *cont,
    const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len,
    uint8_t sig[64])
{
	int gm_rc;
	uint8_t r[80];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || !wk_gm_name_ok(cont, WK_GM_NAME_MAX) || sig == NULL ||
	    (msg == NULL && len > 0) || len > WK_GM_DATA_MAX ||
	    (id != NULL && (id_len == 0 || id_len > WK_GM_ID_MAX)))
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_tlv_put(&b, WK_GM_TAG_DATA, msg, len);
	if (id != NULL)
		wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_SIGN, app, WK_GM_SIGN_MESSAGE, &b,
	    r, &n, false);
	rc = sig_answer(gm_rc, r, n, sig);
	wk_buf_clear(&b);
	return rc;
}

static int
bytes_answer(const uint8_t *r, size_t n, uint8_t *out, size_t *out_len)
{
	if (out == NULL || *out_len < n) {
		*out_len = n;
		return out == NULL ? WK_OK : WK_ERR_ARG;
	}
	memcpy(out, r, n);
	*out_len = n;
	return WK_OK;
}

/* one command whose answer may be as long as a data chunk */
static int
big_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, uint8_t p2, wk_buf *b,
    uint8_t *out, size_t *out_len, bool secret)
{
	uint8_t r[GM_RESP_MAX];
	size_t n = sizeof(r);
	int rc;

	if (out_len == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_gm_cmd(gm, ins, p1, p2, b, r, &n, secret)) == WK_OK)
		rc = bytes_answer(r, n, out, out_len);
	sodium_memzero(r, sizeof(r));
	return rc;
}

int
wk_gm_decrypt(wk_gm *gm, uint8_t app, const char *cont, const uint8_t *cipher,
    size_t len, uint8_t *out, size_t *out_len)
{
	wk_buf b;
	int rc;

	if (gm == NULL || !wk_gm_name_ok(cont, WK_GM_NAME_MAX) || cipher == NULL ||
	    len <= 96 || len > 96 + WK_GM_DATA_MAX)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_tlv_put(&b, WK_GM_TAG_CIPHER, cipher, len);
	rc = big_cmd(gm, WK_GM_INS_DECRYPT, app, 0, &b, out, out_len, true);
	wk_buf_clear(&b);
	return rc;
}

static int
verify_cmd(wk_gm *gm, uint8_t p2, const uint8_t pub[64], const uint8_t *data,
    size_t len, const uint8_t *id, size_t id_len, const uint8_t sig[64])
{
	wk_buf b;
	int rc;

	if (gm == NULL || pub == NULL || sig == NULL ||
	    (data == NULL && len > 0) || len > WK_GM_DATA_MAX ||
	    (id != NULL && (id_len == 0 || id_len > WK_GM_ID_MAX)))
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_DATA, data, len);
	wk_tlv_put(&b, WK_GM_TAG_SIG, sig, 64);
	if (id != NULL)
		wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	rc = wk_gm_cmd(gm, WK_GM_INS_EXT_VERIFY, 0, p2, &b, NULL, NULL, false);
	wk_buf_clear(&b);
	if (rc == WK_ERR_SW && gm->sw == 0x6300)
		rc = WK_ERR_AUTH_FAILED;
	return rc;
}

int
wk_gm_verify(wk_gm *gm, const uint8_t pub[64], const uint8_t e[32],
    const uint8_t sig[64])
{
	if (e == NULL)
		return WK_ERR_ARG;
	return verify_cmd(gm, WK_GM_SIGN_DIGEST, pub, e, 32, NULL, 0, sig);
}

int
wk_gm_verify_message(wk_gm *gm, const uint8_t pub[64], const uint8_t *msg,
    size_t len, const uint8_t *id, size_t id_len, const uint8_t sig[64])
{
	return verify_cmd(gm, WK_GM_SIGN_MESSAGE, pub, msg, len, id, id_len, sig);
}

int
wk_gm_encrypt(wk_gm *gm, const uint8_t pub[64], const uint8_t *in, size_t len,
    uint8_t *out, size_t *out_len)
{
	wk_buf b;
	int rc;

	if (gm == NULL || pub == NULL || in == NULL || len == 0 ||
	    len > WK_GM_DATA_MAX)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_DATA, in, len);
	rc = big_cmd(gm, WK_GM_INS_EXT_ENCRYPT, 0, 0, &b, out, out_len, true);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_ext_sign(wk_gm *gm, const uint8_t d[32], const uint8_t e[32],
    uint8_t sig[64])
{
	int gm_rc;
	uint8_t st[80], r[80];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || d == NULL || e == NULL || sig == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_PRIV, d, 32);
	wk_tlv_put(&b, WK_GM_TAG_DATA, e, 32);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_EXT_SIGN, 0, 0, &b, r, &n, true);
	rc = sig_answer(gm_rc,
	    r, n, sig);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_ext_decrypt(wk_gm *gm, const uint8_t d[32], const uint8_t *cipher,
    size_t len, uint8_t *out, size_t *out_len)
{
	wk_buf b;
	int rc;

	if (gm == NULL || d == NULL || cipher == NULL || len <= 96 ||
	    len > 96 + WK_GM_DATA_MAX)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_PRIV, d, 32);
	wk_tlv_put(&b, WK_GM_TAG_CIPHER, cipher, len);
	rc = big_cmd(gm, WK_GM_INS_EXT_DECRYPT, 0, 0, &b, out, out_len, true);
	wk_buf_clear(&b);
	return rc;
}

/* ---- session objects ---- */

static int
handle_answer(int rc, const uint8_t *r, size_t n, size_t want, uint32_t *h)
{
	if (rc != WK_OK)
		return rc;
	if (n != want)
		return WK_ERR_CARD_MALFORMED;
	*h = wk_gm_be32(r);
	return WK_OK;
}

int
wk_gm_key_set(wk_gm *gm, uint32_t alg, const uint8_t key[16], uint32_t *handle)
{
	int gm_rc;
	uint8_t st[64], r[8];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || key == NULL || handle == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_gm_put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_DATA, key, 16);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_KEY_SET, 0, 0, &b, r, &n, true);
	rc = handle_answer(gm_rc,
	    r, n, 4, handle);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_key_unwrap(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t *cipher, size_t len, uint32_t *handle)
{
	int gm_rc;
	uint8_t st[256], r[8];
	size_t n = sizeof(r);
	wk_buf b;

	if (gm == NULL || !wk_gm_name_ok(cont, WK_GM_NAME_MAX) || cipher == NULL ||
	    len != 96 + 16 || handle == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_gm_put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_CIPHER, cipher, len);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_KEY_UNWRAP, app, 0, &b, r, &n,
	    false);
	return handle_answer(gm_rc, r, n, 4, handle);
}

int
wk_gm_key_wrap(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t pub[64], uint8_t cipher[112], uint32_t *handle)
{
	int gm_rc;
	uint8_t st[160], r[128];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || !wk_gm_name_ok(cont, WK_GM_NAME_MAX) || pub == NULL ||
	    cipher == NULL || handle == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_gm_put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_KEY_WRAP, app, 0, &b, r, &n,
	    false);
	if ((rc = handle_answer(gm_rc, r, n, 4 + 112, handle)) != WK_OK)
		return rc;
	memcpy(cipher, r + 4, 112);
	return WK_OK;
}

int
wk_gm_cipher_init(wk_gm *gm, uint32_t handle, int op, const uint8_t *iv,
    size_t iv_len, bool padding, uint32_t *mac_handle)
{
	uint8_t st[64], r[8], pad = padding ? 1 : 0;
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || op < WK_GM_OP_ENCRYPT || op > WK_GM_OP_MAC ||
	    (iv != NULL && iv_len != 16) ||
	    (op == WK_GM_OP_MAC && mac_handle == NULL))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_gm_put32(&b, WK_GM_TAG_HANDLE, handle);
	if (iv != NULL)
		wk_tlv_put(&b, WK_GM_TAG_IV, iv, 16);
	if (op != WK_GM_OP_MAC)
		wk_tlv_put(&b, WK_GM_TAG_PADDING, &pad, 1);
	rc = wk_gm_cmd(gm, WK_GM_INS_CIPHER_INIT, 0, (uint8_t)op, &b, r, &n, false);
	if (op == WK_GM_OP_MAC)
		return handle_answer(rc, r, n, 4, mac_handle);
	return rc;
}

int
wk_gm_process(wk_gm *gm, uint32_t handle, int step, const uint8_t *in,
    size_t len, uint8_t *out, size_t *out_len)
{
	uint8_t r[GM_RESP_MAX];
	size_t got = 0, done = 0, chunk = 1024;
	wk_buf b;
	int rc, end;

	if (gm == NULL || out == NULL || out_len == NULL ||
	    step < WK_GM_STEP_UPDATE || step > WK_GM_STEP_ONCE ||
	    (in == NULL && len > 0))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(gm->card)) != WK_OK)
		return rc;
	/* pieces of 1 KiB; a one-shot operation becomes updates and a final */
	do {
		size_t take = len - done > chunk ? chunk : len - done;
		bool last = done + take == len;
		int s = !last ? WK_GM_STEP_UPDATE :
		    step == WK_GM_STEP_ONCE && done > 0 ? WK_GM_STEP_FINAL : step;
		size_t n = GM_RESP_MAX;

		wk_buf_init_heap(&b, chunk + 64);
		wk_gm_put32(&b, WK_GM_TAG_HANDLE, handle);
		if (take > 0)
			wk_tlv_put(&b, WK_GM_TAG_DATA, in + done, take);
		rc = wk_gm_cmd(gm, WK_GM_INS_PROCESS, 0, (uint8_t)s, &b, r, &n, true);
		wk_buf_clear(&b);
		if (rc != WK_OK)
			goto out;
		if (got + n > *out_len) {
			rc = WK_ERR_ARG;
			goto out;
		}
		memcpy(out + got, r, n);
		got += n;
		done += take;
	} while (done < len);
	*out_len = got;
	rc = WK_OK;
out:
	end = wk_card_end(gm->card);
	sodium_memzero(r, sizeof(r));
	return rc != WK_OK ? rc : end;
}

int
wk_gm_digest_init(wk_gm *gm, uint32_t alg, const uint8_t *pub,
    const uint8_t *id, size_t id_len, uint32_t *handle)
{
	int gm_rc;
	uint8_t st[256], r[8];
	size_t n = sizeof(r);
	wk_buf b;

	if (gm == NULL || handle == NULL ||
	    (id != NULL && (id_len == 0 || id_len > WK_GM_ID_MAX || pub == NULL)))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_gm_put32(&b, WK_GM_TAG_ALG, alg);
	if (pub != NULL)
		wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	if (id != NULL)
		wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_DIGEST_INIT, 0, 0, &b, r, &n,
	    false);
	return handle_answer(gm_rc, r, n, 4, handle);
}

int
wk_gm_close(wk_gm *gm, uint32_t handle)
{
	uint8_t st[4] = { (uint8_t)(handle >> 24), (uint8_t)(handle >> 16),
	    (uint8_t)(handle >> 8), (uint8_t)handle };
	wk_buf b;

	if (gm == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	b.len = 4;
	return wk_gm_cmd(gm, WK_GM_INS_CLOSE, 0, 0, &b, NULL, NULL, false);
}

static bool
id_ok(const uint8_t *id, size_t len)
{
	return id != NULL && len > 0 && len <= WK_GM_ID_MAX;
}

int
wk_gm_agree_start(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t *id, size_t id_len, uint32_t *handle, uint8_t temp_pub[64])
{
	int gm_rc;
	uint8_t st[256], r[80];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || !wk_gm_name_ok(cont, WK_GM_NAME_MAX) || !id_ok(id, id_len) ||
	    handle == NULL || temp_pub == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_gm_put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_AGREE_START, app, 0, &b, r,
	    &n, false);
	if ((rc = handle_answer(gm_rc, r, n, 68, handle)) != WK_OK)
		return rc;
	memcpy(temp_pub, r + 4, 64);
	return WK_OK;
}

int
wk_gm_agree_respond(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t sponsor_pub[64], const uint8_t sponsor_temp[64],
    const uint8_t *id, size_t id_len, const uint8_t *sponsor_id,
    size_t sponsor_id_len, uint32_t *key, uint8_t temp_pub[64])
{
	int gm_rc;
	uint8_t st[640], r[80];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || !wk_gm_name_ok(cont, WK_GM_NAME_MAX) || sponsor_pub == NULL ||
	    sponsor_temp == NULL || !id_ok(id, id_len) ||
	    !id_ok(sponsor_id, sponsor_id_len) || key == NULL || temp_pub == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_gm_put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_PUB, sponsor_pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_TEMP_PUB, sponsor_temp, 64);
	wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	wk_tlv_put(&b, WK_GM_TAG_PEER_ID, sponsor_id, sponsor_id_len);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_AGREE_RESPOND, app, 0, &b,
	    r, &n, false);
	if ((rc = handle_answer(gm_rc, r, n, 68, key)) != WK_OK)
		return rc;
	memcpy(temp_pub, r + 4, 64);
	return WK_OK;
}

int
wk_gm_agree_finish(wk_gm *gm, uint32_t handle, const uint8_t pub[64],
    const uint8_t temp_pub[64], const uint8_t *id, size_t id_len,
    uint32_t *key)
{
	int gm_rc;
	uint8_t st[512], r[8];
	size_t n = sizeof(r);
	wk_buf b;

	if (gm == NULL || pub == NULL || temp_pub == NULL || !id_ok(id, id_len) ||
	    key == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_gm_put32(&b, WK_GM_TAG_HANDLE, handle);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_TEMP_PUB, temp_pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	gm_rc = wk_gm_cmd(gm, WK_GM_INS_AGREE_FINISH, 0, 0, &b, r, &n,
	    false);
	return handle_answer(gm_rc, r, n, 4, key);
}

/* ---- host-side forms ---- */

int
wk_gm_pub_to_spki(const uint8_t pub[64], uint8_t *der, size_t *len)
{
	EVP_PKEY *k;
	unsigned char *p = NULL;
	int n, rc = WK_ERR_ARG;

	if (pub == NULL || len == NULL)
		return WK_ERR_ARG;
	if ((k = wk_sm2_key_pub(pub)) == NULL)
		return WK_ERR_BAD_DATA;
	if ((n = i2d_PUBKEY(k, &p)) <= 0) {
		rc = WK_ERR_CRYPTO;
		goto out;
	}
	rc = bytes_answer(p, (size_t)n, der, len);
out:
	OPENSSL_free(p);
	EVP_PKEY_free(k);
	return rc;
}

int
wk_gm_pub_from_cert(const uint8_t *der, size_t len, uint8_t pub[64])
{
	const uint8_t *p = der;
	X509 *x;
	EVP_PKEY *k;
	char group[32];
	size_t gn = 0;
	int rc = WK_ERR_BAD_DATA;

	if (der == NULL || pub == NULL)
		return WK_ERR_ARG;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return WK_ERR_BAD_DATA;
	if ((k = X509_get0_pubkey(x)) != NULL &&
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof(group), &gn) == 1 && strcmp(group, "SM2") == 0 &&
	    wk_sm2_key_export(k, pub, NULL) == WK_SM2_OK)
		rc = WK_OK;
	X509_free(x);
	return rc;
}

int
wk_gm_sig_to_der(const uint8_t sig[64], uint8_t *der, size_t *len)
{
	uint8_t st[80];
	wk_buf b;

	if (sig == NULL || len == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	if (wk_sm2_sig_to_der(sig, &b) != WK_SM2_OK)
		return WK_ERR_CRYPTO;
	return bytes_answer(b.p, b.len, der, len);
}

int
wk_gm_sig_from_der(const uint8_t *der, size_t len, uint8_t sig[64])
{
	if (der == NULL || sig == NULL)
		return WK_ERR_ARG;
	return wk_sm2_sig_from_der(der, len, sig) == WK_SM2_OK ? WK_OK :
	    WK_ERR_BAD_DATA;
}

int
wk_gm_cipher_to_der(const uint8_t *raw, size_t raw_len, uint8_t *der,
    size_t *len)
{
	wk_buf b;
	int rc;

	if (raw == NULL || len == NULL)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, raw_len + 64);
	if (wk_sm2_cipher_to_der(raw, raw_len, &b) != WK_SM2_OK)
		rc = WK_ERR_BAD_DATA;
	else
		rc = bytes_answer(b.p, b.len, der, len);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_cipher_from_der(const uint8_t *der, size_t der_len, uint8_t *raw,
    size_t *len)
{
	wk_buf b;
	int rc;

	if (der == NULL || len == NULL)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, der_len);
	if (wk_sm2_cipher_from_der(der, der_len, &b) != WK_SM2_OK)
		rc = WK_ERR_BAD_DATA;
	else
		rc = bytes_answer(b.p, b.len, raw, len);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_digest_e(const uint8_t pub[64], const uint8_t *id, size_t id_len,
    const uint8_t *msg, size_t len, uint8_t e[32])
{
	if (pub == NULL || e == NULL || (msg == NULL && len > 0))
		return WK_ERR_ARG;
	if (id == NULL) {
		id = (const uint8_t *)WK_SM2_DEFAULT_ID;
		id_len = WK_SM2_DEFAULT_ID_LEN;
	}
	switch (wk_sm2_e(pub, id, id_len, msg != NULL ? msg :
	    (const uint8_t *)"", len, e)) {
	case WK_SM2_OK:
		return WK_OK;
	case WK_SM2_BAD_INPUT:
		return WK_ERR_ARG;
	default:
		return WK_ERR_CRYPTO;
	}
}
