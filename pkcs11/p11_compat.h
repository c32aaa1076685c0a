/*
 * PKCS#11 3.0 declarations that p11-kit's pkcs11.h lacks before p11-kit 0.25
 * (Debian 12 ships 0.24.1, whose header stops at 2.40). With a 3.0 header
 * nothing here is used. Layouts from PKCS#11 3.0 base spec, 3.7 and 5.2.
 */
#ifndef P11_COMPAT_H
#define P11_COMPAT_H

#include <p11-kit/pkcs11.h>

#if CRYPTOKI_VERSION_MAJOR < 3

typedef struct CK_INTERFACE {
	CK_UTF8CHAR *pInterfaceName;
	void *pFunctionList;
	CK_FLAGS flags;
} CK_INTERFACE;
typedef CK_INTERFACE *CK_INTERFACE_PTR;
typedef CK_INTERFACE **CK_INTERFACE_PTR_PTR;

#define CKF_INTERFACE_FORK_SAFE (0x00000001UL)
#define CKR_OPERATION_CANCEL_FAILED (0x202UL)

typedef CK_RV (*CK_C_GetInterfaceList)(CK_INTERFACE *, CK_ULONG *);
typedef CK_RV (*CK_C_GetInterface)(CK_UTF8CHAR *, CK_VERSION *,
    CK_INTERFACE **, CK_FLAGS);
typedef CK_RV (*CK_C_LoginUser)(CK_SESSION_HANDLE, CK_USER_TYPE,
    CK_UTF8CHAR *, CK_ULONG, CK_UTF8CHAR *, CK_ULONG);
typedef CK_RV (*CK_C_SessionCancel)(CK_SESSION_HANDLE, CK_FLAGS);
typedef CK_RV (*CK_C_MessageEncryptInit)(CK_SESSION_HANDLE, CK_MECHANISM *,
    CK_OBJECT_HANDLE);
typedef CK_RV (*CK_C_EncryptMessage)(CK_SESSION_HANDLE, void *, CK_ULONG,
    CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);
typedef CK_RV (*CK_C_EncryptMessageBegin)(CK_SESSION_HANDLE, void *,
    CK_ULONG, CK_BYTE *, CK_ULONG);
typedef CK_RV (*CK_C_EncryptMessageNext)(CK_SESSION_HANDLE, void *, CK_ULONG,
    CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *, CK_FLAGS);
typedef CK_RV (*CK_C_MessageEncryptFinal)(CK_SESSION_HANDLE);
typedef CK_C_MessageEncryptInit CK_C_MessageDecryptInit;
typedef CK_C_EncryptMessage CK_C_DecryptMessage;
typedef CK_C_EncryptMessageBegin CK_C_DecryptMessageBegin;
typedef CK_C_EncryptMessageNext CK_C_DecryptMessageNext;
typedef CK_C_MessageEncryptFinal CK_C_MessageDecryptFinal;
typedef CK_C_MessageEncryptInit CK_C_MessageSignInit;
typedef CK_RV (*CK_C_SignMessage)(CK_SESSION_HANDLE, void *, CK_ULONG,
    CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG *);
typedef CK_RV (*CK_C_SignMessageBegin)(CK_SESSION_HANDLE, void *, CK_ULONG);
typedef CK_C_SignMessage CK_C_SignMessageNext;
typedef CK_C_MessageEncryptFinal CK_C_MessageSignFinal;
typedef CK_C_MessageEncryptInit CK_C_MessageVerifyInit;
typedef CK_RV (*CK_C_VerifyMessage)(CK_SESSION_HANDLE, void *, CK_ULONG,
    CK_BYTE *, CK_ULONG, CK_BYTE *, CK_ULONG);
typedef CK_C_SignMessageBegin CK_C_VerifyMessageBegin;
typedef CK_C_VerifyMessage CK_C_VerifyMessageNext;
typedef CK_C_MessageEncryptFinal CK_C_MessageVerifyFinal;

CK_RV C_GetInterfaceList(CK_INTERFACE *list, CK_ULONG *count);
CK_RV C_GetInterface(CK_UTF8CHAR *name, CK_VERSION *version,
    CK_INTERFACE **iface, CK_FLAGS flags);

typedef struct CK_FUNCTION_LIST_3_0 {
	CK_VERSION version;
	CK_C_Initialize C_Initialize;
	CK_C_Finalize C_Finalize;
	CK_C_GetInfo C_GetInfo;
	CK_C_GetFunctionList C_GetFunctionList;
	CK_C_GetSlotList C_GetSlotList;
	CK_C_GetSlotInfo C_GetSlotInfo;
	CK_C_GetTokenInfo C_GetTokenInfo;
	CK_C_GetMechanismList C_GetMechanismList;
	CK_C_GetMechanismInfo C_GetMechanismInfo;
	CK_C_InitToken C_InitToken;
	CK_C_InitPIN C_InitPIN;
	CK_C_SetPIN C_SetPIN;
	CK_C_OpenSession C_OpenSession;
	CK_C_CloseSession C_CloseSession;
	CK_C_CloseAllSessions C_CloseAllSessions;
	CK_C_GetSessionInfo C_GetSessionInfo;
	CK_C_GetOperationState C_GetOperationState;
	CK_C_SetOperationState C_SetOperationState;
	CK_C_Login C_Login;
	CK_C_Logout C_Logout;
	CK_C_CreateObject C_CreateObject;
	CK_C_CopyObject C_CopyObject;
	CK_C_DestroyObject C_DestroyObject;
	CK_C_GetObjectSize C_GetObjectSize;
	CK_C_GetAttributeValue C_GetAttributeValue;
	CK_C_SetAttributeValue C_SetAttributeValue;
	CK_C_FindObjectsInit C_FindObjectsInit;
	CK_C_FindObjects C_FindObjects;
	CK_C_FindObjectsFinal C_FindObjectsFinal;
	CK_C_EncryptInit C_EncryptInit;
	CK_C_Encrypt C_Encrypt;
	CK_C_EncryptUpdate C_EncryptUpdate;
	CK_C_EncryptFinal C_EncryptFinal;
	CK_C_DecryptInit C_DecryptInit;
	CK_C_Decrypt C_Decrypt;
	CK_C_DecryptUpdate C_DecryptUpdate;
	CK_C_DecryptFinal C_DecryptFinal;
	CK_C_DigestInit C_DigestInit;
	CK_C_Digest C_Digest;
	CK_C_DigestUpdate C_DigestUpdate;
	CK_C_DigestKey C_DigestKey;
	CK_C_DigestFinal C_DigestFinal;
	CK_C_SignInit C_SignInit;
	CK_C_Sign C_Sign;
	CK_C_SignUpdate C_SignUpdate;
	CK_C_SignFinal C_SignFinal;
	CK_C_SignRecoverInit C_SignRecoverInit;
	CK_C_SignRecover C_SignRecover;
	CK_C_VerifyInit C_VerifyInit;
	CK_C_Verify C_Verify;
	CK_C_VerifyUpdate C_VerifyUpdate;
	CK_C_VerifyFinal C_VerifyFinal;
	CK_C_VerifyRecoverInit C_VerifyRecoverInit;
	CK_C_VerifyRecover C_VerifyRecover;
	CK_C_DigestEncryptUpdate C_DigestEncryptUpdate;
	CK_C_DecryptDigestUpdate C_DecryptDigestUpdate;
	CK_C_SignEncryptUpdate C_SignEncryptUpdate;
	CK_C_DecryptVerifyUpdate C_DecryptVerifyUpdate;
	CK_C_GenerateKey C_GenerateKey;
	CK_C_GenerateKeyPair C_GenerateKeyPair;
	CK_C_WrapKey C_WrapKey;
	CK_C_UnwrapKey C_UnwrapKey;
	CK_C_DeriveKey C_DeriveKey;
	CK_C_SeedRandom C_SeedRandom;
	CK_C_GenerateRandom C_GenerateRandom;
	CK_C_GetFunctionStatus C_GetFunctionStatus;
	CK_C_CancelFunction C_CancelFunction;
	CK_C_WaitForSlotEvent C_WaitForSlotEvent;
	CK_C_GetInterfaceList C_GetInterfaceList;
	CK_C_GetInterface C_GetInterface;
	CK_C_LoginUser C_LoginUser;
	CK_C_SessionCancel C_SessionCancel;
	CK_C_MessageEncryptInit C_MessageEncryptInit;
	CK_C_EncryptMessage C_EncryptMessage;
	CK_C_EncryptMessageBegin C_EncryptMessageBegin;
	CK_C_EncryptMessageNext C_EncryptMessageNext;
	CK_C_MessageEncryptFinal C_MessageEncryptFinal;
	CK_C_MessageDecryptInit C_MessageDecryptInit;
	CK_C_DecryptMessage C_DecryptMessage;
	CK_C_DecryptMessageBegin C_DecryptMessageBegin;
	CK_C_DecryptMessageNext C_DecryptMessageNext;
	CK_C_MessageDecryptFinal C_MessageDecryptFinal;
	CK_C_MessageSignInit C_MessageSignInit;
	CK_C_SignMessage C_SignMessage;
	CK_C_SignMessageBegin C_SignMessageBegin;
	CK_C_SignMessageNext C_SignMessageNext;
	CK_C_MessageSignFinal C_MessageSignFinal;
	CK_C_MessageVerifyInit C_MessageVerifyInit;
	CK_C_VerifyMessage C_VerifyMessage;
	CK_C_VerifyMessageBegin C_VerifyMessageBegin;
	CK_C_VerifyMessageNext C_VerifyMessageNext;
	CK_C_MessageVerifyFinal C_MessageVerifyFinal;
} CK_FUNCTION_LIST_3_0;

typedef struct CK_EDDSA_PARAMS {
	CK_BBOOL phFlag;
	CK_ULONG ulContextDataLen;
	CK_BYTE *pContextData;
} CK_EDDSA_PARAMS;

#endif /* CRYPTOKI_VERSION_MAJOR < 3 */

#ifndef CKK_EC_MONTGOMERY
#define CKK_EC_MONTGOMERY (0x41UL)
#endif
#ifndef CKM_EC_MONTGOMERY_KEY_PAIR_GEN
#define CKM_EC_MONTGOMERY_KEY_PAIR_GEN (0x1056UL)
#endif

#endif
