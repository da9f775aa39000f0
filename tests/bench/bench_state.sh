#!/bin/bash
# bench_state.sh — what protecting the saved state costs (docs/security.md,
# section 3). Figures, never verdicts:
#   1. instructions (callgrind) per checkpoint and per stored record in
#      eco2d replaying 40 short trips with a file key: the state tag
#      (signer_tag), the whole checkpoint save, and beside them what a
#      record costs to sign and store;
#   2. milliseconds per state tag where the key lives: a key file, a
#      SoftHSM2 token (HMAC key, and a key without one: a signature), a
#      software TPM behind tpm2-pkcs11 (signature, and an HMAC key added
#      with tpm2_ptool), for a checkpoint with no finished record waiting
#      (768 bytes) and with 49 (12 KiB); each next to a record's signature;
#   3. the store's insert rate with the quota on (the per-append check
#      that keeps the checkpoint outside it) and off, one commit per record
#      as eco2d stores them, measured in the same run, and callgrind
#      instructions per append for both.
set -u
S=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${ECO2_BUILD:-$S/build}
PYTHON=${PYTHON:-/usr/bin/python3}
W=$(mktemp -d /tmp/eco2-bench-state.XXXXXX)
trap 'rm -rf "$W"' EXIT
for p in eco2d eco2ctl eco2-sim eco2-sign-test upload-fill; do
	[ -x "$B/$p" ] || { echo "bench_state: $p not built"; exit 0; }
done
SIZES="768 12288"

# callgrind_calls OUT FN...: "fn calls inclusive-Ir" per function, from a
# callgrind output file's call records (cfn=, calls=, then the cost line).
callgrind_calls() {
	"$PYTHON" - "$@" <<'PY'
import re, sys
out, want = sys.argv[1], sys.argv[2:]
names, calls, incl = {}, {}, {}
cfn = None
pending = False
def name(tok):
    m = re.match(r"\((\d+)\)(?: (.*))?", tok)
    if not m:
        return tok
    if m.group(2):
        names[m.group(1)] = m.group(2)
    return names.get(m.group(1), tok)
for line in open(out):
    line = line.rstrip("\n")
    if line.startswith("cfn="):
        cfn = name(line[4:])
    elif line.startswith("fn="):
        name(line[3:])
    elif line.startswith("calls="):
        n = int(line[6:].split()[0])
        calls[cfn] = calls.get(cfn, 0) + n
        pending = True
    elif pending and line and (line[0].isdigit() or line[0] in "+-*"):
        incl[cfn] = incl.get(cfn, 0) + int(line.split()[1])
        pending = False
for f in want:
    print(f, calls.get(f, 0), incl.get(f, 0))
PY
}

# ---- 1. instructions ---------------------------------------------------------
printf 'time_s,speed_kmh\n0,0\n2,0\n8,30\n16,30\n22,0\n26,0\n' > "$W/one.csv"
args=()
for _ in $(seq 40); do args+=(--cycle "$W/one.csv"); done
"$B/eco2-sim" "${args[@]}" --out "$W/drive.log" > /dev/null
STORE=$W
[ -d /dev/shm ] && [ -w /dev/shm ] && STORE=$(mktemp -d /dev/shm/eco2-bench-state.XXXXXX) &&
	trap 'rm -rf "$W" "$STORE"' EXIT
if command -v valgrind >/dev/null; then
	echo "== instructions (callgrind), eco2d replaying 40 short trips, a file key"
	for alg in ed25519 es256; do
		"$B/eco2ctl" keygen --uri "file:$W/$alg.key" --alg $alg 2>/dev/null
		printf '[can]\nprofile = %s/can/profiles/reference.profile\n[key]\nuri = file:%s/%s.key\n[store]\npath = %s/%s.db\n[ledger]\nenabled = false\n[trip]\nidle_end_s = 2\n' \
			"$S" "$W" $alg "$STORE" $alg > "$W/$alg.conf"
		valgrind --tool=callgrind --callgrind-out-file="$W/cg-$alg.out" "$B/eco2d" -c "$W/$alg.conf" \
			--replay "$W/drive.log" --exit-at-end --no-seccomp > /dev/null 2>&1
		callgrind_calls "$W/cg-$alg.out" signer_tag agent_ckpt_encode checkpoint_now \
			queue_checkpoint_put make_record queue_append > "$W/cg-$alg.txt"
		"$PYTHON" - "$W/cg-$alg.txt" "$alg" <<'PY'
import sys
f = {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
def per(fn):
    n, ir = f[fn]
    return ir / n if n else 0, n
tag, n_tag = per("signer_tag")
enc, n_enc = per("agent_ckpt_encode")
ck, n_ck = per("checkpoint_now")
put, _ = per("queue_checkpoint_put")
rec, n_rec = per("make_record")
app, _ = per("queue_append")
print("  %s: %d records, %d checkpoints saved" % (sys.argv[2], n_rec, n_ck))
print("    state tag (HMAC-SHA256, key derived from the key file): %8.0f instructions per checkpoint" % tag)
print("    checkpoint encode with its tag:                          %8.0f" % enc)
print("    checkpoint save (encode, tag, SQLite write):             %8.0f" % ck)
print("    record: build and sign (make_record):                    %8.0f instructions per record" % rec)
print("    record: store it (queue_append, signing included):       %8.0f" % app)
print("    the protection per stored record (one checkpoint each): %.1f %% of storing the record" %
      (100.0 * tag * n_ck / n_rec / app if n_rec and app else 0))
PY
	done
else
	echo "== instructions: valgrind not installed"
fi

# ---- 2. milliseconds per tag ---------------------------------------------------
# tagms URI LABEL: ms per state tag at each size, then ms per record signature
tagms() {
	local uri=$1 label=$2 line="" n=${3:-200}
	for size in $SIZES; do
		ms=$("$B/eco2-sign-test" --uri "$uri" --tag-bench "$n" --size "$size" 2>/dev/null |
			sed -n 's/.*ms_per_tag=\([0-9.]*\).*/\1/p')
		line="$line $(printf '%8s ms (%5d B)' "${ms:-?}" "$size")"
	done
	sig=$("$B/eco2-sign-test" --uri "$uri" --bench "$n" 2>/dev/null | sed -n 's/.*records_per_s=\([0-9.]*\).*/\1/p')
	sigms=$(awk -v r="${sig:-0}" 'BEGIN { if (r > 0) printf "%.3f", 1000 / r; else print "?" }')
	printf '  %-44s %s | record signature %s ms\n' "$label" "$line" "$sigms"
}
echo "== milliseconds per state tag, where the key lives (a checkpoint of 768 B and of 12 KiB)"
for alg in ed25519 es256; do
	[ -f "$W/$alg.key" ] || "$B/eco2ctl" keygen --uri "file:$W/$alg.key" --alg $alg 2>/dev/null
	tagms "file:$W/$alg.key" "key file, $alg (HMAC, derived key)" 2000
done
module=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
if command -v softhsm2-util >/dev/null && [ -f "$module" ]; then
	mkdir "$W/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
		"$W/tokens" > "$W/softhsm2.conf"
	export SOFTHSM2_CONF=$W/softhsm2.conf
	softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 > /dev/null
	printf '1234\n' > "$W/pin"
	chmod 600 "$W/pin"
	q="module-path=$module&pin-source=file:$W/pin"
	for alg in ed25519 es256; do
		"$B/eco2ctl" keygen --uri "pkcs11:token=bench;object=$alg?$q" --alg $alg 2>/dev/null
		tagms "pkcs11:token=bench;object=$alg?$q" "SoftHSM2, $alg (HMAC key in the token)" 500
	done
	if command -v openssl >/dev/null && openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 \
		-out "$W/imp.pem" 2>/dev/null &&
		softhsm2-util --import "$W/imp.pem" --token bench --label nomac --id 0dd0 --pin 1234 > /dev/null 2>&1; then
		tagms "pkcs11:token=bench;object=nomac?$q" "SoftHSM2, es256, no HMAC key (signature)" 500
	fi
	unset SOFTHSM2_CONF
else
	echo "  SoftHSM2: not installed"
fi
if command -v swtpm >/dev/null && command -v tpm2_ptool >/dev/null; then
	ECO2_SRC=$S
	tmp=$W
	. "$S/tests/integration/crypto_lib.sh" > /dev/null
	module=${TPM2_PKCS11_MODULE:-$(tpm_module)}
	if [ -n "$module" ] && tpm_start "$W/tpm" > /dev/null 2>&1; then
		tpm2_ptool init > /dev/null 2>&1
		tpm2_ptool addtoken --pid=1 --label=bench --userpin=1234 --sopin=5678 > /dev/null 2>&1
		tpm2_ptool addkey --algorithm=ecc256 --label=bench --key-label=sig --userpin=1234 > /dev/null 2>&1
		tpm2_ptool addkey --algorithm=ecc256 --label=bench --key-label=mac --id=6d61630000000001 \
			--userpin=1234 > /dev/null 2>&1
		tpm2_ptool addkey --algorithm=hmac:sha256 --label=bench --key-label=mac --id=6d61630000000001 \
			--userpin=1234 > /dev/null 2>&1
		q="module-path=$module&pin-source=file:$W/pin"
		[ -f "$W/pin" ] || { printf '1234\n' > "$W/pin"; chmod 600 "$W/pin"; }
		tagms "pkcs11:token=bench;object=sig?$q" "swtpm + tpm2-pkcs11, es256 (signature)" 30
		tagms "pkcs11:token=bench;object=mac?$q" "swtpm + tpm2-pkcs11, es256 (HMAC key added)" 30
		tpm_stop
	else
		echo "  swtpm: did not start"
	fi
else
	echo "  swtpm: not installed"
fi

# ---- 3. the store's insert rate ---------------------------------------------------
echo "== store inserts, one commit per record (synchronous=FULL), quota on and off, alternating"
for quota in 0 268435456; do : > "$W/rates-$quota"; done
for round in 1 2 3; do
	for quota in 0 268435456; do
		rm -f "$W/ins.db"*
		"$B/upload-fill" --db "$W/ins.db" --count 1000 --batch 1 --size 300 --max-bytes $quota 2>/dev/null |
			sed -n 's/.*: \([0-9.]*\) records\/s.*/\1/p' >> "$W/rates-$quota"
	done
done
for quota in 0 268435456; do
	printf '  quota %-4s median of 3: %s records/s (%s)\n' "$([ $quota = 0 ] && echo off || echo 256M)" \
		"$(sort -n "$W/rates-$quota" | sed -n 2p)" "$(tr '\n' ' ' < "$W/rates-$quota")"
done
if command -v valgrind >/dev/null; then
	for quota in 0 268435456; do
		rm -f "$STORE/cgi.db"*
		valgrind --tool=callgrind --callgrind-out-file="$W/cgi-$quota.out" "$B/upload-fill" \
			--db "$STORE/cgi.db" --count 2000 --batch 1 --size 300 --max-bytes $quota > /dev/null 2>&1
		callgrind_calls "$W/cgi-$quota.out" queue_append_batch > "$W/cgi-$quota.txt"
	done
	"$PYTHON" - "$W/cgi-0.txt" "$W/cgi-268435456.txt" <<'PY'
import sys
def per(f):
    name, n, ir = open(f).read().split()
    return int(ir) / int(n) if int(n) else 0
off, on = per(sys.argv[1]), per(sys.argv[2])
print("  instructions per append: quota off %.0f, quota on %.0f: the check costs %.0f (%.1f %%)" %
      (off, on, on - off, 100.0 * (on - off) / off if off else 0))
PY
fi
