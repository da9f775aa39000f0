#!/bin/bash
# run-vm.sh — boot a kernel and an initramfs from mkinitramfs.sh under qemu,
# relay the test script's output to stdout and exit with its status.
#
#   run-vm.sh -k KERNEL -i INITRD [-a x86_64|arm64|armhf] [-t SECONDS] [-m MiB]
#             [-c CPUS] [-d DISK] [-A "kernel args"] [-O OUTDIR] [-l LOG] [-v]
#
#   -a  x86_64: qemu-system-x86_64 -M q35 -cpu max -accel tcg;
#       arm64: qemu-system-aarch64 -M virt -cpu cortex-a57 -accel tcg;
#       armhf: qemu-system-arm -M virt -cpu cortex-a15 -accel tcg (an LPAE kernel)
#       (ECO2_QEMU_ACCEL=kvm opts in to KVM where it works; tcg is the
#       default because nested KVM is unreliable on CI machines)
#   -t  hard limit for the whole boot-run-poweroff (default 180 s)
#   -m  guest memory (default 512 MiB)
#   -c  virtual CPUs (default 1)
#   -d  a raw disk image attached read-only as a virtio disk (the guest's
#       /dev/vda once it loads virtio_pci and virtio_blk)
#   -A  extra kernel command line (the script can read /proc/cmdline)
#   -O  folder that receives the files the script left in /eco2/out
#   -l  full serial console log (default: a temporary file)
#   -v  relay the whole console (kernel messages too), not only the script
#
# Exit status: the script's own; 124 when the time limit hit; 125 when the
# guest never reported a status (kernel panic, missing init, qemu error) —
# the console log's tail is printed to stderr then.
set -euo pipefail

usage() { sed -n '5,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 1; }
arch=x86_64 kernel= initrd= limit=180 mem=512 cpus=1 disk= append= outdir= log= verbose=0
while getopts "a:k:i:t:m:c:d:A:O:l:v" opt; do
	case $opt in
	a) arch=$OPTARG ;;
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	t) limit=$OPTARG ;;
	m) mem=$OPTARG ;;
	c) cpus=$OPTARG ;;
	d) disk=$OPTARG ;;
	A) append=$OPTARG ;;
	O) outdir=$OPTARG ;;
	l) log=$OPTARG ;;
	v) verbose=1 ;;
	*) usage ;;
	esac
done
[ -f "$kernel" ] && [ -f "$initrd" ] || usage

accel=${ECO2_QEMU_ACCEL:-auto}
case $arch in
x86_64 | amd64)
	qemu=(qemu-system-x86_64 -M q35 -cpu max)
	console=ttyS0
	[ "$accel" != auto ] || accel=tcg
	;;
arm64 | aarch64)
	qemu=(qemu-system-aarch64 -M virt -cpu cortex-a57)
	console=ttyAMA0
	[ "$accel" != auto ] || accel=tcg
	;;
armhf)
	qemu=(qemu-system-arm -M virt -cpu cortex-a15)
	console=ttyAMA0
	[ "$accel" != auto ] || accel=tcg
	;;
*)
	echo "run-vm: -a $arch: expected x86_64, arm64 or armhf" >&2
	exit 1
	;;
esac
command -v "${qemu[0]}" >/dev/null || { echo "run-vm: ${qemu[0]} not installed" >&2; exit 125; }

tmplog=
if [ -z "$log" ]; then
	tmplog=$(mktemp "${TMPDIR:-/tmp}/eco2-vm.XXXXXX")
	log=$tmplog
fi
trap '[ -z "$tmplog" ] || rm -f "$tmplog"' EXIT

# panic=-1 + -no-reboot: a panic ends qemu at once instead of hanging
# until the time limit.
cmdline="console=$console panic=-1 quiet loglevel=3 rdinit=/init $append"
drive=()
[ -z "$disk" ] || drive=(-drive "file=$disk,if=none,id=disk0,format=raw,readonly=on"
	-device virtio-blk-pci,drive=disk0)
set +e
timeout -k 5 "$limit" "${qemu[@]}" -accel "$accel" -m "$mem" -smp "$cpus" \
	-nodefaults -display none -no-reboot -nic none \
	-serial stdio -monitor none \
	"${drive[@]}" -kernel "$kernel" -initrd "$initrd" -append "$cmdline" </dev/null 2>&1 |
	stdbuf -oL tr -d '\r' | tee "$log" |
	awk -v all="$verbose" '
		/^ECO2-VM-OUT-BEGIN$/ { skip = 1; next }
		/^ECO2-VM-OUT-END$/ { skip = 0; next }
		/^ECO2-VM-EXIT=/ { on = 0; next }
		/^ECO2-VM-BEGIN$/ { on = 1; next }
		skip { next }
		on || all { print; fflush() }'
qrc=${PIPESTATUS[0]}
set -e

status=$(sed -n 's/^ECO2-VM-EXIT=\([0-9]*\)$/\1/p' "$log" | tail -n 1)
if [ -n "$outdir" ] && grep -qx ECO2-VM-OUT-END "$log"; then
	mkdir -p "$outdir"
	sed -n '/^ECO2-VM-OUT-BEGIN$/,/^ECO2-VM-OUT-END$/p' "$log" | sed '1d;$d' |
		base64 -d | tar -xzmf - -C "$outdir"
fi
if [ -n "$status" ]; then
	exit "$status"
fi
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	echo "run-vm: no result within ${limit}s; console tail:" >&2
	tail -n 20 "$log" | sed 's/^/  | /' >&2
	exit 124
fi
echo "run-vm: the guest reported no status (qemu exit $qrc); console tail:" >&2
tail -n 20 "$log" | sed 's/^/  | /' >&2
exit 125
