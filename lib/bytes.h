/* bytes — small helpers over byte strings: hex digits and hex text, UTF-8
 * validity and a non-cryptographic checksum.
 *
 * Pure functions, no allocation, no logging: every folder may use them. */
#ifndef ECO2_BYTES_H
#define ECO2_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hex digit value + 1 for '0'-'9', 'a'-'f', 'A'-'F', 0 for anything else:
 * a table keeps hot scanners (candump lines) branch-light. */
extern const uint8_t bytes_hexv1[256];

/* The value of hex digit c (0..15), or -1 when c is not one. */
static inline int hex_digit(int c)
{
	return (int)bytes_hexv1[(unsigned char)c] - 1;
}

/* Write n bytes as 2n lower-case hex digits and a NUL: `out` holds 2n + 1. */
void hex_encode(const uint8_t *p, size_t n, char *out);

/* Parse exactly 2n hex digits (either case) of `hex` into out[n]. 0, or
 * -EINVAL when `hex` is not 2n hex digits. */
int hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t n);

/* Whether s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) with no NUL byte. */
bool utf8_valid(const char *s, size_t n);

/* Text from outside, fit for a log line: printable ASCII as it is,
 * anything else as \xNN, cut to what out_size holds ("..." marks the
 * cut). out is always NUL-terminated; out_size >= 8. */
void text_printable(const char *s, size_t n, char *out, size_t out_size);

/* 64-bit FNV-1a of n bytes: a checksum against accidental damage, not an
 * authenticator. */
uint64_t fnv1a64(const void *p, size_t n);

#endif
