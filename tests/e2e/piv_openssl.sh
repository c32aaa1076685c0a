#!/bin/bash
# keys made with the walletkey CLI, used through OpenSC's PKCS#11 module by
# pkcs11-tool, signatures checked by openssl: ECDSA P-256 (9a), RSA-2048
# PKCS#1 v1.5 and PSS (9c, PIN-always). pkcs11-tool -t, ECDH and wrong PINs
# through PKCS#11 are in piv_opensc.sh
. "$(dirname "$0")/piv_cli_lib.sh"

MODULE=${OPENSC_PKCS11:-}
if [ -z "$MODULE" ]; then
	for d in "/usr/lib/$(gcc -print-multiarch 2>/dev/null || true)" /usr/lib64 /usr/lib; do
		[ -f "$d/opensc-pkcs11.so" ] && MODULE="$d/opensc-pkcs11.so" && break
	done
fi
[ -n "$MODULE" ] || { echo "opensc-pkcs11.so not found: skipped"; exit 77; }
P11() { pkcs11-tool --module "$MODULE" "$@"; }
msg="$T/msg"
head -c 1000 /dev/urandom >"$msg"

step "keys and certificates from the CLI"
expect 0 wk key generate --slot 9a --alg eccp256
cp "$T/out" "$T/9a.pub"
expect 0 wk cert selfsign --slot 9a --subject "/CN=p11 auth" --import
expect 0 wk key generate --slot 9c --alg rsa2048
cp "$T/out" "$T/9c.pub"
expect 0 wk cert selfsign --slot 9c --subject "/CN=p11 sign" --import

step "slots and objects"
expect 0 P11 -L
grep_out "token label *: p11 auth"
expect 0 P11 -O
grep_out "Certificate Object"
grep_out "p11 sign"
expect 0 P11 -l --pin 123456 -O
grep_out "Private Key Object; EC"
grep_out "Private Key Object; RSA"

step "ECDSA P-256 through PKCS#11"
expect 0 P11 -l --pin 123456 --sign --id 01 -m ECDSA-SHA256 \
    --signature-format openssl -i "$msg" -o "$T/ec.sig"
openssl dgst -sha256 -verify "$T/9a.pub" -signature "$T/ec.sig" "$msg" ||
    fail "ECDSA through PKCS#11"

step "RSA-2048 PKCS#1 v1.5 and PSS through PKCS#11 (PIN-always key)"
expect 0 P11 -l --pin 123456 --sign --id 02 -m SHA256-RSA-PKCS \
    -i "$msg" -o "$T/rsa.sig"
openssl dgst -sha256 -verify "$T/9c.pub" -signature "$T/rsa.sig" "$msg" ||
    fail "PKCS#1 v1.5 through PKCS#11"
expect 0 P11 -l --pin 123456 --sign --id 02 -m SHA256-RSA-PKCS-PSS \
    --mgf MGF1-SHA256 --salt-len 32 -i "$msg" -o "$T/pss.sig"
openssl dgst -sha256 -verify "$T/9c.pub" -signature "$T/pss.sig" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 "$msg" ||
    fail "PSS through PKCS#11"

echo "piv_openssl: ok"
