#!/bin/bash
# the private pcscd restarts: the card reconnects by itself with its state
. "$(dirname "$0")/lib.sh"

before=$(serial_of 0)
pid=$("$WALLETKEY_SANDBOX/bin/card-pid" 0)
"$WALLETKEY_SANDBOX/bin/pcscd-restart"
"$WALLETKEY_SANDBOX/bin/card-wait" 0 || fail "the card did not reconnect"
retry 10 test "$(serial_of 0)" = "$before" || fail "serial after pcscd restart: '$(serial_of 0)', want '$before'"
expect_eq "card process" "$("$WALLETKEY_SANDBOX/bin/card-pid" 0)" "$pid"
kill -0 "$pid" || fail "the card process died"
