/*
 * the module against a real (virtual) card in tools/walletkey-sandbox: the
 * CKR_* of every argument, state and card path an application can hit.
 * usage (inside the sandbox): test_p11_card PATH-TO-walletkey-pkcs11.so
 * Skipped (exit 77) outside the sandbox.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "p11_test.h"

static CK_SLOT_ID slot;
static CK_BYTE pin[] = "123456";
static CK_BYTE so[] = "010203040506070801020304050607080102030405060708";
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const CK_BYTE p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };

static int
setup(void **state)
{
	CK_ULONG n = 1;

	(void)state;
	if (p11_test_open() != 0 || f->C_Initialize(NULL) != CKR_OK)
		return -1;
	if (f->C_GetSlotList(CK_TRUE, &slot, &n) != CKR_OK || n != 1)
		return -1;
	return 0;
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
open_rw(void)
{
	CK_SESSION_HANDLE h;

	OK(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
	    NULL, &h));
	return h;
}

static CK_OBJECT_HANDLE
find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, CK_BYTE id)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, &id, 1 },
	};
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;

	return p11_find(h, t, 2, &o, 1) == 1 ? o : CK_INVALID_HANDLE;
}

/* a template with CKA_TOKEN true appended: token objects live on the card
 * (CKA_TOKEN false, the default, makes session objects in software) */
static CK_ATTRIBUTE tok_buf[2][16];

static CK_ATTRIBUTE *
tok(int which, const CK_ATTRIBUTE *t, CK_ULONG n)
{
	static CK_BBOOL tok_true = CK_TRUE;

	if (n > 0)
		memcpy(tok_buf[which], t, n * sizeof(*t));
	tok_buf[which][n] = (CK_ATTRIBUTE){ CKA_TOKEN, &tok_true, 1 };
	return tok_buf[which];
}

static CK_RV
gen_ec(CK_SESSION_HANDLE h, CK_BYTE id, CK_OBJECT_HANDLE *pub,
    CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pt[] = {
		{ CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
		{ CKA_ID, &id, 1 },
	};
	CK_ATTRIBUTE kt[] = { { CKA_ID, &id, 1 }, { CKA_SIGN, &yes, 1 } };

	return f->C_GenerateKeyPair(h, &m, tok(0, pt, 2), 2 + 1, tok(1, kt, 2), 2 + 1, pub, priv);
}

static void
test_slots_and_token(void **state)
{
	CK_SLOT_ID list[8];
	CK_ULONG n = 0;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;

	(void)state;
	OK(f->C_GetSlotList(CK_FALSE, NULL, &n));
	assert_true(n >= 2);	/* the card's reader and an empty one */
	n = 1;
	RV(f->C_GetSlotList(CK_FALSE, list, &n), CKR_BUFFER_TOO_SMALL);
	assert_true(n >= 2);
	OK(f->C_GetSlotList(CK_FALSE, list, &n));
	OK(f->C_GetSlotInfo(slot, &si));
	assert_true(si.flags & CKF_REMOVABLE_DEVICE);
	assert_true(si.flags & CKF_TOKEN_PRESENT);
	for (CK_ULONG i = 0; i < n; i++)
		if (list[i] != slot) {
			OK(f->C_GetSlotInfo(list[i], &si));
			assert_false(si.flags & CKF_TOKEN_PRESENT);
			RV(f->C_GetTokenInfo(list[i], &ti), CKR_TOKEN_NOT_PRESENT);
			RV(f->C_OpenSession(list[i], CKF_SERIAL_SESSION, NULL, NULL,
			    &n), CKR_TOKEN_NOT_PRESENT);
			break;
		}
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_memory_equal(ti.label, "walletkey #", 11);
	assert_true(ti.flags & CKF_LOGIN_REQUIRED);
	assert_true(ti.flags & CKF_RNG);
	assert_false(ti.flags & CKF_USER_PIN_COUNT_LOW);
	assert_int_equal(ti.ulMinPinLen, 6);
	assert_int_equal(ti.ulMaxPinLen, 8);
}

static void
test_login(void **state)
{
	CK_SESSION_HANDLE ro, rw;
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO info;
	CK_BYTE wrong[] = "654321";

	(void)state;
	OK(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
	rw = open_rw();
	RV(f->C_Login(ro, CKU_USER, NULL, 6), CKR_ARGUMENTS_BAD);
	/* a PIN of a length the card never takes is wrong and costs no try */
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_false(ti.flags & CKF_USER_PIN_COUNT_LOW);
	RV(f->C_Login(ro, CKU_USER, pin, 5), CKR_PIN_INCORRECT);
	RV(f->C_Login(ro, CKU_USER, (CK_BYTE *)"simply-wrong", 12),
	    CKR_PIN_INCORRECT);
	/*
	 * PKCS#11 (CK_TOKEN_INFO): COUNT_LOW says a wrong PIN was entered since
	 * the last successful login, a counted one or not; the two refused
	 * above cost no try: FINAL_TRY comes only after two counted ones below
	 */
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_true(ti.flags & CKF_USER_PIN_COUNT_LOW);
	assert_false(ti.flags & CKF_USER_PIN_FINAL_TRY);
	RV(f->C_Login(ro, 7, pin, 6), CKR_USER_TYPE_INVALID);
	RV(f->C_Login(ro, CKU_CONTEXT_SPECIFIC, pin, 6),
	    CKR_OPERATION_NOT_INITIALIZED);
	/* the SO cannot log in while a read-only session exists */
	RV(f->C_Login(rw, CKU_SO, so, 48), CKR_SESSION_READ_ONLY_EXISTS);
	RV(f->C_Login(ro, CKU_USER, wrong, 6), CKR_PIN_INCORRECT);
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_true(ti.flags & CKF_USER_PIN_COUNT_LOW);
	assert_false(ti.flags & CKF_USER_PIN_FINAL_TRY);
	RV(f->C_Login(ro, CKU_USER, wrong, 6), CKR_PIN_INCORRECT);
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_true(ti.flags & CKF_USER_PIN_FINAL_TRY);
	OK(f->C_Login(ro, CKU_USER, pin, 6));
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_false(ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY));
	/* the login is the application's: every session sees it */
	OK(f->C_GetSessionInfo(rw, &info));
	assert_int_equal(info.state, CKS_RW_USER_FUNCTIONS);
	OK(f->C_GetSessionInfo(ro, &info));
	assert_int_equal(info.state, CKS_RO_USER_FUNCTIONS);
	RV(f->C_Login(rw, CKU_USER, pin, 6), CKR_USER_ALREADY_LOGGED_IN);
	RV(f->C_Login(rw, CKU_SO, so, 48), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
	OK(f->C_Logout(ro));
	RV(f->C_Logout(ro), CKR_USER_NOT_LOGGED_IN);
	OK(f->C_CloseSession(ro));
	RV(f->C_CloseSession(ro), CKR_SESSION_HANDLE_INVALID);
	/* a wrong management key (not just its DES parity bits), then the right one */
	so[46] = 'F';
	RV(f->C_Login(rw, CKU_SO, so, 48), CKR_PIN_INCORRECT);
	so[46] = '0';
	RV(f->C_Login(rw, CKU_SO, so, 47), CKR_PIN_LEN_RANGE);
	OK(f->C_Login(rw, CKU_SO, so, 48));
	OK(f->C_GetSessionInfo(rw, &info));
	assert_int_equal(info.state, CKS_RW_SO_FUNCTIONS);
	RV(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro),
	    CKR_SESSION_READ_WRITE_SO_EXISTS);
	OK(f->C_CloseAllSessions(slot));
	RV(f->C_GetSessionInfo(rw, &info), CKR_SESSION_HANDLE_INVALID);
}

static void
test_keygen(void **state)
{
	CK_SESSION_HANDLE h = open_rw(), ro;
	CK_OBJECT_HANDLE pub, priv;
	CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM rsa = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM bad = { CKM_EC_KEY_PAIR_GEN, &yes, 1 };
	CK_ULONG bits = 1000;
	CK_BYTE id = 0x30, curve[] = { 0x06, 0x03, 0x2B, 0x81, 0x04 };
	CK_ATTRIBUTE none[] = { { CKA_TOKEN, &yes, 1 } };
	CK_ATTRIBUTE badcurve[] = { { CKA_EC_PARAMS, curve, sizeof(curve) } };
	CK_ATTRIBUTE badbits[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) } };
	CK_ATTRIBUTE badid[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
	    { CKA_ID, &id, 1 } };
	CK_ATTRIBUTE session_key[] = { { CKA_TOKEN, &no, 1 } };

	(void)state;
	/* before the SO logs in */
	RV(gen_ec(h, 1, &pub, &priv), CKR_USER_NOT_LOGGED_IN);
	OK(f->C_Login(h, CKU_SO, so, 48));
	RV(f->C_GenerateKeyPair(h, NULL, tok(0, badid, 1), 1 + 1, tok(1, NULL, 0), 1, &pub, &priv),
	    CKR_ARGUMENTS_BAD);
	RV(f->C_GenerateKeyPair(h, &m, tok(0, badid, 1), 1 + 1, tok(1, NULL, 0), 1, NULL, &priv),
	    CKR_ARGUMENTS_BAD);
	RV(f->C_GenerateKeyPair(h, &m, none, 1, NULL, 0, &pub, &priv),
	    CKR_TEMPLATE_INCOMPLETE);
	RV(f->C_GenerateKeyPair(h, &m, tok(0, badcurve, 1), 1 + 1, tok(1, NULL, 0), 1, &pub, &priv),
	    CKR_CURVE_NOT_SUPPORTED);
	RV(f->C_GenerateKeyPair(h, &rsa, tok(0, badbits, 1), 1 + 1, tok(1, NULL, 0), 1, &pub, &priv),
	    CKR_KEY_SIZE_RANGE);
	RV(f->C_GenerateKeyPair(h, &bad, tok(0, badid, 1), 1 + 1, tok(1, NULL, 0), 1, &pub, &priv),
	    CKR_MECHANISM_PARAM_INVALID);
	RV(f->C_GenerateKeyPair(h, &m, tok(0, badid, 2), 2 + 1, tok(1, NULL, 0), 1, &pub, &priv),
	    CKR_ATTRIBUTE_VALUE_INVALID);
	RV(f->C_GenerateKeyPair(h, &m, tok(0, badid, 1), 1 + 1, session_key, 1, &pub, &priv),
	    CKR_TEMPLATE_INCONSISTENT);
	/* 9A (id 01) and 9C (id 02, PIN always) */
	OK(gen_ec(h, 1, &pub, &priv));
	assert_int_equal(find_one(h, CKO_PUBLIC_KEY, 1), pub);
	OK(gen_ec(h, 2, &pub, &priv));
	OK(f->C_Logout(h));
	OK(f->C_CloseSession(h));
	OK(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
	RV(gen_ec(ro, 1, &pub, &priv), CKR_SESSION_READ_ONLY);
	OK(f->C_CloseSession(ro));
}

static void
test_attributes(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_OBJECT_HANDLE priv, pub, all[64];
	CK_BYTE buf[256], id = 0;
	CK_BBOOL b = CK_FALSE;
	CK_ULONG n = 0;
	CK_ATTRIBUTE t[3];

	(void)state;
	/* private keys are invisible before login */
	assert_int_equal(find_one(h, CKO_PRIVATE_KEY, 1), CK_INVALID_HANDLE);
	pub = find_one(h, CKO_PUBLIC_KEY, 1);
	assert_int_not_equal(pub, CK_INVALID_HANDLE);
	OK(f->C_Login(h, CKU_USER, pin, 6));
	priv = find_one(h, CKO_PRIVATE_KEY, 1);
	assert_int_not_equal(priv, CK_INVALID_HANDLE);
	t[0] = (CK_ATTRIBUTE){ CKA_VALUE, buf, sizeof(buf) };
	RV(f->C_GetAttributeValue(h, priv, t, 1), CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	t[0] = (CK_ATTRIBUTE){ CKA_ID, &id, 1 };
	t[1] = (CK_ATTRIBUTE){ CKA_MODULUS, buf, sizeof(buf) };
	t[2] = (CK_ATTRIBUTE){ CKA_ALWAYS_AUTHENTICATE, &b, 1 };
	RV(f->C_GetAttributeValue(h, priv, t, 3), CKR_ATTRIBUTE_TYPE_INVALID);
	assert_int_equal(id, 1);
	/* p11test usage_test: an EC public key derives as its private key does */
	t[0] = (CK_ATTRIBUTE){ CKA_DERIVE, &b, 1 };
	OK(f->C_GetAttributeValue(h, pub, t, 1));
	assert_int_equal(b, CK_TRUE);
	OK(f->C_GetAttributeValue(h, priv, t, 1));
	assert_int_equal(b, CK_TRUE);
	t[0] = (CK_ATTRIBUTE){ CKA_EC_POINT, NULL, 0 };
	OK(f->C_GetAttributeValue(h, pub, t, 1));
	assert_int_equal(t[0].ulValueLen, 67);
	t[0].pValue = buf;
	t[0].ulValueLen = 10;
	RV(f->C_GetAttributeValue(h, pub, t, 1), CKR_BUFFER_TOO_SMALL);
	RV(f->C_GetAttributeValue(h, pub, NULL, 1), CKR_ARGUMENTS_BAD);
	RV(f->C_GetAttributeValue(h, 0x7FFFFFF0, t, 1), CKR_OBJECT_HANDLE_INVALID);
	t[0] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)"x", 1 };
	RV(f->C_SetAttributeValue(h, pub, t, 1), CKR_ACTION_PROHIBITED);
	RV(f->C_CopyObject(h, pub, NULL, 0, &priv), CKR_ACTION_PROHIBITED);
	/* find: arguments and states */
	RV(f->C_FindObjects(h, all, 64, &n), CKR_OPERATION_NOT_INITIALIZED);
	RV(f->C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
	RV(f->C_FindObjectsInit(h, NULL, 1), CKR_ARGUMENTS_BAD);
	OK(f->C_FindObjectsInit(h, NULL, 0));
	RV(f->C_FindObjectsInit(h, NULL, 0), CKR_OPERATION_ACTIVE);
	RV(f->C_FindObjects(h, NULL, 64, &n), CKR_ARGUMENTS_BAD);
	OK(f->C_FindObjects(h, all, 64, &n));
	assert_true(n >= 4 + 4);	/* two key pairs, four data objects */
	OK(f->C_FindObjects(h, all, 64, &n));
	assert_int_equal(n, 0);
	OK(f->C_FindObjectsFinal(h));
	/* the PIN-protected containers appear after login only */
	OK(f->C_CloseSession(h));
}

static void
test_sign_verify(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_OBJECT_HANDLE priv, pub, pub2;
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_MECHANISM rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_MECHANISM unknown = { CKM_AES_CBC, NULL, 0 };
	CK_MECHANISM params = { CKM_ECDSA, &yes, 1 };
	CK_BYTE data[] = "to be signed", sig[128], sig2[128];
	CK_ULONG n;

	(void)state;
	OK(f->C_Login(h, CKU_USER, pin, 6));
	priv = find_one(h, CKO_PRIVATE_KEY, 1);
	pub = find_one(h, CKO_PUBLIC_KEY, 1);
	RV(f->C_SignInit(h, NULL, priv), CKR_ARGUMENTS_BAD);
	RV(f->C_SignInit(h, &unknown, priv), CKR_MECHANISM_INVALID);
	RV(f->C_SignInit(h, &rsa, priv), CKR_KEY_TYPE_INCONSISTENT);
	RV(f->C_SignInit(h, &params, priv), CKR_MECHANISM_PARAM_INVALID);
	RV(f->C_SignInit(h, &m, pub), CKR_KEY_TYPE_INCONSISTENT);
	RV(f->C_SignInit(h, &m, 0x7FFFFFF0), CKR_KEY_HANDLE_INVALID);
	RV(f->C_Sign(h, data, sizeof(data), sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	OK(f->C_SignInit(h, &m, priv));
	RV(f->C_SignInit(h, &m, priv), CKR_OPERATION_ACTIVE);
	/* the two-call convention: size, short buffer, then the signature */
	OK(f->C_Sign(h, data, sizeof(data), NULL, &n));
	assert_int_equal(n, 64);
	n = 10;
	RV(f->C_Sign(h, data, sizeof(data), sig, &n), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(n, 64);
	OK(f->C_Sign(h, data, sizeof(data), sig, &n));
	RV(f->C_Sign(h, data, sizeof(data), sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	/* C_Verify on the host */
	OK(f->C_VerifyInit(h, &m, pub));
	OK(f->C_Verify(h, data, sizeof(data), sig, 64));
	OK(f->C_VerifyInit(h, &m, pub));
	RV(f->C_Verify(h, data, sizeof(data), sig, 63), CKR_SIGNATURE_LEN_RANGE);
	sig[3] ^= 1;
	OK(f->C_VerifyInit(h, &m, pub));
	RV(f->C_Verify(h, data, sizeof(data), sig, 64), CKR_SIGNATURE_INVALID);
	/* multi-part: C_SignUpdate/C_SignFinal, checked by C_VerifyUpdate/Final */
	OK(f->C_SignInit(h, &m, priv));
	OK(f->C_SignUpdate(h, data, 5));
	OK(f->C_SignUpdate(h, data + 5, sizeof(data) - 5));
	n = sizeof(sig2);
	OK(f->C_SignFinal(h, sig2, &n));
	OK(f->C_VerifyInit(h, &m, pub));
	OK(f->C_VerifyUpdate(h, data, 3));
	OK(f->C_VerifyUpdate(h, data + 3, sizeof(data) - 3));
	OK(f->C_VerifyFinal(h, sig2, n));
	/* 9C: PIN always, so a context-specific login before each signature */
	priv = find_one(h, CKO_PRIVATE_KEY, 2);
	pub2 = find_one(h, CKO_PUBLIC_KEY, 2);
	OK(f->C_SignInit(h, &m, priv));
	n = sizeof(sig);
	/* an error ends the operation (2.40 base 5.2) */
	RV(f->C_Sign(h, data, sizeof(data), sig, &n), CKR_USER_NOT_LOGGED_IN);
	RV(f->C_Login(h, CKU_CONTEXT_SPECIFIC, pin, 6),
	    CKR_OPERATION_NOT_INITIALIZED);
	OK(f->C_SignInit(h, &m, priv));
	RV(f->C_Login(h, CKU_CONTEXT_SPECIFIC, (CK_BYTE *)"000000", 6),
	    CKR_PIN_INCORRECT);
	/* a failed context login ends it too: libp11 starts over at once */
	OK(f->C_SignInit(h, &m, priv));
	OK(f->C_Login(h, CKU_CONTEXT_SPECIFIC, pin, 6));
	OK(f->C_Sign(h, data, sizeof(data), sig, &n));
	OK(f->C_VerifyInit(h, &m, pub2));
	OK(f->C_Verify(h, data, sizeof(data), sig, n));
	OK(f->C_SignInit(h, &m, priv));
	RV(f->C_Sign(h, data, sizeof(data), sig, &n), CKR_USER_NOT_LOGGED_IN);
	/* C_SessionCancel ends it */
	{
		CK_INTERFACE *iface;
		CK_C_GetInterface get;
		*(void **)&get = dlsym(lib, "C_GetInterface");
		OK(get(NULL, NULL, &iface, 0));
		OK(((CK_FUNCTION_LIST_3_0 *)iface->pFunctionList)->C_SessionCancel(h,
		    CKF_SIGN));
	}
	OK(f->C_SignInit(h, &m, find_one(h, CKO_PRIVATE_KEY, 1)));
	OK(f->C_Sign(h, data, sizeof(data), sig, &n));
	OK(f->C_CloseSession(h));
}

static void
test_misc(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
	CK_BYTE rnd[100], d[64], junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	CK_ULONG n;
	CK_OBJECT_CLASS cert = CKO_CERTIFICATE;
	CK_BYTE id = 1;
	CK_ATTRIBUTE ct[] = {
		{ CKA_CLASS, &cert, sizeof(cert) },
		{ CKA_ID, &id, 1 },
		{ CKA_VALUE, junk, sizeof(junk) },
	};
	CK_OBJECT_HANDLE o;

	(void)state;
	OK(f->C_GenerateRandom(h, rnd, 0));
	RV(f->C_GenerateRandom(h, NULL, 8), CKR_ARGUMENTS_BAD);
	OK(f->C_GenerateRandom(h, rnd, sizeof(rnd)));
	RV(f->C_SeedRandom(h, rnd, 8), CKR_RANDOM_SEED_NOT_SUPPORTED);
	OK(f->C_DigestInit(h, &sha));
	OK(f->C_Digest(h, rnd, 10, NULL, &n));
	assert_int_equal(n, 32);
	n = 31;
	RV(f->C_Digest(h, rnd, 10, d, &n), CKR_BUFFER_TOO_SMALL);
	n = sizeof(d);
	OK(f->C_Digest(h, rnd, 10, d, &n));
	/* certificates: the SO writes, the template must hold a certificate */
	RV(f->C_CreateObject(h, tok(0, ct, 3), 3 + 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
	RV(f->C_CreateObject(h, tok(0, ct, 2), 2 + 1, &o), CKR_TEMPLATE_INCOMPLETE);
	RV(f->C_CreateObject(h, tok(0, ct + 1, 2), 2 + 1, &o), CKR_TEMPLATE_INCOMPLETE);
	RV(f->C_CreateObject(h, NULL, 2, &o), CKR_ARGUMENTS_BAD);
	OK(f->C_Login(h, CKU_USER, pin, 6));
	/* keys on a PIV card are not destroyed through PKCS#11 */
	RV(f->C_DestroyObject(h, find_one(h, CKO_PRIVATE_KEY, 1)),
	    CKR_ACTION_PROHIBITED);
	/* nothing to save without an operation; a card's operation cannot be */
	RV(f->C_GetOperationState(h, NULL, &n), CKR_OPERATION_NOT_INITIALIZED);
	OK(f->C_DigestInit(h, &sha));
	RV(f->C_GetOperationState(h, NULL, &n), CKR_STATE_UNSAVEABLE);
	/* after a size query of C_Digest, C_DigestFinal is refused and ends it */
	OK(f->C_Digest(h, rnd, 10, NULL, &n));
	n = sizeof(d);
	RV(f->C_DigestFinal(h, d, &n), CKR_OPERATION_ACTIVE);
	RV(f->C_DigestUpdate(h, rnd, 1), CKR_OPERATION_NOT_INITIALIZED);
	/* a size query of C_DigestFinal keeps the operation */
	OK(f->C_DigestInit(h, &sha));
	OK(f->C_DigestUpdate(h, rnd, 10));
	OK(f->C_DigestFinal(h, NULL, &n));
	assert_int_equal(n, 32);
	OK(f->C_DigestFinal(h, d, &n));
	RV(f->C_GetFunctionStatus(h), CKR_FUNCTION_NOT_PARALLEL);
	OK(f->C_CloseSession(h));
}

static CK_RV
derive(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key, const CK_BYTE *peer,
    CK_ULONG peer_len, CK_ULONG kdf, CK_OBJECT_HANDLE *out, CK_ULONG value_len)
{
	CK_ECDH1_DERIVE_PARAMS dp = { kdf, 0, NULL, peer_len, (CK_BYTE *)peer };
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &dp, sizeof(dp) };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &value_len, sizeof(value_len) },
	};

	return f->C_DeriveKey(h, &m, key, t, value_len ? 3 : 2, out);
}

/* OpenSSL's side of an ECDH: our private key, the card's public point */
static size_t
host_ecdh(EVP_PKEY *mine, const CK_BYTE *spki, size_t spki_len, CK_BYTE *z)
{
	const unsigned char *p = spki;
	EVP_PKEY *peer = d2i_PUBKEY(NULL, &p, (long)spki_len);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(mine, NULL);
	size_t n = 64;

	assert_non_null(peer);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, peer), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, z, &n), 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return n;
}

/* C_CreateObject of a private key (IMPORT KEY), X25519 generation, ECDH */
static void
test_import_and_derive(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	EVP_PKEY *imported = EVP_EC_gen("P-256"), *peer = EVP_EC_gen("P-256");
	EVP_PKEY *xpeer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	BIGNUM *d = NULL;
	CK_BYTE dbuf[32], point[65], xpoint[32], spki[200], z_card[64], z_host[64];
	CK_BYTE *der = NULL;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_BYTE id = 3, xid = 5;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_ID, &id, 1 },
		{ CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
		{ CKA_VALUE, dbuf, sizeof(dbuf) },
	};
	CK_MECHANISM xgen = { CKM_EC_MONTGOMERY_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE xt[] = { { CKA_ID, &xid, 1 } };
	CK_OBJECT_HANDLE priv, pub, sec, xpub, xpriv;
	CK_ATTRIBUTE a[] = { { CKA_PUBLIC_KEY_INFO, spki, sizeof(spki) } };
	CK_ATTRIBUTE v[] = { { CKA_VALUE, z_card, sizeof(z_card) } };
	size_t pl = sizeof(point), zl;
	int n;

	(void)state;
	assert_int_equal(EVP_PKEY_get_bn_param(imported, "priv", &d), 1);
	assert_int_equal(BN_bn2binpad(d, dbuf, 32), 32);
	BN_free(d);
	RV(f->C_CreateObject(h, tok(0, t, 5), 5 + 1, &priv), CKR_USER_NOT_LOGGED_IN);
	OK(f->C_Login(h, CKU_SO, so, 48));
	OK(f->C_CreateObject(h, tok(0, t, 5), 5 + 1, &priv));
	OPENSSL_cleanse(dbuf, sizeof(dbuf));
	OK(f->C_GenerateKeyPair(h, &xgen, tok(0, xt, 1), 1 + 1, tok(1, xt, 1), 1 + 1, &xpub, &xpriv));
	OK(f->C_Logout(h));
	OK(f->C_Login(h, CKU_USER, pin, 6));
	/* the card's public key for 9D is the imported one */
	pub = find_one(h, CKO_PUBLIC_KEY, 3);
	OK(f->C_GetAttributeValue(h, pub, a, 1));
	assert_int_equal(EVP_PKEY_get_octet_string_param(imported, "encoded-pub-key",
	    point, sizeof(point), &pl), 1);
	n = i2d_PUBKEY(imported, &der);
	assert_int_equal((size_t)n, a[0].ulValueLen);
	assert_memory_equal(der, spki, (size_t)n);
	OPENSSL_free(der);
	der = NULL;
	/* ECDH with the imported key, checked against OpenSSL */
	priv = find_one(h, CKO_PRIVATE_KEY, 3);
	n = i2d_PUBKEY(peer, &der);
	{
		/* the peer point is the last 65 bytes of a P-256 SPKI */
		const CK_BYTE *pt = der + n - 65;
		RV(derive(h, priv, pt, 65, CKD_SHA1_KDF, &sec, 0),
		    CKR_MECHANISM_PARAM_INVALID);
		RV(derive(h, priv, pt, 64, CKD_NULL, &sec, 0),
		    CKR_MECHANISM_PARAM_INVALID);
		RV(derive(h, priv, pt, 65, CKD_NULL, &sec, 33),
		    CKR_TEMPLATE_INCONSISTENT);
		OK(derive(h, priv, pt, 65, CKD_NULL, &sec, 0));
	}
	OPENSSL_free(der);
	der = NULL;
	a[0].ulValueLen = sizeof(spki);
	OK(f->C_GetAttributeValue(h, pub, a, 1));
	zl = host_ecdh(peer, spki, a[0].ulValueLen, z_host);
	OK(f->C_GetAttributeValue(h, sec, v, 1));
	assert_int_equal(v[0].ulValueLen, zl);
	assert_memory_equal(z_card, z_host, zl);
	OK(f->C_DestroyObject(h, sec));
	RV(f->C_GetAttributeValue(h, sec, v, 1), CKR_OBJECT_HANDLE_INVALID);
	/* X25519 */
	xpriv = find_one(h, CKO_PRIVATE_KEY, 5);
	xpub = find_one(h, CKO_PUBLIC_KEY, 5);
	pl = sizeof(xpoint);
	assert_int_equal(EVP_PKEY_get_raw_public_key(xpeer, xpoint, &pl), 1);
	OK(derive(h, xpriv, xpoint, 32, CKD_NULL, &sec, 0));
	a[0].ulValueLen = sizeof(spki);
	OK(f->C_GetAttributeValue(h, xpub, a, 1));
	zl = host_ecdh(xpeer, spki, a[0].ulValueLen, z_host);
	v[0].ulValueLen = sizeof(z_card);
	OK(f->C_GetAttributeValue(h, sec, v, 1));
	assert_int_equal(v[0].ulValueLen, 32);
	assert_memory_equal(z_card, z_host, zl);
	EVP_PKEY_free(imported);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(xpeer);
	OK(f->C_CloseSession(h));
}

/* C_UnwrapKey: an AES key wrapped by OpenSSL to the card's RSA key (82) */
static void
test_unwrap(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_MECHANISM gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &op, sizeof(op) };
	CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 };
	CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
	CK_ULONG bits = 2048;
	CK_BYTE id = 0x82, spki[400], aes[32], wrapped[256], value[64];
	CK_OBJECT_CLASS sec_cls = CKO_SECRET_KEY;
	CK_KEY_TYPE aes_kt = CKK_AES;
	CK_ATTRIBUTE pt[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) }, { CKA_ID, &id, 1 } };
	CK_ATTRIBUTE st[] = { { CKA_CLASS, &sec_cls, sizeof(sec_cls) },
	    { CKA_KEY_TYPE, &aes_kt, sizeof(aes_kt) },
	    { CKA_SENSITIVE, &yes, 1 } };
	CK_ATTRIBUTE a[] = { { CKA_PUBLIC_KEY_INFO, spki, sizeof(spki) } };
	CK_ATTRIBUTE v[] = { { CKA_VALUE, value, sizeof(value) } };
	CK_OBJECT_HANDLE pub, priv, k;
	const unsigned char *p = spki;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx;
	size_t wl = sizeof(wrapped);

	(void)state;
	OK(f->C_Login(h, CKU_SO, so, 48));
	OK(f->C_GenerateKeyPair(h, &gen, tok(0, pt, 2), 2 + 1, tok(1, pt + 1, 1), 1 + 1, &pub, &priv));
	OK(f->C_GetAttributeValue(h, pub, a, 1));
	OK(f->C_Logout(h));
	OK(f->C_Login(h, CKU_USER, pin, 6));
	priv = find_one(h, CKO_PRIVATE_KEY, 5 + 0);	/* 82 is CKA_ID 05 */
	pk = d2i_PUBKEY(NULL, &p, (long)a[0].ulValueLen);
	assert_non_null(pk);
	memset(aes, 0xA5, sizeof(aes));
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_encrypt(ctx, wrapped, &wl, aes, sizeof(aes)), 1);
	EVP_PKEY_CTX_free(ctx);
	RV(f->C_UnwrapKey(h, &ecdsa, priv, wrapped, wl, NULL, 0, &k),
	    CKR_MECHANISM_INVALID);
	RV(f->C_UnwrapKey(h, &oaep, 0x7FFFFFF0, wrapped, wl, NULL, 0, &k),
	    CKR_UNWRAPPING_KEY_HANDLE_INVALID);
	RV(f->C_UnwrapKey(h, &oaep, priv, wrapped, wl - 1, NULL, 0, &k),
	    CKR_WRAPPED_KEY_LEN_RANGE);
	/*
	 * a block that is no PKCS#1 v1.5 encryption block (type 03): the
	 * OAEP blob itself would pass for one about once in 256 runs
	 */
	{
		CK_BYTE em[256], bogus[256];
		size_t bl = sizeof(bogus);
		memset(em, 0x5A, sizeof(em));
		em[0] = 0x00;
		em[1] = 0x03;
		ctx = EVP_PKEY_CTX_new(pk, NULL);
		assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
		assert_int_equal(EVP_PKEY_encrypt(ctx, bogus, &bl, em, sizeof(em)), 1);
		EVP_PKEY_CTX_free(ctx);
		RV(f->C_UnwrapKey(h, &pkcs, priv, bogus, bl, NULL, 0, &k),
		    CKR_WRAPPED_KEY_INVALID);
	}
	OK(f->C_UnwrapKey(h, &oaep, priv, wrapped, wl, NULL, 0, &k));
	OK(f->C_GetAttributeValue(h, k, v, 1));
	assert_int_equal(v[0].ulValueLen, 32);
	assert_memory_equal(value, aes, 32);
	/* as a sensitive AES key: the value stays in the module */
	OK(f->C_UnwrapKey(h, &oaep, priv, wrapped, wl, st, 3, &k));
	v[0].ulValueLen = sizeof(value);
	RV(f->C_GetAttributeValue(h, k, v, 1), CKR_ATTRIBUTE_SENSITIVE);
	EVP_PKEY_free(pk);
	OK(f->C_CloseSession(h));
}

/* PIN and PUK: change, block, unblock through C_InitPIN; the SO's C_SetPIN */
static void
test_pins(void **state)
{
	CK_SESSION_HANDLE h = open_rw(), ro;
	CK_TOKEN_INFO ti;
	CK_BYTE bad[] = "000000", other[] = "654321", puk[] = "12345678";
	CK_BYTE so2[] = "0102030405060708010203040506070801020304050607AA";
	CK_ULONG i;

	(void)state;
	OK(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
	RV(f->C_SetPIN(ro, pin, 6, other, 6), CKR_SESSION_READ_ONLY);
	OK(f->C_CloseSession(ro));
	RV(f->C_SetPIN(h, NULL, 6, other, 6), CKR_ARGUMENTS_BAD);
	RV(f->C_SetPIN(h, pin, 6, other, 4), CKR_PIN_LEN_RANGE);
	RV(f->C_SetPIN(h, bad, 6, other, 6), CKR_PIN_INCORRECT);
	OK(f->C_SetPIN(h, pin, 6, other, 6));
	OK(f->C_Login(h, CKU_USER, other, 6));
	OK(f->C_SetPIN(h, other, 6, pin, 6));
	OK(f->C_Logout(h));
	/* C_InitPIN needs the SO */
	RV(f->C_InitPIN(h, other, 6), CKR_USER_NOT_LOGGED_IN);
	/* block the PIN */
	for (i = 0; i < 3; i++)
		RV(f->C_Login(h, CKU_USER, bad, 6), i < 2 ? CKR_PIN_INCORRECT :
		    CKR_PIN_INCORRECT);
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_true(ti.flags & CKF_USER_PIN_LOCKED);
	RV(f->C_Login(h, CKU_USER, pin, 6), CKR_PIN_LOCKED);
	/* the SO with the management key cannot set a PIN on PIV */
	OK(f->C_Login(h, CKU_SO, so, 48));
	RV(f->C_InitPIN(h, pin, 6), CKR_FUNCTION_NOT_SUPPORTED);
	/* ... but can change the management key, and back */
	OK(f->C_SetPIN(h, so, 48, so2, 48));
	OK(f->C_Logout(h));
	RV(f->C_Login(h, CKU_SO, so, 48), CKR_PIN_INCORRECT);
	OK(f->C_Login(h, CKU_SO, so2, 48));
	OK(f->C_SetPIN(h, so2, 48, so, 48));
	OK(f->C_Logout(h));
	/* the SO with the PUK: a wrong PUK, then C_InitPIN unblocks */
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_false(ti.flags & CKF_SO_PIN_COUNT_LOW);
	RV(f->C_Login(h, CKU_SO, (CK_BYTE *)"87654321", 8), CKR_PIN_INCORRECT);
	/* the PUK's counter shows in the SO flags */
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_true(ti.flags & CKF_SO_PIN_COUNT_LOW);
	assert_false(ti.flags & (CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED));
	OK(f->C_Login(h, CKU_SO, puk, 8));
	RV(f->C_InitPIN(h, pin, 3), CKR_PIN_LEN_RANGE);
	OK(f->C_InitPIN(h, pin, 6));
	OK(f->C_Logout(h));
	OK(f->C_GetTokenInfo(slot, &ti));
	assert_false(ti.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW));
	OK(f->C_Login(h, CKU_USER, pin, 6));
	OK(f->C_CloseSession(h));
}

/* data containers: the SO writes and deletes them, PIN-protected ones show after login */
static void
test_data_objects(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_OBJECT_CLASS data = CKO_DATA;
	CK_BYTE info[] = { 0x01, 0x04, 'T', 'e', 's', 't', 0xFE, 0x00 }, buf[64];
	CK_BYTE bad_oid[] = { 0x06, 0x03, 0x2A, 0x03, 0x04 };
	const char *label = "Printed Information";
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &data, sizeof(data) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VALUE, info, sizeof(info) },
	};
	CK_ATTRIBUTE bad[] = {
		{ CKA_CLASS, &data, sizeof(data) },
		{ CKA_OBJECT_ID, bad_oid, sizeof(bad_oid) },
		{ CKA_VALUE, info, sizeof(info) },
	};
	CK_ATTRIBUTE find[] = {
		{ CKA_CLASS, &data, sizeof(data) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_ATTRIBUTE v[] = { { CKA_VALUE, buf, sizeof(buf) } };
	CK_OBJECT_HANDLE o, found[4];
	CK_ULONG n;

	(void)state;
	RV(f->C_CreateObject(h, tok(0, t, 3), 3 + 1, &o), CKR_USER_NOT_LOGGED_IN);
	OK(f->C_Login(h, CKU_SO, so, 48));
	/* an OID that names no PIV container: one of the application's own */
	OK(f->C_CreateObject(h, tok(0, bad, 3), 3 + 1, &o));
	OK(f->C_DestroyObject(h, o));
	/* a data object of nothing but defaults is one too (2.40 base 4.5) */
	OK(f->C_CreateObject(h, tok(0, t, 1), 1 + 1, &o));
	OK(f->C_DestroyObject(h, o));
	RV(f->C_CreateObject(h, tok(0, t, 2), 2 + 1, &o), CKR_TEMPLATE_INCOMPLETE);
	OK(f->C_CreateObject(h, tok(0, t, 3), 3 + 1, &o));
	OK(f->C_Logout(h));
	/* PIN-protected: invisible before the user logs in */
	n = p11_find(h, find, 2, found, 4);
	assert_int_equal(n, 0);
	OK(f->C_Login(h, CKU_USER, pin, 6));
	n = p11_find(h, find, 2, found, 4);
	assert_int_equal(n, 1);
	OK(f->C_GetAttributeValue(h, found[0], v, 1));
	assert_int_equal(v[0].ulValueLen, sizeof(info));
	assert_memory_equal(buf, info, sizeof(info));
	RV(f->C_DestroyObject(h, found[0]), CKR_USER_NOT_LOGGED_IN);
	OK(f->C_Logout(h));
	/* a public container: the SO writes it, finds it and deletes it */
	label = "Security Object";
	t[1].pValue = find[1].pValue = (void *)label;
	t[1].ulValueLen = find[1].ulValueLen = strlen(label);
	OK(f->C_Login(h, CKU_SO, so, 48));
	OK(f->C_CreateObject(h, tok(0, t, 3), 3 + 1, &o));
	n = p11_find(h, find, 2, found, 4);
	assert_int_equal(n, 1);
	assert_int_equal(found[0], o);
	OK(f->C_DestroyObject(h, o));
	RV(f->C_DestroyObject(h, o), CKR_OBJECT_HANDLE_INVALID);
	OK(f->C_Logout(h));
	n = p11_find(h, find, 2, found, 4);
	assert_int_equal(n, 0);
	OK(f->C_CloseSession(h));
}

/*
 * the application's own token data objects (any label, application, value):
 * stored on the card, written with the PIN, private ones read with it only,
 * there again for another process and after the module is reloaded
 */
static void
test_user_data_objects(void **state)
{
	CK_SESSION_HANDLE h = open_rw(), ro;
	CK_OBJECT_CLASS data = CKO_DATA;
	CK_BYTE v[] = "a note kept on the card", buf[64];
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &data, sizeof(data) },
		{ CKA_TOKEN, &yes, 1 },
		{ CKA_PRIVATE, &yes, 1 },
		{ CKA_APPLICATION, "notes", 5 },
		{ CKA_LABEL, "secret note", 11 },
		{ CKA_VALUE, v, sizeof(v) },
	};
	CK_ATTRIBUTE find[] = { { CKA_APPLICATION, "notes", 5 } };
	CK_ATTRIBUTE get[] = { { CKA_VALUE, buf, sizeof(buf) } };
	CK_OBJECT_HANDLE o, o2, found[4];
	CK_ULONG n;

	(void)state;
	RV(f->C_CreateObject(h, t, 6, &o), CKR_USER_NOT_LOGGED_IN);
	OK(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
	OK(f->C_Login(h, CKU_USER, pin, 6));
	/* a token object needs a read/write session */
	RV(f->C_CreateObject(ro, t, 6, &o), CKR_SESSION_READ_ONLY);
	OK(f->C_CreateObject(h, t, 6, &o));
	t[2].pValue = &no;
	t[4].pValue = "public note";
	OK(f->C_CreateObject(h, t, 6, &o2));
	/* the module forgets what it read: a fresh load from the card */
	OK(f->C_CloseSession(ro));
	OK(f->C_CloseSession(h));
	OK(f->C_Finalize(NULL));
	OK(f->C_Initialize(NULL));
	h = open_rw();
	n = p11_find(h, find, 1, found, 4);
	assert_int_equal(n, 1);
	OK(f->C_Login(h, CKU_USER, pin, 6));
	n = p11_find(h, find, 1, found, 4);
	assert_int_equal(n, 2);
	OK(f->C_GetAttributeValue(h, found[0], get, 1));
	assert_int_equal(get[0].ulValueLen, sizeof(v));
	assert_memory_equal(buf, v, sizeof(v));
	OK(f->C_DestroyObject(h, found[0]));
	OK(f->C_DestroyObject(h, found[1]));
	n = p11_find(h, find, 1, found, 4);
	assert_int_equal(n, 0);
	OK(f->C_CloseSession(h));
}

/*
 * signatures go to the card without SELECT while the module's PIV session
 * stands (issue 17); another program selecting another applet in between
 * is noticed from the card's answer and the command sent again after SELECT
 */
static void
test_interference(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_OBJECT_HANDLE priv, pub;
	CK_BYTE sig[64];
	CK_ULONG n;
	char cmd[512];
	CK_RV rv;

	(void)state;
	OK(f->C_Login(h, CKU_USER, pin, 6));
	priv = find_one(h, CKO_PRIVATE_KEY, 1);
	pub = find_one(h, CKO_PUBLIC_KEY, 1);
	for (int i = 0; i < 3; i++) {
		OK(f->C_SignInit(h, &m, priv));
		n = sizeof(sig);
		OK(f->C_Sign(h, (CK_BYTE *)"x", 1, sig, &n));
		OK(f->C_VerifyInit(h, &m, pub));
		OK(f->C_Verify(h, (CK_BYTE *)"x", 1, sig, n));
	}
	/* another program selects the card-information applet */
	snprintf(cmd, sizeof(cmd), "opensc-tool -r '%s' -s '00 A4 04 00 07 F0 57 "
	    "4B 49 4E 46 4F' > /dev/null 2>&1", getenv("WALLETKEY_READER_0"));
	assert_int_equal(system(cmd), 0);
	OK(f->C_SignInit(h, &m, priv));
	n = sizeof(sig);
	rv = f->C_Sign(h, (CK_BYTE *)"y", 1, sig, &n);
	/* PIV forgets the PIN when another applet is selected (piv.md 1.4) */
	if (rv == CKR_USER_NOT_LOGGED_IN) {
		OK(f->C_Login(h, CKU_USER, pin, 6));
		OK(f->C_SignInit(h, &m, priv));
		n = sizeof(sig);
		rv = f->C_Sign(h, (CK_BYTE *)"y", 1, sig, &n);
	}
	OK(rv);
	OK(f->C_VerifyInit(h, &m, pub));
	OK(f->C_Verify(h, (CK_BYTE *)"y", 1, sig, n));
	OK(f->C_CloseSession(h));
}

/* the calls a PIV token cannot do, and host-side encryption */
static void
test_refused(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 }, sha = { CKM_SHA256, NULL, 0 };
	CK_MECHANISM aes = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA_1, CKG_MGF1_SHA1, 20 };
	CK_MECHANISM pss = { CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof(pp) };
	CK_MECHANISM pss_short = { CKM_RSA_PKCS_PSS, &pp, 4 };
	CK_BYTE in[16] = { 1 }, ct[256], pt[256];
	CK_ULONG n;
	CK_OBJECT_HANDLE pub, priv, k;

	(void)state;
	OK(f->C_Login(h, CKU_USER, pin, 6));
	pub = find_one(h, CKO_PUBLIC_KEY, 5);
	priv = find_one(h, CKO_PRIVATE_KEY, 5);
	/* p11test usage_test: the RSA public key wraps what its private key unwraps */
	{
		CK_BBOOL w = CK_FALSE, u = CK_FALSE;
		CK_ATTRIBUTE wt[] = { { CKA_WRAP, &w, 1 } };
		CK_ATTRIBUTE ut[] = { { CKA_UNWRAP, &u, 1 } };
		OK(f->C_GetAttributeValue(h, pub, wt, 1));
		OK(f->C_GetAttributeValue(h, priv, ut, 1));
		assert_int_equal(w, CK_TRUE);
		assert_int_equal(u, CK_TRUE);
	}
	/* encryption on the host, decryption on the card; two-call sizes */
	OK(f->C_EncryptInit(h, &pkcs, pub));
	OK(f->C_Encrypt(h, in, sizeof(in), NULL, &n));
	assert_int_equal(n, 256);
	n = sizeof(ct);
	OK(f->C_Encrypt(h, in, sizeof(in), ct, &n));
	OK(f->C_DecryptInit(h, &pkcs, priv));
	OK(f->C_Decrypt(h, ct, n, NULL, &n));
	assert_int_equal(n, 256);
	n = 8;
	RV(f->C_Decrypt(h, ct, 256, pt, &n), CKR_BUFFER_TOO_SMALL);
	n = sizeof(pt);
	OK(f->C_Decrypt(h, ct, 256, pt, &n));
	assert_int_equal(n, sizeof(in));
	assert_memory_equal(pt, in, sizeof(in));
	OK(f->C_DecryptInit(h, &pkcs, priv));
	RV(f->C_Decrypt(h, ct, 255, pt, &n), CKR_ENCRYPTED_DATA_LEN_RANGE);
	OK(f->C_EncryptInit(h, &pkcs, pub));
	RV(f->C_EncryptUpdate(h, in, 1, ct, &n), CKR_FUNCTION_NOT_SUPPORTED);
	RV(f->C_EncryptFinal(h, ct, &n), CKR_OPERATION_NOT_INITIALIZED);
	/* PSS parameters: hash not the mechanism's, wrong size */
	RV(f->C_SignInit(h, &pss, priv), CKR_MECHANISM_PARAM_INVALID);
	RV(f->C_SignInit(h, &pss_short, priv), CKR_MECHANISM_PARAM_INVALID);
	RV(f->C_EncryptInit(h, &pkcs, priv), CKR_OK);
	RV(f->C_EncryptInit(h, &pkcs, pub), CKR_OPERATION_ACTIVE);
	n = 4;
	RV(f->C_Encrypt(h, in, sizeof(in), ct, &n), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(n, 256);
	OK(f->C_Encrypt(h, in, sizeof(in), ct, &n));
	OK(f->C_DigestInit(h, &sha));
	RV(f->C_DigestKey(h, priv), CKR_KEY_INDIGESTIBLE);
	OK(f->C_DigestFinal(h, pt, &n));
	RV(f->C_SignRecoverInit(h, &pkcs, priv), CKR_MECHANISM_INVALID);
	RV(f->C_VerifyRecover(h, ct, 1, pt, &n), CKR_OPERATION_NOT_INITIALIZED);
	/* secret keys are session keys: an AES key needs its length */
	RV(f->C_GenerateKey(h, &aes, NULL, 0, &k), CKR_TEMPLATE_INCOMPLETE);
	/* a private key never leaves, wrapped or not */
	RV(f->C_WrapKey(h, &pkcs, pub, priv, ct, &n), CKR_KEY_NOT_WRAPPABLE);
	RV(f->C_DigestEncryptUpdate(h, in, 1, ct, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	RV(f->C_SetOperationState(h, in, 1, 0, 0), CKR_SAVED_STATE_INVALID);
	RV(f->C_InitToken(slot, pin, 6, (CK_BYTE *)"label"), CKR_SESSION_EXISTS);
	OK(f->C_CloseSession(h));
	RV(f->C_InitToken(slot, pin, 6, (CK_BYTE *)"label"),
	    CKR_FUNCTION_NOT_SUPPORTED);
}

/* several threads sign at once, each in its own session */
static void *
signer(void *arg)
{
	CK_SESSION_HANDLE h;
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_BYTE sig[64];
	CK_ULONG n;
	CK_RV rv = CKR_OK;

	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
		return (void *)1;
	for (int i = 0; i < 20 && rv == CKR_OK; i++) {
		n = sizeof(sig);
		rv = f->C_SignInit(h, &m, *(CK_OBJECT_HANDLE *)arg);
		if (rv == CKR_OK)
			rv = f->C_Sign(h, (CK_BYTE *)"x", 1, sig, &n);
	}
	f->C_CloseSession(h);
	return (void *)(uintptr_t)(rv != CKR_OK);
}

static void
test_threads(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_OBJECT_HANDLE priv;
	pthread_t t[4];
	void *ret;

	(void)state;
	OK(f->C_Login(h, CKU_USER, pin, 6));
	priv = find_one(h, CKO_PRIVATE_KEY, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, signer, &priv), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	OK(f->C_CloseSession(h));
}

/* the child of a fork initialises again and uses the card */
static void
test_fork(void **state)
{
	pid_t pid;
	int st = 0;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		CK_SESSION_HANDLE h;
		CK_ULONG n = 1;
		CK_SLOT_ID s;
		CK_BYTE r[16];
		int ok = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
		    &h) == CKR_CRYPTOKI_NOT_INITIALIZED &&
		    f->C_Initialize(NULL) == CKR_OK &&
		    f->C_GetSlotList(CK_TRUE, &s, &n) == CKR_OK && n == 1 &&
		    f->C_OpenSession(s, CKF_SERIAL_SESSION, NULL, NULL, &h) == CKR_OK &&
		    f->C_GenerateRandom(h, r, sizeof(r)) == CKR_OK &&
		    f->C_Finalize(NULL) == CKR_OK;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* another program sends VERIFY FF: our next signature says CKR_USER_NOT_LOGGED_IN and a new C_Login works */
static void
test_other_logout(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_BYTE sig[64], hash[32] = { 1 };
	CK_ULONG n = sizeof(sig);
	CK_OBJECT_HANDLE priv;
	char cmd[512];

	(void)state;
	OK(f->C_Login(h, CKU_USER, pin, 6));
	priv = find_one(h, CKO_PRIVATE_KEY, 1);
	snprintf(cmd, sizeof(cmd), "opensc-tool -r '%s' -s '00 A4 04 00 09 A0 00 00 03 "
	    "08 00 00 10 00 00' -s '00 20 FF 80' >/dev/null 2>&1",
	    getenv("WALLETKEY_READER_0"));
	assert_int_equal(system(cmd), 0);
	OK(f->C_SignInit(h, &m, priv));
	RV(f->C_Sign(h, hash, sizeof(hash), sig, &n), CKR_USER_NOT_LOGGED_IN);
	OK(f->C_Login(h, CKU_USER, pin, 6));
	OK(f->C_SignInit(h, &m, priv));
	OK(f->C_Sign(h, hash, sizeof(hash), sig, &n));
	OK(f->C_CloseSession(h));
}

/* two processes sign at once: PC/SC transactions keep their APDUs apart */
static void
test_two_processes(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_OBJECT_HANDLE priv;
	pid_t pid;
	int st = 0;
	void *ret;

	(void)state;
	OK(f->C_Login(h, CKU_USER, pin, 6));
	priv = find_one(h, CKO_PRIVATE_KEY, 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		CK_ULONG n = 1;
		CK_SLOT_ID s;
		CK_SESSION_HANDLE c;
		CK_OBJECT_HANDLE k;
		int ok = f->C_Initialize(NULL) == CKR_OK &&
		    f->C_GetSlotList(CK_TRUE, &s, &n) == CKR_OK &&
		    f->C_OpenSession(s, CKF_SERIAL_SESSION, NULL, NULL, &c) == CKR_OK;
		if (ok) {
			/* the card holds the PIN for both processes */
			(void)f->C_Login(c, CKU_USER, pin, 6);
			k = find_one(c, CKO_PRIVATE_KEY, 1);
			ok = k != CK_INVALID_HANDLE && signer(&k) == NULL;
		}
		_exit(ok ? 0 : 1);
	}
	ret = signer(&priv);
	assert_null(ret);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	OK(f->C_CloseSession(h));
}

static int
helper(const char *name)
{
	char cmd[512];
	const char *sb = getenv("WALLETKEY_SANDBOX");

	snprintf(cmd, sizeof(cmd), "%s/bin/%s 0 >/dev/null 2>&1", sb, name);
	return system(cmd);
}

/* the card goes: CKR_DEVICE_REMOVED once, then CKR_SESSION_HANDLE_INVALID */
static void
test_removal(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_SESSION_INFO info;
	CK_SLOT_INFO si;
	CK_SLOT_ID ev;
	CK_BYTE r[8];
	CK_RV rv;

	(void)state;
	while (f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL) == CKR_OK)
		;
	OK(f->C_GenerateRandom(h, r, sizeof(r)));
	assert_int_equal(helper("card-kill"), 0);
	rv = f->C_GenerateRandom(h, r, sizeof(r));
	assert_true(rv == CKR_DEVICE_REMOVED || rv == CKR_DEVICE_ERROR);
	for (int i = 0; i < 50; i++) {
		rv = f->C_GetSessionInfo(h, &info);
		if (rv != CKR_OK)
			break;
		usleep(100 * 1000);
	}
	assert_true(rv == CKR_DEVICE_REMOVED || rv == CKR_SESSION_HANDLE_INVALID);
	RV(f->C_GetSessionInfo(h, &info), CKR_SESSION_HANDLE_INVALID);
	OK(f->C_WaitForSlotEvent(0, &ev, NULL));
	assert_int_equal(ev, slot);
	OK(f->C_GetSlotInfo(slot, &si));
	assert_false(si.flags & CKF_TOKEN_PRESENT);
	/* and back: the blocking wait reports the insertion */
	assert_int_equal(helper("card-start"), 0);
	OK(f->C_WaitForSlotEvent(0, &ev, NULL));
	assert_int_equal(ev, slot);
	OK(f->C_GetSlotInfo(slot, &si));
	assert_true(si.flags & CKF_TOKEN_PRESENT);
	h = open_rw();
	OK(f->C_GenerateRandom(h, r, sizeof(r)));
	OK(f->C_CloseSession(h));
}

/* pcscd restarts: the module drops its PC/SC context and finds the card again */
static void
test_pcscd_restart(void **state)
{
	CK_SESSION_HANDLE h = open_rw();
	CK_SLOT_ID s[4];
	CK_ULONG n = 0;
	CK_BYTE r[8];
	CK_RV rv;
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s/bin/pcscd-restart >/dev/null 2>&1",
	    getenv("WALLETKEY_SANDBOX"));
	assert_int_equal(system(cmd), 0);
	rv = f->C_GenerateRandom(h, r, sizeof(r));
	assert_true(rv == CKR_DEVICE_REMOVED || rv == CKR_DEVICE_ERROR ||
	    rv == CKR_SESSION_HANDLE_INVALID);
	for (int i = 0; i < 100; i++) {
		n = 4;
		OK(f->C_GetSlotList(CK_TRUE, NULL, &n));
		if (n == 1)
			break;
		usleep(100 * 1000);
	}
	assert_int_equal(n, 1);
	OK(f->C_GetSlotList(CK_TRUE, s, &n));
	assert_int_equal(s[0], slot);
	(void)f->C_CloseSession(h);
	h = open_rw();
	OK(f->C_GenerateRandom(h, r, sizeof(r)));
	OK(f->C_CloseSession(h));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_and_token),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_import_and_derive),
		cmocka_unit_test(test_unwrap),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_data_objects),
		cmocka_unit_test(test_user_data_objects),
		cmocka_unit_test(test_interference),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_other_logout),
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_removal),
		cmocka_unit_test(test_pcscd_restart),
	};
	int rc;

	if ((rc = p11_test_args(argc, argv, "test_p11_card", true)) != 0)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
