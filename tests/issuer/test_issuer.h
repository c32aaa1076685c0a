/* what the files of test_issuer share: its fixtures (test_issuer.c:
 * the issuer under test, cards, requests, the money check), the helpers one
 * area lends another, and the tests main lists. The areas:
 *   test_issuer_audit.c: the audit sync, the bank's records of a card
 *   test_issuer_session.c: sessions (a card's doors), the PIN's unblock, reload
 *   test_issuer_enrol.c: enrolment, attestation, manufacturers, certificates
 *   test_issuer_load.c: the remote load, its refusals and recovery, SM4 keys
 *   test_issuer_settle.c: purchase settlement, card-to-card transfers
 *   test_issuer_db.c: migrations, bad HTTP, concurrency and races
 */
#ifndef TEST_ISSUER_H
#define TEST_ISSUER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "iss.h"
#include "sim_card.h"
#include "wk_arec.h"
#include "wk_attest.h"
#include "wk_hex.h"
#include "wk_purse_crypto.h"

#define PW "password1"
#define PAN_RICH "6222000000000001"
#define PAN_POOR "6222000000000002"
#define PAN_BUSY "6222000000000003"
#define RICH 10000000
#define POOR 500
#define BUSY 1000000
/* the card floats together (one account per card, kind 'float') */
#define FLOATS "SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind = 'float'"

/* the issuer under test (testbed.h) */
struct issuer_test {
	char dir[128];
	char url[512];
	char key[160];
	char mfg_pem[160];
	iss_db *db;
	iss *is;
	iss_server *srv;
	sim_http *h;
	char base[64];
	int64_t deposits;
};
extern struct issuer_test T;

/* the card whose session T.h carries (as_card) */
extern char T_login[17];

/* ---- the fixtures (test_issuer.c) ---- */
int64_t q_int(const char *sql);
char *snapshot(void);
char *snapshot_but_oplog(void);
void check_conservation(void);
sim_card *new_card(const char *pan);
const char *err_code(json_t *resp);
long post_msg(const char *path, const char *field, const uint8_t *m, size_t len,
    json_t **resp);
void expect_error(long st, json_t **respp, long want, const char *code);
void post_request(const wk_buf *req, char *load_id, uint8_t *grant,
    size_t *grant_len);
void start_load(sim_card *c, uint32_t amount, wk_buf *req, char *load_id,
    uint8_t *grant, size_t *grant_len);
void as_card(sim_card *c);
void as_nobody(void);
void load_status(sim_card *c, const char *load_id, const char *want);
void flip_all(const char *path, const char *field, const uint8_t *m, size_t len);

/* ---- lent by test_issuer_audit.c ---- */
uint8_t *audit_chain(size_t n);
long audit_upload(sim_card *c, const uint8_t pk[32], const uint8_t *raw,
    uint64_t first, size_t n, json_t **resp);
long audit_ack(sim_card *c, EVP_PKEY *key, uint64_t seq, const uint8_t hash[32],
    json_t **resp);

/* ---- lent by test_issuer_session.c ---- */
long door(const char *auth, const char *path, json_t *body, json_t **resp);
void bearer_of(sim_card *c, uint8_t scope, char *out, size_t cap);

/* ---- lent by test_issuer_settle.c ---- */
json_t *purchase_proof(sim_card *c, const char *purse, int seq, uint32_t amount,
    const char *term, uint32_t term_seq, bool by_serial, bool bad_tac);
long settle(json_t *proofs, json_t **resp);
void settle_refused(json_t *proofs, long want, const char *code);

/* test_issuer_audit.c: the audit sync, the bank's records of a card */
void test_audit_sync(void **state);
void test_bank_records(void **state);

/* test_issuer_session.c: sessions (a card's doors), the PIN's unblock, reload */
void test_sessions(void **state);
void test_session_flood(void **state);
void test_purse_unblock(void **state);
void test_pin_reload(void **state);

/* test_issuer_enrol.c: enrolment, attestation, manufacturers, certificates */
void test_enrol_oracle(void **state);
void test_enrol_limits(void **state);
void test_enrol_address(void **state);
void test_append_only(void **state);
void test_app_serial(void **state);
void test_enrol(void **state);
void test_enrol_attestation(void **state);
void test_manufacturers(void **state);
void test_cert_kept_until_expiry(void **state);
void test_certificates(void **state);

/* test_issuer_load.c: the remote load, its refusals and recovery, SM4 keys */
void test_load(void **state);
void test_replay(void **state);
void test_flip_request_receipt(void **state);
void test_refusal(void **state);
void test_recover(void **state);
void test_limits(void **state);
void test_sm4(void **state);

/* test_issuer_settle.c: purchase settlement, card-to-card transfers */
void test_settle(void **state);
void test_settle_float(void **state);
void test_settle_identity(void **state);
void test_settle_race(void **state);
void test_transfers(void **state);

/* test_issuer_db.c: migrations, bad HTTP, concurrency and races */
void test_migrate(void **state);
void test_bad_http(void **state);
void test_concurrent(void **state);
void test_race(void **state);

#endif
