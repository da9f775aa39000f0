/* cbor — the small deterministic CBOR subset the records use. */
#include <errno.h>
#include <string.h>

#include "crypto/cbor.h"

void cbor_wr_init(struct cbor_wr *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

void cbor_put_raw(struct cbor_wr *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* The shortest head for arg (RFC 8949 §4.2.1, first rule). */
void cbor_put_head(struct cbor_wr *w, enum cbor_major major, uint64_t arg)
{
	uint8_t h[9];
	size_t n;
	uint8_t mt = (uint8_t)(major << 5);

	if (arg < 24) {
		h[0] = mt | (uint8_t)arg;
		n = 1;
	} else if (arg <= UINT8_MAX) {
		h[0] = mt | 24;
		n = 2;
	} else if (arg <= UINT16_MAX) {
		h[0] = mt | 25;
		n = 3;
	} else if (arg <= UINT32_MAX) {
		h[0] = mt | 26;
		n = 5;
	} else {
		h[0] = mt | 27;
		n = 9;
	}
	for (size_t i = n - 1; i >= 1; i--) {
		h[i] = (uint8_t)arg;
		arg >>= 8;
	}
	cbor_put_raw(w, h, n);
}

void cbor_put_uint(struct cbor_wr *w, uint64_t v)
{
	cbor_put_head(w, CBOR_UINT, v);
}

void cbor_put_int(struct cbor_wr *w, int64_t v)
{
	if (v >= 0)
		cbor_put_head(w, CBOR_UINT, (uint64_t)v);
	else   /* -1 - v, computed without overflow for INT64_MIN */
		cbor_put_head(w, CBOR_NINT, ~(uint64_t)v);
}

void cbor_put_bstr(struct cbor_wr *w, const void *p, size_t n)
{
	cbor_put_head(w, CBOR_BSTR, n);
	cbor_put_raw(w, p, n);
}

void cbor_put_tstr(struct cbor_wr *w, const char *s, size_t n)
{
	cbor_put_head(w, CBOR_TSTR, n);
	cbor_put_raw(w, s, n);
}

int cbor_wr_status(const struct cbor_wr *w)
{
	return w->overflow ? -ENOSPC : 0;
}

/* ---- reader ------------------------------------------------------------ */

void cbor_rd_init(struct cbor_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->why = NULL;
	r->why_off = 0;
}

static int fail_at(struct cbor_rd *r, size_t off, const char *why)
{
	if (!r->why) {
		r->why = why;
		r->why_off = off;
	}
	return -EBADMSG;
}

int cbor_fail(struct cbor_rd *r, const char *why)
{
	return fail_at(r, r->off, why);
}

int cbor_get_head(struct cbor_rd *r, enum cbor_major *major, uint64_t *arg)
{
	size_t start = r->off, n;
	uint8_t ib, ai;
	uint64_t v = 0;

	if (r->why)
		return -EBADMSG;
	if (r->off >= r->len)
		return fail_at(r, start, "truncated: item expected");
	ib = r->p[r->off];
	ai = ib & 0x1f;
	*major = (enum cbor_major)(ib >> 5);
	if (*major == CBOR_SIMPLE)
		return fail_at(r, start, "float, simple value or break: not allowed");
	if (ai < 24) {
		*arg = ai;
		r->off++;
		return 0;
	}
	if (ai == 31)
		return fail_at(r, start, "indefinite length: not allowed");
	if (ai > 27)
		return fail_at(r, start, "reserved additional information (28..30)");
	n = (size_t)1 << (ai - 24);
	if (n > r->len - r->off - 1)
		return fail_at(r, start, "truncated: head runs past the end");
	for (size_t i = 0; i < n; i++)
		v = v << 8 | r->p[r->off + 1 + i];
	/* Deterministic encoding: the argument must need every byte it has. */
	if ((n == 1 && v < 24) || (n == 2 && v <= UINT8_MAX) ||
	    (n == 4 && v <= UINT16_MAX) || (n == 8 && v <= UINT32_MAX))
		return fail_at(r, start, "not canonical: head is not in shortest form");
	r->off += 1 + n;
	*arg = v;
	return 0;
}

static int get_typed(struct cbor_rd *r, enum cbor_major want, uint64_t *arg,
		     const char *why)
{
	size_t start = r->off;
	enum cbor_major m;
	int ret;

	ret = cbor_get_head(r, &m, arg);
	if (ret)
		return ret;
	if (m != want) {
		r->off = start;
		return fail_at(r, start, why);
	}
	return 0;
}

int cbor_get_uint(struct cbor_rd *r, uint64_t *v)
{
	return get_typed(r, CBOR_UINT, v, "unsigned integer expected");
}

int cbor_get_int(struct cbor_rd *r, int64_t *v)
{
	size_t start = r->off;
	enum cbor_major m;
	uint64_t a;
	int ret;

	ret = cbor_get_head(r, &m, &a);
	if (ret)
		return ret;
	if (m != CBOR_UINT && m != CBOR_NINT)
		return fail_at(r, start, "integer expected");
	if (a > INT64_MAX)
		return fail_at(r, start, "integer out of the signed 64-bit range");
	*v = m == CBOR_UINT ? (int64_t)a : -1 - (int64_t)a;
	return 0;
}

static int get_string(struct cbor_rd *r, enum cbor_major want,
		      const uint8_t **p, size_t *n, const char *why)
{
	size_t start = r->off;
	uint64_t a;
	int ret;

	ret = get_typed(r, want, &a, why);
	if (ret)
		return ret;
	if (a > r->len - r->off)
		return fail_at(r, start, "truncated: string runs past the end");
	*p = r->p + r->off;
	*n = (size_t)a;
	r->off += (size_t)a;
	return 0;
}

int cbor_get_bstr(struct cbor_rd *r, const uint8_t **p, size_t *n)
{
	return get_string(r, CBOR_BSTR, p, n, "byte string expected");
}

int cbor_get_tstr(struct cbor_rd *r, const char **p, size_t *n)
{
	size_t start = r->off;
	const uint8_t *u;
	int ret;

	ret = get_string(r, CBOR_TSTR, &u, n, "text string expected");
	if (ret)
		return ret;
	if (!cbor_utf8_valid(u, *n))
		return fail_at(r, start, "text string is not valid UTF-8");
	*p = (const char *)u;
	return 0;
}

int cbor_get_array(struct cbor_rd *r, uint64_t *n)
{
	return get_typed(r, CBOR_ARRAY, n, "array expected");
}

int cbor_get_map(struct cbor_rd *r, uint64_t *n)
{
	return get_typed(r, CBOR_MAP, n, "map expected");
}

int cbor_get_tag(struct cbor_rd *r, uint64_t *tag)
{
	return get_typed(r, CBOR_TAG, tag, "tag expected");
}

int cbor_skip(struct cbor_rd *r, unsigned max_depth)
{
	size_t start = r->off;
	enum cbor_major m;
	uint64_t a = 0;
	int ret;

	ret = cbor_get_head(r, &m, &a);
	if (ret)
		return ret;
	switch (m) {
	case CBOR_UINT:
	case CBOR_NINT:
		return 0;
	case CBOR_BSTR:
	case CBOR_TSTR:
		if (a > r->len - r->off)
			return fail_at(r, start, "truncated: string runs past the end");
		if (m == CBOR_TSTR && !cbor_utf8_valid(r->p + r->off, (size_t)a))
			return fail_at(r, start, "text string is not valid UTF-8");
		r->off += (size_t)a;
		return 0;
	case CBOR_ARRAY:
	case CBOR_MAP:
	case CBOR_TAG:
		if (!max_depth)
			return fail_at(r, start, "nested too deeply");
		/* Each element takes at least one byte: a count larger than
		 * what is left is truncated, whatever it claims. */
		if (m == CBOR_TAG)
			a = 1;
		else if (m == CBOR_MAP && a > (r->len - r->off) / 2)
			return fail_at(r, start, "truncated: map runs past the end");
		else if (a > r->len - r->off)
			return fail_at(r, start, "truncated: array runs past the end");
		if (m == CBOR_MAP)
			a *= 2;
		for (uint64_t i = 0; i < a; i++) {
			ret = cbor_skip(r, max_depth - 1);
			if (ret)
				return ret;
		}
		return 0;
	default:
		return fail_at(r, start, "float, simple value or break: not allowed");
	}
}

bool cbor_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		uint32_t cp;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (k > n - i - 1)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += k + 1;
	}
	return true;
}
