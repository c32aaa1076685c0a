/*
 * walletkey-echo-card: a card that does nothing, to measure the transport's
 * floor (pcscd + vpcd + the vc_link framing). Every APDU comes back as its
 * data + 9000; GET ATR gets the walletkey ATR.
 *   walletkey-echo-card [--vpcd HOST:PORT | --listen ADDR:PORT]
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "vc_link.h"
#include "wk_apdu.h"
#include "wk_card_id.h"
#include "wk_vpcd.h"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int
echo(void *arg, const uint8_t *msg, size_t len, uint8_t *reply, size_t cap,
    size_t *reply_len)
{
	static const uint8_t atr[] = { WK_ATR_BYTES };
	wk_apdu a;

	(void)arg;
	*reply_len = 0;
	if (len == 1) {
		if (msg[0] == WK_VPCD_GET_ATR) {
			memcpy(reply, atr, sizeof(atr));
			*reply_len = sizeof(atr);
		}
		return 0;
	}
	if (wk_apdu_parse(&a, msg, len) != WK_APDU_OK || a.lc > cap - 2) {
		reply[0] = 0x67;
		reply[1] = 0x00;
		*reply_len = 2;
		return 0;
	}
	if (a.lc > 0)
		memmove(reply, a.data, a.lc);
	reply[a.lc] = 0x90;
	reply[a.lc + 1] = 0x00;
	*reply_len = a.lc + 2;
	return 0;
}

int
main(int argc, char **argv)
{
	vc_link_opts o = { .stop = &stop_flag };
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--vpcd") == 0 && i + 1 < argc) {
			o.vpcd = argv[++i];
		} else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			o.listen = argv[++i];
		} else {
			fprintf(stderr, "usage: walletkey-echo-card "
			    "[--vpcd HOST:PORT | --listen ADDR:PORT]\n");
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return vc_link_run(&o, echo, NULL) == VC_LINK_OK ? 0 : 1;
}
