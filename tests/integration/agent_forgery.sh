#!/bin/bash
# agent_forgery.sh — nothing but the device makes a figure the device
# signs. The checkpoint in the store is edited as anyone who can write the
# store could (tests/integration/agent/forge.py, Python's sqlite3):
#   - a finished record waiting for the store (the quota reached): its
#     distance x 40, co2_g recomputed so that the record would verify;
#   - the open trip's running distance x 40, its blob's checksum redone.
# Restarted, eco2d refuses the checkpoint, keeps it aside, signs none of
# the forged figures, and the next record it makes carries state_break.
# With the key in a file, and in a SoftHSM2 token (its HMAC key).
. "$(dirname "$0")/agent/lib.sh"
SOFTHSM=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
: > "$W/none.log"
# The stores on tmpfs where there is one: a commit's fsync is not what
# this test is about, and on a slow disk it is most of its time.
SD=$W
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	SD=$(mktemp -d /dev/shm/eco2-forgery.XXXXXX)
	trap 'rm -rf "$SD"; cleanup' EXIT
fi

# Two hundred short trips (more than a 64 KiB store holds), one WLTC drive
# cut in two, and one more short trip later on.
"$PYTHON" - "$W/short.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("time_s,speed_kmh\n")
    t = 0
    for i in range(200):
        for dt, v in ((0, 0), (2, 0), (8, 30), (16, 30), (22, 0), (26, 0)):
            f.write("%d,%d\n" % (t + dt, v))
        t += 27
PY
"$B/eco2-sim" --cycle "$W/short.csv" --out "$W/many.log" > /dev/null
"$B/eco2-sim" --cycle wltc_class3b --start 1700100000 --out "$W/wltc.log" > /dev/null
n=$(wc -l < "$W/wltc.log")
head -n $((n / 2)) "$W/wltc.log" > "$W/wltc.1"
printf 'time_s,speed_kmh\n0,0\n2,0\n20,40\n60,40\n80,0\n90,0\n' > "$W/one.csv"
"$B/eco2-sim" --cycle "$W/one.csv" --start 1700200000 --out "$W/later.log" > /dev/null

# records FILE.cbor: one line per record: seq distance_m flags
records() {
	"$PYTHON" - "$1" <<'PY'
import sys, cbor2, io
b = open(sys.argv[1], "rb").read(); f = io.BytesIO(b)
while f.tell() < len(b):
    p = cbor2.loads(cbor2.load(f).value[2])
    print(p[2], p[9], p[18])
PY
}
count() { "$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$@"; }

# run_case NAME KEY-URI PUBKEY
run_case() {
	local name=$1 uri=$2 pub=$3 d rc n1 forged first
	conf() {   # conf FILE STORE [INI lines...]: with this case's key
		{ printf '[can]\nprofile = %s/can/profiles/reference.profile\n' "$S"
		  printf '[key]\nuri = %s\n[store]\npath = %s\n[ledger]\nenabled = false\n' "$uri" "$2"
		  printf '%s\n' "${@:3}"; } > "$1"
	}

	# -- a pending record --
	conf "$W/$name-ref.conf" "$SD/$name-ref.db" '[queue]' 'max_bytes = 16M' '[trip]' 'idle_end_s = 2'
	"$B/eco2d" -c "$W/$name-ref.conf" --replay "$W/many.log" --exit-at-end 2> /dev/null
	"$B/eco2ctl" -c "$W/$name-ref.conf" export > "$W/$name-ref.cbor" 2> /dev/null
	conf "$W/$name.conf" "$SD/$name.db" '[queue]' 'max_bytes = 64K' '[trip]' 'idle_end_s = 2'
	"$B/eco2d" -c "$W/$name.conf" --replay "$W/many.log" 2> "$W/$name-1.log" &
	d=$!
	for _ in $(seq 300); do grep -q 'end of log' "$W/$name-1.log" && break; sleep 0.1; done
	kill -TERM "$d"
	wait "$d"
	n1=$(count "$SD/$name.db" 'select count(*) from records')
	forged=$("$PYTHON" "$S/tests/integration/agent/forge.py" pending "$SD/$name.db" "$W/$name-ref.cbor" $((n1 + 1)))
	check "$name: record $((n1 + 1)) waits in the checkpoint; forged to $forged m with sqlite3" [ -n "$forged" ]
	conf "$W/$name.conf" "$SD/$name.db" '[queue]' 'max_bytes = 16M' '[trip]' 'idle_end_s = 2'
	"$B/eco2d" -c "$W/$name.conf" --replay "$W/later.log" --exit-at-end 2> "$W/$name-2.log"
	rc=$?
	"$B/eco2ctl" -c "$W/$name.conf" export > "$W/$name.cbor" 2> /dev/null
	records "$W/$name.cbor" > "$W/$name.txt"
	check "$name: eco2d refuses the checkpoint, says so, keeps running (exit $rc)" \
		eval '[ $rc -eq 0 ] && grep -q "tag does not verify.*refused; nothing in it will be signed" "$W/$name-2.log"'
	check "$name: no record carries the forged $forged m" eval '! grep -q "^[0-9]* $forged " "$W/$name.txt"'
	first=$(awk -v n="$n1" '$1 == n + 1' "$W/$name.txt")
	check "$name: the next record ($first) carries state_break" \
		eval '[ -n "$first" ] && [ $(( ${first##* } & 4096 )) -ne 0 ]'
	check "$name: the refused checkpoint is kept for inspection" \
		eval '[ "$(count "$SD/$name.db" "select count(*) from checkpoint_rejected")" = 1 ] &&
		      "$B/eco2ctl" -c "$W/$name.conf" status | grep -q "^refused state: *1 checkpoint kept aside"'
	"$B/eco2-verify" --pubkey "$pub" "$W/$name.cbor" > /dev/null 2>&1
	check "$name: what was signed verifies, one chain" [ $? -eq 0 ]

	# -- the open trip's running totals --
	conf "$W/$name-t.conf" "$SD/$name-t.db"
	rm -f "$W/fifo"; mkfifo "$W/fifo"
	"$B/eco2d" -c "$W/$name-t.conf" --replay "$W/fifo" 2> "$W/$name-3.log" &
	d=$!
	exec 7> "$W/fifo"
	cat "$W/wltc.1" >&7
	sleep 1   # the last 64 KiB in the pipe read too
	kill -TERM "$d"
	wait "$d"
	exec 7>&-   # only now: an end of the log would end the trip
	check "$name: stopped mid-trip, the open trip saved" grep -q 'saving the open trip' "$W/$name-3.log"
	n1=$(count "$SD/$name-t.db" 'select count(*) from records')
	forged=$("$PYTHON" "$S/tests/integration/agent/forge.py" trip "$SD/$name-t.db")
	check "$name: the open trip's distance forged to $forged m with sqlite3" [ -n "$forged" ]
	"$B/eco2d" -c "$W/$name-t.conf" --replay "$W/later.log" --exit-at-end 2> "$W/$name-4.log"
	rc=$?
	"$B/eco2ctl" -c "$W/$name-t.conf" export > "$W/$name-t.cbor" 2> /dev/null
	records "$W/$name-t.cbor" > "$W/$name-t.txt"
	check "$name: refused, and no record near the forged distance: $(tr '\n' ';' < "$W/$name-t.txt")" \
		eval '[ $rc -eq 0 ] && grep -q "refused; nothing in it will be signed" "$W/$name-4.log" &&
		      awk -v f="$forged" "\$2 * 2 > f { bad = 1 } END { exit bad }" "$W/$name-t.txt"'
	first=$(awk -v n="$n1" '$1 == n + 1' "$W/$name-t.txt")
	check "$name: the next record ($first) carries state_break" \
		eval '[ -n "$first" ] && [ $(( ${first##* } & 4096 )) -ne 0 ]'
}

make_key
run_case file "file:$W/dev.key" "$W/dev.pub"

if ! command -v softhsm2-util >/dev/null || [ ! -f "$SOFTHSM" ]; then
	for i in $(seq 12); do ok "softhsm # SKIP SoftHSM2 not installed (Debian softhsm2)"; done
	finish
	exit
fi
mkdir "$W/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
	"$W/tokens" > "$W/softhsm2.conf"
export SOFTHSM2_CONF=$W/softhsm2.conf
softhsm2-util --init-token --free --label eco2-forgery --pin 1234 --so-pin 5678 > /dev/null
printf '1234\n' > "$W/pin"
chmod 600 "$W/pin"
uri="pkcs11:token=eco2-forgery;object=device;type=private?module-path=$SOFTHSM&pin-source=file:$W/pin"
"$B/eco2ctl" keygen --uri "$uri" --alg ed25519 2> /dev/null
"$B/eco2ctl" pubkey --uri "$uri" > "$W/hsm.pub" 2> /dev/null
check "softhsm: an Ed25519 key and its HMAC key in the token" \
	eval '[ -s "$W/hsm.pub" ] && "$B/eco2-sign-test" --uri "$uri" --tag-scheme | grep -q "secret key in the token"'
run_case softhsm "$uri" "$W/hsm.pub"
finish
