/*
 * the merchants' webhooks (docs/payments.md "Webhooks"): when a payment
 * closes, its final state is queued in the same transaction (an outbox),
 * and the server's sweeper posts it to the merchant's URL, signed with the
 * issuer's CA key (ECDSA P-256 over SHA-256 of the body, base64 DER in the
 * Walletkey-Signature header), again with a growing delay until the
 * merchant answers 2xx. A delivery is claimed before it is sent, so
 * several servers of one database post each once at a time; a merchant may
 * still receive one twice (after a crash between the post and its record)
 * and must take the payment id as the key.
 */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <sodium.h>

#define WEBHOOK_TRIES 16
#define WEBHOOK_DELAY_MAX 3600
#define WEBHOOK_CLAIM 60	/* seconds a claimed delivery waits for its sender */
#define WEBHOOK_BATCH 16

int
iss_webhook_queue(iss_db *db, const char *terminal, const char *payment_id,
    const char *body)
{
	iss_res *r = NULL;
	const char *url;
	int rc;

	if ((rc = iss_db_exec(db, "SELECT webhook_url FROM merchants WHERE"
	    " terminal_id = $1", (iss_param[]){ ISS_PS(terminal) }, 1, &r)) !=
	    ISS_DB_OK)
		return rc;
	url = iss_res_rows(r) == 1 ? iss_res_text(r, 0, 0) : NULL;
	if (url != NULL)
		rc = iss_db_exec(db, "INSERT INTO webhooks (payment_id, url, body,"
		    " attempts, next_at) VALUES ($1, $2, $3, 0, $4)", (iss_param[]){
		    ISS_PS(payment_id), ISS_PS(url), ISS_PS(body),
		    ISS_PI((int64_t)time(NULL)) }, 4, NULL);
	iss_res_free(&r);
	return rc;
}

static char *
sign_body(EVP_PKEY *key, const char *body)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[80];
	size_t n = sizeof(sig), cap;
	char *out = NULL;

	if (md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) ==
	    1 && EVP_DigestSign(md, sig, &n, (const uint8_t *)body,
	    strlen(body)) == 1) {
		cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
		if ((out = malloc(cap)) != NULL)
			sodium_bin2base64(out, cap, sig, n,
			    sodium_base64_VARIANT_ORIGINAL);
	}
	EVP_MD_CTX_free(md);
	return out;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* 0 when the merchant took it (2xx); else why not into err */
static int
post(const char *url, const char *payment_id, const char *body,
    const char *sig, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char sh[200], ph[80];
	long status = 0;
	CURLcode cc;
	int rc = -1;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(sh, sizeof(sh), "Walletkey-Signature: %s", sig);
	snprintf(ph, sizeof(ph), "Walletkey-Payment: %s", payment_id);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, sh);
	h = curl_slist_append(h, ph);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(err, errlen, "HTTP %ld", status);
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

int
iss_webhook_run(iss *is)
{
	iss_db *db;
	iss_res *r = NULL;
	int64_t now = (int64_t)time(NULL);
	int sent = 0;

	if ((db = iss_pool_get(is->pool)) == NULL)
		return -1;
	if (iss_db_exec(db, "SELECT id, payment_id, url, body, attempts, next_at"
	    " FROM webhooks WHERE delivered_at IS NULL AND next_at <= $1 AND"
	    " attempts < $2 ORDER BY next_at, id LIMIT $3", (iss_param[]){
	    ISS_PI(now), ISS_PI(WEBHOOK_TRIES), ISS_PI(WEBHOOK_BATCH) }, 3, &r) !=
	    ISS_DB_OK)
		goto out;
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		int64_t id = iss_res_int(r, i, 0), tries = iss_res_int(r, i, 4);
		int64_t delay;
		char err[200] = "", *sig = NULL;
		int ok;

		/* claim it: another server that read the same row skips it */
		if (iss_db_exec(db, "UPDATE webhooks SET next_at = $1 WHERE id = $2"
		    " AND next_at = $3 AND delivered_at IS NULL", (iss_param[]){
		    ISS_PI(now + WEBHOOK_CLAIM), ISS_PI(id),
		    ISS_PI(iss_res_int(r, i, 5)) }, 3, NULL) != ISS_DB_OK ||
		    iss_db_changes(db) != 1)
			continue;
		if ((sig = sign_body(is->keys.ca_key, iss_res_text(r, i, 3))) == NULL) {
			snprintf(err, sizeof(err), "cannot sign");
			ok = -1;
		} else {
			ok = post(iss_res_text(r, i, 2), iss_res_text(r, i, 1),
			    iss_res_text(r, i, 3), sig, err, sizeof(err));
		}
		free(sig);
		delay = (int64_t)1 << (tries < 12 ? tries : 12);
		if (delay > WEBHOOK_DELAY_MAX)
			delay = WEBHOOK_DELAY_MAX;
		if (ok == 0) {
			(void)iss_db_exec(db, "UPDATE webhooks SET delivered_at = $1,"
			    " attempts = attempts + 1, last_error = NULL WHERE id = $2",
			    (iss_param[]){ ISS_PI((int64_t)time(NULL)), ISS_PI(id) }, 2,
			    NULL);
			sent++;
		} else {
			(void)iss_db_exec(db, "UPDATE webhooks SET attempts = attempts"
			    " + 1, next_at = $1, last_error = $2 WHERE id = $3",
			    (iss_param[]){ ISS_PI((int64_t)time(NULL) + delay),
			    ISS_PS(err), ISS_PI(id) }, 3, NULL);
		}
	}
out:
	iss_res_free(&r);
	iss_pool_put(is->pool, db);
	return sent;
}
