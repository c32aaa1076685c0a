/*
 * walletkey-pkcs11: the entry points, the function lists and the 3.0
 * interfaces. Each entry point checks the module state, takes the module
 * lock, checks its arguments and hands the work to the file for it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "p11_internal.h"

#define EXPORT __attribute__((visibility("default")))

static pthread_mutex_t init_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static volatile bool initialized;
static volatile unsigned finalize_gen;
static pid_t init_pid;

static void
atfork_prepare(void)
{
	if (initialized)
		p11_lock();
}

static void
atfork_parent(void)
{
	if (initialized)
		p11_unlock();
}

static void
atfork_child(void)
{
	/* the child starts over with C_Initialize (2.40 base 6.7.7) */
	if (initialized)
		p11_unlock();
}

static void
atfork_register(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static CK_RV
enter(void)
{
	if (!initialized || init_pid != getpid())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	p11_lock();
	if (!initialized) {
		p11_unlock();
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	return CKR_OK;
}

static CK_RV
leave(CK_RV rv)
{
	p11_unlock();
	return rv;
}

/* enter and find the session: on failure the lock is already released */
static CK_RV
enter_session(CK_SESSION_HANDLE h, p11_session **s, p11_slot **slot)
{
	CK_RV rv = enter();

	if (rv != CKR_OK)
		return rv;
	rv = p11_session_get(h, s, slot);
	if (rv != CKR_OK)
		p11_unlock();
	return rv;
}

/* ---- general purpose ---- */

static CK_RV
wk_C_Initialize(CK_VOID_PTR init_args)
{
	CK_RV rv;

	pthread_mutex_lock(&init_mutex);
	if (initialized && init_pid == getpid()) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	if (initialized) {
		/* a child of the process that initialised: drop its state */
		p11_sessions_fini();
		p11_slots_fini(true);
		initialized = false;
	}
	if (sodium_init() < 0) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	(void)pthread_once(&atfork_once, atfork_register);
	rv = p11_lock_setup(init_args);
	if (rv != CKR_OK)
		goto out;
	p11_lock();
	rv = p11_slots_init();
	p11_unlock();
	if (rv != CKR_OK) {
		p11_lock_teardown();
		goto out;
	}
	init_pid = getpid();
	initialized = true;
out:
	pthread_mutex_unlock(&init_mutex);
	return rv;
}

static CK_RV
wk_C_Finalize(CK_VOID_PTR reserved)
{
	CK_RV rv = CKR_OK;

	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&init_mutex);
	if (!initialized || init_pid != getpid()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	p11_lock();
	initialized = false;
	finalize_gen++;
	p11_sessions_fini();
	p11_slots_fini(false);
	p11_unlock();
	p11_lock_teardown();
out:
	pthread_mutex_unlock(&init_mutex);
	return rv;
}

static CK_RV
wk_C_GetInfo(CK_INFO_PTR info)
{
	CK_RV rv = enter();

	if (rv != CKR_OK)
		return rv;
	if (info == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = 2;
	info->cryptokiVersion.minor = 40;
	p11_pad(info->manufacturerID, sizeof(info->manufacturerID),
	    P11_MANUFACTURER);
	p11_pad(info->libraryDescription, sizeof(info->libraryDescription),
	    "walletkey PIV PKCS#11 module");
	info->libraryVersion.major = P11_LIB_MAJOR;
	info->libraryVersion.minor = P11_LIB_MINOR;
	return leave(CKR_OK);
}

/* ---- slots and tokens ---- */

static CK_RV
wk_C_GetSlotList(CK_BBOOL token_present, CK_SLOT_ID_PTR list,
    CK_ULONG_PTR count)
{
	CK_ULONG n = 0, i;
	CK_RV rv = enter();

	if (rv != CKR_OK)
		return rv;
	if (count == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	/* 2.40 base 5.5: the list is rebuilt on the sizing call */
	if (list == NULL)
		(void)p11_slots_refresh();
	for (i = 0; i < P11_MAX_SLOTS; i++) {
		p11_slot *s = &p11_slots[i];
		if (!s->used || !s->reader_present || (token_present && !s->token))
			continue;
		if (list != NULL && n < *count)
			list[n] = i;
		n++;
	}
	if (list != NULL && n > *count) {
		*count = n;
		return leave(CKR_BUFFER_TOO_SMALL);
	}
	*count = n;
	return leave(CKR_OK);
}

static CK_RV
wk_C_GetSlotInfo(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
	p11_slot *slot;
	CK_RV rv = enter();

	if (rv != CKR_OK)
		return rv;
	if (info == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	/* NSS polls this for insertion and removal */
	(void)p11_slots_refresh();
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return leave(rv);
	memset(info, 0, sizeof(*info));
	p11_pad(info->slotDescription, sizeof(info->slotDescription),
	    slot->reader);
	p11_pad(info->manufacturerID, sizeof(info->manufacturerID), "PC/SC");
	info->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
	if (slot->token)
		info->flags |= CKF_TOKEN_PRESENT;
	return leave(CKR_OK);
}

static CK_RV
wk_C_GetTokenInfo(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
	p11_slot *slot;
	CK_RV rv = enter();

	if (rv != CKR_OK)
		return rv;
	if (info == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return leave(rv);
	if (!slot->token)
		(void)p11_slots_refresh();
	if (!slot->token)
		return leave(CKR_TOKEN_NOT_PRESENT);
	rv = p11_token_pin_info(slot);
	if (rv == CKR_DEVICE_REMOVED)
		return leave(CKR_TOKEN_NOT_PRESENT);
	memset(info, 0, sizeof(*info));
	p11_pad(info->label, sizeof(info->label), slot->label);
	p11_pad(info->manufacturerID, sizeof(info->manufacturerID),
	    slot->walletkey ? P11_MANUFACTURER : "PIV");
	p11_pad(info->model, sizeof(info->model), slot->model);
	p11_pad(info->serialNumber, sizeof(info->serialNumber), slot->serial);
	info->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
	    CKF_TOKEN_INITIALIZED;
	if (slot->pin_tries == 0)
		info->flags |= CKF_USER_PIN_LOCKED;
	else if (slot->pin_tries == 1)
		info->flags |= CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_COUNT_LOW;
	else if (slot->pin_tries > 0 && slot->pin_tries < slot->pin_max)
		info->flags |= CKF_USER_PIN_COUNT_LOW;
	/* the SO's secret as a PIN is the PUK (its counter; 9B has none) */
	if (slot->puk_tries == 0)
		info->flags |= CKF_SO_PIN_LOCKED;
	else if (slot->puk_tries == 1)
		info->flags |= CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_COUNT_LOW;
	else if (slot->puk_tries > 0 && slot->puk_tries < slot->puk_max)
		info->flags |= CKF_SO_PIN_COUNT_LOW;
	info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulSessionCount = p11_slot_session_count(id, false);
	info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulRwSessionCount = p11_slot_session_count(id, true);
	info->ulMaxPinLen = P11_PIN_MAX;
	info->ulMinPinLen = P11_PIN_MIN;
	info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->hardwareVersion.major = slot->version[0];
	info->hardwareVersion.minor = slot->version[1];
	info->firmwareVersion.major = slot->version[0];
	info->firmwareVersion.minor = slot->version[1];
	p11_pad(info->utcTime, sizeof(info->utcTime), "");
	return leave(CKR_OK);
}

static CK_RV
wk_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
	struct timespec ts = { 0, 150 * 1000 * 1000 };
	unsigned gen = finalize_gen;
	CK_SLOT_ID id;
	CK_RV rv;

	if ((rv = enter()) != CKR_OK)
		return rv;
	if (slot == NULL || reserved != NULL)
		return leave(CKR_ARGUMENTS_BAD);
	p11_unlock();
	for (;;) {
		if (!initialized || gen != finalize_gen)
			return CKR_CRYPTOKI_NOT_INITIALIZED;
		if ((rv = enter()) != CKR_OK)
			return rv;
		if (gen != finalize_gen)
			return leave(CKR_CRYPTOKI_NOT_INITIALIZED);
		(void)p11_slots_refresh();
		rv = p11_slots_event(&id);
		p11_unlock();
		if (rv == CKR_OK) {
			*slot = id;
			return CKR_OK;
		}
		if (flags & CKF_DONT_BLOCK)
			return CKR_NO_EVENT;
		nanosleep(&ts, NULL);
	}
}

static CK_RV
wk_C_GetMechanismList(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list,
    CK_ULONG_PTR count)
{
	const p11_mech *m;
	p11_slot *slot;
	size_t n;
	CK_RV rv = enter();

	if (rv != CKR_OK)
		return rv;
	if (count == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return leave(rv);
	m = p11_mech_list(&n);
	if (list == NULL) {
		*count = (CK_ULONG)n;
		return leave(CKR_OK);
	}
	if (*count < n) {
		*count = (CK_ULONG)n;
		return leave(CKR_BUFFER_TOO_SMALL);
	}
	for (size_t i = 0; i < n; i++)
		list[i] = m[i].type;
	*count = (CK_ULONG)n;
	return leave(CKR_OK);
}

static CK_RV
wk_C_GetMechanismInfo(CK_SLOT_ID id, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR info)
{
	const p11_mech *m;
	p11_slot *slot;
	CK_RV rv = enter();

	if (rv != CKR_OK)
		return rv;
	if (info == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return leave(rv);
	if ((m = p11_mech_find(type)) == NULL)
		return leave(CKR_MECHANISM_INVALID);
	info->ulMinKeySize = m->min_bits;
	info->ulMaxKeySize = m->max_bits;
	info->flags = m->flags;
	return leave(CKR_OK);
}

static CK_RV
wk_C_InitToken(CK_SLOT_ID id, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len,
    CK_UTF8CHAR_PTR label)
{
	p11_slot *slot;
	CK_RV rv = enter();

	(void)pin_len;
	if (rv != CKR_OK)
		return rv;
	if ((rv = p11_token_get(id, &slot)) != CKR_OK)
		return leave(rv);
	if (pin == NULL || label == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	if (p11_slot_session_count(id, false) > 0)
		return leave(CKR_SESSION_EXISTS);
	/* a PIV card is reset only with PIN and PUK blocked (Yubico FB) */
	return leave(CKR_FUNCTION_NOT_SUPPORTED);
}

/* PIN as (ptr, len): 6..8 bytes (SP 800-73-4 part 2, 3.2.1) */
static CK_RV
pin_check(const CK_UTF8CHAR *pin, CK_ULONG len)
{
	if (pin == NULL)
		return CKR_ARGUMENTS_BAD;
	if (len < P11_PIN_MIN || len > P11_PIN_MAX)
		return CKR_PIN_LEN_RANGE;
	return CKR_OK;
}

static CK_RV
pin_result(p11_slot *slot, int wk, unsigned tries)
{
	if (wk == WK_ERR_WRONG_PIN)
		slot->pin_tries = (int)tries;
	else if (wk == WK_ERR_PIN_BLOCKED)
		slot->pin_tries = 0;
	if (wk == WK_ERR_BAD_DATA)
		return CKR_PIN_INVALID;
	return p11_token_check(slot, wk);
}

static CK_RV
wk_C_InitPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	p11_session *s;
	p11_slot *slot;
	unsigned tries = 0;
	int wk;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (slot->login != CKU_SO)
		return leave(CKR_USER_NOT_LOGGED_IN);
	if ((rv = pin_check(pin, len)) != CKR_OK)
		return leave(rv);
	/* PIV sets a PIN only with the PUK: the SO must have logged in with it */
	if (!slot->so_puk)
		return leave(CKR_FUNCTION_NOT_SUPPORTED);
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		return leave(rv);
	wk = wk_piv_unblock_pin(slot->piv, slot->so_secret, slot->so_secret_len,
	    pin, len, &tries);
	p11_card_end(slot);
	if (wk == WK_OK)
		slot->pin_tries = slot->pin_max;
	return leave(wk == WK_OK ? CKR_OK : p11_token_check(slot, wk));
}

/* a management key as hex text (32/48/64 digits) or raw bytes (16/24/32) */
static bool
mgm_key_parse(const uint8_t *in, size_t len, uint8_t key[32], size_t *key_len)
{
	size_t bin_len = 0;

	if ((len == 32 || len == 48 || len == 64) &&
	    sodium_hex2bin(key, 32, (const char *)in, len, NULL, &bin_len,
	    NULL) == 0 && bin_len == len / 2) {
		*key_len = bin_len;
		return true;
	}
	if (len == 16 || len == 24 || len == 32) {
		memcpy(key, in, len);
		*key_len = len;
		return true;
	}
	return false;
}

static uint8_t
mgm_alg(p11_slot *slot, size_t key_len)
{
	wk_piv_metadata *md = malloc(sizeof(*md));
	uint8_t alg = key_len == 16 ? WK_PIV_ALG_AES128 : key_len == 32 ?
	    WK_PIV_ALG_AES256 : WK_PIV_ALG_3DES;

	if (md != NULL && key_len == 24 &&
	    wk_piv_get_metadata(slot->piv, WK_PIV_SLOT_MGMT, md) == WK_OK &&
	    wk_piv_mgmt_key_len(md->alg) == 24)
		alg = md->alg;
	free(md);
	return alg;
}

static CK_RV
set_so_secret(p11_slot *slot, const CK_UTF8CHAR *old_pin, CK_ULONG old_len,
    const CK_UTF8CHAR *new_pin, CK_ULONG new_len)
{
	uint8_t old_key[32], new_key[32];
	size_t old_key_len = 0, new_key_len = 0;
	unsigned tries = 0;
	int wk;
	CK_RV rv;

	if (slot->so_puk) {
		/* the SO knows the PUK: C_SetPIN changes the PUK */
		if (old_len > P11_PIN_MAX || new_len > P11_PIN_MAX || new_len < 6)
			return CKR_PIN_LEN_RANGE;
		if ((rv = p11_card_begin(slot)) != CKR_OK)
			return rv;
		wk = wk_piv_change_reference(slot->piv, WK_PIV_REF_PUK, old_pin,
		    old_len, new_pin, new_len, &tries);
		p11_card_end(slot);
		if (wk != WK_OK)
			return wk == WK_ERR_BAD_DATA ? CKR_PIN_INVALID :
			    p11_token_check(slot, wk);
		memcpy(slot->so_secret, new_pin, new_len);
		slot->so_secret_len = new_len;
		return CKR_OK;
	}
	rv = CKR_PIN_LEN_RANGE;
	if (!mgm_key_parse(old_pin, old_len, old_key, &old_key_len) ||
	    !mgm_key_parse(new_pin, new_len, new_key, &new_key_len))
		goto out;
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		goto out;
	wk = wk_piv_authenticate(slot->piv, 0, old_key, old_key_len, true);
	if (wk == WK_OK)
		wk = wk_piv_set_mgmt_key(slot->piv, mgm_alg(slot, new_key_len),
		    new_key, new_key_len, false);
	p11_card_end(slot);
	rv = wk == WK_OK ? CKR_OK : wk == WK_ERR_BAD_DATA ? CKR_PIN_INVALID :
	    p11_token_check(slot, wk);
out:
	sodium_memzero(old_key, sizeof(old_key));
	sodium_memzero(new_key, sizeof(new_key));
	return rv;
}

static CK_RV
wk_C_SetPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
    CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
	p11_session *s;
	p11_slot *slot;
	unsigned tries = 0;
	int wk;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (old_pin == NULL || new_pin == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	if (!p11_session_rw(s))
		return leave(CKR_SESSION_READ_ONLY);
	if (slot->login == CKU_SO)
		return leave(set_so_secret(slot, old_pin, old_len, new_pin,
		    new_len));
	if ((rv = pin_check(old_pin, old_len)) != CKR_OK ||
	    (rv = pin_check(new_pin, new_len)) != CKR_OK)
		return leave(rv);
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		return leave(rv);
	wk = wk_piv_change_reference(slot->piv, WK_PIV_REF_PIN, old_pin, old_len,
	    new_pin, new_len, &tries);
	p11_card_end(slot);
	if (wk == WK_OK) {
		slot->pin_tries = slot->pin_max;
		return leave(CKR_OK);
	}
	return leave(pin_result(slot, wk, tries));
}

/* ---- sessions ---- */

static CK_RV
wk_C_OpenSession(CK_SLOT_ID id, CK_FLAGS flags, CK_VOID_PTR app,
    CK_NOTIFY notify, CK_SESSION_HANDLE_PTR out)
{
	p11_slot *slot;
	CK_RV rv = enter();

	(void)app;
	(void)notify;
	if (rv != CKR_OK)
		return rv;
	if (out == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	if (!(flags & CKF_SERIAL_SESSION))
		return leave(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return leave(rv);
	if (!slot->token)
		(void)p11_slots_refresh();
	return leave(p11_session_open(id, flags, out));
}

static CK_RV
wk_C_CloseSession(CK_SESSION_HANDLE h)
{
	CK_RV rv = enter();

	if (rv != CKR_OK)
		return rv;
	return leave(p11_session_close(h));
}

static CK_RV
wk_C_CloseAllSessions(CK_SLOT_ID id)
{
	p11_slot *slot;
	CK_RV rv = enter();

	if (rv != CKR_OK)
		return rv;
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return leave(rv);
	p11_session_close_slot(id);
	return leave(CKR_OK);
}

static CK_RV
wk_C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (info == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	/* a cheap look at the card: has it gone since the last call? */
	if (p11_token_alive(slot) != CKR_OK && !slot->token) {
		(void)p11_session_close(h);
		return leave(CKR_DEVICE_REMOVED);
	}
	info->slotID = s->slot;
	info->state = p11_session_state(s, slot);
	info->flags = s->flags & (CKF_RW_SESSION | CKF_SERIAL_SESSION);
	info->ulDeviceError = 0;
	return leave(CKR_OK);
}

static CK_RV
wk_C_GetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR state,
    CK_ULONG_PTR len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (len == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	(void)state;
	/* 3.0 base 5.6.10: nothing to save without an operation */
	{
		bool any = false;
		for (size_t i = 0; i < P11_OP_COUNT; i++)
			any |= i != P11_OP_FIND && s->op[i].active;
		if (!any)
			return leave(CKR_OPERATION_NOT_INITIALIZED);
	}
	/* the card's state (PIN-always, chains) and OpenSSL's cannot be saved */
	return leave(CKR_STATE_UNSAVEABLE);
}

static CK_RV
wk_C_SetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR state, CK_ULONG len,
    CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	(void)enc_key;
	(void)auth_key;
	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (state == NULL || len == 0)
		return leave(CKR_ARGUMENTS_BAD);
	return leave(CKR_SAVED_STATE_INVALID);
}

static CK_RV
login_user(p11_session *s, p11_slot *slot, CK_USER_TYPE type,
    const CK_UTF8CHAR *pin, CK_ULONG len)
{
	unsigned tries = 0;
	bool ctx = type == CKU_CONTEXT_SPECIFIC;
	int wk;
	CK_RV rv;

	if (ctx) {
		if ((!s->op[P11_OP_SIGN].active ||
		    !s->op[P11_OP_SIGN].need_ctx_login) &&
		    (!s->op[P11_OP_DECRYPT].active ||
		    !s->op[P11_OP_DECRYPT].need_ctx_login))
			return s->op[P11_OP_SIGN].active ||
			    s->op[P11_OP_DECRYPT].active ? CKR_OK :
			    CKR_OPERATION_NOT_INITIALIZED;
	} else if (slot->login == CKU_USER)
		return CKR_USER_ALREADY_LOGGED_IN;
	else if (slot->login == CKU_SO)
		return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
	/* a GM key's context login is the GM application's user PIN */
	if (ctx && s->op[P11_OP_SIGN].active &&
	    s->op[P11_OP_SIGN].alg == P11_ALG_GM_SM2) {
		rv = p11_gm_login(slot, &s->op[P11_OP_SIGN], pin, len);
		if (rv != CKR_OK) {
			p11_op_end(&s->op[P11_OP_SIGN]);
			return rv;
		}
		s->op[P11_OP_SIGN].ctx_login_done = true;
		return CKR_OK;
	}
	/*
	 * a PIN of a length the card never takes is wrong without asking the
	 * card: it costs no try (SP 800-73-4 part 2, 3.2.1: 6..8 bytes)
	 */
	if ((rv = pin_check(pin, len)) == CKR_PIN_LEN_RANGE)
		rv = CKR_PIN_INCORRECT;
	if (rv == CKR_OK && (rv = p11_card_begin(slot)) == CKR_OK) {
		wk = wk_piv_verify_pin(slot->piv, pin, len, &tries);
		p11_card_end(slot);
		if (wk != WK_OK)
			rv = pin_result(slot, wk, tries);
	}
	if (rv != CKR_OK) {
		/*
		 * a failed context login ends the operation waiting for it,
		 * so that the caller can start over (libp11 does at once)
		 */
		if (ctx)
			for (int k = P11_OP_SIGN; k <= P11_OP_DECRYPT; k++)
				if (s->op[k].active && s->op[k].need_ctx_login)
					p11_op_end(&s->op[k]);
		return rv;
	}
	slot->pin_tries = slot->pin_max;
	if (ctx) {
		s->op[P11_OP_SIGN].ctx_login_done = true;
		s->op[P11_OP_DECRYPT].ctx_login_done = true;
		return CKR_OK;
	}
	slot->login = CKU_USER;
	(void)p11_token_load_private(slot);
	p11_token_find_protected_mgm(slot);
	return CKR_OK;
}

static CK_RV
login_so(p11_slot *slot, CK_SLOT_ID id, const CK_UTF8CHAR *pin, CK_ULONG len)
{
	uint8_t key[32];
	size_t key_len = 0;
	unsigned tries = 0;
	int wk;
	CK_RV rv;

	if (slot->login == CKU_SO)
		return CKR_USER_ALREADY_LOGGED_IN;
	if (slot->login == CKU_USER)
		return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
	if (p11_slot_has_ro_session(id))
		return CKR_SESSION_READ_ONLY_EXISTS;
	if (pin == NULL)
		return CKR_ARGUMENTS_BAD;
	if (len >= 6 && len <= P11_PIN_MAX) {
		/* the PUK, as OpenSC's PIV driver takes it: proven by changing it to itself */
		if ((rv = p11_card_begin(slot)) != CKR_OK)
			return rv;
		wk = wk_piv_change_reference(slot->piv, WK_PIV_REF_PUK, pin, len,
		    pin, len, &tries);
		p11_card_end(slot);
		if (wk != WK_OK)
			return p11_token_check(slot, wk);
		memcpy(slot->so_secret, pin, len);
		slot->so_secret_len = len;
		slot->so_puk = true;
		slot->login = CKU_SO;
		return CKR_OK;
	}
	if (!mgm_key_parse(pin, len, key, &key_len))
		return CKR_PIN_LEN_RANGE;
	rv = p11_card_begin(slot);
	if (rv == CKR_OK) {
		wk = wk_piv_authenticate(slot->piv, 0, key, key_len, true);
		p11_card_end(slot);
		rv = wk == WK_OK ? CKR_OK : p11_token_check(slot, wk);
	}
	sodium_memzero(key, sizeof(key));
	if (rv == CKR_OK) {
		slot->login = CKU_SO;
		slot->so_puk = false;
	}
	return rv;
}

static CK_RV
do_login(CK_SESSION_HANDLE h, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin,
    CK_ULONG len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	switch (type) {
	case CKU_USER:
	case CKU_CONTEXT_SPECIFIC:
		rv = login_user(s, slot, type, pin, len);
		break;
	case CKU_SO:
		rv = login_so(slot, s->slot, pin, len);
		break;
	default:
		rv = CKR_USER_TYPE_INVALID;
		break;
	}
	return leave(rv);
}

static CK_RV
wk_C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin,
    CK_ULONG len)
{
	return do_login(h, type, pin, len);
}

static CK_RV
wk_C_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin,
    CK_ULONG len, CK_UTF8CHAR_PTR user, CK_ULONG user_len)
{
	/* a PIV card has one user: a name, if given, is not looked at */
	if (user == NULL && user_len != 0)
		return initialized ? CKR_ARGUMENTS_BAD :
		    CKR_CRYPTOKI_NOT_INITIALIZED;
	return do_login(h, type, pin, len);
}

static CK_RV
wk_C_Logout(CK_SESSION_HANDLE h)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (slot->login == P11_NOBODY)
		return leave(CKR_USER_NOT_LOGGED_IN);
	if (p11_card_begin(slot) == CKR_OK) {
		(void)wk_piv_logout(slot->piv);
		p11_card_end(slot);
	}
	p11_token_drop_private(slot);
	slot->login = P11_NOBODY;
	slot->so_puk = false;
	slot->mgm_protected = false;
	sodium_memzero(slot->so_secret, sizeof(slot->so_secret));
	slot->so_secret_len = 0;
	return leave(CKR_OK);
}

/* ---- objects ---- */

static CK_RV
wk_C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
    CK_OBJECT_HANDLE_PTR out)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (tmpl == NULL || out == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	return leave(p11_create(s, slot, tmpl, count, out));
}

static CK_RV
wk_C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out)
{
	p11_session *s;
	p11_slot *slot;
	p11_object *o;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if ((tmpl == NULL && count > 0) || out == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	if ((rv = p11_object_get(s, slot, obj, &o)) != CKR_OK)
		return leave(rv);
	/* the card's objects have CKA_COPYABLE false; session objects copy */
	if (!o->soft || !p11_attr_true(o, CKA_COPYABLE))
		return leave(CKR_ACTION_PROHIBITED);
	{
		p11_object *c = NULL;
		bool priv = o->private_obj, found;
		if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
			return leave(rv);
		if ((rv = p11_tmpl_bool(tmpl, count, CKA_PRIVATE, &priv,
		    &found)) != CKR_OK)
			return leave(rv);
		if (priv && slot->login != CKU_USER)
			return leave(CKR_USER_NOT_LOGGED_IN);
		if ((rv = p11_object_copy(o, &c)) != CKR_OK)
			return leave(rv);
		rv = p11_object_set_attrs(c, tmpl, count, slot->login == CKU_SO,
		    true);
		if (rv != CKR_OK) {
			p11_object_free(&c);
			return leave(rv);
		}
		c->session = s->handle;
		p11_object_append(&slot->objects, c);
		*out = c->handle;
	}
	return leave(CKR_OK);
}

static CK_RV
wk_C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_destroy(s, slot, obj));
}

static CK_RV
wk_C_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ULONG_PTR size)
{
	p11_session *s;
	p11_slot *slot;
	p11_object *o;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (size == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	if ((rv = p11_object_get(s, slot, obj, &o)) != CKR_OK)
		return leave(rv);
	for (size_t i = 0; i < o->n_attrs; i++)
		n += o->attrs[i].ulValueLen;
	*size = n;
	return leave(CKR_OK);
}

static CK_RV
wk_C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	p11_session *s;
	p11_slot *slot;
	p11_object *o;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (tmpl == NULL && count > 0)
		return leave(CKR_ARGUMENTS_BAD);
	if ((rv = p11_object_get(s, slot, obj, &o)) != CKR_OK)
		return leave(rv);
	return leave(p11_object_get_attrs(o, tmpl, count));
}

static CK_RV
wk_C_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	p11_session *s;
	p11_slot *slot;
	p11_object *o;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (tmpl == NULL && count > 0)
		return leave(CKR_ARGUMENTS_BAD);
	if ((rv = p11_object_get(s, slot, obj, &o)) != CKR_OK)
		return leave(rv);
	if ((rv = p11_tmpl_check(tmpl, count)) != CKR_OK)
		return leave(rv);
	/* a PIV card stores no attributes: its objects are not modifiable */
	if (!o->soft)
		return leave(CKR_ACTION_PROHIBITED);
	return leave(p11_object_set_attrs(o, tmpl, count, slot->login == CKU_SO,
	    false));
}

static CK_RV
wk_C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	p11_session *s;
	p11_slot *slot;
	p11_op *op;
	size_t n = 0, cap = 0;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (tmpl == NULL && count > 0)
		return leave(CKR_ARGUMENTS_BAD);
	op = &s->op[P11_OP_FIND];
	if (op->active)
		return leave(CKR_OPERATION_ACTIVE);
	if ((rv = p11_token_load(slot)) != CKR_OK)
		return leave(rv);
	for (p11_object *o = slot->objects; o != NULL; o = o->next)
		cap++;
	op->found = calloc(cap + 1, sizeof(*op->found));
	if (op->found == NULL)
		return leave(CKR_HOST_MEMORY);
	for (p11_object *o = slot->objects; o != NULL; o = o->next)
		if (p11_object_visible(s, slot, o) &&
		    p11_object_match(o, tmpl, count))
			op->found[n++] = o->handle;
	op->n_found = n;
	op->pos = 0;
	op->active = true;
	return leave(CKR_OK);
}

static CK_RV
wk_C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
    CK_ULONG_PTR count)
{
	p11_session *s;
	p11_slot *slot;
	p11_op *op;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (out == NULL || count == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	op = &s->op[P11_OP_FIND];
	if (!op->active)
		return leave(CKR_OPERATION_NOT_INITIALIZED);
	while (n < max && op->pos < op->n_found) {
		/* skip objects destroyed since C_FindObjectsInit */
		CK_OBJECT_HANDLE oh = op->found[op->pos++];
		if (p11_token_find(slot, oh) != NULL)
			out[n++] = oh;
	}
	*count = n;
	return leave(CKR_OK);
}

static CK_RV
wk_C_FindObjectsFinal(CK_SESSION_HANDLE h)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (!s->op[P11_OP_FIND].active)
		return leave(CKR_OPERATION_NOT_INITIALIZED);
	p11_op_end(&s->op[P11_OP_FIND]);
	return leave(CKR_OK);
}

/* ---- cryptographic functions ---- */

static CK_RV
op_init(CK_SESSION_HANDLE h, enum p11_op_kind kind, CK_MECHANISM_PTR mech,
    CK_OBJECT_HANDLE key)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (mech == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	return leave(p11_op_init(s, slot, kind, mech, key));
}

static CK_RV
wk_C_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, P11_OP_ENCRYPT, m, k);
}

static CK_RV
wk_C_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_encrypt(s, in, in_len, out, out_len));
}

static CK_RV
crypt_part(CK_SESSION_HANDLE h, enum p11_op_kind kind, CK_BYTE_PTR in,
    CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len, bool final)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_crypt_part(s, kind, in, in_len, out, out_len,
	    final));
}

static CK_RV
wk_C_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return crypt_part(h, P11_OP_ENCRYPT, in, in_len, out, out_len, false);
}

static CK_RV
wk_C_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return crypt_part(h, P11_OP_ENCRYPT, NULL, 0, out, out_len, true);
}

static CK_RV
wk_C_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, P11_OP_DECRYPT, m, k);
}

static CK_RV
wk_C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_decrypt(s, slot, in, in_len, out, out_len));
}

static CK_RV
wk_C_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return crypt_part(h, P11_OP_DECRYPT, in, in_len, out, out_len, false);
}

static CK_RV
wk_C_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return crypt_part(h, P11_OP_DECRYPT, NULL, 0, out, out_len, true);
}

static CK_RV
wk_C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{
	return op_init(h, P11_OP_DIGEST, m, CK_INVALID_HANDLE);
}

static CK_RV
wk_C_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_digest(s, in, in_len, out, out_len, false));
}

static CK_RV
wk_C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_update(s, P11_OP_DIGEST, in, in_len));
}

static CK_RV
wk_C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
	p11_session *s;
	p11_slot *slot;
	p11_object *o;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (!s->op[P11_OP_DIGEST].active)
		return leave(CKR_OPERATION_NOT_INITIALIZED);
	if ((rv = p11_object_get(s, slot, key, &o)) != CKR_OK)
		return leave(CKR_KEY_HANDLE_INVALID);
	/* keys on a PIV card never leave it */
	return leave(CKR_KEY_INDIGESTIBLE);
}

static CK_RV
wk_C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_digest(s, NULL, 0, out, out_len, true));
}

static CK_RV
wk_C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, P11_OP_SIGN, m, k);
}

static CK_RV
wk_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
    CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_sign(s, slot, in, in_len, sig, sig_len, false));
}

static CK_RV
wk_C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_update(s, P11_OP_SIGN, in, in_len));
}

static CK_RV
wk_C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_sign(s, slot, NULL, 0, sig, sig_len, true));
}

static CK_RV
no_recover_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (m == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	/* no mechanism here recovers data from a signature */
	return leave(CKR_MECHANISM_INVALID);
}

static CK_RV
no_recover(CK_SESSION_HANDLE h)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(CKR_OPERATION_NOT_INITIALIZED);
}

static CK_RV
wk_C_SignRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k)
{
	(void)k;
	return no_recover_init(h, m);
}

static CK_RV
wk_C_SignRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
    CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	(void)in;
	(void)in_len;
	(void)sig;
	(void)sig_len;
	return no_recover(h);
}

static CK_RV
wk_C_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, P11_OP_VERIFY, m, k);
}

static CK_RV
wk_C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
    CK_BYTE_PTR sig, CK_ULONG sig_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_verify(s, in, in_len, sig, sig_len, false));
}

static CK_RV
wk_C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_update(s, P11_OP_VERIFY, in, in_len));
}

static CK_RV
wk_C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(p11_op_verify(s, NULL, 0, sig, sig_len, true));
}

static CK_RV
wk_C_VerifyRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k)
{
	(void)k;
	return no_recover_init(h, m);
}

static CK_RV
wk_C_VerifyRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len,
    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	(void)sig;
	(void)sig_len;
	(void)out;
	(void)out_len;
	return no_recover(h);
}

/*
 * dual-function updates: the two multi-part operations in the order 3.0
 * base 5.13 gives; a size query (out NULL) feeds neither
 */
static CK_RV
dual(CK_SESSION_HANDLE h, enum p11_op_kind first, enum p11_op_kind crypt,
    CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	p11_session *s;
	p11_slot *slot;
	bool decrypting = crypt == P11_OP_DECRYPT;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (out_len == NULL || (in == NULL && in_len > 0))
		return leave(CKR_ARGUMENTS_BAD);
	if (!s->op[first].active || !s->op[crypt].active)
		return leave(CKR_OPERATION_NOT_INITIALIZED);
	if (!decrypting && out != NULL) {
		rv = p11_op_update(s, first, in, in_len);
		if (rv != CKR_OK)
			return leave(rv);
	}
	rv = p11_op_crypt_part(s, crypt, in, in_len, out, out_len, false);
	if (rv == CKR_OK && decrypting && out != NULL)
		rv = p11_op_update(s, first, out, *out_len);
	return leave(rv);
}

static CK_RV
wk_C_DigestEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR a, CK_ULONG b,
    CK_BYTE_PTR c, CK_ULONG_PTR d)
{
	return dual(h, P11_OP_DIGEST, P11_OP_ENCRYPT, a, b, c, d);
}

static CK_RV
wk_C_DecryptDigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR a, CK_ULONG b,
    CK_BYTE_PTR c, CK_ULONG_PTR d)
{
	return dual(h, P11_OP_DIGEST, P11_OP_DECRYPT, a, b, c, d);
}

static CK_RV
wk_C_SignEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR a, CK_ULONG b,
    CK_BYTE_PTR c, CK_ULONG_PTR d)
{
	return dual(h, P11_OP_SIGN, P11_OP_ENCRYPT, a, b, c, d);
}

static CK_RV
wk_C_DecryptVerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR a, CK_ULONG b,
    CK_BYTE_PTR c, CK_ULONG_PTR d)
{
	return dual(h, P11_OP_VERIFY, P11_OP_DECRYPT, a, b, c, d);
}

static CK_RV
wk_C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (m == NULL || out == NULL || (tmpl == NULL && count > 0))
		return leave(CKR_ARGUMENTS_BAD);
	/* secret keys are session keys: a PIV card holds none but 9B */
	return leave(p11_genkey(s, slot, m, tmpl, count, out));
}

static CK_RV
wk_C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR pub_t, CK_ULONG pub_n, CK_ATTRIBUTE_PTR priv_t,
    CK_ULONG priv_n, CK_OBJECT_HANDLE_PTR pub_h, CK_OBJECT_HANDLE_PTR priv_h)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if ((pub_t == NULL && pub_n > 0) || (priv_t == NULL && priv_n > 0))
		return leave(CKR_ARGUMENTS_BAD);
	return leave(p11_keygen(s, slot, m, pub_t, pub_n, priv_t, priv_n, pub_h,
	    priv_h));
}

static CK_RV
wk_C_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wk,
    CK_OBJECT_HANDLE k, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (m == NULL || out_len == NULL)
		return leave(CKR_ARGUMENTS_BAD);
	return leave(p11_wrap(s, slot, m, wk, k, out, out_len));
}

static CK_RV
wk_C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE uk,
    CK_BYTE_PTR in, CK_ULONG in_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count,
    CK_OBJECT_HANDLE_PTR out)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (m == NULL || in == NULL || out == NULL || (tmpl == NULL && count > 0))
		return leave(CKR_ARGUMENTS_BAD);
	return leave(p11_unwrap(s, slot, m, uk, in, in_len, tmpl, count, out));
}

static CK_RV
wk_C_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base,
    CK_ATTRIBUTE_PTR tmpl, CK_ULONG count, CK_OBJECT_HANDLE_PTR out)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (tmpl == NULL && count > 0)
		return leave(CKR_ARGUMENTS_BAD);
	return leave(p11_derive(s, slot, m, base, tmpl, count, out));
}

static CK_RV
wk_C_SeedRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR seed, CK_ULONG len)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (seed == NULL && len > 0)
		return leave(CKR_ARGUMENTS_BAD);
	return leave(CKR_RANDOM_SEED_NOT_SUPPORTED);
}

static CK_RV
wk_C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len)
{
	p11_session *s;
	p11_slot *slot;
	int wk;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	if (out == NULL && len > 0)
		return leave(CKR_ARGUMENTS_BAD);
	if (len == 0)
		return leave(CKR_OK);
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		return leave(rv);
	wk = wk_piv_get_challenge(slot->piv, out, len);
	p11_card_end(slot);
	return leave(wk == WK_OK ? CKR_OK : p11_token_check(slot, wk));
}

static CK_RV
wk_C_GetFunctionStatus(CK_SESSION_HANDLE h)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	return leave(CKR_FUNCTION_NOT_PARALLEL);
}

static CK_RV
wk_C_CancelFunction(CK_SESSION_HANDLE h)
{
	return wk_C_GetFunctionStatus(h);
}

/* ---- 3.0 ---- */

static CK_RV
wk_C_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
	static const struct {
		CK_FLAGS flag;
		enum p11_op_kind kind;
	} map[] = {
		{ CKF_SIGN, P11_OP_SIGN },
		{ CKF_VERIFY, P11_OP_VERIFY },
		{ CKF_ENCRYPT, P11_OP_ENCRYPT },
		{ CKF_DECRYPT, P11_OP_DECRYPT },
		{ CKF_DIGEST, P11_OP_DIGEST },
		{ 0x40UL /* CKF_FIND_OBJECTS */, P11_OP_FIND },
	};
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (flags & map[i].flag)
			p11_op_end(&s->op[map[i].kind]);
	return leave(CKR_OK);
}

static CK_RV
msg_unsupported(CK_SESSION_HANDLE h)
{
	p11_session *s;
	p11_slot *slot;
	CK_RV rv;

	if ((rv = enter_session(h, &s, &slot)) != CKR_OK)
		return rv;
	/* PKCS#11 3.0 message-based functions: nothing on a PIV card needs them */
	return leave(CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV
wk_C_MessageInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	(void)m;
	(void)k;
	return msg_unsupported(h);
}

static CK_RV
wk_C_MessageCrypt(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE_PTR a,
    CK_ULONG al, CK_BYTE_PTR in, CK_ULONG il, CK_BYTE_PTR out,
    CK_ULONG_PTR ol)
{
	(void)p;
	(void)pl;
	(void)a;
	(void)al;
	(void)in;
	(void)il;
	(void)out;
	(void)ol;
	return msg_unsupported(h);
}

static CK_RV
wk_C_MessageBegin(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE_PTR a,
    CK_ULONG al)
{
	(void)p;
	(void)pl;
	(void)a;
	(void)al;
	return msg_unsupported(h);
}

static CK_RV
wk_C_MessageNext(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE_PTR in,
    CK_ULONG il, CK_BYTE_PTR out, CK_ULONG_PTR ol, CK_FLAGS f)
{
	(void)p;
	(void)pl;
	(void)in;
	(void)il;
	(void)out;
	(void)ol;
	(void)f;
	return msg_unsupported(h);
}

static CK_RV
wk_C_MessageFinal(CK_SESSION_HANDLE h)
{
	return msg_unsupported(h);
}

static CK_RV
wk_C_SignMessage(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR sig, CK_ULONG_PTR sl)
{
	(void)p;
	(void)pl;
	(void)d;
	(void)dl;
	(void)sig;
	(void)sl;
	return msg_unsupported(h);
}

static CK_RV
wk_C_SignMessageBegin(CK_SESSION_HANDLE h, void *p, CK_ULONG pl)
{
	(void)p;
	(void)pl;
	return msg_unsupported(h);
}

static CK_RV
wk_C_VerifyMessage(CK_SESSION_HANDLE h, void *p, CK_ULONG pl, CK_BYTE_PTR d,
    CK_ULONG dl, CK_BYTE_PTR sig, CK_ULONG sl)
{
	(void)p;
	(void)pl;
	(void)d;
	(void)dl;
	(void)sig;
	(void)sl;
	return msg_unsupported(h);
}

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
