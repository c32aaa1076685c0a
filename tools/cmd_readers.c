/* walletkey readers: every reader, whether it holds a card, its ATR, the walletkey serial */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int wk_cmd_readers(wk_cli *cli, int argc, char **argv);

/* serial of the walletkey card in reader r, or rc */
static int
read_info(wk_ctx *ctx, const wk_reader_info *r, wk_card_info *info)
{
	wk_card *card = NULL;
	int rc;

	if ((rc = wk_card_open(ctx, r->name, &card)) != WK_OK)
		goto out;
	rc = wk_card_get_info(card, info);
out:
	wk_card_free(&card);
	return rc;
}

static void
to_hex(const uint8_t *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0F];
	}
	out[2 * len] = '\0';
}

int
wk_cmd_readers(wk_cli *cli, int argc, char **argv)
{
	static const char *const headers[] = { "reader", "card", "atr", "serial",
	    "label" };
	wk_reader_info *list = NULL;
	wk_cli_table *table = NULL;
	json_t *arr = NULL, *o;
	wk_ctx *ctx;
	size_t n = 0;
	int rc, status = WK_CLI_FAILED;

	(void)argv;
	if (argc > 1) {
		status = wk_cli_usage(cli, "readers takes no arguments");
		goto out;
	}
	if ((rc = wk_cli_ctx(cli, &ctx)) != WK_OK ||
	    (rc = wk_list_readers(ctx, &list, &n)) != WK_OK) {
		status = wk_cli_fail(cli, "readers", rc);
		goto out;
	}
	if ((arr = json_array()) == NULL ||
	    (table = wk_cli_table_new(5, headers)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const wk_reader_info *r = &list[i];
		char atr[2 * sizeof(r->atr) + 1], serial[2 * 8 + 1];
		const char *cells[5];
		wk_card_info info;
		bool have_serial = false;

		to_hex(r->atr, r->atr_len, atr);
		if (r->walletkey && read_info(ctx, r, &info) == WK_OK) {
			to_hex(info.serial, sizeof(info.serial), serial);
			have_serial = true;
		}
		cells[0] = r->name;
		cells[1] = r->card_present ? (r->walletkey ? "walletkey" : "yes") : "no";
		cells[2] = r->card_present ? atr : NULL;
		cells[3] = have_serial ? serial : NULL;
		cells[4] = have_serial && info.label[0] != '\0' ? info.label : NULL;
		if (wk_cli_table_add(table, cells) != 0)
			goto out;
		o = json_pack("{s:s,s:b,s:b}", "name", r->name, "card_present",
		    r->card_present, "walletkey", r->walletkey);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			goto out;
		json_object_set_new(o, "atr", r->card_present ?
		    json_string(atr) : json_null());
		json_object_set_new(o, "serial", have_serial ?
		    json_string(serial) : json_null());
		json_object_set_new(o, "label", have_serial ?
		    json_string(info.label) : json_null());
	}
	if (cli->json) {
		status = wk_cli_json_print(json_pack("{s:O}", "readers", arr));
	} else {
		if (n == 0)
			fputs("walletkey: no readers\n", stderr);
		else
			wk_cli_table_print(table, stdout);
		status = WK_CLI_OK;
	}
out:
	json_decref(arr);
	wk_cli_table_free(&table);
	free(list);
	return status;
}
