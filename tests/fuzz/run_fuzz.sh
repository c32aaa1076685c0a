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
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
# libFuzzer's own exit code on a finding is 77, which meson takes for
# "skipped": a finding must fail the test
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -artifact_prefix="$artifacts/" "$work"
