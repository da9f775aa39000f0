#!/bin/sh
# sim_oracle — the simulator's CAN log decoded by python3-canmatrix and integrated independently agrees with its ground truth (energy, odometer steps, speed, ignition).
# The checks live in trip/simcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/simcheck.py" oracle
