#!/bin/sh
# runs "$@" with WK_PG_URL pointing at a private PostgreSQL cluster on a free
# port (unix socket in a temporary directory), then tears the cluster down.
# Exits 77 (skipped) when no PostgreSQL server binaries are installed.
# The cluster runs with fsync=off (tests: fast, nothing to keep); WK_PG_FSYNC=on
# makes it durable (fsync=on, synchronous_commit=on), as benchmarks need.
set -eu
fsync=${WK_PG_FSYNC:-off}
case $fsync in on | off) ;; *) echo "with_pg: WK_PG_FSYNC is on or off" >&2; exit 2 ;; esac

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && bindir=$d
	done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "with_pg: no PostgreSQL server binaries; skipping" >&2
	exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/wk-pg.XXXXXX")
chmod 755 "$dir"
# initdb refuses to run as root: run the cluster as postgres (or nobody)
as=""
if [ "$(id -u)" = 0 ]; then
	user=postgres
	id "$user" >/dev/null 2>&1 || user=nobody
	chown "$user" "$dir"
	as="runuser -u $user --"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cleanup() {
	$as "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

$as "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync \
	>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
$as "$bindir/pg_ctl" -D "$dir/data" -w -l "$dir/server.log" \
	-o "-p $port -k $dir -c listen_addresses='' -c fsync=$fsync -c synchronous_commit=$fsync -c max_connections=300" \
	start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
$as "$bindir/createdb" -h "$dir" -p "$port" -U postgres walletkey

export WK_PG_URL="postgresql://postgres@/walletkey?host=$dir&port=$port"
export WK_PG_HOST="$dir" WK_PG_PORT="$port" WK_PG_BINDIR="$bindir" WK_PG_FSYNC="$fsync"
"$@"
