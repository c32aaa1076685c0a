#!/bin/bash
# bench/audit/sync.sh [N] [RUNS]: walletkey audit sync of N (default 10000)
# records from an enrolled sandbox card into a real walletkey-issuer
# (SQLite), RUNS times (the issuer forgets the card's records between
# runs), then the export bench on the same card for the transport's share.
# Prints the median split: card commands (card work and PC/SC transport),
# issuer calls (HTTP on loopback and the issuer's work: open, check, store),
# host (the CLI: PIN, hex, JSON).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${WALLETKEY_BUILD_DIR:-$SRC/build}" && pwd)
export WALLETKEY_BUILD_DIR=$BUILD
N=${1:-10000}
RUNS=${2:-3}

if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	exec "$SRC/tools/walletkey-sandbox" --cards 1 -- "$0" "$N" "$RUNS"
fi
WK=$BUILD/tools/walletkey
ISS=$BUILD/issuer/walletkey-issuer
T=$(mktemp -d "${TMPDIR:-/tmp}/wk-sync-bench.XXXXXX")
ISS_PID=""
trap '[ -n "$ISS_PID" ] && kill "$ISS_PID" 2>/dev/null; rm -rf "$T"' EXIT
export WALLETKEY_STATE_DIR=$T/state WALLETKEY_ACCOUNT_PASSWORD=bench-password WALLETKEY_PIN=123456
DB=sqlite:$T/issuer.db
PAN=6222000000000001
"$ISS" init --db "$DB" --key-file "$T/issuer.key" \
	--manufacturer-ca "$WALLETKEY_MFG_CA" >/dev/null
"$ISS" account-create --db "$DB" --pan $PAN --name Bench \
	--password-env WALLETKEY_ACCOUNT_PASSWORD >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
"$ISS" serve --db "$DB" --key-file "$T/issuer.key" --listen "127.0.0.1:$PORT" >"$T/issuer.log" 2>&1 &
ISS_PID=$!
for _ in $(seq 100); do curl -fsS "$URL/v1/health" >/dev/null 2>&1 && break; sleep 0.1; done
"$WK" enroll --issuer "$URL" --account $PAN >/dev/null 2>&1 || { echo "enroll failed" >&2; exit 1; }
"$WALLETKEY_SANDBOX/bin/card-kill" 0 >/dev/null
"$BUILD/bench/audit/audit_fill" "$WALLETKEY_STORE_0" "$WALLETKEY_SANDBOX/card0.key" "$N"
"$WALLETKEY_SANDBOX/bin/card-start" 0 >/dev/null
ID=$("$WK" --json readers | jq -r '.readers[0].serial')

for ((i = 0; i < RUNS; i++)); do
	python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM audit_records"); c.execute("DELETE FROM audit_acks"); c.commit()' "$T/issuer.db"
	"$WK" --json audit sync --issuer "$URL" >"$T/run$i.json"
	[ "$(jq .uploaded "$T/run$i.json")" = "$N" ] || { echo "sync: not all uploaded" >&2; cat "$T/run$i.json" >&2; exit 1; }
done
jq -s -r --arg n "$N" --arg id "$ID" '
	def med: sort | .[length / 2 | floor];
	(map(.timing_ms.total) | med) as $t | (map(.timing_ms.card) | med) as $c |
	(map(.timing_ms.issuer) | med) as $i |
	"audit sync of \($n) records into the issuer (card \($id), median of \(length)):",
	"  sync total          \($t * 10 | round / 10) ms",
	"    card commands     \($c * 10 | round / 10) ms  (GET PAGE sealed to the issuer, ACKNOWLEDGE: card work + transport)",
	"    issuer calls      \($i * 10 | round / 10) ms  (HTTP on loopback; open, chain check, store: \($n) rows)",
	"    host              \(($t - $c - $i) * 10 | round / 10) ms  (PIN, signed head, hex and JSON)"' "$T"/run*.json
echo "the transport's share of the card commands: the export's 'transport' line below (same pages)"
"$BUILD/bench/audit/audit_bench" "$WALLETKEY_READER_0" "$(cat "$WALLETKEY_SANDBOX/card0.pid")" 123456 1 | grep -E "export of|transport|card  "
