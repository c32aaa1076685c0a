#!/bin/bash
# opensc-tool -s: an unknown AID gets 6A82, an unknown INS 6D00 once wkinfo is selected
. "$(dirname "$0")/lib.sh"

out=$(opensc-tool -r 0 -s "00 A4 04 00 05 A0 00 00 00 99")
echo "$out"
grep -q 'SW1=0x6A, SW2=0x82' <<<"$out" || fail "unknown AID: want 6A82"

out=$(opensc-tool -r 0 -c default -s "00 A4 04 00 07 F0 57 4B 49 4E 46 4F" -s "00 7F 00 00")
echo "$out"
grep -q 'SW1=0x90, SW2=0x00' <<<"$out" || fail "SELECT wkinfo: want 9000"
grep -q 'SW1=0x6D, SW2=0x00' <<<"$out" || fail "unknown INS: want 6D00"
