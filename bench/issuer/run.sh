#!/bin/sh
# runs bench/issuer on SQLite, then on a private PostgreSQL cluster next to
# pgbench on the same server. Usage: run.sh PATH/TO/issuer_bench
set -eu
bench=$1
here=$(cd "$(dirname "$0")" && pwd)
"$bench" sqlite
"$here/../../tests/issuer/with_pg.sh" "$bench" pg
