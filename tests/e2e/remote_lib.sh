# shared by the remote-load end-to-end tests (sourced inside the sandbox):
# a real walletkey-issuer on SQLite, two accounts, and the money check.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${WALLETKEY_BUILD_DIR:-$SRC/build}" && pwd)
WK=$BUILD/tools/walletkey
ISS=$BUILD/issuer/walletkey-issuer
PAN0=6222000000000001
PAN1=6222000000000002
DEPOSIT=100000	# fen, per account
FAILS=0

T=$(mktemp -d "${TMPDIR:-/tmp}/wk-remote.XXXXXX")
ISS_PID=""
cleanup() {
	exec 2>/dev/null
	[ -n "$ISS_PID" ] && kill -9 "$ISS_PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

export WALLETKEY_STATE_DIR=$T/state
export WALLETKEY_ACCOUNT_PASSWORD=correct-horse
export WALLETKEY_PIN=123456
DB=sqlite:$T/issuer.db

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
die() { echo "FAIL: $*" >&2; exit 1; }
reader() { local v="WALLETKEY_READER_$1"; echo "${!v}"; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

issuer_start() {
	"$ISS" serve --db "$DB" --key-file "$T/issuer.key" --listen "127.0.0.1:$PORT" \
		>>"$T/issuer.log" 2>&1 &
	ISS_PID=$!
	for _ in $(seq 100); do
		curl -fsS "$URL/v1/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$T/issuer.log" >&2
	die "the issuer does not answer"
}

issuer_kill() {
	[ -n "$ISS_PID" ] && kill -9 "$ISS_PID" 2>/dev/null || true
	wait "$ISS_PID" 2>/dev/null || true
	ISS_PID=""
}

# the issuer trusts the sandbox's manufacturer, whose CA made the cards
issuer_setup() {
	[ -n "${WALLETKEY_MFG_CA:-}" ] || die "the sandbox made no manufacturer CA"
	"$ISS" init --db "$DB" --key-file "$T/issuer.key" \
		--manufacturer-ca "$WALLETKEY_MFG_CA" >/dev/null
	"$ISS" account-create --db "$DB" --pan $PAN0 --name Alice \
		--password-env WALLETKEY_ACCOUNT_PASSWORD >/dev/null
	"$ISS" account-create --db "$DB" --pan $PAN1 --name Bob \
		--password-env WALLETKEY_ACCOUNT_PASSWORD >/dev/null
	"$ISS" deposit --db "$DB" --pan $PAN0 --amount $DEPOSIT >/dev/null
	"$ISS" deposit --db "$DB" --pan $PAN1 --amount $DEPOSIT >/dev/null
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	issuer_start
}

# the EP balance of card I in fen. It runs after every step: without the
# PIN (the balance needs none, and a PIN given is verified first, a
# second command on the card), and through jq, which starts faster than
# python3
purse_fen() {
	env -u WALLETKEY_PIN "$WK" --reader "$(reader "$1")" --json wallet balance |
		jq -r '.balance_fen // .fen // .balance'
}

# the card serial in slot I (asked once: kept in a file, since callers
# run it in $(...), where a variable would not outlive the subshell).
# slot_serial is what the money check uses; scripts may give card_id
# another meaning
slot_serial() {
	local f="$T/card_id.$1"
	if [ ! -s "$f" ]; then
		"$WK" --json readers | jq -r --arg name "$(reader "$1")" \
			'[.readers[] | select(.name == $name)][0].serial // empty' >"$f"
	fi
	cat "$f"
}
card_id() {
	slot_serial "$1"
}

# money is conserved: customers + merchants + float = deposits (the
# issuer's books), and float = the cards' real purse balances + pending
# loads (settled state: every purchase settled to a merchant). The float is
# one account per card (kind float); with every transfer reported, each
# card's own float is its own purse balance plus its pending loads.
# MONEY_CARDS: the slots of the enrolled cards (default "0 1"); UNSETTLED:
# the purchases made but not settled yet (fen), still in the floats;
# PER_CARD=0 while a transfer is not reported (only the sums hold then).
# money_state: one pass over the issuer's books and the cards' purses;
# prints "conserved" (or "not-conserved", the failed assertion on stderr)
# and then the number of loads pending. conserved: status 0 when it holds.
money_state() {
	local accounts loads cards purses="" i
	accounts=$("$ISS" accounts --db "$DB" --json)
	loads=$("$ISS" loads --db "$DB" --json)
	cards=$("$ISS" cards --db "$DB" --json)
	for i in ${MONEY_CARDS:-0 1}; do
		purses="$purses $(slot_serial "$i")=$(purse_fen "$i")"
	done
	python3 - "$accounts" "$loads" "$cards" "$((2 * DEPOSIT))" "${PER_CARD:-1}" "${UNSETTLED:-0}" $purses <<'PY'
import json, sys, traceback
acc = json.loads(sys.argv[1]); loads = json.loads(sys.argv[2])
cards = json.loads(sys.argv[3]); deposits = int(sys.argv[4])
per_card = sys.argv[5] == "1"
unsettled = int(sys.argv[6])
purse = {kv.split("=")[0]: int(kv.split("=")[1]) for kv in sys.argv[7:]}
def conserved():
    cust = sum(a["balance"] for a in acc if a["kind"] == "customer")
    flt = sum(a["balance"] for a in acc if a["kind"] == "float")
    merch = sum(a["balance"] for a in acc if a["kind"] == "merchant")
    pending = sum(l["amount"] for l in loads if l["status"] == "pending")
    assert sum(a["balance"] for a in acc) == 0, acc
    assert cust + merch + flt == deposits, (cust, merch, flt, deposits)
    assert flt == sum(purse.values()) + pending + unsettled, ("float", flt, "purses", purse, "pending", pending, "unsettled", unsettled)
    assert all(a["balance"] >= 0 for a in acc if a["kind"] == "float"), acc
    if per_card:
        for c in cards:
            mine = sum(l["amount"] for l in loads if l["status"] == "pending" and l["card_id"] == c["card_id"])
            assert c["float"] == purse.get(c["card_id"], 0) + mine, ("card", c["card_id"], "float", c["float"], "purse", purse.get(c["card_id"]), "pending", mine)
try:
    conserved()
    print("conserved")
except Exception:
    traceback.print_exc()
    print("not-conserved")
print(sum(1 for l in loads if l["status"] == "pending"))
PY
}
conserved() {
	local st
	st=$(money_state)
	[ "${st%%$'\n'*}" = conserved ]
}

# after every step: the books balance and no load is left pending (both
# from one look at the books)
settled() {
	local st
	st=$(money_state | tr '\n' ' ')
	check "$1: money conserved" '[ "${st%% *}" = conserved ]'
	check "$1: no load pending" '[ "${st#* }" = "0 " ]'
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		[ -f "$T/issuer.log" ] && tail -20 "$T/issuer.log"
		exit 1
	fi
	echo "all checks passed"
}
