#!/bin/bash
# kill -9 of the card, then a restart on the same store: the card comes back
# with its state (same serial)
. "$(dirname "$0")/lib.sh"

before=$(serial_of 0)
[ -n "$before" ] && [ "$before" != null ] || fail "no serial before the crash"
"$WALLETKEY_SANDBOX/bin/card-kill" 0
retry 5 card_absent 0 ||
	fail "the killed card still shows in its reader"
expect_eq "serial while gone" "$(serial_of 0)" null
"$WALLETKEY_SANDBOX/bin/card-start" 0
expect_eq "serial after restart" "$(serial_of 0)" "$before"
