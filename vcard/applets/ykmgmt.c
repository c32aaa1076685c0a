/*
 * the Yubico management AID: ykpiv 2.2 "deauthenticates" by selecting it
 * (piv.md 1.3); answering 9000 makes the card deselect PIV, which drops its
 * security state. No commands beyond SELECT.
 */
#include "piv.h"

static const uint8_t ykmgmt_aid[] = {
	0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17,
};

static const vc_aid ykmgmt_aids[] = {
	{ ykmgmt_aid, sizeof(ykmgmt_aid), sizeof(ykmgmt_aid) },
};

static int
ykmgmt_open(vc_card *card, void **state)
{
	(void)card;
	*state = NULL;
	return 0;
}

static void
ykmgmt_close(void **state)
{
	*state = NULL;
}

static void
ykmgmt_deselect(void *state, vc_card *card)
{
	(void)state;
	(void)card;
}

static uint16_t
ykmgmt_select(void *state, vc_card *card, size_t which, const wk_apdu *cmd,
    wk_buf *resp)
{
	(void)state;
	(void)card;
	(void)which;
	(void)cmd;
	(void)resp;
	return WK_SW_OK;
}

static uint16_t
ykmgmt_process(void *state, vc_card *card, const wk_apdu *cmd, wk_buf *resp)
{
	(void)state;
	(void)card;
	(void)cmd;
	(void)resp;
	return WK_SW_INS_NOT_SUPPORTED;
}

const vc_applet vc_applet_ykmgmt = {
	.name = "ykmgmt",
	VC_AIDS(ykmgmt_aids),
	VC_LIFE(ykmgmt_open, ykmgmt_open, ykmgmt_close, ykmgmt_select,
	    ykmgmt_deselect),
	.process = ykmgmt_process,
};
