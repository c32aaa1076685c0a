# shared by the semi-anonymous payment tests (sourced inside the sandbox):
# an identity authority and two account managers, each its own process and
# database (SQLite, or PostgreSQL when WK_PG_URL is set: tests/issuer/with_pg.sh),
# two people, two cards, and the books' check (docs/semi-anonymous.md).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${WALLETKEY_BUILD_DIR:-$SRC/build}" && pwd)
WK=$BUILD/tools/walletkey
ISS=$BUILD/issuer/walletkey-issuer
FAILS=0
DEPOSIT=50000

# proc_report, wait_bounded
. "$HERE/wait_lib.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/wk-anon.XXXXXX")
declare -A PID PORT DB URL
cleanup() {
	exec 2>/dev/null
	for p in "${PID[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT

export WALLETKEY_PIN=123456
export OP_ALICE_PW=alice-operator-pw OP_BOB_PW=bob-operator-pw
# the people: only the identity authority may ever hold these
NAME0="Zhang Wei Holder"
IDNUM0="110101199003077777"
NAME1="Li Na Holder"
IDNUM1="310104198812128888"

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
die() { echo "FAIL: $*" >&2; exit 1; }
reader() { local v="WALLETKEY_READER_$1"; echo "${!v}"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d'"$1"')'; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# a database per party: a file, or a database of the private cluster
party_db() {
	if [ -n "${WK_PG_URL:-}" ]; then
		"$WK_PG_BINDIR/createdb" -h "$WK_PG_HOST" -p "$WK_PG_PORT" -U postgres "wk_$1"
		echo "postgresql://postgres@/wk_$1?host=$WK_PG_HOST&port=$WK_PG_PORT"
	else
		echo "sqlite:$T/$1.db"
	fi
}

# party NAME: serve it (its log in $T/NAME.log); FAULT may name a fault point
party_start() {
	local n=$1
	WALLETKEY_ISSUER_FAULT=${FAULT:-} "$ISS" serve --db "${DB[$n]}" \
		--key-file "$T/$n.key" --listen "127.0.0.1:${PORT[$n]}" \
		>>"$T/$n.log" 2>&1 &
	PID[$n]=$!
	for _ in $(seq 100); do
		curl -fsS "${URL[$n]}/v1/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$T/$n.log" >&2
	die "$n does not answer"
}

party_kill() {
	local n=$1
	[ -n "${PID[$n]:-}" ] && kill -9 "${PID[$n]}" 2>/dev/null || true
	wait "${PID[$n]}" 2>/dev/null || true
	PID[$n]=""
}

# waits (bounded) for a party that kills itself at its fault point
party_wait_dead() {
	local n=$1
	for _ in $(seq 200); do
		kill -0 "${PID[$n]}" 2>/dev/null || { wait "${PID[$n]}" 2>/dev/null || true; PID[$n]=""; return 0; }
		sleep 0.1
	done
	return 1
}

anon_setup() {
	[ -n "${WALLETKEY_MFG_CA:-}" ] || die "the sandbox made no manufacturer CA"
	for n in identity am1 am2; do
		head -c 32 /dev/urandom >"$T/$n.key"
		DB[$n]=$(party_db "$n")
		PORT[$n]=$(free_port)
		URL[$n]=http://127.0.0.1:${PORT[$n]}
	done
	"$ISS" init --role identity --db "${DB[identity]}" --key-file "$T/identity.key" \
		--manufacturer-ca "$WALLETKEY_MFG_CA" >/dev/null
	IDA_PUB=$("$ISS" anon-keys --db "${DB[identity]}" --key-file "$T/identity.key" --json | jget '["sign_pub"]')
	for n in am1 am2; do
		"$ISS" init --role account --manager-id "$n" --db "${DB[$n]}" \
			--key-file "$T/$n.key" --authority-url "${URL[identity]}" \
			--authority-pubkey "$IDA_PUB" --manufacturer-ca "$WALLETKEY_MFG_CA" \
			--limit 20000 --daily-limit 40000 >/dev/null
		pub=$("$ISS" anon-keys --db "${DB[$n]}" --key-file "$T/$n.key" --json | jget '["sign_pub"]')
		"$ISS" manager-add --db "${DB[identity]}" --manager "$n" --url "${URL[$n]}" --pubkey "$pub" >/dev/null
	done
	for n in identity am1 am2; do party_start "$n"; done
	CODE0=$("$ISS" person-add --db "${DB[identity]}" --name "$NAME0" --id-number "$IDNUM0" --json | jget '["code"]')
	CODE1=$("$ISS" person-add --db "${DB[identity]}" --name "$NAME1" --id-number "$IDNUM1" --json | jget '["code"]')
}

# the books of the identity authority balance, and hold what was deposited
books() {
	local out
	out=$("$ISS" anon-check --db "${DB[identity]}" --json) && rc=0 || rc=$?
	check "books balance: $1" '[ "$rc" -eq 0 ]' || echo "$out"
	if [ -n "${EXPECT_ISSUED:-}" ]; then
		check "value conserved: $1" '[ "$(echo "$out" | jget "[\"balances\"]")" = "$EXPECT_ISSUED" ]' || echo "$out"
	fi
}

balance_of() {
	"$ISS" anon-accounts --db "${DB[identity]}" --json |
		python3 -c 'import json,sys; print([a["balance"] for a in json.load(sys.stdin) if a["account"]==sys.argv[1]][0])' "$1"
}

enrol_cards() {
	out=$("$WK" --reader "$(reader 0)" --json anon enrol --manager "${URL[am1]}" \
		--authority "${URL[identity]}" --code "$CODE0" 2>&1) && rc=0 || rc=$?
	check "card 0 enrols at am1" '[ "$rc" -eq 0 ]' || echo "$out"
	ACCT0=$(echo "$out" | jget '["account"]')
	out=$("$WK" --reader "$(reader 1)" --json anon enrol --manager "${URL[am2]}" \
		--authority "${URL[identity]}" --code "$CODE1" 2>&1) && rc=0 || rc=$?
	check "card 1 enrols at am2" '[ "$rc" -eq 0 ]' || echo "$out"
	ACCT1=$(echo "$out" | jget '["account"]')
	"$ISS" anon-deposit --db "${DB[identity]}" --account "$ACCT0" --amount $DEPOSIT >/dev/null
	"$ISS" anon-deposit --db "${DB[identity]}" --account "$ACCT1" --amount $DEPOSIT >/dev/null
	EXPECT_ISSUED=$((2 * DEPOSIT))
}

# pay I TO AMOUNT [MANAGER]: prints the CLI's JSON; rc in $rc
pay() {
	local m=${4:-}
	[ -z "$m" ] && { [ "$1" = 0 ] && m=am1 || m=am2; }
	out=$("$WK" --reader "$(reader "$1")" --json anon pay --manager "${URL[$m]}" \
		--to "$2" --amount "$3" 2>&1) && rc=0 || rc=$?
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		for n in identity am1 am2; do echo "--- $n.log"; tail -20 "$T/$n.log"; done
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
}
