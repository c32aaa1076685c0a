/*
 * the transfer peers the card trusts (docs/remote-load.md "Card to card",
 * docs/audit.md "Revocation list"): a peer certificate must be signed by
 * the wallet's trust anchor, name the peer's card id, be inside its
 * validity dates, and its card id must not be on the issuer's revocation
 * list. The list arrives with the audit sync (audit.c, ACKNOWLEDGE's
 * neighbour), signed with the issuer's CA key, and is kept whole in the
 * store; its version only rises.
 *
 * The card's clock is the machine's, but never earlier than the issue
 * time of the list it holds, so a clock set back does not revive a
 * certificate that had expired when the issuer signed that list.
 */
#include "purse.h"

#include <string.h>
#include <time.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "piv_wallet.h"
#include "vc_store.h"
#include "wk_arec.h"
#include "wk_hex.h"
#include "wk_msg.h"

#define WALLET_APPLET "wallet"
#define KEY_CRL "crl"
#define CRL_BLOB_MAX (WK_AREC_CRL_HDR + WK_AREC_CRL_MAX * WK_AREC_CRL_ID_LEN + \
	WK_AREC_SIG_MAX)

/* the stored list (already checked when it was taken) into b; parsed into l.
 * VC_STORE_NOT_FOUND when the card never took one */
static int
crl_load(vc_card *card, wk_buf *b, wk_arec_crl *l)
{
	int rc;

	memset(l, 0, sizeof(*l));
	rc = vc_store_get(vc_card_store(card), WALLET_APPLET, KEY_CRL, b);
	if (rc != VC_STORE_OK)
		return rc;
	if (wk_buf_failed(b) || wk_arec_crl_parse(b->p, b->len, l) != WK_AREC_OK)
		return VC_STORE_CORRUPT;
	return VC_STORE_OK;
}

uint16_t
purse_crl_put(vc_card *card, const uint8_t *data, size_t len)
{
	EVP_PKEY *anchor = NULL;
	wk_arec_crl in, old;
	wk_buf b;
	uint16_t sw = WK_SW_MEMORY_FAILURE;
	int rc;

	wk_buf_init_heap(&b, CRL_BLOB_MAX);
	if (wk_arec_crl_parse(data, len, &in) != WK_AREC_OK) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	/* not enrolled: no issuer key to believe */
	if (piv_wallet_anchor(card, &anchor) != 0) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	if (wk_arec_sig_verify(anchor, data, in.tbs_len, in.sig, in.sig_len) !=
	    WK_AREC_OK) {
		sw = WK_SW_SECURITY_STATUS;
		goto out;
	}
	rc = crl_load(card, &b, &old);
	if (rc != VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
		goto out;
	if (rc == VC_STORE_OK) {
		/* an older list never replaces a newer one */
		if (in.version < old.version) {
			sw = WK_SW_CONDITIONS;
			goto out;
		}
		/* the same version again (every sync brings it): nothing changes */
		if (in.version == old.version) {
			sw = WK_SW_OK;
			goto out;
		}
	}
	if (vc_store_put(vc_card_store(card), WALLET_APPLET, KEY_CRL, data, len) !=
	    VC_STORE_OK)
		goto out;
	sw = WK_SW_OK;
out:
	EVP_PKEY_free(anchor);
	wk_buf_clear(&b);
	return sw;
}

uint16_t
purse_crl_status(vc_card *card, wk_buf *resp)
{
	wk_arec_crl l;
	wk_buf b;
	uint16_t sw = WK_SW_MEMORY_FAILURE;
	int rc;

	wk_buf_init_heap(&b, CRL_BLOB_MAX);
	rc = crl_load(card, &b, &l);
	if (rc != VC_STORE_OK && rc != VC_STORE_NOT_FOUND)
		goto out;
	/* none: version 0, issued 0, no ids */
	for (int i = 7; i >= 0; i--)
		wk_buf_u8(resp, (uint8_t)(l.version >> (8 * i)));
	for (int i = 7; i >= 0; i--)
		wk_buf_u8(resp, (uint8_t)(l.issued >> (8 * i)));
	wk_buf_be16(resp, l.count);
	sw = WK_SW_OK;
out:
	wk_buf_clear(&b);
	return sw;
}

/* the card's now: the machine's clock, never before the newest list */
static time_t
card_now(const wk_arec_crl *l)
{
	time_t now = time(NULL);

	if (l->issued > (uint64_t)now && l->issued < (uint64_t)INT64_MAX)
		now = (time_t)l->issued;
	return now;
}

int
purse_peer_key(vc_card *card, const uint8_t *der, size_t len,
    const uint8_t id[WK_MSG_CARD_ID_LEN], EVP_PKEY **out)
{
	const uint8_t *p = der;
	EVP_PKEY *anchor = NULL;
	X509 *x = NULL;
	wk_arec_crl l;
	wk_buf b;
	char cn[40], want[2 * WK_MSG_CARD_ID_LEN + 1];
	time_t now;
	int rc = -1, n;

	*out = NULL;
	wk_buf_init_heap(&b, CRL_BLOB_MAX);
	if (len == 0 || len > PURSE_PEER_CERT_MAX ||
	    piv_wallet_anchor(card, &anchor) != 0 ||
	    (x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len ||
	    X509_verify(x, anchor) != 1)
		goto out;
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, sizeof(cn));
	wk_hex_encode(id, WK_MSG_CARD_ID_LEN, want);
	if (n != (int)strlen(want) || strcasecmp(cn, want) != 0)
		goto out;
	n = crl_load(card, &b, &l);
	if (n != VC_STORE_OK && n != VC_STORE_NOT_FOUND)
		goto out;
	/* revoked by the issuer */
	if (n == VC_STORE_OK && wk_arec_crl_has(&l, id))
		goto out;
	/* inside its validity dates */
	now = card_now(&l);
	if (X509_cmp_time(X509_get0_notBefore(x), &now) >= 0 ||
	    X509_cmp_time(X509_get0_notAfter(x), &now) <= 0)
		goto out;
	if ((*out = X509_get_pubkey(x)) != NULL)
		rc = 0;
out:
	wk_buf_clear(&b);
	X509_free(x);
	EVP_PKEY_free(anchor);
	return rc;
}
