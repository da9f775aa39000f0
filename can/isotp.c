/* isotp — ISO 15765-2 framing of logs (see isotp.h). */
#include <errno.h>
#include <string.h>

#include "can/isotp.h"

static void rx_drop(struct isotp_rx *rx)
{
	rx->active = false;
	rx->len = 0;
	rx->want = 0;
}

int isotp_rx_frame(struct isotp_rx *rx, const uint8_t *data, size_t dlc,
		   const uint8_t **pdu, size_t *len)
{
	size_t n;

	if (dlc == 0 || dlc > 8)
		return 0;
	switch (data[0] >> 4) {
	case 0:   /* single frame: a new PDU replaces any in progress */
		n = data[0] & 0x0f;
		rx_drop(rx);
		if (n == 0 || n > ISOTP_SF_MAX || n + 1 > dlc)
			return -EBADMSG;
		memcpy(rx->buf, data + 1, n);
		*pdu = rx->buf;
		*len = n;
		return 1;
	case 1:   /* first frame */
		rx_drop(rx);
		if (dlc < 8)
			return -EBADMSG;
		n = (size_t)(data[0] & 0x0f) << 8 | data[1];
		/* A length that fits a single frame is malformed; 0 is the
		 * 32-bit escape, not used here. */
		if (n <= ISOTP_SF_MAX)
			return -EBADMSG;
		memcpy(rx->buf, data + 2, 6);
		rx->len = 6;
		rx->want = n;
		rx->sn = 1;
		rx->active = true;
		return 0;
	case 2:   /* consecutive frame */
		if (!rx->active)
			return 0;
		if ((data[0] & 0x0f) != rx->sn) {
			rx_drop(rx);
			return -EILSEQ;
		}
		n = rx->want - rx->len;
		if (n > 7)
			n = 7;
		if (dlc < n + 1) {
			rx_drop(rx);
			return -EBADMSG;
		}
		memcpy(rx->buf + rx->len, data + 1, n);
		rx->len += n;
		rx->sn = (rx->sn + 1) & 0x0f;
		if (rx->len < rx->want)
			return 0;
		rx->active = false;
		*pdu = rx->buf;
		*len = rx->len;
		return 1;
	default:  /* flow control (3) travels the other way; 4..F are not ISO-TP */
		return 0;
	}
}

static uint8_t finish(uint8_t *frame, size_t used, int pad)
{
	if (pad < 0)
		return (uint8_t)used;
	memset(frame + used, pad & 0xff, 8 - used);
	return 8;
}

int isotp_segment(const uint8_t *pdu, size_t len, int pad, uint8_t (*frames)[8],
		  uint8_t *dlc, size_t max)
{
	size_t off, k = 0;

	if (len == 0 || len > ISOTP_MAX_PDU)
		return -EINVAL;
	if (max < isotp_frames(len))
		return -E2BIG;
	if (len <= ISOTP_SF_MAX) {
		frames[0][0] = (uint8_t)len;
		memcpy(frames[0] + 1, pdu, len);
		dlc[0] = finish(frames[0], len + 1, pad);
		return 1;
	}
	frames[0][0] = (uint8_t)(0x10 | len >> 8);
	frames[0][1] = (uint8_t)len;
	memcpy(frames[0] + 2, pdu, 6);
	dlc[0] = 8;
	off = 6;
	for (k = 1; off < len; k++) {
		size_t n = len - off > 7 ? 7 : len - off;

		frames[k][0] = (uint8_t)(0x20 | (k & 0x0f));
		memcpy(frames[k] + 1, pdu + off, n);
		dlc[k] = finish(frames[k], n + 1, pad);
		off += n;
	}
	return (int)k;
}

unsigned isotp_flow_control(int pad, uint8_t frame[8])
{
	frame[0] = 0x30;   /* continue to send */
	frame[1] = 0;      /* block size: no further flow control */
	frame[2] = 0;      /* STmin: as fast as the sender likes */
	return finish(frame, 3, pad);
}

unsigned isotp_frames(size_t len)
{
	if (len <= ISOTP_SF_MAX)
		return 1;
	return 1 + (unsigned)((len - 6 + 6) / 7);
}

unsigned can_frame_bits(bool ext, unsigned dlc)
{
	unsigned stuffed = (ext ? 54 : 34) + 8 * dlc;

	return (ext ? 67 : 47) + 8 * dlc + (stuffed - 1) / 4;
}
