/* what the flow tests share (flow_fake.h) */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow_fake.h"

fake_shared *fake_sh;

static fake_rec *
find(const char *name)
{
	for (size_t i = 0; i < FAKE_RECS; i++)
		if (fake_sh->r[i].used && strcmp(fake_sh->r[i].name, name) == 0)
			return &fake_sh->r[i];
	return NULL;
}

const fake_rec *
fake_find(const char *name)
{
	return find(name);
}

static int
f_load(void *arg, const char *name, char **data, size_t *len)
{
	fake_rec *r = find(name);

	(void)arg;
	*data = NULL;
	*len = 0;
	if (r == NULL)
		return 0;
	if ((*data = malloc(r->len + 1)) == NULL)
		return -1;
	memcpy(*data, r->data, r->len);
	(*data)[r->len] = '\0';
	*len = r->len;
	return 0;
}

static int
f_save(void *arg, const char *name, const char *data, size_t len)
{
	fake_rec *r = find(name);

	(void)arg;
	if (++fake_sh->saves == fake_sh->fail_save ||
	    len >= sizeof(fake_sh->r[0].data))
		return -1;
	for (size_t i = 0; r == NULL && i < FAKE_RECS; i++)
		if (!fake_sh->r[i].used)
			r = &fake_sh->r[i];
	if (r == NULL)
		return -1;
	r->used = true;
	snprintf(r->name, sizeof(r->name), "%s", name);
	memcpy(r->data, data, len);
	r->len = len;
	return 0;
}

static int
f_remove(void *arg, const char *name)
{
	fake_rec *r = find(name);

	(void)arg;
	if (fake_sh->kill_in_remove)
		raise(SIGKILL);
	fake_sh->removes++;
	if (r != NULL)
		r->used = false;
	return 0;
}

static int
f_list(void *arg, const char *prefix, int (*fn)(void *, const char *),
    void *fn_arg)
{
	(void)arg;
	for (size_t i = 0; i < FAKE_RECS; i++)
		if (fake_sh->r[i].used &&
		    strncmp(fake_sh->r[i].name, prefix, strlen(prefix)) == 0 &&
		    fn(fn_arg, fake_sh->r[i].name) != 0)
			break;
	return 0;
}

const wk_state_store fake_store = { f_load, f_save, f_remove, f_list, NULL };

void *
fake_share(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int
fake_init(void)
{
	fake_sh = fake_share(sizeof(*fake_sh));
	return fake_sh == NULL ? -1 : 0;
}

int
fake_ready(const char *reader_var, const char *script)
{
	if (fake_init() != 0)
		return 1;
	if (getenv(reader_var) == NULL || getenv("WK_TEST_ISSUER") == NULL ||
	    getenv("WK_TEST_DIR") == NULL) {
		fprintf(stderr, "run by %s\n", script);
		return 77;
	}
	return 0;
}

void
fake_reset(void)
{
	memset(fake_sh, 0, sizeof(*fake_sh));
}

unsigned
fake_records(const char *prefix)
{
	unsigned n = 0;

	for (size_t i = 0; i < FAKE_RECS; i++)
		n += fake_sh->r[i].used &&
		    strncmp(fake_sh->r[i].name, prefix, strlen(prefix)) == 0;
	return n;
}

int
fake_put(const char *name, const char *data)
{
	unsigned saves = fake_sh->saves;
	int rc = f_save(NULL, name, data, strlen(data));

	fake_sh->saves = saves;
	return rc;
}

void
money_check(const char *what, bool settled, long in_flight, bool per_card)
{
	const char *cmd = getenv(settled ? "WK_TEST_SETTLED" :
	    "WK_TEST_CONSERVED");
	int st;
	pid_t p;

	if (cmd == NULL)
		return;
	if ((p = fork()) == 0) {
		char v[24];

		snprintf(v, sizeof(v), "%ld", in_flight);
		setenv("UNSETTLED", v, 1);
		if (!per_card || in_flight != 0)
			setenv("PER_CARD", "0", 1);
		execlp("bash", "bash", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	assert_true(p > 0);
	assert_int_equal(waitpid(p, &st, 0), p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s: money check (%s) failed", what, settled ?
		    "settled" : "conserved");
}

void
card_open(int i, wk_ctx **ctx, wk_card **card)
{
	char var[32];

	snprintf(var, sizeof(var), "WALLETKEY_READER_%d", i);
	assert_non_null(getenv(var));
	assert_int_equal(wk_ctx_new(ctx), WK_OK);
	assert_int_equal(wk_card_open(*ctx, getenv(var), card), WK_OK);
}

uint32_t
card_balance(int i)
{
	wk_ctx *ctx;
	wk_card *card;
	uint32_t b = 0;

	card_open(i, &ctx, &card);
	assert_int_equal(wk_purse_select(card, NULL, 0, NULL), WK_OK);
	assert_int_equal(wk_purse_balance(card, WK_PURSE_EP, &b), WK_OK);
	wk_card_free(&card);
	wk_ctx_free(&ctx);
	return b;
}

void
card_hex(int i, char out[17])
{
	wk_ctx *ctx;
	wk_card *card;
	wk_card_info info;

	card_open(i, &ctx, &card);
	assert_int_equal(wk_card_get_info(card, &info), WK_OK);
	for (size_t k = 0; k < 8; k++)
		snprintf(out + 2 * k, 3, "%02x", info.serial[k]);
	wk_card_free(&card);
	wk_ctx_free(&ctx);
}
