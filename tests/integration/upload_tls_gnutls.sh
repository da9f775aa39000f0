#!/bin/bash
# upload_tls_gnutls.sh — upload_tls.sh again with the uploader linked
# against libcurl's GnuTLS flavour (Debian's libcurl3-gnutls) instead of
# OpenSSL: upload/ledger.c uses nothing outside libcurl's public API, so
# every TLS case must behave the same with another TLS back end (embedded
# images often ship libcurl with mbedTLS; this host has OpenSSL and GnuTLS).
set -u
: "${ECO2_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
obj=$ECO2_BUILD/obj/tests/integration/upload/drive.o
lib=$ECO2_BUILD/libeco2.a
if [ ! -f "$obj" ] || [ ! -f "$lib" ]; then
	echo "1..0 # SKIP upload-drive objects not built"; echo "upload-drive objects not built"; exit 77
fi
tmp=$(mktemp -d /tmp/eco2-gnutls.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! ${CC:-cc} -o "$tmp/upload-drive-gnutls" "$obj" "$lib" -l:libcurl-gnutls.so.4 \
	$(pkg-config --libs sqlite3 libsodium 2>/dev/null) >"$tmp/ld.log" 2>&1; then
	echo "1..0 # SKIP libcurl-gnutls.so.4 not available to link against"
	echo "libcurl GnuTLS flavour not installed"
	exit 77
fi
echo "# uploader linked against $(ldd "$tmp/upload-drive-gnutls" | awk '/libcurl/ { print $1 }')"
UPLOAD_DRIVE=$tmp/upload-drive-gnutls bash "$ECO2_SRC/tests/integration/upload_tls.sh"
