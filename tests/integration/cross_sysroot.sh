#!/bin/bash
# cross_sysroot.sh — the SYSROOT= path a vendor SDK takes, against a Debian
# arm64 sysroot made by cross/mksysroot.sh (nothing installed): eco2d
# builds, every -I and -L the build uses and every library file the linker
# reads (-Wl,-t) lie inside the sysroot or the toolchain's own folders, not
# in the host's multiarch root, and the program runs under
# qemu-aarch64-static with the sysroot as its library root (qemu -L).
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES
# The host build's sanitizers are not the target's: qemu-user has no libasan.
unset SANITIZE
cd "$top" || exit 1

for t in aarch64-linux-gnu-gcc qemu-aarch64-static apt-get dpkg-deb; do
	command -v $t >/dev/null 2>&1 || { echo "skip: $t not installed"; exit 77; }
done
mkdir -p "$build"
sr=$build/sysroot-arm64
"$top/cross/mksysroot.sh" arm64 "$sr" >"$build/mksysroot-arm64.log" 2>&1 ||
	{ echo "skip: cannot build the arm64 sysroot: $(tail -n 1 "$build/mksysroot-arm64.log")"; exit 77; }

n=0 failed=0
tap() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }

o=$build/cross-sysroot-arm64
# Compile from scratch: the checks below read the compile lines.
rm -rf "$o/obj" "$o/libeco2.a" "$o/eco2d"
log=$build/cross-sysroot-arm64.log
make --no-print-directory ARCH=arm64 SYSROOT="$sr" O="$o" V=1 LDFLAGS=-Wl,-t "$o/eco2d" >"$log" 2>&1
tap $? "make ARCH=arm64 SYSROOT=<Debian sysroot> builds eco2d"

# Include and library folders named on the command lines.
outside=$(grep -E '^aarch64-linux-gnu-gcc' "$log" | tr ' ' '\n' | sed -n 's/^-[IL]//p' | sort -u |
	grep -vE "^($sr|$top|$o|$(basename "$o"))(/|\$)")
[ -z "$outside" ]
tap $? "every -I/-L is in the tree or the sysroot${outside:+ (outside: $(echo $outside))}"
pc=$(grep -cE "^aarch64-linux-gnu-gcc.*-I$sr/usr/include/p11-kit-1" "$log")
[ "$pc" -gt 0 ]
tap $? "pkg-config's flags come from the sysroot's .pc files ($pc compile lines)"

# What the linker opened (-Wl,-t prints every input file).
libs=$(grep -oE '(/[^ ():]+)(\.so[.0-9]*|\.a|crt[^ /]*\.o)' "$log" | sort -u)
host=$(printf '%s\n' "$libs" | grep -E '^(/usr)?/lib/aarch64-linux-gnu/|^/usr/aarch64-linux-gnu/' |
	grep -v "^$sr")
[ -n "$libs" ] && [ -z "$host" ]
tap $? "the linker read no library of the host's arm64 root ($(printf '%s\n' "$libs" | grep -c "^$sr") from the sysroot)${host:+; from the host: $(echo $host)}"
for l in libcurl libsqlite3 libsodium libmbedtls libc.so; do
	printf '%s\n' "$libs" | grep -q "^$sr/.*/$l"
	tap $? "$l linked from the sysroot"
done

QEMU_LD_PREFIX=$sr qemu-aarch64-static "$o/eco2d" --help >"$build/cross-sysroot-run.log" 2>&1
tap $? "eco2d --help runs under qemu-aarch64-static -L <sysroot>"
echo "1..$n"
exit $failed
