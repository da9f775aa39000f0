/* notify — the systemd notify protocol (sd_notify(3)) without libsystemd.
 *
 * When $NOTIFY_SOCKET is set (a path, or "@name" for the abstract
 * namespace) each call sends one datagram; otherwise calls do nothing.
 * Compiled out with CONFIG_SYSTEMD_NOTIFY=n. */
#ifndef ECO2_NOTIFY_H
#define ECO2_NOTIFY_H

#include <stdint.h>
#include "lib/compiler.h"

/* Send "READY=1", "STOPPING=1", "RELOADING=1", "WATCHDOG=1" or any other
 * newline-separated assignments. 0 (also when not under systemd) or -errno. */
int notify_send(const char *state);
int notify_status(const char *fmt, ...) __printf(1, 2);

/* The watchdog period systemd expects pings within ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or ours), in microseconds; 0: no watchdog. */
uint64_t notify_watchdog_usec(void);

#endif
