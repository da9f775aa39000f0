#!/bin/bash
# ledger_proofs.sh — the ledger's Merkle proofs against an independent
# implementation written from RFC 9162 (tests/integration/ledger/rfc9162.py:
# hashlib and PyNaCl, nothing of ours):
#   - a tree of 300 leaves built through the ledger's store and batches
#     (eco2-ledger-proofs): the root of every size 1..300, the inclusion
#     proof of every leaf in every size, and 3000 random consistency pairs
#     equal the RFC's MTH, PATH and PROOF and verify by its algorithms;
#   - a live eco2-ledger fed 300 signed records in batches of random sizes:
#     every receipt it answers with carries a checkpoint signed by its key
#     (Ed25519 checked by PyNaCl) and an inclusion proof for each record's
#     exact bytes; consistency proofs the API serves between the receipts'
#     checkpoints and the published one verify; GET .../receipt agrees.
# LEDGER_STORE=URL runs the live part on that store (ledger_postgres.sh).
set -u
. "$(dirname "$0")/upload/lib.sh"
need_bins "$LEDGER" "$FILL" "$ECO2_BUILD/eco2-ledger-proofs"
command -v openssl >/dev/null || skip_all "openssl CLI missing"
command -v curl >/dev/null || skip_all "curl CLI missing"
"$PYTHON" -c 'import nacl, cbor2' 2>/dev/null || skip_all "python3-nacl or python3-cbor2 missing"
ORACLE=$ECO2_SRC/tests/integration/ledger/rfc9162.py
STORE=${LEDGER_STORE:-}

if [ -z "$STORE" ]; then
	"$ECO2_BUILD/eco2-ledger-proofs" --store "sqlite:$WORK/dump.db" --leaves 300 --pairs 3000 \
		--seed $$ >"$WORK/dump.txt"
	check "eco2-ledger-proofs: a tree of 300 leaves through the store" [ $? -eq 0 ]
	out=$("$PYTHON" "$ORACLE" dump "$WORK/dump.txt")
	rc=$?
	echo "# $out"
	check "every size 1..300, every leaf, 3000 random pairs: as RFC 9162 computes and verifies them" [ $rc -eq 0 ]
fi

"$UP/pki.sh" "$WORK/pki" ed25519 || { nok "test PKI"; finish; exit 1; }
P=$WORK/pki
"$FILL" --db "$WORK/q.db" --count 300 --key "file:$P/device.key" >/dev/null 2>&1
if [ -n "$STORE" ]; then
	start_ledger l --store "$STORE" --checkpoint-interval 1 || exit 1
else
	start_ledger l --checkpoint-interval 1 || exit 1
fi
KID=$(register "$PORT")
URL=https://localhost:$PORT
# all 300 records in batches of 1..25, each answer's receipt kept
"$PYTHON" - "$WORK/q.db" "$WORK/batches" <<'PYEOF'
import os, random, sqlite3, sys
db, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rows = [r[0] for r in sqlite3.connect(db).execute("select cose from records order by seq")]
i = n = 0
while i < len(rows):
    k = random.randint(1, 25)
    open("%s/%04d" % (out, n), "wb").write(b"".join(rows[i:i + k]))
    i += k
    n += 1
b = b"".join(rows)
open(out + "/../all.cbor", "wb").write(b)
PYEOF
: >"$WORK/receipts.txt"
acked=0
for f in "$WORK"/batches/*; do
	curl -sS --cacert "$P/ca.pem" --cert "$P/device.pem" --key "$P/device.key" \
		-H 'Content-Type: application/cbor-seq' --data-binary @"$f" "$URL/v1/records" >"$f.json"
	"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.stdout.write(d.get("receipt","")); print(len(d["accepted"]), file=sys.stderr)' \
		"$f.json" >>"$WORK/receipts.txt" 2>>"$WORK/acked"
done
check "300 records accepted in $(ls "$WORK"/batches | grep -vc json) batches" [ "$(awk '{ s += $1 } END { print s }' "$WORK/acked")" = 300 ]
"$PYTHON" "$ORACLE" receipts "$WORK/log.vkey" "$WORK/receipts.txt" "$WORK/all.cbor" --all \
	>"$WORK/ckpts" 2>"$WORK/oracle.err"
rc=$?
sed 's/^/# /' "$WORK/oracle.err"
check "every receipt: checkpoint signed by the ledger's key, every record's proof verifies" [ $rc -eq 0 ]

# the published checkpoint, and consistency from every receipt's to it
sleep 1.5
curl -sS --cacert "$P/ca.pem" "$URL/v1/checkpoint" >"$WORK/published"
pub=$("$PYTHON" - "$WORK/log.vkey" "$WORK/published" "$(dirname "$ORACLE")" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[3])
import rfc9162
size, root = rfc9162.open_note(open(sys.argv[2]).read(), rfc9162.parse_vkey(open(sys.argv[1]).read()))
print(size, root.hex())
PYEOF
)
echo "# published checkpoint: $pub"
check "GET /v1/checkpoint: signed by the ledger's key, size 300" [ "${pub%% *}" = 300 ]
bad=0 n=0
while read -r size root; do
	curl -sS --cacert "$P/ca.pem" -o "$WORK/cons" "$URL/v1/proof/consistency?first=$size&second=300"
	"$PYTHON" "$ORACLE" consistency "$size" 300 "$root" "${pub#* }" "$WORK/cons" || bad=$((bad + 1))
	n=$((n + 1))
done <"$WORK/ckpts"
check "consistency proofs from each of $n receipt checkpoints to the published one verify" [ $bad -eq 0 ]
# a forged old root is caught
read -r size root <"$WORK/ckpts"
curl -sS --cacert "$P/ca.pem" -o "$WORK/cons" "$URL/v1/proof/consistency?first=$size&second=300"
forged=$(printf '%064d' 0)
"$PYTHON" "$ORACLE" consistency "$size" 300 "$forged" "${pub#* }" "$WORK/cons" >/dev/null
check "the same proof for another old root fails" [ $? -ne 0 ]
# GET .../receipt: a receipt signed on demand for a range
curl -sS --cacert "$P/ca.pem" --cert "$P/device.pem" --key "$P/device.key" \
	-o "$WORK/range.txt" "$URL/v1/devices/$KID/receipt?from=17&to=280"
"$PYTHON" "$ORACLE" receipts "$WORK/log.vkey" "$WORK/range.txt" "$WORK/all.cbor" >/dev/null 2>"$WORK/range.err"
rc=$?
check "GET /v1/devices/KID/receipt?from=17&to=280 verifies ($(cat "$WORK/range.err"))" [ $rc -eq 0 ]
check "... and covers exactly seqs 17..280" [ "$(sed -n '3,$p' "$WORK/range.txt" | sed '/^$/,$d' | wc -l)" = 264 ]
stop_ledger "$LEDGER_PID"
finish
