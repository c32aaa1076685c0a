#!/bin/bash
# libwalletkey's card-to-card flow (test_wk_xfer.c) between two real
# cards enrolled with the walletkey CLI on the real issuer; the money
# check of tests/e2e/remote_lib.sh after every step. Usage: wk_xfer.sh BIN
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
BIN=$1
. "$(dirname "$0")/../e2e/remote_lib.sh"

issuer_setup
for i in 0 1; do
	out=$("$WK" --reader "$(reader "$i")" enroll --issuer "$URL" \
		--account "$([ "$i" = 0 ] && echo $PAN0 || echo $PAN1)" 2>&1) ||
		die "enroll card $i: $out"
done
out=$("$WK" --reader "$(reader 0)" wallet load --issuer "$URL" --amount 30 --yes 2>&1) ||
	die "load card 0: $out"
settled "enrolment and a load"

export ISS DB WK T MONEY_JQ DEPOSIT
export -f money_state reader slot_serial purse_fen
export WK_TEST_CONSERVED='money_state; [ "$MONEY" = conserved ]'
export WK_TEST_SETTLED='money_state; [ "$MONEY" = conserved ] && [ "$PENDING" = 0 ]'
export WK_TEST_ISSUER=$URL WK_TEST_DIR=$T
"$BIN" && rc=0 || rc=$?
check "the transfer flow's cases pass" '[ "$rc" -eq 0 ]'
settled "after the flow's cases"
finish
