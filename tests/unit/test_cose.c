/* Unit tests for crypto/cose.c: records encode and decode to the same
 * struct, verify under Ed25519 and ES256, match the documented example
 * byte for byte, and every malformed or non-canonical form is refused
 * with a reason. Keys and signatures come straight from libsodium and
 * mbedTLS (tests/unit/records_helper.h), not from the signer back ends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "crypto/cbor.h"
#include "crypto/cose.h"
#include "crypto/verify.h"
#include "tests/unit/records_helper.h"

static void assert_record_equal(const struct eco2_record *a, const struct eco2_record *b)
{
	/* Field by field: the struct has padding. */
	assert_int_equal(a->version, b->version);
	assert_memory_equal(a->kid, b->kid, 8);
	assert_true(a->seq == b->seq);
	assert_memory_equal(a->prev, b->prev, 32);
	assert_int_equal(a->type, b->type);
	assert_true(a->start_s == b->start_s && a->end_s == b->end_s);
	assert_true(a->odo_start_m == b->odo_start_m && a->odo_end_m == b->odo_end_m);
	assert_true(a->distance_m == b->distance_m);
	assert_true(a->discharge_wh == b->discharge_wh && a->regen_wh == b->regen_wh);
	assert_true(a->co2_g == b->co2_g);
	assert_string_equal(a->method, b->method);
	assert_true(a->baseline_mg_per_km == b->baseline_mg_per_km);
	assert_true(a->grid_mg_per_kwh == b->grid_mg_per_kwh);
	assert_true(a->charge_eff_permille == b->charge_eff_permille);
	assert_true(a->td_loss_permille == b->td_loss_permille);
	assert_true(a->flags == b->flags);
	assert_int_equal(a->has_vin, b->has_vin);
	if (a->has_vin)
		assert_string_equal(a->vin, b->vin);
	assert_true(a->charged_wh == b->charged_wh);
	assert_true(a->odo_step_m == b->odo_step_m);
	assert_string_equal(a->software, b->software);
	assert_memory_equal(a->profile_sha256, b->profile_sha256, 32);
}

static void roundtrip(struct tkey *k, const struct eco2_record *r)
{
	struct eco2_record back;
	struct cose_sign1 parts;
	const char *why = NULL;
	uint8_t *rec;
	size_t len;

	rec = trec_encode(r, k, &len);
	assert_true(len <= COSE_RECORD_MAX);
	assert_int_equal(cose_record_decode(rec, len, &back, &parts, &why), 0);
	assert_record_equal(r, &back);
	assert_int_equal(parts.alg, k->alg);
	assert_memory_equal(parts.kid, k->kid, 8);
	assert_int_equal(verify_record_pubkey(rec, len, k->alg, k->pub, k->pub_len, &back, &why), 0);
	assert_record_equal(r, &back);
	free(rec);
}

static void test_roundtrip_both_algs(void **state)
{
	struct tkey ed, p256;
	struct eco2_record r;
	uint8_t prev[32];
	(void)state;

	tkey_ed25519(&ed, 7);
	tkey_p256(&p256);
	memset(prev, 0x5a, sizeof(prev));
	for (int i = 0; i < 2; i++) {
		struct tkey *k = i ? &p256 : &ed;

		trec_fill(&r, k, 1, NULL, 0);                /* trip */
		roundtrip(k, &r);
		trec_fill(&r, k, 2, prev, 1);                /* charging session */
		assert_int_equal(r.type, ECO2_REC_CHARGE);
		roundtrip(k, &r);
		trec_fill(&r, k, 3, prev, 0);                /* extremes and a VIN */
		r.has_vin = true;
		snprintf(r.vin, sizeof(r.vin), "WVWZZZ1JZXW000001");
		r.seq = UINT64_MAX;
		r.start_s = INT64_MIN;
		r.end_s = INT64_MAX;
		r.co2_g = -123456789;
		r.flags = UINT64_MAX;
		snprintf(r.method, sizeof(r.method), "%s", "m\xc3\xa9thode-\xe2\x82\xac-0123456789abc");
		r.odo_step_m = INT64_MIN;
		memset(r.software, 'x', sizeof(r.software) - 1);
		roundtrip(k, &r);
		/* format version 1: keys 21 to 23 neither written nor read */
		trec_fill(&r, k, 4, prev, 0);
		trec_v1(&r);
		roundtrip(k, &r);
		trec_fill(&r, k, 6, prev, 1);
		trec_v1(&r);
		roundtrip(k, &r);
	}
	tkey_free(&p256);
}

static void test_verify_wrong_key_and_signature(void **state)
{
	struct tkey a, b, p;
	struct eco2_record r;
	const char *why;
	uint8_t *rec;
	size_t len;
	(void)state;

	tkey_ed25519(&a, 1);
	tkey_ed25519(&b, 2);
	tkey_p256(&p);
	trec_fill(&r, &a, 1, NULL, 0);
	rec = trec_encode(&r, &a, &len);
	assert_int_equal(verify_record_pubkey(rec, len, a.alg, b.pub, b.pub_len, NULL, &why),
			 -EKEYREJECTED);
	assert_int_equal(verify_record_pubkey(rec, len, p.alg, p.pub, p.pub_len, NULL, &why),
			 -EKEYREJECTED);
	rec[len - 1] ^= 1;     /* last signature byte */
	assert_int_equal(verify_record_pubkey(rec, len, a.alg, a.pub, a.pub_len, NULL, &why), -EBADE);
	assert_non_null(strstr(why, "signature"));
	assert_int_equal(verify_record_pubkey(rec, len, a.alg, a.pub, 31, NULL, &why), -EINVAL);
	free(rec);
	tkey_free(&p);
}

/* Every single-byte change and every truncation of a record is refused. */
static void test_every_flip_and_cut_refused(void **state)
{
	struct tkey ed, p256;
	struct eco2_record r;
	const char *why;
	(void)state;

	tkey_ed25519(&ed, 3);
	tkey_p256(&p256);
	for (int a = 0; a < 2; a++) {
		struct tkey *k = a ? &p256 : &ed;
		uint8_t *rec;
		size_t len;

		trec_fill(&r, k, 5, NULL, 1);
		r.has_vin = true;
		snprintf(r.vin, sizeof(r.vin), "VF1AG000123456789");
		rec = trec_encode(&r, k, &len);
		for (size_t i = 0; i < len; i++) {
			static const uint8_t deltas[] = { 0x01, 0x80, 0xff };

			for (size_t d = 0; d < sizeof(deltas); d++) {
				rec[i] ^= deltas[d];
				if (!verify_record_pubkey(rec, len, k->alg, k->pub, k->pub_len, NULL, &why))
					fail_msg("byte %zu ^ 0x%02x still verifies", i, deltas[d]);
				rec[i] ^= deltas[d];
			}
		}
		for (size_t cut = 0; cut < len; cut++) {
			assert_int_equal(cose_record_decode(rec, cut, NULL, NULL, &why), -EBADMSG);
			assert_non_null(why);
		}
		assert_int_equal(verify_record_pubkey(rec, len, k->alg, k->pub, k->pub_len, NULL, &why), 0);
		free(rec);
	}
	tkey_free(&p256);
}

/* ---- hand-built payloads ------------------------------------------------- */

struct ent {
	uint64_t key;
	char kind;          /* 'u' uint, 'i' int, 'b' bstr, 't' tstr, 'r' raw bytes */
	int64_t i;
	const void *p;
	size_t n;
};

static size_t ents_from_record(const struct eco2_record *r, struct ent *e)
{
	size_t n = 0;

#define U(k, v) e[n++] = (struct ent){ (k), 'u', (int64_t)(v), NULL, 0 }
#define I(k, v) e[n++] = (struct ent){ (k), 'i', (v), NULL, 0 }
	U(0, r->version);
	e[n++] = (struct ent){ 1, 'b', 0, r->kid, 8 };
	U(2, r->seq);
	e[n++] = (struct ent){ 3, 'b', 0, r->prev, 32 };
	U(4, r->type);
	I(5, r->start_s); I(6, r->end_s); I(7, r->odo_start_m); I(8, r->odo_end_m);
	I(9, r->distance_m); I(10, r->discharge_wh); I(11, r->regen_wh); I(12, r->co2_g);
	e[n++] = (struct ent){ 13, 't', 0, r->method, strlen(r->method) };
	I(14, r->baseline_mg_per_km); I(15, r->grid_mg_per_kwh);
	I(16, r->charge_eff_permille); I(17, r->td_loss_permille);
	U(18, r->flags);
	if (r->has_vin)
		e[n++] = (struct ent){ 19, 't', 0, r->vin, strlen(r->vin) };
	if (r->type == ECO2_REC_CHARGE)
		I(20, r->charged_wh);
	if (r->version >= 2) {
		I(21, r->odo_step_m);
		e[n++] = (struct ent){ 22, 't', 0, r->software, strlen(r->software) };
		e[n++] = (struct ent){ 23, 'b', 0, r->profile_sha256, 32 };
	}
#undef U
#undef I
	return n;
}

static size_t ents_encode(const struct ent *e, size_t n, uint8_t *buf, size_t cap)
{
	struct cbor_wr w;

	cbor_wr_init(&w, buf, cap);
	cbor_put_map(&w, n);
	for (size_t i = 0; i < n; i++) {
		cbor_put_uint(&w, e[i].key);
		switch (e[i].kind) {
		case 'u': cbor_put_uint(&w, (uint64_t)e[i].i); break;
		case 'i': cbor_put_int(&w, e[i].i); break;
		case 'b': cbor_put_bstr(&w, e[i].p, e[i].n); break;
		case 't': cbor_put_tstr(&w, e[i].p, e[i].n); break;
		default: cbor_put_raw(&w, e[i].p, e[i].n); break;
		}
	}
	assert_int_equal(cbor_wr_status(&w), 0);
	return w.len;
}

/* A correctly signed COSE_Sign1 around any payload bytes and any
 * protected header bytes (so only the structure is wrong). */
static size_t wrap(struct tkey *k, const uint8_t *prot, size_t prot_len,
		   const uint8_t *payload, size_t plen, uint8_t *out, size_t cap)
{
	uint8_t tbs[1024], sig[64];
	size_t tbs_len = cose_sig_structure(prot, prot_len, payload, plen, tbs, sizeof(tbs));
	struct cbor_wr w;

	assert_true(tbs_len > 0);
	assert_int_equal(tkey_sign(k, tbs, tbs_len, sig), 0);
	cbor_wr_init(&w, out, cap);
	cbor_put_tag(&w, 18);
	cbor_put_array(&w, 4);
	cbor_put_bstr(&w, prot, prot_len);
	cbor_put_map(&w, 0);
	cbor_put_bstr(&w, payload, plen);
	cbor_put_bstr(&w, sig, 64);
	assert_int_equal(cbor_wr_status(&w), 0);
	return w.len;
}

static size_t std_prot(const struct tkey *k, uint8_t prot[16])
{
	prot[0] = 0xa2;
	prot[1] = 0x01;
	prot[2] = k->alg == COSE_ALG_EDDSA ? 0x27 : 0x26;
	prot[3] = 0x04;
	prot[4] = 0x48;
	memcpy(prot + 5, k->kid, 8);
	return 13;
}

static void expect_payload_refused(struct tkey *k, const struct ent *e, size_t n,
				   const char *why_part)
{
	uint8_t payload[1024], rec[1200], prot[16];
	size_t plen = ents_encode(e, n, payload, sizeof(payload));
	size_t prot_len = std_prot(k, prot);
	size_t len = wrap(k, prot, prot_len, payload, plen, rec, sizeof(rec));
	const char *why = NULL;
	int ret = cose_record_decode(rec, len, NULL, NULL, &why);

	if (ret != -EBADMSG || !why || !strstr(why, why_part))
		fail_msg("wanted \"%s\", got %d \"%s\"", why_part, ret, why ? why : "(none)");
}

static void test_payload_rules(void **state)
{
	struct tkey k;
	struct eco2_record r, c;
	struct ent e[24], t[24];
	size_t n;
	uint8_t nonshort[] = { 0x18, 0x05 };
	(void)state;

	tkey_ed25519(&k, 4);
	trec_fill(&r, &k, 5, NULL, 0);
	trec_v1(&r);
	n = ents_from_record(&r, e);
	assert_int_equal(n, 19);

	/* control: the hand-built payload is the real one */
	{
		uint8_t a[512], b[512];
		size_t al = ents_encode(e, n, a, sizeof(a)), bl;

		assert_int_equal(cose_payload_encode(&r, b, sizeof(b), &bl), 0);
		assert_int_equal(al, bl);
		assert_memory_equal(a, b, al);
	}
	/* a missing key */
	memcpy(t, e, sizeof(e));
	memmove(&t[12], &t[13], (n - 13) * sizeof(*t));
	expect_payload_refused(&k, t, n - 1, "map of 19 to 24");
	memcpy(t, e, sizeof(e));                          /* 12 gone, 19 added */
	memmove(&t[12], &t[13], (n - 13) * sizeof(*t));
	t[n - 1] = (struct ent){ 19, 't', 0, "VIN", 3 };
	expect_payload_refused(&k, t, n, "key 12 (co2_g): missing");
	/* an unknown key */
	memcpy(t, e, sizeof(e));
	t[n] = (struct ent){ 21, 'u', 1, NULL, 0 };
	expect_payload_refused(&k, t, n + 1, "key 21 (odo_step_m): unknown key (reserved");
	/* out of order, and duplicated */
	memcpy(t, e, sizeof(e));
	t[5] = e[6];
	t[6] = e[5];
	expect_payload_refused(&k, t, n, "out of order");
	memcpy(t, e, sizeof(e));
	t[n] = e[n - 1];
	expect_payload_refused(&k, t, n + 1, "duplicate or out of order");
	/* a non-shortest integer inside the payload */
	memcpy(t, e, sizeof(e));
	t[2] = (struct ent){ 2, 'r', 0, nonshort, sizeof(nonshort) };
	expect_payload_refused(&k, t, n, "key 2 (seq): not canonical");
	/* wrong types and ranges */
	memcpy(t, e, sizeof(e));
	t[2] = (struct ent){ 2, 'i', -5, NULL, 0 };
	expect_payload_refused(&k, t, n, "key 2 (seq): unsigned integer expected");
	t[2] = (struct ent){ 2, 'u', 0, NULL, 0 };
	expect_payload_refused(&k, t, n, "key 2 (seq): 0");
	memcpy(t, e, sizeof(e));
	t[12] = (struct ent){ 12, 't', 0, "12", 2 };
	expect_payload_refused(&k, t, n, "key 12 (co2_g): integer expected");
	memcpy(t, e, sizeof(e));
	t[1] = (struct ent){ 1, 'b', 0, k.kid, 7 };
	expect_payload_refused(&k, t, n, "kid must be 8 bytes");
	memcpy(t, e, sizeof(e));
	t[3] = (struct ent){ 3, 'b', 0, r.prev, 31 };
	expect_payload_refused(&k, t, n, "prev must be 32 bytes");
	memcpy(t, e, sizeof(e));
	t[13] = (struct ent){ 13, 't', 0, "0123456789012345678901234567890123", 32 };
	expect_payload_refused(&k, t, n, "longer than 31");
	t[13] = (struct ent){ 13, 't', 0, "eco2\0ev", 7 };
	expect_payload_refused(&k, t, n, "NUL");
	/* version and type */
	memcpy(t, e, sizeof(e));
	t[0].i = 3;
	expect_payload_refused(&k, t, n, "version not supported");
	t[0].i = 0;
	expect_payload_refused(&k, t, n, "version not supported");
	t[0].i = 2;                                       /* without 21 to 23 */
	expect_payload_refused(&k, t, n, "key 21 (odo_step_m): missing");
	memcpy(t, e, sizeof(e));
	t[4].i = 3;
	expect_payload_refused(&k, t, n, "neither trip");
	/* key 20 only in charging sessions, and always there */
	memcpy(t, e, sizeof(e));
	t[n] = (struct ent){ 20, 'i', 5, NULL, 0 };
	expect_payload_refused(&k, t, n + 1, "charged energy in a trip");
	trec_fill(&c, &k, 6, NULL, 1);
	trec_v1(&c);
	n = ents_from_record(&c, t);
	assert_int_equal(n, 20);
	expect_payload_refused(&k, t, n - 1, "missing in a charging session");
	/* the payload's kid is the protected header's */
	n = ents_from_record(&r, t);
	uint8_t other[8] = { 0 };
	t[1] = (struct ent){ 1, 'b', 0, other, 8 };
	expect_payload_refused(&k, t, n, "differs from the protected header");
	/* a float where an integer belongs */
	uint8_t half[] = { 0xf9, 0x3c, 0x00 };
	n = ents_from_record(&r, t);
	t[9] = (struct ent){ 9, 'r', 0, half, sizeof(half) };
	expect_payload_refused(&k, t, n, "float");

	/* format version 2: keys 21 to 23 in every record, nothing above */
	trec_fill(&r, &k, 5, NULL, 0);
	n = ents_from_record(&r, e);
	assert_int_equal(n, 22);
	{
		uint8_t a[512], b[512];
		size_t al = ents_encode(e, n, a, sizeof(a)), bl;

		assert_int_equal(cose_payload_encode(&r, b, sizeof(b), &bl), 0);
		assert_int_equal(al, bl);
		assert_memory_equal(a, b, al);
	}
	for (unsigned gone = 19; gone < 22; gone++) {
		static const char *const want[] = {
			"key 21 (odo_step_m): missing", "key 22 (software): missing",
			"key 23 (profile_sha256): missing",
		};
		memcpy(t, e, sizeof(e));
		memmove(&t[gone], &t[gone + 1], (n - gone - 1) * sizeof(*t));
		expect_payload_refused(&k, t, n - 1, want[gone - 19]);
	}
	memcpy(t, e, sizeof(e));
	t[n] = (struct ent){ 24, 'u', 1, NULL, 0 };
	expect_payload_refused(&k, t, n + 1, "key 24 (?): unknown key (reserved");
	memcpy(t, e, sizeof(e));
	t[0].i = 1;                                       /* 21 to 23 in version 1 */
	expect_payload_refused(&k, t, n, "key 21 (odo_step_m): unknown key (reserved");
	memcpy(t, e, sizeof(e));
	t[20] = (struct ent){ 22, 't', 0, "012345678901234567890123456789012345678901234567", 48 };
	expect_payload_refused(&k, t, n, "software id longer than 47");
	memcpy(t, e, sizeof(e));
	t[21] = (struct ent){ 23, 'b', 0, r.prev, 31 };
	expect_payload_refused(&k, t, n, "profile_sha256 must be 32 bytes");
	memcpy(t, e, sizeof(e));
	t[19] = (struct ent){ 21, 't', 0, "100", 3 };
	expect_payload_refused(&k, t, n, "key 21 (odo_step_m): integer expected");
	trec_fill(&c, &k, 6, NULL, 1);                    /* a v2 charging session */
	n = ents_from_record(&c, t);
	assert_int_equal(n, 23);
	{
		uint8_t payload[512], rec[1200], prot[16];
		size_t plen = ents_encode(t, n, payload, sizeof(payload));
		size_t len = wrap(&k, prot, std_prot(&k, prot), payload, plen, rec, sizeof(rec));

		assert_int_equal(cose_record_decode(rec, len, NULL, NULL, NULL), 0);
	}
	memmove(&t[19], &t[20], (n - 20) * sizeof(*t));  /* key 20 gone */
	expect_payload_refused(&k, t, n - 1, "missing in a charging session");
}

static void expect_refused(const uint8_t *rec, size_t len, const char *why_part)
{
	const char *why = NULL;
	int ret = cose_record_decode(rec, len, NULL, NULL, &why);

	if (ret != -EBADMSG || !why || !strstr(why, why_part))
		fail_msg("wanted \"%s\", got %d \"%s\"", why_part, ret, why ? why : "(none)");
}

static void test_envelope_rules(void **state)
{
	struct tkey k;
	struct eco2_record r;
	uint8_t payload[512], prot[32], rec[1200], tmp[1200];
	size_t plen, prot_len, len;
	struct cbor_wr w;
	(void)state;

	tkey_ed25519(&k, 5);
	trec_fill(&r, &k, 9, NULL, 0);
	assert_int_equal(cose_payload_encode(&r, payload, sizeof(payload), &plen), 0);
	prot_len = std_prot(&k, prot);
	len = wrap(&k, prot, prot_len, payload, plen, rec, sizeof(rec));
	assert_int_equal(cose_record_decode(rec, len, NULL, NULL, NULL), 0);

	/* untagged, another tag, a tag of two bytes */
	expect_refused(rec + 1, len - 1, "tag expected");
	memcpy(tmp, rec, len);
	tmp[0] = 0xd1;
	expect_refused(tmp, len, "tag 18");
	tmp[0] = 0xd8;
	tmp[1] = 0x12;
	memcpy(tmp + 2, rec + 1, len - 1);
	expect_refused(tmp, len + 1, "shortest");
	/* trailing garbage, and longer than any record */
	memcpy(tmp, rec, len);
	tmp[len] = 0x00;
	expect_refused(tmp, len + 1, "trailing bytes");
	memset(tmp, 0, sizeof(tmp));
	expect_refused(tmp, COSE_RECORD_MAX + 1, "longer than any record");
	/* array of 3, a non-empty unprotected header, a short signature */
	memcpy(tmp, rec, len);
	tmp[1] = 0x83;
	expect_refused(tmp, len, "array of 4");
	cbor_wr_init(&w, tmp, sizeof(tmp));
	cbor_put_tag(&w, 18);
	cbor_put_array(&w, 4);
	cbor_put_bstr(&w, prot, prot_len);
	cbor_put_map(&w, 1);
	cbor_put_uint(&w, 4);
	cbor_put_bstr(&w, k.kid, 8);
	cbor_put_bstr(&w, payload, plen);
	cbor_put_bstr(&w, rec + len - 64, 64);
	expect_refused(tmp, w.len, "unprotected header must be empty");
	cbor_wr_init(&w, tmp, sizeof(tmp));
	cbor_put_tag(&w, 18);
	cbor_put_array(&w, 4);
	cbor_put_bstr(&w, prot, prot_len);
	cbor_put_map(&w, 0);
	cbor_put_bstr(&w, payload, plen);
	cbor_put_bstr(&w, rec + len - 64, 63);
	expect_refused(tmp, w.len, "signature must be 64 bytes");
	/* protected headers: other alg, other order, extra entry, short kid */
	{
		static const char *const hdrs[][2] = {
			{ "a201260448", "alg must be -7 (ES256) or -8 (EdDSA)" },  /* patched below */
			{ "a2044801020304050607080127", "key 1 (alg) expected" },
			{ "a3012704480102030405060708050a", "map of 2 entries" },
			{ "a20127044701020304050607", "kid must be 8 bytes" },
			{ "a201390100044801020304050607", "alg must be" },
		};
		for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			uint8_t ph[32];
			size_t phl = 0;
			const char *h = hdrs[i][0];

			while (h[0] && h[1]) {
				unsigned v;

				assert_int_equal(sscanf(h, "%2x", &v), 1);
				ph[phl++] = (uint8_t)v;
				h += 2;
			}
			if (i == 0) {   /* {1: -36 (ES512), 4: kid} */
				ph[2] = 0x38;
				ph[3] = 0x23;
				ph[4] = 0x04;
				ph[5] = 0x48;
				memcpy(ph + 6, k.kid, 8);
				phl = 14;
			}
			len = wrap(&k, ph, phl, payload, plen, tmp, sizeof(tmp));
			expect_refused(tmp, len, hdrs[i][1]);
		}
	}
}

static void test_encode_refuses(void **state)
{
	struct tkey k, other;
	struct eco2_record r;
	uint8_t *out = (uint8_t *)1;
	size_t len = 1;
	(void)state;

	log_open("test_cose", LOG_TO_STDERR, LOG_CRIT);
	tkey_ed25519(&k, 6);
	tkey_ed25519(&other, 8);
	trec_fill(&r, &k, 1, NULL, 0);
	assert_int_equal(cose_record_encode_with(&r, other.alg, other.kid, tkey_sign, &other,
						 &out, &len), -EINVAL);
	assert_null(out);
	assert_int_equal(len, 0);
	r.charged_wh = 1;                                /* a trip with key 20 */
	assert_int_equal(cose_record_encode_with(&r, k.alg, k.kid, tkey_sign, &k, &out, &len), -EINVAL);
	trec_fill(&r, &k, 1, NULL, 0);
	r.version = 3;
	assert_int_equal(cose_record_encode_with(&r, k.alg, k.kid, tkey_sign, &k, &out, &len), -EINVAL);
	r.version = 0;
	assert_int_equal(cose_record_encode_with(&r, k.alg, k.kid, tkey_sign, &k, &out, &len), -EINVAL);
	trec_fill(&r, &k, 1, NULL, 0);
	memset(r.software, 'x', sizeof(r.software));     /* not terminated */
	assert_int_equal(cose_record_encode_with(&r, k.alg, k.kid, tkey_sign, &k, &out, &len), -EINVAL);
	trec_fill(&r, &k, 1, NULL, 0);
	memset(r.method, 'x', sizeof(r.method));         /* not terminated */
	assert_int_equal(cose_record_encode_with(&r, k.alg, k.kid, tkey_sign, &k, &out, &len), -EINVAL);
	trec_fill(&r, &k, 0, NULL, 0);
	assert_int_equal(cose_record_encode_with(&r, k.alg, k.kid, tkey_sign, &k, &out, &len), -EINVAL);
	trec_fill(&r, &k, 1, NULL, 0);
	assert_int_equal(cose_record_encode_with(&r, -35, k.kid, tkey_sign, &k, &out, &len), -EINVAL);
}

/* The Sig_structure, built from RFC 9052 §4.4 by hand. */
static void test_sig_structure(void **state)
{
	static const uint8_t prot[] = { 0xa1, 0x01, 0x27 };
	static const uint8_t payload[] = { 0xa1, 0x00, 0x01 };
	static const uint8_t want[] = {
		0x84, 0x6a, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e', '1',
		0x43, 0xa1, 0x01, 0x27, 0x40, 0x43, 0xa1, 0x00, 0x01,
	};
	uint8_t buf[64];
	(void)state;

	assert_int_equal(cose_sig_structure(prot, 3, payload, 3, buf, sizeof(buf)), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(cose_sig_structure(prot, 3, payload, 3, buf, 10), 0);
}

/* docs/record-format.md's example is this encoder's output: the record
 * there, signed with the Ed25519 key whose seed is 32 bytes of 0x01. */
static void example_record(struct eco2_record *r, const struct tkey *k)
{
	memset(r, 0, sizeof(*r));
	r->version = 1;
	memcpy(r->kid, k->kid, 8);
	r->seq = 1;
	r->type = ECO2_REC_TRIP;
	r->start_s = 1767225600;        /* 2026-01-01T00:00:00Z */
	r->end_s = 1767227400;
	r->odo_start_m = 12345000;
	r->odo_end_m = 12368266;
	r->distance_m = 23266;
	r->discharge_wh = 3500;
	r->regen_wh = 400;
	r->co2_g = 2106;
	snprintf(r->method, sizeof(r->method), "eco2-ev-v1");
	r->baseline_mg_per_km = 169056;
	r->grid_mg_per_kwh = 530600;
	r->charge_eff_permille = 900;
	r->td_loss_permille = 0;
	r->flags = ECO2_FLAG_DATA_GAP;
}

/* The hex between <!-- NAME --> and <!-- /NAME --> in docs/record-format.md. */
static void doc_hex(const char *name, char *hex, size_t cap)
{
	const char *src = getenv("ECO2_SRC");
	char path[4096], line[512], open_m[64], close_m[64];
	size_t hl = 0;
	bool in = false;
	FILE *f;

	snprintf(open_m, sizeof(open_m), "<!-- %s -->", name);
	snprintf(close_m, sizeof(close_m), "<!-- /%s -->", name);
	snprintf(path, sizeof(path), "%s/docs/record-format.md", src ? src : ".");
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: cannot open (set ECO2_SRC to the source tree)", path);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, open_m)) {
			in = true;
			continue;
		}
		if (strstr(line, close_m))
			break;
		if (!in || line[0] == '`')
			continue;
		for (char *c = line; *c && hl < cap - 1; c++)
			if (isxdigit((unsigned char)*c))
				hex[hl++] = (char)tolower((unsigned char)*c);
	}
	fclose(f);
	hex[hl] = 0;
	if (!hl)
		fail_msg("%s: no %s block", path, open_m);
}

static void expect_doc(const char *name, const uint8_t *rec, size_t len)
{
	char hex[2048], got[2 * COSE_RECORD_MAX + 1];

	doc_hex(name, hex, sizeof(hex));
	for (size_t i = 0; i < len; i++)
		snprintf(got + 2 * i, 3, "%02x", rec[i]);
	if (strcmp(got, hex))
		fail_msg("docs/record-format.md %s differs from the encoder:\n doc: %s\n code: %s",
			 name, hex, got);
}

static void test_documented_example(void **state)
{
	struct tkey k;
	struct eco2_record r;
	uint8_t *rec;
	size_t len;
	(void)state;

	tkey_ed25519(&k, 1);
	example_record(&r, &k);
	rec = trec_encode(&r, &k, &len);
	expect_doc("example-record-hex", rec, len);
	assert_int_equal(verify_record_pubkey(rec, len, k.alg, k.pub, 32, NULL, NULL), 0);
	free(rec);

	/* version 2: the profile hash of an empty profile and an empty DBC */
	r.version = 2;
	r.odo_step_m = 100;
	snprintf(r.software, sizeof(r.software), "eco2d/0.1");
	cose_profile_sha256("", 0, "", 0, r.profile_sha256);
	rec = trec_encode(&r, &k, &len);
	assert_int_equal(len, 258);
	expect_doc("example-record-v2-hex", rec, len);
	assert_int_equal(verify_record_pubkey(rec, len, k.alg, k.pub, 32, NULL, NULL), 0);
	free(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_both_algs),
		cmocka_unit_test(test_verify_wrong_key_and_signature),
		cmocka_unit_test(test_every_flip_and_cut_refused),
		cmocka_unit_test(test_payload_rules),
		cmocka_unit_test(test_envelope_rules),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_sig_structure),
		cmocka_unit_test(test_documented_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
