#!/bin/bash
# bench/gm inside walletkey-sandbox: SM2 signatures and SM4-CBC-MACs per
# second through libwalletkey-skf and the card, beside OpenSSL in process.
# Prints figures; never fails on time.
set -eu
BUILD=${WALLETKEY_BUILD_DIR:?run through meson or set WALLETKEY_BUILD_DIR}
: "${WALLETKEY_READER_0:?run inside tools/walletkey-sandbox}"
exec "$BUILD/bench/bench_gm" "${BENCH_RUNS:-5}" "${BENCH_SECONDS:-1}"
