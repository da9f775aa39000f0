/* Unit tests for can/canlog.c: every frame kind parsed field by field,
 * format -> parse -> format round trips byte for byte, malformed lines
 * rejected with their reason, and the streaming reader reporting
 * "file:line: why" while reading on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "can/canlog.h"

#define TEST_MESSAGES_SIZE 8192
#include "tests/unit/test_util.h"

static int parse(const char *line, struct can_frame_rec *f, const char **why)
{
	return canlog_parse_line(line, strlen(line), f, why);
}

/* ---- valid lines ----------------------------------------------------------- */

struct good {
	const char *line;
	uint64_t t_ns;
	uint32_t id;
	uint8_t flags, len, raw_dlc;
	const char *iface;
	const char *data_hex;   /* expected payload, lowercase hex */
};

static const struct good goods[] = {
	{ "(1700000000.001000) can0 123#DEADBEEF", 1700000000001000000ull, 0x123, 0, 4, 4, "can0", "deadbeef" },
	{ "(1700000000.000000001) vcan0 7FF#", 1700000000000000001ull, 0x7ff, 0, 0, 0, "vcan0", "" },
	{ "(0000000001.500000) can1 1FFFFFFF#0102030405060708", 1500000000ull, 0x1fffffff,
	  CANREC_EXT, 8, 8, "can1", "0102030405060708" },
	/* the 10-digit fast path and the general path agree */
	{ "(01700000000.001000) can0 123#00", 1700000000001000000ull, 0x123, 0, 1, 1, "can0", "00" },
	{ "(9999999999.999999) can0 123#00", 9999999999999999000ull, 0x123, 0, 1, 1, "can0", "00" },
	{ "(0000000000.000000) can0 123#00", 0, 0x123, 0, 1, 1, "can0", "00" },
	{ "(1.000001) c 00000000#00", 1000001000ull, 0, CANREC_EXT, 1, 1, "c", "00" },
	{ "(1.000000) can0 123#1122334455667788_C", 1000000000ull, 0x123, 0, 8, 12, "can0",
	  "1122334455667788" },
	{ "(1.000000) can0 123#R", 1000000000ull, 0x123, CANREC_RTR, 0, 0, "can0", "" },
	{ "(1.000000) can0 123#R4", 1000000000ull, 0x123, CANREC_RTR, 4, 4, "can0", "" },
	{ "(1.000000) can0 12345678#R8_F", 1000000000ull, 0x12345678, CANREC_EXT | CANREC_RTR, 8, 15,
	  "can0", "" },
	{ "(1.000000) can0 123##4DEADBEEF", 1000000000ull, 0x123, CANREC_FD, 4, 4, "can0", "deadbeef" },
	{ "(1.000000) can0 123##5", 1000000000ull, 0x123, CANREC_FD | CANREC_BRS, 0, 0, "can0", "" },
	{ "(1.000000) can0 123##3000102030405060708090A0B", 1000000000ull, 0x123,
	  CANREC_FD | CANREC_BRS | CANREC_ESI, 12, 9, "can0", "000102030405060708090a0b" },
	{ "(1.000000) can0 00000001##0" "00000000000000000000000000000000" "00000000000000000000000000000000"
	  "00000000000000000000000000000000" "000000000000000000000000000000FF", 1000000000ull, 1,
	  CANREC_EXT | CANREC_FD, 64, 15, "can0",
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000ff" },
	{ "(1.000000) can0 20000080#0000000000000000", 1000000000ull, 0x80, CANREC_ERR, 8, 8, "can0",
	  "0000000000000000" },
	/* any number of fraction digits: ns are the first 9, the rest dropped */
	{ "(1700000000.123) can0 123#00", 1700000000123000000ull, 0x123, 0, 1, 1, "can0", "00" },
	{ "(1700000000.0010) can0 123#00", 1700000000001000000ull, 0x123, 0, 1, 1, "can0", "00" },
	{ "(1700000000.0010000) can0 123#00", 1700000000001000000ull, 0x123, 0, 1, 1, "can0", "00" },
	{ "(1700000000.5) can0 123#00", 1700000000500000000ull, 0x123, 0, 1, 1, "can0", "00" },
	{ "(1.12345678912345678901234567890) can0 123#00", 1123456789ull, 0x123, 0, 1, 1, "can0", "00" },
	{ "(1700000000.) can0 123#00", 1700000000000000000ull, 0x123, 0, 1, 1, "can0", "00" },
	{ "(1700000000) can0 123#00", 1700000000000000000ull, 0x123, 0, 1, 1, "can0", "00" },
	/* cansend's '.' separators, lowercase hex, CR LF, candump -x marker */
	{ "(1.000000) can0 1ab#de.ad.be.ef\r\n", 1000000000ull, 0x1ab, 0, 4, 4, "can0", "deadbeef" },
	{ "(1.000000) can0 123#11 R", 1000000000ull, 0x123, 0, 1, 1, "can0", "11" },
	{ "  (1.000000)\tcan0   123#11  \n", 1000000000ull, 0x123, 0, 1, 1, "can0", "11" },
};

static void hex(const uint8_t *d, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		snprintf(out + (size_t)2 * i, 3, "%02x", d[i]);
	out[(size_t)2 * n] = '\0';
}

static void test_parse_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(goods); i++) {
		const struct good *g = &goods[i];
		struct can_frame_rec f;
		const char *why = NULL;
		char h[200];

		int ret = parse(g->line, &f, &why);
		if (ret)
			fail_msg("%s: %s", g->line, why);
		assert_int_equal(f.t_ns, g->t_ns);
		assert_int_equal(f.id, g->id);
		assert_int_equal(f.flags, g->flags);
		assert_int_equal(f.len, g->len);
		assert_int_equal(f.raw_dlc, g->raw_dlc);
		assert_string_equal(f.iface, g->iface);
		hex(f.data, f.flags & CANREC_RTR ? 0 : f.len, h);
		assert_string_equal(h, g->data_hex);
		for (unsigned j = f.len; j < 64; j++)
			assert_int_equal(f.data[j], 0);
	}
}

/* Lines as candump -l writes them come back byte for byte. */
static const char *const canonical[] = {
	"(1700000000.001000) can0 123#DEADBEEF\n",
	"(1700000000.000000001) vcan0 7FF#\n",
	"(0000000001.500000) can1 1FFFFFFF#0102030405060708\n",
	"(0000000001.000000) can0 123#1122334455667788_C\n",
	"(0000000001.000000) can0 123#R\n",
	"(0000000001.000000) can0 123#R4\n",
	"(0000000001.000000) can0 12345678#R8_F\n",
	"(0000000001.000000) can0 123##4DEADBEEF\n",
	"(0000000001.000000) can0 123##5\n",
	"(0000000001.000000) can0 123##7000102030405060708090A0B\n",
	"(0000000001.000000) can0 20000080#0000000000000000\n",
	"(0000000001.000000) can0 00000001##4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000FF\n",
};

static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(canonical); i++) {
		struct can_frame_rec f, g;
		char buf[CANLOG_LINE_MAX];
		const char *why;

		assert_int_equal(parse(canonical[i], &f, &why), 0);
		int n = canlog_format(&f, buf, sizeof(buf));
		assert_int_equal(n, (int)strlen(canonical[i]));
		assert_string_equal(buf, canonical[i]);
		assert_int_equal(parse(buf, &g, &why), 0);
		assert_memory_equal(&f, &g, sizeof(f));
	}
}

/* Any FD flags nibble is read; candump writes 4 | BRS | ESI. */
static void test_fd_nibble(void **state)
{
	static const struct { char in; char out; } t[] = {
		{ '0', '4' }, { '1', '5' }, { '4', '4' }, { '5', '5' }, { 'C', '4' }, { 'F', '7' },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char line[64], buf[CANLOG_LINE_MAX], want[64];
		struct can_frame_rec f;
		snprintf(line, sizeof(line), "(0000000001.000000) can0 123##%c11", t[i].in);
		snprintf(want, sizeof(want), "(0000000001.000000) can0 123##%c11\n", t[i].out);
		assert_int_equal(parse(line, &f, NULL), 0);
		assert_true(canlog_format(&f, buf, sizeof(buf)) > 0);
		assert_string_equal(buf, want);
	}
}

static void test_format_errors(void **state)
{
	struct can_frame_rec f;
	char buf[CANLOG_LINE_MAX];
	(void)state;

	assert_int_equal(parse("(1.000000) can0 123#DEADBEEF", &f, NULL), 0);
	assert_int_equal(canlog_format(&f, buf, 10), -ENOSPC);
	assert_int_equal(canlog_format(&f, buf, 40), (int)strlen("(0000000001.000000) can0 123#DEADBEEF\n"));
	f.id = 0x800;   /* not an 11-bit id */
	assert_int_equal(canlog_format(&f, buf, sizeof(buf)), -EINVAL);
	f.id = 0x123;
	f.len = 9;      /* classic frames hold 8 */
	assert_int_equal(canlog_format(&f, buf, sizeof(buf)), -EINVAL);
}

/* ---- malformed lines --------------------------------------------------------- */

static const struct { const char *line; const char *why; } bads[] = {
	{ "1700000000.001000 can0 123#00", "expected '('" },
	{ "(.001000) can0 123#00", "decimal seconds" },
	{ "(170000000A.001000) can0 123#00", "expected '.'" },
	{ "(1700000000.00100A) can0 123#00", "expected ')' after the timestamp" },
	{ "(1700000000/001000) can0 123#00", "expected '.'" },
	{ "(1700000000.001000)can0 123#00", "blank after the timestamp" },
	{ "(1700000000 ) can0 123#00", "expected '.' and fraction digits, or ')'" },
	{ "(1700000000.-1) can0 123#00", "expected ')' after the timestamp" },
	{ "(1700000000.001000 can0 123#00", "')'" },
	{ "(99999999999999999999.000000) can0 123#00", "out of range" },
	{ "(1.000000)can0 123#00", "blank after the timestamp" },
	{ "(1.000000) ", "blank after the timestamp" },
	{ "(1.000000) abcdefghijklmnopq 123#00", "longer than 15" },
	{ "(1.000000) can0", "CAN id" },
	{ "(1.000000) can0 12#00", "3 or 8 hex digits" },
	{ "(1.000000) can0 1234#00", "3 or 8 hex digits" },
	{ "(1.000000) can0 123456789#00", "3 or 8 hex digits" },
	{ "(1.000000) can0 800#00", "above 0x7FF" },
	{ "(1.000000) can0 80000000#00", "above 0x3FFFFFFF" },
	{ "(1.000000) can0 123#0", "even number" },
	{ "(1.000000) can0 123#001", "even number" },
	{ "(1.000000) can0 123#0011223344556677889", "more than 8" },
	{ "(1.000000) can0 123#001122334455667788", "more than 8" },
	{ "(1.000000) can0 123#00G1", "unexpected text" },
	{ "(1.000000) can0 123#00 extra", "unexpected text" },
	{ "(1.000000) can0 123##", "flags nibble" },
	{ "(1.000000) can0 123##4000102030405060708", "CAN FD length" },
	{ "(1.000000) can0 123#11_C", "raw DLC" },
	{ "(1.000000) can0 123#1122334455667788_8", "raw DLC" },
	{ "(1.000000) can0 123#R4_C", "raw DLC" },
	{ "(1.000000) can0 20000080##400", "cannot be CAN FD" },
	{ "(1.000000) can0 20000080#R", "cannot be remote" },
};

static void test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		struct can_frame_rec f;
		const char *why = NULL;
		int ret = parse(bads[i].line, &f, &why);
		if (ret != -EINVAL)
			fail_msg("accepted: %s", bads[i].line);
		assert_non_null(why);
		if (!strstr(why, bads[i].why))
			fail_msg("%s: reason '%s', expected '%s'", bads[i].line, why, bads[i].why);
	}
	/* over-long FD payload */
	char line[400];
	int n = snprintf(line, sizeof(line), "(1.000000) can0 123##4");
	memset(line + n, '0', 130);
	line[n + 130] = '\0';
	const char *why;
	struct can_frame_rec f;
	assert_int_equal(parse(line, &f, &why), -EINVAL);
	assert_non_null(strstr(why, "more than 64"));
}

/* The payload's digits, 8 at a time on the fast path: random payloads of
 * digits, letters of either case and the characters next to them in ASCII
 * (and a byte above 0x7F; not the '.' separator), against a decode of each
 * pair done here. */
static void test_payload_digits(void **state)
{
	static const char alphabet[] = "0123456789abcdefABCDEF/:@G`gZ\x80";
	uint64_t x = 12345;
	(void)state;

	for (unsigned iter = 0; iter < 200000; iter++) {
		char line[64], data[20];
		unsigned n = 0;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		unsigned len = (unsigned)(x >> 60) + 1;   /* 1..16 characters */
		for (unsigned i = 0; i < len; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			/* mostly hex digits, so that whole runs of 8 are common */
			unsigned k = (unsigned)(x >> 40) % 64;
			data[i] = k < 44 ? alphabet[k % 22] : alphabet[k % (sizeof(alphabet) - 1)];
		}
		data[len] = '\0';
		snprintf(line, sizeof(line), "(1.000000) can0 123#%s", data);

		/* the expected frame: pairs of hex digits up to the first other
		 * character; the line is good only if that is its end */
		uint8_t want[8];
		bool good = true;
		unsigned i = 0;
		for (; i + 1 < len; i += 2) {
			char pair[3] = { data[i], data[i + 1], 0 }, *e;
			if (!strchr("0123456789abcdefABCDEF", pair[0]) || !strchr("0123456789abcdefABCDEF", pair[1]))
				break;
			want[n++] = (uint8_t)strtoul(pair, &e, 16);
		}
		if (i != len)
			good = false;

		struct can_frame_rec f;
		const char *why = NULL;
		int ret = parse(line, &f, &why);
		if (good != (ret == 0))
			fail_msg("%s: %s (%s)", line, ret ? "refused" : "accepted", why ? why : "");
		if (good) {
			assert_int_equal(f.len, n);
			assert_memory_equal(f.data, want, n);
		}
	}
}

static void test_blank_and_comment(void **state)
{
	struct can_frame_rec f;
	(void)state;
	assert_int_equal(parse("", &f, NULL), -ENODATA);
	assert_int_equal(parse("  \t\r\n", &f, NULL), -ENODATA);
	assert_int_equal(parse("# comment", &f, NULL), -ENODATA);
	/* not NUL-terminated: only len bytes count */
	assert_int_equal(canlog_parse_line("(1.000000) can0 123#0011", 22, &f, NULL), 0);
	assert_int_equal(f.len, 1);
}

/* ---- reader ------------------------------------------------------------------- */

static void test_reader(void **state)
{
	char path[] = "/tmp/test_canlog.XXXXXX";
	int fd = mkstemp(path);
	struct can_frame_rec f;
	canlog_reader_t *r;
	(void)state;

	assert_true(fd >= 0);
	FILE *w = fdopen(fd, "w");
	fputs("(1.000000) can0 123#01\n"
	      "garbage line\n"
	      "\n"
	      "# a comment\n"
	      "(2.000000) can0 123#02\n", w);
	for (int i = 0; i < 5000; i++)   /* a line far over 4 KiB */
		fputc('x', w);
	fputs("\n(3.000000) can0 123#0", w);        /* bad: odd digits */
	fputs("\n(4.000000) can0 123#04", w);       /* last line, no newline */
	fclose(w);

	assert_int_equal(canlog_open(&r, path), 0);
	assert_int_equal(canlog_next(r, &f), 1);
	assert_int_equal(f.data[0], 1);
	assert_int_equal(canlog_next(r, &f), 1);
	assert_int_equal(f.data[0], 2);
	assert_int_equal(canlog_next(r, &f), 1);
	assert_int_equal(f.data[0], 4);
	assert_int_equal(f.t_ns, 4000000000ull);
	assert_int_equal(canlog_next(r, &f), 0);
	assert_int_equal(canlog_next(r, &f), 0);
	assert_int_equal(canlog_bad_lines(r), 3);
	assert_int_equal(canlog_lines(r), 8);
	canlog_close(r);

	char want[300];
	snprintf(want, sizeof(want), "%s:2: expected '('", path);
	assert_non_null(strstr(messages, want));
	snprintf(want, sizeof(want), "%s:6: line longer than 4096 bytes", path);
	assert_non_null(strstr(messages, want));
	snprintf(want, sizeof(want), "%s:7: expected an even number", path);
	assert_non_null(strstr(messages, want));
	unlink(path);

	assert_int_equal(canlog_open(&r, "/nonexistent/x.log"), -ENOENT);
	canlog_close(NULL);
}

/* Many lines across the reader's buffer boundary: none lost or split. */
static void test_reader_many(void **state)
{
	char *text = NULL;
	size_t size = 0;
	FILE *w = open_memstream(&text, &size);
	struct can_frame_rec f;
	canlog_reader_t *r;
	(void)state;

	for (unsigned i = 0; i < 20000; i++)
		fprintf(w, "(%u.%06u) can%u %08X#%016X\n", 1000 + i, i % 1000000, i % 3, i, i * 7);
	fclose(w);
	FILE *in = fmemopen(text, size, "r");
	assert_int_equal(canlog_open_file(&r, in, "mem"), 0);
	for (unsigned i = 0; i < 20000; i++) {
		assert_int_equal(canlog_next(r, &f), 1);
		assert_int_equal(f.id, i);
		assert_int_equal(f.t_ns, (1000ull + i) * 1000000000ull + (i % 1000000) * 1000ull);
		assert_int_equal(f.data[7], (i * 7) & 0xff);
	}
	assert_int_equal(canlog_next(r, &f), 0);
	assert_int_equal(canlog_bad_lines(r), 0);
	canlog_close(r);
	fclose(in);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_good, setup),
		cmocka_unit_test_setup(test_round_trip, setup),
		cmocka_unit_test_setup(test_fd_nibble, setup),
		cmocka_unit_test_setup(test_format_errors, setup),
		cmocka_unit_test_setup(test_parse_bad, setup),
		cmocka_unit_test_setup(test_payload_digits, setup),
		cmocka_unit_test_setup(test_blank_and_comment, setup),
		cmocka_unit_test_setup(test_reader, setup),
		cmocka_unit_test_setup(test_reader_many, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
