/*
 * every SKF function of libwalletkey-skf against a real card through pcscd
 * (run inside tools/walletkey-sandbox): good paths checked against OpenSSL,
 * and the error codes a caller acts on: wrong and locked PINs, a wrong
 * application, a missing container, buffers too small, handles that are
 * not (or no longer) valid, and PIN counters that survive kill -9 of the
 * card process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "skf.h"
#include "walletkey.h"

#define PIN "12345678"

static char devname[256];

static DEVHANDLE
connect_dev(void)
{
	DEVHANDLE d = NULL;
	ULONG n = sizeof(devname);

	assert_int_equal(SKF_EnumDev(TRUE, devname, &n), SAR_OK);
	assert_int_equal(SKF_ConnectDev(devname, &d), SAR_OK);
	return d;
}

static HAPPLICATION
open_app(DEVHANDLE d)
{
	HAPPLICATION a = NULL;

	assert_int_equal(SKF_OpenApplication(d, (LPSTR)"walletkey", &a), SAR_OK);
	return a;
}

static void
login(HAPPLICATION a)
{
	ULONG retry = 99;

	assert_int_equal(SKF_VerifyPIN(a, USER_TYPE, (LPSTR)PIN, &retry), SAR_OK);
}

static void
sm4_ecb(const BYTE key[16], const BYTE *in, size_t n, BYTE *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int m = 0;

	assert_int_equal(EVP_EncryptInit_ex(c, EVP_sm4_ecb(), NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_EncryptUpdate(c, out, &m, in, (int)n), 1);
	EVP_CIPHER_CTX_free(c);
}

static void
dev_auth(DEVHANDLE d, const BYTE key[16])
{
	BYTE rnd[16] = { 0 }, ans[16];

	assert_int_equal(SKF_GenRandom(d, rnd, 8), SAR_OK);
	sm4_ecb(key, rnd, 16, ans);
	assert_int_equal(SKF_DevAuth(d, ans, 16), SAR_OK);
}

static void *
waiter(void *arg)
{
	char name[256];
	ULONG n = sizeof(name), ev = 0;

	*(ULONG *)arg = SKF_WaitForDevEvent(name, &n, &ev);
	return NULL;
}

static void
test_device(void **st)
{
	char list[512];
	ULONG n = 0, state = 99, small = 2;
	DEVINFO info;
	DEVHANDLE d, bad = (DEVHANDLE)&n;
	BYTE rnd[300], apdu[] = { 0x80, 0xCA, 0x00, 0x00, 0x00 }, resp[300];
	BYTE newkey[16] = "8765432187654321";
	pthread_t t;
	ULONG wait_rv = 0;

	(void)st;
	/* two calls: the size, then the list */
	assert_int_equal(SKF_EnumDev(TRUE, NULL, &n), SAR_OK);
	assert_true(n > 2);
	assert_int_equal(SKF_EnumDev(TRUE, list, &small), SAR_BUFFER_TOO_SMALL);
	assert_int_equal(small, n);
	assert_int_equal(SKF_EnumDev(TRUE, list, &n), SAR_OK);
	assert_int_equal(list[n - 1], '\0');
	assert_int_equal(list[n - 2], '\0');
	assert_int_equal(SKF_GetDevState(list, &state), SAR_OK);
	assert_int_equal(state, DEV_PRESENT_STATE);
	assert_int_equal(SKF_GetDevState((LPSTR)"no such reader", &state), SAR_OK);
	assert_int_equal(state, DEV_ABSENT_STATE);
	assert_int_not_equal(SKF_ConnectDev((LPSTR)"no such reader", &d), SAR_OK);
	d = connect_dev();
	assert_int_equal(SKF_GetDevInfo(d, &info), SAR_OK);
	/* the standard's packed layouts */
	assert_int_equal(sizeof(DEVINFO), 294);
	assert_int_equal(sizeof(ECCPUBLICKEYBLOB), 132);
	assert_int_equal(sizeof(ECCPRIVATEKEYBLOB), 68);
	assert_int_equal(sizeof(ECCCIPHERBLOB), 165);
	assert_int_equal(sizeof(ECCSIGNATUREBLOB), 128);
	assert_int_equal(sizeof(ENVELOPEDKEYBLOB), 373);
	assert_int_equal(sizeof(BLOCKCIPHERPARAM), 44);
	assert_int_equal(sizeof(FILEATTRIBUTE), 44);
	assert_int_equal(sizeof(RSAPUBLICKEYBLOB), 268);
	assert_int_equal(offsetof(DEVINFO, AlgSymCap), 198);
	assert_int_equal(offsetof(ECCCIPHERBLOB, CipherLen), 160);
	assert_int_equal(info.Version.major, 1);
	assert_string_equal(info.Manufacturer, "walletkey");
	assert_string_equal(info.Label, "walletkey");
	assert_int_equal(strlen(info.SerialNumber), 16);
	assert_true(info.AlgSymCap & SGD_SMS4_ECB);
	assert_true(info.AlgAsymCap & SGD_SM2_1);
	assert_false(info.AlgAsymCap & SGD_RSA);
	assert_true(info.AlgHashCap & SGD_SM3);
	assert_int_equal(info.DevAuthAlgId, SGD_SMS4_ECB);
	assert_true(info.FreeSpace > 0 && info.FreeSpace <= info.TotalSpace);
	/* invalid handles are recognised, not followed */
	assert_int_equal(SKF_GetDevInfo(bad, &info), SAR_INVALIDHANDLEERR);
	assert_int_equal(SKF_GetDevInfo(NULL, &info), SAR_INVALIDHANDLEERR);
	/* randomness, any length */
	assert_int_equal(SKF_GenRandom(d, rnd, sizeof(rnd)), SAR_OK);
	assert_int_equal(SKF_GenRandom(d, rnd, 0), SAR_INVALIDPARAMERR);
	/* the label takes the device key */
	assert_int_equal(SKF_SetLabel(d, (LPSTR)"mine"), SAR_USER_NOT_LOGGED_IN);
	assert_int_equal(SKF_DevAuth(d, newkey, 16), SAR_FAIL);
	dev_auth(d, (const BYTE *)"1234567812345678");
	assert_int_equal(SKF_SetLabel(d, (LPSTR)"mine"), SAR_OK);
	assert_int_equal(SKF_SetLabel(d,
	    (LPSTR)"a label far longer than thirty-one bytes"), SAR_NAMELENERR);
	assert_int_equal(SKF_GetDevInfo(d, &info), SAR_OK);
	assert_string_equal(info.Label, "mine");
	/* a new device key, then back */
	assert_int_equal(SKF_ChangeDevAuthKey(d, newkey, 15), SAR_INVALIDPARAMERR);
	assert_int_equal(SKF_ChangeDevAuthKey(d, newkey, 16), SAR_OK);
	dev_auth(d, newkey);
	assert_int_equal(SKF_ChangeDevAuthKey(d, (BYTE *)"1234567812345678", 16),
	    SAR_OK);
	/* locking nests with our own calls; APDUs through SKF_Transmit */
	assert_int_equal(SKF_LockDev(d, 1000), SAR_OK);
	n = sizeof(resp);
	assert_int_equal(SKF_Transmit(d, apdu, sizeof(apdu), resp, &n), SAR_OK);
	assert_true(n >= 2);
	assert_int_equal(resp[n - 2], 0x90);
	assert_int_equal(SKF_UnlockDev(d), SAR_OK);
	/* waiting for an event, cancelled */
	assert_int_equal(pthread_create(&t, NULL, waiter, &wait_rv), 0);
	usleep(300 * 1000);
	assert_int_equal(SKF_CancelWaitForDevEvent(), SAR_OK);
	pthread_join(t, NULL);
	assert_int_equal(wait_rv, SAR_NOT_EVENTERR);
	assert_int_equal(SKF_DisConnectDev(d), SAR_OK);
	assert_int_equal(SKF_DisConnectDev(d), SAR_INVALIDHANDLEERR);
}

static void
test_applications(void **st)
{
	DEVHANDLE d = connect_dev();
	HAPPLICATION a = NULL, a2 = NULL;
	char list[256];
	ULONG n = 0, retry;

	(void)st;
	assert_int_equal(SKF_EnumApplication(d, NULL, &n), SAR_OK);
	assert_int_equal(n, strlen("walletkey") + 2);
	assert_int_equal(SKF_EnumApplication(d, list, &n), SAR_OK);
	assert_string_equal(list, "walletkey");
	/* the wrong application */
	assert_int_equal(SKF_OpenApplication(d, (LPSTR)"nope", &a),
	    SAR_APPLICATION_NOT_EXISTS);
	assert_int_equal(SKF_CreateApplication(d, (LPSTR)"bank", (LPSTR)"87654321",
	    5, (LPSTR)"11223344", 5, SECURE_ANYONE_ACCOUNT, &a),
	    SAR_USER_NOT_LOGGED_IN);
	dev_auth(d, (const BYTE *)"1234567812345678");
	assert_int_equal(SKF_CreateApplication(d, (LPSTR)"bank", (LPSTR)"87654",
	    5, (LPSTR)"11223344", 5, SECURE_ANYONE_ACCOUNT, &a), SAR_PIN_LEN_RANGE);
	assert_int_equal(SKF_CreateApplication(d, (LPSTR)"bank", (LPSTR)"87654321",
	    16, (LPSTR)"11223344", 5, SECURE_ANYONE_ACCOUNT, &a),
	    SAR_INVALIDPARAMERR);
	assert_int_equal(SKF_CreateApplication(d, (LPSTR)"bank", (LPSTR)"87654321",
	    5, (LPSTR)"11223344", 5, SECURE_ANYONE_ACCOUNT, &a), SAR_OK);
	assert_int_equal(SKF_CreateApplication(d, (LPSTR)"bank", (LPSTR)"87654321",
	    5, (LPSTR)"11223344", 5, SECURE_ANYONE_ACCOUNT, &a2),
	    SAR_APPLICATION_EXISTS);
	assert_int_equal(SKF_VerifyPIN(a, USER_TYPE, (LPSTR)"11223344", &retry),
	    SAR_OK);
	n = sizeof(list);
	assert_int_equal(SKF_EnumApplication(d, list, &n), SAR_OK);
	assert_int_equal(n, strlen("walletkey") + strlen("bank") + 3);
	assert_int_equal(SKF_DeleteApplication(d, (LPSTR)"bank"), SAR_OK);
	assert_int_equal(SKF_DeleteApplication(d, (LPSTR)"bank"),
	    SAR_APPLICATION_NOT_EXISTS);
	/* a handle to a deleted application reaches nothing */
	assert_int_equal(SKF_VerifyPIN(a, USER_TYPE, (LPSTR)"11223344", &retry),
	    SAR_APPLICATION_NOT_EXISTS);
	assert_int_equal(SKF_CloseApplication(a), SAR_OK);
	assert_int_equal(SKF_CloseApplication(a), SAR_INVALIDHANDLEERR);
	/* a device handle is not an application handle */
	assert_int_equal(SKF_CloseApplication(d), SAR_INVALIDHANDLEERR);
	SKF_DisConnectDev(d);
}

static void
test_pins(void **st)
{
	DEVHANDLE d = connect_dev();
	HAPPLICATION a = open_app(d);
	ULONG retry = 99, max = 0, left = 0;
	BOOL def = FALSE;
	HCONTAINER c;

	(void)st;
	assert_int_equal(SKF_GetPINInfo(a, USER_TYPE, &max, &left, &def), SAR_OK);
	assert_int_equal(max, 10);
	assert_int_equal(left, 10);
	assert_true(def);
	assert_int_equal(SKF_VerifyPIN(a, 7, (LPSTR)PIN, &retry),
	    SAR_USER_TYPE_INVALID);
	/* a PIN the card never takes costs nothing */
	assert_int_equal(SKF_VerifyPIN(a, USER_TYPE, (LPSTR)"123", &retry),
	    SAR_PIN_LEN_RANGE);
	assert_int_equal(SKF_VerifyPIN(a, USER_TYPE, (LPSTR)"00000000", &retry),
	    SAR_PIN_INCORRECT);
	assert_int_equal(retry, 9);
	assert_int_equal(SKF_GetPINInfo(a, USER_TYPE, &max, &left, &def), SAR_OK);
	assert_int_equal(left, 9);
	login(a);
	assert_int_equal(SKF_GetPINInfo(a, USER_TYPE, &max, &left, &def), SAR_OK);
	assert_int_equal(left, 10);
	/* logged out: no container */
	assert_int_equal(SKF_ClearSecureState(a), SAR_OK);
	assert_int_equal(SKF_CreateContainer(a, (LPSTR)"x", &c),
	    SAR_USER_NOT_LOGGED_IN);
	/* lock the user PIN */
	for (ULONG i = 9; i > 0; i--) {
		assert_int_equal(SKF_VerifyPIN(a, USER_TYPE, (LPSTR)"00000000",
		    &retry), SAR_PIN_INCORRECT);
		assert_int_equal(retry, i);
	}
	assert_int_equal(SKF_VerifyPIN(a, USER_TYPE, (LPSTR)"00000000", &retry),
	    SAR_PIN_LOCKED);
	assert_int_equal(retry, 0);
	assert_int_equal(SKF_VerifyPIN(a, USER_TYPE, (LPSTR)PIN, &retry),
	    SAR_PIN_LOCKED);
	/* unblocked with the admin PIN */
	assert_int_equal(SKF_UnblockPIN(a, (LPSTR)"99999999", (LPSTR)"13572468",
	    &retry), SAR_PIN_INCORRECT);
	assert_int_equal(retry, 9);
	assert_int_equal(SKF_UnblockPIN(a, (LPSTR)PIN, (LPSTR)"13572468", &retry),
	    SAR_OK);
	assert_int_equal(SKF_ChangePIN(a, USER_TYPE, (LPSTR)"00000000",
	    (LPSTR)PIN, &retry), SAR_PIN_INCORRECT);
	assert_int_equal(SKF_ChangePIN(a, USER_TYPE, (LPSTR)"13572468",
	    (LPSTR)PIN, &retry), SAR_OK);
	assert_int_equal(SKF_GetPINInfo(a, USER_TYPE, &max, &left, &def), SAR_OK);
	assert_false(def);
	login(a);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
}

/* a wrong PIN try is on the card's store before the card answers: kill -9
 * of the card process right after keeps it */
static void
test_kill9(void **st)
{
	const char *sb = getenv("WALLETKEY_SANDBOX");
	char cmd[512];
	DEVHANDLE d = connect_dev();
	HAPPLICATION a = open_app(d);
	ULONG retry = 0, max, left;
	BOOL def;

	(void)st;
	assert_non_null(sb);
	assert_int_equal(SKF_VerifyPIN(a, ADMIN_TYPE, (LPSTR)"00000000", &retry),
	    SAR_PIN_INCORRECT);
	assert_int_equal(SKF_VerifyPIN(a, ADMIN_TYPE, (LPSTR)"00000000", &retry),
	    SAR_PIN_INCORRECT);
	assert_int_equal(retry, 8);
	snprintf(cmd, sizeof(cmd), "%s/bin/card-kill 0 && %s/bin/card-start 0",
	    sb, sb);
	assert_int_equal(system(cmd), 0);
	/* the old handle sees a removed device; a new one the same counter */
	assert_int_equal(SKF_GetPINInfo(a, ADMIN_TYPE, &max, &left, &def),
	    SAR_DEVICE_REMOVED);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
	d = connect_dev();
	a = open_app(d);
	assert_int_equal(SKF_GetPINInfo(a, ADMIN_TYPE, &max, &left, &def), SAR_OK);
	assert_int_equal(left, 8);
	assert_int_equal(SKF_VerifyPIN(a, ADMIN_TYPE, (LPSTR)PIN, &retry), SAR_OK);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
}

static void
test_files(void **st)
{
	DEVHANDLE d = connect_dev();
	HAPPLICATION a = open_app(d);
	FILEATTRIBUTE fa;
	char list[128];
	BYTE buf[64];
	ULONG n;

	(void)st;
	assert_int_equal(SKF_CreateFile(a, (LPSTR)"notes", 40,
	    SECURE_ANYONE_ACCOUNT, SECURE_USER_ACCOUNT), SAR_USER_NOT_LOGGED_IN);
	login(a);
	assert_int_equal(SKF_CreateFile(a, (LPSTR)"notes", 40,
	    SECURE_ANYONE_ACCOUNT, SECURE_USER_ACCOUNT), SAR_OK);
	assert_int_equal(SKF_CreateFile(a, (LPSTR)"notes", 40,
	    SECURE_ANYONE_ACCOUNT, SECURE_USER_ACCOUNT), SAR_FILE_ALREADY_EXIST);
	assert_int_equal(SKF_CreateFile(a, (LPSTR)"big", 10000000,
	    SECURE_ANYONE_ACCOUNT, SECURE_USER_ACCOUNT), SAR_INVALIDPARAMERR);
	n = 0;
	assert_int_equal(SKF_EnumFiles(a, NULL, &n), SAR_OK);
	assert_int_equal(n, 7);
	assert_int_equal(SKF_EnumFiles(a, list, &n), SAR_OK);
	assert_string_equal(list, "notes");
	assert_int_equal(SKF_GetFileInfo(a, (LPSTR)"notes", &fa), SAR_OK);
	assert_string_equal(fa.FileName, "notes");
	assert_int_equal(fa.FileSize, 40);
	assert_int_equal(fa.ReadRights, SECURE_ANYONE_ACCOUNT);
	assert_int_equal(fa.WriteRights, SECURE_USER_ACCOUNT);
	assert_int_equal(SKF_WriteFile(a, (LPSTR)"notes", 4, (BYTE *)"hello", 5),
	    SAR_OK);
	assert_int_equal(SKF_WriteFile(a, (LPSTR)"notes", 38, (BYTE *)"hello", 5),
	    SAR_WRITEFILEERR);
	n = 0;
	assert_int_equal(SKF_ReadFile(a, (LPSTR)"notes", 4, 100, NULL, &n), SAR_OK);
	assert_int_equal(n, 36);
	n = 10;
	assert_int_equal(SKF_ReadFile(a, (LPSTR)"notes", 4, 100, buf, &n),
	    SAR_BUFFER_TOO_SMALL);
	n = sizeof(buf);
	assert_int_equal(SKF_ReadFile(a, (LPSTR)"notes", 4, 5, buf, &n), SAR_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(SKF_ClearSecureState(a), SAR_OK);
	assert_int_equal(SKF_WriteFile(a, (LPSTR)"notes", 0, (BYTE *)"x", 1),
	    SAR_USER_NOT_LOGGED_IN);
	login(a);
	assert_int_equal(SKF_DeleteFile(a, (LPSTR)"notes"), SAR_OK);
	assert_int_equal(SKF_DeleteFile(a, (LPSTR)"notes"), SAR_FILE_NOT_EXIST);
	assert_int_equal(SKF_GetFileInfo(a, (LPSTR)"notes", &fa),
	    SAR_FILE_NOT_EXIST);
	n = sizeof(buf);
	assert_int_equal(SKF_ReadFile(a, (LPSTR)"notes", 0, 1, buf, &n),
	    SAR_FILE_NOT_EXIST);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
}

/* a throwaway X.509 certificate (P-256, self-signed) */
static size_t
make_cert(BYTE *out, size_t cap)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	unsigned char *p = out;
	int n;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"skf test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	n = i2d_X509(x, NULL);
	assert_true(n > 0 && (size_t)n <= cap);
	i2d_X509(x, &p);
	X509_free(x);
	EVP_PKEY_free(k);
	return (size_t)n;
}

static void
test_containers(void **st)
{
	DEVHANDLE d = connect_dev();
	HAPPLICATION a = open_app(d);
	HCONTAINER c = NULL, c2 = NULL;
	ECCPUBLICKEYBLOB pub, pub2;
	BYTE cert[2048], back[2048];
	size_t cn = make_cert(cert, sizeof(cert));
	char list[256];
	ULONG n, type = 99;

	(void)st;
	login(a);
	/* the missing container */
	assert_int_equal(SKF_OpenContainer(a, (LPSTR)"ghost", &c),
	    SAR_FILE_NOT_EXIST);
	assert_int_equal(SKF_DeleteContainer(a, (LPSTR)"ghost"),
	    SAR_FILE_NOT_EXIST);
	assert_int_equal(SKF_CreateContainer(a, (LPSTR)"c1", &c), SAR_OK);
	assert_int_equal(SKF_CreateContainer(a, (LPSTR)"c1", &c2),
	    SAR_FILE_ALREADY_EXIST);
	assert_int_equal(SKF_GetContainerType(c, &type), SAR_OK);
	assert_int_equal(type, 0);
	n = 0;
	assert_int_equal(SKF_EnumContainer(a, NULL, &n), SAR_OK);
	assert_int_equal(SKF_EnumContainer(a, list, &n), SAR_OK);
	assert_non_null(memmem(list, n, "c1", 3));
	/* no key yet */
	n = sizeof(pub);
	assert_int_equal(SKF_ExportPublicKey(c, TRUE, (BYTE *)&pub, &n),
	    SAR_KEYNOTFOUNTERR);
	assert_int_equal(SKF_GenECCKeyPair(c, SGD_RSA, &pub), SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_GenECCKeyPair(c, SGD_SM2_1, &pub), SAR_OK);
	assert_int_equal(pub.BitLen, 256);
	assert_int_equal(SKF_GetContainerType(c, &type), SAR_OK);
	assert_int_equal(type, 2);
	n = 0;
	assert_int_equal(SKF_ExportPublicKey(c, TRUE, NULL, &n), SAR_OK);
	assert_int_equal(n, sizeof(ECCPUBLICKEYBLOB));
	n = 10;
	assert_int_equal(SKF_ExportPublicKey(c, TRUE, (BYTE *)&pub2, &n),
	    SAR_BUFFER_TOO_SMALL);
	n = sizeof(pub2);
	assert_int_equal(SKF_ExportPublicKey(c, TRUE, (BYTE *)&pub2, &n), SAR_OK);
	assert_memory_equal(&pub, &pub2, sizeof(pub));
	/* certificates */
	assert_int_equal(SKF_ImportCertificate(c, TRUE, (BYTE *)"junk", 4),
	    SAR_INDATAERR);
	assert_int_equal(SKF_ImportCertificate(c, TRUE, cert, (ULONG)cn), SAR_OK);
	n = 0;
	assert_int_equal(SKF_ExportCertificate(c, TRUE, NULL, &n), SAR_OK);
	assert_int_equal(n, cn);
	n = 100;
	assert_int_equal(SKF_ExportCertificate(c, TRUE, back, &n),
	    SAR_BUFFER_TOO_SMALL);
	n = sizeof(back);
	assert_int_equal(SKF_ExportCertificate(c, TRUE, back, &n), SAR_OK);
	assert_memory_equal(back, cert, cn);
	n = sizeof(back);
	assert_int_equal(SKF_ExportCertificate(c, FALSE, back, &n),
	    SAR_CERTNOTFOUNTERR);
	/* another handle to the same container, then the container goes */
	assert_int_equal(SKF_OpenContainer(a, (LPSTR)"c1", &c2), SAR_OK);
	assert_int_equal(SKF_CloseContainer(c2), SAR_OK);
	assert_int_equal(SKF_CloseContainer(c2), SAR_INVALIDHANDLEERR);
	assert_int_equal(SKF_DeleteContainer(a, (LPSTR)"c1"), SAR_OK);
	assert_int_equal(SKF_GetContainerType(c, &type), SAR_FILE_NOT_EXIST);
	SKF_CloseContainer(c);
	/* closing the application closes its containers */
	assert_int_equal(SKF_CreateContainer(a, (LPSTR)"c2", &c), SAR_OK);
	SKF_CloseApplication(a);
	assert_int_equal(SKF_GetContainerType(c, &type), SAR_INVALIDHANDLEERR);
	a = open_app(d);
	login(a);
	assert_int_equal(SKF_DeleteContainer(a, (LPSTR)"c2"), SAR_OK);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
}

/* OpenSSL's SM2 checks the card's signature with its own Z value */
static void
openssl_verify(const ECCPUBLICKEYBLOB *pub, const ECCSIGNATUREBLOB *sig,
    const char *msg)
{
	uint8_t raw[64], rs[64], der[80];
	size_t dn = sizeof(der);
	EVP_PKEY *k = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc;
	uint8_t spki[128];
	size_t sn = sizeof(spki);
	const unsigned char *p = spki;

	memcpy(raw, pub->XCoordinate + 32, 32);
	memcpy(raw + 32, pub->YCoordinate + 32, 32);
	memcpy(rs, sig->r + 32, 32);
	memcpy(rs + 32, sig->s + 32, 32);
	assert_int_equal(wk_gm_pub_to_spki(raw, spki, &sn), WK_OK);
	assert_int_equal(wk_gm_sig_to_der(rs, der, &dn), WK_OK);
	assert_non_null(k = d2i_PUBKEY(NULL, &p, (long)sn));
	pc = EVP_PKEY_CTX_new(k, NULL);
	assert_int_equal(EVP_PKEY_CTX_set1_id(pc, "1234567812345678", 16), 1);
	EVP_MD_CTX_set_pkey_ctx(md, pc);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, k), 1);
	assert_int_equal(EVP_DigestVerify(md, der, dn, (const uint8_t *)msg,
	    strlen(msg)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(k);
}

static void
test_sign_verify(void **st)
{
	DEVHANDLE d = connect_dev();
	HAPPLICATION a = open_app(d);
	HCONTAINER c;
	HANDLE h;
	ECCPUBLICKEYBLOB pub;
	ECCSIGNATUREBLOB sig;
	BYTE e[32];
	ULONG n;
	const char *msg = "transfer 100.00";

	(void)st;
	login(a);
	assert_int_equal(SKF_CreateContainer(a, (LPSTR)"signer", &c), SAR_OK);
	assert_int_equal(SKF_ECCSignData(c, e, 32, &sig), SAR_KEYNOTFOUNTERR);
	assert_int_equal(SKF_GenECCKeyPair(c, SGD_SM2_1, &pub), SAR_OK);
	/* e = SM3(Z || M) on the card, the default id */
	assert_int_equal(SKF_DigestInit(d, SGD_SM3, &pub, NULL, 0, &h), SAR_OK);
	n = 0;
	assert_int_equal(SKF_Digest(h, (BYTE *)msg, (ULONG)strlen(msg), NULL, &n),
	    SAR_OK);
	assert_int_equal(n, 32);
	n = 31;
	assert_int_equal(SKF_Digest(h, (BYTE *)msg, (ULONG)strlen(msg), e, &n),
	    SAR_BUFFER_TOO_SMALL);
	n = 32;
	assert_int_equal(SKF_Digest(h, (BYTE *)msg, (ULONG)strlen(msg), e, &n),
	    SAR_OK);
	assert_int_equal(SKF_Digest(h, (BYTE *)msg, 1, e, &n),
	    SAR_NOTINITIALIZEERR);
	assert_int_equal(SKF_CloseHandle(h), SAR_OK);
	assert_int_equal(SKF_ECCSignData(c, e, 31, &sig), SAR_INDATALENERR);
	assert_int_equal(SKF_ECCSignData(c, e, 32, &sig), SAR_OK);
	openssl_verify(&pub, &sig, msg);
	assert_int_equal(SKF_ECCVerify(d, &pub, e, 32, &sig), SAR_OK);
	assert_int_equal(SKF_ExtECCVerify(d, &pub, e, 32, &sig), SAR_OK);
	sig.s[40] ^= 1;
	assert_int_equal(SKF_ECCVerify(d, &pub, e, 32, &sig), SAR_FAIL);
	/* the same e in parts, with the id given */
	assert_int_equal(SKF_DigestInit(d, SGD_SM3, &pub,
	    (BYTE *)"1234567812345678", 16, &h), SAR_OK);
	assert_int_equal(SKF_DigestUpdate(h, (BYTE *)msg, 5), SAR_OK);
	assert_int_equal(SKF_DigestUpdate(h, (BYTE *)msg + 5,
	    (ULONG)strlen(msg) - 5), SAR_OK);
	{
		BYTE e2[32];

		n = 32;
		assert_int_equal(SKF_DigestFinal(h, e2, &n), SAR_OK);
		assert_memory_equal(e, e2, 32);
	}
	SKF_CloseHandle(h);
	/* no PIN, no signature */
	assert_int_equal(SKF_ClearSecureState(a), SAR_OK);
	assert_int_equal(SKF_ECCSignData(c, e, 32, &sig), SAR_USER_NOT_LOGGED_IN);
	login(a);
	assert_int_equal(SKF_DeleteContainer(a, (LPSTR)"signer"), SAR_OK);
	SKF_CloseContainer(c);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
}

/* OpenSSL's DER SM2 ciphertext into an ECCCIPHERBLOB */
static void
der_to_blob(const uint8_t *der, size_t dn, ECCCIPHERBLOB *b)
{
	uint8_t raw[512];
	size_t rn = sizeof(raw);

	assert_int_equal(wk_gm_cipher_from_der(der, dn, raw, &rn), WK_OK);
	memset(b, 0, sizeof(*b));
	memcpy(b->XCoordinate + 32, raw, 32);
	memcpy(b->YCoordinate + 32, raw + 32, 32);
	memcpy(b->HASH, raw + 64, 32);
	b->CipherLen = (ULONG)(rn - 96);
	memcpy(b->Cipher, raw + 96, rn - 96);
}

static EVP_PKEY *
blob_key(const ECCPUBLICKEYBLOB *pub)
{
	uint8_t raw[64], spki[128];
	size_t sn = sizeof(spki);
	const unsigned char *p = spki;

	memcpy(raw, pub->XCoordinate + 32, 32);
	memcpy(raw + 32, pub->YCoordinate + 32, 32);
	assert_int_equal(wk_gm_pub_to_spki(raw, spki, &sn), WK_OK);
	return d2i_PUBKEY(NULL, &p, (long)sn);
}

static void
openssl_encrypt(EVP_PKEY *k, const BYTE *m, size_t n, ECCCIPHERBLOB *b)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	uint8_t der[512];
	size_t dn = sizeof(der);

	assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
	assert_int_equal(EVP_PKEY_encrypt(c, der, &dn, m, n), 1);
	der_to_blob(der, dn, b);
	EVP_PKEY_CTX_free(c);
}

static void
test_envelope_and_session_keys(void **st)
{
	DEVHANDLE d = connect_dev();
	HAPPLICATION a = open_app(d);
	HCONTAINER c;
	HANDLE k;
	ECCPUBLICKEYBLOB spub, epub;
	EVP_PKEY *ek = EVP_PKEY_Q_keygen(NULL, NULL, "SM2"), *sk;
	BYTE sym[16] = "sixteen byte key", d32[32], blobst[sizeof(ENVELOPEDKEYBLOB) + 64];
	ENVELOPEDKEYBLOB *env = (ENVELOPEDKEYBLOB *)blobst;
	BYTE wrapst[sizeof(ECCCIPHERBLOB) + 64];
	ECCCIPHERBLOB *wrap = (ECCCIPHERBLOB *)wrapst;
	BYTE out[64], want[64];
	BIGNUM *bd = NULL;
	uint8_t pt[65];
	size_t ptn = 0;
	ULONG n;
	BLOCKCIPHERPARAM bp;

	(void)st;
	login(a);
	assert_int_equal(SKF_CreateContainer(a, (LPSTR)"enc", &c), SAR_OK);
	assert_int_equal(SKF_GenECCKeyPair(c, SGD_SM2_1, &spub), SAR_OK);
	/* the envelope a CA sends: d under SM4-ECB, the SM4 key SM2-encrypted
	 * to the container's signing key */
	assert_int_equal(EVP_PKEY_get_bn_param(ek, "priv", &bd), 1);
	assert_int_equal(BN_bn2binpad(bd, d32, 32), 32);
	BN_free(bd);
	assert_int_equal(EVP_PKEY_get_octet_string_param(ek, "pub", pt,
	    sizeof(pt), &ptn), 1);
	memset(blobst, 0, sizeof(blobst));
	env->Version = 1;
	env->ulSymmAlgID = SGD_SMS4_ECB;
	env->ulBits = 256;
	sm4_ecb(sym, d32, 32, env->cbEncryptedPriKey + 32);
	env->PubKey.BitLen = 256;
	memcpy(env->PubKey.XCoordinate + 32, pt + 1, 32);
	memcpy(env->PubKey.YCoordinate + 32, pt + 33, 32);
	assert_non_null(sk = blob_key(&spub));
	openssl_encrypt(sk, sym, 16, &env->ECCCipherBlob);
	env->Version = 2;
	assert_int_equal(SKF_ImportECCKeyPair(c, env), SAR_INVALIDPARAMERR);
	env->Version = 1;
	env->ulSymmAlgID = SGD_SM1_ECB;
	assert_int_equal(SKF_ImportECCKeyPair(c, env), SAR_NOTSUPPORTYETERR);
	env->ulSymmAlgID = SGD_SMS4_ECB;
	assert_int_equal(SKF_ImportECCKeyPair(c, env), SAR_OK);
	n = sizeof(epub);
	assert_int_equal(SKF_ExportPublicKey(c, FALSE, (BYTE *)&epub, &n), SAR_OK);
	assert_memory_equal(&epub, &env->PubKey, sizeof(epub));
	/* a session key SM2-encrypted to the imported encryption key */
	openssl_encrypt(ek, sym, 16, wrap);
	assert_int_equal(SKF_ImportSessionKey(c, SGD_SMS4_ECB, wrapst,
	    (ULONG)(sizeof(ECCCIPHERBLOB) - 1 + 16), &k), SAR_OK);
	memset(&bp, 0, sizeof(bp));
	assert_int_equal(SKF_EncryptInit(k, bp), SAR_OK);
	n = 0;
	assert_int_equal(SKF_Encrypt(k, (BYTE *)"0123456789abcdef", 16, NULL, &n),
	    SAR_OK);
	assert_int_equal(n, 16);
	n = 8;
	assert_int_equal(SKF_Encrypt(k, (BYTE *)"0123456789abcdef", 16, out, &n),
	    SAR_BUFFER_TOO_SMALL);
	n = sizeof(out);
	assert_int_equal(SKF_Encrypt(k, (BYTE *)"0123456789abcdef", 16, out, &n),
	    SAR_OK);
	sm4_ecb(sym, (const BYTE *)"0123456789abcdef", 16, want);
	assert_memory_equal(out, want, 16);
	SKF_CloseHandle(k);
	/* a key the card makes and sends to our key (ECCExportSessionKey) */
	memset(wrapst, 0, sizeof(wrapst));
	{
		ECCPUBLICKEYBLOB mine;

		memset(&mine, 0, sizeof(mine));
		mine.BitLen = 256;
		memcpy(mine.XCoordinate + 32, pt + 1, 32);
		memcpy(mine.YCoordinate + 32, pt + 33, 32);
		assert_int_equal(SKF_ECCExportSessionKey(c, SGD_SMS4_ECB, &mine,
		    wrap, &k), SAR_OK);
		assert_int_equal(wrap->CipherLen, 16);
	}
	{
		BYTE key2[16];
		ULONG kn = sizeof(key2);
		ECCPRIVATEKEYBLOB pk;

		memset(&pk, 0, sizeof(pk));
		pk.BitLen = 256;
		memcpy(pk.PrivateKey + 32, d32, 32);
		assert_int_equal(SKF_ExtECCDecrypt(d, &pk, wrap, key2, &kn), SAR_OK);
		assert_int_equal(kn, 16);
		assert_int_equal(SKF_EncryptInit(k, bp), SAR_OK);
		n = sizeof(out);
		assert_int_equal(SKF_Encrypt(k, (BYTE *)"0123456789abcdef", 16,
		    out, &n), SAR_OK);
		sm4_ecb(key2, (const BYTE *)"0123456789abcdef", 16, want);
		assert_memory_equal(out, want, 16);
	}
	SKF_CloseHandle(k);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(ek);
	assert_int_equal(SKF_DeleteContainer(a, (LPSTR)"enc"), SAR_OK);
	SKF_CloseContainer(c);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
}

static void
test_external_keys(void **st)
{
	DEVHANDLE d = connect_dev();
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	ECCPRIVATEKEYBLOB pk;
	ECCPUBLICKEYBLOB pub;
	ECCSIGNATUREBLOB sig;
	BYTE cst[sizeof(ECCCIPHERBLOB) + 64], plain[64], e[32];
	ECCCIPHERBLOB *cb = (ECCCIPHERBLOB *)cst;
	BIGNUM *bd = NULL;
	uint8_t pt[65], raw[64];
	size_t ptn = 0;
	ULONG n;

	(void)st;
	memset(&pk, 0, sizeof(pk));
	memset(&pub, 0, sizeof(pub));
	pk.BitLen = pub.BitLen = 256;
	assert_int_equal(EVP_PKEY_get_bn_param(k, "priv", &bd), 1);
	assert_int_equal(BN_bn2binpad(bd, pk.PrivateKey + 32, 32), 32);
	BN_free(bd);
	assert_int_equal(EVP_PKEY_get_octet_string_param(k, "pub", pt,
	    sizeof(pt), &ptn), 1);
	memcpy(pub.XCoordinate + 32, pt + 1, 32);
	memcpy(pub.YCoordinate + 32, pt + 33, 32);
	memcpy(raw, pt + 1, 64);
	assert_int_equal(wk_gm_digest_e(raw, NULL, 0, (const uint8_t *)"ext", 3,
	    e), WK_OK);
	assert_int_equal(SKF_ExtECCSign(d, &pk, e, 32, &sig), SAR_OK);
	assert_int_equal(SKF_ExtECCVerify(d, &pub, e, 32, &sig), SAR_OK);
	openssl_verify(&pub, &sig, "ext");
	assert_int_equal(SKF_ExtECCEncrypt(d, &pub, (BYTE *)"round trip", 10, cb),
	    SAR_OK);
	assert_int_equal(cb->CipherLen, 10);
	n = 0;
	assert_int_equal(SKF_ExtECCDecrypt(d, &pk, cb, NULL, &n), SAR_OK);
	assert_int_equal(n, 10);
	n = 4;
	assert_int_equal(SKF_ExtECCDecrypt(d, &pk, cb, plain, &n),
	    SAR_BUFFER_TOO_SMALL);
	n = sizeof(plain);
	assert_int_equal(SKF_ExtECCDecrypt(d, &pk, cb, plain, &n), SAR_OK);
	assert_memory_equal(plain, "round trip", 10);
	cb->HASH[0] ^= 1;
	n = sizeof(plain);
	assert_int_equal(SKF_ExtECCDecrypt(d, &pk, cb, plain, &n), SAR_INDATAERR);
	/* a point off the curve */
	pub.YCoordinate[63] ^= 1;
	assert_int_equal(SKF_ExtECCEncrypt(d, &pub, (BYTE *)"x", 1, cb),
	    SAR_INVALIDPARAMERR);
	pub.BitLen = 512;
	assert_int_equal(SKF_ExtECCVerify(d, &pub, e, 32, &sig),
	    SAR_INVALIDPARAMERR);
	EVP_PKEY_free(k);
	SKF_DisConnectDev(d);
}

static void
sm4_cbc(const BYTE key[16], const BYTE iv[16], int pad, const BYTE *in,
    size_t n, BYTE *out, size_t *on)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int a = 0, b = 0;

	assert_int_equal(EVP_EncryptInit_ex(c, EVP_sm4_cbc(), NULL, key, iv), 1);
	EVP_CIPHER_CTX_set_padding(c, pad);
	assert_int_equal(EVP_EncryptUpdate(c, out, &a, in, (int)n), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, out + a, &b), 1);
	*on = (size_t)(a + b);
	EVP_CIPHER_CTX_free(c);
}

static void
test_symmetric(void **st)
{
	DEVHANDLE d = connect_dev();
	static const BYTE key[16] = "0123456789abcdef";
	BYTE data[100], out[160], back[160], want[160], mac[16];
	size_t wn;
	ULONG n, n2, n3;
	HANDLE k, m;
	BLOCKCIPHERPARAM bp;

	(void)st;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (BYTE)(i * 3);
	assert_int_equal(SKF_SetSymmKey(d, (BYTE *)key, SGD_SM1_ECB, &k),
	    SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_SetSymmKey(d, (BYTE *)key, SGD_SMS4_CBC, &k), SAR_OK);
	memset(&bp, 0, sizeof(bp));
	/* CBC without an IV is refused */
	assert_int_equal(SKF_EncryptInit(k, bp), SAR_INVALIDPARAMERR);
	memcpy(bp.IV, "fedcba9876543210", 16);
	bp.IVLen = 16;
	bp.PaddingType = 1;
	n = sizeof(out);
	assert_int_equal(SKF_EncryptUpdate(k, data, 10, out, &n),
	    SAR_NOTINITIALIZEERR);
	assert_int_equal(SKF_EncryptInit(k, bp), SAR_OK);
	/* in parts: 37 + 63 bytes, then the final block */
	n = sizeof(out);
	assert_int_equal(SKF_EncryptUpdate(k, data, 37, out, &n), SAR_OK);
	assert_int_equal(n, 32);
	n2 = sizeof(out) - n;
	assert_int_equal(SKF_EncryptUpdate(k, data + 37, 63, out + n, &n2), SAR_OK);
	n3 = 0;
	assert_int_equal(SKF_EncryptFinal(k, NULL, &n3), SAR_OK);
	assert_int_equal(n3, 16);
	n3 = (ULONG)(sizeof(out) - n - n2);
	assert_int_equal(SKF_EncryptFinal(k, out + n + n2, &n3), SAR_OK);
	sm4_cbc(key, bp.IV, 1, data, 100, want, &wn);
	assert_int_equal(n + n2 + n3, wn);
	assert_memory_equal(out, want, wn);
	/* one part back */
	assert_int_equal(SKF_DecryptInit(k, bp), SAR_OK);
	n = sizeof(back);
	assert_int_equal(SKF_Decrypt(k, out, (ULONG)wn, back, &n), SAR_OK);
	assert_int_equal(n, 100);
	assert_memory_equal(back, data, 100);
	/* a padding that does not check */
	out[wn - 1] ^= 0x55;
	assert_int_equal(SKF_DecryptInit(k, bp), SAR_OK);
	n = sizeof(back);
	assert_int_equal(SKF_DecryptUpdate(k, out, (ULONG)wn, back, &n), SAR_OK);
	n2 = sizeof(back) - n;
	assert_int_equal(SKF_DecryptFinal(k, back + n, &n2), SAR_DECRYPTPADERR);
	/* without padding: whole blocks only */
	bp.PaddingType = 0;
	assert_int_equal(SKF_EncryptInit(k, bp), SAR_OK);
	n = sizeof(out);
	assert_int_equal(SKF_Encrypt(k, data, 17, out, &n), SAR_INDATALENERR);
	assert_int_equal(SKF_Encrypt(k, data, 32, out, &n), SAR_OK);
	assert_int_equal(n, 32);
	/* MAC: CBC-MAC, the last block, against OpenSSL */
	assert_int_equal(SKF_MacInit(k, &bp, &m), SAR_OK);
	n = 0;
	assert_int_equal(SKF_Mac(m, data, 48, NULL, &n), SAR_OK);
	assert_int_equal(n, 16);
	assert_int_equal(SKF_Mac(m, data, 47, mac, &n), SAR_INDATALENERR);
	n = sizeof(mac);
	assert_int_equal(SKF_Mac(m, data, 48, mac, &n), SAR_OK);
	sm4_cbc(key, bp.IV, 0, data, 48, want, &wn);
	assert_memory_equal(mac, want + 32, 16);
	assert_int_equal(SKF_CloseHandle(m), SAR_OK);
	assert_int_equal(SKF_MacInit(k, &bp, &m), SAR_OK);
	assert_int_equal(SKF_MacUpdate(m, data, 20), SAR_OK);
	assert_int_equal(SKF_MacUpdate(m, data + 20, 28), SAR_OK);
	n = sizeof(mac);
	assert_int_equal(SKF_MacFinal(m, mac, &n), SAR_OK);
	assert_memory_equal(mac, want + 32, 16);
	assert_int_equal(SKF_CloseHandle(m), SAR_OK);
	assert_int_equal(SKF_MacInit(k, &bp, &m), SAR_OK);
	assert_int_equal(SKF_MacUpdate(m, data, 20), SAR_OK);
	n = sizeof(mac);
	assert_int_equal(SKF_MacFinal(m, mac, &n), SAR_INDATALENERR);
	SKF_CloseHandle(m);
	assert_int_equal(SKF_CloseHandle(k), SAR_OK);
	assert_int_equal(SKF_CloseHandle(k), SAR_INVALIDHANDLEERR);
	assert_int_equal(SKF_EncryptInit(k, bp), SAR_INVALIDHANDLEERR);
	/* SHA-256 digests too */
	assert_int_equal(SKF_DigestInit(d, SGD_SHA256, NULL, NULL, 0, &m), SAR_OK);
	n = sizeof(mac) * 2;
	{
		BYTE md[32], md2[32];
		unsigned int mdn = 0;

		n = sizeof(md);
		assert_int_equal(SKF_Digest(m, (BYTE *)"abc", 3, md, &n), SAR_OK);
		EVP_Digest("abc", 3, md2, &mdn, EVP_sha256(), NULL);
		assert_memory_equal(md, md2, 32);
	}
	SKF_CloseHandle(m);
	SKF_DisConnectDev(d);
}

static void
test_agreement(void **st)
{
	DEVHANDLE d = connect_dev();
	HAPPLICATION a = open_app(d);
	HCONTAINER ca, cb;
	ECCPUBLICKEYBLOB pa, pb, ta, tb, unused;
	HANDLE ag, ka, kb;
	BLOCKCIPHERPARAM bp;
	BYTE outa[16], outb[16];
	ULONG n;
	BYTE ida[] = "alice", idb[] = "bob";
	wk_card *card = NULL;
	wk_ctx *ctx = NULL;
	wk_gm *gm = NULL;
	uint8_t app;

	(void)st;
	(void)unused;
	login(a);
	assert_int_equal(SKF_CreateContainer(a, (LPSTR)"ka", &ca), SAR_OK);
	assert_int_equal(SKF_CreateContainer(a, (LPSTR)"kb", &cb), SAR_OK);
	/* no encryption pair yet */
	assert_int_equal(SKF_GenerateAgreementDataWithECC(ca, SGD_SMS4_ECB, &ta,
	    ida, 5, &ag), SAR_KEYNOTFOUNTERR);
	/* encryption pairs generated on the card (walletkey gm keygen --enc) */
	assert_int_equal(wk_ctx_new(&ctx), WK_OK);
	assert_int_equal(wk_card_open(ctx, devname, &card), WK_OK);
	assert_int_equal(wk_gm_open(card, &gm), WK_OK);
	assert_int_equal(wk_gm_app_open(gm, "walletkey", &app), WK_OK);
	assert_int_equal(wk_gm_verify_pin(gm, app, WK_GM_PIN_USER,
	    (const uint8_t *)PIN, 8, NULL), WK_OK);
	{
		uint8_t p[64];

		assert_int_equal(wk_gm_generate(gm, app, "ka", false, p), WK_OK);
		memset(&pa, 0, sizeof(pa));
		pa.BitLen = 256;
		memcpy(pa.XCoordinate + 32, p, 32);
		memcpy(pa.YCoordinate + 32, p + 32, 32);
		assert_int_equal(wk_gm_generate(gm, app, "kb", false, p), WK_OK);
		memset(&pb, 0, sizeof(pb));
		pb.BitLen = 256;
		memcpy(pb.XCoordinate + 32, p, 32);
		memcpy(pb.YCoordinate + 32, p + 32, 32);
	}
	wk_gm_free(&gm);
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	login(a);
	assert_int_equal(SKF_GenerateAgreementDataWithECC(ca, SGD_SMS4_ECB, &ta,
	    ida, 5, &ag), SAR_OK);
	assert_int_equal(SKF_GenerateAgreementDataAndKeyWithECC(cb, SGD_SMS4_ECB,
	    &pa, &ta, &tb, idb, 3, ida, 5, &kb), SAR_OK);
	assert_int_equal(SKF_GenerateKeyWithECC(ag, &pb, &tb, idb, 3, &ka), SAR_OK);
	/* the wrong id on one side: another key */
	memset(&bp, 0, sizeof(bp));
	assert_int_equal(SKF_EncryptInit(ka, bp), SAR_OK);
	n = sizeof(outa);
	assert_int_equal(SKF_Encrypt(ka, (BYTE *)"0123456789abcdef", 16, outa, &n),
	    SAR_OK);
	assert_int_equal(SKF_EncryptInit(kb, bp), SAR_OK);
	n = sizeof(outb);
	assert_int_equal(SKF_Encrypt(kb, (BYTE *)"0123456789abcdef", 16, outb, &n),
	    SAR_OK);
	assert_memory_equal(outa, outb, 16);
	SKF_CloseHandle(ka);
	SKF_CloseHandle(kb);
	SKF_CloseHandle(ag);
	SKF_DeleteContainer(a, (LPSTR)"ka");
	SKF_DeleteContainer(a, (LPSTR)"kb");
	SKF_CloseContainer(ca);
	SKF_CloseContainer(cb);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
}

static void
test_rsa_not_here(void **st)
{
	DEVHANDLE d = connect_dev();
	HAPPLICATION a = open_app(d);
	HCONTAINER c;
	RSAPUBLICKEYBLOB rp;
	RSAPRIVATEKEYBLOB rk;
	BYTE buf[256];
	ULONG n = sizeof(buf);
	HANDLE h;

	(void)st;
	login(a);
	assert_int_equal(SKF_CreateContainer(a, (LPSTR)"rsa", &c), SAR_OK);
	assert_int_equal(SKF_GenExtRSAKey(d, 2048, &rk), SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_GenRSAKeyPair(c, 2048, &rp), SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_ImportRSAKeyPair(c, SGD_SMS4_ECB, buf, 10, buf, 10),
	    SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_RSASignData(c, buf, 20, buf, &n),
	    SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_RSAVerify(d, &rp, buf, 20, buf, 256),
	    SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_RSAExportSessionKey(c, SGD_SMS4_ECB, &rp, buf, &n,
	    &h), SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_ExtRSAPubKeyOperation(d, &rp, buf, 256, buf, &n),
	    SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_ExtRSAPriKeyOperation(d, &rk, buf, 256, buf, &n),
	    SAR_NOTSUPPORTYETERR);
	assert_int_equal(SKF_GenRSAKeyPair(d, 2048, &rp), SAR_INVALIDHANDLEERR);
	SKF_DeleteContainer(a, (LPSTR)"rsa");
	SKF_CloseContainer(c);
	SKF_CloseApplication(a);
	SKF_DisConnectDev(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_applications),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_kill9),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_envelope_and_session_keys),
		cmocka_unit_test(test_external_keys),
		cmocka_unit_test(test_symmetric),
		cmocka_unit_test(test_agreement),
		cmocka_unit_test(test_rsa_not_here),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
