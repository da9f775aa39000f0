#!/bin/sh
# trip_profiles — every shipped vehicle profile (reference, Tesla Model 3,
# Hyundai Kona EV, Nissan Leaf AZE0, J1939): eco2-sim encodes a WLTC drive
# with its DBC and the trip calculator reads back distance and energy.
# The checks live in trip/tripcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/tripcheck.py" profiles
