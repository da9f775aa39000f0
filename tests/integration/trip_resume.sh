#!/bin/sh
# trip_resume — a crash mid-trip and a restart from the checkpoint give one trip with the whole distance, flagged resumed; a corrupt checkpoint is refused.
# The checks live in trip/tripcheck.py (TAP).
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${PYTHON:-/usr/bin/python3}" "$src/tests/integration/trip/tripcheck.py" resume
