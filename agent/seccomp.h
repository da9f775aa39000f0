/* seccomp — the daemon's system-call allowlist (libseccomp).
 *
 * Installed once start-up is over (files open, sockets bound, key loaded):
 * from then on any system call not on the list kills the process
 * (SECCOMP_RET_KILL_PROCESS), so a compromised parser cannot exec, ptrace,
 * mount or open raw sockets. Compiled out with CONFIG_SECCOMP=n. */
#ifndef ECO2_SECCOMP_H
#define ECO2_SECCOMP_H

#include "lib/compiler.h"

/* 0, or -errno when the filter cannot be built or loaded. extra: NULL or a
 * NULL-terminated list of further system call names a back end needs. */
int seccomp_install(const char *const *extra) __must_check;

#endif
