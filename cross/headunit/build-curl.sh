#!/bin/bash
# build-curl.sh ARCH TLS CACHE OUT [SYSROOT] — the head unit's libcurl: a
# static libcurl from Debian 12's curl source package, HTTP(S) only, one TLS
# back end, the threaded resolver, no compression or other optional library.
#
#   ARCH     x86_64 | arm64 | armhf
#   TLS      mbedtls | openssl
#   CACHE    shared by every build: the private apt state and the unpacked,
#            patched source (debsrc.sh)
#   OUT      this build's folder: OUT/curl (the out-of-tree build) and
#            OUT/prefix (lib/libcurl.a, include/curl/, PROVENANCE-curl)
#   SYSROOT  where the target's mbedTLS or OpenSSL headers and libraries
#            are (a cross/mksysroot.sh folder or a vendor SDK); default the
#            build machine's own (multiarch) folders
#
# It downloads the source package `curl` (debsrc.sh, README.md in this
# folder); CURL_DEB_VERSION=7.88.1-10+deb12u15 asks for that exact version.
# Idempotent: the source is fetched and prepared once, configure runs again
# only when its arguments change, make does the rest.
set -euo pipefail
# a make of their own: not the calling make's flags (no built-in rules) nor its jobs
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES

die() { echo "build-curl.sh: $*" >&2; exit 1; }
say() { echo "  CURL    $*" >&2; }

[ $# -ge 4 ] && [ $# -le 5 ] || die "usage: build-curl.sh ARCH TLS CACHE OUT [SYSROOT]"
ARCH=$1 TLS=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/target.sh"
target_dirs "$3" "$4" "${5:-}"
JOBS=${JOBS:-2}

case $TLS in
mbedtls | openssl) ;;
*) die "TLS=$TLS: expected mbedtls or openssl" ;;
esac
target_arch "$ARCH"
HOSTOPTS=()
[ "$TRIPLET" = "$BUILD_TRIPLET" ] || HOSTOPTS=(--build="$BUILD_TRIPLET" --host="$TRIPLET")
for t in autoreconf automake libtoolize; do
	command -v $t >/dev/null || die "$t not installed (autoconf automake libtool: debian-packages.txt)"
done

# ---- 1. the source package ----------------------------------------------------
# Debian's series ends with 90_gnutls.patch and 99_nss.patch, which rename
# the library for its GnuTLS and NSS flavours; debian/rules pops them for
# the OpenSSL flavour, and so does this (every other patch, the CVE fixes
# among them, applies). Then what debian/rules runs as ./buildconf: the
# patches touch configure.ac and the Makefile.am files.
SRC=$("$here/debsrc.sh" curl "$CACHE" 90_gnutls.patch 99_nss.patch)
exec 9>"$CACHE/.lock-curl"
flock 9
if [ ! -f "$SRC/.eco2-autoreconf" ]; then
	grep -q '^lib_LTLIBRARIES = libcurl.la' "$SRC/lib/Makefile.am" ||
		die "$SRC: lib/Makefile.am names another library (a flavour patch applied?)"
	say "autoreconf -fi ($SRC)"
	(cd "$SRC" && autoreconf -fi) >"$CACHE/autoreconf-curl.log" 2>&1 ||
		{ tail -n 5 "$CACHE/autoreconf-curl.log" >&2; die "autoreconf failed"; }
	touch "$SRC/.eco2-autoreconf"
fi
flock -u 9
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
# mbedTLS: the head unit's own build (build-mbedtls.sh), in OUT/prefix
if [ "$TLS" = mbedtls ]; then
	[ -f "$OUT/prefix/lib/libmbedtls.a" ] || die "$OUT/prefix/lib/libmbedtls.a: run build-mbedtls.sh first"
	FLAGS=("${FLAGS[@]/#--with-mbedtls/--with-mbedtls=$OUT/prefix}")
fi
[ "$TLS" = openssl ] && FLAGS+=(--without-ca-fallback)
pcdirs=$SYSROOT/usr/lib/$TRIPLET/pkgconfig:$SYSROOT/usr/lib/pkgconfig:$SYSROOT/usr/share/pkgconfig
ENV=(
	CC="$CC_${SYSROOT:+ --sysroot=$SYSROOT}"
	CFLAGS="-Os -ffunction-sections -fdata-sections -fstack-protector-strong"
	CPPFLAGS="-D_FORTIFY_SOURCE=2"
	LDFLAGS="-Wl,-z,relro -Wl,-z,now"
	PKG_CONFIG_LIBDIR="$pcdirs" PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR="$SYSROOT"
)
mkdir -p "$OUT/curl"
cd "$OUT/curl"
sig=$(printf '%s\n' "$SRC" "$VER" "${ENV[@]}" "${FLAGS[@]}" | sha256sum | cut -c1-16)
if [ ! -f config.status ] || [ "$(cat .eco2-configured 2>/dev/null)" != "$sig" ]; then
	say "configure $ARCH $TLS ($VER)"
	rm -f .eco2-configured
	{ printf '%q ' env "${ENV[@]}" "$SRC/configure" "${FLAGS[@]}"; echo; } >configure-line.txt
	env "${ENV[@]}" "$SRC/configure" "${FLAGS[@]}" >configure.log 2>&1 ||
		{ tail -n 30 configure.log >&2; die "configure failed: $OUT/curl/configure.log"; }
	echo "$sig" >.eco2-configured
fi

# ---- 3. the library and its headers only ---------------------------------------
say "make libcurl.a ($ARCH $TLS)"
make -j"$JOBS" -C lib libcurl.la >make.log 2>&1 || { tail -n 30 make.log >&2; die "make failed: $OUT/curl/make.log"; }
make -C lib install-libLTLIBRARIES >install.log 2>&1 &&
	make -C include install >>install.log 2>&1 || die "install failed: $OUT/curl/install.log"
rm -f "$OUT/prefix/lib/libcurl.la"

# exactly one TLS back end, and the one asked for
tls_defs=$(grep -oE '^#define USE_(OPENSSL|MBEDTLS|GNUTLS|WOLFSSL|BEARSSL|RUSTLS|NSS) ' lib/curl_config.h | awk '{ print $2 }' | tr '\n' ' ')
[ "$tls_defs" = "USE_${TLS^^} " ] || die "TLS back ends in lib/curl_config.h: '$tls_defs', expected USE_${TLS^^}"
grep -q '^#define USE_THREADS_POSIX 1' lib/curl_config.h || die "no threaded resolver"
{
	cat "$SRC/.eco2-provenance"
	echo "then: autoreconf -fi (as debian/rules' ./buildconf)"
	echo "target: $ARCH ($TRIPLET), TLS back end: $TLS${SYSROOT:+, sysroot $SYSROOT}"
	echo "configure: $(cat configure-line.txt)"
} >"$OUT/prefix/PROVENANCE-curl"
say "$OUT/prefix/lib/libcurl.a: $(stat -c %s "$OUT/prefix/lib/libcurl.a") bytes, $VER, $TLS"
