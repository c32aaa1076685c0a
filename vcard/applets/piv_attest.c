/*
 * Yubico ATTEST (piv.md 4): an X.509 certificate for a slot's generated key,
 * signed by the attestation key in F9, whose self-signed certificate the
 * card makes at --init and keeps in 5FFF01
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "piv_int.h"
#include "wk_tlv.h"

#define PIV_OID_FIRMWARE "1.3.6.1.4.1.41482.3.3"
#define PIV_OID_SERIAL "1.3.6.1.4.1.41482.3.7"
#define PIV_OID_POLICY "1.3.6.1.4.1.41482.3.8"
#define PIV_OID_FORMFACTOR "1.3.6.1.4.1.41482.3.9"
#define PIV_ATTEST_DAYS (365L * 20)

static int
piv_add_ext(X509 *x, const char *oid, const uint8_t *v, size_t n)
{
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	int r = -1;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL ||
	    (os = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(os, v, (int)n) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto out;
	r = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return r;
}

/* the attestation certificate is a CA for the ones it signs */
static int
piv_add_ca_exts(X509 *x)
{
	static const struct {
		int nid;
		const char *value;
	} exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,keyCertSign,digitalSignature" },
	};
	X509_EXTENSION *ext;
	int r = 0;

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]) && r == 0; i++) {
		ext = X509V3_EXT_conf_nid(NULL, NULL, exts[i].nid, exts[i].value);
		if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
			r = -1;
		X509_EXTENSION_free(ext);
	}
	return r;
}

static int
piv_set_name(X509_NAME *name, const char *cn)
{
	return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) == 1 ? 0 : -1;
}

static int
piv_random_serial(vc_card *card, X509 *x)
{
	uint8_t b[16];
	BIGNUM *bn = NULL;
	int r = -1;

	vc_card_random(card, b, sizeof(b));
	b[0] &= 0x7F;
	b[0] |= 0x01;
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	r = 0;
out:
	BN_free(bn);
	return r;
}

static const EVP_MD *
piv_sign_md(EVP_PKEY *signer)
{
	return EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ? NULL :
	    EVP_sha256();
}

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
	piv_key k;
	X509 *x = NULL;
	int r = -1;

	memset(&k, 0, sizeof(k));
	k.alg = PIV_ALG_ECCP256;
	k.pin_policy = PIV_PINPOL_NEVER;
	k.touch_policy = PIV_TOUCH_NEVER;
	k.origin = PIV_ORIGIN_GENERATED;
	if ((k.pkey = piv_key_generate(k.alg)) == NULL ||
	    (x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    piv_random_serial(card, x) != 0 ||
	    piv_set_name(X509_get_subject_name(x), "walletkey PIV Attestation") != 0 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), PIV_ATTEST_DAYS, 0, NULL) == NULL ||
	    X509_set_pubkey(x, k.pkey) != 1 || piv_add_ca_exts(x) != 0 ||
	    X509_sign(x, k.pkey, EVP_sha256()) <= 0)
		goto out;
	if (piv_key_save(NULL, card, PIV_REF_ATTEST, &k) != VC_STORE_OK ||
	    piv_store_cert(card, 0x5FFF01, x) != 0)
		goto out;
	r = 0;
out:
	X509_free(x);
	piv_key_free(&k);
	return r;
}

/* the attestation certificate's subject, from 5FFF01 */
static X509 *
piv_attest_issuer(vc_card *card)
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

static int
piv_attest_exts(vc_card *card, X509 *x, const piv_key *k, uint8_t ref)
{
	const uint8_t fw[3] = { PIV_VERSION_MAJOR, PIV_VERSION_MINOR,
		PIV_VERSION_PATCH };
	uint8_t pol[2] = { piv_key_effective_policy(k, ref), PIV_TOUCH_NEVER };
	uint8_t ser[7], ff = 0x00;
	uint32_t serial = piv_serial(card);
	size_t n = 0;

	/* the serial as a DER INTEGER, minimal and positive */
	ser[0] = 0x02;
	ser[2] = 0;
	for (int sh = 24; sh >= 0; sh -= 8) {
		uint8_t byte = (uint8_t)(serial >> sh);

		if (n == 0 && byte == 0 && sh != 0)
			continue;
		if (n == 0 && (byte & 0x80) != 0)
			ser[2 + n++] = 0;
		ser[2 + n++] = byte;
	}
	ser[1] = (uint8_t)n;
	if (piv_add_ext(x, PIV_OID_FIRMWARE, fw, sizeof(fw)) != 0 ||
	    piv_add_ext(x, PIV_OID_SERIAL, ser, 2 + n) != 0 ||
	    piv_add_ext(x, PIV_OID_POLICY, pol, sizeof(pol)) != 0 ||
	    piv_add_ext(x, PIV_OID_FORMFACTOR, &ff, 1) != 0)
		return -1;
	return 0;
}

uint16_t
piv_attest(piv_state *s, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	piv_key k, signer;
	X509 *issuer = NULL, *x = NULL;
	char cn[40];
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
	/* only keys made on the card can be attested */
	if (r != VC_STORE_OK || k.origin != PIV_ORIGIN_GENERATED) {
		sw = WK_SW_CONDITIONS;
		goto out;
	}
	if (piv_key_load(card, PIV_REF_ATTEST, &signer) != VC_STORE_OK ||
	    (issuer = piv_attest_issuer(card)) == NULL) {
		sw = WK_SW_REF_DATA_UNUSABLE;
		goto out;
	}
	snprintf(cn, sizeof(cn), "walletkey PIV Attestation %02x", cmd->p1);
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    piv_random_serial(card, x) != 0 ||
	    piv_set_name(X509_get_subject_name(x), cn) != 0 ||
	    X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_set1_notAfter(x, X509_get0_notAfter(issuer)) != 1 ||
	    X509_set_pubkey(x, k.pkey) != 1 ||
	    piv_attest_exts(card, x, &k, cmd->p1) != 0 ||
	    X509_sign(x, signer.pkey, piv_sign_md(signer.pkey)) <= 0 ||
	    (dlen = i2d_X509(x, &der)) <= 0)
		goto out;
	wk_buf_add(resp, der, (size_t)dlen);
	sw = wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
out:
	OPENSSL_free(der);
	X509_free(x);
	X509_free(issuer);
	piv_key_free(&signer);
	piv_key_free(&k);
	return sw;
}
