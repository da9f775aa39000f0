#!/bin/bash
# can_corpus — conformance corpus: every NAME.dbc in tests/data/dbc-corpus
# loads, and `eco2ctl decode --json NAME.log` yields exactly the lines of
# NAME.expected.jsonl (reference decodes; numbers compared with a relative
# tolerance of 1e-9, names and signal sets exactly). See the corpus README.
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
	n=$((n + 1))
	if [ ! -f "$dir/$name.log" ]; then
		# no log: the file must load (an empty log decodes to nothing)
		if "$ctl" decode --dbc "$dbc" --json /dev/null >"$work/out" 2>"$work/err" && [ ! -s "$work/err" ]; then
			echo "ok $n - $name.dbc loads"
		else
			echo "not ok $n - $name.dbc loads"; sed 's/^/# /' "$work/err"; fail=1
		fi
		continue
	fi
	if ! "$ctl" decode --dbc "$dbc" --json "$dir/$name.log" >"$work/out" 2>"$work/err"; then
		echo "not ok $n - $name: eco2ctl decode failed"; sed 's/^/# /' "$work/err" | head; fail=1
		continue
	fi
	if "$py" - "$work/out" "$dir/$name.expected.jsonl" <<'PY' >"$work/cmp" 2>&1
import json, math, sys
got = [json.loads(l) for l in open(sys.argv[1])]
exp = [json.loads(l) for l in open(sys.argv[2])]
bad = 0
def close(a, b):
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
if len(got) != len(exp):
    print("line count: got %d, expected %d" % (len(got), len(exp)))
    bad += 1
for i, (g, e) in enumerate(zip(got, exp), 1):
    why = None
    if set(g) != {"t", "id", "name", "signals"}:
        why = "keys %s" % sorted(g)
    elif g["id"] != e["id"] or g["name"] != e["name"] or not close(g["t"], e["t"]):
        why = "frame %r/%r/%r, expected %r/%r/%r" % (g["t"], g["id"], g["name"], e["t"], e["id"], e["name"])
    elif set(g["signals"]) != set(e["signals"]):
        why = "signals %s, expected %s" % (sorted(g["signals"]), sorted(e["signals"]))
    else:
        for k, v in e["signals"].items():
            if not close(g["signals"][k], v):
                why = "%s = %r, expected %r" % (k, g["signals"][k], v)
                break
    if why:
        bad += 1
        if bad <= 5:
            print("line %d: %s" % (i, why))
print("%d lines, %d mismatches" % (len(exp), bad))
sys.exit(1 if bad else 0)
PY
	then
		echo "ok $n - $name: $(tail -n 1 "$work/cmp")"
	else
		echo "not ok $n - $name"; sed 's/^/# /' "$work/cmp"; fail=1
	fi
	if [ -s "$work/err" ]; then
		sed 's/^/# stderr: /' "$work/err" | head -5
	fi
done
echo "1..$n"
exit $fail
