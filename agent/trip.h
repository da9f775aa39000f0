/* trip — turns decoded samples into finished trips and charging sessions.
 *
 * Input: struct eco2_sample values in canonical units (can/sample.h), CAN
 * events, and calls from the owner (a wall-clock step, the end of a
 * replayed log). Output: one struct eco2_record per finished trip
 * (ECO2_REC_TRIP) or charging session (ECO2_REC_CHARGE), handed to the
 * emit callback with every field filled except kid, seq and prev, which
 * belong to the signer and the chain.
 *
 * Segmentation (docs/methodology.md, "Trips"):
 *   - a trip starts on ignition on (0 -> 1) or, when the profile has no
 *     ignition role or the previous trip ended by standing still, on the
 *     first motion (speed >= 1 km/h or an odometer tick);
 *   - it ends on ignition off, on standing still longer than idle_end_s,
 *     on a data gap longer than gap_end_s, when charging starts, or on
 *     trip_finish() (end of a replayed log, shutdown: ECO2_FLAG_ENDED_EARLY);
 *   - charging (the charging role non-zero) while not moving is a charging
 *     session of its own, never driving.
 *
 * Distance: odometer ticks are exact; between the trip start and the first
 * tick and after the last tick the speed is integrated, clamped to one
 * odometer step, so the result never drifts more than one step from the
 * odometer yet short trips on a coarse odometer are measured.
 *
 * Times: sample times (t_ns) are kernel or log timestamps, ns since the
 * epoch. Integrals use their differences; the record's start_s/end_s are
 * their UTC seconds. Not thread-safe: one owner, one event loop. */
#ifndef ECO2_TRIP_H
#define ECO2_TRIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/co2.h"
#include "can/sample.h"
#include "crypto/record.h"
#include "lib/compiler.h"

typedef struct trip trip_t;

/* Called once per finished record; rec is valid during the call only. */
typedef void trip_emit_fn(const struct eco2_record *rec, void *ctx);

struct trip_params {
	int64_t idle_end_s;         /* standing still this long ends a trip (300) */
	int64_t gap_end_s;          /* no sample this long ends a trip (120) */
	double max_speed_kmh;       /* faster odometer steps are implausible (250) */
	/* Odometer step in metres (100 for a 0.1-km odometer); 0: learn it
	 * from the smallest step seen (until then 1000 m is assumed). */
	double odo_resolution_m;
	/* Where the odometer counter wraps, in metres (the signal's range);
	 * 0: unknown, a wrap then reads as a rollback. */
	double odo_wrap_m;
	/* Which roles the profile maps: bit (1u << ROLE_x). Decides the
	 * energy source (V x I or lifetime counters), whether ignition drives
	 * segmentation and which ECO2_FLAG_NO_* apply. */
	uint32_t roles;
	/* The methodology copied into every record. */
	char method[32];
	struct co2_params co2;
	/* VIN to copy into records; NULL or "" for none. */
	const char *vin;
	/* The records' origin (format version 2, keys 22 and 23): the
	 * software's id and the profile's SHA-256 (agent/params.h). */
	char software[ECO2_SOFTWARE_MAX];
	uint8_t profile_sha256[32];
};

/* Defaults as in eco2d.conf(5) with every role mapped but the counters. */
void trip_params_default(struct trip_params *p);

/* 0, -EINVAL (bad parameters) or -ENOMEM. Free with trip_free(). */
int trip_new(const struct trip_params *p, trip_emit_fn *emit, void *ctx,
	     trip_t **out) __must_check;
void trip_free(trip_t *t);

/* One decoded value. Samples must come in time order per source; a time
 * step backwards of more than one second is taken as a wall-clock step
 * (see trip_clock_step). */
void trip_sample(trip_t *t, const struct eco2_sample *s);

/* A CAN event at t_ns (count: dropped frames for CAN_EV_FRAMES_DROPPED). */
void trip_event(trip_t *t, uint64_t t_ns, enum eco2_can_event ev, uint64_t count);

/* The owner saw the wall clock step by step_ns (CLOCK_REALTIME moved
 * against CLOCK_MONOTONIC): sample times from now on are step_ns apart
 * from the earlier ones. Integrals stay continuous, the open trip's start
 * time is moved into the new time base and ECO2_FLAG_CLOCK_JUMP is set. */
void trip_clock_step(trip_t *t, int64_t step_ns);

/* Time passes without samples (the owner's timer, every second or so):
 * ends a trip whose gap or idle limit has passed. now_ns on the samples'
 * clock. */
void trip_tick(trip_t *t, uint64_t now_ns);

/* End the open trip or session now (end of a replayed log, shutdown);
 * flagged ECO2_FLAG_ENDED_EARLY. Nothing open: nothing emitted. */
void trip_finish(trip_t *t);

/* Is a trip or charging session open (for the owner's checkpoint timer)? */
bool trip_is_open(const trip_t *t);

/* The open trip's figures so far, as a record (type, times, distance,
 * energy, co2, flags), for status reports. -ENOENT when nothing is open. */
int trip_peek(const trip_t *t, struct eco2_record *rec) __must_check;

/* Serialise the whole calculator state (open trip, odometer anchors,
 * learned step) to an opaque, versioned blob; *blob is malloc'd, the
 * caller frees it. 0 or -ENOMEM. */
int trip_checkpoint_save(const trip_t *t, uint8_t **blob, size_t *len) __must_check;

/* Restore a blob from trip_checkpoint_save into a fresh calculator (same
 * params). An open trip continues with ECO2_FLAG_RESUMED; the gap since
 * the checkpoint is treated as any data gap. 0; -EINVAL for a blob that
 * is truncated, corrupt or of an unknown version (the state is then
 * unchanged). */
int trip_checkpoint_restore(trip_t *t, const uint8_t *blob, size_t len) __must_check;

#endif
