/*
 * what the flow tests share (test_wk_load.c, test_wk_xfer.c): a fake
 * state store in shared memory, so that it outlives a process killed in
 * the middle of a flow as a crash would, with failures on demand; and the
 * money check of tests/e2e/remote_lib.sh run by bash
 */
#ifndef FLOW_FAKE_H
#define FLOW_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walletkey.h"

#define FAKE_RECS 8
typedef struct fake_rec {
	bool used;
	char name[64];
	size_t len;
	char data[4096];
} fake_rec;
typedef struct fake_shared {
	fake_rec r[FAKE_RECS];
	unsigned saves, removes;
	unsigned fail_save;	/* the save (1-based) that fails; 0 none */
	bool kill_in_remove;	/* the process dies in remove, before it */
} fake_shared;

extern fake_shared *fake_sh;
extern const wk_state_store fake_store;

/* maps the shared memory; 0 or -1 */
int fake_init(void);
/* n bytes of zeroed memory shared with the children a test forks (what a
 * flow killed in a child saw), or NULL */
void *fake_share(size_t n);
/* before a flow test's group: the shared memory mapped and the
 * sandbox's environment there (the card in reader_var, the issuer, the
 * scratch folder); 0 when ready, else the exit status: 1, or 77 (skipped)
 * with a word that script is what runs the test */
int fake_ready(const char *reader_var, const char *script);
void fake_reset(void);
/* the records whose name starts with prefix ("" all) */
unsigned fake_records(const char *prefix);
const fake_rec *fake_find(const char *name);
int fake_put(const char *name, const char *data);

/*
 * the money check of remote_lib.sh ($WK_TEST_CONSERVED, or
 * $WK_TEST_SETTLED when nothing may be pending). in_flight: value that is
 * in no purse and no pending load (a debited token not redeemed yet, fen),
 * or counted twice (negative: a credit whose load is still pending);
 * per_card false while a transfer is not reported
 */
void money_check(const char *what, bool settled, long in_flight,
    bool per_card);

/* the card in reader WALLETKEY_READER_<i> */
void card_open(int i, wk_ctx **ctx, wk_card **card);
uint32_t card_balance(int i);
/* the card id in hex */
void card_hex(int i, char out[17]);

#endif
