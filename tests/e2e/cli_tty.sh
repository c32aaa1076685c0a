#!/bin/bash
# PINs typed at the terminal: read without echo from /dev/tty (a pty from
# script(1), the PIN typed after the prompt shows), never from the command line
. "$(dirname "$0")/lib.sh"

typed() { # typed SECRET CMD: runs CMD on a pty and types SECRET after a second
	(sleep 1; printf '%s\n' "$1") | script -qec "$2" /dev/null 2>&1 | tr -d '\r'
}
unset WALLETKEY_PIN

out=$(typed 123456 "walletkey pin verify")
grep -q "^PIN: *$" <<<"$out" || fail "no PIN prompt: $out"
grep -q "PIN verified" <<<"$out" || fail "the typed PIN was not used: $out"
grep -q "123456" <<<"$out" && fail "the PIN was echoed: $out"

out=$(typed 000000 "walletkey pin verify") || true
grep -q "2 tries left" <<<"$out" || fail "a wrong typed PIN: $out"

out=$(typed 123456 "walletkey wallet records")
grep -q "^purse PIN: *$" <<<"$out" || fail "no purse PIN prompt: $out"
grep -q "no transactions" <<<"$out" || fail "the typed purse PIN was not used: $out"
echo "cli_tty: ok"
