/*
 * walletkey-pkcs11: C_GetInfo, the function lists and the 3.0 interfaces,
 * the module's only exported symbols. The entry points are in p11_entry.c
 * (life, lock, slot events) and p11_entry_*.c.
 */
#include <string.h>

#include "p11_entry.h"

#define EXPORT __attribute__((visibility("default")))

static CK_RV
get_info(CK_INFO_PTR info)
{
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = 2;
	info->cryptokiVersion.minor = 40;
	p11_pad(info->manufacturerID, sizeof(info->manufacturerID),
	    P11_MANUFACTURER);
	p11_pad(info->libraryDescription, sizeof(info->libraryDescription),
	    "walletkey PIV PKCS#11 module");
	info->libraryVersion.major = P11_LIB_MAJOR;
	info->libraryVersion.minor = P11_LIB_MINOR;
	return CKR_OK;
}

P11_ENTRY(MODULE, C_GetInfo, (CK_INFO_PTR info), get_info(info))

/* ---- function lists and interfaces ---- */

#define LIST_2_40 \
	wk_C_Initialize, wk_C_Finalize, wk_C_GetInfo, C_GetFunctionList, \
	wk_C_GetSlotList, wk_C_GetSlotInfo, wk_C_GetTokenInfo, \
	wk_C_GetMechanismList, wk_C_GetMechanismInfo, wk_C_InitToken, \
	wk_C_InitPIN, wk_C_SetPIN, wk_C_OpenSession, wk_C_CloseSession, \
	wk_C_CloseAllSessions, wk_C_GetSessionInfo, wk_C_GetOperationState, \
	wk_C_SetOperationState, wk_C_Login, wk_C_Logout, wk_C_CreateObject, \
	wk_C_CopyObject, wk_C_DestroyObject, wk_C_GetObjectSize, \
	wk_C_GetAttributeValue, wk_C_SetAttributeValue, wk_C_FindObjectsInit, \
	wk_C_FindObjects, wk_C_FindObjectsFinal, wk_C_EncryptInit, \
	wk_C_Encrypt, wk_C_EncryptUpdate, wk_C_EncryptFinal, wk_C_DecryptInit, \
	wk_C_Decrypt, wk_C_DecryptUpdate, wk_C_DecryptFinal, wk_C_DigestInit, \
	wk_C_Digest, wk_C_DigestUpdate, wk_C_DigestKey, wk_C_DigestFinal, \
	wk_C_SignInit, wk_C_Sign, wk_C_SignUpdate, wk_C_SignFinal, \
	wk_C_SignRecoverInit, wk_C_SignRecover, wk_C_VerifyInit, wk_C_Verify, \
	wk_C_VerifyUpdate, wk_C_VerifyFinal, wk_C_VerifyRecoverInit, \
	wk_C_VerifyRecover, wk_C_DigestEncryptUpdate, \
	wk_C_DecryptDigestUpdate, wk_C_SignEncryptUpdate, \
	wk_C_DecryptVerifyUpdate, wk_C_GenerateKey, wk_C_GenerateKeyPair, \
	wk_C_WrapKey, wk_C_UnwrapKey, wk_C_DeriveKey, wk_C_SeedRandom, \
	wk_C_GenerateRandom, wk_C_GetFunctionStatus, wk_C_CancelFunction, \
	wk_C_WaitForSlotEvent

static CK_FUNCTION_LIST list_2_40 = {
	{ 2, 40 },
	LIST_2_40
};

static CK_FUNCTION_LIST_3_0 list_3_0 = {
	{ 3, 0 },
	LIST_2_40,
	C_GetInterfaceList, C_GetInterface, wk_C_LoginUser, wk_C_SessionCancel,
	wk_C_MessageInit, wk_C_MessageCrypt, wk_C_MessageBegin,
	wk_C_MessageNext, wk_C_MessageFinal,
	wk_C_MessageInit, wk_C_MessageCrypt, wk_C_MessageBegin,
	wk_C_MessageNext, wk_C_MessageFinal,
	wk_C_MessageInit, wk_C_SignMessage, wk_C_SignMessageBegin,
	wk_C_SignMessage, wk_C_MessageFinal,
	wk_C_MessageInit, wk_C_VerifyMessage, wk_C_SignMessageBegin,
	wk_C_VerifyMessage, wk_C_MessageFinal,
};

static CK_UTF8CHAR iface_name[] = "PKCS 11";

static CK_INTERFACE interfaces[] = {
	{ iface_name, &list_3_0, 0 },
	{ iface_name, &list_2_40, 0 },
};
#define N_IFACES (sizeof(interfaces) / sizeof(interfaces[0]))

EXPORT CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	*out = &list_2_40;
	return CKR_OK;
}

EXPORT CK_RV
C_GetInterfaceList(CK_INTERFACE *list, CK_ULONG *count)
{
	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	if (list == NULL) {
		*count = N_IFACES;
		return CKR_OK;
	}
	if (*count < N_IFACES) {
		*count = N_IFACES;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(list, interfaces, sizeof(interfaces));
	*count = N_IFACES;
	return CKR_OK;
}

EXPORT CK_RV
C_GetInterface(CK_UTF8CHAR *name, CK_VERSION *version, CK_INTERFACE **out,
    CK_FLAGS flags)
{
	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	for (size_t i = 0; i < N_IFACES; i++) {
		const CK_VERSION *v = interfaces[i].pFunctionList;

		if (name != NULL && strcmp((const char *)name,
		    (const char *)interfaces[i].pInterfaceName) != 0)
			continue;
		if (version != NULL && (version->major != v->major ||
		    version->minor != v->minor))
			continue;
		if ((interfaces[i].flags & flags) != flags)
			continue;
		*out = &interfaces[i];
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
