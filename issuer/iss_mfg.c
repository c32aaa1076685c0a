/*
 * the manufacturer CAs enrolment trusts (docs/attestation.md): sealed
 * secrets "mfg_ca.<SHA-256 of the DER, hex>" beside the purse master keys,
 * so only a holder of the issuer's key file or passphrase adds one. A
 * server reads them when it starts.
 */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "wk_hex.h"

#define PREFIX "mfg_ca."

static int
fingerprint(X509 *x, char fp[ISS_MFG_FP_LEN + 1])
{
	uint8_t md[32];
	unsigned int n = 0;

	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != sizeof(md))
		return -1;
	wk_hex_encode(md, sizeof(md), fp);
	return 0;
}

static X509 *
parse_der(const uint8_t *der, long n)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, n);

	if (x != NULL && p != der + n) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* the operation log: the bank's, or a semi-anonymous role's */
static int
mfg_log(iss_db *db, const char *kind, const char *detail)
{
	char role[16], now[40];

	if (iss_meta_get(db, "role", role, sizeof(role)) != 0)
		return iss_oplog_append(db, &(iss_op){ .kind = kind, .seq = -1,
		    .amount = -1, .detail = detail }, NULL);
	iss_now_iso(now, sizeof(now));
	return iss_db_exec(db, "INSERT INTO anon_oplog (at, kind, detail) VALUES"
	    " ($1, $2, $3)", (iss_param[]){ ISS_PS(now), ISS_PS(kind),
	    ISS_PS(detail) }, 3, NULL);
}

/* the seal key, and proof that it is this issuer's: it opens the master keys */
static int
seal_key(iss_db *db, const iss_unlock *u, uint8_t key[32], char *err,
    size_t errlen)
{
	uint8_t probe[64];
	long n;

	if (iss_seal_key(db, u, false, key, err, errlen) != 0)
		return -1;
	n = iss_secret_get(db, key, "purse_master", probe, sizeof(probe));
	/* a semi-anonymous role's database has its signing key instead */
	if (n != ISS_MK_LEN && iss_secret_get(db, key, "anon_sign", probe,
	    sizeof(probe)) == 64)
		n = ISS_MK_LEN;
	sodium_memzero(probe, sizeof(probe));
	if (n != ISS_MK_LEN) {
		snprintf(err, errlen, "the issuer's secrets do not open with this %s",
		    u->key_file ? "key file" : "passphrase");
		return -1;
	}
	return 0;
}

/* every name under the prefix; the caller frees the result */
static int
names(iss_db *db, iss_res **r)
{
	return iss_db_exec(db, "SELECT name FROM issuer_secrets WHERE name LIKE"
	    " 'mfg\\_ca.%' ESCAPE '\\' ORDER BY name", NULL, 0, r);
}

/* the certificate sealed under name; NULL when it does not open or parse */
static X509 *
open_one(iss_db *db, const uint8_t key[32], const char *name)
{
	uint8_t der[ISS_SECRET_MAX];
	char fp[ISS_MFG_FP_LEN + 1];
	long n;
	X509 *x;

	if ((n = iss_secret_get(db, key, name, der, sizeof(der))) <= 0 ||
	    (x = parse_der(der, n)) == NULL)
		return NULL;
	/* the name says which certificate it holds */
	if (fingerprint(x, fp) != 0 || strcmp(name + strlen(PREFIX), fp) != 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
iss_mfg_load(iss_db *db, const uint8_t key[32], X509_STORE **store, size_t *n,
    char *err, size_t errlen)
{
	iss_res *r = NULL;
	X509 *x;
	int rc = -1;

	*n = 0;
	if ((*store = X509_STORE_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (names(db, &r) != ISS_DB_OK) {
		snprintf(err, errlen, "%s", iss_db_errmsg(db));
		goto out;
	}
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		const char *name = iss_res_text(r, i, 0);

		if ((x = open_one(db, key, name)) == NULL) {
			snprintf(err, errlen, "the manufacturer CA %s does not open",
			    name + strlen(PREFIX));
			goto out;
		}
		if (X509_STORE_add_cert(*store, x) != 1) {
			X509_free(x);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		X509_free(x);
		(*n)++;
	}
	rc = 0;
out:
	iss_res_free(&r);
	if (rc != 0) {
		X509_STORE_free(*store);
		*store = NULL;
		*n = 0;
	}
	ERR_clear_error();
	return rc;
}

int
iss_mfg_add(iss_db *db, const iss_unlock *u, const char *pem_path,
    size_t *added, char *err, size_t errlen)
{
	uint8_t *key = NULL;
	BIO *b = NULL;
	X509 *x = NULL;
	unsigned char *der = NULL;
	char name[sizeof(PREFIX) + ISS_MFG_FP_LEN], fp[ISS_MFG_FP_LEN + 1];
	size_t count = 0, fresh = 0;
	iss_res *r = NULL;
	int n, rc = -1;

	*added = 0;
	if ((key = sodium_malloc(32)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (seal_key(db, u, key, err, errlen) != 0)
		goto out;
	if ((b = BIO_new_file(pem_path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open it", pem_path);
		rc = -2;
		goto out;
	}
	if (iss_db_begin(db) != ISS_DB_OK) {
		snprintf(err, errlen, "%s", iss_db_errmsg(db));
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		count++;
		/* a CA that may sign the cards' device certificates */
		if (X509_check_ca(x) == 0 || X509_check_purpose(x, -1, 0) != 1) {
			snprintf(err, errlen, "%s: certificate %zu is not a CA"
			    " certificate", pem_path, count);
			rc = -2;
			goto rollback;
		}
		if ((n = i2d_X509(x, &der)) <= 0 || n > ISS_SECRET_MAX ||
		    fingerprint(x, fp) != 0) {
			snprintf(err, errlen, "%s: certificate %zu does not encode",
			    pem_path, count);
			goto rollback;
		}
		snprintf(name, sizeof(name), PREFIX "%s", fp);
		iss_res_free(&r);
		if (iss_db_exec(db, "SELECT 1 FROM issuer_secrets WHERE name = $1",
		    (iss_param[]){ ISS_PS(name) }, 1, &r) != ISS_DB_OK)
			goto dberr;
		if (iss_res_rows(r) == 0) {
			if (iss_secret_put(db, key, name, der, (size_t)n) != ISS_DB_OK ||
			    mfg_log(db, "manufacturer.add", fp) != ISS_DB_OK)
				goto dberr;
			fresh++;
		}
		OPENSSL_free(der);
		der = NULL;
		X509_free(x);
		x = NULL;
	}
	if (count == 0) {
		snprintf(err, errlen, "%s: no PEM certificate", pem_path);
		rc = -2;
		goto rollback;
	}
	if (iss_db_commit(db) != ISS_DB_OK)
		goto dberr;
	*added = fresh;
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "%s", iss_db_errmsg(db));
rollback:
	iss_db_rollback(db);
out:
	iss_res_free(&r);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(b);
	sodium_free(key);
	ERR_clear_error();
	return rc;
}

int
iss_mfg_remove(iss_db *db, const char *fp, char *err, size_t errlen)
{
	char name[sizeof(PREFIX) + ISS_MFG_FP_LEN], low[ISS_MFG_FP_LEN + 1];
	uint8_t bin[32];
	iss_res *r = NULL;
	int rc = -1;

	if (fp == NULL || strlen(fp) != ISS_MFG_FP_LEN ||
	    wk_hex_decode(fp, bin, sizeof(bin)) != (long)sizeof(bin)) {
		snprintf(err, errlen, "a fingerprint is 64 hex digits (SHA-256)");
		return -2;
	}
	wk_hex_encode(bin, sizeof(bin), low);
	snprintf(name, sizeof(name), PREFIX "%s", low);
	if (iss_db_begin(db) != ISS_DB_OK)
		goto dberr;
	if (iss_db_exec(db, "SELECT 1 FROM issuer_secrets WHERE name = $1",
	    (iss_param[]){ ISS_PS(name) }, 1, &r) != ISS_DB_OK)
		goto dberr;
	if (iss_res_rows(r) == 0) {
		snprintf(err, errlen, "no manufacturer CA has fingerprint %s", low);
		iss_db_rollback(db);
		rc = -2;
		goto out;
	}
	if (iss_db_exec(db, "DELETE FROM issuer_secrets WHERE name = $1",
	    (iss_param[]){ ISS_PS(name) }, 1, NULL) != ISS_DB_OK ||
	    mfg_log(db, "manufacturer.remove", low) != ISS_DB_OK ||
	    iss_db_commit(db) != ISS_DB_OK)
		goto dberr;
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "%s", iss_db_errmsg(db));
	iss_db_rollback(db);
out:
	iss_res_free(&r);
	return rc;
}

static json_t *
time_json(const ASN1_TIME *t)
{
	struct tm tm;
	char s[32];

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(s);
}

int
iss_mfg_list(iss_db *db, const iss_unlock *u, json_t **out, char *err,
    size_t errlen)
{
	uint8_t *key = NULL;
	iss_res *r = NULL;
	json_t *a = NULL;
	X509 *x = NULL;
	char subject[256];
	int rc = -1;

	*out = NULL;
	if ((key = sodium_malloc(32)) == NULL || (a = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (seal_key(db, u, key, err, errlen) != 0)
		goto out;
	if (names(db, &r) != ISS_DB_OK) {
		snprintf(err, errlen, "%s", iss_db_errmsg(db));
		goto out;
	}
	for (size_t i = 0; i < iss_res_rows(r); i++) {
		const char *name = iss_res_text(r, i, 0);

		if ((x = open_one(db, key, name)) == NULL) {
			snprintf(err, errlen, "the manufacturer CA %s does not open"
			    " with this key", name + strlen(PREFIX));
			goto out;
		}
		X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:o}",
		    "fingerprint", name + strlen(PREFIX), "subject", subject,
		    "not_before", time_json(X509_get0_notBefore(x)),
		    "not_after", time_json(X509_get0_notAfter(x)))) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		X509_free(x);
		x = NULL;
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	X509_free(x);
	json_decref(a);
	iss_res_free(&r);
	sodium_free(key);
	ERR_clear_error();
	return rc;
}
