/* Unit tests for can/decode.c: every multiplexing form (simple, extended
 * ranges, cascaded), truncated frames yielding absent signals, subset
 * mode, and a randomized comparison of the shift/mask hot path against
 * dbc_extract_raw(), the bit-by-bit reference, for thousands of Intel and
 * Motorola signals of every length and position. */
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
#include "can/dbc.h"
#include "can/decode.h"

static int setup(void **state)
{
	(void)state;
	log_open("test", LOG_TO_STDERR, LOG_WARNING);
	return 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)   /* xorshift64*: reproducible, no libc rand */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static const char mux_dbc[] =
	"BO_ 100 M1: 8 N\n"
	" SG_ Sel M : 0|8@1+ (1,0) [0|0] \"\" N\n"
	" SG_ A m0 : 8|16@1+ (0.1,0) [0|0] \"\" N\n"
	" SG_ B m1 : 8|16@1- (1,0) [0|0] \"\" N\n"
	" SG_ Sub m2M : 8|8@1+ (1,0) [0|0] \"\" N\n"
	" SG_ C m3 : 16|8@1+ (1,0) [0|0] \"\" N\n"
	" SG_ E m4 : 31|8@0+ (1,0) [0|0] \"\" N\n"
	" SG_ D : 56|8@1+ (1,0) [0|0] \"\" N\n"
	"BO_ 2147483748 M1x: 8 N\n"
	" SG_ X : 0|8@1+ (2,-1) [0|0] \"\" N\n"
	"BO_ 200 Other: 8 N\n"
	" SG_ Y : 0|8@1+ (1,0) [0|0] \"\" N\n"
	"SG_MUL_VAL_ 100 C Sub 3-3, 5-7;\n"
	"SG_MUL_VAL_ 100 E Sel 4-6, 9-9;\n";

struct mux_case {
	const char *what;
	uint8_t data[8];
	size_t len;
	const char *expect;   /* "Name=value ..." in decode order */
};

static const struct mux_case mux_cases[] = {
	{ "m0 selects A", { 0, 0x12, 0x34, 0, 0, 0, 0, 7 }, 8, "Sel=0 A=1333 D=7" },
	{ "m1 selects signed B", { 1, 0xFE, 0xFF, 0, 0, 0, 0, 7 }, 8, "Sel=1 B=-2 D=7" },
	{ "m2M: Sub is a switch; 5 in 5-7 selects C", { 2, 5, 0xAA, 0, 0, 0, 0, 7 }, 8, "Sel=2 Sub=5 C=170 D=7" },
	{ "Sub 3 in 3-3 selects C", { 2, 3, 0xAA, 0, 0, 0, 0, 7 }, 8, "Sel=2 Sub=3 C=170 D=7" },
	{ "Sub 4 selects nothing", { 2, 4, 0xAA, 0, 0, 0, 0, 7 }, 8, "Sel=2 Sub=4 D=7" },
	{ "cascade: Sub absent, so C absent", { 3, 3, 0xAA, 0, 0, 0, 0, 7 }, 8, "Sel=3 D=7" },
	{ "SG_MUL_VAL_ range 4-6 on M", { 5, 0, 0, 0x42, 0, 0, 0, 7 }, 8, "Sel=5 E=66 D=7" },
	{ "SG_MUL_VAL_ range 9-9 on M", { 9, 0, 0, 0x42, 0, 0, 0, 7 }, 8, "Sel=9 E=66 D=7" },
	{ "no range holds 7", { 7, 0, 0, 0x42, 0, 0, 0, 7 }, 8, "Sel=7 D=7" },
	{ "truncated: A needs 3 bytes", { 0, 0x12, 0x34, 0, 0, 0, 0, 7 }, 2, "Sel=0" },
	{ "truncated: E fits in 4", { 4, 0, 0, 0x42, 0, 0, 0, 7 }, 4, "Sel=4 E=66" },
	{ "empty frame yields nothing", { 0 }, 0, "" },
};

static void render(const struct decode_value *v, int n, char *buf, size_t size)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s=%.15g", i ? " " : "",
					v[i].sig->name, v[i].value);
}

static void test_mux(void **state)
{
	dbc_t *dbc;
	decoder_t *dec;
	struct decode_value out[DECODE_MAX_VALUES];
	const struct dbc_message *m;
	char got[256];
	(void)state;

	assert_int_equal(dbc_load_buffer(&dbc, "mux.dbc", mux_dbc, strlen(mux_dbc)), 0);
	assert_int_equal(decoder_new(&dec, dbc), 0);
	assert_int_equal(decoder_signal_count(dec), 9);
	for (size_t i = 0; i < ARRAY_SIZE(mux_cases); i++) {
		const struct mux_case *c = &mux_cases[i];
		int n = decode_frame(dec, 100, false, c->data, c->len, out, ARRAY_SIZE(out), &m);
		assert_non_null(m);
		assert_string_equal(m->name, "M1");
		render(out, n, got, sizeof(got));
		if (strcmp(got, c->expect))
			fail_msg("%s: got '%s', expected '%s'", c->what, got, c->expect);
		/* each value is what the bit-by-bit reference says */
		for (int k = 0; k < n; k++) {
			uint64_t raw;
			assert_int_equal(dbc_extract_raw(out[k].sig, c->data, c->len, &raw), 0);
			assert_int_equal(out[k].raw, raw);
			assert_true(out[k].value == dbc_raw_to_phys(out[k].sig, raw));
			assert_int_equal(out[k].tag, out[k].sig->index);
		}
	}

	/* the same number as an extended id is another message */
	uint8_t d[8] = { 10 };
	assert_int_equal(decode_frame(dec, 100, true, d, 8, out, 8, &m), 1);
	assert_string_equal(m->name, "M1x");
	assert_true(out[0].value == 19);
	assert_ptr_equal(decoder_message(dec, 100, true), m);
	/* unknown ids */
	assert_int_equal(decode_frame(dec, 101, false, d, 8, out, 8, &m), 0);
	assert_null(m);
	assert_int_equal(decode_frame(dec, 0x7ff, false, d, 8, out, 8, NULL), 0);
	assert_int_equal(decode_frame(dec, 0x1fffffff, true, d, 8, out, 8, NULL), 0);
	assert_int_equal(decode_frame(dec, 0x12345, false, d, 8, out, 8, NULL), 0);
	/* `max` bounds the output */
	uint8_t d2[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	assert_int_equal(decode_frame(dec, 100, false, d2, 8, out, 2, NULL), 2);
	decoder_free(dec);
	decoder_free(NULL);
	dbc_free(dbc);
}

static void test_subset(void **state)
{
	dbc_t *dbc;
	decoder_t *dec;
	struct decode_value out[8];
	(void)state;

	assert_int_equal(dbc_load_buffer(&dbc, "mux.dbc", mux_dbc, strlen(mux_dbc)), 0);
	const struct dbc_signal *sel[] = {
		dbc_lookup(dbc, "M1.C"), dbc_lookup(dbc, "M1.D"), dbc_lookup(dbc, "M1.D"),
	};
	const uint32_t tags[] = { 70, 71, 72 };
	assert_int_equal(decoder_new_subset(&dec, dbc, sel, tags, 3), 0);
	assert_int_equal(decoder_signal_count(dec), 3);
	assert_null(decoder_message(dec, 200, false));      /* nothing selected there */
	assert_null(decoder_message(dec, 100, true));

	/* C needs Sel and Sub, which are evaluated but not reported */
	uint8_t d[8] = { 2, 6, 0xAA, 0, 0, 0, 0, 9 };
	int n = decode_frame(dec, 100, false, d, 8, out, 8, NULL);
	assert_int_equal(n, 3);
	assert_string_equal(out[0].sig->name, "C");
	assert_int_equal(out[0].tag, 70);
	assert_true(out[0].value == 170);
	assert_string_equal(out[1].sig->name, "D");
	assert_int_equal(out[1].tag, 71);
	assert_int_equal(out[2].tag, 72);
	assert_true(out[2].value == 9);
	d[1] = 8;   /* Sub 8: C absent */
	assert_int_equal(decode_frame(dec, 100, false, d, 8, out, 8, NULL), 2);
	decoder_free(dec);

	/* tags default to the selection index; NULL signals are refused */
	assert_int_equal(decoder_new_subset(&dec, dbc, sel, NULL, 1), 0);
	assert_int_equal(decode_frame(dec, 100, false, (uint8_t[8]){ 2, 5, 1 }, 8, out, 8, NULL), 1);
	assert_int_equal(out[0].tag, 0);
	decoder_free(dec);
	const struct dbc_signal *bad[] = { NULL };
	assert_int_equal(decoder_new_subset(&dec, dbc, bad, NULL, 1), -EINVAL);
	dbc_free(dbc);
}

/* Random signals of every shape, random payloads of random lengths: the
 * compiled decoder agrees with the bit-by-bit reference on presence, raw
 * bits and physical value; the encoder writes what the decoder reads. */
static void test_random_layouts(void **state)
{
	enum { N_MSG = 8, N_SIG = 60 };
	static char text[N_MSG * N_SIG * 100 + 1024];
	size_t off = 0;
	dbc_t *dbc;
	decoder_t *dec;
	static struct decode_value out[DECODE_MAX_VALUES];
	(void)state;

	for (int m = 0; m < N_MSG; m++) {
		off += (size_t)snprintf(text + off, sizeof(text) - off, "BO_ %u Msg%d: 64 N\n",
					m & 1 ? 0x80000000u | (0x1234500u + m) : 0x100u + m, m);
		for (int s = 0; s < N_SIG; s++) {
			unsigned len = 1 + (unsigned)(rnd() % 64), start;
			bool moto = rnd() & 1;
			if (s < 4)
				len = 64;   /* always some 9-byte spans */
			if (moto) {
				/* any MSB position whose run stays within 64 bytes */
				unsigned msb_lin = (unsigned)(rnd() % (512 - len + 1));
				start = msb_lin / 8 * 8 + 7 - msb_lin % 8;
			} else {
				start = (unsigned)(rnd() % (512 - len + 1));
			}
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						" SG_ S%d : %u|%u@%c%c (%g,%g) [0|0] \"\" N\n", s, start, len,
						moto ? '0' : '1', rnd() & 1 ? '-' : '+',
						(double)(int64_t)(rnd() % 2001 - 1000) / 8.0,
						(double)(int64_t)(rnd() % 2001 - 1000) / 4.0);
		}
	}
	assert_int_equal(dbc_load_buffer(&dbc, "random.dbc", text, off), 0);
	assert_int_equal(decoder_new(&dec, dbc), 0);

	unsigned checked = 0, absent = 0;
	for (int iter = 0; iter < 4000; iter++) {
		uint8_t data[64];
		unsigned mi = (unsigned)(rnd() % N_MSG);
		const struct dbc_message *msg = dbc_message_at(dbc, mi);
		size_t len = rnd() % 3 ? 64 : rnd() % 65;
		for (int i = 0; i < 64; i++)
			data[i] = (uint8_t)rnd();
		int n = decode_frame(dec, msg->id, msg->is_ext, data, len, out, ARRAY_SIZE(out), NULL);
		int k = 0;
		for (unsigned si = 0; si < msg->n_signals; si++) {
			const struct dbc_signal *s = &msg->signals[si];
			uint64_t raw;
			if (dbc_extract_raw(s, data, len, &raw)) {
				absent++;
				continue;
			}
			assert_true(k < n);
			assert_ptr_equal(out[k].sig, s);
			if (out[k].raw != raw)
				fail_msg("%s %u|%u@%d: raw 0x%llx, reference 0x%llx", s->name, s->start_bit,
					 s->length, s->byte_order, (unsigned long long)out[k].raw,
					 (unsigned long long)raw);
			assert_true(out[k].value == dbc_raw_to_phys(s, raw));
			k++;
			checked++;
		}
		assert_int_equal(k, n);

		/* encoder -> decoder: every signal's bits and nothing else */
		const struct dbc_signal *s = &msg->signals[rnd() % msg->n_signals];
		uint8_t enc[64], before[64];
		uint64_t want = rnd(), got;
		if (s->length < 64)
			want &= (UINT64_C(1) << s->length) - 1;
		memcpy(enc, data, 64);
		memcpy(before, data, 64);
		assert_int_equal(dbc_encode_raw(s, want, enc, 64), 0);
		assert_int_equal(dbc_extract_raw(s, enc, 64, &got), 0);
		assert_int_equal(got, want);
		assert_int_equal(dbc_encode_raw(s, 0, enc, 64), 0);
		assert_int_equal(dbc_encode_raw(s, got, enc, 64), 0);
		unsigned diff_bits = 0;
		for (int i = 0; i < 64; i++)
			diff_bits += (unsigned)__builtin_popcount(enc[i] ^ before[i]);
		assert_true(diff_bits <= s->length);
	}
	assert_true(checked > 100000);
	assert_true(absent > 1000);
	decoder_free(dec);
	dbc_free(dbc);
}

/* float and double signals, through the decoder */
static void test_float(void **state)
{
	static const char text[] =
		"BO_ 1 F: 12 N\n"
		" SG_ F32 : 0|32@1- (1,0) [0|0] \"\" N\n"
		" SG_ F64 : 39|64@0+ (0.5,10) [0|0] \"\" N\n"
		"SIG_VALTYPE_ 1 F32 : 1;\n"
		"SIG_VALTYPE_ 1 F64 : 2;\n";
	dbc_t *dbc;
	decoder_t *dec;
	struct decode_value out[4];
	(void)state;

	assert_int_equal(dbc_load_buffer(&dbc, "f.dbc", text, strlen(text)), 0);
	assert_int_equal(decoder_new(&dec, dbc), 0);
	/* -0.15625f = 0xBE200000 (Intel); 3.0 = 0x4008000000000000 (Motorola) */
	uint8_t d[12] = { 0x00, 0x00, 0x20, 0xBE, 0x40, 0x08, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(decode_frame(dec, 1, false, d, 12, out, 4, NULL), 2);
	assert_true(out[0].value == -0.15625);
	assert_true(out[1].value == 3.0 * 0.5 + 10);
	/* 11 bytes: the double is absent, the float is not */
	assert_int_equal(decode_frame(dec, 1, false, d, 11, out, 4, NULL), 1);
	assert_string_equal(out[0].sig->name, "F32");
	decoder_free(dec);
	dbc_free(dbc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_mux, setup),
		cmocka_unit_test_setup(test_subset, setup),
		cmocka_unit_test_setup(test_random_layouts, setup),
		cmocka_unit_test_setup(test_float, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
