#!/bin/bash
# build-mbedtls.sh ARCH CACHE OUT [SYSROOT] — the head unit's mbedTLS: the
# static libraries of Debian 12's mbedtls source package (2.28), configured
# for what eco2-agent and its libcurl use: a TLS 1.2 client (no server, no
# DTLS, no TLS 1.0/1.1), ECDHE key exchange with ECDSA or RSA certificates,
# AES-GCM and AES-CBC, P-256, P-384 and X25519; its own P-256 signatures,
# SHA-256, PEM/PK/X.509 parsing and PEM writing (eco2ctl keygen).
#
#   ARCH     x86_64 | arm64 | armhf
#   CACHE    as for build-curl.sh (debsrc.sh)
#   OUT      this build's folder: OUT/mbedtls (a copy of library/ and
#            include/ built in place) and OUT/prefix (lib/libmbed*.a,
#            include/mbedtls/ with this configuration's config.h,
#            PROVENANCE-mbedtls)
#   SYSROOT  the target's sysroot, if any
#
# Everything in eco2d that includes an mbedTLS header is compiled against
# the config.h installed here, so the structures agree. MBEDTLS_DEB_VERSION
# asks for an exact version.
set -euo pipefail
# a make of their own: not the calling make's flags (no built-in rules) nor its jobs
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES
die() { echo "build-mbedtls.sh: $*" >&2; exit 1; }
say() { echo "  MBEDTLS $*" >&2; }
[ $# -ge 3 ] && [ $# -le 4 ] || die "usage: build-mbedtls.sh ARCH CACHE OUT [SYSROOT]"
ARCH=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/target.sh"
target_dirs "$2" "$3" "${4:-}"
target_arch "$ARCH"
PY=${PYTHON:-python3}

SRC=$("$here/debsrc.sh" mbedtls "$CACHE")
VER=$(cat "$SRC/.eco2-prepared")

# Upstream's default configuration, threading on as in Debian's build,
# then everything neither eco2-agent nor libcurl's client calls for.
UNSET=(
	# TLS: a client of TLS 1.2, nothing else
	MBEDTLS_SSL_SRV_C MBEDTLS_SSL_PROTO_TLS1 MBEDTLS_SSL_PROTO_TLS1_1
	MBEDTLS_SSL_PROTO_DTLS MBEDTLS_SSL_DTLS_ANTI_REPLAY MBEDTLS_SSL_DTLS_HELLO_VERIFY
	MBEDTLS_SSL_DTLS_CLIENT_PORT_REUSE MBEDTLS_SSL_DTLS_BADMAC_LIMIT
	MBEDTLS_SSL_DTLS_CONNECTION_ID MBEDTLS_SSL_DTLS_SRTP MBEDTLS_SSL_COOKIE_C
	MBEDTLS_SSL_CACHE_C MBEDTLS_SSL_TICKET_C MBEDTLS_SSL_SESSION_TICKETS
	MBEDTLS_SSL_RENEGOTIATION MBEDTLS_SSL_CBC_RECORD_SPLITTING MBEDTLS_SSL_TRUNCATED_HMAC
	MBEDTLS_SSL_CONTEXT_SERIALIZATION MBEDTLS_DEBUG_C MBEDTLS_NET_C MBEDTLS_TIMING_C
	# key exchanges: ECDHE with ECDSA or RSA certificates only
	MBEDTLS_KEY_EXCHANGE_PSK_ENABLED MBEDTLS_KEY_EXCHANGE_DHE_PSK_ENABLED
	MBEDTLS_KEY_EXCHANGE_ECDHE_PSK_ENABLED MBEDTLS_KEY_EXCHANGE_RSA_PSK_ENABLED
	MBEDTLS_KEY_EXCHANGE_RSA_ENABLED MBEDTLS_KEY_EXCHANGE_DHE_RSA_ENABLED
	MBEDTLS_KEY_EXCHANGE_ECDH_ECDSA_ENABLED MBEDTLS_KEY_EXCHANGE_ECDH_RSA_ENABLED
	MBEDTLS_KEY_EXCHANGE_ECJPAKE_ENABLED MBEDTLS_DHM_C MBEDTLS_ECJPAKE_C
	# ciphers and hashes beside AES (GCM, CBC) and the SHA-1/SHA-2 family
	MBEDTLS_CAMELLIA_C MBEDTLS_ARIA_C MBEDTLS_DES_C MBEDTLS_BLOWFISH_C MBEDTLS_ARC4_C
	MBEDTLS_XTEA_C MBEDTLS_CHACHA20_C MBEDTLS_POLY1305_C MBEDTLS_CHACHAPOLY_C
	MBEDTLS_CCM_C MBEDTLS_CMAC_C MBEDTLS_NIST_KW_C MBEDTLS_RIPEMD160_C MBEDTLS_PKCS12_C
	# curves: P-256, P-384 and X25519 stay
	MBEDTLS_ECP_DP_SECP192R1_ENABLED MBEDTLS_ECP_DP_SECP224R1_ENABLED
	MBEDTLS_ECP_DP_SECP521R1_ENABLED MBEDTLS_ECP_DP_SECP192K1_ENABLED
	MBEDTLS_ECP_DP_SECP224K1_ENABLED MBEDTLS_ECP_DP_SECP256K1_ENABLED
	MBEDTLS_ECP_DP_BP256R1_ENABLED MBEDTLS_ECP_DP_BP384R1_ENABLED
	MBEDTLS_ECP_DP_BP512R1_ENABLED MBEDTLS_ECP_DP_CURVE448_ENABLED
	# certificate revocation lists, requests and writing
	MBEDTLS_X509_CRL_PARSE_C MBEDTLS_X509_CSR_PARSE_C MBEDTLS_X509_CREATE_C
	MBEDTLS_X509_CRT_WRITE_C MBEDTLS_X509_CSR_WRITE_C
	# RSA key generation, the PSA crypto core and its key store
	MBEDTLS_GENPRIME MBEDTLS_PSA_CRYPTO_C MBEDTLS_PSA_CRYPTO_STORAGE_C MBEDTLS_PSA_ITS_FILE_C
)
SET=(MBEDTLS_THREADING_C MBEDTLS_THREADING_PTHREAD)
FLAGS=(-Os -ffunction-sections -fdata-sections -fstack-protector-strong -D_FORTIFY_SOURCE=2
	${SYSROOT:+--sysroot="$SYSROOT"})
B=$OUT/mbedtls
sig=$(printf '%s\n' "$VER" "$CC_" "${FLAGS[@]}" "${UNSET[@]}" "${SET[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$OUT/prefix/lib/libmbedcrypto.a" ] || [ "$(cat "$B/.eco2-built" 2>/dev/null)" != "$sig" ]; then
	say "configure and build ($ARCH, $VER)"
	rm -rf "$B"
	mkdir -p "$B"
	cp -a "$SRC/library" "$SRC/include" "$SRC/scripts" "$SRC/3rdparty" "$B/"
	for s in "${SET[@]}"; do "$PY" "$B/scripts/config.py" -f "$B/include/mbedtls/config.h" set "$s"; done
	for s in "${UNSET[@]}"; do "$PY" "$B/scripts/config.py" -f "$B/include/mbedtls/config.h" unset "$s"; done
	make -C "$B/library" -j"${JOBS:-2}" CC="$CC_" AR="$AR_" CFLAGS="${FLAGS[*]}" \
		libmbedcrypto.a libmbedx509.a libmbedtls.a >"$B/make.log" 2>&1 ||
		{ tail -n 20 "$B/make.log" >&2; die "make failed: $B/make.log"; }
	mkdir -p "$OUT/prefix/lib" "$OUT/prefix/include"
	rm -rf "$OUT/prefix/include/mbedtls" "$OUT/prefix/include/psa"
	cp -a "$B/include/mbedtls" "$B/include/psa" "$OUT/prefix/include/"
	cp "$B/library/libmbedcrypto.a" "$B/library/libmbedx509.a" "$B/library/libmbedtls.a" "$OUT/prefix/lib/"
	{
		cat "$SRC/.eco2-provenance"
		echo "target: $ARCH ($TRIPLET)${SYSROOT:+, sysroot $SYSROOT}"
		echo "config.h: upstream's, then set ${SET[*]}; unset ${UNSET[*]}"
		echo "make -C library: CC=$CC_ CFLAGS=${FLAGS[*]}"
	} >"$OUT/prefix/PROVENANCE-mbedtls"
	echo "$sig" >"$B/.eco2-built"
fi
say "$OUT/prefix/lib/libmbed{tls,x509,crypto}.a: $VER"
