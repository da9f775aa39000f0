/* ini_lines — the line reader libinih parses through. */
#include <stdio.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/ini_lines.h"

/* UTF-8 text: no control characters but tab, CR and the line's end. */
static bool is_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t' && c != '\r' && !(c == '\n' && i == n - 1)) || c == 0x7f)
			return false;
	}
	return utf8_valid(s, n);
}

char *ini_lines_read(char *out, int size, void *stream)
{
	struct ini_lines *r = stream;
	const char *nl;
	size_t end, n, lead = 0;

	if (r->pos >= r->len)
		return NULL;
	nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
	end = nl ? (size_t)(nl - r->buf) + 1 : r->len;   /* with its '\n' */
	n = end - r->pos;
	r->line++;
	if (r->not_text && !is_text(r->buf + r->pos, n)) {
		r->not_text(r->ctx, r->line);
		r->pos = end;
		snprintf(out, (size_t)size, "#\n");
		return out;
	}
	if (n > (size_t)size - 1) {
		/* Too long for libinih's buffer: reported once, and handed on
		 * whole as one comment line, so that libinih counts lines as
		 * the reader does and the lines after it keep their numbers. */
		if (r->too_long)
			r->too_long(r->ctx, r->line, size - 2);
		r->pos = end;
		snprintf(out, (size_t)size, "#\n");
		return out;
	}
	for (size_t i = 0; i < n; i++) {
		char c = r->buf[r->pos + i];
		out[i] = c ? c : ' ';
	}
	out[n] = '\0';
	r->pos = end;
	/* An indented line is a line like any other here: libinih would
	 * take it for the continuation of the previous value and report the
	 * wrong key. */
	while (lead < n && (out[lead] == ' ' || out[lead] == '\t'))
		lead++;
	if (lead)
		memmove(out, out + lead, n - lead + 1);
	return out;
}
