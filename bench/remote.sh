#!/bin/bash
# bench/remote.sh [N]: complete remote loads and card-to-card transfers per
# second through the CLI (each a whole `walletkey` run: PC/SC, the card's
# signatures, two HTTP round trips to a real walletkey-issuer on SQLite),
# with the median and p90 wall time. Prints figures; never fails on time.
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/../tests/e2e/remote_lib.sh"
N=${1:-20}
R0=$(reader 0)
R1=$(reader 1)
issuer_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll"
"$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 || die "enroll"

# times N runs of CMD...; prints runs/s, median and p90 in ms
measure() {
	local what=$1
	shift
	python3 - "$what" "$N" "$@" <<'PY'
import subprocess, sys, time
what, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t = []
start = time.monotonic()
for _ in range(n):
    a = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.append((time.monotonic() - a) * 1000)
total = time.monotonic() - start
t.sort()
print(f"{what:10s} {n:4d} runs  {n / total:6.1f}/s  median {t[len(t) // 2]:7.1f} ms  p90 {t[int(len(t) * 0.9) - 1]:7.1f} ms")
PY
}
measure load "$WK" --reader "$R0" wallet load --issuer "$URL" --amount 0.01 --yes
measure transfer "$WK" wallet transfer --from "$R0" --to "$R1" --amount 0.01 --yes

# one end-to-end load split by protocol step (medians of N loads, from the
# CLI's --json "steps_ms"): PIN, the card's signed request (INITIALIZE FOR
# LOAD + signature), the issuer's grant (checks + ledger transaction), the
# card's credit (grant signature, MAC2, CREDIT FOR LOAD, receipt), the
# issuer's close (receipt + TAC); the rest of the wall time is process
# start-up, PC/SC connect and the state file
for _ in $(seq "$N"); do
	"$WK" --json --reader "$R0" wallet load --issuer "$URL" --amount 0.01 --yes
done >"$T/steps.json" 2>/dev/null
python3 - "$T/steps.json" <<'PY'
import json, sys
rows = [json.loads(l)["steps_ms"] for l in open(sys.argv[1]) if l.strip()]
print(f"load steps, median of {len(rows)} loads (ms):")
for k in ("pin", "card_request", "issuer_grant", "card_credit", "issuer_close"):
    v = sorted(r[k] for r in rows)
    print(f"  {k:14s} {v[len(v) // 2]:7.2f}")
PY
conserved || die "money not conserved"
