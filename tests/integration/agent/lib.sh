# lib.sh — shared by tests/integration/agent_*.sh: TAP helpers, a scratch
# folder, a device key, a drive log from the simulator, an eco2d config.
# shellcheck shell=bash
: "${ECO2_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
B=$ECO2_BUILD
S=$ECO2_SRC
# Under SANITIZE=address, leaks inside the PKCS#11 modules and OpenSSL's
# pkcs11 engine (theirs, past C_Finalize) are not ours to report.
export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$S/tests/integration/crypto_lsan.supp:print_suppressions=0

tap_n=0 tap_fail=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
nok() { tap_n=$((tap_n + 1)); tap_fail=$((tap_fail + 1)); echo "not ok $tap_n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }
skip_all() { echo "1..0 # SKIP $*"; echo "skip: $*"; exit 77; }
finish() { echo "1..$tap_n"; [ "$tap_fail" -eq 0 ]; }

for p in eco2d eco2ctl eco2-sim eco2-verify; do
	[ -x "$B/$p" ] || skip_all "$p not built"
done

W=$(mktemp -d /tmp/eco2-agent.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP_WORK:-}" ] && { echo "# kept $W"; return; }
	rm -rf "$W"
}
trap cleanup EXIT

# A file key and its public key (Ed25519: fast to sign in loops).
make_key() {
	"$B/eco2ctl" keygen --uri "file:$W/dev.key" --alg "${1:-ed25519}" 2>/dev/null &&
		"$B/eco2ctl" pubkey --uri "file:$W/dev.key" > "$W/dev.pub" 2>/dev/null
}

# write_conf FILE STORE [extra INI lines...]: a config reading the
# reference profile, signing with dev.key, storing in STORE, not uploading.
write_conf() {
	local f=$1 store=$2; shift 2
	{
		printf '[can]\nprofile = %s/can/profiles/reference.profile\n' "$S"
		printf '[key]\nuri = file:%s/dev.key\n[store]\npath = %s\n' "$W" "$store"
		printf '%s\n' "$@"
	} > "$f"
	grep -q '^\[ledger\]' "$f" || printf '[ledger]\nenabled = false\n' >> "$f"
}

# total FIELD FILE.cbor: sum of a payload field over an exported record file
# (9 distance_m, 10 discharge_wh, 11 regen_wh), decoded with python3-cbor2.
total() {
	"$PYTHON" - "$1" "$2" <<'PY'
import sys, cbor2, io
key = int(sys.argv[1]); f = io.BytesIO(open(sys.argv[2], "rb").read()); n = 0
while f.tell() < len(f.getbuffer()):
    t = cbor2.load(f)
    n += cbor2.loads(t.value[2])[key]
print(n)
PY
}
