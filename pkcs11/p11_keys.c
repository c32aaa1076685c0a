/*
 * key management: key pairs generated on the card (or as session keys),
 * secret keys, wrapping and unwrapping, ECDH derivation
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "p11_internal.h"
/* ---- key pair generation ---- */


static CK_RV
keygen_alg(const CK_MECHANISM *mech, const CK_ATTRIBUTE *pub_t,
    CK_ULONG pub_n, uint8_t *alg)
{
	const CK_ATTRIBUTE *a;
	CK_ULONG bits;
	bool found;
	CK_RV rv;
	static const uint8_t f4[] = { 0x01, 0x00, 0x01 };

	switch (mech->mechanism) {
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		rv = p11_tmpl_ulong(pub_t, pub_n, CKA_MODULUS_BITS, &bits, &found);
		if (rv != CKR_OK)
			return rv;
		if (!found)
			return CKR_TEMPLATE_INCOMPLETE;
		*alg = bits == 1024 ? P11_ALG_RSA1024 : bits == 2048 ?
		    P11_ALG_RSA2048 : bits == 3072 ? P11_ALG_RSA3072 :
		    bits == 4096 ? P11_ALG_RSA4096 : P11_ALG_NONE;
		if (*alg == P11_ALG_NONE)
			return CKR_KEY_SIZE_RANGE;
		a = p11_tmpl_find(pub_t, pub_n, CKA_PUBLIC_EXPONENT);
		if (a != NULL) {
			/* the card's exponent is 65537; accept it with leading zeros */
			const uint8_t *v = a->pValue;
			size_t l = a->ulValueLen;
			while (l > 3 && v[0] == 0) {
				v++;
				l--;
			}
			if (l != 3 || memcmp(v, f4, 3) != 0)
				return CKR_ATTRIBUTE_VALUE_INVALID;
		}
		return CKR_OK;
	case CKM_EC_KEY_PAIR_GEN:
		a = p11_tmpl_find(pub_t, pub_n, CKA_EC_PARAMS);
		if (a == NULL)
			return CKR_TEMPLATE_INCOMPLETE;
		if (a->pValue == NULL)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		if (p11_ec_params_are(a, p11_oid_p256, sizeof(p11_oid_p256), "prime256v1") ||
		    p11_ec_params_are(a, p11_oid_p256, sizeof(p11_oid_p256), "secp256r1"))
			*alg = P11_ALG_P256;
		else if (p11_ec_params_are(a, p11_oid_p384, sizeof(p11_oid_p384), "secp384r1"))
			*alg = P11_ALG_P384;
		else
			return CKR_CURVE_NOT_SUPPORTED;
		return CKR_OK;
	case CKM_EC_EDWARDS_KEY_PAIR_GEN:
	case CKM_EC_MONTGOMERY_KEY_PAIR_GEN: {
		bool ed = mech->mechanism == CKM_EC_EDWARDS_KEY_PAIR_GEN;
		a = p11_tmpl_find(pub_t, pub_n, CKA_EC_PARAMS);
		*alg = ed ? P11_ALG_ED25519 : P11_ALG_X25519;
		if (a == NULL)
			return CKR_OK;
		if (a->pValue == NULL)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		if (ed ? p11_ec_params_are(a, p11_oid_ed25519, sizeof(p11_oid_ed25519),
		    "edwards25519") : p11_ec_params_are(a, p11_oid_x25519,
		    sizeof(p11_oid_x25519), "curve25519"))
			return CKR_OK;
		return CKR_CURVE_NOT_SUPPORTED;
	}
	default:
		return CKR_MECHANISM_INVALID;
	}
}

/* CKA_CLASS / CKA_KEY_TYPE / CKA_TOKEN in a template must agree with what we make */
static CK_RV
tmpl_consistent(const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_CLASS cls,
    CK_KEY_TYPE kt)
{
	CK_ULONG v;
	bool found, b;
	CK_RV rv;

	rv = p11_tmpl_ulong(t, n, CKA_CLASS, &v, &found);
	if (rv != CKR_OK || (found && v != cls))
		return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	rv = p11_tmpl_ulong(t, n, CKA_KEY_TYPE, &v, &found);
	if (rv != CKR_OK || (found && v != kt))
		return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	rv = p11_tmpl_bool(t, n, CKA_TOKEN, &b, &found);
	if (rv != CKR_OK || (found && !b))
		return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	if (cls == CKO_PRIVATE_KEY) {
		rv = p11_tmpl_bool(t, n, CKA_EXTRACTABLE, &b, &found);
		if (rv != CKR_OK || (found && b))
			return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
		rv = p11_tmpl_bool(t, n, CKA_SENSITIVE, &b, &found);
		if (rv != CKR_OK || (found && !b))
			return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	}
	return CKR_OK;
}

/* the PIV slot from CKA_ID (either template); else the first empty one */
static CK_RV
target_slot(p11_slot *slot, const CK_ATTRIBUTE *pub_t, CK_ULONG pub_n,
    const CK_ATTRIBUTE *priv_t, CK_ULONG priv_n, const p11_piv_slot **out)
{
	const CK_ATTRIBUTE *a = p11_tmpl_find(priv_t, priv_n, CKA_ID);
	const CK_ATTRIBUTE *b = p11_tmpl_find(pub_t, pub_n, CKA_ID);
	const p11_piv_slot *ps, *all;
	size_t n;

	if (a != NULL && b != NULL && (a->ulValueLen != b->ulValueLen ||
	    (a->ulValueLen > 0 && memcmp(a->pValue, b->pValue, a->ulValueLen) != 0)))
		return CKR_TEMPLATE_INCONSISTENT;
	if (a == NULL)
		a = b;
	if (a != NULL) {
		ps = p11_piv_slot_by_id(a->pValue, a->ulValueLen);
		if (ps == NULL)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		*out = ps;
		return CKR_OK;
	}
	all = p11_piv_slots(&n);
	for (size_t i = 0; i < n; i++) {
		bool used = false;
		for (p11_object *o = slot->objects; o != NULL; o = o->next)
			if (o->cls == CKO_PRIVATE_KEY && o->key_ref == all[i].key_ref)
				used = true;
		if (!used) {
			*out = &all[i];
			return CKR_OK;
		}
	}
	return CKR_TEMPLATE_INCOMPLETE;
}

static CK_KEY_TYPE
alg_key_type(uint8_t alg)
{
	if (p11_alg_is_rsa(alg))
		return CKK_RSA;
	if (p11_alg_is_ec(alg))
		return CKK_EC;
	return alg == P11_ALG_ED25519 ? CKK_EC_EDWARDS : CKK_EC_MONTGOMERY;
}

CK_RV
p11_keygen(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *pub_t, CK_ULONG pub_n, const CK_ATTRIBUTE *priv_t,
    CK_ULONG priv_n, CK_OBJECT_HANDLE *pub_h, CK_OBJECT_HANDLE *priv_h)
{
	const p11_piv_slot *ps;
	uint8_t alg = P11_ALG_NONE, spki[WK_PIV_SPKI_MAX], pin_policy = 0;
	size_t spki_len = sizeof(spki);
	bool b, found;
	p11_object *pub, *priv;
	int wk;
	CK_RV rv;

	if (mech == NULL || pub_h == NULL || priv_h == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(pub_t, pub_n)) != CKR_OK ||
	    (rv = p11_tmpl_check(priv_t, priv_n)) != CKR_OK)
		return rv;
	if (p11_mech_find(mech->mechanism) == NULL ||
	    !(p11_mech_find(mech->mechanism)->flags & CKF_GENERATE_KEY_PAIR))
		return CKR_MECHANISM_INVALID;
	if (mech->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	/*
	 * CKA_TOKEN false (the default, 2.40 base 4.4) makes session keys in
	 * software; a token key pair is generated on the card
	 */
	{
		bool pub_tok = false, priv_tok = false, f1, f2;
		if ((rv = p11_tmpl_bool(pub_t, pub_n, CKA_TOKEN, &pub_tok, &f1)) !=
		    CKR_OK || (rv = p11_tmpl_bool(priv_t, priv_n, CKA_TOKEN,
		    &priv_tok, &f2)) != CKR_OK)
			return rv;
		if ((f1 && f2 && pub_tok != priv_tok) || (f1 && !pub_tok &&
		    priv_tok) || (f2 && !priv_tok && pub_tok))
			return CKR_TEMPLATE_INCONSISTENT;
		if (!pub_tok && !priv_tok)
			return p11_soft_keypair(s, slot, mech, pub_t, pub_n, priv_t,
			    priv_n, pub_h, priv_h);
	}
	if ((rv = keygen_alg(mech, pub_t, pub_n, &alg)) != CKR_OK)
		return rv;
	if ((rv = tmpl_consistent(pub_t, pub_n, CKO_PUBLIC_KEY,
	    alg_key_type(alg))) != CKR_OK ||
	    (rv = tmpl_consistent(priv_t, priv_n, CKO_PRIVATE_KEY,
	    alg_key_type(alg))) != CKR_OK)
		return rv;
	if (!p11_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (!p11_may_write(slot))
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = target_slot(slot, pub_t, pub_n, priv_t, priv_n, &ps)) != CKR_OK)
		return rv;
	rv = p11_tmpl_bool(priv_t, priv_n, CKA_ALWAYS_AUTHENTICATE, &b, &found);
	if (rv != CKR_OK)
		return rv;
	if (found)
		pin_policy = b ? WK_PIV_PIN_POLICY_ALWAYS :
		    ps->always_auth ? WK_PIV_PIN_POLICY_ONCE : 0;
	if ((rv = p11_write_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_generate(slot->piv, ps->key_ref, alg, pin_policy, 0, spki,
	    &spki_len);
	p11_card_end(slot);
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		return rv == CKR_DATA_INVALID ? CKR_TEMPLATE_INCONSISTENT : rv;
	}
	rv = p11_token_reload_key(slot, ps);
	if (rv != CKR_OK)
		return rv;
	pub = p11_token_find_key(slot, CKO_PUBLIC_KEY, ps->key_ref);
	priv = p11_token_find_key(slot, CKO_PRIVATE_KEY, ps->key_ref);
	if (pub == NULL || priv == NULL)
		return CKR_DEVICE_ERROR;
	*pub_h = pub->handle;
	*priv_h = priv->handle;
	return CKR_OK;
}

/* C_GenerateKey: secret keys are session objects (the card has no place for them) */
CK_RV
p11_genkey(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	bool token = false, found;
	CK_RV rv;

	if (mech == NULL || out == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(t, n)) != CKR_OK)
		return rv;
	if (p11_mech_find(mech->mechanism) == NULL ||
	    !(p11_mech_find(mech->mechanism)->flags & CKF_GENERATE))
		return CKR_MECHANISM_INVALID;
	if ((rv = p11_tmpl_bool(t, n, CKA_TOKEN, &token, &found)) != CKR_OK)
		return rv;
	if (token)
		return CKR_TEMPLATE_INCONSISTENT;
	return p11_soft_genkey(s, slot, mech, t, n, out);
}

/* ---- secret keys from ECDH and unwrapping: session objects ---- */

/* the secret-key template of C_DeriveKey and C_UnwrapKey */
static CK_RV
secret_template(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_KEY_TYPE *kt,
    CK_ULONG *value_len, bool *sensitive_v, bool *extractable)
{
	CK_ULONG v;
	bool found, b;
	CK_RV rv;

	*kt = CKK_GENERIC_SECRET;
	*value_len = 0;
	*sensitive_v = false;
	*extractable = true;
	rv = p11_tmpl_ulong(tmpl, count, CKA_CLASS, &v, &found);
	if (rv != CKR_OK || (found && v != CKO_SECRET_KEY))
		return rv != CKR_OK ? rv : CKR_TEMPLATE_INCONSISTENT;
	if ((rv = p11_tmpl_ulong(tmpl, count, CKA_KEY_TYPE, kt, &found)) != CKR_OK)
		return rv;
	if ((rv = p11_tmpl_ulong(tmpl, count, CKA_VALUE_LEN, value_len,
	    &found)) != CKR_OK)
		return rv;
	if ((rv = p11_tmpl_bool(tmpl, count, CKA_TOKEN, &b, &found)) != CKR_OK)
		return rv;
	/* the card keeps no secret keys */
	if (found && b)
		return CKR_TEMPLATE_INCONSISTENT;
	if ((rv = p11_tmpl_bool(tmpl, count, CKA_SENSITIVE, &b, &found)) != CKR_OK)
		return rv;
	if (found)
		*sensitive_v = b;
	if ((rv = p11_tmpl_bool(tmpl, count, CKA_EXTRACTABLE, &b, &found)) != CKR_OK)
		return rv;
	if (found)
		*extractable = b;
	return CKR_OK;
}

/* RSA key transport: the 9D key management key's job (SP 800-78-4 3.1) */
CK_RV
p11_unwrap(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key, const uint8_t *wrapped, size_t len,
    const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_OBJECT_HANDLE *out)
{
	uint8_t value[512];
	CK_ULONG n = sizeof(value);
	CK_KEY_TYPE kt;
	CK_ULONG value_len;
	bool sensitive_v, extractable;
	p11_object *obj;
	CK_RV rv;

	if (mech == NULL || wrapped == NULL || out == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
		return rv;
	rv = p11_object_get(s, slot, key, &obj);
	if (rv != CKR_OK)
		return CKR_UNWRAPPING_KEY_HANDLE_INVALID;
	if ((rv = secret_template(tmpl, count, &kt, &value_len, &sensitive_v,
	    &extractable)) != CKR_OK)
		return rv;
	if (kt != CKK_GENERIC_SECRET && kt != CKK_AES && kt != CKK_DES3 &&
	    kt != CKK_WK_SM4)
		return CKR_TEMPLATE_INCONSISTENT;
	if (obj->cls == CKO_SECRET_KEY) {
		/* a session secret key unwraps (3.0 base 5.18.3) */
		if (!p11_mech_secret(mech->mechanism) ||
		    !(p11_mech_find(mech->mechanism)->flags & CKF_UNWRAP))
			return CKR_MECHANISM_INVALID;
		if (!p11_attr_true(obj, CKA_UNWRAP))
			return CKR_KEY_FUNCTION_NOT_PERMITTED;
		rv = p11_soft_wrap(obj, mech, wrapped, len, value, &n, false);
		if (rv == CKR_ENCRYPTED_DATA_INVALID)
			rv = CKR_WRAPPED_KEY_INVALID;
		else if (rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
		    rv == CKR_BUFFER_TOO_SMALL)
			rv = CKR_WRAPPED_KEY_LEN_RANGE;
		if (rv == CKR_OK)
			rv = p11_soft_secret(s, slot, value, n, tmpl, count, false,
			    out);
		goto out;
	}
	if (mech->mechanism != CKM_RSA_PKCS &&
	    mech->mechanism != CKM_RSA_PKCS_OAEP)
		return CKR_MECHANISM_INVALID;
	if (obj->cls != CKO_PRIVATE_KEY || !p11_alg_is_rsa(obj->alg))
		return CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
	if (!p11_attr_true(obj, CKA_UNWRAP))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if (s->op[P11_OP_DECRYPT].active)
		return CKR_OPERATION_ACTIVE;
	if ((rv = p11_op_init(s, slot, P11_OP_DECRYPT, mech, key)) != CKR_OK)
		return rv;
	/* a PIN-always key cannot take a context login inside this call */
	if (s->op[P11_OP_DECRYPT].need_ctx_login) {
		p11_op_end(&s->op[P11_OP_DECRYPT]);
		return CKR_USER_NOT_LOGGED_IN;
	}
	rv = p11_op_decrypt(s, slot, wrapped, len, value, &n);
	p11_op_end(&s->op[P11_OP_DECRYPT]);
	if (rv == CKR_ENCRYPTED_DATA_INVALID)
		rv = CKR_WRAPPED_KEY_INVALID;
	else if (rv == CKR_ENCRYPTED_DATA_LEN_RANGE)
		rv = CKR_WRAPPED_KEY_LEN_RANGE;
	if (rv != CKR_OK)
		goto out;
	rv = CKR_TEMPLATE_INCONSISTENT;
	if (value_len != 0 && value_len != n)
		goto out;
	rv = p11_soft_secret(s, slot, value, n, tmpl, count, false, out);
out:
	sodium_memzero(value, sizeof(value));
	return rv;
}

/*
 * C_WrapKey of a session secret key, with a session secret key or an RSA
 * public key. Tookan (Bortolozzo et al., CCS 2010): a sensitive key, or one
 * marked CKA_WRAP_WITH_TRUSTED, leaves only under a CKA_TRUSTED key, which
 * only the SO can make: an application cannot wrap it with a key it can
 * also decrypt with.
 */
CK_RV
p11_wrap(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    CK_OBJECT_HANDLE wkey, CK_OBJECT_HANDLE key, uint8_t *out,
    CK_ULONG *out_len)
{
	const p11_mech *info;
	p11_object *w, *k;
	const CK_ATTRIBUTE *v;
	CK_RV rv;

	if (mech == NULL || out_len == NULL)
		return CKR_ARGUMENTS_BAD;
	if (p11_object_get(s, slot, wkey, &w) != CKR_OK)
		return CKR_WRAPPING_KEY_HANDLE_INVALID;
	if (p11_object_get(s, slot, key, &k) != CKR_OK)
		return CKR_KEY_HANDLE_INVALID;
	info = p11_mech_find(mech->mechanism);
	if (info == NULL || !(info->flags & CKF_WRAP))
		return CKR_MECHANISM_INVALID;
	if (!p11_attr_true(w, CKA_WRAP))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	/* private keys are not exported in any form */
	if (k->cls != CKO_SECRET_KEY || (v = p11_attr_find(k, CKA_VALUE)) == NULL)
		return CKR_KEY_NOT_WRAPPABLE;
	if (!p11_attr_true(k, CKA_EXTRACTABLE))
		return CKR_KEY_UNEXTRACTABLE;
	if ((p11_attr_true(k, CKA_SENSITIVE) ||
	    p11_attr_true(k, CKA_WRAP_WITH_TRUSTED)) &&
	    !p11_attr_true(w, CKA_TRUSTED))
		return CKR_KEY_NOT_WRAPPABLE;
	if (w->cls == CKO_SECRET_KEY) {
		if (!p11_mech_secret(mech->mechanism))
			return CKR_WRAPPING_KEY_TYPE_INCONSISTENT;
		rv = p11_soft_wrap(w, mech, v->pValue, v->ulValueLen, out, out_len,
		    true);
		return rv == CKR_DATA_LEN_RANGE ? CKR_KEY_SIZE_RANGE : rv;
	}
	if (w->cls != CKO_PUBLIC_KEY || (mech->mechanism != CKM_RSA_PKCS &&
	    mech->mechanism != CKM_RSA_PKCS_OAEP))
		return CKR_WRAPPING_KEY_TYPE_INCONSISTENT;
	if (s->op[P11_OP_ENCRYPT].active)
		return CKR_OPERATION_ACTIVE;
	if ((rv = p11_op_init(s, slot, P11_OP_ENCRYPT, mech, wkey)) != CKR_OK)
		return rv == CKR_KEY_TYPE_INCONSISTENT ?
		    CKR_WRAPPING_KEY_TYPE_INCONSISTENT : rv;
	rv = p11_op_encrypt(s, v->pValue, v->ulValueLen, out, out_len);
	p11_op_end(&s->op[P11_OP_ENCRYPT]);
	return rv;
}

/* ---- ECDH ---- */

CK_RV
p11_derive(p11_session *s, p11_slot *slot, const CK_MECHANISM *mech,
    CK_OBJECT_HANDLE base, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
    CK_OBJECT_HANDLE *out)
{
	const CK_ECDH1_DERIVE_PARAMS *dp;
	p11_object *key;
	const uint8_t *peer;
	size_t peer_len, field, secret_len = 64;
	uint8_t secret[64];
	CK_ULONG value_len = 0, kt = CKK_GENERIC_SECRET;
	bool sensitive_v = false, extractable = true;
	int wk;
	CK_RV rv;

	if (mech == NULL || out == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
		return rv;
	if (mech->mechanism != CKM_ECDH1_DERIVE)
		return CKR_MECHANISM_INVALID;
	dp = mech->pParameter;
	if (dp == NULL || mech->ulParameterLen != sizeof(*dp) ||
	    dp->kdf != CKD_NULL || dp->ulSharedDataLen != 0 ||
	    dp->pPublicData == NULL || dp->ulPublicDataLen == 0)
		return CKR_MECHANISM_PARAM_INVALID;
	rv = p11_object_get(s, slot, base, &key);
	if (rv != CKR_OK)
		return rv == CKR_OBJECT_HANDLE_INVALID ? CKR_KEY_HANDLE_INVALID : rv;
	if (key->cls != CKO_PRIVATE_KEY ||
	    (!p11_alg_is_ec(key->alg) && key->alg != P11_ALG_X25519))
		return CKR_KEY_TYPE_INCONSISTENT;
	if (!p11_attr_true(key, CKA_DERIVE))
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if ((rv = secret_template(tmpl, count, &kt, &value_len, &sensitive_v,
	    &extractable)) != CKR_OK)
		return rv;
	/* the peer point raw, or DER OCTET STRING wrapped (CKA_EC_POINT form) */
	peer = dp->pPublicData;
	peer_len = dp->ulPublicDataLen;
	field = key->alg == P11_ALG_X25519 ? 32 : (p11_alg_bits(key->alg) + 7) / 8;
	if (peer_len >= 2 && peer[0] == 0x04 && peer_len != 2 * field + 1) {
		size_t hdr = peer[1] == 0x81 ? 3 : 2;
		if (peer_len > hdr && peer[hdr - 1] == peer_len - hdr) {
			peer += hdr;
			peer_len -= hdr;
		}
	}
	if (peer_len != (key->alg == P11_ALG_X25519 ? 32 : 2 * field + 1))
		return CKR_MECHANISM_PARAM_INVALID;
	if (value_len > field)
		return CKR_TEMPLATE_INCONSISTENT;
	if (key->soft) {
		rv = p11_soft_ecdh(key->pkey, key->alg, peer, peer_len, secret,
		    &secret_len);
		if (rv != CKR_OK)
			goto out;
		wk = WK_OK;
	} else {
		rv = p11_card_private(slot, wk_piv_derive, key->key_ref,
		    key->alg, peer, peer_len, secret, &secret_len, &wk);
		if (rv != CKR_OK)
			goto out;
	}
	if (wk != WK_OK) {
		rv = p11_token_check(slot, wk);
		goto out;
	}
	if (value_len == 0)
		value_len = secret_len;
	(void)kt;
	(void)sensitive_v;
	(void)extractable;
	rv = p11_soft_secret(s, slot, secret, value_len, tmpl, count, true, out);
out:
	sodium_memzero(secret, sizeof(secret));
	return rv;
}

