/*
 * the GM applet's container keys as token objects (docs/gm.md, docs/pkcs11.md):
 * the signing pair and the encryption pair (and the certificate of each) of
 * every container of the card's "walletkey" application, with walletkey's
 * vendor-defined SM2 key type. CKA_ID is "gm:" (signing) or "gme:"
 * (encryption) then the container's name. Their operations are in p11_gm.c.
 */
#include "p11_internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

/* SEQUENCE-less DER OID of the SM2 curve, 1.2.156.10197.1.301 */
static const uint8_t oid_sm2[] = { 0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55,
	0x01, 0x82, 0x2D };

static int
gm_common(p11_object *o, const char *label, bool priv, const uint8_t *id,
    size_t id_len)
{
	int err = 0;

	err |= p11_attr_bool(o, CKA_TOKEN, true);
	err |= p11_attr_bool(o, CKA_PRIVATE, priv);
	err |= p11_attr_bool(o, CKA_MODIFIABLE, false);
	err |= p11_attr_bool(o, CKA_COPYABLE, false);
	err |= p11_attr_bool(o, CKA_DESTROYABLE, false);
	err |= p11_attr_set(o, CKA_LABEL, label, strlen(label));
	err |= p11_attr_set(o, CKA_ID, id, id_len);
	o->private_obj = priv;
	return err;
}

bool
p11_alg_is_gm(uint8_t alg)
{
	return alg == P11_ALG_GM_SM2 || alg == P11_ALG_GM_SM2_ENC;
}

static int
gm_key(p11_object *o, bool sign, const uint8_t *spki, size_t spki_len,
    const uint8_t pub[64])
{
	static const CK_MECHANISM_TYPE sign_mechs[] = { CKM_WK_SM2,
		CKM_WK_SM2_SM3 };
	static const CK_MECHANISM_TYPE enc_mechs[] = { CKM_WK_SM2_ENC };
	uint8_t point[3 + 64] = { 0x04, 0x41, 0x04 };
	int err = 0;

	memcpy(point + 3, pub, 64);
	o->alg = sign ? P11_ALG_GM_SM2 : P11_ALG_GM_SM2_ENC;
	err |= p11_attr_ulong(o, CKA_KEY_TYPE, CKK_WK_SM2);
	err |= p11_attr_set(o, CKA_EC_PARAMS, oid_sm2, sizeof(oid_sm2));
	err |= p11_attr_set(o, CKA_EC_POINT, point, sizeof(point));
	err |= p11_attr_set(o, CKA_PUBLIC_KEY_INFO, spki, spki_len);
	err |= p11_attr_set(o, CKA_START_DATE, NULL, 0);
	err |= p11_attr_set(o, CKA_END_DATE, NULL, 0);
	err |= p11_attr_bool(o, CKA_LOCAL, true);
	err |= p11_attr_ulong(o, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
	err |= p11_attr_bool(o, CKA_DERIVE, false);
	if (sign)
		err |= p11_attr_set(o, CKA_ALLOWED_MECHANISMS, sign_mechs,
		    sizeof(sign_mechs));
	else
		err |= p11_attr_set(o, CKA_ALLOWED_MECHANISMS, enc_mechs,
		    sizeof(enc_mechs));
	return err;
}

/* certificate (when there is one), public key, private key of one of a
 * container's pairs (sign: the signing pair, else the encryption pair) */
static CK_RV
gm_objects(p11_slot *slot, const char *name, bool sign, const uint8_t pub[64],
    const uint8_t *cert_der, size_t cert_len)
{
	const char *prefix = sign ? P11_GM_ID_PREFIX : P11_GM_ENC_ID_PREFIX;
	const char *use = sign ? "" : "encryption ";
	uint8_t id[sizeof(P11_GM_ENC_ID_PREFIX) + WK_GM_NAME_MAX], spki[128];
	size_t id_len, spki_len = sizeof(spki);
	char label[96];
	p11_object *cert = NULL, *pk = NULL, *sk = NULL;
	p11_x509 x;
	int err = 0;
	CK_RV rv = CKR_HOST_MEMORY;

	memset(&x, 0, sizeof(x));
	id_len = strlen(prefix) + strlen(name);
	memcpy(id, prefix, strlen(prefix));
	memcpy(id + strlen(prefix), name, strlen(name));
	if (wk_gm_pub_to_spki(pub, spki, &spki_len) != WK_OK)
		return CKR_OK;	/* a key the module cannot show: skip it */
	if (cert_der != NULL && p11_x509_parse(cert_der, cert_len, &x) == CKR_OK) {
		if ((cert = p11_object_new(CKO_CERTIFICATE)) == NULL)
			goto out;
		snprintf(label, sizeof(label), "GM %scertificate %s", use,
		    name);
		err |= gm_common(cert, label, false, id, id_len);
		err |= p11_attr_ulong(cert, CKA_CERTIFICATE_TYPE, CKC_X_509);
		err |= p11_attr_bool(cert, CKA_TRUSTED, false);
		err |= p11_attr_ulong(cert, CKA_CERTIFICATE_CATEGORY, 0);
		err |= p11_attr_set(cert, CKA_SUBJECT, x.subject, x.subject_len);
		err |= p11_attr_set(cert, CKA_ISSUER, x.issuer, x.issuer_len);
		err |= p11_attr_set(cert, CKA_SERIAL_NUMBER, x.serial, x.serial_len);
		err |= p11_attr_set(cert, CKA_VALUE, cert_der, cert_len);
		err |= p11_attr_set(cert, CKA_PUBLIC_KEY_INFO, x.spki, x.spki_len);
	}
	if ((pk = p11_object_new(CKO_PUBLIC_KEY)) == NULL ||
	    (sk = p11_object_new(CKO_PRIVATE_KEY)) == NULL)
		goto out;
	snprintf(label, sizeof(label), "GM %spublic key %s", use, name);
	err |= gm_common(pk, label, false, id, id_len);
	err |= gm_key(pk, sign, spki, spki_len, pub);
	err |= p11_attr_set(pk, CKA_SUBJECT, x.subject, x.subject_len);
	err |= p11_attr_bool(pk, CKA_VERIFY, sign);
	err |= p11_attr_bool(pk, CKA_ENCRYPT, !sign);
	err |= p11_attr_bool(pk, CKA_WRAP, false);
	err |= p11_attr_bool(pk, CKA_VERIFY_RECOVER, false);
	err |= p11_attr_bool(pk, CKA_TRUSTED, false);
	snprintf(label, sizeof(label), "GM %sprivate key %s", use, name);
	err |= gm_common(sk, label, true, id, id_len);
	err |= gm_key(sk, sign, spki, spki_len, pub);
	err |= p11_attr_set(sk, CKA_SUBJECT, x.subject, x.subject_len);
	err |= p11_attr_bool(sk, CKA_SIGN, sign);
	err |= p11_attr_bool(sk, CKA_DECRYPT, !sign);
	err |= p11_attr_bool(sk, CKA_UNWRAP, false);
	err |= p11_attr_bool(sk, CKA_SIGN_RECOVER, false);
	err |= p11_attr_bool(sk, CKA_SENSITIVE, true);
	err |= p11_attr_bool(sk, CKA_EXTRACTABLE, false);
	err |= p11_attr_bool(sk, CKA_ALWAYS_SENSITIVE, true);
	err |= p11_attr_bool(sk, CKA_NEVER_EXTRACTABLE, true);
	err |= p11_attr_bool(sk, CKA_WRAP_WITH_TRUSTED, false);
	err |= p11_attr_bool(sk, CKA_ALWAYS_AUTHENTICATE, true);
	sk->always_auth = true;
	if (err)
		goto out;
	p11_object_append(&slot->objects, cert);
	p11_object_append(&slot->objects, pk);
	p11_object_append(&slot->objects, sk);
	cert = pk = sk = NULL;
	rv = CKR_OK;
out:
	p11_x509_clear(&x);
	p11_object_free(&cert);
	p11_object_free(&pk);
	p11_object_free(&sk);
	return rv;
}

CK_RV
p11_gm_load(p11_slot *slot)
{
	wk_gm_name names[WK_GM_MAX_CONTAINERS];
	uint8_t pub[64], *der = NULL;
	size_t n = 0, dn;
	bool has_cert;
	wk_gm *gm = NULL;
	uint8_t app;
	CK_RV rv = CKR_OK;

	/*
	 * other cards have no GM applet; a card without one is fine. Selecting
	 * it makes PIV forget its PIN (piv.md 1.4): never after a login, so
	 * a logged-in token keeps its PIV state (the objects come with the
	 * next session opened before a login)
	 */
	if (!slot->walletkey || slot->card == NULL || slot->login != P11_NOBODY ||
	    wk_gm_open(slot->card, &gm) != WK_OK)
		return CKR_OK;
	slot->piv_selected = false;
	if (wk_gm_app_open(gm, P11_GM_APP, &app) != WK_OK ||
	    wk_gm_cont_list(gm, app, names, WK_GM_MAX_CONTAINERS, &n) != WK_OK ||
	    (der = malloc(WK_GM_CERT_MAX)) == NULL)
		goto out;
	/* each container's signing pair, then its encryption pair: a
	 * container without one of them has no objects for it */
	for (size_t i = 0; i < 2 * n && rv == CKR_OK; i++) {
		bool sign = i % 2 == 0;
		const char *name = names[i / 2].name;

		if (wk_gm_public_key(gm, app, name, sign, pub) != WK_OK)
			continue;
		/* the length is read after the call that sets it (an argument
		 * list has no order of evaluation) */
		dn = WK_GM_CERT_MAX;
		has_cert = wk_gm_cert_export(gm, app, name, sign, der, &dn) ==
		    WK_OK;
		rv = gm_objects(slot, name, sign, pub, has_cert ? der : NULL,
		    has_cert ? dn : 0);
	}
out:
	free(der);
	wk_gm_free(&gm);
	return rv;
}

