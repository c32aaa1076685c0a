#!/bin/bash
# the narrated demo, run in a sandbox by "tools/bootstrap demo"; later issues
# add their chapters at the end (one function each, called from the list below)
set -euo pipefail

if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	exec "$(dirname "${BASH_SOURCE[0]}")/walletkey-sandbox" --cards 1 -- "$0" "$@"
fi

say() {
	if [ -t 1 ]; then
		printf '\n\033[1m# %s\033[0m\n' "$*"
	else
		printf '\n# %s\n' "$*"
	fi
}

run() {
	printf '$ %s\n' "$*"
	"$@"
}

chapter_card_on_the_wire() {
	say "A virtual walletkey card sits in a reader of a private pcscd (sandbox $WALLETKEY_SANDBOX)."
	say "Every PC/SC program sees it: here is OpenSC listing the readers."
	run opensc-tool -l
	say "Its ATR announces T=1 and the historical bytes \"WalletK1\"."
	run opensc-tool -r 0 -a
	say "The walletkey CLI lists readers, cards and the card serial."
	run walletkey readers
	run walletkey readers --json
	say "Raw APDUs: SELECT the card-information applet, then GET DATA for the serial."
	run walletkey apdu 00a4040007f0574b494e464f 00ca000100
	say "An unknown INS gets 6D00, an unknown application 6A82."
	run walletkey apdu 00a4040007f0574b494e464f 00ff0000 00a4040005a000000099
	say "A 300-byte answer comes in pieces: 61xx then GET RESPONSE (OpenSC does it for us)."
	run opensc-tool -r 0 -c default -s "00 A4 04 00 07 F0 57 4B 49 4E 46 4F" -s "00 EE 01 00 02 01 2C 00"
}

chapters=(
	chapter_card_on_the_wire
)

for c in "${chapters[@]}"; do
	"$c"
done
say "Done. Run 'tools/bootstrap test' for the whole suite."
