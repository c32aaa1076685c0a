/*
 * walletkey anon: semi-anonymous payments (docs/semi-anonymous.md). Each
 * subcommand wraps one libwalletkey call; the flows live there.
 */
#include "cli.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wallet_reports.h"

#define ENV_MAX 1024

typedef struct aopts {
	const char *manager, *authority, *code, *to, *amount, *pin_file;
	const char *request_out, *request;
} aopts;

static const char usage_text[] =
    "usage: walletkey anon SUBCOMMAND [OPTIONS] [--json]\n"
    "  info                         the card's account, counter, pending payment\n"
    "  enrol --manager URL --authority URL --code CODE\n"
    "                               keys on the card, an account at the manager,\n"
    "                               registration with the identity authority\n"
    "  pay --manager URL --to ACCOUNT --amount FEN [--request-out FILE]\n"
    "                               one payment; with --request-out the card's\n"
    "                               request is only built and written\n"
    "  submit --manager URL --request FILE   send a request built before\n"
    "  recover --manager URL        settle the pending payment\n"
    "  history --manager URL        the account's payments at its manager\n"
    "options: --pin-file FILE (or WALLETKEY_PIN; else asked without echo), the\n"
    "  purse PIN\n";

static int
read_pin(const aopts *o, char *pin, size_t cap, size_t *len)
{
	char line[32];
	const char *v;
	size_t n = 0;
	int rc = WK_OK;

	if (o->pin_file != NULL) {
		FILE *f = fopen(o->pin_file, "r");

		if (f == NULL || fgets(line, sizeof(line), f) == NULL)
			rc = WK_ERR_IO;
		if (f != NULL)
			fclose(f);
		n = rc == WK_OK ? strcspn(line, "\r\n") : 0;
	} else if ((v = getenv("WALLETKEY_PIN")) != NULL) {
		n = strlen(v);
		if (n >= sizeof(line))
			rc = WK_ERR_ARG;
		else
			memcpy(line, v, n);
	} else {
		rc = wk_cli_read_tty("purse PIN", line, sizeof(line), &n);
	}
	if (rc == WK_OK && (n == 0 || n >= cap))
		rc = WK_ERR_ARG;
	if (rc == WK_OK) {
		memcpy(pin, line, n);
		*len = n;
	}
	sodium_memzero(line, sizeof(line));
	return rc;
}

static void
progress(void *arg, wk_anon_step step, const char *detail)
{
	static const char *const names[] = { "", "PIN verified",
	    "keys on the card", "attestations read", "account opened",
	    "registered with the identity authority", "request built by the card",
	    "manager answered", "result taken by the card" };
	/* the crash tests' hook (docs/remote-load.md): WALLETKEY_FAULT_AT=
	 * anon-STEP kills this process there, or runs WALLETKEY_FAULT_CMD (a
	 * card-kill) */
	static const char *const points[] = { "", "anon-pin", "anon-keys",
	    "anon-attested", "anon-account", "anon-registered", "anon-request",
	    "anon-sent", "anon-result" };
	wk_cli *cli = arg;

	if (step >= 1 && step <= WK_ANON_STEP_RESULT)
		wallet_fault_point(points[step]);
	if (cli->json || step < 1 || step > WK_ANON_STEP_RESULT)
		return;
	fprintf(stderr, "  %s%s%s\n", names[step], detail ? ": " : "",
	    detail ? detail : "");
}

static int
fail(wk_cli *cli, const char *what, int rc, const wk_anon_error *err,
    const wk_anon_payment *p)
{
	if (err == NULL || (err->code[0] == '\0' && err->message[0] == '\0'))
		return wk_cli_fail(cli, what, rc);
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:i}", "error", err->code,
		    "message", err->message, "what", what, "http_status",
		    (int)err->http_status);

		if (p != NULL && p->txid[0] != '\0')
			json_object_set_new(j, "txid", json_string(p->txid));
		if (p != NULL && p->status != 0)
			json_object_set_new(j, "status", json_integer(p->status));
		wk_cli_json_print(j);
	} else {
		fprintf(stderr, "walletkey: %s: %s%s%s%s\n", what, err->message,
		    err->code[0] ? " (" : "", err->code[0] ? err->code : "",
		    err->code[0] ? ")" : "");
	}
	return WK_CLI_FAILED;
}

static json_t *
payment_json(const wk_anon_payment *p)
{
	static const char *const st[] = { "unknown", "committed", "refused", "void" };

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:{s:f, s:f, s:f,"
	    " s:f, s:f}}", "txid", p->txid, "status", st[p->status & 3], "reason",
	    p->reason, "payee", p->payee, "alias", p->alias, "amount",
	    (json_int_t)p->amount, "balance", (json_int_t)p->balance, "timing",
	    "card_ms", p->card_ms, "manager_ms", p->manager_ms, "authority_ms",
	    p->authority_ms, "payee_manager_ms", p->payee_manager_ms, "total_ms",
	    p->total_ms);
}

static int
cmd_info(wk_cli *cli, wk_card *card)
{
	wk_anon_info in;
	int rc;

	if ((rc = wk_anon_get_info(card, &in)) != WK_OK)
		return wk_cli_fail(cli, "anon info", rc);
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:b, s:b, s:b, s:b, s:I, s:s,"
		    " s:s?}", "keys", in.keys, "account", in.account, "registered",
		    in.authority, "pending", in.pending, "counter",
		    (json_int_t)in.counter, "account_id", in.account_id,
		    "pending_txid", in.pending ? in.pending_txid : NULL));
	printf("keys:       %s\naccount:    %s\nregistered: %s\ncounter:    %"
	    PRIu64 "\npending:    %s\n", in.keys ? "yes" : "no",
	    in.account ? in.account_id : "none", in.authority ? "yes" : "no",
	    in.counter, in.pending ? in.pending_txid : "none");
	return WK_CLI_OK;
}

static int
write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, p, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

int wk_cmd_anon(wk_cli *cli, int argc, char **argv);

int
wk_cmd_anon(wk_cli *cli, int argc, char **argv)
{
	aopts o = { 0 };
	wk_card *card = NULL;
	wk_anon_error err;
	wk_anon_payment p;
	char pin[32], account[WK_ANON_ACCOUNT_MAX + 1];
	size_t pin_len = 0;
	const char *sub;
	int rc, ret = WK_CLI_FAILED;

	memset(&err, 0, sizeof(err));
	memset(&p, 0, sizeof(p));
	if ((rc = wk_cli_group_usage(argc, argv, usage_text, true)) >= 0)
		return rc;
	sub = argv[1];
	for (int i = 2; i < argc; i++) {
		const char **dst = NULL;

		if (strcmp(argv[i], "--manager") == 0)
			dst = &o.manager;
		else if (strcmp(argv[i], "--authority") == 0)
			dst = &o.authority;
		else if (strcmp(argv[i], "--code") == 0)
			dst = &o.code;
		else if (strcmp(argv[i], "--to") == 0)
			dst = &o.to;
		else if (strcmp(argv[i], "--amount") == 0)
			dst = &o.amount;
		else if (strcmp(argv[i], "--pin-file") == 0)
			dst = &o.pin_file;
		else if (strcmp(argv[i], "--request-out") == 0)
			dst = &o.request_out;
		else if (strcmp(argv[i], "--request") == 0)
			dst = &o.request;
		else
			return wk_cli_usage(cli, "anon %s: unexpected %s", sub, argv[i]);
		if (++i >= argc)
			return wk_cli_usage(cli, "%s needs a value", argv[i - 1]);
		*dst = argv[i];
	}
	if (strcmp(sub, "info") != 0 && strcmp(sub, "enrol") != 0 &&
	    strcmp(sub, "enroll") != 0 && strcmp(sub, "pay") != 0 &&
	    strcmp(sub, "submit") != 0 && strcmp(sub, "recover") != 0 &&
	    strcmp(sub, "history") != 0)
		return wk_cli_usage(cli, "anon: unknown subcommand %s", sub);
	if (strcmp(sub, "info") != 0 && o.manager == NULL)
		return wk_cli_usage(cli, "anon %s needs --manager URL", sub);
	if ((rc = wk_cli_card(cli, &card)) != WK_OK)
		return wk_cli_fail(cli, "open the card", rc);
	if (strcmp(sub, "info") == 0)
		return cmd_info(cli, card);
	if (strcmp(sub, "recover") == 0) {
		rc = wk_anon_recover(card, o.manager, &p, &err);
		if (rc == WK_ERR_NOT_FOUND) {
			if (cli->json)
				return wk_cli_json_print(json_pack("{s:b}", "pending", 0));
			printf("no payment is pending\n");
			return WK_CLI_OK;
		}
		if (rc != WK_OK)
			return fail(cli, "anon recover", rc, &err, &p);
		if (cli->json)
			return wk_cli_json_print(payment_json(&p));
		printf("payment %s: %s%s%s\n", p.txid, p.status == 1 ? "committed" :
		    p.status == 2 ? "refused" : "void", p.reason[0] ? ": " : "",
		    p.reason);
		return WK_CLI_OK;
	}
	if (strcmp(sub, "submit") == 0) {
		uint8_t env[ENV_MAX];
		size_t n;
		FILE *f;

		if (o.request == NULL || (f = fopen(o.request, "rb")) == NULL)
			return wk_cli_usage(cli, "anon submit needs --request FILE");
		n = fread(env, 1, sizeof(env), f);
		fclose(f);
		rc = wk_anon_submit(card, o.manager, env, n, &p, &err);
		if (rc != WK_OK)
			return fail(cli, "anon submit", rc, &err, &p);
		if (cli->json)
			return wk_cli_json_print(payment_json(&p));
		printf("payment %s: committed\n", p.txid);
		return WK_CLI_OK;
	}
	if (read_pin(&o, pin, sizeof(pin), &pin_len) != WK_OK) {
		ret = wk_cli_usage(cli, "no purse PIN (--pin-file, WALLETKEY_PIN or a"
		    " terminal)");
		goto out;
	}
	if (strcmp(sub, "enrol") == 0 || strcmp(sub, "enroll") == 0) {
		if (o.authority == NULL || o.code == NULL) {
			ret = wk_cli_usage(cli, "anon enrol needs --manager, --authority"
			    " and --code");
			goto out;
		}
		rc = wk_anon_enrol(card, pin, pin_len, o.manager, o.authority, o.code,
		    progress, cli, account, &err);
		if (rc != WK_OK) {
			ret = fail(cli, "anon enrol", rc, &err, NULL);
			goto out;
		}
		ret = cli->json ? wk_cli_json_print(json_pack("{s:s}", "account",
		    account)) : (printf("enrolled: account %s\n", account), WK_CLI_OK);
	} else if (strcmp(sub, "pay") == 0) {
		uint8_t env[ENV_MAX];
		size_t n = sizeof(env);
		char *end;
		unsigned long long amount;

		if (o.to == NULL || o.amount == NULL || o.amount[0] == '-' ||
		    (amount = strtoull(o.amount, &end, 10)) == 0 || *end != '\0') {
			ret = wk_cli_usage(cli, "anon pay needs --to ACCOUNT and"
			    " --amount FEN");
			goto out;
		}
		rc = wk_anon_pay(card, pin, pin_len, o.manager, o.to, amount,
		    progress, cli, o.request_out ? env : NULL, o.request_out ? &n :
		    NULL, &p, &err);
		if (rc != WK_OK) {
			ret = fail(cli, "anon pay", rc, &err, &p);
			goto out;
		}
		if (o.request_out != NULL) {
			if (write_file(o.request_out, env, n) != 0) {
				ret = wk_cli_fail(cli, "write the request", WK_ERR_IO);
				goto out;
			}
			ret = cli->json ? wk_cli_json_print(json_pack("{s:s, s:s}",
			    "txid", p.txid, "request", o.request_out)) :
			    (printf("request %s written to %s\n", p.txid,
			    o.request_out), WK_CLI_OK);
			goto out;
		}
		if (cli->json)
			ret = wk_cli_json_print(payment_json(&p));
		else {
			printf("paid %" PRIu64 " to %s: committed (transaction %s,"
			    " balance %" PRId64 ")\n", p.amount, p.payee, p.txid,
			    p.balance);
			ret = WK_CLI_OK;
		}
	} else {
		char *text = NULL;

		rc = wk_anon_history(card, pin, pin_len, o.manager, &text, &err);
		if (rc != WK_OK) {
			ret = fail(cli, "anon history", rc, &err, NULL);
			goto out;
		}
		printf("%s\n", text);
		free(text);
		ret = WK_CLI_OK;
	}
out:
	sodium_memzero(pin, sizeof(pin));
	return ret;
}
