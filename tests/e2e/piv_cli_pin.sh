#!/bin/bash
# walletkey pin/mgmt-key/reset end to end: PIN lockout survives kill -9 of
# the card, the PUK unblocks, a wrong management key changes nothing
. "$(dirname "$0")/piv_cli_lib.sh"

echo 111111 >"$T/wrong"
echo 123456 >"$T/pin"
echo 654321 >"$T/newpin"
echo 12345678 >"$T/puk"
echo 87654321 >"$T/newpuk"
unset WALLETKEY_PIN

step "verify: from a file, from the environment, from an argument (warned)"
expect 0 wk pin verify --pin-file "$T/pin"
grep_out "PIN verified"
expect 0 env WALLETKEY_PIN=123456 "$WK_BIN" --reader "$READER" pin verify
expect 0 wk pin verify --pin 123456
grep_out "warning" "$T/err"
expect 2 wk_notty pin verify
expect 2 wk pin verify --pin 123456789

step "a wrong PIN costs a try, a right one restores them"
expect 1 wk pin verify --pin-file "$T/wrong"
grep_out "2 tries left" "$T/err"
expect 0 wk --json pin retries
[ "$(json '.pin.left')" = 2 ] || fail "tries after one wrong PIN"
expect 0 wk pin verify --pin-file "$T/pin"
expect 0 wk --json pin retries
[ "$(json '.pin.left')" = 3 ] || fail "tries after the right PIN"

step "change the PIN and the PUK"
expect 2 wk pin change --pin-file "$T/pin" --new-pin 12345
expect 1 wk pin change --pin-file "$T/wrong" --new-pin-file "$T/newpin"
expect 0 wk pin verify --pin-file "$T/pin"
expect 0 wk pin change --pin-file "$T/pin" --new-pin-file "$T/newpin"
expect 1 wk pin verify --pin-file "$T/pin"
expect 0 wk pin verify --pin-file "$T/newpin"
expect 0 wk pin change --puk --puk-file "$T/puk" --new-puk-file "$T/newpuk"
expect 1 wk pin change --puk --puk-file "$T/puk" --new-puk-file "$T/newpuk"
expect 0 wk --json pin retries
[ "$(json '.puk.left')" = 2 ] || fail "PUK tries after a wrong PUK"

step "three wrong PINs block it, and the block survives kill -9 of the card"
expect 1 wk pin verify --pin-file "$T/wrong"
expect 1 wk pin verify --pin-file "$T/wrong"
expect 1 wk pin verify --pin-file "$T/wrong"
expect 1 wk pin verify --pin-file "$T/newpin"
grep_out "blocked" "$T/err"
"$WALLETKEY_SANDBOX/bin/card-restart" 0
wait_card
expect 1 wk pin verify --pin-file "$T/newpin"
grep_out "blocked" "$T/err"
expect 0 wk --json pin retries
[ "$(json '.pin.left')" = 0 ] || fail "PIN tries after restart"

step "the PUK unblocks"
expect 1 wk pin unblock --puk-file "$T/puk" --new-pin-file "$T/pin"
expect 0 wk pin unblock --puk-file "$T/newpuk" --new-pin-file "$T/pin"
expect 0 wk pin verify --pin-file "$T/pin"
expect 0 wk --json pin retries
[ "$(json '.pin.left')" = 3 ] || fail "PIN tries after unblock"

step "a wrong management key fails and changes nothing"
expect 0 wk key generate --slot 9a --alg eccp256
snapshot "$T/before.json"
echo 0102030405060708010203040506070801020304050607FF >"$T/badkey"
expect 1 wk key generate --slot 9a --alg eccp256 --mgmt-key-file "$T/badkey"
grep_out "management key" "$T/err"
expect 1 wk cert delete --slot 9a --mgmt-key-file "$T/badkey"
expect 1 wk mgmt-key set --generate --mgmt-key-file "$T/badkey"
expect 2 env WALLETKEY_MGMT_KEY=xyz "$WK_BIN" --reader "$READER" key generate --slot 9a --alg eccp256
snapshot "$T/after.json"
cmp "$T/after.json" "$T/before.json" || fail "a wrong management key changed the card"

step "AES-128 and AES-256 management keys, then back to 3DES"
expect 0 wk mgmt-key set --alg aes128 --generate --out "$T/aes128"
expect 1 wk key generate --slot 9c --alg eccp256
expect 0 wk key generate --slot 9c --alg eccp256 --mgmt-key-file "$T/aes128"
expect 0 wk --json status
[ "$(json '.management_key.algorithm')" = aes128 ] || fail "mgmt key algorithm"
[ "$(json '.management_key.default')" = false ] || fail "mgmt key default"
openssl rand -hex 32 >"$T/aes256"
expect 0 env WALLETKEY_MGMT_KEY="$(cat "$T/aes128")" \
    WALLETKEY_NEW_MGMT_KEY="$(cat "$T/aes256")" \
    "$WK_BIN" --reader "$READER" mgmt-key set --alg aes256
expect 0 env WALLETKEY_MGMT_KEY="$(cat "$T/aes256")" \
    "$WK_BIN" --reader "$READER" cert delete --slot 9c
echo 010203040506070801020304050607080102030405060708 >"$T/3des"
expect 2 wk mgmt-key set --alg aes256 --new-key-file "$T/3des" --mgmt-key-file "$T/aes256"
expect 0 wk mgmt-key set --alg 3des --new-key-file "$T/3des" --mgmt-key-file "$T/aes256" --touch no
expect 0 wk key generate --slot 9c --alg eccp256

step "PIN retries can be set (and reset PIN and PUK)"
expect 2 wk pin set-retries --pin-tries 0 --puk-tries 3
expect 0 wk pin set-retries --pin-tries 5 --puk-tries 4 --pin-file "$T/pin"
expect 0 wk --json pin retries
[ "$(json '.pin.left')" = 5 ] || fail "PIN tries after set-retries"
[ "$(json '.puk.left')" = 4 ] || fail "PUK tries after set-retries"

step "reset: refused without confirmation, then back to the factory state"
expect 2 wk_notty reset
expect 0 wk --json status
[ "$(json '[.slots[] | select(.slot != "f9")] | length')" != 0 ] || fail "keys gone before reset"
expect 0 wk reset --yes
expect 0 wk --json status
[ "$(json '[.slots[] | select(.slot != "f9")] | length')" = 0 ] || fail "keys left after reset"
[ "$(json '.pin.left')" = 3 ] || fail "PIN tries after reset"
expect 0 wk pin verify --pin-file "$T/pin"
expect 0 wk pin change --puk --puk-file "$T/puk" --new-puk-file "$T/newpuk"
echo "piv_cli_pin: ok"
