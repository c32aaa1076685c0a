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

# proc_report, wait_bounded
. "$HERE/wait_lib.sh"

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


# the EP balance of card I in fen. It runs after every step: without the
# PIN (the balance needs none, and a PIN given is verified first, a
# second command on the card), and read in the shell: one process a
# call, the CLI (the fault loops call it hundreds of times)
purse_fen() {
	local out
	out=$(unset WALLETKEY_PIN; exec "$WK" --reader "$(reader "$1")" --json wallet balance) || return
	[[ $out =~ \"balance_fen\":\ *([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

# the card serial in slot I (asked once: kept in a file, since callers
# run it in $(...), where a variable would not outlive the subshell).
# slot_serial is what the money check uses; scripts may give card_id
# another meaning
slot_serial() {	# prints it, and sets SERIAL
	local f="$T/card_id.$1"
	if [ ! -s "$f" ]; then
		"$WK" --json readers | jq -r --arg name "$(reader "$1")" \
			'[.readers[] | select(.name == $name)][0].serial // empty' >"$f"
	fi
	SERIAL=""
	read -r SERIAL <"$f" || true
	echo "$SERIAL"
}
card_id() {
	slot_serial "$1"
}

# money is conserved: customers + merchants + float = deposits (the
# issuer's books), and float = the cards' real purse balances + pending
# loads (settled state: every purchase settled to a merchant). The float is
# one account per card (kind float); with every transfer reported, each
# card's own float is its own purse balance plus its pending loads.
# MONEY_CARDS: the slots of the enrolled cards (default "0 1"); EXTRA_DEPOSITS:
# money deposited after the two first deposits (fen); UNSETTLED:
# the purchases made but not settled yet (fen), still in the floats;
# PER_CARD=0 while a transfer is not reported (only the sums hold then);
# DEPOSITS: what all accounts were given (default two DEPOSITs).
# The check runs after every step of the remote tests (hundreds of times in
# the fault loops): the books in one issuer call (walletkey-issuer books:
# one snapshot), one pass over them in jq (it starts faster than
# python3). money_state sets MONEY ("conserved" when every assertion
# below holds, else "not-conserved", the failed ones on stderr), PENDING
# (the number of loads pending) and BOOKS (the books it read, for the
# checks that follow it); conserved: status 0 when it holds.
MONEY_JQ='
def total(f): map(f) | add // 0;
. as $books | $books.accounts as $acc | $books.loads as $loads | $books.cards as $cards
| ($ARGS.positional | map(split("=") | {(.[0]): (.[1] | tonumber)}) | add // {}) as $purse
| ($acc | map(select(.kind == "customer")) | total(.balance)) as $cust
| ($acc | map(select(.kind == "float")) | total(.balance)) as $flt
| ($acc | map(select(.kind == "merchant")) | total(.balance)) as $merch
| ($loads | map(select(.status == "pending"))) as $open
| ($open | total(.amount)) as $pending
| [
	if ($acc | total(.balance)) != 0 then {"the accounts do not sum to zero": $acc} else empty end,
	if $cust + $merch + $flt != $deposits then
		{"customers + merchants + float != deposits": [$cust, $merch, $flt, $deposits]} else empty end,
	if $flt != ($purse | [.[]] | add // 0) + $pending + $unsettled then
		{"float != purses + pending + unsettled": {float: $flt, purses: $purse, pending: $pending, unsettled: $unsettled}} else empty end,
	if any($acc[]; .kind == "float" and .balance < 0) then {"a negative float": $acc} else empty end,
	if $per_card == 1 then
		$cards[] | . as $c | ($open | map(select(.card_id == $c.card_id)) | total(.amount)) as $mine
		| if $c.float != ($purse[$c.card_id] // 0) + $mine then
			{"card float != purse + pending": {card: $c.card_id, float: $c.float, purse: $purse[$c.card_id], pending: $mine}}
		else empty end
	else empty end
] as $faults
| (if $faults == [] then "conserved" else "not-conserved" end), ($open | length), ($faults[] | tojson)'
money_state() {
	local purses=() i out
	MONEY="" PENDING=""
	BOOKS=$("$ISS" books --db "$DB" --json)
	for i in ${MONEY_CARDS:-0 1}; do
		slot_serial "$i" >/dev/null
		purses+=("$SERIAL=$(purse_fen "$i")")
	done
	# (the books on stdin: the ledger outgrows what one argument may hold)
	mapfile -t out < <(jq -r \
		--argjson deposits "${DEPOSITS:-$((2 * DEPOSIT + ${EXTRA_DEPOSITS:-0}))}" \
		--argjson per_card "${PER_CARD:-1}" --argjson unsettled "${UNSETTLED:-0}" \
		"$MONEY_JQ" --args "${purses[@]}" <<<"$BOOKS")
	MONEY=${out[0]:-} PENDING=${out[1]:-}
	for ((i = 2; i < ${#out[@]}; i++)); do
		echo "money check: ${out[i]}" >&2
	done
}
conserved() {
	money_state
	[ "$MONEY" = conserved ]
}

# after every step: the books balance and no load is left pending (both
# from one look at the books)
settled() {
	money_state
	check "$1: money conserved" '[ "$MONEY" = conserved ]'
	check "$1: no load pending" '[ "$PENDING" = 0 ]'
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		[ -f "$T/issuer.log" ] && tail -20 "$T/issuer.log"
		exit 1
	fi
	echo "all checks passed"
}
