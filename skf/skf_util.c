/* the lock, the handle registry, SAR codes and the standard's blob forms */
#include "skf_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static pthread_mutex_t skf_mutex = PTHREAD_MUTEX_INITIALIZER;
static skf_obj *skf_registry;

void
skf_lock(void)
{
	(void)pthread_mutex_lock(&skf_mutex);
}

void
skf_unlock(void)
{
	(void)pthread_mutex_unlock(&skf_mutex);
}

skf_obj *
skf_new(enum skf_kind kind, skf_obj *dev)
{
	skf_obj *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->magic = SKF_MAGIC;
	o->kind = kind;
	o->dev = kind == SKF_DEV ? o : dev;
	o->next = skf_registry;
	skf_registry = o;
	return o;
}

/* a handle is only ever compared with registered pointers, never followed
 * before it is found among them */
skf_obj *
skf_get(HANDLE h, enum skf_kind kind)
{
	for (skf_obj *o = skf_registry; o != NULL; o = o->next)
		if ((HANDLE)o == h)
			return o->magic == SKF_MAGIC && o->kind == kind ? o : NULL;
	return NULL;
}

skf_obj *
skf_get_session(HANDLE h)
{
	for (skf_obj *o = skf_registry; o != NULL; o = o->next)
		if ((HANDLE)o == h)
			return o->kind >= SKF_KEY ? o : NULL;
	return NULL;
}

static void
skf_unlink(skf_obj *o)
{
	for (skf_obj **p = &skf_registry; *p != NULL; p = &(*p)->next)
		if (*p == o) {
			*p = o->next;
			return;
		}
}

void
skf_free(skf_obj *o)
{
	bool again = true;

	if (o == NULL)
		return;
	/* what hangs under o goes with it */
	while (again) {
		again = false;
		for (skf_obj *c = skf_registry; c != NULL; c = c->next)
			if (c != o && ((o->kind == SKF_DEV && c->dev == o) ||
			    (o->kind == SKF_APP && c->app == o))) {
				skf_free(c);
				again = true;
				break;
			}
	}
	skf_unlink(o);
	if (o->kind == SKF_DEV) {
		if (o->dev_authed)
			(void)wk_gm_dev_logout(o->gm);
		if (o->locked)
			(void)wk_card_end(o->card);
		wk_gm_free(&o->gm);
		wk_card_free(&o->card);
		wk_ctx_free(&o->ctx);
	}
	sodium_memzero(o, sizeof(*o));
	free(o);
}

ULONG
skf_close(HANDLE h, enum skf_kind kind)
{
	skf_obj *o;
	ULONG r = SAR_INVALIDHANDLEERR;

	skf_lock();
	if ((o = skf_get(h, kind)) != NULL) {
		skf_free(o);
		r = SAR_OK;
	}
	skf_unlock();
	return r;
}

bool
skf_sym_alg_ok(ULONG alg)
{
	return alg == SGD_SMS4_ECB || alg == SGD_SMS4_CBC ||
	    alg == SGD_SMS4_CFB || alg == SGD_SMS4_OFB || alg == SGD_SMS4_MAC;
}

skf_obj *
skf_sess_new(skf_obj *dev, enum skf_kind kind, uint32_t handle, uint32_t alg)
{
	skf_obj *o = skf_new(kind, dev);

	if (o == NULL) {
		(void)wk_gm_close(dev->gm, handle);
		return NULL;
	}
	o->handle = handle;
	o->alg = alg;
	return o;
}

ULONG
skf_sess_sar(const skf_obj *d, int rc)
{
	if (rc == WK_ERR_NOT_FOUND && wk_gm_last_sw(d->gm) == 0x6A88)
		return SAR_INVALIDHANDLEERR;	/* the card dropped it (reset) */
	return skf_sar(d, rc);
}

ULONG
skf_sar(const skf_obj *dev, int rc)
{
	uint16_t sw = dev != NULL && dev->gm != NULL ? wk_gm_last_sw(dev->gm) : 0;

	switch (rc) {
	case WK_OK:
		return SAR_OK;
	case WK_ERR_ARG:
	case WK_ERR_BAD_PARAMS:
		return SAR_INVALIDPARAMERR;
	case WK_ERR_MEMORY:
		return SAR_MEMORYERR;
	case WK_ERR_PCSC:
	case WK_ERR_NO_READER:
	case WK_ERR_NO_CARD:
	case WK_ERR_CARD_REMOVED:
	case WK_ERR_TRANSPORT:
		return SAR_DEVICE_REMOVED;
	case WK_ERR_WRONG_PIN:
		return SAR_PIN_INCORRECT;
	case WK_ERR_PIN_BLOCKED:
		return SAR_PIN_LOCKED;
	case WK_ERR_AUTH_REQUIRED:
		return SAR_USER_NOT_LOGGED_IN;
	case WK_ERR_NOT_FOUND:
		if (sw == 0x6A88)
			return SAR_APPLICATION_NOT_EXISTS;
		if (sw == 0x6A83)
			return SAR_KEYNOTFOUNTERR;
		return SAR_FILE_NOT_EXIST;
	case WK_ERR_NO_SPACE:
		return SAR_NO_ROOM;
	case WK_ERR_BAD_DATA:
		return SAR_INDATAERR;
	case WK_ERR_WRONG_LENGTH:
		return SAR_INDATALENERR;
	case WK_ERR_CONDITIONS:
	case WK_ERR_INVALID_STATE:
		return SAR_NOTINITIALIZEERR;
	case WK_ERR_NOT_SUPPORTED:
		return SAR_NOTSUPPORTYETERR;
	case WK_ERR_SW:
		if (sw == 0x6A89)
			return SAR_FILE_ALREADY_EXIST;
		return SAR_FAIL;
	default:
		return SAR_FAIL;
	}
}

ULONG
skf_pin_sar(const skf_obj *dev, int rc, unsigned tries, ULONG *retry)
{
	if (retry != NULL && (rc == WK_ERR_WRONG_PIN || rc == WK_ERR_PIN_BLOCKED))
		*retry = rc == WK_ERR_PIN_BLOCKED ? 0 : tries;
	return skf_sar(dev, rc);
}

bool
skf_field_in(const BYTE f[64], uint8_t out[32])
{
	for (size_t i = 0; i < 32; i++)
		if (f[i] != 0)
			return false;
	memcpy(out, f + 32, 32);
	return true;
}

void
skf_field_out(const uint8_t in[32], BYTE f[64])
{
	memset(f, 0, 32);
	memcpy(f + 32, in, 32);
}

bool
skf_pub_in(const ECCPUBLICKEYBLOB *b, uint8_t pub[64])
{
	return b != NULL && b->BitLen == 256 &&
	    skf_field_in(b->XCoordinate, pub) &&
	    skf_field_in(b->YCoordinate, pub + 32);
}

void
skf_pub_out(const uint8_t pub[64], ECCPUBLICKEYBLOB *b)
{
	b->BitLen = 256;
	skf_field_out(pub, b->XCoordinate);
	skf_field_out(pub + 32, b->YCoordinate);
}

ULONG
skf_size_out(BYTE *buf, ULONG *len, const uint8_t *data, size_t n)
{
	ULONG have;

	if (len == NULL)
		return SAR_INVALIDPARAMERR;
	have = *len;
	*len = (ULONG)n;
	if (buf == NULL)
		return SAR_OK;
	if (have < n)
		return SAR_BUFFER_TOO_SMALL;
	memcpy(buf, data, n);
	return SAR_OK;
}

ULONG
skf_names_out(LPSTR buf, ULONG *len, const wk_gm_name *names, size_t n)
{
	const char *p[WK_GM_MAX_FILES + WK_GM_MAX_CONTAINERS];

	if (n > sizeof(p) / sizeof(p[0]))
		return SAR_FAIL;
	for (size_t i = 0; i < n; i++)
		p[i] = names[i].name;
	return skf_list_out(buf, len, p, n);
}

ULONG
skf_list_out(LPSTR buf, ULONG *len, const char *const *names, size_t n)
{
	size_t need = 1, at = 0;
	ULONG have;

	if (len == NULL)
		return SAR_INVALIDPARAMERR;
	for (size_t i = 0; i < n; i++)
		need += strlen(names[i]) + 1;
	have = *len;
	*len = (ULONG)need;
	if (buf == NULL)
		return SAR_OK;
	if (have < need)
		return SAR_BUFFER_TOO_SMALL;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]) + 1;

		memcpy(buf + at, names[i], l);
		at += l;
	}
	buf[at] = '\0';
	return SAR_OK;
}
