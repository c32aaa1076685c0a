/*
 * the device and its applications: device information and authentication,
 * labels, applications with their admin and user PINs (GM/T 0016 7.1-7.3;
 * the PIN commands are gm_pin.c).
 */
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "gm_int.h"

#define GM_INDEX_MAX 8192u

bool
gm_name_ok(const uint8_t *name, size_t len, size_t max)
{
	if (name == NULL || len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] < 0x20 || name[i] == 0x7F)
			return false;
	return true;
}

int
gm_index_read(vc_card *card, const char *key, bool files, gm_entry *out,
    size_t cap, size_t *n)
{
	wk_buf b;
	wk_cur c;
	uint8_t id, len;
	const uint8_t *name;
	int r = -1, g;

	*n = 0;
	wk_buf_init_heap(&b, GM_INDEX_MAX);
	g = vc_store_get(vc_card_store(card), GM_APPLET, key, &b);
	if (g == VC_STORE_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (g != VC_STORE_OK || wk_buf_failed(&b))
		goto out;
	wk_cur_init(&c, b.p, b.len);
	while (c.len > 0) {
		gm_entry *e;

		if (*n == cap || wk_cur_u8(&c, &id) != 0 ||
		    wk_cur_u8(&c, &len) != 0 || len == 0 ||
		    len > WK_GM_NAME_MAX || wk_cur_take(&c, len, &name) != 0)
			goto out;
		e = &out[*n];
		memset(e, 0, sizeof(*e));
		e->id = id;
		memcpy(e->name, name, len);
		e->name_len = len;
		if (files && (wk_cur_be32(&c, &e->size) != 0 ||
		    wk_cur_be32(&c, &e->read) != 0 ||
		    wk_cur_be32(&c, &e->write) != 0))
			goto out;
		(*n)++;
	}
	r = 0;
out:
	wk_buf_clear(&b);
	return r;
}

int
gm_index_write(vc_card *card, const char *key, bool files, const gm_entry *e,
    size_t n)
{
	wk_buf b;
	int r = -1;

	wk_buf_init_heap(&b, GM_INDEX_MAX);
	for (size_t i = 0; i < n; i++) {
		wk_buf_u8(&b, e[i].id);
		wk_buf_u8(&b, (uint8_t)e[i].name_len);
		wk_buf_add(&b, e[i].name, e[i].name_len);
		if (files) {
			wk_buf_be32(&b, e[i].size);
			wk_buf_be32(&b, e[i].read);
			wk_buf_be32(&b, e[i].write);
		}
	}
	if (wk_buf_failed(&b))
		goto out;
	if (n == 0)
		r = vc_store_del(vc_card_store(card), GM_APPLET, key) ==
		    VC_STORE_ERROR ? -1 : 0;
	else
		r = vc_store_put(vc_card_store(card), GM_APPLET, key,
		    b.p, b.len) == VC_STORE_OK ? 0 : -1;
out:
	wk_buf_clear(&b);
	return r;
}

int
gm_index_find(const gm_entry *e, size_t n, const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (e[i].name_len == len && memcmp(e[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

uint16_t
gm_app_check(vc_card *card, uint8_t app)
{
	gm_entry e[WK_GM_MAX_APPS];
	size_t n;

	if (app == 0)
		return WK_SW_WRONG_P1P2;
	if (gm_index_read(card, "apps", false, e, WK_GM_MAX_APPS, &n) != 0)
		return WK_SW_MEMORY_FAILURE;
	for (size_t i = 0; i < n; i++)
		if (e[i].id == app)
			return WK_SW_OK;
	return WK_SW_REF_NOT_FOUND;
}

gm_login *
gm_login_of(gm_state *s, uint8_t app)
{
	gm_login *free_slot = NULL;

	for (size_t i = 0; i < WK_GM_MAX_APPS; i++) {
		if (s->login[i].app == app)
			return &s->login[i];
		if (s->login[i].app == 0 && free_slot == NULL)
			free_slot = &s->login[i];
	}
	if (free_slot != NULL) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->app = app;
	}
	return free_slot;
}

bool
gm_rights_ok(gm_state *s, uint8_t app, uint32_t rights)
{
	gm_login *l;

	if (rights == WK_GM_RIGHT_ANYONE)
		return true;
	if ((l = gm_login_of(s, app)) == NULL)
		return false;
	return ((rights & WK_GM_RIGHT_ADMIN) && l->admin) ||
	    ((rights & WK_GM_RIGHT_USER) && l->user);
}

uint32_t
gm_used_space(vc_card *card)
{
	gm_entry apps[WK_GM_MAX_APPS], e[WK_GM_MAX_FILES];
	size_t na, n;
	char key[48];
	uint64_t used = 0;
	wk_buf b;

	if (gm_index_read(card, "apps", false, apps, WK_GM_MAX_APPS, &na) != 0)
		return WK_GM_TOTAL_SPACE;
	for (size_t a = 0; a < na; a++) {
		used += 512;
		gm_store_name(key, sizeof(key), "files", apps[a].id, -1);
		if (gm_index_read(card, key, true, e, WK_GM_MAX_FILES, &n) == 0)
			for (size_t i = 0; i < n; i++)
				used += e[i].size;
		gm_store_name(key, sizeof(key), "conts", apps[a].id, -1);
		if (gm_index_read(card, key, false, e, WK_GM_MAX_CONTAINERS,
		    &n) != 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			used += 512;
			for (unsigned w = 0; w < 2; w++) {
				char k[48];

				snprintf(k, sizeof(k), "a%u.c%u.x%u", apps[a].id,
				    e[i].id, w);
				wk_buf_init_heap(&b, WK_GM_CERT_MAX);
				if (vc_store_get(vc_card_store(card), GM_APPLET, k,
				    &b) == VC_STORE_OK)
					used += b.len;
				wk_buf_clear(&b);
			}
		}
	}
	return used > WK_GM_TOTAL_SPACE ? WK_GM_TOTAL_SPACE : (uint32_t)used;
}

/* ---- applications ---- */

static uint16_t
gm_app_make(vc_card *card, const uint8_t *name, size_t nlen,
    const uint8_t *apin, size_t alen, uint8_t atries, const uint8_t *upin,
    size_t ulen, uint8_t utries, uint32_t rights, bool is_default,
    uint8_t *id_out)
{
	vc_store *st = vc_card_store(card);
	gm_entry e[WK_GM_MAX_APPS + 1];
	size_t n;
	uint64_t next = 0;
	uint8_t meta[6], id = 0;
	char key[32];

	if (gm_index_read(card, "apps", false, e, WK_GM_MAX_APPS, &n) != 0)
		return WK_SW_MEMORY_FAILURE;
	if (gm_index_find(e, n, name, nlen) >= 0)
		return GM_SW_EXISTS;
	if (n >= WK_GM_MAX_APPS)
		return WK_SW_NO_SPACE;
	/* numbers are not reused soon: a handle to a deleted application
	 * does not reach its successor */
	(void)vc_store_get_u64(st, GM_APPLET, "apps.next", &next);
	for (unsigned tries = 0; tries < 255 && id == 0; tries++) {
		uint8_t cand = (uint8_t)(next % 255 + 1);
		bool used = false;

		next++;
		for (size_t i = 0; i < n; i++)
			used |= e[i].id == cand;
		if (!used)
			id = cand;
	}
	if (id == 0)
		return WK_SW_NO_SPACE;
	memset(&e[n], 0, sizeof(e[n]));
	e[n].id = id;
	memcpy(e[n].name, name, nlen);
	e[n].name_len = nlen;
	meta[0] = (uint8_t)(rights >> 24);
	meta[1] = (uint8_t)(rights >> 16);
	meta[2] = (uint8_t)(rights >> 8);
	meta[3] = (uint8_t)rights;
	meta[4] = atries;
	meta[5] = utries;
	gm_store_name(key, sizeof(key), "meta", id, -1);
	if (gm_index_write(card, "apps", false, e, n + 1) != 0 ||
	    vc_store_put_u64(st, GM_APPLET, "apps.next", next) != VC_STORE_OK ||
	    vc_store_put(st, GM_APPLET, key, meta, sizeof(meta)) != VC_STORE_OK ||
	    gm_pin_set(card, id, WK_GM_PIN_ADMIN, apin, alen, atries,
	    is_default) != 0 ||
	    gm_pin_set(card, id, WK_GM_PIN_USER, upin, ulen, utries,
	    is_default) != 0)
		return WK_SW_MEMORY_FAILURE;
	*id_out = id;
	return WK_SW_OK;
}

int
gm_dev_factory(vc_card *card)
{
	static const uint8_t label[] = "walletkey";
	vc_store *st = vc_card_store(card);
	uint8_t id;

	if (vc_store_put(st, GM_APPLET, "dev.label", label,
	    sizeof(label) - 1) != VC_STORE_OK ||
	    vc_store_put_secret(st, GM_APPLET, "dev.key",
	    (const uint8_t *)WK_GM_FACTORY_DEV_KEY, WK_GM_DEV_KEY_LEN) !=
	    VC_STORE_OK ||
	    vc_store_put_u64(st, GM_APPLET, "dev.left", WK_GM_DEV_TRIES) !=
	    VC_STORE_OK ||
	    vc_store_put_u64(st, GM_APPLET, "dev.default", 1) != VC_STORE_OK)
		return -1;
	if (gm_app_make(card, (const uint8_t *)WK_GM_FACTORY_APP,
	    strlen(WK_GM_FACTORY_APP), (const uint8_t *)WK_GM_FACTORY_PIN,
	    strlen(WK_GM_FACTORY_PIN), WK_GM_FACTORY_TRIES,
	    (const uint8_t *)WK_GM_FACTORY_PIN, strlen(WK_GM_FACTORY_PIN),
	    WK_GM_FACTORY_TRIES, WK_GM_RIGHT_USER, true, &id) != WK_SW_OK)
		return -1;
	return 0;
}

uint16_t
gm_app_create(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_APP_NAME_MAX, true },
		{ WK_GM_TAG_PIN, WK_GM_PIN_MIN, WK_GM_PIN_MAX, true },
		{ WK_GM_TAG_ADMIN_TRIES, 1, 1, true },
		{ WK_GM_TAG_NEW_PIN, WK_GM_PIN_MIN, WK_GM_PIN_MAX, true },
		{ WK_GM_TAG_USER_TRIES, 1, 1, true },
		{ WK_GM_TAG_RIGHTS, 4, 4, true },
	};
	wk_tlv f[6];
	uint8_t id, at, ut;
	uint32_t rights;
	uint16_t sw;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, 6, f)) != WK_SW_OK)
		return sw;
	if (!s->dev_auth)
		return WK_SW_SECURITY_STATUS;
	at = f[2].value[0];
	ut = f[4].value[0];
	rights = gm_be32(f[5].value);
	if (!gm_name_ok(f[0].value, f[0].len, WK_GM_APP_NAME_MAX) ||
	    at == 0 || at > WK_GM_TRIES_MAX || ut == 0 || ut > WK_GM_TRIES_MAX ||
	    rights > 0xFF)
		return WK_SW_WRONG_DATA;
	sw = gm_app_make(card, f[0].value, f[0].len, f[1].value, f[1].len, at,
	    f[3].value, f[3].len, ut, rights, false, &id);
	if (sw != WK_SW_OK) {
		vc_store_abort(vc_card_store(card));
		return sw;
	}
	wk_buf_u8(resp, id);
	return WK_SW_OK;
}

uint16_t
gm_app_list(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_entry e[WK_GM_MAX_APPS];
	size_t n;

	(void)state;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (gm_index_read(card, "apps", false, e, WK_GM_MAX_APPS, &n) != 0)
		return WK_SW_MEMORY_FAILURE;
	for (size_t i = 0; i < n; i++) {
		wk_buf_u8(resp, e[i].id);
		wk_buf_u8(resp, (uint8_t)e[i].name_len);
		wk_buf_add(resp, e[i].name, e[i].name_len);
	}
	return WK_SW_OK;
}

static uint16_t
gm_app_by_name(vc_card *card, const wk_apdu *cmd, gm_entry *e, size_t *n,
    int *at)
{
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc == 0)
		return WK_SW_WRONG_LENGTH;
	if (!gm_name_ok(cmd->data, cmd->lc, WK_GM_APP_NAME_MAX))
		return WK_SW_WRONG_DATA;
	if (gm_index_read(card, "apps", false, e, WK_GM_MAX_APPS, n) != 0)
		return WK_SW_MEMORY_FAILURE;
	if ((*at = gm_index_find(e, *n, cmd->data, cmd->lc)) < 0)
		return WK_SW_FILE_NOT_FOUND;
	return WK_SW_OK;
}

uint16_t
gm_app_open(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_entry e[WK_GM_MAX_APPS];
	size_t n;
	int at;
	uint16_t sw;

	(void)state;
	if ((sw = gm_app_by_name(card, cmd, e, &n, &at)) != WK_SW_OK)
		return sw;
	wk_buf_u8(resp, e[at].id);
	return WK_SW_OK;
}

uint16_t
gm_app_delete(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	gm_entry e[WK_GM_MAX_APPS];
	gm_login *l;
	size_t n;
	int at;
	uint8_t id;
	uint16_t sw;

	(void)resp;
	if ((sw = gm_app_by_name(card, cmd, e, &n, &at)) != WK_SW_OK)
		return sw;
	if (!s->dev_auth)
		return WK_SW_SECURITY_STATUS;
	id = e[at].id;
	memmove(&e[at], &e[at + 1], (n - (size_t)at - 1) * sizeof(e[0]));
	if (gm_app_wipe(card, id) != 0 ||
	    gm_index_write(card, "apps", false, e, n - 1) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	if ((l = gm_login_of(s, id)) != NULL)
		memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < WK_GM_MAX_OBJECTS; i++)
		if (s->obj[i].type == GM_OBJ_AGREE && s->obj[i].app == id)
			gm_obj_free(&s->obj[i]);
	return WK_SW_OK;
}

/* ---- the device ---- */

uint16_t
gm_get_info(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t label[32] = { 0 };
	wk_buf b;
	uint64_t left = 0, def = 0;
	uint32_t used;

	(void)state;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	wk_buf_init_fixed(&b, label, sizeof(label) - 1);
	if (vc_store_get(vc_card_store(card), GM_APPLET, "dev.label", &b) !=
	    VC_STORE_OK || wk_buf_failed(&b) ||
	    vc_store_get_u64(vc_card_store(card), GM_APPLET, "dev.left", &left) !=
	    VC_STORE_OK ||
	    vc_store_get_u64(vc_card_store(card), GM_APPLET, "dev.default",
	    &def) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	used = gm_used_space(card);
	wk_buf_u8(resp, 1);
	wk_buf_u8(resp, 0);
	wk_buf_add(resp, vc_card_serial(card), 8);
	wk_buf_add(resp, label, sizeof(label));
	wk_buf_be32(resp, WK_GM_SM4_ECB | WK_GM_SM4_CBC | WK_GM_SM4_CFB |
	    WK_GM_SM4_OFB | WK_GM_SM4_MAC);
	wk_buf_be32(resp, WK_GM_SM2_1 | WK_GM_SM2_2 | WK_GM_SM2_3);
	wk_buf_be32(resp, WK_GM_SM3 | WK_GM_SHA1 | WK_GM_SHA256);
	wk_buf_be32(resp, WK_GM_SM4_ECB);
	wk_buf_be32(resp, WK_GM_TOTAL_SPACE);
	wk_buf_be32(resp, WK_GM_TOTAL_SPACE - used);
	wk_buf_be32(resp, WK_GM_DATA_MAX);
	wk_buf_be32(resp, (uint32_t)(left << 8 | (def != 0)));
	return wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
}

uint16_t
gm_get_challenge(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	uint8_t *p;

	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0 || !cmd->has_le || cmd->le > 256)
		return WK_SW_WRONG_LENGTH;
	if ((p = wk_buf_reserve(resp, cmd->le)) == NULL)
		return WK_SW_UNKNOWN;
	vc_card_random(card, p, cmd->le);
	/* the device authentication answers the first 16 bytes (or all of a
	 * shorter random, zero-padded), GM/T 0016 7.2.3 */
	memset(s->challenge, 0, sizeof(s->challenge));
	s->challenge_len = cmd->le < 16 ? cmd->le : 16;
	memcpy(s->challenge, p, s->challenge_len);
	return WK_SW_OK;
}

static int
gm_sm4_ecb(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, r = -1;

	if (c != NULL && EVP_EncryptInit_ex(c, EVP_sm4_ecb(), NULL, key,
	    NULL) == 1 && EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
	    EVP_EncryptUpdate(c, out, &n, in, 16) == 1 && n == 16)
		r = 0;
	EVP_CIPHER_CTX_free(c);
	return r;
}

uint16_t
gm_dev_auth(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	vc_store *st = vc_card_store(card);
	uint8_t key[WK_GM_DEV_KEY_LEN], want[16];
	wk_buf b;
	uint64_t left = 0;
	uint16_t sw = WK_SW_MEMORY_FAILURE;
	bool had = s->challenge_len > 0;

	(void)resp;
	wk_buf_init_fixed(&b, key, sizeof(key));
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	/* no data: forget the authentication (as PIV's VERIFY P1 FF) */
	if (cmd->lc == 0) {
		s->dev_auth = false;
		s->challenge_len = 0;
		return WK_SW_OK;
	}
	if (cmd->lc != 16)
		return WK_SW_WRONG_LENGTH;
	s->dev_auth = false;
	/* one answer per challenge */
	s->challenge_len = 0;
	if (!had)
		return WK_SW_CONDITIONS;
	if (vc_store_get_u64(st, GM_APPLET, "dev.left", &left) != VC_STORE_OK)
		goto out;
	if (left == 0) {
		sw = WK_SW_AUTH_BLOCKED;
		goto out;
	}
	if (vc_store_put_u64(st, GM_APPLET, "dev.left", left - 1) !=
	    VC_STORE_OK || vc_store_checkpoint(st) != VC_STORE_OK)
		goto out;
	if (vc_store_get_secret(st, GM_APPLET, "dev.key", &b) != VC_STORE_OK ||
	    b.len != sizeof(key) || gm_sm4_ecb(key, s->challenge, want) != 0)
		goto out;
	if (sodium_memcmp(want, cmd->data, 16) != 0) {
		sw = (uint16_t)(WK_SW_WRONG_PIN |
		    (left - 1 > 15 ? 15u : (unsigned)(left - 1)));
		goto out;
	}
	if (vc_store_put_u64(st, GM_APPLET, "dev.left", WK_GM_DEV_TRIES) !=
	    VC_STORE_OK)
		goto out;
	s->dev_auth = true;
	sw = WK_SW_OK;
out:
	sodium_memzero(s->challenge, sizeof(s->challenge));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(want, sizeof(want));
	return sw;
}

uint16_t
gm_set_dev_key(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	vc_store *st = vc_card_store(card);

	(void)resp;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != WK_GM_DEV_KEY_LEN)
		return WK_SW_WRONG_LENGTH;
	if (!s->dev_auth)
		return WK_SW_SECURITY_STATUS;
	if (vc_store_put_secret(st, GM_APPLET, "dev.key", cmd->data,
	    cmd->lc) != VC_STORE_OK ||
	    vc_store_put_u64(st, GM_APPLET, "dev.default", 0) != VC_STORE_OK ||
	    vc_store_put_u64(st, GM_APPLET, "dev.left", WK_GM_DEV_TRIES) !=
	    VC_STORE_OK) {
		vc_store_abort(st);
		return WK_SW_MEMORY_FAILURE;
	}
	return WK_SW_OK;
}

uint16_t
gm_set_label(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;

	(void)resp;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc == 0 || cmd->lc > WK_GM_LABEL_MAX)
		return WK_SW_WRONG_LENGTH;
	if (!gm_name_ok(cmd->data, cmd->lc, WK_GM_LABEL_MAX))
		return WK_SW_WRONG_DATA;
	if (!s->dev_auth)
		return WK_SW_SECURITY_STATUS;
	if (vc_store_put(vc_card_store(card), GM_APPLET, "dev.label", cmd->data,
	    cmd->lc) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	return WK_SW_OK;
}
