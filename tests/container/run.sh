#!/bin/bash
# The container test: both images built and used as README.md says, from a
# Debian 12 base made here with debootstrap (no registry needed).
#
#   engine   podman (preferred) or docker with a reachable daemon; for podman,
#            the settings this machine needs (runtime, ulimits), probed
#   base     debootstrap --variant=minbase bookworm, imported as
#            walletkey-base:12 (reused while younger than a week)
#   ci       the CI image (Dockerfile) from this tree
#   suite    its default command, .ci/run, with --init: "N passed, N failed"
#   crash    purse_crash and audit_crash WALLETKEY_CONTAINER_CRASH_RUNS times
#            (default 10) in the CI image with meson as PID 1, which never
#            reaps: no wait may depend on who reaps
#   slim     the walletkey-ci image (tools/ci-image/Dockerfile): under 250 MB
#   slim-use OpenSC's tools against its cards: pkcs11-tool -L on 2 cards, a
#            signature made and verified with OpenSC's module on a provisioned
#            key, pkcs15-tool, walletkey's module, card-kill/card-start, the
#            exit status, and a clear error without CAP_SYS_ADMIN
#
# Prints each stage's result and, at the end, how far it got; exits 0 when
# every stage passed. Needs root. Takes about an hour on 2 cores.
#   WALLETKEY_CONTAINER_ENGINE     podman or docker (default: the first that works)
#   WALLETKEY_CONTAINER_STAGES     stages to run (default: all of the above)
#   WALLETKEY_CONTAINER_CRASH_RUNS runs of each crash test (default 10)
#   WALLETKEY_CONTAINER_REBUILD=1  make the base again even if a recent one exists
#   WALLETKEY_DEBIAN_MIRROR        (default http://deb.debian.org/debian)
set -uo pipefail

# bash reads a script as it runs: run from a copy, so that an edit or a git
# checkout during the hour this takes cannot change what runs
if [ -z "${WALLETKEY_CONTAINER_SELF:-}" ]; then
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	self=$(mktemp /var/tmp/walletkey-container-run.XXXXXX)
	cp "${BASH_SOURCE[0]}" "$self"
	WALLETKEY_CONTAINER_SELF=$self WALLETKEY_CONTAINER_ROOT=$ROOT bash "$self" "$@"
	rc=$?
	rm -f "$self"
	exit $rc
fi
ROOT=$WALLETKEY_CONTAINER_ROOT
STAGES=${WALLETKEY_CONTAINER_STAGES:-engine base ci suite crash slim slim-use}
CRASH_RUNS=${WALLETKEY_CONTAINER_CRASH_RUNS:-10}
MIRROR=${WALLETKEY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=$(mktemp -d /var/tmp/walletkey-container.XXXXXX)
ENGINE=""
declare -A RESULT=()
ORDER=(engine base ci suite crash slim slim-use)
RUNNING=""	# the name of a container to remove on exit

cleanup() {
	[ -z "$RUNNING" ] || "$ENGINE" rm -f "$RUNNING" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*"; }
wanted() { [[ " $STAGES " == *" $1 "* ]]; }

summary() {
	local s passed=()
	say "container test: how far it got"
	for s in "${ORDER[@]}"; do
		printf '  %-9s %s\n' "$s" "${RESULT[$s]:-not reached}"
		case ${RESULT[$s]:-} in ok*) passed+=("$s") ;; esac
	done
	echo "stages passed: ${passed[*]:-none}"
}

# stage NAME [NEEDS...]: runs stage_NAME and records its outcome; a stage
# whose prerequisite did not pass is not reached, the others still run
FAILED=0
stage() {
	local name=$1 rc dep
	shift
	for dep; do
		case ${RESULT[$dep]:-} in
		ok* | skipped*) ;;
		*)
			RESULT[$name]="not reached ($dep did not pass)"
			return 0
			;;
		esac
	done
	if ! wanted "$name"; then
		RESULT[$name]="skipped (WALLETKEY_CONTAINER_STAGES)"
		return 0
	fi
	say "stage $name"
	"stage_${name//-/_}"
	rc=$?
	[ -n "${RESULT[$name]:-}" ] || RESULT[$name]=$([ $rc -eq 0 ] && echo ok || echo FAILED)
	if [ $rc -ne 0 ]; then
		echo "stage $name: ${RESULT[$name]}" >&2
		FAILED=1
	fi
}

mb() { echo $((($1 + 500000) / 1000000)); }

image_size() {
	"$ENGINE" image inspect --format '{{.Size}}' "$1" 2>/dev/null
}

# run NAME TIMEOUT ENGINE-RUN-ARGS...: a container with a name, removed
# when the time is up (killing the client alone may leave it running)
run_container() {
	local name=$1 limit=$2 rc
	shift 2
	RUNNING=$name
	"$ENGINE" rm -f "$name" >/dev/null 2>&1
	timeout --kill-after=30 "$limit" "$ENGINE" run --name "$name" "$@"
	rc=$?
	"$ENGINE" rm -f "$name" >/dev/null 2>&1
	RUNNING=""
	return $rc
}

# ---- engine ----------------------------------------------------------------

PODMAN_NOTE=""
stage_engine() {
	local want=${WALLETKEY_CONTAINER_ENGINE:-} why=()
	if [ -z "$want" ] || [ "$want" = podman ]; then
		if ! command -v podman >/dev/null; then
			why+=("podman: not installed (apt-get install podman, or WALLETKEY_CONTAINER_TEST=1 tools/bootstrap test)")
		elif ! podman info >/dev/null 2>"$WORK/podman.err"; then
			why+=("podman: 'podman info' fails: $(tail -1 "$WORK/podman.err")")
		else
			ENGINE=podman
		fi
	fi
	if [ -z "$ENGINE" ] && { [ -z "$want" ] || [ "$want" = docker ]; }; then
		if ! command -v docker >/dev/null; then
			why+=("docker: not installed")
		elif ! docker info >/dev/null 2>"$WORK/docker.err"; then
			why+=("docker: no daemon answers: $(grep -m1 -i -E 'cannot|error' "$WORK/docker.err")")
		else
			ENGINE=docker
		fi
	fi
	if [ -z "$ENGINE" ]; then
		RESULT[engine]="FAILED: no container engine: ${why[*]}"
		printf '%s\n' "${why[@]}" >&2
		return 1
	fi
	RESULT[engine]="ok: $("$ENGINE" --version)"
	echo "${RESULT[engine]}"
}

# podman in a VM may need another runtime or explicit ulimits: try settings
# until a container starts and can make a mount namespace
podman_settings() {
	local img=$1 n rt conf
	local hn hu
	hn=$(ulimit -Hn) hu=$(ulimit -Hu)
	[ "$hu" = unlimited ] && hu=32768
	for rt in "" runc; do
		[ -z "$rt" ] || command -v "$rt" >/dev/null || continue
		for n in none "$hu" 32768 4096; do
			conf=$WORK/containers.conf
			{
				if [ "$n" != none ]; then
					printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
						"$hn" "$hn" "$n" "$n"
				fi
				[ -z "$rt" ] || printf '[engine]\nruntime = "%s"\n' "$rt"
			} >"$conf"
			export CONTAINERS_CONF=$conf
			if podman run --rm --cap-add SYS_ADMIN "$img" unshare -m true >/dev/null 2>"$WORK/probe.err"; then
				PODMAN_NOTE="runtime ${rt:-default}, ulimits ${n/none/default}"
				echo "podman works here with: $PODMAN_NOTE"
				return 0
			fi
			echo "podman with runtime ${rt:-default}, nproc ${n}: $(tail -1 "$WORK/probe.err")"
		done
	done
	unset CONTAINERS_CONF
	return 1
}

# ---- base --------------------------------------------------------------------

BASE_IMG=""
stage_base() {
	local name=walletkey-base:12 created age rootfs
	[ "$ENGINE" = podman ] && name=localhost/walletkey-base:12
	BASE_IMG=$name
	created=$("$ENGINE" image inspect --format '{{.Created.Unix}}' "$name" 2>/dev/null ||
		"$ENGINE" image inspect --format '{{.Created}}' "$name" 2>/dev/null | xargs -r -I{} date -d {} +%s 2>/dev/null)
	age=$(($(date +%s) - ${created:-0}))
	if [ -n "$created" ] && [ "$age" -lt $((7 * 86400)) ] && [ "${WALLETKEY_CONTAINER_REBUILD:-}" != 1 ]; then
		echo "reusing $name ($((age / 3600)) h old; WALLETKEY_CONTAINER_REBUILD=1 makes it again)"
	else
		command -v debootstrap >/dev/null ||
			{ RESULT[base]="FAILED: debootstrap is not installed"; return 1; }
		rootfs=$WORK/rootfs
		echo "debootstrap --variant=minbase bookworm from $MIRROR"
		if ! timeout 1800 debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" \
			>"$WORK/debootstrap.log" 2>&1; then
			tail -20 "$WORK/debootstrap.log"
			RESULT[base]="FAILED: debootstrap (see its log above)"
			return 1
		fi
		cat >"$rootfs/etc/apt/sources.list" <<-EOF
			deb $MIRROR bookworm main
			deb $MIRROR bookworm-updates main
			deb http://deb.debian.org/debian-security bookworm-security main
		EOF
		# what an image does not keep: package lists and caches, documentation
		rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
			"$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
			"$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/debootstrap
		tar --numeric-owner -C "$rootfs" -cf - . | "$ENGINE" import - "$name" >/dev/null ||
			{ RESULT[base]="FAILED: $ENGINE import"; return 1; }
		rm -rf "$rootfs"
	fi
	if [ "$ENGINE" = podman ] && ! podman_settings "$name"; then
		RESULT[base]="FAILED: podman cannot start a container here (tried runtimes and ulimits above)"
		return 1
	fi
	RESULT[base]="ok: $name, $(mb "$(image_size "$name")") MB${PODMAN_NOTE:+; podman: $PODMAN_NOTE}"
	echo "${RESULT[base]}"
}

# ---- the CI image --------------------------------------------------------------

# the tree as it is (tracked and untracked files, not ignored ones) without
# build trees: the build context
context() {
	local ctx=$WORK/context
	rm -rf "$ctx"
	mkdir -p "$ctx"
	if command -v git >/dev/null && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$ROOT" && git ls-files -z -c -o --exclude-standard |
			xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
			tar --null -T - -cf -) | tar -C "$ctx" -xf -
	else
		tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude='./build-*' \
			--exclude='./obj-*' -cf - . | tar -C "$ctx" -xf -
	fi
	echo "$ctx"
}

CI_IMG=walletkey-ci-image-test:latest
stage_ci() {
	local ctx t0
	ctx=$(context)
	t0=$(date +%s)
	if ! timeout 7200 "$ENGINE" build --network host --build-arg "BASE=$BASE_IMG" \
		-t "$CI_IMG" -f "$ctx/Dockerfile" "$ctx" >"$WORK/ci-build.log" 2>&1; then
		tail -30 "$WORK/ci-build.log"
		RESULT[ci]="FAILED: $ENGINE build of Dockerfile (log above)"
		return 1
	fi
	RESULT[ci]="ok: $CI_IMG, $(mb "$(image_size "$CI_IMG")") MB, built in $((($(date +%s) - t0) / 60)) min"
	echo "${RESULT[ci]}"
}

stage_suite() {
	local line t0
	t0=$(date +%s)
	# the README's command, with the image's default command (.ci/run)
	run_container walletkey-ci-suite 5400 --rm --init --cap-add SYS_ADMIN --cap-add NET_ADMIN \
		--security-opt apparmor=unconfined "$CI_IMG" >"$WORK/suite.log" 2>&1
	# the log outlives the work directory: what failed, and why
	cp "$WORK/suite.log" /var/tmp/walletkey-container-suite.log
	echo "the suite's log: /var/tmp/walletkey-container-suite.log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/suite.log" | tail -1)
	grep -E '^(Summary of Failures|.* (FAIL|TIMEOUT) )' "$WORK/suite.log" | head -20
	if [ -z "$line" ]; then
		tail -30 "$WORK/suite.log"
		RESULT[suite]="FAILED: no 'N passed, N failed' line (log above)"
		return 1
	fi
	RESULT[suite]="$([[ $line == *" 0 failed" ]] && echo ok || echo FAILED): $line in $((($(date +%s) - t0) / 60)) min"
	echo "${RESULT[suite]}"
	[[ $line == *" 0 failed" ]]
}

stage_crash() {
	local env=() ok n
	[ -z "${PURSE_CRASH_N:-}" ] || env+=(-e "PURSE_CRASH_N=$PURSE_CRASH_N")
	[ -z "${AUDIT_CRASH_N:-}" ] || env+=(-e "AUDIT_CRASH_N=$AUDIT_CRASH_N")
	# no --init: meson is PID 1 and never reaps what the sandbox's helpers kill
	run_container walletkey-ci-crash $((CRASH_RUNS * 1800)) --rm --cap-add SYS_ADMIN \
		--security-opt apparmor=unconfined "${env[@]}" "$CI_IMG" \
		meson test -C build purse_crash audit_crash --repeat "$CRASH_RUNS" \
		--print-errorlogs >"$WORK/crash.log" 2>&1
	grep -E '^ *[0-9]+/[0-9]+ .*(purse_crash|audit_crash)' "$WORK/crash.log"
	ok=$(awk '/^Ok:/ { print $2 }' "$WORK/crash.log")
	n=$((2 * CRASH_RUNS))
	RESULT[crash]="$([ "${ok:-0}" -eq "$n" ] && echo ok || echo FAILED): ${ok:-0} of $n crash-test runs passed, meson as PID 1"
	echo "${RESULT[crash]}"
	if [ "${ok:-0}" -ne "$n" ]; then
		# the failed runs' logs outlive the work directory
		cp "$WORK/crash.log" /var/tmp/walletkey-container-crash.log
		echo "the runs' log: /var/tmp/walletkey-container-crash.log"
		tail -n 60 "$WORK/crash.log"
		return 1
	fi
}

# ---- the slim image ----------------------------------------------------------------

SLIM_IMG=walletkey-ci-slim-test:latest
stage_slim() {
	local ctx size
	ctx=$(context)
	if ! timeout 3600 "$ENGINE" build --network host --build-arg "BASE=$BASE_IMG" \
		-t "$SLIM_IMG" -f "$ctx/tools/ci-image/Dockerfile" "$ctx" >"$WORK/slim-build.log" 2>&1; then
		tail -30 "$WORK/slim-build.log"
		RESULT[slim]="FAILED: $ENGINE build of tools/ci-image/Dockerfile (log above)"
		return 1
	fi
	size=$(image_size "$SLIM_IMG")
	RESULT[slim]="$([ "$size" -lt 250000000 ] && echo ok || echo FAILED): $SLIM_IMG, $(mb "$size") MB (limit 250)"
	echo "${RESULT[slim]}"
	[ "$size" -lt 250000000 ]
}

slim() {
	run_container walletkey-ci-use 600 --rm --init --cap-add SYS_ADMIN \
		--security-opt apparmor=unconfined "$SLIM_IMG" "$@"
}

# a shell in the image instead of the entrypoint
slim_sh() {
	run_container walletkey-ci-use 600 --rm --init --cap-add SYS_ADMIN \
		--security-opt apparmor=unconfined --entrypoint sh "$SLIM_IMG" -c "$1"
}

stage_slim_use() {
	local out fails=0 rc
	check() {
		if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
	}

	out=$(slim --cards 2 -- pkcs11-tool -L 2>&1)
	echo "$out"
	check "pkcs11-tool -L (OpenSC's module) sees 2 tokens on 2 cards" \
		'[ "$(grep -c "token manufacturer *: *piv_II" <<<"$out")" -eq 2 ]'

	out=$(slim --cards 1 --piv 9a:eccp256 --piv 9c:rsa2048 --pin 246810 --json -- sh -c '
		set -e
		echo "walletkey-ci test data" >/tmp/data
		pkcs11-tool --login --pin "$WALLETKEY_PIN" --sign -m ECDSA-SHA256 --id 01 \
			-i /tmp/data -o /tmp/sig >/dev/null 2>&1
		pkcs11-tool --verify -m ECDSA-SHA256 --id 01 -i /tmp/data --signature-file /tmp/sig 2>&1
		pkcs11-tool --login --pin "$WALLETKEY_PIN" --sign -m SHA256-RSA-PKCS --id 02 \
			-i /tmp/data -o /tmp/sig2 >/dev/null 2>&1
		pkcs11-tool --verify -m SHA256-RSA-PKCS --id 02 -i /tmp/data --signature-file /tmp/sig2 2>&1
		pkcs15-tool --list-certificates 2>&1
		pkcs11-tool --module "$WALLETKEY_PKCS11_MODULE" -L 2>&1
		pkcs11-tool --login --pin 123456 -O >/dev/null 2>&1 && echo "factory PIN accepted" || echo "factory PIN refused"
	' 2>&1)
	echo "$out"
	check "--json describes the card and the changed PIN" \
		'head -1 <<<"$out" | jq -e ".cards | length == 1 and .[0].piv[0].slot == \"9a\"" >/dev/null && head -1 <<<"$out" | jq -e ".pin == \"246810\"" >/dev/null'
	check "an ECDSA and an RSA signature made and verified with OpenSC's module" \
		'[ "$(grep -c "Signature is valid" <<<"$out")" -eq 2 ]'
	check "pkcs15-tool lists the two provisioned certificates (9a, 9c)" \
		'grep -q "Certificate for PIV Authentication" <<<"$out" && grep -q "Certificate for Digital Signature" <<<"$out"'
	check "walletkey's own module sees the token" \
		'grep -q "token manufacturer.*[Ww]allet[Kk]ey\|token label" <<<"$out"'
	check "--pin changed the PIN: the factory PIN is refused" 'grep -q "factory PIN refused" <<<"$out"'

	# purse profiles made in the image, one per card ({i})
	out=$(slim_sh '
		set -e
		printf "%s" "{\"dlk\": \"11111111111111112222222222222222\",
			\"dpk\": \"33333333333333334444444444444444\",
			\"dtk\": \"55555555555555556666666666666666\",
			\"dulk\": \"77777777777777778888888888888888\",
			\"duk\": \"9999999999999999AAAAAAAAAAAAAAAA\"}" >/tmp/mk.json
		walletkey perso --master-keys /tmp/mk.json --pan 6222020000000000001 --out /tmp/card0.json >/dev/null
		walletkey perso --master-keys /tmp/mk.json --pan 6222020000000000002 --out /tmp/card1.json >/dev/null
		walletkey-ci --cards 2 --perso "/tmp/card{i}.json" -- sh -c \
			"walletkey --reader \"\$WALLETKEY_READER_0\" --json wallet info; walletkey --reader \"\$WALLETKEY_READER_1\" --json wallet info"
	' 2>&1)
	echo "$out"
	check "--perso FILE{i}: each card personalised with its own profile" \
		'grep -q "\"serial\":\"06222020000000000001\"" <<<"$out" && grep -q "\"serial\":\"06222020000000000002\"" <<<"$out"'

	out=$(slim --cards 1 -- sh -c '
		s=$(walletkey --json readers | jq -r ".readers[0].serial")
		"$WALLETKEY_SANDBOX/bin/card-kill" 0 && "$WALLETKEY_SANDBOX/bin/card-start" 0 &&
			[ "$(walletkey --json readers | jq -r ".readers[0].serial")" = "$s" ] && echo "card back: $s"
		exit 3' 2>&1)
	rc=$?
	echo "$out"
	check "card-kill and card-start inside the image; the card comes back with its serial" \
		'grep -q "card back: [0-9a-f]" <<<"$out"'
	check "the command's exit status is the container's (3)" '[ "$rc" -eq 3 ]'

	# no network at all: nobody outside can reach vpcd's ports (docs/security.md)
	out=$(run_container walletkey-ci-nonet 300 --rm --init --network none --cap-add SYS_ADMIN \
		--security-opt apparmor=unconfined "$SLIM_IMG" --cards 1 -- pkcs11-tool -L 2>&1)
	check "--network none: the cards work on loopback alone" \
		'grep -q "token manufacturer *: *piv_II" <<<"$out"'

	out=$(run_container walletkey-ci-nocap 120 --rm "$SLIM_IMG" --cards 1 -- true 2>&1)
	rc=$?
	echo "$out"
	check "without CAP_SYS_ADMIN: a clear error, status 2" \
		'[ "$rc" -eq 2 ] && grep -q "cap-add SYS_ADMIN" <<<"$out"'

	if [ "$fails" -eq 0 ]; then
		RESULT[slim-use]="ok: OpenSC's pkcs11-tool and pkcs15-tool, walletkey's module, helpers"
	else
		RESULT[slim-use]="FAILED: $fails check(s)"
	fi
	[ "$fails" -eq 0 ]
}

[ "$(id -u)" -eq 0 ] || { echo "tests/container/run.sh: needs root" >&2; exit 2; }
stage engine
stage base engine
stage ci base
stage suite ci
stage crash ci
stage slim base
stage slim-use slim
summary
exit $FAILED
