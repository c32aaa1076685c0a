/*
 * walletkey perso --master-keys FILE --pan PAN [--pin PIN] --out FILE:
 * derives one card's purse keys from the issuer master keys
 * (pboc-purse.md 4.4, factor = the application serial), each with the
 * algorithm the file gives its master (3DES or SM4, docs/purse.md "SM4"),
 * and writes a
 * personalisation profile for walletkey-card --init --perso FILE
 * (docs/purse.md, format walletkey-purse-perso/1).
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_hex.h"

#define PERSO_BUF 4096

int wk_cmd_perso(wk_cli *cli, int argc, char **argv);

static const char *const purposes[5] = { "dlk", "dpk", "dtk", "dulk", "duk" };

typedef struct popts {
	const char *master_keys;
	const char *pan;
	const char *pin;
	const char *out;
	const char *name;
	const char *ceiling;
	const char *type;
	long tries;
	long log_capacity;
	long audit_capacity;
} popts;

static int
parse_long(wk_cli *cli, const char *opt, const char *s, long lo, long hi,
    long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || *v < lo || *v > hi || s[0] == '\0')
		return wk_cli_usage(cli, "%s takes %ld to %ld, not '%s'", opt, lo,
		    hi, s);
	return WK_CLI_OK;
}

static int
parse(wk_cli *cli, int argc, char **argv, popts *o)
{
	memset(o, 0, sizeof(*o));
	o->pin = "123456";
	o->name = "";
	o->ceiling = "10000";
	o->type = "ed+ep";
	o->tries = 3;
	o->log_capacity = 10;
	o->audit_capacity = 10000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], **slot = NULL;
		long *num = NULL, lo = 0, hi = 0;

		if (strcmp(a, "--master-keys") == 0)
			slot = &o->master_keys;
		else if (strcmp(a, "--pan") == 0)
			slot = &o->pan;
		else if (strcmp(a, "--pin") == 0)
			slot = &o->pin;
		else if (strcmp(a, "--out") == 0)
			slot = &o->out;
		else if (strcmp(a, "--name") == 0)
			slot = &o->name;
		else if (strcmp(a, "--ceiling") == 0)
			slot = &o->ceiling;
		else if (strcmp(a, "--type") == 0)
			slot = &o->type;
		else if (strcmp(a, "--pin-tries") == 0) {
			num = &o->tries;
			lo = 1;
			hi = 15;
		} else if (strcmp(a, "--log-capacity") == 0) {
			num = &o->log_capacity;
			lo = 10;
			hi = 100;
		} else if (strcmp(a, "--audit-capacity") == 0) {
			/* docs/audit.md */
			num = &o->audit_capacity;
			lo = 10;
			hi = 1000000;
		} else
			return wk_cli_usage(cli, "perso: unknown option %s", a);
		if (i + 1 >= argc)
			return wk_cli_usage(cli, "%s needs a value", a);
		i++;
		if (slot != NULL)
			*slot = argv[i];
		else if (parse_long(cli, a, argv[i], lo, hi, num) != WK_CLI_OK)
			return WK_CLI_USAGE;
	}
	if (o->master_keys == NULL || o->pan == NULL || o->out == NULL)
		return wk_cli_usage(cli, "perso needs --master-keys FILE --pan PAN "
		    "--out FILE");
	return WK_CLI_OK;
}

/* the PAN as the 10-byte BCD application serial, zeros on the left */
static int
pan_serial(const char *pan, uint8_t serial[WK_PURSE_SERIAL_LEN])
{
	size_t n = strlen(pan), k, pos;

	if (n == 0 || n > 2 * WK_PURSE_SERIAL_LEN || strspn(pan, "0123456789") != n)
		return -1;
	memset(serial, 0, WK_PURSE_SERIAL_LEN);
	for (k = 0; k < n; k++) {
		pos = 2 * WK_PURSE_SERIAL_LEN - n + k;
		serial[pos / 2] |= (uint8_t)((pan[k] - '0') << (pos % 2 ? 0 : 4));
	}
	return 0;
}

static bool
printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return false;
	for (size_t k = 0; k < n; k++)
		if (s[k] < 0x20 || s[k] > 0x7E || s[k] == '"' || s[k] == '\\')
			return false;
	return true;
}

int
wk_cmd_perso(wk_cli *cli, int argc, char **argv)
{
	uint8_t (*mk)[16] = NULL, dk[16], serial[WK_PURSE_SERIAL_LEN], algs[5];
	char *iobuf = NULL, hex[33], sserial[21], start[48], expiry[48];
	uint32_t ceiling = 0;
	FILE *f = NULL;
	popts o;
	time_t now = time(NULL);
	struct tm tm;
	int fd = -1, rc, status;

	if ((status = parse(cli, argc, argv, &o)) != WK_CLI_OK)
		return status;
	status = WK_CLI_USAGE;
	if (pan_serial(o.pan, serial) != 0) {
		wk_cli_usage(cli, "--pan takes 1 to 20 decimal digits (the card "
		    "number, the application serial of EF 0015)");
		goto out;
	}
	if (strlen(o.pin) < 4 || strlen(o.pin) > 12 ||
	    strspn(o.pin, "0123456789") != strlen(o.pin)) {
		wk_cli_usage(cli, "--pin takes 4 to 12 decimal digits");
		goto out;
	}
	if (wk_purse_amount_parse(o.ceiling, &ceiling) != WK_OK ||
	    ceiling > 0x7FFFFFFFu) {
		wk_cli_usage(cli, "--ceiling takes yuan above 0 and at most "
		    "21474836.47, not '%s'", o.ceiling);
		goto out;
	}
	if (!printable(o.name, 20)) {
		wk_cli_usage(cli, "--name takes at most 20 printable ASCII "
		    "characters without quotes or backslashes");
		goto out;
	}
	if (strcmp(o.type, "ed") != 0 && strcmp(o.type, "ep") != 0 &&
	    strcmp(o.type, "ed+ep") != 0) {
		wk_cli_usage(cli, "--type takes ed, ep or ed+ep");
		goto out;
	}
	status = WK_CLI_FAILED;
	if (sodium_init() < 0 || (mk = sodium_malloc(5 * 16)) == NULL ||
	    (iobuf = sodium_malloc(PERSO_BUF)) == NULL) {
		status = wk_cli_fail(cli, "perso", WK_ERR_MEMORY);
		goto out;
	}
	if ((rc = wk_purse_read_master_keys(o.master_keys, mk, algs)) != WK_OK) {
		if (rc == WK_ERR_ARG)
			fprintf(stderr, "walletkey: %s is not a master-key file: "
			    "{\"dlk\":..,\"dpk\":..,\"dtk\":..,\"dulk\":..,\"duk\":..} "
			    "with 32 hex digits each, and optionally \"algorithms\": "
			    "{\"dpk\": \"sm4\", ...} (3des or sm4)\n", o.master_keys);
		status = wk_cli_fail(cli, "perso", rc);
		goto out;
	}
	/* never overwrite: a profile holds one card's keys */
	if ((fd = open(o.out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "walletkey: cannot create %s: %s\n", o.out,
		    strerror(errno));
		goto out;
	}
	if ((f = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	setvbuf(f, iobuf, _IOFBF, PERSO_BUF);	/* our buffer, wiped below */
	wk_hex_encode(serial, sizeof(serial), sserial);
	memset(&tm, 0, sizeof(tm));
	(void)localtime_r(&now, &tm);
	snprintf(start, sizeof(start), "%04d%02d%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	snprintf(expiry, sizeof(expiry), "%04d%02d%02d", tm.tm_year + 1910,
	    tm.tm_mon + 1, tm.tm_mday > 28 ? 28 : tm.tm_mday);
	fprintf(f, "{\n  \"format\": \"walletkey-purse-perso/1\",\n"
	    "  \"issuer_id\": \"57414C4C45544B59\",\n"
	    "  \"application_type\": \"%s\",\n  \"application_version\": 1,\n"
	    "  \"serial\": \"%s\",\n  \"start_date\": \"%s\",\n"
	    "  \"expiry_date\": \"%s\",\n  \"issuer_fci\": \"0000\",\n"
	    "  \"cardholder\": { \"card_type\": 0, \"staff\": 0, \"name\": \"%s\","
	    " \"id_number\": \"\", \"id_type\": 0 },\n"
	    "  \"pin\": \"%s\",\n  \"pin_tries\": %ld,\n"
	    "  \"balance_ceiling\": %u,\n  \"overdraft_limit\": 0,\n"
	    "  \"log_capacity\": %ld,\n  \"audit_capacity\": %ld,\n"
	    "  \"keys\": [\n", o.type, sserial, start,
	    expiry, o.name, o.pin, o.tries, ceiling, o.log_capacity,
	    o.audit_capacity);
	for (size_t k = 0; k < 5; k++) {
		if ((rc = wk_purse_derive_key(algs[k], mk[k], serial, dk)) !=
		    WK_OK) {
			status = wk_cli_fail(cli, "perso", rc);
			goto out;
		}
		wk_hex_encode(dk, sizeof(dk), hex);
		fprintf(f, "    { \"purpose\": \"%s\", \"index\": 1, \"version\": 1, "
		    "\"algorithm\": \"%s\", \"key\": \"%s\" }%s\n", purposes[k],
		    algs[k] == WK_PURSE_ALG_SM4 ? "sm4" : "3des", hex,
		    k + 1 < 5 ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
		fprintf(stderr, "walletkey: cannot write %s: %s\n", o.out,
		    strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (cli->json)
		status = wk_cli_json_print(json_pack("{s:s,s:s}", "profile", o.out,
		    "serial", sserial));
	else {
		printf("personalisation profile for serial %s written to %s\n"
		    "start a card with it: walletkey-card --init --perso %s ...\n",
		    sserial, o.out, o.out);
		status = WK_CLI_OK;
	}
out:
	if (f != NULL) {
		fclose(f);
		(void)unlink(o.out);	/* half a profile is no profile */
	}
	if (fd >= 0)
		close(fd);
	sodium_memzero(dk, sizeof(dk));
	sodium_memzero(hex, sizeof(hex));
	if (mk != NULL)
		sodium_free(mk);
	if (iobuf != NULL)
		sodium_free(iobuf);
	return status;
}
