#!/bin/sh
# trip_faults — every eco2-sim fault injection (drops, odometer jump/rollback/stuck/wrap, bus-off, clock jumps) yields its documented flag and no negative or absurd figure.
# The checks live in trip/tripcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/tripcheck.py" faults
