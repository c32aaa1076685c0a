/*
 * what the flows share (docs/DEVELOPING.md "Flows"): the store a flow
 * uses, its records as JSON objects (the files' format of
 * docs/remote-load.md: indented by one, keys sorted; base64 fields
 * through wk_json.h)
 */
#ifndef WK_FLOW_H
#define WK_FLOW_H

#include <jansson.h>

#include "walletkey.h"
#include "wk_json.h"

/* the store a flow uses: given, or the files of state_dir (NULL: the
 * default directory, resolved into dirbuf) */
int wk_flow_store(const wk_state_store *given, const char *state_dir,
    wk_state_store *use, char *dirbuf, size_t cap);
/* the record name: 0 and *obj NULL when there is none; WK_ERR_IO the
 * store failed; WK_ERR_BAD_DATA not a JSON object */
int wk_flow_record_load(const wk_state_store *s, const char *name,
    json_t **obj);
/* 0 or WK_ERR_IO (or WK_ERR_MEMORY) */
int wk_flow_record_save(const wk_state_store *s, const char *name,
    json_t *obj);
int wk_flow_record_remove(const wk_state_store *s, const char *name);

/* the names of a store's records that start with prefix (names of
 * WK_FLOW_NAME_MAX bytes or more are left out), collected before the
 * caller touches any record: WK_OK, WK_ERR_IO (the store's list failed)
 * or WK_ERR_MEMORY; wk_flow_names_free */
#define WK_FLOW_NAME_MAX 64
typedef struct wk_flow_names {
	char (*name)[WK_FLOW_NAME_MAX];
	size_t n, cap;
	bool failed;
} wk_flow_names;
int wk_flow_record_names(const wk_state_store *s, const char *prefix,
    wk_flow_names *out);
void wk_flow_names_free(wk_flow_names *l);

/* an issuer call (wk_issuer.c): POST (body != NULL, consumed) or GET;
 * *resp: the JSON object of a 200 (the caller frees it) */
int wk_issuer_call(wk_issuer *is, const char *path, json_t *body,
    json_t **resp);

#endif
