/*
 * the PBOC ED/EP purse applet (pboc-purse.md; behaviour and choices in
 * docs/purse.md): PSE 1PAY.SYS.DDF01, the purse ADF, EF 0015/0016/0018,
 * GET BALANCE, GET TRANSACTION PROVE, the dispatch of every command. The
 * PIN and the blocking commands are in purse_pin.c, the financial commands
 * in purse_txn.c, the store layout in purse_state.c.
 */
#include "purse.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vc_perso.h"
#include "vc_store.h"
#include "wk_log.h"
#include "wk_tlv.h"

#define CLA_ISO 0x00

#define INS_VERIFY 0x20
#define INS_SELECT 0xA4
#define INS_READ_BINARY 0xB0
#define INS_READ_RECORD 0xB2
#define INS_GET_BALANCE 0x5C
#define INS_GET_PROVE 0x5A
#define INS_GET_CHALLENGE 0x84
#define INS_APP_UNBLOCK 0x18
#define INS_PIN 0x5E		/* P1 01 CHANGE PIN, P1 00 RELOAD PIN */

#define SW_OFFSET_OUTSIDE 0x6B00
#define SW_NO_CURRENT_EF 0x6986
#define SW_FILE_STRUCTURE 0x6981

#define SFI_DIR 0x01
#define SFI_EF15 0x15
#define SFI_EF16 0x16
#define SFI_LOG 0x18

static const uint8_t pse_name[] = {
	'1', 'P', 'A', 'Y', '.', 'S', 'Y', 'S', '.', 'D', 'D', 'F', '0', '1',
};
static const uint8_t adf_aid[] = { WK_PURSE_AID_BYTES };

static const vc_aid purse_aids[] = {
	{ pse_name, sizeof(pse_name), sizeof(pse_name) },
	{ adf_aid, sizeof(adf_aid), sizeof(adf_aid) },
};

#define WHICH_PSE 0
#define WHICH_ADF 1

static const char dir_label[] = "WALLETKEY PURSE";

/* ---- lifecycle ---- */

static int
purse_alloc(void **state)
{
	purse_applet *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	*state = a;
	return 0;
}

static int
write_perso(vc_card *card, const vc_perso *p)
{
	vc_store *st = vc_card_store(card);
	uint8_t ef15[PURSE_EF15_LEN];
	purse_state s;
	purse_key k;
	int rc = -1;
	bool have_dtk = false;

	vc_perso_ef15(p, ef15);
	if (vc_store_put(st, PURSE_APPLET, "ef15", ef15, sizeof(ef15)) != 0 ||
	    vc_store_put(st, PURSE_APPLET, "ef16", p->ef16, sizeof(p->ef16)) != 0)
		goto out;
	for (size_t i = 0; i < p->n_keys; i++) {
		const vc_perso_key *pk = &p->keys[i];

		k.version = pk->version;
		k.alg = pk->alg;
		memcpy(k.key, pk->key, sizeof(k.key));
		if (purse_key_put(card, pk->purpose, pk->index, &k) != 0)
			goto out;
		if (pk->purpose == PURSE_KEY_DTK) {
			if (have_dtk || vc_store_put(st, PURSE_APPLET,
			    "dtk.index", &pk->index, 1) != 0)
				goto out;
			have_dtk = true;
		}
		if (pk->purpose == PURSE_KEY_DAMK && vc_store_put(st,
		    PURSE_APPLET, "damk.index", &pk->index, 1) != 0)
			goto out;
		if (pk->purpose == PURSE_KEY_DRPK && vc_store_put(st,
		    PURSE_APPLET, "drpk.index", &pk->index, 1) != 0)
			goto out;
	}
	if (!have_dtk || purse_mac_init(card, p->mac_tries) != 0 ||
	    purse_pin_ops_init(card, p->pin_ops) != 0)
		goto out;
	if (purse_pin_set(card, p->pin, p->pin_len) != 0 ||
	    vc_store_put_u64(st, PURSE_APPLET, "pin.tries", p->pin_tries) != 0)
		goto out;
	memset(&s, 0, sizeof(s));
	s.app_type = p->app_type;
	s.limit = p->overdraft;
	/* the ED balance holds funds + overdraft limit (section 1) */
	s.w[PURSE_ED].balance = (p->app_type & 0x01) ? p->overdraft : 0;
	s.ceiling = p->ceiling;
	s.log_cap = p->log_capacity;
	s.pin_max = p->pin_tries;
	if (purse_state_put(card, &s) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(&k, sizeof(k));
	return rc;
}

static int
purse_create(vc_card *card, void **state)
{
	const vc_card_opts *opts = vc_card_options(card);
	vc_perso *p = NULL;
	char err[256];
	int rc = -1;

	if (vc_perso_load(opts->perso_path, opts->demo, &p, err, sizeof(err)) != VC_PERSO_OK) {
		wk_log(WK_LOG_APPLET, "purse: %s", err);
		goto out;
	}
	if (opts->perso_path == NULL)
		wk_log(WK_LOG_APPLET, "purse: built-in personalisation, %s",
		    opts->demo ? "the public demo keys: TEST ONLY" : "random keys");
	if (vc_perso_finish(p, vc_card_serial(card)) != VC_PERSO_OK ||
	    write_perso(card, p) != 0)
		goto out;
	if (purse_alloc(state) != 0)
		goto out;
	rc = 0;
out:
	vc_perso_free(&p);
	return rc;
}

static int
purse_open(vc_card *card, void **state)
{
	(void)card;
	return purse_alloc(state);
}

static void
purse_close(void **state)
{
	purse_applet *a = *state;

	if (a != NULL) {
		sodium_memzero(a, sizeof(*a));
		free(a);
	}
	*state = NULL;
}

static void
purse_deselect(void *state, vc_card *card)
{
	purse_applet *a = state;

	(void)card;
	purse_session_drop(a);
	sodium_memzero(&a->wreq, sizeof(a->wreq));
	a->pin_ok = false;
	a->df = DF_NONE;
	a->cur_ef = 0;
}

static bool
purse_owns_fid(uint16_t fid)
{
	return fid == WK_PURSE_ADF_FID;
}

/* ---- selection ---- */

static uint16_t
purse_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	purse_applet *a = state;
	uint8_t ef15[PURSE_EF15_LEN + 1];
	wk_buf b;
	purse_state s;
	enum purse_lock lock = PURSE_OPEN;
	size_t fci, prop;
	enum purse_df df = which == WHICH_PSE ? DF_PSE : DF_ADF;

	(void)cmd;
	/* a card created before the purse existed has no purse */
	if (purse_state_get(card, &s) != VC_STORE_OK)
		return WK_SW_FILE_NOT_FOUND;
	wk_buf_init_fixed(&b, ef15, sizeof(ef15));
	if (df == DF_ADF && (vc_store_get(vc_card_store(card), PURSE_APPLET,
	    "ef15", &b) != VC_STORE_OK || b.len != PURSE_EF15_LEN))
		return WK_SW_FILE_NOT_FOUND;
	if (df == DF_ADF && purse_lock_state(card, &lock) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;

	purse_session_drop(a);
	if (a->df != df)
		a->pin_ok = false;
	a->df = df;
	a->cur_ef = 0;
	/* FMCOS 8.3: a blocked application is selected and answers 6A81; the
	 * runtime keeps it selected (vc_card.c) so that it can be unblocked */
	if (lock != PURSE_OPEN)
		return WK_SW_FUNC_NOT_SUPPORTED;

	fci = wk_tlv_begin(resp, 0x6F);
	if (df == DF_PSE) {
		static const uint8_t sfi_dir = SFI_DIR;

		wk_tlv_put(resp, 0x84, pse_name, sizeof(pse_name));
		prop = wk_tlv_begin(resp, 0xA5);
		wk_tlv_put(resp, 0x88, &sfi_dir, 1);
	} else {
		/* 7.2: 9F08 = application version, 9F0C = EF 0015 */
		wk_tlv_put(resp, 0x84, adf_aid, sizeof(adf_aid));
		prop = wk_tlv_begin(resp, 0xA5);
		wk_tlv_put(resp, 0x9F08, &ef15[9], 1);
		wk_tlv_put(resp, 0x9F0C, ef15, PURSE_EF15_LEN);
	}
	wk_tlv_end(resp, prop);
	wk_tlv_end(resp, fci);
	return WK_SW_OK;
}

/* SELECT of an EF by file id inside the ADF (P1 00 or 02) */
static uint16_t
select_ef(purse_applet *a, const wk_apdu *cmd)
{
	uint16_t fid;

	if ((cmd->p1 != 0x00 && cmd->p1 != 0x02) ||
	    (cmd->p2 != 0x00 && cmd->p2 != 0x0C))
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 2)
		return WK_SW_WRONG_LENGTH;
	fid = (uint16_t)((cmd->data[0] << 8) | cmd->data[1]);
	if (a->df != DF_ADF ||
	    (fid != 0x0015 && fid != 0x0016 && fid != 0x0018))
		return WK_SW_FILE_NOT_FOUND;
	a->cur_ef = fid;
	return WK_SW_OK;
}

/* ---- files ---- */

static uint16_t
read_binary(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t file[PURSE_EF16_LEN + 1];
	const char *name;
	size_t off, n;
	uint16_t ef;
	wk_buf b;

	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (cmd->p1 & 0x80) {
		if (cmd->p1 & 0x60)
			return WK_SW_WRONG_P1P2;
		ef = (uint16_t)(cmd->p1 & 0x1F);
		off = cmd->p2;
	} else {
		if (a->cur_ef == 0)
			return SW_NO_CURRENT_EF;
		ef = a->cur_ef;
		off = ((size_t)cmd->p1 << 8) | cmd->p2;
	}
	if (ef == SFI_EF15)
		name = "ef15";
	else if (ef == SFI_EF16)
		name = "ef16";
	else if (ef == SFI_LOG)
		return SW_FILE_STRUCTURE;
	else
		return WK_SW_FILE_NOT_FOUND;
	wk_buf_init_fixed(&b, file, sizeof(file));
	if (vc_store_get(vc_card_store(card), PURSE_APPLET, name, &b) !=
	    VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (off >= b.len)
		return SW_OFFSET_OUTSIDE;
	n = b.len - off;
	if (cmd->has_le && cmd->le < n)
		n = cmd->le;
	wk_buf_add(resp, file + off, n);
	return WK_SW_OK;
}

static uint16_t
read_dir(const wk_apdu *cmd, wk_buf *resp)
{
	size_t rec, app;

	if (cmd->p1 != 1)
		return WK_SW_RECORD_NOT_FOUND;
	rec = wk_tlv_begin(resp, 0x70);
	app = wk_tlv_begin(resp, 0x61);
	wk_tlv_put(resp, 0x4F, adf_aid, sizeof(adf_aid));
	wk_tlv_put(resp, 0x50, dir_label, sizeof(dir_label) - 1);
	wk_tlv_end(resp, app);
	wk_tlv_end(resp, rec);
	return WK_SW_OK;
}

static uint16_t
read_record(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	uint8_t rec[PURSE_REC_LEN];
	unsigned sfi = cmd->p2 >> 3, mode = cmd->p2 & 0x07;
	purse_state s;
	int rc;

	if ((mode != 4 && mode != 5) || cmd->p1 == 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (a->df == DF_PSE) {
		if (sfi != SFI_DIR || mode != 4)
			return sfi != SFI_DIR ? WK_SW_FILE_NOT_FOUND :
			    WK_SW_WRONG_P1P2;
		return read_dir(cmd, resp);
	}
	if (sfi == 0) {
		if (a->cur_ef == 0)
			return SW_NO_CURRENT_EF;
		if (a->cur_ef != 0x0018)
			return SW_FILE_STRUCTURE;
	} else if (sfi == SFI_EF15 || sfi == SFI_EF16) {
		return SW_FILE_STRUCTURE;
	} else if (sfi != SFI_LOG) {
		return WK_SW_FILE_NOT_FOUND;
	}
	/* 7.3: reading the log of a bank card needs the PIN (the profile's
	 * "pin_required" may waive it, docs/purse.md "PIN") */
	if (!a->pin_ok && purse_pin_required(card, PURSE_PIN_HISTORY))
		return WK_SW_SECURITY_STATUS;
	if (purse_state_get(card, &s) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (cmd->p1 > s.log_count)
		return WK_SW_RECORD_NOT_FOUND;
	for (unsigned n = cmd->p1; n <= s.log_count; n++) {
		if ((rc = purse_log_get(card, &s, n, rec)) != VC_STORE_OK)
			return WK_SW_MEMORY_FAILURE;
		wk_buf_add(resp, rec, sizeof(rec));
		if (mode == 4)
			break;
	}
	return WK_SW_OK;
}

/* ---- balance and proof ---- */

static uint16_t
get_balance(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_state s;
	int purse;

	if (cmd->p1 != 0x00 || (cmd->p2 != 0x01 && cmd->p2 != 0x02))
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 0)
		return WK_SW_WRONG_LENGTH;
	if (purse_state_get(card, &s) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	purse = cmd->p2 == 0x01 ? PURSE_ED : PURSE_EP;
	if (!purse_has(&s, purse))
		return WK_SW_FUNC_NOT_SUPPORTED;
	/* 8: the ED balance needs the PIN */
	if (purse == PURSE_ED && !a->pin_ok)
		return WK_SW_SECURITY_STATUS;
	wk_buf_be32(resp, s.w[purse].balance);
	return WK_SW_OK;
}

static int
type_purse(uint8_t type)
{
	switch (type) {
	case WK_PURSE_TT_ED_LOAD:
	case WK_PURSE_TT_UNLOAD:
	case WK_PURSE_TT_ED_CASH:
	case WK_PURSE_TT_ED_PURCHASE:
	case WK_PURSE_TT_ED_UPDATE:
		return PURSE_ED;
	case WK_PURSE_TT_EP_LOAD:
	case WK_PURSE_TT_EP_PURCHASE:
		return PURSE_EP;
	default:
		return -1;
	}
}

static uint16_t
get_prove(vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	const purse_proof *pr;
	purse_state s;
	uint16_t seq;
	int purse;

	if (cmd->p1 != 0x00 || (purse = type_purse(cmd->p2)) < 0)
		return WK_SW_WRONG_P1P2;
	if (cmd->lc != 2)
		return WK_SW_WRONG_LENGTH;
	if (purse_state_get(card, &s) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (!purse_has(&s, purse))
		return WK_SW_FUNC_NOT_SUPPORTED;
	seq = (uint16_t)((cmd->data[0] << 8) | cmd->data[1]);
	pr = &s.w[purse].proof;
	/* U1: the seq the MACs used (N) or the one after it (N+1) */
	if (!pr->valid || pr->type != cmd->p2 ||
	    (seq != pr->seq && seq != (uint32_t)pr->seq + 1))
		return WK_SW_PURSE_MAC_UNAVAILABLE;
	wk_buf_add(resp, pr->mac, sizeof(pr->mac));
	wk_buf_add(resp, pr->tac, sizeof(pr->tac));
	return WK_SW_OK;
}

/* what a blocked application still answers (docs/purse.md "Blocking"):
 * the commands that unblock it, VERIFY, LOAD RECOVER, which moves no
 * value and lets a load in flight be settled with the issuer, and ISSUER
 * SESSION, which moves none either and lets the audit log be synced */
static bool
allowed_blocked(const wk_apdu *cmd)
{
	switch (cmd->ins) {
	case INS_GET_CHALLENGE:
	case INS_APP_UNBLOCK:
	case INS_VERIFY:
		return true;
	case INS_PIN:
		/* the issuer's RELOAD PIN script, not the holder's CHANGE PIN */
		return cmd->cla == PURSE_CLA_SM && cmd->p1 == PURSE_P1_RELOAD_PIN;
	default:
		return cmd->cla == PURSE_CLA &&
		    (cmd->ins == PURSE_WALLET_INS_RECOVER ||
		    cmd->ins == PURSE_WALLET_INS_UNBLOCK_REQUEST ||
		    cmd->ins == PURSE_WALLET_INS_SESSION);
	}
}

/* ---- dispatch ---- */

static uint16_t
process_pse(purse_applet *a, const wk_apdu *cmd, wk_buf *resp)
{
	(void)a;
	if (cmd->ins == INS_READ_RECORD && cmd->cla == CLA_ISO) {
		if (cmd->lc != 0)
			return WK_SW_WRONG_LENGTH;
		if ((cmd->p2 & 0x07) != 4 || cmd->p1 == 0)
			return WK_SW_WRONG_P1P2;
		if ((cmd->p2 >> 3) != SFI_DIR)
			return WK_SW_FILE_NOT_FOUND;
		return read_dir(cmd, resp);
	}
	if (cmd->ins == INS_SELECT && cmd->cla == CLA_ISO)
		return WK_SW_FILE_NOT_FOUND;
	return WK_SW_INS_NOT_SUPPORTED;
}

static uint16_t
process_adf(purse_applet *a, vc_card *card, const wk_apdu *cmd, wk_buf *resp,
    purse_session *prev)
{
	enum purse_lock lock;

	switch (cmd->ins) {
	case INS_SELECT:
	case INS_READ_BINARY:
	case INS_READ_RECORD:
	case INS_VERIFY:
	case INS_GET_CHALLENGE:
		if (cmd->cla != CLA_ISO)
			return WK_SW_CLA_NOT_SUPPORTED;
		break;
	case INS_APP_UNBLOCK:
		if (cmd->cla != PURSE_CLA_SM)
			return cmd->cla == CLA_ISO || cmd->cla == PURSE_CLA ?
			    WK_SW_INS_NOT_SUPPORTED : WK_SW_CLA_NOT_SUPPORTED;
		break;
	case INS_PIN:
		if (cmd->cla != PURSE_CLA && cmd->cla != PURSE_CLA_SM)
			return cmd->cla == CLA_ISO ? WK_SW_INS_NOT_SUPPORTED :
			    WK_SW_CLA_NOT_SUPPORTED;
		break;
	default:
		if (cmd->cla != PURSE_CLA)
			return cmd->cla == CLA_ISO ? WK_SW_INS_NOT_SUPPORTED :
			    WK_SW_CLA_NOT_SUPPORTED;
		break;
	}
	if (purse_lock_state(card, &lock) != VC_STORE_OK)
		return WK_SW_MEMORY_FAILURE;
	if (lock != PURSE_OPEN && !allowed_blocked(cmd))
		return WK_SW_FUNC_NOT_SUPPORTED;
	switch (cmd->ins) {
	case INS_GET_CHALLENGE:
		return purse_get_challenge(card, cmd, resp);
	case INS_APP_UNBLOCK:
		return purse_app_unblock(a, card, cmd);
	case INS_SELECT:
		return select_ef(a, cmd);
	case INS_READ_BINARY:
		return read_binary(a, card, cmd, resp);
	case INS_READ_RECORD:
		return read_record(a, card, cmd, resp);
	case INS_VERIFY:
		return purse_verify(a, card, cmd);
	case INS_PIN:
		return purse_pin_command(a, card, cmd);
	case INS_GET_BALANCE:
		return get_balance(a, card, cmd, resp);
	case INS_GET_PROVE:
		return get_prove(card, cmd, resp);
	default:
		if (cmd->ins >= PURSE_WALLET_INS_FIRST &&
		    cmd->ins <= PURSE_WALLET_INS_LAST)
			return purse_wallet_process(a, card, cmd, resp, prev);
		return purse_txn_process(a, card, cmd, resp, prev);
	}
}

static uint16_t
purse_process(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	purse_applet *a = state;
	purse_session prev;
	uint16_t sw;

	/* 2: a debit or credit must come directly after its INITIALIZE, so
	 * every command consumes the open session */
	prev = a->sess;
	purse_session_drop(a);
	switch (a->df) {
	case DF_PSE:
		sw = process_pse(a, cmd, resp);
		break;
	case DF_ADF:
		sw = process_adf(a, card, cmd, resp, &prev);
		break;
	default:
		sw = WK_SW_INS_NOT_SUPPORTED;
		break;
	}
	sodium_memzero(&prev, sizeof(prev));
	return sw;
}

static void
purse_secret_range(const wk_apdu *cmd, size_t *from, size_t *len)
{
	*from = 0;
	*len = 0;
	if ((cmd->cla == CLA_ISO && cmd->ins == INS_VERIFY) ||
	    cmd->ins == INS_PIN)
		*len = cmd->lc;
}

const vc_applet vc_applet_purse = {
	.name = "purse",
	VC_AIDS(purse_aids),
	VC_LIFE(purse_create, purse_open, purse_close, purse_select,
	    purse_deselect),
	.owns_fid = purse_owns_fid,
	.process = purse_process,
	.secret_range = purse_secret_range,
};
