#!/bin/bash
# the seal key's sources through the real walletkey-card (walletkey-card(1),
# docs/security.md "The card store"): a passphrase from a descriptor and
# from an environment variable (gone from the process's environment once
# read), a systemd credential (encrypted with systemd-creds when it runs
# here, and $CREDENTIALS_DIRECTORY as systemd sets it), --rekey from one to
# another; wrong keys and bad options refused with a message, exit 2.
. "$(dirname "$0")/lib.sh"

T=$(mktemp -d)
card=
cleanup() {
	[ -z "$card" ] || kill "$card" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
port=$WALLETKEY_VPCD_PORT_1
reader=$WALLETKEY_READER_1
store=$T/card.store

present() { opensc-tool -l 2>/dev/null | grep -F -- "$reader" | grep_q -E '^[0-9]+ +Yes'; }

# run_card ARGS...: starts the card on slot 1, waits for it in the reader
run_card() {
	walletkey-card --store "$store" --vpcd "127.0.0.1:$port" "$@" \
		>"$T/card.log" 2>&1 &
	card=$!
	retry 30 present || { cat "$T/card.log" >&2; fail "card with $* did not start"; }
}

stop_card() {
	kill -TERM "$card"
	wait_bounded "$card" 60
	[ "$RC" -eq 0 ] || fail "the card did not stop cleanly (status $RC)"
	card=
	retry 10 eval '! present' || fail "the card stays in the reader"
}

# refused WANT-TEXT ARGS...: exit 2 at once, the message says WANT-TEXT
refused() {
	local want=$1 st=0 out
	shift
	out=$(timeout 60 walletkey-card --store "$store" --vpcd "127.0.0.1:$port" \
		"$@" 2>&1 </dev/null) || st=$?
	[ "$st" -eq 2 ] || fail "'$*' exited $st, want 2 ($out)"
	grep_q -F -- "$want" <<<"$out" || fail "'$*': no '$want' in: $out"
}

# ---- a passphrase on a descriptor ----
printf 'correct horse battery staple\n' >"$T/pass"
walletkey-card --store "$store" --init-only --seal-passphrase-fd 3 3<"$T/pass" ||
	fail "--init-only with a passphrase"
[ ! -e "$T/walletkey-seal.key" ] || fail "a key file was made for a passphrase store"
run_card --seal-passphrase-fd 3 3<"$T/pass"
s1=$(walletkey --json readers | jq -r --arg r "$reader" \
	'.readers[] | select(.name == $r) | .serial')
[ -n "$s1" ] && [ "$s1" != null ] || fail "no serial from the passphrase card"
stop_card
refused "passphrase does not open" --seal-passphrase-fd 3 3< <(printf 'wrong\n')
refused "sealed with a passphrase" --seal-key "$T/pass"
refused "passphrase is empty" --seal-passphrase-fd 3 3</dev/null
refused "not a file descriptor" --seal-passphrase-fd x

# ---- the same passphrase from the environment, wiped once read ----
export WK_TEST_PASS='correct horse battery staple'
run_card --seal-passphrase-env WK_TEST_PASS
# /proc/PID/environ shows the memory of the initial environment
grep_q -F "correct horse" "/proc/$card/environ" &&
	fail "the passphrase is still in the card's environment"
grep_q -F "correct horse" "/proc/$card/cmdline" && fail "the passphrase is on the command line"
stop_card
unset WK_TEST_PASS
refused "WK_TEST_PASS is not set" --seal-passphrase-env WK_TEST_PASS
refused "one seal key at a time" --seal-passphrase-env A --seal-key "$T/k"

# ---- --rekey: from the passphrase to a systemd credential ----
mkdir -m 0700 "$T/creds"
head -c 32 /dev/urandom >"$T/seal.bin"
chmod 600 "$T/seal.bin"
if command -v systemd-creds >/dev/null && [ "$(id -u)" -eq 0 ] &&
	systemd-creds encrypt --name=walletkey-seal "$T/seal.bin" "$T/seal.cred" 2>/dev/null; then
	# what LoadCredentialEncrypted= does before the unit starts
	systemd-creds decrypt --name=walletkey-seal "$T/seal.cred" "$T/creds/walletkey-seal"
	cmp -s "$T/seal.bin" "$T/creds/walletkey-seal" || fail "systemd-creds round trip"
else
	echo "store_keys: no systemd-creds here; the credential is a plain file"
	cp "$T/seal.bin" "$T/creds/walletkey-seal"
fi
# as systemd leaves it: 0400 and the unit's user granted the read by an
# ACL, which shows as group bits (so the key file rule does not apply)
chmod 400 "$T/creds/walletkey-seal"
setfacl -m "u:nobody:r" "$T/creds/walletkey-seal" 2>/dev/null ||
	chmod 440 "$T/creds/walletkey-seal"
refused "CREDENTIALS_DIRECTORY is not set" --seal-credential walletkey-seal
export CREDENTIALS_DIRECTORY=$T/creds
refused "not a credential name" --seal-credential ../creds/walletkey-seal
refused "No such file" --seal-credential other
refused "--rekey needs the new seal key" --seal-passphrase-fd 3 --rekey 3<"$T/pass"
walletkey-card --store "$store" --seal-passphrase-fd 3 --rekey \
	--new-seal-credential walletkey-seal 3<"$T/pass" >"$T/rekey.out" ||
	fail "rekey to the credential"
grep_q "sealed under the new key" "$T/rekey.out" || fail "rekey said nothing"
refused "sealed with a key file" --seal-passphrase-fd 3 3<"$T/pass"
run_card --seal-credential walletkey-seal
s2=$(walletkey --json readers | jq -r --arg r "$reader" \
	'.readers[] | select(.name == $r) | .serial')
expect_eq "serial after rekey" "$s2" "$s1"
stop_card
# the same key as a plain key file opens it too; one readable by others does not
run_card --seal-key "$T/seal.bin"
stop_card
chmod 644 "$T/seal.bin"
refused "readable by others" --seal-key "$T/seal.bin"
echo "store_keys: ok"
