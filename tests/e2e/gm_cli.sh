#!/bin/bash
# walletkey gm: containers, on-card keys, sign/verify checked by OpenSSL with
# the SM2 id, encrypt/decrypt, certificates, PINs, applications, --json
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export WALLETKEY_GM_PIN=12345678

walletkey gm info | grep -q '^label: *walletkey'
expect_eq "factory application" "$(walletkey --json gm apps | jq -r '.applications[0]')" walletkey

# a wrong PIN costs exactly one try and changes nothing
WALLETKEY_GM_PIN=00000000 expect_status 1 walletkey gm container-create c1
expect_eq "tries after a wrong PIN" "$(walletkey --json gm pin info | jq .tries_left)" 9
expect_eq "no container made" "$(walletkey --json gm containers | jq '.containers | length')" 0

walletkey gm container-create c1 >/dev/null
walletkey gm keygen --container c1 --out "$dir/pub.pem"
walletkey gm keygen --container c1 --enc >/dev/null
expect_eq "tries restored" "$(walletkey --json gm pin info | jq .tries_left)" 10
expect_eq "container keys" "$(walletkey --json gm containers | jq -c '.containers[0] | [.type, .sign_key, .enc_key]')" '["sm2",true,true]'

# the signature verifies with OpenSSL and the default id, not with another
printf 'pay 12.30' >"$dir/msg"
walletkey gm sign --container c1 --in "$dir/msg" --out "$dir/sig"
openssl pkeyutl -verify -pubin -inkey "$dir/pub.pem" -rawin -in "$dir/msg" \
	-digest sm3 -pkeyopt distid:1234567812345678 -sigfile "$dir/sig" >/dev/null
if openssl pkeyutl -verify -pubin -inkey "$dir/pub.pem" -rawin -in "$dir/msg" \
	-digest sm3 -pkeyopt distid:alice -sigfile "$dir/sig" >/dev/null 2>&1; then
	fail "verified with another id"
fi
walletkey gm sign --container c1 --in "$dir/msg" --id alice@bank --out "$dir/sig2"
openssl pkeyutl -verify -pubin -inkey "$dir/pub.pem" -rawin -in "$dir/msg" \
	-digest sm3 -pkeyopt distid:alice@bank -sigfile "$dir/sig2" >/dev/null
walletkey gm verify --container c1 --in "$dir/msg" --sig "$dir/sig" | grep -q verified
printf 'pay 99.99' >"$dir/other"
expect_status 1 walletkey gm verify --container c1 --in "$dir/other" --sig "$dir/sig"

# encryption to the container's key, decryption on the card; the
# ciphertext is GM/T 0009 DER that OpenSSL parses
printf 'secret note' >"$dir/plain"
walletkey gm encrypt --container c1 --in "$dir/plain" --out "$dir/ct"
openssl asn1parse -inform DER -in "$dir/ct" >/dev/null
expect_eq "decrypted" "$(walletkey gm decrypt --container c1 --in "$dir/ct")" "secret note"

# a certificate for the signing key
openssl req -x509 -new -key <(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256) \
	-subj /CN=gm-test -days 1 -out "$dir/cert.pem" 2>/dev/null
walletkey gm cert-import --container c1 --in "$dir/cert.pem" >/dev/null
walletkey gm cert-export --container c1 --out "$dir/back.pem"
cmp <(openssl x509 -in "$dir/cert.pem" -outform DER) <(openssl x509 -in "$dir/back.pem" -outform DER)
expect_status 1 walletkey gm cert-export --container c1 --enc

# applications take the device key; a wrong one is refused and counted
WALLETKEY_GM_DEV_KEY=0000000000000000 WALLETKEY_GM_ADMIN_PIN=87654321 \
	expect_status 1 walletkey gm app-create bank
expect_eq "device tries" "$(walletkey --json gm info | jq .dev_tries_left)" 9
WALLETKEY_GM_DEV_KEY=1234567812345678 WALLETKEY_GM_ADMIN_PIN=87654321 \
	walletkey gm app-create bank --user-tries 3 >/dev/null
expect_eq "apps" "$(walletkey --json gm apps | jq -c .applications)" '["walletkey","bank"]'

walletkey --json gm pin info --app bank | jq -e '.tries_left == 3' >/dev/null
WALLETKEY_GM_DEV_KEY=1234567812345678 walletkey gm app-delete bank >/dev/null
expect_status 1 walletkey gm pin info --app bank
walletkey gm container-delete c1 >/dev/null
echo "gm_cli: OK"
