/* cbor — the small deterministic CBOR subset the records use (RFC 8949).
 *
 * Writer: integers, byte and text strings, arrays, maps and tags, always in
 * the core deterministic form of RFC 8949 §4.2.1 (shortest-form heads,
 * definite lengths). Keys are written in the order the caller gives; the
 * caller sorts them (the record's integer keys 0..20 are in order).
 *
 * Reader: strict. It refuses, with a reason and the byte offset:
 *   - truncation (every length is checked against the bytes left, never
 *     trusted),
 *   - non-shortest heads (e.g. 0x18 0x05 for 5), indefinite lengths,
 *     reserved additional information (28..30),
 *   - major type 7 (floats, simple values, break): the records have none,
 *   - text strings that are not valid UTF-8,
 *   - a type other than the one asked for.
 * Errors are sticky: after the first, every call fails with the same
 * reason, so a decoder can check once at the end of a group of reads.
 *
 * Neither side allocates; both work on caller-owned buffers. */
#ifndef ECO2_CBOR_H
#define ECO2_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

enum cbor_major {
	CBOR_UINT = 0,
	CBOR_NINT = 1,
	CBOR_BSTR = 2,
	CBOR_TSTR = 3,
	CBOR_ARRAY = 4,
	CBOR_MAP = 5,
	CBOR_TAG = 6,
	CBOR_SIMPLE = 7,
};

/* ---- writer ------------------------------------------------------------ */

struct cbor_wr {
	uint8_t *buf;       /* caller's storage */
	size_t cap;         /* its size in bytes */
	size_t len;         /* bytes written so far */
	bool overflow;      /* a write did not fit; len stops growing */
};

void cbor_wr_init(struct cbor_wr *w, uint8_t *buf, size_t cap);
void cbor_put_head(struct cbor_wr *w, enum cbor_major major, uint64_t arg);
void cbor_put_uint(struct cbor_wr *w, uint64_t v);
void cbor_put_int(struct cbor_wr *w, int64_t v);
void cbor_put_bstr(struct cbor_wr *w, const void *p, size_t n);
void cbor_put_tstr(struct cbor_wr *w, const char *s, size_t n);
/* Raw bytes already encoded (a nested item); no head. */
void cbor_put_raw(struct cbor_wr *w, const void *p, size_t n);
#define cbor_put_array(w, n) cbor_put_head((w), CBOR_ARRAY, (n))
#define cbor_put_map(w, n)   cbor_put_head((w), CBOR_MAP, (n))
#define cbor_put_tag(w, t)   cbor_put_head((w), CBOR_TAG, (t))

/* 0, or -ENOSPC when anything did not fit in cap. */
int cbor_wr_status(const struct cbor_wr *w) __must_check;

/* ---- reader ------------------------------------------------------------ */

struct cbor_rd {
	const uint8_t *p;   /* input, not owned */
	size_t len;
	size_t off;         /* next byte to read */
	const char *why;    /* first error (static string), or NULL */
	size_t why_off;     /* offset of the item that caused it */
};

void cbor_rd_init(struct cbor_rd *r, const uint8_t *p, size_t len);

/* Each getter returns 0, or -EBADMSG with r->why set. */
int cbor_get_head(struct cbor_rd *r, enum cbor_major *major, uint64_t *arg) __must_check;
int cbor_get_uint(struct cbor_rd *r, uint64_t *v) __must_check;
/* Major type 0 or 1 whose value fits in int64_t. */
int cbor_get_int(struct cbor_rd *r, int64_t *v) __must_check;
/* *p points into the input (not copied); *n <= bytes left. */
int cbor_get_bstr(struct cbor_rd *r, const uint8_t **p, size_t *n) __must_check;
/* As bstr, and the bytes are valid UTF-8 (not NUL-terminated). */
int cbor_get_tstr(struct cbor_rd *r, const char **p, size_t *n) __must_check;
int cbor_get_array(struct cbor_rd *r, uint64_t *n) __must_check;
int cbor_get_map(struct cbor_rd *r, uint64_t *n) __must_check;
int cbor_get_tag(struct cbor_rd *r, uint64_t *tag) __must_check;
/* Skip one complete item (nesting at most max_depth deep). */
int cbor_skip(struct cbor_rd *r, unsigned max_depth) __must_check;

/* Fail with reason why at the current offset (for semantic checks by the
 * caller, so that they are reported like syntax errors). Returns -EBADMSG. */
int cbor_fail(struct cbor_rd *r, const char *why);

static inline bool cbor_rd_done(const struct cbor_rd *r)
{
	return r->off == r->len;
}

/* true when p[0..n) is valid UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool cbor_utf8_valid(const uint8_t *p, size_t n);

#endif
