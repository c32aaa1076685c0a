#!/bin/bash
# bench/audit/run.sh [N] [RUNS]: a sandbox card with N (default 10000) audit
# records and a wallet key, then bench/audit/audit_bench against it.
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
"$WK" key generate --slot 82 --alg eccp256 >/dev/null 2>&1
"$WALLETKEY_SANDBOX/bin/card-kill" 0 >/dev/null
start=$(date +%s.%N)
"$BUILD/bench/audit/audit_fill" "$WALLETKEY_STORE_0" "$WALLETKEY_SANDBOX/card0.key" "$N"
printf 'filling the log: %d records appended, one durable commit each, in %.1f s\n' \
	"$N" "$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.2f", a - b }')"
"$WALLETKEY_SANDBOX/bin/card-start" 0 >/dev/null
exec "$BUILD/bench/audit/audit_bench" "$WALLETKEY_READER_0" \
	"$(cat "$WALLETKEY_SANDBOX/card0.pid")" 123456 "$RUNS"
