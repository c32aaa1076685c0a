/* the software SAM: pboc-purse.md section 10 vectors, the file, the counter */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wk_purse_internal.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"

static char dir[256];

static void
hex(const char *h, uint8_t *out, size_t n)
{
	assert_int_equal(wk_hex_decode(h, out, n), (long)n);
}

static char *
path_of(const char *name)
{
	static char p[4][320];
	static unsigned next;
	char *r = p[next++ % 4];

	snprintf(r, sizeof(p[0]), "%s/%s", dir, name);
	return r;
}

static void
write_text(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *
read_text(const char *name)
{
	static char buf[8192];
	FILE *f = fopen(path_of(name), "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_wk_sam.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* a SAM holding one card's keys directly (no diversification) */
static void
card_sam(const char *name, const char *terminal, uint32_t counter,
    const char *dlk, const char *dpk, const char *dtk)
{
	char text[1024];

	snprintf(text, sizeof(text),
	    "{\"format\": \"walletkey-sam\", \"version\": 1, \"terminal\": \"%s\","
	    " \"key_index\": 1, \"diversify\": 0, \"counter\": %u, \"keys\": {"
	    "\"dlk\": \"%s\", \"dpk\": \"%s\", \"dtk\": \"%s\","
	    " \"dulk\": \"00000000000000000000000000000000\","
	    " \"duk\": \"00000000000000000000000000000000\"}}\n",
	    terminal, counter, dlk, dpk, dtk);
	write_text(name, text);
}

/* V2: EP purchase; TAC derived with DTK 00112233..EEFF */
static void
test_purchase_v2(void **state)
{
	wk_sam *sam = NULL;
	wk_purse_txn t, last;
	uint8_t mac2[4], tac[4], want[4];

	(void)state;
	card_sam("v2.json", "001122334455", 0, "00000000000000000000000000000000",
	    "11223344556677888877665544332211",
	    "00112233445566778899AABBCCDDEEFF");
	assert_int_equal(wk_sam_open(path_of("v2.json"), &sam), WK_OK);
	memset(&t, 0, sizeof(t));
	t.type = 0x06;
	t.key_index = 1;
	t.amount = 0x1000;
	hex("11223344", t.random, 4);
	t.card_seq = 0;
	hex("20120229", t.date, 4);
	hex("135100", t.time, 3);
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
	hex("F15CAB75", want, 4);
	assert_memory_equal(t.mac1, want, 4);
	hex("00000001", want, 4);
	assert_memory_equal(t.term_seq, want, 4);
	{
		uint8_t term[6];

		hex("001122334455", term, 6);
		assert_memory_equal(t.terminal, term, 6);
	}
	assert_int_equal(wk_sam_counter(sam), 1);

	hex("56988A13", mac2, 4);
	hex("B3A0D49C", tac, 4);
	assert_int_equal(wk_sam_check(sam, &t, mac2, tac), WK_OK);
	assert_int_equal(wk_sam_check(sam, &t, NULL, tac), WK_OK);
	mac2[3] ^= 1;
	assert_int_equal(wk_sam_check(sam, &t, mac2, tac), WK_ERR_AUTH_FAILED);
	mac2[3] ^= 1;
	tac[0] ^= 0x80;
	assert_int_equal(wk_sam_check(sam, &t, mac2, tac), WK_ERR_AUTH_FAILED);
	wk_sam_free(&sam);
	assert_null(sam);

	/* the counter and the transaction were durable before MAC1 left */
	assert_int_equal(wk_sam_open(path_of("v2.json"), &sam), WK_OK);
	assert_int_equal(wk_sam_counter(sam), 1);
	assert_int_equal(wk_sam_last(sam, &last), WK_OK);
	assert_int_equal(last.state, WK_PURSE_TXN_SENT);
	assert_int_equal(last.amount, 0x1000);
	assert_memory_equal(last.random, t.random, 4);
	assert_memory_equal(last.term_seq, t.term_seq, 4);
	assert_memory_equal(last.date, t.date, 4);
	t.state = WK_PURSE_TXN_DONE;
	assert_int_equal(wk_sam_settle(sam, &t), WK_OK);
	wk_sam_free(&sam);
	assert_int_equal(wk_sam_open(path_of("v2.json"), &sam), WK_OK);
	assert_int_equal(wk_sam_last(sam, &last), WK_OK);
	assert_int_equal(last.state, WK_PURSE_TXN_DONE);
	/* the next purchase takes the next number */
	t.state = WK_PURSE_TXN_NONE;
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
	hex("00000002", want, 4);
	assert_memory_equal(t.term_seq, want, 4);
	wk_sam_free(&sam);
}

/* V1: EP load on the Huada card */
static void
test_load_v1(void **state)
{
	wk_sam *sam = NULL;
	wk_purse_txn t;
	uint8_t want[4], tac[4];

	(void)state;
	card_sam("v1.json", "000001000050", 7, "374598B5C0B0EAE1E1D06609AC5BB369",
	    "00000000000000000000000000000000",
	    "CAA6025290114BFCC3C9043F70F7A07A");
	assert_int_equal(wk_sam_open(path_of("v1.json"), &sam), WK_OK);
	memset(&t, 0, sizeof(t));
	t.type = 0x02;
	t.key_index = 1;
	t.amount = 0x1C37;
	t.old_balance = 0;
	t.card_seq = 0;
	hex("CDEF4F20", t.random, 4);
	hex("06B1BEF5", t.mac1, 4);
	hex("20140825", t.date, 4);
	hex("103100", t.time, 3);
	assert_int_equal(wk_sam_load_mac2(sam, &t), WK_OK);
	hex("0641DCD8", want, 4);
	assert_memory_equal(t.mac2, want, 4);
	assert_int_equal(wk_sam_counter(sam), 7);	/* loads use no terminal number */
	hex("ED0F8755", tac, 4);
	assert_int_equal(wk_sam_check(sam, &t, NULL, tac), WK_OK);
	/* a load's proof carries the host MAC2 (docs/purse.md U2) */
	assert_int_equal(wk_sam_check(sam, &t, want, tac), WK_OK);
	want[0] ^= 1;
	assert_int_equal(wk_sam_check(sam, &t, want, tac), WK_ERR_AUTH_FAILED);
	tac[1] ^= 4;
	assert_int_equal(wk_sam_check(sam, &t, NULL, tac), WK_ERR_AUTH_FAILED);

	/* a card MAC1 that does not verify: no MAC2, nothing recorded */
	t.mac1[0] ^= 1;
	memset(t.mac2, 0, 4);
	t.state = WK_PURSE_TXN_NONE;
	assert_int_equal(wk_sam_load_mac2(sam, &t), WK_ERR_AUTH_FAILED);
	assert_int_equal(t.state, WK_PURSE_TXN_NONE);
	wk_sam_free(&sam);
}

/* V3: ED load MAC1/MAC2 */
/* a load vector: a one-card SAM file with its load key, the card's
 * INITIALIZE FOR LOAD answer and MAC1 */
typedef struct load_vec {
	const char *file, *terminal, *dlk;
	uint8_t type;
	uint32_t amount;
	const char *random, *mac1, *date, *time;
} load_vec;

/* the SAM of v opened into *sam, t its transaction (key index 1) */
static void
load_vector(const load_vec *v, wk_sam **sam, wk_purse_txn *t)
{
	card_sam(v->file, v->terminal, 0, v->dlk,
	    "00000000000000000000000000000000",
	    "00000000000000000000000000000000");
	assert_int_equal(wk_sam_open(path_of(v->file), sam), WK_OK);
	memset(t, 0, sizeof(*t));
	t->type = v->type;
	t->key_index = 1;
	t->amount = v->amount;
	hex(v->random, t->random, 4);
	hex(v->mac1, t->mac1, 4);
	hex(v->date, t->date, 4);
	hex(v->time, t->time, 3);
}

static void
test_load_v3(void **state)
{
	static const load_vec v = { "v3.json", "001122334455",
	    "11223344556677888877665544332211", 0x01, 0x1000, "11223344",
	    "2988AE5A", "20111221", "214822" };
	wk_sam *sam = NULL;
	wk_purse_txn t;
	uint8_t want[4];

	(void)state;
	load_vector(&v, &sam, &t);
	assert_int_equal(wk_sam_load_mac2(sam, &t), WK_OK);
	hex("3A845BF0", want, 4);
	assert_memory_equal(t.mac2, want, 4);
	/* a key index the SAM has no key for */
	t.key_index = 2;
	assert_int_equal(wk_sam_load_mac2(sam, &t), WK_ERR_KEY_NOT_FOUND);
	wk_sam_free(&sam);
}

/* V3b: EP load MAC1 from a dpj365 card (its MAC2 is not in the source) */
static void
test_load_v3b(void **state)
{
	static const load_vec v = { "v3b.json", "000000000001",
	    "3F013F013F013F013F013F013F013F01", 0x02, 0x1234, "F9CABA91",
	    "6C394D64", "20261122", "120000" };
	wk_sam *sam = NULL;
	wk_purse_txn t;

	(void)state;
	load_vector(&v, &sam, &t);
	assert_int_equal(wk_sam_load_mac2(sam, &t), WK_OK);
	t.amount = 0x1235;	/* the card's MAC1 covers the amount */
	assert_int_equal(wk_sam_load_mac2(sam, &t), WK_ERR_AUTH_FAILED);
	wk_sam_free(&sam);
}

/* sam-init from master keys: keys diversified by the serial (section 4.4) */
static void
test_create_diversified(void **state)
{
	wk_sam *sam = NULL;
	wk_purse_txn t;
	uint8_t mk[5][16], algs[5], dpk[16], want[4], term[6];
	wk_purse_skey sk;
	const char *keys =
	    "{\"dlk\": \"000102030405060708090A0B0C0D0E0F\","
	    " \"dpk\": \"101112131415161718191A1B1C1D1E1F\","
	    " \"dtk\": \"202122232425262728292A2B2C2D2E2F\","
	    " \"dulk\": \"303132333435363738393A3B3C3D3E3F\","
	    " \"duk\": \"404142434445464748494A4B4C4D4E4F\"}";

	(void)state;
	write_text("mk.json", keys);
	hex("0000000000A1", term, 6);
	assert_int_equal(wk_sam_create(path_of("sam.json"), path_of("mk.json"),
	    term), WK_OK);
	/* never overwritten */
	assert_int_equal(wk_sam_create(path_of("sam.json"), path_of("mk.json"),
	    term), WK_ERR_ARG);
	assert_int_equal(wk_purse_read_master_keys(path_of("mk.json"), mk, algs),
	    WK_OK);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(algs[i], WK_PURSE_ALG_3DES);	/* unnamed */

	assert_int_equal(wk_sam_open(path_of("sam.json"), &sam), WK_OK);
	assert_int_equal(wk_sam_counter(sam), 0);
	assert_int_equal(wk_sam_key_index(sam), 1);
	assert_int_equal(wk_sam_last(sam, &t), WK_ERR_NOT_FOUND);
	memset(&t, 0, sizeof(t));
	t.type = 0x06;
	t.key_index = 1;
	t.amount = 1230;
	hex("12345678901234567890", t.serial, 10);
	hex("A1B2C3D4", t.random, 4);
	t.card_seq = 9;
	hex("20261122", t.date, 4);
	hex("010203", t.time, 3);
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
	assert_memory_equal(t.terminal, term, 6);

	assert_int_equal(wk_purse_derive_key(WK_PURSE_ALG_3DES, mk[1], t.serial,
	    dpk), WK_OK);
	assert_int_equal(wk_purse_session_key_purchase(WK_PURSE_ALG_3DES, dpk,
	    t.random, 9, t.term_seq, &sk), 0);
	assert_int_equal(wk_purse_purchase_mac1(&sk, 1230, 0x06, term, t.date,
	    t.time, want), 0);
	assert_memory_equal(t.mac1, want, 4);
	/* another card (serial) gets another MAC1 */
	t.serial[9] ^= 1;
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
	assert_memory_not_equal(t.mac1, want, 4);
	wk_sam_free(&sam);
}

/* docs/purse.md "SM4": a master-key file that makes SM4 keys; the SAM
 * computes with the algorithm and refuses a card whose key has the other */
static void
test_create_sm4(void **state)
{
	wk_sam *sam = NULL;
	wk_purse_txn t;
	uint8_t mk[5][16], algs[5], dk[16], want[4], term[6], tac[4];
	wk_purse_skey sk, ktac;
	const char *keys =
	    "{\"dlk\": \"000102030405060708090A0B0C0D0E0F\","
	    " \"dpk\": \"101112131415161718191A1B1C1D1E1F\","
	    " \"dtk\": \"202122232425262728292A2B2C2D2E2F\","
	    " \"dulk\": \"303132333435363738393A3B3C3D3E3F\","
	    " \"duk\": \"404142434445464748494A4B4C4D4E4F\","
	    " \"algorithms\": {\"dpk\": \"sm4\", \"dtk\": \"SM4\","
	    " \"dlk\": \"3des\"}}";

	(void)state;
	write_text("mk4.json", keys);
	hex("0000000000A4", term, 6);
	assert_int_equal(wk_purse_read_master_keys(path_of("mk4.json"), mk, algs),
	    WK_OK);
	assert_int_equal(algs[0], WK_PURSE_ALG_3DES);
	assert_int_equal(algs[1], WK_PURSE_ALG_SM4);
	assert_int_equal(algs[2], WK_PURSE_ALG_SM4);
	assert_int_equal(algs[3], WK_PURSE_ALG_3DES);
	assert_int_equal(wk_sam_create(path_of("sam4.json"), path_of("mk4.json"),
	    term), WK_OK);
	/* the file names every key's algorithm */
	assert_non_null(strstr(read_text("sam4.json"), "\"dpk\": \"sm4\""));
	assert_non_null(strstr(read_text("sam4.json"), "\"dlk\": \"3des\""));
	assert_int_equal(wk_sam_open(path_of("sam4.json"), &sam), WK_OK);
	memset(&t, 0, sizeof(t));
	t.type = 0x06;
	t.key_index = 1;
	t.amount = 1230;
	hex("12345678901234567890", t.serial, 10);
	hex("A1B2C3D4", t.random, 4);
	t.card_seq = 9;
	hex("20261122", t.date, 4);
	hex("010203", t.time, 3);
	/* a card whose DPK is 3DES: not this SAM's, no number used */
	t.alg = WK_PURSE_ALG_3DES;
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_ERR_KEY_NOT_FOUND);
	assert_int_equal(wk_sam_counter(sam), 0);
	t.alg = 0x01;
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_ERR_KEY_NOT_FOUND);
	t.alg = WK_PURSE_ALG_SM4;
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
	assert_int_equal(wk_sam_counter(sam), 1);
	assert_int_equal(wk_purse_derive_key(WK_PURSE_ALG_SM4, mk[1], t.serial,
	    dk), WK_OK);
	assert_int_equal(wk_purse_session_key_purchase(WK_PURSE_ALG_SM4, dk,
	    t.random, 9, t.term_seq, &sk), 0);
	assert_int_equal(wk_purse_purchase_mac1(&sk, 1230, 0x06, term, t.date,
	    t.time, want), 0);
	assert_memory_equal(t.mac1, want, 4);
	/* the card's MAC2 and TAC, as an SM4 card makes them */
	assert_int_equal(wk_purse_purchase_mac2(&sk, 1230, want), 0);
	assert_int_equal(wk_purse_derive_key(WK_PURSE_ALG_SM4, mk[2], t.serial,
	    dk), WK_OK);
	assert_int_equal(wk_purse_tac_key(WK_PURSE_ALG_SM4, dk, &ktac), 0);
	assert_int_equal(wk_purse_purchase_tac(&ktac, 1230, 0x06, term,
	    t.term_seq, t.date, t.time, tac), 0);
	assert_int_equal(wk_sam_check(sam, &t, want, tac), WK_OK);
	tac[0] ^= 1;
	assert_int_equal(wk_sam_check(sam, &t, want, tac), WK_ERR_AUTH_FAILED);
	wk_sam_free(&sam);
	/* reopened, the algorithms are still there */
	assert_int_equal(wk_sam_open(path_of("sam4.json"), &sam), WK_OK);
	t.alg = WK_PURSE_ALG_3DES;
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_ERR_KEY_NOT_FOUND);
	wk_sam_free(&sam);
}

/* bad files: a clear error and nothing changed */
static void
test_bad_files(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"dlk\": \"00\"}",
		"{\"format\": \"walletkey-sam\", \"format\": \"walletkey-sam\"}",
		"{\"format\": \"walletkey-sam\", \"version\": 2}",
		"{\"format\": \"walletkey-sam\", \"version\": 1, \"terminal\": \"0011\"}",
		"{\"format\": \"walletkey-sam\", \"version\": 1, \"terminal\": "
		    "\"001122334455\", \"key_index\": 1, \"counter\": -1}",
		"{\"format\": \"walletkey-sam\", \"version\": 1, \"terminal\": "
		    "\"001122334455\", \"key_index\": 1, \"counter\": 4294967296}",
		"{\"format\": \"walletkey-sam\", \"version\": 1, \"terminal\": "
		    "\"001122334455\", \"key_index\": 1, \"counter\": 0, \"keys\": "
		    "{\"dlk\": \"zz\"}}",
		"{\"format\": \"walletkey-sam\", \"version\": 1, \"terminal\": "
		    "\"001122334455\", \"key_index\": 1, \"counter\": 0, \"keys\": "
		    "{\"dlk\": \"0\\u0030\"}}",
	};
	static const char *const bad_mk[] = {
		"{\"dlk\": \"000102030405060708090A0B0C0D0E0F\"}",
		"{\"dlk\": \"000102030405060708090A0B0C0D0E0F\","
		    " \"dpk\": \"101112131415161718191A1B1C1D1E1F\","
		    " \"dtk\": \"202122232425262728292A2B2C2D2E2F\","
		    " \"dulk\": \"303132333435363738393A3B3C3D3E3F\","
		    " \"duk\": \"404142434445464748494A4B4C4D4E4\"}",
		"{\"dlk\": \"000102030405060708090A0B0C0D0E0F\","
		    " \"dpk\": \"101112131415161718191A1B1C1D1E1F\","
		    " \"dtk\": \"202122232425262728292A2B2C2D2E2F\","
		    " \"dulk\": \"303132333435363738393A3B3C3D3E3F\","
		    " \"duk\": \"404142434445464748494A4B4C4D4E4F\"} trailing",
		/* an algorithm the purse does not know, a key that is not one,
		 * a number where a name goes */
		"{\"dlk\": \"000102030405060708090A0B0C0D0E0F\","
		    " \"dpk\": \"101112131415161718191A1B1C1D1E1F\","
		    " \"dtk\": \"202122232425262728292A2B2C2D2E2F\","
		    " \"dulk\": \"303132333435363738393A3B3C3D3E3F\","
		    " \"duk\": \"404142434445464748494A4B4C4D4E4F\","
		    " \"algorithms\": {\"dpk\": \"aes\"}}",
		"{\"dlk\": \"000102030405060708090A0B0C0D0E0F\","
		    " \"dpk\": \"101112131415161718191A1B1C1D1E1F\","
		    " \"dtk\": \"202122232425262728292A2B2C2D2E2F\","
		    " \"dulk\": \"303132333435363738393A3B3C3D3E3F\","
		    " \"duk\": \"404142434445464748494A4B4C4D4E4F\","
		    " \"algorithms\": {\"dpk\": \"sm4\", \"xyz\": \"sm4\"}}",
		"{\"dlk\": \"000102030405060708090A0B0C0D0E0F\","
		    " \"dpk\": \"101112131415161718191A1B1C1D1E1F\","
		    " \"dtk\": \"202122232425262728292A2B2C2D2E2F\","
		    " \"dulk\": \"303132333435363738393A3B3C3D3E3F\","
		    " \"duk\": \"404142434445464748494A4B4C4D4E4F\","
		    " \"algorithms\": {\"dpk\": 4}}",
	};
	wk_sam *sam = NULL;
	uint8_t mk[5][16], algs[5], term[6] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text("bad.json", bad[i]);
		assert_int_equal(wk_sam_open(path_of("bad.json"), &sam), WK_ERR_ARG);
		assert_null(sam);
	}
	assert_int_equal(wk_sam_open(path_of("missing.json"), &sam), WK_ERR_IO);
	for (size_t i = 0; i < sizeof(bad_mk) / sizeof(bad_mk[0]); i++) {
		write_text("badmk.json", bad_mk[i]);
		assert_int_equal(wk_purse_read_master_keys(path_of("badmk.json"), mk,
		    algs), WK_ERR_ARG);
		assert_int_equal(wk_sam_create(path_of("never.json"),
		    path_of("badmk.json"), term), WK_ERR_ARG);
		assert_int_equal(access(path_of("never.json"), F_OK), -1);
	}
}

/* a counter at its end refuses, and the file stays as it was */
static void
test_counter_end(void **state)
{
	wk_sam *sam = NULL;
	wk_purse_txn t;
	char before[8192];

	(void)state;
	card_sam("end.json", "001122334455", 4294967295u,
	    "00000000000000000000000000000000",
	    "11223344556677888877665544332211",
	    "00112233445566778899AABBCCDDEEFF");
	snprintf(before, sizeof(before), "%s", read_text("end.json"));
	assert_int_equal(wk_sam_open(path_of("end.json"), &sam), WK_OK);
	memset(&t, 0, sizeof(t));
	t.type = 0x06;
	t.key_index = 1;
	t.amount = 1;
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_ERR_LIMIT);
	wk_sam_free(&sam);
	assert_string_equal(read_text("end.json"), before);
	/* a load is not a purchase */
	assert_int_equal(wk_sam_open(path_of("end.json"), &sam), WK_OK);
	assert_int_equal(wk_sam_purchase_mac1(sam, &(wk_purse_txn){ .type = 2,
	    .key_index = 1 }), WK_ERR_ARG);
	wk_sam_free(&sam);
}


/* a whole small file, binary */
static size_t
read_bin(const char *name, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path_of(name), "rb");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void
write_bin(const char *name, const uint8_t *buf, size_t n)
{
	FILE *f = fopen(path_of(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
}

/* terminal numbers are reserved a block at a time: a crash (the files as
 * they were before the clean close) skips the rest of the block, never
 * repeats a number; a clean close gives the rest back. Each purchase
 * writes only the in-flight record (FILE.inflight), whose newer last
 * transaction a restart takes; a torn one is ignored */
static void
test_counter_reserve(void **state)
{
	wk_sam *sam = NULL;
	wk_purse_txn t, last;
	char crashed[8192];
	uint8_t infl[512], torn[512];
	size_t il;
	uint32_t n;

	(void)state;
	card_sam("res.json", "001122334455", 0, "00000000000000000000000000000000",
	    "11223344556677888877665544332211",
	    "00112233445566778899AABBCCDDEEFF");
	assert_int_equal(wk_sam_open(path_of("res.json"), &sam), WK_OK);
	memset(&t, 0, sizeof(t));
	t.type = 0x06;
	t.key_index = 1;
	t.amount = 1;
	for (n = 1; n <= 3; n++) {
		t.amount = n;
		assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
		assert_int_equal(wk_sam_counter(sam), n);
	}
	/* what a crash now leaves: the reservation in the file, the last
	 * purchase in the in-flight record */
	snprintf(crashed, sizeof(crashed), "%s", read_text("res.json"));
	assert_non_null(strstr(crashed, "\"reserved\": 100,"));
	il = read_bin("res.json.inflight", infl, sizeof(infl));
	assert_true(il > 0 && il < 512);
	wk_sam_free(&sam);
	assert_non_null(strstr(read_text("res.json"), "\"reserved\": 3,"));
	assert_non_null(strstr(read_text("res.json"), "\"counter\": 3,"));
	assert_int_equal(access(path_of("res.json.inflight"), F_OK), -1);
	/* after the clean close the numbers go on */
	assert_int_equal(wk_sam_open(path_of("res.json"), &sam), WK_OK);
	assert_int_equal(wk_sam_last(sam, &last), WK_OK);
	assert_int_equal(last.amount, 3);
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
	assert_memory_equal(t.term_seq, "\x00\x00\x00\x04", 4);
	wk_sam_free(&sam);
	/* after the crash: 101, whatever number 1 to 100 had left; the last
	 * transaction is the in-flight record's */
	write_text("res.json", crashed);
	write_bin("res.json.inflight", infl, il);
	assert_int_equal(wk_sam_open(path_of("res.json"), &sam), WK_OK);
	assert_int_equal(wk_sam_counter(sam), 100);
	assert_int_equal(wk_sam_last(sam, &last), WK_OK);
	assert_int_equal(last.amount, 3);
	assert_memory_equal(last.term_seq, "\x00\x00\x00\x03", 4);
	assert_int_equal(last.state, WK_PURSE_TXN_SENT);
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
	assert_memory_equal(t.term_seq, "\x00\x00\x00\x65", 4);
	/* one block of numbers, one durable write: 101..200 */
	assert_non_null(strstr(read_text("res.json"), "\"reserved\": 200,"));
	for (n = 102; n <= 201; n++)
		assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
	assert_memory_equal(t.term_seq, "\x00\x00\x00\xC9", 4);
	assert_non_null(strstr(read_text("res.json"), "\"reserved\": 300,"));
	wk_sam_free(&sam);
	/* a torn in-flight record is ignored: the file's last transaction */
	write_text("res.json", crashed);
	memcpy(torn, infl, il);
	torn[il / 2] ^= 0x40;
	write_bin("res.json.inflight", torn, il);
	assert_int_equal(wk_sam_open(path_of("res.json"), &sam), WK_OK);
	assert_int_equal(wk_sam_counter(sam), 100);
	assert_true(wk_sam_last(sam, &last) == WK_ERR_NOT_FOUND ||
	    last.amount != 3);
	assert_int_equal(wk_sam_purchase_mac1(sam, &t), WK_OK);
	assert_memory_equal(t.term_seq, "\x00\x00\x00\x65", 4);
	wk_sam_free(&sam);
	/* a file that does not open whole is never written back (the
	 * reservation's release must not rewrite it without its keys) */
	{
		char *bad = strdup(read_text("res.json")), *k, before[8192];

		assert_non_null(k = strstr(bad, "\"dpk\": \""));
		k[8] = 'X';	/* not hex */
		write_text("res.json", bad);
		snprintf(before, sizeof(before), "%s", bad);
		free(bad);
		assert_int_equal(wk_sam_open(path_of("res.json"), &sam),
		    WK_ERR_ARG);
		assert_null(sam);
		assert_string_equal(read_text("res.json"), before);
		write_text("res.json", crashed);
	}
	/* a reservation below the counter is a damaged file */
	{
		char *bad = strdup(read_text("res.json")), *r;

		assert_non_null(r = strstr(bad, "\"reserved\": 100,"));
		memcpy(r, "\"reserved\":   4,", 16);
		assert_non_null(r = strstr(bad, "\"counter\": 0,"));
		memcpy(r, "\"counter\": 5,", 13);
		write_text("res.json", bad);
		free(bad);
		assert_int_equal(wk_sam_open(path_of("res.json"), &sam),
		    WK_ERR_ARG);
	}
}

/* the PSAM's GET INFO answer, edge cases */
static void
test_psam_info(void **state)
{
	uint8_t a[WK_PSAM_INFO_LEN + 1];
	wk_psam_info info;

	(void)state;
	memset(a, 0, sizeof(a));
	assert_int_equal(wk_psam_parse_info(a, WK_PSAM_INFO_LEN, &info), WK_OK);
	assert_int_equal(info.state, WK_PSAM_EMPTY);
	a[0] = WK_PSAM_INSTALLED;
	a[1] = 3;
	memcpy(a + 2, "\x00\x00\x00\x00\x00\x42", 6);
	memcpy(a + 8, "\x01\x02\x03\x04", 4);
	a[12] = 0x04;
	/* installed: it holds a master, of one algorithm or both */
	assert_int_equal(wk_psam_parse_info(a, WK_PSAM_INFO_LEN, &info),
	    WK_ERR_CARD_MALFORMED);
	a[WK_PSAM_INFO_LEN - 1] = WK_PSAM_ALG_3DES | WK_PSAM_ALG_SM4;
	assert_int_equal(wk_psam_parse_info(a, WK_PSAM_INFO_LEN, &info), WK_OK);
	assert_int_equal(info.state, WK_PSAM_INSTALLED);
	assert_int_equal(info.key_version, 3);
	assert_int_equal(info.counter, 0x01020304u);
	assert_int_equal(info.algorithms, WK_PSAM_ALG_3DES | WK_PSAM_ALG_SM4);
	assert_memory_equal(info.terminal, "\x00\x00\x00\x00\x00\x42", 6);
	a[WK_PSAM_INFO_LEN - 1] = 0x04;	/* no such algorithm bit */
	assert_int_equal(wk_psam_parse_info(a, WK_PSAM_INFO_LEN, &info),
	    WK_ERR_CARD_MALFORMED);
	a[WK_PSAM_INFO_LEN - 1] = WK_PSAM_ALG_SM4;
	/* a PSAM made before SM4: no algorithm byte, its one master 3DES */
	assert_int_equal(wk_psam_parse_info(a, WK_PSAM_INFO_LEN - 1, &info),
	    WK_OK);
	assert_int_equal(info.algorithms, WK_PSAM_ALG_3DES);
	assert_int_equal(wk_psam_parse_info(a, WK_PSAM_INFO_LEN - 2, &info),
	    WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_psam_parse_info(a, WK_PSAM_INFO_LEN + 1, &info),
	    WK_ERR_CARD_MALFORMED);
	a[12] = 0x02;	/* no uncompressed point */
	assert_int_equal(wk_psam_parse_info(a, WK_PSAM_INFO_LEN, &info),
	    WK_ERR_CARD_MALFORMED);
	a[12] = 0x04;
	a[0] = 3;	/* no such state */
	assert_int_equal(wk_psam_parse_info(a, WK_PSAM_INFO_LEN, &info),
	    WK_ERR_CARD_MALFORMED);
	assert_int_equal(wk_psam_parse_info(NULL, 0, &info), WK_ERR_ARG);
}

/* a PSAM's terminal journal: its own terminal and PSAM only; no keys, no
 * loads, no TAC check without the card's MAC2 */
static void
test_psam_journal(void **state)
{
	static const uint8_t term[6] = { 0, 0, 0, 0, 0, 0x42 };
	static const uint8_t id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const char ok[] = "{\"format\": \"walletkey-terminal\","
	    " \"version\": 1, \"terminal\": \"000000000042\","
	    " \"psam\": \"0102030405060708\"}";
	const char *bad[] = {
		"{\"format\": \"walletkey-sam\", \"version\": 1, \"terminal\":"
		" \"000000000042\", \"psam\": \"0102030405060708\"}",
		"{\"format\": \"walletkey-terminal\", \"version\": 1,"
		" \"terminal\": \"000000000043\", \"psam\": \"0102030405060708\"}",
		"{\"format\": \"walletkey-terminal\", \"version\": 1,"
		" \"terminal\": \"000000000042\", \"psam\": \"0102030405060709\"}",
		"{\"format\": \"walletkey-terminal\", \"version\": 2,"
		" \"terminal\": \"000000000042\", \"psam\": \"0102030405060708\"}",
		"{\"format\": \"walletkey-terminal\", \"version\": 1,"
		" \"terminal\": \"000000000042\"}",
	};
	wk_purse_txn t;
	wk_sam *sam = NULL;
	uint8_t tac[4] = { 0 };

	(void)state;
	assert_int_equal(wk_sam_parse_journal(ok, strlen(ok), term, id, &sam),
	    WK_OK);
	assert_int_equal(wk_sam_last(sam, &t), WK_ERR_NOT_FOUND);
	memset(&t, 0, sizeof(t));
	t.type = 0x02;
	t.key_index = 1;
	assert_int_equal(wk_sam_load_mac2(sam, &t), WK_ERR_NOT_SUPPORTED);
	t.type = 0x06;
	assert_int_equal(wk_sam_check(sam, &t, NULL, tac), WK_ERR_NOT_SUPPORTED);
	wk_sam_free(&sam);
	assert_null(sam);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(wk_sam_parse_journal(bad[i], strlen(bad[i]), term,
		    id, &sam), WK_ERR_ARG);
		assert_null(sam);
	}
	/* a SAM file is no journal, and the other way round */
	assert_int_equal(wk_sam_parse(ok, strlen(ok), &sam), WK_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_purchase_v2),
		cmocka_unit_test(test_load_v1),
		cmocka_unit_test(test_load_v3),
		cmocka_unit_test(test_load_v3b),
		cmocka_unit_test(test_create_diversified),
		cmocka_unit_test(test_create_sm4),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_counter_end),
		cmocka_unit_test(test_counter_reserve),
		cmocka_unit_test(test_psam_info),
		cmocka_unit_test(test_psam_journal),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
