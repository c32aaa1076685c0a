#!/bin/bash
# a 300-byte answer arrives through 61xx and GET RESPONSE (opensc-tool fetches it)
# -c default: OpenSC's PIV driver re-selects PIV whenever it takes the card lock,
# so between two -s commands the wkinfo applet would be deselected
. "$(dirname "$0")/lib.sh"

out=$(opensc-tool -r 0 -c default -s "00 A4 04 00 07 F0 57 4B 49 4E 46 4F" -s "00 EE 01 00 02 01 2C 00")
echo "$out"
# the hex dump of the second answer: 16 bytes a line, before the ASCII column
data=$(echo "$out" | sed -n '/Sending: 00 EE/,$p' | sed -n '3,$p' | cut -c1-47 | tr -d ' \n')
expect_eq "bytes received" "$((${#data} / 2))" 300
want=$( (for i in $(seq 0 299); do printf '%02X' $((i & 255)); done))
expect_eq "PATTERN data" "$data" "$want"
echo "$out" | sed -n '/Sending: 00 EE/,$p' | grep_q 'SW1=0x90, SW2=0x00' ||
	fail "PATTERN: want 9000 after GET RESPONSE"
