#!/bin/bash
# bench/purse.sh [RUNS] [N] [3des|sm4]: personalises a sandbox card with test
# keys (of that algorithm, 3DES by default; docs/purse.md "SM4") and runs
# bench/purse (purchases per second and where the time goes) against it, with
# a software SAM file and then through a PSAM (the second sandbox card).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${WALLETKEY_BUILD_DIR:-$SRC/build}" && pwd)
export WALLETKEY_BUILD_DIR=$BUILD

if [ -z "${WALLETKEY_SANDBOX:-}" ]; then
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	ALG=${3:-3des}
	case $ALG in 3des|sm4) ;; *) echo "usage: $0 [RUNS] [N] [3des|sm4]" >&2; exit 2;; esac
	cat >"$T/mk.json" <<KEYS
{"dlk": "11111111111111112222222222222222",
 "dpk": "33333333333333334444444444444444",
 "dtk": "55555555555555556666666666666666",
 "dulk": "77777777777777778888888888888888",
 "duk": "9999999999999999AAAAAAAAAAAAAAAA",
 "algorithms": {"dlk": "$ALG", "dpk": "$ALG", "dtk": "$ALG", "dulk": "$ALG", "duk": "$ALG"}}
KEYS
	"$BUILD/tools/walletkey" perso --master-keys "$T/mk.json" --pan 6222020000000000001 \
		--ceiling 20000000 --out "$T/perso.json" >/dev/null
	"$BUILD/tools/walletkey" wallet sam-init --insecure-master-keys --master-keys "$T/mk.json" \
		--terminal 000000000001 --out "$T/sam.json" >/dev/null
	set +e
	"$SRC/tools/walletkey-sandbox" --cards 2 --init-args "--perso $T/perso.json" \
		-- "$0" "$T" "$@"
	exit $?
fi
T=$1
shift
exec "$BUILD/bench/purse" "$WALLETKEY_READER_0" "$T/sam.json" 123456 "${1:-5}" "${2:-100}" \
	"$WALLETKEY_READER_1" "$T/mk.json"
