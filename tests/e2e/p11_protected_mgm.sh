#!/bin/bash
# Key generation after a user login when the management key is PIN-protected
# on the card, stored the way Yubico's tools store it (ykman piv access
# change-management-key --protect): ADMIN DATA 5FFF00 = 80 {81 01 02},
# printed information 5FC109 = 88 {89 <key>}, readable after VERIFY only.
# Written here with yubico-piv-tool; the module reads it after C_Login and
# authenticates 9B with it. Runs inside tools/walletkey-sandbox.
set -euo pipefail

M=${WALLETKEY_P11_MODULE:?set WALLETKEY_P11_MODULE to walletkey-pkcs11.so}
: "${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PIN=123456
NEWKEY=8a5c0e1f2d3b4a6978f0e1d2c3b4a5968778695a4b3c2d1e
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v yubico-piv-tool > /dev/null || { echo "SKIP: yubico-piv-tool not installed"; exit 77; }
Y() { yubico-piv-tool -r "$WALLETKEY_READER_0" "$@"; }
P() { pkcs11-tool --module "$M" "$@"; }

step "without a protected key the user cannot generate on the card"
P --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --id 03 > "$T/out" 2>&1 &&
    fail "user generated a key without the management key"
grep -q "CKR_USER_NOT_LOGGED_IN" "$T/out" || fail "refusal: $(cat "$T/out")"

step "a new management key, stored PIN-protected as ykman does"
Y -a set-mgm-key -n "$NEWKEY" > /dev/null 2>&1
printf '\x80\x03\x81\x01\x02' > "$T/admin"
{ printf '\x88\x1a\x89\x18'; printf "$(printf '%s' "$NEWKEY" | sed 's/../\\x&/g')"; } > "$T/printed"
Y --key="$NEWKEY" -a write-object --id 0x5FFF00 -f binary -i "$T/admin" > /dev/null 2>&1
Y --key="$NEWKEY" -a write-object --id 0x5FC109 -f binary -i "$T/printed" > /dev/null 2>&1

step "the user's PIN alone: generate, write a certificate, delete it"
P --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --id 03 > "$T/out" 2>&1 ||
    fail "user keygen with a PIN-protected key: $(cat "$T/out")"
P --read-object --type pubkey --id 03 -o "$T/pub.der" > /dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k" \
    -out "$T/c.pem" -subj /CN=x -days 1 2> /dev/null
openssl x509 -in "$T/c.pem" -outform DER -out "$T/c.der"
P --login --pin "$PIN" --write-object "$T/c.der" --type cert --id 03 > /dev/null 2>&1 ||
    fail "user certificate write"
P --login --pin "$PIN" --delete-object --type cert --id 03 > /dev/null 2>&1 ||
    fail "user certificate delete"

step "a wrong PIN opens nothing"
P --login --pin 000000 --keypairgen --key-type EC:prime256v1 --id 04 > "$T/out" 2>&1 &&
    fail "keygen with a wrong PIN"

step "the old factory key no longer works as SO, the new one does"
P --login --login-type so --so-pin 010203040506070801020304050607080102030405060708 \
    --keypairgen --key-type EC:prime256v1 --id 04 > /dev/null 2>&1 && fail "factory key"
P --login --login-type so --so-pin "$NEWKEY" --keypairgen --key-type EC:prime256v1 --id 04 \
    > /dev/null 2>&1 || fail "SO keygen with the new key"
echo "p11_protected_mgm: all passed"
