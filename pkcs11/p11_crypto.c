/*
 * host-side cryptography with OpenSSL 3 EVP: certificate and public-key
 * parsing, digests, RSA encodings (RFC 8017), verification and encryption
 * with public keys. Private-key operations happen on the card. OpenSSL
 * only: this file calls no other of the module (layer 1).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "p11_internal.h"
#include "wk_digestinfo.h"

/*
 * the module's own OpenSSL library context: the application's OpenSSL
 * configuration (an engine set as default, e.g. libengine-pkcs11-openssl
 * loading this very module) must not handle the module's public-key work
 */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static OSSL_LIB_CTX *libctx;
static EVP_MD *mds[7];
static const char *const md_names[7] = { "SHA1", "SHA224", "SHA256",
    "SHA384", "SHA512", "MD5", "SM3" };

static void
crypto_init(void)
{
	libctx = OSSL_LIB_CTX_new();
	for (size_t i = 0; libctx != NULL && i < sizeof(mds) / sizeof(mds[0]); i++)
		mds[i] = EVP_MD_fetch(libctx, md_names[i], NULL);
}

static OSSL_LIB_CTX *
lib_ctx(void)
{
	(void)pthread_once(&once, crypto_init);
	return libctx;
}

void *
p11_libctx(void)
{
	return lib_ctx();
}

__attribute__((destructor)) static void
crypto_fini(void)
{
	for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++)
		EVP_MD_free(mds[i]);
	OSSL_LIB_CTX_free(libctx);
}

static CK_RV
der_dup(uint8_t **out, size_t *out_len, int n, uint8_t *der)
{
	if (n <= 0 || der == NULL)
		return CKR_FUNCTION_FAILED;
	*out = der;
	*out_len = (size_t)n;
	return CKR_OK;
}

static void
asn1_date(const ASN1_TIME *t, char out[8])
{
	struct tm tm;
	char buf[9];

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return;
	if (snprintf(buf, sizeof(buf), "%04d%02d%02d", (tm.tm_year + 1900) % 10000,
	    (tm.tm_mon + 1) % 100, tm.tm_mday % 100) != 8)
		return;
	memcpy(out, buf, 8);
}

CK_RV
p11_x509_parse(const uint8_t *der, size_t len, p11_x509 *out)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	uint8_t *buf;
	int n;
	CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0 || len > (size_t)INT32_MAX)
		goto out;
	x = X509_new_ex(lib_ctx(), NULL);
	if (x == NULL || d2i_X509(&x, &p, (long)len) == NULL ||
	    (size_t)(p - der) != len)
		goto out;
	rv = CKR_HOST_MEMORY;
	buf = NULL;
	n = i2d_X509_NAME(X509_get_subject_name(x), &buf);
	if (der_dup(&out->subject, &out->subject_len, n, buf) != CKR_OK)
		goto out;
	buf = NULL;
	n = i2d_X509_NAME(X509_get_issuer_name(x), &buf);
	if (der_dup(&out->issuer, &out->issuer_len, n, buf) != CKR_OK)
		goto out;
	buf = NULL;
	n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &buf);
	if (der_dup(&out->serial, &out->serial_len, n, buf) != CKR_OK)
		goto out;
	buf = NULL;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &buf);
	if (der_dup(&out->spki, &out->spki_len, n, buf) != CKR_OK)
		goto out;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    out->label, (int)sizeof(out->label)) < 0)
		out->label[0] = '\0';
	asn1_date(X509_get0_notBefore(x), out->start);
	asn1_date(X509_get0_notAfter(x), out->end);
	out->has_dates = out->start[0] != '\0' && out->end[0] != '\0';
	rv = CKR_OK;
out:
	if (rv != CKR_OK)
		p11_x509_clear(out);
	X509_free(x);
	return rv;
}

void
p11_x509_clear(p11_x509 *x)
{
	OPENSSL_free(x->subject);
	OPENSSL_free(x->issuer);
	OPENSSL_free(x->serial);
	OPENSSL_free(x->spki);
	memset(x, 0, sizeof(*x));
}


/* DER OIDs of the named curves (CKA_EC_PARAMS; RFC 5480, RFC 8410) */
const uint8_t p11_oid_p256[10] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
const uint8_t p11_oid_p384[7] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22 };
const uint8_t p11_oid_ed25519[5] = { 0x06, 0x03, 0x2B, 0x65, 0x70 };
const uint8_t p11_oid_x25519[5] = { 0x06, 0x03, 0x2B, 0x65, 0x6E };

static EVP_PKEY *
spki_key(const uint8_t *spki, size_t len)
{
	const unsigned char *p = spki;

	if (spki == NULL || len == 0 || len > (size_t)INT32_MAX)
		return NULL;
	return d2i_PUBKEY_ex(NULL, &p, (long)len, lib_ctx(), NULL);
}

/* the EVP_PKEY of a session key object */
void
p11_soft_free(void *pkey)
{
	EVP_PKEY_free(pkey);
}

CK_RV
p11_oid_der(const char *dotted, uint8_t **out, size_t *len)
{
	ASN1_OBJECT *o = OBJ_txt2obj(dotted, 1);
	uint8_t *buf = NULL;
	int n;
	CK_RV rv = CKR_HOST_MEMORY;

	if (o == NULL)
		goto out;
	n = i2d_ASN1_OBJECT(o, &buf);
	if (n <= 0)
		goto out;
	*out = malloc((size_t)n);
	if (*out == NULL)
		goto out;
	memcpy(*out, buf, (size_t)n);
	*len = (size_t)n;
	rv = CKR_OK;
out:
	OPENSSL_free(buf);
	ASN1_OBJECT_free(o);
	return rv;
}

const void *
p11_hash_md(CK_MECHANISM_TYPE hash)
{
	(void)lib_ctx();
	switch (hash) {
	case CKM_SHA_1:
		return mds[0];
	case CKM_SHA224:
		return mds[1];
	case CKM_SHA256:
		return mds[2];
	case CKM_SHA384:
		return mds[3];
	case CKM_SHA512:
		return mds[4];
	default:
		return NULL;
	}
}

/* C_Digest also offers MD5 (for old protocols); signatures never do */
const void *
p11_digest_md(CK_MECHANISM_TYPE hash)
{
	(void)lib_ctx();
	return hash == CKM_MD5 ? mds[5] : hash == CKM_WK_SM3 ? mds[6] :
	    p11_hash_md(hash);
}

size_t
p11_hash_len(CK_MECHANISM_TYPE hash)
{
	const EVP_MD *md = p11_digest_md(hash);

	return md != NULL ? (size_t)EVP_MD_get_size(md) : 0;
}

CK_RV
p11_digest(CK_MECHANISM_TYPE hash, const uint8_t *in, size_t len,
    uint8_t *out, size_t *out_len)
{
	const EVP_MD *md = p11_hash_md(hash);
	unsigned n = 0;

	if (md == NULL || *out_len < (size_t)EVP_MD_get_size(md))
		return CKR_MECHANISM_INVALID;
	if (EVP_Digest(in, len, out, &n, md, NULL) != 1)
		return CKR_FUNCTION_FAILED;
	*out_len = n;
	return CKR_OK;
}

/* RFC 8017 9.2 note 1: the DigestInfo prefix of a hash (common/wk_digestinfo.c) */
static const uint8_t *
digest_info(CK_MECHANISM_TYPE hash, size_t *len)
{
	switch (hash) {
	case CKM_SHA_1:
		return wk_digest_info(NID_sha1, len);
	case CKM_SHA224:
		return wk_digest_info(NID_sha224, len);
	case CKM_SHA256:
		return wk_digest_info(NID_sha256, len);
	case CKM_SHA384:
		return wk_digest_info(NID_sha384, len);
	case CKM_SHA512:
		return wk_digest_info(NID_sha512, len);
	default:
		*len = 0;
		return NULL;
	}
}

/* EMSA-PKCS1-v1_5 (RFC 8017 9.2): 00 01 FF.. 00 [DigestInfo] data */
CK_RV
p11_pkcs1_sign_pad(CK_MECHANISM_TYPE hash, const uint8_t *in, size_t len,
    uint8_t *em, size_t em_len)
{
	size_t pre_len = 0, t_len;
	const uint8_t *pre = NULL;

	if (hash != 0) {
		pre = digest_info(hash, &pre_len);
		if (pre == NULL || len != p11_hash_len(hash))
			return CKR_DATA_LEN_RANGE;
	}
	t_len = pre_len + len;
	if (em_len < 11 || t_len > em_len - 11)
		return CKR_DATA_LEN_RANGE;
	em[0] = 0x00;
	em[1] = 0x01;
	memset(em + 2, 0xFF, em_len - t_len - 3);
	em[em_len - t_len - 1] = 0x00;
	if (pre_len > 0)
		memcpy(em + em_len - t_len, pre, pre_len);
	memcpy(em + em_len - len, in, len);
	return CKR_OK;
}

static CK_RV
mgf1_xor(CK_MECHANISM_TYPE hash, const uint8_t *seed, size_t seed_len,
    uint8_t *mask, size_t mask_len)
{
	return wk_mgf1_xor(p11_hash_md(hash), seed, seed_len, mask, mask_len) ==
	    0 ? CKR_OK : CKR_FUNCTION_FAILED;
}

/* EMSA-PSS-ENCODE (RFC 8017 9.1.1), em_len = modulus bytes */
CK_RV
p11_pss_pad(CK_MECHANISM_TYPE hash, CK_MECHANISM_TYPE mgf_hash,
    size_t salt_len, const uint8_t *mhash, size_t mhash_len, size_t mod_bits,
    uint8_t *em, size_t em_len)
{
	const EVP_MD *md = p11_hash_md(hash);
	size_t h_len = p11_hash_len(hash), em_bits, e_len, db_len, off;
	uint8_t salt[EVP_MAX_MD_SIZE * 2 + 64], mp[8 + EVP_MAX_MD_SIZE * 3 + 64];
	uint8_t *e;
	unsigned hl;
	CK_RV rv = CKR_DATA_LEN_RANGE;

	if (md == NULL || mhash_len != h_len || mod_bits < 2 ||
	    em_len != (mod_bits + 7) / 8 || salt_len > sizeof(salt))
		return CKR_MECHANISM_PARAM_INVALID;
	em_bits = mod_bits - 1;
	e_len = (em_bits + 7) / 8;
	if (e_len < h_len + salt_len + 2)
		return CKR_KEY_SIZE_RANGE;
	off = em_len - e_len;	/* 1 when modBits - 1 is a multiple of 8 */
	memset(em, 0, em_len);
	e = em + off;
	if (salt_len > 0)
		randombytes_buf(salt, salt_len);
	memset(mp, 0, 8);
	memcpy(mp + 8, mhash, h_len);
	memcpy(mp + 8 + h_len, salt, salt_len);
	db_len = e_len - h_len - 1;
	if (EVP_Digest(mp, 8 + h_len + salt_len, e + db_len, &hl, md, NULL) != 1)
		goto out;
	/* DB = PS || 01 || salt */
	e[db_len - salt_len - 1] = 0x01;
	memcpy(e + db_len - salt_len, salt, salt_len);
	rv = mgf1_xor(mgf_hash, e + db_len, h_len, e, db_len);
	if (rv != CKR_OK)
		goto out;
	e[0] &= (uint8_t)(0xFF >> (8 * e_len - em_bits));
	e[e_len - 1] = 0xBC;
	rv = CKR_OK;
out:
	sodium_memzero(salt, sizeof(salt));
	return rv;
}

/*
 * EME-PKCS1-v1_5 decoding (RFC 8017 7.2.2): scans the whole block so the
 * time does not depend on where the separator is
 */
CK_RV
p11_pkcs1_unpad(const uint8_t *em, size_t em_len, uint8_t *out,
    size_t *out_len)
{
	size_t sep = 0, found = 0, bad = 0, m_len;

	if (em_len < 11)
		return CKR_ENCRYPTED_DATA_INVALID;
	bad |= em[0];
	bad |= em[1] ^ 0x02;
	for (size_t i = 2; i < em_len; i++) {
		size_t is_zero = (size_t)((((unsigned)em[i]) - 1u) >> 8) & 1u;
		size_t take = is_zero & (found ^ 1u);
		sep |= (size_t)(0 - take) & i;
		found |= is_zero;
	}
	bad |= found ^ 1u;
	bad |= (size_t)(sep < 10);
	if (bad)
		return CKR_ENCRYPTED_DATA_INVALID;
	m_len = em_len - sep - 1;
	if (out == NULL) {
		*out_len = m_len;
		return CKR_OK;
	}
	if (*out_len < m_len) {
		*out_len = m_len;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(out, em + sep + 1, m_len);
	*out_len = m_len;
	return CKR_OK;
}

/* EME-OAEP decoding (RFC 8017 7.1.2) */
CK_RV
p11_oaep_unpad(CK_MECHANISM_TYPE hash, CK_MECHANISM_TYPE mgf_hash,
    const uint8_t *label, size_t label_len, const uint8_t *em, size_t em_len,
    uint8_t *out, size_t *out_len)
{
	size_t h_len = p11_hash_len(hash), db_len, one = 0, found = 0, bad = 0;
	uint8_t lhash[EVP_MAX_MD_SIZE], seed[EVP_MAX_MD_SIZE], *db = NULL;
	size_t l_len = sizeof(lhash), m_len;
	CK_RV rv = CKR_ENCRYPTED_DATA_INVALID;

	if (h_len == 0 || em_len < 2 * h_len + 2)
		return CKR_ENCRYPTED_DATA_INVALID;
	db_len = em_len - h_len - 1;
	db = malloc(db_len);
	if (db == NULL)
		return CKR_HOST_MEMORY;
	if (p11_digest(hash, label != NULL ? label : (const uint8_t *)"",
	    label_len, lhash, &l_len) != CKR_OK)
		goto out;
	memcpy(seed, em + 1, h_len);
	memcpy(db, em + 1 + h_len, db_len);
	if (mgf1_xor(mgf_hash, db, db_len, seed, h_len) != CKR_OK ||
	    mgf1_xor(mgf_hash, seed, h_len, db, db_len) != CKR_OK)
		goto out;
	bad |= em[0];
	bad |= (size_t)(sodium_memcmp(db, lhash, h_len) != 0);
	for (size_t i = h_len; i < db_len; i++) {
		size_t is_one = (size_t)((((unsigned)(db[i] ^ 0x01)) - 1u) >> 8) & 1u;
		size_t is_zero = (size_t)((((unsigned)db[i]) - 1u) >> 8) & 1u;
		size_t take = is_one & (found ^ 1u);
		one |= (size_t)(0 - take) & i;
		/* anything but zeros before the 01 is an error */
		bad |= (found ^ 1u) & (is_zero ^ 1u) & (is_one ^ 1u);
		found |= is_one;
	}
	bad |= found ^ 1u;
	if (bad)
		goto out;
	m_len = db_len - one - 1;
	if (out == NULL) {
		*out_len = m_len;
		rv = CKR_OK;
		goto out;
	}
	if (*out_len < m_len) {
		*out_len = m_len;
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	memcpy(out, db + one + 1, m_len);
	*out_len = m_len;
	rv = CKR_OK;
out:
	sodium_memzero(seed, sizeof(seed));
	if (db != NULL)
		sodium_memzero(db, db_len);
	free(db);
	return rv;
}

CK_RV
p11_ecdsa_raw_to_der(const uint8_t *raw, size_t len, uint8_t **der,
    size_t *der_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = NULL, *s = NULL;
	uint8_t *buf = NULL;
	int n;
	CK_RV rv = CKR_SIGNATURE_LEN_RANGE;

	if (sig == NULL || len == 0 || len % 2 != 0 || len > 132)
		goto out;
	r = BN_bin2bn(raw, (int)(len / 2), NULL);
	s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;
	n = i2d_ECDSA_SIG(sig, &buf);
	if (n <= 0)
		goto out;
	*der = buf;
	*der_len = (size_t)n;
	rv = CKR_OK;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return rv;
}

static int
rsa_params(EVP_PKEY_CTX *ctx, CK_MECHANISM_TYPE base, CK_MECHANISM_TYPE hash,
    CK_MECHANISM_TYPE mgf_hash, size_t salt_len)
{
	const EVP_MD *md = p11_hash_md(hash), *mgf = p11_hash_md(mgf_hash);

	switch (base) {
	case CKM_RSA_PKCS:
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
			return -1;
		if (md != NULL && EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
			return -1;
		return 0;
	case CKM_RSA_X_509:
		return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 ? 0 : -1;
	case CKM_RSA_PKCS_PSS:
		if (md == NULL || mgf == NULL || salt_len > INT32_MAX ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)salt_len) != 1)
			return -1;
		return 0;
	default:
		return 0;
	}
}

CK_RV
p11_host_verify(const uint8_t *spki, size_t spki_len, CK_MECHANISM_TYPE base,
    CK_MECHANISM_TYPE hash, CK_MECHANISM_TYPE mgf_hash, size_t salt_len,
    const uint8_t *tbs, size_t tbs_len, const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *pk = spki_key(spki, spki_len);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	uint8_t *der = NULL, *rec = NULL;
	size_t der_len = 0, rec_len, mod;
	int ok;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if (pk == NULL)
		goto out;
	if (base == CKM_EDDSA) {
		rv = CKR_SIGNATURE_LEN_RANGE;
		if (sig_len != 64)
			goto out;
		rv = CKR_FUNCTION_FAILED;
		mctx = EVP_MD_CTX_new();
		if (mctx == NULL ||
		    EVP_DigestVerifyInit_ex(mctx, NULL, NULL, lib_ctx(), NULL, pk,
		    NULL) != 1)
			goto out;
		ok = EVP_DigestVerify(mctx, sig, sig_len, tbs, tbs_len);
		rv = ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(lib_ctx(), pk, NULL);
	if (ctx == NULL)
		goto out;
	if (base == CKM_ECDSA) {
		rv = CKR_SIGNATURE_LEN_RANGE;
		if (sig_len != 2 * ((size_t)(EVP_PKEY_get_bits(pk) + 7) / 8))
			goto out;
		rv = p11_ecdsa_raw_to_der(sig, sig_len, &der, &der_len);
		if (rv != CKR_OK)
			goto out;
		rv = CKR_FUNCTION_FAILED;
		if (EVP_PKEY_verify_init(ctx) != 1)
			goto out;
		ok = EVP_PKEY_verify(ctx, der, der_len, tbs, tbs_len);
		rv = ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
		goto out;
	}
	mod = (size_t)EVP_PKEY_get_size(pk);
	rv = CKR_SIGNATURE_LEN_RANGE;
	if (sig_len != mod)
		goto out;
	rv = CKR_FUNCTION_FAILED;
	if (base == CKM_RSA_X_509) {
		/* compare the recovered block with the data left-padded with zeros */
		rec_len = mod;
		rec = malloc(mod);
		if (rec == NULL || EVP_PKEY_verify_recover_init(ctx) != 1 ||
		    rsa_params(ctx, base, 0, 0, 0) != 0)
			goto out;
		if (EVP_PKEY_verify_recover(ctx, rec, &rec_len, sig, sig_len) != 1) {
			rv = CKR_SIGNATURE_INVALID;
			goto out;
		}
		rv = CKR_SIGNATURE_INVALID;
		if (rec_len == mod && tbs_len <= mod) {
			size_t pad = mod - tbs_len, nz = 0;
			for (size_t i = 0; i < pad; i++)
				nz |= rec[i];
			if (nz == 0 && sodium_memcmp(rec + pad, tbs, tbs_len) == 0)
				rv = CKR_OK;
		}
		goto out;
	}
	if (EVP_PKEY_verify_init(ctx) != 1 ||
	    rsa_params(ctx, base, hash, mgf_hash, salt_len) != 0)
		goto out;
	ok = EVP_PKEY_verify(ctx, sig, sig_len, tbs, tbs_len);
	rv = ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
out:
	OPENSSL_free(der);
	free(rec);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rv;
}

CK_RV
p11_host_encrypt(const uint8_t *spki, size_t spki_len, CK_MECHANISM_TYPE base,
    CK_MECHANISM_TYPE hash, CK_MECHANISM_TYPE mgf_hash, const uint8_t *label,
    size_t label_len, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t *out_len)
{
	EVP_PKEY *pk = spki_key(spki, spki_len);
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *tmp = NULL, *lab = NULL;
	size_t mod, n;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
		goto out;
	mod = (size_t)EVP_PKEY_get_size(pk);
	if (out == NULL) {
		*out_len = mod;
		rv = CKR_OK;
		goto out;
	}
	if (*out_len < mod) {
		*out_len = mod;
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(lib_ctx(), pk, NULL);
	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) != 1)
		goto out;
	rv = CKR_DATA_LEN_RANGE;
	switch (base) {
	case CKM_RSA_PKCS:
		if (mod < 11 || in_len > mod - 11)
			goto out;
		rv = CKR_FUNCTION_FAILED;
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
			goto out;
		break;
	case CKM_RSA_X_509:
		if (in_len > mod)
			goto out;
		rv = CKR_FUNCTION_FAILED;
		tmp = calloc(1, mod);
		if (tmp == NULL ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1)
			goto out;
		memcpy(tmp + mod - in_len, in, in_len);
		in = tmp;
		in_len = mod;
		break;
	case CKM_RSA_PKCS_OAEP:
		if (mod < 2 * p11_hash_len(hash) + 2 ||
		    in_len > mod - 2 * p11_hash_len(hash) - 2)
			goto out;
		rv = CKR_FUNCTION_FAILED;
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, p11_hash_md(hash)) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p11_hash_md(mgf_hash)) != 1)
			goto out;
		if (label_len > 0) {
			lab = OPENSSL_malloc(label_len);
			if (lab == NULL)
				goto out;
			memcpy(lab, label, label_len);
			if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab,
			    (int)label_len) != 1)
				goto out;
			lab = NULL;
		}
		break;
	default:
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	n = *out_len;
	if (EVP_PKEY_encrypt(ctx, out, &n, in, in_len) != 1) {
		rv = base == CKM_RSA_X_509 ? CKR_DATA_INVALID : CKR_FUNCTION_FAILED;
		goto out;
	}
	*out_len = n;
	rv = CKR_OK;
out:
	OPENSSL_free(lab);
	free(tmp);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rv;
}
