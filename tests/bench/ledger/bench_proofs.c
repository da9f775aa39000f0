/* eco2-bench-proofs — proof rates of crypto/merkle.c (make bench):
 *
 *   eco2-bench-proofs [--leaves N] [--store URL]
 *
 * A tree of N leaves (default 1,000,000) held in memory as every perfect
 * subtree: inclusion and consistency proofs generated and verified per
 * second, and a receipt's bytes per record at that size. With --store, the
 * same tree appended through the ledger's store and batches, and
 * inclusion proofs generated from it (through its subtree cache), as
 * GET .../receipt does. Prints figures; never fails on timing. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "lib/log.h"
#include "crypto/merkle.h"
#include "ledger/store.h"
#include "ledger/tree.h"

struct mem {
	uint64_t n;
	uint8_t (*lv[64])[32];
};

static void emit(void *ctx, unsigned level, uint64_t index, const uint8_t h[32])
{
	struct mem *m = ctx;

	memcpy(m->lv[level][index], h, 32);
}

static int node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	struct mem *m = ctx;

	if (((index + 1) << level) > m->n)
		return -ENOENT;
	memcpy(out, m->lv[level][index], 32);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "leaves", 1, NULL, 'n' }, { "store", 1, NULL, 's' }, { 0 } };
	uint64_t n = 1000000, seed = 88172645463325252ull;
	const char *url = NULL;
	struct merkle_compact c;
	struct mem m = { 0 };
	merkle_hash_t p[MERKLE_PROOF_MAX];
	uint8_t root[32];
	size_t len, hashes = 0;
	double t, dt;
	int opt, k, iters = 200000;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (opt == 's')
			url = optarg;
		else
			return 2;
	}
	if (sodium_init() < 0 || n < 2)
		return 1;
	log_open("eco2-bench-proofs", LOG_TO_STDERR, LOG_WARNING);
	for (unsigned l = 0; l < 64 && (n >> l); l++)
		if (!(m.lv[l] = malloc((n >> l) * 32)))
			return 1;
	merkle_compact_init(&c);
	t = now_s();
	for (uint64_t i = 0; i < n; i++) {
		uint8_t d[8], h[32];

		memcpy(d, &i, 8);
		merkle_leaf_hash(d, 8, h);
		if (merkle_compact_append(&c, h, emit, &m))
			return 1;
	}
	m.n = n;
	dt = now_s() - t;
	printf("bench_proofs: a tree of %llu leaves appended in %.2f s: %.0f leaves/s\n",
	       (unsigned long long)n, dt, (double)n / dt);
	merkle_compact_root(&c, root);
	t = now_s();
	for (k = 0; k < iters; k++) {
		uint64_t i = rnd(&seed) % n;

		if (merkle_inclusion_proof(node, &m, i, n, p, &len))
			return 1;
		hashes += len;
	}
	dt = now_s() - t;
	printf("  inclusion proofs generated: %.0f/s (%.1f hashes each)\n", iters / dt, (double)hashes / iters);
	{
		uint64_t i = rnd(&seed) % n;
		double t2;

		if (merkle_inclusion_proof(node, &m, i, n, p, &len))
			return 1;
		t2 = now_s();
		for (k = 0; k < iters; k++)
			if (merkle_verify_inclusion(i, n, m.lv[0][i], p, len, root))
				return 1;
		printf("  inclusion proofs verified: %.0f/s\n", iters / (now_s() - t2));
	}
	t = now_s();
	for (k = 0; k < iters / 10; k++) {
		uint64_t a = 1 + rnd(&seed) % (n - 1);
		uint8_t ra[32];

		if (merkle_consistency_proof(node, &m, a, n, p, &len) || merkle_root(node, &m, a, ra) ||
		    merkle_verify_consistency(a, n, ra, root, p, len))
			return 1;
	}
	printf("  consistency proofs generated, the old root computed, verified: %.0f/s\n", (double)iters / 10 / (now_s() - t));
	printf("  a receipt's entry at this size: about %.0f bytes per record (%.1f hashes of 45 bytes, the seq and index)\n",
	       (double)hashes / iters * 45 + 16, (double)hashes / iters);
	if (url) {
		struct lstore_opts so = { .url = url, .connections = 1 };
		struct ltree_cache tc;
		lstore_t *st = NULL;
		lstore_conn_t *cn = NULL;
		uint64_t done = 0, size;

		if (lstore_open(&st, &so) || lstore_get(st, &cn))
			return 1;
		ltree_cache_init(&tc);
		t = now_s();
		while (done < n) {
			struct ltree_batch b;
			struct lstore_append a = { .now_s = 0 };
			uint64_t idx;

			if (LSTORE_CALL(cn, seq_begin, &size) || ltree_batch_begin(&b, &tc, cn, size))
				return 1;
			for (int i = 0; i < 1000 && done < n; i++, done++)
				if (ltree_batch_add(&b, m.lv[0][done], &idx))
					return 1;
			a.nodes = b.nodes;
			a.n_nodes = b.n_nodes;
			a.new_size = b.now.size;
			if (LSTORE_CALL(cn, seq_append, &a) || LSTORE_CALL(cn, seq_end, true))
				return 1;
			ltree_batch_commit(&b, &tc);
			ltree_batch_free(&b);
		}
		printf("  through the store (%s): %llu leaves appended in batches of 1000 at %.0f leaves/s\n",
		       lstore_backend(st), (unsigned long long)n, (double)n / (now_s() - t));
		t = now_s();
		for (k = 0; k < 20000; k++) {
			uint64_t i = rnd(&seed) % n;

			if (merkle_inclusion_proof(lstore_node_cached, cn, i, n, p, &len))
				return 1;
		}
		printf("  inclusion proofs from the store, random leaves: %.0f/s\n", 20000 / (now_s() - t));
		lstore_put(st, cn, false);
		lstore_close(st);
	}
	for (unsigned l = 0; l < 64; l++)
		free(m.lv[l]);
	return 0;
}
