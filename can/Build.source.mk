# can/ live input: SocketCAN, J1939, vehicle profiles.
lib-$(CONFIG_CAN_SOCKETCAN) += can/socketcan.o
lib-y += can/profile.o
lib-$(CONFIG_CAN_J1939) += can/j1939.o

# can-probe: the driver of the real-kernel vcan test and of the profile
# oracle (not installed).
progs-$(CONFIG_CAN_SOCKETCAN) += can-probe
can-probe-objs := tests/integration/vcan/can_probe.o

tests-y += test_profile
test_profile-objs := tests/unit/test_profile.o
tests-$(CONFIG_CAN_SOCKETCAN) += test_socketcan
test_socketcan-objs := tests/unit/test_socketcan.o
tests-$(CONFIG_CAN_J1939) += test_j1939
test_j1939-objs := tests/unit/test_j1939.o

itests-$(CONFIG_CAN_SOCKETCAN) += tests/integration/can_vcan.sh
itests-$(CONFIG_CAN_SOCKETCAN) += tests/integration/vcan/can_profiles_oracle.sh

fuzz-y += fuzz_profile
fuzz_profile-srcs := tests/fuzz/fuzz_profile.c can/profile.c agent/ini_lines.c can/dbc.c can/decode.c \
	can/j1939.c agent/log.c
