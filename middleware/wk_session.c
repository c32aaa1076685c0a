/*
 * an issuer session (docs/issuer.md "Sessions"): the card signs the
 * issuer's challenge in a session proof it builds itself, and the issuer
 * answers a short-lived bearer token for that card's doors
 */
#include "walletkey.h"

#include <string.h>

#include <sodium.h>

#include "wk_hex.h"

int
wk_issuer_session_open(wk_card *card, wk_issuer *is, const char *pin,
    size_t pin_len, int *tries_left, wk_issuer_session *out)
{
	uint8_t chal[WK_ISSUER_CHALLENGE_LEN], proof[WK_WALLET_MSG_MAX];
	char id[17];
	size_t len = sizeof(proof);
	wk_card_info info;
	wk_issuer_session tmp;
	wk_issuer_scope scope = pin != NULL ? WK_ISSUER_SCOPE_HOLDER :
	    WK_ISSUER_SCOPE_CARD;
	int rc;

	if (card == NULL || is == NULL || (pin != NULL && pin_len == 0))
		return WK_ERR_ARG;
	if (out == NULL)
		out = &tmp;
	memset(out, 0, sizeof(*out));
	if ((rc = wk_card_begin(card)) != WK_OK)
		return rc;
	if ((rc = wk_card_get_info(card, &info)) != WK_OK)
		goto out;
	wk_hex_encode(info.serial, sizeof(info.serial), id);
	/* a blocked purse is selected all the same and answers ISSUER SESSION */
	rc = wk_purse_select(card, NULL, 0, NULL);
	if (rc != WK_OK && rc != WK_ERR_PURSE_BLOCKED)
		goto out;
	if (pin != NULL && (rc = wk_purse_verify_pin(card, pin, pin_len,
	    tries_left)) != WK_OK)
		goto out;
	if ((rc = wk_issuer_challenge(is, id, chal)) != WK_OK ||
	    (rc = wk_wallet_session_proof(card, scope, chal, proof, &len)) !=
	    WK_OK)
		goto out;
	rc = wk_issuer_session_start(is, proof, len, out);
out:
	(void)wk_card_end(card);
	sodium_memzero(&tmp, sizeof(tmp));
	return rc;
}
