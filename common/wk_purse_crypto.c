#include "wk_purse_crypto.h"

#include <stdbool.h>
#include <strings.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

/* longest MAC input built here: the load TAC, 24 bytes */
const char *const wk_purse_key_names[WK_PURSE_KEY_N] = {
	"dlk", "dpk", "dtk", "dulk", "duk", "damk", "drpk",
};

#define MSG_MAX 32
#define SM4_BLOCK 16

bool
wk_purse_alg_valid(uint8_t alg)
{
	return alg == WK_PURSE_ALG_3DES || alg == WK_PURSE_ALG_SM4;
}

const char *
wk_purse_alg_name(uint8_t alg)
{
	switch (alg) {
	case WK_PURSE_ALG_3DES:
		return "3des";
	case WK_PURSE_ALG_SM4:
		return "sm4";
	default:
		return NULL;
	}
}

int
wk_purse_alg_parse(const char *name, uint8_t *alg)
{
	if (name == NULL || alg == NULL)
		return -1;
	if (strcasecmp(name, "3des") == 0)
		*alg = WK_PURSE_ALG_3DES;
	else if (strcasecmp(name, "sm4") == 0)
		*alg = WK_PURSE_ALG_SM4;
	else
		return -1;
	return 0;
}

/*
 * OpenSSL 3 keeps single DES in the legacy provider, so single DES runs as
 * DES-EDE3 with K||K||K and 2-key 3DES as DES-EDE3 with K1||K2||K1, both
 * from the default provider.
 */
static int
ecb_ede3(const uint8_t key24[24], const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, fin = 0;
	int rc = WK_PURSE_CRYPTO_ERROR;

	if (len % 8 != 0 || len > (size_t)INT32_MAX) {
		rc = WK_PURSE_CRYPTO_BAD_INPUT;
		goto out;
	}
	if (len == 0) {
		rc = WK_PURSE_CRYPTO_OK;
		goto out;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex(ctx, EVP_des_ede3_ecb(), NULL, key24, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + n, &fin) != 1 ||
	    (size_t)n + (size_t)fin != len)
		goto out;
	rc = WK_PURSE_CRYPTO_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static int
ecb_ede3_decrypt_block(const uint8_t key24[24], const uint8_t in[8],
    uint8_t out[8])
{
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, fin = 0;
	int rc = WK_PURSE_CRYPTO_ERROR;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_DecryptInit_ex(ctx, EVP_des_ede3_ecb(), NULL, key24, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &n, in, 8) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1 || n + fin != 8)
		goto out;
	rc = WK_PURSE_CRYPTO_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static void
expand_single(const uint8_t k[8], uint8_t key24[24])
{
	memcpy(key24, k, 8);
	memcpy(key24 + 8, k, 8);
	memcpy(key24 + 16, k, 8);
}

static void
expand_double(const uint8_t k[16], uint8_t key24[24])
{
	memcpy(key24, k, 16);
	memcpy(key24 + 16, k, 8);
}

int
wk_purse_3des_ecb(const uint8_t key[WK_PURSE_KEY_LEN], const uint8_t *in,
    size_t len, uint8_t *out)
{
	uint8_t key24[24];
	int rc;

	expand_double(key, key24);
	rc = ecb_ede3(key24, in, len, out);
	sodium_memzero(key24, sizeof(key24));
	return rc;
}

/* SM4 with OpenSSL's cipher (GB/T 32907): ECB, or CBC from iv */
static int
sm4_run(const EVP_CIPHER *cipher, const uint8_t key[16], const uint8_t *iv,
    const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, fin = 0;
	int rc = WK_PURSE_CRYPTO_ERROR;

	if (len % SM4_BLOCK != 0 || len > (size_t)INT32_MAX) {
		rc = WK_PURSE_CRYPTO_BAD_INPUT;
		goto out;
	}
	if (len == 0) {
		rc = WK_PURSE_CRYPTO_OK;
		goto out;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex(ctx, cipher, NULL, key, iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + n, &fin) != 1 ||
	    (size_t)n + (size_t)fin != len)
		goto out;
	rc = WK_PURSE_CRYPTO_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
wk_purse_sm4_ecb(const uint8_t key[WK_PURSE_KEY_LEN], const uint8_t *in,
    size_t len, uint8_t *out)
{
	return sm4_run(EVP_sm4_ecb(), key, NULL, in, len, out);
}

/* ISO 9797-1 MAC algorithm 1 with SM4: data padded with method 2 to whole
 * 16-byte blocks, CBC from iv, the left 4 bytes of the last block */
static int
sm4_cbc_mac(const uint8_t key[16], const uint8_t iv[16], const uint8_t *data,
    size_t len, uint8_t mac[WK_PURSE_MAC_LEN])
{
	uint8_t buf[MSG_MAX + 2 * SM4_BLOCK], ct[sizeof(buf)];
	size_t n;
	int rc = WK_PURSE_CRYPTO_BAD_INPUT;

	if (len > MSG_MAX || (data == NULL && len > 0))
		goto out;
	memset(buf, 0, sizeof(buf));
	if (len > 0)
		memcpy(buf, data, len);
	buf[len] = 0x80;
	n = (len / SM4_BLOCK + 1) * SM4_BLOCK;
	if ((rc = sm4_run(EVP_sm4_cbc(), key, iv, buf, n, ct)) ==
	    WK_PURSE_CRYPTO_OK)
		memcpy(mac, ct + n - SM4_BLOCK, WK_PURSE_MAC_LEN);
out:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(ct, sizeof(ct));
	return rc;
}

/*
 * CBC over data padded with ISO 9797-1 method 2, with the 24-byte EDE3 key
 * k24; leaves the last chaining block in state. Block by block through ECB,
 * so that algorithm 3 can finish the last block its own way.
 */
static int
cbc_mac_core(const uint8_t k24[24], const uint8_t iv[8], const uint8_t *data,
    size_t len, uint8_t state[8])
{
	uint8_t block[8];
	size_t off = 0;
	int rc = WK_PURSE_CRYPTO_OK;
	bool done = false;

	memcpy(state, iv, 8);
	while (!done) {
		size_t take = len - off >= 8 ? 8 : len - off;

		memset(block, 0, sizeof(block));
		if (take > 0)
			memcpy(block, data + off, take);
		off += take;
		if (take < 8) {
			block[take] = 0x80;
			done = true;
		}
		for (size_t i = 0; i < 8; i++)
			state[i] ^= block[i];
		if ((rc = ecb_ede3(k24, state, 8, state)) != WK_PURSE_CRYPTO_OK)
			break;
	}
	sodium_memzero(block, sizeof(block));
	return rc;
}

int
wk_purse_mac(const wk_purse_skey *key, const uint8_t *data, size_t len,
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	static const uint8_t zero_iv[SM4_BLOCK];
	uint8_t key24[24], state[8];
	int rc = WK_PURSE_CRYPTO_BAD_INPUT;

	memset(key24, 0, sizeof(key24));
	memset(state, 0, sizeof(state));
	if (key == NULL || (data == NULL && len > 0))
		goto out;
	if (key->alg == WK_PURSE_ALG_SM4) {
		rc = sm4_cbc_mac(key->k, zero_iv, data, len, mac);
		goto out;
	}
	if (key->alg != WK_PURSE_ALG_3DES)
		goto out;
	expand_single(key->k, key24);
	if ((rc = cbc_mac_core(key24, zero_iv, data, len, state)) ==
	    WK_PURSE_CRYPTO_OK)
		memcpy(mac, state, WK_PURSE_MAC_LEN);
out:
	sodium_memzero(key24, sizeof(key24));
	sodium_memzero(state, sizeof(state));
	return rc;
}

int
wk_purse_sm_mac(const uint8_t key[WK_PURSE_KEY_LEN], const uint8_t iv[8],
    const uint8_t *data, size_t len, uint8_t mac[WK_PURSE_MAC_LEN])
{
	uint8_t k1[24], k2[24], state[8];
	int rc = WK_PURSE_CRYPTO_BAD_INPUT;

	if (data == NULL && len > 0)
		goto out;
	expand_single(key, k1);
	expand_single(key + 8, k2);
	/* alg 3: CBC with K1, then the last block decrypted with K2 and
	 * encrypted again with K1; the final K1 pass equals one more ECB */
	if ((rc = cbc_mac_core(k1, iv, data, len, state)) != WK_PURSE_CRYPTO_OK)
		goto out;
	if ((rc = ecb_ede3_decrypt_block(k2, state, state)) != WK_PURSE_CRYPTO_OK)
		goto out;
	if ((rc = ecb_ede3(k1, state, 8, state)) != WK_PURSE_CRYPTO_OK)
		goto out;
	memcpy(mac, state, WK_PURSE_MAC_LEN);
out:
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	sodium_memzero(state, sizeof(state));
	return rc;
}

int
wk_purse_line_mac(uint8_t alg, const uint8_t key[WK_PURSE_KEY_LEN],
    const uint8_t challenge[WK_PURSE_CHALLENGE_LEN], const uint8_t *data,
    size_t len, uint8_t mac[WK_PURSE_MAC_LEN])
{
	uint8_t iv[SM4_BLOCK] = { 0 };

	memcpy(iv, challenge, WK_PURSE_CHALLENGE_LEN);
	switch (alg) {
	case WK_PURSE_ALG_3DES:
		return wk_purse_sm_mac(key, iv, data, len, mac);
	case WK_PURSE_ALG_SM4:
		return sm4_cbc_mac(key, iv, data, len, mac);
	default:
		return WK_PURSE_CRYPTO_BAD_INPUT;
	}
}

int
wk_purse_unblock_mac(uint8_t alg, const uint8_t damk[WK_PURSE_KEY_LEN],
    const uint8_t challenge[WK_PURSE_CHALLENGE_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	static const uint8_t hdr[5] = { 0x84, 0x18, 0x00, 0x00, 0x04 };
	uint8_t iv[SM4_BLOCK] = { 0 };

	memcpy(iv, challenge, WK_PURSE_CHALLENGE_LEN);
	switch (alg) {
	case WK_PURSE_ALG_3DES:
		return wk_purse_sm_mac(damk, iv, hdr, sizeof(hdr), mac);
	case WK_PURSE_ALG_SM4:
		return sm4_cbc_mac(damk, iv, hdr, sizeof(hdr), mac);
	default:
		return WK_PURSE_CRYPTO_BAD_INPUT;
	}
}

int
wk_purse_reload_pin_mac(uint8_t alg, const uint8_t drpk[WK_PURSE_KEY_LEN],
    const uint8_t *pin, size_t pin_len, uint8_t mac[WK_PURSE_MAC_LEN])
{
	wk_purse_skey k;
	int rc;

	if (pin == NULL || pin_len < WK_PURSE_PIN_BCD_MIN ||
	    pin_len > WK_PURSE_PIN_BCD_MAX)
		return WK_PURSE_CRYPTO_BAD_INPUT;
	/* 4.3: 3DES DRPK left8 XOR right8, the same fold as the TAC key; an
	 * SM4 DRPK as an SM4 DTK, itself */
	if ((rc = wk_purse_tac_key(alg, drpk, &k)) == WK_PURSE_CRYPTO_OK)
		rc = wk_purse_mac(&k, pin, pin_len, mac);
	sodium_memzero(&k, sizeof(k));
	return rc;
}

int
wk_purse_reload_pin_script(uint8_t damk_alg,
    const uint8_t damk[WK_PURSE_KEY_LEN], uint8_t drpk_alg,
    const uint8_t drpk[WK_PURSE_KEY_LEN],
    const uint8_t challenge[WK_PURSE_CHALLENGE_LEN], const uint8_t *pin,
    size_t pin_len, uint8_t data[WK_PURSE_RELOAD_DATA_MAX], size_t *len)
{
	uint8_t msg[5 + WK_PURSE_RELOAD_DATA_MAX];
	size_t lc = pin_len + 2 * WK_PURSE_MAC_LEN;
	int rc;

	if (pin == NULL || pin_len < WK_PURSE_PIN_BCD_MIN ||
	    pin_len > WK_PURSE_PIN_BCD_MAX || data == NULL || len == NULL)
		return WK_PURSE_CRYPTO_BAD_INPUT;
	msg[0] = 0x84;
	msg[1] = 0x5E;
	msg[2] = 0x00;
	msg[3] = 0x00;
	msg[4] = (uint8_t)lc;
	memcpy(msg + 5, pin, pin_len);
	if ((rc = wk_purse_reload_pin_mac(drpk_alg, drpk, pin, pin_len,
	    msg + 5 + pin_len)) != WK_PURSE_CRYPTO_OK)
		goto out;
	/* 4.1: Lc already counts the 4 SM-MAC bytes; the line protection
	 * as APPLICATION UNBLOCK's for the DAMK's algorithm */
	if ((rc = wk_purse_line_mac(damk_alg, damk, challenge, msg, 5 + pin_len +
	    WK_PURSE_MAC_LEN, msg + 5 + pin_len + WK_PURSE_MAC_LEN)) !=
	    WK_PURSE_CRYPTO_OK)
		goto out;
	memcpy(data, msg + 5, lc);
	*len = lc;
out:
	sodium_memzero(msg, sizeof(msg));
	return rc;
}

int
wk_purse_tac_key(uint8_t alg, const uint8_t dtk[WK_PURSE_KEY_LEN],
    wk_purse_skey *ktac)
{
	memset(ktac, 0, sizeof(*ktac));
	ktac->alg = alg;
	switch (alg) {
	case WK_PURSE_ALG_3DES:
		for (size_t i = 0; i < 8; i++)
			ktac->k[i] = (uint8_t)(dtk[i] ^ dtk[i + 8]);
		return WK_PURSE_CRYPTO_OK;
	case WK_PURSE_ALG_SM4:
		/* SM4 has one key length: no folding (docs/purse.md "SM4") */
		memcpy(ktac->k, dtk, WK_PURSE_KEY_LEN);
		return WK_PURSE_CRYPTO_OK;
	default:
		return WK_PURSE_CRYPTO_BAD_INPUT;
	}
}

static void
put_be(uint8_t *p, uint32_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/*
 * 4.2: the session key from the transaction data d (len 6 or 8). 3DES
 * takes one 8-byte block (a 6-byte d padded with 80 00, which is where the
 * load's "8000" comes from); SM4 one 16-byte block, d padded the same way
 * (ISO 9797-1 method 2) to 16 bytes (docs/purse.md "SM4")
 */
static int
session_key(uint8_t alg, const uint8_t key[WK_PURSE_KEY_LEN],
    const uint8_t *d, size_t len, wk_purse_skey *sk)
{
	uint8_t in[SM4_BLOCK], out[SM4_BLOCK];
	int rc = WK_PURSE_CRYPTO_BAD_INPUT;

	memset(sk, 0, sizeof(*sk));
	memset(in, 0, sizeof(in));
	memcpy(in, d, len);
	in[len] = 0x80;
	sk->alg = alg;
	switch (alg) {
	case WK_PURSE_ALG_3DES:
		if (len == 8)
			in[8] = 0x00;	/* a whole block: no padding */
		rc = wk_purse_3des_ecb(key, in, 8, out);
		if (rc == WK_PURSE_CRYPTO_OK)
			memcpy(sk->k, out, 8);
		break;
	case WK_PURSE_ALG_SM4:
		rc = wk_purse_sm4_ecb(key, in, SM4_BLOCK, out);
		if (rc == WK_PURSE_CRYPTO_OK)
			memcpy(sk->k, out, SM4_BLOCK);
		break;
	default:
		break;
	}
	if (rc != WK_PURSE_CRYPTO_OK)
		sodium_memzero(sk, sizeof(*sk));
	sodium_memzero(in, sizeof(in));
	sodium_memzero(out, sizeof(out));
	return rc;
}

int
wk_purse_session_key_online(uint8_t alg, const uint8_t key[WK_PURSE_KEY_LEN],
    const uint8_t rnd[WK_PURSE_RND_LEN], uint16_t online_seq,
    wk_purse_skey *sk)
{
	uint8_t in[6];

	memcpy(in, rnd, 4);
	put_be(in + 4, online_seq, 2);
	return session_key(alg, key, in, sizeof(in), sk);
}

int
wk_purse_session_key_purchase(uint8_t alg, const uint8_t dpk[WK_PURSE_KEY_LEN],
    const uint8_t rnd[WK_PURSE_RND_LEN], uint16_t offline_seq,
    const uint8_t term_seq[WK_PURSE_TERM_SEQ_LEN], wk_purse_skey *sk)
{
	uint8_t in[8];

	memcpy(in, rnd, 4);
	put_be(in + 4, offline_seq, 2);
	memcpy(in + 6, term_seq + 2, 2);
	return session_key(alg, dpk, in, sizeof(in), sk);
}

int
wk_purse_diversify(uint8_t alg, const uint8_t mk[WK_PURSE_KEY_LEN],
    const uint8_t *factor, size_t factor_len, uint8_t dk[WK_PURSE_KEY_LEN])
{
	uint8_t in[16];
	int rc;

	if (factor == NULL || factor_len == 0 || !wk_purse_alg_valid(alg))
		return WK_PURSE_CRYPTO_BAD_INPUT;
	memset(in, 0, sizeof(in));
	if (factor_len >= 8)
		memcpy(in, factor + factor_len - 8, 8);
	else
		memcpy(in + 8 - factor_len, factor, factor_len);
	for (size_t i = 0; i < 8; i++)
		in[8 + i] = (uint8_t)~in[i];
	/* 3DES: two blocks, f and NOT f; SM4: the one block f || NOT f */
	rc = alg == WK_PURSE_ALG_SM4 ? wk_purse_sm4_ecb(mk, in, sizeof(in), dk) :
	    wk_purse_3des_ecb(mk, in, sizeof(in), dk);
	if (rc != WK_PURSE_CRYPTO_OK)
		sodium_memzero(dk, WK_PURSE_KEY_LEN);
	sodium_memzero(in, sizeof(in));
	return rc;
}

/*
 * The MAC and TAC inputs (PBOC 3.0 part 2, 4.1 to 4.4): each is a list of
 * fields from one table, in the order the spec lists them. A field's
 * width: balance and amount 4 bytes, seq 2, limit 3, type 1, terminal id 6,
 * terminal seq 4, date 4, time 3.
 */
typedef struct mac_fields {
	uint32_t balance, amount, limit;
	uint16_t seq;
	uint8_t type;
	const uint8_t *term_id, *term_seq, *date, *time;
} mac_fields;

enum { F_END, F_BALANCE, F_SEQ, F_AMOUNT, F_LIMIT, F_TYPE, F_TERM_ID,
	F_TERM_SEQ, F_DATE, F_TIME };

/* old balance, amount, type, terminal: load / unload MAC1 */
static const uint8_t in_load_mac1[] = { F_BALANCE, F_AMOUNT, F_TYPE,
	F_TERM_ID, F_END };
/* amount, type, terminal, date, time: load / unload MAC2, purchase MAC1 */
static const uint8_t in_load_mac2[] = { F_AMOUNT, F_TYPE, F_TERM_ID, F_DATE,
	F_TIME, F_END };
/* new balance, online seq, amount, type, terminal, date, time: load TAC,
 * unload MAC3 */
static const uint8_t in_load_tac[] = { F_BALANCE, F_SEQ, F_AMOUNT, F_TYPE,
	F_TERM_ID, F_DATE, F_TIME, F_END };
static const uint8_t in_purchase_mac2[] = { F_AMOUNT, F_END };
static const uint8_t in_purchase_tac[] = { F_AMOUNT, F_TYPE, F_TERM_ID,
	F_TERM_SEQ, F_DATE, F_TIME, F_END };
static const uint8_t in_update_mac1[] = { F_BALANCE, F_LIMIT, F_TYPE,
	F_TERM_ID, F_END };
static const uint8_t in_update_mac2[] = { F_LIMIT, F_TYPE, F_TERM_ID, F_DATE,
	F_TIME, F_END };
static const uint8_t in_update_tac[] = { F_BALANCE, F_SEQ, F_LIMIT, F_TYPE,
	F_TERM_ID, F_DATE, F_TIME, F_END };

/* the MAC of the fields in list under key */
static int
fields_mac(const wk_purse_skey *key, const uint8_t *list, const mac_fields *f,
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	uint8_t b[MSG_MAX];
	size_t n = 0;
	int rc;

	for (; *list != F_END; list++) {
		switch (*list) {
		case F_BALANCE: put_be(b + n, f->balance, 4); n += 4; break;
		case F_SEQ: put_be(b + n, f->seq, 2); n += 2; break;
		case F_AMOUNT: put_be(b + n, f->amount, 4); n += 4; break;
		case F_LIMIT: put_be(b + n, f->limit, 3); n += 3; break;
		case F_TYPE: b[n++] = f->type; break;
		case F_TERM_ID:
			memcpy(b + n, f->term_id, WK_PURSE_TERM_ID_LEN);
			n += WK_PURSE_TERM_ID_LEN;
			break;
		case F_TERM_SEQ:
			memcpy(b + n, f->term_seq, WK_PURSE_TERM_SEQ_LEN);
			n += WK_PURSE_TERM_SEQ_LEN;
			break;
		case F_DATE:
			memcpy(b + n, f->date, WK_PURSE_DATE_LEN);
			n += WK_PURSE_DATE_LEN;
			break;
		case F_TIME:
			memcpy(b + n, f->time, WK_PURSE_TIME_LEN);
			n += WK_PURSE_TIME_LEN;
			break;
		default:
			break;
		}
	}
	rc = wk_purse_mac(key, b, n, mac);
	sodium_memzero(b, sizeof(b));
	return rc;
}

int
wk_purse_load_mac1(const wk_purse_skey *sk, uint32_t old_balance,
    uint32_t amount, uint8_t type, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	return fields_mac(sk, in_load_mac1, &(mac_fields){ .balance = old_balance,
	    .amount = amount, .type = type, .term_id = term_id }, mac);
}

int
wk_purse_load_mac2(const wk_purse_skey *sk, uint32_t amount,
    uint8_t type, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	return fields_mac(sk, in_load_mac2, &(mac_fields){ .amount = amount,
	    .type = type, .term_id = term_id, .date = date, .time = time }, mac);
}

int
wk_purse_load_tac(const wk_purse_skey *ktac, uint32_t new_balance,
    uint16_t online_seq, uint32_t amount, uint8_t type,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t tac[WK_PURSE_MAC_LEN])
{
	return fields_mac(ktac, in_load_tac, &(mac_fields){
	    .balance = new_balance, .seq = online_seq, .amount = amount,
	    .type = type, .term_id = term_id, .date = date, .time = time }, tac);
}

int
wk_purse_purchase_mac1(const wk_purse_skey *sk, uint32_t amount,
    uint8_t type, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	/* the same field list as the load MAC2 */
	return wk_purse_load_mac2(sk, amount, type, term_id, date, time, mac);
}

int
wk_purse_purchase_mac2(const wk_purse_skey *sk, uint32_t amount,
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	return fields_mac(sk, in_purchase_mac2, &(mac_fields){ .amount = amount },
	    mac);
}

int
wk_purse_purchase_tac(const wk_purse_skey *ktac, uint32_t amount,
    uint8_t type, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t term_seq[WK_PURSE_TERM_SEQ_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t tac[WK_PURSE_MAC_LEN])
{
	return fields_mac(ktac, in_purchase_tac, &(mac_fields){ .amount = amount,
	    .type = type, .term_id = term_id, .term_seq = term_seq, .date = date,
	    .time = time }, tac);
}

int
wk_purse_unload_mac1(const wk_purse_skey *sk, uint32_t old_balance,
    uint32_t amount, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	return wk_purse_load_mac1(sk, old_balance, amount, WK_PURSE_TT_UNLOAD,
	    term_id, mac);
}

int
wk_purse_unload_mac2(const wk_purse_skey *sk, uint32_t amount,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	return wk_purse_load_mac2(sk, amount, WK_PURSE_TT_UNLOAD, term_id, date,
	    time, mac);
}

int
wk_purse_unload_mac3(const wk_purse_skey *sk, uint32_t new_balance,
    uint16_t online_seq, uint32_t amount,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	/* the load TAC's field list under the session key */
	return wk_purse_load_tac(sk, new_balance, online_seq, amount,
	    WK_PURSE_TT_UNLOAD, term_id, date, time, mac);
}

/* the overdraw limit has 3 bytes */
int
wk_purse_update_mac1(const wk_purse_skey *sk, uint32_t balance,
    uint32_t old_limit, const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	if (old_limit > 0xFFFFFFu)
		return WK_PURSE_CRYPTO_BAD_INPUT;
	return fields_mac(sk, in_update_mac1, &(mac_fields){ .balance = balance,
	    .limit = old_limit, .type = WK_PURSE_TT_ED_UPDATE,
	    .term_id = term_id }, mac);
}

int
wk_purse_update_mac2(const wk_purse_skey *sk, uint32_t new_limit,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t mac[WK_PURSE_MAC_LEN])
{
	if (new_limit > 0xFFFFFFu)
		return WK_PURSE_CRYPTO_BAD_INPUT;
	return fields_mac(sk, in_update_mac2, &(mac_fields){ .limit = new_limit,
	    .type = WK_PURSE_TT_ED_UPDATE, .term_id = term_id, .date = date,
	    .time = time }, mac);
}

int
wk_purse_update_tac(const wk_purse_skey *ktac, uint32_t new_balance,
    uint16_t online_seq, uint32_t new_limit,
    const uint8_t term_id[WK_PURSE_TERM_ID_LEN],
    const uint8_t date[WK_PURSE_DATE_LEN], const uint8_t time[WK_PURSE_TIME_LEN],
    uint8_t tac[WK_PURSE_MAC_LEN])
{
	if (new_limit > 0xFFFFFFu)
		return WK_PURSE_CRYPTO_BAD_INPUT;
	return fields_mac(ktac, in_update_tac, &(mac_fields){
	    .balance = new_balance, .seq = online_seq, .limit = new_limit,
	    .type = WK_PURSE_TT_ED_UPDATE, .term_id = term_id, .date = date,
	    .time = time }, tac);
}
