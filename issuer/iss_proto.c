/*
 * the issuer's side of enrolment and remote load (docs/issuer.md): what
 * enrolment (iss_enrol.c) and the load (iss_load.c) share: the
 * transaction runner, the request readers, the card rows, and the CA's
 * certificate. Every check that needs no database runs before the
 * transaction; each state change runs in one transaction that is retried
 * when the engine reports a conflict (busy, deadlock, a concurrent insert
 * of the same load).
 */
#include "iss_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wk_hex.h"

#define TX_TRIES 8

/* implicit: on PostgreSQL fn's one statement is its own transaction */
static int
run_tx(iss *is, iss_tx_fn *fn, void *arg, bool implicit, iss_err *e)
{
	iss_db *db;
	int rc = -1;

	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	implicit = implicit && iss_db_is_pg(db);
	for (int i = 0; i < TX_TRIES; i++) {
		if (!implicit && (rc = iss_db_begin(db)) != ISS_DB_OK) {
			iss_fail_db(e, db, rc);
			if (rc == ISS_DB_RETRY)
				continue;
			rc = -1;
			break;
		}
		rc = fn(is, db, arg, e);
		if (!implicit) {
			if (rc == 0 && (rc = iss_db_commit(db)) != ISS_DB_OK)
				iss_fail_db(e, db, rc);
			if (rc != 0)
				iss_db_rollback(db);
		}
		if (rc != ISS_DB_RETRY)
			break;
		iss_fail(e, 503, "busy", "the database is busy; retry the request");
	}
	if (rc != 0)
		rc = -1;
	iss_pool_put(is->pool, db);
	return rc;
}

int
iss_run_tx(iss *is, iss_tx_fn *fn, void *arg, iss_err *e)
{
	return run_tx(is, fn, arg, false, e);
}

int
iss_run_stmt(iss *is, iss_tx_fn *fn, void *arg, iss_err *e)
{
	return run_tx(is, fn, arg, true, e);
}

int
iss_db_fail(iss_err *e, iss_db *db, int rc)
{
	if (rc == ISS_DB_RETRY || rc == ISS_DB_CONFLICT)
		return ISS_DB_RETRY;
	iss_fail_db(e, db, rc);
	return -1;
}

int
iss_req_keys(json_t *req, const char *const *allowed, iss_err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(req)) {
		iss_fail(e, 400, "bad_json", "the body is not a JSON object");
		return -1;
	}
	json_object_foreach(req, k, v) {
		bool ok = false;

		for (size_t i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			iss_fail(e, 400, "unknown_field", "unknown field \"%.64s\"", k);
			return -1;
		}
	}
	(void)v;
	return 0;
}

const char *
iss_req_str(json_t *req, const char *name, bool required, iss_err *e)
{
	json_t *v = json_object_get(req, name);

	if (v == NULL && !required)
		return NULL;
	if (!json_is_string(v)) {
		iss_fail(e, 400, "missing_field", "\"%s\" must be a string", name);
		return NULL;
	}
	return json_string_value(v);
}

char *
iss_hex_alloc(const uint8_t *p, size_t len)
{
	char *h = malloc(2 * len + 1);

	if (h != NULL)
		wk_hex_encode(p, len, h);
	return h;
}

int
iss_msg_arg(json_t *req, const char *name, uint8_t *buf, size_t *len, wk_msg *m,
    int want_type, iss_err *e)
{
	const char *s = iss_req_str(req, name, true, e);
	long n;
	int rc;

	if (s == NULL)
		return -1;
	if ((n = wk_b64_decode(s, buf, WK_MSG_MAX)) <= 0) {
		iss_fail(e, 400, "bad_message", "\"%s\" is not a base64 message of at"
		    " most %d bytes", name, WK_MSG_MAX);
		return -1;
	}
	*len = (size_t)n;
	if ((rc = wk_msg_parse(buf, *len, m, NULL, NULL)) != WK_MSG_OK) {
		iss_fail(e, 400, "bad_message", "%s: %s", name, wk_msg_strerror(rc));
		return -1;
	}
	if (want_type > 0 && m->type != want_type) {
		iss_fail(e, 400, "wrong_message_type", "%s: a %s, not a %s", name,
		    wk_msg_type_name(m->type), wk_msg_type_name(want_type));
		return -1;
	}
	return 0;
}

void
iss_host_datetime(uint8_t date[4], uint8_t tim[3])
{
	(void)wk_bcd_datetime(time(NULL), date, tim);
}

/* ---- the cards' certificates, parsed and checked once ---- */

/*
 * A load parsed its card's certificate (stored DER) twice and verified its
 * chain to the issuer's CA once: about a third of the issuer's CPU per
 * load (issue 17). A certificate never changes once stored (a card is
 * enrolled once; a revocation is a column of its row, read with every
 * request and again in the transaction), so its parse and a successful
 * chain check are kept, by the SHA-256 of its DER, in a table of fixed
 * size (direct-mapped: a newcomer takes its slot's place). A check is
 * kept only until the first notAfter of the chain it verified; a failed
 * check is never kept.
 */
#define CERT_SLOTS 1024

typedef struct cert_slot {
	uint8_t hash[crypto_hash_sha256_BYTES];
	X509 *cert;		/* NULL: free */
	time_t checked_until;	/* 0: chain not checked */
} cert_slot;

struct iss_certs {
	pthread_mutex_t mu;
	cert_slot s[CERT_SLOTS];
};

int
iss_certs_new(iss_certs **out)
{
	iss_certs *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return -1;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void
iss_certs_free(iss_certs **cp)
{
	iss_certs *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < CERT_SLOTS; i++)
		X509_free(c->s[i].cert);
	pthread_mutex_destroy(&c->mu);
	free(c);
	*cp = NULL;
}

static cert_slot *
cert_slot_of(iss_certs *c, const uint8_t *hash)
{
	uint32_t i = (uint32_t)hash[0] | (uint32_t)hash[1] << 8 |
	    (uint32_t)hash[2] << 16;

	return &c->s[i % CERT_SLOTS];
}

/* the certificate of der, parsed once (a reference the caller frees) */
static X509 *
cert_parse(iss_certs *c, const uint8_t *der, size_t len, uint8_t *hash)
{
	const uint8_t *p = der;
	cert_slot *sl;
	X509 *x = NULL;

	crypto_hash_sha256(hash, der, len);
	if (c == NULL)
		return d2i_X509(NULL, &p, (long)len);
	sl = cert_slot_of(c, hash);
	pthread_mutex_lock(&c->mu);
	if (sl->cert != NULL && memcmp(sl->hash, hash, sizeof(sl->hash)) == 0 &&
	    X509_up_ref(sl->cert) == 1)
		x = sl->cert;
	pthread_mutex_unlock(&c->mu);
	if (x != NULL || (x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return x;
	/* what parses is kept as it parsed: p moved over the whole DER */
	if (p != der + len || X509_up_ref(x) != 1)
		return x;
	pthread_mutex_lock(&c->mu);
	X509_free(sl->cert);
	memcpy(sl->hash, hash, sizeof(sl->hash));
	sl->cert = x;
	sl->checked_until = 0;
	pthread_mutex_unlock(&c->mu);
	return x;
}

/* the first notAfter of the chain ctx verified; 0 when unknown */
static time_t
chain_not_after(X509_STORE_CTX *ctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	time_t first = 0;
	struct tm tm;

	if (chain == NULL)
		return 0;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		const ASN1_TIME *na = X509_get0_notAfter(sk_X509_value(chain, i));
		time_t t;

		if (na == NULL || ASN1_TIME_to_tm(na, &tm) != 1)
			return 0;
		t = timegm(&tm);
		if (first == 0 || t < first)
			first = t;
	}
	return first;
}

int
iss_card_chain_check(iss *is, const iss_card_row *card, iss_err *e)
{
	iss_certs *c = is->certs;
	X509_STORE_CTX *ctx = NULL;
	cert_slot *sl;
	time_t until;
	bool kept;
	int rc = -1;

	if (c == NULL)
		return iss_ca_check(&is->keys, card->cert, e);
	/* card->cert holds a reference: the same pointer is the same
	 * certificate */
	sl = cert_slot_of(c, card->cert_hash);
	pthread_mutex_lock(&c->mu);
	kept = sl->cert == card->cert && time(NULL) < sl->checked_until;
	pthread_mutex_unlock(&c->mu);
	if (kept)
		return 0;
	/* iss_ca_check's check; on a failure iss_ca_check tells why */
	if ((ctx = X509_STORE_CTX_new()) == NULL || is->keys.trust == NULL ||
	    X509_STORE_CTX_init(ctx, is->keys.trust, card->cert, NULL) != 1 ||
	    X509_verify_cert(ctx) != 1) {
		rc = iss_ca_check(&is->keys, card->cert, e);
		goto out;
	}
	until = chain_not_after(ctx);
	pthread_mutex_lock(&c->mu);
	if (until > 0 && sl->cert == card->cert)
		sl->checked_until = until;
	pthread_mutex_unlock(&c->mu);
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	return rc;
}

/* ---- cards ---- */

void
iss_card_row_clear(iss_card_row *c)
{
	X509_free(c->cert);
	c->cert = NULL;
	c->pub = NULL;
}

int
iss_card_from_row(iss_certs *certs, const iss_res *r, size_t c0,
    iss_card_row *c, iss_err *e)
{
	long n;

	c->account_id = iss_res_int(r, 0, c0);
	snprintf(c->pan, sizeof(c->pan), "%s", iss_res_text(r, 0, c0 + 1));
	c->key_version = (uint8_t)iss_res_int(r, 0, c0 + 2);
	c->revoked = iss_res_text(r, 0, c0 + 3) != NULL;
	if (iss_algs_from_hex(iss_res_text(r, 0, c0 + 5), c->algs) != 0) {
		iss_fail(e, 500, "internal", "the stored key algorithms do not parse");
		return -1;
	}
	if ((n = wk_hex_decode(iss_res_text(r, 0, c0 + 4), c->cert_der,
	    sizeof(c->cert_der))) <= 0 ||
	    (c->cert = cert_parse(certs, c->cert_der, (size_t)n,
	    c->cert_hash)) == NULL ||
	    (c->pub = X509_get0_pubkey(c->cert)) == NULL) {
		iss_card_row_clear(c);
		iss_fail(e, 500, "internal", "the stored certificate does not parse");
		return -1;
	}
	c->cert_len = (size_t)n;
	return 0;
}

/* reads a card (outside a transaction is fine: cards change only by enrol
 * and revoke); 404 when unknown */
static int
card_load(iss_certs *certs, iss_db *db, const uint8_t id[WK_MSG_CARD_ID_LEN],
    iss_card_row *c, iss_err *e)
{
	iss_res *r = NULL;
	int rc = -1, d;

	memset(c, 0, sizeof(*c));
	wk_hex_encode(id, WK_MSG_CARD_ID_LEN, c->card_id);
	if ((d = iss_db_exec(db, "SELECT " ISS_CARD_COLS " FROM cards c JOIN"
	    " accounts a ON a.id = c.account_id WHERE c.card_id = $1",
	    (iss_param[]){ ISS_PS(c->card_id) }, 1, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "card %s is not enrolled", c->card_id);
		goto out;
	}
	rc = iss_card_from_row(certs, r, 0, c, e);
out:
	iss_res_free(&r);
	if (rc != 0)
		iss_card_row_clear(c);
	return rc;
}

int
iss_card_load(iss_db *db, const uint8_t id[WK_MSG_CARD_ID_LEN], iss_card_row *c,
    iss_err *e)
{
	return card_load(NULL, db, id, c, e);
}

int
iss_with_db(iss *is, iss_db **db, iss_err *e)
{
	if ((*db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	return 0;
}

int
iss_card_get(iss *is, const uint8_t id[WK_MSG_CARD_ID_LEN], iss_card_row *c, iss_err *e)
{
	iss_db *db;
	int rc;

	if (iss_with_db(is, &db, e) != 0)
		return -1;
	rc = card_load(is->certs, db, id, c, e);
	iss_pool_put(is->pool, db);
	return rc == 0 ? 0 : -1;
}

int
iss_verify_card_msg(const iss_card_row *c, const uint8_t *buf, size_t len, wk_msg *m,
    iss_err *e)
{
	int rc = wk_msg_verify(buf, len, c->pub, m);

	if (rc == WK_MSG_BAD_SIGNATURE) {
		iss_fail(e, 403, "bad_signature",
		    "the message is not signed by card %s", c->card_id);
		return -1;
	}
	if (rc != WK_MSG_OK) {
		iss_fail(e, 400, "bad_message", "%s", wk_msg_strerror(rc));
		return -1;
	}
	return 0;
}

int
iss_ca_get(iss *is, json_t **resp, iss_err *e)
{
	unsigned char *der = NULL;
	int n = i2d_X509(is->keys.ca_cert, &der);

	if (n <= 0 || (*resp = json_pack("{s:o}", "ca_certificate",
	    wk_b64_json(der, (size_t)n))) == NULL) {
		OPENSSL_free(der);
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	OPENSSL_free(der);
	return 0;
}
