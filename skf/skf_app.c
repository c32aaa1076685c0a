/*
 * GM/T 0016 7.2 PINs, 7.3 applications, 7.4 files, 7.5 containers, on the
 * GM applet through libwalletkey. A PIN of a length the card never takes
 * is refused here without costing a try.
 */
#include "skf_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
pin_len_ok(const char *pin)
{
	size_t n = strlen(pin);

	return n >= WK_GM_PIN_MIN && n <= WK_GM_PIN_MAX;
}

static bool
name_len_ok(const char *name, size_t max)
{
	size_t n = strlen(name);

	return n > 0 && n <= max;
}

/* ---- 7.2 PINs ---- */

ULONG DEVAPI
SKF_VerifyPIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN,
    ULONG *pulRetryCount)
{
	skf_obj *a;
	unsigned tries = 0;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szPIN == NULL)
		return SAR_INVALIDPARAMERR;
	if (ulPINType != ADMIN_TYPE && ulPINType != USER_TYPE)
		return SAR_USER_TYPE_INVALID;
	if (!pin_len_ok(szPIN))
		return SAR_PIN_LEN_RANGE;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) != NULL) {
		rc = wk_gm_verify_pin(a->dev->gm, a->app_id, (int)ulPINType,
		    (const uint8_t *)szPIN, strlen(szPIN), &tries);
		r = skf_pin_sar(a->dev, rc, tries, pulRetryCount);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ChangePIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin,
    LPSTR szNewPin, ULONG *pulRetryCount)
{
	skf_obj *a;
	unsigned tries = 0;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szOldPin == NULL || szNewPin == NULL)
		return SAR_INVALIDPARAMERR;
	if (ulPINType != ADMIN_TYPE && ulPINType != USER_TYPE)
		return SAR_USER_TYPE_INVALID;
	if (!pin_len_ok(szOldPin) || !pin_len_ok(szNewPin))
		return SAR_PIN_LEN_RANGE;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) != NULL) {
		rc = wk_gm_change_pin(a->dev->gm, a->app_id, (int)ulPINType,
		    (const uint8_t *)szOldPin, strlen(szOldPin),
		    (const uint8_t *)szNewPin, strlen(szNewPin), &tries);
		r = skf_pin_sar(a->dev, rc, tries, pulRetryCount);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_GetPINInfo(HAPPLICATION hApplication, ULONG ulPINType,
    ULONG *pulMaxRetryCount, ULONG *pulRemainRetryCount, BOOL *pbDefaultPin)
{
	skf_obj *a;
	unsigned max = 0, left = 0;
	bool def = false;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pulMaxRetryCount == NULL || pulRemainRetryCount == NULL ||
	    pbDefaultPin == NULL)
		return SAR_INVALIDPARAMERR;
	if (ulPINType != ADMIN_TYPE && ulPINType != USER_TYPE)
		return SAR_USER_TYPE_INVALID;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) != NULL) {
		rc = wk_gm_pin_info(a->dev->gm, a->app_id, (int)ulPINType, &max,
		    &left, &def);
		if (rc == WK_OK) {
			*pulMaxRetryCount = max;
			*pulRemainRetryCount = left;
			*pbDefaultPin = def ? TRUE : FALSE;
		}
		r = skf_sar(a->dev, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_UnblockPIN(HAPPLICATION hApplication, LPSTR szAdminPIN,
    LPSTR szNewUserPIN, ULONG *pulRetryCount)
{
	skf_obj *a;
	unsigned tries = 0;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szAdminPIN == NULL || szNewUserPIN == NULL)
		return SAR_INVALIDPARAMERR;
	if (!pin_len_ok(szAdminPIN) || !pin_len_ok(szNewUserPIN))
		return SAR_PIN_LEN_RANGE;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) != NULL) {
		rc = wk_gm_unblock_pin(a->dev->gm, a->app_id,
		    (const uint8_t *)szAdminPIN, strlen(szAdminPIN),
		    (const uint8_t *)szNewUserPIN, strlen(szNewUserPIN), &tries);
		r = skf_pin_sar(a->dev, rc, tries, pulRetryCount);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ClearSecureState(HAPPLICATION hApplication)
{
	skf_obj *a;
	ULONG r = SAR_INVALIDHANDLEERR;

	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) != NULL)
		r = skf_sar(a->dev, wk_gm_logout(a->dev->gm, a->app_id));
	skf_unlock();
	return r;
}

/* ---- 7.3 applications ---- */

static ULONG
app_handle(skf_obj *d, const char *name, uint8_t id, HAPPLICATION *out)
{
	skf_obj *a = skf_new(SKF_APP, d);

	if (a == NULL)
		return SAR_MEMORYERR;
	a->app_id = id;
	snprintf(a->obj_name, sizeof(a->obj_name), "%s", name);
	*out = a;
	return SAR_OK;
}

static ULONG
app_sar(const skf_obj *d, int rc)
{
	if (rc == WK_ERR_NOT_FOUND)
		return SAR_APPLICATION_NOT_EXISTS;
	if (rc == WK_ERR_SW && wk_gm_last_sw(d->gm) == 0x6A89)
		return SAR_APPLICATION_EXISTS;
	if (rc == WK_ERR_NO_SPACE)
		return SAR_NO_ROOM;
	/* creating and deleting take the device authentication */
	if (rc == WK_ERR_AUTH_REQUIRED)
		return SAR_USER_NOT_LOGGED_IN;
	return skf_sar(d, rc);
}

ULONG DEVAPI
SKF_CreateApplication(DEVHANDLE hDev, LPSTR szAppName, LPSTR szAdminPin,
    DWORD dwAdminPinRetryCount, LPSTR szUserPin, DWORD dwUserPinRetryCount,
    DWORD dwCreateFileRights, HAPPLICATION *phApplication)
{
	skf_obj *d;
	uint8_t id;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szAppName == NULL || szAdminPin == NULL || szUserPin == NULL ||
	    phApplication == NULL)
		return SAR_INVALIDPARAMERR;
	if (!name_len_ok(szAppName, WK_GM_APP_NAME_MAX))
		return SAR_APPLICATION_NAME_INVALID;
	if (!pin_len_ok(szAdminPin) || !pin_len_ok(szUserPin))
		return SAR_PIN_LEN_RANGE;
	if (dwAdminPinRetryCount == 0 || dwAdminPinRetryCount > WK_GM_TRIES_MAX ||
	    dwUserPinRetryCount == 0 || dwUserPinRetryCount > WK_GM_TRIES_MAX ||
	    dwCreateFileRights > 0xFF)
		return SAR_INVALIDPARAMERR;
	*phApplication = NULL;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) == NULL)
		goto out;
	rc = wk_gm_app_create(d->gm, szAppName, (const uint8_t *)szAdminPin,
	    strlen(szAdminPin), dwAdminPinRetryCount, (const uint8_t *)szUserPin,
	    strlen(szUserPin), dwUserPinRetryCount, dwCreateFileRights, &id);
	if (rc == WK_ERR_BAD_DATA)
		r = SAR_APPLICATION_NAME_INVALID;
	else if (rc != WK_OK)
		r = app_sar(d, rc);
	else
		r = app_handle(d, szAppName, id, phApplication);
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_EnumApplication(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize)
{
	wk_gm_name names[WK_GM_MAX_APPS];
	skf_obj *d;
	size_t n;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pulSize == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_app_list(d->gm, names, WK_GM_MAX_APPS, &n);
		r = rc == WK_OK ? skf_names_out(szAppName, pulSize, names, n) :
		    skf_sar(d, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_DeleteApplication(DEVHANDLE hDev, LPSTR szAppName)
{
	skf_obj *d;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szAppName == NULL)
		return SAR_INVALIDPARAMERR;
	if (!name_len_ok(szAppName, WK_GM_APP_NAME_MAX))
		return SAR_APPLICATION_NAME_INVALID;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_app_delete(d->gm, szAppName);
		/* handles to it stay until closed; the card answers 6A88 to
		 * them (SAR_APPLICATION_NOT_EXISTS) */
		r = app_sar(d, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_OpenApplication(DEVHANDLE hDev, LPSTR szAppName,
    HAPPLICATION *phApplication)
{
	skf_obj *d;
	uint8_t id;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szAppName == NULL || phApplication == NULL)
		return SAR_INVALIDPARAMERR;
	*phApplication = NULL;
	if (!name_len_ok(szAppName, WK_GM_APP_NAME_MAX))
		return SAR_APPLICATION_NAME_INVALID;
	skf_lock();
	if ((d = skf_get(hDev, SKF_DEV)) != NULL) {
		rc = wk_gm_app_open(d->gm, szAppName, &id);
		r = rc != WK_OK ? app_sar(d, rc) :
		    app_handle(d, szAppName, id, phApplication);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_CloseApplication(HAPPLICATION hApplication)
{
	return skf_close(hApplication, SKF_APP);
}

/* ---- 7.4 files ---- */

static ULONG
file_sar(const skf_obj *d, int rc)
{
	if (rc == WK_ERR_NOT_FOUND)
		return wk_gm_last_sw(d->gm) == 0x6A88 ?
		    SAR_APPLICATION_NOT_EXISTS : SAR_FILE_NOT_EXIST;
	return skf_sar(d, rc);
}

/* a file or container of an application, by name: delete, list */
typedef int app_delete_fn(wk_gm *gm, uint8_t app, const char *name);
typedef int app_list_fn(wk_gm *gm, uint8_t app, wk_gm_name *out, size_t cap,
    size_t *n);

static ULONG
app_delete(HAPPLICATION h, LPSTR name, size_t max, app_delete_fn *del)
{
	skf_obj *a;
	ULONG r = SAR_INVALIDHANDLEERR;

	if (name == NULL)
		return SAR_INVALIDPARAMERR;
	if (!name_len_ok(name, max))
		return SAR_NAMELENERR;
	skf_lock();
	if ((a = skf_get(h, SKF_APP)) != NULL)
		r = file_sar(a->dev, del(a->dev->gm, a->app_id, name));
	skf_unlock();
	return r;
}

_Static_assert(WK_GM_MAX_CONTAINERS <= WK_GM_MAX_FILES, "app_list's array");

/* cap: at most WK_GM_MAX_FILES */
static ULONG
app_list(HAPPLICATION h, LPSTR list, ULONG *size, size_t cap,
    app_list_fn *fn)
{
	wk_gm_name names[WK_GM_MAX_FILES];
	skf_obj *a;
	size_t n;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (size == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((a = skf_get(h, SKF_APP)) != NULL) {
		rc = fn(a->dev->gm, a->app_id, names, cap, &n);
		r = rc == WK_OK ? skf_names_out(list, size, names, n) :
		    file_sar(a->dev, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_CreateFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulFileSize,
    ULONG ulReadRights, ULONG ulWriteRights)
{
	skf_obj *a;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szFileName == NULL)
		return SAR_INVALIDPARAMERR;
	if (!name_len_ok(szFileName, WK_GM_FILE_NAME_MAX))
		return SAR_NAMELENERR;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) != NULL) {
		rc = wk_gm_file_create(a->dev->gm, a->app_id, szFileName,
		    ulFileSize, ulReadRights, ulWriteRights);
		r = rc == WK_ERR_NO_SPACE ? SAR_NO_ROOM :
		    rc == WK_ERR_BAD_DATA ? SAR_INVALIDPARAMERR : file_sar(a->dev, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_DeleteFile(HAPPLICATION hApplication, LPSTR szFileName)
{
	return app_delete(hApplication, szFileName, WK_GM_FILE_NAME_MAX,
	    wk_gm_file_delete);
}

ULONG DEVAPI
SKF_EnumFiles(HAPPLICATION hApplication, LPSTR szFileList, ULONG *pulSize)
{
	return app_list(hApplication, szFileList, pulSize, WK_GM_MAX_FILES,
	    wk_gm_file_list);
}

ULONG DEVAPI
SKF_GetFileInfo(HAPPLICATION hApplication, LPSTR szFileName,
    FILEATTRIBUTE *pFileInfo)
{
	skf_obj *a;
	uint32_t size, rd, wr;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szFileName == NULL || pFileInfo == NULL)
		return SAR_INVALIDPARAMERR;
	if (!name_len_ok(szFileName, WK_GM_FILE_NAME_MAX))
		return SAR_NAMELENERR;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) != NULL) {
		rc = wk_gm_file_info(a->dev->gm, a->app_id, szFileName, &size,
		    &rd, &wr);
		if (rc == WK_OK) {
			memset(pFileInfo, 0, sizeof(*pFileInfo));
			snprintf(pFileInfo->FileName, sizeof(pFileInfo->FileName),
			    "%s", szFileName);
			pFileInfo->FileSize = size;
			pFileInfo->ReadRights = rd;
			pFileInfo->WriteRights = wr;
		}
		r = file_sar(a->dev, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ReadFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset,
    ULONG ulSize, BYTE *pbOutData, ULONG *pulOutLen)
{
	skf_obj *a;
	uint32_t size;
	size_t n;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szFileName == NULL || pulOutLen == NULL)
		return SAR_INVALIDPARAMERR;
	if (!name_len_ok(szFileName, WK_GM_FILE_NAME_MAX))
		return SAR_NAMELENERR;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) == NULL)
		goto out;
	if ((rc = wk_gm_file_info(a->dev->gm, a->app_id, szFileName, &size, NULL,
	    NULL)) != WK_OK) {
		r = file_sar(a->dev, rc);
		goto out;
	}
	if (ulOffset > size) {
		r = SAR_INDATAERR;
		goto out;
	}
	n = ulSize < size - ulOffset ? ulSize : size - ulOffset;
	if (pbOutData == NULL || *pulOutLen < n) {
		r = pbOutData == NULL ? SAR_OK : SAR_BUFFER_TOO_SMALL;
		*pulOutLen = (ULONG)n;
		goto out;
	}
	rc = n == 0 ? WK_OK : wk_gm_file_read(a->dev->gm, a->app_id, szFileName,
	    ulOffset, pbOutData, &n);
	if (rc == WK_OK)
		*pulOutLen = (ULONG)n;
	r = rc == WK_ERR_AUTH_REQUIRED ? SAR_USER_NOT_LOGGED_IN :
	    rc != WK_OK && rc != WK_ERR_NOT_FOUND ? SAR_READFILEERR :
	    file_sar(a->dev, rc);
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_WriteFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset,
    BYTE *pbData, ULONG ulSize)
{
	skf_obj *a;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szFileName == NULL || pbData == NULL || ulSize == 0)
		return SAR_INVALIDPARAMERR;
	if (!name_len_ok(szFileName, WK_GM_FILE_NAME_MAX))
		return SAR_NAMELENERR;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) != NULL) {
		rc = wk_gm_file_write(a->dev->gm, a->app_id, szFileName, ulOffset,
		    pbData, ulSize);
		r = rc == WK_ERR_AUTH_REQUIRED ? SAR_USER_NOT_LOGGED_IN :
		    rc == WK_ERR_NO_SPACE ? SAR_WRITEFILEERR :
		    file_sar(a->dev, rc);
	}
	skf_unlock();
	return r;
}

/* ---- 7.5 containers ---- */

static ULONG
cont_handle(skf_obj *a, const char *name, HCONTAINER *out)
{
	skf_obj *c = skf_new(SKF_CONT, a->dev);

	if (c == NULL)
		return SAR_MEMORYERR;
	c->app = a;
	c->app_id = a->app_id;
	snprintf(c->obj_name, sizeof(c->obj_name), "%s", name);
	*out = c;
	return SAR_OK;
}

ULONG DEVAPI
SKF_CreateContainer(HAPPLICATION hApplication, LPSTR szContainerName,
    HCONTAINER *phContainer)
{
	skf_obj *a;
	size_t n = 0;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szContainerName == NULL || phContainer == NULL)
		return SAR_INVALIDPARAMERR;
	*phContainer = NULL;
	if (!name_len_ok(szContainerName, WK_GM_NAME_MAX))
		return SAR_NAMELENERR;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) == NULL)
		goto out;
	if ((rc = wk_gm_cont_list(a->dev->gm, a->app_id, NULL, 0, &n)) ==
	    WK_OK && n >= WK_GM_MAX_CONTAINERS) {
		r = SAR_REACH_MAX_CONTAINER_COUNT;
		goto out;
	}
	if (rc == WK_OK)
		rc = wk_gm_cont_create(a->dev->gm, a->app_id, szContainerName);
	r = rc == WK_OK ? cont_handle(a, szContainerName, phContainer) :
	    file_sar(a->dev, rc);
out:
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_DeleteContainer(HAPPLICATION hApplication, LPSTR szContainerName)
{
	return app_delete(hApplication, szContainerName, WK_GM_NAME_MAX,
	    wk_gm_cont_delete);
}

ULONG DEVAPI
SKF_OpenContainer(HAPPLICATION hApplication, LPSTR szContainerName,
    HCONTAINER *phContainer)
{
	skf_obj *a;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (szContainerName == NULL || phContainer == NULL)
		return SAR_INVALIDPARAMERR;
	*phContainer = NULL;
	if (!name_len_ok(szContainerName, WK_GM_NAME_MAX))
		return SAR_NAMELENERR;
	skf_lock();
	if ((a = skf_get(hApplication, SKF_APP)) != NULL) {
		rc = wk_gm_cont_info(a->dev->gm, a->app_id, szContainerName, NULL,
		    NULL);
		r = rc == WK_OK ? cont_handle(a, szContainerName, phContainer) :
		    file_sar(a->dev, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_CloseContainer(HCONTAINER hContainer)
{
	return skf_close(hContainer, SKF_CONT);
}

ULONG DEVAPI
SKF_EnumContainer(HAPPLICATION hApplication, LPSTR szContainerName,
    ULONG *pulSize)
{
	return app_list(hApplication, szContainerName, pulSize,
	    WK_GM_MAX_CONTAINERS, wk_gm_cont_list);
}

ULONG DEVAPI
SKF_GetContainerType(HCONTAINER hContainer, ULONG *pulContainerType)
{
	skf_obj *c;
	int type = 0;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pulContainerType == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) != NULL) {
		rc = wk_gm_cont_info(c->dev->gm, c->app_id, c->obj_name, &type,
		    NULL);
		if (rc == WK_OK)
			*pulContainerType = (ULONG)type;
		r = file_sar(c->dev, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ImportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert,
    ULONG ulCertLen)
{
	skf_obj *c;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pbCert == NULL || ulCertLen == 0)
		return SAR_INVALIDPARAMERR;
	if (ulCertLen > WK_GM_CERT_MAX)
		return SAR_INDATALENERR;
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) != NULL) {
		rc = wk_gm_cert_import(c->dev->gm, c->app_id, c->obj_name,
		    bSignFlag != FALSE, pbCert, ulCertLen);
		r = rc == WK_ERR_NO_SPACE ? SAR_NO_ROOM : file_sar(c->dev, rc);
	}
	skf_unlock();
	return r;
}

ULONG DEVAPI
SKF_ExportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert,
    ULONG *pulCertLen)
{
	skf_obj *c;
	uint8_t *der = NULL;
	size_t n = WK_GM_CERT_MAX;
	ULONG r = SAR_INVALIDHANDLEERR;
	int rc;

	if (pulCertLen == NULL)
		return SAR_INVALIDPARAMERR;
	skf_lock();
	if ((c = skf_get(hContainer, SKF_CONT)) == NULL)
		goto out;
	if ((der = malloc(n)) == NULL) {
		r = SAR_MEMORYERR;
		goto out;
	}
	rc = wk_gm_cert_export(c->dev->gm, c->app_id, c->obj_name,
	    bSignFlag != FALSE, der, &n);
	if (rc == WK_OK)
		r = skf_size_out(pbCert, pulCertLen, der, n);
	else if (rc == WK_ERR_NOT_FOUND && wk_gm_last_sw(c->dev->gm) == 0x6A83)
		r = SAR_CERTNOTFOUNTERR;
	else
		r = file_sar(c->dev, rc);
out:
	free(der);
	skf_unlock();
	return r;
}
