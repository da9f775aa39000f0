/* socketcan — live CAN and CAN FD input from SocketCAN raw sockets.
 *
 * One source object reads one or several interfaces (can0, vcan0, ...) for
 * the daemon's single event loop: it owns one socket per interface, all
 * gathered behind ONE pollable file descriptor (socketcan_fd), and never
 * blocks, sleeps or starts a thread. When the fd is readable, or the
 * deadline returned by socketcan_deadline_ns has passed, the loop calls
 * socketcan_dispatch, which drains the ready sockets and hands each frame
 * (with its kernel receive timestamp) and each event to the callbacks.
 *
 * The kernel filters (CAN_RAW_FILTER) are installed from an id list, so
 * frames the profile does not need never reach user space. Error frames
 * (bus-off, error-passive) and the kernel's per-socket overflow counter
 * (SO_RXQ_OVFL) come out as events (enum eco2_can_event); the kernel stamps
 * each queued frame with the drops so far, so a loss is reported with the
 * first frame that arrives after it. An interface
 * that goes down (ENETDOWN) or disappears (ENODEV) is closed and reported;
 * it is re-opened with exponential backoff (100 ms doubling to 30 s by
 * default) once it exists and is up again. */
#ifndef ECO2_SOCKETCAN_H
#define ECO2_SOCKETCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "can/canlog.h"
#include "can/sample.h"

typedef struct socketcan socketcan_t;

/* One kernel filter entry. `id` is a CAN id with SOCKETCAN_EFF (the
 * kernel's CAN_EFF_FLAG) set for 29-bit ids; `mask` selects the id bits
 * that must match (0 = all of them: an exact 11- or 29-bit match). J1939
 * uses a mask to accept a PGN from any source address. Remote frames are
 * never accepted. */
struct socketcan_id {
	uint32_t id;
	uint32_t mask;
};
#define SOCKETCAN_EFF 0x80000000u
#define SOCKETCAN_MAX_IDS 512         /* the kernel's CAN_RAW_FILTER_MAX */

struct socketcan_opts {
	bool fd_frames;             /* also receive CAN FD frames */
	bool all_ids;               /* no id filter (tools); ids are ignored */
	int rcvbuf_bytes;           /* 0: kernel default; else SO_RCVBUFFORCE,
				     * SO_RCVBUF when not privileged */
	unsigned backoff_min_ms;    /* first re-open delay; 0: 100 */
	unsigned backoff_max_ms;    /* longest re-open delay; 0: 30000 */
	unsigned budget;            /* most frames per socket per dispatch; 0: 4096 */
};

/* Called for every received frame; `f` is valid during the call only. */
typedef void socketcan_frame_fn(void *ctx, const struct can_frame_rec *f);
/* Called for every event: `value` is the number of frames lost for
 * CAN_EV_FRAMES_DROPPED, 0 otherwise; t_ns is wall-clock ns. */
typedef void socketcan_event_fn(void *ctx, const char *iface,
				enum eco2_can_event ev, uint64_t value, uint64_t t_ns);

struct socketcan_cb {
	socketcan_frame_fn *frame;
	socketcan_event_fn *event;  /* may be NULL */
	void *ctx;
};

/* Counters per interface since socketcan_open. */
struct socketcan_stats {
	uint64_t frames;            /* handed to the frame callback */
	uint64_t dropped;           /* lost in the kernel (SO_RXQ_OVFL) */
	uint64_t bus_off;
	uint64_t error_passive;
	uint64_t reopens;           /* successful opens after the first */
	bool up;                    /* a socket is open now */
};

/* Create the source for `n_ifaces` interface names (each < IFNAMSIZ). An
 * interface that is missing or down is not an error: it is retried with
 * backoff. `ids` lists n_ids filters (at most SOCKETCAN_MAX_IDS; copied).
 * Returns 0 and *out (free with socketcan_close), or -errno (-EINVAL bad
 * name or id, -E2BIG too many ids, -ENOMEM, or the socket layer's error,
 * e.g. -EAFNOSUPPORT on a kernel without CAN). */
int socketcan_open(socketcan_t **out, const char *const *ifaces, size_t n_ifaces,
		   const struct socketcan_id *ids, size_t n_ids,
		   const struct socketcan_opts *opts) __must_check;
void socketcan_close(socketcan_t *sc);

/* The fd to watch for EPOLLIN (an epoll fd of the sockets and a timer). */
int socketcan_fd(const socketcan_t *sc);

/* CLOCK_MONOTONIC ns when dispatch must run to re-open an interface even
 * if the fd stays quiet; UINT64_MAX when nothing is pending. */
uint64_t socketcan_deadline_ns(const socketcan_t *sc);

/* Drain what is ready and perform due re-opens. cb->frame is required.
 * Returns the number of frames delivered (>= 0) or -errno on a failure of
 * the source itself (interface failures are handled, never returned). */
int socketcan_dispatch(socketcan_t *sc, const struct socketcan_cb *cb) __must_check;

/* Counters of interface `i` (in socketcan_open order); -ENOENT past the end. */
int socketcan_stats(const socketcan_t *sc, size_t i, struct socketcan_stats *st) __must_check;

/* ---- pure helpers, exposed for tests ---------------------------------- */

/* Fill `out` (room for n entries of struct can_filter) from the id list. */
int socketcan_make_filters(void *out, const struct socketcan_id *ids, size_t n) __must_check;

/* Classify an error frame's id and data (linux/can/error.h): returns a
 * bit set of 1 << CAN_EV_BUS_OFF and 1 << CAN_EV_ERROR_PASSIVE. */
unsigned socketcan_error_events(uint32_t can_id, const uint8_t *data, size_t len);

/* The CAN FD DLC code (0..15) of a payload of `len` bytes (rounded up). */
uint8_t socketcan_fd_dlc(unsigned len);

/* The re-open delay after `failures` consecutive failures, in ms. */
unsigned socketcan_backoff_ms(unsigned failures, unsigned min_ms, unsigned max_ms);

#endif
