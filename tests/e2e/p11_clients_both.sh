#!/bin/bash
# Real clients with both keys of a card provisioned by the walletkey CLI:
# RSA-2048 in 9A and P-256 in 9C with PIN policy "once", certificates from
# a test CA. OpenSSL through libengine-pkcs11-openssl (pkeyutl, dgst,
# s_client, curl), GnuTLS gnutls-cli, NSS tstclnt, ssh-agent.
# The 9C case is issue 13's first bug: in a process with the engine loaded
# the key was reported CKA_ALWAYS_AUTHENTICATE and every client failed.
# Runs inside tools/walletkey-sandbox; the module from WALLETKEY_P11_MODULE.
set -euo pipefail

M=${WALLETKEY_P11_MODULE:?set WALLETKEY_P11_MODULE to walletkey-pkcs11.so}
B=${WALLETKEY_BUILD_DIR:?run through meson test}
: "${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}"
# wait_bounded
. "$(dirname "$0")/wait_lib.sh"
T=$(mktemp -d)
SERVER=
AGENT=
cleanup() {
	[ -n "$SERVER" ] && kill "$SERVER" 2> /dev/null || true
	[ -n "$AGENT" ] && kill "$AGENT" 2> /dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
PIN=123456
export WALLETKEY_PIN=$PIN
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" > /dev/null || { echo "SKIP: $1 not installed ($2)"; exit 77; }; }
wk() { "$B/tools/walletkey" --reader "$WALLETKEY_READER_0" "$@"; }
need gnutls-cli gnutls-bin
need curl curl
need ssh-agent openssh-client
ENGINE=$( (ls /usr/lib/*/engines-3/pkcs11.so /usr/lib/engines-3/pkcs11.so 2> /dev/null || true) | head -n 1)
[ -n "$ENGINE" ] || { echo "SKIP: libengine-pkcs11-openssl not installed"; exit 77; }

step "provision with the CLI: RSA-2048 in 9A, P-256 in 9C (PIN once), CA certificates"
wk key generate --slot 9a --alg rsa2048 > /dev/null 2>&1
wk key generate --slot 9c --alg eccp256 --pin-policy once > /dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
    -out "$T/ca.pem" -subj /CN=walletkey-test-ca -days 30 2> /dev/null
printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' > "$T/ext"
for s in 9a 9c; do
	wk cert request --slot "$s" --subject "/CN=client $s" --out "$T/$s.csr" > /dev/null 2>&1
	openssl x509 -req -in "$T/$s.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	    -extfile "$T/ext" -days 30 -out "$T/$s.pem" 2> /dev/null
	wk cert import --slot "$s" --in "$T/$s.pem" > /dev/null 2>&1
	openssl x509 -in "$T/$s.pem" -pubkey -noout > "$T/$s.pub"
done
TOKEN=$(pkcs11-tool --module "$M" -L | sed -n 's/^ *token label *: *//p' | head -n 1)
URI="pkcs11:token=$(printf '%s' "$TOKEN" | sed 's/ /%20/g; s/#/%23/g')"
key_uri() { echo "$URI;id=%0$1;type=private"; }

step "the module: 9C with PIN policy once is not always-authenticate"
pkcs11-tool --module "$M" --login --pin "$PIN" -O --type privkey > "$T/objs" 2>&1
grep -A8 "Private Key Object; EC" "$T/objs" | grep -q "always authenticate" &&
    fail "9C reported always-authenticate: $(cat "$T/objs")"

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
PIN = $PIN
init = 0
EOF
export OPENSSL_CONF=$T/openssl.cnf
printf 'a file to sign\n' > "$T/data"
openssl dgst -sha256 -binary -out "$T/data.sha256" "$T/data"

for s in 1 2; do
	slot=$([ $s = 1 ] && echo 9a || echo 9c)
	step "OpenSSL engine, key $slot: openssl dgst -sign and pkeyutl -sign"
	openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$(key_uri $s)" \
	    -out "$T/sig" "$T/data" > "$T/err" 2>&1 || { cat "$T/err"; fail "dgst -sign $slot"; }
	openssl dgst -sha256 -verify "$T/$slot.pub" -signature "$T/sig" "$T/data" > /dev/null ||
	    fail "dgst signature $slot"
	if [ $s = 1 ]; then
		PKO=(-pkeyopt digest:sha256)
	else
		PKO=()
	fi
	openssl pkeyutl -engine pkcs11 -keyform engine -sign -inkey "$(key_uri $s)" \
	    "${PKO[@]}" -in "$T/data.sha256" -out "$T/psig" > "$T/err" 2>&1 ||
	    { cat "$T/err"; fail "pkeyutl -sign $slot"; }
	openssl pkeyutl -verify -pubin -inkey "$T/$slot.pub" "${PKO[@]}" -in "$T/data.sha256" \
	    -sigfile "$T/psig" > /dev/null || fail "pkeyutl signature $slot"
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" \
    -out "$T/srv.pem" -subj /CN=localhost -days 30 2> /dev/null
start_server() {
	# a free port the kernel picks (from its ephemeral range, apart from the
	# sandboxes' vpcd ports, which other tests take in parallel)
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	OPENSSL_CONF=/dev/null openssl s_server -accept "127.0.0.1:$PORT" -cert "$T/srv.pem" \
	    -key "$T/srv.key" -Verify 1 -CAfile "$T/ca.pem" -naccept 1 -www \
	    > "$T/server.log" 2>&1 < /dev/null &
	SERVER=$!
	for _ in $(seq 50); do
		grep -q ACCEPT "$T/server.log" && break
		sleep 0.1
	done
}
stop_server() {
	wait_bounded "$SERVER" 60
	SERVER=
}
# s_server -www answers with a page that prints the client's certificate
check_client() {
	grep -q "Subject: CN *= *client $1" "$3" ||
	    { cat "$T/server.log" "$3" 2> /dev/null; fail "$2 with $1: no client certificate"; }
}

for s in 1 2; do
	slot=$([ $s = 1 ] && echo 9a || echo 9c)
	step "TLS client certificate $slot: openssl s_client"
	start_server
	printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -quiet -connect "127.0.0.1:$PORT" -engine pkcs11 -keyform engine \
	    -key "$(key_uri $s)" -cert "$T/$slot.pem" -CAfile "$T/srv.pem" > "$T/client.log" 2>&1 ||
	    { cat "$T/client.log"; fail "s_client $slot"; }
	stop_server
	check_client "$slot" s_client "$T/client.log"

	step "TLS client certificate $slot: curl with the engine"
	start_server
	curl -sS --engine pkcs11 --key-type ENG --key "$(key_uri $s)" --cert "$T/$slot.pem" \
	    --cacert "$T/srv.pem" "https://localhost:$PORT/" --resolve "localhost:$PORT:127.0.0.1" \
	    -o "$T/page" > "$T/client.log" 2>&1 || { cat "$T/client.log"; fail "curl $slot"; }
	stop_server
	check_client "$slot" curl "$T/page"

	step "TLS client certificate $slot: gnutls-cli"
	start_server
	GNUTLS_PIN=$PIN gnutls-cli --provider "$M" --x509certfile "$T/$slot.pem" \
	    --x509keyfile "$(key_uri $s)" --x509cafile "$T/srv.pem" --port "$PORT" localhost \
	    < <(printf 'GET / HTTP/1.0\r\n\r\n'; sleep 2) > "$T/client.log" 2>&1 ||
	    { cat "$T/client.log"; fail "gnutls-cli $slot"; }
	stop_server
	check_client "$slot" gnutls-cli "$T/client.log"
done

if command -v certutil > /dev/null && command -v tstclnt > /dev/null; then
	unset OPENSSL_CONF
	mkdir "$T/nss"
	certutil -N -d "sql:$T/nss" --empty-password
	modutil -dbdir "sql:$T/nss" -add walletkey -libfile "$M" -force > /dev/null
	printf '%s\n' "$PIN" > "$T/pinfile"
	for s in 9a 9c; do
		name=$([ $s = 9a ] && echo "PIV Authentication" || echo "Digital Signature")
		step "TLS client certificate $s: NSS tstclnt"
		start_server
		timeout 10 tstclnt -h 127.0.0.1 -p "$PORT" -d "sql:$T/nss" \
		    -n "$TOKEN:Certificate for $name" -W "$T/pinfile" -o -V tls1.2:tls1.3 \
		    < <(printf 'GET / HTTP/1.0\r\n\r\n'; sleep 3) > "$T/client.log" 2>&1 || true
		stop_server
		check_client "$s" tstclnt "$T/client.log"
	done
fi

step "ssh-agent: both keys added from the module, each signs"
unset OPENSSL_CONF
eval "$(ssh-agent -s -P "$(dirname "$(readlink -f "$M")")/*")" > /dev/null
AGENT=$SSH_AGENT_PID
printf '%s\n' "$PIN" > "$T/askpin"
printf '#!/bin/sh\ncat %s\n' "$T/askpin" > "$T/askpass"
chmod +x "$T/askpass"
SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh-add -s "$M" \
    < /dev/null > "$T/add" 2>&1 || { cat "$T/add"; fail "ssh-add -s"; }
ssh-add -L > "$T/agent_keys"
grep -q "^ssh-rsa " "$T/agent_keys" || fail "agent: no RSA key"
grep -q "^ecdsa-sha2-nistp256 " "$T/agent_keys" || fail "agent: no P-256 key"
n=0
while read -r line; do
	n=$((n + 1))
	echo "$line" > "$T/agent$n.pub"
	ssh-keygen -Y sign -f "$T/agent$n.pub" -n file "$T/data" > /dev/null 2>&1 ||
	    fail "agent signature with $(cut -d' ' -f1 "$T/agent$n.pub")"
	printf 'me %s\n' "$line" > "$T/allowed"
	ssh-keygen -Y verify -f "$T/allowed" -I me -n file -s "$T/data.sig" < "$T/data" > /dev/null ||
	    fail "agent signature does not verify"
	rm -f "$T/data.sig"
done < "$T/agent_keys"

echo "p11_clients_both: all passed"
