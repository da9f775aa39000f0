/* merkle — RFC 9162 §2.1 Merkle trees: hashes, proofs, compact ranges. */
#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "crypto/merkle.h"

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	crypto_hash_sha256_state st;
	static const uint8_t zero = 0x00;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	if (len)
		crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
		      uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t buf[1 + 2 * MERKLE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

void merkle_empty_root(uint8_t out[MERKLE_HASH_LEN])
{
	crypto_hash_sha256(out, NULL, 0);
}

/* The number of significant bits of x (0 for 0). */
static unsigned bitlen(uint64_t x)
{
	return x ? 64u - (unsigned)__builtin_clzll(x) : 0;
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

size_t merkle_inclusion_len(uint64_t index, uint64_t size)
{
	unsigned inner;

	if (index >= size || size >= MERKLE_SIZE_MAX)
		return 0;
	inner = bitlen(index ^ (size - 1));
	return inner + (size_t)__builtin_popcountll(index >> inner);
}

size_t merkle_consistency_len(uint64_t m, uint64_t n)
{
	unsigned inner, shift, border;

	if (m == 0 || m >= n || n >= MERKLE_SIZE_MAX)
		return 0;
	inner = bitlen((m - 1) ^ (n - 1));
	border = (unsigned)__builtin_popcountll((m - 1) >> inner);
	shift = (unsigned)__builtin_ctzll(m);
	return (m == UINT64_C(1) << shift ? 0 : 1) + (inner - shift) + border;
}

/* ---- verifying ------------------------------------------------------------ */

int merkle_root_from_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
			       const merkle_hash_t *proof, size_t n,
			       uint8_t root_out[MERKLE_HASH_LEN])
{
	uint64_t fn, sn;
	uint8_t r[MERKLE_HASH_LEN];

	if (index >= size || size >= MERKLE_SIZE_MAX || n != merkle_inclusion_len(index, size))
		return -EBADMSG;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, sizeof(r));
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return -EBADMSG;            /* the proof is too long */
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], r, r);
			if (!(fn & 1))              /* the right edge: climb past it */
				while (!(fn & 1) && fn) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return -EBADMSG;                    /* the proof is too short */
	memcpy(root_out, r, MERKLE_HASH_LEN);
	return 0;
}

int merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
			    const merkle_hash_t *proof, size_t n,
			    const uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];

	if (merkle_root_from_inclusion(index, size, leaf, proof, n, r))
		return -EBADMSG;
	return sodium_memcmp(r, root, MERKLE_HASH_LEN) ? -EBADMSG : 0;
}

int merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t h1[MERKLE_HASH_LEN],
			      const uint8_t h2[MERKLE_HASH_LEN],
			      const merkle_hash_t *proof, size_t count)
{
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (m > n || n >= MERKLE_SIZE_MAX)
		return -EBADMSG;
	if (m == n)
		return !count && !sodium_memcmp(h1, h2, MERKLE_HASH_LEN) ? 0 : -EBADMSG;
	if (m == 0)
		return count ? -EBADMSG : 0;
	if (count != merkle_consistency_len(m, n))
		return -EBADMSG;
	/* RFC 9162 §2.1.4.2; when m is a power of two the old root is the
	 * proof's implicit first element (the caller's array stays as is). */
	if (!(m & (m - 1))) {
		memcpy(fr, h1, sizeof(fr));
	} else {
		memcpy(fr, proof[0], sizeof(fr));
		i = 1;
	}
	memcpy(sr, fr, sizeof(sr));
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < count; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			if (!(fn & 1))
				while (!(fn & 1) && fn) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return -EBADMSG;
	if (sodium_memcmp(fr, h1, MERKLE_HASH_LEN) || sodium_memcmp(sr, h2, MERKLE_HASH_LEN))
		return -EBADMSG;
	return 0;
}

/* ---- generating ----------------------------------------------------------- */

int merkle_range_hash(merkle_node_fn *node, void *ctx, uint64_t lo, uint64_t hi,
		      uint8_t out[MERKLE_HASH_LEN])
{
	uint64_t n, k;
	uint8_t l[MERKLE_HASH_LEN];
	int ret;

	if (lo >= hi || hi > MERKLE_SIZE_MAX)
		return -EINVAL;
	n = hi - lo;
	if (!(n & (n - 1)) && !(lo & (n - 1)))     /* an aligned perfect subtree */
		return node(ctx, (unsigned)__builtin_ctzll(n), lo >> __builtin_ctzll(n), out);
	k = split_point(n);
	ret = merkle_range_hash(node, ctx, lo, lo + k, l);
	if (!ret)
		ret = merkle_range_hash(node, ctx, lo + k, hi, out);
	if (!ret)
		merkle_node_hash(l, out, out);
	return ret;
}

int merkle_root(merkle_node_fn *node, void *ctx, uint64_t size, uint8_t out[MERKLE_HASH_LEN])
{
	if (size >= MERKLE_SIZE_MAX)
		return -EINVAL;
	if (!size) {
		merkle_empty_root(out);
		return 0;
	}
	return merkle_range_hash(node, ctx, 0, size, out);
}

/* Reverse the n hashes of p: the recursions below find them root first. */
static void reverse(merkle_hash_t *p, size_t n)
{
	uint8_t t[MERKLE_HASH_LEN];

	for (size_t i = 0; i < n / 2; i++) {
		memcpy(t, p[i], sizeof(t));
		memcpy(p[i], p[n - 1 - i], sizeof(t));
		memcpy(p[n - 1 - i], t, sizeof(t));
	}
}

int merkle_inclusion_proof(merkle_node_fn *node, void *ctx, uint64_t index, uint64_t size,
			   merkle_hash_t *out, size_t *n)
{
	uint64_t lo = 0, hi = size;
	size_t len = 0;
	int ret;

	*n = 0;
	if (index >= size || size >= MERKLE_SIZE_MAX)
		return -EINVAL;
	/* PATH(m, D[lo:hi]): the sibling of the half holding m, then down. */
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);

		if (len == MERKLE_PROOF_MAX)
			return -EINVAL;
		if (index < lo + k) {
			ret = merkle_range_hash(node, ctx, lo + k, hi, out[len]);
			hi = lo + k;
		} else {
			ret = merkle_range_hash(node, ctx, lo, lo + k, out[len]);
			lo += k;
		}
		if (ret)
			return ret;
		len++;
	}
	reverse(out, len);
	*n = len;
	return 0;
}

int merkle_consistency_proof(merkle_node_fn *node, void *ctx, uint64_t m, uint64_t n,
			     merkle_hash_t *out, size_t *count)
{
	uint64_t lo = 0, hi = n;
	bool whole = true;      /* b of SUBPROOF: still on the old tree's left edge */
	size_t len = 0;
	int ret;

	*count = 0;
	if (m > n || n >= MERKLE_SIZE_MAX)
		return -EINVAL;
	if (m == 0 || m == n)
		return 0;
	/* SUBPROOF(m, D[lo:hi], whole), its appended hashes found root first. */
	while (m != hi - lo) {
		uint64_t k = split_point(hi - lo);

		if (len == MERKLE_PROOF_MAX)
			return -EINVAL;
		if (m <= k) {
			ret = merkle_range_hash(node, ctx, lo + k, hi, out[len]);
			hi = lo + k;
		} else {
			ret = merkle_range_hash(node, ctx, lo, lo + k, out[len]);
			m -= k;
			lo += k;
			whole = false;
		}
		if (ret)
			return ret;
		len++;
	}
	if (!whole) {
		if (len == MERKLE_PROOF_MAX)
			return -EINVAL;
		ret = merkle_range_hash(node, ctx, lo, hi, out[len]);
		if (ret)
			return ret;
		len++;
	}
	reverse(out, len);
	*count = len;
	return 0;
}

/* ---- appending ------------------------------------------------------------ */

void merkle_compact_init(struct merkle_compact *c)
{
	memset(c, 0, sizeof(*c));
}

int merkle_compact_load(struct merkle_compact *c, uint64_t size, merkle_node_fn *node, void *ctx)
{
	int ret;

	merkle_compact_init(c);
	if (size >= MERKLE_SIZE_MAX)
		return -EINVAL;
	for (unsigned k = 0; k < 64; k++) {
		if (!(size >> k & 1))
			continue;
		ret = node(ctx, k, (size >> k) - 1, c->h[k]);
		if (ret)
			return ret;
	}
	c->size = size;
	return 0;
}

int merkle_compact_append(struct merkle_compact *c, const uint8_t leaf[MERKLE_HASH_LEN],
			  merkle_emit_fn *emit, void *ctx)
{
	uint8_t cur[MERKLE_HASH_LEN];
	uint64_t i = c->size;
	unsigned level = 0;

	if (c->size >= MERKLE_SIZE_MAX - 1)
		return -EOVERFLOW;
	memcpy(cur, leaf, sizeof(cur));
	if (emit)
		emit(ctx, 0, i, cur);
	/* Each set low bit of the old size is a left sibling the new leaf
	 * completes. */
	while (c->size >> level & 1) {
		merkle_node_hash(c->h[level], cur, cur);
		level++;
		if (emit)
			emit(ctx, level, ((i + 1) >> level) - 1, cur);
	}
	memcpy(c->h[level], cur, sizeof(cur));
	c->size++;
	return 0;
}

void merkle_compact_root(const struct merkle_compact *c, uint8_t out[MERKLE_HASH_LEN])
{
	bool first = true;

	if (!c->size) {
		merkle_empty_root(out);
		return;
	}
	for (unsigned k = 0; k < 64; k++) {
		if (!(c->size >> k & 1))
			continue;
		if (first)
			memcpy(out, c->h[k], MERKLE_HASH_LEN);
		else
			merkle_node_hash(c->h[k], out, out);
		first = false;
	}
}

int merkle_compact_node(void *compact, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	const struct merkle_compact *c = compact;

	if (level >= 64 || !(c->size >> level & 1) || index != (c->size >> level) - 1)
		return -ENOENT;
	memcpy(out, c->h[level], MERKLE_HASH_LEN);
	return 0;
}
