# vcan.sh — shared by the integration tests that run a guest script against
# a real kernel's vcan (can_vcan.sh, sim_vcan.sh): on this host when it can
# create a vcan interface, otherwise in Debian's kernel under qemu with the
# cross/qemu harness. Sourced; the caller sets
#   top    source tree        build  build folder
#   cache  qemu kernel cache  q      $top/cross/qemu
#   guest  the guest script (prints TAP, exits 0 or 1)
# shellcheck shell=bash
# shellcheck disable=SC2154 # top, build, cache, q and guest come from the caller

# vcan_host_has IFNAME: whether this host can create vcan interfaces (one
# named IFNAME is made and deleted to find out).
vcan_host_has() {
	[ "$(id -u)" = 0 ] && ip link add dev "$1" type vcan 2>/dev/null || return 1
	ip link delete "$1"
}

# vcan_host_run IFNAME DIR VAR=VALUE...: run the guest here with the
# caller's environment and VCAN_ADD (a script in DIR), relay its TAP and
# plan, and exit with its status. DIR, and an interface left by the
# guest, are removed on exit.
vcan_host_run() {
	local rc
	vcan_if=$1 vcan_dir=$2
	shift 2
	trap 'ip link delete "$vcan_if" 2>/dev/null; rm -rf "$vcan_dir"' EXIT
	echo "# host kernel $(uname -r) has vcan: testing on $vcan_if"
	printf '#!/bin/sh\nip link add dev "$1" type vcan && ip link set "$1" up\n' >"$vcan_dir/vcan-add"
	chmod +x "$vcan_dir/vcan-add"
	env "$@" VCAN_ADD="$vcan_dir/vcan-add" sh "$guest" >"$vcan_dir/tap"
	rc=$?
	cat "$vcan_dir/tap"
	echo "1..$(grep -cE '^(not )?ok ' "$vcan_dir/tap")"
	exit $rc
}

# vcan_qemu_prepare NAME: check the qemu tools, make a fresh
# work=$build/qemu/NAME, fetch the kernel (sets KERNEL, MODULES) and build
# $work/vcan-add. Exits 77 (skip) or 1 (not ok) when it cannot.
vcan_qemu_prepare() {
	local t kinfo
	for t in qemu-system-x86_64 cpio readelf gcc dpkg-deb apt-get; do
		command -v $t >/dev/null 2>&1 ||
			{ echo "skip: no vcan on this host and $t (for the qemu guest) is missing"; exit 77; }
	done
	[ -x "$q/run-vm.sh" ] || { echo "skip: cross/qemu harness missing"; exit 77; }
	work=$build/qemu/$1
	rm -rf "$work"
	mkdir -p "$work" "$cache"
	kinfo=$("$q/fetch-kernel.sh" x86_64 "$cache" 2>"$work/fetch.log") ||
		{ echo "skip: no vcan here and no Debian kernel: $(tail -n 1 "$work/fetch.log")"; exit 77; }
	KERNEL= MODULES=
	eval "$kinfo"
	gcc -std=gnu11 -O2 -Wall -Wextra -o "$work/vcan-add" "$q/vcan-add.c" ||
		{ echo "not ok 1 - vcan-add builds"; exit 1; }
}

# vcan_qemu_run MKINITRAMFS-ARGS...: after vcan_qemu_prepare, build an
# initramfs with the guest, the CAN modules and the caller's -b/-f/-e
# arguments, boot it, relay the guest's TAP and plan, and exit with the
# guest's status (a time-out or a missing report is one more not ok).
vcan_qemu_run() {
	local rc n
	"$q/mkinitramfs.sh" -a x86_64 -o "$work/initrd.cpio.gz" -s "$guest" \
		-K "$MODULES" -m can -m can-raw -m can-dev -m vcan \
		"$@" -c "$cache" >"$work/mkinitramfs.log" 2>&1 ||
		{ echo "not ok 1 - initramfs builds"; sed 's/^/# /' "$work/mkinitramfs.log"; exit 1; }
	"$q/run-vm.sh" -a x86_64 -k "$KERNEL" -i "$work/initrd.cpio.gz" -t 240 \
		-l "$work/console.log" >"$work/tap"
	rc=$?
	cat "$work/tap"
	n=$(grep -cE '^(not )?ok ' "$work/tap")
	if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
		n=$((n + 1))
		echo "not ok $n - guest ended with status $rc (124: time-out, 125: no report); console: $work/console.log"
	fi
	echo "1..$n"
	exit $rc
}
