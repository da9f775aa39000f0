#!/bin/bash
# build-curl.sh ARCH TLS CACHE OUT [SYSROOT] — the head unit's libcurl: a
# static libcurl from Debian 12's curl source package, HTTP(S) only, one TLS
# back end, the threaded resolver, no compression or other optional library.
#
#   ARCH     x86_64 | arm64 | armhf
#   TLS      mbedtls | openssl
#   CACHE    shared by every build: the private apt state (CACHE/apt) and the
#            unpacked, patched source (CACHE/curl-<version>)
#   OUT      this build's folder: OUT/build (out of tree), OUT/prefix
#            (lib/libcurl.a, include/curl/, PROVENANCE)
#   SYSROOT  where the target's mbedTLS or OpenSSL headers and libraries
#            are (a cross/mksysroot.sh folder or a vendor SDK); default the
#            build machine's own (multiarch) folders
#
# What it downloads (see README.md in this folder): the source package
# `curl` (.dsc, .orig.tar.gz, .debian.tar.xz) from the Debian archive the
# machine's apt already uses, through deb-src entries written into a private
# apt state in CACHE/apt — the machine's apt configuration is not touched.
# apt checks the files against the archive's signed Sources index.
# CURL_DEB_VERSION=7.88.1-10+deb12u15 asks for that exact version.
#
# Idempotent: the source is fetched and prepared once (a lock guards CACHE),
# configure runs again only when its arguments change, make does the rest.
set -euo pipefail

die() { echo "build-curl.sh: $*" >&2; exit 1; }
say() { echo "  CURL    $*" >&2; }

[ $# -ge 4 ] && [ $# -le 5 ] || die "usage: build-curl.sh ARCH TLS CACHE OUT [SYSROOT]"
ARCH=$1 TLS=$2
mkdir -p "$3" "$4"
CACHE=$(cd "$3" && pwd) OUT=$(cd "$4" && pwd)
SYSROOT=${5:-}
[ -z "$SYSROOT" ] || SYSROOT=$(cd "$SYSROOT" && pwd)
JOBS=${JOBS:-2}

case $ARCH in
x86_64) TRIPLET=x86_64-linux-gnu ;;
arm64) TRIPLET=aarch64-linux-gnu ;;
armhf) TRIPLET=arm-linux-gnueabihf ;;
*) die "ARCH=$ARCH: expected x86_64, arm64 or armhf" ;;
esac
case $TLS in
mbedtls | openssl) ;;
*) die "TLS=$TLS: expected mbedtls or openssl" ;;
esac
build_triplet=$(gcc -dumpmachine)
if [ "$TRIPLET" = "$build_triplet" ]; then CC_=gcc HOSTOPTS=(); else
	CC_=$TRIPLET-gcc HOSTOPTS=(--build="$build_triplet" --host="$TRIPLET"); fi
command -v "$CC_" >/dev/null || die "$CC_ not installed (debian-packages.txt)"
for t in autoreconf automake libtoolize dpkg-source patch apt-get; do
	command -v $t >/dev/null || die "$t not installed (autoconf automake libtool dpkg-dev: debian-packages.txt)"
done

# ---- 1. the source package, through a private apt state ---------------------
# deb-src twins of the machine's own Debian entries (one-line and deb822).
write_sources() { # DIR
	local f
	{
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			sed -n 's/^[[:space:]]*deb[[:space:]]\+/deb-src /p' "$f"
		done
	} >"$1/sources.list"
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# each paragraph whose Types has "deb" becomes a deb-src paragraph
		awk 'function flush() { if (keep && !off) printf "%s\n", para; para = ""; keep = off = 0 }
			/^[[:space:]]*$/ { flush(); next }
			/^#/ { next }
			/^Types:/ { keep = ($0 ~ /[: ]deb( |$)/); $0 = "Types: deb-src" }
			/^Enabled:[[:space:]]*no/ { off = 1 }
			{ para = para $0 "\n" }
			END { flush() }' "$f" >"$1/sources.list.d/${f##*/}"
	done
	grep -rqs '^deb-src \|^Types: deb-src' "$1/sources.list" "$1/sources.list.d" ||
		die "no Debian archive in /etc/apt/sources.list* to take the source package from"
}
apt_src() {
	apt-get -q -o Dir::Etc::SourceList="$CACHE/apt/sources.list" \
		-o Dir::Etc::SourceParts="$CACHE/apt/sources.list.d" \
		-o Dir::State::Lists="$CACHE/apt/lists" -o Dir::Cache="$CACHE/apt/cache" \
		-o Dir::State::status=/dev/null -o Debug::NoLocking=1 "$@"
}

exec 9>"$CACHE/.lock"
flock 9
src=$(cat "$CACHE/source" 2>/dev/null || true)
if [ -z "$src" ] || [ ! -f "$CACHE/$src/.eco2-prepared" ] ||
	{ [ -n "${CURL_DEB_VERSION:-}" ] && [ "$(cat "$CACHE/$src/.eco2-prepared")" != "$CURL_DEB_VERSION" ]; }; then
	rm -rf "$CACHE/apt/sources.list.d"
	mkdir -p "$CACHE/apt/sources.list.d" "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/dl"
	# apt fetches as _apt when run as root
	chmod 0777 "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/dl"
	write_sources "$CACHE/apt"
	say "apt-get update (deb-src, private state in $CACHE/apt)"
	apt_src update >"$CACHE/apt/update.log" 2>&1 ||
		grep -E '^(E|W):' "$CACHE/apt/update.log" >&2 || true
	rm -f "$CACHE"/dl/curl_*
	say "apt-get source --download-only curl${CURL_DEB_VERSION:+=$CURL_DEB_VERSION}"
	(cd "$CACHE/dl" && apt_src source --download-only --only-source "curl${CURL_DEB_VERSION:+=$CURL_DEB_VERSION}") \
		>"$CACHE/dl/source.log" 2>&1 || { tail -n 5 "$CACHE/dl/source.log" >&2; die "apt-get source curl failed"; }
	dsc=$(ls "$CACHE"/dl/curl_*.dsc | head -n 1)
	ver=$(sed -n 's/^Version: //p' "$dsc")
	src=curl-${ver%%-*}
	rm -rf "${CACHE:?}/$src" "$CACHE/$src.tmp" "$CACHE/dl/$src"
	# The patches by hand: Debian's series ends with 90_gnutls.patch and
	# 99_nss.patch, which rename the library for its GnuTLS and NSS
	# flavours; debian/rules pops them for the OpenSSL flavour, and so
	# does this (every other patch, the CVE fixes among them, applies).
	(cd "$CACHE/dl" && dpkg-source --skip-patches -x "${dsc##*/}" "$src") >"$CACHE/dl/unpack.log" 2>&1 ||
		{ tail -n 5 "$CACHE/dl/unpack.log" >&2; die "dpkg-source -x failed"; }
	mv "$CACHE/dl/$src" "$CACHE/$src.tmp"
	(
		cd "$CACHE/$src.tmp"
		sed -e 's/#.*//' debian/patches/series | while read -r p opt; do
			[ -n "$p" ] || continue
			case $p in 90_gnutls.patch | 99_nss.patch) continue ;; esac
			patch ${opt:--p1} -s --no-backup-if-mismatch <"debian/patches/$p" ||
				{ echo "build-curl.sh: debian/patches/$p does not apply" >&2; exit 1; }
		done
		# Debian's rules run ./buildconf (autoreconf -fi): the patches touch
		# configure.ac and the Makefile.am files.
		autoreconf -fi >"$CACHE/dl/autoreconf.log" 2>&1
	) || die "preparing $src failed (see $CACHE/dl/)"
	grep -q '^lib_LTLIBRARIES = libcurl.la' "$CACHE/$src.tmp/lib/Makefile.am" ||
		die "$src: lib/Makefile.am names another library (a flavour patch applied?)"
	{
		echo "package: curl $ver (Debian source package)"
		echo "archive: $(grep -rhoE '^(deb-src .*|URIs:.*)' "$CACHE/apt/sources.list" "$CACHE/apt/sources.list.d" |
			sed 's/^URIs: *//' | sort -u | tr '\n' ' ')"
		echo "files:"
		(cd "$CACHE/dl" && sha256sum curl_*)
		echo "patches: debian/patches/series without 90_gnutls.patch and 99_nss.patch; autoreconf -fi"
	} >"$CACHE/$src.tmp/.eco2-provenance"
	echo "$ver" >"$CACHE/$src.tmp/.eco2-prepared"
	mv "$CACHE/$src.tmp" "$CACHE/$src"
	echo "$src" >"$CACHE/source"
fi
flock -u 9
SRC=$CACHE/$src
VER=$(cat "$SRC/.eco2-prepared")

# ---- 2. configure ---------------------------------------------------------------
FLAGS=(
	--prefix="$OUT/prefix" "${HOSTOPTS[@]}"
	--disable-dependency-tracking --disable-silent-rules
	--enable-static --disable-shared
	# HTTP over TLS and nothing else
	--enable-http --disable-ftp --disable-file --disable-ldap --disable-ldaps
	--disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3
	--disable-imap --disable-smtp --disable-gopher --disable-mqtt --disable-smb
	--disable-websockets
	# what upload/ledger.c never asks for
	--disable-cookies --disable-alt-svc --disable-hsts --disable-doh --disable-mime
	--disable-netrc --disable-progress-meter --disable-get-easy-options
	--disable-headers-api --disable-unix-sockets --disable-dnsshuffle
	--disable-manual --disable-libcurl-option
	--disable-ntlm --disable-ntlm-wb --without-gssapi --without-libgsasl
	--disable-tls-srp --disable-sspi
	# kept: [ledger] proxy and https_proxy (CONNECT, Basic/Digest), the
	# Retry-After date, CURLOPT_VERBOSE, IPv6
	--enable-proxy --enable-http-auth --enable-crypto-auth --enable-dateparse
	--enable-verbose --enable-ipv6 --enable-socketpair
	# getaddrinfo() in a helper thread: a resolve never stalls eco2d's loop
	--enable-threaded-resolver --enable-pthreads --disable-ares
	--without-libidn2 --without-libpsl --without-zlib --without-brotli --without-zstd
	--without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3
	--without-hyper --without-libssh2 --without-libssh --without-wolfssh --without-librtmp
	# eco2d always sets CURLOPT_CAINFO ([ledger] ca) or uses this bundle
	--with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path
)
for t in openssl gnutls mbedtls wolfssl bearssl rustls nss; do
	if [ $t = "$TLS" ]; then FLAGS+=(--with-$t); else FLAGS+=(--without-$t); fi
done
[ "$TLS" = openssl ] && FLAGS+=(--without-ca-fallback)
pcdirs=$SYSROOT/usr/lib/$TRIPLET/pkgconfig:$SYSROOT/usr/lib/pkgconfig:$SYSROOT/usr/share/pkgconfig
ENV=(
	CC="$CC_${SYSROOT:+ --sysroot=$SYSROOT}"
	CFLAGS="-Os -ffunction-sections -fdata-sections -fstack-protector-strong"
	CPPFLAGS="-D_FORTIFY_SOURCE=2"
	LDFLAGS="-Wl,-z,relro -Wl,-z,now"
	PKG_CONFIG_LIBDIR="$pcdirs" PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR="$SYSROOT"
)
mkdir -p "$OUT/build"
cd "$OUT/build"
sig=$(printf '%s\n' "$SRC" "$VER" "${ENV[@]}" "${FLAGS[@]}" | sha256sum | cut -c1-16)
if [ ! -f config.status ] || [ "$(cat .eco2-configured 2>/dev/null)" != "$sig" ]; then
	say "configure $ARCH $TLS ($VER)"
	rm -f .eco2-configured
	{ printf '%q ' env "${ENV[@]}" "$SRC/configure" "${FLAGS[@]}"; echo; } >configure-line.txt
	env "${ENV[@]}" "$SRC/configure" "${FLAGS[@]}" >configure.log 2>&1 ||
		{ tail -n 30 configure.log >&2; die "configure failed: $OUT/build/configure.log"; }
	echo "$sig" >.eco2-configured
fi

# ---- 3. the library and its headers only ---------------------------------------
say "make libcurl.a ($ARCH $TLS)"
make -j"$JOBS" -C lib libcurl.la >make.log 2>&1 || { tail -n 30 make.log >&2; die "make failed: $OUT/build/make.log"; }
make -C lib install-libLTLIBRARIES >install.log 2>&1 &&
	make -C include install >>install.log 2>&1 || die "install failed: $OUT/build/install.log"
rm -f "$OUT/prefix/lib/libcurl.la"

# exactly one TLS back end, and the one asked for
tls_defs=$(grep -oE '^#define USE_(OPENSSL|MBEDTLS|GNUTLS|WOLFSSL|BEARSSL|RUSTLS|NSS) ' lib/curl_config.h | awk '{ print $2 }' | tr '\n' ' ')
[ "$tls_defs" = "USE_${TLS^^} " ] || die "TLS back ends in lib/curl_config.h: '$tls_defs', expected USE_${TLS^^}"
grep -q '^#define USE_THREADS_POSIX 1' lib/curl_config.h || die "no threaded resolver"
{
	cat "$SRC/.eco2-provenance"
	echo "target: $ARCH ($TRIPLET), TLS back end: $TLS${SYSROOT:+, sysroot $SYSROOT}"
	echo "configure: $(cat configure-line.txt)"
} >"$OUT/prefix/PROVENANCE"
echo "$TLS" >"$OUT/prefix/TLS"
say "$OUT/prefix/lib/libcurl.a: $(stat -c %s "$OUT/prefix/lib/libcurl.a") bytes, $VER, $TLS"
