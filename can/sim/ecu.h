/* ecu — eco2-sim plays the ECUs a polled profile asks.
 *
 * For every [poll.NAME] request of the profile the simulator answers as
 * that ECU would, from its vehicle model at the moment of the request:
 *
 *   live (--iface)  an ISO-TP socket per ECU (the kernel's CAN_ISOTP,
 *                   bound to the answer id with the request id as its
 *                   receive id), a raw socket filtered on J1939 requests;
 *                   requests are served while the drive is paced, and
 *                   none while the car sleeps (--park): they are counted.
 *   log (--out)     the simulator also plays the tester: at each request's
 *                   interval of the vehicle's state it writes the request,
 *                   the ECU's answer (segmented as ISO-TP, our flow
 *                   control between) or, for J1939, the requested group.
 *
 * Answers are the request's positive header (service + 0x40, parameter
 * echoed) followed by answer_bytes of data, every role the request reads
 * encoded at its position (bytes no role reads are 0). --ecu-reply makes
 * an ECU misbehave: slowly, with "response pending" first, with a
 * negative answer, or not at all (ecus_reply_option). */
#ifndef ECO2_SIM_ECU_H
#define ECO2_SIM_ECU_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/compiler.h"
#include "can/canlog.h"
#include "can/diag.h"
#include "can/profile.h"

typedef struct sim_ecus sim_ecus_t;

/* The model's value of a role, in its canonical unit. */
typedef double sim_value_fn(void *ctx, enum eco2_role role);
/* Send or write one frame (a J1939 answer, a log line); 0 or -errno. */
typedef int sim_emit_fn(void *ctx, struct can_frame_rec *f);

/* The ECUs of profile p (borrowed). 0, -ENOMEM. */
int ecus_new(sim_ecus_t **out, const profile_t *p, sim_value_fn *value, void *ctx) __must_check;
void ecus_free(sim_ecus_t *e);   /* NULL is fine; closes the sockets */

/* --ecu-reply MODE[@NAME]: MODE is
 *   slow=MS      answer MS milliseconds late
 *   pending=N    N "response pending" (NRC 0x78) 100 ms apart, then the answer
 *   nrc=HEX      a negative answer with that code (31, 11, 22, ...)
 *   silent       no answer at all
 *   normal       answer at once (the default)
 * for the request [poll.NAME], or every request without @NAME. Returns 0
 * or -EINVAL (reported). */
int ecus_reply_option(sim_ecus_t *e, const char *arg) __must_check;

/* Is message m sent only on request (a J1939 group a [poll.NAME] asks for)? */
bool ecus_on_request(const sim_ecus_t *e, const struct dbc_message *m);

/* Live: open the sockets on iface. 0 or -errno (reported; a kernel
 * without CAN_ISOTP is named). */
int ecus_open_live(sim_ecus_t *e, const char *iface) __must_check;

/* Live: serve requests until CLOCK_MONOTONIC `until`; while the car is
 * asleep read and count them but answer none. J1939 answers go out
 * through emit. 0 or -errno. */
int ecus_serve_until(sim_ecus_t *e, const struct timespec *until, bool asleep,
		     sim_emit_fn *emit, void *ctx) __must_check;

/* Log: play the tester at simulation time t_ms (asleep: no requests):
 * write each due request and its answer through emit. The tester picks
 * intervals by the state it knows, as eco2d's poller does: broadcast
 * ignition and charging as they are, polled ones as last answered. */
int ecus_log_tick(sim_ecus_t *e, int64_t t_ms, bool asleep, sim_emit_fn *emit,
		  void *ctx) __must_check;

/* Requests received (live) or written (log), and those that came while
 * the car slept (live). */
void ecus_counts(const sim_ecus_t *e, unsigned long *requests, unsigned long *asleep);

#endif
