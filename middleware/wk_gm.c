/* the GM client: one function per command of the GM applet (docs/gm.md) */
#include "wk_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "wk_buf.h"
#include "wk_gm.h"
#include "wk_sm2.h"
#include "wk_tlv.h"

struct wk_gm {
	wk_card *card;
	uint16_t sw;
};

/* the largest answer of one command: a decrypted or processed chunk */
#define GM_RESP_MAX (WK_GM_DATA_MAX + 256)

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
static int
gm_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, uint8_t p2, const wk_buf *data,
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

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static void
put32(wk_buf *b, uint32_t tag, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	wk_tlv_put(b, tag, x, sizeof(x));
}

static bool
name_ok(const char *name, size_t max)
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
	if ((rc = gm_cmd(gm, WK_GM_INS_INFO, 0, 0, NULL, r, &n, false)) != WK_OK)
		return rc;
	if (n != WK_GM_INFO_LEN)
		return WK_ERR_CARD_MALFORMED;
	memset(info, 0, sizeof(*info));
	memcpy(info->version, r, 2);
	memcpy(info->serial, r + 2, 8);
	memcpy(info->label, r + 10, WK_GM_LABEL_MAX);
	info->label[WK_GM_LABEL_MAX] = '\0';
	p = r + 42;
	info->sym_cap = be32(p);
	info->asym_cap = be32(p + 4);
	info->hash_cap = be32(p + 8);
	info->dev_auth_alg = be32(p + 12);
	info->total_space = be32(p + 16);
	info->free_space = be32(p + 20);
	info->max_data = be32(p + 24);
	dev = be32(p + 28);
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
	return tries_of(gm, gm_cmd(gm, WK_GM_INS_DEV_AUTH, 0, 0, &b, NULL, NULL,
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
	return gm_cmd(gm, WK_GM_INS_DEV_AUTH, 0, 0, NULL, NULL, NULL, false);
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
	rc = gm_cmd(gm, WK_GM_INS_SET_DEV_KEY, 0, 0, &b, NULL, NULL, true);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_set_label(wk_gm *gm, const char *label)
{
	uint8_t st[WK_GM_LABEL_MAX];
	wk_buf b;

	if (gm == NULL || !name_ok(label, WK_GM_LABEL_MAX))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_buf_add(&b, label, strlen(label));
	return gm_cmd(gm, WK_GM_INS_SET_LABEL, 0, 0, &b, NULL, NULL, false);
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

	if (gm == NULL || app == NULL || !name_ok(name, WK_GM_APP_NAME_MAX) ||
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
	put32(&b, WK_GM_TAG_RIGHTS, create_rights);
	rc = gm_cmd(gm, WK_GM_INS_APP_CREATE, 0, 0, &b, r, &n, true);
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

static int
list_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, bool ids, wk_gm_name *out,
    size_t cap, size_t *n)
{
	uint8_t *r;
	size_t rl = 4096;
	int rc;

	if (gm == NULL || n == NULL)
		return WK_ERR_ARG;
	if ((r = malloc(rl)) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = gm_cmd(gm, ins, p1, 0, NULL, r, &rl, false)) == WK_OK)
		rc = parse_names(r, rl, ids, out, cap, n);
	free(r);
	return rc;
}

int
wk_gm_app_list(wk_gm *gm, wk_gm_name *out, size_t cap, size_t *n)
{
	return list_cmd(gm, WK_GM_INS_APP_LIST, 0, true, out, cap, n);
}

static int
name_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, uint8_t p2, const char *name,
    size_t max, uint8_t *r, size_t *rl)
{
	wk_buf b;
	uint8_t st[WK_GM_NAME_MAX];

	if (gm == NULL || !name_ok(name, max))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_buf_add(&b, name, strlen(name));
	return gm_cmd(gm, ins, p1, p2, &b, r, rl, false);
}

int
wk_gm_app_delete(wk_gm *gm, const char *name)
{
	return name_cmd(gm, WK_GM_INS_APP_DELETE, 0, 0, name,
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
	if ((rc = name_cmd(gm, WK_GM_INS_APP_OPEN, 0, 0, name,
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
	rc = gm_cmd(gm, WK_GM_INS_VERIFY, app, (uint8_t)type, &b, NULL, NULL,
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
	rc = gm_cmd(gm, WK_GM_INS_VERIFY, app, (uint8_t)type, NULL, NULL, NULL,
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
	rc = gm_cmd(gm, ins, app, (uint8_t)type, &b, NULL, NULL, true);
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
	if ((rc = gm_cmd(gm, WK_GM_INS_PIN_INFO, app, (uint8_t)type, NULL, r, &n,
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
	return gm_cmd(gm, WK_GM_INS_LOGOUT, app, 0, NULL, NULL, NULL, false);
}

/* ---- files ---- */

int
wk_gm_file_create(wk_gm *gm, uint8_t app, const char *name, uint32_t size,
    uint32_t read_rights, uint32_t write_rights)
{
	uint8_t st[64];
	wk_buf b;

	if (gm == NULL || !name_ok(name, WK_GM_FILE_NAME_MAX))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, name, strlen(name));
	put32(&b, WK_GM_TAG_SIZE, size);
	put32(&b, WK_GM_TAG_RIGHTS, read_rights);
	put32(&b, WK_GM_TAG_WRITE_RIGHTS, write_rights);
	return gm_cmd(gm, WK_GM_INS_FILE_CREATE, app, 0, &b, NULL, NULL, false);
}

int
wk_gm_file_delete(wk_gm *gm, uint8_t app, const char *name)
{
	return name_cmd(gm, WK_GM_INS_FILE_DELETE, app, 0, name,
	    WK_GM_FILE_NAME_MAX, NULL, NULL);
}

int
wk_gm_file_list(wk_gm *gm, uint8_t app, wk_gm_name *out, size_t cap, size_t *n)
{
	return list_cmd(gm, WK_GM_INS_FILE_LIST, app, false, out, cap, n);
}

int
wk_gm_file_info(wk_gm *gm, uint8_t app, const char *name, uint32_t *size,
    uint32_t *read_rights, uint32_t *write_rights)
{
	uint8_t r[16];
	size_t n = sizeof(r);
	int rc;

	if ((rc = name_cmd(gm, WK_GM_INS_FILE_INFO, app, 0, name,
	    WK_GM_FILE_NAME_MAX, r, &n)) != WK_OK)
		return rc;
	if (n != 12)
		return WK_ERR_CARD_MALFORMED;
	if (size != NULL)
		*size = be32(r);
	if (read_rights != NULL)
		*read_rights = be32(r + 4);
	if (write_rights != NULL)
		*write_rights = be32(r + 8);
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
	    !name_ok(name, WK_GM_FILE_NAME_MAX))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(gm->card)) != WK_OK)
		return rc;
	while (got < *len) {
		size_t chunk = *len - got > 4096 ? 4096 : *len - got;
		size_t n = chunk;

		wk_buf_init_fixed(&b, st, sizeof(st));
		wk_tlv_put(&b, WK_GM_TAG_NAME, name, strlen(name));
		put32(&b, WK_GM_TAG_OFFSET, offset + (uint32_t)got);
		put32(&b, WK_GM_TAG_SIZE, (uint32_t)chunk);
		if ((rc = gm_cmd(gm, WK_GM_INS_FILE_READ, app, 0, &b, out + got,
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
	    !name_ok(name, WK_GM_FILE_NAME_MAX))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(gm->card)) != WK_OK)
		return rc;
	while (done < len) {
		size_t chunk = len - done > 4096 ? 4096 : len - done;

		wk_buf_init_heap(&b, 4096 + 64);
		wk_tlv_put(&b, WK_GM_TAG_NAME, name, strlen(name));
		put32(&b, WK_GM_TAG_OFFSET, offset + (uint32_t)done);
		wk_tlv_put(&b, WK_GM_TAG_DATA, data + done, chunk);
		rc = gm_cmd(gm, WK_GM_INS_FILE_WRITE, app, 0, &b, NULL, NULL, true);
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

/* ---- containers ---- */

int
wk_gm_cont_create(wk_gm *gm, uint8_t app, const char *name)
{
	return name_cmd(gm, WK_GM_INS_CONT_CREATE, app, 0, name, WK_GM_NAME_MAX,
	    NULL, NULL);
}

int
wk_gm_cont_delete(wk_gm *gm, uint8_t app, const char *name)
{
	return name_cmd(gm, WK_GM_INS_CONT_DELETE, app, 0, name, WK_GM_NAME_MAX,
	    NULL, NULL);
}

int
wk_gm_cont_list(wk_gm *gm, uint8_t app, wk_gm_name *out, size_t cap, size_t *n)
{
	return list_cmd(gm, WK_GM_INS_CONT_LIST, app, false, out, cap, n);
}

int
wk_gm_cont_info(wk_gm *gm, uint8_t app, const char *name, int *type,
    unsigned *flags)
{
	uint8_t r[4];
	size_t n = sizeof(r);
	int rc;

	if ((rc = name_cmd(gm, WK_GM_INS_CONT_INFO, app, 0, name,
	    WK_GM_NAME_MAX, r, &n)) != WK_OK)
		return rc;
	if (n != 2)
		return WK_ERR_CARD_MALFORMED;
	if (type != NULL)
		*type = r[0];
	if (flags != NULL)
		*flags = r[1];
	return WK_OK;
}

int
wk_gm_cert_import(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    const uint8_t *der, size_t len)
{
	wk_buf b;
	int rc;

	if (gm == NULL || !name_ok(cont, WK_GM_NAME_MAX) || der == NULL ||
	    len == 0 || len > WK_GM_CERT_MAX)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_CERT_MAX + 128);
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_tlv_put(&b, WK_GM_TAG_DATA, der, len);
	rc = gm_cmd(gm, WK_GM_INS_CERT_IMPORT, app, sign, &b, NULL, NULL, false);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_cert_export(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t *der, size_t *len)
{
	uint8_t *r;
	size_t n = WK_GM_CERT_MAX + 16;
	int rc;

	if (len == NULL)
		return WK_ERR_ARG;
	if ((r = malloc(n)) == NULL)
		return WK_ERR_MEMORY;
	if ((rc = name_cmd(gm, WK_GM_INS_CERT_EXPORT, app, sign, cont,
	    WK_GM_NAME_MAX, r, &n)) != WK_OK)
		goto out;
	if (der == NULL || *len < n) {
		*len = n;
		rc = der == NULL ? WK_OK : WK_ERR_ARG;
		goto out;
	}
	memcpy(der, r, n);
	*len = n;
out:
	free(r);
	return rc;
}

/* a public key or signature answer: exactly 64 bytes */
static int
sig_answer(int rc, const uint8_t *r, size_t n, uint8_t sig[64])
{
	if (rc != WK_OK)
		return rc;
	if (n != 64)
		return WK_ERR_CARD_MALFORMED;
	memcpy(sig, r, 64);
	return WK_OK;
}

/* GENERATE or PUBLIC KEY of a container's key pair: its public key */
static int
pub_cmd(wk_gm *gm, uint8_t ins, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64])
{
	uint8_t r[80];
	size_t n = sizeof(r);
	int rc;

	if (pub == NULL)
		return WK_ERR_ARG;
	rc = name_cmd(gm, ins, app, sign, cont, WK_GM_NAME_MAX, r, &n);
	return sig_answer(rc, r, n, pub);
}

int
wk_gm_generate(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64])
{
	return pub_cmd(gm, WK_GM_INS_GENERATE, app, cont, sign, pub);
}

int
wk_gm_public_key(wk_gm *gm, uint8_t app, const char *cont, bool sign,
    uint8_t pub[64])
{
	return pub_cmd(gm, WK_GM_INS_PUBLIC_KEY, app, cont, sign, pub);
}

int
wk_gm_import_enveloped(wk_gm *gm, uint8_t app, const char *cont,
    uint32_t sym_alg, uint32_t bits, const uint8_t enc_priv[32],
    const uint8_t pub[64], const uint8_t *cipher, size_t cipher_len)
{
	uint8_t st[512];
	wk_buf b;
	int rc;

	if (gm == NULL || !name_ok(cont, WK_GM_NAME_MAX) || enc_priv == NULL ||
	    pub == NULL || cipher == NULL || cipher_len != 96 + 16)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	put32(&b, WK_GM_TAG_ALG, sym_alg);
	put32(&b, WK_GM_TAG_SIZE, bits);
	wk_tlv_put(&b, WK_GM_TAG_ENC_PRIV, enc_priv, 32);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_CIPHER, cipher, cipher_len);
	rc = gm_cmd(gm, WK_GM_INS_IMPORT_KEY, app, 0, &b, NULL, NULL, true);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_sign(wk_gm *gm, uint8_t app, const char *cont, const uint8_t e[32],
    uint8_t sig[64])
{
	int gm_rc;
	uint8_t st[128], r[80];
	size_t n = sizeof(r);
	wk_buf b;

	if (gm == NULL || !name_ok(cont, WK_GM_NAME_MAX) || e == NULL ||
	    sig == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_tlv_put(&b, WK_GM_TAG_DATA, e, 32);
	gm_rc = gm_cmd(gm, WK_GM_INS_SIGN, app, WK_GM_SIGN_DIGEST, &b,
	    r, &n, false);
	return sig_answer(gm_rc, r, n, sig);
}

int
wk_gm_sign_message(wk_gm *gm, uint8_t app, const char *cont,
    const uint8_t *msg, size_t len, const uint8_t *id, size_t id_len,
    uint8_t sig[64])
{
	int gm_rc;
	uint8_t r[80];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || !name_ok(cont, WK_GM_NAME_MAX) || sig == NULL ||
	    (msg == NULL && len > 0) || len > WK_GM_DATA_MAX ||
	    (id != NULL && (id_len == 0 || id_len > WK_GM_ID_MAX)))
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_tlv_put(&b, WK_GM_TAG_DATA, msg, len);
	if (id != NULL)
		wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	gm_rc = gm_cmd(gm, WK_GM_INS_SIGN, app, WK_GM_SIGN_MESSAGE, &b,
	    r, &n, false);
	rc = sig_answer(gm_rc, r, n, sig);
	wk_buf_clear(&b);
	return rc;
}

static int
bytes_answer(const uint8_t *r, size_t n, uint8_t *out, size_t *out_len)
{
	if (out == NULL || *out_len < n) {
		*out_len = n;
		return out == NULL ? WK_OK : WK_ERR_ARG;
	}
	memcpy(out, r, n);
	*out_len = n;
	return WK_OK;
}

/* one command whose answer may be as long as a data chunk */
static int
big_cmd(wk_gm *gm, uint8_t ins, uint8_t p1, uint8_t p2, wk_buf *b,
    uint8_t *out, size_t *out_len, bool secret)
{
	uint8_t r[GM_RESP_MAX];
	size_t n = sizeof(r);
	int rc;

	if (out_len == NULL)
		return WK_ERR_ARG;
	if ((rc = gm_cmd(gm, ins, p1, p2, b, r, &n, secret)) == WK_OK)
		rc = bytes_answer(r, n, out, out_len);
	sodium_memzero(r, sizeof(r));
	return rc;
}

int
wk_gm_decrypt(wk_gm *gm, uint8_t app, const char *cont, const uint8_t *cipher,
    size_t len, uint8_t *out, size_t *out_len)
{
	wk_buf b;
	int rc;

	if (gm == NULL || !name_ok(cont, WK_GM_NAME_MAX) || cipher == NULL ||
	    len <= 96 || len > 96 + WK_GM_DATA_MAX)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	wk_tlv_put(&b, WK_GM_TAG_CIPHER, cipher, len);
	rc = big_cmd(gm, WK_GM_INS_DECRYPT, app, 0, &b, out, out_len, true);
	wk_buf_clear(&b);
	return rc;
}

static int
verify_cmd(wk_gm *gm, uint8_t p2, const uint8_t pub[64], const uint8_t *data,
    size_t len, const uint8_t *id, size_t id_len, const uint8_t sig[64])
{
	wk_buf b;
	int rc;

	if (gm == NULL || pub == NULL || sig == NULL ||
	    (data == NULL && len > 0) || len > WK_GM_DATA_MAX ||
	    (id != NULL && (id_len == 0 || id_len > WK_GM_ID_MAX)))
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_DATA, data, len);
	wk_tlv_put(&b, WK_GM_TAG_SIG, sig, 64);
	if (id != NULL)
		wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	rc = gm_cmd(gm, WK_GM_INS_EXT_VERIFY, 0, p2, &b, NULL, NULL, false);
	wk_buf_clear(&b);
	if (rc == WK_ERR_SW && gm->sw == 0x6300)
		rc = WK_ERR_AUTH_FAILED;
	return rc;
}

int
wk_gm_verify(wk_gm *gm, const uint8_t pub[64], const uint8_t e[32],
    const uint8_t sig[64])
{
	if (e == NULL)
		return WK_ERR_ARG;
	return verify_cmd(gm, WK_GM_SIGN_DIGEST, pub, e, 32, NULL, 0, sig);
}

int
wk_gm_verify_message(wk_gm *gm, const uint8_t pub[64], const uint8_t *msg,
    size_t len, const uint8_t *id, size_t id_len, const uint8_t sig[64])
{
	return verify_cmd(gm, WK_GM_SIGN_MESSAGE, pub, msg, len, id, id_len, sig);
}

int
wk_gm_encrypt(wk_gm *gm, const uint8_t pub[64], const uint8_t *in, size_t len,
    uint8_t *out, size_t *out_len)
{
	wk_buf b;
	int rc;

	if (gm == NULL || pub == NULL || in == NULL || len == 0 ||
	    len > WK_GM_DATA_MAX)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_DATA, in, len);
	rc = big_cmd(gm, WK_GM_INS_EXT_ENCRYPT, 0, 0, &b, out, out_len, true);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_ext_sign(wk_gm *gm, const uint8_t d[32], const uint8_t e[32],
    uint8_t sig[64])
{
	int gm_rc;
	uint8_t st[80], r[80];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || d == NULL || e == NULL || sig == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_PRIV, d, 32);
	wk_tlv_put(&b, WK_GM_TAG_DATA, e, 32);
	gm_rc = gm_cmd(gm, WK_GM_INS_EXT_SIGN, 0, 0, &b, r, &n, true);
	rc = sig_answer(gm_rc,
	    r, n, sig);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_ext_decrypt(wk_gm *gm, const uint8_t d[32], const uint8_t *cipher,
    size_t len, uint8_t *out, size_t *out_len)
{
	wk_buf b;
	int rc;

	if (gm == NULL || d == NULL || cipher == NULL || len <= 96 ||
	    len > 96 + WK_GM_DATA_MAX)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, WK_GM_DATA_MAX + 512);
	wk_tlv_put(&b, WK_GM_TAG_PRIV, d, 32);
	wk_tlv_put(&b, WK_GM_TAG_CIPHER, cipher, len);
	rc = big_cmd(gm, WK_GM_INS_EXT_DECRYPT, 0, 0, &b, out, out_len, true);
	wk_buf_clear(&b);
	return rc;
}

/* ---- session objects ---- */

static int
handle_answer(int rc, const uint8_t *r, size_t n, size_t want, uint32_t *h)
{
	if (rc != WK_OK)
		return rc;
	if (n != want)
		return WK_ERR_CARD_MALFORMED;
	*h = be32(r);
	return WK_OK;
}

int
wk_gm_key_set(wk_gm *gm, uint32_t alg, const uint8_t key[16], uint32_t *handle)
{
	int gm_rc;
	uint8_t st[64], r[8];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || key == NULL || handle == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_DATA, key, 16);
	gm_rc = gm_cmd(gm, WK_GM_INS_KEY_SET, 0, 0, &b, r, &n, true);
	rc = handle_answer(gm_rc,
	    r, n, 4, handle);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_key_unwrap(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t *cipher, size_t len, uint32_t *handle)
{
	int gm_rc;
	uint8_t st[256], r[8];
	size_t n = sizeof(r);
	wk_buf b;

	if (gm == NULL || !name_ok(cont, WK_GM_NAME_MAX) || cipher == NULL ||
	    len != 96 + 16 || handle == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_CIPHER, cipher, len);
	gm_rc = gm_cmd(gm, WK_GM_INS_KEY_UNWRAP, app, 0, &b, r, &n,
	    false);
	return handle_answer(gm_rc, r, n, 4, handle);
}

int
wk_gm_key_wrap(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t pub[64], uint8_t cipher[112], uint32_t *handle)
{
	int gm_rc;
	uint8_t st[160], r[128];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || !name_ok(cont, WK_GM_NAME_MAX) || pub == NULL ||
	    cipher == NULL || handle == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	gm_rc = gm_cmd(gm, WK_GM_INS_KEY_WRAP, app, 0, &b, r, &n,
	    false);
	if ((rc = handle_answer(gm_rc, r, n, 4 + 112, handle)) != WK_OK)
		return rc;
	memcpy(cipher, r + 4, 112);
	return WK_OK;
}

int
wk_gm_cipher_init(wk_gm *gm, uint32_t handle, int op, const uint8_t *iv,
    size_t iv_len, bool padding, uint32_t *mac_handle)
{
	uint8_t st[64], r[8], pad = padding ? 1 : 0;
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || op < WK_GM_OP_ENCRYPT || op > WK_GM_OP_MAC ||
	    (iv != NULL && iv_len != 16) ||
	    (op == WK_GM_OP_MAC && mac_handle == NULL))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	put32(&b, WK_GM_TAG_HANDLE, handle);
	if (iv != NULL)
		wk_tlv_put(&b, WK_GM_TAG_IV, iv, 16);
	if (op != WK_GM_OP_MAC)
		wk_tlv_put(&b, WK_GM_TAG_PADDING, &pad, 1);
	rc = gm_cmd(gm, WK_GM_INS_CIPHER_INIT, 0, (uint8_t)op, &b, r, &n, false);
	if (op == WK_GM_OP_MAC)
		return handle_answer(rc, r, n, 4, mac_handle);
	return rc;
}

int
wk_gm_process(wk_gm *gm, uint32_t handle, int step, const uint8_t *in,
    size_t len, uint8_t *out, size_t *out_len)
{
	uint8_t r[GM_RESP_MAX];
	size_t got = 0, done = 0, chunk = 1024;
	wk_buf b;
	int rc, end;

	if (gm == NULL || out == NULL || out_len == NULL ||
	    step < WK_GM_STEP_UPDATE || step > WK_GM_STEP_ONCE ||
	    (in == NULL && len > 0))
		return WK_ERR_ARG;
	if ((rc = wk_card_begin(gm->card)) != WK_OK)
		return rc;
	/* pieces of 1 KiB; a one-shot operation becomes updates and a final */
	do {
		size_t take = len - done > chunk ? chunk : len - done;
		bool last = done + take == len;
		int s = !last ? WK_GM_STEP_UPDATE :
		    step == WK_GM_STEP_ONCE && done > 0 ? WK_GM_STEP_FINAL : step;
		size_t n = GM_RESP_MAX;

		wk_buf_init_heap(&b, chunk + 64);
		put32(&b, WK_GM_TAG_HANDLE, handle);
		if (take > 0)
			wk_tlv_put(&b, WK_GM_TAG_DATA, in + done, take);
		rc = gm_cmd(gm, WK_GM_INS_PROCESS, 0, (uint8_t)s, &b, r, &n, true);
		wk_buf_clear(&b);
		if (rc != WK_OK)
			goto out;
		if (got + n > *out_len) {
			rc = WK_ERR_ARG;
			goto out;
		}
		memcpy(out + got, r, n);
		got += n;
		done += take;
	} while (done < len);
	*out_len = got;
	rc = WK_OK;
out:
	end = wk_card_end(gm->card);
	sodium_memzero(r, sizeof(r));
	return rc != WK_OK ? rc : end;
}

int
wk_gm_digest_init(wk_gm *gm, uint32_t alg, const uint8_t *pub,
    const uint8_t *id, size_t id_len, uint32_t *handle)
{
	int gm_rc;
	uint8_t st[256], r[8];
	size_t n = sizeof(r);
	wk_buf b;

	if (gm == NULL || handle == NULL ||
	    (id != NULL && (id_len == 0 || id_len > WK_GM_ID_MAX || pub == NULL)))
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	put32(&b, WK_GM_TAG_ALG, alg);
	if (pub != NULL)
		wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	if (id != NULL)
		wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	gm_rc = gm_cmd(gm, WK_GM_INS_DIGEST_INIT, 0, 0, &b, r, &n,
	    false);
	return handle_answer(gm_rc, r, n, 4, handle);
}

int
wk_gm_close(wk_gm *gm, uint32_t handle)
{
	uint8_t st[4] = { (uint8_t)(handle >> 24), (uint8_t)(handle >> 16),
	    (uint8_t)(handle >> 8), (uint8_t)handle };
	wk_buf b;

	if (gm == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	b.len = 4;
	return gm_cmd(gm, WK_GM_INS_CLOSE, 0, 0, &b, NULL, NULL, false);
}

static bool
id_ok(const uint8_t *id, size_t len)
{
	return id != NULL && len > 0 && len <= WK_GM_ID_MAX;
}

int
wk_gm_agree_start(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t *id, size_t id_len, uint32_t *handle, uint8_t temp_pub[64])
{
	int gm_rc;
	uint8_t st[256], r[80];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || !name_ok(cont, WK_GM_NAME_MAX) || !id_ok(id, id_len) ||
	    handle == NULL || temp_pub == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	gm_rc = gm_cmd(gm, WK_GM_INS_AGREE_START, app, 0, &b, r,
	    &n, false);
	if ((rc = handle_answer(gm_rc, r, n, 68, handle)) != WK_OK)
		return rc;
	memcpy(temp_pub, r + 4, 64);
	return WK_OK;
}

int
wk_gm_agree_respond(wk_gm *gm, uint8_t app, const char *cont, uint32_t alg,
    const uint8_t sponsor_pub[64], const uint8_t sponsor_temp[64],
    const uint8_t *id, size_t id_len, const uint8_t *sponsor_id,
    size_t sponsor_id_len, uint32_t *key, uint8_t temp_pub[64])
{
	int gm_rc;
	uint8_t st[640], r[80];
	size_t n = sizeof(r);
	wk_buf b;
	int rc;

	if (gm == NULL || !name_ok(cont, WK_GM_NAME_MAX) || sponsor_pub == NULL ||
	    sponsor_temp == NULL || !id_ok(id, id_len) ||
	    !id_ok(sponsor_id, sponsor_id_len) || key == NULL || temp_pub == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	wk_tlv_put(&b, WK_GM_TAG_NAME, cont, strlen(cont));
	put32(&b, WK_GM_TAG_ALG, alg);
	wk_tlv_put(&b, WK_GM_TAG_PUB, sponsor_pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_TEMP_PUB, sponsor_temp, 64);
	wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	wk_tlv_put(&b, WK_GM_TAG_PEER_ID, sponsor_id, sponsor_id_len);
	gm_rc = gm_cmd(gm, WK_GM_INS_AGREE_RESPOND, app, 0, &b,
	    r, &n, false);
	if ((rc = handle_answer(gm_rc, r, n, 68, key)) != WK_OK)
		return rc;
	memcpy(temp_pub, r + 4, 64);
	return WK_OK;
}

int
wk_gm_agree_finish(wk_gm *gm, uint32_t handle, const uint8_t pub[64],
    const uint8_t temp_pub[64], const uint8_t *id, size_t id_len,
    uint32_t *key)
{
	int gm_rc;
	uint8_t st[512], r[8];
	size_t n = sizeof(r);
	wk_buf b;

	if (gm == NULL || pub == NULL || temp_pub == NULL || !id_ok(id, id_len) ||
	    key == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	put32(&b, WK_GM_TAG_HANDLE, handle);
	wk_tlv_put(&b, WK_GM_TAG_PUB, pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_TEMP_PUB, temp_pub, 64);
	wk_tlv_put(&b, WK_GM_TAG_ID, id, id_len);
	gm_rc = gm_cmd(gm, WK_GM_INS_AGREE_FINISH, 0, 0, &b, r, &n,
	    false);
	return handle_answer(gm_rc, r, n, 4, key);
}

/* ---- host-side forms ---- */

int
wk_gm_pub_to_spki(const uint8_t pub[64], uint8_t *der, size_t *len)
{
	EVP_PKEY *k;
	unsigned char *p = NULL;
	int n, rc = WK_ERR_ARG;

	if (pub == NULL || len == NULL)
		return WK_ERR_ARG;
	if ((k = wk_sm2_key_pub(pub)) == NULL)
		return WK_ERR_BAD_DATA;
	if ((n = i2d_PUBKEY(k, &p)) <= 0) {
		rc = WK_ERR_CRYPTO;
		goto out;
	}
	rc = bytes_answer(p, (size_t)n, der, len);
out:
	OPENSSL_free(p);
	EVP_PKEY_free(k);
	return rc;
}

int
wk_gm_pub_from_cert(const uint8_t *der, size_t len, uint8_t pub[64])
{
	const uint8_t *p = der;
	X509 *x;
	EVP_PKEY *k;
	char group[32];
	size_t gn = 0;
	int rc = WK_ERR_BAD_DATA;

	if (der == NULL || pub == NULL)
		return WK_ERR_ARG;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return WK_ERR_BAD_DATA;
	if ((k = X509_get0_pubkey(x)) != NULL &&
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof(group), &gn) == 1 && strcmp(group, "SM2") == 0 &&
	    wk_sm2_key_export(k, pub, NULL) == WK_SM2_OK)
		rc = WK_OK;
	X509_free(x);
	return rc;
}

int
wk_gm_sig_to_der(const uint8_t sig[64], uint8_t *der, size_t *len)
{
	uint8_t st[80];
	wk_buf b;

	if (sig == NULL || len == NULL)
		return WK_ERR_ARG;
	wk_buf_init_fixed(&b, st, sizeof(st));
	if (wk_sm2_sig_to_der(sig, &b) != WK_SM2_OK)
		return WK_ERR_CRYPTO;
	return bytes_answer(b.p, b.len, der, len);
}

int
wk_gm_sig_from_der(const uint8_t *der, size_t len, uint8_t sig[64])
{
	if (der == NULL || sig == NULL)
		return WK_ERR_ARG;
	return wk_sm2_sig_from_der(der, len, sig) == WK_SM2_OK ? WK_OK :
	    WK_ERR_BAD_DATA;
}

int
wk_gm_cipher_to_der(const uint8_t *raw, size_t raw_len, uint8_t *der,
    size_t *len)
{
	wk_buf b;
	int rc;

	if (raw == NULL || len == NULL)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, raw_len + 64);
	if (wk_sm2_cipher_to_der(raw, raw_len, &b) != WK_SM2_OK)
		rc = WK_ERR_BAD_DATA;
	else
		rc = bytes_answer(b.p, b.len, der, len);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_cipher_from_der(const uint8_t *der, size_t der_len, uint8_t *raw,
    size_t *len)
{
	wk_buf b;
	int rc;

	if (der == NULL || len == NULL)
		return WK_ERR_ARG;
	wk_buf_init_heap(&b, der_len);
	if (wk_sm2_cipher_from_der(der, der_len, &b) != WK_SM2_OK)
		rc = WK_ERR_BAD_DATA;
	else
		rc = bytes_answer(b.p, b.len, raw, len);
	wk_buf_clear(&b);
	return rc;
}

int
wk_gm_digest_e(const uint8_t pub[64], const uint8_t *id, size_t id_len,
    const uint8_t *msg, size_t len, uint8_t e[32])
{
	if (pub == NULL || e == NULL || (msg == NULL && len > 0))
		return WK_ERR_ARG;
	if (id == NULL) {
		id = (const uint8_t *)WK_SM2_DEFAULT_ID;
		id_len = WK_SM2_DEFAULT_ID_LEN;
	}
	switch (wk_sm2_e(pub, id, id_len, msg != NULL ? msg :
	    (const uint8_t *)"", len, e)) {
	case WK_SM2_OK:
		return WK_OK;
	case WK_SM2_BAD_INPUT:
		return WK_ERR_ARG;
	default:
		return WK_ERR_CRYPTO;
	}
}
