#!/bin/bash
# SM2 encryption with the GM containers' encryption pairs through
# walletkey-pkcs11.so (docs/pkcs11.md "SM2 and SM3"), by a client that
# dlopens the module and makes standard calls only (p11_gm_crypt.c):
# OpenSSL encrypts to the exported public key and the module decrypts on the
# card; the module encrypts and the card decrypts through walletkey gm; a
# wrong GM PIN costs one try; the encryption certificate is an object
set -euo pipefail
client=$1
MOD=$2
. "$(dirname "$0")/../e2e/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export WALLETKEY_GM_PIN=12345678
walletkey gm container-create c1 >/dev/null
walletkey gm keygen --container c1 --out "$dir/sign.pem"
walletkey gm keygen --container c1 --enc --out "$dir/enc.pem"
openssl pkey -pubin -in "$dir/enc.pem" -text -noout | grep -q SM2 ||
	fail "the encryption key is not an SM2 key"
printf 'transfer 1000.00 to account 6222020200112233' >"$dir/plain"
openssl pkeyutl -encrypt -pubin -inkey "$dir/enc.pem" -in "$dir/plain" \
	-out "$dir/ct.der"

# no certificate of the encryption pair yet: no certificate object
"$client" "$MOD" 123456 12345678 c1 run "$dir/ct.der" "$dir/plain" \
	"$dir/ct2.der"
# the module's ciphertext is the card's (and OpenSSL's) form
openssl asn1parse -inform DER -in "$dir/ct2.der" >/dev/null
expect_eq "decrypted through walletkey gm" \
	"$(walletkey gm decrypt --container c1 --in "$dir/ct2.der")" \
	"$(cat "$dir/plain")"

# with a certificate of the encryption pair
openssl req -x509 -new -key <(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256) \
	-subj /CN=gm-enc -days 1 -out "$dir/cert.pem" 2>/dev/null
openssl x509 -in "$dir/cert.pem" -outform DER -out "$dir/cert.der"
walletkey gm cert-import --container c1 --enc --in "$dir/cert.pem" >/dev/null
"$client" "$MOD" 123456 12345678 c1 run "$dir/ct.der" "$dir/plain" \
	"$dir/ct3.der" "$dir/cert.der"
expect_eq "decrypted through walletkey gm" \
	"$(walletkey gm decrypt --container c1 --in "$dir/ct3.der")" \
	"$(cat "$dir/plain")"

# a wrong GM PIN at the context login: refused, exactly one try spent
"$client" "$MOD" 123456 87654321 c1 wrongpin
expect_eq "tries after a wrong PIN" "$(walletkey --json gm pin info | jq .tries_left)" 9
echo "p11_gm_crypt: OK"
