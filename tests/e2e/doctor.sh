#!/bin/bash
# walletkey doctor: each gap named, --fix fixes what needs no root, the
# second run is clean; pcscd stopped and vpcd missing are named with the
# root command that fixes them
. "$(dirname "$0")/lib.sh"

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME=$home
export WALLETKEY_READER_CONF=$WALLETKEY_SANDBOX/conf
module=$WALLETKEY_BUILD_DIR/pkcs11/walletkey-pkcs11.so
# until the module is built, any real PKCS#11 module stands in for it
[ -f "$module" ] || module=$(ls /usr/lib/*/opensc-pkcs11.so | head -n 1)
export WALLETKEY_PKCS11_MODULE=$module

check() { # check NAME STATUS JSON
	local got
	got=$(jq -r --arg n "$1" '[.checks[] | select(.name == $n) | .status] | join(",")' <<<"$3")
	expect_eq "doctor check $1" "$got" "$2"
}

# a Chromium NSS database without the module, and no p11-kit registration
mkdir -p "$home/.pki/nssdb"
certutil -N -d "sql:$home/.pki/nssdb" --empty-password

out=$(walletkey --json doctor) && fail "doctor said all is well with gaps"
check pcscd-running ok "$out"
check vpcd-configured ok "$out"
check card ok "$out"
check p11-kit fail "$out"
check nss fail "$out"
jq -e '.ok == false' <<<"$out" >/dev/null || fail "ok should be false"
{ walletkey doctor || true; } | grep_q 'fix: write .*walletkey.module' || fail "no fix for p11-kit"

out=$(walletkey --json doctor --fix) || true
jq -e '[.checks[] | select(.status == "fail" and .fixed == false)] | length == 0' \
	<<<"$out" >/dev/null || fail "--fix left gaps: $out"
grep -q "module: $module" "$home/.config/pkcs11/modules/walletkey.module" ||
	fail "p11-kit module file not written"
grep -q "walletkey" "$home/.pki/nssdb/pkcs11.txt" || fail "NSS database not fixed"

out=$(walletkey --json doctor) || fail "second run not clean: $out"
check p11-kit ok "$out"
check nss ok "$out"

# pcscd stopped: a socket nobody serves
out=$(PCSCLITE_CSOCK_NAME=$home/nothing.comm walletkey --json doctor) &&
	fail "doctor passed without pcscd"
check pcscd-running fail "$out"
check card skip "$out"
jq -e '.checks[] | select(.name == "pcscd-running") | .fix_needs_root' <<<"$out" >/dev/null ||
	fail "starting pcscd needs root"

# vpcd missing: an empty reader.conf.d
mkdir "$home/conf"
out=$(WALLETKEY_READER_CONF=$home/conf walletkey --json doctor) &&
	fail "doctor passed without vpcd"
check vpcd-configured fail "$out"
jq -r '.checks[] | select(.name == "vpcd-configured") | .fix' <<<"$out" |
	grep -q 'apt-get install vsmartcard-vpcd' || fail "no fix for vpcd"

# vpcd listening on every interface, as Debian's and the sandbox's do: a
# warning that names the ports and the root command that closes them; it
# does not fail the run
out=$(WALLETKEY_READER_CONF=$WALLETKEY_SANDBOX/conf walletkey --json doctor) ||
	fail "doctor failed on vpcd's exposure alone: $out"
check vpcd-exposure warn "$out"
jq -r '.checks[] | select(.name == "vpcd-exposure") | .detail' <<<"$out" |
	grep_q "every interface (TCP $WALLETKEY_VPCD_PORT_0, $((WALLETKEY_VPCD_PORT_0 + 1)))" ||
	fail "the warning does not name the ports: $out"
jq -r '.checks[] | select(.name == "vpcd-exposure") | .fix' <<<"$out" |
	grep_q "iifname != lo tcp dport { $WALLETKEY_VPCD_PORT_0, $((WALLETKEY_VPCD_PORT_0 + 1)) } drop" ||
	fail "no firewall rule for the ports: $out"
jq -e '.checks[] | select(.name == "vpcd-exposure") | .fix_needs_root' <<<"$out" >/dev/null ||
	fail "the firewall needs root"
walletkey doctor | grep_q "^warn   vpcd-exposure" || fail "no warning in the text output"
walletkey doctor | grep_q "fix (as root): drop them from other hosts: nft" ||
	fail "no fix in the text output"

# reversed mode: a card listening on loopback is fine, on every interface not
lib=$(sed -n 's/^LIBPATH *//p' "$WALLETKEY_SANDBOX"/conf/* | head -n 1 | tr -d '"')
listeners=()
trap 'kill "${listeners[@]}" 2>/dev/null || true; rm -rf "$home"' EXIT
listen() { # ADDR: listens on a free port of ADDR, puts it in $home/port.ADDR
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(120)' "$1" >"$home/port.$1" &
	listeners+=($!)
	for _ in $(seq 50); do [ -s "$home/port.$1" ] && break; sleep 0.1; done
}
mkdir "$home/rconf"
listen 127.0.0.1
printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME 127.0.0.1:%s\nLIBPATH %s\n' \
	"$(cat "$home/port.127.0.0.1")" "$lib" >"$home/rconf/vpcd"
out=$(walletkey --json doctor --reader-conf "$home/rconf") || true
check card-exposure "" "$out"
listen 0.0.0.0
printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME 127.0.0.1:%s\nLIBPATH %s\n' \
	"$(cat "$home/port.0.0.0.0")" "$lib" >"$home/rconf/vpcd2"
out=$(walletkey --json doctor --reader-conf "$home/rconf") || true
check card-exposure warn "$out"
jq -r '.checks[] | select(.name == "card-exposure") | .fix' <<<"$out" |
	grep_q -- "--listen 127.0.0.1:PORT" || fail "no fix for the exposed card"
kill "${listeners[@]}" 2>/dev/null || true

# an issuer nobody serves
out=$(walletkey --json doctor --issuer http://127.0.0.1:9) && fail "dead issuer passed"
check issuer fail "$out"

# usage errors
expect_status 2 walletkey doctor --bogus
echo "doctor: ok"
