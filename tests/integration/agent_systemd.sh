#!/bin/bash
# agent_systemd.sh — eco2d as a systemd service: the unit passes
# systemd-analyze verify, and the daemon speaks the notify protocol
# (READY=1, STATUS=, WATCHDOG=1 at half of WatchdogSec, STOPPING=1) to a
# socket this test listens on, and exits 0 on SIGTERM within 2 s.
. "$(dirname "$0")/agent/lib.sh"
make_key

# The unit, pointed at the built daemon (verify checks ExecStart exists).
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/sbin/eco2d|$B/eco2d|" "$S/agent/eco2d.service" > "$W/eco2d.service"
	out=$(cd "$W" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./eco2d.service 2>&1)
	check "systemd-analyze verify eco2d.service${out:+: $out}" [ -z "$out" ]
	for d in Type=notify WatchdogSec= User=eco2 NoNewPrivileges=yes ProtectSystem=strict \
		ReadWritePaths=/var/lib/eco2 'RestrictAddressFamilies=AF_CAN AF_UNIX AF_INET AF_INET6' \
		CapabilityBoundingSet= SystemCallFilter=; do
		check "unit has $d" grep -q "^$d" "$S/agent/eco2d.service"
	done
else
	ok "systemd-analyze verify # SKIP systemd-analyze not installed"
fi

# Start-up refuses what a signed record cannot carry whole, with a reason,
# and --check-config refuses it too (a VIN is 17 characters, the method id
# at most 31): no silent exit, no record with a cut-short field.
: > "$W/none.log"
for bad in 'vin = WVWZZZ1JZXW0000001|[vehicle] vin' \
	'id = eco2-ev-v1-with-a-method-name-too-long|[method] id'; do
	line=${bad%%|*} field=${bad#*|}
	write_conf "$W/bad.conf" "$W/bad.db" "${field%% *}" "$line"
	"$B/eco2d" -c "$W/bad.conf" --check-config > /dev/null 2> "$W/bad.log"
	rc=$?
	check "--check-config refuses a too long $field" \
		eval '[ $rc -ne 0 ] && grep -qF "$field: at most" "$W/bad.log"'
	"$B/eco2d" -c "$W/bad.conf" --replay "$W/none.log" --exit-at-end 2> "$W/bad.log"
	rc=$?
	check "start-up refuses a too long $field, saying so" \
		eval '[ $rc -ne 0 ] && grep -qF "$field: at most" "$W/bad.log"'
done

# A daemon with nothing to do: an empty replay and no --exit-at-end leave
# it serving its timers until it is told to stop (this host's kernel may
# have no CAN for a live one).
write_conf "$W/live.conf" "$W/live.db"
: > "$W/empty.log"
"$PYTHON" - "$W/notify.sock" "$W/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(8)
with open(sys.argv[2], "w") as out:
    end = time.time() + 8
    while time.time() < end:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        out.write("%.3f %s\n" % (time.time(), m.replace("\n", "|"))); out.flush()
        if m.startswith("STOPPING=1"):
            break
PY
LISTENER=$!
for _ in $(seq 50); do [ -S "$W/notify.sock" ] && break; sleep 0.05; done
NOTIFY_SOCKET=$W/notify.sock WATCHDOG_USEC=400000 "$B/eco2d" -c "$W/live.conf" \
	--replay "$W/empty.log" 2> "$W/live.log" &
D=$!
PIDS+=("$D")
sleep 1.5
t0=$(date +%s%N)
kill -TERM "$D"
wait "$D"
rc=$?
t1=$(date +%s%N)
wait "$LISTENER"
check "SIGTERM: exit 0" [ $rc -eq 0 ]
check "SIGTERM: exit within 2 s ($(( (t1 - t0) / 1000000 )) ms)" [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]
check "READY=1 sent" grep -q ' READY=1' "$W/notify.log"
check "STATUS= sent" grep -q ' STATUS=' "$W/notify.log"
check "STOPPING=1 sent last" sh -c "tail -n 1 '$W/notify.log' | grep -q STOPPING=1"
wd=$(grep -c ' WATCHDOG=1' "$W/notify.log")
# 1.5 s at a 0.2 s period: about 7 pings.
# (check runs one command: a compound condition goes through eval, or its
# second half would run outside the check and never fail the test.)
check "WATCHDOG=1 at half the watchdog period ($wd pings in 1.5 s)" eval '[ "$wd" -ge 5 ] && [ "$wd" -le 9 ]'
# Idle: the only wakeups are the watchdog's (and the signal that ended it).
wake=$(sed -n 's/.*loop: \([0-9]*\) wakeups.*/\1/p' "$W/live.log")
check "idle wakeups are the watchdog's: $wake for $wd pings" eval '[ -n "$wake" ] && [ "$wake" -le $((wd + 3)) ]'
finish
