#!/bin/bash
# the narrated demo, run in a sandbox by "tools/bootstrap demo"; later issues
# add their chapters at the end (one function each, called from the list below)
set -euo pipefail

if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	exec "$(dirname "${BASH_SOURCE[0]}")/walletkey-sandbox" --cards 3 -- "$0" "$@"
fi

say() {
	if [ -t 1 ]; then
		printf '\n\033[1m# %s\033[0m\n' "$*"
	else
		printf '\n# %s\n' "$*"
	fi
}

# the PKCS#11 module: from the build tree, else the installed one
WALLETKEY_P11_MODULE=${WALLETKEY_BUILD_DIR:-$(dirname "${BASH_SOURCE[0]}")/../build}/pkcs11/walletkey-pkcs11.so
[ -f "$WALLETKEY_P11_MODULE" ] || WALLETKEY_P11_MODULE=$(ls /usr/lib/*/pkcs11/walletkey-pkcs11.so 2>/dev/null | head -n 1)

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

chapter_piv() {
	local d=$WALLETKEY_SANDBOX/demo-piv
	mkdir -p "$d"
	export WALLETKEY_PIN=123456
	say "The card is also a PIV card: OpenSC names it, and walletkey shows its state."
	run opensc-tool -r 0 -n
	run walletkey status
	say "A P-256 key is generated inside the card (slot 9a); only the public key comes out."
	run walletkey key generate --slot 9a --alg eccp256 --out "$d/9a.pem"
	run cat "$d/9a.pem"
	say "A certificate for it, signed by the card itself, stored on the card."
	run walletkey cert selfsign --slot 9a --subject /CN=walletkey-demo --days 30 --import
	say "The card signs a file; openssl checks the signature with the public key."
	echo "pay 12.30 to the bakery" >"$d/msg.txt"
	run walletkey sign --slot 9a --in "$d/msg.txt" --hash sha256 --out "$d/msg.sig"
	run openssl dgst -sha256 -verify "$d/9a.pem" -signature "$d/msg.sig" "$d/msg.txt"
	say "Any PKCS#11 program sees the token through walletkey-pkcs11.so."
	run pkcs11-tool --module "$WALLETKEY_P11_MODULE" -L
	run pkcs11-tool --module "$WALLETKEY_P11_MODULE" -O
	say "A wrong PIN costs exactly one try, and says how many are left."
	run walletkey pin verify --pin 000000 || true
	run walletkey pin retries
	run walletkey pin verify
	unset WALLETKEY_PIN
}

chapter_wallet() {
	local d=$WALLETKEY_SANDBOX/demo-wallet hex
	mkdir -p "$d"
	hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
	say "The card carries a PBOC electronic purse, here with the demo keys (test keys only)."
	printf '{"dlk":"%s","dpk":"%s","dtk":"%s","dulk":"%s","duk":"%s"}\n' \
	    "$(hex WK-DEMO-DLK-0001)" "$(hex WK-DEMO-DPK-0001)" "$(hex WK-DEMO-DTK-0001)" \
	    "$(hex WK-DEMO-DULK-001)" "$(hex WK-DEMO-DUK-0001)" >"$d/master-keys.json"
	run walletkey wallet info
	say "A software SAM file holds the master keys and the terminal's counter: test keys only,"
	say "so it must be asked for by name (--insecure-master-keys). The next chapter does it right."
	run walletkey wallet sam-init --insecure-master-keys --master-keys "$d/master-keys.json" --terminal 000000000042 --out "$d/sam.json"
	say "Load 100.00 at the bank counter: MAC1 from the card, MAC2 from the SAM, TAC checked."
	WALLETKEY_PIN=123456 run walletkey wallet load --amount 100 --sam "$d/sam.json" --insecure-master-keys
	say "Buy something for 12.30: the card checks MAC1, answers MAC2 and TAC."
	run walletkey wallet purchase --amount 12.30 --terminal 000000000042 --sam "$d/sam.json" --insecure-master-keys
	run walletkey wallet balance
	say "The card's transaction records (the PIN guards them)."
	WALLETKEY_PIN=123456 run walletkey wallet records
	say "Too much: the card refuses with 9401 and nothing changes."
	run walletkey wallet purchase --amount 1000 --terminal 000000000042 --sam "$d/sam.json" --insecure-master-keys || true
	run walletkey wallet balance
}

chapter_attestation() {
	local d=$WALLETKEY_SANDBOX/demo-attest
	mkdir -p "$d"
	say "The card comes from a factory: the sandbox's manufacturer CA certified its attestation key (slot f9)."
	run walletkey cert export --slot f9 --out "$d/f9.pem"
	run openssl x509 -in "$d/f9.pem" -noout -subject -issuer
	say "The wallet key is generated in slot 82; the card attests that it made it there."
	run walletkey key generate --slot 82 --alg eccp256 --pin-policy never --out "$d/82.pub"
	run walletkey key attest --slot 82 --out "$d/82.att"
	say "An issuer enrols the key only if the chain holds: its manufacturer, this card, slot 82, generated."
	run walletkey-mfg verify --ca "$WALLETKEY_MFG_CA" --attestation "$d/82.att" --device "$d/f9.pem" --slot 82
	say "A key imported from the host is never attested (6A80, as on a YubiKey)."
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/host.key" 2>/dev/null
	run walletkey key import --slot 83 --in "$d/host.key"
	run walletkey key attest --slot 83 --out "$d/83.att" || true
}

# the bank's side: an issuer, the card enrolled and loaded remotely, and a
# terminal whose PSAM (the second card) holds the purchase key, not a file
chapter_bank() {
	local d=$WALLETKEY_SANDBOX/demo-bank iss port url pid r0 r1 i
	mkdir -p "$d"
	iss=${WALLETKEY_BUILD_DIR:-$(dirname "${BASH_SOURCE[0]}")/../build}/issuer/walletkey-issuer
	[ -x "$iss" ] || iss=$(command -v walletkey-issuer || true)
	if [ -z "$iss" ]; then
		say "(no walletkey-issuer here: the bank's chapter is skipped)"
		return 0
	fi
	# the first card holds the demo keys' value from the wallet chapter: a
	# card enrols only with an empty purse, so the bank's customer is the
	# third card
	r0=$WALLETKEY_READER_2
	r1=$WALLETKEY_READER_1
	export WALLETKEY_STATE_DIR=$d/state WALLETKEY_PIN=123456 WALLETKEY_ACCOUNT_PASSWORD=demo-password
	say "The bank: walletkey-issuer on SQLite, one account with 500.00 deposited."
	run "$iss" init --db "sqlite:$d/issuer.db" --key-file "$d/issuer.key" \
	    --manufacturer-ca "$WALLETKEY_MFG_CA"
	run "$iss" account-create --db "sqlite:$d/issuer.db" --pan 6222000000000001 --name Alice \
	    --password-env WALLETKEY_ACCOUNT_PASSWORD
	run "$iss" deposit --db "sqlite:$d/issuer.db" --pan 6222000000000001 --amount 50000
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	url=http://127.0.0.1:$port
	"$iss" serve --db "sqlite:$d/issuer.db" --key-file "$d/issuer.key" --listen "127.0.0.1:$port" >"$d/issuer.log" 2>&1 &
	pid=$!
	for i in $(seq 50); do curl -fs "$url/v1/health" >/dev/null && break; sleep 0.1; done
	say "The card enrols (a wallet key made on the card, the bank's purse keys sealed to it) and loads 50.00 remotely."
	run walletkey --reader "$r0" enroll --issuer "$url" --account 6222000000000001
	run walletkey --reader "$r0" wallet load --issuer "$url" --amount 50 --yes
	say "The shop's terminal gets a PSAM: the second card makes a key, the bank seals its purchase key to it."
	say "No master key is ever written to a file; 'sam-keys' is gone."
	run "$iss" merchant-create --db "sqlite:$d/issuer.db" --terminal 000000000042 --name Bakery
	run walletkey --reader "$r1" psam init --issuer "$url" --out "$d/psam-request.json"
	run "$iss" psam-issue --db "sqlite:$d/issuer.db" --key-file "$d/issuer.key" \
	    --terminal 000000000042 --request "$d/psam-request.json" --out "$d/psam-keys.json"
	run walletkey --reader "$r1" psam install "$d/psam-keys.json"
	say "A purchase: the PSAM computes MAC1 and checks the card's MAC2; the bank checks the TAC when settling."
	run walletkey --reader "$r0" wallet purchase --amount 12.30 --psam "$r1" --journal "$d/terminal.json"
	run walletkey wallet settle --issuer "$url" --journal "$d/terminal.json"
	say "The bank pays the bakery from this card's own float: what the bank put into the card, never more."
	run "$iss" merchants --db "sqlite:$d/issuer.db"
	run "$iss" cards --db "sqlite:$d/issuer.db"
	# the holder's chapter goes on with this bank and this card
	BANK_ISS=$iss BANK_DIR=$d BANK_URL=$url BANK_PID=$pid BANK_READER=$r0
	unset WALLETKEY_STATE_DIR WALLETKEY_PIN WALLETKEY_ACCOUNT_PASSWORD
}

stop_bank() {
	[ -n "${BANK_PID:-}" ] || return 0
	kill "$BANK_PID" 2>/dev/null || true
	wait "$BANK_PID" 2>/dev/null || true
	BANK_PID=
}
trap stop_bank EXIT

# the holder's key, whole (docs/holder.md): a name, the purse PIN's life,
# the bank's records and the key's signatures in its log, the panel
chapter_holder() {
	local r0=${BANK_READER:-$WALLETKEY_READER_0} d=$WALLETKEY_SANDBOX/demo-holder
	mkdir -p "$d"
	say "The holder's key, whole (docs/holder.md). It keeps a name of its own, which 'walletkey readers' shows."
	run walletkey --reader "$r0" label "Alice's key"
	run walletkey readers
	say "The purse PIN has a life: the holder changes it (old and new PIN), and back."
	echo 123456 >"$d/pin-old"
	echo 24681357 >"$d/pin-new"
	run walletkey --reader "$r0" wallet pin change --pin-file "$d/pin-old" --new-pin-file "$d/pin-new"
	run walletkey --reader "$r0" wallet pin change --pin-file "$d/pin-new" --new-pin-file "$d/pin-old"
	run walletkey --reader "$r0" wallet pin status
	if [ -z "${BANK_URL:-}" ]; then
		say "(no bank here: the history's chapter is skipped)"
		return 0
	fi
	export WALLETKEY_STATE_DIR=$BANK_DIR/state WALLETKEY_PIN=123456
	say "The bank's records: a deposit into Alice's account, made at the counter, reaches the key at its next sync,"
	say "signed by the bank, checked by the card against the key it enrolled with, and chained into its log."
	run "$BANK_ISS" deposit --db "sqlite:$BANK_DIR/issuer.db" --pan 6222000000000001 --amount 2000
	run walletkey --reader "$r0" audit sync --issuer "$BANK_URL"
	say "Everything the key authenticates is logged too: a signature with the 9C key is a record of the log."
	printf 'pay 20.00 to the bakery\n' >"$d/order.txt"
	run walletkey --reader "$r0" key generate --slot 9c --alg eccp256
	run walletkey --reader "$r0" sign --slot 9c --in "$d/order.txt" --out "$d/order.sig"
	say "One statement of both kinds; the last column says who made each record."
	run walletkey --reader "$r0" audit export --format table
	run walletkey --reader "$r0" audit export --origin issuer --format csv
	# the panel's pages: from the source tree, else the installed ones
	[ -f "$(dirname "${BASH_SOURCE[0]}")/ui/index.html" ] &&
		export WALLETKEY_UI_DIR=${WALLETKEY_UI_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/ui" && pwd)}
	say "The control panel: 'walletkey ui' serves it on 127.0.0.1 with a one-time link, and opens the browser"
	say "('walletkey watch' does it when the key is plugged in). Here without a browser, for two idle seconds:"
	run walletkey --reader "$r0" ui --no-browser --idle-exit 2
	unset WALLETKEY_STATE_DIR WALLETKEY_PIN WALLETKEY_UI_DIR
	stop_bank
}

chapters=(
	chapter_card_on_the_wire
	chapter_piv
	chapter_wallet
	chapter_attestation
	chapter_bank
	chapter_holder
)

for c in "${chapters[@]}"; do
	"$c"
done
say "Done. Run 'tools/bootstrap test' for the whole suite."
