/* merkle — the Merkle tree of RFC 9162 §2.1 (Certificate Transparency
 * 2.0): hashes, inclusion and consistency proofs, generated and verified.
 *
 * SHA-256 throughout (libsodium). A leaf's hash is SHA-256(0x00 || data),
 * an interior node's SHA-256(0x01 || left || right); the tree over n
 * leaves splits at k, the largest power of two below n. Sizes and indices
 * are uint64_t and must stay below 2^63 (MERKLE_SIZE_MAX).
 *
 * Verifying needs nothing but the proof. Generating reads the hashes of
 * perfect subtrees (2^level leaves starting at index * 2^level) through a
 * callback, so a proof costs O(log n) reads of whatever stores the tree
 * (a database, an array, a batch held in memory). docs/ledger-api.md says
 * the same in prose; the vectors of RFC 9162 §2.1.5 are in
 * tests/unit/test_merkle.c. Pure: no allocation, no logging. */
#ifndef ECO2_MERKLE_H
#define ECO2_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

#define MERKLE_HASH_LEN  32
#define MERKLE_SIZE_MAX  (UINT64_C(1) << 63)     /* exclusive */
/* The longest proof for any size below MERKLE_SIZE_MAX. */
#define MERKLE_PROOF_MAX 64

typedef uint8_t merkle_hash_t[MERKLE_HASH_LEN];

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_LEN]);
void merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
		      uint8_t out[MERKLE_HASH_LEN]);
/* The root of the empty tree: SHA-256 of nothing. */
void merkle_empty_root(uint8_t out[MERKLE_HASH_LEN]);

/* The number of hashes in the inclusion proof of leaf index in a tree of
 * size leaves, and in the consistency proof from size m to size n (0 for
 * index >= size, m == 0 or m >= n). A verifier refuses any other length. */
size_t merkle_inclusion_len(uint64_t index, uint64_t size);
size_t merkle_consistency_len(uint64_t m, uint64_t n);

/* ---- verifying (RFC 9162 §2.1.3.2, §2.1.4.2) -------------------------- */

/* Is leaf (its hash) the leaf at index of the tree of size leaves whose
 * root is root? 0, or -EBADMSG (index >= size, a proof of the wrong length,
 * or one that leads to another root). */
int merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
			    const merkle_hash_t *proof, size_t n,
			    const uint8_t root[MERKLE_HASH_LEN]) __must_check;

/* The root that an inclusion proof leads to (for a caller who compares it
 * later). 0 or -EBADMSG (index >= size, wrong length). */
int merkle_root_from_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
			       const merkle_hash_t *proof, size_t n,
			       uint8_t root_out[MERKLE_HASH_LEN]) __must_check;

/* Is the tree of size m with root h1 a prefix of the tree of size n with
 * root h2? m == n needs an empty proof and h1 == h2; m == 0 needs an empty
 * proof (the empty tree is a prefix of every tree); m > n never. 0 or
 * -EBADMSG. */
int merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t h1[MERKLE_HASH_LEN],
			      const uint8_t h2[MERKLE_HASH_LEN],
			      const merkle_hash_t *proof, size_t count) __must_check;

/* ---- generating --------------------------------------------------------- */

/* The hash of the perfect subtree at level (2^level leaves) and index
 * (its first leaf is index << level) into out: 0, or -errno (the caller's
 * error is passed through). Only subtrees inside the tree being proved are
 * asked for. */
typedef int merkle_node_fn(void *ctx, unsigned level, uint64_t index,
			   uint8_t out[MERKLE_HASH_LEN]);

/* MTH(D[lo:hi]), the tree of the hi - lo leaves from lo, for any
 * 0 <= lo < hi. A subtree of the tree (lo a multiple of the largest power
 * of two below hi - lo, as every range a proof needs) costs at most 63
 * reads; any other range is computed by its definition. */
int merkle_range_hash(merkle_node_fn *node, void *ctx, uint64_t lo, uint64_t hi,
		      uint8_t out[MERKLE_HASH_LEN]) __must_check;
/* The root of the tree of size leaves (size 0: merkle_empty_root). */
int merkle_root(merkle_node_fn *node, void *ctx, uint64_t size,
		uint8_t out[MERKLE_HASH_LEN]) __must_check;
/* PATH(index, D[0:size]) into out[MERKLE_PROOF_MAX], leaf to root; *n its
 * length. -EINVAL for index >= size or size >= MERKLE_SIZE_MAX. */
int merkle_inclusion_proof(merkle_node_fn *node, void *ctx, uint64_t index, uint64_t size,
			   merkle_hash_t *out, size_t *n) __must_check;
/* PROOF(m, D[0:n]); empty for m == 0 or m == n. -EINVAL for m > n. */
int merkle_consistency_proof(merkle_node_fn *node, void *ctx, uint64_t m, uint64_t n,
			     merkle_hash_t *out, size_t *count) __must_check;

/* ---- appending -------------------------------------------------------- */

/* The compact range of a tree: for each set bit k of size, the root of
 * the perfect subtree of 2^k leaves that bit stands for (largest first in
 * the tree, stored by level here). Enough to append and to compute the
 * root; 2 KiB. */
struct merkle_compact {
	uint64_t size;
	uint8_t h[64][MERKLE_HASH_LEN];   /* h[k] valid when bit k of size is set */
};

/* Called for every perfect subtree an append completes: the leaf itself
 * (level 0) and each node above it that the leaf closes. */
typedef void merkle_emit_fn(void *ctx, unsigned level, uint64_t index,
			    const uint8_t hash[MERKLE_HASH_LEN]);

void merkle_compact_init(struct merkle_compact *c);
/* Load the compact range of a stored tree of size leaves through node(). */
int merkle_compact_load(struct merkle_compact *c, uint64_t size, merkle_node_fn *node,
			void *ctx) __must_check;
/* Append one leaf hash; emit (may be NULL) hears of each completed
 * subtree. -EOVERFLOW at MERKLE_SIZE_MAX - 1 leaves. */
int merkle_compact_append(struct merkle_compact *c, const uint8_t leaf[MERKLE_HASH_LEN],
			  merkle_emit_fn *emit, void *ctx) __must_check;
void merkle_compact_root(const struct merkle_compact *c, uint8_t out[MERKLE_HASH_LEN]);
/* A merkle_node_fn over the compact range alone: answers the subtrees it
 * holds, -ENOENT for any other. */
int merkle_compact_node(void *compact, unsigned level, uint64_t index,
			uint8_t out[MERKLE_HASH_LEN]);

#endif
