/* a libmicrohttpd server on an IPv4 address and port, started the one way
 * walletkey-issuer and the control panel (walletkey ui) start theirs: its
 * own thread polls, errors are logged, a connection idles at most timeout
 * seconds and at most limit are open at once; port 0 takes a free one.
 * Its own static library (wkhttpd), linked by issuer/ and tools/ only: the
 * card and libwalletkey do not link libmicrohttpd (docs/DEVELOPING.md). */
#ifndef WK_HTTPD_H
#define WK_HTTPD_H

#include <netinet/in.h>
#include <stdint.h>

#include <microhttpd.h>

typedef struct wk_httpd {
	struct MHD_Daemon *d;
	uint16_t port;		/* the port bound */
} wk_httpd;

typedef struct wk_httpd_cfg {
	const struct sockaddr_in *addr;
	/* MHD_USE_* beyond MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG
	 * (a thread per connection, TLS) */
	unsigned flags;
	MHD_AccessHandlerCallback on_request;
	void *cls;		/* on_request's */
	MHD_RequestCompletedCallback on_done;	/* called with NULL */
	unsigned timeout;	/* seconds */
	unsigned limit;		/* connections */
	/* more options (the TLS certificate and key), ended by
	 * MHD_OPTION_END; or NULL */
	struct MHD_OptionItem *more;
} wk_httpd_cfg;

/* 0, or -1 with errno as libmicrohttpd left it and h->d NULL */
int wk_httpd_start(wk_httpd *h, const wk_httpd_cfg *cfg);
/* stops the server (waits for its threads); a stopped or never started
 * one is left alone */
void wk_httpd_stop(wk_httpd *h);

#endif
