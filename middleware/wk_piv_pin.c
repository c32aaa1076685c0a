/* PIV PIN and PUK: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER */
#include "wk_piv_internal.h"

#include <string.h>

#include <sodium.h>

#include "wk_apdu.h"

#define INS_VERIFY 0x20
#define INS_CHANGE 0x24
#define INS_UNBLOCK 0x2C
#define INS_SET_RETRIES 0xFA

static void
tries_from_sw(const wk_piv *piv, int rc, unsigned *tries_left)
{
	if (tries_left == NULL)
		return;
	if (rc == WK_ERR_WRONG_PIN && (piv->sw & 0xFFF0) == WK_SW_WRONG_PIN)
		*tries_left = piv->sw & 0x0F;
	else if (rc == WK_ERR_PIN_BLOCKED)
		*tries_left = 0;
}

int
wk_piv_verify_pin(wk_piv *piv, const uint8_t *pin, size_t len,
    unsigned *tries_left)
{
	uint8_t padded[8];
	int rc = WK_ERR_ARG;

	if (piv == NULL)
		goto out;
	if ((rc = wk_piv_pad_pin(pin, len, padded)) != WK_OK)
		goto out;
	rc = wk_piv_cmd(piv, INS_VERIFY, 0x00, WK_PIV_REF_PIN, padded,
	    sizeof(padded), NULL, NULL);
	tries_from_sw(piv, rc, tries_left);
out:
	sodium_memzero(padded, sizeof(padded));
	return rc;
}

int
wk_piv_pin_status(wk_piv *piv, bool *verified, unsigned *tries_left)
{
	int rc = WK_ERR_ARG;

	if (piv == NULL || verified == NULL || tries_left == NULL)
		goto out;
	*verified = false;
	*tries_left = 0;
	rc = wk_piv_cmd(piv, INS_VERIFY, 0x00, WK_PIV_REF_PIN, NULL, 0, NULL,
	    NULL);
	if (rc == WK_OK) {
		*verified = true;
	} else if (rc == WK_ERR_WRONG_PIN &&
	    (piv->sw & 0xFFF0) == WK_SW_WRONG_PIN) {
		/* 63Cx to the status query is "not verified, x left" */
		*tries_left = piv->sw & 0x0F;
		rc = WK_OK;
	} else if (rc == WK_ERR_PIN_BLOCKED) {
		rc = WK_OK;
	}
out:
	return rc;
}

int
wk_piv_logout(wk_piv *piv)
{
	if (piv == NULL)
		return WK_ERR_ARG;
	return wk_piv_cmd(piv, INS_VERIFY, 0xFF, WK_PIV_REF_PIN, NULL, 0,
	    NULL, NULL);
}

/* two FF-padded values, old then new, as CHANGE and RESET RETRY take them */
static int
pin_pair(uint8_t ins, wk_piv *piv, uint8_t ref, const uint8_t *a,
    size_t a_len, const uint8_t *b, size_t b_len, unsigned *tries_left)
{
	uint8_t data[16];
	int rc = WK_ERR_ARG;

	if (piv == NULL)
		goto out;
	if (wk_piv_pad_pin(a, a_len, data) != WK_OK ||
	    wk_piv_pad_pin(b, b_len, data + 8) != WK_OK)
		goto out;
	rc = wk_piv_cmd(piv, ins, 0x00, ref, data, sizeof(data), NULL, NULL);
	tries_from_sw(piv, rc, tries_left);
out:
	sodium_memzero(data, sizeof(data));
	return rc;
}

int
wk_piv_change_reference(wk_piv *piv, uint8_t ref, const uint8_t *old,
    size_t old_len, const uint8_t *new_value, size_t new_len,
    unsigned *tries_left)
{
	if (ref != WK_PIV_REF_PIN && ref != WK_PIV_REF_PUK)
		return WK_ERR_ARG;
	return pin_pair(INS_CHANGE, piv, ref, old, old_len, new_value, new_len,
	    tries_left);
}

int
wk_piv_unblock_pin(wk_piv *piv, const uint8_t *puk, size_t puk_len,
    const uint8_t *new_pin, size_t new_len, unsigned *tries_left)
{
	return pin_pair(INS_UNBLOCK, piv, WK_PIV_REF_PIN, puk, puk_len,
	    new_pin, new_len, tries_left);
}

int
wk_piv_set_pin_retries(wk_piv *piv, uint8_t pin_tries, uint8_t puk_tries)
{
	if (piv == NULL || pin_tries == 0 || puk_tries == 0 ||
	    pin_tries > 15 || puk_tries > 15)
		return WK_ERR_ARG;
	return wk_piv_cmd(piv, INS_SET_RETRIES, pin_tries, puk_tries, NULL, 0,
	    NULL, NULL);
}
