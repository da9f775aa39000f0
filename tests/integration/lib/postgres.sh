# postgres.sh — a PostgreSQL server of the test's own, for the ledger's
# tests and benchmarks: initdb into a folder, a Unix socket in that folder
# (no TCP port), pg_ctl to start and stop it. Debian's postgresql package
# provides the programs (/usr/lib/postgresql/<major>/bin).
#
# initdb refuses to run as root: as root the server runs as the user
# `nobody` (runuser), which owns the folder; the ledger connects over the
# socket as the database user eco2 (trust authentication, local socket
# only). Not root: the server runs as the caller.
#
#   pg_find                      sets PG_BIN, or returns 1 (skip the test)
#   pg_start [SETTING=V...]      initdb into a new folder /tmp/eco2-pg.*
#                                and start; sets PG_DIR, PG_URL (a libpq
#                                URI for database eco2)
#   pg_sql SQL                   run SQL in database eco2, print rows
#   pg_createdb NAME             another database; prints its URI
#   pg_stop                      stop the server, remove its folder
# shellcheck shell=bash

pg_find() {
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] && command -v psql >/dev/null
}

_pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	# its own folder: the server's user must reach it, and a test's
	# scratch folder (mode 0700) is the caller's alone
	PG_DIR=$(mktemp -d /tmp/eco2-pg.XXXXXX) || return 1
	chmod 0755 "$PG_DIR"
	local opts="-c listen_addresses= -c unix_socket_directories=$PG_DIR -c max_connections=200"
	opts="$opts -c shared_buffers=32MB -c fsync=off -c full_page_writes=off"
	for s in "$@"; do opts="$opts -c $s"; done
	mkdir -p "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown nobody: "$PG_DIR"
	_pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U eco2 --auth=trust -E UTF8 --no-sync \
		>"$PG_DIR/initdb.log" 2>&1 || { sed 's/^/# initdb: /' "$PG_DIR/initdb.log" | tail -n 5; return 1; }
	_pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -o "$opts" -w -t 30 start \
		>"$PG_DIR/pg_ctl.log" 2>&1 || { sed 's/^/# postgres: /' "$PG_DIR/server.log" | tail -n 5; return 1; }
	psql -h "$PG_DIR" -U eco2 -d postgres -qAtc 'CREATE DATABASE eco2' >/dev/null || return 1
	PG_URL="postgresql:///eco2?host=$PG_DIR&user=eco2"
}

pg_sql() {
	psql -h "$PG_DIR" -U eco2 -d eco2 -qAtX -v ON_ERROR_STOP=1 -c "$1"
}

pg_createdb() {
	psql -h "$PG_DIR" -U eco2 -d postgres -qAtc "CREATE DATABASE $1" >/dev/null &&
		echo "postgresql:///$1?host=$PG_DIR&user=eco2"
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	[ -d "$PG_DIR/data" ] && _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$PG_DIR"
	PG_DIR=
}
