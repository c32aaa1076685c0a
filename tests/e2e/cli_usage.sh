#!/bin/bash
# bad usage of the CLI: exit status 2 and a message; failures: 1 and a message
. "$(dirname "$0")/lib.sh"

expect_status 2 walletkey
expect_status 2 walletkey bogus
grep -q "unknown command 'bogus'" <<<"$ERR" || fail "no message for an unknown command"
expect_status 2 walletkey --bogus readers
grep -q "unknown option --bogus" <<<"$ERR" || fail "no message for an unknown option"
expect_status 2 walletkey readers extra
expect_status 2 walletkey apdu
expect_status 2 walletkey apdu zz
grep -q "not an APDU" <<<"$ERR" || fail "no message for bad hex"
expect_status 2 walletkey apdu 00a4
expect_status 2 walletkey readers --reader
expect_status 0 walletkey --help
expect_status 0 walletkey --version
expect_status 0 walletkey apdu --help
expect_status 1 walletkey --reader "no such reader" apdu 00a40400
grep -q "no smart-card reader found" <<<"$ERR" || fail "no message for a missing reader: $ERR"
expect_status 1 walletkey --reader "$WALLETKEY_READER_1" apdu 00a40400
grep -q "no card in the reader" <<<"$ERR" || fail "no message for an empty reader: $ERR"
# a bad APDU sends nothing: the first valid one is not sent either
expect_status 2 walletkey apdu 00a4040007f0574b494e464f zz
# the JSON error object
out=$(walletkey --json --reader "no such reader" apdu 00a40400 2>/dev/null || true)
expect_eq "json error code" "$(echo "$out" | jq -r .error.code)" -4
# without a pcscd: exit 1 and a message naming pcscd
expect_status 1 env PCSCLITE_CSOCK_NAME="$WALLETKEY_SANDBOX/nothing" walletkey readers
grep -q "pcscd" <<<"$ERR" || fail "no message naming pcscd: $ERR"
# an ambiguous reader prefix: exit 1 and a message saying so
expect_status 1 walletkey --reader "Virtual PCD 00" apdu 00a40400
grep -q "several readers start with" <<<"$ERR" || fail "no message for an ambiguous prefix: $ERR"
# --verbose: the library's trace appears, and a PIN in it is masked
trace=$(WALLETKEY_PIN=123456 walletkey --verbose pin verify 2>&1 >/dev/null)
grep -q "SCardEstablishContext" <<<"$trace" || fail "--verbose shows no PC/SC trace"
grep -qE "apdu > \([0-9]+\) 00 20 00 80 08( \*\*){8}" <<<"$trace" || fail "--verbose shows no masked VERIFY: $trace"
grep -qi "31 32 33 34 35 36" <<<"$trace" && fail "the PIN appears in the trace"
true
