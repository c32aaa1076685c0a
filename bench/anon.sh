#!/bin/bash
# bench/anon.sh [N]: semi-anonymous payments per second through the three
# parties (identity authority, two account managers, SQLite) and two cards,
# each a whole `walletkey anon pay` run, with the median split per party:
# the card (PIN, request built and signed on the card), the payer's
# manager, the authority, the payee's manager. Prints; never fails on time.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/../tests/e2e/anon_lib.sh"
N=${1:-20}
anon_setup
enrol_cards >/dev/null
: >"$T/runs.json"
start=$(date +%s.%N)
for i in $(seq "$N"); do
	if [ $((i % 2)) = 0 ]; then pay 0 "$ACCT1" 1; else pay 1 "$ACCT0" 1; fi
	[ "$rc" -eq 0 ] || die "payment $i: $out"
	echo "$out" >>"$T/runs.json"
done
end=$(date +%s.%N)
python3 - "$T/runs.json" "$N" "$start" "$end" <<'PY'
import json, statistics, sys
runs = [json.loads(l)["timing"] for l in open(sys.argv[1]) if l.strip()]
n, t = int(sys.argv[2]), float(sys.argv[4]) - float(sys.argv[3])
print(f"anon payments: {n} in {t:.2f} s: {n / t:.1f} payments/s (whole CLI runs)")
for k in ("card_ms", "manager_ms", "authority_ms", "payee_manager_ms", "total_ms"):
    v = sorted(r[k] for r in runs)
    print(f"  {k[:-3]:<16} median {statistics.median(v):8.2f} ms   p90 {v[int(0.9 * (len(v) - 1))]:8.2f} ms")
PY
books "after the benchmark" >/dev/null
