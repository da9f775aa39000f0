# agent/ trip calculator and its test driver.
lib-y += agent/trip.o

tests-y += test_trip
test_trip-objs := tests/unit/test_trip.o

# trip-replay: a candump log through a profile and the trip calculator,
# records as JSON lines (test driver, not installed).
progs-y += trip-replay
trip-replay-objs := tests/integration/trip/trip_replay.o

itests-y += tests/integration/trip_acceptance.sh tests/integration/trip_segments.sh
itests-y += tests/integration/trip_faults.sh tests/integration/trip_property.sh
itests-y += tests/integration/trip_resume.sh tests/integration/trip_co2.sh
itests-y += tests/integration/trip_profiles.sh

fuzz-y += fuzz_trip
fuzz_trip-srcs := tests/fuzz/fuzz_trip.c agent/trip.c agent/co2.c agent/log.c
