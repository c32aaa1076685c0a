/*
 * the control panel's JSON API (docs/holder.md "The control panel"): each
 * call one libwalletkey flow on the card, a fresh PC/SC connection per
 * request. PINs arrive in the request body and are wiped with it; nothing
 * of them is kept. Called from the server's one thread only.
 *
 *   GET  /api/status    readers, the card, PIV and purse PIN tries, balance,
 *                       audit log, label
 *   POST /api/refresh   a new PC/SC context, then the status
 *   POST /api/pin       {"which": "piv"|"purse", "old", "new"}
 *   GET  /api/certs     the PIV certificates
 *   GET  /api/cert?slot=9a   one as PEM ({"slot", "filename", "pem"})
 *   POST /api/label     {"label"}: the name the card keeps
 *   POST /api/records   {"pin"?, "from_seq"?}: the audit log's records
 *   GET  /api/about     versions and where the documentation is
 */
#ifndef UI_API_H
#define UI_API_H

#include <jansson.h>

typedef struct ui_api ui_api;

typedef struct ui_reply {
	unsigned status;	/* HTTP status */
	json_t *json;		/* the answer (the caller frees it) */
} ui_reply;

int ui_api_new(const char *reader, ui_api **out);
void ui_api_free(ui_api **a);
/* path after "/api/"; slot: the query's slot= (NULL: none); body NULL
 * for GET */
void ui_api_handle(ui_api *a, const char *method, const char *path,
    const char *slot, json_t *body, ui_reply *r);

#endif
