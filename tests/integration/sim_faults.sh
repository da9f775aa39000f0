#!/bin/sh
# sim_faults — eco2-sim fault injection as seen in the log: bus-off error frames and silence, clock steps, stuck and jumping odometers; the truth does not change.
# The checks live in trip/simcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/simcheck.py" faults
