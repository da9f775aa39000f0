/* Unit tests for crypto/verify.c: keys and back ends, PEM public keys, the
 * co2 check, one record against expectations (the ledger's call), the
 * splitter's resynchronisation, and the chain's problem reports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pem.h>
#include <mbedtls/pk.h>

#include "lib/bytes.h"
#include "crypto/verify.h"
#include "tests/unit/records_helper.h"

/* ---- keys ------------------------------------------------------------------ */

static void test_key_new_rejects(void **state)
{
	uint8_t pub[65], bad_point[65];
	verify_key_t *k = (verify_key_t *)1;
	struct tkey p;
	(void)state;

	tkey_p256(&p);
	memcpy(pub, p.pub, 65);
	assert_int_equal(verify_key_new(&k, COSE_ALG_EDDSA, pub, 31, NULL), -EINVAL);
	assert_null(k);
	assert_int_equal(verify_key_new(&k, COSE_ALG_ES256, pub, 64, NULL), -EINVAL);
	assert_int_equal(verify_key_new(&k, -35, pub, 65, NULL), -EINVAL);
	memset(bad_point, 1, sizeof(bad_point));
	bad_point[0] = 0x04;                         /* not on the curve */
	assert_int_equal(verify_key_new(&k, COSE_ALG_ES256, bad_point, 65, "mbedtls"), -EINVAL);
	if (IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO))
		assert_int_equal(verify_key_new(&k, COSE_ALG_ES256, bad_point, 65, "libcrypto"),
				 -EINVAL);
	pub[0] = 0x02;                               /* compressed form: not ours */
	assert_int_equal(verify_key_new(&k, COSE_ALG_ES256, pub, 65, NULL), -EINVAL);
	assert_int_equal(verify_key_new(&k, COSE_ALG_ES256, p.pub, 65, "sodium"), -ENOTSUP);
	assert_int_equal(verify_key_new(&k, COSE_ALG_ES256, p.pub, 65, "nope"), -ENOTSUP);
	assert_int_equal(verify_key_new(&k, COSE_ALG_ES256, p.pub, 65, "mbedtls"), 0);
	assert_string_equal(verify_key_backend(k), "mbedtls");
	verify_key_free(k);
	verify_key_free(NULL);
	tkey_free(&p);
}

static void test_backends_listed(void **state)
{
	const char *const *es = verify_backends(COSE_ALG_ES256);
	const char *const *ed = verify_backends(COSE_ALG_EDDSA);
	(void)state;

	assert_string_equal(ed[0], "sodium");
	assert_null(ed[1]);
	if (IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO)) {
		assert_string_equal(es[0], "libcrypto");
		assert_string_equal(es[1], "mbedtls");
	} else {
		assert_string_equal(es[0], "mbedtls");
		assert_null(es[1]);
	}
	assert_null(verify_backends(0));
}

/* Each ES256 back end built, and Ed25519: good, changed, zero and
 * out-of-range signatures give the same verdicts everywhere. */
static void test_backends_agree(void **state)
{
	struct tkey keys[2];
	(void)state;

	tkey_p256(&keys[0]);
	tkey_ed25519(&keys[1], 9);
	for (int i = 0; i < 2; i++) {
		struct tkey *t = &keys[i];
		const char *const *names = verify_backends(t->alg);

		for (; *names; names++) {
			uint8_t msg[300], sig[64] = { 0 };
			verify_key_t *k;

			randombytes_buf(msg, sizeof(msg));
			assert_int_equal(tkey_sign(t, msg, sizeof(msg), sig), 0);
			assert_int_equal(verify_key_new(&k, t->alg, t->pub, t->pub_len, *names), 0);
			assert_int_equal(verify_sig(k, msg, sizeof(msg), sig), 0);
			msg[17] ^= 1;
			assert_int_equal(verify_sig(k, msg, sizeof(msg), sig), -EBADE);
			msg[17] ^= 1;
			sig[40] ^= 0x10;
			assert_int_equal(verify_sig(k, msg, sizeof(msg), sig), -EBADE);
			memset(sig, 0, sizeof(sig));
			assert_int_equal(verify_sig(k, msg, sizeof(msg), sig), -EBADE);
			memset(sig, 0xff, sizeof(sig));           /* r, s >= n */
			assert_int_equal(verify_sig(k, msg, sizeof(msg), sig), -EBADE);
			verify_key_free(k);
		}
	}
	tkey_free(&keys[0]);
}

static void test_pem_keys(void **state)
{
	static const uint8_t prefix[12] = {
		0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
	};
	unsigned char der[44], pem[512];
	uint8_t raw[SIGNER_PUBKEY_MAX], kid[8];
	mbedtls_pk_context pk;
	struct tkey ed, p;
	verify_key_t *k;
	const char *err = NULL;
	size_t olen;
	(void)state;

	/* Ed25519: RFC 8410 SubjectPublicKeyInfo, as openssl writes it. */
	tkey_ed25519(&ed, 11);
	memcpy(der, prefix, 12);
	memcpy(der + 12, ed.pub, 32);
	assert_int_equal(mbedtls_pem_write_buffer("-----BEGIN PUBLIC KEY-----\n",
						  "-----END PUBLIC KEY-----\n", der, sizeof(der),
						  pem, sizeof(pem), &olen), 0);
	assert_int_equal(verify_key_from_pem(&k, (const char *)pem, strlen((const char *)pem),
					     NULL, &err), 0);
	assert_int_equal(verify_key_alg(k), COSE_ALG_EDDSA);
	assert_int_equal(verify_key_raw(k, raw), 32);
	assert_memory_equal(raw, ed.pub, 32);
	verify_key_kid(k, kid);
	assert_memory_equal(kid, ed.kid, 8);
	verify_key_free(k);
	/* the same DER one byte short is refused */
	assert_int_not_equal(verify_key_from_spki(&k, der, 43, NULL, &err), 0);
	assert_non_null(err);

	/* P-256 as mbedTLS writes it */
	tkey_p256(&p);
	mbedtls_pk_init(&pk);
	assert_int_equal(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_copy(&mbedtls_pk_ec(pk)->Q, &p.ec.Q), 0);
	assert_int_equal(mbedtls_ecp_group_load(&mbedtls_pk_ec(pk)->grp, MBEDTLS_ECP_DP_SECP256R1), 0);
	assert_int_equal(mbedtls_pk_write_pubkey_pem(&pk, pem, sizeof(pem)), 0);
	mbedtls_pk_free(&pk);
	assert_int_equal(verify_key_from_pem(&k, (const char *)pem, strlen((const char *)pem),
					     NULL, &err), 0);
	assert_int_equal(verify_key_alg(k), COSE_ALG_ES256);
	assert_int_equal(verify_key_raw(k, raw), 65);
	assert_memory_equal(raw, p.pub, 65);
	verify_key_free(k);
	tkey_free(&p);

	/* not a public key at all */
	assert_int_equal(verify_key_from_pem(&k, "hello", 5, NULL, &err), -EINVAL);
	assert_non_null(strstr(err, "PUBLIC KEY"));
	assert_null(k);
}

/* ---- co2 and one record --------------------------------------------------- */

static void test_verify_record(void **state)
{
	struct tkey k, other;
	struct eco2_record r, out;
	uint8_t prev[32], h[32], zero[32] = { 0 };
	verify_key_t *vk;
	const char *why;
	uint8_t *rec;
	size_t len;
	(void)state;

	tkey_ed25519(&k, 13);
	tkey_ed25519(&other, 14);
	assert_int_equal(verify_key_new(&vk, k.alg, k.pub, 32, NULL), 0);

	trec_fill(&r, &k, 1, NULL, 0);
	rec = trec_encode(&r, &k, &len);
	assert_int_equal(verify_record(vk, rec, len, 1, zero, &out, h, &why), 0);
	cose_record_sha256(rec, len, prev);
	assert_memory_equal(h, prev, 32);
	assert_int_equal(verify_record(vk, rec, len, 0, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(verify_record(vk, rec, len, 2, NULL, &out, NULL, &why), -EILSEQ);
	assert_true(out.seq == 1);                    /* tells a duplicate from a gap */
	assert_non_null(strstr(why, "expected 2"));
	free(rec);

	/* seq 1 must start from zero, whatever the caller expects */
	trec_fill(&r, &k, 1, prev, 0);
	rec = trec_encode(&r, &k, &len);
	assert_int_equal(verify_record(vk, rec, len, 0, NULL, NULL, NULL, &why), -EILSEQ);
	assert_non_null(strstr(why, "zero"));
	free(rec);

	trec_fill(&r, &k, 2, prev, 0);
	rec = trec_encode(&r, &k, &len);
	assert_int_equal(verify_record(vk, rec, len, 2, prev, NULL, NULL, &why), 0);
	assert_int_equal(verify_record(vk, rec, len, 2, zero, NULL, NULL, &why), -EILSEQ);
	assert_non_null(strstr(why, "prev"));
	rec[len - 3] ^= 4;
	assert_int_equal(verify_record(vk, rec, len, 2, prev, &out, NULL, &why), -EBADE);
	assert_true(out.seq == 2);
	assert_int_equal(verify_record(vk, rec, 7, 2, prev, NULL, NULL, &why), -EBADMSG);
	free(rec);

	r.co2_g += 10;
	rec = trec_encode(&r, &k, &len);
	assert_int_equal(verify_record(vk, rec, len, 2, prev, NULL, NULL, &why), -EDOM);
	assert_non_null(strstr(why, "co2: co2_g"));
	assert_non_null(strstr(why, "does not follow"));
	free(rec);
	r.co2_g -= 9;                                 /* one gram off: no tolerance */
	rec = trec_encode(&r, &k, &len);
	assert_int_equal(verify_record(vk, rec, len, 2, prev, NULL, NULL, &why), -EDOM);
	free(rec);
	/* any content rule, by its id: a trip that ends before it starts */
	trec_fill(&r, &k, 2, prev, 0);
	r.end_s = r.start_s - 60;
	rec = trec_encode(&r, &k, &len);
	assert_int_equal(verify_record(vk, rec, len, 2, prev, NULL, NULL, &why), -EDOM);
	assert_non_null(strstr(why, "time.order: ends"));
	free(rec);
	trec_fill(&r, &k, 2, prev, 0);
	snprintf(r.method, sizeof(r.method), "other-method");
	rec = trec_encode(&r, &k, &len);
	assert_int_equal(verify_record(vk, rec, len, 2, prev, NULL, NULL, &why), -ENOTSUP);
	free(rec);

	trec_fill(&r, &other, 2, prev, 0);
	rec = trec_encode(&r, &other, &len);
	assert_int_equal(verify_record(vk, rec, len, 2, prev, NULL, NULL, &why), -EKEYREJECTED);
	free(rec);
	verify_key_free(vk);
}

/* ES256 records: the high-S form of a signature is refused in version 2
 * and only reported in version 1; the ledger's rules between records. */
static void test_high_s_and_follows(void **state)
{
	struct tkey k;
	struct eco2_record r;
	struct verify_item *it = malloc(sizeof(*it));
	verify_key_t *vk;
	int high = 0;
	(void)state;

	assert_non_null(it);
	tkey_p256(&k);
	assert_int_equal(verify_key_new(&vk, k.alg, k.pub, k.pub_len, "mbedtls"), 0);
	k.high_s = true;
	for (int i = 0; i < 40 && high < 2; i++) {
		uint8_t *rec;
		size_t len;

		trec_fill(&r, &k, 1 + (uint64_t)i, NULL, 0);
		if (high)
			trec_v1(&r);
		rec = trec_encode(&r, &k, &len);
		if (es256_s_is_low(rec + len - 64)) {
			free(rec);
			continue;
		}
		verify_item_check(vk, rec, len, it);
		assert_true(it->signed_ok);
		if (!high) {
			assert_int_equal(it->status, -EDOM);
			assert_string_equal(it->code, "sig.low_s");
			/* the same record with s' = n - s: low, and it verifies */
			assert_int_equal(es256_normalize_s(rec + len - 64), 0);
			verify_item_check(vk, rec, len, it);
			assert_int_equal(it->status, 0);
		} else {
			assert_int_equal(it->status, 0);
			assert_int_equal(it->rules.n_warn, 1);
			assert_string_equal(it->rules.f[0].rule, "sig.low_s");
		}
		high++;
		free(rec);
	}
	assert_int_equal(high, 2);
	verify_key_free(vk);
	tkey_free(&k);

	/* verify_follows: a record against the stored one before it */
	{
		struct eco2_record p;
		uint8_t *prec, *rec;
		size_t plen, len;
		char why[256];

		tkey_ed25519(&k, 15);
		assert_int_equal(verify_key_new(&vk, k.alg, k.pub, 32, NULL), 0);
		trec_fill(&p, &k, 1, NULL, 0);
		prec = trec_encode(&p, &k, &plen);
		trec_fill(&r, &k, 2, NULL, 0);
		rec = trec_encode(&r, &k, &len);
		verify_item_check(vk, rec, len, it);
		assert_int_equal(verify_follows(prec, plen, it, why, sizeof(why)), 0);
		free(rec);
		r.start_s = p.start_s;                /* overlaps seq 1 */
		rec = trec_encode(&r, &k, &len);
		verify_item_check(vk, rec, len, it);
		assert_int_equal(it->status, 0);      /* fine on its own */
		assert_int_equal(verify_follows(prec, plen, it, why, sizeof(why)), -EDOM);
		assert_non_null(strstr(why, "chain.time: starts"));
		assert_int_equal(verify_follows(prec, 5, it, why, sizeof(why)), -EINVAL);
		free(rec);
		free(prec);
		verify_key_free(vk);
	}
	free(it);
}

/* ---- framing --------------------------------------------------------------- */

struct piece {
	size_t off, len;
	bool tail;
};

static size_t split_all(const uint8_t *buf, size_t len, struct piece *p, size_t max)
{
	struct verify_splitter sp;
	size_t n = 0;

	verify_split_init(&sp, buf, len);
	while (n < max && verify_split_next(&sp, &p[n].off, &p[n].len, &p[n].tail))
		n++;
	return n;
}

static void test_split(void **state)
{
	struct tkey k;
	struct piece p[16];
	size_t offs[6], len, n;
	uint8_t *all;
	(void)state;

	tkey_ed25519(&k, 15);
	all = trec_chain(&k, 5, offs, &len);
	n = split_all(all, len, p, 16);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(p[i].off, offs[i]);
		assert_int_equal(p[i].len, offs[i + 1] - offs[i]);
		assert_false(p[i].tail);
	}

	/* record 3's tag broken: records 1, 2 whole, record 3 as the bytes
	 * after record 2, then 4 and 5 whole */
	all[offs[2]] = 0xd3;
	n = split_all(all, len, p, 16);
	assert_int_equal(n, 5);
	assert_int_equal(p[2].off, offs[2]);
	assert_int_equal(p[2].len, offs[3] - offs[2]);
	assert_true(p[2].tail);
	assert_int_equal(p[3].off, offs[3]);
	assert_false(p[3].tail);
	all[offs[2]] = 0xd2;

	/* record 3's payload length made huge: it ends at record 4's start */
	uint8_t was = all[offs[2] + 18];
	all[offs[2] + 18] = 0xff;
	n = split_all(all, len, p, 16);
	assert_int_equal(n, 5);
	assert_int_equal(p[2].off, offs[2]);
	assert_int_equal(p[2].len, offs[3] - offs[2]);
	assert_int_equal(p[3].off, offs[3]);
	all[offs[2] + 18] = was;

	/* 100 bytes after the last record, some of them CBOR items of their
	 * own: one tail item of all 100, so "N bytes after" is right */
	{
		uint8_t *more = realloc(all, len + 100);

		assert_non_null(more);
		all = more;
	}
	for (int i = 0; i < 100; i++)
		all[len + i] = (uint8_t)(i < 5 ? 0x00 : 0x41);
	n = split_all(all, len + 100, p, 16);
	assert_int_equal(n, 6);
	assert_int_equal(p[5].off, len);
	assert_int_equal(p[5].len, 100);
	assert_true(p[5].tail);
	free(all);

	/* nothing in, nothing out; pure garbage is one item */
	assert_int_equal(split_all(NULL, 0, p, 16), 0);
	uint8_t junk[100];
	memset(junk, 0xd2, sizeof(junk));
	assert_int_equal(split_all(junk, sizeof(junk), p, 16), 1);
	assert_int_equal(p[0].len, sizeof(junk));
}

/* ---- chains ------------------------------------------------------------------ */

struct seen {
	unsigned n, warnings;
	uint64_t seq[32];
	char code[32][24];
	char reason[32][320];
};

static void collect(void *ctx, const struct verify_event *ev)
{
	struct seen *s = ctx;

	assert_non_null(ev->code);
	if (ev->warning) {
		s->warnings++;
		return;
	}
	if (s->n < 32) {
		s->seq[s->n] = ev->seq;
		snprintf(s->code[s->n], sizeof(s->code[0]), "%s", ev->code);
		snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", ev->reason);
	}
	s->n++;
}

/* Feed the records of `all` named by order[] (1-based seqs of the chain
 * whose offsets are offs[]) through a chain; returns good members. */
static unsigned run_chain(verify_key_t *vk, const uint8_t *all, const size_t *offs,
			  const unsigned *order, size_t n, struct seen *s)
{
	verify_chain_t *c;
	struct verify_item it;
	unsigned good = 0;
	unsigned long total;

	memset(s, 0, sizeof(*s));
	assert_int_equal(verify_chain_new(&c, collect, s), 0);
	for (size_t i = 0; i < n; i++) {
		unsigned q = order[i];

		verify_item_check(vk, all + offs[q - 1], offs[q] - offs[q - 1], &it);
		it.tail = false;
		good += verify_chain_push(c, &it);
	}
	total = verify_chain_finish(c);
	assert_int_equal(total, s->n);
	verify_chain_free(c);
	return good;
}

static void expect_one(const struct seen *s, uint64_t seq, const char *part)
{
	if (s->n != 1 || s->seq[0] != seq || !strstr(s->reason[0], part))
		fail_msg("wanted one problem, seq %llu \"%s\"; got %u: seq %llu \"%s\"",
			 (unsigned long long)seq, part, s->n,
			 (unsigned long long)(s->n ? s->seq[0] : 0), s->n ? s->reason[0] : "");
}

static void test_chains(void **state)
{
	struct tkey k;
	verify_key_t *vk;
	struct seen s;
	size_t offs[11], len;
	uint8_t *all;
	(void)state;

	tkey_ed25519(&k, 16);
	assert_int_equal(verify_key_new(&vk, k.alg, k.pub, 32, NULL), 0);
	all = trec_chain(&k, 10, offs, &len);

	static const unsigned good[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	assert_int_equal(run_chain(vk, all, offs, good, 10, &s), 10);
	assert_int_equal(s.n, 0);

	static const unsigned del3[] = { 1, 2, 3, 7, 8, 9, 10 };     /* 4..6 gone */
	assert_int_equal(run_chain(vk, all, offs, del3, 7, &s), 7);
	expect_one(&s, 4, "missing (seq 4 to 6, 3 records)");

	static const unsigned late[] = { 1, 2, 3, 6, 7, 5, 8, 9, 10 }; /* 4 gone, 5 late */
	run_chain(vk, all, offs, late, 9, &s);
	assert_int_equal(s.n, 2);
	assert_true(s.seq[0] == 5 && strstr(s.reason[0], "out of order: found after seq 7"));
	assert_true(s.seq[1] == 4 && !strcmp(s.reason[1], "missing"));

	static const unsigned mid[] = { 1, 2, 6, 4, 7, 8, 9, 10 };   /* 3..5 gap, 4 late */
	run_chain(vk, all, offs, mid, 8, &s);
	assert_int_equal(s.n, 3);
	assert_true(s.seq[0] == 4 && strstr(s.reason[0], "out of order"));
	assert_true(s.seq[1] == 3 && !strcmp(s.reason[1], "missing"));
	assert_true(s.seq[2] == 5 && !strcmp(s.reason[2], "missing"));

	static const unsigned start3[] = { 3, 4, 5 };                 /* begins at 3 */
	run_chain(vk, all, offs, start3, 3, &s);
	expect_one(&s, 1, "missing (seq 1 to 2");

	static const unsigned dup[] = { 1, 2, 2, 3 };
	assert_int_equal(run_chain(vk, all, offs, dup, 4, &s), 3);
	expect_one(&s, 2, "duplicate");

	static const unsigned replay[] = { 1, 2, 3, 4, 1 };
	run_chain(vk, all, offs, replay, 5, &s);
	expect_one(&s, 1, "duplicate");

	/* a damaged last record: named by its place */
	all[offs[9] + 60] ^= 1;
	assert_int_equal(run_chain(vk, all, offs, good, 10, &s), 9);
	expect_one(&s, 10, "signature does not verify");
	/* damaged in its seq byte: still named by its place, with its claim */
	all[offs[9] + 60] ^= 1;
	free(all);

	/* seq 1 whose prev is not zero, signed and otherwise fine */
	{
		struct eco2_record r;
		uint8_t prev[32], *rec;
		size_t rl, o[2];
		static const unsigned one[] = { 1 };

		memset(prev, 7, sizeof(prev));
		trec_fill(&r, &k, 1, prev, 0);
		rec = trec_encode(&r, &k, &rl);
		o[0] = 0;
		o[1] = rl;
		assert_int_equal(run_chain(vk, rec, o, one, 1, &s), 0);
		expect_one(&s, 1, "prev of seq 1 is not 32 zero bytes");
		free(rec);
	}
	verify_key_free(vk);
}

/* A chain of records seq first.. signed by k, record i changed by mod
 * (before it is signed and chained), appended to *buf at *len; offs
 * gets each record's offset (and the end). Returns the last hash. */
typedef void chain_mod_fn(struct eco2_record *r, unsigned i);

static void chain_add(struct tkey *k, uint64_t first, unsigned n, uint8_t prev[32],
		      chain_mod_fn *mod, uint8_t **buf, size_t *len, size_t *offs)
{
	for (unsigned i = 0; i < n; i++) {
		struct eco2_record r;
		uint8_t *one;
		size_t one_len;

		trec_fill(&r, k, first + i, prev, 1);
		if (first + i > 1000) {          /* far seqs: plausible times */
			r.start_s = 1760000000 + (int64_t)i * 3600;
			r.end_s = r.start_s + 1800;
			r.odo_start_m = 12000000 + (int64_t)i * 25000;
			r.odo_end_m = r.odo_start_m + (r.type == ECO2_REC_TRIP ? 23266 : 0);
		}
		if (mod)
			mod(&r, i);
		one = trec_encode(&r, k, &one_len);
		*buf = realloc(*buf, *len + one_len);
		assert_non_null(*buf);
		memcpy(*buf + *len, one, one_len);
		if (offs)
			offs[i] = *len;
		*len += one_len;
		if (offs)
			offs[i + 1] = *len;
		cose_record_sha256(one, one_len, prev);
		free(one);
	}
}

/* Every item of buf through a chain, as eco2-verify feeds it. */
static unsigned run_all(verify_key_t *vk, const uint8_t *buf, size_t len, struct seen *s)
{
	struct verify_splitter sp;
	struct verify_item *it = malloc(sizeof(*it));
	verify_chain_t *c;
	size_t off, ilen;
	bool tail;
	unsigned good = 0;
	unsigned long total;

	assert_non_null(it);
	memset(s, 0, sizeof(*s));
	assert_int_equal(verify_chain_new(&c, collect, s), 0);
	verify_split_init(&sp, buf, len);
	while (verify_split_next(&sp, &off, &ilen, &tail)) {
		verify_item_check(vk, buf + off, ilen, it);
		it->tail = tail;
		good += verify_chain_push(c, it);
	}
	total = verify_chain_finish(c);       /* before s->n is read */
	assert_int_equal(total, s->n);
	verify_chain_free(c);
	free(it);
	return good;
}

static void mod_fork(struct eco2_record *r, unsigned i)
{
	(void)i;
	r->end_s += 60;                          /* another record at seq 3 */
}

static void mod_overlap(struct eco2_record *r, unsigned i)
{
	if (i == 2)                              /* seq 3 starts inside seq 2 */
		r->start_s -= 3000;
}

static void mod_twice(struct eco2_record *r, unsigned i)
{
	if (i == 4) {                            /* seq 5 claims seq 3's span */
		r->odo_start_m -= 50000;
		r->odo_end_m -= 50000;
	}
}

static void test_chain_bookkeeping(void **state)
{
	struct tkey k;
	verify_key_t *vk;
	struct seen s;
	uint8_t prev[32], prev2[32], *buf = NULL, *fork = NULL;
	size_t len = 0, flen = 0, offs[128];
	(void)state;

	tkey_ed25519(&k, 17);
	assert_int_equal(verify_key_new(&vk, k.alg, k.pub, 32, NULL), 0);

	/* A fork: seq 3 signed twice with different content. */
	memset(prev, 0, 32);
	chain_add(&k, 1, 2, prev, NULL, &buf, &len, offs);
	memcpy(prev2, prev, 32);
	chain_add(&k, 3, 3, prev, NULL, &buf, &len, offs);
	chain_add(&k, 3, 1, prev2, mod_fork, &fork, &flen, NULL);
	{
		uint8_t *more = realloc(buf, len + flen);

		assert_non_null(more);
		buf = more;
	}
	memcpy(buf + len, fork, flen);
	assert_int_equal(run_all(vk, buf, len + flen, &s), 5);
	assert_int_equal(s.n, 1);
	assert_true(s.seq[0] == 3);
	assert_string_equal(s.code[0], "chain.fork");
	{
		char a[33], b[33];
		uint8_t h[32];

		cose_record_sha256(buf + offs[0], offs[1] - offs[0], h);   /* seq 3 */
		hex_encode(h, 16, a);
		cose_record_sha256(fork, flen, h);
		hex_encode(h, 16, b);
		assert_non_null(strstr(s.reason[0], a));
		assert_non_null(strstr(s.reason[0], b));
	}
	/* the same bytes again are a duplicate, not a fork */
	memcpy(buf + len, buf + offs[0], offs[1] - offs[0]);
	assert_int_equal(run_all(vk, buf, len + offs[1] - offs[0], &s), 5);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.code[0], "chain.duplicate");
	free(buf);
	free(fork);

	/* 70 damaged records in a row, then genuine ones: each damaged one
	 * is one problem at its place, and the 6 after them all count. */
	buf = NULL;
	len = 0;
	memset(prev, 0, 32);
	chain_add(&k, 1, 80, prev, NULL, &buf, &len, offs);
	for (unsigned i = 4; i < 74; i++)
		buf[offs[i + 1] - 5] ^= 0x20;    /* a signature byte of seq i+1 */
	assert_int_equal(run_all(vk, buf, len, &s), 10);
	assert_int_equal(s.n, 70);
	for (unsigned i = 0; i < 32; i++) {
		assert_true(s.seq[i] == 5 + i);
		assert_string_equal(s.code[i], "signature");
	}
	/* 70 garbage items inserted between seq 4 and 5 fill no gap: every
	 * record counts, every garbage item is one problem */
	for (unsigned i = 4; i < 74; i++)
		buf[offs[i + 1] - 5] ^= 0x20;
	{
		size_t glen = (size_t)70 * 40;
		uint8_t *g = malloc(len + glen);

		assert_non_null(g);
		memcpy(g, buf, offs[4]);
		for (size_t j = 0; j < 70; j++) {
			memcpy(g + offs[4] + j * 40, buf, 10);   /* a record start, then junk */
			memset(g + offs[4] + j * 40 + 10, 0x5a, 30);
		}
		memcpy(g + offs[4] + glen, buf + offs[4], len - offs[4]);
		assert_int_equal(run_all(vk, g, len + glen, &s), 80);
		assert_int_equal(s.n, 70);
		free(g);
	}
	free(buf);

	/* Two records at seq 2^64-1: the second is not counted. */
	buf = NULL;
	len = 0;
	memset(prev, 0x33, 32);
	chain_add(&k, UINT64_MAX - 1, 2, prev, NULL, &buf, &len, offs);
	memcpy(prev2, prev, 32);
	memset(prev, 0x44, 32);
	chain_add(&k, UINT64_MAX, 1, prev, mod_fork, &buf, &len, offs + 2);
	assert_int_equal(run_all(vk, buf, len, &s), 2);
	assert_true(s.seq[s.n - 1] == 1 || s.seq[0] == UINT64_MAX);
	{
		bool fork_seen = false;

		for (unsigned i = 0; i < s.n && i < 32; i++)
			fork_seen |= s.seq[i] == UINT64_MAX && !strcmp(s.code[i], "chain.fork");
		assert_true(fork_seen);
	}
	free(buf);

	/* Rules between records, through the chain: one problem each, the
	 * records around still count. */
	buf = NULL;
	len = 0;
	memset(prev, 0, 32);
	chain_add(&k, 1, 6, prev, mod_overlap, &buf, &len, offs);
	assert_int_equal(run_all(vk, buf, len, &s), 5);
	assert_int_equal(s.n, 1);
	assert_true(s.seq[0] == 3);
	assert_string_equal(s.code[0], "chain.time");
	free(buf);
	buf = NULL;
	len = 0;
	memset(prev, 0, 32);
	chain_add(&k, 1, 6, prev, mod_twice, &buf, &len, offs);
	assert_int_equal(run_all(vk, buf, len, &s), 5);
	assert_int_equal(s.n, 1);
	assert_true(s.seq[0] == 5);
	assert_true(!strcmp(s.code[0], "chain.odo_twice") || !strcmp(s.code[0], "chain.odo_back"));
	free(buf);
	verify_key_free(vk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_new_rejects),
		cmocka_unit_test(test_backends_listed),
		cmocka_unit_test(test_backends_agree),
		cmocka_unit_test(test_pem_keys),
		cmocka_unit_test(test_verify_record),
		cmocka_unit_test(test_high_s_and_follows),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_chains),
		cmocka_unit_test(test_chain_bookkeeping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
