#!/bin/bash
# ledger_receipts.sh — a certifier's checks with the ledger's receipts
# (eco2-verify --ledger-key --receipts [--ledger]) and witnessing
# (eco2-verify --cosign, --witness-key), against live ledgers:
#   - 30 records uploaded in 3 batches; the 3 receipts and the export
#     verify: every record proved, the checkpoints consistent by the
#     ledger's own proofs;
#   - the last record withheld from the export, then the last two: named;
#   - one hash of one proof changed: named;
#   - a fork: a second ledger with the same key that took another history
#     signs a receipt of the same size with another root (caught offline),
#     and one of another size (caught by the first ledger's consistency
#     proofs);
#   - a witness: its key made, the ledger's checkpoint cosigned after a
#     consistency check against the last one it cosigned, the cosignature
#     served by the ledger and required by --witness-key; a witness state
#     that the ledger's history does not extend is refused;
#   - the device's side (upload/ledger.c through upload-drive, the uploader
#     eco2d runs): with [ledger] receipt_key every record is marked only
#     with a receipt that proves it, and the receipt is kept in the store;
#     a ledger signing with another key, or answering without receipts,
#     gets nothing marked; eco2ctl export --receipts writes the records and
#     their receipts, which eco2-verify checks.
set -u
. "$(dirname "$0")/upload/lib.sh"
VERIFY=$ECO2_BUILD/eco2-verify
need_bins "$LEDGER" "$FILL" "$VERIFY"
command -v openssl >/dev/null || skip_all "openssl CLI missing"
command -v curl >/dev/null || skip_all "curl CLI missing"
"$UP/pki.sh" "$WORK/pki" ed25519 || { nok "test PKI"; finish; exit 1; }
P=$WORK/pki
openssl pkey -in "$P/device.key" -pubout -out "$P/device.pub" 2>/dev/null
"$FILL" --db "$WORK/q.db" --count 30 --key "file:$P/device.key" >/dev/null 2>&1
"$FILL" --db "$WORK/q2.db" --count 10 --key "file:$P/device2.key" >/dev/null 2>&1
"$VERIFY" --witness-keygen certifier.example/witness --witness-skey "$WORK/w.skey" >"$WORK/w.vkey"
check "--witness-keygen: a cosignature key (type 0x04), its file 0600" \
	grep -q '^certifier.example/witness+[0-9a-f]\{8\}+B' "$WORK/w.vkey" && [ "$(stat -c %a "$WORK/w.skey")" = 600 ]
slice() {  # slice DB FIRST LAST > FILE
	"$PYTHON" -c 'import sqlite3,sys; sys.stdout.buffer.write(b"".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("select cose from records where seq between ? and ? order by seq", (int(sys.argv[2]), int(sys.argv[3])))))' "$@"
}
post() {  # post PORT FILE CERT KEY: prints the receipt of the answer
	curl -sS --cacert "$P/ca.pem" --cert "$3" --key "$4" -H 'Content-Type: application/cbor-seq' \
		--data-binary @"$2" "https://localhost:$1/v1/records" |
		"$PYTHON" -c 'import json,sys; sys.stdout.write(json.load(sys.stdin).get("receipt",""))'
}
regdev() { curl -sS --cacert "$P/ca.pem" -H 'Content-Type: application/x-pem-file' --data-binary @"$2" \
	"https://localhost:$1/v1/devices" >/dev/null; }
for r in 1:10 11:20 21:30; do slice "$WORK/q.db" "${r%:*}" "${r#*:}" >"$WORK/b${r%:*}"; done
slice "$WORK/q2.db" 1 10 >"$WORK/other"

start_ledger a --checkpoint-interval 1 --witness "$(cat "$WORK/w.vkey")" || exit 1
A=$PORT
regdev "$A" "$P/device.pem"
for b in 1 11 21; do post "$A" "$WORK/b$b" "$P/device.pem" "$P/device.key" >"$WORK/r$b"; done
cat "$WORK/r1" "$WORK/r11" "$WORK/r21" >"$WORK/receipts"
KID=$(sed -n 's/^kid //p' "$WORK/r1")
curl -sS --cacert "$P/ca.pem" --cert "$P/device.pem" --key "$P/device.key" -o "$WORK/export" \
	"https://localhost:$A/v1/devices/$KID/records"
sleep 1.3
V=("$VERIFY" --pubkey "$P/device.pub" --ledger-key "$WORK/log.vkey" --ledger-ca "$P/ca.pem")
out=$("${V[@]}" --receipts "$WORK/receipts" --ledger "https://localhost:$A" "$WORK/export" 2>&1)
rc=$?
echo "$out" | grep receipts | sed 's/^/# /'
check "30 records, 3 receipts, checked with the ledger's proofs: verified" [ $rc -eq 0 ] && grep -q 'receipts: 30 records proved by 3 receipts' <<<"$out"
out=$("${V[@]}" --receipts "$WORK/receipts" "$WORK/export" 2>&1)
check "offline (no --ledger): verified, consistency said to be unchecked" [ $? -eq 0 ] && grep -q 'consistency not checked' <<<"$out"

# withheld records
"$PYTHON" -c 'import sys; d=open(sys.argv[1],"rb").read(); import cbor2,io; f=io.BytesIO(d); ends=[]
while f.tell() < len(d): cbor2.CBORDecoder(f).decode(); ends.append(f.tell())
open(sys.argv[2],"wb").write(d[:ends[-2]]); open(sys.argv[3],"wb").write(d[:ends[-3]])' \
	"$WORK/export" "$WORK/export-29" "$WORK/export-28"
out=$("${V[@]}" --receipts "$WORK/receipts" --ledger "https://localhost:$A" "$WORK/export-29" 2>&1)
rc=$?
echo "$out" | grep 'seq 30' | sed 's/^/# /'
check "the last record withheld: detected (exit $rc)" [ $rc -eq 1 ] && grep -q 'seq 30: the ledger holds it .* withheld' <<<"$out"
out=$("${V[@]}" --receipts "$WORK/receipts" "$WORK/export-28" 2>&1)
check "the last two withheld: both named" [ $? -eq 1 ] && grep -q 'seq 29: .*withheld' <<<"$out" && grep -q 'seq 30: .*withheld' <<<"$out"
# without the receipts, the same export verifies: the receipts are what tell
"$VERIFY" --pubkey "$P/device.pub" "$WORK/export-29" >/dev/null 2>&1
check "(without receipts the shortened export passes: they are what detect it)" [ $? -eq 0 ]

# a tampered proof
"$PYTHON" - "$WORK/receipts" "$WORK/tampered" <<'PYEOF'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
for i, l in enumerate(lines):
    f = l.split(" ")
    if len(f) > 3 and f[0] == "15":
        h = f[3]
        f[3] = ("B" if h[0] != "B" else "C") + h[1:]
        lines[i] = " ".join(f)
        break
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines))
PYEOF
out=$("${V[@]}" --receipts "$WORK/tampered" --ledger "https://localhost:$A" "$WORK/export" 2>&1)
rc=$?
echo "$out" | grep 'seq 15' | sed 's/^/# /'
check "one proof hash changed: detected (exit $rc)" [ $rc -eq 1 ] && grep -q 'seq 15: its inclusion proof does not lead' <<<"$out"

# forks: a second ledger, the same signing key, another history
start_ledger b --checkpoint-interval 1 || exit 1
B=$PORT
regdev "$B" "$P/device.pem"
regdev "$B" "$P/device2.pem"
post "$B" "$WORK/other" "$P/device2.pem" "$P/device2.key" >/dev/null
post "$B" "$WORK/b1" "$P/device.pem" "$P/device.key" >"$WORK/rb1"        # size 20
cat "$WORK/rb1" "$WORK/r11" "$WORK/r21" >"$WORK/forked-same"
out=$("${V[@]}" --receipts "$WORK/forked-same" "$WORK/export" 2>&1)
rc=$?
echo "$out" | grep -i 'fork\|history' | sed 's/^/# /'
check "a forked checkpoint of the same size: detected offline (exit $rc)" [ $rc -eq 1 ] && grep -q 'two checkpoints of size 20 with different roots' <<<"$out"
start_ledger c --checkpoint-interval 1 || exit 1
C=$PORT
regdev "$C" "$P/device.pem"
regdev "$C" "$P/device2.pem"
slice "$WORK/q2.db" 1 5 >"$WORK/other5"
post "$C" "$WORK/other5" "$P/device2.pem" "$P/device2.key" >/dev/null
post "$C" "$WORK/b1" "$P/device.pem" "$P/device.key" >"$WORK/rc1"        # size 15
cat "$WORK/rc1" "$WORK/r11" "$WORK/r21" >"$WORK/forked-other"
out=$("${V[@]}" --receipts "$WORK/forked-other" "$WORK/export" 2>&1)
check "a forked checkpoint of another size: not caught offline" [ $? -eq 0 ]
out=$("${V[@]}" --receipts "$WORK/forked-other" --ledger "https://localhost:$A" "$WORK/export" 2>&1)
rc=$?
echo "$out" | grep -i 'history' | sed 's/^/# /'
check "... caught with the ledger's consistency proofs (exit $rc)" [ $rc -eq 1 ] && grep -q 'sizes 15 and 20 are not consistent' <<<"$out"

# witnessing
W=("$VERIFY" --ledger "https://localhost:$A" --ledger-ca "$P/ca.pem" --ledger-key "$WORK/log.vkey"
   --witness-skey "$WORK/w.skey" --witness-state "$WORK/w.state")
out=$("${W[@]}" --cosign 2>&1)
rc=$?
check "--cosign: the ledger's checkpoint cosigned (exit $rc)" [ $rc -eq 0 ] && grep -q '^— certifier.example/witness ' <<<"$out"
check "the witness state holds the cosigned checkpoint" [ "$(sed -n 2p "$WORK/w.state")" = 30 ]
curl -sS --cacert "$P/ca.pem" "https://localhost:$A/v1/checkpoint" >"$WORK/published"
check "the ledger serves the cosignature with its checkpoint" grep -q '^— certifier.example/witness ' "$WORK/published"
out=$("${V[@]}" --receipts "$WORK/receipts" --ledger "https://localhost:$A" --witness-key "$WORK/w.vkey" "$WORK/export" 2>&1)
check "--witness-key: the published checkpoint is cosigned, everything consistent with it" [ $? -eq 0 ] && grep -q 'witnessed' <<<"$out"
"$VERIFY" --witness-keygen other.example/w --witness-skey "$WORK/w2.skey" >"$WORK/w2.vkey"
out=$("${V[@]}" --receipts "$WORK/receipts" --ledger "https://localhost:$A" --witness-key "$WORK/w2.vkey" "$WORK/export" 2>&1)
check "a witness that did not cosign: named" [ $? -eq 1 ] && grep -q 'not cosigned by witness other.example/w' <<<"$out"
# more records, a second cosignature after a consistency check
regdev "$A" "$P/device2.pem"
post "$A" "$WORK/other" "$P/device2.pem" "$P/device2.key" >/dev/null
sleep 1.3
out=$("${W[@]}" --cosign 2>&1)
check "a second cosignature after the tree grew (consistent from 30 to 40)" [ $? -eq 0 ] && [ "$(sed -n 2p "$WORK/w.state")" = 40 ]
# a witness whose last checkpoint is ledger C's history: refused
curl -sS --cacert "$P/ca.pem" "https://localhost:$C/v1/checkpoint" >"$WORK/c-ckpt"
sleep 1.2
curl -sS --cacert "$P/ca.pem" "https://localhost:$C/v1/checkpoint" | sed '/^$/,$d' >"$WORK/w.state"
out=$("${W[@]}" --cosign 2>&1)
rc=$?
echo "$out" | sed 's/^/# /' | head -n 2
check "a checkpoint that does not extend the witnessed one: refused, not cosigned (exit $rc)" [ $rc -eq 1 ] && grep -q 'INCONSISTENT' <<<"$out"

# the device's side
DRIVE_ARGS=(--ca "$P/ca.pem" --cert "$P/device.pem" --key "$P/device.key" --batch-records 7
	--backoff-base-ms 100 --backoff-max-s 1)
"$FILL" --db "$WORK/dev.db" --count 40 --key "file:$P/device.key" >/dev/null 2>&1
cp "$WORK/dev.db" "$WORK/dev-wrong.db"
cp "$WORK/dev.db" "$WORK/dev-nokey.db"
start_ledger d --checkpoint-interval 1 || exit 1
D=$PORT
regdev "$D" "$P/device.pem"
out=$("$DRIVE" --db "$WORK/dev.db" --url "https://localhost:$D" "${DRIVE_ARGS[@]}" \
	--receipt-key "$(cat "$WORK/log.vkey")" --max-seconds 30 2>&1)
echo "$out" | grep '^upload-drive: acked' | sed 's/^/# /'
check "receipt_key: 40 records uploaded, each proved by a receipt" [ "$(uploaded "$WORK/dev.db")" = 40 ]
check "... 6 receipts kept in the store" [ "$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from receipts").fetchone()[0])' "$WORK/dev.db")" = 6 ]
"$ECO2_BUILD/eco2-ledger" --keygen other.example/log --log-key "$WORK/other.key" >"$WORK/other.vkey"
out=$("$DRIVE" --db "$WORK/dev-wrong.db" --url "https://localhost:$D" "${DRIVE_ARGS[@]}" \
	--receipt-key "$WORK/other.vkey" --max-seconds 3 --max-failures 3 2>&1)
check "a receipt_key the ledger does not sign with: nothing marked" [ "$(uploaded "$WORK/dev-wrong.db")" = 0 ] && grep -q 'receipt refused' <<<"$out"
out=$("$DRIVE" --db "$WORK/dev-nokey.db" --url "https://localhost:$D" "${DRIVE_ARGS[@]}" --max-seconds 30 2>&1)
check "without receipt_key: uploaded on the ledger's word, with a warning" [ "$(uploaded "$WORK/dev-nokey.db")" = 40 ] && grep -q 'receipt_key is not set' <<<"$out"
# eco2ctl export --receipts, as a certifier receives it
cat >"$WORK/eco2d.conf" <<EOC
[can]
profile = $ECO2_SRC/can/profiles/reference.profile
[key]
uri = file:$P/device.key
[store]
path = $WORK/dev.db
[ledger]
enabled = false
EOC
"$ECO2_BUILD/eco2ctl" -c "$WORK/eco2d.conf" export --receipts "$WORK/exported-receipts" >"$WORK/exported.cbor" 2>"$WORK/export.err"
check "eco2ctl export --receipts: the records and their receipts ($(cat "$WORK/export.err"))" [ -s "$WORK/exported-receipts" ]
out=$("${V[@]}" --receipts "$WORK/exported-receipts" --ledger "https://localhost:$D" "$WORK/exported.cbor" 2>&1)
rc=$?
echo "$out" | grep receipts | sed 's/^/# /'
check "eco2-verify checks the exported pair: 40 records proved" [ $rc -eq 0 ] && grep -q 'receipts: 40 records proved by 6 receipts' <<<"$out"
"$PYTHON" "$ECO2_SRC/tests/integration/ledger/rfc9162.py" receipts "$WORK/log.vkey" "$WORK/exported-receipts" \
	"$WORK/exported.cbor" --all >/dev/null 2>"$WORK/oracle.err"
rc=$?
check "... and so does the independent implementation ($(cat "$WORK/oracle.err"))" [ $rc -eq 0 ]
finish
