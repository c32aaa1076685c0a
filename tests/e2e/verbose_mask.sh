#!/bin/bash
# walletkey-card --verbose with a real client's real trace: yubico-piv-tool
# writes the printed information object (5FC109, PIN-protected; Yubico keeps
# the PIN-protected management key there) in chained short APDUs and reads
# it back through GET DATA and GET RESPONSE. No byte of it shows in the
# card's trace, in any fragment either way; the same bytes written to an
# object anyone may read do show (the trace works). Runs in the sandbox with
# --card-args --verbose.
. "$(dirname "$0")/lib.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
log=$WALLETKEY_SANDBOX/card0.log
Y() { yubico-piv-tool -r "$WALLETKEY_READER_0" "$@"; }

# 700 bytes: three fragments of 255 on the way in, 61xx on the way out
python3 -c 'import sys; sys.stdout.buffer.write(bytes([0xA5, 0x5A, 0xC3, 0x3C]) * 175)' >"$T/printed"
Y -a verify-pin -P 123456 -a write-object --id 0x5fc109 --format binary \
	-i "$T/printed" >/dev/null 2>&1 || fail "write-object 5FC109"
Y -a verify-pin -P 123456 -a read-object --id 0x5fc109 --format binary \
	-o "$T/back" >/dev/null 2>&1 || fail "read-object 5FC109"
cmp -s "$T/printed" "$T/back" || fail "5FC109 did not come back the same"
grep_q -F "card <" "$log" || fail "the card is not tracing (--card-args --verbose)"

grep_q -E "card < \([0-9]+\) 10 DB 3F FF" "$log" || fail "no chained PUT DATA in the trace"
grep_q -E "card < \([0-9]+\) 00 CB 3F FF 05 5C 03 5F C1 09" "$log" ||
	fail "no GET DATA of 5FC109 in the trace"
grep_q -E "card > \([0-9]+\) [* ]+ 61 " "$log" || fail "no masked 61xx answer in the trace"
for pat in "A5 5A C3 3C" "5A C3 3C A5" "C3 3C A5 5A" "3C A5 5A C3"; do
	grep_q -F "$pat" "$log" && fail "printed information in the trace: $(grep -F "$pat" "$log" | head -n 2)"
done

# a private data object of the holder's (5FFF30..3F, walletkey's): the same
python3 -c 'import sys; sys.stdout.buffer.write(bytes([0xB0, 0x0B, 0xD3, 0x3D]) * 100)' >"$T/private"
Y -a verify-pin -P 123456 -a write-object --id 0x5fff30 --format binary \
	-i "$T/private" >/dev/null 2>&1 || fail "write-object 5FFF30"
Y -a verify-pin -P 123456 -a read-object --id 0x5fff30 --format binary \
	-o "$T/back" >/dev/null 2>&1 || fail "read-object 5FFF30"
cmp -s "$T/private" "$T/back" || fail "5FFF30 did not come back the same"
for pat in "B0 0B D3 3D" "0B D3 3D B0" "D3 3D B0 0B" "3D B0 0B D3"; do
	grep_q -F "$pat" "$log" && fail "a private data object in the trace"
done

# the same bytes in an object anyone may read are traced
python3 -c 'import sys; sys.stdout.buffer.write(bytes([0xA5, 0x5A, 0xC3, 0x3C]) * 10)' >"$T/open"
Y -a write-object --id 0x5fc10e --format binary -i "$T/open" >/dev/null 2>&1 ||
	fail "write-object 5FC10E"
Y -a read-object --id 0x5fc10e --format binary -o "$T/back" >/dev/null 2>&1 ||
	fail "read-object 5FC10E"
grep_q -F "A5 5A C3 3C" "$log" || fail "the control object is not in the trace"
echo "verbose_mask: ok"
