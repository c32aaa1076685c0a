/*
 * GM/T 0016 7.1 device management and 7.2 device access control. A device
 * is a PC/SC reader holding a walletkey card; its name is the reader's.
 */
#include "skf_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define SKF_READERS_MAX 16

typedef struct skf_devname {
	char name[128];
} skf_devname;

static atomic_bool skf_cancel_wait;

/* the readers that count as devices: present walletkey cards (or, with
 * present false, every reader) */
static int
skf_devices(bool present, skf_devname *out, size_t cap, size_t *n)
{
	wk_ctx *ctx = NULL;
	wk_reader_info *r = NULL;
	size_t nr = 0;
	int rc;

	*n = 0;
	if ((rc = wk_ctx_new(&ctx)) != WK_OK)
		return rc;
	rc = wk_list_readers(ctx, &r, &nr);
	if (rc == WK_ERR_NO_READER) {
		rc = WK_OK;
		nr = 0;
	}
	for (size_t i = 0; rc == WK_OK && i < nr && *n < cap; i++) {
		if (present && !(r[i].card_present && r[i].walletkey))
			continue;
		snprintf(out[*n].name, sizeof(out[*n].name), "%s", r[i].name);
		(*n)++;
	}
	free(r);
	wk_ctx_free(&ctx);
	return rc;
}

ULONG DEVAPI
SKF_EnumDev(BOOL bPresent, LPSTR szNameList, ULONG *pulSize)
{
	skf_devname names[SKF_READERS_MAX];
	size_t n;
	int rc;
	ULONG r;

	if (pulSize == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	rc = skf_devices(bPresent != FALSE, names, SKF_READERS_MAX, &n);
	if (rc == WK_OK) {
		const char *p[SKF_READERS_MAX];

		for (size_t i = 0; i < n; i++)
			p[i] = names[i].name;
		r = skf_list_out(szNameList, pulSize, p, n);
	} else {
		r = skf_sar(NULL, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_GetDevState(LPSTR szDevName, ULONG *pulDevState)
{
	skf_devname names[SKF_READERS_MAX];
	size_t n;
	int rc;

	if (szDevName == NULL || pulDevState == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	rc = skf_devices(true, names, SKF_READERS_MAX, &n);
	skf_unlock();
	if (rc != WK_OK) {
		*pulDevState = DEV_UNKNOW_STATE;
		return SAR_OK;
	}
	*pulDevState = DEV_ABSENT_STATE;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i].name, szDevName) == 0)
			*pulDevState = DEV_PRESENT_STATE;
	return SAR_OK;
}

static bool
skf_in(const skf_devname *set, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(set[i].name, name) == 0)
			return true;
	return false;
}

/* polls the present devices (pcscd itself polls readers every 400 ms) */
ULONG DEVAPI
SKF_WaitForDevEvent(LPSTR szDevName, ULONG *pulDevNameLen, ULONG *pulEvent)
{
	static const struct timespec pause = { 0, 200 * 1000 * 1000 };
	skf_devname before[SKF_READERS_MAX], now[SKF_READERS_MAX];
	size_t nb = 0, nn = 0;
	const char *name = NULL;
	ULONG ev = 0, have;

	if (szDevName == NULL || pulDevNameLen == NULL || pulEvent == NULL)
		return SAR_INVALIDPARAMERR;
	atomic_store(&skf_cancel_wait, false);
	skf_lock();
	(void)skf_devices(true, before, SKF_READERS_MAX, &nb);
	skf_unlock();
	while (name == NULL) {
		if (atomic_load(&skf_cancel_wait))
			return SAR_NOT_EVENTERR;
		nanosleep(&pause, NULL);
		skf_lock();
		if (skf_devices(true, now, SKF_READERS_MAX, &nn) != WK_OK)
			nn = 0;
		skf_unlock();
		for (size_t i = 0; i < nn && name == NULL; i++)
			if (!skf_in(before, nb, now[i].name)) {
				name = now[i].name;
				ev = DEV_EVENT_INSERTED;
			}
		for (size_t i = 0; i < nb && name == NULL; i++)
			if (!skf_in(now, nn, before[i].name)) {
				name = before[i].name;
				ev = DEV_EVENT_REMOVED;
			}
	}
	have = *pulDevNameLen;
	*pulDevNameLen = (ULONG)strlen(name) + 1;
	*pulEvent = ev;
	if (have < *pulDevNameLen)
		return SAR_BUFFER_TOO_SMALL;
	memcpy(szDevName, name, *pulDevNameLen);
	return SAR_OK;
}

ULONG DEVAPI
SKF_CancelWaitForDevEvent(void)
{
	atomic_store(&skf_cancel_wait, true);
	return SAR_OK;
}

ULONG DEVAPI
SKF_ConnectDev(LPSTR szName, DEVHANDLE *phDev)
{
	skf_obj *d = NULL;
	int rc;
	ULONG r = SAR_FAIL;

	if (szName == NULL || phDev == NULL || szName[0] == '\0' ||
	    strlen(szName) >= sizeof(d->name))
		return SAR_INVALIDPARAMERR;
	*phDev = NULL;
	skf_lock();
	if ((d = skf_new(SKF_DEV, NULL)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	snprintf(d->name, sizeof(d->name), "%s", szName);
	if ((rc = wk_ctx_new(&d->ctx)) != WK_OK ||
	    (rc = wk_card_open(d->ctx, szName, &d->card)) != WK_OK ||
	    (rc = wk_gm_open(d->card, &d->gm)) != WK_OK) {
		r = rc == WK_ERR_NOT_SUPPORTED ? SAR_NOTSUPPORTYETERR :
		    rc == WK_ERR_ARG ? SAR_INVALIDPARAMERR : skf_sar(NULL, rc);
		skf_free(d);
		goto out;
	}
	*phDev = d;
	r = SAR_OK;
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_DisConnectDev(DEVHANDLE hDev)
{
	return skf_close(hDev, SKF_DEV);
}

ULONG DEVAPI
SKF_SetLabel(DEVHANDLE hDev, LPSTR szLabel)
{
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;

	if (szLabel == NULL)
		return SAR_INVALIDPARAMERR;
	if (szLabel[0] == '\0' || strlen(szLabel) > WK_GM_LABEL_MAX)
		return SAR_NAMELENERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL)
		r = skf_sar(d, wk_gm_set_label(d->gm, szLabel));
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_GetDevInfo(DEVHANDLE hDev, DEVINFO *pDevInfo)
{
	wk_gm_info info;
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pDevInfo == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) == NULL)
		goto out;
	if ((rc = wk_gm_get_info(d->gm, &info)) != WK_OK) {
		r = skf_sar(d, rc);
		goto out;
	}
	memset(pDevInfo, 0, sizeof(*pDevInfo));
	pDevInfo->Version.major = 1;
	pDevInfo->Version.minor = 0;
	snprintf(pDevInfo->Manufacturer, sizeof(pDevInfo->Manufacturer),
	    "walletkey");
	snprintf(pDevInfo->Issuer, sizeof(pDevInfo->Issuer), "walletkey");
	snprintf(pDevInfo->Label, sizeof(pDevInfo->Label), "%s", info.label);
	for (size_t i = 0; i < sizeof(info.serial); i++)
		snprintf(pDevInfo->SerialNumber + 2 * i, 3, "%02X",
		    info.serial[i]);
	pDevInfo->HWVersion.major = 1;
	pDevInfo->FirmwareVersion.major = info.version[0];
	pDevInfo->FirmwareVersion.minor = info.version[1];
	pDevInfo->AlgSymCap = info.sym_cap;
	pDevInfo->AlgAsymCap = info.asym_cap;
	pDevInfo->AlgHashCap = info.hash_cap;
	pDevInfo->DevAuthAlgId = info.dev_auth_alg;
	pDevInfo->TotalSpace = info.total_space;
	pDevInfo->FreeSpace = info.free_space;
	pDevInfo->MaxECCBufferSize = info.max_data;
	/* cipher and digest data goes to the card in pieces: no limit */
	pDevInfo->MaxBufferSize = 0x100000;
	r = SAR_OK;
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_LockDev(DEVHANDLE hDev, ULONG ulTimeOut)
{
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	(void)ulTimeOut;	/* SCardBeginTransaction waits as long as needed */
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		if (d->locked)
			r = SAR_OK;
		else if ((rc = wk_card_begin(d->card)) == WK_OK) {
			d->locked = true;
			r = SAR_OK;
		} else
			r = skf_sar(d, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_UnlockDev(DEVHANDLE hDev)
{
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;

	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		if (d->locked) {
			(void)wk_card_end(d->card);
			d->locked = false;
		}
		r = SAR_OK;
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_Transmit(DEVHANDLE hDev, BYTE *pbCommand, ULONG ulCommandLen, BYTE *pbData,
    ULONG *pulDataLen)
{
	skf_obj *d;
	size_t n;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pbCommand == NULL || ulCommandLen < 4 || pbData == NULL ||
	    pulDataLen == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		n = *pulDataLen;
		rc = wk_card_transmit(d->card, pbCommand, ulCommandLen, pbData, &n);
		if (rc == WK_OK)
			*pulDataLen = (ULONG)n;
		r = rc == WK_ERR_ARG ? SAR_BUFFER_TOO_SMALL : skf_sar(d, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ChangeDevAuthKey(DEVHANDLE hDev, BYTE *pbKeyValue, ULONG ulKeyLen)
{
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pbKeyValue == NULL || ulKeyLen != WK_GM_DEV_KEY_LEN)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_set_dev_key(d->gm, pbKeyValue, ulKeyLen);
		r = rc == WK_ERR_AUTH_REQUIRED ? SAR_USER_NOT_LOGGED_IN :
		    skf_sar(d, rc);
	}
	skf_unlock();
	return r;
}

/* the answer to the first 16 bytes (zero-padded) of the last SKF_GenRandom */
ULONG DEVAPI
SKF_DevAuth(DEVHANDLE hDev, BYTE *pbAuthData, ULONG ulLen)
{
	skf_obj *d;
	unsigned tries = 0;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pbAuthData == NULL || ulLen != 16)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_dev_auth_answer(d->gm, pbAuthData, &tries);
		d->dev_authed |= rc == WK_OK;
		/* a wrong answer is not a PIN: SAR_FAIL, then the lock */
		r = rc == WK_ERR_WRONG_PIN ? SAR_FAIL :
		    rc == WK_ERR_PIN_BLOCKED ? SAR_PIN_LOCKED :
		    rc == WK_ERR_CONDITIONS ? SAR_GENRANDERR : skf_sar(d, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_GenRandom(DEVHANDLE hDev, BYTE *pbRandom, ULONG ulRandomLen)
{
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pbRandom == NULL || ulRandomLen == 0 || ulRandomLen > 65536)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_random(d->gm, pbRandom, ulRandomLen);
		r = rc == WK_OK ? SAR_OK : rc == WK_ERR_CARD_REMOVED ||
		    rc == WK_ERR_NO_CARD ? SAR_DEVICE_REMOVED : SAR_GENRANDERR;
	}
	skf_unlock();
	return r;
}
