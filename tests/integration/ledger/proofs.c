/* eco2-ledger-proofs — a tree built through the ledger's own store and
 * batches (ledger/store.h, ledger/tree.h), its roots and proofs printed for
 * an independent check (tests/integration/ledger/rfc9162.py):
 *
 *   eco2-ledger-proofs --store URL --leaves N [--pairs P] [--seed S]
 *
 * Leaf i holds the bytes "leaf-<i>". The leaves go in as the ledger's
 * ingest appends them: batches of random sizes under the sequencer. Then,
 * for every size n = 1..N: "R n <root hex>" and, for every leaf i < n,
 * "I n i <proof hex>"; then P random pairs m <= n: "C m n <proof hex>".
 * Hex strings are the proof's hashes concatenated ("-" for an empty
 * proof). Everything is read back from the store (proofs as the API
 * serves them). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "lib/log.h"
#include "crypto/merkle.h"
#include "ledger/store.h"
#include "ledger/tree.h"

static void put_hashes(const merkle_hash_t *p, size_t n)
{
	char hex[65];

	if (!n)
		fputs(" -", stdout);
	else
		fputc(' ', stdout);
	for (size_t i = 0; i < n; i++) {
		hex_encode(p[i], 32, hex);
		fputs(hex, stdout);
	}
	fputc('\n', stdout);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "store", 1, NULL, 's' }, { "leaves", 1, NULL, 'n' }, { "pairs", 1, NULL, 'p' },
		{ "seed", 1, NULL, 'S' }, { 0 },
	};
	struct lstore_opts so = { .connections = 1 };
	struct ltree_cache tc;
	lstore_t *st = NULL;
	lstore_conn_t *c = NULL;
	unsigned long leaves = 0, pairs = 0, seed = 1;
	uint64_t done = 0;
	int opt;

	log_open("eco2-ledger-proofs", LOG_TO_STDERR, LOG_WARNING);
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 's': so.url = optarg; break;
		case 'n': leaves = strtoul(optarg, NULL, 10); break;
		case 'p': pairs = strtoul(optarg, NULL, 10); break;
		case 'S': seed = strtoul(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (!so.url || !leaves || sodium_init() < 0 || lstore_open(&st, &so) || lstore_get(st, &c))
		return 2;
	ltree_cache_init(&tc);
	srandom((unsigned)seed);
	while (done < leaves) {
		struct ltree_batch b;
		struct lstore_append a = { .now_s = 0 };
		uint64_t size, n = 1 + (uint64_t)random() % 17, idx;

		if (n > leaves - done)
			n = leaves - done;
		if (LSTORE_CALL(c, seq_begin, &size) || size != done || ltree_batch_begin(&b, &tc, c, size))
			return 1;
		for (uint64_t i = 0; i < n; i++) {
			char d[32];
			uint8_t h[32];
			uint64_t leaf = done + i;
			int len = snprintf(d, sizeof(d), "leaf-%" PRIu64, leaf);

			merkle_leaf_hash((const uint8_t *)d, (size_t)len, h);
			if (ltree_batch_add(&b, h, &idx))
				return 1;
		}
		a.nodes = b.nodes;
		a.n_nodes = b.n_nodes;
		a.new_size = b.now.size;
		if (LSTORE_CALL(c, seq_append, &a) || LSTORE_CALL(c, seq_end, true))
			return 1;
		ltree_batch_commit(&b, &tc);
		ltree_batch_free(&b);
		done += n;
	}
	for (uint64_t n = 1; n <= leaves; n++) {
		uint8_t root[32];
		char hex[65];

		if (ltree_root(c, n, root))
			return 1;
		hex_encode(root, 32, hex);
		printf("R %llu %s\n", (unsigned long long)n, hex);
		for (uint64_t i = 0; i < n; i++) {
			merkle_hash_t p[MERKLE_PROOF_MAX];
			size_t len;

			if (merkle_inclusion_proof(lstore_node_cached, c, i, n, p, &len))
				return 1;
			printf("I %llu %llu", (unsigned long long)n, (unsigned long long)i);
			put_hashes(p, len);
		}
	}
	for (unsigned long k = 0; k < pairs; k++) {
		uint64_t n = 1 + (uint64_t)random() % leaves, m = (uint64_t)random() % (n + 1);
		merkle_hash_t p[MERKLE_PROOF_MAX];
		size_t len;

		if (merkle_consistency_proof(lstore_node_cached, c, m, n, p, &len))
			return 1;
		printf("C %llu %llu", (unsigned long long)m, (unsigned long long)n);
		put_hashes(p, len);
	}
	lstore_put(st, c, false);
	lstore_close(st);
	return fflush(stdout) ? 1 : 0;
}
