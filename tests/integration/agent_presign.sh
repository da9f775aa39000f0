#!/bin/bash
# agent_presign.sh — eco2d applies a certifier's rules (crypto/rules.h)
# before it signs, against the chain's last record read back from the
# store after a restart:
#   - a drive whose clock is 20 minutes behind the previous record's end
#     (as after a wall clock stepped back between two trips) is signed
#     flagged clock_jump, and says so in the log;
#   - a drive whose odometer reads 350 km below the previous record's end
#     (an instrument cluster replaced) is signed flagged odo_rollback;
#   - the chain verifies: those records count, each with the warning that
#     its flag explains, and every record is format version 2 with the
#     software, profile hash and odometer step eco2d names.
. "$(dirname "$0")/agent/lib.sh"
make_key
T0=1767225600
"$B/eco2-sim" --cycle wltc_class3b --start $T0 --out "$W/1.log" > /dev/null
"$B/eco2-sim" --cycle nedc --start $((T0 + 600)) --odo-start-km 12400 --out "$W/2.log" > /dev/null
"$B/eco2-sim" --cycle nedc --start $((T0 + 10800)) --odo-start-km 12050 --out "$W/3.log" > /dev/null
write_conf "$W/a.conf" "$W/a.db"
for i in 1 2 3; do
	"$B/eco2d" -c "$W/a.conf" --replay "$W/$i.log" --exit-at-end 2> "$W/d$i.log"
	check "drive $i: eco2d exit 0" [ $? -eq 0 ]
done
check "drive 2 starts before drive 1 ended: flagged clock_jump, with the rule in the log" \
	grep -q 'record after seq 1: chain.time: starts .* flagged clock_jump' "$W/d2.log"
check "drive 3's odometer below drive 2's: flagged odo_rollback, with the rule in the log" \
	grep -q 'record after seq 2: chain.odo_back: odometer goes back .* flagged odo_rollback' "$W/d3.log"
check "nothing was refused" [ -z "$(grep -h 'NOT SIGNED' "$W"/d?.log)" ]
"$B/eco2ctl" -c "$W/a.conf" export > "$W/a.cbor" 2>/dev/null
"$B/eco2-verify" --pubkey "$W/dev.pub" --json "$W/a.cbor" > "$W/a.json"
check "the chain verifies" [ $? -eq 0 ]
prof=$("$PYTHON" -c '
import hashlib, sys
h = hashlib.sha256()
for p in sys.argv[1:]:
    b = open(p, "rb").read(); h.update(len(b).to_bytes(8, "big")); h.update(b)
print(h.hexdigest())' "$S/can/profiles/reference.profile" "$S/can/profiles/reference.dbc")
res=$("$PYTHON" - "$W/a.json" "$W/a.cbor" "$prof" <<'PY'
import io, json, sys, cbor2
j = json.load(open(sys.argv[1]))
rows = {r["seq"]: r for r in j["rows"]}
warn = sorted((w["seq"], w["code"]) for w in j["warnings"])
f = io.BytesIO(open(sys.argv[2], "rb").read()); ps = []
while f.tell() < len(f.getbuffer()):
    ps.append(cbor2.loads(cbor2.load(f).value[2]))
ok = (j["verified"] == 3 and "clock_jump" in rows[2]["flags"] and "odo_rollback" in rows[3]["flags"]
      and (2, "chain.time") in warn and (3, "chain.odo_back") in warn
      and all(p[0] == 2 and p[22].startswith("eco2d/") and p[23].hex() == sys.argv[3]
              and p[21] == 100 for p in ps))
print("yes" if ok else "no: %s %s %s" % ([r["flags"] for r in j["rows"]], warn, [(p[21], p[22]) for p in ps]))
PY
)
check "records 2 and 3 count with their flags and explained warnings; version 2, eco2d's software id, the reference profile's hash, a 100 m step ($res)" \
	[ "$res" = yes ]
finish
