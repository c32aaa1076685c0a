#!/bin/bash
# walletkey-pkcs11.so in the clients people load it into: p11-kit (module
# file), GnuTLS p11tool, OpenSSH ssh-keygen -D, and OpenSSL through
# libengine-pkcs11-openssl with pkcs11: URIs (a file signature and a TLS
# client-certificate handshake against openssl s_server -Verify 1).
# Runs inside tools/walletkey-sandbox; needs gnutls-bin, openssh-client,
# libengine-pkcs11-openssl. The module path comes from WALLETKEY_P11_MODULE.
set -euo pipefail

M=${WALLETKEY_P11_MODULE:?set WALLETKEY_P11_MODULE to walletkey-pkcs11.so}
: "${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}"
HERE=$(cd "$(dirname "$0")" && pwd)
# wait_bounded
. "$HERE/wait_lib.sh"
T=$(mktemp -d)
SERVER=
cleanup() {
	[ -n "$SERVER" ] && kill "$SERVER" 2> /dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
SO=010203040506070801020304050607080102030405060708
PIN=123456

P() { pkcs11-tool --module "$M" "$@"; }
PSO() { P --login --login-type so --so-pin "$SO" "$@"; }
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" > /dev/null || { echo "SKIP: $1 not installed ($2)"; exit 77; }; }
need p11tool gnutls-bin
need ssh-keygen openssh-client
ENGINE=$( (ls /usr/lib/*/engines-3/pkcs11.so /usr/lib/engines-3/pkcs11.so 2> /dev/null || true) | head -n 1)
[ -n "$ENGINE" ] || { echo "SKIP: libengine-pkcs11-openssl not installed"; exit 77; }

step "keys and a certificate: P-256 in 9A with a CA-issued certificate, RSA-2048 in 9D"
PSO --keypairgen --key-type EC:prime256v1 --id 01 > /dev/null
PSO --keypairgen --key-type rsa:2048 --id 03 > /dev/null
P --read-object --type pubkey --id 01 -o "$T/pub01.der" > /dev/null
openssl pkey -pubin -in "$T/pub01.der" -out "$T/pub01.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
    -out "$T/ca.pem" -subj /CN=walletkey-test-ca -days 30 2> /dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tmp.key" \
    -subj /CN=tmp -out "$T/csr" 2> /dev/null
printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' > "$T/ext"
openssl x509 -req -in "$T/csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
    -force_pubkey "$T/pub01.pem" -subj "/CN=walletkey client" -extfile "$T/ext" -days 30 \
    -out "$T/client.pem" 2> /dev/null
openssl x509 -in "$T/client.pem" -outform DER -out "$T/client.der"
PSO --write-object "$T/client.der" --type cert --id 01 > /dev/null
TOKEN=$(P -L | sed -n 's/^ *token label *: *//p' | head -n 1)
[ -n "$TOKEN" ] || fail "no token label"
URI="pkcs11:token=$(printf '%s' "$TOKEN" | sed 's/ /%20/g; s/#/%23/g')"

step "p11-kit: the module file is read and the token listed"
# the installed file names the module relative to p11-kit's module directory;
# here it is given by path
mkdir -p "$T/modules"
sed "s|^module:.*|module: $M|" "$HERE/../../pkcs11/walletkey.module" > "$T/modules/walletkey.module"
if [ "$(id -u)" = 0 ]; then
	# p11-kit reads no user configuration as root: show it the file in a
	# private mount namespace, beside the system's own module files
	cp /usr/share/p11-kit/modules/*.module "$T/modules/" 2> /dev/null || true
	unshare -m sh -c 'mount --bind "$1" /usr/share/p11-kit/modules && p11-kit list-modules' \
	    sh "$T/modules" > "$T/mods" 2>&1 || { cat "$T/mods"; fail "p11-kit list-modules"; }
else
	mkdir -p "$T/home/.config/pkcs11"
	cp -r "$T/modules" "$T/home/.config/pkcs11/"
	HOME=$T/home p11-kit list-modules > "$T/mods" 2>&1 ||
	    { cat "$T/mods"; fail "p11-kit list-modules"; }
fi
grep -q "^walletkey: " "$T/mods" || fail "module listed: $(cat "$T/mods")"
grep -q "token: $TOKEN" "$T/mods" || fail "token listed"

step "p11tool: tokens, objects, a signature checked by GnuTLS"
p11tool --provider "$M" --list-tokens > "$T/tok"
grep -q "Label: $TOKEN" "$T/tok" || fail "p11tool --list-tokens"
grep -q "Manufacturer: walletkey" "$T/tok" || fail "p11tool manufacturer"
p11tool --provider "$M" --list-all-certs "$URI" > "$T/certs"
grep -q "Label: Certificate for PIV Authentication" "$T/certs" || fail "p11tool certificate"
p11tool --provider "$M" --export "$URI;id=%01;type=cert" > "$T/exp.pem"
openssl x509 -in "$T/exp.pem" -outform DER | cmp -s - "$T/client.der" || fail "p11tool --export"
GNUTLS_PIN=$PIN p11tool --provider "$M" --login --list-privkeys "$URI" > "$T/keys"
grep -c "Type: Private key" "$T/keys" | grep -qx 2 || fail "p11tool private keys: $(cat "$T/keys")"
# (by CKA_ID: p11tool finds the public key through the URI it is given)
for id in 01 03; do
	GNUTLS_PIN=$PIN p11tool --provider "$M" --login --test-sign "$URI;id=%$id;type=private" \
	    > "$T/ts" 2>&1 || { cat "$T/ts"; fail "p11tool --test-sign $id"; }
	grep -q "Verifying against public key in the token... ok" "$T/ts" || fail "test-sign $id"
done

step "NSS: modutil adds the module, certutil -L -h all and -K see the card"
if command -v certutil > /dev/null && command -v modutil > /dev/null; then
	mkdir "$T/nss"
	certutil -N -d "sql:$T/nss" --empty-password
	modutil -dbdir "sql:$T/nss" -add walletkey -libfile "$M" -force > /dev/null ||
	    fail "modutil -add"
	modutil -dbdir "sql:$T/nss" -list walletkey > "$T/modlist" 2>&1 || true
	grep -q "Token Name: $TOKEN" "$T/modlist" || fail "modutil -list: $(cat "$T/modlist")"
	certutil -L -d "sql:$T/nss" -h all > "$T/nsscerts" || fail "certutil -L -h all"
	grep -q "$TOKEN:Certificate for PIV Authentication" "$T/nsscerts" ||
	    fail "certutil -L: $(cat "$T/nsscerts")"
	printf '%s\n' "$PIN" > "$T/pinfile"
	certutil -K -d "sql:$T/nss" -h "$TOKEN" -f "$T/pinfile" > "$T/nsskeys" ||
	    fail "certutil -K"
	grep -q "ec .*Private key for PIV Authentication" "$T/nsskeys" ||
	    fail "certutil -K: $(cat "$T/nsskeys")"
else
	echo "(libnss3-tools not installed: NSS part skipped)"
fi

step "ssh-keygen -D prints the keys"
ssh-keygen -D "$M" > "$T/ssh" 2> /dev/null || fail "ssh-keygen -D"
grep -q "^ecdsa-sha2-nistp256 " "$T/ssh" || fail "ssh ECDSA key"
grep -q "^ssh-rsa " "$T/ssh" || fail "ssh RSA key"
ssh-keygen -i -m PKCS8 -f "$T/pub01.pem" | cut -d' ' -f2 > "$T/ssh01"
grep -q "$(cat "$T/ssh01")" "$T/ssh" || fail "ssh key is the card's 9A key"

step "OpenSSL with libengine-pkcs11-openssl: a signature with a pkcs11: URI"
cat > "$T/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $M
init = 0
EOF
export OPENSSL_CONF=$T/openssl.cnf
KEY="$URI;object=Private%20key%20for%20PIV%20Authentication;type=private;pin-value=$PIN"
printf 'a file to sign\n' > "$T/data"
openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$KEY" -out "$T/sig" "$T/data" 2> "$T/err" ||
    { cat "$T/err"; fail "openssl dgst -sign with the engine"; }
openssl dgst -sha256 -verify "$T/pub01.pem" -signature "$T/sig" "$T/data" > /dev/null ||
    fail "engine signature does not verify"

step "TLS client certificate from the card against openssl s_server -Verify 1"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" \
    -out "$T/srv.pem" -subj /CN=localhost -days 30 2> /dev/null
# one handshake per server; it asks for a client certificate from the test CA
start_server() {
	# a free port the kernel picks (from its ephemeral range, apart from the
	# sandboxes' vpcd ports, which other tests take in parallel)
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	openssl s_server -accept "127.0.0.1:$PORT" -cert "$T/srv.pem" -key "$T/srv.key" \
	    -Verify 1 -CAfile "$T/ca.pem" -naccept 1 > "$T/server.log" 2>&1 < <(sleep 60) &
	SERVER=$!
	for _ in $(seq 50); do
		grep -q ACCEPT "$T/server.log" && break
		sleep 0.1
	done
}
start_server
echo Q | openssl s_client -connect "127.0.0.1:$PORT" -engine pkcs11 -keyform engine \
    -key "$KEY" -cert "$T/client.pem" -CAfile "$T/srv.pem" > "$T/client.log" 2>&1 ||
    { cat "$T/client.log" "$T/server.log"; fail "s_client"; }
wait_bounded "$SERVER" 60
SERVER=
grep -q "subject=CN = walletkey client" "$T/server.log" ||
    { cat "$T/server.log"; fail "server did not get the card's certificate"; }
grep -q "Verification: OK\|verify return:1" "$T/server.log" "$T/client.log" ||
    fail "handshake not verified"

if [ -d "$T/nss" ] && command -v tstclnt > /dev/null; then
	step "NSS (the browsers' TLS stack): tstclnt client certificate from the card"
	unset OPENSSL_CONF
	start_server
	# (tstclnt keeps the connection open after the handshake: the timeout ends it)
	timeout 10 tstclnt -h 127.0.0.1 -p "$PORT" -d "sql:$T/nss" \
	    -n "$TOKEN:Certificate for PIV Authentication" -W "$T/pinfile" -o \
	    -V tls1.2:tls1.3 < <(sleep 5) > "$T/nss_client.log" 2>&1 || true
	wait_bounded "$SERVER" 60
	SERVER=
	grep -q "subject=CN = walletkey client" "$T/server.log" ||
	    { cat "$T/server.log" "$T/nss_client.log"; fail "NSS handshake without the card's certificate"; }
fi

echo "p11_clients: all passed"
