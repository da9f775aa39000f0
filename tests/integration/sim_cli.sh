#!/bin/sh
# sim_cli — eco2-sim's command line: usage errors, file:line:col cycle errors, name resolution, determinism with --seed, candump format, message rates, parking and charging stops.
# The checks live in trip/simcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/simcheck.py" cli
