#!/bin/bash
# walletkey readers --json parses and shows each card's serial; the table agrees
. "$(dirname "$0")/lib.sh"

json=$(walletkey readers --json)
echo "$json"
echo "$json" | jq -e . >/dev/null || fail "not JSON"
expect_eq "readers" "$(echo "$json" | jq '.readers | length')" "$WALLETKEY_SLOTS"
s0=$(serial_of 0)
s1=$(serial_of 1)
[[ $s0 =~ ^[0-9a-f]{16}$ ]] || fail "serial of card 0: '$s0'"
[[ $s1 =~ ^[0-9a-f]{16}$ ]] || fail "serial of card 1: '$s1'"
[ "$s0" != "$s1" ] || fail "two cards with one serial"
expect_eq "walletkey flag" "$(echo "$json" | jq -r --arg r "$WALLETKEY_READER_0" \
	'.readers[] | select(.name == $r) | .walletkey')" true
expect_eq "empty slot" "$(echo "$json" | jq -r --arg r "$WALLETKEY_READER_2" \
	'.readers[] | select(.name == $r) | .card_present')" false

table=$(walletkey readers)
echo "$table"
echo "$table" | grep -F -- "$WALLETKEY_READER_0" | grep_q "$s0" || fail "table lacks serial $s0"
# --reader takes a unique prefix
walletkey --reader "$WALLETKEY_READER_1" apdu 00a4040007f0574b494e464f 00ca000100 |
	tail -n 1 | grep_q "^$s1 9000$" || fail "--reader did not pick card 1"
