#!/bin/bash
# a password flood against the real walletkey-issuer: 20 parallel
# enrolments with wrong passwords (and one address) must not take the
# server's memory beyond what its bound on Argon2id hashes allows. Each
# hash takes 64 MiB (libsodium's interactive limit, the accounts' hashes);
# with --hash-concurrency N at most N run at once, the rest wait their turn
# or get 503. Measured: the server's peak resident memory (VmHWM, read
# from /proc) before and after, against base + N x 64 MiB + slack. No
# time is asserted. Then the address's allowance: once its failures are
# spent, 429 with Retry-After before any hash. (The per-account limit and
# the unknown-number oracle are test_issuer's, on both engines.)
# Usage: enrol_flood.sh PATH/TO/walletkey-issuer
set -euo pipefail
bin=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/wk-enrol-flood.XXXXXX")
pid=""
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"; }

N=2			# --hash-concurrency
HASH_KIB=65536		# crypto_pwhash_MEMLIMIT_INTERACTIVE, in KiB
SLACK_KIB=49152		# 48 MiB: 20 connection threads, buffers, allocator
FLOOD=20

db=sqlite:$dir/issuer.db
"$bin" init --db "$db" --key-file "$dir/issuer.key" >/dev/null
export WK_PW=correct-horse
for i in $(seq -w 1 $FLOOD); do
	"$bin" account-create --db "$db" --pan "62220000000000$i" --name "A$i" \
		--password-env WK_PW >/dev/null
done
port=$(free_port)
"$bin" serve --db "$db" --key-file "$dir/issuer.key" --listen "127.0.0.1:$port" \
	--hash-concurrency $N >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null || { cat "$dir/log"; fail "the issuer does not answer"; }

# a CSR whose subject is a card id: the request passes every check before
# the password (the attestation comes after it and never matters here)
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/k.pem" 2>/dev/null
openssl req -new -key "$dir/k.pem" -subj /CN=0102030405060708 -outform DER \
	-out "$dir/csr.der" 2>/dev/null
csr=$(base64 -w0 "$dir/csr.der")
body() { printf '{"pan":"%s","password":"%s","card_id":"0102030405060708","csr":"%s","attestation":["AAAA","AAAA"]}' "$1" "$2" "$csr"; }
enrol() { # PAN PASSWORD OUT: the status into OUT, the headers beside it
	curl -s -o "$3.body" -D "$3.hdr" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "$(body "$1" "$2")" "http://127.0.0.1:$port/v1/enrolments" >"$3"
}

base=$(hwm_kib)
[ -n "$base" ] && [ "$base" -gt 0 ] || fail "no VmHWM for the issuer"
curls=()
t0=$SECONDS	# the allowance refills one failure a minute from here on
for i in $(seq -w 1 $FLOOD); do
	enrol "62220000000000$i" wrong-password "$dir/r$i" &
	curls+=($!)
done
wait "${curls[@]}" || true
peak=$(hwm_kib)
bound=$((base + N * HASH_KIB + SLACK_KIB))
echo "VmHWM: ${base} KiB before, ${peak} KiB after $FLOOD parallel wrong passwords; bound ${bound} KiB"
[ "$peak" -le "$bound" ] || fail "the issuer grew to $peak KiB (bound $bound KiB: $N hashes at once)"
n401=0
for i in $(seq -w 1 $FLOOD); do
	st=$(cat "$dir/r$i")
	case $st in
	401) n401=$((n401 + 1));;
	503) grep -qi '^Retry-After: 1' "$dir/r$i.hdr" || fail "503 without Retry-After";;
	*) cat "$dir/r$i.body" >&2; fail "enrolment $i answered $st";;
	esac
done
[ "$n401" -ge $N ] || fail "only $n401 wrong passwords were checked"
echo "$n401 answered 401, $((FLOOD - n401)) 503 (busy)"
curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null || fail "the issuer died"

# the address's allowance of failures (20) is spent by the flood's 401s
# and what follows: then 429 with Retry-After, whatever the number
got=""
k=0
for i in $(seq 1 $((2 * FLOOD))); do
	enrol "622290000000$(printf %04d "$i")" wrong-password "$dir/a"
	st=$(cat "$dir/a")
	[ "$st" = 503 ] && { sleep 1; continue; }
	k=$((k + 1))
	[ "$st" = 429 ] && { got=$k; break; }
	[ "$st" = 401 ] || fail "attempt $i answered $st"
done
[ -n "$got" ] || fail "the address was never limited"
grep -qi '^Retry-After: [1-9]' "$dir/a.hdr" || fail "429 without Retry-After"
grep -q too_many_attempts "$dir/a.body" || fail "429 without its code"
# the allowance is a token bucket that gives one failure back a minute
# (ISS_ENROL_PERIOD): on a slow machine the minutes these attempts took
# (each an Argon2id hash) allow as many more
refilled=$(((SECONDS - t0) / 60))
[ "$got" -le $((FLOOD - n401 + 1 + refilled)) ] ||
	fail "429 only at attempt $got ($refilled refilled in $((SECONDS - t0)) s)"
enrol 6222000000000001 "$WK_PW" "$dir/a"
[ "$(cat "$dir/a")" = 429 ] || fail "a spent address enrolled: $(cat "$dir/a")"
echo "enrol_flood: ok"
