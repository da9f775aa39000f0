/* limits — what bounds eco2-ledger's work per client before it does it:
 * a token bucket per client (its address, or its device), requests in
 * flight per device, and one budget for all request bodies held in
 * memory. Thread-safe; a fixed amount of memory whatever the clients do
 * (a full table forgets its least recently seen entries). */
#ifndef ECO2_LEDGER_LIMITS_H
#define ECO2_LEDGER_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

typedef struct limits limits_t;

struct limits_opts {
	double rate;                /* requests per second per client; 0: no limit */
	double burst;               /* bucket size; 0: 2 * rate */
	unsigned per_device;        /* POSTs in flight per device; 0: 1 */
	size_t body_memory;         /* bytes of bodies held at once; 0: 64 MiB */
	size_t table;               /* clients remembered; 0: 4096 */
};

int limits_new(limits_t **out, const struct limits_opts *o) __must_check;
void limits_free(limits_t *l);

/* Take a token for the client named by key[len] at now_ns (monotonic).
 * true: go on; false: *retry_after_s says when the next token comes (>= 1). */
bool limits_take(limits_t *l, const void *key, size_t len, uint64_t now_ns, unsigned *retry_after_s);

/* A device's request starts / ends: false when per_device are running. */
bool limits_enter(limits_t *l, const uint8_t kid[8]);
void limits_leave(limits_t *l, const uint8_t kid[8]);

/* Reserve / release n bytes of the body budget: false when it would be
 * exceeded. */
bool limits_reserve(limits_t *l, size_t n);
void limits_release(limits_t *l, size_t n);
size_t limits_reserved(limits_t *l);

#endif
