# can/ — CAN input: candump logs, DBC parsing and the signal decoder.
# (SocketCAN, J1939 and vehicle profiles register in Build.source.mk.)
lib-y += can/canlog.o can/dbc.o can/decode.o

# Physical values are raw * factor + offset without fused multiply-add, so
# they match other decoders (and the oracle) bit for bit on every target.
CFLAGS_dbc := -ffp-contract=off
CFLAGS_decode := -ffp-contract=off
CFLAGS_ctl_decode := -ffp-contract=off

eco2ctl-objs += agent/ctl_decode.o
itests-y += tests/integration/can_corpus.sh

tests-y += test_canlog test_dbc test_decode
test_canlog-objs := tests/unit/test_canlog.o
test_dbc-objs := tests/unit/test_dbc.o
test_decode-objs := tests/unit/test_decode.o

fuzz-y += fuzz_dbc fuzz_canlog fuzz_decode
fuzz_dbc-srcs := tests/fuzz/fuzz_dbc.c can/dbc.c agent/log.c
fuzz_canlog-srcs := tests/fuzz/fuzz_canlog.c can/canlog.c agent/log.c
fuzz_decode-srcs := tests/fuzz/fuzz_decode.c can/decode.c can/dbc.c agent/log.c
itests-y += tests/integration/can_oracle.sh

# bench-decode: tests/bench/bench_decode.sh's driver (built, never installed).
progs-y += bench-decode
bench-decode-objs := tests/bench/decode/bench_decode.o
