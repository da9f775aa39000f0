#!/bin/sh
# trip_co2 — configured methodology parameters land in the record and co2_g is recomputed from the record alone.
# The checks live in trip/tripcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/tripcheck.py" co2
