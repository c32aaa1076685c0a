/*
 * enrolment as one flow (docs/remote-load.md, docs/attestation.md): the
 * wallet key generated in PIV slot 82, the card's attestation of it, the
 * CSR the card signs, the issuer's certificate, trust anchor and purse keys
 */
#include "wk_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_tlv.h"

#define CERT_MAX 2048
#define ATTEST_MAX 4096

static void
step(wk_enrol_progress_fn progress, void *arg, wk_enrol_step s,
    const char *card_hex)
{
	if (progress != NULL)
		progress(arg, s, card_hex);
}

/* the CSR, subject CN = card id, signed by the card's slot-82 key */
static int
card_csr(wk_piv *piv, EVP_PKEY *pub, const char *card_hex, uint8_t **der,
    size_t *der_len)
{
	uint8_t sig[WK_PIV_SIG_MAX], md[32];
	size_t sig_len = sizeof(sig);
	unsigned char *tbs = NULL;
	EVP_PKEY *dummy = NULL;
	X509_REQ *req = NULL, *check = NULL;
	ASN1_BIT_STRING *bits = NULL;
	const unsigned char *p;
	int n, rc = WK_ERR_CRYPTO;

	*der = NULL;
	/* a throwaway key of the same type: OpenSSL writes the signature's
	 * AlgorithmIdentifier as it would for the card's key */
	if ((req = X509_REQ_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_ASC, (const unsigned char *)card_hex, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, pub) != 1 ||
	    (dummy = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    X509_REQ_sign(req, dummy, EVP_sha256()) <= 0 ||
	    (n = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0 ||
	    EVP_Digest(tbs, (size_t)n, md, NULL, EVP_sha256(), NULL) != 1)
		goto out;
	if ((rc = wk_piv_sign(piv, WK_WALLET_SLOT, WK_PIV_ALG_ECCP256, md,
	    sizeof(md), sig, &sig_len)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if ((bits = ASN1_BIT_STRING_new()) == NULL ||
	    ASN1_BIT_STRING_set(bits, sig, (int)sig_len) != 1)
		goto out;
	/* all bits used: DER keeps the signature's trailing zero bytes */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	if ((n = i2d_X509_REQ(req, der)) <= 0)
		goto out;
	*der_len = (size_t)n;
	/* the request as it will be sent verifies with the card's key */
	p = *der;
	if ((check = d2i_X509_REQ(NULL, &p, n)) == NULL ||
	    X509_REQ_verify(check, pub) != 1) {
		OPENSSL_free(*der);
		*der = NULL;
		rc = WK_ERR_AUTH_FAILED;
		goto out;
	}
	rc = WK_OK;
out:
	X509_REQ_free(check);
	ASN1_BIT_STRING_free(bits);
	OPENSSL_free(tbs);
	EVP_PKEY_free(dummy);
	X509_REQ_free(req);
	return rc;
}

/* the certificate must carry the key the card generated */
static bool
cert_has_key(const uint8_t *der, size_t len, EVP_PKEY *pub)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	bool ok = x != NULL && p == der + len &&
	    EVP_PKEY_eq(X509_get0_pubkey(x), pub) == 1;

	X509_free(x);
	return ok;
}

/* the card's record: what the load shows and the transfer reports use */
static int
keep_record(const wk_enrol_opts *o, wk_issuer *is, const char *card_hex)
{
	wk_state_store store;
	char dir[1024], name[32];
	json_t *st;
	int rc;

	if ((rc = wk_flow_store(o->store, o->state_dir, &store, dir,
	    sizeof(dir))) != WK_OK)
		return rc;
	snprintf(name, sizeof(name), "card-%s", card_hex);
	st = json_pack("{s:s, s:s, s:s}", "card_id", card_hex, "issuer",
	    o->issuer_url != NULL ? o->issuer_url : wk_issuer_url(is), "pan",
	    o->pan);
	rc = st == NULL ? WK_ERR_MEMORY : wk_flow_record_save(&store, name, st);
	json_decref(st);
	return rc;
}

int
wk_wallet_enrol(wk_card *card, wk_issuer *is, const wk_enrol_opts *o,
    wk_enrol_confirm_fn confirm, wk_enrol_progress_fn progress, void *arg,
    wk_wallet_enrolment *out)
{
	wk_enrol_question q = { .ask = WK_ENROL_ASK_REPLACE };
	wk_piv *piv = NULL;
	uint8_t spki[WK_PIV_SPKI_MAX], point[WK_WALLET_POINT_LEN];
	uint8_t leaf[ATTEST_MAX], device[ATTEST_MAX], old[CERT_MAX];
	size_t spki_len = sizeof(spki), leaf_len = sizeof(leaf);
	size_t dev_len = sizeof(device), old_len = sizeof(old), csr_len = 0;
	const uint8_t *chain[2] = { leaf, device };
	size_t chain_len[2];
	wk_issuer_enrolment *en = NULL;
	wk_card_info info;
	uint8_t *csr = NULL;
	const uint8_t *p;
	EVP_PKEY *pub = NULL;
	char card_hex[17];
	uint32_t ep = 0;
	int rc;

	if (card == NULL || o == NULL || o->mgmt_key == NULL || is == NULL ||
	    o->pan == NULL || o->password == NULL || out == NULL)
		return WK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if ((en = calloc(1, sizeof(*en))) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_card_get_info(card, &info)) != WK_OK)
		goto out;
	for (size_t i = 0; i < sizeof(info.serial); i++)
		snprintf(card_hex + 2 * i, 3, "%02x", info.serial[i]);
	memcpy(out->card_id, card_hex, sizeof(out->card_id));
	step(progress, arg, WK_ENROL_STEP_CARD, card_hex);
	/* the card refuses the issuer's keys over value the purse holds from
	 * before (docs/attestation.md): said here, before the issuer enrols a
	 * key the card could then not use. The ED balance needs the PIN; the
	 * card checks it */
	if (wk_purse_select(card, NULL, 0, NULL) == WK_OK &&
	    wk_purse_balance(card, WK_PURSE_EP, &ep) == WK_OK && ep != 0) {
		rc = WK_ERR_INVALID_STATE;
		goto out;
	}
	/* PIV selected after the card id: another application's selection
	 * would drop the management key's authentication */
	if ((rc = wk_piv_open(card, &piv)) != WK_OK)
		goto out;
	rc = wk_piv_authenticate(piv, 0, o->mgmt_key, o->mgmt_key_len, true);
	if (rc == WK_ERR_ARG)
		rc = WK_ERR_AUTH_FAILED;	/* the card's key has another length */
	if (rc != WK_OK)
		goto out;
	/* the issuer enrols one key per card id: an enrolled card keeps its
	 * wallet unless told otherwise */
	rc = wk_piv_read_cert(piv, WK_WALLET_SLOT, old, &old_len);
	q.card_id = card_hex;
	if (rc == WK_OK && (confirm == NULL || !confirm(arg, &q))) {
		rc = WK_ERR_CONDITIONS;
		goto out;
	}
	/* a fresh wallet key: forget any old wallet (and its purse keys) */
	if ((rc = wk_wallet_setup(piv, NULL, NULL)) != WK_OK ||
	    (rc = wk_piv_generate(piv, WK_WALLET_SLOT, WK_PIV_ALG_ECCP256,
	    WK_PIV_PIN_POLICY_NEVER, WK_PIV_TOUCH_POLICY_NEVER, spki,
	    &spki_len)) != WK_OK)
		goto out;
	p = spki;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL) {
		rc = WK_ERR_CARD_MALFORMED;
		goto out;
	}
	step(progress, arg, WK_ENROL_STEP_KEY, card_hex);
	/* the card vouches that it generated the key: ATTEST and the device
	 * certificate of its attestation key */
	if ((rc = wk_piv_attest(piv, WK_WALLET_SLOT, leaf, &leaf_len)) != WK_OK ||
	    (rc = wk_piv_read_cert(piv, WK_PIV_SLOT_ATTEST, device,
	    &dev_len)) != WK_OK)
		goto out;
	chain_len[0] = leaf_len;
	chain_len[1] = dev_len;
	step(progress, arg, WK_ENROL_STEP_ATTESTED, card_hex);
	if ((rc = card_csr(piv, pub, card_hex, &csr, &csr_len)) != WK_OK)
		goto out;
	step(progress, arg, WK_ENROL_STEP_CSR, card_hex);
	if ((rc = wk_issuer_enrol(is, o->pan, o->password, card_hex, csr, csr_len,
	    chain, chain_len, 2, en)) != WK_OK)
		goto out;
	if (!cert_has_key(en->cert, en->cert_len, pub) ||
	    (rc = wk_wallet_cert_point(en->ca, en->ca_len, point)) != WK_OK) {
		rc = WK_ERR_AUTH_FAILED;
		goto out;
	}
	out->existing = en->existing;
	memcpy(out->key_algorithms, en->key_algorithms,
	    sizeof(out->key_algorithms));
	step(progress, arg, WK_ENROL_STEP_ISSUED, card_hex);
	if ((rc = wk_piv_write_cert(piv, WK_WALLET_SLOT, en->cert,
	    en->cert_len)) != WK_OK ||
	    (rc = wk_wallet_setup(piv, point, o->pan)) != WK_OK)
		goto out;
	step(progress, arg, WK_ENROL_STEP_ANCHOR, card_hex);
	if ((rc = wk_purse_select(card, NULL, 0, NULL)) != WK_OK ||
	    (rc = wk_wallet_personalise(card, en->perso, en->perso_len)) != WK_OK)
		goto out;
	/* the OCRA key of online payments (docs/payments.md), when sent */
	if (en->ocra_len > 0 && (rc = wk_wallet_personalise(card, en->ocra,
	    en->ocra_len)) != WK_OK)
		goto out;
	step(progress, arg, WK_ENROL_STEP_KEYS, card_hex);
	if ((rc = keep_record(o, is, card_hex)) != WK_OK)
		goto out;
	step(progress, arg, WK_ENROL_STEP_RECORD, card_hex);
	rc = WK_OK;
out:
	OPENSSL_free(csr);
	EVP_PKEY_free(pub);
	wk_piv_free(&piv);
	free(en);
	return rc;
}
