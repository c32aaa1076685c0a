/*
 * what an auditor runs on an audit export (docs/audit.md): verify (the
 * chain, the checkpoint, the card's signature and certificate, and with
 * --issuer the bank's books), report (HTML), keygen and open (sealed
 * bundles)
 */
#include "audit_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_arec.h"
#include "wk_hex.h"

int
audit_cmd_keygen(wk_cli *cli, const aopts *o)
{
	uint8_t pk[32], sk[32];
	char hex[65];
	FILE *f;
	int fd, status = WK_CLI_FAILED;

	if (o->out == NULL)
		return wk_cli_usage(cli, "audit keygen needs --out KEYFILE");
	crypto_box_keypair(pk, sk);
	if ((fd = open(o->out, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "walletkey: cannot create %s: %s\n", o->out,
		    strerror(errno));
		goto out;
	}
	wk_hex_encode(sk, 32, hex);
	fprintf(f, "%s\n", hex);
	wk_hex_encode(pk, 32, hex);
	fprintf(f, "%s\n", hex);
	if (fclose(f) != 0)
		goto out;
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s,s:s}", "public_key",
		    hex, "key_file", o->out));
	else {
		printf("%s\n", hex);
		status = WK_CLI_OK;
	}
out:
	sodium_memzero(sk, sizeof(sk));
	return status;
}

static int
read_keyfile(const char *path, uint8_t sk[32], uint8_t pk[32])
{
	char *text = NULL, *second;
	size_t len;
	int rc = -1;

	if (audit_cli_read_file(path, &text, &len) != WK_OK)
		return -1;
	second = strchr(text, '\n');
	if (second != NULL && second - text == 64) {
		*second = '\0';
		second[1 + strcspn(second + 1, "\r\n")] = '\0';
		if (wk_hex_decode(text, sk, 32) == 32 &&
		    strlen(second + 1) == 64 &&
		    wk_hex_decode(second + 1, pk, 32) == 32)
			rc = 0;
	}
	sodium_memzero(text, len);
	free(text);
	return rc;
}

int
audit_cmd_open(wk_cli *cli, const aopts *o)
{
	uint8_t sk[32], pk[32];
	char *text = NULL, err[256];
	size_t len;
	audit_doc d;
	int status = WK_CLI_FAILED;

	audit_doc_init(&d);
	if (o->file == NULL || o->key == NULL)
		return wk_cli_usage(cli, "audit open BUNDLE --key KEYFILE");
	if (read_keyfile(o->key, sk, pk) != 0) {
		fprintf(stderr, "walletkey: %s is not an audit key file "
		    "(walletkey audit keygen)\n", o->key);
		goto out;
	}
	if (audit_cli_read_file(o->file, &text, &len) != WK_OK) {
		fprintf(stderr, "walletkey: cannot read %s\n", o->file);
		goto out;
	}
	if (audit_bundle_open(text, len, pk, sk, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "walletkey: %s: %s\n", o->file, err);
		goto out;
	}
	status = audit_cli_emit(cli, o, &d, o->format != NULL ? o->format : "json");
out:
	sodium_memzero(sk, sizeof(sk));
	free(text);
	audit_doc_free(&d);
	return status;
}

typedef struct vctx {
	wk_cli *cli;
	json_t *faults;
} vctx;

static void
report_fault(void *ctx, const char *msg)
{
	vctx *v = ctx;

	if (v->faults != NULL)
		json_array_append_new(v->faults, json_string(msg));
	if (!v->cli->json)
		printf("FAULT: %s\n", msg);
}

int
audit_cmd_verify(wk_cli *cli, const aopts *o)
{
	char *text = NULL, err[256];
	size_t len, faults, text_cap = 0;
	audit_doc d;
	vctx v = { cli, NULL };
	int status = WK_CLI_FAILED;

	audit_doc_init(&d);
	if ((o->file == NULL) == !o->card)
		return wk_cli_usage(cli, "audit verify FILE, or --card");
	if (o->card) {
		if (audit_cli_fetch(cli, o, NULL, &d, NULL) != WK_OK)
			goto out;
	} else {
		if (audit_text_read(o->file, FILE_MAX, &text, &len,
		    &text_cap) != 0) {
			fprintf(stderr, "walletkey: cannot read %s\n", o->file);
			goto out;
		}
		if (audit_doc_from_json(text, len, &d, err, sizeof(err)) != 0) {
			fprintf(stderr, "walletkey: %s: %s\n", o->file, err);
			goto out;
		}
	}
	if (cli->json)
		v.faults = json_array();
	faults = audit_doc_verify(&d, report_fault, &v);
	if (o->issuer != NULL && audit_verify_issuer(cli, o, &d, report_fault, &v,
	    &faults) != WK_OK)
		goto out;
	if (cli->json) {
		wk_cli_json_print(json_pack("{s:b, s:I, s:I, s:I, s:o}", "ok",
		    faults == 0, "records", (json_int_t)d.n, "checkpoint",
		    (json_int_t)d.head.base_seq, "head",
		    (json_int_t)d.head.head_seq, "faults", v.faults));
	} else if (faults == 0) {
		printf("OK: %zu records, seq %" PRIu64 "..%" PRIu64 " after "
		    "checkpoint %" PRIu64 ", chain intact, head signed by the "
		    "card's wallet key%s\n", d.n, d.head.base_seq + 1,
		    d.head.head_seq, d.head.base_seq, o->issuer != NULL ?
		    ", every record as the issuer holds it" : "");
	} else {
		printf("%zu fault%s found\n", faults, faults == 1 ? "" : "s");
	}
	status = faults == 0 ? WK_CLI_OK : WK_CLI_FAILED;
out:
	audit_text_free(text, text_cap);
	audit_doc_free(&d);
	return status;
}

/* ---- report ---- */

int
audit_cmd_report(wk_cli *cli, const aopts *o)
{
	audit_doc d;
	bool *keep = NULL;
	FILE *f = NULL;
	int status = WK_CLI_FAILED;

	audit_doc_init(&d);
	if (o->out == NULL)
		return wk_cli_usage(cli, "audit report needs --out FILE.html");
	if (audit_cli_fetch(cli, o, NULL, &d, NULL) != WK_OK)
		goto out;
	if ((keep = audit_cli_filter(&d, o)) == NULL)
		goto out;
	if ((f = audit_cli_open_out(o->out)) == NULL) {
		fprintf(stderr, "walletkey: cannot write %s: %s\n", o->out,
		    strerror(errno));
		goto out;
	}
	if (audit_report_html(f, &d, keep) != 0 || fclose(f) != 0) {
		f = NULL;
		fprintf(stderr, "walletkey: writing %s failed\n", o->out);
		goto out;
	}
	f = NULL;
	if (!cli->json)
		printf("report written to %s\n", o->out);
	status = WK_CLI_OK;
out:
	if (f != NULL)
		fclose(f);
	free(keep);
	audit_doc_free(&d);
	return status;
}
