#!/bin/sh
# poll_profiles.sh — every profile that asks ECUs decodes a polling session
# eco2-sim writes, value for value as an independent decoder does, also as
# COVESA VSS signals (tests/integration/poll/poll_oracle.py).
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/poll/poll_oracle.py"
