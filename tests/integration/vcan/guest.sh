# guest.sh — the vcan test proper, run by busybox sh inside the qemu guest
# (or by sh on a host that has vcan). Prints TAP lines numbered from
# $TAP_BASE + 1 and exits non-zero if one failed.
#
# Environment: IF (interface name, default vcan0), PROFILES (folder of the
# shipped profiles), PROBE (can-probe), VCAN_ADD (command creating and
# upping $IF), WORK (scratch folder). Needs cansend, cangen, canplayer, ip.
IF=${IF:-vcan0}
PROFILES=${PROFILES:-/eco2/profiles}
PROBE=${PROBE:-can-probe}
VCAN_ADD=${VCAN_ADD:-vcan-add}
WORK=${WORK:-/tmp}
n=${TAP_BASE:-0}
rc=0

tap() { # tap STATUS WHAT
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; rc=1; fi
}
# wait_for FILE REGEX [TENTHS]: until a line of FILE matches (default 10 s)
wait_for() {
	i=0
	while ! grep -qE "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt "${3:-100}" ] && return 1
		sleep 0.1
	done
	return 0
}
# start NAME ARGS...: can-probe in the background, output in $WORK/NAME.out
start() {
	name=$1; shift
	"$PROBE" --max-ms 60000 "$@" "$IF" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	pid=$!
	wait_for "$WORK/$name.out" '^ready' || echo "# $name: probe did not start: $(cat "$WORK/$name.err")"
}
stop() { kill -TERM "$pid" 2>/dev/null; wait "$pid"; }
has() { grep -qxF "$2" "$WORK/$1.out"; }
count() { grep -c "$2" "$WORK/$1.out"; }
show() { sed 's/^/# /' "$WORK/$1.out"; }

# ---- interface ---------------------------------------------------------
$VCAN_ADD "$IF" >/dev/null 2>&1 && ip link set "$IF" down && ip link set "$IF" mtu 72 &&
	ip link set "$IF" up
tap $? "$IF created with the CAN FD MTU (72)"

# ---- 1: reference profile: decoded values, kernel filters ------------------
start ref --profile "$PROFILES/reference.profile"
cansend "$IF" 130#4E61BC00             # odometer 12345.678 km
cansend "$IF" 7FF#0102                 # not in the profile
cansend "$IF" 00000130#4E61BC00        # same number, 29-bit: not in the profile
cansend "$IF" 150#0102030405060708     # in the DBC, no role mapped
cansend "$IF" 110#409C38FFA0000000     # 400.00 V, -20.0 A
cansend "$IF" 120#3930                 # 123.45 km/h
cansend "$IF" 130#R                    # remote frame
cansend "$IF" 140#01                   # ignition on
wait_for "$WORK/ref.out" '^sample ignition'
stop
show ref
has ref "sample odometer 12345678.000000" &&
	has ref "sample pack_voltage 400.000000" &&
	has ref "sample pack_current -20.000000" &&
	has ref "sample speed 123.450000" &&
	has ref "sample ignition 1.000000" && has ref "sample charging 0.000000"
tap $? "reference profile: odometer, V, I, speed, ignition decoded in canonical units"
[ "$(count ref '^frame ')" -eq 4 ] && ! grep -qE '^frame [^ ]+ (7ff|150) |^frame [^ ]+ 130 E' "$WORK/ref.out"
tap $? "kernel filters pass the 4 profile frames and nothing else (11/29-bit, unmapped, remote)"
has ref "stats $IF frames=4 dropped=0 reopens=0 bus_off=0 error_passive=0"
tap $? "reference probe counters: 4 frames, nothing dropped"

# ---- 2: CAN FD -----------------------------------------------------------
start fd --fd --id 456 --id 01ABCDEF
p_fd=$pid
"$PROBE" --max-ms 60000 --id 456 "$IF" >"$WORK/classic.out" 2>&1 &
p_cl=$!
wait_for "$WORK/classic.out" '^ready'
cansend "$IF" 456##1000102030405060708090A0B0C0D0E0F1011121314151617
cansend "$IF" 01ABCDEF##0A0A1A2A3A4A5A6A7A8A9AAAB
cansend "$IF" 456#CAFE
wait_for "$WORK/fd.out" '^frame [^ ]+ 456 - 2 cafe'
wait_for "$WORK/classic.out" '^frame [^ ]+ 456 - 2 cafe'
pid=$p_fd; stop
pid=$p_cl; stop
show fd
has fd "frame $IF 456 FB 24 000102030405060708090a0b0c0d0e0f1011121314151617"
tap $? "CAN FD frame with bit-rate switch, 24 bytes, received whole"
has fd "frame $IF 1abcdef EF 12 a0a1a2a3a4a5a6a7a8a9aaab"
tap $? "CAN FD frame with a 29-bit id, 12 bytes"
has fd "frame $IF 456 - 2 cafe" && [ "$(count classic '^frame ')" -eq 1 ] &&
	has classic "frame $IF 456 - 2 cafe"
tap $? "classic frames on the same bus; a socket without FD sees only them"

# ---- 3: J1939: any source address, masks keep other PGNs out -------------
start j1939 --profile "$PROFILES/j1939.profile"
cansend "$IF" 18FEC117#400D0300FFFFFFFF   # HRVD from SA 0x17: 1000 km
cansend "$IF" 18FEC217#400D0300FFFFFFFF   # PGN 65218: not in the profile
cansend "$IF" 0CFEF1EE#FFFFFFFFFFFFFFFF   # CCVS1 speed "not available"
cansend "$IF" 0CFEF1EE#FF0019FFFFFFFFFF   # CCVS1 from SA 0xEE: 25 km/h
wait_for "$WORK/j1939.out" '^sample speed'
stop
show j1939
has j1939 "sample odometer 1000000.000000" && has j1939 "sample speed 25.000000" &&
	[ "$(count j1939 '^sample ')" -eq 2 ] && [ "$(count j1939 '^frame ')" -eq 3 ]
tap $? "J1939 profile: PGNs from any source address, other PGNs filtered, n/a skipped"

# ---- 4: canplayer replay through the Tesla Model 3 profile ----------------
cat >"$WORK/tesla.log" <<'EOF'
(1700000000.000000) can0 3B6#15CD5B07
(1700000000.010000) can0 132#A08C0CFE
(1700000000.020000) can0 3F2#0387D61200
(1700000000.030000) can0 3F2#0187D61200
(1700000000.040000) can0 3F2#0287D61200
(1700000000.050000) can0 123#00
EOF
start tesla --profile "$PROFILES/tesla-model3.profile"
canplayer -t -I "$WORK/tesla.log" "$IF=can0"
tap $? "canplayer replays a candump log onto $IF"
wait_for "$WORK/tesla.out" '^sample regen_energy_total'
stop
show tesla
has tesla "sample odometer 123456789.000000" && has tesla "sample pack_voltage 360.000000" &&
	has tesla "sample pack_current 50.000000" &&
	has tesla "sample discharge_energy_total 1234567.000000" &&
	has tesla "sample regen_energy_total 1234567.000000" && [ "$(count tesla '^sample ')" -eq 5 ]
tap $? "Tesla profile: odometer, V, I (discharge positive), multiplexed lifetime counters"

# ---- 5: drop counter: tiny receive buffer, burst, late reader ------------
# The kernel stamps each queued frame with the socket's drop count so far, so
# drops show on the first frame queued after them: one more frame follows.
start drop --id 123 --rcvbuf 1 --delay-ms 1500 --times
cangen "$IF" -I 123 -L 8 -D i -g 0 -n 500
wait_for "$WORK/drop.out" '^frame ' 50
cansend "$IF" 123#EE
wait_for "$WORK/drop.out" '^frame [^ ]+ 123 - 1 ee'
stop
grep -E '^(event|stats)' "$WORK/drop.out" | sed 's/^/# /'
frames=$(sed -n 's/^stats .* frames=\([0-9]*\) dropped=\([0-9]*\).*/\1/p' "$WORK/drop.out")
dropped=$(sed -n 's/^stats .* frames=\([0-9]*\) dropped=\([0-9]*\).*/\2/p' "$WORK/drop.out")
events=$(awk '$1 == "event" && $3 == "dropped" { s += $4 } END { print s + 0 }' "$WORK/drop.out")
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] && [ "$events" -eq "$dropped" ]
tap $? "SO_RXQ_OVFL: ${dropped:-no} frames reported dropped, in events summing to the same"
[ -n "$frames" ] && [ $((frames + dropped)) -eq 501 ]
tap $? "every one of 501 frames was received (${frames:-?}) or counted as dropped (${dropped:-?})"
# The frames queued during the burst were read 1.5 s later: their times
# must be the kernel's receive times, not the time they were read.
late=$(awk '$1 == "time" { printf "%d", ($3 - $2) / 1000000; exit }' "$WORK/drop.out")
echo "# first queued frame handed over ${late:-?} ms after its kernel timestamp"
[ -n "$late" ] && [ "$late" -ge 500 ] && [ "$late" -lt 10000 ]
tap $? "frame times are kernel receive timestamps (SO_TIMESTAMPNS)"

# The same without privileges: SO_RCVBUFFORCE is refused, SO_RCVBUF used.
start dropu --id 123 --rcvbuf 1 --delay-ms 1500 --uid 65534
cangen "$IF" -I 123 -L 8 -D i -g 0 -n 500
wait_for "$WORK/dropu.out" '^frame ' 50
cansend "$IF" 123#EE
wait_for "$WORK/dropu.out" '^frame [^ ]+ 123 - 1 ee'
stop
grep -E '^stats' "$WORK/dropu.out" | sed 's/^/# /'
sed 's/^/# stderr: /' "$WORK/dropu.err"
frames=$(sed -n 's/^stats .* frames=\([0-9]*\) dropped=\([0-9]*\).*/\1/p' "$WORK/dropu.out")
dropped=$(sed -n 's/^stats .* frames=\([0-9]*\) dropped=\([0-9]*\).*/\2/p' "$WORK/dropu.out")
# A default-sized buffer would hold a few hundred frames; the small one a few.
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] && [ $((frames + dropped)) -eq 501 ] &&
	[ "$frames" -lt 50 ] && ! grep -q 'SO_RCVBUF' "$WORK/dropu.err"
tap $? "unprivileged reader: SO_RCVBUF fallback took effect (${frames:-?} kept), ${dropped:-no} drops counted"

# ---- 6: error frames become events ----------------------------------------
start err --id 123
cansend "$IF" 20000040#0000000000000000    # CAN_ERR_BUSOFF
cansend "$IF" 20000004#0010000000000000    # CAN_ERR_CRTL, RX error-passive
wait_for "$WORK/err.out" '^event [^ ]+ error_passive'
stop
show err
has err "event $IF bus_off 0" && has err "event $IF error_passive 0" &&
	[ "$(count err '^frame ')" -eq 0 ]
tap $? "error frames reported as bus_off and error_passive events, not as data"

# ---- 7: interface down and up: closed, re-opened with backoff --------------
start updown --id 123 --backoff-ms 50
cansend "$IF" 123#01
wait_for "$WORK/updown.out" '^frame [^ ]+ 123 - 1 01'
ip link set "$IF" down
wait_for "$WORK/updown.out" '^event [^ ]+ iface_down'
r1=$?
sleep 0.3
ip link set "$IF" up
wait_for "$WORK/updown.out" '^event [^ ]+ iface_up'
r2=$?
cansend "$IF" 123#02
wait_for "$WORK/updown.out" '^frame [^ ]+ 123 - 1 02'
r3=$?
stop
show updown
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $r3 -eq 0 ] && grep -q '^stats .* frames=2 .*reopens=1 ' "$WORK/updown.out"
tap $? "ENETDOWN: reported, socket re-opened after the interface came back, frames flow again"

# ---- 8: interface deleted and created again --------------------------------
start gone --id 123 --backoff-ms 50
ip link delete "$IF"
wait_for "$WORK/gone.out" '^event [^ ]+ iface_down'
r1=$?
sleep 1
$VCAN_ADD "$IF" >/dev/null 2>&1
wait_for "$WORK/gone.out" '^event [^ ]+ iface_up'
r2=$?
cansend "$IF" 123#03
wait_for "$WORK/gone.out" '^frame [^ ]+ 123 - 1 03'
r3=$?
stop
show gone
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $r3 -eq 0 ] && grep -q '^stats .*reopens=1 ' "$WORK/gone.out"
tap $? "ENODEV: a deleted interface is waited for and re-opened when it returns"
# 1 s without the interface at 50..200 ms backoff: a handful of retries,
# each one timer wake-up; a spinning loop would wake thousands of times.
wakeups=$(sed -n 's/^loop wakeups=//p' "$WORK/gone.out")
[ -n "$wakeups" ] && [ "$wakeups" -le 30 ]
tap $? "no spin while the interface is gone (${wakeups:-?} loop wake-ups in about 1.5 s)"

# ---- 9: several interfaces behind one source ------------------------------
$VCAN_ADD "${IF}b" >/dev/null 2>&1
"$PROBE" --max-ms 60000 --id 123 "$IF" "${IF}b" >"$WORK/multi.out" 2>"$WORK/multi.err" &
pid=$!
wait_for "$WORK/multi.out" '^ready'
cansend "$IF" 123#0A
cansend "${IF}b" 123#0B
cansend "${IF}b" 124#0C
wait_for "$WORK/multi.out" '^frame [^ ]+ 123 - 1 0b'
stop
show multi
has multi "frame $IF 123 - 1 0a" && has multi "frame ${IF}b 123 - 1 0b" &&
	has multi "stats $IF frames=1 dropped=0 reopens=0 bus_off=0 error_passive=0" &&
	has multi "stats ${IF}b frames=1 dropped=0 reopens=0 bus_off=0 error_passive=0"
tap $? "two interfaces read through one source, each frame tagged with its interface"
ip link delete "${IF}b" 2>/dev/null

# ---- the driver itself ------------------------------------------------------
bad=$(grep -lE 'Sanitizer|runtime error|Segmentation|Aborted' "$WORK"/*.err 2>/dev/null)
[ -z "$bad" ]
tap $? "no crash or sanitizer report from any probe${bad:+ (see $bad)}"
[ -n "$bad" ] && cat $bad | sed 's/^/# /'

exit $rc
