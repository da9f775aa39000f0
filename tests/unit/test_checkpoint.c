/* Unit tests for agent/checkpoint.c, the daemon's saved state.
 *
 * The layout is rebuilt here byte by byte from agent/checkpoint.h's
 * description and compared with what agent_ckpt_encode writes; round
 * trips with 0, 1 and several pending records and a trip blob; and the
 * format's actual contract under damage. The blob has no checksum of its
 * own (it is host-endian, same-build, kept in the SQLite store): decode
 * refuses a blob too short for its header and records, another magic or
 * another record size; the trip calculator's blob inside it carries its
 * own magic, length and checksum. So, as eco2d resumes (agent.c: decode,
 * then trip_checkpoint_restore):
 *   - every truncation is refused by one or the other,
 *   - every change to the magic, the record size or the count is too,
 *   - every change inside the trip blob is too,
 *   - a change in the saved counters or inside a pending record is not
 *     detected: asserted as such, so that adding a checksum shows here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "agent/checkpoint.h"
#include "agent/trip.h"

#define REC sizeof(struct eco2_record)
#define HDR 36   /* 4 + 8 + 8 + 8 + 4 + 4, per the header's layout */

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

static uint8_t *layout(const struct agent_ckpt *c, size_t *len)
{
	uint32_t magic = (uint32_t)'E' << 24 | (uint32_t)'C' << 16 | (uint32_t)'K' << 8 | '3';
	uint32_t n = (uint32_t)c->n_pending, rs = (uint32_t)REC;
	uint8_t *b = malloc(HDR + c->n_pending * REC + c->trip_len + 1), *o = b;

	assert_non_null(b);
	o += put(o, &magic, 4);
	o += put(o, &c->head_seq, 8);
	o += put(o, &c->replay_frames, 8);
	o += put(o, &c->replay_first_t_ns, 8);
	o += put(o, &n, 4);
	o += put(o, &rs, 4);
	for (size_t i = 0; i < c->n_pending; i++)
		o += put(o, &c->pending[i], REC);
	if (c->trip_len)
		o += put(o, c->trip, c->trip_len);
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

	if (agent_ckpt_decode(blob, len, &c))
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
		.pending = recs, .n_pending = n_pending, .trip = trip, .trip_len = trip_len,
	}, out;
	uint8_t *blob, *want;
	size_t len, want_len;

	assert_non_null(recs);
	for (size_t i = 0; i < n_pending; i++)
		random_record(&recs[i]);
	if (!n_pending)
		in.pending = NULL;

	assert_int_equal(agent_ckpt_encode(&in, &blob, &len), 0);
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
	assert_int_equal(agent_ckpt_decode(odd + 1, len, &out), 0);
	assert_int_equal(out.head_seq, in.head_seq);
	assert_int_equal(out.replay_frames, in.replay_frames);
	assert_int_equal(out.replay_first_t_ns, in.replay_first_t_ns);
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
	assert_int_equal(agent_ckpt_encode(&in, &blob, &len), 0);
	assert_int_equal(agent_ckpt_decode(blob, len, &out), 0);
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
	assert_int_equal(agent_ckpt_encode(&f->c, &f->blob, &f->len), 0);
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
		int ret = agent_ckpt_decode(cut, n, &c);
		/* header and records: refused by decode itself */
		if (n < HDR + 3 * REC && ret != -EINVAL)
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
	size_t trip_at = HDR + 3 * REC;
	unsigned undetected = 0;
	for (size_t i = 0; i < f.len; i++) {
		for (size_t k = 0; k < sizeof(flips); k++) {
			f.blob[i] ^= flips[k];
			int ret = agent_ckpt_decode(f.blob, f.len, &c);
			bool resumed = resumes(f.blob, f.len);

			if (i < 4 || (i >= 32 && i < HDR)) {
				/* the magic and the record size: decode refuses */
				if (ret != -EINVAL)
					fail_msg("byte %zu (magic or record size) ^ %02x: decode = %d", i,
						 flips[k], ret);
			} else if (i >= 28 && i < 32) {
				/* the count: refused, by decode or by the trip blob
				 * then found at the wrong place */
				if (resumed)
					fail_msg("byte %zu (count) ^ %02x: resumes with %zu records", i,
						 flips[k], c.n_pending);
			} else if (i >= trip_at) {
				/* the trip blob: its own checks refuse it */
				assert_int_equal(ret, 0);
				if (resumed)
					fail_msg("byte %zu (trip blob +%zu) ^ %02x: resumes", i, i - trip_at,
						 flips[k]);
			} else {
				/* the saved counters and the pending records: no
				 * checksum, read as changed */
				assert_int_equal(ret, 0);
				assert_true(resumed);
				assert_int_equal(c.n_pending, 3);
				bool differs = c.head_seq != f.c.head_seq ||
					       c.replay_frames != f.c.replay_frames ||
					       c.replay_first_t_ns != f.c.replay_first_t_ns ||
					       memcmp(c.pending_bytes, f.recs, 3 * REC);
				if (!differs)
					fail_msg("byte %zu ^ %02x: decoded as the original", i, flips[k]);
				undetected++;
			}
			f.blob[i] ^= flips[k];
		}
	}
	/* counters (24 bytes) and records, each with every flip */
	assert_int_equal(undetected, (24 + 3 * REC) * sizeof(flips));
	assert_true(resumes(f.blob, f.len));   /* restored: the loop left it whole */
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
		(uint32_t)fit + 1, (uint32_t)fit + 2, 0x7fffffffu, 0x80000000u, 0xffffffffu,
		(uint32_t)(0xffffffffu / REC + 1),   /* n x REC wraps a 32-bit size_t */
	};
	for (size_t i = 0; i < sizeof(too_many) / sizeof(too_many[0]); i++) {
		set_u32(f.blob, 28, too_many[i]);
		if (agent_ckpt_decode(f.blob, f.len, &c) != -EINVAL)
			fail_msg("count %u in a blob with room for %zu records decodes", too_many[i], fit);
	}
	/* as many as fit: decode takes it, the trip blob then refuses */
	set_u32(f.blob, 28, (uint32_t)fit);
	assert_int_equal(agent_ckpt_decode(f.blob, f.len, &c), 0);
	assert_int_equal(c.n_pending, fit);
	assert_false(resumes(f.blob, f.len));
	set_u32(f.blob, 28, 3);

	/* another record layout, a record size of 0 included (no division) */
	const uint32_t sizes[] = { 0, 1, (uint32_t)REC - 1, (uint32_t)REC + 1, (uint32_t)REC * 2,
				   0xffffffffu };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		set_u32(f.blob, 32, sizes[i]);
		assert_int_equal(agent_ckpt_decode(f.blob, f.len, &c), -EINVAL);
	}
	set_u32(f.blob, 32, (uint32_t)REC);

	/* another magic: an older "ECK2" */
	set_u32(f.blob, 0, 0x45434b32u);
	assert_int_equal(agent_ckpt_decode(f.blob, f.len, &c), -EINVAL);
	set_u32(f.blob, 0, (uint32_t)'E' << 24 | (uint32_t)'C' << 16 | (uint32_t)'K' << 8 | '3');
	assert_true(resumes(f.blob, f.len));

	/* a header alone, with no records and no trip blob */
	struct agent_ckpt empty = { 0 };
	uint8_t *b;
	size_t len;
	assert_int_equal(agent_ckpt_encode(&empty, &b, &len), 0);
	assert_int_equal(len, HDR);
	assert_int_equal(agent_ckpt_decode(b, len, &c), 0);
	assert_int_equal(c.n_pending, 0);
	assert_int_equal(c.trip_len, 0);
	assert_false(resumes(b, len));   /* no trip blob: nothing to resume */
	free(b);
	fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_changed_bytes),
		cmocka_unit_test(test_counts_and_layouts),
	};
	log_open("test", LOG_TO_STDERR, LOG_ERR);
	return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
