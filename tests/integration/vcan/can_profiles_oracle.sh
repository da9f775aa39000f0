#!/bin/sh
# can_profiles_oracle.sh — the shipped vehicle profiles decode random frames
# exactly as python3-canmatrix plus an independent unit/sign table do
# (profile_oracle.py). Needs the can-probe test driver and python3-canmatrix.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
py=${PYTHON:-/usr/bin/python3}
[ -x "$build/can-probe" ] || { echo "skip: $build/can-probe not built"; exit 77; }
"$py" -c 'import canmatrix.formats' 2>/dev/null || { echo "skip: python3-canmatrix not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" "$top/tests/integration/vcan/profile_oracle.py" "$build/can-probe" "$top/can/profiles" \
	"$work" >"$work/out" 2>&1
rc=$?
grep -v ' is not supported$' "$work/out"   # canmatrix's notes on formats it lacks
exit $rc
