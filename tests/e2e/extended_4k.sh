#!/bin/bash
# an extended APDU with 4 KB of data round-trips through wkinfo ECHO
. "$(dirname "$0")/lib.sh"

data=$(head -c 4096 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
# 00 EE 00 00, Lc = 00 10 00, data, Le = 10 00
out=$(walletkey apdu 00a4040007f0574b494e464f "00ee0000001000${data}1000")
first=$(echo "$out" | sed -n 1p)
second=$(echo "$out" | sed -n 2p)
expect_eq "SELECT" "${first##* }" 9000
expect_eq "ECHO status" "${second##* }" 9000
expect_eq "ECHO data" "${second% *}" "$data"

# the same through --json; SELECT again: pcscd powers an idle card off between
# two commands (about 0.4 s), which drops the selected applet
got=$(walletkey apdu --json 00a4040007f0574b494e464f "00ee0000001000${data}1000" |
	jq -r '.responses[1].data')
expect_eq "ECHO data (json)" "$got" "$data"
