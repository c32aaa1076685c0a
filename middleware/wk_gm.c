/* the GM client: one function per command of the GM applet (docs/gm.md) */
#include "wk_gm_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_buf.h"
#include "wk_gm.h"
#include "wk_sm2.h"
#include "wk_tlv.h"

static const uint8_t gm_aid[] = { WK_GM_AID_BYTES };

static int
gm_select(wk_gm *gm)
{
	uint8_t none[1];
	size_t n = sizeof(none);
	uint16_t sw = 0;
	int rc;

	if ((rc = wk_card_apdu(gm->card, 0x00, 0xA4, 0x04, 0x0C, gm_aid,
	    sizeof(gm_aid), 0, none, &n, &sw)) != WK_OK)
		return rc;
	gm->sw = sw;
	if (sw == 0x6A82)
		return WK_ERR_NOT_SUPPORTED;	/* a card without the applet */
	return wk_rc_from_sw(sw);
}

/*
 * one command inside a transaction that selects the applet first: nothing
 * another process selected in between can receive it. resp may be NULL.
 */
int
wk_gm_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, uint8_t p2, const wk_buf *data,
    uint8_t *resp, size_t *rlen, bool secret)
{
	uint8_t none[1];
	size_t dummy = sizeof(none);
	uint16_t sw = 0;
	int rc, end;

	if (resp == NULL) {
		resp = none;
		rlen = &dummy;
	}
	if (data != NULL && wk_buf_failed(data))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(gm->card)) != WK_OK)
		return rc;
	if ((rc = gm_select(gm)) != WK_OK)
		goto out;
	if (secret)
		wk_card_trace_secret(gm->card, true);
	rc = wk_card_apdu(gm->card, WK_GM_CLA, ins, p1, p2,
	    data != NULL ? data->p : NULL, data != NULL ? data->len : 0,
	    65536, resp, rlen, &sw);
	if (secret)
		wk_card_trace_secret(gm->card, false);
	if (rc != WK_OK)
		goto out;
	gm->sw = sw;
	rc = wk_rc_from_sw(sw);
out:
	end = wk_card_end(gm->card);
	return rc != WK_OK ? rc : end;
}

static int
tries_of(wk_gm *gm, int rc, unsigned *tries_left)
{
	if (tries_left == NULL)
		return rc;
	if (rc == WK_ERR_WRONG_PIN)
		*tries_left = gm->sw & 0x0F;
	else if (rc == WK_ERR_PIN_BLOCKED)
		*tries_left = 0;
	/* the last try answers 63C0: blocked from now on */
	return rc == WK_ERR_WRONG_PIN && (gm->sw & 0x0F) == 0 ?
	    WK_ERR_PIN_BLOCKED : rc;
}

int
wk_gm_open(wk_card *card, wk_gm **out)
{
	wk_gm *gm;
	int rc;

	if (card == NULL || out == NULL)
		return WK_ERR_ARG;
	*out = NULL;
	if (sodium_init() < 0)
		return WK_ERR_CRYPTO;
	if ((gm = calloc(1, sizeof(*gm))) == NULL)
		return WK_ERR_MEMORY;
	gm->card = card;
	if ((rc = wk_card_begin(card)) == WK_OK) {
		rc = gm_select(gm);
		(void)wk_card_end(card);
	}
	if (rc != WK_OK) {
		free(gm);
		return rc;
	}
	*out = gm;
	return WK_OK;
}

void
wk_gm_free(wk_gm **gm)
{
	if (gm == NULL || *gm == NULL)
		return;
	free(*gm);
	*gm = NULL;
}

wk_card *
wk_gm_card(const wk_gm *gm)
{
	return gm != NULL ? gm->card : NULL;
}

uint16_t
wk_gm_last_sw(const wk_gm *gm)
{
	return gm != NULL ? gm->sw : 0;
}

uint32_t
wk_gm_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

void
wk_gm_put32(wk_buf *b, uint32_t tag, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	wk_tlv_put(b, tag, x, sizeof(x));
}

bool
wk_gm_name_ok(const char *name, size_t max)
{
	size_t n;

	return name != NULL && (n = strlen(name)) > 0 && n <= max;
}

/* ---- device ---- */

int
wk_gm_get_info(wk_gm *gm, wk_gm_info *info)
{
	uint8_t r[WK_GM_INFO_LEN + 8];
	size_t n = sizeof(r);
	const uint8_t *p;
	uint32_t dev;
	int rc;

	if (gm == NULL || info == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_gm_cmd(gm, WK_GM_INS_INFO, 0, 0, NULL, r, &n, false)) != WK_OK)
		return rc;
	if (n != WK_GM_INFO_LEN)
		return WK_ERR_CARD_MALFORMED;
	memset(info, 0, sizeof(*info));
	memcpy(info->version, r, 2);
	memcpy(info->serial, r + 2, 8);
	memcpy(info->label, r + 10, WK_GM_LABEL_MAX);
	info->label[WK_GM_LABEL_MAX] = '\0';
	p = r + 42;
	info->sym_cap = wk_gm_be32(p);
	info->asym_cap = wk_gm_be32(p + 4);
	info->hash_cap = wk_gm_be32(p + 8);
	info->dev_auth_alg = wk_gm_be32(p + 12);
	info->total_space = wk_gm_be32(p + 16);
	info->free_space = wk_gm_be32(p + 20);
	info->max_data = wk_gm_be32(p + 24);
	dev = wk_gm_be32(p + 28);
	info->dev_tries_left = dev >> 8;
	info->dev_key_default = (dev & 1) != 0;
	return WK_OK;
}

int
wk_gm_random(wk_gm *gm, uint8_t *out, size_t len)
{
	size_t n;
	uint16_t sw = 0;
	int rc, end;

	if (gm == NULL || (out == NULL && len > 0))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(gm->card)) != WK_OK)
		return rc;
	if ((rc = gm_select(gm)) != WK_OK)
		goto out;
	/* the device keeps the first piece as its challenge: ask for it last */
	while (len > 0) {
		size_t want = len > 256 ? (len % 256 != 0 ? len % 256 : 256) : len;
		size_t at = len - want;

		n = want;
		if ((rc = wk_card_apdu(gm->card, WK_GM_CLA, WK_GM_INS_CHALLENGE,
		    0, 0, NULL, 0, want, out + at, &n, &sw)) != WK_OK)
			goto out;
		gm->sw = sw;
		if ((rc = wk_rc_from_sw(sw)) != WK_OK)
			goto out;
		if (n != want) {
			rc = WK_ERR_CARD_MALFORMED;
			goto out;
		}
		len = at;
	}
	rc = WK_OK;
out:
	end = wk_card_end(gm->card);
	return rc != WK_OK ? rc : end;
}

int
wk_gm_dev_auth_answer(wk_gm *gm, const uint8_t answer[16], unsigned *tries_left)
{
	wk_buf b;
	uint8_t st[16];

	if (gm == NULL || answer == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_buf_add(&b, answer, 16);
	return tries_of(gm, wk_gm_cmd(gm, WK_GM_INS_DEV_AUTH, 0, 0, &b, NULL, NULL,
	    true), tries_left);
}

int
wk_gm_dev_auth(wk_gm *gm, const uint8_t *key, size_t len, unsigned *tries_left)
{
	uint8_t chal[16] = { 0 }, ans[16];
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, rc;

	if (gm == NULL || key == NULL || len != WK_GM_DEV_KEY_LEN)
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(gm->card)) != WK_OK)
		return rc;
	if ((rc = wk_gm_random(gm, chal, 8)) != WK_OK)
		goto out;
	rc = WK_ERR_CRYPTO;
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(c, EVP_sm4_ecb(), NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1 ||
	    EVP_EncryptUpdate(c, ans, &n, chal, 16) != 1 || n != 16)
		goto out;
	rc = wk_gm_dev_auth_answer(gm, ans, tries_left);
out:
	EVP_CIPHER_CTX_free(c);
	sodium_memzero(ans, sizeof(ans));
	(void)wk_card_end(gm->card);
	return rc;
}

int
wk_gm_dev_logout(wk_gm *gm)
{
	if (gm == NULL)
		return WK_ERR_ARG;
	return wk_gm_cmd(gm, WK_GM_INS_DEV_AUTH, 0, 0, NULL, NULL, NULL, false);
}

int
wk_gm_set_dev_key(wk_gm *gm, const uint8_t *key, size_t len)
{
	uint8_t st[WK_GM_DEV_KEY_LEN];
	wk_buf b;
	int rc;

	if (gm == NULL || key == NULL || len != WK_GM_DEV_KEY_LEN)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_buf_add(&b, key, len);
	rc = wk_gm_cmd(gm, WK_GM_INS_SET_DEV_KEY, 0, 0, &b, NULL, NULL, true);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_set_label(wk_gm *gm, const char *label)
{
	uint8_t st[WK_GM_LABEL_MAX];
	wk_buf b;

	if (gm == NULL || !wk_gm_name_ok(label, WK_GM_LABEL_MAX))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_buf_add(&b, label, strlen(label));
	return wk_gm_cmd(gm, WK_GM_INS_SET_LABEL, 0, 0, &b, NULL, NULL, false);
}

/* ---- applications ---- */

static bool
pin_ok(const uint8_t *pin, size_t len)
{
	return pin != NULL && len >= WK_GM_PIN_MIN && len <= WK_GM_PIN_MAX;
}

int
wk_gm_app_create(wk_gm *gm, const char *name, const uint8_t *admin_pin,
    size_t admin_len, unsigned admin_tries, const uint8_t *user_pin,
    size_t user_len, unsigned user_tries, uint32_t create_rights,
    uint8_t *app)
{
	uint8_t st[256], r[4], t;
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || app == NULL || !wk_gm_name_ok(name, WK_GM_APP_NAME_MAX) ||
	    !pin_ok(admin_pin, admin_len) || !pin_ok(user_pin, user_len) ||
	    admin_tries == 0 || admin_tries > WK_GM_TRIES_MAX ||
	    user_tries == 0 || user_tries > WK_GM_TRIES_MAX ||
	    create_rights > 0xFF)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, name, strlen(name));
	wk_tlv_put(&b, WK_GM_TAG_PIN, admin_pin, admin_len);
	t = (uint8_t)admin_tries;
	wk_tlv_put(&b, WK_GM_TAG_ADMIN_TRIES, &t, 1);
	wk_tlv_put(&b, WK_GM_TAG_NEW_PIN, user_pin, user_len);
	t = (uint8_t)user_tries;
	wk_tlv_put(&b, WK_GM_TAG_USER_TRIES, &t, 1);
	wk_gm_put32(&b, WK_GM_TAG_RIGHTS, create_rights);
	rc = wk_gm_cmd(gm, WK_GM_INS_APP_CREATE, 0, 0, &b, r, &n, true);
	wk_buf_clear(&b);
	if (rc != WK_OK)
		return rc;
	if (n != 1)
		return WK_ERR_CARD_MALFORMED;
	*app = r[0];
	return WK_OK;
}

/* id | len | name entries (apps) or len | name (files, containers) */
static int
parse_names(const uint8_t *r, size_t n, bool ids, wk_gm_name *out, size_t cap,
    size_t *count)
{
	wk_cur c;
	uint8_t id = 0, len;
	const uint8_t *p;

	*count = 0;
	wk_cur_init(&c, r, n);
	while (c.len > 0) {
		if ((ids && wk_cur_u8(&c, &id) != 0) || wk_cur_u8(&c, &len) != 0 ||
		    len == 0 || len > WK_GM_NAME_MAX ||
		    wk_cur_take(&c, len, &p) != 0)
			return WK_ERR_CARD_MALFORMED;
		if (*count < cap && out != NULL) {
			out[*count].id = id;
			memcpy(out[*count].name, p, len);
			out[*count].name[len] = '\0';
		}
		(*count)++;
	}
	return cap < *count && out != NULL ? WK_ERR_ARG : WK_OK;
}

int
wk_gm_list_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, bool ids, wk_gm_name *out,
    size_t cap, size_t *n)
{
	uint8_t *r;
	size_t rl = 4096;
	int rc;

	if (gm == NULL || n == NULL)
		return WK_ERR_ARG;
	if ((r = malloc(rl)) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = wk_gm_cmd(gm, ins, p1, 0, NULL, r, &rl, false)) == WK_OK)
		rc = parse_names(r, rl, ids, out, cap, n);
	free(r);
	return rc;
}

int
wk_gm_app_list(wk_gm *gm, wk_gm_name *out, size_t cap, size_t *n)
{
	return wk_gm_list_cmd(gm, WK_GM_INS_APP_LIST, 0, true, out, cap, n);
}

int
wk_gm_name_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, uint8_t p2, const char *name,
    size_t max, uint8_t *r, size_t *rl)
{
	wk_buf b;
	uint8_t st[WK_GM_NAME_MAX];

	if (gm == NULL || !wk_gm_name_ok(name, max))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_buf_add(&b, name, strlen(name));
	return wk_gm_cmd(gm, ins, p1, p2, &b, r, rl, false);
}

int
wk_gm_app_delete(wk_gm *gm, const char *name)
{
	return wk_gm_name_cmd(gm, WK_GM_INS_APP_DELETE, 0, 0, name,
	    WK_GM_APP_NAME_MAX, NULL, NULL);
}

int
wk_gm_app_open(wk_gm *gm, const char *name, uint8_t *app)
{
	uint8_t r[4];
	size_t n = sizeof(r);
	int rc;

	if (app == NULL)
		return WK_ERR_ARG;
	if ((rc = wk_gm_name_cmd(gm, WK_GM_INS_APP_OPEN, 0, 0, name,
	    WK_GM_APP_NAME_MAX, r, &n)) != WK_OK)
		return rc;
	if (n != 1)
		return WK_ERR_CARD_MALFORMED;
	*app = r[0];
	return WK_OK;
}

/* ---- PINs ---- */

static bool
type_ok(int type)
{
	return type == WK_GM_PIN_ADMIN || type == WK_GM_PIN_USER;
}

int
wk_gm_verify_pin(wk_gm *gm, uint8_t app, int type, const uint8_t *pin,
    size_t len, unsigned *tries_left)
{
	uint8_t st[WK_GM_PIN_MAX];
	wk_buf b;
	int rc;

	if (gm == NULL || !type_ok(type) || !pin_ok(pin, len))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_buf_add(&b, pin, len);
	rc = wk_gm_cmd(gm, WK_GM_INS_VERIFY, app, (uint8_t)type, &b, NULL, NULL,
	    true);
	wk_buf_clear(&b);
	return tries_of(gm, rc, tries_left);
}

int
wk_gm_pin_status(wk_gm *gm, uint8_t app, int type, bool *verified,
    unsigned *tries_left)
{
	int rc;

	if (gm == NULL || !type_ok(type) || verified == NULL)
		return WK_ERR_ARG;
	rc = wk_gm_cmd(gm, WK_GM_INS_VERIFY, app, (uint8_t)type, NULL, NULL, NULL,
	    false);
	*verified = rc == WK_OK;
	if (rc == WK_ERR_WRONG_PIN) {
		if (tries_left != NULL)
			*tries_left = gm->sw & 0x0F;
		return WK_OK;
	}
	return tries_of(gm, rc, tries_left);
}

static int
two_pins(wk_gm *gm, uint8_t ins, uint8_t app, int type, const uint8_t *a,
    size_t alen, const uint8_t *b2, size_t blen, unsigned *tries_left)
{
	uint8_t st[2 * (WK_GM_PIN_MAX + 2)];
	wk_buf b;
	int rc;

	if (gm == NULL || !type_ok(type) || !pin_ok(a, alen) || !pin_ok(b2, blen))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_PIN, a, alen);
	wk_tlv_put(&b, WK_GM_TAG_NEW_PIN, b2, blen);
	rc = wk_gm_cmd(gm, ins, app, (uint8_t)type, &b, NULL, NULL, true);
	wk_buf_clear(&b);
	return tries_of(gm, rc, tries_left);
}

int
wk_gm_change_pin(wk_gm *gm, uint8_t app, int type, const uint8_t *old,
    size_t old_len, const uint8_t *new_pin, size_t new_len,
    unsigned *tries_left)
{
	return two_pins(gm, WK_GM_INS_CHANGE_PIN, app, type, old, old_len,
	    new_pin, new_len, tries_left);
}

int
wk_gm_unblock_pin(wk_gm *gm, uint8_t app, const uint8_t *admin_pin,
    size_t admin_len, const uint8_t *new_pin, size_t new_len,
    unsigned *tries_left)
{
	return two_pins(gm, WK_GM_INS_UNBLOCK, app, WK_GM_PIN_USER, admin_pin,
	    admin_len, new_pin, new_len, tries_left);
}

int
wk_gm_pin_info(wk_gm *gm, uint8_t app, int type, unsigned *max_tries,
    unsigned *tries_left, bool *is_default)
{
	uint8_t r[4];
	size_t n = sizeof(r);
	int rc;

	if (gm == NULL || !type_ok(type))
		return WK_ERR_ARG;
	if ((rc = wk_gm_cmd(gm, WK_GM_INS_PIN_INFO, app, (uint8_t)type, NULL, r, &n,
	    false)) != WK_OK)
		return rc;
	if (n != 3)
		return WK_ERR_CARD_MALFORMED;
	if (max_tries != NULL)
		*max_tries = r[0];
	if (tries_left != NULL)
		*tries_left = r[1];
	if (is_default != NULL)
		*is_default = r[2] != 0;
	return WK_OK;
}

int
wk_gm_logout(wk_gm *gm, uint8_t app)
{
	if (gm == NULL)
		return WK_ERR_ARG;
	return wk_gm_cmd(gm, WK_GM_INS_LOGOUT, app, 0, NULL, NULL, NULL, false);
}

/* ---- files ---- */

int
wk_gm_file_create(wk_gm *gm, uint8_t app, const char *name, uint32_t size,
    uint32_t read_rights, uint32_t write_rights)
{
	uint8_t st[64];
	wk_buf b;

	if (gm == NULL || !wk_gm_name_ok(name, WK_GM_FILE_NAME_MAX))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, name, strlen(name));
	wk_gm_put32(&b, WK_GM_TAG_SIZE, size);
	wk_gm_put32(&b, WK_GM_TAG_RIGHTS, read_rights);
	wk_gm_put32(&b, WK_GM_TAG_WRITE_RIGHTS, write_rights);
	return wk_gm_cmd(gm, WK_GM_INS_FILE_CREATE, app, 0, &b, NULL, NULL, false);
}

int
wk_gm_file_delete(wk_gm *gm, uint8_t app, const char *name)
{
	return wk_gm_name_cmd(gm, WK_GM_INS_FILE_DELETE, app, 0, name,
	    WK_GM_FILE_NAME_MAX, NULL, NULL);
}

int
wk_gm_file_list(wk_gm *gm, uint8_t app, wk_gm_name *out, size_t cap, size_t *n)
{
	return wk_gm_list_cmd(gm, WK_GM_INS_FILE_LIST, app, false, out, cap, n);
}

int
wk_gm_file_info(wk_gm *gm, uint8_t app, const char *name, uint32_t *size,
    uint32_t *read_rights, uint32_t *write_rights)
{
	uint8_t r[16];
	size_t n = sizeof(r);
	int rc;

	if ((rc = wk_gm_name_cmd(gm, WK_GM_INS_FILE_INFO, app, 0, name,
	    WK_GM_FILE_NAME_MAX, r, &n)) != WK_OK)
		return rc;
	if (n != 12)
		return WK_ERR_CARD_MALFORMED;
	if (size != NULL)
		*size = wk_gm_be32(r);
	if (read_rights != NULL)
		*read_rights = wk_gm_be32(r + 4);
	if (write_rights != NULL)
		*write_rights = wk_gm_be32(r + 8);
	return WK_OK;
}

int
wk_gm_file_read(wk_gm *gm, uint8_t app, const char *name, uint32_t offset,
    uint8_t *out, size_t *len)
{
	uint8_t st[64];
	size_t got = 0;
	wk_buf b;
	int rc, end;

	if (gm == NULL || out == NULL || len == NULL ||
	    !wk_gm_name_ok(name, WK_GM_FILE_NAME_MAX))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(gm->card)) != WK_OK)
		return rc;
	while (got < *len) {
		size_t chunk = *len - got > 4096 ? 4096 : *len - got;
		size_t n = chunk;

		wk_buf_init_fixed(&b, st, sizeof(st));
		wk_tlv_put(&b, WK_GM_TAG_NAME, name, strlen(name));
		wk_gm_put32(&b, WK_GM_TAG_OFFSET, offset + (uint32_t)got);
		wk_gm_put32(&b, WK_GM_TAG_SIZE, (uint32_t)chunk);
		if ((rc = wk_gm_cmd(gm, WK_GM_INS_FILE_READ, app, 0, &b, out + got,
		    &n, true)) != WK_OK)
			goto out;
		if (n > chunk) {
			rc = WK_ERR_CARD_MALFORMED;
			goto out;
		}
		got += n;
		if (n < chunk)
			break;	/* the end of the file */
	}
	*len = got;
	rc = WK_OK;
out:
	end = wk_card_end(gm->card);
	return rc != WK_OK ? rc : end;
}

int
wk_gm_file_write(wk_gm *gm, uint8_t app, const char *name, uint32_t offset,
    const uint8_t *data, size_t len)
{
	wk_buf b;
	size_t done = 0;
	int rc, end;

	if (gm == NULL || data == NULL || len == 0 ||
	    !wk_gm_name_ok(name, WK_GM_FILE_NAME_MAX))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(gm->card)) != WK_OK)
		return rc;
	while (done < len) {
		size_t chunk = len - done > 4096 ? 4096 : len - done;

		wk_buf_init_heap(&b, 4096 + 64);
		wk_tlv_put(&b, WK_GM_TAG_NAME, name, strlen(name));
		wk_gm_put32(&b, WK_GM_TAG_OFFSET, offset + (uint32_t)done);
		wk_tlv_put(&b, WK_GM_TAG_DATA, data + done, chunk);
		rc = wk_gm_cmd(gm, WK_GM_INS_FILE_WRITE, app, 0, &b, NULL, NULL, true);
		wk_buf_clear(&b);
		if (rc != WK_OK)
			goto out;
		done += chunk;
	}
	rc = WK_OK;
out:
	end = wk_card_end(gm->card);
	return rc != WK_OK ? rc : end;
}
