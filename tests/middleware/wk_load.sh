#!/bin/bash
# libwalletkey's enrolment and remote load flows (test_wk_load.c) against
# the real card and the real issuer: the card enrolled by the flow, then
# the load's crash, store and refusal cases, with the money check of
# tests/e2e/remote_lib.sh after every step. Usage: wk_load.sh TEST_BINARY
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi
BIN=$1
. "$(dirname "$0")/../e2e/remote_lib.sh"

issuer_setup
export MONEY_CARDS=0
settled "start"

# the money check, for the test's own steps (bash -c): the books and the
# card, as after every step of the remote tests
export ISS DB WK T MONEY_JQ DEPOSIT MONEY_CARDS
export -f money_state reader slot_serial purse_fen
export WK_TEST_CONSERVED='money_state; [ "$MONEY" = conserved ]'
export WK_TEST_SETTLED='money_state; [ "$MONEY" = conserved ] && [ "$PENDING" = 0 ]'
export WK_TEST_ISSUER=$URL WK_TEST_DIR=$T WK_TEST_PAN=$PAN0
"$BIN" && rc=0 || rc=$?
check "the load flow's cases pass" '[ "$rc" -eq 0 ]'
settled "after the flow's cases"
finish
