/* limits — token buckets, per-device requests in flight, body budget. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "ledger/limits.h"

#define KEY_MAX 24                  /* an IPv6 address and a tag fit */
#define PROBE 8                     /* slots looked at for a key */

struct bucket {
	uint8_t key[KEY_MAX];
	uint8_t len;                /* 0: empty */
	double tokens;
	uint64_t seen_ns;
};

struct inflight {
	uint8_t kid[8];
	unsigned n;
};

struct limits {
	struct limits_opts o;
	pthread_mutex_t mu;
	struct bucket *b;
	struct inflight *f;         /* o.table slots, linear probing */
	size_t reserved;
};

int limits_new(limits_t **out, const struct limits_opts *o)
{
	limits_t *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->o = *o;
	if (l->o.burst <= 0)
		l->o.burst = 2 * l->o.rate;
	if (l->o.burst < 1)
		l->o.burst = 1;
	if (!l->o.per_device)
		l->o.per_device = 1;
	if (!l->o.body_memory)
		l->o.body_memory = (size_t)64 << 20;
	if (l->o.table < PROBE)
		l->o.table = 4096;
	l->b = calloc(l->o.table, sizeof(*l->b));
	l->f = calloc(l->o.table, sizeof(*l->f));
	if (!l->b || !l->f) {
		limits_free(l);
		return -ENOMEM;
	}
	pthread_mutex_init(&l->mu, NULL);
	*out = l;
	return 0;
}

void limits_free(limits_t *l)
{
	if (!l)
		return;
	free(l->b);
	free(l->f);
	free(l);
}

bool limits_take(limits_t *l, const void *key, size_t len, uint64_t now_ns, unsigned *retry_after_s)
{
	struct bucket *b = NULL, *oldest = NULL;
	size_t h;
	bool ok;

	if (l->o.rate <= 0)
		return true;
	if (len > KEY_MAX)
		len = KEY_MAX;
	h = (size_t)(fnv1a64(key, len) % l->o.table);
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < PROBE; i++) {
		struct bucket *s = &l->b[(h + i) % l->o.table];

		if (s->len == len && !memcmp(s->key, key, len)) {
			b = s;
			break;
		}
		if (!oldest || !s->len || (oldest->len && s->seen_ns < oldest->seen_ns))
			oldest = s;
	}
	if (!b) {
		/* a new client, in an empty slot or the least recently seen */
		b = oldest;
		memcpy(b->key, key, len);
		b->len = (uint8_t)len;
		b->tokens = l->o.burst;
		b->seen_ns = now_ns;
	}
	if (now_ns > b->seen_ns) {
		b->tokens += (double)(now_ns - b->seen_ns) / 1e9 * l->o.rate;
		if (b->tokens > l->o.burst)
			b->tokens = l->o.burst;
	}
	b->seen_ns = now_ns;
	ok = b->tokens >= 1;
	if (ok)
		b->tokens -= 1;
	else if (retry_after_s) {
		double wait = ceil((1 - b->tokens) / l->o.rate);

		*retry_after_s = wait < 1 ? 1 : wait > 86400 ? 86400 : (unsigned)wait;
	}
	pthread_mutex_unlock(&l->mu);
	return ok;
}

static struct inflight *slot(limits_t *l, const uint8_t kid[8], bool make)
{
	size_t h = (size_t)(fnv1a64(kid, 8) % l->o.table);

	for (size_t i = 0; i < l->o.table; i++) {
		struct inflight *s = &l->f[(h + i) % l->o.table];

		if (s->n && !memcmp(s->kid, kid, 8))
			return s;
		if (!s->n)
			return make ? s : NULL;
	}
	return NULL;
}

bool limits_enter(limits_t *l, const uint8_t kid[8])
{
	struct inflight *s;
	bool ok = false;

	pthread_mutex_lock(&l->mu);
	s = slot(l, kid, true);
	if (s && s->n < l->o.per_device) {
		memcpy(s->kid, kid, 8);
		s->n++;
		ok = true;
	}
	pthread_mutex_unlock(&l->mu);
	return ok;
}

void limits_leave(limits_t *l, const uint8_t kid[8])
{
	struct inflight *s;

	pthread_mutex_lock(&l->mu);
	s = slot(l, kid, false);
	if (s && s->n && !--s->n) {
		/* keep the probe chains whole: re-place what follows */
		size_t i = (size_t)(s - l->f);

		for (size_t k = 1; k < l->o.table; k++) {
			struct inflight *t = &l->f[(i + k) % l->o.table], moved;

			if (!t->n)
				break;
			moved = *t;
			t->n = 0;
			*slot(l, moved.kid, true) = moved;
		}
	}
	pthread_mutex_unlock(&l->mu);
}

bool limits_reserve(limits_t *l, size_t n)
{
	bool ok;

	pthread_mutex_lock(&l->mu);
	ok = n <= l->o.body_memory - l->reserved;
	if (ok)
		l->reserved += n;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

void limits_release(limits_t *l, size_t n)
{
	pthread_mutex_lock(&l->mu);
	l->reserved -= n <= l->reserved ? n : l->reserved;
	pthread_mutex_unlock(&l->mu);
}

size_t limits_reserved(limits_t *l)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->reserved;
	pthread_mutex_unlock(&l->mu);
	return n;
}
