/*
 * online payments (docs/payments.md), internal to the issuer: what the
 * three files share. iss_pay.c the payments' rows, their closing (the state
 * machine) and the merchants' door; iss_pay_merchant.c the merchant's side
 * (create, get, cancel); iss_pay_card.c the card's side (pending,
 * confirm)
 */
#ifndef ISS_PAY_H
#define ISS_PAY_H

#include "iss.h"

#define PAY_ID_LEN WK_MSG_LOAD_ID_LEN
#define PAY_HEX (2 * PAY_ID_LEN + 1)
#define ALIAS_MAX 64

typedef struct iss_pay_row {
	char id[PAY_HEX];
	char terminal[13];
	char order_id[WK_MSG_NAME_MAX + 1];
	char description[WK_MSG_DESC_MAX + 1];
	char payer[ALIAS_MAX + 1];
	int64_t account_id;
	char card_id[17];
	int64_t amount;
	char currency[4];
	int64_t expires_at;
	char *request_b64;
	char request_hash[65];
	char status[16];
	char error_code[40];
	char error_message[256];
	char *confirmation;
	char method[16];
	char created_at[40];
	char closed_at[40];
	char payee_name[WK_MSG_NAME_MAX + 1];
	char pan[WK_MSG_PAN_MAX + 1];
	int64_t merchant_account;
} iss_pay_row;

#define PAY_COLS "p.id, p.terminal_id, p.order_id, p.description, p.payer," \
	" p.account_id, p.card_id, p.amount, p.currency, p.expires_at," \
	" p.request_msg, p.request_hash, p.status, p.error_code," \
	" p.error_message, p.confirmation, p.method, p.created_at," \
	" p.closed_at, ma.name, pa.pan, m.account_id"
#define PAY_FROM " FROM payments p JOIN merchants m ON m.terminal_id =" \
	" p.terminal_id JOIN accounts ma ON ma.id = m.account_id JOIN" \
	" accounts pa ON pa.id = p.account_id"

typedef struct iss_pay_close_ctx {
	const char *id;
	const char *status;		/* paid, declined, expired, failed, cancelled */
	const char *code;		/* the error for the merchant, or NULL */
	char message[256];
	const char *method;		/* signature, ocra, relay, merchant, issuer */
	const char *confirmation;	/* what closed it, or NULL */
	int64_t counter;		/* < 0: none */
	iss_pay_row out;
	bool changed;
	bool funds_short;		/* tx_close: refused for funds, nothing done */
} iss_pay_close_ctx;

/* exactly len bytes of hex in s */
bool iss_pay_hex_exact(const char *s, uint8_t *out, size_t len);
/* a connection from the pool; 503 when none */
int iss_pay_db(iss *is, iss_db **db, iss_err *e);
/* the door of a card's payments: the card's own session of the card's scope */
int iss_pay_card_door(iss *is, const iss_request *rq, const char *card_hex,
    iss_err *e);
/* a pending payment past its expiry is closed as expired; p is updated */
int iss_pay_expire_if_due(iss *is, iss_pay_row *p, iss_err *e);
/* closes a pending payment as x says */
int iss_pay_close(iss *is, iss_pay_close_ctx *x, iss_err *e);
/* row i of a PAY_COLS query */
int iss_pay_from_res(iss_res *r, size_t i, iss_pay_row *p);
/* the change generation, for iss_pay_sleep */
uint64_t iss_pay_gen(void);
/* a payment as the merchant sees it */
json_t *iss_pay_json(const iss_pay_row *p);
/* now, in seconds (the clock the payments use) */
int64_t iss_pay_now(const iss *is);
/* the payment id: 1 found, 0 not, else a database rc */
int iss_pay_read(iss_db *db, const char *id, iss_pay_row *p);
/* frees what a row holds */
void iss_pay_row_clear(iss_pay_row *p);
/* waits up to half a second for a change after generation seen */
void iss_pay_sleep(uint64_t seen);
/* wakes the long polls waiting for a change of any payment */
void iss_pay_wake(void);
/* a pending payment as the card sees it */
json_t *iss_pay_pending_json(const iss_pay_row *p);
/* the "wait" argument: 0..ISS_PAY_WAIT_MAX seconds */
int iss_pay_wait_arg(const iss_request *rq, int *wait, iss_err *e);
/* the merchant of the request (API key or client certificate); 401 when none */
int iss_pay_merchant_auth(iss *is, const iss_request *rq, iss_merchant *m,
    iss_err *e);
/* the payment id from a connection of the pool; 404 when there is none */
int iss_pay_get_row(iss *is, const char *id, iss_pay_row *p, iss_err *e);

#endif
