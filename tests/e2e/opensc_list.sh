#!/bin/bash
# opensc-tool -l lists our readers: the card's slot with a card, the spare without
. "$(dirname "$0")/lib.sh"

out=$(opensc-tool -l)
echo "$out"
echo "$out" | grep -F -- "$WALLETKEY_READER_0" | grep_q -E '^[0-9]+ +Yes' ||
	fail "reader $WALLETKEY_READER_0 has no card"
echo "$out" | grep -F -- "$WALLETKEY_READER_1" | grep_q -E '^[0-9]+ +No' ||
	fail "reader $WALLETKEY_READER_1 should be empty"
