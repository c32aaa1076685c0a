/*
 * walletkey confirm --issuer URL [--watch]: the holder's relay for online
 * payments (docs/payments.md). It wraps wk_pay_relay(): this file only
 * shows the card's open requests, asks the holder (y/N with a timeout, the
 * purse PIN) and prints the issuer's final answer.
 */
#include "cli.h"
#include "wallet_reports.h"
#include "wallet_state.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define TIMEOUT_DEFAULT 60

typedef struct copts {
	const char *issuer;
	const char *pin_file;
	const char *state_dir;
	long timeout;
	long wait;
	bool watch;
	bool yes;
	bool decline;
	bool ocra;
} copts;

typedef struct cstate {
	wk_cli *cli;
	const copts *o;
	int failures;		/* refused by the card or the issuer */
	bool pin_wrong;		/* the last PIN given was wrong */
	int answered;
	char shown[WK_PAY_ID_HEX * 8];	/* the ids of the last table shown */
} cstate;

static volatile int stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static const char confirm_usage[] =
    "usage: walletkey confirm --issuer URL [--watch] [--wait S] [--yes | --decline]\n"
    "                 [--timeout S] [--pin-file FILE] [--ocra] [--state-dir DIR]\n";

static void
amount_text(uint32_t fen, const char *currency, char *out, size_t cap)
{
	char a[32];

	wk_purse_amount_format(fen, a, sizeof(a));
	snprintf(out, cap, "%s %s", a, currency);
}

static void
when_text(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char d[32];
	long left = (long)(t - (int64_t)time(NULL));

	localtime_r(&tt, &tm);
	strftime(d, sizeof(d), "%Y-%m-%d %H:%M:%S", &tm);
	if (left > 0)
		snprintf(out, cap, "%s (in %ld min %ld s)", d, left / 60, left % 60);
	else
		snprintf(out, cap, "%s (expired)", d);
}

static json_t *
request_json(const wk_pay_request *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I}",
	    "payment_id", r->id, "card_id", r->card_id, "payer", r->payer,
	    "payee", r->payee, "payee_name", r->payee_name, "order_id",
	    r->order_id, "description", r->description, "amount",
	    (json_int_t)r->amount, "currency", r->currency, "expires",
	    (json_int_t)r->expires);
}

static void
emit_json(const char *event, json_t *o)
{
	if (o == NULL)
		return;
	json_object_set_new(o, "event", json_string(event));
	(void)wk_cli_json_print(o);
	fflush(stdout);
}

static void
show_list(cstate *s, const wk_pay_event *ev)
{
	static const char *const head[] = { "id", "payee", "order", "amount",
	    "expires" };
	char ids[sizeof(s->shown)] = "";
	wk_cli_table *t;

	for (size_t i = 0; i < ev->n && i < 8; i++)
		strncat(ids, ev->list[i].id, sizeof(ids) - strlen(ids) - 1);
	if (s->cli->json) {
		json_t *a = json_array();

		for (size_t i = 0; i < ev->n; i++)
			json_array_append_new(a, request_json(&ev->list[i]));
		emit_json("list", json_pack("{s:o}", "requests", a));
		return;
	}
	/* a watch shows the table when it changes */
	if (s->o->watch && strcmp(ids, s->shown) == 0)
		return;
	snprintf(s->shown, sizeof(s->shown), "%s", ids);
	if (ev->n == 0) {
		printf("no payment request is waiting\n");
		fflush(stdout);
		return;
	}
	if ((t = wk_cli_table_new(5, head)) == NULL)
		return;
	for (size_t i = 0; i < ev->n; i++) {
		const wk_pay_request *r = &ev->list[i];
		char id[13], payee[96], amount[48], exp[96];
		const char *cells[5] = { id, payee, r->order_id, amount, exp };

		snprintf(id, sizeof(id), "%.12s", r->id);
		snprintf(payee, sizeof(payee), "%s", r->payee_name);
		amount_text(r->amount, r->currency, amount, sizeof(amount));
		when_text(r->expires, exp, sizeof(exp));
		(void)wk_cli_table_add(t, cells);
	}
	wk_cli_table_print(t, stdout);
	wk_cli_table_free(&t);
	fflush(stdout);
}

/* what the card will sign, field by field, on the terminal */
static void
show_request(FILE *f, const wk_pay_request *r)
{
	char amount[48], exp[96];

	amount_text(r->amount, r->currency, amount, sizeof(amount));
	when_text(r->expires, exp, sizeof(exp));
	fprintf(f, "payment request %s\n", r->id);
	fprintf(f, "  payer    %s\n", r->payer);
	fprintf(f, "  payee    %s (merchant %s)\n", r->payee_name, r->payee);
	fprintf(f, "  order    %s\n", r->order_id);
	if (r->description[0] != '\0')
		fprintf(f, "           %s\n", r->description);
	fprintf(f, "  amount   %s\n", amount);
	fprintf(f, "  expires  %s\n", exp);
}

/* y: accept, n or Enter: decline, s or no answer in time: leave open */
static wk_pay_decision
ask(const cstate *s, const wk_pay_request *r)
{
	struct pollfd pfd;
	char line[16];
	FILE *tty;
	long left = (long)(r->expires - (int64_t)time(NULL));
	long timeout = s->o->timeout < left ? s->o->timeout : left;
	wk_pay_decision d = WK_PAY_SKIP;

	if ((tty = fopen("/dev/tty", "r+")) == NULL) {
		fprintf(stderr, "walletkey: confirm: no terminal to ask on (give"
		    " --yes or --decline); request %s left open\n", r->id);
		return WK_PAY_SKIP;
	}
	if (timeout < 1)
		timeout = 1;
	if (s->cli->json)
		show_request(tty, r);
	fprintf(tty, "pay %s? [y/N, s to leave it open] (%ld s) ", r->payee_name,
	    timeout);
	fflush(tty);
	pfd.fd = fileno(tty);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)(timeout * 1000)) == 1 &&
	    fgets(line, sizeof(line), tty) != NULL) {
		if (line[0] == 'y' || line[0] == 'Y')
			d = WK_PAY_ACCEPT;
		else if (line[0] == 's' || line[0] == 'S')
			d = WK_PAY_SKIP;
		else
			d = WK_PAY_DECLINE;
	} else {
		fputs("\nno answer: the request stays open\n", tty);
	}
	fclose(tty);
	return d;
}

static wk_pay_decision
on_confirm(void *arg, const wk_pay_request *r, char *pin, size_t cap,
    size_t *pin_len)
{
	cstate *s = arg;
	wk_pay_decision d;

	if (s->o->yes)
		d = WK_PAY_ACCEPT;
	else if (s->o->decline)
		d = WK_PAY_DECLINE;
	else
		d = ask(s, r);
	if (d == WK_PAY_SKIP || (d == WK_PAY_DECLINE && s->o->ocra))
		return d;
	/* a wrong PIN from a file or the environment is not tried again:
	 * each try costs one of the purse PIN's few */
	if (s->pin_wrong && (s->o->pin_file != NULL ||
	    getenv("WALLETKEY_PIN") != NULL)) {
		s->pin_wrong = false;
		fprintf(stderr, "walletkey: confirm: the PIN given is wrong; request"
		    " %s left open\n", r->id);
		return WK_PAY_SKIP;
	}
	s->pin_wrong = false;
	if (wallet_read_secret(s->o->pin_file, "WALLETKEY_PIN", "purse PIN", pin,
	    cap, pin_len) != 0)
		return WK_PAY_SKIP;
	return d;
}

static const char *
outcome(const wk_pay_result *res)
{
	if (strcmp(res->status, "paid") == 0)
		return "paid";
	if (strcmp(res->status, "declined") == 0)
		return "declined";
	return "refused";
}

static void
on_progress(void *arg, const wk_pay_event *ev)
{
	cstate *s = arg;
	const wk_pay_request *r = ev->req;
	char amount[48];

	switch (ev->step) {
	case WK_PAY_STEP_LIST:
		show_list(s, ev);
		break;
	case WK_PAY_STEP_ASK:
		if (s->cli->json)
			emit_json("request", request_json(r));
		else
			show_request(stdout, r);
		fflush(stdout);
		break;
	case WK_PAY_STEP_SKIPPED:
		if (s->cli->json)
			emit_json("skipped", json_pack("{s:s}", "payment_id", r->id));
		else
			printf("%s: no answer; the request stays open\n", r->id);
		break;
	case WK_PAY_STEP_PIN_WRONG:
		s->pin_wrong = true;
		if (s->cli->json)
			emit_json("pin_wrong", json_pack("{s:s, s:i}", "payment_id",
			    r->id, "tries_left", ev->tries_left));
		else
			fprintf(stderr, "walletkey: confirm: wrong PIN (%d tries"
			    " left)\n", ev->tries_left);
		break;
	case WK_PAY_STEP_SIGNED:
		wallet_fault_point("pay-signed");
		if (s->cli->json)
			emit_json("signed", json_pack("{s:s}", "payment_id", r->id));
		else
			printf("%s: the card answered\n", r->id);
		break;
	case WK_PAY_STEP_POSTING:
		wallet_fault_point("pay-posting");
		break;
	case WK_PAY_STEP_REFUSED:
		s->failures++;
		if (s->cli->json) {
			char sw[8];

			snprintf(sw, sizeof(sw), "%04X", (unsigned)ev->sw);
			emit_json("card_refused", json_pack("{s:s, s:s, s:s}",
			    "payment_id", r->id, "error", wk_strerror(ev->rc), "sw",
			    sw));
		} else
			printf("%s: the card refused: %s (SW %04X)\n", r->id,
			    ev->rc == WK_ERR_AUTH_FAILED ? "the request is not"
			    " signed by the card's issuer" : wk_strerror(ev->rc),
			    (unsigned)ev->sw);
		break;
	case WK_PAY_STEP_ANSWERED:
		wallet_fault_point("pay-answered");
		s->answered++;
		if (strcmp(ev->result->status, "paid") != 0 &&
		    strcmp(ev->result->status, "declined") != 0)
			s->failures++;
		if (s->cli->json) {
			json_t *o = json_pack("{s:s, s:s, s:s}", "payment_id",
			    ev->result->id, "status", ev->result->status, "outcome",
			    outcome(ev->result));

			if (o != NULL && ev->result->error[0] != '\0') {
				json_object_set_new(o, "error",
				    json_string(ev->result->error));
				json_object_set_new(o, "message",
				    json_string(ev->result->message));
			}
			emit_json("answered", o);
		} else if (strcmp(ev->result->status, "paid") == 0) {
			amount_text(ev->result->amount, r && r->currency[0] ?
			    r->currency : "CNY", amount, sizeof(amount));
			printf("%s: paid %s\n", ev->result->id, amount);
		} else if (strcmp(ev->result->status, "declined") == 0) {
			printf("%s: declined\n", ev->result->id);
		} else {
			printf("%s: refused by the issuer: %s: %s\n", ev->result->id,
			    ev->result->error, ev->result->message);
		}
		break;
	case WK_PAY_STEP_WAITING:
		if (s->cli->json)
			emit_json("waiting", json_pack("{s:s, s:s, s:i}", "for", ev->what,
			    "error", wk_strerror(ev->rc), "retry_in", ev->retry_in));
		else
			fprintf(stderr, "walletkey: confirm: the %s is away (%s);"
			    " trying again in %d s\n", ev->what, wk_strerror(ev->rc),
			    ev->retry_in);
		break;
	case WK_PAY_STEP_STOPPED:
		if (s->cli->json)
			emit_json("stopped", json_pack("{s:s, s:s}", "error",
			    ev->error, "message", ev->message));
		else
			fprintf(stderr, "walletkey: confirm: the issuer refused: %s:"
			    " %s\n", ev->error, ev->message);
		break;
	case WK_PAY_STEP_BACK:
		if (s->cli->json)
			emit_json("back", json_pack("{s:s}", "for", ev->what));
		else
			fprintf(stderr, "walletkey: confirm: the %s is back\n",
			    ev->what);
		break;
	}
	fflush(stdout);
}

static int
parse(wk_cli *cli, int argc, char **argv, copts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout = TIMEOUT_DEFAULT;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		long *num = NULL;
		long lo = 0, hi = 0;

		if (strcmp(a, "--watch") == 0)
			o->watch = true;
		else if (strcmp(a, "--yes") == 0)
			o->yes = true;
		else if (strcmp(a, "--decline") == 0)
			o->decline = true;
		else if (strcmp(a, "--ocra") == 0)
			o->ocra = true;
		else if (strcmp(a, "--issuer") == 0 && i + 1 < argc)
			o->issuer = argv[++i];
		else if (strcmp(a, "--pin-file") == 0 && i + 1 < argc)
			o->pin_file = argv[++i];
		else if (strcmp(a, "--state-dir") == 0 && i + 1 < argc)
			o->state_dir = argv[++i];
		else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			num = &o->timeout;
			lo = 1;
			hi = 3600;
		} else if (strcmp(a, "--wait") == 0 && i + 1 < argc) {
			num = &o->wait;
			lo = 0;
			hi = 20;
		} else
			return wk_cli_usage(cli, "confirm: unknown or incomplete"
			    " option '%s'\n%s", a, confirm_usage);
		if (num != NULL) {
			char *end;

			errno = 0;
			*num = strtol(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || *num < lo || *num > hi)
				return wk_cli_usage(cli, "confirm: %s takes %ld to %ld"
				    " seconds", a, lo, hi);
		}
	}
	if (o->issuer == NULL)
		return wk_cli_usage(cli, "confirm needs --issuer URL\n%s",
		    confirm_usage);
	if (o->yes && o->decline)
		return wk_cli_usage(cli, "confirm: --yes or --decline, not both");
	return WK_CLI_OK;
}

int wk_cmd_confirm(wk_cli *cli, int argc, char **argv);

int
wk_cmd_confirm(wk_cli *cli, int argc, char **argv)
{
	char dir[512];
	copts o;
	cstate s;
	wk_ctx *ctx;
	wk_pay_relay_opts ro;
	struct sigaction sa;
	int rc, status;

	if (wk_cli_wants_help(argc, argv)) {
		fputs(confirm_usage, stdout);
		return WK_CLI_OK;
	}
	if ((status = parse(cli, argc, argv, &o)) != WK_CLI_OK)
		return status;
	if (wallet_state_dir(o.state_dir, dir, sizeof(dir)) != WK_CLI_OK)
		return WK_CLI_FAILED;
	if ((rc = wk_cli_ctx(cli, &ctx)) != WK_OK)
		return wk_cli_fail(cli, "confirm", rc);
	memset(&s, 0, sizeof(s));
	snprintf(s.shown, sizeof(s.shown), "-");	/* nothing shown yet */
	s.cli = cli;
	s.o = &o;
	memset(&ro, 0, sizeof(ro));
	ro.reader = cli->reader;
	ro.issuer_url = o.issuer;
	ro.state_dir = dir;
	ro.watch = o.watch;
	ro.ocra = o.ocra;
	ro.wait = (int)o.wait;
	ro.stop = &stop_flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = wk_pay_relay(ctx, &ro, on_confirm, on_progress, &s);
	if (rc != WK_OK)
		return wk_cli_fail(cli, "confirm", rc);
	return s.failures > 0 ? WK_CLI_FAILED : WK_CLI_OK;
}
