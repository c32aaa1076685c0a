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

# a fresh session token of card I for the issuer's doors (docs/issuer.md
# "Sessions"): the holder's (WALLETKEY_PIN); "card" as $2: the card's alone
session() {
	local scope=--holder
	[ "${2:-holder}" = card ] && scope=
	"$WK" --reader "$(reader "$1")" wallet session --issuer "$URL" $scope
}
# curl with card I's holder session: icurl I ARGS...
icurl() {
	local i=$1
	shift
	curl -H "Authorization: Bearer $(session "$i")" "$@"
}

# the EP balance of card I in fen
purse_fen() {
	"$WK" --reader "$(reader "$1")" --json wallet balance |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("balance_fen", d.get("fen", d.get("balance"))))'
}

# the card serial in slot I (asked once)
card_id() {
	local v="CARD_ID_$1"
	if [ -z "${!v:-}" ]; then
		printf -v "$v" '%s' "$("$WK" --json readers | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin)["readers"] if x["name"] == sys.argv[1]]; print(r[0]["serial"])' "$(reader "$1")")"
	fi
	echo "${!v}"
}

# money is conserved: customers + merchants + float = deposits (the
# issuer's books), and float = the cards' real purse balances + pending
# loads (settled state: every purchase settled to a merchant). The float is
# one account per card (kind float); with every transfer reported, each
# card's own float is its own purse balance plus its pending loads.
# MONEY_CARDS: the slots of the enrolled cards (default "0 1"); UNSETTLED:
# the purchases made but not settled yet (fen), still in the floats;
# PER_CARD=0 while a transfer is not reported (only the sums hold then);
# DEPOSITS: what all accounts were given (default two DEPOSITs).
conserved() {
	local accounts loads cards purses="" i
	accounts=$("$ISS" accounts --db "$DB" --json)
	loads=$("$ISS" loads --db "$DB" --json)
	cards=$("$ISS" cards --db "$DB" --json)
	for i in ${MONEY_CARDS:-0 1}; do
		purses="$purses $(card_id "$i")=$(purse_fen "$i")"
	done
	python3 - "$accounts" "$loads" "$cards" "${DEPOSITS:-$((2 * DEPOSIT))}" "${PER_CARD:-1}" "${UNSETTLED:-0}" $purses <<'PY'
import json, sys
acc = json.loads(sys.argv[1]); loads = json.loads(sys.argv[2])
cards = json.loads(sys.argv[3]); deposits = int(sys.argv[4])
per_card = sys.argv[5] == "1"
unsettled = int(sys.argv[6])
purse = {kv.split("=")[0]: int(kv.split("=")[1]) for kv in sys.argv[7:]}
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
PY
}

# after every step: the books balance and no load is left pending
settled() {
	check "$1: money conserved" 'conserved'
	check "$1: no load pending" '[ "$("$ISS" loads --db "$DB" --json | python3 -c "import json,sys; print(sum(1 for l in json.load(sys.stdin) if l[\"status\"] == \"pending\"))")" = 0 ]'
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		[ -f "$T/issuer.log" ] && tail -20 "$T/issuer.log"
		exit 1
	fi
	echo "all checks passed"
}
