/* Unit tests for can/j1939.c: identifier fields (PDU1/PDU2, data pages,
 * priority), PGN masks, the "not available" rule and the built-in DBC.
 * Expected values are worked by hand from the J1939-21 bit layout
 * (priority 28..26, EDP 25, DP 24, PF 23..16, PS 15..8, SA 7..0). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "can/dbc.h"
#include "can/j1939.h"

static void test_parse_table(void **state)
{
	static const struct {
		uint32_t id;
		uint32_t pgn;
		uint8_t prio;
		uint8_t sa, da;
		bool pdu1;
	} cases[] = {
		/* CCVS1 from the engine: 0x18FEF100 */
		{ 0x18fef100, 65265, 6, 0x00, 0xff, false },
		/* HRVD, priority 3, SA 0x17 */
		{ 0x0cfec117, 65217, 3, 0x17, 0xff, false },
		/* TSC1 (PGN 0, PDU1) to DA 0x00 from SA 0x03, priority 3 */
		{ 0x0c000003, 0, 3, 0x03, 0x00, true },
		/* Request (PGN 59904 = 0xEA00, PDU1) to DA 0xEE from SA 0xF9 */
		{ 0x18eaeef9, 59904, 6, 0xf9, 0xee, true },
		/* Data page 1: PGN 0x1FEF1 */
		{ 0x19fef1aa, 0x1fef1, 6, 0xaa, 0xff, false },
		/* Extended data page 1, DP 0: PGN 0x20000 | 0xF004 */
		{ 0x1af00401, 0x2f004, 6, 0x01, 0xff, false },
		/* HVESSD1, PF 240 is the first PDU2 format */
		{ 0x0cf0905b, 61584, 3, 0x5b, 0xff, false },
		/* PF 239 is still PDU1: PS is a destination */
		{ 0x1cef1234, 0xef00, 7, 0x34, 0x12, true },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct j1939_id j;
		assert_int_equal(j1939_parse_id(cases[i].id, &j), 0);
		assert_int_equal(j.priority, cases[i].prio);
		assert_int_equal(j.pgn, cases[i].pgn);
		assert_int_equal(j.sa, cases[i].sa);
		assert_int_equal(j.da, cases[i].da);
		assert_int_equal(j.pdu1, cases[i].pdu1);
		/* and back */
		assert_int_equal(j1939_make_id(j.priority, j.pgn, j.da, j.sa), cases[i].id);
	}
}

static void test_parse_rejects(void **state)
{
	struct j1939_id j;
	(void)state;

	assert_int_equal(j1939_parse_id(0x20000000, &j), -EINVAL);
	assert_int_equal(j1939_parse_id(0xffffffff, &j), -EINVAL);
	/* EDP = DP = 1 is ISO 15765-3 */
	assert_int_equal(j1939_parse_id(0x1bfef100, &j), -EPROTO);
	assert_int_equal(j1939_canonical_id(0x1bfef100), 0x1bfef100);
}

static void test_masks_and_canonical(void **state)
{
	(void)state;
	assert_int_equal(j1939_pgn_mask(65265), 0x03ffff00);
	assert_int_equal(j1939_pgn_mask(59904), 0x03ff0000);
	/* Any priority and source map onto priority 6, SA 0 */
	assert_int_equal(j1939_canonical_id(0x0cfef1ee), 0x18fef100);
	assert_int_equal(j1939_canonical_id(0x1cfec117), 0x18fec100);
	/* PDU1: the destination is dropped as well */
	assert_int_equal(j1939_canonical_id(0x18eaeef9), 0x18ea0000);
	/* A frame matches its PGN's mask from any sender */
	uint32_t want = j1939_make_id(6, 65217, 0, 0) & j1939_pgn_mask(65217);
	assert_int_equal(0x0cfec117 & j1939_pgn_mask(65217), want);
	assert_int_not_equal(0x0cfec217 & j1939_pgn_mask(65217), want);
}

static void test_raw_valid(void **state)
{
	(void)state;
	assert_true(j1939_raw_valid(0xfa, 8));
	assert_false(j1939_raw_valid(0xfb, 8));
	assert_false(j1939_raw_valid(0xfe, 8));
	assert_false(j1939_raw_valid(0xff, 8));
	assert_true(j1939_raw_valid(0xfaff, 16));
	assert_false(j1939_raw_valid(0xfb00, 16));
	assert_false(j1939_raw_valid(0xffff, 16));
	assert_true(j1939_raw_valid(0xfaffffff, 32));
	assert_false(j1939_raw_valid(0xfe000000, 32));
	assert_true(j1939_raw_valid(0, 32));
	/* 2-bit states: 0, 1 valid; 2 error; 3 not available */
	assert_true(j1939_raw_valid(1, 2));
	assert_false(j1939_raw_valid(2, 2));
	assert_false(j1939_raw_valid(3, 2));
	assert_false(j1939_raw_valid(0, 0));
}

static void test_builtin_dbc(void **state)
{
	static const struct {
		const char *msg, *sig;
		uint32_t pgn;
		uint16_t start;
		uint8_t len;
		double factor, offset;
		const char *unit;
	} want[] = {
		{ "HRVD", "HighResTotalVehicleDistance", 65217, 0, 32, 5, 0, "m" },
		{ "VD", "TotalVehicleDistance", 65248, 32, 32, 0.125, 0, "km" },
		{ "CCVS1", "WheelBasedVehicleSpeed", 65265, 8, 16, 1.0 / 256, 0, "km/h" },
		{ "HVESSD1", "HVESSVoltageLevel", 61584, 32, 16, 0.05, 0, "V" },
		{ "HVESSD1", "HVESSCurrent", 61584, 48, 16, 0.05, -1600, "A" },
	};
	size_t len;
	const char *text = j1939_builtin_dbc(&len);
	dbc_t *dbc = NULL;
	(void)state;

	log_open("test", LOG_TO_STDERR, LOG_WARNING);
	assert_int_equal(strlen(text), len);
	assert_int_equal(dbc_load_buffer(&dbc, "j1939-builtin.dbc", text, len), 0);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct dbc_message *m = dbc_find_message_by_name(dbc, want[i].msg);
		const struct dbc_signal *s;
		assert_non_null(m);
		assert_true(m->is_ext);
		assert_int_equal(m->id, j1939_make_id(J1939_PRIO_CANONICAL, want[i].pgn, 0, 0));
		assert_int_equal(m->size, 8);
		s = dbc_find_signal(m, want[i].sig);
		assert_non_null(s);
		assert_int_equal(s->start_bit, want[i].start);
		assert_int_equal(s->length, want[i].len);
		assert_int_equal(s->byte_order, DBC_INTEL);
		assert_false(s->is_signed);
		assert_true(s->factor == want[i].factor);
		assert_true(s->offset == want[i].offset);
		assert_string_equal(s->unit, want[i].unit);
	}
	dbc_free(dbc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_masks_and_canonical),
		cmocka_unit_test(test_raw_valid),
		cmocka_unit_test(test_builtin_dbc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
