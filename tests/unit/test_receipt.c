/* Unit tests for crypto/receipt.c: a receipt written for records of a real
 * tree (crypto/merkle.c) and checkpoint (crypto/tlog.c) parses back to the
 * same bytes and checks; two receipts one after another parse in turn; a
 * changed proof hash, another record, another log key, another origin,
 * a proof for another size, seqs out of order and every malformed line
 * are refused. The proofs themselves are checked against an independent
 * implementation by tests/integration/ledger_proofs.sh. */
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

#include "crypto/merkle.h"
#include "crypto/receipt.h"
#include "crypto/tlog.h"

#define LEAVES 10

static uint8_t recs[LEAVES][16];
static struct merkle_compact tree;
static uint8_t nodes[5][LEAVES][32];
static struct tlog_skey key, other_key;
static struct tlog_vkey vkey, other_vkey;

static void emit(void *ctx, unsigned level, uint64_t index, const uint8_t h[32])
{
	(void)ctx;
	memcpy(nodes[level][index], h, 32);
}

static int node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	(void)ctx;
	if (level >= 5 || ((index + 1) << level) > tree.size)
		return -ENOENT;
	memcpy(out, nodes[level][index], 32);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	merkle_compact_init(&tree);
	for (int i = 0; i < LEAVES; i++) {
		uint8_t h[32];

		memset(recs[i], 'a' + i, sizeof(recs[i]));
		merkle_leaf_hash(recs[i], sizeof(recs[i]), h);
		assert_int_equal(merkle_compact_append(&tree, h, emit, NULL), 0);
	}
	assert_int_equal(tlog_skey_generate("ledger.example/eco2", TLOG_ED25519, &key), 0);
	tlog_skey_public(&key, &vkey);
	assert_int_equal(tlog_skey_generate("ledger.example/eco2", TLOG_ED25519, &other_key), 0);
	tlog_skey_public(&other_key, &other_vkey);
	return 0;
}

/* A signed checkpoint of the tree at size by k (origin: k's name unless
 * origin is given). */
static size_t checkpoint(uint64_t size, const struct tlog_skey *k, const char *origin, char *note, size_t cap)
{
	struct tlog_checkpoint c;
	int n, l;

	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", origin ? origin : k->name);
	c.size = size;
	assert_int_equal(merkle_root(node, NULL, size, c.root), 0);
	n = tlog_checkpoint_format(&c, note, cap);
	assert_true(n > 0);
	note[n++] = '\n';
	l = tlog_sign_line(note, (size_t)n - 1, k, note + n, cap - (size_t)n);
	assert_true(l > 0);
	return (size_t)n + (size_t)l;
}

/* A receipt for leaves first..last (seqs 100 + index) at size. */
static char *receipt_for(uint64_t first, uint64_t last, uint64_t size, const struct tlog_skey *k,
			 const char *origin, size_t *len)
{
	struct receipt_entry e[LEAVES];
	merkle_hash_t h[LEAVES * MERKLE_PROOF_MAX];
	char note[1024];
	size_t nl = checkpoint(size, k, origin, note, sizeof(note)), nh = 0;
	uint8_t kid[8] = { 1, 2, 3, 4, 5, 6, 7, 0xab };
	char *out;

	for (uint64_t i = first; i <= last; i++) {
		struct receipt_entry *x = &e[i - first];

		x->seq = 100 + i;
		x->index = i;
		x->first = nh;
		assert_int_equal(merkle_inclusion_proof(node, NULL, i, size, h + nh, &x->n), 0);
		nh += x->n;
	}
	assert_int_equal(receipt_format(kid, e, last - first + 1, h, note, nl, &out, len), 0);
	return out;
}

static void test_round_trip(void **state)
{
	struct receipt r;
	struct tlog_checkpoint c;
	size_t len, l2;
	char *t = receipt_for(3, 6, 8, &key, NULL, &len), *again;
	const char *why = NULL;

	(void)state;
	assert_int_equal(receipt_parse(t, len, &r, &why), 0);
	assert_int_equal(r.len, len);
	assert_int_equal(r.n_entries, 4);
	assert_int_equal(r.kid[7], 0xab);
	assert_int_equal(receipt_check(&r, &vkey, &c, &why), 0);
	assert_int_equal(c.size, 8);
	for (size_t i = 0; i < r.n_entries; i++)
		assert_int_equal(receipt_check_record(&r, i, &c, recs[3 + i], sizeof(recs[0])), 0);
	/* another record in the place of seq 104 */
	assert_int_equal(receipt_check_record(&r, 1, &c, recs[3], sizeof(recs[0])), -EBADMSG);
	assert_int_equal(receipt_find(&r, 105)->index, 5);
	assert_null(receipt_find(&r, 107));
	assert_null(receipt_find(&r, 102));
	/* written back: the same bytes */
	assert_int_equal(receipt_format(r.kid, r.e, r.n_entries, r.hashes, r.note, r.note_len,
					&again, &l2), 0);
	assert_int_equal(l2, len);
	assert_memory_equal(again, t, len);
	free(again);
	/* another log key, with the same name */
	assert_int_equal(receipt_check(&r, &other_vkey, &c, &why), -ENOKEY);
	receipt_free(&r);
	free(t);
}

static void test_concatenated(void **state)
{
	size_t l1, l2;
	char *a = receipt_for(0, 1, 2, &key, NULL, &l1), *b = receipt_for(2, 9, 10, &key, NULL, &l2);
	char *both = malloc(l1 + l2);
	struct receipt r;
	struct tlog_checkpoint c;

	(void)state;
	memcpy(both, a, l1);
	memcpy(both + l1, b, l2);
	assert_int_equal(receipt_parse(both, l1 + l2, &r, NULL), 0);
	assert_int_equal(r.len, l1);
	assert_int_equal(receipt_check(&r, &vkey, &c, NULL), 0);
	assert_int_equal(c.size, 2);
	receipt_free(&r);
	assert_int_equal(receipt_parse(both + l1, l2, &r, NULL), 0);
	assert_int_equal(r.len, l2);
	assert_int_equal(r.n_entries, 8);
	assert_int_equal(receipt_check(&r, &vkey, &c, NULL), 0);
	for (size_t i = 0; i < r.n_entries; i++)
		assert_int_equal(receipt_check_record(&r, i, &c, recs[2 + i], sizeof(recs[0])), 0);
	receipt_free(&r);
	free(a);
	free(b);
	free(both);
}

static void test_tampered(void **state)
{
	size_t len;
	char *t = receipt_for(1, 3, 7, &key, NULL, &len);
	struct receipt r;
	struct tlog_checkpoint c;

	(void)state;
	/* every character of the first proof hash changed: parse fails or the
	 * proof no longer leads to the signed root */
	{
		char *line = strstr(t, "\n101 1 ") + 7;

		for (int i = 0; i < 43; i++) {
			char was = line[i];
			int bad = 0;

			line[i] = was == 'A' ? 'B' : 'A';
			if (receipt_parse(t, len, &r, NULL)) {
				bad = 1;
			} else {
				assert_int_equal(receipt_check(&r, &vkey, &c, NULL), 0);
				bad = receipt_check_record(&r, 0, &c, recs[1], sizeof(recs[0])) != 0;
				receipt_free(&r);
			}
			assert_true(bad);
			line[i] = was;
		}
	}
	/* the signed size changed: the signature fails */
	{
		char *s = strstr(t, "\n7\n");

		s[1] = '8';
		assert_int_equal(receipt_parse(t, len, &r, NULL), 0);
		assert_int_equal(receipt_check(&r, &vkey, &c, NULL), -EKEYREJECTED);
		receipt_free(&r);
		s[1] = '7';
	}
	free(t);
	/* proofs for size 7 under a checkpoint of size 8: lengths differ for
	 * some entries, or the root does */
	{
		char *a = receipt_for(4, 6, 7, &key, NULL, &len);
		char note[1024];
		size_t nl = checkpoint(8, &key, NULL, note, sizeof(note));
		char *p = strstr(a, "\n\n") + 2;
		int fails = 0;

		memcpy(p, note, nl);
		assert_int_equal(receipt_parse(a, (size_t)(p - a) + nl, &r, NULL), 0);
		if (receipt_check(&r, &vkey, &c, NULL)) {
			fails = 1;
		} else {
			for (size_t i = 0; i < r.n_entries; i++)
				fails += receipt_check_record(&r, i, &c, recs[4 + i], sizeof(recs[0])) != 0;
		}
		assert_true(fails > 0);
		receipt_free(&r);
		free(a);
	}
	/* a checkpoint of another origin */
	t = receipt_for(1, 1, 2, &key, "other.example/log", &len);
	assert_int_equal(receipt_parse(t, len, &r, NULL), 0);
	assert_int_equal(receipt_check(&r, &vkey, &c, NULL), -EBADMSG);
	receipt_free(&r);
	free(t);
}

static void test_malformed(void **state)
{
	static const char note[] = "\nlog\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"
				   "\xe2\x80\x94 log AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
	static const char *const heads[] = {
		"eco2-receipt/v2\nkid 0102030405060708\n1 0\n",
		"eco2-receipt/v1\nkid 010203040506070\n1 0\n",
		"eco2-receipt/v1\nkid 01020304050607AB\n1 0\n",
		"eco2-receipt/v1\nkid 0102030405060708\n",
		"eco2-receipt/v1\nkid 0102030405060708\n0 0\n",
		"eco2-receipt/v1\nkid 0102030405060708\n01 0\n",
		"eco2-receipt/v1\nkid 0102030405060708\n1 -1\n",
		"eco2-receipt/v1\nkid 0102030405060708\n1 0 AAAA\n",
		"eco2-receipt/v1\nkid 0102030405060708\n1 0  47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"eco2-receipt/v1\nkid 0102030405060708\n1 0 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= \n",
		"eco2-receipt/v1\nkid 0102030405060708\n2 0\n1 1\n",
		"eco2-receipt/v1\nkid 0102030405060708\n1 9223372036854775808\n",
		"eco2-receipt/v1\nkid 0102030405060708\n1\n",
	};
	struct receipt r;
	char buf[1024];

	(void)state;
	/* the good head parses */
	snprintf(buf, sizeof(buf), "eco2-receipt/v1\nkid 0102030405060708\n1 0\n%s", note);
	assert_int_equal(receipt_parse(buf, strlen(buf), &r, NULL), 0);
	receipt_free(&r);
	for (size_t i = 0; i < ARRAY_SIZE(heads); i++) {
		const char *why = NULL;

		snprintf(buf, sizeof(buf), "%s%s", heads[i], note);
		if (receipt_parse(buf, strlen(buf), &r, &why) != -EBADMSG)
			fail_msg("accepted bad receipt %zu", i);
		assert_non_null(why);
	}
	/* the note cut short: no signature line, no blank line */
	snprintf(buf, sizeof(buf), "eco2-receipt/v1\nkid 0102030405060708\n1 0\nlog\n1\nx\n\n");
	assert_int_equal(receipt_parse(buf, strlen(buf), &r, NULL), -EBADMSG);
	snprintf(buf, sizeof(buf), "eco2-receipt/v1\nkid 0102030405060708\n1 0\nlog\n1\nx\n");
	assert_int_equal(receipt_parse(buf, strlen(buf), &r, NULL), -EBADMSG);
	snprintf(buf, sizeof(buf), "eco2-receipt/v1\nkid 0102030405060708\n1 0\n\n\xe2\x80\x94 log x\n");
	assert_int_equal(receipt_parse(buf, strlen(buf), &r, NULL), -EBADMSG);
	/* the writer refuses what the parser would */
	{
		struct receipt_entry e[2] = { { 5, 0, 0, 0 }, { 5, 1, 0, 0 } };
		char *out;
		size_t len;

		assert_int_equal(receipt_format(r.kid, e, 2, NULL, note + 1, strlen(note) - 1, &out, &len), -EINVAL);
		assert_int_equal(receipt_format(r.kid, e, 0, NULL, note + 1, strlen(note) - 1, &out, &len), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_concatenated),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_malformed),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
