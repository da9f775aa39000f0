#!/bin/bash
# can_exact — every value `eco2ctl decode --json` prints over the DBC
# corpus (tests/data/dbc-corpus: the .dbc, its .log) is the exact decimal
# value of raw x factor + offset, checked with Python's decimal arithmetic:
#   - the raw value comes from the log's payload through a bit extractor
#     written here from the DBC's SG_ lines (start, length, byte order,
#     sign), and factor and offset are the SG_ line's text as written;
#   - an integer signal's printed text, read as a Decimal, equals
#     Decimal(raw) * Decimal(factor) + Decimal(offset) exactly, and is the
#     shortest such text (no trailing zero after a decimal point, no "-0");
#   - an IEEE float or double signal prints the shortest text that reads
#     back as the double (float)raw * factor + offset;
#   - read back as a double, every value is within 1e-12 of the double
#     arithmetic eco2ctl printed before (raw * factor + offset in binary64),
#     relative to |raw * factor| + |offset|: where the two terms cancel,
#     the double arithmetic is the one that is off.
# The frames and signals themselves are can_corpus.sh's business.
set -u
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$src/build}
py=${PYTHON:-/usr/bin/python3}
ctl=$build/eco2ctl
dir=$src/tests/data/dbc-corpus
[ -x "$ctl" ] || { echo "eco2ctl not built in $build"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

n=0 fail=0
for dbc in "$dir"/*.dbc; do
	name=$(basename "$dbc" .dbc)
	[ -f "$dir/$name.log" ] || continue
	n=$((n + 1))
	if ! "$ctl" decode --dbc "$dbc" --json "$dir/$name.log" >"$work/out" 2>"$work/err"; then
		echo "not ok $n - $name: eco2ctl decode failed"; sed 's/^/# /' "$work/err" | head; fail=1
		continue
	fi
	if "$py" - "$dbc" "$dir/$name.log" "$work/out" <<'PY' >"$work/cmp" 2>&1
import json, re, struct, sys
from decimal import Decimal, getcontext
getcontext().prec = 200   # exact for anything a 64-bit raw and these factors make

dbc_path, log_path, out_path = sys.argv[1:4]
text = open(dbc_path, encoding="latin-1").read()
msgs = {}   # (id, ext) -> {signal: (start, length, intel, signed, factor text, offset text)}
cur = None
for line in text.splitlines():
    m = re.match(r"^BO_ (\d+) (\w+)\s*:", line)
    if m:
        raw_id = int(m.group(1))
        ext = bool(raw_id & 0x80000000) or (raw_id & 0x7FFFFFFF) > 0x7FF
        cur = msgs.setdefault((raw_id & 0x1FFFFFFF, ext), {})
        continue
    m = re.match(r"^\s+SG_ (\w+)\s*(\w*)\s*:\s*(\d+)\|(\d+)@([01])([+-])\s*\(([^,]+),([^)]+)\)", line)
    if m and cur is not None:
        cur[m.group(1)] = [int(m.group(3)), int(m.group(4)), m.group(5) == "1", m.group(6) == "-",
                           m.group(7).strip(), m.group(8).strip(), 0]
for m in re.finditer(r"SIG_VALTYPE_ (\d+) (\w+)\s*:\s*(\d)\s*;", text):
    raw_id = int(m.group(1))
    ext = bool(raw_id & 0x80000000) or (raw_id & 0x7FFFFFFF) > 0x7FF
    msgs[(raw_id & 0x1FFFFFFF, ext)][m.group(2)][6] = int(m.group(3))

def extract(data, start, length, intel):
    if intel:
        return (int.from_bytes(data, "little") >> start) & ((1 << length) - 1)
    # Motorola: start is the MSB in sawtooth numbering; big-endian linear bits
    msb = start // 8 * 8 + 7 - start % 8
    total = len(data) * 8
    return (int.from_bytes(data, "big") >> (total - msb - length)) & ((1 << length) - 1)

frames = []
for line in open(log_path):
    ts, iface, frame = line.split()
    ident, data = frame.split("##" if "##" in frame else "#", 1)
    if "##" in frame:
        data = data[1:]   # the CAN FD flags nibble
    frames.append((Decimal(ts[1:-1]), int(ident, 16), len(ident) == 8, bytes.fromhex(data)))

bad = exact = floats = cancel = 0
worst = 0.0
def report(msg):
    global bad
    bad += 1
    if bad <= 8:
        print(msg)

fi = 0
for line in open(out_path):
    o = json.loads(line, parse_float=lambda s: s, parse_int=lambda s: s)   # numbers as their text
    t = Decimal(o["t"])
    while fi < len(frames) and not (frames[fi][0] == t and frames[fi][1] == int(o["id"])):
        fi += 1
    if fi == len(frames):
        report("no log frame for %s" % line.strip())
        break
    _, ident, ext, data = frames[fi]
    sigs = msgs[(ident, ext)]
    for name, txt in o["signals"].items():
        start, length, intel, signed, ftxt, otxt, vt = sigs[name]
        raw = extract(data, start, length, intel)
        fac, off = Decimal(ftxt), Decimal(otxt)
        if vt:
            b = raw.to_bytes(vt * 4, "little")
            x = struct.unpack("<f" if vt == 1 else "<d", b)[0]
            want = x * float(ftxt) + float(otxt)
            floats += 1
            if txt != "null" and (float(txt) != want or len(txt) > len(repr(want)) + 1):
                report("%s = %s, expected the shortest text of %r" % (name, txt, want))
            continue
        r = raw - (1 << length) if signed and raw >> (length - 1) else raw
        want = Decimal(r) * fac + off
        got = Decimal(txt)
        if got != want:
            report("%s raw %d (%s,%s) = %s, exactly %s" % (name, r, ftxt, otxt, txt, want))
            continue
        if ("." in txt and txt.endswith("0")) or txt == "-0" or "e" in txt.lower():
            report("%s = %s: not the shortest exact text" % (name, txt))
            continue
        exact += 1
        # the double arithmetic of before: one rounding of raw, of the product, of the sum
        dbl = float(r) * float(ftxt) + float(otxt)
        scale = abs(float(r) * float(ftxt)) + abs(float(otxt))
        rel = abs(float(txt) - dbl) / scale if scale else abs(float(txt) - dbl)
        worst = max(worst, rel)
        if rel > 1e-12:
            report("%s = %s vs the double %r: %.3g of |raw x factor| + |offset|" % (name, txt, dbl, rel))
        if dbl != 0 and abs(float(txt) - dbl) > 1e-12 * abs(dbl):
            cancel += 1
print("%d exact, %d IEEE shortest, %d mismatches; vs the double: at most %.2g relative to the terms "
      "(%d values where they cancel, beyond 1e-12 of the double itself)" % (exact, floats, bad, worst, cancel))
sys.exit(1 if bad else 0)
PY
	then
		echo "ok $n - $name: $(tail -n 1 "$work/cmp")"
	else
		echo "not ok $n - $name"; sed 's/^/# /' "$work/cmp"; fail=1
	fi
done
echo "1..$n"
exit $fail
