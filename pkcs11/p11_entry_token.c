/*
 * walletkey-pkcs11: the entry points of slots and tokens, PINs, sessions
 * and login. Each is one P11_ENTRY line (p11_entry.h: the lock and the
 * lookup), its work in the function above it.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "p11_entry.h"

P11_ENTRY_FILE

/* ---- slots and tokens ---- */

static CK_RV
get_slot_list(CK_BBOOL token_present, CK_SLOT_ID_PTR list,
    CK_ULONG_PTR count)
{
	CK_ULONG n = 0, i;

	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
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
		return CKR_BUFFER_TOO_SMALL;
	}
	*count = n;
	return CKR_OK;
}

P11_ENTRY(MODULE, C_GetSlotList, (CK_BBOOL token_present,
    CK_SLOT_ID_PTR list, CK_ULONG_PTR count),
    get_slot_list(token_present, list, count))

static CK_RV
get_slot_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
	p11_slot *slot;
	CK_RV rv;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	/* NSS polls this for insertion and removal */
	(void)p11_slots_refresh();
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return rv;
	memset(info, 0, sizeof(*info));
	p11_pad(info->slotDescription, sizeof(info->slotDescription),
	    slot->reader);
	p11_pad(info->manufacturerID, sizeof(info->manufacturerID), "PC/SC");
	info->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
	if (slot->token)
		info->flags |= CKF_TOKEN_PRESENT;
	return CKR_OK;
}

P11_ENTRY(MODULE, C_GetSlotInfo, (CK_SLOT_ID id, CK_SLOT_INFO_PTR info),
    get_slot_info(id, info))

static CK_RV
get_token_info(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
	p11_slot *slot;
	CK_RV rv;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return rv;
	if (!slot->token)
		(void)p11_slots_refresh();
	if (!slot->token)
		return CKR_TOKEN_NOT_PRESENT;
	rv = p11_token_pin_info(slot);
	if (rv == CKR_DEVICE_REMOVED)
		return CKR_TOKEN_NOT_PRESENT;
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
	else if ((slot->pin_tries > 0 && slot->pin_tries < slot->pin_max) ||
	    slot->pin_wrong)
		info->flags |= CKF_USER_PIN_COUNT_LOW;
	/* the SO's secret as a PIN is the PUK (its counter; 9B has none) */
	if (slot->puk_tries == 0)
		info->flags |= CKF_SO_PIN_LOCKED;
	else if (slot->puk_tries == 1)
		info->flags |= CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_COUNT_LOW;
	else if ((slot->puk_tries > 0 && slot->puk_tries < slot->puk_max) ||
	    slot->so_wrong)
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
	return CKR_OK;
}

P11_ENTRY(MODULE, C_GetTokenInfo, (CK_SLOT_ID id, CK_TOKEN_INFO_PTR info),
    get_token_info(id, info))

static CK_RV
get_mechanism_list(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list,
    CK_ULONG_PTR count)
{
	const p11_mech *m;
	p11_slot *slot;
	size_t n;
	CK_RV rv;

	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return rv;
	m = p11_mech_list(&n);
	if (list == NULL) {
		*count = (CK_ULONG)n;
		return CKR_OK;
	}
	if (*count < n) {
		*count = (CK_ULONG)n;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (size_t i = 0; i < n; i++)
		list[i] = m[i].type;
	*count = (CK_ULONG)n;
	return CKR_OK;
}

P11_ENTRY(MODULE, C_GetMechanismList, (CK_SLOT_ID id,
    CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count),
    get_mechanism_list(id, list, count))

static CK_RV
get_mechanism_info(CK_SLOT_ID id, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR info)
{
	const p11_mech *m;
	p11_slot *slot;
	CK_RV rv;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return rv;
	if ((m = p11_mech_find(type)) == NULL)
		return CKR_MECHANISM_INVALID;
	info->ulMinKeySize = m->min_bits;
	info->ulMaxKeySize = m->max_bits;
	info->flags = m->flags;
	return CKR_OK;
}

P11_ENTRY(MODULE, C_GetMechanismInfo, (CK_SLOT_ID id, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR info), get_mechanism_info(id, type, info))

/* ---- PINs ---- */

/* a PIV card is reset only with PIN and PUK blocked (Yubico FB) */
static CK_RV
init_token(CK_SLOT_ID id, CK_UTF8CHAR_PTR pin, CK_UTF8CHAR_PTR label)
{
	if (pin == NULL || label == NULL)
		return CKR_ARGUMENTS_BAD;
	if (p11_slot_session_count(id, false) > 0)
		return CKR_SESSION_EXISTS;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

P11_ENTRY(TOKEN, C_InitToken, (CK_SLOT_ID id, CK_UTF8CHAR_PTR pin,
    CK_ULONG pin_len, CK_UTF8CHAR_PTR label), init_token(id, pin, label))

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
init_pin(p11_session *s, p11_slot *slot,
    CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	unsigned tries = 0;
	int wk;
	CK_RV rv;

	if (slot->login != CKU_SO)
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = pin_check(pin, len)) != CKR_OK)
		return rv;
	/* PIV sets a PIN only with the PUK: the SO must have logged in with it */
	if (!slot->so_puk)
		return CKR_FUNCTION_NOT_SUPPORTED;
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_unblock_pin(slot->piv, slot->so_secret, slot->so_secret_len,
	    pin, len, &tries);
	p11_card_end(slot);
	if (wk == WK_OK) {
		slot->pin_tries = slot->pin_max;
		slot->pin_wrong = false;	/* a new PIN: nothing wrong entered yet */
	}
	return wk == WK_OK ? CKR_OK : p11_token_check(slot, wk);
}

P11_ENTRY(SESSION, C_InitPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin,
    CK_ULONG len), init_pin(c.s, c.slot, pin, len))

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
set_pin(p11_session *s, p11_slot *slot,
    CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
    CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
	unsigned tries = 0;
	int wk;
	CK_RV rv;

	if (old_pin == NULL || new_pin == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!p11_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (slot->login == CKU_SO)
		return set_so_secret(slot, old_pin, old_len, new_pin,
		    new_len);
	if ((rv = pin_check(old_pin, old_len)) != CKR_OK ||
	    (rv = pin_check(new_pin, new_len)) != CKR_OK)
		return rv;
	if ((rv = p11_card_begin(slot)) != CKR_OK)
		return rv;
	wk = wk_piv_change_reference(slot->piv, WK_PIV_REF_PIN, old_pin, old_len,
	    new_pin, new_len, &tries);
	p11_card_end(slot);
	if (wk == WK_OK) {
		slot->pin_tries = slot->pin_max;
		return CKR_OK;
	}
	return pin_result(slot, wk, tries);
}

P11_ENTRY(SESSION, C_SetPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR old_pin,
    CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len),
    set_pin(c.s, c.slot, old_pin, old_len, new_pin, new_len))

/* ---- sessions ---- */

static CK_RV
open_session(CK_SLOT_ID id, CK_FLAGS flags, CK_SESSION_HANDLE_PTR out)
{
	p11_slot *slot;
	CK_RV rv;

	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!(flags & CKF_SERIAL_SESSION))
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	if ((rv = p11_slot_get(id, &slot)) != CKR_OK)
		return rv;
	if (!slot->token)
		(void)p11_slots_refresh();
	return p11_session_open(id, flags, out);
}

P11_ENTRY(MODULE, C_OpenSession, (CK_SLOT_ID id, CK_FLAGS flags,
    CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR out),
    open_session(id, flags, out))

P11_ENTRY(MODULE, C_CloseSession, (CK_SESSION_HANDLE h),
    p11_session_close(h))

P11_ENTRY(SLOT, C_CloseAllSessions, (CK_SLOT_ID id),
    (p11_session_close_slot(id), CKR_OK))

static CK_RV
get_session_info(p11_session *s, p11_slot *slot,
    CK_SESSION_INFO_PTR info)
{
	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	/* a cheap look at the card: has it gone since the last call? */
	if (p11_token_alive(slot) != CKR_OK && !slot->token) {
		(void)p11_session_close(s->handle);
		return CKR_DEVICE_REMOVED;
	}
	info->slotID = s->slot;
	info->state = p11_session_state(s, slot);
	info->flags = s->flags & (CKF_RW_SESSION | CKF_SERIAL_SESSION);
	info->ulDeviceError = 0;
	return CKR_OK;
}

P11_ENTRY(SESSION, C_GetSessionInfo, (CK_SESSION_HANDLE h,
    CK_SESSION_INFO_PTR info), get_session_info(c.s, c.slot, info))

static CK_RV
get_operation_state(p11_session *s, p11_slot *slot,
    CK_BYTE_PTR state,
    CK_ULONG_PTR len)
{
	if (len == NULL)
		return CKR_ARGUMENTS_BAD;
	(void)state;
	/* 3.0 base 5.6.10: nothing to save without an operation */
	{
		bool any = false;
		for (size_t i = 0; i < P11_OP_COUNT; i++)
			any |= i != P11_OP_FIND && s->op[i].active;
		if (!any)
			return CKR_OPERATION_NOT_INITIALIZED;
	}
	/* the card's state (PIN-always, chains) and OpenSSL's cannot be saved */
	return CKR_STATE_UNSAVEABLE;
}

P11_ENTRY(SESSION, C_GetOperationState, (CK_SESSION_HANDLE h,
    CK_BYTE_PTR state, CK_ULONG_PTR len),
    get_operation_state(c.s, c.slot, state, len))

P11_ENTRY(SESSION, C_SetOperationState, (CK_SESSION_HANDLE h,
    CK_BYTE_PTR state, CK_ULONG len, CK_OBJECT_HANDLE enc_key,
    CK_OBJECT_HANDLE auth_key), state == NULL || len == 0 ?
    CKR_ARGUMENTS_BAD : CKR_SAVED_STATE_INVALID)

/* ---- login ---- */


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
	for (int k = P11_OP_SIGN; ctx && k <= P11_OP_DECRYPT; k++) {
		p11_op *op = &s->op[k];

		if (!op->active || !op->need_ctx_login || !p11_alg_is_gm(op->alg))
			continue;
		rv = p11_gm_login(slot, op, pin, len);
		if (rv != CKR_OK) {
			p11_op_end(op);
			return rv;
		}
		op->ctx_login_done = true;
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
	if (rv == CKR_PIN_INCORRECT)
		slot->pin_wrong = true;
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
	slot->pin_wrong = false;
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
login(p11_session *s, p11_slot *slot, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin,
    CK_ULONG len)
{
	CK_RV rv;

	switch (type) {
	case CKU_USER:
	case CKU_CONTEXT_SPECIFIC:
		rv = login_user(s, slot, type, pin, len);
		break;
	case CKU_SO:
		rv = login_so(slot, s->slot, pin, len);
		if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
			slot->so_wrong = true;
		else if (rv == CKR_OK)
			slot->so_wrong = false;
		break;
	default:
		rv = CKR_USER_TYPE_INVALID;
		break;
	}
	return rv;
}

P11_ENTRY(SESSION, C_Login, (CK_SESSION_HANDLE h, CK_USER_TYPE type,
    CK_UTF8CHAR_PTR pin, CK_ULONG len), login(c.s, c.slot, type, pin, len))

CK_RV
wk_C_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin,
    CK_ULONG len, CK_UTF8CHAR_PTR user, CK_ULONG user_len)
{
	/* a PIV card has one user: a name, if given, is not looked at */
	if (user == NULL && user_len != 0)
		return p11_module_initialized() ? CKR_ARGUMENTS_BAD :
		    CKR_CRYPTOKI_NOT_INITIALIZED;
	return wk_C_Login(h, type, pin, len);
}

static CK_RV
logout(p11_session *s, p11_slot *slot)
{
	if (slot->login == P11_NOBODY)
		return CKR_USER_NOT_LOGGED_IN;
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
	return CKR_OK;
}

P11_ENTRY(SESSION, C_Logout, (CK_SESSION_HANDLE h), logout(c.s, c.slot))
