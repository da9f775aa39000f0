# can/ — CAN input: candump logs, DBC files, the signal decoder, J1939,
# vehicle profiles and the CAN sources behind can/source.h.

# Physical values are raw * factor + offset without fused multiply-add, so
# they match other decoders (and the oracle) bit for bit on every target.
CFLAGS_dbc := -ffp-contract=off
CFLAGS_decode := -ffp-contract=off

# canlog: candump lines, read and written
lib-y += can/canlog.o
tests-y += test_canlog
test_canlog-objs := tests/unit/test_canlog.o
fuzz-y += fuzz_canlog
fuzz_canlog-srcs := tests/fuzz/fuzz_canlog.c can/canlog.c

# dbc: DBC files
lib-y += can/dbc.o
tests-y += test_dbc
test_dbc-objs := tests/unit/test_dbc.o
fuzz-y += fuzz_dbc
fuzz_dbc-srcs := tests/fuzz/fuzz_dbc.c can/dbc.c
itests-y += tests/integration/can_corpus.sh tests/integration/can_oracle.sh
itests-y += tests/integration/can_dbc_recovery.sh tests/integration/can_exact.sh

# decode: compiled per-message tables
lib-y += can/decode.o
tests-y += test_decode
test_decode-objs := tests/unit/test_decode.o
fuzz-y += fuzz_decode
fuzz_decode-srcs := tests/fuzz/fuzz_decode.c can/decode.c can/dbc.c can/physfmt.c
# bench-decode: tests/bench/bench_decode.sh's driver
test-progs-y += bench-decode
bench-decode-objs := tests/bench/decode/bench_decode.o

# physfmt: decoded values as exact decimal text
lib-y += can/physfmt.o
tests-y += test_physfmt
test_physfmt-objs := tests/unit/test_physfmt.o

# j1939: PGNs and their signals
lib-$(CONFIG_CAN_J1939) += can/j1939.o
tests-$(CONFIG_CAN_J1939) += test_j1939
test_j1939-objs := tests/unit/test_j1939.o

# isotp: ISO 15765-2 framing in logs (the live transport is the kernel's)
lib-y += can/isotp.o
tests-y += test_isotp
test_isotp-objs := tests/unit/test_isotp.o
fuzz-y += fuzz_isotp
fuzz_isotp-srcs := tests/fuzz/fuzz_isotp.c can/isotp.c can/diag.c

# diag: OBD-II, UDS and J1939 requests and answers, the log listener
lib-y += can/diag.o
tests-y += test_diag
test_diag-objs := tests/unit/test_diag.o

# vss: roles as COVESA VSS 4.0 signals
lib-y += can/vss.o
tests-y += test_vss
test_vss-objs := tests/unit/test_vss.o

# profile: roles -> signals, canonical units
lib-y += can/profile.o
tests-y += test_profile
test_profile-objs := tests/unit/test_profile.o
fuzz-y += fuzz_profile
fuzz_profile-srcs := tests/fuzz/fuzz_profile.c can/profile.c can/dbc.c can/decode.c can/j1939.c \
	can/diag.c can/isotp.c

# source: the CAN sources behind one driver table (source.h)
lib-y += can/source.o
lib-y += can/source_candump.o
lib-$(CONFIG_CAN_SOCKETCAN) += can/source_socketcan.o
tests-y += test_source
test_source-objs := tests/unit/test_source.o

# source_isotp: the poller (eco2d asks ECUs over CAN_ISOTP and CAN_J1939)
lib-$(CONFIG_CAN_POLL) += can/source_isotp.o
tests-$(CONFIG_CAN_POLL) += test_source_isotp
test_source_isotp-objs := tests/unit/test_source_isotp.o
itests-$(CONFIG_CAN_POLL) += tests/integration/poll_vcan.sh tests/integration/poll_kconfig.sh
itests-y += tests/integration/poll_profiles.sh

# socketcan: live input from SocketCAN raw sockets
lib-$(CONFIG_CAN_SOCKETCAN) += can/socketcan.o
tests-$(CONFIG_CAN_SOCKETCAN) += test_socketcan
test_socketcan-objs := tests/unit/test_socketcan.o
# can-probe: the driver of the real-kernel vcan test and of the profile oracle
test-progs-$(CONFIG_CAN_SOCKETCAN) += can-probe
can-probe-objs := tests/integration/vcan/can_probe.o
itests-$(CONFIG_CAN_SOCKETCAN) += tests/integration/can_vcan.sh
itests-$(CONFIG_CAN_SOCKETCAN) += tests/integration/vcan/can_profiles_oracle.sh
