/* tree — the ledger's Merkle tree over the store: a batch of leaves
 * appended in memory while the sequencer lock is held, proofs for it
 * without a database read, proofs for anything else from stored subtrees,
 * and signed checkpoints. The algorithms are crypto/merkle.c's; this file
 * only says where each hash comes from. */
#ifndef ECO2_LEDGER_TREE_H
#define ECO2_LEDGER_TREE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"
#include "crypto/merkle.h"
#include "crypto/tlog.h"
#include "ledger/store.h"

/* The compact range of the tree as this process last appended to it: at
 * the next append, when the store's tree still has that size (no other
 * process appended), it is reused instead of read back. */
struct ltree_cache {
	pthread_mutex_t mu;
	struct merkle_compact c;
	bool valid;
};

void ltree_cache_init(struct ltree_cache *tc);

/* Leaves appended at [start, end), the subtrees they complete (what the
 * store must keep), the tree's compact range before and after. */
struct ltree_batch {
	uint64_t start;
	struct merkle_compact before, now;
	struct lstore_node *nodes;     /* completed subtrees, in order */
	size_t n_nodes, cap;
	struct {                       /* per level: where its nodes are (they
					  come with consecutive indices) */
		uint64_t first;
		size_t *pos, n, cap;
	} lv[64];
	bool oom;
	lstore_conn_t *conn;           /* for subtrees older than the batch */
};

/* Start a batch at the store's current tree size (read inside the
 * sequencer lock): the compact range from tc or the store. */
int ltree_batch_begin(struct ltree_batch *b, struct ltree_cache *tc, lstore_conn_t *c,
		      uint64_t size) __must_check;
/* Append a leaf; *index gets its leaf index. */
int ltree_batch_add(struct ltree_batch *b, const uint8_t leaf[32], uint64_t *index) __must_check;
/* After a commit: remember the compact range for the next batch. */
void ltree_batch_commit(struct ltree_batch *b, struct ltree_cache *tc);
void ltree_batch_free(struct ltree_batch *b);
/* merkle_node_fn over the batch, then the store (ctx: the batch). */
int ltree_batch_node(void *b, unsigned level, uint64_t index, uint8_t out[32]);

/* Subtrees read ahead for proofs of many stored leaves at once: the
 * nodes of each level around the leaves lo..hi (of a tree of size
 * leaves), a range read per level instead of a read per node. Proofs ask
 * ltree_memo_node, which falls back to next(next_ctx). */
struct ltree_memo {
	struct lstore_node *v;        /* sorted by (level, index) */
	size_t n, cap;
	merkle_node_fn *next;
	void *next_ctx;
};

int ltree_memo_fill(struct ltree_memo *m, lstore_conn_t *c, uint64_t lo, uint64_t hi,
		    uint64_t size) __must_check;
int ltree_memo_node(void *m, unsigned level, uint64_t index, uint8_t out[32]);
void ltree_memo_free(struct ltree_memo *m);

/* The checkpoint note of (size, root) signed by key (origin: its name)
 * into note[cap]: 0, or -ENOSPC / -EINVAL. */
int ltree_sign(const struct tlog_skey *key, uint64_t size, const uint8_t root[32], char *note,
	       size_t cap, size_t *len) __must_check;

/* The root of the stored tree at size (any size up to the tree's). */
int ltree_root(lstore_conn_t *c, uint64_t size, uint8_t root[32]) __must_check;

#endif
