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

int
cmd_deposit(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	uint32_t amount;
	int rc = 1;

	if (o->pan == NULL || !iss_cli_parse_u32(o->amount, &amount) || amount == 0) {
		fprintf(stderr, "walletkey-issuer: deposit needs --pan and --amount"
		    " (1..2147483647 fen)\n");
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if (iss_deposit(db, o->pan, amount, &e) != 0) {
		rc = iss_cli_err(&e);
	} else {
		printf("deposited %u to %s\n", amount, o->pan);
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
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

int
cmd_merchant_cert(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	char fp[65];
	int rc = 1;

	if (o->terminal == NULL || o->client_cert == NULL) {
		fprintf(stderr, "walletkey-issuer: merchant-cert needs --terminal ID"
		    " and --client-cert PEM\n");
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if (iss_merchant_cert_add(db, o->terminal, o->client_cert, fp, sizeof(fp),
	    &e) != 0) {
		rc = iss_cli_err(&e);
	} else {
		if (o->json)
			printf("{\"terminal\":\"%s\",\"client_cert\":\"%s\"}\n",
			    o->terminal, fp);
		else
			printf("client certificate %s registered for terminal %s\n",
			    fp, o->terminal);
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}

int
cmd_merchant_webhook(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	int rc = 1;

	if (o->terminal == NULL || (o->webhook == NULL) == !o->none) {
		fprintf(stderr, "walletkey-issuer: merchant-webhook needs --terminal"
		    " ID and --webhook URL or --none\n");
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if (iss_merchant_webhook(db, o->terminal, o->webhook, &e) != 0) {
		rc = iss_cli_err(&e);
	} else {
		if (o->json)
			printf("{\"terminal\":\"%s\",\"webhook\":%s%s%s}\n",
			    o->terminal, o->webhook ? "\"" : "",
			    o->webhook ? o->webhook : "null", o->webhook ? "\"" : "");
		else
			printf("webhook of terminal %s: %s\n", o->terminal,
			    o->webhook ? o->webhook : "none");
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}

int
cmd_alias_create(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	char alias[80];
	int rc = 1;

	if (o->pan == NULL) {
		fprintf(stderr, "walletkey-issuer: alias-create needs --pan PAN\n");
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if (iss_alias_create(db, o->pan, o->alias, o->label, alias, sizeof(alias),
	    &e) != 0) {
		rc = iss_cli_err(&e);
	} else {
		if (o->json)
			printf("{\"alias\":\"%s\"}\n", alias);
		else
			printf("%s\n", alias);
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
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

int
cmd_revoke(const opts *o)
{
	iss_db *db = NULL;
	iss_err e = { 0 };
	int rc = 1;

	if (o->card == NULL) {
		fprintf(stderr, "walletkey-issuer: revoke needs --card CARD_ID\n");
		return 2;
	}
	if (iss_cli_open_db(o, &db) != 0)
		return 1;
	if (iss_card_revoke(db, o->card, &e) != 0) {
		rc = iss_cli_err(&e);
	} else {
		printf("card %s revoked\n", o->card);
		rc = 0;
	}
	iss_db_free(&db);
	return rc;
}
