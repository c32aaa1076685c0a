/*
 * the holder's control panel (walletkey ui, docs/holder.md): an HTTP server
 * on 127.0.0.1 (libmicrohttpd) that serves the panel's static files and
 * its JSON API (ui_api.h). Who may call it: a browser tab that logged in
 * with a one-time token (in the URL's fragment, exchanged for a session
 * secret the page keeps in sessionStorage and sends as a bearer token), from
 * the panel's own origin, under a Host header naming the panel. Nothing
 * else: other local users, web pages, DNS rebinding (docs/security.md
 * "The holder's panel and PIN lifecycle").
 */
#ifndef UI_SERVER_H
#define UI_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ui_server ui_server;

typedef struct ui_config {
	const char *reader;	/* --reader, or NULL: the first walletkey card */
	const char *static_dir;	/* the panel's HTML, JS and CSS */
	uint16_t port;		/* 0: a random free port */
} ui_config;

/* binds 127.0.0.1 and serves from a thread of its own */
int ui_server_start(const ui_config *c, ui_server **out, char *err,
    size_t errlen);
uint16_t ui_server_port(const ui_server *s);
/* a fresh one-time login URL, http://127.0.0.1:PORT/#token=HEX (at most
 * UI_LOGIN_TOKENS unused at once: the oldest goes) */
#define UI_LOGIN_TOKENS 8
#define UI_URL_MAX 128
int ui_server_login_url(ui_server *s, char *out, size_t cap);
/* seconds since the last request a logged-in page made (since the start
 * when none did) */
long ui_server_idle(ui_server *s);
void ui_server_stop(ui_server **s);

#endif
