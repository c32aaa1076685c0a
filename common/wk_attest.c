/* PIV key attestation certificates: built and checked here only (wk_attest.h) */
#include "wk_attest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "wk_hex.h"

#define YK_OID_FIRMWARE "1.3.6.1.4.1.41482.3.3"
#define YK_OID_SERIAL "1.3.6.1.4.1.41482.3.7"
#define YK_OID_POLICY "1.3.6.1.4.1.41482.3.8"
#define YK_OID_FORMFACTOR "1.3.6.1.4.1.41482.3.9"
#define DAY 86400L

const char *
wk_attest_strerror(int rc)
{
	switch (rc) {
	case WK_ATTEST_OK: return "ok";
	case WK_ATTEST_MALFORMED: return "malformed attestation";
	case WK_ATTEST_UNTRUSTED: return "attestation not from a trusted manufacturer";
	case WK_ATTEST_WRONG_CARD: return "attestation of another card";
	case WK_ATTEST_WRONG_SLOT: return "attestation of another key slot";
	case WK_ATTEST_NOT_GENERATED: return "key not generated on the card";
	case WK_ATTEST_WRONG_KEY: return "attestation of another key";
	case WK_ATTEST_CRYPTO: return "cryptography failed";
	case WK_ATTEST_ARG: return "bad argument";
	default: return "unknown error";
	}
}

static int
fail(int rc, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(int rc, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- building ---- */

static const EVP_MD *
sign_md(EVP_PKEY *signer)
{
	if (EVP_PKEY_is_a(signer, "ED25519") || EVP_PKEY_is_a(signer, "ED448"))
		return NULL;
	if (EVP_PKEY_get_bits(signer) > 256 && EVP_PKEY_is_a(signer, "EC"))
		return EVP_sha384();
	return EVP_sha256();
}

/* an extension whose value is the DER of v (an OCTET STRING) */
static int
add_octets(X509 *x, const char *oid, const uint8_t *v, size_t n)
{
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *inner = NULL, *outer = NULL;
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	int dlen, r = -1;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL ||
	    (inner = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(inner, v, (int)n) != 1 ||
	    (dlen = i2d_ASN1_OCTET_STRING(inner, &der)) <= 0 ||
	    (outer = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(outer, der, dlen) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, outer)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto out;
	r = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(outer);
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(obj);
	return r;
}

/* an extension with raw bytes as its value (the Yubico ones) */
static int
add_raw(X509 *x, const char *oid, const uint8_t *v, size_t n)
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

/* standard extensions from their configuration text; issuer NULL: x itself */
static int
add_conf(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int r;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	r = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return r;
}

static int
set_serial(X509 *x, const uint8_t serial[WK_ATTEST_SERIAL_LEN])
{
	uint8_t b[WK_ATTEST_SERIAL_LEN];
	BIGNUM *bn;
	int r;

	memcpy(b, serial, sizeof(b));
	b[0] = (uint8_t)((b[0] & 0x7F) | 0x01);	/* positive, 16 bytes */
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL)
		return -1;
	r = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL ? 0 : -1;
	BN_free(bn);
	return r;
}

static int
add_name(X509_NAME *n, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_ASC,
	    (const unsigned char *)value, -1, -1, 0) == 1 ? 0 : -1;
}

int
wk_attest_ca_new(EVP_PKEY *key, const char *cn, long days,
    const uint8_t serial[WK_ATTEST_SERIAL_LEN], X509 **out)
{
	X509 *x = NULL;
	X509_NAME *n;
	int rc = WK_ATTEST_CRYPTO;

	if (out == NULL)
		return WK_ATTEST_ARG;
	*out = NULL;
	if (key == NULL || cn == NULL || cn[0] == '\0' || days <= 0 ||
	    serial == NULL)
		return WK_ATTEST_ARG;
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    set_serial(x, serial) != 0 ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    add_name(n, "O", "walletkey manufacturer") != 0 ||
	    add_name(n, "CN", cn) != 0 || X509_set_issuer_name(x, n) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    add_conf(x, NULL, NID_basic_constraints, "critical,CA:TRUE,pathlen:1") != 0 ||
	    add_conf(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    add_conf(x, NULL, NID_subject_key_identifier, "hash") != 0 ||
	    X509_sign(x, key, sign_md(key)) <= 0)
		goto out;
	*out = x;
	x = NULL;
	rc = WK_ATTEST_OK;
out:
	X509_free(x);
	return rc;
}

int
wk_attest_device_new(EVP_PKEY *f9, const uint8_t card_id[WK_ATTEST_CARD_ID_LEN],
    EVP_PKEY *ca_key, X509 *ca_cert, long days,
    const uint8_t serial[WK_ATTEST_SERIAL_LEN], X509 **out)
{
	char hex[2 * WK_ATTEST_CARD_ID_LEN + 1];
	EVP_PKEY *signer = ca_key != NULL ? ca_key : f9;
	X509 *x = NULL;
	X509_NAME *n;
	int rc = WK_ATTEST_CRYPTO;

	if (out == NULL)
		return WK_ATTEST_ARG;
	*out = NULL;
	if (f9 == NULL || card_id == NULL || (ca_key == NULL) != (ca_cert == NULL) ||
	    days <= 0 || serial == NULL)
		return WK_ATTEST_ARG;
	wk_hex_encode(card_id, WK_ATTEST_CARD_ID_LEN, hex);
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    set_serial(x, serial) != 0 ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    add_name(n, "CN", WK_ATTEST_DEVICE_CN) != 0 ||
	    add_name(n, "serialNumber", hex) != 0 ||
	    X509_set_issuer_name(x, ca_cert != NULL ?
	    X509_get_subject_name(ca_cert) : n) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL ||
	    /* never past the CA's own end */
	    (ca_cert != NULL && ASN1_TIME_compare(X509_get0_notAfter(ca_cert),
	    X509_get0_notAfter(x)) < 0 &&
	    X509_set1_notAfter(x, X509_get0_notAfter(ca_cert)) != 1) ||
	    X509_set_pubkey(x, f9) != 1 ||
	    add_conf(x, NULL, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
	    add_conf(x, NULL, NID_key_usage, "critical,keyCertSign,digitalSignature") != 0 ||
	    add_conf(x, NULL, NID_subject_key_identifier, "hash") != 0 ||
	    (ca_cert != NULL && add_conf(x, ca_cert, NID_authority_key_identifier,
	    "keyid:always") != 0) ||
	    add_octets(x, WK_ATTEST_OID_CARD_ID, card_id, WK_ATTEST_CARD_ID_LEN) != 0 ||
	    X509_sign(x, signer, sign_md(signer)) <= 0)
		goto out;
	*out = x;
	x = NULL;
	rc = WK_ATTEST_OK;
out:
	X509_free(x);
	return rc;
}

/* the Yubico serial extension: a DER INTEGER, minimal and positive */
static int
add_yk_serial(X509 *x, uint32_t serial)
{
	uint8_t ser[7];
	size_t n = 0;

	ser[0] = 0x02;
	for (int sh = 24; sh >= 0; sh -= 8) {
		uint8_t byte = (uint8_t)(serial >> sh);

		if (n == 0 && byte == 0 && sh != 0)
			continue;
		if (n == 0 && (byte & 0x80) != 0)
			ser[2 + n++] = 0;
		ser[2 + n++] = byte;
	}
	ser[1] = (uint8_t)n;
	return add_raw(x, YK_OID_SERIAL, ser, 2 + n);
}

int
wk_attest_key_new(EVP_PKEY *pub, const wk_attest_key *info,
    const uint8_t card_id[WK_ATTEST_CARD_ID_LEN], EVP_PKEY *f9, X509 *device,
    const uint8_t serial[WK_ATTEST_SERIAL_LEN], X509 **out)
{
	uint8_t pol[2];
	char cn[48];
	X509 *x = NULL;
	int rc = WK_ATTEST_CRYPTO;

	if (out == NULL)
		return WK_ATTEST_ARG;
	*out = NULL;
	if (pub == NULL || info == NULL || card_id == NULL || f9 == NULL ||
	    device == NULL || serial == NULL)
		return WK_ATTEST_ARG;
	pol[0] = info->pin_policy;
	pol[1] = info->touch_policy;
	snprintf(cn, sizeof(cn), "%s %02x", WK_ATTEST_DEVICE_CN, info->slot);
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    set_serial(x, serial) != 0 ||
	    add_name(X509_get_subject_name(x), "CN", cn) != 0 ||
	    X509_set_issuer_name(x, X509_get_subject_name(device)) != 1 ||
	    X509_set1_notBefore(x, X509_get0_notBefore(device)) != 1 ||
	    X509_set1_notAfter(x, X509_get0_notAfter(device)) != 1 ||
	    X509_set_pubkey(x, pub) != 1 ||
	    add_conf(x, device, NID_authority_key_identifier, "keyid:always") != 0 ||
	    add_raw(x, YK_OID_FIRMWARE, info->firmware, 3) != 0 ||
	    add_yk_serial(x, info->serial) != 0 ||
	    add_raw(x, YK_OID_POLICY, pol, 2) != 0 ||
	    add_raw(x, YK_OID_FORMFACTOR, &info->form_factor, 1) != 0 ||
	    add_octets(x, WK_ATTEST_OID_CARD_ID, card_id, WK_ATTEST_CARD_ID_LEN) != 0 ||
	    add_octets(x, WK_ATTEST_OID_SLOT, &info->slot, 1) != 0 ||
	    add_octets(x, WK_ATTEST_OID_ORIGIN, &info->origin, 1) != 0 ||
	    X509_sign(x, f9, sign_md(f9)) <= 0)
		goto out;
	*out = x;
	x = NULL;
	rc = WK_ATTEST_OK;
out:
	X509_free(x);
	return rc;
}

/* ---- checking ---- */

/* the one extension oid of x, a DER OCTET STRING of exactly n bytes */
static int
get_octets(X509 *x, const char *oid, uint8_t *v, size_t n)
{
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *inner = NULL;
	const ASN1_OCTET_STRING *data;
	const unsigned char *p;
	X509_EXTENSION *ext;
	int idx, rc = WK_ATTEST_MALFORMED;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL) {
		rc = WK_ATTEST_CRYPTO;
		goto out;
	}
	if ((idx = X509_get_ext_by_OBJ(x, obj, -1)) < 0 ||
	    X509_get_ext_by_OBJ(x, obj, idx) >= 0 ||
	    (ext = X509_get_ext(x, idx)) == NULL ||
	    (data = X509_EXTENSION_get_data(ext)) == NULL ||
	    ASN1_STRING_length(data) <= 0)
		goto out;
	p = ASN1_STRING_get0_data(data);
	if ((inner = d2i_ASN1_OCTET_STRING(NULL, &p,
	    ASN1_STRING_length(data))) == NULL ||
	    p != ASN1_STRING_get0_data(data) + ASN1_STRING_length(data) ||
	    ASN1_STRING_length(inner) != (int)n)
		goto out;
	memcpy(v, ASN1_STRING_get0_data(inner), n);
	rc = WK_ATTEST_OK;
out:
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(obj);
	return rc;
}

int
wk_attest_cert_card_id(X509 *x, uint8_t card_id[WK_ATTEST_CARD_ID_LEN])
{
	if (x == NULL || card_id == NULL)
		return WK_ATTEST_ARG;
	return get_octets(x, WK_ATTEST_OID_CARD_ID, card_id, WK_ATTEST_CARD_ID_LEN);
}

/* one DER certificate, nothing before or after it */
static X509 *
parse_one(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	X509 *x;

	if (der == NULL || len == 0 || len > WK_ATTEST_CERT_MAX)
		return NULL;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return NULL;
	if (p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
verify_path(X509_STORE *trusted, X509 *leaf, STACK_OF(X509) *rest,
    X509 *device, wk_attest_facts *f, char *why, size_t whylen)
{
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain;
	int rc = WK_ATTEST_CRYPTO, err;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, trusted, leaf, rest) != 1) {
		rc = fail(WK_ATTEST_CRYPTO, why, whylen, "the chain check failed to run");
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	X509_STORE_CTX_set_depth(ctx, WK_ATTEST_CHAIN_MAX);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		rc = fail(WK_ATTEST_UNTRUSTED, why, whylen,
		    "the attestation does not lead to a trusted manufacturer CA: %s",
		    X509_verify_cert_error_string(err));
		goto out;
	}
	/* key <- device <- (intermediates) <- trusted CA: the device
	 * certificate is never itself the anchor */
	chain = X509_STORE_CTX_get0_chain(ctx);
	if (chain == NULL || sk_X509_num(chain) < 3 ||
	    X509_cmp(sk_X509_value(chain, 1), device) != 0) {
		rc = fail(WK_ATTEST_UNTRUSTED, why, whylen,
		    "the key attestation is not signed by the card's device"
		    " certificate under a manufacturer CA");
		goto out;
	}
	f->depth = sk_X509_num(chain);
	rc = WK_ATTEST_OK;
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

int
wk_attest_verify(X509_STORE *trusted, const uint8_t *const der[],
    const size_t len[], size_t n, const uint8_t *card_id, uint8_t slot,
    EVP_PKEY *pub, wk_attest_facts *facts, char *why, size_t whylen)
{
	X509 *certs[WK_ATTEST_CHAIN_MAX] = { NULL };
	STACK_OF(X509) *rest = NULL;
	uint8_t dev_id[WK_ATTEST_CARD_ID_LEN];
	wk_attest_facts f;
	int rc = WK_ATTEST_ARG;

	memset(&f, 0, sizeof(f));
	if (facts != NULL)
		memset(facts, 0, sizeof(*facts));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (trusted == NULL || der == NULL || len == NULL)
		return fail(WK_ATTEST_ARG, why, whylen, "bad argument");
	if (n < 2 || n > WK_ATTEST_CHAIN_MAX)
		return fail(WK_ATTEST_MALFORMED, why, whylen,
		    "the attestation chain holds %zu certificates, not 2 to %d", n,
		    WK_ATTEST_CHAIN_MAX);
	for (size_t i = 0; i < n; i++)
		if ((certs[i] = parse_one(der[i], len[i])) == NULL) {
			rc = fail(WK_ATTEST_MALFORMED, why, whylen,
			    "attestation certificate %zu is not one DER certificate"
			    " of at most %d bytes", i, WK_ATTEST_CERT_MAX);
			goto out;
		}
	if ((rest = sk_X509_new_null()) == NULL) {
		rc = WK_ATTEST_CRYPTO;
		goto out;
	}
	for (size_t i = 1; i < n; i++)
		if (sk_X509_push(rest, certs[i]) <= 0) {
			rc = WK_ATTEST_CRYPTO;
			goto out;
		}
	if ((rc = verify_path(trusted, certs[0], rest, certs[1], &f, why,
	    whylen)) != WK_ATTEST_OK)
		goto out;
	if (X509_check_ca(certs[0]) != 0) {
		rc = fail(WK_ATTEST_MALFORMED, why, whylen,
		    "the key attestation is a CA certificate");
		goto out;
	}
	if (get_octets(certs[1], WK_ATTEST_OID_CARD_ID, dev_id,
	    sizeof(dev_id)) != WK_ATTEST_OK ||
	    get_octets(certs[0], WK_ATTEST_OID_CARD_ID, f.card_id,
	    sizeof(f.card_id)) != WK_ATTEST_OK ||
	    get_octets(certs[0], WK_ATTEST_OID_SLOT, &f.slot, 1) != WK_ATTEST_OK ||
	    get_octets(certs[0], WK_ATTEST_OID_ORIGIN, &f.origin, 1) !=
	    WK_ATTEST_OK) {
		rc = fail(WK_ATTEST_MALFORMED, why, whylen,
		    "the attestation lacks a well-formed card id, key slot or key"
		    " origin extension");
		goto out;
	}
	if (memcmp(dev_id, f.card_id, sizeof(dev_id)) != 0 ||
	    (card_id != NULL && memcmp(card_id, f.card_id, sizeof(dev_id)) != 0)) {
		char a[2 * WK_ATTEST_CARD_ID_LEN + 1];

		wk_hex_encode(dev_id, sizeof(dev_id), a);
		rc = fail(WK_ATTEST_WRONG_CARD, why, whylen,
		    "the attestation is of card %s", a);
		goto out;
	}
	if (slot != 0 && f.slot != slot) {
		rc = fail(WK_ATTEST_WRONG_SLOT, why, whylen,
		    "the attestation is of a key in slot %02x, not %02x", f.slot,
		    slot);
		goto out;
	}
	if (f.origin != WK_ATTEST_ORIGIN_GENERATED) {
		rc = fail(WK_ATTEST_NOT_GENERATED, why, whylen,
		    "the attested key was not generated on the card");
		goto out;
	}
	if (pub != NULL && (X509_get0_pubkey(certs[0]) == NULL ||
	    EVP_PKEY_eq(X509_get0_pubkey(certs[0]), pub) != 1)) {
		rc = fail(WK_ATTEST_WRONG_KEY, why, whylen,
		    "the attestation certifies another key");
		goto out;
	}
	if (facts != NULL)
		*facts = f;
	rc = WK_ATTEST_OK;
out:
	sk_X509_free(rest);
	for (size_t i = 0; i < WK_ATTEST_CHAIN_MAX; i++)
		X509_free(certs[i]);
	ERR_clear_error();
	return rc;
}

/* ---- files ---- */

/* an encrypted key is refused, never asked for on a terminal */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
wk_attest_ca_read(const char *path, EVP_PKEY **key, X509 **cert, char *err,
    size_t errlen)
{
	BIO *b = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rc = WK_ATTEST_MALFORMED;

	if (key == NULL || cert == NULL)
		return WK_ATTEST_ARG;
	*key = NULL;
	*cert = NULL;
	if (path == NULL)
		return fail(WK_ATTEST_ARG, err, errlen, "no CA key file given");
	if ((b = BIO_new_file(path, "r")) == NULL) {
		rc = fail(WK_ATTEST_ARG, err, errlen, "%s: cannot open it", path);
		goto out;
	}
	/* each reader skips PEM blocks of other kinds */
	if ((k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL)) == NULL) {
		rc = fail(WK_ATTEST_MALFORMED, err, errlen,
		    "%s: no PEM private key (an unencrypted one)", path);
		goto out;
	}
	BIO_free(b);
	if ((b = BIO_new_file(path, "r")) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) == NULL) {
		rc = fail(WK_ATTEST_MALFORMED, err, errlen,
		    "%s: no PEM certificate beside the key", path);
		goto out;
	}
	if (X509_check_private_key(x, k) != 1) {
		rc = fail(WK_ATTEST_MALFORMED, err, errlen,
		    "%s: the certificate is not the key's", path);
		goto out;
	}
	if (X509_check_ca(x) == 0) {
		rc = fail(WK_ATTEST_MALFORMED, err, errlen,
		    "%s: the certificate is not a CA certificate", path);
		goto out;
	}
	*key = k;
	*cert = x;
	k = NULL;
	x = NULL;
	rc = WK_ATTEST_OK;
out:
	BIO_free(b);
	EVP_PKEY_free(k);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int
wk_attest_store_add_file(X509_STORE *store, const char *path, size_t *n,
    char *err, size_t errlen)
{
	BIO *b = NULL;
	X509 *x;
	size_t count = 0;
	int rc = WK_ATTEST_MALFORMED;

	if (n != NULL)
		*n = 0;
	if (store == NULL || path == NULL)
		return WK_ATTEST_ARG;
	if ((b = BIO_new_file(path, "r")) == NULL) {
		rc = fail(WK_ATTEST_ARG, err, errlen, "%s: cannot open it", path);
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
		int ok = X509_check_ca(x) != 0 && X509_STORE_add_cert(store, x) == 1;

		X509_free(x);
		if (!ok) {
			rc = fail(WK_ATTEST_MALFORMED, err, errlen,
			    "%s: certificate %zu is not a CA certificate", path,
			    count + 1);
			goto out;
		}
		count++;
	}
	if (count == 0) {
		rc = fail(WK_ATTEST_MALFORMED, err, errlen,
		    "%s: no PEM certificate", path);
		goto out;
	}
	if (n != NULL)
		*n = count;
	rc = WK_ATTEST_OK;
out:
	BIO_free(b);
	ERR_clear_error();
	return rc;
}
