#!/bin/bash
# lint_layers.sh — scripts/layers.py (make lint-layers) passes on the tree
# and fires on each rule broken in a copy: can/ including agent/, lib/
# including can/, two folders including each other, a cycle of three
# folders, two files including each other, product code including tests/.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
n=0 failed=0
tap() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$(cd "$top" && make -s --no-print-directory lint-layers 2>&1)
tap $? "make lint-layers passes on the tree ($out)"

# A small tree that keeps the rules; each case breaks one.
base() {
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t/lib" "$tmp/t/can" "$tmp/t/crypto" "$tmp/t/upload" "$tmp/t/agent" "$tmp/t/tests"
	echo '/* ground */' > "$tmp/t/lib/log.h"
	printf '#include "lib/log.h"\n' > "$tmp/t/can/dbc.h"
	printf '#include "lib/log.h"\n' > "$tmp/t/crypto/cose.h"
	printf '#include "lib/log.h"\n' > "$tmp/t/upload/queue.h"
	printf '#include "can/dbc.h"\n#include "crypto/cose.h"\n#include "upload/queue.h"\n' > "$tmp/t/agent/agent.c"
	echo '/* a test helper */' > "$tmp/t/tests/helper.h"
}
# expect_fail WHAT FILE LINE-TO-ADD PATTERN
expect_fail() {
	local out rc
	out=$("$PYTHON" "$top/scripts/layers.py" "$tmp/t" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -q -- "$2"; then
		tap 0 "$1 is refused: $(printf '%s\n' "$out" | grep -m1 -- "$2")"
	else
		tap 1 "$1 is refused (exit $rc, wanted '$2'): $out"
	fi
}

base
"$PYTHON" "$top/scripts/layers.py" "$tmp/t" >/dev/null 2>&1
tap $? "a tree that keeps the rules passes"

base; printf '#include "agent/agent.h"\n' >> "$tmp/t/can/dbc.h"; echo > "$tmp/t/agent/agent.h"
expect_fail "can/ including agent/" 'can/dbc.h:2: can/ must not include agent/'
base; printf '#include "can/dbc.h"\n' >> "$tmp/t/lib/log.h"
expect_fail "lib/ including can/" 'lib/log.h:2: lib/ is the ground floor'
base; printf '#include "upload/queue.h"\n' >> "$tmp/t/crypto/cose.h"; printf '#include "crypto/cose.h"\n' >> "$tmp/t/upload/queue.h"
expect_fail "crypto/ and upload/ including each other" 'include each other'
base; printf '#include "crypto/cose.h"\n' >> "$tmp/t/can/dbc.h"; printf '#include "upload/queue.h"\n' >> "$tmp/t/crypto/cose.h"
printf '#include "can/dbc.h"\n' >> "$tmp/t/upload/queue.h"
expect_fail "can/ -> crypto/ -> upload/ -> can/" 'a cycle: can/ -> crypto/ -> upload/ -> can/'
base; printf '#include "can/b.h"\n' > "$tmp/t/can/a.h"; printf '#include "can/a.h"\n' > "$tmp/t/can/b.h"
expect_fail "two files including each other" 'an include cycle: can/a.h -> can/b.h -> can/a.h'
base; printf '#include "tests/helper.h"\n' >> "$tmp/t/upload/queue.h"
expect_fail "product code including tests/" 'upload/queue.h:2: product code includes a test file'

echo "1..$n"
exit $failed
