/* checkpoint — the daemon's saved state, as one blob in the store.
 *
 *   u32 magic "ECK3"   u64 chain head seq when saved
 *   u64 frames consumed from a replayed log   u64 t_ns of its first frame
 *   u32 n pending   u32 sizeof(struct eco2_record)
 *   n x struct eco2_record   finished records the store had not yet taken
 *   the trip calculator's own blob (agent/trip.h)
 *
 * A host-endian, same-build format: it never leaves the device. A blob of
 * another layout (record size, magic) is refused, never misread. */
#ifndef ECO2_CHECKPOINT_H
#define ECO2_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/record.h"
#include "lib/compiler.h"

struct agent_ckpt {
	uint64_t head_seq;
	uint64_t replay_frames;
	uint64_t replay_first_t_ns;
	const struct eco2_record *pending;   /* encode: the records to save */
	const uint8_t *pending_bytes;        /* decode: n_pending records, unaligned */
	size_t n_pending;
	const uint8_t *trip;                 /* the calculator's blob */
	size_t trip_len;
};

/* *out is malloc'd; the caller frees it. 0 or -ENOMEM. */
int agent_ckpt_encode(const struct agent_ckpt *c, uint8_t **out, size_t *len) __must_check;

/* Parse blob; pointers in *c point into it. 0, or -EINVAL (logged by the
 * caller) for a blob too short, of another magic or record layout. */
int agent_ckpt_decode(const uint8_t *blob, size_t len, struct agent_ckpt *c) __must_check;

/* Record i of a decoded checkpoint's pending list. */
void agent_ckpt_pending(const struct agent_ckpt *c, size_t i, struct eco2_record *out);

#endif
