/*
 * walletkey label: the holder's name for the key, kept on the card
 * (docs/holder.md "The control panel"); walletkey readers shows it.
 *
 *   walletkey label              prints it
 *   walletkey label TEXT         sets it (at most 32 bytes of UTF-8)
 *   walletkey label --clear      removes it
 */
#include "cli.h"

#include <string.h>

#include "wk_hex.h"

int wk_cmd_label(wk_cli *cli, int argc, char **argv);

int
wk_cmd_label(wk_cli *cli, int argc, char **argv)
{
	const char *text = NULL;
	wk_card_info info;
	wk_card *card;
	char serial[17];
	bool clear = false;
	int rc;

	if (wk_cli_wants_help(argc, argv)) {
		fputs("usage: walletkey label [TEXT | --clear]\n"
		    "  the name the card keeps for itself (at most 32 bytes of"
		    " UTF-8)\n", stdout);
		return WK_CLI_OK;
	}
	if (argc > 2)
		return wk_cli_usage(cli, "label takes one TEXT (quote it) or"
		    " --clear");
	if (argc == 2) {
		if (strcmp(argv[1], "--clear") == 0)
			clear = true;
		else if (argv[1][0] == '-')
			return wk_cli_usage(cli, "label: unknown option %s", argv[1]);
		else
			text = argv[1];
	}
	if (text != NULL && (text[0] == '\0' || strlen(text) > WK_CARD_LABEL_MAX))
		return wk_cli_usage(cli, "the label is 1 to %d bytes (--clear"
		    " removes it)", WK_CARD_LABEL_MAX);
	if ((rc = wk_cli_card(cli, &card)) != WK_OK)
		return wk_cli_fail(cli, "connect", rc);
	if ((text != NULL || clear) && (rc = wk_card_set_label(card, text,
	    clear ? 0 : strlen(text))) != WK_OK) {
		if (rc == WK_ERR_ARG || rc == WK_ERR_BAD_DATA)
			return wk_cli_usage(cli, "the label must be UTF-8 text without"
			    " control characters");
		return wk_cli_fail(cli, "set the label", rc);
	}
	if ((rc = wk_card_get_info(card, &info)) != WK_OK)
		return wk_cli_fail(cli, "read the label", rc);
	wk_hex_encode(info.serial, sizeof(info.serial), serial);
	if (cli->json)
		return wk_cli_json_print(json_pack("{s:s, s:s}", "serial", serial,
		    "label", info.label));
	if (info.label[0] == '\0')
		printf("card %s has no label\n", serial);
	else
		printf("card %s: %s\n", serial, info.label);
	return WK_CLI_OK;
}
