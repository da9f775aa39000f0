# agent/ — wires CAN input to trips, records and upload; eco2d and eco2ctl.
lib-y += agent/log.o agent/config.o agent/ini_lines.o
lib-y += agent/co2.o

# eco2ctl: each module adds its command's object with `eco2ctl-objs += ...`
# in its own Build fragment (commands are weak symbols in ctl.c).
progs-y += eco2ctl
bin-progs-y += eco2ctl
eco2ctl-objs += agent/ctl.o
lib-y += agent/loop.o
lib-y += agent/notify.o agent/seccomp.o

tests-y += test_loop
test_loop-objs := tests/unit/test_loop.o

# eco2d: the daemon.
lib-y += agent/agent.o agent/checkpoint.o agent/trip_params.o
progs-y += eco2d
sbin-progs-y += eco2d
eco2d-objs := agent/main.o
eco2ctl-objs += agent/ctl_store.o

itests-y += tests/integration/agent_systemd.sh
itests-y += tests/integration/agent_e2e.sh
itests-y += tests/integration/agent_signals.sh
itests-y += tests/integration/agent_crash.sh
itests-y += tests/integration/agent_storefull.sh
