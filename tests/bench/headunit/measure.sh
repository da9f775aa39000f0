# measure.sh — runs inside the qemu guest of bench_headunit.sh (busybox sh,
# chrooted into the read-only ext4 image that holds the programs; see
# vm_outer.sh): eco2d's memory in three states, for each build in $CONFIGS,
# read from /proc/PID/smaps_rollup every $SAMPLE_US µs, the largest value of
# each field kept:
#
#   idle    4 vcan interfaces open, the ledger reachable, nothing to send,
#           for $IDLE_S s
#   replay  four canplayers send the simulator's drive at 8,000 frames/s
#           each on vcan0..3 (/data/replay-vcanN.log: the drive's frames
#           dealt out in turn, all of them frames eco2d's kernel filters let
#           through), records signed and uploaded as trips end
#   drain   a fresh store holding $DRAIN_N signed records, uploaded to
#           eco2-ledger on 127.0.0.1 in this same guest in batches of
#           $UPLOAD_BATCH, each marked uploaded once the ledger's signed
#           receipt for it is verified ([ledger] receipt_key)
#
# Each eco2d runs in a cgroup v2 child whose memory.max is $MEMORY_MAX
# (eco2d.service's MemoryMax=); memory.peak and memory.events are read when
# it stops. One line per state goes to /tmp/out/results.txt:
#   RESULT <config> <state> rss= pss= private= private_dirty= anon= [key=value...]
# and the drain state's mappings, summed per file, to <config>-maps.txt.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
out=/tmp/out
mkdir -p $out /tmp/run
res=$out/results.txt
: >$res
log() { echo "# $*"; }

vcan-add vcan0 vcan1 vcan2 vcan3 || { echo "vcan-add failed"; exit 1; }

P_RSS=0 P_PSS=0 P_PRIV=0 P_PD=0 P_ANON=0
peak_reset() { P_RSS=0 P_PSS=0 P_PRIV=0 P_PD=0 P_ANON=0; }
sample() { # PID: fold one smaps_rollup reading into the peaks
	set -- $(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_Clean:/ { pc = $2 }
		/^Private_Dirty:/ { pd = $2 } /^Anonymous:/ { a = $2 }
		END { if (r) print r, p, pc + pd, pd, a }' /proc/$1/smaps_rollup 2>/dev/null)
	[ $# -eq 5 ] || return 1
	[ "$1" -gt $P_RSS ] && P_RSS=$1
	[ "$2" -gt $P_PSS ] && P_PSS=$2
	[ "$3" -gt $P_PRIV ] && P_PRIV=$3
	[ "$4" -gt $P_PD ] && P_PD=$4
	[ "$5" -gt $P_ANON ] && P_ANON=$5
	return 0
}
result() { # CONFIG STATE [key=value...]
	local c=$1 s=$2
	shift 2
	echo "RESULT $c $s rss=$P_RSS pss=$P_PSS private=$P_PRIV private_dirty=$P_PD anon=$P_ANON $*" | tee -a $res
}

lpid=
port=
start_ledger() {
	cp /data/ledger.db /tmp/run/ledger.db
	cp /data/pki/log.key /tmp/run/log.key
	chmod 0600 /tmp/run/log.key
	eco2-ledger --listen 127.0.0.1:0 --cert /data/pki/server.pem --key /data/pki/server.key \
		--client-ca /data/pki/ca.pem --device-ca /data/pki/ca.pem --log-key /tmp/run/log.key \
		--db /tmp/run/ledger.db 2>/tmp/run/ledger.log &
	lpid=$!
	port=
	i=0
	while [ -z "$port" ] && [ $i -lt 300 ]; do
		port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' /tmp/run/ledger.log | head -n 1)
		i=$((i + 1))
		usleep 100000
	done
	[ -n "$port" ] || { sed 's/^/# ledger: /' /tmp/run/ledger.log; return 1; }
}
stop_ledger() { kill $lpid 2>/dev/null; wait $lpid 2>/dev/null; }
# records the store has seen acknowledged by the ledger (eco2ctl status,
# with a configuration that names the store and nothing to connect to)
accepted() {
	printf '[can]\nprofile = /bench/profiles/reference.profile\n[key]\nuri = file:/tmp/run/device.key\n[store]\npath = %s\n[ledger]\nenabled = false\n' \
		"$(sed -n 's/^path = //p' /tmp/run/eco2d.conf)" >/tmp/run/status.conf
	eco2ctl -c /tmp/run/status.conf status 2>/dev/null | sed -n 's/^uploaded: *\([0-9]*\) records.*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}

cgn=0
cg=
new_cgroup() {
	cgn=$((cgn + 1))
	cg=/sys/fs/cgroup/eco2d-$cgn
	mkdir $cg && echo "$MEMORY_MAX" >$cg/memory.max
}
cg_report() {
	echo "memory_peak=$(($(cat $cg/memory.peak) / 1024)) oom_kill=$(sed -n 's/^oom_kill //p' $cg/memory.events)" \
		"memory_max_events=$(sed -n 's/^max //p' $cg/memory.events)"
}

pid=
start_eco2d() { # CONFIG: eco2d-CONFIG in the current cgroup, ready when its sockets are
	rm -f /tmp/run/eco2d.log
	sh -c 'echo $$ >'$cg'/cgroup.procs && exec eco2d-'$1' -c /tmp/run/eco2d.conf' \
		>/tmp/run/eco2d.log 2>&1 &
	pid=$!
	i=0
	while [ "$(cat /proc/net/can/rcvlist_* 2>/dev/null | grep -cE '^ +vcan[0-3] ')" -lt 4 ] && [ $i -lt 600 ]; do
		kill -0 $pid 2>/dev/null || break
		i=$((i + 1))
		usleep 50000
	done
	kill -0 $pid 2>/dev/null || { sed 's/^/# eco2d: /' /tmp/run/eco2d.log; return 1; }
}
stop_eco2d() { # CONFIG STATE: the last lines of both logs stay in /tmp/out
	kill -TERM $pid
	wait $pid
	st=$?
	tail -n 100 /tmp/run/eco2d.log >$out/$1-$2-eco2d.log
	tail -n 100 /tmp/run/ledger.log >$out/$1-$2-ledger.log
	[ $st -eq 0 ] || { log "eco2d-$1 exited $st"; sed 's/^/# eco2d: /' /tmp/run/eco2d.log | tail -n 5; }
	return $st
}

write_conf() { # CONFIG STORE
	if [ "$1" = openssl ]; then
		keyuri="pkcs11:token=eco2hu;object=dev;type=private?module-path=$SOFTHSM_MODULE&pin-source=file:/tmp/run/pin"
		cert=/data/pki/token-device.pem
		tlskey="pkcs11:token=eco2hu;object=dev;type=private"
		pin="pin = 1234"
	else
		keyuri=file:/tmp/run/device.key
		cert=/data/pki/device.pem
		tlskey=/tmp/run/device.key
		pin=
	fi
	cat >/tmp/run/eco2d.conf <<EOF
[can]
profile = /bench/profiles/reference.profile
interfaces = vcan0, vcan1, vcan2, vcan3
[key]
uri = $keyuri
[store]
path = $2
[ledger]
url = https://localhost:$port
ca = /data/pki/ca.pem
cert = $cert
key = $tlskey
$pin
receipt_key = /data/pki/log.vkey
[upload]
interval_s = 1
batch_records = $UPLOAD_BATCH
[log]
level = info
EOF
}

# A key in a SoftHSM2 token (openssl config): the token was made on the
# build machine; OpenSSL reaches it through its pkcs11 engine.
cp /data/pki/device.key /tmp/run/device.key
chmod 0600 /tmp/run/device.key
echo 1234 >/tmp/run/pin
chmod 0600 /tmp/run/pin
cp -a /data/tokens /tmp/run/tokens
printf 'directories.tokendir = /tmp/run/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' >/tmp/run/softhsm2.conf
export SOFTHSM2_CONF=/tmp/run/softhsm2.conf
cat >/tmp/run/openssl.cnf <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = /usr/lib/$TRIPLET/engines-3/pkcs11.so
MODULE_PATH = $SOFTHSM_MODULE
init = 0
EOF
export OPENSSL_CONF=/tmp/run/openssl.cnf

rc=0
for c in $CONFIGS; do
	log "== eco2d-$c"
	start_ledger || { rc=1; continue; }
	write_conf $c /tmp/run/eco2d.db
	rm -f /tmp/run/eco2d.db*
	eco2d-$c -c /tmp/run/eco2d.conf --check-config >/tmp/run/check.log 2>&1 ||
		{ sed 's/^/# check-config: /' /tmp/run/check.log; rc=1; stop_ledger; continue; }
	# A libcurl that cannot load a key from a token refuses one at once.
	if [ $c != openssl ]; then
		write_conf openssl /tmp/run/eco2d.db
		if eco2d-$c -c /tmp/run/eco2d.conf --check-config >/tmp/run/check.log 2>&1; then
			tls=accepted
		else
			tls=refused
		fi
		why=$(grep -o 'needs libcurl with OpenSSL or GnuTLS; this one uses [^ ,]*' /tmp/run/check.log)
		echo "CHECK $c pkcs11-tls-key $tls${why:+ ($why)}" | tee -a $res
		case $c:$tls in
		mbedtls:accepted | debian:refused) rc=1 ;;
		esac
		write_conf $c /tmp/run/eco2d.db
	fi

	# idle, then replay, in one run
	new_cgroup
	peak_reset
	start_eco2d $c || { rc=1; stop_ledger; continue; }
	t=0
	while [ $t -lt $((IDLE_S * 1000000)) ]; do
		sample $pid
		usleep $SAMPLE_US
		t=$((t + SAMPLE_US))
	done
	sample $pid
	result $c idle "memory_current=$(($(cat $cg/memory.current) / 1024))"

	peak_reset
	t0=$(date +%s)
	cp_pids=
	for i in 0 1 2 3; do
		canplayer -I /data/replay-vcan$i.log >/tmp/run/canplayer$i.log 2>&1 &
		cp_pids="$cp_pids $!"
	done
	while kill -0 $cp_pids 2>/dev/null; do
		sample $pid
		usleep $SAMPLE_US
	done
	cp_rc=0
	for p in $cp_pids; do
		wait $p || cp_rc=$?
	done
	t1=$(date +%s)
	sample $pid
	# the trips of the drive end, are signed and uploaded
	i=0
	while [ $i -lt $((4000000 / SAMPLE_US)) ]; do
		sample $pid
		usleep $SAMPLE_US
		i=$((i + 1))
	done
	stop_eco2d $c replay || rc=1
	frames=$(sed -n 's/.*wakeups in .* s, \([0-9]*\) frames.*/\1/p' /tmp/run/eco2d.log | tail -n 1)
	sent=$(cat /data/replay-vcan*.log | wc -l)
	result $c replay "frames_sent=$sent frames_received=${frames:-?} replay_s=$((t1 - t0)) canplayer_rc=$cp_rc" \
		"records_uploaded=$(accepted)" $(cg_report)
	stop_ledger

	# drain: a backlog of signed records, a ledger that has none of them
	start_ledger || { rc=1; continue; }
	write_conf $c /tmp/run/eco2d.db
	rm -f /tmp/run/eco2d.db*
	if [ $c = openssl ]; then cp /data/backlog-token.db /tmp/run/eco2d.db; else cp /data/backlog-file.db /tmp/run/eco2d.db; fi
	new_cgroup
	peak_reset
	t0=$(date +%s)
	start_eco2d $c || { rc=1; stop_ledger; continue; }
	i=0
	n=0
	while [ "$n" -lt "$DRAIN_N" ] && [ $i -lt $((DRAIN_MAX_S * 1000000 / SAMPLE_US)) ]; do
		sample $pid
		usleep $SAMPLE_US
		i=$((i + 1))
		[ $((i % 4)) -ne 0 ] || n=$(accepted)
	done
	t1=$(date +%s)
	sample $pid
	awk '/^[0-9a-f]+-[0-9a-f]+ / { f = $6; if (f == "") f = "[anon]" }
		/^Rss:/ { r[f] += $2 } /^Pss:/ { p[f] += $2 } /^Private_Dirty:/ { d[f] += $2 }
		END { for (k in r) if (r[k] > 0) printf "%6d %6d %6d %s\n", r[k], p[k], d[k], k }' \
		/proc/$pid/smaps | sort -rn >$out/$c-maps.txt
	n=$(accepted)
	stop_eco2d $c drain || rc=1
	[ "$n" -ge "$DRAIN_N" ] || { log "eco2d-$c: only $n of $DRAIN_N records drained in $((t1 - t0)) s"; rc=1; }
	result $c drain "records=$n drain_s=$((t1 - t0))" $(cg_report)
	stop_ledger
done
exit $rc
