/* Unit tests for agent/checkpoint.c, the daemon's saved state.
 *
 * The layout is rebuilt here byte by byte from agent/checkpoint.h's
 * description and compared with what agent_ckpt_encode writes, the tag
 * recomputed from crypto/signer.h's definition with libsodium directly;
 * round trips with 0, 1 and several pending records and a trip blob; and
 * the format's contract under damage: the whole blob is covered by the
 * device's state tag, so as eco2d resumes (agent.c: decode, then
 * trip_checkpoint_restore)
 *   - every truncation is refused,
 *   - every changed byte anywhere (the saved counters, the pending
 *     records, the trip's running totals, the tag itself) is refused,
 *   - a blob saved under another device key is refused, and so is one of
 *     the untagged "ECK3" layout of earlier builds,
 *   - a tag made by the key's signature (a token without a MAC key) is
 *     accepted, a signature by another key is not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/bytes.h"
#include "lib/log.h"
#include "agent/checkpoint.h"
#include "agent/trip.h"
#include "crypto/signer_int.h"

#define REC sizeof(struct eco2_record)
/* magic, record size, kid, head seq, head hash, frames, first t, next
 * flags, count, trip length: per the header's layout */
#define HDR (4 + 4 + 8 + 8 + 32 + 8 + 8 + 8 + 4 + 4)
#define TAG (1 + 32)     /* an HMAC tag, from a key file */

static char dir[64], key_uri[128], other_uri[128];
static signer_t *dev, *other;

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/* A record with every field set from rnd(), padding zero. */
static void random_record(struct eco2_record *r)
{
	memset(r, 0, sizeof(*r));
	r->version = (uint32_t)rnd();
	for (int i = 0; i < 8; i++)
		r->kid[i] = (uint8_t)rnd();
	r->seq = rnd();
	for (int i = 0; i < 32; i++)
		r->prev[i] = (uint8_t)rnd();
	r->type = (uint32_t)rnd();
	r->start_s = (int64_t)rnd();
	r->end_s = (int64_t)rnd();
	r->odo_start_m = (int64_t)rnd();
	r->odo_end_m = (int64_t)rnd();
	r->distance_m = (int64_t)rnd();
	r->discharge_wh = (int64_t)rnd();
	r->regen_wh = (int64_t)rnd();
	r->co2_g = (int64_t)rnd();
	snprintf(r->method, sizeof(r->method), "m-%016llx", (unsigned long long)rnd());
	r->baseline_mg_per_km = (int64_t)rnd();
	r->grid_mg_per_kwh = (int64_t)rnd();
	r->charge_eff_permille = (int64_t)rnd();
	r->td_loss_permille = (int64_t)rnd();
	r->flags = rnd();
	r->has_vin = rnd() & 1;
	snprintf(r->vin, sizeof(r->vin), "VIN%014llu", (unsigned long long)(rnd() % 100000000000000ull));
	r->charged_wh = (int64_t)rnd();
}

static void assert_record_equal(const struct eco2_record *a, const struct eco2_record *b)
{
	assert_int_equal(a->version, b->version);
	assert_memory_equal(a->kid, b->kid, 8);
	assert_int_equal(a->seq, b->seq);
	assert_memory_equal(a->prev, b->prev, 32);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->start_s, b->start_s);
	assert_int_equal(a->end_s, b->end_s);
	assert_int_equal(a->odo_start_m, b->odo_start_m);
	assert_int_equal(a->odo_end_m, b->odo_end_m);
	assert_int_equal(a->distance_m, b->distance_m);
	assert_int_equal(a->discharge_wh, b->discharge_wh);
	assert_int_equal(a->regen_wh, b->regen_wh);
	assert_int_equal(a->co2_g, b->co2_g);
	assert_string_equal(a->method, b->method);
	assert_int_equal(a->baseline_mg_per_km, b->baseline_mg_per_km);
	assert_int_equal(a->grid_mg_per_kwh, b->grid_mg_per_kwh);
	assert_int_equal(a->charge_eff_permille, b->charge_eff_permille);
	assert_int_equal(a->td_loss_permille, b->td_loss_permille);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->has_vin, b->has_vin);
	assert_string_equal(a->vin, b->vin);
	assert_int_equal(a->charged_wh, b->charged_wh);
}

/* The layout of agent/checkpoint.h, written out: host-endian integers. */
static size_t put(uint8_t *o, const void *v, size_t n)
{
	memcpy(o, v, n);
	return n;
}

/* The tag of signer.h, recomputed: HMAC-SHA256 under the key derived from
 * the key file's Ed25519 seed (crypto_kdf, "eco2stat", subkey 1) over
 * SHA-256("eco2-agent state tag v1" || body). */
static void oracle_tag(const uint8_t *body, size_t len, uint8_t tag[TAG])
{
	static const char ctx[] = "eco2-agent state tag v1";
	const uint8_t *seed = ((const uint8_t *)dev->priv);   /* signer_file: ed_sk first */
	uint8_t key[32], d[32];
	crypto_hash_sha256_state h;

	assert_int_equal(crypto_kdf_derive_from_key(key, sizeof(key), 1, "eco2stat", seed), 0);
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)ctx, sizeof(ctx) - 1);
	crypto_hash_sha256_update(&h, body, len);
	crypto_hash_sha256_final(&h, d);
	tag[0] = 0x01;
	crypto_auth_hmacsha256(tag + 1, d, sizeof(d), key);
}

static uint8_t *layout(const struct agent_ckpt *c, size_t *len)
{
	uint32_t magic = (uint32_t)'E' << 24 | (uint32_t)'C' << 16 | (uint32_t)'K' << 8 | '4';
	uint32_t n = (uint32_t)c->n_pending, rs = (uint32_t)REC, tl = (uint32_t)c->trip_len;
	uint8_t *b = malloc(HDR + c->n_pending * REC + c->trip_len + TAG + 1), *o = b, kid[8];

	assert_non_null(b);
	signer_kid(dev, kid);
	o += put(o, &magic, 4);
	o += put(o, &rs, 4);
	o += put(o, kid, 8);
	o += put(o, &c->head_seq, 8);
	o += put(o, c->head_hash, 32);
	o += put(o, &c->replay_frames, 8);
	o += put(o, &c->replay_first_t_ns, 8);
	o += put(o, &c->next_flags, 8);
	o += put(o, &n, 4);
	o += put(o, &tl, 4);
	for (size_t i = 0; i < c->n_pending; i++)
		o += put(o, &c->pending[i], REC);
	if (c->trip_len)
		o += put(o, c->trip, c->trip_len);
	oracle_tag(b, (size_t)(o - b), o);
	o += TAG;
	*o++ = TAG;
	*len = (size_t)(o - b);
	return b;
}

/* ---- a real trip blob --------------------------------------------------------- */

static void no_emit(const struct eco2_record *rec, void *ctx)
{
	(void)rec; (void)ctx;
}

static trip_t *new_trip(void)
{
	struct trip_params p;
	trip_t *t;

	trip_params_default(&p);
	assert_int_equal(trip_new(&p, no_emit, NULL, &t), 0);
	return t;
}

/* A calculator 30 s into a trip, saved. */
static uint8_t *trip_blob(size_t *len)
{
	trip_t *t = new_trip();
	uint64_t t_ns = 1767225600ull * 1000000000u;
	uint8_t *blob;

	for (int i = 0; i < 300; i++, t_ns += 100000000u) {
		struct eco2_sample s[] = {
			{ t_ns, ROLE_IGNITION, 1 },
			{ t_ns, ROLE_CHARGING, 0 },
			{ t_ns, ROLE_SPEED, 36 },
			{ t_ns, ROLE_ODOMETER, 100000 + (i / 10) * 10 },
			{ t_ns, ROLE_PACK_VOLTAGE, 400 },
			{ t_ns, ROLE_PACK_CURRENT, 25 },
		};
		for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++)
			trip_sample(t, &s[k]);
	}
	assert_true(trip_is_open(t));
	assert_int_equal(trip_checkpoint_save(t, &blob, len), 0);
	trip_free(t);
	return blob;
}

/* What eco2d does on start (agent.c checkpoint_resume): decode, then
 * restore the trip blob into a fresh calculator. */
static bool resumes(const uint8_t *blob, size_t len)
{
	struct agent_ckpt c;
	trip_t *t;
	int ret;

	if (agent_ckpt_decode(blob, len, dev, &c, NULL))
		return false;
	t = new_trip();
	ret = trip_checkpoint_restore(t, c.trip, c.trip_len);
	trip_free(t);
	return ret == 0;
}

/* ---- round trips ------------------------------------------------------------------ */

static void round_trip(size_t n_pending, size_t trip_len, const uint8_t *trip)
{
	struct eco2_record *recs = calloc(n_pending + 1, REC);
	struct agent_ckpt in = {
		.head_seq = rnd(), .replay_frames = rnd(), .replay_first_t_ns = rnd(),
		.next_flags = rnd(),
		.pending = recs, .n_pending = n_pending, .trip = trip, .trip_len = trip_len,
	}, out;
	uint8_t *blob, *want;
	size_t len, want_len;

	assert_non_null(recs);
	for (size_t i = 0; i < n_pending; i++)
		random_record(&recs[i]);
	if (!n_pending)
		in.pending = NULL;
	for (size_t i = 0; i < 32; i++)
		in.head_hash[i] = (uint8_t)rnd();

	assert_int_equal(agent_ckpt_encode(&in, dev, &blob, &len), 0);
	assert_true(len <= agent_ckpt_size(n_pending, trip_len));
	/* the documented layout, byte for byte */
	want = layout(&in, &want_len);
	assert_int_equal(len, want_len);
	assert_memory_equal(blob, want, len);
	free(want);

	/* decoded from an odd address: the records are read unaligned */
	uint8_t *odd = malloc(len + 1);
	assert_non_null(odd);
	memcpy(odd + 1, blob, len);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(agent_ckpt_decode(odd + 1, len, dev, &out, NULL), 0);
	assert_int_equal(out.head_seq, in.head_seq);
	assert_memory_equal(out.head_hash, in.head_hash, 32);
	assert_int_equal(out.replay_frames, in.replay_frames);
	assert_int_equal(out.replay_first_t_ns, in.replay_first_t_ns);
	assert_int_equal(out.next_flags, in.next_flags);
	assert_int_equal(out.n_pending, n_pending);
	/* pointers into the blob */
	assert_ptr_equal(out.pending_bytes, odd + 1 + HDR);
	assert_ptr_equal(out.trip, odd + 1 + HDR + n_pending * REC);
	assert_int_equal(out.trip_len, trip_len);
	if (trip_len)
		assert_memory_equal(out.trip, trip, trip_len);
	for (size_t i = 0; i < n_pending; i++) {
		struct eco2_record r;
		memset(&r, 0x5a, sizeof(r));
		agent_ckpt_pending(&out, i, &r);
		assert_record_equal(&r, &recs[i]);
	}
	free(odd);
	free(blob);
	free(recs);
}

static void test_round_trip(void **state)
{
	static const size_t counts[] = { 0, 1, 2, 7, 64 };
	uint8_t opaque[333];
	size_t tlen;
	uint8_t *tb = trip_blob(&tlen);
	(void)state;

	for (size_t i = 0; i < sizeof(opaque); i++)
		opaque[i] = (uint8_t)rnd();
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		round_trip(counts[i], 0, NULL);              /* no trip blob */
		round_trip(counts[i], 1, opaque);
		round_trip(counts[i], sizeof(opaque), opaque);
		round_trip(counts[i], tlen, tb);             /* the calculator's */
	}
	free(tb);
}

/* The whole path: a checkpoint with records and the calculator's blob
 * resumes, and the trip continues open. */
static void test_resume(void **state)
{
	struct eco2_record recs[3];
	struct agent_ckpt in = { .head_seq = 41, .pending = recs, .n_pending = 3 }, out;
	uint8_t *blob;
	size_t len;
	(void)state;

	for (int i = 0; i < 3; i++)
		random_record(&recs[i]);
	uint8_t *tb = trip_blob(&in.trip_len);
	in.trip = tb;
	assert_int_equal(agent_ckpt_encode(&in, dev, &blob, &len), 0);
	assert_int_equal(agent_ckpt_decode(blob, len, dev, &out, NULL), 0);
	trip_t *t = new_trip();
	assert_false(trip_is_open(t));
	assert_int_equal(trip_checkpoint_restore(t, out.trip, out.trip_len), 0);
	assert_true(trip_is_open(t));
	trip_free(t);
	free(blob);
	free(tb);
}

/* ---- damage ------------------------------------------------------------------------- */

struct fixture {
	struct eco2_record recs[3];
	struct agent_ckpt c;
	uint8_t *trip, *blob;
	size_t len;
};

static void fixture(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 3; i++)
		random_record(&f->recs[i]);
	f->c.head_seq = 1000;
	f->c.replay_frames = 123456;
	f->c.replay_first_t_ns = 1767225600ull * 1000000000u;
	f->c.pending = f->recs;
	f->c.n_pending = 3;
	f->trip = trip_blob(&f->c.trip_len);
	f->c.trip = f->trip;
	assert_int_equal(agent_ckpt_encode(&f->c, dev, &f->blob, &f->len), 0);
	assert_true(resumes(f->blob, f->len));
	assert_true(f->c.trip_len >= REC);   /* room for a count one too big */
}

static void fixture_free(struct fixture *f)
{
	free(f->blob);
	free(f->trip);
}

static void test_truncated(void **state)
{
	struct fixture f;
	struct agent_ckpt c;
	(void)state;

	fixture(&f);
	for (size_t n = 0; n < f.len; n++) {
		uint8_t *cut = malloc(n ? n : 1);   /* exactly n bytes: valgrind sees overreads */
		assert_non_null(cut);
		memcpy(cut, f.blob, n);
		int ret = agent_ckpt_decode(cut, n, dev, &c, NULL);
		/* refused by decode itself, as malformed or by its tag */
		if (ret != -EINVAL && ret != -EBADMSG)
			fail_msg("a blob cut to %zu of %zu bytes decodes (%d)", n, f.len, ret);
		/* anywhere: refused before the daemon resumes */
		if (resumes(cut, n))
			fail_msg("a blob cut to %zu of %zu bytes resumes", n, f.len);
		free(cut);
	}
	fixture_free(&f);
}

static void test_changed_bytes(void **state)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	struct fixture f;
	struct agent_ckpt c;
	(void)state;

	fixture(&f);
	for (size_t i = 0; i < f.len; i++) {
		for (size_t k = 0; k < sizeof(flips); k++) {
			const char *why = NULL;

			f.blob[i] ^= flips[k];
			int ret = agent_ckpt_decode(f.blob, f.len, dev, &c, &why);

			/* the layout's fields (magic, record size, the tag's
			 * length): malformed; anything else, the pending
			 * records and the trip's running totals included:
			 * the tag refuses it */
			if (ret != -EINVAL && ret != -EBADMSG)
				fail_msg("byte %zu ^ %02x: decode = %d", i, flips[k], ret);
			if (i >= 8 && i < f.len - TAG - 1 && (i < 80 || i >= 88) && ret != -EBADMSG)
				fail_msg("byte %zu ^ %02x in the body: decode = %d, not the tag's refusal",
					 i, flips[k], ret);
			assert_non_null(why);
			if (resumes(f.blob, f.len))
				fail_msg("byte %zu ^ %02x: resumes", i, flips[k]);
			f.blob[i] ^= flips[k];
		}
	}
	assert_true(resumes(f.blob, f.len));   /* restored: the loop left it whole */
	fixture_free(&f);
}

/* The pending records and the trip's totals, changed the way a forger with
 * the store would (the trip blob's own FNV checksum recomputed): refused. */
static void test_forged_figures(void **state)
{
	struct fixture f;
	struct agent_ckpt c;
	const char *why = NULL;
	int64_t dist;
	uint8_t saved[8];
	(void)state;

	fixture(&f);
	/* record 1's distance_m x 40 */
	size_t at = HDR + REC + offsetof(struct eco2_record, distance_m);
	memcpy(saved, f.blob + at, 8);
	dist = 12345 * 40;
	memcpy(f.blob + at, &dist, 8);
	assert_int_equal(agent_ckpt_parse(f.blob, f.len, &c, NULL), 0);   /* well formed */
	assert_int_equal(agent_ckpt_decode(f.blob, f.len, dev, &c, &why), -EBADMSG);
	assert_non_null(strstr(why, "does not verify"));
	memcpy(f.blob + at, saved, 8);
	assert_true(resumes(f.blob, f.len));

	/* the open trip's totals: every 8-byte field of the trip blob's
	 * body doubled in turn, its checksum recomputed so that the trip
	 * calculator alone would take it */
	size_t trip_at = HDR + 3 * REC, body = f.c.trip_len - 16 - 8;
	for (size_t off = 0; off < body; off += 8) {
		uint8_t *p = f.blob + trip_at + 16 + off, save[8];
		uint64_t v, h;

		memcpy(save, p, 8);
		memcpy(&v, p, 8);
		v = v ? v * 2 : 1;
		memcpy(p, &v, 8);
		h = fnv1a64(f.blob + trip_at, 16 + body);
		for (int b = 0; b < 8; b++)
			f.blob[trip_at + 16 + body + b] = (uint8_t)(h >> (8 * b));
		assert_int_equal(agent_ckpt_decode(f.blob, f.len, dev, &c, NULL), -EBADMSG);
		assert_false(resumes(f.blob, f.len));
		memcpy(p, save, 8);
		h = fnv1a64(f.blob + trip_at, 16 + body);
		for (int b = 0; b < 8; b++)
			f.blob[trip_at + 16 + body + b] = (uint8_t)(h >> (8 * b));
	}
	assert_true(resumes(f.blob, f.len));
	fixture_free(&f);
}

/* Saved by another device's key: refused, and said so. */
static void test_other_key(void **state)
{
	struct fixture f;
	struct agent_ckpt c;
	uint8_t *blob;
	size_t len;
	const char *why = NULL;
	(void)state;

	fixture(&f);
	assert_int_equal(agent_ckpt_encode(&f.c, other, &blob, &len), 0);
	assert_int_equal(agent_ckpt_decode(blob, len, other, &c, NULL), 0);
	assert_int_equal(agent_ckpt_decode(blob, len, dev, &c, &why), -EBADMSG);
	assert_non_null(strstr(why, "another device key"));
	/* the other key's tag on this device's body */
	assert_int_equal(len, f.len);
	memcpy(blob, f.blob, len - TAG - 1);
	assert_int_equal(agent_ckpt_decode(blob, len, dev, &c, NULL), -EBADMSG);
	free(blob);
	fixture_free(&f);
}

/* A token without a MAC key tags with a signature: the device's own is
 * taken, one by another key is not, and neither is a mangled one. */
static void test_signature_tag(void **state)
{
	static const char ctx[] = "eco2-agent state tag v1";
	struct fixture f;
	struct agent_ckpt c;
	crypto_hash_sha256_state h;
	uint8_t d[32], *blob;
	size_t body;
	(void)state;

	fixture(&f);
	body = f.len - TAG - 1;
	blob = malloc(body + 1 + SIGNER_SIG_LEN + 1);
	assert_non_null(blob);
	memcpy(blob, f.blob, body);
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)ctx, sizeof(ctx) - 1);
	crypto_hash_sha256_update(&h, blob, body);
	crypto_hash_sha256_final(&h, d);
	blob[body] = 0x02;
	blob[body + 1 + SIGNER_SIG_LEN] = 1 + SIGNER_SIG_LEN;
	assert_int_equal(signer_sign(dev, d, sizeof(d), blob + body + 1), 0);
	assert_int_equal(agent_ckpt_decode(blob, body + 2 + SIGNER_SIG_LEN, dev, &c, NULL), 0);
	blob[body + 10] ^= 1;
	assert_int_equal(agent_ckpt_decode(blob, body + 2 + SIGNER_SIG_LEN, dev, &c, NULL), -EBADMSG);
	assert_int_equal(signer_sign(other, d, sizeof(d), blob + body + 1), 0);
	assert_int_equal(agent_ckpt_decode(blob, body + 2 + SIGNER_SIG_LEN, dev, &c, NULL), -EBADMSG);
	/* a signature over the body itself, not its tag digest */
	assert_int_equal(signer_sign(dev, blob, body, blob + body + 1), 0);
	assert_int_equal(agent_ckpt_decode(blob, body + 2 + SIGNER_SIG_LEN, dev, &c, NULL), -EBADMSG);
	free(blob);
	fixture_free(&f);
}

static void set_u32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void test_counts_and_layouts(void **state)
{
	struct fixture f;
	struct agent_ckpt c;
	(void)state;

	fixture(&f);
	size_t fit = (f.len - HDR) / REC;   /* records the blob could hold */
	const uint32_t too_many[] = {
		4, (uint32_t)fit + 1, 0x7fffffffu, 0x80000000u, 0xffffffffu,
		(uint32_t)(0xffffffffu / REC + 1),   /* n x REC wraps a 32-bit size_t */
	};
	for (size_t i = 0; i < sizeof(too_many) / sizeof(too_many[0]); i++) {
		set_u32(f.blob, 80, too_many[i]);
		if (agent_ckpt_parse(f.blob, f.len, &c, NULL) != -EINVAL)
			fail_msg("count %u in a blob with 3 records parses", too_many[i]);
	}
	set_u32(f.blob, 80, 3);
	assert_true(resumes(f.blob, f.len));

	/* another record layout, a record size of 0 included (no division) */
	const uint32_t sizes[] = { 0, 1, (uint32_t)REC - 1, (uint32_t)REC + 1, (uint32_t)REC * 2,
				   0xffffffffu };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		set_u32(f.blob, 4, sizes[i]);
		assert_int_equal(agent_ckpt_decode(f.blob, f.len, dev, &c, NULL), -EINVAL);
	}
	set_u32(f.blob, 4, (uint32_t)REC);

	/* another magic: the untagged "ECK3" of earlier builds */
	set_u32(f.blob, 0, 0x45434b33u);
	assert_int_equal(agent_ckpt_decode(f.blob, f.len, dev, &c, NULL), -EINVAL);
	set_u32(f.blob, 0, (uint32_t)'E' << 24 | (uint32_t)'C' << 16 | (uint32_t)'K' << 8 | '4');
	assert_true(resumes(f.blob, f.len));

	/* the tag's length byte: every other value */
	for (unsigned v = 0; v < 256; v++) {
		if (v == TAG)
			continue;
		f.blob[f.len - 1] = (uint8_t)v;
		int ret = agent_ckpt_decode(f.blob, f.len, dev, &c, NULL);
		if (ret != -EINVAL && ret != -EBADMSG)
			fail_msg("tag length %u: decode = %d", v, ret);
	}
	f.blob[f.len - 1] = TAG;

	/* a header alone, with no records and no trip blob */
	struct agent_ckpt empty = { 0 };
	uint8_t *b;
	size_t len;
	assert_int_equal(agent_ckpt_encode(&empty, dev, &b, &len), 0);
	assert_int_equal(len, HDR + TAG + 1);
	assert_int_equal(agent_ckpt_decode(b, len, dev, &c, NULL), 0);
	assert_int_equal(c.n_pending, 0);
	assert_int_equal(c.trip_len, 0);
	assert_false(resumes(b, len));   /* no trip blob: nothing to resume */
	free(b);
	fixture_free(&f);
}

static int keys_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/eco2-ckpt-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(key_uri, sizeof(key_uri), "file:%s/dev.key", dir);
	snprintf(other_uri, sizeof(other_uri), "file:%s/other.key", dir);
	if (signer_keygen(key_uri, NULL, COSE_ALG_EDDSA) || signer_keygen(other_uri, NULL, COSE_ALG_EDDSA) ||
	    signer_open(&dev, key_uri, NULL) || signer_open(&other, other_uri, NULL))
		return -1;
	return 0;
}

static int keys_teardown(void **state)
{
	char p[160];
	(void)state;

	signer_close(dev);
	signer_close(other);
	snprintf(p, sizeof(p), "%s", key_uri + 5);
	unlink(p);
	snprintf(p, sizeof(p), "%s", other_uri + 5);
	unlink(p);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_changed_bytes),
		cmocka_unit_test(test_forged_figures),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_signature_tag),
		cmocka_unit_test(test_counts_and_layouts),
	};
	log_open("test", LOG_TO_STDERR, LOG_ERR);
	return cmocka_run_group_tests_name("checkpoint", tests, keys_setup, keys_teardown);
}
