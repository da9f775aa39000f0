/* ini_lines — the line reader libinih parses through. */
#include <string.h>

#include "lib/ini_lines.h"

char *ini_lines_read(char *out, int size, void *stream)
{
	struct ini_lines *r = stream;
	int n = 0;

	if (r->fp) {
		if (!fgets(out, size, r->fp))
			return NULL;
		n = (int)strlen(out);
	} else {
		if (r->pos >= r->len)
			return NULL;
		while (n < size - 1 && r->pos < r->len) {
			char c = r->buf[r->pos++];
			out[n++] = c ? c : ' ';
			if (c == '\n')
				break;
		}
		out[n] = '\0';
	}
	/* An indented line is a line like any other here: libinih would
	 * take it for the continuation of the previous value and report the
	 * wrong key. */
	int lead = 0;
	while (lead < n && (out[lead] == ' ' || out[lead] == '\t'))
		lead++;
	if (lead && !r->long_line) {
		memmove(out, out + lead, (size_t)(n - lead) + 1);
		n -= lead;
	}
	bool complete = n > 0 && out[n - 1] == '\n';
	bool at_eof = r->fp ? feof(r->fp) : r->pos >= r->len;
	if (!r->long_line)
		r->line++;
	if (!complete && !at_eof) {
		if (!r->long_line && r->too_long)
			r->too_long(r->ctx, r->line, size - 2);
		r->long_line = true;
		snprintf(out, (size_t)size, "#\n");
		return out;
	}
	if (r->long_line) {
		r->long_line = false;
		snprintf(out, (size_t)size, "#\n");
	}
	return out;
}
