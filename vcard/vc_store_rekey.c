/*
 * the card store's seal key rotation (vc_store_rekey, vc_store.h): every
 * row read in clear and checked against the card's tags, sealed again
 * under the new key in one transaction, the map loaded again from the
 * rows under whichever key won.
 */
#include "vc_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

typedef struct plain_row {
	uint8_t id[VC_SEAL_ID_LEN];
	uint8_t *v;		/* sodium_malloc'd */
	size_t n;
} plain_row;

static void
plain_rows_free(plain_row *rows, size_t n)
{
	if (rows == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		sodium_free(rows[i].v);
	free(rows);
}

/* every row in clear, checked against the card's tags */
static int
read_all(vc_store *st, plain_row **out, size_t *count)
{
	sqlite3_stmt *s = NULL;
	plain_row *rows = NULL;
	uint8_t tag[VC_SEAL_TAG_LEN];
	size_t n = 0, cap = (size_t)st->state.count;
	int rc = VC_STORE_ERROR, step;

	if ((rows = calloc(cap > 0 ? cap : 1, sizeof(*rows))) == NULL ||
	    sqlite3_prepare_v2(st->db, "SELECT id, value FROM rows", -1, &s,
	    NULL) != SQLITE_OK) {
		store_err(st, "rekey: cannot read the rows");
		goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const uint8_t *id = sqlite3_column_blob(s, 0);
		const uint8_t *v = sqlite3_column_blob(s, 1);
		size_t len = (size_t)sqlite3_column_bytes(s, 1);
		const store_ent *e;

		if (n == cap || sqlite3_column_bytes(s, 0) != VC_SEAL_ID_LEN ||
		    len < VC_SEAL_OVERHEAD ||
		    (e = store_map_find(&st->map, id)) == NULL) {
			rc = store_tampered(st, "a row the card did not write");
			goto out;
		}
		vc_seal_tag(st->seal, id, v, len, tag);
		memcpy(rows[n].id, id, VC_SEAL_ID_LEN);
		rows[n].n = len - VC_SEAL_OVERHEAD;
		if ((rows[n].v = sodium_malloc(rows[n].n + 1)) == NULL) {
			store_err(st, "out of memory");
			goto out;
		}
		n++;
		if (sodium_memcmp(tag, e->tag, sizeof(tag)) != 0 ||
		    vc_seal_unrow(st->seal, id, v, len, rows[n - 1].v) !=
		    VC_SEAL_OK) {
			rc = store_tampered(st, "a row is not the one the card "
			    "wrote");
			goto out;
		}
	}
	if (step != SQLITE_DONE || n != cap) {
		rc = store_tampered(st, "the rows are not those the card wrote");
		goto out;
	}
	*out = rows;
	*count = n;
	rows = NULL;
	rc = VC_STORE_OK;
out:
	sqlite3_finalize(s);
	plain_rows_free(rows, n);
	return rc;
}

int
vc_store_rekey(vc_store *st, const vc_store_key *key)
{
	uint8_t rec[VC_SEAL_REC_MAX], tag[VC_SEAL_TAG_LEN], *sealed = NULL;
	char kpath[4096], err[256], store_path[4096];
	vc_seal *old = NULL, *fresh = NULL;
	vc_seal_state next;
	vc_seal_source src;
	plain_row *rows = NULL;
	const char *fn;
	size_t n = 0, rec_len = 0;
	bool made = false;
	int rc;

	if (st->poisoned)
		return VC_STORE_CORRUPT;
	if (st->in_cmd || st->in_txn) {
		store_err(st, "rekey inside a command");
		return VC_STORE_ERROR;
	}
	fn = sqlite3_db_filename(st->db, "main");
	snprintf(store_path, sizeof(store_path), "%s", fn != NULL ? fn : "");
	if ((rc = store_source_of(st, store_path, key, true, kpath, sizeof(kpath),
	    &src)) != VC_STORE_OK)
		return rc;
	if ((rc = read_all(st, &rows, &n)) != VC_STORE_OK)
		return rc;
	if ((rc = vc_seal_rekey(st->seal, &src, &fresh, rec, &rec_len, &made,
	    err, sizeof(err))) != VC_SEAL_OK) {
		store_err(st, "%s", err);
		rc = store_seal_rc(rc);
		goto out;
	}
	if ((rc = store_txn_begin(st)) != VC_STORE_OK)
		goto out;
	memset(&next, 0, sizeof(next));
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = st->q[Q_PUT];
		size_t len = rows[i].n + VC_SEAL_OVERHEAD;

		free(sealed);
		if ((sealed = malloc(len)) == NULL) {
			store_err(st, "out of memory");
			rc = VC_STORE_ERROR;
			goto fail;
		}
		vc_seal_row(fresh, rows[i].id, rows[i].v, rows[i].n, sealed);
		vc_seal_tag(fresh, rows[i].id, sealed, len, tag);
		for (size_t j = 0; j < sizeof(tag); j++)
			next.root[j] ^= tag[j];
		next.count++;
		rc = sqlite3_bind_blob(s, 1, rows[i].id, VC_SEAL_ID_LEN,
		    SQLITE_STATIC) == SQLITE_OK && sqlite3_bind_blob(s, 2,
		    sealed, (int)len, SQLITE_STATIC) == SQLITE_OK &&
		    sqlite3_step(s) == SQLITE_DONE ? VC_STORE_OK :
		    store_db_fail(st, "rekey");
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		if (rc != VC_STORE_OK)
			goto fail;
	}
	if ((rc = store_meta_put(st, "seal", rec, rec_len)) != VC_STORE_OK)
		goto fail;
	next.version = st->state.version;
	st->txn = next;
	old = st->seal;
	st->seal = fresh;
	fresh = NULL;
	if ((rc = store_txn_commit(st)) != VC_STORE_OK) {
		fresh = st->seal;
		st->seal = old;
		old = NULL;
		goto reload;
	}
	goto reload;
fail:
	store_txn_rollback(st);
reload:
	/* the map from the rows as they now are, under whichever key won */
	if (store_load_rows(st) != VC_STORE_OK && rc == VC_STORE_OK)
		rc = VC_STORE_ERROR;
out:
	if (rc != VC_STORE_OK && made)
		unlink(kpath);
	free(sealed);
	plain_rows_free(rows, n);
	vc_seal_free(&old);
	vc_seal_free(&fresh);
	return rc;
}
