# can/ live input: SocketCAN, J1939, vehicle profiles.
lib-$(CONFIG_CAN_SOCKETCAN) += can/socketcan.o
lib-y += can/profile.o
lib-$(CONFIG_CAN_J1939) += can/j1939.o

# can-probe: the driver of the real-kernel vcan test (not installed).
progs-$(CONFIG_CAN_SOCKETCAN) += can-probe
can-probe-objs := tests/integration/vcan/can_probe.o

tests-y += test_profile
test_profile-objs := tests/unit/test_profile.o

itests-$(CONFIG_CAN_SOCKETCAN) += tests/integration/can_vcan.sh
