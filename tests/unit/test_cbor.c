/* Unit tests for crypto/cbor.c: the writer against RFC 8949 Appendix A's
 * examples and every head width; the reader's round trip and each form it
 * must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/cbor.h"

/* Hex string -> bytes; returns the length. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (hex[0] && hex[1]) {
		unsigned v;

		assert_true(n < cap);
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static void assert_bytes(const struct cbor_wr *w, const char *hex)
{
	uint8_t want[64];
	size_t n = unhex(hex, want, sizeof(want));

	assert_int_equal(cbor_wr_status(w), 0);
	assert_int_equal(w->len, n);
	assert_memory_equal(w->buf, want, n);
}

/* RFC 8949 Appendix A, the integer examples, plus each head width's
 * boundaries (the last value of one width, the first of the next). */
static const struct {
	int64_t v;
	const char *hex;
} ints[] = {
	{ 0, "00" }, { 1, "01" }, { 10, "0a" }, { 23, "17" }, { 24, "1818" },
	{ 25, "1819" }, { 100, "1864" }, { 255, "18ff" }, { 256, "190100" },
	{ 1000, "1903e8" }, { 65535, "19ffff" }, { 65536, "1a00010000" },
	{ 1000000, "1a000f4240" }, { 4294967295, "1affffffff" },
	{ 4294967296, "1b0000000100000000" },
	{ 1000000000000, "1b000000e8d4a51000" },
	{ INT64_MAX, "1b7fffffffffffffff" },
	{ -1, "20" }, { -10, "29" }, { -24, "37" }, { -25, "3818" },
	{ -100, "3863" }, { -256, "38ff" }, { -257, "390100" },
	{ -1000, "3903e7" }, { INT64_MIN, "3b7fffffffffffffff" },
};

static void test_write_ints(void **state)
{
	uint8_t buf[16];
	struct cbor_wr w;
	(void)state;

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		cbor_wr_init(&w, buf, sizeof(buf));
		cbor_put_int(&w, ints[i].v);
		assert_bytes(&w, ints[i].hex);
	}
	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_uint(&w, UINT64_MAX);
	assert_bytes(&w, "1bffffffffffffffff");
}

static void test_read_ints(void **state)
{
	uint8_t buf[16];
	struct cbor_rd r;
	int64_t v;
	(void)state;

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		size_t n = unhex(ints[i].hex, buf, sizeof(buf));

		cbor_rd_init(&r, buf, n);
		assert_int_equal(cbor_get_int(&r, &v), 0);
		assert_true(v == ints[i].v);
		assert_true(cbor_rd_done(&r));
	}
}

static void test_write_strings_and_containers(void **state)
{
	uint8_t buf[400], big[300];
	struct cbor_wr w;
	(void)state;

	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_tstr(&w, "", 0);
	assert_bytes(&w, "60");
	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_tstr(&w, "IETF", 4);
	assert_bytes(&w, "6449455446");
	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_bstr(&w, NULL, 0);
	assert_bytes(&w, "40");
	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_bstr(&w, "\x01\x02\x03\x04", 4);
	assert_bytes(&w, "4401020304");
	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_array(&w, 0);
	cbor_put_map(&w, 0);
	cbor_put_array(&w, 25);
	cbor_put_tag(&w, 18);
	cbor_put_map(&w, 2);
	assert_bytes(&w, "80a09819d2a2");

	/* 24- and 256-byte strings take 1- and 2-byte length heads. */
	memset(big, 0xab, sizeof(big));
	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_bstr(&w, big, 24);
	assert_int_equal(w.len, 26);
	assert_int_equal(buf[0], 0x58);
	assert_int_equal(buf[1], 24);
	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_bstr(&w, big, 256);
	assert_int_equal(w.len, 259);
	assert_memory_equal(buf, "\x59\x01\x00", 3);
}

static void test_write_overflow(void **state)
{
	uint8_t buf[4];
	struct cbor_wr w;
	(void)state;

	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_uint(&w, 1000000);      /* 5 bytes into 4 */
	assert_int_equal(cbor_wr_status(&w), -ENOSPC);
	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_put_uint(&w, 1);
	cbor_put_bstr(&w, "abcd", 4);    /* 1 + 5 bytes */
	assert_int_equal(cbor_wr_status(&w), -ENOSPC);
	assert_true(w.len <= sizeof(buf));
}

static void test_read_strings_and_containers(void **state)
{
	uint8_t buf[64];
	size_t n = unhex("d2844e4401020304a0636162638201a2", buf, sizeof(buf));
	struct cbor_rd r;
	const uint8_t *p;
	const char *t;
	size_t len;
	uint64_t u;
	(void)state;

	cbor_rd_init(&r, buf, n);
	assert_int_equal(cbor_get_tag(&r, &u), 0);
	assert_int_equal(u, 18);
	assert_int_equal(cbor_get_array(&r, &u), 0);
	assert_int_equal(u, 4);
	assert_int_equal(cbor_get_bstr(&r, &p, &len), -EBADMSG);   /* 0x4e: bstr 14 > 13 left */
	assert_non_null(r.why);
	assert_non_null(strstr(r.why, "truncated"));

	n = unhex("4401020304a06361626382", buf, sizeof(buf));
	cbor_rd_init(&r, buf, n);
	assert_int_equal(cbor_get_bstr(&r, &p, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(p, "\x01\x02\x03\x04", 4);
	assert_int_equal(cbor_get_map(&r, &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(cbor_get_tstr(&r, &t, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(t, "abc", 3);
	assert_int_equal(cbor_get_array(&r, &u), 0);
	assert_int_equal(u, 2);
	assert_true(cbor_rd_done(&r));
}

/* Each input must be refused by the getter for its type, with a reason
 * containing `why`. */
static const struct {
	const char *hex;
	char want;          /* u int, b bstr, t tstr, s skip */
	const char *why;
} bad[] = {
	/* non-shortest heads, each width */
	{ "1817", 'u', "shortest" },
	{ "190017", 'u', "shortest" },
	{ "1900ff", 'u', "shortest" },
	{ "1a0000ffff", 'u', "shortest" },
	{ "1b00000000ffffffff", 'u', "shortest" },
	{ "3800", 'u', "shortest" },
	{ "5801ff", 'b', "shortest" },
	{ "780161", 't', "shortest" },
	{ "980100", 's', "shortest" },
	{ "b90000", 's', "shortest" },
	/* indefinite lengths */
	{ "5f41ff", 'b', "indefinite" },
	{ "7f6161ff", 't', "indefinite" },
	{ "9fff", 's', "indefinite" },
	{ "bfff", 's', "indefinite" },
	/* reserved additional information */
	{ "1c", 'u', "reserved" },
	{ "3d", 'u', "reserved" },
	{ "5e", 'b', "reserved" },
	/* floats, simple values, break */
	{ "f93c00", 's', "float" },
	{ "fa47c35000", 's', "float" },
	{ "fb3ff199999999999a", 's', "float" },
	{ "f4", 's', "float" },
	{ "f6", 's', "float" },
	{ "ff", 's', "float" },
	/* truncation, and lengths that point past the end */
	{ "", 'u', "truncated" },
	{ "19", 'u', "truncated" },
	{ "1b00000001", 'u', "truncated" },
	{ "4401", 'b', "truncated" },
	{ "5bffffffffffffffff", 'b', "truncated" },
	{ "7a7fffffff61", 't', "truncated" },
	{ "9bffffffffffffffff", 's', "truncated" },
	{ "bb7fffffffffffffff", 's', "truncated" },
	{ "820102", 's', NULL },     /* fine: control case, see below */
	/* invalid UTF-8 */
	{ "62c080", 't', "UTF-8" },          /* overlong NUL */
	{ "63eda080", 't', "UTF-8" },        /* surrogate */
	{ "64f4908080", 't', "UTF-8" },      /* above U+10FFFF */
	{ "6180", 't', "UTF-8" },            /* lone continuation */
	{ "62e282", 't', "UTF-8" },          /* cut short */
	/* wrong types */
	{ "20", 'u', "unsigned integer expected" },
	{ "4100", 't', "text string expected" },
	{ "6161", 'b', "byte string expected" },
	/* integers beyond int64 */
	{ "3b8000000000000000", 'i', "range" },
	{ "1b8000000000000000", 'i', "range" },
};

static void test_read_rejects(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[32];
		size_t n = unhex(bad[i].hex, buf, sizeof(buf)), len;
		struct cbor_rd r;
		const uint8_t *p;
		const char *t;
		uint64_t u;
		int64_t v;
		int ret;

		cbor_rd_init(&r, buf, n);
		switch (bad[i].want) {
		case 'u': ret = cbor_get_uint(&r, &u); break;
		case 'i': ret = cbor_get_int(&r, &v); break;
		case 'b': ret = cbor_get_bstr(&r, &p, &len); break;
		case 't': ret = cbor_get_tstr(&r, &t, &len); break;
		default: ret = cbor_skip(&r, 8); break;
		}
		if (!bad[i].why) {
			assert_int_equal(ret, 0);
			continue;
		}
		if (ret != -EBADMSG || !r.why || !strstr(r.why, bad[i].why))
			fail_msg("input %s: ret %d, why \"%s\", wanted \"%s\"",
				 bad[i].hex, ret, r.why ? r.why : "(none)", bad[i].why);
	}
}

static void test_errors_are_sticky(void **state)
{
	uint8_t buf[] = { 0x18, 0x01, 0x01 };
	struct cbor_rd r;
	uint64_t u;
	(void)state;

	cbor_rd_init(&r, buf, sizeof(buf));
	assert_int_equal(cbor_get_uint(&r, &u), -EBADMSG);
	assert_int_equal(r.why_off, 0);
	r.off = 2;   /* even where a good item sits, the error stands */
	assert_int_equal(cbor_get_uint(&r, &u), -EBADMSG);
	assert_non_null(strstr(r.why, "shortest"));
}

static void test_skip_depth_and_counts(void **state)
{
	uint8_t deep[40], buf[] = { 0x82, 0x01, 0xa1, 0x02, 0x43, 0x01, 0x02, 0x03 };
	struct cbor_rd r;
	(void)state;

	cbor_rd_init(&r, buf, sizeof(buf));
	assert_int_equal(cbor_skip(&r, 4), 0);
	assert_true(cbor_rd_done(&r));
	/* 40 nested one-element arrays: refused beyond the limit */
	memset(deep, 0x81, sizeof(deep));
	deep[sizeof(deep) - 1] = 0x00;
	cbor_rd_init(&r, deep, sizeof(deep));
	assert_int_equal(cbor_skip(&r, 8), -EBADMSG);
	assert_non_null(strstr(r.why, "deeply"));
	cbor_rd_init(&r, deep, sizeof(deep));
	assert_int_equal(cbor_skip(&r, 64), 0);
	/* a map claiming more entries than bytes left */
	uint8_t m[] = { 0xb8, 0x20, 0x00, 0x00 };
	cbor_rd_init(&r, m, sizeof(m));
	assert_int_equal(cbor_skip(&r, 4), -EBADMSG);
	assert_non_null(strstr(r.why, "truncated"));
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(cbor_utf8_valid((const uint8_t *)"eco2-ev-v1", 10));
	assert_true(cbor_utf8_valid((const uint8_t *)"\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x97", 9));
	assert_false(cbor_utf8_valid((const uint8_t *)"\xe0\x80\x80", 3));   /* overlong */
	assert_false(cbor_utf8_valid((const uint8_t *)"\xf8\x88\x80\x80\x80", 5));
	assert_false(cbor_utf8_valid((const uint8_t *)"\xc3", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_ints),
		cmocka_unit_test(test_read_ints),
		cmocka_unit_test(test_write_strings_and_containers),
		cmocka_unit_test(test_write_overflow),
		cmocka_unit_test(test_read_strings_and_containers),
		cmocka_unit_test(test_read_rejects),
		cmocka_unit_test(test_errors_are_sticky),
		cmocka_unit_test(test_skip_depth_and_counts),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
