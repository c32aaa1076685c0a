/* purse client internals: the parsers of card answers, for the unit tests */
#ifndef WK_PURSE_INTERNAL_H
#define WK_PURSE_INTERNAL_H

#include "walletkey.h"

#define WK_PURSE_APP_LEN 30		/* EF 0015 */
#define WK_PURSE_RECORD_LEN 23		/* EF 0018 */
#define WK_PURSE_INIT_PURCHASE_LEN 15	/* section 3.2 */
#define WK_PURSE_INIT_LOAD_LEN 16	/* section 3.1 */

int wk_purse_parse_app(const uint8_t *p, size_t len, wk_purse_app *app);
int wk_purse_parse_holder(const uint8_t *p, size_t len, wk_purse_holder *h);
/* *empty is set for an all-zero (pre-allocated) record */
int wk_purse_parse_record(const uint8_t *p, size_t len, wk_purse_record *r,
    bool *empty);
int wk_purse_parse_init_purchase(const uint8_t *p, size_t len, wk_purse_txn *t);
int wk_purse_parse_init_load(const uint8_t *p, size_t len, wk_purse_txn *t);
/* ASCII digits (4-12) to packed BCD, F-padded; out holds 6 bytes */
int wk_purse_pin_bcd(const char *pin, size_t len, uint8_t out[6], size_t *out_len);

/* the PSAM's GET INFO answer */
int wk_psam_parse_info(const uint8_t *p, size_t len, wk_psam_info *info);
/* CREDIT SAM FOR PURCHASE with the session restated (P1 01): MAC2 of the
 * purchase txn, whichever the PSAM's last one is */
int wk_psam_check_purchase(wk_card *card, const wk_purse_txn *txn,
    const uint8_t mac2[4]);

/* the SAM file's and the master-key file's content, as read from disk */
int wk_sam_parse(const char *text, size_t len, wk_sam **out);
/* a PSAM terminal journal for that terminal and PSAM card */
int wk_sam_parse_journal(const char *text, size_t len, const uint8_t terminal[6],
    const uint8_t psam_id[8], wk_sam **out);
int wk_purse_parse_master_keys(const char *text, size_t len,
    uint8_t keys[5][16], uint8_t algs[5]);

#endif
