#include "vc_card.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wk_card_id.h"
#include "wk_log.h"
#include "wk_vpcd.h"

#define NO_APPLET SIZE_MAX
#define CHAIN_MAX 65536u
#define RESP_MAX WK_APDU_MAX_LE
#define SHORT_MAX 256u

#define INS_SELECT 0xA4
#define INS_GET_RESPONSE 0xC0
#define CLA_CHAIN 0x10

struct vc_card {
	vc_store *st;
	vc_card_opts opts;
	const vc_applet *const *applets;
	size_t n;
	size_t n_open;		/* applets created or opened so far */
	void **state;
	size_t sel;		/* index of the selected applet, or NO_APPLET */
	bool resp_secret;	/* mask the pending response in traces */

	/* command chaining: header of the chain and the data so far */
	bool chaining;
	uint8_t chain_hdr[4];	/* CLA without the chain bit, INS, P1, P2 */
	wk_buf chain;

	/* response data of the last command; [roff, len) is pending */
	wk_buf resp;
	size_t roff;
	uint16_t final_sw;
};

static const uint8_t card_atr[WK_ATR_LEN] = { WK_ATR_BYTES };

vc_store *
vc_card_store(vc_card *card)
{
	return card->st;
}

const uint8_t *
vc_card_serial(const vc_card *card)
{
	return vc_store_serial(card->st);
}

void
vc_card_random(vc_card *card, uint8_t *p, size_t n)
{
	(void)card;
	randombytes_buf(p, n);
}

const vc_card_opts *
vc_card_options(const vc_card *card)
{
	return &card->opts;
}

/* 9000, 61xx, 62xx and 63xx keep their data and the command's writes */
static bool
sw_keeps(uint16_t sw)
{
	uint8_t sw1 = (uint8_t)(sw >> 8);

	return sw == WK_SW_OK || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
}

static void
drop_chain(vc_card *card)
{
	if (card->chain.p != NULL)
		sodium_memzero(card->chain.p, card->chain.len);
	wk_buf_reset(&card->chain);
	card->chaining = false;
}

static void
drop_response(vc_card *card)
{
	if (card->resp.p != NULL)
		sodium_memzero(card->resp.p, card->resp.len);
	wk_buf_reset(&card->resp);
	card->roff = 0;
}

static bool
aid_match(const vc_aid *id, const uint8_t *name, size_t len)
{
	size_t min = id->min_prefix == 0 ? id->len : id->min_prefix;

	return len > 0 && len >= min && len <= id->len &&
	    memcmp(id->aid, name, len) == 0;
}

static uint16_t
select_applet(vc_card *card, size_t i, size_t which, const wk_apdu *a,
    wk_buf *out)
{
	const vc_applet *app = card->applets[i];
	uint16_t sw = WK_SW_OK;

	if (app->select != NULL)
		sw = app->select(card->state[i], card, which, a, out);
	/* 6A81: a blocked application is selected all the same, so that it
	 * can be unblocked (FMCOS 8.3, pboc-purse.md 6); its FCI is dropped */
	if (!sw_keeps(sw) && sw != WK_SW_FUNC_NOT_SUPPORTED)
		return sw;
	if (card->sel != i && card->sel != NO_APPLET &&
	    card->applets[card->sel]->deselect != NULL)
		card->applets[card->sel]->deselect(card->state[card->sel], card);
	card->sel = i;
	wk_log(WK_LOG_APPLET, "card: %s selected", app->name);
	/* P2 0C: no response data (ISO 7816-4 table 63) */
	if ((a->p2 & 0x0C) == 0x0C)
		drop_response(card);
	return sw;
}

static const vc_cmd *
cmd_row(const vc_cmd *t, uint8_t ins)
{
	for (; t != NULL && t->fn != NULL; t++)
		if (t->ins == ins)
			return t;
	return NULL;
}

uint16_t
vc_cmd_run(const vc_cmd *t, void *state, vc_card *card, const wk_apdu *cmd,
    wk_buf *resp)
{
	const vc_cmd *row = cmd_row(t, cmd->ins);

	if (row == NULL)
		return WK_SW_INS_NOT_SUPPORTED;
	if (cmd->cla != row->cla)
		return WK_SW_CLA_NOT_SUPPORTED;
	if ((row->flags & VC_CMD_P1P2_ZERO) != 0) {
		if (cmd->p1 != 0x00)
			return WK_SW_WRONG_P1P2;
		if (cmd->p2 != 0x00)
			return WK_SW_REF_NOT_FOUND;
	}
	return row->fn(state, card, cmd, resp);
}

/* the flags of cmd's row in the selected applet's table; 0 without one */
static unsigned
cmd_flags(const vc_applet *app, const wk_apdu *cmd)
{
	const vc_cmd *row = cmd_row(app->cmds, cmd->ins);

	return row != NULL ? row->flags : 0;
}

static void
secret_range(const vc_applet *app, const wk_apdu *cmd, size_t *from,
    size_t *len)
{
	if (app->secret_range != NULL) {
		app->secret_range(cmd, from, len);
		return;
	}
	*from = 0;
	*len = (cmd_flags(app, cmd) & VC_CMD_SECRET) != 0 ? cmd->lc : 0;
}

static bool
secret_response(const vc_applet *app, const wk_apdu *cmd)
{
	if (app->secret_response != NULL)
		return app->secret_response(cmd);
	return (cmd_flags(app, cmd) & VC_CMD_SECRET_RESP) != 0;
}

static uint16_t
to_selected(vc_card *card, const wk_apdu *a, wk_buf *out, uint16_t none_sw)
{
	const vc_applet *app;

	if (card->sel == NO_APPLET)
		return none_sw;
	app = card->applets[card->sel];
	if (app->process != NULL)
		return app->process(card->state[card->sel], card, a, out);
	return vc_cmd_run(app->cmds, card->state[card->sel], card, a, out);
}

static uint16_t
select_by_name(vc_card *card, const wk_apdu *a, wk_buf *out)
{
	for (size_t i = 0; i < card->n; i++) {
		const vc_applet *app = card->applets[i];

		for (size_t j = 0; j < app->n_aids; j++)
			if (aid_match(&app->aids[j], a->data, a->lc))
				return select_applet(card, i, j, a, out);
	}
	wk_log(WK_LOG_APPLET, "card: no applet for that DF name");
	return WK_SW_FILE_NOT_FOUND;
}

static uint16_t
select_by_fid(vc_card *card, const wk_apdu *a, wk_buf *out)
{
	uint16_t fid = (uint16_t)((a->data[0] << 8) | a->data[1]);

	for (size_t i = 0; i < card->n; i++) {
		const vc_applet *app = card->applets[i];

		if (app->owns_fid != NULL && app->owns_fid(fid))
			return select_applet(card, i, app->n_aids, a, out);
	}
	return to_selected(card, a, out, WK_SW_FILE_NOT_FOUND);
}

/* a complete command (chains joined), CLA already checked */
static uint16_t
dispatch(vc_card *card, const wk_apdu *a, wk_buf *out)
{
	if ((a->cla & 0x80) == 0 && a->ins == INS_SELECT) {
		if (a->p1 == 0x04 && (a->p2 == 0x00 || a->p2 == 0x0C))
			return select_by_name(card, a, out);
		if (a->p1 == 0x00 && a->lc == 2)
			return select_by_fid(card, a, out);
		return to_selected(card, a, out, WK_SW_FILE_NOT_FOUND);
	}
	return to_selected(card, a, out, WK_SW_INS_NOT_SUPPORTED);
}

/* runs a command in its store transaction; response data lands in card->resp */
static uint16_t
run(vc_card *card, const wk_apdu *a)
{
	uint16_t sw;

	drop_response(card);
	if (vc_store_begin(card->st) != VC_STORE_OK) {
		sw = WK_SW_MEMORY_FAILURE;
		goto out;
	}
	sw = dispatch(card, a, &card->resp);
	if (wk_buf_failed(&card->resp)) {
		wk_log(WK_LOG_APDU, "card: response larger than %u bytes",
		    RESP_MAX);
		sw = WK_SW_UNKNOWN;
	}
	if (!sw_keeps(sw)) {
		vc_store_abort(card->st);
		drop_response(card);
		goto out;
	}
	if (vc_store_commit(card->st) != VC_STORE_OK) {
		wk_log(WK_LOG_STORE, "card: commit failed: %s",
		    vc_store_errmsg(card->st));
		vc_store_abort(card->st);
		drop_response(card);
		sw = WK_SW_MEMORY_FAILURE;
	}
out:
	card->final_sw = sw;
	return sw;
}

/*
 * CLA 10 chaining: returns true when the command was an intermediate
 * fragment (answered with *sw), false when a (possibly joined) command is
 * ready in *joined
 */
static bool
chain_step(vc_card *card, const wk_apdu *a, wk_apdu *joined, uint16_t *sw)
{
	uint8_t hdr[4] = { (uint8_t)(a->cla & ~CLA_CHAIN), a->ins, a->p1, a->p2 };
	bool more = (a->cla & CLA_CHAIN) != 0;

	*joined = *a;
	if (card->chaining && memcmp(hdr, card->chain_hdr, sizeof(hdr)) != 0) {
		wk_log(WK_LOG_APDU, "card: chain aborted by another command");
		drop_chain(card);
	}
	if (!card->chaining && !more)
		return false;
	if (!card->chaining) {
		memcpy(card->chain_hdr, hdr, sizeof(hdr));
		card->chaining = true;
	}
	wk_buf_add(&card->chain, a->data, a->lc);
	if (wk_buf_failed(&card->chain)) {
		drop_chain(card);
		*sw = WK_SW_NO_SPACE;
		return true;
	}
	if (more) {
		*sw = WK_SW_OK;
		return true;
	}
	joined->cla = hdr[0];
	joined->data = card->chain.len > 0 ? card->chain.p : NULL;
	joined->lc = card->chain.len;
	joined->extended = a->extended || joined->lc > 255;
	joined->iso_case = (uint8_t)(joined->lc > 0 ? (joined->has_le ? 4 : 3) :
	    (joined->has_le ? 2 : 1));
	/* the chain buffer stays valid until drop_chain after the command */
	card->chaining = false;
	return false;
}

/* response data allowed in one R-APDU for a command */
static size_t
resp_limit(const wk_apdu *a)
{
	if (a->extended)
		return a->has_le ? a->le : RESP_MAX;
	return a->has_le ? a->le : SHORT_MAX;
}

static void
emit(vc_card *card, uint16_t sw, size_t limit, uint8_t *out, size_t cap,
    size_t *out_len)
{
	size_t remaining = card->resp.len - card->roff, n;

	n = remaining;
	if (n > limit)
		n = limit;
	if (n > cap - 2)
		n = cap - 2;
	if (n > 0)
		memcpy(out, card->resp.p + card->roff, n);
	card->roff += n;
	remaining -= n;
	if (remaining > 0)
		sw = (uint16_t)(WK_SW_BYTES_REMAINING |
		    (remaining >= 256 ? 0 : remaining));
	else
		drop_response(card);
	out[n] = (uint8_t)(sw >> 8);
	out[n + 1] = (uint8_t)sw;
	*out_len = n + 2;
}

/*
 * the mask of a command's data: the applet judges the data of the whole
 * chain so far, so that a secret object spread over fragments is masked
 * in every one of them, whichever fragment the applet recognises it by
 */
static void
trace_cmd(vc_card *card, const wk_apdu *a, const uint8_t *raw, size_t len)
{
	uint8_t hdr[4], *joined = NULL;
	size_t from = 0, mlen = 0, before = 0, lo, hi;
	const vc_applet *app;
	wk_apdu j;

	if ((wk_log_enabled() & WK_LOG_APDU) == 0)
		return;
	if (card->sel != NO_APPLET && a != NULL && a->lc > 0 &&
	    ((app = card->applets[card->sel])->secret_range != NULL ||
	    app->cmds != NULL)) {
		j = *a;
		hdr[0] = (uint8_t)(a->cla & ~CLA_CHAIN);
		hdr[1] = a->ins;
		hdr[2] = a->p1;
		hdr[3] = a->p2;
		if (card->chaining && card->chain.len > 0 &&
		    memcmp(hdr, card->chain_hdr, sizeof(hdr)) == 0) {
			before = card->chain.len;
			if ((joined = malloc(before + a->lc)) != NULL) {
				memcpy(joined, card->chain.p, before);
				memcpy(joined + before, a->data, a->lc);
				j.data = joined;
				j.lc = before + a->lc;
			}
		}
		if (before > 0 && joined == NULL) {
			from = before;	/* no memory to judge: mask it all */
			mlen = a->lc;
		} else {
			secret_range(app, &j, &from, &mlen);
		}
		if (from > j.lc)
			from = j.lc;
		if (mlen > j.lc - from)
			mlen = j.lc - from;
		/* the part of the masked range that is in this fragment */
		lo = from > before ? from : before;
		hi = from + mlen < before + a->lc ? from + mlen : before + a->lc;
		from = hi > lo ? lo - before : 0;
		mlen = hi > lo ? hi - lo : 0;
		from += (size_t)(a->data - raw);
		if (joined != NULL) {
			sodium_memzero(joined, before + a->lc);
			free(joined);
		}
	}
	wk_log_hex(WK_LOG_APDU, "card <", raw, len, from, mlen);
}

static uint16_t
get_response(vc_card *card, const wk_apdu *a)
{
	if (card->roff >= card->resp.len)
		return WK_SW_CONDITIONS;
	if (a->p1 != 0 || a->p2 != 0)
		return WK_SW_WRONG_P1P2;
	return card->final_sw;
}

int
vc_card_apdu(vc_card *card, const uint8_t *cmd, size_t len, uint8_t *resp,
    size_t cap, size_t *resp_len)
{
	wk_apdu a, joined;
	uint16_t sw;
	size_t limit = 0;
	bool parsed;

	*resp_len = 0;
	if (card == NULL || resp == NULL || cap < 2 || (cmd == NULL && len > 0))
		return VC_CARD_ARG;
	parsed = wk_apdu_parse(&a, cmd, len) == WK_APDU_OK;
	trace_cmd(card, parsed ? &a : NULL, cmd, len);
	if (!parsed) {
		sw = WK_SW_WRONG_LENGTH;
		goto drop;
	}
	if (!(a.cla <= 0x1F ||
	    (a.cla >= 0x80 && a.cla <= 0x9F))) {
		sw = WK_SW_CLA_NOT_SUPPORTED;
		goto drop;
	}
	if ((a.cla & 0x03) != 0) {
		sw = WK_SW_LOGICAL_CHANNEL;
		goto drop;
	}
	if ((a.cla & 0x80) == 0 && a.ins == INS_GET_RESPONSE &&
	    (a.cla & CLA_CHAIN) == 0) {
		drop_chain(card);
		sw = get_response(card, &a);
		if (sw_keeps(sw)) {
			limit = a.extended ? (a.has_le ? a.le : RESP_MAX) :
			    (a.has_le ? a.le : SHORT_MAX);
			goto send;
		}
		goto drop;
	}
	drop_response(card);
	if (chain_step(card, &a, &joined, &sw))
		goto drop;
	card->resp_secret = card->sel != NO_APPLET &&
	    secret_response(card->applets[card->sel], &joined);
	sw = run(card, &joined);
	drop_chain(card);
	/* the last fragment's form decides: a chain of short APDUs still gets
	 * at most 256 bytes per response (piv.md 1.2) */
	limit = resp_limit(&a);
	goto send;
drop:
	drop_response(card);
send:
	emit(card, sw, limit, resp, cap, resp_len);
	wk_log_hex(WK_LOG_APDU, "card >", resp, *resp_len, 0,
	    card->resp_secret && *resp_len > 2 ? *resp_len - 2 : 0);
	return VC_CARD_OK;
}

bool
vc_card_idle(vc_card *card)
{
	bool more = false;

	if (card == NULL)
		return false;
	for (size_t i = 0; i < card->n_open; i++)
		if (card->applets[i]->idle != NULL &&
		    card->applets[i]->idle(card->state[i], card))
			more = true;
	return more;
}

/* power on, reset: volatile state gone, default applet selected */
static void
power_cycle(vc_card *card)
{
	wk_apdu sel;

	drop_chain(card);
	drop_response(card);
	for (size_t i = 0; i < card->n; i++)
		if (card->applets[i]->deselect != NULL)
			card->applets[i]->deselect(card->state[i], card);
	card->sel = NO_APPLET;
	for (size_t i = 0; i < card->n; i++) {
		const vc_applet *app = card->applets[i];

		if (!app->default_selected || app->n_aids == 0)
			continue;
		memset(&sel, 0, sizeof(sel));
		sel.ins = INS_SELECT;
		sel.p1 = 0x04;
		sel.p2 = 0x0C;
		sel.data = app->aids[0].aid;
		sel.lc = app->aids[0].len;
		sel.iso_case = 3;
		run(card, &sel);
		break;
	}
	drop_response(card);
}

int
vc_card_control(vc_card *card, uint8_t code, uint8_t *out, size_t cap,
    size_t *out_len)
{
	*out_len = 0;
	switch (code) {
	case WK_VPCD_POWER_OFF:
	case WK_VPCD_POWER_ON:
	case WK_VPCD_RESET:
		wk_log(WK_LOG_APDU, "card: %s", code == WK_VPCD_POWER_OFF ?
		    "power off" : code == WK_VPCD_POWER_ON ? "power on" :
		    "reset");
		power_cycle(card);
		return VC_CARD_OK;
	case WK_VPCD_GET_ATR:
		wk_log(WK_LOG_LINK, "card: get ATR");
		if (out == NULL || cap < sizeof(card_atr))
			return VC_CARD_ARG;
		memcpy(out, card_atr, sizeof(card_atr));
		*out_len = sizeof(card_atr);
		return VC_CARD_OK;
	default:
		wk_log(WK_LOG_LINK, "card: unknown control code %02X", code);
		return VC_CARD_ARG;
	}
}

void
vc_card_free(vc_card **cardp)
{
	vc_card *card;

	if (cardp == NULL || (card = *cardp) == NULL)
		return;
	for (size_t i = 0; i < card->n_open; i++)
		if (card->applets[i]->close != NULL)
			card->applets[i]->close(&card->state[i]);
	free(card->state);
	wk_buf_clear(&card->chain);
	wk_buf_clear(&card->resp);
	free(card);
	*cardp = NULL;
}

int
vc_card_new(vc_store *st, const vc_card_opts *opts, vc_card **out)
{
	static const vc_card_opts none;
	vc_card *card;
	int rc = VC_CARD_ERROR;

	*out = NULL;
	if (st == NULL)
		return VC_CARD_ARG;
	if ((card = calloc(1, sizeof(*card))) == NULL)
		return VC_CARD_ERROR;
	card->st = st;
	card->opts = opts != NULL ? *opts : none;
	card->applets = card->opts.applets != NULL ? card->opts.applets :
	    vc_registry;
	card->n = card->opts.applets != NULL ? card->opts.n_applets :
	    vc_registry_len;
	card->sel = NO_APPLET;
	wk_buf_init_heap(&card->chain, CHAIN_MAX);
	wk_buf_init_heap(&card->resp, RESP_MAX);
	if ((card->state = calloc(card->n + 1, sizeof(void *))) == NULL)
		goto out;
	if (vc_store_begin(st) != VC_STORE_OK)
		goto out;
	for (size_t i = 0; i < card->n; i++) {
		const vc_applet *app = card->applets[i];
		int r = 0;

		if (card->opts.init && app->create != NULL)
			r = app->create(card, &card->state[i]);
		else if (app->open != NULL)
			r = app->open(card, &card->state[i]);
		if (r != 0) {
			wk_log(WK_LOG_APPLET, "card: %s: %s failed (%d)",
			    app->name, card->opts.init ? "create" : "open", r);
			vc_store_abort(st);
			goto out;
		}
		card->n_open = i + 1;
	}
	if (vc_store_commit(st) != VC_STORE_OK)
		goto out;
	power_cycle(card);
	*out = card;
	card = NULL;
	rc = VC_CARD_OK;
out:
	vc_card_free(&card);
	return rc;
}
