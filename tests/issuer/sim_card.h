/*
 * an in-process card for driving the issuer: a P-256 wallet key, the purse
 * (balance, online sequence number, session key) on wk_purse_crypto, and
 * the card's side of every wk_msg message. Plus a small libcurl client.
 * Shared by tests/issuer and bench/issuer.
 */
#ifndef SIM_CARD_H
#define SIM_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "wk_buf.h"
#include "wk_msg.h"
#include "wk_purse_crypto.h"
#include "wk_json.h"

typedef struct sim_card {
	uint8_t id[WK_MSG_CARD_ID_LEN];
	char id_hex[2 * WK_MSG_CARD_ID_LEN + 1];
	char pan[WK_MSG_PAN_MAX + 1];
	EVP_PKEY *key;		/* the wallet key, generated "on the card" */
	EVP_PKEY *anchor;	/* the issuer's CA public key */
	EVP_PKEY *f9;		/* the attestation key */
	X509 *device;		/* its certificate, from the sim factory */
	uint8_t cert[2048];
	size_t cert_len;
	uint8_t dlk[16], dtk[16], dpk[16], damk[16];
	uint8_t keys[WK_PURSE_KEY_N][16];	/* every purse key, by id */
	uint8_t algs[WK_PURSE_KEY_N];	/* and its algorithm, as the issuer sealed it */
	uint8_t key_version;
	uint32_t balance;
	uint16_t seq;
	/* INITIALIZE FOR LOAD session */
	bool in_session;
	uint8_t rnd[4];
	wk_purse_skey sk;
	uint32_t amount;
	uint8_t term[6];
	uint8_t nonce[WK_MSG_NONCE_LEN];
	/* the last credit, for GET TRANSACTION PROVE */
	bool has_last;
	uint16_t last_seq;
	uint32_t last_balance;
	uint8_t last_tac[4];
	/* payments (docs/payments.md) */
	uint32_t pay_counter;
	bool has_ocra;
	uint8_t ocra_key[32];
} sim_card;

/*
 * the factory of the simulated cards: a manufacturer CA that certifies the
 * attestation key of every card sim_card_new makes afterwards (before it,
 * or after sim_factory_free, cards get self-signed device certificates).
 * cert_pem (may be NULL) gets the CA certificate, for the issuer.
 */
int sim_factory_init(const char *cert_pem);
void sim_factory_free(void);
EVP_PKEY *sim_factory_key(void);
X509 *sim_factory_cert(void);

int sim_card_new(const char *pan, sim_card **out);
/* the card's attestation (docs/attestation.md) of pub, stated to be in slot
 * with origin, as a JSON array [key attestation, device certificate] of
 * base64 DER; pub NULL: the wallet key */
json_t *sim_card_attestation(sim_card *c, EVP_PKEY *pub, uint8_t slot,
    uint8_t origin);
void sim_card_free(sim_card **c);
/* a PKCS#10 request, CN = card id in hex, signed by the wallet key */
int sim_card_csr(sim_card *c, wk_buf *out);
/* stores the certificate and trust anchor, opens the personalisation */
int sim_card_personalise(sim_card *c, const uint8_t *cert, size_t cert_len,
    const uint8_t *ca, size_t ca_len, const uint8_t *perso, size_t perso_len);
/* the signed unblock request for an APPLICATION UNBLOCK challenge */
int sim_card_unblock_request(sim_card *c, const uint8_t challenge[4],
    wk_buf *out);
/* INITIALIZE FOR LOAD and the signed load request */
int sim_card_load_request(sim_card *c, uint32_t amount, wk_buf *out);
/*
 * the grant: checks signature and fields, then CREDIT FOR LOAD; writes a
 * signed receipt (0), or a signed refusal (1) when the grant is wrong;
 * negative on an internal failure.
 */
int sim_card_grant(sim_card *c, const uint8_t *grant, size_t len, wk_buf *out);
/* recovery: a proof when load's seq was credited, else a never-credited
 * statement (and the session is dropped) */
int sim_card_recover(sim_card *c, const uint8_t load_id[WK_MSG_LOAD_ID_LEN],
    uint16_t seq, wk_buf *out);

/* card to card: the sender's signed transfer token (common/wk_msg.h type
 * 9) to peer; token_id NULL: a random one. The purse is debited (floored
 * at zero, the issuer is what is tested) */
int sim_card_xfer_token(sim_card *c, const uint8_t peer[WK_MSG_CARD_ID_LEN],
    uint32_t amount, uint8_t token_id[WK_MSG_LOAD_ID_LEN], wk_buf *out);

/* payments: the OCRA key message of enrolment (type 13) */
int sim_card_ocra_key(sim_card *c, const uint8_t *msg, size_t len);
/* the card's answer to an issuer's payment request: the signed
 * confirmation (type 12) with decision, the next counter. Like the card,
 * it checks the issuer's signature, the card id and the PAN first (-1) */
int sim_card_pay(sim_card *c, const uint8_t *req, size_t len, bool accept,
    wk_buf *out);
/* the OCRA response (8 digits) for a request at time step t (minutes) */
int sim_card_pay_ocra(sim_card *c, const uint8_t *req, size_t len, uint64_t t,
    char digits[9]);

typedef struct sim_http sim_http;

int sim_http_new(const char *base_url, sim_http **out);
void sim_http_free(sim_http **h);
/* POST (body != NULL) or GET; *resp is the parsed JSON answer or NULL */
long sim_http_call(sim_http *h, const char *path, json_t *body, json_t **resp);
/* raw body, for malformed-input tests */
long sim_http_raw(sim_http *h, const char *path, const char *body, size_t len,
    json_t **resp);

/* the Authorization header of every later call (NULL: none) */
int sim_http_set_auth(sim_http *h, const char *authorization);
/* the last answer's body, as it came */
const char *sim_http_body(sim_http *h, size_t *len);
/* a header of the last answer, or NULL */
const char *sim_http_header(sim_http *h, const char *name);

/* issuer sessions (docs/issuer.md "Sessions"): the card's proof over a
 * challenge (wk_msg type 17) with scope (WK_MSG_SCOPE_*) */
#define SIM_TOKEN_MAX 64
int sim_card_session_proof(sim_card *c, const uint8_t chal[WK_MSG_NONCE_LEN],
    uint8_t scope, wk_buf *out);
/* POST /v1/cards/{card}/challenges */
long sim_challenge(sim_http *h, const char *card_hex,
    uint8_t chal[WK_MSG_NONCE_LEN]);
/* challenge, proof, POST /v1/sessions: the token */
long sim_session(sim_http *h, sim_card *c, uint8_t scope,
    char token[SIM_TOKEN_MAX]);
/* a session of c, whose token h sends from now on */
long sim_login(sim_http *h, sim_card *c, uint8_t scope);

/* the base64 string s decoded into out: its length or -1 */
long sim_unb64(json_t *s, uint8_t *out, size_t cap);

/*
 * one whole load: request, grant, receipt. Returns the HTTP status of the
 * first failing step (or 200); *load_id (may be NULL, 33 bytes) gets the id.
 */
long sim_load(sim_http *h, sim_card *c, uint32_t amount, char *load_id);

/* enrolment: CSR, the attestation of the wallet key in slot 82, certificate,
 * trust anchor, personalisation; *out (may be NULL) gets the issuer's answer */
long sim_enrol(sim_http *h, sim_card *c, const char *password, json_t **out);

#endif
