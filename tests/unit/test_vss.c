/* Unit tests for can/vss.c: every role has a VSS 4.0 path; values convert
 * to VSS's units and sign (worked by hand: 12345678 m is 12345.678 km; a
 * discharge of 20 A is -20 A in VSS, where current into the pack is
 * positive; 4321000 Wh is 4321 kWh; states as "ON"/"OFF" and booleans).
 * The paths, units and types themselves are checked against the VSS 4.0
 * catalogue by tests/integration/poll_profiles.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "can/vss.h"

static void test_paths(void **state)
{
	(void)state;
	for (int r = 0; r < ROLE_COUNT; r++) {
		const struct vss_signal *s = vss_of((enum eco2_role)r);

		assert_non_null(s);
		assert_non_null(s->path);
		assert_int_equal(strncmp(s->path, "Vehicle.", 8), 0);
		for (int q = 0; q < r; q++)
			assert_string_not_equal(s->path, vss_of((enum eco2_role)q)->path);
	}
	assert_null(vss_of(ROLE_COUNT));
	assert_string_equal(vss_of(ROLE_ODOMETER)->path, "Vehicle.TraveledDistance");
	assert_string_equal(vss_of(ROLE_ODOMETER)->unit, "km");
	assert_string_equal(VSS_VERSION, "4.0");
}

static void test_values(void **state)
{
	double num;
	const char *str;
	bool flag;
	(void)state;

	vss_value(ROLE_ODOMETER, 12345678, &num, &str, &flag);
	assert_true(fabs(num - 12345.678) < 1e-9);
	vss_value(ROLE_PACK_CURRENT, 20, &num, &str, &flag);
	assert_true(num == -20);
	vss_value(ROLE_PACK_CURRENT, -7.5, &num, &str, &flag);
	assert_true(num == 7.5);
	vss_value(ROLE_PACK_CURRENT, 0, &num, &str, &flag);
	assert_false(signbit(num));
	vss_value(ROLE_DISCHARGE_TOTAL, 4321000, &num, &str, &flag);
	assert_true(fabs(num - 4321) < 1e-9);
	vss_value(ROLE_IGNITION, 1, &num, &str, &flag);
	assert_string_equal(str, "ON");
	vss_value(ROLE_IGNITION, 0, &num, &str, &flag);
	assert_string_equal(str, "OFF");
	vss_value(ROLE_CHARGING, 1, &num, &str, &flag);
	assert_true(flag);
	assert_int_equal(vss_of(ROLE_CHARGING)->type, VSS_BOOLEAN);
	assert_int_equal(vss_of(ROLE_IGNITION)->type, VSS_STRING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
