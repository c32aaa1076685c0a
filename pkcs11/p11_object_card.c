/*
 * the objects of the card: certificates and keys of the PIV key slots (the
 * key attributes from the certificate's or the card's SPKI), the PIV data
 * containers, and walletkey's own data objects (their TLV encoding)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "p11_internal.h"

/* the magnitude of a DER INTEGER as an attribute (CKA_MODULUS, ...) */
static int
int_attr(p11_object *obj, CK_ATTRIBUTE_TYPE type, const ASN1_TYPE *t,
    size_t *bits)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n, r = -1;

	if (t == NULL || t->type != V_ASN1_INTEGER ||
	    (bn = ASN1_INTEGER_to_BN(t->value.integer, NULL)) == NULL)
		goto out;
	n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > sizeof(buf) || BN_bn2bin(bn, buf) != n)
		goto out;
	if (bits != NULL)
		*bits = (size_t)BN_num_bits(bn);
	r = p11_attr_set(obj, type, buf, (size_t)n);
out:
	BN_free(bn);
	return r;
}

/* DER OCTET STRING around a point, as CKA_EC_POINT wants it */
static int
point_attr(p11_object *obj, const uint8_t *pt, size_t len)
{
	uint8_t buf[2 + 1 + 133];
	size_t off = 0;

	if (len > 133)
		return -1;
	buf[off++] = 0x04;
	if (len > 127)
		buf[off++] = 0x81;
	buf[off++] = (uint8_t)len;
	memcpy(buf + off, pt, len);
	return p11_attr_set(obj, CKA_EC_POINT, buf, off + len);
}

/*
 * read from the SPKI's DER alone, not through an EVP_PKEY: an engine the
 * application made the default for EC or RSA keys cannot get in the way
 */
CK_RV
p11_spki_attrs(p11_object *obj, const uint8_t *spki, size_t len, uint8_t *alg)
{
	const unsigned char *p = spki, *pk = NULL;
	X509_PUBKEY *xpk = NULL;
	ASN1_OBJECT *algo = NULL;
	const void *pval = NULL;
	const X509_ALGOR *alg_id = NULL;
	STACK_OF(ASN1_TYPE) *seq = NULL;
	int pk_len = 0, ptype = 0, nid;
	size_t bits = 0;
	int err = 0;
	CK_RV rv = CKR_DEVICE_ERROR;

	*alg = P11_ALG_NONE;
	if (spki == NULL || len == 0 || len > (size_t)INT32_MAX)
		goto out;
	xpk = d2i_X509_PUBKEY(NULL, &p, (long)len);
	if (xpk == NULL || (size_t)(p - spki) != len ||
	    X509_PUBKEY_get0_param(&algo, &pk, &pk_len, (X509_ALGOR **)&alg_id,
	    xpk) != 1 || pk == NULL || pk_len <= 0)
		goto out;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg_id);
	switch (OBJ_obj2nid(algo)) {
	case NID_rsaEncryption:
		p = pk;
		seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, pk_len);
		if (seq == NULL || sk_ASN1_TYPE_num(seq) != 2)
			goto out;
		err |= p11_attr_ulong(obj, CKA_KEY_TYPE, CKK_RSA);
		err |= int_attr(obj, CKA_MODULUS, sk_ASN1_TYPE_value(seq, 0), &bits);
		err |= int_attr(obj, CKA_PUBLIC_EXPONENT, sk_ASN1_TYPE_value(seq, 1),
		    NULL);
		err |= p11_attr_ulong(obj, CKA_MODULUS_BITS, (CK_ULONG)bits);
		*alg = bits == 1024 ? P11_ALG_RSA1024 : bits == 2048 ?
		    P11_ALG_RSA2048 : bits == 3072 ? P11_ALG_RSA3072 :
		    bits == 4096 ? P11_ALG_RSA4096 : P11_ALG_NONE;
		break;
	case NID_X9_62_id_ecPublicKey:
		if (ptype != V_ASN1_OBJECT)
			goto out;
		nid = OBJ_obj2nid(pval);
		if (nid == NID_X9_62_prime256v1 && pk_len == 65) {
			*alg = P11_ALG_P256;
			err |= p11_attr_set(obj, CKA_EC_PARAMS, p11_oid_p256, sizeof(p11_oid_p256));
		} else if (nid == NID_secp384r1 && pk_len == 97) {
			*alg = P11_ALG_P384;
			err |= p11_attr_set(obj, CKA_EC_PARAMS, p11_oid_p384, sizeof(p11_oid_p384));
		} else
			goto out;
		err |= p11_attr_ulong(obj, CKA_KEY_TYPE, CKK_EC);
		err |= point_attr(obj, pk, (size_t)pk_len);
		break;
	case NID_ED25519:
		if (pk_len != 32)
			goto out;
		*alg = P11_ALG_ED25519;
		err |= p11_attr_ulong(obj, CKA_KEY_TYPE, CKK_EC_EDWARDS);
		err |= p11_attr_set(obj, CKA_EC_PARAMS, p11_oid_ed25519, sizeof(p11_oid_ed25519));
		err |= point_attr(obj, pk, 32);
		break;
	case NID_X25519:
		if (pk_len != 32)
			goto out;
		*alg = P11_ALG_X25519;
		err |= p11_attr_ulong(obj, CKA_KEY_TYPE, CKK_EC_MONTGOMERY);
		err |= p11_attr_set(obj, CKA_EC_PARAMS, p11_oid_x25519, sizeof(p11_oid_x25519));
		err |= point_attr(obj, pk, 32);
		break;
	default:
		goto out;
	}
	if (*alg == P11_ALG_NONE)
		goto out;
	err |= p11_attr_set(obj, CKA_PUBLIC_KEY_INFO, spki, len);
	rv = err ? CKR_HOST_MEMORY : CKR_OK;
out:
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	X509_PUBKEY_free(xpk);
	return rv;
}

static int
common_attrs(p11_object *o, const char *label, bool priv, bool destroyable)
{
	int err = 0;

	err |= p11_attr_bool(o, CKA_TOKEN, true);
	err |= p11_attr_bool(o, CKA_PRIVATE, priv);
	err |= p11_attr_bool(o, CKA_MODIFIABLE, false);
	err |= p11_attr_bool(o, CKA_COPYABLE, false);
	err |= p11_attr_bool(o, CKA_DESTROYABLE, destroyable);
	err |= p11_attr_set(o, CKA_LABEL, label, strlen(label));
	o->private_obj = priv;
	return err;
}

static int
key_attrs(p11_object *o, const uint8_t *id, bool local)
{
	int err = 0;

	err |= p11_attr_set(o, CKA_ID, id, 1);
	err |= p11_attr_set(o, CKA_START_DATE, NULL, 0);
	err |= p11_attr_set(o, CKA_END_DATE, NULL, 0);
	err |= p11_attr_bool(o, CKA_LOCAL, local);
	err |= p11_attr_ulong(o, CKA_KEY_GEN_MECHANISM,
	    CK_UNAVAILABLE_INFORMATION);
	return err;
}

/* the mechanisms a key of alg can do, for CKA_ALLOWED_MECHANISMS */
static int
allowed_mechs(p11_object *o, uint8_t alg)
{
	CK_MECHANISM_TYPE m[32];
	size_t n = 0, count;
	const p11_mech *all = p11_mech_list(&count);
	CK_KEY_TYPE kt = p11_alg_is_rsa(alg) ? CKK_RSA : p11_alg_is_ec(alg) ?
	    CKK_EC : alg == P11_ALG_ED25519 ? CKK_EC_EDWARDS : CKK_EC_MONTGOMERY;

	for (size_t i = 0; i < count && n < 32; i++)
		if (all[i].key_type == kt && !(all[i].flags & CKF_GENERATE_KEY_PAIR))
			m[n++] = all[i].type;
	if (kt == CKK_EC_MONTGOMERY)
		m[n++] = CKM_ECDH1_DERIVE;
	return p11_attr_set(o, CKA_ALLOWED_MECHANISMS, m, n * sizeof(m[0]));
}

CK_RV
p11_objects_for_slot(const p11_piv_slot *ps, const uint8_t *cert_der,
    size_t cert_len, const uint8_t *spki, size_t spki_len, uint8_t alg,
    uint8_t pin_policy, p11_object **list)
{
	p11_x509 x;
	p11_object *cert = NULL, *pub = NULL, *priv = NULL;
	char label[96];
	uint8_t key_alg = P11_ALG_NONE, hash[20];
	bool rsa, always, priv_flag;
	int err = 0;
	CK_RV rv;

	memset(&x, 0, sizeof(x));
	if (cert_der != NULL) {
		rv = p11_x509_parse(cert_der, cert_len, &x);
		if (rv != CKR_OK && spki == NULL)
			goto out;
		if (rv == CKR_OK && spki == NULL) {
			spki = x.spki;
			spki_len = x.spki_len;
		}
		if (rv != CKR_OK)
			cert_der = NULL;
	}
	rv = CKR_HOST_MEMORY;
	if (cert_der != NULL) {
		if ((cert = p11_object_new(CKO_CERTIFICATE)) == NULL)
			goto out;
		cert->key_ref = ps->key_ref;
		cert->tag = ps->cert_tag;
		snprintf(label, sizeof(label), "Certificate for %s", ps->name);
		err |= common_attrs(cert, label, false, true);
		err |= p11_attr_ulong(cert, CKA_CERTIFICATE_TYPE, CKC_X_509);
		err |= p11_attr_bool(cert, CKA_TRUSTED, false);
		err |= p11_attr_ulong(cert, CKA_CERTIFICATE_CATEGORY, 0);
		(void)p11_digest(CKM_SHA_1, cert_der, cert_len, hash,
		    &(size_t){ sizeof(hash) });
		err |= p11_attr_set(cert, CKA_CHECK_VALUE, hash, 3);
		err |= p11_attr_set(cert, CKA_START_DATE, x.start,
		    x.has_dates ? 8 : 0);
		err |= p11_attr_set(cert, CKA_END_DATE, x.end, x.has_dates ? 8 : 0);
		err |= p11_attr_set(cert, CKA_PUBLIC_KEY_INFO, x.spki, x.spki_len);
		err |= p11_attr_set(cert, CKA_SUBJECT, x.subject, x.subject_len);
		err |= p11_attr_set(cert, CKA_ID, &ps->id, 1);
		err |= p11_attr_set(cert, CKA_ISSUER, x.issuer, x.issuer_len);
		err |= p11_attr_set(cert, CKA_SERIAL_NUMBER, x.serial, x.serial_len);
		err |= p11_attr_set(cert, CKA_VALUE, cert_der, cert_len);
		err |= p11_attr_set(cert, CKA_URL, NULL, 0);
		err |= p11_attr_set(cert, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0);
		err |= p11_attr_set(cert, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0);
		err |= p11_attr_ulong(cert, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0);
		err |= p11_attr_ulong(cert, CKA_NAME_HASH_ALGORITHM, CKM_SHA_1);
		if (err)
			goto out;
	}
	if (spki == NULL) {
		rv = CKR_OK;
		goto out;
	}
	if ((pub = p11_object_new(CKO_PUBLIC_KEY)) == NULL ||
	    (priv = p11_object_new(CKO_PRIVATE_KEY)) == NULL)
		goto out;
	rv = p11_spki_attrs(pub, spki, spki_len, &key_alg);
	if (rv == CKR_OK)
		rv = p11_spki_attrs(priv, spki, spki_len, &key_alg);
	if (rv != CKR_OK) {
		/* a key the module cannot use: keep the certificate alone */
		p11_object_free(&pub);
		p11_object_free(&priv);
		rv = CKR_OK;
		goto out;
	}
	rv = CKR_HOST_MEMORY;
	if (alg == P11_ALG_NONE)
		alg = key_alg;
	rsa = p11_alg_is_rsa(alg);
	always = pin_policy == 3 || (pin_policy == 0 && ps->always_auth);
	priv_flag = !(pin_policy == 1 || (pin_policy == 0 && ps->no_pin));
	pub->key_ref = priv->key_ref = ps->key_ref;
	pub->alg = priv->alg = alg;
	priv->always_auth = always;
	snprintf(label, sizeof(label), "Public key for %s", ps->name);
	err |= common_attrs(pub, label, false, false);
	err |= key_attrs(pub, &ps->id, cert_der == NULL);
	err |= p11_attr_set(pub, CKA_SUBJECT, x.subject, x.subject_len);
	err |= p11_attr_bool(pub, CKA_ENCRYPT, rsa);
	err |= p11_attr_bool(pub, CKA_VERIFY, alg != P11_ALG_X25519);
	err |= p11_attr_bool(pub, CKA_VERIFY_RECOVER, false);
	/* the pair's usages match: RSA wraps what its private key unwraps,
	 * an EC public key derives as its private key does (p11test usage_test) */
	err |= p11_attr_bool(pub, CKA_WRAP, rsa);
	err |= p11_attr_bool(pub, CKA_TRUSTED, false);
	err |= p11_attr_bool(pub, CKA_DERIVE, !rsa && alg != P11_ALG_ED25519);
	err |= allowed_mechs(pub, alg);
	snprintf(label, sizeof(label), "Private key for %s", ps->name);
	err |= common_attrs(priv, label, priv_flag, false);
	err |= key_attrs(priv, &ps->id, cert_der == NULL);
	err |= p11_attr_set(priv, CKA_SUBJECT, x.subject, x.subject_len);
	err |= p11_attr_bool(priv, CKA_SENSITIVE, true);
	err |= p11_attr_bool(priv, CKA_DECRYPT, rsa);
	err |= p11_attr_bool(priv, CKA_SIGN, alg != P11_ALG_X25519);
	err |= p11_attr_bool(priv, CKA_SIGN_RECOVER, false);
	err |= p11_attr_bool(priv, CKA_UNWRAP, rsa);
	err |= p11_attr_bool(priv, CKA_EXTRACTABLE, false);
	err |= p11_attr_bool(priv, CKA_ALWAYS_SENSITIVE, true);
	err |= p11_attr_bool(priv, CKA_NEVER_EXTRACTABLE, true);
	err |= p11_attr_bool(priv, CKA_WRAP_WITH_TRUSTED, false);
	err |= p11_attr_bool(priv, CKA_ALWAYS_AUTHENTICATE, always);
	err |= p11_attr_bool(priv, CKA_DERIVE, !rsa && alg != P11_ALG_ED25519);
	err |= allowed_mechs(priv, alg);
	if (err)
		goto out;
	rv = CKR_OK;
out:
	if (rv == CKR_OK) {
		/* order: certificate, public key, private key */
		p11_object_append(list, cert);
		p11_object_append(list, pub);
		p11_object_append(list, priv);
		cert = pub = priv = NULL;
	}
	p11_object_free(&cert);
	p11_object_free(&pub);
	p11_object_free(&priv);
	p11_x509_clear(&x);
	return rv;
}

CK_RV
p11_object_data(const p11_piv_container *pc, const uint8_t *value, size_t len,
    p11_object **out)
{
	p11_object *o = p11_object_new(CKO_DATA);
	uint8_t *oid = NULL;
	size_t oid_len = 0;
	int err = 0;
	CK_RV rv = CKR_HOST_MEMORY;

	if (o == NULL)
		goto out;
	rv = p11_oid_der(pc->oid, &oid, &oid_len);
	if (rv != CKR_OK)
		goto out;
	o->tag = pc->tag;
	/* the SO writes and deletes containers (PUT DATA) */
	err |= common_attrs(o, pc->name, pc->pin, true);
	err |= p11_attr_set(o, CKA_APPLICATION, "PIV", 3);
	err |= p11_attr_set(o, CKA_OBJECT_ID, oid, oid_len);
	err |= p11_attr_set(o, CKA_VALUE, value, len);
	rv = err ? CKR_HOST_MEMORY : CKR_OK;
out:
	free(oid);
	if (rv == CKR_OK) {
		*out = o;
		o = NULL;
	}
	p11_object_free(&o);
	return rv;
}

/* ---- walletkey data objects on the card ---- */

CK_RV
p11_user_data_decode(uint32_t tag, const uint8_t *p, size_t len,
    p11_object **out)
{
	static const CK_ATTRIBUTE_TYPE types[4] = { CKA_LABEL, CKA_APPLICATION,
	    CKA_OBJECT_ID, CKA_VALUE };
	p11_object *o = p11_object_new(CKO_DATA);
	bool priv = tag >= P11_DATA_PRIVATE;
	const uint8_t *v;
	size_t vl;
	int err = 0;

	if (o == NULL)
		return CKR_HOST_MEMORY;
	o->tag = tag;
	err |= p11_attr_bool(o, CKA_TOKEN, true);
	err |= p11_attr_bool(o, CKA_PRIVATE, priv);
	/* changing one is writing it again: delete and create */
	err |= p11_attr_bool(o, CKA_MODIFIABLE, false);
	err |= p11_attr_bool(o, CKA_COPYABLE, false);
	err |= p11_attr_bool(o, CKA_DESTROYABLE, true);
	for (size_t i = 0; i < 4; i++) {
		if (!p11_tlv_find(p, len, (uint8_t)(i + 1), &v, &vl)) {
			v = NULL;
			vl = 0;
		}
		err |= p11_attr_set(o, types[i], v, vl);
	}
	o->private_obj = priv;
	if (err) {
		p11_object_free(&o);
		return CKR_HOST_MEMORY;
	}
	*out = o;
	return CKR_OK;
}

static void
put_tlv(uint8_t *b, size_t *off, uint8_t tag, const void *v, size_t len)
{
	b[(*off)++] = tag;
	if (len > 0xFF) {
		b[(*off)++] = 0x82;
		b[(*off)++] = (uint8_t)(len >> 8);
	} else if (len > 0x7F)
		b[(*off)++] = 0x81;
	b[(*off)++] = (uint8_t)len;
	if (len > 0)
		memcpy(b + *off, v, len);
	*off += len;
}

CK_RV
p11_user_data_encode(const CK_ATTRIBUTE *t, CK_ULONG n, uint8_t **out,
    size_t *len)
{
	static const CK_ATTRIBUTE_TYPE types[4] = { CKA_LABEL, CKA_APPLICATION,
	    CKA_OBJECT_ID, CKA_VALUE };
	size_t total = 0, off = 0;
	uint8_t *b;

	for (size_t i = 0; i < 4; i++) {
		const CK_ATTRIBUTE *a = p11_tmpl_find(t, n, types[i]);
		size_t l = a != NULL ? a->ulValueLen : 0;
		if (l > P11_DATA_MAX)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		total += 4 + l;
	}
	if (total > P11_DATA_MAX)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((b = malloc(total)) == NULL)
		return CKR_HOST_MEMORY;
	for (size_t i = 0; i < 4; i++) {
		const CK_ATTRIBUTE *a = p11_tmpl_find(t, n, types[i]);
		put_tlv(b, &off, (uint8_t)(i + 1), a != NULL ? a->pValue : NULL,
		    a != NULL ? a->ulValueLen : 0);
	}
	*out = b;
	*len = off;
	return CKR_OK;
}
