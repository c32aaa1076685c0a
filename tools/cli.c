#include <termios.h>
/* helpers shared by the CLI's command groups: card, errors, JSON, tables */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct wk_cli_table {
	size_t ncols;
	size_t nrows;
	size_t cap;
	char **cells;		/* (nrows + 1) * ncols, row 0 is the header */
};

int
wk_cli_ctx(wk_cli *cli, wk_ctx **out)
{
	int rc = WK_OK;

	if (cli->ctx == NULL)
		rc = wk_ctx_new(&cli->ctx);
	*out = cli->ctx;
	return rc;
}

int
wk_cli_card(wk_cli *cli, wk_card **out)
{
	wk_ctx *ctx = NULL;
	int rc = WK_OK;

	*out = NULL;
	if (cli->card != NULL)
		goto done;
	if ((rc = wk_cli_ctx(cli, &ctx)) != WK_OK)
		goto out;
	if ((rc = wk_card_open(ctx, cli->reader, &cli->card)) != WK_OK)
		goto out;
done:
	*out = cli->card;
	rc = WK_OK;
out:
	return rc;
}

int
wk_cli_fail(wk_cli *cli, const char *what, int rc)
{
	json_t *o;

	if (cli != NULL && cli->json) {
		o = json_pack("{s:{s:s,s:i,s:s}}", "error", "what", what,
		    "code", rc, "message", wk_strerror(rc));
		if (o != NULL)
			wk_cli_json_print(o);
	}
	fprintf(stderr, "walletkey: %s: %s\n", what, wk_strerror(rc));
	if (rc == WK_ERR_NO_READER && cli != NULL && cli->reader != NULL)
		fprintf(stderr, "walletkey: no reader matches \"%s\"; "
		    "see 'walletkey readers'\n", cli->reader);
	/* the card could not be opened with an argument error: an ambiguous prefix */
	if (rc == WK_ERR_ARG && cli != NULL && cli->reader != NULL &&
	    cli->card == NULL)
		fprintf(stderr, "walletkey: several readers start with \"%s\"; "
		    "give more of the name (see 'walletkey readers')\n", cli->reader);
	return WK_CLI_FAILED;
}

int
wk_cli_usage(wk_cli *cli, const char *fmt, ...)
{
	va_list ap;

	(void)cli;
	fputs("walletkey: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\ntry 'walletkey --help'\n", stderr);
	return WK_CLI_USAGE;
}

bool
wk_cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int
wk_cli_json_print(json_t *value)
{
	int rc = WK_CLI_FAILED;

	if (value == NULL)
		goto out;
	if (json_dumpf(value, stdout, JSON_COMPACT) != 0)
		goto out;
	fputc('\n', stdout);
	rc = WK_CLI_OK;
out:
	json_decref(value);
	return rc;
}

json_t *
wk_cli_json_hex(const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	json_t *s = NULL;
	char *hex;

	if ((hex = malloc(2 * len + 1)) == NULL)
		goto out;
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 0x0F];
	}
	hex[2 * len] = '\0';
	s = json_string(hex);
out:
	free(hex);
	return s;
}

void
wk_cli_print_hex(FILE *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

wk_cli_table *
wk_cli_table_new(size_t ncols, const char *const *headers)
{
	wk_cli_table *t = NULL;

	if (ncols == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		goto out;
	t->ncols = ncols;
	if (wk_cli_table_add(t, headers) != 0) {
		free(t);
		t = NULL;
		goto out;
	}
	for (size_t c = 0; c < ncols; c++)
		for (char *p = t->cells[c]; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
out:
	return t;
}

int
wk_cli_table_add(wk_cli_table *t, const char *const *cells)
{
	char **grown;
	size_t need = (t->nrows + 1) * t->ncols;
	int rc = -1;

	if (need > t->cap) {
		size_t cap = t->cap == 0 ? 8 * t->ncols : 2 * t->cap;

		if (cap < need)
			cap = need;
		if ((grown = realloc(t->cells, cap * sizeof(*grown))) == NULL)
			goto out;
		t->cells = grown;
		t->cap = cap;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		const char *v = cells[c] != NULL ? cells[c] : "-";
		char *copy = strdup(v);

		if (copy == NULL) {
			for (size_t k = 0; k < c; k++)
				free(t->cells[t->nrows * t->ncols + k]);
			goto out;
		}
		t->cells[t->nrows * t->ncols + c] = copy;
	}
	t->nrows++;
	rc = 0;
out:
	return rc;
}

void
wk_cli_table_print(const wk_cli_table *t, FILE *f)
{
	size_t *width;

	if (t == NULL || (width = calloc(t->ncols, sizeof(*width))) == NULL)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = strlen(t->cells[r * t->ncols + c]);

			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *v = t->cells[r * t->ncols + c];

			if (c + 1 == t->ncols)
				fprintf(f, "%s\n", v);
			else
				fprintf(f, "%-*s  ", (int)width[c], v);
		}
	}
	free(width);
}

void
wk_cli_table_free(wk_cli_table **t)
{
	if (t == NULL || *t == NULL)
		return;
	for (size_t i = 0; i < (*t)->nrows * (*t)->ncols; i++)
		free((*t)->cells[i]);
	free((*t)->cells);
	free(*t);
	*t = NULL;
}

int
wk_cli_read_tty(const char *prompt, char *buf, size_t cap, size_t *len)
{
	struct termios old, quiet;
	FILE *tty;
	bool restore = false;
	int rc = WK_ERR_IO, ch = EOF;

	*len = 0;
	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return WK_ERR_IO;
	if (tcgetattr(fileno(tty), &old) != 0)
		goto out;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fileno(tty), TCSAFLUSH, &quiet) != 0)
		goto out;
	restore = true;
	fprintf(tty, "%s: ", prompt);
	fflush(tty);
	while ((ch = fgetc(tty)) != EOF && ch != '\n') {
		if (*len + 1 >= cap) {
			rc = WK_ERR_ARG;
			goto out;
		}
		buf[(*len)++] = (char)ch;
	}
	if (*len > 0 && buf[*len - 1] == '\r')
		(*len)--;
	if (ch == '\n')
		rc = WK_OK;
out:
	if (restore) {
		(void)tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fputc('\n', tty);
	}
	fclose(tty);
	return rc;
}

int
wk_cli_purse_pin(const char *file, const char *needs, char *pin, size_t cap,
    size_t *len)
{
	const char *env = getenv("WALLETKEY_PIN");
	char line[64];
	FILE *f;
	int rc = WK_ERR_ARG;

	*len = 0;
	if (file != NULL) {
		if ((f = fopen(file, "r")) == NULL) {
			fprintf(stderr, "walletkey: cannot read the PIN file %s: %s\n",
			    file, strerror(errno));
			return WK_ERR_IO;
		}
		if (fgets(line, sizeof(line), f) != NULL) {
			*len = strcspn(line, "\r\n");
			if (*len < cap) {
				memcpy(pin, line, *len);
				rc = WK_OK;
			}
		}
		fclose(f);
		sodium_memzero(line, sizeof(line));
	} else if (env != NULL) {
		*len = strlen(env);
		if (*len < cap) {
			memcpy(pin, env, *len);
			rc = WK_OK;
		}
	} else if ((rc = wk_cli_read_tty("purse PIN", pin, cap, len)) ==
	    WK_ERR_IO) {
		fprintf(stderr, "walletkey: %s: give --pin-file FILE or set "
		    "WALLETKEY_PIN\n", needs);
	}
	if (rc == WK_OK)
		pin[*len] = '\0';	/* *len < cap: strspn stops inside */
	if (rc == WK_OK && (*len < 4 || *len > 12 ||
	    strspn(pin, "0123456789") < *len)) {
		fprintf(stderr, "walletkey: the PIN must be 4 to 12 digits\n");
		rc = WK_ERR_ARG;
	}
	if (rc != WK_OK) {
		sodium_memzero(pin, cap);
		*len = 0;
	}
	return rc;
}

int
wk_cli_slot_opt(wk_cli *cli, const wk_cli_slot *slots, int argc, char **argv,
    int *i)
{
	const char *a = argv[*i];

	for (; slots->name != NULL; slots++) {
		if (strcmp(a, slots->name) != 0)
			continue;
		if (*i + 1 >= argc || argv[*i + 1][0] == '\0')
			return wk_cli_usage(cli, "%s needs a value", a);
		*slots->slot = argv[++*i];
		return WK_CLI_OK;
	}
	return -1;
}

/* argv[*i] against flags: -1 when it names none */
static int
flag_opt(const wk_cli_flag *flags, const char *a)
{
	for (; flags != NULL && flags->name != NULL; flags++) {
		if (strcmp(a, flags->name) != 0)
			continue;
		if (flags->on != NULL)
			*flags->on = true;
		else
			*flags->kind = flags->value;
		return WK_CLI_OK;
	}
	return -1;
}

/* argv[*i] against nums: -1 when it names none */
static int
num_opt(wk_cli *cli, const wk_cli_num *nums, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	char *end;

	for (; nums != NULL && nums->name != NULL; nums++) {
		if (strcmp(a, nums->name) != 0)
			continue;
		if (*i + 1 >= argc)
			return wk_cli_usage(cli, "%s needs %s", a, nums->unit);
		errno = 0;
		*nums->num = strtol(argv[++*i], &end, 10);
		if (errno != 0 || *end != '\0' || *nums->num < nums->min ||
		    *nums->num > nums->max)
			return wk_cli_usage(cli, "%s takes %ld to %ld %s", a,
			    nums->min, nums->max, nums->unit);
		return WK_CLI_OK;
	}
	return -1;
}

/* argv[*i] against choices: -1 when it names none */
static int
choice_opt(wk_cli *cli, const wk_cli_choice *c, int argc, char **argv, int *i)
{
	for (; c != NULL && c->name != NULL; c++) {
		const wk_cli_slot one[] = { { c->name, c->slot }, { NULL, NULL } };
		int st = wk_cli_slot_opt(cli, one, argc, argv, i);

		if (st >= 0)
			return st;
	}
	return -1;
}

/* each choice given is one of its words: else "--name is A, B or C" */
static int
choice_check(wk_cli *cli, const wk_cli_choice *c)
{
	for (; c != NULL && c->name != NULL; c++) {
		char list[256] = "";
		size_t n;

		if (*c->slot == NULL)
			continue;
		for (n = 0; c->words[n] != NULL; n++)
			if (strcmp(*c->slot, c->words[n]) == 0)
				break;
		if (c->words[n] != NULL)
			continue;
		for (n = 0; c->words[n] != NULL; n++) {
			size_t len = strlen(list);

			snprintf(list + len, sizeof(list) - len, "%s%s",
			    n == 0 ? "" : c->words[n + 1] == NULL ? " or " : ", ",
			    c->words[n]);
		}
		return wk_cli_usage(cli, "%s is %s", c->name, list);
	}
	return WK_CLI_OK;
}

int
wk_cli_group_usage(int argc, char **argv, const char *usage, bool anywhere)
{
	if (argc >= 2 && (anywhere ? !wk_cli_wants_help(argc, argv) :
	    strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0))
		return -1;
	fputs(usage, argc < 2 ? stderr : stdout);
	return argc < 2 ? WK_CLI_USAGE : WK_CLI_OK;
}

int
wk_cli_parse_opts(wk_cli *cli, const wk_cli_opts *opts, int argc,
    char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		int st = -1;

		for (const wk_cli_opts *t = opts; st < 0 && t != NULL;
		    t = t->also) {
			if (t->slots != NULL)
				st = wk_cli_slot_opt(cli, t->slots, argc, argv,
				    &i);
			if (st < 0)
				st = flag_opt(t->flags, a);
			if (st < 0)
				st = num_opt(cli, t->nums, argc, argv, &i);
			if (st < 0)
				st = choice_opt(cli, t->choices, argc, argv, &i);
		}
		if (st < 0 && opts->arg != NULL && a[0] != '-' &&
		    *opts->arg == NULL) {
			*opts->arg = a;
			st = WK_CLI_OK;
		}
		if (st < 0)
			return wk_cli_usage(cli, "%s %s: unknown option %s",
			    opts->group, argv[1], a);
		if (st != WK_CLI_OK)
			return st;
	}
	for (const wk_cli_opts *t = opts; t != NULL; t = t->also) {
		int st = choice_check(cli, t->choices);

		if (st != WK_CLI_OK)
			return st;
	}
	return WK_CLI_OK;
}
