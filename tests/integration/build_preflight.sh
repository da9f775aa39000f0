#!/bin/bash
# build_preflight.sh — a first make on a machine without its tools or
# libraries stops within seconds, before compiling anything, naming what
# is missing, its Debian package and `make deps` (scripts/preflight.sh).
# The missing parts are hidden, not uninstalled: a Python without its
# site packages (no kconfiglib), a pkg-config that finds no .pc file, an
# empty sysroot for an arm64 build, a PATH without the cross compiler.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0 failed=0
tap() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A make check above us must not leak its goals or options into ours.
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES SANITIZE

# try NAME MAKE-ARGS...: run make, record its exit status, seconds and output.
try() {
	local name=$1 t0
	shift
	t0=$(date +%s%N)
	(cd "$top" && "$@") >"$tmp/$name.out" 2>&1
	rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}
# expect NAME O-DIR PATTERN...: failed fast, nothing compiled, each pattern said.
expect() {
	local name=$1 o=$2 p ok=0
	shift 2
	tap $(( rc == 0 )) "$name: make fails (exit $rc)"
	tap $(( ms > 10000 )) "$name: within seconds ($ms ms)"
	tap $( [ -d "$o/obj" ] && echo 1 || echo 0 ) "$name: nothing was compiled"
	for p in "$@"; do
		grep -qF -- "$p" "$tmp/$name.out" || { ok=1; echo "# missing from the output: $p"; }
	done
	tap $ok "$name: names $*"
	[ $ok -eq 0 ] || sed 's/^/#   /' "$tmp/$name.out"
}

# 1. No kconfiglib: a Python without its site packages.
printf '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n' > "$tmp/python3"
chmod +x "$tmp/python3"
try nokconfig make --no-print-directory O="$tmp/o1" PYTHON="$tmp/python3"
expect nokconfig "$tmp/o1" "python3-kconfiglib" "make deps"
tap $( grep -q 'No rule to make target' "$tmp/nokconfig.out" && echo 1 || echo 0 ) \
	"nokconfig: no cryptic 'No rule to make target'"

# 2. No target libraries: pkg-config finds nothing.
mkdir -p "$tmp/nopc"
try nolibs make --no-print-directory O="$tmp/o2" PKG_CONFIG="PKG_CONFIG_LIBDIR=$tmp/nopc pkg-config"
expect nolibs "$tmp/o2" "libcurl4-openssl-dev" "libsqlite3-dev" "libsodium-dev" "libinih-dev" \
	"make deps"

# 3. arm64 without its libraries: an empty sysroot.
if command -v aarch64-linux-gnu-gcc >/dev/null; then
	mkdir -p "$tmp/sysroot"
	try noarm64 make --no-print-directory ARCH=arm64 O="$tmp/o3" SYSROOT="$tmp/sysroot"
	expect noarm64 "$tmp/o3" "make deps ARCH=arm64" "libcurl4-openssl-dev:arm64" \
		"libmbedtls-dev:arm64"
else
	for i in 1 2 3 4; do n=$((n + 1)); echo "ok $n - arm64 # SKIP no aarch64-linux-gnu-gcc"; done
fi

# 4. arm64 without its compiler: a PATH that lacks it.
mkdir -p "$tmp/bin"
for f in /usr/bin/* /bin/*; do
	case ${f##*/} in aarch64-linux-gnu-*) continue ;; esac
	[ -e "$tmp/bin/${f##*/}" ] || ln -s "$f" "$tmp/bin/${f##*/}"
done
try nocross env PATH="$tmp/bin" make --no-print-directory ARCH=arm64 O="$tmp/o4"
expect nocross "$tmp/o4" "aarch64-linux-gnu-gcc" "gcc-aarch64-linux-gnu" "make deps ARCH=arm64"

# 5. With everything there the same make goes past its checks and would
# build the product, and only the product (a dry run: the real builds are
# the rest of make check's).
try full make --no-print-directory -n O="$tmp/o5" all
tap $rc "a make with everything installed passes its checks (exit $rc, $ms ms)"
for p in eco2d eco2ctl eco2-verify eco2-sim; do
	tap $( grep -q -- "-o $tmp/o5/$p " "$tmp/full.out" && echo 0 || echo 1 ) "plain make links $p"
done
tap $( grep -q -- "-o $tmp/o5/eco2-rec-gen " "$tmp/full.out" && echo 1 || echo 0 ) \
	"plain make links no test driver"

echo "1..$n"
exit $failed
