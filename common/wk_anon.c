/* semi-anonymous payments: message formats and their cryptography (wk_anon.h) */
#include "wk_anon.h"

#include <string.h>

#include <sodium.h>

#include "wk_buf.h"

/* a length-prefixed string of 1..max bytes, NUL-terminated into out */
static int
get_str(wk_cur *c, char *out, size_t max)
{
	uint8_t n;
	const uint8_t *p;

	if (wk_cur_u8(c, &n) != 0 || n == 0 || n > max ||
	    wk_cur_take(c, n, &p) != 0)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL)
		return -1;
	return 0;
}

static void
put_str(wk_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255) {
		wk_buf_fail(b);
		return;
	}
	wk_buf_u8(b, (uint8_t)n);
	wk_buf_add(b, s, n);
}

static int
magic(wk_cur *c, const char *m)
{
	const uint8_t *p;
	size_t n = strlen(m);

	if (wk_cur_take(c, n, &p) != 0 || memcmp(p, m, n) != 0)
		return -1;
	return 0;
}

bool
wk_anon_manager_ok(const char *id)
{
	size_t n;

	if (id == NULL || (n = strlen(id)) == 0 || n > WK_ANON_MANAGER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
			return false;
	return true;
}

bool
wk_anon_account_ok(const char *acct)
{
	const char *dash;
	char mgr[WK_ANON_MANAGER_MAX + 1];
	size_t m;

	if (acct == NULL || strlen(acct) > WK_ANON_ACCT_MAX ||
	    (dash = strchr(acct, '-')) == NULL)
		return false;
	m = (size_t)(dash - acct);
	if (m == 0 || m > WK_ANON_MANAGER_MAX)
		return false;
	memcpy(mgr, acct, m);
	mgr[m] = '\0';
	if (!wk_anon_manager_ok(mgr) || strlen(dash + 1) != 16)
		return false;
	for (const char *p = dash + 1; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int
wk_anon_account_manager(const char *acct, char *out, size_t cap)
{
	size_t m;

	if (!wk_anon_account_ok(acct))
		return WK_ANON_MALFORMED;
	m = (size_t)(strchr(acct, '-') - acct);
	if (m >= cap)
		return WK_ANON_ARG;
	memcpy(out, acct, m);
	out[m] = '\0';
	return WK_ANON_OK;
}

int
wk_anon_tx_encode(const wk_anon_tx *tx, uint8_t *out, size_t cap, size_t *len)
{
	wk_buf b;

	/* what wk_anon_tx_decode refuses is never made */
	if (!wk_anon_account_ok(tx->payer) || !wk_anon_account_ok(tx->payee) ||
	    tx->amount == 0 || tx->amount > WK_ANON_AMOUNT_MAX ||
	    strcmp(tx->payer, tx->payee) == 0)
		return WK_ANON_ARG;
	wk_buf_init_fixed(&b, out, cap);
	wk_buf_add(&b, WK_ANON_TX_MAGIC, strlen(WK_ANON_TX_MAGIC));
	put_str(&b, tx->payer);
	put_str(&b, tx->payee);
	wk_buf_be64(&b, tx->amount);
	wk_buf_be64(&b, tx->time);
	wk_buf_be64(&b, tx->counter);
	wk_buf_add(&b, tx->nonce, sizeof(tx->nonce));
	if (wk_buf_failed(&b))
		return WK_ANON_ARG;
	*len = b.len;
	return WK_ANON_OK;
}

int
wk_anon_tx_decode(const uint8_t *p, size_t len, wk_anon_tx *tx)
{
	wk_cur c;

	memset(tx, 0, sizeof(*tx));
	wk_cur_init(&c, p, len);
	if (magic(&c, WK_ANON_TX_MAGIC) != 0 ||
	    get_str(&c, tx->payer, WK_ANON_ACCT_MAX) != 0 ||
	    get_str(&c, tx->payee, WK_ANON_ACCT_MAX) != 0 ||
	    wk_cur_be64(&c, &tx->amount) != 0 ||
	    wk_cur_be64(&c, &tx->time) != 0 ||
	    wk_cur_be64(&c, &tx->counter) != 0 ||
	    wk_cur_copy(&c, tx->nonce, sizeof(tx->nonce)) != 0 || c.len != 0)
		return WK_ANON_MALFORMED;
	if (!wk_anon_account_ok(tx->payer) || !wk_anon_account_ok(tx->payee) ||
	    tx->amount == 0 || tx->amount > WK_ANON_AMOUNT_MAX ||
	    strcmp(tx->payer, tx->payee) == 0)
		return WK_ANON_MALFORMED;
	return WK_ANON_OK;
}

void
wk_anon_txid(const uint8_t *txinfo, size_t len, uint8_t out[WK_ANON_TXID_LEN])
{
	crypto_hash_sha256(out, txinfo, len);
}

int
wk_anon_req_encode(const uint8_t *txinfo, size_t txlen,
    const uint8_t txcred[WK_ANON_SIG_LEN], const uint8_t *idcred, size_t idlen,
    uint8_t *out, size_t cap, size_t *len)
{
	wk_buf b;

	/* the decoder takes an identity credential of its one length only */
	if (txlen > WK_ANON_TXINFO_MAX || idlen != WK_ANON_IDCRED_LEN)
		return WK_ANON_ARG;
	wk_buf_init_fixed(&b, out, cap);
	wk_buf_be16(&b, (uint16_t)txlen);
	wk_buf_add(&b, txinfo, txlen);
	wk_buf_add(&b, txcred, WK_ANON_SIG_LEN);
	wk_buf_be16(&b, (uint16_t)idlen);
	wk_buf_add(&b, idcred, idlen);
	if (wk_buf_failed(&b))
		return WK_ANON_ARG;
	*len = b.len;
	return WK_ANON_OK;
}

int
wk_anon_req_decode(const uint8_t *p, size_t len, const uint8_t **txinfo,
    size_t *txlen, const uint8_t **txcred, const uint8_t **idcred,
    size_t *idlen)
{
	wk_cur c;
	uint16_t n, m;

	wk_cur_init(&c, p, len);
	if (wk_cur_be16(&c, &n) != 0 || n > WK_ANON_TXINFO_MAX ||
	    wk_cur_take(&c, n, txinfo) != 0 ||
	    wk_cur_take(&c, WK_ANON_SIG_LEN, txcred) != 0 ||
	    wk_cur_be16(&c, &m) != 0 || m != WK_ANON_IDCRED_LEN ||
	    wk_cur_take(&c, m, idcred) != 0 || c.len != 0)
		return WK_ANON_MALFORMED;
	*txlen = n;
	*idlen = m;
	return WK_ANON_OK;
}

int
wk_anon_business_key(const uint8_t secret[32], const uint8_t peer[32],
    const uint8_t card_pub[32], const uint8_t mgr_pub[32], uint8_t key[32])
{
	uint8_t shared[crypto_scalarmult_BYTES];
	crypto_generichash_state st;
	int rc = WK_ANON_CRYPTO;

	/* fails on a low-order point: an all-zero shared secret */
	if (crypto_scalarmult(shared, secret, peer) != 0)
		goto out;
	if (crypto_generichash_init(&st, (const uint8_t *)"WKANON-BK/1", 11,
	    32) != 0 ||
	    crypto_generichash_update(&st, shared, sizeof(shared)) != 0 ||
	    crypto_generichash_update(&st, card_pub, 32) != 0 ||
	    crypto_generichash_update(&st, mgr_pub, 32) != 0 ||
	    crypto_generichash_final(&st, key, 32) != 0)
		goto out;
	rc = WK_ANON_OK;
out:
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(&st, sizeof(st));
	return rc;
}

static void
env_header(wk_buf *b, uint8_t kind, const char *acct,
    const uint8_t nonce[WK_ANON_AEAD_NONCE])
{
	wk_buf_add(b, WK_ANON_REQ_MAGIC, strlen(WK_ANON_REQ_MAGIC));
	wk_buf_u8(b, kind);
	put_str(b, acct);
	wk_buf_add(b, nonce, WK_ANON_AEAD_NONCE);
}

int
wk_anon_env_seal(uint8_t kind, const char *acct, const uint8_t key[32],
    const uint8_t nonce[WK_ANON_AEAD_NONCE], const uint8_t *plain, size_t plen,
    uint8_t *out, size_t cap, size_t *len)
{
	wk_buf b;
	size_t hdr;
	uint8_t *ct;
	unsigned long long clen;

	if (!wk_anon_account_ok(acct) || plen > WK_ANON_REQ_PLAIN_MAX ||
	    (kind != WK_ANON_ENV_PAY && kind != WK_ANON_ENV_QUERY))
		return WK_ANON_ARG;
	wk_buf_init_fixed(&b, out, cap);
	env_header(&b, kind, acct, nonce);
	hdr = b.len;
	if ((ct = wk_buf_reserve(&b, plen + WK_ANON_AEAD_TAG)) == NULL ||
	    wk_buf_failed(&b))
		return WK_ANON_ARG;
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, plain, plen, out,
	    hdr, NULL, nonce, key);
	*len = b.len;
	return WK_ANON_OK;
}

/* the header's length, kind and account */
static int
env_parse(const uint8_t *p, size_t len, uint8_t *kind, char *acct,
    size_t *hdr, const uint8_t **nonce)
{
	wk_cur c;

	wk_cur_init(&c, p, len);
	if (magic(&c, WK_ANON_REQ_MAGIC) != 0 || wk_cur_u8(&c, kind) != 0 ||
	    (*kind != WK_ANON_ENV_PAY && *kind != WK_ANON_ENV_QUERY) ||
	    get_str(&c, acct, WK_ANON_ACCT_MAX) != 0 ||
	    !wk_anon_account_ok(acct) ||
	    wk_cur_take(&c, WK_ANON_AEAD_NONCE, nonce) != 0 ||
	    c.len < WK_ANON_AEAD_TAG)
		return WK_ANON_MALFORMED;
	*hdr = len - c.len;
	return WK_ANON_OK;
}

int
wk_anon_env_peek(const uint8_t *p, size_t len, uint8_t *kind, char *acct,
    size_t acap)
{
	char a[WK_ANON_ACCT_MAX + 1];
	const uint8_t *nonce;
	size_t hdr;

	if (acap < sizeof(a))
		return WK_ANON_ARG;
	if (env_parse(p, len, kind, a, &hdr, &nonce) != WK_ANON_OK)
		return WK_ANON_MALFORMED;
	memcpy(acct, a, sizeof(a));
	return WK_ANON_OK;
}

int
wk_anon_env_open(const uint8_t *p, size_t len, const uint8_t key[32],
    uint8_t *plain, size_t cap, size_t *plen)
{
	char a[WK_ANON_ACCT_MAX + 1];
	const uint8_t *nonce;
	unsigned long long n;
	size_t hdr;
	uint8_t kind;

	if (env_parse(p, len, &kind, a, &hdr, &nonce) != WK_ANON_OK)
		return WK_ANON_MALFORMED;
	if (len - hdr - WK_ANON_AEAD_TAG > cap)
		return WK_ANON_MALFORMED;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &n, NULL, p + hdr,
	    len - hdr, p, hdr, nonce, key) != 0)
		return WK_ANON_CRYPTO;
	*plen = (size_t)n;
	return WK_ANON_OK;
}

int
wk_anon_idcred_seal(const uint8_t txid[32], const uint8_t features[32],
    const uint8_t idk_secret[64], const uint8_t authority_pub[32],
    uint8_t out[WK_ANON_IDCRED_LEN])
{
	uint8_t plain[WK_ANON_IDPLAIN_LEN];
	size_t tbs = WK_ANON_IDPLAIN_LEN - WK_ANON_SIG_LEN;
	int rc = WK_ANON_CRYPTO;

	memcpy(plain, WK_ANON_ID_MAGIC, 11);
	memcpy(plain + 11, txid, 32);
	memcpy(plain + 43, features, 32);
	if (crypto_sign_detached(plain + tbs, NULL, plain, tbs, idk_secret) != 0 ||
	    crypto_box_seal(out, plain, sizeof(plain), authority_pub) != 0)
		goto out;
	rc = WK_ANON_OK;
out:
	sodium_memzero(plain, sizeof(plain));
	return rc;
}

int
wk_anon_idcred_open(const uint8_t *p, size_t len, const uint8_t box_pub[32],
    const uint8_t box_secret[32], const uint8_t idk_pub[32],
    const uint8_t txid[32], uint8_t features[32])
{
	uint8_t plain[WK_ANON_IDPLAIN_LEN];
	size_t tbs = WK_ANON_IDPLAIN_LEN - WK_ANON_SIG_LEN;
	int rc = WK_ANON_MALFORMED;

	if (len != WK_ANON_IDCRED_LEN)
		return WK_ANON_MALFORMED;
	if (crypto_box_seal_open(plain, p, len, box_pub, box_secret) != 0) {
		rc = WK_ANON_CRYPTO;
		goto out;
	}
	if (memcmp(plain, WK_ANON_ID_MAGIC, 11) != 0)
		goto out;
	if (crypto_sign_verify_detached(plain + tbs, plain, tbs, idk_pub) != 0 ||
	    sodium_memcmp(plain + 11, txid, 32) != 0) {
		rc = WK_ANON_CRYPTO;
		goto out;
	}
	memcpy(features, plain + 43, 32);
	rc = WK_ANON_OK;
out:
	sodium_memzero(plain, sizeof(plain));
	return rc;
}

void
wk_anon_features(const uint8_t salt[16], const char *name,
    const char *id_number, uint8_t out[32])
{
	crypto_hash_sha256_state st;
	const uint8_t zero = 0;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)WK_ANON_FEAT_MAGIC,
	    strlen(WK_ANON_FEAT_MAGIC));
	crypto_hash_sha256_update(&st, salt, 16);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)id_number,
	    strlen(id_number));
	crypto_hash_sha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

static int
result_body(const wk_anon_result *r, wk_buf *b)
{
	size_t n = strlen(r->reason);

	if (n > WK_ANON_REASON_MAX || r->status < WK_ANON_COMMITTED ||
	    r->status > WK_ANON_VOID)
		return WK_ANON_ARG;
	/* printable ASCII only, as wk_anon_result_decode takes: a card could
	 * never settle its payment with a result it cannot parse */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r->reason[i] < 0x20 ||
		    (unsigned char)r->reason[i] > 0x7E)
			return WK_ANON_ARG;
	wk_buf_add(b, WK_ANON_RES_MAGIC, strlen(WK_ANON_RES_MAGIC));
	wk_buf_add(b, r->txid, WK_ANON_TXID_LEN);
	wk_buf_u8(b, r->status);
	wk_buf_be64(b, r->amount);
	wk_buf_be64(b, (uint64_t)r->balance);
	wk_buf_be64(b, r->time);
	wk_buf_u8(b, (uint8_t)n);
	wk_buf_add(b, r->reason, n);
	return wk_buf_failed(b) ? WK_ANON_ARG : WK_ANON_OK;
}

int
wk_anon_result_sign(const wk_anon_result *r, const uint8_t sk[64],
    uint8_t *out, size_t cap, size_t *len)
{
	wk_buf b;
	uint8_t *sig;
	size_t tbs;

	wk_buf_init_fixed(&b, out, cap);
	if (result_body(r, &b) != WK_ANON_OK)
		return WK_ANON_ARG;
	tbs = b.len;
	if ((sig = wk_buf_reserve(&b, WK_ANON_SIG_LEN)) == NULL)
		return WK_ANON_ARG;
	crypto_sign_detached(sig, NULL, out, tbs, sk);
	*len = b.len;
	return WK_ANON_OK;
}

int
wk_anon_result_decode(const uint8_t *p, size_t len, wk_anon_result *r)
{
	wk_cur c;
	uint64_t bal;
	uint8_t n;
	const uint8_t *s;

	memset(r, 0, sizeof(*r));
	wk_cur_init(&c, p, len);
	if (magic(&c, WK_ANON_RES_MAGIC) != 0 ||
	    wk_cur_copy(&c, r->txid, WK_ANON_TXID_LEN) != 0 ||
	    wk_cur_u8(&c, &r->status) != 0 || r->status < WK_ANON_COMMITTED ||
	    r->status > WK_ANON_VOID || wk_cur_be64(&c, &r->amount) != 0 ||
	    wk_cur_be64(&c, &bal) != 0 || wk_cur_be64(&c, &r->time) != 0 ||
	    wk_cur_u8(&c, &n) != 0 || n > WK_ANON_REASON_MAX ||
	    wk_cur_take(&c, n, &s) != 0 || c.len != WK_ANON_SIG_LEN)
		return WK_ANON_MALFORMED;
	memcpy(r->reason, s, n);
	r->reason[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7E)
			return WK_ANON_MALFORMED;
	r->balance = (int64_t)bal;
	return WK_ANON_OK;
}

int
wk_anon_result_verify(const uint8_t *p, size_t len, const uint8_t pk[32],
    wk_anon_result *r)
{
	int rc;

	if ((rc = wk_anon_result_decode(p, len, r)) != WK_ANON_OK)
		return rc;
	if (crypto_sign_verify_detached(p + len - WK_ANON_SIG_LEN, p,
	    len - WK_ANON_SIG_LEN, pk) != 0)
		return WK_ANON_CRYPTO;
	return WK_ANON_OK;
}

int
wk_anon_stmt_sign(const char *acct, const uint8_t card_id[8],
    const uint8_t bk_pub[32], const uint8_t sk[64], uint8_t *out, size_t cap,
    size_t *len)
{
	wk_buf b;
	uint8_t *sig;
	size_t tbs;

	if (!wk_anon_account_ok(acct))
		return WK_ANON_ARG;
	wk_buf_init_fixed(&b, out, cap);
	wk_buf_add(&b, WK_ANON_ACCT_MAGIC, strlen(WK_ANON_ACCT_MAGIC));
	put_str(&b, acct);
	wk_buf_add(&b, card_id, 8);
	wk_buf_add(&b, bk_pub, 32);
	tbs = b.len;
	if ((sig = wk_buf_reserve(&b, WK_ANON_SIG_LEN)) == NULL ||
	    wk_buf_failed(&b))
		return WK_ANON_ARG;
	crypto_sign_detached(sig, NULL, out, tbs, sk);
	*len = b.len;
	return WK_ANON_OK;
}

int
wk_anon_stmt_verify(const uint8_t *p, size_t len, const uint8_t pk[32],
    char *acct, size_t acap, uint8_t card_id[8], uint8_t bk_pub[32])
{
	char a[WK_ANON_ACCT_MAX + 1];
	wk_cur c;

	if (acap < sizeof(a))
		return WK_ANON_ARG;
	wk_cur_init(&c, p, len);
	if (magic(&c, WK_ANON_ACCT_MAGIC) != 0 ||
	    get_str(&c, a, WK_ANON_ACCT_MAX) != 0 || !wk_anon_account_ok(a) ||
	    wk_cur_copy(&c, card_id, 8) != 0 || wk_cur_copy(&c, bk_pub, 32) != 0 ||
	    c.len != WK_ANON_SIG_LEN)
		return WK_ANON_MALFORMED;
	if (pk != NULL && crypto_sign_verify_detached(c.p, p, len - WK_ANON_SIG_LEN,
	    pk) != 0)
		return WK_ANON_CRYPTO;
	memcpy(acct, a, sizeof(a));
	return WK_ANON_OK;
}

void
wk_anon_query_encode(uint64_t time, const uint8_t nonce[16],
    uint8_t out[WK_ANON_QUERY_LEN])
{
	wk_buf b;

	wk_buf_init_fixed(&b, out, WK_ANON_QUERY_LEN);
	wk_buf_add(&b, WK_ANON_Q_MAGIC, strlen(WK_ANON_Q_MAGIC));
	wk_buf_be64(&b, time);
	wk_buf_add(&b, nonce, 16);
}

int
wk_anon_query_decode(const uint8_t *p, size_t len, uint64_t *time,
    uint8_t nonce[16])
{
	wk_cur c;

	wk_cur_init(&c, p, len);
	if (magic(&c, WK_ANON_Q_MAGIC) != 0 || wk_cur_be64(&c, time) != 0 ||
	    wk_cur_copy(&c, nonce, 16) != 0 || c.len != 0)
		return WK_ANON_MALFORMED;
	return WK_ANON_OK;
}

const char *
wk_anon_status_name(uint8_t status)
{
	switch (status) {
	case WK_ANON_COMMITTED: return "committed";
	case WK_ANON_REFUSED: return "refused";
	case WK_ANON_VOID: return "void";
	default: return "unknown";
	}
}
