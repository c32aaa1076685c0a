/* walletkey apdu HEX...: raw exchanges, no chaining and no GET RESPONSE */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "wk_hex.h"

#define APDU_MAX (65535u + 9u)
#define RESP_MAX (65536u + 2u)

int wk_cmd_apdu(wk_cli *cli, int argc, char **argv);

int
wk_cmd_apdu(wk_cli *cli, int argc, char **argv)
{
	uint8_t *cmd = NULL, *resp = NULL;
	json_t *arr = NULL, *o;
	wk_card *card;
	int rc, status = WK_CLI_FAILED;
	bool began = false;

	if (argc < 2) {
		status = wk_cli_usage(cli, "apdu needs at least one APDU in hex, "
		    "e.g. walletkey apdu 00a4040007f0574b494e464f");
		goto out;
	}
	if ((cmd = malloc(APDU_MAX)) == NULL || (resp = malloc(RESP_MAX)) == NULL ||
	    (arr = json_array()) == NULL)
		goto out;
	/* check every APDU before sending any */
	for (int i = 1; i < argc; i++) {
		long len = wk_hex_decode(argv[i], cmd, APDU_MAX);

		if (len < 4) {
			status = wk_cli_usage(cli, "'%.40s%s' is not an APDU: give "
			    "at least 4 bytes as hex digits", argv[i],
			    strlen(argv[i]) > 40 ? "..." : "");
			goto out;
		}
	}
	if ((rc = wk_cli_card(cli, &card)) != WK_OK) {
		status = wk_cli_fail(cli, "apdu", rc);
		goto out;
	}
	/* one transaction: no other client slips in between our APDUs */
	if ((rc = wk_card_begin(card)) != WK_OK) {
		status = wk_cli_fail(cli, "apdu", rc);
		goto out;
	}
	began = true;
	for (int i = 1; i < argc; i++) {
		size_t len = (size_t)wk_hex_decode(argv[i], cmd, APDU_MAX);
		size_t rlen = RESP_MAX;
		char sw[5];

		if ((rc = wk_card_transmit(card, cmd, len, resp, &rlen)) != WK_OK) {
			status = wk_cli_fail(cli, "apdu", rc);
			goto out;
		}
		snprintf(sw, sizeof(sw), "%02x%02x", resp[rlen - 2], resp[rlen - 1]);
		if (cli->json) {
			o = json_pack("{s:o,s:o,s:s}", "command",
			    wk_cli_json_hex(cmd, len), "data",
			    wk_cli_json_hex(resp, rlen - 2), "sw", sw);
			if (o == NULL || json_array_append_new(arr, o) != 0)
				goto out;
		} else {
			if (rlen > 2) {
				wk_cli_print_hex(stdout, resp, rlen - 2);
				fputc(' ', stdout);
			}
			printf("%s\n", sw);
		}
	}
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:O}", "responses", arr));
	else
		status = WK_CLI_OK;
out:
	if (began)
		wk_card_end(card);
	json_decref(arr);
	free(cmd);
	free(resp);
	return status;
}
