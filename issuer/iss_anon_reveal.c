/*
 * the lawful reveal (docs/semi-anonymous.md "The lawful reveal"): the
 * operators who may ask for it, the regulators whose signed order it needs,
 * and the reveal itself, one order at a time
 */
#include "iss_anon.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "wk_hex.h"

#define ORDER_FORMAT "walletkey-reveal-order/1"

int
iss_anon_operator_add(const iss_anon_cmd *c)
{
	const char *pw = c->password_env ? getenv(c->password_env) : NULL;
	char hash[crypto_pwhash_STRBYTES], now[40];
	iss_db *db = NULL;
	int rc;

	if (c->name == NULL || c->name[0] == '\0' || strlen(c->name) > 64 ||
	    pw == NULL || strlen(pw) < 8) {
		fprintf(stderr, "walletkey-issuer: operator-add needs --name NAME and"
		    " --password-env VAR (a password of 8 characters or more)\n");
		return 2;
	}
	if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		fprintf(stderr, "walletkey-issuer: operator-add: out of memory\n");
		return 1;
	}
	if ((rc = iss_anon_admin_open(c, &db, ISS_ROLE_IDENTITY)) != 0)
		return rc;
	iss_now_iso(now, sizeof(now));
	rc = 1;
	if (iss_db_begin(db) != ISS_DB_OK)
		goto dberr;
	rc = iss_db_exec(db, "INSERT INTO anon_operators (name, password_hash,"
	    " created_at) VALUES ($1, $2, $3)", (iss_param[]){ ISS_PS(c->name),
	    ISS_PS(hash), ISS_PS(now) }, 3, NULL);
	if (rc == ISS_DB_CONFLICT) {
		iss_db_rollback(db);
		fprintf(stderr, "walletkey-issuer: operator-add: %s exists\n", c->name);
		rc = 2;
		goto out;
	}
	if (rc != ISS_DB_OK || iss_anon_admin_oplog(db, "operator.add", NULL,
	    NULL, NULL, -1, c->name) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK)
		goto dberr;
	printf(c->json ? "{\"operator\":\"%s\"}\n" : "operator %s added\n", c->name);
	rc = 0;
	goto out;
dberr:
	fprintf(stderr, "walletkey-issuer: operator-add: %s\n", iss_db_errmsg(db));
	iss_db_rollback(db);
	rc = 1;
out:
	iss_db_free(&db);
	return rc;
}

/* SHA-256 of the raw Ed25519 public key, hex */
static int
regulator_fp(EVP_PKEY *k, char fp[65], char raw_hex[65])
{
	uint8_t raw[32], h[32];
	size_t n = sizeof(raw);

	if (EVP_PKEY_get_raw_public_key(k, raw, &n) != 1 || n != 32)
		return -1;
	crypto_hash_sha256(h, raw, 32);
	wk_hex_encode(h, 32, fp);
	wk_hex_encode(raw, 32, raw_hex);
	return 0;
}

int
iss_anon_regulator_add(const iss_anon_cmd *c)
{
	FILE *f;
	EVP_PKEY *k = NULL;
	char fp[65], raw[65], now[40];
	iss_db *db = NULL;
	int rc = 2;

	if (c->pubkey == NULL || (f = fopen(c->pubkey, "r")) == NULL) {
		fprintf(stderr, "walletkey-issuer: regulator-add needs --pubkey PEM"
		    " (an Ed25519 public key)\n");
		return 2;
	}
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519 ||
	    regulator_fp(k, fp, raw) != 0) {
		fprintf(stderr, "walletkey-issuer: regulator-add: %s is not an"
		    " Ed25519 public key in PEM\n", c->pubkey);
		goto out;
	}
	if ((rc = iss_anon_admin_open(c, &db, ISS_ROLE_IDENTITY)) != 0)
		goto out;
	iss_now_iso(now, sizeof(now));
	rc = 1;
	if (iss_db_begin(db) != ISS_DB_OK ||
	    iss_db_exec(db, "INSERT INTO anon_regulators (fingerprint, pubkey, name,"
	    " created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (fingerprint) DO"
	    " NOTHING", (iss_param[]){ ISS_PS(fp), ISS_PS(raw), c->name ?
	    ISS_PS(c->name) : ISS_PN, ISS_PS(now) }, 4, NULL) != ISS_DB_OK ||
	    iss_anon_admin_oplog(db, "regulator.add", NULL, NULL, NULL, -1,
	    fp) != ISS_DB_OK ||
	    iss_db_commit(db) != ISS_DB_OK) {
		fprintf(stderr, "walletkey-issuer: regulator-add: %s\n",
		    iss_db_errmsg(db));
		iss_db_rollback(db);
		goto out;
	}
	printf(c->json ? "{\"fingerprint\":\"%s\"}\n" : "regulator %s trusted\n",
	    fp);
	rc = 0;
out:
	EVP_PKEY_free(k);
	iss_db_free(&db);
	return rc;
}

/* an operator's password, checked against its Argon2id hash */
static bool
operator_ok(iss_db *db, const char *name, const char *pw)
{
	iss_res *r = NULL;
	bool ok = false;

	if (name == NULL || pw == NULL)
		return false;
	if (iss_db_exec(db, "SELECT password_hash FROM anon_operators WHERE name ="
	    " $1", (iss_param[]){ ISS_PS(name) }, 1, &r) == ISS_DB_OK &&
	    iss_res_rows(r) == 1)
		ok = crypto_pwhash_str_verify(iss_res_text(r, 0, 0), pw,
		    strlen(pw)) == 0;
	iss_res_free(&r);
	return ok;
}

/* the regulator's order: signed by a trusted regulator, for this case and
 * transaction, not expired. *why on failure; fp the signer's */
static bool
order_ok(iss_db *db, const char *path, const char *case_id, const char *txid,
    char fp[65], char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *o = NULL;
	const char *fmt, *cs, *tx, *exp, *sig;
	uint8_t s[64], pk[32];
	char tbs[512], now[32];
	size_t n;
	iss_res *r = NULL;
	bool ok = false;

	fp[0] = '\0';
	if (path == NULL) {
		snprintf(why, whylen, "no regulator's order (--order FILE)");
		return false;
	}
	if ((o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(why, whylen, "the order is not JSON: %.100s", jerr.text);
		return false;
	}
	fmt = json_string_value(json_object_get(o, "format"));
	cs = json_string_value(json_object_get(o, "case"));
	tx = json_string_value(json_object_get(o, "transaction"));
	exp = json_string_value(json_object_get(o, "expires"));
	sig = json_string_value(json_object_get(o, "signature"));
	if (fmt == NULL || strcmp(fmt, ORDER_FORMAT) != 0 || cs == NULL ||
	    tx == NULL || exp == NULL || sig == NULL || strlen(cs) > 128 ||
	    strlen(tx) > 128 || strlen(exp) > 32) {
		snprintf(why, whylen, "the order is not a %s", ORDER_FORMAT);
		goto out;
	}
	if (strcmp(cs, case_id) != 0 || strcmp(tx, txid) != 0) {
		snprintf(why, whylen, "the order is for case %.60s, transaction"
		    " %.64s", cs, tx);
		goto out;
	}
	if (sodium_base642bin(s, sizeof(s), sig, strlen(sig), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || n != 64) {
		snprintf(why, whylen, "the order's signature is not 64 bytes base64");
		goto out;
	}
	snprintf(tbs, sizeof(tbs), "%s\ncase=%s\ntransaction=%s\nexpires=%s\n",
	    ORDER_FORMAT, cs, tx, exp);
	if (iss_db_exec(db, "SELECT fingerprint, pubkey FROM anon_regulators ORDER"
	    " BY fingerprint", NULL, 0, &r) != ISS_DB_OK) {
		snprintf(why, whylen, "the database failed");
		goto out;
	}
	for (size_t i = 0; i < iss_res_rows(r) && !ok; i++)
		if (iss_anon_hex32(iss_res_text(r, i, 1), pk) == 0 &&
		    crypto_sign_verify_detached(s, (const uint8_t *)tbs, strlen(tbs),
		    pk) == 0) {
			snprintf(fp, 65, "%s", iss_res_text(r, i, 0));
			ok = true;
		}
	if (!ok) {
		snprintf(why, whylen, "the order is not signed by a trusted"
		    " regulator");
		goto out;
	}
	{
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (strcmp(exp, now) < 0) {
			snprintf(why, whylen, "the order expired at %s", exp);
			ok = false;
		}
	}
out:
	iss_res_free(&r);
	json_decref(o);
	return ok;
}

int
iss_anon_reveal(const iss_anon_cmd *c)
{
	const char *pw = c->password_env ? getenv(c->password_env) : NULL;
	const char *apw = c->approver_password_env ?
	    getenv(c->approver_password_env) : NULL;
	uint8_t idk[32], salt[16], feat[32], want[32], tid[32];
	uint8_t idcred[WK_ANON_IDCRED_LEN + 8];
	char why[256] = "", fp[65] = "", detail[512];
	const char *name = NULL, *idn = NULL, *acct = NULL;
	iss_anon *a = NULL;
	iss_db *db = NULL;
	iss_res *r = NULL;
	size_t n;
	bool granted = false;
	int rc;

	if (c->case_id == NULL || c->case_id[0] == '\0' || strlen(c->case_id) > 128 ||
	    c->txid == NULL || strlen(c->txid) != 64 ||
	    wk_hex_decode(c->txid, tid, 32) != 32) {
		fprintf(stderr, "walletkey-issuer: reveal needs --case CASE and"
		    " --transaction TXID (64 hex digits)\n");
		return 2;
	}
	if ((rc = iss_anon_admin_open(c, &db, ISS_ROLE_IDENTITY)) != 0)
		return rc;
	rc = 1;
	/* each condition in turn; the first that fails is the logged reason */
	if (!order_ok(db, c->order, c->case_id, c->txid, fp, why, sizeof(why)))
		goto decide;
	if (!operator_ok(db, c->operator_name, pw)) {
		snprintf(why, sizeof(why), "operator %.64s is not authenticated",
		    c->operator_name ? c->operator_name : "(none)");
		goto decide;
	}
	if (c->approver == NULL || apw == NULL) {
		snprintf(why, sizeof(why), "no second operator's approval"
		    " (--approver NAME --approver-password-env VAR)");
		goto decide;
	}
	if (strcmp(c->approver, c->operator_name) == 0) {
		snprintf(why, sizeof(why), "the approver must be a second operator");
		goto decide;
	}
	if (!operator_ok(db, c->approver, apw)) {
		snprintf(why, sizeof(why), "approver %.64s is not authenticated",
		    c->approver);
		goto decide;
	}
	if (iss_db_exec(db, "SELECT t.idcred, a.idk_pub, p.salt, p.name,"
	    " p.id_number, t.payer FROM anon_transfers t JOIN anon_accounts a ON"
	    " a.account = t.payer JOIN anon_persons p ON p.id = a.person_id WHERE"
	    " t.txid = $1 AND t.status = 'committed'", (iss_param[]){
	    ISS_PS(c->txid) }, 1, &r) != ISS_DB_OK || iss_res_rows(r) != 1) {
		snprintf(why, sizeof(why), "no committed transaction %.64s", c->txid);
		goto decide;
	}
	if (iss_anon_open(c->db, c->u, 1, &a, why, sizeof(why)) != 0)
		goto decide;
	{
		json_t *j = json_string(iss_res_text(r, 0, 0));

		if (j == NULL || wk_b64_unjson(j, idcred, sizeof(idcred), &n) != 0 ||
		    iss_anon_hex32(iss_res_text(r, 0, 1), idk) != 0 ||
		    wk_hex_decode(iss_res_text(r, 0, 2), salt, 16) != 16) {
			json_decref(j);
			snprintf(why, sizeof(why), "the stored credential is malformed");
			goto decide;
		}
		json_decref(j);
	}
	/* the identity credential, verified with the account's identity key,
	 * names the features the person was registered with */
	if (wk_anon_idcred_open(idcred, n, a->kx_pk, a->kx_sk, idk, tid, feat) !=
	    WK_ANON_OK) {
		snprintf(why, sizeof(why), "the identity credential does not verify");
		goto decide;
	}
	name = iss_res_text(r, 0, 3);
	idn = iss_res_text(r, 0, 4);
	acct = iss_res_text(r, 0, 5);
	wk_anon_features(salt, name, idn, want);
	if (sodium_memcmp(feat, want, 32) != 0) {
		snprintf(why, sizeof(why), "the identity credential does not match"
		    " the registered person");
		goto decide;
	}
	granted = true;
decide:
	snprintf(detail, sizeof(detail), "%s; operator %s; approver %s;"
	    " regulator %s", granted ? "granted" : why, c->operator_name ?
	    c->operator_name : "-", c->approver ? c->approver : "-",
	    fp[0] ? fp : "-");
	/* the row first: nothing is shown that the log does not hold */
	if (iss_db_begin(db) != ISS_DB_OK || iss_anon_admin_oplog(db,
	    granted ? "reveal.granted" : "reveal.refused", c->txid, granted ? acct : NULL, c->case_id, -1,
	    detail) != ISS_DB_OK || iss_db_commit(db) != ISS_DB_OK) {
		iss_db_rollback(db);
		fprintf(stderr, "walletkey-issuer: reveal: cannot log the reveal:"
		    " %s; nothing is revealed\n", iss_db_errmsg(db));
		rc = 1;
		goto out;
	}
	if (!granted) {
		if (c->json)
			printf("{\"granted\":false,\"reason\":\"%s\"}\n", why);
		fprintf(stderr, "walletkey-issuer: reveal refused: %s (logged)\n",
		    why);
		rc = 4;
		goto out;
	}
	if (c->json) {
		json_t *j = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "granted", 1,
		    "case", c->case_id, "transaction", c->txid, "account", acct,
		    "name", name, "id_number", idn);

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else {
		printf("case %s, transaction %s\naccount\t%s\nname\t%s\nid number\t%s\n",
		    c->case_id, c->txid, acct, name, idn);
	}
	rc = 0;
out:
	sodium_memzero(feat, sizeof(feat));
	sodium_memzero(want, sizeof(want));
	iss_res_free(&r);
	iss_anon_free(&a);
	iss_db_free(&db);
	return rc;
}
