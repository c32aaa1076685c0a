/* reporting redeemed transfers to the issuer (wallet_reports.h) */
#include "wallet_reports.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wallet_state.h"

void
wallet_fault_point(const char *step)
{
	const char *at = getenv("WALLETKEY_FAULT_AT");
	const char *cmd = getenv("WALLETKEY_FAULT_CMD");
	const char *kill_at = getenv("WALLETKEY_FAULT_KILL_AT");

	fflush(NULL);
	if (at != NULL && strcmp(at, step) == 0) {
		if (cmd == NULL || cmd[0] == '\0')
			raise(SIGKILL);
		if (system(cmd) != 0)
			fprintf(stderr, "walletkey: fault command failed\n");
	}
	if (kill_at != NULL && strcmp(kill_at, step) == 0)
		raise(SIGKILL);
}

/* what the library's reports say, as the CLI always said it */
static void
on_report(void *arg, const wk_report_event *ev)
{
	const char *dir = arg;

	switch (ev->step) {
	case WK_REPORT_STEP_SENDING:
		wallet_fault_point("report-send");
		break;
	case WK_REPORT_STEP_DAMAGED:
		fprintf(stderr, "walletkey: %s/%s.json is damaged\n", dir,
		    ev->record);
		break;
	case WK_REPORT_STEP_LEFT:
		if (ev->issuer)
			fprintf(stderr, "walletkey: transfer %s not reported yet:"
			    " the issuer answered %ld %s: %s\n", ev->token_id,
			    ev->http_status, ev->error, ev->message);
		else if (ev->rc == WK_ERR_IO)
			fprintf(stderr, "walletkey: transfer %s reported, but %s/%s"
			    ".json stays: it goes to the issuer again\n",
			    ev->token_id, dir, ev->record);
		else
			fprintf(stderr, "walletkey: transfer %s not reported yet:"
			    " %s%s%s\n", ev->token_id, ev->issuer_url == NULL ?
			    "no issuer known for its cards" : wk_strerror(ev->rc),
			    ev->message != NULL && ev->message[0] ? ": " : "",
			    ev->message != NULL ? ev->message : "");
		break;
	default:
		break;
	}
}

int
wallet_reports_flush(wk_cli *cli, const char *dir, const char *card_hex,
    const char *url, unsigned *reported, unsigned *left)
{
	char def[1024];
	wk_report_opts o = { .card_hex = card_hex, .issuer_url = url };

	(void)cli;
	if (dir == NULL) {
		if (wallet_state_dir(NULL, def, sizeof(def)) != WK_CLI_OK)
			return -1;
		dir = def;
	}
	o.state_dir = dir;
	return wk_wallet_transfer_reports(&o, on_report, (void *)(uintptr_t)dir,
	    reported, left) == WK_OK ? 0 : -1;
}
