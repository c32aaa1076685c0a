/*
 * semi-anonymous payments, the host's side (docs/semi-anonymous.md): the
 * anon applet's commands and the flows between the card and the account
 * manager. The host only carries messages: the card builds every request
 * and checks every result it takes.
 */
#include "wk_internal.h"
#include "wk_purse_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "wk_anon.h"
#include "wk_json.h"
#include "wk_buf.h"
#include "wk_hex.h"

#define CLA 0x80
#define HTTP_TIMEOUT 30L
#define BODY_MAX (1u << 20)
#define CERT_MAX 4096

static const uint8_t anon_aid[] = { WK_ANON_AID_BYTES };

static int
cmd(wk_card *card, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc, uint8_t *resp, size_t *rlen)
{
	return wk_card_cmd(card, cla, ins, p1, p2, data, lc,
	    resp != NULL ? 65536 : 0, resp, rlen);
}

static int
select_anon(wk_card *card)
{
	uint8_t fci[256];
	size_t n = sizeof(fci);
	int rc;

	rc = cmd(card, 0x00, 0xA4, 0x04, 0x00, anon_aid, sizeof(anon_aid), fci, &n);
	return rc == WK_ERR_SW ? WK_ERR_NOT_FOUND : rc;
}

static int
verify(wk_card *card, const char *pin, size_t pin_len)
{
	uint8_t bcd[6];
	size_t n = 0;
	int rc;

	if ((rc = wk_purse_pin_bcd(pin, pin_len, bcd, &n)) == WK_OK)
		rc = cmd(card, 0x00, 0x20, 0x00, 0x00, bcd, n, NULL, NULL);
	sodium_memzero(bcd, sizeof(bcd));
	return rc;
}

static void
say(wk_anon_progress_fn fn, void *arg, wk_anon_step step, const char *detail)
{
	if (fn != NULL)
		fn(arg, step, detail);
}

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int
info_parse(const uint8_t *p, size_t n, wk_anon_info *out)
{
	size_t al;

	memset(out, 0, sizeof(*out));
	if (n < 1 + 8 + 1 || (al = p[9]) > WK_ANON_ACCOUNT_MAX ||
	    n != 10 + al + 32)
		return WK_ERR_CARD_MALFORMED;
	out->keys = (p[0] & 1) != 0;
	out->account = (p[0] & 2) != 0;
	out->authority = (p[0] & 4) != 0;
	out->pending = (p[0] & 8) != 0;
	for (int i = 0; i < 8; i++)
		out->counter = out->counter << 8 | p[1 + i];
	memcpy(out->account_id, p + 10, al);
	out->account_id[al] = '\0';
	if (out->pending)
		wk_hex_encode(p + 10 + al, 32, out->pending_txid);
	return WK_OK;
}

int
wk_anon_get_info(wk_card *card, wk_anon_info *out)
{
	uint8_t r[128];
	size_t n = sizeof(r);
	int rc;

	if (card == NULL || out == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	if ((rc = select_anon(card)) == WK_OK &&
	    (rc = cmd(card, CLA, WK_ANON_INS_INFO, 0, 0, NULL, 0, r, &n)) == WK_OK)
		rc = info_parse(r, n, out);
	wk_card_end(card);
	return rc;
}

/* ---- HTTP: the manager's JSON, kept on refusals too ----
 * *answer is the answer of a 200; of a 4xx refusal too when it carries the
 * authority's signed result (a refused payment), so the card can settle
 * its payment with it; the caller frees it either way */

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	wk_buf *b = arg;

	wk_buf_add(b, p, size * n);
	return wk_buf_failed(b) ? 0 : size * n;
}

static int
post(const char *base, const char *path, json_t *body, json_t **answer,
    wk_anon_error *err)
{
	char url[768], *text = NULL;
	const char *cafile;
	struct curl_slist *hdr = NULL;
	CURL *c = NULL;
	wk_buf in;
	json_t *j = NULL;
	long status = 0;
	CURLcode cc;
	int rc = WK_ERR_NETWORK;

	*answer = NULL;
	memset(err, 0, sizeof(*err));
	wk_buf_init_heap(&in, BODY_MAX);
	if (base == NULL || (strncmp(base, "http://", 7) != 0 &&
	    strncmp(base, "https://", 8) != 0) ||
	    (size_t)snprintf(url, sizeof(url), "%s%s", base, path) >= sizeof(url)) {
		rc = WK_ERR_ARG;
		goto out;
	}
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL ||
	    (c = curl_easy_init()) == NULL ||
	    (hdr = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL) {
		rc = WK_ERR_MEMORY;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &in);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, HTTP_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if ((cafile = getenv("WALLETKEY_ISSUER_CAFILE")) != NULL && cafile[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		snprintf(err->code, sizeof(err->code), "unreachable");
		snprintf(err->message, sizeof(err->message), "%s: %s", base,
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	err->http_status = status;
	if (in.len > 0)
		j = json_loadb((const char *)in.p, in.len, 0, NULL);
	if (status != 200) {
		const char *cd = json_string_value(json_object_get(j, "error"));
		const char *m = json_string_value(json_object_get(j, "message"));

		snprintf(err->code, sizeof(err->code), "%s", cd ? cd : "http_error");
		snprintf(err->message, sizeof(err->message), "%s", m ? m :
		    "HTTP error");
		rc = status >= 500 ? WK_ERR_NETWORK : WK_ERR_ISSUER;
		if (status < 500 && json_is_object(j) &&
		    json_is_string(json_object_get(j, "result"))) {
			*answer = j;
			j = NULL;
		}
		goto out;
	}
	if (!json_is_object(j)) {
		snprintf(err->message, sizeof(err->message), "the answer is not JSON");
		rc = WK_ERR_ISSUER;
		goto out;
	}
	*answer = j;
	j = NULL;
	rc = WK_OK;
out:
	json_decref(j);
	json_decref(body);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(text);
	wk_buf_clear(&in);
	return rc;
}

/* [key attestation, device certificate] of key slot, base64 */
static int
attestation(wk_card *card, uint8_t slot, json_t **out)
{
	uint8_t *cert = NULL;
	size_t n;
	json_t *a = NULL;
	int rc = WK_ERR_MEMORY;

	*out = NULL;
	if ((cert = malloc(CERT_MAX)) == NULL || (a = json_array()) == NULL)
		goto out;
	n = CERT_MAX;
	if ((rc = cmd(card, CLA, WK_ANON_INS_ATTEST, slot, 0, NULL, 0, cert,
	    &n)) != WK_OK)
		goto out;
	json_array_append_new(a, wk_b64_json(cert, n));
	n = CERT_MAX;
	if ((rc = cmd(card, CLA, WK_ANON_INS_ATTEST, 0, 1, NULL, 0, cert, &n)) !=
	    WK_OK)
		goto out;
	json_array_append_new(a, wk_b64_json(cert, n));
	*out = a;
	a = NULL;
	rc = WK_OK;
out:
	json_decref(a);
	free(cert);
	return rc;
}

int
wk_anon_enrol(wk_card *card, const char *pin, size_t pin_len,
    const char *manager_url, const char *authority_url, const char *code,
    wk_anon_progress_fn progress, void *arg,
    char account[WK_ANON_ACCOUNT_MAX + 1], wk_anon_error *err)
{
	uint8_t pub[96], r[128], stmt[WK_ANON_STMT_MAX], data[1 + 255 + 32];
	uint8_t auth[96];
	size_t n = sizeof(pub), slen;
	json_t *att_bk = NULL, *att_otk = NULL, *att_idk = NULL, *ans = NULL;
	wk_anon_info info;
	const char *acct;
	int rc;

	if (card == NULL || pin == NULL || manager_url == NULL ||
	    authority_url == NULL || code == NULL || account == NULL ||
	    err == NULL)
		return WK_ERR_ARG;
	memset(err, 0, sizeof(*err));
	account[0] = '\0';
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	if ((rc = select_anon(card)) != WK_OK)
		goto out;
	n = sizeof(r);
	if ((rc = cmd(card, CLA, WK_ANON_INS_INFO, 0, 0, NULL, 0, r, &n)) != WK_OK ||
	    (rc = info_parse(r, n, &info)) != WK_OK)
		goto out;
	if (info.authority) {
		snprintf(account, WK_ANON_ACCOUNT_MAX + 1, "%s", info.account_id);
		rc = WK_ERR_CONDITIONS;
		snprintf(err->message, sizeof(err->message), "the card is enrolled"
		    " already (account %s)", info.account_id);
		goto out;
	}
	if ((rc = verify(card, pin, pin_len)) != WK_OK)
		goto out;
	say(progress, arg, WK_ANON_STEP_PIN, NULL);
	n = sizeof(pub);
	if ((rc = cmd(card, CLA, WK_ANON_INS_GENERATE, 1, 0, NULL, 0, pub, &n)) !=
	    WK_OK)
		goto out;
	if (n != sizeof(pub)) {
		rc = WK_ERR_CARD_MALFORMED;
		goto out;
	}
	say(progress, arg, WK_ANON_STEP_KEYS, NULL);
	if ((rc = attestation(card, WK_ANON_SLOT_BK, &att_bk)) != WK_OK ||
	    (rc = attestation(card, WK_ANON_SLOT_OTK, &att_otk)) != WK_OK ||
	    (rc = attestation(card, WK_ANON_SLOT_IDK, &att_idk)) != WK_OK)
		goto out;
	say(progress, arg, WK_ANON_STEP_ATTESTED, NULL);
	/* the account manager: business key, never a name */
	if ((rc = post(manager_url, "/v1/anon/accounts", json_pack("{s:o, s:O}",
	    "bk", wk_b64_json(pub + 64, 32), "attestation", att_bk), &ans, err)) != WK_OK)
		goto out;
	acct = json_string_value(json_object_get(ans, "account"));
	if (acct == NULL || !wk_anon_account_ok(acct) ||
	    wk_b64_unjson(json_object_get(ans, "statement"), stmt, sizeof(stmt), &slen) !=
	    WK_OK || slen > 255 || json_string_value(json_object_get(ans,
	    "kx_pub")) == NULL || wk_hex_decode(json_string_value(json_object_get(
	    ans, "kx_pub")), data + 1 + slen, 32) != 32) {
		rc = WK_ERR_ISSUER;
		snprintf(err->message, sizeof(err->message), "the manager's answer is"
		    " malformed");
		goto out;
	}
	snprintf(account, WK_ANON_ACCOUNT_MAX + 1, "%s", acct);
	if (!info.account) {
		data[0] = (uint8_t)slen;
		memcpy(data + 1, stmt, slen);
		if ((rc = verify(card, pin, pin_len)) != WK_OK ||
		    (rc = cmd(card, CLA, WK_ANON_INS_ACCOUNT, 0, 0, data, 1 + slen +
		    32, NULL, NULL)) != WK_OK)
			goto out;
	} else if (strcmp(info.account_id, acct) != 0) {
		rc = WK_ERR_CONDITIONS;
		snprintf(err->message, sizeof(err->message), "the card holds account"
		    " %s, the manager answered %s", info.account_id, acct);
		goto out;
	}
	say(progress, arg, WK_ANON_STEP_ACCOUNT, acct);
	json_decref(ans);
	ans = NULL;
	/* the identity authority: the holder's code, the card's keys */
	if ((rc = post(authority_url, "/v1/anon/registrations",
	    json_pack("{s:s, s:o, s:o, s:o, s:O, s:O}", "code", code, "statement",
	    wk_b64_json(stmt, slen), "otk", wk_b64_json(pub, 32), "idk", wk_b64_json(pub + 32, 32),
	    "attestation_otk", att_otk, "attestation_idk", att_idk), &ans, err)) !=
	    WK_OK)
		goto out;
	{
		const char *bp = json_string_value(json_object_get(ans, "box_pub"));
		const char *sp = json_string_value(json_object_get(ans, "sign_pub"));
		const char *fe = json_string_value(json_object_get(ans, "features"));

		if (bp == NULL || sp == NULL || fe == NULL ||
		    wk_hex_decode(bp, auth, 32) != 32 ||
		    wk_hex_decode(sp, auth + 32, 32) != 32 ||
		    wk_hex_decode(fe, auth + 64, 32) != 32) {
			rc = WK_ERR_ISSUER;
			snprintf(err->message, sizeof(err->message), "the authority's"
			    " answer is malformed");
			goto out;
		}
	}
	if ((rc = verify(card, pin, pin_len)) != WK_OK ||
	    (rc = cmd(card, CLA, WK_ANON_INS_AUTHORITY, 0, 0, auth, sizeof(auth),
	    NULL, NULL)) != WK_OK)
		goto out;
	say(progress, arg, WK_ANON_STEP_REGISTERED, acct);
	rc = WK_OK;
out:
	sodium_memzero(auth, sizeof(auth));
	json_decref(ans);
	json_decref(att_bk);
	json_decref(att_otk);
	json_decref(att_idk);
	wk_card_end(card);
	return rc;
}

/* hands a signed result to the card; fills out from it */
static int
take_result(wk_card *card, json_t *ans, wk_anon_payment *out)
{
	uint8_t res[WK_ANON_RES_MAX], st[4];
	size_t n, sn = sizeof(st);
	wk_anon_result r;
	const char *v;
	int rc;

	if (wk_b64_unjson(json_object_get(ans, "result"), res, sizeof(res), &n) != WK_OK ||
	    wk_anon_result_decode(res, n, &r) != WK_ANON_OK)
		return WK_ERR_ISSUER;
	wk_hex_encode(r.txid, 32, out->txid);
	out->status = r.status;
	snprintf(out->reason, sizeof(out->reason), "%s", r.reason);
	if (r.status == WK_ANON_COMMITTED)
		out->balance = r.balance;
	if ((v = json_string_value(json_object_get(ans, "alias"))) != NULL)
		snprintf(out->alias, sizeof(out->alias), "%s", v);
	if ((rc = select_anon(card)) != WK_OK)
		return rc;
	return cmd(card, CLA, WK_ANON_INS_RESULT, 0, 0, res, n, st, &sn);
}

static void
timing(json_t *ans, wk_anon_payment *out)
{
	json_t *t = json_object_get(ans, "timing");

	out->manager_ms = json_number_value(json_object_get(t, "manager_ms"));
	out->authority_ms = json_number_value(json_object_get(t, "authority_ms"));
	out->payee_manager_ms = json_number_value(json_object_get(t,
	    "payee_manager_ms"));
}

static int
status_of(wk_card *card, const char *manager_url, const char *txid,
    wk_anon_payment *out, wk_anon_error *err)
{
	json_t *ans = NULL;
	int rc;

	if ((rc = post(manager_url, "/v1/anon/status", json_pack("{s:s}", "txid",
	    txid), &ans, err)) != WK_OK) {
		json_decref(ans);
		return rc;
	}
	rc = take_result(card, ans, out);
	json_decref(ans);
	return rc;
}

/* sends an envelope and settles the card with the answer */
static int
send_envelope(wk_card *card, const char *manager_url, const uint8_t *env,
    size_t len, const char *txid, wk_anon_payment *out, wk_anon_error *err)
{
	json_t *ans = NULL;
	wk_anon_error verr;
	wk_anon_payment vp;
	double t0 = now_ms();
	int rc;

	rc = post(manager_url, "/v1/anon/payments", json_pack("{s:o}", "envelope",
	    wk_b64_json(env, len)), &ans, err);
	if (rc == WK_ERR_ISSUER && ans != NULL) {
		/* refused with the authority's signed result: the card settles
		 * its payment with it (a result of another payment, or one the
		 * card already took, changes nothing there) */
		out->total_ms = now_ms() - t0;
		(void)take_result(card, ans, out);
		json_decref(ans);
		return WK_ERR_ISSUER;
	}
	if (rc == WK_ERR_ISSUER && txid != NULL) {
		/* the manager refused: void it at the authority, clear the card */
		memset(&vp, 0, sizeof(vp));
		if (status_of(card, manager_url, txid, &vp, &verr) == WK_OK) {
			out->status = vp.status;
			if (vp.status == WK_ANON_COMMITTED) {
				/* it had reached the ledger after all */
				*out = vp;
				return WK_OK;
			}
		}
		return WK_ERR_ISSUER;
	}
	if (rc != WK_OK)
		return rc;
	timing(ans, out);
	out->total_ms = now_ms() - t0;
	if ((rc = take_result(card, ans, out)) != WK_OK &&
	    rc != WK_ERR_NOT_FOUND && rc != WK_ERR_CONDITIONS)
		goto out;
	rc = WK_OK;
	if (out->status != WK_ANON_COMMITTED) {
		snprintf(err->code, sizeof(err->code), "refused");
		snprintf(err->message, sizeof(err->message), "%s", out->reason);
		err->http_status = 200;
		rc = WK_ERR_ISSUER;
	}
out:
	json_decref(ans);
	return rc;
}

int
wk_anon_pay(wk_card *card, const char *pin, size_t pin_len,
    const char *manager_url, const char *payee, uint64_t amount,
    wk_anon_progress_fn progress, void *arg, uint8_t *request_out,
    size_t *request_len, wk_anon_payment *out, wk_anon_error *err)
{
	uint8_t data[1 + WK_ANON_ACCOUNT_MAX + 16], env[WK_ANON_ENV_MAX];
	uint8_t r[128];
	size_t pl, n = sizeof(env), rn = sizeof(r);
	uint64_t t = (uint64_t)time(NULL);
	wk_anon_info info;
	double t0;
	int rc;

	if (card == NULL || pin == NULL || payee == NULL || out == NULL ||
	    err == NULL || (request_out == NULL && manager_url == NULL) ||
	    (request_out != NULL && request_len == NULL))
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if ((pl = strlen(payee)) == 0 || pl > WK_ANON_ACCOUNT_MAX ||
	    !wk_anon_account_ok(payee) || amount == 0 ||
	    amount > WK_ANON_AMOUNT_MAX)
		return WK_ERR_ARG;
	snprintf(out->payee, sizeof(out->payee), "%s", payee);
	out->amount = amount;
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	if ((rc = select_anon(card)) != WK_OK ||
	    (rc = cmd(card, CLA, WK_ANON_INS_INFO, 0, 0, NULL, 0, r, &rn)) != WK_OK ||
	    (rc = info_parse(r, rn, &info)) != WK_OK)
		goto out;
	if (!info.authority) {
		rc = WK_ERR_INVALID_STATE;
		snprintf(err->message, sizeof(err->message), "the card is not"
		    " enrolled for semi-anonymous payments (walletkey anon enrol)");
		goto out;
	}
	if (info.pending) {
		rc = WK_ERR_INVALID_STATE;
		snprintf(out->txid, sizeof(out->txid), "%s", info.pending_txid);
		snprintf(err->message, sizeof(err->message), "payment %s waits for"
		    " its result (walletkey anon recover)", info.pending_txid);
		goto out;
	}
	t0 = now_ms();
	if ((rc = verify(card, pin, pin_len)) != WK_OK)
		goto out;
	say(progress, arg, WK_ANON_STEP_PIN, NULL);
	data[0] = (uint8_t)pl;
	memcpy(data + 1, payee, pl);
	for (int i = 0; i < 8; i++) {
		data[1 + pl + (size_t)i] = (uint8_t)(amount >> (56 - 8 * i));
		data[1 + pl + 8 + (size_t)i] = (uint8_t)(t >> (56 - 8 * i));
	}
	if ((rc = cmd(card, CLA, WK_ANON_INS_PAY, 0, 0, data, 1 + pl + 16, env,
	    &n)) != WK_OK)
		goto out;
	out->card_ms = now_ms() - t0;
	/* the txid, from the card's own record of the pending payment */
	rn = sizeof(r);
	{
		uint8_t txinfo[WK_ANON_TXINFO_MAX], id[32];
		size_t tn = sizeof(txinfo);

		if ((rc = cmd(card, CLA, WK_ANON_INS_PENDING, 0, 0, NULL, 0, txinfo,
		    &tn)) != WK_OK)
			goto out;
		wk_anon_txid(txinfo, tn, id);
		wk_hex_encode(id, 32, out->txid);
	}
	say(progress, arg, WK_ANON_STEP_REQUEST, out->txid);
	if (request_out != NULL) {
		if (*request_len < n) {
			rc = WK_ERR_ARG;
			goto out;
		}
		memcpy(request_out, env, n);
		*request_len = n;
		rc = WK_OK;
		goto out;
	}
	rc = send_envelope(card, manager_url, env, n, out->txid, out, err);
	say(progress, arg, WK_ANON_STEP_SENT, out->txid);
	if (out->status != 0)
		say(progress, arg, WK_ANON_STEP_RESULT, wk_anon_status_name(
		    (uint8_t)out->status));
	out->total_ms += out->card_ms;
out:
	wk_card_end(card);
	return rc;
}

int
wk_anon_submit(wk_card *card, const char *manager_url, const uint8_t *request,
    size_t len, wk_anon_payment *out, wk_anon_error *err)
{
	int rc;

	if (card == NULL || manager_url == NULL || request == NULL || out == NULL ||
	    err == NULL)
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	/* no voiding here: the envelope may be another card's, or a replay */
	rc = send_envelope(card, manager_url, request, len, NULL, out, err);
	wk_card_end(card);
	return rc;
}

int
wk_anon_recover(wk_card *card, const char *manager_url, wk_anon_payment *out,
    wk_anon_error *err)
{
	uint8_t r[128];
	size_t n = sizeof(r);
	wk_anon_info info;
	int rc;

	if (card == NULL || manager_url == NULL || out == NULL || err == NULL)
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	if ((rc = select_anon(card)) != WK_OK ||
	    (rc = cmd(card, CLA, WK_ANON_INS_INFO, 0, 0, NULL, 0, r, &n)) != WK_OK ||
	    (rc = info_parse(r, n, &info)) != WK_OK)
		goto out;
	if (!info.pending) {
		rc = WK_ERR_NOT_FOUND;
		goto out;
	}
	snprintf(out->txid, sizeof(out->txid), "%s", info.pending_txid);
	rc = status_of(card, manager_url, info.pending_txid, out, err);
out:
	wk_card_end(card);
	return rc;
}

int
wk_anon_history(wk_card *card, const char *pin, size_t pin_len,
    const char *manager_url, char **json_out, wk_anon_error *err)
{
	uint8_t t8[8], env[WK_ANON_ENV_MAX];
	uint64_t t = (uint64_t)time(NULL);
	size_t n = sizeof(env);
	json_t *ans = NULL;
	int rc;

	if (card == NULL || pin == NULL || manager_url == NULL || json_out == NULL ||
	    err == NULL)
		return WK_ERR_ARG;
	*json_out = NULL;
	memset(err, 0, sizeof(*err));
	for (int i = 0; i < 8; i++)
		t8[i] = (uint8_t)(t >> (56 - 8 * i));
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	if ((rc = select_anon(card)) != WK_OK ||
	    (rc = verify(card, pin, pin_len)) != WK_OK ||
	    (rc = cmd(card, CLA, WK_ANON_INS_QUERY, 0, 0, t8, 8, env, &n)) != WK_OK)
		goto out;
	if ((rc = post(manager_url, "/v1/anon/history", json_pack("{s:o}",
	    "envelope", wk_b64_json(env, n)), &ans, err)) != WK_OK)
		goto out;
	if ((*json_out = json_dumps(ans, JSON_INDENT(2))) == NULL)
		rc = WK_ERR_MEMORY;
out:
	json_decref(ans);
	wk_card_end(card);
	return rc;
}
