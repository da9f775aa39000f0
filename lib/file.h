/* file — whole files read with a bound, for every loader: DBC files, drive
 * cycles, keys, PINs, certificates, exports.
 *
 * The file is opened O_NONBLOCK | O_NOCTTY, so a FIFO, a tty or a device
 * never blocks the caller, and its type is checked with fstat before a byte
 * is read: only a regular file is read unless FILE_STREAM also allows a
 * pipe or socket (and "-", standard input), which is then read to its end.
 * No more than max_bytes are ever held. Every failure is logged once as
 * "[what: ]path: why". */
#ifndef ECO2_FILE_H
#define ECO2_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

enum {
	FILE_PRIVATE = 1u << 0,   /* refuse a file group or others may access */
	FILE_STREAM  = 1u << 1,   /* also a pipe or socket, and "-" for stdin */
};

/* Read all of `path` into *out, NUL-terminated (free() it; a secret is
 * wiped by the caller first). `what` (may be NULL) prefixes messages,
 * e.g. "key". 0, or -errno: -EISDIR a directory, -EINVAL not a regular
 * file (or stream) otherwise,
 * -EFBIG more than max_bytes, -EACCES group/other bits with FILE_PRIVATE,
 * or the error of open/read. */
int file_read(const char *path, size_t max_bytes, unsigned flags, const char *what,
	      char **out, size_t *len) __must_check;

/* The checks of file_read without the read: path opens without blocking
 * and is of the right type (and mode, with FILE_PRIVATE). 0 or the same
 * -errno as file_read, logged the same way. For checking a configuration
 * before anything uses it. */
int file_check(const char *path, unsigned flags, const char *what) __must_check;

/* A whole file in memory: mapped when it is a regular file, read into a
 * buffer when it is a stream. Large inputs (exports) are mapped, not
 * copied. */
struct file_map {
	const uint8_t *p;
	size_t len;
	bool mapped;
};

/* As file_read, into *m (release with file_unmap). An empty file gives
 * p == NULL, len 0. */
int file_map(const char *path, size_t max_bytes, unsigned flags, const char *what,
	     struct file_map *m) __must_check;
void file_unmap(struct file_map *m);

#endif
