#!/bin/bash
# walletkey key/cert/sign end to end: keys made on the card, checked by openssl
. "$(dirname "$0")/piv_cli_lib.sh"

msg="$T/msg"
head -c 3000 /dev/urandom >"$msg"

step "status of a fresh card"
expect 0 wk --json status
[ "$(json '.pin.left')" = 3 ] || fail "PIN tries on a fresh card"
[ "$(json '[.slots[] | select(.slot != "f9")] | length')" = 0 ] || fail "a fresh card has keys"
json '.version' | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' || fail "version"
expect 0 wk status
grep_out "SLOT"

step "ECDSA P-256 in 9a: generate, sign, verify with openssl"
expect 0 wk key generate --slot 9a --alg eccp256 --pin-policy once \
    --touch-policy never
cp "$T/out" "$T/9a.pub"
grep_out "BEGIN PUBLIC KEY"
grep_out "factory management key" "$T/err"
openssl pkey -pubin -in "$T/9a.pub" -noout -text | grep_q "prime256v1" ||
    fail "9a is not P-256"
expect 0 wk sign --slot 9a --in "$msg" --out "$T/9a.sig"
openssl dgst -sha256 -verify "$T/9a.pub" -signature "$T/9a.sig" "$msg" ||
    fail "9a signature"
# a digest signed as is: same check through pkeyutl
openssl dgst -sha256 -binary "$msg" >"$T/msg.sha256"
expect 0 wk sign --slot 9a --in "$T/msg.sha256" --hash none --out "$T/9a.raw"
openssl pkeyutl -verify -pubin -inkey "$T/9a.pub" -in "$T/msg.sha256" \
    -sigfile "$T/9a.raw" || fail "9a signature over a digest"

step "self-signed certificate for 9a, stored on the card"
expect 0 wk cert selfsign --slot 9a --subject "/CN=walletkey test/O=Example" \
    --days 30 --import --out "$T/9a.crt"
openssl verify -check_ss_sig -CAfile "$T/9a.crt" "$T/9a.crt" ||
    fail "self-signed certificate"
openssl x509 -in "$T/9a.crt" -noout -pubkey | cmp - "$T/9a.pub" ||
    fail "certificate key differs from the slot's"
expect 0 wk cert export --slot 9a
cmp "$T/out" "$T/9a.crt" || fail "exported certificate differs"
expect 0 wk --json status
[ "$(json '.slots[] | select(.slot=="9a") | .certificate.subject')" = \
    "/CN=walletkey test/O=Example" ] || fail "status subject"
[ "$(json '.slots[] | select(.slot=="9a") | .algorithm')" = eccp256 ] ||
    fail "status algorithm"

step "attestation of 9a"
expect 0 wk key attest --slot 9a --out "$T/9a.att"
openssl x509 -in "$T/9a.att" -noout -pubkey | cmp - "$T/9a.pub" ||
    fail "attested key differs"

step "RSA-2048 in 9c: CSR signed on the card, PKCS#1 v1.5 and PSS"
expect 0 wk key generate --slot 9c --alg rsa2048
cp "$T/out" "$T/9c.pub"
expect 0 wk cert request --slot 9c --subject "/CN=signer" --out "$T/9c.csr"
openssl req -in "$T/9c.csr" -noout -verify || fail "CSR signature"
openssl req -in "$T/9c.csr" -noout -pubkey | cmp - "$T/9c.pub" ||
    fail "CSR key differs"
expect 0 wk sign --slot 9c --in "$msg" --out "$T/9c.sig"
openssl dgst -sha256 -verify "$T/9c.pub" -signature "$T/9c.sig" "$msg" ||
    fail "PKCS#1 v1.5 signature"
expect 0 wk sign --slot 9c --in "$msg" --hash sha384 --pss --out "$T/9c.pss"
openssl dgst -sha384 -verify "$T/9c.pub" -signature "$T/9c.pss" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 "$msg" ||
    fail "PSS signature"

step "Ed25519 in 9d and P-384 in 82"
expect 0 wk key generate --slot 9d --alg ed25519
cp "$T/out" "$T/9d.pub"
expect 0 wk sign --slot 9d --in "$msg" --out "$T/9d.sig"
openssl pkeyutl -verify -pubin -inkey "$T/9d.pub" -rawin -in "$msg" \
    -sigfile "$T/9d.sig" || fail "Ed25519 signature"
expect 2 wk sign --slot 9d --in "$msg" --hash sha256
expect 0 wk cert selfsign --slot 9d --subject "/CN=ed" --out "$T/9d.crt"
openssl verify -check_ss_sig -CAfile "$T/9d.crt" "$T/9d.crt" ||
    fail "Ed25519 certificate"
expect 0 wk key generate --slot 82 --alg eccp384
cp "$T/out" "$T/82.pub"
expect 0 wk sign --slot 82 --in "$msg" --out "$T/82.sig"
openssl dgst -sha384 -verify "$T/82.pub" -signature "$T/82.sig" "$msg" ||
    fail "P-384 signature"

step "X25519 in 9e cannot sign"
expect 0 wk key generate --slot 9e --alg x25519
expect 2 wk sign --slot 9e --in "$msg"
grep_out "cannot sign" "$T/err"

step "imported keys sign like generated ones"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/imp.pem" 2>/dev/null
openssl pkey -in "$T/imp.pem" -pubout -out "$T/imp.pub"
expect 0 wk key import --slot 9d --in "$T/imp.pem" --pin-policy always
grep_out "eccp256"
expect 0 wk sign --slot 9d --in "$msg" --out "$T/imp.sig"
openssl dgst -sha256 -verify "$T/imp.pub" -signature "$T/imp.sig" "$msg" ||
    fail "imported EC key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl pkey -in "$T/rsa.pem" -pubout -out "$T/rsa.pub"
expect 0 wk key import --slot 83 --in "$T/rsa.pem"
expect 0 wk sign --slot 83 --in "$msg" --out "$T/rsa.sig"
openssl dgst -sha256 -verify "$T/rsa.pub" -signature "$T/rsa.sig" "$msg" ||
    fail "imported RSA key"
openssl genpkey -algorithm ED25519 -out "$T/ed.pem"
openssl pkey -in "$T/ed.pem" -pubout -out "$T/ed.pub"
expect 0 wk key import --slot 84 --in "$T/ed.pem"
expect 0 wk sign --slot 84 --in "$msg" --out "$T/ed.sig"
openssl pkeyutl -verify -pubin -inkey "$T/ed.pub" -rawin -in "$msg" \
    -sigfile "$T/ed.sig" || fail "imported Ed25519 key"

step "bad input is refused and changes nothing"
snapshot "$T/before.json"
expect 2 wk key generate --slot 9b --alg eccp256
expect 2 wk key generate --slot 9a --alg eccp257
expect 2 wk key generate --slot 9a --alg eccp256 --pin-policy sometimes
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -pkeyopt rsa_keygen_pubexp:3 -out "$T/e3.pem" 2>/dev/null
expect 2 wk key import --slot 9a --in "$T/e3.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$T/k1.pem" 2>/dev/null
expect 2 wk key import --slot 9a --in "$T/k1.pem"
echo "not a certificate" >"$T/junk.crt"
expect 2 wk cert import --slot 9a --in "$T/junk.crt"
expect 2 wk key import --slot 9a --in "$T/junk.crt"
expect 2 wk cert request --slot 9a --subject "CN=no-slash"
expect 1 wk sign --slot 9a --in "$T/does-not-exist"
expect 2 wk sign --slot 9a --in "$msg" --hash md4
expect 2 wk cert selfsign --slot 9a --subject /CN=x --days 0
snapshot "$T/after.json"
cmp "$T/after.json" "$T/before.json" || fail "refused commands changed the card"

step "certificates: import a PEM from elsewhere, delete"
openssl req -x509 -new -key "$T/imp.pem" -subj "/CN=outside" -days 2 -out "$T/out.crt" 2>/dev/null
expect 0 wk cert import --slot 9d --in "$T/out.crt"
expect 0 wk cert export --slot 9d --der --out "$T/out.der"
openssl x509 -in "$T/out.crt" -outform DER | cmp - "$T/out.der" ||
    fail "DER export differs"
expect 0 wk cert delete --slot 9d
expect 1 wk cert export --slot 9d
grep_out "not" "$T/err"

step "JSON everywhere"
expect 0 wk --json sign --slot 9a --in "$msg"
[ "$(json '.algorithm')" = eccp256 ] || fail "sign --json"
expect 0 wk --json key generate --slot 85 --alg eccp256
json '.public_key' | grep_q "BEGIN PUBLIC KEY" || fail "generate --json"
expect 0 wk --json pin retries
[ "$(json '.pin.left')" = 3 ] || fail "pin retries --json"
echo "piv_cli: ok"
