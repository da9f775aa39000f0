/* Unit tests for can/isotp.c: frames written by hand from ISO 15765-2's
 * protocol control information (and a published OBD trace) reassemble to
 * their PDUs; segmenting then reassembling gives back every length from
 * 1 to 300 bytes, padded or not, with sequence numbers wrapping; a lost,
 * repeated or foreign frame never yields a wrong PDU; the bus-bit figures
 * match the worked examples of the CAN frame format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "can/isotp.h"

static int feed(struct isotp_rx *rx, const char *hex, const uint8_t **pdu, size_t *len)
{
	uint8_t b[8];
	size_t n = 0;

	for (const char *p = hex; *p && n < 8; p++) {
		unsigned v;

		if (*p == ' ')
			continue;
		assert_int_equal(sscanf(p, "%2x", &v), 1);
		b[n++] = (uint8_t)v;
		p++;
	}
	return isotp_rx_frame(rx, b, n, pdu, len);
}

/* Single frame, as in the OBD example "7E8: 03 41 0D 12 ...": 41 0D 12. */
static void test_single_frame(void **state)
{
	static struct isotp_rx rx;
	const uint8_t *pdu;
	size_t len;
	(void)state;

	assert_int_equal(feed(&rx, "03 41 0D 12 AA AA AA AA", &pdu, &len), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(pdu, "\x41\x0d\x12", 3);
	/* unpadded: the frame is as long as its data */
	assert_int_equal(feed(&rx, "02 41 0D", &pdu, &len), 1);
	assert_int_equal(len, 2);
	/* length 0, above 7 or beyond the frame: malformed */
	assert_int_equal(feed(&rx, "00 41 0D", &pdu, &len), -EBADMSG);
	assert_int_equal(feed(&rx, "08 41 0D 12 00 00 00 00", &pdu, &len), -EBADMSG);
	assert_int_equal(feed(&rx, "05 41 0D", &pdu, &len), -EBADMSG);
}

/* The VIN answer of a published trace: "10 14 49 02 01 57 44 58", then
 * consecutive frames 21.. 22..: 20 bytes, 49 02 01 and 17 characters. */
static void test_multi_frame(void **state)
{
	static struct isotp_rx rx;
	const uint8_t *pdu;
	size_t len;
	(void)state;

	assert_int_equal(feed(&rx, "10 14 49 02 01 57 44 58", &pdu, &len), 0);
	assert_int_equal(feed(&rx, "30 00 00 AA AA AA AA AA", &pdu, &len), 0);   /* flow control: ignored */
	assert_int_equal(feed(&rx, "21 41 42 43 44 45 46 47", &pdu, &len), 0);
	assert_int_equal(feed(&rx, "22 48 49 4A 4B 4C 4D 4E", &pdu, &len), 1);
	assert_int_equal(len, 20);
	assert_memory_equal(pdu, "\x49\x02\x01WDXABCDEFGHIJKLMN", 20);

	/* A consecutive frame out of sequence drops the PDU. */
	assert_int_equal(feed(&rx, "10 14 49 02 01 57 44 58", &pdu, &len), 0);
	assert_int_equal(feed(&rx, "22 48 49 4A 4B 4C 4D 4E", &pdu, &len), -EILSEQ);
	assert_int_equal(feed(&rx, "21 41 42 43 44 45 46 47", &pdu, &len), 0);   /* no FF: ignored */
	/* A first frame that fits a single frame, or a short one: malformed. */
	assert_int_equal(feed(&rx, "10 07 49 02 01 57 44 58", &pdu, &len), -EBADMSG);
	assert_int_equal(feed(&rx, "10 14 49 02", &pdu, &len), -EBADMSG);
	/* A new single frame replaces a PDU in progress. */
	assert_int_equal(feed(&rx, "10 14 49 02 01 57 44 58", &pdu, &len), 0);
	assert_int_equal(feed(&rx, "02 41 00", &pdu, &len), 1);
	assert_int_equal(feed(&rx, "21 41 42 43 44 45 46 47", &pdu, &len), 0);
	/* A last consecutive frame too short for the bytes it owes. */
	assert_int_equal(feed(&rx, "10 08 01 02 03 04 05 06", &pdu, &len), 0);
	assert_int_equal(feed(&rx, "21 07", &pdu, &len), -EBADMSG);
	/* Not ISO-TP at all. */
	assert_int_equal(feed(&rx, "F0 00", &pdu, &len), 0);
}

static void roundtrip(size_t n, int pad)
{
	static struct isotp_rx rx;
	static uint8_t frames[600][8];
	uint8_t pdu_in[ISOTP_MAX_PDU], dlc[600];
	const uint8_t *pdu = NULL;
	size_t len = 0;
	int k, done = 0;

	for (size_t i = 0; i < n; i++)
		pdu_in[i] = (uint8_t)(i * 7 + n);
	k = isotp_segment(pdu_in, n, pad, frames, dlc, 600);
	assert_int_equal(k, (int)isotp_frames(n));
	for (int i = 0; i < k; i++) {
		if (pad >= 0)
			assert_int_equal(dlc[i], 8);
		/* the sequence number runs 1..15, 0, 1, ... */
		if (i > 0)
			assert_int_equal(frames[i][0], 0x20 | (i & 0x0f));
		done += isotp_rx_frame(&rx, frames[i], dlc[i], &pdu, &len);
		assert_int_equal(done, i == k - 1 ? 1 : 0);
	}
	assert_int_equal(len, n);
	assert_memory_equal(pdu, pdu_in, n);
	if (pad >= 0 && k == 1 && n < 7)
		assert_int_equal(frames[0][7], pad);
}

static void test_roundtrip(void **state)
{
	uint8_t frames[2][8], dlc[2], b[8] = { 0 };
	(void)state;

	for (size_t n = 1; n <= 300; n++) {
		roundtrip(n, -1);
		roundtrip(n, 0xaa);
	}
	roundtrip(ISOTP_MAX_PDU, 0x55);
	assert_int_equal(isotp_segment(b, 0, -1, frames, dlc, 2), -EINVAL);
	assert_int_equal(isotp_segment(b, ISOTP_MAX_PDU + 1, -1, frames, dlc, 2), -EINVAL);
	assert_int_equal(isotp_segment(b, 20, -1, frames, dlc, 2), -E2BIG);
	assert_int_equal(isotp_frames(7), 1);
	assert_int_equal(isotp_frames(8), 2);
	assert_int_equal(isotp_frames(13), 2);
	assert_int_equal(isotp_frames(14), 3);
	assert_int_equal(isotp_flow_control(0xcc, b), 8);
	assert_memory_equal(b, "\x30\x00\x00\xcc\xcc\xcc\xcc\xcc", 8);
	assert_int_equal(isotp_flow_control(-1, b), 3);
}

/* Bits of a frame: the worked examples of the classic CAN format (an
 * 8-byte frame: 135 bits with an 11-bit id, 160 with a 29-bit one; a
 * 3-byte J1939 request: 110). */
static void test_frame_bits(void **state)
{
	(void)state;
	assert_int_equal(can_frame_bits(false, 8), 135);
	assert_int_equal(can_frame_bits(true, 8), 160);
	assert_int_equal(can_frame_bits(true, 3), 110);
	assert_int_equal(can_frame_bits(false, 0), 47 + 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_frame),
		cmocka_unit_test(test_multi_frame),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_frame_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
