/* loop — the daemon's one event loop (epoll): every fd, timer and signal.
 *
 * Single-threaded. Timers are timerfds and signals a signalfd, so the loop
 * sleeps in exactly one place, epoll_wait, with no timeout of its own:
 * with nothing armed it makes no wakeups at all. Callbacks may add, modify
 * or remove any watcher, including their own, while being dispatched. */
#ifndef ECO2_LOOP_H
#define ECO2_LOOP_H

#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include "lib/compiler.h"

typedef struct loop loop_t;
typedef struct loop_timer loop_timer_t;

typedef void loop_fd_fn(loop_t *l, int fd, uint32_t events, void *ctx);
typedef void loop_timer_fn(loop_t *l, loop_timer_t *t, void *ctx);
typedef void loop_signal_fn(loop_t *l, int signo, void *ctx);

int loop_new(loop_t **out) __must_check;
void loop_free(loop_t *l);    /* closes its signalfd; free timers first, your fds are yours */

/* Watch fd for events (EPOLLIN, EPOLLOUT, ...). One watcher per fd. */
int loop_add_fd(loop_t *l, int fd, uint32_t events, loop_fd_fn *fn, void *ctx) __must_check;
int loop_mod_fd(loop_t *l, int fd, uint32_t events) __must_check;
int loop_del_fd(loop_t *l, int fd);

/* A timer on CLOCK_MONOTONIC. Arm with the first expiry and the period
 * (0: one-shot); both 0 disarms. Missed expiries are folded into one call.
 * Arming cannot fail on a valid timer (timerfd_settime only refuses bad
 * values), so its result may be ignored; it is -errno for the record. */
int loop_timer_new(loop_t *l, loop_timer_t **out, loop_timer_fn *fn, void *ctx) __must_check;
int loop_timer_arm(loop_timer_t *t, uint64_t first_ms, uint64_t period_ms);
void loop_timer_free(loop_timer_t *t);

/* Block the signals in set and deliver them through the loop (signalfd). */
int loop_add_signals(loop_t *l, const sigset_t *set, loop_signal_fn *fn, void *ctx) __must_check;

/* Dispatch until loop_stop(). 0, or -errno if epoll_wait fails. */
int loop_run(loop_t *l) __must_check;
void loop_stop(loop_t *l);

/* epoll_wait returns since loop_new: the figure for "no polling". */
uint64_t loop_wakeups(const loop_t *l);

#endif
