# can/sim/ — eco2-sim, the drive-cycle simulator.
ifeq ($(CONFIG_SIMULATOR),y)
progs-y += eco2-sim
bin-progs-y += eco2-sim
eco2-sim-objs := can/sim/main.o can/sim/cycle.o can/sim/vehicle.o can/sim/ecu.o
endif

# cycle: drive-cycle CSV files
tests-y += test_cycle
test_cycle-objs := tests/unit/test_cycle.o can/sim/cycle.o
fuzz-y += fuzz_cycle
fuzz_cycle-srcs := tests/fuzz/fuzz_cycle.c can/sim/cycle.c

# vehicle: the longitudinal model
tests-y += test_vehicle
test_vehicle-objs := tests/unit/test_vehicle.o can/sim/vehicle.o

itests-y += tests/integration/sim_cli.sh tests/integration/sim_oracle.sh
itests-y += tests/integration/sim_faults.sh
itests-y += tests/integration/sim_vcan.sh
