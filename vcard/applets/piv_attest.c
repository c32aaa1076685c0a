/*
 * Yubico ATTEST (piv.md 4): an X.509 certificate for a key the card
 * generated, signed by the attestation key in F9. At --init the card makes
 * that key and its device certificate (5FFF01), signed by the manufacturer
 * CA given with --attestation-ca, else self-signed (such a card never
 * enrols). The formats are common/wk_attest.h (docs/attestation.md).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "piv_int.h"
#include "vc_card.h"
#include "wk_attest.h"
#include "wk_log.h"
#include "wk_tlv.h"

#define PIV_ATTEST_DAYS (365L * 20)

/* 70 <cert> 71 01 00 FE 00 (piv.md 3.1) */
static int
piv_store_cert(vc_card *card, uint32_t tag, X509 *x)
{
	uint8_t *der = NULL;
	int dlen, r = -1;
	wk_buf b;

	wk_buf_init_heap(&b, PIV_OBJ_MAX);
	if ((dlen = i2d_X509(x, &der)) <= 0)
		goto out;
	wk_tlv_put(&b, 0x70, der, (size_t)dlen);
	wk_tlv_put(&b, 0x71, (const uint8_t[]){ 0x00 }, 1);
	wk_tlv_put(&b, 0xFE, NULL, 0);
	if (wk_buf_failed(&b) || piv_obj_put(card, tag, b.p, b.len) != 0)
		goto out;
	r = 0;
out:
	OPENSSL_free(der);
	wk_buf_clear(&b);
	return r;
}

int
piv_attest_factory(vc_card *card)
{
	const vc_card_opts *opts = vc_card_options(card);
	uint8_t serial[WK_ATTEST_SERIAL_LEN];
	EVP_PKEY *ca_key = NULL;
	X509 *ca_cert = NULL, *x = NULL;
	char err[256];
	piv_key k;
	int r = -1;

	memset(&k, 0, sizeof(k));
	k.alg = PIV_ALG_ECCP256;
	k.pin_policy = PIV_PINPOL_NEVER;
	k.touch_policy = PIV_TOUCH_NEVER;
	k.origin = PIV_ORIGIN_GENERATED;
	if (opts->attest_ca_path != NULL &&
	    wk_attest_ca_read(opts->attest_ca_path, &ca_key, &ca_cert, err,
	    sizeof(err)) != WK_ATTEST_OK) {
		wk_log(WK_LOG_APPLET, "piv: %s", err);
		goto out;
	}
	vc_card_random(card, serial, sizeof(serial));
	if ((k.pkey = piv_key_generate(k.alg)) == NULL ||
	    wk_attest_device_new(k.pkey, vc_card_serial(card), ca_key, ca_cert,
	    PIV_ATTEST_DAYS, serial, &x) != WK_ATTEST_OK)
		goto out;
	if (piv_key_save(NULL, card, PIV_REF_ATTEST, &k) != VC_STORE_OK ||
	    piv_store_cert(card, 0x5FFF01, x) != 0)
		goto out;
	r = 0;
out:
	X509_free(x);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	piv_key_free(&k);
	return r;
}

/* the device certificate, from 5FFF01 */
static X509 *
piv_attest_device(vc_card *card)
{
	wk_buf b;
	wk_tlv t;
	const uint8_t *p;
	X509 *x = NULL;

	wk_buf_init_heap(&b, PIV_OBJ_MAX);
	if (piv_obj_get(card, 0x5FFF01, &b) != VC_STORE_OK || wk_buf_failed(&b) ||
	    wk_tlv_find(b.p, b.len, 0x70, &t) != WK_TLV_OK)
		goto out;
	p = t.value;
	x = d2i_X509(NULL, &p, (long)t.len);
out:
	wk_buf_clear(&b);
	return x;
}

uint16_t
piv_attest(piv_state *s, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t serial[WK_ATTEST_SERIAL_LEN];
	wk_attest_key info;
	piv_key k, signer;
	X509 *device = NULL, *x = NULL;
	uint8_t *der = NULL;
	int dlen = 0, r;
	uint16_t sw = WK_SW_UNKNOWN;

	(void)s;
	memset(&k, 0, sizeof(k));
	memset(&signer, 0, sizeof(signer));
	if (cmd->p2 != 0x00 || !piv_slot_is_asym(cmd->p1) ||
	    cmd->p1 == PIV_REF_ATTEST) {
		sw = WK_SW_WRONG_P1P2;
		goto out;
	}
	r = piv_key_load(card, cmd->p1, &k);
	if (r == VC_STORE_NOT_FOUND) {
		sw = WK_SW_FILE_NOT_FOUND;
		goto out;
	}
	if (r != VC_STORE_OK) {
		sw = WK_SW_REF_DATA_UNUSABLE;
		goto out;
	}
	/* only keys made on the card are attested; a YubiKey answers 6A80
	 * for an imported one */
	if (k.origin != PIV_ORIGIN_GENERATED) {
		sw = WK_SW_WRONG_DATA;
		goto out;
	}
	if (piv_key_load(card, PIV_REF_ATTEST, &signer) != VC_STORE_OK ||
	    (device = piv_attest_device(card)) == NULL) {
		sw = WK_SW_REF_DATA_UNUSABLE;
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.slot = cmd->p1;
	info.origin = WK_ATTEST_ORIGIN_GENERATED;
	info.pin_policy = piv_key_effective_policy(&k, cmd->p1);
	info.touch_policy = PIV_TOUCH_NEVER;
	info.firmware[0] = PIV_VERSION_MAJOR;
	info.firmware[1] = PIV_VERSION_MINOR;
	info.firmware[2] = PIV_VERSION_PATCH;
	info.serial = piv_serial(card);
	info.form_factor = 0x00;
	vc_card_random(card, serial, sizeof(serial));
	if (wk_attest_key_new(k.pkey, &info, vc_card_serial(card), signer.pkey,
	    device, serial, &x) != WK_ATTEST_OK ||
	    (dlen = i2d_X509(x, &der)) <= 0)
		goto out;
	wk_buf_add(resp, der, (size_t)dlen);
	sw = wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
out:
	OPENSSL_free(der);
	X509_free(x);
	X509_free(device);
	piv_key_free(&signer);
	piv_key_free(&k);
	return sw;
}
