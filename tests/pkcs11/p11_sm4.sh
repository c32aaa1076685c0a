#!/bin/bash
# SM4 session keys through walletkey-pkcs11.so (docs/pkcs11.md "SM4"): what
# the client p11_sm4.c computed with the module, OpenSSL's `enc` computes
# alike (ECB, CBC, CBC with PKCS#7 padding, the CBC-MAC as the last block
# of SM4-CBC with a zero IV over the zero-padded data), for a fixed key and
# for a key the module generated
set -euo pipefail
client=$1
MOD=$2
. "$(dirname "$0")/../e2e/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'SM4 through PKCS#11: a message of 75 bytes, not a whole number of blocks' >"$dir/msg"
len=$(stat -c %s "$dir/msg")
"$client" "$MOD" 123456 "$dir/msg" "$dir"
K=0123456789abcdeffedcba9876543210
IV=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
whole=$((len - len % 16))
head -c "$whole" "$dir/msg" >"$dir/whole"
cmp "$dir/std.bin" <(printf '%s' "$K" | xxd -r -p | openssl enc -sm4-ecb -K "$K" -nopad) ||
	fail "the GM/T 0002 example"
cmp "$dir/ecb.bin" <(openssl enc -sm4-ecb -K "$K" -nopad -in "$dir/whole") || fail "ECB"
cmp "$dir/cbc.bin" <(openssl enc -sm4-cbc -K "$K" -iv "$IV" -nopad -in "$dir/whole") || fail "CBC"
cmp "$dir/cbcpad.bin" <(openssl enc -sm4-cbc -K "$K" -iv "$IV" -in "$dir/msg") || fail "CBC_PAD"
pad=$(( (16 - len % 16) % 16 ))
cmp "$dir/mac.bin" <({ cat "$dir/msg"; head -c "$pad" /dev/zero; } |
	openssl enc -sm4-cbc -K "$K" -iv 00000000000000000000000000000000 -nopad | tail -c 16) ||
	fail "the CBC-MAC"
G=$(xxd -p "$dir/genkey.bin" | tr -d '\n')
cmp "$dir/gen_ecb.bin" <(openssl enc -sm4-ecb -K "$G" -nopad -in "$dir/whole") ||
	fail "ECB with the generated key"
echo "p11_sm4: OK"
