#!/bin/bash
# poll_kconfig.sh — eco2d built without the poller (CONFIG_CAN_POLL off):
# the poller's code is not linked, a configuration that would poll a live
# bus is refused by --check-config and at start-up naming the option, a
# broadcast profile still passes, and a recorded polling session still
# replays into the same records as the full build signs.
set -u
: "${ECO2_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
B=$ECO2_BUILD
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
n=0 failed=0
ok() {	# ok COND-STATUS WHAT [DETAIL-FILE]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; failed=1
		[ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -n 8
	fi
}

O=$W/build
make -s --no-print-directory -C "$ECO2_SRC" O="$O" defconfig >"$W/make.log" 2>&1 &&
	sed -i 's/^CONFIG_CAN_POLL=y$/# CONFIG_CAN_POLL is not set/' "$O/.config" &&
	make -s --no-print-directory -C "$ECO2_SRC" O="$O" olddefconfig >>"$W/make.log" 2>&1 &&
	make -s --no-print-directory -C "$ECO2_SRC" O="$O" -j"$(nproc)" "$O/eco2d" >>"$W/make.log" 2>&1
ok $? "eco2d builds with CONFIG_CAN_POLL off" "$W/make.log"
[ -x "$O/eco2d" ] || { echo "1..$n"; exit 1; }
grep -q '^# CONFIG_CAN_POLL is not set' "$O/.config"
ok $? "the option stays off through olddefconfig"
! nm "$O/eco2d" | grep -q ' can_source_poller$' && nm "$B/eco2d" | grep -q ' can_source_poller$'
ok $? "the poller is linked into the full build only"
full=$(stat -c %s "$B/eco2d") less=$(stat -c %s "$O/eco2d")
[ "$less" -lt "$full" ]
ok $? "eco2d without the poller is smaller ($less against $full bytes, unstripped)"

"$B/eco2ctl" keygen --uri "file:$W/dev.key" --alg ed25519 >/dev/null 2>&1
conf() {	# conf NAME PROFILE [INTERFACES]
	{ printf '[can]\nprofile = %s\n' "$ECO2_SRC/can/profiles/$2.profile"
	  [ -n "${3:-}" ] && printf 'interfaces = %s\n' "$3"
	  printf '[key]\nuri = file:%s/dev.key\n[store]\npath = %s/%s.db\n[ledger]\nenabled = false\n' "$W" "$W" "$1"
	} >"$W/$1.conf"
}
conf polled obd2-ev vcan0
conf broadcast reference vcan0
"$O/eco2d" -c "$W/polled.conf" --check-config >/dev/null 2>"$W/err"
rc=$?
[ $rc -eq 2 ] && grep -q 'obd2-ev.profile asks ECUs.*CONFIG_CAN_POLL' "$W/err"
ok $? "--check-config refuses a polled profile on a live bus, naming CONFIG_CAN_POLL (exit $rc)" "$W/err"
"$B/eco2d" -c "$W/polled.conf" --check-config >/dev/null 2>"$W/err"
ok $? "the full build accepts the same configuration" "$W/err"
"$O/eco2d" -c "$W/broadcast.conf" --check-config >/dev/null 2>"$W/err"
ok $? "a broadcast profile passes" "$W/err"
timeout 10 "$O/eco2d" -c "$W/polled.conf" --no-seccomp >/dev/null 2>"$W/err"
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'built without the poller (CONFIG_CAN_POLL)' "$W/err"
ok $? "started on a live bus with a polled profile, eco2d stops at once naming the option (exit $rc)" "$W/err"

# A recorded polling session replays without the poller.
"$B/eco2-sim" --profile "$ECO2_SRC/can/profiles/reference-poll.profile" --cycle wltc_class3b \
	--park 60 --cycle nedc --odo-resolution-m 1 --out "$W/day.log" >/dev/null 2>"$W/err"
ok $? "eco2-sim writes a polling session" "$W/err"
conf replay-less reference-poll
conf replay-full reference-poll
"$O/eco2d" -c "$W/replay-less.conf" --replay "$W/day.log" --exit-at-end --no-seccomp >/dev/null 2>"$W/err.less"
r1=$?
"$B/eco2d" -c "$W/replay-full.conf" --replay "$W/day.log" --exit-at-end --no-seccomp >/dev/null 2>"$W/err.full"
r2=$?
trips() { "$B/eco2ctl" -c "$W/$1.conf" trips | grep -E '^ +[0-9]+ +(trip|charging) '; }
trips replay-less >"$W/t.less"
trips replay-full >"$W/t.full"
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$(wc -l <"$W/t.less")" -eq 2 ] && cmp -s "$W/t.less" "$W/t.full"
ok $? "the session replays without the poller into the full build's trips ($(wc -l <"$W/t.less") trips)" "$W/err.less"
echo "1..$n"
exit $failed
