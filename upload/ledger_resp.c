/* ledger_resp — strict parser for the ledger's JSON acknowledgement. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "upload/ledger_resp.h"

struct p {
	const char *s;
	size_t len, pos;
	size_t max;
	char *err;
	size_t err_len;
	bool failed;
};

static int fail(struct p *p, const char *what)
{
	if (!p->failed && p->err && p->err_len)
		snprintf(p->err, p->err_len, "offset %zu: %s", p->pos, what);
	p->failed = true;
	return -EBADMSG;
}

static void ws(struct p *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int expect(struct p *p, char c, const char *what)
{
	ws(p);
	if (p->pos >= p->len || p->s[p->pos] != c)
		return fail(p, what);
	p->pos++;
	return 0;
}

/* Is the next token c (after whitespace)? Consumes it if so. */
static bool accept(struct p *p, char c)
{
	ws(p);
	if (p->pos < p->len && p->s[p->pos] == c) {
		p->pos++;
		return true;
	}
	return false;
}

/* A JSON string; its value (UTF-8 passed through, escapes decoded, control
 * characters and non-ASCII escapes replaced by '?') is copied into out,
 * truncated to out_len - 1. */
static int string(struct p *p, char *out, size_t out_len)
{
	size_t o = 0;

	if (expect(p, '"', "'\"' (a string)"))
		return -EBADMSG;
	for (;;) {
		unsigned char c;
		char v;

		if (p->pos >= p->len)
			return fail(p, "end of string ('\"')");
		c = (unsigned char)p->s[p->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(p, "no control character inside a string");
		v = (char)c;
		if (c == '\\') {
			if (p->pos >= p->len)
				return fail(p, "an escape after '\\'");
			c = (unsigned char)p->s[p->pos++];
			switch (c) {
			case '"': v = '"'; break;
			case '\\': v = '\\'; break;
			case '/': v = '/'; break;
			case 'b': case 'f': case 'n': case 'r': case 't': v = ' '; break;
			case 'u': {
				unsigned u = 0;

				for (int i = 0; i < 4; i++) {
					int h = p->pos < p->len ? hex_digit(p->s[p->pos]) : -1;

					if (h < 0)
						return fail(p, "four hex digits after '\\u'");
					u = u * 16 + (unsigned)h;
					p->pos++;
				}
				v = u >= 0x20 && u < 0x7f ? (char)u : '?';
				break;
			}
			default:
				p->pos--;
				return fail(p, "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
			}
		}
		if (out && o + 1 < out_len)
			out[o++] = v;
	}
	if (out && out_len)
		out[o] = '\0';
	return 0;
}

/* The receipt: a string of text lines, kept whole in *out (malloc'd). */
static int text_string(struct p *p, char **out, size_t *out_len)
{
	size_t o = 0, start;
	char *t;

	if (expect(p, '"', "'\"' (a string)"))
		return -EBADMSG;
	start = p->pos;
	t = malloc(p->len - start + 1);     /* never longer than its JSON */
	if (!t)
		return -ENOMEM;
	for (;;) {
		unsigned char c;

		if (p->pos >= p->len) {
			free(t);
			return fail(p, "end of string ('\"')");
		}
		c = (unsigned char)p->s[p->pos++];
		if (c == '"')
			break;
		if (c < 0x20) {
			free(t);
			return fail(p, "no control character inside a string");
		}
		if (c == '\\') {
			c = p->pos < p->len ? (unsigned char)p->s[p->pos++] : 0;
			if (c == 'n') {
				c = '\n';
			} else if (c == 'u') {
				unsigned u = 0;

				for (int i = 0; i < 4; i++) {
					int h = p->pos < p->len ? hex_digit(p->s[p->pos]) : -1;

					if (h < 0) {
						free(t);
						return fail(p, "four hex digits after '\\u'");
					}
					u = u * 16 + (unsigned)h;
					p->pos++;
				}
				if (u < 0x20 || u >= 0x7f) {
					free(t);
					return fail(p, "a receipt escapes only printable ASCII with \\u");
				}
				c = (unsigned char)u;
			} else if (c != '"' && c != '\\' && c != '/') {
				free(t);
				return fail(p, "a receipt's escapes are \\\" \\\\ \\/ \\n \\uXXXX");
			}
		}
		t[o++] = (char)c;
	}
	t[o] = '\0';
	*out = t;
	*out_len = o;
	return 0;
}

/* A seq: >= 1, or also 0 when allow_zero (a rejected item that could not
 * be decoded has no seq). */
static int seqnum(struct p *p, uint64_t *v, bool allow_zero)
{
	uint64_t n = 0;
	size_t start;

	ws(p);
	start = p->pos;
	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
		unsigned d = (unsigned)(p->s[p->pos] - '0');

		if (n > (UINT64_C(0x7fffffffffffffff) - d) / 10)
			return fail(p, "a seq below 2^63");
		n = n * 10 + d;
		p->pos++;
	}
	if (p->pos == start)
		return fail(p, "a seq (an unsigned integer)");
	if (p->s[start] == '0' && (p->pos - start > 1 || !allow_zero))
		return fail(p, allow_zero ? "a seq without leading zeros" : "a seq >= 1 without leading zeros");
	if (p->pos < p->len && (p->s[p->pos] == '.' || p->s[p->pos] == 'e' ||
				p->s[p->pos] == 'E'))
		return fail(p, "an integer seq (no fraction or exponent)");
	*v = n;
	return 0;
}

static int seq_list(struct p *p, uint64_t **arr, size_t *n)
{
	if (expect(p, '[', "'[' (a list of seqs)"))
		return -EBADMSG;
	if (accept(p, ']'))
		return 0;
	*arr = calloc(p->max ? p->max : 1, sizeof(**arr));
	if (!*arr)
		return -ENOMEM;
	do {
		uint64_t v;

		if (*n >= p->max)
			return fail(p, "no more seqs than records sent");
		if (seqnum(p, &v, false))
			return -EBADMSG;
		(*arr)[(*n)++] = v;
	} while (accept(p, ','));
	return expect(p, ']', "',' or ']'");
}

static int reject_list(struct p *p, struct ledger_reject **arr, size_t *n)
{
	if (expect(p, '[', "'[' (a list of rejections)"))
		return -EBADMSG;
	if (accept(p, ']'))
		return 0;
	*arr = calloc(p->max ? p->max : 1, sizeof(**arr));
	if (!*arr)
		return -ENOMEM;
	do {
		struct ledger_reject *r;
		bool have_seq = false, have_reason = false;

		if (*n >= p->max)
			return fail(p, "no more rejections than records sent");
		r = &(*arr)[(*n)++];
		if (expect(p, '{', "'{' (a rejection)"))
			return -EBADMSG;
		do {
			char key[16];

			if (string(p, key, sizeof(key)))
				return -EBADMSG;
			if (expect(p, ':', "':'"))
				return -EBADMSG;
			if (!strcmp(key, "seq") && !have_seq) {
				have_seq = true;
				if (seqnum(p, &r->seq, true))
					return -EBADMSG;
			} else if (!strcmp(key, "reason") && !have_reason) {
				have_reason = true;
				if (string(p, r->reason, sizeof(r->reason)))
					return -EBADMSG;
			} else {
				return fail(p, "only \"seq\" and \"reason\", once each, in a rejection");
			}
		} while (accept(p, ','));
		if (expect(p, '}', "',' or '}'"))
			return -EBADMSG;
		if (!have_seq || !have_reason)
			return fail(p, "a rejection with both \"seq\" and \"reason\"");
	} while (accept(p, ','));
	return expect(p, ']', "',' or ']'");
}

void ledger_resp_free(struct ledger_resp *r)
{
	if (!r)
		return;
	free(r->accepted);
	free(r->duplicate);
	free(r->rejected);
	free(r->receipt);
	memset(r, 0, sizeof(*r));
}

int ledger_resp_parse(const char *buf, size_t len, size_t max_entries,
		      struct ledger_resp *out, char *err, size_t err_len)
{
	struct p p = { .s = buf, .len = len, .max = max_entries, .err = err, .err_len = err_len };
	struct ledger_resp r = { 0 };
	bool seen[4] = { false, false, false, false };
	int ret = -EBADMSG;

	if (err && err_len)
		err[0] = '\0';
	if (expect(&p, '{', "'{' (a JSON object)"))
		goto out;
	if (!accept(&p, '}')) {
		do {
			char key[16];

			if (string(&p, key, sizeof(key)))
				goto out;
			if (expect(&p, ':', "':'"))
				goto out;
			if (!strcmp(key, "accepted") && !seen[0]) {
				seen[0] = true;
				ret = seq_list(&p, &r.accepted, &r.n_accepted);
			} else if (!strcmp(key, "duplicate") && !seen[1]) {
				seen[1] = true;
				ret = seq_list(&p, &r.duplicate, &r.n_duplicate);
			} else if (!strcmp(key, "rejected") && !seen[2]) {
				seen[2] = true;
				ret = reject_list(&p, &r.rejected, &r.n_rejected);
			} else if (!strcmp(key, "receipt") && !seen[3]) {
				seen[3] = true;
				ret = text_string(&p, &r.receipt, &r.receipt_len);
			} else {
				ret = fail(&p, "\"accepted\", \"duplicate\", \"rejected\" or \"receipt\", once each");
			}
			if (ret)
				goto out;
			ret = -EBADMSG;
		} while (accept(&p, ','));
		if (expect(&p, '}', "',' or '}'"))
			goto out;
	}
	ws(&p);
	if (p.pos != p.len) {
		fail(&p, "the end of the body after the object");
		goto out;
	}
	*out = r;
	memset(&r, 0, sizeof(r));
	ret = 0;
out:
	ledger_resp_free(&r);
	return ret;
}

int ledger_resp_parse_head(const char *buf, size_t len, uint64_t *seq, uint8_t hash[32],
			   char *err, size_t err_len)
{
	struct p p = { .s = buf, .len = len, .err = err, .err_len = err_len };
	bool have_seq = false, have_hash = false;
	uint64_t s = 0;
	uint8_t h[32];

	if (err && err_len)
		err[0] = '\0';
	if (expect(&p, '{', "'{' (a JSON object)"))
		return -EBADMSG;
	do {
		char key[8], hex[66];

		if (string(&p, key, sizeof(key)) || expect(&p, ':', "':'"))
			return -EBADMSG;
		if (!strcmp(key, "seq") && !have_seq) {
			have_seq = true;
			if (seqnum(&p, &s, true))
				return -EBADMSG;
		} else if (!strcmp(key, "hash") && !have_hash) {
			size_t at;

			have_hash = true;
			ws(&p);
			at = p.pos;
			if (string(&p, hex, sizeof(hex)))
				return -EBADMSG;
			if (p.pos - at != 66 || hex_decode(hex, 64, h, 32)) {
				p.pos = at;
				return fail(&p, "a hash of 64 hex digits");
			}
		} else {
			return fail(&p, "\"seq\" and \"hash\", once each");
		}
	} while (accept(&p, ','));
	if (expect(&p, '}', "',' or '}'"))
		return -EBADMSG;
	if (!have_seq || !have_hash)
		return fail(&p, "both \"seq\" and \"hash\"");
	ws(&p);
	if (p.pos != p.len)
		return fail(&p, "the end of the body after the object");
	*seq = s;
	memcpy(hash, h, 32);
	return 0;
}
