/* the card side of enrolment and remote load: the wallet commands of
 * docs/remote-load.md (purse CLA 80 INS E0-E6, PIV CLA 80 INS E8) */
#include "walletkey.h"
#include "wk_internal.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_buf.h"
#include "wk_msg.h"
#include "wk_tlv.h"

#define CLA_WALLET 0x80
#define INS_LOAD_REQUEST 0xE0
#define INS_LOAD_GRANT 0xE2
#define INS_LOAD_RECOVER 0xE4
#define INS_PERSONALISE 0xE6
#define INS_SETUP 0xE8
#define INS_SESSION 0xEF

static int
wallet_cmd(wk_card *card, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc, uint8_t *resp, size_t *rlen)
{
	return wk_card_cmd(card, CLA_WALLET, ins, p1, p2, data, lc,
	    resp != NULL ? 256 : 0, resp, rlen);
}

/* a signed message of an expected type from the card */
static int
check_msg(const uint8_t *msg, size_t len, int type1, int type2)
{
	wk_msg m;

	if (wk_msg_parse(msg, len, &m, NULL, NULL) != WK_MSG_OK ||
	    (m.type != type1 && m.type != type2))
		return WK_ERR_CARD_MALFORMED;
	return WK_OK;
}

int
wk_wallet_setup(wk_piv *piv, const uint8_t *point, const char *pan)
{
	uint8_t data[WK_WALLET_POINT_LEN + 32];
	wk_buf b;
	size_t n;

	if (piv == NULL || (point == NULL) != (pan == NULL))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, data, sizeof(data));
	if (point != NULL) {
		n = strlen(pan);
		if (n == 0 || n > WK_MSG_PAN_MAX)
			return WK_ERR_ARG;
		wk_tlv_put(&b, 0x01, point, WK_WALLET_POINT_LEN);
		wk_tlv_put(&b, 0x02, pan, n);
		if (wk_buf_failed(&b))
			return WK_ERR_ARG;
	}
	return wallet_cmd(wk_piv_card(piv), INS_SETUP, 0, 0, b.len ? data : NULL,
	    b.len, NULL, NULL);
}

int
wk_wallet_cert_point(const uint8_t *der, size_t len,
    uint8_t point[WK_WALLET_POINT_LEN])
{
	const uint8_t *p = der;
	X509 *x = NULL;
	EVP_PKEY *k;
	size_t n = 0;
	int rc = WK_ERR_BAD_DATA;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    (k = X509_get0_pubkey(x)) == NULL || !EVP_PKEY_is_a(k, "EC") ||
	    EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
	    point, WK_WALLET_POINT_LEN, &n) != 1 || n != WK_WALLET_POINT_LEN ||
	    point[0] != 0x04)
		goto out;
	rc = WK_OK;
out:
	X509_free(x);
	return rc;
}

int
wk_wallet_load_request(wk_card *card, wk_purse_kind kind, uint8_t key_index,
    uint32_t amount, const uint8_t terminal[6], uint8_t *msg, size_t *len)
{
	uint8_t data[11];
	int rc;

	if (card == NULL || msg == NULL || len == NULL || amount == 0 ||
	    (kind != WK_PURSE_ED && kind != WK_PURSE_EP))
		return WK_ERR_ARG;
	data[0] = key_index;
	data[1] = (uint8_t)(amount >> 24);
	data[2] = (uint8_t)(amount >> 16);
	data[3] = (uint8_t)(amount >> 8);
	data[4] = (uint8_t)amount;
	memcpy(data + 5, terminal, 6);
	if ((rc = wallet_cmd(card, INS_LOAD_REQUEST, 0x00, (uint8_t)kind, data,
	    sizeof(data), msg, len)) != WK_OK)
		return rc;
	return check_msg(msg, *len, WK_MSG_LOAD_REQUEST, WK_MSG_LOAD_REQUEST);
}

int
wk_wallet_load_grant(wk_card *card, const uint8_t *grant, size_t glen,
    uint8_t *msg, size_t *len, bool *refused)
{
	wk_msg m;
	int rc;

	if (card == NULL || grant == NULL || glen == 0 || glen > WK_MSG_MAX ||
	    msg == NULL || len == NULL || refused == NULL)
		return WK_ERR_ARG;
	if ((rc = wallet_cmd(card, INS_LOAD_GRANT, 0, 0, grant, glen, msg,
	    len)) != WK_OK)
		return rc;
	if (wk_msg_parse(msg, *len, &m, NULL, NULL) != WK_MSG_OK ||
	    (m.type != WK_MSG_LOAD_RECEIPT && m.type != WK_MSG_LOAD_REFUSAL))
		return WK_ERR_CARD_MALFORMED;
	*refused = m.type == WK_MSG_LOAD_REFUSAL;
	return WK_OK;
}

int
wk_wallet_recover(wk_card *card, wk_purse_kind kind,
    const uint8_t load_id[WK_WALLET_LOAD_ID_LEN], uint16_t seq, uint8_t *msg,
    size_t *len, bool *credited)
{
	uint8_t data[WK_WALLET_LOAD_ID_LEN + 2];
	wk_msg m;
	int rc;

	if (card == NULL || load_id == NULL || msg == NULL || len == NULL ||
	    credited == NULL || (kind != WK_PURSE_ED && kind != WK_PURSE_EP))
		return WK_ERR_ARG;
	memcpy(data, load_id, WK_WALLET_LOAD_ID_LEN);
	data[16] = (uint8_t)(seq >> 8);
	data[17] = (uint8_t)seq;
	if ((rc = wallet_cmd(card, INS_LOAD_RECOVER, 0, (uint8_t)kind, data,
	    sizeof(data), msg, len)) != WK_OK)
		return rc;
	if (wk_msg_parse(msg, *len, &m, NULL, NULL) != WK_MSG_OK ||
	    (m.type != WK_MSG_LOAD_PROOF && m.type != WK_MSG_LOAD_NEVER))
		return WK_ERR_CARD_MALFORMED;
	*credited = m.type == WK_MSG_LOAD_PROOF;
	return WK_OK;
}

int
wk_wallet_personalise(wk_card *card, const uint8_t *msg, size_t len)
{
	if (card == NULL || msg == NULL || len == 0 || len > WK_MSG_MAX)
		return WK_ERR_ARG;
	return wallet_cmd(card, INS_PERSONALISE, 0, 0, msg, len, NULL, NULL);
}

int
wk_wallet_msg_info_get(const uint8_t *msg, size_t len, wk_wallet_msg_info *info)
{
	wk_msg m;

	if (msg == NULL || info == NULL)
		return WK_ERR_ARG;
	memset(info, 0, sizeof(*info));
	if (wk_msg_parse(msg, len, &m, NULL, NULL) != WK_MSG_OK)
		return WK_ERR_BAD_DATA;
	info->type = m.type;
	memcpy(info->card_id, m.card_id, sizeof(info->card_id));
	info->seq = m.seq;
	info->amount = m.amount;
	info->balance = m.balance;
	memcpy(info->load_id, m.load_id, sizeof(info->load_id));
	memcpy(info->tac, m.tac, sizeof(info->tac));
	info->reason = m.reason;
	memcpy(info->pan, m.pan, sizeof(info->pan));
	if (m.type == WK_MSG_UNBLOCK_REQUEST)
		memcpy(info->challenge, m.card_random, sizeof(info->challenge));
	sodium_memzero(&m, sizeof(m));
	return WK_OK;
}

/* ---- unblock (docs/purse.md "Blocking") ---- */

#define INS_UNBLOCK_REQUEST 0xEE
#define CLA_SM 0x84
#define INS_APP_UNBLOCK 0x18

int
wk_wallet_unblock_request(wk_card *card, uint8_t *msg, size_t *len)
{
	int rc;

	if (card == NULL || msg == NULL || len == NULL)
		return WK_ERR_ARG;
	if ((rc = wallet_cmd(card, INS_UNBLOCK_REQUEST, 0, 0, NULL, 0, msg,
	    len)) != WK_OK)
		return rc;
	return check_msg(msg, *len, WK_MSG_UNBLOCK_REQUEST,
	    WK_MSG_UNBLOCK_REQUEST);
}

int
wk_wallet_unblock(wk_card *card, const uint8_t mac[WK_WALLET_UNBLOCK_MAC_LEN],
    uint16_t *swp)
{
	uint8_t tmp[8];
	size_t len = sizeof(tmp);
	uint16_t sw = 0;
	int rc;

	if (card == NULL || mac == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_card_apdu(card, CLA_SM, INS_APP_UNBLOCK, 0, 0, mac,
	    WK_WALLET_UNBLOCK_MAC_LEN, 0, tmp, &len, &sw)) != WK_OK)
		return rc;
	if (swp != NULL)
		*swp = sw;
	switch (sw) {
	case 0x6988:
		return WK_ERR_AUTH_FAILED;
	case 0x6982:
		return WK_ERR_INVALID_STATE;
	case 0x9303:
		return WK_ERR_PURSE_BLOCKED;
	default:
		return wk_rc_from_sw(sw);
	}
}

/* ---- card to card ---- */

#define INS_XFER_CHALLENGE 0xE8
#define INS_XFER_AUTH_SIGN 0xE9
#define INS_XFER_AUTH_VERIFY 0xEA
#define INS_XFER_SEND 0xEB
#define INS_XFER_TOKEN 0xEC
#define INS_XFER_REDEEM 0xED

int
wk_wallet_xfer_challenge(wk_card *card, bool receive,
    uint8_t chal[WK_WALLET_CHALLENGE_LEN])
{
	uint8_t r[32];
	size_t len = sizeof(r);
	int rc;

	if (card == NULL || chal == NULL)
		return WK_ERR_ARG;
	if ((rc = wallet_cmd(card, INS_XFER_CHALLENGE, receive ? 1 : 0, 0, NULL,
	    0, r, &len)) != WK_OK)
		return rc;
	if (len != WK_WALLET_CHALLENGE_LEN)
		return WK_ERR_CARD_MALFORMED;
	memcpy(chal, r, WK_WALLET_CHALLENGE_LEN);
	return WK_OK;
}

int
wk_wallet_xfer_auth_sign(wk_card *card,
    const uint8_t chal[WK_WALLET_CHALLENGE_LEN], const uint8_t peer_id[8],
    uint8_t *msg, size_t *len)
{
	uint8_t d[WK_WALLET_CHALLENGE_LEN + 8];
	int rc;

	if (card == NULL || chal == NULL || peer_id == NULL || msg == NULL ||
	    len == NULL)
		return WK_ERR_ARG;
	memcpy(d, chal, WK_WALLET_CHALLENGE_LEN);
	memcpy(d + WK_WALLET_CHALLENGE_LEN, peer_id, 8);
	if ((rc = wallet_cmd(card, INS_XFER_AUTH_SIGN, 0, 0, d, sizeof(d), msg,
	    len)) != WK_OK)
		return rc;
	return check_msg(msg, *len, WK_MSG_XFER_AUTH, WK_MSG_XFER_AUTH);
}

/* 01 cert 02 msg */
static int
cert_msg(const uint8_t *cert, size_t cert_len, const uint8_t *msg, size_t len,
    wk_buf *b)
{
	if (cert == NULL || msg == NULL || cert_len == 0 || len == 0)
		return WK_ERR_ARG;
	wk_tlv_put(b, 0x01, cert, cert_len);
	wk_tlv_put(b, 0x02, msg, len);
	return wk_buf_failed(b) ? WK_ERR_ARG : WK_OK;
}

int
wk_wallet_xfer_auth_verify(wk_card *card, const uint8_t *cert,
    size_t cert_len, const uint8_t *msg, size_t len)
{
	uint8_t d[4096];
	wk_buf b;
	int rc;

	if (card == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, d, sizeof(d));
	if ((rc = cert_msg(cert, cert_len, msg, len, &b)) != WK_OK)
		return rc;
	return wallet_cmd(card, INS_XFER_AUTH_VERIFY, 0, 0, b.p, b.len, NULL,
	    NULL);
}

int
wk_wallet_xfer_send(wk_card *card, const uint8_t peer_id[8],
    const uint8_t chal[WK_WALLET_CHALLENGE_LEN], uint32_t amount,
    uint8_t *token, size_t *len)
{
	uint8_t d[8 + WK_WALLET_CHALLENGE_LEN + 4];
	int rc;

	if (card == NULL || peer_id == NULL || chal == NULL || token == NULL ||
	    len == NULL)
		return WK_ERR_ARG;
	memcpy(d, peer_id, 8);
	memcpy(d + 8, chal, WK_WALLET_CHALLENGE_LEN);
	d[24] = (uint8_t)(amount >> 24);
	d[25] = (uint8_t)(amount >> 16);
	d[26] = (uint8_t)(amount >> 8);
	d[27] = (uint8_t)amount;
	if ((rc = wallet_cmd(card, INS_XFER_SEND, 0, 0x02, d, sizeof(d), token,
	    len)) != WK_OK)
		return rc;
	return check_msg(token, *len, WK_MSG_XFER_TOKEN, WK_MSG_XFER_TOKEN);
}

int
wk_wallet_xfer_token(wk_card *card, const uint8_t chal[WK_WALLET_CHALLENGE_LEN],
    uint8_t *token, size_t *len)
{
	int rc;

	if (card == NULL || chal == NULL || token == NULL || len == NULL)
		return WK_ERR_ARG;
	if ((rc = wallet_cmd(card, INS_XFER_TOKEN, 0, 0, chal,
	    WK_WALLET_CHALLENGE_LEN, token, len)) != WK_OK)
		return rc;
	return check_msg(token, *len, WK_MSG_XFER_TOKEN, WK_MSG_XFER_TOKEN);
}

int
wk_wallet_xfer_redeem(wk_card *card, const uint8_t *cert, size_t cert_len,
    const uint8_t *token, size_t len, uint32_t *balance, bool *already)
{
	uint8_t d[4096], r[8];
	size_t rlen = sizeof(r);
	uint16_t sw = 0;
	wk_buf b;
	int rc;

	if (card == NULL || balance == NULL || already == NULL)
		return WK_ERR_ARG;
	*already = false;
	wk_buf_init_fixed(&b, d, sizeof(d));
	if ((rc = cert_msg(cert, cert_len, token, len, &b)) != WK_OK)
		return rc;
	if ((rc = wk_card_apdu(card, CLA_WALLET, INS_XFER_REDEEM, 0, 0, b.p, b.len,
	    256, r, &rlen, &sw)) != WK_OK)
		return rc;
	if (sw == 0x6984) {
		*already = true;
		return WK_OK;
	}
	if ((rc = wk_rc_from_sw(sw)) != WK_OK)
		return rc;
	if (rlen != 4)
		return WK_ERR_CARD_MALFORMED;
	*balance = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 |
	    (uint32_t)r[2] << 8 | r[3];
	return WK_OK;
}

int
wk_wallet_session_proof(wk_card *card, wk_issuer_scope scope,
    const uint8_t challenge[WK_ISSUER_CHALLENGE_LEN], uint8_t *msg,
    size_t *len)
{
	int rc;

	if (card == NULL || challenge == NULL || msg == NULL || len == NULL ||
	    (scope != WK_ISSUER_SCOPE_CARD && scope != WK_ISSUER_SCOPE_HOLDER))
		return WK_ERR_ARG;
	if ((rc = wallet_cmd(card, INS_SESSION, scope == WK_ISSUER_SCOPE_HOLDER ?
	    0x01 : 0x00, 0, challenge, WK_ISSUER_CHALLENGE_LEN, msg, len)) !=
	    WK_OK)
		return rc;
	return check_msg(msg, *len, WK_MSG_SESSION_AUTH, WK_MSG_SESSION_AUTH);
}
