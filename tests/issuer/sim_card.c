#include "sim_card.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_apdu.h"
#include "wk_attest.h"
#include "wk_hex.h"
#include "wk_payment.h"
#include "wk_purse_crypto.h"

static struct {
	EVP_PKEY *key;
	X509 *cert;
} factory;

int
sim_factory_init(const char *cert_pem)
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN];
	FILE *f;
	int rc = -1;

	sim_factory_free();
	randombytes_buf(serial, sizeof(serial));
	if ((factory.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    wk_attest_ca_new(factory.key, "walletkey test manufacturer", 3650,
	    serial, &factory.cert) != WK_ATTEST_OK)
		goto out;
	if (cert_pem != NULL) {
		if ((f = fopen(cert_pem, "w")) == NULL)
			goto out;
		if (PEM_write_X509(f, factory.cert) != 1) {
			fclose(f);
			goto out;
		}
		if (fclose(f) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		sim_factory_free();
	return rc;
}

void
sim_factory_free(void)
{
	EVP_PKEY_free(factory.key);
	X509_free(factory.cert);
	factory.key = NULL;
	factory.cert = NULL;
}

EVP_PKEY *
sim_factory_key(void)
{
	return factory.key;
}

X509 *
sim_factory_cert(void)
{
	return factory.cert;
}

int
sim_card_new(const char *pan, sim_card **out)
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN];
	sim_card *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return -1;
	randombytes_buf(c->id, sizeof(c->id));
	wk_hex_encode(c->id, sizeof(c->id), c->id_hex);
	snprintf(c->pan, sizeof(c->pan), "%s", pan);
	randombytes_buf(serial, sizeof(serial));
	if ((c->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (c->f9 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    wk_attest_device_new(c->f9, c->id, factory.key, factory.cert, 3650,
	    serial, &c->device) != WK_ATTEST_OK) {
		sim_card_free(&c);
		return -1;
	}
	*out = c;
	return 0;
}

json_t *
sim_card_attestation(sim_card *c, EVP_PKEY *pub, uint8_t slot, uint8_t origin)
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN];
	wk_attest_key info = { .slot = slot, .origin = origin, .pin_policy = 1,
	    .touch_policy = 1, .firmware = { 5, 7, 1 }, .serial = 1234567 };
	unsigned char *d1 = NULL, *d2 = NULL;
	X509 *leaf = NULL;
	json_t *a = NULL;
	int n1, n2;

	randombytes_buf(serial, sizeof(serial));
	if (wk_attest_key_new(pub != NULL ? pub : c->key, &info, c->id, c->f9,
	    c->device, serial, &leaf) != WK_ATTEST_OK ||
	    (n1 = i2d_X509(leaf, &d1)) <= 0 || (n2 = i2d_X509(c->device, &d2)) <= 0)
		goto out;
	a = json_pack("[o, o]", wk_b64_json(d1, (size_t)n1), wk_b64_json(d2, (size_t)n2));
out:
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	X509_free(leaf);
	return a;
}

void
sim_card_free(sim_card **cp)
{
	sim_card *c = *cp;

	if (c == NULL)
		return;
	EVP_PKEY_free(c->key);
	EVP_PKEY_free(c->anchor);
	EVP_PKEY_free(c->f9);
	X509_free(c->device);
	sodium_memzero(c, sizeof(*c));
	free(c);
	*cp = NULL;
}

int
sim_card_csr(sim_card *c, wk_buf *out)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n;
	unsigned char *der = NULL;
	int len = 0, rc = -1;

	if (r == NULL || (n = X509_REQ_get_subject_name(r)) == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)c->id_hex, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(r, c->key) != 1 ||
	    X509_REQ_sign(r, c->key, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(r, &der)) <= 0)
		goto out;
	wk_buf_add(out, der, (size_t)len);
	rc = wk_buf_failed(out) ? -1 : 0;
out:
	OPENSSL_free(der);
	X509_REQ_free(r);
	return rc;
}

int
sim_card_personalise(sim_card *c, const uint8_t *cert, size_t cert_len,
    const uint8_t *ca, size_t ca_len, const uint8_t *perso, size_t perso_len)
{
	const uint8_t *p = ca;
	X509 *x;
	wk_msg m;
	uint8_t keys[WK_MSG_PERSO_KEYS_MAX];
	bool seen[WK_PURSE_KEY_N] = { false };
	size_t n;
	int rc = -1;

	if (cert_len > sizeof(c->cert) || (x = d2i_X509(NULL, &p, (long)ca_len)) == NULL)
		return -1;
	EVP_PKEY_free(c->anchor);
	c->anchor = X509_get_pubkey(x);
	X509_free(x);
	if (c->anchor == NULL ||
	    wk_msg_verify(perso, perso_len, c->anchor, &m) != WK_MSG_OK ||
	    m.type != WK_MSG_PERSO || memcmp(m.card_id, c->id, sizeof(c->id)) != 0 ||
	    wk_msg_open_keys(c->key, &m, keys, sizeof(keys), &n) != WK_MSG_OK ||
	    n != WK_PURSE_KEY_N * WK_MSG_PERSO_ENTRY_LEN)
		goto out;
	/* as the card: every key of the table, each once, each of a known
	 * algorithm */
	for (size_t off = 0; off < n; off += WK_MSG_PERSO_ENTRY_LEN) {
		if (keys[off] >= WK_PURSE_KEY_N || seen[keys[off]] ||
		    !wk_purse_alg_valid(keys[off + 1]))
			goto out;
		seen[keys[off]] = true;
		c->algs[keys[off]] = keys[off + 1];
		memcpy(c->keys[keys[off]], keys + off + 2, 16);
	}
	memcpy(c->cert, cert, cert_len);
	c->cert_len = cert_len;
	memcpy(c->dlk, c->keys[WK_PURSE_KEY_DLK], 16);
	memcpy(c->dtk, c->keys[WK_PURSE_KEY_DTK], 16);
	memcpy(c->dpk, c->keys[WK_PURSE_KEY_DPK], 16);
	memcpy(c->damk, c->keys[WK_PURSE_KEY_DAMK], 16);
	c->key_version = m.key_version;
	rc = 0;
out:
	sodium_memzero(keys, sizeof(keys));
	return rc;
}

int
sim_card_unblock_request(sim_card *c, const uint8_t challenge[4], wk_buf *out)
{
	wk_msg m = { 0 };

	m.type = WK_MSG_UNBLOCK_REQUEST;
	memcpy(m.card_id, c->id, sizeof(c->id));
	randombytes_buf(m.nonce, sizeof(m.nonce));
	memcpy(m.card_random, challenge, 4);
	return wk_msg_sign(&m, c->key, out) == WK_MSG_OK ? 0 : -1;
}

int
sim_card_load_request(sim_card *c, uint32_t amount, wk_buf *out)
{
	static const uint8_t term[6] = { 0x00, 0x00, 0x00, 0x01, 0x00, 0x50 };
	wk_msg m = { 0 };

	c->in_session = false;
	randombytes_buf(c->rnd, sizeof(c->rnd));
	randombytes_buf(c->nonce, sizeof(c->nonce));
	memcpy(c->term, term, sizeof(term));
	c->amount = amount;
	m.type = WK_MSG_LOAD_REQUEST;
	memcpy(m.card_id, c->id, sizeof(c->id));
	memcpy(m.nonce, c->nonce, sizeof(m.nonce));
	snprintf(m.pan, sizeof(m.pan), "%s", c->pan);
	m.balance = c->balance;
	m.amount = amount;
	m.seq = c->seq;
	m.key_version = c->key_version;
	m.alg_id = c->algs[WK_PURSE_KEY_DLK];
	m.trans_type = WK_PURSE_TT_EP_LOAD;
	memcpy(m.card_random, c->rnd, 4);
	memcpy(m.terminal_id, term, 6);
	if (wk_purse_session_key_online(m.alg_id, c->dlk, c->rnd, c->seq,
	    &c->sk) != 0 ||
	    wk_purse_load_mac1(&c->sk, c->balance, amount, m.trans_type, term,
	    m.mac1) != 0 || wk_msg_sign(&m, c->key, out) != WK_MSG_OK)
		return -1;
	c->in_session = true;
	return 0;
}

static int
refuse(sim_card *c, const wk_msg *g, uint16_t sw, wk_buf *out)
{
	wk_msg r = { 0 };

	c->in_session = false;
	r.type = WK_MSG_LOAD_REFUSAL;
	memcpy(r.card_id, c->id, sizeof(c->id));
	randombytes_buf(r.nonce, sizeof(r.nonce));
	r.seq = c->seq;
	memcpy(r.load_id, g->load_id, sizeof(r.load_id));
	r.reason = sw;
	return wk_msg_sign(&r, c->key, out) == WK_MSG_OK ? 1 : -1;
}

int
sim_card_grant(sim_card *c, const uint8_t *grant, size_t len, wk_buf *out)
{
	wk_msg g, r = { 0 };
	uint8_t mac2[4];
	wk_purse_skey ktac;
	int rc;

	if ((rc = wk_msg_parse(grant, len, &g, NULL, NULL)) != WK_MSG_OK)
		return -1;	/* nothing to sign a refusal about */
	if (!c->in_session)
		return refuse(c, &g, WK_SW_INVALID_STATE, out);
	if (wk_msg_verify(grant, len, c->anchor, &g) != WK_MSG_OK ||
	    g.type != WK_MSG_LOAD_GRANT ||
	    memcmp(g.card_id, c->id, sizeof(c->id)) != 0 || g.seq != c->seq ||
	    memcmp(g.nonce, c->nonce, sizeof(c->nonce)) != 0 ||
	    g.amount != c->amount || memcmp(g.terminal_id, c->term, 6) != 0)
		return refuse(c, &g, WK_SW_SECURITY_STATUS, out);
	if (wk_purse_load_mac2(&c->sk, g.amount, g.trans_type, g.terminal_id,
	    g.host_date, g.host_time, mac2) != 0)
		return -1;
	if (sodium_memcmp(mac2, g.mac2, 4) != 0)
		return refuse(c, &g, WK_SW_PURSE_MAC_INVALID, out);
	/* CREDIT FOR LOAD */
	c->balance += g.amount;
	if (wk_purse_tac_key(c->algs[WK_PURSE_KEY_DTK], c->dtk, &ktac) != 0 ||
	    wk_purse_load_tac(&ktac, c->balance, c->seq, g.amount, g.trans_type,
	    g.terminal_id, g.host_date, g.host_time, c->last_tac) != 0)
		return -1;
	c->has_last = true;
	c->last_seq = c->seq;
	c->last_balance = c->balance;
	c->seq++;
	c->in_session = false;
	r.type = WK_MSG_LOAD_RECEIPT;
	memcpy(r.card_id, c->id, sizeof(c->id));
	randombytes_buf(r.nonce, sizeof(r.nonce));
	r.seq = g.seq;
	memcpy(r.load_id, g.load_id, sizeof(r.load_id));
	r.amount = g.amount;
	r.balance = c->balance;
	memcpy(r.host_date, g.host_date, 4);
	memcpy(r.host_time, g.host_time, 3);
	memcpy(r.tac, c->last_tac, 4);
	sodium_memzero(&ktac, sizeof(ktac));
	return wk_msg_sign(&r, c->key, out) == WK_MSG_OK ? 0 : -1;
}

int
sim_card_recover(sim_card *c, const uint8_t load_id[WK_MSG_LOAD_ID_LEN],
    uint16_t seq, wk_buf *out)
{
	wk_msg m = { 0 };

	memcpy(m.card_id, c->id, sizeof(c->id));
	randombytes_buf(m.nonce, sizeof(m.nonce));
	memcpy(m.load_id, load_id, WK_MSG_LOAD_ID_LEN);
	m.seq = seq;
	if (c->has_last && c->last_seq == seq) {
		m.type = WK_MSG_LOAD_PROOF;
		m.balance = c->last_balance;
		memcpy(m.tac, c->last_tac, 4);
	} else if (c->seq == seq) {
		c->in_session = false;
		m.type = WK_MSG_LOAD_NEVER;
		m.balance = c->balance;
	} else {
		return -1;
	}
	return wk_msg_sign(&m, c->key, out) == WK_MSG_OK ? 0 : -1;
}

/* ---- HTTP ---- */

struct sim_http {
	CURL *curl;
	char base[256];
	struct curl_slist *hdr;		/* Content-Type, and Authorization */
	struct curl_slist *ghdr;	/* Authorization alone (GET) */
	wk_buf in;
	char rhdr[4096];		/* the last answer's headers */
	size_t rhdr_len;
	char hval[256];
};

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	sim_http *h = arg;
	size_t len = size * n;

	if (len < sizeof(h->rhdr) - h->rhdr_len) {
		memcpy(h->rhdr + h->rhdr_len, p, len);
		h->rhdr_len += len;
		h->rhdr[h->rhdr_len] = '\0';
	}
	return len;
}

int
sim_http_set_auth(sim_http *h, const char *authorization)
{
	char line[300];

	curl_slist_free_all(h->hdr);
	curl_slist_free_all(h->ghdr);
	h->ghdr = NULL;
	h->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (authorization != NULL) {
		snprintf(line, sizeof(line), "Authorization: %s", authorization);
		h->hdr = curl_slist_append(h->hdr, line);
		h->ghdr = curl_slist_append(NULL, line);
	}
	return h->hdr != NULL ? 0 : -1;
}

const char *
sim_http_body(sim_http *h, size_t *len)
{
	*len = h->in.len;
	return (const char *)h->in.p;
}

const char *
sim_http_header(sim_http *h, const char *name)
{
	size_t nl = strlen(name);

	for (char *p = h->rhdr; p != NULL && *p != '\0'; ) {
		char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl = len - nl - 1;

			while (vl > 0 && *v == ' ') {
				v++;
				vl--;
			}
			if (vl >= sizeof(h->hval))
				vl = sizeof(h->hval) - 1;
			memcpy(h->hval, v, vl);
			h->hval[vl] = '\0';
			return h->hval;
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	wk_buf *b = arg;

	wk_buf_add(b, p, size * n);
	return wk_buf_failed(b) ? 0 : size * n;
}

int
sim_http_new(const char *base_url, sim_http **out)
{
	sim_http *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (h == NULL || (h->curl = curl_easy_init()) == NULL) {
		free(h);
		return -1;
	}
	snprintf(h->base, sizeof(h->base), "%s", base_url);
	h->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	wk_buf_init_heap(&h->in, 1 << 20);
	*out = h;
	return 0;
}

void
sim_http_free(sim_http **hp)
{
	sim_http *h = *hp;

	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->hdr);
	curl_slist_free_all(h->ghdr);
	wk_buf_clear(&h->in);
	free(h);
	*hp = NULL;
}

static long
call(sim_http *h, const char *path, const char *body, size_t len, bool post,
    json_t **resp)
{
	char url[512];
	long status = 0;

	if (resp != NULL)
		*resp = NULL;
	wk_buf_reset(&h->in);
	snprintf(url, sizeof(url), "%s%s", h->base, path);
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &h->in);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 60L);
	h->rhdr_len = 0;
	h->rhdr[0] = '\0';
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	if (!post && h->ghdr != NULL)
		curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->ghdr);
	if (post) {
		curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdr);
	}
	if (curl_easy_perform(h->curl) != CURLE_OK)
		return -1;
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	if (resp != NULL && h->in.len > 0)
		*resp = json_loadb((const char *)h->in.p, h->in.len, 0, NULL);
	return status;
}

long
sim_http_call(sim_http *h, const char *path, json_t *body, json_t **resp)
{
	char *text = NULL;
	long st;

	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		return -1;
	st = call(h, path, text ? text : "", text ? strlen(text) : 0, body != NULL,
	    resp);
	free(text);
	return st;
}

long
sim_http_raw(sim_http *h, const char *path, const char *body, size_t len,
    json_t **resp)
{
	return call(h, path, body, len, true, resp);
}

long
sim_unb64(json_t *s, uint8_t *out, size_t cap)
{
	return wk_b64_decode(json_string_value(s), out, cap);
}

long
sim_load(sim_http *h, sim_card *c, uint32_t amount, char *load_id)
{
	wk_buf b;
	json_t *resp = NULL, *req = NULL;
	uint8_t grant[WK_MSG_MAX];
	char path[128];
	long st, n;
	int r;

	wk_buf_init_heap(&b, WK_MSG_MAX);
	if (sim_card_load_request(c, amount, &b) != 0) {
		st = -1;
		goto out;
	}
	req = json_pack("{s:o}", "request", wk_b64_json(b.p, b.len));
	if ((st = sim_http_call(h, "/v1/loads", req, &resp)) != 200)
		goto out;
	if (load_id != NULL)
		snprintf(load_id, 33, "%s",
		    json_string_value(json_object_get(resp, "load_id")));
	snprintf(path, sizeof(path), "/v1/loads/%s/",
	    json_string_value(json_object_get(resp, "load_id")));
	if ((n = sim_unb64(json_object_get(resp, "grant"), grant, sizeof(grant))) <= 0) {
		st = -1;
		goto out;
	}
	json_decref(resp);
	resp = NULL;
	json_decref(req);
	req = NULL;
	wk_buf_reset(&b);
	if ((r = sim_card_grant(c, grant, (size_t)n, &b)) < 0) {
		st = -1;
		goto out;
	}
	strcat(path, r == 0 ? "receipt" : "refusal");
	req = json_pack("{s:o}", r == 0 ? "receipt" : "refusal", wk_b64_json(b.p, b.len));
	st = sim_http_call(h, path, req, &resp);
	if (st == 200 && r != 0)
		st = 0;		/* refused and reversed */
out:
	json_decref(req);
	json_decref(resp);
	wk_buf_clear(&b);
	return st;
}

long
sim_enrol(sim_http *h, sim_card *c, const char *password, json_t **out)
{
	wk_buf b;
	json_t *req = NULL, *resp = NULL;
	uint8_t cert[2048], ca[2048], perso[WK_MSG_MAX];
	long st, n1, n2, n3;

	if (out != NULL)
		*out = NULL;
	wk_buf_init_heap(&b, 4096);
	if (sim_card_csr(c, &b) != 0) {
		st = -1;
		goto out;
	}
	req = json_pack("{s:s, s:s, s:s, s:o, s:o}", "pan", c->pan, "password",
	    password, "card_id", c->id_hex, "csr", wk_b64_json(b.p, b.len),
	    "attestation", sim_card_attestation(c, NULL, 0x82,
	    WK_ATTEST_ORIGIN_GENERATED));
	if ((st = sim_http_call(h, "/v1/enrolments", req, &resp)) != 200)
		goto out;
	if ((n1 = sim_unb64(json_object_get(resp, "certificate"), cert,
	    sizeof(cert))) <= 0 ||
	    (n2 = sim_unb64(json_object_get(resp, "ca_certificate"), ca,
	    sizeof(ca))) <= 0 ||
	    (n3 = sim_unb64(json_object_get(resp, "personalisation"), perso,
	    sizeof(perso))) <= 0 ||
	    sim_card_personalise(c, cert, (size_t)n1, ca, (size_t)n2, perso,
	    (size_t)n3) != 0)
		st = -1;
	/* the OCRA key of payments, when the issuer sends one */
	if (st != -1 && json_object_get(resp, "ocra_key") != NULL &&
	    ((n3 = sim_unb64(json_object_get(resp, "ocra_key"), perso,
	    sizeof(perso))) <= 0 || sim_card_ocra_key(c, perso, (size_t)n3) != 0))
		st = -1;
out:
	if (out != NULL && st != -1) {
		*out = resp;
		resp = NULL;
	}
	json_decref(req);
	json_decref(resp);
	wk_buf_clear(&b);
	return st;
}

int
sim_card_xfer_token(sim_card *c, const uint8_t peer[WK_MSG_CARD_ID_LEN],
    uint32_t amount, uint8_t token_id[WK_MSG_LOAD_ID_LEN], wk_buf *out)
{
	wk_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WK_MSG_XFER_TOKEN;
	memcpy(m.card_id, c->id, sizeof(m.card_id));
	memcpy(m.peer_id, peer, sizeof(m.peer_id));
	randombytes_buf(m.nonce, sizeof(m.nonce));
	if (token_id != NULL)
		memcpy(m.load_id, token_id, sizeof(m.load_id));
	else
		randombytes_buf(m.load_id, sizeof(m.load_id));
	m.amount = amount;
	m.balance = c->balance >= amount ? c->balance - amount : 0;
	if (c->balance >= amount)
		c->balance -= amount;
	return wk_msg_sign(&m, c->key, out) == WK_MSG_OK ? 0 : -1;
}

int
sim_card_ocra_key(sim_card *c, const uint8_t *msg, size_t len)
{
	uint8_t key[WK_MSG_SEALED_MAX];
	size_t n = 0;
	wk_msg m;
	int rc = -1;

	if (c->anchor != NULL && wk_msg_verify(msg, len, c->anchor, &m) ==
	    WK_MSG_OK && m.type == WK_MSG_OCRA_KEY &&
	    memcmp(m.card_id, c->id, sizeof(c->id)) == 0 &&
	    wk_msg_open_keys(c->key, &m, key, sizeof(key), &n) == WK_MSG_OK &&
	    n == sizeof(c->ocra_key)) {
		memcpy(c->ocra_key, key, n);
		c->has_ocra = true;
		rc = 0;
	}
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int
pay_checked(sim_card *c, const uint8_t *req, size_t len, wk_msg *q,
    wk_msg *conf)
{
	if (c->anchor == NULL || wk_msg_verify(req, len, c->anchor, q) !=
	    WK_MSG_OK || q->type != WK_MSG_PAY_REQUEST ||
	    memcmp(q->card_id, c->id, sizeof(c->id)) != 0 ||
	    strcmp(q->pan, c->pan) != 0)
		return -1;
	wk_payment_confirmation(q, 0, 0, conf);
	return 0;
}

int
sim_card_pay(sim_card *c, const uint8_t *req, size_t len, bool accept,
    wk_buf *out)
{
	wk_msg q, conf;

	if (pay_checked(c, req, len, &q, &conf) != 0)
		return -1;
	conf.decision = accept ? WK_MSG_ACCEPTED : WK_MSG_DECLINED;
	conf.counter = ++c->pay_counter;
	return wk_msg_sign(&conf, c->key, out) == WK_MSG_OK ? 0 : -1;
}

int
sim_card_pay_ocra(sim_card *c, const uint8_t *req, size_t len, uint64_t t,
    char digits[9])
{
	wk_msg q, conf;

	if (!c->has_ocra || pay_checked(c, req, len, &q, &conf) != 0)
		return -1;
	return wk_payment_ocra(c->ocra_key, &conf, t, digits) == 0 ? 0 : -1;
}

int
sim_card_session_proof(sim_card *c, const uint8_t chal[WK_MSG_NONCE_LEN],
    uint8_t scope, wk_buf *out)
{
	wk_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WK_MSG_SESSION_AUTH;
	memcpy(m.card_id, c->id, sizeof(m.card_id));
	memcpy(m.nonce, chal, sizeof(m.nonce));
	m.scope = scope;
	return wk_msg_sign(&m, c->key, out) == WK_MSG_OK ? 0 : -1;
}

long
sim_challenge(sim_http *h, const char *card_hex, uint8_t chal[WK_MSG_NONCE_LEN])
{
	char path[96];
	json_t *req = json_object(), *resp = NULL;
	const char *hex;
	long st;

	snprintf(path, sizeof(path), "/v1/cards/%s/challenges", card_hex);
	st = sim_http_call(h, path, req, &resp);
	if (st == 200 && ((hex = json_string_value(json_object_get(resp,
	    "challenge"))) == NULL || wk_hex_decode(hex, chal,
	    WK_MSG_NONCE_LEN) != WK_MSG_NONCE_LEN))
		st = -1;
	json_decref(req);
	json_decref(resp);
	return st;
}

long
sim_session(sim_http *h, sim_card *c, uint8_t scope,
    char token[SIM_TOKEN_MAX])
{
	uint8_t chal[WK_MSG_NONCE_LEN];
	json_t *req = NULL, *resp = NULL;
	const char *t;
	wk_buf b;
	long st;

	token[0] = '\0';
	wk_buf_init_heap(&b, WK_MSG_MAX);
	if ((st = sim_challenge(h, c->id_hex, chal)) != 200)
		goto out;
	if (sim_card_session_proof(c, chal, scope, &b) != 0) {
		st = -1;
		goto out;
	}
	req = json_pack("{s:o}", "proof", wk_b64_json(b.p, b.len));
	if ((st = sim_http_call(h, "/v1/sessions", req, &resp)) == 200) {
		if ((t = json_string_value(json_object_get(resp, "token"))) ==
		    NULL || strlen(t) >= SIM_TOKEN_MAX)
			st = -1;
		else
			snprintf(token, SIM_TOKEN_MAX, "%s", t);
	}
out:
	json_decref(req);
	json_decref(resp);
	wk_buf_clear(&b);
	return st;
}

long
sim_login(sim_http *h, sim_card *c, uint8_t scope)
{
	char tok[SIM_TOKEN_MAX], hdr[SIM_TOKEN_MAX + 8];
	long st;

	sim_http_set_auth(h, NULL);
	if ((st = sim_session(h, c, scope, tok)) != 200)
		return st;
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	return sim_http_set_auth(h, hdr) == 0 ? 200 : -1;
}
