#!/bin/bash
# bench/sign_cost.sh inside walletkey-sandbox (--cards 1 --empty 1): where
# one signature's time goes without wall time (issue 17): for the echo
# card's short APDU and for ECDSA P-256 (9a) and Ed25519 (83) through
# libwalletkey and walletkey-pkcs11.so, per operation:
#   - CPU microseconds of the client, pcscd and the card
#     (/proc/PID/task/TID/schedstat, bench_sign --cost --watch);
#   - system calls of the client and of the card (strace -c), when strace
#     is there;
#   - instructions (user space) of the client and of the card
#     (valgrind --tool=callgrind: the client's cost_loop, the card's whole
#     process between two dumps), when valgrind is there.
# Wall-clock figures on a shared machine swing with the load; CPU time
# swings less, instruction and system call counts not at all. Never fails
# on time. BENCH_COST_COUNT operations per figure (default 3000; 300 under
# valgrind).
set -eu

BUILD=${WALLETKEY_BUILD_DIR:?run through meson or set WALLETKEY_BUILD_DIR}
READER=${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}
SB=${WALLETKEY_SANDBOX:?run inside tools/walletkey-sandbox}
N=${BENCH_COST_COUNT:-3000}
NV=$((N / 10 > 0 ? N / 10 : 1))
OURS=${WALLETKEY_P11_MODULE:-$BUILD/pkcs11/walletkey-pkcs11.so}
SIGN=$BUILD/bench/bench_sign
T=$(mktemp -d)
echo_pid=""
cleanup() {
	[ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null
	[ -n "$echo_pid" ] && wait "$echo_pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export WALLETKEY_PIN=123456
wk() { "$BUILD/tools/walletkey" --reader "$READER" "$@" 2>/dev/null; }

wk key generate --slot 9a --alg eccp256 >/dev/null
wk key generate --slot 83 --alg ed25519 >/dev/null
for s in 9a 83; do
	wk cert selfsign --slot $s --subject "/CN=cost $s" --import >/dev/null
done

start_echo() {
	"$@" "$BUILD/bench/walletkey-echo-card" --vpcd \
		"127.0.0.1:$WALLETKEY_VPCD_PORT_1" >"$T/echo.log" 2>&1 &
	echo_pid=$!
	for _ in $(seq 300); do
		opensc-tool -l 2>/dev/null | grep -F -- "$WALLETKEY_READER_1" |
			grep -E '^[0-9]+ +Yes' >/dev/null && return 0
		sleep 0.1
	done
	echo "bench/sign_cost: the echo card did not show up" >&2
	return 1
}
stop_echo() {
	kill "$echo_pid" 2>/dev/null || true
	wait "$echo_pid" 2>/dev/null || true
	echo_pid=""
	for _ in $(seq 100); do
		opensc-tool -l 2>/dev/null | grep -F -- "$WALLETKEY_READER_1" |
			grep -E '^[0-9]+ +Yes' >/dev/null || return 0
		sleep 0.1
	done
}

pcscd_pid=$WALLETKEY_PCSCD_PID
card_pid=$("$SB/bin/card-pid" 0)
# the paths: LABEL PATH ALG (the card of the echo path is the echo card)
paths=("echo echo -" "ecdsa/wk libwalletkey ecdsa-p256"
	"ecdsa/p11 pkcs11 ecdsa-p256" "ed25519/wk libwalletkey ed25519"
	"ed25519/p11 pkcs11 ed25519")
cost() {	# PATH ALG COUNT CARD_PID [wrapper...]
	local path=$1 alg=$2 n=$3 cpid=$4
	shift 4
	[ "$alg" = - ] && alg=ecdsa-p256
	"$@" "$SIGN" --reader "$READER" --echo-reader "$WALLETKEY_READER_1" \
		--module "pkcs11=$OURS" --cost "$path" --alg "$alg" \
		--count "$n" --watch "card=$cpid" --watch "pcscd=$pcscd_pid" \
		${HOOK:+--hook "$HOOK"}
}
# the hook bench_sign runs before ("begin") and after ("end") the counted
# operations, with the card's pid in $T/cpid: strace or callgrind on it
cat >"$T/hook" <<'EOF_HOOK'
#!/bin/bash
T=$(dirname "$0")
read -r cpid <"$T/cpid"
case "$HOOK_MODE:$1" in
strace:begin)
	strace -c -f -o "$T/card.strace" -p "$cpid" 2>"$T/strace.err" &
	echo $! >"$T/spid"
	for _ in $(seq 50); do
		grep -q attached "$T/strace.err" 2>/dev/null && exit 0
		sleep 0.1
	done ;;
strace:end)
	read -r spid <"$T/spid"
	kill -INT "$spid"
	for _ in $(seq 50); do
		[ -s "$T/card.strace" ] && kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 0.2 ;;
callgrind:begin) callgrind_control -z "$cpid" >/dev/null ;;
callgrind:end) callgrind_control -d "$cpid" >/dev/null ;;
esac
exit 0
EOF_HOOK
chmod +x "$T/hook"
export HOOK_MODE=none
HOOK=""

start_echo
echo "bench/sign_cost: $N operations per path after 200 to warm up; $(nproc) cores; uptime:$(uptime)"
echo "--- CPU us per operation (wall us beside it, for reference)"
printf '%-12s %9s %9s %9s %9s %9s\n' PATH WALL CLIENT PCSCD CARD ALL
for p in "${paths[@]}"; do
	read -r label path alg <<<"$p"
	cpid=$card_pid
	[ "$path" = echo ] && cpid=$echo_pid
	cost "$path" "$alg" "$N" "$cpid" | tr ' ' '\n' | awk -F= -v l="$label" '
		{ v[$1] = $2 }
		END { printf "%-12s %9.1f %9.1f %9.1f %9.1f %9.1f\n", l, v["wall_us"],
		    v["client_us"], v["pcscd_us"], v["card_us"],
		    v["client_us"] + v["pcscd_us"] + v["card_us"] }'
done

# strace -c's table: calls per system call over n operations
per_op() {	# FILE N LABEL SIDE
	awk -v n="$2" -v l="$3" -v s="$4" '
		$1 ~ /^[0-9.]+$/ && $NF ~ /^[a-z_0-9]+$/ && $NF != "total" &&
		    NF >= 5 { calls[$NF] = $4; tot += $4 }
		END { printf "%-12s %-6s %5.1f:", l, s, tot / n
		    for (k in calls) if (calls[k] / n >= 0.05)
		        printf " %s %.1f", k, calls[k] / n
		    printf "\n" }' "$1"
}

if command -v strace >/dev/null; then
	echo "--- system calls per operation (strace -c; the client: the difference of $((2 * NV)) and $NV operations)"
	for p in "${paths[@]}"; do
		read -r label path alg <<<"$p"
		cpid=$card_pid
		[ "$path" = echo ] && cpid=$echo_pid
		echo "$cpid" >"$T/cpid"
		HOOK_MODE=strace HOOK=$T/hook cost "$path" "$alg" "$NV" "$cpid" >/dev/null
		per_op "$T/card.strace" "$NV" "$label" card
		cost "$path" "$alg" "$NV" "$cpid" strace -c -o "$T/c1.strace" >/dev/null
		cost "$path" "$alg" "$((2 * NV))" "$cpid" strace -c -o "$T/c2.strace" >/dev/null
		# the difference of the two tables
		awk '$1 ~ /^[0-9.]+$/ && $NF ~ /^[a-z_0-9]+$/ && $NF != "total" && NF >= 5 {
			if (FILENAME == ARGV[1]) a[$NF] = $4; else b[$NF] = $4 }
			END { for (k in b) printf "0 0 0 %d 0 %s\n", b[k] - a[k], k }' \
			"$T/c1.strace" "$T/c2.strace" >"$T/client.strace"
		per_op "$T/client.strace" "$NV" "$label" client
	done
fi

if command -v valgrind >/dev/null && command -v callgrind_control >/dev/null &&
	command -v callgrind_annotate >/dev/null; then
	echo "--- instructions per operation (valgrind --tool=callgrind, user space)"
	# the card under callgrind, in place of the sandbox's
	"$SB/bin/card-kill" 0
	valgrind --tool=callgrind --callgrind-out-file="$T/card.cg" \
		"$BUILD/vcard/walletkey-card" --store "$SB/card0.store" \
		--seal-key "$SB/card0.key" --vpcd "127.0.0.1:$WALLETKEY_VPCD_PORT_0" \
		</dev/null >"$T/card-vg.log" 2>&1 &
	vcard=$!
	echo "$vcard" >"$SB/card0.pid"
	WALLETKEY_SANDBOX_WAIT=60 "$SB/bin/card-wait" 0 ||
		{ echo "(the card under valgrind did not start)"; exit 0; }
	stop_echo
	start_echo valgrind --tool=callgrind --callgrind-out-file="$T/echo.cg"
	total() { awk '/^(summary|totals):/ { print $2; exit }' "$1" 2>/dev/null; }
	# a function's inclusive instructions in a callgrind file
	incl() {
		callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
			awk -v f=":$2 " 'index($0, f) { gsub(/,/, "", $1); print $1; exit }'
	}
	# how often a function was called (the calls= lines after its cfn=;
	# a name is given once, with its number, perhaps after its first use)
	calls() {
		awk -v f="$2" '/^c?fn=/ { match($0, /\([0-9]+\)/)
				id = substr($0, RSTART + 1, RLENGTH - 2)
				rest = substr($0, RSTART + RLENGTH + 1) }
			NR == FNR { if ($0 ~ /^c?fn=/ && rest != "") name[id] = rest; next }
			/^cfn=/ { cfn = name[id] }
			/^calls=/ { split($0, a, /[= ]/); n[cfn] += a[2] }
			END { print n[f] + 0 }' "$1" "$1"
	}
	echo "(the card: PATH = its command work, vc_card_apdu; IDLE = its work between"
	echo "an answer and the next command, the ECDSA nonces made ahead; LINK = the rest,"
	echo "vpcd framing and the socket; AHEAD = nonces made ahead per ECDSA signature)"
	printf '%-12s %9s %9s %9s %9s %9s %6s\n' PATH CLIENT CARD PATH IDLE LINK AHEAD
	for p in "${paths[@]}"; do
		read -r label path alg <<<"$p"
		cpid=$vcard
		[ "$path" = echo ] && cpid=$echo_pid
		echo "$cpid" >"$T/cpid"
		rm -f "$T"/card.cg.* "$T"/echo.cg.*
		HOOK_MODE=callgrind HOOK=$T/hook cost "$path" "$alg" "$NV" "$cpid" \
			valgrind --tool=callgrind --toggle-collect=cost_loop \
			--callgrind-out-file="$T/client.cg" >/dev/null 2>&1
		f=$(find "$T" -maxdepth 1 -name 'card.cg.*' -o -maxdepth 1 -name 'echo.cg.*' | head -n 1)
		[ -n "$f" ] || { echo "$label: (no profile of the card)"; continue; }
		k=$(total "$f")
		kp=$(incl "$f" vc_card_apdu)
		ki=$(incl "$f" on_idle)
		ahead=-
		if [ "$alg" = ecdsa-p256 ]; then
			ahead=$(awk -v a="$(calls "$f" ECDSA_sign_setup)" \
				-v s="$(calls "$f" ECDSA_do_sign_ex)" \
				'BEGIN { printf "%.2f", (s > 0 ? a / s : 0) }')
		fi
		awk -v l="$label" -v n="$NV" -v c="$(total "$T/client.cg")" -v k="$k" \
			-v kp="${kp:-0}" -v ki="${ki:-0}" -v a="$ahead" 'BEGIN {
			printf "%-12s %9.0f %9.0f %9.0f %9.0f %9.0f %6s\n", l, c / n,
			    k / n, kp / n, ki / n, (k - kp - ki) / n, a }'
		if [ -n "${BENCH_COST_KEEP:-}" ]; then
			cp "$f" "$BENCH_COST_KEEP/card-${label/\//-}.cg"
			cp "$T/client.cg" "$BENCH_COST_KEEP/client-${label/\//-}.cg"
		fi
	done
	"$SB/bin/card-kill" 0 || true
fi
