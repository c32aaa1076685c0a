/*
 * the audit sync (docs/audit.md "Sync with the issuer"): the card's records
 * arrive in pages the card sealed to the issuer's X25519 key, are checked
 * as a chain and stored; a chain head the card signed with its enrolled
 * wallet key, whose record the issuer holds, is acknowledged with the CA
 * key; the history (the stored records and the acknowledgement) is served
 * in pages signed with the CA key.
 */
#include "iss.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "wk_arec.h"
#include "wk_hex.h"
#include "wk_json.h"

#define HIST_PAGE 255	/* records in one history page */

static const char audit_key_label[] = "walletkey-issuer-audit-x25519/1";

/* the issuer's X25519 key pair, derived from its sealed master keys, so an
 * issuer made before the sync has one too and nothing new is stored */
static void
audit_keypair(const iss *is, uint8_t pk[32], uint8_t sk[32])
{
	crypto_generichash(sk, 32, (const uint8_t *)audit_key_label,
	    sizeof(audit_key_label) - 1, is->keys.mk, ISS_MK_LEN);
	crypto_scalarmult_base(pk, sk);
}

/* exactly n bytes of hex from member k of o */
static int
get_hex(json_t *o, const char *k, uint8_t *out, size_t n, iss_err *e)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL || strlen(s) != 2 * n ||
	    wk_hex_decode(s, out, n) != (long)n) {
		iss_fail(e, 400, "bad_field", "%s: %zu bytes of hex expected", k, n);
		return -1;
	}
	return 0;
}

static int
get_seq(json_t *o, const char *k, uint64_t *v, iss_err *e)
{
	json_t *j = json_object_get(o, k);

	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		iss_fail(e, 400, "bad_field", "%s: a non-negative integer expected", k);
		return -1;
	}
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

/* only the listed members */
static int
only_keys(json_t *o, const char *const *allowed, iss_err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o)) {
		iss_fail(e, 400, "bad_json", "a JSON object expected");
		return -1;
	}
	json_object_foreach(o, k, v) {
		bool ok = false;

		for (size_t i = 0; allowed[i] != NULL; i++)
			ok = ok || strcmp(k, allowed[i]) == 0;
		if (!ok) {
			iss_fail(e, 400, "unknown_field", "unknown member %.60s", k);
			return -1;
		}
	}
	return 0;
}

/* "0102...08" -> lower-case id text and bytes */
static int
card_id(const char *in, char out[17], uint8_t id[8], iss_err *e)
{
	size_t n = strlen(in);

	if (n != 16 || strspn(in, "0123456789abcdefABCDEF") != 16) {
		iss_fail(e, 404, "not_found", "a card id is 16 hex digits");
		return -1;
	}
	for (size_t i = 0; i < 16; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[16] = '\0';
	if (wk_hex_decode(out, id, 8) != 8) {
		iss_fail(e, 404, "not_found", "a card id is 16 hex digits");
		return -1;
	}
	return 0;
}

/* the card's certificate; 404 when not enrolled */
static int
card_cert(iss_db *db, const char *id, X509 **cert, iss_err *e)
{
	uint8_t der[2048];
	const uint8_t *p = der;
	iss_res *r = NULL;
	long n;
	int rc = -1, d;

	*cert = NULL;
	if ((d = iss_db_exec(db, "SELECT cert FROM cards WHERE card_id = $1",
	    (iss_param[]){ ISS_PS(id) }, 1, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "card %s is not enrolled", id);
		goto out;
	}
	if ((n = wk_hex_decode(iss_res_text(r, 0, 0), der, sizeof(der))) <= 0 ||
	    (*cert = d2i_X509(NULL, &p, n)) == NULL) {
		iss_fail(e, 500, "internal", "the stored certificate does not parse");
		goto out;
	}
	rc = 0;
out:
	iss_res_free(&r);
	return rc;
}

/* the newest stored record (seq 0 and zero hash when none) and the ack */
typedef struct sync_state {
	uint64_t stored;
	uint8_t stored_hash[32];
	uint64_t acked;
	uint8_t acked_hash[32];
} sync_state;

static int
state_get(iss_db *db, const char *id, sync_state *s, iss_err *e)
{
	iss_res *r = NULL;
	int d;

	memset(s, 0, sizeof(*s));
	if ((d = iss_db_exec(db, "SELECT seq, hash FROM audit_records WHERE"
	    " card_id = $1 ORDER BY seq DESC LIMIT 1",
	    (iss_param[]){ ISS_PS(id) }, 1, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) == 1) {
		s->stored = (uint64_t)iss_res_int(r, 0, 0);
		wk_hex_decode(iss_res_text(r, 0, 1), s->stored_hash, 32);
	}
	iss_res_free(&r);
	if ((d = iss_db_exec(db, "SELECT acked_seq, acked_hash FROM audit_acks"
	    " WHERE card_id = $1", (iss_param[]){ ISS_PS(id) }, 1, &r)) !=
	    ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) == 1) {
		s->acked = (uint64_t)iss_res_int(r, 0, 0);
		wk_hex_decode(iss_res_text(r, 0, 1), s->acked_hash, 32);
	}
	iss_res_free(&r);
	return 0;
}

/* the stored record at seq: 1 found (raw filled), 0 none, < 0 failed */
static int
record_get(iss_db *db, const char *id, uint64_t seq, uint8_t raw[WK_AREC_LEN],
    iss_err *e)
{
	iss_res *r = NULL;
	int rc = 0, d;

	if ((d = iss_db_exec(db, "SELECT raw FROM audit_records WHERE"
	    " card_id = $1 AND seq = $2", (iss_param[]){ ISS_PS(id),
	    ISS_PI(seq) }, 2, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	if (iss_res_rows(r) == 1) {
		if (wk_hex_decode(iss_res_text(r, 0, 0), raw, WK_AREC_LEN) !=
		    WK_AREC_LEN) {
			iss_fail(e, 500, "internal", "a stored record does not parse");
			rc = -1;
		} else {
			rc = 1;
		}
	}
	iss_res_free(&r);
	return rc;
}

int
iss_audit_key(iss *is, json_t **resp, iss_err *e)
{
	uint8_t pk[32], sk[32];

	audit_keypair(is, pk, sk);
	sodium_memzero(sk, sizeof(sk));
	if ((*resp = json_pack("{s:o}", "x25519", wk_hex_json(pk, 32))) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	return 0;
}

/* ---- POST /v1/audit/{card}/records {"page": sealed page, hex} ---- */

typedef struct rec_arg {
	char id[17];
	wk_arec_page pg;
	sync_state s;
	uint64_t added;
} rec_arg;

static int
records_tx(iss *is, iss_db *db, void *arg, iss_err *e)
{
	rec_arg *a = arg;
	uint8_t old[WK_AREC_LEN], prev[32], h[32];
	char raw_hex[2 * WK_AREC_LEN + 1], hash_hex[65], now[40];
	X509 *cert = NULL;
	int rc, d;

	(void)is;
	a->added = 0;
	if ((rc = card_cert(db, a->id, &cert, e)) != 0)
		return rc;
	X509_free(cert);
	if ((rc = state_get(db, a->id, &a->s, e)) != 0)
		return rc;
	iss_now_iso(now, sizeof(now));
	for (unsigned i = 0; i < a->pg.count; i++) {
		const uint8_t *raw = a->pg.records + (size_t)i * WK_AREC_LEN;
		uint64_t seq = a->pg.first_seq + i;
		wk_arec r;

		if (wk_arec_decode(raw, WK_AREC_LEN, &r) != WK_AREC_OK ||
		    r.seq != seq) {
			iss_fail(e, 400, "bad_page", "record %u is not seq %llu",
			    i, (unsigned long long)seq);
			return -1;
		}
		if (seq <= a->s.stored) {
			if ((rc = record_get(db, a->id, seq, old, e)) < 0)
				return rc;
			if (rc == 1 && sodium_memcmp(old, raw, WK_AREC_LEN) == 0)
				continue;
			/* what the issuer acknowledged is never replaced */
			if (seq <= a->s.acked) {
				iss_fail(e, 409, "record_conflict", "record seq %llu"
				    " differs from the one the issuer acknowledged",
				    (unsigned long long)seq);
				return -1;
			}
			/* an unacknowledged tail nobody signed for: the card's
			 * own pages replace it */
			if ((d = iss_db_exec(db, "DELETE FROM audit_records WHERE"
			    " card_id = $1 AND seq >= $2", (iss_param[]){
			    ISS_PS(a->id), ISS_PI(seq) }, 2, NULL)) != ISS_DB_OK)
				return iss_db_fail(e, db, d);
			a->s.stored = seq - 1;
			memset(a->s.stored_hash, 0, 32);
			if (seq > 1) {
				if ((rc = record_get(db, a->id, seq - 1, old, e)) < 0)
					return rc;
				if (rc == 1)
					wk_arec_hash(old, a->s.stored_hash);
			}
		}
		if (seq != a->s.stored + 1) {
			iss_fail(e, 409, "gap", "record seq %llu does not follow the"
			    " newest stored one (%llu)", (unsigned long long)seq,
			    (unsigned long long)a->s.stored);
			return -1;
		}
		memcpy(prev, a->s.stored_hash, 32);
		if (sodium_memcmp(prev, r.prev, 32) != 0) {
			iss_fail(e, 400, "broken_chain", "record seq %llu does not"
			    " link to seq %llu", (unsigned long long)seq,
			    (unsigned long long)(seq - 1));
			return -1;
		}
		wk_arec_hash(raw, h);
		wk_hex_encode(raw, WK_AREC_LEN, raw_hex);
		wk_hex_encode(h, 32, hash_hex);
		if ((d = iss_db_exec(db, "INSERT INTO audit_records (card_id, seq,"
		    " raw, hash, received_at) VALUES ($1, $2, $3, $4, $5)",
		    (iss_param[]){ ISS_PS(a->id), ISS_PI(seq), ISS_PS(raw_hex),
		    ISS_PS(hash_hex), ISS_PS(now) }, 5, NULL)) != ISS_DB_OK)
			return iss_db_fail(e, db, d);
		a->s.stored = seq;
		memcpy(a->s.stored_hash, h, 32);
		a->added++;
	}
	return 0;
}

int
iss_audit_records(iss *is, const char *card, json_t *req, json_t **resp,
    iss_err *e)
{
	static const char *const keys[] = { "page", NULL };
	uint8_t pk[32], sk[32], serial[8], *sealed = NULL;
	const char *hex;
	wk_buf pt;
	rec_arg a;
	size_t n;
	int rc = -1;

	memset(&a, 0, sizeof(a));
	wk_buf_init_heap(&pt, ISS_MAX_BODY);
	if (card_id(card, a.id, serial, e) != 0 || only_keys(req, keys, e) != 0)
		goto out;
	hex = json_string_value(json_object_get(req, "page"));
	n = hex != NULL ? strlen(hex) : 0;
	if (n == 0 || n % 2 != 0 || (sealed = malloc(n / 2)) == NULL ||
	    wk_hex_decode(hex, sealed, n / 2) != (long)(n / 2)) {
		iss_fail(e, 400, "bad_field", "page: a sealed page in hex expected");
		goto out;
	}
	audit_keypair(is, pk, sk);
	rc = wk_arec_open(pk, sk, serial, sealed, n / 2, &pt);
	sodium_memzero(sk, sizeof(sk));
	if (rc != WK_AREC_OK || wk_buf_failed(&pt) ||
	    wk_arec_page_parse(pt.p, pt.len, &a.pg) != WK_AREC_OK) {
		rc = -1;
		iss_fail(e, 400, "bad_page", "the page does not open with the"
		    " issuer's key for card %s, or does not parse", a.id);
		goto out;
	}
	if ((rc = iss_run_tx(is, records_tx, &a, e)) != 0)
		goto out;
	if ((*resp = json_pack("{s:I, s:o, s:I, s:I}", "stored_seq",
	    (json_int_t)a.s.stored, "stored_hash", wk_hex_json(a.s.stored_hash, 32),
	    "added", (json_int_t)a.added, "acked_seq",
	    (json_int_t)a.s.acked)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		rc = -1;
	}
out:
	wk_buf_clear(&pt);
	free(sealed);
	return rc;
}

/* ---- POST /v1/audit/{card}/ack {"head": the card's signed chain head} ---- */

typedef struct ack_arg {
	char id[17];
	uint8_t serial[8];
	uint64_t base_seq, head_seq;
	uint8_t base_hash[32], head_hash[32], nonce[16];
	uint8_t sig[WK_AREC_SIG_MAX];
	size_t sig_len;
	sync_state s;
	wk_buf crl;		/* the signed revocation list, out */
} ack_arg;

static int
ack_tx_head(iss *is, iss_db *db, void *arg, iss_err *e)
{
	ack_arg *a = arg;
	uint8_t tbs[WK_AREC_HEAD_TBS_LEN], raw[WK_AREC_LEN], h[32];
	char hash_hex[65], now[40], detail[64];
	X509 *cert = NULL;
	int rc, d;

	(void)is;
	if ((rc = card_cert(db, a->id, &cert, e)) != 0)
		return rc;
	wk_arec_head_tbs(a->serial, a->base_seq, a->base_hash, a->head_seq,
	    a->head_hash, a->nonce, tbs);
	/* the enrolled certificate: only the card signs its chain head */
	rc = wk_arec_sig_verify(X509_get0_pubkey(cert), tbs, sizeof(tbs),
	    a->sig, a->sig_len);
	X509_free(cert);
	if (rc != WK_AREC_OK) {
		iss_fail(e, 403, "bad_signature", "the chain head is not signed by"
		    " card %s's wallet key", a->id);
		return -1;
	}
	if ((rc = state_get(db, a->id, &a->s, e)) != 0)
		return rc;
	if (a->head_seq <= a->s.acked)
		return 0;
	if ((rc = record_get(db, a->id, a->head_seq, raw, e)) < 0)
		return rc;
	if (rc == 0) {
		iss_fail(e, 409, "not_synced", "record seq %llu has not been"
		    " uploaded", (unsigned long long)a->head_seq);
		return -1;
	}
	wk_arec_hash(raw, h);
	if (sodium_memcmp(h, a->head_hash, 32) != 0) {
		iss_fail(e, 409, "record_conflict", "the card's chain head (seq"
		    " %llu) is not the record the issuer holds",
		    (unsigned long long)a->head_seq);
		return -1;
	}
	if (a->base_seq > 0) {
		if ((rc = record_get(db, a->id, a->base_seq, raw, e)) < 0)
			return rc;
		wk_arec_hash(raw, h);
		if (rc == 0 || sodium_memcmp(h, a->base_hash, 32) != 0) {
			iss_fail(e, 409, "record_conflict", "the card's checkpoint"
			    " (seq %llu) is not a record the issuer holds",
			    (unsigned long long)a->base_seq);
			return -1;
		}
	}
	wk_hex_encode(a->head_hash, 32, hash_hex);
	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_exec(db, "DELETE FROM audit_acks WHERE card_id = $1",
	    (iss_param[]){ ISS_PS(a->id) }, 1, NULL)) != ISS_DB_OK ||
	    (d = iss_db_exec(db, "INSERT INTO audit_acks (card_id, acked_seq,"
	    " acked_hash, at) VALUES ($1, $2, $3, $4)", (iss_param[]){
	    ISS_PS(a->id), ISS_PI(a->head_seq), ISS_PS(hash_hex),
	    ISS_PS(now) }, 4, NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	snprintf(detail, sizeof(detail), "acked %llu",
	    (unsigned long long)a->head_seq);
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = "audit.ack",
	    .card_id = a->id, .seq = -1, .amount = -1, .detail = detail },
	    NULL)) != ISS_DB_OK)
		return iss_db_fail(e, db, d);
	a->s.acked = a->head_seq;
	memcpy(a->s.acked_hash, a->head_hash, 32);
	return 0;
}

/* the acknowledgement, and beside it the revocation list the card keeps
 * (docs/audit.md "Revocation list"), read in the same transaction */
static int
ack_tx(iss *is, iss_db *db, void *arg, iss_err *e)
{
	ack_arg *a = arg;
	int rc;

	wk_buf_reset(&a->crl);
	if ((rc = ack_tx_head(is, db, arg, e)) != 0)
		return rc;
	return iss_crl_build(is, db, &a->crl, e);
}

int
iss_audit_ack(iss *is, const char *card, json_t *req, json_t **resp,
    iss_err *e)
{
	static const char *const keys[] = { "head", NULL };
	static const char *const head_keys[] = { "checkpoint_seq",
	    "checkpoint_hash", "seq", "hash", "nonce", "signature", NULL };
	uint8_t tbs[WK_AREC_ACK_TBS_LEN], sig[WK_AREC_SIG_MAX];
	const char *s;
	json_t *head;
	size_t sig_len = 0;
	ack_arg a;

	memset(&a, 0, sizeof(a));
	if (card_id(card, a.id, a.serial, e) != 0 || only_keys(req, keys, e) != 0)
		return -1;
	head = json_object_get(req, "head");
	if (only_keys(head, head_keys, e) != 0 ||
	    get_seq(head, "checkpoint_seq", &a.base_seq, e) != 0 ||
	    get_seq(head, "seq", &a.head_seq, e) != 0 ||
	    get_hex(head, "checkpoint_hash", a.base_hash, 32, e) != 0 ||
	    get_hex(head, "hash", a.head_hash, 32, e) != 0 ||
	    get_hex(head, "nonce", a.nonce, 16, e) != 0)
		return -1;
	s = json_string_value(json_object_get(head, "signature"));
	if (s == NULL || strlen(s) % 2 != 0 || strlen(s) < 16 ||
	    strlen(s) > 2 * WK_AREC_SIG_MAX ||
	    wk_hex_decode(s, a.sig, strlen(s) / 2) != (long)(strlen(s) / 2)) {
		iss_fail(e, 400, "bad_field", "signature: a DER signature in hex");
		return -1;
	}
	a.sig_len = strlen(s) / 2;
	if (a.head_seq == 0 || a.base_seq > a.head_seq) {
		iss_fail(e, 400, "bad_field", "an empty log has nothing to"
		    " acknowledge");
		return -1;
	}
	wk_buf_init_heap(&a.crl, WK_AREC_CRL_HDR + WK_AREC_CRL_MAX *
	    WK_AREC_CRL_ID_LEN + WK_AREC_SIG_MAX);
	if (iss_run_tx(is, ack_tx, &a, e) != 0)
		goto fail;
	if (a.s.acked == 0) {
		iss_fail(e, 409, "not_synced", "nothing acknowledged");
		goto fail;
	}
	wk_arec_ack_tbs(a.serial, a.s.acked, a.s.acked_hash, tbs);
	if (wk_arec_sign(is->keys.ca_key, tbs, sizeof(tbs), sig, sizeof(sig),
	    &sig_len) != WK_AREC_OK) {
		iss_fail(e, 500, "internal", "cannot sign the acknowledgement");
		goto fail;
	}
	if ((*resp = json_pack("{s:I, s:o, s:o, s:o}", "acked_seq",
	    (json_int_t)a.s.acked, "acked_hash", wk_hex_json(a.s.acked_hash, 32),
	    "signature", wk_hex_json(sig, sig_len), "revocation_list",
	    wk_hex_json(a.crl.p, a.crl.len))) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto fail;
	}
	wk_buf_clear(&a.crl);
	return 0;
fail:
	wk_buf_clear(&a.crl);
	return -1;
}

/* ---- GET /v1/audit/{card}/history/{from}: a signed page ---- */

int
iss_audit_history(iss *is, const char *card, const char *from,
    json_t **resp, iss_err *e)
{
	uint8_t serial[8], sig[WK_AREC_SIG_MAX], *page = NULL;
	char id[17], *end = NULL;
	wk_arec_hist h;
	iss_res *r = NULL;
	iss_db *db = NULL;
	X509 *cert = NULL;
	sync_state s;
	size_t len, sig_len = 0, rows;
	unsigned long long f;
	int rc = -1, d;

	if (card_id(card, id, serial, e) != 0)
		return -1;
	f = strtoull(from, &end, 10);
	if (from[0] < '0' || from[0] > '9' || *end != '\0' || f == 0 ||
	    strlen(from) > 19) {
		iss_fail(e, 404, "not_found", "history/FROM: a seq from 1");
		return -1;
	}
	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	/* one snapshot: the state and the records agree */
	if ((d = iss_db_begin(db)) != ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto out;
	}
	if (card_cert(db, id, &cert, e) != 0 || state_get(db, id, &s, e) != 0)
		goto rollback;
	if ((d = iss_db_exec(db, "SELECT raw, seq FROM audit_records WHERE"
	    " card_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
	    (iss_param[]){ ISS_PS(id), ISS_PI(f), ISS_PI(HIST_PAGE) }, 3,
	    &r)) != ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto rollback;
	}
	iss_db_rollback(db);
	rows = iss_res_rows(r);
	len = WK_AREC_HIST_HDR + rows * WK_AREC_LEN;
	if ((page = malloc(len)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.serial, serial, 8);
	/* the first row's own seq: a hole in the stored records is the
	 * client's to see (each record carries its seq) */
	h.first_seq = rows > 0 ? (uint64_t)iss_res_int(r, 0, 1) : 0;
	h.count = (uint16_t)rows;
	h.stored_seq = s.stored;
	h.acked_seq = s.acked;
	memcpy(h.acked_hash, s.acked_hash, 32);
	h.more = rows > 0 && (uint64_t)iss_res_int(r, rows - 1, 1) < s.stored;
	wk_arec_hist_header(&h, page);
	for (size_t i = 0; i < rows; i++)
		if (wk_hex_decode(iss_res_text(r, i, 0), page + WK_AREC_HIST_HDR +
		    i * WK_AREC_LEN, WK_AREC_LEN) != WK_AREC_LEN) {
			iss_fail(e, 500, "internal", "a stored record does not parse");
			goto out;
		}
	if (wk_arec_sign(is->keys.ca_key, page, len, sig, sizeof(sig),
	    &sig_len) != WK_AREC_OK) {
		iss_fail(e, 500, "internal", "cannot sign the history page");
		goto out;
	}
	if ((*resp = json_pack("{s:o, s:o, s:I, s:I, s:b}", "page",
	    wk_hex_json(page, len), "signature", wk_hex_json(sig, sig_len),
	    "stored_seq", (json_int_t)s.stored, "acked_seq",
	    (json_int_t)s.acked, "more", h.more)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
	goto out;
rollback:
	iss_db_rollback(db);
out:
	X509_free(cert);
	iss_res_free(&r);
	free(page);
	iss_pool_put(is->pool, db);
	return rc;
}

/* ---- GET /v1/audit/{card}/loads/{from}: the ledger's side, signed ---- */

int
iss_audit_loads(iss *is, const char *card, const char *from, json_t **resp,
    iss_err *e)
{
	uint8_t serial[8], sig[WK_AREC_SIG_MAX], *page = NULL, *q;
	char id[17], *end = NULL;
	wk_arec_loads l;
	iss_res *r = NULL;
	iss_db *db = NULL;
	X509 *cert = NULL;
	size_t len, sig_len = 0, rows;
	unsigned long long f;
	int rc = -1, d;

	if (card_id(card, id, serial, e) != 0)
		return -1;
	f = strtoull(from, &end, 10);
	if (from[0] < '0' || from[0] > '9' || *end != '\0' || f > 65535) {
		iss_fail(e, 404, "not_found", "loads/FROM: an online seq 0-65535");
		return -1;
	}
	if ((db = iss_pool_get(is->pool)) == NULL) {
		iss_fail(e, 503, "busy", "the issuer cannot reach its database");
		return -1;
	}
	if (card_cert(db, id, &cert, e) != 0)
		goto out;
	/* one more than a page tells whether there is more */
	if ((d = iss_db_exec(db, "SELECT seq, amount, new_balance FROM loads"
	    " WHERE card_id = $1 AND status = 'complete' AND seq >= $2"
	    " ORDER BY seq LIMIT $3", (iss_param[]){ ISS_PS(id), ISS_PI(f),
	    ISS_PI(HIST_PAGE + 1) }, 3, &r)) != ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto out;
	}
	rows = iss_res_rows(r);
	memset(&l, 0, sizeof(l));
	memcpy(l.serial, serial, 8);
	l.more = rows > HIST_PAGE;
	if (l.more)
		rows = HIST_PAGE;
	l.count = (uint16_t)rows;
	len = WK_AREC_LOADS_HDR + rows * WK_AREC_LOAD_LEN;
	if ((page = malloc(len)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	wk_arec_loads_header(&l, page);
	q = page + WK_AREC_LOADS_HDR;
	for (size_t i = 0; i < rows; i++, q += WK_AREC_LOAD_LEN) {
		uint64_t seq = (uint64_t)iss_res_int(r, i, 0);
		uint64_t amount = (uint64_t)iss_res_int(r, i, 1);
		uint64_t bal = (uint64_t)iss_res_int(r, i, 2);

		q[0] = (uint8_t)(seq >> 8);
		q[1] = (uint8_t)seq;
		for (int k = 0; k < 4; k++) {
			q[2 + k] = (uint8_t)(amount >> (24 - 8 * k));
			q[6 + k] = (uint8_t)(bal >> (24 - 8 * k));
		}
	}
	if (wk_arec_sign(is->keys.ca_key, page, len, sig, sizeof(sig),
	    &sig_len) != WK_AREC_OK) {
		iss_fail(e, 500, "internal", "cannot sign the loads page");
		goto out;
	}
	if ((*resp = json_pack("{s:o, s:o, s:b}", "page", wk_hex_json(page, len),
	    "signature", wk_hex_json(sig, sig_len), "more", l.more)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	X509_free(cert);
	iss_res_free(&r);
	free(page);
	iss_pool_put(is->pool, db);
	return rc;
}
