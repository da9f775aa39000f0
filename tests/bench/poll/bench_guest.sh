# bench_guest.sh — runs inside the qemu guest for bench_poll.sh: for each
# profile in PROFILES, eco2d on vcan0 while eco2-sim drives DRIVE_S seconds
# in real time (candump records the bus), then the car parked: eco2d's
# context switches over PARK_S seconds once it had SETTLE_S to notice.
# [trip] gap_end_s = 5: a profile without an ignition closes its trip when
# the data stop, so the trip's own 1-s timer is off by then and what is
# left is the poller's.
# Everything lands in /eco2/out for the host to read.
IF=vcan0
DATA=/eco2/data
OUT=/eco2/out
mkdir -p "$OUT" /tmp/keys
chmod 0700 /tmp/keys
vcan-add $IF || exit 1
eco2ctl keygen --uri file:/tmp/keys/k --alg ed25519 >/dev/null 2>&1 || exit 1
switches() { # switches PID: voluntary + involuntary context switches
	awk '/ctxt_switches/ { n += $2 } END { print n + 0 }' /proc/$1/status
}
for p in $PROFILES; do
	cat >/tmp/$p.conf <<CONF
[can]
profile = $DATA/profiles/$p.profile
interfaces = $IF
[key]
uri = file:/tmp/keys/k
[store]
path = /tmp/$p.db
[ledger]
enabled = false
[trip]
gap_end_s = 5
[log]
level = info
CONF
	candump -L $IF >"$OUT/bus-$p.log" 2>/dev/null &
	dump=$!
	eco2d -c /tmp/$p.conf >"$OUT/eco2d-$p.log" 2>&1 &
	pid=$!
	sleep 1
	t0=$(date +%s)
	eco2-sim --profile "$DATA/profiles/$p.profile" --cycle "$DATA/drive.csv" --iface $IF \
		>"$OUT/truth-$p.json" 2>"$OUT/sim-$p.log"
	t1=$(date +%s)
	sleep "$SETTLE_S"
	a=$(switches $pid)
	sleep "$PARK_S"
	b=$(switches $pid)
	kill -TERM $pid
	wait $pid
	kill $dump 2>/dev/null
	wait $dump 2>/dev/null
	echo "$p drive_s=$((t1 - t0)) park_s=$PARK_S park_switches=$((b - a))" >>"$OUT/summary.txt"
done
exit 0
