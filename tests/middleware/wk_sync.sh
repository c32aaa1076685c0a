#!/bin/bash
# libwalletkey's audit sync (test_wk_sync.c) between one real card enrolled
# with the walletkey CLI and the real issuer: its recovery paths (a crash
# after the issuer stored a page, a crash between the issuer's
# acknowledgement and the card's, the issuer failing to store a page, a
# card answering a stale page), with the money check of
# tests/e2e/remote_lib.sh after every step. Usage: wk_sync.sh BIN
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi
BIN=$1
. "$(dirname "$0")/../e2e/remote_lib.sh"

issuer_setup
export MONEY_CARDS=0
out=$("$WK" --reader "$(reader 0)" enroll --issuer "$URL" --account $PAN0 2>&1) ||
	die "enroll card 0: $out"
settled "enrolment"

# more_records N: N loads of 1 fen through the CLI, new records in the
# card's log for the sync to carry
more_records() {
	local i out
	for ((i = 0; i < $1; i++)); do
		out=$("$WK" --reader "$(reader 0)" wallet load --issuer "$URL" \
			--amount 0.01 --yes 2>&1) || { echo "load: $out" >&2; return 1; }
	done
}
# lock_db SECONDS: holds a write lock on the issuer's SQLite file (the
# issuer cannot store anything meanwhile); prints its pid, then "locked"
lock_db() {
	echo $$
	exec python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))' "${DB#sqlite:}" "$1"
}

export ISS DB WK T MONEY_JQ DEPOSIT MONEY_CARDS URL
export -f money_state reader slot_serial purse_fen more_records lock_db
export WK_TEST_CONSERVED='money_state; [ "$MONEY" = conserved ]'
export WK_TEST_SETTLED='money_state; [ "$MONEY" = conserved ] && [ "$PENDING" = 0 ]'
export WK_TEST_ISSUER=$URL WK_TEST_DIR=$T
"$BIN" && rc=0 || rc=$?
check "the audit sync's recovery cases pass" '[ "$rc" -eq 0 ]'
settled "after the sync's cases"
finish
