/* PC/SC transport: context, reader list, connection, transactions, raw exchange */
#include "wk_internal.h"

#include <stdlib.h>
#include <string.h>

#include <PCSC/pcsclite.h>

#include "wk_card_id.h"
#include "wk_log.h"

static const uint8_t wk_atr[WK_ATR_LEN] = { WK_ATR_BYTES };

int
wk_pcsc_rc(LONG rv)
{
	int rc;

	switch (rv) {
	case SCARD_S_SUCCESS:
		rc = WK_OK;
		break;
	case SCARD_E_NO_MEMORY:
		rc = WK_ERR_MEMORY;
		break;
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
	case SCARD_E_INVALID_HANDLE:
	case SCARD_E_NO_ACCESS:
		rc = WK_ERR_PCSC;
		break;
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_NO_READERS_AVAILABLE:
		rc = WK_ERR_NO_READER;
		break;
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_REMOVED_CARD:
	case SCARD_E_READER_UNAVAILABLE:
	case SCARD_W_RESET_CARD:
	case SCARD_W_UNPOWERED_CARD:
	case SCARD_W_UNRESPONSIVE_CARD:
		rc = WK_ERR_CARD_REMOVED;
		break;
	case SCARD_E_PROTO_MISMATCH:
	case SCARD_E_NOT_TRANSACTED:
	case SCARD_F_COMM_ERROR:
	case SCARD_E_SHARING_VIOLATION:
	case SCARD_E_TIMEOUT:
		rc = WK_ERR_TRANSPORT;
		break;
	case SCARD_E_INSUFFICIENT_BUFFER:
	case SCARD_E_INVALID_PARAMETER:
	case SCARD_E_INVALID_VALUE:
		rc = WK_ERR_ARG;
		break;
	default:
		rc = WK_ERR_PCSC;
		break;
	}
	return rc;
}

int
wk_ctx_new(wk_ctx **out)
{
	wk_ctx *ctx = NULL;
	LONG rv;
	int rc = WK_ERR_ARG;

	if (out == NULL)
		goto out;
	*out = NULL;
	rc = WK_ERR_MEMORY;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		goto out;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx->sc);
	wk_log(WK_LOG_LINK, "SCardEstablishContext: %s", pcsc_stringify_error(rv));
	if (rv != SCARD_S_SUCCESS) {
		rc = WK_ERR_PCSC;
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	rc = WK_OK;
out:
	free(ctx);
	return rc;
}

void
wk_ctx_free(wk_ctx **ctx)
{
	if (ctx == NULL || *ctx == NULL)
		return;
	SCardReleaseContext((*ctx)->sc);
	free(*ctx);
	*ctx = NULL;
}

/* the multi-string of reader names; *names freed with free() */
static int
list_names(wk_ctx *ctx, char **names, size_t *n)
{
	char *buf = NULL;
	DWORD len = 0;
	LONG rv;
	int rc = WK_ERR_PCSC;

	*names = NULL;
	*n = 0;
	rv = SCardListReaders(ctx->sc, NULL, NULL, &len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		rc = WK_OK;
		goto out;
	}
	if (rv != SCARD_S_SUCCESS) {
		rc = wk_pcsc_rc(rv);
		goto out;
	}
	rc = WK_ERR_MEMORY;
	if ((buf = calloc(1, (size_t)len + 1)) == NULL)
		goto out;
	rv = SCardListReaders(ctx->sc, NULL, buf, &len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		rc = WK_OK;
		goto out;
	}
	if (rv != SCARD_S_SUCCESS) {
		rc = wk_pcsc_rc(rv);
		goto out;
	}
	for (const char *p = buf; *p != '\0'; p += strlen(p) + 1)
		(*n)++;
	*names = buf;
	buf = NULL;
	rc = WK_OK;
out:
	free(buf);
	return rc;
}

int
wk_list_readers(wk_ctx *ctx, wk_reader_info **out, size_t *n)
{
	SCARD_READERSTATE *st = NULL;
	wk_reader_info *info = NULL;
	char *names = NULL;
	size_t count = 0, i = 0;
	LONG rv;
	int rc = WK_ERR_ARG;

	if (ctx == NULL || out == NULL || n == NULL)
		goto out;
	*out = NULL;
	*n = 0;
	if ((rc = list_names(ctx, &names, &count)) != WK_OK)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((info = calloc(count + 1, sizeof(*info))) == NULL ||
	    (st = calloc(count + 1, sizeof(*st))) == NULL)
		goto out;
	for (const char *p = names; p != NULL && *p != '\0'; p += strlen(p) + 1) {
		st[i].szReader = p;
		st[i].dwCurrentState = SCARD_STATE_UNAWARE;
		i++;
	}
	if (count > 0) {
		rv = SCardGetStatusChange(ctx->sc, 0, st, (DWORD)count);
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
			rc = wk_pcsc_rc(rv);
			goto out;
		}
	}
	for (i = 0; i < count; i++) {
		wk_reader_info *r = &info[i];

		strncpy(r->name, st[i].szReader, sizeof(r->name) - 1);
		r->card_present = (st[i].dwEventState & SCARD_STATE_PRESENT) != 0;
		if (r->card_present && st[i].cbAtr <= sizeof(r->atr)) {
			memcpy(r->atr, st[i].rgbAtr, st[i].cbAtr);
			r->atr_len = st[i].cbAtr;
		}
		r->walletkey = r->atr_len == sizeof(wk_atr) &&
		    memcmp(r->atr, wk_atr, sizeof(wk_atr)) == 0;
	}
	*out = info;
	*n = count;
	info = NULL;
	rc = WK_OK;
out:
	free(st);
	free(info);
	free(names);
	return rc;
}

int
wk_wait_readers(wk_ctx *ctx, unsigned timeout_ms, bool *changed)
{
	SCARD_READERSTATE *st = NULL;
	char *names = NULL;
	size_t count = 0, i = 0;
	LONG rv;
	int rc = WK_ERR_ARG;

	if (ctx == NULL || changed == NULL)
		goto out;
	*changed = false;
	if ((rc = list_names(ctx, &names, &count)) != WK_OK)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((st = calloc(count + 1, sizeof(*st))) == NULL)
		goto out;
	for (const char *p = names; p != NULL && *p != '\0'; p += strlen(p) + 1)
		st[i++].szReader = p;
	/* pcsc-lite's pseudo reader: its state changes with the reader list */
	st[count].szReader = "\\\\?PnP?\\Notification";
	for (i = 0; i <= count; i++)
		st[i].dwCurrentState = SCARD_STATE_UNAWARE;
	rv = SCardGetStatusChange(ctx->sc, 0, st, (DWORD)count + 1);
	if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
		rc = wk_pcsc_rc(rv);
		goto out;
	}
	for (i = 0; i <= count; i++)
		st[i].dwCurrentState = st[i].dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
	rv = SCardGetStatusChange(ctx->sc, (DWORD)timeout_ms, st,
	    (DWORD)count + 1);
	if (rv == SCARD_E_TIMEOUT) {
		rc = WK_OK;
		goto out;
	}
	if (rv != SCARD_S_SUCCESS) {
		rc = wk_pcsc_rc(rv);
		goto out;
	}
	*changed = true;
	rc = WK_OK;
out:
	free(st);
	free(names);
	return rc;
}

int
wk_pcsc_choose(const wk_reader_info *r, size_t n, const char *want,
    size_t *which)
{
	size_t hits = 0, i;
	int rc = WK_ERR_NO_READER;

	if (n == 0)
		goto out;
	if (want != NULL) {
		for (i = 0; i < n; i++) {
			if (strcmp(r[i].name, want) == 0) {
				*which = i;
				hits = 1;
				break;
			}
		}
		if (hits == 0) {
			for (i = 0; i < n; i++) {
				if (strncmp(r[i].name, want, strlen(want)) == 0) {
					*which = i;
					hits++;
				}
			}
		}
		if (hits > 1)
			rc = WK_ERR_ARG;	/* ambiguous prefix */
		else if (hits == 1)
			rc = r[*which].card_present ? WK_OK : WK_ERR_NO_CARD;
		goto out;
	}
	rc = WK_ERR_NO_CARD;
	for (i = 0; i < n; i++) {
		if (r[i].walletkey) {
			*which = i;
			rc = WK_OK;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (r[i].card_present) {
			*which = i;
			rc = WK_OK;
			goto out;
		}
	}
out:
	return rc;
}

static int
card_status(wk_card *card)
{
	char name[256];
	DWORD name_len = sizeof(name), state = 0, proto = 0, atr_len;
	BYTE atr[MAX_ATR_SIZE];
	LONG rv;
	int rc;

	atr_len = sizeof(atr);
	rv = SCardStatus(card->h, name, &name_len, &state, &proto, atr, &atr_len);
	if ((rc = wk_pcsc_rc(rv)) != WK_OK)
		goto out;
	rc = WK_ERR_CARD_MALFORMED;
	if (atr_len > sizeof(card->atr))
		goto out;
	memcpy(card->atr, atr, atr_len);
	card->atr_len = atr_len;
	card->walletkey = atr_len == sizeof(wk_atr) &&
	    memcmp(atr, wk_atr, sizeof(wk_atr)) == 0;
	card->extended = card->walletkey;
	rc = WK_OK;
out:
	return rc;
}

int
wk_card_open(wk_ctx *ctx, const char *reader, wk_card **out)
{
	wk_reader_info *list = NULL;
	wk_card *card = NULL;
	size_t n = 0, which = 0;
	LONG rv;
	int rc = WK_ERR_ARG;

	if (ctx == NULL || out == NULL)
		goto out;
	*out = NULL;
	if ((rc = wk_list_readers(ctx, &list, &n)) != WK_OK)
		goto out;
	if ((rc = wk_pcsc_choose(list, n, reader, &which)) != WK_OK)
		goto out;
	rc = WK_ERR_MEMORY;
	if ((card = calloc(1, sizeof(*card))) == NULL)
		goto out;
	card->ctx = ctx;
	memcpy(card->reader, list[which].name, sizeof(card->reader));
	rv = SCardConnect(ctx->sc, card->reader, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card->h, &card->proto);
	wk_log(WK_LOG_LINK, "SCardConnect %s: %s", card->reader,
	    pcsc_stringify_error(rv));
	if (rv != SCARD_S_SUCCESS) {
		rc = wk_pcsc_rc(rv);
		if (rc == WK_ERR_CARD_REMOVED)
			rc = WK_ERR_NO_CARD;
		free(card);
		card = NULL;
		goto out;
	}
	if ((rc = card_status(card)) != WK_OK)
		goto out;
	*out = card;
	card = NULL;
	rc = WK_OK;
out:
	wk_card_free(&card);
	free(list);
	return rc;
}

void
wk_card_free(wk_card **card)
{
	if (card == NULL || *card == NULL)
		return;
	if ((*card)->depth > 0)
		SCardEndTransaction((*card)->h, SCARD_LEAVE_CARD);
	SCardDisconnect((*card)->h, SCARD_LEAVE_CARD);
	free(*card);
	*card = NULL;
}

const char *
wk_card_reader(const wk_card *card)
{
	return card != NULL ? card->reader : NULL;
}

int
wk_card_atr(const wk_card *card, uint8_t *atr, size_t *len)
{
	int rc = WK_ERR_ARG;

	if (card == NULL || atr == NULL || len == NULL || *len < card->atr_len)
		goto out;
	memcpy(atr, card->atr, card->atr_len);
	*len = card->atr_len;
	rc = WK_OK;
out:
	return rc;
}

bool
wk_card_is_walletkey(const wk_card *card)
{
	return card != NULL && card->walletkey;
}

/* another client reset the card: take the handle back, and the transaction with it */
static int
reconnect(wk_card *card)
{
	LONG rv;
	int rc;

	rv = SCardReconnect(card->h, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &card->proto);
	wk_log(WK_LOG_LINK, "SCardReconnect: %s", pcsc_stringify_error(rv));
	if ((rc = wk_pcsc_rc(rv)) != WK_OK)
		goto out;
	if (card->depth > 0) {
		rv = SCardBeginTransaction(card->h);
		rc = wk_pcsc_rc(rv);
	}
out:
	return rc;
}

int
wk_card_begin(wk_card *card)
{
	LONG rv;
	int rc = WK_ERR_ARG;

	if (card == NULL)
		goto out;
	if (card->depth > 0) {
		card->depth++;
		rc = WK_OK;
		goto out;
	}
	rv = SCardBeginTransaction(card->h);
	wk_log(WK_LOG_LINK, "SCardBeginTransaction: %s", pcsc_stringify_error(rv));
	if (rv == SCARD_W_RESET_CARD) {
		if ((rc = reconnect(card)) != WK_OK)
			goto out;
		rv = SCardBeginTransaction(card->h);
	}
	if ((rc = wk_pcsc_rc(rv)) != WK_OK)
		goto out;
	card->depth = 1;
	rc = WK_OK;
out:
	return rc;
}

int
wk_card_end(wk_card *card)
{
	LONG rv;
	int rc = WK_ERR_ARG;

	if (card == NULL || card->depth == 0)
		goto out;
	rc = WK_OK;
	if (--card->depth > 0)
		goto out;
	rv = SCardEndTransaction(card->h, SCARD_LEAVE_CARD);
	wk_log(WK_LOG_LINK, "SCardEndTransaction: %s", pcsc_stringify_error(rv));
	if (rv == SCARD_W_RESET_CARD)
		rv = SCARD_S_SUCCESS;	/* the card was reset: nothing left to release */
	rc = wk_pcsc_rc(rv);
out:
	return rc;
}

static LONG
transmit_once(wk_card *card, const uint8_t *apdu, size_t len, uint8_t *resp,
    DWORD *rlen)
{
	const SCARD_IO_REQUEST *pci;

	pci = card->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	return SCardTransmit(card->h, pci, apdu, (DWORD)len, NULL, resp, rlen);
}

int
wk_card_transmit(wk_card *card, const uint8_t *apdu, size_t len,
    uint8_t *resp, size_t *resp_len)
{
	DWORD rlen;
	LONG rv;
	int rc = WK_ERR_ARG;

	if (card == NULL || apdu == NULL || len < 4 || resp == NULL ||
	    resp_len == NULL || *resp_len < 2)
		goto out;
	rlen = *resp_len > WK_RESP_MAX ? WK_RESP_MAX : (DWORD)*resp_len;
	rv = transmit_once(card, apdu, len, resp, &rlen);
	wk_log(WK_LOG_LINK, "SCardTransmit: %zu bytes: %s", len,
	    pcsc_stringify_error(rv));
	if (rv == SCARD_W_RESET_CARD) {
		if ((rc = reconnect(card)) != WK_OK)
			goto out;
		rlen = *resp_len > WK_RESP_MAX ? WK_RESP_MAX : (DWORD)*resp_len;
		rv = transmit_once(card, apdu, len, resp, &rlen);
	}
	if (rv != SCARD_S_SUCCESS) {
		wk_log(WK_LOG_LINK, "SCardTransmit: %s", pcsc_stringify_error(rv));
		rc = wk_pcsc_rc(rv);
		goto out;
	}
	rc = WK_ERR_CARD_MALFORMED;
	if (rlen < 2)
		goto out;
	*resp_len = rlen;
	rc = WK_OK;
out:
	return rc;
}

int
wk_pcsc_xfer(void *card, const uint8_t *apdu, size_t len, uint8_t *resp,
    size_t *resp_len)
{
	return wk_card_transmit(card, apdu, len, resp, resp_len);
}
