/* backoff — exponential back-off with full jitter for retrying the ledger.
 *
 * The n-th consecutive failure waits a uniformly random time in
 * [0, min(cap, base x 2^n)] ("full jitter"): a fleet that lost the ledger
 * together does not come back in lock step. The random source is
 * libsodium's randombytes_uniform() (the kernel CSPRNG), never the C
 * library's predictable generator. */
#ifndef ECO2_BACKOFF_H
#define ECO2_BACKOFF_H

#include <stdint.h>

/* Returns a uniform integer in [0, upper). */
typedef uint32_t backoff_rand_fn(uint32_t upper);

struct backoff {
	uint32_t base_ms;          /* first ceiling; >= 1 */
	uint32_t cap_ms;           /* largest ceiling; >= base_ms */
	unsigned failures;         /* consecutive failures so far */
	backoff_rand_fn *rand;     /* NULL: randombytes_uniform */
};

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t cap_ms);

/* The ceiling for the next wait: min(cap, base x 2^failures). */
uint32_t backoff_ceiling_ms(const struct backoff *b);

/* Count a failure and return how long to wait before the next try, in
 * [0, ceiling] (the ceiling before this failure was counted). */
uint32_t backoff_fail(struct backoff *b);

/* The server said when to come back (Retry-After, in seconds): wait that
 * long, bounded by the cap, and count a failure. */
uint32_t backoff_retry_after(struct backoff *b, uint64_t retry_after_s);

/* A success: the next failure starts again from base. */
void backoff_reset(struct backoff *b);

#endif
