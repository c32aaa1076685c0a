/*
 * the algorithm of each purse key (3DES or SM4; migration 7, key_algs):
 * the issuer's default list, a card's own, their hex and JSON forms
 */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_hex.h"
#include "wk_purse_crypto.h"

void
iss_algs_hex(const uint8_t algs[WK_PURSE_KEY_N], char out[ISS_ALGS_HEX_LEN + 1])
{
	wk_hex_encode(algs, WK_PURSE_KEY_N, out);
}

int
iss_algs_from_hex(const char *hex, uint8_t algs[WK_PURSE_KEY_N])
{
	uint8_t v[WK_PURSE_KEY_N];
	size_t len;
	long n;

	memset(algs, WK_PURSE_ALG_3DES, WK_PURSE_KEY_N);
	if (hex == NULL || (len = strlen(hex)) == 0)
		return 0;
	/* a value written by a table with more keys than this one's is not
	 * ours to read; a shorter one names the keys it had */
	if (len % 2 != 0 || len > ISS_ALGS_HEX_LEN ||
	    (n = wk_hex_decode(hex, v, sizeof(v))) != (long)(len / 2))
		return -1;
	for (long i = 0; i < n; i++) {
		if (!wk_purse_alg_valid(v[i]))
			return -1;
		algs[i] = v[i];
	}
	return 0;
}

json_t *
iss_algs_json(const uint8_t algs[WK_PURSE_KEY_N])
{
	json_t *o = json_object();

	for (int id = 0; o != NULL && id < WK_PURSE_KEY_N; id++) {
		const char *name = wk_purse_alg_name(algs[id]);

		if (json_object_set_new(o, wk_purse_key_names[id],
		    json_string(name != NULL ? name : "?")) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

int
iss_key_algs_parse(const char *list, uint8_t algs[WK_PURSE_KEY_N], char *err,
    size_t errlen)
{
	const char *p = list;

	memset(algs, WK_PURSE_ALG_3DES, WK_PURSE_KEY_N);
	if (list == NULL || *list == '\0')
		goto bad;
	if (strcmp(list, "none") == 0)
		return 0;
	if (strcmp(list, "all") == 0) {
		memset(algs, WK_PURSE_ALG_SM4, WK_PURSE_KEY_N);
		return 0;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		int id;

		for (id = 0; id < WK_PURSE_KEY_N; id++)
			if (strlen(wk_purse_key_names[id]) == n &&
			    strncmp(p, wk_purse_key_names[id], n) == 0)
				break;
		if (id == WK_PURSE_KEY_N) {
			snprintf(err, errlen, "--sm4: \"%.*s\" is not a purse key"
			    " (dlk, dpk, dtk, dulk, duk, damk, drpk; or all, none)",
			    (int)(n > 32 ? 32 : n), p);
			return -1;
		}
		algs[id] = WK_PURSE_ALG_SM4;
		p += n;
		if (*p == ',' && *++p == '\0')
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "--sm4 takes all, none or a comma list of keys"
	    " (dlk, dpk, dtk, dulk, duk, damk, drpk)");
	return -1;
}

int
iss_key_algs_get(iss_db *db, uint8_t algs[WK_PURSE_KEY_N])
{
	char hex[ISS_ALGS_HEX_LEN + 1];

	if (iss_meta_get(db, "key_algs", hex, sizeof(hex)) != 0)
		return iss_algs_from_hex(NULL, algs);	/* never set: 3DES */
	return iss_algs_from_hex(hex, algs);
}

int
iss_key_algs_set(iss_db *db, const uint8_t algs[WK_PURSE_KEY_N])
{
	char hex[ISS_ALGS_HEX_LEN + 1];

	for (int id = 0; id < WK_PURSE_KEY_N; id++)
		if (!wk_purse_alg_valid(algs[id]))
			return ISS_DB_ERROR;
	iss_algs_hex(algs, hex);
	return iss_db_exec(db, "INSERT INTO issuer_meta (name, value) VALUES"
	    " ('key_algs', $1) ON CONFLICT (name) DO UPDATE SET value ="
	    " excluded.value", (iss_param[]){ ISS_PS(hex) }, 1, NULL);
}

int
iss_card_algs(iss_db *db, const char *card_hex, uint8_t algs[WK_PURSE_KEY_N],
    iss_err *e)
{
	iss_res *r = NULL;
	int rc = -1, d;

	if ((d = iss_db_exec(db, "SELECT key_algs FROM cards WHERE card_id = $1",
	    (iss_param[]){ ISS_PS(card_hex) }, 1, &r)) != ISS_DB_OK) {
		rc = iss_db_fail(e, db, d);
		goto out;
	}
	if (iss_res_rows(r) != 1) {
		iss_fail(e, 404, "card_not_found", "card %s is not enrolled",
		    card_hex);
		goto out;
	}
	if (iss_algs_from_hex(iss_res_text(r, 0, 0), algs) != 0) {
		iss_fail(e, 500, "internal", "card %s: the stored key algorithms"
		    " do not parse", card_hex);
		goto out;
	}
	rc = 0;
out:
	iss_res_free(&r);
	return rc;
}
