/* source — where frames come from: every CAN input behind one small driver
 * table, each feeding the same callbacks on the caller's event loop.
 *
 *   driver                    reads                         file
 *   can_source_socketcan      SocketCAN raw sockets          source_socketcan.c
 *   can_source_candump_file   a candump log file             source_candump.c
 *   can_source_candump_stream a candump log from a pipe      source_candump.c
 *   can_source_poller         answers of ECUs it asks, over  source_isotp.c
 *                             CAN_ISOTP / CAN_J1939 sockets,
 *                             and the profile's broadcast
 *                             part through SocketCAN
 *
 * A driver opens its input, names ONE file descriptor for the loop to
 * watch and, when it has timed work (re-opening an interface, the next
 * poll of an ECU), a CLOCK_MONOTONIC deadline. When the fd is readable or
 * the deadline has passed the loop calls can_source_dispatch, which never
 * blocks: it hands what is ready to the callbacks and returns. A new input
 * (an ECU poller over ISO-TP, say) is a new driver table in its own
 * source_*.c; the daemon's loop does not change. */
#ifndef ECO2_SOURCE_H
#define ECO2_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "can/canlog.h"
#include "can/profile.h"
#include "can/sample.h"
#include "can/socketcan.h"

/* What a source hands on. `frame` is required; f and s are valid during
 * the call only. */
struct can_source_cb {
	void (*frame)(void *ctx, const struct can_frame_rec *f);
	/* A value a driver decoded itself (an answer to a request). */
	void (*sample)(void *ctx, const struct eco2_sample *s);
	/* Bus and interface events; value is the frames lost for
	 * CAN_EV_FRAMES_DROPPED. t_ns is wall-clock ns. */
	void (*event)(void *ctx, const char *iface, enum eco2_can_event ev,
		      uint64_t value, uint64_t t_ns);
	/* The input ended (a log); a live source never ends. */
	void (*end)(void *ctx);
	void *ctx;
};

/* Everything a driver may need; each reads its own fields. */
struct can_source_opts {
	const char *path;                     /* candump: the log; "-" stdin */
	const char *const *ifaces;            /* socketcan: interface names */
	size_t n_ifaces;
	const struct socketcan_id *ids;       /* socketcan: kernel filters */
	size_t n_ids;
	struct socketcan_opts socketcan;
	unsigned budget;                      /* frames per dispatch; 0: 2048 */
	/* poller: the requests to send (its [poll.NAME] sections) on the
	 * first interface of ifaces; candump: decode the answers a log of a
	 * polling session carries. NULL: none. */
	const profile_t *profile;
	/* poller: where its sockets come from; NULL: the kernel's
	 * (unit tests pass socketpairs). */
	const struct poll_transport *transport;
};

/* The poller's sockets. Each returns a non-blocking file descriptor or
 * -errno. Datagram semantics: one write() is one request, one read() one
 * whole answer. */
struct poll_transport {
	/* ISO-TP, bound to r's request and answer ids on iface; frames
	 * padded with `padding` (0..255) or not (-1). */
	int (*isotp)(void *ctx, const char *iface, const struct diag_req *r, int padding);
	/* J1939 from r->sa, connected to r->da and PGN 59904; reads get
	 * acknowledgments (PGN 59392) only. */
	int (*j1939)(void *ctx, const char *iface, const struct diag_req *r);
	/* A raw socket that is never written, for noticing that a sleeping
	 * bus woke up; listen() turns its reception on (every frame) or off
	 * (none). */
	int (*listener)(void *ctx, const char *iface);
	int (*listen)(void *ctx, int fd, bool on);
	void *ctx;
};

/* Counters a driver keeps; those it does not know stay 0. */
struct can_source_stats {
	uint64_t frames;                      /* handed to cb->frame */
	unsigned long lines, bad_lines;       /* candump lines read, malformed */
	uint64_t samples;                     /* handed to cb->sample */
	/* poller */
	uint64_t requests;                    /* written (each one PDU) */
	uint64_t answers;                     /* positive answers decoded */
	uint64_t negative;                    /* negative answers (0x78 aside) */
	uint64_t pending;                     /* 0x78 "response pending" */
	uint64_t no_answer;                   /* timed out */
	uint64_t refused;                     /* writes the allowlist refused */
	uint64_t latency_sum_ns, latency_max_ns;   /* request -> decoded answer */
	uint64_t bus_bits;                    /* worst-case bits of the exchanges */
};

typedef struct can_source can_source_t;

/* One driver: chrony's RefclockDriver, for CAN. */
struct can_source_driver {
	const char *name;
	/* Open the input into *priv. 0 or -errno (reported). */
	int (*open)(void **priv, const struct can_source_opts *o);
	void (*close)(void *priv);
	int (*fd)(void *priv);
	uint64_t (*deadline_ns)(void *priv);  /* NULL: never */
	/* Frames delivered (>= 0) or -errno on a failure of the source
	 * itself. May call cb->end once. */
	int (*dispatch)(void *priv, const struct can_source_cb *cb);
	void (*stats)(void *priv, struct can_source_stats *st);
};

extern const struct can_source_driver can_source_socketcan;
extern const struct can_source_driver can_source_candump_file;
extern const struct can_source_driver can_source_candump_stream;
extern const struct can_source_driver can_source_poller;

/* The candump driver for `path`: the stream driver for a pipe or socket
 * (and "-" when stdin is one), the file driver otherwise. */
const struct can_source_driver *can_source_candump_for(const char *path);

/* Open a source with driver `drv`. *out is freed with can_source_close. */
int can_source_open(can_source_t **out, const struct can_source_driver *drv,
		    const struct can_source_opts *o) __must_check;
void can_source_close(can_source_t *src);    /* NULL is fine */

const char *can_source_name(const can_source_t *src);
int can_source_fd(const can_source_t *src);
/* CLOCK_MONOTONIC ns when dispatch must run even if the fd stays quiet;
 * UINT64_MAX when nothing is pending. */
uint64_t can_source_deadline_ns(const can_source_t *src);
int can_source_dispatch(can_source_t *src, const struct can_source_cb *cb) __must_check;
void can_source_stats(const can_source_t *src, struct can_source_stats *st);

#endif
