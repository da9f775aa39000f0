/* seccomp — the daemon's system-call allowlist (libseccomp).
 *
 * Installed once start-up is over (files open, sockets bound, key loaded):
 * from then on any system call not on the list kills the process
 * (SECCOMP_RET_KILL_PROCESS), so a compromised parser cannot exec, ptrace,
 * mount or open raw sockets. Compiled out with CONFIG_SECCOMP=n. */
#ifndef ECO2_SECCOMP_H
#define ECO2_SECCOMP_H

#include "lib/compiler.h"

/* CAN sockets the process may still open once the filter is on (each a
 * PF_CAN protocol with its one socket type): */
#define SECCOMP_CAN_RAW   0x1u    /* SOCK_RAW CAN_RAW: reading interfaces */
#define SECCOMP_CAN_ISOTP 0x2u    /* SOCK_DGRAM CAN_ISOTP: the poller's requests */
#define SECCOMP_CAN_J1939 0x4u    /* SOCK_DGRAM CAN_J1939: J1939 requests */

/* 0, or -errno when the filter cannot be built or loaded. extra: NULL or a
 * NULL-terminated list of further system call names a back end needs.
 * seccomp_install allows CAN_RAW sockets only; seccomp_install_can the
 * SECCOMP_CAN_* protocols in can_protos (every other PF_CAN socket, e.g.
 * BCM or a gateway, kills the process). */
int seccomp_install(const char *const *extra) __must_check;
int seccomp_install_can(const char *const *extra, unsigned can_protos) __must_check;

#endif
