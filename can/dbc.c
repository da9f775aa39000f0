/* dbc — a recursive-descent DBC parser over a small tokenizer.
 *
 * The grammar followed is the de-facto one of Vector's "DBC File Format
 * Documentation" 1.0.5 as real files use it. The parser builds growable
 * arrays while reading; finish() then fixes every cross pointer (signal ->
 * message, muxed signal -> switch) once nothing moves any more.
 *
 * Recovery: a section parser that meets what the grammar does not allow
 * calls perr(), which only records why and where; the tokenizer then
 * yields end-of-file so the section parser unwinds. parse_top() reports it
 * (an error with DBC_STRICT, else a warning naming what was skipped) and
 * resumes at the next statement start: a word in column 1, or SG_ first on
 * its line (stmt_start()). No token that starts a statement is ever taken
 * as a name or keyword inside another statement, so a broken line costs
 * that statement and never the next one; and a statement takes effect only
 * once read whole (to its ';'), so a skipped one leaves nothing behind.
 * The dialect other tools accept
 * (docs/dbc.md) goes through relax(): a warning, or with DBC_STRICT an
 * error. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/log.h"
#include "can/dbc.h"

#define DBC_MAX_FILE   (64u << 20)   /* a DBC larger than this is not a DBC */
#define DBC_MAX_BITS   512u          /* 64-byte CAN FD payload */

/* ---- builder state ------------------------------------------------------- */

struct sig_x {                       /* what only the parser needs per signal */
	uint64_t mux_n;                  /* N of "mN" */
	bool bare_m;                     /* "m" without N: see parse_sg */
	char *long_name;                 /* BA_ "SystemSignalLongSymbol" */
	char *mul_switch;                /* SG_MUL_VAL_ switch name, or NULL */
	unsigned line, col;              /* of the signal's name */
	unsigned mul_line, mul_col;
	struct dbc_mux_range *ranges;
	unsigned n_ranges, cap_ranges;
	struct dbc_value_desc *vals;
	unsigned n_vals, cap_vals;
};

struct msg_x {
	struct dbc_signal *sigs;
	struct sig_x *x;
	unsigned n, cap;
	bool has_cycle, has_vff;
	int64_t cycle, vff;
	char *vff_label;                 /* VFrameFormat given as a string */
	unsigned line;
};

enum attr_kind { ATTR_NUM, ATTR_STRING, ATTR_ENUM };

struct attr_def {
	char *name;
	enum attr_kind kind;
	char **labels;                   /* ENUM */
	unsigned n_labels;
	bool has_def;
	double def_num;
	char *def_str;
};

struct val_table {
	char *name;
	struct dbc_value_desc *vals;
	unsigned n, cap;
};

struct dbc {
	char *name;
	struct val_table *tables;        /* VAL_TABLE_ */
	unsigned n_tables, cap_tables;
	struct dbc_message *msgs;
	struct msg_x *mx;
	unsigned n_msgs, cap_msgs;
	struct attr_def *defs;
	unsigned n_defs, cap_defs;
	char **strs;                     /* every string the dbc_t owns */
	size_t n_strs, cap_strs;
	uint32_t *hash;                  /* (message index + 1), 0 = empty */
	unsigned hash_mask;
	unsigned n_warn;                 /* warnings logged while loading */
};

/* Warnings printed per load; the rest are counted and summed up at the end. */
#define DBC_MAX_WARNINGS_SHOWN 50

/* ---- tokenizer ----------------------------------------------------------- */

enum tok_kind { T_EOF, T_IDENT, T_NUM, T_STR, T_PUNCT };

struct tok {
	enum tok_kind kind;
	const char *s;                   /* T_STR: between the quotes */
	size_t n;
	unsigned line, col;
	bool bol;                        /* first token of its line, in column 1 */
	bool first;                      /* first token of its line, any column */
	bool digit_word;                 /* T_IDENT that starts with a digit ("2017_5") */
};

struct parser {
	dbc_t *dbc;
	const char *name;
	const char *p, *end;
	unsigned line;
	const char *line_start;
	unsigned prev_end_line;          /* line the token before the current one ended on */
	unsigned prev_end_col;           /* ...and the column just after it */
	unsigned cur_end_line, cur_end_col;   /* the same of the current token */
	struct tok t;                    /* current token */
	bool strict;                     /* DBC_STRICT */
	int err;                         /* fatal: -ENOMEM, or -EINVAL when strict */
	bool bad;                        /* the statement being read is broken... */
	struct tok bad_at;               /* ...at this token (where perr pointed) */
	struct tok bad_cur;              /* the current token then: parsing resumes from it */
	char why[256];                   /* ...for this reason */
	bool lex_error;                  /* the reason is the tokenizer's (an unterminated string) */
};

static bool stopped(const struct parser *ps)
{
	return ps->err || ps->bad;
}

static void pwarn(struct parser *ps, const struct tok *t, const char *fmt, ...) __printf(3, 4);

/* A warning about the file, counted; printed up to DBC_MAX_WARNINGS_SHOWN. */
static void pwarn(struct parser *ps, const struct tok *t, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	if (++ps->dbc->n_warn > DBC_MAX_WARNINGS_SHOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (t)
		log_warn("%s:%u:%u: %s", ps->name, t->line, t->col, msg);
	else
		log_warn("%s: %s", ps->name, msg);
}

static void perr(struct parser *ps, const struct tok *t, const char *fmt, ...) __printf(3, 4);

/* The statement being read is broken at t: remember why; parse_top()
 * reports it and resumes. Only the first reason of a statement counts. */
static void perr(struct parser *ps, const struct tok *t, const char *fmt, ...)
{
	va_list ap;

	if (stopped(ps))
		return;
	va_start(ap, fmt);
	vsnprintf(ps->why, sizeof(ps->why), fmt, ap);
	va_end(ap);
	ps->bad = true;
	ps->bad_at = *t;
	ps->bad_cur = ps->t;
}

static bool relax(struct parser *ps, const struct tok *t, const char *meaning, const char *fmt, ...)
	__printf(4, 5);

/* A construct outside the grammar that other tools accept (what is wrong:
 * fmt): a warning saying the meaning it is taken in, and true; with
 * DBC_STRICT an error (perr) and false. */
static bool relax(struct parser *ps, const struct tok *t, const char *meaning, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (stopped(ps))
		return false;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->strict) {
		perr(ps, t, "%s", msg);
		return false;
	}
	pwarn(ps, t, "%s: %s", msg, meaning);
	return true;
}

static bool is_ident_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_ident_char(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A word that starts with a digit: the run of word characters at p holds
 * a letter or '_' that is not a number's exponent ("1e5", "2E-3" are
 * numbers, "2017_5", "0_COUNTER", "4a7MFC" are words). */
static bool digit_word_at(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && is_digit((unsigned char)*q))
		q++;
	if (q == end || !is_ident_start((unsigned char)*q))
		return false;
	if (*q == 'e' || *q == 'E') {
		const char *r = q + 1;
		if (r < end && (*r == '+' || *r == '-'))
			r++;
		if (r < end && is_digit((unsigned char)*r)) {
			while (r < end && is_digit((unsigned char)*r))
				r++;
			return r < end && is_ident_start((unsigned char)*r);
		}
		/* "1e" or "2E+" then no digit: a word unless a sign follows */
		return !(q + 1 < end && (q[1] == '+' || q[1] == '-'));
	}
	return true;
}

static void next(struct parser *ps)
{
	struct tok *t = &ps->t;
	const char *p = ps->p;

	if (stopped(ps)) {
		t->kind = T_EOF;
		return;
	}
	ps->prev_end_line = ps->cur_end_line;
	ps->prev_end_col = ps->cur_end_col;
	for (;;) {
		while (p < ps->end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v'))
			p++;
		if (p < ps->end && *p == '\n') {
			p++;
			ps->line++;
			ps->line_start = p;
			continue;
		}
		/* "//" comments are not DBC but some tools write them. */
		if (p + 1 < ps->end && p[0] == '/' && p[1] == '/') {
			while (p < ps->end && *p != '\n')
				p++;
			continue;
		}
		break;
	}
	t->line = ps->line;
	t->col = (unsigned)(p - ps->line_start) + 1;
	t->bol = t->col == 1;
	t->first = t->line != ps->prev_end_line;
	t->digit_word = false;
	t->s = p;
	if (p >= ps->end) {
		t->kind = T_EOF;
		t->n = 0;
		ps->p = p;
		return;
	}
	unsigned char c = (unsigned char)*p;
	if (is_ident_start(c) || (is_digit(c) && digit_word_at(p, ps->end))) {
		t->digit_word = is_digit(c);
		while (p < ps->end && is_ident_char((unsigned char)*p))
			p++;
		t->kind = T_IDENT;
	} else if (is_digit(c) || (c == '.' && p + 1 < ps->end && is_digit((unsigned char)p[1]))) {
		while (p < ps->end && is_digit((unsigned char)*p))
			p++;
		if (p < ps->end && *p == '.') {
			p++;
			while (p < ps->end && is_digit((unsigned char)*p))
				p++;
		}
		if (p < ps->end && (*p == 'e' || *p == 'E')) {
			const char *q = p + 1;
			if (q < ps->end && (*q == '+' || *q == '-'))
				q++;
			if (q < ps->end && is_digit((unsigned char)*q)) {
				p = q;
				while (p < ps->end && is_digit((unsigned char)*p))
					p++;
			}
		}
		t->kind = T_NUM;
	} else if (c == '"') {
		p++;
		t->s = p;
		while (p < ps->end && *p != '"') {
			if (*p == '\\' && p + 1 < ps->end)
				p++;
			if (*p == '\n') {
				ps->line++;
				ps->line_start = p + 1;
			}
			p++;
		}
		if (p >= ps->end) {
			t->kind = T_EOF;
			t->n = 0;
			ps->p = p;
			perr(ps, t, "unterminated string: expected '\"'");
			ps->lex_error = true;
			return;
		}
		t->n = (size_t)(p - t->s);
		t->kind = T_STR;
		ps->p = p + 1;
		ps->cur_end_line = ps->line;
		ps->cur_end_col = (unsigned)(ps->p - ps->line_start) + 1;
		return;
	} else {
		p++;
		t->kind = T_PUNCT;
	}
	t->n = (size_t)(p - t->s);
	ps->p = p;
	ps->cur_end_line = ps->line;
	ps->cur_end_col = (unsigned)(p - ps->line_start) + 1;
}

/* A statement starts at a word in column 1, or at SG_ (indented, as
 * signals are) first on its line. */
static bool stmt_start(const struct tok *t)
{
	return t->kind == T_IDENT && t->first &&
	       (t->bol || (t->n == 3 && !memcmp(t->s, "SG_", 3)));
}

static bool tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);
	return (t->kind == T_IDENT || t->kind == T_PUNCT) && t->n == n && !memcmp(t->s, word, n);
}

static bool punct(const struct tok *t, char c)
{
	return t->kind == T_PUNCT && t->s[0] == c;
}

static const char *tok_desc(const struct tok *t, char *buf, size_t size)
{
	switch (t->kind) {
	case T_EOF:
		return "end of file";
	case T_STR:
		return "a string";
	default:
		snprintf(buf, size, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
		return buf;
	}
}

static void expected(struct parser *ps, const char *what)
{
	char b[64];
	perr(ps, &ps->t, "expected %s, found %s", what, tok_desc(&ps->t, b, sizeof(b)));
}

static bool expect_punct(struct parser *ps, char c)
{
	char what[8] = { '\'', c, '\'', 0 };
	if (!punct(&ps->t, c)) {
		expected(ps, what);
		return false;
	}
	next(ps);
	return true;
}

/* A keyword inside a statement (BO_ of "CM_ BO_ ..."): never one that
 * starts the next statement. */
static bool kw(const struct parser *ps, const char *word)
{
	return tok_is(&ps->t, word) && !stmt_start(&ps->t);
}

/* A name (message, signal, table, switch): an identifier that does not
 * start the next statement. Names that start with a digit are outside the
 * grammar; other tools take them as names ("BO_ 1275 2017_5", "SG_
 * 0_COUNTER"), so do we. On success *out is the name and the token after
 * it is current. */
static bool take_name(struct parser *ps, const char *what, struct tok *out)
{
	if (ps->t.kind != T_IDENT || stmt_start(&ps->t)) {
		expected(ps, what);
		return false;
	}
	if (ps->t.digit_word &&
	    !relax(ps, &ps->t, "taken as a name", "name '%.*s' starts with a digit (outside the DBC grammar)",
		   (int)(ps->t.n > 40 ? 40 : ps->t.n), ps->t.s))
		return false;
	*out = ps->t;
	next(ps);
	return true;
}

/* The ';' that ends a statement. A statement that runs into the next one
 * (a new statement's keyword first on its line, or the end of the file)
 * without it is taken as ended there ("VAL_ 320 S 1 \"On\" 0 \"Off\"",
 * "CM_ \"text\"" without ';' in real files). */
static bool end_stmt(struct parser *ps, const char *section)
{
	char b[64];

	if (punct(&ps->t, ';')) {
		next(ps);
		return true;
	}
	if (ps->t.kind == T_EOF || stmt_start(&ps->t)) {
		/* reported where the ';' belongs: after the statement's last token */
		struct tok at = { .line = ps->prev_end_line, .col = ps->prev_end_col };
		return relax(ps, &at, "taken as ended", "expected ';' to end %s, found %s", section,
			     tok_desc(&ps->t, b, sizeof(b)));
	}
	expected(ps, "';'");
	return false;
}

/* ---- string pool ---------------------------------------------------------- */

static char *own(dbc_t *dbc, char *s)
{
	if (!s)
		return NULL;
	if (dbc->n_strs == dbc->cap_strs) {
		size_t cap = dbc->cap_strs ? dbc->cap_strs * 2 : 64;
		char **n = realloc(dbc->strs, cap * sizeof(*n));
		if (!n) {
			free(s);
			return NULL;
		}
		dbc->strs = n;
		dbc->cap_strs = cap;
	}
	dbc->strs[dbc->n_strs++] = s;
	return s;
}

/* Copy of a token's text (strings unescaped), owned by the dbc. */
static char *tok_str(struct parser *ps, const struct tok *t)
{
	char *s = malloc(t->n + 1);
	size_t j = 0;

	if (!s) {
		ps->err = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < t->n; i++) {
		if (t->kind == T_STR && t->s[i] == '\\' && i + 1 < t->n)
			i++;
		s[j++] = t->s[i];
	}
	s[j] = '\0';
	s = own(ps->dbc, s);
	if (!s)
		ps->err = -ENOMEM;
	return s;
}

static bool grow(void *pptr, unsigned *cap, unsigned n, size_t elem)
{
	void **pp = pptr;
	if (n < *cap)
		return true;
	unsigned ncap = *cap ? *cap * 2 : 8;
	void *np = realloc(*pp, (size_t)ncap * elem);
	if (!np)
		return false;
	memset((char *)np + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
	*pp = np;
	*cap = ncap;
	return true;
}

/* The zeroed element n at the end of the array *pptr (n used of *cap),
 * grown as needed; NULL with ps->err = -ENOMEM. The caller counts it. */
static void *push(struct parser *ps, void *pptr, unsigned *cap, unsigned n, size_t elem)
{
	if (!grow(pptr, cap, n, elem)) {
		ps->err = -ENOMEM;
		return NULL;
	}
	return memset((char *)*(void **)pptr + (size_t)n * elem, 0, elem);
}

/* ---- numbers ------------------------------------------------------------- */

/* The decimal value of a number token exactly: digits [. digits]
 * [e|E [sign] digits] -> mant x 10^exp, trailing zeros moved into exp
 * ("0.010" -> 1e-2, "1500" -> 15e2). */
static void decimal_of(const char *s, size_t n, bool neg, struct dbc_decimal *d)
{
	const char *end = s + n;
	uint64_t mant = 0;
	long exp = 0, e10 = 0;
	unsigned sig = 0, zeros = 0;   /* significant digits kept; zeros pending */
	bool frac = false, eneg = false, over = false;

	for (; s < end && (is_digit((unsigned char)*s) || *s == '.'); s++) {
		if (*s == '.') {
			frac = true;
			continue;
		}
		unsigned dig = (unsigned)(*s - '0');
		if (frac)
			exp--;
		if (dig == 0) {
			if (sig)
				zeros++;   /* kept only if a non-zero digit follows */
			continue;
		}
		for (; zeros; zeros--) {
			if (sig >= 18)
				over = true;
			mant *= 10;
			sig++;
		}
		if (sig >= 18)
			over = true;
		mant = mant * 10 + dig;
		sig++;
	}
	/* zeros after the last non-zero digit scale it: 1500 = 15e2 */
	exp += zeros;
	if (s < end && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < end && (*s == '+' || *s == '-'))
			eneg = *s++ == '-';
		for (; s < end && is_digit((unsigned char)*s); s++)
			if (e10 < 100000)
				e10 = e10 * 10 + (*s - '0');
	}
	exp += eneg ? -e10 : e10;
	if (mant == 0)
		exp = 0;
	d->exact = !over && exp >= -99 && exp <= 99;
	d->mant = d->exact ? (neg ? -(int64_t)mant : (int64_t)mant) : 0;
	d->exp = (int16_t)(d->exact ? exp : 0);
}

/* Optional sign, then a number token, as a double (and, when dec is not
 * NULL, as written in decimal). */
static bool parse_number(struct parser *ps, double *v, struct dbc_decimal *dec, const char *what)
{
	bool neg = false;
	char buf[64];

	if (punct(&ps->t, '-') || punct(&ps->t, '+')) {
		neg = punct(&ps->t, '-');
		next(ps);
	}
	if (ps->t.kind != T_NUM || ps->t.n >= sizeof(buf)) {
		expected(ps, what);
		return false;
	}
	memcpy(buf, ps->t.s, ps->t.n);
	buf[ps->t.n] = '\0';
	char *end;
	double d = strtod(buf, &end);
	if (*end || !isfinite(d)) {
		expected(ps, what);
		return false;
	}
	*v = neg ? -d : d;
	if (dec)
		decimal_of(ps->t.s, ps->t.n, neg, dec);
	next(ps);
	return true;
}

static bool parse_double(struct parser *ps, double *v, const char *what)
{
	return parse_number(ps, v, NULL, what);
}

/* An unsigned integer token, exactly (no double rounding). */
static bool parse_u64(struct parser *ps, uint64_t *v, const char *what)
{
	uint64_t x = 0;

	if (punct(&ps->t, '+'))
		next(ps);
	if (ps->t.kind != T_NUM) {
		expected(ps, what);
		return false;
	}
	for (size_t i = 0; i < ps->t.n; i++) {
		unsigned char c = (unsigned char)ps->t.s[i];
		if (!is_digit(c) || x > (UINT64_MAX - 9) / 10) {
			expected(ps, what);
			return false;
		}
		x = x * 10 + (c - '0');
	}
	*v = x;
	next(ps);
	return true;
}

/* A signed integer; values above INT64_MAX keep their bits (VAL_ on uint64). */
static bool parse_i64(struct parser *ps, int64_t *v, const char *what)
{
	bool neg = false;
	uint64_t u;

	if (punct(&ps->t, '-')) {
		neg = true;
		next(ps);
	}
	if (!parse_u64(ps, &u, what))
		return false;
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return true;
}

/* Number attribute values may be written as floats ("58.7") or ints. */
static bool parse_num_or_str(struct parser *ps, double *num, const struct tok **str, struct tok *keep)
{
	*str = NULL;
	if (ps->t.kind == T_STR) {
		*keep = ps->t;
		*str = keep;
		next(ps);
		return true;
	}
	return parse_double(ps, num, "a number or a string");
}

/* ---- lookups during parsing ----------------------------------------------- */

static int find_msg_index(const dbc_t *dbc, uint32_t id, bool ext)
{
	for (unsigned i = 0; i < dbc->n_msgs; i++)
		if (dbc->msgs[i].id == id && dbc->msgs[i].is_ext == ext)
			return (int)i;
	return -1;
}

/* A DBC id: bit 31 marks an extended id. An id above 0x7FF without it
 * can only be a 29-bit id (open DBC collections write them so: "BO_ 13274
 * LKAS_HUD_A"); it is taken as one here, for BO_ and for every section
 * that names it, and parse_bo() warns once. Ids above 0x1FFFFFFF without
 * bit 31 stay what they are (no CAN frame has them). */
static bool parse_msg_id(struct parser *ps, uint32_t *id, bool *ext, bool *taken_ext)
{
	uint64_t v;
	struct tok at = ps->t;
	if (!parse_u64(ps, &v, "a message id"))
		return false;
	if (v > UINT32_MAX) {
		perr(ps, &at, "message id %llu out of range: expected at most 4294967295",
		     (unsigned long long)v);
		return false;
	}
	*ext = v & 0x80000000u;
	*id = (uint32_t)v & 0x7fffffffu;
	bool take = !*ext && *id > 0x7ff && *id <= 0x1fffffff;
	if (take)
		*ext = true;
	if (taken_ext)
		*taken_ext = take;
	return true;
}

static struct msg_x *msg_for_id(struct parser *ps, const struct tok *at, uint32_t id, bool ext, bool quiet)
{
	int i = find_msg_index(ps->dbc, id, ext);
	if (i < 0) {
		if (!quiet)
			log_warn("%s:%u:%u: no message with id %u%s (BO_ must come first); ignored",
				 ps->name, at->line, at->col, id, ext ? " (extended)" : "");
		return NULL;
	}
	return &ps->dbc->mx[i];
}

/* "MSG_ID": the message it names, NULL when there is none (warned about
 * unless quiet). false on a syntax error (reported). */
static bool parse_msg(struct parser *ps, const struct tok *at, bool quiet, struct msg_x **mx)
{
	uint32_t id;
	bool ext;

	if (!parse_msg_id(ps, &id, &ext, NULL))
		return false;
	*mx = msg_for_id(ps, at, id, ext, quiet);
	return true;
}

/* "MSG_ID SIGNAL", the preamble of CM_ SG_, BA_ SG_, VAL_, SIG_VALTYPE_
 * and SG_MUL_VAL_: the message as parse_msg, and the signal's name.
 *
 * A string where the signal's name belongs ("CM_ SG_ 304 \"Seems to be
 * platform-agnostic\";" in open DBC collections) names no signal: the
 * statement is read on and applies to nothing (*sname empty, n == 0), as
 * canmatrix and opendbc's parser ignore it (cantools refuses the file). */
static bool parse_msg_signal(struct parser *ps, const struct tok *at, bool quiet,
			     struct msg_x **mx, struct tok *sname)
{
	if (!parse_msg(ps, at, quiet, mx))
		return false;
	if (ps->t.kind == T_STR) {
		if (!relax(ps, &ps->t, "the statement applies to no signal",
			   "%.*s: expected a signal name after the message id, found a string",
			   (int)at->n, at->s))
			return false;
		*sname = ps->t;
		sname->n = 0;
		return true;
	}
	return take_name(ps, "a signal name", sname);
}

static int sig_index(const struct msg_x *mx, const struct tok *t)
{
	if (t->n == 0)
		return -1;
	for (unsigned i = 0; i < mx->n; i++)
		if (strlen(mx->sigs[i].name) == t->n && !memcmp(mx->sigs[i].name, t->s, t->n))
			return (int)i;
	return -1;
}

/* The index in mx of the signal named by t, or -1. A name that mx (a
 * message that exists) does not have is warned about as "<section> for
 * unknown signal" and ignored; with mx NULL the message was already
 * reported. */
static int sig_for_section(struct parser *ps, const struct msg_x *mx, const struct tok *t,
			   const char *section)
{
	int i = mx ? sig_index(mx, t) : -1;

	if (mx && i < 0 && t->n)
		log_warn("%s:%u:%u: %s for unknown signal %.*s; ignored",
			 ps->name, t->line, t->col, section, (int)t->n, t->s);
	return i;
}

/* ---- sections -------------------------------------------------------------- */

/* The rest of a statement whose content is not needed: up to its ';', or
 * up to the next statement when the ';' is missing. */
static void skip_rest(struct parser *ps, const char *section)
{
	while (ps->t.kind != T_EOF && !punct(&ps->t, ';') && !stmt_start(&ps->t))
		next(ps);
	end_stmt(ps, section);
}

/* An unknown section: skip to the next statement. */
static void skip_to_stmt(struct parser *ps)
{
	do
		next(ps);
	while (ps->t.kind != T_EOF && !stmt_start(&ps->t));
}

/* Whether the token after the current one is on the current one's line
 * (the tokenizer's state is put back). */
static bool next_on_same_line(struct parser *ps)
{
	struct parser save = *ps;
	unsigned line = ps->t.line;

	next(ps);
	bool same = ps->t.kind != T_EOF && ps->t.line == line;
	*ps = save;
	return same;
}

/* NS_ : then the new-symbol list, one name a line, normally indented. Some
 * writers put the names in column 1, so the list ends at the first name
 * followed by more on its line (the statement after the list: "BS_:",
 * "BU_: ...", "BO_ 1 ...") or at a section that can follow it. */
static void parse_ns(struct parser *ps)
{
	next(ps);
	if (!expect_punct(ps, ':'))
		return;
	while (ps->t.kind == T_IDENT) {
		if (ps->t.bol && (tok_is(&ps->t, "BS_") || tok_is(&ps->t, "BU_") ||
				  tok_is(&ps->t, "BO_") || tok_is(&ps->t, "VAL_TABLE_")))
			break;
		if (ps->t.first && next_on_same_line(ps))
			break;
		next(ps);
	}
}

/* BO_ id name : size transmitter */
static void parse_bo(struct parser *ps)
{
	dbc_t *dbc = ps->dbc;
	struct tok at = ps->t, name;
	uint32_t id;
	bool ext, taken_ext;
	uint64_t size;

	next(ps);
	if (!parse_msg_id(ps, &id, &ext, &taken_ext))
		return;
	if (!take_name(ps, "a message name", &name))
		return;
	if (!expect_punct(ps, ':'))
		return;
	unsigned size_line = ps->t.line;
	if (!parse_u64(ps, &size, "the message size in bytes"))
		return;
	if (size > 64) {
		perr(ps, &at, "message size %llu: expected 0..64 bytes", (unsigned long long)size);
		return;
	}
	/* Some writers leave the transmitter out; it then ends the line. */
	struct tok tx = ps->t;
	bool has_tx = tx.kind == T_IDENT && tx.line == size_line;
	if (has_tx)
		next(ps);
	else if (tx.line == size_line && tx.kind != T_EOF) {
		expected(ps, "the transmitter node name");
		return;
	}

	if (!grow(&dbc->msgs, &dbc->cap_msgs, dbc->n_msgs, sizeof(*dbc->msgs))) {
		ps->err = -ENOMEM;
		return;
	}
	unsigned cap = dbc->cap_msgs;
	dbc->cap_msgs = dbc->n_msgs;   /* same capacity for the side array */
	if (!grow(&dbc->mx, &dbc->cap_msgs, dbc->n_msgs, sizeof(*dbc->mx))) {
		dbc->cap_msgs = cap;
		ps->err = -ENOMEM;
		return;
	}
	dbc->cap_msgs = cap;
	struct dbc_message *m = &dbc->msgs[dbc->n_msgs];
	struct msg_x *mx = &dbc->mx[dbc->n_msgs];
	memset(m, 0, sizeof(*m));
	memset(mx, 0, sizeof(*mx));
	m->id = id;
	m->is_ext = ext;
	m->size = (uint8_t)size;
	m->name = tok_str(ps, &name);
	m->transmitter = (!has_tx || (tx.n == 11 && !memcmp(tx.s, "Vector__XXX", 11))) ? "" : tok_str(ps, &tx);
	mx->line = at.line;
	if (!m->name || !m->transmitter)
		return;
	if (!ext && id > 0x7ff) {
		/* ids above 0x1FFFFFFF without bit 31: neither 11 nor 29 bits */
		pwarn(ps, &at, "message %s: id 0x%x is not an 11-bit id; kept, never received", m->name, id);
	} else if (taken_ext) {
		pwarn(ps, &at, "message %s: id %u (0x%X) is above 0x7FF without bit 31 (0x80000000, "
		      "extended) set: taken as the 29-bit id 0x%X", m->name, id, id, id);
	} else if (ext && id > 0x1fffffff) {
		/* Vector's pseudo-message for unplaced signals is 0xC0000000 */
		if (strcmp(m->name, "VECTOR__INDEPENDENT_SIG_MSG"))
			pwarn(ps, &at, "message %s: id 0x%x is not a 29-bit id; kept, never received",
			      m->name, id);
	}
	if (!(ext ? id > 0x1fffffff : id > 0x7ff) && find_msg_index(dbc, id, ext) >= 0)
		pwarn(ps, &at, "message %s: id %u defined twice; the first definition is used", m->name, id);
	dbc->n_msgs++;
}

/* Bytes a signal needs: one past the byte of its last bit. */
static unsigned sig_bytes(unsigned start, unsigned length, bool intel)
{
	if (intel)
		return (start + length - 1) / 8 + 1;
	unsigned msb = start / 8 * 8 + 7 - start % 8;
	return (msb + length - 1) / 8 + 1;
}

/* SG_ name [M|mN|mNM] : start|length@order sign (factor,offset) [min|max] "unit" receivers */
static void parse_sg(struct parser *ps)
{
	dbc_t *dbc = ps->dbc;
	struct tok at = ps->t, name;
	struct dbc_signal s;
	struct sig_x x;
	uint64_t start, length, order;
	double factor, offset, mn, mx_;

	memset(&s, 0, sizeof(s));
	memset(&x, 0, sizeof(x));
	next(ps);
	if (dbc->n_msgs == 0) {
		perr(ps, &at, "expected BO_ before SG_");
		return;
	}
	struct msg_x *mx = &dbc->mx[dbc->n_msgs - 1];
	if (!take_name(ps, "a signal name", &name))
		return;
	if (ps->t.kind == T_IDENT) {
		/* M, mN or mNM */
		const char *p = ps->t.s, *e = ps->t.s + ps->t.n;
		if (ps->t.n == 1 && *p == 'M') {
			s.mux_kind = DBC_MUX_SWITCH;
		} else if (ps->t.n == 1 && *p == 'm') {
			/* "m" without its switch value: cantools and opendbc's
			 * parser take the signal as not multiplexed unless
			 * SG_MUL_VAL_ gives its switch and values, canmatrix drops
			 * it; we follow the first two (finish() applies
			 * SG_MUL_VAL_). */
			if (!relax(ps, &ps->t, "taken as not multiplexed unless SG_MUL_VAL_ gives its switch",
				   "signal %.*s: multiplexer indicator 'm' without a switch value",
				   (int)name.n, name.s))
				return;
			x.bare_m = true;
		} else if (*p == 'm' && ps->t.n >= 2 && is_digit((unsigned char)p[1])) {
			uint64_t n = 0;
			p++;
			while (p < e && is_digit((unsigned char)*p) && n < UINT64_MAX / 10 - 9)
				n = n * 10 + (uint64_t)(*p++ - '0');
			s.mux_kind = DBC_MUX_MUXED;
			if (p < e && *p == 'M') {
				s.mux_kind = DBC_MUX_MUXED_SWITCH;
				p++;
			}
			if (p != e) {
				expected(ps, "a multiplexer indicator M, mN or mNM");
				return;
			}
			x.mux_n = n;
		} else {
			expected(ps, "a multiplexer indicator M, mN or mNM, or ':'");
			return;
		}
		next(ps);
	}
	if (!expect_punct(ps, ':'))
		return;
	struct tok at_start = ps->t;
	if (!parse_u64(ps, &start, "the start bit") || !expect_punct(ps, '|') ||
	    !parse_u64(ps, &length, "the length in bits") || !expect_punct(ps, '@'))
		return;
	/* "@1+" lexes as NUM '1' then '+' */
	if (ps->t.kind != T_NUM || ps->t.n != 1 || (ps->t.s[0] != '0' && ps->t.s[0] != '1')) {
		expected(ps, "byte order 0 (Motorola) or 1 (Intel) after '@'");
		return;
	}
	order = (uint64_t)(ps->t.s[0] - '0');
	next(ps);
	if (!punct(&ps->t, '+') && !punct(&ps->t, '-')) {
		expected(ps, "'+' (unsigned) or '-' (signed)");
		return;
	}
	s.is_signed = punct(&ps->t, '-');
	next(ps);
	if (!expect_punct(ps, '(') || !parse_number(ps, &factor, &s.factor_dec, "the factor") ||
	    !expect_punct(ps, ',') || !parse_number(ps, &offset, &s.offset_dec, "the offset") ||
	    !expect_punct(ps, ')') || !expect_punct(ps, '[') ||
	    !parse_double(ps, &mn, "the minimum") || !expect_punct(ps, '|') ||
	    !parse_double(ps, &mx_, "the maximum") || !expect_punct(ps, ']'))
		return;
	if (ps->t.kind != T_STR) {
		expected(ps, "the unit string");
		return;
	}
	struct tok unit = ps->t;
	next(ps);
	/* receivers: node {, node}, on the unit's line (the next SG_ is indented) */
	unsigned last_line = unit.line;
	while (ps->t.kind == T_IDENT && ps->t.line == last_line && !stmt_start(&ps->t)) {
		next(ps);
		if (punct(&ps->t, ',')) {
			next(ps);
			last_line = ps->t.line;
		}
	}
	if (stopped(ps))
		return;

	if (length < 1 || length > 64) {
		perr(ps, &at_start, "signal length %llu: expected 1..64 bits", (unsigned long long)length);
		return;
	}
	if (start >= DBC_MAX_BITS) {
		perr(ps, &at_start, "start bit %llu: expected 0..511", (unsigned long long)start);
		return;
	}
	if (order == 1) {
		if (start + length > DBC_MAX_BITS) {
			perr(ps, &at_start, "Intel signal %llu|%llu runs past byte 63",
			     (unsigned long long)start, (unsigned long long)length);
			return;
		}
	} else {
		uint64_t msb = start / 8 * 8 + 7 - start % 8;
		if (msb + length > DBC_MAX_BITS) {
			perr(ps, &at_start, "Motorola signal %llu|%llu runs past byte 63",
			     (unsigned long long)start, (unsigned long long)length);
			return;
		}
	}
	if (sig_index(mx, &name) >= 0) {
		perr(ps, &name, "signal %.*s defined twice in message %s", (int)name.n, name.s,
		     dbc->msgs[dbc->n_msgs - 1].name);
		return;
	}
	const struct dbc_message *m = &dbc->msgs[dbc->n_msgs - 1];
	unsigned need = sig_bytes((unsigned)start, (unsigned)length, order == 1);
	if (need > m->size && strcmp(m->name, "VECTOR__INDEPENDENT_SIG_MSG"))
		pwarn(ps, &name, "signal %.*s (%llu|%llu@%llu) reaches byte %u of message %s, which has %u: "
		      "decoded only from frames of at least %u bytes", (int)name.n, name.s,
		      (unsigned long long)start, (unsigned long long)length, (unsigned long long)order,
		      need - 1, m->name, m->size, need);
	s.name = tok_str(ps, &name);
	s.unit = tok_str(ps, &unit);
	if (!s.name || !s.unit)
		return;
	x.line = name.line;
	x.col = name.col;
	s.start_bit = (uint16_t)start;
	s.length = (uint8_t)length;
	s.byte_order = order == 1 ? DBC_INTEL : DBC_MOTOROLA;
	s.value_type = DBC_VT_INT;
	s.factor = factor;
	s.offset = offset;
	s.min = mn;
	s.max = mx_;
	if (!grow(&mx->sigs, &mx->cap, mx->n, sizeof(*mx->sigs))) {
		ps->err = -ENOMEM;
		return;
	}
	unsigned cap = mx->cap;
	mx->cap = mx->n;
	if (!grow(&mx->x, &mx->cap, mx->n, sizeof(*mx->x))) {
		mx->cap = cap;
		ps->err = -ENOMEM;
		return;
	}
	mx->cap = cap;
	mx->sigs[mx->n] = s;
	mx->x[mx->n] = x;
	mx->n++;
}

/* CM_ [BU_ node | BO_ id | SG_ id sig | EV_ var] "text" ; */
static void parse_cm(struct parser *ps)
{
	struct tok at = ps->t, sname, name;
	const char **target = NULL;
	struct msg_x *mx;

	next(ps);
	if (kw(ps, "SG_")) {
		next(ps);
		if (!parse_msg_signal(ps, &at, false, &mx, &sname))
			return;
		int i = sig_for_section(ps, mx, &sname, "CM_");
		if (i >= 0)
			target = &mx->sigs[i].comment;
	} else if (kw(ps, "BO_")) {
		next(ps);
		if (!parse_msg(ps, &at, false, &mx))
			return;
		if (mx)
			target = &ps->dbc->msgs[mx - ps->dbc->mx].comment;
	} else if (kw(ps, "BU_") || kw(ps, "EV_")) {
		next(ps);
		if (!take_name(ps, "a name", &name))
			return;
	} else if (ps->t.kind == T_NUM) {
		/* "CM_ 145 \"text\";": an id without BO_ or SG_. canmatrix and
		 * opendbc's parser ignore the line, cantools refuses the file;
		 * the comment is read and applies to nothing. */
		if (!relax(ps, &ps->t, "the comment applies to nothing",
			   "CM_ %.*s: expected BO_, SG_, BU_ or EV_ before the id",
			   (int)(ps->t.n > 20 ? 20 : ps->t.n), ps->t.s))
			return;
		next(ps);
	}
	if (ps->t.kind != T_STR) {
		expected(ps, "the comment string");
		return;
	}
	struct tok text = ps->t;
	next(ps);
	if (end_stmt(ps, "CM_") && target)
		*target = tok_str(ps, &text);
}

static struct attr_def *find_def(dbc_t *dbc, const struct tok *name)
{
	for (unsigned i = 0; i < dbc->n_defs; i++)
		if (strlen(dbc->defs[i].name) == name->n && !memcmp(dbc->defs[i].name, name->s, name->n))
			return &dbc->defs[i];
	return NULL;
}

/* BA_DEF_ [BU_|BO_|SG_|EV_] "name" INT a b | HEX a b | FLOAT a b | STRING | ENUM "x",... ;
 * Like every statement, it takes effect only once read whole. */
static void parse_ba_def(struct parser *ps)
{
	dbc_t *dbc = ps->dbc;
	struct attr_def def;
	unsigned cap = 0;

	memset(&def, 0, sizeof(def));
	next(ps);
	if (kw(ps, "BU_") || kw(ps, "BO_") || kw(ps, "SG_") || kw(ps, "EV_"))
		next(ps);
	if (ps->t.kind != T_STR) {
		expected(ps, "the attribute name string");
		return;
	}
	struct tok name = ps->t;
	next(ps);
	if (kw(ps, "INT") || kw(ps, "HEX") || kw(ps, "FLOAT")) {
		double a, b;
		def.kind = ATTR_NUM;
		next(ps);
		if (!parse_double(ps, &a, "the minimum") || !parse_double(ps, &b, "the maximum"))
			goto out;
	} else if (kw(ps, "STRING")) {
		def.kind = ATTR_STRING;
		next(ps);
	} else if (kw(ps, "ENUM")) {
		def.kind = ATTR_ENUM;
		next(ps);
		while (ps->t.kind == T_STR) {
			char **label = push(ps, &def.labels, &cap, def.n_labels, sizeof(*def.labels));
			if (!label)
				goto out;
			*label = tok_str(ps, &ps->t);
			def.n_labels++;
			next(ps);
			if (!punct(&ps->t, ','))
				break;
			next(ps);
		}
	} else {
		expected(ps, "INT, HEX, FLOAT, STRING or ENUM");
		goto out;
	}
	if (!end_stmt(ps, "BA_DEF_"))
		goto out;
	struct attr_def *d = push(ps, &dbc->defs, &dbc->cap_defs, dbc->n_defs, sizeof(*dbc->defs));
	if (!d)
		goto out;
	def.name = tok_str(ps, &name);
	if (!def.name)
		goto out;
	*d = def;
	dbc->n_defs++;
	return;
out:
	free(def.labels);   /* the labels' text is the pool's */
}

/* BA_DEF_DEF_ "name" value ; */
static void parse_ba_def_def(struct parser *ps)
{
	double num = 0;
	const struct tok *str;
	struct tok keep;

	next(ps);
	if (ps->t.kind != T_STR) {
		expected(ps, "the attribute name string");
		return;
	}
	struct tok name = ps->t;
	next(ps);
	if (!parse_num_or_str(ps, &num, &str, &keep) || !end_stmt(ps, "BA_DEF_DEF_"))
		return;
	struct attr_def *d = find_def(ps->dbc, &name);
	if (d) {
		d->has_def = true;
		d->def_num = num;
		d->def_str = str ? tok_str(ps, str) : NULL;
	}
}

static bool tok_eq(const struct tok *t, const char *s)
{
	size_t n = strlen(s);
	return t->n == n && !memcmp(t->s, s, n);
}

/* BA_ "name" [BU_ node | BO_ id | SG_ id sig | EV_ var] value ; */
static void parse_ba(struct parser *ps)
{
	struct tok at = ps->t, sname, oname;
	struct msg_x *mx = NULL, *smx = NULL;
	double num = 0;
	const struct tok *str;
	struct tok keep;

	next(ps);
	if (ps->t.kind != T_STR) {
		expected(ps, "the attribute name string");
		return;
	}
	struct tok name = ps->t;
	next(ps);
	if (kw(ps, "SG_")) {
		next(ps);
		if (!parse_msg_signal(ps, &at, true, &smx, &sname))
			return;
	} else if (kw(ps, "BO_")) {
		next(ps);
		if (!parse_msg(ps, &at, true, &mx))
			return;
	} else if (kw(ps, "BU_") || kw(ps, "EV_")) {
		next(ps);
		if (!take_name(ps, "a name", &oname))
			return;
	}
	if (!parse_num_or_str(ps, &num, &str, &keep) || !end_stmt(ps, "BA_"))
		return;
	if (smx && str && tok_eq(&name, "SystemSignalLongSymbol")) {
		/* the signal's full name where SG_ holds a 32-character cut */
		int i = sig_index(smx, &sname);
		if (i >= 0 && str->n > 0) {
			smx->x[i].long_name = tok_str(ps, str);
			if (!smx->x[i].long_name)
				return;
		}
	} else if (mx && tok_eq(&name, "GenMsgCycleTime")) {
		if (!str && num >= 0 && num <= UINT32_MAX) {
			mx->has_cycle = true;
			mx->cycle = (int64_t)num;
		}
	} else if (mx && tok_eq(&name, "VFrameFormat")) {
		mx->has_vff = true;
		if (str)
			mx->vff_label = tok_str(ps, str);
		else if (num >= 0 && num <= UINT32_MAX)
			mx->vff = (int64_t)num;
		else
			mx->vff = -1;   /* no enum index, so no label: not FD */
	}
}

/* {num "label"} up to the closing ';' (left for the caller), shared by
 * VAL_ and VAL_TABLE_; a list that runs into the next statement ends
 * there. The pairs are appended to *vals (*n used of *cap; the caller
 * frees it). false on an error (reported). */
static bool parse_value_descs(struct parser *ps, struct dbc_value_desc **vals, unsigned *n,
			      unsigned *cap)
{
	while (!punct(&ps->t, ';') && ps->t.kind != T_EOF && !stmt_start(&ps->t) && !stopped(ps)) {
		int64_t v;
		if (!parse_i64(ps, &v, "a value or ';'"))
			return false;
		if (ps->t.kind != T_STR) {
			expected(ps, "the value's label string");
			return false;
		}
		struct dbc_value_desc *vd = push(ps, vals, cap, *n, sizeof(**vals));
		if (!vd)
			return false;
		vd->value = v;
		vd->label = tok_str(ps, &ps->t);
		(*n)++;
		next(ps);
	}
	return !stopped(ps);
}

/* VAL_ id sig {num "label"} ;   or   VAL_ envvar {...} ; */
static void parse_val(struct parser *ps)
{
	struct tok at = ps->t, sname;
	struct dbc_value_desc *vals = NULL;
	unsigned n = 0, cap = 0;
	struct msg_x *mx;

	next(ps);
	if (ps->t.kind == T_IDENT && !stmt_start(&ps->t)) {   /* environment variable */
		skip_rest(ps, "VAL_");
		return;
	}
	if (!parse_msg_signal(ps, &at, false, &mx, &sname))
		return;
	int i = sig_for_section(ps, mx, &sname, "VAL_");
	if (!parse_value_descs(ps, &vals, &n, &cap) || !end_stmt(ps, "VAL_") || i < 0)
		goto out;
	struct sig_x *x = &mx->x[i];
	for (unsigned k = 0; k < n; k++) {
		struct dbc_value_desc *vd = push(ps, &x->vals, &x->cap_vals, x->n_vals, sizeof(*vd));
		if (!vd)
			goto out;
		*vd = vals[k];
		x->n_vals++;
	}
out:
	free(vals);
}

/* VAL_TABLE_ name {num "label"} ; */
static void parse_val_table(struct parser *ps)
{
	dbc_t *dbc = ps->dbc;
	struct val_table t;
	struct tok name;

	memset(&t, 0, sizeof(t));
	next(ps);
	if (!take_name(ps, "the value table name", &name))
		return;
	if (!parse_value_descs(ps, &t.vals, &t.n, &t.cap) || !end_stmt(ps, "VAL_TABLE_"))
		goto out;
	struct val_table *vt = push(ps, &dbc->tables, &dbc->cap_tables, dbc->n_tables,
				    sizeof(*dbc->tables));
	if (!vt)
		goto out;
	t.name = tok_str(ps, &name);
	if (!t.name)
		goto out;
	*vt = t;
	dbc->n_tables++;
	return;
out:
	free(t.vals);
}

/* SIG_VALTYPE_ id sig : 1|2 ; */
static void parse_sig_valtype(struct parser *ps)
{
	struct tok at = ps->t, sname;
	struct msg_x *mx;
	uint64_t vt;

	next(ps);
	if (!parse_msg_signal(ps, &at, false, &mx, &sname))
		return;
	if (punct(&ps->t, ':'))
		next(ps);
	struct tok vt_at = ps->t;
	if (!parse_u64(ps, &vt, "value type 0 (integer), 1 (float) or 2 (double)"))
		return;
	if (vt > 2) {
		perr(ps, &vt_at, "value type %llu: expected 0 (integer), 1 (float) or 2 (double)",
		     (unsigned long long)vt);
		return;
	}
	int i = sig_for_section(ps, mx, &sname, "SIG_VALTYPE_");
	struct dbc_signal *s = i >= 0 ? &mx->sigs[i] : NULL;
	if (s && ((vt == 1 && s->length != 32) || (vt == 2 && s->length != 64))) {
		perr(ps, &vt_at, "signal %s is %u bits: expected %u bits for value type %llu",
		     s->name, s->length, vt == 1 ? 32 : 64, (unsigned long long)vt);
		return;
	}
	if (end_stmt(ps, "SIG_VALTYPE_") && s)
		s->value_type = vt == 0 ? DBC_VT_INT : vt == 1 ? DBC_VT_FLOAT : DBC_VT_DOUBLE;
}

/* SG_MUL_VAL_ id sig switch lo-hi {, lo-hi} ; -- applied only once read
 * whole, so that a broken one leaves its signal as it was. */
static void parse_sg_mul_val(struct parser *ps)
{
	struct tok at = ps->t, sname, swname;
	struct dbc_mux_range *ranges = NULL;
	unsigned n = 0, cap = 0;
	struct msg_x *mx;

	next(ps);
	if (!parse_msg_signal(ps, &at, false, &mx, &sname) ||
	    !take_name(ps, "the multiplexer switch name", &swname))
		return;
	for (;;) {
		uint64_t lo, hi;
		struct tok rat = ps->t;
		if (!parse_u64(ps, &lo, "a range lo-hi") || !expect_punct(ps, '-') ||
		    !parse_u64(ps, &hi, "the range's upper bound"))
			goto out;
		if (hi < lo) {
			perr(ps, &rat, "range %llu-%llu: expected lo <= hi",
			     (unsigned long long)lo, (unsigned long long)hi);
			goto out;
		}
		struct dbc_mux_range *r = push(ps, &ranges, &cap, n, sizeof(*ranges));
		if (!r)
			goto out;
		r->lo = lo;
		r->hi = hi;
		n++;
		if (!punct(&ps->t, ','))
			break;
		next(ps);
	}
	if (!end_stmt(ps, "SG_MUL_VAL_"))
		goto out;
	int i = sig_for_section(ps, mx, &sname, "SG_MUL_VAL_");
	struct sig_x *x = i >= 0 ? &mx->x[i] : NULL;
	if (!x)
		goto out;
	if (x->mul_switch && (strlen(x->mul_switch) != swname.n ||
			      memcmp(x->mul_switch, swname.s, swname.n))) {
		perr(ps, &swname, "signal %.*s already multiplexed by %s: expected one switch per signal",
		     (int)sname.n, sname.s, x->mul_switch);
		goto out;
	}
	x->mul_switch = tok_str(ps, &swname);
	x->mul_line = swname.line;
	x->mul_col = swname.col;
	for (unsigned k = 0; k < n; k++) {
		struct dbc_mux_range *r = push(ps, &x->ranges, &x->cap_ranges, x->n_ranges, sizeof(*x->ranges));
		if (!r)
			goto out;
		*r = ranges[k];
		x->n_ranges++;
	}
out:
	free(ranges);
}

static const char *const skipped_sections[] = {
	"BO_TX_BU_", "EV_", "ENVVAR_DATA_", "SGTYPE_", "SGTYPE_VAL_", "SIG_GROUP_",
	"SIG_TYPE_REF_", "SIGTYPE_VALTYPE_", "BA_DEF_SGTYPE_", "BA_SGTYPE_",
	"BA_DEF_REL_", "BA_REL_", "BA_DEF_DEF_REL_", "BU_SG_REL_", "BU_EV_REL_",
	"BU_BO_REL_", "CAT_DEF_", "CAT_", "FILTER", "EV_DATA_",
	"NS_DESC_",
};

/* After a broken statement (ps->bad): report it and resume at the next
 * statement start, or with DBC_STRICT stop. `start` is the statement's
 * first token. */
static void recover(struct parser *ps, const struct tok *start)
{
	const struct tok at = ps->bad_at;
	char what[64];

	if (ps->strict) {
		log_err("%s:%u:%u: %s", ps->name, at.line, at.col, ps->why);
		ps->err = -EINVAL;
		return;
	}
	ps->bad = false;
	ps->t = ps->bad_cur;   /* the tokenizer stopped right after it */
	if (ps->t.kind != T_EOF && (ps->t.s == start->s || !stmt_start(&ps->t)))
		skip_to_stmt(ps);
	if (ps->err)
		return;
	if (ps->lex_error) {
		/* the tokenizer's own error: an unterminated string */
		pwarn(ps, &at, "%s; the rest of the file skipped", ps->why);
		return;
	}
	if (start->kind == T_IDENT)
		snprintf(what, sizeof(what), "the %.*s statement", (int)(start->n > 40 ? 40 : start->n),
			 start->s);
	else
		tok_desc(start, what, sizeof(what));
	unsigned last = ps->prev_end_line;
	if (last <= start->line)
		pwarn(ps, &at, "%s; skipped %s (line %u)", ps->why, what, start->line);
	else
		pwarn(ps, &at, "%s; skipped %s (lines %u-%u)", ps->why, what, start->line, last);
}

static void parse_top(struct parser *ps)
{
	struct tok *t = &ps->t;

	if (ps->bad)   /* the first token already (an unterminated string) */
		recover(ps, t);

	while (t->kind != T_EOF && !ps->err) {
		const struct tok start = *t;

		if (t->kind != T_IDENT) {
			expected(ps, "a section keyword (BO_, SG_, CM_, ...)");
		} else if (tok_is(t, "VERSION")) {
			next(ps);
			if (t->kind != T_STR)
				expected(ps, "the version string");
			else
				next(ps);
		} else if (tok_is(t, "NS_")) {
			parse_ns(ps);
		} else if (tok_is(t, "BS_")) {
			next(ps);
			if (expect_punct(ps, ':'))
				while (t->kind != T_EOF && !stmt_start(t))
					next(ps);
		} else if (tok_is(t, "BU_")) {
			next(ps);
			if (expect_punct(ps, ':')) {
				unsigned line = t->line;
				while (t->kind == T_IDENT && t->line == line && !t->first)
					next(ps);
			}
		} else if (tok_is(t, "BO_")) {
			parse_bo(ps);
		} else if (tok_is(t, "SG_")) {
			parse_sg(ps);
		} else if (tok_is(t, "CM_")) {
			parse_cm(ps);
		} else if (tok_is(t, "BA_DEF_")) {
			parse_ba_def(ps);
		} else if (tok_is(t, "BA_DEF_DEF_")) {
			parse_ba_def_def(ps);
		} else if (tok_is(t, "BA_")) {
			parse_ba(ps);
		} else if (tok_is(t, "VAL_")) {
			parse_val(ps);
		} else if (tok_is(t, "VAL_TABLE_")) {
			parse_val_table(ps);
		} else if (tok_is(t, "SIG_VALTYPE_")) {
			parse_sig_valtype(ps);
		} else if (tok_is(t, "SG_MUL_VAL_")) {
			parse_sg_mul_val(ps);
		} else {
			bool known = false;
			for (size_t i = 0; i < ARRAY_SIZE(skipped_sections); i++)
				if (tok_is(t, skipped_sections[i]))
					known = true;
			if (known) {
				char what[24];
				snprintf(what, sizeof(what), "%.*s", (int)t->n, t->s);
				next(ps);
				skip_rest(ps, what);
			} else {
				pwarn(ps, t, "unknown section '%.*s' skipped",
				      (int)(t->n > 40 ? 40 : t->n), t->s);
				skip_to_stmt(ps);
			}
		}
		if (ps->bad && !ps->err)
			recover(ps, &start);
	}
}

/* ---- finishing -------------------------------------------------------------- */

static int vff_is_fd(const dbc_t *dbc, const struct msg_x *mx, bool *is_fd)
{
	const struct attr_def *d = NULL;
	for (unsigned i = 0; i < dbc->n_defs; i++)
		if (!strcmp(dbc->defs[i].name, "VFrameFormat"))
			d = &dbc->defs[i];
	const char *label = NULL;
	if (mx->has_vff) {
		if (mx->vff_label)
			label = mx->vff_label;
		else if (d && d->kind == ATTR_ENUM && mx->vff >= 0 && (uint64_t)mx->vff < d->n_labels)
			label = d->labels[mx->vff];
	} else if (d && d->has_def) {
		if (d->def_str)
			label = d->def_str;
		else if (d->kind == ATTR_ENUM && d->def_num >= 0 && d->def_num < d->n_labels)
			label = d->labels[(unsigned)d->def_num];
	}
	*is_fd = label && strstr(label, "_FD");
	return 0;
}

/* A problem finish() finds with a signal: an error with DBC_STRICT
 * (returns false), else a warning (true: go on with the stated repair). */
static bool finish_problem(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
	__printf(4, 5);

static bool finish_problem(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
{
	struct tok at = { .line = line, .col = col };
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->strict) {
		log_err("%s:%u:%u: %s", ps->name, line, col, msg);
		return false;
	}
	pwarn(ps, &at, "%s", msg);
	return true;
}

static int finish(struct parser *ps)
{
	dbc_t *dbc = ps->dbc;
	const struct attr_def *cyc = NULL;

	for (unsigned i = 0; i < dbc->n_defs; i++)
		if (!strcmp(dbc->defs[i].name, "GenMsgCycleTime"))
			cyc = &dbc->defs[i];

	for (unsigned mi = 0; mi < dbc->n_msgs; mi++) {
		struct dbc_message *m = &dbc->msgs[mi];
		struct msg_x *mx = &dbc->mx[mi];
		bool fd;

		m->signals = mx->sigs;
		m->n_signals = mx->n;
		if (mx->has_cycle)
			m->cycle_time_ms = (uint32_t)mx->cycle;
		else if (cyc && cyc->has_def && !cyc->def_str && cyc->def_num >= 0 && cyc->def_num <= UINT32_MAX)
			m->cycle_time_ms = (uint32_t)cyc->def_num;
		vff_is_fd(dbc, mx, &fd);
		m->is_fd = fd || m->size > 8;

		int main_switch = -1;
		unsigned n_switch = 0;
		bool warned = false;
		for (unsigned i = 0; i < mx->n; i++) {
			if (mx->sigs[i].mux_kind == DBC_MUX_SWITCH) {
				n_switch++;
				if (main_switch < 0)
					main_switch = (int)i;
			}
		}
		for (unsigned i = 0; i < mx->n; i++) {
			struct dbc_signal *s = &mx->sigs[i];
			struct sig_x *x = &mx->x[i];

			s->message = m;
			s->index = i;
			s->values = x->vals;
			s->n_values = x->n_vals;
			int sw = -1;
			if (x->mul_switch) {
				for (unsigned j = 0; j < mx->n; j++)
					if (!strcmp(mx->sigs[j].name, x->mul_switch))
						sw = (int)j;
				if ((sw < 0 || sw == (int)i) &&
				    !finish_problem(ps, x->mul_line, x->mul_col,
						    "SG_MUL_VAL_: expected a switch signal of message %s, found '%s'; "
						    "SG_MUL_VAL_ of %s ignored", m->name, x->mul_switch, s->name))
					return -EINVAL;
				if (sw == (int)i)
					sw = -1;
			}
			if (sw >= 0) {
				s->mux_switch = &mx->sigs[sw];
				s->mux_ranges = x->ranges;
				s->n_mux_ranges = x->n_ranges;
				if (x->bare_m)
					s->mux_kind = DBC_MUX_MUXED;
			} else if (s->mux_kind == DBC_MUX_MUXED || s->mux_kind == DBC_MUX_MUXED_SWITCH) {
				if (main_switch < 0) {
					if (!finish_problem(ps, x->line, x->col,
							    "signal %s is multiplexed (m%llu): expected an 'M' switch signal "
							    "in message %s; taken as not multiplexed", s->name,
							    (unsigned long long)x->mux_n, m->name))
						return -EINVAL;
					s->mux_kind = s->mux_kind == DBC_MUX_MUXED_SWITCH ? DBC_MUX_SWITCH : DBC_MUX_NONE;
					continue;
				}
				if (n_switch > 1 && !warned) {
					struct tok at = { .line = mx->line, .col = 1 };
					pwarn(ps, &at, "message %s has more than one 'M' switch; "
					      "'mN' signals without SG_MUL_VAL_ follow %s",
					      m->name, mx->sigs[main_switch].name);
					warned = true;
				}
				if (!grow(&x->ranges, &x->cap_ranges, 0, sizeof(*x->ranges)))
					return -ENOMEM;
				x->ranges[0].lo = x->ranges[0].hi = x->mux_n;
				x->n_ranges = 1;
				s->mux_switch = &mx->sigs[main_switch];
				s->mux_ranges = x->ranges;
				s->n_mux_ranges = 1;
			}
		}
		/* A switch chain must end: SG_MUL_VAL_ could name a cycle. A
		 * cycle is cut at one of its signals, which then has no switch. */
		for (unsigned i = 0; i < mx->n; i++) {
			for (;;) {
				struct dbc_signal *s = &mx->sigs[i];
				unsigned depth = 0;
				while (s->mux_switch && depth <= mx->n) {
					s = (struct dbc_signal *)s->mux_switch;
					depth++;
				}
				if (depth <= mx->n)
					break;
				/* after n + 1 steps s is on the cycle */
				if (!finish_problem(ps, mx->x[i].line, mx->x[i].col,
						    "multiplexer switches of %s form a cycle: expected a chain ending "
						    "in an 'M' switch; %s taken as not multiplexed",
						    mx->sigs[i].name, s->name))
					return -EINVAL;
				s->mux_switch = NULL;
				s->mux_ranges = NULL;
				s->n_mux_ranges = 0;
				s->mux_kind = DBC_MUX_NONE;
			}
		}
		/* Long names last: SG_MUL_VAL_ above names switches by SG_ name. */
		for (unsigned i = 0; i < mx->n; i++) {
			mx->sigs[i].short_name = mx->sigs[i].name;
			if (mx->x[i].long_name)
				mx->sigs[i].name = mx->x[i].long_name;
		}
	}

	/* id hash for dbc_find_message: first definition wins */
	unsigned size = 16;
	while (size < dbc->n_msgs * 2)
		size *= 2;
	dbc->hash = calloc(size, sizeof(*dbc->hash));
	if (!dbc->hash)
		return -ENOMEM;
	dbc->hash_mask = size - 1;
	for (unsigned i = 0; i < dbc->n_msgs; i++) {
		uint32_t key = dbc->msgs[i].id | (dbc->msgs[i].is_ext ? 0x80000000u : 0);
		unsigned h = (key * 2654435761u) & dbc->hash_mask;
		bool dup = false;
		while (dbc->hash[h]) {
			const struct dbc_message *o = &dbc->msgs[dbc->hash[h] - 1];
			if (o->id == dbc->msgs[i].id && o->is_ext == dbc->msgs[i].is_ext) {
				dup = true;
				break;
			}
			h = (h + 1) & dbc->hash_mask;
		}
		if (!dup)
			dbc->hash[h] = i + 1;
	}
	return 0;
}

/* ---- public -------------------------------------------------------------- */

void dbc_free(dbc_t *dbc)
{
	if (!dbc)
		return;
	for (unsigned i = 0; i < dbc->n_msgs; i++) {
		struct msg_x *mx = &dbc->mx[i];
		for (unsigned j = 0; j < mx->n; j++) {
			free(mx->x[j].ranges);
			free(mx->x[j].vals);
		}
		free(mx->sigs);
		free(mx->x);
	}
	/* a message whose BO_ failed half-way has its side entry zeroed */
	free(dbc->msgs);
	free(dbc->mx);
	for (unsigned i = 0; i < dbc->n_tables; i++)
		free(dbc->tables[i].vals);
	free(dbc->tables);
	for (unsigned i = 0; i < dbc->n_defs; i++)
		free(dbc->defs[i].labels);
	free(dbc->defs);
	for (size_t i = 0; i < dbc->n_strs; i++)
		free(dbc->strs[i]);
	free(dbc->strs);
	free(dbc->hash);
	free(dbc->name);
	free(dbc);
}

int dbc_load_buffer_with(dbc_t **out, const char *name, const char *text, size_t len,
			 unsigned flags)
{
	struct parser ps;
	dbc_t *dbc = calloc(1, sizeof(*dbc));
	int ret = -ENOMEM;

	if (!dbc)
		goto out;
	dbc->name = strdup(name ? name : "(dbc)");
	if (!dbc->name)
		goto out;
	memset(&ps, 0, sizeof(ps));
	ps.dbc = dbc;
	ps.name = dbc->name;
	ps.p = text;
	ps.end = text + len;
	ps.line = 1;
	ps.line_start = text;
	ps.strict = flags & DBC_STRICT;
	/* A UTF-8 byte order mark is not part of the first keyword. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
		ps.p += 3;
		ps.line_start += 3;
	}
	next(&ps);
	parse_top(&ps);
	ret = ps.err;
	if (ret)
		goto out;
	ret = finish(&ps);
	if (ret)
		goto out;
	if (dbc->n_warn > DBC_MAX_WARNINGS_SHOWN)
		log_warn("%s: %u warnings in all, %u not shown", dbc->name, dbc->n_warn,
			 dbc->n_warn - DBC_MAX_WARNINGS_SHOWN);
	*out = dbc;
	dbc = NULL;
out:
	dbc_free(dbc);
	return ret;
}

int dbc_load_buffer(dbc_t **out, const char *name, const char *text, size_t len)
{
	return dbc_load_buffer_with(out, name, text, len, 0);
}

int dbc_load_with(dbc_t **out, const char *path, unsigned flags)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = file_read(path, DBC_MAX_FILE, 0, NULL, &buf, &len);
	if (!ret)
		ret = dbc_load_buffer_with(out, path, buf, len, flags);
	else if (ret == -EINVAL || ret == -EISDIR)
		ret = -EFBIG;   /* not a regular file: kept apart from syntax errors */
	free(buf);
	return ret;
}

int dbc_load(dbc_t **out, const char *path)
{
	return dbc_load_with(out, path, 0);
}

unsigned dbc_warning_count(const dbc_t *dbc)
{
	return dbc->n_warn;
}

unsigned dbc_message_count(const dbc_t *dbc)
{
	return dbc->n_msgs;
}

const struct dbc_message *dbc_message_at(const dbc_t *dbc, unsigned i)
{
	return i < dbc->n_msgs ? &dbc->msgs[i] : NULL;
}

const struct dbc_message *dbc_find_message(const dbc_t *dbc, uint32_t id, bool is_ext)
{
	uint32_t key = id | (is_ext ? 0x80000000u : 0);
	unsigned h = (key * 2654435761u) & dbc->hash_mask;

	while (dbc->hash[h]) {
		const struct dbc_message *m = &dbc->msgs[dbc->hash[h] - 1];
		if (m->id == id && m->is_ext == is_ext)
			return m;
		h = (h + 1) & dbc->hash_mask;
	}
	return NULL;
}

const struct dbc_message *dbc_find_message_by_name(const dbc_t *dbc, const char *name)
{
	for (unsigned i = 0; i < dbc->n_msgs; i++)
		if (!strcmp(dbc->msgs[i].name, name))
			return &dbc->msgs[i];
	return NULL;
}

const struct dbc_signal *dbc_find_signal(const struct dbc_message *msg, const char *name)
{
	if (!msg)
		return NULL;
	for (unsigned i = 0; i < msg->n_signals; i++)
		if (!strcmp(msg->signals[i].name, name))
			return &msg->signals[i];
	for (unsigned i = 0; i < msg->n_signals; i++)
		if (!strcmp(msg->signals[i].short_name, name))
			return &msg->signals[i];
	return NULL;
}

const struct dbc_value_desc *dbc_value_table(const dbc_t *dbc, const char *name, unsigned *n)
{
	for (unsigned i = 0; i < dbc->n_tables; i++) {
		if (!strcmp(dbc->tables[i].name, name)) {
			*n = dbc->tables[i].n;
			return dbc->tables[i].vals;
		}
	}
	*n = 0;
	return NULL;
}

const struct dbc_signal *dbc_lookup(const dbc_t *dbc, const char *msg_dot_sig)
{
	const char *dot = strchr(msg_dot_sig, '.');
	if (!dot)
		return NULL;
	size_t n = (size_t)(dot - msg_dot_sig);
	for (unsigned i = 0; i < dbc->n_msgs; i++)
		if (strlen(dbc->msgs[i].name) == n && !memcmp(dbc->msgs[i].name, msg_dot_sig, n))
			return dbc_find_signal(&dbc->msgs[i], dot + 1);
	return NULL;
}

/* Payload bit of the signal's k-th bit counted from its least significant
 * bit: byte index * 8 + bit within the byte (bit 0 = LSB of the byte). */
static unsigned phys_bit(const struct dbc_signal *s, unsigned k)
{
	if (s->byte_order == DBC_INTEL)
		return s->start_bit + k;
	/* Motorola: walk from the MSB in big-endian linear order. */
	unsigned msb_lin = s->start_bit / 8u * 8u + 7u - s->start_bit % 8u;
	unsigned lin = msb_lin + (s->length - 1u - k);
	return lin / 8u * 8u + 7u - lin % 8u;
}

/* Bytes the signal needs: one past its highest byte. */
static size_t need_bytes(const struct dbc_signal *s)
{
	unsigned a = phys_bit(s, 0) / 8u, b = phys_bit(s, s->length - 1u) / 8u;
	return (size_t)(a > b ? a : b) + 1;
}

int dbc_extract_raw(const struct dbc_signal *s, const uint8_t *data, size_t len, uint64_t *raw)
{
	uint64_t v = 0;

	if (need_bytes(s) > len)
		return -ERANGE;
	for (unsigned k = 0; k < s->length; k++) {
		unsigned b = phys_bit(s, k);
		v |= (uint64_t)((data[b / 8] >> (b % 8)) & 1u) << k;
	}
	*raw = v;
	return 0;
}

double dbc_raw_to_phys(const struct dbc_signal *s, uint64_t raw)
{
	double v;

	if (s->value_type == DBC_VT_FLOAT) {
		uint32_t u = (uint32_t)raw;
		float f;
		memcpy(&f, &u, sizeof(f));
		v = f;
	} else if (s->value_type == DBC_VT_DOUBLE) {
		memcpy(&v, &raw, sizeof(v));
	} else if (s->is_signed) {
		unsigned sh = 64u - s->length;
		v = (double)((int64_t)(raw << sh) >> sh);
	} else {
		v = (double)raw;
	}
	return v * s->factor + s->offset;
}

int dbc_encode_raw(const struct dbc_signal *s, uint64_t raw, uint8_t *data, size_t len)
{
	if (need_bytes(s) > len)
		return -ERANGE;
	for (unsigned k = 0; k < s->length; k++) {
		unsigned b = phys_bit(s, k);
		uint8_t bit = (uint8_t)(1u << (b % 8));
		if ((raw >> k) & 1u)
			data[b / 8] |= bit;
		else
			data[b / 8] &= (uint8_t)~bit;
	}
	return 0;
}

int dbc_encode_signal(const struct dbc_signal *s, double phys, uint8_t *data, size_t len)
{
	uint64_t raw;

	if (isnan(phys) || s->factor == 0)
		return -EINVAL;
	if (s->min < s->max) {
		if (phys < s->min)
			phys = s->min;
		if (phys > s->max)
			phys = s->max;
	}
	double r = (phys - s->offset) / s->factor;
	if (s->value_type == DBC_VT_FLOAT) {
		float f = (float)r;
		uint32_t u;
		memcpy(&u, &f, sizeof(u));
		raw = u;
	} else if (s->value_type == DBC_VT_DOUBLE) {
		memcpy(&raw, &r, sizeof(raw));
	} else {
		r = round(r);
		if (s->is_signed) {
			/* limits +-2^(len-1), as doubles exact powers of two */
			double lim = ldexp(1.0, s->length - 1);
			int64_t v;
			if (r >= lim)
				v = (int64_t)(s->length == 64 ? INT64_MAX : (int64_t)((UINT64_C(1) << (s->length - 1)) - 1));
			else if (r < -lim)
				v = s->length == 64 ? INT64_MIN : -(int64_t)(UINT64_C(1) << (s->length - 1));
			else
				v = (int64_t)r;
			raw = (uint64_t)v;
		} else {
			double lim = ldexp(1.0, s->length);
			if (r <= 0)
				raw = 0;
			else if (r >= lim)
				raw = s->length == 64 ? UINT64_MAX : (UINT64_C(1) << s->length) - 1;
			else
				raw = (uint64_t)r;
		}
	}
	if (s->length < 64)
		raw &= (UINT64_C(1) << s->length) - 1;
	return dbc_encode_raw(s, raw, data, len);
}
