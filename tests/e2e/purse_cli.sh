#!/bin/bash
# end-to-end: personalise a card with known keys (walletkey perso, then
# walletkey-card --init --perso), then load, purchase, balance, records and
# prove through the CLI; bad input gets a clear error and changes nothing.
# With PURSE_ALG=sm4 (the test purse_cli_sm4) every key is an SM4 key.
. "$(dirname "$0")/purse_lib.sh"

if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	write_master_keys "$T/mk.json"
	"$WK" perso --master-keys "$T/mk.json" --pan "$PAN" --name "TEST HOLDER" \
		--out "$T/perso.json" >/dev/null
	set +e
	"$SANDBOX" --cards 1 --init-args "--perso $T/perso.json" -- "$0" "$T"
	rc=$?
	exit $rc
fi

T=$1
R=$WALLETKEY_READER_0
unset WALLETKEY_PIN

state() {
	# balance + records, the whole observable state
	local b r
	b=$("$WK" --reader "$R" --json wallet balance)
	r=$(WALLETKEY_PIN=$PIN "$WK" --reader "$R" --json wallet records)
	echo "$b $r"
}

# perso refuses to overwrite and rejects bad input
run perso --master-keys "$T/mk.json" --pan "$PAN" --out "$T/perso.json"
check "perso never overwrites a profile" '[ "$RC" -eq 1 ]'
run perso --master-keys "$T/mk.json" --pan 12AB --out "$T/p2.json"
check "perso rejects a PAN with letters (exit 2)" '[ "$RC" -eq 2 ] && [ ! -e "$T/p2.json" ]'
run perso --master-keys "$T/mk.json" --pan "$PAN" --pin 12 --out "$T/p2.json"
check "perso rejects a 2-digit PIN" '[ "$RC" -eq 2 ] && [ ! -e "$T/p2.json" ]'
echo '{"dlk": "00"}' >"$T/badmk.json"
run perso --master-keys "$T/badmk.json" --pan "$PAN" --out "$T/p2.json"
check "perso rejects a bad master-key file" '[ "$RC" -eq 1 ] && [ ! -e "$T/p2.json" ]'

# the card
run --reader "$R" --json wallet info
check "wallet info: serial from the PAN" '[ "$RC" -eq 0 ] && [ "$(json_get "$OUT" serial)" = "$SERIAL" ]'
check "wallet info: holder name" '[ "$(json_get "$OUT" holder.name)" = "TEST HOLDER" ]'
run --reader "$R" wallet info
check "wallet info (text)" '[ "$RC" -eq 0 ] && grep -q "serial: *$SERIAL" <<<"$OUT"'

# SAM
run wallet sam-init --insecure-master-keys --master-keys "$T/mk.json" --terminal 000000000042 --out "$T/sam.json"
check "sam-init" '[ "$RC" -eq 0 ] && [ -f "$T/sam.json" ]'
check "the SAM file is private (0600)" '[ "$(stat -c %a "$T/sam.json")" = 600 ]'
run wallet sam-init --insecure-master-keys --master-keys "$T/mk.json" --terminal 000000000042 --out "$T/sam.json"
check "sam-init never overwrites a SAM" '[ "$RC" -eq 1 ] && grep -q "never" <<<"$ERR"'
run wallet sam-init --insecure-master-keys --master-keys "$T/mk.json" --terminal 42 --out "$T/sam2.json"
check "sam-init rejects a short terminal id" '[ "$RC" -eq 2 ] && [ ! -e "$T/sam2.json" ]'

run wallet sam-init --master-keys "$T/mk.json" --terminal 000000000042 --out "$T/sam3.json"
check "sam-init needs --insecure-master-keys (it writes master keys)" '[ "$RC" -eq 2 ] && [ ! -e "$T/sam3.json" ] && grep -q insecure-master-keys <<<"$ERR"'

run --reader "$R" wallet balance
check "balance starts at 0.00" '[ "$RC" -eq 0 ] && [ "$OUT" = "EP balance: 0.00" ]'
S0=$(state)
# a SAM file (master keys) is used only when asked for by name
run --reader "$R" wallet load --amount 100 --sam "$T/sam.json" --pin-file "$T/pin"
check "a load with a SAM file needs --insecure-master-keys" '[ "$RC" -eq 2 ] && grep -q insecure-master-keys <<<"$ERR" && [ "$(state)" = "$S0" ]'
run --reader "$R" wallet purchase --amount 1 --sam "$T/sam.json"
check "a purchase with a SAM file needs --insecure-master-keys" '[ "$RC" -eq 2 ] && [ "$(state)" = "$S0" ]'

# a load needs the PIN: none available -> clear error, nothing changed
run --reader "$R" wallet load --amount 100 --sam "$T/sam.json" --insecure-master-keys </dev/null
check "load without a PIN fails clearly" '[ "$RC" -eq 1 ] && grep -q "PIN" <<<"$ERR"'
check "  and changes nothing" '[ "$(state)" = "$S0" ]'

echo 999999 >"$T/wrongpin"
run --reader "$R" wallet load --amount 100 --sam "$T/sam.json" --insecure-master-keys --pin-file "$T/wrongpin"
check "load with a wrong PIN: tries left" '[ "$RC" -eq 1 ] && grep -q "2 tries left" <<<"$ERR"'
check "  and changes nothing" '[ "$(state)" = "$S0" ]'

echo "$PIN" >"$T/pin"
run --reader "$R" wallet load --amount 100 --sam "$T/sam.json" --insecure-master-keys --pin-file "$T/pin"
check "load 100 with --pin-file" '[ "$RC" -eq 0 ] && grep -q "load of 100.00: done" <<<"$OUT"'
check "  the card's load key named" 'grep -qx "keys:     $( [ "$PURSE_ALG" = sm4 ] && echo SM4 || echo 3DES)" <<<"$OUT"'
run --reader "$R" --json wallet balance
check "balance 100.00" '[ "$(json_get "$OUT" balance_fen)" = 10000 ]'

run --reader "$R" --json wallet purchase --amount 12.30 --terminal 000000000042 --sam "$T/sam.json" --insecure-master-keys
check "purchase 12.30 (no PIN for EP)" '[ "$RC" -eq 0 ] && [ "$(json_get "$OUT" outcome)" = done ]'
check "  terminal transaction number 1" '[ "$(json_get "$OUT" term_seq)" = 00000001 ]'
check "  with the card's $PURSE_ALG purchase key" '[ "$(json_get "$OUT" key_algorithm)" = "$PURSE_ALG" ]'
check "  the SAM counter is durable" '[ "$(sam_counter)" = 1 ]'
run --reader "$R" wallet balance
check "balance 87.70" '[ "$OUT" = "EP balance: 87.70" ]'

WALLETKEY_PIN=$PIN run --reader "$R" --json wallet load --amount 0.05 --sam "$T/sam.json" --insecure-master-keys
check "load 0.05 with WALLETKEY_PIN" '[ "$RC" -eq 0 ] && [ "$(json_get "$OUT" balance_fen)" = 8775 ]'

# records
WALLETKEY_PIN=$PIN run --reader "$R" --json wallet records
check "three records" '[ "$RC" -eq 0 ] && [ "$(json_get "$OUT" records.#)" = 3 ]'
check "  newest: the load of 5 fen" '[ "$(json_get "$OUT" records.0.amount_fen)" = 5 ] && [ "$(json_get "$OUT" records.0.type)" = 2 ] && [ "$(json_get "$OUT" records.0.seq)" = 2 ]'
check "  then the purchase" '[ "$(json_get "$OUT" records.1.amount_fen)" = 1230 ] && [ "$(json_get "$OUT" records.1.type)" = 6 ] && [ "$(json_get "$OUT" records.1.terminal)" = 000000000042 ] && [ "$(json_get "$OUT" records.1.seq)" = 1 ]'
check "  then the first load" '[ "$(json_get "$OUT" records.2.amount_fen)" = 10000 ] && [ "$(json_get "$OUT" records.2.seq)" = 1 ]'
WALLETKEY_PIN=$PIN run --reader "$R" wallet records
check "records table" '[ "$RC" -eq 0 ] && head -1 <<<"$OUT" | grep_q "TIME.*TYPE.*AMOUNT.*TERMINAL.*SEQ" && grep -q "EP purchase *12.30 *000000000042 *1" <<<"$OUT"'

# prove
run --reader "$R" --json wallet prove --sam "$T/sam.json" --insecure-master-keys
check "prove the SAM's last transaction (the load)" '[ "$RC" -eq 0 ] && grep -q "TAC verified" <<<"$(json_get "$OUT" outcome)"'
run --reader "$R" wallet prove --type load --seq 1
check "prove --type load --seq 1 prints MAC and TAC" '[ "$RC" -eq 0 ] && grep -q "MAC [0-9a-f]\{8\} TAC [0-9a-f]\{8\}" <<<"$OUT"'
run --reader "$R" wallet prove --type purchase --seq 9
check "prove of a purchase that never was: not found" '[ "$RC" -eq 1 ]'

# bad input: usage errors, nothing sent, nothing changed
S1=$(state)
C1=$(sam_counter)
for a in 12.345 -1 0 0.00 99999999999 42949672.96 abc 1e3 .5 5. ""; do
	run --reader "$R" wallet purchase --amount "$a" --sam "$T/sam.json" --insecure-master-keys
	check "amount '$a' rejected (exit 2)" '[ "$RC" -eq 2 ]'
done
run --reader "$R" wallet purchase --amount 1 --terminal 000000000043 --sam "$T/sam.json" --insecure-master-keys
check "a SAM of another terminal is refused" '[ "$RC" -eq 2 ] && grep -q "belongs to terminal 000000000042" <<<"$ERR"'
run --reader "$R" wallet purchase --amount 1 --sam "$T/missing.json" --insecure-master-keys
check "a missing SAM file is a clear error" '[ "$RC" -eq 1 ] && grep -q "missing.json" <<<"$ERR"'
run --reader "$R" wallet purchase --amount 1000 --sam "$T/sam.json" --insecure-master-keys
check "purchase above the balance: insufficient funds" '[ "$RC" -eq 1 ] && grep -q "insufficient" <<<"$ERR"'
run --reader "$R" wallet bogus
check "unknown subcommand (exit 2)" '[ "$RC" -eq 2 ]'
run --reader "$R" wallet balance --frobnicate
check "unknown option (exit 2)" '[ "$RC" -eq 2 ]'
check "none of it changed the card" '[ "$(state)" = "$S1" ]'
check "none of it used a terminal number" '[ "$(sam_counter)" = "$C1" ]'

# a SAM whose masters make keys of the other algorithm: the SAM refuses the
# card (its INITIALIZE names its key's algorithm) before it uses a number
other=sm4
[ "$PURSE_ALG" = sm4 ] && other=3des
sed "s/\"$PURSE_ALG\"/\"$other\"/g" "$T/mk.json" >"$T/mk-alg.json"
run wallet sam-init --insecure-master-keys --master-keys "$T/mk-alg.json" --terminal 000000000077 --out "$T/sam-alg.json"
check "a SAM of the other algorithm" '[ "$RC" -eq 0 ] && grep -q "\"dpk\": \"$other\"" "$T/sam-alg.json"'
C2=$(sam_counter "$T/sam-alg.json")
run --reader "$R" wallet purchase --amount 1 --sam "$T/sam-alg.json" --insecure-master-keys
check "purchase through it: refused, the card's key is not one it makes" '[ "$RC" -eq 1 ] && grep -qi "key" <<<"$ERR"'
check "  no terminal number used" '[ "$(sam_counter "$T/sam-alg.json")" = "$C2" ]'
WALLETKEY_PIN=$PIN run --reader "$R" wallet load --amount 1 --sam "$T/sam-alg.json" --insecure-master-keys
check "load through it: refused" '[ "$RC" -eq 1 ] && grep -qi "key" <<<"$ERR"'
check "  and nothing changed" '[ "$(state)" = "$S1" ]'

# a SAM with other master keys: the card refuses MAC1 (9302), the SAM refuses the card's MAC1
sed 's/3333333333333333/3333333333333334/' "$T/mk.json" >"$T/mk2.json"
sed 's/1111111111111111/1111111111111112/' "$T/mk2.json" >"$T/mk3.json"
run wallet sam-init --insecure-master-keys --master-keys "$T/mk3.json" --terminal 000000000099 --out "$T/sam-other.json"
run --reader "$R" wallet purchase --amount 1 --sam "$T/sam-other.json" --insecure-master-keys
check "purchase with the wrong keys: the card refuses MAC1" '[ "$RC" -eq 1 ] && grep -q "MAC" <<<"$ERR"'
WALLETKEY_PIN=$PIN run --reader "$R" wallet load --amount 1 --sam "$T/sam-other.json" --insecure-master-keys
check "load with the wrong keys: the card's MAC1 does not verify" '[ "$RC" -eq 1 ] && grep -q "did not verify" <<<"$ERR"'
check "and nothing changed" '[ "$(state)" = "$S1" ]'

# ED: needs the PIN for everything; the demo profile has both purses
WALLETKEY_PIN=$PIN run --reader "$R" wallet balance --ed
check "ED balance with the PIN" '[ "$RC" -eq 0 ] && [ "$OUT" = "ED balance: 0.00" ]'
WALLETKEY_PIN=$PIN run --reader "$R" wallet load --ed --amount 20 --sam "$T/sam.json" --insecure-master-keys
check "ED load" '[ "$RC" -eq 0 ]'
WALLETKEY_PIN=$PIN run --reader "$R" wallet purchase --ed --amount 5.5 --sam "$T/sam.json" --insecure-master-keys
check "ED purchase" '[ "$RC" -eq 0 ]'
WALLETKEY_PIN=$PIN run --reader "$R" wallet balance --ed
check "ED balance 14.50" '[ "$OUT" = "ED balance: 14.50" ]'
run --reader "$R" wallet balance
check "EP balance untouched (87.75)" '[ "$OUT" = "EP balance: 87.75" ]'

# selection by AID (docs/purse.md U7) instead of file id 1001
run --reader "$R" wallet balance --aid F0574B5055525345
check "balance with --aid" '[ "$RC" -eq 0 ] && [ "$OUT" = "EP balance: 87.75" ]'
run --reader "$R" wallet balance --aid F0574B50555253
check "an AID the card does not have: not found" '[ "$RC" -eq 1 ] && grep -q "not found" <<<"$ERR"'
run --reader "$R" wallet balance --aid F057
check "a 2-byte AID is a usage error" '[ "$RC" -eq 2 ]'

# an open transaction in the SAM file (as after a crash of the CLI itself):
# wallet prove settles it from the card's proof
sed -i 's/"state": "done"/"state": "sent"/' "$T/sam.json"
run --reader "$R" --json wallet prove --sam "$T/sam.json" --insecure-master-keys
check "wallet prove settles an open purchase as completed" '[ "$RC" -eq 0 ] && grep -q "TAC verified" <<<"$OUT"'
check "  and records it done" 'grep -q "\"state\": \"done\"" "$T/sam.json"'
sed -i 's/"state": "done"/"state": "sent"/; s/"amount": 550,/"amount": 551,/' "$T/sam.json"
run --reader "$R" --json wallet prove --sam "$T/sam.json" --insecure-master-keys
check "a transaction the card cannot prove is not done" '[ "$RC" -eq 1 ] && grep -q "no proof" <<<"$ERR"'
check "  and recorded so" 'grep -q "\"state\": \"not-done\"" "$T/sam.json"'

finish

