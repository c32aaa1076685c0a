#!/bin/bash
# Builds the Debian packages from a copy of the tree, checks them with
# lintian, installs them with apt-get, and then, without the build tree,
# proves the installed pieces work: the card started with the installed
# unit's command line shows up in pcscd's reader, p11-kit lists the module,
# pkcs11-tool signs through the installed module, and walletkey from PATH
# runs the wallet; the issuer started with its installed unit's command
# lines (the key file and TLS certificate its postinst made) serves HTTPS,
# and the packaged card enrols, loads and syncs through it over TLS.
# Removes the packages again at the end.
# Needs root (apt-get, mount namespaces). Used by "tools/bootstrap test" in CI.
#
#   deb_test.sh              build the packages, then check them
#   deb_test.sh --build DIR  only build them, into DIR (tools/bootstrap does
#                            this in the background while the suite runs)
#   deb_test.sh --debs DIR   check the packages --build put into DIR
# DIR is the caller's: the script leaves it in place.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mode=all
case ${1:-} in
--build | --debs)
	[ $# -eq 2 ] && [ -d "$2" ] || { echo "usage: $0 [--build DIR | --debs DIR]" >&2; exit 2; }
	mode=${1#--}
	work=$(cd "$2" && pwd)
	;;
"") work=$(mktemp -d /var/tmp/walletkey-deb.XXXXXX) ;;
*) echo "usage: $0 [--build DIR | --debs DIR]" >&2; exit 2 ;;
esac
installed=()
lintian_pid=""
# the cards' seal credential is the machine's, kept on purge: remove it
# after the test only if the test made it
had_cred=false
[ ! -e /etc/credstore.encrypted/walletkey-seal ] || had_cred=true
# the issuer's key file, certificate and state are the machine's too
had_iss_conf=false
[ ! -e /etc/walletkey-issuer ] || had_iss_conf=true
had_iss_state=false
[ ! -e /var/lib/walletkey-issuer ] || had_iss_state=true
iss_pid=""
cleanup() {
	[ -z "$lintian_pid" ] || kill "$lintian_pid" 2>/dev/null || true
	[ -z "$iss_pid" ] || kill "$iss_pid" 2>/dev/null || true
	[ -z "$iss_pid" ] || wait "$iss_pid" 2>/dev/null || true
	$had_cred || rm -f /etc/credstore.encrypted/walletkey-seal
	if [ ${#installed[@]} -gt 0 ]; then
		apt-get purge -y -q "${installed[@]}" >/dev/null 2>&1 || true
	fi
	$had_iss_conf || rm -rf /etc/walletkey-issuer
	$had_iss_state || rm -rf /var/lib/walletkey-issuer
	[ "$mode" != all ] || rm -rf "$work"
	rm -rf "${creds:-}" "${issdir:-}" "${mfgdir:-}"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
step() {
	printf '\n== %s\n' "$*"
}
grep_q() { grep "$@" >/dev/null; }

if [ "$mode" != debs ]; then
	step "dpkg-buildpackage on a copy of the tree"
	mkdir "$work/src"
	# the tracked files only, as a clean checkout would have them; a tree without
	# git (copied into a container image) without its build trees
	if command -v git >/dev/null && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$ROOT" ls-files -z | (cd "$ROOT" && xargs -0 cp --parents -t "$work/src")
	else
		tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude='./build-*' \
			--exclude='./obj-*' -cf - . | tar -C "$work/src" -xf -
	fi
	# nocheck: the package test checks what the packages install; the tests
	# of this tree run beside it (tools/bootstrap test), so the package build
	# neither builds nor runs them again (debian/rules)
	(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
		dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
		{ tail -40 "$work/build.log"; fail "dpkg-buildpackage"; }
fi
ls "$work"/*.deb
for p in libwalletkey0 libwalletkey-skf0 libwalletkey-dev walletkey-pkcs11 walletkey-card walletkey-tools walletkey-issuer; do
	ls "$work"/${p}_*.deb >/dev/null 2>&1 || fail "package $p was not built"
done
if [ "$mode" = build ]; then
	trap - EXIT
	exit 0
fi

# lintian reads only the packages: it runs while the packages are
# installed and used, and its verdict is read at the end
lintian --fail-on error "$work"/*.changes >"$work/lintian.log" 2>&1 &
lintian_pid=$!

step "apt-get install ./*.deb"
mapfile -t installed < <(for d in "$work"/*.deb; do dpkg-deb -f "$d" Package; done)
apt-get install -y -q "$work"/*.deb >"$work/install.log" 2>&1 ||
	{ tail -20 "$work/install.log"; fail "apt-get install"; }

# from here on nothing of the build tree: a directory without it, PATH only
cd /
export WALLETKEY_BUILD_DIR=/nonexistent
unset LD_LIBRARY_PATH
[ "$(command -v walletkey)" = /usr/bin/walletkey ] || fail "walletkey is not the installed one"
module=$(dpkg -L walletkey-pkcs11 | grep '/walletkey-pkcs11\.so$')
unit=$(dpkg -L walletkey-card | grep 'walletkey-card@\.service$')
getent passwd walletkey >/dev/null || fail "no walletkey system user"
man -w walletkey-card walletkey walletkey-issuer walletkey-sandbox walletkey-mfg >/dev/null ||
	fail "a man page is missing"
for f in /usr/lib/*/libwalletkey.so.0 /usr/include/walletkey.h; do
	[ -e "$f" ] || fail "$f is not installed"
done
for part in core piv purse wallet flows pay session audit gm anon; do
	[ -e "/usr/include/walletkey/$part.h" ] || fail "walletkey/$part.h is not installed"
done
pkg-config --exists libwalletkey || fail "pkg-config does not know libwalletkey"
# <walletkey.h> gives the whole API from the installed headers alone
printf '#include <walletkey.h>\nint main(void) { return wk_ctx_new(0) == WK_OK; }\n' >"$work/api.c"
gcc -std=c11 -Wall -Werror -c $(pkg-config --cflags libwalletkey) -o "$work/api.o" "$work/api.c" ||
	fail "a program cannot include the installed <walletkey.h>"

step "the control panel and its user service are installed and serve"
watch_unit=$(dpkg -L walletkey-tools | grep '/systemd/user/walletkey-watch\.service$') ||
	fail "walletkey-tools does not ship walletkey-watch.service"
grep_q '^ExecStart=/usr/bin/walletkey watch$' "$watch_unit" || fail "the watch unit does not run walletkey watch"
for f in index.html app.js app.css; do
	dpkg -L walletkey-tools | grep_q "/usr/share/walletkey/ui/$f\$" || fail "the panel's $f is not shipped"
done
walletkey --json ui --no-browser --idle-exit 30 >"$work/ui.json" 2>"$work/ui.err" &
ui_pid=$!
for _ in $(seq 50); do [ -s "$work/ui.json" ] && break; sleep 0.1; done
ui_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$work/ui.json") ||
	{ kill "$ui_pid" 2>/dev/null; cat "$work/ui.err"; fail "walletkey ui did not start"; }
curl -fsS "http://127.0.0.1:$ui_port/" | grep_q '<script src="/static/app.js"' ||
	{ kill "$ui_pid" 2>/dev/null; fail "the installed panel's page is not served"; }
kill "$ui_pid" 2>/dev/null || true
wait "$ui_pid" 2>/dev/null || true

step "p11-kit list-modules shows the module"
p11-kit list-modules | grep_q -i walletkey || fail "p11-kit does not list walletkey"

step "the cards' seal key is a systemd credential, not a file beside the stores"
cred=$(sed -n 's/^LoadCredentialEncrypted=walletkey-seal://p' "$unit")
[ -n "$cred" ] || fail "the unit loads no encrypted seal credential"
[ -s "$cred" ] || fail "postinst made no seal credential at $cred"
[ "$(stat -c %a "$cred")" = 600 ] || fail "$cred is not mode 0600"
[ ! -e /var/lib/walletkey/seal.key ] || fail "a seal key lies beside the stores"
grep_q -- "--seal-credential walletkey-seal" "$unit" || fail "the unit does not use the credential"
# what systemd does for LoadCredentialEncrypted=: the key in clear in a
# directory of the unit's own, for the unit's user only
creds=$(mktemp -d /var/tmp/walletkey-creds.XXXXXX)
systemd-creds decrypt --name=walletkey-seal "$cred" "$creds/walletkey-seal" ||
	fail "systemd-creds cannot decrypt $cred"
[ "$(stat -c %s "$creds/walletkey-seal")" = 32 ] || fail "the seal key is not 32 bytes"
chown -R walletkey: "$creds"
chmod 0500 "$creds"
chmod 0400 "$creds/walletkey-seal"

step "an upgrade moves a seal key left beside the stores into the credential"
mv "$cred" "$work/cred.saved"
mkdir -p /var/lib/walletkey
(umask 077 && head -c 32 /dev/urandom >/var/lib/walletkey/seal.key)
cp /var/lib/walletkey/seal.key "$work/old.key"
/var/lib/dpkg/info/walletkey-card.postinst configure 0.1.0 ||
	fail "postinst configure failed"
[ ! -e /var/lib/walletkey/seal.key ] || fail "the old seal key is still beside the stores"
systemd-creds decrypt --name=walletkey-seal "$cred" - | cmp -s - "$work/old.key" ||
	fail "the credential does not hold the old key"
mv "$work/cred.saved" "$cred"

step "the issuer's key file and TLS certificate are made at install"
iunit=$(dpkg -L walletkey-issuer | grep 'walletkey-issuer\.service$')
getent passwd walletkey-issuer >/dev/null || fail "no walletkey-issuer system user"
idefault=/etc/default/walletkey-issuer
[ -f "$idefault" ] || fail "no $idefault"
ival() { (set -a; . "$idefault"; set +a; eval "printf '%s' \"\${$1}\""); }
ikey=$(ival WALLETKEY_ISSUER_KEY_FILE)
icert=$(ival WALLETKEY_ISSUER_TLS_CERT)
itlskey=$(ival WALLETKEY_ISSUER_TLS_KEY)
[ "$(stat -c '%a %U' "$ikey")" = "600 walletkey-issuer" ] ||
	fail "$ikey is not mode 0600 of walletkey-issuer: $(stat -c '%a %U' "$ikey")"
grep -Eq '^[0-9a-f]{64}$' "$ikey" || fail "$ikey is not 32 bytes of hex"
[ "$(stat -c '%a %U' "$itlskey")" = "600 walletkey-issuer" ] || fail "$itlskey is not 0600"
openssl x509 -in "$icert" -noout -ext subjectAltName | grep_q 'IP Address:127.0.0.1' ||
	fail "the certificate does not name 127.0.0.1"
for opt in --key-file --tls-cert --tls-key; do
	grep_q -- "^ExecStart=.* $opt " "$iunit" || fail "the issuer unit starts without $opt"
done
cp "$ikey" "$work/ikey.saved"
cp "$icert" "$work/icert.saved"
/var/lib/dpkg/info/walletkey-issuer.postinst configure 0.1.0 ||
	fail "walletkey-issuer postinst configure failed"
cmp -s "$ikey" "$work/ikey.saved" && cmp -s "$icert" "$work/icert.saved" ||
	fail "a second configure replaced the key file or the certificate"

step "the issuer's unit command lines serve HTTPS"
# the card factory's manufacturer CA (walletkey-mfg, installed): its key
# for the card unit's init options, its certificate for the issuer
mfgdir=$(mktemp -d /var/tmp/walletkey-mfg.XXXXXX)
chmod 0755 "$mfgdir"
walletkey-mfg ca-init --key "$mfgdir/ca.key" --cert "$mfgdir/ca.pem" >/dev/null ||
	fail "walletkey-mfg ca-init"
chown walletkey: "$mfgdir/ca.key"
chmod 0644 "$mfgdir/ca.pem"
# what systemd does for StateDirectory=walletkey-issuer
install -d -m 0700 -o walletkey-issuer -g walletkey-issuer /var/lib/walletkey-issuer
issdir=$(mktemp -d /var/tmp/walletkey-iss.XXXXXX)
chmod 0755 "$issdir"
iss_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
iss_pre=$(sed -n 's/^ExecStartPre=//p' "$iunit")
iss_start=$(sed -n 's/^ExecStart=//p' "$iunit")
echo "unit: $iss_pre"
echo "unit: $iss_start"
# the unit's command lines with its EnvironmentFile (the listening port
# moved to a free one, as an operator would edit it); between them the
# operator's first steps: trust the factory, open an account
{
	echo '#!/bin/bash'
	echo 'set -euo pipefail'
	echo "set -a; . $idefault; set +a"
	echo 'WALLETKEY_ISSUER_LISTEN=127.0.0.1:$ISS_PORT'
	echo "$iss_pre"
	cat <<'EOS'
walletkey-issuer manufacturer-add --db "$WALLETKEY_ISSUER_DB" \
	--key-file "$WALLETKEY_ISSUER_KEY_FILE" --cert "$MFG_CERT" >/dev/null
WK_PW=correct-horse walletkey-issuer account-create --db "$WALLETKEY_ISSUER_DB" \
	--pan 6222000000000001 --name Packaged --password-env WK_PW >/dev/null
walletkey-issuer deposit --db "$WALLETKEY_ISSUER_DB" --pan 6222000000000001 \
	--amount 100000 >/dev/null
EOS
	echo "exec $iss_start"
} >"$issdir/issuer.sh"
chmod 0755 "$issdir/issuer.sh"
# as the unit's User= (setpriv execs: $! is the server itself)
ISS_PORT=$iss_port MFG_CERT=$mfgdir/ca.pem setpriv --reuid=walletkey-issuer \
	--regid=walletkey-issuer --init-groups "$issdir/issuer.sh" >"$issdir/log" 2>&1 &
iss_pid=$!
iss_url=https://127.0.0.1:$iss_port
for _ in $(seq 100); do
	curl -fsS --cacert "$icert" "$iss_url/v1/health" >/dev/null 2>&1 && break
	kill -0 "$iss_pid" 2>/dev/null || break
	sleep 0.2
done
curl -fsS --cacert "$icert" "$iss_url/v1/health" >/dev/null ||
	{ cat "$issdir/log"; fail "the packaged issuer does not answer over TLS"; }
if curl -fsS "http://127.0.0.1:$iss_port/v1/health" >/dev/null 2>&1; then
	fail "the packaged issuer answers plain HTTP"
fi
if curl -fsS "$iss_url/v1/health" >/dev/null 2>&1; then
	fail "curl trusted the issuer without its certificate"
fi
out=$(runuser -u walletkey-issuer -- walletkey-issuer serve --db "$(ival WALLETKEY_ISSUER_DB)" \
	--key-file "$ikey" --listen 0.0.0.0:0 2>&1) && rc=0 || rc=$?
[ "$rc" = 2 ] && grep_q "plain HTTP only on loopback" <<<"$out" ||
	fail "plain HTTP on 0.0.0.0 was not refused: $rc $out"

step "the installed unit's command line puts a card into pcscd's reader"
# the unit's ExecStart, with the state directory and instance filled in and the
# vpcd port of a private pcscd (the installed sandbox, started with no card)
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
init_cmd=$(sed -n 's/^ExecStartPre=-//p' "$unit")
echo "unit: $exec_start"
cat >"$work/unit.sh" <<'EOS'
#!/bin/bash
set -euo pipefail
state=$(mktemp -d)
chown walletkey: "$state"
expand() {
	local c=$1
	c=${c//\$\{STATE_DIRECTORY\}/$state}
	c=${c//%i/packaged}
	c=${c//\$WALLETKEY_CARD_INIT_OPTS/$CARD_INIT_OPTS}
	c=${c//127.0.0.1:35963/127.0.0.1:$WALLETKEY_VPCD_PORT_0}
	echo "$c"
}
# as the unit's User=walletkey, with the unit's credentials
export CREDENTIALS_DIRECTORY=$CREDS
runuser -u walletkey -- $(expand "$INIT_CMD")
runuser -u walletkey -- $(expand "$EXEC_START") &
card=$!
trap 'kill $card 2>/dev/null || true; wait $card 2>/dev/null || true; rm -rf "$state"' EXIT
for _ in $(seq 100); do
	walletkey readers --json 2>/dev/null | jq -e '.readers[] | select(.walletkey)' >/dev/null && break
	sleep 0.1
done
walletkey readers
walletkey readers --json | jq -e '.readers[0].walletkey' >/dev/null ||
	{ echo "FAIL: the unit's card is not in the reader" >&2; exit 1; }
[ "$(stat -c %a "$state/packaged.card")" = 600 ] ||
	{ echo "FAIL: the store is not mode 0600" >&2; exit 1; }
[ -z "$(find "$state" -name '*.key')" ] ||
	{ echo "FAIL: a key file was made beside the store" >&2; exit 1; }

# pkcs11-tool signs through the installed module
export WALLETKEY_PIN=123456
walletkey key generate --slot 9a --alg eccp256 >"$state/pub.pem"
walletkey cert selfsign --slot 9a --subject /CN=installed --import >/dev/null
echo "signed by the installed module" >"$state/msg"
pkcs11-tool --module "$MODULE" -l -p 123456 --sign -m ECDSA-SHA256 \
	--id 01 -i "$state/msg" -o "$state/sig" --signature-format openssl
openssl dgst -sha256 -verify "$state/pub.pem" -signature "$state/sig" "$state/msg"

# the installed SKF library, loaded by a program that knows only the
# standard's names (python ctypes), sees the card and its GM applet
skf=$(dpkg -L libwalletkey-skf0 | grep 'libwalletkey-skf\.so\.0$')
test -f /usr/include/walletkey/skf.h
python3 - "$skf" <<'EOP'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
n = ctypes.c_uint32(0)
assert lib.SKF_EnumDev(1, None, ctypes.byref(n)) == 0 and n.value > 2
names = ctypes.create_string_buffer(n.value)
assert lib.SKF_EnumDev(1, names, ctypes.byref(n)) == 0
dev = ctypes.c_void_p()
assert lib.SKF_ConnectDev(names.value, ctypes.byref(dev)) == 0
info = ctypes.create_string_buffer(294)
assert lib.SKF_GetDevInfo(dev, info) == 0
assert info.raw[2:11] == b"walletkey", info.raw[:16]
assert lib.SKF_DisConnectDev(dev) == 0
print("SKF: device", names.value.decode())
EOP
nm -D --defined-only "$skf" | awk '{print $3}' | grep -v -e '^SKF_' -e '^LIBWALLETKEY_SKF_1$' &&
	{ echo "FAIL: libwalletkey-skf exports more than SKF_*" >&2; exit 1; }

# the unit's card is never a demo card: a SAM on the public demo master
# keys cannot load it
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
printf '{"dlk":"%s","dpk":"%s","dtk":"%s","dulk":"%s","duk":"%s"}\n' \
	"$(hex WK-DEMO-DLK-0001)" "$(hex WK-DEMO-DPK-0001)" "$(hex WK-DEMO-DTK-0001)" \
	"$(hex WK-DEMO-DULK-001)" "$(hex WK-DEMO-DUK-0001)" >"$state/mk.json"
walletkey wallet info
walletkey wallet sam-init --insecure-master-keys --master-keys "$state/mk.json" --terminal 000000000042 --out "$state/sam.json"
if walletkey wallet load --amount 100 --sam "$state/sam.json" --insecure-master-keys; then
	echo "FAIL: the demo keys load the packaged card" >&2
	exit 1
fi
[ "$(walletkey wallet balance)" = "EP balance: 0.00" ] ||
	{ echo "FAIL: the wallet balance is not 0.00" >&2; exit 1; }

# the packaged card (made with the factory's manufacturer CA, as
# /etc/default/walletkey-card says) enrols with the packaged issuer and
# loads through it over TLS, the issuer's certificate trusted with --cacert
export WALLETKEY_ACCOUNT_PASSWORD=correct-horse WALLETKEY_STATE_DIR=$state/wallet
if walletkey wallet session --issuer "$ISS_URL" >/dev/null 2>&1; then
	echo "FAIL: the CLI trusted the issuer without its certificate" >&2
	exit 1
fi
walletkey --cacert "$ISS_CA" enroll --issuer "$ISS_URL" --account 6222000000000001
walletkey --cacert "$ISS_CA" wallet load --issuer "$ISS_URL" --amount 1.50 --yes
[ "$(walletkey wallet balance)" = "EP balance: 1.50" ] ||
	{ echo "FAIL: the load over TLS did not credit the card" >&2; exit 1; }
WALLETKEY_ISSUER_CAFILE=$ISS_CA walletkey audit sync --issuer "$ISS_URL"
EOS
chmod +x "$work/unit.sh"
INIT_CMD=$init_cmd EXEC_START=$exec_start MODULE=$module CREDS=$creds \
	CARD_INIT_OPTS="--attestation-ca $mfgdir/ca.key" ISS_URL=$iss_url ISS_CA=$icert \
	walletkey-sandbox --cards 0 --empty 1 -- "$work/unit.sh" ||
	{ tail -20 "$issdir/log"; fail "the installed card, module, CLI or issuer did not work"; }

step "the issuer's books: one load of 1.50, complete"
runuser -u walletkey-issuer -- walletkey-issuer loads --db "$(ival WALLETKEY_ISSUER_DB)" --json |
	python3 -c 'import json,sys; l=json.load(sys.stdin); assert len(l)==1 and l[0]["amount"]==150 and l[0]["status"]=="complete", l' ||
	fail "the issuer's ledger does not hold the load"
runuser -u walletkey-issuer -- walletkey-issuer accounts --db "$(ival WALLETKEY_ISSUER_DB)" --json |
	python3 -c 'import json,sys; a=json.load(sys.stdin); assert sum(x["balance"] for x in a)==0 and sum(x["balance"] for x in a if x["kind"]=="customer")==100000-150, a' ||
	fail "the issuer's books do not balance"
kill "$iss_pid"
wait "$iss_pid" 2>/dev/null || true
iss_pid=""

step "lintian: no errors"
rc=0
wait "$lintian_pid" || rc=$?
lintian_pid=""
cat "$work/lintian.log"
[ "$rc" -eq 0 ] || fail "lintian reports errors"

step "packages: ok"
