/* backoff — exponential back-off with full jitter. */
#include <sodium.h>

#include "upload/backoff.h"

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t cap_ms)
{
	b->base_ms = base_ms ? base_ms : 1;
	b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
	b->failures = 0;
	b->rand = NULL;
}

uint32_t backoff_ceiling_ms(const struct backoff *b)
{
	uint64_t c = b->base_ms;

	/* Stop doubling once past the cap: no overflow for any count. */
	for (unsigned i = 0; i < b->failures && c < b->cap_ms; i++)
		c *= 2;
	return c > b->cap_ms ? b->cap_ms : (uint32_t)c;
}

uint32_t backoff_fail(struct backoff *b)
{
	uint32_t ceil_ms = backoff_ceiling_ms(b);
	uint32_t wait;

	/* uniform in [0, ceil] inclusive */
	if (ceil_ms == UINT32_MAX)
		ceil_ms--;
	wait = b->rand ? b->rand(ceil_ms + 1) : randombytes_uniform(ceil_ms + 1);
	if (wait > ceil_ms)
		wait = ceil_ms;
	if (b->failures < 64)
		b->failures++;
	return wait;
}

uint32_t backoff_retry_after(struct backoff *b, uint64_t retry_after_s)
{
	uint64_t ms = retry_after_s > UINT32_MAX / 1000 ? UINT32_MAX : retry_after_s * 1000;

	if (b->failures < 64)
		b->failures++;
	return ms > b->cap_ms ? b->cap_ms : (uint32_t)ms;
}

void backoff_reset(struct backoff *b)
{
	b->failures = 0;
}
