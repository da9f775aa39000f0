# records.sh — shared by crypto_oracle.sh and crypto_tamper.sh, which check
# exports made by eco2-rec-gen against eco2-verify and independent code.
# Sourced: sets gen and ver (exit 77 when either is not built or the
# openssl CLI is missing) and defines the helpers below. The caller then
# checks its own Python modules and calls records_scratch.
# shellcheck shell=bash
: "${ECO2_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
gen=$ECO2_BUILD/eco2-rec-gen
ver=$ECO2_BUILD/eco2-verify

for b in "$gen" "$ver"; do
	[ -x "$b" ] || { echo "$b not built"; exit 77; }
done
command -v openssl >/dev/null || { echo "openssl CLI not installed"; exit 77; }

# records_scratch: tmp, a scratch folder removed on exit, and the TAP
# counters n (tests) and failed.
records_scratch() {
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	n=0 failed=0
}

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else notok "$what"; fi; }

# mkkey NAME ed25519|p256: a file key $tmp/NAME.key (mode 600) made by the
# openssl CLI, and its public key $tmp/NAME.pub.
mkkey() {
	if [ "$2" = ed25519 ]; then
		openssl genpkey -algorithm ed25519 -out "$tmp/$1.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$1.key" 2>/dev/null
	fi
	chmod 600 "$tmp/$1.key"
	openssl pkey -in "$tmp/$1.key" -pubout -out "$tmp/$1.pub" 2>/dev/null
}
