# shellcheck shell=bash disable=SC2034
# shared by the real-browser tests (p11_firefox.sh, p11_chromium.sh); sourced
# inside tools/walletkey-sandbox. Makes a test CA, a server certificate for
# 127.0.0.1 issued by it, a key on the card with a certificate from the same
# CA, and starts the HTTPS page (p11_browser_server.py) that requires a client
# certificate and shows its subject.
set -euo pipefail

M=${WALLETKEY_P11_MODULE:?set WALLETKEY_P11_MODULE to walletkey-pkcs11.so}
: "${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}"
BUILD=${WALLETKEY_BUILD_DIR:?run through meson test or set WALLETKEY_BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d)
PIN=123456
export WALLETKEY_PIN=$PIN
unset WALLETKEY_MGMT_KEY
# pids to kill at exit (browsers, the server), and commands to run
KILL_PIDS=()
CLEANUP=()

cleanup() {
	local p c
	for p in "${KILL_PIDS[@]}"; do
		# a process group when it leads one (setsid), else the process
		kill -TERM -- "-$p" 2> /dev/null || kill -TERM "$p" 2> /dev/null || true
	done
	for p in "${KILL_PIDS[@]}"; do
		for _ in $(seq 30); do
			kill -0 "$p" 2> /dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$p" 2> /dev/null || kill -KILL "$p" 2> /dev/null || true
	done
	for c in "${CLEANUP[@]}"; do
		eval "$c" || true
	done
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

step() { echo "== $*"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
need() { command -v "$1" > /dev/null || { echo "SKIP: $1 not installed ($2)"; exit 77; }; }
need certutil libnss3-tools
need modutil libnss3-tools
need python3 python3

wk() { "$BUILD/tools/walletkey" --reader "$WALLETKEY_READER_0" "$@"; }

# make_pki: test CA and server certificate (SAN IP 127.0.0.1) in $T
make_pki() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/ca.key" -out "$T/ca.pem" -subj "/CN=walletkey browser test CA" \
	    -days 30 -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2> /dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/srv.key" -out "$T/srv.csr" -subj "/CN=127.0.0.1" 2> /dev/null
	printf '%s\n' "subjectAltName=IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
	    "keyUsage=critical,digitalSignature" "basicConstraints=CA:FALSE" > "$T/srv.ext"
	openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -extfile "$T/srv.ext" -days 30 -out "$T/srv.pem" 2> /dev/null
}

# card_key SLOT ALG PIN_POLICY CN: key generated on the card, CSR signed by
# the card, certificate from the test CA imported into the slot
card_key() {
	local slot=$1 alg=$2 policy=$3 cn=$4
	wk key generate --slot "$slot" --alg "$alg" --pin-policy "$policy" \
	    --touch-policy never > "$T/$slot.pub" 2> "$T/wk.err" ||
	    { cat "$T/wk.err"; fail "key generate $slot"; }
	wk cert request --slot "$slot" --subject "/CN=$cn" --out "$T/$slot.csr" 2> "$T/wk.err" ||
	    { cat "$T/wk.err"; fail "cert request $slot"; }
	printf '%s\n' "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature" \
	    "basicConstraints=CA:FALSE" > "$T/client.ext"
	openssl x509 -req -in "$T/$slot.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -extfile "$T/client.ext" -days 30 -out "$T/$slot.crt" 2> /dev/null ||
	    fail "CA did not sign the card's request"
	wk cert import --slot "$slot" --in "$T/$slot.crt" 2> "$T/wk.err" ||
	    { cat "$T/wk.err"; fail "cert import $slot"; }
}

# nss_db DIR [MODUTIL-ARGS...]: an NSS database with the module and the test
# CA trusted for TLS servers
nss_db() {
	local d=$1
	shift
	mkdir -p "$d"
	certutil -N -d "sql:$d" --empty-password
	certutil -A -d "sql:$d" -n "walletkey browser test CA" -t "C,," -i "$T/ca.pem"
	modutil -dbdir "sql:$d" -add walletkey -libfile "$M" "$@" -force > /dev/null ||
	    fail "modutil -add"
	# (an empty reader beside the card makes modutil -list exit 1)
	modutil -dbdir "sql:$d" -list walletkey > "$T/modlist" 2>&1 || true
	grep -q "Token Name: walletkey" "$T/modlist" ||
	    fail "modutil -list does not show the card: $(cat "$T/modlist")"
}

# start_server: the HTTPS page; sets PORT and URL; the log is $T/server.log
start_server() {
	setsid timeout -k 5 "${SERVER_LIFETIME:-900}" python3 "$HERE/p11_browser_server.py" "$T/srv.pem" "$T/srv.key" \
	    "$T/ca.pem" "$T/port" "$T/server.log" > "$T/server.out" 2>&1 &
	KILL_PIDS+=($!)
	for _ in $(seq 100); do
		[ -s "$T/port" ] && break
		sleep 0.1
	done
	[ -s "$T/port" ] || { cat "$T/server.out"; fail "HTTPS server did not start"; }
	PORT=$(cat "$T/port")
	URL="https://127.0.0.1:$PORT/whoami"
}

# the server must have seen the card's certificate: expect_server_subject CN
expect_server_subject() {
	grep -q "subject: CN=$1 path: .* tls: TLSv1.3" "$T/server.log" 2> /dev/null ||
	    { cat "$T/server.out" "$T/server.log" 2> /dev/null; fail "the server did not get the certificate of CN=$1"; }
}
