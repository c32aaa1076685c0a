/* a libmicrohttpd server started one way (wk_httpd.h) */
#include "wk_httpd.h"

#include <stddef.h>

int
wk_httpd_start(wk_httpd *h, const wk_httpd_cfg *cfg)
{
	static struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };
	const union MHD_DaemonInfo *info;

	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG | cfg->flags, 0, NULL, NULL, cfg->on_request,
	    cfg->cls,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)cfg->addr,
	    MHD_OPTION_NOTIFY_COMPLETED, cfg->on_done, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout,
	    MHD_OPTION_CONNECTION_LIMIT, cfg->limit,
	    MHD_OPTION_ARRAY, cfg->more != NULL ? cfg->more : none,
	    MHD_OPTION_END);
	if (h->d == NULL)
		return -1;
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL ? info->port : ntohs(cfg->addr->sin_port);
	return 0;
}

void
wk_httpd_stop(wk_httpd *h)
{
	if (h->d != NULL)
		MHD_stop_daemon(h->d);
	h->d = NULL;
}
