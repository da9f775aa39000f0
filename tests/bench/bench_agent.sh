#!/bin/bash
# bench_agent.sh — eco2d's budgets (issue: eco2d):
#   - stripped size of every program (x86_64 here; cross/size-report.sh
#     gives aarch64 and armhf);
#   - resident memory (VmHWM) replaying a long drive at full speed with
#     uploads running to eco2-ledger over TLS;
#   - instructions per received frame (callgrind) on the replay path, and
#     what that costs at 4 x 8,000 frames/s;
#   - wakeups with nothing to do: an idle daemon for 60 s (IDLE_S).
# Figures, not verdicts: nothing here fails on a number.
set -u
S=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${ECO2_BUILD:-$S/build}
PY=${PYTHON:-/usr/bin/python3}
W=$(mktemp -d /tmp/eco2-bench-agent.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"' EXIT

echo "== stripped sizes (x86_64, dynamically linked)"
for p in eco2d eco2ctl eco2-verify eco2-sim eco2-ledger; do
	[ -x "$B/$p" ] || continue
	strip -o "$W/$p.stripped" "$B/$p"
	printf '  %-12s %8d bytes (%d KiB)\n' "$p" "$(stat -c %s "$W/$p.stripped")" $(( $(stat -c %s "$W/$p.stripped") / 1024 ))
done

echo "== a long drive: 6 x WLTC with parking, 3 h of CAN traffic"
args=()
for i in $(seq 6); do args+=(--cycle "$S/can/sim/cycles/wltc_class3b.csv" --park 600); done
"$B/eco2-sim" "${args[@]}" --out "$W/drive.log" > "$W/truth.json"
frames=$(wc -l < "$W/drive.log")
echo "  $frames frames"
"$B/eco2ctl" keygen --uri "file:$W/dev.key" --alg es256 2>/dev/null

conf() { # NAME LEDGER-LINES...
	local f=$W/$1.conf; shift
	printf '[can]\nprofile = %s/can/profiles/reference.profile\n[key]\nuri = file:%s/dev.key\n[store]\npath = %s.db\n' \
		"$S" "$W" "${f%.conf}" > "$f"
	printf '%s\n' "$@" >> "$f"
}

if [ -x "$B/eco2-ledger" ]; then
	"$S/tests/integration/upload/pki.sh" "$W/pki" es256
	"$B/eco2-ledger" --listen 127.0.0.1:0 --cert "$W/pki/server.pem" --key "$W/pki/server.key" \
		--client-ca "$W/pki/ca.pem" --device-ca "$W/pki/ca.pem" --db "$W/l.db" 2> "$W/l.log" &
	PIDS+=($!)
	for _ in $(seq 100); do
		port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$W/l.log" | head -n 1)
		[ -n "$port" ] && break
		sleep 0.05
	done
	curl -sS --cacert "$W/pki/ca.pem" -H 'Content-Type: application/x-pem-file' \
		--data-binary @"$W/pki/device.pem" "https://localhost:$port/v1/devices" > /dev/null
	cp "$W/pki/device.key" "$W/dev.key"
	conf up "[ledger]" "url = https://localhost:$port" "ca = $W/pki/ca.pem" \
		"cert = $W/pki/device.pem" "key = $W/pki/device.key" "[upload]" "interval_s = 1"
	echo "== resident memory, replay at full speed with uploads over TLS"
	/usr/bin/time -f '%M %e' -o "$W/time" "$B/eco2d" -c "$W/up.conf" --replay "$W/drive.log" \
		--exit-at-end --upload-drain 2> "$W/up.log"
	read -r kib secs < "$W/time"
	echo "  VmHWM $kib KiB ($(( kib / 1024 )) MiB) over ${secs} s, $(grep -c 'stored' "$W/up.log") records stored and uploaded"
	echo "  replay rate: $(awk -v f="$frames" -v s="$secs" 'BEGIN { printf "%.2f M frames/s", f / s / 1e6 }') (parse + decode + trips + sign + store + upload)"
fi

if command -v valgrind >/dev/null; then
	echo "== instructions per frame (callgrind, replay path: candump parse + decode + trip)"
	conf cg "[ledger]" "enabled = false"
	valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$B/eco2d" -c "$W/cg.conf" \
		--replay "$W/drive.log" --exit-at-end --no-seccomp 2> "$W/cg.log"
	total=$(sed -n 's/^summary: //p' "$W/cg.out")
	parse=$(callgrind_annotate --inclusive=yes "$W/cg.out" 2>/dev/null | awk '/canlog_next/ { gsub(",", "", $1); print $1; exit }')
	echo "  total $total instructions, $(( total / frames )) per frame"
	if [ -n "$parse" ]; then
		live=$(( (total - parse) / frames ))
		echo "  of which candump text parsing $(( parse / frames )); without it (the live path's work): $live per frame"
		echo "  at 32,000 frames/s: $(awk -v i="$live" 'BEGIN { printf "%.1f M instructions/s, %.2f %% of a 3 G instructions/s core", i * 32000 / 1e6, i * 32000 / 3e9 * 100 }')"
	fi
fi

echo "== idle wakeups (${IDLE_S:=60} s, nothing to read, nothing to upload)"
conf idle "[ledger]" "enabled = false"
: > "$W/empty.log"
"$B/eco2d" -c "$W/idle.conf" --replay "$W/empty.log" 2> "$W/idle.log" &
D=$!
sleep "$IDLE_S"
kill -TERM "$D"; wait "$D"
echo "  $(sed -n 's/.*loop: \([0-9]*\) wakeups in \([0-9.]*\) s.*/\1 wakeups in \2 s/p' "$W/idle.log") (the end of the empty log and the SIGTERM are two of them)"
NOTIFY_SOCKET= WATCHDOG_USEC=30000000 "$B/eco2d" -c "$W/idle.conf" --replay "$W/empty.log" 2> "$W/idle2.log" &
D=$!
sleep "$IDLE_S"
kill -TERM "$D"; wait "$D"
echo "  with WatchdogSec=30: $(sed -n 's/.*loop: \([0-9]*\) wakeups in \([0-9.]*\) s.*/\1 wakeups in \2 s/p' "$W/idle2.log") (a ping every 15 s)"
