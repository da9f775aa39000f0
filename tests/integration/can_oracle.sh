#!/bin/bash
# can_oracle — an independent decoder as the judge: random candump logs for
# two DBCs (the corpus's motohawk.dbc and the Motorola-heavy one below:
# byte-crossing Motorola fields, signed, negative factor, 64-bit, float,
# multiplexed, an extended id) are decoded by `eco2ctl decode --json` and by
# Debian's python3-canmatrix. Both must report the same frames, the same
# signals and the same physical values: exactly where scaling is integral,
# else to the last bits of a double (canmatrix computes in Decimal).
set -u
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$src/build}
py=${PYTHON:-/usr/bin/python3}
ctl=$build/eco2ctl
[ -x "$ctl" ] || { echo "eco2ctl not built in $build"; exit 77; }
"$py" -c 'import canmatrix.formats' 2>/dev/null || { echo "python3-canmatrix not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/moto_heavy.dbc" <<'DBC'
VERSION ""

NS_ :
	CM_
	SIG_VALTYPE_

BS_:

BU_: ECU

BO_ 291 MotoMix: 8 ECU
 SG_ M12 : 3|12@0+ (0.25,-40) [0|0] "degC" ECU
 SG_ S10 : 21|10@0- (0.5,0) [0|0] "A" ECU
 SG_ U20 : 39|20@0+ (0.001,0) [0|0] "V" ECU
 SG_ B1 : 49|1@0+ (1,0) [0|0] "" ECU
 SG_ S7 : 62|7@0- (-2,100) [0|0] "" ECU

BO_ 1234 Moto64: 8 ECU
 SG_ Big : 7|64@0+ (1,0) [0|0] "" ECU

BO_ 2566844926 ExtMoto: 8 ECU
 SG_ Speed : 15|16@0+ (0.00390625,0) [0|0] "km/h" ECU
 SG_ Signed24 : 31|24@0- (0.1,-5) [0|0] "" ECU
 SG_ Low : 56|8@1+ (1,0) [0|0] "" ECU

BO_ 1000 MuxMoto: 8 ECU
 SG_ Sel M : 7|4@0+ (1,0) [0|0] "" ECU
 SG_ A m0 : 3|12@0+ (0.1,0) [0|0] "" ECU
 SG_ B m1 : 3|12@0- (1,0) [0|0] "" ECU
 SG_ C m2 : 23|16@0+ (0.01,0) [0|0] "" ECU
 SG_ Always : 63|8@0+ (1,0) [0|0] "" ECU

BO_ 1500 Floats: 8 ECU
 SG_ F : 7|32@0- (1,0) [0|0] "" ECU
 SG_ G : 32|32@1- (0.5,1) [0|0] "" ECU

SIG_VALTYPE_ 1500 F : 1;
SIG_VALTYPE_ 1500 G : 1;
DBC

n=0 fail=0
for dbc in "$src/tests/data/dbc-corpus/motohawk.dbc" "$work/moto_heavy.dbc"; do
	name=$(basename "$dbc" .dbc)
	log=$work/$name.log
	n=$((n + 1))
	"$py" - "$dbc" "$log" <<'PY' 2>"$work/gen.err"
import random, struct, sys
import canmatrix.formats
db = canmatrix.formats.loadp_flat(sys.argv[1])
rnd = random.Random(20240601)
lines = []
t = 1700000000_000000
for i in range(3000):
    t += rnd.randrange(1, 5000)
    ts = "(%d.%06d) can0 " % (t // 1000000, t % 1000000)
    k = rnd.random()
    if k < 0.05:    # an id nobody defined: prints nothing
        lines.append(ts + "7EE#" + "%016X" % rnd.getrandbits(64))
        continue
    f = rnd.choice(db.frames)
    ext = f.arbitration_id.extended
    ident = ("%08X" if ext else "%03X") % f.arbitration_id.id
    if k < 0.08:    # remote frame: prints nothing
        lines.append(ts + ident + "#R")
        continue
    data = bytes(rnd.getrandbits(8) for _ in range(f.size))
    if k < 0.3:     # multiplexer values that select something
        data = bytes([rnd.randrange(0, 3) << 4 | (data[0] & 15)]) + data[1:]
    lines.append(ts + ident + "#" + data.hex().upper())
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
	if ! "$ctl" decode --dbc "$dbc" --json "$log" >"$work/out" 2>"$work/err"; then
		echo "not ok $n - $name: eco2ctl decode failed"; sed 's/^/# /' "$work/err"; fail=1
		continue
	fi
	if "$py" - "$dbc" "$log" "$work/out" <<'PY' >"$work/cmp" 2>&1
import json, math, sys
from decimal import Decimal
import canmatrix, canmatrix.formats
db = canmatrix.formats.loadp_flat(sys.argv[1])
ours = [json.loads(l) for l in open(sys.argv[3])]
ref = []
for line in open(sys.argv[2]):
    ts, iface, frame = line.split()
    ident, data = frame.split("#", 1)
    if data.startswith("R"):
        continue
    f = db.frame_by_id(canmatrix.ArbitrationId(int(ident, 16), extended=len(ident) == 8))
    if f is None:
        continue
    dec = f.decode(bytes.fromhex(data))
    if dec:
        ref.append((float(ts.strip("()")), f, dec))
bad = exact = close = 0
def report(msg):
    global bad
    bad += 1
    if bad <= 8:
        print(msg)
if len(ours) != len(ref):
    report("frames: eco2ctl %d, canmatrix %d" % (len(ours), len(ref)))
for o, (t, f, dec) in zip(ours, ref):
    if o["id"] != f.arbitration_id.id or o["name"] != f.name or abs(o["t"] - t) > 1e-7:
        report("frame %s/%s at %s, canmatrix %s/%s at %s" % (o["id"], o["name"], o["t"], f.arbitration_id.id, f.name, t))
        continue
    if set(o["signals"]) != set(dec):
        report("%s at %s: signals %s, canmatrix %s" % (f.name, t, sorted(o["signals"]), sorted(dec)))
        continue
    for name, d in dec.items():
        s = d.signal
        want = d.phys_value
        got = o["signals"][name]
        if got is None or not want.is_finite():
            if not (got is None and not want.is_finite()):
                report("%s.%s = %r, canmatrix %s" % (f.name, name, got, want))
            continue
        if s.factor == s.factor.to_integral_value() and s.offset == s.offset.to_integral_value() and not s.is_float:
            if Decimal(got) != want:
                report("%s.%s = %r, canmatrix %s (integral scaling must be exact)" % (f.name, name, got, want))
            else:
                exact += 1
            continue
        # one rounding of raw * factor and one of + offset, in binary64
        scale = abs(Decimal(d.raw_value) * s.factor) + abs(s.offset) if not s.is_float else abs(want) + abs(s.offset)
        tol = float(scale) * 2.0 ** -51
        if abs(Decimal(got) - want) > Decimal(tol):
            report("%s.%s = %r, canmatrix %s (raw %s)" % (f.name, name, got, want, d.raw_value))
        elif Decimal(got) == want:
            exact += 1
        else:
            close += 1
print("%d frames, %d values exact, %d equal to the last double bits, %d mismatches" % (len(ref), exact, close, bad))
sys.exit(1 if bad else 0)
PY
	then
		echo "ok $n - $name vs canmatrix: $(tail -n 1 "$work/cmp")"
	else
		echo "not ok $n - $name vs canmatrix"; sed 's/^/# /' "$work/cmp"; fail=1
	fi
done
echo "1..$n"
exit $fail
