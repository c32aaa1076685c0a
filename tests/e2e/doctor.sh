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

# vpcd missing, --fix: as root the packages are installed with apt-get
# (a stand-in here, which configures vpcd as the package would) and pcscd
# restarted; without root the exact command is printed and nothing runs
mkdir "$home/fixconf" "$home/bin"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s/apt.log"\nprintf "FRIENDLYNAME \\"Virtual PCD\\"\\nDEVICENAME /dev/null:0x8C7B\\nLIBPATH %s\\n" >"%s/fixconf/vpcd"\n' \
	"$home" "$lib" "$home" >"$home/bin/fake-apt-get"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s/systemctl.log"\n' "$home" >"$home/bin/fake-systemctl"
chmod +x "$home/bin/fake-apt-get" "$home/bin/fake-systemctl"
export WALLETKEY_DOCTOR_APT=$home/bin/fake-apt-get WALLETKEY_DOCTOR_SYSTEMCTL=$home/bin/fake-systemctl
out=$(WALLETKEY_DOCTOR_ROOT=0 walletkey --json doctor --fix --reader-conf "$home/fixconf") &&
	fail "doctor --fix without root passed with vpcd missing"
jq -e '.root_command == "sudo apt-get install -y vsmartcard-vpcd && sudo systemctl restart pcscd.socket pcscd.service" and .root_fix_ran == false' \
	<<<"$out" >/dev/null || fail "without root: not the exact command: $out"
[ ! -e "$home/apt.log" ] || fail "without root, doctor ran apt-get"
{ WALLETKEY_DOCTOR_ROOT=0 walletkey doctor --fix --reader-conf "$home/fixconf" || true; } |
	grep_q "^to install what is missing: sudo apt-get install -y vsmartcard-vpcd" ||
	fail "no command in the text output"
out=$(WALLETKEY_DOCTOR_ROOT=1 walletkey --json doctor --fix --reader-conf "$home/fixconf") ||
	fail "doctor --fix as root left gaps: $out"
[ "$(cat "$home/apt.log")" = "install -y vsmartcard-vpcd" ] || fail "apt-get ran as: $(cat "$home/apt.log")"
[ "$(cat "$home/systemctl.log")" = "restart pcscd.socket pcscd.service" ] || fail "pcscd was not restarted"
jq -e '.root_fix_ran and .root_fix_ok and ([.checks[] | select(.name == "vpcd-configured")][0] | .status == "ok" and .fixed)' \
	<<<"$out" >/dev/null || fail "as root: vpcd not fixed: $out"
unset WALLETKEY_DOCTOR_APT WALLETKEY_DOCTOR_SYSTEMCTL

# usage errors
expect_status 2 walletkey doctor --bogus
echo "doctor: ok"
