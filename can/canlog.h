/* canlog — candump log files (can-utils `candump -l` format), read and write.
 *
 * One frame a line:
 *
 *     (SECONDS.FRACTION) IFACE FRAME
 *     (1700000000.001000) can0 123#DEADBEEF
 *
 * SECONDS is decimal (candump pads it to 10 digits), FRACTION has 6
 * (microseconds) or 9 (nanoseconds) digits. FRAME is one of
 *
 *     123#DEADBEEF            classic, 3 hex digits: standard 11-bit id
 *     12345678#DEADBEEF       classic, 8 hex digits: extended 29-bit id
 *     123#1122334455667788_C  classic 8 bytes with raw DLC 9..F
 *     123#R  123#R4  123#R8_C remote frame, optional DLC, optional raw DLC
 *     123##5DEADBEEF          CAN FD: flags nibble (1 BRS, 2 ESI, 4 FDF),
 *                             then 0..64 data bytes
 *     20000080#0000000000000000   error frame: 8 digits with bit 0x20000000
 *
 * Data bytes are pairs of hex digits, optionally separated by '.' as cansend
 * accepts. The candump -x direction marker (" R" / " T") after the frame is
 * accepted and ignored; so are trailing blanks and a CR before the newline.
 */
#ifndef ECO2_CANLOG_H
#define ECO2_CANLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/compiler.h"

/* struct can_frame_rec.flags */
#define CANREC_EXT 0x01   /* 29-bit identifier */
#define CANREC_FD  0x02   /* CAN FD frame */
#define CANREC_RTR 0x04   /* remote transmission request (classic only) */
#define CANREC_ERR 0x08   /* error frame: id holds the error class bits */
#define CANREC_BRS 0x10   /* FD bit rate switch */
#define CANREC_ESI 0x20   /* FD error state indicator */

#define CANREC_ERR_FLAG 0x20000000u   /* candump's id bit for error frames */
#define CAN_SFF_MAX     0x7ffu
#define CAN_EFF_MAX     0x1fffffffu

/* One CAN or CAN FD frame from any source (log, SocketCAN, simulator). */
struct can_frame_rec {
	uint64_t t_ns;      /* receive time, ns since the Unix epoch */
	uint32_t id;        /* CAN id without flag bits (<= CAN_EFF_MAX) */
	uint8_t flags;      /* CANREC_* */
	uint8_t len;        /* payload bytes: 0..8 classic, 0..64 FD; for RTR the requested DLC */
	uint8_t raw_dlc;    /* the DLC field on the wire: = len, or 9..15 for a
			     * classic 8-byte frame sent with a raw DLC (the "_X");
			     * for FD the DLC code of len */
	char iface[16];     /* interface name, NUL-terminated */
	uint8_t data[64];   /* payload; bytes past len are zero after parsing */
};

/* Longest line canlog_format() writes, with the NUL: "(" 20 digits "." 9
 * digits ") " 15-char iface " " 8-digit id "##" nibble 128 hex + "\n". */
#define CANLOG_LINE_MAX 200

/* Parse one log line (without or with its trailing newline; `len` bytes,
 * need not be NUL-terminated). Pure: no allocation, no logging, no locale.
 * Returns 0 and fills *out; -ENODATA for a blank line or a '#' comment
 * (nothing to report); -EINVAL for a malformed line with *why (if `why` is
 * not NULL) set to a static string saying what was expected. */
int canlog_parse_line(const char *line, size_t len, struct can_frame_rec *out,
		      const char **why) __must_check;

/* Write `f` as candump -l does, followed by '\n' and a NUL. The fraction
 * has 6 digits when t_ns is a whole microsecond, else 9; an empty iface is
 * written as "can0". FD frames are
 * written with the flags nibble 4 (FDF) | BRS | ESI, as current candump does.
 * Returns the length written without the NUL, or -ENOSPC if `size` is too
 * small (CANLOG_LINE_MAX always suffices), -EINVAL for an impossible frame
 * (len > 64, classic len > 8, id out of range). */
int canlog_format(const struct can_frame_rec *f, char *buf, size_t size) __must_check;

/* Streaming reader: the one line reader for candump input. Malformed
 * lines are logged as "name:line: why" (rate-limited) and counted;
 * reading goes on. Lines longer than 4 KiB count as malformed; a last
 * line without its newline is a line. */
typedef struct canlog_reader canlog_reader_t;

/* Open `path` ("-" is stdin): a regular file, or a pipe or socket (a FIFO
 * is opened as such, waiting for its writer). *out is freed with
 * canlog_close(). */
int canlog_open(canlog_reader_t **out, const char *path) __must_check;

/* Read from an open stdio stream; `name` is used in messages (copied).
 * The stream is not closed by canlog_close(). */
int canlog_open_file(canlog_reader_t **out, FILE *f, const char *name) __must_check;

/* Next frame: returns 1 and fills *out, 0 at end of input, -errno on a
 * read error (reported). Blocks on a pipe until a line or its end
 * arrives. */
int canlog_next(canlog_reader_t *r, struct can_frame_rec *out) __must_check;

/* The event-loop form of canlog_next: reads from the input at most
 * *reads_left times (each read counts down), so that one call per
 * readiness of canlog_fd() never blocks. -EAGAIN when the next frame
 * needs more input than that; 1 and 0 as canlog_next. */
int canlog_next_ready(canlog_reader_t *r, struct can_frame_rec *out,
		      unsigned *reads_left) __must_check;

/* The descriptor read from (-1 for a stdio stream), and whether it is a
 * pipe or socket, whose data arrive as they are written. */
int canlog_fd(const canlog_reader_t *r);
bool canlog_is_stream(const canlog_reader_t *r);

unsigned long canlog_lines(const canlog_reader_t *r);      /* lines read so far */
unsigned long canlog_bad_lines(const canlog_reader_t *r);  /* malformed lines so far */

void canlog_close(canlog_reader_t *r);   /* NULL is fine */

#endif
