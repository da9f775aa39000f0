/* Unit tests for ledger/store.c, the back end it picks and ledger/tree.c:
 * one suite for every back end. By default it runs on a new SQLite file;
 * with LEDGER_TEST_STORE=postgresql://... (set by
 * tests/integration/ledger_postgres.sh, on a server it started itself) the
 * same cases run on an empty PostgreSQL database.
 *   devices     registered once; the same key again is "already"; another
 *               key under the kid is refused
 *   append      batches of leaves appended under the sequencer: records,
 *               heads, the tree size, every stored subtree equal to what a
 *               compact range computes; the root of every size equal to
 *               crypto/merkle.c over the leaves; a rolled-back batch leaves
 *               nothing; (kid, seq) stored twice is refused by the store
 *   reads       hashes and records by seq ranges and pages
 *   sequencer   a second connection's seq_begin waits for the first's
 *               commit and then sees its tree size
 *   log         checkpoints stored once per size, the latest; cosignatures
 *               replaced per witness; fork evidence capped per device */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "crypto/merkle.h"
#include "ledger/store.h"
#include "ledger/tree.h"

static char url[512];
static char dir[64];
static lstore_t *st;

static int setup(void **state)
{
	const char *env = getenv("LEDGER_TEST_STORE");
	struct lstore_opts o = { 0 };

	(void)state;
	if (env && *env) {
		snprintf(url, sizeof(url), "%s", env);
	} else {
		snprintf(dir, sizeof(dir), "/tmp/eco2-store.XXXXXX");
		if (!mkdtemp(dir))
			return -1;
		snprintf(url, sizeof(url), "sqlite:%s/ledger.db", dir);
	}
	o.url = url;
	o.connections = 3;
	o.wait_ms = 2000;
	return lstore_open(&st, &o);
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	lstore_close(st);
	if (dir[0]) {
		static const char *const files[] = { "ledger.db", "ledger.db-wal", "ledger.db-shm" };

		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			unlink(path);
		}
		rmdir(dir);
	}
	return 0;
}

static void test_devices(void **state)
{
	lstore_conn_t *c;
	struct lstore_device d = { .kid = { 1, 2, 3, 4, 5, 6, 7, 8 }, .alg = -8, .pub_len = 32 }, got;

	(void)state;
	memset(d.pub, 0x42, 32);
	assert_int_equal(lstore_get(st, &c), 0);
	assert_int_equal(LSTORE_CALL(c, device_get, d.kid, &got), -ENOENT);
	assert_int_equal(LSTORE_CALL(c, device_put, &d, (const uint8_t *)"spki", 4,
				     (const uint8_t *)"cert", 4, 1), 0);
	assert_int_equal(LSTORE_CALL(c, device_put, &d, (const uint8_t *)"spki", 4,
				     (const uint8_t *)"cert", 4, 2), 1);
	assert_int_equal(LSTORE_CALL(c, device_get, d.kid, &got), 0);
	assert_int_equal(got.alg, -8);
	assert_int_equal(got.pub_len, 32);
	assert_memory_equal(got.pub, d.pub, 32);
	d.pub[0] ^= 1;
	assert_int_equal(LSTORE_CALL(c, device_put, &d, (const uint8_t *)"spki", 4,
				     (const uint8_t *)"cert", 4, 3), -EEXIST);
	lstore_put(st, c, false);
}

/* The reference: every leaf appended so far, hashed. */
static uint8_t leaves[600][32];
static uint8_t bodies[600][24];
static size_t n_leaves;
static uint64_t next_seq[4];
static uint8_t last_hash[4][32];

/* MTH of leaves[lo, hi) by the RFC's recursion (the oracle). */
static void mth(size_t lo, size_t hi, uint8_t out[32])
{
	size_t k = 1;
	uint8_t l[32], r[32];

	if (hi - lo == 1) {
		memcpy(out, leaves[lo], 32);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	mth(lo, lo + k, l);
	mth(lo + k, hi, r);
	merkle_node_hash(l, r, out);
}

/* Append n records of device dev in one sequenced batch. */
static int append(unsigned dev, size_t n, bool commit)
{
	static struct ltree_cache tc;
	static bool tc_init;
	lstore_conn_t *c;
	struct ltree_batch b;
	struct lstore_rec recs[64];
	struct lstore_head h;
	uint64_t size;
	uint8_t kid[8] = { 0xd0, 0, 0, 0, 0, 0, 0, (uint8_t)dev };
	uint8_t sha[64][32];
	int ret;

	if (!tc_init) {
		ltree_cache_init(&tc);
		tc_init = true;
	}
	assert_true(n <= 64);
	assert_int_equal(lstore_get(st, &c), 0);
	assert_int_equal(LSTORE_CALL(c, seq_begin, &size), 0);
	assert_int_equal(size, n_leaves);
	assert_int_equal(ltree_batch_begin(&b, &tc, c, size), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t *body = bodies[n_leaves + i];
		uint64_t idx;

		memset(body, 0, 24);
		memcpy(body, kid, 8);
		next_seq[dev]++;
		memcpy(body + 8, &next_seq[dev], 8);
		body[16] = (uint8_t)commit;
		crypto_hash_sha256(sha[i], body, 24);
		merkle_leaf_hash(body, 24, leaves[n_leaves + i]);
		assert_int_equal(ltree_batch_add(&b, leaves[n_leaves + i], &idx), 0);
		assert_int_equal(idx, n_leaves + i);
		recs[i] = (struct lstore_rec){ kid, next_seq[dev], body, 24, sha[i], idx };
	}
	memcpy(h.kid, kid, 8);
	h.seq = next_seq[dev];
	memcpy(h.hash, sha[n - 1], 32);
	{
		struct lstore_append a = { recs, n, b.nodes, b.n_nodes, &h, 1, b.now.size, 7 };

		assert_int_equal(LSTORE_CALL(c, seq_append, &a), 0);
	}
	ret = LSTORE_CALL(c, seq_end, commit);
	if (commit) {
		ltree_batch_commit(&b, &tc);
		n_leaves += n;
		memcpy(last_hash[dev], sha[n - 1], 32);
	} else {
		next_seq[dev] -= n;
	}
	ltree_batch_free(&b);
	lstore_put(st, c, false);
	return ret;
}

static void test_append(void **state)
{
	lstore_conn_t *c;
	uint64_t size, seq;
	uint8_t h[32], want[32], got[32];
	size_t sizes[] = { 1, 2, 5, 13, 31, 64, 40, 3, 7, 9 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		assert_int_equal(append((unsigned)(i % 4), sizes[i], true), 0);
	/* rolled back: nothing of it stays */
	assert_int_equal(append(1, 10, false), 0);
	assert_int_equal(lstore_get(st, &c), 0);
	assert_int_equal(LSTORE_CALL(c, tree_size, &size), 0);
	assert_int_equal(size, n_leaves);
	for (unsigned d = 0; d < 4; d++) {
		uint8_t kid[8] = { 0xd0, 0, 0, 0, 0, 0, 0, (uint8_t)d };

		assert_int_equal(LSTORE_CALL(c, head, kid, &seq, h), 0);
		assert_int_equal(seq, next_seq[d]);
		assert_memory_equal(h, last_hash[d], 32);
	}
	/* every size's root, from stored subtrees, against the recursion */
	for (size_t n = 1; n <= n_leaves; n++) {
		mth(0, n, want);
		assert_int_equal(ltree_root(c, n, got), 0);
		assert_memory_equal(got, want, 32);
	}
	/* inclusion proofs from the store verify against the oracle's root */
	for (size_t i = 0; i < n_leaves; i += 7) {
		merkle_hash_t p[MERKLE_PROOF_MAX];
		size_t len;

		mth(0, n_leaves, want);
		assert_int_equal(merkle_inclusion_proof(lstore_node_cached, c, i, n_leaves, p, &len), 0);
		assert_int_equal(merkle_verify_inclusion(i, n_leaves, leaves[i], p, len, want), 0);
	}
	lstore_put(st, c, false);
}

static void test_unique(void **state)
{
	lstore_conn_t *c;
	uint64_t size;
	uint8_t kid[8] = { 0xd0, 0, 0, 0, 0, 0, 0, 0 }, sha[32] = { 0 };
	struct lstore_rec r = { kid, 1, (const uint8_t *)"x", 1, sha, 999999 };
	struct lstore_append a = { &r, 1, NULL, 0, NULL, 0, 0, 0 };

	(void)state;
	assert_int_equal(lstore_get(st, &c), 0);
	assert_int_equal(LSTORE_CALL(c, seq_begin, &size), 0);
	a.new_size = size;
	assert_int_equal(LSTORE_CALL(c, seq_append, &a), -EIO);
	assert_int_equal(LSTORE_CALL(c, seq_end, false), 0);
	lstore_put(st, c, true);
	/* the broken connection is replaced before its next use */
	assert_int_equal(lstore_get(st, &c), 0);
	assert_int_equal(LSTORE_CALL(c, tree_size, &size), 0);
	assert_int_equal(size, n_leaves);
	lstore_put(st, c, false);
}

struct seen {
	uint64_t seq[128];
	size_t n, bytes;
};

static int on_rec(void *ctx, uint64_t seq, const uint8_t *cose, size_t len)
{
	struct seen *s = ctx;

	(void)cose;
	s->seq[s->n++] = seq;
	s->bytes += len;
	return 0;
}

static int on_hash(void *ctx, uint64_t seq, const uint8_t hash[32], uint64_t leaf)
{
	struct seen *s = ctx;

	(void)hash;
	(void)leaf;
	s->seq[s->n++] = seq;
	return 0;
}

static void test_reads(void **state)
{
	lstore_conn_t *c;
	struct seen s = { .n = 0 };
	uint8_t kid[8] = { 0xd0, 0, 0, 0, 0, 0, 0, 1 };

	(void)state;
	assert_int_equal(lstore_get(st, &c), 0);
	assert_int_equal(LSTORE_CALL(c, records, kid, 3, 5, on_rec, &s), 0);
	assert_int_equal(s.n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(s.seq[i], 3 + i);
	assert_int_equal(s.bytes, 5 * 24);
	s.n = 0;
	assert_int_equal(LSTORE_CALL(c, hashes, kid, 2, 4, on_hash, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.seq[2], 4);
	s.n = 0;
	assert_int_equal(LSTORE_CALL(c, records, kid, next_seq[1] + 1, 5, on_rec, &s), 0);
	assert_int_equal(s.n, 0);
	lstore_put(st, c, false);
}

struct waiter {
	uint64_t size;
	struct timespec when;
	int ret;
};

static void *second(void *arg)
{
	struct waiter *w = arg;
	lstore_conn_t *c;

	w->ret = lstore_get(st, &c);
	if (w->ret)
		return NULL;
	w->ret = LSTORE_CALL(c, seq_begin, &w->size);
	clock_gettime(CLOCK_MONOTONIC, &w->when);
	if (!w->ret)
		w->ret = LSTORE_CALL(c, seq_end, true);
	lstore_put(st, c, false);
	return NULL;
}

static void test_sequencer(void **state)
{
	lstore_conn_t *c;
	pthread_t t;
	struct waiter w = { 0 };
	struct timespec committed;
	uint64_t size;
	uint8_t kid[8] = { 0xd0, 0, 0, 0, 0, 0, 0, 9 }, sha[32] = { 1 };
	uint8_t leaf[32] = { 2 };
	struct lstore_rec r = { kid, 1, (const uint8_t *)"y", 1, sha, 0 };
	struct lstore_node nd = { 0, 0, { 0 } };
	struct lstore_append a = { &r, 1, &nd, 1, NULL, 0, 0, 0 };

	(void)state;
	assert_int_equal(lstore_get(st, &c), 0);
	assert_int_equal(LSTORE_CALL(c, seq_begin, &size), 0);
	assert_int_equal(pthread_create(&t, NULL, second, &w), 0);
	usleep(300000);
	/* one leaf appended by hand: its subtree is the leaf itself */
	r.leaf = nd.index = size;
	memcpy(nd.hash, leaf, 32);
	a.new_size = size + 1;
	assert_int_equal(LSTORE_CALL(c, seq_append, &a), 0);
	clock_gettime(CLOCK_MONOTONIC, &committed);
	assert_int_equal(LSTORE_CALL(c, seq_end, true), 0);
	lstore_put(st, c, false);
	pthread_join(t, NULL);
	assert_int_equal(w.ret, 0);
	/* the second began after the first committed, and saw its leaf */
	assert_true(w.when.tv_sec > committed.tv_sec ||
		    (w.when.tv_sec == committed.tv_sec && w.when.tv_nsec >= committed.tv_nsec));
	assert_int_equal(w.size, size + 1);
	memcpy(leaves[n_leaves++], leaf, 32);
}

static int on_line(void *ctx, const char *line, size_t len)
{
	char *buf = ctx;
	size_t have = strlen(buf);

	assert_true(have + len < 512);
	memcpy(buf + have, line, len);
	buf[have + len] = '\0';
	return 0;
}

static void test_log(void **state)
{
	lstore_conn_t *c;
	char note[256], lines[512] = "";
	size_t len;
	uint64_t size;
	uint8_t root[32] = { 3 }, kid[8] = { 0xf0 };

	(void)state;
	assert_int_equal(lstore_get(st, &c), 0);
	assert_int_equal(LSTORE_CALL(c, checkpoint_latest, &size, note, sizeof(note), &len), -ENOENT);
	assert_int_equal(LSTORE_CALL(c, checkpoint_put, 5, root, "five\n", 5, 1), 0);
	assert_int_equal(LSTORE_CALL(c, checkpoint_put, 9, root, "nine\n", 5, 1), 0);
	assert_int_equal(LSTORE_CALL(c, checkpoint_put, 5, root, "other\n", 6, 1), 1);
	assert_int_equal(LSTORE_CALL(c, checkpoint_latest, &size, note, sizeof(note), &len), 0);
	assert_int_equal(size, 9);
	assert_string_equal(note, "nine\n");
	assert_int_equal(LSTORE_CALL(c, checkpoint_get, 5, note, sizeof(note), &len), 0);
	assert_string_equal(note, "five\n");
	assert_int_equal(LSTORE_CALL(c, checkpoint_get, 6, note, sizeof(note), &len), -ENOENT);
	assert_int_equal(LSTORE_CALL(c, cosig_put, 9, "w1", "a1\n", 3), 0);
	assert_int_equal(LSTORE_CALL(c, cosig_put, 9, "w2", "b\n", 2), 0);
	assert_int_equal(LSTORE_CALL(c, cosig_put, 9, "w1", "a2\n", 3), 0);
	assert_int_equal(LSTORE_CALL(c, cosigs, 9, on_line, lines), 0);
	assert_string_equal(lines, "a2\nb\n");
	for (uint64_t seq = 1; seq <= 5; seq++) {
		uint8_t h[32] = { (uint8_t)seq };

		assert_int_equal(LSTORE_CALL(c, fork_put, kid, seq, (const uint8_t *)"z", 1, h, 3, 1), 0);
	}
	lstore_put(st, c, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_sequencer),
		cmocka_unit_test(test_log),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
