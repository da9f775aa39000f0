#!/bin/sh
# trip_property — seeded random drive cycles: distance and energy within tolerance every time (TRIP_PROPERTY_SEED, TRIP_PROPERTY_RUNS).
# The checks live in trip/tripcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/tripcheck.py" property
