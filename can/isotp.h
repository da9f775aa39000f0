/* isotp — ISO 15765-2 framing as it appears in a candump log.
 *
 * eco2d's live requests go through the kernel's CAN_ISOTP sockets
 * (source_isotp.c), which segment, reassemble and send flow control
 * themselves. This module only reads and writes the frames of a LOG: it
 * reassembles the answers a recorded polling session carries (so a log of
 * a polled car replays through the same decoding as the live poller), and
 * segments the answers eco2-sim writes into its logs. Classic CAN only
 * (8-byte frames); a PDU is at most ISOTP_MAX_PDU bytes (the 12-bit
 * first-frame length; the 32-bit escape is not used by OBD or UDS reads).
 *
 * Protocol control information, first byte of each frame (high nibble):
 *   0 single frame   low nibble = length 1..7, data follows
 *   1 first frame    12-bit length (low nibble, next byte), 6 data bytes
 *   2 consecutive    low nibble = sequence number 1..15, 0, 1, ...; 7 bytes
 *   3 flow control   sent by the receiver; carries no data */
#ifndef ECO2_ISOTP_H
#define ECO2_ISOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"

#define ISOTP_MAX_PDU 4095u
#define ISOTP_SF_MAX 7u          /* data bytes in a single frame */

/* Reassembly state of one sender (one CAN id). Zero it to start. */
struct isotp_rx {
	uint8_t buf[ISOTP_MAX_PDU];
	size_t len;                  /* bytes received so far */
	size_t want;                 /* the first frame's announced length */
	uint8_t sn;                  /* next consecutive-frame sequence number */
	bool active;                 /* a first frame started a PDU */
};

/* Feed the data bytes of one frame (dlc <= 8) sent by this rx's sender.
 * Returns 1 when a PDU is complete (*pdu, *len valid until the next call),
 * 0 when more frames are needed or the frame carries no PDU data (flow
 * control, a consecutive frame with no first frame before it, a padding
 * byte pattern), -EILSEQ for a consecutive frame out of sequence and
 * -EBADMSG for a malformed frame (both drop the PDU in progress, as the
 * kernel's receiver does). */
int isotp_rx_frame(struct isotp_rx *rx, const uint8_t *data, size_t dlc,
		   const uint8_t **pdu, size_t *len) __must_check;

/* Segment a PDU (1..ISOTP_MAX_PDU bytes) into frames of 8 bytes padded
 * with `pad`, or of their shortest length when pad < 0. frames[i] gets
 * the bytes, dlc[i] their count. Returns the number of frames, -EINVAL
 * for a bad length, -E2BIG when `max` frames are too few. The receiver's
 * flow control frame is not among them (isotp_flow_control). */
int isotp_segment(const uint8_t *pdu, size_t len, int pad, uint8_t (*frames)[8],
		  uint8_t *dlc, size_t max) __must_check;

/* The receiver's "continue to send" flow control frame (block size 0:
 * all frames at once, STmin 0), padded as above; returns its dlc. */
unsigned isotp_flow_control(int pad, uint8_t frame[8]);

/* Frames one PDU of len bytes takes on the bus from its sender: 1 for a
 * single frame, else 1 + ceil((len - 6) / 7). */
unsigned isotp_frames(size_t len);

/* Worst-case length in bits of a classic CAN data frame with `dlc` data
 * bytes, stuff bits and the 3-bit interframe space included:
 *   11-bit id: 47 + 8 dlc + floor((34 + 8 dlc - 1) / 4)
 *   29-bit id: 67 + 8 dlc + floor((54 + 8 dlc - 1) / 4)
 * (an 8-byte frame: 135 and 160 bits). */
unsigned can_frame_bits(bool ext, unsigned dlc);

#endif
