/* checkpoint — the daemon's saved state, as one blob in the store.
 *
 *   u32 magic "ECK4"   u32 sizeof(struct eco2_record)
 *   u8 kid[8]          the device key that saved it
 *   u64 chain head seq when saved   u8 chain head hash[32]
 *   u64 frames consumed from a replayed log   u64 t_ns of its first frame
 *   u64 next_flags     ECO2_FLAG_* the next finished record carries (a
 *                      state break not yet recorded)
 *   u32 n pending      u32 trip blob length
 *   n x struct eco2_record   finished records the store had not yet taken
 *   the trip calculator's own blob (agent/trip.h)
 *   u8 tag[t]          the device's state tag over everything before it
 *                      (crypto/signer.h: signer_tag)
 *   u8 t               the tag's length: 33 (HMAC) or 65 (signature)
 *
 * A host-endian, same-build format: it never leaves the device. Every
 * figure a later record can carry (the pending records, the open trip's
 * running totals) is covered by the tag, which only the device's key can
 * make: a blob changed by anyone who can write the store is refused, never
 * signed (docs/security.md, section 3). A blob of another layout (record
 * size, magic, the untagged "ECK3" of earlier builds) is refused too. */
#ifndef ECO2_CHECKPOINT_H
#define ECO2_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/record.h"
#include "crypto/signer.h"
#include "lib/compiler.h"

struct agent_ckpt {
	uint8_t kid[8];
	uint64_t head_seq;
	uint8_t head_hash[32];
	uint64_t replay_frames;
	uint64_t replay_first_t_ns;
	uint64_t next_flags;
	const struct eco2_record *pending;   /* encode: the records to save */
	const uint8_t *pending_bytes;        /* decode: n_pending records, unaligned */
	size_t n_pending;
	const uint8_t *trip;                 /* the calculator's blob */
	size_t trip_len;
};

/* Encode c and tag it with s (c->kid is taken from s). *out is malloc'd;
 * the caller frees it. 0, -ENOMEM, or the signer's error (logged). */
int agent_ckpt_encode(const struct agent_ckpt *c, signer_t *s, uint8_t **out,
		      size_t *len) __must_check;

/* Parse blob and check its tag with s; pointers in *c point into it.
 * 0; -EINVAL for a blob too short or of another magic or record layout;
 * -EBADMSG for one whose tag is not this device's (changed, or saved by
 * another key); another -errno when the signer failed. *why (may be NULL)
 * gets a short reason for the log. */
int agent_ckpt_decode(const uint8_t *blob, size_t len, signer_t *s, struct agent_ckpt *c,
		      const char **why) __must_check;

/* The same without the tag check, for readers without the key (eco2ctl
 * status): what the blob says, NOT evidence that the device wrote it. */
int agent_ckpt_parse(const uint8_t *blob, size_t len, struct agent_ckpt *c,
		     const char **why) __must_check;

/* Record i of a decoded checkpoint's pending list. */
void agent_ckpt_pending(const struct agent_ckpt *c, size_t i, struct eco2_record *out);

/* The size of a checkpoint holding n pending records and a trip blob of
 * trip_len bytes, its tag included (at most). */
size_t agent_ckpt_size(size_t n_pending, size_t trip_len);

#endif
