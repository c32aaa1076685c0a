/* the helpers enrolment (iss_enrol.c) and the remote load (iss_load.c)
 * share, defined in iss_proto.c; internal to the issuer */
#ifndef ISS_PROTO_H
#define ISS_PROTO_H

#include "iss.h"

#include <openssl/x509.h>

#include "wk_purse_crypto.h"
#include "wk_json.h"

/* the request's keys are all in allowed (NULL-terminated); else a 400 */
int iss_req_keys(json_t *req, const char *const *allowed, iss_err *e);
/* a string field; NULL with a 400 when required and missing or not a
 * string, NULL without error when optional and absent */
const char *iss_req_str(json_t *req, const char *name, bool required,
    iss_err *e);
char *iss_hex_alloc(const uint8_t *p, size_t len);	/* free() */
/* the base64 message in field name, parsed (want_type > 0: of that type) */
int iss_msg_arg(json_t *req, const char *name, uint8_t *buf, size_t *len,
    wk_msg *m, int want_type, iss_err *e);
/* now as the purse's BCD date (YYYYMMDD) and time (hhmmss), UTC */
void iss_host_datetime(uint8_t date[4], uint8_t tim[3]);

/* ---- cards ---- */

typedef struct iss_card_row {
	char card_id[2 * WK_MSG_CARD_ID_LEN + 1];
	int64_t account_id;
	char pan[WK_MSG_PAN_MAX + 1];
	uint8_t key_version;
	uint8_t algs[WK_PURSE_KEY_N];	/* its key algorithms, as enrolled */
	bool revoked;
	X509 *cert;
	uint8_t cert_der[2048];
	size_t cert_len;
	uint8_t cert_hash[32];	/* SHA-256 of cert_der */
	EVP_PKEY *pub;		/* owned by cert */
} iss_card_row;

void iss_card_row_clear(iss_card_row *c);
/* a card's columns, in a query that joins cards c and accounts a */
#define ISS_CARD_COLS "c.account_id, a.pan, c.key_version, c.revoked_at," \
	" c.cert, c.key_algs"
/* the card of r's one row, its ISS_CARD_COLS from column c0 on, into c
 * (whose card_id the caller sets), its certificate parsed once through
 * certs (NULL: parsed here); 0, or -1 with a 500 */
int iss_card_from_row(iss_certs *certs, const iss_res *r, size_t c0,
    iss_card_row *c, iss_err *e);
/* iss_ca_check of the card's certificate, a success kept (is->certs)
 * until the first notAfter of its chain */
int iss_card_chain_check(iss *is, const iss_card_row *card, iss_err *e);
/* reads a card (outside a transaction is fine: cards change only by enrol
 * and revoke); 404 when unknown */
int iss_card_load(iss_db *db, const uint8_t id[WK_MSG_CARD_ID_LEN],
    iss_card_row *c, iss_err *e);
/* a connection from the pool; 503 when none */
int iss_with_db(iss *is, iss_db **db, iss_err *e);
int iss_card_get(iss *is, const uint8_t id[WK_MSG_CARD_ID_LEN],
    iss_card_row *c, iss_err *e);
/* the message is signed by the card's key; 403 when not */
int iss_verify_card_msg(const iss_card_row *c, const uint8_t *buf, size_t len,
    wk_msg *m, iss_err *e);

#endif
