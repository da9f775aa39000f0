# agent/ — wires CAN input to trips, records and upload: eco2d and eco2ctl.
# The only folder that includes the others.

# config: eco2d.conf, one option table parsed with libinih
lib-y += agent/config.o
tests-y += test_config
test_config-objs := tests/unit/test_config.o
fuzz-y += fuzz_config
fuzz_config-srcs := tests/fuzz/fuzz_config.c agent/config.c crypto/co2.c crypto/pkcs11_uri.c \
                    upload/ledger_tls.c

# params: the configuration turned into module options
lib-y += agent/params.o

# trip: trips and charging sessions from samples
lib-y += agent/trip.o
tests-y += test_trip
test_trip-objs := tests/unit/test_trip.o
fuzz-y += fuzz_trip
fuzz_trip-srcs := tests/fuzz/fuzz_trip.c agent/trip.c crypto/co2.c
# trip-replay: a candump log through a profile and the trip calculator,
# records as JSON lines
test-progs-y += trip-replay
trip-replay-objs := tests/integration/trip/trip_replay.o
itests-y += tests/integration/trip_acceptance.sh tests/integration/trip_segments.sh
itests-y += tests/integration/trip_faults.sh tests/integration/trip_property.sh
itests-y += tests/integration/trip_resume.sh tests/integration/trip_co2.sh
itests-y += tests/integration/trip_profiles.sh

# checkpoint: the daemon's saved state
lib-y += agent/checkpoint.o
tests-y += test_checkpoint
test_checkpoint-objs := tests/unit/test_checkpoint.o
fuzz-y += fuzz_checkpoint
fuzz_checkpoint-srcs := tests/fuzz/fuzz_checkpoint.c agent/checkpoint.c crypto/signer.c crypto/es256.c \
	$(if $(filter y,$(CONFIG_SIGNER_FILE)),crypto/signer_file.c) \
	$(if $(filter y,$(CONFIG_SIGNER_PKCS11)),crypto/signer_pkcs11.c crypto/pkcs11_uri.c)

# loop: the one epoll loop
lib-y += agent/loop.o
tests-y += test_loop
test_loop-objs := tests/unit/test_loop.o

# notify: the systemd notify protocol
lib-y += agent/notify.o
tests-y += test_notify
test_notify-objs := tests/unit/test_notify.o

# seccomp: the system call allowlist
lib-y += agent/seccomp.o
tests-y += test_seccomp
test_seccomp-objs := tests/unit/test_seccomp.o

# agent: eco2d's pipeline; main: the daemon
lib-y += agent/agent.o
progs-y += eco2d
sbin-progs-y += eco2d
eco2d-objs := agent/main.o
itests-y += tests/integration/agent_systemd.sh
itests-y += tests/integration/agent_e2e.sh
itests-y += tests/integration/agent_signals.sh
itests-y += tests/integration/agent_crash.sh
itests-y += tests/integration/agent_storefull.sh
itests-y += tests/integration/agent_checkconfig.sh
itests-y += tests/integration/agent_forgery.sh
itests-y += tests/integration/agent_presign.sh

# ctl: eco2ctl and its commands (status/trips/export, keygen/pubkey, decode)
CFLAGS_ctl_decode := -ffp-contract=off
progs-y += eco2ctl
bin-progs-y += eco2ctl
eco2ctl-objs := agent/ctl.o agent/ctl_store.o agent/ctl_key.o agent/ctl_decode.o \
	agent/ctl_decode_profile.o
