/* Unit tests for can/dbc.c: metadata of every section kept, the dialect
 * real files use (each construct warned and taken as docs/dbc.md says),
 * factor and offset as written in decimal, hand-computed
 * Intel/Motorola extractions (byte-crossing, 9-byte 64-bit), the encoder's
 * rounding and clamping, and that each kind of error names file:line:col
 * and what was expected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "can/dbc.h"

#include "tests/unit/test_util.h"

static int load(dbc_t **dbc, const char *text)
{
	return dbc_load_buffer(dbc, "t.dbc", text, strlen(text));
}

static const char full[] =
	"VERSION \"1.0\"\n"
	"\n"
	"NS_ :\n"
	"\tCM_\n"
	"\tBA_DEF_\n"
	"\tSG_MUL_VAL_\n"
	"\n"
	"BS_:\n"
	"\n"
	"BU_: ECU1 ECU2\n"
	"VAL_TABLE_ OnOff 1 \"On\" 0 \"Off\" ;\n"
	"\n"
	"BO_ 256 Moto: 8 ECU1\n"
	" SG_ Big16 : 7|16@0+ (1,0) [0|65535] \"\" ECU2\n"
	" SG_ Nib12 : 19|12@0- (-0.5,100) [-1000|1000] \"km/h\" ECU2,ECU1\n"
	" SG_ Flag : 36|1@0+ (1,0) [0|1] \"\" Vector__XXX\n"
	" SG_ Cross : 45|10@0+ (1,0) [0|0] \"\" Vector__XXX\n"
	"\n"
	"BO_ 2147484160 ExtFrame: 64 ECU2\n"
	" SG_ Counter : 0|64@1+ (1,0) [0|0] \"\" Vector__XXX\n"
	" SG_ F32 : 64|32@1- (2,1) [0|0] \"\" Vector__XXX\n"
	" SG_ F64 : 96|64@1+ (1,0) [0|0] \"\" Vector__XXX\n"
	" SG_ Odd64 : 164|64@1+ (1,0) [0|0] \"\" Vector__XXX\n"
	" SG_ OddMoto64 : 235|64@0+ (1,0) [0|0] \"\" Vector__XXX\n"
	"\n"
	"BO_ 512 Mux: 8 ECU1\n"
	" SG_ Sel M : 0|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
	" SG_ A m0 : 8|16@1+ (0.1,0) [0|0] \"V\" Vector__XXX\n"
	" SG_ B m1 : 8|16@1- (1,0) [0|0] \"A\" Vector__XXX\n"
	" SG_ Sub m2M : 8|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
	" SG_ C m3 : 16|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
	" SG_ D : 56|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
	"\n"
	"BO_TX_BU_ 256 : ECU1,ECU2;\n"
	"CM_ \"network comment\";\n"
	"CM_ BU_ ECU1 \"node \xe9\xe8 in Windows-1252\";\n"
	"CM_ BO_ 256 \"multi\n"
	"line \\\"quoted\\\" \x80 comment\";\n"
	"CM_ SG_ 256 Big16 \"sig comment\";\n"
	"BA_DEF_ BO_ \"GenMsgCycleTime\" INT 0 65535;\n"
	"BA_DEF_ BO_ \"VFrameFormat\" ENUM \"StandardCAN\",\"ExtendedCAN\",\"StandardCAN_FD\",\"ExtendedCAN_FD\";\n"
	"BA_DEF_ SG_ \"SPN\" INT 0 524287;\n"
	"BA_DEF_ \"BusType\" STRING ;\n"
	"BA_DEF_DEF_ \"GenMsgCycleTime\" 100;\n"
	"BA_DEF_DEF_ \"VFrameFormat\" \"StandardCAN\";\n"
	"BA_DEF_DEF_ \"BusType\" \"CAN FD\";\n"
	"BA_ \"BusType\" \"CAN FD\";\n"
	"BA_ \"GenMsgCycleTime\" BO_ 256 20;\n"
	"BA_ \"VFrameFormat\" BO_ 2147484160 3;\n"
	"BA_ \"SPN\" SG_ 256 Flag 1234;\n"
	"VAL_ 512 Sel 0 \"Volt\" 1 \"Amp\" 2 \"Sub\" ;\n"
	"VAL_ 256 Nib12 -1 \"minus one\" ;\n"
	"SIG_VALTYPE_ 2147484160 F32 : 1;\n"
	"SIG_VALTYPE_ 2147484160 F64 : 2;\n"
	"SG_MUL_VAL_ 512 C Sub 3-3, 5-7;\n"
	"FOO_BAR_ some unknown 1 \"stuff\" ;\n"
	"SIG_GROUP_ 256 Grp 1 : Big16 Flag;\n";

static void test_metadata(void **state)
{
	dbc_t *dbc = NULL;
	(void)state;

	assert_int_equal(load(&dbc, full), 0);
	assert_int_equal(dbc_message_count(dbc), 3);

	const struct dbc_message *m = dbc_find_message(dbc, 256, false);
	assert_non_null(m);
	assert_ptr_equal(m, dbc_message_at(dbc, 0));
	assert_ptr_equal(m, dbc_find_message_by_name(dbc, "Moto"));
	assert_null(dbc_find_message(dbc, 256, true));
	assert_string_equal(m->name, "Moto");
	assert_string_equal(m->transmitter, "ECU1");
	assert_int_equal(m->size, 8);
	assert_false(m->is_ext);
	assert_false(m->is_fd);
	assert_int_equal(m->cycle_time_ms, 20);
	assert_string_equal(m->comment, "multi\nline \"quoted\" \x80 comment");
	assert_int_equal(m->n_signals, 4);

	const struct dbc_signal *s = dbc_find_signal(m, "Nib12");
	assert_ptr_equal(s, dbc_lookup(dbc, "Moto.Nib12"));
	assert_ptr_equal(s->message, m);
	assert_int_equal(s->index, 1);
	assert_int_equal(s->start_bit, 19);
	assert_int_equal(s->length, 12);
	assert_int_equal(s->byte_order, DBC_MOTOROLA);
	assert_true(s->is_signed);
	assert_true(s->factor == -0.5 && s->offset == 100);
	assert_true(s->min == -1000 && s->max == 1000);
	assert_string_equal(s->unit, "km/h");
	assert_int_equal(s->n_values, 1);
	assert_int_equal(s->values[0].value, -1);
	assert_string_equal(s->values[0].label, "minus one");
	assert_string_equal(dbc_lookup(dbc, "Moto.Big16")->comment, "sig comment");
	assert_null(dbc_lookup(dbc, "Moto.Nope"));
	assert_null(dbc_lookup(dbc, "Nope.Big16"));
	assert_null(dbc_lookup(dbc, "MotoBig16"));

	m = dbc_find_message(dbc, 0x200, true);
	assert_non_null(m);
	assert_string_equal(m->name, "ExtFrame");
	assert_true(m->is_ext);
	assert_true(m->is_fd);
	assert_int_equal(m->size, 64);
	assert_int_equal(m->cycle_time_ms, 100);   /* BA_DEF_DEF_ */
	assert_int_equal(dbc_find_signal(m, "F32")->value_type, DBC_VT_FLOAT);
	assert_int_equal(dbc_find_signal(m, "F64")->value_type, DBC_VT_DOUBLE);
	assert_int_equal(dbc_find_signal(m, "Counter")->value_type, DBC_VT_INT);

	m = dbc_find_message_by_name(dbc, "Mux");
	const struct dbc_signal *sel = dbc_find_signal(m, "Sel");
	const struct dbc_signal *sub = dbc_find_signal(m, "Sub");
	assert_int_equal(sel->mux_kind, DBC_MUX_SWITCH);
	assert_null(sel->mux_switch);
	assert_int_equal(sel->n_values, 3);
	assert_string_equal(sel->values[2].label, "Sub");
	s = dbc_find_signal(m, "B");
	assert_int_equal(s->mux_kind, DBC_MUX_MUXED);
	assert_ptr_equal(s->mux_switch, sel);
	assert_int_equal(s->n_mux_ranges, 1);
	assert_int_equal(s->mux_ranges[0].lo, 1);
	assert_int_equal(s->mux_ranges[0].hi, 1);
	assert_int_equal(sub->mux_kind, DBC_MUX_MUXED_SWITCH);
	assert_ptr_equal(sub->mux_switch, sel);
	s = dbc_find_signal(m, "C");
	assert_ptr_equal(s->mux_switch, sub);   /* SG_MUL_VAL_ overrides m3 */
	assert_int_equal(s->n_mux_ranges, 2);
	assert_int_equal(s->mux_ranges[1].lo, 5);
	assert_int_equal(s->mux_ranges[1].hi, 7);
	assert_null(dbc_find_signal(m, "D")->mux_switch);

	unsigned nv;
	const struct dbc_value_desc *vt = dbc_value_table(dbc, "OnOff", &nv);
	assert_int_equal(nv, 2);
	assert_int_equal(vt[0].value, 1);
	assert_string_equal(vt[0].label, "On");
	assert_string_equal(vt[1].label, "Off");
	assert_null(dbc_value_table(dbc, "Nope", &nv));
	assert_int_equal(nv, 0);

	/* the unknown section is skipped with a warning that says where */
	assert_non_null(strstr(messages, "t.dbc:56:1: unknown section 'FOO_BAR_' skipped"));
	dbc_free(dbc);
	dbc_free(NULL);
}

/* ---- extraction, hand-computed --------------------------------------------- */

struct ext_case {
	const char *sig;     /* Message.Signal in `full` */
	const char *hex;     /* payload */
	uint64_t raw;
	double phys;
};

static const struct ext_case ext_cases[] = {
	/* Motorola 7|16: byte 0 is the high byte */
	{ "Moto.Big16", "1234", 0x1234, 0x1234 },
	/* Motorola 19|12: low nibble of byte 2, then all of byte 3: 0xBCD,
	 * signed -1075, x -0.5 + 100 */
	{ "Moto.Nib12", "0000ABCD", 0xBCD, 637.5 },
	{ "Moto.Nib12", "0000F7FF", 0x7FF, -923.5 },
	/* Motorola 36|1: byte 4 bit 4 */
	{ "Moto.Flag", "0000000010", 1, 1 },
	{ "Moto.Flag", "00000000EF", 0, 0 },
	/* Motorola 45|10: bits 5..0 of byte 5, then bits 7..4 of byte 6 */
	{ "Moto.Cross", "0000000000A5C3", (0x25u << 4) | 0xC, (0x25u << 4) | 0xC },
	/* Intel 64-bit, byte 0 least significant, exact beyond 2^53 */
	{ "ExtFrame.Counter", "FFFFFFFFFFFFFFFF", UINT64_MAX, 18446744073709551615.0 },
	{ "ExtFrame.Counter", "0100000000002000", 0x0020000000000001ull, 9007199254740993.0 },
	/* IEEE float 1.5 (0x3FC00000) x 2 + 1 */
	{ "ExtFrame.F32", "00000000000000000000C03F", 0x3FC00000, 4.0 },
	/* IEEE double -2.25 (0xC002000000000000) */
	{ "ExtFrame.F64", "000000000000000000000000" "00000000000002C0",
	  0xC002000000000000ull, -2.25 },
	/* Intel 164|64 spans bytes 20..28: high nibble of 20 ... low nibble of 28 */
	{ "ExtFrame.Odd64", "0000000000000000000000000000000000000000" "F0123456789ABCDEF1",
	  0x1DEBC9A78563412Full, 0 },
	/* Motorola 235|64: MSB at byte 29 bit 3, 9 bytes down to byte 37 bit 4 */
	{ "ExtFrame.OddMoto64", "0000000000000000000000000000000000000000000000000000000000"
	  "0A123456789ABCDEF0", 0xA123456789ABCDEFull, 0 },
	{ "Mux.Sel", "02", 2, 2 },
};

static void from_hex(const char *hex, uint8_t *out, size_t *len)
{
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	*len = n;
}

static void test_extract(void **state)
{
	dbc_t *dbc;
	(void)state;

	assert_int_equal(load(&dbc, full), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ext_cases); i++) {
		const struct ext_case *c = &ext_cases[i];
		const struct dbc_signal *s = dbc_lookup(dbc, c->sig);
		uint8_t data[64] = { 0 };
		size_t len;
		uint64_t raw;

		assert_non_null(s);
		from_hex(c->hex, data, &len);
		assert_int_equal(dbc_extract_raw(s, data, len, &raw), 0);
		if (raw != c->raw)
			fail_msg("%s: raw 0x%llx, expected 0x%llx", c->sig, (unsigned long long)raw,
				 (unsigned long long)c->raw);
		if (c->phys != 0 || s->value_type != DBC_VT_INT)
			assert_true(dbc_raw_to_phys(s, raw) == c->phys);
		/* one byte short: absent */
		assert_int_equal(dbc_extract_raw(s, data, len - 1, &raw), -ERANGE);
	}
	dbc_free(dbc);
}

/* ---- encoder --------------------------------------------------------------- */

static void test_encode(void **state)
{
	dbc_t *dbc;
	uint8_t d[64];
	uint64_t raw;
	(void)state;

	assert_int_equal(load(&dbc, full), 0);
	const struct dbc_signal *nib = dbc_lookup(dbc, "Moto.Nib12");
	const struct dbc_signal *big = dbc_lookup(dbc, "Moto.Big16");
	const struct dbc_signal *a = dbc_lookup(dbc, "Mux.A");
	const struct dbc_signal *f32 = dbc_lookup(dbc, "ExtFrame.F32");
	const struct dbc_signal *cnt = dbc_lookup(dbc, "ExtFrame.Counter");

	/* round((637.5 - 100) / -0.5) = -1075 -> 0xBCD in bytes 2..3, others kept */
	memset(d, 0xEE, sizeof(d));
	assert_int_equal(dbc_encode_signal(nib, 637.5, d, 8), 0);
	assert_int_equal(d[2], 0xEB);
	assert_int_equal(d[3], 0xCD);
	assert_int_equal(d[1], 0xEE);
	assert_int_equal(d[4], 0xEE);
	assert_int_equal(dbc_extract_raw(nib, d, 8, &raw), 0);
	assert_true(dbc_raw_to_phys(nib, raw) == 637.5);

	/* clamped to [min|max] = [-1000|1000] physical */
	assert_int_equal(dbc_encode_signal(nib, 5000, d, 8), 0);
	assert_int_equal(dbc_extract_raw(nib, d, 8, &raw), 0);
	assert_true(dbc_raw_to_phys(nib, raw) == 1000);
	/* clamped to what 16 unsigned bits hold (the range is 0|0: none) */
	assert_int_equal(dbc_encode_signal(a, 1e9, d, 8), 0);
	assert_int_equal(dbc_extract_raw(a, d, 8, &raw), 0);
	assert_int_equal(raw, 0xFFFF);
	assert_int_equal(dbc_encode_signal(a, -5, d, 8), 0);
	assert_int_equal(dbc_extract_raw(a, d, 8, &raw), 0);
	assert_int_equal(raw, 0);
	/* rounding: 12.34 V / 0.1 = 123.4 -> 123 */
	assert_int_equal(dbc_encode_signal(a, 12.34, d, 8), 0);
	assert_int_equal(dbc_extract_raw(a, d, 8, &raw), 0);
	assert_int_equal(raw, 123);
	assert_int_equal(dbc_encode_signal(big, 0x1234, d, 8), 0);
	assert_int_equal(d[0], 0x12);
	assert_int_equal(d[1], 0x34);
	/* float: (4 - 1) / 2 = 1.5 as IEEE bits */
	memset(d, 0, sizeof(d));
	assert_int_equal(dbc_encode_signal(f32, 4.0, d, 64), 0);
	assert_int_equal(d[11], 0x3F);
	assert_int_equal(d[10], 0xC0);
	/* 64-bit raw is exact */
	assert_int_equal(dbc_encode_raw(cnt, 0x0020000000000001ull, d, 64), 0);
	assert_int_equal(dbc_extract_raw(cnt, d, 64, &raw), 0);
	assert_int_equal(raw, 0x0020000000000001ull);

	assert_int_equal(dbc_encode_signal(nib, NAN, d, 8), -EINVAL);
	assert_int_equal(dbc_encode_signal(nib, 1, d, 3), -ERANGE);
	assert_int_equal(dbc_encode_raw(f32, 1, d, 8), -ERANGE);
	dbc_free(dbc);
}

/* ---- errors ---------------------------------------------------------------- */

static const struct { const char *text; const char *msg; } errs[] = {
	{ "BO_ 1 X 8 N\n", "t.dbc:1:9: expected ':', found '8'" },
	{ "BO_ 1 X: 65 N\n", "t.dbc:1:1: message size 65: expected 0..64 bytes" },
	{ "BO_ 4294967296 X: 8 N\n", "t.dbc:1:5: message id 4294967296 out of range" },
	{ "BO_ X: 8 N\n", "t.dbc:1:5: expected a message id, found 'X'" },
	{ "BO_ 1 X: 8 \"N\"\n", "t.dbc:1:12: expected the transmitter node name, found a string" },
	{ " SG_ S : 0|8@1+ (1,0) [0|0] \"\" N\n", "t.dbc:1:2: expected BO_ before SG_" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|0@1+ (1,0) [0|0] \"\" N\n",
	  "t.dbc:2:10: signal length 0: expected 1..64 bits" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|65@1+ (1,0) [0|0] \"\" N\n", "signal length 65: expected 1..64 bits" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|8@2+ (1,0) [0|0] \"\" N\n",
	  "t.dbc:2:14: expected byte order 0 (Motorola) or 1 (Intel) after '@', found '2'" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|8@1 (1,0) [0|0] \"\" N\n", "t.dbc:2:16: expected '+' (unsigned) or '-' (signed)" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|8@1+ (1;0) [0|0] \"\" N\n", "t.dbc:2:19: expected ','" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|8@1+ (x,0) [0|0] \"\" N\n", "expected the factor, found 'x'" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|8@1+ (1,0) [0|0] N\n", "expected the unit string" },
	{ "BO_ 1 X: 8 N\n SG_ S : 504|16@0+ (1,0) [0|0] \"\" N\n", "Motorola signal 504|16 runs past byte 63" },
	{ "BO_ 1 X: 8 N\n SG_ S : 500|16@1+ (1,0) [0|0] \"\" N\n", "Intel signal 500|16 runs past byte 63" },
	{ "BO_ 1 X: 8 N\n SG_ S x1 : 0|8@1+ (1,0) [0|0] \"\" N\n", "expected a multiplexer indicator" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|8@1+ (1,0) [0|0] \"\" N\n SG_ S : 8|8@1+ (1,0) [0|0] \"\" N\n",
	  "t.dbc:3:6: signal S defined twice in message X" },
	{ "CM_ \"abc;\n\n", "unterminated string" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|16@1+ (1,0) [0|0] \"\" N\nSIG_VALTYPE_ 1 S : 1;\n",
	  "t.dbc:3:20: signal S is 16 bits: expected 32 bits for value type 1" },
	{ "BO_ 1 X: 8 N\n SG_ S : 0|32@1+ (1,0) [0|0] \"\" N\nSIG_VALTYPE_ 1 S : 3;\n", "value type 3: expected" },
	{ "BO_ 1 X: 8 N\n SG_ S m1 : 0|8@1+ (1,0) [0|0] \"\" N\n", "t.dbc:2:6: signal S is multiplexed (m1): expected an 'M' switch" },
	{ "BO_ 1 X: 8 N\n SG_ M0 M : 0|8@1+ (1,0) [0|0] \"\" N\n SG_ S m1 : 8|8@1+ (1,0) [0|0] \"\" N\n"
	  "SG_MUL_VAL_ 1 S Nope 1-1;\n", "t.dbc:4:17: SG_MUL_VAL_: expected a switch signal of message X, found 'Nope'" },
	{ "BO_ 1 X: 8 N\n SG_ M0 M : 0|8@1+ (1,0) [0|0] \"\" N\n SG_ S m1 : 8|8@1+ (1,0) [0|0] \"\" N\n"
	  "SG_MUL_VAL_ 1 S M0 3-1;\n", "range 3-1: expected lo <= hi" },
	{ "BO_ 1 X: 8 N\n SG_ A m1M : 0|8@1+ (1,0) [0|0] \"\" N\n SG_ B m1M : 8|8@1+ (1,0) [0|0] \"\" N\n"
	  "SG_MUL_VAL_ 1 A B 1-1;\nSG_MUL_VAL_ 1 B A 1-1;\n", "t.dbc:2:6: multiplexer switches of A form a cycle" },
	{ "BA_DEF_ BO_ \"X\" BOOL;\n", "expected INT, HEX, FLOAT, STRING or ENUM" },
	{ "VAL_ 1 S 1 \"a\" 2 ;\n", "expected the value's label string" },
	{ "BO_ 1 X: 8 N\nCM_ BO_ 1 \"c\"\n", "t.dbc:2:14: expected ';' to end CM_, found end of file" },
	{ "BO_ 1 X: 8 N\n;\n", "t.dbc:2:1: expected a section keyword" },
};

/* Each error names file:line:col and what was expected: with DBC_STRICT
 * the load fails; without it the same words are a warning and the file
 * loads. */
static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(errs); i++) {
		const char *text = errs[i].text;
		dbc_t *dbc = NULL;
		unsigned long errors = log_count(LOG_ERR), warnings = log_count(LOG_WARNING);
		messages[0] = '\0';
		int ret = dbc_load_buffer_with(&dbc, "t.dbc", text, strlen(text), DBC_STRICT);
		if (ret != -EINVAL)
			fail_msg("case %zu loaded (%d): %s", i, ret, text);
		assert_null(dbc);
		if (!strstr(messages, errs[i].msg) || log_count(LOG_ERR) != errors + 1)
			fail_msg("case %zu: got '%s', expected the error '%s'", i, messages, errs[i].msg);

		errors = log_count(LOG_ERR);
		warnings = log_count(LOG_WARNING);
		messages[0] = '\0';
		ret = load(&dbc, text);
		if (ret != 0)
			fail_msg("case %zu: not loaded without DBC_STRICT (%d): %s", i, ret, text);
		if (!strstr(messages, errs[i].msg) || log_count(LOG_ERR) != errors ||
		    log_count(LOG_WARNING) == warnings)
			fail_msg("case %zu: got '%s', expected the warning '%s'", i, messages, errs[i].msg);
		assert_true(dbc_warning_count(dbc) >= 1);
		dbc_free(dbc);
	}
}

/* ---- the dialect real files use (docs/dbc.md) ------------------------------- */

static const char dialect[] =
	"BO_ 256 Before: 8 N\n"
	" SG_ Speed : 0|16@1+ (0.01,0) [0|0] \"km/h\" N\n"
	"BO_ 304 Gas: 8 N\n"
	" SG_ Pedal : 0|8@1+ (0.4,0) [0|0] \"%\" N\n"
	"CM_ SG_ 304 \"Seems to be platform-agnostic\";\n"      /* line 5: no signal name */
	"CM_ 304 \"no object kind\";\n"                          /* 6 */
	"VAL_ 304 Pedal 2 \"PERMANENT\" 1 \"TEMPORARY\" 0 \"NONE\"\n"   /* 7: no ';' */
	"CM_ \"Generated from _stellantis_common.dbc\"\n"        /* 8: no ';' */
	"BO_ 1275 2017_5: 8 N\n"                                 /* 9: digit names */
	" SG_ 0_COUNTER : 4|5@0+ (1,0) [0|31] \"\" N\n"
	" SG_ Index M : 8|2@1+ (1,0) [0|3] \"\" N\n"
	" SG_ Code m : 16|6@1+ (1,0) [0|63] \"\" N\n"             /* 12: bare m */
	" SG_ Muxed m : 24|8@1+ (1,0) [0|255] \"\" N\n"           /* 13: bare m + SG_MUL_VAL_ */
	"SG_MUL_VAL_ 1275 Muxed Index 2-3;\n"
	"BO_ 13274 LKAS_HUD_A: 8 N\n"                            /* 15: 29-bit, no bit 31 */
	" SG_ BatteryCellVoltageMaximumValueS : 0|16@1+ (0.001,0) [0|0] \"V\" N\n"
	" SG_ Beyond : 56|16@1+ (1,0) [0|0] \"\" N\n"             /* 17: past 8 bytes */
	"CM_ BO_ 13274 \"29-bit\";\n"
	"BA_DEF_ SG_ \"SystemSignalLongSymbol\" STRING ;\n"
	"BA_ \"SystemSignalLongSymbol\" SG_ 13274 BatteryCellVoltageMaximumValueS "
	"\"BatteryCellVoltageMaximumValueSincePowerOn\";\n"
	"CM_ SG_ 13274 BatteryCellVoltageMaximumValueS \"by its SG_ name\";\n"
	"BO_ 512 After: 8 N\n"
	" SG_ Volts : 7|16@0+ (0.1,-5) [0|0] \"V\" N\n";

static void test_dialect(void **state)
{
	dbc_t *dbc;
	(void)state;

	assert_int_equal(load(&dbc, dialect), 0);
	/* each construct warned where it is, and nothing else lost */
	static const char *const where[] = {
		"t.dbc:5:13: CM_: expected a signal name after the message id, found a string: "
		"the statement applies to no signal",
		"t.dbc:6:5: CM_ 304: expected BO_, SG_, BU_ or EV_ before the id: the comment applies to nothing",
		"t.dbc:7:52: expected ';' to end VAL_, found 'CM_': taken as ended",
		"t.dbc:8:44: expected ';' to end CM_, found 'BO_': taken as ended",
		"t.dbc:9:10: name '2017_5' starts with a digit (outside the DBC grammar): taken as a name",
		"t.dbc:10:6: name '0_COUNTER' starts with a digit",
		"t.dbc:12:11: signal Code: multiplexer indicator 'm' without a switch value: taken as not "
		"multiplexed unless SG_MUL_VAL_ gives its switch",
		"t.dbc:13:12: signal Muxed: multiplexer indicator 'm'",
		"t.dbc:15:1: message LKAS_HUD_A: id 13274 (0x33DA) is above 0x7FF without bit 31",
		"t.dbc:17:6: signal Beyond (56|16@1) reaches byte 8 of message LKAS_HUD_A, which has 8: "
		"decoded only from frames of at least 9 bytes",
	};
	for (size_t i = 0; i < ARRAY_SIZE(where); i++)
		if (!strstr(messages, where[i]))
			fail_msg("missing '%s' in:\n%s", where[i], messages);
	assert_int_equal(dbc_warning_count(dbc), ARRAY_SIZE(where));
	assert_int_equal(dbc_message_count(dbc), 5);

	/* comments that name no signal or no object kind apply to nothing */
	const struct dbc_message *gas = dbc_find_message(dbc, 304, false);
	assert_null(gas->comment);
	assert_null(gas->signals[0].comment);
	/* VAL_ without ';' keeps its labels */
	const struct dbc_signal *pedal = dbc_lookup(dbc, "Gas.Pedal");
	assert_int_equal(pedal->n_values, 3);
	assert_string_equal(pedal->values[2].label, "NONE");
	/* digit names */
	const struct dbc_message *m = dbc_find_message_by_name(dbc, "2017_5");
	assert_non_null(m);
	assert_int_equal(m->id, 1275);
	assert_non_null(dbc_find_signal(m, "0_COUNTER"));
	/* bare m: not multiplexed, unless SG_MUL_VAL_ gives the switch */
	const struct dbc_signal *code = dbc_find_signal(m, "Code"), *muxed = dbc_find_signal(m, "Muxed");
	assert_int_equal(code->mux_kind, DBC_MUX_NONE);
	assert_null(code->mux_switch);
	assert_int_equal(muxed->mux_kind, DBC_MUX_MUXED);
	assert_ptr_equal(muxed->mux_switch, dbc_find_signal(m, "Index"));
	assert_int_equal(muxed->n_mux_ranges, 1);
	assert_int_equal(muxed->mux_ranges[0].lo, 2);
	assert_int_equal(muxed->mux_ranges[0].hi, 3);
	/* 29-bit without bit 31, in BO_ and in the sections that name it */
	const struct dbc_message *hud = dbc_find_message(dbc, 13274, true);
	assert_non_null(hud);
	assert_null(dbc_find_message(dbc, 13274, false));
	assert_string_equal(hud->comment, "29-bit");
	/* the long name is the name; the SG_ name still finds it */
	const struct dbc_signal *cell = &hud->signals[0];
	assert_string_equal(cell->name, "BatteryCellVoltageMaximumValueSincePowerOn");
	assert_string_equal(cell->short_name, "BatteryCellVoltageMaximumValueS");
	assert_ptr_equal(dbc_find_signal(hud, "BatteryCellVoltageMaximumValueS"), cell);
	assert_ptr_equal(dbc_lookup(dbc, "LKAS_HUD_A.BatteryCellVoltageMaximumValueSincePowerOn"), cell);
	assert_string_equal(cell->comment, "by its SG_ name");
	assert_string_equal(hud->signals[1].short_name, "Beyond");
	/* the messages around all this */
	assert_non_null(dbc_lookup(dbc, "Before.Speed"));
	assert_non_null(dbc_lookup(dbc, "After.Volts"));
	dbc_free(dbc);

	/* DBC_STRICT: the first construct outside the grammar is an error */
	messages[0] = '\0';
	assert_int_equal(dbc_load_buffer_with(&dbc, "t.dbc", dialect, strlen(dialect), DBC_STRICT), -EINVAL);
	assert_non_null(strstr(messages, "t.dbc:5:13: CM_: expected a signal name after the message id, "
				     "found a string\n"));
}

/* A broken SG_MUL_VAL_ leaves its signal as it was (here: m1 of the M
 * switch), never with a switch and no values. */
static void test_broken_mul_val(void **state)
{
	static const char text[] =
		"BO_ 1 X: 8 N\n"
		" SG_ M0 M : 0|8@1+ (1,0) [0|0] \"\" N\n"
		" SG_ S m1 : 8|8@1+ (1,0) [0|0] \"\" N\n"
		" SG_ T : 16|8@1+ (1,0) [0|0] \"\" N\n"
		"SG_MUL_VAL_ 1 S M0 2-;\n"
		"SG_MUL_VAL_ 1 T M0 3-4, x;\n";
	dbc_t *dbc;
	(void)state;

	assert_int_equal(load(&dbc, text), 0);
	const struct dbc_signal *s = dbc_lookup(dbc, "X.S"), *t = dbc_lookup(dbc, "X.T");
	assert_ptr_equal(s->mux_switch, dbc_lookup(dbc, "X.M0"));
	assert_int_equal(s->n_mux_ranges, 1);
	assert_int_equal(s->mux_ranges[0].lo, 1);
	assert_null(t->mux_switch);
	assert_int_equal(t->n_mux_ranges, 0);
	assert_int_equal(dbc_warning_count(dbc), 2);
	dbc_free(dbc);
}

/* A statement skipped has no effect: none of what it read before the
 * fault is kept. */
static void test_skipped_no_effect(void **state)
{
	static const char text[] =
		"BO_ 1 X: 8 N\n"
		" SG_ S : 0|8@1+ (1,0) [0|0] \"\" N\n"
		" SG_ F : 8|32@1- (1,0) [0|0] \"\" N\n"
		"CM_ BO_ 1 \"comment\" junk;\n"
		"CM_ SG_ 1 S \"comment\" junk;\n"
		"VAL_ 1 S 1 \"one\" 2 \"two\" 3 ;\n"
		"VAL_TABLE_ T 1 \"one\" 2 ;\n"
		"SIG_VALTYPE_ 1 F : 1 junk;\n"
		"BA_DEF_ BO_ \"GenMsgCycleTime\" INT 0 65535 junk;\n"
		"BA_DEF_ BO_ \"VFrameFormat\" ENUM \"StandardCAN\",\"StandardCAN_FD\";\n"
		"BA_ \"VFrameFormat\" BO_ 1 1 junk;\n"
		"BA_DEF_DEF_ \"VFrameFormat\" 1 junk;\n";
	dbc_t *dbc;
	unsigned n;
	(void)state;

	assert_int_equal(load(&dbc, text), 0);
	assert_int_equal(dbc_warning_count(dbc), 8);
	const struct dbc_message *m = dbc_find_message(dbc, 1, false);
	assert_null(m->comment);
	assert_null(m->signals[0].comment);
	assert_int_equal(m->signals[0].n_values, 0);
	assert_null(dbc_value_table(dbc, "T", &n));
	assert_int_equal(m->signals[1].value_type, DBC_VT_INT);
	assert_int_equal(m->cycle_time_ms, 0);
	assert_false(m->is_fd);   /* neither the BA_ nor the default applied */
	dbc_free(dbc);
}

/* The factor and offset as written: mantissa and exponent. */
static void test_decimal(void **state)
{
	static const struct { const char *text; int64_t mant; int exp; bool exact; } cases[] = {
		{ "1", 1, 0, true }, { "0.01", 1, -2, true }, { "-0.1", -1, -1, true },
		{ "1500", 15, 2, true }, { "1e-3", 1, -3, true }, { "1.5E+3", 15, 2, true },
		{ "0.00390625", 390625, -8, true }, { "0", 0, 0, true }, { "-0.0", 0, 0, true },
		{ "-3276.8", -32768, -1, true }, { "0.0015259", 15259, -7, true },
		{ "10.010", 1001, -2, true }, { "123456789012345678", 123456789012345678, 0, true },
		{ "1234567890123456789", 0, 0, false }, { "3.14159265358979323846", 0, 0, false },
		{ "1e100", 0, 0, false }, { "1e99", 1, 99, true }, { "100e-101", 1, -99, true },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[200];
		dbc_t *dbc;
		snprintf(text, sizeof(text), "BO_ 1 X: 8 N\n SG_ S : 0|8@1+ (%s,%s) [0|0] \"\" N\n",
			 cases[i].text, cases[i].text);
		assert_int_equal(load(&dbc, text), 0);
		const struct dbc_signal *s = dbc_lookup(dbc, "X.S");
		for (int k = 0; k < 2; k++) {
			const struct dbc_decimal *d = k ? &s->offset_dec : &s->factor_dec;
			if (d->exact != cases[i].exact || (d->exact && (d->mant != cases[i].mant ||
								       d->exp != cases[i].exp)))
				fail_msg("%s: %lld e%d exact %d", cases[i].text, (long long)d->mant, d->exp,
					 d->exact);
		}
		assert_true(s->factor == strtod(cases[i].text, NULL));
		dbc_free(dbc);
	}
}

/* A file full of broken lines loads what is sound, prints at most 50
 * warnings and says how many more there were. */
static void test_many_warnings(void **state)
{
	const size_t cap = 65536;
	char *text = malloc(cap);
	size_t n = 0;
	dbc_t *dbc;
	(void)state;

	assert_non_null(text);
	for (unsigned i = 0; i < 80; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "BO_ %u M%u: 8 N\n SG_ S : 0|8@1+ (1,0) [0|0] \"\" N\n SG_ Bad : 8|x@1+\n",
				      i + 1, i);
	messages[0] = '\0';
	assert_int_equal(load(&dbc, text), 0);
	assert_int_equal(dbc_message_count(dbc), 80);
	assert_non_null(dbc_lookup(dbc, "M79.S"));
	assert_int_equal(dbc_warning_count(dbc), 80);
	assert_non_null(strstr(messages, "t.dbc: 80 warnings in all, 30 not shown"));
	assert_null(strstr(messages, "t.dbc:153:"));   /* the 51st is not printed */
	assert_non_null(strstr(messages, "t.dbc:150:"));
	dbc_free(dbc);
	free(text);
}

/* Real files: extended id pseudo-message, duplicate ids, references to
 * unknown messages warn, load, and keep the first definition. */
static void test_warnings(void **state)
{
	static const char text[] =
		"BO_ 3221225472 VECTOR__INDEPENDENT_SIG_MSG: 0 Vector__XXX\n"
		" SG_ Orphan : 0|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
		"BO_ 5 First: 8 N\n"
		"BO_ 5 Second: 8 N\n"
		"CM_ BO_ 77 \"nobody\";\n"
		"VAL_ 5 Missing 1 \"x\";\n";
	dbc_t *dbc;
	(void)state;

	assert_int_equal(load(&dbc, text), 0);
	assert_string_equal(dbc_find_message(dbc, 5, false)->name, "First");
	assert_non_null(strstr(messages, "t.dbc:4:1: message Second: id 5 defined twice"));
	assert_non_null(strstr(messages, "t.dbc:5:1: no message with id 77"));
	assert_non_null(strstr(messages, "t.dbc:6:8: VAL_ for unknown signal Missing"));
	assert_null(strstr(messages, "VECTOR__INDEPENDENT_SIG_MSG"));
	dbc_free(dbc);
}

/* NS_ names in column 1, no BS_/BU_: the list still ends at BO_ */
static void test_ns_unindented(void **state)
{
	static const char text[] =
		"VERSION \"\"\nNS_ :\nCM_\nBA_DEF_\nSG_MUL_VAL_\n"
		"BO_ 1 X: 8 N\n SG_ S : 0|8@1+ (1,0) [0|0] \"\" N\n"
		"CM_ SG_ 1 S \"c\";\n";
	dbc_t *dbc;
	(void)state;

	assert_int_equal(load(&dbc, text), 0);
	assert_string_equal(dbc_lookup(dbc, "X.S")->comment, "c");
	assert_string_equal(dbc_find_message(dbc, 1, false)->transmitter, "N");
	dbc_free(dbc);

	/* no transmitter: the line ends after the size */
	static const char no_tx[] = "BO_ 2 Y: 4\n SG_ T : 0|8@1+ (1,0) [0|0] \"\" N\n";
	assert_int_equal(load(&dbc, no_tx), 0);
	assert_string_equal(dbc_find_message(dbc, 2, false)->transmitter, "");
	assert_non_null(dbc_lookup(dbc, "Y.T"));
	dbc_free(dbc);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test_dbc.XXXXXX";
	int fd = mkstemp(path);
	dbc_t *dbc;
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, full, strlen(full)), (ssize_t)strlen(full));
	close(fd);
	assert_int_equal(dbc_load(&dbc, path), 0);
	assert_int_equal(dbc_message_count(dbc), 3);
	dbc_free(dbc);
	unlink(path);
	assert_int_equal(dbc_load(&dbc, path), -ENOENT);
	assert_int_equal(dbc_load(&dbc, "/"), -EFBIG);
	/* empty file: no messages, no error */
	assert_int_equal(load(&dbc, ""), 0);
	assert_int_equal(dbc_message_count(dbc), 0);
	dbc_free(dbc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_metadata, setup),
		cmocka_unit_test_setup(test_extract, setup),
		cmocka_unit_test_setup(test_encode, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_warnings, setup),
		cmocka_unit_test_setup(test_dialect, setup),
		cmocka_unit_test_setup(test_broken_mul_val, setup),
		cmocka_unit_test_setup(test_skipped_no_effect, setup),
		cmocka_unit_test_setup(test_decimal, setup),
		cmocka_unit_test_setup(test_many_warnings, setup),
		cmocka_unit_test_setup(test_ns_unindented, setup),
		cmocka_unit_test_setup(test_load_file, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
