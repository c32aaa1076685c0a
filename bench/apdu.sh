#!/bin/bash
# bench/apdu.sh: microseconds per APDU through pcscd + vpcd, on a walletkey
# card and on walletkey-echo-card (the transport's floor), with the ratio.
# Prints figures; never fails on time.
#   bench/apdu.sh [ITERATIONS]
set -euo pipefail
# grep -q stops reading at the first match; under pipefail the writer then
# dies of SIGPIPE and the pipeline fails at random: read everything instead
grep_q() { grep "$@" >/dev/null; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	exec "$here/../tools/walletkey-sandbox" --cards 1 --empty 1 -- "$here/apdu.sh" "$@"
fi
iterations=${1:-2000}

walletkey-echo-card --vpcd "127.0.0.1:$WALLETKEY_VPCD_PORT_1" >"$WALLETKEY_SANDBOX/echo.log" 2>&1 &
echo_pid=$!
trap 'kill "$echo_pid" 2>/dev/null; wait "$echo_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	opensc-tool -l 2>/dev/null | grep -F -- "$WALLETKEY_READER_1" | grep_q -E '^[0-9]+ +Yes' && break
	sleep 0.1
done

ours=$(walletkey-apdu-bench "$WALLETKEY_READER_0" "$iterations")
floor=$(walletkey-apdu-bench "$WALLETKEY_READER_1" "$iterations")

echo "microseconds per APDU through pcscd + vpcd ($(nproc) cores)"
paste <(echo "$ours") <(echo "$floor") | awk -F '\t' '
	BEGIN {
		printf "%-32s %10s %10s %10s %10s %7s %6s\n", "case", "median", "p99",
		    "floor med", "floor p99", "ratio", "n"
	}
	{
		printf "%-32s %10.1f %10.1f %10.1f %10.1f %7.2f %6d\n", $1, $2, $3,
		    $6, $7, ($6 > 0 ? $2 / $6 : 0), $4
	}'
echo "ratio = our median / the echo card's median"
