#!/bin/bash
# walletkey-pkcs11.so driven by OpenSC's pkcs11-tool on a fresh card: slots
# and token, key generation in every algorithm, each signature mechanism
# checked by openssl, decryption, ECDH, certificate import and deletion,
# random, PIN change and PIN counter flags, pkcs11-tool -t and its thread
# test. Runs inside tools/walletkey-sandbox; the module path comes from
# WALLETKEY_P11_MODULE (meson sets it from the build directory).
set -euo pipefail

M=${WALLETKEY_P11_MODULE:?set WALLETKEY_P11_MODULE to walletkey-pkcs11.so}
: "${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SO=010203040506070801020304050607080102030405060708
PIN=123456

P() { pkcs11-tool --module "$M" "$@"; }
PU() { P --login --pin "$PIN" "$@"; }
PSO() { P --login --login-type so --so-pin "$SO" "$@"; }
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "slots and token (-L)"
P -L > "$T/L"
grep -q "token label *: walletkey #" "$T/L" || fail "token label"
grep -q "serial num *: [0-9A-F]\{16\}" "$T/L" || fail "serial from the CHUID"
grep -q "login required" "$T/L" || fail "token flags"
grep -q "(empty)" "$T/L" || fail "the empty reader is a slot without token"
P -M | grep -q "EDDSA" || fail "mechanism list"

step "key generation (SO = management key): P-256 9A, RSA-2048 9C, P-384 9D, Ed25519 9E, RSA-1024 82"
PSO --keypairgen --key-type EC:prime256v1 --id 01 > /dev/null
PSO --keypairgen --key-type rsa:2048 --id 02 > /dev/null
PSO --keypairgen --key-type EC:secp384r1 --id 03 > /dev/null
PSO --keypairgen --key-type EC:edwards25519 --id 04 > /dev/null
PSO --keypairgen --key-type rsa:1024 --id 05 > /dev/null
# a wrong management key is refused and nothing is generated
if P --login --login-type so --so-pin 0102030405060708010203040506070801020304050607FF \
    --keypairgen --key-type EC:prime256v1 --id 06 > "$T/bad" 2>&1; then
	fail "wrong management key accepted"
fi
grep -q CKR_PIN_INCORRECT "$T/bad" || fail "wrong management key: $(cat "$T/bad")"

step "objects without and with login"
P -O > "$T/O"
grep -c "Public Key Object" "$T/O" | grep -qx 5 || fail "5 public keys"
# private keys are private objects, except 9E (PIN never)
grep -c "Private Key Object" "$T/O" | grep -qx 1 || fail "only 9E's private key before login"
PU -O > "$T/O2"
grep -c "Private Key Object" "$T/O2" | grep -qx 5 || fail "5 private keys after login"
grep -A6 "Private key for Digital Signature" "$T/O2" | grep -q "always authenticate" ||
    fail "9C is CKA_ALWAYS_AUTHENTICATE"
for id in 01 02 04 05; do
	P --read-object --type pubkey --id $id -o "$T/pub$id.der" > /dev/null
	# (Ed25519 comes out as PEM from pkcs11-tool 0.23, the others as DER)
	openssl pkey -pubin -in "$T/pub$id.der" -out "$T/pub$id.pem"
done
# pkcs11-tool 0.23 cannot rebuild a P-384 key under OpenSSL 3 ("cannot create
# EVP_PKEY"): the SPKI is put together from CKA_EC_POINT here
point=$(grep -A1 "Public key for Key Management" -B4 "$T/O" | sed -n 's/.*EC_POINT: *0461//p')
[ ${#point} = 194 ] || fail "P-384 EC_POINT"
printf '3076301006072a8648ce3d020106052b8104002203620%s' "0$point" | xxd -r -p > "$T/pub03.der"
openssl pkey -pubin -inform DER -in "$T/pub03.der" -out "$T/pub03.pem" || fail "P-384 SPKI"

printf 'walletkey pkcs11 end-to-end\n' > "$T/data"

step "ECDSA on P-256 and P-384, verified by openssl"
for h in SHA1 SHA224 SHA256 SHA384 SHA512; do
	l=$(echo $h | tr 'A-Z' 'a-z')
	PU --sign --id 01 -m ECDSA-$h -i "$T/data" -o "$T/sig" --signature-format openssl > /dev/null
	openssl dgst -$l -verify "$T/pub01.pem" -signature "$T/sig" "$T/data" > /dev/null ||
	    fail "ECDSA-$h"
	# and C_Verify on the host
	P --verify --id 01 -m ECDSA-$h -i "$T/data" --signature-file "$T/sig" \
	    --signature-format openssl > /dev/null || fail "C_Verify ECDSA-$h"
done
openssl dgst -sha256 -binary "$T/data" > "$T/hash"
PU --sign --id 01 -m ECDSA -i "$T/hash" -o "$T/sig" --signature-format openssl > /dev/null
openssl pkeyutl -verify -pubin -inkey "$T/pub01.pem" -in "$T/hash" -sigfile "$T/sig" > /dev/null ||
    fail "CKM_ECDSA"
PU --sign --id 03 -m ECDSA-SHA384 -i "$T/data" -o "$T/sig" --signature-format openssl > /dev/null
openssl dgst -sha384 -verify "$T/pub03.pem" -signature "$T/sig" "$T/data" > /dev/null || fail "P-384"

step "Ed25519"
PU --sign --id 04 -m EDDSA -i "$T/data" -o "$T/sig" > /dev/null
openssl pkeyutl -verify -pubin -inkey "$T/pub04.pem" -rawin -in "$T/data" -sigfile "$T/sig" > /dev/null ||
    fail "EDDSA"

step "RSA PKCS#1 v1.5, PSS, X.509 on 9C (context-specific login each time)"
for h in SHA1 SHA224 SHA256 SHA384 SHA512; do
	l=$(echo $h | tr 'A-Z' 'a-z')
	PU --sign --id 02 -m $h-RSA-PKCS -i "$T/data" -o "$T/sig" > /dev/null
	openssl dgst -$l -verify "$T/pub02.pem" -signature "$T/sig" "$T/data" > /dev/null ||
	    fail "$h-RSA-PKCS"
	PU --sign --id 02 -m $h-RSA-PKCS-PSS --mgf MGF1-$h --salt-len -1 -i "$T/data" \
	    -o "$T/sig" > /dev/null
	openssl dgst -$l -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
	    -sigopt rsa_mgf1_md:$l -verify "$T/pub02.pem" -signature "$T/sig" "$T/data" > /dev/null ||
	    fail "$h-RSA-PKCS-PSS"
done
PU --sign --id 02 -m RSA-PKCS-PSS --hash-algorithm SHA256 --mgf MGF1-SHA256 --salt-len -1 \
    -i "$T/hash" -o "$T/sig" > /dev/null
openssl pkeyutl -verify -pubin -inkey "$T/pub02.pem" -pkeyopt rsa_padding_mode:pss \
    -pkeyopt digest:sha256 -pkeyopt rsa_pss_saltlen:digest -in "$T/hash" -sigfile "$T/sig" > /dev/null ||
    fail "RSA-PKCS-PSS"
PU --sign --id 05 -m RSA-PKCS -i "$T/hash" -o "$T/sig" > /dev/null
openssl pkeyutl -verifyrecover -pubin -inkey "$T/pub05.pem" -in "$T/sig" -out "$T/rec" > /dev/null
cmp -s "$T/rec" "$T/hash" || fail "RSA-PKCS (raw)"
head -c 128 /dev/urandom | tr -c '\0' '\1' | head -c 100 > "$T/raw"
PU --sign --id 05 -m RSA-X-509 -i "$T/raw" -o "$T/sig" > /dev/null
openssl pkeyutl -verifyrecover -pubin -inkey "$T/pub05.pem" -pkeyopt rsa_padding_mode:none \
    -in "$T/sig" -out "$T/rec" > /dev/null
cmp -s <(tail -c 100 "$T/rec") "$T/raw" || fail "RSA-X-509"

step "RSA-3072 (83) and RSA-4096 (84): generation, PSS and PKCS#1 signatures"
for spec in 06:3072 07:4096; do
	id=${spec%%:*}
	PSO --keypairgen --key-type rsa:${spec#*:} --id $id > /dev/null
	P --read-object --type pubkey --id $id -o "$T/pub$id.der" > /dev/null
	openssl pkey -pubin -in "$T/pub$id.der" -out "$T/pub$id.pem"
	openssl pkey -pubin -in "$T/pub$id.pem" -text -noout | grep -q "(${spec#*:} bit)" ||
	    fail "RSA-${spec#*:} size"
	PU --sign --id $id -m SHA384-RSA-PKCS-PSS --mgf MGF1-SHA384 --salt-len -1 -i "$T/data" \
	    -o "$T/sig" > /dev/null
	openssl dgst -sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
	    -sigopt rsa_mgf1_md:sha384 -verify "$T/pub$id.pem" -signature "$T/sig" "$T/data" \
	    > /dev/null || fail "RSA-${spec#*:} PSS"
	PU --sign --id $id -m SHA512-RSA-PKCS -i "$T/data" -o "$T/sig" > /dev/null
	openssl dgst -sha512 -verify "$T/pub$id.pem" -signature "$T/sig" "$T/data" > /dev/null ||
	    fail "RSA-${spec#*:} PKCS#1"
done

step "RSA decryption (PKCS#1 v1.5, OAEP) of openssl ciphertexts"
printf 'session key' > "$T/pt"
openssl pkeyutl -encrypt -pubin -inkey "$T/pub05.pem" -in "$T/pt" -out "$T/ct" > /dev/null
PU --decrypt --id 05 -m RSA-PKCS -i "$T/ct" -o "$T/dec" > /dev/null
cmp -s "$T/dec" "$T/pt" || fail "RSA-PKCS decrypt"
openssl pkeyutl -encrypt -pubin -inkey "$T/pub05.pem" -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$T/pt" -out "$T/ct" > /dev/null
PU --decrypt --id 05 -m RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 \
    -i "$T/ct" -o "$T/dec" > /dev/null
cmp -s "$T/dec" "$T/pt" || fail "RSA-PKCS-OAEP decrypt"

step "ECDH with 9D (P-384) against an openssl key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/peer.key" 2> /dev/null
openssl pkey -in "$T/peer.key" -pubout -outform DER -out "$T/peer.der"
openssl pkeyutl -derive -inkey "$T/peer.key" -peerkey "$T/pub03.pem" -out "$T/z.host"
PU --derive --id 03 -m ECDH1-DERIVE -i "$T/peer.der" -o "$T/z.card" > /dev/null
cmp -s "$T/z.host" "$T/z.card" || fail "ECDH1-DERIVE"

step "certificate import (C_CreateObject) and deletion (C_DestroyObject)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tmp.key" \
    -subj /CN=tmp -out "$T/csr" 2> /dev/null
openssl x509 -req -in "$T/csr" -signkey "$T/tmp.key" -force_pubkey "$T/pub01.pem" \
    -subj "/CN=walletkey pkcs11 test" -days 30 -outform DER -out "$T/cert.der" 2> /dev/null
# only the SO may write it
if PU --write-object "$T/cert.der" --type cert --id 01 > /dev/null 2>&1; then
	fail "certificate written without the management key"
fi
PSO --write-object "$T/cert.der" --type cert --id 01 > /dev/null
P -O > "$T/O3"
grep -A4 "Certificate Object" "$T/O3" | grep -q "ID: *01" || fail "certificate 01 listed"
grep -A4 "Certificate Object" "$T/O3" | grep -q "subject: *DN: CN=walletkey pkcs11 test" ||
    fail "certificate subject"
P --read-object --type cert --id 01 -o "$T/back.der" > /dev/null
cmp -s "$T/back.der" "$T/cert.der" || fail "certificate read back"
PSO --delete-object --type cert --id 01 > /dev/null
P -O | grep -q "Certificate Object" && fail "certificate deleted"
# the key stays: it is found through GET METADATA
P -O | grep -q "Public key for PIV Authentication" || fail "9A key without certificate"

step "random (GET CHALLENGE)"
P --generate-random 100 -o "$T/rnd" > /dev/null
[ "$(stat -c %s "$T/rnd")" = 100 ] || fail "C_GenerateRandom"

step "PIN: wrong PIN counts down in the token flags, change and change back"
if P --login --pin 999999 -O > "$T/w" 2>&1; then fail "wrong PIN accepted"; fi
grep -q CKR_PIN_INCORRECT "$T/w" || fail "CKR_PIN_INCORRECT: $(cat "$T/w")"
P -L | grep -q "user PIN count low" || fail "CKF_USER_PIN_COUNT_LOW"
P --login --pin "$PIN" --change-pin --new-pin 654321 > /dev/null
P -L | grep -q "user PIN count low" && fail "counter reset by a good PIN"
P --login --pin 654321 --change-pin --new-pin "$PIN" > /dev/null
PU -O > /dev/null
# a PIN of the wrong length never reaches the card: wrong, and no try lost
if P --login --pin 12 -O > "$T/w" 2>&1; then fail "short PIN accepted"; fi
grep -q CKR_PIN_INCORRECT "$T/w" || fail "CKR_PIN_INCORRECT"
P -L | grep -q "user PIN count low" && fail "a wrong-length PIN cost a try"

step "pkcs11-tool -t and --test-threads"
PU -t > "$T/t" 2>&1 || { cat "$T/t"; fail "pkcs11-tool -t"; }
grep -q "No errors" "$T/t" || fail "pkcs11-tool -t"
P --test-threads IN -L > /dev/null || fail "--test-threads IN"
P --test-threads ILGISLT0 -L > /dev/null || fail "--test-threads ILGISLT0"

echo "p11_pkcs11_tool: all passed"
