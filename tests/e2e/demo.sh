#!/bin/bash
# the demo of the Quick start runs to its end and shows what it says it shows
. "$(dirname "$0")/lib.sh"

out=$("$(dirname "$0")/../../tools/demo.sh" 2>&1) || { echo "$out"; fail "the demo failed"; }
for want in "Personal Identity Verification Card" "Verified OK" "walletkey #" \
	"Certificate Object" "load of 100.00: done" "purchase of 12.30: done" \
	"EP balance: 87.70" "insufficient funds" "the PSAM serves terminal 000000000042" \
	"MAC2 verified by the PSAM" "settled 1 purchase (1230 fen)" "genuine: card" \
	"Alice's key" "the purse PIN is changed" "the bank's records: 2 new on the card" \
	"outside the bank" "PIV 9c (alg 11, private key)" "#token=" "Done."; do
	grep -qF -- "$want" <<<"$out" || { echo "$out"; fail "the demo did not show: $want"; }
done
echo "demo: ok"
