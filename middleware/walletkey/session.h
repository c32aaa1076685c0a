/*
 * libwalletkey: issuer sessions (docs/issuer.md "Sessions").
 * Part of <walletkey.h>, which includes every part; see there for the
 * conventions.
 */
#ifndef WALLETKEY_SESSION_H
#define WALLETKEY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "wallet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== issuer sessions (docs/issuer.md "Sessions") =======================
 * The issuer's doors that read or change a card's data (its audit history
 * and loads, record uploads and acknowledgements, a load's state) want a
 * short-lived bearer token of that card. The card earns one by signing the
 * issuer's fresh, single-use challenge with its wallet key (PIV slot 82) in
 * a session proof it builds itself (ISSUER SESSION, wk_msg type 17): no
 * other signature of the card is one, and the host cannot make the card
 * sign bytes of its choosing. */
#define WK_ISSUER_CHALLENGE_LEN 16
#define WK_ISSUER_TOKEN_MAX 64
typedef enum wk_issuer_scope {
	/* the card is present: upload records, acknowledge, read a load */
	WK_ISSUER_SCOPE_CARD = 1,
	/* and its holder gave the purse PIN: also read the history and the
	 * ledger's loads of the card */
	WK_ISSUER_SCOPE_HOLDER = 2,
} wk_issuer_scope;
typedef struct wk_issuer_session {
	char token[WK_ISSUER_TOKEN_MAX + 1];	/* "Authorization: Bearer" */
	char card_id[17];			/* hex */
	wk_issuer_scope scope;
	long expires_in;			/* seconds, from the issuer */
} wk_issuer_session;

/* the purse selected (a blocked purse answers too): the card's session
 * proof over the issuer's challenge. WK_ERR_AUTH_REQUIRED: scope HOLDER
 * without wk_purse_verify_pin in this selection; WK_ERR_CONDITIONS: the
 * card is not enrolled. *len: capacity in, length out */
int wk_wallet_session_proof(wk_card *card, wk_issuer_scope scope,
    const uint8_t challenge[WK_ISSUER_CHALLENGE_LEN], uint8_t *msg,
    size_t *len);
/* POST /v1/cards/{card}/challenges: a fresh challenge for the card */
int wk_issuer_challenge(wk_issuer *is, const char *card_id_hex,
    uint8_t challenge[WK_ISSUER_CHALLENGE_LEN]);
/* POST /v1/sessions: the token for the card's proof; is sends it from
 * now on (wk_issuer_set_token) */
int wk_issuer_session_start(wk_issuer *is, const uint8_t *proof, size_t len,
    wk_issuer_session *out);
/* the bearer token every later call of is sends; NULL: none. The token is
 * a secret for its few minutes: is wipes it when replaced or freed */
int wk_issuer_set_token(wk_issuer *is, const char *token);
/*
 * the whole flow, in one card transaction: reads the card id, selects the
 * purse, verifies pin when pin != NULL (then the session has the holder's
 * scope, else the card's), asks the issuer for a challenge, has the card
 * sign it, opens the session and installs its token in is. *tries_left
 * (may be NULL) on WK_ERR_WRONG_PIN. The issuer's refusal is
 * WK_ERR_ISSUER (wk_issuer_error_code: card_revoked, ...). out may be NULL.
 */
int wk_issuer_session_open(wk_card *card, wk_issuer *is, const char *pin,
    size_t pin_len, int *tries_left, wk_issuer_session *out);

#ifdef __cplusplus
}
#endif

#endif
