/* Unit tests for crypto/merkle.c against published vectors and a second
 * implementation:
 *   hashes      the RFC 6962/9162 hash vectors of transparency-dev/merkle
 *               (rfc6962_test.go): empty tree, empty leaf, "L123456",
 *               node("N123", "N456")
 *   8 leaves    the tree of RFC 9162 §2.1.5's shape over CT's standard
 *               eight leaves (transparency-dev/merkle verify_test.go): every
 *               root N0_1..N0_8, every inclusion proof and every consistency
 *               proof for n <= 8, generated and verified
 *   edges       the edge cases of TestVerifyInclusion/Consistency
 *   tampering   every bit of every proof element flipped, elements dropped,
 *               appended and prepended, index and sizes moved: all refused
 *   oracle      a recursive MTH written from the RFC text in this file:
 *               roots for n = 1..1000 by the recursion, the compact range and
 *               merkle_root over stored nodes agree; every (m, n) for
 *               n <= 70 proved and verified, and lengths as predicted */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "crypto/merkle.h"

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	assert_int_equal(hex_decode(hex, 2 * n, out, n), 0);
}

static void assert_hash(const uint8_t *h, const char *hex)
{
	char got[65];

	hex_encode(h, 32, got);
	assert_string_equal(got, hex);
}

/* ---- the published hash vectors -------------------------------------------- */

static void test_hash_vectors(void **state)
{
	uint8_t h[32];
	static const uint8_t a[4] = { 'N', '1', '2', '3' }, b[4] = { 'N', '4', '5', '6' };

	(void)state;
	merkle_empty_root(h);
	assert_hash(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	merkle_leaf_hash(NULL, 0, h);
	assert_hash(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	merkle_leaf_hash((const uint8_t *)"L123456", 7, h);
	assert_hash(h, "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
	/* node() of two raw 4-byte strings: the vector hashes 0x01||N123||N456 */
	{
		uint8_t buf[9] = { 0x01 };

		memcpy(buf + 1, a, 4);
		memcpy(buf + 5, b, 4);
		crypto_hash_sha256(h, buf, sizeof(buf));
	}
	assert_hash(h, "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
}

/* ---- the standard eight leaves --------------------------------------------------- */

static const char *const leaf_hex[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};

/* Named hashes of the vectors: Li is leaf i, Na_b is MTH(D[a:b]). */
static const struct { const char *name, *hex; } named[] = {
	{ "L0", "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" },
	{ "L1", "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7" },
	{ "L2", "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7" },
	{ "L3", "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7" },
	{ "L4", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" },
	{ "L5", "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658" },
	{ "L6", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f" },
	{ "L7", "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1" },
	{ "N0_2", "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" },
	{ "N2_4", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e" },
	{ "N4_6", "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a" },
	{ "N6_8", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0" },
	{ "N0_3", "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77" },
	{ "N4_7", "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e" },
	{ "N0_4", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" },
	{ "N4_8", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" },
	{ "N0_5", "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4" },
	{ "N0_6", "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef" },
	{ "N0_7", "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c" },
	{ "N0_8", "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328" },
};

static void lookup(const char *name, size_t len, uint8_t out[32])
{
	for (size_t i = 0; i < ARRAY_SIZE(named); i++)
		if (strlen(named[i].name) == len && !memcmp(named[i].name, name, len)) {
			unhex(named[i].hex, out, 32);
			return;
		}
	fail_msg("no vector named %.*s", (int)len, name);
}

/* "L1,N2_4,N4_8" -> hashes; returns the count. */
static size_t parse_list(const char *s, merkle_hash_t *out)
{
	size_t n = 0;

	while (*s) {
		size_t len = strcspn(s, ",");

		lookup(s, len, out[n++]);
		s += len;
		if (*s == ',')
			s++;
	}
	return n;
}

/* Inclusion proofs, "n index list" (RFC recursion, checked against
 * transparency-dev/merkle's vectors). */
static const char *const incl_vec[] = {
	"1 0 ",
	"2 0 L1", "2 1 L0",
	"3 0 L1,L2", "3 1 L0,L2", "3 2 N0_2",
	"4 0 L1,N2_4", "4 1 L0,N2_4", "4 2 L3,N0_2", "4 3 L2,N0_2",
	"5 0 L1,N2_4,L4", "5 1 L0,N2_4,L4", "5 2 L3,N0_2,L4", "5 3 L2,N0_2,L4", "5 4 N0_4",
	"6 0 L1,N2_4,N4_6", "6 1 L0,N2_4,N4_6", "6 2 L3,N0_2,N4_6", "6 3 L2,N0_2,N4_6",
	"6 4 L5,N0_4", "6 5 L4,N0_4",
	"7 0 L1,N2_4,N4_7", "7 1 L0,N2_4,N4_7", "7 2 L3,N0_2,N4_7", "7 3 L2,N0_2,N4_7",
	"7 4 L5,L6,N0_4", "7 5 L4,L6,N0_4", "7 6 N4_6,N0_4",
	"8 0 L1,N2_4,N4_8", "8 1 L0,N2_4,N4_8", "8 2 L3,N0_2,N4_8", "8 3 L2,N0_2,N4_8",
	"8 4 L5,N6_8,N0_4", "8 5 L4,N6_8,N0_4", "8 6 L7,N4_6,N0_4", "8 7 L6,N4_6,N0_4",
};

/* Consistency proofs, "n m list". */
static const char *const cons_vec[] = {
	"2 1 L1",
	"3 1 L1,L2", "3 2 L2",
	"4 1 L1,N2_4", "4 2 N2_4", "4 3 L2,L3,N0_2",
	"5 1 L1,N2_4,L4", "5 2 N2_4,L4", "5 3 L2,L3,N0_2,L4", "5 4 L4",
	"6 1 L1,N2_4,N4_6", "6 2 N2_4,N4_6", "6 3 L2,L3,N0_2,N4_6", "6 4 N4_6", "6 5 L4,L5,N0_4",
	"7 1 L1,N2_4,N4_7", "7 2 N2_4,N4_7", "7 3 L2,L3,N0_2,N4_7", "7 4 N4_7",
	"7 5 L4,L5,L6,N0_4", "7 6 N4_6,L6,N0_4",
	"8 1 L1,N2_4,N4_8", "8 2 N2_4,N4_8", "8 3 L2,L3,N0_2,N4_8", "8 4 N4_8",
	"8 5 L4,L5,N6_8,N0_4", "8 6 N4_6,N6_8,N0_4", "8 7 L6,L7,N4_6,N0_4",
};

/* A tree held as every perfect subtree, for merkle_node_fn. */
struct store {
	size_t n;
	uint8_t (*lv[11])[32];     /* lv[level][index], up to 1024 leaves */
};

static void store_emit(void *ctx, unsigned level, uint64_t index, const uint8_t h[32])
{
	struct store *s = ctx;

	assert_true(level < ARRAY_SIZE(s->lv));
	memcpy(s->lv[level][index], h, 32);
}

static int store_node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	struct store *s = ctx;

	if (level >= ARRAY_SIZE(s->lv) || ((index + 1) << level) > s->n)
		return -ENOENT;
	memcpy(out, s->lv[level][index], 32);
	return 0;
}

static void store_init(struct store *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t l = 0; l < ARRAY_SIZE(s->lv); l++) {
		s->lv[l] = calloc((1024 >> l) + 1, 32);
		assert_non_null(s->lv[l]);
	}
}

static void store_free(struct store *s)
{
	for (size_t l = 0; l < ARRAY_SIZE(s->lv); l++)
		free(s->lv[l]);
}

static void eight_leaves(struct store *s, struct merkle_compact *c)
{
	store_init(s);
	merkle_compact_init(c);
	for (int i = 0; i < 8; i++) {
		uint8_t d[16], h[32];
		size_t len = strlen(leaf_hex[i]) / 2;

		unhex(leaf_hex[i], d, len);
		merkle_leaf_hash(d, len, h);
		assert_int_equal(merkle_compact_append(c, h, store_emit, s), 0);
		s->n++;
	}
}

static void test_eight_roots(void **state)
{
	static const char *const roots[] = { "L0", "N0_2", "N0_3", "N0_4", "N0_5", "N0_6", "N0_7", "N0_8" };
	struct store s;
	struct merkle_compact c;
	uint8_t want[32], got[32];

	(void)state;
	eight_leaves(&s, &c);
	for (int n = 1; n <= 8; n++) {
		lookup(roots[n - 1], strlen(roots[n - 1]), want);
		assert_int_equal(merkle_root(store_node, &s, (uint64_t)n, got), 0);
		assert_memory_equal(got, want, 32);
	}
	merkle_compact_root(&c, got);
	assert_memory_equal(got, want, 32);
	store_free(&s);
}

static void test_eight_inclusion(void **state)
{
	struct store s;
	struct merkle_compact c;

	(void)state;
	eight_leaves(&s, &c);
	for (size_t v = 0; v < ARRAY_SIZE(incl_vec); v++) {
		merkle_hash_t want[8], got[MERKLE_PROOF_MAX];
		unsigned n, idx;
		int off = 0;
		size_t nw, ng;
		uint8_t root[32], leaf[32];

		assert_int_equal(sscanf(incl_vec[v], "%u %u %n", &n, &idx, &off), 2);
		nw = parse_list(incl_vec[v] + off, want);
		assert_int_equal(merkle_inclusion_proof(store_node, &s, idx, n, got, &ng), 0);
		assert_int_equal(ng, nw);
		assert_int_equal(merkle_inclusion_len(idx, n), nw);
		assert_memory_equal(got, want, nw * 32);
		assert_int_equal(merkle_root(store_node, &s, n, root), 0);
		memcpy(leaf, s.lv[0][idx], 32);
		assert_int_equal(merkle_verify_inclusion(idx, n, leaf, want, nw, root), 0);
	}
	store_free(&s);
}

static void test_eight_consistency(void **state)
{
	struct store s;
	struct merkle_compact c;

	(void)state;
	eight_leaves(&s, &c);
	for (size_t v = 0; v < ARRAY_SIZE(cons_vec); v++) {
		merkle_hash_t want[8], got[MERKLE_PROOF_MAX];
		unsigned n, m;
		int off = 0;
		size_t nw, ng;
		uint8_t r1[32], r2[32];

		assert_int_equal(sscanf(cons_vec[v], "%u %u %n", &n, &m, &off), 2);
		nw = parse_list(cons_vec[v] + off, want);
		assert_int_equal(merkle_consistency_proof(store_node, &s, m, n, got, &ng), 0);
		assert_int_equal(ng, nw);
		assert_int_equal(merkle_consistency_len(m, n), nw);
		assert_memory_equal(got, want, nw * 32);
		assert_int_equal(merkle_root(store_node, &s, m, r1), 0);
		assert_int_equal(merkle_root(store_node, &s, n, r2), 0);
		assert_int_equal(merkle_verify_consistency(m, n, r1, r2, want, nw), 0);
		/* the roots swapped */
		assert_int_equal(merkle_verify_consistency(m, n, r2, r1, want, nw), -EBADMSG);
	}
	store_free(&s);
}

/* ---- edge cases ---------------------------------------------------------------- */

static void test_edges(void **state)
{
	uint8_t a[32], b[32];
	merkle_hash_t p[2];

	(void)state;
	memset(a, 0xaa, 32);
	memset(b, 0xbb, 32);
	memset(p, 0xcc, sizeof(p));
	/* consistency */
	assert_int_equal(merkle_verify_consistency(0, 0, a, a, NULL, 0), 0);
	assert_int_equal(merkle_verify_consistency(0, 1, a, b, NULL, 0), 0);
	assert_int_equal(merkle_verify_consistency(1, 1, a, a, NULL, 0), 0);
	assert_int_equal(merkle_verify_consistency(1, 1, a, b, NULL, 0), -EBADMSG);
	assert_int_equal(merkle_verify_consistency(1, 0, a, b, NULL, 0), -EBADMSG);
	assert_int_equal(merkle_verify_consistency(2, 1, a, b, p, 1), -EBADMSG);
	assert_int_equal(merkle_verify_consistency(1, 2, a, b, NULL, 0), -EBADMSG);
	assert_int_equal(merkle_verify_consistency(3, 3, a, a, p, 1), -EBADMSG);
	assert_int_equal(merkle_verify_consistency(0, 5, a, b, p, 1), -EBADMSG);
	/* inclusion */
	assert_int_equal(merkle_verify_inclusion(0, 0, a, NULL, 0, a), -EBADMSG);
	assert_int_equal(merkle_verify_inclusion(1, 0, a, NULL, 0, a), -EBADMSG);
	assert_int_equal(merkle_verify_inclusion(2, 1, a, NULL, 0, a), -EBADMSG);
	assert_int_equal(merkle_verify_inclusion(0, 1, a, NULL, 0, a), 0);
	assert_int_equal(merkle_verify_inclusion(0, 1, a, NULL, 0, b), -EBADMSG);
	assert_int_equal(merkle_verify_inclusion(0, 1, a, p, 1, a), -EBADMSG);
	/* beyond the size bound */
	assert_int_equal(merkle_verify_inclusion(0, MERKLE_SIZE_MAX, a, p, 1, a), -EBADMSG);
	assert_int_equal(merkle_inclusion_len(5, 5), 0);
	assert_int_equal(merkle_consistency_len(0, 5), 0);
	assert_int_equal(merkle_consistency_len(5, 5), 0);
	/* the longest proofs fit MERKLE_PROOF_MAX */
	assert_true(merkle_inclusion_len(0, MERKLE_SIZE_MAX - 1) <= MERKLE_PROOF_MAX);
	assert_true(merkle_consistency_len(3, MERKLE_SIZE_MAX - 1) <= MERKLE_PROOF_MAX);
}

/* ---- tampering ------------------------------------------------------------------- */

static void test_tampered(void **state)
{
	struct store s;
	struct merkle_compact c;
	uint8_t root[32], r1[32], r2[32], leaf[32];

	(void)state;
	eight_leaves(&s, &c);
	for (uint64_t n = 1; n <= 8; n++) {
		assert_int_equal(merkle_root(store_node, &s, n, root), 0);
		for (uint64_t i = 0; i < n; i++) {
			merkle_hash_t p[MERKLE_PROOF_MAX + 1], q[MERKLE_PROOF_MAX + 1];
			size_t len;

			assert_int_equal(merkle_inclusion_proof(store_node, &s, i, n, p, &len), 0);
			memcpy(leaf, s.lv[0][i], 32);
			assert_int_equal(merkle_verify_inclusion(i, n, leaf, p, len, root), 0);
			for (size_t e = 0; e < len; e++)
				for (unsigned bit = 0; bit < 256; bit++) {
					memcpy(q, p, sizeof(p));
					q[e][bit / 8] ^= (uint8_t)(1u << (bit % 8));
					assert_int_equal(merkle_verify_inclusion(i, n, leaf, q, len, root),
							 -EBADMSG);
				}
			if (len)
				assert_int_equal(merkle_verify_inclusion(i, n, leaf, p, len - 1, root), -EBADMSG);
			memcpy(q, p, sizeof(p));
			memcpy(q[len], root, 32);
			assert_int_equal(merkle_verify_inclusion(i, n, leaf, q, len + 1, root), -EBADMSG);
			memcpy(q[0], leaf, 32);
			memcpy(q + 1, p, len * 32);
			assert_int_equal(merkle_verify_inclusion(i, n, leaf, q, len + 1, root), -EBADMSG);
			if (n > 1) {
				/* another index, another leaf, another root */
				assert_int_equal(merkle_verify_inclusion(i ^ 1, n, leaf, p, len, root), -EBADMSG);
				assert_int_equal(merkle_verify_inclusion(i ^ 2, n, leaf, p, len, root), -EBADMSG);
				assert_int_equal(merkle_verify_inclusion(i, n, root, p, len, root), -EBADMSG);
				assert_int_equal(merkle_verify_inclusion(i, n, leaf, p, len, leaf), -EBADMSG);
			}
		}
		for (uint64_t m = 1; m < n; m++) {
			merkle_hash_t p[MERKLE_PROOF_MAX + 1], q[MERKLE_PROOF_MAX + 1];
			size_t len;

			assert_int_equal(merkle_root(store_node, &s, m, r1), 0);
			memcpy(r2, root, 32);
			assert_int_equal(merkle_consistency_proof(store_node, &s, m, n, p, &len), 0);
			assert_int_equal(merkle_verify_consistency(m, n, r1, r2, p, len), 0);
			for (size_t e = 0; e < len; e++)
				for (unsigned bit = 0; bit < 256; bit++) {
					memcpy(q, p, sizeof(p));
					q[e][bit / 8] ^= (uint8_t)(1u << (bit % 8));
					assert_int_equal(merkle_verify_consistency(m, n, r1, r2, q, len),
							 -EBADMSG);
				}
			assert_int_equal(merkle_verify_consistency(m, n, r1, r2, p, len - 1), -EBADMSG);
			memcpy(q, p, sizeof(p));
			memcpy(q[len], r2, 32);
			assert_int_equal(merkle_verify_consistency(m, n, r1, r2, q, len + 1), -EBADMSG);
			memcpy(q[0], r1, 32);
			memcpy(q + 1, p, len * 32);
			assert_int_equal(merkle_verify_consistency(m, n, r1, r2, q, len + 1), -EBADMSG);
			r1[0] ^= 1;
			assert_int_equal(merkle_verify_consistency(m, n, r1, r2, p, len), -EBADMSG);
			r1[0] ^= 1;
			r2[31] ^= 0x80;
			assert_int_equal(merkle_verify_consistency(m, n, r1, r2, p, len), -EBADMSG);
		}
	}
	store_free(&s);
}

/* ---- a second implementation, from the RFC's definitions --------------------------- */

static void mth(const uint8_t (*leaves)[32], uint64_t n, uint8_t out[32])
{
	uint8_t l[32], r[32], buf[65];
	uint64_t k = 1;

	if (n == 1) {
		memcpy(out, leaves[0], 32);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	mth(leaves, k, l);
	mth(leaves + k, n - k, r);
	buf[0] = 1;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

static void test_oracle(void **state)
{
	struct store s;
	struct merkle_compact c;
	uint8_t (*leaves)[32] = calloc(1000, 32);

	(void)state;
	assert_non_null(leaves);
	store_init(&s);
	merkle_compact_init(&c);
	for (uint64_t n = 1; n <= 1000; n++) {
		uint8_t d[8], a[32], b[32], e[32];

		for (int i = 0; i < 8; i++)
			d[i] = (uint8_t)(n >> (8 * i));
		merkle_leaf_hash(d, sizeof(d), leaves[n - 1]);
		assert_int_equal(merkle_compact_append(&c, leaves[n - 1], store_emit, &s), 0);
		s.n = n;
		mth((const uint8_t (*)[32])leaves, n, a);
		merkle_compact_root(&c, b);
		assert_int_equal(merkle_root(store_node, &s, n, e), 0);
		assert_memory_equal(a, b, 32);
		assert_memory_equal(a, e, 32);
		{
			struct merkle_compact c2;
			uint8_t f[32];

			assert_int_equal(merkle_compact_load(&c2, n, store_node, &s), 0);
			merkle_compact_root(&c2, f);
			assert_memory_equal(a, f, 32);
		}
	}
	for (uint64_t n = 1; n <= 70; n++) {
		uint8_t rn[32];

		mth((const uint8_t (*)[32])leaves, n, rn);
		for (uint64_t i = 0; i < n; i++) {
			merkle_hash_t p[MERKLE_PROOF_MAX];
			size_t len;

			assert_int_equal(merkle_inclusion_proof(store_node, &s, i, n, p, &len), 0);
			assert_int_equal(len, merkle_inclusion_len(i, n));
			assert_int_equal(merkle_verify_inclusion(i, n, leaves[i], p, len, rn), 0);
		}
		for (uint64_t m = 0; m <= n; m++) {
			merkle_hash_t p[MERKLE_PROOF_MAX];
			uint8_t rm[32];
			size_t len;

			if (m)
				mth((const uint8_t (*)[32])leaves, m, rm);
			else
				merkle_empty_root(rm);
			assert_int_equal(merkle_consistency_proof(store_node, &s, m, n, p, &len), 0);
			assert_int_equal(len, m && m < n ? merkle_consistency_len(m, n) : 0);
			assert_int_equal(merkle_verify_consistency(m, n, rm, rn, p, len), 0);
		}
	}
	/* a range that is no subtree, by its definition */
	{
		uint8_t a[32], b[32];

		mth((const uint8_t (*)[32])leaves + 3, 11, a);
		assert_int_equal(merkle_range_hash(store_node, &s, 3, 14, b), 0);
		assert_memory_equal(a, b, 32);
	}
	free(leaves);
	store_free(&s);
}

static int node_fails(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	(void)ctx;
	(void)level;
	(void)index;
	(void)out;
	return -EIO;
}

static void test_errors_pass_through(void **state)
{
	merkle_hash_t p[MERKLE_PROOF_MAX];
	uint8_t r[32];
	size_t n;
	struct merkle_compact c;

	(void)state;
	assert_int_equal(merkle_root(node_fails, NULL, 5, r), -EIO);
	assert_int_equal(merkle_inclusion_proof(node_fails, NULL, 1, 5, p, &n), -EIO);
	assert_int_equal(merkle_consistency_proof(node_fails, NULL, 3, 5, p, &n), -EIO);
	assert_int_equal(merkle_inclusion_proof(node_fails, NULL, 5, 5, p, &n), -EINVAL);
	assert_int_equal(merkle_consistency_proof(node_fails, NULL, 6, 5, p, &n), -EINVAL);
	assert_int_equal(merkle_compact_load(&c, 5, node_fails, NULL), -EIO);
	/* the empty tree's root needs no node */
	assert_int_equal(merkle_root(node_fails, NULL, 0, r), 0);
	assert_hash(r, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* compact range lookups */
	merkle_compact_init(&c);
	memset(r, 7, 32);
	for (int i = 0; i < 6; i++)
		assert_int_equal(merkle_compact_append(&c, r, NULL, NULL), 0);
	assert_int_equal(merkle_compact_node(&c, 2, 0, r), 0);
	assert_int_equal(merkle_compact_node(&c, 1, 2, r), 0);
	assert_int_equal(merkle_compact_node(&c, 1, 1, r), -ENOENT);
	assert_int_equal(merkle_compact_node(&c, 0, 5, r), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_eight_roots),
		cmocka_unit_test(test_eight_inclusion),
		cmocka_unit_test(test_eight_consistency),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_oracle),
		cmocka_unit_test(test_errors_pass_through),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
