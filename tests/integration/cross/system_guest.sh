# system_guest.sh — runs inside the qemu guest (busybox sh) for
# cross_vm_system.sh: the target's own eco2ctl makes the device key, eco2d
# reads vcan0 while eco2-sim drives a short cycle onto it, eco2d stops on
# SIGTERM and eco2ctl exports the signed records. Everything the host
# checks ends in /eco2/out. Prints TAP numbered from $TAP_BASE + 1.
n=$TAP_BASE
rc=0
tap() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $ECO2_VM_ARCH: $2"; else echo "not ok $n - $ECO2_VM_ARCH: $2"; rc=1; fi
}
conf=/etc/eco2/eco2d.conf
out=/tmp/out      # copied to /eco2/out (and so to the host) at the end
mkdir -p $out

mkdir -p /etc/eco2/keys /var/lib/eco2
chmod 0750 /etc/eco2
chmod 0700 /etc/eco2/keys /var/lib/eco2
cat >$conf <<CONF
[can]
profile = /eco2/profiles/reference.profile
interfaces = vcan0

[key]
uri = file:/etc/eco2/keys/device.key

[store]
path = /var/lib/eco2/eco2.db

[ledger]
enabled = false

[trip]
idle_end_s = 300
gap_end_s = 120
checkpoint_s = 10
max_speed_kmh = 250

[method]
id = eco2-ev-v1
baseline_g_per_km = 169.056
grid_g_per_kwh = 530.6
charge_efficiency = 0.90
td_loss = 0

[log]
level = info
CONF
chmod 0640 $conf

# VM_EPOCH: start the guest's clock there (2100-01-01 on armhf: kernel
# timestamps, trips, records and the store past 2038 on a 32-bit target).
# (set-clock: busybox's date has a 32-bit time_t on armhf.)
if [ -n "${VM_EPOCH:-}" ]; then
	now=$(set-clock "$VM_EPOCH")
	tap $? "guest clock set to $now"
else
	tap 0 "guest clock is the host's ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
fi
vcan-add vcan0
tap $? "vcan0 created"
eco2ctl -c $conf keygen --uri file:/etc/eco2/keys/device.key --alg ed25519 >$out/keygen.log 2>&1
tap $? "eco2ctl keygen (Ed25519 key file)"
eco2ctl -c $conf pubkey --uri file:/etc/eco2/keys/device.key >$out/device.pub.pem 2>$out/kid.txt
tap $? "eco2ctl pubkey"
eco2d -c $conf --check-config >$out/check-config.log 2>&1
tap $? "eco2d --check-config"

# eco2d.service's MemoryMax=, as systemd applies it: a cgroup v2 child
# whose memory.max is that value, eco2d started inside it.
cg=/sys/fs/cgroup/eco2d
mount -t cgroup2 none /sys/fs/cgroup && echo +memory >/sys/fs/cgroup/cgroup.subtree_control &&
	mkdir $cg && echo "$MEMORY_MAX" >$cg/memory.max
tap $? "cgroup v2 $cg with memory.max $(cat $cg/memory.max 2>/dev/null) (MemoryMax=$MEMORY_MAX)"
sh -c 'echo $$ >'$cg'/cgroup.procs && exec eco2d -c '$conf >$out/eco2d.log 2>&1 &
pid=$!
# eco2d is ready once its CAN_RAW socket is registered on vcan0 (with
# kernel filters it is listed in rcvlist_fil/_sff, not rcvlist_all).
listening() { cat /proc/net/can/rcvlist_* 2>/dev/null | grep -qE '^ +vcan0 '; }
i=0
while ! listening && [ $i -lt 1000 ]; do
	kill -0 $pid 2>/dev/null || break
	i=$((i + 1)); usleep 10000
done
listening
st=$?
tap $st "eco2d listens on vcan0 (after $((i * 10)) ms)"
[ $st -eq 0 ] || sed 's/^/# eco2d: /' $out/eco2d.log

eco2-sim --profile /eco2/profiles/reference.profile --cycle /eco2/cycle.csv \
	--iface vcan0 --speedup "${SPEEDUP:-10}" >$out/truth.json 2>$out/sim.log
tap $? "eco2-sim drove the cycle onto vcan0"

kill -TERM $pid
wait $pid
st=$?
tap $st "eco2d stopped on SIGTERM with status 0 (got $st)"
kills=$(sed -n 's/^oom_kill //p' $cg/memory.events)
[ "$kills" = 0 ] && [ -n "$(cat $cg/memory.peak)" ]
tap $? "eco2d under memory.max $MEMORY_MAX: not OOM-killed (oom_kill $kills; memory.events: $(tr '\n' ' ' <$cg/memory.events)); memory.peak $(($(cat $cg/memory.peak) / 1024)) KiB"
eco2ctl -c $conf export >$out/records.cbor 2>$out/export.log
tap $? "eco2ctl export"
[ -s $out/records.cbor ]
tap $? "at least one signed record exported ($(wc -c <$out/records.cbor) bytes)"
eco2ctl -c $conf trips 2>&1 | sed 's/^/# /'

# Files dated past 2038 cannot leave the guest through busybox (32-bit
# stat on armhf: EOVERFLOW): back to the host's time, then copy them with
# cat, which does not stat, into fresh files.
if [ -n "${VM_EPOCH:-}" ] && [ -n "${HOST_EPOCH:-}" ]; then
	set-clock "$HOST_EPOCH" >/dev/null
fi
for f in $out/*; do
	cat "$f" >"/eco2/out/${f##*/}"
done
exit $rc
