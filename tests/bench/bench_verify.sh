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
#   ratios      eco2-verify's rate (every check: decoding, signature, the
#               content rules, the chain, the report) against the bare
#               signature rate of its back end, measured in the same run
#   reports     time and size of the text, JSON and HTML reports for
#               BENCH_BIG records (the HTML page's extra time over the run
#               without it)
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
	"$ECO2_BUILD/eco2-bench-sig" 2 >"$tmp/bare"
	awk '{ split($1, b, "="); split($2, a, "="); split($3, r, "=");
		printf "bare verify_sig (1 core): %9.0f /s per CPU second  %s %s\n", r[2], a[2], b[2] }' "$tmp/bare"
fi
bare() {   # bare BACKEND -> verify_sig per CPU second, or 0
	awk -v b="backend=$1" '$1 == b { split($3, r, "="); print r[2] }' "$tmp/bare" 2>/dev/null | head -n 1
}

# run LABEL N CMD...: time CMD, print records/s by wall and by CPU time;
# LAST_CPU_RATE and LAST_WALL are left for ratios
run() {
	local label=$1 n=$2
	shift 2
	/usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	read -r wall user sys <"$tmp/time"
	LAST_WALL=$wall
	LAST_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	LAST_CPU_RATE=$(awk -v n="$n" -v c="$LAST_CPU" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }')
	awk -v l="$label" -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v rc="$rc" 'BEGIN {
		cpu = u + s
		printf "%-44s %8d records  %9.0f /s wall  %9.0f /s per CPU second%s\n", l, n,
			(w > 0 ? n / w : 0), (cpu > 0 ? n / cpu : 0), (rc ? "  (exit " rc ")" : "") }'
}
# ratio LABEL RATE BACKEND: RATE against the bare signature rate
ratio() {
	local b
	b=$(bare "$3")
	[ -n "$b" ] && [ "$b" -gt 0 ] 2>/dev/null &&
		awk -v l="$1" -v r="$2" -v b="$b" -v be="$3" 'BEGIN {
			printf "%-44s %9.0f /s per CPU second = %5.1f %% of bare %s verify_sig (%.0f /s)\n", l, r, 100 * r / b, be, b }'
}

# ---- signing ----
run "sign  file Ed25519 (libsodium)" "$BENCH_N" "$gen" --key "file:$tmp/ed.key" --count "$BENCH_N" -o "$tmp/ed.cbor"
np=$((BENCH_N / 4))
run "sign  file P-256 (mbedTLS)" "$np" "$gen" --key "file:$tmp/p.key" --count "$np" -o "$tmp/p.cbor"

# ---- verifying, one core ----
run "verify Ed25519, sodium, 1 core" "$BENCH_N" "$ver" --jobs 1 --backend sodium --pubkey "$tmp/ed.pub" "$tmp/ed.cbor"
r_ed=$LAST_CPU_RATE
if "$ver" --jobs 1 --backend libcrypto --pubkey "$tmp/p.pub" "$tmp/p.cbor" >/dev/null 2>&1; then
	run "verify ES256, libcrypto, 1 core" "$np" "$ver" --jobs 1 --backend libcrypto --pubkey "$tmp/p.pub" "$tmp/p.cbor"
	r_lc=$LAST_CPU_RATE
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
r_mb=$LAST_CPU_RATE
ratio "eco2-verify Ed25519 (every check), 1 core" "$r_ed" sodium
[ -n "${r_lc:-}" ] && ratio "eco2-verify ES256 (every check), 1 core" "$r_lc" libcrypto
ratio "eco2-verify ES256 (every check), 1 core" "$r_mb" mbedtls

# ---- all cores, a large file ----
"$gen" --key "file:$tmp/ed.key" --count "$BENCH_BIG" -o "$tmp/big.cbor" 2>/dev/null
run "eco2-verify Ed25519, $(nproc) cores ($(($(stat -c %s "$tmp/big.cbor") / 1048576)) MiB)" "$BENCH_BIG" \
	"$ver" --pubkey "$tmp/ed.pub" "$tmp/big.cbor"
w_text=$LAST_WALL c_text=$LAST_CPU
text_size=$(stat -c %s "$tmp/out")
run "eco2-verify Ed25519, 1 core (same file)" "$BENCH_BIG" "$ver" --jobs 1 --pubkey "$tmp/ed.pub" "$tmp/big.cbor"

# ---- reports for BENCH_BIG records ----
run "eco2-verify --json, $(nproc) cores" "$BENCH_BIG" "$ver" --json --pubkey "$tmp/ed.pub" "$tmp/big.cbor"
json_size=$(stat -c %s "$tmp/out")
w_json=$LAST_WALL c_json=$LAST_CPU
run "eco2-verify --html, $(nproc) cores" "$BENCH_BIG" "$ver" --html "$tmp/big.html" --pubkey "$tmp/ed.pub" "$tmp/big.cbor"
w_html=$LAST_WALL c_html=$LAST_CPU
awk -v n="$BENCH_BIG" -v ts="$text_size" -v js="$json_size" -v hs="$(stat -c %s "$tmp/big.html")" \
	-v t="$w_text" -v j="$w_json" -v h="$w_html" -v ct="$c_text" -v cj="$c_json" -v ch="$c_html" 'BEGIN {
	printf "reports for %d records (whole runs, verification included):\n", n
	printf "  text  %5.1f MB  %6.2f s wall  %6.2f s CPU\n", ts / 1e6, t, ct
	printf "  JSON  %5.1f MB  %6.2f s wall  %6.2f s CPU\n", js / 1e6, j, cj
	printf "  HTML  %5.1f MB  %6.2f s wall  %6.2f s CPU (the text report goes to stdout as well)\n", hs / 1e6, h, ch }'
if command -v valgrind >/dev/null; then
	# The HTML page's own cost, in instructions (stable on a busy machine):
	# the same 10,000 records with and without --html.
	python_cut "$tmp/big.cbor" "$tmp/big10k.cbor" 10000
	irr() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$ver" --jobs 1 "$@" 2>&1 >/dev/null |
		awk '/refs:/ { gsub(",", "", $NF); print $NF }'; }
	i0=$(irr --pubkey "$tmp/ed.pub" "$tmp/big10k.cbor")
	i1=$(irr --html "$tmp/h10k.html" --pubkey "$tmp/ed.pub" "$tmp/big10k.cbor")
	[ -n "$i0" ] && [ -n "$i1" ] && awk -v a="$i0" -v b="$i1" -v n="$BENCH_BIG" 'BEGIN {
		printf "HTML report alone: %.0f instructions per record, %.2f G for %d records (%.2f s at 3 G instructions/s)\n",
			(b - a) / 10000, (b - a) / 10000 * n / 1e9, n, (b - a) / 10000 * n / 3e9 }'
fi
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
