/* physfmt — exact decimal output of raw x factor + offset (see physfmt.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "can/physfmt.h"

#ifdef __SIZEOF_INT128__
__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;
#define HAVE_I128 1
#else
#define HAVE_I128 0
#endif

#define EXP_MAX 40

/* a x 10^k in 64 bits, false on overflow. */
static bool scale10(int64_t a, unsigned k, int64_t *out)
{
	for (; k; k--)
		if (__builtin_mul_overflow(a, 10, &a))
			return false;
	*out = a;
	return true;
}

#if HAVE_I128
/* a x 10^k in 128 bits, false beyond 2^126 (so that raw x A + B, |raw| <
 * 2^64, is checked by one overflow test). */
static bool scale10_wide(int64_t a, unsigned k, i128 *out)
{
	static const i128 lim = (i128)1 << 126;
	i128 w = a;
	for (; k; k--) {
		w *= 10;
		if (w >= lim || w <= -lim)
			return false;
	}
	*out = w;
	return true;
}

static void store_wide(uint64_t out[2], i128 v)
{
	out[0] = (uint64_t)(u128)v;
	out[1] = (uint64_t)((u128)v >> 64);
}

static i128 load_wide(const uint64_t in[2])
{
	return (i128)(((u128)in[1] << 64) | in[0]);
}
#endif

void physfmt_init(struct physfmt *f, const struct dbc_signal *s)
{
	const struct dbc_decimal *fd = &s->factor_dec, *od = &s->offset_dec;

	memset(f, 0, sizeof(*f));
	f->is_signed = s->is_signed;
	f->length = s->length;
	if (s->value_type != DBC_VT_INT || !fd->exact || !od->exact)
		return;
	/* the common power of ten: the smaller exponent of the two non-zero terms */
	int e = fd->mant ? fd->exp : od->exp;
	if (od->mant && od->exp < e)
		e = od->exp;
	if (e < -EXP_MAX || e > EXP_MAX)
		return;
	unsigned kf = (unsigned)(fd->mant ? fd->exp - e : 0), ko = (unsigned)(od->mant ? od->exp - e : 0);
	f->exp = (int8_t)e;
	if (scale10(fd->mant, kf, &f->a) && scale10(od->mant, ko, &f->b)) {
		f->exact = true;
		return;
	}
#if HAVE_I128
	i128 a, b;
	if (scale10_wide(fd->mant, kf, &a) && scale10_wide(od->mant, ko, &b)) {
		store_wide(f->wa, a);
		store_wide(f->wb, b);
		f->wide = true;
		f->exact = true;
	}
#endif
}

/* Two digits at a time. */
static const char pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* The digits of v, right-aligned so they end at `end`; returns their start.
 * Below 2^32 in 32-bit arithmetic (cheaper on every target). */
static inline __attribute__((always_inline)) char *digits_u64(uint64_t v, char *end)
{
	char *p = end;
	if (v <= UINT32_MAX) {
		uint32_t w = (uint32_t)v;
		while (w >= 10000) {   /* four digits a step: one division by 10^4, two small ones */
			uint32_t r = w % 10000, hi = r / 100, lo = r % 100;
			w /= 10000;
			p -= 4;
			memcpy(p, pairs + 2 * (size_t)hi, 2);
			memcpy(p + 2, pairs + 2 * (size_t)lo, 2);
		}
		if (w >= 100) {
			uint32_t lo = w % 100;
			w /= 100;
			p -= 2;
			memcpy(p, pairs + 2 * (size_t)lo, 2);
		}
		if (w >= 10) {
			*--p = pairs[(size_t)w * 2 + 1];
			*--p = pairs[(size_t)w * 2];
		} else {
			*--p = (char)('0' + w);
		}
		return p;
	}
	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;
		v /= 100;
		*--p = pairs[i + 1];
		*--p = pairs[i];
	}
	if (v >= 10) {
		unsigned i = (unsigned)v * 2;
		*--p = pairs[i + 1];
		*--p = pairs[i];
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

char *physfmt_u64(uint64_t v, char *p)
{
	char tmp[20];
	char *s = digits_u64(v, tmp + sizeof(tmp));
	size_t n = (size_t)(tmp + sizeof(tmp) - s);
	memcpy(p, s, n);
	return p + n;
}

/* The digits are first written right-aligned to end DIGITS_END bytes into
 * the output's room (PHYSFMT_ROOM), then moved to their place: the text
 * (at most 83 bytes) never reaches them, and a short run (20 digits at
 * most) moves in one fixed-size copy whose overshoot stays in the room. */
#define COPY_MAX   32
#define DIGITS_END 120

static inline void copy_digits(char *p, const char *s, size_t n)
{
	if (likely(n <= 20))
		memcpy(p, s, COPY_MAX);
	else
		memcpy(p, s, n);
}

/* |N| as digits [s, end), its sign, and the power of ten: the text at p.
 * The digits lie in p's room, DIGITS_END bytes from p. */
static inline __attribute__((always_inline)) char *put_scaled(char *p, bool neg, const char *s,
								 const char *end, int exp)
{
	size_t nd = (size_t)(end - s);

	if (nd == 1 && *s == '0') {
		*p++ = '0';
		return p;
	}
	if (neg)
		*p++ = '-';
	if (exp >= 0) {
		copy_digits(p, s, nd);
		p += nd;
		if (exp > 0)
			memset(p, '0', (size_t)exp);
		return p + exp;
	}
	size_t k = (size_t)-exp;   /* fraction digits */
	while (k && end[-1] == '0') {
		end--;
		k--;
		nd--;
	}
	if (k == 0) {
		copy_digits(p, s, nd);
		return p + nd;
	}
	if (nd > k) {
		copy_digits(p, s, nd - k);
		p += nd - k;
		*p++ = '.';
		copy_digits(p, end - k, k);
		return p + k;
	}
	*p++ = '0';
	*p++ = '.';
	memset(p, '0', k - nd);
	p += k - nd;
	copy_digits(p, s, nd);
	return p + nd;
}

#if HAVE_I128
static char *digits_u128(u128 v, char *end)
{
	static const uint64_t e19 = 10000000000000000000ull;
	char *p = end;

	while (v > UINT64_MAX) {
		uint64_t low = (uint64_t)(v % e19);
		v /= e19;
		char *q = digits_u64(low, p);
		while (p - q < 19)   /* the chunk's leading zeros */
			*--q = '0';
		p = q;
	}
	return digits_u64((uint64_t)v, p);
}
#endif

/* The wide cases: N beyond 64 bits, or a factor without a decimal form. */
static __attribute__((noinline)) char *put_wide(const struct physfmt *f, uint64_t raw, double value,
						char *p)
{
	char *end = p + DIGITS_END;

	if (!f->exact)
		return physfmt_double(value, p);
	if (!f->wide && !f->is_signed && f->a == 1 && f->b == 0)   /* a 64-bit count as it is */
		return put_scaled(p, false, digits_u64(raw, end), end, f->exp);
#if HAVE_I128
	i128 r, a = f->wide ? load_wide(f->wa) : f->a, b = f->wide ? load_wide(f->wb) : f->b, w;
	if (f->is_signed) {
		unsigned sh = 64u - f->length;
		r = (int64_t)(raw << sh) >> sh;
	} else {
		r = (i128)(u128)raw;
	}
	/* |A|, |B| < 2^126 and |r| < 2^64: one check covers the sum too
	 * unless the product is within 2^126 of the limit */
	if (__builtin_mul_overflow(r, a, &w) || __builtin_add_overflow(w, b, &w))
		return physfmt_double(value, p);
	u128 u = w < 0 ? 0 - (u128)w : (u128)w;
	return put_scaled(p, w < 0, digits_u128(u, end), end, f->exp);
#else
	return physfmt_double(value, p);
#endif
}

char *physfmt_put(const struct physfmt *f, uint64_t raw, double value, char *p)
{
	char *end = p + DIGITS_END;
	int64_t r, n;

	if (unlikely(!f->exact || f->wide))
		return put_wide(f, raw, value, p);
	if (f->is_signed) {
		unsigned sh = 64u - f->length;
		r = (int64_t)(raw << sh) >> sh;
	} else {
		if (unlikely(raw > INT64_MAX))
			return put_wide(f, raw, value, p);
		r = (int64_t)raw;
	}
	if (unlikely(__builtin_mul_overflow(r, f->a, &n) || __builtin_add_overflow(n, f->b, &n)))
		return put_wide(f, raw, value, p);
	uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
	return put_scaled(p, n < 0, digits_u64(u, end), end, f->exp);
}

char *physfmt_double(double x, char *p)
{
	char buf[40];
	int n = 0;

	if (!isfinite(x)) {
		static const char null[4] = { 'n', 'u', 'l', 'l' };
		memcpy(p, null, sizeof(null));
		return p + 4;
	}
	if (x == trunc(x) && fabs(x) < 1e17) {
		n = snprintf(buf, sizeof(buf), "%.0f", x);
	} else {
		for (int prec = 15; prec <= 17; prec++) {
			n = snprintf(buf, sizeof(buf), "%.*g", prec, x);
			if (prec == 17 || strtod(buf, NULL) == x)
				break;
		}
	}
	if (n <= 0 || (size_t)n >= sizeof(buf))
		n = 0;
	memcpy(p, buf, (size_t)n);
	return p + n;
}
