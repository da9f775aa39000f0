#!/bin/sh
# trip_acceptance — WLTC class 3b and NEDC through eco2-sim and the trip calculator at 0.1-km and 1-km odometers: distance within 0.2 % / 1 %, discharge and regen within 0.5 % of the simulator's truth; co2_g recomputed independently.
# The checks live in trip/tripcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/tripcheck.py" acceptance
