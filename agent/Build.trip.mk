# agent/ trip calculator and its test driver.
lib-y += agent/trip.o

tests-y += test_trip
test_trip-objs := tests/unit/test_trip.o

# trip-replay: a candump log through a profile and the trip calculator,
# records as JSON lines (test driver, not installed).
progs-y += trip-replay
trip-replay-objs := tests/integration/trip/trip_replay.o
