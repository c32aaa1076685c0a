#!/bin/sh
# runs bench/issuer on SQLite, then on a private PostgreSQL cluster next to
# pgbench on the same server, durable (fsync=on, synchronous_commit=on) and
# with fsync=off. Usage: run.sh PATH/TO/issuer_bench
set -eu
bench=$1
here=$(cd "$(dirname "$0")" && pwd)
"$bench" sqlite
WK_PG_FSYNC=on "$here/../../tests/issuer/with_pg.sh" "$bench" pg
WK_PG_FSYNC=off "$here/../../tests/issuer/with_pg.sh" "$bench" pg
