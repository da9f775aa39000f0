# lib.sh — shared by tests/integration/upload_*.sh and the upload bench:
# TAP output, a scratch folder, eco2-ledger start/stop, device registration.
# shellcheck shell=bash
: "${ECO2_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
UP=$ECO2_SRC/tests/integration/upload
# the tests talk to loopback; a proxy from the caller's environment would
# only get in the way (the proxy test sets its own)
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
LEDGER=$ECO2_BUILD/eco2-ledger
DRIVE=${UPLOAD_DRIVE:-$ECO2_BUILD/upload-drive}
FILL=$ECO2_BUILD/upload-fill

tap_n=0 tap_fail=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
nok() { tap_n=$((tap_n + 1)); tap_fail=$((tap_fail + 1)); echo "not ok $tap_n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }
skip_all() { echo "1..0 # SKIP $*"; echo "$*"; exit 77; }
finish() { echo "1..$tap_n"; [ "$tap_fail" -eq 0 ]; }

need_bins() {
	for b in "$@"; do
		[ -x "$b" ] || skip_all "$(basename "$b") not built (CONFIG_LEDGER_SERVER / CONFIG_UPLOAD off?)"
	done
}

WORK=$(mktemp -d /tmp/eco2-upload.XXXXXX)
LEDGER_PIDS=()
cleanup() {
	for p in "${LEDGER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP_WORK:-}" ] && { echo "# kept $WORK"; return; }
	rm -rf "$WORK"
}
trap cleanup EXIT

# log_key: the ledger's signing key $WORK/log.key (made once) and its
# verifier key $WORK/log.vkey.
log_key() {
	[ -f "$WORK/log.key" ] && return 0
	"$LEDGER" --keygen eco2.test/ledger --log-key "$WORK/log.key" >"$WORK/log.vkey"
}

# A certifier's certificate, to read what the ledger holds.
READER=(--cert "$WORK/pki/reader.pem" --key "$WORK/pki/reader.key")

# start_ledger NAME [--listen A:P] [extra args...]: starts eco2-ledger with
# the test PKI, its database $WORK/NAME.db and log $WORK/NAME.log; sets
# LEDGER_PID and PORT. Defaults: the good server certificate, a free port.
start_ledger() {
	local name=$1; shift
	local listen=127.0.0.1:0 cert=$WORK/pki/server.pem args=()
	while [ $# -gt 0 ]; do
		case $1 in
		--listen) listen=$2; shift 2 ;;
		--cert) cert=$2; shift 2 ;;
		*) args+=("$1"); shift ;;
		esac
	done
	: > "$WORK/$name.log"
	log_key || return 1
	"$LEDGER" --listen "$listen" --cert "$cert" --key "$WORK/pki/server.key" \
		--client-ca "$WORK/pki/ca.pem" --device-ca "$WORK/pki/ca.pem" \
		--reader-ca "$WORK/pki/reader-ca.pem" --reader "eco2 test certifier=*" \
		--log-key "$WORK/log.key" --db "$WORK/$name.db" "${args[@]}" 2>>"$WORK/$name.log" &
	LEDGER_PID=$!
	LEDGER_PIDS+=("$LEDGER_PID")
	PORT=
	for _ in $(seq 100); do
		PORT=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' "$WORK/$name.log" | tail -n 1)
		[ -n "$PORT" ] && return 0
		kill -0 "$LEDGER_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# eco2-ledger did not start:"; sed 's/^/# /' "$WORK/$name.log"
	return 1
}

stop_ledger() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# register PORT: POST the device certificate; prints the kid.
register() {
	curl -sS --cacert "$WORK/pki/ca.pem" -H 'Content-Type: application/x-pem-file' \
		--data-binary @"$WORK/pki/device.pem" "https://localhost:$1/v1/devices" |
		sed -n 's/.*"kid":"\([0-9a-f]\{16\}\)".*/\1/p'
}

# uploaded DB: how many records the store has marked uploaded.
uploaded() {
	"$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from records where state=1").fetchone()[0])' "$1"
}
