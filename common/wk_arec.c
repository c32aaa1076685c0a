/* the audit log's record, chain-head and sealed-page formats (wk_arec.h) */
#include "wk_arec.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "wk_name.h"

static const char head_label[] = "WKAUDIT-HEAD/1";	/* 14 bytes */
static const char page_info[] = "walletkey-audit-page/1";

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xFF);
		v >>= 8;
	}
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void
wk_arec_encode(const wk_arec *r, uint8_t out[WK_AREC_LEN])
{
	wk_buf b;

	wk_buf_init_fixed(&b, out, WK_AREC_LEN);
	put64(wk_buf_reserve(&b, 8), r->seq);
	wk_buf_be16(&b, r->counter);
	wk_buf_u8(&b, r->type);
	wk_buf_add(&b, r->date, 4);
	wk_buf_add(&b, r->time, 3);
	wk_buf_be32(&b, r->amount);
	wk_buf_be32(&b, r->balance);
	wk_buf_add(&b, r->src, WK_AREC_ACCT_LEN);
	wk_buf_add(&b, r->dst, WK_AREC_ACCT_LEN);
	wk_buf_add(&b, r->term_id, 6);
	wk_buf_add(&b, r->prev, WK_AREC_HASH_LEN);
}

int
wk_arec_decode(const uint8_t *p, size_t len, wk_arec *r)
{
	const uint8_t *s;
	wk_cur c;

	if (p == NULL || len != WK_AREC_LEN)
		return WK_AREC_MALFORMED;
	wk_cur_init(&c, p, len);
	if (wk_cur_take(&c, 8, &s) != 0)
		return WK_AREC_MALFORMED;
	r->seq = get64(s);
	if (wk_cur_be16(&c, &r->counter) != 0 || wk_cur_u8(&c, &r->type) != 0 ||
	    wk_cur_copy(&c, r->date, 4) != 0 || wk_cur_copy(&c, r->time, 3) != 0 ||
	    wk_cur_be32(&c, &r->amount) != 0 || wk_cur_be32(&c, &r->balance) != 0 ||
	    wk_cur_copy(&c, r->src, WK_AREC_ACCT_LEN) != 0 ||
	    wk_cur_copy(&c, r->dst, WK_AREC_ACCT_LEN) != 0 ||
	    wk_cur_copy(&c, r->term_id, 6) != 0 ||
	    wk_cur_copy(&c, r->prev, WK_AREC_HASH_LEN) != 0 || c.len != 0)
		return WK_AREC_MALFORMED;
	return WK_AREC_OK;
}

/* OpenSSL's SHA-256, fetched once (its one-shot SHA256() fetches it again
 * at every call): a record's hash in less than half libsodium's time where
 * the CPU has SHA instructions, and an export hashes every record (issue 17) */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
wk_arec_hash(const uint8_t raw[WK_AREC_LEN], uint8_t h[WK_AREC_HASH_LEN])
{
	unsigned int n = 0;

	pthread_once(&sha256_once, sha256_fetch);
	if (sha256_md == NULL ||
	    EVP_Digest(raw, WK_AREC_LEN, h, &n, sha256_md, NULL) != 1 ||
	    n != WK_AREC_HASH_LEN)
		crypto_hash_sha256(h, raw, WK_AREC_LEN);
}

static const wk_name type_names[] = {
	{ WK_AREC_ED_LOAD, "load" },
	{ WK_AREC_EP_LOAD, "load" },
	{ WK_AREC_UNLOAD, "unload" },
	{ WK_AREC_CASH, "cash" },
	{ WK_AREC_ED_PURCHASE, "purchase" },
	{ WK_AREC_EP_PURCHASE, "purchase" },
	{ WK_AREC_LIMIT, "limit" },
	{ WK_AREC_TRANSFER_OUT, "transfer-out" },
	{ WK_AREC_TRANSFER_IN, "transfer-in" },
	{ WK_AREC_PAYMENT, "payment" },
	{ WK_AREC_ANON_PAYMENT, "anon-payment" },
	{ WK_AREC_PAYMENT_DECLINED, "payment-declined" },
	{ WK_AREC_PIV_SIGN, "signature" },
	{ WK_AREC_PIV_DECRYPT, "decryption" },
	{ WK_AREC_GM_SIGN, "gm-signature" },
	{ WK_AREC_ISS_DEPOSIT, "deposit" },
	{ WK_AREC_ISS_PAYMENT, "online-payment" },
	{ WK_AREC_ISS_SETTLEMENT, "settlement" },
	{ WK_AREC_ISS_REVERSAL, "reversal" },
	{ WK_AREC_ISS_LOAD, "account-load" },
	{ WK_AREC_ISS_CREDIT, "account-credit" },
	{ WK_AREC_ISS_DEBIT, "account-debit" },
};

bool
wk_arec_outgoing(uint8_t type)
{
	switch (type) {
	case WK_AREC_UNLOAD:
	case WK_AREC_CASH:
	case WK_AREC_ED_PURCHASE:
	case WK_AREC_EP_PURCHASE:
	case WK_AREC_TRANSFER_OUT:
	case WK_AREC_PAYMENT:
	case WK_AREC_ANON_PAYMENT:
	case WK_AREC_ISS_PAYMENT:
	case WK_AREC_ISS_SETTLEMENT:
	case WK_AREC_ISS_LOAD:
	case WK_AREC_ISS_DEBIT:
		return true;
	default:
		return false;
	}
}

const char *
wk_arec_type_name(uint8_t type, char *buf, size_t cap)
{
	const char *name = wk_name_of(type_names,
	    sizeof(type_names) / sizeof(type_names[0]), type);

	if (name != NULL)
		return name;
	if (buf == NULL || cap == 0)
		return "unknown";
	snprintf(buf, cap, "type-%02x", type);
	return buf;
}

bool
wk_arec_is_issuer(uint8_t type)
{
	return (type & WK_AREC_ISSUER_FLAG) != 0;
}

const char *
wk_arec_origin_name(uint8_t type)
{
	return wk_arec_is_issuer(type) ? "issuer" : "card";
}

bool
wk_arec_type_matches(const char *name, uint8_t type)
{
	char buf[16];

	return name != NULL &&
	    strcmp(name, wk_arec_type_name(type, buf, sizeof(buf))) == 0;
}

void
wk_arec_head_tbs(const uint8_t serial[8], uint64_t base_seq,
    const uint8_t base_hash[32], uint64_t head_seq, const uint8_t head_hash[32],
    const uint8_t nonce[16], uint8_t out[WK_AREC_HEAD_TBS_LEN])
{
	uint8_t *p = out;

	memcpy(p, head_label, 14);
	p += 14;
	memcpy(p, serial, 8);
	p += 8;
	put64(p, base_seq);
	p += 8;
	memcpy(p, base_hash, 32);
	p += 32;
	put64(p, head_seq);
	p += 8;
	memcpy(p, head_hash, 32);
	p += 32;
	memcpy(p, nonce, 16);
}

/* key = HKDF-SHA256(X25519(eph, recipient), salt = eph_pk | recipient_pk,
 * info = "walletkey-audit-page/1" | serial): RFC 5869 with one output
 * block, extract PRK = HMAC(salt, shared), expand T(1) = HMAC(PRK, info |
 * 01), with libsodium's HMAC-SHA256. OpenSSL's EVP_KDF gives the same
 * bytes (tests/vcard/test_audit.c checks a page against it); fetching it
 * cost more than the rest of a page's seal (issue 17). */
static int
page_key(const uint8_t shared[32], const uint8_t eph_pk[32],
    const uint8_t rcp_pk[32], const uint8_t serial[8], uint8_t key[32])
{
	static const uint8_t one = 1;
	crypto_auth_hmacsha256_state h;
	uint8_t salt[64], prk[crypto_auth_hmacsha256_BYTES];

	memcpy(salt, eph_pk, 32);
	memcpy(salt + 32, rcp_pk, 32);
	if (crypto_auth_hmacsha256_init(&h, salt, sizeof(salt)) != 0 ||
	    crypto_auth_hmacsha256_update(&h, shared, 32) != 0 ||
	    crypto_auth_hmacsha256_final(&h, prk) != 0 ||
	    crypto_auth_hmacsha256_init(&h, prk, sizeof(prk)) != 0 ||
	    crypto_auth_hmacsha256_update(&h, (const uint8_t *)page_info,
	    sizeof(page_info) - 1) != 0 ||
	    crypto_auth_hmacsha256_update(&h, serial, 8) != 0 ||
	    crypto_auth_hmacsha256_update(&h, &one, 1) != 0 ||
	    crypto_auth_hmacsha256_final(&h, key) != 0) {
		sodium_memzero(&h, sizeof(h));
		sodium_memzero(prk, sizeof(prk));
		return WK_AREC_CRYPTO;
	}
	sodium_memzero(&h, sizeof(h));
	sodium_memzero(prk, sizeof(prk));
	return WK_AREC_OK;
}

int
wk_arec_seal(const uint8_t recipient[WK_AREC_KEY_LEN],
    const uint8_t serial[8], const uint8_t *pt, size_t n, wk_buf *out)
{
	uint8_t esk[32], epk[32], shared[32], key[32];
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned long long clen = 0;
	uint8_t *ct;
	int rc = WK_AREC_CRYPTO;

	if (recipient == NULL || serial == NULL || (pt == NULL && n > 0) ||
	    out == NULL)
		return WK_AREC_MALFORMED;
	crypto_box_keypair(epk, esk);
	randombytes_buf(nonce, sizeof(nonce));
	/* refuses low-order points (an all-zero shared secret) */
	if (crypto_scalarmult(shared, esk, recipient) != 0 ||
	    page_key(shared, epk, recipient, serial, key) != WK_AREC_OK)
		goto out;
	wk_buf_add(out, epk, sizeof(epk));
	wk_buf_add(out, nonce, sizeof(nonce));
	if ((ct = wk_buf_reserve(out, n + 16)) == NULL)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, pt, n, serial,
	    8, NULL, nonce, key) != 0 || clen != n + 16)
		goto out;
	rc = wk_buf_failed(out) ? WK_AREC_MALFORMED : WK_AREC_OK;
out:
	sodium_memzero(esk, sizeof(esk));
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(key, sizeof(key));
	return rc;
}

int
wk_arec_open(const uint8_t recipient_pk[WK_AREC_KEY_LEN],
    const uint8_t recipient_sk[WK_AREC_KEY_LEN], const uint8_t serial[8],
    const uint8_t *sealed, size_t n, wk_buf *pt)
{
	const uint8_t *epk, *nonce, *ct;
	uint8_t shared[32], key[32], empty[1];
	unsigned long long mlen = 0;
	uint8_t *m;
	size_t clen;
	wk_cur c;
	int rc = WK_AREC_MALFORMED;

	if (recipient_pk == NULL || recipient_sk == NULL || serial == NULL ||
	    sealed == NULL || pt == NULL)
		return WK_AREC_MALFORMED;
	wk_cur_init(&c, sealed, n);
	if (wk_cur_take(&c, 32, &epk) != 0 ||
	    wk_cur_take(&c, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	    &nonce) != 0 || c.len < 16)
		return WK_AREC_MALFORMED;
	clen = c.len;
	ct = c.p;
	rc = WK_AREC_CRYPTO;
	if (crypto_scalarmult(shared, recipient_sk, epk) != 0 ||
	    page_key(shared, epk, recipient_pk, serial, key) != WK_AREC_OK)
		goto out;
	/* an empty plaintext reserves nothing (no pointer arithmetic on NULL) */
	m = clen == 16 ? empty : wk_buf_reserve(pt, clen - 16);
	if (m == NULL) {
		rc = WK_AREC_MALFORMED;
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, NULL, ct, clen,
	    serial, 8, nonce, key) != 0) {
		sodium_memzero(m, clen - 16);
		pt->len -= clen - 16;
		goto out;
	}
	rc = WK_AREC_OK;
out:
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(key, sizeof(key));
	return rc;
}

int
wk_arec_page_parse(const uint8_t *p, size_t len, wk_arec_page *page)
{
	const uint8_t *s, *recs;
	uint8_t more;
	wk_cur c;

	if (p == NULL || page == NULL)
		return WK_AREC_MALFORMED;
	wk_cur_init(&c, p, len);
	if (wk_cur_take(&c, 8, &s) != 0)
		return WK_AREC_MALFORMED;
	page->first_seq = get64(s);
	if (wk_cur_be16(&c, &page->count) != 0 || wk_cur_take(&c, 8, &s) != 0 ||
	    wk_cur_u8(&c, &more) != 0 || more > 1 ||
	    page->count > WK_AREC_PAGE_MAX)
		return WK_AREC_MALFORMED;
	page->next_seq = get64(s);
	page->more = more == 1;
	if (wk_cur_take(&c, (size_t)page->count * WK_AREC_LEN, &recs) != 0 ||
	    c.len != 0)
		return WK_AREC_MALFORMED;
	page->records = recs;
	return WK_AREC_OK;
}

static const char ack_label[] = "WKAUDIT-ACK/1";	/* 13 bytes */
static const char hist_label[] = "WKAUDIT-HIST/1";	/* 14 bytes */

void
wk_arec_ack_tbs(const uint8_t serial[8], uint64_t seq,
    const uint8_t hash[WK_AREC_HASH_LEN], uint8_t out[WK_AREC_ACK_TBS_LEN])
{
	memcpy(out, ack_label, 13);
	memcpy(out + 13, serial, 8);
	put64(out + 21, seq);
	memcpy(out + 29, hash, WK_AREC_HASH_LEN);
}

int
wk_arec_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *sig,
    size_t cap, size_t *sig_len)
{
	EVP_MD_CTX *md = NULL;
	size_t n = cap;
	int rc = WK_AREC_CRYPTO;

	if (key == NULL || sig == NULL || sig_len == NULL)
		return WK_AREC_MALFORMED;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, sig, &n, msg, len) != 1)
		goto out;
	*sig_len = n;
	rc = WK_AREC_OK;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
wk_arec_sig_verify(EVP_PKEY *pub, const uint8_t *msg, size_t len,
    const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *md = NULL;
	int rc = WK_AREC_CRYPTO;

	if (pub == NULL || sig == NULL || sig_len == 0 ||
	    sig_len > WK_AREC_SIG_MAX)
		return WK_AREC_MALFORMED;
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub,
	    NULL) == 1 && EVP_DigestVerify(md, sig, sig_len, msg, len) == 1)
		rc = WK_AREC_OK;
	EVP_MD_CTX_free(md);
	return rc;
}

void
wk_arec_hist_header(const wk_arec_hist *h, uint8_t out[WK_AREC_HIST_HDR])
{
	memcpy(out, hist_label, 14);
	memcpy(out + 14, h->serial, 8);
	put64(out + 22, h->first_seq);
	out[30] = (uint8_t)(h->count >> 8);
	out[31] = (uint8_t)h->count;
	out[32] = h->more ? 1 : 0;
	put64(out + 33, h->stored_seq);
	put64(out + 41, h->acked_seq);
	memcpy(out + 49, h->acked_hash, WK_AREC_HASH_LEN);
}

int
wk_arec_hist_parse(const uint8_t *p, size_t len, wk_arec_hist *h)
{
	size_t n;

	memset(h, 0, sizeof(*h));
	if (p == NULL || len < WK_AREC_HIST_HDR ||
	    memcmp(p, hist_label, 14) != 0)
		return WK_AREC_MALFORMED;
	memcpy(h->serial, p + 14, 8);
	h->first_seq = get64(p + 22);
	h->count = (uint16_t)(p[30] << 8 | p[31]);
	if (p[32] > 1)
		return WK_AREC_MALFORMED;
	h->more = p[32] == 1;
	h->stored_seq = get64(p + 33);
	h->acked_seq = get64(p + 41);
	memcpy(h->acked_hash, p + 49, WK_AREC_HASH_LEN);
	n = len - WK_AREC_HIST_HDR;
	if (h->count > WK_AREC_PAGE_MAX || n != (size_t)h->count * WK_AREC_LEN ||
	    (h->count > 0 && (h->first_seq == 0 ||
	    h->first_seq > UINT64_MAX - h->count)))
		return WK_AREC_MALFORMED;
	h->records = p + WK_AREC_HIST_HDR;
	return WK_AREC_OK;
}

static const char loads_label[] = "WKAUDIT-LOADS/1";	/* 15 bytes */

void
wk_arec_loads_header(const wk_arec_loads *l, uint8_t out[WK_AREC_LOADS_HDR])
{
	memcpy(out, loads_label, 15);
	memcpy(out + 15, l->serial, 8);
	out[23] = (uint8_t)(l->count >> 8);
	out[24] = (uint8_t)l->count;
	out[25] = l->more ? 1 : 0;
}

int
wk_arec_loads_parse(const uint8_t *p, size_t len, wk_arec_loads *l)
{
	memset(l, 0, sizeof(*l));
	if (p == NULL || len < WK_AREC_LOADS_HDR ||
	    memcmp(p, loads_label, 15) != 0 || p[25] > 1)
		return WK_AREC_MALFORMED;
	memcpy(l->serial, p + 15, 8);
	l->count = (uint16_t)(p[23] << 8 | p[24]);
	l->more = p[25] == 1;
	if (l->count > WK_AREC_PAGE_MAX ||
	    len - WK_AREC_LOADS_HDR != (size_t)l->count * WK_AREC_LOAD_LEN)
		return WK_AREC_MALFORMED;
	l->entries = p + WK_AREC_LOADS_HDR;
	return WK_AREC_OK;
}

static const char crl_label[] = "WKAUDIT-CRL/1";	/* 13 bytes */

static const char iss_label[] = "WKAUDIT-ISS/1";	/* 13 bytes */

void
wk_arec_iss_header(const uint8_t serial[8], uint16_t count,
    uint8_t out[WK_AREC_ISS_HDR])
{
	memcpy(out, iss_label, 13);
	memcpy(out + 13, serial, 8);
	out[21] = (uint8_t)(count >> 8);
	out[22] = (uint8_t)count;
}

uint64_t
wk_arec_iss_event(const wk_arec *r)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = (v << 8) | r->term_id[i];
	return v;
}

void
wk_arec_iss_set_event(wk_arec *r, uint64_t event)
{
	for (int i = 5; i >= 0; i--) {
		r->term_id[i] = (uint8_t)(event & 0xFF);
		event >>= 8;
	}
}

int
wk_arec_iss_parse(const uint8_t *p, size_t len, wk_arec_iss *b)
{
	static const uint8_t zero[WK_AREC_HASH_LEN];
	uint64_t last = 0;
	size_t recs;

	memset(b, 0, sizeof(*b));
	if (p == NULL || len < WK_AREC_ISS_HDR || memcmp(p, iss_label, 13) != 0)
		return WK_AREC_MALFORMED;
	memcpy(b->serial, p + 13, 8);
	b->count = (uint16_t)(p[21] << 8 | p[22]);
	if (b->count == 0 || b->count > WK_AREC_ISS_MAX)
		goto bad;
	recs = (size_t)b->count * WK_AREC_LEN;
	/* bounds by subtraction: the records, then 1-72 signature bytes */
	if (len - WK_AREC_ISS_HDR < recs || len - WK_AREC_ISS_HDR - recs < 1 ||
	    len - WK_AREC_ISS_HDR - recs > WK_AREC_SIG_MAX)
		goto bad;
	b->records = p + WK_AREC_ISS_HDR;
	for (size_t i = 0; i < b->count; i++) {
		wk_arec r;
		uint64_t ev;

		if (wk_arec_decode(b->records + i * WK_AREC_LEN, WK_AREC_LEN,
		    &r) != WK_AREC_OK || r.seq != 0 || !wk_arec_is_issuer(r.type) ||
		    memcmp(r.prev, zero, sizeof(zero)) != 0)
			goto bad;
		ev = wk_arec_iss_event(&r);
		if (ev == 0 || ev <= last)
			goto bad;
		last = ev;
	}
	b->tbs_len = WK_AREC_ISS_HDR + recs;
	b->sig = p + b->tbs_len;
	b->sig_len = len - b->tbs_len;
	return WK_AREC_OK;
bad:
	memset(b, 0, sizeof(*b));
	return WK_AREC_MALFORMED;
}

void
wk_arec_crl_header(const wk_arec_crl *l, uint8_t out[WK_AREC_CRL_HDR])
{
	memcpy(out, crl_label, 13);
	put64(out + 13, l->version);
	put64(out + 21, l->issued);
	out[29] = (uint8_t)(l->count >> 8);
	out[30] = (uint8_t)l->count;
}

int
wk_arec_crl_parse(const uint8_t *p, size_t len, wk_arec_crl *l)
{
	size_t ids;

	memset(l, 0, sizeof(*l));
	if (p == NULL || len < WK_AREC_CRL_HDR ||
	    memcmp(p, crl_label, 13) != 0)
		return WK_AREC_MALFORMED;
	l->version = get64(p + 13);
	l->issued = get64(p + 21);
	l->count = (uint16_t)(p[29] << 8 | p[30]);
	if (l->count > WK_AREC_CRL_MAX)
		return WK_AREC_MALFORMED;
	ids = (size_t)l->count * WK_AREC_CRL_ID_LEN;
	/* bounds by subtraction: the ids, then 1-72 signature bytes */
	if (len - WK_AREC_CRL_HDR < ids ||
	    len - WK_AREC_CRL_HDR - ids < 1 ||
	    len - WK_AREC_CRL_HDR - ids > WK_AREC_SIG_MAX)
		return WK_AREC_MALFORMED;
	l->ids = p + WK_AREC_CRL_HDR;
	for (size_t i = 1; i < l->count; i++)
		if (memcmp(l->ids + (i - 1) * WK_AREC_CRL_ID_LEN,
		    l->ids + i * WK_AREC_CRL_ID_LEN, WK_AREC_CRL_ID_LEN) >= 0)
			goto bad;
	l->tbs_len = WK_AREC_CRL_HDR + ids;
	l->sig = p + l->tbs_len;
	l->sig_len = len - l->tbs_len;
	return WK_AREC_OK;
bad:
	memset(l, 0, sizeof(*l));
	return WK_AREC_MALFORMED;
}

bool
wk_arec_crl_has(const wk_arec_crl *l, const uint8_t id[WK_AREC_CRL_ID_LEN])
{
	size_t lo = 0, hi = l->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(l->ids + mid * WK_AREC_CRL_ID_LEN, id,
		    WK_AREC_CRL_ID_LEN);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}
