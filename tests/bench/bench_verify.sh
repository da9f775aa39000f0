#!/bin/bash
# bench_verify.sh — records/s for signing and verifying (figures only; no
# pass or fail on timing).
#
#   signing     eco2-rec-gen through the file signer (Ed25519 via libsodium,
#               P-256 via mbedTLS): encode + Sig_structure + sign + hash
#   verifying   eco2-verify --jobs 1 per back end (sodium Ed25519, mbedtls
#               ES256, libcrypto ES256): the whole pipeline, file to report
#   all cores   eco2-verify on a large Ed25519 and ES256 file, every core
#   bare        verify_sig alone per back end (eco2-bench-sig), the ceiling
#               the record rates are to be read against
#   callgrind   instructions per record verified, per back end (stable on a
#               busy machine, unlike the rates)
# Rates are records / wall second and records / CPU second (user+sys): on a
# shared machine the CPU figure is the one that means "per core". The
# `openssl speed` line gives the bare signature rates at the same moment.
#
# Environment: BENCH_N (records in the single-core files, default 20000),
# BENCH_BIG (records in the large file, default 100000).
set -u
: "${ECO2_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
: "${BENCH_N:=20000}"
: "${BENCH_BIG:=100000}"
gen=$ECO2_BUILD/eco2-rec-gen
ver=$ECO2_BUILD/eco2-verify
for b in "$gen" "$ver"; do
	[ -x "$b" ] || { echo "bench_verify: $b not built (make O=... all)"; exit 77; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl genpkey -algorithm ed25519 -out "$tmp/ed.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/p.key" 2>/dev/null
chmod 600 "$tmp"/*.key
openssl pkey -in "$tmp/ed.key" -pubout -out "$tmp/ed.pub" 2>/dev/null
openssl pkey -in "$tmp/p.key" -pubout -out "$tmp/p.pub" 2>/dev/null

echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v openssl >/dev/null; then
	openssl speed -seconds 2 ecdsap256 ed25519 2>/dev/null |
		awk '/nistp256|Ed25519/ { printf "openssl speed (bare, 1 core): %s verify/s %s\n", $NF, $0 ~ /25519/ ? "Ed25519" : "P-256" }'
fi

if [ -x "$ECO2_BUILD/eco2-bench-sig" ]; then
	"$ECO2_BUILD/eco2-bench-sig" 2 | awk '{ split($1, b, "="); split($2, a, "="); split($3, r, "=");
		printf "bare verify_sig (1 core): %9.0f /s per CPU second  %s %s\n", r[2], a[2], b[2] }'
fi

# run LABEL N CMD...: time CMD, print records/s by wall and by CPU time
run() {
	local label=$1 n=$2
	shift 2
	/usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	read -r wall user sys <"$tmp/time"
	awk -v l="$label" -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v rc="$rc" 'BEGIN {
		cpu = u + s
		printf "%-44s %8d records  %9.0f /s wall  %9.0f /s per CPU second%s\n", l, n,
			(w > 0 ? n / w : 0), (cpu > 0 ? n / cpu : 0), (rc ? "  (exit " rc ")" : "") }'
}

# ---- signing ----
run "sign  file Ed25519 (libsodium)" "$BENCH_N" "$gen" --key "file:$tmp/ed.key" --count "$BENCH_N" -o "$tmp/ed.cbor"
np=$((BENCH_N / 4))
run "sign  file P-256 (mbedTLS)" "$np" "$gen" --key "file:$tmp/p.key" --count "$np" -o "$tmp/p.cbor"

# ---- verifying, one core ----
run "verify Ed25519, sodium, 1 core" "$BENCH_N" "$ver" --jobs 1 --backend sodium --pubkey "$tmp/ed.pub" "$tmp/ed.cbor"
if "$ver" --jobs 1 --backend libcrypto --pubkey "$tmp/p.pub" "$tmp/p.cbor" >/dev/null 2>&1; then
	run "verify ES256, libcrypto, 1 core" "$np" "$ver" --jobs 1 --backend libcrypto --pubkey "$tmp/p.pub" "$tmp/p.cbor"
else
	echo "verify ES256, libcrypto: not built (CONFIG_VERIFY_LIBCRYPTO is off)"
fi
head_n=2000
[ $np -lt $head_n ] && head_n=$np
python_cut() {   # the first N records of a file (records are self-delimiting)
	/usr/bin/python3 -c '
import io, sys, cbor2
d = open(sys.argv[1], "rb").read(); fp = io.BytesIO(d); dec = cbor2.CBORDecoder(fp)
for _ in range(int(sys.argv[3])): dec.decode()
open(sys.argv[2], "wb").write(d[:fp.tell()])' "$@"
}
python_cut "$tmp/p.cbor" "$tmp/p_small.cbor" $head_n
run "verify ES256, mbedtls, 1 core" "$head_n" "$ver" --jobs 1 --backend mbedtls --pubkey "$tmp/p.pub" "$tmp/p_small.cbor"

# ---- all cores, a large file ----
"$gen" --key "file:$tmp/ed.key" --count "$BENCH_BIG" -o "$tmp/big.cbor" 2>/dev/null
run "eco2-verify Ed25519, $(nproc) cores ($(($(stat -c %s "$tmp/big.cbor") / 1048576)) MiB)" "$BENCH_BIG" \
	"$ver" --pubkey "$tmp/ed.pub" "$tmp/big.cbor"
run "eco2-verify Ed25519, 1 core (same file)" "$BENCH_BIG" "$ver" --jobs 1 --pubkey "$tmp/ed.pub" "$tmp/big.cbor"
"$gen" --key "file:$tmp/p.key" --count $((BENCH_BIG / 4)) -o "$tmp/bigp.cbor" 2>/dev/null
run "eco2-verify ES256 (default back end), $(nproc) cores" $((BENCH_BIG / 4)) \
	"$ver" --pubkey "$tmp/p.pub" "$tmp/bigp.cbor"
run "eco2-verify ES256 (default back end), 1 core" $((BENCH_BIG / 4)) \
	"$ver" --jobs 1 --pubkey "$tmp/p.pub" "$tmp/bigp.cbor"

# ---- instructions per record (callgrind) ----
if command -v valgrind >/dev/null; then
	ir() {   # ir FILE PUB BACKEND -> total instructions
		valgrind --tool=callgrind --callgrind-out-file=/dev/null "$ver" --jobs 1 \
			--backend "$3" --pubkey "$2" "$1" 2>&1 >/dev/null | awk '/refs:/ { gsub(",", "", $NF); print $NF }'
	}
	# N records minus 1 record: the per-record cost without start-up.
	for be in sodium:ed:200 libcrypto:p:200 mbedtls:p:20; do
		IFS=: read -r b k cnt <<<"$be"
		python_cut "$tmp/$k.cbor" "$tmp/${k}_n.cbor" "$cnt"
		python_cut "$tmp/$k.cbor" "$tmp/${k}_1.cbor" 1
		in_=$(ir "$tmp/${k}_n.cbor" "$tmp/$k.pub" "$b")
		i1=$(ir "$tmp/${k}_1.cbor" "$tmp/$k.pub" "$b")
		[ -n "$in_" ] && [ -n "$i1" ] &&
			awk -v b="$b" -v a="$in_" -v c="$i1" -v n="$cnt" \
				'BEGIN { printf "callgrind: %-10s %9.0f instructions per record verified\n", b, (a - c) / (n - 1) }'
	done
fi
