/*
 * the purse PIN's reload by the issuer (docs/purse.md "RELOAD PIN",
 * docs/issuer.md "PIN reload"): an operator, having identified the
 * holder, orders a reload for a card (walletkey-issuer pin-unblock); the
 * issuer derives a reset PIN for the order from the card's DRPK, which the
 * operator tells the holder by another channel; the next signed unblock
 * request of that card (POST /v1/pin-reloads, or the file the operator is
 * given) receives the one-time RELOAD PIN script for its challenge, and
 * the order is spent. Nothing of a PIN is stored: the reset PIN is
 * derived again from the order when the script is made.
 */
#include "iss.h"
#include "iss_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

static const char reset_label[] = "walletkey pin reload/1";

/* the order's reset PIN: 6 digits of HMAC-SHA256 under the card's DRPK
 * over the label, the card id and the order number */
static int
reset_pin(const iss_keys *k, uint8_t alg, const uint8_t id[WK_MSG_CARD_ID_LEN],
    int64_t order, char out[ISS_RESET_PIN_LEN + 1])
{
	crypto_auth_hmacsha256_state st;
	uint8_t drpk[WK_PURSE_KEY_LEN], mac[crypto_auth_hmacsha256_BYTES], n[8];
	uint64_t v = 0;
	int rc = -1;

	for (int i = 0; i < 8; i++)
		n[i] = (uint8_t)((uint64_t)order >> (56 - 8 * i));
	if (iss_card_key(k, WK_PURSE_KEY_DRPK, alg, id, drpk) != 0 ||
	    crypto_auth_hmacsha256_init(&st, drpk, sizeof(drpk)) != 0 ||
	    crypto_auth_hmacsha256_update(&st, (const uint8_t *)reset_label,
	    sizeof(reset_label) - 1) != 0 ||
	    crypto_auth_hmacsha256_update(&st, id, WK_MSG_CARD_ID_LEN) != 0 ||
	    crypto_auth_hmacsha256_update(&st, n, sizeof(n)) != 0 ||
	    crypto_auth_hmacsha256_final(&st, mac) != 0)
		goto out;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | mac[i];
	/* 2^64 mod 10^6 makes the bias 2^-44: none worth a loop */
	snprintf(out, ISS_RESET_PIN_LEN + 1, "%06u", (unsigned)(v % 1000000u));
	rc = 0;
out:
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(drpk, sizeof(drpk));
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(&v, sizeof(v));
	return rc;
}

static int
card_id_bin(const char *hex, uint8_t id[WK_MSG_CARD_ID_LEN], iss_err *e)
{
	if (hex == NULL || strlen(hex) != 2 * WK_MSG_CARD_ID_LEN ||
	    wk_hex_decode(hex, id, WK_MSG_CARD_ID_LEN) != WK_MSG_CARD_ID_LEN) {
		iss_fail(e, 400, "bad_card_id", "the card id is 16 hex digits");
		return -1;
	}
	return 0;
}

/* ---- the order ---- */

static int
order_tx(iss_db *db, const iss_keys *k, iss_pin_order *o, iss_err *e)
{
	uint8_t id[WK_MSG_CARD_ID_LEN], algs[WK_PURSE_KEY_N];
	iss_res *r = NULL;
	char now[40];
	int64_t op;
	int rc = -1, d;

	if (card_id_bin(o->card_id, id, e) != 0)
		return -1;
	if ((d = iss_db_exec(db, "SELECT revoked_at, key_algs FROM cards WHERE"
	    " card_id = $1",
	    (iss_param[]){ ISS_PS(o->card_id) }, 1, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "card %s is not enrolled",
		    o->card_id);
		goto out;
	}
	if (iss_res_text(r, 0, 0) != NULL) {
		iss_fail(e, 403, "card_revoked", "card %s is revoked", o->card_id);
		goto out;
	}
	/* the DRPK's algorithm, as enrolled */
	if (iss_algs_from_hex(iss_res_text(r, 0, 1), algs) != 0) {
		iss_fail(e, 500, "internal", "card %s's key algorithms do not"
		    " parse", o->card_id);
		goto out;
	}
	iss_now_iso(now, sizeof(now));
	/* one order at a time: a new one replaces those not delivered */
	if ((d = iss_db_exec(db, "UPDATE pin_reloads SET status = 'cancelled'"
	    " WHERE card_id = $1 AND status = 'pending'",
	    (iss_param[]){ ISS_PS(o->card_id) }, 1, NULL)) != ISS_DB_OK ||
	    (d = iss_oplog_append(db, &(iss_op){ .kind = "pin.order",
	    .card_id = o->card_id, .seq = -1, .amount = -1,
	    .detail = "a PIN reload ordered by an operator" }, &op)) !=
	    ISS_DB_OK ||
	    (d = iss_db_exec(db, "INSERT INTO pin_reloads (id, card_id, status,"
	    " ordered_at, order_op) VALUES ($1, $2, 'pending', $3, $1)",
	    (iss_param[]){ ISS_PI(op), ISS_PS(o->card_id), ISS_PS(now) }, 3,
	    NULL)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	o->order = op;
	if (reset_pin(k, algs[WK_PURSE_KEY_DRPK], id, op, o->reset_pin) != 0) {
		iss_fail(e, 500, "internal", "cannot derive the reset PIN");
		goto out;
	}
	rc = 0;
out:
	iss_res_free(&r);
	return rc;
}

/* ---- the delivery ---- */

typedef struct deliver_ctx {
	const iss_keys *k;
	const uint8_t *req;
	size_t len;
	const char *card_hex;	/* NULL: the card the request names */
	iss_pin_script *out;
} deliver_ctx;

static int
deliver_tx(iss_db *db, deliver_ctx *c, iss_err *e)
{
	iss_pin_script *o = c->out;
	uint8_t id[WK_MSG_CARD_ID_LEN], damk[WK_PURSE_KEY_LEN];
	uint8_t drpk[WK_PURSE_KEY_LEN], bcd[3], algs[WK_PURSE_KEY_N];
	char chal[9], now[40], detail[96], pin[ISS_RESET_PIN_LEN + 1];
	iss_res *r = NULL;
	int64_t op;
	int rc = -1, d;

	if ((d = iss_unblock_request_check(db, c->card_hex, c->req, c->len,
	    o->card_id, o->challenge, algs, e)) != 0)
		return d;
	wk_hex_encode(o->challenge, sizeof(o->challenge), chal);
	/* a request the issuer answered before is a replay (its challenge is
	 * gone from the card; answering it would only spend the order) */
	if ((d = iss_db_exec(db, "SELECT 1 FROM pin_reloads WHERE card_id = $1"
	    " AND challenge = $2", (iss_param[]){ ISS_PS(o->card_id),
	    ISS_PS(chal) }, 2, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 0) {
		iss_fail(e, 409, "replayed_request", "card %s's request for"
		    " challenge %s was answered before", o->card_id, chal);
		goto out;
	}
	iss_res_free(&r);
	if ((d = iss_db_exec(db, "SELECT id FROM pin_reloads WHERE card_id = $1"
	    " AND status = 'pending' ORDER BY id DESC", (iss_param[]){
	    ISS_PS(o->card_id) }, 1, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) == 0) {
		iss_fail(e, 404, "no_pin_reload", "no PIN reload is ordered for"
		    " card %s (the bank orders one after identifying the holder)",
		    o->card_id);
		goto out;
	}
	o->order = iss_res_int(r, 0, 0);
	iss_now_iso(now, sizeof(now));
	/* spent once: a concurrent delivery of the same order changes no row */
	if ((d = iss_db_exec(db, "UPDATE pin_reloads SET status = 'delivered',"
	    " challenge = $1, delivered_at = $2 WHERE id = $3 AND status ="
	    " 'pending'", (iss_param[]){ ISS_PS(chal), ISS_PS(now),
	    ISS_PI(o->order) }, 3, NULL)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_db_changes(db) != 1) {
		rc = ISS_DB_RETRY;
		goto out;
	}
	if (wk_hex_decode(o->card_id, id, sizeof(id)) != WK_MSG_CARD_ID_LEN ||
	    reset_pin(c->k, algs[WK_PURSE_KEY_DRPK], id, o->order, pin) != 0 ||
	    iss_card_key(c->k, WK_PURSE_KEY_DAMK, algs[WK_PURSE_KEY_DAMK], id,
	    damk) != 0 ||
	    iss_card_key(c->k, WK_PURSE_KEY_DRPK, algs[WK_PURSE_KEY_DRPK], id,
	    drpk) != 0) {
		iss_fail(e, 500, "internal", "cannot compute the script");
		goto out;
	}
	for (int i = 0; i < 3; i++)
		bcd[i] = (uint8_t)(((pin[2 * i] - '0') << 4) | (pin[2 * i + 1] - '0'));
	if (wk_purse_reload_pin_script(algs[WK_PURSE_KEY_DAMK], damk,
	    algs[WK_PURSE_KEY_DRPK], drpk, o->challenge, bcd, sizeof(bcd),
	    o->script, &o->script_len) != WK_PURSE_CRYPTO_OK) {
		iss_fail(e, 500, "internal", "cannot compute the script");
		goto out;
	}
	snprintf(detail, sizeof(detail), "order %lld, challenge %s",
	    (long long)o->order, chal);
	if ((d = iss_oplog_append(db, &(iss_op){ .kind = "pin.reload",
	    .card_id = o->card_id, .seq = -1, .amount = -1, .detail = detail },
	    &op)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		sodium_memzero(o->script, sizeof(o->script));
	sodium_memzero(pin, sizeof(pin));
	sodium_memzero(bcd, sizeof(bcd));
	sodium_memzero(damk, sizeof(damk));
	sodium_memzero(drpk, sizeof(drpk));
	iss_res_free(&r);
	return rc;
}

int
iss_pin_order_new(iss_db *db, const iss_keys *k, const char *card_hex,
    const uint8_t *req, size_t len, iss_pin_order *out, iss_pin_script *sc,
    iss_err *e)
{
	uint8_t id[WK_MSG_CARD_ID_LEN];
	deliver_ctx c = { k, req, len, NULL, sc };
	int d = -1;

	memset(out, 0, sizeof(*out));
	if (sc != NULL)
		memset(sc, 0, sizeof(*sc));
	if ((req == NULL) != (sc == NULL))
		return -1;
	if (card_id_bin(card_hex, id, e) != 0)
		return -1;
	/* the database keeps card ids as wk_hex_encode writes them */
	wk_hex_encode(id, sizeof(id), out->card_id);
	c.card_hex = out->card_id;
	for (int i = 0; i < 8; i++) {
		if ((d = iss_db_begin(db)) != ISS_DB_OK) {
			iss_fail_db(e, db, d);
			break;
		}
		/* the order and its delivery for a request file: both or none */
		if ((d = order_tx(db, k, out, e)) == 0 && req != NULL)
			d = deliver_tx(db, &c, e);
		if (d == 0 && (d = iss_db_commit(db)) != ISS_DB_OK)
			d = iss_db_fail(e, db, d);
		if (d == 0)
			return 0;
		iss_db_rollback(db);
		if (d != ISS_DB_RETRY)
			break;
		iss_fail(e, 503, "busy", "the database is busy; try again");
	}
	sodium_memzero(out->reset_pin, sizeof(out->reset_pin));
	if (sc != NULL)
		sodium_memzero(sc, sizeof(*sc));
	return -1;
}

int
iss_pin_deliver(iss_db *db, const iss_keys *k, const char *card_hex,
    const uint8_t *req, size_t len, iss_pin_script *out, iss_err *e)
{
	deliver_ctx c = { k, req, len, card_hex, out };
	int d = -1;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 8; i++) {
		if ((d = iss_db_begin(db)) != ISS_DB_OK) {
			iss_fail_db(e, db, d);
			return -1;
		}
		if ((d = deliver_tx(db, &c, e)) == 0 &&
		    (d = iss_db_commit(db)) != ISS_DB_OK)
			d = iss_db_fail(e, db, d);
		if (d == 0)
			return 0;
		iss_db_rollback(db);
		if (d != ISS_DB_RETRY)
			break;
		iss_fail(e, 503, "busy", "the database is busy; try again");
	}
	sodium_memzero(out->script, sizeof(out->script));
	return -1;
}

/* ---- POST /v1/pin-reloads ---- */

static int
tx_http(iss *is, iss_db *db, void *arg, iss_err *e)
{
	deliver_ctx *c = arg;

	c->k = &is->keys;
	return deliver_tx(db, c, e);
}

static const char *const request_keys[] = { "request", NULL };

int
iss_pin_reload(iss *is, json_t *req, json_t **resp, iss_err *e)
{
	uint8_t msg[WK_MSG_MAX];
	iss_pin_script out;
	deliver_ctx c;
	char chal[9], *b64 = NULL;
	const char *s;
	size_t len = 0, cap;
	long n;
	int rc = -1;

	memset(&out, 0, sizeof(out));
	if (iss_req_keys(req, request_keys, e) != 0 ||
	    (s = iss_req_str(req, "request", true, e)) == NULL)
		return -1;
	if ((n = wk_b64_decode(s, msg, sizeof(msg))) <= 0) {
		iss_fail(e, 400, "bad_message", "\"request\" is not a base64 message"
		    " of at most %d bytes", WK_MSG_MAX);
		return -1;
	}
	len = (size_t)n;
	c = (deliver_ctx){ &is->keys, msg, len, NULL, &out };
	if (iss_run_tx(is, tx_http, &c, e) != 0)
		goto out;
	cap = sodium_base64_ENCODED_LEN(out.script_len,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(cap)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	sodium_bin2base64(b64, cap, out.script, out.script_len,
	    sodium_base64_VARIANT_ORIGINAL);
	wk_hex_encode(out.challenge, sizeof(out.challenge), chal);
	if ((*resp = json_pack("{s:s, s:I, s:s, s:s}", "card_id", out.card_id,
	    "order", (json_int_t)out.order, "challenge", chal, "script", b64)) ==
	    NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (b64 != NULL) {
		sodium_memzero(b64, strlen(b64));
		free(b64);
	}
	sodium_memzero(&out, sizeof(out));
	return rc;
}
