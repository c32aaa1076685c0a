#!/bin/sh
# runs a libFuzzer target for SECONDS on a scratch copy of its seed corpus
# (the source tree is never written); findings go to ARTIFACTS
# usage: run_fuzz.sh FUZZER CORPUS SECONDS ARTIFACTS
set -eu
fuzzer=$1 corpus=$2 seconds=$3 artifacts=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/walletkey-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$corpus/." "$work/"
mkdir -p "$artifacts"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
# libFuzzer's own exit code on a finding is 77, which meson takes for
# "skipped": a finding fails the test. A finding is a file in $artifacts;
# one that the target does not reproduce when it runs that input alone
# depends on what earlier inputs left in the target's state: reported,
# kept, and not a failure of this run (the target's harness must be fixed
# to reset that state)
rc=0
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -artifact_prefix="$artifacts/" "$work" || rc=$?
[ "$rc" -ne 0 ] || exit 0
found=false
for f in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* \
    "$artifacts"/oom-*; do
	[ -f "$f" ] || continue
	found=true
	if "$fuzzer" -error_exitcode=1 -timeout_exitcode=1 "$f" >/dev/null 2>&1; then
		echo "run_fuzz: $f does not reproduce alone (state left by earlier inputs); kept" >&2
	else
		echo "run_fuzz: $f reproduces" >&2
		exit 1
	fi
done
# no input reproduces alone, or none was written (the run itself failed)
$found || exit "$rc"
exit 0
