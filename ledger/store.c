/* store — the back-end table, the connection pool, the subtree cache. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "ledger/store.h"

/* Subtree hashes never change once stored: a direct-mapped cache keeps
 * the ones proofs ask for most (the upper levels) out of the database. */
#define CACHE_SLOTS 16384

struct cache_slot {
	uint64_t index;
	uint8_t level;                /* 0xff: empty */
	uint8_t hash[32];
};

struct lstore_conn {
	lstore_t *s;
	void *raw;
	bool busy, broken;
};

struct lstore {
	const struct lstore_ops *ops;
	struct lstore_opts o;
	char *url;
	struct lstore_conn *conns;
	unsigned n;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_mutex_t cache_mu;
	struct cache_slot *cache;
};

static const struct lstore_ops *ops_for(const char *url)
{
	if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11) ||
	    !strncmp(url, "postgresql:", 11)) {
#if IS_ENABLED(CONFIG_LEDGER_POSTGRES)
		return &lstore_pg_ops;
#else
		log_err("store %s: this eco2-ledger is built without PostgreSQL (CONFIG_LEDGER_POSTGRES)", url);
		return NULL;
#endif
	}
	if (strstr(url, "://")) {
		log_err("store %s: expected sqlite:PATH, a path, or postgresql://...", url);
		return NULL;
	}
	return &lstore_sqlite_ops;
}

int lstore_open(lstore_t **out, const struct lstore_opts *o)
{
	lstore_t *s = calloc(1, sizeof(*s));
	int ret = -ENOMEM;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->cache_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->o = *o;
	if (!s->o.connections)
		s->o.connections = 4;
	if (!s->o.wait_ms)
		s->o.wait_ms = 5000;
	s->url = strdup(o->url);
	s->cache = malloc(CACHE_SLOTS * sizeof(*s->cache));
	s->conns = calloc(s->o.connections, sizeof(*s->conns));
	if (!s->url || !s->cache || !s->conns)
		goto out;
	s->o.url = s->url;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		s->cache[i].level = 0xff;
	ret = -EINVAL;
	s->ops = ops_for(s->url);
	if (!s->ops)
		goto out;
	for (unsigned i = 0; i < s->o.connections; i++) {
		s->conns[i].s = s;
		ret = s->ops->connect(&s->o, &s->conns[i].raw);
		if (ret)
			goto out;
		s->n++;
		if (i == 0) {
			ret = s->ops->init(s->conns[0].raw, &s->o);
			if (ret)
				goto out;
		}
	}
	*out = s;
	s = NULL;
	ret = 0;
out:
	lstore_close(s);
	return ret;
}

void lstore_close(lstore_t *s)
{
	if (!s)
		return;
	for (unsigned i = 0; s->ops && s->conns && i < s->n; i++)
		if (s->conns[i].raw)
			s->ops->disconnect(s->conns[i].raw);
	free(s->conns);
	free(s->cache);
	free(s->url);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->cache_mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

const char *lstore_backend(const lstore_t *s)
{
	return s->ops->name;
}

int lstore_get(lstore_t *s, lstore_conn_t **c)
{
	struct timespec until;
	int ret = -ETIMEDOUT;

	*c = NULL;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += s->o.wait_ms / 1000;
	until.tv_nsec += (long)(s->o.wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (unsigned i = 0; i < s->n; i++)
			if (!s->conns[i].busy) {
				s->conns[i].busy = true;
				*c = &s->conns[i];
				break;
			}
		if (*c || pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&s->mu);
	if (!*c)
		return ret;
	if ((*c)->broken) {
		/* reconnect outside the pool's lock */
		void *raw = NULL;

		ret = s->ops->connect(&s->o, &raw);
		if (ret) {
			lstore_put(s, *c, true);
			*c = NULL;
			return -EIO;
		}
		s->ops->disconnect((*c)->raw);
		(*c)->raw = raw;
		(*c)->broken = false;
	}
	return 0;
}

void lstore_put(lstore_t *s, lstore_conn_t *c, bool failed)
{
	if (!c)
		return;
	pthread_mutex_lock(&s->mu);
	c->busy = false;
	if (failed)
		c->broken = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

const struct lstore_ops *lstore_conn_ops(lstore_conn_t *c)
{
	return c->s->ops;
}

void *lstore_conn_raw(lstore_conn_t *c)
{
	return c->raw;
}

static size_t slot_of(unsigned level, uint64_t index)
{
	uint64_t h = (index + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)level * 0xc2b2ae3d27d4eb4full;

	return (size_t)(h >> 40) % CACHE_SLOTS;
}

int lstore_node_cached(void *conn, unsigned level, uint64_t index, uint8_t out[32])
{
	lstore_conn_t *c = conn;
	lstore_t *s = c->s;
	struct cache_slot *sl = &s->cache[slot_of(level, index)];
	int ret;

	pthread_mutex_lock(&s->cache_mu);
	if (sl->level == level && sl->index == index) {
		memcpy(out, sl->hash, 32);
		pthread_mutex_unlock(&s->cache_mu);
		return 0;
	}
	pthread_mutex_unlock(&s->cache_mu);
	ret = s->ops->node(c->raw, level, index, out);
	if (ret)
		return ret;
	pthread_mutex_lock(&s->cache_mu);
	sl->level = (uint8_t)level;
	sl->index = index;
	memcpy(sl->hash, out, 32);
	pthread_mutex_unlock(&s->cache_mu);
	return 0;
}
