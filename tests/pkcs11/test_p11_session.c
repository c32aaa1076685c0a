/*
 * session objects (CKA_TOKEN false) of the module in tools/walletkey-sandbox:
 * the cases google/pkcs11test and OpenSC's p11test found, as our own tests
 * (CI has no network to fetch those suites), and the Tookan attacks
 * (Bortolozzo, Centenaro, Focardi, Steel, CCS 2010) failing as attacks.
 * usage (inside the sandbox): test_p11_session PATH-TO-walletkey-pkcs11.so
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11_test.h"

static CK_SLOT_ID slot;
static CK_BYTE pin[] = "123456";
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int
load(CK_C_INITIALIZE_ARGS *args)
{
	CK_ULONG n = 1;

	if (p11_test_open() != 0 || f->C_Initialize(args) != CKR_OK)
		return -1;
	if (f->C_GetSlotList(CK_TRUE, &slot, &n) != CKR_OK || n != 1)
		return -1;
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	return load(NULL);
}

static int
teardown(void **state)
{
	(void)state;
	f->C_Finalize(NULL);
	dlclose(lib);
	return 0;
}

static CK_SESSION_HANDLE
open_session(bool rw)
{
	CK_SESSION_HANDLE h;

	OK(f->C_OpenSession(slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0),
	    NULL, NULL, &h));
	return h;
}

/* a session secret key: mech, length (0: the mechanism's), extra attributes */
static CK_OBJECT_HANDLE
secret(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE gen, CK_ULONG len,
    const CK_ATTRIBUTE *extra, CK_ULONG n_extra)
{
	CK_MECHANISM m = { gen, NULL, 0 };
	CK_ATTRIBUTE t[12] = {
		{ CKA_PRIVATE, &no, 1 },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
	};
	CK_ULONG n = len != 0 ? 2 : 1;
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;

	memcpy(t + n, extra, n_extra * sizeof(*extra));
	OK(f->C_GenerateKey(h, &m, t, n + n_extra, &k));
	return k;
}

static CK_OBJECT_HANDLE
create_secret(CK_SESSION_HANDLE h, CK_KEY_TYPE kt, const CK_BYTE *v,
    CK_ULONG len)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_PRIVATE, &no, 1 },
		{ CKA_VALUE, (void *)v, len },
	};
	CK_OBJECT_HANDLE k;

	OK(f->C_CreateObject(h, t, N(t), &k));
	return k;
}

/* data objects in a read-only session: create, copy, change, find, destroy */
static void
test_data_objects(void **state)
{
	CK_SESSION_HANDLE h = open_session(false), h2 = open_session(true);
	CK_OBJECT_CLASS data = CKO_DATA, pubc = CKO_PUBLIC_KEY;
	CK_BYTE app[] = "test", v1[] = { 0xDE, 0xAD, 0xBE, 0xEF }, buf[64];
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &data, sizeof(data) },
		{ CKA_TOKEN, &no, 1 },
		{ CKA_PRIVATE, &no, 1 },
		{ CKA_APPLICATION, app, sizeof(app) },
		{ CKA_VALUE, v1, sizeof(v1) },
		{ CKA_LABEL, "Old", 3 },
	};
	CK_ATTRIBUTE relabel[] = { { CKA_LABEL, "New", 3 } };
	CK_ATTRIBUTE reclass[] = { { CKA_CLASS, &pubc, sizeof(pubc) } };
	CK_ATTRIBUTE bogus[] = { { 999, buf, 4 } };
	CK_ATTRIBUTE get[] = { { CKA_LABEL, buf, sizeof(buf) },
	    { CKA_CERTIFICATE_TYPE, buf, sizeof(buf) } };
	CK_ATTRIBUTE by_app[] = { { CKA_APPLICATION, app, sizeof(app) } };
	CK_OBJECT_HANDLE o, o2, found[4];
	CK_ULONG n, size;

	(void)state;
	OK(f->C_CreateObject(h, t, N(t), &o));
	OK(f->C_GetObjectSize(h, o, &size));
	OK(f->C_CopyObject(h, o, NULL, 0, &o2));
	RV(f->C_CopyObject(h, o, reclass, 1, &o2), CKR_ATTRIBUTE_READ_ONLY);
	OK(f->C_SetAttributeValue(h, o, relabel, 1));
	RV(f->C_SetAttributeValue(h, o, reclass, 1), CKR_ATTRIBUTE_READ_ONLY);
	RV(f->C_SetAttributeValue(h, o, bogus, 1), CKR_ATTRIBUTE_TYPE_INVALID);
	/* each attribute answered, the unknown one marked (2.40 base 5.7) */
	RV(f->C_GetAttributeValue(h, o2, get, 2), CKR_ATTRIBUTE_TYPE_INVALID);
	assert_int_equal(get[0].ulValueLen, 3);
	assert_memory_equal(buf, "Old", 3);
	assert_int_equal(get[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	/* another session of the application sees them (2.40 base 4.4) */
	n = p11_find(h2, by_app, 1, found, 4);
	assert_int_equal(n, 2);
	OK(f->C_DestroyObject(h, o2));
	/* closing the session that made them destroys them */
	OK(f->C_CloseSession(h));
	n = p11_find(h2, by_app, 1, found, 4);
	assert_int_equal(n, 0);
	/* a private session object needs the user */
	t[2].pValue = &yes;
	RV(f->C_CreateObject(h2, t, N(t), &o), CKR_USER_NOT_LOGGED_IN);
	OK(f->C_CloseSession(h2));
}

/* FIPS 197 C.1 and SP 800-38A F.2.1: AES-128 ECB and CBC */
static void
test_aes_vectors(void **state)
{
	static const CK_BYTE key[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae,
	    0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c };
	static const CK_BYTE pt[16] = { 0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40,
	    0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a };
	static const CK_BYTE ecb[16] = { 0x3a, 0xd7, 0x7b, 0xb4, 0x0d, 0x7a,
	    0x36, 0x60, 0xa8, 0x9e, 0xca, 0xf3, 0x24, 0x66, 0xef, 0x97 };
	static const CK_BYTE cbc[16] = { 0x76, 0x49, 0xab, 0xac, 0x81, 0x19,
	    0xb2, 0x46, 0xce, 0xe9, 0x8e, 0x9b, 0x12, 0xe9, 0x19, 0x7d };
	CK_BYTE iv[16], out[64], back[64];
	CK_MECHANISM m_ecb = { CKM_AES_ECB, NULL, 0 };
	CK_MECHANISM m_cbc = { CKM_AES_CBC, iv, sizeof(iv) };
	CK_MECHANISM m_pad = { CKM_AES_CBC_PAD, iv, sizeof(iv) };
	CK_MECHANISM m_badiv = { CKM_AES_CBC, iv, 15 };
	CK_MECHANISM m_rsa = { CKM_RSA_PKCS, NULL, 0 };
	CK_SESSION_HANDLE h = open_session(false);
	CK_OBJECT_HANDLE k = create_secret(h, CKK_AES, key, sizeof(key));
	CK_ULONG n, part;

	(void)state;
	for (int i = 0; i < 16; i++)
		iv[i] = (CK_BYTE)i;
	OK(f->C_EncryptInit(h, &m_ecb, k));
	n = sizeof(out);
	OK(f->C_Encrypt(h, (CK_BYTE *)pt, 16, out, &n));
	assert_int_equal(n, 16);
	assert_memory_equal(out, ecb, 16);
	OK(f->C_EncryptInit(h, &m_cbc, k));
	/* the size, then too small (nothing consumed), then the answer */
	OK(f->C_Encrypt(h, (CK_BYTE *)pt, 16, NULL, &n));
	assert_int_equal(n, 16);
	n = 15;
	RV(f->C_Encrypt(h, (CK_BYTE *)pt, 16, out, &n), CKR_BUFFER_TOO_SMALL);
	n = sizeof(out);
	OK(f->C_Encrypt(h, (CK_BYTE *)pt, 16, out, &n));
	assert_memory_equal(out, cbc, 16);
	/* multi-part decryption gives the plaintext back */
	OK(f->C_DecryptInit(h, &m_cbc, k));
	n = sizeof(back);
	OK(f->C_DecryptUpdate(h, out, 7, back, &n));
	assert_int_equal(n, 0);
	part = sizeof(back);
	OK(f->C_DecryptUpdate(h, out + 7, 9, back, &part));
	assert_int_equal(part, 16);
	n = sizeof(back) - 16;
	OK(f->C_DecryptFinal(h, back + 16, &n));
	assert_int_equal(n, 0);
	assert_memory_equal(back, pt, 16);
	/* CBC_PAD: a full padding block, removed again */
	OK(f->C_EncryptInit(h, &m_pad, k));
	n = sizeof(out);
	OK(f->C_Encrypt(h, (CK_BYTE *)pt, 16, out, &n));
	assert_int_equal(n, 32);
	OK(f->C_DecryptInit(h, &m_pad, k));
	part = sizeof(back);
	OK(f->C_Decrypt(h, out, 32, back, &part));
	assert_int_equal(part, 16);
	assert_memory_equal(back, pt, 16);
	/* a padded block that does not unpad: an error, not data */
	out[31] ^= 0x55;
	OK(f->C_DecryptInit(h, &m_pad, k));
	part = sizeof(back);
	RV(f->C_Decrypt(h, out, 32, back, &part), CKR_ENCRYPTED_DATA_INVALID);
	/* errors: an IV of the wrong size, a partial block, wrong key type */
	RV(f->C_EncryptInit(h, &m_badiv, k), CKR_MECHANISM_PARAM_INVALID);
	RV(f->C_EncryptInit(h, &m_rsa, k), CKR_KEY_TYPE_INCONSISTENT);
	OK(f->C_EncryptInit(h, &m_ecb, k));
	n = sizeof(out);
	RV(f->C_Encrypt(h, (CK_BYTE *)pt, 15, out, &n), CKR_DATA_LEN_RANGE);
	/* one-part and multi-part never mix */
	OK(f->C_EncryptInit(h, &m_ecb, k));
	n = sizeof(out);
	OK(f->C_EncryptUpdate(h, (CK_BYTE *)pt, 16, out, &n));
	RV(f->C_Encrypt(h, (CK_BYTE *)pt, 16, out, &n), CKR_OPERATION_ACTIVE);
	OK(f->C_EncryptInit(h, &m_ecb, k));
	OK(f->C_Encrypt(h, (CK_BYTE *)pt, 16, NULL, &n));
	RV(f->C_EncryptUpdate(h, (CK_BYTE *)pt, 16, out, &n),
	    CKR_OPERATION_ACTIVE);
	OK(f->C_CloseSession(h));
}

/* AES-256-GCM: the module's output opens with OpenSSL; a changed byte fails */
static void
test_aes_gcm(void **state)
{
	CK_BYTE key[32], iv[12], aad[5] = "hdr!!", pt[40], ct[64], back[64], o[64];
	CK_GCM_PARAMS gp = { iv, sizeof(iv), 96, aad, sizeof(aad), 128 };
	CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof(gp) };
	CK_SESSION_HANDLE h = open_session(false);
	CK_OBJECT_HANDLE k;
	CK_ULONG n, part;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (CK_BYTE)(i * 7);
	memset(iv, 0x42, sizeof(iv));
	memset(pt, 0x33, sizeof(pt));
	k = create_secret(h, CKK_AES, key, sizeof(key));
	OK(f->C_EncryptInit(h, &m, k));
	OK(f->C_Encrypt(h, pt, sizeof(pt), NULL, &n));
	assert_int_equal(n, sizeof(pt) + 16);
	OK(f->C_Encrypt(h, pt, sizeof(pt), ct, &n));
	/* OpenSSL opens it */
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv), 1);
	assert_int_equal(EVP_DecryptUpdate(c, NULL, &l1, aad, sizeof(aad)), 1);
	assert_int_equal(EVP_DecryptUpdate(c, o, &l1, ct, sizeof(pt)), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16,
	    ct + sizeof(pt)), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, o + l1, &l2), 1);
	assert_memory_equal(o, pt, sizeof(pt));
	EVP_CIPHER_CTX_free(c);
	/* multi-part decryption: the plaintext comes only after the tag */
	OK(f->C_DecryptInit(h, &m, k));
	part = sizeof(back);
	OK(f->C_DecryptUpdate(h, ct, 20, back, &part));
	assert_int_equal(part, 0);
	part = sizeof(back);
	OK(f->C_DecryptUpdate(h, ct + 20, n - 20, back, &part));
	part = sizeof(back);
	OK(f->C_DecryptFinal(h, back, &part));
	assert_int_equal(part, sizeof(pt));
	assert_memory_equal(back, pt, sizeof(pt));
	/* a changed byte: no plaintext, an error */
	ct[3] ^= 1;
	OK(f->C_DecryptInit(h, &m, k));
	part = sizeof(back);
	RV(f->C_Decrypt(h, ct, n, back, &part), CKR_ENCRYPTED_DATA_INVALID);
	gp.ulTagBits = 20;
	RV(f->C_EncryptInit(h, &m, k), CKR_MECHANISM_PARAM_INVALID);
	OK(f->C_CloseSession(h));
}

/* RFC 4231 test case 2: HMAC-SHA-256 with key "Jefe" */
static void
test_hmac(void **state)
{
	static const CK_BYTE want[32] = { 0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60,
	    0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a,
	    0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
	    0x64, 0xec, 0x38, 0x43 };
	const char *msg = "what do ya want for nothing?";
	CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
	CK_SESSION_HANDLE h = open_session(false);
	CK_OBJECT_HANDLE k = create_secret(h, CKK_GENERIC_SECRET,
	    (const CK_BYTE *)"Jefe", 4);
	CK_BYTE mac[64];
	CK_ULONG n;

	(void)state;
	OK(f->C_SignInit(h, &m, k));
	OK(f->C_Sign(h, (CK_BYTE *)msg, strlen(msg), NULL, &n));
	assert_int_equal(n, 32);
	OK(f->C_Sign(h, (CK_BYTE *)msg, strlen(msg), mac, &n));
	assert_memory_equal(mac, want, 32);
	OK(f->C_SignInit(h, &m, k));
	OK(f->C_SignUpdate(h, (CK_BYTE *)msg, 4));
	OK(f->C_SignUpdate(h, (CK_BYTE *)msg + 4, strlen(msg) - 4));
	n = sizeof(mac);
	OK(f->C_SignFinal(h, mac, &n));
	assert_memory_equal(mac, want, 32);
	OK(f->C_VerifyInit(h, &m, k));
	OK(f->C_Verify(h, (CK_BYTE *)msg, strlen(msg), mac, 32));
	mac[0] ^= 1;
	OK(f->C_VerifyInit(h, &m, k));
	RV(f->C_Verify(h, (CK_BYTE *)msg, strlen(msg), mac, 32),
	    CKR_SIGNATURE_INVALID);
	OK(f->C_VerifyInit(h, &m, k));
	RV(f->C_Verify(h, (CK_BYTE *)msg, strlen(msg), mac, 31),
	    CKR_SIGNATURE_LEN_RANGE);
	OK(f->C_CloseSession(h));
}

/* session key pairs in software, each checked by OpenSSL */
static void
test_keypairs(void **state)
{
	static const CK_BYTE p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE,
	    0x3D, 0x03, 0x01, 0x07 };
	CK_SESSION_HANDLE h = open_session(false);
	CK_MECHANISM rsa_gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM ec_gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM ed_gen = { CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM sha256_rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_MECHANISM eddsa = { CKM_EDDSA, NULL, 0 };
	CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 };
	CK_ULONG bits = 1024;
	CK_BYTE e4[] = { 0x00, 0x01, 0x00, 0x01 }, sig[256], buf[256], spki[600];
	CK_ATTRIBUTE rsa_pub[] = {
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, e4, sizeof(e4) },
		{ CKA_PRIVATE, &no, 1 },
	};
	CK_ATTRIBUTE ec_pub[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
	    { CKA_PRIVATE, &no, 1 } };
	CK_ATTRIBUTE priv_t[] = { { CKA_PRIVATE, &no, 1 },
	    { CKA_SENSITIVE, &yes, 1 } };
	CK_ATTRIBUTE tok_mix[] = { { CKA_TOKEN, &yes, 1 } };
	CK_ATTRIBUTE session_pub[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) },
	    { CKA_TOKEN, &no, 1 } };
	CK_ATTRIBUTE secret_parts[] = { { CKA_PRIVATE_EXPONENT, buf, sizeof(buf) } };
	CK_ATTRIBUTE a[] = { { CKA_PUBLIC_KEY_INFO, spki, sizeof(spki) } };
	CK_BBOOL b;
	CK_ATTRIBUTE never[] = { { CKA_NEVER_EXTRACTABLE, &b, 1 } };
	CK_OBJECT_HANDLE pub, priv;
	const CK_MECHANISM *sm[3] = { &sha256_rsa, &ecdsa, &eddsa };
	const CK_MECHANISM *gm[3] = { &rsa_gen, &ec_gen, &ed_gen };
	CK_ULONG n;

	(void)state;
	/* the private key on the card, the public one not: inconsistent */
	RV(f->C_GenerateKeyPair(h, &rsa_gen, session_pub, 2, tok_mix, 1, &pub,
	    &priv), CKR_TEMPLATE_INCONSISTENT);
	for (int i = 0; i < 3; i++) {
		const char *msg = "signed in software";
		EVP_PKEY *pk;
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		const unsigned char *p = spki;
		CK_BYTE der[80];
		size_t der_len = 0;

		OK(f->C_GenerateKeyPair(h, (CK_MECHANISM *)gm[i], i == 0 ? rsa_pub : i == 1 ?
		    ec_pub : ec_pub + 1, i == 0 ? 3 : i == 1 ? 2 : 1, priv_t, 2,
		    &pub, &priv));
		OK(f->C_SignInit(h, (CK_MECHANISM *)sm[i], priv));
		n = sizeof(sig);
		OK(f->C_Sign(h, (CK_BYTE *)msg, strlen(msg), sig, &n));
		OK(f->C_VerifyInit(h, (CK_MECHANISM *)sm[i], pub));
		OK(f->C_Verify(h, (CK_BYTE *)msg, strlen(msg), sig, n));
		/* and OpenSSL agrees, from the public key the module gives */
		a[0].ulValueLen = sizeof(spki);
		OK(f->C_GetAttributeValue(h, pub, a, 1));
		pk = d2i_PUBKEY(NULL, &p, (long)a[0].ulValueLen);
		assert_non_null(pk);
		if (i == 1) {
			/* raw r||s to DER */
			ECDSA_SIG *es = ECDSA_SIG_new();
			unsigned char *dp = der;
			ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
			    BN_bin2bn(sig + 32, 32, NULL));
			der_len = (size_t)i2d_ECDSA_SIG(es, &dp);
			ECDSA_SIG_free(es);
		}
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, i == 2 ? NULL :
		    EVP_sha256(), NULL, pk), 1);
		assert_int_equal(EVP_DigestVerify(md, i == 1 ? der : sig,
		    i == 1 ? der_len : n, (const unsigned char *)msg,
		    strlen(msg)), 1);
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(pk);
		/* a generated sensitive key: its parts are not readable */
		RV(f->C_GetAttributeValue(h, priv, secret_parts, 1),
		    i == 0 ? CKR_ATTRIBUTE_SENSITIVE : CKR_ATTRIBUTE_TYPE_INVALID);
		OK(f->C_GetAttributeValue(h, priv, never, 1));
		assert_int_equal(b, CK_FALSE);
		if (i == 0) {
			/* RSA PKCS#1 v1.5 encryption round trip */
			OK(f->C_EncryptInit(h, &pkcs, pub));
			n = sizeof(sig);
			OK(f->C_Encrypt(h, (CK_BYTE *)"0123456789", 10, sig, &n));
			assert_int_equal(n, 128);
			OK(f->C_DecryptInit(h, &pkcs, priv));
			n = sizeof(buf);
			OK(f->C_Decrypt(h, sig, 128, buf, &n));
			assert_int_equal(n, 10);
			assert_memory_equal(buf, "0123456789", 10);
		}
		OK(f->C_DestroyObject(h, pub));
		OK(f->C_DestroyObject(h, priv));
	}
	OK(f->C_CloseSession(h));
}

/* the Tookan attacks of google/pkcs11test (tookan.cc) fail as attacks */
static void
test_tookan(void **state)
{
	CK_SESSION_HANDLE h = open_session(true);
	CK_ATTRIBUTE sens[] = { { CKA_SENSITIVE, &yes, 1 } };
	CK_ATTRIBUTE unextr[] = { { CKA_EXTRACTABLE, &no, 1 },
	    { CKA_SENSITIVE, &no, 1 } };
	CK_ATTRIBUTE wrap_dec[] = { { CKA_WRAP, &yes, 1 }, { CKA_DECRYPT, &yes, 1 } };
	CK_ATTRIBUTE insens[] = { { CKA_SENSITIVE, &no, 1 } };
	CK_ATTRIBUTE extr[] = { { CKA_EXTRACTABLE, &yes, 1 } };
	CK_ATTRIBUTE trusted[] = { { CKA_TRUSTED, &yes, 1 } };
	CK_MECHANISM ecb = { CKM_DES3_ECB, NULL, 0 };
	CK_MECHANISM rsa_gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 };
	CK_ULONG bits = 1024;
	CK_ATTRIBUTE pub_t[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) },
	    { CKA_WRAP, &yes, 1 }, { CKA_PRIVATE, &no, 1 } };
	CK_ATTRIBUTE priv_t[] = { { CKA_DECRYPT, &yes, 1 }, { CKA_PRIVATE, &no, 1 } };
	CK_BYTE data[512];
	CK_ATTRIBUTE value[] = { { CKA_VALUE, data, sizeof(data) } };
	CK_BBOOL b;
	CK_ATTRIBUTE get_b[] = { { CKA_SENSITIVE, &b, 1 } };
	CK_OBJECT_HANDLE k1, k2, pub, priv;
	CK_ULONG n;

	(void)state;
	k1 = secret(h, CKM_DES3_KEY_GEN, 0, sens, 1);
	k2 = secret(h, CKM_DES3_KEY_GEN, 0, wrap_dec, 2);
	/* A1: wrap a sensitive key with a key that also decrypts */
	n = sizeof(data);
	RV(f->C_WrapKey(h, &ecb, k2, k1, data, &n), CKR_KEY_NOT_WRAPPABLE);
	/* A2: the same with an RSA key pair */
	OK(f->C_GenerateKeyPair(h, &rsa_gen, pub_t, 3, priv_t, 2, &pub, &priv));
	n = sizeof(data);
	RV(f->C_WrapKey(h, &pkcs, pub, k1, data, &n), CKR_KEY_NOT_WRAPPABLE);
	/* only the SO makes a key trusted */
	RV(f->C_SetAttributeValue(h, k2, trusted, 1), CKR_ATTRIBUTE_READ_ONLY);
	/* A3: read a sensitive value */
	RV(f->C_GetAttributeValue(h, k1, value, 1), CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(value[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	/* A4: read the value of a non-extractable key */
	k2 = secret(h, CKM_DES3_KEY_GEN, 0, unextr, 2);
	value[0].ulValueLen = sizeof(data);
	RV(f->C_GetAttributeValue(h, k2, value, 1), CKR_ATTRIBUTE_SENSITIVE);
	n = sizeof(data);
	/* A5a/b: the latches hold */
	RV(f->C_SetAttributeValue(h, k1, insens, 1), CKR_ATTRIBUTE_READ_ONLY);
	OK(f->C_GetAttributeValue(h, k1, get_b, 1));
	assert_int_equal(b, CK_TRUE);
	RV(f->C_SetAttributeValue(h, k2, extr, 1), CKR_ATTRIBUTE_READ_ONLY);
	/* and a copy cannot undo them either */
	RV(f->C_CopyObject(h, k1, insens, 1, &pub), CKR_ATTRIBUTE_READ_ONLY);
	/* the other way round is allowed: a key becomes sensitive */
	k2 = secret(h, CKM_DES3_KEY_GEN, 0, insens, 1);
	OK(f->C_SetAttributeValue(h, k2, sens, 1));
	RV(f->C_SetAttributeValue(h, k2, insens, 1), CKR_ATTRIBUTE_READ_ONLY);
	OK(f->C_CloseSession(h));
}

/* wrapping an extractable, non-sensitive key and unwrapping it again */
static void
test_wrap_unwrap(void **state)
{
	CK_SESSION_HANDLE h = open_session(false);
	CK_ATTRIBUTE k1_t[] = { { CKA_SENSITIVE, &no, 1 },
	    { CKA_EXTRACTABLE, &yes, 1 } };
	CK_ATTRIBUTE k2_t[] = { { CKA_WRAP, &yes, 1 }, { CKA_UNWRAP, &yes, 1 } };
	CK_OBJECT_CLASS sec = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES;
	CK_ATTRIBUTE k3_t[] = { { CKA_CLASS, &sec, sizeof(sec) },
	    { CKA_KEY_TYPE, &aes, sizeof(aes) }, { CKA_PRIVATE, &no, 1 } };
	CK_MECHANISM kw = { CKM_AES_KEY_WRAP, NULL, 0 };
	CK_BYTE w[64], v1[32], v3[32];
	CK_ATTRIBUTE g1[] = { { CKA_VALUE, v1, sizeof(v1) } };
	CK_ATTRIBUTE g3[] = { { CKA_VALUE, v3, sizeof(v3) } };
	CK_OBJECT_HANDLE k1, k2, k3;
	CK_ULONG n;

	(void)state;
	k1 = secret(h, CKM_AES_KEY_GEN, 32, k1_t, 2);
	k2 = secret(h, CKM_AES_KEY_GEN, 16, k2_t, 2);
	OK(f->C_WrapKey(h, &kw, k2, k1, NULL, &n));
	assert_int_equal(n, 40);
	n = 1;
	RV(f->C_WrapKey(h, &kw, k2, k1, w, &n), CKR_BUFFER_TOO_SMALL);
	n = sizeof(w);
	OK(f->C_WrapKey(h, &kw, k2, k1, w, &n));
	RV(f->C_WrapKey(h, &kw, 0, k1, w, &n), CKR_WRAPPING_KEY_HANDLE_INVALID);
	RV(f->C_WrapKey(h, &kw, k2, 0, w, &n), CKR_KEY_HANDLE_INVALID);
	OK(f->C_UnwrapKey(h, &kw, k2, w, n, k3_t, 3, &k3));
	OK(f->C_GetAttributeValue(h, k1, g1, 1));
	OK(f->C_GetAttributeValue(h, k3, g3, 1));
	assert_memory_equal(v1, v3, 32);
	/* a tampered wrapping is refused (RFC 3394 integrity check) */
	w[5] ^= 1;
	RV(f->C_UnwrapKey(h, &kw, k2, w, n, k3_t, 3, &k3), CKR_WRAPPED_KEY_INVALID);
	OK(f->C_CloseSession(h));
}

/*
 * another application (another process using the same card and module)
 * sees none of this process's session objects, however it searches
 */
static void
test_other_process(void **state)
{
	CK_SESSION_HANDLE h = open_session(false);
	CK_BYTE v[] = { 1, 2, 3 };
	CK_OBJECT_HANDLE k = create_secret(h, CKK_GENERIC_SECRET, v, sizeof(v));
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE find[] = { { CKA_CLASS, &cls, sizeof(cls) } };
	int status = -1;
	pid_t pid;

	(void)state;
	(void)k;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		CK_SESSION_HANDLE c;
		CK_OBJECT_HANDLE found[8];
		CK_ULONG n = 99;
		/* a new application: its own module state, as after exec */
		if (f->C_Initialize(NULL) != CKR_OK ||
		    f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &c) != CKR_OK ||
		    f->C_FindObjectsInit(c, find, 1) != CKR_OK ||
		    f->C_FindObjects(c, found, 8, &n) != CKR_OK)
			_exit(2);
		/* nor by guessing the handle */
		_exit(n == 0 && f->C_DestroyObject(c, k) ==
		    CKR_OBJECT_HANDLE_INVALID ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	OK(f->C_CloseSession(h));
}

/* an application's own mutex callbacks, with its own representation */
static CK_RV
mutex_create(CK_VOID_PTR_PTR m)
{
	(void)m;	/* leaves *m as it was: the application's business */
	return CKR_OK;
}

static CK_RV
mutex_other(CK_VOID_PTR m)
{
	(void)m;
	return CKR_OK;
}

static void
test_app_mutexes(void **state)
{
	CK_C_INITIALIZE_ARGS args;

	(void)state;
	f->C_Finalize(NULL);
	memset(&args, 0, sizeof(args));
	args.CreateMutex = mutex_create;
	args.DestroyMutex = mutex_other;
	args.LockMutex = mutex_other;
	args.UnlockMutex = mutex_other;
	OK(f->C_Initialize(&args));
	OK(f->C_Finalize(NULL));
	OK(f->C_Initialize(NULL));
}

/* what the SO may and may not do to a session object */
static void
test_latches_and_login(void **state)
{
	CK_SESSION_HANDLE h = open_session(false);
	CK_ATTRIBUTE priv_t[] = { { CKA_PRIVATE, &yes, 1 } };
	CK_MECHANISM m = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_ULONG len = 16;
	CK_ATTRIBUTE t[] = { { CKA_VALUE_LEN, &len, sizeof(len) },
	    { CKA_PRIVATE, &yes, 1 } };
	CK_OBJECT_HANDLE k, found[2];
	CK_ULONG n;

	(void)state;
	/* private session keys: only for the user, invisible after logout */
	RV(f->C_GenerateKey(h, &m, t, 2, &k), CKR_USER_NOT_LOGGED_IN);
	OK(f->C_Login(h, CKU_USER, pin, 6));
	OK(f->C_GenerateKey(h, &m, t, 2, &k));
	OK(f->C_Logout(h));
	n = p11_find(h, priv_t, 1, found, 2);
	assert_int_equal(n, 0);
	RV(f->C_DestroyObject(h, k), CKR_OBJECT_HANDLE_INVALID);
	OK(f->C_CloseSession(h));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_objects),
		cmocka_unit_test(test_aes_vectors),
		cmocka_unit_test(test_aes_gcm),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_keypairs),
		cmocka_unit_test(test_tookan),
		cmocka_unit_test(test_wrap_unwrap),
		cmocka_unit_test(test_latches_and_login),
		cmocka_unit_test(test_other_process),
		cmocka_unit_test(test_app_mutexes),
	};
	int rc;

	if ((rc = p11_test_args(argc, argv, "test_p11_session", true)) != 0)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
