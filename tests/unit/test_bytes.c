/* Unit tests for lib/bytes.c against oracles written differently:
 *   hex_digit   every byte value against isxdigit() and strtol()
 *   hex text    against printf's %02x / %02X, round trips over random bytes
 *   utf8_valid  against two oracles: the well-formed byte sequences of
 *               Unicode's Table 3-7 (RFC 3629 section 4) as a table of
 *               ranges, and glibc's mbrtowc() in C.UTF-8 (which rejects
 *               overlong forms and surrogates but not code points above
 *               U+10FFFF, checked here first and filtered); all 1- and
 *               2-byte strings, all 3- and 4-byte strings over the boundary
 *               bytes, and random strings
 *   fnv1a64     the published FNV-1a 64 vectors, and a second
 *               implementation multiplying by shifts and adds */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "lib/compiler.h"
#include "lib/bytes.h"

/* xorshift64*: reproducible random bytes (the seed is printed on failure) */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static void hexdump(const void *p, size_t n, char *out, size_t out_size)
{
	const unsigned char *b = p;
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && o + 4 < out_size; i++)
		o += (size_t)snprintf(out + o, out_size - o, "%s%02X", i ? " " : "", b[i]);
}

/* ---- hex digits ----------------------------------------------------------------- */

static void test_hex_digit_all_bytes(void **state)
{
	(void)state;
	setlocale(LC_CTYPE, "C");
	for (int c = 0; c < 256; c++) {
		int want = -1;

		if (isxdigit(c)) {
			char s[2] = { (char)c, 0 };
			want = (int)strtol(s, NULL, 16);
		}
		if (hex_digit(c) != want)
			fail_msg("hex_digit(0x%02x) = %d, expected %d", c, hex_digit(c), want);
		/* the same byte through a (signed) char */
		if (hex_digit((char)c) != want)
			fail_msg("hex_digit((char)0x%02x) = %d, expected %d", c, hex_digit((char)c), want);
	}
	assert_int_equal(hex_digit(EOF), -1);
}

/* ---- hex text ------------------------------------------------------------------- */

static void test_hex_encode_oracle(void **state)
{
	uint8_t b[256];
	char got[2 * sizeof(b) + 1], want[2 * sizeof(b) + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;   /* every byte value once */
	for (size_t n = 0; n <= sizeof(b); n += (n < 8 ? 1 : 37)) {
		memset(got, 'X', sizeof(got));
		hex_encode(b + sizeof(b) - n, n, got);
		for (size_t i = 0; i < n; i++)
			snprintf(want + 2 * i, 3, "%02x", b[sizeof(b) - n + i]);
		want[2 * n] = 0;
		assert_int_equal(strlen(got), 2 * n);   /* NUL-terminated at 2n */
		assert_string_equal(got, want);
	}
}

static void test_hex_round_trip(void **state)
{
	uint8_t in[64], out[64];
	char hex[2 * sizeof(in) + 1], upper[2 * sizeof(in) + 1];
	(void)state;

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rnd() % (sizeof(in) + 1));

		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)rnd();
		hex_encode(in, n, hex);
		memset(out, 0xa5, sizeof(out));
		assert_int_equal(hex_decode(hex, strlen(hex), out, n), 0);
		assert_memory_equal(out, in, n);
		/* upper case, written by printf, decodes to the same */
		for (size_t i = 0; i < n; i++)
			snprintf(upper + 2 * i, 3, "%02X", in[i]);
		upper[2 * n] = 0;
		memset(out, 0x5a, sizeof(out));
		assert_int_equal(hex_decode(upper, 2 * n, out, n), 0);
		assert_memory_equal(out, in, n);
	}
}

static void test_hex_decode_rejects(void **state)
{
	uint8_t out[8];
	char s[32];
	(void)state;

	/* lengths: odd, too short, too long */
	assert_int_equal(hex_decode("abc", 3, out, 1), -EINVAL);
	assert_int_equal(hex_decode("abc", 3, out, 2), -EINVAL);
	assert_int_equal(hex_decode("abcd", 4, out, 1), -EINVAL);
	assert_int_equal(hex_decode("abcd", 4, out, 3), -EINVAL);
	assert_int_equal(hex_decode("a", 1, out, 0), -EINVAL);
	assert_int_equal(hex_decode("", 0, out, 0), 0);
	assert_int_equal(hex_decode("0x12", 4, out, 2), -EINVAL);

	/* every non-hex byte, at every position of an 8-digit string */
	for (int c = 0; c < 256; c++) {
		if (isxdigit(c))
			continue;
		for (size_t pos = 0; pos < 8; pos++) {
			memcpy(s, "0123abCD", 9);
			s[pos] = (char)c;
			if (hex_decode(s, 8, out, 4) != -EINVAL)
				fail_msg("hex_decode accepted byte 0x%02x at position %zu", c, pos);
		}
	}
	/* a valid string still decodes (the loop above was not vacuous) */
	assert_int_equal(hex_decode("0123abCD", 8, out, 4), 0);
	assert_int_equal(out[0], 0x01);
	assert_int_equal(out[3], 0xcd);
}

/* ---- UTF-8: oracle 1, Unicode Table 3-7 ------------------------------------------ */

struct u8row {
	unsigned n;
	uint8_t lo[4], hi[4];
};

/* Well-formed UTF-8 byte sequences (The Unicode Standard, Table 3-7),
 * without U+0000 which the function refuses. */
static const struct u8row table37[] = {
	{ 1, { 0x01 }, { 0x7f } },
	{ 2, { 0xc2, 0x80 }, { 0xdf, 0xbf } },
	{ 3, { 0xe0, 0xa0, 0x80 }, { 0xe0, 0xbf, 0xbf } },
	{ 3, { 0xe1, 0x80, 0x80 }, { 0xec, 0xbf, 0xbf } },
	{ 3, { 0xed, 0x80, 0x80 }, { 0xed, 0x9f, 0xbf } },
	{ 3, { 0xee, 0x80, 0x80 }, { 0xef, 0xbf, 0xbf } },
	{ 4, { 0xf0, 0x90, 0x80, 0x80 }, { 0xf0, 0xbf, 0xbf, 0xbf } },
	{ 4, { 0xf1, 0x80, 0x80, 0x80 }, { 0xf3, 0xbf, 0xbf, 0xbf } },
	{ 4, { 0xf4, 0x80, 0x80, 0x80 }, { 0xf4, 0x8f, 0xbf, 0xbf } },
};

static bool oracle_table(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t len = 0;

		for (size_t r = 0; r < ARRAY_SIZE(table37) && !len; r++) {
			const struct u8row *row = &table37[r];
			bool match = row->n <= n - i;

			for (unsigned k = 0; match && k < row->n; k++)
				match = s[i + k] >= row->lo[k] && s[i + k] <= row->hi[k];
			if (match)
				len = row->n;
		}
		if (!len)
			return false;
		i += len;
	}
	return true;
}

/* ---- UTF-8: oracle 2, glibc's decoder ------------------------------------------- */

static bool have_glibc_utf8;

/* mbrtowc in C.UTF-8, with what it does not check (NUL, > U+10FFFF)
 * checked here. */
static bool oracle_glibc(const uint8_t *s, size_t n)
{
	mbstate_t st;
	size_t i = 0;

	memset(&st, 0, sizeof(st));
	while (i < n) {
		wchar_t w;
		size_t r = mbrtowc(&w, (const char *)s + i, n - i, &st);

		if (r == 0 || r == (size_t)-1 || r == (size_t)-2)
			return false;
		if ((uint32_t)w > 0x10ffff)
			return false;
		i += r;
	}
	return true;
}

/* Does glibc's decoder behave as oracle_glibc assumes? */
static int setup_glibc(void **state)
{
	(void)state;
	have_glibc_utf8 = false;
	if (!setlocale(LC_CTYPE, "C.UTF-8") && !setlocale(LC_CTYPE, "C.utf8"))
		return 0;
	have_glibc_utf8 = oracle_glibc((const uint8_t *)"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10) &&
			  !oracle_glibc((const uint8_t *)"\xc0\x80", 2) &&
			  !oracle_glibc((const uint8_t *)"\xe0\x80\x80", 3) &&
			  !oracle_glibc((const uint8_t *)"\xed\xa0\x80", 3) &&
			  !oracle_glibc((const uint8_t *)"\xf4\x90\x80\x80", 4);
	return 0;
}

static int teardown_locale(void **state)
{
	(void)state;
	setlocale(LC_CTYPE, "C");
	return 0;
}

static void check_one(const uint8_t *s, size_t n)
{
	bool want = oracle_table(s, n), got = utf8_valid((const char *)s, n);
	char dump[64];

	if (got != want) {
		hexdump(s, n, dump, sizeof(dump));
		fail_msg("utf8_valid(%s) = %d, Table 3-7 says %d (rng state %016llx)", dump,
			 got, want, (unsigned long long)rng);
	}
	if (have_glibc_utf8 && oracle_glibc(s, n) != want) {
		hexdump(s, n, dump, sizeof(dump));
		fail_msg("the oracles disagree on %s: table %d, glibc %d", dump, want, !want);
	}
}

/* ---- UTF-8: named cases --------------------------------------------------------- */

static const struct {
	const char *s;
	size_t n;
	bool valid;
	const char *what;
} u8cases[] = {
#define C(str, v, w) { str, sizeof(str) - 1, v, w }
	C("", true, "empty"),
	C("plain ASCII, 0x01..0x7f: \x01\x1f\x7f", true, "ASCII"),
	C("\xc2\x80", true, "U+0080, first 2-byte"),
	C("\xdf\xbf", true, "U+07FF, last 2-byte"),
	C("caf\xc3\xa9", true, "2-byte in text"),
	C("\xe0\xa0\x80", true, "U+0800, first 3-byte"),
	C("\xe2\x82\xac", true, "euro sign"),
	C("\xed\x9f\xbf", true, "U+D7FF, before the surrogates"),
	C("\xee\x80\x80", true, "U+E000, after the surrogates"),
	C("\xef\xbf\xbf", true, "U+FFFF"),
	C("\xef\xbb\xbf", true, "BOM"),
	C("\xf0\x90\x80\x80", true, "U+10000, first 4-byte"),
	C("\xf0\x9f\x98\x80", true, "emoji"),
	C("\xf4\x8f\xbf\xbf", true, "U+10FFFF, the last"),
	C("\xc0\x80", false, "overlong NUL"),
	C("\xc1\xbf", false, "overlong U+007F"),
	C("\xe0\x80\x80", false, "overlong 3-byte NUL"),
	C("\xe0\x9f\xbf", false, "overlong U+07FF"),
	C("\xf0\x80\x80\x80", false, "overlong 4-byte NUL"),
	C("\xf0\x8f\xbf\xbf", false, "overlong U+FFFF"),
	C("\xed\xa0\x80", false, "U+D800 surrogate"),
	C("\xed\xbf\xbf", false, "U+DFFF surrogate"),
	C("\xed\xa0\xbd\xed\xb8\x80", false, "CESU-8 surrogate pair"),
	C("\xf4\x90\x80\x80", false, "U+110000"),
	C("\xf7\xbf\xbf\xbf", false, "U+1FFFFF"),
	C("\xc3", false, "truncated 2-byte"),
	C("\xe2\x82", false, "truncated 3-byte"),
	C("\xf0\x9f\x98", false, "truncated 4-byte"),
	C("ab\xe2\x82", false, "truncated at the end of text"),
	C("\xe2\x82x", false, "3-byte cut by ASCII"),
	C("\x80", false, "lone continuation"),
	C("\xbf", false, "lone continuation 0xBF"),
	C("a\x80z", false, "continuation in text"),
	C("\xc3\xa9\xa9", false, "one continuation too many"),
	C("\x00", false, "NUL"),
	C("ab\x00" "cd", false, "NUL in text"),
	C("\xf5\x80\x80\x80", false, "lead F5"),
	C("\xf8\x88\x80\x80\x80", false, "5-byte form"),
	C("\xfc\x84\x80\x80\x80\x80", false, "6-byte form"),
	C("\xfe", false, "FE"),
	C("\xff", false, "FF"),
#undef C
};

static void test_utf8_cases(void **state)
{
	(void)state;
	if (!have_glibc_utf8)
		print_message("# no C.UTF-8 locale: the glibc oracle is off, Table 3-7 alone\n");
	for (size_t i = 0; i < ARRAY_SIZE(u8cases); i++) {
		bool got = utf8_valid(u8cases[i].s, u8cases[i].n);

		if (got != u8cases[i].valid)
			fail_msg("%s: utf8_valid = %d, expected %d", u8cases[i].what, got,
				 u8cases[i].valid);
		/* the oracles agree with the hand-written expectation */
		check_one((const uint8_t *)u8cases[i].s, u8cases[i].n);
	}
	/* F5..FF never start anything, whatever follows */
	for (int c = 0xf5; c <= 0xff; c++) {
		char s[4] = { (char)c, (char)0x80, (char)0x80, (char)0x80 };
		assert_false(utf8_valid(s, 4));
		assert_false(utf8_valid(s, 1));
	}
	/* n bounds the input: a valid prefix of a longer buffer */
	assert_true(utf8_valid("ab\xff", 2));
	assert_false(utf8_valid("\xc3\xa9", 1));
}

static void test_utf8_exhaustive_short(void **state)
{
	uint8_t s[2];
	unsigned valid2 = 0;
	(void)state;

	for (unsigned a = 0; a < 256; a++) {
		s[0] = (uint8_t)a;
		check_one(s, 1);
		for (unsigned b = 0; b < 256; b++) {
			s[1] = (uint8_t)b;
			check_one(s, 2);
			valid2 += utf8_valid((const char *)s, 2);
		}
	}
	/* counted independently: 127 x 127 ASCII pairs + 30 x 64 two-byte
	 * forms (C2..DF, 80..BF) */
	assert_int_equal(valid2, 127 * 127 + 30 * 64);
}

/* Byte values where the ranges of Table 3-7 begin and end, and a few more. */
static const uint8_t edges[] = {
	0x00, 0x01, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xa1, 0xbf,
	0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
	0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff,
};

static void test_utf8_edges_3_4(void **state)
{
	uint8_t s[4];
	unsigned valid = 0;
	(void)state;

	for (size_t a = 0; a < sizeof(edges); a++)
		for (size_t b = 0; b < sizeof(edges); b++)
			for (size_t c = 0; c < sizeof(edges); c++) {
				s[0] = edges[a], s[1] = edges[b], s[2] = edges[c];
				check_one(s, 3);
				for (size_t d = 0; d < sizeof(edges); d++) {
					s[3] = edges[d];
					check_one(s, 4);
					valid += utf8_valid((const char *)s, 4);
				}
			}
	assert_true(valid > 1000);   /* both outcomes were exercised */
}

/* Random strings: half uniform bytes, half built from code points (valid
 * and invalid ones, encoded here without checks) and then damaged. */
static size_t encode_any(uint32_t cp, unsigned len, uint8_t *o)
{
	switch (len) {
	case 1: o[0] = (uint8_t)cp; return 1;
	case 2: o[0] = (uint8_t)(0xc0 | (cp >> 6 & 0x1f)); o[1] = (uint8_t)(0x80 | (cp & 0x3f)); return 2;
	case 3: o[0] = (uint8_t)(0xe0 | (cp >> 12 & 0x0f)); o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f)); return 3;
	default: o[0] = (uint8_t)(0xf0 | (cp >> 18 & 0x07)); o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)); o[3] = (uint8_t)(0x80 | (cp & 0x3f)); return 4;
	}
}

static void test_utf8_random(void **state)
{
	uint8_t s[32];
	unsigned valid = 0, total = 0;
	(void)state;

	rng = 0x0123456789abcdefull;
	for (int round = 0; round < 60000; round++) {
		size_t n = 0;

		if (round & 1) {
			n = 3 + (size_t)(rnd() % 2);   /* 3 or 4 uniform bytes */
			for (size_t i = 0; i < n; i++)
				s[i] = (uint8_t)rnd();
		} else {
			unsigned k = 1 + (unsigned)(rnd() % 5);
			for (unsigned j = 0; j < k; j++) {
				uint32_t cp = (uint32_t)(rnd() % 0x120000);
				unsigned len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
				if (rnd() % 8 == 0 && len < 4)
					len++;                  /* overlong */
				n += encode_any(cp, len, s + n);
			}
			if (rnd() % 3 == 0)
				s[rnd() % n] = (uint8_t)rnd();   /* damage */
			if (rnd() % 5 == 0)
				n -= 1;                         /* truncate */
		}
		check_one(s, n);
		valid += utf8_valid((const char *)s, n);
		total++;
	}
	/* both outcomes were exercised plenty */
	assert_true(valid > total / 10 && valid < total - total / 10);
}

/* ---- FNV-1a 64 --------------------------------------------------------------------- */

/* FNV-1a by shifts and adds: the FNV prime 0x100000001b3 is
 * 2^40 + 2^8 + 0xb3, and 0xb3 = 2^7 + 2^5 + 2^4 + 2^1 + 2^0. */
static uint64_t fnv1a64_shifts(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;   /* offset basis, in decimal */

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h += (h << 1) + (h << 4) + (h << 5) + (h << 7) + (h << 8) + (h << 40);
	}
	return h;
}

static void test_fnv1a64_vectors(void **state)
{
	/* FNV-1a 64 of the strings in the FNV reference test suite
	 * (isthe.com/chongo/tech/comp/fnv, test_fnv.c); each value
	 * recomputed with a Python one-liner when this test was written. */
	static const struct {
		const char *s;
		size_t n;
		uint64_t h;
	} v[] = {
		{ "", 0, 0xcbf29ce484222325ull },
		{ "a", 1, 0xaf63dc4c8601ec8cull },
		{ "b", 1, 0xaf63df4c8601f1a5ull },
		{ "fo", 2, 0x08985907b541d342ull },
		{ "foobar", 6, 0x85944171f73967e8ull },
		{ "\0", 1, 0xaf63bd4c8601b7dfull },
		{ "\xff", 1, 0xaf64724c8602eb6eull },
		{ "chongo was here!\n", 17, 0x46810940eff5f915ull },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		uint64_t h = fnv1a64(v[i].s, v[i].n);
		if (h != v[i].h)
			fail_msg("fnv1a64(vector %zu) = %016llx, expected %016llx", i,
				 (unsigned long long)h, (unsigned long long)v[i].h);
	}
}

static void test_fnv1a64_random(void **state)
{
	uint8_t b[300];
	(void)state;

	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)(rnd() % sizeof(b));

		for (size_t i = 0; i < n; i++)
			b[i] = (uint8_t)rnd();
		assert_int_equal(fnv1a64(b, n), fnv1a64_shifts(b, n));
		/* a one-bit change changes the sum */
		if (n) {
			uint64_t h = fnv1a64(b, n);
			b[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
			assert_int_not_equal(fnv1a64(b, n), h);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_digit_all_bytes),
		cmocka_unit_test(test_hex_encode_oracle),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_decode_rejects),
		cmocka_unit_test_setup_teardown(test_utf8_cases, setup_glibc, teardown_locale),
		cmocka_unit_test_setup_teardown(test_utf8_exhaustive_short, setup_glibc, teardown_locale),
		cmocka_unit_test_setup_teardown(test_utf8_edges_3_4, setup_glibc, teardown_locale),
		cmocka_unit_test_setup_teardown(test_utf8_random, setup_glibc, teardown_locale),
		cmocka_unit_test(test_fnv1a64_vectors),
		cmocka_unit_test(test_fnv1a64_random),
	};
	return cmocka_run_group_tests_name("bytes", tests, NULL, NULL);
}
