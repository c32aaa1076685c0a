/*
 * walletkey-pkcs11: software keys between templates and OpenSSL, shared by
 * p11_soft_key.c and p11_soft.c (layer 5 of p11_internal.h)
 */
#ifndef P11_SOFT_H
#define P11_SOFT_H

#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "p11_internal.h"

EVP_PKEY *p11_soft_fromdata(const char *type, OSSL_PARAM_BLD *bld,
    int selection);
/* the attribute of a template with a value, or NULL */
const CK_ATTRIBUTE *p11_tmpl_want(const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_ATTRIBUTE_TYPE type);
/* an RSA key from a template (private: with its CRT values) */
CK_RV p11_soft_rsa(const CK_ATTRIBUTE *t, CK_ULONG n, bool priv,
    EVP_PKEY **out);
/* the PIV algorithm of a CKA_EC_PARAMS for key type kt; P11_ALG_NONE if none */
uint8_t p11_soft_curve(const CK_ATTRIBUTE *a, CK_KEY_TYPE kt);
/* OpenSSL's group name of P-256 and P-384 */
const char *p11_soft_group(uint8_t alg);
/* an EC, Ed25519 or X25519 key from a template; *alg its PIV algorithm */
CK_RV p11_soft_ec(const CK_ATTRIBUTE *t, CK_ULONG n, CK_KEY_TYPE kt,
    bool priv, EVP_PKEY **out, uint8_t *alg);
/* the key attributes (modulus, point, ...) of an OpenSSL key on o */
CK_RV p11_soft_key_attrs(p11_object *o, EVP_PKEY *pk, uint8_t alg);

#endif
