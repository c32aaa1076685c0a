#!/bin/sh
# walletkey-mfg's command line: ca-init (files, modes, never overwriting,
# --json), a card made with its key file, verify's refusals and usage
# errors. verify of a real card's chain (ATTEST needs the card in a reader)
# is in tests/e2e/enrol_attest.sh.
# Usage: mfg_cli.sh PATH/TO/walletkey-mfg PATH/TO/walletkey-card
set -eu
mfg=$1
card=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/wk-mfg-cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { want=$1; shift; set +e; "$@" >"$dir/out" 2>"$dir/err"; rc=$?; set -e
	[ "$rc" = "$want" ] || { cat "$dir/out" "$dir/err" >&2; fail "$* exited $rc, want $want"; }; }

expect_rc 0 "$mfg" --version
expect_rc 0 "$mfg" --help
expect_rc 2 "$mfg"
expect_rc 2 "$mfg" frobnicate
expect_rc 2 "$mfg" ca-init --key "$dir/k.pem"
expect_rc 2 "$mfg" ca-init --key "$dir/k.pem" --cert "$dir/c.pem" --days 0
expect_rc 2 "$mfg" ca-init --key "$dir/k.pem" --cert "$dir/c.pem" --name ""
expect_rc 0 "$mfg" ca-init --key "$dir/k.pem" --cert "$dir/c.pem" --name "Factory 1" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["ok"] and len(j["fingerprint"])==64, j' "$dir/out"
[ "$(stat -c %a "$dir/k.pem")" = 600 ] || fail "the key file is not 0600"
grep -q "PRIVATE KEY" "$dir/k.pem" || fail "no key in the key file"
grep -q "PRIVATE KEY" "$dir/c.pem" && fail "a private key in the certificate file"
openssl x509 -in "$dir/c.pem" -noout -text | grep -q "CA:TRUE, pathlen:1" || fail "not a CA"
fp=$(openssl x509 -in "$dir/c.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["fingerprint"]==sys.argv[2]' "$dir/out" "$fp"
cp "$dir/k.pem" "$dir/k.keep"
expect_rc 2 "$mfg" ca-init --key "$dir/k.pem" --cert "$dir/c2.pem"
grep -q "never overwritten" "$dir/err" || fail "overwriting message"
cmp -s "$dir/k.pem" "$dir/k.keep" || fail "the key file changed"
[ ! -e "$dir/c2.pem" ] || fail "a certificate was written beside an existing key"
expect_rc 0 "$mfg" ca-init --key "$dir/other.key" --cert "$dir/other.pem"

# a card made with the CA; verify refuses bad arguments and a chain that is
# not one (the CA as its own attestation)
expect_rc 0 "$card" --store "$dir/card.db" --init-only --attestation-ca "$dir/k.pem"
[ -e "$dir/card.db" ] || fail "no card store"
expect_rc 2 "$mfg" verify --ca "$dir/c.pem"
expect_rc 2 "$mfg" verify --ca "$dir/c.pem" --attestation "$dir/nonexistent" --device "$dir/c.pem"
expect_rc 2 "$mfg" verify --ca "$dir/c.pem" --attestation "$dir/c.pem" --device "$dir/c.pem" --card-id 12
expect_rc 2 "$mfg" verify --ca "$dir/c.pem" --attestation "$dir/c.pem" --device "$dir/c.pem" --slot zz
expect_rc 2 "$mfg" verify --ca "$dir/c.pem" --attestation "$dir/c.pem" --device "$dir/c.pem" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert not j["ok"] and j["error"], j' "$dir/out"
echo "mfg_cli: ok"
