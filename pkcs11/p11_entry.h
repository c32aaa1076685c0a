/*
 * walletkey-pkcs11: the one way into the module. Every C_ function but
 * C_Initialize, C_Finalize, C_WaitForSlotEvent and the function-list
 * getters is written as
 *
 *     P11_ENTRY(NEED, C_Name, (parameters), expression)
 *
 * which defines wk_C_Name(parameters): it checks that the module is
 * initialised (in this process), takes the module lock, finds what NEED
 * names (nothing, the slot `id`, the token in slot `id`, or the session
 * `h` with its slot and token) into `c`, evaluates the expression with the
 * lock held and releases the lock with its value. When the lookup fails,
 * the lock is released and its error returned (CKR_CRYPTOKI_NOT_INITIALIZED,
 * CKR_SLOT_ID_INVALID, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID,
 * CKR_DEVICE_REMOVED). Argument checks that PKCS#11 wants before the
 * lookup belong to entry points of a smaller NEED (MODULE) whose worker
 * looks up itself.
 *
 * The entry points live in p11_entry.c (the module's life and lock,
 * slot events), p11_entry_token.c (slots, tokens, PINs, sessions, login),
 * p11_entry_object.c (objects, find), p11_entry_crypto.c (the
 * cryptographic functions, keys, random, the 3.0 message functions) and
 * p11_module.c (C_GetInfo, the function lists), in that order of layers.
 */
#ifndef P11_ENTRY_H
#define P11_ENTRY_H

#include "p11_internal.h"

/* what an entry point needs found before its work */
enum p11_need {
	P11_NEED_MODULE,	/* the module initialised, nothing else */
	P11_NEED_SLOT,		/* the slot `id` (p11_slot_get) */
	P11_NEED_TOKEN,		/* the token in slot `id` (p11_token_get) */
	P11_NEED_SESSION,	/* the session `h`, its slot (p11_session_get) */
};

/* what was found: the worker's context */
typedef struct p11_call {
	CK_SESSION_HANDLE h;
	CK_SLOT_ID id;
	p11_session *s;		/* P11_NEED_SESSION */
	p11_slot *slot;		/* P11_NEED_SLOT, _TOKEN, _SESSION */
} p11_call;

/*
 * takes the lock and finds what need names by key (a slot id or a session
 * handle); on failure the lock is not held
 */
CK_RV p11_enter(enum p11_need need, CK_ULONG key, p11_call *c);
/* releases the lock, returns rv */
CK_RV p11_leave(CK_RV rv);
/* C_Initialize has run (in any process): for C_LoginUser's early check */
bool p11_module_initialized(void);

/* the name of the parameter each need is found by */
#define P11_KEY_MODULE 0
#define P11_KEY_SLOT id
#define P11_KEY_TOKEN id
#define P11_KEY_SESSION h

#define P11_ENTRY(need, name, params, ...) \
	CK_RV wk_##name params \
	{ \
		p11_call c; \
		CK_RV enter_rv = p11_enter(P11_NEED_##need, \
		    (CK_ULONG)P11_KEY_##need, &c); \
		if (enter_rv != CKR_OK) \
			return enter_rv; \
		return p11_leave(__VA_ARGS__); \
	}

/*
 * An entry point takes the arguments PKCS#11 gives it, used or not: the
 * files of entry points turn the unused-parameter warning off (only they)
 */
#define P11_ENTRY_FILE \
	_Pragma("GCC diagnostic ignored \"-Wunused-parameter\"")

/*
 * the entry points, declared from pkcs11.h's function types, so that each
 * definition is checked against the standard's prototype
 */
#define P11_DECLARE(name, type) \
	extern __typeof__(*(CK_##type)0) wk_##name

P11_DECLARE(C_Initialize, C_Initialize);
P11_DECLARE(C_Finalize, C_Finalize);
P11_DECLARE(C_WaitForSlotEvent, C_WaitForSlotEvent);
P11_DECLARE(C_GetInfo, C_GetInfo);
P11_DECLARE(C_GetSlotList, C_GetSlotList);
P11_DECLARE(C_GetSlotInfo, C_GetSlotInfo);
P11_DECLARE(C_GetTokenInfo, C_GetTokenInfo);
P11_DECLARE(C_GetMechanismList, C_GetMechanismList);
P11_DECLARE(C_GetMechanismInfo, C_GetMechanismInfo);
P11_DECLARE(C_InitToken, C_InitToken);
P11_DECLARE(C_InitPIN, C_InitPIN);
P11_DECLARE(C_SetPIN, C_SetPIN);
P11_DECLARE(C_OpenSession, C_OpenSession);
P11_DECLARE(C_CloseSession, C_CloseSession);
P11_DECLARE(C_CloseAllSessions, C_CloseAllSessions);
P11_DECLARE(C_GetSessionInfo, C_GetSessionInfo);
P11_DECLARE(C_GetOperationState, C_GetOperationState);
P11_DECLARE(C_SetOperationState, C_SetOperationState);
P11_DECLARE(C_Login, C_Login);
P11_DECLARE(C_LoginUser, C_LoginUser);
P11_DECLARE(C_Logout, C_Logout);
P11_DECLARE(C_CreateObject, C_CreateObject);
P11_DECLARE(C_CopyObject, C_CopyObject);
P11_DECLARE(C_DestroyObject, C_DestroyObject);
P11_DECLARE(C_GetObjectSize, C_GetObjectSize);
P11_DECLARE(C_GetAttributeValue, C_GetAttributeValue);
P11_DECLARE(C_SetAttributeValue, C_SetAttributeValue);
P11_DECLARE(C_FindObjectsInit, C_FindObjectsInit);
P11_DECLARE(C_FindObjects, C_FindObjects);
P11_DECLARE(C_FindObjectsFinal, C_FindObjectsFinal);
P11_DECLARE(C_EncryptInit, C_EncryptInit);
P11_DECLARE(C_Encrypt, C_Encrypt);
P11_DECLARE(C_EncryptUpdate, C_EncryptUpdate);
P11_DECLARE(C_EncryptFinal, C_EncryptFinal);
P11_DECLARE(C_DecryptInit, C_DecryptInit);
P11_DECLARE(C_Decrypt, C_Decrypt);
P11_DECLARE(C_DecryptUpdate, C_DecryptUpdate);
P11_DECLARE(C_DecryptFinal, C_DecryptFinal);
P11_DECLARE(C_DigestInit, C_DigestInit);
P11_DECLARE(C_Digest, C_Digest);
P11_DECLARE(C_DigestUpdate, C_DigestUpdate);
P11_DECLARE(C_DigestKey, C_DigestKey);
P11_DECLARE(C_DigestFinal, C_DigestFinal);
P11_DECLARE(C_SignInit, C_SignInit);
P11_DECLARE(C_Sign, C_Sign);
P11_DECLARE(C_SignUpdate, C_SignUpdate);
P11_DECLARE(C_SignFinal, C_SignFinal);
P11_DECLARE(C_SignRecoverInit, C_SignRecoverInit);
P11_DECLARE(C_SignRecover, C_SignRecover);
P11_DECLARE(C_VerifyInit, C_VerifyInit);
P11_DECLARE(C_Verify, C_Verify);
P11_DECLARE(C_VerifyUpdate, C_VerifyUpdate);
P11_DECLARE(C_VerifyFinal, C_VerifyFinal);
P11_DECLARE(C_VerifyRecoverInit, C_VerifyRecoverInit);
P11_DECLARE(C_VerifyRecover, C_VerifyRecover);
P11_DECLARE(C_DigestEncryptUpdate, C_DigestEncryptUpdate);
P11_DECLARE(C_DecryptDigestUpdate, C_DecryptDigestUpdate);
P11_DECLARE(C_SignEncryptUpdate, C_SignEncryptUpdate);
P11_DECLARE(C_DecryptVerifyUpdate, C_DecryptVerifyUpdate);
P11_DECLARE(C_GenerateKey, C_GenerateKey);
P11_DECLARE(C_GenerateKeyPair, C_GenerateKeyPair);
P11_DECLARE(C_WrapKey, C_WrapKey);
P11_DECLARE(C_UnwrapKey, C_UnwrapKey);
P11_DECLARE(C_DeriveKey, C_DeriveKey);
P11_DECLARE(C_SeedRandom, C_SeedRandom);
P11_DECLARE(C_GenerateRandom, C_GenerateRandom);
P11_DECLARE(C_GetFunctionStatus, C_GetFunctionStatus);
P11_DECLARE(C_CancelFunction, C_CancelFunction);
P11_DECLARE(C_SessionCancel, C_SessionCancel);
P11_DECLARE(C_MessageInit, C_MessageEncryptInit);
P11_DECLARE(C_MessageCrypt, C_EncryptMessage);
P11_DECLARE(C_MessageBegin, C_EncryptMessageBegin);
P11_DECLARE(C_MessageNext, C_EncryptMessageNext);
P11_DECLARE(C_MessageFinal, C_MessageEncryptFinal);
P11_DECLARE(C_SignMessage, C_SignMessage);
P11_DECLARE(C_SignMessageBegin, C_SignMessageBegin);
P11_DECLARE(C_VerifyMessage, C_VerifyMessage);

#endif
