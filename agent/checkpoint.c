/* checkpoint — the daemon's saved state, as one blob in the store. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/checkpoint.h"

#define CKPT_MAGIC 0x45434b33u   /* "ECK3" */
#define CKPT_HDR   36

int agent_ckpt_encode(const struct agent_ckpt *c, uint8_t **out, size_t *len)
{
	uint32_t magic = CKPT_MAGIC, n = (uint32_t)c->n_pending;
	uint32_t rec_size = sizeof(struct eco2_record);
	size_t recs = c->n_pending * sizeof(struct eco2_record);
	uint8_t *b = malloc(CKPT_HDR + recs + c->trip_len);

	if (!b)
		return -ENOMEM;
	memcpy(b, &magic, 4);
	memcpy(b + 4, &c->head_seq, 8);
	memcpy(b + 12, &c->replay_frames, 8);
	memcpy(b + 20, &c->replay_first_t_ns, 8);
	memcpy(b + 28, &n, 4);
	memcpy(b + 32, &rec_size, 4);
	if (recs)
		memcpy(b + CKPT_HDR, c->pending, recs);
	if (c->trip_len)
		memcpy(b + CKPT_HDR + recs, c->trip, c->trip_len);
	*out = b;
	*len = CKPT_HDR + recs + c->trip_len;
	return 0;
}

int agent_ckpt_decode(const uint8_t *blob, size_t len, struct agent_ckpt *c)
{
	uint32_t magic, n, rec_size;

	memset(c, 0, sizeof(*c));
	if (len < CKPT_HDR)
		return -EINVAL;
	memcpy(&magic, blob, 4);
	memcpy(&n, blob + 28, 4);
	memcpy(&rec_size, blob + 32, 4);
	if (magic != CKPT_MAGIC || rec_size != sizeof(struct eco2_record) ||
	    n > (len - CKPT_HDR) / rec_size)
		return -EINVAL;
	memcpy(&c->head_seq, blob + 4, 8);
	memcpy(&c->replay_frames, blob + 12, 8);
	memcpy(&c->replay_first_t_ns, blob + 20, 8);
	c->n_pending = n;
	c->pending_bytes = blob + CKPT_HDR;
	c->trip = blob + CKPT_HDR + (size_t)n * rec_size;
	c->trip_len = len - CKPT_HDR - (size_t)n * rec_size;
	return 0;
}

void agent_ckpt_pending(const struct agent_ckpt *c, size_t i, struct eco2_record *out)
{
	memcpy(out, c->pending_bytes + i * sizeof(*out), sizeof(*out));
}
