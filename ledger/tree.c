/* tree — batches, stored subtrees and checkpoints of the ledger's tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/tree.h"

void ltree_cache_init(struct ltree_cache *tc)
{
	memset(tc, 0, sizeof(*tc));
	pthread_mutex_init(&tc->mu, NULL);
}

int ltree_batch_begin(struct ltree_batch *b, struct ltree_cache *tc, lstore_conn_t *c, uint64_t size)
{
	bool hit = false;
	int ret = 0;

	memset(b, 0, sizeof(*b));
	b->conn = c;
	b->start = size;
	pthread_mutex_lock(&tc->mu);
	if (tc->valid && tc->c.size == size) {
		b->before = tc->c;
		hit = true;
	}
	pthread_mutex_unlock(&tc->mu);
	if (!hit)
		ret = merkle_compact_load(&b->before, size, lstore_node_cached, c);
	b->now = b->before;
	return ret;
}

static void emit(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
	struct ltree_batch *b = ctx;

	/* room in nodes was made before the append */
	if (!b->lv[level].n)
		b->lv[level].first = index;
	if (b->lv[level].n == b->lv[level].cap) {
		size_t ncap = b->lv[level].cap ? b->lv[level].cap * 2 : 64;
		size_t *np = realloc(b->lv[level].pos, ncap * sizeof(*np));

		if (!np) {
			b->oom = true;
			return;
		}
		b->lv[level].pos = np;
		b->lv[level].cap = ncap;
	}
	b->lv[level].pos[b->lv[level].n++] = b->n_nodes;
	b->nodes[b->n_nodes].level = level;
	b->nodes[b->n_nodes].index = index;
	memcpy(b->nodes[b->n_nodes].hash, hash, 32);
	b->n_nodes++;
}

int ltree_batch_add(struct ltree_batch *b, const uint8_t leaf[32], uint64_t *index)
{
	/* one leaf completes at most 64 subtrees */
	if (b->n_nodes + 65 > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 256;
		struct lstore_node *nn = realloc(b->nodes, ncap * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		b->nodes = nn;
		b->cap = ncap;
	}
	*index = b->now.size;
	if (merkle_compact_append(&b->now, leaf, emit, b))
		return -EOVERFLOW;
	return b->oom ? -ENOMEM : 0;
}

void ltree_batch_commit(struct ltree_batch *b, struct ltree_cache *tc)
{
	pthread_mutex_lock(&tc->mu);
	tc->c = b->now;
	tc->valid = true;
	pthread_mutex_unlock(&tc->mu);
}

void ltree_batch_free(struct ltree_batch *b)
{
	if (!b)
		return;
	free(b->nodes);
	for (int l = 0; l < 64; l++)
		free(b->lv[l].pos);
	memset(b, 0, sizeof(*b));
}

int ltree_batch_node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	struct ltree_batch *b = ctx;

	if (level < 64 && b->lv[level].n && index >= b->lv[level].first &&
	    index - b->lv[level].first < b->lv[level].n) {
		memcpy(out, b->nodes[b->lv[level].pos[index - b->lv[level].first]].hash, 32);
		return 0;
	}
	if (!merkle_compact_node(&b->before, level, index, out))
		return 0;
	return lstore_node_cached(b->conn, level, index, out);
}

int ltree_sign(const struct tlog_skey *key, uint64_t size, const uint8_t root[32], char *note,
	       size_t cap, size_t *len)
{
	struct tlog_checkpoint c;
	int n, l;

	memset(&c, 0, sizeof(c));
	memcpy(c.origin, key->name, sizeof(c.origin));
	c.size = size;
	memcpy(c.root, root, 32);
	n = tlog_checkpoint_format(&c, note, cap);
	if (n < 0)
		return n;
	if ((size_t)n + 2 >= cap)
		return -ENOSPC;
	note[n++] = '\n';
	l = tlog_sign_line(note, (size_t)n - 1, key, note + n, cap - (size_t)n);
	if (l < 0)
		return l;
	*len = (size_t)(n + l);
	return 0;
}

int ltree_root(lstore_conn_t *c, uint64_t size, uint8_t root[32])
{
	return merkle_root(lstore_node_cached, c, size, root);
}
