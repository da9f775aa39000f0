/* Unit tests for can/diag.c: answers classified against their request
 * (positive, negative, pending, foreign), fields decoded as the published
 * layouts say (values worked by hand: PID A6 0.1 km/bit; PID 9A voltage
 * 1/64 V and current 0.1 A - 3276.8 A; a UDS page with a signed big-endian
 * current and a status bit), the NRC policy, J1939 NACKs, bus bits per
 * request, the state model, and the log listener finding answers among
 * other frames. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "can/diag.h"
#include "can/isotp.h"

#define assert_close(a, b) assert_true(fabs((a) - (b)) < 1e-9 * (fabs(b) + 1))

static struct diag_field field(enum eco2_role role, unsigned pos, unsigned len, double scale,
			       double offset)
{
	struct diag_field f = { .role = role, .pos = (uint16_t)pos, .len = (uint8_t)len,
				.scale = scale, .offset = offset, .factor = 1 };
	return f;
}

static void test_obd(void **state)
{
	struct diag_req r = { .kind = DIAG_ISOTP, .tx_id = 0x7e0, .rx_id = 0x7e8,
			      .req = { 0x01, 0xa6 }, .req_len = 2, .n_fields = 1 };
	struct eco2_sample s[4];
	uint8_t nrc = 0;
	(void)state;

	r.fields[0] = field(ROLE_ODOMETER, 0, 4, 0.1, 0);
	r.fields[0].factor = 1000;   /* km -> m */
	/* 41 A6 00 01 E2 40: 123456 x 0.1 km */
	const uint8_t ans[] = { 0x41, 0xa6, 0x00, 0x01, 0xe2, 0x40 };
	assert_int_equal(diag_classify(&r, ans, sizeof(ans), &nrc), DIAG_POSITIVE);
	assert_int_equal(diag_decode(&r, ans, sizeof(ans), 5, s, 4), 1);
	assert_int_equal(s[0].role, ROLE_ODOMETER);
	assert_int_equal(s[0].t_ns, 5);
	assert_close(s[0].value, 12345600.0);
	/* too short for the field: nothing */
	assert_int_equal(diag_decode(&r, ans, 5, 5, s, 4), 0);
	/* another PID, another service, a stale answer */
	const uint8_t other[] = { 0x41, 0x0d, 0x12 };
	assert_int_equal(diag_classify(&r, other, sizeof(other), &nrc), DIAG_FOREIGN);
	const uint8_t neg[] = { 0x7f, 0x01, 0x12 };
	assert_int_equal(diag_classify(&r, neg, sizeof(neg), &nrc), DIAG_NEGATIVE);
	assert_int_equal(nrc, 0x12);
	const uint8_t neg_other[] = { 0x7f, 0x22, 0x31 };
	assert_int_equal(diag_classify(&r, neg_other, sizeof(neg_other), &nrc), DIAG_FOREIGN);
	const uint8_t pend[] = { 0x7f, 0x01, 0x78 };
	assert_int_equal(diag_classify(&r, pend, sizeof(pend), &nrc), DIAG_PENDING);
	assert_int_equal(diag_classify(&r, pend, 2, &nrc), DIAG_FOREIGN);

	/* PID 9A: C-D voltage 1/64 V, E-F current 0.1 A - 3276.8 A: 41 9A A B
	 * 60 40 7F 38 -> 24640/64 = 385 V, 32568 x 0.1 - 3276.8 = -20 A */
	struct diag_req v = { .kind = DIAG_ISOTP, .req = { 0x01, 0x9a }, .req_len = 2, .n_fields = 2 };
	v.fields[0] = field(ROLE_PACK_VOLTAGE, 2, 2, 1.0 / 64, 0);
	v.fields[1] = field(ROLE_PACK_CURRENT, 4, 2, 0.1, -3276.8);
	const uint8_t a9a[] = { 0x41, 0x9a, 0x00, 0x00, 0x60, 0x40, 0x7f, 0x38 };
	assert_int_equal(diag_decode(&v, a9a, sizeof(a9a), 0, s, 4), 2);
	assert_close(s[0].value, 385.0);
	assert_true(fabs(s[1].value - -20.0) < 1e-9);
	/* max bounds the samples */
	assert_int_equal(diag_decode(&v, a9a, sizeof(a9a), 0, s, 1), 1);
}

static void test_uds(void **state)
{
	struct diag_req r = { .kind = DIAG_ISOTP, .req = { 0x22, 0x01, 0x01 }, .req_len = 3,
			      .n_fields = 4 };
	uint8_t ans[3 + 52] = { 0x62, 0x01, 0x01 };
	struct eco2_sample s[8];
	uint8_t nrc;
	int64_t raw;
	(void)state;

	r.fields[0] = field(ROLE_PACK_CURRENT, 10, 2, 0.1, 0);
	r.fields[0].is_signed = true;
	r.fields[1] = field(ROLE_PACK_VOLTAGE, 12, 2, 0.1, 0);
	r.fields[2] = field(ROLE_DISCHARGE_TOTAL, 42, 4, 0.1, 0);
	r.fields[2].factor = 1000;   /* kWh -> Wh */
	r.fields[3] = field(ROLE_IGNITION, 50, 0, 1, 0);
	r.fields[3].bit = 2;
	ans[3 + 10] = 0xff; ans[3 + 11] = 0x38;            /* -200 -> -20.0 A */
	ans[3 + 12] = 0x0e; ans[3 + 13] = 0xd8;            /* 3800 -> 380.0 V */
	ans[3 + 42] = 0x00; ans[3 + 43] = 0x00; ans[3 + 44] = 0x30; ans[3 + 45] = 0x39; /* 12345 -> 1234.5 kWh */
	ans[3 + 50] = 0x04;                                /* bit 2: on */
	assert_int_equal(diag_classify(&r, ans, sizeof(ans), &nrc), DIAG_POSITIVE);
	assert_int_equal(diag_decode(&r, ans, sizeof(ans), 1, s, 8), 4);
	assert_close(s[0].value, -20.0);
	assert_close(s[1].value, 380.0);
	assert_close(s[2].value, 1234500.0);
	assert_close(s[3].value, 1.0);
	ans[3 + 50] = 0xfb;                                /* every bit but 2 */
	assert_int_equal(diag_decode(&r, ans, sizeof(ans), 1, s, 8), 4);
	assert_close(s[3].value, 0.0);
	/* another DID echoed */
	ans[2] = 0x02;
	assert_int_equal(diag_classify(&r, ans, sizeof(ans), &nrc), DIAG_FOREIGN);

	/* little-endian, signed 1-byte, 8-byte fields */
	struct diag_field f = field(ROLE_SPEED, 0, 2, 1, 0);
	const uint8_t d[8] = { 0x34, 0x12, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff };
	f.le = true;
	assert_int_equal(diag_field_raw(&f, d, 8, &raw), 0);
	assert_int_equal(raw, 0x1234);
	f = field(ROLE_SPEED, 2, 1, 1, 0);
	f.is_signed = true;
	assert_int_equal(diag_field_raw(&f, d, 8, &raw), 0);
	assert_int_equal(raw, -128);
	f = field(ROLE_SPEED, 0, 8, 1, 0);
	f.is_signed = true;
	f.le = true;
	assert_int_equal(diag_field_raw(&f, d, 8, &raw), 0);
	assert_int_equal(raw, (int64_t)0xffffffffff801234ull);
	f.pos = 1;
	assert_int_equal(diag_field_raw(&f, d, 8, &raw), -ERANGE);
	f = field(ROLE_IGNITION, 8, 0, 1, 0);
	assert_int_equal(diag_field_raw(&f, d, 8, &raw), -ERANGE);
}

/* Mode 09 and KWP 0x21: the answer's header is the service + 0x40 and the
 * parameter echoed, e.g. the VIN "49 02 01 W D X ..." (a count byte, then
 * 17 characters); 0x21 local id 01: "61 01 ...". */
static void test_other_services(void **state)
{
	struct diag_req vin = { .kind = DIAG_ISOTP, .req = { 0x09, 0x02 }, .req_len = 2, .n_fields = 1 };
	struct diag_req kwp = { .kind = DIAG_ISOTP, .req = { 0x21, 0x01 }, .req_len = 2, .n_fields = 1 };
	const uint8_t a09[] = { 0x49, 0x02, 0x01, 'W', 'D', 'X' };
	const uint8_t a21[] = { 0x61, 0x01, 0x00, 0xc8 };
	const uint8_t n21[] = { 0x7f, 0x21, 0x11 };
	struct eco2_sample s[2];
	uint8_t nrc;
	(void)state;

	vin.fields[0] = field(ROLE_IGNITION, 0, 1, 1, 0);     /* the count byte, for the test */
	kwp.fields[0] = field(ROLE_SPEED, 0, 2, 0.5, 0);
	assert_int_equal(diag_classify(&vin, a09, sizeof(a09), &nrc), DIAG_POSITIVE);
	assert_int_equal(diag_decode(&vin, a09, sizeof(a09), 0, s, 2), 1);
	assert_true(s[0].value == 1.0);
	assert_int_equal(diag_classify(&kwp, a09, sizeof(a09), &nrc), DIAG_FOREIGN);
	assert_int_equal(diag_classify(&kwp, a21, sizeof(a21), &nrc), DIAG_POSITIVE);
	assert_int_equal(diag_decode(&kwp, a21, sizeof(a21), 0, s, 2), 1);
	assert_true(s[0].value == 100.0);
	assert_int_equal(diag_classify(&kwp, n21, sizeof(n21), &nrc), DIAG_NEGATIVE);
	assert_int_equal(nrc, 0x11);
	assert_int_equal(diag_nrc_policy(nrc), DIAG_NRC_UNSUPPORTED);
}

static void test_nrc(void **state)
{
	(void)state;
	assert_int_equal(diag_nrc_policy(0x78), DIAG_NRC_PENDING);
	assert_int_equal(diag_nrc_policy(0x11), DIAG_NRC_UNSUPPORTED);
	assert_int_equal(diag_nrc_policy(0x12), DIAG_NRC_UNSUPPORTED);
	assert_int_equal(diag_nrc_policy(0x31), DIAG_NRC_UNSUPPORTED);
	assert_int_equal(diag_nrc_policy(0x33), DIAG_NRC_UNSUPPORTED);
	assert_int_equal(diag_nrc_policy(0x21), DIAG_NRC_RETRY);
	assert_int_equal(diag_nrc_policy(0x22), DIAG_NRC_RETRY);
	assert_int_equal(diag_nrc_policy(0x10), DIAG_NRC_RETRY);
	assert_string_equal(diag_nrc_name(0x31), "requestOutOfRange");
	assert_string_equal(diag_nrc_name(0x99), "?");

	/* J1939 acknowledgment: control 1 (NACK) for PGN 65217 = C1 FE 00 */
	const uint8_t nack[8] = { 1, 0xff, 0xff, 0xff, 0xf9, 0xc1, 0xfe, 0x00 };
	const uint8_t ack[8] = { 0, 0xff, 0xff, 0xff, 0xf9, 0xc1, 0xfe, 0x00 };
	assert_true(diag_j1939_nack(nack, 8, 65217));
	assert_false(diag_j1939_nack(nack, 8, 65248));
	assert_false(diag_j1939_nack(ack, 8, 65217));
	assert_false(diag_j1939_nack(nack, 7, 65217));
}

/* Bits per request: the worked examples of the classic CAN format. */
static void test_bits(void **state)
{
	struct diag_req r = { .kind = DIAG_ISOTP, .req = { 0x01, 0xa6 }, .req_len = 2,
			      .answer_len = 6 };
	(void)state;

	/* request and answer single frames, padded: 2 x 135 */
	assert_int_equal(diag_req_bits(&r, true), 270);
	assert_int_equal(diag_req_frames(&r), 2);
	/* unpadded: 3 and 7 data bytes */
	assert_int_equal(diag_req_bits(&r, false), can_frame_bits(false, 3) + can_frame_bits(false, 7));
	/* 62-byte answer: SF + FF + 8 CF + FC, all padded */
	r.answer_len = 62;
	assert_int_equal(diag_req_frames(&r), 11);
	assert_int_equal(diag_req_bits(&r, true), 11 * 135);
	/* J1939: a 3-byte 29-bit request (110 bits) and an 8-byte answer (160) */
	r.kind = DIAG_J1939;
	assert_int_equal(diag_req_bits(&r, false), 270);
	assert_int_equal(diag_req_bits(&r, true), 270);
	assert_int_equal(diag_req_frames(&r), 2);
}

static void test_state(void **state)
{
	(void)state;
	assert_int_equal(diag_state_of(1, 0, false), DIAG_DRIVING);
	assert_int_equal(diag_state_of(1, 1, true), DIAG_DRIVING);
	assert_int_equal(diag_state_of(0, 1, true), DIAG_CHARGING);
	assert_int_equal(diag_state_of(-1, 1, false), DIAG_CHARGING);
	assert_int_equal(diag_state_of(0, 0, true), DIAG_PARKED);
	assert_int_equal(diag_state_of(-1, -1, true), DIAG_DRIVING);
	assert_int_equal(diag_state_of(-1, 0, false), DIAG_PARKED);
	assert_string_equal(diag_state_name(DIAG_CHARGING), "charging");
}

static struct can_frame_rec frame(uint32_t id, const uint8_t *d, uint8_t len, uint64_t t)
{
	struct can_frame_rec f;

	memset(&f, 0, sizeof(f));
	f.id = id;
	f.len = len;
	f.t_ns = t;
	memcpy(f.data, d, len);
	return f;
}

static void test_listener(void **state)
{
	struct diag_req reqs[2] = {
		{ .kind = DIAG_ISOTP, .tx_id = 0x7e4, .rx_id = 0x7ec, .req = { 0x22, 0x01, 0x01 },
		  .req_len = 3, .n_fields = 1 },
		{ .kind = DIAG_ISOTP, .tx_id = 0x7c6, .rx_id = 0x7ce, .req = { 0x22, 0xb0, 0x02 },
		  .req_len = 3, .n_fields = 1 },
	};
	uint8_t pdu[3 + 14] = { 0x62, 0x01, 0x01 }, frames[4][8], dlc[4];
	struct eco2_sample s[4];
	struct can_frame_rec f;
	diag_listener_t *l;
	int k;
	(void)state;

	reqs[0].fields[0] = field(ROLE_PACK_VOLTAGE, 12, 2, 0.1, 0);
	reqs[1].fields[0] = field(ROLE_ODOMETER, 6, 3, 1, 0);
	pdu[3 + 12] = 0x0e;
	pdu[3 + 13] = 0xd8;
	assert_int_equal(diag_listener_new(&l, reqs, 2), 0);
	k = isotp_segment(pdu, sizeof(pdu), 0xaa, frames, dlc, 4);
	assert_int_equal(k, 3);
	/* the request, an unrelated frame, the answer's frames, our flow control */
	f = frame(0x7e4, (const uint8_t *)"\x03\x22\x01\x01\xaa\xaa\xaa\xaa", 8, 1);
	assert_int_equal(diag_listener_frame(l, &f, s, 4), 0);
	f = frame(0x7ec, frames[0], dlc[0], 2);
	assert_int_equal(diag_listener_frame(l, &f, s, 4), 0);
	f = frame(0x7e4, (const uint8_t *)"\x30\x00\x00\xaa\xaa\xaa\xaa\xaa", 8, 3);
	assert_int_equal(diag_listener_frame(l, &f, s, 4), 0);
	f = frame(0x123, frames[1], dlc[1], 4);
	assert_int_equal(diag_listener_frame(l, &f, s, 4), 0);
	f = frame(0x7ec, frames[1], dlc[1], 5);
	assert_int_equal(diag_listener_frame(l, &f, s, 4), 0);
	f = frame(0x7ec, frames[2], dlc[2], 6);
	assert_int_equal(diag_listener_frame(l, &f, s, 4), 1);
	assert_int_equal(s[0].role, ROLE_PACK_VOLTAGE);
	assert_int_equal(s[0].t_ns, 6);
	assert_close(s[0].value, 380.0);
	/* the same frame as 29-bit is another id; an error frame is nothing */
	f.flags = CANREC_EXT;
	assert_int_equal(diag_listener_frame(l, &f, s, 4), 0);
	f.flags = CANREC_ERR;
	assert_int_equal(diag_listener_frame(l, &f, s, 4), 0);
	/* a negative answer decodes to nothing */
	f = frame(0x7ce, (const uint8_t *)"\x03\x7f\x22\x31", 4, 7);
	assert_int_equal(diag_listener_frame(l, &f, s, 4), 0);
	diag_listener_free(l);
	diag_listener_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_obd),
		cmocka_unit_test(test_uds),
		cmocka_unit_test(test_other_services),
		cmocka_unit_test(test_nrc),
		cmocka_unit_test(test_bits),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
