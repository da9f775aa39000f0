#!/bin/bash
# cross_headunit.sh — the head-unit build's wiring, in seconds and without
# the network (the build itself, minutes of compiling Debian's curl and
# sqlite3 sources, and its measurements are make headunit / make bench):
# debsrc.sh turns apt's deb entries (one-line and deb822, a disabled one
# among them) into the deb-src entries it expects; headunit_defconfig
# merges with every assignment kept; `make -n HEADUNIT=y` builds mbedTLS,
# libcurl and SQLite from the sources into the build folder before
# compiling and links eco2d against them, with mbedTLS or OpenSSL for TLS
# and no system libcurl, SQLite or mbedTLS; the scripts parse.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES SANITIZE
n=0 failed=0
tap() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
tmp=$(mktemp -d /tmp/eco2-headunit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$top" || exit 1

# ---- deb-src entries from apt's own ---------------------------------------
mkdir -p "$tmp/etc/sources.list.d"
printf '# deb http://commented.example/debian bookworm main\ndeb [arch=amd64] http://one.example/debian bookworm main\n' \
	>"$tmp/etc/sources.list"
cat >"$tmp/etc/sources.list.d/debian.sources" <<'EOF'
Types: deb
# a comment inside the paragraph
URIs: http://deb.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main
Enabled: no
EOF
DEBSRC_APT_ETC=$tmp/etc cross/headunit/debsrc.sh --sources "$tmp/src" 2>"$tmp/debsrc.log"
tap $? "debsrc.sh --sources writes deb-src entries ($(cat "$tmp/debsrc.log"))"
printf 'deb-src [arch=amd64] http://one.example/debian bookworm main\n' | cmp -s - "$tmp/src/sources.list"
tap $? "a one-line deb entry becomes deb-src, a comment stays out ($(tr '\n' '|' <"$tmp/src/sources.list"))"
cat >"$tmp/want.sources" <<'EOF'
Types: deb-src
URIs: http://deb.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

EOF
cmp -s "$tmp/want.sources" "$tmp/src/sources.list.d/debian.sources"
tap $? "a deb822 paragraph becomes deb-src with its keyring; an Enabled: no paragraph stays out"
rm -f "$tmp/etc/sources.list" "$tmp/etc/sources.list.d/"*
DEBSRC_APT_ETC=$tmp/etc cross/headunit/debsrc.sh --sources "$tmp/none" 2>"$tmp/none.log"
rc=$?
[ $rc -ne 0 ] && grep -q 'no Debian archive' "$tmp/none.log"
tap $? "no apt entries: refused with a reason (exit $rc: $(cat "$tmp/none.log"))"

# ---- configuration ------------------------------------------------------------
srctree=$top $PYTHON cross/kconfig-merge.py "$tmp/.config" cross/configs/headunit_defconfig >"$tmp/merge.log" 2>&1 &&
	grep -qx 'CONFIG_UPLOAD=y' "$tmp/.config" && grep -qx '# CONFIG_VERIFY_LIBCRYPTO is not set' "$tmp/.config" &&
	grep -qx '# CONFIG_LEDGER_SERVER is not set' "$tmp/.config"
tap $? "headunit_defconfig: every assignment kept; upload on, OpenSSL verifier and test ledger off"

# ---- what make HEADUNIT=y does ---------------------------------------------------
dry() { # LOG make-args...: a dry run into a scratch build folder
	local log=$1
	shift
	make -n --no-print-directory HEADUNIT=y O="$tmp/o" HEADUNIT_CACHE="$tmp/cache" "$@" "$tmp/o/eco2d" >"$log" 2>&1
}
dry "$tmp/mbedtls.log"
tap $? "make -n HEADUNIT=y eco2d (x86_64, mbedTLS)"
c=$(grep -n 'build-curl.sh x86_64 mbedtls' "$tmp/mbedtls.log" | cut -d: -f1 | head -n 1)
s=$(grep -n 'build-sqlite.sh x86_64' "$tmp/mbedtls.log" | cut -d: -f1 | head -n 1)
m=$(grep -n 'build-mbedtls.sh x86_64' "$tmp/mbedtls.log" | cut -d: -f1 | head -n 1)
first_cc=$(grep -n -- ' -c .*\.c -o ' "$tmp/mbedtls.log" | cut -d: -f1 | head -n 1)
[ -n "$c" ] && [ -n "$s" ] && [ -n "$m" ] && [ -n "$first_cc" ] && [ "$m" -lt "$c" ] &&
	[ "$c" -lt "$first_cc" ] && [ "$s" -lt "$first_cc" ]
tap $? "mbedTLS, then libcurl, and SQLite are built from Debian's sources before the first compile (lines $m, $c, $s < $first_cc)"
grep -q -- "-I$tmp/o/headunit/prefix/include" "$tmp/mbedtls.log"
tap $? "compiles use the headers of the libraries built (mbedTLS's config.h among them)"
link=$(grep -E -- "-o $tmp/o/eco2d " "$tmp/mbedtls.log")
lw=" $link "
p=$tmp/o/headunit/prefix/lib
[ -n "$link" ] && [[ $lw == *" $p/libcurl.a "* ]] && [[ $lw == *" $p/libsqlite3.a "* ]] &&
	[[ $lw == *" $p/libmbedtls.a $p/libmbedx509.a $p/libmbedcrypto.a "* ]] &&
	[[ $lw != *" -lcurl "* ]] && [[ $lw != *" -lsqlite3 "* ]] && [[ $lw != *" -lssl "* ]] &&
	[[ $lw != *" -lmbedtls "* ]] && [[ $lw != *"libmbedtls.a "*"-lmbedtls"* ]] &&
	[[ $lw == *" -l:libsodium.a "* ]] && [[ $lw == *" -lm "* ]]
tap $? "eco2d links the static libcurl, SQLite and mbedTLS built and Debian's libsodium archive, glibc's libm shared; no system libcurl, SQLite, mbedTLS or OpenSSL"
dry "$tmp/openssl.log" HEADUNIT_TLS=openssl
link=$(grep -E -- "-o $tmp/o/eco2d " "$tmp/openssl.log")
[[ " $link " == *"libcurl.a -lssl -lcrypto "* ]] && grep -q 'build-curl.sh x86_64 openssl' "$tmp/openssl.log"
tap $? "HEADUNIT_TLS=openssl: libcurl with OpenSSL, linked with the shared libssl and libcrypto"
make -n --no-print-directory O="$tmp/plain" "$tmp/plain/eco2d" >"$tmp/plain.log" 2>&1
link=$(grep -E -- "-o $tmp/plain/eco2d " "$tmp/plain.log")
! grep -q 'build-curl.sh\|build-sqlite.sh' "$tmp/plain.log" && [[ " $link " == *" -lcurl "* ]]
tap $? "without HEADUNIT=y nothing of this: the system's libcurl"

# ---- the scripts parse --------------------------------------------------------
bad=
for f in cross/headunit/*.sh tests/bench/bench_headunit.sh; do
	bash -n "$f" 2>>"$tmp/syntax.log" || bad="$bad $f"
done
for f in tests/bench/headunit/*.sh; do
	busybox sh -n "$f" 2>>"$tmp/syntax.log" || bad="$bad $f"
done
[ -z "$bad" ]
tap $? "the head-unit scripts parse (bash; busybox sh for the guest's)${bad:+:$bad $(cat "$tmp/syntax.log")}"
cross/headunit/build-curl.sh mips mbedtls "$tmp/c" "$tmp/o2" 2>"$tmp/arch.log"
rc=$?
[ $rc -ne 0 ] && grep -q 'ARCH=mips: expected' "$tmp/arch.log"
tap $? "build-curl.sh refuses an unknown target (exit $rc: $(cat "$tmp/arch.log"))"

echo "1..$n"
exit $failed
