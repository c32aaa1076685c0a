/*
 * online payments confirmed on the card (docs/payments.md): what the card,
 * the relay and the issuer compute alike from a payment request (wk_msg
 * type 11) or confirmation (type 12).
 */
#ifndef WK_PAYMENT_H
#define WK_PAYMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_msg.h"

/* the OCRA suite of the dynamic-password variant (RFC 6287): the question
 * is wk_payment_question's 32 bytes in hex, the time step one minute */
#define WK_PAYMENT_OCRA_SUITE "OCRA-1:HOTP-SHA256-8:QH64-T1M"
#define WK_PAYMENT_OCRA_DIGITS 8
#define WK_PAYMENT_OCRA_KEY_LEN 32
/* minutes either side of the issuer's clock it accepts a response for */
#define WK_PAYMENT_OCRA_WINDOW 2
#define WK_PAYMENT_CURRENCY "CNY"

/*
 * a text a merchant wrote that the holder will read (payee name, order id,
 * description): valid UTF-8, shortest forms, no C0 or C1 control, no DEL,
 * no bidirectional override or isolate (U+202A-202E, U+2066-2069), no
 * line or paragraph separator (U+2028, U+2029); len bytes, no NUL
 */
bool wk_payment_text_ok(const char *s, size_t len);
/* three upper-case ASCII letters */
bool wk_payment_currency_ok(const char *s, size_t len);

/*
 * the order digest the card signs instead of the texts:
 *   SHA-256("walletkey-order/1" | len name (1) | name | len order (1) |
 *           order | len description (1) | description)
 * from a request's fields
 */
void wk_payment_order_digest(const wk_msg *req,
    uint8_t out[WK_MSG_DIGEST_LEN]);

/*
 * the confirmation a card signs for a payment request (docs/payments.md):
 * type WK_MSG_PAY_CONFIRM with the request's card id, payment id, PAN,
 * payee, amount, currency and expiry and the order digest of its texts;
 * the caller sets the decision and the counter
 */
void wk_payment_confirmation(const wk_msg *req, uint8_t decision,
    uint32_t counter, wk_msg *conf);

/*
 * the OCRA question of a payment (32 bytes; the suite's QH64 is its hex):
 *   SHA-256("walletkey-pay-ocra/1" | card id 8 | payment id 16 |
 *           len PAN (1) | PAN | payee 6 | amount 4 | currency 3 |
 *           expiry 8 | order digest 32)
 * from a confirmation's fields (m->digest set), or a request's after
 * wk_payment_order_digest into m->digest
 */
void wk_payment_question(const wk_msg *m, uint8_t out[32]);

/* the response for the payment's question at time step t (minutes since
 * the epoch); digits gets 8 ASCII digits and a NUL */
int wk_payment_ocra(const uint8_t key[WK_PAYMENT_OCRA_KEY_LEN],
    const wk_msg *m, uint64_t t, char digits[WK_PAYMENT_OCRA_DIGITS + 1]);

#endif
