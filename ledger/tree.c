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
	*len = (size_t)n + (size_t)l;
	return 0;
}

int ltree_root(lstore_conn_t *c, uint64_t size, uint8_t root[32])
{
	return merkle_root(lstore_node_cached, c, size, root);
}

struct memo_fill {
	struct ltree_memo *m;
	unsigned level;
};

static int memo_add(void *ctx, uint64_t index, const uint8_t hash[32])
{
	struct memo_fill *f = ctx;
	struct ltree_memo *m = f->m;

	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 1024;
		struct lstore_node *nv = realloc(m->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		m->v = nv;
		m->cap = ncap;
	}
	m->v[m->n].level = f->level;
	m->v[m->n].index = index;
	memcpy(m->v[m->n].hash, hash, 32);
	m->n++;
	return 0;
}

int ltree_memo_fill(struct ltree_memo *m, lstore_conn_t *c, uint64_t lo, uint64_t hi, uint64_t size)
{
	uint64_t width = hi - lo + 1;
	int ret = 0;

	/* levels ascend and indices ascend within each: v stays sorted */
	for (unsigned l = 0; l < 64 && !ret; l++) {
		struct memo_fill f = { m, l };
		uint64_t a = lo >> l, b = (hi >> l) + 1, top;

		if (!(size >> l))
			break;
		top = (size >> l) - 1;          /* the last complete subtree */
		a = a ? a - 1 : 0;
		if (b > top)
			b = top;
		if (a > b)
			continue;
		if (b - a > 4 * width + 64)     /* sparse leaves: not worth a range */
			continue;
		ret = LSTORE_CALL(c, nodes, l, a, b, memo_add, &f);
	}
	return ret;
}

int ltree_memo_node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	struct ltree_memo *m = ctx;
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct lstore_node *x = &m->v[mid];

		if (x->level == level && x->index == index) {
			memcpy(out, x->hash, 32);
			return 0;
		}
		if (x->level < level || (x->level == level && x->index < index))
			lo = mid + 1;
		else
			hi = mid;
	}
	return m->next(m->next_ctx, level, index, out);
}

void ltree_memo_free(struct ltree_memo *m)
{
	if (!m)
		return;
	free(m->v);
	memset(m, 0, sizeof(*m));
}
