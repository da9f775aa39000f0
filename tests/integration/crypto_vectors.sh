#!/bin/bash
# crypto_vectors.sh — the published test vectors (docs/test-vectors/):
#   - the generator in the tree (scripts/gen_test_vectors.py, signing with
#     eco2-rec-gen) writes them again byte for byte, manifest included;
#   - eco2-verify reaches every verdict of the manifest: exit status, each
#     problem and warning by seq and code, in a JSON report that validates
#     against docs/verify-report.schema.json;
#   - an independent checker written from docs/record-format.md with
#     Python's cbor2, cryptography and nacl (tests/integration/vectors/
#     oracle.py) agrees with every verdict too, and can disagree (a changed
#     expectation and a changed byte are caught);
#   - eco2-ledger takes the genuine ones and refuses each record that
#     breaks a content rule at the door, naming the rule.
set -u
. "$(dirname "$0")/upload/lib.sh"
V=$ECO2_SRC/docs/test-vectors
GEN=$ECO2_BUILD/eco2-rec-gen
VER=$ECO2_BUILD/eco2-verify
need_bins "$GEN" "$VER"
"$PYTHON" -c 'import cbor2, cryptography, nacl' 2>/dev/null ||
	skip_all "$PYTHON lacks cbor2, cryptography or nacl (python3-cbor2, python3-cryptography, python3-nacl)"
[ -f "$V/manifest.json" ] || { nok "docs/test-vectors/manifest.json exists"; finish; exit 1; }

# ---- reproducible ----
"$PYTHON" "$ECO2_SRC/scripts/gen_test_vectors.py" "$GEN" "$WORK/regen" 2>"$WORK/gen.err"
check "the generator runs" [ $? -eq 0 ]
diff -r "$V" "$WORK/regen" -x README.md >"$WORK/diff" 2>&1
check "the vectors are written again byte for byte ($(head -c 200 "$WORK/diff"))" [ ! -s "$WORK/diff" ]
n_vec=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["vectors"]))' "$V/manifest.json")
check "the manifest lists $n_vec vectors, each file present and of the listed SHA-256" "$PYTHON" -c '
import hashlib, json, os, sys
m = json.load(open(sys.argv[1])); d = os.path.dirname(sys.argv[1])
sys.exit(0 if len(m["vectors"]) >= 30 and all(
    hashlib.sha256(open(os.path.join(d, v["file"]), "rb").read()).hexdigest() == v["sha256"]
    for v in m["vectors"]) else 1)' "$V/manifest.json"

# ---- eco2-verify agrees with every verdict ----
"$PYTHON" - "$V" "$VER" "$ECO2_SRC/docs/verify-report.schema.json" >"$WORK/ver.out" 2>&1 <<'EOF'
import json, os, subprocess, sys
d, ver = sys.argv[1], sys.argv[2]
try:
    import jsonschema
    schema = json.load(open(sys.argv[3]))
    jsonschema.Draft202012Validator.check_schema(schema)
    validate = jsonschema.Draft202012Validator(schema).validate
    print("schema: checked")
except ImportError:
    validate = None
    print("schema: python3-jsonschema missing")
bad = 0
for v in json.load(open(os.path.join(d, "manifest.json")))["vectors"]:
    r = subprocess.run([ver, "--json", "--pubkey", os.path.join(d, v["pubkey"]), os.path.join(d, v["file"])],
                       capture_output=True)
    try:
        j = json.loads(r.stdout)
        if validate:
            validate(j)
    except Exception as e:
        print("DIFF", v["file"], "no valid JSON:", str(e)[:300], r.stderr[:200]); bad += 1; continue
    got = (j["verdict"], r.returncode, sorted((p["seq"], p["code"]) for p in j["problems"]),
           sorted((w["seq"], w["code"]) for w in j["warnings"]))
    want = (v["verdict"], 0 if v["verdict"] == "verified" else 1,
            sorted((p["seq"], p["code"]) for p in v["problems"]),
            sorted((w["seq"], w["code"]) for w in v["warnings"]))
    if got != want:
        print("DIFF", v["file"], "eco2-verify", got, "manifest", want); bad += 1
print("differences:", bad)
EOF
check "eco2-verify reaches every verdict, problem and warning of the manifest ($(tail -n 1 "$WORK/ver.out"))" \
	grep -qx "differences: 0" "$WORK/ver.out"
grep DIFF "$WORK/ver.out" | sed 's/^/# /'
if grep -q "schema: checked" "$WORK/ver.out"; then
	ok "every report validates against docs/verify-report.schema.json"
else
	echo "ok $((tap_n += 1)) - the reports against the JSON Schema # SKIP python3-jsonschema missing"
fi
"$VER" --pubkey "$V/keys/ed25519.pub" "$V/trailing-bytes.cbor" >/dev/null 2>"$WORK/err"
check "trailing-bytes: \"100 bytes after the previous record\"" \
	grep -q '^eco2-verify: seq 7: 100 bytes after the previous record are not a record' "$WORK/err"
"$VER" --pubkey "$V/keys/ed25519.pub" "$V/fork.cbor" >/dev/null 2>"$WORK/err"
check "fork: both records' hashes named" "$PYTHON" -c '
import hashlib, io, re, sys, cbor2
d = open(sys.argv[1], "rb").read(); fp = io.BytesIO(d); dec = cbor2.CBORDecoder(fp); recs = []; pos = 0
while fp.tell() < len(d):
    dec.decode(); recs.append(d[pos:fp.tell()]); pos = fp.tell()
err = open(sys.argv[2]).read()
a, b = (hashlib.sha256(r).hexdigest()[:32] for r in (recs[3], recs[6]))
sys.exit(0 if re.search("seq 4: fork: .*" + a + ".*" + b, err) else 1)' "$V/fork.cbor" "$WORK/err"

# ---- the independent checker agrees, and can disagree ----
"$PYTHON" "$ECO2_SRC/tests/integration/vectors/oracle.py" "$V/manifest.json" >"$WORK/oracle.out" 2>&1
rc=$?
check "the independent Python checker agrees with all $n_vec verdicts ($(grep -c '^ok' "$WORK/oracle.out") agree)" \
	[ $rc -eq 0 -a "$(grep -c '^ok' "$WORK/oracle.out")" = "$n_vec" ]
grep -v '^ok' "$WORK/oracle.out" | head -5 | sed 's/^/# /'
mkdir -p "$WORK/mut/keys"
cp "$V"/keys/* "$WORK/mut/keys/"
cp "$V"/*.cbor "$WORK/mut/"
"$PYTHON" - "$V/manifest.json" "$WORK/mut" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
for v in m["vectors"]:
    if v["file"] == "co2-one-gram-over.cbor":
        v["problems"] = []; v["verdict"] = "verified"     # as if +1 g were accepted
    if v["file"] == "v2-ed25519-genuine.cbor":
        d = bytearray(open(sys.argv[2] + "/" + v["file"], "rb").read())
        d[-3] ^= 1                                       # a signature byte of the last record
        open(sys.argv[2] + "/" + v["file"], "wb").write(d)
json.dump(m, open(sys.argv[2] + "/manifest.json", "w"))
EOF
"$PYTHON" "$ECO2_SRC/tests/integration/vectors/oracle.py" "$WORK/mut/manifest.json" >"$WORK/mut.out" 2>&1
rc=$?
check "the checker can fail: a tolerated gram and a changed signature byte are both caught (exit $rc)" \
	[ $rc -eq 1 -a "$(grep -c '^DIFF' "$WORK/mut.out")" = 2 ]

# ---- the ledger applies the same rules on ingest ----
if [ ! -x "$LEDGER" ] || ! command -v curl >/dev/null; then
	echo "ok $((tap_n += 1)) - eco2-ledger refuses impossible records # SKIP eco2-ledger or curl missing"
	finish
	exit $?
fi
"$UP/pki.sh" "$WORK/pki" es256 >/dev/null 2>&1 || { nok "test PKI"; finish; exit 1; }
"$PYTHON" "$ECO2_SRC/scripts/gen_test_vectors.py" --keys "$WORK/vk"
for k in ed25519 p256; do
	openssl req -new -key "$WORK/vk/$k.key" -subj "/CN=vector $k" -out "$WORK/vk/$k.csr" 2>/dev/null &&
	openssl x509 -req -in "$WORK/vk/$k.csr" -CA "$WORK/pki/ca.pem" -CAkey "$WORK/pki/ca.key" \
		-CAcreateserial -days 30 -out "$WORK/vk/$k.pem" 2>/dev/null
done
# Every vector that is genuine or breaks a content rule, each to a ledger
# of its own (one device, one chain): what it accepts and refuses.
"$PYTHON" - "$V" >"$WORK/ledger.list" <<'EOF'
import json, os, sys
rules = {"sig.low_s", "range.time", "range.odometer", "range.distance", "range.energy", "range.params",
         "range.odo_step", "software", "flags.reserved", "method", "co2", "charge.fields", "time.order",
         "odo.order", "odo.distance_over", "chain.time", "chain.odo_twice", "chain.odo_back"}
for v in json.load(open(os.path.join(sys.argv[1], "manifest.json")))["vectors"]:
    if all(p["code"] in rules for p in v["problems"]):
        key = "p256" if v["alg"] == "ES256" else "ed25519"
        p = v["problems"][0] if v["problems"] else {"seq": 0, "code": "-"}
        print(v["file"], key, p["seq"], p["code"])
EOF
bad=0 total=0
while read -r file key seq code; do
	total=$((total + 1))
	rm -f "$WORK/l.db"
	start_ledger l --db "$WORK/l.db" || { bad=$((bad + 1)); continue; }
	curl -sS --cacert "$WORK/pki/ca.pem" -H 'Content-Type: application/x-pem-file' \
		--data-binary @"$WORK/vk/$key.pem" "https://localhost:$PORT/v1/devices" >/dev/null
	a=$(curl -sS --cacert "$WORK/pki/ca.pem" --cert "$WORK/vk/$key.pem" --key "$WORK/vk/$key.key" \
		-H 'Content-Type: application/cbor-seq' --data-binary @"$V/$file" \
		"https://localhost:$PORT/v1/records")
	stop_ledger "$LEDGER_PID"
	res=$("$PYTHON" -c '
import json, sys
a = json.loads(sys.argv[1]); seq = int(sys.argv[2]); code = sys.argv[3]
if seq == 0:
    ok = a["accepted"] == [1, 2, 3, 4, 5, 6] and not a["rejected"]
else:
    rej = {r["seq"]: r["reason"] for r in a["rejected"]}
    ok = a["accepted"] == list(range(1, seq)) and rej.get(seq, "").startswith(code + ": ")
print("yes" if ok else "no")' "$a" "$seq" "$code" 2>&1)
	if [ "$res" != yes ]; then
		bad=$((bad + 1))
		echo "# $file: $a"
	fi
done <"$WORK/ledger.list"
check "eco2-ledger: $total vectors, genuine ones accepted, each impossible record refused at the door naming its rule ($bad wrong)" \
	[ "$total" -ge 25 -a "$bad" -eq 0 ]
finish
