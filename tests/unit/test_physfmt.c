/* Unit tests for can/physfmt.c: values worked out by hand; random factors,
 * offsets and raws against exact decimal arithmetic done here on digit
 * strings (schoolbook multiply and add: nothing shared with the 64- and
 * 128-bit integer code under test); 64-bit raws; IEEE signals and the
 * shortest round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "can/dbc.h"
#include "can/physfmt.h"

#include "tests/unit/test_util.h"

#ifdef __SIZEOF_INT128__
#define HAVE_WIDE 1
#else
#define HAVE_WIDE 0
#endif

/* A signal with the factor and offset as written, through the DBC loader. */
static dbc_t *sig(const char *factor, const char *offset, unsigned len, bool is_signed, const char *vt,
		  const struct dbc_signal **out)
{
	char text[512];
	dbc_t *dbc = NULL;

	snprintf(text, sizeof(text), "BO_ 1 M: 8 N\n SG_ S : 0|%u@1%c (%s,%s) [0|0] \"\" N\n%s", len,
		 is_signed ? '-' : '+', factor, offset, vt ? vt : "");
	assert_int_equal(dbc_load_buffer(&dbc, "t.dbc", text, strlen(text)), 0);
	*out = dbc_lookup(dbc, "M.S");
	assert_non_null(*out);
	return dbc;
}

static const char *put(const struct dbc_signal *s, uint64_t raw)
{
	static char buf[PHYSFMT_ROOM + 1];
	struct physfmt f;

	physfmt_init(&f, s);
	char *e = physfmt_put(&f, raw, dbc_raw_to_phys(s, raw), buf);
	assert_true(e - buf <= PHYSFMT_MAX);
	*e = '\0';
	return buf;
}

/* Worked out by hand. */
static void test_by_hand(void **state)
{
	static const struct {
		const char *factor, *offset;
		unsigned len;
		bool is_signed;
		uint64_t raw;
		const char *text;
	} cases[] = {
		{ "0.01", "0", 16, false, 14300, "143" },               /* the double: 143.00000000000003 */
		{ "0.1", "-3276.8", 16, false, 0, "-3276.8" },
		{ "0.1", "-3276.8", 16, false, 32768, "0" },
		{ "0.1", "-3276.8", 16, false, 32769, "0.1" },
		{ "0.1", "-3276.8", 16, false, 65535, "3276.7" },
		{ "0.00390625", "0", 16, false, 12345, "48.22265625" },   /* 12345 / 256 */
		{ "1e-3", "0", 8, false, 1, "0.001" },
		{ "1e-3", "0", 8, false, 250, "0.25" },
		{ "1.5E+3", "0", 8, false, 3, "4500" },
		{ "-0.1", "0", 16, true, 0xFFFF, "0.1" },               /* raw -1 */
		{ "-0.1", "0", 16, true, 0x8000, "3276.8" },             /* raw -32768 */
		{ "0.5", "-40", 8, false, 0, "-40" },
		{ "0.5", "-40", 8, false, 81, "0.5" },
		{ "0.5", "-40", 8, false, 79, "-0.5" },
		{ "1", "-40", 8, true, 0x80, "-168" },                   /* -128 - 40 */
		{ "0.0015259", "0", 16, false, 65535, "99.9998565" },    /* 65535 x 15259 = 999998565 */
		{ "1", "0.001", 8, false, 7, "7.001" },
		{ "1000000", "0.001", 8, false, 255, "255000000.001" },
		{ "1e-40", "0", 8, false, 1, "0.0000000000000000000000000000000000000001" },
		{ "0", "5", 8, false, 200, "5" },
		{ "-1", "0", 8, false, 0, "0" },                         /* never "-0" */
		{ "1", "0", 64, false, UINT64_MAX, "18446744073709551615" },
		{ "1", "0", 64, true, 0x8000000000000000ull, "-9223372036854775808" },
		{ "1", "0", 64, true, UINT64_MAX, "-1" },
#ifdef __SIZEOF_INT128__   /* beyond 64 bits: without __int128 the double prints */
		{ "2", "1e20", 8, false, 5, "100000000000000000010" },
		{ "0.5", "0", 64, false, UINT64_MAX, "9223372036854775807.5" },
		{ "10", "0", 64, false, 0x8000000000000000ull, "92233720368547758080" },
		{ "-3", "7", 64, true, 0x8000000000000000ull, "27670116110564327431" },   /* 3 x 2^63 + 7 */
		{ "123456789012345678", "0", 64, false, UINT64_MAX,
		  "2277375791072698123500090624763169970" },
#else   /* no __int128: past 64 bits, the double's shortest text */
		{ "2", "1e20", 8, false, 5, "1e+20" },
		{ "0.5", "0", 64, false, UINT64_MAX, "9.223372036854776e+18" },
#endif
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct dbc_signal *s;
		dbc_t *dbc = sig(cases[i].factor, cases[i].offset, cases[i].len, cases[i].is_signed, NULL, &s);
		const char *got = put(s, cases[i].raw);
		if (strcmp(got, cases[i].text))
			fail_msg("(%s,%s) raw %llu: got %s, expected %s", cases[i].factor, cases[i].offset,
				 (unsigned long long)cases[i].raw, got, cases[i].text);
		dbc_free(dbc);
	}
}

/* ---- exact decimal arithmetic on digit strings (the oracle) --------------- */

#define ND 100   /* digits: little-endian, base 10 */

struct big {
	int neg;
	unsigned char d[ND];
};

static void big_from_u64(struct big *b, uint64_t v, int neg)
{
	memset(b, 0, sizeof(*b));
	b->neg = neg && v;
	for (int i = 0; v; i++, v /= 10)
		b->d[i] = (unsigned char)(v % 10);
}

static void big_mul(struct big *r, const struct big *a, const struct big *b)
{
	unsigned t[2 * ND] = { 0 };
	for (int i = 0; i < ND; i++)
		for (int j = 0; j < ND && i + j < 2 * ND; j++)
			t[i + j] += (unsigned)a->d[i] * b->d[j];
	memset(r, 0, sizeof(*r));
	unsigned carry = 0;
	for (int i = 0; i < ND; i++) {
		carry += t[i];
		r->d[i] = (unsigned char)(carry % 10);
		carry /= 10;
	}
	r->neg = a->neg != b->neg;
}

static void big_shift(struct big *b, int k)   /* x 10^k, k >= 0 */
{
	memmove(b->d + k, b->d, (size_t)(ND - k));
	memset(b->d, 0, (size_t)k);
}

static int big_cmp_abs(const struct big *a, const struct big *b)
{
	for (int i = ND - 1; i >= 0; i--)
		if (a->d[i] != b->d[i])
			return a->d[i] < b->d[i] ? -1 : 1;
	return 0;
}

static void big_add(struct big *r, const struct big *a, const struct big *b)
{
	struct big x;
	memset(&x, 0, sizeof(x));
	if (a->neg == b->neg) {
		int carry = 0;
		for (int i = 0; i < ND; i++) {
			int v = a->d[i] + b->d[i] + carry;
			x.d[i] = (unsigned char)(v % 10);
			carry = v / 10;
		}
		x.neg = a->neg;
	} else {
		const struct big *hi = big_cmp_abs(a, b) >= 0 ? a : b, *lo = hi == a ? b : a;
		int borrow = 0;
		for (int i = 0; i < ND; i++) {
			int v = hi->d[i] - lo->d[i] - borrow;
			borrow = v < 0;
			x.d[i] = (unsigned char)(v + 10 * borrow);
		}
		x.neg = hi->neg;
	}
	int zero = 1;
	for (int i = 0; i < ND; i++)
		zero &= x.d[i] == 0;
	if (zero)
		x.neg = 0;
	*r = x;
}

/* b x 10^exp as the shortest exact decimal text, into out (2 * ND bytes). */
#define TEXT_MAX ((size_t)2 * ND)
static void big_text(const struct big *b, int exp, char *out)
{
	char digits[ND + 1];
	int n = 0, top = ND - 1;
	while (top > 0 && b->d[top] == 0)
		top--;
	for (int i = top; i >= 0; i--)
		digits[n++] = (char)('0' + b->d[i]);
	digits[n] = '\0';
	char *p = out;
	if (b->neg)
		*p++ = '-';
	if (exp >= 0) {
		p += snprintf(p, TEXT_MAX - (size_t)(p - out), "%s", digits);
		if (strcmp(digits, "0"))
			for (int i = 0; i < exp; i++)
				*p++ = '0';
		*p = '\0';
		return;
	}
	int k = -exp;
	while (k > 0 && n > 1 && digits[n - 1] == '0') {
		digits[--n] = '\0';
		k--;
	}
	if (k == 0 || !strcmp(digits, "0")) {
		snprintf(p, TEXT_MAX - (size_t)(p - out), "%s", digits);
		return;
	}
	if (n > k) {
		snprintf(p, TEXT_MAX - (size_t)(p - out), "%.*s.%s", n - k, digits, digits + n - k);
		return;
	}
	*p++ = '0';
	*p++ = '.';
	for (int i = 0; i < k - n; i++)
		*p++ = '0';
	snprintf(p, TEXT_MAX - (size_t)(p - out), "%s", digits);
}

/* Random decimal text of up to `digits` significant digits and an exponent. */
static void random_decimal(uint64_t *x, char *out, int digits)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	int nd = 1 + (int)((*x >> 40) % (unsigned)digits);
	int e = (int)((*x >> 20) % 13) - 8;
	int neg = (*x >> 10) & 1;
	char m[40];
	for (int i = 0; i < nd; i++) {
		*x = *x * 6364136223846793005ull + 1442695040888963407ull;
		m[i] = (char)('0' + (*x >> 33) % 10);
	}
	m[nd] = '\0';
	snprintf(out, 48, "%s%se%d", neg ? "-" : "", m, e);
}

/* Parse our own random text back into digits and an exponent, the simple way. */
static void big_from_text(struct big *b, int *exp, const char *t)
{
	int neg = *t == '-';
	if (neg)
		t++;
	const char *e = strchr(t, 'e');
	memset(b, 0, sizeof(*b));
	int n = (int)(e - t);
	for (int i = 0; i < n; i++)
		b->d[i] = (unsigned char)(t[n - 1 - i] - '0');
	b->neg = neg;
	*exp = (int)strtol(e + 1, NULL, 10);
	int zero = 1;
	for (int i = 0; i < n; i++)
		zero &= b->d[i] == 0;
	if (zero)
		b->neg = 0;
}

static void test_against_digit_strings(void **state)
{
	uint64_t x = 20240601;
	unsigned exact = 0;
	(void)state;

	for (unsigned iter = 0; iter < 2000; iter++) {
		char ftext[48], otext[48], want[TEXT_MAX];
		struct big fb, ob, rb, prod, sum;
		int fe, oe;
		random_decimal(&x, ftext, 18);
		random_decimal(&x, otext, 12);
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		unsigned len = 1 + (unsigned)((x >> 30) % 64);
		bool is_signed = (x >> 12) & 1;
		const struct dbc_signal *s;
		dbc_t *dbc = sig(ftext, otext, len, is_signed, NULL, &s);
		struct physfmt f;
		physfmt_init(&f, s);

		for (unsigned j = 0; j < 20; j++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t raw = x >> (64 - len);
			if (len < 64)
				raw &= (UINT64_C(1) << len) - 1;
			int64_t r = is_signed && len < 64 && (raw >> (len - 1)) & 1 ? (int64_t)(raw | ~((UINT64_C(1) << len) - 1))
										 : (int64_t)raw;
			if (is_signed && r < 0)
				big_from_u64(&rb, 0 - (uint64_t)r, 1);
			else
				big_from_u64(&rb, raw, 0);
			big_from_text(&fb, &fe, ftext);
			big_from_text(&ob, &oe, otext);
			big_mul(&prod, &rb, &fb);
			int e = fe < oe ? fe : oe;
			big_shift(&prod, fe - e);
			big_shift(&ob, oe - e);
			big_add(&sum, &prod, &ob);
			big_text(&sum, e, want);

			const char *got = put(s, raw);
			int top = ND - 1;   /* digits of N = raw x A + B */
			while (top > 0 && sum.d[top] == 0)
				top--;
			if (f.exact && !strcmp(got, want)) {
				exact++;
			} else if (f.exact) {
				/* only beyond 128 bits (|N| >= 10^38; 64 without
				 * __int128) may it fall back to the double */
				char dbl[PHYSFMT_MAX + 1];
				*physfmt_double(dbc_raw_to_phys(s, raw), dbl) = '\0';
				if (top < (HAVE_WIDE ? 37 : 18) || strcmp(got, dbl))
					fail_msg("(%s,%s) %u bits%s raw %llu: got %s, expected %s", ftext, otext,
						 len, is_signed ? " signed" : "", (unsigned long long)raw, got, want);
			} else {
				/* no exact form: the double's shortest round trip */
				double v = dbc_raw_to_phys(s, raw);
				if (strtod(got, NULL) != v)
					fail_msg("%s does not read back as %.17g", got, v);
			}
			/* read back as a double, within 1e-12 of the double arithmetic,
			 * relative to the terms' size (raw x factor + offset may cancel,
			 * and then the double arithmetic is what is off) */
			double d = strtod(got, NULL), v = dbc_raw_to_phys(s, raw);
			double scale = fabs((double)r * s->factor) + fabs(s->offset);
			if (fabs(d - v) > 1e-12 * scale)
				fail_msg("%s vs the double %.17g", got, v);
		}
		dbc_free(dbc);
	}
	/* most have an exact form: the rest only when factor x 10^k leaves 64 bits */
	assert_true(exact > 2000 * 20 / 3);
}

/* IEEE signals: the shortest text that reads back as the double. */
static void test_ieee(void **state)
{
	const struct dbc_signal *s;
	dbc_t *dbc = sig("1", "0", 32, true, "SIG_VALTYPE_ 1 S : 1;\n", &s);
	uint64_t x = 7;
	(void)state;

	float f = 0.1f;
	uint32_t u;
	memcpy(&u, &f, 4);
	assert_string_equal(put(s, u), "0.10000000149011612");   /* (double)0.1f, 17 digits */
	f = 1.5f;
	memcpy(&u, &f, 4);
	assert_string_equal(put(s, u), "1.5");
	f = INFINITY;
	memcpy(&u, &f, 4);
	assert_string_equal(put(s, u), "null");
	for (int i = 0; i < 100000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		u = (uint32_t)(x >> 32);
		memcpy(&f, &u, 4);
		const char *got = put(s, u);
		if (!isfinite(f)) {
			assert_string_equal(got, "null");
			continue;
		}
		char ref[40];
		snprintf(ref, sizeof(ref), "%.17g", (double)f);
		if (strtod(got, NULL) != (double)f || strlen(got) > strlen(ref) + 2)
			fail_msg("%s for %s", got, ref);
	}
	dbc_free(dbc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_by_hand, setup),
		cmocka_unit_test_setup(test_against_digit_strings, setup),
		cmocka_unit_test_setup(test_ieee, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
