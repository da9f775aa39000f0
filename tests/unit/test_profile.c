/* Unit tests for can/profile.c: the shipped profiles load, their frames
 * decode to canonical units with the right current sign (expected values
 * worked by hand from the published layouts, payloads built byte by byte),
 * and each kind of profile error names the file, line and culprit. */
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

#include "lib/log.h"
#include "can/j1939.h"
#include "can/profile.h"

#include "tests/unit/test_util.h"

static const char *profiles_dir(void)
{
	static char dir[4096];
	const char *src = getenv("ECO2_SRC");

	snprintf(dir, sizeof(dir), "%s/can/profiles", src ? src : ".");
	return dir;
}

static profile_t *load_shipped(const char *name)
{
	char path[4200];
	profile_t *p = NULL;

	snprintf(path, sizeof(path), "%s/%s", profiles_dir(), name);
	if (profile_load(&p, path) != 0)
		fail_msg("%s does not load:\n%s", path, messages);
	return p;
}

static struct can_frame_rec frame(uint32_t id, bool ext, const uint8_t *data, uint8_t len)
{
	struct can_frame_rec f;

	memset(&f, 0, sizeof(f));
	f.t_ns = 1700000000123456789ull;
	f.id = id;
	f.flags = ext ? CANREC_EXT : 0;
	f.len = len;
	memcpy(f.data, data, len);
	return f;
}

/* Decode and return the value of `role` (fails if absent or repeated). */
static double decode_role(const profile_t *p, const struct can_frame_rec *f,
			  enum eco2_role role)
{
	struct eco2_sample s[ROLE_COUNT];
	int n = profile_decode(p, f, s, ROLE_COUNT);
	int found = -1;

	for (int i = 0; i < n; i++) {
		assert_int_equal(s[i].t_ns, f->t_ns);
		if (s[i].role == role) {
			assert_int_equal(found, -1);
			found = i;
		}
	}
	if (found < 0)
		fail_msg("role %s absent from frame 0x%x", profile_role_name(role), f->id);
	return s[found].value;
}

static bool role_absent(const profile_t *p, const struct can_frame_rec *f, enum eco2_role role)
{
	struct eco2_sample s[ROLE_COUNT];
	int n = profile_decode(p, f, s, ROLE_COUNT);

	for (int i = 0; i < n; i++)
		if (s[i].role == role)
			return false;
	return true;
}

#define assert_close(a, b) do { double _a = (a), _b = (b); \
	if (fabs(_a - _b) > 1e-9 * (fabs(_b) > 1 ? fabs(_b) : 1)) \
		fail_msg("%s = %.12g, expected %.12g", #a, _a, _b); } while (0)

static void test_reference(void **state)
{
	(void)state;
	profile_t *p = load_shipped("reference.profile");
	/* PackVoltage 0|16 LE raw 0x9C40 = 40000 -> 400.00 V; PackCurrent
	 * 16|16 signed raw 0xFF38 = -200 -> -20.0 A (charging). */
	const uint8_t pack[8] = { 0x40, 0x9c, 0x38, 0xff, 0xa0, 0, 0, 0 };
	/* Odometer 0|32 raw 0x00BC614E = 12345678 -> 12345.678 km */
	const uint8_t odo[8] = { 0x4e, 0x61, 0xbc, 0x00 };
	const uint8_t spd[8] = { 0x39, 0x30 };        /* 12345 -> 123.45 km/h */
	const uint8_t st_on[8] = { 0x01 }, st_chg[8] = { 0x02 };
	struct can_frame_rec f;

	assert_string_equal(profile_name(p), "eco2 reference EV");
	assert_false(profile_is_j1939(p));
	f = frame(0x110, false, pack, 8);
	assert_close(decode_role(p, &f, ROLE_PACK_VOLTAGE), 400.0);
	assert_close(decode_role(p, &f, ROLE_PACK_CURRENT), -20.0);
	f = frame(0x130, false, odo, 8);
	assert_close(decode_role(p, &f, ROLE_ODOMETER), 12345678.0);
	f = frame(0x120, false, spd, 8);
	assert_close(decode_role(p, &f, ROLE_SPEED), 123.45);
	f = frame(0x140, false, st_on, 8);
	assert_close(decode_role(p, &f, ROLE_IGNITION), 1);
	assert_close(decode_role(p, &f, ROLE_CHARGING), 0);
	f = frame(0x140, false, st_chg, 8);
	assert_close(decode_role(p, &f, ROLE_IGNITION), 0);
	assert_close(decode_role(p, &f, ROLE_CHARGING), 1);
	/* The energy counters are in the DBC but not mapped: nothing. */
	f = frame(0x150, false, odo, 8);
	assert_int_equal(profile_decode(p, &f, NULL, 0), 0);
	/* Same number as an extended id: not this message. */
	f = frame(0x130, true, odo, 8);
	assert_true(role_absent(p, &f, ROLE_ODOMETER));
	/* Remote and error frames never decode. */
	f = frame(0x130, false, odo, 8);
	f.flags |= CANREC_RTR;
	assert_true(role_absent(p, &f, ROLE_ODOMETER));
	f.flags = CANREC_ERR;
	assert_true(role_absent(p, &f, ROLE_ODOMETER));
	/* A short frame: the odometer does not fit in 3 bytes. */
	f = frame(0x130, false, odo, 3);
	assert_true(role_absent(p, &f, ROLE_ODOMETER));
	profile_free(p);
}

static void test_reference_filters(void **state)
{
	(void)state;
	profile_t *p = load_shipped("reference.profile");
	struct socketcan_id ids[8];
	uint32_t want[] = { 0x110, 0x120, 0x130, 0x140 };
	ssize_t n = profile_filters(p, ids, ARRAY_SIZE(ids));

	assert_int_equal(n, 4);
	for (size_t w = 0; w < ARRAY_SIZE(want); w++) {
		bool seen = false;
		for (ssize_t i = 0; i < n; i++)
			if (ids[i].id == want[w] && ids[i].mask == 0)
				seen = true;
		assert_true(seen);
	}
	assert_int_equal(profile_filters(p, ids, 3), -E2BIG);
	profile_free(p);
}

static void test_tesla(void **state)
{
	(void)state;
	profile_t *p = load_shipped("tesla-model3.profile");
	/* 0x3B6 Odometer 0|32 (0.001 km): raw 0x075BCD15 = 123456789 */
	const uint8_t odo[4] = { 0x15, 0xcd, 0x5b, 0x07 };
	/* 0x132 BattVoltage raw 0x8CA0 = 36000 -> 360.00 V; SmoothBattCurrent
	 * raw 0xFE0C = -500, factor -0.1 -> +50.0 A = discharge. */
	const uint8_t hv[8] = { 0xa0, 0x8c, 0x0c, 0xfe };
	/* 0x3F2 index 3 (drive discharge) / 2 (regen), 8|32 raw 1234567 = 0x0012D687 */
	const uint8_t c3[8] = { 0x03, 0x87, 0xd6, 0x12, 0x00 };
	const uint8_t c2[8] = { 0x02, 0x87, 0xd6, 0x12, 0x00 };
	const uint8_t c1[8] = { 0x01, 0x87, 0xd6, 0x12, 0x00 };
	struct can_frame_rec f;

	f = frame(0x3b6, false, odo, 4);
	assert_close(decode_role(p, &f, ROLE_ODOMETER), 123456789.0);
	f = frame(0x132, false, hv, 8);
	assert_close(decode_role(p, &f, ROLE_PACK_VOLTAGE), 360.0);
	assert_close(decode_role(p, &f, ROLE_PACK_CURRENT), 50.0);
	f = frame(0x3f2, false, c3, 8);
	assert_close(decode_role(p, &f, ROLE_DISCHARGE_TOTAL), 1234567.0);
	assert_true(role_absent(p, &f, ROLE_REGEN_TOTAL));
	f = frame(0x3f2, false, c2, 8);
	assert_close(decode_role(p, &f, ROLE_REGEN_TOTAL), 1234567.0);
	assert_true(role_absent(p, &f, ROLE_DISCHARGE_TOTAL));
	f = frame(0x3f2, false, c1, 8);
	assert_int_equal(profile_decode(p, &f, NULL, 0), 0);
	profile_free(p);
}

static void test_kona(void **state)
{
	(void)state;
	profile_t *p = load_shipped("hyundai-kona-ev.profile");
	/* 0x595 IBatt 32|16 signed raw 0xFB2E = -1234 -> -123.4 A (charging);
	 * VBatt 48|16 raw 0x0DEF = 3567 -> 356.7 V. */
	const uint8_t bms[8] = { 0, 0, 0, 0, 0x2e, 0xfb, 0xef, 0x0d };
	/* 0x5D0 Odometer 0|24 (0.1 km) raw 0x01E240 = 123456 -> 12345.6 km */
	const uint8_t odo[8] = { 0x40, 0xe2, 0x01 };
	struct can_frame_rec f;

	f = frame(0x595, false, bms, 8);
	assert_close(decode_role(p, &f, ROLE_PACK_CURRENT), -123.4);
	assert_close(decode_role(p, &f, ROLE_PACK_VOLTAGE), 356.7);
	/* 6 bytes hold the current but not the voltage. */
	f = frame(0x595, false, bms, 6);
	assert_close(decode_role(p, &f, ROLE_PACK_CURRENT), -123.4);
	assert_true(role_absent(p, &f, ROLE_PACK_VOLTAGE));
	f = frame(0x5d0, false, odo, 8);
	assert_close(decode_role(p, &f, ROLE_ODOMETER), 12345600.0);
	profile_free(p);
}

static void test_leaf(void **state)
{
	(void)state;
	profile_t *p = load_shipped("nissan-leaf-aze0.profile");
	/* 0x1DB LB_Current 7|11@0- : d0 << 3 | d1 >> 5; raw 0x79C = -100
	 * -> -50.0 A in the Leaf's charge-positive convention -> +50 A
	 * discharge. LB_Total_Voltage 23|10@0+ : d2 << 2 | d3 >> 6; raw
	 * 0x2E4 = 740 -> 370.0 V. */
	const uint8_t lbc[8] = { 0xf3, 0x80, 0xb9, 0x00 };
	/* 0x5C5 Odometer 15|24@0+ : d1 << 16 | d2 << 8 | d3; 54321 km */
	const uint8_t odo[8] = { 0x00, 0x00, 0xd4, 0x31 };
	/* 0x284 speed 39|16@0+ : d4 << 8 | d5 = 4900 -> 4900 / 98 = 50 km/h */
	const uint8_t spd[8] = { 0, 0, 0, 0, 0x13, 0x24 };
	struct can_frame_rec f;

	f = frame(0x1db, false, lbc, 8);
	assert_close(decode_role(p, &f, ROLE_PACK_CURRENT), 50.0);
	assert_close(decode_role(p, &f, ROLE_PACK_VOLTAGE), 370.0);
	f = frame(0x5c5, false, odo, 8);
	assert_close(decode_role(p, &f, ROLE_ODOMETER), 54321000.0);
	f = frame(0x284, false, spd, 8);
	assert_true(fabs(decode_role(p, &f, ROLE_SPEED) - 50.0) < 1e-9);
	assert_close(profile_unit_factor(p, ROLE_PACK_CURRENT), -1.0);
	profile_free(p);
}

static void check_j1939_profile(void)
{
	profile_t *p = load_shipped("j1939.profile");
	/* HRVD from SA 0x17, priority 6: 200000 * 5 m = 1000 km */
	const uint8_t hrvd[8] = { 0x40, 0x0d, 0x03, 0x00, 0xff, 0xff, 0xff, 0xff };
	/* CCVS1 from SA 0xEE, priority 3: speed bytes 2-3 = 0x1900 / 256 = 25 km/h */
	const uint8_t ccvs[8] = { 0xff, 0x00, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t ccvs_na[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	/* HVESSD1: voltage raw 12000 * 0.05 = 600 V; current raw 34000 * 0.05 - 1600 = 100 A */
	const uint8_t hvess[8] = { 0, 0, 0, 0, 0xe0, 0x2e, 0xd0, 0x84 };
	struct can_frame_rec f;
	struct socketcan_id ids[8];
	ssize_t n;

	assert_true(profile_is_j1939(p));
	f = frame(j1939_make_id(6, J1939_PGN_HRVD, 0, 0x17), true, hrvd, 8);
	assert_close(decode_role(p, &f, ROLE_ODOMETER), 1000000.0);
	f = frame(j1939_make_id(3, J1939_PGN_CCVS1, 0, 0xee), true, ccvs, 8);
	assert_close(decode_role(p, &f, ROLE_SPEED), 25.0);
	/* "not available" is no measurement */
	f = frame(j1939_make_id(3, J1939_PGN_CCVS1, 0, 0xee), true, ccvs_na, 8);
	assert_true(role_absent(p, &f, ROLE_SPEED));
	f = frame(j1939_make_id(6, J1939_PGN_HVESSD1, 0, 0xf3), true, hvess, 8);
	assert_close(decode_role(p, &f, ROLE_PACK_VOLTAGE), 600.0);
	assert_close(decode_role(p, &f, ROLE_PACK_CURRENT), 100.0);
	/* J1939 is 29-bit only */
	f = frame(0x7ff, false, ccvs, 8);
	assert_int_equal(profile_decode(p, &f, NULL, 0), 0);

	n = profile_filters(p, ids, ARRAY_SIZE(ids));
	assert_int_equal(n, 3);
	for (ssize_t i = 0; i < n; i++) {
		assert_true(ids[i].id & SOCKETCAN_EFF);
		assert_int_equal(ids[i].mask, 0x03ffff00);
	}
	profile_free(p);
}

static void test_j1939_profile(void **state)
{
	(void)state;
	if (IS_ENABLED(CONFIG_CAN_J1939))
		check_j1939_profile();
	else
		skip();
}

static void test_encode_roundtrip(void **state)
{
	(void)state;
	static const char *const names[] = {
		"reference.profile", "reference-counters.profile", "tesla-model3.profile",
		"hyundai-kona-ev.profile",
		"nissan-leaf-aze0.profile", "j1939.profile",
	};
	static const double values[ROLE_COUNT] = {
		[ROLE_ODOMETER] = 42000.0, [ROLE_SPEED] = 88.0,
		[ROLE_PACK_VOLTAGE] = 355.5, [ROLE_PACK_CURRENT] = -42.5,
		[ROLE_DISCHARGE_TOTAL] = 5000.0, [ROLE_REGEN_TOTAL] = 1200.0,
		[ROLE_IGNITION] = 1, [ROLE_CHARGING] = 1,
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!IS_ENABLED(CONFIG_CAN_J1939) && strstr(names[i], "j1939"))
			continue;
		profile_t *p = load_shipped(names[i]);
		for (unsigned r = 0; r < ROLE_COUNT; r++) {
			uint8_t data[64] = { 0 };
			uint32_t id;
			bool ext;
			struct can_frame_rec f;
			int ret = profile_encode(p, (enum eco2_role)r, values[r], data,
						 sizeof(data), &id, &ext);
			if (!profile_signal(p, (enum eco2_role)r)) {
				assert_int_equal(ret, -ENOENT);
				continue;
			}
			assert_int_equal(ret, 0);
			f = frame(id, ext, data, profile_signal(p, (enum eco2_role)r)->message->size);
			/* within one raw step of the signal */
			double step = fabs(profile_signal(p, (enum eco2_role)r)->factor *
					   profile_unit_factor(p, (enum eco2_role)r));
			double got = decode_role(p, &f, (enum eco2_role)r);
			if (fabs(got - values[r]) > step / 2 + 1e-9)
				fail_msg("%s %s: encoded %g, decoded %g", names[i],
					 profile_role_name((enum eco2_role)r), values[r], got);
		}
		profile_free(p);
	}
}

/* ---- errors ------------------------------------------------------------ */

static int load_text(const char *text, profile_t **out)
{
	messages[0] = '\0';
	return profile_load_buffer(out, "t.profile", text, strlen(text), profiles_dir());
}

static void expect_error_rc(const char *text, const char *needle, int rc)
{
	profile_t *p = NULL;

	assert_int_equal(load_text(text, &p), rc);
	assert_null(p);
	if (!strstr(messages, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, messages);
}

static void expect_error(const char *text, const char *needle)
{
	expect_error_rc(text, needle, -EINVAL);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = Nope.Odometer\n",
		     "t.profile:4: odometer: no message 'Nope'");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer.Nope\n",
		     "t.profile:4: odometer: message 'VCU_Odometer' has no signal 'Nope'");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nspeed = VCU_Speed.VehicleSpeed\n",
		     "t.profile: [signals] odometer: required");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer.Odometer\n"
		     "speed = VCU_Odometer.Odometer\n",
		     "t.profile:5: speed: unit 'km' is a distance; speed needs a speed");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer.Odometer\n"
		     "odometer_unit = parsec\n",
		     "t.profile:5: [signals] odometer_unit: unknown unit 'parsec'");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer.Odometer\n"
		     "odometer = VCU_Odometer.Odometer\n",
		     "t.profile:5: [signals] odometer: set twice (first on line 4)");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer.Odometer\n"
		     "range = VCU_Odometer.Odometer\n", "t.profile:5: [signals] range: unknown role");
	expect_error("[vehicle]\ndbc = reference.dbc\nj1939 = builtin\n[signals]\nodometer = A.B\n",
		     "t.profile:3: [vehicle]: give either dbc or j1939 = builtin");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer.Odometer\n"
		     "pack_voltage = BMS_Pack.PackVoltage\n", "t.profile:5: [signals]: pack_voltage and pack_current go together");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer\n",
		     "t.profile:4: [signals] odometer: expected MessageName.SignalName");
	expect_error("[vehicle]\ndbc = reference.dbc\n[options]\ncurrent_positive = out\n",
		     "t.profile:4: [options] current_positive: expected discharge or charge");
	expect_error("[vehicle]\ndbc = reference.dbc\n[engine]\nx = 1\n",
		     "t.profile:4: [engine]: unknown section");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer.Odometer\n"
		     "not a key value line\n", "t.profile:5: expected '[section]' or 'key = value'");
	expect_error_rc("[vehicle]\ndbc = missing.dbc\n[signals]\nodometer = VCU_Odometer.Odometer\n",
			"t.profile:2: cannot load DBC", -ENOENT);
	expect_error("[vehicle]\nj1939 = yes\n", "t.profile:2: [vehicle] j1939: expected 'builtin'");
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer.Odometer\n"
		     "speed_unit = mph\n", "t.profile:5: speed_unit: speed is not mapped");
	/* A signal without a unit needs an override. */
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = BMS_Pack.PackSOC\n",
		     "t.profile:4: odometer: BMS_Pack.PackSOC has unit '%', which is not known; set odometer_unit");
}

static void test_overrides(void **state)
{
	(void)state;
	profile_t *p = NULL;
	const uint8_t odo[8] = { 0x10, 0x27 };   /* raw 10000 -> "10 km" per the DBC */
	const uint8_t pack[8] = { 0, 0, 0x64, 0x00 };   /* +10.0 A */
	struct can_frame_rec f;

	/* Override the unit (case-insensitive) and the current convention. */
	assert_int_equal(load_text("[vehicle]\nname = x\ndbc = reference.dbc\n"
				   "[signals]\nodometer = VCU_Odometer.Odometer\nodometer_unit = MI\n"
				   "pack_voltage = BMS_Pack.PackVoltage\npack_current = BMS_Pack.PackCurrent\n"
				   "[options]\ncurrent_positive = charge\npack_voltage_unit = mv\n", &p), 0);
	f = frame(0x130, false, odo, 8);
	assert_close(decode_role(p, &f, ROLE_ODOMETER), 10 * 1609.344);
	f = frame(0x110, false, pack, 8);
	assert_close(decode_role(p, &f, ROLE_PACK_CURRENT), -10.0);
	assert_close(profile_unit_factor(p, ROLE_PACK_VOLTAGE), 0.001);
	profile_free(p);

	/* No energy signals is allowed, with a warning; inline comments as in
	 * the documented key list are fine. */
	assert_int_equal(load_text("[vehicle]\ndbc = reference.dbc   ; or j1939 = builtin\n[signals]\n"
				   "odometer = VCU_Odometer.Odometer   ; required\n", &p), 0);
	assert_non_null(strstr(messages, "no energy signals"));
	assert_string_equal(profile_name(p), "");
	profile_free(p);
	profile_free(NULL);
}

static void test_missing_file(void **state)
{
	(void)state;
	profile_t *p = NULL;

	assert_int_equal(profile_load(&p, "/nonexistent/x.profile"), -ENOENT);
	assert_null(p);
	assert_non_null(strstr(messages, "/nonexistent/x.profile: cannot open"));
	/* A folder opens but cannot be read. */
	assert_int_equal(profile_load(&p, profiles_dir()), -EISDIR);
	assert_null(p);
	assert_non_null(strstr(messages, "cannot read: Is a directory"));
}


/* Answers built byte by byte from the published layouts (README.md),
 * decoded through the shipped polled profiles. */
static double poll_value(const profile_t *p, enum eco2_role role, const uint8_t *pdu, size_t len)
{
	const struct diag_field *f = NULL;
	const struct diag_req *r = profile_poll_of(p, role, &f);
	struct eco2_sample s[DIAG_MAX_FIELDS];
	uint8_t nrc;
	int n;

	assert_non_null(r);
	assert_int_equal(diag_classify(r, pdu, len, &nrc), DIAG_POSITIVE);
	n = diag_decode(r, pdu, len, 1, s, DIAG_MAX_FIELDS);
	for (int i = 0; i < n; i++)
		if (s[i].role == role)
			return s[i].value;
	fail_msg("%s not decoded", profile_role_name(role));
	return 0;
}

static void test_poll_profiles(void **state)
{
	(void)state;
	profile_t *p = load_shipped("hyundai-ioniq5.profile");
	const struct diag_req *r;
	size_t n;
	uint8_t bms[62] = { 0x62, 0x01, 0x01 }, clu[15] = { 0x62, 0xb0, 0x02 };

	r = profile_polls(p, &n);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].name, "cluster");
	assert_int_equal(r[0].tx_id, 0x7c6);
	assert_int_equal(r[0].rx_id, 0x7ce);
	assert_false(r[0].ext);
	assert_int_equal(r[1].answer_len, 62);
	assert_int_equal(r[1].interval_ms[DIAG_DRIVING], 1000);
	assert_int_equal(r[1].interval_ms[DIAG_CHARGING], 10000);
	assert_int_equal(r[1].interval_ms[DIAG_PARKED], 0);
	assert_null(profile_dbc(p));
	assert_int_equal(profile_roles(p), (1u << ROLE_ODOMETER) | (1u << ROLE_PACK_VOLTAGE) |
			 (1u << ROLE_PACK_CURRENT) | (1u << ROLE_DISCHARGE_TOTAL) |
			 (1u << ROLE_REGEN_TOTAL) | (1u << ROLE_IGNITION));
	/* odometer bytes 6..8 = 01 E2 40: 123456 km */
	clu[3 + 6] = 0x01; clu[3 + 7] = 0xe2; clu[3 + 8] = 0x40;
	assert_close(poll_value(p, ROLE_ODOMETER, clu, sizeof(clu)), 123456000.0);
	/* a 24-bit counter wraps at 2^24 km */
	assert_close(profile_odo_wrap_m(p), 16777216.0 * 1000);
	/* current FF 38 = -200 -> -20.0 A; the BMS counts discharge positive */
	bms[3 + 10] = 0xff; bms[3 + 11] = 0x38;
	assert_close(poll_value(p, ROLE_PACK_CURRENT, bms, sizeof(bms)), -20.0);
	bms[3 + 12] = 0x0e; bms[3 + 13] = 0xd8;          /* 3800 -> 380.0 V */
	assert_close(poll_value(p, ROLE_PACK_VOLTAGE, bms, sizeof(bms)), 380.0);
	bms[3 + 44] = 0x30; bms[3 + 45] = 0x39;          /* CED 12345 -> 1234.5 kWh */
	assert_close(poll_value(p, ROLE_DISCHARGE_TOTAL, bms, sizeof(bms)), 1234500.0);
	bms[3 + 41] = 0x10;                              /* CEC 16 -> 1.6 kWh */
	assert_close(poll_value(p, ROLE_REGEN_TOTAL, bms, sizeof(bms)), 1600.0);
	bms[3 + 50] = 0x04;
	assert_close(poll_value(p, ROLE_IGNITION, bms, sizeof(bms)), 1.0);
	profile_free(p);

	/* The Kona's odometer sits three bytes later. */
	p = load_shipped("hyundai-kona-ev-poll.profile");
	memset(clu + 3, 0, sizeof(clu) - 3);
	clu[3 + 9] = 0x00; clu[3 + 10] = 0x30; clu[3 + 11] = 0x39;
	assert_close(poll_value(p, ROLE_ODOMETER, clu, sizeof(clu)), 12345000.0);
	profile_free(p);

	/* OBD-II: PID A6 0.1 km, PID 9A 1/64 V and 0.1 A - 3276.8 A */
	p = load_shipped("obd2-ev.profile");
	const uint8_t a6[] = { 0x41, 0xa6, 0x00, 0x01, 0xe2, 0x40 };
	const uint8_t a9a[] = { 0x41, 0x9a, 0x00, 0x00, 0x60, 0x40, 0x80, 0xc8 };
	assert_close(poll_value(p, ROLE_ODOMETER, a6, sizeof(a6)), 12345600.0);
	assert_close(poll_value(p, ROLE_PACK_VOLTAGE, a9a, sizeof(a9a)), 385.0);
	assert_close(poll_value(p, ROLE_PACK_CURRENT, a9a, sizeof(a9a)), 20.0);
	assert_close(profile_odo_wrap_m(p), 4294967296.0 * 100);
	profile_free(p);

	/* J1939: the request carries PGN 65217 = C1 FE 00 to everybody from
	 * the logger's address, in PGN 59904 at priority 6: 18EAFFFB. */
	p = load_shipped("j1939-poll.profile");
	r = profile_polls(p, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].kind, DIAG_J1939);
	assert_int_equal(r[0].pgn, 65217);
	assert_int_equal(r[0].req_len, 3);
	assert_memory_equal(r[0].req, "\xc1\xfe\x00", 3);
	assert_int_equal(r[0].tx_id, 0x18eafffb);
	assert_true(r[0].ext);
	assert_null(profile_poll_of(p, ROLE_ODOMETER, NULL));   /* decoded by [signals] */
	profile_free(p);

	/* Broadcast and polled together. */
	p = load_shipped("reference-poll.profile");
	r = profile_polls(p, &n);
	assert_int_equal(n, 2);
	assert_non_null(profile_signal(p, ROLE_IGNITION));
	assert_non_null(profile_poll_of(p, ROLE_ODOMETER, NULL));
	assert_int_equal(profile_roles(p), (1u << ROLE_COUNT) - 1);
	profile_free(p);
}

static void test_poll_errors(void **state)
{
	(void)state;
	const char *head = "[vehicle]\nname = x\n[poll.a]\necu = 7E0 7E8\nrequest = 01 A6\ndriving_s = 1\n";
	char buf[1024];

#define POLL_ERR(extra, needle) do { \
		snprintf(buf, sizeof(buf), "%s%s", head, extra); \
		expect_error(buf, needle); \
	} while (0)
	/* Only reads can be declared. */
	expect_error("[vehicle]\n[poll.a]\necu = 7E0 7E8\nrequest = 2E F1 90 00\n",
		     "t.profile:4: [poll.a] request: service 2E is not a read this agent may send");
	expect_error("[vehicle]\n[poll.a]\necu = 7E0 7E8\nrequest = 10 03\n",
		     "t.profile:4: [poll.a] request: service 10 is not a read");
	expect_error("[vehicle]\n[poll.a]\necu = 7E0 7E8\nrequest = 22 01\n",
		     "t.profile:4: [poll.a] request: service 22 takes 2 parameter bytes, not 1");
	expect_error("[vehicle]\n[poll.a]\necu = 7E0 7E8\nrequest = zz\n",
		     "t.profile:4: [poll.a] request: expected hex bytes");
	POLL_ERR("odometer = 0:4 * 0.1\n", "t.profile:7: [poll.a] odometer: give the unit");
	POLL_ERR("odometer = 0:4 * 0.1 V\n", "t.profile:7: [poll.a] odometer: unit 'V' is a voltage; odometer needs a distance");
	POLL_ERR("odometer = 0:9 km\n", "t.profile:7: [poll.a] odometer: expected POS[:LEN|.BIT]");
	POLL_ERR("odometer = 0.8\n", "t.profile:7: [poll.a] odometer: expected POS");
	POLL_ERR("odometer = 0:4 km\nignition = 5.1 km\n", "t.profile:8: [poll.a] ignition: a state takes no unit");
	POLL_ERR("odometer = 0:4 km\nodometer = 0:4 km\n", "t.profile:8: odometer: mapped twice (first on line 7)");
	POLL_ERR("odometer = 0:4 km\nfoo = 1\n", "t.profile:8: [poll.a] foo: unknown key");
	POLL_ERR("odometer = 0:4 km\ndriving_s = 2\n", "t.profile:8: [poll.a] driving_s: set twice");
	POLL_ERR("odometer = 0:4 km\nparked_s = 0.001\n", "t.profile:8: [poll.a] parked_s: expected 0 (never) or 0.01 to 86400");
	POLL_ERR("odometer = 0:4 km\nto = 00\n", "t.profile:8: [poll.a] to: only for a J1939 request");
	POLL_ERR("odometer = 0:4 km\nanswer_bytes = 4\n", "[poll.a] answer_bytes: 4 is shorter than the 6 bytes the roles read");
	POLL_ERR("odometer = 0:4 km\n[poll.b]\necu = 7E0 7E9\nrequest = 01 0D\ndriving_s = 1\nspeed = 0 km/h\n",
		 "t.profile:9: [poll.b] ecu: ids 7E0/7E9 clash with [poll.a]");
	POLL_ERR("odometer = 0:4 km\n[poll.b]\necu = 7E8 7E0\nrequest = 01 0D\ndriving_s = 1\nspeed = 0 km/h\n",
		 "[poll.b] ecu: ids 7E8/7E0 clash with [poll.a]");
	/* 10 ms between requests of two frames each: 27000 bit/s, 5.4 % */
	expect_error("[vehicle]\n[poll.a]\necu = 7E0 7E8\nrequest = 01 A6\ndriving_s = 0.01\nodometer = 0:4 km\n",
		     "t.profile: [poll]: polling takes up to 5.40 % of the 500000 bit/s bus while driving, over budget_pct = 1");
	expect_error("[vehicle]\n[poll]\nbudget_pct = 2\n[poll.a]\necu = 7E0 7E8\nrequest = 01 A6\ndriving_s = 0.01\nodometer = 0:4 km\n",
		     "t.profile:3: [poll]: polling takes up to 5.40 %");
	expect_error("[vehicle]\n[poll.a]\necu = 7E0 7E0\nrequest = 01 A6\ndriving_s = 1\nodometer = 0:4 km\n",
		     "t.profile:3: [poll.a] ecu: the answer id must differ");
	expect_error("[vehicle]\n[poll.a]\necu = 7E0 18DAF100\nrequest = 01 A6\ndriving_s = 1\nodometer = 0:4 km\n",
		     "t.profile:3: [poll.a] ecu: both ids 11-bit or both 29-bit");
	expect_error("[vehicle]\n[poll.a]\nrequest = 01 A6\nodometer = 0:4 km\n",
		     "t.profile:3: [poll.a] ecu: required");
	expect_error("[vehicle]\n[poll.a]\necu = 7E0 7E8\nrequest = 01 A6\nodometer = 0:4 km\n",
		     "t.profile:3: [poll.a] driving_s: required");
	expect_error("[vehicle]\n[poll]\npadding = XYZ\n", "t.profile:3: [poll] padding: expected a byte in hex");
	expect_error("[vehicle]\n[poll]\nbitrate = 5\n", "t.profile:3: [poll] bitrate: expected 10000 to 1000000");
	expect_error("[vehicle]\n[poll]\nspeed = 1\n", "t.profile:3: [poll] speed: unknown key");
	/* A role in [signals] and in a request; [signals] without a DBC. */
	expect_error("[vehicle]\ndbc = reference.dbc\n[signals]\nodometer = VCU_Odometer.Odometer\n"
		     "[poll.a]\necu = 7E0 7E8\nrequest = 01 A6\ndriving_s = 1\nodometer = 0:4 km\n",
		     "t.profile:9: odometer: mapped twice (first on line 4)");
	expect_error("[vehicle]\n[signals]\nignition = VCU_Status.Ignition\n"
		     "[poll.a]\necu = 7E0 7E8\nrequest = 01 A6\ndriving_s = 1\nodometer = 0:4 km\n",
		     "[vehicle]: dbc = FILE or j1939 = builtin is required for [signals]");
	/* J1939: fields belong in [signals]; the PGN must be decoded there. */
	expect_error("[vehicle]\nj1939 = builtin\n[signals]\nodometer = HRVD.HighResTotalVehicleDistance\n"
		     "[poll.d]\nj1939 = 65248\ndriving_s = 1\n",
		     "t.profile:6: [poll.d] j1939: no role in [signals] is read from PGN 65248");
	expect_error("[vehicle]\nj1939 = builtin\n[signals]\nodometer = HRVD.HighResTotalVehicleDistance\n"
		     "[poll.d]\nj1939 = 65217\ndriving_s = 1\nspeed = 0 km/h\n",
		     "t.profile:6: [poll.d]: a J1939 request takes j1939, to and the intervals only");
	expect_error("[vehicle]\nj1939 = builtin\n[signals]\nodometer = HRVD.HighResTotalVehicleDistance\n"
		     "[poll.d]\nj1939 = 65217\nto = FE\ndriving_s = 1\n",
		     "t.profile:7: [poll.d] to: expected a J1939 address");
#undef POLL_ERR
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reference, setup),
		cmocka_unit_test_setup(test_reference_filters, setup),
		cmocka_unit_test_setup(test_tesla, setup),
		cmocka_unit_test_setup(test_kona, setup),
		cmocka_unit_test_setup(test_leaf, setup),
		cmocka_unit_test_setup(test_j1939_profile, setup),
		cmocka_unit_test_setup(test_encode_roundtrip, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_overrides, setup),
		cmocka_unit_test_setup(test_missing_file, setup),
		cmocka_unit_test_setup(test_poll_profiles, setup),
		cmocka_unit_test_setup(test_poll_errors, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
