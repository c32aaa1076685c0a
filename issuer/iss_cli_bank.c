/* walletkey-issuer's bank operator commands: accounts, deposits,
 * merchants and their keys, certificates and webhooks, aliases, the
 * manufacturers trusted, card revocation */
#include "iss_cli.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"

#define FINGERPRINT_LEN 65	/* a certificate's SHA-256, hex */
#define ALIAS_MAX 80

/*
 * the skeleton of a bank command that makes one change: usage (set when
 * the arguments are wrong) printed and 2; else the database opened, call
 * run, its refusal reported (iss_cli_err) or print run, the database
 * closed. out is what call leaves for print.
 */
typedef int bank_call_fn(iss_db *db, const opts *o, void *out, iss_err *e);
typedef void bank_print_fn(const opts *o, const void *out);

static int
bank_cmd(const opts *o, const char *usage, bank_call_fn *call,
    bank_print_fn *print, void *out)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	int rc = 0;

	if (usage != NULL) {
		fprintf(stderr, "walletkey-issuer: %s\n", usage);
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if (call(db, o, out, &e) != 0)
		rc = iss_cli_err(&e);
	else
		print(o, out);
	iss_db_free(&db);
	return rc;
}

static char *
read_secret_env(const char *var)
{
	const char *v = var ? getenv(var) : NULL;

	return v ? strdup(v) : NULL;
}

int
cmd_account_create(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	char *pw;
	int64_t id;
	int rc = 1;

	if (o->pan == NULL || o->name == NULL || o->password_env == NULL) {
		fprintf(stderr, "walletkey-issuer: account-create needs --pan, --name"
		    " and --password-env\n");
		return 2;
	}
	if ((pw = read_secret_env(o->password_env)) == NULL) {
		fprintf(stderr, "walletkey-issuer: $%s is not set\n", o->password_env);
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		goto out;
	if (iss_account_create(db, o->pan, o->name, pw, &id, &e) != 0) {
		rc = iss_cli_err(&e);
		goto out;
	}
	if (o->json)
		printf("{\"id\":%" PRId64 ",\"pan\":\"%s\"}\n", id, o->pan);
	else
		printf("account %" PRId64 " created for PAN %s\n", id, o->pan);
	rc = 0;
out:
	sodium_memzero(pw, strlen(pw));
	free(pw);
	iss_db_free(&db);
	return rc;
}

static int
deposit_call(iss_db *db, const opts *o, void *out, iss_err *e)
{
	return iss_deposit(db, o->pan, *(const uint32_t *)out, e);
}

static void
deposit_print(const opts *o, const void *out)
{
	printf("deposited %u to %s\n", *(const uint32_t *)out, o->pan);
}

int
cmd_deposit(const opts *o)
{
	uint32_t amount = 0;
	bool ok = o->pan != NULL && iss_cli_parse_u32(o->amount, &amount) &&
	    amount != 0;

	return bank_cmd(o, ok ? NULL : "deposit needs --pan and --amount"
	    " (1..2147483647 fen)", deposit_call, deposit_print, &amount);
}

int
cmd_merchant_create(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	json_t *j = NULL;
	char key[96] = "", fp[65] = "";
	int64_t id;
	int rc = 1;

	if (o->terminal == NULL) {
		fprintf(stderr, "walletkey-issuer: merchant-create needs --terminal"
		    " (12 hex digits)\n");
		return 2;
	}
	/* bad input changes nothing: the credentials are checked before the
	 * merchant is made */
	if (iss_merchant_webhook_check(o->webhook, &e) != 0 ||
	    (o->client_cert != NULL &&
	    iss_merchant_cert_check(o->client_cert, &e) != 0)) {
		fprintf(stderr, "walletkey-issuer: %s: %s\n", e.code, e.message);
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if (iss_merchant_create(db, o->terminal, o->name, &id, &e) != 0)
		goto fail;
	/* each credential in its own transaction: the merchant stays made */
	if ((o->webhook != NULL && iss_merchant_webhook(db, o->terminal,
	    o->webhook, &e) != 0) ||
	    (o->client_cert != NULL && iss_merchant_cert_add(db, o->terminal,
	    o->client_cert, fp, sizeof(fp), &e) != 0) ||
	    (o->api_key && iss_merchant_key_new(db, o->terminal, key, sizeof(key),
	    &e) != 0))
		goto fail;
	if (o->json) {
		j = json_pack("{s:I, s:s}", "id", (json_int_t)id, "terminal",
		    o->terminal);
		if (j != NULL && key[0] != '\0')
			json_object_set_new(j, "api_key", json_string(key));
		if (j != NULL && fp[0] != '\0')
			json_object_set_new(j, "client_cert", json_string(fp));
		if (j != NULL)
			json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		printf("merchant account %" PRId64 " created for terminal %s\n", id,
		    o->terminal);
		if (fp[0] != '\0')
			printf("client certificate %s\n", fp);
		if (key[0] != '\0')
			printf("API key (shown once): %s\n", key);
	}
	rc = 0;
	goto out;
fail:
	rc = iss_cli_err(&e);
out:
	sodium_memzero(key, sizeof(key));
	json_decref(j);
	iss_db_free(&db);
	return rc;
}

int
cmd_merchant_key(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	char key[96] = "";
	int rc = 1;

	if ((o->terminal == NULL) == (o->revoke == NULL)) {
		fprintf(stderr, "walletkey-issuer: merchant-key needs --terminal ID"
		    " or --revoke KEY_ID\n");
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if (o->revoke != NULL) {
		if (iss_merchant_key_revoke(db, o->revoke, &e) != 0)
			goto fail;
		if (o->json)
			printf("{\"revoked\":\"%s\"}\n", o->revoke);
		else
			printf("API key %s revoked\n", o->revoke);
	} else {
		if (iss_merchant_key_new(db, o->terminal, key, sizeof(key), &e) != 0)
			goto fail;
		if (o->json)
			printf("{\"terminal\":\"%s\",\"api_key\":\"%s\"}\n",
			    o->terminal, key);
		else
			printf("API key (shown once): %s\n", key);
	}
	rc = 0;
	goto out;
fail:
	rc = iss_cli_err(&e);
out:
	sodium_memzero(key, sizeof(key));
	iss_db_free(&db);
	return rc;
}

static int
cert_call(iss_db *db, const opts *o, void *out, iss_err *e)
{
	return iss_merchant_cert_add(db, o->terminal, o->client_cert, out, FINGERPRINT_LEN, e);
}

static void
cert_print(const opts *o, const void *out)
{
	const char *fp = out;

	if (o->json)
		printf("{\"terminal\":\"%s\",\"client_cert\":\"%s\"}\n",
		    o->terminal, fp);
	else
		printf("client certificate %s registered for terminal %s\n", fp,
		    o->terminal);
}

int
cmd_merchant_cert(const opts *o)
{
	char fp[FINGERPRINT_LEN];

	return bank_cmd(o, o->terminal == NULL || o->client_cert == NULL ?
	    "merchant-cert needs --terminal ID and --client-cert PEM" : NULL,
	    cert_call, cert_print, fp);
}

static int
webhook_call(iss_db *db, const opts *o, void *out, iss_err *e)
{
	(void)out;
	return iss_merchant_webhook(db, o->terminal, o->webhook, e);
}

static void
webhook_print(const opts *o, const void *out)
{
	(void)out;
	if (o->json)
		printf("{\"terminal\":\"%s\",\"webhook\":%s%s%s}\n",
		    o->terminal, o->webhook ? "\"" : "",
		    o->webhook ? o->webhook : "null", o->webhook ? "\"" : "");
	else
		printf("webhook of terminal %s: %s\n", o->terminal,
		    o->webhook ? o->webhook : "none");
}

int
cmd_merchant_webhook(const opts *o)
{
	return bank_cmd(o, o->terminal == NULL || (o->webhook == NULL) ==
	    !o->none ? "merchant-webhook needs --terminal ID and --webhook URL"
	    " or --none" : NULL, webhook_call, webhook_print, NULL);
}

static int
alias_call(iss_db *db, const opts *o, void *out, iss_err *e)
{
	return iss_alias_create(db, o->pan, o->alias, o->label, out, ALIAS_MAX, e);
}

static void
alias_print(const opts *o, const void *out)
{
	if (o->json)
		printf("{\"alias\":\"%s\"}\n", (const char *)out);
	else
		printf("%s\n", (const char *)out);
}

int
cmd_alias_create(const opts *o)
{
	char alias[ALIAS_MAX];

	return bank_cmd(o, o->pan == NULL ? "alias-create needs --pan PAN" :
	    NULL, alias_call, alias_print, alias);
}

int
cmd_manufacturer_add(const opts *o)
{
	iss_unlock u;
	iss_db *db = NULL;
	char err[512];
	size_t added;
	int rc = 1;

	if (o->cert == NULL) {
		fprintf(stderr, "walletkey-issuer: manufacturer-add needs --cert PEM\n");
		return 2;
	}
	if (iss_cli_unlock(o, &u) != 0)
		return 2;
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if ((rc = iss_mfg_add(db, &u, o->cert, &added, err, sizeof(err))) != 0) {
		fprintf(stderr, "walletkey-issuer: manufacturer-add: %s\n", err);
		rc = rc == -2 ? 2 : 1;
		goto out;
	}
	if (o->json)
		printf("{\"added\":%zu}\n", added);
	else
		printf("%zu card manufacturer CA(s) added; restart the servers to"
		    " use them\n", added);
	rc = 0;
out:
	iss_db_free(&db);
	return rc;
}

int
cmd_manufacturers(const opts *o)
{
	iss_unlock u;
	iss_db *db = NULL;
	json_t *a = NULL, *v;
	char err[512];
	size_t i;
	int rc = 1;

	if (iss_cli_unlock(o, &u) != 0)
		return 2;
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if (iss_mfg_list(db, &u, &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey-issuer: manufacturers: %s\n", err);
		goto out;
	}
	if (o->json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("fingerprint\tnot_after\tsubject\n");
		json_array_foreach(a, i, v)
			printf("%s\t%s\t%s\n",
			    json_string_value(json_object_get(v, "fingerprint")),
			    json_is_string(json_object_get(v, "not_after")) ?
			    json_string_value(json_object_get(v, "not_after")) : "-",
			    json_string_value(json_object_get(v, "subject")));
	}
	rc = 0;
out:
	json_decref(a);
	iss_db_free(&db);
	return rc;
}

int
cmd_manufacturer_remove(const opts *o)
{
	iss_db *db = NULL;
	char err[512];
	int rc = 1;

	if (o->fingerprint == NULL) {
		fprintf(stderr, "walletkey-issuer: manufacturer-remove needs"
		    " --fingerprint SHA256 (see manufacturers)\n");
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if ((rc = iss_mfg_remove(db, o->fingerprint, err, sizeof(err))) != 0) {
		fprintf(stderr, "walletkey-issuer: manufacturer-remove: %s\n", err);
		rc = rc == -2 ? 2 : 1;
		goto out;
	}
	if (o->json)
		printf("{\"removed\":\"%s\"}\n", o->fingerprint);
	else
		printf("manufacturer CA %s removed; restart the servers\n",
		    o->fingerprint);
	rc = 0;
out:
	iss_db_free(&db);
	return rc;
}

static int
revoke_call(iss_db *db, const opts *o, void *out, iss_err *e)
{
	(void)out;
	return iss_card_revoke(db, o->card, e);
}

static void
revoke_print(const opts *o, const void *out)
{
	(void)out;
	printf("card %s revoked\n", o->card);
}

int
cmd_revoke(const opts *o)
{
	return bank_cmd(o, o->card == NULL ? "revoke needs --card CARD_ID" :
	    NULL, revoke_call, revoke_print, NULL);
}
