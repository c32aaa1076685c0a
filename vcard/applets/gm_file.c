/*
 * files and containers of an application, and the containers'
 * certificates (GM/T 0016 7.4, 7.5). P1 names the application.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "gm_int.h"

static bool
gm_rights_valid(uint32_t r)
{
	return r == WK_GM_RIGHT_NEVER || r == WK_GM_RIGHT_ADMIN ||
	    r == WK_GM_RIGHT_USER || r == (WK_GM_RIGHT_ADMIN | WK_GM_RIGHT_USER) ||
	    r == WK_GM_RIGHT_ANYONE;
}

static uint16_t
gm_app_rights(vc_card *card, uint8_t app, uint32_t *rights)
{
	uint8_t m[6];
	wk_buf b;
	char key[32];

	wk_buf_init_fixed(&b, m, sizeof(m));
	gm_store_name(key, sizeof(key), "meta", app, -1);
	if (vc_store_get(vc_card_store(card), GM_APPLET, key, &b) != VC_STORE_OK ||
	    b.len != sizeof(m))
		return WK_SW_MEMORY_FAILURE;
	*rights = gm_be32(m);
	return WK_SW_OK;
}

/* P1 names an existing application, P2 is p2 */
static uint16_t
gm_app_cmd(vc_card *card, const wk_apdu *cmd, uint8_t p2)
{
	uint16_t sw;

	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	return cmd->p2 == p2 ? WK_SW_OK : WK_SW_WRONG_P1P2;
}

static uint16_t
gm_files(vc_card *card, uint8_t app, gm_entry *e, size_t *n, char *key,
    size_t cap)
{
	gm_store_name(key, cap, "files", app, -1);
	if (gm_index_read(card, key, true, e, WK_GM_MAX_FILES, n) != 0)
		return WK_SW_MEMORY_FAILURE;
	return WK_SW_OK;
}

uint16_t
gm_file_create(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_FILE_NAME_MAX, true },
		{ WK_GM_TAG_SIZE, 4, 4, true },
		{ WK_GM_TAG_RIGHTS, 4, 4, true },
		{ WK_GM_TAG_WRITE_RIGHTS, 4, 4, true },
	};
	gm_entry e[WK_GM_MAX_FILES + 1];
	wk_tlv f[4];
	size_t n;
	char key[32], fkey[32];
	uint32_t size, rights;
	uint8_t fid = 0, *zero = NULL;
	uint16_t sw;

	(void)resp;
	if ((sw = gm_app_cmd(card, cmd, 0)) != WK_SW_OK ||
	    (sw = gm_parse(cmd, spec, 4, f)) != WK_SW_OK)
		return sw;
	size = gm_be32(f[1].value);
	if (!gm_name_ok(f[0].value, f[0].len, WK_GM_FILE_NAME_MAX) ||
	    size > WK_GM_FILE_MAX || !gm_rights_valid(gm_be32(f[2].value)) ||
	    !gm_rights_valid(gm_be32(f[3].value)))
		return WK_SW_WRONG_DATA;
	if ((sw = gm_app_rights(card, cmd->p1, &rights)) != WK_SW_OK)
		return sw;
	if (!gm_rights_ok(s, cmd->p1, rights))
		return WK_SW_SECURITY_STATUS;
	if ((sw = gm_files(card, cmd->p1, e, &n, key, sizeof(key))) != WK_SW_OK)
		return sw;
	if (gm_index_find(e, n, f[0].value, f[0].len) >= 0)
		return GM_SW_EXISTS;
	if (n >= WK_GM_MAX_FILES ||
	    gm_used_space(card) + size > WK_GM_TOTAL_SPACE)
		return WK_SW_NO_SPACE;
	for (unsigned c = 1; c < 256 && fid == 0; c++) {
		bool used = false;

		for (size_t i = 0; i < n; i++)
			used |= e[i].id == c;
		if (!used)
			fid = (uint8_t)c;
	}
	memset(&e[n], 0, sizeof(e[n]));
	e[n].id = fid;
	memcpy(e[n].name, f[0].value, f[0].len);
	e[n].name_len = f[0].len;
	e[n].size = size;
	e[n].read = gm_be32(f[2].value);
	e[n].write = gm_be32(f[3].value);
	gm_store_name(fkey, sizeof(fkey), "f", cmd->p1, fid);
	if (size > 0 && (zero = calloc(1, size)) == NULL)
		return WK_SW_MEMORY_FAILURE;
	sw = WK_SW_OK;
	if (gm_index_write(card, key, true, e, n + 1) != 0 ||
	    vc_store_put(vc_card_store(card), GM_APPLET, fkey,
	    zero != NULL ? zero : (const uint8_t *)"", size) != VC_STORE_OK) {
		vc_store_abort(vc_card_store(card));
		sw = WK_SW_MEMORY_FAILURE;
	}
	free(zero);
	return sw;
}

/* the file of cmd's application named by field t */
static uint16_t
gm_file_find(vc_card *card, const wk_apdu *cmd, const uint8_t *name,
    size_t len, gm_entry *e, size_t *n, int *at, char *key, size_t cap)
{
	uint16_t sw;

	if (!gm_name_ok(name, len, WK_GM_FILE_NAME_MAX))
		return WK_SW_WRONG_DATA;
	if ((sw = gm_files(card, cmd->p1, e, n, key, cap)) != WK_SW_OK)
		return sw;
	if ((*at = gm_index_find(e, *n, name, len)) < 0)
		return WK_SW_FILE_NOT_FOUND;
	return WK_SW_OK;
}

uint16_t
gm_file_delete(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	gm_entry e[WK_GM_MAX_FILES];
	size_t n;
	int at;
	char key[32], fkey[32];
	uint32_t rights;
	uint16_t sw;

	(void)resp;
	if ((sw = gm_app_cmd(card, cmd, 0)) != WK_SW_OK)
		return sw;
	if (cmd->lc == 0)
		return WK_SW_WRONG_LENGTH;
	if ((sw = gm_file_find(card, cmd, cmd->data, cmd->lc, e, &n, &at, key,
	    sizeof(key))) != WK_SW_OK)
		return sw;
	/* deleting takes the right to create */
	if ((sw = gm_app_rights(card, cmd->p1, &rights)) != WK_SW_OK)
		return sw;
	if (!gm_rights_ok(s, cmd->p1, rights))
		return WK_SW_SECURITY_STATUS;
	gm_store_name(fkey, sizeof(fkey), "f", cmd->p1, e[at].id);
	memmove(&e[at], &e[at + 1], (n - (size_t)at - 1) * sizeof(e[0]));
	if (vc_store_del(vc_card_store(card), GM_APPLET, fkey) == VC_STORE_ERROR ||
	    gm_index_write(card, key, true, e, n - 1) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	return WK_SW_OK;
}

_Static_assert(WK_GM_MAX_CONTAINERS <= WK_GM_MAX_FILES, "gm_names' array");

/* FILE LIST, CONTAINER LIST: the names in an application's index of files
 * or of containers, each as length and bytes */
static uint16_t
gm_names(vc_card *card, const wk_apdu *cmd, wk_buf *resp, bool files)
{
	gm_entry e[WK_GM_MAX_FILES];
	size_t n;
	char key[32];
	uint16_t sw;

	if ((sw = gm_app_cmd(card, cmd, 0)) != WK_SW_OK)
		return sw;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	gm_store_name(key, sizeof(key), files ? "files" : "conts", cmd->p1, -1);
	if (gm_index_read(card, key, files, e, files ? WK_GM_MAX_FILES :
	    WK_GM_MAX_CONTAINERS, &n) != 0)
		return WK_SW_MEMORY_FAILURE;
	for (size_t i = 0; i < n; i++) {
		wk_buf_u8(resp, (uint8_t)e[i].name_len);
		wk_buf_add(resp, e[i].name, e[i].name_len);
	}
	return WK_SW_OK;
}

uint16_t
gm_file_list(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	(void)state;
	return gm_names(card, cmd, resp, true);
}

uint16_t
gm_file_info(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_entry e[WK_GM_MAX_FILES];
	size_t n;
	int at;
	char key[32];
	uint16_t sw;

	(void)state;
	if ((sw = gm_app_cmd(card, cmd, 0)) != WK_SW_OK)
		return sw;
	if (cmd->lc == 0)
		return WK_SW_WRONG_LENGTH;
	if ((sw = gm_file_find(card, cmd, cmd->data, cmd->lc, e, &n, &at, key,
	    sizeof(key))) != WK_SW_OK)
		return sw;
	wk_buf_be32(resp, e[at].size);
	wk_buf_be32(resp, e[at].read);
	wk_buf_be32(resp, e[at].write);
	return WK_SW_OK;
}

uint16_t
gm_file_read(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_FILE_NAME_MAX, true },
		{ WK_GM_TAG_OFFSET, 4, 4, true },
		{ WK_GM_TAG_SIZE, 4, 4, true },
	};
	gm_entry e[WK_GM_MAX_FILES];
	wk_tlv f[3];
	wk_buf b;
	size_t n;
	int at;
	char key[32], fkey[32];
	uint32_t off, len;
	uint16_t sw;

	if ((sw = gm_app_cmd(card, cmd, 0)) != WK_SW_OK ||
	    (sw = gm_parse(cmd, spec, 3, f)) != WK_SW_OK)
		return sw;
	off = gm_be32(f[1].value);
	len = gm_be32(f[2].value);
	if (len == 0 || len > WK_GM_IO_MAX)
		return WK_SW_WRONG_DATA;
	if ((sw = gm_file_find(card, cmd, f[0].value, f[0].len, e, &n, &at, key,
	    sizeof(key))) != WK_SW_OK)
		return sw;
	if (!gm_rights_ok(s, cmd->p1, e[at].read))
		return WK_SW_SECURITY_STATUS;
	if (off > e[at].size)
		return WK_SW_WRONG_DATA;
	if (len > e[at].size - off)
		len = e[at].size - off;
	gm_store_name(fkey, sizeof(fkey), "f", cmd->p1, e[at].id);
	wk_buf_init_heap(&b, WK_GM_FILE_MAX);
	if (vc_store_get(vc_card_store(card), GM_APPLET, fkey, &b) != VC_STORE_OK ||
	    b.len != e[at].size) {
		wk_buf_clear(&b);
		return WK_SW_MEMORY_FAILURE;
	}
	wk_buf_add(resp, b.p + off, len);
	wk_buf_clear(&b);
	return wk_buf_failed(resp) ? WK_SW_UNKNOWN : WK_SW_OK;
}

uint16_t
gm_file_write(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_FILE_NAME_MAX, true },
		{ WK_GM_TAG_OFFSET, 4, 4, true },
		{ WK_GM_TAG_DATA, 1, WK_GM_IO_MAX, true },
	};
	gm_entry e[WK_GM_MAX_FILES];
	wk_tlv f[3];
	wk_buf b;
	size_t n;
	int at;
	char key[32], fkey[32];
	uint32_t off;
	uint16_t sw = WK_SW_MEMORY_FAILURE;

	(void)resp;
	if ((sw = gm_app_cmd(card, cmd, 0)) != WK_SW_OK ||
	    (sw = gm_parse(cmd, spec, 3, f)) != WK_SW_OK)
		return sw;
	off = gm_be32(f[1].value);
	if ((sw = gm_file_find(card, cmd, f[0].value, f[0].len, e, &n, &at, key,
	    sizeof(key))) != WK_SW_OK)
		return sw;
	if (!gm_rights_ok(s, cmd->p1, e[at].write))
		return WK_SW_SECURITY_STATUS;
	if (off > e[at].size || f[2].len > e[at].size - off)
		return WK_SW_NO_SPACE;
	gm_store_name(fkey, sizeof(fkey), "f", cmd->p1, e[at].id);
	wk_buf_init_heap(&b, WK_GM_FILE_MAX);
	sw = WK_SW_MEMORY_FAILURE;
	if (vc_store_get(vc_card_store(card), GM_APPLET, fkey, &b) != VC_STORE_OK ||
	    b.len != e[at].size)
		goto out;
	memcpy(b.p + off, f[2].value, f[2].len);
	if (vc_store_put(vc_card_store(card), GM_APPLET, fkey, b.p, b.len) !=
	    VC_STORE_OK)
		goto out;
	sw = WK_SW_OK;
out:
	wk_buf_clear(&b);
	return sw;
}

/* ---- containers ---- */

static uint16_t
gm_conts(vc_card *card, uint8_t app, gm_entry *e, size_t *n, char *key,
    size_t cap)
{
	gm_store_name(key, cap, "conts", app, -1);
	if (gm_index_read(card, key, false, e, WK_GM_MAX_CONTAINERS, n) != 0)
		return WK_SW_MEMORY_FAILURE;
	return WK_SW_OK;
}

uint16_t
gm_cont_find(vc_card *card, uint8_t app, const wk_tlv *name, uint8_t *cid)
{
	gm_entry e[WK_GM_MAX_CONTAINERS];
	size_t n;
	int at;
	char key[32];
	uint16_t sw;

	if (!gm_name_ok(name->value, name->len, WK_GM_NAME_MAX))
		return WK_SW_WRONG_DATA;
	if ((sw = gm_conts(card, app, e, &n, key, sizeof(key))) != WK_SW_OK)
		return sw;
	if ((at = gm_index_find(e, n, name->value, name->len)) < 0)
		return WK_SW_FILE_NOT_FOUND;
	*cid = e[at].id;
	return WK_SW_OK;
}

static bool
gm_user(gm_state *s, uint8_t app)
{
	gm_login *l = gm_login_of(s, app);

	return l != NULL && l->user;
}

uint16_t
gm_cont_create(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	gm_entry e[WK_GM_MAX_CONTAINERS + 1];
	size_t n;
	char key[32];
	uint8_t cid = 0;
	uint16_t sw;

	(void)resp;
	if ((sw = gm_app_cmd(card, cmd, 0)) != WK_SW_OK)
		return sw;
	if (cmd->lc == 0)
		return WK_SW_WRONG_LENGTH;
	if (!gm_name_ok(cmd->data, cmd->lc, WK_GM_NAME_MAX))
		return WK_SW_WRONG_DATA;
	if (!gm_user(s, cmd->p1))
		return WK_SW_SECURITY_STATUS;
	if ((sw = gm_conts(card, cmd->p1, e, &n, key, sizeof(key))) != WK_SW_OK)
		return sw;
	if (gm_index_find(e, n, cmd->data, cmd->lc) >= 0)
		return GM_SW_EXISTS;
	if (n >= WK_GM_MAX_CONTAINERS ||
	    gm_used_space(card) + 512 > WK_GM_TOTAL_SPACE)
		return WK_SW_NO_SPACE;
	for (unsigned c = 1; c < 256 && cid == 0; c++) {
		bool used = false;

		for (size_t i = 0; i < n; i++)
			used |= e[i].id == c;
		if (!used)
			cid = (uint8_t)c;
	}
	memset(&e[n], 0, sizeof(e[n]));
	e[n].id = cid;
	memcpy(e[n].name, cmd->data, cmd->lc);
	e[n].name_len = cmd->lc;
	/* a container number in use before is wiped when it was deleted */
	if (gm_index_write(card, key, false, e, n + 1) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	return WK_SW_OK;
}

int
gm_cont_wipe(vc_card *card, uint8_t app, uint8_t cid)
{
	static const char *const parts[] = { "k1", "k0", "p1", "p0", "x1", "x0" };
	char key[48];

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(key, sizeof(key), "a%u.c%u.%s", app, cid, parts[i]);
		if (vc_store_del(vc_card_store(card), GM_APPLET, key) ==
		    VC_STORE_ERROR)
			return -1;
	}
	return 0;
}

int
gm_app_wipe(vc_card *card, uint8_t app)
{
	static const char *const parts[] = { "meta", "pin0", "pin1", "left0",
		"left1", "def0", "def1", "files", "conts" };
	gm_entry e[WK_GM_MAX_FILES];
	size_t n;
	char key[48];

	gm_store_name(key, sizeof(key), "files", app, -1);
	if (gm_index_read(card, key, true, e, WK_GM_MAX_FILES, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		gm_store_name(key, sizeof(key), "f", app, e[i].id);
		if (vc_store_del(vc_card_store(card), GM_APPLET, key) ==
		    VC_STORE_ERROR)
			return -1;
	}
	gm_store_name(key, sizeof(key), "conts", app, -1);
	if (gm_index_read(card, key, false, e, WK_GM_MAX_CONTAINERS, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (gm_cont_wipe(card, app, e[i].id) != 0)
			return -1;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(key, sizeof(key), "a%u.%s", app, parts[i]);
		if (vc_store_del(vc_card_store(card), GM_APPLET, key) ==
		    VC_STORE_ERROR)
			return -1;
	}
	return 0;
}

uint16_t
gm_cont_delete(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	gm_entry e[WK_GM_MAX_CONTAINERS];
	size_t n;
	int at;
	char key[32];
	uint8_t cid;
	uint16_t sw;

	(void)resp;
	if ((sw = gm_app_cmd(card, cmd, 0)) != WK_SW_OK)
		return sw;
	if (cmd->lc == 0)
		return WK_SW_WRONG_LENGTH;
	if (!gm_name_ok(cmd->data, cmd->lc, WK_GM_NAME_MAX))
		return WK_SW_WRONG_DATA;
	if ((sw = gm_conts(card, cmd->p1, e, &n, key, sizeof(key))) != WK_SW_OK)
		return sw;
	if ((at = gm_index_find(e, n, cmd->data, cmd->lc)) < 0)
		return WK_SW_FILE_NOT_FOUND;
	if (!gm_user(s, cmd->p1))
		return WK_SW_SECURITY_STATUS;
	cid = e[at].id;
	memmove(&e[at], &e[at + 1], (n - (size_t)at - 1) * sizeof(e[0]));
	if (gm_cont_wipe(card, cmd->p1, cid) != 0 ||
	    gm_index_write(card, key, false, e, n - 1) != 0) {
		vc_store_abort(vc_card_store(card));
		return WK_SW_MEMORY_FAILURE;
	}
	for (size_t i = 0; i < WK_GM_MAX_OBJECTS; i++)
		if (s->obj[i].type == GM_OBJ_AGREE && s->obj[i].app == cmd->p1 &&
		    s->obj[i].cont == cid)
			gm_obj_free(&s->obj[i]);
	return WK_SW_OK;
}

uint16_t
gm_cont_list(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	(void)state;
	return gm_names(card, cmd, resp, false);
}

static bool
gm_has(vc_card *card, uint8_t app, uint8_t cid, const char *part)
{
	char key[48];
	wk_buf b;
	bool r;

	snprintf(key, sizeof(key), "a%u.c%u.%s", app, cid, part);
	wk_buf_init_heap(&b, WK_GM_CERT_MAX);
	r = vc_store_get(vc_card_store(card), GM_APPLET, key, &b) == VC_STORE_OK;
	wk_buf_clear(&b);
	return r;
}

uint16_t
gm_cont_info(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	wk_tlv name = { 0 };
	uint8_t cid, flags = 0;
	uint16_t sw;

	(void)state;
	if ((sw = gm_app_cmd(card, cmd, 0)) != WK_SW_OK)
		return sw;
	if (cmd->lc == 0)
		return WK_SW_WRONG_LENGTH;
	name.value = cmd->data;
	name.len = cmd->lc;
	if ((sw = gm_cont_find(card, cmd->p1, &name, &cid)) != WK_SW_OK)
		return sw;
	if (gm_has(card, cmd->p1, cid, "p1"))
		flags |= 0x01;
	if (gm_has(card, cmd->p1, cid, "p0"))
		flags |= 0x02;
	if (gm_has(card, cmd->p1, cid, "x1"))
		flags |= 0x04;
	if (gm_has(card, cmd->p1, cid, "x0"))
		flags |= 0x08;
	/* SKF container types: 0 empty, 2 ECC (no RSA here) */
	wk_buf_u8(resp, (flags & 0x03) ? 2 : 0);
	wk_buf_u8(resp, flags);
	return WK_SW_OK;
}

uint16_t
gm_cert_import(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	gm_state *s = state;
	static const gm_field spec[] = {
		{ WK_GM_TAG_NAME, 1, WK_GM_NAME_MAX, true },
		{ WK_GM_TAG_DATA, 1, WK_GM_CERT_MAX, true },
	};
	wk_tlv f[2];
	const uint8_t *p;
	X509 *x = NULL;
	char key[48];
	uint8_t cid;
	uint16_t sw;

	(void)resp;
	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != WK_GM_KEY_ENC && cmd->p2 != WK_GM_KEY_SIGN)
		return WK_SW_WRONG_P1P2;
	if ((sw = gm_parse(cmd, spec, 2, f)) != WK_SW_OK)
		return sw;
	if ((sw = gm_cont_find(card, cmd->p1, &f[0], &cid)) != WK_SW_OK)
		return sw;
	if (!gm_user(s, cmd->p1))
		return WK_SW_SECURITY_STATUS;
	/* a certificate that parses, and nothing after it */
	p = f[1].value;
	x = d2i_X509(NULL, &p, (long)f[1].len);
	if (x == NULL || p != f[1].value + f[1].len) {
		X509_free(x);
		return WK_SW_WRONG_DATA;
	}
	X509_free(x);
	if (gm_used_space(card) + f[1].len > WK_GM_TOTAL_SPACE)
		return WK_SW_NO_SPACE;
	snprintf(key, sizeof(key), "a%u.c%u.x%u", cmd->p1, cid, cmd->p2);
	if (vc_store_put(vc_card_store(card), GM_APPLET, key, f[1].value,
	    f[1].len) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	return WK_SW_OK;
}

uint16_t
gm_cert_export(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	wk_tlv name = { 0 };
	char key[48];
	uint8_t cid;
	int g;
	uint16_t sw;

	(void)state;
	if ((sw = gm_app_check(card, cmd->p1)) != WK_SW_OK)
		return sw;
	if (cmd->p2 != WK_GM_KEY_ENC && cmd->p2 != WK_GM_KEY_SIGN)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc == 0)
		return WK_SW_WRONG_LENGTH;
	name.value = cmd->data;
	name.len = cmd->lc;
	if ((sw = gm_cont_find(card, cmd->p1, &name, &cid)) != WK_SW_OK)
		return sw;
	snprintf(key, sizeof(key), "a%u.c%u.x%u", cmd->p1, cid, cmd->p2);
	g = vc_store_get(vc_card_store(card), GM_APPLET, key, resp);
	if (g == VC_STORE_NOT_FOUND)
		return WK_SW_RECORD_NOT_FOUND;
	if (g != VC_STORE_OK || wk_buf_failed(resp))
		return WK_SW_MEMORY_FAILURE;
	return WK_SW_OK;
}
