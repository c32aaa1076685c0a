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

/* an issuer call (wk_issuer.c): POST (body != NULL, consumed) or GET;
 * *resp: the JSON object of a 200 (the caller frees it) */
int wk_issuer_call(wk_issuer *is, const char *path, json_t *body,
    json_t **resp);

#endif
