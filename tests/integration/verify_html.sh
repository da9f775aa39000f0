#!/bin/bash
# verify_html.sh — eco2-verify --html, rendered in a real headless Chromium:
#   - the page stands alone: no script, no reference to any other resource,
#     a Content-Security-Policy that forbids every fetch;
#   - Chromium's DOM (--dump-dom) holds the verdict first, the daily bar
#     chart (two bars a day for the four days the records span), one point
#     per verified trip in the energy chart, every record in the table, the
#     failed and flagged records with their reasons, the flag meanings, the
#     parameters against the approved ones and the certificate;
#   - its screenshot shows the verdict's colour (red, or green for a file
#     that verifies) and the charts' colours: the styles and the inline SVG
#     were rendered;
#   - --progress writes progress lines on stderr.
# The expectations come from how the records were made (eco2-rec-gen: seq
# s starts at 2026-01-01 + 2 s hours; every third a charging session), not
# from eco2-verify's other outputs.
set -u
# shellcheck source=tests/integration/lib/records.sh
. "$(dirname "$0")/lib/records.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "1..0 # SKIP chromium not installed (Debian package chromium)"; exit 77; }
records_scratch

mkkey dev p256
mkkey ca p256
openssl req -x509 -new -key "$tmp/ca.key" -subj "/CN=maker root" -days 36500 -out "$tmp/ca.pem" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -new -key "$tmp/dev.key" -subj "/CN=vehicle 42" -out "$tmp/dev.csr" 2>/dev/null
cat >"$tmp/ext" <<'EOF'
keyUsage=critical,digitalSignature
EOF
# valid from 2025 on: the CLI's -days starts now, so sign with explicit dates
openssl x509 -req -in "$tmp/dev.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
	-extfile "$tmp/ext" -days 36500 -out "$tmp/dev.pem" 2>/dev/null
cat >"$tmp/approved.params" <<'EOF'
[period 2025-01-01 2027-01-01]
method = eco2-ev-v1
baseline_mg_per_km = 169056
grid_mg_per_kwh = 530600
charge_eff_permille = 900
td_loss_permille = 50
software = eco2-rec-gen/1
EOF
# 40 records over 2026-01-01..04; seq 7 (a trip) one gram off; seq 10 stuck
# odometer with 500 m more than it shows (a warning)
"$gen" --key "file:$tmp/dev.key" --count 40 --vin WVWZZZ1JZXW000042 --set 7:co2_g+=1 \
	--set 10:flags=4 --set 10:distance_m+=500 -o "$tmp/r.cbor" 2>/dev/null
"$gen" --key "file:$tmp/dev.key" --count 12 -o "$tmp/good.cbor" 2>/dev/null

# The certificate's validity is checked --at now: the records predate it.
"$ver" --cert "$tmp/dev.pem" --ca "$tmp/ca.pem" --at now --require-params "$tmp/approved.params" \
	--html "$tmp/r.html" --progress "$tmp/r.cbor" >"$tmp/r.txt" 2>"$tmp/r.err"
rc=$?
check "eco2-verify --html: exit $rc (1: seq 7 fails), page written" [ $rc -eq 1 -a -s "$tmp/r.html" ]
"$ver" --json --cert "$tmp/dev.pem" --ca "$tmp/ca.pem" --at now --require-params "$tmp/approved.params" \
	--tz Europe/Berlin "$tmp/r.cbor" >"$tmp/r.json" 2>/dev/null
res=$("$PYTHON" -c '
import json, sys
j = json.load(open(sys.argv[1]))
try:
    import jsonschema
except ImportError:
    print("skip"); sys.exit()
jsonschema.Draft202012Validator(json.load(open(sys.argv[2]))).validate(j)
print("yes" if j["certificate"]["ok"] and j["approved_parameters"]["periods"] and j["tz"] == "Europe/Berlin" else "no")
' "$tmp/r.json" "$ECO2_SRC/docs/verify-report.schema.json" 2>&1 | tail -n 1)
check "the same as JSON, with the certificate, approved parameters and a zone, validates against the schema ($res)" \
	[ "$res" = yes -o "$res" = skip ]
check "--progress: progress lines on stderr" grep -q '^eco2-verify: verifying, bytes: [0-9]* of [0-9]* (100%)' "$tmp/r.err"
"$ver" --pubkey "$tmp/dev.pub" --html "$tmp/good.html" "$tmp/good.cbor" >/dev/null 2>&1
check "a file that verifies: exit 0, page written" [ $? -eq 0 -a -s "$tmp/good.html" ]

# ---- self-contained ----
check "no script, no src=, no href=, no url(), no @import; a CSP that forbids fetches" "$PYTHON" -c '
import re, sys
h = open(sys.argv[1]).read()
bad = re.search(r"<script|\ssrc=|\shref=|url\(|@import|<link|<iframe|<object|<embed", h, re.I)
csp = "Content-Security-Policy\" content=\"default-src '"'"'none'"'"'" in h
sys.exit(0 if not bad and csp else 1)' "$tmp/r.html"

chrome() {   # chrome ARGS... FILE: one headless run with a fresh profile
	rm -rf "$tmp/profile"
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --hide-scrollbars \
		--host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$tmp/profile" "$@"
}

# ---- the DOM as Chromium built it ----
chrome --dump-dom "file://$tmp/r.html" >"$tmp/dom.html" 2>"$tmp/chrome.err"
check "Chromium loads the page and dumps its DOM" [ -s "$tmp/dom.html" ]
cat >"$tmp/dom.py" <<'EOF'
import re, sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.els = []
    def handle_starttag(self, tag, attrs, empty=False):
        e = {"tag": tag, "attrs": dict(attrs), "text": "", "parents": [x["id"] for x in self.stack]}
        e["id"] = len(self.els); self.els.append(e)
        if not empty and tag not in ("br", "meta", "img", "input", "hr", "link"):
            self.stack.append(e)
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs, True)
    def handle_endtag(self, tag):
        while self.stack:
            e = self.stack.pop()
            if e["tag"] == tag:
                break
    def handle_data(self, d):
        for e in self.stack:
            e["text"] += d + " "      # cells apart

p = P(); p.feed(open(sys.argv[1]).read())
els = p.els
byid = {e["attrs"]["id"]: e for e in els if "id" in e["attrs"]}
def inside(e, anc):
    return anc["id"] in e["parents"]
fails = []
def need(cond, what):
    if not cond:
        fails.append(what)

body = next(e for e in els if e["tag"] == "body")
first = next(e for e in els if e["parents"] and e["parents"][-1] == body["id"])
need(first["attrs"].get("id") == "verdict" and first["attrs"].get("class") == "fail", "verdict first, failed")
need(byid["verdict-text"]["text"].strip() == "Failed", "the verdict says Failed")
need("1 problem found; 39 of 40 records" in byid["verdict"]["text"], "the verdict counts 39 of 40")
rects = [e for e in els if e["tag"] == "rect" and inside(e, byid["chart-daily"])]
need(len(rects) == 8, "8 bars (km and kg CO2 for 4 days), got %d" % len(rects))
days = [e for e in els if e["tag"] == "tr" and inside(e, byid["days"])][1:]
need([re.match(r"\s*(\S+)", d["text"]).group(1) for d in days] ==
     ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"], "the four days in the table")
path = [e for e in els if e["tag"] == "path" and inside(e, byid["chart-energy"])]
need(len(path) == 1 and path[0]["attrs"]["d"].count("M") == 26, "26 trip points (27 trips, 1 failed)")
rows = [e for e in els if e["tag"] == "tr" and inside(e, byid["record-table"])]
need(len(rows) == 41, "40 records in the table (and its header), got %d" % (len(rows) - 1))
failed = [r for r in rows if r["attrs"].get("class") == "failed"]
need(len(failed) == 1 and re.match(r"\s*7\s", failed[0]["text"]), "seq 7 marked failed")
flagged = byid["flagged-records"]["text"]
need("co2: co2_g" in flagged and "does not follow" in flagged, "seq 7's reason listed")
need("odo.distance_over" in flagged and "explained by odo_stuck" in flagged, "seq 10's warning listed")
need("stretch is measured by speed" in byid["flag-meanings"]["text"], "odo_stuck's meaning")
need("the energy of the gap is missing" in byid["flag-meanings"]["text"], "data_gap's meaning")
need(re.search(r"169056\s*530600\s*900\s*50\s*40\s*1 to 40\s*yes", byid["parameters"]["text"]) is not None,
     "the parameters used, approved")
need("eco2-rec-gen/1" in byid["parameters"]["text"], "the software named")
need("chains to the CA" in byid["cert-verdict"]["text"] and "vehicle 42" in byid["key"]["text"],
     "the certificate's details")
need("WVWZZZ1JZXW000042" in byid["vehicles"]["text"], "the vehicle's VIN")
print("; ".join(fails) if fails else "yes")
EOF
res=$("$PYTHON" "$tmp/dom.py" "$tmp/dom.html" 2>&1)
check "the DOM holds the verdict first, both charts, every record, the flagged ones, parameters and certificate ($res)" \
	[ "$res" = yes ]

# ---- the rendering ----
cat >"$tmp/png.py" <<'EOF'
# png.py FILE R,G,B[/R,G,B...]: the share of pixels near each colour, and
# the colour at the verdict banner (x 300, y 40). A PNG reader (8-bit RGB
# or RGBA, not interlaced) from the PNG specification's filter algorithm.
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(d):
    n, t = struct.unpack(">I4s", d[pos:pos + 8])
    c = d[pos + 8:pos + 8 + n]
    if t == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", c)
    elif t == b"IDAT":
        idat += c
    pos += 12 + n
assert depth == 8 and ctype in (2, 6) and not interlace
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
rows, prev, i = [], bytearray(stride), 0
for y in range(h):
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
def px(x, y):
    return tuple(rows[y][x * bpp:x * bpp + 3])
out = ["%dx%d" % (w, h), "banner=%02x%02x%02x" % px(300, 40)]
for spec in sys.argv[2].split("/"):
    want = tuple(int(v) for v in spec.split(","))
    n = sum(1 for y in range(0, h, 2) for x in range(0, w, 2)
            if all(abs(p - q) < 12 for p, q in zip(px(x, y), want)))
    out.append("%s:%d" % (spec, n))
print(" ".join(out))
EOF
chrome --window-size=1200,1400 --screenshot="$tmp/r.png" "file://$tmp/r.html" >/dev/null 2>>"$tmp/chrome.err"
shot=$("$PYTHON" "$tmp/png.py" "$tmp/r.png" "47,109,179/46,139,87" 2>&1)
# red banner (#b3261e), blue km bars (#2f6db3) and green CO2 bars (#2e8b57)
check "the screenshot: 1200x1400, the banner red, both charts' bars drawn ($shot)" "$PYTHON" -c '
import re, sys
m = re.match(r"1200x1400 banner=(\w+) 47,109,179:(\d+) 46,139,87:(\d+)$", sys.argv[1])
sys.exit(0 if m and m.group(1) == "b3261e" and int(m.group(2)) > 500 and int(m.group(3)) > 500 else 1)' "$shot"
chrome --window-size=1200,600 --screenshot="$tmp/good.png" "file://$tmp/good.html" >/dev/null 2>>"$tmp/chrome.err"
shot=$("$PYTHON" "$tmp/png.py" "$tmp/good.png" "29,122,54" 2>&1)
check "a file that verifies: the banner green ($shot)" "$PYTHON" -c '
import re, sys
m = re.match(r"1200x600 banner=(\w+) ", sys.argv[1])
sys.exit(0 if m and m.group(1) == "1d7a36" else 1)' "$shot"
echo "1..$n"
[ $failed -eq 0 ]
