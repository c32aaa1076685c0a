#!/bin/bash
# Yubico's ykcs11 over our card (sandbox reader named "Yubico ...": Debian
# 12's ykcs11 2.2 only lists readers whose name starts with "Yubico"):
# slots and objects, a key from the CLI visible without a certificate
# (ATTEST/METADATA), and an ECDSA signature checked by openssl
. "$(dirname "$0")/piv_cli_lib.sh"

MODULE=${YKCS11:-}
if [ -z "$MODULE" ]; then
	for d in "/usr/lib/$(gcc -print-multiarch 2>/dev/null || true)" /usr/lib64 /usr/lib; do
		[ -f "$d/libykcs11.so" ] && MODULE="$d/libykcs11.so" && break
	done
fi
[ -n "$MODULE" ] || { echo "libykcs11.so not found: skipped"; exit 77; }
case "$READER" in
Yubico*) ;;
*) echo "reader '$READER' does not start with Yubico: skipped"; exit 77 ;;
esac
P11() { pkcs11-tool --module "$MODULE" "$@"; }
msg="$T/msg"
head -c 1000 /dev/urandom >"$msg"

step "a fresh card is a token"
expect 0 P11 -L
grep_out "token label *: YubiKey PIV"
grep_out "token manufacturer *: Yubico"

step "a key from the CLI, certificate-less, then with a certificate"
expect 0 wk key generate --slot 9a --alg eccp256
cp "$T/out" "$T/9a.pub"
expect 0 P11 -O
grep_out "Public Key Object; EC"
expect 0 wk cert selfsign --slot 9a --subject "/CN=ykcs11 auth" --import
expect 0 P11 -O
grep_out "ykcs11 auth"
expect 0 P11 -l --pin 123456 -O
grep_out "Private Key Object; EC"

step "ECDSA P-256 through ykcs11"
expect 0 P11 -l --pin 123456 --sign --id 01 -m ECDSA-SHA256 \
    --signature-format openssl -i "$msg" -o "$T/ec.sig"
openssl dgst -sha256 -verify "$T/9a.pub" -signature "$T/ec.sig" "$msg" ||
    fail "ECDSA through ykcs11"
echo "piv_ykcs11: ok"
