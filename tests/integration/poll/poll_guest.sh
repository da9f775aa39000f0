# poll_guest.sh — eco2d asking eco2-sim's ECUs through the kernel's
# CAN_ISOTP and CAN_J1939 sockets on vcan, run by busybox sh inside the
# qemu guest (or by sh on a host with vcan, can-isotp and can-j1939).
# Prints TAP and exits non-zero if a line failed.
#
# Cases, each with a fresh eco2d and store, candump recording the bus:
#   wltc      a WLTC drive, parked 2 min, a short drive: both trips'
#             distance and energy against the simulator's truth; nothing
#             asked while parked
#   refuse    the BMS refuses (0x31): asked once, said once, never again;
#             the VCU answers 150 ms late (within P2): all taken
#   quiet     the BMS answers "response pending" three times first; the
#             VCU never answers: misses, back-off, taken as asleep
#   j1939     a J1939 request (PGN 59904) for PGN 65217 over CAN_J1939
# and over every recording: eco2d sent nothing but its declared requests
# (and ISO-TP flow control) on its declared ids.
#
# Environment: IF, DATA (profiles/, wltc_waits.csv and drive_waits.csv:
# the cycles with standstills before and after, drive.csv), VCAN_ADD,
# WORK (scratch), SPEEDUP (the WLTC's, default 80).
IF=${IF:-vcan0}
DATA=${DATA:-/eco2/data}
VCAN_ADD=${VCAN_ADD:-vcan-add}
WORK=${WORK:-/tmp}
SPEEDUP=${SPEEDUP:-80}
n=0
rc=0

tap() { # tap STATUS WHAT
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; rc=1; fi
}
num() { # num FILE KEY [K]: the K-th number after "KEY": in FILE (default 1st)
	grep -o "\"$2\":[-0-9.]*" "$1" | sed -n "${3:-1}p" | cut -d: -f2
}
within() { # within HAVE WANT REL ABS: |have - want| <= rel * want + abs
	awk -v a="$1" -v b="$2" -v r="$3" -v k="$4" \
		'BEGIN { d = a - b; if (d < 0) d = -d; if (a == "" || b == "") exit 1; exit !(d <= r * b + k) }'
}

$VCAN_ADD "$IF" || { tap 1 "create $IF"; exit 1; }
mkdir -p "$WORK/keys"
chmod 0700 "$WORK/keys"

# A profile copy for the accelerated WLTC: requests every 40 ms of real
# time are 3.2 s of simulated time at 80x (the budget follows); the
# final standstill is 5 s. Its broadcast states once a simulated second,
# not ten times: the guest's one CPU has the simulator, eco2d and
# candump to run.
sed -e 's/^driving_s = 0.5/driving_s = 0.04/' -e 's/^budget_pct = 1/budget_pct = 7/' \
	-e 's/^dbc = reference.dbc/dbc = reference-fast.dbc/' \
	"$DATA/profiles/reference-poll.profile" >"$DATA/profiles/reference-poll-fast.profile"
sed 's/^BA_ "GenMsgCycleTime" BO_ 320 100;/BA_ "GenMsgCycleTime" BO_ 320 1000;/' \
	"$DATA/profiles/reference.dbc" >"$DATA/profiles/reference-fast.dbc"
# A copy whose P2 leaves room for answers 150 ms late on a loaded machine.
awk '{ print } /^request = 22 20 01$/ { print "timeout_ms = 600" }' \
	"$DATA/profiles/reference-poll.profile" >"$DATA/profiles/reference-poll-p2.profile"

conf() { # conf NAME PROFILE
	# Time runs SPEEDUP times faster on the bus than on eco2d's clock:
	# every speed the odometer implies looks that much higher.
	cat >"$WORK/$1.conf" <<CONF
[can]
profile = $DATA/profiles/$2.profile
interfaces = $IF
[key]
uri = file:$WORK/keys/device.key
[store]
path = $WORK/$1.db
[ledger]
enabled = false
[trip]
max_speed_kmh = 20000
[log]
level = info
CONF
	chmod 0640 "$WORK/$1.conf"
}

conf keygen reference-poll
eco2ctl -c "$WORK/keygen.conf" keygen --uri "file:$WORK/keys/device.key" --alg ed25519 \
	>"$WORK/keygen.log" 2>&1
tap $? "eco2ctl keygen"

# registered: a receive filter for id $1 (hex, lower case) on $IF
registered() {
	cat /proc/net/can/rcvlist_* 2>/dev/null | grep -iqE "^ +$IF +[0-9a-f]*$1 "
}

pid=
start() { # start CASE PROFILE ID: eco2d, ready once its socket for ID is in
	conf "$1" "$2"
	candump -L "$IF" >"$WORK/bus-$1.log" 2>/dev/null &
	dump=$!
	eco2d -c "$WORK/$1.conf" >"$WORK/$1.log" 2>&1 &
	pid=$!
	i=0
	while ! registered "$3" && [ $i -lt 500 ]; do
		kill -0 $pid 2>/dev/null || break
		i=$((i + 1)); usleep 10000
	done
	registered "$3"
	tap $? "$1: eco2d is up on $IF with $2 (after $((i * 10)) ms)"
}

stop() { # stop CASE
	usleep 100000
	kill -TERM $pid
	wait $pid
	st=$?
	tap $st "$1: eco2d stopped on SIGTERM with status 0 (got $st; 159 would be seccomp)"
	[ $st -eq 0 ] || sed 's/^/# eco2d: /' "$WORK/$1.log" | tail -n 15
	usleep 100000
	kill $dump 2>/dev/null
	wait $dump 2>/dev/null
	eco2ctl -c "$WORK/$1.conf" trips >"$WORK/$1.trips" 2>&1
}

sim() { # sim CASE PROFILE SPEEDUP ARGS...: eco2-sim on $IF, truth in CASE.truth
	c=$1 p=$2 s=$3
	shift 3
	eco2-sim --profile "$DATA/profiles/$p.profile" --iface "$IF" --speedup "$s" \
		--odo-resolution-m 1 "$@" >"$WORK/$c.truth" 2>"$WORK/$c.sim.err"
	tap $? "$c: eco2-sim drove $p (x$s)"
}

trip_field() { # trip_field CASE K FIELD: field FIELD of the K-th trip row
	grep -E '^ +[0-9]+ +trip ' "$WORK/$1.trips" | sed -n "${2}p" | awk -v f="$3" '{ print $f }'
}

# ---- wltc ---------------------------------------------------------------------
start wltc reference-poll-fast 7e8
sim wltc reference-poll-fast "$SPEEDUP" --cycle "$DATA/wltc_waits.csv" --park 120 --cycle "$DATA/drive_waits.csv"
stop wltc
trips=$(grep -cE '^ +[0-9]+ +trip ' "$WORK/wltc.trips")
[ "$trips" = 2 ]
tap $? "wltc: two trips recorded (got $trips)"
sed 's/^/# /' "$WORK/wltc.trips"
# compare CASE TRIP COLUMN KEY K REL ABS WHAT: the TRIP-th trip's COLUMN
# (km or kWh) against the K-th KEY of the truth, within REL x truth + ABS
compare() {
	want=$(num "$WORK/$1.truth" "$4" "$5")
	have=$(awk -v k="$(trip_field "$1" "$2" "$3")" 'BEGIN { printf "%.0f", k * 1000 }')
	within "$have" "$want" "$6" "$7"
	tap $? "$1: $8 $have vs truth $want"
}
# record 1 of the truth is the WLTC (the first number is the sum of both)
compare wltc 1 5 distance_m 2 0.002 0 "distance (m, within 0.2 %):"
compare wltc 1 6 discharge_wh 2 0.005 0 "discharge (Wh, within 0.5 %):"
compare wltc 1 7 regen_wh 2 0.005 1 "regen (Wh, within 0.5 % + 1 Wh):"
compare wltc 2 5 distance_m 3 0.01 2 "the drive after parking (m):"
# Parked: the bus is silent from the last "ignition off" of the first trip
# to the first "ignition on" of the second. Once eco2d had 300 ms to read
# the first, it must send nothing until the second.
parked=$(awk '
{ t = substr($1, 2, length($1) - 2) + 0; split($3, f, "#") }
f[1] == "140" && substr(f[2], 1, 2) == "00" && !on { off = t }
f[1] == "140" && substr(f[2], 1, 2) == "01" && off { if (t - off > 1) { on = t; exit } }
f[1] == "7E0" || f[1] == "7E4" { req[++n] = t }
END { c = 0; for (i = 1; i <= n; i++) if (req[i] > off + 0.3 && req[i] < on) c++
      printf "%d %.2f\n", c, on - off }' "$WORK/bus-wltc.log")
set -- $parked
asleep=$(num "$WORK/wltc.truth" poll_requests_asleep)
[ "$1" = 0 ] && awk -v s="$2" 'BEGIN { exit !(s > 1) }'
tap $? "wltc: nothing asked while parked ($1 requests in the $2 s the car slept; the simulated ECUs saw $asleep as it fell asleep)"
grep -q 'poll: vehicle parked' "$WORK/wltc.log" && grep -q 'poll: vehicle driving' "$WORK/wltc.log"
tap $? "wltc: the poller followed the car from driving to parked and back"
grep 'poll: \[poll\.' "$WORK/wltc.log" | sed 's/^/# /'

# ---- refusal and late answers -----------------------------------------------------
# The BMS refuses its DID (0x31); the VCU answers 150 ms late (within its
# P2 of 600 ms).
start refuse reference-poll-p2 7e8
sim refuse reference-poll-p2 10 --cycle "$DATA/drive.csv" --ecu-reply nrc=31@bms --ecu-reply slow=150@vcu
stop refuse
said=$(grep -c 'requestOutOfRange (0x31): not asked again' "$WORK/refuse.log")
[ "$said" = 1 ]
tap $? "refuse: said once ($said)"
# on the bus: after the BMS's refusal, no request to it again
after=$(awk '/ 7EC#037F2231/ { seen = 1; next } seen && / 7E4#03222002/ { n++ } END { print n + 0 }' "$WORK/bus-refuse.log")
refused=$(grep -c ' 7EC#037F2231' "$WORK/bus-refuse.log")
[ "$refused" = 1 ] && [ "$after" = 0 ]
tap $? "refuse: the BMS refused once and was not asked again ($refused refusals, $after requests after)"
line=$(grep 'poll: \[poll\.vcu\]' "$WORK/refuse.log" | tail -n 1)
echo "# $line"
mean=$(echo "$line" | sed -n 's/.*latency mean \([0-9.]*\) ms.*/\1/p')
miss=$(echo "$line" | sed -n 's/.*, \([0-9]*\) no answer.*/\1/p')
# (one miss: the request eco2d sends as it starts, before the simulator runs)
awk -v p="$mean" 'BEGIN { exit !(p >= 145 && p < 600) }' && [ -n "$miss" ] && [ "$miss" -le 1 ]
tap $? "refuse: answers 150 ms late are taken (mean latency $mean ms, $miss missed)"
grep -E '^ +[0-9]+ +trip ' "$WORK/refuse.trips" | grep -q .
tap $? "refuse: the trip is still recorded, from the VCU's answers"

# ---- pending and silence ------------------------------------------------------------
# The BMS answers "response pending" three times first; the VCU never answers.
start quiet reference-poll 7e8
sim quiet reference-poll 5 --cycle "$DATA/drive.csv" --ecu-reply pending=3@bms --ecu-reply silent@vcu
stop quiet
line=$(grep 'poll: \[poll\.bms\]' "$WORK/quiet.log" | tail -n 1)
echo "# $line"
p=$(echo "$line" | sed -n 's/.* \([0-9]*\) pending$/\1/p')
a=$(echo "$line" | sed -n 's/.* asked, \([0-9]*\) answered.*/\1/p')
[ -n "$p" ] && [ "$p" -ge 3 ] && [ -n "$a" ] && [ "$a" -ge 1 ]
tap $? "quiet: answers after 0x78 are waited for ($p pending, $a answered)"
wh=$(trip_field quiet 1 6)
awk -v k="$wh" 'BEGIN { exit !(k > 0) }'
tap $? "quiet: the trip has its energy from the BMS ($wh kWh)"
grep -q 'ECU 7E0 does not answer: taken as asleep' "$WORK/quiet.log"
tap $? "quiet: the VCU is taken as asleep after three misses"
asked=$(grep -c ' 7E0#03222001' "$WORK/bus-quiet.log")
# every 0.5 s + 200 ms without the back-off (7 or more in the 4.6 s run);
# with it 1 s, 2 s, 4 s apart
[ "$asked" -ge 3 ] && [ "$asked" -le 5 ]
tap $? "quiet: requests to the silent VCU back off ($asked in the run)"
flags=$(trip_field quiet 1 9)
[ -n "$flags" ] && [ $(( flags & 1024 )) -ne 0 ]
tap $? "quiet: the trip is flagged no_odometer (flags $flags)"

# ---- j1939 -----------------------------------------------------------------------------
start j1939 j1939-poll fec100
sim j1939 j1939-poll 20 --cycle "$DATA/drive.csv"
stop j1939
reqs=$(grep -c ' 18EAFFFB#C1FE00$' "$WORK/bus-j1939.log")
answers=$(grep -c ' 18FEC100#' "$WORK/bus-j1939.log")
[ "$reqs" -ge 1 ] && [ "$answers" -ge 1 ]
st=$?
tap $st "j1939: eco2d requested PGN 65217 with PGN 59904 ($reqs requests, $answers answers)"
if [ $st -ne 0 ]; then
	sed 's/^/# eco2d: /' "$WORK/j1939.log" | head -n 20
	head -n 5 "$WORK/bus-j1939.log" | sed 's/^/# bus: /'
	sed 's/^/# sim: /' "$WORK/j1939.sim.err" "$WORK/j1939.truth"
fi
# The poller times each request until its group goes by on the bus: an
# answer counted is a group matched to the request. (The trip itself stays
# open: without an ignition it ends when the data have been silent for
# gap_end_s.)
line=$(grep 'poll: \[poll\.distance\]' "$WORK/j1939.log" | tail -n 1)
echo "# $line"
a=$(echo "$line" | sed -n 's/.* asked, \([0-9]*\) answered.*/\1/p')
[ -n "$a" ] && [ "$a" -ge 1 ]
tap $? "j1939: eco2d matched the requested group to its request ($a answered)"

# ---- the write allowlist -------------------------------------------------------------
# eco2d's only frames: its declared requests (padded with AA) and ISO-TP
# flow control on the request ids; every other id must be the simulator's.
cat "$WORK"/bus-*.log >"$WORK/bus.log"
awk '
{ split($3, f, "#"); id = f[1]; d = f[2] }
id == "7E0" { if (d == "03222001AAAAAAAA" || d == "300000AAAAAAAAAA") ours++; else bad = bad " " $3; next }
id == "7E4" { if (d == "03222002AAAAAAAA" || d == "300000AAAAAAAAAA") ours++; else bad = bad " " $3; next }
id == "18EAFFFB" { if (d == "C1FE00") ours++; else bad = bad " " $3; next }
id == "140" || id == "7E8" || id == "7EC" || id == "18FEF100" || id == "18F09000" || id == "18FEC100" { sim++; next }
{ bad = bad " " $3 }
END {
	printf "%d %d %s\n", ours, sim, bad
	exit bad != ""
}' "$WORK/bus.log" >"$WORK/allow.txt"
st=$?
read -r ours simf bad <"$WORK/allow.txt"
[ $st -eq 0 ] && [ "$ours" -gt 100 ]
tap $? "allowlist: of $(wc -l <"$WORK/bus.log") frames on the bus, eco2d sent $ours, all declared requests or flow control${bad:+ (outside: $bad)}"
mkdir -p /eco2/out 2>/dev/null && cp "$WORK"/*.log "$WORK"/*.truth "$WORK"/*.trips /eco2/out/ 2>/dev/null
exit $rc
