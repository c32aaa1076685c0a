#!/bin/bash
# libwalletkey's payment relay (test_wk_pay.c) with one real card enrolled
# with the walletkey CLI, the real issuer and a merchant: the answers it
# keeps in its state store (a caller's store that fails, a crash before
# the record goes, records not its own, a file in the format the relay
# always wrote), with the money and payment checks of tests/e2e after
# every step. Usage: wk_pay.sh BIN
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi
BIN=$1
. "$(dirname "$0")/../e2e/remote_lib.sh"
. "$(dirname "$0")/../e2e/pay_lib.sh"

issuer_setup
merchant_setup
export MONEY_CARDS=0
out=$("$WK" --reader "$(reader 0)" enroll --issuer "$URL" --account $PAN0 2>&1) ||
	die "enroll card 0: $out"
pay_settled "enrolment"

export ISS DB WK T MONEY_JQ DEPOSIT MONEY_CARDS URL KEY PAN0
export -f money_state reader slot_serial purse_fen pay_create pay_get payments_sound
export WK_TEST_CONSERVED='money_state; [ "$MONEY" = conserved ] && payments_sound "$BOOKS"'
export WK_TEST_SETTLED='money_state; [ "$MONEY" = conserved ] && [ "$PENDING" = 0 ] && payments_sound "$BOOKS"'
export WK_TEST_ISSUER=$URL WK_TEST_DIR=$T
"$BIN" && rc=0 || rc=$?
check "the relay's store cases pass" '[ "$rc" -eq 0 ]'
pay_settled "after the relay's cases"
finish
