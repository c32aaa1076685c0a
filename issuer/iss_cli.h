/*
 * walletkey-issuer, the program (docs/issuer.md): main.c parses the
 * options, prints the listings and dispatches; the commands are one file
 * per group (iss_cli_setup.c, iss_cli_bank.c, iss_cli_card.c)
 */
#ifndef ISS_CLI_H
#define ISS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "iss.h"

typedef struct opts {
	const char *db;
	const char *listen;
	const char *tls_cert;
	const char *tls_key;
	const char *key_file;
	const char *passphrase_env;
	const char *password_env;
	const char *pan;
	const char *name;
	const char *card;
	const char *terminal;
	const char *out;
	const char *amount;
	const char *ceiling;
	const char *pool;
	const char *cert;
	const char *mfg_ca;
	const char *fingerprint;
	const char *request;
	const char *webhook;
	const char *client_cert;
	const char *client_ca;
	const char *revoke;
	const char *alias;
	const char *label;
	bool api_key;
	bool none;
	const char *sm4;
	const char *session_ttl;
	const char *hash_concurrency;
	/* semi-anonymous roles (docs/semi-anonymous.md) */
	const char *role, *manager_id, *authority_url, *authority_pubkey;
	const char *id_number, *account, *manager, *url, *pubkey, *limit, *daily;
	const char *state, *case_id, *txid, *order, *operator_name, *approver;
	const char *approver_password_env;
	bool json;
	bool exists_ok;
} opts;

/* the master key unlock of o (--key-file or --passphrase-env); -1 with
 * the reason printed */
int iss_cli_unlock(const opts *o, iss_unlock *u);
/* a decimal number 0 to 2^31 - 1 */
bool iss_cli_parse_u32(const char *s, uint32_t *v);
/* e printed as "walletkey-issuer: CODE: MESSAGE"; the exit status for
 * it: 2 for a refused request (4xx), 1 for a failure */
int iss_cli_err(const iss_err *e);
/* the database of --db; -1 with the reason printed */
int iss_cli_open_db(const opts *o, iss_db **db);

/* iss_cli_setup.c */
int cmd_init(const opts *o);
int cmd_key_algorithms(const opts *o);
int cmd_migrate(const opts *o);
int cmd_serve(const opts *o);

/* iss_cli_bank.c */
int cmd_account_create(const opts *o);
int cmd_deposit(const opts *o);
int cmd_merchant_create(const opts *o);
int cmd_merchant_key(const opts *o);
int cmd_merchant_cert(const opts *o);
int cmd_merchant_webhook(const opts *o);
int cmd_alias_create(const opts *o);
int cmd_manufacturer_add(const opts *o);
int cmd_manufacturers(const opts *o);
int cmd_manufacturer_remove(const opts *o);
int cmd_revoke(const opts *o);

/* iss_cli_card.c */
int cmd_psam_issue(const opts *o);
int cmd_purse_unblock(const opts *o);
int cmd_pin_unblock(const opts *o);
#endif
