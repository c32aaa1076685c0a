/* wk_rc messages and the one status word translation */
#include "walletkey.h"

#include <stddef.h>

static const char *const messages[] = {
	[0] = "success",
	[1] = "invalid argument or usage",
	[2] = "out of memory",
	[3] = "the PC/SC service (pcscd) is not running or not reachable: start pcscd, or set PCSCLITE_CSOCK_NAME to its socket",
	[4] = "no smart-card reader found: check that pcscd sees a reader (walletkey readers), or fix --reader",
	[5] = "no card in the reader: insert the card or start walletkey-card",
	[6] = "the card was removed or reset during the operation: reconnect and try again",
	[7] = "the exchange with the card failed: check the reader and the card, then try again",
	[8] = "the card sent an answer that does not parse: is this the right card?",
	[9] = "the card answered with an unexpected status word",
	[10] = "wrong PIN",
	[11] = "the PIN is blocked: unblock it with the PUK",
	[12] = "the card requires authentication first: verify the PIN",
	[13] = "not found on the card (application, object, file or key)",
	[14] = "the card does not support this command",
	[15] = "the card refused the data sent to it",
	[16] = "the card's conditions of use are not satisfied for this command",
	[17] = "the card has no space left",
	[18] = "the card refused the command parameters (P1/P2)",
	[19] = "the card refused the command length",
	[20] = "command out of sequence: start the operation again",
	[21] = "a purse MAC did not verify: the transaction was refused and nothing changed",
	[22] = "insufficient funds in the purse",
	[23] = "a counter or balance limit of the card was reached",
	[24] = "no such purse key: the card or the SAM has none of this index and algorithm",
	[25] = "authentication failed: wrong management key or bad signature",
	[26] = "host-side cryptography failed",
	[27] = "the issuer could not be reached: check the network and the issuer URL",
	[28] = "the issuer refused the request",
	[29] = "a file on this computer could not be read or written",
	[30] = "internal error (a bug): please report it",
	[31] = "the purse is blocked after repeated wrong MACs: the issuer must unblock it (walletkey wallet unblock)",
	[32] = "cancelled: the holder did not confirm; nothing was done",
};

const char *
wk_strerror(int rc)
{
	size_t i;

	if (rc > 0 || rc < WK_ERR_LAST)
		return "unknown error code";
	i = (size_t)-rc;
	if (i >= sizeof(messages) / sizeof(messages[0]) || messages[i] == NULL)
		return "unknown error code";
	return messages[i];
}

/* ISO 7816-4 section 5.1.3 and pboc-purse.md section 6 */
int
wk_rc_from_sw(uint16_t sw)
{
	uint8_t sw1 = (uint8_t)(sw >> 8);
	int rc = WK_ERR_SW;

	if (sw == 0x9000 || sw1 == 0x61)
		return WK_OK;
	if ((sw & 0xFFF0) == 0x63C0)
		return WK_ERR_WRONG_PIN;
	if (sw1 == 0x6C)
		return WK_ERR_WRONG_LENGTH;

	switch (sw) {
	case 0x6581:
		rc = WK_ERR_NO_SPACE;
		break;
	case 0x6700:
	case 0x6A87:
		rc = WK_ERR_WRONG_LENGTH;
		break;
	case 0x6881:
	case 0x6882:
	case 0x6884:
	case 0x6A81:
	case 0x6D00:
	case 0x6E00:
		rc = WK_ERR_NOT_SUPPORTED;
		break;
	case 0x6883:
	case 0x6901:
		rc = WK_ERR_INVALID_STATE;
		break;
	case 0x6982:
		rc = WK_ERR_AUTH_REQUIRED;
		break;
	case 0x6983:
		rc = WK_ERR_PIN_BLOCKED;
		break;
	case 0x6984:
	case 0x6985:
	case 0x6986:
	case 0x9303:
		rc = WK_ERR_CONDITIONS;
		break;
	case 0x6987:
	case 0x6988:
	case 0x6A80:
		rc = WK_ERR_BAD_DATA;
		break;
	case 0x6A82:
	case 0x6A83:
	case 0x6A88:
	case 0x9406:
		rc = WK_ERR_NOT_FOUND;
		break;
	case 0x6A84:
		rc = WK_ERR_NO_SPACE;
		break;
	case 0x6A86:
	case 0x6B00:
		rc = WK_ERR_BAD_PARAMS;
		break;
	case 0x6300:	/* a signature that does not verify (GM applet) */
		rc = WK_ERR_AUTH_FAILED;
		break;
	case 0x9302:
		rc = WK_ERR_MAC;
		break;
	case 0x9401:
		rc = WK_ERR_FUNDS;
		break;
	case 0x9402:
		rc = WK_ERR_LIMIT;
		break;
	case 0x9403:
		rc = WK_ERR_KEY_NOT_FOUND;
		break;
	default:
		rc = WK_ERR_SW;
		break;
	}
	return rc;
}
