#!/bin/bash
# agent_e2e.sh — the demo's pipeline as a test: SoftHSM2 device key, test
# CA, eco2-ledger over mutual TLS, WLTC + park + NEDC from eco2-sim, eco2d,
# records fetched back and verified by eco2-verify --cert --ca; the demo
# itself compares the verified totals with the simulator's truth (0.2 %
# distance, 0.5 % energy) and fails otherwise. Here: its exit status, its
# summary line, and that the line's figures are the verifier's.
. "$(dirname "$0")/agent/lib.sh"
[ -x "$B/eco2-ledger" ] || skip_all "eco2-ledger not built (CONFIG_LEDGER_SERVER)"
command -v softhsm2-util >/dev/null || skip_all "softhsm2 not installed"

KEEP=1 ECO2_BUILD=$B "$S/scripts/demo.sh" > "$W/demo.out" 2>&1
rc=$?
check "demo exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$W/demo.out" | tail -n 30
last=$(grep '^demo: [0-9]' "$W/demo.out" | tail -n 1)
dir=$(sed -n 's/^demo: kept //p' "$W/demo.out")
check "summary line: $last" \
	grep -qE '^demo: 2 trips, [0-9]+\.[0-9]+ km, [0-9]+\.[0-9]+ kWh, [0-9]+\.[0-9]+ kg CO2 avoided, all verified$' <<<"$last"
# The figures come from eco2-verify's JSON over what the ledger returned.
if [ -n "$dir" ] && [ -f "$dir/verify.json" ]; then
	want=$("$PYTHON" -c 'import json,sys; v=json.load(open(sys.argv[1])); print("%d trips, %.3f km, %.3f kWh, %.3f kg" % (v["trips"], v["distance_km"], v["energy_kwh"], v["co2_kg"]))' "$dir/verify.json")
	check "summary matches the verifier's totals ($want)" grep -qF "$want" <<<"$(sed 's/ CO2 avoided.*//' <<<"$last")"
	n=$("$PYTHON" -c 'import cbor2,io,sys; b=open(sys.argv[1],"rb").read(); f=io.BytesIO(b); n=0
while f.tell()<len(b): cbor2.load(f); n+=1
print(n)' "$dir/fetched.cbor")
	check "the ledger returned 2 records" [ "$n" = 2 ]
	rm -rf "$dir"
else
	nok "the demo kept its folder"
fi
finish
