#!/bin/bash
# OpenSSH with walletkey-pkcs11.so: ssh-keygen -D, a login into a private
# sshd on 127.0.0.1 with PKCS11Provider, and ssh-add -s into an ssh-agent
# started with -P. Keys: P-256 in 9A, RSA-2048 in 9D. The PIN goes through
# SSH_ASKPASS. Runs inside tools/walletkey-sandbox; needs openssh-server.
set -euo pipefail

M=${WALLETKEY_P11_MODULE:?set WALLETKEY_P11_MODULE to walletkey-pkcs11.so}
: "${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}"
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || { echo "SKIP: openssh-server not installed"; exit 77; }
T=$(mktemp -d)
SSHD_PID=
AGENT_PID=
cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2> /dev/null || true
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2> /dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
SO=010203040506070801020304050607080102030405060708

P() { pkcs11-tool --module "$M" "$@"; }
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "keys: P-256 in 9A, RSA-2048 in 9D"
P --login --login-type so --so-pin "$SO" --keypairgen --key-type EC:prime256v1 --id 01 > /dev/null
P --login --login-type so --so-pin "$SO" --keypairgen --key-type rsa:2048 --id 03 > /dev/null
ssh-keygen -D "$M" > "$T/keys" 2> /dev/null || fail "ssh-keygen -D"
[ "$(grep -c . "$T/keys")" = 2 ] || fail "two keys: $(cat "$T/keys")"

step "sshd on 127.0.0.1 that knows the card's keys"
ssh-keygen -q -t ed25519 -N '' -f "$T/host_key"
cp "$T/keys" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
# a free port the kernel picks (from its ephemeral range, apart from the
# sandboxes' vpcd ports, which other tests take in parallel)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$T/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/host_key
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
EOF
[ -d /run/sshd ] || mkdir -p /run/sshd
"$SSHD" -D -e -f "$T/sshd_config" 2> "$T/sshd.log" &
SSHD_PID=$!
for _ in $(seq 50); do
	grep -q "Server listening" "$T/sshd.log" && break
	sleep 0.1
done

# the PIN through SSH_ASKPASS (no terminal here)
printf '#!/bin/sh\necho 123456\n' > "$T/askpass"
chmod +x "$T/askpass"
export SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0
SSH_OPTS=(-F /dev/null -p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    -o PasswordAuthentication=no -o LogLevel=ERROR)

step "ssh with PKCS11Provider"
out=$(ssh "${SSH_OPTS[@]}" -o PKCS11Provider="$M" \
    "$(id -un)@127.0.0.1" echo logged-in-with-walletkey < /dev/null) ||
    { cat "$T/sshd.log"; fail "ssh login"; }
[ "$out" = logged-in-with-walletkey ] || fail "ssh output: $out"

step "ssh-agent -P and ssh-add -s"
eval "$(ssh-agent -s -P "$(dirname "$(readlink -f "$M")")/*")" > /dev/null
AGENT_PID=$SSH_AGENT_PID
ssh-add -s "$M" < /dev/null > "$T/add" 2>&1 || { cat "$T/add"; fail "ssh-add -s"; }
ssh-add -L > "$T/agent_keys"
[ "$(grep -c . "$T/agent_keys")" = 2 ] || fail "agent holds the two keys"
out=$(ssh "${SSH_OPTS[@]}" "$(id -un)@127.0.0.1" echo via-agent < /dev/null) ||
    fail "ssh through the agent"
[ "$out" = via-agent ] || fail "ssh output: $out"
ssh-add -e "$M" > /dev/null 2>&1 || fail "ssh-add -e"

echo "p11_ssh: all passed"
