/* canlog — candump log lines: a hand-written scanner (no sscanf, no strtod),
 * since replaying long logs is a hot path (millions of lines a second). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lib/bytes.h"
#include "lib/log.h"
#include "can/canlog.h"


/* CAN FD DLC code -> length, and the smallest code holding a length. */
static const uint8_t fd_dlc2len[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64 };

static uint8_t fd_len2dlc(unsigned len)
{
	for (uint8_t dlc = 0; dlc < 16; dlc++)
		if (fd_dlc2len[dlc] >= len)
			return dlc;
	return 15;
}

/* Value of the 8 ASCII decimal digits at p, or -1 if one is not a digit
 * (SWAR: validate all bytes, then combine pairs, quads and halves). */
static inline int64_t digits8(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	v = le64toh(v);
	if (((v & 0xF0F0F0F0F0F0F0F0ull) |
	     (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) != 0x3333333333333333ull)
		return -1;
	v = (v & 0x0F0F0F0F0F0F0F0Full) * 2561 >> 8;
	v = (v & 0x00FF00FF00FF00FFull) * 6553601 >> 16;
	return (int64_t)((v & 0x0000FFFF0000FFFFull) * 42949672960001ull >> 32);
}

/* The 4 bytes of the 8 ASCII hex digits at p (upper or lower case, the
 * first digit the high nibble of the first byte) into out; false, and
 * nothing written, if one of the 8 is not a hex digit. SWAR: validate all
 * bytes by range, then combine nibbles, pairs and halves. */
static inline bool hex8(const unsigned char *p, uint8_t *out)
{
	uint64_t v;

	memcpy(&v, p, 8);
	v = le64toh(v);
	if (v & 0x8080808080808080ull)
		return false;
	uint64_t l = v | 0x2020202020202020ull;   /* letters to lower case; digits stay */
	/* per byte, x >= a: (x + 0x80 - a) has bit 7; x > b: (x + 0x7f - b) has it */
	uint64_t digit = (l + 0x5050505050505050ull) & ~(l + 0x4646464646464646ull);   /* '0'..'9' */
	uint64_t alpha = (l + 0x1f1f1f1f1f1f1f1full) & ~(l + 0x1919191919191919ull);   /* 'a'..'f' */
	if (((digit | alpha) & 0x8080808080808080ull) != 0x8080808080808080ull)
		return false;
	/* nibble values: c & 15, plus 9 for letters (bit 6) */
	uint64_t n = (l & 0x0f0f0f0f0f0f0f0full) + ((l >> 6) & 0x0101010101010101ull) * 9;
	/* byte pairs (first, second) -> first << 4 | second, in each 16-bit lane */
	n = ((n & 0x000f000f000f000full) << 4) | ((n & 0x0f000f000f000f00ull) >> 8);
	n = (n | (n >> 8)) & 0x0000ffff0000ffffull;
	n = (n | (n >> 16)) & 0x00000000ffffffffull;
	uint32_t w = htole32((uint32_t)n);
	memcpy(out, &w, 4);
	return true;
}

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int fail(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EINVAL;
}

/* The run of decimal digits at *p (up to end) added onto *v, *p moved past
 * it; returns how many digits. No overflow check: the caller refuses a
 * count that could have overflowed. */
static inline unsigned decimal_run(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	const unsigned char *d0 = *p, *q = *p;

	for (; q < end; q++) {
		unsigned c = (unsigned)*q - '0';
		if (c > 9)
			break;
		*v = *v * 10 + c;
	}
	*p = q;
	return (unsigned)(q - d0);
}

int canlog_parse_line(const char *line, size_t len, struct can_frame_rec *out,
		      const char **why)
{
	const unsigned char *p = (const unsigned char *)line;
	const unsigned char *end = p + len;
	uint64_t sec = 0, frac = 0;
	unsigned nd;

	/* Trailing newline, CR and blanks are not part of the frame. */
	while (end > p && (end[-1] == '\n' || end[-1] == '\r' || is_blank((char)end[-1])))
		end--;
	while (p < end && is_blank((char)*p))
		p++;
	if (p == end || *p == '#')
		return -ENODATA;

	memset(out, 0, sizeof(*out));

	/* (SECONDS.FRACTION) */
	if (*p != '(')
		return fail(why, "expected '(' and a timestamp");
	/* what candump writes, "(SSSSSSSSSS.uuuuuu)", in two 8-digit steps;
	 * anything else takes the general path below */
	if (end - p >= 20 && p[11] == '.' && p[18] == ')') {
		int64_t hi = digits8(p + 1);
		unsigned d8 = (unsigned)p[9] - '0', d9 = (unsigned)p[10] - '0';
		/* "S." before the 6 fraction digits, overwritten with "00" */
		uint64_t w;
		memcpy(&w, p + 10, 8);
		w = htole64((le64toh(w) & ~0xFFFFull) | 0x3030u);
		int64_t us = digits8((const unsigned char *)&w);
		if (hi >= 0 && d8 <= 9 && d9 <= 9 && us >= 0) {
			out->t_ns = ((uint64_t)hi * 100 + (uint64_t)d8 * 10 + d9) * 1000000000u + (uint64_t)us * 1000u;
			p += 19;
			goto iface;
		}
	}
	p++;
	/* At most 11 digits fit (2^64 ns is 18446744073 s): judged by the
	 * digit count. */
	nd = decimal_run(&p, end, &sec);
	if (nd == 0)
		return fail(why, "expected decimal seconds after '('");
	if (nd > 11 || sec > UINT64_MAX / 1000000000u - 1)
		return fail(why, "timestamp seconds out of range");
	/* Any number of fraction digits (candump writes 6, other tools 3 or
	 * 9, some none): nanoseconds are the first 9, the rest is dropped. */
	if (p < end && *p == '.') {
		static const uint32_t scale[10] = { 1000000000, 100000000, 10000000, 1000000,
						    100000, 10000, 1000, 100, 10, 1 };
		p++;
		nd = 0;
		for (; p < end && (unsigned)*p - '0' <= 9; p++, nd++)
			if (nd < 9)
				frac = frac * 10 + (unsigned)(*p - '0');
		frac *= scale[nd < 9 ? nd : 9];
	} else if (p == end || *p != ')') {
		return fail(why, "expected '.' and fraction digits, or ')', after the timestamp's seconds");
	}
	if (p == end || *p != ')')
		return fail(why, "expected ')' after the timestamp");
	p++;
	out->t_ns = sec * 1000000000u + frac;

iface:
	/* IFACE: printable, no blanks, up to 15 bytes */
	if (p == end || !is_blank((char)*p))
		return fail(why, "expected a blank after the timestamp");
	while (p < end && is_blank((char)*p))
		p++;
	const unsigned char *d0 = p;
	while (p < end && *p > 0x20 && *p != 0x7f)
		p++;
	nd = (unsigned)(p - d0);
	if (p < end && !is_blank((char)*p))
		return fail(why, "control character in the interface name");
	if (nd == 0)
		return fail(why, "expected an interface name");
	if (nd >= sizeof(out->iface))
		return fail(why, "interface name longer than 15 characters");
	memcpy(out->iface, d0, nd);
	while (p < end && is_blank((char)*p))
		p++;

	/* ID: 3 or 8 hex digits, then '#' */
	uint32_t id = 0;
	const unsigned char *id_start = p;
	for (; p < end; p++) {   /* a count other than 3 or 8 is refused below */
		int v = hex_digit(*p);
		if (v < 0)
			break;
		id = (id << 4) | (uint32_t)v;
	}
	if (p == end || *p != '#')
		return fail(why, "expected a CAN id of 3 or 8 hex digits and '#'");
	if (p - id_start == 3) {
		if (id > CAN_SFF_MAX)
			return fail(why, "standard CAN id above 0x7FF");
		out->id = id;
	} else if (p - id_start == 8) {
		if (id & 0xc0000000u)
			return fail(why, "CAN id above 0x3FFFFFFF (only the error flag 0x20000000 may be set)");
		if (id & CANREC_ERR_FLAG) {
			out->flags |= CANREC_ERR;
			out->id = id & CAN_EFF_MAX;
		} else {
			out->flags |= CANREC_EXT;
			out->id = id;
		}
	} else {
		return fail(why, "expected a CAN id of 3 or 8 hex digits");
	}
	p++;   /* '#' */

	unsigned max = 8;
	if (p < end && *p == '#') {
		if (out->flags & CANREC_ERR)
			return fail(why, "error frames cannot be CAN FD");
		p++;
		if (p == end || hex_digit(*p) < 0)
			return fail(why, "expected a hex flags nibble after '##'");
		unsigned fl = (unsigned)hex_digit(*p++);
		out->flags |= CANREC_FD;
		if (fl & 1)
			out->flags |= CANREC_BRS;
		if (fl & 2)
			out->flags |= CANREC_ESI;
		max = 64;
	} else if (p < end && (*p == 'R' || *p == 'r')) {
		if (out->flags & CANREC_ERR)
			return fail(why, "error frames cannot be remote frames");
		p++;
		out->flags |= CANREC_RTR;
		if (p < end && *p >= '0' && *p <= '8')
			out->len = (uint8_t)(*p++ - '0');
		out->raw_dlc = out->len;
		if (p < end && *p == '_') {
			p++;
			if (out->len != 8 || p == end || hex_digit(*p) < 9)
				return fail(why, "raw DLC '_X' needs DLC 8 and X in 9..F");
			out->raw_dlc = (uint8_t)hex_digit(*p++);
		}
		goto tail;
	}

	/* DATA */
	unsigned n = 0;
	for (;;) {
		/* pairs of hex digits; '.' may separate bytes. Runs of 8 digits
		 * (4 bytes) that fit take the fast path; the rest, and every
		 * error, the pair loop. */
		while (end - p >= 8 && n + 4 <= max && hex8(p, out->data + n)) {
			n += 4;
			p += 8;
		}
		while (p + 1 < end) {
			int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
			if ((hi | lo) < 0)
				break;
			if (n >= max)
				return fail(why, max == 8 ? "more than 8 data bytes in a classic frame"
							  : "more than 64 data bytes in a CAN FD frame");
			out->data[n++] = (uint8_t)(hi << 4 | lo);
			p += 2;
		}
		if (p < end && hex_digit(*p) >= 0)
			return fail(why, "expected an even number of hex data digits");
		if (p < end && *p == '.') {
			p++;
			continue;
		}
		break;
	}
	out->len = (uint8_t)n;
	if (out->flags & CANREC_FD) {
		out->raw_dlc = fd_len2dlc(n);
		if (fd_dlc2len[out->raw_dlc] != n)
			return fail(why, "CAN FD length must be 0..8, 12, 16, 20, 24, 32, 48 or 64 bytes");
	} else {
		out->raw_dlc = (uint8_t)n;
		if (p < end && *p == '_') {
			p++;
			if (n != 8 || p == end || hex_digit(*p) < 9)
				return fail(why, "raw DLC '_X' needs 8 data bytes and X in 9..F");
			out->raw_dlc = (uint8_t)hex_digit(*p++);
		}
	}

tail:
	/* candump -x appends a direction marker; accept " R" / " T". */
	while (p < end && is_blank((char)*p))
		p++;
	if (p < end && (*p == 'R' || *p == 'T') && p[-1] != '#' && is_blank((char)p[-1])) {
		p++;
		while (p < end && is_blank((char)*p))
			p++;
	}
	if (p != end)
		return fail(why, "unexpected text after the frame");
	return 0;
}

static const char hexdig[16] = "0123456789ABCDEF";

static char *put_hex(char *q, uint32_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		*q++ = hexdig[(v >> (4 * i)) & 0xf];
	return q;
}

int canlog_format(const struct can_frame_rec *f, char *buf, size_t size)
{
	char tmp[CANLOG_LINE_MAX];
	char *q = tmp;
	uint64_t sec = f->t_ns / 1000000000u, ns = f->t_ns % 1000000000u;
	int n;

	if (f->len > 64 || (!(f->flags & CANREC_FD) && f->len > 8))
		return -EINVAL;
	if ((f->flags & (CANREC_EXT | CANREC_ERR)) ? f->id > CAN_EFF_MAX : f->id > CAN_SFF_MAX)
		return -EINVAL;
	if (!memchr(f->iface, '\0', sizeof(f->iface)))
		return -EINVAL;

	if (ns % 1000 == 0)
		n = snprintf(q, sizeof(tmp), "(%010llu.%06llu) %s ", (unsigned long long)sec,
			     (unsigned long long)(ns / 1000), f->iface[0] ? f->iface : "can0");
	else
		n = snprintf(q, sizeof(tmp), "(%010llu.%09llu) %s ", (unsigned long long)sec,
			     (unsigned long long)ns, f->iface[0] ? f->iface : "can0");
	if (n < 0 || (size_t)n >= sizeof(tmp) - 150)
		return -EINVAL;
	q += n;

	if (f->flags & CANREC_ERR)
		q = put_hex(q, f->id | CANREC_ERR_FLAG, 8);
	else if (f->flags & CANREC_EXT)
		q = put_hex(q, f->id, 8);
	else
		q = put_hex(q, f->id, 3);
	*q++ = '#';

	if ((f->flags & CANREC_RTR) && !(f->flags & (CANREC_FD | CANREC_ERR))) {
		*q++ = 'R';
		if (f->len) {
			*q++ = hexdig[f->len];
			if (f->len == 8 && f->raw_dlc > 8 && f->raw_dlc <= 15) {
				*q++ = '_';
				*q++ = hexdig[f->raw_dlc];
			}
		}
	} else {
		if (f->flags & CANREC_FD) {
			*q++ = '#';
			*q++ = hexdig[4 | ((f->flags & CANREC_BRS) ? 1 : 0) | ((f->flags & CANREC_ESI) ? 2 : 0)];
		}
		for (unsigned i = 0; i < f->len; i++) {
			*q++ = hexdig[f->data[i] >> 4];
			*q++ = hexdig[f->data[i] & 0xf];
		}
		if (!(f->flags & CANREC_FD) && f->len == 8 && f->raw_dlc > 8 && f->raw_dlc <= 15) {
			*q++ = '_';
			*q++ = hexdig[f->raw_dlc];
		}
	}
	*q++ = '\n';
	*q = '\0';
	if ((size_t)(q - tmp) + 1 > size)
		return -ENOSPC;
	memcpy(buf, tmp, (size_t)(q - tmp) + 1);
	return (int)(q - tmp);
}

/* ---- streaming reader ----------------------------------------------------
 * One line reader for every candump input: a regular file, a pipe or
 * socket (fed by candump as the bus runs), or a stdio stream (tests). It
 * owns the framing: lines of at most 4096 bytes, a last line without its
 * newline, blank and comment lines skipped, malformed lines counted and
 * reported as "name:line: why" (rate-limited). */

#define READER_BUF  ((size_t)256 * 1024)
#define LINE_MAX_B  4096

struct canlog_reader {
	FILE *f;             /* a stdio stream (canlog_open_file), or ... */
	int fd;              /* ... a file descriptor (canlog_open); -1 */
	bool own;            /* close f or fd in canlog_close */
	bool stream;         /* a pipe or socket */
	char *name;
	char *buf;           /* READER_BUF bytes */
	size_t pos, fill;    /* unread bytes are buf[pos..fill) */
	bool eof;
	bool skipping;       /* inside an over-long line */
	unsigned long lines, bad;
	struct log_ratelimit rl;
};

static int reader_new(canlog_reader_t **out, FILE *f, int fd, const char *name)
{
	canlog_reader_t *r = calloc(1, sizeof(*r));
	int ret = -ENOMEM;

	if (!r)
		goto out;
	r->f = f;
	r->fd = fd;
	r->name = strdup(name ? name : "(stream)");
	r->buf = malloc(READER_BUF);
	if (!r->name || !r->buf)
		goto out;
	r->rl.interval_s = 5;
	r->rl.burst = 20;
	*out = r;
	r = NULL;
	ret = 0;
out:
	if (r)
		r->fd = -1;   /* the caller's, on failure */
	canlog_close(r);
	return ret;
}

int canlog_open_file(canlog_reader_t **out, FILE *f, const char *name)
{
	return reader_new(out, f, -1, name);
}

int canlog_open(canlog_reader_t **out, const char *path)
{
	struct stat st;
	int fd, ret;

	/* A FIFO is opened blocking: it waits for its writer, as candump's
	 * pipe would be there already. */
	if (!strcmp(path, "-"))
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		log_err("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (S_ISDIR(st.st_mode)) {
		log_err("%s: a directory, not a log", path);
		close(fd);
		return -EISDIR;
	}
	ret = reader_new(out, NULL, fd, strcmp(path, "-") ? path : "(stdin)");
	if (ret) {
		close(fd);
		return ret;
	}
	(*out)->own = true;
	(*out)->stream = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
	return 0;
}

int canlog_fd(const canlog_reader_t *r)
{
	return r->fd;
}

bool canlog_is_stream(const canlog_reader_t *r)
{
	return r->stream;
}

/* Read once into buf[fill..): 1 got bytes, 0 end of input or the buffer
 * is full, -EAGAIN no read allowed, -errno a read error (reported). */
static int refill(canlog_reader_t *r, unsigned *reads_left)
{
	ssize_t n;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->fill - r->pos);
		r->fill -= r->pos;
		r->pos = 0;
	}
	if (r->eof || r->fill == READER_BUF)
		return 0;
	if (reads_left) {
		if (!*reads_left)
			return -EAGAIN;
		(*reads_left)--;
	}
	if (r->f) {
		n = (ssize_t)fread(r->buf + r->fill, 1, READER_BUF - r->fill, r->f);
		if (n == 0 && ferror(r->f))
			n = -1;
	} else {
		do
			n = read(r->fd, r->buf + r->fill, READER_BUF - r->fill);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN)
			return -EAGAIN;
	}
	if (n < 0) {
		int e = errno ? errno : EIO;
		log_err("%s: read error: %s", r->name, strerror(e));
		return -e;
	}
	if (n == 0)
		r->eof = true;
	r->fill += (size_t)n;
	return n > 0;
}

static void bad_line(canlog_reader_t *r, const char *why)
{
	r->bad++;
	log_rl(&r->rl, LOG_WARNING, "%s:%lu: %s", r->name, r->lines, why);
}

int canlog_next_ready(canlog_reader_t *r, struct can_frame_rec *out, unsigned *reads_left)
{
	for (;;) {
		char *start = r->buf + r->pos;
		char *nl = memchr(start, '\n', r->fill - r->pos);
		size_t llen;

		if (!nl) {
			if (r->fill - r->pos >= LINE_MAX_B && !r->skipping) {
				/* Too long to be a frame: report once, drop to its newline. */
				r->lines++;
				bad_line(r, "line longer than 4096 bytes");
				r->skipping = true;
			}
			if (r->skipping) {
				r->pos = r->fill;
			}
			int got = refill(r, reads_left);
			if (got < 0)
				return got;
			if (got > 0)
				continue;
			/* EOF: a last line without newline is still a line. */
			if (r->fill == r->pos) {
				r->skipping = false;
				return 0;
			}
			start = r->buf + r->pos;
			llen = r->fill - r->pos;
			r->pos = r->fill;
		} else {
			llen = (size_t)(nl - start);
			r->pos += llen + 1;
		}
		if (r->skipping) {
			r->skipping = false;
			continue;
		}
		r->lines++;
		if (llen > LINE_MAX_B) {
			bad_line(r, "line longer than 4096 bytes");
			continue;
		}
		const char *why = NULL;
		int ret = canlog_parse_line(start, llen, out, &why);
		if (ret == 0)
			return 1;
		if (ret == -ENODATA)
			continue;
		bad_line(r, why ? why : "malformed line");
	}
}

int canlog_next(canlog_reader_t *r, struct can_frame_rec *out)
{
	return canlog_next_ready(r, out, NULL);
}

unsigned long canlog_lines(const canlog_reader_t *r)
{
	return r->lines;
}

unsigned long canlog_bad_lines(const canlog_reader_t *r)
{
	return r->bad;
}

void canlog_close(canlog_reader_t *r)
{
	if (!r)
		return;
	if (r->own && r->f)
		fclose(r->f);
	if (r->own && r->fd >= 0)
		close(r->fd);
	free(r->name);
	free(r->buf);
	free(r);
}
