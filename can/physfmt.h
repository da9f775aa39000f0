/* physfmt — a decoded value, raw x factor + offset, as decimal text.
 *
 * Where the DBC writes the factor and offset in decimal with at most 18
 * significant digits (struct dbc_decimal), the value is printed exactly,
 * from integers: N = raw x A + B with A, B the factor's and offset's digits
 * scaled to a common power of ten 10^E, printed with the decimal point E
 * places from the right and no trailing zeros ("143", never the double's
 * "143.00000000000003"). N is computed in 64-bit integers, in 128-bit ones
 * where 64 bits overflow and the compiler has them (__int128), else the
 * double is printed. IEEE float and double signals, and scalings with no
 * short decimal form, print the shortest decimal that reads back as the
 * double (physfmt_double).
 *
 * The text is a JSON number ("null" for a double that is not finite), at
 * most PHYSFMT_MAX bytes, not NUL-terminated: the writers return the end.
 * physfmt_put() uses PHYSFMT_ROOM bytes at p as scratch (digits are made
 * there, then moved): what lies past the text's end is left undefined. */
#ifndef ECO2_PHYSFMT_H
#define ECO2_PHYSFMT_H

#include <stdbool.h>
#include <stdint.h>
#include "can/dbc.h"

/* The longest text: a sign, 39 digits of a 128-bit N and 40 zeros (E up to
 * 40), or "-0." 40 zeros and 39 digits. */
#define PHYSFMT_MAX 88
#define PHYSFMT_ROOM 160

/* How one signal's values print; fill with physfmt_init(). */
struct physfmt {
	bool exact;        /* N = raw x A + B, value = N x 10^exp */
	bool wide;         /* A or B needs 128 bits: wa, wb hold them */
	bool is_signed;    /* raw is two's complement in `length` bits */
	uint8_t length;
	int8_t exp;        /* -40..40 */
	int64_t a, b;      /* A and B when !wide */
	uint64_t wa[2], wb[2];   /* A and B when wide: two's complement, low word first */
};

void physfmt_init(struct physfmt *f, const struct dbc_signal *s);

/* The value of `raw` (the signal's raw bits, as decode_value.raw) when
 * f->exact, else `value` (the decoder's double) as physfmt_double().
 * `p` has room for PHYSFMT_ROOM bytes; returns the end of the text. */
char *physfmt_put(const struct physfmt *f, uint64_t raw, double value, char *p);

/* The shortest decimal of at most 17 significant digits that reads back
 * (strtod) as x; integral values below 1e17 without a fraction or
 * exponent; "null" when x is not finite. */
char *physfmt_double(double x, char *p);

/* The decimal digits of v; returns the end. */
char *physfmt_u64(uint64_t v, char *p);

#endif
