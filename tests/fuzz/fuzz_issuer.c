/*
 * fuzz target for the issuer's request parsing: the first byte picks a
 * route, the rest is the request body, handled by iss_handle against a
 * real issuer on a temporary SQLite database (as the HTTP server would);
 * the same bytes also go through wk_msg_parse and wk_arec_hist_parse.
 * First bytes 0x40-0x7F and 0xC0-0xFF pick the audit sync routes
 * (audit_route below), 0x20-0x3F an enrolment of the fixed card whose
 * attestation chain is the genuine one XORed with the input (attest_route);
 * the others the original routes, so the seeds keep their meaning, then
 * POST /v1/transfers (6; with 0x80 the rest is peer id 8 | amount 4 | token
 * id 16 of a token the harness signs with the fixed card's key, so the
 * float and ledger checks are reached) and POST /v1/settlements (7).
 * First bytes 0x18-0x1F and 0x98-0x9F: POST /v1/pin-reloads (pin_route:
 * with 0x80 the rest wrapped as the request; 0x1F an operator's order for
 * the fixed card, then its unblock request for the challenge in the next
 * 4 bytes, signed by its key, so the delivery is reached).
 * 0x08-0x0F pick the session doors (session_route); 0x10-0x17 and 0x90-0x97
 * online payments (payment_route: the merchant's and the card's doors, and
 * the fixed card's confirmation of a real request with its signed body
 * XORed with the input, whose oracle is that a payment is paid only for
 * the true confirmation). The card's doors are
 * called with the fixed card's holder session, opened at start-up.
 * Without libFuzzer, main()
 * replays the files named on the command line (the seed corpus in
 * tests/fuzz/corpus/fuzz_issuer/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "iss.h"
#include "wk_arec.h"
#include "wk_attest.h"
#include "wk_hex.h"
#include "wk_msg.h"
#include "wk_payment.h"
#include "wk_tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* a fixed card key (test-only, public) so seeds signed by it verify and
 * the fuzzer reaches the checks behind the signature */
#define FUZZ_CARD_ID "0102030405060708"
#define FUZZ_PAN "6222000000000001"
#define FUZZ_PEER_ID "0807060504030201"
static const char fuzz_card_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgf6mtLn+qmCeEuFO2\n"
    "rUQBu/thrv5JUKsmGy1ts2hTQP6hRANCAASdHa9zM4rNty3IZDJYc9ceh8B0CK8S\n"
    "LdPZg+VHGj92Lw11xNBHhEQExzZ6BfchvaFGNxfEex3ZlKRYz9X+DNE1\n"
    "-----END PRIVATE KEY-----\n";

static iss *fz;
static char fz_dir[256];
static char fz_bearer[ISS_TOKEN_LEN + 16];	/* "Bearer " the fixed card's token */
static char fz_merchant[128];	/* "Bearer wkm_..." of the merchant */

static int
fz_handle(const char *method, const char *path, const char *body,
    size_t len, const char *auth, json_t **resp, iss_err *e)
{
	iss_request rq = { .method = method, .url = path, .body = body,
	    .body_len = len, .authorization = auth, .peer = NULL };

	return iss_handle(fz, &rq, resp, e);
}

static EVP_PKEY *card_key(void);
static EVP_PKEY *fz_mfg_key;	/* the test manufacturer */
static X509 *fz_mfg_ca;

/* the fixed card's genuine attestation: key attestation, device
 * certificate, manufacturer CA (made at start-up by a test manufacturer
 * the issuer trusts), and its CSR */
static struct {
	uint8_t der[3][WK_ATTEST_CERT_MAX];
	size_t len[3];
	char csr_b64[2048];
} fz_att;

static void
cleanup(void)
{
	static const char *const files[] = { "issuer.db", "issuer.db-wal",
	    "issuer.db-shm", "issuer.key", "mfg.pem" };
	char path[300];

	iss_free(&fz);
	X509_free(fz_mfg_ca);
	EVP_PKEY_free(fz_mfg_key);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fz_dir, files[i]);
		unlink(path);
	}
	rmdir(fz_dir);
}

static void
put_der(X509 *x, uint8_t der[WK_ATTEST_CERT_MAX], size_t *len)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);

	if (n <= 0 || (size_t)n > WK_ATTEST_CERT_MAX)
		abort();
	memcpy(der, d, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(d);
}

static char *
b64_alloc(const uint8_t *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);

	if (s != NULL)
		sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* a card's chain from the test manufacturer for its wallet key in slot 82:
 * key attestation into der[0], device certificate into der[1] */
static void
chain_for(const uint8_t id[8], EVP_PKEY *card,
    uint8_t der[][WK_ATTEST_CERT_MAX], size_t *len)
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN];
	wk_attest_key info = { .slot = 0x82, .origin = WK_ATTEST_ORIGIN_GENERATED,
	    .pin_policy = 1, .touch_policy = 1, .firmware = { 5, 7, 1 },
	    .serial = 0x01020304 };
	EVP_PKEY *f9 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *dev = NULL, *leaf = NULL;

	memcpy(serial, id, 8);
	memset(serial + 8, 0x22, sizeof(serial) - 8);
	if (f9 == NULL ||
	    wk_attest_device_new(f9, id, fz_mfg_key, fz_mfg_ca, 3650, serial,
	    &dev) != WK_ATTEST_OK ||
	    wk_attest_key_new(card, &info, id, f9, dev, serial, &leaf) !=
	    WK_ATTEST_OK)
		abort();
	put_der(leaf, der[0], &len[0]);
	put_der(dev, der[1], &len[1]);
	X509_free(leaf);
	X509_free(dev);
	EVP_PKEY_free(f9);
}

/* a test manufacturer (trusted by the issuer: mfg.pem) and the fixed
 * card's chain for its wallet key in slot 82 */
static void
make_attestation(const char *mfg_pem, EVP_PKEY *card)
{
	static const uint8_t id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t serial[WK_ATTEST_SERIAL_LEN] = { 0x11 };
	FILE *f;

	if ((fz_mfg_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    wk_attest_ca_new(fz_mfg_key, "fuzz manufacturer", 3650, serial,
	    &fz_mfg_ca) != WK_ATTEST_OK || (f = fopen(mfg_pem, "w")) == NULL)
		abort();
	if (PEM_write_X509(f, fz_mfg_ca) != 1 || fclose(f) != 0)
		abort();
	chain_for(id, card, fz_att.der, fz_att.len);
	put_der(fz_mfg_ca, fz_att.der[2], &fz_att.len[2]);
}

/* {pan, password, card_id, csr, attestation: [the n certificates]} */
static char *
enrol_body(const char *card_id, const char *csr_b64,
    uint8_t der[][WK_ATTEST_CERT_MAX], const size_t *len, const int *order,
    size_t n)
{
	json_t *a = json_array(), *req;
	char *s;

	for (size_t i = 0; i < n; i++) {
		char *b = b64_alloc(der[order[i]], len[order[i]]);

		json_array_append_new(a, json_string(b != NULL ? b : ""));
		free(b);
	}
	req = json_pack("{s:s, s:s, s:s, s:s, s:o}", "pan", FUZZ_PAN,
	    "password", "password1", "card_id", card_id, "csr", csr_b64,
	    "attestation", a);
	s = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	return s;
}

/* enrols card id (hex) with the PEM key (NULL: a fresh key), its chain from
 * the test manufacturer; the fixed card's CSR stays in fz_att */
static void
enrol_card(const char *id, const char *pem)
{
	static const int order[2] = { 0, 1 };
	static uint8_t der[3][WK_ATTEST_CERT_MAX];
	size_t len[3] = { 0 };
	uint8_t idb[8];
	BIO *bio = BIO_new_mem_buf(pem != NULL ? pem : fuzz_card_key, -1);
	EVP_PKEY *k = pem == NULL ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") :
	    bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	X509_REQ *r = X509_REQ_new();
	unsigned char *dcsr = NULL;
	char b64[2048];
	json_t *req = NULL, *resp = NULL;
	iss_err e = { 0 };
	char *body;
	int n;

	if (k == NULL || r == NULL || X509_NAME_add_entry_by_txt(
	    X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
	    (const unsigned char *)id, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(r, k) != 1 || X509_REQ_sign(r, k, EVP_sha256()) <= 0 ||
	    (n = i2d_X509_REQ(r, &dcsr)) <= 0 ||
	    wk_hex_decode(id, idb, sizeof(idb)) != sizeof(idb))
		abort();
	sodium_bin2base64(b64, sizeof(b64), dcsr, (size_t)n,
	    sodium_base64_VARIANT_ORIGINAL);
	if (strcmp(id, FUZZ_CARD_ID) == 0) {
		memcpy(fz_att.csr_b64, b64, sizeof(b64));
		memcpy(der, fz_att.der, sizeof(der));
		memcpy(len, fz_att.len, sizeof(len));
	} else {
		chain_for(idb, k, der, len);
	}
	if ((body = enrol_body(id, b64, der, len, order, 2)) == NULL ||
	    (req = json_loads(body, 0, NULL)) == NULL)
		abort();
	free(body);
	if (iss_enrol(fz, NULL, req, &resp, &e) != 0) {
		fprintf(stderr, "fuzz_issuer: enrol: %s\n", e.message);
		abort();
	}
	json_decref(req);
	json_decref(resp);
	OPENSSL_free(dcsr);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	BIO_free(bio);
}

/*
 * an enrolment of the fixed card (enrolled already: a genuine chain gets
 * the same certificate again) whose attestation is the genuine chain with
 * the input XORed over the key attestation then the device certificate;
 * input bytes beyond both are appended to the device certificate.
 * data[0] & 3 picks the chain: [key, device], [key, device, CA],
 * [device, key], [key]. With 0x10 set the chain goes straight to
 * wk_attest_verify against the issuer's trusted store (no password hash
 * per input: many more runs per second on the parser)
 */
static void
attest_route(const uint8_t *data, size_t size)
{
	static const int orders[4][3] = { { 0, 1, 0 }, { 0, 1, 2 }, { 1, 0, 0 },
	    { 0, 0, 0 } };
	static const size_t counts[4] = { 2, 3, 2, 1 };
	static uint8_t der[3][WK_ATTEST_CERT_MAX];
	size_t len[3], n = size - 1, extra;
	const uint8_t *x = data + 1;
	unsigned shape = data[0] & 3;
	json_t *resp = NULL;
	iss_err e = { 0 };
	char *body;

	memcpy(der, fz_att.der, sizeof(der));
	memcpy(len, fz_att.len, sizeof(len));
	for (size_t i = 0; i < n && i < len[0]; i++)
		der[0][i] ^= x[i];
	for (size_t i = len[0]; i < n && i < len[0] + len[1]; i++)
		der[1][i - len[0]] ^= x[i];
	if (n > len[0] + len[1]) {
		extra = n - len[0] - len[1];
		if (extra > WK_ATTEST_CERT_MAX - len[1])
			extra = WK_ATTEST_CERT_MAX - len[1];
		memcpy(der[1] + len[1], x + len[0] + len[1], extra);
		len[1] += extra;
	}
	if ((data[0] & 0x10) != 0) {
		const uint8_t *d[3];
		size_t l[3];
		int rc;

		for (size_t i = 0; i < counts[shape]; i++) {
			d[i] = der[orders[shape][i]];
			l[i] = len[orders[shape][i]];
		}
		rc = wk_attest_verify(fz->keys.mfg, d, l, counts[shape],
		    (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08", 0x82,
		    NULL, NULL, NULL, 0);
		if (n == 0 && shape < 2 && rc != WK_ATTEST_OK)
			abort();
		return;
	}
	if ((body = enrol_body(FUZZ_CARD_ID, fz_att.csr_b64, der, len,
	    orders[shape], counts[shape])) == NULL)
		return;
	(void)fz_handle("POST", "/v1/enrolments", body, strlen(body), NULL,
	    &resp, &e);
	/* the genuine chain is accepted; a changed one never is */
	if (n == 0 && shape < 2 && resp == NULL)
		abort();
	json_decref(resp);
	free(body);
}

/* a challenge for the fixed card, the card's proof over it with scope
 * (XORed with x, n bytes, past its end appended), POST /v1/sessions; 0 and
 * the token in tok when the issuer opened one */
static int
open_session(uint8_t scope, const uint8_t *x, size_t n, char *tok)
{
	uint8_t proof[WK_MSG_MAX + 64];
	json_t *resp = NULL, *req = NULL;
	const char *c, *t;
	EVP_PKEY *key = card_key();
	iss_err e = { 0 };
	wk_buf b;
	wk_msg m;
	size_t len;
	char *body = NULL;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	wk_buf_init_fixed(&b, proof, sizeof(proof));
	/* the challenges of earlier runs expire: at most a few wait per card */
	fz->clock_skew += ISS_CHALLENGE_TTL + 1;
	if (key == NULL || (req = json_object()) == NULL ||
	    iss_session_challenge(fz, NULL, FUZZ_CARD_ID, req, &resp, &e) != 0 ||
	    (c = json_string_value(json_object_get(resp, "challenge"))) == NULL ||
	    wk_hex_decode(c, m.nonce, sizeof(m.nonce)) != sizeof(m.nonce))
		goto out;
	json_decref(resp);
	resp = NULL;
	m.type = WK_MSG_SESSION_AUTH;
	wk_hex_decode(FUZZ_CARD_ID, m.card_id, sizeof(m.card_id));
	m.scope = scope;
	if (wk_msg_sign(&m, key, &b) != WK_MSG_OK)
		goto out;
	len = b.len;
	for (size_t i = 0; i < n; i++) {
		if (i < len)
			proof[i] ^= x[i];
		else if (len < sizeof(proof))
			proof[len++] = x[i];
	}
	if ((body = b64_alloc(proof, len)) == NULL)
		goto out;
	json_decref(req);
	if ((req = json_pack("{s:s}", "proof", body)) == NULL ||
	    iss_session_open(fz, NULL, req, &resp, &e) != 0 ||
	    (t = json_string_value(json_object_get(resp, "token"))) == NULL ||
	    strlen(t) != ISS_TOKEN_LEN)
		goto out;
	memcpy(tok, t, ISS_TOKEN_LEN + 1);
	rc = 0;
out:
	free(body);
	json_decref(req);
	json_decref(resp);
	EVP_PKEY_free(key);
	return rc;
}

/*
 * the session doors (first byte 0x08-0x0F), by data[0] & 7:
 * 0 POST /v1/sessions, the rest its JSON body; 1 the rest a raw proof
 * (base64 in the body); 2 a proof of the fixed card over a fresh
 * challenge, scope data[1], XORed with the rest (empty: a good proof, which
 * must open a session); 3 POST /v1/cards/FIXED/challenges, the rest its
 * body; 4 a card's door (history) with the rest as the Authorization
 * header; 5 the card id segment of the challenge door is the rest
 */
static void
session_route(const uint8_t *data, size_t size)
{
	const uint8_t *x = data + 1;
	size_t n = size - 1;
	char path[128], *text = NULL, tok[ISS_TOKEN_LEN + 1];
	json_t *resp = NULL;
	iss_err e = { 0 };

	switch (data[0] & 7) {
	case 0:
		(void)fz_handle("POST", "/v1/sessions", (const char *)x, n, NULL,
		    &resp, &e);
		break;
	case 1:
		if ((text = b64_alloc(x, n)) != NULL) {
			char *body = malloc(strlen(text) + 16);

			if (body != NULL) {
				int len = sprintf(body, "{\"proof\":\"%s\"}", text);

				(void)fz_handle("POST", "/v1/sessions", body,
				    (size_t)len, NULL, &resp, &e);
				free(body);
			}
		}
		break;
	case 2:
		if (n == 0)
			break;
		/* the genuine proof of a card or holder scope always opens */
		if (open_session(x[0], x + 1, n - 1, tok) != 0 && n == 1 &&
		    (x[0] == WK_MSG_SCOPE_CARD || x[0] == WK_MSG_SCOPE_HOLDER))
			abort();
		break;
	case 3:
		fz->clock_skew += ISS_CHALLENGE_TTL + 1;
		(void)fz_handle("POST", "/v1/cards/" FUZZ_CARD_ID "/challenges",
		    (const char *)x, n, NULL, &resp, &e);
		break;
	case 4:
		if ((text = malloc(n + 1)) != NULL) {
			memcpy(text, x, n);
			text[n] = '\0';
			(void)fz_handle("GET", "/v1/audit/" FUZZ_CARD_ID
			    "/history/1", NULL, 0, text, &resp, &e);
			/* only the fixed card's own token opens its door */
			if (resp != NULL && strstr(text, fz_bearer + 7) == NULL)
				abort();
		}
		break;
	case 5:
		if (n > 60)
			break;
		memcpy(path, "/v1/cards/", 10);
		memcpy(path + 10, x, n);
		memcpy(path + 10 + n, "/challenges", 12);
		if (strlen(path) != 10 + n + 11)
			break;
		fz->clock_skew += ISS_CHALLENGE_TTL + 1;
		(void)fz_handle("POST", path, "{}", 2, NULL, &resp, &e);
		break;
	default:
		break;
	}
	json_decref(resp);
	free(text);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = fz_dir, url[300], key[300], mfg[300], err[256];
	size_t added;
	iss_unlock u = { 0 };
	iss_db *db = NULL;
	iss_err e = { 0 };
	int64_t id;

	(void)argc;
	(void)argv;
	snprintf(fz_dir, sizeof(fz_dir), "%s/wk-fuzz-issuer.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		abort();
	snprintf(url, sizeof(url), "sqlite:%s/issuer.db", dir);
	snprintf(key, sizeof(key), "%s/issuer.key", dir);
	snprintf(mfg, sizeof(mfg), "%s/mfg.pem", dir);
	u.key_file = key;
	if (iss_db_open(url, &db, err, sizeof(err)) != 0 ||
	    iss_schema_migrate(db, err, sizeof(err)) != 0 ||
	    iss_keys_create(db, &u, ISS_DEFAULT_CEILING, err, sizeof(err)) != 0 ||
	    iss_account_create(db, FUZZ_PAN, "fuzz", "password1", &id,
	    &e) != 0 || iss_deposit(db, FUZZ_PAN, 100000, &e) != 0) {
		fprintf(stderr, "fuzz_issuer: %s %s\n", err, e.message);
		abort();
	}
	/* the manufacturer is made with the card's chain; the issuer trusts it
	 * before it opens */
	{
		BIO *bio = BIO_new_mem_buf(fuzz_card_key, -1);
		EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

		if (k == NULL)
			abort();
		make_attestation(mfg, k);
		EVP_PKEY_free(k);
		BIO_free(bio);
	}
	if (iss_mfg_add(db, &u, mfg, &added, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_issuer: %s\n", err);
		abort();
	}
	iss_db_free(&db);
	if (iss_open(url, &u, 4, &fz, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_issuer: %s\n", err);
		abort();
	}
	atexit(cleanup);
	enrol_card(FUZZ_CARD_ID, fuzz_card_key);
	{
		/* a second card to receive transfers, and a merchant */
		iss_db *d2 = NULL;
		int64_t mid;

		char k[96];

		if (iss_db_open(url, &d2, err, sizeof(err)) != 0 ||
		    iss_merchant_create(d2, "000000000042", NULL, &mid, &e) != 0 ||
		    iss_merchant_key_new(d2, "000000000042", k, sizeof(k), &e) != 0)
			abort();
		snprintf(fz_merchant, sizeof(fz_merchant), "Bearer %s", k);
		iss_db_free(&d2);
		enrol_card(FUZZ_PEER_ID, NULL);
	}
	/* the fixed card's holder session, for the card's doors; it outlives
	 * any run (the session route moves the clock on) */
	fz->session_ttl = 100u * 365 * 86400;
	{
		char tok[ISS_TOKEN_LEN + 1];

		if (open_session(WK_MSG_SCOPE_HOLDER, NULL, 0, tok) != 0)
			abort();
		snprintf(fz_bearer, sizeof(fz_bearer), "Bearer %s", tok);
	}
	return 0;
}

static EVP_PKEY *
card_key(void)
{
	BIO *bio = BIO_new_mem_buf(fuzz_card_key, -1);
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return k;
}

static char *
hex_alloc(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);

	if (h != NULL)
		wk_hex_encode(p, n, h);
	return h;
}

/*
 * the audit sync: (data[0] & 3) picks records, ack, history or key. With
 * 0x80 set the rest is raw: for records, a plaintext page the harness seals
 * to the issuer's key for the fixed card (so the chain checks and the
 * database are reached); for ack, base seq 8 | base hash 32 | head seq 8 |
 * head hash 32 | nonce 16, signed here with the fixed card key; otherwise
 * the rest is the JSON body (history: the FROM path segment).
 */
static void
audit_route(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"/v1/audit/" FUZZ_CARD_ID "/records",
		"/v1/audit/" FUZZ_CARD_ID "/ack",
		"/v1/audit/" FUZZ_CARD_ID "/history/",
		"/v1/audit/key",
		"/v1/audit/" FUZZ_CARD_ID "/loads/",
		"/v1/audit/" FUZZ_CARD_ID "/bank/",
	};
	unsigned r = data[0] & 3;
	bool raw = (data[0] & 0x80) != 0;
	const uint8_t serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t pk[32], sig[WK_AREC_SIG_MAX], tbs[WK_AREC_HEAD_TBS_LEN];
	char path[400], *body = NULL, *h = NULL, *h2 = NULL, *h3 = NULL, *h4 = NULL;
	const char *method;
	json_t *resp = NULL, *k = NULL;
	EVP_PKEY *key = NULL;
	iss_err e = { 0 };
	wk_buf sealed;
	wk_arec_hist hist;
	size_t n = size - 1, sig_len = 0, blen = 0;

	wk_buf_init_heap(&sealed, 70000);
	method = r >= 2 ? "GET" : "POST";
	/* 0x20 on the history route: the loads route instead */
	if (r == 2 && (data[0] & 0x20) != 0)
		r = 4;
	/* 0x10 on the history route: the bank's records (after, not from) */
	else if (r == 2 && (data[0] & 0x10) != 0)
		r = 5;
	snprintf(path, sizeof(path), "%s", paths[r]);
	if (r == 2 || r == 4 || r == 5) {
		/* the FROM segment: up to 24 bytes of the input */
		size_t m = n < 24 ? n : 24;

		memcpy(path + strlen(path), data + 1, m);
		path[strlen(paths[r]) + m] = '\0';
		if (strlen(path) != strlen(paths[r]) + m)
			goto out;
	} else if (raw && r == 0) {
		if (iss_audit_key(fz, &k, &e) != 0 || wk_hex_decode(
		    json_string_value(json_object_get(k, "x25519")), pk, 32) != 32 ||
		    wk_arec_seal(pk, serial, data + 1, n, &sealed) != WK_AREC_OK ||
		    (h = hex_alloc(sealed.p, sealed.len)) == NULL ||
		    (body = malloc(strlen(h) + 16)) == NULL)
			goto out;
		blen = (size_t)sprintf(body, "{\"page\":\"%s\"}", h);
	} else if (raw && r == 1) {
		const uint8_t *p = data + 1;

		if (n < 8 + 32 + 8 + 32 + 16 || (key = card_key()) == NULL)
			goto out;
		wk_arec_head_tbs(serial, (uint64_t)p[7], p + 8, (uint64_t)p[47],
		    p + 48, p + 80, tbs);
		/* only the low byte of each seq: the fuzzer reaches real seqs */
		if (wk_arec_sign(key, tbs, sizeof(tbs), sig, sizeof(sig),
		    &sig_len) != WK_AREC_OK ||
		    (h = hex_alloc(p + 8, 32)) == NULL ||
		    (h2 = hex_alloc(p + 48, 32)) == NULL ||
		    (h3 = hex_alloc(p + 80, 16)) == NULL ||
		    (h4 = hex_alloc(sig, sig_len)) == NULL ||
		    (body = malloc(600)) == NULL)
			goto out;
		blen = (size_t)snprintf(body, 600, "{\"head\":{\"checkpoint_seq\":%u,"
		    "\"checkpoint_hash\":\"%s\",\"seq\":%u,\"hash\":\"%s\","
		    "\"nonce\":\"%s\",\"signature\":\"%s\"}}", p[7], h, p[47],
		    h2, h3, h4);
	}
	(void)fz_handle(method, path, body != NULL ? body :
	    (r >= 2 ? NULL : (const char *)data + 1), body != NULL ? blen :
	    (r >= 2 ? 0 : n), fz_bearer, &resp, &e);
	/* a history or loads page the issuer signed always parses */
	if ((r == 2 || r == 4) && resp != NULL) {
		const char *pg = json_string_value(json_object_get(resp, "page"));
		uint8_t *b = pg ? malloc(strlen(pg) / 2 + 1) : NULL;
		wk_arec_loads loads;

		if (b != NULL && (wk_hex_decode(pg, b, strlen(pg) / 2) < 0 ||
		    (r == 2 ? wk_arec_hist_parse(b, strlen(pg) / 2, &hist) :
		    wk_arec_loads_parse(b, strlen(pg) / 2, &loads)) != WK_AREC_OK))
			abort();
		free(b);
	}
	/* a batch of the bank's records the issuer signed always parses */
	if (r == 5 && resp != NULL) {
		const char *bt = json_string_value(json_object_get(resp, "batch"));
		uint8_t *b = bt ? malloc(strlen(bt) / 2 + 1) : NULL;
		wk_arec_iss bank;

		if (b != NULL && (wk_hex_decode(bt, b, strlen(bt) / 2) < 0 ||
		    wk_arec_iss_parse(b, strlen(bt) / 2, &bank) != WK_AREC_OK))
			abort();
		free(b);
	}
out:
	json_decref(resp);
	json_decref(k);
	EVP_PKEY_free(key);
	wk_buf_clear(&sealed);
	free(body);
	free(h);
	free(h2);
	free(h3);
	free(h4);
}

/* a base64 message as the JSON {field: ...}; NULL on failure */
static char *
wrap_b64(const char *field, const uint8_t *p, size_t len, size_t *blen)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *body;

	if ((body = malloc(cap + 32)) == NULL)
		return NULL;
	*blen = (size_t)snprintf(body, cap + 32, "{\"%s\":\"", field);
	sodium_bin2base64(body + *blen, cap, p, len,
	    sodium_base64_VARIANT_ORIGINAL);
	*blen += strlen(body + *blen);
	body[(*blen)++] = '"';
	body[(*blen)++] = '}';
	body[*blen] = '\0';
	return body;
}

static void
pin_route(const uint8_t *data, size_t size)
{
	json_t *resp = NULL;
	iss_err e = { 0 };
	char *body = NULL;
	size_t blen = size - 1;

	if (data[0] == 0x1F) {
		iss_pin_order ord;
		EVP_PKEY *key;
		iss_db *db;
		wk_msg m;
		wk_buf b;

		if (size - 1 < 4 || (key = card_key()) == NULL)
			return;
		if ((db = iss_pool_get(fz->pool)) != NULL) {
			(void)iss_pin_order_new(db, &fz->keys, FUZZ_CARD_ID, NULL, 0,
			    &ord, NULL, &e);
			iss_pool_put(fz->pool, db);
		}
		memset(&m, 0, sizeof(m));
		m.type = WK_MSG_UNBLOCK_REQUEST;
		wk_hex_decode(FUZZ_CARD_ID, m.card_id, 8);
		memcpy(m.card_random, data + 1, 4);
		wk_buf_init_heap(&b, WK_MSG_MAX);
		if (wk_msg_sign(&m, key, &b) == WK_MSG_OK)
			body = wrap_b64("request", b.p, b.len, &blen);
		wk_buf_clear(&b);
		EVP_PKEY_free(key);
		if (body == NULL)
			return;
	} else if ((data[0] & 0x80) != 0) {
		if ((body = wrap_b64("request", data + 1, size - 1, &blen)) == NULL)
			return;
	}
	(void)fz_handle("POST", "/v1/pin-reloads",
	    body ? body : (const char *)data + 1, blen, NULL, &resp, &e);
	json_decref(resp);
	free(body);
}

/*
 * online payments: (data[0] & 7) picks 0 POST /v1/payments (the rest the
 * JSON body, the merchant's key), 1 GET /v1/payments/ID?wait=0 (the rest
 * as ID), 2 GET /v1/cards/CARD/payments?wait= (the rest as wait, the
 * fixed card's session), 3 POST .../confirmation of a real request (the
 * rest the JSON body), 4-7 the fixed card's true confirmation of a real
 * request, its signed body XORed with the rest before the card key signs
 * it: paid only when nothing changed. A request left open is cancelled.
 */
static void
payment_route(const uint8_t *data, size_t size)
{
	static unsigned order;
	const uint8_t *x = data + 1;
	size_t n = size - 1;
	char path[256], body[256], id[33] = "", *txt = NULL;
	json_t *resp = NULL, *j;
	iss_err e = { 0 };
	int sub = data[0] & 7;

	if (sub == 0) {
		(void)fz_handle("POST", "/v1/payments", (const char *)x, n,
		    fz_merchant, &resp, &e);
		goto cancel;
	}
	if (sub == 1 || sub == 2) {
		size_t k = 0;

		for (size_t i = 0; i < n && k < 60; i++)
			if (x[i] >= 0x21 && x[i] < 0x7F)
				body[k++] = (char)x[i];
		body[k] = '\0';
		if (sub == 1)
			snprintf(path, sizeof(path), "/v1/payments/%s?wait=0", body);
		else
			snprintf(path, sizeof(path), "/v1/cards/" FUZZ_CARD_ID
			    "/payments?wait=%.2s", body);
		(void)fz_handle("GET", path, NULL, 0, sub == 1 ? fz_merchant :
		    fz_bearer, &resp, &e);
		json_decref(resp);
		return;
	}
	/* a real request for the fixed card */
	snprintf(body, sizeof(body), "{\"payer\":\"" FUZZ_PAN "\",\"order_id\":"
	    "\"fz-%u\",\"amount\":1,\"description\":\"fuzz\"}", ++order);
	if (fz_handle("POST", "/v1/payments", body, strlen(body), fz_merchant,
	    &resp, &e) != 0 || (j = json_object_get(resp, "payment_id")) == NULL)
		goto cancel;
	snprintf(id, sizeof(id), "%s", json_string_value(j));
	json_decref(resp);
	resp = NULL;
	snprintf(path, sizeof(path), "/v1/payments/%s/confirmation", id);
	if (sub == 3) {
		(void)fz_handle("POST", path, (const char *)x, n, fz_bearer, &resp,
		    &e);
	} else {
		uint8_t req[WK_MSG_MAX], conf[WK_MSG_MAX];
		EVP_PKEY *key = card_key();
		wk_msg q, c, parsed;
		wk_buf b, sb;
		bool changed = false;
		size_t rl = 0, cap;
		size_t i;
		json_t *v;

		if (key == NULL)
			goto cancel;
		if (fz_handle("GET", "/v1/cards/" FUZZ_CARD_ID "/payments", NULL, 0,
		    fz_bearer, &resp, &e) == 0)
			json_array_foreach(json_object_get(resp, "payments"), i, v)
				if (strcmp(json_string_value(json_object_get(v,
				    "payment_id")), id) == 0)
					sodium_base642bin(req, sizeof(req),
					    json_string_value(json_object_get(v, "request")),
					    strlen(json_string_value(json_object_get(v,
					    "request"))), NULL, &rl, NULL,
					    sodium_base64_VARIANT_ORIGINAL);
		json_decref(resp);
		resp = NULL;
		if (rl == 0 || wk_msg_parse(req, rl, &q, NULL, NULL) != WK_MSG_OK) {
			EVP_PKEY_free(key);
			goto cancel;
		}
		wk_payment_confirmation(&q, WK_MSG_ACCEPTED, order, &c);
		/* the body the card would sign, changed by the input, signed by
		 * the card key: the issuer must find every change */
		wk_buf_init_fixed(&b, conf, sizeof(conf));
		if (wk_msg_encode_body(&c, &b) != WK_MSG_OK) {
			EVP_PKEY_free(key);
			goto cancel;
		}
		for (i = 0; i < n && i < b.len; i++) {
			conf[i] ^= x[i];
			changed = changed || x[i] != 0;
		}
		wk_buf_init_heap(&sb, WK_MSG_MAX + 128);
		{
			EVP_MD_CTX *md = EVP_MD_CTX_new();
			uint8_t sig[128];
			size_t sl = sizeof(sig), mark;

			if (md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(),
			    NULL, key) == 1 && EVP_DigestSign(md, sig, &sl, conf,
			    b.len) == 1) {
				mark = wk_tlv_begin(&sb, 0xE0);
				wk_buf_add(&sb, conf, b.len);
				wk_tlv_put(&sb, 0x9E, sig, sl);
				wk_tlv_end(&sb, mark);
			}
			EVP_MD_CTX_free(md);
		}
		EVP_PKEY_free(key);
		/* a change that still parses the same is no change */
		if (changed && wk_msg_parse(sb.p, sb.len, &parsed, NULL, NULL) ==
		    WK_MSG_OK && memcmp(&parsed, &c, sizeof(c)) == 0)
			changed = false;
		cap = sodium_base64_ENCODED_LEN(sb.len, sodium_base64_VARIANT_ORIGINAL);
		if (!wk_buf_failed(&sb) && (txt = malloc(cap + 32)) != NULL) {
			size_t bl = (size_t)sprintf(txt, "{\"confirmation\":\"");

			sodium_bin2base64(txt + bl, cap, sb.p, sb.len,
			    sodium_base64_VARIANT_ORIGINAL);
			bl += strlen(txt + bl);
			memcpy(txt + bl, "\"}", 3);
			bl += 2;
			(void)fz_handle("POST", path, txt, bl, fz_bearer, &resp, &e);
			if (resp != NULL && json_string_value(json_object_get(resp,
			    "status")) != NULL && strcmp(json_string_value(
			    json_object_get(resp, "status")), "paid") == 0 && changed)
				__builtin_trap();	/* paid for a changed confirmation */
		}
		free(txt);
		wk_buf_clear(&sb);
	}
cancel:
	if (resp != NULL && id[0] == '\0' &&
	    (j = json_object_get(resp, "payment_id")) != NULL)
		snprintf(id, sizeof(id), "%s", json_string_value(j));
	json_decref(resp);
	resp = NULL;
	if (id[0] != '\0') {
		snprintf(path, sizeof(path), "/v1/payments/%s/cancel", id);
		(void)fz_handle("POST", path, "{}", 2, fz_merchant, &resp, &e);
		json_decref(resp);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const routes[] = {
		"/v1/loads",
		"/v1/loads/00112233445566778899aabbccddeeff/receipt",
		"/v1/loads/00112233445566778899aabbccddeeff/refusal",
		"/v1/loads/00112233445566778899aabbccddeeff/recover",
		"/v1/enrolments",
		"/v1/loads/00112233445566778899aabbccddeeff",
		"/v1/transfers",
		"/v1/settlements",
	};
	static const char *const fields[] = { "request", "receipt", "refusal",
	    "proof", "csr", "request", "token", "proofs" };
	json_t *resp = NULL;
	iss_err e = { 0 };
	wk_msg m;
	const char *route;
	char *body = NULL;
	size_t r, blen = size - 1;

	wk_arec_hist hist;
	wk_arec_loads loads;
	wk_arec_iss bank;

	if (size == 0)
		return 0;
	(void)wk_msg_parse(data + 1, size - 1, &m, NULL, NULL);
	(void)wk_arec_hist_parse(data + 1, size - 1, &hist);
	(void)wk_arec_loads_parse(data + 1, size - 1, &loads);
	(void)wk_arec_iss_parse(data + 1, size - 1, &bank);
	if ((data[0] & 0x40) != 0) {
		audit_route(data, size);
		return 0;
	}
	if ((data[0] & 0xE0) == 0x20) {
		attest_route(data, size);
		return 0;
	}
	if ((data[0] & 0x78) == 0x18) {
		pin_route(data, size);
		return 0;
	}
	if ((data[0] & 0xF8) == 0x08) {
		session_route(data, size);
		return 0;
	}
	if ((data[0] & 0x70) == 0x10) {
		payment_route(data, size);
		return 0;
	}
	r = (size_t)(data[0] & 0x7F) % (sizeof(routes) / sizeof(routes[0]));
	route = routes[r];
	if ((data[0] & 0x80) != 0 && r == 6) {
		/* a transfer token the fixed card signs: peer, amount, id */
		const uint8_t *p = data + 1;
		EVP_PKEY *key;
		wk_msg t;
		wk_buf tb;
		size_t cap;

		if (size - 1 < 28 || (key = card_key()) == NULL)
			return 0;
		memset(&t, 0, sizeof(t));
		t.type = WK_MSG_XFER_TOKEN;
		wk_hex_decode(FUZZ_CARD_ID, t.card_id, 8);
		memcpy(t.peer_id, p, 8);
		t.amount = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
		    (uint32_t)p[10] << 8 | p[11];
		memcpy(t.load_id, p + 12, 16);
		wk_buf_init_heap(&tb, WK_MSG_MAX);
		if (wk_msg_sign(&t, key, &tb) == WK_MSG_OK) {
			cap = sodium_base64_ENCODED_LEN(tb.len,
			    sodium_base64_VARIANT_ORIGINAL);
			if ((body = malloc(cap + 16)) != NULL) {
				blen = (size_t)sprintf(body, "{\"token\":\"");
				sodium_bin2base64(body + blen, cap, tb.p, tb.len,
				    sodium_base64_VARIANT_ORIGINAL);
				blen += strlen(body + blen);
				body[blen++] = '"';
				body[blen++] = '}';
				body[blen] = '\0';
			}
		}
		wk_buf_clear(&tb);
		EVP_PKEY_free(key);
		if (body == NULL)
			return 0;
	} else if ((data[0] & 0x80) != 0) {
		/* the rest is a raw message: wrap it as the route's JSON field so
		 * the fuzzer reaches the message checks behind JSON and base64 */
		size_t cap = sodium_base64_ENCODED_LEN(size - 1,
		    sodium_base64_VARIANT_ORIGINAL);

		if ((body = malloc(cap + 32)) == NULL)
			return 0;
		blen = (size_t)snprintf(body, cap + 32, "{\"%s\":\"", fields[r]);
		sodium_bin2base64(body + blen, cap, data + 1, size - 1,
		    sodium_base64_VARIANT_ORIGINAL);
		blen += strlen(body + blen);
		body[blen++] = '"';
		body[blen++] = '}';
		body[blen] = '\0';
	}
	(void)fz_handle(r == 5 ? "GET" : "POST", route,
	    body ? body : (const char *)data + 1, blen, fz_bearer, &resp, &e);
	json_decref(resp);
	free(body);
	return 0;
}

