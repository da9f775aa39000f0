/* libFuzzer target: candump lines. The line parser must never crash; a
 * line it accepts must format and parse back to the same frame; the
 * streaming reader must count every line it could not read. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "can/canlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct can_frame_rec f, g;
	char buf[CANLOG_LINE_MAX];
	const char *why;

	if (!quiet) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		quiet = 1;
	}
	/* the first line alone */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - data) : size;
	if (canlog_parse_line((const char *)data, len, &f, &why) == 0) {
		int n = canlog_format(&f, buf, sizeof(buf));
		if (n <= 0 || (size_t)n >= sizeof(buf))
			abort();
		if (canlog_parse_line(buf, (size_t)n, &g, &why) != 0)
			abort();
		if (f.t_ns != g.t_ns || f.id != g.id || f.flags != g.flags || f.len != g.len ||
		    f.raw_dlc != g.raw_dlc || strcmp(f.iface, g.iface) ||
		    memcmp(f.data, g.data, sizeof(f.data)))
			abort();
	}

	/* everything, through the reader */
	if (size == 0)
		return 0;
	FILE *in = fmemopen((void *)data, size, "r");
	canlog_reader_t *r;
	if (!in)
		return 0;
	if (canlog_open_file(&r, in, "fuzz.log") == 0) {
		unsigned long frames = 0;
		while (canlog_next(r, &f) == 1)
			frames++;
		if (frames + canlog_bad_lines(r) > canlog_lines(r))
			abort();
		canlog_close(r);
	}
	fclose(in);
	return 0;
}
