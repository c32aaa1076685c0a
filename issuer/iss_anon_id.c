/*
 * the identity authority (docs/semi-anonymous.md): registers the cards of
 * the people it knows, checks every payment's transaction and identity
 * credentials, asks the payee's manager, moves currency rights in its
 * double-entry ledger (one transaction) and signs the result.
 */
#include "iss_anon.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wk_attest.h"
#include "wk_hex.h"

static int
manager_key(iss_anon *a, const char *id, uint8_t pk[32], char *url,
    size_t urlcap)
{
	iss_db *db;
	iss_res *r = NULL;
	int rc = -1;

	if ((db = iss_pool_get(a->base.pool)) == NULL)
		return -1;
	if (iss_db_exec(db, "SELECT sign_pub, url FROM anon_managers WHERE id = $1",
	    (iss_param[]){ ISS_PS(id) }, 1, &r) == ISS_DB_OK &&
	    iss_res_rows(r) == 1 && iss_anon_hex32(iss_res_text(r, 0, 0), pk) == 0 &&
	    strlen(iss_res_text(r, 0, 1)) < urlcap) {
		snprintf(url, urlcap, "%s", iss_res_text(r, 0, 1));
		rc = 0;
	}
	iss_res_free(&r);
	iss_pool_put(a->base.pool, db);
	return rc;
}

static int
oplog(iss_db *db, const char *kind, const char *txid, const char *account,
    int64_t amount, const char *detail)
{
	char now[40];

	iss_now_iso(now, sizeof(now));
	return iss_db_exec(db, "INSERT INTO anon_oplog (at, kind, txid, account,"
	    " amount, detail) VALUES ($1, $2, $3, $4, $5, $6)", (iss_param[]){
	    ISS_PS(now), ISS_PS(kind), txid ? ISS_PS(txid) : ISS_PN,
	    account ? ISS_PS(account) : ISS_PN, amount >= 0 ? ISS_PI(amount) :
	    ISS_PN, detail ? ISS_PS(detail) : ISS_PN }, 6, NULL);
}

/* one attestation chain of a key: [key attestation, device, ...] */
int
iss_anon_check_attestation(iss_anon *a, json_t *arr, const uint8_t *card_id,
    uint8_t slot, const uint8_t pub[32], uint8_t *card_out, iss_err *e)
{
	wk_attest_facts f;
	uint8_t *der[WK_ATTEST_CHAIN_MAX] = { NULL };
	size_t len[WK_ATTEST_CHAIN_MAX], n = json_array_size(arr);
	EVP_PKEY *k = NULL;
	char why[200];
	int rc = -1, v;

	if (!json_is_array(arr) || n < 2 || n > WK_ATTEST_CHAIN_MAX) {
		iss_fail(e, 400, "bad_attestation", "an attestation is an array of 2"
		    " to %d base64 DER certificates", WK_ATTEST_CHAIN_MAX);
		return -1;
	}
	if (a->n_mfg == 0) {
		iss_fail(e, 403, "attestation_untrusted", "%s trusts no card"
		    " manufacturer", a->self);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((der[i] = malloc(WK_ATTEST_CERT_MAX)) == NULL ||
		    wk_b64_unjson(json_array_get(arr, i), der[i], WK_ATTEST_CERT_MAX,
		    &len[i]) != 0) {
			iss_fail(e, 400, "bad_attestation", "attestation[%zu] is not"
			    " base64 of at most %d bytes", i, WK_ATTEST_CERT_MAX);
			goto out;
		}
	if ((k = EVP_PKEY_new_raw_public_key(slot == WK_ANON_SLOT_BK ?
	    EVP_PKEY_X25519 : EVP_PKEY_ED25519, NULL, pub, 32)) == NULL) {
		iss_fail(e, 400, "bad_key", "not a public key");
		goto out;
	}
	v = wk_attest_verify(a->mfg, (const uint8_t *const *)der, len, n, card_id,
	    slot, k, &f, why, sizeof(why));
	if (v != WK_ATTEST_OK) {
		iss_fail(e, v == WK_ATTEST_MALFORMED ? 400 : 403, "bad_attestation",
		    "key %02x: %s", slot, why);
		goto out;
	}
	if (card_out != NULL)
		memcpy(card_out, f.card_id, 8);
	rc = 0;
out:
	EVP_PKEY_free(k);
	for (size_t i = 0; i < WK_ATTEST_CHAIN_MAX; i++)
		free(der[i]);
	return rc;
}


typedef struct reg {
	const char *code_hash;
	const char *account, *manager, *card_hex;
	char otk_hex[65], idk_hex[65];
	int64_t person;
	uint8_t salt[16];
	char *name, *id_number;
} reg;

static int
reg_tx(iss *is, iss_db *db, void *arg, iss_err *e)
{
	reg *g = arg;
	iss_res *r = NULL;
	char now[40];
	int rc;

	(void)is;
	if ((rc = iss_db_exec(db, "SELECT id, salt, name, id_number FROM"
	    " anon_persons WHERE code_hash = $1", (iss_param[]){
	    ISS_PS(g->code_hash) }, 1, &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	if (iss_res_rows(r) != 1 || wk_hex_decode(iss_res_text(r, 0, 1), g->salt,
	    16) != 16) {
		iss_res_free(&r);
		iss_fail(e, 403, "bad_code", "the registration code is unknown or"
		    " used");
		return -1;
	}
	g->person = iss_res_int(r, 0, 0);
	free(g->name);
	free(g->id_number);
	g->name = strdup(iss_res_text(r, 0, 2));
	g->id_number = strdup(iss_res_text(r, 0, 3));
	iss_res_free(&r);
	if (g->name == NULL || g->id_number == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	iss_now_iso(now, sizeof(now));
	rc = iss_db_exec(db, "INSERT INTO anon_accounts (account, person_id, manager,"
	    " card_id, otk_pub, idk_pub, created_at) VALUES ($1, $2, $3, $4, $5,"
	    " $6, $7)", (iss_param[]){ ISS_PS(g->account), ISS_PI(g->person),
	    ISS_PS(g->manager), ISS_PS(g->card_hex), ISS_PS(g->otk_hex),
	    ISS_PS(g->idk_hex), ISS_PS(now) }, 7, NULL);
	if (rc == ISS_DB_CONFLICT) {
		iss_fail(e, 409, "already_registered", "this account or key is"
		    " registered already");
		return -1;
	}
	if (rc != ISS_DB_OK ||
	    (rc = iss_db_exec(db, "UPDATE anon_persons SET code_hash = NULL WHERE"
	    " id = $1", (iss_param[]){ ISS_PI(g->person) }, 1, NULL)) != ISS_DB_OK ||
	    (rc = oplog(db, "account.register", NULL, g->account, -1,
	    "registered with a one-time code")) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	return 0;
}

int
iss_anon_id_register(iss_anon *a, json_t *req, json_t **resp, iss_err *e)
{
	const char *code = json_string_value(json_object_get(req, "code"));
	uint8_t stmt[WK_ANON_STMT_MAX], otk[32], idk[32], card_id[8], bk[32];
	uint8_t mpk[32], h[32], feat[32];
	char acct[WK_ANON_ACCT_MAX + 1], mgr[WK_ANON_MANAGER_MAX + 1], url[ISS_ANON_URL_MAX];
	char card_hex[17], code_hex[65], fhex[65], spk[65], bpk[65];
	size_t slen, n1, n2;
	reg g;
	int rc = -1;

	memset(&g, 0, sizeof(g));
	if (code == NULL || strlen(code) < 8 || strlen(code) > 128 ||
	    wk_b64_unjson(json_object_get(req, "statement"), stmt, sizeof(stmt),
	    &slen) != 0 ||
	    wk_b64_unjson(json_object_get(req, "otk"), otk, sizeof(otk), &n1) != 0 ||
	    wk_b64_unjson(json_object_get(req, "idk"), idk, sizeof(idk), &n2) != 0 ||
	    n1 != 32 || n2 != 32) {
		iss_fail(e, 400, "bad_request", "a registration is {code, statement,"
		    " otk, idk, attestation_otk, attestation_idk}");
		return -1;
	}
	if (wk_anon_stmt_verify(stmt, slen, NULL, acct, sizeof(acct), card_id, bk) !=
	    WK_ANON_OK || wk_anon_account_manager(acct, mgr, sizeof(mgr)) != 0) {
		iss_fail(e, 400, "bad_statement", "the account statement is malformed");
		return -1;
	}
	if (manager_key(a, mgr, mpk, url, sizeof(url)) != 0) {
		iss_fail(e, 403, "unknown_manager", "%s is no account manager of this"
		    " authority", mgr);
		return -1;
	}
	if (wk_anon_stmt_verify(stmt, slen, mpk, acct, sizeof(acct), card_id, bk) !=
	    WK_ANON_OK) {
		iss_fail(e, 403, "bad_statement", "the account statement is not"
		    " signed by %s", mgr);
		return -1;
	}
	/* the three keys in one genuine card */
	if (iss_anon_check_attestation(a, json_object_get(req, "attestation_otk"),
	    card_id, WK_ANON_SLOT_OTK, otk, NULL, e) != 0 ||
	    iss_anon_check_attestation(a, json_object_get(req, "attestation_idk"),
	    card_id, WK_ANON_SLOT_IDK, idk, NULL, e) != 0)
		return -1;
	crypto_hash_sha256(h, (const uint8_t *)code, strlen(code));
	wk_hex_encode(h, 32, code_hex);
	wk_hex_encode(card_id, 8, card_hex);
	wk_hex_encode(otk, 32, g.otk_hex);
	wk_hex_encode(idk, 32, g.idk_hex);
	g.code_hash = code_hex;
	g.account = acct;
	g.manager = mgr;
	g.card_hex = card_hex;
	if (iss_run_tx(&a->base, reg_tx, &g, e) != 0)
		goto out;
	wk_anon_features(g.salt, g.name, g.id_number, feat);
	wk_hex_encode(feat, 32, fhex);
	wk_hex_encode(a->sign_pk, 32, spk);
	wk_hex_encode(a->kx_pk, 32, bpk);
	if ((*resp = json_pack("{s:s, s:s, s:s, s:s}", "account", acct, "features",
	    fhex, "sign_pub", spk, "box_pub", bpk)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(feat, sizeof(feat));
	if (g.name != NULL) {
		sodium_memzero(g.name, strlen(g.name));
		free(g.name);
	}
	if (g.id_number != NULL) {
		sodium_memzero(g.id_number, strlen(g.id_number));
		free(g.id_number);
	}
	return rc;
}

/* ---- a payment ---- */

typedef struct xfer {
	iss_anon *a;
	const char *from;
	wk_anon_tx tx;
	char txid[65];
	uint8_t txid_bin[32];
	const char *txinfo_b64, *txcred_b64, *idcred_b64, *alias;
	uint8_t status;
	char reason[WK_ANON_REASON_MAX + 1];
	int64_t balance;
	/* out */
	json_t *stored;		/* an existing row's answer */
	uint8_t result[WK_ANON_RES_MAX];
	size_t result_len;
} xfer;

static int
sign_result(iss_anon *a, const uint8_t txid[32], uint8_t status,
    uint64_t amount, int64_t balance, const char *reason, uint8_t *out,
    size_t *len)
{
	wk_anon_result r;

	memset(&r, 0, sizeof(r));
	memcpy(r.txid, txid, 32);
	r.status = status;
	r.amount = amount;
	r.balance = balance;
	r.time = (uint64_t)time(NULL);
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	/* a reason may quote a peer's message: printable ASCII only, or the
	 * card could not parse its result and would stay pending */
	for (char *p = r.reason; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7E)
			*p = '?';
	return wk_anon_result_sign(&r, a->sign_sk, out, WK_ANON_RES_MAX, len);
}

/* the stored answer of a transfer row */
static json_t *
row_answer(iss_res *r, size_t i)
{
	return json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "txid",
	    iss_res_text(r, i, 0), "status", iss_res_text(r, i, 1), "reason",
	    iss_res_text(r, i, 2), "result", iss_res_text(r, i, 3), "payee",
	    iss_res_text(r, i, 4));
}

static int
existing(iss_db *db, const char *txid, json_t **out, iss_err *e)
{
	iss_res *r = NULL;
	int rc;

	*out = NULL;
	if ((rc = iss_db_exec(db, "SELECT txid, status, reason, result, payee"
	    " FROM anon_transfers WHERE txid = $1", (iss_param[]){ ISS_PS(txid) }, 1,
	    &r)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	if (iss_res_rows(r) == 1 && (*out = row_answer(r, 0)) == NULL) {
		iss_res_free(&r);
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	iss_res_free(&r);
	return 0;
}

static int
xfer_tx(iss *is, iss_db *db, void *arg, iss_err *e)
{
	xfer *x = arg;
	iss_res *r = NULL;
	char now[40], *res_b64 = NULL, detail[320];
	const char *status;
	int64_t txn;
	json_t *j;
	int rc;

	(void)is;
	json_decref(x->stored);
	if ((rc = existing(db, x->txid, &x->stored, e)) != 0)
		return rc;
	if (x->stored != NULL)
		return 0;
	iss_now_iso(now, sizeof(now));
	if (x->status == WK_ANON_COMMITTED) {
		/* the debit refuses to overdraw, in this transaction */
		if ((rc = iss_db_exec(db, "UPDATE anon_accounts SET balance = balance -"
		    " $1, last_counter = $2 WHERE account = $3 AND balance >= $1",
		    (iss_param[]){ ISS_PI(x->tx.amount), ISS_PI(x->tx.counter),
		    ISS_PS(x->tx.payer) }, 3, NULL)) != ISS_DB_OK)
			return iss_db_fail(e, db, rc);
		if (iss_db_changes(db) != 1) {
			x->status = WK_ANON_REFUSED;
			snprintf(x->reason, sizeof(x->reason), "insufficient funds");
		}
	}
	if (x->status == WK_ANON_COMMITTED) {
		if ((rc = iss_db_exec(db, "UPDATE anon_accounts SET balance = balance +"
		    " $1 WHERE account = $2", (iss_param[]){ ISS_PI(x->tx.amount),
		    ISS_PS(x->tx.payee) }, 2, NULL)) != ISS_DB_OK)
			return iss_db_fail(e, db, rc);
		if (iss_db_changes(db) != 1) {
			iss_fail(e, 500, "internal", "the payee's ledger account vanished");
			return -1;
		}
		if ((rc = iss_db_exec(db, "INSERT INTO anon_txns (kind, ref, created_at)"
		    " VALUES ('payment', $1, $2) RETURNING id", (iss_param[]){
		    ISS_PS(x->txid), ISS_PS(now) }, 2, &r)) != ISS_DB_OK)
			return iss_db_fail(e, db, rc);
		txn = iss_res_int(r, 0, 0);
		iss_res_free(&r);
		if ((rc = iss_db_exec(db, "INSERT INTO anon_entries (txn_id, account,"
		    " amount) VALUES ($1, $2, $3), ($1, $4, $5)", (iss_param[]){
		    ISS_PI(txn), ISS_PS(x->tx.payer), ISS_PI(-(int64_t)x->tx.amount),
		    ISS_PS(x->tx.payee), ISS_PI(x->tx.amount) }, 5, NULL)) != ISS_DB_OK)
			return iss_db_fail(e, db, rc);
	}
	if ((rc = iss_db_exec(db, "SELECT balance FROM anon_accounts WHERE"
	    " account = $1", (iss_param[]){ ISS_PS(x->tx.payer) }, 1, &r)) !=
	    ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	x->balance = iss_res_rows(r) == 1 ? iss_res_int(r, 0, 0) : 0;
	iss_res_free(&r);
	if (sign_result(x->a, x->txid_bin, x->status, x->tx.amount, x->balance,
	    x->reason, x->result, &x->result_len) != WK_ANON_OK) {
		iss_fail(e, 500, "internal", "cannot sign the result");
		return -1;
	}
	if ((j = wk_b64_json(x->result, x->result_len)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	res_b64 = strdup(json_string_value(j));
	json_decref(j);
	if (res_b64 == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		return -1;
	}
	status = wk_anon_status_name(x->status);
	rc = iss_db_exec(db, "INSERT INTO anon_transfers (txid, status, payer, payee,"
	    " amount, reason, alias, txinfo, txcred, idcred, result, created_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
	    (iss_param[]){ ISS_PS(x->txid), ISS_PS(status), ISS_PS(x->tx.payer),
	    ISS_PS(x->tx.payee), ISS_PI(x->tx.amount), x->reason[0] ?
	    ISS_PS(x->reason) : ISS_PN, ISS_PS(x->alias), ISS_PS(x->txinfo_b64),
	    ISS_PS(x->txcred_b64), ISS_PS(x->idcred_b64), ISS_PS(res_b64),
	    ISS_PS(now) }, 12, NULL);
	free(res_b64);
	if (rc != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	snprintf(detail, sizeof(detail), "%s: %s -> %s%s%s", status, x->tx.payer,
	    x->tx.payee, x->reason[0] ? ": " : "", x->reason);
	if ((rc = oplog(db, x->status == WK_ANON_COMMITTED ? "transfer" :
	    "transfer.refused", x->txid, x->tx.payer, (int64_t)x->tx.amount,
	    detail)) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	return 0;
}

static void
refuse(xfer *x, const char *reason)
{
	if (x->status == WK_ANON_COMMITTED) {
		x->status = WK_ANON_REFUSED;
		snprintf(x->reason, sizeof(x->reason), "%s", reason);
	}
}

/* the checks of the payer's credentials; refuse() on failure */
static int
check_payer(iss_anon *a, iss_db *db, xfer *x, const uint8_t *txinfo,
    size_t txlen, const uint8_t txcred[64], const uint8_t *idcred, size_t idlen,
    iss_err *e)
{
	uint8_t otk[32], idk[32], salt[16], feat[32], want[32];
	iss_res *r = NULL;
	int rc;

	if ((rc = iss_db_exec(db, "SELECT a.otk_pub, a.idk_pub, p.salt, p.name,"
	    " p.id_number, a.last_counter, a.balance FROM anon_accounts a JOIN"
	    " anon_persons p ON p.id = a.person_id WHERE a.account = $1",
	    (iss_param[]){ ISS_PS(x->tx.payer) }, 1, &r)) != ISS_DB_OK) {
		iss_fail_db(e, db, rc);
		return -1;
	}
	if (iss_res_rows(r) != 1) {
		refuse(x, "unknown payer account");
		goto out;
	}
	if (iss_anon_hex32(iss_res_text(r, 0, 0), otk) != 0 ||
	    iss_anon_hex32(iss_res_text(r, 0, 1), idk) != 0 ||
	    wk_hex_decode(iss_res_text(r, 0, 2), salt, 16) != 16) {
		iss_fail(e, 500, "internal", "a registered key is malformed");
		iss_res_free(&r);
		return -1;
	}
	if (crypto_sign_verify_detached(txcred, txinfo, txlen, otk) != 0) {
		refuse(x, "bad transaction credential");
		goto out;
	}
	wk_anon_features(salt, iss_res_text(r, 0, 3), iss_res_text(r, 0, 4), want);
	if (wk_anon_idcred_open(idcred, idlen, a->kx_pk, a->kx_sk, idk,
	    x->txid_bin, feat) != WK_ANON_OK) {
		refuse(x, "bad identity credential");
		goto out;
	}
	if (sodium_memcmp(feat, want, 32) != 0) {
		refuse(x, "the identity credential is not the account holder's");
		goto out;
	}
	if ((int64_t)x->tx.counter <= iss_res_int(r, 0, 5)) {
		refuse(x, "replayed request (its counter was used)");
		goto out;
	}
	if (iss_res_int(r, 0, 6) < (int64_t)x->tx.amount)
		refuse(x, "insufficient funds");
out:
	sodium_memzero(feat, sizeof(feat));
	sodium_memzero(want, sizeof(want));
	iss_res_free(&r);
	return 0;
}

static void
notify(iss_anon *a, const char *mgr, const char *txid, uint8_t status)
{
	uint8_t pk[32];
	char url[ISS_ANON_URL_MAX];
	json_t *ans = NULL;
	iss_err e = { 0 };

	if (manager_key(a, mgr, pk, url, sizeof(url)) != 0)
		return;
	if (iss_anon_peer_call(a, url, "/v1/anon/peer/notify", pk,
	    json_pack("{s:s, s:s}", "txid", txid, "status",
	    wk_anon_status_name(status)), &ans, &e) != 0)
		fprintf(stderr, "walletkey-issuer: notify %s of %s: %s\n", mgr, txid,
		    e.message);
	json_decref(ans);
}

static int
transfer(iss_anon *a, const char *from, json_t *b, json_t **out, iss_err *e)
{
	uint8_t txinfo[WK_ANON_TXINFO_MAX], txcred[72], idcred[WK_ANON_IDCRED_LEN + 8];
	uint8_t ppk[32];
	char mgr[WK_ANON_MANAGER_MAX + 1], pmgr[WK_ANON_MANAGER_MAX + 1] = "";
	char url[ISS_ANON_URL_MAX];
	size_t txlen, clen, idlen;
	struct timespec t0, t1;
	double payee_ms = 0;
	iss_db *db = NULL;
	iss_res *r = NULL;
	json_t *ans = NULL;
	iss_err pe = { 0 };
	xfer x;
	int rc = -1;

	memset(&x, 0, sizeof(x));
	x.a = a;
	x.from = from;
	x.status = WK_ANON_COMMITTED;
	x.txinfo_b64 = json_string_value(json_object_get(b, "txinfo"));
	x.txcred_b64 = json_string_value(json_object_get(b, "txcred"));
	x.idcred_b64 = json_string_value(json_object_get(b, "idcred"));
	x.alias = json_string_value(json_object_get(b, "alias"));
	if (x.alias == NULL || strlen(x.alias) != 32 ||
	    wk_b64_unjson(json_object_get(b, "txinfo"), txinfo, sizeof(txinfo),
	    &txlen) != 0 || wk_b64_unjson(json_object_get(b, "txcred"), txcred,
	    sizeof(txcred), &clen) != 0 || clen != 64 ||
	    wk_b64_unjson(json_object_get(b, "idcred"), idcred, sizeof(idcred),
	    &idlen) != 0 || wk_anon_tx_decode(txinfo, txlen, &x.tx) != WK_ANON_OK) {
		iss_fail(e, 400, "bad_request", "a transfer is {txinfo, txcred, idcred,"
		    " alias} of a well-formed payment");
		return -1;
	}
	wk_anon_txid(txinfo, txlen, x.txid_bin);
	wk_hex_encode(x.txid_bin, 32, x.txid);
	if (wk_anon_account_manager(x.tx.payer, mgr, sizeof(mgr)) != 0 ||
	    strcmp(mgr, from) != 0) {
		iss_fail(e, 403, "not_your_account", "%s does not manage %s", from,
		    x.tx.payer);
		return -1;
	}
	if ((db = iss_pool_get(a->base.pool)) == NULL) {
		iss_fail(e, 503, "busy", "the authority cannot reach its database");
		return -1;
	}
	/* the same request again gets the same answer */
	if (existing(db, x.txid, &x.stored, e) != 0)
		goto out;
	if (x.stored != NULL)
		goto answer;
	if (check_payer(a, db, &x, txinfo, txlen, txcred, idcred, idlen, e) != 0)
		goto out;
	if (x.status == WK_ANON_COMMITTED) {
		if (iss_db_exec(db, "SELECT manager FROM anon_accounts WHERE account ="
		    " $1", (iss_param[]){ ISS_PS(x.tx.payee) }, 1, &r) != ISS_DB_OK) {
			iss_fail_db(e, db, ISS_DB_ERROR);
			goto out;
		}
		if (iss_res_rows(r) != 1)
			refuse(&x, "unknown payee");
		else
			snprintf(pmgr, sizeof(pmgr), "%s", iss_res_text(r, 0, 0));
		iss_res_free(&r);
	}
	iss_pool_put(a->base.pool, db);
	db = NULL;
	/* step 3-4: the payee's manager checks the payee */
	if (x.status == WK_ANON_COMMITTED &&
	    manager_key(a, pmgr, ppk, url, sizeof(url)) != 0)
		refuse(&x, "the payee's account manager is unknown");
	if (x.status == WK_ANON_COMMITTED) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = iss_anon_peer_call(a, url, "/v1/anon/peer/check-payee", ppk,
		    json_pack("{s:s, s:s, s:I, s:s}", "txid", x.txid, "payee",
		    x.tx.payee, "amount", (json_int_t)x.tx.amount, "alias", x.alias),
		    &ans, &pe);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		payee_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (rc != 0 && pe.status >= 500) {
			refuse(&x, "the payee's account manager cannot be reached");
		} else if (rc != 0) {
			char why[WK_ANON_REASON_MAX + 1];

			snprintf(why, sizeof(why), "payee: %.100s", pe.message);
			refuse(&x, why);
		}
		json_decref(ans);
		ans = NULL;
		rc = -1;
	}
	iss_anon_fault("anon.identity.before_commit");
	/* step 5: the ledger, in one transaction */
	if (iss_run_tx(&a->base, xfer_tx, &x, e) != 0)
		goto out;
	iss_anon_fault("anon.identity.after_commit");
	if (x.stored == NULL && x.status == WK_ANON_COMMITTED)
		notify(a, pmgr, x.txid, x.status);
	else if (x.stored == NULL && x.status != WK_ANON_COMMITTED &&
	    pmgr[0] != '\0')
		notify(a, pmgr, x.txid, x.status);
answer:
	if (x.stored != NULL) {
		*out = x.stored;
		x.stored = NULL;
	} else if ((*out = json_pack("{s:s, s:s, s:s, s:o, s:I, s:f}", "txid",
	    x.txid, "status", wk_anon_status_name(x.status), "reason", x.reason,
	    "result", wk_b64_json(x.result, x.result_len), "balance",
	    (json_int_t)x.balance, "payee_ms", payee_ms)) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(x.stored);
	if (db != NULL)
		iss_pool_put(a->base.pool, db);
	return rc;
}

typedef struct voidx {
	iss_anon *a;
	const char *txid;
	uint8_t bin[32];
	json_t *stored;
	uint8_t result[WK_ANON_RES_MAX];
	size_t len;
} voidx;

static int
void_tx(iss *is, iss_db *db, void *arg, iss_err *e)
{
	voidx *v = arg;
	char now[40];
	json_t *j;
	int rc;

	(void)is;
	json_decref(v->stored);
	if ((rc = existing(db, v->txid, &v->stored, e)) != 0 || v->stored != NULL)
		return rc;
	if (sign_result(v->a, v->bin, WK_ANON_VOID, 0, 0,
	    "the payment never reached the ledger", v->result, &v->len) !=
	    WK_ANON_OK || (j = wk_b64_json(v->result, v->len)) == NULL) {
		iss_fail(e, 500, "internal", "cannot sign the result");
		return -1;
	}
	iss_now_iso(now, sizeof(now));
	rc = iss_db_exec(db, "INSERT INTO anon_transfers (txid, status, reason,"
	    " result, created_at) VALUES ($1, 'void', $2, $3, $4)", (iss_param[]){
	    ISS_PS(v->txid), ISS_PS("the payment never reached the ledger"),
	    ISS_PS(json_string_value(j)), ISS_PS(now) }, 4, NULL);
	json_decref(j);
	if (rc != ISS_DB_OK || (rc = oplog(db, "transfer.void", v->txid, NULL, -1,
	    "asked after before it arrived: it can never commit")) != ISS_DB_OK)
		return iss_db_fail(e, db, rc);
	return 0;
}

static int
status(iss_anon *a, const char *from, json_t *b, json_t **out, iss_err *e)
{
	const char *txid = json_string_value(json_object_get(b, "txid"));
	const char *payee;
	char m1[WK_ANON_MANAGER_MAX + 1] = "", m2[WK_ANON_MANAGER_MAX + 1] = "";
	iss_db *db;
	iss_res *r = NULL;
	voidx v;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	if (txid == NULL || strlen(txid) != 64 || wk_hex_decode(txid, v.bin, 32) !=
	    32) {
		iss_fail(e, 400, "bad_request", "a status request is {txid}");
		return -1;
	}
	if ((db = iss_pool_get(a->base.pool)) == NULL) {
		iss_fail(e, 503, "busy", "the authority cannot reach its database");
		return -1;
	}
	rc = iss_db_exec(db, "SELECT payer, payee FROM anon_transfers WHERE txid = $1",
	    (iss_param[]){ ISS_PS(txid) }, 1, &r);
	iss_pool_put(a->base.pool, db);
	if (rc != ISS_DB_OK) {
		iss_fail(e, 500, "internal", "the authority's database failed");
		return -1;
	}
	rc = -1;
	if (iss_res_rows(r) == 1 && iss_res_text(r, 0, 0) != NULL) {
		(void)wk_anon_account_manager(iss_res_text(r, 0, 0), m1, sizeof(m1));
		payee = iss_res_text(r, 0, 1);
		if (payee != NULL)
			(void)wk_anon_account_manager(payee, m2, sizeof(m2));
		if (strcmp(m1, from) != 0 && strcmp(m2, from) != 0) {
			iss_res_free(&r);
			iss_fail(e, 403, "not_your_account", "the payment is not one of"
			    " %s's accounts", from);
			return -1;
		}
	}
	iss_res_free(&r);
	v.a = a;
	v.txid = txid;
	if (iss_run_tx(&a->base, void_tx, &v, e) != 0)
		goto out;
	if (v.stored != NULL) {
		*out = v.stored;
		v.stored = NULL;
	} else if ((*out = json_pack("{s:s, s:s, s:s, s:o}", "txid", txid, "status",
	    "void", "reason", "the payment never reached the ledger", "result",
	    wk_b64_json(v.result, v.len))) == NULL) {
		iss_fail(e, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(v.stored);
	return rc;
}

static int
balance(iss_anon *a, const char *from, json_t *b, json_t **out, iss_err *e)
{
	const char *acct = json_string_value(json_object_get(b, "account"));
	char mgr[WK_ANON_MANAGER_MAX + 1];
	iss_db *db;
	iss_res *r = NULL;
	int rc = -1;

	if (acct == NULL || wk_anon_account_manager(acct, mgr, sizeof(mgr)) != 0 ||
	    strcmp(mgr, from) != 0) {
		iss_fail(e, 403, "not_your_account", "not an account of %s", from);
		return -1;
	}
	if ((db = iss_pool_get(a->base.pool)) == NULL) {
		iss_fail(e, 503, "busy", "the authority cannot reach its database");
		return -1;
	}
	if (iss_db_exec(db, "SELECT balance FROM anon_accounts WHERE account = $1",
	    (iss_param[]){ ISS_PS(acct) }, 1, &r) != ISS_DB_OK)
		iss_fail(e, 500, "internal", "the authority's database failed");
	else if (iss_res_rows(r) != 1)
		iss_fail(e, 404, "unknown_account", "%s is not registered", acct);
	else if ((*out = json_pack("{s:s, s:I}", "account", acct, "balance",
	    (json_int_t)iss_res_int(r, 0, 0))) != NULL)
		rc = 0;
	iss_res_free(&r);
	iss_pool_put(a->base.pool, db);
	return rc;
}

int
iss_anon_id_peer(iss_anon *a, const char *path, json_t *req, json_t **resp,
    iss_err *e)
{
	char from[WK_ANON_MANAGER_MAX + 1], sig[128];
	json_t *b = NULL, *ans = NULL;
	int rc = -1;

	if (iss_anon_peer_open(a, path, req, manager_key, from, sizeof(from), &b,
	    sig, sizeof(sig), e) != 0)
		return -1;
	if (strcmp(path, "/v1/anon/peer/transfer") == 0)
		rc = transfer(a, from, b, &ans, e);
	else if (strcmp(path, "/v1/anon/peer/status") == 0)
		rc = status(a, from, b, &ans, e);
	else if (strcmp(path, "/v1/anon/peer/balance") == 0)
		rc = balance(a, from, b, &ans, e);
	else
		iss_fail(e, 404, "not_found", "no such resource: %.100s", path);
	if (rc == 0) {
		*resp = iss_anon_peer_answer(a, path, sig, ans);
		ans = NULL;
		if (*resp == NULL) {
			iss_fail(e, 500, "internal", "out of memory");
			rc = -1;
		}
	}
	json_decref(ans);
	json_decref(b);
	return rc;
}
