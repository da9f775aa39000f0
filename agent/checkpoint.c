/* checkpoint — the daemon's saved state, as one tagged blob in the store. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/checkpoint.h"

#define CKPT_MAGIC 0x45434b34u   /* "ECK4" */
#define CKPT_HDR   (4 + 4 + 8 + 8 + 32 + 8 + 8 + 8 + 4 + 4)

size_t agent_ckpt_size(size_t n_pending, size_t trip_len)
{
	return CKPT_HDR + n_pending * sizeof(struct eco2_record) + trip_len + SIGNER_TAG_MAX + 1;
}

int agent_ckpt_encode(const struct agent_ckpt *c, signer_t *s, uint8_t **out, size_t *len)
{
	uint32_t magic = CKPT_MAGIC, n = (uint32_t)c->n_pending, trip_len = (uint32_t)c->trip_len;
	uint32_t rec_size = sizeof(struct eco2_record);
	size_t recs = c->n_pending * sizeof(struct eco2_record);
	size_t body = CKPT_HDR + recs + c->trip_len, tag_len = 0;
	uint8_t kid[8], *b;
	int ret;

	*out = NULL;
	*len = 0;
	if (c->n_pending > UINT32_MAX || c->trip_len > UINT32_MAX)
		return -EFBIG;
	b = malloc(agent_ckpt_size(c->n_pending, c->trip_len));
	if (!b)
		return -ENOMEM;
	signer_kid(s, kid);
	memcpy(b, &magic, 4);
	memcpy(b + 4, &rec_size, 4);
	memcpy(b + 8, kid, 8);
	memcpy(b + 16, &c->head_seq, 8);
	memcpy(b + 24, c->head_hash, 32);
	memcpy(b + 56, &c->replay_frames, 8);
	memcpy(b + 64, &c->replay_first_t_ns, 8);
	memcpy(b + 72, &c->next_flags, 8);
	memcpy(b + 80, &n, 4);
	memcpy(b + 84, &trip_len, 4);
	if (recs)
		memcpy(b + CKPT_HDR, c->pending, recs);
	if (c->trip_len)
		memcpy(b + CKPT_HDR + recs, c->trip, c->trip_len);
	ret = signer_tag(s, b, body, b + body, &tag_len);
	if (ret) {
		free(b);
		return ret;
	}
	b[body + tag_len] = (uint8_t)tag_len;
	*out = b;
	*len = body + tag_len + 1;
	return 0;
}

/* Split blob into body and tag and parse the body. */
static int parse(const uint8_t *blob, size_t len, struct agent_ckpt *c, size_t *body,
		 const char **why)
{
	uint32_t magic, n, rec_size, trip_len;
	size_t tag_len;

	memset(c, 0, sizeof(*c));
	*why = "too short";
	if (len < CKPT_HDR + 1)
		return -EINVAL;
	memcpy(&magic, blob, 4);
	memcpy(&rec_size, blob + 4, 4);
	*why = "not a tagged checkpoint of this build (another magic or record layout)";
	if (magic != CKPT_MAGIC || rec_size != sizeof(struct eco2_record))
		return -EINVAL;
	tag_len = blob[len - 1];
	*why = "truncated or of a wrong length";
	if (tag_len > len - 1 - CKPT_HDR)
		return -EINVAL;
	*body = len - 1 - tag_len;
	memcpy(&n, blob + 80, 4);
	memcpy(&trip_len, blob + 84, 4);
	if (n > (*body - CKPT_HDR) / rec_size ||
	    (size_t)trip_len != *body - CKPT_HDR - (size_t)n * rec_size)
		return -EINVAL;
	memcpy(c->kid, blob + 8, 8);
	memcpy(&c->head_seq, blob + 16, 8);
	memcpy(c->head_hash, blob + 24, 32);
	memcpy(&c->replay_frames, blob + 56, 8);
	memcpy(&c->replay_first_t_ns, blob + 64, 8);
	memcpy(&c->next_flags, blob + 72, 8);
	c->n_pending = n;
	c->pending_bytes = blob + CKPT_HDR;
	c->trip = blob + CKPT_HDR + (size_t)n * rec_size;
	c->trip_len = trip_len;
	*why = NULL;
	return 0;
}

int agent_ckpt_parse(const uint8_t *blob, size_t len, struct agent_ckpt *c, const char **why)
{
	const char *w;
	size_t body;
	int ret = parse(blob, len, c, &body, &w);

	if (why)
		*why = w;
	return ret;
}

int agent_ckpt_decode(const uint8_t *blob, size_t len, signer_t *s, struct agent_ckpt *c,
		      const char **why)
{
	const char *w = NULL;
	uint8_t kid[8];
	size_t body;
	int ret = parse(blob, len, c, &body, &w);

	if (ret)
		goto out;
	signer_kid(s, kid);
	ret = signer_tag_check(s, blob, body, blob + body, len - 1 - body);
	if (ret == -EBADMSG)
		w = memcmp(kid, c->kid, 8) ? "saved under another device key" :
		    "its tag does not verify: changed since the device saved it";
	else if (ret)
		w = "the key could not check its tag";
	if (ret)
		memset(c, 0, sizeof(*c));
out:
	if (why)
		*why = w;
	return ret;
}

void agent_ckpt_pending(const struct agent_ckpt *c, size_t i, struct eco2_record *out)
{
	memcpy(out, c->pending_bytes + i * sizeof(*out), sizeof(*out));
}
