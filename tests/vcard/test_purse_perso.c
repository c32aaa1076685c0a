/*
 * personalisation profiles (vcard/vc_perso.c): every rule, table-driven, and
 * `walletkey-card --init-only --perso FILE` (path in argv[1]): a bad profile
 * exits 2 with one line and creates nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "applets/purse.h"
#include "vc_perso.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"

static const char *card_binary;

/* a good profile with one member replaced: %s is spliced in at MARK */
static const char base[] =
    "{ \"format\": \"walletkey-purse-perso/1\",\n"
    "  \"issuer_id\": \"0102030405060708\", \"application_type\": \"ed+ep\",\n"
    "  \"serial\": \"00012345678901234567\", \"start_date\": \"20260101\",\n"
    "  \"expiry_date\": \"20301231\", \"pin\": \"123456\",\n"
    "  \"balance_ceiling\": 100000, MARK\n"
    "  \"keys\": [\n"
    "   { \"purpose\": \"dlk\", \"index\": 1, \"version\": 1,"
    "     \"key\": \"374598B5C0B0EAE1E1D06609AC5BB369\" },\n"
    "   { \"purpose\": \"dpk\", \"index\": 1, \"version\": 1,"
    "     \"master_key\": \"11223344556677888877665544332211\" },\n"
    "   { \"purpose\": \"dtk\", \"index\": 1, \"version\": 1,"
    "     \"key\": \"CAA6025290114BFCC3C9043F70F7A07A\" } ] }\n";

static char *
profile(const char *from, const char *to)
{
	static char out[8192];
	static char tmp[8192];
	const char *at = strstr(base, from), *mark;

	assert_non_null(at);
	snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(at - base), base, to,
	    at + strlen(from));
	/* MARK, if still there, goes */
	if ((mark = strstr(tmp, "MARK")) != NULL)
		snprintf(out, sizeof(out), "%.*s%s", (int)(mark - tmp), tmp,
		    mark + 4);
	else
		snprintf(out, sizeof(out), "%s", tmp);
	return out;
}

typedef struct bad_case {
	const char *from, *to;
	const char *reason;	/* a substring of the message */
} bad_case;

static const bad_case bad_cases[] = {
	{ "MARK", "\"colour\": 1,", "unknown member \"colour\"" },
	{ "walletkey-purse-perso/1", "walletkey-purse-perso/2", "\"format\"" },
	{ "\"0102030405060708\"", "\"01020304\"", "\"issuer_id\"" },
	{ "\"ed+ep\"", "\"both\"", "\"application_type\"" },
	{ "\"00012345678901234567\"", "\"0001234567890123456A\"", "\"serial\"" },
	{ "\"00012345678901234567\"", "\"123\"", "\"serial\"" },
	{ "\"20260101\"", "\"20261301\"", "\"start_date\"" },
	{ "\"20301231\"", "\"20251231\"", "before" },
	{ "\"123456\"", "\"12a456\"", "\"pin\"" },
	{ "\"123456\"", "\"123\"", "\"pin\"" },
	{ "\"123456\"", "\"1234567890123\"", "\"pin\"" },
	{ "MARK", "\"pin_tries\": 16,", "\"pin_tries\"" },
	{ "MARK", "\"pin_tries\": 0,", "\"pin_tries\"" },
	{ "100000", "2147483648", "\"balance_ceiling\"" },
	{ "100000", "0", "\"balance_ceiling\"" },
	{ "100000", "\"100\"", "\"balance_ceiling\"" },
	{ "MARK", "\"overdraft_limit\": 16777216,", "\"overdraft_limit\"" },
	{ "MARK", "\"mac_tries\": 0,", "\"mac_tries\"" },
	{ "MARK", "\"mac_tries\": 16,", "\"mac_tries\"" },
	{ "\"keys\": [", "\"keys\": [ { \"purpose\": \"damk\", \"index\": 1, "
	    "\"version\": 1, \"key\": \"00112233445566778899AABBCCDDEEFF\" }, "
	    "{ \"purpose\": \"damk\", \"index\": 2, \"version\": 1, \"key\": "
	    "\"00112233445566778899AABBCCDDEEFF\" }, ", "at most one damk" },
	{ "\"keys\": [", "\"keys\": [ { \"purpose\": \"drpk\", \"index\": 1, "
	    "\"version\": 1, \"key\": \"00112233445566778899AABBCCDDEEFF\" }, "
	    "{ \"purpose\": \"drpk\", \"index\": 2, \"version\": 1, \"key\": "
	    "\"00112233445566778899AABBCCDDEEFF\" }, ", "at most one drpk" },
	{ "MARK", "\"pin_required\": [\"load\"],", "\"pin_required\"" },
	{ "MARK", "\"pin_required\": { \"balance\": true },",
	    "unknown member \"balance\"" },
	{ "MARK", "\"pin_required\": { \"load\": 1 },", "true or false" },
	{ "\"dtk\"", "\"drpk2\"", "\"purpose\" must be" },
	{ "MARK", "\"log_capacity\": 9,", "\"log_capacity\"" },
	{ "MARK", "\"log_capacity\": 101,", "\"log_capacity\"" },
	{ "MARK", "\"cardholder\": { \"name\": \"ABCDEFGHIJKLMNOPQRSTU\" },",
	    "\"name\"" },
	{ "MARK", "\"cardholder\": { \"id_number\": \"12345678901234567\" },",
	    "\"id_number\"" },
	{ "MARK", "\"cardholder\": { \"age\": 3 },", "unknown member \"age\"" },
	{ "MARK", "\"cardholder\": 5,", "\"cardholder\"" },
	{ "MARK", "\"issuer_fci\": \"00\",", "\"issuer_fci\"" },
	{ "\"dtk\"", "\"dlk\"", "a second dlk" },
	{ "\"dpk\"", "\"dtk\"", "a second dtk" },
	{ "\"dtk\"", "\"dulk\"", "exactly one dtk" },
	{ "\"dpk\"", "\"dulk\"", "one dpk" },
	{ "\"dlk\"", "\"xyz\"", "keys[0]: \"purpose\"" },
	{ "\"index\": 1, \"version\": 1,     \"key\": \"3745",
	    "\"index\": 256, \"version\": 1,     \"key\": \"3745", "keys[0]: \"index\"" },
	{ "\"index\": 1, \"version\": 1,     \"key\": \"3745",
	    "\"index\": 1,      \"key\": \"3745", "keys[0]: missing \"version\"" },
	{ "\"key\": \"374598B5C0B0EAE1E1D06609AC5BB369\"",
	    "\"key\": \"374598B5C0B0EAE1E1D06609AC5BB3\"", "keys[0]: \"key\"" },
	{ "\"key\": \"374598B5C0B0EAE1E1D06609AC5BB369\"",
	    "\"key\": \"374598B5C0B0EAE1E1D06609AC5BB369\", \"master_key\": "
	    "\"374598B5C0B0EAE1E1D06609AC5BB369\"", "exactly one of" },
	{ "\"keys\": [", "\"keys\": [ 7, ", "keys[0]: expected an object" },
	/* docs/purse.md "SM4": the card computes with the id, so only 00 and
	 * 04 (or "3des", "sm4") */
	{ "\"version\": 1,     \"key\": \"3745",
	    "\"version\": 1, \"algorithm\": 1, \"key\": \"3745",
	    "keys[0]: \"algorithm\"" },
	{ "\"version\": 1,     \"key\": \"3745",
	    "\"version\": 1, \"algorithm\": 255, \"key\": \"3745",
	    "keys[0]: \"algorithm\"" },
	{ "\"version\": 1,     \"key\": \"3745",
	    "\"version\": 1, \"algorithm\": \"aes\", \"key\": \"3745",
	    "keys[0]: \"algorithm\"" },
	{ "\"version\": 1,     \"key\": \"3745",
	    "\"version\": 1, \"algorithm\": -4, \"key\": \"3745",
	    "keys[0]: \"algorithm\"" },
	{ "\"version\": 1,     \"key\": \"3745",
	    "\"version\": 1, \"algorithm\": true, \"key\": \"3745",
	    "keys[0]: \"algorithm\"" },
	{ "MARK", "\"pin\": \"1234\",", "line" },	/* duplicate member */
	{ "{ \"format\"", "[ \"format\"", "line" },
};

static void
test_bad_profiles(void **unused)
{
	char err[256];
	vc_perso *p = NULL;

	(void)unused;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const bad_case *c = &bad_cases[i];
		const char *json = profile(c->from, c->to);

		err[0] = '\0';
		if (vc_perso_parse(json, strlen(json), &p, err, sizeof(err)) !=
		    VC_PERSO_INVALID || strstr(err, c->reason) == NULL ||
		    strchr(err, '\n') != NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
			    c->reason);
		assert_null(p);
	}
	/* an overdraft needs an ED */
	{
		static const char *const ep_only =
		    "{ \"format\": \"walletkey-purse-perso/1\",\n"
		    "  \"issuer_id\": \"0102030405060708\", "
		    "\"application_type\": \"ep\", \"serial\": \"auto\",\n"
		    "  \"start_date\": \"20260101\", \"expiry_date\": \"20301231\","
		    "  \"pin\": \"1234\", \"balance_ceiling\": 100,"
		    "  \"overdraft_limit\": 1, \"keys\": ["
		    "   { \"purpose\": \"dlk\", \"index\": 1, \"version\": 1,"
		    "     \"key\": \"374598B5C0B0EAE1E1D06609AC5BB369\" } ] }";

		assert_int_equal(vc_perso_parse(ep_only, strlen(ep_only), &p, err,
		    sizeof(err)), VC_PERSO_INVALID);
		assert_non_null(strstr(err, "needs an ED"));
	}
}

static void
test_good_profile(void **unused)
{
	static const uint8_t card_serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const char *json = profile("MARK", "\"cardholder\": { \"card_type\": 1, "
	    "\"name\": \"ZHANG SAN\", \"id_number\": \"ID42\", \"id_type\": 2 },"
	    " \"overdraft_limit\": 1000, \"log_capacity\": 30, \"pin_tries\": 5,"
	    " \"mac_tries\": 7, \"pin_required\": { \"purchase\": true,"
	    " \"history\": false },");
	uint8_t ef15[30], want[16], mk[16], dk[16];
	char err[256];
	vc_perso *p = NULL;

	(void)unused;
	assert_int_equal(vc_perso_parse(json, strlen(json), &p, err, sizeof(err)),
	    VC_PERSO_OK);
	assert_int_equal(p->app_type, 3);
	assert_int_equal(p->app_version, 1);
	assert_int_equal(p->overdraft, 1000);
	assert_int_equal(p->log_capacity, 30);
	assert_int_equal(p->pin_tries, 5);
	assert_int_equal(p->mac_tries, 7);
	/* the members given change, the others keep their defaults */
	assert_int_equal(p->pin_ops, PURSE_PIN_PURCHASE | PURSE_PIN_LOAD |
	    PURSE_PIN_TRANSFER);
	assert_int_equal(p->ceiling, 100000);
	assert_string_equal(p->pin, "123456");
	assert_int_equal(p->n_keys, 3);
	assert_int_equal(p->ef16[0], 1);
	assert_memory_equal(p->ef16 + 2, "ZHANG SAN\0", 10);
	assert_memory_equal(p->ef16 + 22, "ID42\0", 5);
	assert_int_equal(p->ef16[38], 2);
	assert_true(p->keys[1].master);
	assert_int_equal(vc_perso_finish(p, card_serial), VC_PERSO_OK);
	assert_false(p->keys[1].master);
	/* master keys become DK = diversify(MK, serial) */
	assert_int_equal(wk_hex_decode("11223344556677888877665544332211", mk, 16),
	    16);
	assert_int_equal(wk_hex_decode("00012345678901234567", want, 10), 10);
	assert_int_equal(wk_purse_diversify(WK_PURSE_ALG_3DES, mk, want, 10, dk),
	    0);
	assert_memory_equal(p->keys[1].key, dk, 16);
	vc_perso_ef15(p, ef15);
	assert_memory_equal(ef15, "\x01\x02\x03\x04\x05\x06\x07\x08\x03\x01", 10);
	assert_memory_equal(ef15 + 10, "\x00\x01\x23\x45\x67\x89\x01\x23\x45\x67",
	    10);
	assert_memory_equal(ef15 + 20, "\x20\x26\x01\x01\x20\x30\x12\x31\x00\x00",
	    10);
	vc_perso_free(&p);
	assert_null(p);
}

/* docs/purse.md "SM4": the algorithm of each key, by number or by name;
 * an SM4 master key is diversified with SM4 */
static void
test_sm4_profile(void **unused)
{
	static const uint8_t card_serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const char json[] =
	    "{ \"format\": \"walletkey-purse-perso/1\","
	    "  \"issuer_id\": \"0102030405060708\", \"application_type\": \"ep\","
	    "  \"serial\": \"00012345678901234567\", \"start_date\": \"20260101\","
	    "  \"expiry_date\": \"20301231\", \"pin\": \"123456\","
	    "  \"balance_ceiling\": 100000, \"keys\": ["
	    "   { \"purpose\": \"dlk\", \"index\": 1, \"version\": 1,"
	    "     \"algorithm\": 4, \"key\": \"374598B5C0B0EAE1E1D06609AC5BB369\" },"
	    "   { \"purpose\": \"dpk\", \"index\": 1, \"version\": 1,"
	    "     \"algorithm\": \"SM4\","
	    "     \"master_key\": \"11223344556677888877665544332211\" },"
	    "   { \"purpose\": \"dtk\", \"index\": 1, \"version\": 1,"
	    "     \"algorithm\": \"3des\","
	    "     \"key\": \"CAA6025290114BFCC3C9043F70F7A07A\" } ] }";
	uint8_t mk[16], serial[10], dk[16];
	char err[256];
	vc_perso *p = NULL;

	(void)unused;
	assert_int_equal(vc_perso_parse(json, strlen(json), &p, err, sizeof(err)),
	    VC_PERSO_OK);
	assert_int_equal(p->n_keys, 3);
	assert_int_equal(p->keys[0].alg, WK_PURSE_ALG_SM4);	/* dlk, 4 */
	assert_int_equal(p->keys[1].alg, WK_PURSE_ALG_SM4);	/* dpk, "SM4" */
	assert_int_equal(p->keys[2].alg, WK_PURSE_ALG_3DES);	/* dtk */
	assert_int_equal(vc_perso_finish(p, card_serial), VC_PERSO_OK);
	assert_int_equal(wk_hex_decode("11223344556677888877665544332211", mk, 16),
	    16);
	assert_int_equal(wk_hex_decode("00012345678901234567", serial, 10), 10);
	assert_int_equal(wk_purse_diversify(WK_PURSE_ALG_SM4, mk, serial, 10, dk),
	    0);
	assert_memory_equal(p->keys[1].key, dk, 16);
	assert_int_equal(wk_purse_diversify(WK_PURSE_ALG_3DES, mk, serial, 10,
	    dk), 0);
	assert_memory_not_equal(p->keys[1].key, dk, 16);
	vc_perso_free(&p);
}

static void
test_demo_and_auto_serial(void **unused)
{
	static const uint8_t card_serial[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF };
	char err[256];
	vc_perso *p = NULL, *q = NULL;

	(void)unused;
	/* without --demo the built-in profile has random keys, each card its own */
	assert_int_equal(vc_perso_load(NULL, false, &p, err, sizeof(err)),
	    VC_PERSO_OK);
	assert_int_equal(vc_perso_load(NULL, false, &q, err, sizeof(err)),
	    VC_PERSO_OK);
	assert_int_equal(p->n_keys, PURSE_KEY_N);
	for (size_t i = 0; i < p->n_keys; i++) {
		assert_false(p->keys[i].master);
		assert_memory_not_equal(p->keys[i].key, q->keys[i].key, 16);
	}
	vc_perso_free(&q);
	vc_perso_free(&p);
	/* a profile file and --demo exclude each other */
	assert_int_equal(vc_perso_load("/nonexistent/perso.json", true, &p, err,
	    sizeof(err)), VC_PERSO_INVALID);
	assert_null(p);
	assert_int_equal(vc_perso_load(NULL, true, &p, err, sizeof(err)),
	    VC_PERSO_OK);
	assert_true(p->serial_auto);
	assert_int_equal(p->n_keys, PURSE_KEY_N);
	for (size_t i = 0; i < p->n_keys; i++)
		assert_true(p->keys[i].master);
	assert_int_equal(p->keys[5].purpose, PURSE_KEY_DAMK);
	assert_int_equal(p->keys[6].purpose, PURSE_KEY_DRPK);
	assert_int_equal(p->mac_tries, 3);
	assert_int_equal(p->pin_ops, PURSE_PIN_DEFAULT);
	assert_int_equal(vc_perso_finish(p, card_serial), VC_PERSO_OK);
	/* 2^64 - 1 = 18446744073709551615, last 16 digits */
	assert_memory_equal(p->serial, "\x00\x00\x67\x44\x07\x37\x09\x55\x16\x15",
	    10);
	vc_perso_free(&p);
	assert_int_equal(vc_perso_load("/nonexistent/perso.json", false, &p, err,
	    sizeof(err)), VC_PERSO_ERROR);
	assert_non_null(strstr(err, "/nonexistent/perso.json"));
}

/* runs the card binary with --store store --init-only and args; returns
 * its exit status, first stderr line in line */
static int
run_card_args(const char *store, const char *args, char *line, size_t cap)
{
	char cmd[1400];
	FILE *f;
	int status;

	snprintf(cmd, sizeof(cmd), "'%s' --store '%s' --init-only %s 2>&1",
	    card_binary, store, args);
	assert_non_null(f = popen(cmd, "r"));
	line[0] = '\0';
	if (fgets(line, (int)cap, f) == NULL)
		line[0] = '\0';
	while (fgetc(f) != EOF)
		;
	status = pclose(f);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int
run_card(const char *store, const char *perso, char *line, size_t cap)
{
	char args[400];

	snprintf(args, sizeof(args), "--perso '%s'", perso);
	return run_card_args(store, args, line, cap);
}

static void
test_cli(void **unused)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], store[300], perso[300], line[512], p[320];
	struct stat sb;
	FILE *f;

	(void)unused;
	if (card_binary == NULL)
		skip();
	snprintf(dir, sizeof(dir), "%s/test_purse_perso.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(store, sizeof(store), "%s/card.db", dir);
	snprintf(perso, sizeof(perso), "%s/perso.json", dir);

	assert_non_null(f = fopen(perso, "w"));
	fputs(profile("\"123456\"", "\"12x456\""), f);
	fclose(f);
	assert_int_equal(run_card(store, perso, line, sizeof(line)), 2);
	assert_non_null(strstr(line, "\"pin\""));
	assert_int_equal(stat(store, &sb), -1);
	snprintf(p, sizeof(p), "%s/walletkey-seal.key", dir);
	assert_int_equal(stat(p, &sb), -1);

	snprintf(p, sizeof(p), "%s/missing.json", dir);
	assert_int_equal(run_card(store, p, line, sizeof(line)), 2);
	assert_int_equal(stat(store, &sb), -1);

	assert_non_null(f = fopen(perso, "w"));
	fputs(profile("MARK", ""), f);
	fclose(f);
	/* --demo and a profile exclude each other; a manufacturer CA key file
	 * that is missing, or a certificate without its key: nothing made */
	snprintf(p, sizeof(p), "--demo --perso '%s'", perso);
	assert_int_equal(run_card_args(store, p, line, sizeof(line)), 2);
	assert_non_null(strstr(line, "exclude"));
	assert_int_equal(run_card_args(store, "--attestation-ca /nonexistent",
	    line, sizeof(line)), 2);
	assert_non_null(strstr(line, "/nonexistent"));
	snprintf(p, sizeof(p), "--attestation-ca '%s'", perso);
	assert_int_equal(run_card_args(store, p, line, sizeof(line)), 2);
	assert_non_null(strstr(line, "private key"));
	assert_int_equal(stat(store, &sb), -1);
	assert_int_equal(run_card(store, perso, line, sizeof(line)), 0);
	assert_int_equal(stat(store, &sb), 0);

	unlink(store);
	snprintf(p, sizeof(p), "%s/card.db-wal", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/card.db-shm", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/walletkey-seal.key", dir);
	unlink(p);
	unlink(perso);
	assert_int_equal(rmdir(dir), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_profiles),
		cmocka_unit_test(test_good_profile),
		cmocka_unit_test(test_sm4_profile),
		cmocka_unit_test(test_demo_and_auto_serial),
		cmocka_unit_test(test_cli),
	};

	if (argc > 1)
		card_binary = argv[1];
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
