/* ini_lines — the line reader libinih parses through, for config.c and the
 * vehicle profiles (can/profile.c), so every message knows its line. It
 * reads text already in memory (lib/file.h reads a file with a bound).
 *
 * libinih (ini_parse_stream) asks for one line at a time into a buffer of
 * its INI_MAX_LINE. A longer line would come back to it in pieces, each
 * parsed (and counted) as a line of its own; the reader instead reports it
 * once, through too_long, and hands libinih one comment line for all of
 * it, so that libinih's line count (which it returns for a syntax error)
 * and the reader's agree, and the lines after it keep their numbers.
 * Leading blanks are removed (an indented line is a line, not libinih's
 * continuation); a NUL byte reads as a space. With not_text set, a line
 * that is not UTF-8 text (invalid UTF-8, a NUL or another control
 * character but tab and CR) is reported through it and likewise handed on
 * as a comment: its bytes never reach a message. */
#ifndef ECO2_INI_LINES_H
#define ECO2_INI_LINES_H

#include <stddef.h>

struct ini_lines {
	const char *buf;        /* read from these len bytes */
	size_t len, pos;
	unsigned line;          /* the current line, 1-based once reading */
	void (*too_long)(void *ctx, unsigned line, int max_chars);
	void (*not_text)(void *ctx, unsigned line);
	void *ctx;
};

/* The ini_reader for ini_parse_stream(ini_lines_read, &lines, ...). */
char *ini_lines_read(char *out, int size, void *stream);

#endif
