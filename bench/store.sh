#!/bin/bash
# bench/store.sh: what the card store costs per APDU (bench/store.c: a
# read-only GET BALANCE and INITIALIZE FOR PURCHASE, a state-changing DEBIT
# FOR PURCHASE that commits), in-process on a real store file, this tree
# against an older one: by default the last commit whose store was format 1
# (values in clear, no start-up check), built from git in a scratch directory
# with the same bench source. Medians of RUNS runs of N; never fails on time.
#   bench/store.sh [--baseline REV | --no-baseline] [RUNS] [N]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${WALLETKEY_BUILD_DIR:-$root/build}
baseline=auto
if [ "${1:-}" = --baseline ]; then
	baseline=$2
	shift 2
elif [ "${1:-}" = --no-baseline ]; then
	baseline=
	shift
fi
runs=${1:-5}
n=${2:-200}

work=$(mktemp -d "${TMPDIR:-/tmp}/walletkey-bench-store.XXXXXX")
trap 'rm -rf "$work"' EXIT

[ -x "$build/bench/store_bench" ] ||
	{ echo "bench/store: build $build/bench/store_bench first" >&2; exit 1; }
mkdir "$work/now"
"$build/bench/store_bench" "$work/now" "$runs" "$n" >"$work/now.txt"

if [ "$baseline" = auto ]; then
	# the parent of the commit that made the store format 2
	first=$(git -C "$root" log --format=%H -S'#define STORE_VERSION 2' \
		-- vcard/vc_store_int.h 2>/dev/null | tail -n 1 || true)
	baseline=${first:+$first^}
fi
if [ -n "$baseline" ] && rev=$(git -C "$root" rev-parse --short "$baseline" 2>/dev/null); then
	echo "bench/store: building the baseline $rev (vcard and common only) ..." >&2
	mkdir "$work/src" "$work/then"
	git -C "$root" archive "$rev" | tar -x -C "$work/src"
	cp "$here/store.c" "$work/src/bench/store.c"
	cat >>"$work/src/bench/meson.build" <<'EOF'
executable('store_bench', 'store.c', dependencies : [vcard_testable_dep])
EOF
	(meson setup "$work/build" "$work/src" >"$work/setup.log" 2>&1 &&
		meson compile -C "$work/build" bench/store_bench >"$work/compile.log" 2>&1) ||
		{ tail -n 20 "$work/setup.log" "$work/compile.log" >&2; echo "bench/store: the baseline did not build" >&2; exit 1; }
	"$work/build/bench/store_bench" "$work/then" "$runs" "$n" >"$work/then.txt"
else
	rev=
fi

echo "microseconds per APDU, in-process on a store file (synchronous=FULL), median of $runs runs of $n ($(nproc) cores)"
if [ -n "$rev" ]; then
	paste "$work/now.txt" "$work/then.txt" | awk -F '\t' -v rev="$rev" '
		BEGIN { printf "%-40s %12s %12s %10s\n", "APDU", "sealed", "plain " rev, "cost" }
		{ printf "%-40s %12.1f %12.1f %+10.1f\n", $1, $2, $4, $2 - $4 }'
else
	awk -F '\t' 'BEGIN { printf "%-40s %12s\n", "APDU", "sealed" }
		{ printf "%-40s %12.1f\n", $1, $2 }' "$work/now.txt"
fi
