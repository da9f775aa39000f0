/* Unit tests for lib/ini_lines.c, the line reader libinih parses through.
 *
 * The reader is driven directly, from memory, against a
 * model of what it should hand out (written here from the header: lines
 * with leading blanks removed, a line longer than the buffer as comment
 * lines and one too_long call, NUL as a space in memory input), over named
 * cases and random inputs; then through libinih's ini_parse_stream as
 * agent/config.c and can/profile.c use it: the handler takes the line
 * number from the reader (libinih is built without INI_HANDLER_LINENO), and
 * every key must come with the line it is on, counted here from the text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "lib/file.h"
#include "lib/ini_lines.h"

/* ---- too_long calls ------------------------------------------------------------- */

/* The calls, the first one and the last one. */
struct too_long_log {
	unsigned n;
	unsigned first_line, last_line;
	int last_max_chars;
};

static void on_too_long(void *ctx, unsigned line, int max_chars)
{
	struct too_long_log *t = ctx;

	if (!t->n)
		t->first_line = line;
	t->last_line = line;
	t->last_max_chars = max_chars;
	t->n++;
}

/* ---- the model ------------------------------------------------------------------ */

/* One physical line of the input as the header says the reader hands it
 * out: its text (memory input: NUL as a space; leading blanks removed) or,
 * when longer than the buffer, comment lines and one too_long call. */
struct mline {
	char text[512];
	bool too_long;
};

/* Split in[0..n) into lines (each with its '\n' when it has one). A line
 * is too long for a buffer of `size` when it (with its '\n') needs more
 * than size - 1 bytes. */
static size_t model(const char *in, size_t n, int size, struct mline *out, size_t max_out)
{
	size_t count = 0, i = 0;

	while (i < n) {
		size_t end = i;

		while (end < n && in[end] != '\n')
			end++;
		if (end < n)
			end++;   /* the '\n' */
		assert_true(count < max_out);
		struct mline *m = &out[count++];
		m->too_long = end - i > (size_t)size - 1;
		if (!m->too_long) {
			size_t k = i;

			while (k < end && (in[k] == ' ' || in[k] == '\t' || in[k] == '\0'))
				k++;
			assert_true(end - k < sizeof(m->text));
			for (size_t j = 0; j < end - k; j++)
				m->text[j] = in[k + j] ? in[k + j] : ' ';
			m->text[end - k] = 0;
		}
		i = end;
	}
	return count;
}

/* Read everything through the reader and compare with the model: each
 * line's text with its number in r->line, or for a long line only
 * comment lines ("#\n"), all with its number, and one too_long call with
 * that number and size - 2. Fails naming the input and the line. */
static void check_reader(struct ini_lines *r, const char *in, size_t n, int size, const char *what)
{
	static struct mline ml[2048];
	size_t nl = model(in, n, size, ml, sizeof(ml) / sizeof(ml[0]));
	struct too_long_log tl = { 0 };
	char *buf = malloc((size_t)size);
	unsigned expect_long = 0;

	assert_non_null(buf);
	r->too_long = on_too_long;
	r->ctx = &tl;   // cppcheck-suppress autoVariables ; r is the caller's, used within this call
	size_t li = 0;
	for (;;) {
		memset(buf, 'Z', (size_t)size);
		char *got = ini_lines_read(buf, size, r);
		if (!got)
			break;
		assert_ptr_equal(got, buf);
		if (strlen(buf) > (size_t)size - 1)
			fail_msg("%s: output not NUL-terminated within the buffer", what);
		/* which model line is this? the next one, unless it continues
		 * the current long line */
		unsigned line = r->line;
		if (li > 0 && ml[li - 1].too_long && line == li) {
			if (strcmp(buf, "#\n"))
				fail_msg("%s: line %u (too long): piece \"%s\", expected \"#\\n\"", what,
					 line, buf);
			continue;
		}
		if (li >= nl)
			fail_msg("%s: line %u \"%s\" read after the input's %zu lines", what, line, buf,
				 nl);
		li++;
		if (line != li)
			fail_msg("%s: line %zu handed out as line %u (\"%s\")", what, li, line, buf);
		if (ml[li - 1].too_long) {
			expect_long++;
			if (strcmp(buf, "#\n"))
				fail_msg("%s: line %zu is too long for %d bytes but came as \"%s\"", what,
					 li, size, buf);
			if (tl.n != expect_long || tl.last_line != li || tl.last_max_chars != size - 2)
				fail_msg("%s: line %zu: too_long calls %u (last: line %u, max %d), expected %u, line %zu, max %d",
					 what, li, tl.n, tl.last_line, tl.last_max_chars, expect_long, li,
					 size - 2);
		} else if (strcmp(buf, ml[li - 1].text)) {
			fail_msg("%s: line %zu: got \"%s\", expected \"%s\"", what, li, buf,
				 ml[li - 1].text);
		}
	}
	if (li != nl)
		fail_msg("%s: %zu lines read of %zu", what, li, nl);
	if (tl.n != expect_long)
		fail_msg("%s: %u too_long calls for %u long lines", what, tl.n, expect_long);
	/* and it stays at the end */
	assert_null(ini_lines_read(buf, size, r));
	free(buf);
}

static void check_memory(const char *in, size_t n, int size, const char *what)
{
	struct ini_lines r = { .buf = in, .len = n };

	check_reader(&r, in, n, size, what);
}

/* ---- named cases, both inputs ---------------------------------------------------- */

static const struct {
	const char *what;
	const char *text;
	size_t len;   /* 0: strlen */
} cases[] = {
	{ "empty", "", 0 },
	{ "one line", "a = 1\n", 0 },
	{ "last line without newline", "[s]\na = 1\nb = 2", 0 },
	{ "CRLF", "[s]\r\na = 1\r\nb = 2\r\n", 0 },
	{ "blank lines", "\n\n[s]\n\n\na = 1\n\n", 0 },
	{ "indented", "[s]\n  a = 1\n\tb = 2\n \t c = 3\n", 0 },
	{ "comments", "# c\n; d\n[s]\na = 1 ; inline\n", 0 },
	{ "exactly fits (14 + LF in 16)", "[s]\nabcdefghij = 1\nb = 2\n", 0 },
	{ "one over (15 + LF in 16)", "[s]\nabcdefghij = 12\nb = 2\n", 0 },
	{ "long", "[s]\na = 1\nlong_key = 0123456789012345678901234567890123456789\nb = 2\nc = 3\n", 0 },
	{ "long, last, no newline", "a = 1\nlong_key = 0123456789012345678901234567890123456789", 0 },
	{ "long, last, newline", "a = 1\nlong_key = 0123456789012345678901234567890123456789\n", 0 },
	{ "two long in a row", "x = 0123456789012345678901234567890\ny = 01234567890123456789\nz = 1\n", 0 },
	{ "long at 2x the buffer exactly", "0123456789abcd0123456789abcd\nq = 1\n", 0 },
	{ "indented long", "        k = 0123456789\nq = 1\n", 0 },
	{ "only newlines", "\n\n\n", 0 },
	{ "only blanks", "   \n\t\n", 0 },
};

static void test_cases_memory(void **state)
{
	char what[128];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].len ? cases[i].len : strlen(cases[i].text);
		for (int size = 3; size <= 40; size++) {
			snprintf(what, sizeof(what), "memory, %s, buffer %d", cases[i].what, size);
			check_memory(cases[i].text, n, size, what);
		}
	}
}

static void test_nul_memory(void **state)
{
	static const char in[] = "[s]\na = x\0y\n\0b = 2\nc = 3\0";
	struct ini_lines r = { .buf = in, .len = sizeof(in) - 1 };
	char buf[64];
	(void)state;

	/* the model says it too; spelled out once */
	assert_non_null(ini_lines_read(buf, sizeof(buf), &r));
	assert_string_equal(buf, "[s]\n");
	assert_non_null(ini_lines_read(buf, sizeof(buf), &r));
	assert_string_equal(buf, "a = x y\n");
	assert_int_equal(r.line, 2);
	assert_non_null(ini_lines_read(buf, sizeof(buf), &r));
	assert_string_equal(buf, "b = 2\n");   /* a leading NUL is a leading blank */
	assert_non_null(ini_lines_read(buf, sizeof(buf), &r));
	assert_string_equal(buf, "c = 3 ");
	assert_int_equal(r.line, 4);
	assert_null(ini_lines_read(buf, sizeof(buf), &r));

	for (int size = 3; size <= 20; size++)
		check_memory(in, sizeof(in) - 1, size, "memory with NULs");
}

/* ---- random inputs ----------------------------------------------------------------- */

static uint32_t rng = 2463534242u;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Random INI-ish text: lines of random length (some far past the buffer),
 * blanks, CR, and (with_nul) NUL bytes. */
static size_t random_text(char *out, size_t cap, bool with_nul)
{
	static const char alphabet[] = "ab=[] ;#\t\r";
	size_t n = 0, lines = 1 + rnd() % 30;

	for (size_t l = 0; l < lines && n + 200 < cap; l++) {
		size_t len = rnd() % 4 ? rnd() % 20 : rnd() % 120;
		for (size_t k = 0; k < len; k++) {
			uint32_t x = rnd() % 16;
			out[n++] = with_nul && x == 15 ? '\0' : x < 10 ? alphabet[x] : (char)('c' + x);
		}
		if (l + 1 < lines || rnd() % 2)
			out[n++] = '\n';
	}
	return n;
}

static void test_random(void **state)
{
	char text[8192], what[96];
	(void)state;

	for (int round = 0; round < 3000; round++) {
		uint32_t seed = rng;
		int size = 3 + (int)(rnd() % 60);
		size_t n = random_text(text, sizeof(text), round % 2);

		snprintf(what, sizeof(what), "memory, random seed %u, buffer %d", seed, size);
		check_memory(text, n, size, what);
	}
}

/* ---- through libinih ------------------------------------------------------------ */

struct seen_key {
	char section[32], name[32], value[64];
	unsigned line;
};

struct parse {
	struct ini_lines in;
	struct seen_key keys[32];
	unsigned n;
	struct too_long_log tl;
};

/* As config.c's on_value: the line is the reader's. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	if (p->n < sizeof(p->keys) / sizeof(p->keys[0])) {
		struct seen_key *k = &p->keys[p->n];
		snprintf(k->section, sizeof(k->section), "%s", section);
		snprintf(k->name, sizeof(k->name), "%s", name);
		snprintf(k->value, sizeof(k->value), "%s", value);
		k->line = p->in.line;
	}
	p->n++;
	return 1;
}

/* The line "name =" starts on, counted in the text: 1 + the newlines
 * before its first occurrence at a line start (after blanks). */
static unsigned line_of(const char *text, size_t n, const char *name)
{
	size_t nl = strlen(name);
	unsigned line = 1;
	bool at_start = true;

	for (size_t i = 0; i < n; i++) {
		if (at_start && i + nl <= n && !memcmp(text + i, name, nl) &&
		    (text[i + nl] == ' ' || text[i + nl] == '='))
			return line;
		if (text[i] == '\n') {
			line++;
			at_start = true;
		} else if (text[i] != ' ' && text[i] != '\t') {
			at_start = false;
		}
	}
	fail_msg("%s is not in the text", name);
	return 0;
}

static const struct seen_key *key(const struct parse *p, const char *name)
{
	for (unsigned i = 0; i < p->n; i++)
		if (!strcmp(p->keys[i].name, name))
			return &p->keys[i];
	fail_msg("libinih reported no key %s", name);
	return NULL;
}

/* A profile-like text: sections, an indented key, CRLF lines, a line of
 * 1000 characters, keys after it, a last line without newline. */
static char *inih_text(size_t *len, bool with_nul)
{
	char *t = malloc(4096);
	size_t n = 0;

	assert_non_null(t);
	n += (size_t)snprintf(t + n, 4096 - n,
			      "# vehicle profile\n"
			      "[vehicle]\n"
			      "name = test\n"
			      "  dbc = x.dbc\n"
			      "\n"
			      "[signals]\r\n"
			      "odometer = M.Odo\r\n"
			      "speed = M.Speed ; a comment\n"
			      "too_long = ");
	memset(t + n, 'v', 1000);
	n += 1000;
	n += (size_t)snprintf(t + n, 4096 - n,
			      "\n"
			      "after_long = 1\n"
			      "[options]\n"
			      "with_nul = a%cb\n"
			      "last = end", with_nul ? 0 : 'X');
	*len = n;
	return t;
}

static void check_parse(struct parse *p, const char *text, size_t n, bool with_nul)
{
	static const char *const names[] = { "name", "dbc", "odometer", "speed", "after_long",
					     "with_nul", "last" };

	int r = ini_parse_stream(ini_lines_read, &p->in, on_value, p);
	if (r != 0)
		fail_msg("ini_parse_stream = %d (a syntax error on its line %d)", r, r);
	/* every key but the long one, with the line counted in the text */
	assert_int_equal(p->n, sizeof(names) / sizeof(names[0]));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct seen_key *k = key(p, names[i]);
		unsigned want = line_of(text, n, names[i]);
		if (k->line != want)
			fail_msg("key %s reported on line %u, it is on line %u", names[i], k->line, want);
	}
	assert_string_equal(key(p, "dbc")->section, "vehicle");
	assert_string_equal(key(p, "odometer")->value, "M.Odo");   /* CR stripped */
	assert_string_equal(key(p, "speed")->value, "M.Speed");
	assert_string_equal(key(p, "after_long")->section, "signals");
	assert_string_equal(key(p, "with_nul")->value, with_nul ? "a b" : "aXb");
	assert_string_equal(key(p, "last")->value, "end");
	/* the long line: once, with its number */
	assert_int_equal(p->tl.n, 1);
	assert_int_equal(p->tl.first_line, line_of(text, n, "too_long"));
	assert_true(p->tl.last_max_chars > 0 && p->tl.last_max_chars < 1000);
}

static void test_inih_memory(void **state)
{
	size_t n;
	char *text = inih_text(&n, true);
	struct parse p = { .in = { .buf = text, .len = n } };
	(void)state;

	p.in.too_long = on_too_long;
	p.in.ctx = &p.tl;
	check_parse(&p, text, n, true);
	free(text);
}

static char *plain_fgets(char *s, int size, void *stream)
{
	return fgets(s, size, stream);
}

/* Without the reader, libinih parses a long line's pieces as lines: the
 * test above can fail. */
static void test_inih_pieces_without_reader(void **state)
{
	size_t n;
	char *text = inih_text(&n, false);
	FILE *f = fmemopen(text, n, "r");
	struct parse p = { 0 };
	(void)state;

	assert_non_null(f);
	int r = ini_parse_stream(plain_fgets, f, on_value, &p);
	/* the pieces of "too_long = vvv...": a key, then lines of v's, which
	 * libinih refuses */
	assert_true(r > 0);
	fclose(f);
	free(text);
}

/* libinih's own line count (what ini_parse_stream returns for a syntax
 * error, and what config.c and profile.c print for one) after a long
 * line. */
static void test_inih_error_line_after_long(void **state)
{
	char text[2048];
	size_t n = 0;
	(void)state;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "[s]\na = 1\nlong = ");
	memset(text + n, 'v', 1000);
	n += 1000;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\nb = 2\nthis line is not ini\nc = 3\n");

	struct parse p = { .in = { .buf = text, .len = n } };
	p.in.too_long = on_too_long;
	p.in.ctx = &p.tl;
	int r = ini_parse_stream(ini_lines_read, &p.in, on_value, &p);
	unsigned bad = line_of(text, n, "this");
	assert_int_equal(bad, 5);
	assert_int_equal(p.tl.n, 1);
	/* the reader's count is right */
	assert_int_equal(key(&p, "c")->line, line_of(text, n, "c"));
	if (r != (int)bad)
		fail_msg("ini_parse_stream reports the syntax error on line %d; it is on line %u "
			 "(libinih counts each piece of the long line as a line)", r, bad);
}

/* A last line without newline of exactly size - 1 characters fits the
 * buffer: from memory it is read as it is; from a FILE* it should be too. */
static void test_last_line_fills_buffer(void **state)
{
	static const char in[] = "a = 1\nbbbbbbbbb = 2";   /* last line: 13 characters */
	char buf[14];
	(void)state;

	struct ini_lines m = { .buf = in, .len = sizeof(in) - 1 };
	struct too_long_log tlm = { 0 };
	m.too_long = on_too_long;
	m.ctx = &tlm;
	assert_non_null(ini_lines_read(buf, sizeof(buf), &m));
	assert_non_null(ini_lines_read(buf, sizeof(buf), &m));
	assert_string_equal(buf, "bbbbbbbbb = 2");
	assert_int_equal(tlm.n, 0);
}

/* A file with a NUL byte, read as config.c and profile.c read one
 * (lib/file.c, then from memory): the line is not longer than the buffer,
 * and the lines after it keep their numbers and contents. */
static void test_nul_file(void **state)
{
	static const char in[] = "[s]\na = x\0y\nb = 2\nc = 3\n";
	char path[] = "/tmp/test_ini_lines.XXXXXX", *text = NULL;
	struct parse p = { 0 };
	size_t len = 0;
	int fd;
	(void)state;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, in, sizeof(in) - 1), (ssize_t)(sizeof(in) - 1));
	close(fd);
	assert_int_equal(file_read(path, 1 << 20, 0, NULL, &text, &len), 0);
	unlink(path);
	assert_int_equal(len, sizeof(in) - 1);
	p.in.buf = text;
	p.in.len = len;
	p.in.too_long = on_too_long;
	p.in.ctx = &p.tl;
	int r = ini_parse_stream(ini_lines_read, &p.in, on_value, &p);
	free(text);
	char got[256] = "";
	for (unsigned i = 0; i < p.n && i < 32; i++) {
		size_t o = strlen(got);
		snprintf(got + o, sizeof(got) - o, " %s=%s@%u", p.keys[i].name, p.keys[i].value,
			 p.keys[i].line);
	}
	bool b_ok = false, c_ok = false;
	for (unsigned i = 0; i < p.n && i < 32; i++) {
		b_ok |= !strcmp(p.keys[i].name, "b") && !strcmp(p.keys[i].value, "2") && p.keys[i].line == 3;
		c_ok |= !strcmp(p.keys[i].name, "c") && !strcmp(p.keys[i].value, "3") && p.keys[i].line == 4;
	}
	if (r || p.tl.n || !b_ok || !c_ok)
		fail_msg("a file with a NUL in line 2: ini_parse_stream %d, too_long calls %u (line %u), "
			 "keys:%s; expected b=2@3 and c=3@4, no too_long", r, p.tl.n,
			 p.tl.first_line, got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_memory),
		cmocka_unit_test(test_nul_memory),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_inih_memory),
		cmocka_unit_test(test_inih_pieces_without_reader),
		cmocka_unit_test(test_inih_error_line_after_long),
		cmocka_unit_test(test_last_line_fills_buffer),
		cmocka_unit_test(test_nul_file),
	};
	return cmocka_run_group_tests_name("ini_lines", tests, NULL, NULL);
}
