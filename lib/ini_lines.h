/* ini_lines — the line reader libinih parses through, for config.c and the
 * vehicle profiles (can/profile.c), so every message knows its line.
 *
 * libinih (ini_parse_stream) asks for one line at a time into a buffer of
 * its INI_MAX_LINE. A longer line would come back to it in pieces, each
 * parsed as a line of its own; the reader instead reports it once, through
 * too_long, and hands inih comment lines until it ends, so the lines after
 * it keep their numbers. A NUL byte in memory input reads as a space. */
#ifndef ECO2_INI_LINES_H
#define ECO2_INI_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct ini_lines {
	FILE *fp;               /* read from this stream, or ... */
	const char *buf;        /* ... from these len bytes */
	size_t len, pos;
	unsigned line;          /* the current line, 1-based once reading */
	bool long_line;         /* inside a line that did not fit */
	void (*too_long)(void *ctx, unsigned line, int max_chars);
	void *ctx;
};

/* The ini_reader for ini_parse_stream(ini_lines_read, &lines, ...). */
char *ini_lines_read(char *out, int size, void *stream);

#endif
