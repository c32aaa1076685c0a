/*
 * the credentials of online merchants and the payers' aliases
 * (docs/payments.md "Merchants"): an API key is shown once and kept as the
 * SHA-256 of its secret part (32 random bytes: no password to guess, so a
 * fast hash is enough); a TLS client certificate by the SHA-256 of its DER.
 * Each change runs in its own transaction and is logged.
 */
#include "iss.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_hex.h"
#include "wk_payment.h"

static int
merchant_exists(iss_db *db, const char *terminal, char *hex, iss_err *e)
{
	uint8_t tid[WK_PURSE_TERM_ID_LEN];
	iss_res *r = NULL;
	int rc;

	if (terminal == NULL || strlen(terminal) != 12 ||
	    strspn(terminal, "0123456789abcdefABCDEF") != 12 ||
	    wk_hex_decode(terminal, tid, sizeof(tid)) != sizeof(tid)) {
		iss_fail(e, 400, "bad_terminal", "a merchant's terminal id is 12 hex"
		    " digits");
		return -1;
	}
	wk_hex_encode(tid, sizeof(tid), hex);
	if ((rc = iss_db_exec(db, "SELECT 1 FROM merchants WHERE terminal_id = $1",
	    (iss_param[]){ ISS_PS(hex) }, 1, &r)) != ISS_DB_OK) {
		iss_fail_db(e, db, rc);
		return -1;
	}
	rc = iss_res_rows(r) == 1 ? 0 : -1;
	iss_res_free(&r);
	if (rc != 0)
		iss_fail(e, 404, "merchant_not_found", "no merchant for terminal %s",
		    hex);
	return rc;
}

static int
logged(iss_db *db, const char *kind, const char *detail, iss_err *e)
{
	int rc;

	if ((rc = iss_oplog_append(db, &(iss_op){ .kind = kind, .seq = -1,
	    .amount = -1, .detail = detail }, NULL)) != ISS_DB_OK ||
	    (rc = iss_db_commit(db)) != ISS_DB_OK) {
		iss_fail_db(e, db, rc);
		iss_db_rollback(db);
		return -1;
	}
	return 0;
}

int
iss_merchant_key_new(iss_db *db, const char *terminal, char *out, size_t cap,
    iss_err *e)
{
	uint8_t kid[8], secret[32], h[crypto_hash_sha256_BYTES];
	char hex[13], kidhex[17], sec[64], hhex[65], now[40], detail[64];
	int rc;

	if (cap < 80) {
		iss_fail(e, 500, "internal", "no room for the key");
		return -1;
	}
	if ((rc = iss_db_begin(db)) != ISS_DB_OK) {
		iss_fail_db(e, db, rc);
		return -1;
	}
	if (merchant_exists(db, terminal, hex, e) != 0)
		goto fail;
	randombytes_buf(kid, sizeof(kid));
	randombytes_buf(secret, sizeof(secret));
	wk_hex_encode(kid, sizeof(kid), kidhex);
	sodium_bin2base64(sec, sizeof(sec), secret, sizeof(secret),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_hash_sha256(h, (const uint8_t *)sec, strlen(sec));
	wk_hex_encode(h, sizeof(h), hhex);
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_exec(db, "INSERT INTO merchant_keys (key_id, terminal_id,"
	    " key_hash, created_at) VALUES ($1, $2, $3, $4)", (iss_param[]){
	    ISS_PS(kidhex), ISS_PS(hex), ISS_PS(hhex), ISS_PS(now) }, 4, NULL)) !=
	    ISS_DB_OK) {
		iss_fail_db(e, db, rc);
		goto fail;
	}
	snprintf(detail, sizeof(detail), "%s key %s", hex, kidhex);
	if (logged(db, "merchant.key", detail, e) != 0)
		goto wipe;
	snprintf(out, cap, "%s%s_%s", ISS_API_KEY_PREFIX, kidhex, sec);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(sec, sizeof(sec));
	return 0;
fail:
	iss_db_rollback(db);
wipe:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(sec, sizeof(sec));
	return -1;
}

int
iss_merchant_key_revoke(iss_db *db, const char *key_id, iss_err *e)
{
	char now[40];
	int rc;

	if (key_id == NULL || strlen(key_id) != 16 ||
	    strspn(key_id, "0123456789abcdef") != 16) {
		iss_fail(e, 400, "bad_key_id", "a key id is 16 lower-case hex digits"
		    " (the part after wkm_)");
		return -1;
	}
	iss_now_iso(now, sizeof(now));
	if ((rc = iss_db_begin(db)) != ISS_DB_OK ||
	    (rc = iss_db_exec(db, "UPDATE merchant_keys SET revoked_at = $1"
	    " WHERE key_id = $2 AND revoked_at IS NULL", (iss_param[]){
	    ISS_PS(now), ISS_PS(key_id) }, 2, NULL)) != ISS_DB_OK) {
		iss_fail_db(e, db, rc);
		iss_db_rollback(db);
		return -1;
	}
	if (iss_db_changes(db) != 1) {
		iss_db_rollback(db);
		iss_fail(e, 404, "key_not_found", "no valid key %s", key_id);
		return -1;
	}
	return logged(db, "merchant.key.revoke", key_id, e);
}

int
iss_merchant_cert_check(const char *pem, iss_err *e)
{
	FILE *f = fopen(pem, "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	if (x == NULL) {
		iss_fail(e, 400, "bad_certificate", "%s: not a PEM certificate", pem);
		return -1;
	}
	X509_free(x);
	return 0;
}

int
iss_merchant_cert_add(iss_db *db, const char *terminal, const char *pem,
    char *fp, size_t fplen, iss_err *e)
{
	FILE *f = fopen(pem, "r");
	X509 *x = NULL;
	unsigned char *der = NULL;
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[13], subject[256], now[40], fphex[65], detail[128];
	int n, rc = -1, d;

	if (f == NULL || (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL ||
	    (n = i2d_X509(x, &der)) <= 0) {
		iss_fail(e, 400, "bad_certificate", "%s: not a PEM certificate", pem);
		goto out;
	}
	crypto_hash_sha256(h, der, (unsigned long long)n);
	wk_hex_encode(h, sizeof(h), fphex);
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	iss_now_iso(now, sizeof(now));
	if ((d = iss_db_begin(db)) != ISS_DB_OK) {
		iss_fail_db(e, db, d);
		goto out;
	}
	if (merchant_exists(db, terminal, hex, e) != 0) {
		iss_db_rollback(db);
		goto out;
	}
	d = iss_db_exec(db, "INSERT INTO merchant_certs (fingerprint, terminal_id,"
	    " subject, created_at) VALUES ($1, $2, $3, $4)", (iss_param[]){
	    ISS_PS(fphex), ISS_PS(hex), ISS_PS(subject), ISS_PS(now) }, 4, NULL);
	if (d == ISS_DB_CONFLICT) {
		iss_db_rollback(db);
		iss_fail(e, 409, "certificate_exists", "this certificate is"
		    " registered already");
		goto out;
	}
	if (d != ISS_DB_OK) {
		iss_fail_db(e, db, d);
		iss_db_rollback(db);
		goto out;
	}
	snprintf(detail, sizeof(detail), "%s cert %.64s", hex, fphex);
	if (logged(db, "merchant.cert", detail, e) != 0)
		goto out;
	snprintf(fp, fplen, "%s", fphex);
	rc = 0;
out:
	OPENSSL_free(der);
	X509_free(x);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* an http:// URL whose host is this machine (127.0.0.0/8, localhost,
 * [::1]), no user part: the only place a webhook goes in plain HTTP, as
 * the issuer itself serves plain HTTP only on loopback */
static bool
http_loopback(const char *url)
{
	const char *h = url + 7, *end = h + strcspn(h, "/?#");
	char host[64];
	size_t n;
	struct in_addr a;

	if (memchr(h, '@', (size_t)(end - h)) != NULL)
		return false;
	if (strncmp(h, "[::1]", 5) == 0)
		return h + 5 == end || h[5] == ':';
	n = strcspn(h, ":/?#");
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcmp(host, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, host, &a) == 1 &&
	    (ntohl(a.s_addr) >> 24) == 127;
}

int
iss_merchant_webhook_check(const char *url, iss_err *e)
{
	if (url != NULL && ((strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0) || strlen(url) > 500 ||
	    strpbrk(url, " \t\r\n") != NULL)) {
		iss_fail(e, 400, "bad_url", "a webhook is an http:// or https:// URL"
		    " of at most 500 characters");
		return -1;
	}
	if (url != NULL && strncmp(url, "http://", 7) == 0 && !http_loopback(url)) {
		iss_fail(e, 400, "bad_url", "a webhook outside this machine is an"
		    " https:// URL (plain http:// only to 127.0.0.0/8, localhost"
		    " or [::1])");
		return -1;
	}
	return 0;
}

int
iss_merchant_webhook(iss_db *db, const char *terminal, const char *url,
    iss_err *e)
{
	char hex[13], detail[600];
	int rc;

	if (iss_merchant_webhook_check(url, e) != 0)
		return -1;
	if ((rc = iss_db_begin(db)) != ISS_DB_OK) {
		iss_fail_db(e, db, rc);
		return -1;
	}
	if (merchant_exists(db, terminal, hex, e) != 0 ||
	    (rc = iss_db_exec(db, "UPDATE merchants SET webhook_url = $1 WHERE"
	    " terminal_id = $2", (iss_param[]){ url ? ISS_PS(url) : ISS_PN,
	    ISS_PS(hex) }, 2, NULL)) != ISS_DB_OK) {
		if (e->status == 0)
			iss_fail_db(e, db, rc);
		iss_db_rollback(db);
		return -1;
	}
	snprintf(detail, sizeof(detail), "%s %s", hex, url ? url : "(none)");
	return logged(db, "merchant.webhook", detail, e);
}

static bool
alias_ok(const char *a)
{
	size_t n = strlen(a);

	/* never all digits: a PAN is looked up as a PAN */
	return n >= 3 && n <= 64 && strspn(a, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
	    strspn(a, "0123456789") != n;
}

int
iss_alias_create(iss_db *db, const char *pan, const char *alias,
    const char *label, char *out, size_t cap, iss_err *e)
{
	uint8_t rnd[12];
	char made[40], now[40], detail[160];
	iss_res *r = NULL;
	int64_t acct;
	int rc;

	if (alias == NULL) {
		randombytes_buf(rnd, sizeof(rnd));
		memcpy(made, "wk-", 3);
		sodium_bin2base64(made + 3, sizeof(made) - 3, rnd, sizeof(rnd),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		alias = made;
	}
	if (!alias_ok(alias)) {
		iss_fail(e, 400, "bad_alias", "an alias is 3 to 64 letters, digits,"
		    " '.', '_' or '-', not all digits");
		return -1;
	}
	if (label != NULL && (strlen(label) > 64 ||
	    !wk_payment_text_ok(label, strlen(label)))) {
		iss_fail(e, 400, "bad_label", "a label is at most 64 bytes of text");
		return -1;
	}
	if ((rc = iss_db_begin(db)) != ISS_DB_OK)
		goto dberr;
	if ((rc = iss_db_exec(db, "SELECT id FROM accounts WHERE pan = $1 AND"
	    " kind = 'customer'", (iss_param[]){ ISS_PS(pan) }, 1, &r)) !=
	    ISS_DB_OK)
		goto dberr;
	if (iss_res_rows(r) != 1) {
		iss_res_free(&r);
		iss_db_rollback(db);
		iss_fail(e, 404, "account_not_found", "no account with PAN %.19s",
		    pan);
		return -1;
	}
	acct = iss_res_int(r, 0, 0);
	iss_res_free(&r);
	iss_now_iso(now, sizeof(now));
	rc = iss_db_exec(db, "INSERT INTO payer_aliases (alias, account_id, label,"
	    " created_at) VALUES ($1, $2, $3, $4)", (iss_param[]){ ISS_PS(alias),
	    ISS_PI(acct), label ? ISS_PS(label) : ISS_PN, ISS_PS(now) }, 4, NULL);
	if (rc == ISS_DB_CONFLICT) {
		iss_db_rollback(db);
		iss_fail(e, 409, "alias_exists", "the alias %s is taken", alias);
		return -1;
	}
	if (rc != ISS_DB_OK)
		goto dberr;
	/* the log names the account, not the PAN beside the alias */
	snprintf(detail, sizeof(detail), "alias %s of account %lld", alias,
	    (long long)acct);
	if (logged(db, "payer.alias", detail, e) != 0)
		return -1;
	snprintf(out, cap, "%s", alias);
	return 0;
dberr:
	iss_fail_db(e, db, rc);
	iss_db_rollback(db);
	return -1;
}
