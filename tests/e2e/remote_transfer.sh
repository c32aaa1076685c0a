#!/bin/bash
# end-to-end: card to card. Two enrolled cards authenticate each other and
# move value through a token; the CLI killed after the debit (before and
# after it saved the token) loses nothing; a token is redeemed once; money
# is conserved after every step (docs/remote-load.md).
if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	exec "$here/../../tools/walletkey-sandbox" --cards 2 -- "$0" "$@"
fi
. "$(dirname "$0")/remote_lib.sh"
R0=$(reader 0)
R1=$(reader 1)
SB=$WALLETKEY_SANDBOX/bin

issuer_setup
"$WK" --reader "$R0" enroll --issuer "$URL" --account $PAN0 >/dev/null 2>&1 || die "enroll card 0"
"$WK" --reader "$R1" enroll --issuer "$URL" --account $PAN1 >/dev/null 2>&1 || die "enroll card 1"
"$WK" --reader "$R0" wallet load --issuer "$URL" --amount 50 --yes >/dev/null 2>&1 || die "load card 0"
settled "loaded"

out=$("$WK" wallet transfer --from "$R0" --to "$R1" --amount 12.34 --yes 2>&1) && rc=0 || rc=$?
check "transfer 12.34 from card 0 to card 1" '[ "$rc" -eq 0 ]' || echo "$out"
echo "$out"
check "balances moved" '[ "$(purse_fen 0)" = 3766 ] && [ "$(purse_fen 1)" = 1234 ]'
settled "transfer"
check "both cards wrote records" '[ "$("$WK" --reader "$R0" --json wallet records | python3 -c "import json,sys; print(json.load(sys.stdin)[\"records\"][0][\"type\"])")" != "" ] && [ "$("$WK" --reader "$R1" --json wallet records | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"records\"]))")" = 1 ]'

# more than the purse holds: refused, nothing moved
"$WK" wallet transfer --from "$R1" --to "$R0" --amount 100 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "transfer over the balance: refused" '[ "$rc" -eq 1 ] && [ "$(purse_fen 1)" = 1234 ] && [ "$(purse_fen 0)" = 3766 ]'
check "refused transfer: its challenge closed, no file left" '[ -z "$(ls "$WALLETKEY_STATE_DIR"/xfer-*.json 2>/dev/null)" ]'
WALLETKEY_PIN=654321 "$WK" wallet transfer --from "$R1" --to "$R0" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "wrong PIN of the receiving card: nothing moved" '[ "$rc" -eq 1 ] && [ "$(purse_fen 1)" = 1234 ] && [ "$(purse_fen 0)" = 3766 ]'
"$WK" wallet transfer --from "$R1" --to "$R1" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "the same card on both ends: usage" '[ "$rc" -eq 2 ]'
settled "refused transfers"

# the CLI killed after the debit, before it saved the token: the sending
# card gives it again and the receiving card redeems it
WALLETKEY_FAULT_AT=xfer-sent "$WK" wallet transfer --from "$R0" --to "$R1" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "CLI killed after the debit" '[ "$rc" -eq 137 ] && [ "$(purse_fen 0)" = 3666 ] && [ "$(purse_fen 1)" = 1234 ]'
out=$("$WK" wallet recover --from "$R0" --to "$R1" 2>&1) && rc=0 || rc=$?
check "recover: the sending card's token redeemed" '[ "$rc" -eq 0 ] && grep -q "still holds the token" <<<"$out" && [ "$(purse_fen 1)" = 1334 ]'
settled "token from the card"

# killed before the debit: the transfer is voided, the challenge closed
WALLETKEY_FAULT_AT=xfer-challenged "$WK" wallet transfer --from "$R0" --to "$R1" --amount 1 --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "CLI killed before the debit" '[ "$rc" -eq 137 ] && [ -n "$(ls "$WALLETKEY_STATE_DIR"/xfer-*.json)" ]'
out=$("$WK" wallet recover --from "$R0" --to "$R1" 2>&1) && rc=0 || rc=$?
check "recover: voided, nothing moved" '[ "$rc" -eq 0 ] && grep -q "never sent" <<<"$out" && grep -q "void token" <<<"$out" && [ "$(purse_fen 0)" = 3666 ] && [ "$(purse_fen 1)" = 1334 ] && [ -z "$(ls "$WALLETKEY_STATE_DIR"/xfer-*.json 2>/dev/null)" ]'
settled "voided transfer"

# killed after it saved the token: the file is redeemed, once
WALLETKEY_FAULT_AT=xfer-saved "$WK" wallet transfer --from "$R0" --to "$R1" --amount 2 --yes >/dev/null 2>&1 && rc=0 || rc=$?
f=$(ls "$WALLETKEY_STATE_DIR"/xfer-*.json)
cp "$f" "$T/token.json"
check "CLI killed with the token on disk" '[ "$rc" -eq 137 ] && [ -f "$f" ] && [ "$(purse_fen 0)" = 3466 ]'
out=$("$WK" wallet transfer --from "$R0" --to "$R1" --amount 0.01 --yes 2>&1) && rc=0 || rc=$?
check "the next transfer settles the token first" '[ "$rc" -eq 0 ] && grep -q "redeemed the token" <<<"$out" && [ "$(purse_fen 1)" = 1535 ] && [ "$(purse_fen 0)" = 3465 ]'
settled "token from disk"
# the same token again: redeemed once only
cp "$T/token.json" "$f"
out=$("$WK" wallet recover --from "$R0" --to "$R1" 2>&1) && rc=0 || rc=$?
check "a replayed token: not credited again" '[ "$rc" -eq 0 ] && grep -q "already redeemed" <<<"$out" && [ "$(purse_fen 1)" = 1535 ]'
settled "replayed token"
# a token with a flipped byte: refused, nothing changes
python3 - "$T/token.json" "$f" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
t = bytearray(base64.b64decode(d["token"]))
t[len(t) // 2] ^= 1
d["token"] = base64.b64encode(bytes(t)).decode()
json.dump(d, open(sys.argv[2], "w"))
PY
"$WK" wallet recover --from "$R0" --to "$R1" >/dev/null 2>&1 && rc=0 || rc=$?
check "a flipped token: refused" '[ "$rc" -eq 1 ] && [ "$(purse_fen 1)" = 1535 ] && [ "$(purse_fen 0)" = 3465 ]'
rm -f "$f"
settled "flipped token"

# the receiving card killed while the CLI redeems: recover completes it
WALLETKEY_FAULT_AT=xfer-saved WALLETKEY_FAULT_CMD="$SB/card-kill 1" \
	"$WK" wallet transfer --from "$R0" --to "$R1" --amount 3 --yes >/dev/null 2>&1 && rc=0 || rc=$?
"$SB/card-start" 1 >/dev/null 2>&1 || die "card 1 does not restart"
out=$("$WK" wallet recover --from "$R0" --to "$R1" 2>&1) && rc=0 || rc=$?
check "receiving card killed: recover redeems" '[ "$rc" -eq 0 ] && [ "$(purse_fen 1)" = 1835 ] && [ "$(purse_fen 0)" = 3165 ]' || echo "$out"
settled "receiver killed"
finish
