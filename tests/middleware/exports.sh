#!/bin/bash
# libwalletkey exports exactly the functions walletkey.h declares (in its
# parts, walletkey/*.h, the headers given after the library): an internal
# function exported, or a public one missing, fails (regenerate the version
# script with tools/gen-libwalletkey-map after changing the header)
set -euo pipefail
lib=$1
shift
declared=$(grep -vhE '^[[:space:]]*(/?\*)' "$@" | grep -oE '\bwk_[a-z0-9_]+\(' | sed -E 's/\($//' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u)
extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
status=0
if [ -n "$extra" ]; then
	echo "exported but not in walletkey.h:" $extra >&2
	status=1
fi
if [ -n "$missing" ]; then
	echo "declared in walletkey.h but not exported:" $missing >&2
	status=1
fi
[ "$status" -eq 0 ] && echo "libwalletkey exports $(echo "$exported" | wc -l) functions, all of walletkey.h"
exit "$status"
