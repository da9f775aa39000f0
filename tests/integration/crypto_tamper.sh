#!/bin/bash
# Tampering: every change an attacker (or a broken ledger) could make to an
# export must make eco2-verify exit 1 naming the right seq and reason:
#   every single-byte change of a record (each position, two masks, both
#   algorithms), a deleted record, two swapped, a duplicated record, a
#   record from another device's chain (inserted and substituted), a record
#   re-signed with another key (its own kid, and claiming the device's),
#   a payload whose co2_g does not follow from its fields (signed by the
#   right key and chained, so only the co2 check can see it), a properly
#   signed but non-canonical record, truncation, trailing garbage and a
#   huge length prefix; device certificates from the wrong CA, without
#   digitalSignature, expired or not yet valid when the records were made
#   (and --at a time), Ed25519 device certificates; and usage or I/O errors
#   exit 2.
set -u
# shellcheck source=tests/integration/lib/records.sh
. "$(dirname "$0")/lib/records.sh"
"$PYTHON" -c 'import cbor2, cryptography' 2>/dev/null ||
	{ echo "$PYTHON lacks cbor2 or cryptography (python3-cbor2, python3-cryptography)"; exit 77; }

records_scratch

# Helper: record boundaries, splicing and canonical-form games, in Python.
cat >"$tmp/rec.py" <<'EOF'
import io, sys, json, cbor2
def split(path):
    d = open(path, "rb").read(); fp = io.BytesIO(d); dec = cbor2.CBORDecoder(fp); out = []; pos = 0
    while fp.tell() < len(d):
        dec.decode(); out.append(d[pos:fp.tell()]); pos = fp.tell()
    return out
cmd = sys.argv[1]
if cmd == "offsets":            # offsets FILE SEQ -> "start end" of that record
    recs = split(sys.argv[2]); k = int(sys.argv[3]); s = sum(len(r) for r in recs[:k - 1])
    print(s, s + len(recs[k - 1]))
elif cmd == "splice":           # splice OUT FILE:SEQ ... (FILE:SEQ in the order given)
    out = b""
    for a in sys.argv[3:]:
        f, k = a.rsplit(":", 1); out += split(f)[int(k) - 1]
    open(sys.argv[2], "wb").write(out)
elif cmd == "flips":            # flips FILE SEQ OUTDIR MASK -> one file per position
    d = open(sys.argv[2], "rb").read(); recs = split(sys.argv[2]); k = int(sys.argv[3])
    s = sum(len(r) for r in recs[:k - 1]); mask = int(sys.argv[5], 16)
    for i in range(s, s + len(recs[k - 1])):
        b = bytearray(d); b[i] ^= mask
        open(f"{sys.argv[4]}/flip_{mask:02x}_{i}.cbor", "wb").write(b)
elif cmd == "noncanon":         # noncanon FILE SEQ KEY OUT: re-sign seq with seq 8-bit-encoded
    from cryptography.hazmat.primitives import serialization
    recs = split(sys.argv[2]); k = int(sys.argv[3])
    sk = serialization.load_pem_private_key(open(sys.argv[4], "rb").read(), None)
    prot, unprot, payload, sig = cbor2.loads(recs[k - 1]).value
    # key 2 (seq) is "02 0k" in canonical form; write it as "02 18 0k"
    i = payload.index(bytes([0x02, k]))
    payload = payload[:i] + bytes([0x02, 0x18, k]) + payload[i + 2:]
    assert cbor2.loads(payload)[2] == k
    tbs = cbor2.dumps(["Signature1", prot, b"", payload])
    sig = sk.sign(tbs)
    recs[k - 1] = cbor2.dumps(cbor2.CBORTag(18, [prot, {}, payload, sig]))
    open(sys.argv[5], "wb").write(b"".join(recs))
elif cmd == "check":            # check JSON_FILE SEQ REASON_PART [EXACT]
    j = json.load(open(sys.argv[2])); seq = int(sys.argv[3]); part = sys.argv[4]
    ps = j["problems"]
    good = ps and all(p["seq"] == seq for p in ps) and any(part in p["reason"] for p in ps) \
        and not j["ok"]
    print("yes" if good else "no: %s" % ps)
elif cmd == "flipcheck":        # flipcheck DIR SEQ -> every flip_*.json names only SEQ
    import glob, os
    bad = []
    files = sorted(glob.glob(sys.argv[2] + "/flip_*.json"))
    for f in files:
        rc = int(open(f[:-5] + ".rc").read())
        try:
            ps = json.load(open(f))["problems"]
        except Exception as e:
            ps = None
        if rc != 1 or not ps or any(p["seq"] != int(sys.argv[3]) for p in ps):
            bad.append("%s rc=%d %s" % (os.path.basename(f), rc, ps))
    print(len(files), len(bad))
    for b in bad[:5]:
        print("#", b, file=sys.stderr)
EOF
rec() { "$PYTHON" "$tmp/rec.py" "$@"; }

# expect NAME FILE SEQ REASON [KEYARGS...]: exit 1, every problem names SEQ,
# one of them with REASON in it.
expect() {
	local what=$1 file=$2 seq=$3 reason=$4 rc res
	shift 4
	"$ver" --json "$@" "$file" >"$tmp/out.json" 2>"$tmp/out.err"
	rc=$?
	res=$(rec check "$tmp/out.json" "$seq" "$reason" 2>&1)
	check "$what: exit $rc (1), seq $seq, \"$reason\"" [ $rc -eq 1 -a "$res" = yes ]
	[ "$res" = yes ] || echo "# $res"
}

mkkey a ed25519
mkkey b ed25519
mkkey p p256
mkkey q p256
"$gen" --key "file:$tmp/a.key" --count 6 -o "$tmp/a.cbor" 2>/dev/null
"$gen" --key "file:$tmp/b.key" --count 6 -o "$tmp/b.cbor" 2>/dev/null
"$gen" --key "file:$tmp/p.key" --count 6 --vin VF1AG000123456789 -o "$tmp/p.cbor" 2>/dev/null
"$ver" --pubkey "$tmp/a.pub" "$tmp/a.cbor" >/dev/null 2>&1
check "control: the untouched Ed25519 chain verifies" [ $? -eq 0 ]
"$ver" --pubkey "$tmp/p.pub" "$tmp/p.cbor" >/dev/null 2>&1
check "control: the untouched ES256 chain verifies" [ $? -eq 0 ]

# ---- every single-byte change of record 3 ----
for alg in a p; do
	mkdir -p "$tmp/flips_$alg"
	for mask in 01 ff; do
		rec flips "$tmp/$alg.cbor" 3 "$tmp/flips_$alg" $mask
	done
	for f in "$tmp/flips_$alg"/flip_*.cbor; do
		"$ver" --json --pubkey "$tmp/$alg.pub" "$f" >"${f%.cbor}.json" 2>/dev/null
		echo $? >"${f%.cbor}.rc"
	done
	read -r total bad < <(rec flipcheck "$tmp/flips_$alg" 3 2>"$tmp/flip.err")
	name=Ed25519
	[ $alg = p ] && name=ES256
	check "$name: all $total single-byte changes of record 3 (x^01, x^ff at each byte) fail naming only seq 3 ($bad wrong)" \
		[ "$total" -gt 300 -a "$bad" -eq 0 ]
	sed 's/^/# /' "$tmp/flip.err"
done

# ---- structure of the chain ----
rec splice "$tmp/del.cbor" "$tmp/a.cbor:1" "$tmp/a.cbor:2" "$tmp/a.cbor:4" "$tmp/a.cbor:5" "$tmp/a.cbor:6"
expect "deleted record 3" "$tmp/del.cbor" 3 "missing" --pubkey "$tmp/a.pub"
rec splice "$tmp/swap.cbor" "$tmp/a.cbor:1" "$tmp/a.cbor:2" "$tmp/a.cbor:4" "$tmp/a.cbor:3" "$tmp/a.cbor:5" "$tmp/a.cbor:6"
expect "records 3 and 4 swapped" "$tmp/swap.cbor" 3 "out of order" --pubkey "$tmp/a.pub"
rec splice "$tmp/dup.cbor" "$tmp/a.cbor:1" "$tmp/a.cbor:2" "$tmp/a.cbor:3" "$tmp/a.cbor:3" "$tmp/a.cbor:4" "$tmp/a.cbor:5" "$tmp/a.cbor:6"
expect "record 3 duplicated" "$tmp/dup.cbor" 3 "duplicate" --pubkey "$tmp/a.pub"
rec splice "$tmp/ins.cbor" "$tmp/a.cbor:1" "$tmp/a.cbor:2" "$tmp/a.cbor:3" "$tmp/b.cbor:4" "$tmp/a.cbor:4" "$tmp/a.cbor:5" "$tmp/a.cbor:6"
expect "another device's record 4 inserted after seq 3" "$tmp/ins.cbor" 4 "another key's record" --pubkey "$tmp/a.pub"
rec splice "$tmp/sub.cbor" "$tmp/a.cbor:1" "$tmp/a.cbor:2" "$tmp/b.cbor:3" "$tmp/a.cbor:4" "$tmp/a.cbor:5" "$tmp/a.cbor:6"
expect "record 3 replaced by another device's record 3" "$tmp/sub.cbor" 3 "another key's record" --pubkey "$tmp/a.pub"
rec splice "$tmp/chain.cbor" "$tmp/a.cbor:1" "$tmp/a.cbor:2" "$tmp/a.cbor:3" "$tmp/b.cbor:4" "$tmp/b.cbor:5" "$tmp/b.cbor:6"
"$ver" --json --pubkey "$tmp/a.pub" "$tmp/chain.cbor" >"$tmp/out.json" 2>/dev/null
rc=$?
res=$("$PYTHON" -c 'import json,sys; print(sorted(p["seq"] for p in json.load(open(sys.argv[1]))["problems"]))' "$tmp/out.json")
check "another device's chain from seq 4 on: exit $rc (1), problems at seqs $res" [ $rc -eq 1 -a "$res" = "[4, 5, 6]" ]

"$gen" --key "file:$tmp/a.key" --count 6 --resign "3=file:$tmp/b.key" -o "$tmp/resign.cbor" 2>/dev/null
expect "record 3 re-signed with another key (its kid)" "$tmp/resign.cbor" 3 "is not this key's" --pubkey "$tmp/a.pub"
"$gen" --key "file:$tmp/a.key" --count 6 --forge "3=file:$tmp/b.key" -o "$tmp/forge.cbor" 2>/dev/null
expect "record 3 re-signed with another key claiming the device's kid" "$tmp/forge.cbor" 3 "signature does not verify" --pubkey "$tmp/a.pub"
"$gen" --key "file:$tmp/p.key" --count 6 --forge "3=file:$tmp/q.key" -o "$tmp/forge_p.cbor" 2>/dev/null
expect "ES256: record 3 signed by another P-256 key claiming the device's kid" "$tmp/forge_p.cbor" 3 "signature does not verify" --pubkey "$tmp/p.pub"
"$gen" --key "file:$tmp/a.key" --count 6 --bad-co2 4 -o "$tmp/co2.cbor" 2>/dev/null
expect "record 4's co2_g 50 g off its fields, signed and chained by the right key" "$tmp/co2.cbor" 4 "co2: co2_g" --pubkey "$tmp/a.pub"
"$gen" --key "file:$tmp/a.key" --count 6 --set 4:co2_g+=1 -o "$tmp/co2g.cbor" 2>/dev/null
expect "record 4's co2_g one gram off: no tolerance" "$tmp/co2g.cbor" 4 "does not follow from the record's fields" --pubkey "$tmp/a.pub"
"$gen" --key "file:$tmp/a.key" --count 6 --bad-co2 3 -o "$tmp/co2c.cbor" 2>/dev/null
expect "charging session 3 with a CO2 figure" "$tmp/co2c.cbor" 3 "charge.fields" --pubkey "$tmp/a.pub"
rec noncanon "$tmp/a.cbor" 3 "$tmp/a.key" "$tmp/nc.cbor"
expect "record 3 signed by the right key but not canonical (seq as 18 03)" "$tmp/nc.cbor" 3 "not canonical" --pubkey "$tmp/a.pub"

# ---- damaged files ----
read -r s e < <(rec offsets "$tmp/a.cbor" 6)
head -c $((e - 10)) "$tmp/a.cbor" >"$tmp/trunc.cbor"
expect "file cut 10 bytes short" "$tmp/trunc.cbor" 6 "truncated" --pubkey "$tmp/a.pub"
{ cat "$tmp/a.cbor"; printf 'garbage'; } >"$tmp/trail.cbor"
expect "trailing garbage after seq 6" "$tmp/trail.cbor" 7 "are not a record" --pubkey "$tmp/a.pub"
{ head -c "$s" "$tmp/a.cbor"; printf '\xd2\x84\x5b\xff\xff\xff\xff\xff\xff\xff\xff'; } >"$tmp/huge.cbor"
expect "a record with a 2^64-1 byte length prefix in place of seq 6" "$tmp/huge.cbor" 6 "truncated" --pubkey "$tmp/a.pub"
head -c 100000 /dev/urandom >"$tmp/random.cbor"
"$ver" --pubkey "$tmp/a.pub" "$tmp/random.cbor" >/dev/null 2>&1
check "100 kB of random bytes: exit 1, no crash" [ $? -eq 1 ]

"$PYTHON" -c 'import sys; sys.stdout.buffer.write(bytes.fromhex("d2844da201270448") * 300000)' >"$tmp/starts.cbor"
"$ver" --json --pubkey "$tmp/a.pub" "$tmp/starts.cbor" >"$tmp/out.json" 2>/dev/null
rc=$?
res=$("$PYTHON" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["problems_total"], len(j["problems"]))' "$tmp/out.json")
check "300,000 bare record starts: exit $rc (1), all counted, 100,000 listed ($res)" \
	[ $rc -eq 1 -a "$res" = "300000 100000" ]

# ---- a large file across verification batches, on every core ----
"$gen" --key "file:$tmp/a.key" --count 10000 -o "$tmp/big.cbor" 2>/dev/null
"$PYTHON" - "$tmp/big.cbor" "$tmp/bigbad.cbor" <<'EOF2'
import io, sys, cbor2
d = open(sys.argv[1], "rb").read(); fp = io.BytesIO(d); dec = cbor2.CBORDecoder(fp); recs = []; pos = 0
while fp.tell() < len(d):
    dec.decode(); recs.append(bytearray(d[pos:fp.tell()])); pos = fp.tell()
recs[2][60] ^= 1                      # seq 3: a changed prev byte
recs[4999][-5] ^= 0x80                # seq 5000: a changed signature byte
recs[9998:9999] = [recs[9998], recs[9998]]   # seq 9999 twice
del recs[8192]                        # seq 8193 gone (the second batch's first)
open(sys.argv[2], "wb").write(b"".join(recs))
EOF2
"$ver" --json --jobs 1 --pubkey "$tmp/a.pub" "$tmp/bigbad.cbor" >"$tmp/j1.json" 2>/dev/null
rc1=$?
"$ver" --json --jobs 3 --pubkey "$tmp/a.pub" "$tmp/bigbad.cbor" >"$tmp/j3.json" 2>/dev/null
rc3=$?
res=$("$PYTHON" -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
print(a == b, [p["seq"] for p in a["problems"]], a["verified"])' "$tmp/j1.json" "$tmp/j3.json")
check "10,000 records damaged at seq 3, 5000, 8193, 9999: 1 and 3 threads agree (exit $rc1/$rc3: $res)" \
	[ $rc1 -eq 1 -a $rc3 -eq 1 -a "$res" = "True [3, 5000, 8193, 9999] 9997" ]
"$ver" --jobs 3 --pubkey "$tmp/a.pub" "$tmp/big.cbor" >/dev/null 2>&1
check "the same 10,000 records undamaged verify on 3 threads" [ $? -eq 0 ]

# ---- device certificates ----
# The CAs are valid 2020..2099 and the records are of 2026-01-01: a
# certificate is checked at each record's time (its end), or --at TIME.
mkca() {   # mkca NAME: a self-signed root, valid 2020..2099
	mkdir -p "$tmp/$1.db/new"
	: >"$tmp/$1.db/index.txt"
	echo 01 >"$tmp/$1.db/serial"
	cat >"$tmp/$1.cnf" <<EOF2
[ ca ]
default_ca = d
[ d ]
database = $tmp/$1.db/index.txt
new_certs_dir = $tmp/$1.db/new
serial = $tmp/$1.db/serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign
[ dev ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
[ nosig ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
EOF2
	openssl req -new -key "$tmp/$1.key" -subj "/CN=$1 root" -out "$tmp/$1.csr" 2>/dev/null
	openssl ca -batch -selfsign -config "$tmp/$1.cnf" -keyfile "$tmp/$1.key" -in "$tmp/$1.csr" \
		-out "$tmp/$1.pem" -extensions root -notext -startdate 20200101000000Z \
		-enddate 20991231000000Z >/dev/null 2>&1
}
issue() {   # issue CA DEVKEY OUT EXT FROM TO
	openssl req -new -key "$tmp/$2.key" -subj "/CN=vehicle $2" -out "$tmp/$3.csr" 2>/dev/null
	openssl ca -batch -config "$tmp/$1.cnf" -cert "$tmp/$1.pem" -keyfile "$tmp/$1.key" \
		-in "$tmp/$3.csr" -out "$tmp/$3.pem" -extensions "$4" -notext \
		-startdate "$5" -enddate "$6" >/dev/null 2>&1
}
mkkey maker p256
mkkey rogue p256
mkkey edca ed25519
mkca maker
mkca rogue
mkca edca
issue maker p dev dev 20250101000000Z 20300101000000Z
issue rogue p wrongca dev 20250101000000Z 20300101000000Z
issue maker p expired dev 20200101000000Z 20210101000000Z
issue maker p future dev 20990101000000Z 20991231000000Z
issue maker p archived dev 20250101000000Z 20260601000000Z
issue maker p ends dev 20250101000000Z 20260101040000Z
issue maker p nosig nosig 20250101000000Z 20300101000000Z
issue maker q otherkey dev 20250101000000Z 20300101000000Z
issue maker a ed dev 20250101000000Z 20300101000000Z
issue edca a edroot dev 20250101000000Z 20300101000000Z
for c in maker rogue edca dev wrongca expired future archived ends nosig otherkey ed edroot; do
	[ -s "$tmp/$c.pem" ] || { notok "openssl made certificate $c"; }
done
"$ver" --cert "$tmp/dev.pem" --ca "$tmp/maker.pem" "$tmp/p.cbor" >/dev/null 2>&1
check "a device certificate from the maker's CA verifies the ES256 chain" [ $? -eq 0 ]
"$ver" --cert "$tmp/archived.pem" --ca "$tmp/maker.pem" "$tmp/p.cbor" >/dev/null 2>&1
check "an archived chain verifies after its certificate expired (valid when the records were made)" [ $? -eq 0 ]
expect "the same certificate checked --at now: expired" "$tmp/p.cbor" 0 "expired" \
	--cert "$tmp/archived.pem" --ca "$tmp/maker.pem" --at now
expect "device certificate from the wrong CA" "$tmp/p.cbor" 0 "not issued by this CA" \
	--cert "$tmp/wrongca.pem" --ca "$tmp/maker.pem"
expect "device certificate whose key usage lacks digitalSignature" "$tmp/p.cbor" 0 "digitalSignature" \
	--cert "$tmp/nosig.pem" --ca "$tmp/maker.pem"
# seq 1 ends before 2026-01-01T04:00Z, 2..6 after it (seq 2 starts at 04:00)
certtime() {   # certtime NAME CERT WORD WANT-SEQS [ARGS...]
	local what=$1 cert=$2 word=$3 want=$4 rc res
	shift 4
	"$ver" --json --cert "$tmp/$cert.pem" --ca "$tmp/maker.pem" "$@" "$tmp/p.cbor" >"$tmp/out.json" 2>/dev/null
	rc=$?
	res=$("$PYTHON" -c '
import json, sys
j = json.load(open(sys.argv[1]))
ps = [p for p in j["problems"] if p["code"] == "certificate.time" and sys.argv[2] in p["reason"]]
print(",".join(str(p["seq"]) for p in ps), len(j["problems"]), j["verified"])' "$tmp/out.json" "$word")
	check "$what: exit $rc (1), certificate.time at seqs $res" [ $rc -eq 1 -a "$res" = "$want" ]
}
certtime "a certificate that expired at 04:00: records made after it fail" ends expired "2,3,4,5,6 5 1"
certtime "expired before the records were made" expired expired "1,2,3,4,5,6 6 0"
certtime "not yet valid when the records were made" future "not yet valid" "1,2,3,4,5,6 6 0"
"$ver" --cert "$tmp/expired.pem" --ca "$tmp/maker.pem" --at 2020-06-01 "$tmp/p.cbor" >/dev/null 2>&1
check "the expired certificate --at 2020-06-01 (inside its validity): exit 0" [ $? -eq 0 ]
expect "the not yet valid certificate --at 2026-01-01" "$tmp/p.cbor" 0 "not yet valid" \
	--cert "$tmp/future.pem" --ca "$tmp/maker.pem" --at 2026-01-01
"$ver" --json --cert "$tmp/otherkey.pem" --ca "$tmp/maker.pem" "$tmp/p.cbor" >"$tmp/out.json" 2>/dev/null
rc=$?
res=$("$PYTHON" -c 'import json,sys; ps=json.load(open(sys.argv[1]))["problems"]; print(len(ps), all("is not this key" in p["reason"] for p in ps))' "$tmp/out.json")
check "a valid certificate for another key: every record fails on its kid (exit $rc, $res)" \
	[ $rc -eq 1 -a "$res" = "6 True" ]
# Ed25519 device certificates: read by OpenSSL where it is built in
if "$ver" --cert "$tmp/ed.pem" --ca "$tmp/maker.pem" "$tmp/a.cbor" >/dev/null 2>"$tmp/err"; then
	ok "an Ed25519 device certificate from a P-256 CA verifies the Ed25519 chain"
	"$ver" --json --cert "$tmp/edroot.pem" --ca "$tmp/edca.pem" "$tmp/a.cbor" >"$tmp/out.json" 2>/dev/null
	rc=$?
	res=$("$PYTHON" -c 'import json,sys; c=json.load(open(sys.argv[1]))["certificate"]; print(c["key"], c["library"], c["ok"])' "$tmp/out.json")
	check "an Ed25519 device certificate from an Ed25519 CA (exit $rc: $res)" [ $rc -eq 0 -a "$res" = "Ed25519 libcrypto True" ]
	expect "the Ed25519 certificate with the wrong CA" "$tmp/a.cbor" 0 "not issued by this CA" \
		--cert "$tmp/edroot.pem" --ca "$tmp/maker.pem"
	"$ver" --cert "$tmp/dev.pem" --ca "$tmp/maker.pem" --cert-library libcrypto "$tmp/p.cbor" >/dev/null 2>&1
	check "the P-256 chain through OpenSSL as well" [ $? -eq 0 ]
	certtime "OpenSSL: a certificate that expired at 04:00" ends expired "2,3,4,5,6 5 1" --cert-library libcrypto
	"$ver" --cert "$tmp/ed.pem" --ca "$tmp/maker.pem" --cert-library mbedtls "$tmp/a.cbor" >/dev/null 2>"$tmp/err"
	rc=$?
	grep -q "cannot read or parse" "$tmp/err"
	check "mbedTLS alone cannot read it: exit $rc (2), said so" [ $rc -eq 2 -a $? -eq 0 ]
elif grep -q "CONFIG_VERIFY_LIBCRYPTO" "$tmp/err"; then
	echo "ok $((n += 1)) - Ed25519 device certificates # SKIP built without CONFIG_VERIFY_LIBCRYPTO"
else
	notok "an Ed25519 device certificate verifies the Ed25519 chain ($(head -c 200 "$tmp/err"))"
fi

# ---- usage and I/O errors: exit 2 ----
"$ver" >/dev/null 2>&1
check "no arguments: exit 2" [ $? -eq 2 ]
"$ver" --pubkey "$tmp/a.pub" --cert "$tmp/dev.pem" --ca "$tmp/maker.pem" "$tmp/a.cbor" >/dev/null 2>&1
check "--pubkey with --cert: exit 2" [ $? -eq 2 ]
"$ver" --cert "$tmp/dev.pem" "$tmp/a.cbor" >/dev/null 2>&1
check "--cert without --ca: exit 2" [ $? -eq 2 ]
"$ver" --pubkey "$tmp/a.pub" "$tmp/nonexistent.cbor" >/dev/null 2>"$tmp/err"
rc=$?
grep -q nonexistent.cbor "$tmp/err"
g=$?
check "missing records file: exit $rc (2) naming the path ($(head -c 80 "$tmp/err"))" \
	[ $rc -eq 2 -a $g -eq 0 ]
"$ver" --pubkey "$tmp/a.key" "$tmp/a.cbor" >/dev/null 2>"$tmp/err"
rc=$?
check "a private key given as --pubkey: exit $rc (2) ($(head -c 80 "$tmp/err"))" [ $rc -eq 2 ]
"$ver" --cert "$tmp/a.pub" --ca "$tmp/maker.pem" "$tmp/a.cbor" >/dev/null 2>&1
check "a certificate that does not parse: exit 2" [ $? -eq 2 ]
: >"$tmp/empty.cbor"
out=$("$ver" --json --pubkey "$tmp/a.pub" "$tmp/empty.cbor")
check "an empty export: exit 0" [ $? -eq 0 ]
case $out in *'"records":0'*) ok "empty export reports 0 records" ;; *) notok "empty export reports 0 records ($out)" ;; esac

echo "1..$n"
[ $failed -eq 0 ]
