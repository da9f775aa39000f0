#!/bin/sh
# trip_segments — three cycles with parking gaps give three trips with the right boundaries; charging stops give charging sessions.
# The checks live in trip/tripcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/tripcheck.py" segments
