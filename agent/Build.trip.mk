# agent/ trip calculator and its test driver.
lib-y += agent/trip.o

tests-y += test_trip
test_trip-objs := tests/unit/test_trip.o
